"""Wire models for screening assessments, their attempts and results.

An attempt in progress shows its items exactly as a task shows them: the prompt, the
candidate answers and the questions, never a gold answer, nor even that the items are
gold. Expected answers appear only in the result of a finished attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from judgeloop.schemas.submissions import AnswerIn
from judgeloop.schemas.workforce import QUALIFICATION_NAME, QualificationRead

SLUG = r"^[a-z][a-z0-9-]{0,99}$"


class AssessmentCreate(BaseModel):
    """A new screening test made of gold items (of any project the owner runs)."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=20000)
    project_id: int | None = Field(None, description="The project it screens for, if one.")
    item_ids: list[int] = Field(min_length=1, max_length=200, description="Gold items, in order.")
    time_limit_s: int = Field(1800, ge=30, le=7 * 24 * 3600)
    pass_mark: float = Field(0.8, ge=0.0, le=1.0, description="Least score that passes, 0..1.")
    max_attempts: int = Field(2, ge=1, le=100)
    cooldown_s: int = Field(86400, ge=0, le=365 * 86400)
    qualification: str = Field(pattern=QUALIFICATION_NAME, description="What passing grants.")
    qualification_valid_days: int | None = Field(365, ge=1, le=3650)


class AssessmentUpdate(BaseModel):
    """Changes to an assessment; attempts already made keep their scores."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=20000)
    item_ids: list[int] | None = Field(None, min_length=1, max_length=200)
    time_limit_s: int | None = Field(None, ge=30, le=7 * 24 * 3600)
    pass_mark: float | None = Field(None, ge=0.0, le=1.0)
    max_attempts: int | None = Field(None, ge=1, le=100)
    cooldown_s: int | None = Field(None, ge=0, le=365 * 86400)
    qualification_valid_days: int | None = Field(None, ge=1, le=3650)
    is_active: bool | None = None


class AssessmentRead(BaseModel):
    """An assessment; `item_ids` only for its owner (and admins)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    description: str
    project_id: int | None
    items: int
    item_ids: list[int] | None = None
    time_limit_s: int
    pass_mark: float
    max_attempts: int
    cooldown_s: int
    qualification: str
    qualification_valid_days: int | None
    is_active: bool
    created_at: datetime


class AttemptStatusRead(BaseModel):
    """Where a worker stands with one assessment."""

    attempts_used: int
    attempts_left: int
    can_start: bool
    reason: str = ""
    retry_at: datetime | None = None
    open_attempt_id: int | None = None
    qualification: QualificationRead | None = None


class AttemptCandidateRead(BaseModel):
    """A candidate answer as a task shows it (no model name)."""

    key: str
    text: str


class AttemptItemRead(BaseModel):
    """One item of an attempt in progress: what to judge and the questions, no gold."""

    item_id: int
    prompt: str
    messages: list[dict[str, Any]] | None
    candidates: list[AttemptCandidateRead]
    questions: list[dict[str, Any]]
    answered: bool


class AttemptRead(BaseModel):
    """An attempt; `items` while it runs, empty once it is finished."""

    id: int
    assessment: str
    attempt_no: int
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    seconds_left: int
    items: list[AttemptItemRead] = Field(default_factory=list)


class AttemptItemAnswers(BaseModel):
    """The answers to one item of an attempt."""

    model_config = ConfigDict(extra="forbid")

    item_id: int
    answers: list[AnswerIn] = Field(max_length=1000)


class AttemptSubmit(BaseModel):
    """Answers to some or all items; with `finish` the attempt is scored afterwards."""

    model_config = ConfigDict(extra="forbid")

    items: list[AttemptItemAnswers] = Field(default_factory=list, max_length=200)
    finish: bool = True


class QuestionResultRead(BaseModel):
    """How one answer compared with the expected (gold) answer."""

    item_id: int
    question: str
    candidate: str
    kind: str
    title: str
    given: Any
    expected: Any
    correct: bool | None = Field(description="None: this kind is not scored automatically.")
    explanation: str


class AttemptResultRead(BaseModel):
    """A finished attempt: the score, each question's result, what it granted."""

    id: int
    assessment: str
    attempt_no: int
    finished_at: datetime
    timed_out: bool
    score: float
    pass_mark: float
    passed: bool
    results: list[QuestionResultRead]
    qualification: QualificationRead | None = None
    attempts_left: int
    retry_at: datetime | None = None
