"""The task page's form: lease -> render -> post -> stored judgments, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.store.base import utcnow
from judgeloop.store.models import Assignment, Item, Judgment, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup

ALL_KINDS: list[dict[str, Any]] = [
    {"key": "score", "kind": "rating", "title": "Score?", "per_candidate": True,
     "explanation": "optional",
     "config": {"min": 1, "max": 3, "levels": {"1": "Bad", "3": "Good"}}},
    {"key": "topic", "kind": "choice", "title": "Topic?", "config": {"multiple": True, "options": [
        {"value": "math", "label": "Math"}, {"value": "art", "label": "Art"}]}},
    {"key": "better", "kind": "preference", "title": "Better?", "explanation": "required"},
    {"key": "order", "kind": "ranking", "title": "Rank them"},
    {"key": "fix", "kind": "text", "title": "Rewrite A", "config": {"mode": "rewrite"}},
    {"key": "marks", "kind": "spans", "title": "Mark errors",
     "config": {"labels": [{"value": "err", "label": "Error"}], "targets": ["A", "prompt"]}},
    {"key": "facts", "kind": "claims", "title": "Claims", "config": {"target": "B"}},
    {"key": "run", "kind": "code_run", "title": "Verdict", "per_candidate": True},
]  # fmt: skip


def lease(client: TestClient, slug: str) -> tuple[int, Any]:
    """Lease the next task of `slug` through the page; return its id and its page."""
    token = csrf_of(client.get("/work"))
    response = client.post(f"/work/{slug}/next", data={"csrf_token": token})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    found = re.fullmatch(r"/work/assignments/(\d+)", location)
    assert found, location
    page = client.get(location)
    assert page.status_code == 200, page.text
    return int(found.group(1)), page


def form_defaults(page: Any) -> dict[str, Any]:
    """The task form's hidden fields (CSRF token, submission key, widget inputs)."""
    form = soup(page).select_one("#task-form")
    assert form is not None
    return {str(i["name"]): str(i.get("value", "")) for i in form.select("input[type=hidden]")}


def setup(session: Session, **kw: Any) -> tuple[Project, User, Item]:
    project = make_project(session, **{"redundancy": 1, **kw})
    worker = join(session, project, make_user(session))
    item = make_item(session, project=project, prompt="Is 7 prime?", answers=("Yes.", "No."))
    return project, worker, item


def stored(session: Session, worker: User) -> dict[tuple[str, str], tuple[Any, str]]:
    session.expire_all()
    rows = session.scalars(
        select(Judgment)
        .join(Submission, Submission.id == Judgment.submission_id)
        .where(Submission.worker_id == worker.id)
    )
    return {(j.question_key, j.candidate_key): (j.value, j.explanation) for j in rows}


def count_submissions(session: Session, worker: User) -> int:
    session.expire_all()
    query = select(func.count()).where(Submission.worker_id == worker.id)
    return int(session.scalar(query) or 0)


def test_lease_render_submit_stores_what_the_form_said(
    client: TestClient, session: Session
) -> None:
    project, worker, _ = setup(session, questions=ALL_KINDS)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    fields = form_defaults(page)
    claim = {"claim": "No.", "verdict": "refuted", "source": "https://primes.org", "note": "7"}
    fields.update({
        "a.score.A": "3", "e.score.A": "right", "a.score.B": "1",
        "a.topic": ["math", "art"],
        "a.better.winner": "A", "a.better.strength": "3", "e.better": "B is wrong",
        "a.order.order": "A,B",
        "a.fix": "Yes, 7 is prime.",
        "a.marks.spans": json.dumps([{"target": "prompt", "start": 3, "end": 4, "label": "err"}]),
        "a.facts.claims": json.dumps([claim]),
        "a.run.A.verdict": "correct", "a.run.B.verdict": "incorrect",
        "seconds_spent": "42.5",
    })  # fmt: skip
    response = client.post(f"/work/assignments/{assignment_id}", data=fields)
    assert response.status_code == 303, soup(response).select_one("#problems")
    assert response.headers["location"] == f"/work/{project.slug}/next"
    assert stored(session, worker) == {
        ("score", "A"): (3, "right"),
        ("score", "B"): (1, ""),
        ("topic", ""): (["math", "art"], ""),
        ("better", ""): ({"winner": "A", "strength": 3}, "B is wrong"),
        ("order", ""): (["A", "B"], ""),
        ("fix", ""): ("Yes, 7 is prime.", ""),
        ("marks", ""): ([{"target": "prompt", "start": 3, "end": 4, "label": "err",
                          "text": "7"}], ""),
        ("facts", ""): ([{**claim, "start": None, "end": None}], ""),
        ("run", "A"): ({"verdict": "correct", "run_id": None}, ""),
        ("run", "B"): ({"verdict": "incorrect", "run_id": None}, ""),
    }  # fmt: skip
    submission = session.scalar(select(Submission).where(Submission.worker_id == worker.id))
    assert submission is not None
    assert (submission.source, submission.seconds_spent) == ("web", 42.5)
    assert submission.assignment_id == assignment_id
    done = client.get(response.headers["location"])  # the next task: none left
    assert done.status_code == 200
    assert "All done" in done.text


