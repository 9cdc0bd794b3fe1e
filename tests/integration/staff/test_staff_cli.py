"""``ashyq users``: the first admin is made in a terminal, with the password on stdin."""

from __future__ import annotations

import subprocess
import uuid

from sqlalchemy import select

from archive.access import accounts
from archive.db import session_scope
from archive.models import User
from archive.settings import Settings
from tests.support.helpers import ashyq


def run(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return ashyq(settings, *args, stdin=stdin, timeout=60)


def test_users_create_hashes_with_argon2_and_refuses_bad_input(settings):
    """
    GIVEN a password piped on stdin
    WHEN `ashyq users create --role admin EMAIL` runs, then again, then with a weak password,
    then `ashyq users set-password`
    THEN one admin exists with an argon2id hash that verifies; the repeat and the weak password
    exit 2 with the reason; the new password replaces the old
    """
    email = f"Chief-{uuid.uuid4().hex[:6]}@Example.org"
    made = run(settings, "users", "create", "--role", "admin", email, stdin="first password\n")
    assert made.returncode == 0, made.stderr
    with session_scope(settings.db_url) as session:
        user = session.scalar(select(User).where(User.email == email.lower()))
        assert user.role == "admin" and user.password_hash.startswith("$argon2id$")
        assert accounts.authenticate(session, email, "first password") is not None
    again = run(settings, "users", "create", email, stdin="first password\n")
    assert again.returncode == 2 and "already exists" in again.stderr
    weak = run(settings, "users", "create", f"x{email}", stdin="short\n")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    changed = run(settings, "users", "set-password", email, stdin="second password\n")
    assert changed.returncode == 0, changed.stderr
    with session_scope(settings.db_url) as session:
        assert accounts.authenticate(session, email, "first password") is None
        assert accounts.authenticate(session, email, "second password") is not None
    listed = run(settings, "users", "list")
    assert email.lower() in listed.stdout
