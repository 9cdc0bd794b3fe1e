"""A worker process killed mid-job: the job resumes and nothing is duplicated."""

from __future__ import annotations

import os
import signal
import time

import pytest

from archive.db import session_scope
from archive.models import Job
from search.meili.client import master_client
from tests.support.helpers import segment_count, wait_job
from tests.support.media_factory import ffmpeg, speak
from workers.services.submit import submit_file

pytestmark = pytest.mark.whisper

LONG_TEXT = " ".join(
    [
        "The committee on transport heard the report on railway construction.",
        "The minister said the budget for new stations was approved last month.",
        "Members asked about the schedule, the contractors and the cost of land.",
        "The deputy minister answered that the works would start in the spring.",
    ]
    * 3
)


def test_killed_worker_child_resumes_without_duplicates(archive, worker, tmp_path):
    """
    GIVEN a job being transcribed by a Celery pool process
    WHEN that process is killed with SIGKILL
    THEN the message is redelivered, the job is taken over, it succeeds on the second attempt,
    and segments and search documents are not duplicated
    """
    wav = speak(LONG_TEXT, tmp_path / "long.wav")
    clip = tmp_path / "long.mp3"
    ffmpeg("-i", str(wav), "-c:a", "libmp3lame", str(clip))
    job_id = submit_file(archive, clip, title="Long", body="senat", when="2026-04-01")

    deadline = time.monotonic() + 120
    owner = None
    while time.monotonic() < deadline:
        with session_scope(archive.db_url) as session:
            job = session.get(Job, job_id)
            if job.stage.split(":")[0] in ("audio", "transcribe") and job.owner:
                owner = job.owner
                break
        time.sleep(0.05)
    assert owner, "the job never reached transcription"
    os.kill(int(owner.rsplit(":", 1)[1]), signal.SIGKILL)

    job = wait_job(archive, job_id)
    assert job.state == "succeeded", job.error
    assert job.attempts == 2
    segments = segment_count(archive, job.recording_id)
    result = (
        master_client(archive)
        .index(archive.meili_index)
        .search("", {"filter": f"recording_id = {job.recording_id}", "limit": 1000})
    )
    ids = [hit["id"] for hit in result["hits"]]
    assert segments > 0 and len(ids) == segments == len(set(ids))
