"""Reviewer pages: the submission list, the submission as the worker saw it, the verdict."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.projects import add_guideline_version
from judgeloop.services.queue import lease_next_assignment
from judgeloop.services.reviews import reviews_of
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import (
    Assignment,
    Candidate,
    Item,
    ModelVersion,
    Project,
    Submission,
    User,
)
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="alert(1)"> **bold**'


def _ab_project(session: Session, **kw: Any) -> tuple[Project, User, User, User]:
    owner = make_user(session, role="owner")
    project = make_project(session, owner=owner, preset="ab_comparison", questions=[], **kw)
    worker = join(session, project, make_user(session))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    return project, owner, worker, reviewer


def _with_models(session: Session, item: Item) -> None:
    for i, cand in enumerate(
        session.scalars(select(Candidate).where(Candidate.item_id == item.id))
    ):
        model = ModelVersion(name=f"secret-model-{uuid.uuid4().hex[:6]}-{i}")
        session.add(model)
        session.flush()
        cand.model_version_id = model.id
    session.commit()


def _judge(session: Session, project: Project, worker: User) -> Submission:
    lease = lease_next_assignment(session, project=project, worker=worker)
    assert lease is not None
    return _submit(session, worker, lease)


def _submit(session: Session, worker: User, lease: Assignment) -> Submission:
    answers = [
        AnswerIn(question="preference", value={"winner": "B", "strength": 3}, explanation=HOSTILE),
        AnswerIn(question="helpfulness", candidate="A", value=2),
        AnswerIn(question="helpfulness", candidate="B", value=5),
    ]
    data = SubmissionCreate(
        item_id=lease.item_id,
        assignment_id=lease.id,
        submission_key=uuid.uuid4().hex,
        answers=answers,
        seconds_spent=95,
        explanation="Overall, B.",
    )
    return submit_judgment(session, worker=worker, data=data)[0]


def _post_review(client: TestClient, sid: int, **fields: str) -> Any:
    token = csrf_of(client.get(f"/review/submissions/{sid}"))
    return client.post(f"/review/submissions/{sid}", data={"csrf_token": token, **fields})


def test_review_page_shows_the_item_as_the_worker_saw_it(
    client: TestClient, session: Session
) -> None:
    project, _, worker, reviewer = _ab_project(session)
    item = make_item(
        session, project=project, prompt="Capital of Australia?", answers=("Sydney", "Canberra")
    )
    _with_models(session, item)
    lease = lease_next_assignment(session, project=project, worker=worker)
    assert lease is not None
    sign_in(client, worker.email)
    seen = soup(client.get(f"/work/assignments/{lease.id}"))
    seen_order = [a["data-candidate"] for a in seen.select("article.candidate")]
    submission = _submit(session, worker, lease)
    add_guideline_version(session, project=project, author=worker, body="v2")
    client.cookies.clear()
    sign_in(client, reviewer.email)
    response = client.get(f"/review/submissions/{submission.id}")
    assert response.status_code == 200
    page = soup(response)
    order = [a["data-candidate"] for a in page.select("article.candidate")]
    assert order == seen_order and sorted(order) == ["A", "B"]
    assert "Capital of Australia?" in page.select_one(".prompt").get_text()  # type: ignore[union-attr]
    assert "secret-model" not in response.text  # the project hides model names
    pref = page.select_one("#answer-preference")
    assert pref is not None
    shown_b = page.select_one("article.candidate[data-candidate=B] h2").get_text()  # type: ignore[union-attr]
    assert f"{shown_b} is better" in pref.get_text() and "much better" in pref.get_text()
    assert pref.select_one(".explanation strong").get_text() == "bold"  # type: ignore[union-attr]
    assert pref.select_one("script, img") is None
    helpful = page.select_one("#answer-helpfulness")
    assert helpful is not None
    summaries = [p.get_text(" ", strip=True) for p in helpful.select(".answer-summary")]
    assert any(s.startswith("5 of 5") and "Extremely helpful" in s for s in summaries)
    assert any(s.startswith("2 of 5") and "Slightly helpful" in s for s in summaries)
    assert page.select_one("#answer-accuracy .muted").get_text() == "Not answered."  # type: ignore[union-attr]
    tags = page.select_one(".page-header").get_text()  # type: ignore[union-attr]
    assert "time spent 95 s" in tags and "version 1" in tags and "current: 2" in tags
    assert "Overall, B." in page.get_text()


def test_owner_of_a_project_that_shows_models_sees_them(
    client: TestClient, session: Session
) -> None:
    project, owner, worker, _ = _ab_project(session, hide_model_identity=False)
    item = make_item(session, project=project)
    _with_models(session, item)
    submission = _judge(session, project, worker)
    sign_in(client, owner.email)
    assert "secret-model" in client.get(f"/review/submissions/{submission.id}").text


def test_reject_with_feedback_requeues_and_shows_the_review(
    client: TestClient, session: Session
) -> None:
    project, _, worker, reviewer = _ab_project(session, redundancy=1)
    item = make_item(session, project=project)
    submission = _judge(session, project, worker)
    sign_in(client, reviewer.email)
    response = _post_review(client, submission.id, verdict="reject", feedback="Look at *accuracy*.")
    assert response.status_code == 303
    assert response.headers["location"] == f"/review/submissions/{submission.id}?reviewed=1"
    session.expire_all()
    assert session.get(Submission, submission.id).state == "rejected"  # type: ignore[union-attr]
    assert session.get(Item, item.id).is_open is True  # type: ignore[union-attr]
    page = soup(client.get(response.headers["location"]))
    assert "Saved: the submission is rejected." in page.select_one("[role=status]").get_text()  # type: ignore[union-attr]
    entry = page.select_one(".review-entry")
    assert entry is not None and entry.select_one("em").get_text() == "accuracy"  # type: ignore[union-attr]
    assert page.select_one("#submission-state").get_text() == "rejected"  # type: ignore[union-attr]


def test_rejection_without_feedback_is_shown_by_the_field(
    client: TestClient, session: Session
) -> None:
    project, _, worker, reviewer = _ab_project(session)
    make_item(session, project=project)
    submission = _judge(session, project, worker)
    sign_in(client, reviewer.email)
    response = _post_review(client, submission.id, verdict="reject", feedback="  ")
    assert response.status_code == 422
    page = soup(response)
    assert page.select_one("#feedback-error") is not None
    assert page.select_one("#feedback")["aria-invalid"] == "true"  # type: ignore[index]
    assert page.select_one("#verdict-reject").has_attr("checked")  # type: ignore[union-attr]
    no_verdict = _post_review(client, submission.id, feedback="hm")
    assert no_verdict.status_code == 422
    assert soup(no_verdict).select_one("#verdict-error") is not None
    assert reviews_of(session, submission_id=submission.id) == []


def test_review_post_needs_csrf(client: TestClient, session: Session) -> None:
    project, _, worker, reviewer = _ab_project(session)
    make_item(session, project=project)
    submission = _judge(session, project, worker)
    sign_in(client, reviewer.email)
    response = client.post(f"/review/submissions/{submission.id}", data={"verdict": "accept"})
    assert response.status_code == 403
    assert reviews_of(session, submission_id=submission.id) == []


def test_workers_and_strangers_cannot_review(client: TestClient, session: Session) -> None:
    project, _, worker, _ = _ab_project(session)
    make_item(session, project=project)
    submission = _judge(session, project, worker)
    peer = join(session, project, make_user(session))
    url = f"/review/submissions/{submission.id}"
    for user, status in ((worker, 403), (peer, 403), (make_user(session, role="reviewer"), 404)):
        client.cookies.clear()
        sign_in(client, user.email)
        assert client.get(url).status_code == status
        token = csrf_of(client.get("/projects"))
        data = {"csrf_token": token, "verdict": "accept"}
        assert client.post(url, data=data).status_code == status
        assert client.get(f"/projects/{project.slug}/submissions").status_code == status
    assert client.get("/review/submissions/999999").status_code == 404
    assert reviews_of(session, submission_id=submission.id) == []


def test_submission_list_filters_by_state(client: TestClient, session: Session) -> None:
    project, owner, worker, _ = _ab_project(session)
    for _ in range(2):
        make_item(session, project=project)
    first = _judge(session, project, worker)
    second = _judge(session, project, worker)
    sign_in(client, owner.email)
    _post_review(client, first.id, verdict="accept")
    page = soup(client.get(f"/projects/{project.slug}/submissions"))
    links = [a["href"] for a in page.select("table.list tbody a")]
    assert links == [f"/review/submissions/{second.id}", f"/review/submissions/{first.id}"]
    filters = {a.get_text(" ", strip=True) for a in page.select(".filters a")}
    assert {"All 2", "Awaiting review 1", "Accepted 1", "Rejected 0"} == filters
    waiting = soup(client.get(f"/projects/{project.slug}/submissions?state=submitted"))
    assert [a["href"] for a in waiting.select("table.list tbody a")] == [
        f"/review/submissions/{second.id}"
    ]
    assert waiting.select_one(".filters a[aria-current=page]").get_text().startswith("Awaiting")  # type: ignore[union-attr]
    assert client.get(f"/projects/{project.slug}/submissions?state=lost").status_code == 422
