"""What the reviewer's page shows of a submission's answers: pure functions, no database.

Each stored judgment becomes an ``AnswerView``: a short summary (``4``, ``Answer A is
better``), the words that describe it (the rubric level, the strength, the option), and
for the long kinds the text (a rewrite) or a table (spans, claims). Candidates are named
as the worker saw them (``Answer A`` is the first answer *shown*, whatever its key).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from judgeloop.questions.base import QuestionSpec
from judgeloop.questions.preference import DEFAULT_STRENGTHS, TIE
from judgeloop.store.models import Judgment
from judgeloop.web.pages.work_views import ItemView


@dataclass(frozen=True)
class AnswerView:
    """One answer as the reviewer reads it.

    Attributes:
        candidate: ``Answer A`` for a per-candidate question, else ``""``.
        summary: The answer in a few words.
        detail: What that answer means (a rubric level, an option's description).
        text: A long answer (a rewrite, an ideal answer), shown as plain text.
        columns: Headings of `rows`, for spans and claims.
        rows: One row of cells per span or claim.
        explanation: The worker's explanation of this answer.
    """

    candidate: str = ""
    summary: str = ""
    detail: str = ""
    text: str = ""
    columns: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    explanation: str = ""


@dataclass(frozen=True)
class AnsweredQuestion:
    """A question of the project with the answers the submission gave to it."""

    key: str
    kind: str
    title: str
    answers: list[AnswerView]
    levels: list[tuple[int, str]] = field(default_factory=list)


Formatter = Callable[[Mapping[str, Any], Any, ItemView], AnswerView]


def _levels(raw: Mapping[Any, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (raw or {}).items()}


def _rating(config: Mapping[str, Any], value: Any, _item: ItemView) -> AnswerView:
    top = config.get("max", 5)
    return AnswerView(
        summary=f"{value} of {top}", detail=_levels(config.get("levels")).get(str(value), "")
    )


def _choice(config: Mapping[str, Any], value: Any, _item: ItemView) -> AnswerView:
    options = {str(o.get("value")): o for o in config.get("options") or [] if isinstance(o, dict)}
    picked = value if isinstance(value, list) else [value]
    labels = [str(options.get(str(v), {}).get("label") or v) for v in picked]
    details = [str(options.get(str(v), {}).get("description") or "") for v in picked]
    return AnswerView(summary=", ".join(labels), detail=" ".join(d for d in details if d))


def _preference(config: Mapping[str, Any], value: Any, item: ItemView) -> AnswerView:
    value = value if isinstance(value, dict) else {"winner": value}
    winner = str(value.get("winner"))
    if winner == TIE:
        return AnswerView(summary="Tie: neither answer is better")
    strengths = _levels(config.get("strength_levels") or DEFAULT_STRENGTHS)
    strength = value.get("strength")
    return AnswerView(
        summary=f"{item.label_of(winner)} is better",
        detail=strengths.get(str(strength), "") if strength is not None else "",
    )


def _ranking(_config: Mapping[str, Any], value: Any, item: ItemView) -> AnswerView:
    places = value if isinstance(value, list) else []
    shown = []
    for place, entry in enumerate(places, start=1):
        keys = entry if isinstance(entry, list) else [entry]
        shown.append(f"{place}. " + " = ".join(item.label_of(str(k)) for k in keys))
    return AnswerView(summary="  ".join(shown), detail="best first")


def _text(_config: Mapping[str, Any], value: Any, _item: ItemView) -> AnswerView:
    return AnswerView(text=str(value or ""))


def _spans(_config: Mapping[str, Any], value: Any, item: ItemView) -> AnswerView:
    spans = [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []
    rows: list[tuple[str, ...]] = [
        (str(s.get("label", "")), item.label_of(str(s.get("target", ""))), str(s.get("text", "")))
        for s in spans
    ]
    count = f"{len(rows)} {'span' if len(rows) == 1 else 'spans'}"
    return AnswerView(summary=count, columns=("Label", "In", "Text"), rows=rows)


def _claims(_config: Mapping[str, Any], value: Any, _item: ItemView) -> AnswerView:
    claims = [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []
    rows = [
        tuple(str(c.get(name) or "") for name in ("claim", "verdict", "source", "note"))
        for c in claims
    ]
    count = f"{len(rows)} {'claim' if len(rows) == 1 else 'claims'}"
    return AnswerView(summary=count, columns=("Claim", "Verdict", "Source", "Note"), rows=rows)


def _code_run(_config: Mapping[str, Any], value: Any, _item: ItemView) -> AnswerView:
    verdict = value.get("verdict") if isinstance(value, dict) else value
    run_id = value.get("run_id") if isinstance(value, dict) else None
    seen = f"having seen test run #{run_id}" if run_id else "with no test run shown"
    return AnswerView(summary=str(verdict).replace("_", " "), detail=seen)


def _raw(_config: Mapping[str, Any], value: Any, _item: ItemView) -> AnswerView:
    return AnswerView(text=json.dumps(value, indent=2, ensure_ascii=False, default=str))


FORMATTERS: dict[str, Formatter] = {
    "rating": _rating,
    "choice": _choice,
    "preference": _preference,
    "ranking": _ranking,
    "text": _text,
    "spans": _spans,
    "claims": _claims,
    "code_run": _code_run,
}
"""Question kind -> how its stored value is shown; other kinds show their JSON."""


def answer_view(spec: QuestionSpec, judgment: Judgment, item: ItemView) -> AnswerView:
    """Describe one stored judgment for the reviewer.

    Args:
        spec: The question it answers.
        judgment: The stored answer.
        item: The item as the worker saw it (for the candidates' labels).

    Returns:
        The answer's view, with the explanation and the candidate it is about.
    """
    formatter = FORMATTERS.get(spec.kind, _raw)
    try:
        view = formatter(spec.config, judgment.value, item)
    except (AttributeError, TypeError, ValueError):
        view = _raw(spec.config, judgment.value, item)
    cand = item.candidate(judgment.candidate_key) if judgment.candidate_key else None
    candidate = cand.label if cand else judgment.candidate_key
    return AnswerView(
        **{**view.__dict__, "candidate": candidate, "explanation": judgment.explanation}
    )


def _shown_order(item: ItemView) -> dict[str, int]:
    return {c.key: i for i, c in enumerate(item.candidates)}


def answered_questions(
    specs: Sequence[QuestionSpec], judgments: Sequence[Judgment], item: ItemView
) -> list[AnsweredQuestion]:
    """Group a submission's judgments by question, in the project's question order.

    Per-candidate answers follow the order the candidates were shown in. Questions left
    unanswered are listed with no answers; judgments of questions the project no longer
    has come last, shown as stored.

    Args:
        specs: The project's questions.
        judgments: The submission's judgments.
        item: The item as the worker saw it.

    Returns:
        One entry per question.
    """
    order = _shown_order(item)
    by_key: dict[str, list[Judgment]] = {}
    for judgment in judgments:
        by_key.setdefault(judgment.question_key, []).append(judgment)
    out = []
    for spec in specs:
        found = sorted(by_key.pop(spec.key, []), key=lambda j: order.get(j.candidate_key, -1))
        levels = sorted((int(k), str(v)) for k, v in (spec.config.get("levels") or {}).items())
        views = [answer_view(spec, j, item) for j in found]
        out.append(AnsweredQuestion(spec.key, spec.kind, spec.title, views, levels))
    for key, rest in by_key.items():
        spec = QuestionSpec.model_construct(key=key, kind=rest[0].kind, title=key, config={})
        views = [answer_view(spec, j, item) for j in rest]
        out.append(AnsweredQuestion(key, rest[0].kind, key, views))
    return out
