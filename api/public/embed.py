"""Embedding a recording (or a range of it) in other sites: a minimal player page for iframes and
an oEmbed endpoint (https://oembed.com) that hands out the iframe code.

``/embed/…`` is the only path other sites may frame (see ``api.guards.framing``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import RowId, SessionDep, SettingsDep
from api.reading.quotes import quote, requested_range
from api.reading.recordings import public_recording
from archive.text.ranges import TimeRange, seconds_text
from web.i18n import current
from web.links import recording_url
from web.templating import templates

router = APIRouter(tags=["embed"])

_PATH = re.compile(r"^/(?:r|embed)/(\d+)/?$")
VIDEO_SIZE = (640, 360)
AUDIO_SIZE = (640, 120)


def _start_end(rec: Any, t: str | None, end: str | None) -> tuple[TimeRange | None, bool]:
    """The range to play and whether it has an end of its own (``t`` alone plays to the end)."""
    if not t and not end:
        return None, False
    return requested_range(rec, t or "0", end), bool(end)


def embed_query(span: TimeRange | None, bounded: bool) -> str:
    if span is None:
        return ""
    return span.query() if bounded else f"t={seconds_text(span.start)}"


@router.get("/embed/{recording_id}", response_class=HTMLResponse, include_in_schema=False)
def embed_page(
    request: Request,
    recording_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    t: str | None = None,
    end: str | None = None,
) -> HTMLResponse:
    """A player and nothing else, starting at ``t`` and stopping at ``end``."""
    rec = public_recording(session, recording_id)
    span, bounded = _start_end(rec, t, end)
    fragment = ""
    if span is not None:
        fragment = f"#t={seconds_text(span.start)}" + (
            f",{seconds_text(span.end)}" if bounded else ""
        )
    query = embed_query(span, bounded)
    context = {
        "rec": rec,
        "quote": quote(rec, span if bounded else None, settings.site_url),
        "start": seconds_text(span.start) if span else "",
        "end": seconds_text(span.end) if bounded and span else "",
        "fragment": fragment,
        "permalink": recording_url(rec.id, site=settings.site_url, query=query),
    }
    return templates.TemplateResponse(request, "embed.html", context)


@router.get(
    "/oembed",
    tags=["embed"],
    responses={501: {"description": "a format other than json (oEmbed 2.3.4)"}},
)
def oembed(
    session: SessionDep,
    settings: SettingsDep,
    url: Annotated[str, Query(max_length=2000, description="a recording page or embed URL")],
    format: Annotated[str, Query(description="json (xml is not offered)")] = "json",
    maxwidth: Annotated[int | None, Query(ge=50, le=4000)] = None,
    maxheight: Annotated[int | None, Query(ge=50, le=4000)] = None,
) -> JSONResponse:
    """oEmbed for ``/r/{id}`` and ``/embed/{id}`` URLs of this site (``t``/``end`` kept)."""
    if format != "json":
        raise HTTPException(501, "only format=json is offered")
    parts = urlsplit(url)
    site = urlsplit(settings.site_url)
    match = _PATH.match(parts.path)
    if parts.netloc != site.netloc or match is None:
        raise HTTPException(404, "not a recording of this archive")
    rec = public_recording(session, int(match.group(1)))
    params = parse_qs(parts.query)
    t, end = params.get("t", [None])[0], params.get("end", [None])[0]
    span, bounded = _start_end(rec, t, end)
    width, height = VIDEO_SIZE if rec.has_video else AUDIO_SIZE
    if maxwidth is not None and maxwidth < width:
        height = round(height * maxwidth / width) if rec.has_video else height
        width = maxwidth
    if maxheight is not None and maxheight < height:
        if rec.has_video:
            width = round(width * maxheight / height)
        height = maxheight
    src = f"{settings.site_url}/embed/{rec.id}"
    if span is not None:
        src += "?" + embed_query(span, bounded)
    html = (
        f'<iframe src="{src}" width="{width}" height="{height}" frameborder="0" '
        f'allow="autoplay; fullscreen" allowfullscreen title="{_attr(rec.title)}"></iframe>'
    )
    data: dict[str, Any] = {
        "version": "1.0",
        "type": "video" if rec.has_video else "rich",
        "provider_name": "Ashyq",
        "provider_url": settings.site_url + "/",
        "title": rec.title,
        "author_name": rec.body.localized_name(current()),
        "author_url": f"{settings.site_url}/bodies/{rec.body.slug}",
        "html": html,
        "width": width,
        "height": height,
        "cache_age": 3600,
    }
    if rec.poster_path:
        data["thumbnail_url"] = f"{settings.site_url}/media/{rec.id}/poster"
    return JSONResponse(data)


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )
