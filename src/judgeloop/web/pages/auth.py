"""Signing in and out in the browser: ``/``, ``/login`` and ``/logout``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Unauthorized
from judgeloop.services.accounts import authenticate
from judgeloop.store.models import User
from judgeloop.web.deps import AppSettings, DbSession, get_current_user
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.security import SESSION_COOKIE, clear_session_cookie, set_session_cookie

router = page_router()

HOME = "/projects"
MAX_EMAIL = 320
MAX_PASSWORD = 1024


def signed_in_user(request: Request, session: DbSession, settings: AppSettings) -> User | None:
    """Return the user of the session cookie, or None when signed out (never raises)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return get_current_user(session, settings, None, cookie)
    except Unauthorized:
        return None


def safe_next(target: str | None) -> str:
    """Return `target` when it is a path on this site, else the home page (no open redirect).

    Args:
        target: The ``next`` parameter of the sign-in form.

    Returns:
        A local path starting with a single ``/``.
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ch in target for ch in "\\\r\n\t")
        or target.startswith(("/login", "/logout"))
    ):
        return HOME
    return target


@router.get("/")
def home(request: Request, session: DbSession, settings: AppSettings) -> RedirectResponse:
    """Send visitors to their projects, or to the sign-in page."""
    user = signed_in_user(request, session, settings)
    return RedirectResponse(HOME if user else "/login", status_code=303)


@router.get("/login")
def login_form(
    request: Request, session: DbSession, settings: AppSettings, next: str = ""
) -> Response:
    """Show the sign-in form (signed-in visitors go straight on)."""
    if signed_in_user(request, session, settings) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render_page(request, "pages/login.html", {"email": "", "error": "", "next": next})


def _check_credentials(session: DbSession, email: str, password: str) -> User | str:
    """Return the user these credentials sign in, or the message to show instead."""
    if not email or not password:
        return "Enter your email address and your password."
    if len(password) > MAX_PASSWORD:
        return "Wrong email address or password."
    try:
        return authenticate(session, email=email, password=password)
    except Unauthorized:
        return "Wrong email address or password."


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the email and password; on success set the session cookie and go on."""
    email = email.strip()[:MAX_EMAIL]
    result = _check_credentials(session, email, password)
    if isinstance(result, str):
        context = {"email": email, "error": result, "next": next}
        return render_page(request, "pages/login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(response, settings, result.id)
    return response


@router.post("/logout")
def logout(settings: AppSettings) -> RedirectResponse:
    """Sign out: drop the session cookie and return to the sign-in page."""
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, settings)
    return response
