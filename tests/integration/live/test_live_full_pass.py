"""The full-quality pass after a live capture (``live_full_pass``), end to end: the whole file is
transcribed again with the archive's settings and replaces the live segments, in the database and
in Meilisearch, without search ever showing both transcripts of the recording, or neither.

Its own module: the worker must run with the setting on (and no other worker's watchdog may take
the capture).
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from archive.db import session_scope
from archive.models import Job, JobState, LiveState
from archive.settings import Settings
from search.meili.client import master_client
from tests.support.live_env import LiveEnv, module_live_env
from tests.support.live_source import Broadcast

pytestmark = pytest.mark.whisper

Transcript = frozenset[tuple[str, str]]  # (segment id, text)


live_env = module_live_env("live-full-pass", broker_db=2, live_give_up_s=30.0, live_full_pass=True)


class IndexWatch(threading.Thread):
    """Reads the recording's public documents straight from Meilisearch (what search filters
    on: ``published = true``), over and over, and keeps each distinct state seen — what search
    could have answered from at that moment."""

    def __init__(self, settings: Settings, recording_id: int) -> None:
        super().__init__(daemon=True)
        self.index = master_client(settings).index(settings.meili_index)
        self.recording_id = recording_id
        self.seen: list[Transcript] = []
        self.reads = 0
        self.stop = threading.Event()

    def read(self) -> Transcript:
        docs = self.index.get_documents(
            {
                "filter": f"recording_id = {self.recording_id} AND published = true",
                "limit": 10_000,
                "fields": ["id", "text"],
            }
        )
        return frozenset((d.id, d.text) for d in docs.results)

    def run(self) -> None:
        while not self.stop.is_set():
            state = self.read()
            self.reads += 1
            if not self.seen or self.seen[-1] != state:
                self.seen.append(state)
            time.sleep(0.02)


def test_the_full_pass_replaces_the_live_segments_in_one_step(
    live_env: LiveEnv, broadcast: Broadcast
) -> None:
    """
    GIVEN live capture with the full-quality pass on
    WHEN the broadcast ends and the recording is finalized
    THEN a reprocess job transcribes the whole file with the archive's model settings; after it,
    the database and Meilisearch hold exactly the same segments (ids and texts, one document per
    segment), none left from the live pass; and while it ran, the index only ever held the live
    transcript or the full one — never a mix, never nothing
    """
    env = live_env
    source = broadcast(3)  # about 17 s
    session_id = env.capture(source, body="mazhilis", title="Full pass", chunk_s=10)
    live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording")
    recording_id = live.recording_id
    env.wait_searchable("railway", recording_id, 240)
    watch = IndexWatch(env.settings, recording_id)
    source.wait_end(timeout=120)
    live = env.wait_live(
        session_id, lambda s: s.state == LiveState.ended, 600, "the recording was not finalized"
    )
    live_model = env.recording(live).transcript_model
    live_segments = frozenset((i, text) for i, _s, _e, text in env.segments(recording_id))
    first = watch.read()
    assert first == live_segments, "the finalized live transcript is not what search has"
    watch.seen.append(first)  # the full pass may swap before the thread's first read
    watch.start()

    def full_pass() -> Job | None:
        with session_scope(env.settings.db_url) as session:
            job = session.scalar(
                select(Job).where(Job.kind == "reprocess", Job.recording_id == recording_id)
            )
            if job is not None:
                session.expunge(job)
            return job

    deadline = time.monotonic() + 600
    while (job := full_pass()) is None or job.state not in (JobState.succeeded, JobState.failed):
        assert time.monotonic() < deadline, f"the full pass did not finish\n{env.log()}"
        time.sleep(0.5)
    time.sleep(0.5)
    watch.stop.set()
    watch.join()
    assert job.state == JobState.succeeded, job.error

    recording = env.recording(live)
    assert "beam1" in (live_model or "") and "beam5" in (recording.transcript_model or "")
    full_segments = frozenset((i, text) for i, _s, _e, text in env.segments(recording_id))
    indexed = watch.read()
    assert indexed == full_segments
    stats = (
        master_client(env.settings)
        .index(env.settings.meili_index)
        .get_documents({"filter": f"recording_id = {recording_id}", "limit": 0})
    )
    assert stats.total == len(full_segments)
    live_only = live_segments - full_segments
    names = {live_segments: "live", full_segments: "full"}
    print(
        f"live {len(live_segments)} segments, full pass {len(full_segments)}, "
        f"{len(live_only)} live-only; {watch.reads} reads of the index, states seen: "
        f"{[names.get(state, 'MIX') for state in watch.seen]}"
    )
    assert live_only, "the full pass gave the live transcript again: nothing was swapped"
    assert env.search("railway", recording_id) is not None
    assert watch.seen[0] == live_segments and watch.seen[-1] == full_segments
    assert frozenset() not in watch.seen, "search had no segment of the recording for a moment"
    mixed = [state for state in watch.seen if state not in (live_segments, full_segments)]
    assert not mixed, f"search saw the live and the full transcript mixed: {sorted(mixed[0])}"
