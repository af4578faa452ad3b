"""Rounds over the API: start (blind A/B against the last version), report, freeze, leaderboard.

``/projects/{ref}/rounds``, ``/projects/{ref}/rounds/{n}``, ``/projects/{ref}/rounds/{n}/freeze``,
``/projects/{ref}/leaderboard`` and ``/projects/{ref}/leaderboard.svg``. Owners start and
freeze; owners and reviewers read reports (workers never see which model wrote what).
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from judgeloop.schemas.rounds import (
    LeaderboardRead,
    RoundCreate,
    RoundRead,
    RoundReportRead,
    RoundStarted,
)
from judgeloop.services.model_versions import get_model
from judgeloop.services.round_report import RoundReport, leaderboard, leaderboard_svg, round_report
from judgeloop.services.rounds import RoundPrompt, freeze_round, get_round, list_rounds, start_round
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access

router = APIRouter(tags=["rounds"])


def report_read(report: RoundReport) -> RoundReportRead:
    """The wire form of a round report."""
    return RoundReportRead.model_validate(report.summary())


@router.get("/projects/{ref}/rounds", response_model=list[RoundRead])
def get_rounds(ref: str, user: CurrentUser, session: DbSession) -> list[RoundRead]:
    """The project's rounds, oldest first."""
    project = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS).project
    return [RoundRead.model_validate(r) for r in list_rounds(session, project=project)]


@router.post("/projects/{ref}/rounds", response_model=RoundStarted, status_code=201)
def post_round(ref: str, data: RoundCreate, user: CurrentUser, session: DbSession) -> RoundStarted:
    """Freeze the open round and start the next: one blind A/B item per prompt."""
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    model = get_model(session, data.model).version
    baseline = get_model(session, data.baseline).version if data.baseline else None
    versions = {a.model for a in data.answers}
    ids = {name: get_model(session, name).version.id for name in versions}
    started = start_round(
        session,
        project=project,
        actor=user,
        model=model,
        baseline=baseline,
        prompts=[RoundPrompt(p.prompt, p.source, p.tag) for p in data.prompts],
        answers={(ids[a.model], a.prompt): a.text for a in data.answers},
        seed=data.seed,
    )
    return RoundStarted(
        round=RoundRead.model_validate(started.round),
        created=started.created,
        duplicates=started.duplicates,
        frozen_previous=started.frozen_previous,
        sides=started.sides,
    )


@router.get("/projects/{ref}/rounds/{number}", response_model=RoundReportRead)
def get_round_report(
    ref: str, number: int, user: CurrentUser, session: DbSession
) -> RoundReportRead:
    """The round's report: human and judge win-rates with intervals, rubric changes."""
    project = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS).project
    return report_read(
        round_report(session, round_=get_round(session, project=project, number=number))
    )


@router.post("/projects/{ref}/rounds/{number}/freeze", response_model=RoundRead)
def post_freeze(ref: str, number: int, user: CurrentUser, session: DbSession) -> RoundRead:
    """Freeze a round: its items take no new work and its summary is kept."""
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    round_ = freeze_round(
        session, round_=get_round(session, project=project, number=number), actor=user
    )
    return RoundRead.model_validate(round_)


@router.get("/projects/{ref}/leaderboard", response_model=LeaderboardRead)
def get_leaderboard(ref: str, user: CurrentUser, session: DbSession) -> LeaderboardRead:
    """Every version's Bradley-Terry score over all rounds, and each round's win-rate."""
    project = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS).project
    board = leaderboard(session, project=project)
    fields = asdict(board) | {"rounds": [report_read(r) for r in board.rounds]}
    return LeaderboardRead(**fields)


@router.get("/projects/{ref}/leaderboard.svg")
def get_leaderboard_svg(ref: str, user: CurrentUser, session: DbSession) -> Response:
    """The leaderboard plotted on the server as SVG (no script, no CDN)."""
    project = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS).project
    svg = leaderboard_svg(leaderboard(session, project=project))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
