"""Code runs: a candidate's code run against its item's tests in the sandbox.

One `CodeRun` is one sandboxed run of one candidate of one item. `result` holds the whole
`judgeloop.sandbox.RunResult` as JSON (each case, the output, the mode); the columns
beside it repeat what lists and filters need. `code_sha256` and `tests_sha256` say what
ran, so a run of unchanged code against unchanged tests is reused instead of repeated.
Runs are not gold: every member who may read the item may read its runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from judgeloop.store.base import Base, IdMixin, TimestampMixin


class CodeRun(IdMixin, TimestampMixin, Base):
    """One sandboxed run of one candidate's code against the item's tests."""

    __tablename__ = "code_runs"
    __table_args__ = (
        Index("ix_code_runs_item_id_candidate_key", "item_id", "candidate_key"),
        Index("ix_code_runs_project_id_id", "project_id", "id"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    candidate_key: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    """The sandbox's exit reason: ok, failed, timeout, memory, output_limit, crashed, blocked."""
    passed: Mapped[bool] = mapped_column(default=False)
    n_passed: Mapped[int] = mapped_column(default=0)
    n_cases: Mapped[int] = mapped_column(default=0)
    duration_s: Mapped[float] = mapped_column(default=0.0)
    mode: Mapped[str] = mapped_column(String(20), default="")
    code_sha256: Mapped[str] = mapped_column(String(64))
    tests_sha256: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
