"""How each mode starts the runner: the interpreter, the user, the command and its directories.

Three modes, strongest first:

- ``bwrap``: bubblewrap, run as the run's own unprivileged user, with new user, pid,
  network, ipc, uts and cgroup namespaces and a root holding only /usr, the interpreter
  and size-capped scratch tmpfs.
- ``unshare``: util-linux ``unshare`` (as root) makes the same namespaces but the user
  namespace; ``ns_setup.py`` builds the same root and drops to the run's user.
- ``rlimits-only``: no namespaces, only resource limits, a scratch directory, and (as root)
  the run's own user.

As root every run gets a user id of its own (``RUN_UID_BASE`` + a random offset), so the
process limit counts only its processes and every one of them can be found and killed.
"""

from __future__ import annotations

import contextlib
import functools
import marshal
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from judgeloop.sandbox.models import Limits, ModeName

RUN_UID_BASE = 1_500_000_000
RUN_UID_SPAN = 1_000_000
TOP_LEVEL = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
PYTHON_FLAGS = ("-I", "-S", "-B", "-u", "-X", "utf8")
BOOT = """import os,marshal
def r(fd):
    b=[]
    while True:
        c=os.read(fd,1<<20)
        if not c:break
        b.append(c)
    os.close(fd)
    return b''.join(b)
job=marshal.loads(r({job}))
code=marshal.loads(r({code}))
if code[0][0]=='setup':
    s={{'__name__':'judgeloop_setup'}}
    exec(code.pop(0)[1],s)
    s['enter'](job)
g={{'__name__':'judgeloop_guest'}}
for name,part in code:
    exec(part,g)
g['run'](job,{result})
"""


@dataclass(frozen=True)
class Interpreter:
    """A Python the sandbox can run: its path, prefixes and version."""

    path: str
    prefixes: tuple[str, ...]
    version: str
    others_can_run: bool
    """Whether a user other than its owner can reach and run it (needed to drop root)."""

    def describe(self) -> str:
        """``path (Python x.y.z)``, for reports."""
        return f"{self.path} (Python {self.version})"


@dataclass
class Launch:
    """Everything needed to start one run in one mode."""

    mode: ModeName
    argv: list[str]
    job_extra: dict[str, object]
    read_roots: list[str]
    write_roots: list[str]
    nproc: int
    uid: int | None = None
    cwd: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    host_dir: str | None = None
    """A directory on the host to remove afterwards."""


def _reachable(path: str, *, need_read: bool = False) -> bool:
    """Whether a user other than the owner (and not in its group) may reach ``path``."""
    try:
        parts = Path(path).resolve().parts
        for i in range(1, len(parts)):
            if not os.stat(os.path.join(*parts[:i])).st_mode & stat.S_IXOTH:
                return False
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IROTH if need_read else stat.S_IXOTH))


