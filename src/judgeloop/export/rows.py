"""Rows between the store and files: export records and rows, import drafts, streaming.

Pure, no database. Export: plain record dataclasses (a service fills them from the
store, a page at a time) and the row builders. Import: `ItemDraft` (a validated item
not yet stored) and its `content_hash`. Streaming: `convert_rows` (batches of rows to
values or errors) and `read_ahead` (runs a stream in a thread a few batches ahead).

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

Consensus rows (``what="consensus"``, built in ``export.consensus_rows``) put an item's
stored consensus beside the raw judgments it rests on::

    {"item_id", "external_id", "prompt", "messages", "candidates",
     "consensus": {question: value | {candidate: value}}, "confidence": {same shape},
     "n_judgments": {same shape}, "methods": {same shape},
     "judgments": [{"submission_id", "worker_id", "state", "seconds_spent", "answers",
                    "explanations", "explanation"}]}
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from queue import Full, Queue
from typing import Any, TypeVar

from judgeloop.errors import RowError
from judgeloop.questions.base import ItemContext, NormalizedAnswer, QuestionSpec

T = TypeVar("T")
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

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


# ---------------------------------------------------------------- import drafts


@dataclass
class CandidateDraft:
    """One candidate answer of an item to be created."""

    key: str
    text: str
    model: str | None = None


@dataclass
class ItemDraft:
    """An item to be created: validated, not yet stored."""

    prompt: str
    messages: list[dict[str, str]] | None = None
    candidates: list[CandidateDraft] = field(default_factory=list)
    external_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    gold: list[NormalizedAnswer] = field(default_factory=list)

    @property
    def is_gold(self) -> bool:
        """Whether the item carries gold answers."""
        return bool(self.gold)

    def context(self) -> ItemContext:
        """What answer validation needs: candidate keys and the texts spans point into."""
        texts = {"prompt": self.prompt, **{c.key: c.text for c in self.candidates}}
        return ItemContext(candidate_keys=tuple(c.key for c in self.candidates), texts=texts)


def content_hash(draft: ItemDraft) -> str:
    """Return the sha256 of the item's content: prompt, messages, candidate texts and models.

    Keys, ids, metadata and gold answers are left out: the same prompt with the same
    answers is the same item, whatever it is called.
    """
    payload = {
        "prompt": draft.prompt,
        "messages": draft.messages,
        "candidates": [[c.text, c.model] for c in draft.candidates],
    }
    canonical = _CANONICAL.encode(payload)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- streaming


def batched(rows: Iterator[T], size: int) -> Iterator[list[T]]:
    """Yield lists of up to `size` items from `rows`."""
    while batch := list(islice(rows, size)):
        yield batch


def convert_rows(
    rows: Iterator[tuple[int, Any]],
    convert: Callable[[dict[str, Any], int], T | list[RowError]],
    reject: Callable[[int, Sequence[RowError], Any], None],
    size: int = 1000,
) -> Iterator[tuple[int, list[T]]]:
    """Yield ``(rows read, converted rows)`` per batch of `size` rows.

    `rows` are ``(line, row)`` pairs from `export.readers.read_rows`. `convert` turns a
    row into a value or a list of errors; errors and unreadable rows (those with a
    ``reason`` and a ``raw`` text, readers' BadRow) go to ``reject(line, errors, raw)``.
    """
    for batch in batched(rows, size):
        out: list[T] = []
        for line, row in batch:
            if not isinstance(row, dict):
                reject(line, [RowError(line, "", row.reason)], row.raw)
                continue
            result = convert(row, line)
            if isinstance(result, list):
                reject(line, result, row)
            else:
                out.append(result)
        yield len(batch), out


def read_ahead(source: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run `source` in a thread, at most `depth` items ahead of the consumer.

    Reading and checking the next batch then overlaps with the database storing the
    current one (drivers release the GIL while they wait), and memory stays bounded.
    Exceptions of the source re-raise in the consumer.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(entry, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:
            put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="judgeloop-read-ahead", daemon=True)
    thread.start()
    try:
        while (entry := queue.get())[0] == "item":
            yield entry[1]
        if entry[0] == "error":
            raise entry[1]
    finally:
        stop.set()
        thread.join()
