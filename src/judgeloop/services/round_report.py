"""What a round found: human and LLM-judge win-rates, rubric changes, reward-model accuracy.

Read-only. A human verdict is one accepted (not rejected) submission's preference on a
round item; the new version's outcome is 1 (its answer won), 0.5 (tie) or 0 (lost),
whichever side it was shown on. Confidence intervals resample whole items, so several
verdicts on one prompt count as the correlated evidence they are.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.aggregate.bradley_terry import ELO_SCALE, bradley_terry, encode_comparisons
from judgeloop.store.models import Candidate, Item, Judgment, ModelVersion, Project, Submission
from judgeloop.store.models.llm import JudgeAnswer
from judgeloop.store.models.rounds import Round, RoundItem

Scorer = Callable[[str, str], float]
"""A reward model: (prompt, answer) -> score."""

BOOTSTRAP = 1000


@dataclass
class WinRateCI:
    """The new version's win-rate (ties count half) with a 95% interval, in percent."""

    win_rate: float | None
    low: float | None
    high: float | None
    wins: int = 0
    losses: int = 0
    ties: int = 0
    items: int = 0

    @property
    def n(self) -> int:
        """Verdicts counted."""
        return self.wins + self.losses + self.ties


@dataclass
class DimensionChange:
    """Mean rating of both versions on one rubric dimension, in this round."""

    question: str
    new_mean: float | None
    baseline_mean: float | None
    n_new: int
    n_baseline: int

    @property
    def delta(self) -> float | None:
        """New minus baseline (positive: the new version rates higher)."""
        if self.new_mean is None or self.baseline_mean is None:
            return None
        return round(self.new_mean - self.baseline_mean, 4)


@dataclass
class RoundReport:
    """Everything the round report page and API show."""

    round: int
    state: str
    model: str | None
    baseline: str | None
    items: int
    human: WinRateCI
    human_by_source: dict[str, WinRateCI]
    judges: dict[str, WinRateCI]
    dimensions: list[DimensionChange]
    reward_model_accuracy: float | None = None
    reward_model_pairs: int = 0
    previous_dimensions: dict[str, float | None] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary, kept on the round when it is frozen."""
        out = asdict(self)
        out["dimensions"] = [asdict(d) | {"delta": d.delta} for d in self.dimensions]
        return out


def _win_rate(outcomes: Sequence[float], groups: Sequence[int], seed: int = 0) -> WinRateCI:
    if not outcomes:
        return WinRateCI(None, None, None)
    values = np.asarray(outcomes, dtype=np.float64)
    labels = np.asarray(groups)
    unique, codes = np.unique(labels, return_inverse=True)
    sums = np.bincount(codes, weights=values, minlength=len(unique))
    counts = np.bincount(codes, minlength=len(unique)).astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(unique), size=(BOOTSTRAP, len(unique)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return WinRateCI(
        win_rate=round(100 * float(values.mean()), 2),
        low=round(100 * float(low), 2),
        high=round(100 * float(high), 2),
        wins=int((values == 1).sum()),
        losses=int((values == 0).sum()),
        ties=int((values == 0.5).sum()),
        items=len(unique),
    )


def _versions_by_key(session: Session, item_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for start in range(0, len(item_ids), 500):
        rows = session.execute(
            select(Candidate.item_id, Candidate.key, Candidate.model_version_id).where(
                Candidate.item_id.in_(item_ids[start : start + 500])
            )
        )
        for item_id, key, version in rows:
            if version is not None:
                out[item_id][key] = version
    return out


def _outcome(winner: Any, keys: dict[str, int], new_id: int) -> float | None:
    """The new version's outcome for a preference answer, or None if it cannot tell."""
    if isinstance(winner, dict):
        winner = winner.get("winner")
    if winner == "tie":
        return 0.5
    if winner not in keys:
        return None
    return 1.0 if keys[winner] == new_id else 0.0


def _human_preferences(session: Session, item_ids: Sequence[int]) -> list[tuple[int, Any]]:
    """(item id, preference value) of every accepted (not rejected) human judgment."""
    rows: list[tuple[int, Any]] = []
    for start in range(0, len(item_ids), 500):
        query = (
            select(Submission.item_id, Judgment.value)
            .join(Judgment, Judgment.submission_id == Submission.id)
            .where(
                Submission.item_id.in_(item_ids[start : start + 500]),
                Submission.state != "rejected",
                Judgment.kind == "preference",
            )
        )
        rows += [(i, v) for i, v in session.execute(query)]
    return rows


