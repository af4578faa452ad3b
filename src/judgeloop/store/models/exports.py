"""Records of data that came in (imports) and went out (exports), with their hashes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin


class ImportRecord(IdMixin, TimestampMixin, Base):
    """One import run: the file, its format and mapping, and what went in."""

    __tablename__ = "imports"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    source: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(30))
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rows_read: Mapped[int] = mapped_column(default=0)
    items_added: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    submissions_added: Mapped[int] = mapped_column(default=0)


class ExportRecord(IdMixin, TimestampMixin, Base):
    """One export: what was written, how many rows, and the file's sha256."""

    __tablename__ = "exports"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    what: Mapped[str] = mapped_column(String(30))
    format: Mapped[str] = mapped_column(String(30))
    path: Mapped[str] = mapped_column(Text, default="")
    row_count: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
