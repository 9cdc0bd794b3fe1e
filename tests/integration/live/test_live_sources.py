"""Live capture from the other kinds of source, and the limits of a capture, end to end: an RTMP
broadcast (ffmpeg serving RTMP itself), an RTSP broadcast (ffmpeg publishing to an RTSP server,
npm's rtsp-streaming-server: ffmpeg cannot serve RTSP to a client), a web page yt-dlp resolves to
a live playlist, the maximum duration, and a capture scheduled ahead that the watchdog (Celery
beat) starts.

Real ffmpeg, Whisper base, Meilisearch, Redis and database, as in
``tests/integration/live/test_live.py``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.db import session_scope
from archive.media.storage import sha256_file
from archive.models import LiveGap, LiveSession, LiveState, Recording
from archive.settings import Settings
from tests.support.live_env import LiveEnv
from tests.support.live_env import live_env as build_live_env
from tests.support.live_source import LiveSource, RtmpSource, RtspSource, Speech, make_speech
from workers.errors import PermanentError
from workers.live.connection import resolve
from workers.services.live_control import start_live

pytestmark = pytest.mark.whisper

# An RTMP server closes the connection at the end exactly as when it dies: only silence ends it.
GIVE_UP_S = 15.0
CHUNK_S = 10
MAX_S = 60  # the shortest maximum the API allows
COLORS = itertools.cycle(("maroon", "teal", "olive", "purple"))


@pytest.fixture(scope="module")
def live_env(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnv]:
    yield from build_live_env(
        settings,
        tmp_path_factory.mktemp("live-sources"),
        broker_db=2,
        index="segments_live_sources",
        live_give_up_s=GIVE_UP_S,
    )


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    """Six sentences, about 32 s."""
    return make_speech(tmp_path_factory.mktemp("speech"), count=6)


@pytest.fixture()
def source(speech: Speech, tmp_path: Path) -> Iterator[LiveSource]:
    """A broadcast of the speech with its own picture colour, so no two tests' files are equal."""
    src = LiveSource(speech, tmp_path / "source", color=next(COLORS))
    yield src
    src.close()


def _finalized(env: LiveEnv, session_id: int) -> tuple[LiveSession, Recording]:
    live = env.wait_live(
        session_id,
        lambda s: s.state in (LiveState.ended, LiveState.failed),
        600,
        "the recording was not finalized",
    )
    assert live.state == LiveState.ended, live.error
    recording = env.recording(live)
    assert recording.status == "ready"
    assert recording.original_path.endswith(".ts")
    assert sha256_file(env.settings.media_dir / recording.original_path) == recording.sha256
    return live, recording


def test_an_rtmp_broadcast_is_recorded_transcribed_and_finalized(
    live_env: LiveEnv, speech: Speech, tmp_path: Path
) -> None:
    """
    GIVEN an RTMP broadcast (ffmpeg serving rtmp:// on 127.0.0.2) that says "railway" first
    WHEN it is captured THEN "railway" becomes searchable while it is live; WHEN the broadcast
    ends (the server closes the connection, as RTMP does) THEN the capture ends after the
    give-up time and the recording is a hashed .ts whose duration matches what was sent (±2 s)
    """
    env = live_env
    source = RtmpSource(speech, tmp_path / "rtmp")
    source.start()
    try:
        session_id = start_live(
            env.settings, source.url, body="mazhilis", title="RTMP plenary", chunk_s=CHUNK_S
        )
        live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording")
        group = env.wait_searchable("railway", live.recording_id, 240)
        assert group["live"] is True
        source.wait_end(timeout=120)
    finally:
        source.close()
    live, recording = _finalized(env, session_id)
    assert live.end_reason == f"no data for {GIVE_UP_S:.0f} s"
    assert abs(recording.duration_s - speech.duration_s) <= 2.0, (
        recording.duration_s,
        speech.duration_s,
    )
    assert recording.has_video
    assert env.search("railway", recording.id) is not None


def test_an_rtsp_broadcast_is_recorded_transcribed_and_finalized(
    live_env: LiveEnv, speech: Speech, tmp_path: Path
) -> None:
    """
    GIVEN an RTSP broadcast on 127.0.0.2 (ffmpeg publishing to an RTSP server that relays RTP
    over UDP only, as some cameras and servers do)
    WHEN it is captured THEN the capture, refused TCP, reads it over UDP (the refusal leaves no
    gap) and "hospital" becomes searchable while it is live; WHEN the encoder stops THEN the
    capture ends after the give-up time and the recording is a hashed .ts whose duration matches
    what the server sent it (±2 s: the broadcast from when the capture joined)
    """
    env = live_env
    source = RtspSource(speech, tmp_path / "rtsp")
    try:
        source.start()
        session_id = start_live(
            env.settings, source.url, body="mazhilis", title="RTSP plenary", chunk_s=CHUNK_S
        )
        joined = source.wait_played(60) - source.recorded_at
        print(f"the capture joined the broadcast {joined:.1f} s after it began")
        assert joined < speech.word_at["hospital"], "the capture joined too late"
        live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording")
        group = env.wait_searchable("hospital", live.recording_id, 240)
        assert group["live"] is True
        sent = source.wait_end(timeout=120)
    finally:
        source.close()
    live, recording = _finalized(env, session_id)
    assert live.end_reason == f"no data for {GIVE_UP_S:.0f} s"
    assert live.runs[0]["duration_s"] == 0, "the first connection (over TCP) was not refused"
    assert abs(recording.duration_s - sent) <= 2.0, (recording.duration_s, sent)
    assert recording.has_video
    assert env.search("library", recording.id) is not None
    with session_scope(env.settings.db_url) as session:
        gaps = session.scalars(select(LiveGap).where(LiveGap.session_id == session_id)).all()
        assert gaps == [], "the refused connection left a gap on the timeline"


