"""``/healthz``: is each component this process depends on reachable?

Anyone gets ``{"status": "ok"}`` or ``{"status": "failing"}`` (200 or 503), enough for a load
balancer or an uptime check. The details (each component's backend and error, watched sources with
their URLs and last errors) name internal hosts and paths, so only a signed-in staff member or a
client on this machine (loopback, not relayed by a proxy) gets them. The last consistency check
(``ashyq check`` or its nightly run: ``archive.consistency``) is for staff alone, signed in or
with a personal API token.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, text

from api.auth import current_principal
from api.deps import SessionDep, SettingsDep
from archive.consistency import last_report
from archive.db import get_engine, session_scope
from archive.models import Source
from archive.settings import Settings
from search import health as search_health

router = APIRouter(tags=["health"])


def _check(fn: Any) -> dict[str, Any]:
    try:
        detail = fn()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, **(detail or {})}


# Headers a reverse proxy adds: with one of them a loopback peer is relaying someone else.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _is_local(request: Request) -> bool:
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def _is_staff(request: Request, db: Any) -> bool:
    try:  # the database may be the component that is down
        return current_principal(request, db) is not None
    except Exception:
        return False


@router.get("/healthz")
def healthz(request: Request, settings: SettingsDep, db: SessionDep) -> JSONResponse:
    """Database, broker and Meilisearch status; 503 when any is down. Details for staff and
    local clients only (see the module docstring)."""

    def database() -> dict[str, Any]:
        engine = get_engine(settings.db_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"backend": engine.dialect.name}

    def broker() -> dict[str, Any]:
        if settings.broker_url:
            client = redis.Redis.from_url(settings.broker_url, socket_timeout=2)
            client.ping()
            return {"backend": "redis"}
        folder = settings.broker_dir / "queue"
        if not os.access(folder, os.W_OK):
            raise RuntimeError(f"broker folder not writable: {folder}")
        return {"backend": "filesystem", "queued": sum(1 for _ in folder.iterdir())}

    checks = {
        "database": _check(database),
        "broker": _check(broker),
        "search": _check(lambda: search_health(settings)),
    }
    healthy = all(check["ok"] for check in checks.values())
    status_code = 200 if healthy else 503
    staff = _is_staff(request, db)
    if not (staff or _is_local(request)):
        return JSONResponse({"status": "ok" if healthy else "failing"}, status_code=status_code)
    body = {"status": "ok" if healthy else "degraded", **checks, "sources": _sources(settings)}
    if staff:
        report = last_report(settings)
        body["consistency"] = report.summary() if report else {"ran_at": None}
    return JSONResponse(body, status_code=status_code)


def _sources(settings: Settings) -> list[dict[str, Any]]:
    """Watched sources, last poll and last error (informational; never makes health fail)."""
    try:
        with session_scope(settings.db_url) as session:
            return [
                {
                    "id": s.id,
                    "url": s.url,
                    "last_polled_at": s.last_polled_at.isoformat() if s.last_polled_at else None,
                    "last_error": s.last_error,
                    "failures": s.failures,
                }
                for s in session.scalars(select(Source).order_by(Source.id))
            ]
    except Exception:
        return []
