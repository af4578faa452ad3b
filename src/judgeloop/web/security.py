"""Signed session cookies shared by the JSON API and the HTML pages.

The cookie holds only the user id, signed and timestamped with itsdangerous under the
key from ``Settings.resolved_secret_key()``. It is HttpOnly, SameSite=Lax, and Secure
when ``Settings.secure_cookies`` is set.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from judgeloop.config import Settings

SESSION_COOKIE = "jl_session"
_SALT = "judgeloop.session.v1"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.resolved_secret_key(), salt=_SALT)


def make_session_cookie(settings: Settings, user_id: int) -> str:
    """Return the signed cookie value that identifies `user_id`.

    Args:
        settings: Application settings (for the secret key).
        user_id: The signed-in user's id.

    Returns:
        The cookie value.
    """
    return _serializer(settings).dumps({"uid": user_id})


def read_session_cookie(settings: Settings, value: str) -> int | None:
    """Return the user id in a session cookie, or None when it is forged, garbled or expired.

    Args:
        settings: Application settings (for the secret key and the session lifetime).
        value: The raw cookie value.

    Returns:
        The user id, or None.
    """
    try:
        data = _serializer(settings).loads(value, max_age=settings.session_max_age_s)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def set_session_cookie(response: Response, settings: Settings, user_id: int) -> None:
    """Sign `user_id` into the session cookie on `response` (HttpOnly, SameSite=Lax).

    Args:
        response: The response that signs the user in.
        settings: Application settings.
        user_id: The user to sign in.
    """
    response.set_cookie(
        SESSION_COOKIE,
        make_session_cookie(settings, user_id),
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Remove the session cookie (sign out).

    Args:
        response: The response that signs the user out.
        settings: Application settings.
    """
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
    )
