"""The real services a live-capture test drives: a Celery worker with beat (the live watchdog) on
its own Redis database, the database, Meilisearch under its own index, and the app's routes.

Each live test module builds one ``LiveEnv`` (a module fixture) with its own timeouts, so a
module's worker sees exactly the settings its tests are about.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive import migrate
from archive.db import session_scope
from archive.media.storage import sha256_file
from archive.models import LiveSession, LiveState, Recording, Segment
from archive.settings import Settings, env_for_children
from search.meili.client import master_client
from search.meili.schema import ensure_index
from tests.conftest import REPO, stop_group, worker_argv


@dataclass
class LiveEnv:
    settings: Settings
    client: TestClient
    worker: subprocess.Popen | None = None
    starts: int = 0

    def start_worker(self) -> subprocess.Popen:
        """A worker consuming both queues, with beat (the live watchdog), in its own group."""
        self.starts += 1
        log = self.settings.data_dir / f"worker-{self.starts}.log"
        proc = subprocess.Popen(
            worker_argv("ashyq,ashyq.live,ashyq.alerts", concurrency=2, name="live", beat=True),
            env=env_for_children(self.settings),
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while b" ready." not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        self.worker = proc
        return proc

    def capture(self, source: Any, *, body: str, title: str, chunk_s: int) -> int:
        """Put ``source`` on the air and, once its first segment is out, start capturing it as
        staff do; returns the live session's id."""
        from workers.services.live_control import start_live

        source.start()
        source.wait_segments(1)
        return start_live(self.settings, source.url, body=body, title=title, chunk_s=chunk_s)

    def kill_worker(self) -> None:
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-4000:]
            for p in sorted(self.settings.data_dir.glob("worker-*.log"))
        )

    def live(self, session_id: int) -> LiveSession:
        with session_scope(self.settings.db_url) as session:
            live = session.get(LiveSession, session_id)
            session.expunge(live)
            return live

    def wait_live(
        self, session_id: int, done: Callable[[LiveSession], Any], timeout: float, what: str
    ) -> LiveSession:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            live = self.live(session_id)
            if done(live):
                return live
            time.sleep(0.5)
        raise AssertionError(f"{what} within {timeout:.0f} s\n{self.log()}")

    def search(self, word: str, recording_id: int) -> dict | None:
        answer = self.client.get("/api/v1/search", params={"q": word})
        assert answer.status_code == 200, answer.text
        return next(
            (g for g in answer.json()["recordings"] if g["recording_id"] == recording_id), None
        )

    def wait_searchable(self, word: str, recording_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while (group := self.search(word, recording_id)) is None:
            assert time.monotonic() < deadline, f"{word!r} never became searchable\n{self.log()}"
            time.sleep(1)
        return group

    def segments(self, recording_id: int) -> list[tuple[str, float, float, str]]:
        with session_scope(self.settings.db_url) as session:
            rows = session.scalars(
                select(Segment).where(Segment.recording_id == recording_id).order_by(Segment.idx)
            )
            return [(s.id, s.start, s.end, s.text) for s in rows]

    def finalized(self, session_id: int) -> tuple[LiveSession, Recording]:
        """The session once it has ended, and its recording: ready, with a hashed .ts original."""
        live = self.wait_live(
            session_id,
            lambda s: s.state in (LiveState.ended, LiveState.failed),
            600,
            "the recording was not finalized",
        )
        assert live.state == LiveState.ended, live.error
        recording = self.recording(live)
        assert recording.status == "ready"
        assert recording.original_path.endswith(".ts")
        assert sha256_file(self.settings.media_dir / recording.original_path) == recording.sha256
        return live, recording

    def recording(self, live: LiveSession) -> Recording:
        with session_scope(self.settings.db_url) as session:
            recording = session.get(Recording, live.recording_id)
            session.expunge(recording)
            return recording


def live_env(
    settings: Settings, data_dir: Path, *, broker_db: int, index: str, **overrides: Any
) -> Iterator[LiveEnv]:
    """Build a ``LiveEnv`` (for a module fixture to yield from): ``broker_db`` is added to the test
    Redis database number so two modules' workers never share a queue."""
    from api.app import create_app

    base, db = settings.broker_url.rsplit("/", 1)
    own = settings.model_copy(
        update={
            "data_dir": data_dir,
            "broker_url": f"{base}/{int(db) + broker_db}",
            "meili_index": index,
            "live_backoff_max_s": 4.0,
            "live_stall_s": 20.0,
            "live_watchdog_s": 3.0,
            "live_stale_s": 60.0,
            "live_beam_size": 1,
            **overrides,
        }
    )
    redis.Redis.from_url(own.broker_url).flushdb()
    migrate.upgrade(own.db_url)
    ensure_index(master_client(own), own.meili_index)
    env = LiveEnv(own, TestClient(create_app(own)))
    env.start_worker()
    yield env
    if env.worker is not None:
        stop_group(env.worker)


def module_live_env(name: str, *, broker_db: int, **overrides: Any) -> Any:
    """The ``live_env`` module fixture of a live test module: its own data folder and index
    (both named ``name``), Redis database ``broker_db`` above the test one, and ``overrides``
    of the settings its tests are about. ``live_env = module_live_env("live-x", broker_db=1)``.
    """

    @pytest.fixture(scope="module")
    def fixture(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
        index = "segments_" + name.replace("-", "_")
        data_dir = tmp_path_factory.mktemp(name)
        yield from live_env(settings, data_dir, broker_db=broker_db, index=index, **overrides)

    return fixture
