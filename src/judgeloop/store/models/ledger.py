"""Pay: a project's pay terms, the append-only ledger, and payout statements.

Money is stored as integer micro-units (1e-6 of the currency unit) in BigInteger columns,
never as floats (SQLite stores NUMERIC as a float), and becomes `decimal.Decimal` at the
boundary through `to_micros` / `from_micros`.

Every ledger row is a signed delta to one *bucket* (``pending``, ``approved``, ``paid``),
so a worker's balance in a bucket is a plain ``SUM(amount_micros)``. A move between
buckets (approval, payout) is two rows. Rows are never updated or deleted: the mapper
events below refuse it in the ORM, and migration 0003 adds database triggers that refuse
it in SQL.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from judgeloop.errors import Conflict, InvalidInput
from judgeloop.store.base import Base, IdMixin, TimestampMixin, utcnow

MICROS = 1_000_000
PAY_MODES = ("per_task", "per_accepted", "hourly")
BUCKETS = ("pending", "approved", "paid")
ENTRY_KINDS = (
    "task",  # earned by a submission (per_task, per_accepted)
    "hourly",  # earned by a submission's active time (hourly)
    "approval",  # a pair: pending -> approved when a submission is accepted
    "reinstatement",  # earnings credited again when a rejected submission is accepted
    "reversal",  # earnings taken back when a submission is rejected
    "bonus",
    "adjustment",
    "payout",  # a pair per (statement, project): approved -> paid
)
ENTRY_SOURCES = ("submission", "review", "owner", "statement")
STATEMENT_STATES = ("open", "paid")


class AppendOnlyError(Conflict):
    """Someone tried to change or delete a row of an append-only pay table."""

    code = "append_only"


def to_micros(amount: Decimal | int | str) -> int:
    """Convert an exact amount to integer micro-units; refuse anything finer than 1e-6.

    Raises:
        InvalidInput: Not a finite number, or more than six decimal places.
    """
    try:
        value = Decimal(amount)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"not an amount: {amount!r}")
    micros = value * MICROS
    if micros != micros.to_integral_value():
        raise InvalidInput(f"{amount} has more than 6 decimal places")
    return int(micros)


def from_micros(micros: int) -> Decimal:
    """Convert micro-units back to an exact Decimal with six decimal places."""
    return Decimal(int(micros)).scaleb(-6)


class PayTerms(IdMixin, TimestampMixin, Base):
    """What a project pays; a change is a new row, and the latest effective row wins."""

    __tablename__ = "pay_terms"
    __table_args__ = (
        Index("ix_pay_terms_project_id_effective_from", "project_id", "effective_from"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    mode: Mapped[str] = mapped_column(String(20))
    rate_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    hourly_cap_seconds_per_task: Mapped[int | None] = mapped_column(Integer, default=None)
    effective_from: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    @property
    def rate(self) -> Decimal:
        """The rate: per task, per accepted submission, or per hour of active time."""
        return from_micros(self.rate_micros)


class LedgerEntry(IdMixin, TimestampMixin, Base):
    """One signed amount added to one bucket of a worker's earnings; never edited.

    `idempotency_key` is unique: the writer derives it from what caused the entry
    (``submission:<id>:earn``, ``statement:<id>:project:<id>:paid`` ...), so a replayed
    submit, review or payout collides with the row it already wrote instead of paying twice.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_worker_id_status", "worker_id", "status"),
        Index("ix_ledger_entries_project_id_worker_id", "project_id", "worker_id"),
    )

    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id"), default=None, index=True
    )
    terms_id: Mapped[int | None] = mapped_column(ForeignKey("pay_terms.id"), default=None)
    statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("payout_statements.id"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    @property
    def amount(self) -> Decimal:
        """The signed amount as an exact Decimal."""
        return from_micros(self.amount_micros)


class PayoutStatement(IdMixin, TimestampMixin, Base):
    """What one worker is paid for a period, in one currency; open until marked paid."""

    __tablename__ = "payout_statements"
    __table_args__ = (Index("ix_payout_statements_worker_id_state", "worker_id", "state"),)

    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), default=None)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    total_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(10), default="open")
    paid_at: Mapped[datetime | None] = mapped_column(default=None)
    reference: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)

    @property
    def total(self) -> Decimal:
        """The statement's total as an exact Decimal."""
        return from_micros(self.total_micros)


class PayoutStatementEntry(IdMixin, Base):
    """An approved ledger entry gathered onto a statement; an entry is on one statement."""

    __tablename__ = "payout_statement_entries"

    statement_id: Mapped[int] = mapped_column(ForeignKey("payout_statements.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)


APPEND_ONLY = (PayTerms, LedgerEntry, PayoutStatementEntry)
APPEND_ONLY_TABLES = frozenset(cls.__tablename__ for cls in APPEND_ONLY)


def _refuse_change(_mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    raise AppendOnlyError(
        f"{type(target).__tablename__} rows are append-only: record a new entry instead"
    )


for _cls in APPEND_ONLY:
    event.listen(_cls, "before_update", _refuse_change)
    event.listen(_cls, "before_delete", _refuse_change)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    """Refuse ORM bulk UPDATE/DELETE statements on the append-only tables."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in APPEND_ONLY_TABLES:
        raise AppendOnlyError(f"{table.name} rows are append-only: record a new entry instead")  # type: ignore[union-attr]
