"""Store → arrays: a project's judgments, read once and turned into what aggregate/ takes.

The quality services (``consensus``, ``qc``, ``adaptive``, ``leaderboard``) all start
from the same rows: one per judgment of a submission that was not rejected, with the
submission's item, worker and time. Here they are read (in one streamed query) and
turned into labels, ratings or pairwise comparisons per question. Each judged *unit* is
an item, or an (item, candidate) pair for questions asked per candidate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.store.models import Candidate, GoldAnswer, Item, Judgment, Project, Submission

TIE = "tie"
LABEL_KINDS = frozenset({"choice", "code_run"})
PAIR_KINDS = frozenset({"preference", "ranking"})
AGGREGATED_KINDS = LABEL_KINDS | PAIR_KINDS | {"rating"}
"""Question kinds that have a consensus (text, spans and claims have none)."""

Unit = tuple[int, str]
"""(item id, candidate key); the key is "" for questions asked once per item."""


@dataclass(frozen=True)
class JudgmentRow:
    """One judgment with what the quality services need of its submission."""

    submission_id: int
    item_id: int
    worker_id: int
    question_key: str
    candidate_key: str
    kind: str
    value: Any
    explanation: str
    seconds_spent: float
    created_at: datetime

    @property
    def unit(self) -> Unit:
        """The judged unit: the item, with the candidate where the question is per candidate."""
        return (self.item_id, self.candidate_key)


def load_judgments(
    session: Session,
    *,
    project: Project,
    item_ids: Sequence[int] | None = None,
    kinds: Iterable[str] | None = None,
    from_submission: int = 0,
) -> list[JudgmentRow]:
    """Return the judgments of the project's submissions that were not rejected.

    Args:
        session: Database session.
        project: The project.
        item_ids: Only these items (None: all).
        kinds: Only these question kinds (None: all).
        from_submission: Only submissions with this id or a larger one.

    Returns:
        The rows, in submission order.
    """
    query = (
        select(
            Submission.id,
            Submission.item_id,
            Submission.worker_id,
            Judgment.question_key,
            Judgment.candidate_key,
            Judgment.kind,
            Judgment.value,
            Judgment.explanation,
            Submission.seconds_spent,
            Submission.created_at,
        )
        .join(Judgment, Judgment.submission_id == Submission.id)
        .where(Submission.project_id == project.id, Submission.state != "rejected")
        .order_by(Submission.id, Judgment.id)
    )
    if item_ids is not None:
        query = query.where(Submission.item_id.in_(list(item_ids)))
    if kinds is not None:
        query = query.where(Judgment.kind.in_(list(kinds)))
    if from_submission:
        query = query.where(Submission.id >= from_submission)
    rows = session.execute(query.execution_options(yield_per=5000))
    return [JudgmentRow(*row) for row in rows]


def by_question(rows: Iterable[JudgmentRow]) -> dict[str, list[JudgmentRow]]:
    """Group rows by question key, keeping their order."""
    out: dict[str, list[JudgmentRow]] = {}
    for row in rows:
        out.setdefault(row.question_key, []).append(row)
    return out


def label_of(kind: str, value: Any) -> str | None:
    """The categorical label a judgment stands for, or None when it has none.

    choice: the option (a multiple choice: the chosen set, as JSON); code_run: the
    verdict; preference: the winner (a candidate key or "tie").
    """
    if kind == "choice":
        return value if isinstance(value, str) else json.dumps(sorted(value or []))
    if kind == "code_run":
        return str(value.get("verdict")) if isinstance(value, dict) else str(value)
    if kind == "preference":
        return str(value.get("winner")) if isinstance(value, dict) else str(value)
    return None


def rating_of(value: Any) -> float | None:
    """The score of a rating judgment, or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def pairs_of(kind: str, value: Any, candidates: Sequence[str]) -> list[tuple[str, str, float]]:
    """Pairwise comparisons ``(first, second, outcome)`` implied by one judgment.

    A preference compares its winner with every other candidate (a tie ties them all);
    a ranking compares every two candidates by place (same place: a tie). ``outcome``
    is 1 when ``first`` won, 0.5 for a tie.
    """
    if kind == "preference":
        winner = label_of(kind, value)
        if winner == TIE:
            return [(a, b, 0.5) for a, b in combinations(candidates, 2)]
        return [(str(winner), c, 1.0) for c in candidates if c != winner]
    if kind != "ranking" or not isinstance(value, list):
        return []
    place: dict[str, int] = {}
    for rank, entry in enumerate(value):
        for key in entry if isinstance(entry, list) else [entry]:
            place[str(key)] = rank
    out: list[tuple[str, str, float]] = []
    for a, b in combinations(sorted(place, key=place.__getitem__), 2):
        out.append((a, b, 0.5 if place[a] == place[b] else 1.0))
    return out


def project_candidates(
    session: Session, *, project: Project
) -> dict[int, list[tuple[str, int | None]]]:
    """Each item's candidates as (key, model version id), in their shown order."""
    query = (
        select(Candidate.item_id, Candidate.key, Candidate.model_version_id)
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.project_id == project.id)
        .order_by(Candidate.item_id, Candidate.position)
    )
    out: dict[int, list[tuple[str, int | None]]] = {}
    for item_id, key, model_id in session.execute(query):
        out.setdefault(item_id, []).append((key, model_id))
    return out


def gold_answers(session: Session, *, project: Project) -> dict[tuple[int, str, str], Any]:
    """The project's gold answers, by (item, question, candidate)."""
    query = (
        select(
            GoldAnswer.item_id, GoldAnswer.question_key, GoldAnswer.candidate_key, GoldAnswer.value
        )
        .join(Item, Item.id == GoldAnswer.item_id)
        .where(Item.project_id == project.id)
    )
    return {(i, q, c): v for i, q, c, v in session.execute(query)}


def encode_units(units: Iterable[Unit]) -> tuple[list[Unit], dict[Unit, int]]:
    """Sorted distinct units and the code of each (what the estimators take as item ids)."""
    ordered = sorted(set(units))
    return ordered, {unit: code for code, unit in enumerate(ordered)}
