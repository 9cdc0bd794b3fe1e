"""Live capture end to end: a real HLS broadcast (ffmpeg -re on 127.0.0.2), a real Celery worker
with beat (Redis), Whisper, Meilisearch and the database; the source and the worker are killed, a
page embedding the broadcast is resolved by yt-dlp, and the live page is watched in Chromium.

Each broadcast is as long as its test needs (``broadcast(count)``: the first ``count`` sentences,
about 5 s each): most tests wait for its end.

Timeouts are generous: on the shared 2-core test machine Whisper runs slower than real time.
"""

from __future__ import annotations

import itertools
import subprocess
import time

import pytest
from sqlalchemy import select

from archive.db import session_scope
from archive.models import LiveChunk, LiveGap, LiveState, Recording
from archive.settings import env_for_children
from tests.conftest import REPO, stop_group
from tests.support.live_env import LiveEnv, module_live_env
from tests.support.live_source import Broadcast
from workers.errors import PermanentError
from workers.live.connection import resolve
from workers.services.live_control import start_live

pytestmark = pytest.mark.whisper

# No test here waits for the give-up time: it only has to outlast the gap test's outage, and a
# page's broadcast after its end until yt-dlp, looking at the page again, says it is over.
GIVE_UP_S = 40.0
CHUNK_S = 5
OUTAGE_S = 10  # longer than ffmpeg's hold on an unchanged playlist (5 reloads, some seconds)


live_env = module_live_env("live-data", broker_db=1, live_give_up_s=GIVE_UP_S)


def test_a_source_lost_for_10_s_gives_one_recording_with_a_recorded_gap(
    live_env: LiveEnv, broadcast: Broadcast
) -> None:
    """
    GIVEN a live broadcast (about 21 s) being captured WHEN its encoder dies, stays down 10 s and
    comes back (a new playlist) until the end marker THEN one recording holds both parts, with one
    gap of about 10 s at the point the stream was lost, shown on the page
    """
    env = live_env
    source = broadcast(4)
    session_id = env.capture(source, body="akimat", title="Briefing", chunk_s=CHUNK_S)
    source.wait_segments(4, timeout=60)
    first_part = source.kill()
    time.sleep(OUTAGE_S)
    source.start(at=first_part)
    second_part = source.wait_end(timeout=120)
    live = env.wait_live(
        session_id, lambda s: s.state == LiveState.ended, 600, "the recording was not finalized"
    )
    assert live.end_reason == "end of stream"
    with session_scope(env.settings.db_url) as session:
        gaps = session.scalars(select(LiveGap).where(LiveGap.session_id == session_id)).all()
        recordings = session.scalars(select(Recording).where(Recording.title == "Briefing")).all()
        assert len(recordings) == 1
        session.expunge_all()
    assert len(gaps) == 1, [(g.at_s, g.lost_s) for g in gaps]
    gap = gaps[0]
    print(
        f"gap at {gap.at_s:.1f} s, {gap.lost_s:.1f} s lost; parts sent {first_part}, {second_part}"
    )
    assert OUTAGE_S - 5 <= gap.lost_s <= OUTAGE_S + 40
    assert abs(gap.at_s - first_part) <= 2.5
    recording = env.recording(live)
    assert recording.status == "ready"
    assert first_part + 2 <= recording.duration_s <= first_part + second_part + 2
    segments = env.segments(recording.id)
    assert any(start >= gap.at_s for _id, start, _end, _text in segments), segments
    page = env.client.get(f"/r/{recording.id}", params={"lang": "en"})
    assert 'class="gap"' in page.text and "Stream interrupted" in page.text


