"""Projects: create, list, read, update, progress, guidelines, members, presets."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.api.helpers import Api, error, rating
from tests.factories import RATING_QUESTIONS, join, make_item, make_project, make_user


def _new(slug: str, **extra: object) -> dict[str, object]:
    return {"slug": slug, "name": "Helpfulness", "questions": RATING_QUESTIONS, **extra}


def test_owner_creates_a_project(api: Api, session: Session, unique: str) -> None:
    owner = make_user(session, role="owner")
    response = api.post("/projects", as_=owner, json=_new(f"help-{unique}"))
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == f"help-{unique}"
    assert body["owner_id"] == owner.id
    assert body["task_type"] == "custom"
    assert body["guideline_version"] == 1
    assert body["questions"][0]["key"] == "quality"


def test_create_from_a_preset(api: Api, session: Session, unique: str) -> None:
    admin = make_user(session, role="admin")
    payload = {"slug": f"ab-{unique}", "name": "A/B", "preset": "ab_comparison"}
    response = api.post("/projects", as_=admin, json=payload)
    assert response.status_code == 201, response.text
    assert response.json()["preset"] == "ab_comparison"
    assert response.json()["task_type"] == "comparison"


def test_duplicate_slug_conflicts(api: Api, session: Session) -> None:
    project = make_project(session)
    owner = make_user(session, role="owner")
    response = api.post("/projects", as_=owner, json=_new(project.slug))
    assert response.status_code == 409
    assert error(response)["code"] == "conflict"


def test_wrong_question_config_names_the_field(api: Api, session: Session, unique: str) -> None:
    owner = make_user(session, role="owner")
    questions = [{"key": "quality", "kind": "no_such_kind", "title": "Q"}]
    response = api.post("/projects", as_=owner, json=_new(unique, questions=questions))
    assert response.status_code == 422
    body = error(response)
    assert body["rows"][0]["field"].startswith("questions.0")


def test_list_shows_only_visible_projects(api: Api, session: Session) -> None:
    mine, theirs = make_project(session), make_project(session)
    worker = join(session, mine, make_user(session))
    admin = make_user(session, role="admin")
    slugs = {p["slug"] for p in api.get("/projects", as_=worker).json()}
    assert mine.slug in slugs
    assert theirs.slug not in slugs
    everything = {p["slug"] for p in api.get("/projects", as_=admin).json()}
    assert {mine.slug, theirs.slug} <= everything


def test_get_by_id_or_slug(api: Api, session: Session) -> None:
    project = make_project(session)
    worker = join(session, project, make_user(session))
    by_slug = api.get(f"/projects/{project.slug}", as_=worker)
    by_id = api.get(f"/projects/{project.id}", as_=worker)
    assert by_slug.status_code == by_id.status_code == 200
    assert by_slug.json() == by_id.json()


def test_owner_updates_settings(api: Api, session: Session) -> None:
    project = make_project(session)
    owner = make_user(session, role="owner")
    join(session, project, owner, role="owner")
    patch = {"name": "Renamed", "redundancy": 3, "state": "paused"}
    response = api.patch(f"/projects/{project.slug}", as_=owner, json=patch)
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["redundancy"], body["state"]) == ("Renamed", 3, "paused")
    bad = api.patch(f"/projects/{project.slug}", as_=owner, json={"redundancy": 0})
    assert bad.status_code == 422
    assert error(bad)["rows"][0]["field"] == "redundancy"


def test_progress_counts_submissions(api: Api, session: Session) -> None:
    project = make_project(session, redundancy=1)
    item = make_item(session, project=project)
    make_item(session, project=project)
    worker = join(session, project, make_user(session))
    assert api.post("/submissions", as_=worker, json=rating(item.id)).status_code == 201
    owner_id = project.owner_id
    owner = session.get(type(worker), owner_id)
    response = api.get(f"/projects/{project.slug}/progress", as_=owner)
    assert response.status_code == 200
    body = response.json()
    assert (body["items"], body["items_complete"], body["submissions"]) == (2, 1, 1)
    assert body["workers"] == 1


def test_guidelines_versions(api: Api, session: Session) -> None:
    project = make_project(session, guidelines="# v1")
    owner = session.get(type(make_user(session)), project.owner_id)
    worker = join(session, project, make_user(session))
    created = api.post(f"/projects/{project.slug}/guidelines", as_=owner, json={"body": "# v2"})
    assert created.status_code == 201
    assert created.json()["version"] == 2
    listed = api.get(f"/projects/{project.slug}/guidelines", as_=worker)
    assert [g["version"] for g in listed.json()] == [2, 1]
    assert listed.json()[0]["body"] == "# v2"
    assert api.get(f"/projects/{project.slug}", as_=worker).json()["guideline_version"] == 2
    empty = api.post(f"/projects/{project.slug}/guidelines", as_=owner, json={"body": ""})
    assert empty.status_code == 422


def test_members_by_email_and_by_id(api: Api, session: Session) -> None:
    project = make_project(session)
    owner = session.get(type(make_user(session)), project.owner_id)
    alice, bob = make_user(session), make_user(session)
    url = f"/projects/{project.slug}/members"
    by_email = api.post(url, as_=owner, json={"email": alice.email.upper(), "role": "reviewer"})
    assert by_email.status_code == 201
    assert by_email.json() == {"user_id": alice.id, "role": "reviewer"}
    assert api.post(url, as_=owner, json={"user_id": bob.id}).status_code == 201
    members = {m["user_id"]: m["role"] for m in api.get(url, as_=owner).json()}
    assert members == {project.owner_id: "owner", alice.id: "reviewer", bob.id: "worker"}
    assert api.post(url, as_=owner, json={"user_id": 999999}).status_code == 404
    nobody = api.post(url, as_=owner, json={"role": "worker"})
    assert nobody.status_code == 422
    assert error(nobody)["rows"][0]["field"] == "user_id"


def test_presets_list_and_get(api: Api, session: Session) -> None:
    user = make_user(session)
    listed = api.get("/presets", as_=user)
    assert listed.status_code == 200
    names = [p["name"] for p in listed.json()]
    assert "ab_comparison" in names
    one = api.get("/presets/ab_comparison", as_=user)
    assert one.status_code == 200
    assert one.json()["questions"]
    assert api.get("/presets/nope", as_=user).status_code == 404
    assert api.get("/presets").status_code == 401
