"""How recordings arrive: pipeline jobs, polled sources and their items, resumable uploads."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, utcnow

if TYPE_CHECKING:
    from archive.models.recordings import Body, Recording


class JobState(enum.StrEnum):
    """Where a job stands. The last three end a run; staff may put a failed or cancelled job
    back in line (``archive.jobs.reset_for_retry``)."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    # Stopped by staff: a queued job is skipped, a running one stops at its next progress write.
    cancelled = "cancelled"


class Job(Base):
    """One unit of pipeline work, visible to users as state, progress and error."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), default="ingest")
    state: Mapped[JobState] = mapped_column(default=JobState.queued, index=True)
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    # "host:pid" of the worker process running it, so a redelivered job whose worker died can be
    # taken over at once while one whose worker is alive is left alone.
    owner: Mapped[str | None] = mapped_column(String(200))
    # What to ingest and the metadata staff gave (title, body, date, original file name).
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The staged input file, relative to the data dir; removed once the job ends.
    source_path: Mapped[str | None] = mapped_column(String(500))
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    recording: Mapped[Recording | None] = relationship()


class Source(Base):
    """A channel, playlist or feed polled on a schedule; new items become fetch jobs."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    every_s: Mapped[int]
    # How far back a new source reaches: items on or after this date, at most this many.
    since: Mapped[date | None] = mapped_column(Date)
    max_items: Mapped[int | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    last_polled_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)
    items_seen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    body: Mapped[Body] = relationship(lazy="joined")


class SourceItem(Base):
    """One remote item, fetched once ever: unique by (extractor, item id)."""

    __tablename__ = "source_items"
    __table_args__ = (UniqueConstraint("extractor", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    extractor: Mapped[str] = mapped_column(String(100))
    item_id: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(2000))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A file arriving in chunks from the staff upload page; resumable at ``received`` bytes."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The client's name, for display and the original's extension only — never a path.
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
