"""Security of every page: headers, inert hostile content, no external requests, small pages."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from judgeloop.web.pages import SecurityHeadersMiddleware
from judgeloop.web.pages.headers import CONTENT_SECURITY_POLICY
from judgeloop.web.render import ALLOWED_TAGS
from tests.factories import join, make_project, make_user
from tests.pages.helpers import sign_in, soup
from tests.pages.hostile import HOSTILE_MARKDOWN

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "body", "a", "header", "nav", "span", "form",
    "input", "button", "main", "footer", "p", "section", "h1", "h2", "h3", "label", "div",
    "ul", "ol", "li", "dl", "dt", "dd", "bdi", "progress", "small", "strong", "code",
}  # fmt: skip


def _assert_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, name
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def _assert_inert_page(html: str) -> BeautifulSoup:
    page = BeautifulSoup(html, "html.parser")
    assert page.find("script") is None
    for tag in page.find_all(True):
        assert tag.name in PAGE_TAGS | ALLOWED_TAGS, tag.name
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith("on"), (tag.name, attr)
            assert attr != "style", tag.name
            if attr in ("href", "src", "action"):
                text = str(value)
                assert text.startswith(("/", "#", "https://", "http://", "mailto:", "data:,")), text
                if tag.name != "a":  # only user-clicked links may leave the site
                    assert not text.startswith(("http", "//")), text
    return page


@pytest.fixture
def hostile_project(session: Session) -> tuple[str, str, str]:
    owner = make_user(session, role="owner")
    project = make_project(
        session,
        owner=owner,
        name="<script>window.__pwned=1</script> Project \u202eevil",
        description=HOSTILE_MARKDOWN,
        guidelines=HOSTILE_MARKDOWN,
    )
    worker = join(session, project, make_user(session))
    return project.slug, owner.email, worker.email


def test_public_pages_send_security_headers(client: TestClient) -> None:
    for path in ("/login", "/"):
        _assert_headers(client.get(path))
    _assert_headers(client.get("/projects"))  # the redirect to /login


def test_signed_in_pages_send_security_headers(
    client: TestClient, hostile_project: tuple[str, str, str]
) -> None:
    slug, owner, _ = hostile_project
    sign_in(client, owner)
    for path in ("/projects", f"/projects/{slug}", "/projects/missing"):
        response = client.get(path)
        _assert_headers(response)
        assert response.headers["cache-control"] == "no-store"


def test_hostile_guidelines_and_description_render_inert(
    client: TestClient, hostile_project: tuple[str, str, str]
) -> None:
    slug, owner, worker = hostile_project
    for email in (owner, worker):
        client.cookies.clear()
        sign_in(client, email)
        response = client.get(f"/projects/{slug}")
        assert response.status_code == 200
        page = _assert_inert_page(response.text)
        for bad in ("iframe", "img", "svg", "style", "object", "embed"):
            assert page.find(bad) is None, bad
        assert len(page.find_all("form")) == 1  # sign out only; the hostile form is text
        assert "\u202e" not in response.text
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in response.text
        assert page.find("a", href="https://example.org") is not None


def test_hostile_names_render_as_text_in_the_list(
    client: TestClient, hostile_project: tuple[str, str, str]
) -> None:
    _, owner, _ = hostile_project
    sign_in(client, owner)
    response = client.get("/projects")
    _assert_inert_page(response.text)
    assert soup(response).find("bdi", string=lambda s: bool(s and "__pwned" in s)) is not None


def test_pages_are_small_and_reference_only_this_site(
    client: TestClient, hostile_project: tuple[str, str, str]
) -> None:
    slug, owner, _ = hostile_project
    pages = [client.get("/login")]
    sign_in(client, owner)
    pages += [client.get("/projects"), client.get(f"/projects/{slug}")]
    for response in pages:
        assert response.status_code == 200
        assert len(response.content) < 150_000
        page = _assert_inert_page(response.text)
        stylesheets = [link["href"] for link in page.find_all("link", rel="stylesheet")]
        assert stylesheets == ["/static/judgeloop.css"]


def test_stylesheet_is_served_and_small(client: TestClient) -> None:
    response = client.get("/static/judgeloop.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["x-content-type-options"] == "nosniff"  # create_app's middleware
    assert len(response.content) < 20_000
    assert "http" not in response.text and "@import" not in response.text


def test_middleware_covers_other_responses() -> None:
    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"Referrer-Policy": "no-referrer"})

    app = FastAPI(routes=[Route("/x", hello), Route("/api/v1/docs", hello)])
    app.add_middleware(SecurityHeadersMiddleware)
    with TestClient(app) as test_client:
        response = test_client.get("/x")
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"  # a route's own wins
        docs = test_client.get("/api/v1/docs")
        assert "content-security-policy" not in docs.headers
        assert docs.headers["x-content-type-options"] == "nosniff"
