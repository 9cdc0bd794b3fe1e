"""Saved searches mailed to subscribers: alerts, their links, the outbox and what each is owed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive.models.base import Base, utcnow


class AlertFrequency(enum.StrEnum):
    """Each new moment in its own mail, or one digest a day."""

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
    frequency: Mapped[AlertFrequency] = mapped_column(default=AlertFrequency.immediate)
    lang: Mapped[str] = mapped_column(String(8), default="kk")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    # When the last daily digest went out (daily alerts only).
    last_digest_at: Mapped[datetime | None]


class OutboxState(enum.StrEnum):
    """A message is sent once ``sent``; ``pending`` ones are tried again with backoff."""

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
    state: Mapped[OutboxState] = mapped_column(default=OutboxState.pending, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    moment: Mapped[float]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The message that carries it; None while it waits for a daily digest.
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL"), index=True
    )
