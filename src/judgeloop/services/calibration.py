"""The LLM judge's calibration report: where its answers can stand in for people's.

For one judge model on one project, the judge's newest usable answers
(``services.judge``) meet people's judgments of submissions that were not rejected
(``services.judgment_data``) on the units both answered:

- **agreement** per question and per rubric dimension shared by several rating
  questions: the judge against the people's consensus and against each person, beside
  people among themselves (the ceiling), at the quality page's levels of measurement;
- **position bias**: on items judged normally and swapped, how often an answer changes
  (a preference: the preferred *answer*), and the share of picks of the first shown;
- **length bias**: the share of decisive A/B preferences for the longer answer, and the
  rank correlation of ratings with answer length, the judge's beside people's.

The numbers come from ``aggregate.calibration`` (pure, bootstrap intervals); see
docs/judge-calibration.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.aggregate.agreement import Estimate
from judgeloop.aggregate.alpha import Level
from judgeloop.aggregate.calibration import (
    JudgeAgreement,
    judge_agreement,
    paired_ratios,
    rank_correlation,
    ratio_estimate,
)
from judgeloop.questions.base import QuestionSpec, RubricDimension
from judgeloop.services.judge import JudgeRecord, PositionPair, judge_records, position_pairs
from judgeloop.services.judgment_data import (
    AGGREGATED_KINDS,
    TIE,
    JudgmentRow,
    label_of,
    load_judgments,
    pairs_of,
    rating_of,
)
from judgeloop.services.model_versions import get_model
from judgeloop.store.models import Candidate, Item, ModelVersion, Project
from judgeloop.store.models.llm import JudgeAnswer

DEFAULT_BOOTSTRAP = 1000


_Answer = JudgmentRow | JudgeRecord
"""A person's judgment or the judge's answer: both have item, question, candidate, value."""


@dataclass(frozen=True)
class QuestionCalibration:
    """The judge against people on one question (or, pooled, one rubric dimension)."""

    key: str
    title: str
    kind: str
    level: str
    dimension: str
    variant: str
    agreement: JudgeAgreement


@dataclass(frozen=True)
class PositionBias:
    """How the judge's answers to one question move when the answers are shown swapped.

    ``flip_rate``: share of answers that differ between the runs (a preference: the
    preferred answer). ``first_share`` (preferences): share of decisive preferences,
    over both runs, that chose the answer shown first (0.5 for a judge without bias).
    """

    key: str
    title: str
    kind: str
    n_items: int
    n_pairs: int
    flip_rate: Estimate
    n_decisive: int
    first_share: Estimate | None


@dataclass(frozen=True)
class LengthPreference:
    """Share of decisive A/B preferences that chose the longer answer: judge, people."""

    key: str
    title: str
    n_items: int
    n_judge: int
    n_human: int
    judge: Estimate
    humans: Estimate
    difference: Estimate


@dataclass(frozen=True)
class LengthCorrelation:
    """Spearman correlation of a rating with the rated answer's length: judge, people."""

    key: str
    title: str
    dimension: str
    n_judge: int
    n_human: int
    judge: Estimate
    humans: Estimate


@dataclass(frozen=True)
class JudgeRuns:
    """The judge's newest answer per item: usable (ok) or not, normal and swapped."""

    normal_ok: int = 0
    normal_unusable: int = 0
    swapped_ok: int = 0
    swapped_unusable: int = 0
    paired_items: int = 0


@dataclass(frozen=True)
class CalibrationReport:
    """The judge's calibration on a project (see the module docstring)."""

    project_id: int
    project_slug: str
    judge_model: str
    n_bootstrap: int
    ci: float
    seed: int
    runs: JudgeRuns
    questions: list[QuestionCalibration] = field(default_factory=list)
    position: list[PositionBias] = field(default_factory=list)
    length_preference: list[LengthPreference] = field(default_factory=list)
    length_rating: list[LengthCorrelation] = field(default_factory=list)


@dataclass(frozen=True)
class _Data:
    specs: list[QuestionSpec]
    rubric: list[RubricDimension]
    humans: dict[str, list[_Answer]]
    judge: dict[str, list[_Answer]]
    pairs: list[PositionPair]
    candidates: dict[int, list[tuple[str, int]]]  # item -> (key, length) in shown order
    boot: dict[str, Any]  # n_bootstrap, ci, seed


