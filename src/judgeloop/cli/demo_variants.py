"""Broken variants of a correct solution, for the demo's coding project.

`broken_variants(code, entry_point)` lists wrong versions of a correct Python solution,
the most plausible first: an integer literal off by one, a comparison whose boundary
moved (``<`` to ``<=``), every answer replaced by ``None``, and last the bare stub (the
function's signature and docstring, returning ``None``). Each is a small edit of the
source text, so the rest of the code keeps its formatting and comments. The functions
are pure: `scripts/make_samples.py` runs the variants in the sandbox and keeps the
first one that the problem's tests fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

_FLIPPED: dict[type[ast.cmpop], str] = {
    ast.Lt: "<=",
    ast.LtE: "<",
    ast.Gt: ">=",
    ast.GtE: ">",
}


@dataclass(frozen=True)
class Variant:
    """A wrong version of a solution.

    Attributes:
        kind: ``off_by_one``, ``boundary``, ``returns_none`` or ``stub``.
        description: What was changed, for people (``line 7: 0 became 1``).
        code: The whole module with the change.
    """

    kind: str
    description: str
    code: str


def broken_variants(code: str, entry_point: str) -> list[Variant]:
    """List wrong versions of `code`, the most plausible first and the stub last.

    Args:
        code: A correct Python module that defines `entry_point` at the top level.
        entry_point: The function the tests call; only its body is changed.

    Returns:
        The variants that apply (each differs from `code` and from the others, and
        compiles), in this order: off by one, boundary, returns None, stub. Empty when
        `code` does not parse or has no top-level function `entry_point`.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    func = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point
        ),
        None,
    )
    if func is None:
        return []
    found = [
        _off_by_one(code, func),
        _boundary(code, func),
        _returns_none(code, func),
        _stub(code, func),
    ]
    out: list[Variant] = []
    for variant in found:
        if variant is None or variant.code == code or not _compiles(variant.code):
            continue
        if all(v.code != variant.code for v in out):  # a one-line body: stub == returns None
            out.append(variant)
    return out


def broken_variant(code: str, entry_point: str) -> Variant | None:
    """The most plausible wrong version of `code` (see `broken_variants`), or None."""
    variants = broken_variants(code, entry_point)
    return variants[0] if variants else None


def _compiles(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _body_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Every node of the function's body (docstring and f-strings left out), in order."""
    body = func.body[1:] if _docstring(func) else func.body
    out: list[ast.AST] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.JoinedStr):
            return  # positions inside f-strings are not reliable before Python 3.12
        out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for stmt in body:
        visit(stmt)
    out.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    return iter(out)


def _docstring(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = func.body[0] if func.body else None
    return (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )


def _offset(code: str, line: int, col: int) -> int:
    """The character offset of (1-based line, UTF-8 byte column) in `code`."""
    lines = code.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: line - 1])
    return start + len(lines[line - 1].encode()[:col].decode(errors="replace"))


def _span(code: str, node: ast.AST) -> tuple[int, int] | None:
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    start = _offset(code, node.lineno, node.col_offset)  # type: ignore[attr-defined]
    return start, _offset(code, end_line, end_col)


def _replace(code: str, span: tuple[int, int], text: str) -> str:
    return code[: span[0]] + text + code[span[1] :]


def _off_by_one(code: str, func: ast.FunctionDef | ast.AsyncFunctionDef) -> Variant | None:
    for node in _body_nodes(func):
        if not (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            continue
        span = _span(code, node)
        if span is None or not code[span[0] : span[1]].isdigit():
            continue
        new = str(node.value + 1)
        description = f"line {node.lineno}: {code[span[0] : span[1]]} became {new}"
        return Variant("off_by_one", description, _replace(code, span, new))
    return None


def _boundary(code: str, func: ast.FunctionDef | ast.AsyncFunctionDef) -> Variant | None:
    for node in _body_nodes(func):
        if not isinstance(node, ast.Compare):
            continue
        lefts = [node.left, *node.comparators[:-1]]
        for op, left, right in zip(node.ops, lefts, node.comparators, strict=True):
            flipped = _FLIPPED.get(type(op))
            left_span, right_span = _span(code, left), _span(code, right)
            if flipped is None or left_span is None or right_span is None:
                continue
            between = code[left_span[1] : right_span[0]]
            old = between.strip()
            if old not in ("<", "<=", ">", ">="):
                continue  # parentheses or a comment between the operands: leave it
            span = (left_span[1], right_span[0])
            description = f"line {node.lineno}: {old} became {flipped}"
            return Variant("boundary", description, _replace(code, span, f" {flipped} "))
    return None


def _returns_none(code: str, func: ast.FunctionDef | ast.AsyncFunctionDef) -> Variant | None:
    returns: list[ast.Return] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue  # a nested function's returns are not the answer
            if isinstance(child, ast.Return) and child.value is not None:
                returns.append(child)
            visit(child)

    visit(func)
    spans = [s for r in returns if r.value is not None and (s := _span(code, r.value))]
    if not spans:
        return None
    for span in sorted(spans, reverse=True):  # from the end, so earlier offsets stay valid
        code = _replace(code, span, "None")
    return Variant("returns_none", "every return gives None instead of the answer", code)


def _stub(code: str, func: ast.FunctionDef | ast.AsyncFunctionDef) -> Variant | None:
    body = func.body[1:] if _docstring(func) else func.body
    if not body:
        return None
    first, last = body[0], body[-1]
    start = _offset(code, first.lineno, 0)
    end_span = _span(code, last)
    if end_span is None:
        return None
    indent = code[start : _offset(code, first.lineno, first.col_offset)]
    stubbed = code[:start] + indent + "return None" + code[end_span[1] :]
    return Variant("stub", "the body is gone: the function returns None", stubbed)
