"""What the runner watches the code do: an audit hook and a watch on forks.

Standard library only; sent into the sandbox with guest.py (see there). Both only report,
through the runner's channel: the operating system does the blocking, and Python's audit
hooks are no boundary (C code, ctypes or a child process bypass them). They explain to the
reviewer why a test failed: a connection refused, a file not found outside the sandbox.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs every run time
if TYPE_CHECKING:
    from typing import Any

    from judgeloop.sandbox.guest import Channel

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
NETWORK_EVENTS = {
    "socket.connect": "connect to",
    "socket.bind": "bind to",
    "socket.sendto": "send to",
    "socket.getaddrinfo": "look up",
    "socket.gethostbyname": "look up",
    "socket.gethostbyname_ex": "look up",
    "socket.gethostbyaddr": "look up",
}
PATH_EVENTS = {"os.listdir", "os.scandir", "os.remove", "os.rename", "os.mkdir", "os.rmdir"}
PATH_EVENTS |= {"os.chmod", "os.chown", "os.truncate", "os.symlink", "os.link", "os.utime"}
PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn"}


class Watch:
    """An audit hook that reports network use and file access outside the sandbox.

    It only watches: the operating system does the blocking. (Audit hooks can be
    bypassed, so they are no boundary; they explain why a test failed.)
    """

    def __init__(self, channel: Channel, read_roots: list[str], write_roots: list[str]) -> None:
        self.channel = channel
        self.read_roots = tuple(read_roots)
        self.write_roots = tuple(write_roots)

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        """Look at one audit event; never raises, so it never blocks anything itself."""
        try:
            if event == "open":
                self._path(args[0], bool(args[2] & WRITE_FLAGS) if len(args) > 2 else False)
            elif event in NETWORK_EVENTS:
                target = args[1] if event.startswith("socket.") and len(args) > 1 else args[0]
                if event.startswith("socket.get"):
                    if _numeric(args[0]):
                        return  # no lookup: the connect that follows is reported
                    target = args[0] if event != "socket.getaddrinfo" else f"{args[0]}:{args[1]}"
                self.channel.event("network", f"{NETWORK_EVENTS[event]} {_address(target)}")
            elif event in PATH_EVENTS:
                self._path(args[0], event not in ("os.listdir", "os.scandir"))
                if event in ("os.rename", "os.symlink", "os.link") and len(args) > 1:
                    self._path(args[1], True)
            elif event in PROCESS_EVENTS:
                self.channel.event("process", f"{event}: {_command(args)}")
        except Exception:
            pass

    def _path(self, path: Any, write: bool) -> None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or not path:
            return
        full = os.path.normpath(os.path.join(os.getcwd(), path))
        roots = self.write_roots if write else self.read_roots + self.write_roots
        if not any(full == r or full.startswith(r.rstrip("/") + "/") for r in roots):
            self.channel.event("file", f"{'write' if write else 'read'} {full}")


def _numeric(host: Any) -> bool:
    text = host.decode() if isinstance(host, bytes) else str(host)
    return not text or all(c in "0123456789abcdefABCDEF.:" for c in text)


def _address(target: Any) -> str:
    if isinstance(target, tuple) and len(target) >= 2:
        return f"{target[0]}:{target[1]}"
    return str(target)


def _command(args: tuple[Any, ...]) -> str:
    argv = args[1] if len(args) > 1 and isinstance(args[1], list | tuple) else args[0]
    if isinstance(argv, list | tuple):
        return " ".join(os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in argv)
    return str(argv)


def watch_fork(channel: Channel, processes: int) -> None:
    """Make ``os.fork`` report a fork refused by the process limit before it raises."""
    real_fork = os.fork

    def fork() -> int:
        try:
            return real_fork()
        except BlockingIOError:
            limit = f"process limit of {processes} reached (a fork was refused)"
            channel.event("process_limit", limit)
            raise

    os.fork = fork
