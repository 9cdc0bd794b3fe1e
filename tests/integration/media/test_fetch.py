"""Fetching from URLs and watched feeds, against real HTTP servers on loopback addresses."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from archive import jobs
from archive.db import session_scope
from archive.models import AuditEntry, Job, Recording, Source
from archive.settings import Settings
from tests.support.factory import make_body
from tests.support.helpers import ashyq, wait_job
from tests.support.media_factory import clip_with_word_at_known_time, ffmpeg, speak
from tests.support.webserver import Site, serve
from workers.errors import TransientError
from workers.ingest.pipeline import run_job
from workers.retry import is_transient
from workers.services.sources import add_source, poll_source, submit_url
from workers.services.submit import InvalidRequest

pytestmark = pytest.mark.whisper


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    """Media, an HLS VOD, a three-item feed and faulty URLs on 127.0.0.2 (allowed by settings)."""
    root = tmp_path_factory.mktemp("site")
    clip = clip_with_word_at_known_time(root / "src", fmt="mp4")
    (root / "clip.mp4").write_bytes(clip.path.read_bytes())
    hls = root / "hls"
    hls.mkdir()
    vod = ("-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod")
    segments = ("-hls_segment_filename", str(hls / "seg%03d.ts"))
    ffmpeg("-i", str(clip.path), "-c", "copy", *vod, *segments, str(hls / "vod.m3u8"))
    topics = ["water supply", "school buses", "road repairs", "city parks"]
    for number, topic in enumerate(topics, 1):
        wav = speak(
            f"Briefing number {number} about {topic} in the district.", root / f"{number}.wav"
        )
        ffmpeg("-i", str(wav), "-c:a", "libmp3lame", str(root / f"item{number}.mp3"))
    site = Site(root, "127.0.0.2")
    site.feed_items = [(f"guid-{n}", f"Briefing {n}", f"item{n}.mp3") for n in (1, 2, 3)]
    server = serve(site)
    yield site
    server.shutdown()


@pytest.fixture()
def forbidden_target() -> Iterator[Site]:
    """A server on 127.0.0.1 (not allowed): the SSRF tests check it is never connected to."""
    target = Site(Path("/nonexistent"), "127.0.0.1")
    server = serve(target)
    yield target
    server.shutdown()


def _ashyq_fetch(archive: Settings, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``ashyq fetch ARGS`` run as a user runs it, in a process of its own."""
    return ashyq(archive, "fetch", *args, timeout=timeout)


def recordings(settings: Settings) -> list[Recording]:
    with session_scope(settings.db_url) as session:
        rows = list(session.scalars(select(Recording).order_by(Recording.id)))
        session.expunge_all()
        return rows


def test_cli_fetches_a_media_link_with_metadata_and_poster(archive, worker, site):
    """
    GIVEN an MP4 link WHEN `ashyq fetch URL --body … --wait` THEN it becomes a searchable recording
    with the source URL, yt-dlp's title, and a poster frame
    """
    done = _ashyq_fetch(archive, f"{site.base}/clip.mp4", "--body", "akimat", "--wait", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (rec,) = recordings(archive)
    assert rec.source_url == f"{site.base}/clip.mp4"
    assert rec.title == "clip" and rec.has_video
    assert rec.poster_path and (archive.media_dir / rec.poster_path).stat().st_size > 0
    assert (archive.media_dir / rec.original_path).read_bytes() == (
        site.root / "clip.mp4"
    ).read_bytes()
    assert not list(archive.work_dir.glob("fetch-*"))


def test_api_fetch_hls_vod_staff_values_win(archive, worker, web, site, staff_token):
    """
    GIVEN an HLS VOD playlist WHEN staff post it with a title and date THEN those win over the
    source's, and the recording plays; without the staff token the API refuses; an editor may not
    name a body that does not exist (only admins make bodies); the fetch is in the audit log
    """
    url = f"{site.base}/hls/vod.m3u8"
    refused = httpx.post(f"{web}/api/v1/recordings/fetch", json={"url": url, "body": "senat"})
    assert refused.status_code == 401
    editor = {"Authorization": f"Bearer {staff_token}"}
    fetch = {"url": url, "body": "senat", "title": "Senate session", "date": "2026-04-02"}
    unknown = httpx.post(f"{web}/api/v1/recordings/fetch", json=fetch, headers=editor)
    assert unknown.status_code == 400 and "no body 'senat'" in unknown.json()["detail"]
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        make_body(session, "senat")
    answer = httpx.post(f"{web}/api/v1/recordings/fetch", json=fetch, headers=editor)
    assert answer.status_code == 202, answer.text
    with session_scope(archive.db_url) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "fetch"))
        assert entry.target_id == str(answer.json()["job_id"]) and entry.user_id is not None
    job = wait_job(archive, answer.json()["job_id"])
    assert job.state == "succeeded", job.error
    (rec,) = recordings(archive)
    assert rec.title == "Senate session" and rec.recorded_on.isoformat() == "2026-04-02"
    assert 9 < rec.duration_s < 14
    found = httpx.get(f"{web}/api/v1/search", params={"q": "railway"}).json()
    assert found["hits"][0]["recording_id"] == rec.id


