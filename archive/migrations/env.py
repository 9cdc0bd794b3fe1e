"""Alembic environment: the URL comes from archive.migrate (settings), never from an ini file."""

from __future__ import annotations

from typing import Any

from alembic import context

from archive.db import get_engine
from archive.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Write ``UTCDateTime`` columns as the plain SQL type they are, so a generated migration
    imports nothing from the models (which change while migrations must not)."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(**where: Any) -> None:
    """Run the migrations against ``where`` (a URL offline, a connection online). Both modes
    compare against the same models, write batch operations (SQLite alters a table by rebuilding
    it) and render types the same way, so a generated script does not depend on the mode."""
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        render_item=render_item,
        **where,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    _run(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)


def run_migrations_online() -> None:
    engine = get_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table (copy, drop, rename); with foreign keys
            # enforced, the drop would cascade into every row that references the table (an
            # alert's mails and deliveries). Outside a transaction, so SQLite applies it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        _run(connection=connection)
        connection.commit()
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
