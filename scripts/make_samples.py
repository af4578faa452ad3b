"""Rebuild the small demo samples in src/judgeloop/samples/ from ../shared/data.

Run from the repository root: `.venv/bin/python scripts/make_samples.py`. The samples are
committed (with their LICENSE files), so the demo works without ../shared.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "src" / "judgeloop" / "samples"


def _read_json_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path) as f:
        data: list[dict[str, str]] = json.load(f)
    return data


def _read_jsonl_gz(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def alpaca_pairs(n: int = 60) -> None:
    """Instructions with answers from two real models, for A/B, ranking and rating."""
    src = SHARED / "alpaca_eval" / "model_outputs"
    models = ["gpt4", "llama-2-7b-chat-hf", "alpaca-7b"]
    outputs = {m: _read_json_gz(src / f"{m}.json.gz") for m in models}
    rng = random.Random(0)
    picks = sorted(rng.sample(range(len(outputs["gpt4"])), n))
    rows = []
    for i in picks:
        row: dict[str, object] = {
            "id": f"alpaca-{i}",
            "instruction": outputs["gpt4"][i]["instruction"],
            "dataset": outputs["gpt4"][i]["dataset"],
        }
        for m in models:
            row[f"output_{m}"] = outputs[m][i]["output"]
        rows.append(row)
    _write_jsonl(OUT / "alpaca_eval" / "answers.jsonl", rows)
    shutil.copy(SHARED / "alpaca_eval" / "LICENSE", OUT / "alpaca_eval" / "LICENSE")


def humaneval() -> None:
    """All 164 coding problems: the canonical solution, a broken variant, tests, entry point.

    The broken variant is the first of `broken_variants` (off by one, boundary, returns
    None, stub) that the problem's own tests fail in the sandbox, so every one fails.
    """
    from concurrent.futures import ThreadPoolExecutor

    rows = _read_jsonl_gz(SHARED / "humaneval" / "HumanEval.jsonl.gz")
    with ThreadPoolExecutor(2) as pool:
        out = list(pool.map(_humaneval_row, rows))
    _write_jsonl(OUT / "humaneval" / "problems.jsonl", out)
    shutil.copy(SHARED / "humaneval" / "LICENSE", OUT / "humaneval" / "LICENSE")


def _humaneval_row(row: dict[str, str]) -> dict[str, object]:
    from judgeloop.cli.demo_variants import broken_variants
    from judgeloop.sandbox import ExitReason, run_python_tests

    code = row["prompt"] + row["canonical_solution"]
    entry, tests = row["entry_point"], row["test"]
    if run_python_tests(code, tests, entry).reason != ExitReason.OK:
        raise SystemExit(f"{row['task_id']}: the canonical solution does not pass")
    broken = next(
        (
            v
            for v in broken_variants(code, entry)
            if not run_python_tests(v.code, tests, entry).passed
        ),
        None,
    )
    if broken is None:
        raise SystemExit(f"{row['task_id']}: no broken variant fails the tests")
    return {
        "id": row["task_id"],
        "prompt": "Complete this Python function:\n\n```python\n" + row["prompt"] + "```",
        "solution": "```python\n" + code + "```",
        "broken": "```python\n" + broken.code + "```",
        "broken_mutation": f"{broken.kind}: {broken.description}",
        "entry_point": entry,
        "test": tests,
    }


def hh_rlhf(n: int = 40, start: int = 0, name: str = "dialogues.jsonl") -> None:
    """Dialogues whose last Assistant turn differs: chosen vs rejected, as conversations.

    ``dialogues.jsonl`` (rows 0-39) is the demo's A/B project; ``history.jsonl`` (the
    next 400 rows, disjoint) is the demo loop's historical judgments to train on.
    """
    rows = _read_jsonl_gz(SHARED / "hh-rlhf-harmless" / "dev.jsonl.gz")
    rng = random.Random(start)
    out = []
    for i, row in enumerate(rows[start:], start=start):
        if len(out) == n:
            break
        messages, chosen = _split_dialogue(row["chosen"])
        _, rejected = _split_dialogue(row["rejected"])
        if not chosen.strip() or not rejected.strip():
            continue  # an empty final turn leaves nothing to compare
        # Sides are shuffled so the human-preferred answer is not always A.
        flip = rng.random() < 0.5
        a, b = (rejected, chosen) if flip else (chosen, rejected)
        out.append(
            {
                "id": f"hh-{i}",
                "messages": messages,
                "answer_a": a,
                "answer_b": b,
                "human_preferred": "B" if flip else "A",
            }
        )
    _write_jsonl(OUT / "hh_rlhf" / name, out)
    shutil.copy(SHARED / "hh-rlhf-harmless" / "LICENSE", OUT / "hh_rlhf" / "LICENSE")


def _split_dialogue(text: str) -> tuple[list[dict[str, str]], str]:
    turns = []
    for chunk in text.split("\n\n"):
        if chunk.startswith("Human:"):
            turns.append({"role": "user", "content": chunk[len("Human:") :].strip()})
        elif chunk.startswith("Assistant:"):
            turns.append({"role": "assistant", "content": chunk[len("Assistant:") :].strip()})
        elif turns:
            turns[-1]["content"] += "\n\n" + chunk
    last = turns.pop()
    return turns, last["content"]


if __name__ == "__main__":
    alpaca_pairs()
    humaneval()
    hh_rlhf()
    hh_rlhf(n=1200, start=40, name="history.jsonl")
