"""Isolated execution of untrusted candidate code against its tests (the code_run kind).

    from judgeloop.sandbox import Limits, run_python_tests

    result = run_python_tests(code, tests, "add", Limits(wall_s=5))
    result.reason, result.cases, result.model_dump(mode="json")

`available_modes()` says which isolation modes run on this machine (``bwrap`` >
``unshare`` > ``rlimits-only``) and what each isolates; docs/sandbox.md says it plainly.
"""

from judgeloop.sandbox.models import (
    RUNNER_NAME,
    CaseResult,
    CaseStatus,
    ExitReason,
    Limits,
    ModeInfo,
    ModeName,
    RunResult,
    SandboxEvent,
    SandboxUnavailable,
)
from judgeloop.sandbox.runner import available_modes, best_mode, run_python_tests

__all__ = [
    "RUNNER_NAME",
    "CaseResult",
    "CaseStatus",
    "ExitReason",
    "Limits",
    "ModeInfo",
    "ModeName",
    "RunResult",
    "SandboxEvent",
    "SandboxUnavailable",
    "available_modes",
    "best_mode",
    "run_python_tests",
]
