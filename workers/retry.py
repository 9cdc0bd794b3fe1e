"""Which errors are worth a retry: those a later attempt can succeed at."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from search import TRANSIENT_ERRORS
from workers.errors import TransientError

RETRYABLE: tuple[type[BaseException], ...] = (
    TransientError,
    OperationalError,  # database locked, connection dropped
    ConnectionError,
    *TRANSIENT_ERRORS,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, RETRYABLE)
