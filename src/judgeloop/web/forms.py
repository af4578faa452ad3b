"""The task page's form contract: posted form fields -> ``SubmissionCreate``.

The widgets in ``web/templates/questions/`` name their inputs as this module reads them.
``<slot>`` is ``a.<question key>``, or ``a.<question key>.<candidate key>`` for a
question asked once per candidate:

==========  ==============================================================================
kind        fields
==========  ==============================================================================
rating      ``<slot>`` = the score
choice      ``<slot>`` = the option value; repeated once per value for a multiple choice
preference  ``<slot>.winner`` = a candidate key or ``tie``; ``<slot>.strength`` = a level
ranking     ``<slot>.order`` = candidate keys best first, comma-separated (``=`` joins tied
            keys where ties are allowed); without it, ``<slot>.rank.<candidate>`` = a
            place number per candidate (the no-JavaScript fallback)
text        ``<slot>`` = the text
spans       ``<slot>.spans`` = JSON list of ``{target, start, end, label}``
claims      ``<slot>.claims`` = JSON list of ``{claim, verdict, source, note}``
code_run    ``<slot>.verdict`` = the verdict; ``<slot>.run_id`` = the test run shown, if any
==========  ==============================================================================

Each answer's explanation is ``e.<question key>[.<candidate key>]``; the submission's
own fields are ``explanation``, ``seconds_spent``, ``submission_key`` and ``csrf_token``.
A question left unanswered is left out of the answers (``submit_judgment`` then says
which required ones are missing). Problems found here are reported as ``RowError``s with
the same field paths ``submit_judgment`` uses (``answers.<question>[.<candidate>].value``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from judgeloop.errors import RowError
from judgeloop.questions.base import QuestionSpec, pydantic_errors
from judgeloop.questions.preference import TIE
from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate

MAX_EXPLANATION = 20_000
MAX_SECONDS = 7 * 24 * 3600
MAX_JSON = 2_000_000
SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_INTEGER = re.compile(r"^[+-]?\d{1,12}$")
_SPAN_FIELDS = ("target", "start", "end", "label")
_CLAIM_FIELDS = ("claim", "verdict", "source", "note")


class FormValues:
    """Posted form fields, each name with all its values (in the order sent)."""

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        """Collect `pairs` (name, value); values that are not text (uploads) are dropped."""
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            if isinstance(value, str):
                self._values.setdefault(name, []).append(value)

    @classmethod
    def from_mapping(cls, data: Mapping[str, str | Sequence[str]]) -> FormValues:
        """Build from ``{name: value}`` or ``{name: [values]}`` (tests, re-rendering)."""
        pairs: list[tuple[str, str]] = []
        for name, value in data.items():
            pairs.extend((name, v) for v in ([value] if isinstance(value, str) else value))
        return cls(pairs)

    def get(self, name: str, default: str = "") -> str:
        """Return the first value of `name`, or `default` when it was not sent."""
        values = self._values.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        """Return every value sent for `name` (an empty list when none was)."""
        return list(self._values.get(name, []))

    def has(self, name: str) -> bool:
        """Tell whether `name` was sent at all."""
        return name in self._values

    def __bool__(self) -> bool:
        """A form with no fields is false."""
        return bool(self._values)


class FormError(ValueError):
    """A field of one answer could not be read; `reason` says why, `sub` where inside."""

    def __init__(self, reason: str, sub: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.sub = sub


UNANSWERED: Any = object()
"""What a parser returns for a question the worker left alone."""


def slot_name(question: str, candidate: str = "") -> str:
    """The form name of one answer: ``a.<question>`` or ``a.<question>.<candidate>``."""
    return f"a.{question}" + (f".{candidate}" if candidate else "")


def explanation_name(question: str, candidate: str = "") -> str:
    """The form name of one answer's explanation: ``e.<question>[.<candidate>]``."""
    return f"e.{question}" + (f".{candidate}" if candidate else "")


def error_label(question: str, candidate: str = "") -> str:
    """The field path errors about one answer start with, as ``validate_answers`` writes it."""
    return f"answers.{question}" + (f".{candidate}" if candidate else "")


@dataclass(frozen=True)
class Slot:
    """Where one answer lives: its question, its candidate ('' if none) and form name."""

    spec: QuestionSpec
    config: Any
    candidate: str
    candidate_keys: tuple[str, ...]

    @property
    def name(self) -> str:
        """The answer's form name."""
        return slot_name(self.spec.key, self.candidate)


Parser = Callable[[Slot, FormValues], Any]


def _parse_rating(slot: Slot, values: FormValues) -> Any:
    raw = values.get(slot.name).strip()
    if not raw:
        return UNANSWERED
    return int(raw) if _INTEGER.match(raw) else raw


