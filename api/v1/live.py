"""Staff JSON routes for live captures: record now or at a time, list, stop."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import ActorDep, require_editor
from api.deps import RowId, SessionDep, SettingsDep
from archive.models import LiveGap, LiveSession
from workers.services.live_control import start_live, stop_live

router = APIRouter(prefix="/api/v1/live", tags=["staff"], dependencies=[Depends(require_editor)])


class LiveRequest(BaseModel):
    url: str = Field(max_length=2000, examples=["https://example.org/parliament/live.m3u8"])
    body: str = Field(max_length=64, examples=["mazhilis"])
    title: str = Field(max_length=500, examples=["Plenary session"])
    starts_at: datetime | None = Field(default=None, description="absent: record now")
    expected_end_at: datetime | None = None
    max_duration_s: int | None = Field(default=None, ge=60)
    chunk_s: int | None = Field(default=None, ge=3, le=120)
    event_type: str | None = None
    page_url: str | None = Field(
        default=None,
        max_length=2000,
        description="the broadcaster's page, published as the recording's source (the stream "
        "URL, which may carry a key, never is)",
        examples=["https://example.org/parliament/plenary"],
    )


class GapOut(BaseModel):
    at_s: float
    lost_s: float


class LiveOut(BaseModel):
    id: int
    url: str
    page_url: str | None
    body: str
    title: str
    state: str
    recording_id: int | None
    starts_at: str
    expected_end_at: str | None
    started_at: str | None
    ended_at: str | None
    end_reason: str | None
    error: str | None
    gaps: list[GapOut]


def _out(session: SessionDep, live: LiveSession | None) -> LiveOut:
    if live is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such live session")
    gaps = session.scalars(select(LiveGap).where(LiveGap.session_id == live.id))

    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return LiveOut(
        id=live.id,
        url=live.url,
        page_url=live.page_url,
        body=live.body.slug,
        title=live.title,
        state=live.state.value,
        recording_id=live.recording_id,
        starts_at=live.starts_at.isoformat(),
        expected_end_at=iso(live.expected_end_at),
        started_at=iso(live.started_at),
        ended_at=iso(live.ended_at),
        end_reason=live.end_reason,
        error=live.error,
        gaps=[GapOut(at_s=g.at_s, lost_s=g.lost_s) for g in gaps],
    )


@router.post("", status_code=201, response_model=LiveOut)
def create_live(
    request: LiveRequest, settings: SettingsDep, session: SessionDep, actor: ActorDep
) -> LiveOut:
    """Record a live stream now, or schedule it; refused with 400 and the reason (an editor may
    only name a body that exists)."""
    # The request's fields are start_live's parameters, by name; the service logs who started it.
    fields = request.model_dump(exclude={"url"})
    session_id = start_live(settings, request.url, **fields, actor=actor)
    return _out(session, session.get(LiveSession, session_id))


@router.get("", response_model=list[LiveOut])
def list_live(session: SessionDep) -> list[LiveOut]:
    rows = session.scalars(select(LiveSession).order_by(LiveSession.id.desc()).limit(100))
    return [_out(session, live) for live in rows]


@router.post("/{session_id}/stop", response_model=LiveOut)
def stop(session_id: RowId, settings: SettingsDep, session: SessionDep, actor: ActorDep) -> LiveOut:
    """End a capture (what was recorded is finalized) or cancel a scheduled one."""
    # An unknown session is a 404, told here: the service refuses it as a bad request (a 400).
    if session.get(LiveSession, session_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no live session {session_id}")
    stop_live(settings, session_id, actor=actor)  # the service logs who stopped it
    session.expire_all()
    return _out(session, session.get(LiveSession, session_id))
