"""A project's judgments as training records: preferences, SFT targets, KTO, rubric, labels.

Reads only. Each record carries the quality of the evidence behind it (agreement among
the votes, the stored consensus confidence when the project was aggregated, the lowest
reliability among its workers, whether the item was flagged, its round and guideline
versions) so that ``export.training.filter_records`` can keep what a team trusts.
Rejected submissions never count.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.export.training import (
    KTORecord,
    LabelRecord,
    PreferenceRecord,
    RubricRecord,
    SFTRecord,
    TrainingRecord,
)
from judgeloop.questions.base import QuestionSpec
from judgeloop.store.models import (
    Candidate,
    ConsensusResult,
    Flag,
    Item,
    Judgment,
    ModelVersion,
    Project,
    Submission,
    WorkerReliability,
)
from judgeloop.store.models.rounds import Round, RoundItem

GOOD_RATING = 0.75
"""A rating in the top quarter of its scale makes a desirable KTO example."""
BAD_RATING = 0.25
EVIDENCE_BATCH = 500


@dataclass
class _Vote:
    worker_id: int
    guideline: int
    value: Any
    candidate: str
    explanation: str


@dataclass
class _ItemEvidence:
    item: Item
    texts: dict[str, str]
    models: dict[str, str | None]
    votes: dict[str, list[_Vote]] = field(default_factory=lambda: defaultdict(list))
    round: int | None = None
    flagged: bool = False


def _questions(project: Project) -> dict[str, QuestionSpec]:
    return {q["key"]: QuestionSpec.model_validate(q) for q in project.questions}


def _evidence(
    session: Session, project: Project, round_number: int | None
) -> Iterator[_ItemEvidence]:
    """Yield each judged item with its candidates, votes, round and flag, in id order."""
    rounds = dict(
        session.execute(
            select(RoundItem.item_id, Round.number)
            .join(Round, Round.id == RoundItem.round_id)
            .where(Round.project_id == project.id)
        ).all()
    )
    flagged = set(
        session.scalars(
            select(Flag.item_id).where(Flag.project_id == project.id, Flag.resolved.is_(False))
        )
    )
    names = dict(session.execute(select(ModelVersion.id, ModelVersion.name)).all())
    query = select(Item).where(Item.project_id == project.id, Item.is_gold.is_(False))
    items = [
        item
        for item in session.scalars(query.order_by(Item.id))
        if round_number is None or rounds.get(item.id) == round_number
    ]
    # Candidates and votes are read for a batch of items at a time, not per item.
    for start in range(0, len(items), EVIDENCE_BATCH):
        batch = {item.id: item for item in items[start : start + EVIDENCE_BATCH]}
        evidence = {
            item_id: _ItemEvidence(
                item=item,
                texts={},
                models={},
                round=rounds.get(item_id),
                flagged=item_id in flagged,
            )
            for item_id, item in batch.items()
        }
        for cand in session.scalars(select(Candidate).where(Candidate.item_id.in_(batch))):
            evidence[cand.item_id].texts[cand.key] = cand.text
            evidence[cand.item_id].models[cand.key] = names.get(cand.model_version_id or -1)
        rows = session.execute(
            select(Submission.item_id, Submission.worker_id, Submission.guideline_version, Judgment)
            .join(Judgment, Judgment.submission_id == Submission.id)
            .where(Submission.item_id.in_(batch), Submission.state != "rejected")
            .order_by(Judgment.id)
        )
        for item_id, worker_id, guideline, j in rows:
            vote = _Vote(worker_id, guideline, j.value, j.candidate_key, j.explanation)
            evidence[item_id].votes[j.question_key].append(vote)
        yield from (ev for ev in evidence.values() if ev.votes)


def _reliability(session: Session, project: Project) -> dict[int, float]:
    rows = session.execute(
        select(
            WorkerReliability.worker_id, WorkerReliability.weight, WorkerReliability.agreement
        ).where(WorkerReliability.project_id == project.id)
    )
    out: dict[int, float] = {}
    for worker_id, weight, agreement in rows:
        known = weight if weight is not None else agreement
        if known is not None:
            out[worker_id] = float(known)
    return out


def _consensus(session: Session, project: Project) -> dict[tuple[int, str, str], ConsensusResult]:
    rows = session.scalars(select(ConsensusResult).where(ConsensusResult.project_id == project.id))
    return {(r.item_id, r.question_key, r.candidate_key): r for r in rows}


def _base(
    ev: _ItemEvidence, votes: Sequence[_Vote], reliability: dict[int, float]
) -> dict[str, Any]:
    known = [reliability[v.worker_id] for v in votes if v.worker_id in reliability]
    return {
        "item_id": ev.item.id,
        "prompt": ev.item.prompt or _conversation_text(ev.item.messages),
        "messages": ev.item.messages,
        "worker_reliability": min(known) if known else None,
        "flagged": ev.flagged,
        "round": ev.round,
        "guideline_versions": tuple(sorted({v.guideline for v in votes})),
    }


def _conversation_text(messages: Any) -> str:
    """A conversation as text, for items that have messages and no prompt (the split key)."""
    turns = messages if isinstance(messages, list) else []
    return "\n\n".join(
        f"{m.get('role', 'user')}: {m.get('content', '')}" for m in turns if isinstance(m, dict)
    )


def _winner(value: Any) -> str | None:
    winner = value.get("winner") if isinstance(value, dict) else value
    return winner if isinstance(winner, str) else None


def _strength(value: Any) -> float:
    strength = value.get("strength") if isinstance(value, dict) else None
    return float(strength) if isinstance(strength, int | float) else 1.0


def preference_records(
    session: Session, *, project: Project, round_number: int | None = None
) -> list[PreferenceRecord]:
    """One record per A/B item with a decided preference (ties and 3+ answers left out).

    The winner is the stored consensus when the project was aggregated, else the
    majority of the votes. ``agreement`` is the share of votes for the winner,
    ``margin`` the mean strength of those votes.
    """
    specs = [k for k, q in _questions(project).items() if q.kind == "preference"]
    stored = _consensus(session, project)
    reliability = _reliability(session, project)
    out = []
    for ev in _evidence(session, project, round_number):
        if len(ev.texts) != 2:
            continue
        for key in specs:
            votes = ev.votes.get(key, [])
            winners = Counter(w for v in votes if (w := _winner(v.value)))
            if not winners:
                continue
            consensus = stored.get((ev.item.id, key, ""))
            winner = _winner(consensus.value) if consensus else winners.most_common(1)[0][0]
            if winner not in ev.texts:
                continue  # a tie, or a consensus on an answer no longer there
            loser = next(k for k in ev.texts if k != winner)
            agreeing = [v for v in votes if _winner(v.value) == winner]
            out.append(
                PreferenceRecord(
                    **_base(ev, votes, reliability),
                    agreement=len(agreeing) / len(votes),
                    confidence=consensus.confidence if consensus else None,
                    chosen=ev.texts[winner],
                    rejected=ev.texts[loser],
                    margin=sum(_strength(v.value) for v in agreeing) / len(agreeing),
                    n_votes=len(votes),
                    chosen_model=ev.models.get(winner),
                    rejected_model=ev.models.get(loser),
                )
            )
    return out


def sft_records(
    session: Session, *, project: Project, round_number: int | None = None
) -> list[SFTRecord]:
    """One record per rewrite or ideal answer a worker wrote (not rejected)."""
    modes = {k: q.parsed_config().mode for k, q in _questions(project).items() if q.kind == "text"}
    wanted = {k: m for k, m in modes.items() if m in ("rewrite", "ideal_answer")}
    reliability = _reliability(session, project)
    out = []
    for ev in _evidence(session, project, round_number):
        for key, mode in wanted.items():
            for vote in ev.votes.get(key, []):
                text = vote.value.get("text") if isinstance(vote.value, dict) else vote.value
                if isinstance(text, str) and text.strip():
                    out.append(
                        SFTRecord(**_base(ev, [vote], reliability), completion=text, source=mode)
                    )
    return out


def _scaled(value: Any, spec: QuestionSpec) -> float | None:
    score = value.get("value") if isinstance(value, dict) else value
    if not isinstance(score, int | float):
        return None
    config = spec.parsed_config()
    low, high = float(getattr(config, "min", 1)), float(getattr(config, "max", 5))
    return (float(score) - low) / (high - low) if high > low else None


def rubric_records(
    session: Session, *, project: Project, round_number: int | None = None
) -> list[RubricRecord]:
    """Mean rating per rubric dimension for every rated answer."""
    specs = {k: q for k, q in _questions(project).items() if q.kind == "rating"}
    reliability = _reliability(session, project)
    out = []
    for ev in _evidence(session, project, round_number):
        for cand, text in ev.texts.items():
            scores: dict[str, list[float]] = defaultdict(list)
            votes = []
            for key in specs:
                for vote in ev.votes.get(key, []):
                    score = vote.value.get("value") if isinstance(vote.value, dict) else vote.value
                    if vote.candidate == cand and isinstance(score, int | float):
                        scores[key].append(float(score))
                        votes.append(vote)
            if scores:
                out.append(
                    RubricRecord(
                        **_base(ev, votes, reliability),
                        completion=text,
                        scores={k: sum(v) / len(v) for k, v in scores.items()},
                        n_ratings=len(votes),
                        model=ev.models.get(cand),
                    )
                )
    return out


def kto_records(
    session: Session, *, project: Project, round_number: int | None = None
) -> list[KTORecord]:
    """Unpaired examples for KTO.

    Each preference gives its chosen (desirable) and rejected answer; an answer whose
    mean rating sits in the top or bottom quarter of the scale gives one more.
    """
    out: list[KTORecord] = []
    for pref in preference_records(session, project=project, round_number=round_number):
        common = {k: getattr(pref, k) for k in TrainingRecord.__dataclass_fields__}
        out.append(KTORecord(**common, completion=pref.chosen, label=True, model=pref.chosen_model))
        out.append(
            KTORecord(**common, completion=pref.rejected, label=False, model=pref.rejected_model)
        )
    specs = {k: q for k, q in _questions(project).items() if q.kind == "rating"}
    for rec in rubric_records(session, project=project, round_number=round_number):
        scaled = [s for k, v in rec.scores.items() if (s := _scaled(v, specs[k])) is not None]
        mean = sum(scaled) / len(scaled) if scaled else 0.5
        if mean >= GOOD_RATING or mean <= BAD_RATING:
            common = {k: getattr(rec, k) for k in TrainingRecord.__dataclass_fields__}
            out.append(
                KTORecord(
                    **common, completion=rec.completion, label=mean >= GOOD_RATING, model=rec.model
                )
            )
    return out


def label_records(
    session: Session, *, project: Project, round_number: int | None = None
) -> list[LabelRecord]:
    """Consensus (else majority) labels of every choice question, per item or answer."""
    specs = [k for k, q in _questions(project).items() if q.kind == "choice"]
    stored = _consensus(session, project)
    reliability = _reliability(session, project)
    out = []
    for ev in _evidence(session, project, round_number):
        for key in specs:
            by_cand: dict[str, list[_Vote]] = defaultdict(list)
            for vote in ev.votes.get(key, []):
                by_cand[vote.candidate].append(vote)
            for cand, votes in by_cand.items():
                consensus = stored.get((ev.item.id, key, cand))
                counts = Counter(tuple(_labels(v.value)) for v in votes)
                labels = (
                    tuple(_labels(consensus.value)) if consensus else counts.most_common(1)[0][0]
                )
                out.append(
                    LabelRecord(
                        **_base(ev, votes, reliability),
                        agreement=counts.get(labels, 0) / len(votes),
                        confidence=consensus.confidence if consensus else None,
                        question=key,
                        labels=labels,
                        completion=ev.texts.get(cand) if cand else None,
                    )
                )
    return out


def _labels(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = value.get("labels", value.get("value", value.get("choice")))
    if isinstance(value, str):
        return [value]
    return sorted(str(v) for v in value) if isinstance(value, list) else []


RECORD_BUILDERS = {
    "preference": preference_records,
    "sft": sft_records,
    "kto": kto_records,
    "rubric": rubric_records,
    "label": label_records,
}
