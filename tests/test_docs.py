"""Docs: generated references are current; every question kind and template is documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from judgeloop.presets import list_presets
from judgeloop.questions.base import kind_names

ROOT = Path(__file__).resolve().parents[1]


def test_generated_references_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_question_kind_has_a_section() -> None:
    text = (ROOT / "docs" / "question-kinds.md").read_text()
    missing = [k for k in kind_names() if f"## {k}" not in text]
    assert not missing, f"undocumented question kinds: {missing}"


def test_every_template_has_a_section() -> None:
    text = (ROOT / "docs" / "templates.md").read_text()
    missing = [p.name for p in list_presets() if p.name not in text]
    assert not missing, f"undocumented templates: {missing}"
