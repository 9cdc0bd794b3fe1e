"""Starting and stopping the processes of a single-machine archive."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from archive.settings import Settings
from workers.celery_app import QUEUES

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
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
class RestartPolicy:
    """Restart after 1, 2, 4… seconds (at most ``backoff_max_s``); more than ``max_restarts``
    deaths of one child within ``window_s`` is a crash loop."""

    max_restarts: int = 5
    window_s: float = 300.0
    backoff_max_s: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> RestartPolicy:
        return cls(settings.restart_max, settings.restart_window_s, settings.restart_backoff_max_s)

    def backoff(self, recent_deaths: int) -> float:
        return min(self.backoff_max_s, 2.0 ** max(0, recent_deaths - 1))


class CrashLoop(ServiceError):
    pass


@dataclass
class Child:
    """One supervised process; ``tier`` orders the stop (higher first: the web server and the
    workers before the search engine they use); ``hurry`` is sent when a polite stop takes too
    long (Celery: SIGQUIT, a cold shutdown that hands the running task back to the queue)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    tier: int
    hurry: int
    proc: subprocess.Popen
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None  # set while it waits out its backoff


@dataclass
class Supervisor:
    """Children in their own process groups, so stopping one stops everything it spawned; one
    that dies is restarted with exponential backoff (``tick``), and ``on_restart`` hooks run once
    it is started again (the worker's: queue again the jobs it was running)."""

    policy: RestartPolicy = field(default_factory=RestartPolicy)
    say: Callable[[str], None] = field(default=lambda _message: None)
    on_restart: dict[str, Callable[[], None]] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def procs(self) -> dict[str, subprocess.Popen]:
        return {name: child.proc for name, child in self.children.items()}

    def start(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log: Path,
        *,
        tier: int = 1,
        hurry: int = signal.SIGKILL,
    ) -> None:
        proc = _spawn(argv, env, log)
        self.children[name] = Child(name, argv, env, log, tier, hurry, proc)

    def tick(self, now: float | None = None) -> None:
        """Notice the dead, restart those whose backoff is over; ``CrashLoop`` on a crash loop."""
        now = time.monotonic() if now is None else now
        for child in self.children.values():
            if child.restart_at is None and child.proc.poll() is not None:
                self._died(child, now)
            elif child.restart_at is not None and now >= child.restart_at:
                child.proc = _spawn(child.argv, child.env, child.log)
                child.restart_at = None
                self.say(f"{child.name} restarted (pid {child.proc.pid})")
                hook = self.on_restart.get(child.name)
                if hook is not None:
                    try:
                        hook()
                    except Exception as exc:
                        self.say(f"after restarting {child.name}: {exc!r}")

    def _died(self, child: Child, now: float) -> None:
        code = child.proc.returncode
        _kill_group(child.proc)  # what it left behind: uvicorn's workers, Celery's pool
        window = self.policy.window_s
        child.deaths = [t for t in child.deaths if now - t < window] + [now]
        why = f"{child.name} exited with {describe_exit(code)}; log: {child.log}"
        tail = log_tail(child.log)
        if len(child.deaths) > self.policy.max_restarts:
            raise CrashLoop(
                f"{why}\n{tail}\n{child.name} died {len(child.deaths)} times within "
                f"{window:.0f} s: a crash loop; stopping everything"
            )
        delay = self.policy.backoff(len(child.deaths))
        child.restart_at = now + delay
        self.say(
            f"{why}\n{tail}\nrestarting {child.name} in {delay:.0f} s "
            f"(restart {len(child.deaths)} of at most {self.policy.max_restarts} in {window:.0f} s)"
        )

    def stop(self, timeout: float = 10.0, hurried: float = 20.0) -> None:
        """Tier by tier (highest first): SIGTERM to each leader (Celery and uvicorn stop their own
        children in order: the web server finishes the requests in flight); after ``timeout``
        the child's ``hurry`` signal, after ``hurried`` more SIGKILL to its whole group."""
        for tier in sorted({c.tier for c in self.children.values()}, reverse=True):
            group = [c for c in self.children.values() if c.tier == tier]
            _signal(group, lambda child: signal.SIGTERM)
            _wait(group, timeout)
            _signal(group, lambda child: child.hurry)
            _wait(group, hurried)
            for child in group:
                _kill_group(child.proc)  # what is left of it, the leader too
                child.proc.wait()


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as handle:
        return subprocess.Popen(
            argv, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )


def _signal(children: list[Child], which: Callable[[Child], int]) -> None:
    """Send each child still running (its leader) the signal ``which`` chooses for it."""
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(which(child))


def _wait(children: list[Child], timeout: float) -> None:
    """Wait up to ``timeout`` (in all) for every child to exit."""
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(max(0.0, deadline - time.monotonic()))


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def log_tail(log: Path, lines: int = 5) -> str:
    """The last lines of a child's log, indented, for the message that says it died."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "  (no log)"
    text = ANSI_ESCAPE.sub("", text)  # Meilisearch colours its log
    return "\n".join(f"  | {line}" for line in text.splitlines()[-lines:])


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


def web_workers(settings: Settings) -> int:
    """``ASHYQ_WEB_WORKERS``, or one per core this process may run on."""
    return settings.web_workers or len(os.sched_getaffinity(0)) or 1


def web_argv(settings: Settings) -> list[str]:
    """uvicorn with ``web_workers`` processes (each builds the app once, from the factory); on
    SIGTERM it stops accepting and gives requests in flight ``web_graceful_s`` to finish."""
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
        "--workers",
        str(web_workers(settings)),
        "--timeout-graceful-shutdown",
        str(settings.web_graceful_s),
        "--no-access-log",
    ]
