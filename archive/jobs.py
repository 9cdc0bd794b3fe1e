"""Job state transitions, each one atomic so two workers can never both run a job."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.models import Job, JobState, utcnow

HOST = socket.gethostname()
# A running job not touched for this long is presumed abandoned (its worker host vanished).
STALE_AFTER = timedelta(minutes=15)


def this_process() -> str:
    return f"{HOST}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when the owner ran on this host and its process no longer exists."""
    if not owner or ":" not in owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != HOST:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def create_job(session: Session, kind: str, params: dict[str, Any], **fields: Any) -> Job:
    job = Job(kind=kind, params=params, state=JobState.queued, stage="queued", **fields)
    session.add(job)
    session.flush()
    return job


def claim(session: Session, job_id: int) -> Job | None:
    """Mark the job running for this process, or return None when it must not run here.

    Claimable: queued; or running but owned by a process that is dead (a redelivery after a
    worker crash) or silent for ``STALE_AFTER``.
    """
    job = session.get(Job, job_id)
    if job is None or job.state in (JobState.succeeded, JobState.failed, JobState.cancelled):
        return None
    if job.state == JobState.running:
        stale = job.updated_at < datetime.now(UTC) - STALE_AFTER  # aware: a UTCDateTime column
        if not (_owner_is_dead(job.owner) or stale):
            return None
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == job.state, Job.attempts == job.attempts)
        .values(
            state=JobState.running,
            owner=this_process(),
            attempts=Job.attempts + 1,
            started_at=job.started_at or utcnow(),
            error=None,
            updated_at=utcnow(),
        )
    )
    session.commit()
    if result.rowcount != 1:
        return None
    session.refresh(job)
    return job


def set_progress(session: Session, job_id: int, stage: str, progress: float) -> bool:
    """Record progress of a running job; False when it is no longer running (cancelled by
    staff), which tells the worker to stop."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state != JobState.cancelled)
        .values(stage=stage, progress=round(max(0.0, min(1.0, progress)), 4), updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def _ended(state: JobState, error: str | None, **values: Any) -> dict[str, Any]:
    """The columns of a job that has stopped for good, in ``state``, and nobody's any more."""
    now = utcnow()
    return {
        "state": state,
        "error": error,
        "owner": None,
        "finished_at": now,
        "updated_at": now,
        **values,
    }


def finish(
    session: Session, job_id: int, *, recording_id: int | None, note: str | None = None
) -> None:
    done = _ended(JobState.succeeded, note, stage="done", progress=1.0, recording_id=recording_id)
    session.execute(update(Job).where(Job.id == job_id).values(**done))
    session.commit()


def fail(session: Session, job_id: int, message: str) -> None:
    # A cancelled job stays cancelled, whatever error its interrupted work raised.
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state != JobState.cancelled)
        .values(**_ended(JobState.failed, message[:4000]))
    )
    session.commit()


def requeue(session: Session, job_id: int, message: str) -> None:
    """Back to queued after a transient error; the retry is already scheduled with the broker."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.running)
        .values(state=JobState.queued, error=f"will retry: {message}"[:4000], owner=None)
    )
    session.commit()


def orphaned_running_jobs(session: Session) -> list[int]:
    """Running jobs whose worker process is gone: to be queued again after a crash."""
    rows = session.scalars(select(Job).where(Job.state == JobState.running)).all()
    return [job.id for job in rows if _owner_is_dead(job.owner)]


def cancel(session: Session, job_id: int) -> bool:
    """Cancel a queued or running job. A queued one is skipped when its message arrives; a
    running one stops at its next progress write. False when the job was not cancellable."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_([JobState.queued, JobState.running]))
        .values(**_ended(JobState.cancelled, "cancelled by staff"))
    )
    return result.rowcount == 1


def reset_for_retry(session: Session, job_id: int) -> bool:
    """Put a failed or cancelled job back in the queue state; the caller sends it again."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state.in_([JobState.failed, JobState.cancelled]))
        .values(
            state=JobState.queued,
            stage="queued",
            progress=0.0,
            error=None,
            owner=None,
            finished_at=None,
            updated_at=utcnow(),
        )
    )
    return result.rowcount == 1
