"""The bulk dump: gzip JSON Lines of every public transcript with a SHA-256 manifest, served at
/api/v1/dumps/latest, made nightly by beat — and never holding a withdrawn, deleted or purged
recording: hiding one rewrites every kept dump before the staff request returns."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from archive.db import session_scope
from archive.models import Recording, utcnow
from tests.support.corpus import CORPUS, RAILWAY
from tests.support.staff import sign_in
from workers.services import dumps, publishing


@pytest.fixture(scope="module")
def admin(site, settings, staff):
    client = TestClient(create_app(settings))
    client.csrf = sign_in(client, staff.admin)
    return client


def post(client: TestClient, url: str) -> int:
    return client.post(url, data={"csrf_token": client.csrf}, follow_redirects=False).status_code


def checked(folder) -> list[dict]:
    """The dump's lines, after checking its sums, that its manifest lists exactly them and that
    no temporary file is left beside them."""
    assert sorted(p.name for p in folder.iterdir()) == [
        dumps.SUMS_FILE,
        dumps.MANIFEST,
        dumps.DATA_FILE,
    ]
    manifest = json.loads((folder / dumps.MANIFEST).read_text())
    data = (folder / dumps.DATA_FILE).read_bytes()
    [entry] = manifest["files"]
    assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    assert (folder / dumps.SUMS_FILE).read_text() == f"{entry['sha256']}  {dumps.DATA_FILE}\n"
    lines = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    assert manifest["recording_ids"] == [r["id"] for r in lines]
    assert manifest["recordings"] == len(lines)
    assert manifest["segments"] == sum(len(r["segments"]) for r in lines)
    return lines


def holding(settings, recording_id: int) -> list[str]:
    """The kept dumps whose data file holds the recording (each checked as ``checked`` does)."""
    return [
        folder.name
        for folder in dumps.list_dumps(settings)
        if recording_id in {r["id"] for r in checked(folder)}
    ]


def night(day: int) -> datetime:
    return datetime(2026, 11, day, 3, 0, tzinfo=UTC)


def test_dump_holds_every_public_transcript_and_checks_out(site, settings):
    """
    GIVEN the sample archive (15 public recordings, a withdrawn and a deleted one)
    WHEN a dump is made and fetched through /api/v1/dumps/latest
    THEN the file's SHA-256 matches the manifest and SHA256SUMS, it holds one line per public
      recording with segments and words, and no hidden recording
    """
    shutil.rmtree(settings.dumps_dir, ignore_errors=True)
    none_yet = site.get("/api/v1/dumps/latest")
    assert none_yet.status_code == 404 and none_yet.json()["error"] == "not_found"
    dumps.make_dump(settings, datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    latest = site.get("/api/v1/dumps/latest").json()
    assert latest["name"] == "20261127T030000Z"
    [entry] = latest["files"]
    data = site.get(urlsplit(entry["url"]).path)
    assert data.status_code == 200
    assert (
        hashlib.sha256(data.content).hexdigest() == entry["sha256"] == latest["files"][0]["sha256"]
    )
    assert len(data.content) == entry["bytes"]
    sums = site.get(f"/api/v1/dumps/{latest['name']}/SHA256SUMS").text
    assert sums == f"{entry['sha256']}  transcripts.jsonl.gz\n"
    lines = [json.loads(line) for line in gzip.decompress(data.content).splitlines()]
    public = [r for r in CORPUS if r.published and not r.deleted]
    assert {r["id"] for r in lines} == {r.id for r in public}
    assert latest["recordings"] == len(public)
    assert latest["segments"] == sum(len(r.lines) for r in public)
    titles = {r["title"] for r in lines}
    assert "Withdrawn" not in titles and "Deleted" not in titles
    kk = next(r for r in lines if r["id"] == CORPUS[0].id)
    assert kk["segments"][1]["text"] == CORPUS[0].lines[1][1]
    assert kk["segments"][1]["words"][0][2].strip() == "Бюджеттің"


def test_dumps_are_replaced_atomically_and_only_the_newest_kept(site, settings):
    """GIVEN dumps made on four nights WHEN listed THEN the newest three remain, newest first,
    no temporary folder is left, and an old one's files are no longer served"""
    for day in (24, 25, 26, 27):
        dumps.make_dump(settings, datetime(2026, 11, day, 3, 0, tzinfo=UTC))
    names = [p.name for p in dumps.list_dumps(settings)]
    assert names == ["20261127T030000Z", "20261126T030000Z", "20261125T030000Z"]
    assert [p.name for p in settings.dumps_dir.iterdir() if p.name.startswith(".")] == [".lock"]
    gone = site.get("/api/v1/dumps/20261124T030000Z/transcripts.jsonl.gz")
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert site.get("/api/v1/dumps/20261127T030000Z/../../ashyq.db").status_code == 404


