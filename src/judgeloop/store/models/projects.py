"""Projects: what is asked (questions, rubric), of whom (members), under which guidelines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin

PROJECT_STATES = ("active", "paused", "archived")


class Project(IdMixin, TimestampMixin, Base):
    """A body of work: a template's questions and rubric applied to imported items."""

    __tablename__ = "projects"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    preset: Mapped[str | None] = mapped_column(String(100), default=None)
    task_type: Mapped[str] = mapped_column(String(100), default="custom")
    # The question composition and rubric, validated by questions/ before they are stored.
    questions: Mapped[list[Any]] = mapped_column(default=list)
    rubric: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    redundancy: Mapped[int] = mapped_column(default=1)
    gold_ratio: Mapped[float] = mapped_column(default=0.0)
    hide_model_identity: Mapped[bool] = mapped_column(default=True)
    require_explanation: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(20), default="active")
    guideline_version: Mapped[int] = mapped_column(default=1)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class GuidelineVersion(IdMixin, TimestampMixin, Base):
    """One version of a project's guidelines (Markdown); versions are never edited."""

    __tablename__ = "guideline_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)


class ProjectMember(IdMixin, TimestampMixin, Base):
    """A user's role in one project: owner, reviewer or worker."""

    __tablename__ = "project_members"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="worker")
