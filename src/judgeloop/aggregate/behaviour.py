"""Behaviour flags on submissions and workers: too fast, straight-lining, copying, retest.

Pure functions over arrays (and texts, for copying); each returns what it flagged
together with the figure behind the flag, so the owner can see why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from judgeloop.aggregate.encoding import FloatArray, IntArray, encode_ids
from judgeloop.aggregate.similarity import containment, near_copies

BoolArray = npt.NDArray[np.bool_]


def too_fast(
    seconds: npt.ArrayLike, *, reference_median: float | None = None, fraction: float = 0.25
) -> BoolArray:
    """Flag submissions that took less than ``fraction`` of the median time.

    Args:
        seconds: time spent on each submission.
        reference_median: the project's (or template's) median time; default the
            median of ``seconds``.
        fraction: the share of the median under which a submission is too fast.

    Returns:
        One flag per submission.
    """
    s = np.asarray(seconds, dtype=np.float64)
    median = float(np.median(s)) if reference_median is None else reference_median
    return np.asarray(s < fraction * median, dtype=bool)


@dataclass(frozen=True, eq=False)
class GroupShare:
    """Per group (a worker, a submission): how many entries and the share that matched."""

    group_ids: npt.NDArray[Any]
    n: FloatArray
    share: FloatArray
    flagged: BoolArray


def share_by_group(
    groups: npt.ArrayLike, flags: npt.ArrayLike, *, max_share: float = 0.5, min_n: int = 5
) -> GroupShare:
    """Per group, the share of flagged entries; flag groups above ``max_share`` with ``min_n``.

    Use it to turn per-submission flags (e.g. :func:`too_fast`) into worker flags.
    """
    ids, codes = encode_ids(groups)
    f = np.asarray(flags, dtype=np.float64)
    n = np.bincount(codes, minlength=len(ids)).astype(np.float64)
    share = np.bincount(codes, f, minlength=len(ids)) / n
    return GroupShare(ids, n, share, (n >= min_n) & (share > max_share))


def straight_lining(
    groups: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    min_answers: int = 3,
    max_mode_share: float = 1.0,
) -> GroupShare:
    """Flag groups that give (nearly) the same score everywhere.

    Args:
        groups: the group of each score: a submission (its rubric dimensions) or a
            worker (all their ratings).
        values: the score.
        min_answers: groups with fewer scores are never flagged.
        max_mode_share: flag when the most common score's share is at least this
            (1.0: every score identical).

    Returns:
        Per group: the number of scores, the share of the most common one, the flag.
    """
    ids, g = encode_ids(groups)
    _, v = encode_ids(values)
    n_values = int(v.max()) + 1 if len(v) else 1
    cells = np.bincount(g * n_values + v, minlength=len(ids) * n_values)
    per = cells.reshape(len(ids), n_values)
    n = per.sum(axis=1).astype(np.float64)
    share = per.max(axis=1) / np.maximum(n, 1)
    return GroupShare(ids, n, share, (n >= min_answers) & (share >= max_mode_share))


@dataclass(frozen=True, eq=False)
class CopyFlags:
    """Per text: its near-copy group, group size, and whether others wrote it too.

    ``copied_across_workers`` is set when a text's group holds texts of another
    worker; ``repeated_by_worker`` when it holds another text of the same worker.
    """

    group: IntArray
    group_size: IntArray
    copied_across_workers: BoolArray
    repeated_by_worker: BoolArray


def copied_explanations(
    texts: Sequence[str], workers: npt.ArrayLike, *, threshold: float = 0.8, min_chars: int = 20
) -> CopyFlags:
    """Flag explanations that are (near-)copies of another submission's explanation.

    Args:
        texts: one explanation per submission.
        workers: the worker of each submission.
        threshold: estimated Jaccard similarity of character shingles for a copy.
        min_chars: shorter texts are never flagged.

    Returns:
        Group, group size and the two copy flags per text.
    """
    found = near_copies(texts, threshold=threshold, min_chars=min_chars)
    _, w = encode_ids(workers)
    if len(w) != len(found.group):
        raise ValueError("texts and workers must have the same length")
    g = found.group
    in_group = g >= 0
    none = np.zeros(len(g), dtype=bool)
    if not in_group.any():
        return CopyFlags(g, found.group_sizes(), none, none.copy())
    key = np.where(in_group, g, 0)
    n_groups, n_workers = int(g.max()) + 1, int(w.max()) + 1
    cell = np.bincount(key[in_group] * n_workers + w[in_group], minlength=n_groups * n_workers)
    per = cell.reshape(n_groups, n_workers)  # texts per (group, worker)
    writers = (per > 0).sum(axis=1)
    across = in_group & (writers[key] > 1)
    repeated = in_group & (per[key, w] > 1)
    return CopyFlags(g, found.group_sizes(), across, repeated)


def pasted_from_answer(
    texts: Sequence[str], sources: Sequence[str], *, threshold: float = 0.6, k: int = 8
) -> tuple[FloatArray, BoolArray]:
    """Flag explanations pasted from the model answer they judge.

    Args:
        texts: one explanation per submission.
        sources: the answer text(s) shown with each submission (join several with
            a newline).
        threshold: the share of the explanation's shingles found in the answer above
            which it counts as pasted.
        k: shingle length; longer than for near-copies, so that quoting a few
            words does not count.

    Returns:
        ``(containment, flagged)`` per explanation.
    """
    if len(texts) != len(sources):
        raise ValueError("texts and sources must have the same length")
    share = np.array([containment(t, s, k) for t, s in zip(texts, sources, strict=True)])
    return share, share >= threshold


@dataclass(frozen=True, eq=False)
class RetestResult:
    """Test-retest consistency per worker over items they judged more than once.

    ``n_pairs[w]`` repeated judgments compared with the worker's first one;
    ``consistency[w]`` the share identical (categorical) and ``mean_abs_diff[w]`` the
    mean absolute difference (numeric; NaN for categorical values).
    """

    worker_ids: npt.NDArray[Any]
    n_pairs: FloatArray
    consistency: FloatArray
    mean_abs_diff: FloatArray


def retest_consistency(
    workers: npt.ArrayLike, items: npt.ArrayLike, values: npt.ArrayLike, order: npt.ArrayLike
) -> RetestResult:
    """Compare each repeated judgment of an item by a worker with their first one.

    Args:
        workers: the worker of each judgment.
        items: the item.
        values: the answer (numbers give a mean absolute difference too).
        order: when it was given (e.g. a timestamp); the earliest is the reference.

    Returns:
        Per worker: pairs compared, share identical, mean absolute difference.
    """
    worker_ids, w = encode_ids(workers)
    _, it = encode_ids(items)
    vals = np.asarray(values)
    srt = np.lexsort((np.asarray(order), it, w))
    w, it, vals = w[srt], it[srt], vals[srt]
    first = np.r_[True, (w[1:] != w[:-1]) | (it[1:] != it[:-1])]
    ref = vals[np.maximum.accumulate(np.where(first, np.arange(len(w)), 0))]
    repeat = ~first
    n_w = len(worker_ids)
    n = np.bincount(w[repeat], minlength=n_w).astype(np.float64)
    same = np.bincount(w[repeat], (vals == ref)[repeat], minlength=n_w)
    consistency = np.divide(same, n, out=np.full(n_w, np.nan), where=n > 0)
    mad = np.full(n_w, np.nan)
    if vals.dtype.kind in "iuf":
        diff = np.abs(vals.astype(np.float64) - ref.astype(np.float64))
        total = np.bincount(w[repeat], diff[repeat], minlength=n_w)
        mad = np.divide(total, n, out=mad, where=n > 0)
    return RetestResult(worker_ids, n, consistency, mad)
