"""Quality control over JSON: consensus, agreement, reliability, flags, leaderboard, audits.

Reading (reviewers, owners and admins; never workers): ``GET /projects/{ref}/quality/
agreement``, ``.../quality/reliability``, ``.../quality/flags``,
``.../quality/leaderboard`` (model names only where the caller may see them) and
``/projects/{ref}/consensus``. Gold items'
consensus is left out for reviewers, who may not read gold.

Settings: ``GET``/``PUT /projects/{ref}/quality/settings`` (adaptive redundancy,
thresholds, audit rates; owners and admins write).

Acting: ``POST /projects/{ref}/aggregate``, ``/suspensions`` and
``/suspensions/{worker_id}/lift`` (owners and admins); ``POST /projects/{ref}/audits/
sample`` and ``GET /projects/{ref}/audits`` (reviewers too). A worker reads their own
suspensions, with the owner's reason, at ``GET /me/suspensions``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from sqlalchemy import select

from judgeloop.errors import Forbidden
from judgeloop.schemas.quality import (
    AggregateCreate,
    AggregateRead,
    AgreementRead,
    AuditQueueRead,
    AuditSampleRead,
    BehaviourRead,
    ConsensusPage,
    ConsensusRead,
    ModelLeaderboardRead,
    QualitySettings,
    ReliabilityRead,
    SuspensionCreate,
    SuspensionLift,
    SuspensionRead,
)
from judgeloop.services.audits import audit_queue, sample_audits
from judgeloop.services.consensus import aggregate_project, list_consensus
from judgeloop.services.leaderboard import model_leaderboard
from judgeloop.services.qc import (
    agreement_rows,
    behaviour_flags,
    lift_suspension,
    quality_settings,
    reliability_table,
    suspend_worker,
    update_quality_settings,
)
from judgeloop.store.models import Item, Suspension
from judgeloop.web.api.exports import _export_file
from judgeloop.web.api.quality_views import (
    agreement_read,
    audit_queue_read,
    audit_read,
    behaviour_read,
    reliability_read,
)
from judgeloop.web.deps import AppSettings, CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access

router = APIRouter(tags=["quality"])


@router.get("/projects/{ref}/quality/settings", response_model=QualitySettings)
def quality_settings_(ref: str, user: CurrentUser, session: DbSession) -> QualitySettings:
    """The project's adaptive-redundancy, threshold and audit settings."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    return quality_settings(access.project)


@router.put("/projects/{ref}/quality/settings", response_model=QualitySettings)
def update_quality_settings_(
    ref: str, data: QualitySettings, user: CurrentUser, session: DbSession
) -> QualitySettings:
    """Replace the project's quality settings (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    return update_quality_settings(session, project=access.project, actor=user, data=data)


@router.get("/projects/{ref}/quality/agreement", response_model=list[AgreementRead])
def agreement_rows_(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    bootstrap: Annotated[int, Query(ge=0, le=5000)] = 500,
) -> list[AgreementRead]:
    """Agreement per question, rubric dimension and week, with bootstrap CIs."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    rows = agreement_rows(session, project=access.project, n_bootstrap=bootstrap)
    return [agreement_read(row) for row in rows]


@router.get("/projects/{ref}/quality/reliability", response_model=list[ReliabilityRead])
def reliability_table_(ref: str, user: CurrentUser, session: DbSession) -> list[ReliabilityRead]:
    """Each worker's gold accuracy, agreement, model estimate, flags and suspension."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    return [reliability_read(r) for r in reliability_table(session, project=access.project)]


@router.get("/projects/{ref}/quality/flags", response_model=BehaviourRead)
def behaviour_flags_(ref: str, user: CurrentUser, session: DbSession) -> BehaviourRead:
    """Behaviour flags: too fast, straight-lining, copied or pasted explanations, retest."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    return behaviour_read(behaviour_flags(session, project=access.project))


