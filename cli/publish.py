"""``ashyq apikeys …`` and ``ashyq dump``: API keys for heavy users, and the bulk dump on demand
(beat makes one each night)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from archive.access import apikeys
from archive.db import session_scope
from cli.common import console, load_settings

apikeys_app = typer.Typer(help="API keys with a higher rate limit.", no_args_is_help=True)


@apikeys_app.command("add")
def add_key(
    name: Annotated[str, typer.Argument(help="who the key is for")],
    per_minute: Annotated[
        int | None, typer.Option(help="requests a minute (default ASHYQ_RATE_LIMIT_KEY_PER_MINUTE)")
    ] = None,
) -> None:
    """Make a key and print it once (only its hash is kept)."""
    settings = load_settings()
    with session_scope(settings.db_url) as session:
        row, key = apikeys.create(session, name, per_minute or settings.rate_limit_key_per_minute)
        console.print(f"key {row.id} for {name}, {row.per_minute} requests a minute:")
        console.print(key)
    console.print("send it as the X-API-Key header; it cannot be shown again")


@apikeys_app.command("list")
def list_keys() -> None:
    """Keys with their limits (never the keys themselves)."""
    settings = load_settings()
    table = Table("id", "name", "per minute", "created", "revoked")
    with session_scope(settings.db_url) as session:
        for row in apikeys.listing(session):
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else ""
            created = row.created_at.isoformat(timespec="seconds")
            table.add_row(str(row.id), row.name, str(row.per_minute), created, revoked)
    console.print(table)


@apikeys_app.command("revoke")
def revoke_key(key_id: int) -> None:
    """Revoke a key: its requests are refused (401) from the next minute on."""
    settings = load_settings()
    with session_scope(settings.db_url) as session:
        if not apikeys.revoke(session, key_id):
            console.print(f"no active key {key_id}")
            raise typer.Exit(1)
    console.print(f"key {key_id} revoked")


def dump() -> None:
    """Write the bulk dump of every published transcript now (as the nightly task does)."""
    from workers.services import dumps

    folder = dumps.make_dump(load_settings())
    console.print(f"dump written: {folder}")


def outbox(
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="send messages refused for good again")
    ] = False,
) -> None:
    """Alert mail waiting, sent and refused; the latest errors."""
    from sqlalchemy import func, select

    from archive.models import OutboxMessage, OutboxState
    from workers.alerts.outbox import retry_failed as put_back

    settings = load_settings()
    if retry_failed:
        console.print(f"{put_back(settings)} message(s) put back in line")
    with session_scope(settings.db_url) as session:
        counts = dict(
            session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            ).all()
        )
        table = Table("state", "messages")
        for state in OutboxState:
            table.add_row(state.value, str(counts.get(state, 0)))
        console.print(table)
        errors = Table("id", "kind", "to", "attempts", "state", "error")
        for row in session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.last_error.is_not(None))
            .order_by(OutboxMessage.id.desc())
            .limit(10)
        ):
            errors.add_row(
                str(row.id),
                row.kind,
                row.alert.email,
                str(row.attempts),
                row.state.value,
                (row.last_error or "")[:120],
            )
        if errors.row_count:
            console.print(errors)
