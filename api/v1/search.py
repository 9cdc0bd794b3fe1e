"""JSON API, version 1."""

from __future__ import annotations

from typing import Annotated

import meilisearch
from fastapi import APIRouter, HTTPException, Query, Response
from meilisearch.errors import MeilisearchError
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import RowId, SearchDep, SessionDep, SettingsDep
from api.public.recordings import public_recording
from api.public.results import cards, recording_dates
from api.public.search_params import SearchParams, SearchParamsDep
from archive.db import session_factory
from archive.settings import Settings
from search.meili.query import QueryError, search_recordings
from web.i18n import current

router = APIRouter(prefix="/api/v1", tags=["api v1"])


class SearchHit(BaseModel):
    segment_id: str
    recording_id: int
    start: float
    end: float
    moment: float
    text: str
    highlight_html: str
    snippet_html: str
    title: str
    body: str
    body_name: str
    date: str
    language: str | None
    speaker: str | None
    url: str


class RecordingHitsOut(BaseModel):
    recording_id: int
    title: str
    body: str
    body_name: str
    date: str
    duration_s: float
    event_type: str | None
    languages: list[str]
    hit_count: int
    url: str
    moments: list[SearchHit]
    live: bool = False


class SearchResponse(BaseModel):
    query: str
    sort: str
    filters: dict[str, str | int]
    total: int
    total_recordings: int
    page: int
    per_page: int
    pages: int
    recordings: list[RecordingHitsOut]
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = {}


class SegmentOut(BaseModel):
    id: str
    start: float
    end: float
    text: str
    language: str | None
    speaker: str | None
    reviewed: bool
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
async def api_search(
    settings: SettingsDep,
    client: SearchDep,
    params: SearchParamsDep,
    per_page: Annotated[int, Query(ge=1, le=50, description="recordings per page")] = 10,
) -> Response:
    """Recordings with moments matching ``q``, best first (or by date with ``sort``).

    Every word must match, in any script or spelling (Kazakh Cyrillic, official or informal
    Latin, Russian keyboard) and, for Kazakh, in any inflected form; ``"a phrase"`` matches the
    words adjacent and in order, ``-word`` / ``-"a phrase"`` leave out the segments that contain
    them (OR, wildcards and field names are not supported). ``recordings`` holds up to three best
    moments of each recording; ``hits`` the same moments as one list. ``total`` counts matching
    segments, ``total_recordings`` recordings. ``facets`` counts matching segments per body, year,
    language, event type and speaker. An empty ``q`` with a filter lists what the filter admits.
    """
    if not params.q and not params.filters.active():
        raise HTTPException(400, "q: give words to find, or at least one filter")
    # One trip through the thread pool for all the blocking work (Meilisearch, the database,
    # JSON), where a sync route with a session dependency took three (bench/search.py).
    body = await run_in_threadpool(_search_json, settings, client, params, per_page)
    return Response(body, media_type="application/json")


def _search_json(
    settings: Settings, client: meilisearch.Client, params: SearchParams, per_page: int
) -> str:
    """The search answer as JSON text: built and checked as ``SearchResponse`` here, so FastAPI
    neither validates it a second time against ``response_model`` nor serializes it again."""
    session = session_factory(settings.db_url)()
    try:
        return _search_response(settings, session, client, params, per_page).model_dump_json()
    finally:
        session.close()


def _search_response(
    settings: Settings,
    session: Session,
    client: meilisearch.Client,
    params: SearchParams,
    per_page: int,
) -> SearchResponse:
    """The page of recordings for ``params``, each with its best moments, joined with the
    database (titles, bodies, the second each moment's first matched word is spoken)."""
    try:
        results = search_recordings(
            client,
            settings.meili_index,
            params.q,
            filters=params.filters,
            sort=params.sort,
            page=params.page,
            per_page=per_page,
            recording_dates=recording_dates(session),
        )
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from exc
    except MeilisearchError as exc:
        raise HTTPException(status_code=503, detail="search is unavailable") from exc
    groups = []
    for card in cards(session, results, context=False):
        rec = card.recording
        moments = [
            SearchHit(
                segment_id=m.hit.id,
                recording_id=rec.id,
                start=m.hit.start,
                end=m.hit.end,
                moment=m.moment,
                text=m.hit.text,
                highlight_html=m.hit.html,
                snippet_html=m.hit.snippet_html,
                title=rec.title,
                body=rec.body.slug,
                body_name=rec.body.localized_name(current()),
                date=rec.recorded_on.isoformat(),
                language=m.hit.language,
                speaker=m.hit.speaker,
                url=f"{settings.site_url}/r/{rec.id}?t={int(m.moment)}",
            )
            for m in card.moments
        ]
        groups.append(
            RecordingHitsOut(
                recording_id=rec.id,
                title=rec.title,
                body=rec.body.slug,
                body_name=rec.body.localized_name(current()),
                date=rec.recorded_on.isoformat(),
                duration_s=rec.duration_s,
                event_type=rec.event_type,
                languages=rec.languages,
                hit_count=card.hit_count,
                live=rec.status == "live",
                url=f"{settings.site_url}/r/{rec.id}",
                moments=moments,
            )
        )
    active = {
        ("from" if k == "date_from" else "to" if k == "date_to" else k): (
            v.isoformat() if hasattr(v, "isoformat") else v
        )
        for k, v in params.filters.active().items()
    }
    return SearchResponse(
        query=params.q,
        sort=params.sort,
        filters=active,
        total=results.total_hits,
        total_recordings=results.total_recordings,
        page=results.page,
        per_page=results.per_page,
        pages=results.pages,
        recordings=groups,
        hits=[m for g in groups for m in g.moments],
        facets=results.facets,
    )


@router.get("/recordings/{recording_id}", response_model=RecordingOut)
def api_recording(recording_id: RowId, session: SessionDep, settings: SettingsDep) -> RecordingOut:
    """One published recording with its full transcript (segments with word timings)."""
    rec = public_recording(session, recording_id)
    return RecordingOut(
        id=rec.id,
        title=rec.title,
        body=rec.body.slug,
        body_name=rec.body.localized_name(current()),
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
                speaker=s.speaker.slug if s.speaker else None,
                reviewed=s.reviewed,
                words=[tuple(w) for w in s.words],
            )
            for s in rec.segments
        ],
    )
