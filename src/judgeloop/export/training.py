"""Training datasets: input records, filters, a split by prompt and rows in TRL's formats.

Pure, no database and no heavy imports. A service fills the small record dataclasses
below from the store (consensus preferences, rewrites, ratings, labels); this module
filters them, assigns each to ``train`` or ``test`` by a hash of its normalized prompt
(so no prompt is ever in both) and turns them into rows that TRL's trainers read as they
are. `export.training_writers` writes those rows with a dataset card.

Row shapes (``conversational=False`` / ``True``), TRL's explicit-prompt formats:

- preference: ``{"prompt": str, "chosen": str, "rejected": str}`` or, conversational,
  ``{"prompt": [messages], "chosen": [assistant message], "rejected": [...]}``; plus
  ``margin`` (RewardTrainer subtracts it inside its loss), ``confidence``, ``agreement``,
  ``n_votes``, ``chosen_model``, ``rejected_model``.
- sft: ``{"prompt", "completion"}`` (prompt-completion), plus ``source`` and ``model``.
- kto: ``{"prompt", "completion", "label": bool}`` (unpaired desirable/undesirable).
- rubric: ``{"prompt", "completion", "model", "scores": {dimension: float}, "n_ratings"}``.
- label: ``{"prompt", "completion", "question", "label", "labels"}``.

Every row also carries ``item_id``, ``round``, ``agreement`` and ``confidence``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

TrainingKind = Literal["preference", "sft", "kto", "rubric", "label"]
Split = Literal["train", "test"]
TRAINING_KINDS: tuple[TrainingKind, ...] = ("preference", "sft", "kto", "rubric", "label")
ROW_FORMAT_VERSION = "judgeloop.training.v1"
DEFAULT_SPLIT_SEED = "judgeloop.split.v1"
Message = Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class TrainingRecord:
    """What every training record carries: the prompt and the quality of its consensus.

    Attributes:
        item_id: The item the record comes from.
        prompt: The prompt as text (the split is computed from it).
        messages: The prompt as a conversation (``[{"role", "content"}]``) when it is
            one; conversational rows use it, otherwise the prompt becomes one user turn.
        agreement: Share of the votes that agree with the consensus (0..1), if known.
        confidence: The consensus method's confidence in the result (0..1), if known.
        worker_reliability: The lowest estimated reliability among the workers whose
            judgments made this record (None: unknown, e.g. historical data).
        flagged: Whether a worker or reviewer flagged the item (unsafe, broken, ...).
        round: The round the judgments belong to.
        guideline_versions: The guideline versions the judgments were made under.
    """

    item_id: int
    prompt: str
    messages: Sequence[Message] | None = None
    agreement: float | None = None
    confidence: float | None = None
    worker_reliability: float | None = None
    flagged: bool = False
    round: int | None = None
    guideline_versions: tuple[int, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PreferenceRecord(TrainingRecord):
    """A consensus preference between two answers to one prompt.

    Attributes:
        chosen: The preferred answer.
        rejected: The other answer.
        margin: How much better `chosen` is (0 = barely; from strength or scores).
        n_votes: How many judgments the consensus is made of.
        chosen_model: The model version that wrote `chosen`, if known.
        rejected_model: The model version that wrote `rejected`, if known.
    """

    chosen: str
    rejected: str
    margin: float = 0.0
    n_votes: int = 1
    chosen_model: str | None = None
    rejected_model: str | None = None


@dataclass(frozen=True, kw_only=True)
class SFTRecord(TrainingRecord):
    """A target answer for supervised fine-tuning: a rewrite or an ideal answer."""

    completion: str
    source: str = "rewrite"
    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class KTORecord(TrainingRecord):
    """One answer judged desirable (``label=True``) or undesirable, without a pair."""

    completion: str
    label: bool
    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class RubricRecord(TrainingRecord):
    """Consensus rubric scores of one answer, one float per dimension."""

    completion: str
    scores: Mapping[str, float]
    n_ratings: int = 1
    model: str | None = None


@dataclass(frozen=True, kw_only=True)
class LabelRecord(TrainingRecord):
    """Consensus labels of one question about the prompt or about one answer."""

    question: str
    labels: tuple[str, ...]
    completion: str | None = None


R = TypeVar("R", bound=TrainingRecord)


@dataclass(frozen=True)
class TrainingFilters:
    """Which records go into a training dataset.

    Attributes:
        min_agreement: Keep records whose agreement is at least this (unknown fails).
        min_confidence: Keep records whose confidence is at least this (unknown fails).
        min_worker_reliability: Keep records whose least reliable worker reaches this
            (unknown fails).
        exclude_flagged: Leave out flagged items.
        round: Keep only this round.
    """

    min_agreement: float | None = None
    min_confidence: float | None = None
    min_worker_reliability: float | None = None
    exclude_flagged: bool = True
    round: int | None = None

    def describe(self) -> dict[str, Any]:
        """Return the filters that are set, as plain values (for cards and provenance)."""
        out: dict[str, Any] = {}
        for name in ("min_agreement", "min_confidence", "min_worker_reliability", "round"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["exclude_flagged"] = self.exclude_flagged
        return out

    def reason_to_exclude(self, record: TrainingRecord) -> str | None:
        """Return why `record` is left out (a short reason), or None to keep it."""
        if self.exclude_flagged and record.flagged:
            return "flagged"
        if self.round is not None and record.round != self.round:
            return "other round"
        checks = (
            ("agreement", self.min_agreement, record.agreement),
            ("confidence", self.min_confidence, record.confidence),
            ("worker reliability", self.min_worker_reliability, record.worker_reliability),
        )
        for name, minimum, value in checks:
            if minimum is not None and (value is None or value < minimum):
                return f"{name} below {minimum}" if value is not None else f"{name} unknown"
        return None


@dataclass
class FilterStats:
    """How many records a filter kept and, per reason, how many it left out."""

    kept: int = 0
    excluded: dict[str, int] = field(default_factory=dict)


def filter_records(
    records: Iterable[R], filters: TrainingFilters, stats: FilterStats | None = None
) -> Iterator[R]:
    """Yield the records that pass `filters`, counting what is left out in `stats`."""
    for record in records:
        reason = filters.reason_to_exclude(record)
        if reason is None:
            if stats is not None:
                stats.kept += 1
            yield record
        elif stats is not None:
            stats.excluded[reason] = stats.excluded.get(reason, 0) + 1


# ---------------------------------------------------------------- split by prompt


def normalize_prompt(prompt: str) -> str:
    """Return the prompt as the split sees it: NFKC, case-folded, whitespace collapsed.

    Two prompts that differ only in case or spacing are the same prompt, so they land in
    the same split.
    """
    return " ".join(unicodedata.normalize("NFKC", prompt).casefold().split())


def prompt_bucket(prompt: str, seed: str = DEFAULT_SPLIT_SEED) -> float:
    """Return a number in [0, 1) fixed by the normalized prompt and the seed."""
    digest = hashlib.sha256(f"{seed}\0{normalize_prompt(prompt)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(prompt: str, test_fraction: float, seed: str = DEFAULT_SPLIT_SEED) -> Split:
    """Return ``"test"`` for about `test_fraction` of prompts and ``"train"`` for the rest.

    Deterministic: the same prompt (after `normalize_prompt`) and seed always give the
    same split, on any machine, so no prompt is in both and re-exports are stable.
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1); got {test_fraction}")
    return "test" if prompt_bucket(prompt, seed) < test_fraction else "train"


