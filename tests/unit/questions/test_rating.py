"""rating: scores on a described scale."""

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
    QuestionSpec,
    check_questions,
    get_kind,
    validate_answers,
)
from judgeloop.questions.rating import RatingConfig

CTX = ItemContext(("A", "B"))


def check(value: Any, **config: Any) -> Any:
    return get_kind("rating").validate_answer(RatingConfig(**config), value, CTX)


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (5, 5), ("3", 3), (4.0, 4), (" 2 ", 2)])
def test_good_scores(value: Any, expected: int) -> None:
    assert check(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (0, "outside the scale 1 to 5"),
        (6, "outside the scale 1 to 5"),
        (2.5, "not a whole score"),
        ("great", "not a number"),
        (None, "expected a score"),
        (True, "expected a score"),
        ([3], "not a number"),
        ("nan", "not a number"),
        (float("inf"), "not a number"),
        (10**400, "not a number"),
    ],
)
def test_bad_scores(value: Any, reason: str) -> None:
    with pytest.raises(AnswerError) as err:
        check(value)
    assert err.value.field == ""
    assert reason in err.value.reason


def test_config_rejects_inverted_scale_and_stray_levels() -> None:
    with pytest.raises(ValidationError, match="greater than min"):
        RatingConfig(min=5, max=1)
    with pytest.raises(ValidationError, match="outside the scale"):
        RatingConfig(min=1, max=3, levels={4: "too far"})


@given(st.integers(-50, 50), st.integers(1, 100), st.data())
def test_any_in_range_score_accepted(low: int, span: int, data: st.DataObject) -> None:
    score = data.draw(st.integers(low, low + span))
    assert check(score, min=low, max=low + span) == score
    assert check(str(score), min=low, max=low + span) == score


@given(st.integers(-50, 50), st.integers(1, 100), st.data())
def test_any_out_of_range_score_rejected(low: int, span: int, data: st.DataObject) -> None:
    score = data.draw(st.integers(max_value=low - 1) | st.integers(min_value=low + span + 1))
    with pytest.raises(AnswerError, match="outside the scale"):
        check(score, min=low, max=low + span)


@given(
    st.one_of(
        st.text(), st.floats(), st.lists(st.integers()), st.dictionaries(st.text(), st.integers())
    )
)
def test_never_crashes_with_anything_but_answer_error(value: Any) -> None:
    try:
        result = check(value)
    except AnswerError:
        return
    assert 1 <= result <= 5


def _specs() -> list[QuestionSpec]:
    specs, _ = check_questions(
        [
            {
                "key": "helpfulness",
                "kind": "rating",
                "title": "How helpful?",
                "per_candidate": True,
                "config": {"dimension": "helpfulness"},
            }
        ],
        [{"key": "helpfulness", "name": "Helpfulness", "levels": {1: "no", 2: "some", 3: "yes"}}],
    )
    return specs


def test_dimension_fills_levels_from_rubric() -> None:
    config = _specs()[0].parsed_config()
    assert (config.min, config.max) == (1, 3)
    assert config.levels[2] == "some"


def test_full_error_path_names_question_candidate_and_value() -> None:
    answers = [
        {"question": "helpfulness", "candidate": "A", "value": 9},
        {"question": "helpfulness", "candidate": "B", "value": 2},
    ]
    with pytest.raises(InvalidInput) as err:
        validate_answers(_specs(), answers, CTX)
    fields = {row.field: row.reason for row in err.value.rows}
    assert fields == {"answers.helpfulness.A.value": "score 9 is outside the scale 1 to 3"}


def test_validate_answers_normalizes() -> None:
    answers: list[dict[str, Any]] = [
        {"question": "helpfulness", "candidate": "A", "value": "3"},
        {"question": "helpfulness", "candidate": "B", "value": 1.0},
    ]
    out = validate_answers(_specs(), answers, CTX)
    assert [(a.candidate_key, a.value) for a in out] == [("A", 3), ("B", 1)]
