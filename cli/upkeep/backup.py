"""``ashyq backup DEST`` and ``ashyq restore SRC``: a consistent, incremental snapshot of the
database, the media store and the clip registry, and its restore into an empty data folder
(``archive.backup`` says what is kept, how and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archive import backup as backups
from archive import migrate
from cli.common import console, err, fail, load_settings


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def backup(
    dest: Annotated[
        Path, typer.Argument(help="backup folder (made if missing; reused: incremental)")
    ],
) -> None:
    """Snapshot the database and copy the media files DEST does not hold yet."""
    settings = load_settings()
    try:
        result = backups.backup(settings, dest.resolve())
    except backups.BackupError as exc:
        fail("backup failed", exc, code=1)
    kept = result.files - result.copied
    console.print(
        f"snapshot {result.snapshot}: database {_mib(result.database_bytes)}, "
        f"{result.files} file(s): {result.copied} copied ({_mib(result.copied_bytes)}), "
        f"{kept} already in the backup",
        highlight=False,
    )
    for path in result.missing:
        err.print(f"not in the media store, though the database names it: {path}", markup=False)


def restore(
    source: Annotated[Path, typer.Argument(help="a folder `ashyq backup` wrote")],
    snapshot: Annotated[
        str | None, typer.Option(help="the snapshot's name under snapshots/ (default: newest)")
    ] = None,
) -> None:
    """Restore a snapshot into an empty data folder (ASHYQ_DATA_DIR) and an empty database."""
    settings = load_settings()
    try:
        result = backups.restore(settings, source.resolve(), snapshot)
    except backups.BackupError as exc:
        fail("cannot restore", exc)
    migrate.upgrade(settings.db_url)
    console.print(
        f"restored {result.snapshot.name}: the database and {result.files} file(s) "
        f"({_mib(result.bytes)}) into {settings.data_dir}",
        highlight=False,
    )
    console.print("now rebuild the search index: `ashyq reindex` (Meilisearch running)")
