"""Running the archive: ``up`` (everything on one machine, with a demo), or ``web`` and
``worker`` alone (production runs one process per container)."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from archive import migrate
from archive.audit import CLI
from archive.db import session_scope
from archive.models import User
from archive.runtime import clear_runtime, local_master_key, write_runtime
from archive.settings import Settings, env_for_children, get_settings
from cli.common import console, err, fail, follow, load_settings, migrated_settings, report
from cli.services import (
    RestartPolicy,
    ServiceError,
    Supervisor,
    free_port,
    meilisearch_argv,
    meilisearch_binary,
    wait_http,
    web_argv,
    worker_argv,
)
from workers.celery_app import ALERT_QUEUE, QUEUES


def web(
    workers: Annotated[
        int | None,
        typer.Option(help="web server processes (default: ASHYQ_WEB_WORKERS, else one per core)"),
    ] = None,
) -> None:
    """Run only the web server, with --workers processes (production: one per container)."""
    settings = load_settings()
    if workers is not None:
        if workers < 1:
            fail("--workers must be 1 or more")
        settings = settings.model_copy(update={"web_workers": workers})
    argv = web_argv(settings)
    os.execv(argv[0], argv)


def worker(
    beat: Annotated[bool, typer.Option(help="also run the scheduler (one per archive)")] = False,
    queues: Annotated[
        str,
        typer.Option(help="comma-separated queues to serve (default: all; see README, Workers)"),
    ] = ",".join(QUEUES),
) -> None:
    """Run only a Celery worker."""
    from search import ensure_current, master_client

    wanted = tuple(q.strip() for q in queues.split(",") if q.strip())
    unknown = sorted(set(wanted) - set(QUEUES))
    if unknown or not wanted:
        given = ", ".join(unknown) or "(none given)"
        fail(f"unknown queue(s) {given}", f"known: {', '.join(QUEUES)}")
    settings = migrated_settings()
    with session_scope(settings.db_url) as session:
        ensure_current(master_client(settings), settings.meili_index, session)
    argv = worker_argv(settings, "ashyq@%h", beat=beat, queues=wanted)
    os.execv(argv[0], argv)


def up(
    no_demo: Annotated[bool, typer.Option("--no-demo", help="do not ingest the demo")] = False,
) -> None:
    """Start Meilisearch, a worker and the web server on this machine; Ctrl-C stops them all."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    supervisor = Supervisor(RestartPolicy.of(settings), say=_say)
    _stop_on_signals()
    try:
        settings = _prepare(settings, supervisor, logs)
        _start_app(settings, supervisor, logs)
        if not no_demo:
            # Beside the supervision, not before it: a child that dies while the demo is
            # transcribed is restarted too.
            threading.Thread(target=_demo, args=(settings,), name="demo", daemon=True).start()
        _watch(supervisor)
    except KeyboardInterrupt:
        console.print()  # after the ^C the terminal echoed
    except ServiceError as exc:
        err.print(str(exc), style="red", highlight=False, markup=False)
        raise typer.Exit(1) from exc
    finally:
        console.print("stopping every process…")
        supervisor.stop()
        clear_runtime(settings)
        console.print("stopped")


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT both end ``up`` through its KeyboardInterrupt path (children stopped,
    runtime file cleared)."""

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Started in the background by a shell (`ashyq up &`, CI scripts), a process inherits SIGINT
    # ignored and Python then never raises KeyboardInterrupt: Ctrl-C / kill -INT must still stop.
    signal.signal(signal.SIGINT, stop)


def _prepare(settings: Settings, supervisor: Supervisor, logs: Path) -> Settings:
    """Schema, model and search index made current; the settings the children will get."""
    from search import ensure_current, ensure_search_key, master_client
    from workers.asr.model_files import resolve_model

    migrate.upgrade(settings.db_url)
    console.print(f"data: {settings.data_dir}", highlight=False)
    model = resolve_model(settings.whisper_model, settings.models_dir)
    settings = settings.model_copy(update={"whisper_model": model})
    if not settings.meili_url:
        settings = _start_meilisearch(settings, supervisor, logs)
    client = master_client(settings)
    with session_scope(settings.db_url) as session:
        if ensure_current(client, settings.meili_index, session):
            console.print("search index rebuilt for the current document version")
    ensure_search_key(client, settings.meili_index)
    return settings


def _start_meilisearch(settings: Settings, supervisor: Supervisor, logs: Path) -> Settings:
    """An embedded Meilisearch on a free loopback port, published in the runtime file so other
    ``ashyq`` commands on this data dir find it."""
    port = free_port()
    key = settings.meili_master_key or local_master_key(settings)
    argv = meilisearch_argv(meilisearch_binary(settings), port, key, settings.meili_dir)
    # Tier 0: stopped after the web server and the workers, which use it.
    env = env_for_children(settings)
    supervisor.start("meilisearch", argv, env, logs / "meilisearch.log", tier=0)
    settings = settings.model_copy(
        update={"meili_url": f"http://127.0.0.1:{port}", "meili_master_key": key}
    )
    wait_http(f"{settings.meili_url}/health", 30, supervisor.procs["meilisearch"])
    write_runtime(settings, meili_url=settings.meili_url)
    return settings


def _start_app(settings: Settings, supervisor: Supervisor, logs: Path) -> None:
    """The worker (with beat) and the web server; jobs a crash interrupted are queued again."""
    env = env_for_children(settings)
    argv = worker_argv(settings, f"ashyq-{settings.port}@%h", beat=True)
    # A warm shutdown lets running tasks finish; one that takes too long gets a cold one
    # (SIGQUIT): the pool is stopped and its task, acks late, goes back to the queue.
    supervisor.start("worker", argv, env, logs / "worker.log", hurry=signal.SIGQUIT)
    # A worker that died left its jobs running in the database: queue them again once it is back.
    supervisor.on_restart["worker"] = lambda: _requeue(settings)
    # Alerts and mail get a slot of their own: the main worker's may all be transcribing.
    name = f"alerts-{settings.port}@%h"
    alerts = worker_argv(settings, name, queues=(ALERT_QUEUE,), concurrency=1)
    supervisor.start("alerts", alerts, env, logs / "alerts.log", hurry=signal.SIGQUIT)
    supervisor.start("web", web_argv(settings), env, logs / "web.log")
    wait_http(f"http://127.0.0.1:{settings.port}/healthz", 60, supervisor.procs["web"])
    _requeue(settings)
    console.print(f"[bold green]Ashyq is up:[/bold green] {settings.site_url}", highlight=False)
    with session_scope(settings.db_url) as session:
        if session.scalar(select(User.id).limit(1)) is None:
            console.print(
                "no staff account yet: `ashyq users create --role admin EMAIL`, then sign in "
                f"at {settings.site_url}/staff",
                highlight=False,
            )
    console.print(f"logs: {logs}   stop: Ctrl-C", highlight=False)


def _requeue(settings: Settings) -> None:
    from workers.services.submit import requeue_orphans

    requeued = requeue_orphans(settings)
    if requeued:
        console.print(f"re-queued {len(requeued)} job(s) interrupted by a crash")


def _say(message: str) -> None:
    """The supervisor's news (a child died, restarted), with the time: it may come hours in."""
    console.print(f"{time.strftime('%H:%M:%S')} {message}", highlight=False, markup=False)


def _demo(settings: Settings) -> None:
    """Ingest the synthetic demo briefing and watch it become searchable."""
    from cli.demo import DEMO_BODY, DEMO_TITLE, make_demo
    from workers.services.submit import submit_file

    clip = make_demo(settings.data_dir / "demo")
    if clip is None:
        err.print("espeak-ng is not installed: skipping the demo recording")
        return
    today = date.today().isoformat()
    job_id = submit_file(
        settings, clip, title=DEMO_TITLE, body=DEMO_BODY, when=today, body_name="Demo", actor=CLI
    )
    report(settings, follow(settings, job_id, "demo recording"))
    console.print(f"try: {settings.site_url}/search?q=budget", highlight=False)


def _watch(supervisor: Supervisor) -> None:
    """Until interrupted: a child that dies is restarted (with backoff); a crash loop raises
    ``CrashLoop``, which ends ``up`` (everything stopped, exit 1)."""
    while True:
        supervisor.tick()
        time.sleep(0.5)
