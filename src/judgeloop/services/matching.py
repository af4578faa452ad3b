"""Matching workers and projects: 'projects for you', eligible counts, invite and remove.

A worker's 'projects for you' holds the active projects they are a member of and the
open ones (``Requirements.open``), ranked: eligible first, then those with work left,
then by fit (share of the requirements met), then by how many items still need
judgments (a count over the partial index ``ix_items_queue``); pay is shown when the
pay service has terms for the project.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, JudgeloopError, NotFound
from judgeloop.schemas.workforce import Requirements
from judgeloop.services.assessments import is_active
from judgeloop.services.projects import add_member, member_role
from judgeloop.services.queue import end_assignment
from judgeloop.services.workforce import (
    Eligibility,
    check_eligibility,
    daily_cap,
    evaluate,
    project_requirements,
    submissions_today,
    worker_qualities,
)
from judgeloop.store.models import (
    Assignment,
    Event,
    Item,
    Project,
    ProjectMember,
    Qualification,
    User,
    WorkerProfile,
)


@dataclass
class Match:
    """One project in a worker's 'projects for you'."""

    project: Project
    member: bool
    eligibility: Eligibility
    open_items: int
    pay: str | None = None
    daily_cap: int | None = None
    done_today: int = 0

    def sort_key(self) -> tuple[bool, bool, float, int]:
        """Eligible first, then projects with work left, then fit, then work available."""
        e = self.eligibility
        return (e.eligible, self.open_items > 0, e.fit, self.open_items)


def open_items(session: Session, *, project: Project) -> int:
    """Count the project's items that still need judgments."""
    query = (
        select(func.count()).select_from(Item).where(Item.project_id == project.id, Item.is_open)
    )
    return int(session.scalar(query) or 0)


PAY_MODES = {"per_task": "per task", "per_accepted": "per accepted task", "hourly": "per hour"}


def pay_label(session: Session, *, project: Project) -> str | None:
    """What the project pays, in words ('0.50 USD per task'), when the pay service says so.

    Reads ``judgeloop.services.pay.current_pay_terms`` when that service is installed;
    without it, or for unpaid work, returns None and no pay is shown.
    """
    try:
        pay = importlib.import_module("judgeloop.services.pay")
    except ImportError:
        return None
    terms_of = getattr(pay, "current_pay_terms", None)
    if not callable(terms_of):
        return None
    try:
        terms: Any = terms_of(session, project=project)
    except JudgeloopError:
        return None
    rate = getattr(terms, "rate", None)
    if not isinstance(rate, Decimal):
        return None
    shown = f"{rate:.2f}" if rate == rate.quantize(Decimal("0.01")) else f"{rate.normalize()}"
    mode = str(getattr(terms, "mode", ""))
    return f"{shown} {getattr(terms, 'currency', '')} {PAY_MODES.get(mode, mode)}".strip()


def projects_for_you(session: Session, *, worker: User) -> list[Match]:
    """The projects to show a worker, best match first."""
    member_of = set(
        session.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == worker.id))
    )
    projects = session.scalars(
        select(Project).where(Project.state == "active").order_by(Project.id)
    )
    facts = _WorkerFacts(session, worker)
    matches = []
    for project in projects:
        member = project.id in member_of or project.owner_id == worker.id
        req = project_requirements(project)
        if not member and not req.open:
            continue
        matches.append(
            Match(
                project=project,
                member=member,
                eligibility=facts.evaluate(req),
                open_items=open_items(session, project=project),
                pay=pay_label(session, project=project),
                daily_cap=daily_cap(project),
                done_today=submissions_today(session, project=project, worker=worker),
            )
        )
    return sorted(matches, key=Match.sort_key, reverse=True)


class _WorkerFacts:
    """One worker's profile, qualifications and (when asked) quality, read once."""

    def __init__(self, session: Session, worker: User) -> None:
        self.session, self.worker = session, worker
        self.profile = session.scalar(
            select(WorkerProfile).where(WorkerProfile.user_id == worker.id)
        )
        self.held = _active_names(session, [worker.id]).get(worker.id, set())
        self._quality: list[float | None] = []

    def quality(self) -> float | None:
        if not self._quality:
            found = worker_qualities(self.session, [self.worker.id]).get(self.worker.id)
            self._quality.append(found)
        return self._quality[0]

    def evaluate(self, req: Requirements) -> Eligibility:
        quality = self.quality() if req.min_quality is not None else None
        return evaluate(req, self.profile, self.held, quality)


@dataclass
class EligibleCount:
    """How many workers meet a project's requirements, and what holds the others back."""

    workers: int = 0
    eligible: int = 0
    members: int = 0
    eligible_members: int = 0
    missing: dict[str, int] = field(default_factory=dict)


