"""Consensus: a project's judgments → aggregate/ → one ConsensusResult per item and question.

``aggregate_project`` reads every judgment of the project's submissions that were not
rejected (``services.judgment_data``), runs the estimator of each question's kind
(``services.consensus_kinds``), and replaces the project's previous results and worker
reliability snapshot in one transaction, so a re-run is idempotent. Each result carries
the method's versioned name, a confidence in 0..1 and how many judgments it rests on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from judgeloop.aggregate.labels import ALIASES, LABEL_AGGREGATORS
from judgeloop.aggregate.reliability import Thresholds
from judgeloop.errors import InvalidInput
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.consensus_kinds import (
    QuestionResult,
    WorkerTally,
    ab_preference_question,
    label_question,
    pair_question,
    rating_question,
)
from judgeloop.services.judgment_data import (
    AGGREGATED_KINDS,
    LABEL_KINDS,
    JudgmentRow,
    Unit,
    by_question,
    encode_units,
    gold_answers,
    label_of,
    load_judgments,
    project_candidates,
)
from judgeloop.store.base import utcnow
from judgeloop.store.models import ConsensusResult, Event, Project, User, WorkerReliability

Progress = Callable[[int, int, str], None]
"""Called with (questions done, questions in all, the question being aggregated)."""
METHODS = ("default", *sorted({*ALIASES, *LABEL_AGGREGATORS} - {"default"}))


@dataclass(frozen=True)
class AggregateReport:
    """What one aggregation run wrote."""

    project_id: int
    method: str
    results: int
    questions: dict[str, int]
    workers: int
    judgments: int
    computed_at: datetime


def check_method(method: str) -> str:
    """Return `method` when it names a known aggregation method, else raise InvalidInput."""
    if method not in METHODS:
        raise InvalidInput(f"unknown aggregation method {method!r} (known: {', '.join(METHODS)})")
    return method


def aggregated_questions(project: Project) -> list[QuestionSpec]:
    """The project's questions that have a consensus (choice, rating, preference, ...)."""
    specs = [QuestionSpec.model_validate(q) for q in project.questions]
    return [s for s in specs if s.kind in AGGREGATED_KINDS]


def thresholds_of(project: Project) -> Thresholds:
    """The project's bars for workers, from ``Project.settings["quality"]`` (defaults else).

    Keys: ``min_gold_accuracy``, ``min_gold_items``, ``min_consensus_agreement``,
    ``min_consensus_items``, ``min_informativeness``, ``min_model_items``.
    """
    raw = project.settings.get("quality") or {}
    known = {f.name for f in fields(Thresholds)}
    return Thresholds(**{k: v for k, v in raw.items() if k in known})


def _question_gold(spec: QuestionSpec, gold: dict[tuple[int, str, str], Any]) -> dict[Unit, Any]:
    """The gold answers of one question by unit, as labels for label kinds."""
    out: dict[Unit, Any] = {}
    for (item, question, cand), value in gold.items():
        if question != spec.key:
            continue
        if spec.kind == "rating":
            out[(item, cand)] = value
        elif (label := label_of(spec.kind, value)) is not None:
            out[(item, cand)] = label
    return out


def question_consensus(
    spec: QuestionSpec,
    rows: Sequence[JudgmentRow],
    *,
    candidates: dict[int, list[str]],
    gold: dict[tuple[int, str, str], Any],
    method: str = "default",
    thresholds: Thresholds | None = None,
) -> QuestionResult:
    """Consensus on every unit of one question (pure: the rows were read already).

    Args:
        spec: The question.
        rows: Its judgments.
        candidates: Each item's candidate keys, in shown order.
        gold: Gold answers by (item, question, candidate).
        method: An aggregation method (see ``METHODS``); it picks the label model.
        thresholds: The bars workers are flagged under.

    Returns:
        The result per unit, and what the question says about each worker.
    """
    units, codes = encode_units(r.unit for r in rows)
    known = _question_gold(spec, gold)
    bars = thresholds or Thresholds()
    if spec.kind in LABEL_KINDS:
        return label_question(
            rows,
            kind=spec.kind,
            units=units,
            codes=codes,
            gold=known,
            method=method,
            thresholds=bars,
        )
    if spec.kind == "rating":
        return rating_question(
            rows, units=units, codes=codes, gold=known, method=method, thresholds=bars
        )
    if spec.kind == "preference" and all(len(candidates.get(r.item_id, [])) == 2 for r in rows):
        return ab_preference_question(rows, candidates=candidates, gold=known, thresholds=bars)
    return pair_question(rows, kind=spec.kind, candidates=candidates, thresholds=bars)


