"""The default CPU reward model on HH-RLHF (harmless) and best-of-2 on AlpacaEval.

    .venv/bin/python bench/reward.py                 # everything: about 15 minutes
    .venv/bin/python bench/reward.py --limit 300 --alpaca-limit 100 --variants frozen

What it measures:

- HH-RLHF harmless (../shared/data/hh-rlhf-harmless/dev.jsonl.gz, 1,500 pairs): the
  prompt is the dialogue up to the last Assistant turn; pairs are split 80/20 by a hash
  of the normalized prompt (`export.training.split_of`), so no test prompt is trained
  on. For each variant (``frozen``: MiniLM features + linear Bradley-Terry head;
  ``fine-tuned``: the top 2 MiniLM layers fine-tuned first) `train_reward_cpu` runs in
  its own process: training time (encoding included), held-out pairwise accuracy,
  calibration (ECE, Brier) and the process's peak RSS.
- 5-fold cross-validation by prompt (frozen variant; ``--cv-folds 0`` to skip): the
  folds are fifths of the same prompt hash, so fold 0 is the 80/20 test split and
  every one of the 1,500 pairs is scored once by a model that never saw its prompt;
  the accuracy over all of them has a 4x narrower interval than 275 pairs. The frozen
  encoder's embeddings are cached across folds (deterministic), so CV is quick.
- Best-of-2 on AlpacaEval: for each instruction in judge_annotations/, the reward model
  (the variant with the better held-out accuracy) picks between text_davinci_003's
  answer and the other model's; we count how often its pick is the one GPT-4 preferred
  (draws left out), per model and overall. "longer" is the same count for always
  picking the longer answer, a known strong baseline of LLM judges.

Figures go to bench/.out/reward.json; the trained models to bench/.out/models/.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from judgeloop.export.training import DEFAULT_SPLIT_SEED, prompt_bucket, split_of
from judgeloop.learn.data import PreferencePair, hh_pair

DATA = next(
    (p for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
    ROOT.parent / "shared" / "data",
)
OUT = ROOT / "bench" / ".out"
HH = DATA / "hh-rlhf-harmless" / "dev.jsonl.gz"
JUDGE = DATA / "alpaca_eval" / "judge_annotations"
TEST_FRACTION = 0.2
VARIANTS = ("frozen", "fine-tuned")


SPLIT_SEED = DEFAULT_SPLIT_SEED


def hh_pairs(limit: int | None) -> tuple[list[PreferencePair], list[PreferencePair]]:
    with gzip.open(HH, "rt", encoding="utf-8") as fh:
        pairs = [hh_pair(json.loads(line)) for line in fh]
    pairs = pairs[:limit] if limit else pairs
    train = [p for p in pairs if split_of(p.prompt, TEST_FRACTION, SPLIT_SEED) == "train"]
    test = [p for p in pairs if split_of(p.prompt, TEST_FRACTION, SPLIT_SEED) == "test"]
    return train, test


def child_cv(folds: int, limit: int | None) -> dict[str, Any]:
    """k-fold cross-validation by prompt of the frozen default; every pair held out once."""
    import numpy as np

    from judgeloop.learn import reward_cpu
    from judgeloop.learn.encoder import TextEncoder
    from judgeloop.learn.metrics import pairwise_metrics

    with gzip.open(HH, "rt", encoding="utf-8") as fh:
        pairs = [hh_pair(json.loads(line)) for line in fh]
    pairs = pairs[:limit] if limit else pairs
    fold = [int(prompt_bucket(p.prompt, SPLIT_SEED) * folds) for p in pairs]
    cache: dict[tuple[str, tuple[int, ...]], Any] = {}

    class CachedEncoder(TextEncoder):
        def encode(self, texts: Any, *, layers: Any = (), **kwargs: Any) -> Any:
            todo = sorted({t for t in texts if (t, tuple(layers)) not in cache})
            if todo:
                for t, v in zip(todo, super().encode(todo, layers=layers, **kwargs), strict=True):
                    cache[(t, tuple(layers))] = v
            return np.stack([cache[(t, tuple(layers))] for t in texts])

    reward_cpu.TextEncoder = CachedEncoder  # type: ignore[misc]
    margins, per_fold = np.zeros(len(pairs)), []
    started = time.perf_counter()
    for k in range(folds):
        train = [p for p, f in zip(pairs, fold, strict=True) if f != k]
        test_idx = [i for i, f in enumerate(fold) if f == k]
        model = reward_cpu.train_reward_cpu(train, config=reward_cpu.RewardCpuConfig())
        margins[test_idx] = model.margins([pairs[i] for i in test_idx])
        per_fold.append(
            {"test_pairs": len(test_idx), "accuracy": float(np.mean(margins[test_idx] > 0))}
        )
    return {
        "variant": "frozen",
        "folds": folds,
        "per_fold": per_fold,
        "held_out": pairwise_metrics(margins).as_dict(),
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_train(variant: str, limit: int | None) -> dict[str, Any]:
    """Train one variant (in its own process, so its peak RSS is its own)."""
    from judgeloop.learn.reward_cpu import RewardCpuConfig, train_reward_cpu

    train, test = hh_pairs(limit)
    config = RewardCpuConfig(fine_tune=variant == "fine-tuned", name=f"hh-{variant}")
    started, cpu = time.perf_counter(), time.process_time()
    model = train_reward_cpu(train, eval_pairs=test, config=config, source=str(HH))
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    model.save(OUT / "models" / variant)
    metrics = model.manifest.metrics
    return {
        "variant": variant,
        "train_pairs": len(train),
        "test_pairs": len(test),
        "train_seconds": metrics["train_seconds"],
        "eval_seconds": round(total - metrics["train_seconds"], 1),
        "cpu_seconds_train_and_eval": round(cpu, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "held_out": metrics["held_out"],
        "validation": metrics["validation"],
        "config": model.manifest.config,
    }


def judge_rows(limit: int | None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(JUDGE.glob("*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows = json.load(fh)
        out[path.name.split(".alpaca_eval")[0]] = rows[:limit] if limit else rows
    return out


class Lookup:
    """Scores computed once per unique (instruction, answer): text_davinci_003's answers
    are in every judge file, so scoring per file would encode them four times."""

    def __init__(self, model: Any, rows: list[dict[str, Any]]) -> None:
        keys = sorted(
            {(r["instruction"], r[side]) for r in rows for side in ("output_1", "output_2")}
        )
        scores = model.score([k[0] for k in keys], [k[1] for k in keys])
        self.table = dict(zip(keys, (float(s) for s in scores), strict=True))

    def score(self, prompts: list[str], answers: list[str]) -> list[float]:
        return [self.table[(p, a)] for p, a in zip(prompts, answers, strict=True)]


def child_best_of_2(variant: str, limit: int | None) -> dict[str, Any]:
    """Best-of-2 between text_davinci_003 and each model; agreement with GPT-4."""
    from judgeloop.learn.rerank import load_reward_model, rerank

    model = load_reward_model(OUT / "models" / variant)
    started, cpu = time.perf_counter(), time.process_time()
    judged = judge_rows(limit)
    scorer = Lookup(model, [r for rows in judged.values() for r in rows])
    per_model: dict[str, Any] = {}
    for name, rows in judged.items():
        decided = [r for r in rows if r.get("preference") in (1, 2, 1.0, 2.0)]
        choices = rerank(
            scorer,
            [r["instruction"] for r in decided],
            [[r["output_1"], r["output_2"]] for r in decided],
        )
        agree = sum(
            c.index + 1 == int(r["preference"]) for c, r in zip(choices, decided, strict=True)
        )
        longer = sum(
            (1 if len(r["output_1"]) >= len(r["output_2"]) else 2) == int(r["preference"])
            for r in decided
        )
        per_model[name] = {
            "decided": len(decided),
            "draws_or_missing": len(rows) - len(decided),
            "agreement": agree / len(decided),
            "longer_agreement": longer / len(decided),
            "judge_prefers_model": sum(int(r["preference"]) == 2 for r in decided) / len(decided),
            "rm_prefers_model": sum(c.index == 1 for c in choices) / len(decided),
        }
    total = sum(m["decided"] for m in per_model.values())
    overall = {
        "decided": total,
        "agreement": sum(m["agreement"] * m["decided"] for m in per_model.values()) / total,
        "longer_agreement": sum(m["longer_agreement"] * m["decided"] for m in per_model.values())
        / total,
    }
    return {
        "variant": variant,
        "per_model": per_model,
        "overall": overall,
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_child(task: str, variant: str, args: argparse.Namespace) -> dict[str, Any]:
    target = OUT / f"reward-{task}-{variant}.json"
    command = [sys.executable, __file__, "--child", task, "--variant", variant]
    flags = (
        ("--limit", args.limit),
        ("--alpaca-limit", args.alpaca_limit),
        ("--split-seed", args.split_seed),
        ("--cv-folds", args.cv_folds),
    )
    for flag, value in flags:
        if value:
            command += [flag, str(value)]
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    result: dict[str, Any] = json.loads(target.read_text())
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def print_tables(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    table = Table(title="Reward model on HH-RLHF harmless (held-out split by prompt)")
    for column in ("variant", "train/test pairs", "held-out accuracy [95% CI]", "ECE", "Brier"):
        table.add_column(column, justify="right")
    table.add_column("train time", justify="right")
    table.add_column("CPU time (train+eval)", justify="right")
    table.add_column("peak RSS", justify="right")
    for r in results["variants"]:
        h = r["held_out"]
        table.add_row(
            r["variant"],
            f"{r['train_pairs']}/{r['test_pairs']}",
            f"{h['accuracy']:.1%}  [{h['accuracy_low']:.1%}, {h['accuracy_high']:.1%}]",
            f"{h['ece']:.3f}",
            f"{h['brier']:.3f}",
            f"{r['train_seconds']:.0f} s",
            f"{r['cpu_seconds_train_and_eval']:.0f} s",
            f"{r['peak_rss_mb']} MB",
        )
    console.print(table)
    cv = results.get("cv")
    if cv:
        h = cv["held_out"]
        folds = ", ".join(f"{f['accuracy']:.1%}" for f in cv["per_fold"])
        console.print(
            f"{cv['folds']}-fold CV by prompt ({cv['variant']}, all {h['n']} pairs held out "
            f"once): {h['accuracy']:.1%} [{h['accuracy_low']:.1%}, {h['accuracy_high']:.1%}], "
            f"ECE {h['ece']:.3f}, Brier {h['brier']:.3f}; per fold {folds} ({cv['seconds']:.0f} s)"
        )
    bon = results.get("best_of_2")
    if not bon:
        return
    table = Table(title=f"Best-of-2 on AlpacaEval vs GPT-4 judge ({bon['variant']} model)")
    for column in ("model vs text_davinci_003", "pairs", "RM agrees", "longer agrees"):
        table.add_column(column, justify="right")
    table.add_column("GPT-4 / RM prefer model", justify="right")
    for name, m in bon["per_model"].items():
        prefers = f"{m['judge_prefers_model']:.0%} / {m['rm_prefers_model']:.0%}"
        table.add_row(
            name,
            str(m["decided"]),
            f"{m['agreement']:.1%}",
            f"{m['longer_agreement']:.1%}",
            prefers,
        )
    o = bon["overall"]
    table.add_row(
        "overall", str(o["decided"]), f"{o['agreement']:.1%}", f"{o['longer_agreement']:.1%}", ""
    )
    console.print(table)
    console.print(
        f"best-of-2 scoring: {bon['seconds']:.0f} s ({bon['cpu_seconds']:.0f} s CPU); "
        f"load average at the end: {results['load_average']} on {results['cpu_count']} CPUs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="use the first N HH pairs")
    parser.add_argument("--alpaca-limit", type=int, default=None, help="first N instructions")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--no-best-of-n", action="store_true")
    parser.add_argument("--split-seed", default=DEFAULT_SPLIT_SEED, help="another 80/20 split")
    parser.add_argument("--cv-folds", type=int, default=5, help="k-fold CV by prompt (0: off)")
    parser.add_argument("--child", choices=["train", "best-of-2", "cv"], help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global SPLIT_SEED
    SPLIT_SEED = args.split_seed
    OUT.mkdir(parents=True, exist_ok=True)
    if args.child:
        if args.child == "cv":
            run = child_cv(args.cv_folds, args.limit)
        elif args.child == "train":
            run = child_train(args.variant, args.limit)
        else:
            run = child_best_of_2(args.variant, args.alpaca_limit)
        (OUT / f"reward-{args.child}-{args.variant}.json").write_text(json.dumps(run, indent=2))
        return
    started = time.perf_counter()
    variants = [run_child("train", v, args) for v in args.variants.split(",")]
    results: dict[str, Any] = {"variants": variants, "split_seed": args.split_seed}
    if args.cv_folds and "frozen" in args.variants.split(","):
        results["cv"] = run_child("cv", "frozen", args)
    if not args.no_best_of_n:
        best = max(variants, key=lambda r: r["held_out"]["accuracy"])["variant"]
        results["best_of_2"] = run_child("best-of-2", best, args)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    results["cpu_count"] = os.cpu_count()
    name = (
        "reward.json" if args.split_seed == DEFAULT_SPLIT_SEED else f"reward-{args.split_seed}.json"
    )
    (OUT / name).write_text(json.dumps(results, indent=2))
    print_tables(results)
    print(f"total {results['total_seconds']:.0f} s; figures in {OUT / name}")


if __name__ == "__main__":
    main()
