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
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC, always read back timezone-aware.

    SQLite keeps no offset, so a plain ``DateTime(timezone=True)`` column returns naive values
    there and aware ones on PostgreSQL; comparing the two raises. This type stores every value
    in UTC (a naive one is taken to be UTC already) and hands back aware UTC datetimes on both,
    so no caller needs a "naive → UTC" helper. The SQL type is unchanged: no migration.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value)


def as_utc(moment: datetime | None) -> datetime | None:
    """``moment`` in UTC, aware; a naive value is read as UTC (what this archive stores)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

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
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    languages: Mapped[list[Any]] = mapped_column(default=list)
    transcript_model: Mapped[str | None] = mapped_column(String(200))
    # Where it came from, when fetched from a URL (yt-dlp's metadata).
    source_url: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(500))
    thumbnail_url: Mapped[str | None] = mapped_column(String(2000))
    poster_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

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
    # Speech every decoding attempt turned into a repetition loop: timing kept, text "".
    unintelligible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    recording: Mapped[Recording] = relationship(back_populates="segments")
    speaker: Mapped[Speaker | None] = relationship(lazy="joined")


def segment_id(recording_id: int, idx: int) -> str:
    return f"{recording_id}-{idx}"


class JobState(enum.StrEnum):
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

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
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Staff accounts and accountability ----------------------------------------------------------------

ROLES = ("admin", "editor")


class User(Base):
    """A staff member. Admins manage users, bodies, speakers and purges; editors do the rest."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # argon2id, in the PHC string format argon2-cffi writes (parameters travel with the hash).
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class UserSession(Base):
    """A web login. The cookie carries a random secret; only its SHA-256 is stored here, so a
    leaked database does not hand out live sessions."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The synchronizer token every state-changing form and fetch of this session must carry.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    """A personal bearer token for automation: shown once, stored as SHA-256, revocable."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so a user can tell their tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # None: until revoked. A token for a one-off script need not outlive the script.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """A failed login, kept for the rate limit (by e-mail and by client address)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class AuditEntry(Base):
    """One staff action. The e-mail is copied so the entry outlives the account."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class SegmentRevision(Base):
    """One transcript edit: segments ``idx_from``… looked like ``before`` and became ``after``.

    Split and merge change how many segments there are, so a revision replaces a range rather
    than a row; reverting applies the same replacement the other way round.
    """

    __tablename__ = "segment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_email: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(20))
    idx_from: Mapped[int] = mapped_column(Integer)
    before: Mapped[list[Any]] = mapped_column(default=list)
    after: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when undone; the undo is itself a revision (``reverts`` points back here).
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reverts: Mapped[int | None] = mapped_column(
        ForeignKey("segment_revisions.id", ondelete="SET NULL")
    )


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


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
    state: Mapped[LiveState] = mapped_column(
        Enum(LiveState, native_enum=False, length=20), default=LiveState.scheduled, index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expected_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_duration_s: Mapped[int] = mapped_column(Integer)
    chunk_s: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # "host:pid" of the capturing process, bumped ``attempts`` on every claim (atomic hand-over).
    owner: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_data_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # One entry per connection to the source: {"n", "offset_s", "closed", "duration_s"}.
    runs: Mapped[list[Any]] = mapped_column(default=list)
    # Where the next transcription window starts and up to where text was emitted (timeline s).
    carry_from_s: Mapped[float] = mapped_column(Float, default=0.0)
    text_until_s: Mapped[float] = mapped_column(Float, default=0.0)
    last_word: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    body: Mapped[Body] = relationship(lazy="joined")
    recording: Mapped[Recording | None] = relationship()


# Alerts, mail and API keys (issue #10) ------------------------------------------------------------


class AlertFrequency(enum.StrEnum):
    immediate = "immediate"
    daily = "daily"


class Alert(Base):
    """A saved search (query + filters) whose new moments are mailed to one address.

    The secret in each mail's confirm, manage and unsubscribe links names the alert (no login
    is needed for any of them); only its SHA-256 is kept (``AlertLink``). An alert mails nothing
    until confirmed (double opt-in) and nothing after it is unsubscribed.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    query: Mapped[str] = mapped_column(String(500))
    # Filters as search.meili.query.Filters fields (body, language, year, event_type, speaker,
    # dates).
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    frequency: Mapped[AlertFrequency] = mapped_column(
        Enum(AlertFrequency, native_enum=False, length=20), default=AlertFrequency.immediate
    )
    lang: Mapped[str] = mapped_column(String(8), default="kk")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the last daily digest went out (daily alerts only).
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxState(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    # Refused for good by the SMTP server (5xx), or nothing left to say (every moment withdrawn).
    failed = "failed"
    dropped = "dropped"


class OutboxMessage(Base):
    """A message to send, kept until the SMTP server accepted it: a failed send is tried again
    with backoff and never lost. The text is rendered when sent, so a recording withdrawn in the
    meantime is left out."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_kind_created_at", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "confirm" (double opt-in) or "alert" (the moments whose deliveries point here).
    kind: Mapped[str] = mapped_column(String(20))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    state: Mapped[OutboxState] = mapped_column(
        Enum(OutboxState, native_enum=False, length=20), default=OutboxState.pending, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A confirmation's normalised address and the client that asked for it: the sign-up caps
    # count these (archive.alerts.SignUpCaps).
    recipient: Mapped[str | None] = mapped_column(String(320), index=True)
    client: Mapped[str | None] = mapped_column(String(64), index=True)

    alert: Mapped[Alert] = relationship(lazy="joined")


class AlertLink(Base):
    """The SHA-256 of a secret mailed in an alert's links, one per mail sent.

    The secret itself is never stored: whoever reads the database (a backup, a leak) cannot
    confirm, manage or stop anyone's alerts. A new secret is made for each mail, as it is
    rendered, so links in mails sent long ago keep working.
    """

    __tablename__ = "alert_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertDelivery(Base):
    """One moment owed to one alert: unique by (alert, segment), so each subscriber hears of each
    moment at most once, however often the recording is indexed again."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "segment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    # No foreign key: segment ids are deterministic and survive re-transcription.
    segment_id: Mapped[str] = mapped_column(String(40))
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    moment: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The message that carries it; None while it waits for a daily digest.
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )


class ApiKey(Base):
    """A key for heavy API users: a higher rate limit. Only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    per_minute: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    transcribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    transcribe_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LiveGap(Base):
    """The stream was lost: at ``at_s`` on the recording's timeline, ``lost_s`` of wall time is
    missing (the joined file simply goes on with what came after the reconnection)."""

    __tablename__ = "live_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("live_sessions.id", ondelete="CASCADE"))
    at_s: Mapped[float] = mapped_column(Float)
    lost_s: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())
