"""Turn what the host saw of a run into a `RunResult`: per-case outcomes and one exit reason."""

from __future__ import annotations

import signal
from typing import Any

from judgeloop.sandbox.launch import Interpreter
from judgeloop.sandbox.models import (
    BLOCKING_EVENTS,
    CaseResult,
    CaseStatus,
    ExitReason,
    Limits,
    ModeName,
    RunResult,
    SandboxEvent,
)
from judgeloop.sandbox.process import Outcome

MAX_EVENTS = 50


def _signal_of(mode: ModeName, returncode: int | None) -> int | None:
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if mode != "rlimits-only" and returncode > 128:  # bwrap and ns_setup exit with 128 + n
        return returncode - 128
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _events(messages: list[dict[str, Any]]) -> list[SandboxEvent]:
    seen: dict[tuple[str, str], SandboxEvent] = {}
    for m in messages:
        if m.get("t") == "event" and len(seen) < MAX_EVENTS:
            try:
                event = SandboxEvent(kind=m.get("kind"), detail=str(m.get("detail", "")))
            except ValueError:
                continue
            seen.setdefault((event.kind, event.detail), event)
    return list(seen.values())


def _cases(messages: list[dict[str, Any]], stop: str | None) -> list[CaseResult]:
    """List the planned cases with their reported outcomes.

    A load or setup error, or the run's stop, goes on the first case that did not report.
    """
    plan: dict[str, Any] = next((m for m in messages if m.get("t") == "plan"), {"cases": []})
    reported = {m.get("index"): m for m in messages if m.get("t") == "case"}
    load = next((m for m in messages if m.get("t") == "load_error"), None)
    cases: list[CaseResult] = []
    blamed = False
    for index, case in enumerate(plan.get("cases", [])):
        base = {"index": index, "name": str(case.get("name", "")), "line": case.get("line")}
        found = reported.get(index)
        if found is not None:
            fields = ("status", "duration_s", "message", "error_type", "traceback")
            cases.append(CaseResult(**base, **{k: found.get(k) for k in fields if k in found}))
        elif load is not None and load.get("stage") in ("candidate", "tests"):
            what = "code" if load.get("stage") == "candidate" else "tests"
            message = f"the {what} did not load: {load.get('message')}"
            error = {"message": message, "error_type": load.get("error_type")}
            cases.append(CaseResult(**base, status=CaseStatus.ERROR, **error))
            cases[-1].traceback = load.get("traceback")
        elif not blamed and (load is not None or stop):
            blamed = True
            if load is not None:
                message = f"not reached: a statement before it raised: {load.get('message')}"
            else:
                message = f"not finished: {stop}"
            cases.append(CaseResult(**base, status=CaseStatus.ERROR, message=message))
            if load is not None:
                cases[-1].error_type = load.get("error_type")
                cases[-1].traceback = load.get("traceback")
        else:
            cases.append(CaseResult(**base, status=CaseStatus.NOT_RUN))
    return cases


def _stop_reason(mode: ModeName, outcome: Outcome, limits: Limits) -> tuple[ExitReason, str] | None:
    """The reason when the host or a limit stopped the run, else None."""
    sig = _signal_of(mode, outcome.returncode)
    if outcome.launch_error:
        return ExitReason.CRASHED, outcome.launch_error
    if outcome.killed_for == "output":
        stream = "stdout" if outcome.stdout_truncated else "stderr"
        return ExitReason.OUTPUT_LIMIT, (
            f"stopped: {stream} went over the output limit of {limits.output_bytes} bytes"
        )
    if outcome.killed_for == "timeout":
        return ExitReason.TIMEOUT, f"stopped: wall-time limit of {limits.wall_s:g} s reached"
    if sig == signal.SIGXCPU:
        return ExitReason.TIMEOUT, f"stopped: CPU-time limit of {limits.cpu_s:g} s reached"
    if sig == signal.SIGXFSZ:
        return ExitReason.OUTPUT_LIMIT, (
            f"stopped: a file went over the size limit of {limits.file_bytes} bytes"
        )
    return None


