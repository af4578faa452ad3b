"""Dawid-Skene (full confusion matrices) and one-coin Dawid-Skene, fitted with EM.

Both steps of EM are one sparse matrix product over the judgment list (see
:attr:`LabelData.design`): the E-step adds each judgment's log-likelihood column to its
item's row, the M-step adds each item's posterior to its judgment's (worker, answer)
row. No Python loop runs over items or workers.

With ``smoothing=0`` and the default initialisation these are the estimators of
crowd-kit's ``DawidSkene`` and ``OneCoinDawidSkene`` (same updates, same 1e-10 clipping),
so the same number of iterations gives the same posteriors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from judgeloop.aggregate.encoding import FloatArray, IntArray, LabelData, softmax_rows
from judgeloop.aggregate.majority import majority_vote
from judgeloop.aggregate.results import LabelConsensus, ModelConsensus, WorkerModel

EPS = 1e-10


@dataclass(frozen=True)
class Gold:
    """Known true classes for some items: ``item_codes[g]`` has class ``class_codes[g]``."""

    item_codes: IntArray
    class_codes: IntArray

    def clamp(self, posteriors: FloatArray) -> FloatArray:
        """Posteriors with gold items set to their known class (one-hot)."""
        out = posteriors.copy()
        out[self.item_codes] = 0.0
        out[self.item_codes, self.class_codes] = 1.0
        return out


def initial_posteriors(data: LabelData, init: FloatArray | None, gold: Gold | None) -> FloatArray:
    """Starting posteriors for EM: the given array, or majority vote; gold clamped."""
    start = majority_vote(data).posteriors if init is None else np.asarray(init, np.float64)
    if start.shape != (data.n_items, data.n_classes):
        raise ValueError("init must have one row per item and one column per class")
    return gold.clamp(start) if gold is not None else start


def answer_counts(data: LabelData, posteriors: FloatArray) -> FloatArray:
    """Expected counts ``[w, o, t]``: weight of worker w answering o on items of true class t."""
    k = data.n_classes
    counts: FloatArray = np.asarray(data.design.T @ posteriors).reshape(data.n_workers, k, k)
    return counts


def observed_answers(data: LabelData) -> FloatArray:
    """``[w, o]`` = 1.0 where worker w gave answer o at least once, else 0.0."""
    flat = np.bincount(
        data.workers * data.n_classes + data.labels,
        minlength=data.n_workers * data.n_classes,
    )
    return (flat > 0).astype(np.float64).reshape(data.n_workers, data.n_classes)


def confusion_from_counts(
    counts: FloatArray, observed: FloatArray, smoothing: float, diagonal: float
) -> FloatArray:
    """M-step: normalise expected counts ``[w, o, t]`` over answers ``o`` into ``P(o | t)``.

    With no pseudo-counts this follows crowd-kit: answers a worker gave are clipped
    at 1e-10 and answers never given stay 0. Pseudo-counts (``smoothing`` on every
    cell, ``diagonal`` extra on the right answer) make a Dirichlet prior instead.
    """
    if smoothing > 0 or diagonal > 0:
        k = counts.shape[1]
        counts = counts + smoothing + diagonal * np.eye(k)[None, :, :]
    else:
        counts = np.maximum(counts, EPS) * observed[:, :, None]
    totals = counts.sum(axis=1, keepdims=True)
    out: FloatArray = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return out


def e_step(data: LabelData, log_conf: FloatArray, log_prior: FloatArray) -> FloatArray:
    """E-step: posteriors from log ``P(o | t)`` laid out ``[w, o, t]`` and log class priors."""
    k = data.n_classes
    scores = np.asarray(data.design @ log_conf.reshape(data.n_workers * k, k)) + log_prior
    return softmax_rows(scores)


def safe_log(values: FloatArray) -> FloatArray:
    """Natural log with zeros mapped to a large negative number instead of -inf."""
    out: FloatArray = np.log(np.maximum(values, 1e-300))
    return out


def worker_model(
    data: LabelData, conf_ot: FloatArray, priors: FloatArray, n_iter: int, converged: bool
) -> WorkerModel:
    """Package confusion matrices laid out ``[w, o, t]`` as a :class:`WorkerModel`."""
    confusion = np.ascontiguousarray(conf_ot.transpose(0, 2, 1))
    diag = np.diagonal(confusion, axis1=1, axis2=2)
    accuracy = np.asarray(diag @ priors, dtype=np.float64)
    return WorkerModel(data.worker_ids, confusion, priors, accuracy, n_iter, converged)


def dawid_skene(
    data: LabelData,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.0,
    diagonal: float = 0.0,
    init: FloatArray | None = None,
    gold: Gold | None = None,
) -> ModelConsensus:
    """Fit the Dawid-Skene model: one full confusion matrix per worker, EM from majority vote.

    Args:
        data: encoded judgments.
        max_iter: the most E-steps to run.
        tol: stop when no posterior moves by more than this between two E-steps
            (0 runs all ``max_iter`` steps).
        smoothing: Dirichlet pseudo-count added to every confusion cell.
        diagonal: extra pseudo-count on the right answer (a prior that workers are
            better than chance; it helps workers with few labels).
        init: starting posteriors ``n_items x n_classes`` (default: majority vote).
        gold: items whose class is known; their posteriors stay fixed.

    Returns:
        Posteriors per item and each worker's confusion matrix.
    """
    post = initial_posteriors(data, init, gold)
    observed = observed_answers(data)
    conf = confusion_from_counts(answer_counts(data, post), observed, smoothing, diagonal)
    priors = post.mean(axis=0)
    n_iter, converged = 0, False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        new = e_step(data, safe_log(conf), np.log(np.maximum(priors, EPS)))
        if gold is not None:
            new = gold.clamp(new)
        priors = new.mean(axis=0)
        conf = confusion_from_counts(answer_counts(data, new), observed, smoothing, diagonal)
        delta = float(np.abs(new - post).max()) if new.size else 0.0
        post = new
        if delta < tol:
            converged = True
            break
    consensus = LabelConsensus(data.item_ids, data.classes, post, "judgeloop.dawid_skene.v1")
    return ModelConsensus(consensus, worker_model(data, conf, priors, n_iter, converged))


def one_coin_confusion(skills: FloatArray, k: int) -> FloatArray:
    """Confusion ``[w, o, t]`` of workers who are right with probability ``skills[w]``."""
    wrong = (1.0 - skills) / max(k - 1, 1)
    conf = np.broadcast_to(wrong[:, None, None], (len(skills), k, k)).copy()
    idx = np.arange(k)
    conf[:, idx, idx] = skills[:, None]
    out: FloatArray = np.clip(conf, EPS, 1 - EPS)
    return out


def one_coin_skills(
    data: LabelData, posteriors: FloatArray, prior_right: float, prior_wrong: float
) -> FloatArray:
    """Expected accuracy per worker under the posteriors, with Beta pseudo-counts."""
    right = np.bincount(
        data.workers,
        data.weights * posteriors[data.items, data.labels],
        minlength=data.n_workers,
    )
    total = data.worker_counts + prior_right + prior_wrong
    out: FloatArray = np.divide(
        right + prior_right, total, out=np.full(data.n_workers, 0.5), where=total > 0
    )
    return out


def one_coin_dawid_skene(
    data: LabelData,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    prior_right: float = 0.0,
    prior_wrong: float = 0.0,
    init: FloatArray | None = None,
    gold: Gold | None = None,
) -> ModelConsensus:
    """Fit one-coin Dawid-Skene: each worker has one accuracy, errors spread evenly.

    It needs far fewer labels per worker than the full model (one number instead of
    ``K * (K - 1)``), so it suits sparse workers. ``prior_right``/``prior_wrong`` are
    Beta pseudo-counts on each accuracy. Other arguments as in :func:`dawid_skene`.

    Returns:
        Posteriors per item and each worker's (one-coin) confusion matrix.
    """
    k = data.n_classes
    post = initial_posteriors(data, init, gold)
    skills = one_coin_skills(data, post, prior_right, prior_wrong)
    priors = post.mean(axis=0)
    n_iter, converged = 0, False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        log_conf = np.log(one_coin_confusion(skills, k))
        new = e_step(data, log_conf, np.log(np.maximum(priors, EPS)))
        if gold is not None:
            new = gold.clamp(new)
        priors = new.mean(axis=0)
        skills = one_coin_skills(data, new, prior_right, prior_wrong)
        delta = float(np.abs(new - post).max()) if new.size else 0.0
        post = new
        if delta < tol:
            converged = True
            break
    consensus = LabelConsensus(data.item_ids, data.classes, post, "judgeloop.one_coin_ds.v1")
    model = worker_model(data, one_coin_confusion(skills, k), priors, n_iter, converged)
    return ModelConsensus(consensus, model)


def posteriors_from_accuracy(
    data: LabelData, accuracy: FloatArray, priors: FloatArray | None = None
) -> FloatArray:
    """Posterior per item when each worker is right with a known probability (one-coin).

    Args:
        data: encoded judgments.
        accuracy: per worker code, the chance the worker gives the true class
            (e.g. from gold items); 1/K is a coin flip and carries no information.
        priors: class prior (default uniform).

    Returns:
        ``n_items x n_classes`` posteriors.
    """
    k = data.n_classes
    prior = np.full(k, 1.0 / k) if priors is None else np.asarray(priors, np.float64)
    log_conf = np.log(one_coin_confusion(np.asarray(accuracy, np.float64), k))
    return e_step(data, log_conf, np.log(np.maximum(prior, 1e-300)))
