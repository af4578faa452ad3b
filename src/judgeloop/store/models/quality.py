"""Quality control: consensus per item and question, worker reliability, suspensions, audits.

``ConsensusResult`` rows are written by ``services.consensus.aggregate_project`` (a
re-run replaces a project's rows); ``WorkerReliability`` is the per-worker snapshot the
same run leaves behind. ``Suspension`` keeps a worker out of one project's queue with a
reason the worker reads; lifting one keeps the row (``lifted_at``). ``AuditSample``
puts a submission in the reviewers' audit queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin, utcnow


class ConsensusResult(IdMixin, Base):
    """The consensus answer to one question of one item (per candidate where asked so).

    ``value`` has the question kind's answer shape (a label, a score, a winner, a
    ranking); ``details`` holds what the method adds (a posterior over labels, a
    standard error, Bradley-Terry scores, vote counts). ``confidence`` is in 0..1.
    """

    __tablename__ = "consensus_results"
    __table_args__ = (
        UniqueConstraint("item_id", "question_key", "candidate_key"),
        Index("ix_consensus_results_project_id_item_id", "project_id", "item_id"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(100))
    candidate_key: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(30))
    method: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(default=0.0)
    n_judgments: Mapped[int] = mapped_column(default=0)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerReliability(IdMixin, Base):
    """One worker's reliability in one project, as of the last aggregation.

    ``gold_correct``/``gold_total``: gold answers matched; ``agreement`` (over
    ``agreement_n`` judgments): the share that matches consensus; ``model_accuracy``:
    the aggregation model's estimate (Dawid-Skene, or one-coin for sparse workers, see
    ``model``) and ``informativeness`` (0 for answers independent of the truth);
    ``rating_bias``: how much higher than consensus the worker rates; ``weight``: the
    weight of one of their ratings relative to an average worker. ``flagged`` and
    ``reasons`` apply the project's thresholds (``Project.settings["quality"]``).
    """

    __tablename__ = "worker_reliabilities"
    __table_args__ = (UniqueConstraint("project_id", "worker_id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    n_judgments: Mapped[int] = mapped_column(default=0)
    gold_correct: Mapped[int] = mapped_column(default=0)
    gold_total: Mapped[int] = mapped_column(default=0)
    agreement: Mapped[float | None] = mapped_column(default=None)
    agreement_n: Mapped[int] = mapped_column(default=0)
    model_accuracy: Mapped[float | None] = mapped_column(default=None)
    model: Mapped[str] = mapped_column(String(100), default="")
    informativeness: Mapped[float | None] = mapped_column(default=None)
    rating_bias: Mapped[float | None] = mapped_column(default=None)
    weight: Mapped[float | None] = mapped_column(default=None)
    flagged: Mapped[bool] = mapped_column(default=False)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def gold_accuracy(self) -> float | None:
        """Share of gold answers matched, None without any."""
        return self.gold_correct / self.gold_total if self.gold_total else None


class Suspension(IdMixin, TimestampMixin, Base):
    """A worker kept out of one project's queue, with the reason they are shown.

    Active while ``lifted_at`` is None; lifting records who lifted it and why.
    """

    __tablename__ = "suspensions"
    __table_args__ = (Index("ix_suspensions_project_id_worker_id", "project_id", "worker_id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    lifted_at: Mapped[datetime | None] = mapped_column(default=None)
    lifted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    lift_note: Mapped[str] = mapped_column(Text, default="")


class AuditSample(IdMixin, TimestampMixin, Base):
    """A submission picked for audit, why it was picked, and how many reviews it wants."""

    __tablename__ = "audit_samples"
    __table_args__ = (Index("ix_audit_samples_project_id_id", "project_id", "id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    reason: Mapped[str] = mapped_column(String(30))
    reviews_wanted: Mapped[int] = mapped_column(default=1)
    sampled_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