def test_bad_form_is_shown_again_with_messages_and_values(
    client: TestClient, session: Session
) -> None:
    project, worker, _ = setup(session, questions=ALL_KINDS, require_explanation=True)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    fields = form_defaults(page)
    fields.update({
        "a.score.A": "3", "e.score.A": "kept <b>as typed</b>",
        "a.better.winner": "B",  # no strength, no explanation
        "a.fix": "Yes.",  # identical to answer A
        "a.marks.spans": "{broken",
        "a.facts.claims": json.dumps([{"claim": "x", "verdict": "refuted", "source": ""}]),
    })  # fmt: skip
    response = client.post(f"/work/assignments/{assignment_id}", data=fields)
    assert response.status_code == 422
    html = soup(response)
    messages = {
        str(ul["id"]): ul.get_text(" ", strip=True) for ul in html.select("ul.field-errors")
    }
    assert "Choose how much better" in messages["a-better-errors"]
    assert "An explanation is required" in messages["a-better-why-errors"]
    assert "This question is required" in messages["a-score-B-errors"]
    assert "identical to candidate A" in messages["a-fix-errors"]
    assert "could not be read" in messages["a-marks-errors"]
    assert "Claim 1: a source URL is required" in messages["a-facts-errors"]
    assert "This question is required" in messages["a-order-errors"]
    assert "Explain your judgment" in messages["explanation-errors"]
    assert html.select_one("#problems") is not None
    assert "This question is required" not in messages.get("a-marks-errors", "")
    why = html.select_one("#a-score-A-why")
    assert why is not None and why.get_text().strip() == "kept <b>as typed</b>"
    checked = html.select_one('input[name="a.score.A"][checked]')
    assert checked is not None and checked["value"] == "3"
    assert html.select_one('input[name="a.better.winner"][value="B"][checked]') is not None
    assert form_defaults(response)["submission_key"] == fields["submission_key"]
    assert count_submissions(session, worker) == 0


def test_retry_with_the_same_submission_key_adds_nothing(
    client: TestClient, session: Session
) -> None:
    project, worker, _ = setup(session)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    fields = {**form_defaults(page), "a.quality": "4"}
    first = client.post(f"/work/assignments/{assignment_id}", data=fields)
    second = client.post(f"/work/assignments/{assignment_id}", data=fields)  # a double click
    assert first.status_code == second.status_code == 303
    assert count_submissions(session, worker) == 1
    assert stored(session, worker) == {("quality", ""): (4, "")}
    again = client.get(f"/work/assignments/{assignment_id}")  # the back button
    assert again.status_code == 200
    assert "already submitted" in again.text


def test_expired_lease_taken_by_someone_else_gets_a_clear_page(
    client: TestClient, session: Session
) -> None:
    project, worker, _ = setup(session)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    assignment = session.get(Assignment, assignment_id)
    assert assignment is not None
    assignment.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    other = join(session, project, make_user(session))
    from judgeloop.services.queue import lease_next_assignment

    assert lease_next_assignment(session, project=project, worker=other) is not None
    response = client.post(
        f"/work/assignments/{assignment_id}", data={**form_defaults(page), "a.quality": "2"}
    )
    assert response.status_code == 409
    html = soup(response)
    assert "went to someone else" in html.get_text()
    form = html.select_one("main form")
    assert form is not None and form["action"] == f"/work/{project.slug}/next"
    assert count_submissions(session, worker) == 0


def test_post_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    project, worker, _ = setup(session)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    fields = {**form_defaults(page), "a.quality": "4"}
    fields.pop("csrf_token")
    response = client.post(f"/work/assignments/{assignment_id}", data=fields)
    assert response.status_code == 403
    assert count_submissions(session, worker) == 0
