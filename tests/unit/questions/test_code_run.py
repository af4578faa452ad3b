"""code_run: the worker's verdict on a candidate's code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from judgeloop.questions.base import AnswerError, ItemContext, get_kind
from judgeloop.questions.code_run import CodeRunConfig

CTX = ItemContext(("A",), {"A": "def f():\n    return 1\n"})


def check(value: Any, **config: Any) -> Any:
    return get_kind("code_run").validate_answer(CodeRunConfig(**config), value, CTX)


def error(value: Any, **config: Any) -> AnswerError:
    with pytest.raises(AnswerError) as err:
        check(value, **config)
    return err.value


def test_good_answers() -> None:
    assert check({"verdict": "correct", "run_id": 12}) == {"verdict": "correct", "run_id": 12}
    assert check({"verdict": "incorrect"}) == {"verdict": "incorrect", "run_id": None}
    assert check("partially_correct") == {"verdict": "partially_correct", "run_id": None}


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        ({"verdict": "great"}, "verdict", "unknown verdict 'great'"),
        ({}, "verdict", "allowed: correct, partially_correct, incorrect"),
        ({"verdict": "correct", "run_id": 0}, "run_id", "positive integer"),
        ({"verdict": "correct", "run_id": "7"}, "run_id", "positive integer"),
        ({"verdict": "correct", "run_id": True}, "run_id", "positive integer"),
        ({"verdict": "correct", "output": "ok"}, "output", "unknown field"),
        (["correct"], "", "expected"),
    ],
)
def test_bad_answers(value: Any, field: str, reason: str) -> None:
    err = error(value)
    assert err.field == field
    assert reason in err.reason


def test_custom_verdicts() -> None:
    assert check("pass", verdicts=["pass", "fail"])["verdict"] == "pass"
    assert error("correct", verdicts=["pass", "fail"]).field == "verdict"


@pytest.mark.parametrize(
    "config",
    [
        {"timeout_s": 0},
        {"timeout_s": 10_000},
        {"verdicts": []},
        {"verdicts": ["a", "a"]},
        {"language": "Python 3"},
        {"memory": 10},
    ],
)
def test_bad_configs(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CodeRunConfig(**config)


@given(st.sampled_from(["correct", "partially_correct", "incorrect"]), st.integers(1, 10**9))
def test_any_known_verdict_and_run_accepted(verdict: str, run_id: int) -> None:
    assert check({"verdict": verdict, "run_id": run_id}) == {"verdict": verdict, "run_id": run_id}


@given(st.text().filter(lambda s: s not in ("correct", "partially_correct", "incorrect")))
def test_any_unknown_verdict_rejected(verdict: str) -> None:
    assert error({"verdict": verdict}).field == "verdict"
