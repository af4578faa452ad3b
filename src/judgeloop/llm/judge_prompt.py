"""The LLM judge's prompt: the same guidelines, rubric, prompt and answers people see.

`build_judge_messages` writes one user message holding the project's guidelines, its
rubric (every level described), the item's prompt or conversation, the candidate answers
under their keys, and each question with the exact shape of the value its kind accepts
(`describe_value`), then asks for one JSON object in the shape `validate_answers` takes:
``{"answers": [{"question", "candidate"?, "value", "explanation"?}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from judgeloop.llm.config import Message
from judgeloop.questions.base import QuestionSpec, RubricDimension

JUDGE_SYSTEM = (
    "You are a meticulous reviewer of AI model answers. You follow the project's "
    "guidelines exactly, judge only the text in front of you, and reply with valid JSON."
)
INTRO = (
    "Judge the answers below exactly as this project's human reviewers do: read the "
    "guidelines, the prompt and every answer in full, then answer each question."
)


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _levels(levels: dict[int, str], indent: str = "     ") -> list[str]:
    return [f"{indent}{score} = {text}" for score, text in sorted(levels.items())]


def _rating(config: Any) -> list[str]:
    scale = f"an integer from {config.min} to {config.max}"
    if config.dimension:
        return [f"{scale}, as the rubric describes `{config.dimension}`"]
    return [scale, *_levels(config.levels)]


def _choice(config: Any) -> list[str]:
    options = [
        f"     {_q(o.value)}: {o.label}" + (f" ({o.description})" if o.description else "")
        for o in config.options
    ]
    if not config.multiple:
        return ["one option value (a string), one of:", *options]
    most = config.max_selected or len(config.options)
    return [
        f"a list of option values, at least {config.min_selected} and at most {most}, from:",
        *options,
    ]


def _preference(config: Any, keys: Sequence[str]) -> list[str]:
    winners = " | ".join(_q(k) for k in keys) + (' | "tie"' if config.allow_tie else "")
    if not config.strength_levels:
        return [f'{{"winner": {winners}}} (no strength)']
    lines = [f'{{"winner": {winners}, "strength": <how much better>}} where strength is one of:']
    lines += _levels(config.strength_levels)
    if config.allow_tie:
        lines.append('     For a tie give "strength": null.')
    return lines


def _ranking(config: Any, keys: Sequence[str]) -> list[str]:
    example = json.dumps(list(reversed(keys)))
    line = f"a list of every answer key, best first, each exactly once, e.g. {example}"
    if config.allow_ties:
        line += '; tied answers may share a place as a nested list, e.g. [["A", "B"], "C"]'
    return [line]


def _text(config: Any, keys: Sequence[str]) -> list[str]:
    what = {
        "explanation": "your explanation",
        "rewrite": "the corrected answer, rewritten in full (not identical to the original)",
        "ideal_answer": "the ideal answer to the prompt, written in full",
        "prompt": "a prompt",
        "translation": "the translation",
        "free": "your text",
    }[config.mode]
    if config.mode == "rewrite":
        source = config.source or (keys[0] if keys else "")
        what += f" of answer {source}"
    return [f"a string: {what}; {config.min_length} to {config.max_length} characters"]


def _spans(config: Any) -> list[str]:
    labels = ", ".join(_q(o.value) for o in config.labels)
    targets = ", ".join(_q(t) for t in config.targets)
    return [
        'a list of {"target", "start", "end", "label", "text"} objects (an empty list when '
        "nothing needs highlighting):",
        f"     target: one of {targets} (the prompt or an answer key); label: one of {labels};",
        "     start/end: character offsets into that text, end exclusive; text: exactly the "
        "characters from start to end.",
    ]


def _claims(config: Any) -> list[str]:
    verdicts = ", ".join(_q(v) for v in config.verdicts)
    needs = ", ".join(_q(v) for v in config.require_source_for) or "none"
    return [
        f'a list of {{"claim", "verdict", "source", "note"}} objects about answer {config.target}:',
        f"     verdict: one of {verdicts}; source: an http(s) URL (required for: {needs}).",
    ]


def _code_run(config: Any) -> list[str]:
    verdicts = ", ".join(_q(v) for v in config.verdicts)
    return [f'{{"verdict": one of {verdicts}}}']


def describe_value(spec: QuestionSpec, keys: Sequence[str]) -> list[str]:
    """Describe, in lines of text, the JSON value a question's kind accepts."""
    config = spec.parsed_config()
    kind = spec.kind
    if kind == "rating":
        return _rating(config)
    if kind == "choice":
        return _choice(config)
    if kind == "preference":
        return _preference(config, keys)
    if kind == "ranking":
        return _ranking(config, keys)
    if kind == "text":
        return _text(config, keys)
    if kind == "spans":
        return _spans(config)
    if kind == "claims":
        return _claims(config)
    if kind == "code_run":
        return _code_run(config)
    return [f"a value for question kind {kind!r} with configuration {json.dumps(spec.config)}"]


