"""The unshare mode's set-up: a fresh root file system, then down to the run's own user.

Standard library only; the host sends it as source text. It runs as root, as pid 1 of the
new namespaces that ``unshare --fork --pid --mount --net --ipc --uts --cgroup`` made, and:

1. builds a root on a small tmpfs: /usr and the interpreter's prefix bound read-only
   (nosuid, nodev), /bin, /lib, /lib64 and /sbin as on the host, a fresh /proc for the new
   pid namespace, a /dev holding only null, zero, full, random and urandom, and
   size-capped tmpfs file systems for /sandbox (the working directory), /tmp and /dev/shm;
2. chroots into it, sets no_new_privs and switches to the run's own user and group (no
   supplementary groups), which drops every capability;
3. forks: the child returns and runs the test runner; pid 1 reaps every orphan and exits
   with the runner's status, which makes the kernel kill whatever else is left.

Nothing of the host's file system is visible but what step 1 binds, and no mount
reaches the host: the mount namespace is private.
"""

from __future__ import annotations

import ctypes
import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every run time
if TYPE_CHECKING:
    from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 38, 24
DEVICES = ("null", "zero", "full", "random", "urandom")
TOP_LEVEL = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """Mount a file system (the system call), raising OSError on failure."""

    def enc(text: str | None) -> bytes | None:
        return text.encode() if text else None

    result = _libc().mount(
        enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data or None)
    )
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source or fstype} on {target}: {os.strerror(err)}")


def bind(root: str, path: str, *, read_only: bool = True) -> None:
    """Bind the host's ``path`` to the same path under ``root`` (read-only, nosuid, nodev)."""
    target = root + path
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "a"):
            pass
    mount(path, target, None, MS_BIND)
    if read_only:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def build_root(root: str, setup: dict[str, Any]) -> None:
    """Mount the sandbox's file system under ``root`` (see the module docstring)."""
    uid, size = int(setup["uid"]), int(setup["tmpfs_bytes"])
    os.umask(0o022)  # the directories made here must be traversable by the run's user
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    bind(root, "/usr")
    for name in TOP_LEVEL:
        path = "/" + name
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            bind(root, path)
    for prefix in setup["binds"]:
        if not os.path.exists(root + prefix) or not os.listdir(root + prefix):
            bind(root, prefix)
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(root + "/dev")
    mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for device in DEVICES:
        bind(root, "/dev/" + device, read_only=False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(target, f"{root}/dev/{name}")
    os.symlink("/proc/self/fd/1", root + "/dev/stdout")
    os.symlink("/proc/self/fd/2", root + "/dev/stderr")
    scratch = (("/sandbox", "0700", uid), ("/tmp", "1777", 0), ("/dev/shm", "1777", 0))
    for path, mode, owner in scratch:
        os.makedirs(root + path)
        options = f"size={size},mode={mode},uid={owner},gid={owner}"
        mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV, options)


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (user and group): no groups, no capabilities, and no_new_privs."""
    libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    with open("/proc/sys/kernel/cap_last_cap") as last:
        for cap in range(int(last.read()) + 1):  # an empty bounding set, as bubblewrap's
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("still root after dropping privileges")


def reap_until(child: int) -> None:
    """As pid 1: reap every process until ``child`` exits, then exit with its status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def enter(job: dict[str, Any]) -> None:
    """Set the sandbox up; returns only in the child that is to run the tests."""
    setup = job["setup"]
    root = str(setup["root"])
    build_root(root, setup)
    os.chroot(root)
    os.chdir("/sandbox")
    _libc().sethostname(b"sandbox", 7)
    drop_privileges(int(setup["uid"]))
    child = os.fork()
    if child:
        reap_until(child)
