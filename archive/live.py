"""Live state and paths: session transitions, each atomic so two workers never capture one
stream, and where a capture's files lie.

Mirrors ``archive.jobs``: a capture is claimed by a compare-and-set on ``attempts``; a session
``capturing`` whose owner process is dead (same host) or silent for ``stale_after`` is claimable
again, which is how a restarted worker resumes a capture after a crash.

Files: ``<data>/live/<session>/run-NNN/`` per connection (HLS ``.ts`` segments and their
playlist, the audio chunks under ``audio/``), read by the capture, its finalization and the live
page's player alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from archive.jobs import _owner_is_dead, this_process
from archive.models import LiveSession, LiveState, utcnow
from archive.settings import Settings

ACTIVE = (LiveState.capturing, LiveState.finalizing)


def live_root(settings: Settings) -> Path:
    return settings.data_dir / "live"


def session_dir(settings: Settings, session_id: int) -> Path:
    return live_root(settings) / str(session_id)


def run_dir(settings: Settings, session_id: int, run: int) -> Path:
    return session_dir(settings, session_id) / f"run-{run:03d}"


def is_abandoned(live: LiveSession, stale_after: timedelta) -> bool:
    """An active session whose capturing process is gone (or silent too long)."""
    if live.owner is None:
        return True
    beat = live.heartbeat_at
    stale = beat is None or beat < datetime.now(UTC) - stale_after
    return _owner_is_dead(live.owner) or stale


def claim(session: Session, session_id: int, stale_after: timedelta) -> LiveSession | None:
    """Take the session for this process, or None when it must not be captured here."""
    live = session.get(LiveSession, session_id)
    if live is None or live.state in (LiveState.ended, LiveState.failed):
        return None
    if live.state in ACTIVE and not is_abandoned(live, stale_after):
        return None
    if live.state == LiveState.scheduled and live.starts_at > datetime.now(UTC):
        return None
    now = utcnow()
    result = session.execute(
        update(LiveSession)
        .where(LiveSession.id == session_id, LiveSession.attempts == live.attempts)
        .values(
            state=LiveState.finalizing
            if live.state == LiveState.finalizing
            else LiveState.capturing,
            owner=this_process(),
            attempts=LiveSession.attempts + 1,
            heartbeat_at=now,
            started_at=live.started_at or now,
            updated_at=now,
        )
    )
    session.commit()
    if result.rowcount != 1:
        return None
    session.refresh(live)
    return live


def heartbeat(session: Session, live: LiveSession) -> bool:
    """Touch the heartbeat; False when another process took the session over meanwhile."""
    result = session.execute(
        update(LiveSession)
        .where(LiveSession.id == live.id, LiveSession.owner == this_process())
        .values(heartbeat_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def due_or_abandoned(session: Session, stale_after: timedelta) -> list[int]:
    """Scheduled sessions whose start has come, and active ones whose worker is gone."""
    now = utcnow()
    rows = session.scalars(
        select(LiveSession).where(
            or_(
                (LiveSession.state == LiveState.scheduled) & (LiveSession.starts_at <= now),
                LiveSession.state.in_(ACTIVE),
            )
        )
    ).all()
    return [
        live.id
        for live in rows
        if live.state == LiveState.scheduled or is_abandoned(live, stale_after)
    ]
