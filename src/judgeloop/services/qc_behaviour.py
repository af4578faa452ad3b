"""Behaviour flags: too fast, straight-lining, copied or pasted explanations, test-retest.

Read from the project's latest submissions (``MAX_SUBMISSIONS``) and measured by
``aggregate.behaviour``:

- **too fast**: a worker with more than ``too_fast_share`` of their submissions under
  ``too_fast_fraction`` of the project's median time;
- **straight-lining**: a worker whose ratings are (nearly) all the same score;
- **copied explanations**: an explanation that is a (near-)copy of another worker's,
  or one the worker pastes again and again;
- **pasted from a model answer**: an explanation mostly made of the answer it judges;
- **test-retest**: an item imported again with ``metadata.retest_of`` set to the
  original item's id is a repeat; a worker who judged both is compared with themself.

Thresholds come from ``Project.settings["quality"]`` (keys named below), defaults else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.aggregate.behaviour import (
    copied_explanations,
    pasted_from_answer,
    retest_consistency,
    share_by_group,
    straight_lining,
    too_fast,
)
from judgeloop.services.judgment_data import JudgmentRow, label_of, load_judgments, rating_of
from judgeloop.store.models import Candidate, Item, Project, Submission

MAX_SUBMISSIONS = 20_000
DEFAULTS: dict[str, float] = {
    "too_fast_fraction": 0.25,
    "too_fast_share": 0.5,
    "too_fast_min": 5,
    "straight_min": 10,
    "straight_share": 0.95,
    "copy_threshold": 0.8,
    "paste_threshold": 0.6,
    "retest_min": 3,
    "retest_consistency": 0.6,
}


@dataclass
class BehaviourFlag:
    """One worker's flag: which behaviour, the figure behind it, the submissions it saw."""

    worker_id: int
    kind: str
    detail: str
    figure: float
    submission_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BehaviourReport:
    """The project's behaviour flags and the median time they are measured against."""

    flags: list[BehaviourFlag]
    median_seconds: float | None
    submissions: int

    def by_worker(self) -> dict[int, list[BehaviourFlag]]:
        """The flags of each flagged worker."""
        out: dict[int, list[BehaviourFlag]] = {}
        for flag in self.flags:
            out.setdefault(flag.worker_id, []).append(flag)
        return out


@dataclass(frozen=True)
class _Sub:
    id: int
    item_id: int
    worker_id: int
    seconds: float
    explanation: str


def setting(project: Project, key: str) -> float:
    """A behaviour threshold of the project (``settings["quality"][key]``) or its default."""
    raw = (project.settings.get("quality") or {}).get(key, DEFAULTS[key])
    return float(raw)


def _recent(session: Session, project: Project) -> list[_Sub]:
    query = (
        select(
            Submission.id,
            Submission.item_id,
            Submission.worker_id,
            Submission.seconds_spent,
            Submission.explanation,
        )
        .where(Submission.project_id == project.id)
        .order_by(Submission.id.desc())
        .limit(MAX_SUBMISSIONS)
    )
    return [_Sub(*row) for row in session.execute(query)][::-1]


def _too_fast(project: Project, subs: Sequence[_Sub], med: float) -> list[BehaviourFlag]:
    fast = too_fast(
        [s.seconds for s in subs],
        reference_median=med,
        fraction=setting(project, "too_fast_fraction"),
    )
    per = share_by_group(
        [s.worker_id for s in subs],
        fast,
        max_share=setting(project, "too_fast_share"),
        min_n=int(setting(project, "too_fast_min")),
    )
    out = []
    for w, worker_id in enumerate(per.group_ids.tolist()):
        if per.flagged[w]:
            ids = [s.id for s, f in zip(subs, fast, strict=True) if f and s.worker_id == worker_id]
            detail = (
                f"{per.share[w]:.0%} of {per.n[w]:.0f} submissions took less than "
                f"{setting(project, 'too_fast_fraction'):.0%} of the median {med:.0f} s"
            )
            out.append(BehaviourFlag(int(worker_id), "too_fast", detail, float(per.share[w]), ids))
    return out


def _straight(project: Project, rows: Sequence[JudgmentRow]) -> list[BehaviourFlag]:
    ratings = [(r, v) for r in rows if r.kind == "rating" and (v := rating_of(r.value)) is not None]
    if not ratings:
        return []
    per = straight_lining(
        [r.worker_id for r, _ in ratings],
        [v for _, v in ratings],
        min_answers=int(setting(project, "straight_min")),
        max_mode_share=setting(project, "straight_share"),
    )
    return [
        BehaviourFlag(
            int(worker_id),
            "straight_lining",
            f"{per.share[w]:.0%} of {per.n[w]:.0f} ratings are the same score",
            float(per.share[w]),
        )
        for w, worker_id in enumerate(per.group_ids.tolist())
        if per.flagged[w]
    ]


