"""Per-worker reliability: gold accuracy, agreement with consensus, a model estimate, flags.

Three views of the same worker, each with the count behind it:

- **gold**: share of gold items answered right (the most direct, but gold is scarce);
- **consensus**: share of labels that match the other workers' majority on the item
  (leave-one-out, so a worker does not agree with themself);
- **model**: Dawid-Skene's confusion matrix, its accuracy and an informativeness
  score that is 0 for a spammer (answers independent of the truth) and 1 for a
  perfect worker.

A worker below a project's thresholds, with enough evidence, is flagged with the
reasons written out (the owner decides what to do).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.dawid_skene import Gold
from judgeloop.aggregate.encoding import FloatArray, IntArray, LabelData, weighted_count
from judgeloop.aggregate.labels import default_label_model
from judgeloop.aggregate.majority import worker_agreement_with
from judgeloop.aggregate.results import WorkerModel


def gold_accuracy(data: LabelData, gold: Gold) -> tuple[FloatArray, FloatArray]:
    """Per worker: ``(correct, total)`` weighted judgments on gold items."""
    truth = np.full(data.n_items, -1, dtype=np.intp)
    truth[gold.item_codes] = gold.class_codes
    on_gold = truth[data.items] >= 0
    right = on_gold & (truth[data.items] == data.labels)
    total = weighted_count(data.workers, data.weights * on_gold, data.n_workers)
    correct = weighted_count(data.workers, data.weights * right, data.n_workers)
    return correct, total


def consensus_agreement(
    data: LabelData, consensus_codes: IntArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Per worker: ``(agreement rate, number of labels compared)`` against consensus.

    Without ``consensus_codes`` the consensus of each label is the majority of the
    *other* workers on that item (a tie among the top classes counts as a fractional
    match); labels on items nobody else judged are not compared. With them, each
    label is compared with the given consensus class of its item.
    """
    if consensus_codes is not None:
        return worker_agreement_with(data, consensus_codes), data.worker_counts.copy()
    counts = data.vote_counts()
    others = counts[data.items] - data.weights[:, None] * np.eye(data.n_classes)[data.labels]
    best = others.max(axis=1)
    top = (others == best[:, None]) & (best[:, None] > 0)
    n_top = top.sum(axis=1)
    compared = n_top > 0
    own_is_top = top[np.arange(len(data)), data.labels]
    match = np.divide(own_is_top, n_top, out=np.zeros(len(data)), where=compared)
    w = data.weights * compared
    n = weighted_count(data.workers, w, data.n_workers)
    hits = weighted_count(data.workers, w * match, data.n_workers)
    rate: FloatArray = np.divide(hits, n, out=np.full(data.n_workers, np.nan), where=n > 0)
    return rate, n


def informativeness(confusion: FloatArray) -> FloatArray:
    """0 for a worker whose answers ignore the truth (identical rows), 1 for a perfect one.

    The square root of Raykar and Yu's spammer score: the mean squared distance
    between the rows ``P(answer | true class)`` of each pair of classes, scaled to 1.
    """
    k = confusion.shape[-1]
    if k < 2:
        return np.zeros(confusion.shape[0])
    diff = confusion[:, :, None, :] - confusion[:, None, :, :]
    score = (diff**2).sum(axis=(1, 2, 3)) / (2 * k * (k - 1))
    return np.asarray(np.sqrt(score), dtype=np.float64)


@dataclass(frozen=True)
class Thresholds:
    """A project's bars for workers; each applies only with at least its minimum evidence."""

    min_gold_accuracy: float = 0.7
    min_gold_items: int = 5
    min_consensus_agreement: float = 0.5
    min_consensus_items: int = 10
    min_informativeness: float = 0.15
    min_model_items: int = 20


@dataclass(frozen=True, eq=False)
class WorkerReliability:
    """Reliability of every worker (arrays indexed like ``worker_ids``) and who is flagged."""

    worker_ids: npt.NDArray[Any]
    n_labels: FloatArray
    gold_correct: FloatArray
    gold_total: FloatArray
    gold_accuracy: FloatArray
    consensus_agreement: FloatArray
    consensus_n: FloatArray
    model: WorkerModel
    informativeness: FloatArray
    flagged: npt.NDArray[np.bool_]
    reasons: list[list[str]] = field(default_factory=list)

    @property
    def model_accuracy(self) -> FloatArray:
        """Accuracy from the model's confusion matrix (prior-weighted diagonal)."""
        return self.model.accuracy


def flag_workers(
    rel: WorkerReliability, thresholds: Thresholds
) -> tuple[npt.NDArray[np.bool_], list[list[str]]]:
    """Which workers fall under the thresholds, with a readable reason for each failure."""
    t = thresholds
    checks = [
        (
            (rel.gold_total >= t.min_gold_items) & (rel.gold_accuracy < t.min_gold_accuracy),
            "gold accuracy {:.2f} < {:.2f} over {:.0f} gold items",
            rel.gold_accuracy,
            t.min_gold_accuracy,
            rel.gold_total,
        ),
        (
            (rel.consensus_n >= t.min_consensus_items)
            & (rel.consensus_agreement < t.min_consensus_agreement),
            "agreement with consensus {:.2f} < {:.2f} over {:.0f} labels",
            rel.consensus_agreement,
            t.min_consensus_agreement,
            rel.consensus_n,
        ),
        (
            (rel.n_labels >= t.min_model_items) & (rel.informativeness < t.min_informativeness),
            "answers look independent of the truth"
            " (informativeness {:.2f} < {:.2f}, {:.0f} labels)",
            rel.informativeness,
            t.min_informativeness,
            rel.n_labels,
        ),
    ]
    flagged = np.zeros(len(rel.worker_ids), dtype=bool)
    reasons: list[list[str]] = [[] for _ in rel.worker_ids]
    for mask, text, value, bar, count in checks:
        flagged |= mask
        for w in np.flatnonzero(mask):
            reasons[w].append(text.format(value[w], bar, count[w]))
    return flagged, reasons


def worker_reliability(
    data: LabelData,
    *,
    gold: Gold | None = None,
    model: WorkerModel | None = None,
    thresholds: Thresholds | None = None,
) -> WorkerReliability:
    """Measure every worker on gold, against consensus and by the model, and flag.

    Args:
        data: encoded judgments of one question (or several questions pooled).
        gold: known answers for some items.
        model: a fitted worker model (default: fit the default Dawid-Skene, with gold).
        thresholds: the project's bars (default :class:`Thresholds`).

    Returns:
        Per worker: counts, rates, confusion matrix, flag and reasons.
    """
    if model is None:
        model = default_label_model(data, gold=gold).workers
    if gold is not None:
        correct, total = gold_accuracy(data, gold)
    else:
        correct = total = np.zeros(data.n_workers)
    gold_acc = np.divide(correct, total, out=np.full(data.n_workers, np.nan), where=total > 0)
    agree, agree_n = consensus_agreement(data)
    rel = WorkerReliability(
        worker_ids=data.worker_ids,
        n_labels=data.worker_counts,
        gold_correct=correct,
        gold_total=total,
        gold_accuracy=gold_acc,
        consensus_agreement=agree,
        consensus_n=agree_n,
        model=model,
        informativeness=informativeness(model.confusion),
        flagged=np.zeros(data.n_workers, dtype=bool),
    )
    flagged, reasons = flag_workers(rel, thresholds or Thresholds())
    return replace(rel, flagged=flagged, reasons=reasons)
