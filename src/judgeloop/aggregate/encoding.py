"""Turn raw (item, worker, label) rows into integer codes that every estimator shares.

Estimators work on codes (0..n-1) so that they can use ``np.bincount`` and sparse
matrix products instead of Python loops. Codes follow the sorted order of the original
ids, so the result does not depend on the order of the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

IntArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


def weighted_count(index: IntArray, weights: npt.ArrayLike, size: int) -> FloatArray:
    """``np.bincount`` with weights, typed as the float array it returns."""
    return np.asarray(np.bincount(index, weights, minlength=size), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LabelData:
    """Categorical judgments as parallel integer arrays, one entry per judgment.

    ``classes[labels[j]]`` is the label that worker ``worker_ids[workers[j]]`` gave to
    item ``item_ids[items[j]]``. ``weights`` (default 1) scales each judgment's vote.
    """

    items: IntArray
    workers: IntArray
    labels: IntArray
    item_ids: npt.NDArray[Any]
    worker_ids: npt.NDArray[Any]
    classes: npt.NDArray[Any]
    weights: FloatArray

    @property
    def n_items(self) -> int:
        """Number of distinct items."""
        return len(self.item_ids)

    @property
    def n_workers(self) -> int:
        """Number of distinct workers."""
        return len(self.worker_ids)

    @property
    def n_classes(self) -> int:
        """Number of classes (labels that may be given)."""
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.items)

    @cached_property
    def design(self) -> sparse.csr_matrix:
        """Sparse ``n_items x (n_workers * n_classes)`` matrix of judgment weights.

        Row ``i`` holds, at column ``w * K + k``, the weight of worker ``w`` answering
        ``k`` on item ``i``. ``design @ log_confusion`` is the E-step of Dawid-Skene and
        ``design.T @ posteriors`` its M-step, each a single sparse product.
        """
        cols = self.workers * self.n_classes + self.labels
        shape = (self.n_items, self.n_workers * self.n_classes)
        return sparse.csr_matrix((self.weights, (self.items, cols)), shape=shape)

    @cached_property
    def worker_counts(self) -> FloatArray:
        """Total judgment weight per worker (the number of labels when unweighted)."""
        return weighted_count(self.workers, self.weights, self.n_workers)

    @cached_property
    def item_counts(self) -> FloatArray:
        """Total judgment weight per item."""
        return weighted_count(self.items, self.weights, self.n_items)

    def vote_counts(self, worker_weights: FloatArray | None = None) -> FloatArray:
        """``n_items x n_classes`` weighted vote counts, optionally scaled per worker."""
        w = self.weights if worker_weights is None else self.weights * worker_weights[self.workers]
        flat = self.items * self.n_classes + self.labels
        counts = weighted_count(flat, w, self.n_items * self.n_classes)
        return counts.reshape(self.n_items, self.n_classes)

    def subset(self, mask: npt.NDArray[np.bool_]) -> LabelData:
        """The judgments selected by ``mask``, keeping every id and class (codes unchanged)."""
        return LabelData(
            items=self.items[mask],
            workers=self.workers[mask],
            labels=self.labels[mask],
            item_ids=self.item_ids,
            worker_ids=self.worker_ids,
            classes=self.classes,
            weights=self.weights[mask],
        )


def _dense_int_codes(arr: npt.NDArray[np.integer[Any]]) -> tuple[Any, IntArray] | None:
    """Sorted uniques and codes of integers in a small range, in linear time."""
    if not len(arr):
        return None
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo > 4 * len(arr) + 1024:
        return None
    offset = (arr - lo).astype(np.intp)
    present = np.zeros(hi - lo + 1, dtype=bool)
    present[offset] = True
    rank = np.cumsum(present, dtype=np.intp) - 1
    return (np.flatnonzero(present) + lo).astype(arr.dtype), rank[offset]


def _codes(values: npt.ArrayLike, known: npt.ArrayLike | None = None) -> tuple[Any, IntArray]:
    arr = np.asarray(values)
    if known is None and np.issubdtype(arr.dtype, np.integer):
        dense = _dense_int_codes(arr)
        if dense is not None:
            return dense
    if known is None:
        import pandas as pd  # here, not at the top: pandas costs ~0.4 s of every CLI start

        codes, uniques = pd.factorize(arr, sort=True)
        if (codes < 0).any():
            raise ValueError("ids and labels must not be missing (None or NaN)")
        return np.asarray(uniques), codes.astype(np.intp)
    uniques = np.asarray(known)
    order = np.argsort(uniques, kind="stable")
    pos = np.searchsorted(uniques, arr, sorter=order)
    pos = np.clip(pos, 0, len(uniques) - 1)
    codes = order[pos]
    if len(arr) and not np.array_equal(uniques[codes], arr):
        unknown = sorted({str(v) for v in np.setdiff1d(arr, uniques)})
        raise ValueError(f"values not among the known ones: {unknown[:5]}")
    return uniques, codes.astype(np.intp)


def encode_ids(values: npt.ArrayLike) -> tuple[npt.NDArray[Any], IntArray]:
    """Sorted distinct values and, for each input value, its index among them."""
    uniques, codes = _codes(values)
    return np.asarray(uniques), codes


def encode_labels(
    items: npt.ArrayLike,
    workers: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    classes: npt.ArrayLike | None = None,
    weights: npt.ArrayLike | None = None,
) -> LabelData:
    """Encode parallel arrays of judgments into :class:`LabelData`.

    Args:
        items: the item id of each judgment (any sortable values).
        workers: the worker id of each judgment.
        labels: the label given.
        classes: every label that may be given, in the order wanted for posterior
            columns; defaults to the sorted distinct labels seen.
        weights: an optional non-negative weight per judgment.

    Returns:
        The codes and the ids they stand for.
    """
    item_ids, item_codes = _codes(items)
    worker_ids, worker_codes = _codes(workers)
    class_values, label_codes = _codes(labels, classes)
    n = len(item_codes)
    if not len(worker_codes) == len(label_codes) == n:
        raise ValueError("items, workers and labels must have the same length")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or (w < 0).any():
        raise ValueError("weights must be one non-negative number per judgment")
    return LabelData(
        items=item_codes,
        workers=worker_codes,
        labels=label_codes,
        item_ids=item_ids,
        worker_ids=worker_ids,
        classes=class_values,
        weights=w,
    )


def row_max(values: FloatArray) -> FloatArray:
    """Maximum of each row; column by column when there are few columns (much faster)."""
    n_cols = values.shape[1]
    if n_cols == 0 or n_cols > 16:
        return np.asarray(values.max(axis=1, initial=-np.inf), dtype=np.float64)
    out = values[:, 0].copy()
    for k in range(1, n_cols):
        np.maximum(out, values[:, k], out=out)
    return out


def row_sum(values: FloatArray) -> FloatArray:
    """Sum of each row; column by column when there are few columns.

    Neither this nor :func:`row_max` calls BLAS: on a busy machine multithreaded BLAS
    on long thin arrays can be slower than a plain loop over a few columns.
    """
    n_cols = values.shape[1]
    if n_cols == 0 or n_cols > 16:
        return np.asarray(values.sum(axis=1), dtype=np.float64)
    out = values[:, 0].copy()
    for k in range(1, n_cols):
        out += values[:, k]
    return out


def softmax_rows(log_scores: FloatArray) -> FloatArray:
    """Row-wise softmax of log scores, stable against overflow."""
    out: FloatArray = log_scores - row_max(log_scores)[:, None]
    np.exp(out, out=out)
    out /= row_sum(out)[:, None]
    return out
