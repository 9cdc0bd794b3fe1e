"""The one way segments reach search: write them to the index, then queue the alert evaluation.

Every path that makes words searchable — the ingest pipeline, publishing or restoring a
recording, a live chunk, a finalized live capture — calls this module, and this module alone
queues ``ashyq.evaluate_alerts``. Subscribers are told about words once they can be found, and no
caller can forget to tell them (a live capture once did: its chunks alerted nobody).

Visibility is the search layer's business (``search.meili.indexer``: a recording that is not
public writes no documents) and again the evaluation's (``archive.public.is_visible``), so a
withdrawn or unfinished recording alerts nobody whatever the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import meilisearch
from sqlalchemy.orm import Session

from archive.models import Recording, Segment
from archive.settings import Settings
from search import delete_recording, ensure_index, master_client, sync_recording
from search import index_segments as search_index_segments
from workers.alerts.evaluate import evaluate_batch
from workers.celery_app import EVALUATE_ALERTS, send_task

log = logging.getLogger(__name__)

# Indexes whose settings this process has made sure of (one cheap no-op task each, once).
_ready: set[tuple[str, str]] = set()


def client(settings: Settings) -> meilisearch.Client:
    """The master client, its index created and configured the first time this process asks."""
    meili = master_client(settings)
    key = (settings.meili_url, settings.meili_index)
    if key not in _ready:
        ensure_index(meili, settings.meili_index)
        _ready.add(key)
    return meili


def index_recording(
    settings: Settings, session: Session, recording: Recording, *, alert: bool = True
) -> int:
    """Make search agree with the recording now (all its segments if public, none otherwise),
    commit ``session``, then queue the alert evaluation of all of them; returns the documents
    written.

    The commit comes after the documents are written (the pipeline's "ready" is only true once
    search has the words; a failed write rolls it back) and before the evaluation is queued (it
    runs in another process and must see what made the words public). ``alert=False`` only where
    no word can be new to anyone: a metadata change rewrites the same words under a new title."""
    written = sync_recording(client(settings), settings.meili_index, recording)
    session.commit()
    if alert and written:
        _queue_alerts(settings, recording.id)
    return written


def index_segments(
    settings: Settings,
    session: Session,
    recording: Recording,
    rows: Sequence[Segment],
    *,
    gone: Sequence[str] = (),
    alert: bool = True,
) -> int:
    """Rewrite only these segments' documents (and drop the ``gone`` ids), commit ``session`` as
    ``index_recording`` does, and queue the evaluation of those segments alone: a live chunk's
    words reach an immediate alert as soon as search finds them. ``alert=False`` for a staff
    correction of words already public (its subscribers were told of the moment already)."""
    written = search_index_segments(
        client(settings), settings.meili_index, recording, list(rows), list(gone)
    )
    session.commit()
    if alert and written:
        _queue_alerts(settings, recording.id, [row.id for row in rows])
    return written


def unindex_recording(settings: Settings, recording_id: int) -> None:
    """Take every segment of a recording out of search (withdrawn, deleted, failed, purged)."""
    delete_recording(client(settings), settings.meili_index, recording_id)


def _queue_alerts(
    settings: Settings, recording_id: int, segment_ids: list[str] | None = None
) -> None:
    """Queue the evaluation of alerts against newly indexed segments (all of a recording's, or
    ``segment_ids``). If the task cannot be queued, evaluate here and now (the outbox sweep sends
    what it owes), so a broker hiccup never loses an alert."""
    try:
        send_task(settings, EVALUATE_ALERTS, recording_id, segment_ids)
    except Exception:
        log.exception("could not queue alert evaluation of recording %s; ran it here", recording_id)
        evaluate_batch(settings, recording_id, segment_ids=segment_ids)
