"""Small helpers shared by tests that drive the real pipeline."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from archive.db import session_scope
from archive.models import Job, JobState, Segment
from archive.settings import Settings


def wait_job(settings: Settings, job_id: int, timeout: float = 240) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(settings.db_url) as session:
            job = session.get(Job, job_id)
            if job is not None and job.state in (
                JobState.succeeded,
                JobState.failed,
                JobState.cancelled,
            ):
                session.expunge(job)
                return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish within {timeout}s")


def segment_count(settings: Settings, recording_id: int) -> int:
    with session_scope(settings.db_url) as session:
        return session.scalar(
            select(func.count()).select_from(Segment).where(Segment.recording_id == recording_id)
        )
