"""Search, from the outside: index a recording (``index_recording``, ``sync_recording``,
``index_segments``), remove it (``delete_recording``), search (``search_recordings``,
``search_segments``), keep the index current (``ensure_index``, ``ensure_current``, ``rebuild``)
and compare it with the database (``check_index``; ``check_archive`` adds the media store:
what ``ashyq check`` reports).
Imports only ``archive``.

This is the front door: callers (the web pages, the JSON API, feeds, workers) use the names here
and never talk to Meilisearch themselves, so a second backend would change this package only.
Inside, ``search.meili`` holds the client, index schema, documents, indexer and query, and
``search.text`` the script folding, stemming and query syntax they share.

Errors a caller answers: ``QueryError`` (the query cannot run as written: a 400) and
``SearchUnavailable`` (the search service failed or is not configured: a 503).
"""

from __future__ import annotations

import meilisearch
from meilisearch.errors import MeilisearchError

from archive.settings import Settings
from search.meili.client import (
    TRANSIENT_ERRORS,
    SearchUnavailable,
    ensure_search_key,
    health,
    master_client,
    search_client,
)
from search.meili.consistency import IndexCheck, check_archive, check_index
from search.meili.highlight import moment_of
from search.meili.indexer import (
    delete_recording,
    ensure_current,
    index_recording,
    index_segments,
    rebuild,
    sync_recording,
)
from search.meili.query import (
    NOTHING_TO_FIND,
    SORTS,
    Filters,
    Hit,
    QueryError,
    RecordingHits,
    Results,
    search_recordings,
    search_segments,
)
from search.meili.schema import ensure_index
from search.text.folding import fold
from search.text.syntax import parse

__all__ = [
    "NOTHING_TO_FIND",
    "SORTS",
    "TRANSIENT_ERRORS",
    "Filters",
    "Hit",
    "IndexCheck",
    "QueryError",
    "RecordingHits",
    "Results",
    "SearchUnavailable",
    "check_archive",
    "check_index",
    "delete_recording",
    "ensure_current",
    "ensure_index",
    "ensure_search_key",
    "finds_nothing",
    "fold",
    "health",
    "index_recording",
    "index_segments",
    "make_search_client",
    "master_client",
    "moment_of",
    "rebuild",
    "search_client",
    "search_recordings",
    "search_segments",
    "sync_recording",
]


def finds_nothing(query: str) -> bool:
    """Whether a query has words but none to find (only ``-excluded`` ones): refused before it
    runs, since exclusions only narrow a search."""
    return bool(query.strip()) and not parse(query).positive


def make_search_client(settings: Settings) -> meilisearch.Client:
    """The search-only client of the web process (the master key is used only to fetch that
    key), with the index created if this archive has none yet: a new archive has no index until
    its first recording, and search must say "nothing found" rather than fail."""
    try:
        ensure_index(master_client(settings), settings.meili_index)
        return search_client(settings)
    except MeilisearchError as exc:  # not up yet, or refusing: a 503, not a crash
        raise SearchUnavailable(f"search is unavailable: {exc}") from exc
