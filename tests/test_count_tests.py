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


def test_overdispersed_interval_is_the_exact_interval_when_poisson():
    from hotspots.count_tests import overdispersed_rate_interval

    # phi 1, tau2 0: the Clopper-Pearson interval of the after count's share, as a ratio (2 before, 9 after)
    lo, hi = overdispersed_rate_interval([2], [9], 1.0, 1.0)
    pl, pu = stats.beta.ppf(0.025, 9, 3), stats.beta.ppf(0.975, 10, 2)
    np.testing.assert_allclose([lo[0], hi[0]], [pl / (1 - pl), pu / (1 - pu)], rtol=1e-9)
    # a zero count leaves its side open; no incident at all has no interval
    lo, hi = overdispersed_rate_interval([0, 5, 0], [4, 0, 0], 1.0, 1.0)
    assert hi[0] == np.inf and lo[1] == 0.0 and np.isnan(lo[2]) and np.isnan(hi[2])


@pytest.mark.parametrize("phi,tau2,w_after", [(1.0, 0.0, 1.0), (1.6, 0.0, 1.3), (2.5, 0.3, 0.7)])
def test_overdispersed_interval_excludes_one_exactly_when_the_test_rejects(phi, tau2, w_after):
    from hotspots.count_tests import overdispersed_rate_interval, overdispersed_rate_test

    # every small count pair: the interval and the p-value are the same test, so they cannot disagree
    b, a = (g.ravel() for g in np.meshgrid(np.arange(0, 26), np.arange(0, 26)))
    keep = a + b > 0
    b, a = b[keep], a[keep]
    for alpha in (0.05, 0.0137):
        p = overdispersed_rate_test(b, a, 1.0, w_after, phi=phi, tau2=tau2)["p_value"].to_numpy()
        lo, hi = overdispersed_rate_interval(b, a, 1.0, w_after, phi=phi, tau2=tau2, tail=alpha)
        excludes = (lo > 1) | (hi < 1)
        clear = np.abs(p - alpha) > 1e-9  # a p-value of exactly alpha sits on the interval's end
        np.testing.assert_array_equal(excludes[clear], (p < alpha)[clear])
        rr = (a / w_after) / np.where(b > 0, b, np.nan)
        fin = np.isfinite(rr) & (a > 0)
        assert (lo[fin] <= rr[fin] * (1 + 1e-9)).all() and (hi[fin] >= rr[fin] * (1 - 1e-9)).all()


def test_overdispersed_interval_ends_solve_the_tail_equations():
    from hotspots.count_tests import overdispersed_rate_interval

    # at each end the test's tail (scipy's beta-binomial, the rho of overdispersed_rate_test) is the
    # requested tail: 2 P(X >= a | lo) = tail and 2 P(X <= a | hi) = tail
    b, a, phi, tau2, w_after, tail = np.array([3, 40, 120, 7]), np.array([11, 25, 160, 1]), 1.7, 0.08, 1.3, 0.03
    lo, hi = overdispersed_rate_interval(b, a, 1.0, w_after, phi=phi, tau2=tau2, tail=tail)
    n = a + b
    for theta, side in ((lo, "upper"), (hi, "lower")):
        p = theta * w_after / (theta * w_after + 1.0)
        rho = (phi - 1 + n * p * (1 - p) * tau2) / (n - 1)
        c = (1 - rho) / rho
        dist = stats.betabinom(n, p * c, (1 - p) * c)
        got = 2 * (dist.sf(a - 1) if side == "upper" else dist.cdf(a))
        np.testing.assert_allclose(got, tail, rtol=1e-6)
