"""Best-of-n: a new model version whose answer is the one a reward model scores highest.

The n answers to each prompt come from the project's candidates: n samples of one
version (``judgeloop generate --samples n``) or the answers of several versions. The
picks are stored as that new version's generations (one per item, unique like any
generation, so a re-run adds nothing), so rounds, exports and reports use the version
like any other: ``version_answers`` reads any version's answers back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.errors import InvalidInput
from judgeloop.llm.config import canonical_hash, item_messages, prompt_hash
from judgeloop.services.learning import get_reward_model
from judgeloop.services.model_versions import get_model
from judgeloop.store.models import Candidate, Event, Item, ModelVersion, Project, User
from judgeloop.store.models.llm import Generation

PROVIDER = "best_of_n"


@dataclass
class BestOfN:
    """What a best-of-n run picked."""

    version: ModelVersion
    items: int
    added: int
    picked_from: dict[str, int] = field(default_factory=dict)
    mean_margin: float = 0.0


def _pools(
    session: Session, project: Project, version_ids: set[int]
) -> list[tuple[Item, list[Candidate]]]:
    items = session.scalars(
        select(Item).where(Item.project_id == project.id, Item.is_gold.is_(False)).order_by(Item.id)
    ).all()
    by_item: dict[int, list[Candidate]] = {}
    for cand in session.scalars(
        select(Candidate)
        .join(Item, Item.id == Candidate.item_id)
        .where(Item.project_id == project.id, Candidate.model_version_id.in_(version_ids))
        .order_by(Candidate.item_id, Candidate.position)
    ):
        by_item.setdefault(cand.item_id, []).append(cand)
    return [(item, by_item[item.id]) for item in items if len(by_item.get(item.id, [])) >= 2]


def _version(
    session: Session, name: str, params: dict[str, object], parent: ModelVersion
) -> ModelVersion:
    found = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
    if found is not None:
        if found.provider != PROVIDER or found.params != params:
            raise InvalidInput(f"a model version named {name!r} exists and is something else")
        return found
    version = ModelVersion(name=name, provider=PROVIDER, params=params, parent_id=parent.id)
    session.add(version)
    session.flush()
    return version


def best_of_n(
    session: Session,
    *,
    project: Project,
    reward_model: str,
    from_models: Sequence[str],
    name: str | None = None,
    actor: User | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BestOfN:
    """Pick each item's best answer among `from_models`' candidates; store as a version.

    Args:
        session: Database session.
        project: The project whose items hold the candidates.
        reward_model: A registered reward model (``name@vN``).
        from_models: The versions whose answers compete (one with n samples, or several).
        name: The new version's name (default ``best-of-<n>(<first>, <reward model>)``).
        actor: Who asked.
        on_progress: ``(prompts scored, total)``.

    Raises:
        InvalidInput: No item has two or more answers from these versions.
    """
    from judgeloop.learn.rerank import best_of_n_name, load_reward_model, rerank

    rm = get_reward_model(session, reward_model)
    bases = [get_model(session, m).version for m in from_models]
    pools = _pools(session, project, {v.id for v in bases})
    if not pools:
        raise InvalidInput(
            f"no item of {project.slug} has two answers from {', '.join(from_models)}"
        )
    n = max(len(c) for _, c in pools)
    params: dict[str, object] = {"reward_model": rm.name, "from": list(from_models), "n": n}
    version = _version(
        session, name or best_of_n_name(from_models[0], rm.name, n), params, bases[0]
    )
    session.commit()  # no transaction held while the reward model scores
    scorer = load_reward_model(Path(rm.path))
    prompts = [item.prompt for item, _ in pools]
    choices = rerank(
        scorer, prompts, [[c.text for c in cands] for _, cands in pools], on_progress=on_progress
    )
    names = {v.id: v.name for v in bases}
    picked, added = _store_picks(
        session, project, version, canonical_hash(params), pools, choices, names
    )
    session.add(
        Event(
            kind="best_of_n.picked",
            actor_id=actor.id if actor else None,
            project_id=project.id,
            payload={"version": version.name, "items": len(pools), "added": added},
        )
    )
    session.commit()
    margins = [c.margin for c in choices]
    return BestOfN(version, len(pools), added, dict(picked), sum(margins) / len(margins))


def _store_picks(
    session: Session,
    project: Project,
    version: ModelVersion,
    p_hash: str,
    pools: Sequence[tuple[Item, list[Candidate]]],
    choices: Sequence[Any],
    names: Mapping[int, str],
) -> tuple[Counter[str], int]:
    """Store each pick as the version's generation (once); count picks per source."""
    picked: Counter[str] = Counter()
    added = 0
    for (item, cands), choice in zip(pools, choices, strict=True):
        pick = cands[choice.index]
        picked[names.get(pick.model_version_id or -1, "?")] += 1
        key = prompt_hash(item_messages(item.prompt, item.messages))
        exists = session.scalar(
            select(Generation.id).where(
                Generation.model_version_id == version.id,
                Generation.params_hash == p_hash,
                Generation.item_id == item.id,
                Generation.prompt_hash == key,
                Generation.sample_index == 0,
            )
        )
        if exists is None:
            session.add(
                Generation(
                    model_version_id=version.id,
                    project_id=project.id,
                    item_id=item.id,
                    params_hash=p_hash,
                    prompt_hash=key,
                    status="ok",
                    text=pick.text,
                    candidate_id=pick.id,
                )
            )
            added += 1
    return picked, added


def version_answers(
    session: Session, *, versions: Sequence[ModelVersion], prompts: Sequence[str] | None = None
) -> Mapping[tuple[int, str], str]:
    """Every answer the versions gave, as ``(version id, prompt) -> text``.

    Answers come from candidates (imported or generated) and from stored generations
    (best-of-n picks); for a prompt answered several times, the first one found wins.
    """
    ids = [v.id for v in versions]
    wanted = set(prompts) if prompts is not None else None
    out: dict[tuple[int, str], str] = {}
    rows = session.execute(
        select(Candidate.model_version_id, Item.prompt, Candidate.text)
        .join(Item, Item.id == Candidate.item_id)
        .where(Candidate.model_version_id.in_(ids))
        .order_by(Candidate.id)
    )
    gens = session.execute(
        select(Generation.model_version_id, Item.prompt, Generation.text)
        .join(Item, Item.id == Generation.item_id)
        .where(Generation.model_version_id.in_(ids), Generation.status == "ok")
        .order_by(Generation.id)
    )
    for version_id, prompt, text in [*rows, *gens]:
        if text and (wanted is None or prompt in wanted):
            out.setdefault((int(version_id), prompt), text)
    return out
