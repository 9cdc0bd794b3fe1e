"""Staff accounts: argon2 passwords, web sessions, personal API tokens, the login rate limit.

Secrets handed to a client (session cookie, API token) are random 32-byte values; the database
keeps only their SHA-256, so reading the database never yields a usable credential. Passwords are
hashed with argon2id, whose slowness is the point; tokens are already high-entropy, so a fast hash
is enough for them and keeps every API call cheap.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive.models import ROLES, ApiToken, LoginAttempt, User, UserSession, utcnow

TOKEN_PREFIX = "ashyq_"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """The account request is wrong as given (bad e-mail, weak password, unknown role)."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, email: str, password: str, role: str) -> User:
    email = normalize_email(email)
    if not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError(f"a user {email} already exists")
    user = User(email=email, password_hash=_hasher.hash(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    user.password_hash = _hasher.hash(password)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


# Rate limit ---------------------------------------------------------------------------------------


def too_many_attempts(
    session: Session, email: str, ip: str, *, per_email: int, per_ip: int, window_s: int
) -> bool:
    """True when recent failures for this e-mail or this address reached their limit."""
    since = utcnow() - timedelta(seconds=window_s)
    by_email = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == normalize_email(email), LoginAttempt.at >= since)
    )
    by_ip = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.at >= since)
    )
    return (by_email or 0) >= per_email or (by_ip or 0) >= per_ip


def record_failure(session: Session, email: str, ip: str, window_s: int) -> None:
    session.add(LoginAttempt(email=normalize_email(email)[:320], ip=ip[:64]))
    # Old rows are useless to the limit; drop them as we go so the table stays small.
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(seconds=window_s * 4))
    )


def clear_failures(session: Session, email: str) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == normalize_email(email)))


# Sessions -----------------------------------------------------------------------------------------


def start_session(session: Session, user: User, lifetime_s: int) -> tuple[str, UserSession]:
    """A new login; returns the cookie secret (only its digest is stored) and the row."""
    secret = secrets.token_urlsafe(32)
    row = UserSession(
        id=digest(secret),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(seconds=lifetime_s),
    )
    session.add(row)
    session.flush()
    return secret, row


def session_for(session: Session, secret: str) -> UserSession | None:
    """The live session of an active user that this cookie secret opens, else None."""
    if not secret:
        return None
    row = session.get(UserSession, digest(secret))
    if row is None:
        return None
    if _aware(row.expires_at) <= datetime.now(UTC) or not row.user.active:
        session.delete(row)
        session.commit()
        return None
    return row


def end_session(session: Session, secret: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id == digest(secret)))


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


# API tokens ---------------------------------------------------------------------------------------


def create_token(session: Session, user: User, name: str) -> tuple[str, ApiToken]:
    """A new personal token; the secret is returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=(name.strip() or "token")[:200],
        token_hash=digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
    )
    session.add(row)
    session.flush()
    return secret, row


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user owning this unrevoked token (and note its use), else None."""
    if not secret:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    session.commit()
    return row.user


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken | None:
    """Revoke one of ``user``'s tokens (admins may revoke anyone's); None if not theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not user.is_admin):
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
