"""Map JudgeloopError (and FastAPI's own errors) to one JSON error shape.

Every error the API returns looks like::

    {"error": {"code": "invalid_input", "message": "...",
               "rows": [{"line": 0, "field": "answers.quality.value", "reason": "..."}],
               "total": 1}}

HTML pages may install their own renderer as ``app.state.render_error_page``; it is used
for requests outside ``/api/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from judgeloop.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    JudgeloopError,
    LeaseExpired,
    NotFound,
    RowError,
    Unauthorized,
)


class TooLarge(InvalidInput):
    """The request body is larger than the server accepts (HTTP 413)."""

    code = "too_large"


STATUS: dict[type[JudgeloopError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    LeaseExpired: 409,
    TooLarge: 413,
    InvalidInput: 422,
}

PageRenderer = Callable[[Request, int, Exception], Response]


def status_for(exc: JudgeloopError) -> int:
    """Return the HTTP status of an error: the entry of its closest class in STATUS, else 400.

    Args:
        exc: The error.

    Returns:
        The HTTP status code.
    """
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(
    code: str, message: str, rows: Sequence[RowError] = (), total: int = 0
) -> dict[str, Any]:
    """Build the JSON error document.

    Args:
        code: Stable error code (``not_found``, ``invalid_input``, ...).
        message: Human-readable message.
        rows: Where and why, for input errors.
        total: How many problems there were (may exceed ``len(rows)``).

    Returns:
        The document, ready for JSONResponse.
    """
    return {
        "error": {
            "code": code,
            "message": message,
            "rows": [{"line": r.line, "field": r.field, "reason": r.reason} for r in rows],
            "total": max(total, len(rows)),
        }
    }


def _page_renderer(request: Request) -> PageRenderer | None:
    renderer: PageRenderer | None = getattr(request.app.state, "render_error_page", None)
    if renderer is None or request.url.path.startswith("/api/"):
        return None
    return renderer


def _respond(request: Request, status: int, exc: JudgeloopError) -> Response:
    renderer = _page_renderer(request)
    if renderer is not None:
        return renderer(request, status, exc)
    rows = exc.rows if isinstance(exc, InvalidInput) else []
    total = exc.total if isinstance(exc, InvalidInput) else 0
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        error_body(exc.code, exc.message, rows, total), status_code=status, headers=headers
    )


async def handle_judgeloop_error(request: Request, exc: Exception) -> Response:
    """Turn a JudgeloopError raised by a service or a handler into a response."""
    assert isinstance(exc, JudgeloopError)
    return _respond(request, status_for(exc), exc)


def validation_rows(errors: Sequence[Any]) -> list[RowError]:
    """Turn FastAPI validation errors into RowErrors with dotted field paths.

    The leading ``body`` of a location is dropped (``answers.0.value``); query, path and
    header locations keep their prefix (``query.limit``).

    Args:
        errors: ``RequestValidationError.errors()``.

    Returns:
        One RowError per problem.
    """
    rows = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        if loc[:1] == ["body"] and len(loc) > 1:
            loc = loc[1:]
        rows.append(RowError(0, ".".join(loc), str(err.get("msg", "invalid"))))
    return rows


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """Turn a request that failed FastAPI's validation into a 422 `invalid_input` error."""
    assert isinstance(exc, RequestValidationError)
    renderer = _page_renderer(request)
    if renderer is not None:
        return renderer(request, 422, exc)
    rows = validation_rows(exc.errors())
    return _respond(request, 422, InvalidInput("invalid request", rows))


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Give Starlette's own errors (unknown route, wrong method, ...) the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    renderer = _page_renderer(request)
    if renderer is not None and exc.status_code >= 400:
        return renderer(request, exc.status_code, exc)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) else phrase
    headers = dict(exc.headers or {})
    return JSONResponse(
        error_body(code, message), status_code=exc.status_code, headers=headers or None
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app`.

    Args:
        app: The application.
    """
    app.add_exception_handler(JudgeloopError, handle_judgeloop_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
