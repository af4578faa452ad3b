"""Reading items with their candidates, gold answers and submission counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judgeloop.errors import NotFound
from judgeloop.questions.base import ItemContext
from judgeloop.store.models import Candidate, GoldAnswer, Item, ModelVersion, Submission


def get_item(session: Session, item_id: int) -> Item:
    """Return the item with this id, or raise NotFound."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    return item


def list_items(
    session: Session, *, project_id: int, after: int = 0, limit: int = 100
) -> list[Item]:
    """Return up to `limit` items of a project with ids above `after` (keyset paging)."""
    return list(
        session.scalars(
            select(Item)
            .where(Item.project_id == project_id, Item.id > after)
            .order_by(Item.id)
            .limit(max(1, min(limit, 1000)))
        )
    )


def candidates_for(
    session: Session, item_ids: Sequence[int]
) -> dict[int, list[tuple[Candidate, str | None]]]:
    """Return each item's candidates in order, each with its model version's name."""
    out: dict[int, list[tuple[Candidate, str | None]]] = defaultdict(list)
    if not item_ids:
        return out
    rows = session.execute(
        select(Candidate, ModelVersion.name)
        .outerjoin(ModelVersion, ModelVersion.id == Candidate.model_version_id)
        .where(Candidate.item_id.in_(item_ids))
        .order_by(Candidate.item_id, Candidate.position)
    )
    for cand, model in rows:
        out[cand.item_id].append((cand, model))
    return out


def gold_for(session: Session, item_ids: Sequence[int]) -> dict[int, list[GoldAnswer]]:
    """Return the gold answers of these items (owners only: callers must authorize)."""
    out: dict[int, list[GoldAnswer]] = defaultdict(list)
    if item_ids:
        for gold in session.scalars(select(GoldAnswer).where(GoldAnswer.item_id.in_(item_ids))):
            out[gold.item_id].append(gold)
    return out


def submission_counts(session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    """Return how many submissions each item has."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(Submission.item_id, func.count())
        .where(Submission.item_id.in_(item_ids))
        .group_by(Submission.item_id)
    )
    return dict(rows.all())  # not dict(rows): a Result has .keys() (column names)


def item_context(session: Session, item: Item) -> ItemContext:
    """Build what answer validation needs: candidate keys and the texts spans point into."""
    cands = candidates_for(session, [item.id]).get(item.id, [])
    texts = {"prompt": item.prompt}
    texts.update({c.key: c.text for c, _ in cands})
    return ItemContext(candidate_keys=tuple(c.key for c, _ in cands), texts=texts)
