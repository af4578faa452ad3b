"""Work done: submissions (one worker's answers to one item) and their judgments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin, utcnow

SUBMISSION_STATES = ("submitted", "accepted", "rejected")
ASSIGNMENT_STATES = ("leased", "submitted", "skipped", "released", "expired")
FLAG_REASONS = ("broken_prompt", "personal_data", "harmful_content", "other")


class Assignment(IdMixin, TimestampMixin, Base):
    """An item leased to one worker for a while; the lease expires if abandoned.

    One row per (item, worker): a released or expired lease is re-used if the item is
    served to the same worker again; a submitted or skipped one never is.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "worker_id"),
        Index("ix_assignments_worker_id_state", "worker_id", "state"),
        Index("ix_assignments_state_expires_at", "state", "expires_at"),
    )

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default="leased")
    leased_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    active_seconds: Mapped[float] = mapped_column(default=0.0)
    skip_reason: Mapped[str] = mapped_column(Text, default="")


class Flag(IdMixin, TimestampMixin, Base):
    """A worker's report that an item is broken, holds personal data, or is harmful."""

    __tablename__ = "flags"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    resolved: Mapped[bool] = mapped_column(default=False)


class Review(IdMixin, TimestampMixin, Base):
    """A reviewer's verdict on a submission, with the feedback the worker sees."""

    __tablename__ = "reviews"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(20))
    feedback: Mapped[str] = mapped_column(Text, default="")


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
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL"), default=None
    )


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
