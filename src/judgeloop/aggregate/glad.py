"""GLAD (Whitehill et al., 2009): worker ability and item difficulty, vectorized.

Worker ``w`` labels item ``i`` correctly with probability ``sigmoid(alpha_w * beta_i)``
(``beta_i = exp(b_i) > 0``; a wrong label is spread evenly over the other classes),
with unit-variance Gaussian priors on ``alpha`` and ``b`` centred on 1 and a uniform
class prior, as in crowd-kit's ``GLAD``. EM alternates:

- E-step: posteriors from two ``np.bincount`` over the label list;
- M-step: a few rounds of Newton steps on every ``alpha_w`` and then every ``b_i``
  at once (each is a one-dimensional problem given the others; gradient and
  curvature are bincounts over the label list), instead of a general optimiser.
"""

from __future__ import annotations

import numpy as np

from judgeloop.aggregate.encoding import FloatArray, LabelData, softmax_rows
from judgeloop.aggregate.results import LabelConsensus


def log_sigmoid(x: FloatArray) -> FloatArray:
    """``log(sigmoid(x))``, computed stably."""
    out: FloatArray = np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))
    return out


def sigmoid(x: FloatArray) -> FloatArray:
    """The logistic function, without overflow for large ``|x|``."""
    e = np.exp(-np.abs(x))
    out: FloatArray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def _e_step(data: LabelData, x: FloatArray, log_prior: FloatArray) -> FloatArray:
    k = data.n_classes
    log_right, log_wrong = log_sigmoid(x), log_sigmoid(-x) - np.log(max(k - 1, 1))
    w = data.weights
    base = np.bincount(data.items, w * log_wrong, minlength=data.n_items)
    bonus = np.bincount(
        data.items * k + data.labels, w * (log_right - log_wrong), minlength=data.n_items * k
    ).reshape(data.n_items, k)
    return softmax_rows(base[:, None] + bonus + log_prior)


def _newton_m_step(
    data: LabelData,
    alpha: FloatArray,
    b: FloatArray,
    p_true: FloatArray,
    prior_mean: float,
    rounds: int,
) -> tuple[FloatArray, FloatArray]:
    """Raise the expected log-likelihood in ``alpha`` then ``b`` by damped Newton steps."""
    w, wk, it = data.weights, data.workers, data.items
    for _ in range(rounds):
        beta = np.exp(b)[it]
        x = alpha[wk] * beta
        s = sigmoid(x)
        resid, curv = w * (p_true - s), w * s * (1 - s)
        grad = np.bincount(wk, resid * beta, minlength=data.n_workers) - (alpha - prior_mean)
        hess = np.bincount(wk, curv * beta**2, minlength=data.n_workers) + 1.0
        alpha = alpha + np.clip(grad / hess, -2.0, 2.0)
        x = alpha[wk] * beta
        s = sigmoid(x)
        resid, curv = w * (p_true - s), w * s * (1 - s)
        grad = np.bincount(it, resid * x, minlength=data.n_items) - (b - prior_mean)
        hess = np.bincount(it, curv * x**2 - resid * x, minlength=data.n_items) + 1.0
        b = b + np.clip(grad / np.maximum(hess, 1.0), -1.0, 1.0)
    return alpha, b


def glad(
    data: LabelData,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    m_step_rounds: int = 5,
    prior_mean: float = 1.0,
) -> LabelConsensus:
    """Fit GLAD by EM and return the posteriors.

    Args:
        data: encoded judgments.
        max_iter: the most EM rounds.
        tol: stop when no posterior moves by more than this.
        m_step_rounds: Newton rounds (alpha, then b) per M-step.
        prior_mean: mean of the unit-variance Gaussian priors on ``alpha`` and ``b``.

    Returns:
        Posteriors per item.
    """
    k = data.n_classes
    log_prior = np.full(k, -np.log(k))
    alpha, b = np.ones(data.n_workers), np.ones(data.n_items)
    post = _e_step(data, alpha[data.workers] * np.exp(b)[data.items], log_prior)
    for _ in range(max_iter):
        p_true = post[data.items, data.labels]
        alpha, b = _newton_m_step(data, alpha, b, p_true, prior_mean, m_step_rounds)
        new = _e_step(data, alpha[data.workers] * np.exp(b)[data.items], log_prior)
        delta = float(np.abs(new - post).max()) if new.size else 0.0
        post = new
        if delta < tol:
            break
    return LabelConsensus(data.item_ids, data.classes, post, "judgeloop.glad.v1")