def test_a_page_embedding_a_live_playlist_is_resolved_by_yt_dlp_and_recorded(
    live_env: LiveEnv, source: LiveSource
) -> None:
    """
    GIVEN a web page on 127.0.0.2 whose HTML5 <video> plays a live HLS playlist (yt-dlp's
    generic extractor; the test server is the one host the SSRF guard allows)
    WHEN it is resolved THEN yt-dlp returns the playlist's URL; WHEN the page URL is captured
    THEN the playlist is recorded and transcribed, and its end marker ends and finalizes it
    """
    env = live_env
    page = source.folder / "plenary.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>Plenary, live</title></head><body>"
        '<video controls><source src="live.m3u8" type="application/x-mpegURL"></video>'
        "</body></html>"
    )
    page_url = f"{source.site.base}/plenary.html"
    source.start()
    source.wait_segments(1)
    assert resolve(env.settings, page_url) == (source.url, None)
    refused = env.settings.model_copy(update={"fetch_allowed_hosts": []})
    with pytest.raises(PermanentError, match=r"127\.0\.0\.2"):
        resolve(refused, page_url)

    session_id = start_live(
        env.settings, page_url, body="akimat", title="Page broadcast", chunk_s=CHUNK_S
    )
    live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording")
    env.wait_searchable("railway", live.recording_id, 240)
    sent = source.wait_end(timeout=120)
    live, recording = _finalized(env, session_id)
    assert live.end_reason == "end of stream"
    assert live.url == page_url and recording.source_url == page_url
    assert abs(recording.duration_s - sent) <= 2.0, (recording.duration_s, sent)
    assert env.search("hospital", recording.id) is not None


def test_a_capture_scheduled_ahead_starts_at_its_time_and_ends_at_its_maximum_duration(
    live_env: LiveEnv, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """
    GIVEN a broadcast on air, longer than the maximum duration (60 s, the least allowed), and a
    capture of it scheduled 8 s ahead with that maximum
    WHEN its time comes THEN beat's watchdog starts it (not before, a few seconds after at
    most), what is said becomes searchable, the capture ends by itself saying the maximum was
    reached while the source still runs, and the finalized recording lasts the maximum (±2 s)
    plus what the playlist held from before the capture started
    """
    env = live_env
    long_speech = make_speech(tmp_path_factory.mktemp("long-speech"))
    # the capture joins ~12 s in (segments, 8 s ahead, the watchdog) and records MAX_S
    assert long_speech.duration_s > MAX_S + 20
    source = LiveSource(long_speech, tmp_path / "source")
    try:
        on_air = datetime.now(UTC)
        source.start()
        source.wait_segments(1)
        starts_at = datetime.now(UTC) + timedelta(seconds=8)
        session_id = start_live(
            env.settings,
            source.url,
            body="mazhilis",
            title="Scheduled plenary",
            chunk_s=CHUNK_S,
            starts_at=starts_at,
            max_duration_s=MAX_S,
        )
        time.sleep(4)
        waiting = env.live(session_id)
        assert waiting.state == LiveState.scheduled and waiting.recording_id is None
        live = env.wait_live(session_id, lambda s: s.started_at is not None, 30, "not started")
        late = (live.started_at.replace(tzinfo=UTC) - starts_at).total_seconds()
        print(f"started {late:.1f} s after its time")
        assert 0 <= late <= env.settings.live_watchdog_s + 3
        live = env.wait_live(session_id, lambda s: s.recording_id, 30, "no recording")
        env.wait_searchable("library", live.recording_id, 120)  # said ~25 s in
        live = env.wait_live(
            session_id, lambda s: s.end_reason is not None, MAX_S + 60, "the capture did not end"
        )
        assert source.running(), "the source ended first"
    finally:
        source.close()
    assert live.end_reason == "maximum duration reached"
    live, recording = _finalized(env, session_id)
    # The maximum is wall time from the capture's start; a first connection records the source's
    # playlist from its beginning, so what was on air before the start is in the recording too.
    backlog = (live.started_at.replace(tzinfo=UTC) - on_air).total_seconds()
    print(
        f"maximum {MAX_S} s, {backlog:.1f} s on air before; recording {recording.duration_s:.1f} s"
    )
    assert MAX_S - 2 <= recording.duration_s <= MAX_S + backlog + 2, recording.duration_s
