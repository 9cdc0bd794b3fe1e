"""Who may put our pages in a frame: nobody, except the embed player.

Every response says ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'`` (clickjacking),
except ``/embed/…``, which exists to be framed by any site (``frame-ancestors *``). The other
security headers (``api.guards.security_headers``) are added here too, before ``frame-ancestors``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from api.guards.security_headers import secure_headers

EMBED_PREFIX = "/embed/"


def _with_frame_ancestors(
    headers: list[tuple[bytes, bytes]], embed: bool
) -> list[tuple[bytes, bytes]]:
    directive = b"frame-ancestors *" if embed else b"frame-ancestors 'none'"
    kept = [(k, v) for k, v in headers if k.lower() != b"x-frame-options"]
    if not embed:
        kept.append((b"x-frame-options", b"DENY"))
    out, found = [], False
    for key, value in kept:
        if key.lower() == b"content-security-policy":
            found = True
            parts = [p.strip() for p in value.split(b";") if p.strip()]
            parts = [p for p in parts if not p.lower().startswith(b"frame-ancestors")]
            value = b"; ".join([*parts, directive])
        out.append((key, value))
    if not found:
        out.append((b"content-security-policy", directive))
    return out


class FramingMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embed = scope.get("path", "").startswith(EMBED_PREFIX)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = secure_headers(list(message.get("headers", [])), https)
                message["headers"] = _with_frame_ancestors(headers, embed)
            await send(message)

        await self.app(scope, receive, send_with_headers)
