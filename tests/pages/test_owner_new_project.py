"""GET/POST /projects/new: templates, validation next to fields, who may create."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.presets import list_presets
from judgeloop.store.models import Project
from tests.factories import make_project, make_user
from tests.pages.helpers import csrf_of, sign_in, soup


def _post(client: TestClient, **fields: str) -> object:
    token = csrf_of(client.get("/projects/new"))
    return client.post("/projects/new", data={"csrf_token": token, **fields})


def test_form_lists_every_template_with_its_description(
    client: TestClient, session: Session
) -> None:
    sign_in(client, make_user(session, role="owner").email)
    response = client.get("/projects/new")
    assert response.status_code == 200
    page = soup(response)
    radios = page.select("input[name=preset]")
    presets = list_presets()
    assert len(presets) == 14
    assert [r["value"] for r in radios] == [p.name for p in presets]
    for preset in presets:
        label = page.select_one(f"label[for=preset-{preset.name}]")
        assert label is not None and label.get_text() == preset.title
        desc = page.select_one(f"#preset-{preset.name}-desc")
        assert desc is not None and preset.description in desc.get_text()
    assert page.select_one("#hide_model_identity").has_attr("checked")  # type: ignore[union-attr]
    assert page.select_one("#redundancy")["value"] == "1"  # type: ignore[index]


def test_owner_creates_a_project_from_a_template(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    sign_in(client, owner.email)
    response = _post(
        client,
        preset="ab_comparison",
        slug="chat-ab",
        name="Chat A/B",
        description="Which *answer* is better?",
        redundancy="3",
    )
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert response.headers["location"] == "/projects/chat-ab"  # type: ignore[attr-defined]
    session.expire_all()
    project = session.scalars(select(Project).where(Project.slug == "chat-ab")).one()
    assert (project.preset, project.name, project.redundancy) == ("ab_comparison", "Chat A/B", 3)
    assert project.owner_id == owner.id
    assert project.hide_model_identity is False  # the box was not ticked
    page = soup(client.get("/projects/chat-ab"))
    assert "Template: A/B comparison" in page.get_text()


def test_errors_are_shown_next_to_their_fields_and_input_is_kept(
    client: TestClient, session: Session
) -> None:
    sign_in(client, make_user(session, role="admin").email)
    response = _post(client, slug="Bad Slug", name="", redundancy="0", hide_model_identity="on")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = soup(response)  # type: ignore[arg-type]
    for field in ("preset", "slug", "name", "redundancy"):
        error = page.select_one(f"#{field}-error")
        assert error is not None, field
    assert "lowercase letter" in page.select_one("#slug-error").get_text()  # type: ignore[union-attr]
    assert page.select_one("#slug")["aria-invalid"] == "true"  # type: ignore[index]
    assert "aria-invalid" not in page.select_one("#description").attrs  # type: ignore[union-attr]
    assert page.select_one("#slug")["value"] == "Bad Slug"  # type: ignore[index]
    assert page.select_one("#hide_model_identity").has_attr("checked")  # type: ignore[union-attr]
    assert page.find(attrs={"role": "alert"}) is not None
    assert session.scalars(select(Project).where(Project.name == "")).first() is None


def test_taken_and_reserved_slugs_are_refused(client: TestClient, session: Session) -> None:
    owner = make_user(session, role="owner")
    existing = make_project(session, owner=owner)
    sign_in(client, owner.email)
    response = _post(client, preset="ranking", slug=existing.slug, name="Again", redundancy="1")
    assert response.status_code == 422  # type: ignore[attr-defined]
    error = soup(response).select_one("#slug-error")  # type: ignore[arg-type]
    assert error is not None and "already exists" in error.get_text()
    response = _post(client, preset="ranking", slug="new", name="New", redundancy="1")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "reserved" in soup(response).select_one("#slug-error").get_text()  # type: ignore[arg-type, union-attr]


def test_workers_and_reviewers_may_not_create(client: TestClient, session: Session) -> None:
    for role in ("worker", "reviewer"):
        client.cookies.clear()
        sign_in(client, make_user(session, role=role).email)
        assert client.get("/projects/new").status_code == 403
        token = csrf_of(client.get("/projects"))
        data = {"csrf_token": token, "preset": "ranking", "slug": f"x-{role}", "name": "X"}
        assert client.post("/projects/new", data=data).status_code == 403
    assert session.scalars(select(Project).where(Project.slug.like("x-%"))).first() is None


def test_post_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session, role="owner").email)
    data = {"preset": "ranking", "slug": "no-token", "name": "X", "redundancy": "1"}
    assert client.post("/projects/new", data=data).status_code == 403


def test_projects_list_offers_new_project_to_creators_only(
    client: TestClient, session: Session
) -> None:
    sign_in(client, make_user(session, role="owner").email)
    assert soup(client.get("/projects")).select_one("a[href='/projects/new']") is not None
    client.cookies.clear()
    sign_in(client, make_user(session).email)
    assert soup(client.get("/projects")).select_one("a[href='/projects/new']") is None