def observations(
    spec: QuestionSpec, answers: Iterable[_Answer], candidates: dict[int, list[tuple[str, int]]]
) -> tuple[list[str], list[Any]]:
    """Answers to one question as (unit, value): labels, scores or pair outcomes.

    A unit is ``item:candidate`` (the candidate is empty for questions asked once per
    item); a ranking gives one ``item:first:second`` unit per pair of candidates it
    orders, valued 1 (first ahead), 0.5 (same place) or 0.
    """
    units: list[str] = []
    values: list[Any] = []
    scale = _scale(spec)[1] if spec.kind == "rating" else None
    for a in answers:
        if spec.kind == "ranking":
            keys = [key for key, _ in candidates.get(a.item_id, [])]
            for x, y, outcome in pairs_of(a.kind, a.value, keys):
                lo, hi, out = (x, y, outcome) if x < y else (y, x, 1.0 - outcome)
                units.append(f"{a.item_id}:{lo}:{hi}")
                values.append(out)
            continue
        value = rating_of(a.value) if spec.kind == "rating" else label_of(a.kind, a.value)
        if value is not None and (scale is None or value in scale):  # off-scale: dropped
            units.append(f"{a.item_id}:{a.candidate_key}")
            values.append(value)
    return units, values


def _scale(spec: QuestionSpec) -> tuple[Level, list[Any] | None]:
    if spec.kind == "rating":
        config = spec.parsed_config()
        return "ordinal", [float(v) for v in range(int(config.min), int(config.max) + 1)]
    if spec.kind == "ranking":
        return "nominal", [0.0, 0.5, 1.0]
    return "nominal", None


_Observed = tuple[list[str], list[Any], list[str], list[Any]]
"""People's units and values, then the judge's, for one question."""


def _agreement_rows(data: _Data) -> list[QuestionCalibration]:
    rows = []
    pooled: dict[str, list[tuple[QuestionSpec, _Observed]]] = {}
    for spec in data.specs:
        seen = (
            *observations(spec, data.humans.get(spec.key, []), data.candidates),
            *observations(spec, data.judge.get(spec.key, []), data.candidates),
        )
        if not seen[2]:
            continue
        level, domain = _scale(spec)
        groups = _items_of(seen[2])
        result = judge_agreement(
            *seen, judge_groups=groups, level=level, domain=domain, **data.boot
        )
        dim = str(spec.config.get("dimension") or "") if spec.kind == "rating" else ""
        rows.append(QuestionCalibration(spec.key, spec.title, spec.kind, level, dim, "", result))
        if dim:
            pooled.setdefault(dim, []).append((spec, seen))
    for rubric_dim in data.rubric:
        parts = pooled.get(rubric_dim.key, [])
        if len(parts) >= 2:  # one question: its own row says it all
            rows.append(_dimension_row(rubric_dim, parts, data.boot))
    return rows


def _dimension_row(
    dim: RubricDimension, parts: list[tuple[QuestionSpec, _Observed]], boot: dict[str, Any]
) -> QuestionCalibration:
    """Agreement pooled over the rating questions on one rubric dimension (ordinal)."""
    hu, hv, ju, jv = [], [], [], []
    for spec, (h_units, h_values, j_units, j_values) in parts:
        hu += [f"{u}:{spec.key}" for u in h_units]  # units still start with the item
        ju += [f"{u}:{spec.key}" for u in j_units]
        hv += h_values
        jv += j_values
    scales = [_scale(spec)[1] or [0.0] for spec, _ in parts]
    low, high = min(s[0] for s in scales), max(s[-1] for s in scales)
    domain = [float(v) for v in range(int(low), int(high) + 1)]
    result = judge_agreement(
        hu, hv, ju, jv, judge_groups=_items_of(ju), level="ordinal", domain=domain, **boot
    )
    title = f"Rubric dimension: {dim.name}"
    return QuestionCalibration(dim.key, title, "rating", "ordinal", dim.key, "dimension", result)


def _items_of(units: Iterable[str]) -> list[int]:
    """The item of each unit (``item:...``): what the bootstrap resamples."""
    return [int(u.split(":", 1)[0]) for u in units]


