"""Items: pages of a project's items and single items, as owners and workers see them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.api.helpers import Api, add_gold, attach_models, error, rating
from tests.factories import join, make_item, make_project, make_user


def test_pages_follow_next_after(api: Api, session: Session) -> None:
    project = make_project(session)
    ids = [make_item(session, project=project, prompt=f"q{i}").id for i in range(5)]
    worker = join(session, project, make_user(session))
    url = f"/projects/{project.slug}/items"
    seen: list[int] = []
    after = 0
    while True:
        page = api.get(url, as_=worker, params={"after": after, "limit": 2})
        assert page.status_code == 200
        body = page.json()
        seen += [item["id"] for item in body["items"]]
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert seen == ids


def test_item_has_candidates_in_order(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project, prompt="2+2?", answers=("4", "5", "22"))
    worker = join(session, project, make_user(session))
    body = api.get(f"/items/{item.id}", as_=worker).json()
    assert body["prompt"] == "2+2?"
    assert body["project_id"] == project.id
    assert [(c["key"], c["text"]) for c in body["candidates"]] == [
        ("A", "4"),
        ("B", "5"),
        ("C", "22"),
    ]
    assert body["metadata"] == {}


def test_owner_sees_gold_models_and_counts(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    add_gold(session, item, 4)
    attach_models(session, item, "model-a", "model-b")
    worker = join(session, project, make_user(session))
    api.post("/submissions", as_=worker, json=rating(item.id))
    owner = session.get(type(worker), project.owner_id)
    body = api.get(f"/items/{item.id}", as_=owner).json()
    assert body["is_gold"] is True
    assert body["gold"] == [{"question": "quality", "candidate": "", "value": 4, "explanation": ""}]
    assert [c["model"] for c in body["candidates"]] == ["model-a", "model-b"]
    assert body["submissions"] == 1


def test_reviewer_sees_counts_but_no_gold(api: Api, session: Session) -> None:
    project = make_project(session)
    item = make_item(session, project=project)
    add_gold(session, item, 4)
    reviewer = join(session, project, make_user(session, role="reviewer"), role="reviewer")
    body = api.get(f"/items/{item.id}", as_=reviewer).json()
    assert body["is_gold"] is None
    assert body["gold"] is None
    assert body["submissions"] == 0


def test_models_are_shown_when_the_project_does_not_hide_them(api: Api, session: Session) -> None:
    project = make_project(session, hide_model_identity=False)
    item = make_item(session, project=project)
    attach_models(session, item, "model-a", "model-b")
    worker = join(session, project, make_user(session))
    body = api.get(f"/items/{item.id}", as_=worker).json()
    assert [c["model"] for c in body["candidates"]] == ["model-a", "model-b"]


def test_missing_item_is_404(api: Api, session: Session) -> None:
    user = make_user(session, role="admin")
    response = api.get("/items/987654", as_=user)
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_limit_is_bounded(api: Api, session: Session) -> None:
    project = make_project(session)
    owner = session.get(type(make_user(session)), project.owner_id)
    url = f"/projects/{project.slug}/items"
    assert api.get(url, as_=owner, params={"limit": 1001}).status_code == 422
    assert api.get(url, as_=owner, params={"after": -1}).status_code == 422
