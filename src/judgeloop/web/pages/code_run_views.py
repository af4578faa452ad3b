"""What the task page and the reviewer's page show of a candidate's test run.

`run_view` turns a stored `CodeRun` (its `result` is the sandbox's RunResult as JSON)
into a `RunView`: the status in words, each case with its failing assertion, stdout and
stderr cut to a size a page can hold, the sandbox mode and the duration. Everything in
it is untrusted text from the run; templates print it with autoescape, in ``<pre>``.
`code_run_context` gathers the current runs of an item for a page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from judgeloop.questions.base import QuestionSpec
from judgeloop.services.code_run_jobs import run_spec
from judgeloop.services.code_runs import runs_for_item
from judgeloop.store.models import CodeRun, Item, Project

OUTPUT_CHARS = 4000
"""Characters of stdout and of stderr a page shows (the rest is in the API's result)."""
MESSAGE_CHARS = 2000
TRACEBACK_CHARS = 4000
CASES_SHOWN = 100

STATUS_WORDS = {
    "ok": "Passed",
    "failed": "Failed",
    "timeout": "Timed out",
    "memory": "Out of memory",
    "output_limit": "Output limit reached",
    "crashed": "Crashed",
    "blocked": "Blocked by the sandbox",
}
MODE_WORDS = {
    "bwrap": "bubblewrap: own namespaces, no network, no host files",
    "unshare": "namespaces: no network, no host files",
    "rlimits-only": "resource limits only: no network or file isolation",
}
NOTICES = {
    "ran": "The tests ran: the results are below.",
    "unavailable": "The tests could not run: no sandbox can run on this server.",
    "busy": "The sandbox is busy with other runs: try again in a moment.",
    "language": "Only Python code can run in the sandbox.",
}
"""The ``?code_run=`` values a page shows after a run was asked for, and their words."""
NO_TESTS = "No tests were given: the run only checks that the code loads."


@dataclass(frozen=True)
class CaseView:
    """One test case of a run."""

    name: str
    status: str
    line: int | None = None
    message: str = ""
    error_type: str = ""
    traceback: str = ""

    @property
    def ok(self) -> bool:
        """Whether the case passed."""
        return self.status == "passed"


@dataclass(frozen=True)
class RunView:
    """One stored run as a page shows it."""

    id: int
    status: str
    passed: bool
    n_passed: int
    n_cases: int
    detail: str
    mode: str
    duration_ms: int
    created_at: datetime
    cases: list[CaseView] = field(default_factory=list)
    cases_hidden: int = 0
    stdout: str = ""
    stderr: str = ""
    stdout_cut: bool = False
    stderr_cut: bool = False
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """``Passed: 7 of 7 tests`` / ``Failed: 2 of 9 tests passed``."""
        word = STATUS_WORDS.get(self.status, self.status)
        tests = "test" if self.n_cases == 1 else "tests"
        if self.status == "ok":
            return f"{word}: {self.n_passed} of {self.n_cases} {tests}"
        return f"{word}: {self.n_passed} of {self.n_cases} {tests} passed"

    @property
    def mode_words(self) -> str:
        """The sandbox mode and what it isolates, in a few words."""
        return MODE_WORDS.get(self.mode, self.mode)


def _text(value: Any, limit: int) -> tuple[str, bool]:
    text = value if isinstance(value, str) else ""
    return (text[:limit], True) if len(text) > limit else (text, False)


def _case(raw: Mapping[str, Any]) -> CaseView:
    line = raw.get("line")
    return CaseView(
        name=_text(raw.get("name"), 300)[0],
        status=str(raw.get("status") or ""),
        line=line if isinstance(line, int) else None,
        message=_text(raw.get("message"), MESSAGE_CHARS)[0],
        error_type=_text(raw.get("error_type"), 200)[0],
        traceback=_text(raw.get("traceback"), TRACEBACK_CHARS)[0],
    )


def run_view(run: CodeRun) -> RunView:
    """Build what a page shows of one stored run (defensive: `result` is stored JSON)."""
    result: Mapping[str, Any] = run.result if isinstance(run.result, dict) else {}
    raw_cases = [c for c in result.get("cases") or [] if isinstance(c, dict)]
    stdout, stdout_cut = _text(result.get("stdout"), OUTPUT_CHARS)
    stderr, stderr_cut = _text(result.get("stderr"), OUTPUT_CHARS)
    events = [
        (str(e.get("kind", "")), _text(e.get("detail"), 300)[0])
        for e in (result.get("events") or [])[:20]
        if isinstance(e, dict)
    ]
    return RunView(
        id=run.id,
        status=run.status,
        passed=run.passed,
        n_passed=run.n_passed,
        n_cases=run.n_cases,
        detail=_text(result.get("detail"), 500)[0],
        mode=run.mode,
        duration_ms=round(run.duration_s * 1000),
        created_at=run.created_at,
        cases=[_case(c) for c in raw_cases[:CASES_SHOWN]],
        cases_hidden=max(0, len(raw_cases) - CASES_SHOWN),
        stdout=stdout,
        stderr=stderr,
        stdout_cut=stdout_cut or bool(result.get("stdout_truncated")),
        stderr_cut=stderr_cut or bool(result.get("stderr_truncated")),
        events=events,
    )


def code_run_context(
    session: Session,
    *,
    project: Project,
    item: Item,
    questions: Sequence[QuestionSpec],
    action: str,
    notice: str = "",
) -> dict[str, Any]:
    """What a page needs to show an item's test runs; empty without a code_run question.

    Args:
        session: Database session (reads only).
        project: The item's project.
        item: The item.
        questions: The project's questions.
        action: Where the page's "Run tests" form posts.
        notice: A ``?code_run=`` value from the last run (a key of `NOTICES`).

    Returns:
        ``code_runs`` (candidate key -> RunView; a candidate without a current run is
        missing), ``code_run_action``, ``code_run_note`` and ``code_run_notice``.
    """
    if not any(q.kind == "code_run" for q in questions):
        return {}
    runs = runs_for_item(session, item.id)
    source = run_spec(project, item).source
    return {
        "code_runs": {key: run_view(run) for key, run in runs.items()},
        "code_run_action": action,
        "code_run_note": NO_TESTS if source == "none" else "",
        "code_run_notice": NOTICES.get(notice, ""),
    }
