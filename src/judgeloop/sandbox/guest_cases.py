"""How the runner splits tests into cases; sent into the sandbox with guest.py.

Standard library only. The host runs this file and then guest.py in one namespace inside
the sandbox; outside it, guest.py imports these names from here.
"""

from __future__ import annotations

import ast

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every run time
if TYPE_CHECKING:
    from typing import Any

RECORDER = "__judgeloop_cases__"  # the same name as guest.RECORDER (a test checks it)
HELD = "__judgeloop_held__"


def _is_case(stmt: ast.stmt, param: str | None) -> bool:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return False
    if any(isinstance(node, ast.Assert) for node in ast.walk(stmt)):
        return True
    return bool(
        param
        and isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and any(isinstance(n, ast.Name) and n.id == param for n in ast.walk(stmt))
    )


def _case_name(stmt: ast.stmt, source: str) -> str:
    node: ast.AST = stmt.test if isinstance(stmt, ast.Assert) else stmt
    text = ast.get_source_segment(source, node) or ast.unparse(node)
    lines = text.strip().splitlines() or [""]
    name = " ".join(text.split()) if isinstance(stmt, ast.Assert) else lines[0].strip()
    if len(lines) > 1 and not isinstance(stmt, ast.Assert):
        name += f" ... (lines {stmt.lineno}-{stmt.end_lineno})"
    return name if len(name) <= 200 else name[:184] + " ... (truncated)"


def _held(index: int) -> ast.expr:
    return ast.Subscript(ast.Name(HELD, ast.Load()), ast.Constant(index), ast.Load())


def _hold_values(index: int, stmt: ast.Assert) -> list[ast.stmt]:
    """``assert a == b, m`` becomes ``held = rec.hold(i, a, b); assert held[0] == held[1], m``."""
    test = stmt.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        values = [test.left, test.comparators[0]]
        new_test: ast.expr = ast.Compare(_held(0), test.ops, [_held(1)])
    else:
        values, new_test = [test], _held(0)
    hold = ast.Attribute(ast.Name(RECORDER, ast.Load()), "hold", ast.Load())
    call = ast.Call(hold, [ast.Constant(index), *values], [])
    assign = ast.Assign([ast.Name(HELD, ast.Store())], call)
    statements: list[ast.stmt] = [assign, ast.Assert(new_test, stmt.msg)]
    for new in statements:
        for node in ast.walk(new):
            if not hasattr(node, "lineno") or node in (assign, call, new_test):
                ast.copy_location(node, stmt)
    return [ast.fix_missing_locations(s) for s in statements]


def _wrap_case(index: int, stmt: ast.stmt) -> ast.stmt:
    """Run one case inside ``if rec.begin(i): try: <case> except: rec.fail(i) else: rec.ok(i)``."""
    source = (
        f"if {RECORDER}.begin({index}):\n"
        "    try:\n        pass\n"
        "    except BaseException as __judgeloop_exc__:\n"
        f"        {RECORDER}.fail({index}, __judgeloop_exc__)\n"
        f"    else:\n        {RECORDER}.ok({index})\n"
    )
    wrapper = ast.parse(source).body[0]
    for node in ast.walk(wrapper):
        ast.copy_location(node, stmt)
    assert isinstance(wrapper, ast.If) and isinstance(wrapper.body[0], ast.Try)
    wrapper.body[0].body = _hold_values(index, stmt) if isinstance(stmt, ast.Assert) else [stmt]
    return wrapper


def plan_cases(source: str) -> tuple[ast.Module, list[dict[str, Any]], str]:
    """Split the tests into cases; returns the instrumented module, the cases and the shape.

    The shape is ``check`` (one case per top-level assert of ``check``), ``check-whole``
    (``check`` without a top-level assert: one case), ``functions`` (``test_*``) or
    ``module`` (the whole module is one case).
    """
    tree = ast.parse(source, "tests.py")
    if not source.strip():  # no tests: the code must at least load
        return tree, [{"name": "the code loads", "line": None}], "module"
    check = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None
    )
    if check is not None:
        param = check.args.args[0].arg if check.args.args else None
        cases: list[dict[str, Any]] = []
        body: list[ast.stmt] = []
        for stmt in check.body:
            if _is_case(stmt, param):
                body.append(_wrap_case(len(cases), stmt))
                cases.append({"name": _case_name(stmt, source), "line": stmt.lineno})
            else:
                body.append(stmt)
        if not cases:
            return tree, [{"name": "check(candidate)", "line": check.lineno}], "check-whole"
        check.body = body
        return tree, cases, "check"
    functions = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and n.name.startswith("test")
        and len(n.args.args) == len(n.args.defaults)
    ]
    if functions:
        return tree, [{"name": f.name, "line": f.lineno} for f in functions], "functions"
    return tree, [{"name": "tests", "line": 1}], "module"


def serialize(node: Any) -> Any:
    """Flatten an AST into tuples and lists that marshal can carry into the sandbox.

    `guest.rebuild` turns them back into nodes there without importing ast (which would
    cost each run its import).
    """
    if isinstance(node, ast.AST):
        fields = {f: serialize(getattr(node, f)) for f in node._fields if hasattr(node, f)}
        if isinstance(node, ast.Constant):
            fields["value"] = node.value
        position = None
        if node._attributes:
            attributes = ("lineno", "col_offset", "end_lineno", "end_col_offset")
            position = tuple(getattr(node, a, None) for a in attributes)
        return (type(node).__name__, fields, position)
    if isinstance(node, list):
        return [serialize(n) for n in node]
    return node
