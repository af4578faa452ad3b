"""The test runner that runs inside the sandbox.

It uses the standard library only and nothing from judgeloop: it runs under a bare
interpreter (``python -I -S``) in a sandbox that holds no copy of judgeloop. The host
compiles it (with guest_cases.py and guest_watch.py) using the sandbox's interpreter,
sends the code objects in, and calls ``run(job, result_fd)``: it sets the resource
limits, loads the candidate code and
the tests, runs each test case and reports on ``result_fd`` as JSON lines::

    {"t": "plan", "cases": [{"name": ..., "line": ...}, ...]}
    {"t": "case", "index": 0, "status": "passed", "duration_s": ..., ...}
    {"t": "event", "kind": "network", "detail": "connect to 127.0.0.1:5432"}
    {"t": "load_error", "stage": "candidate" | "tests", "message": ..., "traceback": ...}
    {"t": "done"}

Test cases come from the tests in one of three shapes: the top-level statements of a
HumanEval-style ``check(candidate)`` that contain an assert (each one case, run in one
call of ``check`` with its own locals, as HumanEval does); else each ``test_*`` function;
else the whole module as one case. A failed ``assert a == b`` reports both values.

The code runs in the runner's own process, so it can forge what the runner reports: the
sandbox protects the host, not the integrity of the verdict (see docs/sandbox.md).
"""

from __future__ import annotations

import errno
import math
import os
import resource
import signal
import sys
import time
import types

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every run time
if TYPE_CHECKING:
    from typing import Any, NoReturn

# traceback, linecache and reprlib are imported when a case fails, not before: each import
# at start-up costs every run time (json is not used at all, for the same reason).

try:  # in the sandbox the host has run guest_cases.py and guest_watch.py into these globals
    from judgeloop.sandbox.guest_cases import plan_cases
    from judgeloop.sandbox.guest_watch import Watch, watch_fork
except ImportError:
    pass

RECORDER = "__judgeloop_cases__"
MAX_TEXT = 2000
GUEST_FILES = (
    "<judgeloop-guest>",
    "<judgeloop-cases>",
    "<judgeloop-watch>",
    "<judgeloop-setup>",
    "<string>",
)
MAX_EVENTS_PER_PROCESS = 20
JSON_ESCAPES = {i: f"\\u{i:04x}" for i in range(32)} | {ord('"'): '\\"', ord("\\"): "\\\\"}
SOURCES: dict[str, str] = {}


def short(text: str, limit: int = MAX_TEXT) -> str:
    """``text``, cut to ``limit`` characters with a note that it was cut."""
    return text if len(text) <= limit else text[: limit - 16] + " ... (truncated)"


def to_json(value: Any) -> str:
    """JSON text for the runner's messages; what JSON cannot hold goes as its repr."""
    if value is None or value is True or value is False:
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value)) if math.isfinite(value) else "null"
    if isinstance(value, str):
        return '"' + str.translate(value, JSON_ESCAPES) + '"'
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return to_json(repr(value))


