"""Signing in and out in the browser: /login, /logout and /."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from judgeloop.web.csrf import CSRF_COOKIE
from judgeloop.web.security import SESSION_COOKIE
from tests.factories import PASSWORD, make_user
from tests.pages.helpers import attr, csrf_of, sign_in, soup


def test_login_page_has_labelled_inputs_and_csrf(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    page = soup(response)
    for name in ("email", "password"):
        field_id = attr(page, f"input[name={name}]", "id")
        assert page.select_one(f"label[for={field_id}]") is not None
    assert csrf_of(response)
    assert CSRF_COOKIE in response.cookies


def test_login_with_the_right_password_sets_the_session(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, role="worker")
    response = sign_in(client, user.email)
    assert response.headers["location"] == "/projects"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    page = client.get("/projects")
    assert page.status_code == 200
    assert user.name in page.text


def test_email_is_not_case_sensitive(client: TestClient, session: Session) -> None:
    user = make_user(session, role="worker")
    sign_in(client, user.email.upper())
    assert client.get("/projects").status_code == 200


@pytest.mark.parametrize("password", ["wrong password", "x" * 5000])
def test_wrong_password_rerenders_with_message_and_email(
    client: TestClient, session: Session, password: str
) -> None:
    user = make_user(session, role="worker")
    token = csrf_of(client.get("/login"))
    response = client.post(
        "/login", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 401
    page = soup(response)
    alert = page.select_one("[role=alert]")
    assert alert is not None and "Wrong email address or password" in alert.get_text()
    assert attr(page, "input[name=email]", "value") == user.email
    assert SESSION_COOKIE not in response.cookies
    assert client.get("/projects").status_code == 303


def test_unknown_email_gets_the_same_message(client: TestClient) -> None:
    token = csrf_of(client.get("/login"))
    response = client.post(
        "/login",
        data={"email": "nobody@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 401
    assert "Wrong email address or password" in response.text


def test_empty_form_asks_for_both_fields(client: TestClient) -> None:
    token = csrf_of(client.get("/login"))
    response = client.post("/login", data={"csrf_token": token})
    assert response.status_code == 401
    assert "Enter your email address and your password" in response.text


def test_login_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session)
    client.get("/login")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


def test_next_goes_back_to_the_page_asked_for(client: TestClient, session: Session) -> None:
    user = make_user(session)
    first = client.get("/projects")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/projects"
    page = client.get(first.headers["location"])
    token = csrf_of(page)
    assert attr(soup(page), "input[name=next]", "value") == "/projects"
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": "/projects"},
    )
    assert response.headers["location"] == "/projects"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/login",
    ],
)
def test_next_never_leaves_the_site(client: TestClient, session: Session, target: str) -> None:
    user = make_user(session)
    token = csrf_of(client.get("/login"))
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"


def test_signed_in_visitor_skips_the_login_page(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session).email)
    response = client.get("/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/projects"


def test_root_redirects_by_sign_in_state(client: TestClient, session: Session) -> None:
    assert client.get("/").headers["location"] == "/login"
    sign_in(client, make_user(session).email)
    assert client.get("/").headers["location"] == "/projects"


def test_logout_ends_the_session(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session).email)
    token = csrf_of(client.get("/projects"))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/projects").status_code == 303


def test_logout_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    sign_in(client, make_user(session).email)
    response = client.post("/logout")
    assert response.status_code == 403
    assert client.get("/projects").status_code == 200


def test_inactive_user_cannot_sign_in(client: TestClient, session: Session) -> None:
    user = make_user(session)
    user.is_active = False
    session.commit()
    token = csrf_of(client.get("/login"))
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 401


def test_forged_session_cookie_is_sent_to_login(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "forged.value.here")
    response = client.get("/projects")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
