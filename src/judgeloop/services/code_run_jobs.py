"""The pure side of code runs: where an item's tests come from, what runs, what is stored.

No database access and no sandbox state: `services.code_runs` reads the rows, runs the
jobs and writes the results. `candidate_code` is also what the task page shows as code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from judgeloop.errors import InvalidInput, RowError
from judgeloop.questions.base import QuestionSpec
from judgeloop.questions.code_run import CodeRunConfig
from judgeloop.sandbox import Limits, ModeName, RunResult, run_python_tests
from judgeloop.store.models import Candidate, CodeRun, Item, Project

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def candidate_code(text: str) -> str:
    """The code in a candidate's text: its fenced blocks joined, or the whole text if none.

    Args:
        text: The candidate answer (Markdown: prose and fenced code blocks).

    Returns:
        The code the sandbox runs (and the task page shows).
    """
    blocks = [m.group(2) for m in _FENCE.finditer(text)]
    return "\n".join(b.rstrip("\n") for b in blocks) + "\n" if blocks else text


def sha256(text: str) -> str:
    """The hex SHA-256 of `text` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


@dataclass(frozen=True)
class RunSpec:
    """The tests one item's candidates run against.

    Attributes:
        tests: Test code (``def check(candidate): ...``, ``test_*`` functions, or a module).
        entry_point: The function ``check`` receives ('' when the tests need none).
        timeout_s: Wall-time limit of one run.
        language: The candidates' language (only ``python`` runs).
        source: ``item`` (its metadata), ``question`` (the code_run config) or ``none``.
    """

    tests: str
    entry_point: str
    timeout_s: float
    language: str = "python"
    source: str = "none"

    @property
    def sha256(self) -> str:
        """What identifies the tests for reuse: the code, the entry point and the limit."""
        key = {"tests": self.tests, "entry_point": self.entry_point, "timeout_s": self.timeout_s}
        return sha256(json.dumps(key, sort_keys=True))

    def limits(self) -> Limits:
        """The sandbox limits of one run: the wall time and as much CPU time."""
        return Limits(wall_s=self.timeout_s, cpu_s=self.timeout_s)


def code_run_config(project: Project) -> CodeRunConfig | None:
    """The config of the project's first code_run question, or None when it has none."""
    for raw in project.questions:
        spec = QuestionSpec.model_validate(raw)
        if spec.kind == "code_run":
            config: CodeRunConfig = spec.parsed_config()
            return config
    return None


def run_spec(project: Project, item: Item) -> RunSpec:
    """Where an item's tests come from: its metadata first, else the code_run question.

    Args:
        project: The item's project.
        item: The item (metadata ``test`` or ``tests``, ``entry_point``).

    Returns:
        The tests, entry point and time limit (empty tests when neither has any: the run
        then only checks that the code loads).
    """
    config = code_run_config(project) or CodeRunConfig()
    meta = item.meta if isinstance(item.meta, dict) else {}
    raw = meta.get("test") if meta.get("test") else meta.get("tests")
    entry = meta.get("entry_point")
    entry = entry if isinstance(entry, str) and entry else config.entry_point
    if isinstance(raw, str) and raw.strip():
        return RunSpec(raw, entry, config.timeout_s, config.language, "item")
    source = "question" if config.tests.strip() else "none"
    return RunSpec(config.tests, entry, config.timeout_s, config.language, source)


@dataclass(frozen=True)
class RunJob:
    """One candidate's code to run: everything the sandbox needs, no database object."""

    project_id: int
    item_id: int
    candidate_key: str
    code: str
    spec: RunSpec

    @property
    def code_sha256(self) -> str:
        """The hash of the code that runs."""
        return sha256(self.code)


def execute(job: RunJob, *, mode: ModeName | None = None) -> RunResult:
    """Run one job in the sandbox (no database; safe in any thread).

    Raises:
        InvalidInput: The language is not Python.
        SandboxUnavailable: No sandbox mode can run on this machine.
    """
    if job.spec.language != "python":
        reason = f"only python code runs in the sandbox, not {job.spec.language!r}"
        raise InvalidInput(reason, [RowError(0, "language", reason)])
    return run_python_tests(
        job.code, job.spec.tests, job.spec.entry_point, job.spec.limits(), mode=mode
    )


def new_run(job: RunJob, result: RunResult) -> CodeRun:
    """The row that stores one job's result (not yet added to a session)."""
    return CodeRun(
        project_id=job.project_id,
        item_id=job.item_id,
        candidate_key=job.candidate_key,
        status=result.reason.value,
        passed=result.passed,
        n_passed=result.n_passed,
        n_cases=result.n_cases,
        duration_s=result.duration_s,
        mode=result.mode,
        code_sha256=job.code_sha256,
        tests_sha256=job.spec.sha256,
        result=result.model_dump(mode="json"),
    )


def plan_jobs(
    project: Project,
    items: Sequence[Item],
    cands: dict[int, list[tuple[Candidate, str | None]]],
    keys: Sequence[str] | None = None,
) -> list[RunJob]:
    """One job per candidate of `items` (only the `keys` named, when given).

    Args:
        project: The items' project (its code_run question gives the default tests).
        items: Items of that project.
        cands: Each item's candidates (`services.items.candidates_for`).
        keys: Only these candidate keys (default: every candidate).

    Returns:
        The jobs, item by item in candidate order.
    """
    jobs = []
    for item in items:
        spec = run_spec(project, item)
        for cand, _ in cands.get(item.id, []):
            if keys is None or cand.key in keys:
                code = candidate_code(cand.text)
                jobs.append(RunJob(project.id, item.id, cand.key, code, spec))
    return jobs


def run_key(job: RunJob) -> tuple[int, str, str, str]:
    """What makes a stored run reusable for `job`: item, candidate, code hash, tests hash."""
    return (job.item_id, job.candidate_key, job.code_sha256, job.spec.sha256)
