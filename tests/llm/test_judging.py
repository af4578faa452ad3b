"""The judge's prompt, reply parsing, position swaps and fix-up loop (no server needed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from judgeloop.llm.backends import ChatReply
from judgeloop.llm.config import Message
from judgeloop.llm.judge_prompt import build_judge_messages, describe_value, reply_skeleton
from judgeloop.llm.judging import (
    JudgeItem,
    JudgeSetup,
    ReplyError,
    check_reply,
    display_questions,
    extract_json,
    map_back,
    shown_to_real,
)
from judgeloop.questions.base import ItemContext, NormalizedAnswer, QuestionSpec, check_questions

LABELS = [{"value": "error", "label": "Error"}, {"value": "good", "label": "Good"}]
QUESTIONS, RUBRIC = check_questions(
    [
        {"key": "pref", "kind": "preference", "title": "Which is better?",
         "explanation": "required"},
        {"key": "rank", "kind": "ranking", "title": "Rank them", "config": {"allow_ties": True}},
        {"key": "score", "kind": "rating", "title": "Score", "per_candidate": True,
         "config": {"dimension": "quality"}},
        {"key": "tags", "kind": "choice", "title": "Tags", "required": False,
         "config": {"options": LABELS, "multiple": True, "min_selected": 0}},
        {"key": "marks", "kind": "spans", "title": "Mark errors", "required": False,
         "config": {"labels": LABELS, "targets": ["A", "B"]}},
        {"key": "facts", "kind": "claims", "title": "Claims of A", "required": False},
        {"key": "fix", "kind": "text", "title": "Rewrite A", "required": False,
         "config": {"mode": "rewrite"}},
        {"key": "runs", "kind": "code_run", "title": "Does it run?", "required": False},
    ],
    [{"key": "quality", "name": "Quality", "levels": {1: "bad", 2: "ok", 3: "great"}}],
)  # fmt: skip
KEYS = ("A", "B", "C")


def _spec(key: str) -> QuestionSpec:
    return next(q for q in QUESTIONS if q.key == key)


def test_each_kind_describes_its_value() -> None:
    text = {q.key: "\n".join(describe_value(q, KEYS)) for q in QUESTIONS}
    assert '"winner": "A" | "B" | "C" | "tie"' in text["pref"] and "3 = much better" in text["pref"]
    assert "best first" in text["rank"] and "nested list" in text["rank"]
    assert "from 1 to 3" in text["score"] and "`quality`" in text["score"]
    assert "a list of option values, at least 0 and at most 2" in text["tags"]
    assert '"error": Error' in text["tags"]
    assert '"target"' in text["marks"] and "end exclusive" in text["marks"]
    assert '"supported"' in text["facts"] and "answer A" in text["facts"]
    assert "rewritten in full" in text["fix"] and "of answer A" in text["fix"]
    assert '"correct"' in text["runs"]
    skeleton = reply_skeleton([_spec("pref"), _spec("score")], ["A", "B"])
    assert skeleton.count('"question": "score"') == 2 and '"explanation": "<why>"' in skeleton


def test_the_prompt_holds_guidelines_rubric_prompt_answers_and_questions() -> None:
    messages = build_judge_messages(
        questions=QUESTIONS,
        rubric=RUBRIC,
        guidelines="# Be fair\nRead everything.",
        prompt="What is 2+2?",
        conversation=None,
        answers=[("A", "4"), ("B", "5")],
    )
    assert messages[0]["role"] == "system"
    body = messages[1]["content"]
    for part in ("Read everything.", "- 3: great", "What is 2+2?", "## Answer B\n\n5"):
        assert part in body
    assert body.index("# Questions") < body.index("# Reply format")
    convo = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    only_user = build_judge_messages(
        questions=QUESTIONS[:1],
        rubric=[],
        guidelines="g",
        prompt="",
        conversation=[*convo, {"role": "user", "content": "and?"}],
        answers=[("A", "x"), ("B", "y")],
        with_system=False,
    )
    assert len(only_user) == 1 and "**assistant:** yo" in only_user[0]["content"]
    assert "# Rubric" not in only_user[0]["content"]


@pytest.mark.parametrize(
    "text",
    [
        '{"answers": []}',
        'Sure! ```json\n{"answers": []}\n``` Hope that helps.',
        'Here it is: {"answers": []} -- done',
        "[]",
    ],
)
def test_json_is_found_in_chatty_replies(text: str) -> None:
    value = extract_json(text)
    assert value in ({"answers": []}, [])


def test_unusable_replies_say_what_is_wrong() -> None:
    ctx = ItemContext(candidate_keys=("A", "B"), texts={"A": "4", "B": "5"})
    pref = [_spec("pref")]
    with pytest.raises(ReplyError, match="not valid JSON"):
        check_reply("A is better", pref, ctx)
    with pytest.raises(ReplyError, match="expected"):
        check_reply('{"answers": 3}', pref, ctx)
    with pytest.raises(ReplyError) as info:
        check_reply('{"answers": [{"question": "pref", "value": {"winner": "A"}}]}', pref, ctx)
    assert "answers.pref.value.strength" in str(info.value)
    assert "answers.pref.explanation" in str(info.value)
    good = '{"answers": [{"question": "pref", "value": {"winner": "A", "strength": 1}, '
    good += '"explanation": "right"}]}'
    assert check_reply(good, pref, ctx)[0].value == {"winner": "A", "strength": 1}


def test_swaps_map_every_key_back() -> None:
    assert shown_to_real(["A", "B"], False) == {"A": "A", "B": "B"}
    assert shown_to_real(["A", "B"], True) == {"A": "B", "B": "A"}
    mapping = shown_to_real(list(KEYS), True)
    assert mapping == {"A": "C", "B": "B", "C": "A"}
    answers = [
        NormalizedAnswer("pref", "", "preference", {"winner": "A", "strength": 2}),
        NormalizedAnswer("pref2", "", "preference", {"winner": "tie", "strength": None}),
        NormalizedAnswer("rank", "", "ranking", [["A", "B"], "C"]),
        NormalizedAnswer("score", "A", "rating", 3),
        NormalizedAnswer("marks", "", "spans", [{"target": "A", "start": 0, "end": 1}]),
        NormalizedAnswer("marks2", "", "spans", [{"target": "prompt", "start": 0, "end": 1}]),
    ]
    back = map_back(answers, mapping, KEYS)
    assert back[0].value == {"winner": "C", "strength": 2}
    assert back[1].value["winner"] == "tie"
    assert back[2].value == [["B", "C"], "A"]
    assert (back[3].candidate_key, back[3].value) == ("C", 3)
    assert back[4].value[0]["target"] == "C" and back[5].value[0]["target"] == "prompt"


def test_questions_naming_a_candidate_point_at_where_it_is_shown() -> None:
    real_to_shown = {"A": "B", "B": "A"}
    shown = {q.key: q for q in display_questions(QUESTIONS, real_to_shown, ["A", "B"])}
    assert shown["marks"].config["targets"] == ["B", "A"]
    assert shown["facts"].config["target"] == "B"
    assert shown["fix"].config["source"] == "B"
    assert shown["pref"].config == _spec("pref").config


class ScriptedJudge:
    """A backend that replays replies and remembers the conversations it got."""

    def __init__(self, replies: list[str | None]) -> None:
        self.replies = replies
        self.seen: list[list[Message]] = []

    async def complete(self, messages: Sequence[Message], *, seed: int | None = None) -> ChatReply:
        self.seen.append(list(messages))
        text = self.replies.pop(0)
        if text is None:
            return ChatReply(error="HTTP 503: down", attempts=5)
        return ChatReply(text=text, prompt_tokens=10, completion_tokens=5, attempts=1)

    async def aclose(self) -> None:
        return None


ITEM = JudgeItem(item_id=1, prompt="2+2?", conversation=(), candidates=(("A", "4"), ("B", "5")))
PREF = [_spec("pref")]


def _pref(winner: str) -> str:
    answer: dict[str, Any] = {"question": "pref", "value": {"winner": winner, "strength": 3}}
    return json.dumps({"answers": [{**answer, "explanation": "why"}]})


def _judge(backend: ScriptedJudge, swapped: bool, max_fixes: int = 2) -> Any:
    setup = JudgeSetup(
        questions=tuple(PREF), rubric=(), guidelines="g", swapped=swapped, max_fixes=max_fixes
    )
    return asyncio.run(setup.judge(backend, ITEM))


def test_a_swapped_item_shows_b_first_and_comes_back_in_real_keys() -> None:
    backend = ScriptedJudge([_pref("B")])
    outcome = _judge(backend, swapped=True)
    assert outcome.status == "ok" and outcome.answers[0].value["winner"] == "A"
    prompt = backend.seen[0][1]["content"]
    assert prompt.index("## Answer A\n\n5") < prompt.index("## Answer B\n\n4")


def test_bad_replies_are_sent_back_then_given_up_on() -> None:
    backend = ScriptedJudge(["nope", _pref("C"), _pref("A")])
    outcome = _judge(backend, swapped=False)
    assert (outcome.status, outcome.calls, outcome.prompt_tokens) == ("ok", 3, 30)
    assert "no candidate 'C'" in backend.seen[2][-1]["content"]
    assert [m["role"] for m in backend.seen[2][-4:]] == ["assistant", "user", "assistant", "user"]
    stubborn = _judge(ScriptedJudge(["nope", "nope"]), swapped=False, max_fixes=1)
    assert (stubborn.status, stubborn.calls, stubborn.replies) == ("unparseable", 2, ["nope"] * 2)
    down = _judge(ScriptedJudge([None]), swapped=False)
    assert (down.status, down.error) == ("failed", "HTTP 503: down")
