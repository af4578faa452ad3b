"""Pay over the API: terms, bonuses, adjustments, statements, and the two dashboards.

``/me/earnings`` and ``/me/ledger`` for the worker; per project ``/pay-terms``,
``/bonuses``, ``/adjustments``, ``/statements`` and ``/dashboard`` for its owner;
``/statements/{id}/paid`` and ``/statements/{id}.csv`` to settle and export.
"""

from __future__ import annotations

import io

from fastapi import APIRouter, Response

from judgeloop.errors import NotFound
from judgeloop.schemas.pay import (
    FeedbackRead,
    LedgerEntryRead,
    MoneyRead,
    OwnerDashboardRead,
    OwnerEntryCreate,
    PayTermsRead,
    PayTermsUpdate,
    ProjectQualityRead,
    QualificationHeld,
    StatementCreate,
    StatementPaid,
    StatementRead,
    WorkerDashboardRead,
)
from judgeloop.services.dashboards import Money, owner_dashboard, worker_dashboard
from judgeloop.services.pay import (
    add_adjustment,
    add_bonus,
    current_pay_terms,
    list_entries,
    set_pay_terms,
)
from judgeloop.services.pay_statements import (
    create_statement,
    list_statements,
    mark_statement_paid,
    statement_csv,
)
from judgeloop.services.workforce import get_worker
from judgeloop.store.models import PayoutStatement
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, project_access

router = APIRouter(tags=["pay"])


def money_read(money: Money) -> MoneyRead:
    """The wire form of pending/approved/paid money."""
    return MoneyRead(
        currency=money.currency,
        pending=money.pending,
        approved=money.approved,
        paid=money.paid,
        total=money.total,
    )


@router.get("/me/earnings", response_model=WorkerDashboardRead)
def my_earnings(user: CurrentUser, session: DbSession) -> WorkerDashboardRead:
    """The caller's earnings (pending, approved, paid), quality, feedback, qualifications."""
    board = worker_dashboard(session, worker=user)
    return WorkerDashboardRead(
        earnings=[money_read(m) for m in board.earnings],
        by_project=[(name, money_read(m)) for name, m in board.by_project],
        quality=[
            ProjectQualityRead(**vars(q), gold_accuracy=q.gold_accuracy) for q in board.quality
        ],
        feedback=[FeedbackRead(**f) for f in board.feedback],
        qualifications=[QualificationHeld(**q) for q in board.qualifications],
    )


@router.get("/me/ledger", response_model=list[LedgerEntryRead])
def my_ledger(
    user: CurrentUser, session: DbSession, project: str | None = None, limit: int = 100
) -> list[LedgerEntryRead]:
    """The caller's newest ledger entries, in one project (id or slug) or in all."""
    scope = project_access(session, user=user, ref=project).project if project else None
    entries = list_entries(session, worker=user, project=scope, limit=limit)
    return [LedgerEntryRead.model_validate(e) for e in entries]


@router.get("/projects/{ref}/pay-terms", response_model=PayTermsRead | None)
def get_pay_terms(ref: str, user: CurrentUser, session: DbSession) -> PayTermsRead | None:
    """The project's current pay terms (null when it pays nothing yet)."""
    project = project_access(session, user=user, ref=ref).project
    terms = current_pay_terms(session, project=project)
    return PayTermsRead.model_validate(terms) if terms is not None else None


@router.put("/projects/{ref}/pay-terms", response_model=PayTermsRead)
def put_pay_terms(
    ref: str, data: PayTermsUpdate, user: CurrentUser, session: DbSession
) -> PayTermsRead:
    """Set new pay terms from now on (owners); earlier work keeps the terms it was paid at."""
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    terms = set_pay_terms(
        session,
        project=project,
        actor=user,
        mode=data.mode,
        rate=data.rate,
        currency=data.currency,
        hourly_cap_seconds=data.hourly_cap_seconds,
    )
    return PayTermsRead.model_validate(terms)


