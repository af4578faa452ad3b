"""Who may do what (web/policies.py), checked through the API."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from judgeloop.store.models import Item, Project, User
from tests.api.helpers import Api, add_gold, attach_models, error, rating
from tests.factories import RATING_QUESTIONS, join, make_item, make_project, make_user


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    """Two projects; a worker in the first, a gold item with named models in it."""
    project = make_project(session)
    other = make_project(session)
    item = make_item(session, project=project)
    gold = make_item(session, project=project, prompt="gold?")
    add_gold(session, gold, 5)
    attach_models(session, item, "secret-model-a", "secret-model-b")
    attach_models(session, gold, "secret-model-a", "secret-model-b")
    return {
        "project": project,
        "other": other,
        "item": item,
        "gold": gold,
        "other_item": make_item(session, project=other),
        "worker": join(session, project, make_user(session)),
        "stranger": make_user(session),
    }


def test_worker_cannot_read_another_projects_items(api: Api, world: dict[str, object]) -> None:
    worker, other = world["worker"], world["other"]
    other_item = world["other_item"]
    assert isinstance(worker, User) and isinstance(other, Project) and isinstance(other_item, Item)
    listed = api.get(f"/projects/{other.slug}/items", as_=worker)
    assert listed.status_code == 404
    one = api.get(f"/items/{other_item.id}", as_=worker)
    assert one.status_code == 404
    assert str(other.id) not in error(one)["message"]


def test_worker_never_sees_gold_or_is_gold(api: Api, world: dict[str, object]) -> None:
    worker, gold, project = world["worker"], world["gold"], world["project"]
    assert isinstance(worker, User) and isinstance(gold, Item) and isinstance(project, Project)
    one = api.get(f"/items/{gold.id}", as_=worker).json()
    assert one["gold"] is None
    assert one["is_gold"] is None
    assert one["submissions"] is None
    page = api.get(f"/projects/{project.slug}/items", as_=worker).json()
    for item in page["items"]:
        assert item["gold"] is None and item["is_gold"] is None
    raw = api.get(f"/items/{gold.id}", as_=worker).text
    assert '"is_gold":true' not in raw.replace(" ", "")


def test_worker_never_sees_hidden_model_names(api: Api, world: dict[str, object]) -> None:
    worker, project = world["worker"], world["project"]
    assert isinstance(worker, User) and isinstance(project, Project)
    response = api.get(f"/projects/{project.slug}/items", as_=worker)
    assert "secret-model" not in response.text
    for item in response.json()["items"]:
        assert all(c["model"] is None for c in item["candidates"])


def test_worker_cannot_read_another_workers_submissions(
    api: Api, session: Session, world: dict[str, object]
) -> None:
    worker, project, item = world["worker"], world["project"], world["item"]
    assert isinstance(worker, User) and isinstance(project, Project) and isinstance(item, Item)
    colleague = join(session, project, make_user(session))
    theirs = api.post("/submissions", as_=colleague, json=rating(item.id)).json()
    assert api.get(f"/submissions/{theirs['id']}", as_=worker).status_code == 404
    assert api.get(f"/submissions/{theirs['id']}", as_=colleague).status_code == 200
    listed = api.get(f"/projects/{project.slug}/submissions", as_=worker).json()
    assert listed["submissions"] == []


def test_non_members_get_404_everywhere(api: Api, world: dict[str, object]) -> None:
    stranger, project, item = world["stranger"], world["project"], world["item"]
    assert isinstance(stranger, User) and isinstance(project, Project) and isinstance(item, Item)
    base = f"/projects/{project.slug}"
    for url in (
        base,
        f"/projects/{project.id}",
        f"{base}/items",
        f"{base}/guidelines",
        f"{base}/progress",
        f"{base}/submissions",
        f"{base}/members",
        f"{base}/export",
        f"/items/{item.id}",
    ):
        response = api.get(url, as_=stranger)
        assert response.status_code == 404, url
    assert api.patch(base, as_=stranger, json={"name": "x"}).status_code == 404
    submit = api.post("/submissions", as_=stranger, json=rating(item.id))
    assert submit.status_code == 404


def test_a_missing_project_and_a_hidden_one_read_the_same(
    api: Api, world: dict[str, object]
) -> None:
    stranger, project = world["stranger"], world["project"]
    assert isinstance(stranger, User) and isinstance(project, Project)
    hidden = api.get(f"/projects/{project.id}", as_=stranger)
    missing = api.get("/projects/99999999", as_=stranger)
    assert hidden.status_code == missing.status_code == 404
    assert error(hidden)["message"] == error(missing)["message"].replace(
        "99999999", str(project.id)
    )


def test_worker_is_forbidden_owner_actions(api: Api, world: dict[str, object]) -> None:
    worker, project = world["worker"], world["project"]
    assert isinstance(worker, User) and isinstance(project, Project)
    base = f"/projects/{project.slug}"
    assert api.get(base, as_=worker).status_code == 200
    assert api.get(f"{base}/guidelines", as_=worker).status_code == 200
    for method, url, body in (
        ("PATCH", base, {"name": "mine now"}),
        ("POST", f"{base}/guidelines", {"body": "# mine"}),
        ("POST", f"{base}/members", {"user_id": worker.id, "role": "owner"}),
        ("GET", f"{base}/members", None),
        ("GET", f"{base}/progress", None),
        ("GET", f"{base}/export", None),
    ):
        response = api.request(method, url, as_=worker, json=body)
        assert response.status_code == 403, (method, url)
        assert error(response)["code"] == "forbidden"


def test_reviewer_reads_all_submissions_but_cannot_update(
    api: Api, session: Session, world: dict[str, object]
) -> None:
    worker, project, item = world["worker"], world["project"], world["item"]
    assert isinstance(worker, User) and isinstance(project, Project) and isinstance(item, Item)
    reviewer = join(session, project, make_user(session, role="reviewer"), role="reviewer")
    sub = api.post("/submissions", as_=worker, json=rating(item.id)).json()
    assert api.get(f"/submissions/{sub['id']}", as_=reviewer).status_code == 200
    assert api.get(f"/projects/{project.slug}/progress", as_=reviewer).status_code == 200
    patch = api.patch(f"/projects/{project.slug}", as_=reviewer, json={"name": "x"})
    assert patch.status_code == 403


def test_project_owner_by_membership_may_manage(
    api: Api, session: Session, world: dict[str, object]
) -> None:
    project = world["project"]
    assert isinstance(project, Project)
    co_owner = join(session, project, make_user(session, role="worker"), role="owner")
    response = api.patch(f"/projects/{project.slug}", as_=co_owner, json={"redundancy": 2})
    assert response.status_code == 200


def test_only_admins_and_owners_create_projects(api: Api, session: Session, unique: str) -> None:
    payload = {"slug": f"p-{unique}", "name": "P", "questions": RATING_QUESTIONS}
    for role in ("worker", "reviewer"):
        response = api.post("/projects", as_=make_user(session, role=role), json=payload)
        assert response.status_code == 403, role
    assert (
        api.post("/projects", as_=make_user(session, role="admin"), json=payload).status_code == 201
    )


def test_only_admins_create_and_list_users(api: Api, session: Session) -> None:
    new = {"email": "new@example.org", "password": "long enough pw", "role": "admin"}
    for role in ("worker", "owner"):
        user = make_user(session, role=role)
        assert api.post("/users", as_=user, json=new).status_code == 403
        assert api.get("/users", as_=user).status_code == 403
    admin = make_user(session, role="admin")
    created = api.post("/users", as_=admin, json=new)
    assert created.status_code == 201
    assert created.json()["role"] == "admin"
    assert "password" not in created.text
    assert new["email"] in [u["email"] for u in api.get("/users", as_=admin).json()]
    assert api.post("/users", as_=admin, json=new).status_code == 409


def test_admin_sees_everything(api: Api, session: Session, world: dict[str, object]) -> None:
    gold, project = world["gold"], world["project"]
    assert isinstance(gold, Item) and isinstance(project, Project)
    admin = make_user(session, role="admin")
    body = api.get(f"/items/{gold.id}", as_=admin).json()
    assert body["is_gold"] is True and body["gold"]
    assert body["candidates"][0]["model"] == "secret-model-a"
    assert api.get(f"/projects/{project.slug}/members", as_=admin).status_code == 200


def test_bad_token_is_401_not_404(api: Api, world: dict[str, object]) -> None:
    project = world["project"]
    assert isinstance(project, Project)
    headers = {"Authorization": "Bearer jl_forged"}
    response = api.get(f"/projects/{project.slug}", headers=headers)
    assert response.status_code == 401
    assert error(response)["code"] == "unauthorized"
    assert api.post("/projects", headers=headers, json={}).status_code == 401
