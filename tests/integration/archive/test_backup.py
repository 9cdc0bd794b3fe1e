"""``ashyq backup`` and ``ashyq restore``, run as a user runs them: a snapshot of the real
database (SQLite's online backup, or pg_dump when the suite runs on PostgreSQL) and the media
store, incremental the second time, restored into an empty data folder and database; after
``ashyq reindex`` the restored archive answers the API exactly as the original does."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, make_url, text

from api.app import create_app
from archive import backup as backups
from archive.db import session_scope
from archive.media.clip_store import ClipRecord, clips_root, lookup, register
from archive.models import Recording, Segment
from archive.settings import Settings
from search.meili.client import master_client, wait
from search.meili.indexer import sync_recording
from tests.support.factory import indexed_recording, make_speaker, tone
from tests.support.helpers import ashyq

QUERIES = ["budget", "салық кодексі", "railway", "secret", "бюджет -railway"]


def seed(settings: Settings, folder: Path) -> list[int]:
    """Two public recordings (one with a speaker), a withdrawn one, and a clip in the registry
    (the only one: the suite's clip tests leave theirs, which ``archive`` does not clear)."""
    shutil.rmtree(clips_root(settings.data_dir) / "registry", ignore_errors=True)
    ids = [
        indexed_recording(
            settings,
            ["The budget was approved.", "Railway funding follows."],
            media=tone(folder, freq=440),
            title="Budget",
        ),
        indexed_recording(
            settings,
            ["Салық кодексі талқыланды.", "Бюджет жобасы."],
            media=tone(folder, seconds=3.0, freq=550),
            title="Салық",
        ),
        indexed_recording(settings, ["A secret draft."], media=tone(folder, freq=660)),
    ]
    with session_scope(settings.db_url) as session:
        session.get(Segment, f"{ids[1]}-0").speaker = make_speaker(session, "tokayev", "Тоқаев")
        session.get(Recording, ids[2]).published = False
        session.flush()
        for recording_id in ids:
            recording = session.get(Recording, recording_id)
            session.expire(recording, ["segments"])
            sync_recording(master_client(settings), settings.meili_index, recording)
        sha = session.get(Recording, ids[0]).sha256
    register(settings.data_dir, ClipRecord("c" * 64, sha, ids[0], 0, 2000, "mp3", 1234))
    return ids


def answers(settings: Settings, ids: list[int]) -> dict[str, object]:
    """What the API says about the archive: searches, each recording and its transcript, the
    catalogues, and the original media bytes."""
    got: dict[str, object] = {}
    with TestClient(create_app(settings)) as client:
        urls = [f"/api/v1/search?q={q}" for q in QUERIES]
        urls += ["/api/v1/search?q=budget&language=en", "/api/v1/recordings"]
        urls += ["/api/v1/bodies", "/api/v1/speakers"]
        for recording_id in ids:
            urls += [f"/api/v1/recordings/{recording_id}"]
            urls += [f"/api/v1/recordings/{recording_id}/transcript"]
        for url in urls:
            response = client.get(url)
            got[url] = (response.status_code, response.json())
        for recording_id in ids:
            media = client.get(f"/media/{recording_id}/original")
            got[f"media {recording_id}"] = (media.status_code, media.content)
    return got


@pytest.fixture()
def restored_db(archive: Settings) -> Iterator[str | None]:
    """An empty database for the restore: SQLite in the new data folder (None), or a new
    PostgreSQL database beside the suite's, dropped afterwards."""
    url = make_url(archive.db_url)
    if url.get_backend_name() != "postgresql":
        yield None
        return
    name = f"{url.database}_restored"
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def test_backup_restore_reindex_answers_as_before(archive, restored_db, tmp_path):
    """
    GIVEN an archive with public and withdrawn recordings, a named speaker, originals in the
      media store and a clip in the registry
    WHEN `ashyq backup DEST` runs twice, then `ashyq restore DEST` into an empty data folder
      and database, then `ashyq reindex`
    THEN the second backup copies nothing and reads none of the files again; restoring into the
      non-empty original folder is refused with a clear message; the restored archive answers
      every search, recording, transcript and media request exactly as the original, its clip
      still verifies, and `ashyq check` finds no difference
    """
    ids = seed(archive, tmp_path / "media")
    before = answers(archive, ids)
    dest = tmp_path / "backup"

    first = ashyq(archive, "backup", str(dest), timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 file(s): 4 copied" in first.stdout  # three originals and the clip record
    copied = {p: p.stat().st_mtime_ns for p in (dest / "media").rglob("*") if p.is_file()}
    assert len(copied) == 3

    second = ashyq(archive, "backup", str(dest), timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "4 file(s): 0 copied (0.0 MiB), 4 already in the backup" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in copied} == copied
    older, newer = backups.snapshots(dest)
    assert backups.read_manifest(older)["files"] == backups.read_manifest(newer)["files"]

    refused = ashyq(archive, "restore", str(dest), timeout=60)
    assert refused.returncode == 2
    assert f"the data folder {archive.data_dir} is not empty" in refused.stderr

    restored = archive.model_copy(
        update={
            "data_dir": tmp_path / "restored",
            "database_url": restored_db,
            "meili_index": "segments_restored",
        }
    )
    put_back = ashyq(restored, "restore", str(dest), timeout=120)
    assert put_back.returncode == 0, put_back.stdout + put_back.stderr
    assert "now rebuild the search index: `ashyq reindex`" in put_back.stdout
    try:
        reindexed = ashyq(restored, "reindex", timeout=120)
        assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr
        after = answers(restored, ids)
        assert after.keys() == before.keys()
        for key, answer in before.items():
            assert after[key] == answer, key
        assert lookup(restored.data_dir, "c" * 64) == lookup(archive.data_dir, "c" * 64)
        clean = ashyq(restored, "check", "--grace", "0", timeout=120)
        assert clean.returncode == 0, clean.stdout + clean.stderr
    finally:
        client = master_client(restored)
        wait(client, client.delete_index(restored.meili_index))


def test_backup_lists_what_the_database_names_but_the_store_lacks(archive, tmp_path):
    """
    GIVEN an archive whose original was deleted from the media store
    WHEN `ashyq backup` runs
    THEN the snapshot is still made, and both the command and the manifest name the missing file
    """
    ids = seed(archive, tmp_path / "media")
    with session_scope(archive.db_url) as session:
        relative = session.get(Recording, ids[1]).original_path
    os.unlink(archive.media_dir / relative)
    done = ashyq(archive, "backup", str(tmp_path / "backup"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"the database names it: {relative}" in done.stderr
    [snapshot] = backups.snapshots(tmp_path / "backup")
    manifest = json.loads((snapshot / backups.MANIFEST).read_text())
    assert manifest["missing"] == [relative]
    assert len(manifest["files"]) == 3


def test_backup_refuses_a_folder_inside_the_archive_and_a_missing_database(archive, tmp_path):
    """
    GIVEN an archive
    WHEN `ashyq backup` is pointed inside its own data folder, or run on a data folder with no
      database (a mistyped ASHYQ_DATA_DIR on SQLite)
    THEN each is refused (exit 1) saying why, and nothing is written (no empty database made)
    """
    inside = ashyq(archive, "backup", str(archive.data_dir / "backups"), timeout=60)
    assert inside.returncode == 1 and "is inside the data folder" in inside.stderr
    assert not (archive.data_dir / "backups").exists()
    if make_url(archive.db_url).get_backend_name() != "sqlite":
        return
    elsewhere = archive.model_copy(update={"data_dir": tmp_path / "typo", "database_url": None})
    none = ashyq(elsewhere, "backup", str(tmp_path / "backup"), timeout=60)
    assert none.returncode == 1 and "no database at" in none.stderr
    assert not (tmp_path / "typo" / "ashyq.db").exists()
