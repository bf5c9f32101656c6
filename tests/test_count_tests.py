"""E-test and the overdispersed conditional test: ptools and scipy references, hand cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hotspots._errors import ParameterError
from hotspots.count_tests import e_test, overdispersed_rate_test, rate_ratio_test


def test_e_test_reference_values():
    # ptools::e_test(6, 2) (Krishnamoorthy & Thomson's second example) = 0.1748748
    assert e_test(6, 2) == pytest.approx(0.1748748, abs=5e-8)
    assert e_test(2, 6) == pytest.approx(e_test(6, 2), rel=1e-12)  # d = 0: symmetric
    # equal rates give p = 1; equal exposures scale away
    assert e_test(20, 10, 4, 2) == pytest.approx(1.0, abs=1e-9)
    assert e_test(3, 0) == pytest.approx(e_test(3, 0, 2, 2), rel=1e-9)
    # ptools documents e_test(20, 10) ~ 0.069 beside a normal approximation of 0.068
    assert e_test(20, 10) == pytest.approx(0.069, abs=1e-3)


def test_e_test_by_hand_for_tiny_counts():
    # k1 = 1, k2 = 0: lambda = 0.5 each; |T(x1, x2)| >= |T(1, 0)| = 1 holds for every outcome but (0, 0)
    # (T = (x1 - x2) / sqrt(x1 + x2), and |x1 - x2| >= sqrt(x1 + x2) unless x1 = x2 or both small)
    p = e_test(1, 0)
    x = np.arange(0, 60)
    P = stats.poisson.pmf(x, 0.5)
    with np.errstate(invalid="ignore", divide="ignore"):
        T = np.abs(x[:, None] - x[None, :]) / np.sqrt(x[:, None] + x[None, :])
    want = (P[:, None] * P[None, :] * (np.nan_to_num(T, nan=-1) >= 1 - 1e-12)).sum()
    assert p == pytest.approx(want, rel=1e-9)


def test_e_test_is_more_powerful_than_the_conditional_test_for_small_counts():
    assert e_test(6, 2) < rate_ratio_test(2, 6, 1, 1).p_value.iloc[0]


@pytest.mark.parametrize((
    "args, "
    "match"
), [((0, 0), "both counts"), ((-1, 2), "whole counts"), ((1.5, 2), "whole"), ((1, 2, 0, 1), "positive")])
def test_e_test_bad_input(args, match):
    with pytest.raises(ParameterError, match=match):
        e_test(*args)


def test_overdispersed_test_reduces_to_binomial_and_matches_scipy_betabinom():
    xb = np.array([20, 0, 7, 50])
    xa = np.array([2, 5, 7, 70])
    r = overdispersed_rate_test(xb, xa, 365, 366)
    p = 366 / 731
    n = xa + xb
    want = np.minimum(1, 2 * np.minimum(stats.binom.cdf(xa, n, p), stats.binom.sf(xa - 1, n, p)))
    np.testing.assert_allclose(r.p_value, want, rtol=1e-12)
    assert (r.rho == 0).all()
    # with extra variation: beta-binomial with rho = (phi - 1 + n p q tau2) / (n - 1)
    r2 = overdispersed_rate_test(xb, xa, 365, 366, phi=2.0, tau2=0.03)
    rho = (2.0 - 1 + n * p * (1 - p) * 0.03) / (n - 1)
    np.testing.assert_allclose(r2.rho, rho, rtol=1e-12)
    a_, b_ = p * (1 - rho) / rho, (1 - p) * (1 - rho) / rho
    want2 = np.minimum(1, 2 * np.minimum(stats.betabinom.cdf(xa, n, a_, b_), stats.betabinom.sf(xa - 1, n, a_, b_)))
    np.testing.assert_allclose(r2.p_value, want2, rtol=1e-10)
    assert (r2.p_value >= r.p_value - 1e-12).all()  # extra variation never makes a change more significant
    np.testing.assert_allclose(r2.log_rr_se, np.sqrt(2 * (1 / np.maximum(xa, 0.5) + 1 / np.maximum(xb, 0.5)) + 0.03))


def test_overdispersed_test_holds_its_level_on_negative_binomial_counts():
    # Period totals with between-period variance tau2 = 0.04 on the log scale (gamma noise) and
    # Poisson counts: the Poisson test rejects far too often, the overdispersed one at its level.
    rng = np.random.default_rng(5)
    lam = 200.0
    k = 1 / 0.02  # each period's rate has relative variance 0.02, so tau2 = 0.04 for the ratio
    xb = rng.poisson(rng.gamma(k, lam / k, 4000))
    xa = rng.poisson(rng.gamma(k, lam / k, 4000))
    pois = rate_ratio_test(xb, xa, 1, 1).p_value.to_numpy()
    od = overdispersed_rate_test(xb, xa, 1, 1, tau2=0.04).p_value.to_numpy()
    assert (pois < 0.05).mean() > 0.3
    assert abs((od < 0.05).mean() - 0.05) < 0.015


@pytest.mark.parametrize(
    "kw, match",
    [({"phi": 0.5}, "`phi`"), ({"tau2": -1}, "`tau2`"), ({"w_before": 0}, "positive")],
)
def test_overdispersed_bad_input(kw, match):
    args = {"n_before": [3], "n_after": [4], "w_before": 1, "w_after": 1} | kw
    with pytest.raises(ParameterError, match=match):
        overdispersed_rate_test(**args)
