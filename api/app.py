"""The FastAPI application: ``uvicorn api.app:serve_app --factory`` (what ``ashyq up`` runs)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import health
from api.auth import LoginRequired, login_url
from api.feeds import atom as feeds
from api.guards.body_limit import BodyLimitMiddleware
from api.guards.framing import FramingMiddleware
from api.guards.ratelimit import RateLimitMiddleware
from api.media import clips, live
from api.media import files as media
from api.media.origin import MediaOriginMiddleware
from api.public import alerts, embed, exports, pages
from api.staff import admin as staff_admin
from api.staff import alerts as staff_alerts
from api.staff import editor as staff_editor
from api.staff import jobs as staff_jobs
from api.staff import login, tokens, uploads
from api.staff import recordings as staff_pages
from api.v1 import catalog as v1_catalog
from api.v1 import live as live_staff
from api.v1 import search as v1
from api.v1 import staff
from archive.settings import Settings, get_settings
from web import STATIC_DIR
from web.i18n import LocaleMiddleware

RATE_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
# The ``error`` code of a JSON error answer, by status (documented in the OpenAPI schema).
ERROR_CODES = {
    400: "invalid_parameter",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return (
        path.startswith(("/api/", "/healthz", "/staff/uploads", "/feeds/", "/search.atom"))
        or path.endswith(".json")
        or request.headers.get("accept", "").startswith("application/json")
    )


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts)


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
    app = FastAPI(
        lifespan=_lifespan,
        title="Ashyq",
        summary="Open archive of official broadcasts with searchable, timestamped transcripts",
        version="0.1.0",
    )
    app.state.settings = settings or get_settings()
    app.state.freeze_gc = freeze_gc
    app.state.search_client = None
    app.add_middleware(LocaleMiddleware)
    app.add_middleware(FramingMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=app.state.settings.verify_max_bytes)
    app.add_middleware(RateLimitMiddleware, settings=app.state.settings)
    if app.state.settings.media_url:
        app.add_middleware(MediaOriginMiddleware, media_url=app.state.settings.media_url)
    # Outermost, so that 429s carry CORS headers too. Anyone may read; nobody may write.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD"],
        allow_headers=["X-API-Key", "If-None-Match", "If-Modified-Since"],
        expose_headers=["ETag", "Last-Modified", "Retry-After", *RATE_HEADERS],
    )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(pages.router)
    app.include_router(media.router)
    app.include_router(v1.router)
    app.include_router(v1_catalog.router)
    app.include_router(feeds.router)
    app.include_router(alerts.router)
    app.include_router(staff.router)
    for router in (
        login.router,
        staff_pages.router,
        staff_pages.admin_router,
        staff_jobs.router,
        staff_editor.router,
        uploads.router,
        tokens.router,
        staff_admin.router,
        staff_alerts.router,
    ):
        app.include_router(router)
    app.include_router(live.router)
    app.include_router(live_staff.router)
    app.include_router(health.router)
    app.include_router(clips.router)
    app.include_router(exports.router)
    app.include_router(embed.router)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired):  # type: ignore[no-untyped-def]
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):  # type: ignore[no-untyped-def]
        message = _describe(exc)
        if _wants_json(request):
            return JSONResponse({"error": "invalid_parameter", "detail": message}, 400)
        return pages.templates.TemplateResponse(
            request, "error.html", {"title": "Invalid request", "message": message}, 400
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if _wants_json(request) or request.url.path.startswith(("/media/", "/static/")):
            code = ERROR_CODES.get(exc.status_code, "http_error")
            return JSONResponse(
                {"error": code, "detail": exc.detail},
                exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        title = "Not found" if exc.status_code == 404 else "Error"
        return pages.templates.TemplateResponse(
            request, "error.html", {"title": title, "message": str(exc.detail)}, exc.status_code
        )

    return app
