"""`judgeloop pay terms|bonus|adjust|balance|statement|mark-paid|reconcile`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from judgeloop.cli.context import (
    acting_user,
    console,
    err_console,
    open_session,
    reports_errors,
    state,
)
from judgeloop.errors import InvalidInput
from judgeloop.services import pay
from judgeloop.services.accounts import get_user_by_email
from judgeloop.services.projects import get_project
from judgeloop.store.models import User

app = typer.Typer(
    help="Pay: terms, bonuses, balances, payout statements, reconcile.", no_args_is_help=True
)
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this user (default: first admin).")
]
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"not an amount: {text!r}") from None


@app.command("terms")
@reports_errors
def terms_cli(
    ctx: typer.Context,
    project: str,
    mode: Annotated[str, typer.Option(help="per_task, per_accepted or hourly.")],
    rate: Annotated[str, typer.Option(help="Per task, per accepted submission, or per hour.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "USD",
    cap_minutes: Annotated[
        float | None, typer.Option(help="Hourly: the most active minutes paid per task.")
    ] = None,
    as_user: AsOption = None,
) -> None:
    """Set what a project pays from now on (new terms; earlier work keeps its terms)."""
    cap = round(cap_minutes * 60) if cap_minutes is not None else None
    with open_session(state(ctx).settings()) as session:
        proj = get_project(session, project)
        terms = pay.set_pay_terms(
            session,
            project=proj,
            actor=acting_user(session, as_user),
            mode=mode,
            rate=_amount(rate),
            currency=currency,
            hourly_cap_seconds=cap,
        )
    capped = f", capped at {cap} s per task" if cap is not None and mode == "hourly" else ""
    console.print(f"{proj.slug} pays {terms.rate} {terms.currency} {mode}{capped}")


def _owner_entry_cli(
    ctx: typer.Context,
    kind: str,
    email: str,
    project: str,
    amount: str,
    reason: str,
    who: str | None,
) -> None:
    add = pay.add_bonus if kind == "bonus" else pay.add_adjustment
    with open_session(state(ctx).settings()) as session:
        entry = add(
            session,
            worker=get_user_by_email(session, email),
            project=get_project(session, project),
            amount=_amount(amount),
            reason=reason,
            actor=acting_user(session, who),
        )
    console.print(f"{kind} of {entry.amount} {entry.currency} for {email} (entry {entry.id})")


@app.command("bonus")
@reports_errors
def bonus_cli(
    ctx: typer.Context,
    email: str,
    project: str,
    amount: str,
    reason: Annotated[str, typer.Option(help="Why (the worker sees it).")],
    as_user: AsOption = None,
) -> None:
    """Pay a worker a bonus in a project (approved at once)."""
    _owner_entry_cli(ctx, "bonus", email, project, amount, reason, as_user)


@app.command("adjust")
@reports_errors
def adjust_cli(
    ctx: typer.Context,
    email: str,
    project: str,
    amount: Annotated[
        str, typer.Argument(help="Signed amount; put -- before a negative one: -- -1.50.")
    ],
    reason: Annotated[str, typer.Option(help="Why (the worker sees it).")],
    as_user: AsOption = None,
) -> None:
    """Correct a worker's approved pay up or down (never below what is unpaid)."""
    _owner_entry_cli(ctx, "adjustment", email, project, amount, reason, as_user)


@app.command("balance")
@reports_errors
def balance_cli(
    ctx: typer.Context,
    email: str,
    project: Annotated[str | None, typer.Option(help="Only this project.")] = None,
    currency: Annotated[str | None, typer.Option(help="Needed with several currencies.")] = None,
) -> None:
    """Show a worker's pending, approved and paid money."""
    with open_session(state(ctx).settings()) as session:
        worker = get_user_by_email(session, email)
        proj = get_project(session, project) if project else None
        money = pay.balances(session, worker=worker, project=proj, currency=currency)
    for bucket, amount in money.items():
        console.print(f"{bucket:>9}: {amount}", highlight=False)


@app.command("statement")
@reports_errors
def statement_cli(
    ctx: typer.Context,
    start: Annotated[datetime, typer.Option("--from", formats=DATE_FORMATS, help="UTC.")],
    end: Annotated[datetime, typer.Option("--to", formats=DATE_FORMATS, help="UTC, exclusive.")],
    out: Annotated[Path, typer.Option(help="CSV file to write.")],
    worker: Annotated[str | None, typer.Option(help="Only this worker (email).")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project's pay.")] = None,
    as_user: AsOption = None,
) -> None:
    """Gather approved, unpaid pay into payout statements and write them as CSV."""
    with open_session(state(ctx).settings()) as session:
        statements = pay.create_statement(
            session,
            period_start=start,
            period_end=end,
            worker=get_user_by_email(session, worker) if worker else None,
            project=get_project(session, project) if project else None,
            actor=acting_user(session, as_user),
        )
        pay.statement_csv(session, statements=statements, out=out)
    totals: dict[str, Decimal] = {}
    for s in statements:
        totals[s.currency] = totals.get(s.currency, Decimal(0)) + s.total
    summary = ", ".join(f"{total} {code}" for code, total in sorted(totals.items())) or "nothing"
    console.print(f"{len(statements)} statements ({summary}) written to {out}", highlight=False)


@app.command("mark-paid")
@reports_errors
def mark_paid_cli(
    ctx: typer.Context,
    statement_id: int,
    reference: Annotated[str, typer.Option(help="The payment's reference.")],
    as_user: AsOption = None,
) -> None:
    """Record that a statement was paid (moves its money from approved to paid)."""
    with open_session(state(ctx).settings()) as session:
        statement = pay.mark_statement_paid(
            session,
            statement_id=statement_id,
            reference=reference,
            actor=acting_user(session, as_user),
        )
    console.print(f"statement {statement.id}: {statement.total} {statement.currency} paid")


@app.command("reconcile")
@reports_errors
def reconcile_cli(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Argument(help="Only this project.")] = None,
) -> None:
    """Prove the ledger matches submissions, reviews and rates; exit 1 when it does not."""
    with open_session(state(ctx).settings()) as session:
        proj = get_project(session, project) if project else None
        report = pay.reconcile(session, project=proj)
        ids = {d.worker_id for d in report.differences if d.worker_id is not None}
        emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
    checked = (
        f"{report.submissions} submissions, {report.entries} entries, "
        f"{report.statements} statements checked"
    )
    if report.ok:
        console.print(f"ledger reconciles ({checked})", highlight=False)
        return
    table = Table("check", "worker", "project", "submission", "expected", "actual", "detail")
    for d in report.differences:
        table.add_row(
            d.check,
            emails.get(d.worker_id or 0, ""),
            str(d.project_id or ""),
            str(d.submission_id or ""),
            "" if d.expected is None else str(d.expected),
            "" if d.actual is None else str(d.actual),
            d.detail,
        )
    err_console.print(table)
    n = len(report.differences)
    err_console.print(f"[red bold]ledger does NOT reconcile: {n} differences[/] ({checked})")
    raise typer.Exit(1)