@dataclass
class _RoundData:
    """What one round's report and the leaderboard both read: items, sides, verdicts."""

    item_ids: list[int]
    source_of: dict[int, str]
    keys: dict[int, dict[str, int]]
    human: list[tuple[int, float]]


def _round_data(session: Session, round_: Round) -> _RoundData:
    links = list(
        session.execute(
            select(RoundItem.item_id, RoundItem.source).where(RoundItem.round_id == round_.id)
        )
    )
    item_ids = [i for i, _ in links]
    keys = _versions_by_key(session, item_ids)
    new_id = round_.model_version_id or -1
    human = [
        (item_id, o)
        for item_id, value in _human_preferences(session, item_ids)
        if (o := _outcome(value, keys[item_id], new_id)) is not None
    ]
    return _RoundData(item_ids, dict(links), keys, human)


def round_report(
    session: Session, *, round_: Round, scorer: Scorer | None = None, seed: int = 0
) -> RoundReport:
    """Summarize a round: win-rates with intervals, per source, per judge, per dimension.

    Args:
        session: Database session.
        round_: The round.
        scorer: A reward model; when given, its accuracy at picking the answer people
            preferred (items with a clear human majority) is reported.
        seed: Seeds the bootstrap.
    """
    return _report(session, round_, _round_data(session, round_), scorer, seed)


def _report(
    session: Session, round_: Round, data: _RoundData, scorer: Scorer | None, seed: int
) -> RoundReport:
    item_ids, keys, human = data.item_ids, data.keys, data.human
    new_id = round_.model_version_id or -1
    by_source: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for item_id, o in human:
        by_source[data.source_of[item_id]].append((item_id, o))
    names = dict(session.execute(select(ModelVersion.id, ModelVersion.name)).all())
    report = RoundReport(
        round=round_.number,
        state=round_.state,
        model=names.get(new_id),
        baseline=names.get(round_.baseline_version_id or -1),
        items=len(item_ids),
        human=_win_rate([o for _, o in human], [i for i, _ in human], seed),
        human_by_source={
            s: _win_rate([o for _, o in v], [i for i, _ in v], seed) for s, v in by_source.items()
        },
        judges=_judge_win_rates(session, item_ids, keys, new_id, names, seed),
        dimensions=_dimensions(session, item_ids, keys, round_),
    )
    if scorer is not None:
        report.reward_model_accuracy, report.reward_model_pairs = _reward_accuracy(
            session, human, keys, new_id, scorer
        )
    return report


def _dimensions(
    session: Session, item_ids: Sequence[int], keys: dict[int, dict[str, int]], round_: Round
) -> list[DimensionChange]:
    sums: dict[tuple[str, int], list[float]] = defaultdict(list)
    for start in range(0, len(item_ids), 500):
        query = (
            select(
                Submission.item_id, Judgment.question_key, Judgment.candidate_key, Judgment.value
            )
            .join(Judgment, Judgment.submission_id == Submission.id)
            .where(
                Submission.item_id.in_(item_ids[start : start + 500]),
                Submission.state != "rejected",
                Judgment.kind == "rating",
            )
        )
        for item_id, question, candidate, value in session.execute(query):
            version = keys[item_id].get(candidate or "")
            score = value.get("value") if isinstance(value, dict) else value
            if version is not None and isinstance(score, int | float):
                sums[(question, version)].append(float(score))
    new_id, base_id = round_.model_version_id, round_.baseline_version_id
    out = []
    for question in sorted({q for q, _ in sums}):
        new, base = sums.get((question, new_id or -1), []), sums.get((question, base_id or -1), [])
        out.append(
            DimensionChange(
                question=question,
                new_mean=round(float(np.mean(new)), 4) if new else None,
                baseline_mean=round(float(np.mean(base)), 4) if base else None,
                n_new=len(new),
                n_baseline=len(base),
            )
        )
    return out


def _judge_win_rates(
    session: Session,
    item_ids: Sequence[int],
    keys: dict[int, dict[str, int]],
    new_id: int,
    names: dict[int, str],
    seed: int,
) -> dict[str, WinRateCI]:
    per_judge: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for start in range(0, len(item_ids), 500):
        query = select(
            JudgeAnswer.model_version_id, JudgeAnswer.item_id, JudgeAnswer.answers
        ).where(JudgeAnswer.item_id.in_(item_ids[start : start + 500]), JudgeAnswer.status == "ok")
        for judge_id, item_id, answers in session.execute(query):
            for answer in answers or []:
                if isinstance(answer, dict) and answer.get("kind") == "preference":
                    o = _outcome(answer.get("value"), keys[item_id], new_id)
                    if o is not None:
                        per_judge[judge_id].append((item_id, o))
    return {
        names.get(j, str(j)): _win_rate([o for _, o in v], [i for i, _ in v], seed)
        for j, v in per_judge.items()
    }


