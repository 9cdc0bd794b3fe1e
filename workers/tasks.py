"""Celery tasks: thin wrappers that take ids, never objects, and retry only transient errors."""

from __future__ import annotations

import logging

from celery.utils.time import get_exponential_backoff_interval

from archive import jobs
from archive.db import session_scope
from archive.settings import get_settings
from workers import celery_app
from workers.celery_app import (
    CUT_CLIP,
    LIVE_CAPTURE,
    LIVE_WATCHDOG,
    POLL_DUE_SOURCES,
    POLL_SOURCE,
    PROCESS_JOB,
)
from workers.ingest import pipeline
from workers.live import capture as live_capture
from workers.media import clips
from workers.retry import is_transient
from workers.services import live_control as live
from workers.services import sources

log = logging.getLogger(__name__)


@celery_app.app.task(bind=True, name=PROCESS_JOB, max_retries=None)
def process_job(self, job_id: int) -> None:  # type: ignore[no-untyped-def]
    """Run one pipeline job; transient failures come back later with backoff and jitter."""
    settings = get_settings()
    try:
        pipeline.run_job(job_id, settings)
    except Exception as exc:
        if not is_transient(exc):
            raise
        with session_scope(settings.db_url) as session:
            if self.request.retries >= settings.task_max_retries:
                jobs.fail(session, job_id, f"gave up after {self.request.retries + 1} tries: {exc}")
                return
            jobs.requeue(session, job_id, str(exc))
        countdown = get_exponential_backoff_interval(
            factor=2, retries=self.request.retries, maximum=300, full_jitter=True
        )
        log.warning("job %s: transient error, retry in %ss: %s", job_id, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc


@celery_app.app.task(name=POLL_SOURCE, ignore_result=True)
def poll_source(source_id: int) -> None:
    """Poll one watched source; its failures are recorded on the source, never raised."""
    sources.poll_source(get_settings(), source_id)


@celery_app.app.task(name=POLL_DUE_SOURCES, ignore_result=True)
def poll_due_sources() -> None:
    """Run by beat: queue a poll for every source whose time has come."""
    for source_id in sources.due_sources(get_settings()):
        poll_source.delay(source_id)


@celery_app.app.task(name=LIVE_CAPTURE, ignore_result=True)
def live_capture_task(session_id: int) -> None:
    """Capture one live stream until it ends; a second delivery finds it owned and returns."""
    live_capture.capture(get_settings(), session_id)


@celery_app.app.task(name=LIVE_WATCHDOG, ignore_result=True)
def live_watchdog() -> None:
    """Run by beat: start scheduled captures, hand those of dead workers to a live one."""
    live.watchdog(get_settings())


@celery_app.app.task(name=CUT_CLIP, ignore_result=True)
def cut_clip(recording_id: int, original_sha256: str, start_ms: int, end_ms: int, fmt: str) -> None:
    """Cut one queued clip (idempotent: a second delivery finds it cut, or its job gone)."""
    clips.run_job(get_settings(), recording_id, original_sha256, start_ms, end_ms, fmt)
