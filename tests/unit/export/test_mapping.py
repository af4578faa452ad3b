"""Column mappings: rows -> item drafts, errors with fields, content hashes, gold answers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from judgeloop.errors import RowError
from judgeloop.export.mapping import (
    CandidateDraft,
    ColumnMapping,
    ItemDraft,
    content_hash,
    row_to_item_draft,
)
from judgeloop.export.rows import CandidateRecord, ItemRecord, item_row
from judgeloop.questions.base import QuestionSpec

QUESTIONS = [
    QuestionSpec(key="quality", kind="rating", title="Quality", per_candidate=True),
    QuestionSpec(
        key="pref", kind="preference", title="Which is better?", config={"strength_levels": {}}
    ),
]


def _draft(row: dict[str, object], mapping: ColumnMapping | None = None, **kw: object) -> ItemDraft:
    result = row_to_item_draft(row, mapping or ColumnMapping(), line=7, **kw)  # type: ignore[arg-type]
    assert isinstance(result, ItemDraft), result
    return result


def _errors(
    row: dict[str, object], mapping: ColumnMapping | None = None, **kw: object
) -> list[RowError]:
    result = row_to_item_draft(row, mapping or ColumnMapping(), line=7, **kw)  # type: ignore[arg-type]
    assert isinstance(result, list), result
    return result


def test_answer_columns_with_literal_models_and_metadata() -> None:
    mapping = ColumnMapping(
        prompt="instruction",
        answers=["out_a", "out_b"],
        models=["gpt4", "llama"],
        id="id",
        metadata=["dataset", "difficulty"],
    )
    draft = _draft(
        {"instruction": "Say hi", "out_a": "hi", "out_b": "hello", "id": 12, "dataset": "oasst"},
        mapping,
    )
    assert draft.prompt == "Say hi"
    assert draft.candidates == [
        CandidateDraft("A", "hi", "gpt4"),
        CandidateDraft("B", "hello", "llama"),
    ]
    assert draft.external_id == "12"
    assert draft.metadata == {"dataset": "oasst"}
    assert not draft.is_gold


def test_model_columns_and_custom_keys() -> None:
    mapping = ColumnMapping(
        answers=["a", "b"], model_columns=["ma", "mb"], candidate_keys=["left", "right"]
    )
    draft = _draft({"prompt": "p", "a": "x", "b": "y", "ma": "m1", "mb": ""}, mapping)
    assert draft.candidates == [
        CandidateDraft("left", "x", "m1"),
        CandidateDraft("right", "y", None),
    ]


def test_answers_list_of_strings_and_objects() -> None:
    draft = _draft({"prompt": "p", "candidates": ["x", {"text": "y", "model": "m"}]})
    assert draft.candidates == [CandidateDraft("A", "x", None), CandidateDraft("B", "y", "m")]
    csv_like = _draft({"prompt": "p", "candidates": '[{"key": "Z", "text": "t"}]'})
    assert csv_like.candidates == [CandidateDraft("Z", "t", None)]


def test_multi_turn_messages_give_the_last_user_turn_as_prompt() -> None:
    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how are you?"},
    ]
    draft = _draft({"messages": messages, "candidates": ["fine"]})
    assert draft.messages == messages
    assert draft.prompt == "how are you?"
    sharegpt = _draft({"messages": [{"from": "human", "value": "yo"}]})
    assert sharegpt.messages == [{"role": "user", "content": "yo"}]


def test_bad_messages_name_the_field() -> None:
    errors = _errors({"messages": [{"role": "user", "content": 3}, "x"]})
    fields = {e.field for e in errors}
    assert "messages.0.content" in fields and "messages.1" in fields
    assert all(e.line == 7 for e in errors)
    assert _errors({"messages": "[not json"})[0].reason.startswith("not valid JSON")


def test_missing_prompt_and_missing_explicit_columns() -> None:
    errors = _errors({"text": "x"})
    assert errors == [RowError(7, "prompt or messages", "missing column")]
    assert _errors({"prompt": "  "})[0].reason == "empty prompt"
    mapping = ColumnMapping(prompt="q", answers=["a", "b"])
    errors = _errors({"q": "x", "a": "y"}, mapping)
    assert errors == [RowError(7, "b", "missing column")]


def test_wrong_types_are_errors_not_tracebacks() -> None:
    assert _errors({"prompt": 5})[0].reason == "expected text"
    mapping = ColumnMapping(answers=["a"])
    assert _errors({"prompt": "p", "a": {"x": 1}}, mapping)[0].field == "a"
    assert _errors({"prompt": "p", "a": None}, mapping)[0].reason == "no answers in this row"
    assert _errors({"prompt": "p", "candidates": "x"})[0].field == "candidates"
    assert _errors({"prompt": "p", "candidates": [{"txt": 1}]})[0].field == "candidates.0"
    assert _errors({"prompt": "p", "external_id": "x" * 300})[0].field == "external_id"
    assert _errors({"prompt": "p", "metadata": [1]})[0].reason == "expected an object"
    dupes = _errors(
        {"prompt": "p", "candidates": [{"key": "A", "text": "1"}, {"key": "A", "text": "2"}]}
    )
    assert dupes[0].reason == "two answers have the same key"


def test_mapping_validation() -> None:
    with pytest.raises(ValidationError, match="prompt column or a messages column"):
        ColumnMapping(prompt=None, messages=None)
    with pytest.raises(ValidationError, match="not both"):
        ColumnMapping(answers=["a"], models=["m"], model_columns=["c"])
    with pytest.raises(ValidationError, match="one entry per answer column"):
        ColumnMapping(answers=["a", "b"], models=["m"])
    with pytest.raises(ValidationError, match="unique"):
        ColumnMapping(candidate_keys=["A", "A"])
    with pytest.raises(ValidationError, match="Extra inputs"):
        ColumnMapping(promt="x")  # type: ignore[call-arg]


def test_required_columns_are_the_explicit_ones() -> None:
    assert ColumnMapping().required_columns() == []
    mapping = ColumnMapping(prompt="q", answers=["a"], id="id", metadata=["domain"])
    assert mapping.required_columns() == ["a", "id", "q"]


def test_content_hash_covers_texts_and_models_only() -> None:
    base = _draft({"prompt": "p", "candidates": ["x", "y"], "external_id": "1"})
    same = _draft(
        {"prompt": "p", "candidates": [{"key": "K", "text": "x"}, "y"], "metadata": {"a": 1}}
    )
    other_model = _draft({"prompt": "p", "candidates": [{"text": "x", "model": "m"}, "y"]})
    other_text = _draft({"prompt": "p", "candidates": ["x", "z"]})
    assert content_hash(base) == content_hash(same)
    assert len({content_hash(base), content_hash(other_model), content_hash(other_text)}) == 3
    assert len(content_hash(base)) == 64


def test_gold_answers_are_validated_against_the_questions() -> None:
    row = {"prompt": "p", "candidates": ["x", "y"], "gold": {"quality": {"A": 5, "B": 2}}}
    draft = _draft(row, questions=QUESTIONS)
    assert draft.is_gold
    assert [(g.question_key, g.candidate_key, g.value) for g in draft.gold] == [
        ("quality", "A", 5),
        ("quality", "B", 2),
    ]
    assert "gold" not in draft.metadata
    as_list = dict(row, gold='[{"question": "pref", "value": {"winner": "B"}}]')
    assert _draft(as_list, questions=QUESTIONS).gold[0].value == {"winner": "B", "strength": None}
    bad = dict(row, gold={"quality": {"A": 9}})
    assert _errors(bad, questions=QUESTIONS)[0].field == "gold.answers.quality.A.value"
    unknown = dict(row, gold={"nope": 1})
    assert "no question 'nope'" in _errors(unknown, questions=QUESTIONS)[0].reason
    assert not _draft(dict(row, gold=[]), questions=QUESTIONS).is_gold


def test_exported_item_rows_read_back_with_the_default_mapping() -> None:
    record = ItemRecord(
        id=3,
        prompt="how?",
        external_id="q-3",
        messages=[{"role": "user", "content": "how?"}],
        metadata={"domain": "math", "n": [1, 2]},
        candidates=[CandidateRecord("A", "like this", "gpt4"), CandidateRecord("B", "no", None)],
    )
    draft = _draft(item_row(record))
    assert draft.prompt == "how?" and draft.external_id == "q-3"
    assert draft.messages == record.messages
    assert draft.metadata == record.metadata
    assert draft.candidates == [
        CandidateDraft("A", "like this", "gpt4"),
        CandidateDraft("B", "no", None),
    ]


def test_nul_characters_are_refused() -> None:
    errors = _errors({"prompt": "a\x00b", "candidates": ["ok", "x\x00"]})
    assert [e.field for e in errors] == ["prompt", "answers.B"]
    assert "NUL" in errors[0].reason
