"""Label Studio: label configs, tasks out, tasks and annotations back in (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from judgeloop.errors import RowError
from judgeloop.export.labelstudio import (
    LsItem,
    item_task,
    label_config,
    parse_task,
    result_answers,
    task_to_item,
)
from judgeloop.export.mapping import ColumnMapping, content_hash
from judgeloop.export.rows import AnswerRecord, CandidateRecord, ItemRecord, SubmissionRecord
from judgeloop.questions.base import QuestionSpec, check_questions

RAW_QUESTIONS: list[dict[str, Any]] = [
    {"key": "quality", "kind": "rating", "title": "Quality", "per_candidate": True,
     "config": {"min": 0, "max": 4}},
    {"key": "pref", "kind": "preference", "title": "Which is better?"},
    {"key": "topic", "kind": "choice", "title": "Topic", "config": {"options": [
        {"value": "math", "label": "Mathematics"}, {"value": "code", "label": "Code"}]}},
    {"key": "flags", "kind": "choice", "title": "Flags", "required": False, "config": {
        "multiple": True, "options": [{"value": "unsafe", "label": "Unsafe"},
                                      {"value": "wrong", "label": "Wrong"}]}},
    {"key": "rewrite", "kind": "text", "title": "Rewrite B", "required": False},
    {"key": "errors", "kind": "spans", "title": "Mark errors", "required": False,
     "config": {"labels": [{"value": "error", "label": "Error"}], "targets": ["A", "B"]}},
]  # fmt: skip
QUESTIONS, _ = check_questions(RAW_QUESTIONS)

ITEM = ItemRecord(
    id=41,
    prompt="What is 2+2?",
    external_id="q41",
    metadata={"domain": "math"},
    candidates=[CandidateRecord("A", "It is 4.", "gpt4"), CandidateRecord("B", "5", None)],
)
ANSWERS = [
    AnswerRecord("quality", "A", 4),
    AnswerRecord("quality", "B", 0),
    AnswerRecord("pref", "", {"winner": "A", "strength": 3}),
    AnswerRecord("topic", "", "math"),
    AnswerRecord("flags", "", ["wrong"]),
    AnswerRecord("rewrite", "", "It is 4."),
    AnswerRecord(
        "errors", "", [{"target": "B", "start": 0, "end": 1, "label": "error", "text": "5"}]
    ),
]


def _submission(answers: list[AnswerRecord] = ANSWERS, sub_id: int = 9) -> SubmissionRecord:
    return SubmissionRecord(
        id=sub_id,
        item=ITEM,
        worker_id=5,
        guideline_version=1,
        seconds_spent=31.5,
        state="submitted",
        source="api",
        created_at=datetime(2025, 1, 2, tzinfo=UTC),
        judgments=answers,
    )


def test_label_config_is_xml_with_a_control_per_question() -> None:
    xml = label_config(QUESTIONS, ["A", "B"])
    root = ET.fromstring(xml)
    names = {el.get("name"): el.tag for el in root.iter() if el.get("name")}
    assert names["prompt"] == "Text" and names["answer_A"] == "Text"
    assert names["quality-A"] == "Rating" and names["quality-B"] == "Rating"
    assert root.find(".//Rating").get("maxRating") == "5"  # type: ignore[union-attr]
    assert names["pref"] == "Choices" and names["pref-strength"] == "Choices"
    assert names["topic"] == "Choices" and names["flags"] == "Choices"
    assert names["rewrite"] == "TextArea"
    assert names["errors-A"] == "Labels" and names["errors-B"] == "Labels"
    flags = root.find(".//Choices[@name='flags']")
    assert flags is not None and flags.get("choice") == "multiple"
    aliases = [c.get("alias") for c in root.findall(".//Choices[@name='topic']/Choice")]
    assert aliases == ["math", "code"]


def test_label_config_for_dialogues_escapes_titles() -> None:
    odd = [QuestionSpec(key="q", kind="text", title='Say "why" <now> & here')]
    xml = label_config(odd, ["A"], multi_turn=True)
    root = ET.fromstring(xml)
    assert root.find("Paragraphs") is not None
    assert 'Say "why" <now> & here' in [h.get("value") for h in root.findall("Header")]


def test_item_task_carries_data_and_annotations() -> None:
    task = item_task(ITEM, [_submission()], QUESTIONS)
    assert task["data"]["prompt"] == "What is 2+2?"
    assert task["data"]["answer_A"] == "It is 4." and task["data"]["model_A"] == "gpt4"
    assert "model_B" not in task["data"]
    ann = task["annotations"][0]
    assert ann["completed_by"] == 5 and ann["lead_time"] == 31.5
    by_name = {r["from_name"]: r for r in ann["result"]}
    assert by_name["quality-A"]["value"] == {"rating": 5}  # min 0 -> LS 1
    assert by_name["pref"]["value"] == {"choices": ["A"]}
    assert by_name["pref-strength"]["value"] == {"choices": ["3"]}
    assert by_name["errors-B"]["value"]["labels"] == ["error"]


def test_round_trip_keeps_items_and_answers() -> None:
    task = item_task(ITEM, [_submission()], QUESTIONS)
    result = task_to_item(task, mapping=None, questions=QUESTIONS, line=1)
    assert isinstance(result, LsItem)
    assert result.draft.prompt == ITEM.prompt and result.draft.external_id == "q41"
    assert [(c.key, c.text, c.model) for c in result.draft.candidates] == [
        ("A", "It is 4.", "gpt4"),
        ("B", "5", None),
    ]
    [ann] = result.annotations
    assert ann.annotator == "5" and ann.seconds == 31.5 and ann.skipped_results == 0
    got = {(a["question"], a["candidate"]): a["value"] for a in ann.answers}
    assert got[("quality", "A")] == 4 and got[("quality", "B")] == 0
    assert got[("pref", "")] == {"winner": "A", "strength": 3}
    assert got[("topic", "")] == "math" and got[("flags", "")] == ["wrong"]
    assert got[("rewrite", "")] == "It is 4."
    assert got[("errors", "")] == [{"target": "B", "start": 0, "end": 1, "label": "error"}]


def test_gold_goes_out_as_ground_truth_and_comes_back_as_gold() -> None:
    gold_item = ItemRecord(
        id=1, prompt=ITEM.prompt, candidates=ITEM.candidates, is_gold=True, gold=ANSWERS
    )
    task = item_task(gold_item, [], QUESTIONS)
    assert task["annotations"][0]["ground_truth"] is True
    result = task_to_item(task, mapping=None, questions=QUESTIONS)
    assert isinstance(result, LsItem)
    assert result.draft.is_gold and result.annotations == []
    assert {(g.question_key, g.candidate_key) for g in result.draft.gold} >= {("quality", "A")}


def test_unknown_results_are_skipped() -> None:
    results = [
        {"from_name": "sentiment", "value": {"choices": ["pos"]}},
        {"from_name": "quality-A", "value": {"rating": "x"}},
        "junk",
        {"from_name": "topic", "value": {"choices": ["code"]}},
    ]
    answers, skipped = result_answers(results, QUESTIONS)
    assert answers == [{"question": "topic", "candidate": "", "value": "code"}]
    assert skipped == 3


def test_generic_label_studio_task_with_a_mapping() -> None:
    task = {
        "id": 7,
        "data": {"text": "Is this fine?", "reply": "yes"},
        "annotations": [
            {"id": 1, "completed_by": {"id": 3, "email": "a@b.c"}, "lead_time": "4.5",
             "result": [{"from_name": "topic", "value": {"choices": ["code"]}}]},
            {"id": 2, "completed_by": 4, "was_cancelled": True, "result": []},
        ],
    }  # fmt: skip
    mapping = ColumnMapping(prompt="text", answers=["reply"])
    topic_only = [q for q in QUESTIONS if q.key == "topic"]
    result = task_to_item(task, mapping=mapping, questions=topic_only)
    assert isinstance(result, LsItem)
    assert result.draft.prompt == "Is this fine?"
    assert [a.annotator for a in result.annotations] == ["3"]
    assert result.annotations[0].seconds == 4.5
    parsed = parse_task(task, topic_only)
    assert parsed.task_id == "7"


def test_invalid_annotations_and_tasks_are_row_errors() -> None:
    bad = item_task(ITEM, [_submission([AnswerRecord("topic", "", "math")])], QUESTIONS)
    errors = task_to_item(bad, mapping=None, questions=QUESTIONS, line=3)
    assert isinstance(errors, list) and errors
    assert all(isinstance(e, RowError) and e.line == 3 for e in errors)
    assert any(e.field.startswith("annotations.0.answers.quality") for e in errors)
    assert task_to_item({"nodata": 1}, mapping=None, questions=QUESTIONS) == [
        RowError(0, "data", "a Label Studio task needs a 'data' object")
    ]


def test_exported_and_imported_hash_match() -> None:
    task = item_task(ITEM, [], QUESTIONS)
    result = task_to_item(task, mapping=None, questions=QUESTIONS)
    assert isinstance(result, LsItem)
    again = task_to_item(item_task(ITEM, [], QUESTIONS), mapping=None, questions=QUESTIONS)
    assert isinstance(again, LsItem)
    assert content_hash(result.draft) == content_hash(again.draft)
