"""How well an LLM judge matches people: agreement with their consensus, and bias rates.

Pure numpy: arrays in, `Estimate`s out. Every interval is a percentile bootstrap that
resamples groups (units or items) with replacement, seeded; each statistic is a ratio
of per-group sums (or, for alpha, a sum of per-group coincidences), so a resample is a
matrix product with the draw counts (``agreement.resample_counts``).

- `consensus_sets`: the values that make a unit's consensus: the most frequent ones
  (nominal), or the median, every scale value between the two middle ones when the
  count is even (ordinal, interval). A tie splits the credit between its values.
- `judge_agreement`: one judge answer per unit against the people's answers on it:
  exact agreement with the consensus, Krippendorff's alpha of the judge and the
  consensus as two coders, agreement of the judge with each person, the mean absolute
  distance from the people's mean (numeric scales); and the people's own figures on the
  same units (the ceiling): each person against the others' consensus, alpha, pairwise.
- `ratio_estimate` / `paired_ratios`: a rate from per-observation counts (flip rate,
  first-position share, share choosing the longer answer); two rates on the same
  draws give their difference with an interval.
- `rank_correlation`: Spearman's rho (answer length against rating). The point value is
  exact; the interval resamples groups with the ranks of the full sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.stats import rankdata

from judgeloop.aggregate.agreement import Estimate, resample_counts
from judgeloop.aggregate.alpha import (
    Level,
    ValueCounts,
    alpha_from_coincidences,
)
from judgeloop.aggregate.encoding import FloatArray, IntArray, encode_ids

BoolArray = npt.NDArray[np.bool_]
NAN = float("nan")


def percentile_interval(draws: FloatArray, ci: float) -> tuple[float, float]:
    """The central `ci` percentile interval of the finite draws (NaN, NaN if none)."""
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return NAN, NAN
    tail = 100 * (1 - ci) / 2
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def _ratio_draws(
    nums: FloatArray, dens: FloatArray, n_bootstrap: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Point values and bootstrap draws of ``sum(num) / sum(den)`` for rows of ``[S, G]``."""
    point = _ratio(nums.sum(axis=1), dens.sum(axis=1))
    n_groups = nums.shape[1]
    if n_bootstrap <= 0 or n_groups == 0:
        return point, np.full((0, len(nums)), np.nan)
    draws = [
        _ratio(block @ nums.T, block @ dens.T)
        for block in resample_counts(n_groups, n_bootstrap, seed)
    ]
    return point, np.concatenate(draws)


def _estimates(point: FloatArray, draws: FloatArray, ci: float) -> list[Estimate]:
    out = []
    for s, value in enumerate(point):
        lo, hi = percentile_interval(draws[:, s], ci) if len(draws) else (NAN, NAN)
        out.append(Estimate(float(value), lo, hi))
    return out


def _group_sums(
    groups: npt.ArrayLike, columns: list[npt.ArrayLike], universe: npt.NDArray[Any] | None = None
) -> FloatArray:
    """Sum each column per group: ``[len(columns), n_groups]``."""
    g = np.asarray(groups)
    ids = universe if universe is not None else np.unique(g)
    codes = np.searchsorted(ids, g) if len(g) else np.zeros(0, dtype=np.intp)
    return np.stack(
        [np.bincount(codes, np.asarray(c, dtype=np.float64), len(ids)) for c in columns]
    ).astype(np.float64)