@router.get("/projects/{ref}/consensus", response_model=ConsensusPage)
def list_consensus_(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    after: Annotated[int, Query(ge=0, description="Items with a larger id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    question: Annotated[str | None, Query(description="Only this question.")] = None,
) -> ConsensusPage:
    """The stored consensus per item and question, by item id (run aggregate first)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_ALL_SUBMISSIONS)
    rows = list_consensus(
        session, project=access.project, question_key=question, after=after, limit=limit
    )
    if not access.can(Perm.READ_GOLD) and rows:
        ids = {r.item_id for r in rows}
        gold = set(session.scalars(select(Item.id).where(Item.id.in_(ids), Item.is_gold)))
        rows = [r for r in rows if r.item_id not in gold] if gold else rows
    last = rows[-1].item_id if len(rows) >= limit else None
    return ConsensusPage(results=[ConsensusRead.model_validate(r) for r in rows], next_after=last)


@router.get("/projects/{ref}/consensus/export", response_class=FileResponse)
def export_consensus(
    ref: str, user: CurrentUser, session: DbSession, settings: AppSettings
) -> FileResponse:
    """Each item's consensus beside its raw judgments, as JSON Lines (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.EXPORT)
    return _export_file(session, access, "consensus", "jsonl", settings.data_dir / "exports")


@router.post("/projects/{ref}/aggregate", response_model=AggregateRead)
def aggregate_project_(
    ref: str, data: AggregateCreate, user: CurrentUser, session: DbSession
) -> AggregateRead:
    """Compute and store the consensus of every item and question (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    report = aggregate_project(session, project=access.project, method=data.method, actor=user)
    return AggregateRead.model_validate(report, from_attributes=True)


@router.get("/projects/{ref}/quality/leaderboard", response_model=ModelLeaderboardRead)
def model_leaderboard_(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    bootstrap: Annotated[int, Query(ge=0, le=2000)] = 200,
) -> ModelLeaderboardRead:
    """Bradley-Terry scores with bootstrap CIs and win rates across model versions."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_PROGRESS)
    if not access.sees_models:
        raise Forbidden("this project hides model names from reviewers")
    board = model_leaderboard(session, project=access.project, n_bootstrap=bootstrap)
    return ModelLeaderboardRead.model_validate(board)


@router.post("/projects/{ref}/suspensions", response_model=SuspensionRead, status_code=201)
def suspend_worker_(
    ref: str, data: SuspensionCreate, user: CurrentUser, session: DbSession
) -> Suspension:
    """Suspend a worker from the project; they read the reason (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    return suspend_worker(
        session, project=access.project, worker_id=data.worker_id, actor=user, reason=data.reason
    )


@router.post("/projects/{ref}/suspensions/{worker_id}/lift", response_model=SuspensionRead)
def lift_suspension_(
    ref: str, worker_id: int, data: SuspensionLift, user: CurrentUser, session: DbSession
) -> Suspension:
    """Lift a worker's suspension (owners and admins)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT)
    return lift_suspension(
        session, project=access.project, worker_id=worker_id, actor=user, note=data.note
    )


@router.get("/me/suspensions", response_model=list[SuspensionRead])
def my_suspensions(user: CurrentUser, session: DbSession) -> list[Suspension]:
    """The caller's suspensions (active and lifted), with the owners' reasons."""
    query = select(Suspension).where(Suspension.worker_id == user.id)
    return list(session.scalars(query.order_by(Suspension.id.desc())))


@router.post("/projects/{ref}/audits/sample", response_model=list[AuditSampleRead])
def sample_audits_(ref: str, user: CurrentUser, session: DbSession) -> list[AuditSampleRead]:
    """Put a sample of unreviewed submissions into the audit queue (reviewers too)."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_ALL_SUBMISSIONS)
    return [
        audit_read(session, s) for s in sample_audits(session, project=access.project, actor=user)
    ]


@router.get("/projects/{ref}/audits", response_model=AuditQueueRead)
def audit_queue_(ref: str, user: CurrentUser, session: DbSession) -> AuditQueueRead:
    """The caller's audit queue, the audit counts and reviewers' agreement."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_ALL_SUBMISSIONS)
    queue = audit_queue(session, project=access.project, reviewer=user)
    return audit_queue_read(session, access.project, queue)
