"""CSRF protection for cookie-authenticated form posts (signed double-submit tokens).

Every browser gets a random seed in the ``jl_csrf`` cookie (HttpOnly, SameSite=Lax).
The token put in each form as the hidden input ``csrf_token`` is an HMAC-SHA256, under
the application's secret key, of that seed *and* the session cookie. So a token:

- cannot be forged without the secret key, even by someone who can plant cookies;
- is bound to one browser and one sign-in (it changes when the session cookie does);
- needs no server-side storage.

``verify_csrf`` is a dependency on the pages router: every unsafe request (POST, PUT,
PATCH, DELETE) must carry a valid token in the form field ``csrf_token`` or the header
``X-CSRF-Token``, or it is refused with 403. Requests that authenticate with
``Authorization: Bearer`` are exempt: a browser never adds that header on its own, so a
forged cross-site request cannot carry it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from fastapi import HTTPException, Request
from starlette.responses import Response

from judgeloop.config import Settings
from judgeloop.web.security import SESSION_COOKIE

CSRF_COOKIE = "jl_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_SEED_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_CONTEXT = b"judgeloop.csrf.v1"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def make_token(settings: Settings, seed: str, session_cookie: str) -> str:
    """Derive the CSRF token for a browser seed and a session cookie.

    Args:
        settings: Application settings (for the secret key).
        seed: The value of the ``jl_csrf`` cookie.
        session_cookie: The value of the session cookie ('' when signed out).

    Returns:
        The token, URL-safe base64.
    """
    message = b"|".join((_CONTEXT, seed.encode(), session_cookie.encode()))
    digest = hmac.new(settings.resolved_secret_key().encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _browser_seed(request: Request) -> str:
    """Return this browser's seed, choosing a new one (sent by attach_csrf_cookie) if absent."""
    seed: str | None = getattr(request.state, "csrf_seed", None)
    if seed is None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if _SEED_PATTERN.match(cookie):
            seed = cookie
        else:
            seed = secrets.token_urlsafe(32)
            request.state.csrf_seed_is_new = True
        request.state.csrf_seed = seed
    return seed


def csrf_token(request: Request, session_cookie: str | None = None) -> str:
    """Return the token to render into this request's forms.

    Args:
        request: The request being answered.
        session_cookie: The session cookie the *response* sets, when it differs from the
            request's (a page rendered right after signing in); default: the request's.

    Returns:
        The token for the hidden ``csrf_token`` input.
    """
    if session_cookie is None:
        session_cookie = request.cookies.get(SESSION_COOKIE, "")
    return make_token(_settings(request), _browser_seed(request), session_cookie)


def attach_csrf_cookie(request: Request, response: Response) -> None:
    """Send the browser's seed cookie with `response` when this request chose a new one.

    Args:
        request: The request whose forms got tokens.
        response: The response that carries those forms.
    """
    if not getattr(request.state, "csrf_seed_is_new", False):
        return
    settings = _settings(request)
    response.set_cookie(
        CSRF_COOKIE,
        request.state.csrf_seed,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def _is_bearer(request: Request) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(credentials.strip())


async def _submitted_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token is missing or wrong (a dependency).

    Args:
        request: The incoming request.

    Raises:
        HTTPException: 403 when the token is missing or does not match this browser's seed
            and session cookie.
    """
    if request.method in SAFE_METHODS or _is_bearer(request):
        return
    seed = request.cookies.get(CSRF_COOKIE, "")
    submitted = await _submitted_token(request)
    if _SEED_PATTERN.match(seed) and submitted:
        expected = make_token(_settings(request), seed, request.cookies.get(SESSION_COOKIE, ""))
        if hmac.compare_digest(expected.encode(), submitted.encode()):
            return
    raise HTTPException(
        status_code=403,
        detail="This form has expired or did not come from judgeloop. Reload the page and "
        "try again.",
    )
