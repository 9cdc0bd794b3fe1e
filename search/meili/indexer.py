"""Writes to the index. Document ids are the segment ids, so writing twice overwrites.

A recording's documents carry a generation number: new documents are added first (in one task),
then those of older generations are deleted, so a re-run never leaves duplicates and search never
goes empty for a recording that was already indexed.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import meilisearch
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive.models import Recording, Segment
from archive.public import visible
from search.meili.client import IndexingFailed, add_documents, wait
from search.meili.documents import is_public, is_searchable, segment_document
from search.meili.schema import DOCUMENT_VERSION, ensure_index, mark_version, stored_version

BATCH = 1000
IN_FLIGHT = 8  # addition tasks a rebuild keeps queued in Meilisearch
REBUILD_WAIT_S = 1800.0  # for one queued task: up to IN_FLIGHT batches are indexed before it


def new_generation() -> int:
    return time.time_ns() // 1000


def index_recording(client: meilisearch.Client, index_uid: str, recording: Recording) -> int:
    """(Re)index every segment of a recording; returns the number of documents written.

    One addition task replaces the recording's documents all at once, so search never shows an
    old and a new transcript together (a full-quality pass after a live capture), nor neither. A
    document whose segment is gone (the new transcript has fewer segments) is overwritten in that
    same task by a hidden stub of an older generation, which the next task deletes.
    """
    gen = new_generation()
    index = client.index(index_uid)
    docs = [
        segment_document(recording, seg, gen) for seg in filter(is_searchable, recording.segments)
    ]
    current = {doc["id"] for doc in docs}
    docs += [
        {"id": gone, "recording_id": recording.id, "published": False, "gen": gen - 1}
        for gone in indexed_ids(index, recording.id)
        if gone not in current
    ]
    if docs:
        wait(client, add_documents(index, docs))
    wait(client, index.delete_documents(filter=f"recording_id = {recording.id} AND gen != {gen}"))
    return len(current)


def indexed_ids(index: meilisearch.index.Index, recording_id: int) -> list[str]:
    """The ids of a recording's documents in the index now."""
    found = index.get_documents(
        {"filter": f"recording_id = {recording_id}", "fields": ["id"], "limit": 1_000_000}
    )
    return [str(doc.id) for doc in found.results]


def delete_recording(client: meilisearch.Client, index_uid: str, recording_id: int) -> None:
    wait(client, client.index(index_uid).delete_documents(filter=f"recording_id = {recording_id}"))


def sync_recording(client: meilisearch.Client, index_uid: str, recording: Recording) -> int:
    """Make the index agree with the recording's visibility now: all its segments when public,
    none otherwise (withdrawn and deleted recordings leave search at once)."""
    if is_public(recording):
        return index_recording(client, index_uid, recording)
    delete_recording(client, index_uid, recording.id)
    return 0


def index_segments(
    client: meilisearch.Client,
    index_uid: str,
    recording: Recording,
    segments: list[Segment],
    gone_ids: list[str] | None = None,
) -> int:
    """Rewrite only these segments' documents (and drop ``gone_ids``): a transcript correction
    reaches search in one small task instead of a re-index of the whole recording, and a live
    capture adds each chunk's segments as they come (ids are deterministic: adding overwrites)."""
    if not is_public(recording):
        return 0
    index = client.index(index_uid)
    gen = new_generation()
    docs = [segment_document(recording, seg, gen) for seg in filter(is_searchable, segments)]
    if docs:
        wait(client, add_documents(index, docs))
    # one or two after a split or merge; a segment that is unintelligible again after a revert
    gone_ids = [*(gone_ids or []), *(seg.id for seg in segments if not is_searchable(seg))]
    for gone in gone_ids:
        wait(client, index.delete_document(gone))
    return len(docs)


def _ready_recordings(session: Session) -> Iterable[Recording]:
    query = (
        visible(select(Recording))
        .options(selectinload(Recording.segments))
        .order_by(Recording.id)
        .execution_options(yield_per=50)
    )
    yield from session.scalars(query)


def rebuild(client: meilisearch.Client, index_uid: str, session: Session) -> int:
    """Build a fresh index from the database and swap it in; the old one serves until then."""
    temp_uid = f"{index_uid}_rebuild"
    with contextlib.suppress(IndexingFailed):  # a left-over from an interrupted rebuild
        wait(client, client.delete_index(temp_uid))
    ensure_index(client, temp_uid)
    ensure_index(client, index_uid)
    gen = new_generation()
    temp = client.index(temp_uid)
    batch: list[dict] = []
    total = 0
    # Up to IN_FLIGHT batches queued at once: Meilisearch merges consecutive additions into one
    # indexing batch (autobatching), where waiting for each before sending the next indexed them
    # one by one while this process sat idle, and then built documents while it sat idle.
    in_flight: deque[Any] = deque()
    for recording in _ready_recordings(session):
        for seg in filter(is_searchable, recording.segments):
            batch.append(segment_document(recording, seg, gen))
            if len(batch) >= BATCH:
                if len(in_flight) >= IN_FLIGHT:
                    wait(client, in_flight.popleft(), REBUILD_WAIT_S)
                in_flight.append(add_documents(temp, batch))
                total += len(batch)
                batch = []
    if batch:
        in_flight.append(add_documents(temp, batch))
        total += len(batch)
    while in_flight:  # every task, not only the last: each one's failure is reported
        wait(client, in_flight.popleft(), REBUILD_WAIT_S)
    wait(client, client.swap_indexes([{"indexes": [index_uid, temp_uid]}]))
    wait(client, client.delete_index(temp_uid))
    mark_version(client, index_uid)
    return total


def ensure_current(client: meilisearch.Client, index_uid: str, session: Session) -> bool:
    """Bring the index to the current document version; rebuild from the database if older.

    Returns True when it rebuilt. Run by ``ashyq up`` and ``ashyq worker`` before work starts.
    """
    ensure_index(client, index_uid)
    if stored_version(client, index_uid) == DOCUMENT_VERSION:
        return False
    stats = client.index(index_uid).get_stats()
    rebuilt = False
    if stats.number_of_documents:
        rebuild(client, index_uid, session)
        rebuilt = True
    mark_version(client, index_uid)
    return rebuilt
