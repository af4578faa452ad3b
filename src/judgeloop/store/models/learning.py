"""Reward models trained from a project's preferences, versioned with their data and scores."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin


class RewardModel(IdMixin, TimestampMixin, Base):
    """A trained reward model: where it lives, what it learned from, how well it does.

    The model's own folder holds its weights and a manifest; this row is the registry
    entry that lets rounds and best-of-n find it by name.
    """

    __tablename__ = "reward_models"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None
    )
    round_number: Mapped[int | None] = mapped_column(default=None)
    kind: Mapped[str] = mapped_column(String(30))
    path: Mapped[str] = mapped_column(Text)
    data_hash: Mapped[str] = mapped_column(String(64), default="")
    train_pairs: Mapped[int] = mapped_column(default=0)
    test_pairs: Mapped[int] = mapped_column(default=0)
    accuracy: Mapped[float | None] = mapped_column(default=None)
    calibration_error: Mapped[float | None] = mapped_column(default=None)
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
