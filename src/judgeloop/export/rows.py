"""Pure row builders: items and submissions (read from the store by a service) -> export rows.

The records here are plain dataclasses so that this module needs no database; the
service fills them from the store and hands them over a page at a time.

Items rows (``what="items"``) are exactly what the default `ColumnMapping` reads, so an
items export imports again unchanged::

    {"item_id", "external_id", "prompt", "messages", "candidates": [{"key", "text",
     "model"}], "metadata", "is_gold", "gold": [{"question", "candidate", "value",
     "explanation"}] | null}

Submissions rows (``what="submissions"``) carry the item alongside the answers::

    {"submission_id", "item_id", "external_id", "prompt", "messages", "candidates",
     "worker_id", "guideline_version", "seconds_spent", "state", "source", "created_at",
     "answers": {question: value | {candidate: value}}, "explanations": {same shape},
     "explanation"}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from judgeloop.questions.base import QuestionSpec

ITEM_COLUMNS = (
    "item_id",
    "external_id",
    "prompt",
    "messages",
    "candidates",
    "metadata",
    "is_gold",
    "gold",
)
SUBMISSION_COLUMNS = (
    "submission_id",
    "item_id",
    "external_id",
    "prompt",
    "messages",
    "candidates",
    "worker_id",
    "guideline_version",
    "seconds_spent",
    "state",
    "source",
    "created_at",
    "answers",
    "explanations",
    "explanation",
)


@dataclass(frozen=True)
class CandidateRecord:
    """A stored candidate answer with its model version's name."""

    key: str
    text: str
    model: str | None = None


@dataclass(frozen=True)
class AnswerRecord:
    """A stored answer (a judgment or a gold answer) to one question."""

    question_key: str
    candidate_key: str
    value: Any
    explanation: str = ""


@dataclass(frozen=True)
class ItemRecord:
    """A stored item with its candidates (and, for owners, its gold answers)."""

    id: int
    prompt: str
    external_id: str | None = None
    messages: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    is_gold: bool = False
    candidates: Sequence[CandidateRecord] = ()
    gold: Sequence[AnswerRecord] = ()


@dataclass(frozen=True)
class SubmissionRecord:
    """A stored submission with its judgments and the item it is about."""

    id: int
    item: ItemRecord
    worker_id: int
    guideline_version: int
    seconds_spent: float
    state: str
    source: str
    created_at: datetime
    explanation: str = ""
    judgments: Sequence[AnswerRecord] = ()


def candidate_dicts(candidates: Sequence[CandidateRecord]) -> list[dict[str, Any]]:
    """Candidates as ``[{key, text, model}]`` (model None when unknown)."""
    return [{"key": c.key, "text": c.text, "model": c.model} for c in candidates]


def answer_dicts(answers: Sequence[AnswerRecord]) -> list[dict[str, Any]]:
    """Answers as ``[{question, candidate, value, explanation}]``, the gold column's shape."""
    return [
        {
            "question": a.question_key,
            "candidate": a.candidate_key,
            "value": a.value,
            "explanation": a.explanation,
        }
        for a in answers
    ]


def item_row(item: ItemRecord) -> dict[str, Any]:
    """Return the export row of one item (the default import mapping reads it back)."""
    return {
        "item_id": item.id,
        "external_id": item.external_id,
        "prompt": item.prompt,
        "messages": item.messages,
        "candidates": candidate_dicts(item.candidates),
        "metadata": dict(item.metadata),
        "is_gold": item.is_gold,
        "gold": answer_dicts(item.gold) if item.gold else None,
    }


def answers_by_question(answers: Sequence[AnswerRecord]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Group answers as ``{question: value}``, or ``{question: {candidate: value}}``.

    Returns the values and, in the same shape, the non-empty explanations.
    """
    values: dict[str, Any] = {}
    explanations: dict[str, Any] = {}
    for a in answers:
        if a.candidate_key:
            values.setdefault(a.question_key, {})[a.candidate_key] = a.value
            if a.explanation:
                explanations.setdefault(a.question_key, {})[a.candidate_key] = a.explanation
        else:
            values[a.question_key] = a.value
            if a.explanation:
                explanations[a.question_key] = a.explanation
    return values, explanations


def submission_row(sub: SubmissionRecord) -> dict[str, Any]:
    """Return the export row of one submission, with its item and answers."""
    values, explanations = answers_by_question(sub.judgments)
    return {
        "submission_id": sub.id,
        "item_id": sub.item.id,
        "external_id": sub.item.external_id,
        "prompt": sub.item.prompt,
        "messages": sub.item.messages,
        "candidates": candidate_dicts(sub.item.candidates),
        "worker_id": sub.worker_id,
        "guideline_version": sub.guideline_version,
        "seconds_spent": sub.seconds_spent,
        "state": sub.state,
        "source": sub.source,
        "created_at": sub.created_at,
        "answers": values,
        "explanations": explanations,
        "explanation": sub.explanation,
    }


def jsonable(value: Any) -> Any:
    """Return `value` with everything JSON cannot hold (dates, decimals, bytes) made text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def gold_answer_dicts(value: Any, questions: Sequence[QuestionSpec]) -> list[dict[str, Any]]:
    """Normalize gold answers to a list of {question, candidate, value, explanation}.

    Accepts that list itself, or an object ``{question: value}`` where a per-candidate
    question's value is ``{candidate: value}``. Raises ValueError for anything else.
    """
    if isinstance(value, list):
        if not all(isinstance(a, Mapping) for a in value):
            raise ValueError("expected a list of {question, candidate, value} objects")
        return [dict(a) for a in value]
    if not isinstance(value, Mapping):
        raise ValueError("expected a list of answers or an object {question: value}")
    per_candidate = {q.key for q in questions if q.per_candidate}
    out: list[dict[str, Any]] = []
    for key, answer in value.items():
        if key in per_candidate and isinstance(answer, Mapping):
            out.extend({"question": key, "candidate": c, "value": v} for c, v in answer.items())
        else:
            out.append({"question": key, "value": answer})
    return out
