"""What a run reports: cases, failures with their values, load errors, output, stops, JSON."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import judgeloop.sandbox.runner as runner_module
from judgeloop.sandbox import (
    CaseStatus,
    ExitReason,
    Limits,
    RunResult,
    SandboxUnavailable,
    best_mode,
    run_python_tests,
)

ADD = "def add(a, b):\n    return a + b\n"
CHECK = """
def check(candidate):
    assert candidate(1, 2) == 3
    assert candidate(2, 2) == 5, "two and two"
    for i in range(3):
        assert candidate(i, 0) == i
"""


def test_each_case_reports_its_outcome_values_and_traceback() -> None:
    result = run_python_tests(ADD, CHECK, "add")
    assert result.reason == ExitReason.FAILED
    assert result.detail == "1 of 3 tests failed"
    assert (result.n_passed, result.n_cases, result.passed) == (2, 3, False)
    ok, bad, loop = result.cases
    assert (ok.status, ok.line, ok.name) == (CaseStatus.PASSED, 3, "candidate(1, 2) == 3")
    assert bad.status == CaseStatus.FAILED and bad.error_type == "AssertionError"
    assert bad.message == (
        "assert candidate(2, 2) == 5\nAssertionError: two and two\n  left: 4\n  right: 5"
    )
    assert bad.traceback and 'File "tests.py", line 4, in check' in bad.traceback
    assert "judgeloop" not in bad.traceback  # the runner's own frames are left out
    assert loop.status == CaseStatus.PASSED and loop.name.startswith("for i in range(3):")
    assert result.mode == best_mode().name


def test_an_exception_in_the_code_is_an_error_with_the_code_in_its_traceback() -> None:
    code = "def add(a, b):\n    return a + undefined\n"
    result = run_python_tests(code, CHECK, "add")
    assert result.reason == ExitReason.FAILED
    case = result.cases[0]
    assert case.status == CaseStatus.ERROR and case.error_type == "NameError"
    assert case.traceback and 'File "candidate.py", line 2, in add' in case.traceback
    assert "return a + undefined" in case.traceback


def test_code_that_does_not_load_fails_every_case() -> None:
    result = run_python_tests("def add(a, b) return a + b\n", CHECK, "add")
    assert result.reason == ExitReason.FAILED
    assert result.detail.startswith("the code did not load: ")
    assert all(c.status == CaseStatus.ERROR and c.error_type == "SyntaxError" for c in result.cases)


def test_a_missing_entry_point_is_reported() -> None:
    result = run_python_tests("def plus(a, b):\n    return a + b\n", CHECK, "add")
    assert result.reason == ExitReason.FAILED
    assert "does not define 'add'" in result.detail


def test_tests_that_do_not_compile_crash_the_run() -> None:
    result = run_python_tests(ADD, "def check(candidate)\n    pass\n", "add")
    assert result.reason == ExitReason.CRASHED
    assert result.detail.startswith("the tests did not load: ")


def test_tests_that_fail_to_import_crash_the_run_without_blaming_the_code() -> None:
    tests = "import numpy_is_not_in_the_sandbox\n\ndef check(candidate):\n"
    tests += "    assert candidate(1, 1) == 2\n"
    result = run_python_tests(ADD, tests, "add")
    assert result.reason == ExitReason.CRASHED
    assert result.detail.startswith("the tests did not load: ModuleNotFoundError")
    assert result.cases[0].message and result.cases[0].message.startswith("the tests did not")


def test_a_statement_between_cases_that_raises_stops_the_rest() -> None:
    tests = "def check(candidate):\n    assert candidate(1, 1) == 2\n    x = 1 / 0\n"
    tests += "    assert candidate(x, 1) == 2\n    assert candidate(0, 0) == 0\n"
    result = run_python_tests(ADD, tests, "add")
    assert [c.status for c in result.cases] == [
        CaseStatus.PASSED,
        CaseStatus.ERROR,
        CaseStatus.NOT_RUN,
    ]
    assert result.cases[1].message and "ZeroDivisionError" in result.cases[1].message


def test_test_functions_and_plain_modules_are_cases_too() -> None:
    functions = "def test_small():\n    assert add(1, 1) == 2\n\ndef test_big():\n"
    functions += "    assert add(10**6, 1) == 10\n"
    result = run_python_tests(ADD, functions, "")
    assert [(c.name, c.status) for c in result.cases] == [
        ("test_small", CaseStatus.PASSED),
        ("test_big", CaseStatus.FAILED),
    ]
    module = run_python_tests(ADD, "from candidate import add\nassert add(2, 3) == 5\n", "")
    assert module.reason == ExitReason.OK and [c.name for c in module.cases] == ["tests"]


def test_check_without_a_top_level_assert_is_one_case() -> None:
    tests = "def expect(got, want):\n    assert got == want\n\ndef check(candidate):\n"
    tests += "    expect(candidate(1, 2), 3)\n    expect(candidate(2, 2), 4)\n"
    result = run_python_tests(ADD, tests, "add")
    assert result.reason == ExitReason.OK and result.n_cases == 2  # calls of candidate count
    tests = "def check(candidate):\n    helper = candidate\n    helper(1, 2)\n"
    whole = run_python_tests(ADD, tests, "add")
    assert whole.reason == ExitReason.OK and [c.name for c in whole.cases] == ["check(candidate)"]


def test_output_is_captured_and_the_run_is_timed() -> None:
    code = "import sys\nprint('hello from the code')\ndef add(a, b):\n"
    code += "    print('adding', a, b, file=sys.stderr)\n    return a + b\n"
    result = run_python_tests(code, CHECK, "add")
    assert result.stdout == "hello from the code\n"
    assert "adding 1 2" in result.stderr
    assert not result.stdout_truncated and result.duration_s > 0
    assert result.cases[0].duration_s >= 0


def test_a_timeout_keeps_the_cases_that_finished() -> None:
    tests = "import time\ndef check(candidate):\n    assert candidate(1, 1) == 2\n"
    tests += "    assert time.sleep(60) or candidate(1, 1) == 2\n    assert candidate(0, 0) == 0\n"
    result = run_python_tests(ADD, tests, "add", Limits(wall_s=1))
    assert result.reason == ExitReason.TIMEOUT
    assert [c.status for c in result.cases] == [
        CaseStatus.PASSED,
        CaseStatus.ERROR,
        CaseStatus.NOT_RUN,
    ]
    assert result.cases[1].message == "not finished: stopped: wall-time limit of 1 s reached"


def test_exits_inside_the_code_are_reported() -> None:
    sys_exit = run_python_tests("import sys\ndef add(a, b):\n    sys.exit(0)\n", CHECK, "add")
    assert sys_exit.reason == ExitReason.FAILED
    assert sys_exit.cases[0].error_type == "SystemExit"
    hard = run_python_tests("import os\ndef add(a, b):\n    os._exit(7)\n", CHECK, "add")
    assert hard.reason == ExitReason.CRASHED
    assert "without reporting" in hard.detail and "7" in hard.detail


def test_a_forked_child_does_not_report_twice() -> None:
    code = "import os\ndef add(a, b):\n    os.fork()\n    return a + b\n"
    result = run_python_tests(
        code, "def check(candidate):\n    assert candidate(1, 2) == 3\n", "add"
    )
    assert result.reason == ExitReason.OK and result.n_cases == 1


def test_the_tests_locals_do_not_leak_into_the_code() -> None:
    code = "def shout(s):\n    return str(s).upper()\n"
    tests = "def check(candidate):\n    str = 'not the builtin'\n"
    tests += "    assert candidate(str) == str.upper()\n"
    assert run_python_tests(code, tests, "shout").reason == ExitReason.OK


def test_a_result_round_trips_through_json() -> None:
    result = run_python_tests(ADD, CHECK, "add", Limits(wall_s=5))
    stored = result.model_dump(mode="json")
    assert stored["reason"] == "failed" and stored["limits"]["wall_s"] == 5
    assert stored["runner"] == "judgeloop.sandbox.python.v1"
    assert RunResult.model_validate(stored) == result
    assert RunResult.model_validate_json(result.model_dump_json()) == result


def test_limits_are_validated() -> None:
    with pytest.raises(ValidationError):
        Limits(wall_s=0)
    with pytest.raises(ValidationError):
        Limits(memory_bytes=1024)
    with pytest.raises(ValidationError):
        Limits(unknown=1)  # type: ignore[call-arg]


def test_the_runner_can_split_the_tests_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path used when the sandbox's Python differs from ours: it plans in the sandbox."""
    monkeypatch.setattr(runner_module, "_plan", lambda tests, interp: None)
    result = run_python_tests(ADD, CHECK, "add")
    broken = run_python_tests(ADD, "def check(candidate)\n", "add")
    assert result.detail == "1 of 3 tests failed"
    assert result.cases[1].message and "left: 4" in result.cases[1].message
    assert broken.reason == ExitReason.CRASHED


def test_an_unavailable_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "_prerequisite", lambda mode, interp: "not here")
    runner_module._probe_modes.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="not here"):
            run_python_tests(ADD, CHECK, "add", mode="bwrap")
        with pytest.raises(SandboxUnavailable, match="no sandbox mode can run here"):
            run_python_tests(ADD, CHECK, "add")
    finally:
        monkeypatch.undo()
        runner_module._probe_modes.cache_clear()


def test_without_tests_the_code_must_at_least_load() -> None:
    result = run_python_tests(ADD, "", "add")
    assert result.reason == ExitReason.OK
    assert [(c.name, c.line) for c in result.cases] == [("the code loads", None)]
    broken = run_python_tests("def add(:\n", "  \n", "add")
    assert broken.reason == ExitReason.FAILED and broken.cases[0].error_type == "SyntaxError"
