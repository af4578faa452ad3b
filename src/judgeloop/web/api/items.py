"""Items with their candidate answers: ``/projects/{ref}/items`` and ``/items/{id}``.

What an item shows depends on the caller (see ``web.policies``): gold answers and the
``is_gold`` flag only to owners and admins, model names only where the project does not
hide them or to owners and admins, submission counts to those who read all submissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from judgeloop.schemas.items import CandidateRead, ItemPage, ItemRead
from judgeloop.services.items import candidates_for, gold_for, list_items, submission_counts
from judgeloop.store.models import GoldAnswer, Item
from judgeloop.web.deps import CurrentUser, DbSession
from judgeloop.web.policies import Perm, ProjectAccess, item_access, project_access

router = APIRouter(tags=["items"])


@router.get("/projects/{ref}/items", response_model=ItemPage)
def list_items_(
    ref: str,
    user: CurrentUser,
    session: DbSession,
    after: Annotated[int, Query(ge=0, description="Return items with ids above this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ItemPage:
    """Return a page of a project's items, in id order; follow `next_after` for more."""
    access = project_access(session, user=user, ref=ref, perm=Perm.READ_ITEMS)
    items = list_items(session, project_id=access.project.id, after=after, limit=limit)
    next_after = items[-1].id if len(items) == limit else None
    return ItemPage(items=item_reads(session, access, items), next_after=next_after)


@router.get("/items/{item_id}", response_model=ItemRead)
def get_item_(item_id: int, user: CurrentUser, session: DbSession) -> ItemRead:
    """Return one item with its candidate answers."""
    item, access = item_access(session, user=user, item_id=item_id)
    return item_reads(session, access, [item])[0]


def item_reads(session: Session, access: ProjectAccess, items: Sequence[Item]) -> list[ItemRead]:
    """Build the wire form of `items` as the caller may see them.

    Args:
        session: Database session.
        access: The caller's access to the items' project.
        items: Items of that project.

    Returns:
        One ItemRead per item, in the same order.
    """
    ids = [item.id for item in items]
    cands = candidates_for(session, ids)
    gold = gold_for(session, ids) if access.can(Perm.READ_GOLD) else None
    counts = submission_counts(session, ids) if access.can(Perm.READ_ALL_SUBMISSIONS) else None
    show_models = access.sees_models
    out = []
    for item in items:
        out.append(
            ItemRead(
                id=item.id,
                project_id=item.project_id,
                external_id=item.external_id,
                prompt=item.prompt,
                messages=item.messages,
                metadata=item.meta or {},
                candidates=[
                    CandidateRead(key=c.key, text=c.text, model=model if show_models else None)
                    for c, model in cands.get(item.id, [])
                ],
                is_gold=item.is_gold if gold is not None else None,
                gold=_gold_rows(gold.get(item.id, [])) if gold is not None else None,
                submissions=counts.get(item.id, 0) if counts is not None else None,
                created_at=item.created_at,
            )
        )
    return out


def _gold_rows(answers: Sequence[GoldAnswer]) -> list[dict[str, Any]]:
    return [
        {
            "question": a.question_key,
            "candidate": a.candidate_key,
            "value": a.value,
            "explanation": a.explanation,
        }
        for a in answers
    ]