def _first_shown_hits(
    pairs: Sequence[PositionPair], candidates: dict[int, list[tuple[str, int]]]
) -> tuple[list[int], list[float]]:
    """Per decisive preference of either run: its item, and 1 if it chose the first shown."""
    groups: list[int] = []
    hits: list[float] = []
    for p in pairs:
        shown = [key for key, _ in candidates.get(p.item_id, [])]
        for value, first in ((p.normal, shown[:1]), (p.swapped, shown[-1:])):
            winner = label_of("preference", value)
            if first and winner is not None and winner != TIE:
                groups.append(p.item_id)
                hits.append(1.0 if [winner] == first else 0.0)
    return groups, hits


def _position_rows(data: _Data) -> list[PositionBias]:
    rows = []
    for spec in data.specs:
        pairs = [p for p in data.pairs if p.question_key == spec.key]
        if not pairs:
            continue
        changed = [0.0 if p.agree else 1.0 for p in pairs]
        flips = ratio_estimate([p.item_id for p in pairs], changed, **data.boot)
        first: Estimate | None = None
        hits: list[float] = []
        if spec.kind == "preference":
            groups, hits = _first_shown_hits(pairs, data.candidates)
            first = ratio_estimate(groups, hits, **data.boot)
        n_items = len({p.item_id for p in pairs})
        rows.append(
            PositionBias(
                spec.key, spec.title, spec.kind, n_items, len(pairs), flips, len(hits), first
            )
        )
    return rows


def _longer(candidates: Sequence[tuple[str, int]]) -> str | None:
    """The key of the longer of two answers of different lengths (else None)."""
    if len(candidates) != 2 or candidates[0][1] == candidates[1][1]:
        return None
    return max(candidates, key=lambda c: c[1])[0]


def _longer_hits(
    answers: Iterable[_Answer], longer: dict[int, str]
) -> tuple[list[int], list[float]]:
    groups, hits = [], []
    for a in answers:
        winner = label_of("preference", a.value)
        if a.item_id in longer and winner is not None and winner != TIE:
            groups.append(a.item_id)
            hits.append(1.0 if winner == longer[a.item_id] else 0.0)
    return groups, hits


def _length_preference_rows(data: _Data) -> list[LengthPreference]:
    rows = []
    for spec in data.specs:
        judged = data.judge.get(spec.key, [])
        if spec.kind != "preference" or not judged:
            continue
        longer = {
            item: key
            for item in {a.item_id for a in judged}
            if (key := _longer(data.candidates.get(item, []))) is not None
        }
        jg, jh = _longer_hits(judged, longer)
        hg, hh = _longer_hits(data.humans.get(spec.key, []), longer)
        both = paired_ratios((jg, jh, [1.0] * len(jh)), (hg, hh, [1.0] * len(hh)), **data.boot)
        n = (len(longer), len(jh), len(hh))
        rows.append(
            LengthPreference(spec.key, spec.title, *n, both.first, both.second, both.difference)
        )
    return rows


def _rated_lengths(
    answers: Iterable[_Answer], candidates: dict[int, list[tuple[str, int]]], items: set[int]
) -> tuple[list[int], list[float], list[float]]:
    """Per rating of an answer on `items`: the item, the answer's length and the score."""
    groups, lengths, scores = [], [], []
    for a in answers:
        cands = dict(candidates.get(a.item_id, []))
        key = a.candidate_key or (next(iter(cands)) if len(cands) == 1 else "")
        score = rating_of(a.value)
        if a.item_id in items and key in cands and score is not None:
            groups.append(a.item_id)
            lengths.append(float(cands[key]))
            scores.append(score)
    return groups, lengths, scores


def _length_rating_rows(data: _Data) -> list[LengthCorrelation]:
    rows = []
    for spec in data.specs:
        judged = data.judge.get(spec.key, [])
        if spec.kind != "rating" or not judged:
            continue
        items = {a.item_id for a in judged}
        j = _rated_lengths(judged, data.candidates, items)
        h = _rated_lengths(data.humans.get(spec.key, []), data.candidates, items)
        judge, humans = (rank_correlation(*obs, **data.boot) for obs in (j, h))
        dim = str(spec.config.get("dimension") or "")
        rows.append(
            LengthCorrelation(spec.key, spec.title, dim, len(j[0]), len(h[0]), judge, humans)
        )
    return rows


