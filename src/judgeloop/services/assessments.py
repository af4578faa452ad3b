"""Screening assessments: built by owners from gold items; the qualifications they grant.

Taking one (attempts, scoring) is in ``services.attempts``. ``answer_matches`` is the
one rule for comparing an answer with a gold answer: exact match for rating, choice,
preference winner, ranking and code_run verdict; other kinds are not scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound, RowError
from judgeloop.schemas.assessments import AssessmentCreate, AssessmentUpdate
from judgeloop.services.items import gold_for
from judgeloop.services.projects import member_role
from judgeloop.store.base import utcnow
from judgeloop.store.models import (
    Assessment,
    Event,
    Item,
    Project,
    Qualification,
    User,
)

SCORED_KINDS = frozenset({"rating", "choice", "preference", "ranking", "code_run"})
MANAGERS = frozenset({"admin", "owner"})


def answer_matches(kind: str, expected: Any, given: Any) -> bool | None:
    """Tell whether an answer equals the gold answer; None for kinds not scored exactly.

    A preference compares only the winner, a code_run only the verdict, a multiple
    choice the set of options; rating, single choice and ranking compare as they are.
    """
    if kind not in SCORED_KINDS:
        return None
    if given is None:
        return False
    if kind == "preference":
        return bool(_field(expected, "winner") == _field(given, "winner"))
    if kind == "code_run":
        return bool(_field(expected, "verdict") == _field(given, "verdict"))
    if kind == "rating":
        return _number(expected) == _number(given)
    if kind == "choice" and isinstance(expected, list) and isinstance(given, list):
        return sorted(map(str, expected)) == sorted(map(str, given))
    return bool(expected == given)


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else value


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def get_assessment(session: Session, ref: int | str) -> Assessment:
    """Return the assessment with this id or slug, or raise NotFound."""
    if isinstance(ref, int) or ref.isdigit():
        found = session.get(Assessment, int(ref))
    else:
        found = session.scalar(select(Assessment).where(Assessment.slug == ref))
    if found is None:
        raise NotFound(f"no assessment {ref!r}")
    return found


def can_manage(user: User, assessment: Assessment) -> bool:
    """Whether the user may edit the assessment and see its items (its owner, admins)."""
    return user.role == "admin" or assessment.owner_id == user.id


def visible_assessment(session: Session, *, user: User, ref: int | str) -> Assessment:
    """Return an assessment the user may see: active ones, and their own; else NotFound."""
    assessment = get_assessment(session, ref)
    if not assessment.is_active and not can_manage(user, assessment):
        raise NotFound(f"no assessment {ref!r}")
    return assessment


def list_assessments(session: Session, *, user: User) -> list[Assessment]:
    """Return the active assessments, plus the caller's own inactive ones (all for admins)."""
    query = select(Assessment).order_by(Assessment.id)
    if user.role != "admin":
        query = query.where(Assessment.is_active.is_(True) | (Assessment.owner_id == user.id))
    return list(session.scalars(query))


def create_assessment(session: Session, *, owner: User, data: AssessmentCreate) -> Assessment:
    """Create an assessment from gold items of projects `owner` runs.

    Raises:
        Forbidden: The caller is not an owner or admin.
        Conflict: The slug is taken.
        InvalidInput: An item is missing, not gold, has no gold answers, or belongs to a
            project the caller does not run; or no gold answer can be scored.
    """
    if owner.role not in MANAGERS:
        raise Forbidden("only project owners and admins may build assessments")
    if session.scalar(select(Assessment.id).where(Assessment.slug == data.slug)) is not None:
        raise Conflict(f"an assessment with slug {data.slug!r} already exists")
    if data.project_id is not None:
        _managed_project(session, owner, data.project_id, "project_id")
    _check_items(session, owner, data.item_ids)
    assessment = Assessment(owner_id=owner.id, **data.model_dump())
    session.add(assessment)
    session.flush()
    session.add(
        Event(
            kind="assessment.created",
            actor_id=owner.id,
            project_id=data.project_id,
            payload={"assessment_id": assessment.id},
        )
    )
    session.commit()
    return assessment


def update_assessment(
    session: Session, *, assessment: Assessment, actor: User, data: AssessmentUpdate
) -> Assessment:
    """Change an assessment (its owner or an admin); finished attempts keep their scores."""
    if not can_manage(actor, assessment):
        raise Forbidden("only the assessment's owner may change it")
    if data.item_ids is not None:
        _check_items(session, actor, data.item_ids)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None or name == "qualification_valid_days":
            setattr(assessment, name, value)
    session.commit()
    return assessment


def _managed_project(session: Session, user: User, project_id: int, where: str) -> Project:
    project = session.get(Project, project_id)
    if project is None or member_role(session, project=project, user=user) not in MANAGERS:
        raise InvalidInput(
            "invalid assessment", [RowError(0, where, f"no project {project_id} that you run")]
        )
    return project


def _check_items(session: Session, owner: User, item_ids: Sequence[int]) -> None:
    errors: list[RowError] = []
    if len(set(item_ids)) != len(item_ids):
        errors.append(RowError(0, "item_ids", "an item may appear once"))
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))}
    gold = gold_for(session, list(items))
    scorable = 0
    for n, item_id in enumerate(item_ids):
        item = items.get(item_id)
        where = f"item_ids.{n}"
        project = session.get(Project, item.project_id) if item else None
        if item is None or project is None:
            errors.append(RowError(0, where, f"no item {item_id}"))
        elif member_role(session, project=project, user=owner) not in MANAGERS:
            errors.append(RowError(0, where, f"item {item_id} is in a project you do not run"))
        elif not item.is_gold or not gold.get(item_id):
            errors.append(RowError(0, where, f"item {item_id} is not a gold item with answers"))
        else:
            kinds = {q["key"]: q["kind"] for q in project.questions}
            scorable += sum(kinds.get(g.question_key) in SCORED_KINDS for g in gold[item_id])
    if not errors and scorable == 0:
        errors.append(RowError(0, "item_ids", "none of these gold answers can be scored"))
    if errors:
        raise InvalidInput("invalid assessment", errors)


def list_qualifications(session: Session, *, worker_id: int) -> list[Qualification]:
    """Return every qualification the worker holds or held, by name."""
    query = select(Qualification).where(Qualification.worker_id == worker_id)
    return list(session.scalars(query.order_by(Qualification.name)))


def is_active(qualification: Qualification, now: datetime | None = None) -> bool:
    """Whether the qualification has not expired."""
    expires = qualification.expires_at
    return expires is None or expires > (now or utcnow())


def active_qualifications(session: Session, *, worker_id: int) -> set[str]:
    """Names of the worker's unexpired qualifications."""
    now = utcnow()
    return {q.name for q in list_qualifications(session, worker_id=worker_id) if is_active(q, now)}


def grant_qualification(
    session: Session, *, worker_id: int, assessment: Assessment, score: float
) -> Qualification:
    """Grant (or renew: the latest grant wins) the assessment's qualification; no commit."""
    now = utcnow()
    days = assessment.qualification_valid_days
    qualification = session.scalar(
        select(Qualification).where(
            Qualification.worker_id == worker_id, Qualification.name == assessment.qualification
        )
    )
    if qualification is None:
        qualification = Qualification(worker_id=worker_id, name=assessment.qualification)
        session.add(qualification)
    qualification.score = score
    qualification.granted_at = now
    qualification.expires_at = now + timedelta(days=days) if days else None
    qualification.assessment_id = assessment.id
    return qualification
