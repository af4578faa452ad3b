"""Model leaderboard: Bradley-Terry-Davidson scores and win rates across model versions.

Every preference and ranking judgment of the project (submissions not rejected)
becomes comparisons between the model versions behind the candidates it orders
(``services.judgment_data.pairs_of``); candidates without a model version, and pairs
of one model with itself, are left out. ``aggregate.bradley_terry`` fits the scores
with bootstrap confidence intervals that resample whole items (the votes on one
prompt move together) and gives the observed head-to-head win-rate matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from judgeloop.aggregate.bradley_terry import bradley_terry, encode_comparisons, win_rate_matrix
from judgeloop.services.judgment_data import (
    PAIR_KINDS,
    load_judgments,
    pairs_of,
    project_candidates,
)
from judgeloop.store.models import ModelVersion, Project

METHOD = "judgeloop.bradley_terry_davidson.v1"


@dataclass(frozen=True)
class ModelStanding:
    """One model version on the leaderboard."""

    model_version_id: int
    name: str
    score: float
    elo: float
    ci_low: float | None
    ci_high: float | None
    wins: float
    losses: float
    ties: float

    @property
    def comparisons(self) -> float:
        """How many comparisons it took part in."""
        return self.wins + self.losses + self.ties


@dataclass(frozen=True)
class Leaderboard:
    """Models best first, with the win-rate matrix in the same order.

    ``win_rates[i][j]`` is the share of comparisons between models i and j that i
    won, a tie counting half (None where they never met); ``counts[i][j]`` how many.
    """

    models: list[ModelStanding]
    win_rates: list[list[float | None]]
    counts: list[list[int]]
    tie_strength: float
    n_comparisons: int
    n_bootstrap: int
    method: str = METHOD


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def model_leaderboard(
    session: Session, *, project: Project, n_bootstrap: int = 200, seed: int = 0
) -> Leaderboard:
    """Fit the project's model leaderboard from its preference and ranking judgments.

    Args:
        session: Database session.
        project: The project.
        n_bootstrap: Bootstrap refits for the confidence intervals (0: none).
        seed: Seeds the bootstrap.

    Returns:
        The leaderboard (empty when no two model versions were compared).
    """
    cands = project_candidates(session, project=project)
    first: list[int] = []
    second: list[int] = []
    outcome: list[float] = []
    groups: list[int] = []
    for row in load_judgments(session, project=project, kinds=PAIR_KINDS):
        models = dict(cands.get(row.item_id, []))
        for a, b, out in pairs_of(row.kind, row.value, list(models)):
            ma, mb = models.get(a), models.get(b)
            if ma is not None and mb is not None and ma != mb:
                first.append(ma)
                second.append(mb)
                outcome.append(out)
                groups.append(row.item_id)
    if not first:
        return Leaderboard([], [], [], 0.0, 0, n_bootstrap)
    comps = encode_comparisons(first, second, outcome)
    fit = bradley_terry(comps, n_bootstrap=n_bootstrap, groups=groups, seed=seed)
    rates, counts = win_rate_matrix(comps)
    ids = [int(m) for m in comps.models.tolist()]
    query = select(ModelVersion.id, ModelVersion.name).where(ModelVersion.id.in_(ids))
    names: dict[int, str] = dict(session.execute(query).all())
    order = np.argsort(-fit.scores, kind="stable")
    standings = []
    for i in order.tolist():
        wins, losses, ties = _record(comps.first, comps.second, comps.outcome, i)
        standings.append(
            ModelStanding(
                model_version_id=ids[i],
                name=names.get(ids[i], f"model {ids[i]}"),
                score=float(fit.scores[i]),
                elo=float(fit.elo[i]),
                ci_low=_finite(float(fit.ci_low[i])),
                ci_high=_finite(float(fit.ci_high[i])),
                wins=wins,
                losses=losses,
                ties=ties,
            )
        )
    matrix = [[_finite(float(rates[i, j])) for j in order] for i in order]
    n = [[int(counts[i, j]) for j in order] for i in order]
    return Leaderboard(standings, matrix, n, fit.tie_strength, fit.n_comparisons, n_bootstrap)


def _record(
    first: np.ndarray, second: np.ndarray, outcome: np.ndarray, m: int
) -> tuple[float, float, float]:
    """(wins, losses, ties) of model code ``m``."""
    as_first, as_second = first == m, second == m
    ties = float(((as_first | as_second) & (outcome == 0.5)).sum())
    wins = float((as_first & (outcome == 1.0)).sum() + (as_second & (outcome == 0.0)).sum())
    losses = float((as_first & (outcome == 0.0)).sum() + (as_second & (outcome == 1.0)).sum())
    return wins, losses, ties
