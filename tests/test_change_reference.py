"""Tests for hotspots.change_reference: the reference distributions of the change tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import hotspots.change_model as change_model
from hotspots.change_reference import (
    POWER,
    additive_mixture_half_width,
    additive_mixture_minimum_detectable_fall,
    effective_df,
    minimum_detectable_fall,
    mixture_half_width,
    mixture_minimum_detectable_fall,
    no_change_variance,
)


def test_mixture_half_width_by_hand():
    # one variance: the normal interval
    assert mixture_half_width(np.full((1, 4), 4.0), 0.05)[0] == pytest.approx(2 * stats.norm.isf(0.025))
    # two equally likely variances: the half-width c where the two tails average to alpha
    c = mixture_half_width(np.array([[1.0, 9.0]]), 0.05)[0]
    assert (stats.norm.sf(c) + stats.norm.sf(c / 3)) == pytest.approx(0.05, abs=1e-12)
    assert stats.norm.isf(0.025) < c < 3 * stats.norm.isf(0.025)
    assert np.isnan(mixture_half_width(np.array([[1.0, np.nan]]), 0.05)[0])
    # thousands of units: interpolated, within 1e-4 of the exact values
    rng = np.random.default_rng(0)
    v, d = rng.uniform(0.001, 2.0, 3000), np.sort(rng.gamma(2.0, 0.01, 32))
    exact = mixture_half_width(v[:, None] + d[None, :], 0.05)
    np.testing.assert_allclose(additive_mixture_half_width(v, d, 0.05), exact, rtol=1e-4)
    # the minimum detectable fall the same way: within 1e-4 of the exact mixture's, few or many units
    for n in (40, 3000):
        exact_mdf = mixture_minimum_detectable_fall(v[:n, None] + d[None, :], 0.05)
        np.testing.assert_allclose(additive_mixture_minimum_detectable_fall(v[:n], d, 0.05), exact_mdf, rtol=1e-4)


def test_effective_degrees_of_freedom_by_hand():
    # tau2 all of the variance: its own df; half of it: 10 * (0.04 / 0.02)^2 = 40; none: normal
    assert effective_df(0.02, [(0.02, 10)]) == pytest.approx(10)
    assert effective_df(0.04, [(0.02, 10)]) == pytest.approx(40)
    assert effective_df(0.04, [(0.02, None)]) == np.inf
    # two parts taken as one estimate: 0.04^2 / (0.01/sqrt(9) + 0.01/sqrt(9))^2 = 36
    assert effective_df(0.04, [(0.01, 9), (0.01, 9)]) == pytest.approx(36)
    # one part per unit: 10 * (0.04 / 0.03)^2 and 10 * (0.04 / 0.02)^2; no part at all: normal
    assert effective_df(np.array([0.04, 0.04]), [(np.array([0.03, 0.02]), 10)]) == pytest.approx([10 * 16 / 9, 40])
    assert effective_df(np.array([0.04, 0.04]), [(np.array([0.0, 0.02]), 10)])[0] == np.inf


def test_minimum_detectable_fall_by_hand():
    # normal reference: 1 - exp(-(z_0.975 + z_0.8) se)
    z = stats.norm.isf(0.025) + stats.norm.ppf(POWER)
    assert minimum_detectable_fall(0.1, 0.05) == pytest.approx(1 - np.exp(-z * 0.1))
    # a t reference needs a larger fall; with infinite df it is the normal's
    assert minimum_detectable_fall(0.1, 0.05, df=5.0) > minimum_detectable_fall(0.1, 0.05)
    assert minimum_detectable_fall(0.1, 0.05, df=np.inf) == pytest.approx(minimum_detectable_fall(0.1, 0.05))
    # one variance in the mixture: the normal's
    assert mixture_minimum_detectable_fall(np.array([[0.01, 0.01]]), 0.05)[0] == pytest.approx(1 - np.exp(-z * 0.1))


def test_change_model_still_exports_them():
    # (moved from hotspots.change_model, which re-exports them for existing callers)
    for name in ("POWER", "effective_df", "mixture_half_width", "minimum_detectable_fall", "mixture_minimum_detectable_fall"):
        assert getattr(change_model, name) is globals()[name]


def test_no_change_variance_by_hand():
    # 100 incidents, half the exposure after, Poisson: 1 / (100 * 0.25) = 0.04 (= 1/50 + 1/50)
    np.testing.assert_allclose(no_change_variance(np.array([100.0, 0.0]), 1.0, 0.5), [0.04, np.inf])
    # dispersion per unit scales it; a third of the exposure after: 2 / (90 * 1/3 * 2/3) = 0.1
    np.testing.assert_allclose(no_change_variance(np.array([90.0]), np.array([2.0]), 1 / 3), [0.1])
