"""Rounds: freeze a project's data, then judge a new model version blind against the last.

Starting round n+1 freezes round n (its items close; its summary is kept), then makes
one A/B item per prompt: the new version's answer and the baseline's, sides drawn at
random per item (seeded, so a re-run gives the same sides), the model names stored on
the candidates but never shown to workers (the project hides model identity). Prompts
come fresh from the owner and from the attacks red-teamers found on the last version.
`round_report` and `leaderboard` (in ``services.round_report``) read the verdicts.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from judgeloop.errors import Conflict, InvalidInput, NotFound, RowError
from judgeloop.export.rows import CandidateDraft, ItemDraft, content_hash
from judgeloop.services.pay_ledger import require_owner
from judgeloop.services.round_report import round_report
from judgeloop.store.base import utcnow
from judgeloop.store.models import Candidate, Event, Item, ModelVersion, Project, User
from judgeloop.store.models.rounds import Round, RoundItem

SOURCES = ("fresh", "red_team")


@dataclass
class RoundPrompt:
    """A prompt for a new round: fresh, or an attack that broke the last version."""

    prompt: str
    source: str = "fresh"
    tag: str = ""
    messages: list[dict[str, str]] | None = None


@dataclass
class RoundStart:
    """What starting a round did."""

    round: Round
    created: int
    duplicates: int
    frozen_previous: int | None = None
    sides: dict[str, int] = field(default_factory=dict)


def list_rounds(session: Session, *, project: Project) -> list[Round]:
    """The project's rounds, oldest first."""
    return list(
        session.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.number))
    )


def get_round(session: Session, *, project: Project, number: int) -> Round:
    """Round `number` of the project, or NotFound."""
    found = session.scalar(
        select(Round).where(Round.project_id == project.id, Round.number == number)
    )
    if found is None:
        raise NotFound(f"project {project.slug} has no round {number}")
    return found


def round_item_ids(session: Session, round_: Round) -> list[int]:
    """Ids of the items this round created."""
    return list(
        session.scalars(
            select(RoundItem.item_id).where(RoundItem.round_id == round_.id).order_by(RoundItem.id)
        )
    )


def freeze_round(session: Session, *, round_: Round, actor: User | None = None) -> Round:
    """Freeze a round: close its items to new work and keep a summary; commits.

    Freezing twice is harmless. Judgments already made stay; leases still running may
    still be submitted (the work was handed out before the freeze) but no new ones start.
    """
    if round_.state == "frozen":
        return round_
    ids = round_item_ids(session, round_)
    for start in range(0, len(ids), 500):
        session.execute(
            update(Item).where(Item.id.in_(ids[start : start + 500])).values(is_open=False)
        )
    report = round_report(session, round_=round_)
    round_.state, round_.frozen_at = "frozen", utcnow()
    round_.summary = report.summary()
    session.add(
        Event(
            kind="round.frozen",
            actor_id=actor.id if actor else None,
            project_id=round_.project_id,
            payload={"round": round_.number, "items": len(ids)},
        )
    )
    session.commit()
    return round_


def _check_prompts(prompts: Sequence[RoundPrompt]) -> None:
    errors = []
    for line, p in enumerate(prompts, start=1):
        if not p.prompt.strip():
            errors.append(RowError(line=line, field="prompt", reason="the prompt is empty"))
        if p.source not in SOURCES:
            errors.append(
                RowError(line=line, field="source", reason=f"source must be one of {SOURCES}")
            )
    if not prompts:
        raise InvalidInput("a round needs at least one prompt")
    if errors:
        raise InvalidInput("some prompts cannot start a round", rows=errors)


def _missing_answers(
    prompts: Sequence[RoundPrompt],
    answers: Mapping[tuple[int, str], str],
    versions: Sequence[ModelVersion],
) -> list[RowError]:
    return [
        RowError(line=line, field="answer", reason=f"no answer from {v.name}")
        for line, p in enumerate(prompts, start=1)
        for v in versions
        if not (answers.get((v.id, p.prompt)) or "").strip()
    ]


def _baseline_for(
    session: Session, model: ModelVersion, previous: Round | None, baseline: ModelVersion | None
) -> ModelVersion:
    if baseline is None and previous is not None and previous.model_version_id is not None:
        baseline = session.get(ModelVersion, previous.model_version_id)
    if baseline is None and model.parent_id is not None:
        baseline = session.get(ModelVersion, model.parent_id)
    if baseline is None:
        raise InvalidInput(f"name the version {model.name} is compared with (no earlier round)")
    if baseline.id == model.id:
        raise InvalidInput("a round compares two different model versions")
    return baseline


def _new_side_first(seed: int, number: int, prompt: str) -> bool:
    """Whether the new version's answer is shown as A for this prompt (a fair coin)."""
    digest = hashlib.sha256(f"{seed}:{number}:{prompt}".encode()).digest()
    return random.Random(digest).random() < 0.5


