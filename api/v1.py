"""JSON API, version 1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from meilisearch.errors import MeilisearchError
from pydantic import BaseModel

from api.deps import SearchDep, SessionDep, SettingsDep
from api.recordings import public_recording
from search.query import search_segments

router = APIRouter(prefix="/api/v1", tags=["api v1"])


class SearchHit(BaseModel):
    segment_id: str
    recording_id: int
    start: float
    end: float
    moment: float
    text: str
    highlight_html: str
    title: str
    body: str
    body_name: str
    date: str
    language: str | None
    url: str


class SearchResponse(BaseModel):
    query: str
    total: int
    page: int
    per_page: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = {}


class SegmentOut(BaseModel):
    id: str
    start: float
    end: float
    text: str
    language: str | None
    words: list[tuple[float, float, str, float]]


class RecordingOut(BaseModel):
    id: int
    title: str
    body: str
    body_name: str
    date: str
    duration_s: float
    languages: list[str]
    sha256: str
    has_video: bool
    media_url: str
    page_url: str
    transcript_model: str | None
    segments: list[SegmentOut]


@router.get("/search", response_model=SearchResponse)
def api_search(
    settings: SettingsDep,
    client: SearchDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="words to find")],
    page: Annotated[int, Query(ge=1, le=250)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    body: Annotated[str | None, Query(max_length=64, description="body slug")] = None,
    language: Annotated[str | None, Query(max_length=8, description="ISO 639-1 code")] = None,
) -> SearchResponse:
    """Segments matching ``q`` across published recordings, best first.

    Every word must match, in any script or spelling (Kazakh Cyrillic, official or informal
    Latin, Russian keyboard) and, for Kazakh, in any inflected form. ``facets`` counts the hits
    per segment language and body.
    """
    try:
        result = search_segments(
            client,
            settings.meili_index,
            q,
            page=page,
            per_page=per_page,
            body=body,
            language=language,
        )
    except MeilisearchError as exc:
        raise HTTPException(status_code=503, detail="search is unavailable") from exc
    return SearchResponse(
        query=q,
        facets=result.facets,
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        hits=[
            SearchHit(
                segment_id=h.id,
                recording_id=h.recording_id,
                start=h.start,
                end=h.end,
                moment=h.moment,
                text=h.text,
                highlight_html=h.html,
                title=h.title,
                body=h.body,
                body_name=h.body_name,
                date=h.date,
                language=h.language,
                url=f"{settings.site_url}/r/{h.recording_id}?t={int(h.moment)}",
            )
            for h in result.hits
        ],
    )


@router.get("/recordings/{recording_id}", response_model=RecordingOut)
def api_recording(recording_id: int, session: SessionDep, settings: SettingsDep) -> RecordingOut:
    """One published recording with its full transcript (segments with word timings)."""
    rec = public_recording(session, recording_id)
    return RecordingOut(
        id=rec.id,
        title=rec.title,
        body=rec.body.slug,
        body_name=rec.body.name,
        date=rec.recorded_on.isoformat(),
        duration_s=rec.duration_s,
        languages=rec.languages,
        sha256=rec.sha256,
        has_video=rec.has_video,
        media_url=f"{settings.site_url}/media/{rec.id}/playable",
        page_url=f"{settings.site_url}/r/{rec.id}",
        transcript_model=rec.transcript_model,
        segments=[
            SegmentOut(
                id=s.id,
                start=s.start,
                end=s.end,
                text=s.text,
                language=s.language,
                words=[tuple(w) for w in s.words],
            )
            for s in rec.segments
        ],
    )
