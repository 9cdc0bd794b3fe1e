"""Backups: a consistent snapshot of the database and the media store, incremental, and the
restore of one into an empty data folder.

What is kept is what cannot be made again: the database (the truth: recordings, transcripts
with every staff edit, accounts, alerts), the media store (originals, renditions, posters) and
the clip registry (what ``ashyq verify`` reads; clips handed out must still verify). The search
index is rebuilt from the database (``ashyq reindex``); the clip cache, dumps, models, the broker
and work folders are made again as needed.

Layout of a backup folder::

    media/ab/abcdef…/original.mp4          each media file once, at its path in the store
    clips/registry/12/1234….json           each clip registry entry once
    snapshots/20261203T190000Z/
        database.sqlite3 | database.pgdump the database at that moment
        manifest.json                      every file of that moment with its SHA-256 and size

Media files are content-addressed (their folder is the original's SHA-256) and never change in
place, so a file already in the backup with the size a manifest recorded for it is not copied or
read again: a second backup copies only what is new. Each file copied is hashed as it is read
and written under a temporary name first, and a snapshot folder appears (by rename) only once
its database and every file it lists are in place.

The database goes first — SQLite's online backup API (a consistent copy while the archive
writes), or ``pg_dump`` (one transaction) — and the media store is read after it: a recording
ingested meanwhile has its files in the backup but no row (an orphan ``ashyq check`` reports
after a restore), never a row without its files, unless a recording was purged in between (the
manifest then lists the missing file, as ``ashyq check`` would).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, make_url, select
from sqlalchemy.orm import Session

from archive.media.check import named_files, store_files
from archive.media.clip_store import clips_root
from archive.models import Recording
from archive.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SNAPSHOTS = "snapshots"
CHUNK = 1024 * 1024
# Each area of the data folder a backup keeps: its name in the backup, and where it lives.
AREAS = {
    "media": lambda settings: settings.media_dir,
    "clips/registry": lambda settings: clips_root(settings.data_dir) / "registry",
}


class BackupError(RuntimeError):
    """A backup or restore that cannot go on, with a message that says what to do."""


@dataclass
class BackupResult:
    snapshot: Path
    database_bytes: int = 0
    files: int = 0
    copied: int = 0
    copied_bytes: int = 0
    missing: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    snapshot: Path
    files: int = 0
    bytes: int = 0


def copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to ``target`` through a temporary name, hashing as it reads; returns the
    SHA-256 and size of what was written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as reader, partial.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    os.replace(partial, target)
    return digest.hexdigest(), size


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def snapshots(folder: Path) -> list[Path]:
    """The complete snapshots of a backup folder, oldest first."""
    root = folder / SNAPSHOTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / MANIFEST).is_file())


def read_manifest(snapshot: Path) -> dict[str, Any]:
    return json.loads((snapshot / MANIFEST).read_text())


# --- the database ------------------------------------------------------------------------------


def _backend(db_url: str) -> str:
    return make_url(db_url).get_backend_name()


def _pg_env(db_url: str) -> dict[str, str]:
    """libpq's environment for the URL's database (the password stays out of the argv)."""
    url = make_url(db_url)
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    return {**os.environ, **{k: v for k, v in values.items() if v}}


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} is not installed: apt-get install postgresql-client (its major version "
            "the server's or newer)"
        )
    return tool


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")


def dump_database(db_url: str, folder: Path) -> Path:
    """A consistent copy of the database in ``folder``: SQLite's online backup, or pg_dump's
    custom format (restored by pg_restore)."""
    if _backend(db_url) == "sqlite":
        target = folder / "database.sqlite3"
        path = Path(make_url(db_url).database or "")
        if not path.is_file():  # connecting would make an empty one
            raise BackupError(f"no database at {path}: is ASHYQ_DATA_DIR the archive's folder?")
        _sqlite_copy(path, target)
        return target
    if _backend(db_url) != "postgresql":
        raise BackupError(f"no backup for a {_backend(db_url)} database")
    target = folder / "database.pgdump"
    argv = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run([*argv, f"--file={target}"], _pg_env(db_url))
    return target


def _database_is_empty(db_url: str) -> bool:
    engine = create_engine(db_url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    """Copy a SQLite database page by page with its online backup API: a consistent copy even
    while the archive writes to the source."""
    source, copy = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


def load_database(db_url: str, dump: Path) -> None:
    """Put a snapshot's database in place; the target must hold no table."""
    if _backend(db_url) == "sqlite":
        target = Path(make_url(db_url).database or "")
        if target.exists() and target.stat().st_size:
            raise BackupError(f"the database {target} exists already: restore needs none")
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(dump, target)
        return
    if not _database_is_empty(db_url):
        raise BackupError(
            f"the database {make_url(db_url).database!r} holds tables already: "
            "restore into an empty one (createdb a new one, or drop its tables)"
        )
    argv = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    env = _pg_env(db_url)
    _run([*argv, f"--dbname={env['PGDATABASE']}", str(dump)], env)


# --- backup ------------------------------------------------------------------------------------


