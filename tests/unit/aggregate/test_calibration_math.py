"""aggregate.calibration: judge-vs-people agreement, rates and rank correlation (pure)."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from scipy.stats import spearmanr

from judgeloop.aggregate.agreement import Estimate
from judgeloop.aggregate.calibration import (
    consensus_sets,
    judge_agreement,
    paired_ratios,
    rank_correlation,
    ratio_estimate,
)


def _brackets(est: Estimate) -> bool:
    return est.ci_low - 1e-12 <= est.value <= est.ci_high + 1e-12


def test_consensus_is_the_mode_or_the_median_and_ties_keep_every_value() -> None:
    counts = np.array([[2.0, 2.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 0.0]])
    assert consensus_sets(counts, "nominal").tolist() == [
        [True, True, False],
        [False, True, False],
        [False, False, False],
    ]
    scale = np.array(
        [
            [1.0, 0.0, 1.0, 0.0, 0.0],  # 1 and 3: every value between is a median
            [1.0, 1.0, 1.0, 0.0, 0.0],  # 1, 2, 3: 2
            [0.0, 0.0, 0.0, 0.0, 2.0],  # 5, 5
        ]
    )
    assert consensus_sets(scale, "ordinal").tolist() == [
        [True, True, True, False, False],
        [False, True, False, False, False],
        [False, False, False, False, True],
    ]


def test_a_judge_that_answers_like_unanimous_people_agrees_perfectly() -> None:
    units = np.repeat(np.arange(30), 3)
    truth = np.random.default_rng(1).choice(["x", "y", "z"], 30)
    result = judge_agreement(units, truth[units], np.arange(30), truth, n_bootstrap=200)
    for est in (result.exact, result.alpha, result.pairwise, result.human_exact):
        assert est.value == 1.0 and _brackets(est)
    assert result.human_alpha.value == pytest.approx(1.0) and result.pairwise_gap.value == 0.0
    assert math.isnan(result.mean_abs_error.value)  # nominal: no distance
    assert (result.n_units, result.n_human_units, result.n_judgments) == (30, 30, 90)


def test_alphas_match_the_krippendorff_package() -> None:
    rng = np.random.default_rng(3)
    n = 40
    truth = rng.integers(1, 6, n).astype(float)
    people = np.clip(truth[None, :] + rng.integers(-1, 2, (3, n)), 1, 5)
    judge = np.clip(truth + rng.integers(-1, 2, n), 1, 5)
    units = np.tile(np.arange(n), 3)
    for level in ("nominal", "ordinal", "interval"):
        result = judge_agreement(
            units, people.ravel(), np.arange(n), judge, level=level, domain=[1.0, 2, 3, 4, 5]
        )
        expected = krippendorff.alpha(
            reliability_data=people, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5]
        )
        assert result.human_alpha.value == pytest.approx(expected, abs=1e-9)
        assert _brackets(result.human_alpha) and _brackets(result.alpha)
    # With an odd number of people and no ties, the consensus is one value per unit:
    # the judge-consensus alpha is alpha of two coders.
    median = np.median(people, axis=0)
    result = judge_agreement(
        units, people.ravel(), np.arange(n), judge, level="ordinal", domain=[1.0, 2, 3, 4, 5]
    )
    expected = krippendorff.alpha(
        reliability_data=np.stack([median, judge]),
        level_of_measurement="ordinal",
        value_domain=[1, 2, 3, 4, 5],
    )
    assert result.alpha.value == pytest.approx(expected, abs=1e-9)
    assert result.exact.value == pytest.approx(float(np.mean(median == judge)))


def test_ties_split_the_credit_and_each_person_is_measured_against_the_others() -> None:
    # Unit 0: people a, b (a tie); unit 1: a, a, b. The judge says a on both.
    result = judge_agreement(
        [0, 0, 1, 1, 1], ["a", "b", "a", "a", "b"], [0, 1], ["a", "a"], n_bootstrap=0
    )
    assert result.exact.value == pytest.approx((0.5 + 1.0) / 2)
    assert result.pairwise.value == pytest.approx(3 / 5)
    # Unit 0: each is against the other (0 + 0); unit 1: the a's each meet a tie (a, b)
    # and earn 1/2, the b meets a, a and earns 0.
    assert result.human_exact.value == pytest.approx((0 + 0 + 0.5 + 0.5 + 0) / 5)
    assert result.human_pairwise.value == pytest.approx(2 / 8)
    assert math.isnan(result.exact.ci_low)  # no bootstrap, no interval


def test_mean_distance_from_the_peoples_mean_on_a_scale() -> None:
    result = judge_agreement(
        [0, 0, 0, 1, 1], [1, 2, 3, 4, 4], [0, 1], [3, 4], level="ordinal", domain=[1, 2, 3, 4, 5]
    )
    assert result.mean_abs_error.value == pytest.approx((1 + 0) / 2)
    # Unit 0: 1 vs 2.5, 2 vs 2, 3 vs 1.5; unit 1: 0 and 0.
    assert result.human_mean_abs_error.value == pytest.approx((1.5 + 0 + 1.5) / 5)
    assert result.exact.value == pytest.approx(0.5)


def test_units_without_people_or_without_the_judge_are_left_out() -> None:
    result = judge_agreement([0, 0, 1], ["a", "a", "b"], [0, 2], ["a", "c"], n_bootstrap=50)
    assert result.n_units == 1 and result.exact.value == 1.0
    with pytest.raises(ValueError, match="outside the domain"):
        judge_agreement([0], [7.0], [0], [1.0], level="ordinal", domain=[1.0, 2.0])
    empty = judge_agreement([], [], [], [], n_bootstrap=20)
    assert empty.n_units == 0 and math.isnan(empty.exact.value)


def test_ratio_estimate_resamples_whole_groups_and_is_seeded() -> None:
    rate = ratio_estimate([1, 1, 2, 2], [1, 0, 1, 1], n_bootstrap=500, seed=4)
    assert rate.value == pytest.approx(0.75) and _brackets(rate)
    assert rate == ratio_estimate([1, 1, 2, 2], [1, 0, 1, 1], n_bootstrap=500, seed=4)
    one_group = ratio_estimate([7, 7, 7], [1, 0, 1], n_bootstrap=100)
    assert one_group.ci_low == one_group.ci_high == pytest.approx(2 / 3)
    weighted = ratio_estimate([1, 2], [3, 1], [4, 4], n_bootstrap=0)
    assert weighted.value == pytest.approx(0.5)
    assert math.isnan(ratio_estimate([], [], n_bootstrap=10).value)


def test_paired_ratios_give_the_difference_on_the_same_draws() -> None:
    groups = np.repeat(np.arange(20), 2)
    judge = np.ones(40)
    people = np.tile([1.0, 0.0], 20)
    both = paired_ratios(
        (groups, judge, np.ones(40)), (groups, people, np.ones(40)), n_bootstrap=300
    )
    assert (both.first.value, both.second.value) == (1.0, 0.5)
    assert both.difference.value == pytest.approx(0.5)
    # Every group holds one hit and one miss for people: the difference never moves.
    assert both.difference.ci_low == pytest.approx(0.5) == both.difference.ci_high


def test_rank_correlation_is_spearman() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(10, 500, 60).astype(float)
    y = np.clip(np.round(x / 100 + rng.normal(0, 1, 60)), 1, 5)
    rho = rank_correlation(np.arange(60) // 2, x, y, n_bootstrap=300)
    assert rho.value == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert _brackets(rho) and rho.ci_low > 0
    assert math.isnan(rank_correlation([0, 1, 2], [1, 2, 3], [4, 4, 4]).value)
    assert math.isnan(rank_correlation([0, 1], [1, 2], [1, 2]).value)


def test_units_of_one_item_are_resampled_together() -> None:
    # Two answers per item, the judge right on one and wrong on the other of every item:
    # resampling items, the share never moves; resampling answers, it does.
    units = np.arange(40)
    people = np.zeros(40)
    judge = np.tile([0.0, 1.0], 20)
    items = units // 2
    by_item = judge_agreement(
        units, people, units, judge, judge_groups=items, domain=[0.0, 1.0], n_bootstrap=200
    )
    by_unit = judge_agreement(units, people, units, judge, domain=[0.0, 1.0], n_bootstrap=200)
    assert by_item.exact.value == by_unit.exact.value == 0.5
    assert by_item.exact.ci_low == by_item.exact.ci_high == 0.5
    assert by_unit.exact.ci_low < 0.5 < by_unit.exact.ci_high
