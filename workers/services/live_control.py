"""Registering live captures (record now or at a time), stopping them, and the watchdog.

The one entry point both faces (CLI, staff API) use. The URL is checked before anything is
stored: http(s) through the same SSRF check as fetches, RTMP/RTSP hosts by the same address
rules. A live URL may also be any page yt-dlp resolves to a live stream (YouTube live, …).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from archive import audit, bodies
from archive import live as live_state
from archive.audit import Actor
from archive.db import session_scope
from archive.models import EVENT_TYPES, Body, LiveSession, LiveState, as_utc, utcnow
from archive.settings import Settings
from workers.celery_app import send_live
from workers.errors import PermanentError
from workers.media.hls import is_direct_stream
from workers.media.netguard import STREAM_SCHEMES, check_url
from workers.services.submit import SLUG, InvalidRequest, check_body


def check_live_url(url: str, allowed: list[str]) -> None:
    """Refuse a URL the archive must not connect to (raises ``InvalidRequest``); the capture
    checks it again at every connection (``workers.live.capture.resolve``)."""
    try:
        check_url(url, allowed, STREAM_SCHEMES)
    except PermanentError as exc:
        raise InvalidRequest(str(exc)) from exc


def _page_url(url: str | None) -> str | None:
    """Only a link for readers (never fetched), so any http(s) address will do."""
    url = (url or "").strip() or None
    if url is not None and (urlsplit(url).scheme not in ("http", "https") or len(url) > 2000):
        raise InvalidRequest("the page URL must be an http(s) address")
    return url


def _check_what(settings: Settings, url: str, body: str, title: str, event: str | None) -> None:
    if not title.strip():
        raise InvalidRequest("title must not be empty")
    if not SLUG.match(body):
        raise InvalidRequest(f"body {body!r} must be a slug: lowercase letters, digits and '-'")
    if event is not None and event not in EVENT_TYPES:
        raise InvalidRequest(f"event type must be one of {', '.join(EVENT_TYPES)}")
    check_live_url(url, settings.fetch_allowed_hosts)


def _check_when(
    settings: Settings,
    starts_at: datetime | None,
    expected_end_at: datetime | None,
    max_duration_s: int | None,
    chunk_s: int | None,
) -> tuple[int, int]:
    """The maximum duration and the chunk length to use, once the times make sense."""
    if expected_end_at and starts_at and expected_end_at <= starts_at:
        raise InvalidRequest("the expected end must come after the start")
    maximum = max_duration_s or settings.live_max_duration_s
    if not 60 <= maximum <= settings.live_max_duration_s:
        raise InvalidRequest(
            f"maximum duration must be 60 to {settings.live_max_duration_s} seconds"
        )
    chunk = chunk_s or settings.live_chunk_s
    if not 3 <= chunk <= 120:
        raise InvalidRequest("chunks must be 3 to 120 seconds long")
    return maximum, chunk


def _body(session: Session, slug: str, actor: Actor | None) -> Body:
    check_body(session, slug, actor)
    return bodies.get_or_create(session, slug)


def start_live(
    settings: Settings,
    url: str,
    *,
    body: str,
    title: str,
    starts_at: datetime | None = None,
    expected_end_at: datetime | None = None,
    max_duration_s: int | None = None,
    chunk_s: int | None = None,
    event_type: str | None = None,
    page_url: str | None = None,
    actor: Actor | None = None,
) -> int:
    """Register a capture: now (``starts_at`` absent or past) or at ``starts_at``.

    ``page_url`` is the broadcaster's page for it, published as the recording's source; the
    stream ``url`` (which may carry a stream key) stays with staff. A ``url`` that is itself a
    page (yt-dlp finds the stream in it) is its own page URL. An ``actor`` gets an audit entry
    (never the stream URL) and, unless an admin, may only name an existing body."""
    _check_what(settings, url, body, title, event_type)
    starts_at, expected_end_at = as_utc(starts_at), as_utc(expected_end_at)
    maximum, chunk = _check_when(settings, starts_at, expected_end_at, max_duration_s, chunk_s)
    # A page that embeds the stream (resolved by yt-dlp at capture) is itself the public source.
    page_url = _page_url(page_url) or (None if is_direct_stream(url) else _page_url(url))
    now = utcnow()
    with session_scope(settings.db_url) as session:
        live = LiveSession(
            url=url.strip(),
            page_url=page_url,
            body=_body(session, body, actor),
            title=title.strip(),
            event_type=event_type,
            state=LiveState.scheduled,
            starts_at=starts_at or now,
            expected_end_at=expected_end_at,
            max_duration_s=maximum,
            chunk_s=chunk,
            runs=[],
        )
        session.add(live)
        session.flush()
        session_id = live.id
        if actor is not None:
            audit.record_by(
                session, actor, "live_start", "live", session_id, body=body, title=title.strip()
            )
    if (starts_at or now) <= now:
        send_live(settings, session_id)
    return session_id


def stop_live(settings: Settings, session_id: int, *, actor: Actor | None = None) -> LiveState:
    """Ask a capture to end (it finalizes what it has); a scheduled one is cancelled."""
    with session_scope(settings.db_url) as session:
        live = session.get(LiveSession, session_id)
        if live is None:
            raise InvalidRequest(f"no live session {session_id}")
        if live.state == LiveState.scheduled:
            live.state, live.ended_at, live.end_reason = LiveState.ended, utcnow(), "cancelled"
        elif live.state in (LiveState.capturing, LiveState.finalizing):
            live.stop_requested = True
        if actor is not None:
            state = live.state.value
            audit.record_by(session, actor, "live_stop", "live", session_id, state=state)
        return live.state


def watchdog(settings: Settings) -> list[int]:
    """Queue a capture for each due scheduled session and each one whose worker is gone."""
    with session_scope(settings.db_url) as session:
        ids = live_state.due_or_abandoned(session, timedelta(seconds=settings.live_stale_s))
    for session_id in ids:
        send_live(settings, session_id)
    return ids
