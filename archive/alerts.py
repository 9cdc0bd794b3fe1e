"""Alert subscriptions in the database: subscribe (double opt-in), confirm, unsubscribe.

Nothing here searches or sends: a new subscription only queues its confirmation message in the
outbox (workers.alerts sends it), so a mail server that is down loses nothing.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Alert, AlertFrequency, OutboxMessage, utcnow

# Confirmation mails one address may be sent in an hour: subscribing someone else's address over
# and over must not turn the archive into a mail bomb.
CONFIRMATIONS_PER_HOUR = 3
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class InvalidAlert(ValueError):
    """The subscription cannot be made as given; the message says why."""


def normalize_email(email: str) -> str:
    address = email.strip()
    if len(address) > 320 or not EMAIL.match(address):
        raise InvalidAlert("enter a valid email address")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def subscribe(
    session: Session,
    *,
    email: str,
    query: str,
    filters: dict[str, Any],
    frequency: AlertFrequency,
    lang: str,
) -> tuple[Alert, OutboxMessage | None]:
    """A pending alert and its confirmation message (queued in the outbox, not yet sent).

    Subscribing again to the same search while still unconfirmed sends the confirmation again
    rather than making a second alert; an identical confirmed alert is left as it is (None), and
    an address sent CONFIRMATIONS_PER_HOUR confirmations in the last hour gets no more (None).
    """
    address = normalize_email(email)
    if not query.strip():
        raise InvalidAlert("an alert needs words to find")
    clean = {k: v for k, v in filters.items() if v not in (None, "")}
    same = session.scalars(
        select(Alert).where(
            Alert.email == address,
            Alert.query == query,
            Alert.unsubscribed_at.is_(None),
        )
    )
    alert = next((a for a in same if a.filters == clean), None)
    if alert is not None and alert.confirmed_at is not None:
        alert.frequency, alert.lang = frequency, lang
        return alert, None
    if alert is None:
        alert = Alert(
            email=address,
            query=query,
            filters=clean,
            frequency=frequency,
            lang=lang,
            token=secrets.token_urlsafe(32),
        )
        session.add(alert)
        session.flush()
    if _recent_confirmations(session, address) >= CONFIRMATIONS_PER_HOUR:
        return alert, None
    message = OutboxMessage(kind="confirm", alert_id=alert.id)
    session.add(message)
    session.flush()
    return alert, message


def _recent_confirmations(session: Session, address: str) -> int:
    since = utcnow() - timedelta(hours=1)
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Alert, OutboxMessage.alert_id == Alert.id)
            .where(
                Alert.email == address,
                OutboxMessage.kind == "confirm",
                OutboxMessage.created_at >= since,
            )
        )
        or 0
    )


def by_token(session: Session, token: str) -> Alert | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(Alert).where(Alert.token == token))


def confirm(session: Session, token: str) -> Alert | None:
    """Confirm the alert this token names (again is harmless); None when there is none."""
    alert = by_token(session, token)
    if alert is None or alert.unsubscribed_at is not None:
        return alert
    if alert.confirmed_at is None:
        alert.confirmed_at = utcnow()
    return alert


def unsubscribe(session: Session, token: str) -> Alert | None:
    """Stop the alert for good; its pending messages are not sent (workers.alerts drops them)."""
    alert = by_token(session, token)
    if alert is not None and alert.unsubscribed_at is None:
        alert.unsubscribed_at = utcnow()
    return alert


def alerts_of(session: Session, token: str) -> tuple[Alert | None, list[Alert]]:
    """The alert a token names and every live alert of the same address: whoever holds one
    alert's link reads that mailbox, so may manage all its alerts."""
    alert = by_token(session, token)
    if alert is None:
        return None, []
    mine = session.scalars(
        select(Alert)
        .where(Alert.email == alert.email, Alert.unsubscribed_at.is_(None))
        .order_by(Alert.created_at)
    )
    return alert, list(mine)


def change(session: Session, token: str, alert_id: int, action: str) -> Alert | None:
    """Apply ``action`` (immediate, daily or stop) to one alert of the token's address."""
    owner, mine = alerts_of(session, token)
    target = next((a for a in mine if a.id == alert_id), None)
    if owner is None or target is None:
        return None
    return apply(target, action)


def apply(target: Alert, action: str) -> Alert:
    if action == "stop":
        target.unsubscribed_at = utcnow()
    elif action in AlertFrequency.__members__:
        target.frequency = AlertFrequency(action)
    else:
        raise InvalidAlert(f"unknown action {action!r}")
    return target


def alerts_of_address(session: Session, email: str) -> list[Alert]:
    """Every live alert mailed to ``email`` (a staff member's own, on their alerts page)."""
    query = select(Alert).where(
        Alert.email == normalize_email(email), Alert.unsubscribed_at.is_(None)
    )
    return list(session.scalars(query.order_by(Alert.created_at)))


def subscribe_own(
    session: Session, *, email: str, query: str, frequency: AlertFrequency, lang: str
) -> Alert:
    """An alert for a staff member's own account address, active at once: the account's
    address was given by an administrator and its owner is signed in, so there is nothing to
    confirm by mail."""
    alert, _message = subscribe(
        session, email=email, query=query, filters={}, frequency=frequency, lang=lang
    )
    if _message is not None:
        session.delete(_message)
    alert.confirmed_at = alert.confirmed_at or utcnow()
    return alert
