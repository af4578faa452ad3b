"""Declarative base with named constraints and portable column types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Integer, MetaData, TypeDecorator, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonValue = Any


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that reads back aware on every database.

    SQLite keeps no time zone, so its values come back naive; they were written in UTC
    (see `utcnow`), so UTC is attached on the way out. PostgreSQL values pass unchanged.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy API
    ) -> datetime | None:
        """Attach UTC to naive values read from the database."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Base of every table; portable JSON type for `dict`/`list` annotations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UtcDateTime(),
    }


class IdMixin:
    """Integer primary key: compact, fast to index, and what bulk inserts return."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


class TimestampMixin:
    """Creation time, set by the application so SQLite and PostgreSQL agree."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
