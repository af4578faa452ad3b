"""The JSON API under ``/api/v1``: one router per resource, gathered in ``router``."""

from __future__ import annotations

from fastapi import APIRouter

from judgeloop.web.api import (
    assessments,
    auth,
    calibration,
    code_runs,
    exports,
    imports,
    items,
    pay,
    presets,
    projects,
    quality,
    red_team,
    rounds,
    submissions,
    tasks,
    users,
    workforce,
)

router = APIRouter()
for _module in (auth, users, presets, projects, items, tasks, submissions, imports, exports):
    router.include_router(_module.router)
for _module in (workforce, assessments, pay):  # profiles, matching, assessments, pay (#4)
    router.include_router(_module.router)
router.include_router(quality.router)  # consensus, agreement, reliability, audits (#5)
router.include_router(rounds.router)  # rounds and the leaderboard (#7)
router.include_router(red_team.router)  # red teaming and live chats (#6)
router.include_router(calibration.router)  # the LLM judge's calibration report (#6)
router.include_router(code_runs.router)  # sandboxed test runs of candidate code (#6)
