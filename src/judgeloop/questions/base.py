"""What every question kind provides, the registry of kinds, and whole-submission checks.

A question kind owns its configuration schema and the validation of its answers. A
project composes kinds into a list of `QuestionSpec`s; `validate_answers` checks one
submission's answers against that list and the item they are about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from judgeloop.errors import InvalidInput, RowError

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class AnswerError(ValueError):
    """An answer is wrong; `field` is the path inside the answer, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ItemContext:
    """What answer validation needs to know about the item being judged."""

    candidate_keys: tuple[str, ...]
    texts: Mapping[str, str] = field(default_factory=dict)
    """Texts that spans and claims may point into: 'prompt' and each candidate key."""


class QuestionKind(Protocol):
    """The interface of one question kind (one module in questions/)."""

    name: str
    config_model: type[BaseModel]

    def validate_answer(self, config: Any, value: Any, ctx: ItemContext) -> Any:
        """Return the normalized answer, or raise AnswerError saying which field and why."""
        ...


_KINDS: dict[str, QuestionKind] = {}


def register_kind(kind: QuestionKind) -> QuestionKind:
    """Add a question kind to the registry (an outside package may add its own)."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> QuestionKind:
    """Return the registered kind called `name`, or raise InvalidInput listing the known ones."""
    import judgeloop.questions  # noqa: F401 - registers the built-in kinds

    try:
        return _KINDS[name]
    except KeyError:
        known = ", ".join(sorted(_KINDS))
        raise InvalidInput(f"unknown question kind {name!r} (known: {known})") from None


def kind_names() -> list[str]:
    """Names of all registered question kinds."""
    import judgeloop.questions  # noqa: F401

    return sorted(_KINDS)


class QuestionSpec(BaseModel):
    """One question of a project: which kind, what it asks, and the kind's configuration."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN, description="Stable identifier, e.g. 'helpfulness'.")
    kind: str
    title: str = Field(min_length=1, max_length=500)
    help: str = ""
    required: bool = True
    per_candidate: bool = Field(
        False, description="Ask the question once for each candidate answer."
    )
    explanation: Literal["none", "optional", "required"] = "none"
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in kind_names():
            raise ValueError(f"unknown question kind {value!r} (known: {', '.join(kind_names())})")
        return value

    def parsed_config(self) -> Any:
        """Return this question's config as its kind's typed config model."""
        return get_kind(self.kind).config_model.model_validate(self.config)


