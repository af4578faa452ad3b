"""The few dialect-specific operations, behind one interface chosen by engine name."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_ignoring_conflicts(
    session: Session, table: Table, conflict_columns: Sequence[str]
) -> Insert:
    """Return an INSERT for `table` that skips rows clashing on `conflict_columns`."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=list(conflict_columns)
        )
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    raise NotImplementedError(f"unsupported database dialect: {name}")


def dialect_name(session: Session) -> str:
    """Name of the database dialect behind `session` ('sqlite' or 'postgresql')."""
    return str(session.get_bind().dialect.name)


def lock_skip_locked(session: Session) -> bool:
    """Tell whether SELECT ... FOR UPDATE SKIP LOCKED is available (PostgreSQL).

    SQLite needs none: its writers hold the database lock from BEGIN IMMEDIATE on.
    """
    return dialect_name(session) == "postgresql"
