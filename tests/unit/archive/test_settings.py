"""Settings refuse what would be unsafe in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from archive.settings import Settings


def test_production_refuses_a_placeholder_master_key(tmp_path):
    with pytest.raises(ValidationError, match="16"):
        Settings(environment="production", meili_master_key="changeme", data_dir=tmp_path)


def test_development_defaults_to_embedded_sqlite_under_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.db_url == f"sqlite:///{tmp_path}/ashyq.db"
    assert settings.broker_url is None


def test_sqlite_runs_in_wal_mode_after_migrations(tmp_path):
    from sqlalchemy import text

    from archive import migrate
    from archive.db import get_engine

    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings.db_url)
    with get_engine(settings.db_url).connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        tables = {row[0] for row in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert {"bodies", "recordings", "segments", "jobs", "alembic_version"} <= tables


def test_openapi_documents_the_json_api(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    schema = TestClient(create_app(Settings(data_dir=tmp_path))).get("/openapi.json").json()
    assert {"/api/v1/search", "/api/v1/recordings/{recording_id}"} <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert {
        "q",
        "page",
        "per_page",
        "sort",
        "body",
        "year",
        "language",
        "event_type",
        "speaker",
        "from",
        "to",
    } <= params


def test_transcription_threads_share_the_cores_among_concurrent_transcriptions(tmp_path):
    """
    GIVEN no thread count set
    WHEN a worker runs one or two transcriptions at once
    THEN each gets all cores or half of them (never more threads than cores); a set count wins
    """
    import os

    cores = os.cpu_count() or 1
    assert Settings(data_dir=tmp_path, worker_concurrency=1).whisper_threads == cores
    assert Settings(data_dir=tmp_path, worker_concurrency=2).whisper_threads == max(1, cores // 2)
    assert Settings(data_dir=tmp_path, whisper_cpu_threads=3).whisper_threads == 3
    assert Settings(data_dir=tmp_path, worker_concurrency=cores * 2).whisper_threads == 1


@pytest.fixture()
def environ(monkeypatch, tmp_path):
    """A process environment with no ASHYQ_ variable and no .env file: what a test sets is all
    Settings reads."""
    import os

    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("ASHYQ_")]:
        monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("kk,ru", ["kk", "ru"]),
        (" kk , ru ,, en ", ["kk", "ru", "en"]),
        ('["kk", "en"]', ["kk", "en"]),
        ("", []),
    ],
)
def test_lists_are_read_from_the_environment_as_commas_or_json(environ, tmp_path, value, parsed):
    """Both spellings work: people write commas, child processes are handed JSON."""
    environ.setenv("ASHYQ_WHISPER_LANGUAGES", value)
    environ.setenv("ASHYQ_FETCH_ALLOWED_HOSTS", value)
    settings = Settings(data_dir=tmp_path)
    assert settings.whisper_languages == settings.fetch_allowed_hosts == parsed


def test_a_child_process_sees_exactly_the_parent_s_settings(environ, tmp_path):
    """
    GIVEN settings with lists, unset values and a non-default of every kind
    WHEN a child's environment is made from them and the child reads its settings
    THEN it reads the very same settings (workers and the web server started by `ashyq up`
      and by the tests rely on it)
    """
    from archive.settings import env_for_children

    parent = Settings(
        data_dir=tmp_path / "data",
        environment="production",
        meili_master_key="k" * 32,
        whisper_languages=["kk", "en"],
        fetch_allowed_hosts=["127.0.0.2", "10.0.0.0/8"],
        port=8123,
        smtp_starttls=True,
        meili_timeout_s=2.5,
        media_url="https://media.example.org",
    )
    env = env_for_children(parent, EXTRA="1")
    assert env["EXTRA"] == "1" and "ASHYQ_DATABASE_URL" not in env  # unset stays unset
    for name, value in env.items():
        if name.startswith("ASHYQ_"):
            environ.setenv(name, value)
    assert Settings().model_dump() == parent.model_dump()


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://media.example.org/", "https://media.example.org"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("", None),
    ],
)
def test_a_media_origin_is_kept_as_a_bare_origin(tmp_path, given, origin):
    settings = Settings(data_dir=tmp_path, media_url=given)
    assert settings.media_url == origin
    assert settings.media_site_url == (origin or settings.site_url)


@pytest.mark.parametrize("given", ["ftp://media.example.org", "https://", "https://m.org/a/"])
def test_a_media_url_that_is_no_web_origin_is_refused(tmp_path, given):
    with pytest.raises(ValidationError, match="must be an origin"):
        Settings(data_dir=tmp_path, media_url=given)


def test_links_use_the_public_address_when_there_is_one(tmp_path):
    assert Settings(data_dir=tmp_path, port=8123).site_url == "http://127.0.0.1:8123"
    public = Settings(data_dir=tmp_path, public_url="https://ashyq.kz/")
    assert public.site_url == public.media_site_url == "https://ashyq.kz"


def test_the_data_dir_is_absolute_whatever_the_working_folder(environ, tmp_path):
    """Workers run with other working folders: a relative data dir must not move with them."""
    settings = Settings(data_dir="archive-data")
    assert settings.data_dir == tmp_path.resolve() / "archive-data"
    assert settings.media_dir == settings.data_dir / "media"
    assert Settings(data_dir="~/x").data_dir.is_absolute()
