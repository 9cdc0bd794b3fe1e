"""The Celery app. Broker: Redis when ``ASHYQ_BROKER_URL`` is set, else an embedded transport.

Embedded choice (verified with celery/kombu 5.7 on this machine kind): kombu's ``filesystem://``
transport, which needs no server — messages are files under ``<data_dir>/broker``. It beat
``sqla+sqlite://``, which hands every transport option to ``create_engine``, never deletes consumed
rows and has no ``inspect``/``control``. Neither recovers a message after kill -9 of the whole
worker, so ``ashyq up`` re-queues jobs whose worker died (``archive.jobs.orphaned_running_jobs``).
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from archive.settings import Settings, get_settings

QUEUE = "ashyq"
PROCESS_JOB = "ashyq.process_job"
POLL_SOURCE = "ashyq.poll_source"
POLL_DUE_SOURCES = "ashyq.poll_due_sources"
EVALUATE_ALERTS = "ashyq.evaluate_alerts"
SEND_MAIL = "ashyq.send_mail"
FLUSH_OUTBOX = "ashyq.flush_outbox"
SEND_DIGESTS = "ashyq.send_digests"
MAKE_DUMP = "ashyq.make_dump"
# The nightly consistency check (``ashyq check`` without --repair), an hour after the dump.
CHECK_ARCHIVE = "ashyq.check_archive"
# How often beat sends mail whose retry time has come, and looks for due daily digests.
OUTBOX_CHECK_S = 30.0
DIGEST_CHECK_S = 3600.0
# Live capture: one long task per stream on its own queue (a worker slot for the whole broadcast).
LIVE_QUEUE = "ashyq.live"
LIVE_CAPTURE = "ashyq.live_capture"
LIVE_WATCHDOG = "ashyq.live_watchdog"
# Clip cuts: short jobs on their own queue, so a flood of them never sits in front of the pipeline.
CLIP_QUEUE = "ashyq.clips"
CUT_CLIP = "ashyq.cut_clip"
# Alerts and mail: minutes matter ("email me when this is said" promises a minute), so they have
# their own queue, which `ashyq up` serves with a worker of its own: a slot is free for them while
# every slot of the main worker transcribes or records. Beat's sweeps go there too.
ALERT_QUEUE = "ashyq.alerts"
ALERT_TASKS = (EVALUATE_ALERTS, SEND_MAIL, FLUSH_OUTBOX, SEND_DIGESTS)
# Every queue, for a worker that serves them all (`ashyq worker` without --queues).
QUEUES = (QUEUE, LIVE_QUEUE, CLIP_QUEUE, ALERT_QUEUE)
# How often beat looks for watched sources that are due (each has its own interval).
SOURCE_CHECK_S = 30.0


def broker_options(settings: Settings) -> tuple[str, dict]:
    if settings.broker_url:
        return settings.broker_url, {
            "visibility_timeout": settings.broker_visibility_timeout,
            "unacked_restore_interval": 2,
            "unacked_restore_throttle": 1,
        }
    base = settings.broker_dir
    queue, processed, control = base / "queue", base / "processed", base / "control"
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "store_processed": False,
        "control_folder": str(control),
        "polling_interval": 0.2,
    }


def make_celery(settings: Settings) -> Celery:
    broker, transport_options = broker_options(settings)
    (settings.data_dir / "run").mkdir(parents=True, exist_ok=True)
    app = Celery("ashyq", include=["workers.tasks"])
    app.conf.update(
        broker_url=broker,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE,
        task_routes={name: {"queue": ALERT_QUEUE} for name in ALERT_TASKS},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=max(60, settings.task_time_limit_s - 60),
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        worker_lost_wait=1,
        worker_hijack_root_logger=False,
        beat_schedule={
            "poll-due-sources": {"task": POLL_DUE_SOURCES, "schedule": SOURCE_CHECK_S},
            "flush-outbox": {"task": FLUSH_OUTBOX, "schedule": OUTBOX_CHECK_S},
            "send-digests": {"task": SEND_DIGESTS, "schedule": DIGEST_CHECK_S},
            "nightly-dump": {
                "task": MAKE_DUMP,
                "schedule": crontab(hour=settings.dump_hour_utc, minute=0),
            },
            "nightly-check": {
                "task": CHECK_ARCHIVE,
                "schedule": crontab(hour=(settings.dump_hour_utc + 1) % 24, minute=0),
                # a night's check no worker took by the next evening is dropped, not stacked
                "options": {"expires": 18 * 3600},
            },
            "live-watchdog": {
                "task": LIVE_WATCHDOG,
                "schedule": settings.live_watchdog_s,
                "options": {"expires": settings.live_watchdog_s},
            },
        },
        beat_schedule_filename=str(settings.data_dir / "run" / "beat-schedule"),
    )
    return app


_producers: dict[tuple[str | None, str], Celery] = {}


def _send(
    settings: Settings, name: str, args: list[object], queue: str | None = None, **options: object
) -> None:
    """Queue a task by name through an app built once per broker (the web process, the CLI and
    workers all send this way, none needs the task modules imported). Without ``queue`` the
    app's routes choose (alerts and mail: ``ALERT_QUEUE``; the rest: the main queue)."""
    key = (settings.broker_url, str(settings.broker_dir))
    if key not in _producers:
        _producers[key] = make_celery(settings)
    _producers[key].send_task(name, args=args, queue=queue, **options)


def send_job(settings: Settings, job_id: int) -> None:
    """Queue a pipeline job."""
    _send(settings, PROCESS_JOB, [job_id])


def send_task(settings: Settings, name: str, *args: object) -> None:
    """Queue a task by name on the queue its route names (the API and the indexing use it)."""
    _send(settings, name, list(args))


def send_clip(
    settings: Settings,
    recording_id: int,
    original_sha256: str,
    start_ms: int,
    end_ms: int,
    fmt: str,
    limit_s: float,
) -> None:
    """Queue a clip cut; a message no worker took within ``clip_job_expire_s`` is dropped (its
    job file expires with it, so the cut can be asked for again)."""
    _send(
        settings,
        CUT_CLIP,
        [recording_id, original_sha256, start_ms, end_ms, fmt],
        queue=CLIP_QUEUE,
        expires=settings.clip_job_expire_s,
        time_limit=round(limit_s) + 60,
        soft_time_limit=round(limit_s) + 30,
    )


def send_live(settings: Settings, session_id: int) -> None:
    """Queue the capture of a live session; its time limit covers the longest broadcast."""
    limit = settings.live_max_duration_s + int(settings.live_give_up_s) + 3600
    _send(
        settings,
        LIVE_CAPTURE,
        [session_id],
        queue=LIVE_QUEUE,
        time_limit=limit,
        soft_time_limit=limit - 60,
    )


def __getattr__(name: str) -> Celery:
    """``celery -A workers.celery_app`` finds ``app``; built on first use, not at import."""
    if name == "app":
        app = make_celery(get_settings())
        globals()["app"] = app
        return app
    raise AttributeError(name)
