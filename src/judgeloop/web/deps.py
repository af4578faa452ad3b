"""FastAPI dependencies as Annotated aliases: settings, a database session, the caller.

Handlers declare what they need by type::

    def get_me(user: CurrentUser) -> UserRead: ...
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from judgeloop.config import Settings
from judgeloop.errors import Forbidden, Unauthorized
from judgeloop.services.accounts import user_for_token
from judgeloop.store.models import User
from judgeloop.web.csrf import CSRF_COOKIE, CSRF_HEADER, SAFE_METHODS, make_token
from judgeloop.web.security import SESSION_COOKIE, read_session_cookie

# auto_error=False: a missing credential is reported by get_current_user in our error shape.
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer jl_...`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The browser session cookie."
)


def get_settings(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request) -> Iterator[Session]:
    """Yield one database session for the request and close it afterwards."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def get_current_user(
    session: DbSession,
    settings: AppSettings,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> User:
    """Return the caller: from a bearer API token, else from the signed session cookie.

    Raises:
        Unauthorized: No credential, or a wrong, revoked or expired one.
    """
    user = _authenticated_user(session, settings, bearer, cookie)
    # End the lookup's transaction now: on SQLite it holds the write lock (BEGIN IMMEDIATE),
    # which must not be kept while the request waits for a thread for its handler.
    session.commit()
    return user


def _authenticated_user(
    session: Session,
    settings: Settings,
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> User:
    if bearer is not None:
        return user_for_token(session, bearer.credentials.strip())
    if cookie:
        user_id = read_session_cookie(settings, cookie)
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and user.is_active:
            return user
        raise Unauthorized("your session has expired; sign in again")
    raise Unauthorized("sign in, or send an API token as 'Authorization: Bearer <token>'")


def require_user(
    request: Request,
    settings: AppSettings,
    user: Annotated[User, Depends(get_current_user)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> User:
    """Return the caller; a cookie-authenticated unsafe API request must prove its origin.

    A POST, PUT, PATCH or DELETE under ``/api/`` signed in by the session cookie (not by
    a token) must carry the page's CSRF token in the ``X-CSRF-Token`` header (see
    ``web.csrf``). Pages check their forms' tokens themselves.

    Raises:
        Forbidden: Such a request without a valid CSRF token.
    """
    if bearer is None and cookie and request.url.path.startswith("/api/"):
        _check_csrf(request, settings, cookie)
    return user


CurrentUser = Annotated[User, Depends(require_user)]


def _check_csrf(request: Request, settings: Settings, session_cookie: str) -> None:
    if request.method in SAFE_METHODS:
        return
    seed = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    expected = make_token(settings, seed, session_cookie)
    if not (seed and sent and hmac.compare_digest(expected.encode(), sent.encode())):
        raise Forbidden("send the page's CSRF token in the X-CSRF-Token header")
