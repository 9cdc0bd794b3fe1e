"""Dependencies shared by the routes: settings, a database session, the search-only client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import meilisearch
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from archive.db import session_factory
from archive.settings import Settings
from search.client import master_client, search_client
from search.schema import ensure_index


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_db(settings: SettingsDep) -> Iterator[Session]:
    session = session_factory(settings.db_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


def get_search(request: Request) -> meilisearch.Client:
    """The search-only client, made once (the master key is used only to fetch that key)."""
    state = request.app.state
    if getattr(state, "search_client", None) is None:
        settings = state.settings
        # A new archive has no index until its first recording: create it so search says
        # "nothing found" rather than failing.
        ensure_index(master_client(settings), settings.meili_index)
        state.search_client = search_client(settings)
    return state.search_client


SearchDep = Annotated[meilisearch.Client, Depends(get_search)]
