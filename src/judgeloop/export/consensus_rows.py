"""Consensus export rows: an item's stored consensus beside the raw judgments behind it.

Pure, no database (``services.exports`` fills the records a page at a time). The row
shape is documented in ``export.rows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judgeloop.export.rows import (
    ItemRecord,
    SubmissionRecord,
    answers_by_question,
    candidate_dicts,
)

CONSENSUS_COLUMNS = (
    "item_id",
    "external_id",
    "prompt",
    "messages",
    "candidates",
    "consensus",
    "confidence",
    "n_judgments",
    "methods",
    "judgments",
)


@dataclass(frozen=True)
class ConsensusRecord:
    """A stored consensus answer to one question of an item, with its confidence."""

    question_key: str
    candidate_key: str
    value: Any
    confidence: float
    n_judgments: int
    method: str


def consensus_row(
    item: ItemRecord, consensus: Sequence[ConsensusRecord], subs: Sequence[SubmissionRecord]
) -> dict[str, Any]:
    """Return the consensus export row of one item: consensus beside the raw judgments.

    ``consensus``, ``confidence``, ``n_judgments`` and ``methods`` are shaped like a
    submission's ``answers`` (``{question: value}``, or ``{question: {candidate:
    value}}``); ``judgments`` lists each submission with its worker and answers.
    """
    shaped: dict[str, dict[str, Any]] = {"value": {}, "confidence": {}, "n": {}, "method": {}}
    for c in consensus:
        for name, value in (
            ("value", c.value),
            ("confidence", round(c.confidence, 6)),
            ("n", c.n_judgments),
            ("method", c.method),
        ):
            if c.candidate_key:
                shaped[name].setdefault(c.question_key, {})[c.candidate_key] = value
            else:
                shaped[name][c.question_key] = value
    judgments = []
    for sub in subs:
        values, explanations = answers_by_question(sub.judgments)
        judgments.append(
            {
                "submission_id": sub.id,
                "worker_id": sub.worker_id,
                "state": sub.state,
                "seconds_spent": sub.seconds_spent,
                "answers": values,
                "explanations": explanations,
                "explanation": sub.explanation,
            }
        )
    return {
        "item_id": item.id,
        "external_id": item.external_id,
        "prompt": item.prompt,
        "messages": item.messages,
        "candidates": candidate_dicts(item.candidates),
        "consensus": shaped["value"],
        "confidence": shaped["confidence"],
        "n_judgments": shaped["n"],
        "methods": shaped["method"],
        "judgments": judgments,
    }
