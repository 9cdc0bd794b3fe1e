"""``/healthz``: is each component this process depends on reachable?"""

from __future__ import annotations

import os
from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from meilisearch.errors import MeilisearchApiError
from sqlalchemy import select, text

from api.deps import SettingsDep
from archive.db import get_engine, session_scope
from archive.models import Source
from archive.settings import Settings
from search.client import master_client

router = APIRouter(tags=["health"])


def _check(fn: Any) -> dict[str, Any]:
    try:
        detail = fn()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, **(detail or {})}


@router.get("/healthz")
def healthz(settings: SettingsDep) -> JSONResponse:
    """Database, broker and Meilisearch status; 503 when any is down."""

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

    def search() -> dict[str, Any]:
        client = master_client(settings)
        health = client.health()
        try:
            documents = client.index(settings.meili_index).get_stats().number_of_documents
        except MeilisearchApiError as exc:  # a new archive has no index until the first write
            if exc.code != "index_not_found":
                raise
            documents = 0
        return {"status": health.get("status"), "documents": documents}

    checks = {"database": _check(database), "broker": _check(broker), "search": _check(search)}
    healthy = all(check["ok"] for check in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "degraded", **checks, "sources": _sources(settings)},
        status_code=200 if healthy else 503,
    )


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
