"""``client.projects``: create, read and manage projects."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from judgeloop.client._http import HttpCore, ProjectRef, build, project_path
from judgeloop.schemas.projects import (
    GuidelineCreate,
    GuidelineRead,
    MemberCreate,
    MemberRead,
    ProgressRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)


class Projects:
    """Projects the signed-in user may see."""

    def __init__(self, http: HttpCore) -> None:
        self._http = http

    def create(
        self, data: ProjectCreate | Mapping[str, Any] | None = None, **fields: Any
    ) -> ProjectRead:
        """Create a project.

        Args:
            data: A ProjectCreate, or a mapping of its fields.
            **fields: ProjectCreate fields (``slug``, ``name``, ``preset``, ...).

        Returns:
            The new project.

        Example:
            >>> client.projects.create(slug="ab-test", name="A/B", preset="pairwise")
        """
        body = build(ProjectCreate, data, **fields)
        return self._http.send("POST", "/projects", ProjectRead, json=body.model_dump(mode="json"))

    def list(self) -> list[ProjectRead]:
        """Return the projects the signed-in user may see."""
        return self._http.get_list("/projects", ProjectRead)

    def get(self, project: ProjectRef) -> ProjectRead:
        """Return one project, by id or slug."""
        return self._http.get(project_path(project), ProjectRead)

    def update(
        self,
        project: ProjectRef,
        data: ProjectUpdate | Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> ProjectRead:
        """Change a project's settings; only the fields given are changed."""
        body = build(ProjectUpdate, data, **fields)
        return self._http.send(
            "PATCH",
            project_path(project),
            ProjectRead,
            json=body.model_dump(mode="json", exclude_unset=True),
        )

    def progress(self, project: ProjectRef) -> ProgressRead:
        """Return how far the project has come (items, submissions, workers, ...)."""
        return self._http.get(project_path(project) + "/progress", ProgressRead)

    def guidelines(self, project: ProjectRef) -> builtins.list[GuidelineRead]:
        """Return every version of the guidelines, newest first."""
        return self._http.get_list(project_path(project) + "/guidelines", GuidelineRead)

    def add_guideline_version(self, project: ProjectRef, body: str) -> GuidelineRead:
        """Store a new version of the guidelines (Markdown) and make it current."""
        data = build(GuidelineCreate, body=body)
        return self._http.send(
            "POST", project_path(project) + "/guidelines", GuidelineRead, json=data.model_dump()
        )

    def members(self, project: ProjectRef) -> builtins.list[MemberRead]:
        """Return the project's members and their roles."""
        return self._http.get_list(project_path(project) + "/members", MemberRead)

    def add_member(
        self,
        project: ProjectRef,
        *,
        user_id: int | None = None,
        email: str | None = None,
        role: str = "worker",
    ) -> MemberRead:
        """Give a user, by id or email, a role in the project ('owner', 'reviewer', 'worker')."""
        data = build(MemberCreate, user_id=user_id, email=email, role=role)
        return self._http.send(
            "POST", project_path(project) + "/members", MemberRead, json=data.model_dump()
        )