def test_the_dump_is_scheduled_nightly(settings):
    from workers.celery_app import MAKE_DUMP, make_celery

    schedule = make_celery(settings).conf.beat_schedule
    [entry] = [e for e in schedule.values() if e["task"] == MAKE_DUMP]
    assert entry["schedule"].hour == {settings.dump_hour_utc}
    assert entry["schedule"].minute == {0}


def test_a_dump_being_written_when_a_recording_is_withdrawn_never_publishes_it(
    site, settings, monkeypatch
):
    """
    GIVEN a dump whose data file has been written with a public recording in it
    WHEN staff withdraw the recording before the dump is put in place (injected at that moment)
    THEN the dump is placed without it, and its manifest checks out
    """
    briefing = CORPUS[2].id
    shutil.rmtree(settings.dumps_dir, ignore_errors=True)
    write_index, withdrawn = dumps._write_index, []

    def withdraw_meanwhile(folder, *args):  # type: ignore[no-untyped-def]
        if not withdrawn:
            withdrawn.append(folder)
            with session_scope(settings.db_url) as session:
                publishing.withdraw(settings, session, session.get(Recording, briefing))
        write_index(folder, *args)

    monkeypatch.setattr(dumps, "_write_index", withdraw_meanwhile)
    placed = dumps.make_dump(settings, night(20))
    assert withdrawn[0].name.startswith(".tmp-")  # it struck before the dump was placed
    assert briefing not in {r["id"] for r in checked(placed)}
    with session_scope(settings.db_url) as session:
        publishing.publish(settings, session, session.get(Recording, briefing))


def test_withdrawing_rewrites_every_kept_dump_before_the_request_returns(site, settings, admin):
    """
    GIVEN three kept dumps holding a public recording, the oldest made before manifests listed
      the recordings they hold (and as one gzip stream, not one member a line)
    WHEN staff withdraw it, and later publish it again
    THEN when the withdraw request returns no kept dump holds it (data file or manifest), each
      still checks out, and the newest is byte for byte the dump made afresh without it;
      published again, it is back in the next dump
    """
    senate = CORPUS[1].id
    shutil.rmtree(settings.dumps_dir, ignore_errors=True)
    for day in (25, 26, 27):
        dumps.make_dump(settings, night(day))
    # The oldest as dumps were before: one gzip stream, no ids in the manifest.
    oldest = settings.dumps_dir / "20261125T030000Z"
    data = oldest / dumps.DATA_FILE
    data.write_bytes(gzip.compress(gzip.decompress(data.read_bytes()), mtime=0))
    legacy = json.loads((oldest / dumps.MANIFEST).read_text())
    del legacy["recording_ids"]
    (oldest / dumps.MANIFEST).write_text(json.dumps(legacy))
    assert dumps.held_ids(oldest) == {r.id for r in CORPUS if r.published and not r.deleted}
    assert all(senate in dumps.held_ids(folder) for folder in dumps.list_dumps(settings))

    assert post(admin, f"/staff/recordings/{senate}/withdraw") == 303
    assert holding(settings, senate) == []  # also checks each dump's sums and manifest
    newest = (settings.dumps_dir / "20261127T030000Z" / dumps.DATA_FILE).read_bytes()
    fresh = dumps.make_dump(settings, night(28))
    assert (fresh / dumps.DATA_FILE).read_bytes() == newest

    assert post(admin, f"/staff/recordings/{senate}/publish") == 303
    assert holding(settings, senate) == []
    dumps.make_dump(settings, night(29))
    assert holding(settings, senate) == ["20261129T030000Z"]


def test_deleting_or_purging_takes_a_recording_out_of_every_kept_dump(site, settings, admin):
    """
    GIVEN kept dumps holding two public recordings, one of them since deleted the way releases
      before this one deleted (the row only, the dumps untouched)
    WHEN an admin purges that one, and staff delete the other
    THEN after each request neither is in any kept dump
    """
    deleted, purged = RAILWAY[0].id, RAILWAY[1].id
    shutil.rmtree(settings.dumps_dir, ignore_errors=True)
    for day in (25, 26):
        dumps.make_dump(settings, night(day))
    with session_scope(settings.db_url) as session:
        session.execute(update(Recording).where(Recording.id == purged).values(deleted_at=utcnow()))
    both = ["20261126T030000Z", "20261125T030000Z"]
    assert holding(settings, purged) == holding(settings, deleted) == both

    assert post(admin, f"/staff/admin/recordings/{purged}/purge") == 303
    assert holding(settings, purged) == [] and holding(settings, deleted) == both
    assert post(admin, f"/staff/recordings/{deleted}/delete") == 303
    assert holding(settings, deleted) == []
