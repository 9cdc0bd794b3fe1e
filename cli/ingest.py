"""How recordings arrive from the terminal: ``ingest`` a file, ``fetch`` a URL, ``sources`` to
watch, and ``status`` to see the jobs they made."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import func, select

from archive.audit import CLI
from archive.db import session_scope
from archive.models import Job, Recording, Source
from archive.settings import Settings
from cli.common import (
    BodyOption,
    TitleOption,
    console,
    fail,
    follow,
    interval,
    load_settings,
    migrated_settings,
    print_rows,
    report,
)

WAIT_HELP = "block until searchable; exit 1 if it fails"
sources_app = typer.Typer(help="Watched channels, playlists and feeds.", no_args_is_help=True)


def ingest(
    path: Annotated[Path, typer.Argument(help="any file ffmpeg reads: mp4, mkv, webm, mp3, wav…")],
    title: TitleOption,
    body: BodyOption,
    date_: Annotated[str, typer.Option("--date", help="YYYY-MM-DD the recording was made")] = "",
    body_name: Annotated[str | None, typer.Option(help="display name for a new body")] = None,
    wait: Annotated[bool, typer.Option(help=WAIT_HELP)] = False,
) -> None:
    """Queue a media file; with a terminal (or --wait) show its progress until it is searchable."""
    from workers.services.submit import InvalidRequest, submit_file

    settings = migrated_settings()
    when = date_ or date.today().isoformat()
    try:
        job_id = submit_file(
            settings, path, title=title, body=body, when=when, body_name=body_name, actor=CLI
        )
    except InvalidRequest as exc:
        fail("not queued", exc)
    _queued(settings, job_id, path.name, wait)


def fetch(
    url: Annotated[str, typer.Argument(help="a video, playlist, channel, feed or media link")],
    body: BodyOption,
    title: Annotated[str | None, typer.Option(help="title (default: the source's)")] = None,
    date_: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default: source's)")
    ] = None,
    wait: Annotated[bool, typer.Option(help=WAIT_HELP)] = False,
) -> None:
    """Fetch from a URL with yt-dlp; a playlist or feed becomes one recording per item."""
    from workers.services.sources import submit_url
    from workers.services.submit import InvalidRequest

    settings = migrated_settings()
    try:
        job_id = submit_url(settings, url, body=body, title=title, when=date_, actor=CLI)
    except InvalidRequest as exc:
        fail("not queued", exc)
    _queued(settings, job_id, url, wait)


def _queued(settings: Settings, job_id: int, what: str, wait: bool) -> None:
    """Say a job was queued; with a terminal (or --wait) show its progress until it ends and
    exit as it ended (Ctrl-C stops watching, not the job)."""
    console.print(f"queued job {job_id}: {what}", highlight=False)
    if not (wait or sys.stdout.isatty()):
        console.print("follow it with `ashyq status`")
        return
    try:
        job = follow(settings, job_id, what[:40])
    except KeyboardInterrupt:
        console.print("\nstopped watching; the job goes on (see `ashyq status`)")
        raise typer.Exit(130) from None
    raise typer.Exit(report(settings, job))


def status(limit: Annotated[int, typer.Option(help="how many recent jobs")] = 20) -> None:
    """List recent jobs with state and progress."""
    settings = migrated_settings()
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
        recordings = session.scalar(select(func.count()).select_from(Recording))
    print_rows(columns, rows)
    console.print(f"{recordings} recording(s) in {settings.data_dir}", highlight=False)
    _print_sources(settings)


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

    settings = migrated_settings()
    try:
        start = date.fromisoformat(since) if since else None
        source_id = add_source(
            settings,
            url,
            body=body,
            every_s=interval(every),
            since=start,
            max_items=max_items,
            actor=CLI,
        )
    except (InvalidRequest, ValueError) as exc:
        fail("not added", exc)
    console.print(f"watching source {source_id}: {url} every {every}", highlight=False)


@sources_app.command("poll")
def sources_poll(source_id: Annotated[int, typer.Argument(help="source id")]) -> None:
    """Poll a source now instead of waiting for its turn."""
    from workers.services.sources import poll_source

    new = poll_source(load_settings(), source_id)
    console.print(f"queued {len(new)} new item(s)")


@sources_app.command("list")
def sources_list() -> None:
    """Watched sources with last poll and last error."""
    _print_sources(migrated_settings())


def _print_sources(settings: Settings) -> None:
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
    print_rows(("source", "url", "body", "every", "last poll", "items", "last error"), rows)
