"""Which failures are retried (workers.retry): a later attempt must be able to succeed, and a
failure that cannot be mended by waiting must fail the job at once with its message.

That a retried job then resumes where it stopped is checked against real services in
tests/integration/ingest/test_retry.py.
"""

from __future__ import annotations

import pytest
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError
from sqlalchemy.exc import IntegrityError, OperationalError

from workers.errors import JobCancelled, PermanentError, TransientError
from workers.media.netguard import ForbiddenTarget, UnresolvedHost
from workers.retry import is_transient


class Response:
    """The little of a requests response MeilisearchApiError reads."""

    status_code = 401
    text = '{"message": "The provided API key is invalid.", "code": "invalid_api_key"}'


@pytest.mark.parametrize(
    "error",
    [
        TransientError("the search server is restarting"),
        OperationalError("UPDATE jobs", {}, Exception("database is locked")),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        MeilisearchCommunicationError("connection refused"),
        TimeoutError("timed out"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_outage_is_retried(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        PermanentError("not a media file"),
        JobCancelled("cancelled by staff"),
        ForbiddenTarget("resolves to 127.0.0.1"),
        UnresolvedHost("does not resolve"),  # a live capture retries it itself, a job does not
        IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
        MeilisearchApiError("invalid key", Response()),
        ValueError("bad input"),
        FileNotFoundError("gone"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_failure_no_wait_can_mend_fails_at_once(error):
    assert not is_transient(error)
