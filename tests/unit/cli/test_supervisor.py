"""The supervisor of `ashyq up` with real child processes and a driven clock: restart after a
backoff that doubles, a crash loop, an orderly stop that leaves nothing behind. (The same with
`ashyq up` itself, Meilisearch, Celery and uvicorn: tests/integration/archive/test_supervision.)"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from cli.services import CrashLoop, RestartPolicy, Supervisor, describe_exit

EXITS_3 = [sys.executable, "-c", "print('failing now', flush=True); raise SystemExit(3)"]


def _supervisor(said: list[str], **policy: float) -> Supervisor:
    return Supervisor(RestartPolicy(**policy), say=said.append)  # type: ignore[arg-type]


def test_backoff_doubles_up_to_its_cap():
    policy = RestartPolicy(backoff_max_s=10)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_a_dead_child_is_restarted_after_its_backoff_and_a_crash_loop_ends_it(tmp_path):
    """
    GIVEN a supervised child that always exits with code 3, 2 restarts allowed in 60 s
    WHEN the supervisor ticks on a driven clock
    THEN the first death is said (name, exit code, log and its last line) and restarted 1 s
      later, the second 2 s later; the third within the window is a crash loop
    """
    said: list[str] = []
    supervisor = _supervisor(said, max_restarts=2, window_s=60)
    log = tmp_path / "crashy.log"
    supervisor.start("crashy", EXITS_3, dict(os.environ), log)
    first = supervisor.procs["crashy"]
    first.wait()
    supervisor.tick(now=100)
    assert "crashy exited with exit code 3" in said[0] and str(log) in said[0]
    assert "  | failing now" in said[0] and "restarting crashy in 1 s" in said[0]
    supervisor.tick(now=100.9)
    assert supervisor.procs["crashy"] is first  # still waiting out its backoff
    supervisor.tick(now=101)
    second = supervisor.procs["crashy"]
    assert second is not first and said[-1].startswith(f"crashy restarted (pid {second.pid})")
    second.wait()
    supervisor.tick(now=102)
    assert "restarting crashy in 2 s" in said[-1]
    supervisor.tick(now=104)
    supervisor.procs["crashy"].wait()
    with pytest.raises(CrashLoop, match="crashy died 3 times within 60 s: a crash loop"):
        supervisor.tick(now=105)
    assert log.read_text().count("failing now") == 3


def test_deaths_older_than_the_window_are_forgotten(tmp_path):
    """GIVEN 1 restart allowed in 10 s WHEN the child dies at 100, then at 200 THEN both are
    restarted after 1 s: the first death left the window"""
    said: list[str] = []
    supervisor = _supervisor(said, max_restarts=1, window_s=10)
    supervisor.start("crashy", EXITS_3, dict(os.environ), tmp_path / "crashy.log")
    for now in (100, 200):
        supervisor.procs["crashy"].wait()
        supervisor.tick(now=now)
        assert "restarting crashy in 1 s (restart 1 of at most 1 in 10 s)" in said[-1]
        supervisor.tick(now=now + 1)


def test_stop_hurries_a_child_that_ignores_sigterm_and_kills_what_it_left(tmp_path):
    """
    GIVEN a child that ignores SIGTERM, and one that has started a grandchild of its own
    WHEN the supervisor stops them (0.5 s each to stop politely and when hurried)
    THEN both are gone within a few seconds, the grandchild too (the whole group is killed)
    """
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    parent = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    supervisor = _supervisor([])
    env = dict(os.environ)
    supervisor.start("stubborn", [sys.executable, "-c", stubborn], env, tmp_path / "s.log")
    supervisor.start("parent", [sys.executable, "-c", parent], env, tmp_path / "p.log")
    log = tmp_path / "p.log"
    deadline = time.monotonic() + 10
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(log.read_text())
    time.sleep(0.3)  # the stubborn child has set its handler
    began = time.monotonic()
    supervisor.stop(timeout=0.5, hurried=0.5)
    assert time.monotonic() - began < 5
    assert supervisor.procs["stubborn"].returncode == -signal.SIGKILL
    assert supervisor.procs["parent"].returncode == -signal.SIGTERM
    deadline = time.monotonic() + 2  # SIGKILL is delivered, then init reaps it
    while Path(f"/proc/{grandchild}").exists() and not _zombie(grandchild):
        assert time.monotonic() < deadline, f"grandchild {grandchild} still running"
        time.sleep(0.05)
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL" and describe_exit(3) == "exit code 3"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:  # gone meanwhile
        return True
