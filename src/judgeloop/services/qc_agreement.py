"""Agreement between workers, per question, per rubric dimension and per week.

Each question is measured at the level its kind calls for: Krippendorff's alpha
nominal for choices and code-run verdicts, ordinal for ratings (over the whole scale,
so unused extremes still count); Fleiss' kappa and plain pairwise agreement beside it,
each with a bootstrap confidence interval over items (``aggregate.agreement``). A/B
preferences are measured with ties as a third answer and again without tie votes;
rankings through the pairs of candidates they order. Per-worker agreement with
consensus comes from the last aggregation (``services.qc.reliability_table``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from judgeloop.aggregate.agreement import AgreementReport, agreement_report, preference_agreement
from judgeloop.aggregate.alpha import Level
from judgeloop.questions.base import QuestionSpec, RubricDimension
from judgeloop.services.judgment_data import (
    AGGREGATED_KINDS,
    LABEL_KINDS,
    JudgmentRow,
    by_question,
    label_of,
    load_judgments,
    pairs_of,
    project_candidates,
    rating_of,
)
from judgeloop.store.models import Project

DEFAULT_BOOTSTRAP = 500


@dataclass(frozen=True)
class AgreementRow:
    """Agreement on one question (or rubric dimension, or preference variant)."""

    key: str
    title: str
    kind: str
    variant: str
    report: AgreementReport
    weeks: list[WeekAgreement] = field(default_factory=list)


@dataclass(frozen=True)
class WeekAgreement:
    """Agreement on the judgments given in one ISO week (starting Monday)."""

    week: date
    alpha: float
    pairwise: float
    n_items: int


@dataclass(frozen=True)
class Measured:
    """What one question's judgments become for measuring: unit, value and day of each."""

    units: list[Any]
    values: list[Any]
    days: list[date]
    level: Level
    domain: list[Any] | None = None


def _rating_domain(spec: QuestionSpec) -> list[float]:
    config = spec.parsed_config()
    return [float(v) for v in range(int(config.min), int(config.max) + 1)]


def measured(spec: QuestionSpec, rows: Sequence[JudgmentRow]) -> Measured:
    """Turn a label or rating question's judgments into (unit, value) for agreement."""
    units, values, days = [], [], []
    for r in rows:
        value: Any = rating_of(r.value) if spec.kind == "rating" else label_of(r.kind, r.value)
        if value is not None:
            units.append(f"{r.item_id}:{r.candidate_key}")
            values.append(value)
            days.append(r.created_at.date())
    if spec.kind == "rating":
        return Measured(units, values, days, "ordinal", _rating_domain(spec))
    return Measured(units, values, days, "nominal")


def pair_outcomes(
    rows: Sequence[JudgmentRow], candidates: dict[int, list[str]]
) -> tuple[list[str], list[float], list[date]]:
    """Each judgment's pairwise outcomes as (item:lo:hi, outcome for lo, day)."""
    units, outcomes, days = [], [], []
    for r in rows:
        for a, b, outcome in pairs_of(r.kind, r.value, candidates.get(r.item_id, [])):
            lo, hi, out = (a, b, outcome) if a < b else (b, a, 1.0 - outcome)
            units.append(f"{r.item_id}:{lo}:{hi}")
            outcomes.append(out)
            days.append(r.created_at.date())
    return units, outcomes, days


def _weeks(m: Measured) -> list[WeekAgreement]:
    by_week: dict[date, list[int]] = {}
    for n, day in enumerate(m.days):
        by_week.setdefault(day - timedelta(days=day.weekday()), []).append(n)
    out = []
    for week, idx in sorted(by_week.items()):
        report = agreement_report(
            [m.units[i] for i in idx],
            [m.values[i] for i in idx],
            level=m.level,
            domain=m.domain,
            n_bootstrap=0,
        )
        if report.n_items:
            out.append(
                WeekAgreement(week, report.alpha.value, report.pairwise.value, report.n_items)
            )
    return out


def _report(m: Measured, n_bootstrap: int) -> AgreementReport:
    return agreement_report(
        m.units,
        m.values,
        level=m.level,
        domain=m.domain,
        n_bootstrap=n_bootstrap,
    )


def question_agreement(
    spec: QuestionSpec,
    rows: Sequence[JudgmentRow],
    candidates: dict[int, list[str]],
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
) -> list[AgreementRow]:
    """Agreement rows of one question (two for preferences and rankings: with and without ties)."""
    if spec.kind in LABEL_KINDS or spec.kind == "rating":
        m = measured(spec, rows)
        if not m.units:
            return []
        return [
            AgreementRow(spec.key, spec.title, spec.kind, "", _report(m, n_bootstrap), _weeks(m))
        ]
    units, outcomes, days = pair_outcomes(rows, candidates)
    if not units:
        return []
    both = preference_agreement(units, outcomes, n_bootstrap=n_bootstrap)
    m = Measured(units, outcomes, days, "nominal", [0.0, 0.5, 1.0])
    return [
        AgreementRow(spec.key, spec.title, spec.kind, "with ties", both.with_ties, _weeks(m)),
        AgreementRow(spec.key, spec.title, spec.kind, "without ties", both.without_ties),
    ]


def dimension_agreement(
    dim: RubricDimension,
    specs: Sequence[QuestionSpec],
    grouped: dict[str, list[JudgmentRow]],
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
) -> AgreementRow | None:
    """Agreement pooled over every rating question on one rubric dimension (ordinal)."""
    on_dim = [s for s in specs if s.kind == "rating" and s.config.get("dimension") == dim.key]
    if len(on_dim) < 2:
        return None  # one question: its own row says it all
    units: list[Any] = []
    values: list[Any] = []
    days: list[date] = []
    for spec in on_dim:
        m = measured(spec, grouped.get(spec.key, []))
        units += [f"{spec.key}:{u}" for u in m.units]
        values += m.values
        days += m.days
    if not units:
        return None
    domain = [float(v) for v in range(min(dim.levels), max(dim.levels) + 1)]
    m = Measured(units, values, days, "ordinal", domain)
    title = f"Rubric dimension: {dim.name}"
    return AgreementRow(dim.key, title, "rating", "dimension", _report(m, n_bootstrap), _weeks(m))


def agreement_rows(
    session: Session, *, project: Project, n_bootstrap: int = DEFAULT_BOOTSTRAP
) -> list[AgreementRow]:
    """Agreement on every question of the project that has one, then per rubric dimension.

    Args:
        session: Database session.
        project: The project.
        n_bootstrap: Bootstrap resamples for the confidence intervals (0: none).

    Returns:
        One row per question (two for preferences and rankings), then one per rubric
        dimension shared by several rating questions; each with its weeks.
    """
    specs = [QuestionSpec.model_validate(q) for q in project.questions]
    specs = [s for s in specs if s.kind in AGGREGATED_KINDS]
    grouped = by_question(load_judgments(session, project=project, kinds=AGGREGATED_KINDS))
    candidates = {
        item: [key for key, _ in cands]
        for item, cands in project_candidates(session, project=project).items()
    }
    rows: list[AgreementRow] = []
    for spec in specs:
        rows += question_agreement(spec, grouped.get(spec.key, []), candidates, n_bootstrap)
    for raw in project.rubric:
        dim = RubricDimension.model_validate(raw)
        if (row := dimension_agreement(dim, specs, grouped, n_bootstrap)) is not None:
            rows.append(row)
    return rows


def finite_or_none(value: float) -> float | None:
    """The value, or None when it is NaN or infinite (JSON has no NaN)."""
    return float(value) if np.isfinite(value) else None
