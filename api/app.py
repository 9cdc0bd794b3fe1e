"""The FastAPI application: ``uvicorn api.app:serve_app --factory`` (what ``ashyq up`` runs)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api import errors, feeds, health, media, public, staff, v1
from api.guards.body_limit import BodyLimitMiddleware
from api.guards.framing import FramingMiddleware
from api.guards.ratelimit import RateLimitMiddleware
from api.media.origin import MediaOriginMiddleware
from archive.settings import Settings, get_settings
from web import STATIC_DIR
from web.i18n import LocaleMiddleware
from web.links import recording_url
from web.templating import templates

RATE_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
# One router per face (each package's __init__ orders its own); the order is the order of matching.
ROUTERS = [public.router, media.router, v1.router, feeds.router, staff.router, health.router]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Startup: move everything loaded so far (modules, models, routes, templates' environment)
    out of the garbage collector's sight. A full collection walked all of it: one search in a few
    hundred stalled ~80 ms at 20,000 segments (bench/search.py), 0.5 ms once frozen.

    Only in a server process (``serve_app``): in a test process it would also freeze what earlier
    tests left for the collector (an unclosed database connection holding a lock)."""
    if app.state.freeze_gc:
        gc.collect()
        gc.freeze()
    yield


def serve_app() -> FastAPI:
    """The app a web server process runs: settings from the environment, the heap frozen."""
    return create_app(freeze_gc=True)


def create_app(settings: Settings | None = None, *, freeze_gc: bool = False) -> FastAPI:
    """The application for ``settings`` (from the environment when not given): two apps with
    two settings can live side by side, as the tests' archives do."""
    app = FastAPI(
        lifespan=_lifespan,
        title="Ashyq",
        summary="Open archive of official broadcasts with searchable, timestamped transcripts",
        version="0.1.0",
    )
    app.state.settings = settings or get_settings()
    app.state.freeze_gc = freeze_gc
    app.state.search_client = None
    _add_middleware(app, app.state.settings)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    templates.env.globals["recording_url"] = recording_url
    return app


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """The guards around every route; the last added runs first."""
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(FramingMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.verify_max_bytes)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    if settings.media_url:
        app.add_middleware(MediaOriginMiddleware, media_url=settings.media_url)
    # Outermost, so that 429s carry CORS headers too. Anyone may read; nobody may write.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD"],
        allow_headers=["X-API-Key", "If-None-Match", "If-Modified-Since"],
        expose_headers=["ETag", "Last-Modified", "Retry-After", *RATE_HEADERS],
    )
