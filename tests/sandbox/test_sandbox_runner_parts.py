"""The runner's pure parts, outside the sandbox: case planning, the AST carrier, JSON."""

from __future__ import annotations

import ast
import json

import pytest

from judgeloop.sandbox import guest, guest_cases


def test_check_is_split_into_its_top_level_asserts_and_loops() -> None:
    tests = (
        "METADATA = {}\n\ndef check(candidate):\n    import math\n    x = 2\n"
        "    assert candidate(x) == 4\n    for i in range(3):\n        assert candidate(i) >= 0\n"
        "    def helper():\n        assert False\n    print\n"
    )
    _, cases, shape = guest_cases.plan_cases(tests)
    assert shape == "check"
    assert cases == [
        {"name": "candidate(x) == 4", "line": 6},
        {"name": "for i in range(3): ... (lines 7-8)", "line": 7},
    ]


@pytest.mark.parametrize(
    ("tests", "shape", "names"),
    [
        ("def check(candidate):\n    pass\n", "check-whole", ["check(candidate)"]),
        (
            "def test_a():\n    pass\n\ndef test_b(x=1):\n    pass\n",
            "functions",
            ["test_a", "test_b"],
        ),
        ("def test_needs_fixture(tmp_path):\n    pass\n", "module", ["tests"]),
        ("assert 1 == 1\n", "module", ["tests"]),
    ],
)
def test_other_shapes_of_tests(tests: str, shape: str, names: list[str]) -> None:
    _, cases, found = guest_cases.plan_cases(tests)
    assert found == shape and [c["name"] for c in cases] == names


def test_the_ast_survives_the_trip_into_the_sandbox() -> None:
    source = (
        "def check(candidate):\n    assert candidate(1, b'x', 2.5j, ...) == {'a': (1,)}, 'm'\n"
        "    for i in range(2):\n        assert candidate(i) in [None, True]\n"
    )
    tree, _, _ = guest_cases.plan_cases(source)
    rebuilt = guest.rebuild(guest_cases.serialize(tree))
    assert ast.dump(rebuilt, include_attributes=True) == ast.dump(tree, include_attributes=True)
    compile(rebuilt, "tests.py", "exec")


def test_the_recorder_name_is_shared() -> None:
    assert guest.RECORDER == guest_cases.RECORDER


@pytest.mark.parametrize(
    "value",
    ["plain", 'quote " back \\ slash', "control \x00\x1f\n\t", "unicode é ✓ \U0001f600", 0, -3,
     2.5, True, False, None, [1, "a", [None]], {"k": {"n": [1.5]}}],
)  # fmt: skip
def test_the_runner_writes_json_the_host_reads(value: object) -> None:
    assert json.loads(guest.to_json(value)) == value


def test_what_json_cannot_hold_goes_as_text() -> None:
    decoded = json.loads(guest.to_json({"x": float("nan"), 1: (1, 2), "o": object}))
    assert decoded == {"x": None, "1": [1, 2], "o": "<class 'object'>"}
    line = guest.to_json("a\ud800b").encode("utf-8", "replace")  # as the channel sends it
    assert json.loads(line) == "a?b"
