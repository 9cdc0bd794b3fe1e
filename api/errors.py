"""One table: which domain error becomes which HTTP answer, and how every error is answered.

Routes call the services and let their refusals rise; the handlers registered here turn each into
its status, as JSON (``{"error": code, "detail": message}``) for the API, feeds, uploads and
``*.json`` paths, or as the error page for people. Before, 17 routes each caught their own
exception and raised an ``HTTPException``; a new refusal now needs one row here, not a clause in
every route that may meet it.

A route still catches an error where the answer is its own page in another state (the search
page with its form and the message, the alert sign-up form), not an error answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from api.auth import LoginRequired, login_url
from archive.alerts import InvalidAlert
from archive.text.ranges import RangeError
from search import QueryError, SearchUnavailable
from web.templating import templates
from workers.services.editing import EditRefused
from workers.services.publishing import NotAllowed
from workers.services.submit import InvalidRequest
from workers.services.uploads import OffsetMismatch, UploadRefused, UploadTooLarge

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


@dataclass(frozen=True)
class Refusal:
    """How one kind of domain error is answered: its status, and the detail shown (the error's
    own message unless ``detail`` is set). The kind decides, never the message's words."""

    status: int
    detail: str | None = None


# Domain error → answer. Subclasses follow their base (TooManySignUps is an InvalidAlert).
REFUSALS: dict[type[Exception], Refusal] = {
    QueryError: Refusal(400),  # a search that cannot run as written
    RangeError: Refusal(400),  # a time or range (t=, end=, start=) that is not one
    InvalidRequest: Refusal(400),  # a fetch, source or live capture refused before queueing
    InvalidAlert: Refusal(400),  # an alert's query or action that is not valid
    UploadTooLarge: Refusal(413),  # over the size limit
    OffsetMismatch: Refusal(409),  # a chunk not where the file ends: the page asks to resume
    UploadRefused: Refusal(400),  # the rest: no name, a path, an empty file, bad metadata
    EditRefused: Refusal(409),  # the transcript changed under the editor, or the edit is void
    NotAllowed: Refusal(409),  # the state forbids it (publish a deleted one, purge a kept one)
    SearchUnavailable: Refusal(503, "search is unavailable"),
}


def wants_json(request: Request) -> bool:
    """Whether an error is answered as JSON: machine paths, or a client that asks for it."""
    path = request.url.path
    return (
        path.startswith(("/api/", "/healthz", "/staff/uploads", "/feeds/", "/search.atom"))
        or path.endswith(".json")
        or request.headers.get("accept", "").startswith("application/json")
    )


def error_response(
    request: Request, status: int, detail: Any, headers: Mapping[str, str] | None = None
) -> Response:
    """The answer for an error: JSON with its code, or the error page."""
    if wants_json(request) or request.url.path.startswith(("/media/", "/static/")):
        code = ERROR_CODES.get(status, "http_error")
        return JSONResponse({"error": code, "detail": detail}, status, headers=headers)
    title = "Not found" if status == 404 else "Error"
    return templates.TemplateResponse(
        request, "error.html", {"title": title, "message": str(detail)}, status
    )


def _describe(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {error.get('msg')}")
    return "; ".join(parts)


async def _refused(request: Request, exc: Exception) -> Response:
    refusal = next(REFUSALS[kind] for kind in type(exc).__mro__ if kind in REFUSALS)
    return error_response(request, refusal.status, refusal.detail or str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    return error_response(request, exc.status_code, exc.detail, headers)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message = _describe(exc)
    if wants_json(request):
        return JSONResponse({"error": "invalid_parameter", "detail": message}, 400)
    return templates.TemplateResponse(
        request, "error.html", {"title": "Invalid request", "message": message}, 400
    )


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def install(app: FastAPI) -> None:
    """Register the handlers: the domain table, HTTP errors, bad parameters, sign-in."""
    for kind in REFUSALS:
        app.add_exception_handler(kind, _refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(LoginRequired, _to_login)
