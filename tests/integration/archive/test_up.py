"""`ashyq up` on the embedded defaults: two archives side by side, a demo, a clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.services import free_port
from tests.conftest import REPO

pytestmark = pytest.mark.whisper


def start_up(data_dir: Path, port: int, *args: str) -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASHYQ_")}
    env.update(ASHYQ_DATA_DIR=str(data_dir), ASHYQ_PORT=str(port), ASHYQ_WHISPER_CPU_THREADS="1")
    log = data_dir.parent / f"up-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", *args],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return proc, log


def wait_for_text(log: Path, text: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not printed:\n{log.read_text(errors='replace')}")
        time.sleep(0.3)


def children_of(data_dir: Path) -> list[int]:
    """Pids of processes whose command line or environment names this data dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if str(data_dir).encode() in cmdline + environ and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


def test_two_archives_run_side_by_side_and_stop_on_ctrl_c(tmp_path):
    """
    GIVEN two data dirs and two ports
    WHEN `ashyq up` runs in each (one with the demo, one --no-demo)
    THEN both serve (each with a worker for alerts of its own), the demo becomes searchable in
    the first only, and Ctrl-C stops every process each one started
    """
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    port_a, port_b = free_port(), free_port()
    up_a, log_a = start_up(dir_a, port_a)
    up_b, log_b = start_up(dir_b, port_b, "--no-demo")
    try:
        wait_for_text(log_b, "Ashyq is up", up_b, 120)
        wait_for_text(log_a, "try: ", up_a, 240)
        assert "job 1 done" in log_a.read_text()
        # Alerts and mail have a worker of their own, one slot serving only their queue.
        for data in (dir_a, dir_b):
            argvs = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children_of(data)]
            assert any(b"-Q\0ashyq.alerts\0-c\0" + b"1\0" in argv for argv in argvs), argvs

        found_a = httpx.get(
            f"http://127.0.0.1:{port_a}/api/v1/search", params={"q": "budget"}
        ).json()
        found_b = httpx.get(
            f"http://127.0.0.1:{port_b}/api/v1/search", params={"q": "budget"}
        ).json()
        assert found_a["total"] >= 1 and found_b["total"] == 0
        health = httpx.get(f"http://127.0.0.1:{port_a}/healthz").json()
        assert health["status"] == "ok"
        assert health["broker"]["backend"] == "filesystem"
        assert (dir_a / "ashyq.db").exists() and (dir_a / "media").is_dir()
        assert (dir_a / "models" / "whisper-base" / "model.bin").exists()
        assert children_of(dir_a) and children_of(dir_b)
    finally:
        for proc in (up_a, up_b):
            proc.send_signal(signal.SIGINT)
        for proc, log, data in ((up_a, log_a, dir_a), (up_b, log_b, dir_b)):
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                pids = ",".join(str(pid) for pid in children_of(data)) or "0"
                left = subprocess.run(
                    ["ps", "-o", "pid,etime,args", "-p", pids], capture_output=True, text=True
                ).stdout
                proc.kill()
                raise AssertionError(
                    f"`ashyq up` did not stop within 60 s of Ctrl-C; still running: {left}\n"
                    f"{log.read_text(errors='replace')[-3000:]}"
                ) from None
    time.sleep(0.5)
    assert children_of(dir_a) == [] and children_of(dir_b) == []
    assert "stopped" in log_a.read_text() and "stopped" in log_b.read_text()
    assert not (dir_a / "run" / "services.json").exists()


def test_embedded_meilisearch_accepts_a_key_that_begins_with_a_dash(tmp_path):
    """GIVEN a master key starting with "-" (token_urlsafe makes one now and then) WHEN the
    embedded Meilisearch starts with it THEN it serves and the key authenticates"""
    import subprocess

    import httpx

    from cli.services import NPM_BINARY, free_port, meilisearch_argv, wait_http

    port, key = free_port(), "-E" + "x" * 30
    proc = subprocess.Popen(
        meilisearch_argv(str(NPM_BINARY), port, key, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 30, proc)
        answer = httpx.get(
            f"http://127.0.0.1:{port}/keys", headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)
