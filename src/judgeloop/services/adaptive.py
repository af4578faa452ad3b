"""Adaptive redundancy: stop an item once its consensus is confident; give disputed ones more.

Turned on per project with ``Project.settings["adaptive"]`` (``true``, or a mapping
with ``max_redundancy``, ``confidence``, ``prior_accuracy``, ``prior_strength``,
``max_accuracy``, ``step`` and ``disputed_priority``). The project's ``redundancy`` is
then the minimum number of judgments per item.

``after_submission`` runs inside ``services.submissions.submit_judgment`` (same
transaction) when a stored submission brings an item to its current target. It
applies the pure stopping rule (``aggregate.redundancy.redundancy_decision``) to the
item's judgments, every aggregated question of it, with each worker's accuracy from
the last aggregation (``WorkerReliability``; unknown workers get the rule's prior):

- confident on every question: the item closes (its target becomes its slots taken);
- disputed: its target grows by ``step`` up to ``max_redundancy`` and its priority is
  raised to ``disputed_priority``, so the queue serves it before anything else;
- at ``max_redundancy`` and still disputed: it closes as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from judgeloop.aggregate.encoding import encode_labels
from judgeloop.aggregate.redundancy import StoppingRule, redundancy_decision
from judgeloop.questions.base import QuestionSpec
from judgeloop.services.judgment_data import (
    AGGREGATED_KINDS,
    TIE,
    JudgmentRow,
    by_question,
    label_of,
    load_judgments,
    rating_of,
)
from judgeloop.store.models import Candidate, Event, Item, Project, Submission, WorkerReliability

DISPUTED_PRIORITY = 100
RULE_KEYS = ("confidence", "prior_accuracy", "prior_strength", "max_accuracy")


@dataclass(frozen=True)
class AdaptiveDecision:
    """What adaptive redundancy did to one item."""

    item_id: int
    action: str
    """"closed" (confident, or at the maximum) or "extended" (disputed: more wanted)."""
    target: int
    confidence: float
    judgments: int


def adaptive_settings(project: Project) -> dict[str, Any] | None:
    """The project's adaptive-redundancy settings, or None when it is off."""
    raw = project.settings.get("adaptive")
    if not raw:
        return None
    if isinstance(raw, dict):
        return raw if raw.get("enabled", True) else None
    return {}


def stopping_rule(project: Project, settings: dict[str, Any]) -> StoppingRule:
    """The stopping rule of an adaptive project: its redundancy is the minimum."""
    lowest = max(1, project.redundancy)
    most = int(settings.get("max_redundancy", 3 * lowest))
    given = {k: float(settings[k]) for k in RULE_KEYS if k in settings}
    return StoppingRule(min_labels=lowest, max_labels=max(lowest, most), **given)


def _classes(spec: QuestionSpec, candidates: Sequence[str]) -> list[str] | None:
    """Every answer a question allows, as labels (None: the labels seen will do)."""
    config = spec.parsed_config()
    if spec.kind == "choice" and not config.multiple:
        return [o.value for o in config.options]
    if spec.kind == "code_run":
        return list(config.verdicts)
    if spec.kind == "rating":
        return [str(v) for v in range(config.min, config.max + 1)]
    if spec.kind == "preference":
        return [*candidates, *([TIE] if config.allow_tie else [])]
    if spec.kind == "ranking":
        return list(candidates)
    return None


def _label(row: JudgmentRow) -> str | None:
    if row.kind == "rating":
        score = rating_of(row.value)
        return None if score is None else str(int(score))
    if row.kind == "ranking":
        first = row.value[0] if isinstance(row.value, list) and row.value else None
        return str(first[0] if isinstance(first, list) else first) if first else None
    return label_of(row.kind, row.value)


