"""Inter-rater agreement with bootstrap confidence intervals (items resampled, seeded).

- Krippendorff's alpha (see :mod:`judgeloop.aggregate.alpha`) at the question's level:
  nominal for a choice, ordinal for a rating, interval for a number;
- Fleiss' kappa (items may have different numbers of judgments: each item's observed
  agreement is averaged, chance agreement comes from the pooled class shares);
- plain pairwise agreement: the share of pairs of judgments on the same item that agree;
- A/B preference agreement with ties as a third answer and without tie votes.

A bootstrap draws items with replacement; every statistic here is a ratio of sums
of per-item quantities, so each resample is a matrix product with the draw counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.alpha import (
    Level,
    ValueCounts,
    alpha_from_coincidences,
    bootstrap_alpha,
    coincidences,
    value_counts,
)
from judgeloop.aggregate.encoding import FloatArray

_CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class Estimate:
    """A statistic with its bootstrap percentile interval (NaN bounds without bootstrap)."""

    value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class AgreementReport:
    """Agreement of one question: alpha, Fleiss' kappa and pairwise agreement, with CIs.

    ``n_items`` counts items with at least two judgments (the only ones that say
    anything about agreement); ``n_judgments`` the judgments on them.
    """

    level: str
    alpha: Estimate
    fleiss_kappa: Estimate
    pairwise: Estimate
    n_items: int
    n_judgments: int


def resample_counts(
    n_items: int, n_bootstrap: int, seed: int, chunk: int | None = None
) -> Iterator[FloatArray]:
    """Yield blocks of rows: how many times each item is drawn in one bootstrap resample."""
    rng = np.random.default_rng(seed)
    rows = chunk or max(1, min(n_bootstrap, _CELLS_PER_CHUNK // max(n_items, 1)))
    done = 0
    while done < n_bootstrap:
        b = min(rows, n_bootstrap - done)
        picks = rng.integers(0, n_items, size=(b, n_items))
        flat = picks + (np.arange(b) * n_items)[:, None]
        yield np.bincount(flat.ravel(), minlength=b * n_items).reshape(b, n_items).astype(float)
        done += b


@dataclass(frozen=True, eq=False)
class _ItemStats:
    counts: ValueCounts  # only items with >= 2 judgments
    agree_pairs: FloatArray  # sum_c n_uc (n_uc - 1)
    pairs: FloatArray  # m_u (m_u - 1)


def _item_stats(vc: ValueCounts) -> _ItemStats:
    keep = np.flatnonzero(vc.per_item >= 2)
    sub = ValueCounts(vc.counts[keep], vc.item_ids[keep], vc.domain)
    n = sub.counts
    agree = np.asarray((n.multiply(n) - n).sum(axis=1), dtype=np.float64).reshape(-1)
    m = sub.per_item
    return _ItemStats(sub, agree, m * (m - 1.0))


def _kappa(s: _ItemStats, w: FloatArray) -> FloatArray:
    """Fleiss' kappa for item weights ``w`` (``[B, items]`` or ``[items]``)."""
    per_item = s.agree_pairs / s.pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        p_bar = (w @ per_item) / w.sum(axis=-1)
        class_n = np.asarray((s.counts.counts.T @ w.T).T)
        shares = class_n / class_n.sum(axis=-1, keepdims=True)
        p_e = (shares**2).sum(axis=-1)
        out: FloatArray = np.asarray((p_bar - p_e) / (1.0 - p_e), dtype=np.float64)
    return out


def _pairwise(s: _ItemStats, w: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.asarray((w @ s.agree_pairs) / (w @ s.pairs), dtype=np.float64)
    return out


def fleiss_kappa(items: npt.ArrayLike, values: npt.ArrayLike) -> float:
    """Fleiss' kappa of categorical judgments (items with one judgment are ignored)."""
    s = _item_stats(value_counts(items, values))
    return float(_kappa(s, np.ones(len(s.pairs))))


def pairwise_agreement(items: npt.ArrayLike, values: npt.ArrayLike) -> float:
    """Share of pairs of judgments on the same item that gave the same value."""
    s = _item_stats(value_counts(items, values))
    return float(_pairwise(s, np.ones(len(s.pairs))))


def _interval(draws: FloatArray, level: float) -> tuple[float, float]:
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def agreement_report(
    items: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    level: Level = "nominal",
    domain: npt.ArrayLike | None = None,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> AgreementReport:
    """Alpha, Fleiss' kappa and pairwise agreement of one question, each with a bootstrap CI.

    Args:
        items: the item of each judgment.
        values: the answer (NaN or None for none).
        level: level of measurement for alpha (kappa and pairwise treat values as
            categories whatever the level).
        domain: every possible value, in order (needed for ordinal scales whose
            extreme values were never used).
        n_bootstrap: resamples of the items (0: no intervals).
        ci: coverage of the intervals.
        seed: seeds the resampling.

    Returns:
        The three statistics with their intervals and the counts behind them.
    """
    s = _item_stats(value_counts(items, values, domain=domain))
    n = len(s.pairs)
    ones = np.ones(n)
    point_alpha = float(alpha_from_coincidences(coincidences(s.counts), s.counts.domain, level))
    point = (point_alpha, float(_kappa(s, ones)), float(_pairwise(s, ones)))
    bounds = [(float("nan"), float("nan"))] * 3
    if n_bootstrap > 0 and n > 0:
        draws: list[list[FloatArray]] = [[], [], []]
        for block in resample_counts(n, n_bootstrap, seed):
            draws[0].append(bootstrap_alpha(s.counts, level, block))
            draws[1].append(_kappa(s, block))
            draws[2].append(_pairwise(s, block))
        bounds = [_interval(np.concatenate(d), ci) for d in draws]
    est = [Estimate(p, lo, hi) for p, (lo, hi) in zip(point, bounds, strict=True)]
    return AgreementReport(level, est[0], est[1], est[2], n, int(s.counts.per_item.sum()))


@dataclass(frozen=True)
class PreferenceAgreement:
    """Agreement on A/B votes counting a tie as a third answer, and leaving tie votes out."""

    with_ties: AgreementReport
    without_ties: AgreementReport
    tie_share: float


def preference_agreement(
    items: npt.ArrayLike,
    outcome: npt.ArrayLike,
    *,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> PreferenceAgreement:
    """Agreement on pairwise preferences, with and without ties.

    Args:
        items: the item (one A/B question) of each vote.
        outcome: 1 first better, 0.5 tie, 0 second better.
        n_bootstrap: resamples of the items for the intervals.
        ci: coverage of the intervals.
        seed: seeds the resampling.

    Returns:
        ``with_ties`` treats (first, tie, second) as three nominal answers;
        ``without_ties`` drops tie votes and measures agreement on the direction.
    """
    it, out = np.asarray(items), np.asarray(outcome, dtype=np.float64)
    decisive = out != 0.5
    with_ties = agreement_report(
        it, out, domain=[0.0, 0.5, 1.0], n_bootstrap=n_bootstrap, ci=ci, seed=seed
    )
    without = agreement_report(
        it[decisive], out[decisive], domain=[0.0, 1.0], n_bootstrap=n_bootstrap, ci=ci, seed=seed
    )
    tie_share = float(1.0 - decisive.mean()) if len(out) else float("nan")
    return PreferenceAgreement(with_ties, without, tie_share)
