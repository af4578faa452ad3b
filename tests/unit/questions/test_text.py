"""text: explanations, rewrites, ideal answers and other free text."""

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
from judgeloop.questions.text import TextConfig

ORIGINAL = "Paris is the capital of Germany.\nIt has 2 million people."
CTX = ItemContext(("A", "B"), {"prompt": "Tell me about Paris.", "A": ORIGINAL, "B": "Paris."})


def check(value: Any, **config: Any) -> Any:
    return get_kind("text").validate_answer(TextConfig(**config), value, CTX)


def error(value: Any, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, **config)
    return err.value


def test_strips_and_normalizes_line_endings() -> None:
    assert check("  one\r\ntwo\rthree \n") == "one\ntwo\nthree"


@pytest.mark.parametrize(
    ("value", "config", "reason"),
    [
        ("   ", {}, "the text is empty"),
        ("short", {"min_length": 10}, "the text is 5 characters long; at least 10 are needed"),
        ("x" * 21, {"max_length": 20}, "the text is 21 characters long; at most 20 are allowed"),
        ("a\x00b", {}, "NUL character"),
        (42, {}, "expected text"),
        (None, {}, "expected text"),
    ],
)
def test_bad_texts(value: Any, config: dict[str, Any], reason: str) -> None:
    err = error(value, **config)
    assert err.field == ""
    assert err.reason == reason or reason in err.reason


def test_rewrite_must_change_the_first_candidate() -> None:
    err = error(ORIGINAL.replace("\n", "  \r\n") + "\n", mode="rewrite")
    assert "identical to candidate A's answer" in err.reason
    fixed = "Paris is the capital of France.\nIt has 2 million people."
    assert check(fixed, mode="rewrite") == fixed


def test_rewrite_of_named_source() -> None:
    assert "candidate B" in error("Paris.", mode="rewrite", source="B").reason
    assert check(ORIGINAL, mode="rewrite", source="B") == ORIGINAL


def test_identical_text_allowed_outside_rewrite_mode() -> None:
    assert check(ORIGINAL, mode="ideal_answer") == ORIGINAL


def test_min_length_zero_allows_empty() -> None:
    assert check("", min_length=0) == ""


@pytest.mark.parametrize(
    "config",
    [
        {"min_length": 10, "max_length": 5},
        {"mode": "poem"},
        {"source": "A"},
        {"max_length": 0},
        {"min_length": -1},
    ],
)
def test_bad_configs(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TextConfig(**config)


printable = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))


@given(printable)
def test_any_text_within_limits_is_accepted_stripped(value: str) -> None:
    cleaned = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not 1 <= len(cleaned) <= 50:
        with pytest.raises(AnswerError, match=r"characters long|empty"):
            check(value, max_length=50)
    else:
        assert check(value, max_length=50) == cleaned


@given(printable, printable)
def test_nul_anywhere_rejected(before: str, after: str) -> None:
    assert "NUL" in error(before + "\x00" + after).reason


def test_full_error_path() -> None:
    specs, _ = check_questions(
        [{"key": "rewrite", "kind": "text", "title": "Rewrite", "config": {"mode": "rewrite"}}]
    )
    with pytest.raises(InvalidInput) as err:
        validate_answers(specs, [{"question": "rewrite", "value": ORIGINAL}], CTX)
    assert [row.field for row in err.value.rows] == ["answers.rewrite.value"]