def item_confidence(
    project: Project,
    rows: Sequence[JudgmentRow],
    candidates: Sequence[str],
    accuracy: dict[int, tuple[float, int]],
    rule: StoppingRule,
) -> tuple[bool, float]:
    """Whether every question of one item is settled under the rule, and the lowest confidence.

    Args:
        project: The item's project (its questions).
        rows: The item's judgments.
        candidates: The item's candidate keys.
        accuracy: Worker id -> (estimated accuracy, labels it rests on).
        rule: The stopping rule.

    Returns:
        (done, confidence of the least settled question).
    """
    specs = [QuestionSpec.model_validate(q) for q in project.questions]
    grouped = by_question(rows)
    done, lowest = True, 1.0
    for spec in specs:
        if spec.kind not in AGGREGATED_KINDS or not grouped.get(spec.key):
            continue
        kept = [(r, lab) for r in grouped[spec.key] if (lab := _label(r)) is not None]
        if not kept:
            continue
        data = encode_labels(
            [r.candidate_key for r, _ in kept],
            [r.worker_id for r, _ in kept],
            [lab for _, lab in kept],
            classes=_classes(spec, candidates),
        )
        known = [accuracy.get(int(w), (float("nan"), 0)) for w in data.worker_ids.tolist()]
        decision = redundancy_decision(
            data,
            np.array([a for a, _ in known]),
            rule=rule,
            evidence=np.array([n for _, n in known], dtype=np.float64),
        )
        done = done and bool(decision.done.all())
        lowest = min(lowest, float(decision.confidence.min()))
    return done, lowest


def _accuracies(
    session: Session, project: Project, workers: set[int]
) -> dict[int, tuple[float, int]]:
    query = select(
        WorkerReliability.worker_id, WorkerReliability.model_accuracy, WorkerReliability.n_judgments
    ).where(WorkerReliability.project_id == project.id, WorkerReliability.worker_id.in_(workers))
    return {
        w: (float("nan") if acc is None else float(acc), int(n))
        for w, acc, n in session.execute(query)
    }


def _next_step(
    item: Item,
    settings: dict[str, Any],
    rule: StoppingRule,
    target: int,
    judged: int,
    done: bool,
) -> tuple[dict[str, Any], str, int]:
    """The item's new columns, the action's name and the new target."""
    most = rule.max_labels or target
    if done or target >= most:
        closed = {"target_redundancy": Item.slots_taken, "is_open": False}
        return closed, "closed", max(judged, target)
    new_target = min(most, target + int(settings.get("step", 1)))
    boost = int(settings.get("disputed_priority", DISPUTED_PRIORITY))
    values = {
        "target_redundancy": new_target,
        "is_open": Item.slots_taken < new_target,
        "priority": max(item.priority, boost),
    }
    return values, "extended", new_target


def after_submission(
    session: Session, *, project: Project, item_id: int
) -> AdaptiveDecision | None:
    """Apply adaptive redundancy to an item after a submission; flushes, never commits.

    Does nothing (returns None) when the project is not adaptive or the item has not
    yet reached its current target of judgments.
    """
    settings = adaptive_settings(project)
    if settings is None:
        return None
    item = session.get(Item, item_id)
    if item is None:
        return None
    judged = (
        session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.item_id == item_id, Submission.state != "rejected")
        )
        or 0
    )
    target = item.target_redundancy or project.redundancy
    if judged < target:
        return None
    rule = stopping_rule(project, settings)
    rows = load_judgments(session, project=project, item_ids=[item_id])
    candidates = list(
        session.scalars(
            select(Candidate.key).where(Candidate.item_id == item_id).order_by(Candidate.position)
        )
    )
    accuracy = _accuracies(session, project, {r.worker_id for r in rows})
    done, confidence = item_confidence(project, rows, candidates, accuracy, rule)
    values, action, new_target = _next_step(item, settings, rule, target, judged, done)
    session.execute(
        update(Item)
        .where(Item.id == item_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(item)
    payload = {
        "item_id": item_id,
        "action": action,
        "target": new_target,
        "confidence": round(confidence, 6),
        "judgments": judged,
    }
    session.add(Event(kind="item.adaptive", project_id=project.id, payload=payload))
    session.flush()
    return AdaptiveDecision(item_id, action, new_target, confidence, judged)