def _parse_choice(slot: Slot, values: FormValues) -> Any:
    if not slot.config.multiple:
        raw = values.get(slot.name)
        return raw if raw else UNANSWERED
    chosen = [v for v in values.getlist(slot.name) if v]
    if chosen:
        return chosen
    return [] if slot.spec.required and slot.config.min_selected == 0 else UNANSWERED


def _parse_preference(slot: Slot, values: FormValues) -> Any:
    winner = values.get(slot.name + ".winner").strip()
    strength = values.get(slot.name + ".strength").strip()
    if not winner and not strength:
        return UNANSWERED
    if winner == TIE or not strength:
        return {"winner": winner, "strength": None}
    return {"winner": winner, "strength": int(strength) if _INTEGER.match(strength) else strength}


def _parse_ranking(slot: Slot, values: FormValues) -> Any:
    order = values.get(slot.name + ".order").strip()
    if order:
        places = [p.strip() for p in order.split(",") if p.strip()]
        if not slot.config.allow_ties:
            return places
        return [[k.strip() for k in p.split("=") if k.strip()] for p in places]
    ranks = {c: values.get(f"{slot.name}.rank.{c}").strip() for c in slot.candidate_keys}
    given = {c: r for c, r in ranks.items() if r}
    if not given:
        return UNANSWERED
    if len(given) < len(ranks):
        missing = ", ".join(c for c in ranks if c not in given)
        raise FormError(f"give every answer a place; {missing} has none")
    if not all(_INTEGER.match(r) for r in given.values()):
        raise FormError("places must be whole numbers")
    return _ranks_to_places(slot, {c: int(r) for c, r in given.items()})


def _ranks_to_places(slot: Slot, ranks: dict[str, int]) -> list[Any]:
    numbers = sorted(set(ranks.values()))
    places = [[c for c in slot.candidate_keys if ranks[c] == n] for n in numbers]
    if slot.config.allow_ties:
        return places
    shared = [p for p in places if len(p) > 1]
    if shared:
        raise FormError(f"{' and '.join(shared[0])} share a place; ties are not allowed here")
    return [p[0] for p in places]


def _parse_text(slot: Slot, values: FormValues) -> Any:
    raw = values.get(slot.name)
    return raw if raw.strip() else UNANSWERED


def _json_list(raw: str, what: str) -> list[Any]:
    if len(raw) > MAX_JSON:
        raise FormError(f"the list of {what} is too large")
    try:
        data = json.loads(raw)
    except ValueError:
        raise FormError(f"the list of {what} could not be read; reload the page") from None
    if not isinstance(data, list):
        raise FormError(f"the list of {what} could not be read; reload the page")
    return data


def _offset(value: Any) -> Any:
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    return value


def _parse_spans(slot: Slot, values: FormValues) -> Any:
    name = slot.name + ".spans"
    if not values.has(name):
        return UNANSWERED
    raw = values.get(name).strip() or "[]"
    spans = []
    for i, item in enumerate(_json_list(raw, "highlights")):
        if not isinstance(item, dict):
            raise FormError("expected {target, start, end, label}", str(i))
        span = {k: item[k] for k in _SPAN_FIELDS if k in item}
        span["start"], span["end"] = _offset(span.get("start")), _offset(span.get("end"))
        spans.append(span)
    return spans


def _parse_claims(slot: Slot, values: FormValues) -> Any:
    raw = values.get(slot.name + ".claims").strip() or "[]"
    claims = []
    for i, item in enumerate(_json_list(raw, "claims")):
        if not isinstance(item, dict):
            raise FormError("expected {claim, verdict, source, note}", str(i))
        claim = {k: item[k] for k in _CLAIM_FIELDS if item.get(k) not in (None, "")}
        if any(isinstance(v, str) and v.strip() for v in claim.values()):
            claims.append(claim)
    if not claims and not slot.spec.required:
        return UNANSWERED
    return claims


def _parse_code_run(slot: Slot, values: FormValues) -> Any:
    verdict = values.get(slot.name + ".verdict")
    if not verdict:
        return UNANSWERED
    run_id = values.get(slot.name + ".run_id").strip()
    if not run_id:
        return {"verdict": verdict}
    if not _INTEGER.match(run_id):
        raise FormError("expected the id of a test run", "run_id")
    return {"verdict": verdict, "run_id": int(run_id)}


PARSERS: dict[str, Parser] = {
    "rating": _parse_rating,
    "choice": _parse_choice,
    "preference": _parse_preference,
    "ranking": _parse_ranking,
    "text": _parse_text,
    "spans": _parse_spans,
    "claims": _parse_claims,
    "code_run": _parse_code_run,
}
"""How each question kind's answer is read from the form; an extension kind adds its own."""


