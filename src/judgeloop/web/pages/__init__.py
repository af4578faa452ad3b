"""Server-rendered HTML pages; ``router`` is included by ``web.app.create_app``.

Every page route is a ``templating.PageRoute``: it checks the CSRF token of unsafe
requests, renders errors as HTML (signed-out visitors go to ``/login``) and sends a
strict Content-Security-Policy with the other security headers.
"""

from __future__ import annotations

from fastapi import APIRouter

from judgeloop.web.pages import (
    account,
    assessments,
    auth,
    calibration,
    chat,
    code_runs,
    imports,
    matches,
    owner,
    pay,
    projects,
    quality,
    red_team,
    red_team_owner,
    review,
    rounds,
    work,
    work_actions,
)
from judgeloop.web.pages.headers import SecurityHeadersMiddleware
from judgeloop.web.pages.templating import render_error_page

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
# Before projects: /projects/new must not be taken for a project slug.
router.include_router(owner.router)
router.include_router(imports.router)
router.include_router(review.router)
router.include_router(quality.router)  # quality dashboard and audits (#5)
router.include_router(calibration.router)  # the LLM judge's calibration (#6)
router.include_router(rounds.router)
router.include_router(projects.router)
router.include_router(work.router)
router.include_router(work_actions.router)
router.include_router(code_runs.router)  # "Run tests" on the task and review pages (#6)
for _module in (red_team, red_team_owner, chat):  # red teaming and live chats (#6)
    router.include_router(_module.router)
# The workforce (issue 4): sign-up, profile, assessments, projects for you, pay.
for _module in (account, assessments, matches, pay):
    router.include_router(_module.router)

__all__ = ["SecurityHeadersMiddleware", "render_error_page", "router"]
