"""spans: labelled highlights on the prompt or a candidate's text (character offsets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from judgeloop.questions.base import AnswerError, ItemContext, register_kind
from judgeloop.questions.choice import Option, allowed_values, check_unique_options

SPAN_FIELDS = ("target", "start", "end", "label", "text")
MAX_SPANS = 2000


class SpansConfig(BaseModel):
    """Which labels may be used and which texts may be highlighted.

    Attributes:
        labels: The labels a span may carry.
        targets: Keys of the texts that may be highlighted: ``"prompt"`` or candidate keys.
        allow_overlap: Whether spans on the same text may overlap.
    """

    model_config = ConfigDict(extra="forbid")

    labels: list[Option] = Field(min_length=1, max_length=500)
    targets: list[str] = Field(default_factory=lambda: ["A"], min_length=1)
    allow_overlap: bool = False

    @field_validator("targets")
    @classmethod
    def _check_targets(cls, targets: list[str]) -> list[str]:
        if any(not t for t in targets):
            raise ValueError("a target must name a text ('prompt' or a candidate key)")
        if len(set(targets)) != len(targets):
            raise ValueError("targets must be unique")
        return targets

    @model_validator(mode="after")
    def _check_labels(self) -> SpansConfig:
        check_unique_options(self.labels, "label")
        return self


def int_offset(value: Any, field: str, where: str) -> int:
    """Return `value` as a character offset, or raise AnswerError for a non-integer.

    Args:
        value: The offset as given.
        field: The field path to report, e.g. ``"2.start"``.
        where: How the message starts, e.g. ``"span 2"``.

    Raises:
        AnswerError: When `value` is not an integer.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise AnswerError(field, f"{where}: expected a whole-number offset, got {value!r}")
    return value


def check_range(start: int, end: int, text: str, prefix: str, where: str) -> None:
    """Check ``0 <= start < end <= len(text)``.

    Args:
        start: The first character of the range.
        end: One past the last character of the range.
        text: The text the offsets point into.
        prefix: The field path before ``.start``/``.end``, e.g. ``"2"``.
        where: How the message starts, e.g. ``"span 2"``.

    Raises:
        AnswerError: Naming ``<prefix>.start`` or ``<prefix>.end`` and why.
    """
    if start < 0:
        raise AnswerError(f"{prefix}.start", f"{where}: start {start} is negative")
    if end <= start:
        raise AnswerError(f"{prefix}.end", f"{where}: end {end} must be after start {start}")
    if end > len(text):
        raise AnswerError(
            f"{prefix}.end", f"{where}: end {end} is beyond the text's {len(text)} characters"
        )


class SpansKind:
    """The spans question kind."""

    name = "spans"
    config_model: type[BaseModel] = SpansConfig

    def validate_answer(
        self, config: SpansConfig, value: Any, ctx: ItemContext
    ) -> list[dict[str, Any]]:
        """Check a list of labelled spans.

        Args:
            config: The question's configuration.
            value: A list of ``{"target", "start", "end", "label", "text"?}``; offsets
                count characters (Unicode code points) of ``ctx.texts[target]``, end
                exclusive. ``target`` may be left out when the question has one target.
            ctx: The item being judged; ``ctx.texts`` holds the texts.

        Returns:
            The spans sorted by (target, start, end, label), each with ``text`` filled
            from the slice. An empty list means nothing needed highlighting.

        Raises:
            AnswerError: Naming the field, e.g. ``"2.end"``, and why.
        """
        if not isinstance(value, list):
            raise AnswerError("", "expected a list of spans")
        if len(value) > MAX_SPANS:
            raise AnswerError("", f"at most {MAX_SPANS} spans; got {len(value)}")
        spans = [_check_span(config, item, i, ctx) for i, item in enumerate(value)]
        order = sorted(range(len(spans)), key=lambda i: _sort_key(spans[i]))
        if not config.allow_overlap:
            _check_overlaps(spans, order)
        return [spans[i] for i in order]


def _check_span(config: SpansConfig, item: Any, i: int, ctx: ItemContext) -> dict[str, Any]:
    where = f"span {i}"
    if not isinstance(item, Mapping):
        raise AnswerError(str(i), f"{where}: expected {{target, start, end, label}}")
    extra = sorted(str(k) for k in item if k not in SPAN_FIELDS)
    if extra:
        raise AnswerError(f"{i}.{extra[0]}", f"{where}: unknown field {extra[0]!r}")
    target = item.get("target")
    if target is None and len(config.targets) == 1:
        target = config.targets[0]
    if not isinstance(target, str) or target not in config.targets:
        raise AnswerError(
            f"{i}.target",
            f"{where}: target {target!r} may not be highlighted "
            f"(allowed: {', '.join(config.targets)})",
        )
    text = ctx.texts.get(target)
    if text is None:
        raise AnswerError(f"{i}.target", f"{where}: this item has no text {target!r}")
    start = int_offset(item.get("start"), f"{i}.start", where)
    end = int_offset(item.get("end"), f"{i}.end", where)
    check_range(start, end, text, str(i), where)
    label = item.get("label")
    if not isinstance(label, str) or all(o.value != label for o in config.labels):
        raise AnswerError(
            f"{i}.label",
            f"{where}: unknown label {label!r} (allowed: {allowed_values(config.labels)})",
        )
    piece = text[start:end]
    given = item.get("text")
    if given is not None and given != piece:
        raise AnswerError(
            f"{i}.text",
            f"{where}: the text does not match characters {start} to {end} of {target} "
            f"({_preview(piece)})",
        )
    return {"target": target, "start": start, "end": end, "label": label, "text": piece}


def _sort_key(span: Mapping[str, Any]) -> tuple[str, int, int, str]:
    return (span["target"], span["start"], span["end"], span["label"])


def _check_overlaps(spans: list[dict[str, Any]], order: list[int]) -> None:
    """Raise for the first span (in sorted order) that overlaps an earlier one."""
    reach: dict[str, tuple[int, int]] = {}  # target -> (furthest end, index of that span)
    for i in order:
        span = spans[i]
        end, j = reach.get(span["target"], (0, -1))
        if j >= 0 and span["start"] < end:
            raise AnswerError(
                str(i),
                f"span {i} overlaps span {j} on {span['target']} "
                f"(characters {span['start']} to {min(end, span['end'])})",
            )
        if span["end"] > end or j < 0:
            reach[span["target"]] = (span["end"], i)


def _preview(piece: str, width: int = 40) -> str:
    shown = piece if len(piece) <= width else piece[: width - 3] + "..."
    return f"expected {shown!r}"


register_kind(SpansKind())
