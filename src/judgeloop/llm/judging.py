"""The LLM judge's reply: parsing, validation, position swaps, and the fix-up loop.

A reply is parsed as JSON and checked with `questions.base.validate_answers`, the same
check people's submissions pass. An unusable reply is sent back with the error messages
(`judge_prompt.fix_message`) up to `max_fixes` times; then the item is recorded as
unparseable. For position-bias runs the answers are shown in reverse order
(`shown_to_real`); the judge answers about the keys it saw, and `map_back` turns them
into the real candidate keys before anything is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from judgeloop.errors import InvalidInput
from judgeloop.llm.backends import ChatBackend
from judgeloop.llm.config import Message
from judgeloop.llm.judge_prompt import build_judge_messages, fix_message
from judgeloop.questions.base import (
    ItemContext,
    NormalizedAnswer,
    QuestionSpec,
    RubricDimension,
    validate_answers,
)

FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


class ReplyError(ValueError):
    """A judge's reply is unusable; the message says why, in words the judge can act on."""


def extract_json(text: str) -> Any:
    """Return the JSON value in a reply: the whole text, a fenced block, or the outer {...}."""
    stripped = text.strip()
    candidates = [stripped]
    candidates += [m.strip() for m in FENCE.findall(stripped)]
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            continue
    raise ReplyError("the reply is not valid JSON; reply with one JSON object only")


def check_reply(
    text: str, questions: Sequence[QuestionSpec], ctx: ItemContext
) -> list[NormalizedAnswer]:
    """Parse and validate a judge's reply against the questions and the item (as shown)."""
    data = extract_json(text)
    answers = data.get("answers") if isinstance(data, Mapping) else data
    if not isinstance(answers, list) or not all(isinstance(a, Mapping) for a in answers):
        raise ReplyError('expected {"answers": [{"question": ..., "value": ...}, ...]}')
    try:
        return validate_answers(questions, answers, ctx)
    except InvalidInput as exc:
        raise ReplyError("\n".join(f"- {row.field}: {row.reason}" for row in exc.rows)) from None


def shown_to_real(keys: Sequence[str], swapped: bool) -> dict[str, str]:
    """Map each key shown to the judge to the candidate whose text it shows.

    Unswapped, every key shows its own candidate; swapped, the order is reversed (with two
    answers: A shows B's text and B shows A's).
    """
    order = list(reversed(keys)) if swapped else list(keys)
    return dict(zip(keys, order, strict=True))


def display_questions(
    questions: Sequence[QuestionSpec], real_to_shown: Mapping[str, str], order: Sequence[str]
) -> list[QuestionSpec]:
    """Point the questions that name a candidate at the key it is shown under.

    Spans targets, a claims target and a rewrite's source name candidates; in a swapped
    run each is replaced by the key under which that candidate's text is shown. `order`
    is the item's real candidate keys (a rewrite without a source starts from the first).
    """

    def shown(key: str) -> str:
        return real_to_shown.get(key, key)

    out = []
    for spec in questions:
        config = dict(spec.config)
        if spec.kind == "spans":
            config["targets"] = [shown(t) for t in config.get("targets", ["A"])]
        elif spec.kind == "claims":
            config["target"] = shown(str(config.get("target", "A")))
        elif spec.kind == "text" and config.get("mode") == "rewrite" and order:
            config["source"] = shown(str(config.get("source") or order[0]))
        out.append(spec.model_copy(update={"config": config}))
    return out


def _map_value(kind: str, value: Any, real: Callable[[str], str], order: Sequence[str]) -> Any:
    if kind == "preference" and isinstance(value, dict):
        return {**value, "winner": real(value["winner"])}
    if kind == "ranking" and isinstance(value, list):
        rank = {k: i for i, k in enumerate(order)}
        return [
            sorted((real(k) for k in place), key=lambda k: rank.get(k, 0))
            if isinstance(place, list)
            else real(place)
            for place in value
        ]
    if kind == "spans" and isinstance(value, list):
        return [{**span, "target": real(span["target"])} for span in value]
    return value


def map_back(
    answers: Sequence[NormalizedAnswer], mapping: Mapping[str, str], order: Sequence[str]
) -> list[NormalizedAnswer]:
    """Turn answers about shown keys into answers about the real candidate keys.

    Args:
        answers: Validated answers, candidate keys as shown to the judge.
        mapping: Shown key -> real key (`shown_to_real`).
        order: The item's real candidate keys in order (tied places keep it).
    """

    def real(key: str) -> str:
        return mapping.get(key, key)

    return [
        NormalizedAnswer(
            question_key=a.question_key,
            candidate_key=real(a.candidate_key) if a.candidate_key else "",
            kind=a.kind,
            value=_map_value(a.kind, a.value, real, order),
            explanation=a.explanation,
        )
        for a in answers
    ]


@dataclass
class JudgeOutcome:
    """What judging one item came to.

    Attributes:
        status: ``ok``, ``unparseable`` (no usable reply after the fix-ups) or ``failed``
            (the model could not be reached after its retries).
        answers: The validated answers (as shown to the judge; see `map_back`).
        replies: Every reply text, in order.
        error: Why the last reply was unusable, or why the call failed.
        calls: Model calls made (fix-ups included; retries of one call are not counted).
        prompt_tokens: Tokens sent, over all calls.
        completion_tokens: Tokens received, over all calls.
    """

    status: str
    answers: list[NormalizedAnswer] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    error: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


