"""API keys for heavy users of the open API: a higher rate limit, nothing else. The key is shown
once when made; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import ApiKey, utcnow

PREFIX = "ashyq_"


def create(session: Session, name: str, per_minute: int) -> tuple[ApiKey, str]:
    """A new key row and the key itself (to hand to its user; it cannot be read back)."""
    if per_minute < 1:
        raise ValueError("per_minute must be at least 1")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name, key_sha256=hashlib.sha256(key.encode()).hexdigest(), per_minute=per_minute
    )
    session.add(row)
    session.flush()
    return row, key


def revoke(session: Session, key_id: int) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


def listing(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