def _owner_entry(
    kind: str, ref: str, data: OwnerEntryCreate, user: CurrentUser, session: DbSession
) -> LedgerEntryRead:
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    add = add_bonus if kind == "bonus" else add_adjustment
    entry = add(
        session,
        worker=get_worker(session, data.worker_id),
        project=project,
        amount=data.amount,
        reason=data.reason,
        actor=user,
        idempotency_key=data.idempotency_key,
    )
    return LedgerEntryRead.model_validate(entry)


@router.post("/projects/{ref}/bonuses", response_model=LedgerEntryRead, status_code=201)
def post_bonus(
    ref: str, data: OwnerEntryCreate, user: CurrentUser, session: DbSession
) -> LedgerEntryRead:
    """Pay a worker a bonus (approved at once); a repeated idempotency key adds nothing."""
    return _owner_entry("bonus", ref, data, user, session)


@router.post("/projects/{ref}/adjustments", response_model=LedgerEntryRead, status_code=201)
def post_adjustment(
    ref: str, data: OwnerEntryCreate, user: CurrentUser, session: DbSession
) -> LedgerEntryRead:
    """Correct a worker's approved earnings up or down, with a reason."""
    return _owner_entry("adjustment", ref, data, user, session)


@router.get("/projects/{ref}/dashboard", response_model=OwnerDashboardRead)
def get_owner_dashboard(ref: str, user: CurrentUser, session: DbSession) -> OwnerDashboardRead:
    """Workers, throughput, spend, cost per accepted judgment and projection (owners)."""
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    board = owner_dashboard(session, project=project)
    fields = vars(board) | {"spend": [money_read(m) for m in board.spend]}
    fields.pop("notes", None)
    return OwnerDashboardRead(**fields)


@router.post("/projects/{ref}/statements", response_model=list[StatementRead], status_code=201)
def post_statements(
    ref: str, data: StatementCreate, user: CurrentUser, session: DbSession
) -> list[StatementRead]:
    """Gather the period's approved, unpaid pay into statements (one per worker)."""
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    made = create_statement(
        session,
        period_start=data.period_start,
        period_end=data.period_end,
        project=project,
        actor=user,
    )
    return [StatementRead.model_validate(s) for s in made]


@router.get("/projects/{ref}/statements", response_model=list[StatementRead])
def get_statements(
    ref: str, user: CurrentUser, session: DbSession, state: str | None = None
) -> list[StatementRead]:
    """The project's statements, newest first (owners)."""
    project = project_access(session, user=user, ref=ref, perm=Perm.UPDATE_PROJECT).project
    found = list_statements(session, project=project, state=state)
    return [StatementRead.model_validate(s) for s in found]


def _owned_statement(session: DbSession, user: CurrentUser, statement_id: int) -> PayoutStatement:
    statement = session.get(PayoutStatement, statement_id)
    if statement is None:
        raise NotFound(f"no statement {statement_id}")
    if statement.project_id is not None:
        project_access(session, user=user, ref=statement.project_id, perm=Perm.UPDATE_PROJECT)
    elif user.role != "admin":
        raise NotFound(f"no statement {statement_id}")
    return statement


@router.get("/statements/{statement_id}.csv")
def get_statement_csv(statement_id: int, user: CurrentUser, session: DbSession) -> Response:
    """One statement as CSV, for the payroll system."""
    statement = _owned_statement(session, user, statement_id)
    out = io.StringIO()
    statement_csv(session, statements=[statement], out=out)
    headers = {"Content-Disposition": f'attachment; filename="statement-{statement_id}.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/statements/{statement_id}/paid", response_model=StatementRead)
def post_statement_paid(
    statement_id: int, data: StatementPaid, user: CurrentUser, session: DbSession
) -> StatementRead:
    """Record the statement as paid; the same reference again changes nothing."""
    _owned_statement(session, user, statement_id)
    statement = mark_statement_paid(
        session, statement_id=statement_id, reference=data.reference, actor=user
    )
    return StatementRead.model_validate(statement)
