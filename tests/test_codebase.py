"""Meta-tests: module and function size limits, and the import layering of DESIGN.md."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "judgeloop"
MODULE_HARD_LIMIT = 600
FUNCTION_HARD_LIMIT = 80

# layer -> packages it must never import (a layer imports only itself and layers below).
FORBIDDEN_IMPORTS = {
    "store": ("judgeloop.services", "judgeloop.web", "judgeloop.cli", "judgeloop.questions"),
    "questions": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "presets": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "export": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "schemas": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "aggregate": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "sandbox": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "llm": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "learn": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "services": ("judgeloop.web", "judgeloop.cli", "judgeloop.client"),
    "client": ("judgeloop.store", "judgeloop.services", "judgeloop.web", "judgeloop.cli"),
    "web": ("judgeloop.cli", "judgeloop.client"),
}


def _modules() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]


def test_modules_stay_under_the_hard_size_limit() -> None:
    too_long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MODULE_HARD_LIMIT
    }
    assert not too_long, f"modules over {MODULE_HARD_LIMIT} lines: {too_long}"


def test_functions_stay_under_the_hard_size_limit() -> None:
    too_long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_HARD_LIMIT:
                    too_long.append(f"{path.relative_to(SRC)}:{node.name} ({length} lines)")
    assert not too_long, f"functions over {FUNCTION_HARD_LIMIT} lines: {too_long}"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_layers_import_only_downwards() -> None:
    violations = []
    for path in _modules():
        rel = path.relative_to(SRC)
        layer = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for banned in FORBIDDEN_IMPORTS.get(layer, ()):
            violations += [
                f"{rel} imports {name}"
                for name in _imports(path)
                if name == banned or name.startswith(banned + ".")
            ]
    assert not violations, "\n".join(violations)


def test_importing_judgeloop_stays_light() -> None:
    import subprocess
    import sys

    code = "import sys, judgeloop.cli; print(any(m in sys.modules for m in ('torch', 'datasets')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
