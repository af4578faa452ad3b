"""Bradley-Terry scores with ties (Davidson, 1970), bootstrap intervals and win-rate matrices.

Each comparison says which of two models' answers was better, or that they tied.
With strengths ``p = exp(score)`` and a tie parameter ``nu``::

    P(a beats b) = p_a / D,   P(tie) = nu * sqrt(p_a p_b) / D,
    D = p_a + p_b + nu * sqrt(p_a p_b)

Comparisons are first summed per unordered pair of models (``np.bincount``), so a fit
costs the same for a thousand or a million comparisons; the log-likelihood and its
gradient are vectorized over pairs and maximised with L-BFGS. A weak Gaussian prior on
the scores (``prior``) keeps them finite when one model wins every comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from judgeloop.aggregate.encoding import FloatArray, IntArray, weighted_count

ELO_SCALE = 400.0 / np.log(10.0)


@dataclass(frozen=True, eq=False)
class Comparisons:
    """Encoded pairwise comparisons: ``outcome`` is 1 (first won), 0.5 (tie) or 0 (second won)."""

    first: IntArray
    second: IntArray
    outcome: FloatArray
    weights: FloatArray
    models: npt.NDArray[Any]

    @property
    def n_models(self) -> int:
        """Number of distinct models."""
        return len(self.models)


def encode_comparisons(
    first: npt.ArrayLike,
    second: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    models: npt.ArrayLike | None = None,
) -> Comparisons:
    """Encode comparisons between models given by any ids.

    Args:
        first: the model shown first (or "A") in each comparison.
        second: the other model.
        outcome: 1.0 when ``first`` won, 0.0 when ``second`` won, 0.5 for a tie.
        weights: optional weight per comparison (e.g. the judge's reliability).
        models: every model to score, in output order (default: sorted ids seen).

    Returns:
        Model codes and outcomes as arrays.
    """
    a, b = np.asarray(first), np.asarray(second)
    universe = np.unique(np.concatenate([a, b])) if models is None else np.asarray(models)
    order = np.argsort(universe, kind="stable")
    codes_a = order[np.searchsorted(universe, a, sorter=order)]
    codes_b = order[np.searchsorted(universe, b, sorter=order)]
    if not (np.array_equal(universe[codes_a], a) and np.array_equal(universe[codes_b], b)):
        raise ValueError("a compared model is missing from `models`")
    out = np.asarray(outcome, dtype=np.float64)
    if not np.isin(out, (0.0, 0.5, 1.0)).all():
        raise ValueError("outcome must be 1 (first won), 0.5 (tie) or 0 (second won)")
    if (codes_a == codes_b).any():
        raise ValueError("a model cannot be compared with itself")
    w = np.ones(len(out)) if weights is None else np.asarray(weights, dtype=np.float64)
    if not len(codes_a) == len(codes_b) == len(out) == len(w):
        raise ValueError("first, second, outcome and weights must have the same length")
    return Comparisons(codes_a.astype(np.intp), codes_b.astype(np.intp), out, w, universe)


@dataclass(frozen=True)
class PairTotals:
    """Weighted wins and ties summed per unordered pair ``lo < hi`` of model codes."""

    lo: IntArray
    hi: IntArray
    wins_lo: FloatArray
    wins_hi: FloatArray
    ties: FloatArray


def cell_keys(comps: Comparisons) -> IntArray:
    """Each comparison's cell ``3 * (lo * m + hi) + kind``, kind 0/1/2 = lo won/hi won/tie."""
    lo = np.minimum(comps.first, comps.second)
    hi = np.maximum(comps.first, comps.second)
    lo_won = np.where(comps.first == lo, comps.outcome, 1.0 - comps.outcome)
    kind = np.where(comps.outcome == 0.5, 2, np.where(lo_won == 1.0, 0, 1))
    return np.asarray(3 * (lo * comps.n_models + hi) + kind, dtype=np.intp)


def totals_from_cells(cells: FloatArray, n_models: int) -> PairTotals:
    """:class:`PairTotals` from weights per cell (see :func:`cell_keys`)."""
    per_pair = cells.reshape(n_models * n_models, 3)
    used = np.flatnonzero(per_pair.sum(axis=1) > 0)
    rows = per_pair[used]
    return PairTotals(used // n_models, used % n_models, rows[:, 0], rows[:, 1], rows[:, 2])


def pair_totals(comps: Comparisons) -> PairTotals:
    """Sum the (weighted) comparisons per pair of models."""
    m = comps.n_models
    cells = weighted_count(cell_keys(comps), comps.weights, 3 * m * m)
    return totals_from_cells(cells, m)


NO_TIES = -50.0  # log nu when no ties were seen: ties get probability ~e^-50


def _log_posterior(
    params: FloatArray, t: PairTotals, n_models: int, prior: float
) -> tuple[float, FloatArray, FloatArray]:
    """Log posterior, gradient and Hessian in ``(scores..., log nu)``.

    Per pair it is a three-way logit over (lo wins, hi wins, tie) whose logits
    ``z = (a, b, log nu + (a + b) / 2)`` are linear in the parameters, so the
    Hessian of each pair is ``-n J^T (diag(q) - q q^T) J`` with ``q = softmax(z)``.
    """
    theta = params[:n_models]
    z = np.stack([theta[t.lo], theta[t.hi], params[n_models] + 0.5 * (theta[t.lo] + theta[t.hi])])
    log_d = np.logaddexp(np.logaddexp(z[0], z[1]), z[2])
    q = np.exp(z - log_d)
    y = np.stack([t.wins_lo, t.wins_hi, t.ties])
    n = y.sum(axis=0)
    ll = float((y * z).sum() - n @ log_d - 0.5 * prior * theta @ theta)
    jac = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 1.0]])  # dz/d(a, b, c)
    g_pair = jac.T @ (y - n * q)  # 3 x pairs
    idx = np.stack([t.lo, t.hi, np.full_like(t.lo, n_models)])  # parameter of each row
    grad = weighted_count(idx.ravel(), g_pair.ravel(), n_models + 1)
    grad[:n_models] -= prior * theta
    h_z = q[:, None, :] * q[None, :, :] - np.eye(3)[:, :, None] * q[:, None, :]  # 3 x 3 x pairs
    h_pair = np.einsum("ki,klp,lj->ijp", jac, h_z * n, jac)
    flat = idx[:, None, :] * (n_models + 1) + idx[None, :, :]
    size = n_models + 1
    hess = weighted_count(flat.ravel(), h_pair.ravel(), size * size).reshape(size, size)
    hess[np.arange(n_models), np.arange(n_models)] -= prior
    return ll, grad, hess


