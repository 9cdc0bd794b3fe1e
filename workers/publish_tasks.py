"""Celery tasks that tell the public what is new: alert evaluation, mail, the nightly dump.

Thin, by id, idempotent: evaluation owes each (alert, segment) once whatever the number of runs;
mail state lives in the outbox table, so a lost task message costs a delay (beat sweeps the
outbox), never a mail.
"""

from __future__ import annotations

import logging

from archive.settings import get_settings
from search import TRANSIENT_ERRORS
from workers import celery_app
from workers.alerts import evaluate as alerts
from workers.alerts import outbox
from workers.celery_app import EVALUATE_ALERTS, FLUSH_OUTBOX, MAKE_DUMP, SEND_DIGESTS, SEND_MAIL
from workers.services import dumps

log = logging.getLogger(__name__)


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


@celery_app.app.task(name=SEND_MAIL, ignore_result=True)
def send_mail(outbox_id: int) -> None:
    """Try one outbox message now; a failure is recorded on it and retried by the sweep."""
    outbox.send_one(get_settings(), outbox_id)


@celery_app.app.task(name=FLUSH_OUTBOX, ignore_result=True)
def flush_outbox() -> None:
    """Run by beat: send every message whose (re)try time has come."""
    outbox.flush_outbox(get_settings())


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
