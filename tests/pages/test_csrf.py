"""CSRF tokens: every cookie-authenticated form post needs one bound to the browser and session."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.web.csrf import CSRF_COOKIE, make_token
from tests.factories import PASSWORD, make_user
from tests.pages.helpers import csrf_of, sign_in, soup


def test_token_depends_on_seed_session_and_key(settings: Settings) -> None:
    other = settings.model_copy(update={"secret_key": "another-secret-" + "y" * 32})
    token = make_token(settings, "s" * 43, "session")
    assert token == make_token(settings, "s" * 43, "session")
    assert token != make_token(settings, "t" * 43, "session")
    assert token != make_token(settings, "s" * 43, "other-session")
    assert token != make_token(other, "s" * 43, "session")


def test_seed_cookie_is_httponly_and_samesite(client: TestClient) -> None:
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert f"{CSRF_COOKIE.lower()}=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert response.cookies[CSRF_COOKIE] not in response.text


def test_seed_is_kept_across_pages(client: TestClient) -> None:
    first = csrf_of(client.get("/login"))
    second = client.get("/login")
    assert CSRF_COOKIE not in second.cookies
    assert csrf_of(second) == first


def test_token_of_another_browser_is_refused(app: FastAPI, session: Session) -> None:
    user = make_user(session)
    with TestClient(app) as attacker:
        stolen = csrf_of(attacker.get("/login"))
    with TestClient(app, follow_redirects=False) as victim:
        victim.get("/login")
        response = victim.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": stolen}
        )
    assert response.status_code == 403


def test_token_from_before_sign_in_is_refused_after(client: TestClient, session: Session) -> None:
    old = csrf_of(client.get("/login"))
    sign_in(client, make_user(session).email)
    assert client.post("/logout", data={"csrf_token": old}).status_code == 403
    fresh = csrf_of(client.get("/projects"))
    assert fresh != old
    assert client.post("/logout", data={"csrf_token": fresh}).status_code == 303


def test_garbled_seed_cookie_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session)
    token = csrf_of(client.get("/login"))
    client.cookies.clear()
    client.cookies.set(CSRF_COOKIE, "not a seed")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403


def test_token_in_header_is_accepted(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session).email)
    token = csrf_of(client.get("/projects"))
    response = client.post("/logout", headers={"X-CSRF-Token": token})
    assert response.status_code == 303


def test_bearer_requests_are_exempt(client: TestClient) -> None:
    response = client.post("/logout", headers={"Authorization": "Bearer jl_anything"})
    assert response.status_code == 303


def test_refusal_is_an_html_page_with_headers(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": "a@example.org", "password": "x"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in response.headers
    page = soup(response)
    assert page.h1 is not None and page.h1.get_text() == "Not allowed"
    assert "Reload the page" in page.get_text()


def test_every_form_carries_a_token(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session).email)
    for path in ("/projects", "/login?x=1"):
        page = soup(client.get(path, follow_redirects=True))
        for form in page.find_all("form"):
            if str(form.get("method", "get")).lower() == "post":
                assert form.find("input", attrs={"name": "csrf_token"}) is not None
