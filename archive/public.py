"""What the public may see of a recording: ready, published and not deleted.

The same rule as ``api.results.visible``, here in the bottom layer so that workers (alerts, the
bulk dump) apply it too without importing the web layer.
"""

from __future__ import annotations

from typing import Any

from archive.models import Recording, RecordingStatus


def visible(query: Any) -> Any:
    """Restrict a Recording query to what the public may see."""
    return query.where(
        Recording.status == RecordingStatus.ready,
        Recording.published.is_(True),
        Recording.deleted_at.is_(None),
    )


def is_visible(recording: Recording | None) -> bool:
    return (
        recording is not None
        and recording.status == RecordingStatus.ready
        and bool(recording.published)
        and recording.deleted_at is None
    )
