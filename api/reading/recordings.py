"""Reading recordings that the public may see (ready, published, not deleted)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException
from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from api.reading.results import visible
from archive.models import Body, Recording


def public_recording(session: Session, recording_id: int) -> Recording:
    recording = session.scalar(visible(select(Recording).where(Recording.id == recording_id)))
    if recording is None:
        raise HTTPException(status_code=404, detail=f"recording {recording_id} not found")
    return recording


@dataclass(frozen=True)
class RecordingPage:
    items: list[Recording]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_recordings(
    session: Session,
    *,
    page: int = 1,
    per_page: int = 20,
    body: Body | None = None,
    year: int | None = None,
) -> RecordingPage:
    """Public recordings, newest first, optionally of one body or one year."""
    query = visible(select(Recording))
    if body is not None:
        query = query.where(Recording.body_id == body.id)
    if year is not None:
        query = query.where(extract("year", Recording.recorded_on) == year)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Recording.recorded_on.desc(), Recording.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return RecordingPage(list(items), total, page, per_page)


def public_years(session: Session) -> list[tuple[int, int]]:
    """(year, number of recordings), newest year first."""
    year = extract("year", Recording.recorded_on)
    rows = session.execute(
        visible(select(year, func.count(Recording.id))).group_by(year).order_by(year.desc())
    )
    return [(int(y), n) for y, n in rows]


def public_bodies(session: Session) -> list[tuple[Body, int]]:
    rows = session.execute(
        visible(select(Body, func.count(Recording.id)).join(Recording.body))
        .group_by(Body.id)
        .order_by(Body.name)
    )
    return [(b, n) for b, n in rows]
