"""Transient failures are retried and resume from what was already done; permanent ones are not."""

from __future__ import annotations

import pytest
from meilisearch.errors import MeilisearchCommunicationError

from archive import jobs
from archive.db import session_scope
from archive.models import Job, JobState
from cli.services import free_port
from search.meili.client import master_client
from tests.support.helpers import segment_count
from tests.support.media_factory import clip_with_word_at_known_time
from workers.asr.transcribe import FasterWhisperEngine
from workers.ingest.pipeline import run_job
from workers.retry import is_transient
from workers.services.submit import stage_file

pytestmark = pytest.mark.whisper


class CountingEngine(FasterWhisperEngine):
    """The real engine, counting how often it is asked to transcribe."""

    calls = 0

    def transcribe(self, audio_path, on_progress=None):
        type(self).calls += 1
        return super().transcribe(audio_path, on_progress)


def test_search_outage_is_retried_and_resumes_without_transcribing_again(
    archive, tmp_path, model_dir
):
    """
    GIVEN Meilisearch unreachable while a job runs
    WHEN the job reaches indexing
    THEN the error is transient (raised for Celery to retry, the job not failed), and the retry,
    with Meilisearch back, finishes from the saved transcript without transcribing again
    """
    clip = clip_with_word_at_known_time(tmp_path, fmt="wav")
    with session_scope(archive.db_url) as session:
        params = {"title": "Outage", "body": "senat", "date": "2026-05-01", "filename": "x.wav"}
        staged = str(stage_file(archive, clip.path))
        job_id = jobs.create_job(session, "ingest", params, source_path=staged).id
    engine = CountingEngine(model_path=model_dir, cpu_threads=2)
    down = archive.model_copy(update={"meili_url": f"http://127.0.0.1:{free_port()}"})

    with pytest.raises(MeilisearchCommunicationError) as raised:
        run_job(job_id, down, engine)
    assert is_transient(raised.value)
    with session_scope(archive.db_url) as session:
        assert session.get(Job, job_id).state == JobState.running
        jobs.requeue(session, job_id, str(raised.value))
        assert session.get(Job, job_id).error.startswith("will retry")

    run_job(job_id, archive, engine)
    with session_scope(archive.db_url) as session:
        job = session.get(Job, job_id)
        assert job.state == JobState.succeeded, job.error
        assert job.attempts == 2
        recording_id = job.recording_id
    assert CountingEngine.calls == 1
    documents = (
        master_client(archive)
        .index(archive.meili_index)
        .search("", {"filter": f"recording_id = {recording_id}", "limit": 0})["estimatedTotalHits"]
    )
    assert documents == segment_count(archive, recording_id) > 0
