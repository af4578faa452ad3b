"""The sandbox: overhead per run beside a bare interpreter, and all of HumanEval, per mode.

    .venv/bin/python bench/sandbox.py                      # every available mode
    .venv/bin/python bench/sandbox.py --modes bwrap --runs 50 --jobs 1

For each mode available here (`judgeloop.sandbox.available_modes()`):

1. Overhead: ``--runs`` sequential runs of a trivial passing test (``def f(): return 1``,
   ``check`` asserting ``candidate() == 1``) through `run_python_tests`, timed end to end
   from the caller (spawn, isolation set-up, the runner, teardown, the result model),
   beside the same number of bare ``python -c pass`` and ``python -I -S -c pass`` runs of
   the interpreter the sandbox uses. p50 and p95 of each, and the sandbox's p50 as a
   multiple of the bare ``python -c pass`` p50.
2. HumanEval: all 164 problems of ../shared/data/humaneval, each run four times: the
   canonical solution (must pass) and three broken variants (must fail): ``return None``,
   ``raise ValueError``, and the canonical solution with its answer off by one (numbers
   +1, booleans negated, strings and lists changed). ``--jobs`` runs at a time (default:
   the number of CPUs); the wall time of the whole set is reported.

The table goes to stdout; all figures, with the load average before and after each mode,
go to bench/.out/sandbox.json. Exit status 1 when a canonical solution did not pass or a
broken variant did not fail.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from judgeloop.sandbox import ExitReason, available_modes, run_python_tests
from judgeloop.sandbox.launch import find_interpreter
from judgeloop.sandbox.models import ModeName

OUT = ROOT / "bench" / ".out" / "sandbox.json"
DATA = next(
    (p for p in (ROOT.parent / "shared" / "data", Path("/work/shared/data")) if p.is_dir()),
    ROOT.parent / "shared" / "data",
)
TRIVIAL = ("def f():\n    return 1\n", "def check(candidate):\n    assert candidate() == 1\n")
OFF_BY_ONE = """

def _off_by_one(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + " "
    if isinstance(value, (list, tuple)):
        return type(value)(list(value)[:-1]) if value else type(value)([0])
    return 0 if value is None else None


_canonical = {entry}


def {entry}(*args, **kwargs):
    return _off_by_one(_canonical(*args, **kwargs))
"""


def variants(problem: dict[str, Any]) -> dict[str, str]:
    prompt, entry = problem["prompt"], problem["entry_point"]
    return {
        "canonical": prompt + problem["canonical_solution"],
        "return-none": prompt + "    return None\n",
        "raises": prompt + "    raise ValueError('not implemented')\n",
        "off-by-one": prompt + problem["canonical_solution"] + OFF_BY_ONE.format(entry=entry),
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def time_bare(argv: list[str], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def time_mode(mode: ModeName, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = run_python_tests(*TRIVIAL, "f", mode=mode)
        samples.append(time.perf_counter() - started)
        if result.reason != ExitReason.OK:
            raise SystemExit(f"{mode}: the trivial test did not pass: {result.detail}")
    return percentiles(samples)


def humaneval(mode: ModeName, problems: list[dict[str, Any]], jobs: int) -> dict[str, Any]:
    work = [(p, name, code) for p in problems for name, code in variants(p).items()]

    def one(item: tuple[dict[str, Any], str, str]) -> tuple[str, str, str]:
        problem, name, code = item
        result = run_python_tests(code, problem["test"], problem["entry_point"], mode=mode)
        return problem["task_id"], name, result.reason.value

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, work))
    wall = time.perf_counter() - started
    canonical = [o for o in outcomes if o[1] == "canonical"]
    broken = [o for o in outcomes if o[1] != "canonical"]
    return {
        "canonical_passed": sum(o[2] == "ok" for o in canonical),
        "canonical_total": len(canonical),
        "broken_failed": sum(o[2] == "failed" for o in broken),
        "broken_total": len(broken),
        "not_as_expected": [o for o in canonical if o[2] != "ok"]
        + [o for o in broken if o[2] != "failed"],
        "runs": len(outcomes),
        "wall_s": wall,
        "per_run_ms": wall / len(outcomes) * 1000 * jobs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", nargs="*", help="default: every available mode")
    parser.add_argument("--runs", type=int, default=30, help="overhead runs per mode")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--problems", type=int, default=164, help="HumanEval problems to run")
    args = parser.parse_args()

    interp = find_interpreter()
    assert interp is not None, "no interpreter for the sandbox"
    with gzip.open(DATA / "humaneval" / "HumanEval.jsonl.gz", "rt") as fh:
        problems = [json.loads(line) for line in fh][: args.problems]
    modes = [m for m in available_modes() if m.available]
    if args.modes:
        modes = [m for m in modes if m.name in args.modes]

    report: dict[str, Any] = {"python": interp.describe(), "cpus": os.cpu_count()}
    report["jobs"], report["runs"] = args.jobs, args.runs
    report["bare"] = {
        "python -c pass": time_bare([interp.path, "-c", "pass"], args.runs),
        "python -I -S -c pass": time_bare([interp.path, "-I", "-S", "-c", "pass"], args.runs),
    }
    report["modes"] = {}
    for info in modes:
        load_before = os.getloadavg()[0]
        overhead = time_mode(info.name, args.runs)
        suite = humaneval(info.name, problems, args.jobs)
        report["modes"][info.name] = {
            "overhead": overhead,
            "ratio_to_bare": overhead["p50_ms"] / report["bare"]["python -c pass"]["p50_ms"],
            "humaneval": suite,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        }
    print_table(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nfigures: {OUT.relative_to(ROOT)}")
    bad = [m for m in report["modes"].values() if m["humaneval"]["not_as_expected"]]
    return 1 if bad else 0


def print_table(report: dict[str, Any]) -> None:
    print(f"sandbox interpreter: {report['python']}; {report['cpus']} CPUs; jobs {report['jobs']}")
    print(f"\ntrivial passing test, {report['runs']} sequential runs each (ms; x and + against")
    print("the bare `python -c pass` p50)")
    print(f"{'':24} {'p50':>8} {'p95':>8} {'x bare':>8} {'+ ms':>8}")
    bare = report["bare"]["python -c pass"]["p50_ms"]
    rows = [(name, figures) for name, figures in report["bare"].items()]
    rows += [(f"sandbox {name}", mode["overhead"]) for name, mode in report["modes"].items()]
    for name, figures in rows:
        p50, p95 = figures["p50_ms"], figures["p95_ms"]
        print(f"{name:24} {p50:8.1f} {p95:8.1f} {p50 / bare:8.2f} {p50 - bare:8.1f}")
    print("\nHumanEval, all problems: canonical must pass, 3 broken variants each must fail")
    print(f"{'mode':14} {'canonical ok':>14} {'broken failed':>14} {'runs':>6} {'wall s':>8}")
    for name, mode in report["modes"].items():
        he = mode["humaneval"]
        ok = f"{he['canonical_passed']}/{he['canonical_total']}"
        failed = f"{he['broken_failed']}/{he['broken_total']}"
        print(f"{name:14} {ok:>14} {failed:>14} {he['runs']:>6} {he['wall_s']:8.1f}")
        for task, variant, reason in he["not_as_expected"][:10]:
            print(f"    not as expected: {task} {variant}: {reason}")
    loads = ", ".join(
        f"{n} {m['load_before']:.1f}->{m['load_after']:.1f}" for n, m in report["modes"].items()
    )
    print(f"load average (1 min) before->after each mode: {loads}")


if __name__ == "__main__":
    raise SystemExit(main())
