"""`judgeloop models add|list`, `generate` and `judge` on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgeloop.cli import app
from judgeloop.cli.models import parse_params
from judgeloop.errors import InvalidInput
from tests.llm.fake_judge import fake_judge
from tests.llm.fake_openai import FakeOpenAI

runner = CliRunner()


def _run(data_dir: Path, *args: str, ok: bool = True) -> str:
    result = runner.invoke(app, ["--data-dir", str(data_dir), *args])
    output = result.output + (result.stderr if result.stderr_bytes else "")
    assert result.exit_code == (0 if ok else 1), output
    assert "Traceback" not in output
    return output


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    _run(data, "init", "--admin-email", "admin@example.org", "--admin-password", "admin pass 123")
    return data


def test_parse_params_reads_json_values() -> None:
    got = parse_params(["temperature=0.5", 'stop=["\\n"]', "note=plain text"], '{"seed": 3}')
    assert got == {"seed": 3, "temperature": 0.5, "stop": ["\n"], "note": "plain text"}
    with pytest.raises(InvalidInput):
        parse_params(["novalue"], None)


def test_register_generate_and_judge_from_the_command_line(
    data_dir: Path, tmp_path: Path, fake_server: FakeOpenAI
) -> None:
    url = fake_server.base_url
    _run(data_dir, "models", "add", "base-v1", "--base-url", url, "--param", "temperature=0")
    _run(
        data_dir,
        "models",
        "add",
        "sft-v2",
        "--base-url",
        url,
        "--model-name",
        "fake-sft",
        "--parent",
        "base-v1",
        "--param",
        "price_per_1k=0.5",
        "--api-key-env",
        "JUDGELOOP_TEST_UNUSED_KEY",
    )
    out = _run(data_dir, "models", "add", "base-v1", "--base-url", url, ok=False)
    assert "already registered" in out
    out = _run(data_dir, "models", "add", "broken", "--base-url", "ftp://x", ok=False)
    assert "base_url must start with http" in out
    listing = _run(data_dir, "models", "list")
    assert "base-v1" in listing and "sft-v2" in listing and "fake-sft" in listing

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"q": f"Question {i}?"}) + "\n" for i in range(6)))
    _run(data_dir, "project", "create", "ab", "--preset", "ab_comparison")
    _run(data_dir, "import", "ab", str(prompts), "--map", "prompt=q")
    out = _run(data_dir, "generate", "ab", "--model", "base-v1", "--model", "sft-v2", ok=False)
    assert "JUDGELOOP_TEST_UNUSED_KEY" in out  # the key's variable is named but not set

    _run(data_dir, "models", "add", "sft-v3", "--base-url", url, "--parent", "sft-v2")
    out = _run(data_dir, "generate", "ab", "--model", "base-v1", "--model", "sft-v3")
    assert fake_server.state.requests == 12 and "12" in out
    again = _run(data_dir, "generate", "ab", "--model", "base-v1", "--model", "sft-v3")
    assert fake_server.state.requests == 12 and "12" in again  # all 12 resumed

    fake_server.state.responder = fake_judge(prefer="Question 1")
    out = _run(data_dir, "judge", "ab", "--model", "base-v1")
    assert "6 ok" in out
    out = _run(data_dir, "judge", "ab", "--model", "base-v1", "--swap", "--prioritize")
    assert "6 ok" in out and "(swapped)" in out and "go first" in out
