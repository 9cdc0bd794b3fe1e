"""The two kinds of failure the pipeline tells apart.

A permanent error fails the job at once with its message; a transient one is retried with backoff,
because the same call can succeed later (a search server restarting, a locked database).
"""


class PermanentError(Exception):
    """The input or request cannot succeed however often it is retried."""


class TransientError(Exception):
    """A dependency is temporarily unavailable; retrying may succeed."""


class JobCancelled(PermanentError):
    """Staff cancelled the job while it ran: stop, discard unfinished work, keep the state."""
