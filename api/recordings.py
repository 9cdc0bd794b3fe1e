"""Reading recordings that the public may see (ready, published, not deleted)."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Recording, RecordingStatus


def public_recording(session: Session, recording_id: int) -> Recording:
    recording = session.get(Recording, recording_id)
    if (
        recording is None
        or recording.status != RecordingStatus.ready
        or not recording.published
        or recording.deleted_at is not None
    ):
        raise HTTPException(status_code=404, detail=f"recording {recording_id} not found")
    return recording


def latest_recordings(session: Session, limit: int = 10) -> list[Recording]:
    query = (
        select(Recording)
        .where(
            Recording.status == RecordingStatus.ready,
            Recording.published.is_(True),
            Recording.deleted_at.is_(None),
        )
        .order_by(Recording.recorded_on.desc(), Recording.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
