"""Clients for Meilisearch, and task waiting that fails loudly.

The Python client's ``wait_for_task`` returns normally for a *failed* task, so every write goes
through ``wait`` here, which raises ``IndexingFailed`` with Meilisearch's own message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError
from meilisearch.index import Index

from archive.settings import Settings

# Errors worth retrying: the server is restarting or unreachable.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (MeilisearchCommunicationError, TimeoutError)


class IndexingFailed(RuntimeError):
    pass


class SearchUnavailable(RuntimeError):
    pass


def master_client(settings: Settings) -> meilisearch.Client:
    if not settings.meili_url:
        raise SearchUnavailable("ASHYQ_MEILI_URL is not set (ashyq up sets it for its children)")
    return meilisearch.Client(
        settings.meili_url, settings.meili_master_key, timeout=int(settings.meili_timeout_s)
    )


def wait(client: meilisearch.Client, task: Any, timeout_s: float = 120.0) -> dict[str, Any]:
    uid = task.task_uid if hasattr(task, "task_uid") else task["taskUid"]
    done = client.wait_for_task(uid, timeout_in_ms=int(timeout_s * 1000), interval_in_ms=20)
    status = getattr(done, "status", None)
    if status != "succeeded":
        error = getattr(done, "error", None) or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise IndexingFailed(f"Meilisearch task {uid} {status}: {message}")
    return done.__dict__ if hasattr(done, "__dict__") else dict(done)


def add_documents(index: Index, documents: Sequence[dict[str, Any]]) -> Any:
    """Send documents as UTF-8 JSON; returns the task.

    Meilisearch stores each value's JSON text as it arrives, and the client's own ``add_documents``
    escapes every non-ASCII letter (``\\u0431``, six bytes for a Cyrillic letter's two): Kazakh and
    Russian text took three times its size on disk (bench/search.py: 4.36 KiB per segment before).
    """
    body = json.dumps(list(documents), ensure_ascii=False, separators=(",", ":"))
    return index.add_documents_json(body.encode("utf-8"), primary_key="id")


def search_key_uid(index: str) -> str:
    """A fixed key uid per index, so every process finds the same search-only key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ashyq:search-key:{index}"))


def ensure_search_key(client: meilisearch.Client, index: str) -> str:
    """Create (once) and return a key that may only search ``index``; public pages use this."""
    uid = search_key_uid(index)
    try:
        return client.get_key(uid).key
    except MeilisearchApiError as exc:
        if getattr(exc, "code", None) != "api_key_not_found":
            raise
    try:
        created = client.create_key(
            {
                "uid": uid,
                "name": f"ashyq public search ({index})",
                "description": "Search-only key for public pages and the JSON API",
                "actions": ["search"],
                "indexes": [index],
                "expiresAt": None,
            }
        )
    except MeilisearchApiError as exc:  # another process created it first
        if getattr(exc, "code", None) != "api_key_already_exists":
            raise
        return client.get_key(uid).key
    return created.key if hasattr(created, "key") else created["key"]


def search_client(settings: Settings) -> meilisearch.Client:
    """A client holding only the search key, obtained once with the master key."""
    key = ensure_search_key(master_client(settings), settings.meili_index)
    return meilisearch.Client(settings.meili_url, key, timeout=int(settings.meili_timeout_s))


def health(settings: Settings) -> dict[str, Any]:
    """The server's status and the index's document count, for ``/healthz``; raises when the
    server cannot be reached."""
    client = master_client(settings)
    status = client.health().get("status")
    try:
        documents = client.index(settings.meili_index).get_stats().number_of_documents
    except MeilisearchApiError as exc:  # a new archive has no index until the first write
        if exc.code != "index_not_found":
            raise
        documents = 0
    return {"status": status, "documents": documents}