def _query(path: str) -> Interpreter | None:
    code = "import sys;print(sys.base_prefix);print(sys.base_exec_prefix);print(sys.version)"
    try:
        out = subprocess.run(
            [path, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=20, check=True
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    version = out[2].split()[0]
    if tuple(int(p) for p in version.split(".")[:2]) < (3, 10):
        return None
    prefixes = tuple(dict.fromkeys(os.path.realpath(p) for p in out[:2]))
    others = _reachable(path) and all(
        _reachable(os.path.join(p, "lib"), need_read=True) for p in prefixes
    )
    return Interpreter(path, prefixes, version, others)


@functools.cache
def find_interpreter(explicit: str | None = None) -> Interpreter | None:
    """Find the interpreter runs use (None when there is none).

    That is ``explicit``, else this Python's base interpreter when other users can run it,
    else the system's ``python3``.
    """
    if explicit:
        return _query(os.path.realpath(explicit))
    base = getattr(sys, "_base_executable", sys.executable)
    names = [base, sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"]
    found = [
        i for n in dict.fromkeys(os.path.realpath(n) for n in names) if (i := _query(n)) is not None
    ]
    if not found:
        return None
    if os.geteuid() == 0:
        return next((i for i in found if i.others_can_run), found[0])
    return found[0]


def run_uid() -> int | None:
    """A fresh user id for one run when we are root (None otherwise: runs keep our user)."""
    if os.geteuid() != 0:
        return None
    return RUN_UID_BASE + random.SystemRandom().randrange(RUN_UID_SPAN)


def _system_roots(interp: Interpreter) -> list[str]:
    return ["/usr", *(f"/{n}" for n in TOP_LEVEL), *interp.prefixes, "/dev", "/proc/self"]


def _extra_prefixes(interp: Interpreter) -> list[str]:
    return [p for p in interp.prefixes if p != "/usr" and not p.startswith("/usr/")]


def _python_argv(interp: Interpreter, fds: dict[str, int]) -> list[str]:
    return [interp.path, *PYTHON_FLAGS, "-c", BOOT.format(**fds)]


@functools.cache
def bwrap_features() -> frozenset[str]:
    """The options of the installed bubblewrap this module may use."""
    path = shutil.which("bwrap")
    if path is None:
        return frozenset()
    try:
        help_text = subprocess.run(
            [path, "--help"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    wanted = ("--size", "--disable-userns", "--clearenv", "--die-with-parent", "--cap-drop")
    return frozenset({"bwrap", *(w for w in wanted if w in help_text)})


def _bwrap_argv(interp: Interpreter, limits: Limits) -> list[str]:
    features = bwrap_features()
    size = ["--size", str(limits.file_bytes)] if "--size" in features else []
    argv = [str(shutil.which("bwrap")), "--unshare-all", "--unshare-user", "--new-session"]
    argv += ["--die-with-parent", "--cap-drop", "ALL", "--hostname", "sandbox"]
    if "--disable-userns" in features:
        argv.append("--disable-userns")
    argv += ["--clearenv", "--ro-bind", "/usr", "/usr"]
    for name in TOP_LEVEL:
        host = f"/{name}"
        if os.path.islink(host):
            argv += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            argv += ["--ro-bind", host, host]
    for prefix in _extra_prefixes(interp):
        argv += ["--ro-bind", prefix, prefix]
    argv += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/dev/shm"]
    argv += [*size, "--tmpfs", "/sandbox", *size, "--tmpfs", "/tmp", "--chdir", "/sandbox"]
    env = {**ENV, "HOME": "/sandbox", "TMPDIR": "/tmp"}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv


def build_launch(
    mode: ModeName, interp: Interpreter, limits: Limits, fds: dict[str, int]
) -> Launch:
    """The command and settings that start the runner in ``mode``.

    ``fds`` names the descriptors the child inherits: ``job``, ``code`` (the runner,
    compiled), ``result`` and, for bwrap, ``info`` (its --info-fd).
    """
    uid = run_uid()
    scratch_roots = ["/sandbox", "/tmp", "/dev/shm", "/dev/null"]
    if mode == "bwrap":
        argv = _bwrap_argv(interp, limits)
        if "info" in fds:
            argv += ["--info-fd", str(fds["info"])]
        argv += ["--", *_python_argv(interp, fds)]
        roots = _system_roots(interp)
        return Launch(mode, argv, {}, roots, scratch_roots, limits.processes + 1, uid)
    if mode == "unshare":
        host_dir = tempfile.mkdtemp(prefix="judgeloop-sandbox-")
        setup = {
            "uid": uid,
            "root": host_dir,
            "binds": _extra_prefixes(interp),
            "tmpfs_bytes": limits.file_bytes,
        }
        argv = [str(shutil.which("unshare")), "--mount", "--uts", "--ipc", "--net", "--pid"]
        argv += ["--cgroup", "--fork", "--kill-child", "--propagation", "private", "--"]
        argv += _python_argv(interp, fds)
        env = {**ENV, "HOME": "/sandbox", "TMPDIR": "/tmp"}
        roots = _system_roots(interp)
        return Launch(
            mode, argv, {"setup": setup}, roots, scratch_roots, limits.processes + 1, uid,
            env=env, host_dir=host_dir,
        )  # fmt: skip
    return _rlimits_launch(interp, limits, fds, uid)


def _rlimits_launch(
    interp: Interpreter, limits: Limits, fds: dict[str, int], uid: int | None
) -> Launch:
    host_dir = tempfile.mkdtemp(prefix="judgeloop-sandbox-")
    work, tmp = os.path.join(host_dir, "work"), os.path.join(host_dir, "tmp")
    for path in (work, tmp):
        os.mkdir(path, 0o700)
        if uid is not None:
            os.chown(path, uid, uid)
    if uid is not None:
        os.chmod(host_dir, 0o711)
    nproc = limits.processes
    if uid is None:  # our own user: its other processes count against the limit too
        nproc += _count_processes(os.getuid())
    env = {**ENV, "HOME": work, "TMPDIR": tmp}
    argv = _python_argv(interp, fds)
    roots = _system_roots(interp)
    writable = [work, tmp, "/dev/null"]
    extra: dict[str, object] = {"no_new_privs": True}
    return Launch("rlimits-only", argv, extra, roots, writable, nproc, uid, work, env, host_dir)


def _count_processes(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


SOURCES = {
    "setup": "ns_setup.py",
    "cases": "guest_cases.py",
    "watch": "guest_watch.py",
    "guest": "guest.py",
}
COMPILE = (
    "import marshal,sys;p=marshal.loads(sys.stdin.buffer.read());"
    "sys.stdout.buffer.write(marshal.dumps([(k,compile(s,n,'exec',dont_inherit=True))"
    " for k,n,s in p]))"
)


@functools.cache
def compiled_runner(python: str, parts: tuple[str, ...]) -> bytes:
    """Compile the runner's modules once, with the sandbox's own interpreter, and marshal them.

    Compiling them in every run would cost each run several milliseconds.
    """
    here = Path(__file__).parent
    payload = [(k, f"<judgeloop-{k}>", (here / SOURCES[k]).read_text()) for k in parts]
    return subprocess.run(
        [python, "-I", "-S", "-c", COMPILE],
        input=marshal.dumps(payload),
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
