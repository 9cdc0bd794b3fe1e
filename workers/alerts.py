"""Alert evaluation and the mail outbox.

Evaluation runs once per newly indexed batch (a recording's segments after the pipeline indexed
them): every confirmed alert is searched *within that batch only* (its filters plus
``recording_id``), never over the whole archive. Each match becomes an ``AlertDelivery``, unique
per (alert, segment), so indexing the same recording again owes nobody a second mail.

Immediate alerts get one outbox message per batch; daily alerts collect deliveries until their
digest is due. Messages are rendered when sent — in the subscriber's language, leaving out any
recording withdrawn in the meantime — and stay pending with backoff until the SMTP server takes
them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, TypeVar
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
    OutboxState,
    Recording,
    Segment,
    utcnow,
)
from archive.public import is_visible, visible
from archive.settings import Settings
from search.client import master_client
from search.query import Filters, QueryError, moment_of, search_segments
from web import i18n
from web.formatting import timestamp
from web.i18n import gettext as _
from web.templating import templates
from workers import mail

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


def unsubscribe_url(settings: Settings, alert: Alert) -> str:
    return f"{settings.site_url}/alerts/unsubscribe/{alert.token}"


def manage_url(settings: Settings, alert: Alert) -> str:
    return f"{settings.site_url}/alerts/manage/{alert.token}"


def confirm_url(settings: Settings, alert: Alert) -> str:
    return f"{settings.site_url}/alerts/confirm/{alert.token}"


def moment_url(settings: Settings, recording_id: int, moment: float) -> str:
    return f"{settings.site_url}/r/{recording_id}?t={int(moment)}"


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
        words = dict(
            session.execute(
                select(Segment.id, Segment.words).where(Segment.recording_id == recording_id)
            ).all()
        )
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
            last = _aware(alert.last_digest_at)
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


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes (stored as UTC)."""
    from datetime import UTC

    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


# Rendering ----------------------------------------------------------------------------------------

T = TypeVar("T")
_text_env = templates.env.overlay(autoescape=False)


def in_language(lang: str, render: Callable[[], T]) -> T:
    """Run ``render`` with ``lang`` as the UI language, leaving the caller's language alone."""

    def run() -> T:
        i18n.use(lang)
        return render()

    return contextvars.copy_context().run(run)


@dataclass(frozen=True)
class MomentLine:
    at: str
    text: str
    url: str


@dataclass(frozen=True)
class RecordingBlock:
    title: str
    body: str
    date: date
    url: str
    moments: list[MomentLine]


def _message(
    settings: Settings, alert: Alert, subject: str, template: str, context: dict[str, Any]
) -> EmailMessage:
    context = {**context, "alert": alert, "site_url": settings.site_url,
               "unsubscribe_url": unsubscribe_url(settings, alert),
               "manage_url": manage_url(settings, alert)}  # fmt: skip
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = alert.email
    message["Message-ID"] = make_msgid(domain="ashyq")
    message["Auto-Submitted"] = "auto-generated"
    # RFC 8058: mail clients show an unsubscribe button that POSTs to this URL, no login.
    message["List-Unsubscribe"] = f"<{unsubscribe_url(settings, alert)}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_text_env.get_template(f"email/{template}.txt").render(context))
    html = templates.env.get_template(f"email/{template}.html").render(context)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = alert.lang  # after set_content, which drops Content-* headers
    return message


def render(settings: Settings, session: Session, outbox: OutboxMessage) -> EmailMessage | None:
    """The message to send now, or None when there is nothing left to say (alert withdrawn,
    already confirmed, or every moment's recording withdrawn since)."""
    alert = outbox.alert
    if alert.unsubscribed_at is not None:
        return None
    if outbox.kind == "confirm":
        if alert.confirmed_at is not None:
            return None
        return in_language(
            alert.lang,
            lambda: _message(
                settings,
                alert,
                _("Confirm your Ashyq alert for “%(query)s”") % {"query": alert.query},
                "confirm",
                {
                    "confirm_url": confirm_url(settings, alert),
                    "search_url": search_url(settings, alert),
                },
            ),
        )
    deliveries = list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.outbox_id == outbox.id)
            .order_by(AlertDelivery.recording_id, AlertDelivery.moment)
        )
    )
    ids = {d.recording_id for d in deliveries}
    recordings = {
        r.id: r for r in session.scalars(visible(select(Recording).where(Recording.id.in_(ids))))
    }
    shown = [d for d in deliveries if d.recording_id in recordings]
    if not shown:
        return None

    def build() -> EmailMessage:
        lang = i18n.current()
        blocks: list[RecordingBlock] = []
        budget = settings.alert_max_moments
        for rid in sorted({d.recording_id for d in shown}, key=lambda r: -recordings[r].id):
            rec = recordings[rid]
            lines = []
            for d in (d for d in shown if d.recording_id == rid):
                if budget <= 0:
                    break
                budget -= 1
                lines.append(
                    MomentLine(timestamp(d.moment), d.text, moment_url(settings, rid, d.moment))
                )
            if lines:
                blocks.append(
                    RecordingBlock(
                        rec.title, rec.body.localized_name(lang), rec.recorded_on,
                        f"{settings.site_url}/r/{rid}", lines,
                    )
                )  # fmt: skip
        count = len(shown)
        subject = i18n.ngettext(
            "%(num)d new moment for “%(query)s”", "%(num)d new moments for “%(query)s”", count
        ) % {"num": count, "query": alert.query}
        context = {
            "blocks": blocks,
            "count": count,
            "more": count - sum(len(b.moments) for b in blocks),
            "search_url": search_url(settings, alert),
        }
        return _message(settings, alert, subject, "alert", context)

    return in_language(alert.lang, build)


