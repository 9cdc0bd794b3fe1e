"""The ``ashyq`` command: bring the archive up, ingest files, watch jobs, rebuild the index.

This module only assembles the command groups (one module each); ``migrate`` and ``reindex``
live here as they are one line of work each. ``python -m cli.main`` and the ``ashyq`` script
both run ``app``.
"""

from __future__ import annotations

import typer

from archive import migrate
from archive.db import session_scope
from cli import asr, ingest, live, publish, serve, users
from cli.common import console, fail, load_settings
from cli.upkeep import backup, check
from cli.verify import verify_cmd

app = typer.Typer(
    help="Ashyq: open archive of official broadcasts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command("migrate")
def migrate_cmd() -> None:
    """Bring the database schema up to date."""
    settings = load_settings()
    migrate.upgrade(settings.db_url)
    console.print("database is up to date")


def reindex() -> None:
    """Rebuild the search index from the database (the live index serves until the swap)."""
    from search import master_client, rebuild

    settings = load_settings()
    if not settings.meili_url:
        fail("Meilisearch is not running", "start `ashyq up` or set ASHYQ_MEILI_URL")
    with session_scope(settings.db_url) as session:
        count = rebuild(master_client(settings), settings.meili_index, session)
    console.print(f"reindexed {count} segment(s)")


# The order of `ashyq --help`: single commands first, then the groups.
app.command()(ingest.ingest)
app.command("fetch")(ingest.fetch)
app.command()(ingest.status)
app.command()(reindex)
app.command("dump")(publish.dump)
app.command("outbox")(publish.outbox)
app.command()(serve.web)
app.command()(serve.worker)
app.command()(serve.up)
app.command("verify")(verify_cmd)
app.command("check")(check.check)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(users.app, name="users")
app.add_typer(ingest.sources_app, name="sources")
app.add_typer(live.app, name="live")
app.add_typer(asr.models_app, name="models")
app.add_typer(publish.apikeys_app, name="apikeys")
app.add_typer(asr.eval_app, name="eval")

if __name__ == "__main__":
    app()
