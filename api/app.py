"""The FastAPI application: ``uvicorn api.app:create_app --factory``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import health, live, live_staff, media, pages, staff, v1
from archive.settings import Settings, get_settings
from web import STATIC_DIR
from web.i18n import LocaleMiddleware


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/healthz"))


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts)


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Ashyq",
        summary="Open archive of official broadcasts with searchable, timestamped transcripts",
        version="0.1.0",
    )
    app.state.settings = settings or get_settings()
    app.state.search_client = None
    app.add_middleware(LocaleMiddleware)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(pages.router)
    app.include_router(media.router)
    app.include_router(v1.router)
    app.include_router(staff.router)
    app.include_router(live.router)
    app.include_router(live_staff.router)
    app.include_router(health.router)

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
            return JSONResponse({"error": "http_error", "detail": exc.detail}, exc.status_code)
        title = "Not found" if exc.status_code == 404 else "Error"
        return pages.templates.TemplateResponse(
            request, "error.html", {"title": title, "message": str(exc.detail)}, exc.status_code
        )

    return app
