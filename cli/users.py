"""``ashyq users``: staff accounts from the terminal (the first admin has no web page to use)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from archive import audit
from archive.access import accounts
from archive.db import session_scope
from archive.models import ROLES, User
from cli.common import console, fail, load_settings, migrated_settings

app = typer.Typer(help="Staff accounts (admins and editors).", no_args_is_help=True)


# Both commands that take a password read it the same way, so a script pipes it to either alike.
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from stdin")
]


def _password(from_stdin: bool) -> str:
    """Read from stdin when piped (or asked), else prompt twice without echo."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="the person's e-mail, their login name")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")] = "editor",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a staff account; the password is prompted for (or read from stdin)."""
    settings = migrated_settings()
    password = _password(password_stdin)
    try:
        with session_scope(settings.db_url) as session:
            user = accounts.create_user(session, email, password, role)
            audit.record(session, None, "user_create", "user", user.id, email="cli", role=role)
            console.print(f"created {user.role} {user.email} (id {user.id})", highlight=False)
    except accounts.AccountError as exc:
        fail("not created", exc)


@app.command("list")
def list_users() -> None:
    """Every account with its role and last login."""
    settings = load_settings()
    table = Table("id", "email", "role", "active", "last login")
    with session_scope(settings.db_url) as session:
        for user in session.scalars(select(User).order_by(User.id)):
            last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else ""
            table.add_row(str(user.id), user.email, user.role, "yes" if user.active else "no", last)
    console.print(table)


@app.command("set-password")
def set_password(
    email: Annotated[str, typer.Argument(help="the account's e-mail")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password (prompted or from stdin); the account's web sessions end and its API
    tokens are revoked."""
    settings = load_settings()
    password = _password(password_stdin)
    with session_scope(settings.db_url) as session:
        user = session.scalar(select(User).where(User.email == accounts.normalize_email(email)))
        if user is None:
            fail("no such user", email)
        try:
            accounts.set_password(user, password)
        except accounts.AccountError as exc:
            fail("not changed", exc)
        accounts.end_all_sessions(session, user.id)
        audit.record(session, None, "user_password", "user", user.id, email="cli")
    console.print(f"password changed for {user.email}", highlight=False)
