"""Submissions over the API: POST /submissions (idempotent) and reading them back."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.store.models import Submission
from tests.api.helpers import Api, error, rating
from tests.factories import join, make_item, make_project, make_user


def test_submit_creates_then_replays(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    body = rating(item.id, 4, key="retry-key-0001")
    first = api.post("/submissions", as_=worker, json=body)
    assert first.status_code == 201
    created = first.json()
    assert created["created"] is True
    assert created["source"] == "api"
    assert created["worker_id"] == worker.id
    assert created["judgments"] == [
        {
            "question_key": "quality",
            "candidate_key": "",
            "kind": "rating",
            "value": 4,
            "explanation": "",
        }
    ]
    again = api.post("/submissions", as_=worker, json=body)
    assert again.status_code == 200
    assert again.json()["id"] == created["id"]
    assert again.json()["created"] is False
    count = session.scalar(select(func.count()).where(Submission.item_id == item.id))
    assert count == 1


def test_invalid_answer_is_422_with_field_paths(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    response = api.post("/submissions", as_=worker, json=rating(item.id, 9))
    assert response.status_code == 422
    body = error(response)
    assert body["code"] == "invalid_input"
    assert body["rows"][0]["field"] == "answers.quality.value"
    assert body["total"] == 1


def test_malformed_body_is_422(api: Api, session: Session) -> None:
    worker = make_user(session)
    response = api.post("/submissions", as_=worker, json={"item_id": "x", "answers": []})
    assert response.status_code == 422
    fields = {row["field"] for row in error(response)["rows"]}
    assert {"item_id", "submission_key"} <= fields


def test_second_judgment_of_an_item_conflicts(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    assert api.post("/submissions", as_=worker, json=rating(item.id)).status_code == 201
    response = api.post("/submissions", as_=worker, json=rating(item.id))
    assert response.status_code == 409
    assert error(response)["code"] == "conflict"


def test_paused_project_takes_no_submissions(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    project.state = "paused"
    session.commit()
    assert api.post("/submissions", as_=worker, json=rating(item.id)).status_code == 409


def test_list_and_get(api: Api, session: Session) -> None:
    project = make_project(session)
    items = [make_item(session, project=project, prompt=f"q{i}") for i in range(3)]
    alice = join(session, project, make_user(session))
    bob = join(session, project, make_user(session))
    for item in items:
        api.post("/submissions", as_=alice, json=rating(item.id))
    api.post("/submissions", as_=bob, json=rating(items[0].id))
    owner = session.get(type(alice), project.owner_id)
    url = f"/projects/{project.slug}/submissions"
    first = api.get(url, as_=owner, params={"limit": 3}).json()
    assert len(first["submissions"]) == 3
    rest = api.get(url, as_=owner, params={"after": first["next_after"]}).json()
    assert len(rest["submissions"]) == 1
    assert rest["next_after"] is None
    only_bob = api.get(url, as_=owner, params={"worker_id": bob.id}).json()["submissions"]
    assert [s["worker_id"] for s in only_bob] == [bob.id]
    about = api.get(url, as_=owner, params={"item_id": items[0].id}).json()["submissions"]
    assert {s["worker_id"] for s in about} == {alice.id, bob.id}
    one = api.get(f"/submissions/{only_bob[0]['id']}", as_=owner)
    assert one.status_code == 200
    assert one.json()["judgments"][0]["value"] == 4


def test_worker_listing_is_forced_to_their_own(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    alice = join(session, project, make_user(session))
    bob = join(session, project, make_user(session))
    api.post("/submissions", as_=alice, json=rating(item.id))
    api.post("/submissions", as_=bob, json=rating(item.id))
    url = f"/projects/{project.slug}/submissions"
    for params in ({}, {"worker_id": alice.id}):
        subs = api.get(url, as_=bob, params=params).json()["submissions"]
        assert [s["worker_id"] for s in subs] == [bob.id]


def test_missing_submission_is_404(api: Api, session: Session) -> None:
    admin = make_user(session, role="admin")
    assert api.get("/submissions/424242", as_=admin).status_code == 404
