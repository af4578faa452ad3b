"""The sandbox's entry points: which modes run here, and running code against its tests."""

from __future__ import annotations

import functools
import marshal
import os
import shutil
import sys
import threading
from typing import Any

from judgeloop.sandbox.guest_cases import plan_cases, serialize
from judgeloop.sandbox.launch import Interpreter, bwrap_features, find_interpreter
from judgeloop.sandbox.models import (
    MODE_ORDER,
    ExitReason,
    Isolation,
    Limits,
    ModeInfo,
    ModeName,
    RunResult,
    SandboxUnavailable,
)
from judgeloop.sandbox.process import Outcome, execute
from judgeloop.sandbox.results import build_result

FULL: list[Isolation] = [
    "time",
    "memory",
    "processes",
    "output",
    "disk",
    "kill_all",
    "unprivileged",
    "network",
    "host_files",
]
HOW = {
    "bwrap": "bubblewrap: new user, pid, network, ipc, uts and cgroup namespaces, a minimal "
    "read-only root, resource limits",
    "unshare": "unshare as root: new mount, pid, network, ipc, uts and cgroup namespaces, a "
    "minimal read-only root, resource limits, the run's own user",
    "rlimits-only": "resource limits, a scratch directory and the run's own user: no namespaces",
}
AS_YOURSELF = (
    "resource limits only, and the code runs as your own user: it can read and change your "
    "files and use the network; used only when asked for by name (mode='rlimits-only')"
)
PROBE_CODE = "def probe():\n    return 1\n"
PROBE_TESTS = "def check(candidate):\n    assert candidate() == 1\n"


def _isolates(mode: ModeName) -> list[Isolation]:
    if mode != "rlimits-only":
        return list(FULL)
    if os.geteuid() == 0:
        return ["time", "memory", "processes", "output", "kill_all", "unprivileged"]
    return ["time", "memory", "processes", "output"]


def _prerequisite(mode: ModeName, interp: Interpreter) -> str | None:
    """Why ``mode`` cannot run here, judged without running it; None when it may."""
    root = os.geteuid() == 0
    if mode == "bwrap":
        if "bwrap" not in bwrap_features():
            return "bubblewrap is not installed (apt-get install bubblewrap)"
        if root and not interp.others_can_run:
            return f"{interp.path} cannot be run by an unprivileged user, and bwrap drops root"
    elif mode == "unshare":
        if not root:
            return "needs root (without bubblewrap, the namespaces are made as root)"
        if shutil.which("unshare") is None:
            return "util-linux unshare is not installed"
    elif root and not interp.others_can_run:
        return f"{interp.path} cannot be run by an unprivileged user; code never runs as root"
    return None


def _interpreter(python: str | None) -> Interpreter:
    interp = find_interpreter(python)
    if interp is None:
        raise SandboxUnavailable(f"no Python 3.10 or later to run the sandbox with ({python})")
    return interp


@functools.cache
def _probe_modes(python: str | None) -> tuple[ModeInfo, ...]:
    interp = _interpreter(python)
    infos = []
    for mode in MODE_ORDER:
        reason = _prerequisite(mode, interp)
        if reason is None:
            limits = Limits(wall_s=30, cpu_s=10)
            result = _run(mode, interp, limits, PROBE_CODE, PROBE_TESTS, "probe")
            if result.reason != ExitReason.OK:
                reason = f"a trial run failed: {result.detail} {result.stderr[-300:]}".strip()
        how = AS_YOURSELF if mode == "rlimits-only" and os.geteuid() != 0 else HOW[mode]
        info = ModeInfo(
            name=mode,
            available=reason is None,
            reason=reason or how,
            isolates=_isolates(mode) if reason is None else [],
            python=interp.describe(),
        )
        infos.append(info)
    return tuple(infos)


