"""What is archived: bodies, speakers, recordings, their segments and the edits made to them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, utcnow


class Named:
    """What bodies and speakers share: a slug for their pages and a name in each UI language."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # The name in each UI language; ``name`` is the fallback (see ``localized_name``).
    name_kk: Mapped[str | None] = mapped_column(String(255))
    name_ru: Mapped[str | None] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def localized_name(self, lang: str) -> str:
        """The name in ``lang`` (kk, ru, en), else the default name."""
        return getattr(self, f"name_{lang}", None) or self.name


class Body(Named, Base):
    """A public body whose broadcasts are archived (a parliament chamber, a ministry, an akimat)."""

    __tablename__ = "bodies"

    recordings: Mapped[list[Recording]] = relationship(back_populates="body")


class Speaker(Named, Base):
    """A person heard in recordings (a deputy, a minister, an akim), named in each UI language."""

    __tablename__ = "speakers"

    position: Mapped[str | None] = mapped_column(String(500))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id", ondelete="SET NULL"))

    body: Mapped[Body | None] = relationship(lazy="joined")


# The kinds of event recorded; the UI translates each (web/translations).
EVENT_TYPES = ("plenary", "committee", "hearing", "briefing", "press_conference", "other")


class RecordingStatus(enum.StrEnum):
    """How far a recording got: only ``ready`` and ``live`` ones can be public."""

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
    duration_s: Mapped[float]
    container: Mapped[str] = mapped_column(String(100))
    has_video: Mapped[bool] = mapped_column(default=False)
    probe: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[RecordingStatus] = mapped_column(default=RecordingStatus.processing)
    published: Mapped[bool] = mapped_column(default=True)
    # One of EVENT_TYPES, when staff said.
    event_type: Mapped[str | None] = mapped_column(String(40))
    # Soft delete: hidden everywhere public, restorable by staff until an admin purges it.
    deleted_at: Mapped[datetime | None]
    languages: Mapped[list[Any]] = mapped_column(default=list)
    transcript_model: Mapped[str | None] = mapped_column(String(200))
    # Where it came from, when fetched from a URL (yt-dlp's metadata).
    source_url: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(500))
    thumbnail_url: Mapped[str | None] = mapped_column(String(2000))
    poster_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

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
    idx: Mapped[int]
    start: Mapped[float]
    end: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    # [[start, end, word, probability], …] as Whisper timed them.
    words: Mapped[list[Any]] = mapped_column(default=list)
    avg_logprob: Mapped[float | None]
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("speakers.id", ondelete="SET NULL"))
    # False while the text is Whisper's; True once staff reviewed (corrected or confirmed) it.
    reviewed: Mapped[bool] = mapped_column(default=False)
    # Speech every decoding attempt turned into a repetition loop: timing kept, text "".
    unintelligible: Mapped[bool] = mapped_column(default=False, server_default=false())

    recording: Mapped[Recording] = relationship(back_populates="segments")
    speaker: Mapped[Speaker | None] = relationship(lazy="joined")


def segment_id(recording_id: int, idx: int) -> str:
    return f"{recording_id}-{idx}"


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
    idx_from: Mapped[int]
    before: Mapped[list[Any]] = mapped_column(default=list)
    after: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when undone; the undo is itself a revision (``reverts`` points back here).
    reverted_at: Mapped[datetime | None]
    reverts: Mapped[int | None] = mapped_column(
        ForeignKey("segment_revisions.id", ondelete="SET NULL")
    )
