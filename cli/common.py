"""What every ``ashyq`` command shares: the two consoles, loading the settings, failing with an
exit code, printing rows, parsing durations and moments, and watching a job to its end.

It sits below every command module (they import it, it imports none of them), so no command
reaches into another's private helpers.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from archive import migrate
from archive.db import session_scope
from archive.models import Job, JobState, as_utc
from archive.runtime import with_runtime
from archive.settings import Settings, get_settings

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# Options of every command that makes a recording (ingest, fetch, live start): one spelling and
# help text, so they read alike.
BodyOption = Annotated[str, typer.Option(help="slug of the body, e.g. mazhilis")]
TitleOption = Annotated[str, typer.Option(help="title of the recording")]

# A job stops changing in these states: watching it ends there.
ENDED = (JobState.succeeded, JobState.failed, JobState.cancelled)


def load_settings() -> Settings:
    """The settings plus what a running ``ashyq up`` published (its Meilisearch); a bad value
    is a usage error (exit 2), not a traceback."""
    try:
        return with_runtime(get_settings())
    except Exception as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def migrated_settings() -> Settings:
    """``load_settings`` with the schema brought up to date first: commands that write rows
    work on a fresh data dir without a separate ``ashyq migrate``."""
    settings = load_settings()
    migrate.upgrade(settings.db_url)
    return settings


def fail(what: str, reason: object = None, code: int = 2) -> NoReturn:
    """Print ``what: reason`` on stderr and exit with ``code``: 2 when the request cannot be
    served as given (bad input, nothing to act on), 1 when the work itself failed."""
    err.print(f"[red]{what}:[/red] {reason}" if reason is not None else f"[red]{what}[/red]")
    raise typer.Exit(code) from (reason if isinstance(reason, BaseException) else None)


def print_rows(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table on a terminal; piped, one tab-separated line per row, nothing cut to the
    terminal's width (what scripts read)."""
    if sys.stdout.isatty():
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        for row in (columns, *rows):
            print("\t".join(row))


def interval(text: str) -> int:
    """Seconds from ``30m``, ``2h``, ``1d``, ``45s`` or a bare number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)
    except (ValueError, IndexError) as exc:
        raise typer.BadParameter(f"{text!r}: use e.g. 30m, 2h, 1d") from exc


def moment(text: str | None) -> datetime | None:
    """ISO 8601; without a zone it is UTC."""
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: use e.g. 2026-03-15T10:00 (UTC) or …+05:00") from exc


def follow(settings: Settings, job_id: int, label: str) -> Job:
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
                if job.state in ENDED:
                    session.expunge(job)
                    return job
            time.sleep(0.5)


def report(settings: Settings, job: Job) -> int:
    """Say how a finished job ended; the exit code for it (1 if it failed or was cancelled)."""
    if job.state in (JobState.failed, JobState.cancelled):
        err.print(f"[red]job {job.id} {job.state.value}:[/red] {job.error}")
        return 1
    note = f" ({job.error})" if job.error else ""
    console.print(
        f"job {job.id} done{note}: {settings.site_url}/r/{job.recording_id}", highlight=False
    )
    return 0
