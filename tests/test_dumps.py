"""The bulk dump: gzip JSON Lines of every public transcript with a SHA-256 manifest, served at
/api/v1/dumps/latest, made nightly by beat — and never holding a withdrawn or deleted recording."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from tests.corpus import CORPUS, corpus_site
from workers import dumps


@pytest.fixture(scope="module")
def site(settings):
    with corpus_site(settings) as client:
        yield client


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
    assert not [p for p in settings.dumps_dir.iterdir() if p.name.startswith(".")]
    gone = site.get("/api/v1/dumps/20261124T030000Z/transcripts.jsonl.gz")
    assert gone.status_code == 404 and gone.json()["error"] == "not_found"
    assert site.get("/api/v1/dumps/20261127T030000Z/../../ashyq.db").status_code == 404


def test_the_dump_is_scheduled_nightly(settings):
    from workers.celery_app import MAKE_DUMP, make_celery

    schedule = make_celery(settings).conf.beat_schedule
    [entry] = [e for e in schedule.values() if e["task"] == MAKE_DUMP]
    assert entry["schedule"].hour == {settings.dump_hour_utc}
    assert entry["schedule"].minute == {0}
