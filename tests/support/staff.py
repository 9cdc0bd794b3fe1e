"""Signed-in staff clients for tests: the real login form, real sessions and CSRF tokens (the
accounts themselves come from tests/support/factory.py)."""

from __future__ import annotations

import re

import httpx

from tests.support.factory import Account

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


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
