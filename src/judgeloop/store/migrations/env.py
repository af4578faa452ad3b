"""Alembic environment: runs migrations on the URL (or connection) judgeloop passes in."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

import judgeloop.store.models  # noqa: F401 - registers every table on the metadata
from judgeloop.store.base import Base, UtcDateTime
from judgeloop.store.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run the migrations on the connection given in attributes, or on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _render_item(type_: str, obj: Any, _ctx: AutogenContext) -> str | Literal[False]:
    # UtcDateTime is a Python-side wrapper; the column itself is a plain timezone-aware one.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