def _candidates(session: Session, project: Project) -> dict[int, list[tuple[str, int]]]:
    query = (
        select(Candidate.item_id, Candidate.key, func.length(Candidate.text))
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.project_id == project.id)
        .order_by(Candidate.item_id, Candidate.position)
    )
    out: dict[int, list[tuple[str, int]]] = {}
    for item_id, key, length in session.execute(query):
        out.setdefault(item_id, []).append((key, int(length or 0)))
    return out


def judge_models(session: Session, *, project: Project) -> list[str]:
    """The names of the models that have judged the project's items, sorted."""
    query = (
        select(ModelVersion.name)
        .join(JudgeAnswer, JudgeAnswer.model_version_id == ModelVersion.id)
        .where(JudgeAnswer.project_id == project.id)
        .distinct()
    )
    return sorted(session.scalars(query))


def judge_runs(session: Session, *, project: Project, judge_model: str) -> JudgeRuns:
    """Count the judge's newest answers per item by run (normal, swapped) and usability."""
    version = get_model(session, judge_model).version
    query = (
        select(JudgeAnswer.item_id, JudgeAnswer.swapped, JudgeAnswer.status)
        .where(JudgeAnswer.project_id == project.id, JudgeAnswer.model_version_id == version.id)
        .order_by(JudgeAnswer.id)
    )
    newest = {(item, bool(swapped)): status for item, swapped, status in session.execute(query)}
    ok = [{i for (i, s), st in newest.items() if s == run and st == "ok"} for run in (0, 1)]
    bad = Counter(s for (_, s), st in newest.items() if st != "ok")
    return JudgeRuns(len(ok[0]), bad[False], len(ok[1]), bad[True], len(ok[0] & ok[1]))


def calibration_report(
    session: Session,
    *,
    project: Project,
    judge_model: str,
    seed: int = 0,
    n_bootstrap: int = DEFAULT_BOOTSTRAP,
    ci: float = 0.95,
) -> CalibrationReport:
    """Compare an LLM judge's answers with people's on a project (see the module docstring).

    Args:
        session: Database session.
        project: The project.
        judge_model: The judge's registered model version (name or id).
        seed: Seeds every bootstrap.
        n_bootstrap: Bootstrap resamples per interval (0: no intervals).
        ci: Coverage of the intervals.

    Returns:
        The report; its lists are empty where the judge (or people) gave nothing to
        compare, e.g. before the judge has run.

    Raises:
        NotFound: No model version called `judge_model`.
    """
    runs = judge_runs(session, project=project, judge_model=judge_model)
    specs = [QuestionSpec.model_validate(q) for q in project.questions]
    specs = [s for s in specs if s.kind in AGGREGATED_KINDS]
    records = judge_records(session, project_id=project.id, model=judge_model)
    data = _Data(
        specs=specs,
        rubric=[RubricDimension.model_validate(d) for d in project.rubric],
        humans=_by_key(load_judgments(session, project=project, kinds=AGGREGATED_KINDS)),
        judge=_by_key(records),
        pairs=position_pairs(session, project_id=project.id, model=judge_model),
        candidates=_candidates(session, project),
        boot={"n_bootstrap": n_bootstrap, "ci": ci, "seed": seed},
    )
    return CalibrationReport(
        project_id=project.id,
        project_slug=project.slug,
        judge_model=judge_model,
        n_bootstrap=n_bootstrap,
        ci=ci,
        seed=seed,
        runs=runs,
        questions=_agreement_rows(data),
        position=_position_rows(data),
        length_preference=_length_preference_rows(data),
        length_rating=_length_rating_rows(data),
    )


def _by_key(answers: Iterable[_Answer]) -> dict[str, list[_Answer]]:
    out: dict[str, list[_Answer]] = {}
    for a in answers:
        out.setdefault(a.question_key, []).append(a)
    return out


def report_dict(report: CalibrationReport) -> dict[str, Any]:
    """The report as plain JSON-ready data: dataclasses as dicts, NaN and infinities as None."""
    out: dict[str, Any] = _finite(asdict(report))
    return out


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