async def judge_item(
    backend: ChatBackend,
    messages: Sequence[Message],
    check: Callable[[str], list[NormalizedAnswer]],
    *,
    max_fixes: int = 2,
) -> JudgeOutcome:
    """Ask the judge, check its reply, and send it back with the errors until it is usable.

    Args:
        backend: The judge model.
        messages: The judge's messages (`build_judge_messages`).
        check: Parses and validates a reply; raises ReplyError saying what is wrong.
        max_fixes: How many times an unusable reply is sent back for correction.

    Returns:
        The outcome; never raises for a bad reply or an unreachable model.
    """
    outcome = JudgeOutcome(status="unparseable")
    conversation = list(messages)
    for _ in range(max_fixes + 1):
        reply = await backend.complete(conversation)
        outcome.calls += 1
        outcome.prompt_tokens += reply.prompt_tokens
        outcome.completion_tokens += reply.completion_tokens
        if not reply.ok or reply.text is None:
            outcome.status, outcome.error = "failed", reply.error
            return outcome
        outcome.replies.append(reply.text)
        try:
            outcome.answers = check(reply.text)
        except ReplyError as exc:
            outcome.error = str(exc)
            conversation += [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": fix_message(str(exc))},
            ]
            continue
        outcome.status, outcome.error = "ok", None
        return outcome
    return outcome


@dataclass(frozen=True)
class JudgeItem:
    """One item as the judge needs it."""

    item_id: int
    prompt: str
    conversation: tuple[Message, ...]
    """The item's messages when it is a conversation (empty for a plain prompt)."""
    candidates: tuple[tuple[str, str], ...]
    """(key, text) of each candidate, in the item's order."""


@dataclass(frozen=True)
class JudgeSetup:
    """What every item of one judge run shares.

    The project's questions, rubric and guidelines, the order the answers are shown in,
    and how often an unusable reply is sent back.
    """

    questions: tuple[QuestionSpec, ...]
    rubric: tuple[RubricDimension, ...]
    guidelines: str
    swapped: bool = False
    with_system: bool = True
    max_fixes: int = 2

    async def judge(self, backend: ChatBackend, item: JudgeItem) -> JudgeOutcome:
        """Judge one item: build the prompt (swapped if asked), ask, check, map back.

        Returns:
            The outcome, its answers about the real candidate keys.
        """
        keys = [k for k, _ in item.candidates]
        mapping = shown_to_real(keys, self.swapped)
        texts = dict(item.candidates)
        shown = [(k, texts[mapping[k]]) for k in keys]
        asked = display_questions(self.questions, {r: s for s, r in mapping.items()}, keys)
        ctx = ItemContext(candidate_keys=tuple(keys), texts={"prompt": item.prompt, **dict(shown)})
        messages = build_judge_messages(
            questions=asked,
            rubric=self.rubric,
            guidelines=self.guidelines,
            prompt=item.prompt,
            conversation=list(item.conversation) or None,
            answers=shown,
            with_system=self.with_system,
        )
        check = partial(check_reply, questions=asked, ctx=ctx)
        outcome = await judge_item(backend, messages, check, max_fixes=self.max_fixes)
        outcome.answers = map_back(outcome.answers, mapping, keys)
        return outcome


def answer_dicts(answers: Sequence[NormalizedAnswer]) -> list[dict[str, Any]]:
    """Answers as stored in `JudgeAnswer.answers`."""
    return [
        {
            "question": a.question_key,
            "candidate": a.candidate_key,
            "kind": a.kind,
            "value": a.value,
            "explanation": a.explanation,
        }
        for a in answers
    ]


@dataclass(frozen=True)
class JudgeRecord:
    """One judge answer to one question (about one candidate), ready for arrays.

    The fields line up with people's judgments (question_key, candidate_key, kind,
    value), so a calibration report can put judge and human answers side by side.
    """

    judge_answer_id: int
    item_id: int
    model: str
    swapped: bool
    question_key: str
    candidate_key: str
    kind: str
    value: Any
    explanation: str


@dataclass(frozen=True)
class PositionPair:
    """The judge's answer to one question in the normal and in the swapped run."""

    item_id: int
    question_key: str
    candidate_key: str
    kind: str
    normal: Any
    swapped: Any
    agree: bool


def same_answer(kind: str, a: Any, b: Any) -> bool:
    """Whether two answers agree: a preference by its winner (strength aside), else equal."""
    if kind == "preference" and isinstance(a, dict) and isinstance(b, dict):
        return bool(a.get("winner") == b.get("winner"))
    return bool(a == b)


def pair_runs(records: Sequence[JudgeRecord]) -> list[PositionPair]:
    """Pair each normal-run record with the swapped run's answer to the same question."""
    runs: dict[bool, dict[tuple[int, str, str], JudgeRecord]] = {False: {}, True: {}}
    for rec in records:
        runs[rec.swapped][(rec.item_id, rec.question_key, rec.candidate_key)] = rec
    pairs = []
    for key, normal in runs[False].items():
        other = runs[True].get(key)
        if other is not None:
            agree = same_answer(normal.kind, normal.value, other.value)
            pairs.append(PositionPair(*key, normal.kind, normal.value, other.value, agree))
    return pairs


def candidates_needed(questions: Sequence[QuestionSpec]) -> int:
    """The fewest candidates an item needs for every required question to be answerable."""
    need = 0
    for q in questions:
        if q.required and q.kind in ("preference", "ranking"):
            need = max(need, 2)
        elif q.required and q.per_candidate:
            need = max(need, 1)
    return need
