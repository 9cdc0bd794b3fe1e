"""The index against the database: every segment the public may find is indexed as the indexer
would write it now, and nothing else is.

"Would write it now" is ``documents.segment_document`` itself, compared field by field (the
generation number aside), so a text correction, a speaker named later or a recording moved to
another body that did not reach search shows as a stale document. What must not be in the index:
the documents of a recording that is not public (``archive.public``: withdrawn, deleted, failed,
still processing, purged), of a segment that is gone or unintelligible (``documents.is_searchable``)
and the hidden stubs ``indexer.index_recording`` leaves for a moment between its two tasks.

``check_archive`` adds the media store's check (``archive.media.check``) and puts both into one
``archive.consistency.Report``: what ``ashyq check`` prints and the nightly task saves. Mending is
the caller's (``cli``: through ``workers.indexing``, as the pipeline indexes), from
``IndexCheck.to_reindex`` and ``to_remove``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive.consistency import Difference, Report, now
from archive.media.check import GRACE_S, check_media
from archive.models import Recording
from archive.public import visible
from archive.settings import Settings
from search.meili.documents import is_searchable, segment_document
from search.meili.schema import DOCUMENT_VERSION, stored_version

PAGE = 10_000
IGNORED = ("gen",)  # differs on every write by design


@dataclass(frozen=True)
class IndexFinding:
    """One difference: ``kind`` is one of KINDS; ``segment_id`` is None for a whole recording."""

    kind: str
    recording_id: int
    segment_id: str | None
    detail: str


KINDS = {
    "missing": "a segment the public may find is not in the index",
    "stale": "an indexed segment differs from what the database says now",
    "extra": "an indexed segment that is gone, unintelligible or a hidden stub",
    "hidden": "documents of a recording the public may not see (or that no longer exists)",
}


@dataclass
class IndexCheck:
    findings: list[IndexFinding] = field(default_factory=list)
    # recording id -> (segments to index, documents indexed), every recording either side has
    counts: dict[int, tuple[int, int]] = field(default_factory=dict)
    documents: int = 0
    version_ok: bool = True

    def differences(self) -> list[Difference]:
        return [
            Difference("index", f.kind, f.recording_id, f.segment_id or "", f.detail)
            for f in self.findings
        ]

    def checked(self) -> dict[str, int]:
        return {"recordings": len(self.counts), "documents": self.documents}

    def notes(self) -> list[str]:
        if self.version_ok:
            return []
        return ["the index holds an older document version: run `ashyq reindex`"]

    @property
    def to_reindex(self) -> list[int]:
        """Public recordings whose documents must be written again."""
        kinds = ("missing", "stale", "extra")
        return sorted({f.recording_id for f in self.findings if f.kind in kinds})

    @property
    def to_remove(self) -> list[int]:
        """Recordings whose documents must leave the index."""
        return sorted({f.recording_id for f in self.findings if f.kind == "hidden"})


def check_archive(
    settings: Settings,
    client: meilisearch.Client,
    session: Session,
    *,
    hash_files: bool = True,
    grace_s: float = GRACE_S,
) -> tuple[Report, IndexCheck]:
    """The index and the media store against the database, as one report (and the index's
    check, whose ``to_reindex`` and ``to_remove`` say what a repair would do)."""
    ran_at = now()
    media = check_media(settings.media_dir, session, hash_files=hash_files, grace_s=grace_s)
    index = check_index(client, settings.meili_index, session)
    report = Report(
        ran_at=ran_at,
        hashed=hash_files,
        differences=[*index.differences(), *media.differences()],
        checked={**index.checked(), **media.checked()},
        notes=[*index.notes(), *media.notes()],
    )
    return report, index


def check_index(client: meilisearch.Client, index_uid: str, session: Session) -> IndexCheck:
    """Compare the index with the database (see the module docstring)."""
    result = IndexCheck(version_ok=_version_ok(client, index_uid))
    index = client.index(index_uid)
    per_recording = _documents_per_recording(index)
    result.documents = sum(per_recording.values())
    public: set[int] = set()
    query = (
        visible(select(Recording))
        .options(selectinload(Recording.segments))
        .order_by(Recording.id)
        .execution_options(yield_per=50)  # a big archive is compared 50 recordings at a time
    )
    for recording in session.scalars(query):
        public.add(recording.id)
        expected = {
            seg.id: _comparable(segment_document(recording, seg, 0))
            for seg in recording.segments
            if is_searchable(seg)
        }
        found = _recording_documents(index, recording.id) if per_recording[recording.id] else {}
        result.counts[recording.id] = (len(expected), len(found))
        result.findings += _compare(recording, expected, found)
    for recording_id, count in sorted(per_recording.items()):
        if recording_id in public:
            continue
        result.counts[recording_id] = (0, count)
        row = session.get(Recording, recording_id)
        state = _state(row) if row is not None else "no such recording"
        detail = f"{count} document(s) of a recording that is {state}"
        result.findings.append(IndexFinding("hidden", recording_id, None, detail))
    return result


def _version_ok(client: meilisearch.Client, index_uid: str) -> bool:
    try:
        return stored_version(client, index_uid) in (None, DOCUMENT_VERSION)
    except MeilisearchApiError:
        return False


def _documents_per_recording(index: meilisearch.index.Index) -> Counter[int]:
    """How many documents each recording has in the index (a scan of ids, page by page)."""
    counts: Counter[int] = Counter()
    offset = 0
    while True:
        try:
            page = index.get_documents(
                {"fields": ["recording_id"], "limit": PAGE, "offset": offset}
            )
        except MeilisearchApiError as exc:
            if exc.code == "index_not_found":
                return counts
            raise
        counts.update(int(doc.recording_id) for doc in page.results)
        offset += len(page.results)
        if offset >= page.total or not page.results:
            return counts


def _recording_documents(
    index: meilisearch.index.Index, recording_id: int
) -> dict[str, dict[str, Any]]:
    found = index.get_documents({"filter": f"recording_id = {recording_id}", "limit": 1_000_000})
    return {str(doc.id): _comparable(dict(doc)) for doc in found.results}


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in IGNORED}


def _compare(
    recording: Recording, expected: dict[str, dict[str, Any]], found: dict[str, dict[str, Any]]
) -> list[IndexFinding]:
    findings = []
    segments = {seg.id: seg for seg in recording.segments}
    for seg_id, document in expected.items():
        indexed = found.get(seg_id)
        if indexed is None:
            findings.append(IndexFinding("missing", recording.id, seg_id, "not indexed"))
            continue
        differ = sorted(
            k for k in document.keys() | indexed.keys() if document.get(k) != indexed.get(k)
        )
        if differ:
            detail = "; ".join(
                f"{k}: index {indexed.get(k)!r}, database {document.get(k)!r}" for k in differ
            )
            findings.append(IndexFinding("stale", recording.id, seg_id, detail))
    for seg_id in sorted(found.keys() - expected.keys()):
        seg = segments.get(seg_id)
        if found[seg_id].get("published") is False:
            why = "a hidden stub left by an unfinished re-index"
        elif seg is None:
            why = "no such segment"
        else:
            why = "the segment is unintelligible"
        findings.append(IndexFinding("extra", recording.id, seg_id, why))
    return findings


def _state(recording: Recording) -> str:
    if recording.deleted_at is not None:
        return "deleted"
    if not recording.published:
        return "withdrawn"
    return str(recording.status.value)
