"""Which queue each task goes to, and which queues the workers `ashyq up` starts serve: alerts
and mail must never share their only slots with transcriptions and broadcasts."""

from __future__ import annotations

from archive.settings import Settings
from cli.services import worker_argv
from workers.celery_app import (
    ALERT_QUEUE,
    CLIP_QUEUE,
    CUT_CLIP,
    EVALUATE_ALERTS,
    FLUSH_OUTBOX,
    LIVE_QUEUE,
    POLL_SOURCE,
    PROCESS_JOB,
    QUEUE,
    QUEUES,
    SEND_DIGESTS,
    SEND_MAIL,
    make_celery,
)


def routed(settings: Settings, name: str) -> str:
    """The queue a message for ``name`` sent without a queue (as ``send_task`` sends) lands in."""
    router = make_celery(settings).amqp.router
    return router.route({"queue": None}, name, (), {}, None)["queue"].name


def test_alerts_and_mail_go_to_their_own_queue_and_jobs_to_the_main_one(tmp_path):
    settings = Settings(data_dir=tmp_path)
    for name in (EVALUATE_ALERTS, SEND_MAIL, FLUSH_OUTBOX, SEND_DIGESTS):
        assert routed(settings, name) == ALERT_QUEUE, name
    for name in (PROCESS_JOB, POLL_SOURCE, CUT_CLIP):
        assert routed(settings, name) == QUEUE, name  # clips and live name their queue


def queues_of(argv: list[str]) -> list[str]:
    return argv[argv.index("-Q") + 1].split(",")


def test_a_worker_serves_every_queue_unless_told_and_the_alerts_worker_only_alerts(tmp_path):
    settings = Settings(data_dir=tmp_path, worker_concurrency=3)
    main = worker_argv(settings, "main@%h", beat=True)
    assert queues_of(main) == list(QUEUES) == [QUEUE, LIVE_QUEUE, CLIP_QUEUE, ALERT_QUEUE]
    assert main[main.index("-c") + 1] == "3" and "--beat" in main
    alerts = worker_argv(settings, "alerts@%h", queues=(ALERT_QUEUE,), concurrency=1)
    assert queues_of(alerts) == [ALERT_QUEUE]
    assert alerts[alerts.index("-c") + 1] == "1" and "--beat" not in alerts
