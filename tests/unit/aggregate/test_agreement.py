"""Fleiss' kappa, pairwise agreement, bootstrap intervals, A/B agreement with and without ties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgeloop.aggregate.agreement import (
    agreement_report,
    fleiss_kappa,
    pairwise_agreement,
    preference_agreement,
    resample_counts,
)
from tests.unit.aggregate.crowds import load_truth_inference

# Fleiss (1971) as worked on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def _from_table(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, k = table.shape
    items = np.repeat(np.repeat(np.arange(n), k), table.ravel())
    values = np.repeat(np.tile(np.arange(k), n), table.ravel())
    return items, values


def _naive_fleiss(table: np.ndarray) -> float:
    m = table.sum(axis=1)
    p_i = ((table * (table - 1)).sum(axis=1)) / (m * (m - 1))
    p_j = table.sum(axis=0) / table.sum()
    return float((p_i.mean() - (p_j**2).sum()) / (1 - (p_j**2).sum()))


def test_fleiss_kappa_worked_example() -> None:
    assert fleiss_kappa(*_from_table(FLEISS_TABLE)) == pytest.approx(0.2099, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12), st.integers(2, 5), st.integers(2, 6), st.integers(0, 10**6))
def test_fleiss_kappa_equals_the_textbook_formula(n_items, k, raters, seed) -> None:
    rng = np.random.default_rng(seed)
    table = np.stack([rng.multinomial(raters, rng.dirichlet(np.ones(k))) for _ in range(n_items)])
    if (table.sum(axis=0) == raters * n_items).any():
        return  # a single category: kappa undefined
    assert fleiss_kappa(*_from_table(table)) == pytest.approx(_naive_fleiss(table), abs=1e-9)


def test_pairwise_agreement_by_hand() -> None:
    # item 1: a a b -> 1 agreeing pair of 3; item 2: c c -> 1 of 1; item 3 has one judgment
    got = pairwise_agreement([1, 1, 1, 2, 2, 3], ["a", "a", "b", "c", "c", "d"])
    assert got == pytest.approx(2 / 4)


def test_report_on_real_data_has_intervals_around_the_estimates() -> None:
    answers, _ = load_truth_inference("s4_Face")
    report = agreement_report(answers.task, answers.label, n_bootstrap=200, seed=1)
    for est in (report.alpha, report.fleiss_kappa, report.pairwise):
        assert est.ci_low < est.value < est.ci_high
    assert report.n_items == answers.task.nunique()
    assert report.n_judgments == len(answers)
    again = agreement_report(answers.task, answers.label, n_bootstrap=200, seed=1)
    assert again == report


def test_identical_judgments_give_one_everywhere() -> None:
    items = np.repeat(np.arange(20), 3)
    values = np.repeat(np.arange(20) % 4, 3)
    report = agreement_report(items, values, level="ordinal", n_bootstrap=50)
    assert report.alpha.value == pytest.approx(1.0)
    assert report.fleiss_kappa.value == pytest.approx(1.0)
    assert report.pairwise.value == 1.0
    assert report.alpha.ci_low == pytest.approx(1.0)


def test_resample_counts_draw_each_item_set_once_per_row() -> None:
    blocks = list(resample_counts(50, 30, seed=0, chunk=7))
    counts = np.concatenate(blocks)
    assert counts.shape == (30, 50)
    assert (counts.sum(axis=1) == 50).all()


def test_preference_agreement_with_and_without_ties() -> None:
    # three raters per item: two agree on a side, the third says tie
    items = np.repeat(np.arange(30), 3)
    side = np.repeat(np.arange(30) % 2, 3).astype(float)
    outcome = side.copy()
    outcome[2::3] = 0.5
    res = preference_agreement(items, outcome, n_bootstrap=50)
    assert res.tie_share == pytest.approx(1 / 3)
    assert res.without_ties.pairwise.value == 1.0
    assert res.without_ties.alpha.value == pytest.approx(1.0)
    assert res.with_ties.pairwise.value == pytest.approx(1 / 3)
    assert res.with_ties.n_judgments == 90 and res.without_ties.n_judgments == 60
