"""Wire models for submissions, judgments and import reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AnswerIn(BaseModel):
    """The answer to one question (about one candidate, for per-candidate questions)."""

    model_config = ConfigDict(extra="forbid")

    question: str
    candidate: str = ""
    value: Any = None
    explanation: str = Field("", max_length=20000)


class SubmissionCreate(BaseModel):
    """A worker's answers to one item. `submission_key` makes a retried post harmless."""

    model_config = ConfigDict(extra="forbid")

    item_id: int
    assignment_id: int | None = Field(None, description="The lease this answers, if any.")
    submission_key: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    answers: list[AnswerIn] = Field(max_length=1000)
    seconds_spent: float = Field(0.0, ge=0, le=7 * 24 * 3600)
    explanation: str = Field("", max_length=20000)


class JudgmentRead(BaseModel):
    """One stored answer."""

    model_config = ConfigDict(from_attributes=True)

    question_key: str
    candidate_key: str
    kind: str
    value: Any
    explanation: str


class SubmissionRead(BaseModel):
    """A stored submission with its answers."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    submission_key: str
    project_id: int
    item_id: int
    worker_id: int
    guideline_version: int
    seconds_spent: float
    state: str
    source: str
    explanation: str
    created_at: datetime
    judgments: list[JudgmentRead] = Field(default_factory=list)
    created: bool = True


class SubmissionPage(BaseModel):
    """A page of submissions; pass `next_after` as `after` to get the next page."""

    submissions: list[SubmissionRead]
    next_after: int | None


class RowErrorRead(BaseModel):
    """One rejected row of an import."""

    line: int
    field: str
    reason: str


class ImportReport(BaseModel):
    """What an import did: rows read, items added, duplicates skipped, rows rejected."""

    import_id: int | None
    format: str
    rows_read: int
    items_added: int
    duplicates: int
    rejected: int
    submissions_added: int = 0
    errors: list[RowErrorRead] = Field(default_factory=list)
    rejected_path: str | None = None
