"""Per-client rate limits for the public machine-facing endpoints (JSON API, feeds, clips).

A fixed one-minute window per client: ``ASHYQ_RATE_LIMIT_PER_MINUTE`` requests for a client known
by its address, an API key's own limit for a request with ``X-API-Key``. Over the limit the answer
is 429 with ``Retry-After`` (seconds to the next window); every limited answer carries
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``.

Counters live in the web process's memory: with several web processes each counts on its own,
so the documented limit holds per process.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from archive.db import session_scope
from archive.models import ApiKey
from archive.settings import Settings

WINDOW_S = 60
LIMITED_PREFIXES = ("/api/", "/feeds/", "/search.atom", "/alerts")
# Clip files, records, pages and status (/r/{id}/clip…): each may queue an encode.
CLIP_PATH = re.compile(r"^/r/\d+/clip")
KEY_HEADER = "x-api-key"
KEY_CACHE_S = 60.0

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Window:
    started: float
    count: int


class RateLimiter:
    """Counts requests per client in fixed windows; ``hit`` says whether one more may pass."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.windows: dict[str, Window] = {}

    def hit(self, client: str, limit: int) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until the window resets)."""
        now = self.clock()
        window = self.windows.get(client)
        if window is None or now - window.started >= WINDOW_S:
            if len(self.windows) > 100_000:  # forget finished windows now and then
                self.windows = {k: w for k, w in self.windows.items() if now - w.started < WINDOW_S}
            window = self.windows[client] = Window(now, 0)
        reset = WINDOW_S - (now - window.started)
        if window.count >= limit:
            return False, 0, reset
        window.count += 1
        return True, limit - window.count, reset


class RateLimitMiddleware:
    """ASGI middleware applying ``RateLimiter`` to the limited paths."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = RateLimiter()
        self._keys: dict[str, tuple[float, int | None]] = {}

    def _key_limit(self, key: str) -> int | None:
        """The key's per-minute limit, None for an unknown or revoked key (cached briefly)."""
        digest = hash_key(key)
        cached = self._keys.get(digest)
        if cached and time.monotonic() - cached[0] < KEY_CACHE_S:
            return cached[1]
        with session_scope(self.settings.db_url) as session:
            row = session.scalar(
                select(ApiKey).where(ApiKey.key_sha256 == digest, ApiKey.revoked_at.is_(None))
            )
            limit = row.per_minute if row is not None else None
        self._keys[digest] = (time.monotonic(), limit)
        return limit

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        path = scope.get("path", "")
        limited = path.startswith(LIMITED_PREFIXES) or CLIP_PATH.match(path)
        if scope["type"] != "http" or not limited:
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":  # CORS preflight
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get(KEY_HEADER)
        if key:
            limit = await run_in_threadpool(self._key_limit, key)
            if limit is None:
                await _json(send, 401, "invalid_api_key", "the X-API-Key is unknown or revoked")
                return
            client = f"key:{hash_key(key)}"
        else:
            limit = self.settings.rate_limit_per_minute
            client = f"ip:{(scope.get('client') or ('unknown', 0))[0]}"
        allowed, remaining, reset = self.limiter.hit(client, limit)
        extra = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", str(math.ceil(reset)).encode()),
        ]
        if not allowed:
            detail = f"over {limit} requests a minute; try again in {math.ceil(reset)} s"
            retry = [(b"retry-after", str(math.ceil(reset)).encode()), *extra]
            await _json(send, 429, "rate_limited", detail, retry)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _json(
    send: Send, status: int, code: str, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"error": code, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