class Channel:
    """JSON lines to the host on one pipe; each line is one write of whole bytes."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pid = os.getpid()
        self.events_pid = self.pid
        self.sent_events = 0
        self.seen: set[tuple[str, str]] = set()

    def send(self, **message: Any) -> None:
        """Write one message; a forked child of the code reports only events."""
        if message.get("t") != "event" and os.getpid() != self.pid:
            os._exit(0)  # a fork of the code came back into the runner: end it quietly
        data = (to_json(message) + "\n").encode("utf-8", "replace")
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:
            pass

    def event(self, kind: str, detail: str) -> None:
        """Report something the code tried, at most a few times per process."""
        if os.getpid() != self.events_pid:  # a forked child counts its own events
            self.events_pid, self.sent_events, self.seen = os.getpid(), 0, set()
        key = (kind, detail)
        if key in self.seen or self.sent_events >= MAX_EVENTS_PER_PROCESS:
            return
        self.seen.add(key)
        self.sent_events += 1
        self.send(t="event", kind=kind, detail=short(detail, 300))


class Recorder:
    """Times and reports each case; the instrumented tests call it by name."""

    def __init__(self, channel: Channel, names: list[dict[str, Any]], processes: int) -> None:
        self.channel = channel
        self.names = names
        self.processes = processes
        self.started = 0.0
        self.held: dict[int, tuple[Any, ...]] = {}

    def begin(self, index: int) -> bool:
        """Mark the start of case ``index`` (always true: it guards the wrapped case)."""
        self.held.pop(index, None)
        self.started = time.perf_counter()
        return True

    def hold(self, index: int, *values: Any) -> tuple[Any, ...]:
        """Keep the values an assert compares, to show them when it fails."""
        self.held[index] = values
        return values

    def ok(self, index: int) -> None:
        """Report case ``index`` as passed."""
        self.channel.send(t="case", index=index, status="passed", duration_s=self._elapsed())

    def fail(self, index: int, exc: BaseException) -> None:
        """Report case ``index`` as failed (an assertion) or errored (anything else)."""
        duration = self._elapsed()
        if _is_process_limit(exc):
            what = "thread" if isinstance(exc, RuntimeError) else "fork"
            limit = f"process limit of {self.processes} reached (a {what} was refused)"
            self.channel.event("process_limit", limit)
        elif isinstance(exc, OSError) and exc.errno in (errno.EFBIG, errno.ENOSPC):
            self.channel.event("disk", f"{exc.strerror}: {exc.filename or 'a file'}")
        status = "failed" if isinstance(exc, AssertionError) else "error"
        only, trace = describe(exc)
        self.channel.send(
            t="case",
            index=index,
            status=status,
            duration_s=duration,
            message=short(self._message(index, exc, only)),
            error_type=type(exc).__name__,
            traceback=trace,
        )

    def _elapsed(self) -> float:
        return round(time.perf_counter() - self.started, 6)

    def _message(self, index: int, exc: BaseException, text: str) -> str:
        if isinstance(exc, AssertionError):
            name = self.names[index]["name"] if index < len(self.names) else ""
            text = f"assert {name}" + (f"\n{text}" if str(exc) else "")
            values = self.held.get(index, ())
            labels = ("left", "right") if len(values) == 2 else ("value",)
            for label, value in zip(labels, values, strict=False):
                text += f"\n  {label}: {self._repr(value)}"
        return text

    def _repr(self, value: Any) -> str:
        try:
            import reprlib

            shorter = reprlib.Repr()
            shorter.maxstring = shorter.maxother = 300
            shorter.maxlist = shorter.maxtuple = shorter.maxdict = shorter.maxset = 30
            return shorter.repr(value)
        except Exception as exc:
            return f"<repr failed: {type(exc).__name__}>"


def _is_process_limit(exc: BaseException) -> bool:
    if isinstance(exc, BlockingIOError):
        return True
    return isinstance(exc, RuntimeError) and "can't start new thread" in str(exc)


def describe(exc: BaseException) -> tuple[str, str | None]:
    """The exception in one line, and its traceback without the runner's own frames."""
    if isinstance(exc, MemoryError):  # let go of what the code held, to have room to report
        tb = exc.__traceback__
        while tb is not None:
            try:  # noqa: SIM105 - contextlib is not imported in the sandbox
                tb.tb_frame.clear()
            except RuntimeError:  # a frame still running (the tests' own)
                pass
            tb = tb.tb_next
    try:
        import linecache
        import traceback

        for name, text in SOURCES.items():
            linecache.cache.setdefault(name, (len(text), None, text.splitlines(True), name))
        only = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        tb_frames = traceback.extract_tb(exc.__traceback__)
        frames = [f for f in tb_frames if f.filename not in GUEST_FILES]
        trace = "".join(traceback.format_list(frames)) + only + "\n"
    except BaseException:
        return type(exc).__name__, None
    return only, trace if len(trace) <= 4000 else "... (truncated)\n" + trace[-4000:]


def apply_limits(limits: dict[str, Any], nproc: int) -> None:
    """Set the resource limits, soft and hard, before any of the code runs."""

    def cap(which: int, soft: int, hard: int | None = None) -> None:
        _, current = resource.getrlimit(which)
        top = current if current != resource.RLIM_INFINITY else None

        def bound(value: int) -> int:
            return value if top is None else min(value, top)

        resource.setrlimit(which, (bound(soft), bound(hard if hard is not None else soft)))

    cpu = max(1, math.ceil(float(limits["cpu_s"])))
    cap(resource.RLIMIT_CPU, cpu, cpu + 1)
    cap(resource.RLIMIT_AS, int(limits["memory_bytes"]))
    cap(resource.RLIMIT_NPROC, nproc)
    cap(resource.RLIMIT_FSIZE, int(limits["file_bytes"]))
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_MSGQUEUE, 0)
    signal.alarm(math.ceil(float(limits["wall_s"])) + 2)  # a backstop if the host is gone


