"""Wire models for quality control: consensus, agreement, reliability, flags, audits.

Statistics that cannot be computed (too few judgments) travel as ``null``, never NaN.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AggregateCreate(BaseModel):
    """Run aggregation with a method (``default``, ``mv``, ``wawa``, ``ds``, ``one-coin``)."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("default", max_length=100)


class AggregateRead(BaseModel):
    """What an aggregation run wrote."""

    project_id: int
    method: str
    results: int
    questions: dict[str, int]
    workers: int
    judgments: int
    computed_at: datetime


class ConsensusRead(BaseModel):
    """The consensus answer to one question of one item, with its confidence."""

    model_config = ConfigDict(from_attributes=True)

    item_id: int
    question_key: str
    candidate_key: str
    kind: str
    method: str
    value: Any
    confidence: float
    n_judgments: int
    details: dict[str, Any]
    computed_at: datetime


class ConsensusPage(BaseModel):
    """A page of consensus results; ask again with ``after=next_after`` for more."""

    results: list[ConsensusRead]
    next_after: int | None


class EstimateRead(BaseModel):
    """A statistic with its bootstrap confidence interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


class WeekRead(BaseModel):
    """Agreement on the judgments of one week (starting Monday)."""

    week: date
    alpha: float | None
    pairwise: float | None
    n_items: int


class AgreementRead(BaseModel):
    """Agreement on one question, rubric dimension or preference variant."""

    key: str
    title: str
    kind: str
    variant: str
    level: str
    alpha: EstimateRead
    fleiss_kappa: EstimateRead
    pairwise: EstimateRead
    n_items: int
    n_judgments: int
    weeks: list[WeekRead]


class BehaviourFlagRead(BaseModel):
    """A behaviour flag on a worker, with the figure behind it."""

    worker_id: int
    kind: str
    detail: str
    figure: float
    submission_ids: list[int]


class BehaviourRead(BaseModel):
    """The project's behaviour flags and the median time they are measured against."""

    median_seconds: float | None
    submissions: int
    flags: list[BehaviourFlagRead]


class ReliabilityRead(BaseModel):
    """One worker's reliability in a project (as of the last aggregation)."""

    worker_id: int
    name: str
    n_judgments: int | None
    gold_correct: int | None
    gold_total: int | None
    gold_accuracy: float | None
    agreement: float | None
    agreement_n: int | None
    model_accuracy: float | None
    model: str | None
    informativeness: float | None
    rating_bias: float | None
    flagged: bool
    reasons: list[str]
    suspended: bool
    computed_at: datetime | None


class SuspensionCreate(BaseModel):
    """Suspend a worker from a project; the worker reads the reason."""

    model_config = ConfigDict(extra="forbid")

    worker_id: int
    reason: str = Field(min_length=1, max_length=4000)


class SuspensionLift(BaseModel):
    """Lift a suspension, with an optional note."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=4000)


class SuspensionRead(BaseModel):
    """A suspension: who, why, since when, and whether it was lifted."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    worker_id: int
    reason: str
    created_at: datetime
    lifted_at: datetime | None
    lift_note: str


class ModelStandingRead(BaseModel):
    """One model version on the leaderboard (scores are log-strengths; Elo alongside)."""

    model_config = ConfigDict(from_attributes=True)

    model_version_id: int
    name: str
    score: float
    elo: float
    ci_low: float | None
    ci_high: float | None
    wins: float
    losses: float
    ties: float


class ModelLeaderboardRead(BaseModel):
    """Models best first and their head-to-head win rates (row beat column)."""

    model_config = ConfigDict(from_attributes=True)

    method: str
    models: list[ModelStandingRead]
    win_rates: list[list[float | None]]
    counts: list[list[int]]
    tie_strength: float
    n_comparisons: int
    n_bootstrap: int


class AuditSampleRead(BaseModel):
    """A submission in the audit queue, why it was picked and the reviews it wants."""

    submission_id: int
    worker_id: int
    item_id: int
    reason: str
    reviews_wanted: int
    reviews: int
    state: str
    review_url: str


class ReviewerAgreementRead(BaseModel):
    """How often reviewers who audited the same submission agreed."""

    submissions: int
    pairs: int
    agreement: float | None
    kappa: float | None


class AuditQueueRead(BaseModel):
    """The caller's audit queue, the audit counts and reviewers' agreement."""

    queue: list[AuditSampleRead]
    counts: dict[str, int]
    reviewer_agreement: ReviewerAgreementRead


class AdaptiveSettings(BaseModel):
    """Adaptive redundancy: the project's redundancy is the minimum per item.

    ``confidence``, ``prior_accuracy``, ``prior_strength`` and ``max_accuracy`` tune
    the stopping rule (``aggregate.redundancy.StoppingRule``; None: its default).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    max_redundancy: int = Field(6, ge=1, le=100)
    confidence: float | None = Field(None, gt=0.5, lt=1.0)
    prior_accuracy: float | None = Field(None, gt=0.0, lt=1.0)
    prior_strength: float | None = Field(None, ge=0.0, le=10_000)
    max_accuracy: float | None = Field(None, gt=0.0, lt=1.0)
    step: int = Field(1, ge=1, le=20)
    disputed_priority: int = Field(100, ge=1, le=1_000_000)


class ThresholdSettings(BaseModel):
    """The bars workers are flagged under, and the behaviour-flag thresholds."""

    model_config = ConfigDict(extra="forbid")

    min_gold_accuracy: float = Field(0.7, ge=0.0, le=1.0)
    min_gold_items: int = Field(5, ge=1)
    min_consensus_agreement: float = Field(0.5, ge=0.0, le=1.0)
    min_consensus_items: int = Field(10, ge=1)
    min_informativeness: float = Field(0.1, ge=0.0, le=1.0)
    min_model_items: int = Field(10, ge=1)
    too_fast_fraction: float = Field(0.25, gt=0.0, le=1.0)
    too_fast_share: float = Field(0.5, ge=0.0, le=1.0)
    too_fast_min: int = Field(5, ge=1)
    straight_min: int = Field(10, ge=2)
    straight_share: float = Field(0.95, gt=0.0, le=1.0)
    copy_threshold: float = Field(0.8, gt=0.0, le=1.0)
    paste_threshold: float = Field(0.6, gt=0.0, le=1.0)
    retest_min: int = Field(3, ge=1)
    retest_consistency: float = Field(0.6, ge=0.0, le=1.0)


class AuditSettings(BaseModel):
    """How many submissions the audit queue samples, and from whom."""

    model_config = ConfigDict(extra="forbid")

    rate: float = Field(0.1, ge=0.0, le=1.0)
    new_worker_rate: float = Field(0.5, ge=0.0, le=1.0)
    flagged_rate: float = Field(0.5, ge=0.0, le=1.0)
    new_worker_submissions: int = Field(20, ge=0)
    double_review: float = Field(0.2, ge=0.0, le=1.0)


class QualitySettings(BaseModel):
    """A project's quality settings (``Project.settings`` keys adaptive, quality, audit)."""

    model_config = ConfigDict(extra="forbid")

    adaptive: AdaptiveSettings = Field(default_factory=AdaptiveSettings)
    quality: ThresholdSettings = Field(default_factory=ThresholdSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