# ---------------------------------------------------------------- rows


def prompt_messages(record: TrainingRecord) -> list[dict[str, str]]:
    """Return the record's prompt as a conversation (one user turn when it is plain)."""
    if record.messages:
        return [{"role": m["role"], "content": m["content"]} for m in record.messages]
    return [{"role": "user", "content": record.prompt}]


def _answer(text: str, conversational: bool) -> str | list[dict[str, str]]:
    return [{"role": "assistant", "content": text}] if conversational else text


def _prompt(record: TrainingRecord, conversational: bool) -> str | list[dict[str, str]]:
    return prompt_messages(record) if conversational else record.prompt


def _common(record: TrainingRecord) -> dict[str, Any]:
    return {
        "item_id": record.item_id,
        "round": record.round,
        "agreement": record.agreement,
        "confidence": record.confidence,
    }


def preference_row(record: PreferenceRecord, *, conversational: bool = False) -> dict[str, Any]:
    """Return a TRL preference row (explicit prompt) with margin and consensus columns."""
    return {
        "prompt": _prompt(record, conversational),
        "chosen": _answer(record.chosen, conversational),
        "rejected": _answer(record.rejected, conversational),
        "margin": float(record.margin),
        "n_votes": record.n_votes,
        "chosen_model": record.chosen_model,
        "rejected_model": record.rejected_model,
        **_common(record),
    }


