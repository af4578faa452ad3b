"""Label aggregation beside crowd-kit, adaptive redundancy, ratings, and AlpacaEval win rates.

    .venv/bin/python bench/aggregate.py              # everything (crowd-kit GLAD: ~2-4 min)
    .venv/bin/python bench/aggregate.py --skip-glad  # without crowd-kit's GLAD

1. Per truth-inference dataset (../shared/data/truth-inference): accuracy against the
   gold truth and wall time of crowd-kit's MajorityVote, Wawa, DawidSkene and GLAD
   (default settings) and of judgeloop's default aggregator (Laplace-smoothed
   Dawid-Skene) and GLAD, with the mean over the six categorical datasets.
2. 1,000,000 synthetic labels (100,000 items x 10 labels, 1,000 workers, 4 classes):
   crowd-kit DawidSkene against judgeloop's default aggregator, timed from a data
   frame / raw arrays to labels (judgeloop's time includes encoding), best of runs.
3. Adaptive redundancy: each dataset replayed as if its labels arrived one at a time
   (each item's labels in a seeded random order), with the default stopping rule;
   judgments spent and accuracy against using every label, and against fixed
   redundancy with the same budget; the table for seed 0, a summary for each of
   ``--seeds`` seeds.
4. Ratings (N_Emotion): MAE against the truth of the plain mean and of judgeloop's
   reliability-weighted, bias-corrected mean.
5. AlpacaEval: win rates from ../shared/data/alpaca_eval/judge_annotations beside the
   published leaderboard (alpaca_eval_gpt4_leaderboard.csv).

BLAS is limited to one thread (unless OPENBLAS_NUM_THREADS is set): on a small shared
machine multithreaded BLAS on long thin vectors slows both libraries down erratically.
Figures go to bench/.out/aggregate.json.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import gzip
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from judgeloop.aggregate.encoding import LabelData, encode_labels
from judgeloop.aggregate.glad import glad
from judgeloop.aggregate.labels import default_label_model
from judgeloop.aggregate.ratings import rating_consensus
from judgeloop.aggregate.redundancy import StoppingRule, arrival_rank, replay_adaptive
from judgeloop.aggregate.winrate import win_rate

_CANDIDATES = [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
DATA = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])
CATEGORICAL = ["D_PosSent", "D_Product", "s4_Dog", "s4_Face", "spectral_rte", "CF_amt"]
OUT = ROOT / "bench" / ".out" / "aggregate.json"


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Answers (task, worker, label) and truth (indexed by task) of one dataset."""
    folder = DATA / "truth-inference" / name
    if name == "spectral_rte":
        answers = pd.read_csv(folder / "rte_crowd.txt", sep="\t", header=None)
        truth = pd.read_csv(folder / "rte_truth.txt", sep="\t", header=None)
    else:
        answers, truth = pd.read_csv(folder / "answer.csv"), pd.read_csv(folder / "truth.csv")
    answers.columns = ["task", "worker", "label"]
    truth.columns = ["task", "truth"]
    return answers, truth.set_index("task")["truth"]


def accuracy(pred: pd.Series, truth: pd.Series) -> float:
    return float((pred.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def judgeloop_labels(answers: pd.DataFrame, method: Callable[[LabelData], Any]) -> pd.Series:
    data = encode_labels(
        answers.task.to_numpy(), answers.worker.to_numpy(), answers.label.to_numpy()
    )
    result = method(data)
    return pd.Series(result.labels, index=result.item_ids)


def crowd_kit_methods(skip_glad: bool) -> dict[str, Callable[[pd.DataFrame], pd.Series]]:
    from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote, Wawa

    methods: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
        "MV": lambda a: MajorityVote().fit_predict(a),
        "Wawa": lambda a: Wawa().fit_predict(a),
        "DS": lambda a: DawidSkene(n_iter=100).fit_predict(a),
    }
    if not skip_glad:
        methods["GLAD"] = lambda a: GLAD().fit_predict(a)
    return methods


def bench_truth_inference(skip_glad: bool) -> list[dict[str, Any]]:
    methods: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
        f"crowd-kit {k}": v for k, v in crowd_kit_methods(skip_glad).items()
    }
    methods["judgeloop default"] = lambda a: judgeloop_labels(
        a, lambda d: default_label_model(d).consensus
    )
    methods["judgeloop GLAD"] = lambda a: judgeloop_labels(a, glad)
    rows = []
    for name in CATEGORICAL:
        answers, truth = load(name)
        row: dict[str, Any] = {"dataset": name, "labels": len(answers)}
        for label, fn in methods.items():
            pred, seconds = timed(lambda fn=fn, answers=answers: fn(answers))
            row[label] = {"accuracy": accuracy(pred, truth), "seconds": seconds}
            print(
                f"  {name:13s} {label:18s} {row[label]['accuracy']:.3f} {seconds:7.2f}s",
                file=sys.stderr,
                flush=True,
            )
        rows.append(row)
    return rows