def available_modes(python: str | None = None) -> list[ModeInfo]:
    """List every mode, strongest first, with whether it runs here and what it isolates.

    The first call tries each mode once (a fraction of a second); later calls reuse the
    answer.

    Args:
        python: The interpreter the sandbox runs; by default this Python's base
            interpreter, or the system's ``python3`` when only that one can be run by an
            unprivileged user.

    Raises:
        SandboxUnavailable: No usable interpreter was found.
    """
    return [info.model_copy(deep=True) for info in _probe_modes(python)]


def best_mode(python: str | None = None) -> ModeInfo:
    """The strongest mode available here (what a run uses when it names none).

    The rlimits-only mode without root is never picked by default: there the code would
    run as the calling user, with the run of that user's files.

    Raises:
        SandboxUnavailable: No mode can run here.
    """
    for info in available_modes(python):
        if not info.available:
            continue
        if info.name == "rlimits-only" and "unprivileged" not in info.isolates:
            continue  # it would run as the caller's own user: only when asked for by name
        return info
    reasons = "; ".join(f"{i.name}: {i.reason}" for i in available_modes(python))
    raise SandboxUnavailable(f"no sandbox mode can run here ({reasons})")


# CPython 3.11's AST constructor keeps its recursion depth in shared state: two threads
# building syntax trees at once can fail with "AST constructor recursion depth mismatch"
# (seen in CI with two runs in parallel). Planning is fast, so it runs one at a time.
_AST_LOCK = threading.Lock()


def _plan(tests: str, interp: Interpreter) -> dict[str, Any] | None:
    """Split the tests into cases here, where ast is loaded already.

    None leaves it to the runner: another Python version's syntax tree may differ.
    """
    if tuple(int(p) for p in interp.version.split(".")[:2]) != sys.version_info[:2]:
        return None
    try:
        with _AST_LOCK:
            tree, cases, shape = plan_cases(tests)
            plan = {"tree": serialize(tree), "cases": cases, "shape": shape}
        marshal.dumps(plan)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the runner reports it, in the same words as any other load error
    return plan


def _run(
    mode: ModeName, interp: Interpreter, limits: Limits, code: str, tests: str, entry_point: str
) -> RunResult:
    job: dict[str, Any] = {"code": code, "tests": tests, "entry_point": entry_point}
    job["limits"] = limits.model_dump()
    plan = _plan(tests, interp)
    if plan is not None:
        job["plan"] = plan
    outcome: Outcome
    outcome, _ = execute(mode, interp, limits, job)
    return build_result(mode, interp, limits, outcome)


def run_python_tests(
    code: str,
    tests: str,
    entry_point: str,
    limits: Limits | None = None,
    *,
    mode: ModeName | None = None,
    python: str | None = None,
) -> RunResult:
    """Run untrusted Python ``code`` against ``tests`` in the sandbox and report each case.

    The tests are HumanEval-style (``def check(candidate): assert ...``, called with the
    code's ``entry_point``; each top-level assert is one case), or ``test_*`` functions,
    or a plain module (one case). Test code sees the code's names, as in HumanEval.

    Args:
        code: The candidate's source (for HumanEval: the prompt plus the completion).
        tests: The test source.
        entry_point: The function ``check`` receives.
        limits: Time, memory, process and output limits (defaults: `Limits()`).
        mode: ``bwrap``, ``unshare`` or ``rlimits-only``; by default the strongest
            available (`best_mode`).
        python: The interpreter to run (see `available_modes`).

    Returns:
        The run's result; ``result.passed`` when every case passed.

    Raises:
        SandboxUnavailable: The mode asked for (or every mode) cannot run here.
    """
    limits = limits or Limits()
    interp = _interpreter(python)
    if mode is None:
        chosen: ModeName = best_mode(python).name
    else:
        info = next(i for i in available_modes(python) if i.name == mode)
        if not info.available:
            raise SandboxUnavailable(f"sandbox mode {mode} is not available: {info.reason}")
        chosen = mode
    return _run(chosen, interp, limits, code, tests, entry_point)