def fit_scores(
    totals: PairTotals, n_models: int, *, prior: float = 1e-3, start: FloatArray | None = None
) -> tuple[FloatArray, float]:
    """Maximum a posteriori Davidson scores (centred on 0) and tie parameter ``nu``.

    Newton's method with backtracking on the concave log posterior; without ties in
    the data ``nu`` is fixed at (almost) 0.
    """
    has_ties = bool(totals.ties.sum() > 0)
    x = np.zeros(n_models + 1) if start is None else start.astype(np.float64).copy()
    x[n_models] = min(max(x[n_models], -10.0), 5.0) if has_ties else NO_TIES
    free = n_models + 1 if has_ties else n_models
    ll, grad, hess = _log_posterior(x, totals, n_models, prior)
    for _ in range(200):
        step = np.zeros_like(x)
        step[:free] = np.linalg.lstsq(-hess[:free, :free], grad[:free], rcond=None)[0]
        scale = 1.0
        while True:
            cand = x + scale * step
            ll_new, g_new, h_new = _log_posterior(cand, totals, n_models, prior)
            if ll_new >= ll - 1e-12 or scale < 1e-6:
                break
            scale *= 0.5
        x, ll, grad, hess = cand, ll_new, g_new, h_new
        if np.abs(scale * step).max() < 1e-10 or np.abs(grad[:free]).max() < 1e-9:
            break
    theta = x[:n_models] - x[:n_models].mean()
    return theta, float(np.exp(x[n_models])) if has_ties else 0.0