def test_killing_the_capture_worker_loses_at_most_the_chunk_in_flight_and_duplicates_nothing(
    live_env: LiveEnv, broadcast: Broadcast
) -> None:
    """
    GIVEN a capture (of a 53 s broadcast) that has transcribed two chunks WHEN the worker's whole
    process group is killed and a worker restarts THEN the capture resumes into new chunks: chunks
    done before the kill are not transcribed again, their segments are unchanged, no segment is
    duplicated or overlaps another, and the first connection lost less than one chunk of audio
    """
    env = live_env
    # 53 s: it must outlast the kill (~14 s in) and the restart, which under load took ~20 s
    # (a new worker, its model, the held tail transcribed and indexed again)
    source = broadcast(10)
    session_id = env.capture(source, body="senat", title="Hearing", chunk_s=CHUNK_S)

    def transcribed() -> list[tuple[int, str, str]]:
        with session_scope(env.settings.db_url) as session:
            rows = session.scalars(
                select(LiveChunk)
                .where(LiveChunk.session_id == session_id, LiveChunk.transcribed_at.is_not(None))
                .order_by(LiveChunk.id)
            )
            return [(c.run, c.name, c.transcribed_at.isoformat()) for c in rows]

    deadline = time.monotonic() + 240
    while len(transcribed()) < 2:
        assert time.monotonic() < deadline, f"no two chunks were transcribed\n{env.log()}"
        time.sleep(0.5)
    env.kill_worker()
    before_chunks = transcribed()
    live = env.live(session_id)
    before_segments = env.segments(live.recording_id)
    assert live.state == LiveState.capturing and before_segments

    env.start_worker()
    source.wait_end(timeout=180)
    live = env.wait_live(
        session_id, lambda s: s.state == LiveState.ended, 600, "the recording was not finalized"
    )
    assert live.attempts >= 2
    after_chunks = transcribed()
    assert after_chunks[: len(before_chunks)] == before_chunks  # not transcribed again
    with session_scope(env.settings.db_url) as session:
        pending = session.scalars(
            select(LiveChunk).where(
                LiveChunk.session_id == session_id, LiveChunk.transcribed_at.is_(None)
            )
        ).all()
    assert not pending
    assert any(run == 1 for run, _name, _at in after_chunks), "no new chunk after the restart"
    segments = env.segments(live.recording_id)
    assert segments[: len(before_segments)] == before_segments
    texts = [text for _id, _s, _e, text in segments]
    assert len(texts) == len(set(texts)), texts
    for (_a, start_a, end_a, _t), (_b, start_b, _e, _u) in itertools.pairwise(segments):
        assert start_b >= end_a - 0.05 and start_b >= start_a, segments
    with session_scope(env.settings.db_url) as session:
        gaps = session.scalars(select(LiveGap).where(LiveGap.session_id == session_id)).all()
        assert len(gaps) == 1 and gaps[0].lost_s > 0  # the worker's downtime, on the timeline
    first_run = live.runs[0]
    lost = first_run["duration_s"] - first_run["audio_s"]
    print(f"run 0: {first_run}; lost {lost:.1f} s of audio in flight")
    assert lost <= CHUNK_S + 2
    recording = env.recording(live)
    assert recording.status == "ready"


def test_a_page_embedding_a_live_playlist_is_resolved_by_yt_dlp_and_recorded(
    live_env: LiveEnv, broadcast: Broadcast
) -> None:
    """
    GIVEN a web page on 127.0.0.2 whose HTML5 <video> plays a live HLS playlist (yt-dlp's
    generic extractor; the test server is the one host the SSRF guard allows)
    WHEN it is resolved THEN yt-dlp returns the playlist's URL; WHEN the page URL is captured
    THEN the playlist is recorded and transcribed, and its end marker ends and finalizes it
    """
    env = live_env
    # Its own picture colour: no two tests' files may be equal (one recording per SHA-256).
    source = broadcast(3, color="teal")
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
    live, recording = env.finalized(session_id)
    assert live.end_reason == "end of stream"
    assert live.url == page_url and recording.source_url == page_url
    assert abs(recording.duration_s - sent) <= 2.0, (recording.duration_s, sent)
    assert env.search("hospital", recording.id) is not None


@pytest.mark.browser
def test_live_page_plays_the_recorded_part_and_its_transcript_grows(
    live_env: LiveEnv, broadcast: Broadcast, browser
):  # type: ignore[no-untyped-def]
    """
    GIVEN a capture in progress WHEN its page is open in Chromium THEN it shows LIVE, the player
    loads the recorded part (HLS), and new transcript lines appear without a reload; WHEN staff
    stop the capture THEN the page turns into the finalized recording by itself
    """
    from cli.services import free_port, wait_http, web_argv
    from workers.services.live_control import stop_live

    env = live_env
    source = broadcast()  # 84 s: staff stop it long before its end
    web_settings = env.settings.model_copy(update={"port": free_port()})
    log = env.settings.data_dir / "web.log"
    web = subprocess.Popen(
        web_argv(web_settings),
        env=env_for_children(web_settings),
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{web_settings.port}"
    page = None
    try:
        wait_http(f"{base}/healthz", 60, web)
        source.start()
        source.wait_segments(1)
        session_id = start_live(
            env.settings, source.url, body="mazhilis", title="Live page", chunk_s=CHUNK_S
        )
        live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording")
        deadline = time.monotonic() + 240
        while not env.segments(live.recording_id):
            assert time.monotonic() < deadline, f"nothing transcribed\n{env.log()}"
            time.sleep(0.5)
        page = browser.new_page()
        page.goto(f"{base}/r/{live.recording_id}")
        assert page.locator("h1 .badge.live").is_visible()
        page.wait_for_function(
            "() => document.getElementById('player').readyState >= 1", timeout=60000
        )
        shown = page.locator("#transcript li.seg").count()
        page.wait_for_function(
            f"() => document.querySelectorAll('#transcript li.seg').length > {shown}",
            timeout=240000,
        )
        stop_live(env.settings, session_id)
        page.wait_for_function(
            "() => !document.querySelector('h1 .badge.live')", timeout=600000, polling=2000
        )
        # The page turns to the archived file once the recording is ready; the session is marked
        # ended just after, in its own transaction.
        ended = env.wait_live(
            session_id, lambda s: s.state == LiveState.ended, 60, "the session never ended"
        )
        assert ended.end_reason == "stopped by staff"
        assert "/media/" in page.locator("#player").get_attribute("src")
    finally:
        if page is not None:
            page.close()
        stop_group(web)
