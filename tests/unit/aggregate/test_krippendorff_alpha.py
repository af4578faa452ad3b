"""Krippendorff's alpha against the `krippendorff` package, and its invariants."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judgeloop.aggregate.alpha import (
    alpha_from_coincidences,
    bootstrap_alpha,
    coincidences,
    krippendorff_alpha,
    value_counts,
)

LEVELS = ["nominal", "ordinal", "interval", "ratio"]

# Krippendorff's own worked example (also the package's doctest)
EXAMPLE = np.array(
    [
        [np.nan, np.nan, np.nan, np.nan, np.nan, 3, 4, 1, 2, 1, 1, 3, 3, np.nan, 3],
        [1, np.nan, 2, 1, 3, 3, 4, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        [np.nan, np.nan, 2, 1, 3, 4, 4, np.nan, 2, 1, 1, 3, 3, np.nan, 4],
    ]
)


def _long(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coders, units = matrix.shape
    return np.tile(np.arange(units), coders), matrix.ravel()


@pytest.mark.parametrize("level", LEVELS)
def test_worked_example(level: str) -> None:
    items, values = _long(EXAMPLE)
    expected = krippendorff.alpha(reliability_data=EXAMPLE, level_of_measurement=level)
    assert krippendorff_alpha(items, values, level=level) == pytest.approx(expected, abs=1e-12)
    if level == "nominal":
        assert krippendorff_alpha(items, values, level=level) == pytest.approx(0.691358, abs=1e-6)


@st.composite
def reliability_matrices(draw: st.DrawFn) -> np.ndarray:
    coders = draw(st.integers(2, 5))
    units = draw(st.integers(2, 12))
    top = draw(st.integers(2, 6))
    cells = draw(
        st.lists(
            st.one_of(st.none(), st.integers(1, top)),
            min_size=coders * units,
            max_size=coders * units,
        )
    )
    m = np.array([np.nan if c is None else c for c in cells], dtype=float).reshape(coders, units)
    pairable = (~np.isnan(m)).sum(axis=0) >= 2
    values = m[:, pairable]
    if not pairable.any() or len(np.unique(values[~np.isnan(values)])) < 2:
        m[:2, 0] = [1, 2]  # the package needs a pairable unit and two values
        if len(np.unique(m[~np.isnan(m)])) < 2:
            m[0, 0] = 2
    return m


@settings(max_examples=80, deadline=None)
@given(reliability_matrices(), st.sampled_from(LEVELS))
def test_equals_the_krippendorff_package(matrix: np.ndarray, level: str) -> None:
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement=level)
    items, values = _long(matrix)
    got = krippendorff_alpha(items, values, level=level)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=2, max_size=20, unique=True),
    st.integers(2, 6),
    st.sampled_from(LEVELS),
)
def test_identical_raters_agree_perfectly(truth, raters, level) -> None:
    items = np.tile(np.arange(len(truth)), raters)
    values = np.tile(np.array(truth, dtype=float), raters)
    assert krippendorff_alpha(items, values, level=level) == pytest.approx(1.0)


def test_order_of_judgments_and_item_names_do_not_matter() -> None:
    items, values = _long(EXAMPLE)
    order = np.random.default_rng(0).permutation(len(items))
    named = np.array([f"u{i}" for i in items])
    assert krippendorff_alpha(named[order], values[order], level="ordinal") == pytest.approx(
        krippendorff_alpha(items, values, level="ordinal")
    )


def test_ordinal_domain_with_unused_extremes_matches_the_package() -> None:
    items, values = _long(EXAMPLE)
    domain = [0, 1, 2, 3, 4, 5]
    expected = krippendorff.alpha(
        reliability_data=EXAMPLE, level_of_measurement="ordinal", value_domain=domain
    )
    got = krippendorff_alpha(items, values, level="ordinal", domain=domain)
    assert got == pytest.approx(expected, abs=1e-12)


def test_bootstrap_rows_of_ones_give_the_point_estimate() -> None:
    vc = value_counts(*_long(EXAMPLE))
    point = alpha_from_coincidences(coincidences(vc), vc.domain, "interval")
    ones = np.ones((3, len(vc.item_ids)))
    assert np.allclose(bootstrap_alpha(vc, "interval", ones), point)


def test_strings_and_missing_values() -> None:
    got = krippendorff_alpha([1, 1, 2, 2, 2, 3], ["a", "a", "b", None, "b", "b"], level="nominal")
    assert got == pytest.approx(1.0)
    # a single value among pairable judgments: no expected disagreement, alpha undefined
    assert np.isnan(krippendorff_alpha([1, 1, 2], ["a", "a", "b"], level="nominal"))
    with pytest.raises(ValueError, match="outside"):
        value_counts([1, 1], [1, 9], domain=[1, 2])
