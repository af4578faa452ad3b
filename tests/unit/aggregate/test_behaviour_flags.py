"""Behaviour flags a project owner would notice: speed, straight-lining, copying, retest."""

from __future__ import annotations

import numpy as np
import pytest

from judgeloop.aggregate.behaviour import (
    copied_explanations,
    pasted_from_answer,
    retest_consistency,
    share_by_group,
    straight_lining,
    too_fast,
)
from judgeloop.aggregate.similarity import containment, near_copies, shingle_hashes

EXPLANATION = (
    "Answer A is better because it gives the correct date of the treaty and explains "
    "why the negotiations stalled, while B confuses the two conferences."
)


def test_too_fast_against_the_project_median() -> None:
    seconds = [60, 55, 70, 5, 65]
    assert too_fast(seconds).tolist() == [False, False, False, True, False]
    assert too_fast([30, 30], reference_median=200).all()
    per_worker = share_by_group(["a"] * 5 + ["b"] * 5, [1, 1, 1, 0, 1] + [0] * 5)
    assert per_worker.flagged.tolist() == [True, False]
    assert per_worker.share.tolist() == [0.8, 0.0]


def test_straight_lining_same_score_everywhere() -> None:
    groups = ["s1"] * 4 + ["s2"] * 4 + ["s3"] * 2
    scores = [3, 3, 3, 3, 1, 4, 2, 5, 5, 5]
    res = straight_lining(groups, scores)
    assert res.flagged.tolist() == [True, False, False]  # s3: too few answers to tell
    loose = straight_lining(groups, scores, max_mode_share=0.5, min_answers=2)
    assert loose.flagged.tolist() == [True, False, True]


def test_copied_explanations_are_caught_across_workers_and_within_one() -> None:
    texts = [
        EXPLANATION,
        EXPLANATION.replace("stalled", "failed").upper(),  # a near-copy by another worker
        "B is more complete: it lists all three side effects and cites the leaflet.",
        "I preferred the second answer since the first one never answers the question.",
        "I preferred the second answer since the first one never answers the question!",
        "ok",
        "ok",
    ]
    workers = ["w1", "w2", "w3", "w4", "w4", "w5", "w6"]
    flags = copied_explanations(texts, workers)
    assert flags.copied_across_workers.tolist() == [True, True, False, False, False, False, False]
    assert flags.repeated_by_worker.tolist() == [False, False, False, True, True, False, False]
    assert flags.group_size.tolist() == [2, 2, 1, 2, 2, 1, 1]


def test_near_copies_scale_and_find_planted_pairs() -> None:
    rng = np.random.default_rng(0)
    words = np.array(
        ["answer", "model", "correct", "wrong", "better", "worse", "because", "cites", "date"]
    )
    texts = [" ".join(rng.choice(words, 25)) for _ in range(400)]
    texts += [t + " indeed" for t in texts[:10]]
    found = near_copies(texts)
    assert (found.group[:10] >= 0).all() and (found.group[400:] >= 0).all()
    assert (found.group[10:400] < 0).sum() > 380


def test_pasted_from_the_model_answer() -> None:
    answer = (
        "The French Revolution began in 1789 with the storming of the Bastille, and it "
        "ended the absolute monarchy of Louis XVI."
    )
    texts = [answer[:90], "The answer has the right year but ignores the economic causes."]
    share, flagged = pasted_from_answer(texts, [answer, answer])
    assert flagged.tolist() == [True, False]
    assert share[0] == pytest.approx(1.0) and share[1] < 0.2
    assert containment("", answer) == 0.0
    assert len(shingle_hashes("abc")) == 1 and len(shingle_hashes("  ")) == 0


def test_retest_consistency_per_worker() -> None:
    workers = ["a", "a", "a", "a", "b", "b"]
    items = [1, 1, 2, 2, 1, 1]
    values = [4, 4, 2, 5, 3, 1]
    order = [0, 10, 1, 11, 0, 10]
    res = retest_consistency(workers, items, values, order)
    assert res.n_pairs.tolist() == [2.0, 1.0]
    assert res.consistency.tolist() == [0.5, 0.0]
    assert res.mean_abs_diff.tolist() == [1.5, 2.0]
    labels = retest_consistency(["a", "a"], [1, 1], ["x", "y"], [1, 0])
    assert labels.consistency.tolist() == [0.0] and np.isnan(labels.mean_abs_diff[0])
