"""Starting and stopping the processes of a single-machine archive."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from archive.settings import Settings
from workers.celery_app import QUEUES

REPO_ROOT = Path(__file__).resolve().parent.parent
NPM_BINARY = REPO_ROOT / "node_modules" / "@gaubee" / "meilisearch-linux-amd64" / "meilisearch"


class ServiceError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def meilisearch_binary(settings: Settings) -> str:
    for candidate in (settings.meili_binary, str(NPM_BINARY), shutil.which("meilisearch")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise ServiceError(
        "no Meilisearch binary: run `npm ci` in the repository (make up does) "
        "or set ASHYQ_MEILI_BINARY"
    )


@dataclass
class Supervisor:
    """Children in their own process groups, so stopping one stops everything it spawned."""

    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("ab")
        self.procs[name] = subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def dead(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.procs.items() if p.poll() is not None]

    def stop(self, timeout: float = 15.0) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                # The leader only: Celery and uvicorn stop their own children in order.
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers at all (any status): the server is listening."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServiceError(f"process exited with {proc.returncode} before {url} answered")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise ServiceError(f"{url} did not answer within {timeout:.0f}s: {last}")


def meilisearch_argv(binary: str, port: int, key: str, db_dir: Path) -> list[str]:
    # "--master-key=KEY" in one argument: a URL-safe key may begin with "-", which the server's
    # argument parser would otherwise read as an option of its own (and refuse to start).
    return [
        binary,
        "--http-addr",
        f"127.0.0.1:{port}",
        f"--master-key={key}",
        "--env",
        "development",
        "--db-path",
        str(db_dir / "data.ms"),
        "--dump-dir",
        str(db_dir / "dumps"),
        "--snapshot-dir",
        str(db_dir / "snapshots"),
        "--no-analytics",
    ]


def worker_argv(
    settings: Settings,
    name: str,
    beat: bool = False,
    queues: tuple[str, ...] = QUEUES,
    concurrency: int | None = None,
) -> list[str]:
    """A Celery worker of ``queues`` (all of them by default); ``beat`` embeds the scheduler
    that polls watched sources (one per archive: in ``ashyq up`` the main worker carries it)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "--loglevel=INFO",
        "-Q",
        ",".join(queues),
        "-c",
        str(concurrency or settings.worker_concurrency),
        "-n",
        name,
        *(["--beat"] if beat else []),
    ]


def web_argv(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:serve_app",
        "--factory",
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--no-access-log",
    ]
