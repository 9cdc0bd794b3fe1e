"""Small helpers shared by tests that drive the real pipeline (and the browser)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from archive.db import session_scope
from archive.models import Job, JobState, Segment
from archive.settings import Settings, env_for_children

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]


def wait_job(settings: Settings, job_id: int, timeout: float = 240) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(settings.db_url) as session:
            job = session.get(Job, job_id)
            if job is not None and job.state in (
                JobState.succeeded,
                JobState.failed,
                JobState.cancelled,
            ):
                session.expunge(job)
                return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish within {timeout}s")


def ashyq(
    settings: Settings, *args: str, timeout: float, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``ashyq ARGS`` as a user runs it: a process of its own that sees these settings."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        input=stdin,
        env=env_for_children(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def segment_count(settings: Settings, recording_id: int) -> int:
    with session_scope(settings.db_url) as session:
        return session.scalar(
            select(func.count()).select_from(Segment).where(Segment.recording_id == recording_id)
        )


def search_in_the_browser(page: Page, url: str, words: str, results: str) -> None:
    """Open ``url``, type ``words`` into its search box, press Enter, wait for ``results``."""
    page.goto(url)
    page.fill("#q", words)
    page.press("#q", "Enter")
    page.wait_for_selector(results)


def player_time(page: Page) -> float:
    """Wait until the page's player has its media and has moved off 0; its time in seconds."""
    page.wait_for_function(
        "() => { const p = document.getElementById('player');"
        " return p.readyState >= 1 && p.currentTime > 0; }"
    )
    return page.evaluate("document.getElementById('player').currentTime")