def start_round(
    session: Session,
    *,
    project: Project,
    actor: User,
    model: ModelVersion,
    prompts: Sequence[RoundPrompt],
    answers: Mapping[tuple[int, str], str],
    baseline: ModelVersion | None = None,
    seed: int = 0,
) -> RoundStart:
    """Freeze the open round and start the next with blind A/B items; commits.

    Args:
        session: Database session.
        project: An A/B project (two candidates per item).
        actor: The project's owner or an admin.
        model: The new model version under test.
        prompts: Fresh prompts and red-team prompts (``source="red_team"``, ``tag`` = the
            weakness category).
        answers: ``(model_version_id, prompt) -> answer`` for the new version and the
            baseline on every prompt (from a generation run, or imported).
        baseline: The version to beat (default: the previous round's version, else the
            new version's parent).
        seed: Seeds the side each answer is shown on.

    Returns:
        The round, how many items it created and how many prompts were already in the
        project with the same answers (not added twice).

    Raises:
        InvalidInput: Empty prompts, unknown sources, a missing answer (with its line), or
            no baseline.
        Forbidden: The actor does not own the project.
    """
    require_owner(session, project=project, actor=actor)
    _check_prompts(prompts)
    previous = session.scalar(
        select(Round).where(Round.project_id == project.id).order_by(Round.number.desc()).limit(1)
    )
    base = _baseline_for(session, model, previous, baseline)
    if missing := _missing_answers(prompts, answers, (model, base)):
        raise InvalidInput("some prompts have no answer from a version", rows=missing)
    frozen = None
    if previous is not None and previous.state == "open":
        freeze_round(session, round_=previous, actor=actor)
        frozen = previous.number
    number = (previous.number if previous else 0) + 1
    round_ = Round(
        project_id=project.id,
        number=number,
        model_version_id=model.id,
        baseline_version_id=base.id,
        actor_id=actor.id,
    )
    session.add(round_)
    session.flush()
    created, duplicates, sides = _create_items(
        session, project, round_, prompts, answers, (model, base), seed
    )
    session.add(
        Event(
            kind="round.started",
            actor_id=actor.id,
            project_id=project.id,
            payload={"round": number, "model": model.name, "baseline": base.name, "items": created},
        )
    )
    session.commit()
    return RoundStart(round_, created, duplicates, frozen, sides)


def _create_items(
    session: Session,
    project: Project,
    round_: Round,
    prompts: Sequence[RoundPrompt],
    answers: Mapping[tuple[int, str], str],
    versions: tuple[ModelVersion, ModelVersion],
    seed: int,
) -> tuple[int, int, dict[str, int]]:
    model, base = versions
    existing = set(session.scalars(select(Item.content_hash).where(Item.project_id == project.id)))
    created = duplicates = 0
    sides = {"new_first": 0, "new_second": 0}
    for p in prompts:
        pair = [(model, answers[(model.id, p.prompt)]), (base, answers[(base.id, p.prompt)])]
        if not _new_side_first(seed, round_.number, p.prompt):
            pair.reverse()
        # Hashed in one fixed order, so the same two answers count as the same item
        # whichever sides they were drawn on.
        canonical = sorted(pair, key=lambda vt: vt[0].name)
        draft = ItemDraft(
            prompt=p.prompt,
            messages=p.messages,
            candidates=[CandidateDraft(key="", text=text, model=v.name) for v, text in canonical],
        )
        digest = content_hash(draft)
        if digest in existing:
            duplicates += 1
            continue
        existing.add(digest)
        sides["new_first" if pair[0][0].id == model.id else "new_second"] += 1
        item = Item(
            project_id=project.id,
            prompt=p.prompt,
            messages=p.messages,
            meta={"round": round_.number, "source": p.source, "tag": p.tag},
            content_hash=digest,
        )
        session.add(item)
        session.flush()
        for position, (version, text) in enumerate(pair):
            session.add(
                Candidate(
                    item_id=item.id,
                    key=chr(ord("A") + position),
                    position=position,
                    text=text,
                    model_version_id=version.id,
                )
            )
        session.add(RoundItem(round_id=round_.id, item_id=item.id, source=p.source, tag=p.tag))
        created += 1
    return created, duplicates, sides


def assert_round_open(session: Session, *, item_id: int) -> None:
    """Raise Conflict when the item belongs to a frozen round (its data is final)."""
    state = session.scalar(
        select(Round.state)
        .join(RoundItem, RoundItem.round_id == Round.id)
        .where(RoundItem.item_id == item_id)
    )
    if state == "frozen":
        raise Conflict(f"item {item_id} belongs to a frozen round; its data is final")


def round_counts(session: Session, round_: Round) -> dict[str, int]:
    """How many items of each source the round holds."""
    rows = session.execute(
        select(RoundItem.source, func.count())
        .where(RoundItem.round_id == round_.id)
        .group_by(RoundItem.source)
    )
    return {source: int(n) for source, n in rows}
