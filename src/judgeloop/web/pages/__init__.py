"""Server-rendered HTML pages; ``router`` is included by ``web.app.create_app``.

Every page route is a ``templating.PageRoute``: it checks the CSRF token of unsafe
requests, renders errors as HTML (signed-out visitors go to ``/login``) and sends a
strict Content-Security-Policy with the other security headers.
"""

from __future__ import annotations

from fastapi import APIRouter

from judgeloop.web.pages import auth, projects
from judgeloop.web.pages.headers import SecurityHeadersMiddleware
from judgeloop.web.pages.templating import render_error_page

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(projects.router)

__all__ = ["SecurityHeadersMiddleware", "render_error_page", "router"]
