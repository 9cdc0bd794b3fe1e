"""Where the rate-limit counters live, so that every web process counts against one limit.

The counting is the ``limits`` library's (its fixed-window strategy); this module only chooses
its storage:

- ``ASHYQ_RATE_LIMIT_STORAGE``, a ``limits`` storage URI (``redis://…``, ``memcached://…``,
  ``memory://`` for counters of this process only), when set;
- else the broker's Redis when the broker is Redis (production, tests);
- else (the embedded default, no server) a SQLite file in the data folder,
  ``DATA_DIR/run/ratelimit.sqlite3``, which every web process of this machine opens.

``limits`` offers no storage that needs no server and is shared between processes (its memory
storage is one process's dictionary), so the last is a ``limits`` storage of our own:
``SQLiteStorage``, registered under the scheme ``ashyq+sqlite://PATH``. One counter is one row
(key, count, expiry); an increment is one UPSERT statement, atomic across processes (SQLite's
write lock), in WAL mode without fsync: counters need not survive a power cut.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from limits.storage import Storage, storage_from_string

from archive.settings import Settings

SCHEME = "ashyq+sqlite"
PURGE_ONE_IN = 1000  # an increment now and then deletes the finished windows
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters "
    "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
)
_INCR = (
    "INSERT INTO counters (key, count, expires) VALUES (:key, :amount, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN counters.expires <= :now THEN :amount ELSE counters.count + :amount END, "
    "expires = CASE WHEN counters.expires <= :now THEN :expires ELSE counters.expires END "
    "RETURNING count"
)


def storage_uri(settings: Settings) -> str:
    """The ``limits`` storage URI of this archive's counters (see the module's docstring)."""
    if settings.rate_limit_storage:
        return settings.rate_limit_storage
    broker = settings.broker_url or ""
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return f"{SCHEME}://{settings.data_dir / 'run' / 'ratelimit.sqlite3'}"


def make_storage(settings: Settings) -> Storage:
    """The storage, its errors wrapped in ``limits.errors.StorageError`` (one kind to catch)."""
    return storage_from_string(storage_uri(settings), wrap_exceptions=True)


class SQLiteStorage(Storage):
    """A ``limits`` storage in one SQLite file, shared by every process that opens it."""

    STORAGE_SCHEME: ClassVar[list[str]] = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = Path(uri.split("://", 1)[1])
        self._local = threading.local()  # a connection per thread (the server's thread pool)

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (sqlite3.Error, OSError)  # OSError: its folder cannot be made

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(_SCHEMA)
            self._local.db = db
        return db

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._db()
        if random.randrange(PURGE_ONE_IN) == 0:
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        row = db.execute(
            _INCR, {"key": key, "amount": amount, "expires": now + expiry, "now": now}
        ).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = (
            self._db()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._db()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))
