"""The CLI end to end on a real SQLite file: init, project, import, re-import, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgeloop.cli import app

runner = CliRunner()


def _run(data_dir: Path, *args: str, ok: bool = True) -> str:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    output = result.output + (result.stderr if result.stderr_bytes else "")
    if ok:
        assert result.exit_code == 0, output
    else:
        assert result.exit_code == 1, output
        assert "Traceback" not in output
    return output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    _run(data, "init", "--admin-email", "admin@example.org", "--admin-password", "admin pass 123")
    return data


def _rows() -> list[dict[str, object]]:
    return [
        {
            "qid": f"q{i}",
            "question": f"What is {i} + {i}?",
            "good": f"It is {2 * i}.",
            "bad": f"It is {2 * i + 1}.",
            "domain": "math" if i % 2 else "arithmetic",
        }
        for i in range(25)
    ]


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


MAP = [
    "--map",
    "prompt=question",
    "--map",
    "answers=good,bad",
    "--map",
    "models=m-good,m-bad",
    "--map",
    "id=qid",
    "--map",
    "metadata=domain",
]


def test_import_export_round_trip(data_dir: Path, tmp_path: Path) -> None:
    src = _write_jsonl(tmp_path / "in.jsonl", _rows())
    _run(data_dir, "project", "create", "math", "--preset", "ab_comparison")
    out = _run(data_dir, "import", "math", str(src), *MAP)
    assert "25 items added" in out
    again = _run(data_dir, "import", "math", str(src), *MAP)
    assert "0 items added, 25 duplicates skipped" in again
    exported = tmp_path / "items.jsonl"
    _run(data_dir, "export", "math", "--what", "items", "--format", "jsonl", "--out", str(exported))
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(rows) == 25
    by_id = {r["external_id"]: r for r in rows}
    for original in _rows():
        got = by_id[original["qid"]]
        assert got["prompt"] == original["question"]
        assert [(c["text"], c["model"]) for c in got["candidates"]] == [
            (original["good"], "m-good"),
            (original["bad"], "m-bad"),
        ]
        assert got["metadata"]["domain"] == original["domain"]
    # The exported file imports into a new project unchanged, with the default mapping.
    _run(data_dir, "project", "create", "math-copy", "--preset", "ab_comparison")
    assert "25 items added" in _run(data_dir, "import", "math-copy", str(exported))


def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    data_dir: Path, tmp_path: Path
) -> None:
    rows = _rows()
    del rows[3]["good"]
    src = tmp_path / "bad.jsonl"
    src.write_text(
        "".join(json.dumps(r) + "\n" for r in rows[:7]) + "{not json\n", encoding="utf-8"
    )
    _run(data_dir, "project", "create", "math", "--preset", "ab_comparison")
    out = _run(data_dir, "import", "math", str(src), *MAP, ok=False)
    assert "line 4" in out and "good" in out
    assert "line 8" in out
    listing = _run(data_dir, "project", "show", "math")
    assert '"items": 0' in listing
    out = _run(data_dir, "import", "math", str(src), *MAP, "--skip-invalid")
    assert "6 items added" in out and "2 rejected" in out
    rejected = Path(str(src) + ".rejected.jsonl")
    assert rejected.exists() and len(rejected.read_text().splitlines()) == 2


def test_users_tokens_and_listing(data_dir: Path, tmp_path: Path) -> None:
    _run(
        data_dir,
        "user",
        "create",
        "w@example.org",
        "--role",
        "worker",
        "--password",
        "worker pass 1",
    )
    token = _run(data_dir, "user", "token", "w@example.org").strip()
    assert token.startswith("jl_")
    out = _run(data_dir, "user", "create", "w@example.org", "--password", "worker pass 1", ok=False)
    assert "already exists" in out
    out = _run(data_dir, "user", "create", "x@example.org", "--password", "short", ok=False)
    assert "password" in out
    assert "ab_comparison" in _run(data_dir, "project", "presets")
    out = _run(data_dir, "project", "create", "x", "--preset", "nope", ok=False)
    assert "nope" in out


def test_custom_composition_from_json(data_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.json"
    questions.write_text(
        json.dumps(
            [{"key": "ok", "kind": "rating", "title": "OK?", "config": {"min": 1, "max": 9}}]
        )
    )
    _run(data_dir, "project", "create", "custom", "--questions", str(questions))
    assert "ok: rating" in _run(data_dir, "project", "show", "custom")
    questions.write_text(
        json.dumps(
            [{"key": "ok", "kind": "rating", "title": "OK?", "config": {"min": 5, "max": 1}}]
        )
    )
    out = _run(data_dir, "project", "create", "custom2", "--questions", str(questions), ok=False)
    assert "questions.0.config" in out
