"""The sandbox's data: the limits a run gets, what one run reports, and what each mode isolates.

Everything here is a pydantic model, so a service can store a run with
``result.model_dump(mode="json")`` and read it back with ``RunResult.model_validate``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from judgeloop.errors import JudgeloopError

RUNNER_NAME = "judgeloop.sandbox.python.v1"
"""Versioned name of the test runner, stored with every result (provenance)."""

ModeName = Literal["bwrap", "unshare", "rlimits-only"]
MODE_ORDER: tuple[ModeName, ...] = ("bwrap", "unshare", "rlimits-only")
"""The modes from the strongest to the weakest; a run takes the first one available."""

Isolation = Literal[
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
"""What a mode isolates (see docs/sandbox.md for the meaning of each)."""


class SandboxUnavailable(JudgeloopError):
    """No sandbox mode can run here, or the mode asked for is not available."""

    code = "sandbox_unavailable"


class Limits(BaseModel):
    """What one run may use. The defaults suit a HumanEval-sized problem.

    Attributes:
        wall_s: Seconds of real time, from start to the last test; then the run is killed.
        cpu_s: Seconds of CPU time for each process (RLIMIT_CPU; rounded up to whole seconds).
        memory_bytes: Address space for each process (RLIMIT_AS).
        processes: Processes and threads the code may run at once, itself included.
        output_bytes: Bytes kept of stdout and of stderr; more and the run is stopped.
        file_bytes: Largest file the code may write (RLIMIT_FSIZE); in the namespace modes
            also the size of each of the sandbox's two scratch file systems (/sandbox, /tmp).
        open_files: File descriptors each process may hold (RLIMIT_NOFILE).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_s: float = Field(10.0, gt=0, le=600)
    cpu_s: float = Field(5.0, gt=0, le=600)
    memory_bytes: int = Field(512 * 1024 * 1024, ge=64 * 1024 * 1024)
    processes: int = Field(16, ge=1, le=4096)
    output_bytes: int = Field(64 * 1024, ge=1024)
    file_bytes: int = Field(16 * 1024 * 1024, ge=4096)
    open_files: int = Field(64, ge=16, le=65536)


class ExitReason(StrEnum):
    """Why a run ended.

    ``ok``: every test passed. ``failed``: a test failed or raised, or the code did not
    load. ``timeout``: the wall-time or CPU-time limit. ``memory``: the memory limit.
    ``output_limit``: too much output on stdout/stderr, or a file over the size limit.
    ``crashed``: the runner died without reporting (a signal, ``os._exit``, broken
    tests). ``blocked``: a test failed after the code tried something the sandbox
    forbids (network, files outside the sandbox, more processes than allowed).
    """

    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    OUTPUT_LIMIT = "output_limit"
    CRASHED = "crashed"
    BLOCKED = "blocked"


class CaseStatus(StrEnum):
    """The outcome of one test case.

    ``passed``; ``failed``: an assertion failed; ``error``: something else raised;
    ``not_run``: the run stopped before the case ran.
    """

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_RUN = "not_run"


class CaseResult(BaseModel):
    """One test case and how it went.

    A case is a top-level assert (or a loop of asserts) of ``check(candidate)``, a
    ``test_*`` function, or the whole test module when it has neither.
    """

    index: int
    name: str
    line: int | None = None
    status: CaseStatus
    duration_s: float = 0.0
    message: str | None = None
    """For a failed assert: the assertion, its message and the values compared."""
    error_type: str | None = None
    traceback: str | None = None


EventKind = Literal["network", "file", "process_limit", "disk", "process"]
BLOCKING_EVENTS: frozenset[str] = frozenset({"network", "file", "process_limit"})


class SandboxEvent(BaseModel):
    """Something the code tried that the sandbox watches for.

    ``network``: a connection, a bind or a name lookup. ``file``: a file opened, listed or
    changed outside the sandbox's own directories. ``process_limit``: a fork or thread
    refused by the process limit. ``disk``: a write refused by the file size limit or by a
    full scratch file system. ``process``: a program started (for the reviewer's
    information; not a violation by itself).
    """

    kind: EventKind
    detail: str


class ModeInfo(BaseModel):
    """One isolation mode and whether it can run on this machine."""

    name: ModeName
    available: bool
    reason: str
    """Why it is not available, or how it runs when it is."""
    isolates: list[Isolation] = Field(default_factory=list)
    python: str | None = None
    """The interpreter the sandbox runs (path and version)."""


class RunResult(BaseModel):
    """Everything one sandboxed run reports, ready to store as JSON."""

    runner: str = RUNNER_NAME
    mode: ModeName
    reason: ExitReason
    detail: str
    """One line for people: what happened and why."""
    passed: bool
    n_passed: int
    n_cases: int
    cases: list[CaseResult]
    events: list[SandboxEvent] = Field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_s: float
    exit_code: int | None = None
    signal: int | None = None
    python: str = ""
    limits: Limits
