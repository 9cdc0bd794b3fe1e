"""Live captures: the session, its closed chunks and the gaps where the stream was lost."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, utcnow

if TYPE_CHECKING:
    from archive.models.recordings import Body, Recording


class LiveState(enum.StrEnum):
    """A capture's life: waiting for its start, recording, joining its chunks, then done."""

    scheduled = "scheduled"
    capturing = "capturing"
    finalizing = "finalizing"
    ended = "ended"
    failed = "failed"


class LiveSession(Base):
    """A live source captured into one recording: what to record, when, and how far it got.

    The capture worker is its only writer while it owns it (``owner``, ``heartbeat_at``); a
    worker that dies leaves it ``capturing`` and the watchdog hands it to a new worker, which
    goes on from the chunks already stored.
    """

    __tablename__ = "live_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What is recorded; may carry a stream key, so it is shown to staff only, never published.
    url: Mapped[str] = mapped_column(String(2000))
    # The broadcaster's page for the broadcast, if staff gave one: the recording's public source.
    page_url: Mapped[str | None] = mapped_column(String(2000))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    title: Mapped[str] = mapped_column(String(500))
    event_type: Mapped[str | None] = mapped_column(String(40))
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE")
    )
    state: Mapped[LiveState] = mapped_column(default=LiveState.scheduled, index=True)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    expected_end_at: Mapped[datetime | None]
    max_duration_s: Mapped[int]
    chunk_s: Mapped[int]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    stop_requested: Mapped[bool] = mapped_column(default=False)
    # "host:pid" of the capturing process, bumped ``attempts`` on every claim (atomic hand-over).
    owner: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None]
    last_data_at: Mapped[datetime | None]
    # One entry per connection to the source: {"n", "offset_s", "closed", "duration_s"}.
    runs: Mapped[list[Any]] = mapped_column(default=list)
    # Where the next transcription window starts and up to where text was emitted (timeline s).
    carry_from_s: Mapped[float] = mapped_column(default=0.0)
    text_until_s: Mapped[float] = mapped_column(default=0.0)
    last_word: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    body: Mapped[Body] = relationship(lazy="joined")
    recording: Mapped[Recording | None] = relationship()


class LiveChunk(Base):
    """One closed audio chunk of a live capture; ``transcribed_at`` is set in the same
    transaction that stores its segments, so no chunk is ever transcribed into the archive twice."""

    __tablename__ = "live_chunks"
    __table_args__ = (UniqueConstraint("session_id", "run", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    run: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    # On the recording's timeline (the joined file): run offset + position within the run.
    start_s: Mapped[float]
    end_s: Mapped[float]
    # The last chunk of its connection: transcribed to its end, nothing carried over.
    final: Mapped[bool] = mapped_column(default=False)
    transcribed_at: Mapped[datetime | None]
    transcribe_s: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveGap(Base):
    """The stream was lost: at ``at_s`` on the recording's timeline, ``lost_s`` of wall time is
    missing (the joined file simply goes on with what came after the reconnection)."""

    __tablename__ = "live_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    at_s: Mapped[float]
    lost_s: Mapped[float]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
