"""choice: one or several options from a fixed list."""

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
from judgeloop.questions.choice import ChoiceConfig

CTX = ItemContext(("A",))
VALUES = ["red", "green", "blue", "black"]
OPTIONS = [{"value": v, "label": v.title()} for v in VALUES]


def check(value: Any, **config: Any) -> Any:
    cfg = ChoiceConfig.model_validate({"options": OPTIONS, **config})
    return get_kind("choice").validate_answer(cfg, value, CTX)


def error(value: Any, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, **config)
    return err.value


def test_single_choice() -> None:
    assert check("green") == "green"


@pytest.mark.parametrize("value", [None, 3, ["green"], {"value": "green"}])
def test_single_choice_needs_a_string(value: Any) -> None:
    err = error(value)
    assert err.field == ""
    assert "choose one of red, green, blue, black" in err.reason


def test_unknown_option_names_value_and_allowed() -> None:
    err = error("purple")
    assert err.field == ""
    assert err.reason == "unknown option 'purple' (allowed: red, green, blue, black)"


def test_multiple_is_sorted_in_option_order() -> None:
    assert check(["black", "red", "blue"], multiple=True) == ["red", "blue", "black"]


def test_multiple_errors_name_the_index() -> None:
    assert error(["red", "pink"], multiple=True).field == "1"
    assert "unknown option 'pink'" in error(["red", "pink"], multiple=True).reason
    dup = error(["red", "blue", "red"], multiple=True)
    assert (dup.field, dup.reason) == ("2", "option 'red' is chosen twice")
    assert error(["red", 7], multiple=True).field == "1"
    assert error("red", multiple=True).reason == "expected a list of option values"


def test_multiple_counts() -> None:
    few = error(["red"], multiple=True, min_selected=2)
    assert (few.field, few.reason) == ("", "choose at least 2 option(s); 1 chosen")
    many = error(VALUES, multiple=True, max_selected=3)
    assert many.reason == "choose at most 3 option(s); 4 chosen"
    assert error([], multiple=True).reason == "choose at least 1 option(s); 0 chosen"
    assert check([], multiple=True, min_selected=0) == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"options": OPTIONS[:1]}, "at least 2"),
        ({"options": [*OPTIONS, {"value": "red", "label": "Again"}]}, "repeated: red"),
        ({"options": OPTIONS, "max_selected": 2}, "set multiple = true"),
        ({"options": OPTIONS, "multiple": True, "max_selected": 9}, "more than the 4 options"),
        ({"options": OPTIONS, "multiple": True, "min_selected": 3, "max_selected": 2}, "min_sel"),
        ({"options": [{"value": " x", "label": "X"}, OPTIONS[0]]}, "whitespace"),
        ({"options": OPTIONS, "colour": True}, "Extra inputs"),
    ],
)
def test_bad_configs(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ChoiceConfig.model_validate(config)


@given(st.sets(st.sampled_from(VALUES), min_size=1))
def test_any_subset_accepted_in_option_order(chosen: set[str]) -> None:
    result = check(sorted(chosen), multiple=True)
    assert result == [v for v in VALUES if v in chosen]


@given(st.text().filter(lambda s: s not in VALUES))
def test_any_unknown_value_rejected(value: str) -> None:
    assert "unknown option" in error(value).reason


def test_full_error_path() -> None:
    specs, _ = check_questions(
        [
            {
                "key": "colour",
                "kind": "choice",
                "title": "Which colours?",
                "config": {"options": OPTIONS, "multiple": True},
            }
        ]
    )
    with pytest.raises(InvalidInput) as err:
        validate_answers(specs, [{"question": "colour", "value": ["red", "mauve"]}], CTX)
    assert [row.field for row in err.value.rows] == ["answers.colour.value.1"]
