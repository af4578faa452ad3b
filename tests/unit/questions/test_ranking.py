"""ranking: a permutation of the item's candidates, best first."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from judgeloop.errors import InvalidInput
from judgeloop.questions.base import (
    AnswerError,
    ItemContext,
    check_questions,
    get_kind,
    validate_answers,
)
from judgeloop.questions.ranking import RankingConfig

ABC = ItemContext(("A", "B", "C"))


def check(value: Any, ctx: ItemContext = ABC, **config: Any) -> Any:
    return get_kind("ranking").validate_answer(RankingConfig(**config), value, ctx)


def error(value: Any, ctx: ItemContext = ABC, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, ctx, **config)
    return err.value


def test_good_ranking() -> None:
    assert check(["C", "A", "B"]) == ["C", "A", "B"]


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        (["C", "A"], "", "the ranking leaves out B; rank every candidate"),
        (["C"], "", "leaves out A, B"),
        (["C", "A", "C", "B"], "2", "candidate 'C' is ranked twice (first at index 0)"),
        (["C", "A", "D"], "2", "no candidate 'D' in this item (it has A, B, C)"),
        (["C", "A", 2], "2", "expected a candidate key"),
        (["C", ["A", "B"]], "1", "ties are not allowed"),
        ("CAB", "", "expected a list of candidate keys"),
        (None, "", "expected a list of candidate keys"),
    ],
)
def test_bad_rankings(value: Any, field: str, reason: str) -> None:
    err = error(value)
    assert err.field == field
    assert reason in err.reason


def test_needs_two_candidates() -> None:
    assert "at least 2 candidates" in error(["A"], ItemContext(("A",))).reason


def test_ties() -> None:
    assert check(["B", ["C", "A"]], allow_ties=True) == [["B"], ["A", "C"]]
    assert check([["A", "B", "C"]], allow_ties=True) == [["A", "B", "C"]]
    assert error(["B", []], allow_ties=True).field == "1"
    dup = error(["B", ["C", "B"], "A"], allow_ties=True)
    assert (dup.field, dup.reason) == ("1.1", "candidate 'B' is ranked twice (first at index 0)")
    assert error(["B", ["C", 3], "A"], allow_ties=True).field == "1.1"
    assert error(["B", ["C", "X"], "A"], allow_ties=True).field == "1.1"


candidates = st.lists(
    st.text(alphabet="ABCDEFGH", min_size=1, max_size=3), min_size=2, max_size=8, unique=True
)


@given(candidates, st.randoms())
def test_any_permutation_accepted(keys: list[str], rnd: Any) -> None:
    order = list(keys)
    rnd.shuffle(order)
    assert check(order, ItemContext(tuple(keys))) == order


@given(candidates, st.lists(st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=3), max_size=9))
def test_any_non_permutation_rejected(keys: list[str], answer: list[str]) -> None:
    if sorted(answer) == sorted(keys):
        return
    with pytest.raises(AnswerError):
        check(answer, ItemContext(tuple(keys)))


def test_full_error_path() -> None:
    specs, _ = check_questions([{"key": "order", "kind": "ranking", "title": "Rank them"}])
    with pytest.raises(InvalidInput) as err:
        validate_answers(specs, [{"question": "order", "value": ["A", "B", "B"]}], ABC)
    assert [row.field for row in err.value.rows] == ["answers.order.value.2"]