# Sending ------------------------------------------------------------------------------------------


def backoff_s(settings: Settings, attempts: int) -> float:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.mail_retry_max_s, settings.mail_retry_base_s * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def _claim(session: Session, outbox_id: int, settings: Settings) -> bool:
    """Take one due message for this process: its next attempt moves past the send, so a beat
    sweep running meanwhile does not send it twice."""
    now = utcnow()
    lease = now + timedelta(seconds=settings.smtp_timeout_s * 3 + 60)
    claimed = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == outbox_id,
            OutboxMessage.state == OutboxState.pending,
            OutboxMessage.next_attempt_at <= now,
        )
        .values(next_attempt_at=lease)
    ).rowcount
    session.commit()
    return claimed == 1


def send_one(settings: Settings, outbox_id: int) -> OutboxState | None:
    """Try to send one outbox message now; returns its state after, None if it was not due or
    another process holds it. Never raises for a mail failure: the row records it."""
    with session_scope(settings.db_url) as session:
        if not _claim(session, outbox_id, settings):
            return None
        outbox = session.get(OutboxMessage, outbox_id)
        assert outbox is not None
        message = render(settings, session, outbox)
        if message is None:
            outbox.state = OutboxState.dropped
            return outbox.state
        outbox.attempts += 1
        try:
            mail.send(settings, message)
        except mail.PermanentMailError as exc:
            outbox.state, outbox.last_error = OutboxState.failed, str(exc)[:2000]
            log.warning("outbox %s refused for good: %s", outbox_id, exc)
        except Exception as exc:
            delay = backoff_s(settings, outbox.attempts)
            outbox.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            outbox.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("outbox %s: send failed, retry in %.0fs: %s", outbox_id, delay, exc)
        else:
            outbox.state, outbox.sent_at, outbox.last_error = OutboxState.sent, utcnow(), None
        return outbox.state


def due_messages(settings: Settings, limit: int = 100) -> list[int]:
    with session_scope(settings.db_url) as session:
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.state == OutboxState.pending,
                    OutboxMessage.next_attempt_at <= utcnow(),
                )
                .order_by(OutboxMessage.next_attempt_at)
                .limit(limit)
            )
        )


def flush_outbox(settings: Settings) -> int:
    """Send every due message (the beat sweep); returns how many went out."""
    return sum(send_one(settings, oid) == OutboxState.sent for oid in due_messages(settings))


def forget_unsubscribed(settings: Settings, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete alerts unsubscribed long ago (their address is personal data)."""
    with session_scope(settings.db_url) as session:
        return session.execute(
            delete(Alert).where(Alert.unsubscribed_at < utcnow() - older_than)
        ).rowcount


def after_index(
    settings: Settings, recording_id: int, segment_ids: list[str] | None = None
) -> None:
    """Called once segments are indexed — all of a recording's by the pipeline, or a batch of
    them (``segment_ids``, e.g. a live chunk): queue the evaluation of alerts against them. If the
    task cannot be queued, evaluate here and now (the outbox sweep sends what it owes), so a
    broker hiccup never loses an alert."""
    from workers.celery_app import EVALUATE_ALERTS, send_task

    try:
        send_task(settings, EVALUATE_ALERTS, recording_id, segment_ids)
    except Exception:
        log.exception("could not queue alert evaluation of recording %s; ran it here", recording_id)
        evaluate_batch(settings, recording_id, segment_ids=segment_ids)


def retry_failed(settings: Settings) -> int:
    """Put messages refused for good back in line (after the mail settings were fixed)."""
    with session_scope(settings.db_url) as session:
        return session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.failed)
            .values(state=OutboxState.pending, next_attempt_at=utcnow())
        ).rowcount
