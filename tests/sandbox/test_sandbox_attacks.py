"""Hostile code in every sandbox mode: each attack is stopped, reported, and the host unharmed."""

from __future__ import annotations

import re
import socket
import time
import uuid
from pathlib import Path

import pytest

from judgeloop.sandbox import ExitReason, Limits, RunResult, run_python_tests
from judgeloop.sandbox.models import MODE_ORDER, ModeName
from tests.sandbox.conftest import Spy, modes_claiming, processes_with, require_mode

ROOT = Path(__file__).resolve().parents[2]
LIMITS = Limits(wall_s=5, cpu_s=1, memory_bytes=256 * 1024**2, processes=8, output_bytes=16384)
EXPECT_OK = "def check(candidate):\n    assert candidate() == 'ok'\n"


def attack(mode: ModeName, code: str, limits: Limits = LIMITS, tests: str = EXPECT_OK) -> RunResult:
    require_mode(mode)
    return run_python_tests(code, tests, "f", limits, mode=mode)


@pytest.mark.parametrize("mode", modes_claiming("time"))
def test_an_endless_loop_stops_at_the_cpu_limit(mode: ModeName, spy: Spy) -> None:
    limits = LIMITS.model_copy(update={"wall_s": 3.0})  # on a busy machine the wall comes first
    result = attack(mode, "def f():\n    while True:\n        pass\n", limits)
    assert result.reason == ExitReason.TIMEOUT, result.detail
    assert "CPU-time limit of 1 s" in result.detail or "wall-time limit of 3 s" in result.detail
    assert result.duration_s < limits.wall_s + 2
    assert result.cases[0].message and "not finished" in result.cases[0].message
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", modes_claiming("time"))
def test_sleeping_code_stops_at_the_wall_time_limit(mode: ModeName, spy: Spy) -> None:
    limits = LIMITS.model_copy(update={"wall_s": 1.0})
    result = attack(mode, "import time\ndef f():\n    time.sleep(60)\n", limits)
    assert result.reason == ExitReason.TIMEOUT
    assert "wall-time limit of 1 s" in result.detail
    assert 1.0 <= result.duration_s < 3.5
    spy.assert_cleaned_up()


FORK_COUNT = """
import os, time
def f():
    started = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
    except OSError:
        return started
"""

