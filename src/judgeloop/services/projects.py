"""Projects: creation from a preset or a custom composition, guidelines, members, progress."""

from __future__ import annotations

import statistics
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound, RowError
from judgeloop.presets import get_preset
from judgeloop.questions.base import check_questions
from judgeloop.schemas.projects import ProgressRead, ProjectCreate, ProjectUpdate
from judgeloop.store.models import (
    Assignment,
    Event,
    GuidelineVersion,
    Item,
    Judgment,
    Project,
    ProjectMember,
    Submission,
    User,
)

DEFAULT_GUIDELINES = "# Guidelines\n\nRead the prompt and the answers, then answer each question."


def create_project(session: Session, *, owner: User, data: ProjectCreate) -> Project:
    """Create a project from `data`; the preset fills whatever `data` leaves empty.

    Raises InvalidInput when the question composition or rubric is wrong, Conflict when
    the slug is taken.
    """
    try:
        preset = get_preset(data.preset) if data.preset else None
    except NotFound as exc:
        raise InvalidInput(exc.message, [RowError(0, "preset", exc.message)]) from None
    questions = data.questions or (preset.questions if preset else [])
    rubric = data.rubric or (preset.rubric if preset else [])
    specs, dims = check_questions(questions, rubric)
    if session.scalar(select(Project.id).where(Project.slug == data.slug)) is not None:
        raise Conflict(f"a project with slug {data.slug!r} already exists")
    settings: dict[str, Any] = dict(preset.settings) if preset else {}
    require_explanation = data.require_explanation
    if require_explanation is None:
        require_explanation = bool(settings.get("require_explanation", False))
    project = Project(
        slug=data.slug,
        name=data.name,
        description=data.description,
        preset=preset.name if preset else None,
        task_type=preset.task_type if preset else "custom",
        questions=[s.model_dump() for s in specs],
        rubric=[d.model_dump() for d in dims],
        settings=settings,
        redundancy=data.redundancy,
        gold_ratio=data.gold_ratio,
        hide_model_identity=data.hide_model_identity,
        require_explanation=require_explanation,
        owner_id=owner.id,
        guideline_version=1,
    )
    session.add(project)
    session.flush()
    body = data.guidelines or (preset.guidelines if preset else DEFAULT_GUIDELINES)
    session.add(GuidelineVersion(project_id=project.id, version=1, body=body, author_id=owner.id))
    session.add(ProjectMember(project_id=project.id, user_id=owner.id, role="owner"))
    session.add(Event(kind="project.created", actor_id=owner.id, project_id=project.id))
    session.commit()
    return project


def get_project(session: Session, ref: int | str) -> Project:
    """Return the project with this id or slug, or raise NotFound."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        project = session.get(Project, int(ref))
    else:
        project = session.scalar(select(Project).where(Project.slug == ref))
    if project is None:
        raise NotFound(f"no project {ref!r}")
    return project


def member_role(session: Session, *, project: Project, user: User) -> str | None:
    """Return the user's role in the project: 'admin', 'owner', 'reviewer', 'worker' or None."""
    if user.role == "admin":
        return "admin"
    if project.owner_id == user.id:
        return "owner"
    role = session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )
    return role


def list_projects(session: Session, *, user: User) -> list[Project]:
    """Return the projects `user` may see: all for admins, their memberships for others."""
    query = select(Project).order_by(Project.id)
    if user.role != "admin":
        member_of = select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
        query = query.where((Project.owner_id == user.id) | Project.id.in_(member_of))
    return list(session.scalars(query))


def update_project(session: Session, *, project: Project, data: ProjectUpdate) -> Project:
    """Apply the fields set in `data` to the project."""
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(project, name, value)
    if data.redundancy is not None:
        session.execute(
            update(Item)
            .where(Item.project_id == project.id)
            .values(is_open=Item.slots_taken < data.redundancy)
            .execution_options(synchronize_session=False)
        )
    if data.state is not None and data.state != "active":
        _end_leases(session, project)
    session.commit()
    return project


def _end_leases(session: Session, project: Project) -> None:
    """End a paused or archived project's live leases cleanly, returning their slots."""
    leased = select(Assignment.item_id).where(
        Assignment.project_id == project.id, Assignment.state == "leased"
    )
    session.execute(
        update(Item)
        .where(Item.id.in_(leased), Item.slots_taken > 0)
        .values(slots_taken=Item.slots_taken - 1, is_open=Item.slots_taken - 1 < project.redundancy)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Assignment)
        .where(Assignment.project_id == project.id, Assignment.state == "leased")
        .values(state="released")
        .execution_options(synchronize_session=False)
    )


def add_guideline_version(session: Session, *, project: Project, author: User, body: str) -> int:
    """Store a new guideline version and make it current; returns its number."""
    if not body.strip():
        raise InvalidInput("guidelines may not be empty")
    version = project.guideline_version + 1
    session.add(
        GuidelineVersion(project_id=project.id, version=version, body=body, author_id=author.id)
    )
    project.guideline_version = version
    session.add(
        Event(
            kind="guidelines.updated",
            actor_id=author.id,
            project_id=project.id,
            payload={"version": version},
        )
    )
    session.commit()
    return version


def list_guidelines(session: Session, *, project: Project) -> list[GuidelineVersion]:
    """Return every guideline version of the project, newest first."""
    return list(
        session.scalars(
            select(GuidelineVersion)
            .where(GuidelineVersion.project_id == project.id)
            .order_by(GuidelineVersion.version.desc())
        )
    )


def add_member(session: Session, *, project: Project, user: User, role: str) -> ProjectMember:
    """Give `user` a role in the project (replacing any role they had)."""
    member = session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )
    if member is None:
        member = ProjectMember(project_id=project.id, user_id=user.id, role=role)
        session.add(member)
    else:
        member.role = role
    session.commit()
    return member


def project_progress(session: Session, *, project: Project) -> ProgressRead:
    """Count items, completed items, submissions, judgments and workers; median time."""
    items = session.scalar(select(func.count()).where(Item.project_id == project.id)) or 0
    gold = (
        session.scalar(
            select(func.count()).where(Item.project_id == project.id, Item.is_gold.is_(True))
        )
        or 0
    )
    per_item = (
        select(Submission.item_id, func.count().label("n"))
        .where(Submission.project_id == project.id, Submission.state != "rejected")
        .group_by(Submission.item_id)
        .subquery()
    )
    complete = (
        session.scalar(
            select(func.count()).select_from(per_item).where(per_item.c.n >= project.redundancy)
        )
        or 0
    )
    subs = session.scalar(select(func.count()).where(Submission.project_id == project.id)) or 0
    judgments = (
        session.scalar(
            select(func.count())
            .select_from(Judgment)
            .join(Submission, Submission.id == Judgment.submission_id)
            .where(Submission.project_id == project.id)
        )
        or 0
    )
    workers = (
        session.scalar(
            select(func.count(func.distinct(Submission.worker_id))).where(
                Submission.project_id == project.id
            )
        )
        or 0
    )
    times = list(
        session.scalars(
            select(Submission.seconds_spent)
            .where(Submission.project_id == project.id)
            .order_by(Submission.id.desc())
            .limit(10000)
        )
    )
    return ProgressRead(
        items=items,
        gold_items=gold,
        items_complete=complete,
        submissions=subs,
        judgments=judgments,
        workers=workers,
        median_seconds=statistics.median(times) if times else None,
        redundancy=project.redundancy,
    )
