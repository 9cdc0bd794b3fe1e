"""Conditional GET: an ETag from the body and Last-Modified from the newest item, so that feed
readers and API clients that poll get a 304 with no body when nothing changed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
    elif since:
        try:
            if modified <= _utc(parsedate_to_datetime(since)):
                return Response(status_code=304, headers=headers)
        except (TypeError, ValueError):
            pass
    return Response(body, media_type=media_type, headers=headers)
