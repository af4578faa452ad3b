"""The task queue over HTTP: next, heartbeat, skip, release, flag; hidden gold and models."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.store.models import Flag
from tests.api.helpers import Api, error
from tests.factories import join, make_item, make_project, make_user


def _submit(api: Api, worker: object, task: dict[str, object], score: int = 4) -> int:
    body = {
        "item_id": task["item"]["id"],  # type: ignore[index]
        "assignment_id": task["assignment_id"],
        "submission_key": uuid.uuid4().hex,
        "answers": [{"question": "quality", "value": score}],
    }
    return api.post("/submissions", as_=worker, json=body).status_code  # type: ignore[arg-type]


def test_next_submit_until_done(api: Api, session: Session) -> None:
    project = make_project(session, redundancy=1)
    gold = make_item(session, project=project, is_gold=True)
    make_item(session, project=project)
    worker = join(session, project, make_user(session))
    seen = set()
    while (resp := api.post(f"/projects/{project.slug}/tasks/next", as_=worker)).status_code == 200:
        task = resp.json()
        assert task["item"]["is_gold"] is None and task["item"]["gold"] is None
        assert all(c["model"] is None for c in task["item"]["candidates"])
        assert _submit(api, worker, task) == 201
        seen.add(task["item"]["id"])
    assert resp.status_code == 204
    assert gold.id in seen and len(seen) == 2


def test_heartbeat_skip_release_flag(api: Api, session: Session) -> None:
    project = make_project(session, redundancy=1)
    item = make_item(session, project=project)
    worker = join(session, project, make_user(session))
    task = api.post(f"/projects/{project.slug}/tasks/next", as_=worker).json()
    aid = task["assignment_id"]
    beat = api.post(f"/assignments/{aid}/heartbeat", as_=worker, json={"active_seconds": 12})
    assert beat.status_code == 200
    assert api.post(f"/assignments/{aid}/release", as_=worker).status_code == 204
    again = api.post(f"/projects/{project.slug}/tasks/next", as_=worker).json()
    assert again["item"]["id"] == item.id
    bad = api.post(f"/assignments/{again['assignment_id']}/skip", as_=worker, json={"reason": ""})
    assert bad.status_code == 422
    ok = api.post(
        f"/assignments/{again['assignment_id']}/skip", as_=worker, json={"reason": "unclear"}
    )
    assert ok.status_code == 204
    assert api.post(f"/projects/{project.slug}/tasks/next", as_=worker).status_code == 204
    flag = api.post(f"/items/{item.id}/flags", as_=worker, json={"reason": "personal_data"})
    assert flag.status_code == 201
    assert session.scalar(select(Flag.reason).where(Flag.item_id == item.id)) == "personal_data"
    wrong = api.post(f"/items/{item.id}/flags", as_=worker, json={"reason": "meh"})
    assert error(wrong)["code"] == "invalid_input"


def test_other_workers_assignments_are_not_found(api: Api, session: Session) -> None:
    project = make_project(session, redundancy=2)
    make_item(session, project=project)
    alice = join(session, project, make_user(session))
    bob = join(session, project, make_user(session))
    task = api.post(f"/projects/{project.slug}/tasks/next", as_=alice).json()
    aid = task["assignment_id"]
    assert api.post(f"/assignments/{aid}/heartbeat", as_=bob, json={}).status_code == 404
    assert api.post(f"/assignments/{aid}/release", as_=bob).status_code == 404
    stranger = make_user(session)
    assert api.post(f"/projects/{project.slug}/tasks/next", as_=stranger).status_code == 404
