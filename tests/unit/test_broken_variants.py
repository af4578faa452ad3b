"""cli.demo_variants: wrong versions of a correct solution, made by small source edits."""

from __future__ import annotations

import ast
import json

from judgeloop.cli.demo import sample_path
from judgeloop.cli.demo_variants import broken_variant, broken_variants
from judgeloop.services.code_run_jobs import candidate_code

CODE = '''import math


def helper(n):
    return n + 100


def f(xs, limit):
    """Count the items below the limit.

    >>> f([1, 5], 3)
    1
    """
    count = 0  # start from nothing
    for x in xs:
        if x < limit:
            count += helper(0) - 99
    return count
'''


def _kinds(code: str, entry: str = "f") -> list[str]:
    return [v.kind for v in broken_variants(code, entry)]


def test_variants_come_most_plausible_first_and_stub_last() -> None:
    variants = broken_variants(CODE, "f")
    assert [v.kind for v in variants] == ["off_by_one", "boundary", "returns_none", "stub"]
    off, boundary, none, stub = (v.code for v in variants)
    assert off == CODE.replace("count = 0  #", "count = 1  #")
    assert variants[0].description == "line 14: 0 became 1"
    assert boundary == CODE.replace("if x < limit:", "if x <= limit:")
    assert variants[1].description == "line 16: < became <="
    assert none == CODE.replace("    return count\n", "    return None\n")
    assert "return n + 100" in none  # another function's returns are not the answer
    assert stub.endswith('    1\n    """\n    return None\n')
    assert "def helper(n):\n    return n + 100" in stub
    assert broken_variant(CODE, "f") == variants[0]


def test_each_variant_is_one_local_edit_that_compiles() -> None:
    for variant in broken_variants(CODE, "f")[:3]:
        ast.parse(variant.code)
        before, after = CODE.splitlines(), variant.code.splitlines()
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert len(changed) == 1, variant.kind
        assert "# start from nothing" in variant.code  # comments and layout survive


def test_variants_are_deterministic() -> None:
    assert broken_variants(CODE, "f") == broken_variants(CODE, "f")


def test_only_the_edits_that_apply_are_made() -> None:
    upper = "def up(s):\n    return s.upper()\n"
    assert _kinds(upper, "up") == ["returns_none"]  # the stub would be the same code
    two = "def up(s):\n    s = s.strip()\n    return s.upper()\n"
    assert _kinds(two, "up") == ["returns_none", "stub"]
    printer = "def p(s):\n    print(s)\n"
    assert _kinds(printer, "p") == ["stub"]
    flags = "def g(a):\n    return a == True\n"
    assert _kinds(flags, "g") == ["returns_none"]  # booleans are not off by one
    fstring = "def h(n):\n    return f'{n + 1}'\n"
    assert _kinds(fstring, "h") == ["returns_none"]  # f-strings are left alone
    nested = "def k(x):\n    return (x) < 3\n"
    assert broken_variants(nested, "k")[0].code == "def k(x):\n    return (x) < 4\n"


def test_code_without_the_entry_point_has_no_variants() -> None:
    assert broken_variants("def f(:\n", "f") == []
    assert broken_variants(CODE, "missing") == []
    assert broken_variant("x = 1\n", "f") is None


def test_the_demo_samples_broken_variants_come_from_the_generator() -> None:
    path = sample_path("humaneval/problems.jsonl")
    rows = [json.loads(line) for line in path.open()]
    assert len(rows) == 164
    for row in rows:
        solution, broken = candidate_code(row["solution"]), candidate_code(row["broken"])
        variants = {
            v.code: f"{v.kind}: {v.description}"
            for v in broken_variants(solution, row["entry_point"])
        }
        assert broken != solution, row["id"]
        assert variants.get(broken) == row["broken_mutation"], row["id"]
