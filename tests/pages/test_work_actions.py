"""Skip, pause, flag and heartbeat from the task page, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.store.models import Assignment, Flag, Item, Project, User
from tests.factories import join, make_item, make_project, make_user
from tests.pages.helpers import sign_in, soup
from tests.pages.test_work_submit import form_defaults, lease


def _task(client: TestClient, session: Session) -> tuple[Project, User, Item, int, str]:
    project = make_project(session, redundancy=1)
    worker = join(session, project, make_user(session))
    item = make_item(session, project=project)
    sign_in(client, worker.email)
    assignment_id, page = lease(client, project.slug)
    return project, worker, item, assignment_id, form_defaults(page)["csrf_token"]


def _assignment(session: Session, assignment_id: int) -> Assignment:
    session.expire_all()
    assignment = session.get(Assignment, assignment_id)
    assert assignment is not None
    return assignment


def test_skip_needs_a_reason_then_goes_on(client: TestClient, session: Session) -> None:
    project, _, _, assignment_id, token = _task(client, session)
    url = f"/work/assignments/{assignment_id}/skip"
    refused = client.post(url, data={"csrf_token": token, "reason": "", "note": " "})
    assert refused.status_code == 422
    error = soup(refused).select_one("#skip-error")
    assert error is not None and "say why you skip" in error.text
    assert _assignment(session, assignment_id).state == "leased"
    data = {"csrf_token": token, "reason": "Other", "note": "not my field"}
    response = client.post(url, data=data)
    assert response.status_code == 303
    assert response.headers["location"] == f"/work/{project.slug}/next"
    assignment = _assignment(session, assignment_id)
    assert (assignment.state, assignment.skip_reason) == ("skipped", "Other: not my field")


def test_pause_gives_the_task_back(client: TestClient, session: Session) -> None:
    _, _, item, assignment_id, token = _task(client, session)
    response = client.post(f"/work/assignments/{assignment_id}/pause", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/work"
    assert _assignment(session, assignment_id).state == "released"
    session.refresh(item)
    assert (item.slots_taken, item.is_open) == (0, True)
    ended = client.get(f"/work/assignments/{assignment_id}")
    assert "went back to the queue" in ended.text


def test_flag_then_continue(client: TestClient, session: Session) -> None:
    _, worker, item, assignment_id, token = _task(client, session)
    url = f"/work/assignments/{assignment_id}/flag"
    bad = client.post(url, data={"csrf_token": token, "reason": "weird"})
    assert bad.status_code == 422
    assert "choose what is wrong" in bad.text
    data = {"csrf_token": token, "reason": "personal_data", "note": "a phone number"}
    response = client.post(url, data=data)
    assert response.status_code == 303
    assert response.headers["location"] == f"/work/assignments/{assignment_id}?flagged=1"
    flag = session.scalar(select(Flag).where(Flag.item_id == item.id))
    assert flag is not None
    assert (flag.reason, flag.note, flag.worker_id) == (
        "personal_data",
        "a phone number",
        worker.id,
    )
    assert "the item is flagged" in client.get(response.headers["location"]).text
    assert _assignment(session, assignment_id).state == "leased"


def test_flag_then_skip(client: TestClient, session: Session) -> None:
    project, _, _, assignment_id, token = _task(client, session)
    data = {"csrf_token": token, "reason": "harmful_content", "then": "skip"}
    response = client.post(f"/work/assignments/{assignment_id}/flag", data=data)
    assert response.headers["location"] == f"/work/{project.slug}/next"
    assignment = _assignment(session, assignment_id)
    assert (assignment.state, assignment.skip_reason) == ("skipped", "flagged: harmful_content")


def test_heartbeat_extends_the_lease_and_records_active_time(
    client: TestClient, session: Session
) -> None:
    _, _, _, assignment_id, token = _task(client, session)
    before = _assignment(session, assignment_id).expires_at
    url = f"/work/assignments/{assignment_id}/heartbeat"
    refused = client.post(url, json={"active_seconds": 5})  # no CSRF header
    assert refused.status_code == 403
    response = client.post(url, json={"active_seconds": 0.5}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "leased"
    assert 0 < body["active_seconds"] <= 0.5
    assert _assignment(session, assignment_id).expires_at >= before
    client.post(f"/work/assignments/{assignment_id}/pause", data={"csrf_token": token})
    gone = client.post(url, json={"active_seconds": 1}, headers={"X-CSRF-Token": token})
    assert gone.status_code == 409
