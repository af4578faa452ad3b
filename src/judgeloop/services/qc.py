"""Quality control: agreement, worker reliability, behaviour flags, suspensions.

- ``agreement_rows`` (``services.qc_agreement``): agreement per question, rubric
  dimension and week, with bootstrap confidence intervals.
- ``reliability_table``: each worker's gold accuracy (with its count), agreement with
  consensus, the model's estimate, the project's thresholds they fell under and their
  behaviour flags, as of the last ``services.consensus.aggregate_project``.
- ``behaviour_flags`` (``services.qc_behaviour``): too fast, straight-lining, copying.
- ``suspend_worker`` / ``lift_suspension``: keep a worker out of one project's queue
  with a written reason the worker reads (``services.workforce.lease_block_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, Forbidden, InvalidInput, NotFound, RowError
from judgeloop.schemas.quality import QualitySettings
from judgeloop.services.projects import member_role
from judgeloop.services.qc_agreement import AgreementRow, agreement_rows
from judgeloop.services.qc_behaviour import BehaviourFlag, BehaviourReport, behaviour_flags
from judgeloop.services.queue import free_slot
from judgeloop.store.base import utcnow
from judgeloop.store.models import (
    Assignment,
    Event,
    Project,
    ProjectMember,
    Suspension,
    User,
    WorkerReliability,
)

__all__ = [
    "AgreementRow",
    "BehaviourFlag",
    "BehaviourReport",
    "ReliabilityRow",
    "active_suspension",
    "agreement_rows",
    "behaviour_flags",
    "lift_suspension",
    "list_suspensions",
    "quality_settings",
    "reliability_table",
    "suspend_worker",
    "update_quality_settings",
]

MANAGERS = frozenset({"owner", "admin"})
MAX_REASON = 4000


@dataclass(frozen=True)
class ReliabilityRow:
    """One worker of the reliability table."""

    worker: User
    reliability: WorkerReliability | None
    behaviour: list[BehaviourFlag] = field(default_factory=list)
    suspension: Suspension | None = None

    @property
    def flagged(self) -> bool:
        """Under a threshold of the project, or flagged for behaviour."""
        return bool(self.behaviour) or bool(self.reliability and self.reliability.flagged)

    @property
    def reasons(self) -> list[str]:
        """Why the worker is flagged, thresholds first, then behaviour."""
        own = list(self.reliability.reasons) if self.reliability else []
        return own + [f.detail for f in self.behaviour]


def active_suspension(session: Session, *, project_id: int, worker_id: int) -> Suspension | None:
    """The worker's suspension from this project that is not lifted, if any."""
    query = select(Suspension).where(
        Suspension.project_id == project_id,
        Suspension.worker_id == worker_id,
        Suspension.lifted_at.is_(None),
    )
    return session.scalars(query.order_by(Suspension.id.desc()).limit(1)).first()


def list_suspensions(session: Session, *, project: Project) -> list[Suspension]:
    """The project's active suspensions, newest first."""
    query = select(Suspension).where(
        Suspension.project_id == project.id, Suspension.lifted_at.is_(None)
    )
    return list(session.scalars(query.order_by(Suspension.id.desc())))


def reliability_table(
    session: Session, *, project: Project, behaviour: BehaviourReport | None = None
) -> list[ReliabilityRow]:
    """Every worker with a reliability snapshot, a behaviour flag or a suspension.

    Args:
        session: Database session.
        project: The project.
        behaviour: Behaviour flags already computed (computed here when None).

    Returns:
        Rows, flagged workers first, then by agreement (lowest first).
    """
    snaps = {
        r.worker_id: r
        for r in session.scalars(
            select(WorkerReliability).where(WorkerReliability.project_id == project.id)
        )
    }
    report = behaviour or behaviour_flags(session, project=project)
    by_worker = report.by_worker()
    suspended = {s.worker_id: s for s in list_suspensions(session, project=project)}
    ids = sorted(set(snaps) | set(by_worker) | set(suspended))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    rows = [
        ReliabilityRow(users[w], snaps.get(w), by_worker.get(w, []), suspended.get(w))
        for w in ids
        if w in users
    ]

    def order(row: ReliabilityRow) -> tuple[bool, float, int]:
        agreement = row.reliability.agreement if row.reliability else None
        return (not row.flagged, agreement if agreement is not None else 2.0, row.worker.id)

    return sorted(rows, key=order)


def _require_manager(session: Session, project: Project, actor: User) -> None:
    role = member_role(session, project=project, user=actor)
    if role is None:
        raise NotFound(f"no project {project.slug!r}")
    if role not in MANAGERS:
        raise Forbidden(f"a {role} of project {project.slug} may not suspend workers")


