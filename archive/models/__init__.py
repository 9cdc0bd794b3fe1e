"""The tables. The database is the source of truth; the search index is rebuilt from it.

One module per part of the archive; every table is re-exported here, so callers import from
``archive.models`` and Alembic sees the whole metadata by importing this package.
"""

from archive.models.accounts import (
    ROLES,
    ApiKey,
    ApiToken,
    AuditEntry,
    LoginAttempt,
    User,
    UserSession,
)
from archive.models.alerts import (
    Alert,
    AlertDelivery,
    AlertFrequency,
    AlertLink,
    OutboxMessage,
    OutboxState,
)
from archive.models.base import Base, UTCDateTime, as_utc, utcnow
from archive.models.jobs import Job, JobState, Source, SourceItem, Upload
from archive.models.live import LiveChunk, LiveGap, LiveSession, LiveState
from archive.models.recordings import (
    EVENT_TYPES,
    Body,
    Recording,
    RecordingStatus,
    Segment,
    SegmentRevision,
    Speaker,
    segment_id,
)

__all__ = [
    "EVENT_TYPES",
    "ROLES",
    "Alert",
    "AlertDelivery",
    "AlertFrequency",
    "AlertLink",
    "ApiKey",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Body",
    "Job",
    "JobState",
    "LiveChunk",
    "LiveGap",
    "LiveSession",
    "LiveState",
    "LoginAttempt",
    "OutboxMessage",
    "OutboxState",
    "Recording",
    "RecordingStatus",
    "Segment",
    "SegmentRevision",
    "Source",
    "SourceItem",
    "Speaker",
    "UTCDateTime",
    "Upload",
    "User",
    "UserSession",
    "as_utc",
    "segment_id",
    "utcnow",
]
