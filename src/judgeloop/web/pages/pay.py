"""Pay in the browser: a worker's earnings and quality, and a project's pay and spend.

- ``GET /account/earnings``: the signed-in user's own money (pending, approved, paid),
  per project, their newest ledger entries, their quality per project (never which gold
  answer was expected), review feedback and qualifications.
- ``GET /projects/{slug}/pay``: for owners and admins, the project's dashboard (workers,
  pace, spend, projection), its pay terms, bonuses and adjustments, and payout
  statements. Every form posts back here (post/redirect/get); a wrong field re-renders
  the page with 422 and keeps what was typed.
- ``GET /projects/{slug}/pay/statements/{id}.csv``: one statement for the payroll system.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from judgeloop.errors import Conflict, InvalidInput, NotFound
from judgeloop.services.dashboards import owner_dashboard, worker_dashboard
from judgeloop.services.pay import add_adjustment, add_bonus, current_pay_terms, set_pay_terms
from judgeloop.services.pay_statements import (
    create_statement,
    list_statements,
    mark_statement_paid,
    statement_csv,
)
from judgeloop.store.base import utcnow
from judgeloop.store.models import PayoutStatement, Project, ProjectMember, User
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.pages.pay_forms import (
    DAILY_DAYS,
    ENTRY_KINDS,
    MODE_LABELS,
    EntryForm,
    PaidForm,
    PeriodForm,
    TermsForm,
    daily_bars,
    entry_key,
    entry_problems,
    money,
    period_label,
    period_problems,
    terms_form_of,
    terms_problems,
)
from judgeloop.web.pages.templating import page_router, render_page
from judgeloop.web.policies import Perm, ProjectAccess, project_access

router = page_router()

STATE_HELP = {
    "pending": "Earned, waiting for a reviewer to accept the work.",
    "approved": "Accepted and owed to you; it goes on the next payout statement.",
    "paid": "On a statement the project's owner has marked paid.",
}
NOTICES = {
    "terms": "The new pay terms apply to work submitted from now on.",
    "entry": "Saved: the worker sees it in their earnings now.",
    "statements": "Statements made: download each one's CSV, pay it, then mark it paid.",
    "nothing": "Nothing is owed for that period: no statement was made.",
    "paid": "The statement is marked paid; the worker sees the money as paid.",
}


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Project.id, Project.name).where(Project.id.in_(ids))).all())


@router.get("/account/earnings")
def earnings_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Show the user's own earnings, ledger lines, quality, feedback and qualifications."""
    board = worker_dashboard(session, worker=user)
    context = {
        "board": board,
        "projects": _names(session, {e.project_id for e in board.entries}),
        "state_help": STATE_HELP,
        "money": money,
    }
    return render_page(request, "pages/earnings.html", context, user=user)


def _owner(session: Session, user: User, slug: str) -> ProjectAccess:
    return project_access(session, user=user, ref=slug, perm=Perm.UPDATE_PROJECT)


def _members(session: Session, project: Project) -> list[str]:
    query = (
        select(User.email)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project.id)
        .order_by(User.email)
    )
    return list(session.scalars(query))


def _member(session: Session, project: Project, email: str) -> User | None:
    return session.scalar(
        select(User)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(ProjectMember.project_id == project.id, func.lower(User.email) == email.lower())
    )


def _statements(session: Session, project: Project) -> list[dict[str, Any]]:
    found = list_statements(session, project=project)
    ids = {s.worker_id for s in found}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
    return [
        {"s": s, "email": emails.get(s.worker_id, "?"), "period": period_label(s)} for s in found
    ]


def _fresh_forms(terms_form: TermsForm) -> dict[str, Any]:
    today = utcnow().date()
    return {
        "terms": terms_form,
        "entry": EntryForm(idempotency_key=uuid.uuid4().hex),
        "period": PeriodForm(
            period_start=(today - timedelta(days=30)).isoformat(), period_end=today.isoformat()
        ),
    }