FORK_BOMB = """
import os
def f():
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""


@pytest.mark.parametrize("mode", modes_claiming("processes", "kill_all"))
def test_a_fork_bomb_hits_the_process_limit_and_dies_with_the_run(mode: ModeName, spy: Spy) -> None:
    result = attack(mode, FORK_COUNT)
    assert result.reason == ExitReason.BLOCKED, result.detail
    assert any(e.kind == "process_limit" for e in result.events)
    found = re.search(r"left: (\d+)", result.cases[0].message or "")
    assert found, result.cases[0].message
    started = int(found.group(1))
    assert 1 <= started < LIMITS.processes  # the runner itself is one of them
    spy.assert_cleaned_up()  # the sleeping children are gone with the run


@pytest.mark.parametrize("mode", modes_claiming("processes", "kill_all"))
def test_a_fork_bomb_that_ignores_errors_is_killed_at_the_wall_time_limit(
    mode: ModeName, spy: Spy
) -> None:
    limits = LIMITS.model_copy(update={"wall_s": 1.5})
    result = attack(mode, FORK_BOMB, limits)
    assert result.reason == ExitReason.TIMEOUT
    assert "process limit of 8 reached" in result.detail
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", modes_claiming("processes"))
def test_a_thread_bomb_hits_the_process_limit(mode: ModeName, spy: Spy) -> None:
    code = "import threading, time\ndef f():\n    while True:\n"
    code += "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    result = attack(mode, code)
    assert result.reason == ExitReason.BLOCKED
    assert "a thread was refused" in result.detail
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", modes_claiming("memory"))
@pytest.mark.parametrize(
    "code",
    [
        "def f():\n    return bytearray(8 * 1024**3)\n",
        "def f():\n    hoard = []\n    while True:\n        hoard.append(' ' * 10**6)\n",
    ],
    ids=["at-once", "growing"],
)
def test_a_memory_bomb_stops_at_the_memory_limit(mode: ModeName, code: str, spy: Spy) -> None:
    result = attack(mode, code)
    assert result.reason == ExitReason.MEMORY
    assert "256 MiB" in result.detail
    assert result.cases[0].error_type == "MemoryError"
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", modes_claiming("output"))
@pytest.mark.parametrize(
    ("code", "stream"),
    [
        ("def f():\n    while True:\n        print('x' * 1000)\n", "stdout"),
        ("import os\ndef f():\n    while True:\n        os.write(2, b'y' * 65536)\n", "stderr"),
    ],
    ids=["print", "raw-stderr"],
)
def test_huge_output_is_cut_and_stops_the_run(
    mode: ModeName, code: str, stream: str, spy: Spy
) -> None:
    result = attack(mode, code)
    assert result.reason == ExitReason.OUTPUT_LIMIT
    assert len(getattr(result, stream)) == LIMITS.output_bytes
    assert getattr(result, f"{stream}_truncated")
    assert result.duration_s < LIMITS.wall_s
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", modes_claiming("output"))
def test_a_huge_file_is_refused(mode: ModeName, spy: Spy) -> None:
    code = "def f():\n    with open('big.bin', 'wb') as fh:\n"
    code += "        fh.write(b'x' * (64 * 1024 * 1024))\n"
    result = attack(mode, code)
    assert result.reason == ExitReason.OUTPUT_LIMIT
    assert any(e.kind == "disk" for e in result.events)
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", modes_claiming("unprivileged"))
def test_reading_etc_shadow_is_blocked(mode: ModeName, spy: Spy) -> None:
    result = attack(mode, "def f():\n    return open('/etc/shadow').read()\n")
    assert result.reason == ExitReason.BLOCKED
    assert "read /etc/shadow" in result.detail
    assert result.cases[0].error_type in ("FileNotFoundError", "PermissionError")
    if Path("/etc/shadow").is_file() and Path("/etc/shadow").stat().st_size:
        try:
            secret = Path("/etc/shadow").read_text().splitlines()[0]
        except PermissionError:
            secret = ""
        assert not secret or secret not in result.model_dump_json()
    spy.assert_cleaned_up()


READ_HOST = """
import os, subprocess
def f():
    seen = []
    for path in {paths!r}:
        try:
            with open(path) as fh:
                seen.append(fh.read())
        except OSError as exc:
            seen.append(type(exc).__name__)
    for path in {paths!r}:  # a child process bypasses the runner's audit hook
        out = subprocess.run(["cat", path], capture_output=True, text=True)
        seen.append(out.stdout)
    seen.append(" ".join(sorted(os.listdir("/"))))
    return seen
"""


@pytest.mark.parametrize("mode", modes_claiming("host_files"))
def test_host_files_cannot_be_read(mode: ModeName, spy: Spy) -> None:
    paths = ["/etc/passwd", "/etc/hostname", str(ROOT / "pyproject.toml"), "/root/.bashrc"]
    result = attack(mode, READ_HOST.format(paths=paths))
    assert result.reason == ExitReason.BLOCKED
    dumped = result.model_dump_json()
    for secret in ("root:x:0:0", "build-backend", "license = "):  # /etc/passwd, pyproject.toml
        assert secret not in dumped
    assert "file: read /etc/passwd" in result.detail
    assert "sandbox" in (result.cases[0].message or "")  # it listed its own root: /sandbox
    spy.assert_cleaned_up()


WRITE_OUTSIDE = """
import os
def f():
    done = []
    for path in {targets!r}:
        try:
            with open(path, "w") as fh:
                fh.write("written from the sandbox")
            done.append(path)
        except OSError:
            pass
    try:
        os.remove({marker!r})
        done.append("removed the marker")
    except OSError:
        pass
    return done
