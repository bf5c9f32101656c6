"""The minimum detectable fall of small counts: the exact power of the unit's own test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import stats

from hotspots.change_model import ChangeModel, unit_change_tests
from hotspots.change_reference import unit_minimum_detectable_fall
from hotspots.detectable_fall import EXACT_MDE_MAX, exact_minimum_detectable_fall
from hotspots.dispersion import Overdispersion


def _poisson_model(days_before: float = 182.0, days_after: float = 182.0) -> ChangeModel:
    return ChangeModel(Overdispersion(kappa=0.0, tau2=0.0), days_before, days_after, False, 6, 6)


def _power_by_enumeration(b: float, fall: float, k: float = 1.0, alpha: float = 0.05) -> float:
    """Independent: every before and after count (Poisson, the before mean ``b``, the after mean
    ``b k (1 - fall)``), the exact conditional binomial test (twice the smaller tail)."""
    nb = np.arange(0, int(b * 3 + 40))
    na = np.arange(0, int(b * k * 3 + 40))
    xb, xa = np.meshgrid(nb, na, indexing="ij")
    n = xa + xb
    p0 = k / (1 + k)
    p = np.minimum(1.0, 2 * np.minimum(stats.binom.cdf(xa, n, p0), stats.binom.sf(xa - 1, n, p0)))
    fall_seen = xa < n * p0
    weight = stats.poisson.pmf(xb, b) * stats.poisson.pmf(xa, b * k * (1 - fall))
    return float((weight * ((p < alpha) & fall_seen & (n > 0))).sum())


def test_five_incidents_cannot_show_any_fall():
    # 5 -> 0 with equal periods: p = 2 * 0.5^5 = 0.0625 > 0.05, so no fall is detectable; the normal
    # approximation had said 83 %
    m = _poisson_model()
    assert exact_minimum_detectable_fall(np.array([5.0]), m, 0.05)[0] == 1.0
    assert unit_minimum_detectable_fall(np.array([5.0]), np.ones(1), m, 0.05)[0] == pytest.approx(0.83, abs=0.01)
    out = unit_change_tests(np.array([5]), np.array([0]), m, alpha=0.05)
    assert out["p_value"].iloc[0] == pytest.approx(0.0625)
    assert out["mde_fall"].iloc[0] == 1.0  # "could not detect even a fall to 0"
    # 6 -> 0 is significant (p = 2 / 64): a fall to 0 is found often enough only with more incidents
    assert unit_change_tests(np.array([6]), np.array([0]), m, alpha=0.05)["p_value"].iloc[0] < 0.05


@pytest.mark.parametrize("b", [8, 10, 20, 50, 100])
def test_power_at_the_fall_is_80_percent_by_enumeration(b):
    m = _poisson_model()
    f = float(exact_minimum_detectable_fall(np.array([float(b)]), m, 0.05)[0])
    assert 0 < f < 1
    assert _power_by_enumeration(b, f) == pytest.approx(0.8, abs=0.01)
    # and the normal approximation's fall is found less often than 80 % (what this module fixes)
    f_normal = float(unit_minimum_detectable_fall(np.array([float(b)]), np.ones(1), m, 0.05)[0])
    assert f_normal < f
    assert _power_by_enumeration(b, f_normal) < 0.78


def test_unequal_periods_by_enumeration():
    # the after period 1.5 times as long as the before one (k = 1.5)
    m = _poisson_model(120.0, 180.0)
    f = float(exact_minimum_detectable_fall(np.array([40.0]), m, 0.05)[0])
    assert _power_by_enumeration(40, f, k=1.5) == pytest.approx(0.8, abs=0.01)


def test_power_with_overdispersion_and_a_t_reference_by_simulation():
    # month-level dispersion and a tau2 estimated from 8 units (t reference): counts drawn from the
    # model the test assumes (total Poisson, after count beta-binomial given the total) find the
    # printed fall about 80 % of the time with the product's own test
    d = Overdispersion(kappa=0.08, tau2=0.02, tau2_units=8, tau2_source="this comparison", tau2_total_var=0.06)
    m = ChangeModel(d, 182.0, 182.0, False, 6, 6)
    assert d.tau2_df is not None
    b = 60.0
    f = float(exact_minimum_detectable_fall(np.array([b]), m, 0.05)[0])
    rng = np.random.default_rng(7)
    draws = 6000
    n = rng.poisson(b * (2 - f), draws)
    share = (1 - f) / (2 - f)
    phi = d.phi(n / 12.0)
    from hotspots.count_tests import conditional_rho

    rho = conditional_rho(n, share, phi, d.tau2)
    c = (1 - rho) / np.maximum(rho, 1e-12)
    after = np.where(rho > 1e-12, stats.betabinom.rvs(np.maximum(n, 1), share * c, (1 - share) * c, random_state=rng), 0)
    after = np.where(n > 0, after, 0)
    res = unit_change_tests(n - after, after, m, alpha=0.05)
    found = float(((res["p_value"] < 0.05) & (res["rate_ratio"] < 1)).mean())
    assert found == pytest.approx(0.8, abs=0.025)  # sd of the share about 0.005


def test_tau2_draws_and_more_dispersion_need_larger_falls():
    m = _poisson_model()
    b = np.array([20.0, 60.0, 200.0])
    plain = exact_minimum_detectable_fall(b, m, 0.05)
    wider = dataclasses.replace(m, dispersion=dataclasses.replace(m.dispersion, kappa=0.1))
    unsure = dataclasses.replace(m, dispersion=dataclasses.replace(m.dispersion, tau2_draws=(0.0, 0.01, 0.03, 0.06)))
    assert (exact_minimum_detectable_fall(b, wider, 0.05) > plain).all()
    assert (exact_minimum_detectable_fall(b, unsure, 0.05) > plain).all()


def test_counts_between_the_computed_ones_are_interpolated_smoothly():
    m = _poisson_model()
    b = np.arange(1.0, EXACT_MDE_MAX + 1)
    f = exact_minimum_detectable_fall(b, m, 0.05)
    assert np.isfinite(f).all()
    assert (np.diff(f[30:]) <= 1e-9).all()  # falls shrink as counts grow
    # an interpolated count agrees with its own exact computation
    one = exact_minimum_detectable_fall(np.array([137.0]), m, 0.05)[0]
    assert f[136] == pytest.approx(one, abs=0.004)
    # and the exact value meets the normal approximation's where it takes over (within 2 points)
    normal = unit_minimum_detectable_fall(np.array([EXACT_MDE_MAX + 1.0]), np.ones(1), m, 0.05)[0]
    assert f[-1] == pytest.approx(normal, abs=0.02)
    assert np.isnan(exact_minimum_detectable_fall(np.array([0.0, EXACT_MDE_MAX + 1.0]), m, 0.05)).all()
