"""Conditional GET: an ETag from the body and Last-Modified from the newest item, so that feed
readers and API clients that poll get a 304 with no body when nothing changed; and the same 304
for media and clip files, which shared caches must revalidate every minute (``REVALIDATE``)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

# For media and clips. A day's max-age let shared caches go on serving a recording for a day
# after staff withdrew or purged it; a minute bounds that, and must-revalidate plus the ETag make
# the check afterwards a 304 with no body (``RevalidatedFile``).
REVALIDATE = "public, max-age=60, must-revalidate"
# Headers describing a body, which a 304 (that has none) must not send.
_BODY_HEADERS = {"content-length", "content-type", "content-range", "content-disposition"}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match asks (RFC 9110 §13.1.2)."""
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag.removeprefix("W/") in tags or "*" in tags


def conditional(
    request: Request,
    body: bytes,
    media_type: str,
    last_modified: datetime,
    max_age: int = 300,
) -> Response:
    """``body`` with validators, or 304 when the client's copy is current.

    If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    """
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    modified = _utc(last_modified).replace(microsecond=0)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": f"public, max-age={max_age}",
    }
    match = request.headers.get("if-none-match")
    since = request.headers.get("if-modified-since")
    if match is not None:
        if _matches(match, etag):
            return Response(status_code=304, headers=headers)
    elif since:
        try:
            if modified <= _utc(parsedate_to_datetime(since)):
                return Response(status_code=304, headers=headers)
        except (TypeError, ValueError):
            pass
    return Response(body, media_type=media_type, headers=headers)


class RevalidatedFile(FileResponse):
    """A file (with Range, as ``FileResponse``) that also answers a matching If-None-Match with
    304: Starlette's sends the whole file again, which every minute's revalidation of a large
    recording would make costly. Give it the ETag and ``REVALIDATE`` in ``headers``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = Headers(scope=scope).get("if-none-match")
        etag = self.headers.get("etag")
        if match is None or etag is None or not _matches(match, etag):
            await super().__call__(scope, receive, send)
            return
        kept = {k: v for k, v in self.headers.items() if k not in _BODY_HEADERS}
        await Response(status_code=304, headers=kept)(scope, receive, send)
