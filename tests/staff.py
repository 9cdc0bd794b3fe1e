"""Staff accounts and signed-in clients for tests: real argon2 hashing, real sessions."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx

from archive import accounts
from archive.db import session_scope
from archive.settings import Settings

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    role: str
    token: str


@dataclass(frozen=True)
class StaffAccounts:
    admin: Account
    editor: Account


def make_account(settings: Settings, role: str) -> Account:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    password = f"pw-{uuid.uuid4().hex}"
    with session_scope(settings.db_url) as session:
        user = accounts.create_user(session, email, password, role)
        token, _row = accounts.create_token(session, user, "tests")
    return Account(email, password, role, token)


def make_staff_accounts(settings: Settings) -> StaffAccounts:
    return StaffAccounts(
        admin=make_account(settings, "admin"), editor=make_account(settings, "editor")
    )


def sign_in(client: httpx.Client, account: Account) -> str:
    """Sign ``client`` in through the login form; returns the session's CSRF token."""
    form = client.get("/staff/login")
    login_token = LOGIN_CSRF.search(form.text).group(1)
    done = client.post(
        "/staff/login",
        data={"email": account.email, "password": account.password, "csrf_token": login_token},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get("/staff/tokens")
    return CSRF_META.search(page.text).group(1)
