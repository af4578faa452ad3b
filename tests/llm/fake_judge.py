"""A scripted judge for the fake server: reads judgeloop's judge prompt, answers in JSON.

`fake_judge()` returns a responder for `ServerState.responder`. It finds the answers
(``## Answer X``) and the questions (``1. `key`: title [kind; answer once|once for EACH
answer; ...]``) in the prompt and answers every question: the "best" answer is the one
whose text contains `prefer` (or, for a position-biased judge, whichever is shown
first), rated at the top of the scale, the others at the bottom.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

ANSWER = re.compile(r"^## Answer (\S+)\n\n(.*?)(?=\n\n## Answer |\n\n# Questions)", re.M | re.S)
QUESTION = re.compile(r"^\d+\. `([a-z0-9_]+)`: .*? \[(\w+); answer (once for EACH answer|once)")
RANGE = re.compile(r"an integer from (-?\d+) to (-?\d+)")
OPTION = re.compile(r'^\s+"([^"]+)":', re.M)


def judge_prompt_of(body: dict[str, Any]) -> str:
    """The judge prompt: the first user message of the conversation."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def shown_answers(prompt: str) -> dict[str, str]:
    """Key shown -> text shown, in order."""
    return dict(ANSWER.findall(prompt))


def _questions(prompt: str) -> list[tuple[str, str, bool, str]]:
    section = prompt.split("# Questions", 1)[1].split("# Reply format", 1)[0]
    blocks = re.split(r"\n(?=\d+\. `)", section.strip())
    out = []
    for block in blocks:
        match = QUESTION.match(block)
        if match:
            out.append((match[1], match[2], match[3] != "once", block))
    return out


def _value(kind: str, block: str, keys: list[str], best: str, cand: str) -> Any:
    if kind == "rating":
        low, high = (int(x) for x in RANGE.findall(block)[0])
        return high if cand == best else low
    if kind == "preference":
        return {"winner": best, "strength": 2}
    if kind == "ranking":
        return [best, *(k for k in keys if k != best)]
    if kind == "choice":
        first = OPTION.findall(block)[0]
        return [first] if "a list of option values" in block else first
    if kind == "text":
        return "The better answer is correct and follows the instructions."
    if kind == "code_run":
        return {"verdict": "correct"}
    return []


def fake_judge(prefer: str = "correct", biased: bool = False) -> Callable[[dict[str, Any]], str]:
    """A responder that judges like a (possibly position-biased) reviewer."""

    def respond(body: dict[str, Any]) -> str:
        prompt = judge_prompt_of(body)
        answers = shown_answers(prompt)
        keys = list(answers)
        best = (
            keys[0]
            if biased or not keys
            else next((k for k, text in answers.items() if prefer in text), keys[0])
        )
        entries = []
        for key, kind, per_candidate, block in _questions(prompt):
            for cand in keys if per_candidate else [""]:
                entry: dict[str, Any] = {
                    "question": key,
                    "value": _value(kind, block, keys, best, cand),
                }
                if cand:
                    entry["candidate"] = cand
                if '"explanation"' in block:
                    entry["explanation"] = f"{best} is better."
                entries.append(entry)
        return json.dumps({"answers": entries})

    return respond
