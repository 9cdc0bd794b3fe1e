"""What every table shares: the declarative base and the one column type for moments."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Enum, Float
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
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
    """Column types follow the annotation, so a new ``Mapped[datetime]`` column is a
    ``UTCDateTime`` and a ``Mapped[SomeState]`` one stores the enum's value as a string (no
    database enum type to migrate when a state is added)."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        # FLOAT as the migrations made it (SQLAlchemy 2.1 would pick DOUBLE).
        float: Float(),
        datetime: UTCDateTime(),
        enum.Enum: Enum(enum.Enum, native_enum=False, length=20),
    }
