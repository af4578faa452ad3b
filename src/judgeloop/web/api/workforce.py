"""The workforce: profiles, verification, requirements, matching, invite and remove.

``/me/profile``, ``/me/qualifications``, ``/me/projects-for-you``, ``/users/{id}/profile``
and ``/users/{id}/verification``; per project ``/requirements``, ``/daily-cap``,
``/eligible``, ``/invitations``, ``/join`` and ``/workers/{user_id}``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput, RowError
from judgeloop.schemas.projects import MemberRead
from judgeloop.schemas.workforce import (
    DailyCapUpdate,
    EligibilityRead,
    EligibleCountRead,
    InviteCreate,
    MatchRead,
    ProfileRead,
    ProfileUpdate,
    QualificationRead,
    Requirements,
    VerificationUpdate,
)
from judgeloop.services.accounts import get_user_by_email
from judgeloop.services.assessments import is_active, list_qualifications
from judgeloop.services.matching import (
    Match,
    count_eligible,
    invite_worker,
    join_project,
    projects_for_you,
    remove_worker,
)
from judgeloop.services.projects import get_project
from judgeloop.services.workforce import (
    check_eligibility,
    daily_cap,
    get_profile,
    get_worker,
    project_requirements,
    set_daily_cap,
    set_requirements,
    update_profile,
    verify_credentials,
)
from judgeloop.store.models import Project, Qualification, User, WorkerProfile
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access, require_project_creator

router = APIRouter(tags=["workforce"])


def profile_read(profile: WorkerProfile) -> ProfileRead:
    """The wire form of a profile."""
    return ProfileRead.model_validate(profile)


def qualification_read(qualification: Qualification) -> QualificationRead:
    """The wire form of a qualification, with whether it is still active."""
    read = QualificationRead.model_validate(qualification)
    return read.model_copy(update={"active": is_active(qualification)})


def match_read(match: Match) -> MatchRead:
    """The wire form of one of 'projects for you'."""
    project, verdict = match.project, match.eligibility
    return MatchRead(
        project_id=project.id,
        slug=project.slug,
        name=project.name,
        description=project.description,
        task_type=project.task_type,
        member=match.member,
        eligible=verdict.eligible,
        reasons=verdict.reasons,
        fit=verdict.fit,
        open_items=match.open_items,
        pay=match.pay,
        daily_cap=match.daily_cap,
        done_today=match.done_today,
    )


@router.get("/me/profile", response_model=ProfileRead)
def get_profile_(user: CurrentUser, session: DbSession) -> ProfileRead:
    """Return the caller's worker profile (empty until written)."""
    return profile_read(get_profile(session, user=user))


@router.put("/me/profile", response_model=ProfileRead)
def update_profile_(data: ProfileUpdate, user: CurrentUser, session: DbSession) -> ProfileRead:
    """Replace the caller's profile; a changed credentials text loses its verification."""
    return profile_read(update_profile(session, user=user, data=data))


@router.get("/me/qualifications", response_model=list[QualificationRead])
def list_qualifications_(user: CurrentUser, session: DbSession) -> list[QualificationRead]:
    """Return the caller's qualifications, expired ones included (``active`` false)."""
    return [qualification_read(q) for q in list_qualifications(session, worker_id=user.id)]


@router.get("/me/projects-for-you", response_model=list[MatchRead])
def projects_for_you_(user: CurrentUser, session: DbSession) -> list[MatchRead]:
    """Projects for the caller: their own and open ones, best match and most work first."""
    return [match_read(m) for m in projects_for_you(session, worker=user)]


@router.get("/users/{user_id}/profile", response_model=ProfileRead)
def get_worker_profile(user_id: int, user: CurrentUser, session: DbSession) -> ProfileRead:
    """Return a worker's profile (project owners and admins)."""
    require_project_creator(user)
    return profile_read(get_profile(session, user=get_worker(session, user_id)))


