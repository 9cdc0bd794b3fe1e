"""Celery tasks: thin wrappers that take ids, never objects, and retry only transient errors.

Every task of the app is here (names in ``celery_app``): the pipeline, watched sources, live
capture and clips, and what tells the public what is new — alert evaluation, mail, the nightly
dump. Those are idempotent too: evaluation owes each (alert, segment) once whatever the number of
runs; mail state lives in the outbox table, so a lost task message costs a delay (beat sweeps the
outbox), never a mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Task
from celery.utils.time import get_exponential_backoff_interval

from archive import jobs
from archive.consistency import Difference, Report, now, save_report
from archive.db import session_scope
from archive.settings import get_settings
from search import TRANSIENT_ERRORS, check_archive, master_client
from workers import celery_app
from workers.alerts import evaluate as alerts
from workers.alerts import outbox
from workers.celery_app import (
    CHECK_ARCHIVE,
    CUT_CLIP,
    EVALUATE_ALERTS,
    FLUSH_OUTBOX,
    LIVE_CAPTURE,
    LIVE_WATCHDOG,
    MAKE_DUMP,
    POLL_DUE_SOURCES,
    POLL_SOURCE,
    PROCESS_JOB,
    SEND_DIGESTS,
    SEND_MAIL,
)
from workers.ingest import pipeline
from workers.live import capture as live_capture
from workers.media import clips
from workers.retry import is_transient
from workers.services import dumps, sources
from workers.services import live_control as live

log = logging.getLogger(__name__)


def _thin(name: str, service: Callable[..., object], doc: str) -> Task:
    """A task that runs ``service(settings, *ids)`` and nothing else: the service records its
    own failures (on the source, the outbox row, the clip job, the live session)."""

    def run(*ids: object) -> None:
        service(get_settings(), *ids)

    run.__name__ = run.__qualname__ = name.removeprefix("ashyq.")
    run.__doc__ = doc
    return celery_app.app.task(name=name, ignore_result=True)(run)


poll_source = _thin(
    POLL_SOURCE,
    sources.poll_source,
    "Poll one watched source; its failures are recorded on the source, never raised.",
)
live_capture_task = _thin(
    LIVE_CAPTURE,
    live_capture.capture,
    "Capture one live stream until it ends; a second delivery finds it owned and returns.",
)
live_watchdog = _thin(
    LIVE_WATCHDOG,
    live.watchdog,
    "Run by beat: start scheduled captures, hand those of dead workers to a live one.",
)
cut_clip = _thin(
    CUT_CLIP,
    clips.run_job,
    "Cut one queued clip (idempotent: a second delivery finds it cut, or its job gone).",
)
send_mail = _thin(
    SEND_MAIL,
    outbox.send_one,
    "Try one outbox message now; a failure is recorded on it and retried by the sweep.",
)
flush_outbox = _thin(
    FLUSH_OUTBOX,
    outbox.flush_outbox,
    "Run by beat: send every message whose (re)try time has come.",
)


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


@celery_app.app.task(name=POLL_DUE_SOURCES, ignore_result=True)
def poll_due_sources() -> None:
    """Run by beat: queue a poll for every source whose time has come."""
    for source_id in sources.due_sources(get_settings()):
        poll_source.delay(source_id)


@celery_app.app.task(
    name=EVALUATE_ALERTS,
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
)
def evaluate_alerts(recording_id: int, segment_ids: list[str] | None = None) -> None:
    """Match confirmed alerts against a newly indexed batch and send what is owed."""
    for outbox_id in alerts.evaluate_batch(get_settings(), recording_id, segment_ids=segment_ids):
        send_mail.delay(outbox_id)


@celery_app.app.task(name=SEND_DIGESTS, ignore_result=True)
def send_digests() -> None:
    """Run by beat: queue the daily digests that are due, then send them."""
    settings = get_settings()
    for outbox_id in alerts.queue_digests(settings):
        outbox.send_one(settings, outbox_id)
    alerts.forget_unsubscribed(settings)


@celery_app.app.task(name=MAKE_DUMP, ignore_result=True)
def make_dump() -> None:
    """Run by beat each night: the bulk dump of every published transcript."""
    path = dumps.make_dump(get_settings())
    log.info("bulk dump written: %s", path)


@celery_app.app.task(name=CHECK_ARCHIVE, ignore_result=True)
def nightly_check() -> None:
    """Run by beat each night: ``ashyq check`` without repairing (originals hashed). The report
    goes to the data folder, where ``/healthz`` shows it to staff; a check that could not run
    (search down) is saved as a failed one, never as a clean one."""
    settings = get_settings()
    try:
        with session_scope(settings.db_url) as session:
            report, _index = check_archive(settings, master_client(settings), session)
    except Exception as exc:
        log.exception("the nightly check could not run")
        failed = Difference("check", "failed", None, "", f"{type(exc).__name__}: {exc}"[:500])
        report = Report(ran_at=now(), hashed=False, differences=[failed])
    save_report(settings, report)
    log.info("nightly check: %s", "no differences" if report.ok else report.counts())
