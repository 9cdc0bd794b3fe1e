"""Staff JSON routes: fetch from a URL, watch sources. Personal API token or a staff session."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import ActorDep, require_editor
from api.deps import SessionDep, SettingsDep
from archive.models import Source
from workers.services.sources import add_source, submit_url

router = APIRouter(prefix="/api/v1", tags=["staff"], dependencies=[Depends(require_editor)])


class FetchRequest(BaseModel):
    url: str = Field(max_length=2000, examples=["https://example.org/briefing.mp4"])
    body: str = Field(max_length=64, examples=["mazhilis"])
    title: str | None = Field(default=None, max_length=500)
    date: str | None = Field(default=None, examples=["2026-03-15"])


class Queued(BaseModel):
    job_id: int


class SourceRequest(BaseModel):
    url: str = Field(max_length=2000)
    body: str = Field(max_length=64)
    every_s: int = Field(default=1800, ge=60)
    since: date | None = None
    max_items: int | None = Field(default=None, ge=1)


class SourceOut(BaseModel):
    id: int
    url: str
    body: str
    every_s: int
    last_polled_at: str | None
    last_error: str | None
    items_seen: int


@router.post("/recordings/fetch", status_code=202, response_model=Queued)
def fetch_recording(request: FetchRequest, settings: SettingsDep, actor: ActorDep) -> Queued:
    """Queue a fetch (yt-dlp); refused with 400 and the reason before anything is queued. The
    service writes the audit entry; an editor may only name an existing body."""
    job_id = submit_url(
        settings,
        request.url,
        body=request.body,
        title=request.title,
        when=request.date,
        actor=actor,
    )
    return Queued(job_id=job_id)


@router.post("/sources", status_code=201, response_model=SourceOut)
def create_source(
    request: SourceRequest, settings: SettingsDep, session: SessionDep, actor: ActorDep
) -> SourceOut:
    """Watch a channel, playlist or feed; refused with 400 and the reason. The service writes
    the audit entry; an editor may only name an existing body."""
    # The request's fields are add_source's parameters, by name.
    fields = request.model_dump(exclude={"url"})
    source_id = add_source(settings, request.url, **fields, actor=actor)
    return _out(session.get(Source, source_id))


@router.get("/sources", response_model=list[SourceOut])
def list_sources(session: SessionDep) -> list[SourceOut]:
    return [_out(s) for s in session.scalars(select(Source).order_by(Source.id))]


def _out(source: Source | None) -> SourceOut:
    assert source is not None
    return SourceOut(
        id=source.id,
        url=source.url,
        body=source.body.slug,
        every_s=source.every_s,
        last_polled_at=source.last_polled_at.isoformat() if source.last_polled_at else None,
        last_error=source.last_error,
        items_seen=source.items_seen,
    )