def test_watched_feed_fetches_each_item_once(archive, worker, site):
    """
    GIVEN a feed with three enclosures WHEN it is watched and polled twice THEN exactly three
    recordings; a fourth item appears THEN the next poll fetches just that one
    """
    source_id = add_source(archive, f"{site.base}/feed.xml", body="akimat", every_s=60)
    first = poll_source(archive, source_id)
    assert len(first) == 3
    assert poll_source(archive, source_id) == []
    for job_id in first:
        assert wait_job(archive, job_id).state == "succeeded"
    assert len(recordings(archive)) == 3
    assert {r.title for r in recordings(archive)} == {"Briefing 1", "Briefing 2", "Briefing 3"}
    assert {r.recorded_on.isoformat() for r in recordings(archive)} == {"2026-03-02"}

    site.feed_items.append(("guid-4", "Briefing 4", "item4.mp3"))
    try:
        fourth = poll_source(archive, source_id)
        assert len(fourth) == 1
        assert wait_job(archive, fourth[0]).state == "succeeded"
    finally:
        site.feed_items.pop()
    assert len(recordings(archive)) == 4
    with session_scope(archive.db_url) as session:
        source = session.get(Source, source_id)
        assert source.items_seen == 4 and source.last_error is None


def test_a_failing_source_backs_off_and_shows_its_error(archive, site):
    source_id = add_source(archive, f"{site.base}/missing.mp4", body="akimat", every_s=60)
    assert poll_source(archive, source_id) == []
    with session_scope(archive.db_url) as session:
        source = session.get(Source, source_id)
        assert "404" in source.last_error and source.failures == 1
        waited = (source.next_poll_at - source.last_polled_at).total_seconds()
        assert waited == pytest.approx(120, abs=1)


@pytest.mark.parametrize(
    ("path", "message"),
    [("missing.mp4", "HTTP 404"), ("page.html", "no media found")],
)
def test_permanent_errors_fail_at_once_and_leave_nothing(archive, worker, site, path, message):
    job = wait_job(archive, submit_url(archive, f"{site.base}/{path}", body="akimat"))
    assert job.state == "failed" and message in job.error
    assert job.attempts == 1
    assert recordings(archive) == []
    assert not list(archive.work_dir.glob("fetch-*"))


def _unsent_job(settings: Settings, url: str) -> int:
    """A fetch job row the worker never hears of, to run in this process."""
    with session_scope(settings.db_url) as session:
        params = {"url": url, "body": "akimat", "title": None, "date": None}
        return jobs.create_job(session, "fetch", params).id


def test_server_errors_are_transient(archive, site):
    job_id = _unsent_job(archive, f"{site.base}/error.mp4")
    with pytest.raises(TransientError) as raised:
        run_job(job_id, archive)
    assert is_transient(raised.value) and "503" in str(raised.value)
    with session_scope(archive.db_url) as session:
        assert session.get(Job, job_id).state == "running"  # the task schedules the retry