def ratio_estimate(
    groups: npt.ArrayLike,
    num: npt.ArrayLike,
    den: npt.ArrayLike | None = None,
    *,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """``sum(num) / sum(den)`` with a bootstrap interval that resamples groups.

    Args:
        groups: The group (item) of each observation; groups are resampled whole.
        num: Each observation's numerator (1 for a hit, 0 for a miss).
        den: Each observation's denominator (default 1: a plain share).
        n_bootstrap: Resamples (0: no interval).
        ci: Coverage of the interval.
        seed: Seeds the resampling.

    Returns:
        The rate with its interval; NaN when the denominators sum to 0.
    """
    n = np.asarray(num, dtype=np.float64)
    d = np.ones_like(n) if den is None else np.asarray(den, dtype=np.float64)
    sums = _group_sums(groups, [n, d])
    point, draws = _ratio_draws(sums[:1], sums[1:], n_bootstrap, seed)
    return _estimates(point, draws, ci)[0]


@dataclass(frozen=True)
class PairedRatios:
    """Two rates on the same groups, and their difference (first minus second)."""

    first: Estimate
    second: Estimate
    difference: Estimate


def paired_ratios(
    first: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
    second: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
    *,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> PairedRatios:
    """Two ratio rates, each ``(groups, num, den)``, resampled with the same group draws.

    The difference's interval comes from the same draws, so it accounts for the two
    rates being measured on the same groups (the judge and people on the same items).
    """
    g1, g2 = np.asarray(first[0]), np.asarray(second[0])
    universe = np.unique(np.concatenate([g1, g2])) if len(g1) or len(g2) else g1
    a = _group_sums(g1, [first[1], first[2]], universe)
    b = _group_sums(g2, [second[1], second[2]], universe)
    point, draws = _ratio_draws(np.stack([a[0], b[0]]), np.stack([a[1], b[1]]), n_bootstrap, seed)
    diff_draws = (draws[:, 0] - draws[:, 1])[:, None]
    one, two = _estimates(point, draws, ci)
    (diff,) = _estimates(np.array([point[0] - point[1]]), diff_draws, ci)
    return PairedRatios(one, two, diff)


def consensus_sets(counts: FloatArray, level: Level) -> BoolArray:
    """Which values (columns) make each unit's consensus (row of value counts).

    Nominal: the most frequent values. Ordinal, interval, ratio: the median; with an
    even count whose two middle values differ, every value between them (each
    minimizes the summed distance to the answers). A unit without answers has none.
    """
    n_units, n_values = counts.shape
    m = counts.sum(axis=1)
    if level == "nominal":
        top = counts.max(axis=1, keepdims=True) if n_values else np.zeros((n_units, 1))
        out: BoolArray = (counts == top) & (top > 0)
        return out
    cum = np.cumsum(counts, axis=1)
    lo = np.argmax(cum >= np.ceil(m / 2)[:, None] - 1e-9, axis=1)
    hi = np.argmax(cum >= (np.floor(m / 2) + 1)[:, None] - 1e-9, axis=1)
    cols = np.arange(n_values)
    between: BoolArray = (cols >= lo[:, None]) & (cols <= hi[:, None]) & (m > 0)[:, None]
    return between


def _credit(sets: BoolArray, values: IntArray) -> FloatArray:
    """Share of the consensus credit each value earns (1 / size of the set, or 0)."""
    size = sets.sum(axis=1)
    hit = sets[np.arange(len(values)), values]
    return np.where(hit & (size > 0), 1.0 / np.maximum(size, 1), 0.0)


@dataclass(frozen=True)
class JudgeAgreement:
    """The judge against people, and people among themselves, on the same units.

    The judge: ``exact`` (its answer is the consensus; ties split the credit),
    ``alpha`` (Krippendorff's alpha of judge and consensus as two coders),
    ``pairwise`` (share of judge-person pairs that agree), ``mean_abs_error`` (distance
    from the people's mean; NaN on a nominal scale). People: ``human_exact`` (each
    person against the others' consensus), ``human_alpha``, ``human_pairwise`` (share
    of person-person pairs that agree), ``human_mean_abs_error`` (each person against
    the others' mean). ``pairwise_gap`` is judge minus people pairwise, on the same draws.
    """

    exact: Estimate
    alpha: Estimate
    pairwise: Estimate
    mean_abs_error: Estimate
    human_exact: Estimate
    human_alpha: Estimate
    human_pairwise: Estimate
    human_mean_abs_error: Estimate
    pairwise_gap: Estimate
    n_units: int
    n_human_units: int
    n_judgments: int


@dataclass(frozen=True, eq=False)
class _Units:
    counts: FloatArray  # [U, V] people's answers per unit and value
    judge: IntArray  # [U] the judge's value code per unit
    domain: npt.NDArray[Any]
    level: Level
    groups: sparse.csr_matrix  # [G, U] 1 where a unit belongs to a group (resampled whole)


def _align(
    human_units: npt.ArrayLike,
    human_values: npt.ArrayLike,
    judge_units: npt.ArrayLike,
    judge_values: npt.ArrayLike,
    judge_groups: npt.ArrayLike | None,
    level: Level,
    domain: npt.ArrayLike | None,
) -> _Units:
    hu, hv = np.asarray(human_units), list(np.asarray(human_values).tolist())
    ju, jv = np.asarray(judge_units), list(np.asarray(judge_values).tolist())
    dom = list(np.asarray(domain).tolist()) if domain is not None else sorted({*hv, *jv})
    index = {v: i for i, v in enumerate(dom)}
    missing = [v for v in (*hv, *jv) if v not in index]
    if missing:
        raise ValueError(f"values outside the domain: {sorted(set(map(str, missing)))[:5]}")
    judge_of = {u: index[v] for u, v in zip(ju.tolist(), jv, strict=True)}
    keep = np.array([u in judge_of for u in hu.tolist()], dtype=bool)
    unit_ids, codes = encode_ids(hu[keep]) if keep.any() else (hu[:0], np.zeros(0, np.intp))
    counts = np.zeros((len(unit_ids), len(dom)))
    values = np.array([index[v] for v, k in zip(hv, keep, strict=True) if k], dtype=np.intp)
    np.add.at(counts, (codes, values), 1.0)
    judge = np.array([judge_of[u] for u in unit_ids.tolist()], dtype=np.intp)
    groups = ju.tolist() if judge_groups is None else np.asarray(judge_groups).tolist()
    group_of = dict(zip(ju.tolist(), groups, strict=True))
    _, group = encode_ids([group_of[u] for u in unit_ids.tolist()])
    n_groups = int(group.max()) + 1 if len(group) else 0
    ones = np.ones(len(group))
    indicator = sparse.csr_matrix((ones, (group, np.arange(len(group)))), (n_groups, len(group)))
    return _Units(counts, judge, np.asarray(dom), level, indicator)


def _per_unit(data: _Units) -> tuple[FloatArray, FloatArray]:
    """Numerators and denominators ``[6, U]`` of the ratio statistics.

    Rows: judge exact, judge pairwise, people exact, people pairwise, judge distance,
    people distance (the last two 0/0 on a nominal scale).
    """
    counts, judge = data.counts, data.judge
    n_units = len(judge)
    rows = np.arange(n_units)
    m = counts.sum(axis=1)
    exact = _credit(consensus_sets(counts, data.level), judge)
    judge_pairs = counts[rows, judge]
    human_pairs = (counts * (counts - 1)).sum(axis=1)
    # Each person against the others' consensus: one row per (unit, value) answered.
    unit_of, value_of = np.nonzero(counts)
    weight = counts[unit_of, value_of]
    others = counts[unit_of]
    others[np.arange(len(value_of)), value_of] -= 1.0
    loo = _credit(consensus_sets(others, data.level), value_of) * weight
    loo = np.where(m[unit_of] >= 2, loo, 0.0)
    human_exact = np.bincount(unit_of, loo, n_units)
    nums = [exact, judge_pairs, human_exact, human_pairs]
    dens = [np.ones(n_units), m, np.where(m >= 2, m, 0.0), m * (m - 1)]
    numeric = data.level != "nominal" and data.domain.dtype.kind in "iuf"
    if numeric:
        x = data.domain.astype(np.float64)
        total = counts @ x
        mean = _ratio(total, m)
        nums.append(np.abs(x[judge] - mean))
        dens.append(np.ones(n_units))
        others_mean = _ratio(total[unit_of] - x[value_of], m[unit_of] - 1)
        dist = np.where(m[unit_of] >= 2, np.abs(x[value_of] - others_mean), 0.0) * weight
        nums.append(np.bincount(unit_of, np.nan_to_num(dist), n_units))
        dens.append(np.where(m >= 2, m, 0.0))
    else:
        nums += [np.zeros(n_units)] * 2
        dens += [np.zeros(n_units)] * 2
    return np.stack(nums).astype(np.float64), np.stack(dens).astype(np.float64)


def _pair_coincidences(data: _Units) -> sparse.csr_matrix:
    """Per unit, the coincidences of the judge and the consensus (split over ties)."""
    sets = consensus_sets(data.counts, data.level)
    weight = sets / np.maximum(sets.sum(axis=1, keepdims=True), 1)
    unit, value = np.nonzero(weight)
    w = weight[unit, value]
    v = data.counts.shape[1]
    j = data.judge[unit]
    rows = np.concatenate([unit, unit])
    cols = np.concatenate([j * v + value, value * v + j])
    shape = (len(data.judge), v * v)
    return sparse.csr_matrix((np.concatenate([w, w]), (rows, cols)), shape=shape)


def _alphas(data: _Units, n_bootstrap: int, seed: int) -> tuple[FloatArray, FloatArray]:
    """Alpha of judge and consensus, and of people, with draws ``[B, 2]`` (same seed)."""
    v = len(data.domain)
    human = ValueCounts(sparse.csr_matrix(data.counts), np.arange(len(data.judge)), data.domain)
    per_group = [data.groups @ _pair_coincidences(data), data.groups @ human.item_coincidences]
    point = np.array(
        [
            float(
                alpha_from_coincidences(
                    np.asarray(o.sum(axis=0)).reshape(v, v), data.domain, data.level
                )
            )
            for o in per_group
        ]
    )
    n_groups = data.groups.shape[0]
    if n_bootstrap <= 0 or n_groups == 0:
        return point, np.zeros((0, 2))
    blocks = []
    for block in resample_counts(n_groups, n_bootstrap, seed):
        batch = [np.asarray((o.T @ block.T).T).reshape(-1, v, v) for o in per_group]
        blocks.append(
            np.stack([alpha_from_coincidences(o, data.domain, data.level) for o in batch], axis=1)
        )
    return point, np.concatenate(blocks)


def judge_agreement(
    human_units: npt.ArrayLike,
    human_values: npt.ArrayLike,
    judge_units: npt.ArrayLike,
    judge_values: npt.ArrayLike,
    *,
    judge_groups: npt.ArrayLike | None = None,
    level: Level = "nominal",
    domain: npt.ArrayLike | None = None,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> JudgeAgreement:
    """Agreement of a judge with people, beside people's agreement, on the units both answered.

    Args:
        human_units: The unit of each person's answer.
        human_values: Each person's answer (a label, a score, a pair outcome).
        judge_units: The units the judge answered (one answer each).
        judge_values: The judge's answers.
        judge_groups: The group of each judged unit (its item), resampled whole by the
            bootstrap (default: each unit on its own).
        level: Level of measurement: nominal, or ordinal/interval for scales (the
            consensus becomes the median, alpha uses the level's distance).
        domain: Every possible value in order (default: the values seen, sorted).
        n_bootstrap: Resamples of the groups (0: no intervals).
        ci: Coverage of the intervals.
        seed: Seeds the resampling.

    Returns:
        The statistics with their intervals (see `JudgeAgreement`).
    """
    data = _align(human_units, human_values, judge_units, judge_values, judge_groups, level, domain)
    nums, dens = (np.asarray((data.groups @ x.T).T) for x in _per_unit(data))
    point, draws = _ratio_draws(nums, dens, n_bootstrap, seed)
    alphas, alpha_draws = _alphas(data, n_bootstrap, seed)
    ratio = _estimates(point, draws, ci)
    gap_point = np.array([point[1] - point[3]])
    gap_draws = (draws[:, 1] - draws[:, 3])[:, None] if len(draws) else np.zeros((0, 1))
    judge_alpha, human_alpha = _estimates(alphas, alpha_draws, ci)
    m = data.counts.sum(axis=1)
    return JudgeAgreement(
        exact=ratio[0],
        alpha=judge_alpha,
        pairwise=ratio[1],
        mean_abs_error=ratio[4],
        human_exact=ratio[2],
        human_alpha=human_alpha,
        human_pairwise=ratio[3],
        human_mean_abs_error=ratio[5],
        pairwise_gap=_estimates(gap_point, gap_draws, ci)[0],
        n_units=len(data.judge),
        n_human_units=int((m >= 2).sum()),
        n_judgments=int(m.sum()),
    )


def rank_correlation(
    groups: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Spearman's rank correlation of `x` and `y`, with an interval resampling groups.

    Ties get average ranks. The interval recomputes Pearson's r of the full sample's
    ranks on each resample (the ranks themselves are not recomputed). NaN with fewer
    than three observations or when either variable is constant.
    """
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(xa) < 3:
        return Estimate(NAN, NAN, NAN)
    rx, ry = rankdata(xa), rankdata(ya)
    sums = _group_sums(groups, [np.ones_like(rx), rx, ry, rx * rx, ry * ry, rx * ry])

    def pearson(s: FloatArray) -> FloatArray:
        n, sx, sy, sxx, syy, sxy = s
        cov = n * sxy - sx * sy
        var = (n * sxx - sx * sx) * (n * syy - sy * sy)
        with np.errstate(invalid="ignore", divide="ignore"):
            out: FloatArray = np.where(var > 1e-12, cov / np.sqrt(np.abs(var)), np.nan)
        return out

    point = float(pearson(sums.sum(axis=1)[:, None])[0])
    lo = hi = NAN
    if n_bootstrap > 0:
        draws = [
            pearson((block @ sums.T).T)
            for block in resample_counts(sums.shape[1], n_bootstrap, seed)
        ]
        lo, hi = percentile_interval(np.concatenate(draws), ci)
    return Estimate(point, lo, hi)