def describe_question(number: int, spec: QuestionSpec, keys: Sequence[str]) -> list[str]:
    """The lines that present one question: title, help, scope, value and explanation."""
    scope = f"once for EACH answer ({', '.join(keys)})" if spec.per_candidate else "once"
    need = "required" if spec.required else "optional, but please answer it"
    lines = [f"{number}. `{spec.key}`: {spec.title} [{spec.kind}; answer {scope}; {need}]"]
    if spec.help:
        lines.append(f"   {spec.help}")
    value = describe_value(spec, keys)
    lines.append(f"   value: {value[0]}")
    lines.extend(value[1:])
    if spec.explanation != "none":
        lines.append(f'   "explanation": a short reason ({spec.explanation}).')
    return lines


def rubric_section(rubric: Sequence[RubricDimension]) -> list[str]:
    """The rubric as text: each dimension, its description and every level."""
    lines: list[str] = []
    for dim in rubric:
        lines.append(f"## {dim.name} (`{dim.key}`)")
        if dim.description:
            lines.append(dim.description)
        lines += [f"- {score}: {text}" for score, text in sorted(dim.levels.items())]
        lines.append("")
    return lines


def reply_skeleton(questions: Sequence[QuestionSpec], keys: Sequence[str]) -> str:
    """The reply's shape, one entry per (question, answer) asked, values left as <...>."""
    entries = []
    for spec in questions:
        for cand in keys if spec.per_candidate else [""]:
            parts = [f'"question": {_q(spec.key)}']
            if cand:
                parts.append(f'"candidate": {_q(cand)}')
            parts.append('"value": <see question>')
            if spec.explanation != "none":
                parts.append('"explanation": "<why>"')
            entries.append("  {" + ", ".join(parts) + "}")
    return '{"answers": [\n' + ",\n".join(entries) + "\n]}"


def _conversation(prompt: str, conversation: Sequence[Message] | None) -> list[str]:
    if not conversation or len(conversation) <= 1:
        return [prompt]
    return [f"**{m['role']}:** {m['content']}" for m in conversation]


def build_judge_messages(
    *,
    questions: Sequence[QuestionSpec],
    rubric: Sequence[RubricDimension],
    guidelines: str,
    prompt: str,
    conversation: Sequence[Message] | None,
    answers: Sequence[tuple[str, str]],
    with_system: bool = True,
) -> list[Message]:
    """Build the judge's messages for one item.

    Args:
        questions: The questions as the judge should see them (see `display_questions`).
        rubric: The project's rubric dimensions.
        guidelines: The project's current guidelines (Markdown).
        prompt: The item's prompt.
        conversation: The item's messages, when it is a conversation.
        answers: (key shown, text) of each candidate, in the order shown.
        with_system: Whether to start with judgeloop's judge system message (leave it
            out when the model version has a system prompt of its own).

    Returns:
        Chat messages: the system message (unless left out) and one user message.
    """
    keys = [k for k, _ in answers]
    lines = [INTRO, "", "# Guidelines", "", guidelines.strip(), ""]
    if rubric:
        lines += ["# Rubric", "", *rubric_section(rubric)]
    lines += ["# The prompt", "", *_conversation(prompt, conversation), "", "# The answers", ""]
    for key, text in answers:
        lines += [f"## Answer {key}", "", text, ""]
    lines += ["# Questions", ""]
    for number, spec in enumerate(questions, start=1):
        lines += describe_question(number, spec, keys)
    lines += [
        "",
        "# Reply format",
        "",
        "Reply with one JSON object and nothing else, one entry per question (and per answer "
        "for questions asked for each answer), in this shape:",
        "",
        reply_skeleton(questions, keys),
    ]
    user: Message = {"role": "user", "content": "\n".join(lines)}
    return [{"role": "system", "content": JUDGE_SYSTEM}, user] if with_system else [user]


def fix_message(errors: str) -> str:
    """The follow-up that asks the judge to correct an unusable reply."""
    return (
        "Your reply could not be used:\n"
        f"{errors}\n"
        "Reply again with the corrected JSON object only, in the same shape."
    )
