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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, object_session

from archive.models import ROLES, ApiToken, LoginAttempt, User, UserSession, utcnow
from archive.settings import Settings

TOKEN_PREFIX = "ashyq_"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class AccountError(ValueError):
    """The account request is wrong as given (bad e-mail, weak password, unknown role)."""


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
    # A new password is what one does after a leak: the tokens made under the old one go too.
    session = object_session(user)
    if session is not None and user.id is not None:
        revoke_all_tokens(session, user.id)


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


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins within which window stop further attempts.

    Counted per (e-mail, client address), so a stranger's guesses lock only the stranger out, not
    the editor at their own desk; per client address over all e-mails, so one client cannot try
    many accounts; and per e-mail over all clients, with more failures over a longer window, a
    backstop against guessing one password from many addresses. Failed logins are kept in the
    database, so every web process counts the same and a restart forgets nothing.
    """

    per_pair: int
    per_client: int
    window_s: int
    per_account: int
    account_window_s: int

    @classmethod
    def of(cls, settings: Settings) -> LoginLimits:
        return cls(
            settings.login_max_failures,
            settings.login_max_failures_per_ip,
            settings.login_window_s,
            settings.login_max_failures_per_account,
            settings.login_account_window_s,
        )


def _failures(session: Session, window_s: int, *where: ColumnElement[bool]) -> int:
    since = utcnow() - timedelta(seconds=window_s)
    query = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.at >= since, *where)
    return session.scalar(query) or 0


def too_many_attempts(session: Session, email: str, ip: str, limits: LoginLimits) -> bool:
    """True when recent failures of this e-mail from this client, of this client, or of this
    e-mail from anywhere reached their limit."""
    account, client = LoginAttempt.email == normalize_email(email), LoginAttempt.ip == ip[:64]
    return (
        _failures(session, limits.window_s, account, client) >= limits.per_pair
        or _failures(session, limits.window_s, client) >= limits.per_client
        or _failures(session, limits.account_window_s, account) >= limits.per_account
    )


def record_failure(session: Session, email: str, ip: str, limits: LoginLimits) -> None:
    session.add(LoginAttempt(email=normalize_email(email)[:320], ip=ip[:64]))
    # Old rows are useless to the limits; drop them as we go so the table stays small.
    keep_s = max(limits.window_s, limits.account_window_s) * 2
    session.execute(
        delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(seconds=keep_s))
    )


def clear_failures(session: Session, email: str, ip: str) -> None:
    """A right password from this client forgets this client's failures for the account, and
    only those: a success must not wipe the count of someone guessing from elsewhere."""
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.email == normalize_email(email), LoginAttempt.ip == ip[:64]
        )
    )


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
    if row.expires_at <= datetime.now(UTC) or not row.user.active:
        session.delete(row)
        session.commit()
        return None
    return row


def end_session(session: Session, secret: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id == digest(secret)))


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


# API tokens ---------------------------------------------------------------------------------------


def create_token(
    session: Session, user: User, name: str, lifetime_days: int | None = None
) -> tuple[str, ApiToken]:
    """A new personal token, valid for ``lifetime_days`` (None: until revoked); the secret is
    returned once and never stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=lifetime_days) if lifetime_days else None
    row = ApiToken(
        user_id=user.id,
        name=(name.strip() or "token")[:200],
        token_hash=digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return secret, row


def user_for_token(session: Session, secret: str) -> User | None:
    """The active user owning this unrevoked, unexpired token (and note its use), else None."""
    if not secret:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        return None
    row.last_used_at = utcnow()
    session.commit()
    return row.user


def revoke_all_tokens(session: Session, user_id: int) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken | None:
    """Revoke one of ``user``'s tokens (admins may revoke anyone's); None if not theirs."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not user.is_admin):
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
