"""Weighted Displacement Difference: R ptools::wdd reference values (its tests and documentation)."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots._errors import ParameterError
from hotspots.wdd import quasi_poisson_dispersion, wdd


def test_ptools_documented_example():
    # wdd(control=c(20,20), treated=c(20,10)): local WDD -10, SE 8.3666, z -1.195229, 90 % CI -23.76 to 3.76
    r = wdd((20, 20), (20, 10))
    assert r.est_local == -10 and r.est_total == -10
    assert r.se_local == pytest.approx(8.3666, abs=5e-5)
    assert r.z == pytest.approx(-1.195229, abs=5e-7)
    assert r.ci_low == pytest.approx(-23.76, abs=5e-3) and r.ci_high == pytest.approx(3.76, abs=5e-3)
    assert r.alpha == 0.1 and r.dispersion == 1 and r.se_total_od == r.se_total


def test_ptools_paper_example_with_displacement():
    # Wheeler & Ratcliffe (2018) example: total -118, SE sqrt(1568), z -2.98, 95 % CI -196 to -40
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    assert r.est_total == -118 and r.se_total == pytest.approx(np.sqrt(1568))
    assert round(r.z, 2) == -2.98 and round(r.ci_low) == -196 and round(r.ci_high) == -40
    assert r.est_displace == pytest.approx((157 - 178) - (140 - 150))


def test_ptools_time_and_area_weights():
    r = wdd((100, 50), (80, 20), time_weights=(2, 1), alpha=0.05)
    assert r.est_total == pytest.approx(-20) and r.se_total == pytest.approx(np.sqrt(115))
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157), area_weights=(0.9, 1.2, 1.6, 1.5), alpha=0.05)
    np.testing.assert_allclose(
        [r.est_total, r.se_total, r.z, r.ci_low, r.ci_high],
        [-99.69444444, 35.4280755, -2.813995483, -169.1321965, -30.25669241],
        rtol=1e-8,
    )


def test_overdispersion_widens_the_interval_and_can_change_the_verdict():
    r = wdd((308, 318), (207, 110), alpha=0.05, dispersion=4.0)
    assert r.se_total_od == pytest.approx(2 * r.se_total)
    assert r.z_od == pytest.approx(r.z / 2)
    assert r.p_value < 0.001 and r.p_value_od > r.p_value
    assert "phi 4.00" in r.interpretation


def test_quasi_poisson_dispersion_equals_statsmodels_pearson_scale():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    Y = rng.negative_binomial(5, 5 / (5 + 20), size=(4, 24))  # mean 20, variance 100: phi 5
    period = np.r_[np.ones(12), np.full(12, 2)].astype(int)
    phi, df = quasi_poisson_dispersion(Y, period)
    # statsmodels: Poisson GLM with one level per area and period, scale = Pearson X2 / df
    y = Y.ravel()
    groups = (np.arange(4)[:, None] * 2 + (period - 1)[None, :]).ravel()
    X = np.eye(8)[groups]
    fit = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2")
    assert df == 4 * 22 and phi == pytest.approx(fit.scale, rel=1e-10)
    assert 2 < phi < 10


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"control": (1,), "treated": (1, 2)}, "`control`"),
        ({"control": (1, -2), "treated": (1, 2)}, "`control`"),
        ({"control": (1, 2), "treated": (1, 2), "alpha": 2}, "`alpha`"),
        ({"control": (1, 2), "treated": (1, 2), "dispersion": 0.5}, "`dispersion`"),
        ({"control": (1, 2), "treated": (1, 2), "area_weights": (1, 1, 1)}, "area_weights"),
        ({"control": (0, 0), "treated": (0, 0)}, "no variance"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        wdd(**kwargs)


def test_between_period_variance_by_hand():
    # ptools' example with tau2 = 0.04 (a log rate ratio's variance; 0.02 a period): Poisson
    # variance 20 + 20 + 20 + 10 = 70 (phi 1), plus 0.02 x (20² + 20² + 20² + 10²) = 26
    r = wdd((20, 20), (20, 10), tau2=0.04)
    assert r.se_total == pytest.approx(np.sqrt(70))  # the published SE is unchanged
    assert r.se_total_od == pytest.approx(np.sqrt(96))
    assert r.z_od == pytest.approx(-10 / np.sqrt(96))
    assert "tau2 0.04" in r.interpretation and r.params["tau2"] == 0.04
    # with phi too, and weights: each area's weighted rates squared
    r2 = wdd((30, 20), (40, 10), time_weights=(2, 1), area_weights=(1, 2, 1, 1), dispersion=1.5, tau2=0.01)
    rates = [30 / 2, 20 / 1, 40 / 4, 10 / 2]
    poisson = 30 / 4 + 20 / 1 + 40 / 16 + 10 / 4
    assert r2.se_total_od == pytest.approx(np.sqrt(1.5 * poisson + 0.005 * sum(x * x for x in rates)))
    assert wdd((20, 20), (20, 10), tau2=0.0).se_total_od == wdd((20, 20), (20, 10)).se_total_od
    with pytest.raises(ParameterError, match="tau2"):
        wdd((20, 20), (20, 10), tau2=-0.1)


def test_between_period_variance_holds_the_level_on_places_that_vary():
    """Four areas of about 500 incidents a period whose rates vary 12 % from period to period,
    nothing done: phi alone calls most WDDs significant, with tau2 the rate is near alpha."""
    rng = np.random.default_rng(3)
    sd = 0.12
    tau2 = 2 * float(np.expm1(sd**2))  # a ratio of two independent log-normal factors of log-sd 0.12
    hits_phi = hits_tau = 0
    n = 2000
    for _ in range(n):
        lam = 500 * np.exp(rng.normal(0, sd, (4, 2)))
        c = rng.poisson(lam)
        r = wdd(c[0], c[1], c[2], c[3], alpha=0.1)
        hits_phi += r.p_value_od <= 0.1
        hits_tau += wdd(c[0], c[1], c[2], c[3], alpha=0.1, tau2=tau2).p_value_od <= 0.1
    assert hits_phi / n > 0.5
    assert 0.05 <= hits_tau / n <= 0.15, hits_tau / n