def test_a_dropped_connection_resumes_the_download(archive, worker, site):
    site.flaky_failures, site.flaky_after, site.ranges[:] = 1, 2, []  # after 2 sniffs
    job = wait_job(archive, submit_url(archive, f"{site.base}/flaky/clip.mp4", body="akimat"))
    assert job.state == "succeeded", job.error
    (rec,) = recordings(archive)
    assert (archive.media_dir / rec.original_path).read_bytes() == (
        site.root / "clip.mp4"
    ).read_bytes()
    resumed = [
        r for r in site.ranges if r.startswith("flaky/") and "bytes=" in r and "bytes=0-" not in r
    ]
    assert resumed, site.ranges


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ({"fetch_max_bytes": 10_000}, "maximum size"),
        ({"fetch_max_duration_s": 3}, "maximum of 3 s"),
    ],
)
def test_limits_stop_the_download_clearly(archive, site, model_dir, limit, message):
    job_id = _unsent_job(archive, f"{site.base}/clip.mp4")
    run_job(job_id, archive.model_copy(update=limit))
    with session_scope(archive.db_url) as session:
        job = session.get(Job, job_id)
        assert job.state == "failed" and message in job.error
        assert session.scalar(select(func.count()).select_from(Recording)) == 0
    assert not list(archive.work_dir.glob("fetch-*"))


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.2/clip.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/video.mp4",
        "http://[::1]/video.mp4",
    ],
)
def test_ssrf_targets_are_refused_before_queueing(archive, url):
    with pytest.raises(InvalidRequest):
        submit_url(archive, url, body="akimat")
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_loopback_without_allowlist_is_refused_by_cli_and_api(
    archive, web, forbidden_target, staff_token
):
    url = f"{forbidden_target.base}/clip.mp4"
    done = _ashyq_fetch(archive, url, "--body", "akimat", timeout=60)
    assert done.returncode == 2 and "127.0.0.1" in done.stderr
    answer = httpx.post(
        f"{web}/api/v1/recordings/fetch",
        json={"url": url, "body": "akimat"},
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert answer.status_code == 400 and "loopback" in answer.json()["detail"]
    assert forbidden_target.connections == 0


def test_a_redirect_to_loopback_never_connects(archive, worker, site, forbidden_target):
    site.redirect_to = f"{forbidden_target.base}/clip.mp4"
    job = wait_job(archive, submit_url(archive, f"{site.base}/redirect.mp4", body="akimat"))
    assert job.state == "failed" and "refused a connection to 127.0.0.1" in job.error
    assert forbidden_target.connections == 0


def test_fetching_a_feed_url_queues_one_job_per_item(archive, worker, site):
    """GIVEN a feed URL given to fetch (not watched) THEN each enclosure becomes a recording"""
    job = wait_job(archive, submit_url(archive, f"{site.base}/feed.xml", body="akimat"))
    assert job.state == "succeeded" and job.error == "queued 3 item(s); 0 already fetched"
    with session_scope(archive.db_url) as session:
        children = [j.id for j in session.scalars(select(Job).where(Job.id != job.id))]
    assert len(children) == 3
    for child in children:
        assert wait_job(archive, child).state == "succeeded"
    again = wait_job(archive, submit_url(archive, f"{site.base}/feed.xml", body="akimat"))
    assert again.error == "queued 0 item(s); 3 already fetched"
    assert len(recordings(archive)) == 3


def test_a_new_source_reaches_back_only_so_far_and_beat_finds_it_due(
    archive, worker, site, web, staff_token
):
    """
    GIVEN a source limited to 2 old items WHEN it is first polled THEN 2 items are fetched;
    beat's due list holds it until polled; sources are listed over the API and in /healthz
    """
    from workers.services.sources import due_sources

    headers = {"Authorization": f"Bearer {staff_token}"}
    with session_scope(archive.db_url) as session:
        make_body(session, "akimat")  # an editor names bodies an admin made
    made = httpx.post(
        f"{web}/api/v1/sources",
        json={"url": f"{site.base}/feed.xml", "body": "akimat", "every_s": 600, "max_items": 2},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    source_id = made.json()["id"]
    assert source_id in due_sources(archive)
    queued = poll_source(archive, source_id)
    assert len(queued) == 2 and source_id not in due_sources(archive)
    for job_id in queued:
        assert wait_job(archive, job_id).state == "succeeded"
    listed = httpx.get(f"{web}/api/v1/sources", headers=headers).json()
    assert listed[0]["items_seen"] == 2 and listed[0]["last_polled_at"]
    health = httpx.get(f"{web}/healthz").json()
    assert health["sources"][0]["url"].endswith("/feed.xml")
    assert httpx.get(f"{web}/api/v1/sources").status_code == 401
