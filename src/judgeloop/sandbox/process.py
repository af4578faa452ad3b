"""Start one sandboxed run, watch its time and output, stop it, and clean up after it.

The runner (compiled) and the job reach the child through memfds (nothing is written to
the host's disk in the namespace modes); its results come back as JSON lines on a pipe of
their own, beside stdout and stderr. The host reads the three pipes with caps, kills the
whole run at the wall-time limit or when stdout or stderr outgrows its cap, and afterwards
makes sure nothing of the run is left: its process group, (as root) every process of the
run's own user, its scratch directory, and in the rlimits-only mode the files that user
left in the world-writable directories.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import selectors
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from judgeloop.sandbox.launch import Interpreter, Launch, build_launch, compiled_runner
from judgeloop.sandbox.models import Limits, ModeName

RESULT_CAP = 4 * 1024 * 1024
GRACE_S = 1.0
HANG_S = 30.0
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


@dataclass
class Outcome:
    """What the host saw of one run."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    killed_for: str | None = None
    """``timeout`` or ``output`` when the host stopped the run."""
    returncode: int | None = None
    duration_s: float = 0.0
    launch_error: str | None = None


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name)
    _fill(fd, data)
    return fd


def _fill(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)


class _Streams:
    """The three pipes from the child, read with caps."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buffers: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        self.buffers["result"] = bytearray()
        self.truncated = {"stdout": False, "stderr": False, "result": False}

    def add(self, name: str, data: bytes) -> bool:
        """Keep what fits; True when stdout or stderr went over its cap."""
        buffer = self.buffers[name]
        cap = RESULT_CAP if name == "result" else self.cap
        room = cap - len(buffer)
        buffer += data[: max(room, 0)]
        if len(data) > room:
            self.truncated[name] = True
            return name != "result"
        return False


def execute(
    mode: ModeName, interp: Interpreter, limits: Limits, job: dict[str, Any]
) -> tuple[Outcome, Launch | None]:
    """Run ``job`` in ``mode`` and return what was seen and how it was started.

    Whatever happens, the run's processes and directories are gone when this returns.
    """
    parts: tuple[str, ...] = ("setup",) if mode == "unshare" else ()
    parts += () if "plan" in job else ("cases",)
    parts += ("watch", "guest")
    try:
        code = compiled_runner(interp.path, parts)
    except (OSError, subprocess.SubprocessError) as exc:
        return Outcome(launch_error=f"could not compile the runner with {interp.path}: {exc}"), None
    result_r, result_w = os.pipe()
    fds = {"result": result_w}
    info_r: int | None = None
    launch: Launch | None = None
    try:
        fds["job"], fds["code"] = _memfd("job"), _memfd("code", code)
        if mode == "bwrap":
            info_r, fds["info"] = os.pipe()
        launch = build_launch(mode, interp, limits, fds)
        full_job = {**job, **launch.job_extra, "nproc": launch.nproc}
        full_job |= {"read_roots": launch.read_roots, "write_roots": launch.write_roots}
        _fill(fds["job"], marshal.dumps(full_job))
        try:
            proc = _spawn(launch, list(fds.values()))
        except OSError as exc:
            return Outcome(launch_error=f"could not start the sandbox: {exc}"), launch
        finally:
            for key in list(fds):  # the child has its copies; ours would hold the pipe open
                _close(fds.pop(key))
        return _Watch(proc, launch, limits).run(result_r, info_r), launch
    finally:
        for fd in (result_r, info_r, *fds.values()):
            if fd is not None:
                _close(fd)
        if launch is not None:
            cleanup(launch)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _spawn(launch: Launch, inherited: list[int]) -> subprocess.Popen[bytes]:
    user: dict[str, Any] = {}
    if launch.uid is not None and launch.mode != "unshare":  # unshare drops it itself
        user = {"user": launch.uid, "group": launch.uid, "extra_groups": []}
    return subprocess.Popen(
        launch.argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=inherited,
        cwd=launch.cwd,
        env=launch.env,
        start_new_session=True,
        umask=0o077,
        **user,
    )


class _Watch:
    """The host's side of one run: pipes, the wall clock, the output caps, the kill."""

    def __init__(self, proc: subprocess.Popen[bytes], launch: Launch, limits: Limits) -> None:
        self.proc, self.launch, self.limits = proc, launch, limits
        self.outcome = Outcome()
        self.streams = _Streams(limits.output_bytes)
        self.started = time.monotonic()
        self.exited_at: float | None = None
        self.pending: set[str] = set()
        self.owned: list[int] = []
        self.info = b""
        self.info_open = True

    def run(self, result_fd: int, info_fd: int | None) -> Outcome:
        """Read until the run is over and its pipes are closed; kill it when it must stop."""
        proc, sel = self.proc, selectors.DefaultSelector()
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
        sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
        sel.register(result_fd, selectors.EVENT_READ, "result")
        self.pending = {"stdout", "stderr", "result"}
        if info_fd is not None:
            sel.register(info_fd, selectors.EVENT_READ, "info")
        pidfd = _pidfd(proc.pid)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ, "exit")
            self.owned.append(pidfd)
        deadline = self.started + self.limits.wall_s
        try:
            while True:
                now = time.monotonic()
                if self.exited_at is None and now >= deadline and not self.outcome.killed_for:
                    self.kill("timeout")
                polling = pidfd is None or now > deadline + GRACE_S
                if self.exited_at is None and polling and proc.poll() is not None:
                    self.on_exit()
                if self._over(now, deadline):
                    break
                for key, _ in sel.select(self._timeout(now, deadline, polling)):
                    self._handle(sel, key)
        finally:
            sel.close()
            for fd in self.owned:
                _close(fd)
            self.finish()
        return self.outcome

    def _over(self, now: float, deadline: float) -> bool:
        if now > deadline + HANG_S:  # never hang the host, whatever the child does
            return True
        if self.exited_at is None:
            return False
        return not self.pending or now >= self.exited_at + GRACE_S

    def _handle(self, sel: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        name = key.data
        if name == "exit":
            sel.unregister(key.fileobj)
            self.on_exit()
        elif name == "init":
            sel.unregister(key.fileobj)
            self.pending.discard("init")
        elif name == "info":
            pidfd = self._read_info(key.fd)
            if pidfd is not None or not self.info_open:
                sel.unregister(key.fileobj)
            if pidfd is not None:
                sel.register(pidfd, selectors.EVENT_READ, "init")
                self.pending.add("init")
        elif not self.read(name, key.fd):
            sel.unregister(key.fileobj)
            self.pending.discard(name)

    def _read_info(self, fd: int) -> int | None:
        """Read bwrap's --info-fd; a pidfd on its pid 1 once the JSON is whole.

        bubblewrap exits as soon as the command does, while its pid 1 in the namespaces
        is still on its way out; waiting for that pidfd makes "done" mean "all gone".
        """
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        self.info_open = bool(data)
        self.info += data
        try:
            pid = int(json.loads(self.info)["child-pid"])
        except (ValueError, KeyError, TypeError):
            return None
        self.info_open = False
        pidfd = _pidfd(pid)
        if pidfd is not None:
            self.owned.append(pidfd)
            if _parent_of(pid) != self.proc.pid:  # not bwrap's child: don't wait on it
                return None
        return pidfd

    def _timeout(self, now: float, deadline: float, polling: bool) -> float:
        if self.exited_at is not None:
            wait = self.exited_at + GRACE_S - now
        elif self.outcome.killed_for:
            wait = GRACE_S
        else:
            wait = deadline - now
        return max(0.0, min(wait, 0.02 if polling else wait))

    def read(self, name: str, fd: int) -> bool:
        """Read one chunk of ``name``; False at its end."""
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        if self.streams.add(name, data) and not self.outcome.killed_for:
            self.kill("output")
        return True

    def kill(self, why: str) -> None:
        """Stop the whole run: its process group and, when it has one, its own user."""
        self.outcome.killed_for = why
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.launch.uid is not None:
            kill_user(self.launch.uid)

    def on_exit(self) -> None:
        """The child is gone; in the rlimits-only mode its descendants may not be."""
        if self.exited_at is None:
            self.exited_at = time.monotonic()
            if self.launch.mode == "rlimits-only" and self.launch.uid is not None:
                kill_user(self.launch.uid)

    def finish(self) -> None:
        """Reap the child and fill in the outcome."""
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill(self.outcome.killed_for or "timeout")
            self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        out = self.outcome
        out.returncode = self.proc.returncode
        out.duration_s = round(time.monotonic() - self.started, 6)
        out.stdout, out.stderr = (
            bytes(self.streams.buffers["stdout"]),
            bytes(self.streams.buffers["stderr"]),
        )
        out.stdout_truncated = self.streams.truncated["stdout"]
        out.stderr_truncated = self.streams.truncated["stderr"]
        out.messages = _parse_messages(bytes(self.streams.buffers["result"]))


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _parse_messages(data: bytes) -> list[dict[str, Any]]:
    messages = []
    for line in data.split(b"\n"):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


def kill_user(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a run's own user): ``kill -1`` run as that user."""
    if uid == 0 or os.geteuid() != 0:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["/bin/sh", "-c", "kill -KILL -1 2>/dev/null; exit 0"],
            user=uid,
            group=uid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
            timeout=10,
            check=False,
        )


def cleanup(launch: Launch) -> None:
    """Remove what a run left on the host.

    That is its host directory and, in the rlimits-only mode as root, whatever its user
    left at the top of the world-writable directories.
    """
    if launch.host_dir:
        shutil.rmtree(launch.host_dir, ignore_errors=True)
    if launch.mode != "rlimits-only" or launch.uid is None:
        return
    for directory in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != launch.uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
