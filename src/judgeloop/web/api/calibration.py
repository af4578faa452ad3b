"""The LLM judge's calibration report over JSON (owners, reviewers and admins; never workers).

``GET /projects/{ref}/judges/{model}/calibration``: the judge's agreement with people
per question and rubric dimension beside people's own (the ceiling), its position bias
and its length bias, each with a bootstrap confidence interval; see
``services.calibration``. NaN (a statistic with nothing to measure) is sent as null.
The model's name may contain slashes (``org/model``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from judgeloop.schemas.quality import EstimateRead
from judgeloop.services.calibration import calibration_report, report_dict
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access

router = APIRouter(tags=["LLM judge"])


class JudgeAgreementRead(BaseModel):
    """The judge against people, and people among themselves, on the same units."""

    exact: EstimateRead
    alpha: EstimateRead
    pairwise: EstimateRead
    mean_abs_error: EstimateRead
    human_exact: EstimateRead
    human_alpha: EstimateRead
    human_pairwise: EstimateRead
    human_mean_abs_error: EstimateRead
    pairwise_gap: EstimateRead
    n_units: int
    n_human_units: int
    n_judgments: int


class QuestionCalibrationRead(BaseModel):
    """Agreement on one question, or (variant "dimension") pooled on a rubric dimension."""

    key: str
    title: str
    kind: str
    level: str
    dimension: str
    variant: str
    agreement: JudgeAgreementRead


class PositionBiasRead(BaseModel):
    """How often the answer changes when A and B are swapped; first-shown share."""

    key: str
    title: str
    kind: str
    n_items: int
    n_pairs: int
    flip_rate: EstimateRead
    n_decisive: int
    first_share: EstimateRead | None


class LengthPreferenceRead(BaseModel):
    """Share of decisive A/B preferences choosing the longer answer: judge, people."""

    key: str
    title: str
    n_items: int
    n_judge: int
    n_human: int
    judge: EstimateRead
    humans: EstimateRead
    difference: EstimateRead


class LengthCorrelationRead(BaseModel):
    """Spearman correlation of a rating with the answer's length: judge, people."""

    key: str
    title: str
    dimension: str
    n_judge: int
    n_human: int
    judge: EstimateRead
    humans: EstimateRead


class JudgeRunsRead(BaseModel):
    """The judge's newest answer per item: usable or not, normal and swapped runs."""

    normal_ok: int
    normal_unusable: int
    swapped_ok: int
    swapped_unusable: int
    paired_items: int


class CalibrationRead(BaseModel):
    """The judge's calibration report on a project."""

    project_id: int
    project_slug: str
    judge_model: str
    n_bootstrap: int
    ci: float
    seed: int
    runs: JudgeRunsRead
    questions: list[QuestionCalibrationRead]
    position: list[PositionBiasRead]
    length_preference: list[LengthPreferenceRead]
    length_rating: list[LengthCorrelationRead]


@router.get("/projects/{ref}/judges/{model:path}/calibration", response_model=CalibrationRead)
def calibration_report_(
    ref: str,
    model: str,
    user: CurrentUser,
    session: DbSession,
    bootstrap: Annotated[int, Query(ge=0, le=5000, description="Resamples per interval.")] = 500,
    seed: Annotated[int, Query(ge=0, description="Seeds the bootstrap.")] = 0,
) -> CalibrationRead:
    """The judge's agreement with people (and theirs among themselves), position and length bias."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    report = calibration_report(
        session, project=access.project, judge_model=model, seed=seed, n_bootstrap=bootstrap
    )
    return CalibrationRead.model_validate(report_dict(report))
