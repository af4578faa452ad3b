"""What every HTML page shares: templates, rendering, error pages and the page route.

A page router is made with ``page_router()``: its routes render handler errors as HTML
pages (a signed-out visitor is sent to ``/login``), send the security headers below, and
check the CSRF token of every unsafe request (``web.csrf.verify_csrf``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import JudgeloopError, Unauthorized
from judgeloop.store.models import User
from judgeloop.web.csrf import attach_csrf_cookie, csrf_token, verify_csrf
from judgeloop.web.errors import status_for
from judgeloop.web.pages.headers import PAGE_HEADERS, apply_security_headers
from judgeloop.web.render import finalize_output, markdown_filter

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

_ERROR_TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    409: "That clashes with what is there",
    422: "Something in the form is wrong",
}


@cache
def templates() -> Jinja2Templates:
    """Return the page templates: autoescaped, strict about undefined names, ``|markdown``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize_output,
    )
    env.filters["markdown"] = markdown_filter
    return Jinja2Templates(env=env)


def render_page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = 200,
) -> Response:
    """Render a page template with the shared context (user, CSRF token) and headers.

    Args:
        request: The request being answered.
        template: Template path under ``web/templates``, e.g. ``pages/projects.html``.
        context: The page's own variables.
        user: The signed-in user (None on public pages); shown in the navigation.
        status_code: HTTP status of the response.

    Returns:
        The HTML response, with the CSRF seed cookie when this browser has none yet.
    """
    full = {"user": user, "csrf_token": csrf_token(request), **(context or {})}
    response = templates().TemplateResponse(request, template, full, status_code=status_code)
    attach_csrf_cookie(request, response)
    apply_security_headers(response.headers, PAGE_HEADERS)
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """Send a signed-out visitor to the sign-in page, coming back here afterwards."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method not in ("GET", "HEAD") or target == "/":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)


def render_error_page(request: Request, status_code: int, exc: Exception) -> Response:
    """Render an error as an HTML page (or, for a signed-out visitor, send them to sign in).

    Matches ``web.errors.PageRenderer``, so ``create_app`` may install it as
    ``app.state.render_error_page`` for every request outside ``/api/``.

    Args:
        request: The request that failed.
        status_code: The HTTP status to answer with.
        exc: What went wrong; its message is shown (service messages are written for users).

    Returns:
        The error page, or a redirect to ``/login`` for 401.
    """
    if status_code == 401:
        return login_redirect(request)
    phrase = _phrase(status_code)
    if isinstance(exc, JudgeloopError):
        message = exc.message
    elif isinstance(exc, StarletteHTTPException) and isinstance(exc.detail, str):
        message = exc.detail
    elif isinstance(exc, RequestValidationError):
        message = "The form was incomplete or had a value of the wrong kind."
    else:
        message = phrase
    if status_code == 404:
        message = "There is nothing here, or you are not a member of this project."
    context = {"status": status_code, "title": _ERROR_TITLES.get(status_code, phrase)}
    return render_page(
        request, "pages/error.html", {**context, "message": message}, status_code=status_code
    )


def _phrase(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def _status_of(exc: Exception) -> int:
    if isinstance(exc, JudgeloopError):
        return status_for(exc)
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    return 422


class PageRoute(APIRoute):
    """A route whose errors become HTML pages and whose responses carry the page headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler: render errors as pages, add the security headers."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except Unauthorized:
                response = login_redirect(request)
            except (JudgeloopError, RequestValidationError, StarletteHTTPException) as exc:
                response = render_error_page(request, _status_of(exc), exc)
            apply_security_headers(response.headers, PAGE_HEADERS)
            return response

        return page_handler


def page_router() -> APIRouter:
    """Return a router for HTML pages: ``PageRoute`` routes, CSRF-checked, out of the API docs."""
    return APIRouter(
        route_class=PageRoute, dependencies=[Depends(verify_csrf)], include_in_schema=False
    )
