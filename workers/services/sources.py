"""URLs and watched sources become fetch jobs, each remote item at most once, ever.

An item is known by (extractor, id) — ``SourceItem`` has a unique constraint on it — and a
downloaded file that turns out to be already archived (same SHA-256) points to the existing
recording (the pipeline checks that).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import audit, bodies, jobs
from archive.audit import Actor
from archive.db import session_scope
from archive.models import Job, JobState, Source, SourceItem, utcnow
from archive.settings import Settings
from workers.celery_app import send_job
from workers.errors import PermanentError, TransientError
from workers.media.fetch import RemoteItem, list_items
from workers.media.netguard import check_url
from workers.services.submit import SLUG, InvalidRequest, check_body

MAX_BACKOFF_S = 24 * 3600


def _validate(settings: Settings, url: str, body: str) -> None:
    """A body slug, and a URL the archive may fetch (refused here, before anything is queued)."""
    if not SLUG.match(body):
        raise InvalidRequest(f"body {body!r} must be a slug: lowercase letters, digits and '-'")
    try:
        check_url(url, settings.fetch_allowed_hosts)
    except PermanentError as exc:
        raise InvalidRequest(str(exc)) from exc


def submit_url(
    settings: Settings,
    url: str,
    *,
    body: str,
    title: str | None = None,
    when: str | None = None,
    actor: Actor | None = None,
) -> int:
    """Check the URL (SSRF, before anything is queued) and queue a fetch job; returns its id.
    An ``actor`` gets an audit entry and, unless an admin, may only name an existing body."""
    _validate(settings, url, body)
    if when is not None:
        try:
            date.fromisoformat(when)
        except ValueError as exc:
            raise InvalidRequest(f"date {when!r} must be YYYY-MM-DD") from exc
    params = {"url": url, "body": body, "title": title, "date": when}
    with session_scope(settings.db_url) as session:
        check_body(session, body, actor)
        job_id = jobs.create_job(session, "fetch", params).id
        if actor is not None:
            audit.record_by(session, actor, "fetch", "job", job_id, url=url)
    send_job(settings, job_id)
    return job_id


def find_item(session: Session, item: RemoteItem) -> SourceItem | None:
    """The record of an item already seen, by (extractor, id)."""
    return session.scalar(
        select(SourceItem).where(
            SourceItem.extractor == item.extractor, SourceItem.item_id == item.item_id
        )
    )


def queue_items(
    session: Session,
    settings: Settings,
    items: list[RemoteItem],
    *,
    body: str,
    source_id: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[list[int], int]:
    """A fetch job for each item never seen before; returns (new job ids, items already seen)."""
    new_jobs, known = [], 0
    for item in items:
        existing = find_item(session, item)
        if existing is not None:
            previous = session.get(Job, existing.job_id) if existing.job_id else None
            if previous is None or previous.state != JobState.failed or source_id is not None:
                known += 1
                continue
        params = {
            "url": item.url,
            "body": body,
            "title": (overrides or {}).get("title") or item.title,
            "date": (overrides or {}).get("date")
            or (item.published.isoformat() if item.published else None),
            "item": [item.extractor, item.item_id],
        }
        job = jobs.create_job(session, "fetch", params)
        if existing is None:
            session.add(
                SourceItem(
                    source_id=source_id,
                    extractor=item.extractor,
                    item_id=item.item_id,
                    url=item.url,
                    job_id=job.id,
                )
            )
        else:
            existing.job_id = job.id
        try:
            session.commit()
        except IntegrityError:  # another poller queued it a moment ago
            session.rollback()
            known += 1
            continue
        new_jobs.append(job.id)
    for job_id in new_jobs:
        send_job(settings, job_id)
    return new_jobs, known


def add_source(
    settings: Settings,
    url: str,
    *,
    body: str,
    every_s: int,
    since: date | None = None,
    max_items: int | None = None,
    actor: Actor | None = None,
) -> int:
    """Watch a channel, playlist or feed; ``actor`` as for ``submit_url``."""
    _validate(settings, url, body)
    if every_s < 60:
        raise InvalidRequest("a source is polled at most once a minute (--every 1m or more)")
    with session_scope(settings.db_url) as session:
        check_body(session, body, actor)
        if session.scalar(select(Source).where(Source.url == url)) is not None:
            raise InvalidRequest(f"this source is already watched: {url}")
        source = Source(
            url=url,
            body=bodies.get_or_create(session, body),
            every_s=every_s,
            since=since,
            max_items=max_items,
            next_poll_at=utcnow(),
        )
        session.add(source)
        session.flush()
        if actor is not None:
            audit.record_by(session, actor, "source_add", "source", source.id, url=url)
        return source.id


def _backfill(source: Source, items: list[RemoteItem], default_max: int) -> list[RemoteItem]:
    """A new source reaches back only so far: by date, and by count (newest first in feeds)."""
    if source.since is not None:
        items = [i for i in items if i.published is None or i.published >= source.since]
    if source.last_polled_at is None:
        items = items[: source.max_items or default_max]
    return items


def poll_source(settings: Settings, source_id: int) -> list[int]:
    """List a source's items and queue the new ones; failures back off and never raise."""
    with session_scope(settings.db_url) as session:
        source = session.get(Source, source_id)
        if source is None or not source.enabled:
            return []
        now = datetime.now(UTC)
        try:
            items = _backfill(
                source, list_items(settings, source.url), settings.source_backfill_items
            )
        except (PermanentError, TransientError) as exc:
            source.failures += 1
            source.last_error = str(exc)[:2000]
            source.last_polled_at = now
            delay = min(source.every_s * 2**source.failures, MAX_BACKOFF_S)
            source.next_poll_at = now + timedelta(seconds=delay)
            return []
        new_jobs, _known = queue_items(
            session, settings, items, body=source.body.slug, source_id=source.id
        )
        source = session.get(Source, source_id)
        source.failures = 0
        source.last_error = None
        source.last_polled_at = now
        source.items_seen += len(new_jobs)
        source.next_poll_at = now + timedelta(seconds=source.every_s)
        return new_jobs


def due_sources(settings: Settings) -> list[int]:
    with session_scope(settings.db_url) as session:
        query = select(Source.id).where(Source.enabled.is_(True), Source.next_poll_at <= utcnow())
        return list(session.scalars(query))
