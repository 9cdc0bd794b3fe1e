"""`ashyq up` keeps the archive running: a child killed with SIGKILL is restarted and the site
answers again; a child that cannot come back (a crash loop) stops everything, saying so. And the
rate limit is one limit however many web processes serve the archive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from archive.settings import Settings, env_for_children
from cli.services import free_port, wait_http, web_argv
from tests.conftest import REPO, serve_web
from tests.integration.archive.test_up import children_of, wait_for_text
from tests.support.factory import indexed_recording, tone

RESTARTED_WITHIN_S = 30


def start_up(data_dir: Path, port: int, **env: str) -> tuple[subprocess.Popen, Path]:
    """`ashyq up --no-demo` on ``data_dir`` (the embedded defaults), ``env`` as ASHYQ_ settings."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("ASHYQ_")}
    child_env.update(
        ASHYQ_DATA_DIR=str(data_dir), ASHYQ_PORT=str(port), ASHYQ_WHISPER_CPU_THREADS="1"
    )
    child_env.update({f"ASHYQ_{name.upper()}": value for name, value in env.items()})
    log = data_dir.parent / f"up-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", "--no-demo"],
        env=child_env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_for_text(log, "Ashyq is up", proc, 180)
    return proc, log


def child_pid(parent: int, marker: bytes) -> int | None:
    """The direct child of ``parent`` whose command line holds ``marker``."""
    for pid in children(parent):
        if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        # pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def web_processes(uvicorn: int) -> list[int]:
    """uvicorn's web processes (multiprocessing's spawned children; not its resource tracker)."""
    return [
        pid
        for pid in children(uvicorn)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(check, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``check()`` is true; fails after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - start


def answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_up(proc: subprocess.Popen, data_dir: Path) -> int:
    """SIGTERM, as a service manager stops it; its exit code once every child is gone."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("`ashyq up` did not stop within 60 s of SIGTERM") from None
    wait_until(lambda: children_of(data_dir) == [], 5, "every child of up gone")
    return code


@pytest.mark.whisper
def test_up_restarts_a_killed_web_server_and_worker_and_the_site_answers(tmp_path):
    """
    GIVEN `ashyq up` on the embedded defaults with two web processes
    WHEN the web server (uvicorn's supervising process) is killed with SIGKILL, then the worker
    THEN each is restarted: the site answers again within 30 s, the web server with two
      processes again, the worker says ready again; what each killed process left behind (the
      web processes, Celery's pool) is gone; up's log names the child, its signal and its log;
      SIGTERM then stops everything (exit 0)
    """
    data, port = tmp_path / "data", free_port()
    base = f"http://127.0.0.1:{port}"
    up, log = start_up(data, port, web_workers="2")
    try:
        web = child_pid(up.pid, b"uvicorn")
        assert web and len(web_processes(web)) == 2
        left_behind = children(web)
        os.kill(web, signal.SIGKILL)
        took = wait_until(
            lambda: child_pid(up.pid, b"uvicorn") not in (None, web) and answers(base),
            RESTARTED_WITHIN_S,
            "the web server restarted and answering",
        )
        print(f"web server answered again {took:.1f} s after SIGKILL")
        assert not any(alive(pid) for pid in left_behind)
        new_web = child_pid(up.pid, b"uvicorn")
        wait_until(lambda: len(web_processes(new_web)) == 2, 20, "two web processes again")
        text = log.read_text()
        assert "web exited with signal SIGKILL" in text and "restarting web in 1 s" in text
        assert str(data / "logs" / "web.log") in text

        worker_log = data / "logs" / "worker.log"
        ready = worker_log.read_text().count(" ready.")
        worker = child_pid(up.pid, f"ashyq-{port}@".encode())
        assert worker and ready == 1
        pool = children(worker)
        os.kill(worker, signal.SIGKILL)
        took = wait_until(
            lambda: worker_log.read_text().count(" ready.") == 2 and answers(base),
            RESTARTED_WITHIN_S,
            "the worker restarted (ready) and the site answering",
        )
        print(f"worker ready again {took:.1f} s after SIGKILL")
        assert child_pid(up.pid, f"ashyq-{port}@".encode()) not in (None, worker)
        assert pool and not any(alive(pid) for pid in pool)
        assert "worker exited with signal SIGKILL" in log.read_text()
    finally:
        code = stop_up(up, data)
    assert code == 0, log.read_text()[-3000:]
    assert "stopped" in log.read_text()


@pytest.mark.whisper
def test_a_child_that_cannot_come_back_is_a_crash_loop_that_stops_everything(tmp_path):
    """
    GIVEN `ashyq up` allowed 2 restarts of a child within two minutes
    WHEN its Meilisearch's database folder is replaced by a file (the running server keeps the
      folder it opened) and the server is killed, so that every restart exits at once
    THEN up restarts it twice (after 1 s, then 2 s), then says it is a crash loop, stops every
      process it started (web, workers) and exits 1, its runtime file removed
    """
    data, port = tmp_path / "data", free_port()
    up, log = start_up(data, port, web_workers="1", restart_max="2", restart_window_s="120")
    try:
        database = data / "meili" / "data.ms"
        assert database.is_dir()
        database.rename(tmp_path / "moved.ms")
        database.write_text("not a Meilisearch database")
        meili = child_pid(up.pid, b"meilisearch")
        assert meili
        os.kill(meili, signal.SIGKILL)
        up.wait(60)
    finally:
        code = stop_up(up, data)
    text = log.read_text()
    assert code == 1, text[-3000:]
    assert "meilisearch exited with signal SIGKILL" in text
    assert text.count("restarting meilisearch in") == 2, text[-3000:]
    assert "meilisearch exited with exit code 1" in text
    assert "meilisearch died 3 times within 120 s: a crash loop; stopping everything" in text
    assert "stopped" in text
    assert not (data / "run" / "services.json").exists()


@pytest.mark.parametrize("store", ["embedded", "redis"])
def test_the_rate_limit_holds_across_two_web_servers_of_two_processes_each(
    settings: Settings, tmp_path, store: str
):
    """
    GIVEN two web servers of one archive, each of two processes, limited to 7 requests a minute
      per client, counting in the embedded store (a SQLite file in the data folder) or in the
      broker's Redis
    WHEN one client sends 8 requests to the JSON API, alternating between the two servers
    THEN the first 7 pass, counting down one allowance (6 … 0 left), and the 8th is 429 with
      Retry-After
    """
    shared = settings.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "broker_url": settings.broker_url if store == "redis" else None,
            "rate_limit_per_minute": 7,
            "web_workers": 2,
        }
    )
    shared.data_dir.mkdir()
    servers = [
        serve_web(shared.model_copy(update={"port": free_port()}), f"web{n}.log") for n in (1, 2)
    ]
    try:
        bases = [next(server) for server in servers]
        got = [httpx.get(f"{bases[n % 2]}/api/v1/bodies") for n in range(8)]
    finally:
        for server in servers:
            server.close()
    assert [a.status_code for a in got] == [200] * 7 + [429], [a.text[:100] for a in got]
    assert [a.headers["x-ratelimit-remaining"] for a in got] == [
        str(n) for n in range(6, -1, -1)
    ] + ["0"]
    assert 1 <= int(got[-1].headers["retry-after"]) <= 60
    if store == "embedded":
        assert (shared.data_dir / "run" / "ratelimit.sqlite3").exists()


def test_a_stopped_web_server_finishes_the_download_in_flight_and_takes_no_new_one(
    settings: Settings, tmp_path
):
    """
    GIVEN the web server as `ashyq web` runs it, and a recording whose media file is 50 MB
    WHEN a client has read the first bytes of that file and the server gets SIGTERM
    THEN new connections are refused, the download in flight is finished (every byte, its
    Content-Length), and the server finishes within its graceful time
    """
    rec = indexed_recording(settings, ["hello"], media=tone(tmp_path / "media", seconds=600))
    served = settings.model_copy(update={"port": free_port(), "web_workers": 1})
    log = tmp_path / "web.log"
    proc = subprocess.Popen(
        web_argv(served),
        env=env_for_children(served),
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{served.port}"
    try:
        wait_http(f"{base}/healthz", 60, proc)
        with httpx.stream("GET", f"{base}/media/{rec}/original", timeout=30) as answer:
            assert answer.status_code == 200
            length = int(answer.headers["content-length"])
            chunks = answer.iter_raw(65536)
            received = len(next(chunks))
            proc.send_signal(signal.SIGTERM)
            wait_until(lambda: not answers(base), 5, "new connections refused")
            for chunk in chunks:
                received += len(chunk)
        assert length > 50_000_000 and received == length
        # uvicorn ends by re-raising the signal it stopped for, once shut down cleanly
        assert proc.wait(served.web_graceful_s + 5) == -signal.SIGTERM
        assert "Finished server process" in log.read_text(), log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_when_the_rate_limit_store_fails_requests_pass(settings: Settings):
    """
    GIVEN an app limited to 2 requests a minute whose rate-limit store is a Redis that does not
      answer (nothing listens on its port)
    WHEN one client sends 4 requests
    THEN all 4 are answered (200): a broken counter does not take the archive down
    """
    from fastapi.testclient import TestClient

    from api.app import create_app

    broken = settings.model_copy(
        update={
            "rate_limit_per_minute": 2,
            "rate_limit_storage": f"redis://127.0.0.1:{free_port()}/0",
        }
    )
    with TestClient(create_app(broken)) as client:
        assert [client.get("/api/v1/bodies").status_code for _ in range(4)] == [200] * 4


def test_ashyq_web_runs_the_processes_it_is_asked_for(settings: Settings, tmp_path):
    """
    GIVEN the archive's settings WHEN `ashyq web --workers 3` runs (ASHYQ_WEB_WORKERS says 1)
    THEN it serves, with three web processes under one uvicorn
    """
    served = settings.model_copy(update={"port": free_port(), "web_workers": 1})
    log = tmp_path / "web.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "web", "--workers", "3"],
        env=env_for_children(served),
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{served.port}/healthz", 60, proc)
        wait_until(lambda: len(web_processes(proc.pid)) == 3, 20, "three web processes")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