@router.put("/users/{user_id}/verification", response_model=ProfileRead)
def verify_credentials_(
    user_id: int, data: VerificationUpdate, user: CurrentUser, session: DbSession
) -> ProfileRead:
    """Mark a worker's credentials verified or not (project owners and admins)."""
    worker = get_worker(session, user_id)
    profile = verify_credentials(session, worker=worker, verifier=user, verified=data.verified)
    return profile_read(profile)


@router.get("/projects/{ref}/requirements", response_model=Requirements)
def get_requirements(ref: str, user: CurrentUser, session: DbSession) -> Requirements:
    """Return who may work on the project."""
    return project_requirements(project_access(session, user=user, ref=ref).project)


@router.put("/projects/{ref}/requirements", response_model=Requirements)
def set_requirements_(
    ref: str, data: Requirements, user: CurrentUser, session: DbSession
) -> Requirements:
    """Set who may work on the project (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    return set_requirements(session, project=access.project, actor=user, data=data)


@router.put("/projects/{ref}/daily-cap", response_model=DailyCapUpdate)
def set_daily_cap_(
    ref: str, data: DailyCapUpdate, user: CurrentUser, session: DbSession
) -> DailyCapUpdate:
    """Set (or, with null, clear) the most submissions per worker per UTC day."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    set_daily_cap(session, project=access.project, actor=user, per_worker=data.per_worker)
    return DailyCapUpdate(per_worker=daily_cap(access.project))


@router.get("/projects/{ref}/eligible", response_model=EligibleCountRead)
def count_eligible_(ref: str, user: CurrentUser, session: DbSession) -> EligibleCountRead:
    """Count the workers who meet the requirements, and what holds the others back."""
    access = project_access(session, user=user, ref=ref, perm=Perm.MANAGE_MEMBERS)
    counted = count_eligible(session, project=access.project)
    return EligibleCountRead.model_validate(counted, from_attributes=True)


@router.get("/projects/{ref}/eligibility", response_model=EligibilityRead)
def check_eligibility_(ref: str, user: CurrentUser, session: DbSession) -> EligibilityRead:
    """Tell the caller whether they meet the project's requirements (an open one too)."""
    project = _open_or_member(session, user, ref)
    verdict = check_eligibility(session, project=project, worker=user)
    return EligibilityRead(eligible=verdict.eligible, reasons=verdict.reasons, fit=verdict.fit)


@router.post("/projects/{ref}/invitations", response_model=MemberRead, status_code=201)
def invite_worker_(
    ref: str, data: InviteCreate, user: CurrentUser, session: DbSession
) -> MemberRead:
    """Invite a worker (by id or email); refused when not eligible unless ``override``."""
    access = project_access(session, user=user, ref=ref, perm=Perm.MANAGE_MEMBERS)
    worker = _invitee(session, data)
    member = invite_worker(
        session, project=access.project, actor=user, worker=worker, override=data.override
    )
    return MemberRead.model_validate(member)


@router.post("/projects/{ref}/join", response_model=MemberRead, status_code=201)
def join_project_(ref: str, user: CurrentUser, session: DbSession) -> MemberRead:
    """Join an open project the caller is eligible for."""
    project = _open_or_member(session, user, ref)
    return MemberRead.model_validate(join_project(session, project=project, worker=user))


@router.delete("/projects/{ref}/workers/{user_id}", status_code=204)
def remove_worker_(ref: str, user_id: int, user: CurrentUser, session: DbSession) -> Response:
    """Remove a member; their live leases are released and their slots return to the queue."""
    access = project_access(session, user=user, ref=ref, perm=Perm.MANAGE_MEMBERS)
    worker = get_worker(session, user_id)
    remove_worker(session, project=access.project, actor=user, worker=worker)
    return Response(status_code=204)


def _open_or_member(session: Session, user: User, ref: str) -> Project:
    project = get_project(session, ref)
    if project_requirements(project).open:
        return project
    return project_access(session, user=user, ref=ref).project


def _invitee(session: Session, data: InviteCreate) -> User:
    if data.user_id is not None:
        return get_worker(session, data.user_id)
    if data.email:
        return get_user_by_email(session, data.email)
    raise InvalidInput("name the worker", [RowError(0, "user_id", "give user_id or email")])