@dataclass(frozen=True, eq=False)
class BradleyTerryResult:
    """Scores per model (log-strengths centred on 0) with bootstrap intervals.

    ``scores[m]`` is model ``models[m]``'s log-strength; ``ci_low``/``ci_high`` the
    bootstrap percentile interval (NaN when no bootstrap ran). ``tie_strength`` is
    Davidson's ``nu`` (0 when no ties were seen).
    """

    models: npt.NDArray[Any]
    scores: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    tie_strength: float
    n_comparisons: int

    @property
    def elo(self) -> FloatArray:
        """Scores on the Elo scale (400 points = 10:1 odds), centred on 1000."""
        return np.asarray(1000.0 + ELO_SCALE * self.scores, dtype=np.float64)

    @property
    def ranking(self) -> npt.NDArray[Any]:
        """Models from best to worst score."""
        return self.models[np.argsort(-self.scores, kind="stable")]

    def probabilities(self) -> tuple[FloatArray, FloatArray]:
        """``(win, tie)`` matrices: ``win[i, j]`` = P(i beats j), ``tie[i, j]`` = P(tie)."""
        s = self.scores
        mid = 0.5 * (s[:, None] + s[None, :]) + np.log(max(self.tie_strength, 1e-300))
        log_d = np.logaddexp(np.logaddexp(s[:, None], s[None, :]), mid)
        return np.exp(s[:, None] - log_d), np.exp(mid - log_d)

    def expected_win_rates(self) -> FloatArray:
        """Model-predicted win rate matrix, a tie counting half: P(i beats j) + P(tie) / 2."""
        win, tie = self.probabilities()
        out: FloatArray = win + 0.5 * tie
        np.fill_diagonal(out, np.nan)
        return out


def bradley_terry(
    comps: Comparisons,
    *,
    n_bootstrap: int = 200,
    level: float = 0.95,
    groups: npt.ArrayLike | None = None,
    prior: float = 1e-3,
    seed: int = 0,
) -> BradleyTerryResult:
    """Fit Bradley-Terry-Davidson scores with bootstrap confidence intervals.

    Args:
        comps: encoded comparisons (see :func:`encode_comparisons`).
        n_bootstrap: bootstrap refits (0 for none).
        level: the interval's coverage.
        groups: optional cluster id per comparison (e.g. the prompt); the bootstrap
            then resamples whole clusters, which keeps correlated votes together.
        prior: precision of the Gaussian prior on scores.
        seed: seeds the bootstrap.

    Returns:
        Scores, intervals and the tie parameter.
    """
    totals = pair_totals(comps)
    m = comps.n_models
    theta, nu = fit_scores(totals, m, prior=prior)
    lows, highs = np.full(m, np.nan), np.full(m, np.nan)
    if n_bootstrap > 0 and len(comps.outcome):
        start = np.append(theta, np.log(nu) if nu > 0 else NO_TIES)
        draws = np.empty((n_bootstrap, m))
        for b, cells in enumerate(_bootstrap_cells(comps, groups, n_bootstrap, seed)):
            draws[b], _ = fit_scores(totals_from_cells(cells, m), m, prior=prior, start=start)
        tail = 100 * (1 - level) / 2
        lows, highs = np.percentile(draws, [tail, 100 - tail], axis=0)
    return BradleyTerryResult(comps.models, theta, lows, highs, nu, len(comps.outcome))


def _bootstrap_cells(
    comps: Comparisons, groups: npt.ArrayLike | None, n_bootstrap: int, seed: int
) -> FloatArray:
    """Cell weights of ``n_bootstrap`` resamples of the clusters, as one matrix product."""
    m = comps.n_models
    if groups is None:
        cluster = np.arange(len(comps.outcome))
    else:
        _, inverse = np.unique(np.asarray(groups), return_inverse=True)
        cluster = inverse.reshape(-1)
    n_clusters = int(cluster.max()) + 1
    per_cluster = sparse.csr_matrix(
        (comps.weights, (cluster, cell_keys(comps))), shape=(n_clusters, 3 * m * m)
    )
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_clusters, size=(n_bootstrap, n_clusters))
    rows = np.repeat(np.arange(n_bootstrap), n_clusters)
    counts = sparse.csr_matrix(
        (np.ones(picks.size), (rows, picks.ravel())), shape=(n_bootstrap, n_clusters)
    )
    out: FloatArray = np.asarray((counts @ per_cluster).todense())
    return out


def win_rate_matrix(comps: Comparisons) -> tuple[FloatArray, FloatArray]:
    """Observed head-to-head win rates, a tie counting half, and the counts behind them.

    Returns:
        ``(rates, counts)``: ``rates[i, j]`` is the share of comparisons between
        models i and j that i won (NaN where they never met); ``counts[i, j]`` the
        (weighted) number of those comparisons.
    """
    t = pair_totals(comps)
    m = comps.n_models
    wins = np.zeros((m, m))
    counts = np.zeros((m, m))
    n = t.wins_lo + t.wins_hi + t.ties
    wins[t.lo, t.hi] = t.wins_lo + 0.5 * t.ties
    wins[t.hi, t.lo] = t.wins_hi + 0.5 * t.ties
    counts[t.lo, t.hi] = n
    counts[t.hi, t.lo] = n
    rates = np.divide(wins, counts, out=np.full((m, m), np.nan), where=counts > 0)
    return rates, counts
