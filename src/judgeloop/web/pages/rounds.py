"""Rounds in the browser: ``/projects/{slug}/rounds`` (reports and the leaderboard plot)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from judgeloop.services.round_report import leaderboard
from judgeloop.services.rounds import freeze_round, get_round
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.policies import Perm, project_access

router = page_router()


@router.get("/projects/{slug}/rounds")
def rounds_page(request: Request, slug: str, session: DbSession, user: CurrentUser) -> Response:
    """Each round's verdict (win-rates with intervals, rubric changes) and the leaderboard."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_PROGRESS)
    board = leaderboard(session, project=access.project)
    context = {
        "project": access.project,
        "board": board,
        "ranked": sorted(
            zip(board.models, board.scores, board.low, board.high, strict=True),
            key=lambda row: -row[1],
        ),
        "can_freeze": access.can(Perm.UPDATE_PROJECT),
    }
    return render_page(request, "pages/rounds.html", context, user=user)


@router.post("/projects/{slug}/rounds/{number}/freeze")
def freeze_round_page(slug: str, number: int, session: DbSession, user: CurrentUser) -> Response:
    """Freeze a round from the page, then show the rounds again."""
    access = project_access(session, user=user, ref=slug, perm=Perm.UPDATE_PROJECT)
    freeze_round(
        session, round_=get_round(session, project=access.project, number=number), actor=user
    )
    return RedirectResponse(f"/projects/{slug}/rounds", status_code=303)
