"""Signing in, API tokens and the session cookie: /auth/login, /me, /tokens."""

from __future__ import annotations

from sqlalchemy.orm import Session

from judgeloop.config import Settings
from judgeloop.services.accounts import create_api_token
from judgeloop.web.security import SESSION_COOKIE, make_session_cookie
from tests.api.helpers import Api, error
from tests.factories import PASSWORD, make_user


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_a_working_token(api: Api, session: Session) -> None:
    user = make_user(session, email="Ada@Example.org")
    response = api.post("/auth/login", json={"email": "ada@example.org", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("jl_")
    assert body["prefix"] == body["token"][:10]
    me = api.get("/me", headers=_bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["id"] == user.id
    assert "password" not in str(me.json())


def test_login_with_a_wrong_password_is_401(api: Api, session: Session) -> None:
    user = make_user(session)
    response = api.post("/auth/login", json={"email": user.email, "password": "wrong-password"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert error(response) == {
        "code": "unauthorized",
        "message": "wrong email or password",
        "rows": [],
        "total": 0,
    }


def test_unknown_email_reads_like_a_wrong_password(api: Api) -> None:
    response = api.post("/auth/login", json={"email": "nobody@x.org", "password": PASSWORD})
    assert response.status_code == 401
    assert error(response)["message"] == "wrong email or password"


def test_inactive_user_cannot_log_in_or_use_a_token(api: Api, session: Session) -> None:
    user = make_user(session)
    _, raw = create_api_token(session, user=user)
    user.is_active = False
    session.commit()
    assert (
        api.post("/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 401
    )
    assert api.get("/me", headers=_bearer(raw)).status_code == 401


def test_me_without_credentials_is_401(api: Api) -> None:
    response = api.get("/me")
    assert response.status_code == 401
    assert error(response)["code"] == "unauthorized"


def test_bad_token_is_401(api: Api) -> None:
    assert api.get("/me", headers=_bearer("jl_not-a-real-token")).status_code == 401
    assert api.get("/me", headers={"Authorization": "Basic dXNlcjpwdw=="}).status_code == 401


def test_create_and_revoke_a_token(api: Api, session: Session) -> None:
    user = make_user(session)
    created = api.post("/tokens", as_=user, json={"name": "laptop"})
    assert created.status_code == 201
    token = created.json()
    assert token["name"] == "laptop"
    assert api.get("/me", headers=_bearer(token["token"])).status_code == 200
    assert api.delete(f"/tokens/{token['id']}", as_=user).status_code == 204
    assert api.get("/me", headers=_bearer(token["token"])).status_code == 401


def test_cannot_revoke_another_users_token(api: Api, session: Session) -> None:
    alice, bob = make_user(session), make_user(session)
    token, raw = create_api_token(session, user=alice)
    response = api.delete(f"/tokens/{token.id}", as_=bob)
    assert response.status_code == 404
    assert api.get("/me", headers=_bearer(raw)).status_code == 200


def test_session_cookie_signs_in(api: Api, session: Session, settings: Settings) -> None:
    user = make_user(session)
    api.client.cookies.set(SESSION_COOKIE, make_session_cookie(settings, user.id))
    try:
        response = api.get("/me")
    finally:
        api.client.cookies.clear()
    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_forged_session_cookie_is_401(api: Api, session: Session) -> None:
    user = make_user(session)
    other = Settings(env="test", secret_key="another-secret-" + "y" * 32)
    api.client.cookies.set(SESSION_COOKIE, make_session_cookie(other, user.id))
    try:
        response = api.get("/me")
    finally:
        api.client.cookies.clear()
    assert response.status_code == 401


def test_bearer_token_wins_over_the_cookie(api: Api, session: Session, settings: Settings) -> None:
    cookie_user, token_user = make_user(session), make_user(session)
    api.client.cookies.set(SESSION_COOKIE, make_session_cookie(settings, cookie_user.id))
    try:
        response = api.get("/me", as_=token_user)
    finally:
        api.client.cookies.clear()
    assert response.json()["id"] == token_user.id


def test_session_cookie_flags(settings: Settings) -> None:
    from starlette.responses import Response

    from judgeloop.web.security import clear_session_cookie, set_session_cookie

    response = Response()
    set_session_cookie(response, settings, 7)
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in header
    assert "SameSite=lax" in header
    assert "Secure" not in header
    secure = settings.model_copy(update={"secure_cookies": True})
    response = Response()
    set_session_cookie(response, secure, 7)
    assert "Secure" in response.headers["set-cookie"]
    response = Response()
    clear_session_cookie(response, settings)
    assert "Max-Age=0" in response.headers["set-cookie"]


def test_session_cookie_expires_and_rejects_garbage(settings: Settings) -> None:
    from judgeloop.web.security import read_session_cookie

    value = make_session_cookie(settings, 7)
    assert read_session_cookie(settings, value) == 7
    expired = settings.model_copy(update={"session_max_age_s": -1})
    assert read_session_cookie(expired, value) is None
    assert read_session_cookie(settings, "garbage") is None
    assert read_session_cookie(settings, value + "x") is None


def test_cookie_writes_need_the_csrf_header(api: Api, session: Session, settings: Settings) -> None:
    from judgeloop.web.csrf import CSRF_COOKIE, make_token

    user = make_user(session)
    cookie = make_session_cookie(settings, user.id)
    seed = "s" * 40
    api.client.cookies.set(SESSION_COOKIE, cookie)
    api.client.cookies.set(CSRF_COOKIE, seed)
    try:
        assert api.get("/me").status_code == 200
        refused = api.post("/tokens", json={"name": "x"})
        forged = api.post("/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "nope"})
        good = make_token(settings, seed, cookie)
        allowed = api.post("/tokens", json={"name": "x"}, headers={"X-CSRF-Token": good})
    finally:
        api.client.cookies.clear()
    assert refused.status_code == forged.status_code == 403
    assert error(refused)["code"] == "forbidden"
    assert allowed.status_code == 201