def sft_row(record: SFTRecord, *, conversational: bool = False) -> dict[str, Any]:
    """Return a TRL prompt-completion row for supervised fine-tuning."""
    return {
        "prompt": _prompt(record, conversational),
        "completion": _answer(record.completion, conversational),
        "source": record.source,
        "model": record.model,
        **_common(record),
    }


def kto_row(record: KTORecord, *, conversational: bool = False) -> dict[str, Any]:
    """Return a TRL unpaired preference row (``label`` True = desirable) for KTO."""
    return {
        "prompt": _prompt(record, conversational),
        "completion": _answer(record.completion, conversational),
        "label": bool(record.label),
        "model": record.model,
        **_common(record),
    }


def rubric_row(record: RubricRecord, *, conversational: bool = False) -> dict[str, Any]:
    """Return a row of rubric scores (one float per dimension) for one answer."""
    return {
        "prompt": _prompt(record, conversational),
        "completion": _answer(record.completion, conversational),
        "model": record.model,
        "scores": {k: float(v) for k, v in sorted(record.scores.items())},
        "n_ratings": record.n_ratings,
        **_common(record),
    }


def label_row(record: LabelRecord, *, conversational: bool = False) -> dict[str, Any]:
    """Return a row of consensus labels (``label`` is set when there is exactly one)."""
    completion = record.completion
    return {
        "prompt": _prompt(record, conversational),
        "completion": None if completion is None else _answer(completion, conversational),
        "question": record.question,
        "label": record.labels[0] if len(record.labels) == 1 else None,
        "labels": list(record.labels),
        **_common(record),
    }


_BUILDERS: dict[str, Any] = {
    "preference": (PreferenceRecord, preference_row),
    "sft": (SFTRecord, sft_row),
    "kto": (KTORecord, kto_row),
    "rubric": (RubricRecord, rubric_row),
    "label": (LabelRecord, label_row),
}


def training_row(
    kind: TrainingKind, record: TrainingRecord, *, conversational: bool = False
) -> dict[str, Any]:
    """Return the row of `record` in the format of `kind` (raises TypeError on a mismatch)."""
    if kind not in _BUILDERS:
        raise ValueError(f"unknown training kind {kind!r}; expected one of {TRAINING_KINDS}")
    record_type, build = _BUILDERS[kind]
    if not isinstance(record, record_type):
        raise TypeError(f"a {kind} dataset needs {record_type.__name__}, not {type(record)}")
    row: dict[str, Any] = build(record, conversational=conversational)
    return row


def split_rows(
    kind: TrainingKind,
    records: Iterable[TrainingRecord],
    *,
    test_fraction: float = 0.1,
    seed: str = DEFAULT_SPLIT_SEED,
    conversational: bool = False,
) -> Iterator[tuple[Split, TrainingRecord, dict[str, Any]]]:
    """Yield ``(split, record, row)`` for each record, the split decided by its prompt."""
    for record in records:
        split = split_of(record.prompt, test_fraction, seed)
        yield split, record, training_row(kind, record, conversational=conversational)
