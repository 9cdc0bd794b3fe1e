"""What the routes share: the dependencies (settings, a database session, the search-only client,
row ids in paths) and the one router each face makes of its modules' routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import meilisearch
from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from archive.db import session_factory
from archive.settings import Settings
from search import make_search_client


async def get_app_settings(request: Request) -> Settings:
    """async: a sync dependency runs in the thread pool, a hop per request for a field read."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_db(settings: SettingsDep) -> AsyncIterator[Session]:
    """A session for the request. Opening one does no I/O, so it is made here, on the event
    loop (a sync dependency costs a trip through the thread pool each way); closing may talk to
    the database, so that runs in the pool."""
    session = session_factory(settings.db_url)()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_db)]


async def get_search(request: Request) -> meilisearch.Client:
    """The search-only client, made once (the master key is used only to fetch that key).

    async, so that every later request takes it without a trip through the thread pool; the first
    one's network calls run there.
    """
    state = request.app.state
    if getattr(state, "search_client", None) is None:
        state.search_client = await run_in_threadpool(make_search_client, state.settings)
    return state.search_client


SearchDep = Annotated[meilisearch.Client, Depends(get_search)]


# Row ids in URLs. The bounds are the database's: PostgreSQL's integer column refuses a larger
# number with an error, so an id out of range must be a 422 here, not a 500 there.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# A position inside a recording (segment index, live run): zero-based, same bound.
Position = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]
Year = Annotated[int, Path(ge=1, le=9999)]


def face_router(*parts: APIRouter) -> APIRouter:
    """A face's one router: its modules' routers, in the order given, which is the order of
    matching (the first route that matches a request answers it)."""
    router = APIRouter()
    for part in parts:
        router.include_router(part)
    return router
