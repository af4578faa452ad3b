"""Bradley-Terry-Davidson scores, bootstrap intervals and win-rate matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from judgeloop.aggregate.bradley_terry import (
    bradley_terry,
    encode_comparisons,
    pair_totals,
    win_rate_matrix,
)

STRENGTH = np.array([0.0, 0.5, 1.0, -0.7, 2.0])


def _simulate(n: int = 6000, nu: float = 0.4, seed: int = 1):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, n)
    b = (a + rng.integers(1, 5, n)) % 5
    pa, pb = np.exp(STRENGTH[a]), np.exp(STRENGTH[b])
    pt = nu * np.sqrt(pa * pb)
    u = rng.random(n) * (pa + pb + pt)
    outcome = np.where(u < pa, 1.0, np.where(u < pa + pt, 0.5, 0.0))
    return np.array([f"m{x}" for x in a]), np.array([f"m{x}" for x in b]), outcome


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sklearn on scipy 1.17
def test_without_ties_it_is_logistic_regression() -> None:
    first, second, outcome = _simulate(nu=0.0)
    comps = encode_comparisons(first, second, outcome)
    ours = bradley_terry(comps, n_bootstrap=0, prior=1e-8)
    x = np.zeros((len(outcome), 5))
    x[np.arange(len(outcome)), comps.first] = 1
    x[np.arange(len(outcome)), comps.second] = -1
    lr = LogisticRegression(fit_intercept=False, C=1e8, tol=1e-12, max_iter=10_000)
    coef = lr.fit(x, outcome).coef_[0]
    assert np.allclose(ours.scores, coef - coef.mean(), atol=1e-5)
    assert ours.tie_strength == 0.0


def test_scores_and_tie_strength_are_recovered_with_intervals() -> None:
    first, second, outcome = _simulate(n=20_000, nu=0.4)
    res = bradley_terry(encode_comparisons(first, second, outcome), n_bootstrap=100, seed=3)
    assert np.allclose(res.scores, STRENGTH - STRENGTH.mean(), atol=0.06)
    assert res.tie_strength == pytest.approx(0.4, abs=0.03)
    assert (res.ci_low < res.scores).all() and (res.scores < res.ci_high).all()
    assert res.ranking.tolist() == ["m4", "m2", "m1", "m0", "m3"]
    assert res.elo[4] > res.elo[2] and res.elo.mean() == pytest.approx(1000.0)


def test_bootstrap_is_seeded_and_clusters_widen_intervals() -> None:
    first, second, outcome = _simulate(n=3000)
    comps = encode_comparisons(first, second, outcome)
    a = bradley_terry(comps, n_bootstrap=60, seed=9)
    b = bradley_terry(comps, n_bootstrap=60, seed=9)
    assert np.array_equal(a.ci_low, b.ci_low)
    # every vote repeated 5 times: resampling single votes is too confident
    rep = encode_comparisons(np.repeat(first, 5), np.repeat(second, 5), np.repeat(outcome, 5))
    naive = bradley_terry(rep, n_bootstrap=60, seed=9)
    clustered = bradley_terry(rep, n_bootstrap=60, seed=9, groups=np.repeat(np.arange(3000), 5))
    assert ((clustered.ci_high - clustered.ci_low) > 1.8 * (naive.ci_high - naive.ci_low)).all()


def test_a_model_that_always_wins_gets_a_finite_top_score() -> None:
    res = bradley_terry(
        encode_comparisons(["a", "a", "b"], ["b", "c", "c"], [1, 1, 1]), n_bootstrap=20
    )
    assert np.isfinite(res.scores).all()
    assert res.ranking.tolist() == ["a", "b", "c"]


def test_win_rate_matrix_counts_ties_as_half() -> None:
    comps = encode_comparisons(["a", "a", "b", "a"], ["b", "b", "a", "c"], [1.0, 0.5, 1.0, 0.0])
    rates, counts = win_rate_matrix(comps)
    assert rates[0, 1] == pytest.approx((1 + 0.5) / 3)
    assert rates[1, 0] == pytest.approx(1 - rates[0, 1])
    assert counts[0, 1] == 3 and counts[0, 2] == 1
    assert np.isnan(rates[1, 2]) and np.isnan(rates[0, 0])


def test_expected_win_rates_are_complementary() -> None:
    first, second, outcome = _simulate(n=2000)
    m = bradley_terry(encode_comparisons(first, second, outcome), n_bootstrap=0)
    e = m.expected_win_rates()
    off = ~np.eye(5, dtype=bool)
    assert np.allclose((e + e.T)[off], 1.0)
    win, tie = m.probabilities()
    assert np.allclose((win + win.T + tie)[off], 1.0)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from([0.0, 0.5, 1.0])),
        min_size=1,
        max_size=40,
    )
)
def test_swapping_sides_or_renaming_models_changes_nothing(rows) -> None:
    rows = [r for r in rows if r[0] != r[1]]
    if not rows:
        return
    a, b, o = (np.array(x) for x in zip(*rows, strict=True))
    base = bradley_terry(encode_comparisons(a, b, o), n_bootstrap=0)
    swapped = bradley_terry(encode_comparisons(b, a, 1.0 - o), n_bootstrap=0)
    assert np.allclose(base.scores, swapped.scores, atol=1e-6)
    renamed = bradley_terry(encode_comparisons(10 - a, 10 - b, o), n_bootstrap=0)
    assert np.allclose(base.scores, renamed.scores[::-1], atol=1e-6)


def test_pair_totals_and_bad_input() -> None:
    comps = encode_comparisons([2, 1], [1, 2], [1.0, 0.5])
    t = pair_totals(comps)
    assert t.lo.tolist() == [0] and t.wins_hi.tolist() == [1.0] and t.ties.tolist() == [1.0]
    with pytest.raises(ValueError):
        encode_comparisons(["a"], ["a"], [1.0])
    with pytest.raises(ValueError):
        encode_comparisons(["a"], ["b"], [0.7])
