"""The mail outbox: a message stays pending until the SMTP server accepted it; a failed send is
tried again with exponential backoff (the beat sweep ``flush_outbox``), a 5xx refusal is kept as
failed with the server's answer. Nothing is lost when the mail server is down."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.db import session_scope
from archive.models import (
    OutboxMessage,
    OutboxState,
    utcnow,
)
from archive.settings import Settings
from workers.alerts import smtp as mail
from workers.alerts.render import render

log = logging.getLogger(__name__)


def backoff_s(settings: Settings, attempts: int) -> float:
    """Exponential backoff, capped, with jitter (half to all of the step) so retries spread."""
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
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        message = render(settings, session, row)
        if message is None:
            row.state = OutboxState.dropped
            return row.state
        row.attempts += 1
        try:
            mail.send(settings, message)
        except mail.PermanentMailError as exc:
            row.state, row.last_error = OutboxState.failed, str(exc)[:2000]
            log.warning("outbox %s refused for good: %s", outbox_id, exc)
        except Exception as exc:
            delay = backoff_s(settings, row.attempts)
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
            log.warning("outbox %s: send failed, retry in %.0fs: %s", outbox_id, delay, exc)
        else:
            row.state, row.sent_at, row.last_error = OutboxState.sent, utcnow(), None
        return row.state


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


def retry_failed(settings: Settings) -> int:
    """Put messages refused for good back in line (after the mail settings were fixed)."""
    with session_scope(settings.db_url) as session:
        return session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.failed)
            .values(state=OutboxState.pending, next_attempt_at=utcnow())
        ).rowcount
