"""Work done: submissions (one worker's answers to one item) and their judgments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin

SUBMISSION_STATES = ("submitted", "accepted", "rejected")


class Submission(IdMixin, TimestampMixin, Base):
    """A worker's complete answer to one item, made under one guideline version.

    `submission_key` is the client's idempotency key: a retried post finds the row it
    already wrote instead of adding a second one.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_item_id_worker_id", "item_id", "worker_id"),
        Index("ix_submissions_project_id_id", "project_id", "id"),
    )

    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    guideline_version: Mapped[int]
    seconds_spent: Mapped[float] = mapped_column(default=0.0)
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    source: Mapped[str] = mapped_column(String(20), default="api")
    explanation: Mapped[str] = mapped_column(Text, default="")


class Judgment(IdMixin, Base):
    """The answer to one question (about one candidate, where the question is per candidate)."""

    __tablename__ = "judgments"
    __table_args__ = (Index("ix_judgments_submission_id", "submission_id"),)

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(100))
    candidate_key: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(30))
    value: Mapped[Any] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
