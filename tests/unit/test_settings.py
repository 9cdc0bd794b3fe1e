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
    assert {"q", "page", "per_page", "sort", "body", "year", "language", "event_type", "speaker",
            "from", "to"} <= params  # fmt: skip


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
