"""Public pages, rendered on the server so they work without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from meilisearch.errors import MeilisearchError

from api.deps import SearchDep, SessionDep, SettingsDep
from api.recordings import latest_recordings, public_recording
from search.query import search_segments
from web.templating import templates

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html", {"latest": latest_recordings(session)})


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    settings: SettingsDep,
    client: SearchDep,
    q: Annotated[str, Query(max_length=500)] = "",
    page: Annotated[int, Query(ge=1, le=250)] = 1,
    language: Annotated[str | None, Query(max_length=8, pattern=r"^[a-z]{2,3}$")] = None,
    body: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9-]+$")] = None,
) -> HTMLResponse:
    query = q.strip()
    context: dict = {
        "query": query,
        "results": None,
        "error": None,
        "language": language,
        "body": body,
    }
    status = 200
    if query:
        try:
            context["results"] = search_segments(
                client, settings.meili_index, query, page=page, language=language, body=body
            )
        except MeilisearchError:
            context["error"] = "Search is unavailable right now. Please try again in a minute."
            status = 503
    return templates.TemplateResponse(request, "search.html", context, status_code=status)


@router.get("/r/{recording_id}", response_class=HTMLResponse)
def recording_page(
    request: Request,
    session: SessionDep,
    recording_id: int,
    t: Annotated[float, Query(ge=0, description="start playback at this second")] = 0.0,
) -> HTMLResponse:
    recording = public_recording(session, recording_id)
    start = min(t, recording.duration_s)
    segments = recording.segments
    current = None
    for seg in segments:
        if seg.start <= start + 0.05:
            current = seg
        else:
            break
    if start <= 0:
        current = None
    return templates.TemplateResponse(
        request,
        "recording.html",
        {
            "rec": recording,
            "segments": segments,
            "current": current,
            "start": f"{start:.3f}".rstrip("0").rstrip(".") if start > 0 else "",
        },
    )
