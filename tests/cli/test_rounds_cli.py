"""`judgeloop rounds` on a real SQLite file: start from JSONL, bad lines by number, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgeloop.cli import app

runner = CliRunner()


def _run(data_dir: Path, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code == code, output
    assert "Traceback" not in output
    return output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with an admin, an A/B project and two registered versions."""
    data = tmp_path / "data"
    _run(data, "init", "--admin-email", "admin@example.org", "--admin-password", "admin pass 1")
    _run(data, "project", "create", "ab", "--preset", "ab_comparison")
    _run(data, "models", "add", "base-v1", "--base-url", "http://127.0.0.1:9/v1")
    _run(
        data,
        "models",
        "add",
        "tuned-v2",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--parent",
        "base-v1",
    )
    return data


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_start_list_report_and_freeze(data_dir: Path, tmp_path: Path) -> None:
    prompts = [{"prompt": f"Q{i}"} for i in range(5)] + [
        {"prompt": "Break it", "source": "red_team", "tag": "jailbreak"}
    ]
    answers = [
        {"model": m, "prompt": p["prompt"], "text": f"{m}: {p['prompt']}"}
        for p in prompts
        for m in ("base-v1", "tuned-v2")
    ]
    out = _run(
        data_dir,
        "rounds",
        "start",
        "ab",
        "--model",
        "tuned-v2",
        "--prompts",
        str(_write(tmp_path / "p.jsonl", prompts)),
        "--answers",
        str(_write(tmp_path / "a.jsonl", answers)),
    )
    assert "round 1: 6 blind A/B items" in out
    assert "tuned-v2 vs base-v1, 6 items" in _run(data_dir, "rounds", "report", "ab", "1")
    assert "open" in _run(data_dir, "rounds", "list", "ab")
    assert "round 1 is frozen" in _run(data_dir, "rounds", "freeze", "ab", "1")


def test_bad_lines_are_reported_by_number_and_nothing_is_made(
    data_dir: Path, tmp_path: Path
) -> None:
    prompts = _write(tmp_path / "p.jsonl", [{"prompt": "Q1"}])
    bad = tmp_path / "a.jsonl"
    bad.write_text(
        '{"model": "base-v1", "prompt": "Q1", "text": "x"}\n'
        "not json\n"
        '{"model": "tuned-v2", "prompt": "Q1"}\n'
    )
    out = _run(
        data_dir,
        "rounds",
        "start",
        "ab",
        "--model",
        "tuned-v2",
        "--prompts",
        str(prompts),
        "--answers",
        str(bad),
        code=1,
    )
    assert "line 2" in out and "line 3" in out
    missing = _write(tmp_path / "b.jsonl", [{"model": "base-v1", "prompt": "Q1", "text": "x"}])
    out = _run(
        data_dir,
        "rounds",
        "start",
        "ab",
        "--model",
        "tuned-v2",
        "--prompts",
        str(prompts),
        "--answers",
        str(missing),
        code=1,
    )
    assert "no answer from tuned-v2" in out
    assert "open" not in _run(data_dir, "rounds", "list", "ab")
