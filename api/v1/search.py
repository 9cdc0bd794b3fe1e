"""JSON API, version 1: search, and one recording with its transcript."""

from __future__ import annotations

from typing import Annotated, Any

import meilisearch
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import RowId, SearchDep, SessionDep, SettingsDep
from api.reading.recordings import public_recording
from api.reading.results import Card, Moment, run_search
from api.reading.search_params import SearchParams, SearchParamsDep
from api.v1.schemas import SegmentOut, segment_out
from archive.db import session_factory
from archive.models import Recording
from archive.settings import Settings
from search import Results
from web.i18n import current
from web.links import recording_url

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
    params.require_something()
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
        results, found = run_search(
            settings, session, client, params, per_page=per_page, context=False
        )
        groups = [_recording_hits(settings.site_url, card) for card in found]
        return _search_response(params, results, groups).model_dump_json()
    finally:
        session.close()


def _named(rec: Recording) -> dict[str, str]:
    """How every answer here names a recording: title, body (slug and name), date."""
    return {
        "title": rec.title,
        "body": rec.body.slug,
        "body_name": rec.body.localized_name(current()),
        "date": rec.recorded_on.isoformat(),
    }


def _described(rec: Recording) -> dict[str, Any]:
    """How an answer about a whole recording describes it: named, with its length and
    languages."""
    return {**_named(rec), "duration_s": rec.duration_s, "languages": rec.languages}


def _hit(site: str, rec: Recording, moment: Moment) -> SearchHit:
    """One moment: the segment, and the second its first matched word is spoken."""
    return SearchHit(
        segment_id=moment.hit.id,
        recording_id=rec.id,
        start=moment.hit.start,
        end=moment.hit.end,
        moment=moment.moment,
        text=moment.hit.text,
        highlight_html=moment.hit.html,
        snippet_html=moment.hit.snippet_html,
        **_named(rec),
        language=moment.hit.language,
        speaker=moment.hit.speaker,
        url=recording_url(rec.id, site=site, t=moment.moment),
    )


def _recording_hits(site: str, card: Card) -> RecordingHitsOut:
    rec = card.recording
    return RecordingHitsOut(
        recording_id=rec.id,
        **_described(rec),
        event_type=rec.event_type,
        hit_count=card.hit_count,
        live=rec.status == "live",
        url=recording_url(rec.id, site=site),
        moments=[_hit(site, rec, m) for m in card.moments],
    )


# The filters' names in the answer are the URL's (``from``, ``to``), not the fields'.
FILTER_NAMES = {"date_from": "from", "date_to": "to"}


def _search_response(
    params: SearchParams, results: Results, groups: list[RecordingHitsOut]
) -> SearchResponse:
    active = {
        FILTER_NAMES.get(k, k): (v.isoformat() if hasattr(v, "isoformat") else v)
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
        **_described(rec),
        sha256=rec.sha256,
        has_video=rec.has_video,
        media_url=f"{settings.site_url}/media/{rec.id}/playable",
        page_url=recording_url(rec.id, site=settings.site_url),
        transcript_model=rec.transcript_model,
        segments=[segment_out(s) for s in rec.segments],
    )
