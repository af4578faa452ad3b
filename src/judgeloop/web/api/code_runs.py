"""Sandboxed test runs of an item's candidates: ``/items/{id}/code-runs``.

Every member who may read the item may read and start its runs (owners, reviewers and
workers alike): a run shows what the code did against the tests, never a gold answer.
Starting a run blocks until it ends (a HumanEval run takes a few tens of milliseconds;
each candidate at most the time limit of the project's code_run question); it answers
503 when no sandbox can run on the server or every sandbox slot stays busy.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput, RowError
from judgeloop.sandbox import SandboxUnavailable
from judgeloop.schemas.code_runs import CodeRunCreate, CodeRunList, CodeRunRead
from judgeloop.services.code_runs import SandboxBusy, request_slot, run_item, runs_for_item
from judgeloop.services.items import candidates_for
from judgeloop.store.models import CodeRun, Item
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.errors import error_body
from judgeloop.web.policies import item_access

router = APIRouter(tags=["code runs"])

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "No sandbox can run here, or every slot is busy."}
}


def code_run_list(session: Session, item: Item, runs: dict[str, CodeRun]) -> CodeRunList:
    """The wire form of an item's current runs, in candidate order, with the missing keys."""
    keys = [c.key for c, _ in candidates_for(session, [item.id]).get(item.id, [])]
    return CodeRunList(
        item_id=item.id,
        runs=[CodeRunRead.model_validate(runs[k]) for k in keys if k in runs],
        not_run=[k for k in keys if k not in runs],
    )


@router.get("/items/{item_id}/code-runs", response_model=CodeRunList)
def list_code_runs(item_id: int, user: CurrentUser, session: DbSession) -> CodeRunList:
    """Return the current test run of each candidate of the item (none run nothing)."""
    item, _ = item_access(session, user=user, item_id=item_id)
    return code_run_list(session, item, runs_for_item(session, item.id))


@router.post("/items/{item_id}/code-runs", response_model=CodeRunList, responses=UNAVAILABLE)
def run_code(
    item_id: int, user: CurrentUser, session: DbSession, data: CodeRunCreate | None = None
) -> CodeRunList | JSONResponse:
    """Run the candidates' code against the item's tests in the sandbox; return the runs.

    Unchanged code against unchanged tests reuses the stored run unless `force` is set.
    """
    item, _ = item_access(session, user=user, item_id=item_id)
    data = data or CodeRunCreate()
    keys = [c.key for c, _ in candidates_for(session, [item.id]).get(item.id, [])]
    unknown = sorted(set(data.candidates or ()) - set(keys))
    if unknown:
        reason = f"no candidate {unknown[0]!r} in this item (it has {', '.join(keys) or 'none'})"
        raise InvalidInput("unknown candidate", [RowError(0, "candidates", reason)])
    session.commit()  # hold no transaction while waiting for a sandbox slot
    try:
        with request_slot():
            runs = run_item(session, item=item, force=data.force, candidate_keys=data.candidates)
    except (SandboxUnavailable, SandboxBusy) as exc:
        return JSONResponse(error_body(exc.code, exc.message), status_code=503)
    return code_run_list(session, item, runs)
