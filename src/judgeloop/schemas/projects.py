"""Wire models for projects, guidelines, members and progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SLUG = r"^[a-z][a-z0-9-]{0,99}$"


class ProjectCreate(BaseModel):
    """A new project: from a preset (template), a custom composition of questions, or both.

    With a preset, `questions` and `rubric` left empty take the preset's; given, they
    replace them.
    """

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(
        pattern=SLUG,
        description="URL name: a lowercase letter, then lowercase letters, digits or '-'.",
    )
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20000)
    preset: str | None = None
    questions: list[dict[str, Any]] = Field(default_factory=list)
    rubric: list[dict[str, Any]] = Field(default_factory=list)
    guidelines: str | None = Field(None, max_length=200000)
    redundancy: int = Field(1, ge=1, le=100)
    gold_ratio: float = Field(0.0, ge=0.0, le=1.0)
    hide_model_identity: bool = True
    require_explanation: bool | None = None


class ProjectUpdate(BaseModel):
    """Changes to a project's settings (guidelines change through a new version)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=20000)
    redundancy: int | None = Field(None, ge=1, le=100)
    gold_ratio: float | None = Field(None, ge=0.0, le=1.0)
    hide_model_identity: bool | None = None
    require_explanation: bool | None = None
    state: Literal["active", "paused", "archived"] | None = None


class ProjectRead(BaseModel):
    """A project as its members see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    description: str
    preset: str | None
    task_type: str
    questions: list[dict[str, Any]]
    rubric: list[dict[str, Any]]
    redundancy: int
    gold_ratio: float
    hide_model_identity: bool
    require_explanation: bool
    state: str
    guideline_version: int
    owner_id: int
    created_at: datetime


class GuidelineCreate(BaseModel):
    """A new version of the guidelines (Markdown)."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=200000)


class GuidelineRead(BaseModel):
    """One version of a project's guidelines."""

    model_config = ConfigDict(from_attributes=True)

    version: int
    body: str
    author_id: int | None
    created_at: datetime


class MemberCreate(BaseModel):
    """Give a user a role in a project."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = None
    email: str | None = None
    role: Literal["owner", "reviewer", "worker"] = "worker"


class MemberRead(BaseModel):
    """A user's membership of a project."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    role: str


class ProgressRead(BaseModel):
    """How far a project has come."""

    items: int
    gold_items: int
    items_complete: int
    submissions: int
    judgments: int
    workers: int
    median_seconds: float | None
    redundancy: int
