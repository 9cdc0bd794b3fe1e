"""What the public may see of a recording: ready (or live, while it is being recorded), published
and not deleted.

The one rule, in the bottom layer, so that pages, the API, feeds, search documents, alerts and
the bulk dump all apply the same one.
"""

from __future__ import annotations

from typing import Any

from archive.models import Recording, RecordingStatus

PUBLIC_STATES = (RecordingStatus.ready, RecordingStatus.live)


def visible(query: Any) -> Any:
    """Restrict a Recording query to what the public may see."""
    return query.where(
        Recording.status.in_(PUBLIC_STATES),
        Recording.published.is_(True),
        Recording.deleted_at.is_(None),
    )


def is_visible(recording: Recording | None) -> bool:
    return (
        recording is not None
        and recording.status in PUBLIC_STATES
        and bool(recording.published)
        and recording.deleted_at is None
    )
