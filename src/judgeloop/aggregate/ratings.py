"""Consensus for numeric ratings: a reliability-weighted mean with per-worker bias correction.

Model: worker ``w`` rating item ``i`` reports ``x = mu_i + b_w + e`` with noise
``e ~ N(0, s_w^2)``. Alternating estimates (all ``np.bincount`` over the rating list):

- ``mu_i``: the mean of ``x - b_w`` over the item's ratings, weighted by ``1 / s_w^2``;
- ``b_w``: the worker's mean residual, shrunk toward 0 by ``bias_prior`` pseudo-ratings;
- ``s_w^2``: the worker's mean squared residual, shrunk toward the pooled one by
  ``variance_prior`` pseudo-ratings.

Shrinkage keeps the estimate at the plain mean when workers look alike (as on the
N_Emotion benchmark, where no method beats the mean by much) and moves it only for
workers whose many ratings show a steady offset or a large spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.encoding import FloatArray, IntArray, encode_ids, weighted_count


@dataclass(frozen=True, eq=False)
class RatingConsensus:
    """Per-item consensus ratings and the per-worker bias and noise behind them.

    ``means[i]`` is the consensus for ``item_ids[i]`` and ``standard_errors[i]`` its
    standard error (smaller is more confident); ``plain_means`` are the unweighted
    means for comparison. ``worker_bias[w]`` is how much higher than consensus worker
    ``worker_ids[w]`` rates, ``worker_sd[w]`` their noise and ``worker_weight[w]`` the
    weight of one of their ratings relative to an average worker (1.0).
    """

    item_ids: npt.NDArray[Any]
    worker_ids: npt.NDArray[Any]
    means: FloatArray
    standard_errors: FloatArray
    plain_means: FloatArray
    worker_bias: FloatArray
    worker_sd: FloatArray
    worker_weight: FloatArray
    n_iter: int


def _alternate(
    it: IntArray,
    wk: IntArray,
    x: FloatArray,
    start: FloatArray,
    shrink: tuple[float, float],
    max_iter: int,
    tol: float,
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Alternate consensus, bias and noise estimates; returns them and the rounds run."""
    n_i, n_w = len(start), int(wk.max()) + 1 if len(wk) else 0
    per_worker = np.bincount(wk, minlength=n_w).astype(np.float64)
    bias_prior, variance_prior = shrink
    mu, bias, var = start.copy(), np.zeros(n_w), np.ones(n_w)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        resid = x - mu[it]
        bias = weighted_count(wk, resid, n_w) / (per_worker + bias_prior)
        err = resid - bias[wk]
        pooled = max(float(np.mean(err**2)), 1e-12)
        var = (weighted_count(wk, err**2, n_w) + variance_prior * pooled) / (
            per_worker + variance_prior
        )
        var = np.maximum(var, 1e-12)
        w = 1.0 / var[wk]
        new = weighted_count(it, w * (x - bias[wk]), n_i) / weighted_count(it, w, n_i)
        delta = float(np.abs(new - mu).max()) if n_i else 0.0
        mu = new
        if delta < tol:
            break
    return mu, bias, var, n_iter


def rating_consensus(
    items: npt.ArrayLike,
    workers: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    bias_prior: float = 20.0,
    variance_prior: float = 20.0,
    correct_bias: bool = True,
    max_iter: int = 500,
    tol: float = 1e-6,
) -> RatingConsensus:
    """Reliability-weighted, bias-corrected mean rating per item.

    Args:
        items: the item of each rating.
        workers: the worker of each rating.
        values: the numeric rating.
        bias_prior: pseudo-ratings of zero bias added to each worker (higher: trust
            a worker's apparent offset only after more ratings).
        variance_prior: pseudo-ratings at the pooled noise level added to each worker.
        correct_bias: estimate and remove per-worker offsets (False: weights only).
        max_iter: the most alternating rounds.
        tol: stop when no consensus value moves by more than this.

    Returns:
        The consensus per item with standard errors, and per-worker bias, noise and
        weight.
    """
    item_ids, it = encode_ids(items)
    worker_ids, wk = encode_ids(workers)
    x = np.asarray(values, dtype=np.float64)
    if not len(x) == len(it) == len(wk):
        raise ValueError("items, workers and values must have the same length")
    n_i, n_w = len(item_ids), len(worker_ids)
    plain = weighted_count(it, x, n_i) / np.bincount(it, minlength=n_i)
    shrink = (bias_prior if correct_bias else np.inf, variance_prior)
    mu, bias, var, n_iter = _alternate(it, wk, x, plain, shrink, max_iter, tol)
    precision = np.bincount(it, 1.0 / var[wk], minlength=n_i)
    weight = (1.0 / var) / np.mean(1.0 / var) if n_w else var
    return RatingConsensus(
        item_ids=item_ids,
        worker_ids=worker_ids,
        means=mu,
        standard_errors=np.sqrt(1.0 / precision),
        plain_means=plain,
        worker_bias=bias,
        worker_sd=np.sqrt(var),
        worker_weight=weight,
        n_iter=n_iter,
    )
