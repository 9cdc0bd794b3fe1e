"""A spoken clip goes in through the CLI and comes out as a searchable, playable moment."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from sqlalchemy import select

from archive.db import session_scope
from archive.models import AuditEntry, Job
from archive.settings import Settings
from search.meili.client import master_client
from tests.support.helpers import ashyq, segment_count, wait_job
from tests.support.media_factory import clip_with_word_at_known_time
from workers.services.submit import submit_file, submit_reprocess

pytestmark = pytest.mark.whisper


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return ashyq(settings, *args, timeout=300)


def index_count(settings: Settings, recording_id: int) -> int:
    result = (
        master_client(settings)
        .index(settings.meili_index)
        .search("", {"filter": f"recording_id = {recording_id}", "limit": 0})
    )
    return result["estimatedTotalHits"]


def test_ingested_clip_is_found_at_the_spoken_moment(archive, worker, web, tmp_path):
    """
    GIVEN an MP4 whose second sentence, starting at a known second, begins with "railway"
    WHEN it is ingested with `ashyq ingest --wait` and searched for "railway"
    THEN exactly that recording comes back, with the hit and the word timing within 1.5 s of
    where the word is spoken, and the recording page shows the segment
    """
    clip = clip_with_word_at_known_time(tmp_path)
    done = run(
        archive,
        "ingest",
        str(clip.path),
        "--title",
        "Committee hearing on transport",
        "--body",
        "mazhilis",
        "--date",
        "2026-03-15",
        "--wait",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "done" in done.stdout
    listed = run(archive, "status")
    assert listed.returncode == 0
    assert "succeeded" in listed.stdout and "Committee hearing" in listed.stdout

    found = httpx.get(f"{web}/api/v1/search", params={"q": "railway"}, timeout=30).json()
    assert found["total"] >= 1
    recording_ids = {hit["recording_id"] for hit in found["hits"]}
    assert len(recording_ids) == 1
    hit = found["hits"][0]
    assert hit["title"] == "Committee hearing on transport"
    assert hit["body"] == "mazhilis" and hit["date"] == "2026-03-15"
    assert "<mark>" in hit["highlight_html"].lower()
    assert abs(hit["moment"] - clip.word_at) <= 1.5, (hit["moment"], clip.word_at)

    recording = httpx.get(f"{web}/api/v1/recordings/{hit['recording_id']}", timeout=30).json()
    words = [w for seg in recording["segments"] for w in seg["words"]]
    railway = [w for w in words if "railway" in w[2].lower()]
    assert railway, words
    assert abs(railway[0][0] - clip.word_at) <= 1.5
    assert recording["languages"] == ["en"]

    page = httpx.get(f"{web}/r/{hit['recording_id']}", params={"t": int(hit["moment"])}, timeout=30)
    assert page.status_code == 200
    assert f'id="seg-{hit["segment_id"]}" class="seg current"' in page.text
    assert f"/media/{hit['recording_id']}/playable#t=" in page.text

    search_page = httpx.get(f"{web}/search", params={"q": "railway"}, timeout=30)
    assert "<mark>Railway</mark>" in search_page.text or "<mark>railway</mark>" in search_page.text
    assert f"/r/{hit['recording_id']}?t={int(hit['moment'])}" in search_page.text


def test_ingest_wait_exits_non_zero_when_the_job_fails(archive, worker, tmp_path):
    """GIVEN a text file named .mp4 WHEN `ashyq ingest --wait` THEN exit 1 with the reason; the
    submission is in the audit log, by "cli", naming the job and the file"""
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    done = run(archive, "ingest", str(fake), "--title", "X", "--body", "senat", "--wait")
    assert done.returncode == 1
    assert "not a media file" in done.stderr
    with session_scope(archive.db_url) as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "ingest")).all()
        job = session.scalars(select(Job)).one()
        assert entry.user_email == "cli" and entry.user_id is None
        assert (entry.target_type, entry.target_id) == ("job", str(job.id))
        assert entry.detail == {"file": "notes.mp4"}


def test_rerunning_the_pipeline_duplicates_nothing(archive, worker, tmp_path):
    """
    GIVEN an ingested recording
    WHEN the pipeline runs on it twice more, and the same file is ingested again
    THEN segment and document counts stay the same, and the re-upload points to the recording
    """
    clip = clip_with_word_at_known_time(tmp_path, fmt="mp3")
    first = wait_job(
        archive, submit_file(archive, clip.path, title="T", body="senat", when="2026-01-02")
    )
    assert first.state == "succeeded", first.error
    rec_id = first.recording_id
    segments, documents = segment_count(archive, rec_id), index_count(archive, rec_id)
    assert segments > 0 and documents == segments

    for _ in range(2):
        again = wait_job(archive, submit_reprocess(archive, rec_id))
        assert again.state == "succeeded", again.error
        assert segment_count(archive, rec_id) == segments
        assert index_count(archive, rec_id) == documents

    duplicate = wait_job(
        archive, submit_file(archive, clip.path, title="Copy", body="senat", when="2026-01-03")
    )
    assert duplicate.state == "succeeded"
    assert duplicate.recording_id == rec_id
    assert duplicate.error == "already in the archive"
    assert not any(archive.incoming_dir.iterdir())


def test_media_is_served_with_range_requests(archive, worker, web, tmp_path):
    """
    GIVEN an ingested WAV (browser-playable, so no rendition is made)
    WHEN the player asks for a byte range
    THEN the server answers 206 with exactly those bytes
    """
    clip = clip_with_word_at_known_time(tmp_path, fmt="wav")
    job = wait_job(
        archive, submit_file(archive, clip.path, title="Wav", body="senat", when="2026-01-02")
    )
    assert job.state == "succeeded", job.error
    response = httpx.get(
        f"{web}/media/{job.recording_id}/playable", headers={"Range": "bytes=100-199"}, timeout=30
    )
    assert response.status_code == 206
    assert response.content == clip.path.read_bytes()[100:200]
    assert response.headers["content-type"].startswith("audio/")