@dataclass
class ParsedSubmission:
    """What the form said: the submission to store, and what could not be read.

    Attributes:
        data: The submission (answers that could not be read are left out of it).
        errors: One row per problem, with ``submit_judgment``'s field paths.
        failed: The answers (``answers.<question>[.<candidate>]``) that could not be read.
    """

    data: SubmissionCreate
    errors: list[RowError] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)


def question_slots(questions: Sequence[QuestionSpec], candidate_keys: Sequence[str]) -> list[Slot]:
    """Every answer the page asks for: each question once, or once per candidate.

    Args:
        questions: The project's questions, in order.
        candidate_keys: The item's candidate keys, in the order they are shown.

    Returns:
        The slots, question by question.
    """
    keys = tuple(candidate_keys)
    slots = []
    for spec in questions:
        config = spec.parsed_config()
        for cand in keys if spec.per_candidate else ("",):
            slots.append(Slot(spec, config, cand, keys))
    return slots


def _read_answer(slot: Slot, values: FormValues, errors: list[RowError]) -> AnswerIn | None:
    label = error_label(slot.spec.key, slot.candidate)
    parser = PARSERS.get(slot.spec.kind)
    if parser is None:
        errors.append(RowError(0, label, f"this page cannot read {slot.spec.kind!r} answers"))
        return None
    try:
        value = parser(slot, values)
    except FormError as exc:
        where = f"{label}.value" + (f".{exc.sub}" if exc.sub else "")
        errors.append(RowError(0, where, exc.reason))
        return None
    explanation = values.get(explanation_name(slot.spec.key, slot.candidate)).strip()
    if len(explanation) > MAX_EXPLANATION:
        errors.append(RowError(0, f"{label}.explanation", _too_long(explanation)))
        return None
    if value is UNANSWERED:
        return None
    return AnswerIn(
        question=slot.spec.key, candidate=slot.candidate, value=value, explanation=explanation
    )


def _too_long(text: str) -> str:
    return f"{len(text)} characters long; at most {MAX_EXPLANATION} are allowed"


def _seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        return 0.0
    if seconds != seconds:  # NaN
        return 0.0
    return min(max(seconds, 0.0), float(MAX_SECONDS))


def _submission_fields(
    values: FormValues, require_explanation: bool, errors: list[RowError]
) -> tuple[str, str]:
    key = values.get("submission_key").strip()
    if not SUBMISSION_KEY.match(key):
        errors.append(RowError(0, "submission_key", "this form is damaged; reload the page"))
        key = "invalid-key"
    explanation = values.get("explanation").strip()
    if require_explanation and not explanation:
        errors.append(RowError(0, "explanation", "explain your judgment; this project asks for it"))
    if len(explanation) > MAX_EXPLANATION:
        errors.append(RowError(0, "explanation", _too_long(explanation)))
        explanation = explanation[:MAX_EXPLANATION]
    return key, explanation


def parse_submission(
    values: FormValues,
    *,
    questions: Sequence[QuestionSpec],
    candidate_keys: Sequence[str],
    item_id: int,
    assignment_id: int | None = None,
    require_explanation: bool = False,
) -> ParsedSubmission:
    """Read a posted task form into a submission.

    Args:
        values: The posted fields.
        questions: The project's questions.
        candidate_keys: The item's candidate keys.
        item_id: The item the form is about.
        assignment_id: The lease the form answers.
        require_explanation: Whether the project asks every submission for an explanation.

    Returns:
        The submission, with the answers that could be read, and the problems found.
        The answers themselves are checked later, by ``submit_judgment``.
    """
    errors: list[RowError] = []
    answers: list[AnswerIn] = []
    failed: set[str] = set()
    for slot in question_slots(questions, candidate_keys):
        before = len(errors)
        answer = _read_answer(slot, values, errors)
        if answer is not None:
            answers.append(answer)
        if len(errors) > before:
            failed.add(error_label(slot.spec.key, slot.candidate))
    key, explanation = _submission_fields(values, require_explanation, errors)
    fields = {
        "item_id": item_id,
        "assignment_id": assignment_id,
        "submission_key": key,
        "answers": answers,
        "seconds_spent": _seconds(values.get("seconds_spent", "0")),
        "explanation": explanation,
    }
    try:
        data = SubmissionCreate.model_validate(fields)
    except ValidationError as exc:  # e.g. more answers than a submission may hold
        errors.extend(pydantic_errors(exc))
        data = SubmissionCreate.model_validate({**fields, "answers": []})
    return ParsedSubmission(data, errors, failed)