def _clean_reason(reason: str) -> str:
    text = reason.replace("\r\n", "\n").strip()
    if not text:
        why = "write why, in words the worker will read"
        raise InvalidInput("a suspension needs a reason", [RowError(0, "reason", why)])
    if len(text) > MAX_REASON or "\x00" in text:
        why = f"at most {MAX_REASON} characters of plain text"
        raise InvalidInput("invalid reason", [RowError(0, "reason", why)])
    return text


def suspend_worker(
    session: Session, *, project: Project, worker_id: int, actor: User, reason: str
) -> Suspension:
    """Keep a worker out of the project's queue, with a reason they read; commits.

    The worker's live leases in the project are released (their slots go back to the
    queue); their submissions stay as they are.

    Raises:
        NotFound: The actor or the worker is not a member of the project.
        Forbidden: The actor is not an owner or admin, or suspends themself.
        InvalidInput: No reason.
        Conflict: The worker is suspended already.
    """
    _require_manager(session, project, actor)
    text = _clean_reason(reason)
    member = session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == worker_id
        )
    )
    if member is None:
        raise NotFound(f"no worker {worker_id} in project {project.slug}")
    if worker_id == actor.id:
        raise Forbidden("you may not suspend yourself")
    if active_suspension(session, project_id=project.id, worker_id=worker_id) is not None:
        raise Conflict(f"worker {worker_id} is suspended from {project.slug} already")
    suspension = Suspension(
        project_id=project.id, worker_id=worker_id, reason=text, actor_id=actor.id
    )
    session.add(suspension)
    leased = session.scalars(
        select(Assignment).where(
            Assignment.project_id == project.id,
            Assignment.worker_id == worker_id,
            Assignment.state == "leased",
        )
    )
    for assignment in leased:
        assignment.state = "released"
        free_slot(session, item_id=assignment.item_id, redundancy=project.redundancy)
    session.flush()
    payload = {"worker_id": worker_id, "suspension_id": suspension.id, "reason": text}
    session.add(
        Event(kind="worker.suspended", actor_id=actor.id, project_id=project.id, payload=payload)
    )
    session.commit()
    return suspension


def lift_suspension(
    session: Session, *, project: Project, worker_id: int, actor: User, note: str = ""
) -> Suspension:
    """Let a suspended worker take tasks in the project again; commits.

    Raises:
        NotFound: No active suspension of this worker (or the actor is no member).
        Forbidden: The actor is not an owner or admin.
    """
    _require_manager(session, project, actor)
    suspension = active_suspension(session, project_id=project.id, worker_id=worker_id)
    if suspension is None:
        raise NotFound(f"worker {worker_id} is not suspended from {project.slug}")
    now = utcnow()
    changed = session.execute(
        update(Suspension)
        .where(Suspension.id == suspension.id, Suspension.lifted_at.is_(None))
        .values(lifted_at=now, lifted_by=actor.id, lift_note=note.strip()[:MAX_REASON])
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("someone else lifted this suspension just now")
    session.refresh(suspension)
    payload = {"worker_id": worker_id, "suspension_id": suspension.id}
    session.add(
        Event(kind="worker.unsuspended", actor_id=actor.id, project_id=project.id, payload=payload)
    )
    session.commit()
    return suspension


def quality_settings(project: Project) -> QualitySettings:
    """The project's adaptive-redundancy, threshold and audit settings (defaults filled in)."""
    raw = project.settings
    adaptive = raw.get("adaptive") or {}
    if not isinstance(adaptive, dict):
        adaptive = {"enabled": bool(adaptive)}
    return QualitySettings.model_validate(
        {
            "adaptive": {"enabled": True, **adaptive} if adaptive else {},
            "quality": raw.get("quality") or {},
            "audit": raw.get("audit") or {},
        }
    )


def update_quality_settings(
    session: Session, *, project: Project, actor: User, data: QualitySettings
) -> QualitySettings:
    """Replace the project's quality settings (owners and admins); commits.

    Raises:
        NotFound: The actor is not a member.
        Forbidden: The actor is not an owner or admin.
    """
    _require_manager(session, project, actor)
    stored = data.model_dump(exclude_none=True)
    project.settings = {**project.settings, **stored}
    session.add(
        Event(
            kind="project.quality_settings",
            actor_id=actor.id,
            project_id=project.id,
            payload=stored,
        )
    )
    session.commit()
    return quality_settings(project)
