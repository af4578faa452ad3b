"""Which isolation modes run here, what each claims, and that CI runs the strongest."""

from __future__ import annotations

import os

import pytest

import judgeloop.sandbox.runner as runner_module
from judgeloop.sandbox import (
    ExitReason,
    ModeInfo,
    SandboxUnavailable,
    available_modes,
    best_mode,
    run_python_tests,
)
from judgeloop.sandbox.models import MODE_ORDER, Isolation, ModeName
from tests.sandbox.conftest import require_mode

IN_CI = bool(os.environ.get("CI"))


def test_every_mode_is_listed_strongest_first() -> None:
    modes = available_modes()
    assert [m.name for m in modes] == list(MODE_ORDER)
    for info in modes:
        assert info.reason  # how it runs, or why it cannot
        assert info.python and "Python 3." in info.python
        assert bool(info.isolates) == info.available


def test_the_namespace_modes_claim_full_isolation_and_rlimits_only_does_not() -> None:
    by_name = {m.name: m for m in available_modes()}
    for name in ("bwrap", "unshare"):
        if by_name[name].available:
            assert {"network", "host_files", "kill_all", "disk"} <= set(by_name[name].isolates)
    weak = by_name["rlimits-only"]
    if weak.available:
        assert "network" not in weak.isolates and "host_files" not in weak.isolates


def test_the_best_mode_is_the_first_available_one() -> None:
    first = next(m for m in available_modes() if m.available)
    assert best_mode() == first
    result = run_python_tests("def f():\n    return 1\n", "assert f() == 1\n", "f")
    assert result.mode == first.name


def test_code_never_runs_as_the_callers_own_user_unless_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def info(name: ModeName, available: bool, isolates: list[Isolation]) -> ModeInfo:
        return ModeInfo(name=name, available=available, reason="-", isolates=isolates)

    own_user = [info("bwrap", False, []), info("unshare", False, [])]
    own_user.append(info("rlimits-only", True, ["time", "memory", "processes", "output"]))
    monkeypatch.setattr(runner_module, "available_modes", lambda python=None: own_user)
    with pytest.raises(SandboxUnavailable, match="no sandbox mode can run here"):
        best_mode()
    own_user[-1] = info("rlimits-only", True, ["time", "memory", "unprivileged"])
    assert best_mode().name == "rlimits-only"  # as root it drops to a user of its own


@pytest.mark.skipif(not IN_CI, reason="CI only: there the strongest mode must run")
def test_ci_runs_bubblewrap() -> None:
    assert best_mode().name == "bwrap", [(m.name, m.reason) for m in available_modes()]


@pytest.mark.parametrize("mode", MODE_ORDER)
def test_each_mode_runs_code_and_says_so(mode: ModeName) -> None:
    info = require_mode(mode)
    result = run_python_tests(
        "def f():\n    return 41 + 1\n", "def check(candidate):\n    assert candidate() == 42\n",
        "f", mode=info.name,
    )  # fmt: skip
    assert (result.mode, result.reason, result.python) == (mode, ExitReason.OK, info.python)
