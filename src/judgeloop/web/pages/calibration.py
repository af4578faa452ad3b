"""The LLM judge's calibration page: ``GET /projects/{slug}/judges/{model}/calibration``.

Reviewers, owners and admins read how far a judge's answers can stand in for people's:
agreement per question and rubric dimension beside people's own (the ceiling), position
bias from the swapped run, and length bias; the other judges of the project are linked.
Tables only: no script, no inline style (the strict CSP holds).
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from judgeloop.services.calibration import calibration_report, judge_models, report_dict
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.policies import Perm, project_access

router = page_router()

PAGE_BOOTSTRAP = 300


@router.get("/projects/{slug}/judges/{model:path}/calibration")
def calibration_page(
    request: Request, slug: str, model: str, session: DbSession, user: CurrentUser
) -> Response:
    """The judge's calibration report on the project, as tables."""
    access = project_access(session, user=user, ref=slug, perm=Perm.READ_PROGRESS)
    report = calibration_report(
        session, project=access.project, judge_model=model, n_bootstrap=PAGE_BOOTSTRAP
    )
    context = {
        "project": access.project,
        "report": report_dict(report),
        "judges": judge_models(session, project=access.project),
    }
    return render_page(request, "pages/calibration.html", context, user=user)
