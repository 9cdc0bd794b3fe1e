"""What a page shows of a live capture: its session and the gaps where the stream was lost."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import LiveGap, LiveSession, Recording, Segment


def session_of(session: Session, recording: Recording) -> LiveSession | None:
    return session.scalar(select(LiveSession).where(LiveSession.recording_id == recording.id))


def gaps_of(session: Session, live: LiveSession | None) -> list[LiveGap]:
    if live is None:
        return []
    return list(
        session.scalars(select(LiveGap).where(LiveGap.session_id == live.id).order_by(LiveGap.at_s))
    )


def gaps_before(segments: list[Segment], gaps: list[LiveGap]) -> dict[str, list[LiveGap]]:
    """For the page: each gap goes before the first segment at or after it ("" = at the end)."""
    placed: dict[str, list[LiveGap]] = {}
    for gap in gaps:
        key = next((seg.id for seg in segments if seg.start >= gap.at_s - 0.5), "")
        placed.setdefault(key, []).append(gap)
    return placed
