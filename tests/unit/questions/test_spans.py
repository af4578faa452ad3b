"""spans: labelled highlights on the prompt or a candidate's text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from judgeloop.errors import InvalidInput
from judgeloop.questions.base import (
    AnswerError,
    ItemContext,
    check_questions,
    get_kind,
    validate_answers,
)
from judgeloop.questions.spans import SpansConfig

TEXT_A = "The Eiffel Tower is in Berlin. It was built in 1889."
CTX = ItemContext(("A", "B"), {"prompt": "Where is the Eiffel Tower?", "A": TEXT_A, "B": "Paris"})
LABELS = [{"value": "error", "label": "Error"}, {"value": "good", "label": "Good"}]


def check(value: Any, ctx: ItemContext = CTX, **config: Any) -> Any:
    cfg = SpansConfig.model_validate({"labels": LABELS, **config})
    return get_kind("spans").validate_answer(cfg, value, ctx)


def error(value: Any, ctx: ItemContext = CTX, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, ctx, **config)
    return err.value


def span(start: int, end: int, label: str = "error", **extra: Any) -> dict[str, Any]:
    return {"target": "A", "start": start, "end": end, "label": label, **extra}


def test_sorted_and_text_filled() -> None:
    result = check([span(31, 52, "good"), {"start": 23, "end": 29, "label": "error"}])
    assert result == [
        {"target": "A", "start": 23, "end": 29, "label": "error", "text": "Berlin"},
        {"target": "A", "start": 31, "end": 52, "label": "good", "text": TEXT_A[31:52]},
    ]


def test_empty_list_means_nothing_to_highlight() -> None:
    assert check([]) == []


def test_given_text_must_match() -> None:
    assert check([span(23, 29, text="Berlin")])[0]["text"] == "Berlin"
    err = error([span(0, 3), span(23, 29, text="Paris")])
    assert err.field == "1.text"
    assert "does not match characters 23 to 29 of A (expected 'Berlin')" in err.reason


@pytest.mark.parametrize(
    ("spans", "field", "reason"),
    [
        ([span(0, 3), span(5, 99)], "1.end", "span 1: end 99 is beyond the text's 52 characters"),
        ([span(-1, 3)], "0.start", "span 0: start -1 is negative"),
        ([span(5, 5)], "0.end", "span 0: end 5 must be after start 5"),
        ([span(0, 3, "typo")], "0.label", "span 0: unknown label 'typo' (allowed: error, good)"),
        ([span(0, 3) | {"target": "B"}], "0.target", "target 'B' may not be highlighted"),
        ([span(0, 3) | {"start": "0"}], "0.start", "expected a whole-number offset"),
        ([span(0, 3) | {"end": 3.0}], "0.end", "expected a whole-number offset"),
        ([span(0, 3) | {"colour": "red"}], "0.colour", "unknown field 'colour'"),
        ([span(0, 10), span(5, 12)], "1", "span 1 overlaps span 0 on A (characters 5 to 10)"),
        (["0-3"], "0", "expected"),
        ({"start": 0}, "", "expected a list of spans"),
    ],
)
def test_bad_spans(spans: Any, field: str, reason: str) -> None:
    err = error(spans)
    assert err.field == field
    assert reason in err.reason


def test_overlap_allowed_when_configured() -> None:
    result = check([span(5, 12), span(0, 10)], allow_overlap=True)
    assert [(s["start"], s["end"]) for s in result] == [(0, 10), (5, 12)]


def test_nested_overlap_detected_after_long_span() -> None:
    err = error([span(0, 40), span(10, 12), span(30, 35)])
    assert err.field == "1"


def test_several_targets() -> None:
    result = check(
        [{"target": "prompt", "start": 13, "end": 25, "label": "good"}, span(0, 3)],
        targets=["A", "prompt"],
    )
    assert [s["target"] for s in result] == ["A", "prompt"]
    assert result[1]["text"] == "Eiffel Tower"
    missing = error([{"start": 0, "end": 1, "label": "good"}], targets=["A", "prompt"])
    assert missing.field == "0.target"


def test_target_text_missing_from_item() -> None:
    err = error([span(0, 1)], ItemContext(("A",), {}))
    assert (err.field, err.reason) == ("0.target", "span 0: this item has no text 'A'")


@pytest.mark.parametrize(
    "config",
    [
        {"labels": []},
        {"labels": [*LABELS, {"value": "error", "label": "Again"}]},
        {"labels": LABELS, "targets": []},
        {"labels": LABELS, "targets": ["A", "A"]},
        {"labels": LABELS, "targets": [""]},
    ],
)
def test_bad_configs(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SpansConfig.model_validate(config)


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    text = draw(st.text(min_size=1, max_size=200))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), min_size=2, max_size=12)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    spans = [span(a, b, draw(st.sampled_from(["error", "good"]))) for a, b in pairs]
    return text, draw(st.permutations(spans))


@given(text_and_spans())
def test_random_valid_spans_accepted(case: tuple[str, list[dict[str, Any]]]) -> None:
    text, spans = case
    result = check(spans, ItemContext(("A",), {"A": text}))
    assert [(s["start"], s["end"]) for s in result] == sorted((s["start"], s["end"]) for s in spans)
    assert all(s["text"] == text[s["start"] : s["end"]] for s in result)


@given(st.text(max_size=100), st.integers(0, 200), st.integers(1, 100))
def test_spans_beyond_the_text_rejected(text: str, start: int, extra: int) -> None:
    end = max(len(text), start) + extra
    err = error([span(start, end)], ItemContext(("A",), {"A": text}))
    assert err.field == "0.end"
    assert f"beyond the text's {len(text)} characters" in err.reason


def test_full_error_path() -> None:
    specs, _ = check_questions(
        [{"key": "errors", "kind": "spans", "title": "Mark errors", "config": {"labels": LABELS}}]
    )
    answers = [{"question": "errors", "value": [span(0, 3), span(4, 10), span(40, 950)]}]
    with pytest.raises(InvalidInput) as err:
        validate_answers(specs, answers, CTX)
    assert [(row.field, row.reason) for row in err.value.rows] == [
        ("answers.errors.value.2.end", "span 2: end 950 is beyond the text's 52 characters")
    ]
