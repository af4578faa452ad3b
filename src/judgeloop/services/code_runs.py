"""Run candidates' code against their item's tests in the sandbox, and keep the results.

Where the tests come from: the item's metadata (``test`` or ``tests``, with
``entry_point``, as HumanEval rows carry them), else the project's first ``code_run``
question (`CodeRunConfig.tests`, ``entry_point``); its ``timeout_s`` is the run's wall
time. The code is the candidate's text with its Markdown code fences taken off (every
fenced block, joined; the whole text when it has none), exactly what the task page shows.

A run is stored as a `CodeRun` with the hashes of the code and of the tests (with the
entry point and the time limit); running unchanged code against unchanged tests again
reuses the stored run. Code never runs inside an open transaction: the callers' session
is committed after reading and before the first run, and the results are written after.

    runs = run_item(session, item=item)                   # {candidate_key: CodeRun}
    report = run_project(session, project=project, concurrency=2, on_progress=print)
    runs = runs_for_item(session, item.id)                # the current run of each
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput, JudgeloopError, NotFound, RowError
from judgeloop.questions.base import NormalizedAnswer
from judgeloop.sandbox import ModeName, RunResult
from judgeloop.services.code_run_jobs import RunJob, execute, new_run, plan_jobs, run_key
from judgeloop.services.items import candidates_for, get_item
from judgeloop.store.models import Candidate, CodeRun, Item, Project

PAGE_ITEMS = 200
"""Items planned (read) at a time by `run_project`, between commits."""
REQUEST_SLOTS = 2
"""Runs that requests (pages, the API) may have in the sandbox at once, per process."""
_request_slots = threading.BoundedSemaphore(REQUEST_SLOTS)


class SandboxBusy(JudgeloopError):
    """Every sandbox slot for requests stayed taken for too long; try again later."""

    code = "sandbox_busy"


def _stored(session: Session, jobs: Sequence[RunJob]) -> dict[tuple[int, str, str, str], int]:
    """(item, candidate, code hash, tests hash) -> the newest stored run's id."""
    if not jobs:
        return {}
    rows = session.execute(
        select(
            CodeRun.item_id,
            CodeRun.candidate_key,
            CodeRun.code_sha256,
            CodeRun.tests_sha256,
            func.max(CodeRun.id),
        )
        .where(CodeRun.item_id.in_(sorted({j.item_id for j in jobs})))
        .group_by(CodeRun.item_id, CodeRun.candidate_key, CodeRun.code_sha256, CodeRun.tests_sha256)
    )
    return {(i, c, cs, ts): run_id for i, c, cs, ts, run_id in rows}


@contextmanager
def request_slot(wait_s: float = 30.0) -> Iterator[None]:
    """Hold one of the `REQUEST_SLOTS` sandbox slots that requests share.

    Raises:
        SandboxBusy: No slot came free within `wait_s` seconds.
    """
    if not _request_slots.acquire(timeout=wait_s):
        raise SandboxBusy("the sandbox is busy with other runs; try again in a moment")
    try:
        yield
    finally:
        _request_slots.release()


def run_item(
    session: Session,
    *,
    item: Item,
    force: bool = False,
    candidate_keys: Sequence[str] | None = None,
    mode: ModeName | None = None,
) -> dict[str, CodeRun]:
    """Run every candidate of `item` (or the ones named) against the item's tests.

    The session's transaction is committed before the code runs and the results are
    written and committed afterwards; candidates whose code and tests are unchanged
    since a stored run reuse it (unless `force`). At most two candidates run at once.

    Args:
        session: Database session (committed by this function).
        item: The item.
        force: Run again even where a stored run of the same code and tests exists.
        candidate_keys: Only these candidates (default: all of them).
        mode: A sandbox mode to insist on (default: the strongest available).

    Returns:
        The current run of each candidate, by candidate key (`runs_for_item`).

    Raises:
        InvalidInput: The language is not Python.
        SandboxUnavailable: No sandbox mode can run here.
    """
    project = session.get(Project, item.project_id)
    if project is None:
        raise NotFound(f"no item {item.id}")
    cands = candidates_for(session, [item.id])
    jobs = plan_jobs(project, [item], cands, candidate_keys)
    stored = {} if force else _stored(session, jobs)
    jobs = [j for j in jobs if run_key(j) not in stored]
    item_id = item.id
    session.commit()  # end the read: no transaction stays open while code runs
    if jobs:
        with ThreadPoolExecutor(min(2, len(jobs))) as pool:
            results = list(pool.map(lambda j: execute(j, mode=mode), jobs))
        session.add_all(new_run(j, r) for j, r in zip(jobs, results, strict=True))
        session.commit()
    return runs_for_item(session, item_id)


@dataclass
class CodeRunReport:
    """How a project's run went, updated as it goes (passed to `on_progress`)."""

    total: int = 0
    """Candidates to run, reused ones included."""
    done: int = 0
    ran: int = 0
    reused: int = 0
    passed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    def count(self, status: str, passed: bool, *, reused: bool) -> None:
        """Count one finished (or reused) candidate."""
        self.done += 1
        self.reused += reused
        self.ran += not reused
        self.passed += passed
        self.by_status[status] = self.by_status.get(status, 0) + 1


def _project_items(session: Session, project_id: int) -> Iterator[list[Item]]:
    """The project's items, a page at a time; each page's read is committed."""
    after = 0
    while True:
        page = list(
            session.scalars(
                select(Item)
                .where(Item.project_id == project_id, Item.id > after)
                .order_by(Item.id)
                .limit(PAGE_ITEMS)
            )
        )
        if not page:
            return
        after = page[-1].id
        yield page


