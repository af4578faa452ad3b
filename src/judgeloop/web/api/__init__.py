"""The JSON API under ``/api/v1``: one router per resource, gathered in ``router``."""

from __future__ import annotations

from fastapi import APIRouter

from judgeloop.web.api import (
    assessments,
    auth,
    exports,
    imports,
    items,
    pay,
    presets,
    projects,
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
