"""Long recordings: chunked on pauses, checkpointed, resumed after the worker is killed."""

from __future__ import annotations

import difflib
import itertools
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis

from archive.settings import env_for_children
from tests.conftest import REPO, stop_group, worker_argv
from tests.support.helpers import wait_job
from tests.support.media_factory import ffmpeg, speak
from workers.asr.chunking import plan, silences, transcribe_in_chunks
from workers.asr.transcribe import FasterWhisperEngine
from workers.services.submit import submit_file

pytestmark = pytest.mark.whisper

SENTENCES = [
    "The committee opened the hearing on the regional water supply.",
    "The deputy minister reported on pipes, pumps and treatment plants.",
    "Members asked when the villages in the north would get clean water.",
    "The answer was that the first stage would be finished next year.",
    "A second speaker described the cost of the new reservoir near the city.",
    "The budget for maintenance will grow by twelve percent.",
    "Farmers asked for water for irrigation during the summer months.",
    "The akimat promised a public report every quarter.",
    "Journalists asked about delays on the eastern pipeline.",
    "The hearing closed with a vote on the recommendations.",
]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """About 50 s of speech with a 1.2 s pause after every sentence."""
    folder = tmp_path_factory.mktemp("long")
    parts = [speak(text, folder / f"{i}.wav") for i, text in enumerate(SENTENCES)]
    inputs = [arg for part in parts for arg in ("-i", str(part))]
    chain = "".join(f"[{i}:a]apad=pad_dur=1.2[p{i}];" for i in range(len(parts)))
    chain += "".join(f"[p{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1"
    out = folder / "hearing.wav"
    ffmpeg(*inputs, "-filter_complex", chain, "-ar", "16000", "-ac", "1", str(out))
    return out


@pytest.fixture(scope="module")
def engine(model_dir: str) -> FasterWhisperEngine:
    return FasterWhisperEngine(model_path=model_dir, cpu_threads=2, languages=("kk", "ru", "en"))


def text_of(segments) -> str:
    return " ".join(seg.text.strip() for seg in segments)


def similarity(a, b) -> float:
    """Word-level similarity of two transcripts, case and punctuation aside."""
    words = [re.findall(r"\w+", text_of(x).lower()) for x in (a, b)]
    return difflib.SequenceMatcher(None, *words, autojunk=False).ratio()


def assert_clean(segments) -> None:
    starts = [(s.start, s.end) for s in segments]
    assert starts == sorted(starts)
    for before, after in itertools.pairwise(segments):
        assert after.start >= before.end - 0.05, (before, after)  # no overlap
        assert after.text != before.text or after.start > before.end  # no duplicate


def test_chunks_are_cut_in_pauses(long_clip):
    from tests.support.media_factory import duration

    length = duration(long_clip)
    pauses = silences(long_clip)
    chunks = plan(length, pauses, 15)
    assert len(chunks) >= 3 and chunks[0][0] == 0 and chunks[-1][1] == pytest.approx(length)
    for _, end in chunks[:-1]:
        assert any(start <= end <= stop for start, stop in pauses), end


def test_chunked_equals_whole_and_resumes_without_redoing_chunks(engine, long_clip, tmp_path):
    """
    GIVEN a ~50 s recording WHEN transcribed whole and in ~15 s chunks THEN the same segments (±2)
    and text (≥ 0.95 similar); with one checkpoint removed, only that chunk is transcribed again
    """
    from tests.support.media_factory import duration

    length = duration(long_clip)
    whole = list(engine.transcribe(long_clip))
    chunked = transcribe_in_chunks(engine, long_clip, length, tmp_path / "c", 15)
    assert abs(len(chunked) - len(whole)) <= 2
    assert similarity(whole, chunked) >= 0.95, (text_of(whole), text_of(chunked))
    assert_clean(chunked)

    checkpoints = sorted((tmp_path / "c").glob("chunk-*.json"))
    assert len(checkpoints) >= 3
    kept = {p: p.stat().st_mtime_ns for p in checkpoints[:-1]}
    checkpoints[-1].unlink()
    again = transcribe_in_chunks(engine, long_clip, length, tmp_path / "c", 15)
    assert text_of(again) == text_of(chunked)
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in kept.items())


def test_killing_the_worker_group_mid_file_resumes_at_the_next_chunk(settings, long_clip, engine):
    """
    GIVEN a worker transcribing a long recording in chunks (Redis broker, short visibility timeout)
    WHEN its whole process group is killed after the first chunk is stored, and a worker restarts
    THEN the job finishes, finished chunks were not transcribed again, and the result matches an
    uninterrupted run (segments ±2, text ≥ 0.95 similar, no overlap or duplicate)
    """
    from archive import migrate
    from archive.db import session_scope
    from archive.models import Job, Recording
    from search.meili.client import master_client
    from search.meili.schema import ensure_index

    own = settings.model_copy(
        update={
            "data_dir": settings.data_dir.parent / f"long-{uuid.uuid4().hex[:6]}",
            # The next Redis database after the suite's: its own queue, no stray deliveries.
            "broker_url": "{}/{}".format(*_next_db(settings.broker_url)),
            "broker_visibility_timeout": 8,
            "transcribe_chunk_s": 15,
            "meili_index": "segments_long_test",
            "database_url": None,
        }
    )
    redis.Redis.from_url(own.broker_url).flushdb()
    migrate.upgrade(own.db_url)
    ensure_index(master_client(own), own.meili_index)

    def start_worker(name: str) -> subprocess.Popen:
        log = own.data_dir / f"{name}.log"
        own.data_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            worker_argv("ashyq", concurrency=1, name="long"),
            env=env_for_children(own),
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return proc

    first = start_worker("first")
    job_id = submit_file(own, long_clip, title="Hearing", body="senat", when="2026-05-05")
    deadline = time.monotonic() + 180
    while not list(own.work_dir.rglob("chunk-00000.json")):
        assert time.monotonic() < deadline and first.poll() is None, "no chunk was stored"
        time.sleep(0.2)
    stored = len(list(own.work_dir.rglob("chunk-*.json")))
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    with session_scope(own.db_url) as session:
        assert session.get(Job, job_id).state == "running"

    second = start_worker("second")
    try:
        job = wait_job(own, job_id, timeout=300)
    finally:
        stop_group(second)
    assert job.state == "succeeded", job.error
    assert job.attempts == 2
    with session_scope(own.db_url) as session:
        segments = session.get(Recording, job.recording_id).segments
        session.expunge_all()
    whole = list(engine.transcribe(long_clip))
    assert abs(len(segments) - len(whole)) <= 2
    assert similarity(whole, segments) >= 0.95, (text_of(whole), text_of(segments))
    assert_clean(segments)
    resumed = (own.data_dir / "second.log").read_text()
    # The restarted worker went on from the chunks stored before the kill (at least `stored`).
    found = re.search(r"\((\d+) already transcribed\)", resumed)
    assert found and int(found.group(1)) >= stored, resumed[-2000:]
    assert not any(own.work_dir.iterdir())


def _next_db(url: str) -> tuple[str, int]:
    base, db = url.rsplit("/", 1)
    return base, int(db) + 1