def _plan_page(
    session: Session, project: Project, items: list[Item], force: bool, report: CodeRunReport
) -> list[RunJob]:
    jobs = plan_jobs(project, items, candidates_for(session, [i.id for i in items]))
    stored = {} if force else _stored(session, jobs)
    if stored:
        reused = {run_id for run_id in (stored.get(run_key(j)) for j in jobs) if run_id}
        rows = session.execute(
            select(CodeRun.id, CodeRun.status, CodeRun.passed).where(CodeRun.id.in_(sorted(reused)))
        )
        found = {run_id: (status, passed) for run_id, status, passed in rows}
        for job in jobs:
            if (run_id := stored.get(run_key(job))) in found:
                status, passed = found[run_id]
                report.count(status, passed, reused=True)
    return [j for j in jobs if run_key(j) not in stored]


def run_project(
    session: Session,
    *,
    project: Project,
    concurrency: int = 2,
    force: bool = False,
    on_progress: Callable[[CodeRunReport], None] | None = None,
    mode: ModeName | None = None,
) -> CodeRunReport:
    """Run every candidate of every item of a project, `concurrency` runs at a time.

    Items are read a page at a time; each page's read is committed before its code runs,
    and the results are written (and committed) in this thread as they come in, so the
    sandbox threads never touch the database. Stored runs of unchanged code are reused.

    Args:
        session: Database session (committed by this function).
        project: The project.
        concurrency: Runs in the sandbox at once (1 to 64).
        force: Run again even where a stored run of the same code and tests exists.
        on_progress: Called with the report after each candidate (and once at the start).
        mode: A sandbox mode to insist on (default: the strongest available).

    Returns:
        The report: how many ran, were reused, passed, and each status's count.

    Raises:
        SandboxUnavailable: No sandbox mode can run here (nothing more is run).
    """
    started = time.monotonic()
    concurrency = max(1, min(concurrency, 64))
    report = CodeRunReport(total=_candidate_count(session, project.id))
    notify = on_progress or (lambda _report: None)
    notify(report)
    with ThreadPoolExecutor(concurrency) as pool:
        for items in _project_items(session, project.id):
            jobs = _plan_page(session, project, items, force, report)
            session.commit()  # end the read before any code runs
            notify(report)
            for job, result in _run_bounded(pool, jobs, concurrency, mode):
                session.add(new_run(job, result))
                session.commit()
                report.count(result.reason.value, result.passed, reused=False)
                report.wall_s = time.monotonic() - started
                notify(report)
    report.wall_s = time.monotonic() - started
    return report


def _run_bounded(
    pool: ThreadPoolExecutor, jobs: Iterable[RunJob], limit: int, mode: ModeName | None
) -> Iterator[tuple[RunJob, RunResult]]:
    """Run `jobs` in `pool` with at most `limit` in flight; yield each as it finishes."""
    pending: dict[Future[RunResult], RunJob] = {}
    queue = iter(jobs)
    try:
        while True:
            for job in queue:
                pending[pool.submit(execute, job, mode=mode)] = job
                if len(pending) >= limit:
                    break
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
    finally:
        for future in pending:
            future.cancel()


def _candidate_count(session: Session, project_id: int) -> int:
    query = (
        select(func.count())
        .select_from(Candidate)
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.project_id == project_id)
    )
    return int(session.scalar(query) or 0)


def runs_for_item(session: Session, item_id: int) -> dict[str, CodeRun]:
    """The current run of each candidate of an item: the newest of its present code and tests.

    A candidate whose code or tests changed since its last run has no current run (it
    is left out), so a page says "not run yet" rather than show a result of other code.

    Args:
        session: Database session.
        item_id: The item.

    Returns:
        Candidate key -> its newest run of the current code and tests, in candidate order.
    """
    item = get_item(session, item_id)
    project = session.get(Project, item.project_id)
    if project is None:
        return {}
    jobs = plan_jobs(project, [item], candidates_for(session, [item.id]))
    stored = _stored(session, jobs)
    ids = {job.candidate_key: stored[run_key(job)] for job in jobs if run_key(job) in stored}
    if not ids:
        return {}
    runs = {
        r.id: r for r in session.scalars(select(CodeRun).where(CodeRun.id.in_(list(ids.values()))))
    }
    return {key: runs[run_id] for key, run_id in ids.items() if run_id in runs}


def check_run_ids(session: Session, *, item_id: int, answers: Sequence[NormalizedAnswer]) -> None:
    """Refuse code_run answers whose ``run_id`` is not a run of this item and candidate.

    Args:
        session: Database session.
        item_id: The item the answers are about.
        answers: The validated answers of one submission.

    Raises:
        InvalidInput: Naming each wrong ``answers.<question>[.<candidate>].value.run_id``.
    """
    named = [
        (a, a.value["run_id"])
        for a in answers
        if a.kind == "code_run" and isinstance(a.value, dict) and a.value.get("run_id")
    ]
    if not named:
        return
    query = select(CodeRun.id, CodeRun.candidate_key).where(
        CodeRun.id.in_(sorted({run_id for _, run_id in named})), CodeRun.item_id == item_id
    )
    runs: dict[int, str] = {run_id: key for run_id, key in session.execute(query).all()}  # noqa: C416
    errors = []
    for answer, run_id in named:
        where = f"answers.{answer.question_key}" + (
            f".{answer.candidate_key}" if answer.candidate_key else ""
        )
        if run_id not in runs:
            errors.append(
                RowError(0, f"{where}.value.run_id", f"no test run {run_id} of this item")
            )
        elif answer.candidate_key and runs[run_id] != answer.candidate_key:
            reason = f"test run {run_id} ran another answer's code"
            errors.append(RowError(0, f"{where}.value.run_id", reason))
    if errors:
        raise InvalidInput("invalid answers", errors)
