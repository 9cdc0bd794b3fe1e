"""Public pages, rendered on the server so they work without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from sqlalchemy import select

from api.deps import RowId, SearchDep, SessionDep, SettingsDep, Year
from api.guards.media_safety import media_headers
from api.reading.live import gaps_before, gaps_of, session_of
from api.reading.quotes import page_range
from api.reading.recordings import list_recordings, public_bodies, public_recording, public_years
from api.reading.results import event_type_name, facet_values, language_name, run_search
from api.reading.search_params import SearchParamsDep
from archive.models import Body
from archive.text.captions import to_vtt
from search import QueryError, SearchUnavailable, fold
from web.i18n import N_, current
from web.i18n import gettext as _
from web.links import recording_url
from web.templating import templates

router = APIRouter(tags=["pages"], include_in_schema=False)

FACET_ORDER = [
    ("body", N_("Body")),
    ("year", N_("Year")),
    ("language", N_("Language")),
    ("event_type", N_("Event type")),
    ("speaker", N_("Speaker")),
]
SORT_LABELS = [
    ("relevance", N_("Relevance")),
    ("newest", N_("Newest first")),
    ("oldest", N_("Oldest first")),
]


def _common(request: Request) -> dict[str, Any]:
    return {"event_type_name": event_type_name, "language_name": language_name}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    context = {
        **_common(request),
        "latest": list_recordings(session, per_page=10).items,
        "bodies": public_bodies(session),
        "years": public_years(session),
    }
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    client: SearchDep,
    params: SearchParamsDep,
) -> HTMLResponse:
    context: dict[str, Any] = {
        **_common(request),
        "query": params.q,
        "params": params,
        "results": None,
        "cards": [],
        "facets": {},
        "facet_order": FACET_ORDER,
        "sort_labels": SORT_LABELS,
        "error": None,
    }
    status = 200
    # Not api.errors' answers: the page shows its form again, with the query and the message.
    if params.q or params.filters.active():
        try:
            context["results"], context["cards"] = run_search(settings, session, client, params)
            context["facets"] = facet_values(session, context["results"].facets)
        except QueryError as exc:
            context["error"], status = str(exc), 400
        except SearchUnavailable:
            context["error"] = _("Search is unavailable right now. Please try again in a minute.")
            status = 503
    return templates.TemplateResponse(request, "search.html", context, status_code=status)


@router.get("/search/help", response_class=HTMLResponse)
def search_help(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "search_help.html", _common(request))


@router.get("/r/{recording_id}", response_class=HTMLResponse)
def recording_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    recording_id: RowId,
    t: Annotated[str, Query(max_length=40, description="start at this second (83.5, 1:23.5)")] = "",
    end: Annotated[str, Query(max_length=40, description="stop at this second; quotes t–end")] = "",
    find: Annotated[str, Query(max_length=200, description="words to find in the transcript")] = "",
) -> HTMLResponse:
    recording = public_recording(session, recording_id)
    quoted = page_range(recording, t, end, settings)
    start = quoted["start_s"]
    segments = recording.segments
    current = None
    if start > 0:
        for seg in segments:
            if seg.start <= start + 0.05:
                current = seg
            else:
                # In the pause before a segment (a link to whole seconds lands there), the
                # segment about to play is the current one, not the one that has ended.
                if (current is None or current.end < start) and seg.start - start <= 2.0:
                    current = seg
                break
    live = session_of(session, recording)
    needle = fold(find) if find.strip() else ""
    found = [seg.id for seg in segments if needle and needle in fold(seg.text)] if needle else []
    context = {
        **_common(request),
        "rec": recording,
        "segments": segments,
        "current": current,
        "start": f"{start:.3f}".rstrip("0").rstrip(".") if start > 0 else "",
        "find": find,
        "found": set(found),
        "found_count": len(found),
        "page_url": recording_url(recording.id, site=settings.site_url),
        "site_url": settings.site_url,
        **quoted,
        "live": live,
        "gaps": gaps_before(segments, gaps_of(session, live)),
    }
    return templates.TemplateResponse(request, "recording.html", context)


@router.get("/r/{recording_id}/captions.vtt", response_class=PlainTextResponse)
def captions(session: SessionDep, recording_id: RowId) -> PlainTextResponse:
    """The transcript as a WebVTT captions track for the player."""
    recording = public_recording(session, recording_id)
    return PlainTextResponse(
        to_vtt(recording.segments),
        media_type="text/vtt; charset=utf-8",
        headers=media_headers({"Cache-Control": "public, max-age=60"}),
    )


Page = Annotated[int, Query(ge=1, le=10000)]


@router.get("/recordings", response_class=HTMLResponse)
def browse_latest(request: Request, session: SessionDep, page: Page = 1) -> HTMLResponse:
    listing = list_recordings(session, page=page)
    return _browse(request, _("Latest recordings"), listing, {"years": public_years(session)})


@router.get("/bodies", response_class=HTMLResponse)
def browse_bodies(request: Request, session: SessionDep) -> HTMLResponse:
    context = {**_common(request), "bodies": public_bodies(session)}
    return templates.TemplateResponse(request, "bodies.html", context)


@router.get("/bodies/{slug}", response_class=HTMLResponse)
def browse_body(request: Request, session: SessionDep, slug: str, page: Page = 1) -> HTMLResponse:
    body = session.scalar(select(Body).where(Body.slug == slug))
    if body is None:
        raise HTTPException(404, _("No body %(slug)s in the archive.") % {"slug": slug})
    listing = list_recordings(session, page=page, body=body)
    return _browse(request, body.localized_name(current()), listing, {"body": body})


@router.get("/years/{year}", response_class=HTMLResponse)
def browse_year(request: Request, session: SessionDep, year: Year, page: Page = 1) -> HTMLResponse:
    if not 1900 <= year <= 2200:
        raise HTTPException(404, _("No recordings from %(year)s.") % {"year": year})
    listing = list_recordings(session, page=page, year=year)
    return _browse(request, _("Recordings of %(year)s") % {"year": year}, listing, {"year": year})


def _browse(request: Request, title: str, listing: Any, extra: dict[str, Any]) -> HTMLResponse:
    if listing.page > listing.pages:
        raise HTTPException(404, _("There is no page %(page)s.") % {"page": listing.page})
    context = {**_common(request), "title": title, "listing": listing, **extra}
    return templates.TemplateResponse(request, "browse.html", context)