def print_truth_inference(rows: list[dict[str, Any]]) -> dict[str, float]:
    methods = [k for k in rows[0] if k not in ("dataset", "labels")]
    width = max(19, max(len(m) for m in methods) + 2)
    print("\n## Truth inference: accuracy (wall time)\n")
    print(f"{'dataset':13s} {'labels':>7s}" + "".join(f"{m:>{width}s}" for m in methods))
    for r in rows:
        cells = "".join(
            f"{r[m]['accuracy']:>{width - 10}.3f} ({r[m]['seconds']:6.2f}s)" for m in methods
        )
        print(f"{r['dataset']:13s} {r['labels']:>7,d}{cells}")
    means = {m: float(np.mean([r[m]["accuracy"] for r in rows])) for m in methods}
    total = {m: float(np.sum([r[m]["seconds"] for r in rows])) for m in methods}
    cells = "".join(f"{means[m]:>{width - 10}.4f} ({total[m]:6.1f}s)" for m in methods)
    print(f"{'mean (total)':13s} {'':>7s}{cells}")
    ds = means["crowd-kit DS"]
    print(
        f"\njudgeloop default mean accuracy {means['judgeloop default']:.4f} vs crowd-kit DS "
        f"{ds:.4f}: {'at or above' if means['judgeloop default'] >= ds else 'BELOW'}"
    )
    return means