def compute_consensus(
    session: Session,
    *,
    project: Project,
    method: str = "default",
    item_ids: Sequence[int] | None = None,
    on_progress: Progress | None = None,
) -> tuple[dict[str, QuestionResult], int]:
    """Compute (without storing) the consensus of every aggregated question.

    Returns:
        The result per question key, and how many judgments were read.
    """
    check_method(method)
    specs = aggregated_questions(project)
    rows = load_judgments(session, project=project, item_ids=item_ids, kinds=AGGREGATED_KINDS)
    grouped = by_question(rows)
    candidates = {
        item: [key for key, _ in cands]
        for item, cands in project_candidates(session, project=project).items()
    }
    gold = gold_answers(session, project=project)
    out: dict[str, QuestionResult] = {}
    for done, spec in enumerate(specs):
        if on_progress is not None:
            on_progress(done, len(specs), spec.key)
        out[spec.key] = question_consensus(
            spec,
            grouped.get(spec.key, []),
            candidates=candidates,
            gold=gold,
            method=method,
            thresholds=thresholds_of(project),
        )
    if on_progress is not None:
        on_progress(len(specs), len(specs), "")
    return out, len(rows)


def merge_workers(results: dict[str, QuestionResult]) -> dict[int, WorkerTally]:
    """Sum what every question says about each worker into one tally per worker.

    Counts add up; the model's accuracy and informativeness are averaged weighted by
    the judgments behind them, bias and weight plainly; reasons name their question.
    """
    merged: dict[int, WorkerTally] = {}
    parts: dict[int, list[WorkerTally]] = {}
    for key, result in results.items():
        for worker_id, t in result.workers.items():
            total = merged.setdefault(worker_id, WorkerTally())
            total.n += t.n
            total.hits += t.hits
            total.compared += t.compared
            total.gold_correct += t.gold_correct
            total.gold_total += t.gold_total
            total.reasons.extend(f"{key}: {reason}" for reason in t.reasons)
            parts.setdefault(worker_id, []).append(t)
    for worker_id, total in merged.items():
        own = parts[worker_id]
        total.model_accuracy = _weighted(own, "model_accuracy")
        total.informativeness = _weighted(own, "informativeness")
        total.bias = _mean([t.bias for t in own])
        total.weight = _mean([t.weight for t in own])
        models = {t.model for t in own if t.model}
        total.model = models.pop() if len(models) == 1 else ("mixed" if models else "")
    return merged


