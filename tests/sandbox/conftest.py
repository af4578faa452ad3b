"""Sandbox test fixtures: the modes to run in, and a spy that checks the host is unharmed.

Each attack test runs once per mode that claims the isolation it attacks (see
`judgeloop.sandbox.runner._isolates`). A mode that claims it but cannot run here is
skipped, which the top-level conftest turns into a failure when CI is set: in CI every
mode, bubblewrap first, must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import judgeloop.sandbox.runner as runner_module
from judgeloop.sandbox import ModeInfo, available_modes
from judgeloop.sandbox.launch import RUN_UID_BASE, RUN_UID_SPAN, Launch
from judgeloop.sandbox.models import MODE_ORDER, Isolation, ModeName
from judgeloop.sandbox.process import Outcome


def modes_claiming(*isolation: Isolation) -> list[ModeName]:
    """The modes that say they isolate all of ``isolation`` (as the current user)."""
    return [m for m in MODE_ORDER if set(isolation) <= set(runner_module._isolates(m))]


def require_mode(mode: ModeName) -> ModeInfo:
    """The mode's info, or skip (a failure in CI) when it cannot run here."""
    info = next(i for i in available_modes() if i.name == mode)
    if not info.available:
        pytest.skip(f"sandbox mode {mode} is not available here: {info.reason}")
    return info


def sandbox_processes() -> list[tuple[int, int, str]]:
    """(pid, uid, command) of every live process that runs as a sandbox run's own user."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as fh:
                status = dict(line.split(":", 1) for line in fh if ":" in line)
            uid = int(status["Uid"].split()[0])
            if RUN_UID_BASE <= uid < RUN_UID_BASE + RUN_UID_SPAN and "Z" not in status["State"]:
                found.append((int(entry.name), uid, status["Name"].strip()))
        except (OSError, KeyError, ValueError):
            continue
    return found


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line holds ``marker``."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    if marker.encode() in fh.read():
                        pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass
class Spy:
    """The launches of the runs made during one test."""

    launches: list[Launch] = field(default_factory=list)

    def assert_cleaned_up(self) -> None:
        """No process of any run's user is alive and no run's host directory is left."""
        uids = {launch.uid for launch in self.launches if launch.uid is not None}
        left = [p for p in sandbox_processes() if p[1] in uids]
        assert not left, f"processes of the sandbox's users are still alive: {left}"
        dirs = [launch.host_dir for launch in self.launches if launch.host_dir]
        assert not [d for d in dirs if os.path.exists(d)], f"host directories left: {dirs}"


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Spy]:
    """Records every run's launch; the test checks the host with ``spy.assert_cleaned_up``."""
    seen = Spy()
    real_execute = runner_module.execute

    def execute(*args: Any, **kwargs: Any) -> tuple[Outcome, Launch | None]:
        outcome, launch = real_execute(*args, **kwargs)
        if launch is not None:
            seen.launches.append(launch)
        return outcome, launch

    monkeypatch.setattr(runner_module, "execute", execute)
    yield seen
