"""Label Studio: read its JSON export into item rows and annotations; build tasks and config.

Pure functions, no database. Names used on both sides:

- task data: ``prompt``, ``messages`` (multi-turn items), ``answer_<KEY>`` and
  ``model_<KEY>`` per candidate (``answer_A``, ``model_A``), ``external_id``,
  ``metadata`` and ``judgeloop_item_id``;
- control tags: a question ``q`` is named ``q``; asked per candidate it is ``q-<KEY>``
  (bound to ``answer_<KEY>``); a span question has one ``Labels`` per target,
  ``q-<target>``; a preference's strength is a second ``Choices`` named ``q-strength``.

Kinds carried: rating (``Rating``, shifted so that LS's 1 is the scale's minimum),
choice (``Choices``, the option value as alias), preference (``Choices`` A/B/.../tie),
text (``TextArea``) and spans (``Labels``). Other kinds are left out of the config and
their results are skipped on import. Annotations marked ``ground_truth`` carry an
item's gold answers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from judgeloop.errors import InvalidInput, RowError
from judgeloop.export.mapping import ColumnMapping, ItemDraft, row_to_item_draft
from judgeloop.export.rows import AnswerRecord, ItemRecord, SubmissionRecord
from judgeloop.questions.base import QuestionSpec, validate_answers

SUPPORTED_KINDS = ("rating", "choice", "preference", "text", "spans")
_ANSWER_KEY = re.compile(r"^answer_(.+)$")
_RESULT_TYPES = {
    "rating": "rating",
    "choice": "choices",
    "preference": "choices",
    "text": "textarea",
    "spans": "labels",
}


@dataclass
class LsAnnotation:
    """One Label Studio annotation turned into judgeloop answers."""

    annotator: str
    annotation_id: str
    seconds: float
    answers: list[dict[str, Any]]
    ground_truth: bool = False
    skipped_results: int = 0


@dataclass
class LsTask:
    """One Label Studio task: its data as an import row, and its annotations."""

    task_id: str
    data: dict[str, Any]
    annotations: list[LsAnnotation] = field(default_factory=list)


def text_name(target: str) -> str:
    """The name of the Text tag (and data key) showing `target`: prompt or a candidate."""
    return "prompt" if target == "prompt" else f"answer_{target}"


def task_row(data: Mapping[str, Any]) -> dict[str, Any]:
    """Turn task data written by `item_task` into a row the default ColumnMapping reads.

    ``text`` stands in for ``prompt`` (Label Studio's usual name) when there is none.
    """
    keys = [m.group(1) for k in data if (m := _ANSWER_KEY.match(k))]
    return {
        "prompt": data.get("prompt", data.get("text")),
        "messages": data.get("messages"),
        "candidates": [
            {"key": k, "text": data[f"answer_{k}"], "model": data.get(f"model_{k}")} for k in keys
        ],
        "external_id": data.get("external_id"),
        "metadata": data.get("metadata"),
    }


def parse_task(task: Mapping[str, Any], questions: Sequence[QuestionSpec]) -> LsTask:
    """Read one exported task; raises ValueError when it has no ``data`` object."""
    data = task.get("data")
    if not isinstance(data, Mapping):
        raise ValueError("a Label Studio task needs a 'data' object")
    parsed = LsTask(task_id=str(task.get("id", "")), data=dict(data))
    for index, ann in enumerate(task.get("annotations") or []):
        if not isinstance(ann, Mapping) or ann.get("was_cancelled"):
            continue
        answers, skipped = result_answers(ann.get("result") or [], questions)
        parsed.annotations.append(
            LsAnnotation(
                annotator=_annotator(ann.get("completed_by")),
                annotation_id=str(ann.get("id", index)),
                seconds=_seconds(ann.get("lead_time")),
                answers=answers,
                ground_truth=bool(ann.get("ground_truth")),
                skipped_results=skipped,
            )
        )
    return parsed


def _annotator(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("id", value.get("email"))
    return "" if value is None else str(value)


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(max(seconds, 0.0), 7 * 24 * 3600.0)


def result_answers(
    results: Sequence[Any], questions: Sequence[QuestionSpec]
) -> tuple[list[dict[str, Any]], int]:
    """Turn an annotation's results into answers ``{question, candidate, value}``.

    Only results whose ``from_name`` (before any ``-suffix``) is a question key of a
    supported kind are kept; returns the answers and how many results were skipped.
    """
    by_key = {q.key: q for q in questions if q.kind in SUPPORTED_KINDS}
    answers: dict[tuple[str, str], dict[str, Any]] = {}
    skipped = 0
    for result in results:
        name = str(result.get("from_name", "")) if isinstance(result, Mapping) else ""
        key, _, suffix = name.partition("-")
        spec = by_key.get(key)
        value = result.get("value") if spec is not None else None
        if spec is None or not isinstance(value, Mapping):
            skipped += 1
            continue
        try:
            _add_result(answers, spec, suffix, value)
        except (TypeError, ValueError, IndexError, KeyError):
            skipped += 1
    return list(answers.values()), skipped


def _add_result(
    answers: dict[tuple[str, str], dict[str, Any]],
    spec: QuestionSpec,
    suffix: str,
    value: Mapping[str, Any],
) -> None:
    """Merge one result into `answers`; raises (and changes nothing) when it is malformed."""
    candidate = suffix if spec.per_candidate else ""
    slot = answers.get((spec.key, candidate))
    before = slot["value"] if slot else None
    if spec.kind == "rating":
        after: Any = int(value["rating"]) + int(spec.config.get("min", 1)) - 1
    elif spec.kind == "choice":
        chosen = [str(c) for c in value["choices"]]
        after = chosen if spec.config.get("multiple") else chosen[0]
    elif spec.kind == "text":
        after = "\n".join(str(t) for t in value["text"])
    elif spec.kind == "preference":
        after = dict(before) if isinstance(before, dict) else {"winner": None}
        if suffix == "strength":
            after["strength"] = int(value["choices"][0])
        else:
            after["winner"] = str(value["choices"][0])
    else:
        targets = spec.config.get("targets") or ["A"]
        target = suffix if suffix and not spec.per_candidate else targets[0]
        span = {"target": target, "start": int(value["start"]), "end": int(value["end"])}
        span["label"] = str(value["labels"][0])
        after = [*(before or []), span]
    answers[(spec.key, candidate)] = {"question": spec.key, "candidate": candidate, "value": after}


@dataclass
class LsItem:
    """A task turned into an item draft, with the annotations to store as submissions."""

    draft: ItemDraft
    annotations: list[LsAnnotation]


_GOLD_KEY = "__label_studio_ground_truth__"


def task_to_item(
    task: Mapping[str, Any],
    *,
    mapping: ColumnMapping | None,
    questions: Sequence[QuestionSpec],
    line: int = 0,
) -> LsItem | list[RowError]:
    """Turn one exported task into an item draft and checked annotations, or its errors.

    Args:
        task: the task as exported by Label Studio (or by `item_task`).
        mapping: which data keys hold what; None reads the keys `item_task` writes.
        questions: the project's questions; annotations must answer them validly.
        line: the task's number in the file, copied into each RowError.
    """
    try:
        parsed = parse_task(task, questions)
    except ValueError as exc:
        return [RowError(line, "data", str(exc))]
    row = task_row(parsed.data) if mapping is None else dict(parsed.data)
    gold = [a for ann in parsed.annotations if ann.ground_truth for a in ann.answers]
    row[_GOLD_KEY] = gold or None
    item_mapping = (mapping or ColumnMapping()).model_copy(update={"gold": _GOLD_KEY})
    draft = row_to_item_draft(row, item_mapping, questions=questions, line=line)
    if isinstance(draft, list):
        return draft
    kept = [a for a in parsed.annotations if not a.ground_truth and a.annotator and a.answers]
    errors: list[RowError] = []
    for i, ann in enumerate(kept):
        try:
            validate_answers(questions, ann.answers, draft.context())
        except InvalidInput as exc:
            errors.extend(RowError(line, f"annotations.{i}.{r.field}", r.reason) for r in exc.rows)
    return errors or LsItem(draft, kept)


def label_config(
    questions: Sequence[QuestionSpec], candidate_keys: Sequence[str], *, multi_turn: bool = False
) -> str:
    """Return a Label Studio ``label_config`` (XML) showing the item and asking the questions."""
    lines = ["<View>", '  <Header value="Prompt"/>']
    if multi_turn:
        lines.append(
            '  <Paragraphs name="dialogue" value="$messages" layout="dialogue" '
            'nameKey="role" textKey="content"/>'
        )
    lines.append('  <Text name="prompt" value="$prompt"/>')
    for key in candidate_keys:
        lines.append(f"  <Header value={quoteattr(f'Answer {key}')}/>")
        lines.append(
            f"  <Text name={quoteattr(text_name(key))} value={quoteattr('$' + text_name(key))}/>"
        )
    for spec in questions:
        if spec.kind in SUPPORTED_KINDS:
            lines.append(f"  <Header value={quoteattr(spec.title)}/>")
            lines.extend("  " + tag for tag in _control_tags(spec, candidate_keys))
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def _control_tags(spec: QuestionSpec, candidate_keys: Sequence[str]) -> list[str]:
    if spec.kind == "spans":
        targets = spec.config.get("targets") or ["A"]
        labels = "".join(f"<Label value={quoteattr(o['value'])}/>" for o in spec.config["labels"])
        return [
            f"<Labels name={quoteattr(f'{spec.key}-{t}')} toName={quoteattr(text_name(t))}>"
            f"{labels}</Labels>"
            for t in targets
        ]
    if spec.per_candidate:
        return [
            _control(spec, f"{spec.key}-{k}", text_name(k), candidate_keys) for k in candidate_keys
        ]
    return [_control(spec, spec.key, "prompt", candidate_keys)]


def _control(spec: QuestionSpec, name: str, to: str, keys: Sequence[str]) -> str:
    attrs = f"name={quoteattr(name)} toName={quoteattr(to)}"
    config = spec.config
    if spec.kind == "rating":
        top = int(config.get("max", 5)) - int(config.get("min", 1)) + 1
        return f'<Rating {attrs} maxRating="{top}"/>'
    if spec.kind == "text":
        return f'<TextArea {attrs} maxSubmissions="1" editable="true"/>'
    if spec.kind == "choice":
        mode = "multiple" if config.get("multiple") else "single"
        options = "".join(
            f"<Choice value={quoteattr(o['label'])} alias={quoteattr(o['value'])}/>"
            for o in config["options"]
        )
        return f'<Choices {attrs} choice="{mode}">{options}</Choices>'
    winners = [*keys, *(["tie"] if config.get("allow_tie", True) else [])]
    options = "".join(f"<Choice value={quoteattr(w)}/>" for w in winners)
    tag = f'<Choices {attrs} choice="single">{options}</Choices>'
    levels = config.get("strength_levels", {1: "slightly better", 2: "better", 3: "much better"})
    if levels:
        strengths = "".join(
            f"<Choice value={quoteattr(str(text))} alias={quoteattr(str(k))}/>"
            for k, text in levels.items()
        )
        strength_name = quoteattr(name + "-strength")
        tag += (
            f'<Choices name={strength_name} toName="prompt" choice="single">{strengths}</Choices>'
        )
    return tag


def item_task(
    item: ItemRecord,
    submissions: Sequence[SubmissionRecord],
    questions: Sequence[QuestionSpec],
) -> dict[str, Any]:
    """Return the Label Studio task of one item, with its submissions as annotations."""
    data: dict[str, Any] = {"prompt": item.prompt}
    if item.messages:
        data["messages"] = item.messages
    for cand in item.candidates:
        data[text_name(cand.key)] = cand.text
        if cand.model:
            data[f"model_{cand.key}"] = cand.model
    data.update(
        {
            "external_id": item.external_id,
            "metadata": dict(item.metadata),
            "judgeloop_item_id": item.id,
        }
    )
    annotations = [
        {
            "id": sub.id,
            "completed_by": sub.worker_id,
            "result": results_of(sub.judgments, questions),
            "lead_time": sub.seconds_spent,
            "created_at": sub.created_at.isoformat(),
            "was_cancelled": False,
            "ground_truth": False,
        }
        for sub in submissions
    ]
    if item.gold:
        gold = {"result": results_of(item.gold, questions), "ground_truth": True}
        annotations.append({"id": f"gold-{item.id}", "completed_by": None, **gold})
    return {"id": item.id, "data": data, "annotations": annotations, "predictions": []}


def results_of(
    answers: Sequence[AnswerRecord], questions: Sequence[QuestionSpec]
) -> list[dict[str, Any]]:
    """Turn stored answers into Label Studio results (kinds it cannot show are left out)."""
    by_key = {q.key: q for q in questions if q.kind in SUPPORTED_KINDS}
    out: list[dict[str, Any]] = []
    for answer in answers:
        spec = by_key.get(answer.question_key)
        if spec is not None and answer.value is not None:
            out.extend(_results(spec, answer))
    return out


def _result(name: str, to: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex[:10],
        "from_name": name,
        "to_name": to,
        "type": _RESULT_TYPES[kind],
        "value": value,
        "origin": "manual",
    }


def _results(spec: QuestionSpec, answer: AnswerRecord) -> list[dict[str, Any]]:
    cand = answer.candidate_key
    name = f"{spec.key}-{cand}" if cand else spec.key
    to = text_name(cand) if cand else "prompt"
    value = answer.value
    if spec.kind == "rating":
        rating = int(value) - int(spec.config.get("min", 1)) + 1
        return [_result(name, to, "rating", {"rating": rating})]
    if spec.kind == "choice":
        chosen = value if isinstance(value, list) else [value]
        return [_result(name, to, "choice", {"choices": chosen})]
    if spec.kind == "text":
        return [_result(name, to, "text", {"text": [value]})]
    if spec.kind == "preference":
        out = [_result(name, to, "preference", {"choices": [value["winner"]]})]
        if value.get("strength") is not None:
            strength = {"choices": [str(value["strength"])]}
            out.append(_result(f"{name}-strength", "prompt", "preference", strength))
        return out
    return [
        _result(
            f"{spec.key}-{span['target']}",
            text_name(span["target"]),
            "spans",
            {
                "start": span["start"],
                "end": span["end"],
                "text": span.get("text", ""),
                "labels": [span["label"]],
            },
        )
        for span in value
    ]