def count_eligible(session: Session, *, project: Project) -> EligibleCount:
    """Count the active worker accounts that meet the project's requirements.

    For an owner before launching: how many could work on it, how many of its members
    can, and for each unmet requirement how many workers it holds back.
    """
    req = project_requirements(project)
    workers = list(
        session.scalars(select(User.id).where(User.role == "worker", User.is_active.is_(True)))
    )
    profiles = {
        p.user_id: p
        for p in session.scalars(select(WorkerProfile).where(WorkerProfile.user_id.in_(workers)))
    }
    held = _active_names(session, workers)
    qualities = worker_qualities(session, workers) if req.min_quality is not None else {}
    members = set(
        session.scalars(select(ProjectMember.user_id).where(ProjectMember.project_id == project.id))
    )
    result, missing = EligibleCount(workers=len(workers)), Counter[str]()
    for worker_id in workers:
        verdict = evaluate(
            req, profiles.get(worker_id), held.get(worker_id, ()), qualities.get(worker_id)
        )
        missing.update(verdict.missing)
        result.eligible += verdict.eligible
        result.members += worker_id in members
        result.eligible_members += verdict.eligible and worker_id in members
    result.missing = dict(missing.most_common())
    return result


def _active_names(session: Session, worker_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    query = select(Qualification).where(Qualification.worker_id.in_(worker_ids))
    for qualification in session.scalars(query):
        if is_active(qualification):
            out.setdefault(qualification.worker_id, set()).add(qualification.name)
    return out


def invite_worker(
    session: Session, *, project: Project, actor: User, worker: User, override: bool = False
) -> ProjectMember:
    """Make `worker` a worker member of the project (callers authorize the actor).

    Raises:
        InvalidInput: The account is not an active worker.
        Conflict: The worker does not meet the requirements (unless `override`), or
            already has another role in the project.
    """
    if worker.role != "worker" or not worker.is_active:
        raise InvalidInput(f"{worker.email} is not an active worker account")
    role = member_role(session, project=project, user=worker)
    if role not in (None, "worker"):
        raise Conflict(f"{worker.email} is already a {role} of this project")
    verdict = check_eligibility(session, project=project, worker=worker)
    if not verdict.eligible and not override:
        raise Conflict(f"{worker.email} is not eligible: " + "; ".join(verdict.reasons))
    _event(session, "project.invited", actor, project, worker)
    return add_member(session, project=project, user=worker, role="worker")


def join_project(session: Session, *, project: Project, worker: User) -> ProjectMember:
    """Let an eligible worker join an open active project on their own.

    Raises:
        NotFound: The project is not open (its existence is not revealed).
        Conflict: The project is not active, or the worker is not eligible.
    """
    if not project_requirements(project).open:
        raise NotFound(f"no project {project.slug!r}")
    if project.state != "active":
        raise Conflict(f"project {project.slug} is {project.state}")
    existing = member_role(session, project=project, user=worker)
    if existing is not None:
        member = session.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == project.id, ProjectMember.user_id == worker.id
            )
        )
        if member is not None:
            return member
    verdict = check_eligibility(session, project=project, worker=worker)
    if not verdict.eligible:
        raise Conflict("you are not eligible for this project: " + "; ".join(verdict.reasons))
    _event(session, "project.joined", worker, project, worker)
    return add_member(session, project=project, user=worker, role="worker")


def remove_worker(session: Session, *, project: Project, actor: User, worker: User) -> int:
    """Remove a member from the project, releasing their live leases; commits.

    Returns:
        How many leases were released (their slots go back to the queue).

    Raises:
        NotFound: The user is not a member.
        Conflict: The user is the project's owner.
    """
    if worker.id == project.owner_id:
        raise Conflict("the project's owner cannot be removed")
    member = session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == worker.id
        )
    )
    if member is None:
        raise NotFound(f"user {worker.id} is not a member of this project")
    leases = list(
        session.scalars(
            select(Assignment.id).where(
                Assignment.project_id == project.id,
                Assignment.worker_id == worker.id,
                Assignment.state == "leased",
            )
        )
    )
    for assignment_id in leases:
        end_assignment(session, assignment_id=assignment_id, worker=worker, state="released")
    session.delete(member)
    _event(session, "project.removed", actor, project, worker, released=len(leases))
    session.commit()
    return len(leases)


def _event(
    session: Session, kind: str, actor: User, project: Project, worker: User, **extra: Any
) -> None:
    payload = {"user_id": worker.id, **extra}
    session.add(Event(kind=kind, actor_id=actor.id, project_id=project.id, payload=payload))
