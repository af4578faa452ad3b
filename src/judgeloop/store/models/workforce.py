"""The workforce: worker profiles, screening assessments, their attempts, qualifications.

What a project asks of its workers (lanes, domains, languages, qualifications, quality,
verified experts only) and its per-worker daily cap are kept in ``Project.settings``
under ``"requirements"`` and ``"daily_cap"``; see ``services.workforce``. The lists of
skill lanes, domains and language levels are in ``schemas.workforce``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin, utcnow


class WorkerProfile(IdMixin, TimestampMixin, Base):
    """What a worker tells about themselves, and whether an owner verified their credentials.

    ``languages`` holds ``{"code": "en", "level": "native"}`` entries; the other lists
    hold plain strings.
    """

    __tablename__ = "worker_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    skill_lanes: Mapped[list[Any]] = mapped_column(default=list)
    domains: Mapped[list[Any]] = mapped_column(default=list)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    programming_languages: Mapped[list[Any]] = mapped_column(default=list)
    experience: Mapped[str] = mapped_column(Text, default="")
    availability_hours_per_week: Mapped[int] = mapped_column(default=0)
    credentials: Mapped[str] = mapped_column(Text, default="")
    verified: Mapped[bool] = mapped_column(default=False)
    verified_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Assessment(IdMixin, TimestampMixin, Base):
    """A screening test made of gold items; passing it grants a named qualification."""

    __tablename__ = "assessments"

    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), default=None, index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    item_ids: Mapped[list[Any]] = mapped_column(default=list)
    time_limit_s: Mapped[int] = mapped_column(default=1800)
    pass_mark: Mapped[float] = mapped_column(default=0.8)
    max_attempts: Mapped[int] = mapped_column(default=2)
    cooldown_s: Mapped[int] = mapped_column(default=86400)
    qualification: Mapped[str] = mapped_column(String(100))
    qualification_valid_days: Mapped[int | None] = mapped_column(default=365)
    is_active: Mapped[bool] = mapped_column(default=True)


class AssessmentAttempt(IdMixin, TimestampMixin, Base):
    """One try at an assessment: the answers, and once finished, the score and results.

    ``answers`` maps an item id (as a string) to that item's normalized answers;
    ``results`` holds one entry per gold answer (given, expected, correct, explanation).
    """

    __tablename__ = "assessment_attempts"
    __table_args__ = (
        UniqueConstraint("assessment_id", "worker_id", "attempt_no"),
        Index("ix_assessment_attempts_worker_id_assessment_id", "worker_id", "assessment_id"),
    )

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attempt_no: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    timed_out: Mapped[bool] = mapped_column(default=False)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    results: Mapped[list[Any]] = mapped_column(default=list)
    score: Mapped[float | None] = mapped_column(default=None)
    passed: Mapped[bool | None] = mapped_column(default=None)


class Qualification(IdMixin, TimestampMixin, Base):
    """A qualification a worker holds (one row per name: the latest grant wins)."""

    __tablename__ = "qualifications"
    __table_args__ = (UniqueConstraint("worker_id", "name"),)

    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), index=True)
    score: Mapped[float] = mapped_column(default=0.0)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL"), default=None
    )