def _known(dest: Path) -> dict[str, tuple[str, int]]:
    """Every file earlier snapshots list: path in the backup -> (SHA-256, size)."""
    known: dict[str, tuple[str, int]] = {}
    for snapshot in snapshots(dest):
        for entry in read_manifest(snapshot).get("files", []):
            known[entry["path"]] = (entry["sha256"], entry["bytes"])
    return known


def _copy_area(
    source_root: Path,
    area: str,
    dest: Path,
    known: dict[str, tuple[str, int]],
    result: BackupResult,
) -> list[dict[str, Any]]:
    """Bring one area of the data folder into the backup; its manifest entries."""
    entries = []
    for relative in sorted(store_files(source_root)):
        if relative.endswith(".part"):  # a file still being moved into place
            continue
        source, path = source_root / relative, f"{area}/{relative}"
        target, size = dest / path, source.stat().st_size
        sha = _already_there(source, target, size, known.get(path))
        if sha is None:
            sha, size = copy_hashed(source, target)
            result.copied += 1
            result.copied_bytes += size
        entries.append({"path": path, "sha256": sha, "bytes": size})
    return entries


def _already_there(
    source: Path, target: Path, size: int, seen: tuple[str, int] | None
) -> str | None:
    """The SHA-256 of ``source`` when the backup holds it already, else None. A file an earlier
    snapshot lists at this size is taken on its word (store files never change in place); one
    no manifest lists (a backup stopped before writing its own) is compared byte hash to hash."""
    if not target.is_file() or target.stat().st_size != size:
        return None
    if seen is not None and seen[1] == size:
        return seen[0]
    sha = sha256_of(source)
    return sha if sha256_of(target) == sha else None


def _named_paths(db_url: str) -> set[str]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            return {
                path
                for recording in session.scalars(select(Recording))
                for path in named_files(recording).values()
            }
    finally:
        engine.dispose()


def backup(settings: Settings, dest: Path) -> BackupResult:
    """Snapshot the database, then bring the media store and clip registry into ``dest``
    (see the module docstring)."""
    data_dir = settings.data_dir.resolve()
    if dest.resolve() == data_dir or data_dir in dest.resolve().parents:
        raise BackupError(f"{dest} is inside the data folder {data_dir}: back up elsewhere")
    made_at = datetime.now(UTC)
    name = made_at.strftime("%Y%m%dT%H%M%S%fZ")
    staging = dest / SNAPSHOTS / f".{name}.part"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = BackupResult(snapshot=dest / SNAPSHOTS / name)
    database = dump_database(settings.db_url, staging)
    result.database_bytes = database.stat().st_size
    named = _named_paths(settings.db_url)  # what the snapshot's rows name (read just after it)
    known = _known(dest)
    files = []
    for area, where in AREAS.items():
        files += _copy_area(where(settings), area, dest, known, result)
    result.files = len(files)
    present = {entry["path"].removeprefix("media/") for entry in files}
    result.missing = sorted(named - present)
    manifest = {
        "format": FORMAT,
        "made_at": made_at.isoformat(timespec="seconds"),
        "database": {
            "backend": _backend(settings.db_url),
            "file": database.name,
            "sha256": sha256_of(database),
            "bytes": result.database_bytes,
        },
        "files": files,
        "missing": result.missing,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
    os.replace(staging, result.snapshot)
    return result


# --- restore -----------------------------------------------------------------------------------


def _pick(source: Path, name: str | None) -> Path:
    found = snapshots(source)
    if name is not None:
        found = [s for s in found if s.name == name]
    if not found:
        what = f"snapshot {name!r}" if name else "snapshot"
        raise BackupError(f"no {what} in {source} (a backup folder has {SNAPSHOTS}/…/{MANIFEST})")
    return found[-1]


def restore(settings: Settings, source: Path, snapshot_name: str | None = None) -> RestoreResult:
    """Put a snapshot (the newest unless named) into the settings' data folder, which must be
    empty (or not exist yet), and their database, which must be empty; every file is checked
    against its SHA-256 as it is copied. The search index is not touched: ``ashyq reindex``."""
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(
            f"the data folder {data_dir} is not empty: restore only into an empty (or new) "
            "folder, so nothing of another archive mixes with the backup"
        )
    snapshot = _pick(source, snapshot_name)
    manifest = read_manifest(snapshot)
    dump = snapshot / manifest["database"]["file"]
    if sha256_of(dump) != manifest["database"]["sha256"]:
        raise BackupError(f"{dump} does not match its SHA-256 in the manifest: damaged")
    result = RestoreResult(snapshot=snapshot)
    data_dir.mkdir(parents=True, exist_ok=True)
    load_database(settings.db_url, dump)
    targets = {area: where(settings) for area, where in AREAS.items()}
    for entry in manifest["files"]:
        area = next(a for a in targets if entry["path"].startswith(f"{a}/"))
        target = targets[area] / entry["path"].removeprefix(f"{area}/")
        sha, size = copy_hashed(source / entry["path"], target)
        if sha != entry["sha256"]:
            target.unlink()
            raise BackupError(f"{source / entry['path']} does not match its SHA-256: damaged")
        result.files += 1
        result.bytes += size
    return result