def _reward_accuracy(
    session: Session,
    human: Sequence[tuple[int, float]],
    keys: dict[int, dict[str, int]],
    new_id: int,
    scorer: Scorer,
) -> tuple[float | None, int]:
    votes: dict[int, list[float]] = defaultdict(list)
    for item_id, o in human:
        votes[item_id].append(o)
    decided = {i: float(np.mean(v)) > 0.5 for i, v in votes.items() if float(np.mean(v)) != 0.5}
    if not decided:
        return None, 0
    right = 0
    for item_id, new_won in decided.items():
        item = session.get(Item, item_id)
        texts = dict(
            session.execute(
                select(Candidate.model_version_id, Candidate.text).where(
                    Candidate.item_id == item_id
                )
            ).all()
        )
        assert item is not None
        new_score = scorer(item.prompt, texts.get(new_id, ""))
        base_ids = [v for v in keys[item_id].values() if v != new_id]
        base_score = scorer(item.prompt, texts.get(base_ids[0], "")) if base_ids else 0.0
        right += int((new_score > base_score) == new_won)
    return round(right / len(decided), 4), len(decided)


@dataclass
class Leaderboard:
    """Every version's Bradley-Terry score over all rounds, and each round's win-rate."""

    models: list[str]
    scores: list[float]
    low: list[float]
    high: list[float]
    rounds: list[RoundReport]


def leaderboard(session: Session, *, project: Project, seed: int = 0) -> Leaderboard:
    """Score all versions from every round's human verdicts (Bradley-Terry with ties)."""
    rounds = list(
        session.scalars(select(Round).where(Round.project_id == project.id).order_by(Round.number))
    )
    reports: list[RoundReport] = []
    first: list[str] = []
    second: list[str] = []
    outcome: list[float] = []
    groups: list[int] = []
    names = dict(session.execute(select(ModelVersion.id, ModelVersion.name)).all())
    for r in rounds:
        data = _round_data(session, r)
        reports.append(_report(session, r, data, None, seed))
        if r.baseline_version_id is None:
            continue
        for item_id, o in data.human:
            first.append(names[r.model_version_id or -1])
            second.append(names[r.baseline_version_id])
            outcome.append(o)
            groups.append(item_id)
    if not outcome:
        return Leaderboard([], [], [], [], reports)
    fit = bradley_terry(
        encode_comparisons(first, second, outcome), groups=groups, n_bootstrap=200, seed=seed
    )
    return Leaderboard(
        models=[str(m) for m in fit.models],
        scores=[round(float(x), 2) for x in fit.elo],
        low=[round(float(x), 2) for x in 1000.0 + ELO_SCALE * fit.ci_low],
        high=[round(float(x), 2) for x in 1000.0 + ELO_SCALE * fit.ci_high],
        rounds=reports,
    )


def leaderboard_svg(board: Leaderboard) -> bytes:
    """Plot the leaderboard (Elo-scale scores with intervals; win-rate per round) as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    if board.models:
        order = np.argsort(board.scores)
        y = np.arange(len(order))
        scores = np.asarray(board.scores)[order]
        errs = [scores - np.asarray(board.low)[order], np.asarray(board.high)[order] - scores]
        left.errorbar(scores, y, xerr=np.nan_to_num(errs), fmt="o", color="#2d5b9a")
        left.set_yticks(y, [board.models[i] for i in order])
        left.set_xlabel("Bradley-Terry score (Elo scale)")
    rounds = [r for r in board.rounds if r.human.win_rate is not None]
    if rounds:
        x = [r.round for r in rounds]
        rates = np.asarray([r.human.win_rate for r in rounds], dtype=float)
        lows = rates - np.asarray([r.human.low for r in rounds], dtype=float)
        highs = np.asarray([r.human.high for r in rounds], dtype=float) - rates
        right.errorbar(x, rates, yerr=[lows, highs], fmt="o-", color="#b5562b")
        right.axhline(50, color="#888", linewidth=0.8, linestyle="--")
        right.set_xticks(x)
        right.set_xlabel("round")
        right.set_ylabel("new version's human win-rate %")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    return out.getvalue()
