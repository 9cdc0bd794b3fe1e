"""Live capture from the other kinds of source, and the limits of a capture, end to end: an HLS
broadcast whose encoder dies for good (the give-up time), an RTMP broadcast (ffmpeg serving RTMP
itself), an RTSP broadcast (ffmpeg publishing to an RTSP server, npm's rtsp-streaming-server:
ffmpeg cannot serve RTSP to a client), the maximum duration, and a capture scheduled ahead that
the watchdog (Celery beat) starts. (A web page yt-dlp resolves to a live playlist: test_live.py,
whose give-up time outlasts yt-dlp looking at the page again after the broadcast's end.)

Real ffmpeg, Whisper base, Meilisearch, Redis and database, as in
``tests/integration/live/test_live.py``. The broadcasts are short (three or four sentences,
17-22 s) and the give-up time too: most tests here wait for a broadcast's end, then give up.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.db import session_scope
from archive.media.storage import sha256_file
from archive.models import LiveGap, LiveSession, LiveState
from tests.support.live_env import LiveEnv, module_live_env
from tests.support.live_source import Broadcast, RtmpSource, RtspSource, Speech
from workers.services.live_control import start_live

pytestmark = pytest.mark.whisper

# An RTMP server closes the connection at the end exactly as when it dies: only silence ends it.
# It must outlast a reconnection (the backoff is at most 4 s here, ``live_env``).
GIVE_UP_S = 8.0
CHUNK_S = 10
# The API allows no less than 60 s (a floor for people scheduling captures); the capture's own
# rule is the same for any maximum, so the scheduled test writes a shorter one into its row.
MAX_S = 20
AHEAD_S = 6  # how far ahead the scheduled capture is set
# Picture colours no other test's broadcast of the same speech has (one recording per SHA-256).
COLORS = itertools.cycle(("maroon", "olive", "purple"))


live_env = module_live_env("live-sources", broker_db=2, live_give_up_s=GIVE_UP_S)


@pytest.fixture()
def speech(speeches: Callable[[int], Speech]) -> Speech:
    """Three sentences (railway…, reservoir… the minister said, hospital…), about 17 s."""
    return speeches(3)


def test_a_word_is_searchable_while_live_and_a_dead_source_ends_in_a_finalized_file(
    live_env: LiveEnv, broadcast: Broadcast
) -> None:
    """
    GIVEN a live HLS broadcast that says "railway" in its first seconds
    WHEN it is captured THEN "railway" is searchable (LIVE) while the playlist still grows, the
    page shows LIVE with the recorded part and the growing transcript;
    WHEN the source is then killed for good THEN the capture ends within the give-up timeout and
    the recording is a normal one: hashed .ts original whose duration matches what was sent (±2 s)
    """
    env = live_env
    source = broadcast(color=next(COLORS))  # 84 s: it is killed long before its end
    session_id = env.capture(source, body="mazhilis", title="Live plenary", chunk_s=CHUNK_S)
    live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording was created")
    recording_id = live.recording_id
    began = time.monotonic()
    group = None
    while group is None:
        assert time.monotonic() - began < 240, f"'railway' never became searchable\n{env.log()}"
        group = env.search("railway", recording_id)
        time.sleep(1)
    latency = time.monotonic() - began
    assert source.running() and not source.playlist().ended, "the stream had already ended"
    assert group["live"] is True
    print(f"'railway' searchable {latency:.1f} s after the capture started")

    page = env.client.get(f"/r/{recording_id}")
    assert page.status_code == 200
    assert 'class="badge live"' in page.text
    assert f'src="/live/{recording_id}/index.m3u8"' in page.text
    assert "Railway" in page.text or "railway" in page.text.lower()
    playlist = env.client.get(f"/live/{recording_id}/index.m3u8")
    assert playlist.status_code == 200 and "#EXTINF" in playlist.text
    assert "#EXT-X-ENDLIST" not in playlist.text
    first = next(line for line in playlist.text.splitlines() if line.startswith("/live/"))
    assert env.client.get(first).status_code == 200
    growing = env.client.get(f"/r/{recording_id}/live.json", params={"after": -1}).json()
    assert growing["status"] == "live" and growing["segments"]
    search_page = env.client.get("/search", params={"q": "railway"})
    assert 'class="badge live"' in search_page.text

    sent = source.kill()
    killed = time.monotonic()
    live = env.wait_live(
        session_id,
        lambda s: s.end_reason is not None,
        GIVE_UP_S + 60,
        "capture did not end after the source died",
    )
    ended_after = time.monotonic() - killed
    live = env.wait_live(
        session_id, lambda s: s.state == LiveState.ended, 600, "the recording was not finalized"
    )
    print(f"capture ended {ended_after:.1f} s after the source died; {sent:.1f} s sent")
    assert ended_after <= GIVE_UP_S + 30
    assert live.end_reason and "no data" in live.end_reason

    recording = env.recording(live)
    assert recording.status == "ready"
    assert recording.original_path.endswith(".ts")
    original = env.settings.media_dir / recording.original_path
    assert sha256_file(original) == recording.sha256
    assert abs(recording.duration_s - sent) <= 2.0, (recording.duration_s, sent)
    assert (env.settings.media_dir / recording.playable_path).suffix == ".mp4"
    after = env.search("railway", recording_id)
    assert after is not None and after["live"] is False
    assert env.client.get(f"/media/{recording_id}/playable").status_code == 200
    assert not (env.settings.data_dir / "live" / str(session_id)).exists()


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
    live, recording = env.finalized(session_id)
    assert live.end_reason == f"no data for {GIVE_UP_S:.0f} s"
    assert abs(recording.duration_s - speech.duration_s) <= 2.0, (
        recording.duration_s,
        speech.duration_s,
    )
    assert recording.has_video
    assert env.search("railway", recording.id) is not None


def test_an_rtsp_broadcast_is_recorded_transcribed_and_finalized(
    live_env: LiveEnv, speeches: Callable[[int], Speech], tmp_path: Path
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
    # Four sentences (~22 s) in 5 s chunks: "hospital" (~10 s in) is emitted with the chunk that
    # closes at 15 s, well before the broadcast ends.
    speech = speeches(4)
    source = RtspSource(speech, tmp_path / "rtsp")
    try:
        source.start()
        session_id = start_live(
            env.settings, source.url, body="mazhilis", title="RTSP plenary", chunk_s=5
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
    live, recording = env.finalized(session_id)
    assert live.end_reason == f"no data for {GIVE_UP_S:.0f} s"
    assert live.runs[0]["duration_s"] == 0, "the first connection (over TCP) was not refused"
    assert abs(recording.duration_s - sent) <= 2.0, (recording.duration_s, sent)
    assert recording.has_video
    assert env.search("minister", recording.id) is not None  # said ~8 s in
    with session_scope(env.settings.db_url) as session:
        gaps = session.scalars(select(LiveGap).where(LiveGap.session_id == session_id)).all()
        assert gaps == [], "the refused connection left a gap on the timeline"


def test_a_capture_scheduled_ahead_starts_at_its_time_and_ends_at_its_maximum_duration(
    live_env: LiveEnv, broadcast: Broadcast
) -> None:
    """
    GIVEN a broadcast on air, longer than the maximum duration (20 s, written into the session's
    row: the API asks for 60 s at least), and a capture of it scheduled 6 s ahead with that maximum
    WHEN its time comes THEN beat's watchdog starts it (not before, a few seconds after at
    most), what is said becomes searchable, the capture ends by itself saying the maximum was
    reached while the source still runs, and the finalized recording lasts the maximum (±2 s)
    plus what the playlist held from before the capture started
    """
    env = live_env
    source = broadcast(color=next(COLORS))
    # the capture joins ~10 s in (segments, 6 s ahead, the watchdog) and records MAX_S
    assert source.speech.duration_s > MAX_S + 20
    on_air = datetime.now(UTC)
    source.start()
    source.wait_segments(1)
    starts_at = datetime.now(UTC) + timedelta(seconds=AHEAD_S)
    session_id = start_live(
        env.settings,
        source.url,
        body="mazhilis",
        title="Scheduled plenary",
        chunk_s=CHUNK_S,
        starts_at=starts_at,
        max_duration_s=60,
    )
    with session_scope(env.settings.db_url) as session:
        session.get(LiveSession, session_id).max_duration_s = MAX_S
    time.sleep(AHEAD_S / 2)
    waiting = env.live(session_id)
    assert waiting.state == LiveState.scheduled and waiting.recording_id is None
    live = env.wait_live(session_id, lambda s: s.started_at is not None, 30, "not started")
    late = (live.started_at.replace(tzinfo=UTC) - starts_at).total_seconds()
    print(f"started {late:.1f} s after its time")
    assert 0 <= late <= env.settings.live_watchdog_s + 3
    live = env.wait_live(session_id, lambda s: s.recording_id, 30, "no recording")
    env.wait_searchable("flooding", live.recording_id, 120)  # said ~18 s in
    live = env.wait_live(
        session_id, lambda s: s.end_reason is not None, MAX_S + 60, "the capture did not end"
    )
    assert source.running(), "the source ended first"
    source.kill()
    assert live.end_reason == "maximum duration reached"
    live, recording = env.finalized(session_id)
    # The maximum is wall time from the capture's start; a first connection records the source's
    # playlist from its beginning, so what was on air before the start is in the recording too.
    backlog = (live.started_at.replace(tzinfo=UTC) - on_air).total_seconds()
    print(
        f"maximum {MAX_S} s, {backlog:.1f} s on air before; recording {recording.duration_s:.1f} s"
    )
    assert MAX_S - 2 <= recording.duration_s <= MAX_S + backlog + 2, recording.duration_s