def _one_case(recorder: Recorder, index: int, call: Any, *args: Any) -> None:
    recorder.begin(index)
    try:
        call(*args)
    except BaseException as exc:
        recorder.fail(index, exc)
    else:
        recorder.ok(index)


def rebuild(data: Any) -> Any:
    """The AST that `guest_cases.serialize` flattened, rebuilt from ``_ast`` (built in)."""
    import _ast

    if isinstance(data, tuple):
        name, fields, position = data
        node = getattr(_ast, name)()
        for key, value in fields.items():
            raw = name == "Constant" and key == "value"
            setattr(node, key, value if raw else rebuild(value))
        if position is not None:
            node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = position
        return node
    if isinstance(data, list):
        return [rebuild(item) for item in data]
    return data


def _load_error(channel: Channel, stage: str, exc: BaseException) -> None:
    only, trace = describe(exc)
    channel.send(
        t="load_error",
        stage=stage,
        message=short(only),
        error_type=type(exc).__name__,
        traceback=trace,
    )


def _planned(job: dict[str, Any], channel: Channel) -> tuple[Any, list[Any], str] | None:
    """The compiled tests, their cases and their shape; None when they do not compile."""
    try:
        if "plan" in job:  # planned by the host, which has ast loaded already
            plan = job["plan"]
            tree, cases, shape = rebuild(plan["tree"]), plan["cases"], plan["shape"]
        else:
            tree, cases, shape = plan_cases(str(job["tests"]))
        compiled = compile(tree, "tests.py", "exec")
    except (SyntaxError, ValueError, TypeError) as exc:
        _load_error(channel, "tests", exc)
        return None
    channel.send(t="plan", cases=cases, shape=shape)
    return compiled, cases, shape


def _run_tests(job: dict[str, Any], channel: Channel) -> None:
    code, entry = str(job["code"]), str(job["entry_point"])
    SOURCES.update({"candidate.py": code, "tests.py": str(job["tests"])})
    planned = _planned(job, channel)
    if planned is None:
        return
    compiled, cases, shape = planned
    processes = int(job["limits"]["processes"])
    recorder = Recorder(channel, cases, processes)
    sys.addaudithook(Watch(channel, job["read_roots"], job["write_roots"]))
    watch_fork(channel, processes)
    apply_limits(job["limits"], int(job["nproc"]))
    if job.get("no_new_privs"):  # the namespace modes set it before the runner starts
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    module = types.ModuleType("candidate")
    module.__file__ = "candidate.py"
    sys.modules["candidate"] = module
    try:
        exec(compile(code, "candidate.py", "exec"), module.__dict__)
    except BaseException as exc:
        _load_error(channel, "candidate", exc)
        return
    namespace = dict(module.__dict__, __name__="tests", __file__="tests.py")
    namespace[RECORDER] = recorder
    if shape == "module":
        _one_case(recorder, 0, exec, compiled, namespace)
        return
    try:
        exec(compiled, namespace)
    except BaseException as exc:  # e.g. the tests import what the sandbox does not have
        _load_error(channel, "tests", exc)
        return
    if shape == "functions":
        for index, case in enumerate(cases):
            _one_case(recorder, index, namespace[case["name"]])
        return
    check = namespace["check"]
    if check.__code__.co_argcount and entry not in module.__dict__:
        _load_error(channel, "candidate", NameError(f"the code does not define {entry!r}"))
        return
    args = (module.__dict__[entry],) if check.__code__.co_argcount else ()
    if shape == "check-whole":
        _one_case(recorder, 0, check, *args)
        return
    try:
        check(*args)
    except BaseException as exc:  # a statement between the cases raised
        _load_error(channel, "setup", exc)


def run(job: dict[str, Any], result_fd: int) -> NoReturn:
    """Run one job in this process and report on ``result_fd``; never returns."""
    channel = Channel(result_fd)
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _run_tests(job, channel)
    except BaseException as exc:
        _load_error(channel, "runner", exc)
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 - contextlib is not imported in the sandbox
            stream.flush()
        except BaseException:
            pass
    channel.send(t="done")
    os._exit(0)
