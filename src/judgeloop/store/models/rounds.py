"""Rounds: one turn of the loop, from a model version's answers to people's verdict on them.

A `Round` belongs to a project and names the model version under test and the version
it is compared with. `RoundItem` says which items a round created (fresh prompts, or
prompts that red-teamers broke the last version with). Freezing a round closes its
items and keeps a summary of what it found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin

ROUND_STATES = ("open", "frozen")


class Round(IdMixin, TimestampMixin, Base):
    """One round of a project: a model version judged blind against the previous one."""

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_rounds_project_number"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int]
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id"), default=None
    )
    baseline_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id"), default=None
    )
    state: Mapped[str] = mapped_column(String(20), default="open")
    frozen_at: Mapped[datetime | None] = mapped_column(default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class RoundItem(IdMixin, Base):
    """An item a round created, and where its prompt came from."""

    __tablename__ = "round_items"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="fresh")
    tag: Mapped[str] = mapped_column(String(100), default="")
