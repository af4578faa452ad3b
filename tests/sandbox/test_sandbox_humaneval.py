"""HumanEval in the sandbox: canonical solutions pass, broken variants fail (20 problems).

`bench/sandbox.py` runs all 164 with the same variants.
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from judgeloop.sandbox import CaseStatus, ExitReason, RunResult, run_python_tests
from tests.paths import SHARED_DATA

HUMANEVAL = SHARED_DATA / "humaneval" / "HumanEval.jsonl.gz"

OFF_BY_ONE = """

def _off_by_one(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + " "
    if isinstance(value, (list, tuple)):
        return type(value)(list(value)[:-1]) if value else type(value)([0])
    return 0 if value is None else None


_canonical = {entry}


def {entry}(*args, **kwargs):
    return _off_by_one(_canonical(*args, **kwargs))
"""


def broken_variants(problem: dict[str, Any]) -> dict[str, str]:
    """Three wrong solutions of one problem: no answer, an exception, an answer off by one."""
    prompt, entry = problem["prompt"], problem["entry_point"]
    return {
        "return-none": prompt + "    return None\n",
        "raises": prompt + "    raise ValueError('not implemented')\n",
        "off-by-one": prompt + problem["canonical_solution"] + OFF_BY_ONE.format(entry=entry),
    }


def load_problems() -> list[dict[str, Any]]:
    """All 164 HumanEval problems, or none when the shared data is missing."""
    if not HUMANEVAL.exists():
        return []
    with gzip.open(HUMANEVAL, "rt") as fh:
        return [json.loads(line) for line in fh]


PROBLEMS = load_problems()
SAMPLE = PROBLEMS[::8][:20]


def test_the_shared_humaneval_data_is_there() -> None:
    assert len(PROBLEMS) == 164, f"expected the 164 HumanEval problems in {HUMANEVAL}"


@pytest.mark.parametrize("problem", SAMPLE, ids=[p["task_id"] for p in SAMPLE])
def test_the_canonical_solution_passes_and_broken_ones_fail(problem: dict[str, Any]) -> None:
    codes = {"canonical": problem["prompt"] + problem["canonical_solution"]}
    codes |= broken_variants(problem)
    with ThreadPoolExecutor(2) as pool:  # the runs are independent, as in a service
        runs = pool.map(lambda code: run(problem, code), codes.values())
        results = dict(zip(codes, runs, strict=True))
    result = results.pop("canonical")
    assert result.reason == ExitReason.OK, (result.detail, result.cases)
    assert result.n_cases >= 1 and result.n_passed == result.n_cases
    for variant, bad in results.items():
        assert bad.reason == ExitReason.FAILED, (variant, bad.detail)
        assert any(c.status in (CaseStatus.FAILED, CaseStatus.ERROR) for c in bad.cases)


def run(problem: dict[str, Any], code: str) -> RunResult:
    return run_python_tests(code, problem["test"], problem["entry_point"])


def test_each_top_level_assert_of_check_is_its_own_case() -> None:
    problem = next(p for p in PROBLEMS if p["task_id"] == "HumanEval/0")
    broken = broken_variants(problem)["off-by-one"]
    result = run_python_tests(broken, problem["test"], problem["entry_point"])
    assert result.n_cases == 7  # the seven asserts of HumanEval/0's check
    assert [c.line for c in result.cases] == list(range(10, 17))
    first = result.cases[0]
    assert first.status == CaseStatus.FAILED
    assert first.name == "candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True"
    assert first.message and "left: False" in first.message and "right: True" in first.message


def test_tests_that_use_names_from_the_prompt_work() -> None:
    problem = next(p for p in PROBLEMS if p["task_id"] == "HumanEval/32")  # check calls poly()
    code = problem["prompt"] + problem["canonical_solution"]
    result = run_python_tests(code, problem["test"], problem["entry_point"])
    assert result.reason == ExitReason.OK, result.detail
    assert result.cases[0].name.startswith("for _ in range(100):")
