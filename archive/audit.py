"""The audit log: who did what to which thing, and when. Written in the same transaction as the
action itself, so an action that rolls back leaves no entry and an entry never lacks its action.

The services both faces call (``workers.services``) are handed an ``Actor`` and write their own
entries, so the CLI and the web record the same thing for the same action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import AuditEntry, User, utcnow


def record(
    session: Session,
    user: User | None,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    *,
    ip: str | None = None,
    email: str | None = None,
    **detail: Any,
) -> AuditEntry:
    entry = AuditEntry(
        user_id=user.id if user else None,
        user_email=user.email if user else email,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=detail,
        ip=ip,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Actor:
    """Who asks a service for something: a signed-in user and the client's address, or the CLI
    (no user: the archive's own rights, logged as "cli")."""

    user: User | None
    ip: str | None = None

    @property
    def is_admin(self) -> bool:
        """Admins and the CLI manage the archive's fixed data (bodies); editors do not."""
        return self.user is None or self.user.is_admin


CLI = Actor(None)


def record_by(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    **detail: Any,
) -> AuditEntry:
    """``record`` for what a service does on an actor's behalf."""
    email = None if actor.user else "cli"
    return record(
        session, actor.user, action, target_type, target_id, ip=actor.ip, email=email, **detail
    )


def record_once(
    session: Session, action: str, window_s: int, *, ip: str, email: str
) -> AuditEntry | None:
    """Record an anonymous ``action`` unless the same one from this address for this e-mail is
    already in the log within the last ``window_s`` seconds: a client hammering a refused
    form must not grow the log one row per request. None when it was already there."""
    since = utcnow() - timedelta(seconds=window_s)
    seen = session.scalar(
        select(AuditEntry.id)
        .where(
            AuditEntry.action == action,
            AuditEntry.user_email == email,
            AuditEntry.ip == ip,
            AuditEntry.at >= since,
        )
        .limit(1)
    )
    if seen is not None:
        return None
    return record(session, None, action, "user", None, ip=ip, email=email)


def entries(
    session: Session,
    *,
    action: str | None = None,
    user_email: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditEntry]:
    """Newest first, narrowed by any of the filters given."""
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    if user_email:
        query = query.where(AuditEntry.user_email == user_email.strip().lower())
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def actions(session: Session) -> list[str]:
    return sorted(session.scalars(select(AuditEntry.action).distinct()))
