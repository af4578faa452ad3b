"""services.code_runs: candidates' code run in the sandbox and stored, on SQLite and PostgreSQL.

The HumanEval sample the demo loads (the canonical solution and a broken variant of
each problem) runs for real; the other tests replace the sandbox with a fake where only
the service's own behaviour is under test.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.cli.context import open_session
from judgeloop.cli.demo import load_demo, run_demo_code, sample_path
from judgeloop.config import Settings
from judgeloop.errors import InvalidInput
from judgeloop.sandbox import Limits, RunResult, SandboxUnavailable
from judgeloop.schemas.submissions import SubmissionCreate
from judgeloop.services import code_runs
from judgeloop.services.code_run_jobs import RunJob, candidate_code, run_spec
from judgeloop.services.code_runs import check_run_ids, run_item, run_project, runs_for_item
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.base import utcnow
from judgeloop.store.models import Candidate, CodeRun, Item, Project
from tests.factories import join, make_project, make_user

PROBLEMS = [json.loads(line) for line in sample_path("humaneval/problems.jsonl").open()]
SAMPLE = PROBLEMS[::16]  # 11 problems, the first one included
VERDICT_ONLY = [{"key": "execution", "kind": "code_run", "title": "Verdict", "per_candidate": True}]


def coding_project(session: Session, **config: Any) -> Project:
    """A project with one per-candidate code_run question (`config` is its config)."""
    questions = [{**VERDICT_ONLY[0], "config": config}] if config else VERDICT_ONLY
    return make_project(session, questions=questions, redundancy=1)


def coding_item(
    session: Session, project: Project, answers: tuple[str, ...], meta: dict[str, Any] | None = None
) -> Item:
    """An item whose candidates A, B, ... are `answers`, with metadata `meta`."""
    item = Item(
        project_id=project.id,
        prompt="Write the function.",
        meta=meta or {},
        content_hash=uuid.uuid4().hex,
        created_at=utcnow(),
    )
    session.add(item)
    session.flush()
    for pos, text in enumerate(answers):
        session.add(Candidate(item_id=item.id, key=chr(65 + pos), position=pos, text=text))
    session.commit()
    return item


def humaneval_item(session: Session, project: Project, problem: dict[str, Any]) -> Item:
    """A HumanEval problem as the demo imports it: A the canonical solution, B broken."""
    meta = {"test": problem["test"], "entry_point": problem["entry_point"]}
    return coding_item(session, project, (problem["solution"], problem["broken"]), meta)


def fake_result(passed: bool = True, n: int = 1) -> RunResult:
    """A RunResult as the sandbox would report it, without running anything."""
    status = "passed" if passed else "failed"
    return RunResult.model_validate(
        {
            "mode": "bwrap",
            "reason": "ok" if passed else "failed",
            "detail": "all passed" if passed else f"{n} of {n} tests failed",
            "passed": passed,
            "n_passed": n if passed else 0,
            "n_cases": n,
            "cases": [{"index": i, "name": f"case {i}", "status": status} for i in range(n)],
            "duration_s": 0.01,
            "limits": Limits().model_dump(),
        }
    )


def count_runs(session: Session, item_id: int | None = None) -> int:
    query = select(func.count()).select_from(CodeRun)
    if item_id is not None:
        query = query.where(CodeRun.item_id == item_id)
    return int(session.scalar(query) or 0)


def test_humaneval_canonical_solutions_pass_and_broken_variants_fail(session: Session) -> None:
    project = coding_project(session)
    items = [humaneval_item(session, project, p) for p in SAMPLE]
    report = run_project(session, project=project, concurrency=2)
    assert (report.total, report.ran, report.reused, report.passed) == (22, 22, 0, 11)
    for problem, item in zip(SAMPLE, items, strict=True):
        runs = runs_for_item(session, item.id)
        good, bad = runs["A"], runs["B"]
        assert (good.status, good.passed) == ("ok", True), (problem["id"], good.result["detail"])
        assert good.n_cases >= 1 and good.n_passed == good.n_cases
        assert (bad.status, bad.passed) == ("failed", False), problem["id"]
        failing = [c for c in bad.result["cases"] if c["status"] in ("failed", "error")]
        assert failing and failing[0]["message"], problem["id"]
        assert good.mode in ("bwrap", "unshare", "rlimits-only")
        assert RunResult.model_validate(good.result).n_cases == good.n_cases


def test_a_rerun_of_unchanged_code_reuses_the_stored_run(session: Session) -> None:
    project = coding_project(session)
    item = humaneval_item(session, project, SAMPLE[0])
    first = run_item(session, item=item)
    again = run_item(session, item=item)
    assert {k: r.id for k, r in again.items()} == {k: r.id for k, r in first.items()}
    assert count_runs(session, item.id) == 2
    report = run_project(session, project=project)
    assert (report.ran, report.reused, report.passed) == (0, 2, 1)
    forced = run_item(session, item=item, force=True)
    assert forced["A"].id > first["A"].id and count_runs(session, item.id) == 4
    assert forced["A"].code_sha256 == first["A"].code_sha256


def test_changed_tests_make_the_old_run_stale(session: Session) -> None:
    project = coding_project(session)
    problem = SAMPLE[0]
    item = humaneval_item(session, project, problem)
    old = run_item(session, item=item, candidate_keys=["A"])["A"]
    assert set(runs_for_item(session, item.id)) == {"A"}
    item.meta = {**item.meta, "test": "def check(candidate):\n    assert False, 'new'\n"}
    session.commit()
    assert runs_for_item(session, item.id) == {}  # "not run yet" rather than a stale result
    new = run_item(session, item=item, candidate_keys=["A"])["A"]
    assert new.id != old.id and new.tests_sha256 != old.tests_sha256
    assert (new.status, new.passed) == ("failed", False)


def test_tests_come_from_the_question_when_the_item_has_none(session: Session) -> None:
    tests = "def check(candidate):\n    assert candidate(2) == 4\n"
    project = coding_project(session, tests=tests, entry_point="double", timeout_s=5)
    code = "Here it is:\n\n```python\ndef double(x):\n    return 2 * x\n```\nDone."
    item = coding_item(session, project, (code, "def double(x):\n    return x\n"))
    spec = run_spec(project, item)
    assert (spec.source, spec.entry_point, spec.timeout_s) == ("question", "double", 5)
    runs = run_item(session, item=item)
    assert (runs["A"].status, runs["B"].status) == ("ok", "failed")
    assert runs["A"].result["limits"]["wall_s"] == 5
    bare = coding_project(session)
    nothing = coding_item(session, bare, ("x = 1\n",))
    assert run_spec(bare, nothing).source == "none"
    loads = run_item(session, item=nothing)["A"]
    assert loads.passed and loads.result["cases"][0]["name"] == "the code loads"


def test_candidate_code_takes_off_the_markdown_fences() -> None:
    assert candidate_code("```python\ndef f():\n    return 1\n```") == "def f():\n    return 1\n"
    two = "Intro\n```python\nimport os\n```\ntext\n~~~\nx = 1\n~~~\n"
    assert candidate_code(two) == "import os\nx = 1\n"
    assert candidate_code("def f(): pass") == "def f(): pass"


def test_code_runs_outside_any_open_transaction(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = coding_project(session)
    item = coding_item(session, project, ("a = 1", "b = 2"))
    seen: list[bool] = []

    def execute(job: RunJob, **_: Any) -> RunResult:
        seen.append(session.in_transaction())
        return fake_result()

    monkeypatch.setattr(code_runs, "execute", execute)
    run_item(session, item=item)
    # One at a time: with more, the finished runs are written (a short transaction of
    # their own) while others run; no transaction is ever held across a run.
    run_project(session, project=project, force=True, concurrency=1)
    assert seen == [False] * 4


def test_run_project_bounds_its_concurrency_and_reports_progress(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = coding_project(session)
    for i in range(6):
        coding_item(session, project, (f"a = {i}", f"b = {i}"))
    lock, running, most = threading.Lock(), [0], [0]

    def execute(job: RunJob, **_: Any) -> RunResult:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return fake_result(passed=job.candidate_key == "A")

    monkeypatch.setattr(code_runs, "execute", execute)
    monkeypatch.setattr(code_runs, "PAGE_ITEMS", 4)  # two pages
    done: list[int] = []
    report = run_project(
        session, project=project, concurrency=3, on_progress=lambda r: done.append(r.done)
    )
    assert most[0] <= 3
    assert (report.total, report.done, report.ran, report.passed) == (12, 12, 12, 6)
    assert report.by_status == {"ok": 6, "failed": 6}
    assert done[0] == 0 and done[-1] == 12 and done == sorted(done)
    assert count_runs(session) >= 12


def test_a_missing_sandbox_and_other_languages_are_reported(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = coding_project(session, language="javascript")
    item = coding_item(session, project, ("console.log(1)",))
    with pytest.raises(InvalidInput, match="only python"):
        run_item(session, item=item)

    def unavailable(job: RunJob, **_: Any) -> RunResult:
        raise SandboxUnavailable("no sandbox mode can run here")

    monkeypatch.setattr(code_runs, "execute", unavailable)
    python = coding_project(session)
    coding_item(session, python, ("x = 1",))
    with pytest.raises(SandboxUnavailable):
        run_project(session, project=python)
    assert count_runs(session) == 0


def _verdicts(item_id: int, run_ids: dict[str, int | None]) -> SubmissionCreate:
    return SubmissionCreate(
        item_id=item_id,
        submission_key=uuid.uuid4().hex[:16],
        answers=[
            {
                "question": "execution",
                "candidate": key,
                "value": {"verdict": "correct", "run_id": rid},
            }
            for key, rid in run_ids.items()
        ],  # type: ignore[misc]
    )


def test_a_run_id_must_be_a_run_of_that_item_and_answer(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(code_runs, "execute", lambda job, **_: fake_result())
    project = coding_project(session)
    item = coding_item(session, project, ("a = 1", "b = 2"))
    other = coding_item(session, project, ("c = 3", "d = 4"))
    mine, theirs = run_item(session, item=item), run_item(session, item=other)
    worker = join(session, project, make_user(session))
    with pytest.raises(InvalidInput) as err:
        submit_judgment(
            session, worker=worker, data=_verdicts(item.id, {"A": theirs["A"].id, "B": 999_999})
        )
    rows = {r.field: r.reason for r in err.value.rows}
    assert rows == {
        "answers.execution.A.value.run_id": f"no test run {theirs['A'].id} of this item",
        "answers.execution.B.value.run_id": "no test run 999999 of this item",
    }
    with pytest.raises(InvalidInput, match="invalid answers") as swapped:
        submit_judgment(
            session, worker=worker, data=_verdicts(item.id, {"A": mine["B"].id, "B": None})
        )
    assert "another answer's code" in swapped.value.rows[0].reason
    ok = _verdicts(item.id, {"A": mine["A"].id, "B": None})
    submission, created = submit_judgment(session, worker=worker, data=ok)
    assert created and submission.item_id == item.id
    check_run_ids(session, item_id=item.id, answers=[])  # nothing to check: no query, no error


def test_the_demo_loads_the_coding_project_with_its_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox is faked here (all 164 problems run for real when `judgeloop demo` loads).
    monkeypatch.setattr(
        code_runs, "execute", lambda job, **_: fake_result(job.candidate_key == "A")
    )
    slugs = [p.slug for p in load_demo(settings)]
    assert "humaneval-coding" in slugs
    with open_session(settings) as session:
        project = session.scalar(select(Project).where(Project.slug == "humaneval-coding"))
        assert project is not None and project.settings["shuffle_candidates"] is True
        items = list(session.scalars(select(Item).where(Item.project_id == project.id)))
        assert len(items) == 164
        assert {"test", "entry_point"} <= set(items[0].meta)
        assert "broken_mutation" not in items[0].meta  # nothing tells a worker which is broken
        runs = list(session.scalars(select(CodeRun).where(CodeRun.project_id == project.id)))
        assert len(runs) == 328 and sum(r.passed for r in runs) == 164
        again = run_demo_code(session, project)
        assert again is not None and (again.ran, again.reused) == (0, 328)
