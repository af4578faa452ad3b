"""Krippendorff's alpha from a coincidence matrix, vectorized and bootstrap-ready.

For every item, ``counts[u, v]`` is how many judgments gave value ``v``. The
coincidence matrix sums, over items with at least two judgments, the ordered pairs of
values within the item, each item weighted by ``1 / (m_u - 1)``::

    o = N^T diag(1 / (m - 1)) N - diag(sum_u N_u / (m_u - 1))

and ``alpha = 1 - (n - 1) * sum(o * delta) / sum(outer(n_v, n_v) * delta)`` with the
squared distance ``delta`` of the level of measurement (nominal, ordinal, interval,
ratio), as defined by Krippendorff and computed by the ``krippendorff`` package.

Per-item coincidences are kept as one sparse row per item, so a bootstrap over items
is a matrix product of resample counts with them: no loop over items.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse

from judgeloop.aggregate.encoding import FloatArray, encode_ids

Level = Literal["nominal", "ordinal", "interval", "ratio"]


@dataclass(frozen=True, eq=False)
class ValueCounts:
    """Sparse ``n_items x n_values`` counts of each value per item, and the value domain."""

    counts: sparse.csr_matrix
    item_ids: npt.NDArray[Any]
    domain: npt.NDArray[Any]

    @cached_property
    def per_item(self) -> FloatArray:
        """Number of judgments per item."""
        return np.asarray(self.counts.sum(axis=1), dtype=np.float64).reshape(-1)

    @cached_property
    def item_coincidences(self) -> sparse.csr_matrix:
        """Per item, its coincidences flattened to ``n_values ** 2`` columns (0 if m < 2)."""
        csr, m = self.counts, self.per_item
        v = csr.shape[1]
        scale = np.divide(1.0, m - 1.0, out=np.zeros_like(m), where=m >= 2)
        width = np.diff(csr.indptr)  # distinct values per item
        sq = width * width  # ordered pairs of them, self-pairs included
        row_of = np.repeat(np.arange(len(width)), sq)
        j = np.arange(int(sq.sum())) - np.repeat(np.cumsum(sq) - sq, sq)
        first = csr.indptr[row_of] + j // width[row_of]
        second = csr.indptr[row_of] + j % width[row_of]
        n_c, n_k = csr.data[first], csr.data[second]
        value = (n_c * n_k - np.where(first == second, n_c, 0.0)) * scale[row_of]
        cols = csr.indices[first] * v + csr.indices[second]
        return sparse.csr_matrix((value, (row_of, cols)), shape=(csr.shape[0], v * v))


def value_counts(
    items: npt.ArrayLike, values: npt.ArrayLike, *, domain: npt.ArrayLike | None = None
) -> ValueCounts:
    """Count each value per item; NaN values (no judgment) are left out.

    Args:
        items: the item of each judgment.
        values: the value given (a class, a rating, a number).
        domain: every possible value in order (default: sorted distinct values seen).
            Ordinal alpha needs the order; values outside the domain raise.

    Returns:
        The sparse counts and the domain.
    """
    it_raw, val_raw = np.asarray(items), np.asarray(values)
    if len(it_raw) != len(val_raw):
        raise ValueError("items and values must have the same length")
    keep = ~_isnan(val_raw)
    item_ids, it = encode_ids(it_raw[keep])
    val = val_raw[keep]
    if domain is None:
        dom, vc = encode_ids(val)
    else:
        dom = np.asarray(domain)
        order = np.argsort(dom, kind="stable")
        vc = order[np.clip(np.searchsorted(dom, val, sorter=order), 0, len(dom) - 1)]
        if not np.array_equal(dom[vc], val):
            raise ValueError("values outside the given domain")
    shape = (len(item_ids), len(dom))
    counts = sparse.csr_matrix((np.ones(len(it)), (it, vc)), shape=shape)
    counts.sum_duplicates()
    return ValueCounts(counts, item_ids, dom)


def _isnan(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind in "fc":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in values], bool)
    return np.zeros(len(values), dtype=bool)


def distances(
    domain: npt.NDArray[Any], level: Level, marginals: FloatArray | None = None
) -> FloatArray:
    """Squared distance ``delta[..., c, k]`` between domain values for a level of measurement.

    ``marginals`` (``[..., V]`` pairable counts per value) are needed for ordinal,
    whose distance depends on how many values lie between c and k; a batch of
    marginals gives a batch of matrices.
    """
    v = len(domain)
    if level == "nominal":
        return 1.0 - np.eye(v)
    if level in ("interval", "ratio"):
        x = np.asarray(domain, dtype=np.float64)
        diff = x[:, None] - x[None, :]
        if level == "interval":
            return diff**2
        tot = x[:, None] + x[None, :]
        return np.divide(diff, tot, out=np.zeros_like(diff), where=tot != 0) ** 2
    if level != "ordinal":
        raise ValueError(f"unknown level of measurement {level!r}")
    if marginals is None:
        raise ValueError("ordinal distances need the marginal counts")
    cum = np.cumsum(marginals, axis=-1)
    lo = np.minimum.outer(np.arange(v), np.arange(v))
    hi = np.maximum.outer(np.arange(v), np.arange(v))
    between = cum[..., hi] - cum[..., lo] + marginals[..., lo]
    out: FloatArray = (between - (marginals[..., :, None] + marginals[..., None, :]) / 2) ** 2
    return out


def alpha_from_coincidences(o: FloatArray, domain: npt.NDArray[Any], level: Level) -> FloatArray:
    """Krippendorff's alpha from (a batch of) coincidence matrices ``[..., V, V]``.

    NaN where there is no expected disagreement (a single value used throughout).
    """
    n_v = o.sum(axis=-1)
    n = n_v.sum(axis=-1)
    delta = distances(domain, level, n_v if level == "ordinal" else None)
    observed = (o * delta).sum(axis=(-2, -1))
    expected = np.einsum("...c,...ck,...k->...", n_v, np.broadcast_to(delta, o.shape), n_v)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.asarray(1.0 - (n - 1.0) * observed / expected, dtype=np.float64)
    return np.where(expected > 0, out, np.nan)


def coincidences(vc: ValueCounts, item_weights: FloatArray | None = None) -> FloatArray:
    """The ``V x V`` coincidence matrix, optionally with a weight per item (bootstrap)."""
    v = len(vc.domain)
    per = vc.item_coincidences
    w = np.ones(per.shape[0]) if item_weights is None else item_weights
    return np.asarray(per.T @ w, dtype=np.float64).reshape(v, v)


def krippendorff_alpha(
    items: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    level: Level = "nominal",
    domain: npt.ArrayLike | None = None,
) -> float:
    """Krippendorff's alpha of the judgments, at the given level of measurement.

    Use nominal for choices, ordinal for Likert ratings, interval for numeric scores.
    1 is perfect agreement, 0 what chance would give; NaN when only one value occurs.

    Args:
        items: the item of each judgment.
        values: the value given (NaN or None for a missing judgment).
        level: ``"nominal"``, ``"ordinal"``, ``"interval"`` or ``"ratio"``.
        domain: every possible value, in order (default: the values seen).

    Returns:
        Alpha as a float.
    """
    vc = value_counts(items, values, domain=domain)
    return float(alpha_from_coincidences(coincidences(vc), vc.domain, level))


def bootstrap_alpha(vc: ValueCounts, level: Level, resample_counts: FloatArray) -> FloatArray:
    """Alpha for each row of ``resample_counts`` (how often each item is drawn)."""
    v = len(vc.domain)
    o = np.asarray((vc.item_coincidences.T @ resample_counts.T).T).reshape(-1, v, v)
    return alpha_from_coincidences(o, vc.domain, level)
