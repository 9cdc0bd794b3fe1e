"""``ashyq check [--repair] [--no-hash]``: the database against the search index and the media
store (``search.check_archive``); differences printed, exit 1 when there are any.

``--repair`` mends what can be mended the way the pipeline makes it in the first place: a public
recording whose documents are missing, stale or extra is indexed again through
``workers.indexing`` (which also queues the alert evaluation, as after ingest: a delivery is owed
once per alert and segment, so nobody is mailed twice), and the documents of a recording the
public may not see are removed. A missing or damaged file cannot be made again from anything in
the archive: it is reported, with what to do. The index is checked again after a repair, and the
report saved (``archive.consistency``) is the one after it; ``/healthz`` shows it to staff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from archive.consistency import Report, save_report
from archive.db import session_scope
from archive.media.check import GRACE_S
from archive.models import Recording
from archive.settings import Settings
from cli.common import console, err, fail, load_settings

if TYPE_CHECKING:
    from search import IndexCheck

# What to do about a media difference --repair cannot mend, by kind.
MEDIA_ADVICE = {
    "missing": "cannot be made again here: copy it back from a backup (ashyq backup keeps it "
    "under media/ at the same path)",
    "hash": "damaged: copy the original back from a backup; the recording's SHA-256 names it",
    "size": "damaged or truncated: copy the original back from a backup",
    "orphan": "left in place: no recording names it (a purge interrupted, or a file copied in "
    "by hand); delete it once you are sure",
}


def check(
    repair: Annotated[
        bool, typer.Option("--repair", help="re-index what differs; report what cannot be mended")
    ] = False,
    no_hash: Annotated[
        bool,
        typer.Option("--no-hash", help="check media by existence and size only (no full reads)"),
    ] = False,
    grace: Annotated[
        float, typer.Option(help="seconds a new file in the media store waits to be judged")
    ] = GRACE_S,
) -> None:
    """Compare the database with the search index and the media store; exit 1 on differences."""
    from search import TRANSIENT_ERRORS, check_archive, check_index, master_client

    settings = load_settings()
    if not settings.meili_url:
        fail("Meilisearch is not running", "start `ashyq up` or set ASHYQ_MEILI_URL")
    client = master_client(settings)
    try:
        with session_scope(settings.db_url) as session:
            report, index = check_archive(
                settings, client, session, hash_files=not no_hash, grace_s=grace
            )
    except TRANSIENT_ERRORS as exc:
        fail("Meilisearch did not answer", exc, code=1)
    show(report, index.counts)
    if repair and not report.ok:
        mend(settings, report, index)
        with session_scope(settings.db_url) as session:
            index = check_index(client, settings.meili_index, session)
        media = [d for d in report.differences if d.area == "media"]
        report.differences = [*index.differences(), *media]
        console.print(
            "after repair: "
            + ("no differences" if report.ok else f"{len(report.differences)} left")
        )
    save_report(settings, report)
    if not report.ok:
        raise typer.Exit(1)


def show(report: Report, counts: dict[int, tuple[int, int]]) -> None:
    """Print what was checked, each recording whose counts differ, each difference and note."""
    checked = report.checked
    if report.hashed:
        how = f"{checked.get('files_hashed', 0)} original(s) hashed ({_mib(checked)} MiB)"
    else:
        how = "--no-hash: media checked by existence and size only"
    console.print(
        f"checked {checked.get('recordings', 0)} recording(s) in search, "
        f"{checked.get('documents', 0)} document(s), "
        f"{checked.get('files', 0)} media file(s); {how}",
        highlight=False,
    )
    for recording_id, (expected, indexed) in sorted(counts.items()):
        if expected != indexed:
            console.print(
                f"recording {recording_id}: {expected} segment(s) to find, {indexed} indexed",
                highlight=False,
            )
    for difference in report.differences:
        console.print(difference.line(), highlight=False, markup=False)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False)
    console.print(
        "no differences"
        if report.ok
        else f"{len(report.differences)} difference(s): "
        + ", ".join(f"{n} {k}" for k, n in report.counts().items()),
        highlight=False,
    )


def _mib(checked: dict[str, int]) -> str:
    return f"{checked.get('bytes_hashed', 0) / 2**20:.1f}"


def mend(settings: Settings, report: Report, index: IndexCheck) -> None:
    """Re-index or un-index what the index check found; say what cannot be mended."""
    from workers import indexing

    with session_scope(settings.db_url) as session:
        for recording_id in index.to_reindex:
            recording = session.get(Recording, recording_id)
            if recording is None:
                continue
            try:
                written = indexing.index_recording(settings, session, recording)
            except Exception as exc:  # one recording's failure leaves the others to mend
                session.rollback()
                report.unrepaired.append(f"recording {recording_id}: not indexed: {exc}")
                continue
            report.repaired.append(f"recording {recording_id}: indexed again ({written} segments)")
    for recording_id in index.to_remove:
        try:
            indexing.unindex_recording(settings, recording_id)
        except Exception as exc:
            report.unrepaired.append(f"recording {recording_id}: documents not removed: {exc}")
            continue
        report.repaired.append(f"recording {recording_id}: its documents removed from search")
    for difference in report.differences:
        if difference.area == "media":
            report.unrepaired.append(f"{difference.line()} — {MEDIA_ADVICE[difference.kind]}")
    for line in report.repaired:
        console.print(f"repaired: {line}", highlight=False)
    for line in report.unrepaired:
        err.print(f"not repaired: {line}", highlight=False, markup=False)