def _weighted(tallies: Sequence[WorkerTally], name: str) -> float | None:
    pairs = [(getattr(t, name), t.n) for t in tallies if getattr(t, name) is not None]
    n = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / n if n else None


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def aggregate_project(
    session: Session,
    *,
    project: Project,
    method: str = "default",
    actor: User | None = None,
    on_progress: Progress | None = None,
) -> AggregateReport:
    """Compute and store the consensus of every item and question of a project; commits.

    The project's previous results and worker reliability snapshot are replaced, so
    running it again on the same judgments gives the same rows.

    Args:
        session: Database session.
        project: The project.
        method: ``"default"`` (Dawid-Skene with smoothing for labels, reliability-
            weighted bias-corrected means for ratings, Dawid-Skene or Davidson for
            preferences) or a label method alias (``mv``, ``wawa``, ``ds``, ``one-coin``).
        actor: Who ran it (journaled).
        on_progress: Called with (questions done, questions in all, current question).

    Returns:
        What was written.

    Raises:
        InvalidInput: An unknown method.
    """
    results, n_rows = compute_consensus(
        session, project=project, method=method, on_progress=on_progress
    )
    now = utcnow()
    session.execute(delete(ConsensusResult).where(ConsensusResult.project_id == project.id))
    session.execute(delete(WorkerReliability).where(WorkerReliability.project_id == project.id))
    rows = _result_rows(project, results, now)
    if rows:
        session.execute(insert(ConsensusResult), rows)
    workers = merge_workers(results)
    if workers:
        session.execute(insert(WorkerReliability), _reliability_rows(project, workers, now))
    counts = {key: len(result.units) for key, result in results.items()}
    payload = {"method": method, "results": len(rows), "questions": counts, "judgments": n_rows}
    session.add(
        Event(
            kind="consensus.computed",
            actor_id=actor.id if actor else None,
            project_id=project.id,
            payload=payload,
        )
    )
    session.commit()
    return AggregateReport(project.id, method, len(rows), counts, len(workers), n_rows, now)


def _result_rows(
    project: Project, results: dict[str, QuestionResult], now: datetime
) -> list[dict[str, Any]]:
    kinds = {s.key: s.kind for s in aggregated_questions(project)}
    return [
        {
            "project_id": project.id,
            "item_id": u.item_id,
            "question_key": key,
            "candidate_key": u.candidate_key,
            "kind": kinds[key],
            "method": u.method,
            "value": u.value,
            "confidence": float(u.confidence),
            "n_judgments": u.n_judgments,
            "details": u.details,
            "computed_at": now,
        }
        for key, result in results.items()
        for u in result.units
    ]


def _reliability_rows(
    project: Project, workers: dict[int, WorkerTally], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "project_id": project.id,
            "worker_id": worker_id,
            "n_judgments": t.n,
            "gold_correct": round(t.gold_correct),
            "gold_total": round(t.gold_total),
            "agreement": t.hits / t.compared if t.compared else None,
            "agreement_n": round(t.compared),
            "model_accuracy": t.model_accuracy,
            "model": t.model,
            "informativeness": t.informativeness,
            "rating_bias": t.bias,
            "weight": t.weight,
            "flagged": bool(t.reasons),
            "reasons": t.reasons,
            "computed_at": now,
        }
        for worker_id, t in sorted(workers.items())
    ]


def list_consensus(
    session: Session,
    *,
    project: Project,
    item_ids: Sequence[int] | None = None,
    question_key: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[ConsensusResult]:
    """Return a page of the project's stored consensus results, by item then question.

    Args:
        session: Database session.
        project: The project.
        item_ids: Only these items.
        question_key: Only this question.
        after: Only results of items with a larger id (keyset paging by item).
        limit: The most results (1 to 5000).

    Returns:
        The results.
    """
    query = select(ConsensusResult).where(
        ConsensusResult.project_id == project.id, ConsensusResult.item_id > after
    )
    if item_ids is not None:
        query = query.where(ConsensusResult.item_id.in_(list(item_ids)))
    if question_key is not None:
        query = query.where(ConsensusResult.question_key == question_key)
    query = query.order_by(
        ConsensusResult.item_id, ConsensusResult.question_key, ConsensusResult.candidate_key
    )
    return list(session.scalars(query.limit(max(1, min(limit, 5000)))))


def consensus_by_item(
    session: Session, item_ids: Sequence[int]
) -> dict[int, list[ConsensusResult]]:
    """The stored consensus results of these items (for exports), by item."""
    out: dict[int, list[ConsensusResult]] = {}
    if not item_ids:
        return out
    query = (
        select(ConsensusResult)
        .where(ConsensusResult.item_id.in_(list(item_ids)))
        .order_by(ConsensusResult.item_id, ConsensusResult.id)
    )
    for result in session.scalars(query):
        out.setdefault(result.item_id, []).append(result)
    return out
