"""Majority vote, weighted majority vote and Wawa (majority weighted by agreement)."""

from __future__ import annotations

import numpy as np

from judgeloop.aggregate.encoding import FloatArray, LabelData
from judgeloop.aggregate.results import LabelConsensus


def _normalize(counts: FloatArray) -> FloatArray:
    totals = counts.sum(axis=1, keepdims=True)
    k = counts.shape[1]
    out: FloatArray = np.divide(
        counts, totals, out=np.full_like(counts, 1.0 / max(k, 1)), where=totals > 0
    )
    return out


def majority_vote(data: LabelData, worker_weights: FloatArray | None = None) -> LabelConsensus:
    """Majority vote per item; the posterior is each class's share of the (weighted) votes.

    Args:
        data: encoded judgments.
        worker_weights: optional weight per worker code (weighted majority vote).

    Returns:
        The vote shares per item; ties go to the first class. An item without votes
        gets a uniform posterior.
    """
    counts = data.vote_counts(worker_weights)
    method = "judgeloop.majority_vote.v1" if worker_weights is None else "judgeloop.weighted_mv.v1"
    return LabelConsensus(data.item_ids, data.classes, _normalize(counts), method)


def worker_agreement_with(data: LabelData, item_codes: FloatArray | np.ndarray) -> FloatArray:
    """Share of each worker's (weighted) judgments that equal the given per-item labels.

    Workers without judgments get NaN.
    """
    hit = (data.labels == np.asarray(item_codes)[data.items]).astype(np.float64)
    agree = np.bincount(data.workers, hit * data.weights, minlength=data.n_workers)
    total = data.worker_counts
    out: FloatArray = np.divide(agree, total, out=np.full(data.n_workers, np.nan), where=total > 0)
    return out


def wawa(data: LabelData) -> LabelConsensus:
    """Wawa: majority vote weighted by each worker's agreement with the plain majority.

    This is crowd-kit's ``Wawa``: one pass of majority vote, a skill per worker equal
    to their share of answers matching it, then a majority vote weighted by skill.
    """
    skills = np.nan_to_num(worker_agreement_with(data, majority_vote(data).codes))
    counts = data.vote_counts(skills)
    return LabelConsensus(data.item_ids, data.classes, _normalize(counts), "judgeloop.wawa.v1")
