"""The tables. The database is the source of truth; the search index is rebuilt from it."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Body(Base):
    """A public body whose broadcasts are archived (a parliament chamber, a ministry, an akimat)."""

    __tablename__ = "bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # The name in each UI language; ``name`` is the fallback (see ``localized_name``).
    name_kk: Mapped[str | None] = mapped_column(String(255))
    name_ru: Mapped[str | None] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    recordings: Mapped[list[Recording]] = relationship(back_populates="body")

    def localized_name(self, lang: str) -> str:
        return localized(self, lang)


def localized(row: Body | Speaker, lang: str) -> str:
    """The row's name in ``lang`` (kk, ru, en), else its default name."""
    return getattr(row, f"name_{lang}", None) or row.name


class Speaker(Base):
    """A person heard in recordings (a deputy, a minister, an akim), named in each UI language."""

    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_kk: Mapped[str | None] = mapped_column(String(255))
    name_ru: Mapped[str | None] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    position: Mapped[str | None] = mapped_column(String(500))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    body: Mapped[Body | None] = relationship(lazy="joined")

    def localized_name(self, lang: str) -> str:
        return localized(self, lang)


# The kinds of event recorded; the UI translates each (web/translations).
EVENT_TYPES = ("plenary", "committee", "hearing", "briefing", "press_conference", "other")


class RecordingStatus(enum.StrEnum):
    processing = "processing"
    ready = "ready"
    failed = "failed"
    # Being captured from a live stream: public, its transcript grows (see LiveSession).
    live = "live"


class Recording(Base):
    """One original media file, stored once by its SHA-256, and its transcript."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    recorded_on: Mapped[date] = mapped_column(Date)
    original_name: Mapped[str] = mapped_column(String(500))
    # Paths relative to the media store root.
    original_path: Mapped[str] = mapped_column(String(500))
    playable_path: Mapped[str] = mapped_column(String(500))
    playable_mime: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    container: Mapped[str] = mapped_column(String(100))
    has_video: Mapped[bool] = mapped_column(Boolean, default=False)
    probe: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[RecordingStatus] = mapped_column(
        Enum(RecordingStatus, native_enum=False, length=20), default=RecordingStatus.processing
    )
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    # One of EVENT_TYPES, when staff said.
    event_type: Mapped[str | None] = mapped_column(String(40))
    # Soft delete: hidden everywhere public, restorable by staff until an admin purges it.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    transcript_model: Mapped[str | None] = mapped_column(String(200))
    # Where it came from, when fetched from a URL (yt-dlp's metadata).
    source_url: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(500))
    thumbnail_url: Mapped[str | None] = mapped_column(String(2000))
    poster_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    body: Mapped[Body] = relationship(back_populates="recordings", lazy="joined")
    segments: Mapped[list[Segment]] = relationship(
        back_populates="recording", order_by="Segment.idx", cascade="all, delete-orphan"
    )


class Segment(Base):
    """A timestamped stretch of speech. Its id is ``{recording_id}-{idx}`` so re-runs overwrite."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("recording_id", "idx"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    # [[start, end, word, probability], …] as Whisper timed them.
    words: Mapped[list[Any]] = mapped_column(default=list)
    avg_logprob: Mapped[float | None] = mapped_column(Float)
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("speakers.id", ondelete="SET NULL"))
    # False while the text is Whisper's; True once staff reviewed (corrected or confirmed) it.
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)

    recording: Mapped[Recording] = relationship(back_populates="segments")
    speaker: Mapped[Speaker | None] = relationship(lazy="joined")


def segment_id(recording_id: int, idx: int) -> str:
    return f"{recording_id}-{idx}"


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(Base):
    """One unit of pipeline work, visible to users as state, progress and error."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), default="ingest")
    state: Mapped[JobState] = mapped_column(
        Enum(JobState, native_enum=False, length=20), default=JobState.queued, index=True
    )
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    recording: Mapped[Recording | None] = relationship()


class Source(Base):
    """A channel, playlist or feed polled on a schedule; new items become fetch jobs."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    every_s: Mapped[int] = mapped_column(Integer)
    # How far back a new source reaches: items on or after this date, at most this many.
    since: Mapped[date | None] = mapped_column(Date)
    max_items: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_poll_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LiveState(enum.StrEnum):
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
    url: Mapped[str] = mapped_column(String(2000))
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id"))
    title: Mapped[str] = mapped_column(String(500))
    event_type: Mapped[str | None] = mapped_column(String(40))
    recording_id: Mapped[int | None] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE")
    )
    state: Mapped[LiveState] = mapped_column(
        Enum(LiveState, native_enum=False, length=20), default=LiveState.scheduled, index=True
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expected_end_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_duration_s: Mapped[int] = mapped_column(Integer)
    chunk_s: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # "host:pid" of the capturing process, bumped ``attempts`` on every claim (atomic hand-over).
    owner: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_data_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # One entry per connection to the source: {"n", "offset_s", "closed", "duration_s"}.
    runs: Mapped[list[Any]] = mapped_column(default=list)
    # Where the next transcription window starts and up to where text was emitted (timeline s).
    carry_from_s: Mapped[float] = mapped_column(Float, default=0.0)
    text_until_s: Mapped[float] = mapped_column(Float, default=0.0)
    last_word: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    body: Mapped[Body] = relationship(lazy="joined")
    recording: Mapped[Recording | None] = relationship()


class LiveChunk(Base):
    """One closed audio chunk of a live capture; ``transcribed_at`` is set in the same
    transaction that stores its segments, so no chunk is ever transcribed into the archive twice."""

    __tablename__ = "live_chunks"
    __table_args__ = (UniqueConstraint("session_id", "run", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    run: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    # On the recording's timeline (the joined file): run offset + position within the run.
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    # The last chunk of its connection: transcribed to its end, nothing carried over.
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    transcribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transcribe_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LiveGap(Base):
    """The stream was lost: at ``at_s`` on the recording's timeline, ``lost_s`` of wall time is
    missing (the joined file simply goes on with what came after the reconnection)."""

    __tablename__ = "live_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    at_s: Mapped[float] = mapped_column(Float)
    lost_s: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