def _render_owner(
    request: Request,
    session: Session,
    access: ProjectAccess,
    *,
    forms: dict[str, Any] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    paid: dict[int, tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    """Render the owner's pay page; `forms`/`errors` replace the defaults of failed forms."""
    project = access.project
    terms = current_pay_terms(session, project=project)
    board = owner_dashboard(session, project=project)
    context = {
        "project": project,
        "board": board,
        "daily": daily_bars(board.daily, utcnow().date(), DAILY_DAYS),
        "terms": terms,
        "modes": MODE_LABELS,
        "kinds": ENTRY_KINDS,
        "members": _members(session, project),
        "statements": _statements(session, project),
        "forms": {**_fresh_forms(terms_form_of(terms)), **(forms or {})},
        "errors": {"terms": {}, "entry": {}, "period": {}, **(errors or {})},
        "paid": paid or {},
        "notice": NOTICES.get(request.query_params.get("saved", ""), ""),
        "money": money,
    }
    return render_page(
        request, "pages/project_pay.html", context, user=access.user, status_code=status_code
    )


def _back(slug: str, saved: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/projects/{slug}/pay?saved={saved}#{anchor}", status_code=303)


@router.get("/projects/{slug}/pay")
def project_pay_page(
    request: Request, slug: str, session: DbSession, user: CurrentUser
) -> Response:
    """Show the project's dashboard, pay terms, bonus form and statements (owners)."""
    return _render_owner(request, session, _owner(session, user, slug))


@router.post("/projects/{slug}/pay/terms")
def set_terms(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[TermsForm, Form()],
) -> Response:
    """Set new pay terms from now on, or show the form again with what is wrong."""
    access = _owner(session, user, slug)
    values, errors = terms_problems(form)
    if not errors:
        try:
            set_pay_terms(session, project=access.project, actor=user, **values)
        except InvalidInput as exc:
            session.rollback()
            errors = {"form": exc.message}
    if errors:
        return _render_owner(
            request,
            session,
            access,
            forms={"terms": form},
            errors={"terms": errors},
            status_code=422,
        )
    return _back(slug, "terms", "terms-title")


@router.post("/projects/{slug}/pay/entries")
def add_entry(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[EntryForm, Form()],
) -> Response:
    """Pay a member a bonus, or adjust their approved pay, with a reason."""
    access = _owner(session, user, slug)
    worker = _member(session, access.project, form.worker_email.strip())
    amount, errors = entry_problems(form, worker is not None)
    if not errors and worker is not None and amount is not None:
        write = add_bonus if form.kind == "bonus" else add_adjustment
        try:
            write(
                session,
                worker=worker,
                project=access.project,
                amount=amount,
                reason=form.reason,
                actor=user,
                idempotency_key=entry_key(form),
            )
        except (InvalidInput, Conflict) as exc:
            session.rollback()
            errors = {"amount" if isinstance(exc, InvalidInput) else "form": exc.message}
    if errors:
        return _render_owner(
            request,
            session,
            access,
            forms={"entry": form},
            errors={"entry": errors},
            status_code=422,
        )
    return _back(slug, "entry", "entry-title")


@router.post("/projects/{slug}/pay/statements")
def make_statements(
    request: Request,
    slug: str,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[PeriodForm, Form()],
) -> Response:
    """Gather the period's approved, unpaid pay into statements, one per worker."""
    access = _owner(session, user, slug)
    period, errors = period_problems(form)
    if errors or period is None:
        return _render_owner(
            request,
            session,
            access,
            forms={"period": form},
            errors={"period": errors},
            status_code=422,
        )
    start, end = period
    made = create_statement(
        session, period_start=start, period_end=end, project=access.project, actor=user
    )
    return _back(slug, "statements" if made else "nothing", "statements-title")


def _statement(session: Session, project: Project, statement_id: int) -> PayoutStatement:
    statement = session.get(PayoutStatement, statement_id)
    if statement is None or statement.project_id != project.id:
        raise NotFound(f"no statement {statement_id} in {project.slug}")
    return statement


@router.post("/projects/{slug}/pay/statements/{statement_id}/paid")
def mark_paid(
    request: Request,
    slug: str,
    statement_id: int,
    session: DbSession,
    user: CurrentUser,
    form: Annotated[PaidForm, Form()],
) -> Response:
    """Record that a statement was paid, with the payment's reference."""
    access = _owner(session, user, slug)
    _statement(session, access.project, statement_id)
    reference = form.reference.strip()
    error, status_code = "", 422
    if not reference:
        error = "Give the payment's reference (a transfer id or payroll batch)."
    elif len(reference) > 500:
        error = "The reference may have at most 500 characters."
    else:
        try:
            mark_statement_paid(session, statement_id=statement_id, reference=reference, actor=user)
        except (InvalidInput, Conflict) as exc:
            session.rollback()
            error, status_code = exc.message, 409 if isinstance(exc, Conflict) else 422
    if error:
        paid = {statement_id: (form.reference, error)}
        return _render_owner(request, session, access, paid=paid, status_code=status_code)
    return _back(slug, "paid", f"statement-{statement_id}")


@router.get("/projects/{slug}/pay/statements/{statement_id}.csv")
def statement_csv_page(
    slug: str, statement_id: int, session: DbSession, user: CurrentUser
) -> Response:
    """Download one of the project's statements as CSV (owners)."""
    access = _owner(session, user, slug)
    statement = _statement(session, access.project, statement_id)
    out = io.StringIO()
    statement_csv(session, statements=[statement], out=out)
    name = f"{access.project.slug}-statement-{statement_id}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
