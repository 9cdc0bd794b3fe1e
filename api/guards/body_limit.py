"""A cap on request bodies for the public upload endpoint (``POST /api/v1/verify``).

The multipart parser spools a whole file to disk before the route sees it, so a check in the route
comes too late: anyone could fill the disk with one request. This middleware answers 413 from the
``Content-Length`` alone, and for a body sent without one (chunked) raises a 413 out of the
parser's ``receive`` once it passes the cap, before the parser has kept more than that.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

LIMITED = {("POST", "/api/v1/verify")}


class BodyLimitMiddleware:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (scope.get("method"), scope.get("path")) not in LIMITED:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def counted_receive() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI passes an HTTPException from body parsing on to the app's handler.
                    raise HTTPException(413, _detail(self.max_bytes))
            return message

        await self.app(scope, counted_receive, send)


def _detail(max_bytes: int) -> str:
    return f"the upload is over the maximum of {max_bytes} bytes (the largest clip cut here)"


async def _too_large(send: Any, max_bytes: int) -> None:
    detail = _detail(max_bytes)
    body = json.dumps({"error": "too_large", "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