class RubricDimension(BaseModel):
    """One criterion of a rubric, each score level described in words."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    description: str = ""
    levels: dict[int, str] = Field(min_length=2, description="Score -> what that score means.")


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[RowError]:
    """Turn a pydantic ValidationError into RowErrors with dotted field paths."""
    rows = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"])
        full = f"{prefix}.{path}" if prefix and path else (prefix or path)
        rows.append(RowError(0, full, err["msg"]))
    return rows


def check_questions(
    questions: Sequence[Mapping[str, Any] | QuestionSpec],
    rubric: Sequence[Mapping[str, Any] | RubricDimension] = (),
) -> tuple[list[QuestionSpec], list[RubricDimension]]:
    """Validate a question composition and rubric; fill rating levels from the rubric.

    Raises InvalidInput naming every wrong field (e.g. ``questions.1.config.max``).
    """
    errors: list[RowError] = []
    dims: list[RubricDimension] = []
    for i, raw_dim in enumerate(rubric):
        try:
            dims.append(RubricDimension.model_validate(raw_dim))
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, f"rubric.{i}"))
    by_key = {d.key: d for d in dims}
    specs: list[QuestionSpec] = []
    seen: set[str] = set()
    if not questions:
        errors.append(RowError(0, "questions", "a project needs at least one question"))
    for i, raw in enumerate(questions):
        try:
            spec = QuestionSpec.model_validate(raw)
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, f"questions.{i}"))
            continue
        if spec.key in seen:
            errors.append(RowError(0, f"questions.{i}.key", f"duplicate question key {spec.key!r}"))
        seen.add(spec.key)
        dim_key = spec.config.get("dimension")
        if spec.kind == "rating" and dim_key:
            if dim_key not in by_key:
                errors.append(
                    RowError(
                        0, f"questions.{i}.config.dimension", f"no rubric dimension {dim_key!r}"
                    )
                )
            elif not spec.config.get("levels"):
                levels = by_key[dim_key].levels
                spec.config = {
                    **spec.config,
                    "levels": {str(k): v for k, v in levels.items()},
                    "min": spec.config.get("min", min(levels)),
                    "max": spec.config.get("max", max(levels)),
                }
        try:
            spec.parsed_config()
        except ValidationError as exc:
            errors.extend(pydantic_errors(exc, f"questions.{i}.config"))
            continue
        specs.append(spec)
    if errors:
        raise InvalidInput("invalid question composition", errors)
    return specs, dims


@dataclass
class NormalizedAnswer:
    """One validated answer, ready to be stored as a Judgment row."""

    question_key: str
    candidate_key: str
    kind: str
    value: Any
    explanation: str = ""


def validate_answers(
    questions: Sequence[QuestionSpec],
    answers: Sequence[Mapping[str, Any]],
    ctx: ItemContext,
) -> list[NormalizedAnswer]:
    """Check one submission's answers against the project's questions and the item.

    Each answer is a mapping with 'question', optional 'candidate', 'value' and optional
    'explanation'. Raises InvalidInput listing every problem, each with its field path.
    """
    by_key = {q.key: q for q in questions}
    errors: list[RowError] = []
    out: list[NormalizedAnswer] = []
    seen: set[tuple[str, str]] = set()
    for i, answer in enumerate(answers):
        path = f"answers.{i}"
        qkey = str(answer.get("question", ""))
        spec = by_key.get(qkey)
        if spec is None:
            errors.append(RowError(0, f"{path}.question", f"no question {qkey!r} in this project"))
            continue
        cand = str(answer.get("candidate") or "")
        label = f"answers.{qkey}" + (f".{cand}" if cand else "")
        if spec.per_candidate and cand not in ctx.candidate_keys:
            errors.append(
                RowError(0, f"{label}.candidate", _candidate_reason(cand, ctx.candidate_keys))
            )
            continue
        if not spec.per_candidate and cand:
            errors.append(RowError(0, f"{label}.candidate", "this question is not per candidate"))
            continue
        if (qkey, cand) in seen:
            errors.append(RowError(0, label, "answered twice"))
            continue
        seen.add((qkey, cand))
        explanation = str(answer.get("explanation") or "").strip()
        if spec.explanation == "required" and not explanation:
            errors.append(RowError(0, f"{label}.explanation", "an explanation is required"))
        try:
            value = get_kind(spec.kind).validate_answer(
                spec.parsed_config(), answer.get("value"), ctx
            )
        except AnswerError as exc:
            errors.append(
                RowError(0, f"{label}.value" + (f".{exc.field}" if exc.field else ""), exc.reason)
            )
            continue
        out.append(NormalizedAnswer(qkey, cand, spec.kind, value, explanation))
    for spec in questions:
        if not spec.required:
            continue
        wanted = ctx.candidate_keys if spec.per_candidate else ("",)
        for cand in wanted:
            if (spec.key, cand) not in seen:
                where = f"answers.{spec.key}" + (f".{cand}" if cand else "")
                errors.append(RowError(0, where, "this question is required"))
    if errors:
        raise InvalidInput("invalid answers", errors)
    return out


def _candidate_reason(cand: str, keys: Sequence[str]) -> str:
    if not cand:
        return f"this question is asked per candidate; name one of {', '.join(keys)}"
    return f"no candidate {cand!r} in this item (it has {', '.join(keys) or 'none'})"


def check_key(value: str) -> bool:
    """Tell whether `value` is a valid question or rubric key."""
    return re.match(KEY_PATTERN, value) is not None
