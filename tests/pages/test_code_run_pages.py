"""Test runs on the task page and the reviewer's page, on SQLite and PostgreSQL.

The worker sees "not run yet" and a Run tests button, runs the tests (a CSRF-checked
post that redirects back), sees each case, the failing assertion and the output
(escaped), and gives a verdict that names the run shown; the reviewer sees the same runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.sandbox import SandboxUnavailable
from judgeloop.services import code_runs
from judgeloop.services.code_run_jobs import RunJob
from judgeloop.store.models import CodeRun, Item, Project, Submission, User
from tests.factories import join, make_user
from tests.pages.helpers import csrf_of, sign_in, soup
from tests.pages.test_work_submit import form_defaults, lease, stored
from tests.services.test_code_runs import coding_item, coding_project

TESTS = "def check(candidate):\n    assert candidate(3) == 9, 'three squared'\n"
GOOD = "```python\ndef square(x):\n    print('<b>hi</b> \u202e')\n    return x * x\n```"
BAD = (
    "```python\nimport sys\ndef square(x):\n"
    "    sys.stderr.write('<script>alert(1)</script>')\n    return x + x\n```"
)


def _world(session: Session) -> tuple[Project, Item, User, User]:
    project = coding_project(session)
    item = coding_item(session, project, (GOOD, BAD), {"test": TESTS, "entry_point": "square"})
    worker = join(session, project, make_user(session))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    return project, item, worker, reviewer


def _boxes(page: Any) -> dict[str, Any]:
    return {str(b["id"]): b for b in soup(page).select("section.run-box")}


def _run_form_post(client: TestClient, page: Any, **extra: str) -> Any:
    form = soup(page).select_one("form#code-run-form")
    assert form is not None and form.has_attr("hidden")
    token = str(form.select_one("input[name=csrf_token]")["value"])  # type: ignore[index]
    return client.post(str(form["action"]), data={"csrf_token": token, **extra})


def test_worker_runs_the_tests_sees_the_results_and_gives_a_verdict(
    client: TestClient, session: Session
) -> None:
    project, _item, worker, _ = _world(session)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    boxes = _boxes(page)
    assert set(boxes) == {"a-execution-A-run", "a-execution-B-run"}
    assert all("not run yet" in b.get_text() for b in boxes.values())
    buttons = soup(page).select("button[form=code-run-form]")
    assert [b.get_text(strip=True) for b in buttons] == ["Run tests", "Run tests"]
    assert not any(name.endswith(".run_id") for name in form_defaults(page))

    ran = _run_form_post(client, page)
    assert ran.status_code == 303
    assert ran.headers["location"] == f"/work/assignments/{assignment_id}?code_run=ran"
    page = client.get(ran.headers["location"])
    html = soup(page)
    assert "The tests ran" in html.select_one("p.notice").get_text()  # type: ignore[union-attr]
    good, bad = _boxes(page)["a-execution-A-run"], _boxes(page)["a-execution-B-run"]
    assert good.select_one(".run-status").get_text(strip=True) == "Passed: 1 of 1 test"  # type: ignore[union-attr]
    assert "Failed: 0 of 1 test passed" in bad.get_text()
    case = bad.select_one("li.case-failed")
    assert case is not None
    assert "candidate(3) == 9" in case.select_one(".case-name").get_text()  # type: ignore[union-attr]
    message = case.select_one("pre.run-message").get_text()  # type: ignore[union-attr]
    assert "three squared" in message and "left: 6" in message
    stdout = good.select_one("pre.run-stdout").get_text()  # type: ignore[union-attr]
    assert "<b>hi</b>" in stdout and "[U+202E]" in stdout and "\u202e" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert html.select("script:not([src])") == [] or all(
        s.get("type") == "application/json" for s in html.select("script:not([src])")
    )
    assert "style=" not in page.text
    assert good.select_one(".run-meta .tag").get_text() in ("bwrap", "unshare", "rlimits-only")  # type: ignore[union-attr]

    runs = {r.candidate_key: r.id for r in session.scalars(select(CodeRun))}
    fields = form_defaults(page)
    assert fields["a.execution.A.run_id"] == str(runs["A"])
    fields |= {"a.execution.A.verdict": "correct", "a.execution.B.verdict": "incorrect"}
    done = client.post(f"/work/assignments/{assignment_id}", data=fields)
    assert done.status_code == 303, soup(done).select_one("#problems")
    assert stored(session, worker) == {
        ("execution", "A"): ({"verdict": "correct", "run_id": runs["A"]}, ""),
        ("execution", "B"): ({"verdict": "incorrect", "run_id": runs["B"]}, ""),
    }


def test_the_reviewer_sees_the_runs_and_what_the_worker_looked_at(
    client: TestClient, session: Session
) -> None:
    project, item, worker, reviewer = _world(session)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    _run_form_post(client, page)
    fields = form_defaults(client.get(f"/work/assignments/{assignment_id}"))
    fields |= {"a.execution.A.verdict": "correct", "a.execution.B.verdict": "correct"}
    assert client.post(f"/work/assignments/{assignment_id}", data=fields).status_code == 303
    submission = session.scalar(select(Submission).where(Submission.item_id == item.id))
    assert submission is not None
    client.cookies.clear()
    sign_in(client, reviewer.email)
    page = client.get(f"/review/submissions/{submission.id}")
    assert page.status_code == 200
    section = soup(page).select_one("section#code-runs")
    assert section is not None
    boxes = {str(b["id"]): b for b in section.select("section.run-box")}
    assert set(boxes) == {"review-run-A", "review-run-B"}
    assert "Passed: 1 of 1 test" in boxes["review-run-A"].get_text()
    assert "Failed: 0 of 1 test passed" in boxes["review-run-B"].get_text()
    run_b = session.scalar(select(CodeRun.id).where(CodeRun.candidate_key == "B"))
    answers = soup(page).select_one("#answer-execution").get_text(" ", strip=True)  # type: ignore[union-attr]
    assert f"having seen test run #{run_b}" in answers
    again = _run_form_post(client, page, force="1")
    assert again.status_code == 303
    assert (
        again.headers["location"] == f"/review/submissions/{submission.id}?code_run=ran#code-runs"
    )
    page = client.get(again.headers["location"])
    assert "The tests ran" in soup(page).select_one("section#code-runs").get_text()  # type: ignore[union-attr]
    assert len(list(session.scalars(select(CodeRun)))) == 4  # forced: two new runs


def test_run_posts_need_the_csrf_token_and_the_callers_own_task(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _item, worker, _ = _world(session)
    other = join(session, project, make_user(session))
    sign_in(client, worker.email)
    assignment_id, _page = lease(client, project.slug)
    url = f"/work/assignments/{assignment_id}/code-runs"
    assert client.post(url, data={}).status_code == 403  # no CSRF token
    client.cookies.clear()
    sign_in(client, other.email)
    token = csrf_of(client.get("/work"))
    assert client.post(url, data={"csrf_token": token}).status_code == 404
    assert session.scalars(select(CodeRun)).first() is None

    def unavailable(job: RunJob, **_: Any) -> Any:
        raise SandboxUnavailable("no sandbox mode can run here")

    monkeypatch.setattr(code_runs, "execute", unavailable)
    client.cookies.clear()
    sign_in(client, worker.email)
    down = _run_form_post(client, client.get(f"/work/assignments/{assignment_id}"))
    assert down.headers["location"].endswith("?code_run=unavailable")
    shown = client.get(down.headers["location"])
    assert "no sandbox can run on this server" in shown.text
    assert "not run yet" in shown.text
