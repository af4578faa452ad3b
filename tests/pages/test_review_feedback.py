"""GET /work/feedback: a worker reads the reviews of their own submissions, and only those."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.schemas.submissions import AnswerIn, SubmissionCreate
from judgeloop.services.reviews import review_submission
from judgeloop.services.submissions import submit_judgment
from judgeloop.store.models import Item, Project, Submission, User
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import sign_in, soup


def _submit(session: Session, worker: User, item: Item) -> Submission:
    data = SubmissionCreate(
        item_id=item.id,
        submission_key=uuid.uuid4().hex,
        answers=[AnswerIn(question="quality", value=2)],
    )
    return submit_judgment(session, worker=worker, data=data)[0]


def _setup(session: Session) -> tuple[Project, User, User]:
    project = make_project(session, name="Math answers")
    worker = join(session, project, make_user(session))
    reviewer = join(session, project, make_user(session, role="reviewer"), "reviewer")
    return project, worker, reviewer


def test_worker_sees_feedback_newest_first(client: TestClient, session: Session) -> None:
    project, worker, reviewer = _setup(session)
    first = _submit(session, worker, make_item(session, project=project, prompt="What is 2+2?"))
    second = _submit(session, worker, make_item(session, project=project, prompt="What is 3+3?"))
    review_submission(
        session,
        submission_id=first.id,
        reviewer=reviewer,
        verdict="reject",
        feedback="The answer **4** is right; <script>alert(1)</script> read again.",
    )
    review_submission(session, submission_id=second.id, reviewer=reviewer, verdict="accept")
    sign_in(client, worker.email)
    response = client.get("/work/feedback")
    assert response.status_code == 200
    page = soup(response)
    entries = page.select(".feedback-entry")
    assert len(entries) == 2
    assert "accepted" in entries[0].select_one(".tag").get_text()  # type: ignore[union-attr]
    rejected = entries[1]
    assert "rejected" in rejected.select_one(".tag").get_text()  # type: ignore[union-attr]
    assert "Math answers" in rejected.get_text() and "What is 2+2?" in rejected.get_text()
    assert rejected.select_one(".feedback strong").get_text() == "4"  # type: ignore[union-attr]
    assert rejected.select_one("script") is None
    assert "this judgment does not count" in rejected.get_text()
    assert reviewer.email not in response.text


def test_others_see_only_their_own_feedback(client: TestClient, session: Session) -> None:
    project, worker, reviewer = _setup(session)
    sub = _submit(session, worker, make_item(session, project=project))
    review_submission(
        session, submission_id=sub.id, reviewer=reviewer, verdict="reject", feedback="Private"
    )
    other = join(session, project, make_user(session))
    sign_in(client, other.email)
    page = client.get("/work/feedback")
    assert page.status_code == 200
    assert "Private" not in page.text
    assert "None of your submissions has been reviewed yet" in page.text


def test_signed_out_visitor_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/work/feedback")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/work/feedback"
