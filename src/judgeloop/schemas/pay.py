"""Wire models for pay: terms, ledger entries, statements and the two dashboards.

Money travels as decimal strings (``"0.25"``), never floats, so nothing is rounded.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PayMode = Literal["per_task", "per_accepted", "hourly"]


class PayTermsUpdate(BaseModel):
    """New pay terms for a project (a new row; old terms are kept for the record)."""

    model_config = ConfigDict(extra="forbid")

    mode: PayMode
    rate: Decimal = Field(ge=0, max_digits=18, decimal_places=6)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    hourly_cap_seconds: int | None = Field(None, gt=0, le=86400)


class PayTermsRead(BaseModel):
    """A project's pay terms as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    mode: str
    rate: Decimal
    currency: str
    hourly_cap_seconds_per_task: int | None
    effective_from: datetime


class OwnerEntryCreate(BaseModel):
    """A bonus or an adjustment for one worker, with its reason."""

    model_config = ConfigDict(extra="forbid")

    worker_id: int
    amount: Decimal = Field(max_digits=18, decimal_places=6)
    reason: str = Field(min_length=1, max_length=2000)
    idempotency_key: str | None = Field(None, min_length=8, max_length=100)


class LedgerEntryRead(BaseModel):
    """One ledger entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    submission_id: int | None
    kind: str
    status: str
    amount: Decimal
    currency: str
    reason: str
    source: str
    created_at: datetime


class StatementCreate(BaseModel):
    """Gather approved, unpaid pay of a period into statements."""

    model_config = ConfigDict(extra="forbid")

    period_start: datetime
    period_end: datetime


class StatementPaid(BaseModel):
    """Record a statement as paid, with the payment's reference."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=500)


class StatementRead(BaseModel):
    """A payout statement."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    worker_id: int
    project_id: int | None
    period_start: datetime
    period_end: datetime
    total: Decimal
    currency: str
    state: str
    paid_at: datetime | None
    reference: str


class MoneyRead(BaseModel):
    """Pending, approved and paid money in one currency."""

    currency: str
    pending: Decimal
    approved: Decimal
    paid: Decimal
    total: Decimal


class ProjectQualityRead(BaseModel):
    """A worker's record in one project."""

    project_id: int
    project_name: str
    submissions: int
    accepted: int
    rejected: int
    gold_scored: int
    gold_correct: int
    gold_accuracy: float | None


class QualificationHeld(BaseModel):
    """A qualification the worker holds (or held), with its expiry."""

    name: str
    score: float
    granted_at: datetime
    expires_at: datetime | None
    expired: bool
    days_left: int | None


class FeedbackRead(BaseModel):
    """A reviewer's verdict on one of the worker's submissions."""

    project: str
    submission_id: int
    verdict: str
    feedback: str
    at: datetime


class WorkerDashboardRead(BaseModel):
    """The worker's own earnings, quality, feedback and qualifications."""

    earnings: list[MoneyRead]
    by_project: list[tuple[str, MoneyRead]]
    quality: list[ProjectQualityRead]
    feedback: list[FeedbackRead]
    qualifications: list[QualificationHeld]


class OwnerDashboardRead(BaseModel):
    """A project's workers, pace, spend and projection to finish."""

    workers: int
    active_workers: int
    eligible_workers: int
    leased_now: int
    accepted_judgments: int
    throughput_per_day: float
    daily: list[tuple[str, int]]
    spend: list[MoneyRead]
    cost_per_accepted: dict[str, Decimal]
    remaining_judgments: int
    days_to_finish: float | None
    cost_to_finish: dict[str, Decimal]