def synthetic(
    n_items: int = 100_000, n_workers: int = 1000, k: int = 4, per_item: int = 10, seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Items with 10 distinct workers each; worker accuracy U(0.45, 0.95), 10% spammers."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n_items)
    acc = rng.uniform(0.45, 0.95, n_workers)
    acc[rng.random(n_workers) < 0.1] = 1.0 / k
    gaps = rng.integers(1, n_workers // per_item, (n_items, per_item))
    gaps[:, 0] = 0
    start = rng.integers(0, n_workers, n_items)
    workers = ((start[:, None] + np.cumsum(gaps, axis=1)) % n_workers).ravel()
    items = np.repeat(np.arange(n_items), per_item)
    right = rng.random(len(items)) < acc[workers]
    wrong = (truth[items] + rng.integers(1, k, len(items))) % k
    return items, workers, np.where(right, truth[items], wrong), truth


def bench_million(repeats: int) -> dict[str, Any]:
    from crowdkit.aggregation import DawidSkene

    items, workers, labels, truth = synthetic()
    frame = pd.DataFrame({"task": items, "worker": workers, "label": labels})

    def ours() -> np.ndarray:
        return np.asarray(
            default_label_model(encode_labels(items, workers, labels)).consensus.labels
        )

    ck_times, jl_times = [], []
    for _ in range(max(1, repeats - 1)):
        ck, t = timed(lambda: DawidSkene(n_iter=100).fit(frame))
        ck_times.append(t)
    for _ in range(repeats):
        jl, t = timed(ours)
        jl_times.append(t)
    ck_acc = float((ck.labels_.sort_index().to_numpy() == truth).mean())
    out = {
        "labels": len(labels),
        "crowd_kit_ds_seconds": min(ck_times),
        "crowd_kit_ds_iterations": len(ck.loss_history_),
        "crowd_kit_ds_accuracy": ck_acc,
        "judgeloop_seconds": min(jl_times),
        "judgeloop_accuracy": float((jl == truth).mean()),
    }
    out["speedup"] = out["crowd_kit_ds_seconds"] / out["judgeloop_seconds"]
    print("\n## 1,000,000 synthetic labels (100,000 items, 1,000 workers, 4 classes)\n")
    print(f"{'method':28s} {'seconds':>8s} {'accuracy':>9s}")
    print(
        f"{'crowd-kit DawidSkene':28s} {out['crowd_kit_ds_seconds']:8.2f} {ck_acc:9.4f}"
        f"   ({out['crowd_kit_ds_iterations']} EM iterations, best of {len(ck_times)})"
    )
    print(
        f"{'judgeloop default':28s} {out['judgeloop_seconds']:8.2f} "
        f"{out['judgeloop_accuracy']:9.4f}   (encoding included, best of {repeats})"
    )
    print(f"speed-up: {out['speedup']:.1f}x (aim: at least 5x)")
    return out


def fixed_budget_mask(data: LabelData, budget: int, seed: int) -> np.ndarray:
    """The first ``budget`` labels when every item gets its next label in turn."""
    rank = arrival_rank(data, seed)
    tiebreak = np.random.default_rng(seed + 1).random(data.n_items)[data.items]
    order = np.lexsort((tiebreak, rank))
    mask = np.zeros(len(data), dtype=bool)
    mask[order[:budget]] = True
    return mask


def bench_redundancy(seed: int, *, show: bool = True) -> list[dict[str, Any]]:
    rule = StoppingRule(max_labels=None)
    rows = []
    for name in CATEGORICAL:
        answers, truth = load(name)
        data = encode_labels(
            answers.task.to_numpy(), answers.worker.to_numpy(), answers.label.to_numpy()
        )

        def acc_of(mask: np.ndarray, data: LabelData = data, truth: pd.Series = truth) -> float:
            c = default_label_model(data.subset(mask)).consensus
            return accuracy(pd.Series(c.labels, index=c.item_ids), truth)

        run, seconds = timed(lambda data=data: replay_adaptive(data, rule=rule, seed=seed))
        rows.append(
            {
                "dataset": name,
                "labels": len(data),
                "spent": run.spent,
                "rounds": run.rounds,
                "accuracy_all": acc_of(np.ones(len(data), bool)),
                "accuracy_adaptive": acc_of(run.taken),
                "accuracy_fixed_same_budget": acc_of(fixed_budget_mask(data, run.spent, seed)),
                "seconds": seconds,
            }
        )
    if show:
        print_redundancy(rows, rule, seed)
    return rows


def redundancy_over_seeds(seeds: int) -> dict[str, Any]:
    """Replay with several seeds; print one summary line per seed and the average."""
    runs = {seed: bench_redundancy(seed, show=seed == 0) for seed in range(seeds)}
    print(f"\nover {seeds} seeds (mean over the six datasets):")
    print(f"{'seed':>4s} {'saved (mean)':>13s} {'saved (pooled)':>15s} {'accuracy change':>16s}")
    summary = []
    for seed, rows in runs.items():
        saved = float(np.mean([1 - r["spent"] / r["labels"] for r in rows]))
        pooled = 1 - sum(r["spent"] for r in rows) / sum(r["labels"] for r in rows)
        change = float(np.mean([r["accuracy_adaptive"] - r["accuracy_all"] for r in rows]))
        summary.append(
            {"seed": seed, "saved_mean": saved, "saved_pooled": pooled, "accuracy_change": change}
        )
        print(f"{seed:>4d} {saved:>13.1%} {pooled:>15.1%} {change:>+16.4f}")
    avg = {k: float(np.mean([s[k] for s in summary])) for k in summary[0] if k != "seed"}
    print(
        f"{'all':>4s} {avg['saved_mean']:>13.1%} {avg['saved_pooled']:>15.1%} "
        f"{avg['accuracy_change']:>+16.4f}"
    )
    return {"runs": runs, "summary": summary, "average": avg}


def print_redundancy(rows: list[dict[str, Any]], rule: StoppingRule, seed: int) -> None:
    print(
        f"\n## Adaptive redundancy (replay, seed {seed}; rule: confidence {rule.confidence}, "
        f"min {rule.min_labels} labels, accuracy prior {rule.prior_accuracy} x "
        f"{rule.prior_strength:g}, cap {rule.max_accuracy})\n"
    )
    print(
        f"{'dataset':13s} {'labels':>7s} {'spent':>7s} {'saved':>6s} {'acc all':>8s} "
        f"{'adaptive':>9s} {'fixed@same':>11s} {'rounds':>6s}"
    )
    for r in rows:
        print(
            f"{r['dataset']:13s} {r['labels']:>7,d} {r['spent']:>7,d} "
            f"{1 - r['spent'] / r['labels']:>6.1%} {r['accuracy_all']:>8.3f} "
            f"{r['accuracy_adaptive']:>9.3f} {r['accuracy_fixed_same_budget']:>11.3f} "
            f"{r['rounds']:>6d}"
        )
    labels, spent = sum(r["labels"] for r in rows), sum(r["spent"] for r in rows)
    mean = {
        k: float(np.mean([r[k] for r in rows]))
        for k in ("accuracy_all", "accuracy_adaptive", "accuracy_fixed_same_budget")
    }
    saved_mean = float(np.mean([1 - r["spent"] / r["labels"] for r in rows]))
    print(
        f"{'all / mean':13s} {labels:>7,d} {spent:>7,d} {1 - spent / labels:>6.1%} "
        f"{mean['accuracy_all']:>8.4f} {mean['accuracy_adaptive']:>9.4f} "
        f"{mean['accuracy_fixed_same_budget']:>11.4f}"
    )
    print(
        f"mean of per-dataset savings: {saved_mean:.1%}; mean accuracy change "
        f"{mean['accuracy_adaptive'] - mean['accuracy_all']:+.4f}"
        " (aim: same accuracy, >= 30% saved)"
    )


def bench_ratings() -> dict[str, float]:
    answers, truth = load("N_Emotion")
    r, seconds = timed(lambda: rating_consensus(answers.task, answers.worker, answers.label))
    t = truth.reindex(r.item_ids).to_numpy()
    out = {
        "mae_plain_mean": float(np.abs(r.plain_means - t).mean()),
        "mae_judgeloop": float(np.abs(r.means - t).mean()),
        "seconds": seconds,
    }
    weights_only = rating_consensus(answers.task, answers.worker, answers.label, correct_bias=False)
    out["mae_weights_only"] = float(np.abs(weights_only.means - t).mean())
    print("\n## Ratings: N_Emotion (700 items, 38 workers, 7,000 ratings in -100..100)\n")
    print(f"{'method':45s} {'MAE':>7s}")
    print(f"{'plain mean':45s} {out['mae_plain_mean']:7.3f}")
    print(f"{'judgeloop: reliability-weighted, bias-corrected':45s} {out['mae_judgeloop']:7.3f}")
    print(f"{'judgeloop: reliability-weighted only':45s} {out['mae_weights_only']:7.3f}")
    return out


def bench_alpaca_eval() -> list[dict[str, Any]]:
    folder = DATA / "alpaca_eval"
    board = pd.read_csv(folder / "alpaca_eval_gpt4_leaderboard.csv", index_col=0)
    rows = []
    for path in sorted((folder / "judge_annotations").glob("*.json.gz")):
        model = path.name.split(".alpaca_eval_gpt4")[0]
        with gzip.open(path) as fh:
            annotations = json.loads(fh.read())
        got = win_rate([a["preference"] for a in annotations])
        pub = board.loc[model]
        rows.append(
            {
                "model": model,
                "win_rate": got.win_rate,
                "published": pub["win_rate"],
                "standard_error": got.standard_error,
                "published_se": pub["standard_error"],
                "n_wins": got.n_wins,
                "n_draws": got.n_draws,
                "n_total": got.n_total,
            }
        )
    print("\n## AlpacaEval win rate vs text_davinci_003 (alpaca_eval_gpt4 annotator)\n")
    print(
        f"{'model':22s} {'win rate':>9s} {'published':>10s} {'diff':>9s} {'SE':>6s} "
        f"{'pub SE':>7s} {'wins':>5s} {'draws':>5s} {'n':>4s}"
    )
    for r in rows:
        print(
            f"{r['model']:22s} {r['win_rate']:9.3f} {r['published']:10.3f} "
            f"{r['win_rate'] - r['published']:9.1e} {r['standard_error']:6.3f} "
            f"{r['published_se']:7.3f} {r['n_wins']:5d} {r['n_draws']:5d} {r['n_total']:4d}"
        )
    worst = max(abs(r["win_rate"] - r["published"]) for r in rows)
    print(f"largest difference: {worst:.2e} points (must be under 0.1)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-glad", action="store_true", help="leave out crowd-kit's GLAD")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the 1M timing")
    parser.add_argument("--seeds", type=int, default=3, help="redundancy replays (seeds 0..n-1)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # crowd-kit's pandas deprecation warnings
    print(
        f"data: {DATA}   BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS')}   "
        f"load average: {os.getloadavg()[0]:.2f}"
    )
    results: dict[str, Any] = {"data": str(DATA), "load_average": os.getloadavg()}
    results["truth_inference"] = bench_truth_inference(args.skip_glad)
    results["mean_accuracy"] = print_truth_inference(results["truth_inference"])
    results["million"] = bench_million(args.repeats)
    results["redundancy"] = redundancy_over_seeds(args.seeds)
    results["ratings"] = bench_ratings()
    results["alpaca_eval"] = bench_alpaca_eval()
    results["load_average_end"] = os.getloadavg()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, default=float))
    print(f"\nwritten: {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
