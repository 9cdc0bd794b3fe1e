"""Media on a separate, cookieless origin (``ASHYQ_MEDIA_URL``), when one is configured.

The site's session and CSRF cookies are host-only, so a browser never sends them to another host
name. With a media origin set, ``/media/…`` asked of the site is redirected there (307, so old
links and feeds keep working), and the media host answers nothing but ``/media/…``: no page of
the site, and no staff sign-in, ever runs on the origin where uploaded bytes are served.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse

MEDIA_PREFIX = "/media/"


class MediaOriginMiddleware:
    def __init__(self, app: Any, media_url: str) -> None:
        self.app = app
        self.media_url = media_url.rstrip("/")
        self.media_host = urlsplit(self.media_url).netloc.lower()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        on_media_host = Headers(scope=scope).get("host", "").lower() == self.media_host
        if path.startswith(MEDIA_PREFIX) and not on_media_host:
            query = scope.get("query_string", b"").decode("latin-1")
            target = f"{self.media_url}{path}" + (f"?{query}" if query else "")
            await RedirectResponse(target, status_code=307)(scope, receive, send)
        elif on_media_host and not path.startswith(MEDIA_PREFIX):
            answer = PlainTextResponse("this host serves media files only", status_code=404)
            await answer(scope, receive, send)
        else:
            await self.app(scope, receive, send)
