"""Projects, their guidelines, members and progress: ``/projects``."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput, NotFound, RowError
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
from judgeloop.services.accounts import get_user_by_email
from judgeloop.services.projects import (
    add_guideline_version,
    add_member,
    create_project,
    list_guidelines,
    list_projects,
    project_progress,
    update_project,
)
from judgeloop.store.models import ProjectMember, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access, require_project_creator

router = APIRouter(tags=["projects"])


@router.post("/projects", response_model=ProjectRead, status_code=201)
def create_project_(data: ProjectCreate, user: CurrentUser, session: DbSession) -> ProjectRead:
    """Create a project from a preset, a custom composition of questions, or both."""
    require_project_creator(user)
    return ProjectRead.model_validate(create_project(session, owner=user, data=data))


@router.get("/projects", response_model=list[ProjectRead])
def list_projects_(user: CurrentUser, session: DbSession) -> list[ProjectRead]:
    """List the projects the caller may see (all of them for admins)."""
    return [ProjectRead.model_validate(p) for p in list_projects(session, user=user)]


@router.get("/projects/{ref}", response_model=ProjectRead)
def get_project_(ref: str, user: CurrentUser, session: DbSession) -> ProjectRead:
    """Return a project by id or slug."""
    access = project_access(session, user=user, ref=ref)
    return ProjectRead.model_validate(access.project)


@router.patch("/projects/{ref}", response_model=ProjectRead)
def update_project_(
    ref: str, data: ProjectUpdate, user: CurrentUser, session: DbSession
) -> ProjectRead:
    """Change a project's settings (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    return ProjectRead.model_validate(update_project(session, project=access.project, data=data))


@router.get("/projects/{ref}/progress", response_model=ProgressRead)
def project_progress_(ref: str, user: CurrentUser, session: DbSession) -> ProgressRead:
    """Count items, completed items, submissions, judgments and workers."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    return project_progress(session, project=access.project)


@router.get("/projects/{ref}/guidelines", response_model=list[GuidelineRead])
def list_guidelines_(ref: str, user: CurrentUser, session: DbSession) -> list[GuidelineRead]:
    """Return every version of the guidelines, newest first."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_GUIDELINES)
    return [
        GuidelineRead.model_validate(g) for g in list_guidelines(session, project=access.project)
    ]


@router.post("/projects/{ref}/guidelines", response_model=GuidelineRead, status_code=201)
def add_guideline_version_(
    ref: str, data: GuidelineCreate, user: CurrentUser, session: DbSession
) -> GuidelineRead:
    """Store a new version of the guidelines and make it current."""
    access = project_access(session, user=user, ref=ref, perm=Perm.EDIT_GUIDELINES)
    add_guideline_version(session, project=access.project, author=user, body=data.body)
    return GuidelineRead.model_validate(list_guidelines(session, project=access.project)[0])


@router.get("/projects/{ref}/members", response_model=list[MemberRead])
def list_members(ref: str, user: CurrentUser, session: DbSession) -> list[MemberRead]:
    """List the project's members and their roles (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.MANAGE_MEMBERS)
    query = (
        select(ProjectMember)
        .where(ProjectMember.project_id == access.project.id)
        .order_by(ProjectMember.id)
    )
    return [MemberRead.model_validate(m) for m in session.scalars(query)]


@router.post("/projects/{ref}/members", response_model=MemberRead, status_code=201)
def add_member_(ref: str, data: MemberCreate, user: CurrentUser, session: DbSession) -> MemberRead:
    """Give a user (by id or email) a role in the project (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.MANAGE_MEMBERS)
    member = _member_user(session, data)
    return MemberRead.model_validate(
        add_member(session, project=access.project, user=member, role=data.role)
    )


def _member_user(session: Session, data: MemberCreate) -> User:
    if data.user_id is not None:
        found = session.get(User, data.user_id)
        if found is None:
            raise NotFound(f"no user {data.user_id}")
        return found
    if data.email:
        return get_user_by_email(session, data.email)
    raise InvalidInput("name the new member", [RowError(0, "user_id", "give user_id or email")])
