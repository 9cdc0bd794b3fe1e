"""Alert subscriptions in the database: subscribe (double opt-in), confirm, unsubscribe.

Nothing here searches or sends: a new subscription only queues its confirmation message in the
outbox (workers.alerts.evaluate sends it), so a mail server that is down loses nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from archive.models import Alert, AlertFrequency, AlertLink, OutboxMessage, utcnow
from archive.settings import Settings

EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
# Providers that ignore dots in the local part (and answer to both domains).
DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
CAP_WINDOW = timedelta(hours=1)


class InvalidAlert(ValueError):
    """The subscription cannot be made as given; the message says why."""


class TooManySignUps(InvalidAlert):
    """This client, or everyone together, asked for too many confirmation mails this hour."""


@dataclass(frozen=True)
class SignUpCaps:
    """Confirmation mails allowed within ``CAP_WINDOW``: per mailbox, per client, in all.

    Subscribing someone else's address over and over must not turn the archive into a mail bomb:
    the per-mailbox cap stops that for one victim, the per-client cap stops one client spraying
    many victims, and the overall cap bounds what many clients together can make it send. The
    counts are the outbox rows themselves (the record of what was mailed), so every web process
    sees the same numbers and a restart forgets nothing.
    """

    per_address: int
    per_client: int
    overall: int

    @classmethod
    def of(cls, settings: Settings) -> SignUpCaps:
        return cls(
            settings.alert_confirmations_per_address,
            settings.alert_confirmations_per_client,
            settings.alert_confirmations_per_hour,
        )


def normalize_email(email: str) -> str:
    address = email.strip()
    if len(address) > 320 or not EMAIL.match(address):
        raise InvalidAlert("enter a valid email address")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def mailbox(address: str) -> str:
    """The mailbox an address reaches: letter case and a ``+tag`` make no other mailbox (nor
    dots at Gmail), so the per-address cap counts this, not the address as typed."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    domain = DOTLESS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"[:320]


def subscribe(
    session: Session,
    *,
    email: str,
    query: str,
    filters: dict[str, Any],
    frequency: AlertFrequency,
    lang: str,
    caps: SignUpCaps,
    client: str,
) -> tuple[Alert | None, OutboxMessage | None]:
    """A pending alert and its confirmation message (queued in the outbox, not yet sent).

    Subscribing again to the same search while still unconfirmed sends the confirmation again
    rather than making a second alert; an identical confirmed alert is left as it is (None), and
    a mailbox sent ``caps.per_address`` confirmations in the last hour gets no more (None, as
    for a confirmed one, so the answer tells a stranger nothing about the mailbox) and no new
    alert either (None), so searches sprayed at one address do not pile up rows. Over the
    client's or the overall cap it raises TooManySignUps and saves nothing.
    """
    wanted = _wanted(email, query, filters, frequency, lang)
    box = mailbox(wanted.email)
    client = client[:64]
    if _recent(session, OutboxMessage.client == client) >= caps.per_client:
        raise TooManySignUps("too many sign-ups from this client this hour")
    if _recent(session) >= caps.overall:
        raise TooManySignUps("too many sign-ups this hour")
    full = _recent(session, OutboxMessage.recipient == box) >= caps.per_address
    alert = _existing(session, wanted)
    if alert is None and not full:
        alert = _saved(session, wanted)
    if alert is None or alert.confirmed_at is not None or full:
        return alert, None
    message = OutboxMessage(kind="confirm", alert_id=alert.id, recipient=box, client=client)
    session.add(message)
    session.flush()
    return alert, message


def _wanted(
    email: str, query: str, filters: dict[str, Any], frequency: AlertFrequency, lang: str
) -> Alert:
    """The alert asked for, checked and not saved: a valid address (normalised), some words."""
    address = normalize_email(email)
    if not query.strip():
        raise InvalidAlert("an alert needs words to find")
    return Alert(
        email=address, query=query, filters=_clean(filters), frequency=frequency, lang=lang
    )


def _existing(session: Session, wanted: Alert) -> Alert | None:
    """The live alert of this address for this search (``wanted``, not saved), if any; a
    confirmed one takes the new frequency and language."""
    same = session.scalars(
        select(Alert).where(
            Alert.email == wanted.email,
            Alert.query == wanted.query,
            Alert.unsubscribed_at.is_(None),
        )
    )
    alert = next((a for a in same if a.filters == wanted.filters), None)
    if alert is not None and alert.confirmed_at is not None:
        alert.frequency, alert.lang = wanted.frequency, wanted.lang
    return alert


def _saved(session: Session, alert: Alert) -> Alert:
    session.add(alert)
    session.flush()
    return alert


def _clean(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v not in (None, "")}


def _recent(session: Session, *where: ColumnElement[bool]) -> int:
    """Confirmation mails queued within the cap window (narrowed by ``where``)."""
    since = utcnow() - CAP_WINDOW
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "confirm", OutboxMessage.created_at >= since, *where)
    )
    return session.scalar(query) or 0


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link_token(session: Session, alert: Alert) -> str:
    """A fresh secret for the links of one mail to ``alert``; only its digest is stored."""
    token = secrets.token_urlsafe(32)
    session.add(AlertLink(token_hash=token_digest(token), alert_id=alert.id))
    return token


def by_token(session: Session, token: str) -> Alert | None:
    if not token or len(token) > 64:
        return None
    query = select(Alert).join(AlertLink).where(AlertLink.token_hash == token_digest(token))
    return session.scalar(query)


def confirm(session: Session, token: str) -> Alert | None:
    """Confirm the alert this token names (again is harmless); None when there is none."""
    alert = by_token(session, token)
    if alert is None or alert.unsubscribed_at is not None:
        return alert
    if alert.confirmed_at is None:
        alert.confirmed_at = utcnow()
    return alert


def unsubscribe(session: Session, token: str) -> Alert | None:
    """Stop the alert for good; its pending messages are not sent (workers.alerts.evaluate drops
    them)."""
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
    wanted = _wanted(email, query, {}, frequency, lang)
    alert = _existing(session, wanted) or _saved(session, wanted)
    alert.confirmed_at = alert.confirmed_at or utcnow()
    return alert
