"""The whole alert story through the real web server, Celery worker, Whisper and an aiosmtpd
server: subscribe → confirmation mail → confirm → ingest speech containing the query → one alert
mail whose deep link works → the same content again → no second mail → unsubscribe, no login."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from sqlalchemy import func, select

from archive.db import session_scope
from archive.models import AlertDelivery, OutboxMessage
from tests.support.helpers import wait_job
from tests.support.media_factory import clip_with_word_at_known_time
from tests.support.smtp import parts
from workers.celery_app import ALERT_QUEUE, QUEUE
from workers.services.submit import submit_file, submit_reprocess

pytestmark = pytest.mark.whisper


def first_link(text: str, marker: str) -> str:
    line = next(w for w in text.split() if marker in w)
    return line.strip()


def queue_drained(settings, settle_s: float = 3.0, timeout: float = 120) -> None:
    """Wait until the worker's queues (jobs, alerts) are empty, then a little more for the task
    it holds."""
    client = redis.Redis.from_url(settings.broker_url)
    deadline = time.monotonic() + timeout
    while (client.llen(QUEUE) or client.llen(ALERT_QUEUE)) and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(settle_s)


def count(settings, model) -> int:
    with session_scope(settings.db_url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_alert_story_end_to_end(archive, smtp, worker, web, tmp_path):
    address = "journalist@example.org"
    smtp.inbox.messages.clear()
    answer = httpx.post(
        f"{web}/alerts",
        params={"q": "railway", "lang": "en"},
        data={"email": address, "frequency": "immediate"},
        timeout=30,
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text

    [confirmation] = smtp.inbox.wait_for(address, 1)
    text, _html = parts(confirmation)
    confirm = first_link(text, "/alerts/confirm/")
    assert confirm.startswith(web)
    english = {"Accept-Language": "en"}  # the link opens in the reader's browser language
    assert "Confirm this alert" in httpx.get(confirm, headers=english, timeout=30).text
    assert "Your alert is on" in httpx.post(confirm, headers=english, timeout=30).text

    clip = clip_with_word_at_known_time(tmp_path)
    job = wait_job(
        archive,
        submit_file(
            archive, clip.path, title="Transport hearing", body="senate", when="2026-03-15"
        ),
    )
    assert job.state == "succeeded", job.error
    mails = smtp.inbox.wait_for(address, 2, timeout=120)
    alert = mails[1]
    assert "railway" in alert["Subject"]
    text, html = parts(alert)
    assert "Transport hearing" in text and "Transport hearing" in html
    deep = first_link(text, f"/r/{job.recording_id}?t=")
    at = int(deep.rsplit("=", 1)[1])
    assert abs(at - clip.word_at) <= 1.5, (at, clip.word_at)
    opened = httpx.get(deep, timeout=30)
    assert opened.status_code == 200 and 'class="seg current"' in opened.text

    # The same content again: as a duplicate upload, and re-transcribed and re-indexed.
    again = wait_job(
        archive, submit_file(archive, clip.path, title="Copy", body="senate", when="2026-03-16")
    )
    assert again.state == "succeeded" and again.recording_id == job.recording_id
    redo = wait_job(archive, submit_reprocess(archive, job.recording_id))
    assert redo.state == "succeeded", redo.error
    queue_drained(archive)
    assert len(smtp.inbox.to(address)) == 2
    assert count(archive, OutboxMessage) == 2  # the confirmation and the one alert
    owed = count(archive, AlertDelivery)
    assert owed >= 1

    unsubscribe = first_link(text, "/alerts/unsubscribe/")
    assert "<form" in httpx.get(unsubscribe, timeout=30).text
    done = httpx.post(unsubscribe, headers=english, timeout=30)
    assert done.status_code == 200 and "Unsubscribed" in done.text
    path = urlsplit(unsubscribe).path
    assert f"<{web}{path}>" == alert["List-Unsubscribe"]