"""


@pytest.mark.parametrize("mode", modes_claiming("unprivileged"))
def test_writing_outside_the_sandbox_leaves_the_host_unchanged(
    mode: ModeName, tmp_path: Path, spy: Spy
) -> None:
    marker = tmp_path / "marker.txt"
    marker.write_text("untouched")
    probe = f".judgeloop-sandbox-probe-{uuid.uuid4().hex}"
    targets = [
        str(marker),
        str(tmp_path / "new.txt"),
        str(ROOT / probe),
        str(Path.home() / probe),
        f"/tmp/{probe}",
        f"/usr/{probe}",
    ]
    try:
        result = attack(mode, WRITE_OUTSIDE.format(targets=targets, marker=str(marker)))
        assert result.reason in (ExitReason.BLOCKED, ExitReason.FAILED), result.detail
        assert marker.read_text() == "untouched"
        leaked = [t for t in targets[1:] if Path(t).exists()]
        assert not leaked, f"files written on the host: {leaked}"
        spy.assert_cleaned_up()
    finally:
        for target in targets[1:]:
            Path(target).unlink(missing_ok=True)


CONNECT = """
import socket, subprocess, sys
def f():
    tried = []
    for port in {ports!r}:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            tried.append(f"connected to {{port}}")
        except OSError as exc:
            tried.append(type(exc).__name__)
    try:
        socket.getaddrinfo("example.com", 80)
        tried.append("resolved example.com")
    except OSError as exc:
        tried.append(type(exc).__name__)
    code = "import socket; socket.create_connection(('127.0.0.1', %d), timeout=2)" % {ports[0]!r}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True)
    tried.append(f"child exit {{child.returncode}}")
    return tried
"""


@pytest.mark.parametrize("mode", modes_claiming("network"))
def test_the_network_is_unreachable(mode: ModeName, spy: Spy) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        port = server.getsockname()[1]
        result = attack(mode, CONNECT.format(ports=[port, 5432]))
        with pytest.raises(TimeoutError):
            server.accept()  # nobody knocked
    assert result.reason == ExitReason.BLOCKED
    message = result.cases[0].message or ""
    assert "connected" not in message and "resolved" not in message
    assert "child exit 0" not in message
    kinds = {(e.kind, e.detail) for e in result.events}
    assert ("network", f"connect to 127.0.0.1:{port}") in kinds
    assert ("network", "connect to 127.0.0.1:5432") in kinds
    assert ("network", "look up example.com:80") in kinds
    spy.assert_cleaned_up()


DAEMONS = """
import os, subprocess
def f():
    subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
    if os.fork() == 0:  # a classic double-fork daemon
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{marker}"])
        os._exit(0)
    return "ok"
"""


@pytest.mark.parametrize("mode", modes_claiming("kill_all"))
def test_background_processes_die_with_the_run(mode: ModeName, spy: Spy) -> None:
    marker = f"{time.time_ns() % 10**6 + 1000}.25"
    result = attack(mode, DAEMONS.format(marker=marker))
    assert result.reason == ExitReason.OK, result.detail
    assert any("sleep" in e.detail for e in result.events if e.kind == "process")
    deadline = time.monotonic() + 3
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_with(marker)
    spy.assert_cleaned_up()


@pytest.mark.parametrize("mode", MODE_ORDER)
def test_the_hosts_environment_stays_outside(
    mode: ModeName, monkeypatch: pytest.MonkeyPatch, spy: Spy
) -> None:
    monkeypatch.setenv("JUDGELOOP_SANDBOX_PROBE_SECRET", "hunter2-from-the-host")
    code = "import os\ndef f():\n    return dict(os.environ)\n"
    result = attack(mode, code)
    assert result.reason == ExitReason.FAILED
    assert "hunter2" not in result.model_dump_json()
    assert "PATH" in (result.cases[0].message or "")  # it did see its own, clean environment
    spy.assert_cleaned_up()


PRIVILEGES = """
import os
def f():
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return os.getuid(), os.geteuid(), status["CapEff"].strip(), status["NoNewPrivs"].strip()
"""


@pytest.mark.parametrize("mode", modes_claiming("unprivileged"))
def test_the_code_runs_without_privileges(mode: ModeName, spy: Spy) -> None:
    result = attack(mode, PRIVILEGES, tests="assert f()[0] != 0\n")
    assert result.reason == ExitReason.OK, result.detail
    probe = attack(mode, PRIVILEGES)
    assert "'0000000000000000', '1')" in (probe.cases[0].message or "")  # no capabilities
    spy.assert_cleaned_up()