def _texts(subs: Sequence[_Sub], rows: Sequence[JudgmentRow]) -> list[str]:
    extra: dict[int, list[str]] = {}
    for r in rows:
        if r.explanation:
            extra.setdefault(r.submission_id, []).append(r.explanation)
    return ["\n".join([s.explanation, *extra.get(s.id, [])]).strip() for s in subs]


def _copies(project: Project, subs: Sequence[_Sub], texts: list[str]) -> list[BehaviourFlag]:
    found = copied_explanations(
        texts, [s.worker_id for s in subs], threshold=setting(project, "copy_threshold")
    )
    hits: dict[tuple[int, str], list[int]] = {}
    for n, sub in enumerate(subs):
        if found.copied_across_workers[n]:
            hits.setdefault((sub.worker_id, "copied_explanation"), []).append(sub.id)
        elif found.repeated_by_worker[n]:
            hits.setdefault((sub.worker_id, "repeated_explanation"), []).append(sub.id)
    words = {
        "copied_explanation": "explanations (near-)copied from another worker's",
        "repeated_explanation": "explanations repeated (near-)verbatim across submissions",
    }
    return [
        BehaviourFlag(w, kind, f"{len(ids)} {words[kind]}", float(len(ids)), ids)
        for (w, kind), ids in sorted(hits.items())
    ]


def _pasted(
    session: Session, project: Project, subs: Sequence[_Sub], texts: list[str]
) -> list[BehaviourFlag]:
    with_text = [(s, t) for s, t in zip(subs, texts, strict=True) if t]
    if not with_text:
        return []
    item_ids = sorted({s.item_id for s, _ in with_text})
    sources: dict[int, list[str]] = {}
    for item_id, text in session.execute(
        select(Candidate.item_id, Candidate.text).where(Candidate.item_id.in_(item_ids))
    ):
        sources.setdefault(item_id, []).append(text)
    _, flagged = pasted_from_answer(
        [t for _, t in with_text],
        ["\n".join(sources.get(s.item_id, [])) for s, _ in with_text],
        threshold=setting(project, "paste_threshold"),
    )
    hits: dict[int, list[int]] = {}
    for (sub, _), is_pasted in zip(with_text, flagged, strict=True):
        if is_pasted:
            hits.setdefault(sub.worker_id, []).append(sub.id)
    return [
        BehaviourFlag(
            w,
            "pasted_from_answer",
            f"{len(ids)} explanations pasted from the model answer they judge",
            float(len(ids)),
            ids,
        )
        for w, ids in sorted(hits.items())
    ]


def _retest(session: Session, project: Project, rows: Sequence[JudgmentRow]) -> list[BehaviourFlag]:
    repeats = _retest_map(session, project)
    if not repeats:
        return []
    keep = [(r, _value(r)) for r in rows]
    keep = [(r, v) for r, v in keep if v is not None]
    if not keep:
        return []
    canonical = [
        f"{repeats.get(r.item_id, r.item_id)}:{r.question_key}:{r.candidate_key}" for r, _ in keep
    ]
    res = retest_consistency(
        [r.worker_id for r, _ in keep],
        canonical,
        np.array([str(v) for _, v in keep]),
        [r.created_at.timestamp() for r, _ in keep],
    )
    out = []
    for w, worker_id in enumerate(res.worker_ids.tolist()):
        n, rate = res.n_pairs[w], res.consistency[w]
        if n >= setting(project, "retest_min") and rate < setting(project, "retest_consistency"):
            out.append(
                BehaviourFlag(
                    int(worker_id),
                    "retest",
                    f"answered {rate:.0%} of {n:.0f} repeated questions the same way",
                    float(rate),
                )
            )
    return out


def _value(r: JudgmentRow) -> Any:
    return rating_of(r.value) if r.kind == "rating" else label_of(r.kind, r.value)


def _retest_map(session: Session, project: Project) -> dict[int, int]:
    query = select(Item.id, Item.meta).where(Item.project_id == project.id)
    out: dict[int, int] = {}
    for item_id, meta in session.execute(query):
        original = (meta or {}).get("retest_of")
        if isinstance(original, int) and not isinstance(original, bool):
            out[item_id] = original
    return out


def behaviour_flags(session: Session, *, project: Project) -> BehaviourReport:
    """Flag workers by behaviour over the project's latest submissions.

    Args:
        session: Database session.
        project: The project.

    Returns:
        Every flag with its figure, the project's median time per submission and how
        many submissions were looked at.
    """
    subs = _recent(session, project)
    if not subs:
        return BehaviourReport([], None, 0)
    rows = load_judgments(session, project=project, from_submission=subs[0].id)
    med = median(s.seconds for s in subs)
    texts = _texts(subs, rows)
    flags = _too_fast(project, subs, med) + _straight(project, rows)
    flags += _copies(project, subs, texts) + _pasted(session, project, subs, texts)
    flags += _retest(session, project, rows)
    return BehaviourReport(flags, float(med), len(subs))
