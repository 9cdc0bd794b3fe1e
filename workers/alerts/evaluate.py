"""Alert evaluation: which confirmed alerts a newly indexed batch matches, and what is owed.

Evaluation runs once per newly indexed batch (a recording's segments after the pipeline indexed
them, or some of them): every confirmed alert is searched *within that batch only* (its filters
plus ``recording_id``), never over the whole archive. Each match becomes an ``AlertDelivery``,
unique per (alert, segment), so indexing the same recording again owes nobody a second mail.

Immediate alerts get one outbox message per batch; daily alerts collect deliveries until their
digest is due (``queue_digests``). Sending is workers.alerts.outbox's job, the text
workers.alerts.render's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import meilisearch
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archive.db import session_scope
from archive.models import (
    Alert,
    AlertDelivery,
    AlertFrequency,
    OutboxMessage,
    Recording,
    Segment,
    utcnow,
)
from archive.public import is_visible
from archive.settings import Settings
from search import Filters, QueryError, master_client, moment_of, search_segments
from web.links import recording_url

log = logging.getLogger(__name__)

# Filters an alert may keep, as stored in ``Alert.filters`` (dates as ISO strings).
FILTER_FIELDS = ("body", "language", "year", "event_type", "speaker", "date_from", "date_to")
BATCH_HITS = 1000  # matches taken from one batch for one alert
DIGEST_EVERY = timedelta(hours=24)


def filters_json(filters: Filters) -> dict[str, Any]:
    """Filters as JSON for ``Alert.filters``."""
    out: dict[str, Any] = {}
    for name in FILTER_FIELDS:
        value = getattr(filters, name)
        if value not in (None, ""):
            out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def filters_of(alert: Alert) -> Filters:
    raw = alert.filters or {}
    values: dict[str, Any] = {k: raw.get(k) for k in FILTER_FIELDS}
    for name in ("date_from", "date_to"):
        if values[name]:
            values[name] = date.fromisoformat(values[name])
    return Filters(**values)


def search_url(settings: Settings, alert: Alert) -> str:
    raw = dict(alert.filters or {})
    params = {"q": alert.query}
    for name, value in raw.items():
        params[{"date_from": "from", "date_to": "to"}.get(name, name)] = str(value)
    return f"{settings.site_url}/search?{urlencode(params)}"


def unsubscribe_url(settings: Settings, token: str) -> str:
    return f"{settings.site_url}/alerts/unsubscribe/{token}"


def manage_url(settings: Settings, token: str) -> str:
    return f"{settings.site_url}/alerts/manage/{token}"


def confirm_url(settings: Settings, token: str) -> str:
    return f"{settings.site_url}/alerts/confirm/{token}"


def moment_url(settings: Settings, recording_id: int, moment: float) -> str:
    return recording_url(recording_id, site=settings.site_url, t=moment)


# Evaluation ---------------------------------------------------------------------------------------


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries; one already owed (same alert and segment) is left alone."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(AlertDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["alert_id", "segment_id"])
    )
    session.execute(stmt)


def active_alerts(session: Session) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert).where(Alert.confirmed_at.is_not(None), Alert.unsubscribed_at.is_(None))
        )
    )


def may_match(recording: Recording, filters: Filters) -> bool:
    """Whether the recording-level filters admit this recording (no search needed to say no)."""
    day = recording.recorded_on
    return not (
        (filters.body and filters.body != recording.body.slug)
        or (filters.year is not None and filters.year != day.year)
        or (filters.event_type and filters.event_type != recording.event_type)
        or (filters.date_from and day < filters.date_from)
        or (filters.date_to and day > filters.date_to)
    )


def evaluate_batch(
    settings: Settings,
    recording_id: int,
    client: meilisearch.Client | None = None,
    segment_ids: list[str] | None = None,
) -> list[int]:
    """Match every confirmed alert against one newly indexed batch — a recording's segments, or
    only ``segment_ids`` of it (a live chunk) — and return the ids of the outbox messages queued
    for immediate alerts (daily ones wait for their digest).

    Alerts whose recording-level filters exclude the recording are skipped without a search, and
    alerts saving the same search (query and filters) share one search.
    """
    client = client or master_client(settings)
    queued: list[int] = []
    with session_scope(settings.db_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is None or not is_visible(recording):
            return []  # withdrawn, deleted or unfinished: nobody is told about it
        same_search: dict[tuple[str, str], list[Alert]] = {}
        for alert in active_alerts(session):
            if may_match(recording, filters_of(alert)):
                key = (alert.query, json.dumps(alert.filters, sort_keys=True))
                same_search.setdefault(key, []).append(alert)
        if not same_search:
            return []
        # A live chunk's batch reads its own segments' words, not the whole broadcast's so far.
        batch = select(Segment.id, Segment.words).where(Segment.recording_id == recording_id)
        if segment_ids is not None:
            batch = batch.where(Segment.id.in_(segment_ids))
        words = dict(session.execute(batch).all())
        for (query, _filters), members in same_search.items():
            try:
                page = search_segments(
                    client,
                    settings.meili_index,
                    query,
                    filters=replace(
                        filters_of(members[0]),
                        recording_id=recording_id,
                        segment_ids=tuple(segment_ids) if segment_ids is not None else None,
                    ),
                    per_page=BATCH_HITS,
                )
            except QueryError:
                log.warning(
                    "alerts %s: the query cannot be run: %r", [a.id for a in members], query
                )
                continue
            moments = [
                (hit, moment_of(hit.text, words.get(hit.id) or [], hit.start, hit.spans))
                for hit in page.hits
            ]
            for alert in members if moments else []:
                message_id = _owe(session, alert, recording_id, moments)
                if message_id is not None:
                    queued.append(message_id)
    return queued


def _owe(
    session: Session, alert: Alert, recording_id: int, moments: list[tuple[Any, float]]
) -> int | None:
    """Record the moments this alert is owed (those not owed before, to it or to another alert
    of the same address: a subscriber hears of each moment once); for an immediate alert, the
    outbox message carrying them, whose id is returned (None when nothing was new)."""
    taken = set(
        session.scalars(
            select(AlertDelivery.segment_id)
            .join(Alert, AlertDelivery.alert_id == Alert.id)
            .where(
                Alert.email == alert.email,
                Alert.id != alert.id,
                AlertDelivery.segment_id.in_([hit.id for hit, _ in moments]),
            )
        )
    )
    moments = [(hit, moment) for hit, moment in moments if hit.id not in taken]
    if not moments:
        return None
    message = None
    if alert.frequency == AlertFrequency.immediate:
        message = OutboxMessage(kind="alert", alert_id=alert.id)
        session.add(message)
        session.flush()
    rows = [
        {
            "alert_id": alert.id,
            "segment_id": hit.id,
            "recording_id": recording_id,
            "moment": moment,
            "text": hit.text,
            "created_at": utcnow(),
            "outbox_id": message.id if message else None,
        }
        for hit, moment in moments
    ]
    _insert_ignoring_duplicates(session, rows)
    if message is None:
        return None
    owed = session.scalar(
        select(func.count()).select_from(AlertDelivery).where(AlertDelivery.outbox_id == message.id)
    )
    if not owed:  # every moment was mailed before
        session.delete(message)
        return None
    return message.id


def queue_digests(settings: Settings, now: datetime | None = None) -> list[int]:
    """Make the daily digest of every daily alert that is due and has moments waiting."""
    now = now or utcnow()
    queued: list[int] = []
    with session_scope(settings.db_url) as session:
        waiting = select(AlertDelivery.alert_id).where(AlertDelivery.outbox_id.is_(None))
        due = session.scalars(
            select(Alert).where(
                Alert.frequency == AlertFrequency.daily,
                Alert.confirmed_at.is_not(None),
                Alert.unsubscribed_at.is_(None),
                Alert.id.in_(waiting),
            )
        )
        for alert in due:
            last = alert.last_digest_at  # aware: a UTCDateTime column
            # A little slack so an hourly beat does not slip a whole day.
            if last is not None and now - last < DIGEST_EVERY - timedelta(minutes=10):
                continue
            message = OutboxMessage(kind="alert", alert_id=alert.id)
            session.add(message)
            session.flush()
            session.execute(
                update(AlertDelivery)
                .where(AlertDelivery.alert_id == alert.id, AlertDelivery.outbox_id.is_(None))
                .values(outbox_id=message.id)
            )
            alert.last_digest_at = now
            queued.append(message.id)
    return queued


def forget_unsubscribed(settings: Settings, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete alerts unsubscribed long ago (their address is personal data)."""
    with session_scope(settings.db_url) as session:
        return session.execute(
            delete(Alert).where(Alert.unsubscribed_at < utcnow() - older_than)
        ).rowcount
