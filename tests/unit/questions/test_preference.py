"""preference: which candidate is better, by how much, or a tie."""

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
from judgeloop.questions.preference import PreferenceConfig

AB = ItemContext(("A", "B"))


def check(value: Any, ctx: ItemContext = AB, **config: Any) -> Any:
    return get_kind("preference").validate_answer(PreferenceConfig(**config), value, ctx)


def error(value: Any, ctx: ItemContext = AB, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, ctx, **config)
    return err.value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"winner": "A", "strength": 3}, {"winner": "A", "strength": 3}),
        ({"winner": "B", "strength": "1"}, {"winner": "B", "strength": 1}),
        ({"winner": "tie"}, {"winner": "tie", "strength": None}),
        ({"winner": "tie", "strength": None}, {"winner": "tie", "strength": None}),
    ],
)
def test_good_answers(value: Any, expected: Any) -> None:
    assert check(value) == expected


def test_winner_outside_candidates() -> None:
    err = error({"winner": "C", "strength": 1})
    assert (err.field, err.reason) == ("winner", "no candidate 'C' in this item (it has A, B)")


@pytest.mark.parametrize(
    ("value", "config", "field", "reason"),
    [
        ({"winner": "A"}, {}, "strength", "choose how much better: 1 (slightly better)"),
        ({"winner": "A", "strength": 4}, {}, "strength", "4 is not a strength level"),
        ({"winner": "A", "strength": True}, {}, "strength", "not a strength level"),
        ({"winner": "A", "strength": "²"}, {}, "strength", "not a strength level"),
        ({"winner": "tie", "strength": 2}, {}, "strength", "a tie has no strength"),
        ({"winner": "tie"}, {"allow_tie": False}, "winner", "a tie is not allowed here"),
        ({"winner": "A", "strength": 1}, {"strength_levels": {}}, "strength", "asks no strength"),
        ({"strength": 1}, {}, "winner", "name the better candidate: A, B or 'tie'"),
        ({"winner": 1}, {}, "winner", "name the better candidate"),
        ({"winner": "A", "strength": 1, "why": "x"}, {}, "why", "unknown field"),
        ("A", {}, "", "a bare winner is accepted only when no strength is asked"),
        (["A"], {}, "", "expected"),
    ],
)
def test_bad_answers(value: Any, config: dict[str, Any], field: str, reason: str) -> None:
    err = error(value, **config)
    assert err.field == field
    assert reason in err.reason


def test_bare_string_shorthand_without_strength() -> None:
    assert check("B", strength_levels={}) == {"winner": "B", "strength": None}
    assert check("tie", strength_levels={}) == {"winner": "tie", "strength": None}
    assert error("C", strength_levels={}).field == "winner"


def test_needs_two_candidates() -> None:
    err = error({"winner": "A", "strength": 1}, ItemContext(("A",)))
    assert err.reason == "a preference needs at least 2 candidates; this item has 1"


def test_more_than_two_candidates() -> None:
    ctx = ItemContext(("A", "B", "C"))
    assert check({"winner": "C", "strength": 2}, ctx)["winner"] == "C"


def test_custom_strengths_from_toml_style_keys() -> None:
    config = PreferenceConfig.model_validate({"strength_levels": {"1": "better", "2": "far"}})
    assert config.strength_levels == {1: "better", 2: "far"}
    with pytest.raises(ValidationError, match="1 or more"):
        PreferenceConfig(strength_levels={0: "same"})
    with pytest.raises(ValidationError, match="no description"):
        PreferenceConfig(strength_levels={1: " "})


keys = st.lists(
    st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=2), min_size=2, max_size=6, unique=True
)


@given(keys, st.data())
def test_any_candidate_wins(candidates: list[str], data: st.DataObject) -> None:
    winner = data.draw(st.sampled_from(candidates))
    strength = data.draw(st.sampled_from([1, 2, 3]))
    ctx = ItemContext(tuple(candidates))
    assert check({"winner": winner, "strength": strength}, ctx) == {
        "winner": winner,
        "strength": strength,
    }


@given(keys, st.text(min_size=1))
def test_winner_outside_candidates_rejected(candidates: list[str], winner: str) -> None:
    if winner in candidates or winner == "tie":
        return
    err = error({"winner": winner, "strength": 1}, ItemContext(tuple(candidates)))
    assert err.field == "winner"
    assert err.reason.startswith(f"no candidate {winner!r} in this item")


def test_full_error_path() -> None:
    specs, _ = check_questions(
        [{"key": "preference", "kind": "preference", "title": "Which?", "explanation": "required"}]
    )
    with pytest.raises(InvalidInput) as err:
        validate_answers(specs, [{"question": "preference", "value": {"winner": "Z"}}], AB)
    rows = {row.field: row.reason for row in err.value.rows}
    assert rows == {
        "answers.preference.explanation": "an explanation is required",
        "answers.preference.value.winner": "no candidate 'Z' in this item (it has A, B)",
    }