def _crash_detail(mode: ModeName, outcome: Outcome) -> str:
    sig = _signal_of(mode, outcome.returncode)
    if sig == signal.SIGKILL:
        how = "killed by SIGKILL (the CPU hard limit, or the kernel's out-of-memory killer)"
    elif sig is not None:
        how = f"killed by {_signal_name(sig)}"
    else:
        how = f"exit status {outcome.returncode}"
    tail = outcome.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
    return f"the runner died without reporting ({how})" + (f": {tail[0][:300]}" if tail else "")


def _verdict(
    messages: list[dict[str, Any]], cases: list[CaseResult], events: list[SandboxEvent]
) -> tuple[ExitReason, str]:
    """The reason for a run that reported to its end."""
    load = next((m for m in messages if m.get("t") == "load_error"), None)
    if load is not None and load.get("stage") in ("tests", "runner"):
        return ExitReason.CRASHED, f"the {load.get('stage')} did not load: {load.get('message')}"
    passed = sum(c.status == CaseStatus.PASSED for c in cases)
    if cases and passed == len(cases):
        return ExitReason.OK, f"all {len(cases)} tests passed"
    if load is not None and load.get("stage") == "candidate":
        detail = f"the code did not load: {load.get('message')}"
    else:
        detail = f"{len(cases) - passed} of {len(cases)} tests failed"
    blocking = [e for e in events if e.kind in BLOCKING_EVENTS]
    if blocking:
        return ExitReason.BLOCKED, detail + "; " + _tried(blocking)
    disk = [e for e in events if e.kind == "disk"]
    if disk:
        return ExitReason.OUTPUT_LIMIT, f"{detail}; a write was refused: {disk[0].detail}"
    return ExitReason.FAILED, detail


def _tried(events: list[SandboxEvent]) -> str:
    shown = "; ".join(f"{e.kind}: {e.detail}" for e in events[:3])
    more = f" (and {len(events) - 3} more)" if len(events) > 3 else ""
    return f"the sandbox blocked: {shown}{more}"


def build_result(
    mode: ModeName, interp: Interpreter, limits: Limits, outcome: Outcome
) -> RunResult:
    """The stored form of one run, with its exit reason and a one-line detail."""
    messages = outcome.messages
    done = any(m.get("t") == "done" for m in messages)
    stop = _stop_reason(mode, outcome, limits)
    if stop is None and not done:
        stop = (ExitReason.CRASHED, _crash_detail(mode, outcome))
    cases = _cases(messages, stop[1] if stop else None)
    events = _events(messages)
    memory = any(c.error_type == "MemoryError" for c in cases)
    if stop is not None and not (memory and stop[0] == ExitReason.CRASHED):
        reason, detail = stop
        blocking = [e for e in events if e.kind in BLOCKING_EVENTS]
        if blocking:
            detail += "; " + _tried(blocking)
    elif memory:
        mib = limits.memory_bytes // (1024 * 1024)
        reason, detail = ExitReason.MEMORY, f"ran out of memory (limit {mib} MiB per process)"
    else:
        reason, detail = _verdict(messages, cases, events)
    n_passed = sum(c.status == CaseStatus.PASSED for c in cases)
    return RunResult(
        mode=mode,
        reason=reason,
        detail=detail,
        passed=reason == ExitReason.OK,
        n_passed=n_passed,
        n_cases=len(cases),
        cases=cases,
        events=events,
        stdout=outcome.stdout.decode("utf-8", "replace"),
        stderr=outcome.stderr.decode("utf-8", "replace"),
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
        duration_s=outcome.duration_s,
        exit_code=outcome.returncode,
        signal=_signal_of(mode, outcome.returncode),
        python=interp.describe(),
        limits=limits,
    )
