"""Per-client rate limits for the public endpoints that cost the server: the JSON API, feeds,
search (HTML and Atom), recording pages with their exports and clips, media, oEmbed, alerts and
the staff login form.

A fixed one-minute window per client: ``ASHYQ_RATE_LIMIT_PER_MINUTE`` requests for a client known
by its address, an API key's own limit for a request with ``X-API-Key``. Over the limit the answer
is 429 with ``Retry-After`` (seconds to the next window); every limited answer carries
``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset``.

An ``X-API-Key`` is looked up once and remembered (unknown keys too) for ``KEY_CACHE_S`` in a
cache of at most ``KEY_CACHE_MAX`` keys; lookups are counted per address against the address's
limit, so a stream of made-up keys costs no database query each beyond that; and a request with an
unknown key counts against its address, so it cannot skip the limit either.

The counting is the ``limits`` library's fixed window (it starts at a client's first request),
in a storage every web process shares (``api.guards.limit_store``: the broker's Redis, or a
SQLite file in the data folder for the embedded default), so the limit holds for the archive,
however many web processes serve it. Should that storage fail, requests pass (and the failure is
logged once a minute): a broken counter must not take the archive down.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.guards.limit_store import make_storage
from archive.db import session_scope
from archive.models import ApiKey
from archive.settings import Settings

log = logging.getLogger(__name__)

WINDOW_S = 60
LIMITED_PREFIXES = (
    "/api/",
    "/feeds/",
    "/search.atom",
    "/alerts",
    "/media/",
    "/oembed",
    "/staff/login",
    "/r/",  # recording pages, captions, transcript exports, clips (each may queue an encode)
)
# The HTML search (/search, /search?q=…) but not its static help page.
SEARCH_PAGE = re.compile(r"^/search/?$")
KEY_HEADER = "x-api-key"
KEY_CACHE_S = 60.0
KEY_CACHE_MAX = 10_000

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class RateLimiter:
    """Counts requests per client in fixed one-minute windows (``limits``, in the shared
    storage); ``hit`` says whether one more may pass."""

    def __init__(self, storage: Storage) -> None:
        self.window = FixedWindowRateLimiter(storage)
        self._failed_at = -math.inf

    def hit(self, client: str, limit: int) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until the window resets)."""
        item = RateLimitItemPerMinute(limit)
        try:
            allowed = self.window.hit(item, client)
            stats = self.window.get_window_stats(item, client)
        except StorageError as exc:  # the storage's own errors (Redis down, SQLite locked…)
            now = time.monotonic()
            if now - self._failed_at >= WINDOW_S:
                self._failed_at = now
                log.warning("rate-limit storage failed, letting requests pass: %r", exc)
            return True, limit, WINDOW_S
        reset = min(WINDOW_S, max(1.0, stats.reset_time - time.time()))
        return allowed, stats.remaining, reset


def is_limited(path: str) -> bool:
    return path.startswith(LIMITED_PREFIXES) or SEARCH_PAGE.match(path) is not None


class KeyCache:
    """Key digest -> (when looked up, per-minute limit or None): least recently used out first,
    so neither many clients nor made-up keys grow it past ``size``."""

    def __init__(self, size: int = KEY_CACHE_MAX, ttl_s: float = KEY_CACHE_S) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._rows: OrderedDict[str, tuple[float, int | None]] = OrderedDict()

    def get(self, digest: str) -> tuple[bool, int | None]:
        """(known, limit): ``known`` is False when never looked up or looked up too long ago."""
        row = self._rows.get(digest)
        if row is None or time.monotonic() - row[0] >= self.ttl_s:
            return False, None
        self._rows.move_to_end(digest)
        return True, row[1]

    def put(self, digest: str, limit: int | None) -> None:
        self._rows[digest] = (time.monotonic(), limit)
        self._rows.move_to_end(digest)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rows)


class RateLimitMiddleware:
    """ASGI middleware applying ``RateLimiter`` to the limited paths."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.limiter = RateLimiter(make_storage(settings))
        self.keys = KeyCache()
        self.key_lookups = 0  # database queries made for keys (read by the tests)

    def _lookup(self, digest: str) -> int | None:
        """The key's per-minute limit from the database, None for an unknown or revoked key."""
        self.key_lookups += 1
        with session_scope(self.settings.db_url) as session:
            row = session.scalar(
                select(ApiKey).where(ApiKey.key_sha256 == digest, ApiKey.revoked_at.is_(None))
            )
            limit = row.per_minute if row is not None else None
        self.keys.put(digest, limit)
        return limit

    async def _hit(self, client: str, limit: int) -> tuple[bool, int, float]:
        """``RateLimiter.hit`` off the event loop (a Redis round trip, an SQLite write)."""
        return await run_in_threadpool(self.limiter.hit, client, limit)

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] != "http" or not is_limited(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":  # CORS preflight
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get(KEY_HEADER)
        by_address = f"ip:{(scope.get('client') or ('unknown', 0))[0]}"
        address_limit = self.settings.rate_limit_per_minute
        if key:
            digest = hash_key(key)
            known, limit = self.keys.get(digest)
            if not known:
                # Lookups are limited per address like requests, so made-up keys cannot make one
                # database query each without bound.
                allowed, _, reset = await self._hit(f"lookup:{by_address}", address_limit)
                if not allowed:
                    await _over(send, address_limit, reset)
                    return
                limit = await run_in_threadpool(self._lookup, digest)
            if limit is None:
                # An unknown key is the address's request: it counts, then is refused.
                allowed, _, reset = await self._hit(by_address, address_limit)
                if not allowed:
                    await _over(send, address_limit, reset)
                    return
                await _json(send, 401, "invalid_api_key", "the X-API-Key is unknown or revoked")
                return
            client = f"key:{digest}"
        else:
            limit, client = address_limit, by_address
        allowed, remaining, reset = await self._hit(client, limit)
        extra = _limit_headers(limit, remaining, reset)
        if not allowed:
            await _over(send, limit, reset)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _limit_headers(limit: int, remaining: int, reset: float) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(limit).encode()),
        (b"x-ratelimit-remaining", str(remaining).encode()),
        (b"x-ratelimit-reset", str(math.ceil(reset)).encode()),
    ]


async def _over(send: Send, limit: int, reset: float) -> None:
    detail = f"over {limit} requests a minute; try again in {math.ceil(reset)} s"
    retry = [(b"retry-after", str(math.ceil(reset)).encode()), *_limit_headers(limit, 0, reset)]
    await _json(send, 429, "rate_limited", detail, retry)


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
