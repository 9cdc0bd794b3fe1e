"""``ashyq check``: the database against the search index and the media store, run as a user
runs it (a process of its own) on a real Meilisearch and real media files; ``--repair`` mends the
index through the indexer; the nightly task saves its report and ``/healthz`` shows it to staff
only."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from archive.consistency import last_report, report_path
from archive.db import session_scope
from archive.models import Recording, Segment
from archive.settings import Settings
from search.meili.client import add_documents, master_client, wait
from search.meili.indexer import sync_recording
from tests.support.factory import indexed_recording, make_segments, make_speaker, tone
from tests.support.helpers import ashyq
from workers.celery_app import CHECK_ARCHIVE, make_celery, send_task


@dataclass(frozen=True)
class Site:
    budget: int  # public, with a named speaker and an unintelligible segment
    tax: int  # public
    withdrawn: int  # not public: none of its segments may be indexed


def seed(settings: Settings, folder: Path) -> Site:
    """Three recordings with real WAV originals in the store, indexed as the pipeline does."""
    budget = indexed_recording(
        settings,
        ["The budget was approved.", "Railway funding follows."],
        media=tone(folder, freq=440),
        title="Budget",
    )
    tax = indexed_recording(
        settings,
        ["Салық кодексі талқыланды.", "Келесі мәселе."],
        media=tone(folder, freq=550),
        title="Салық",
    )
    withdrawn = indexed_recording(
        settings, ["A secret draft."], media=tone(folder, freq=660), title="Draft"
    )
    with session_scope(settings.db_url) as session:
        rec = session.get(Recording, budget)
        first = session.get(Segment, f"{budget}-0")
        first.speaker = make_speaker(session, "tokayev", "Тоқаев")
        [mumble] = make_segments(session, rec, [(4.0, 6.0, "")], first_idx=2, words=None)
        mumble.unintelligible = True
        hidden = session.get(Recording, withdrawn)
        hidden.published = False
        session.flush()
        client = master_client(settings)
        for recording in (rec, hidden):  # as publishing leaves them: a withdrawn one unindexed
            session.expire(recording, ["segments"])
            sync_recording(client, settings.meili_index, recording)
    return Site(budget, tax, withdrawn)


def check(settings: Settings, *options: str):
    return ashyq(settings, "check", "--grace", "0", *options, timeout=120)


def indexed(settings: Settings, segment_id: str) -> dict | None:
    found = (
        master_client(settings)
        .index(settings.meili_index)
        .get_documents({"filter": f'id = "{segment_id}"', "limit": 1})
    )
    return dict(found.results[0]) if found.results else None


def original(settings: Settings, recording_id: int) -> Path:
    with session_scope(settings.db_url) as session:
        return settings.media_dir / session.get(Recording, recording_id).original_path


def test_a_consistent_archive_checks_clean(archive, tmp_path):
    """
    GIVEN recordings indexed as the pipeline leaves them: a named speaker, an unintelligible
      segment (never indexed), a withdrawn recording (never indexed), originals in the store
    WHEN `ashyq check` runs, hashing, and again with --no-hash
    THEN it exits 0 saying "no differences", says which media check ran, and saves that report
    """
    seed(archive, tmp_path)
    done = check(archive)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences" in done.stdout
    assert "3 original(s) hashed" in done.stdout
    report = last_report(archive)
    assert report is not None and report.ok and report.hashed
    assert report.checked["documents"] == 4 and report.checked["files_hashed"] == 3

    quick = check(archive, "--no-hash")
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "--no-hash: media checked by existence and size only" in quick.stdout
    assert last_report(archive).hashed is False


def test_check_finds_what_differs_and_repair_mends_the_index(archive, tmp_path):
    """
    GIVEN a consistent archive, then: a segment deleted from the index by hand, a text corrected
      in the database without re-indexing, documents of the withdrawn recording and of an
      unintelligible segment written by hand, an original deleted from the media store and a
      stray file left in it
    WHEN `ashyq check` runs, then `ashyq check --repair`
    THEN the check names each difference and exits 1; the repair indexes the deleted and stale
      segments again, removes the documents that must not be there, says the missing original
      cannot be made again (restore it from a backup) and leaves the orphan, exiting 1 because
      they remain; a check after it finds only those two
    """
    site = seed(archive, tmp_path)
    client = master_client(archive)
    segments = client.index(archive.meili_index)
    wait(client, segments.delete_document(f"{site.tax}-0"))
    with session_scope(archive.db_url) as session:
        session.get(Segment, f"{site.tax}-1").text = "Келесі мәселеге көшеміз."
    leak = {"id": f"{site.withdrawn}-0", "recording_id": site.withdrawn, "text": "A secret draft."}
    mumble = {"id": f"{site.budget}-2", "recording_id": site.budget, "text": "la la la"}
    wait(client, add_documents(segments, [leak, mumble]))
    gone = original(archive, site.tax)
    gone.unlink()
    stray = archive.media_dir / "ff" / ("f" * 64) / "original.wav"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"RIFF")

    found = check(archive)
    assert found.returncode == 1, found.stdout + found.stderr
    out = found.stdout
    assert f"index missing: recording {site.tax} {site.tax}-0: not indexed" in out
    assert f"recording {site.tax}: 2 segment(s) to find, 1 indexed" in out
    assert f"recording {site.budget}: 2 segment(s) to find, 3 indexed" in out
    assert (
        f"index extra: recording {site.budget} {site.budget}-2: the segment is unintelligible"
        in out
    )
    assert f"index stale: recording {site.tax} {site.tax}-1: text: index 'Келесі мәселе.'" in out
    assert f"index hidden: recording {site.withdrawn}: 1 document(s)" in out and "withdrawn" in out
    relative = str(gone.relative_to(archive.media_dir))
    assert f"media missing: recording {site.tax} {relative}: the original" in out
    assert f"media orphan: {stray.relative_to(archive.media_dir)}" in out
    assert "6 difference(s)" in out

    repaired = check(archive, "--repair")
    assert repaired.returncode == 1, repaired.stdout + repaired.stderr
    for recording_id in (site.budget, site.tax):
        assert f"repaired: recording {recording_id}: indexed again (2 segments)" in repaired.stdout
    assert f"repaired: recording {site.withdrawn}: its documents removed" in repaired.stdout
    assert "after repair: 2 left" in repaired.stdout
    assert "cannot be made again here: copy it back from a backup" in repaired.stderr
    assert indexed(archive, f"{site.tax}-0")["text"] == "Салық кодексі талқыланды."
    assert indexed(archive, f"{site.tax}-1")["text"] == "Келесі мәселеге көшеміз."
    assert indexed(archive, f"{site.withdrawn}-0") is None
    assert indexed(archive, f"{site.budget}-2") is None
    assert not gone.exists() and stray.exists()  # nothing conjured, nothing deleted

    after = check(archive, "--no-hash")
    assert after.returncode == 1
    assert last_report(archive).counts() == {"media missing": 1, "media orphan": 1}


def test_nightly_check_runs_in_the_worker_and_healthz_shows_it_to_staff(
    archive, worker, staff, tmp_path
):
    """
    GIVEN an archive whose index lacks one segment, and beat's schedule
    WHEN the nightly task is queued to the real worker
    THEN beat's schedule names it, it saves a report naming the difference, and /healthz shows
      that report to a staff token, neither to an anonymous client (whose answer is unchanged)
      nor to a client on this machine that is not signed in
    """
    schedule = make_celery(archive).conf.beat_schedule
    assert schedule["nightly-check"]["task"] == CHECK_ARCHIVE
    site = seed(archive, tmp_path)
    client = master_client(archive)
    wait(client, client.index(archive.meili_index).delete_document(f"{site.budget}-0"))
    report_path(archive).unlink(missing_ok=True)

    send_task(archive, CHECK_ARCHIVE)
    deadline = time.monotonic() + 90
    while last_report(archive) is None:
        assert time.monotonic() < deadline, "the nightly check saved no report"
        time.sleep(0.5)
    assert last_report(archive).counts() == {"index missing": 1}

    app = create_app(archive)
    web = TestClient(app, client=("203.0.113.7", 5000))
    anonymous = web.get("/healthz")
    assert anonymous.json() == {"status": "ok"}
    local = TestClient(app, client=("127.0.0.1", 5000)).get("/healthz").json()
    assert "database" in local and "consistency" not in local  # details, but not the check's
    shown = web.get("/healthz", headers={"Authorization": f"Bearer {staff.editor.token}"})
    consistency = shown.json()["consistency"]
    assert consistency["ok"] is False and consistency["differences"] == {"index missing": 1}
    assert consistency["hashed"] is True and consistency["checked"]["files_hashed"] == 3


@pytest.fixture(autouse=True)
def _no_report_left(archive):
    """Each test starts without a saved report (the data folder is the session's)."""
    report_path(archive).unlink(missing_ok=True)
