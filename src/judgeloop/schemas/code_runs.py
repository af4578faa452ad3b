"""Wire models for sandboxed test runs of candidate code (``/items/{id}/code-runs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CodeRunRead(BaseModel):
    """One stored run of one candidate's code; `result` is the sandbox's whole RunResult."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    candidate_key: str
    status: str = Field(
        description="The sandbox's exit reason: ok, failed, timeout, memory, output_limit, "
        "crashed or blocked."
    )
    passed: bool
    n_passed: int
    n_cases: int
    duration_s: float
    mode: str = Field(description="The isolation mode that ran it: bwrap, unshare, rlimits-only.")
    code_sha256: str
    tests_sha256: str
    created_at: datetime
    result: dict[str, Any] = Field(
        description="judgeloop.sandbox.RunResult as JSON: cases, stdout, stderr, events, limits."
    )


class CodeRunList(BaseModel):
    """The current run of each candidate of an item, and the candidates not run yet."""

    item_id: int
    runs: list[CodeRunRead]
    not_run: list[str] = Field(
        description="Candidate keys with no run of their current code and tests."
    )


class CodeRunCreate(BaseModel):
    """What to run: every candidate, or the ones named; `force` runs unchanged code again."""

    model_config = ConfigDict(extra="forbid")

    candidates: list[str] | None = Field(None, description="Candidate keys (default: all).")
    force: bool = Field(False, description="Run again even when a run of this code exists.")
