"""Extra-Poisson variation: kappa against statsmodels' negative binomial, tau2 against statsmodels'
DerSimonian-Laird, the two-group estimate, seasonal factors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hotspots._errors import ParameterError
from hotspots.dispersion import (
    MIN_UNITS_FOR_TAU2,
    TAU2_SOURCES,
    Overdispersion,
    estimate_kappa,
    estimate_tau2,
    estimate_tau2_robust,
    fit_seasonal,
    heterogeneity_p,
    seasonal_factors,
    tau2_basis,
    tau2_confidence_draws,
    tau2_too_large_p,
    tau2_too_small_p,
    tau2_total_variance,
)


def _nb_panel(rng, units=400, months=24, kappa=0.05, flat=False):
    base = rng.uniform(5, 40, units)
    season = np.ones(months) if flat else 1 + 0.3 * np.sin(2 * np.pi * np.arange(months) / 12)
    mu = base[:, None] * season[None, :]
    size = 1 / kappa
    Y = rng.negative_binomial(size, size / (size + mu))
    return Y, season


def test_kappa_matches_statsmodels_negative_binomial_fit():
    import statsmodels.api as sm
    from statsmodels.discrete.discrete_model import NegativeBinomial

    rng = np.random.default_rng(0)
    Y, season = _nb_panel(rng, units=150, months=12, kappa=0.08, flat=True)
    period = np.ones(12, dtype=int)
    ref = Y.sum(axis=0) * 50  # a large study area: each unit a small share
    k, used = estimate_kappa(Y, period, np.full(12, 30.0), ref + Y.sum(axis=0))
    # statsmodels: NB2 with one level per unit, maximum likelihood
    y = Y.ravel()
    X = np.kron(np.eye(150), np.ones((12, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = NegativeBinomial(y, X, loglike_method="nb2").fit(disp=0, maxiter=200)
    alpha_ml = float(fit.params[-1])
    assert used == 150
    assert k == pytest.approx(alpha_ml, rel=0.15)
    assert k == pytest.approx(0.08, rel=0.2)
    assert sm is not None


def test_kappa_is_zero_for_poisson_and_removes_seasonality():
    rng = np.random.default_rng(1)
    units, months = 300, 24
    season = 1 + 0.4 * np.sin(2 * np.pi * np.arange(months) / 12)
    Y = rng.poisson(rng.uniform(5, 40, units)[:, None] * season[None, :])
    period = np.r_[np.ones(12), np.full(12, 2)].astype(int)
    k, _ = estimate_kappa(Y, period, np.full(months, 30.0), Y.sum(axis=0) * 20)
    assert k < 0.005  # the 40 % seasonal swing is not counted as variation


def _two_periods(seed: int, n: int, low: float, high: float, sd: float, phi: float):
    """``n`` units with mean counts uniform on [low, high] in the first period and a log-normal
    change of standard deviation ``sd`` into the second; returns the generator (to go on drawing
    from), the means, the two periods' counts and a constant dispersion ``phi``."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform(low, high, n)
    b = rng.poisson(lam)
    a = rng.poisson(lam * np.exp(rng.normal(0, sd, n)))
    return rng, lam, b, a, np.full(n, phi)


def test_tau2_equals_statsmodels_dersimonian_laird():
    from statsmodels.stats.meta_analysis import combine_effects

    n = 60
    _, _, b, a, phi = _two_periods(2, n, 50, 400, 0.2, 1.3)
    t, used = estimate_tau2(b, a, 1.0, 1.0, phi)
    y = np.log(a / b)
    v = phi * (1 / a + 1 / b)
    ref = combine_effects(y, v, method_re="dl")
    assert used == n and t == pytest.approx(ref.tau2, rel=1e-10)
    assert t == pytest.approx(0.04, rel=0.5)


def test_heterogeneity_p_is_cochrans_q_as_statsmodels_computes_it():
    from scipy import stats
    from statsmodels.stats.meta_analysis import combine_effects

    rng, lam, b, a, phi = _two_periods(5, 40, 30, 300, 0.15, 1.2)
    ref = combine_effects(np.log(a / b), phi * (1 / a + 1 / b), method_re="dl")
    p = heterogeneity_p(b, a, 1.0, 1.0, phi, variance="observed")
    assert p == pytest.approx(stats.chi2.sf(ref.q, lam.size - 1), rel=1e-10)
    assert p < 0.01  # 15 % between-period variation on counts of 30-300 shows
    # Poisson counts with no extra variation: Q is chi-square, its p uniform: rarely below 0.1
    small = [heterogeneity_p(rng.poisson(lam), rng.poisson(lam), 1.0, 1.0, 1.0) for _ in range(200)]
    assert 0.05 <= np.mean(np.array(small) <= 0.10) <= 0.16
    assert heterogeneity_p([50] * 3, [40] * 3, 1, 1, 1.0) is None  # too few units


def test_tau2_too_large_p_is_the_generalised_q_that_paule_mandel_solves():
    from scipy import stats
    from statsmodels.stats.meta_analysis import combine_effects

    _, lam, b, a, phi = _two_periods(8, 30, 40, 400, 0.2, 1.1)
    y, v = np.log(a / b), phi * (1 / a + 1 / b)
    pm = combine_effects(y, v, method_re="pm")  # tau2 at which the generalised Q equals k - 1
    p = tau2_too_large_p(b, a, 1.0, 1.0, phi, pm.tau2, variance="observed")
    assert p == pytest.approx(stats.chi2.cdf(lam.size - 1, lam.size - 1), rel=1e-6)
    # at tau2 = 0 it is Cochran's Q's other tail
    p0 = tau2_too_large_p(b, a, 1.0, 1.0, phi, 0.0, variance="observed")
    assert p0 == pytest.approx(1 - heterogeneity_p(b, a, 1.0, 1.0, phi, variance="observed"), rel=1e-10)
    # a larger tau2 makes the observed scatter look smaller
    ps = [tau2_too_large_p(b, a, 1.0, 1.0, phi, t) for t in (0.0, 0.02, 0.1, 0.5)]
    assert all(x > y for x, y in zip(ps, ps[1:]))
    assert ps[-1] < 0.001
    assert tau2_too_large_p([50] * 3, [40] * 3, 1, 1, 1.0, 0.1) is None  # too few units
    # the upper tail: the other side of the same statistic, Cochran's Q test itself at tau2 = 0
    assert tau2_too_small_p(b, a, 1.0, 1.0, phi, 0.0, variance="observed") == pytest.approx(
        heterogeneity_p(b, a, 1.0, 1.0, phi, variance="observed"), rel=1e-10
    )
    for t in (0.0, 0.02, pm.tau2, 0.1):
        assert tau2_too_small_p(b, a, 1.0, 1.0, phi, t) + tau2_too_large_p(b, a, 1.0, 1.0, phi, t) == pytest.approx(1.0)
    assert tau2_too_small_p([50] * 3, [40] * 3, 1, 1, 1.0, 0.1) is None


def test_tau2_needs_enough_units():
    t, used = estimate_tau2([50] * (MIN_UNITS_FOR_TAU2 - 1), [40] * (MIN_UNITS_FOR_TAU2 - 1), 1, 1, 1.0)
    assert t is None and used == MIN_UNITS_FOR_TAU2 - 1
    t, used, model = estimate_tau2_robust([50, 60, 3, 70, 80, 90], [40, 55, 4, 60, 85, 95], 1, 1, 1.0)
    assert used == 5 and model == "one group" and t is not None
    # no unit with enough incidents (City of London's 115 ASB incidents a year in 100 m cells):
    # no estimate, and no numpy warning (the CLI showed "invalid value encountered in scalar divide")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for variance in ("expected", "observed"):
            assert estimate_tau2_robust([1, 2, 0], [0, 3, 1], 1, 1, 1.0, variance=variance) == (None, 0, "none")


def test_two_groups_of_real_changes_are_not_counted_as_noise():
    # Poisson counts, half the units fall 30 %: DerSimonian-Laird sees the gap as variance,
    # the two-group fit does not.
    rng = np.random.default_rng(3)
    n = 40
    lam = rng.uniform(300, 1200, n)
    b = rng.poisson(lam)
    eff = np.where(np.arange(n) < n // 2, 0.7, 1.0)
    a = rng.poisson(lam * eff)
    dl, _ = estimate_tau2(b, a, 1, 1, 1.0)
    t, _, model = estimate_tau2_robust(b, a, 1, 1, 1.0)
    assert dl > 0.02
    assert model == "two groups" and t < 0.003
    # and one group of noisy changes keeps DerSimonian-Laird's value
    a2 = rng.poisson(lam * np.exp(rng.normal(0, 0.2, n)))
    t2, _, model2 = estimate_tau2_robust(b, a2, 1, 1, 1.0)
    assert model2 == "one group" and t2 == pytest.approx(estimate_tau2(b, a2, 1, 1, 1.0)[0])


def test_a_continuous_spread_of_changes_is_not_split_into_two_groups():
    # 20 places' log rate ratios drawn from one normal spread (sd 0.17, as 12 % year-to-year
    # variation gives, no change), 1,200 incidents a year each: the two-group fit beats one group
    # by BIC (likelihood ratio 8.6 > 2 log 20 = 6.0) with a within-group tau2 of 0.0016 that would
    # call many of them changes; the threshold (10 here) keeps DerSimonian-Laird's estimate
    from hotspots.dispersion import _ml_one_group, _ml_two_groups, log_rate_ratios, two_group_threshold

    y = np.array([-0.26, -0.186, -0.172, -0.17, -0.148, -0.141, -0.13, -0.116, -0.102, -0.094,
                  -0.09, -0.066, 0.0, 0.053, 0.086, 0.093, 0.098, 0.123, 0.183, 0.2])
    b = np.full(20, 1200)
    a = (np.round(100 * np.exp(y)) * 12).astype(int)
    yy, v, k = log_rate_ratios(b, a, 1.0, 1.0, 1.0, 10, "expected")
    _, ll1 = _ml_one_group(yy, v)
    t2, ll2, _ = _ml_two_groups(yy, v)
    assert 2 * np.log(20) < 2 * (ll2 - ll1) < two_group_threshold(20) == 10.0 and t2 < 0.005
    t, _, model = estimate_tau2_robust(b, a, 1, 1, 1.0, variance="expected")
    assert model == "one group" and t == pytest.approx(estimate_tau2(b, a, 1, 1, 1.0, variance="expected")[0])
    assert t > 10 * t2  # 0.017
    assert two_group_threshold(1000) == pytest.approx(2 * np.log(1000))


def test_seasonal_factors_recover_a_planted_pattern_when_identified():
    rng = np.random.default_rng(4)
    months = np.arange(36) + 2022 * 12
    moy = months % 12 + 1
    true = 1 + 0.3 * np.cos(2 * np.pi * (moy - 7) / 12)
    ref = rng.poisson(2000 * true)
    level = np.repeat([0, 1, 2], 12)
    f, ok = seasonal_factors(ref, moy, level, np.ones(36))
    assert ok
    np.testing.assert_allclose(f / f.mean(), true / true.mean(), rtol=0.05)
    # one year split into halves: the season cannot be told from the change
    f1, ok1 = seasonal_factors(ref[:12], moy[:12], np.repeat([1, 2], 6), np.ones(12))
    assert not ok1 and (f1 == 1).all()


def test_overdispersion_phi_and_dict():
    d = Overdispersion(0.05, 0.02, 10, 8, "this comparison", "how")
    np.testing.assert_allclose(d.phi([0, 10, 20]), [1, 1.5, 2])
    assert d.to_dict()["tau2"] == 0.02


def test_tau2_basis_is_read_from_the_start_of_the_source_text():
    for key, words in TAU2_SOURCES.items():
        assert tau2_basis(words) == key
        assert Overdispersion(0.05, 0.02, 10, 8, words + ", from the finer units").tau2_basis == key
    # details after the words do not change where tau2 came from
    assert tau2_basis("placebo periods (6 months a year apart), from the finer units") == "placebo"
    assert tau2_basis("this comparison, two groups of places that changed differently") == "comparison"
    # a one-group fit of the compared periods (which counts real changes as scatter), and not
    from hotspots.dispersion import TWO_GROUPS_SOURCE

    assert Overdispersion(0.05, 0.02, 10, 8, "this comparison, from the finer units").tau2_one_group_comparison
    assert not Overdispersion(0.05, 0.02, 10, 8, "this comparison" + TWO_GROUPS_SOURCE).tau2_one_group_comparison
    assert not Overdispersion(0.05, 0.02, 10, 8, "placebo periods").tau2_one_group_comparison
    # the same words later in the text are not the basis
    assert tau2_basis("this comparison; the finer units' tau2 from placebo periods not used") == "comparison"
    with pytest.raises(ValueError, match="TAU2_SOURCES"):
        tau2_basis("the placebo periods")
    assert Overdispersion(0.05, 0.02, 10, 8).tau2_basis == "comparison"  # the default source


def test_tau2_degrees_of_freedom_count_independent_units():
    assert Overdispersion(0.05, 0.02, 10, 8, "placebo periods").tau2_df == 7
    assert Overdispersion(0.05, 0.02, 10, 150, "placebo periods", tau2_groups=12).tau2_df == 11  # groups, not cells
    assert Overdispersion(0.05, 0.0, 10, 150, "placebo periods").tau2_df is None  # nothing estimated to be unsure of
    assert Overdispersion(0.05, 0.02, 10, 150, "given").tau2_df is None
    assert Overdispersion(0.05, 0.02, 10, 2, "this comparison").tau2_df is None
    # units whose sampling variance equals tau2 (total 0.04): as noisy as a quarter as many
    assert Overdispersion(0.05, 0.02, 10, 8, "placebo periods", tau2_total_var=0.04).tau2_df == pytest.approx(7 / 4)
    grouped = Overdispersion(0.05, 0.02, 10, 150, "placebo periods", tau2_groups=12, tau2_total_var=0.04)
    # true changes shared within 12 groups, sampling noise (3 x tau2^2) independent over 150 cells
    assert grouped.tau2_df == pytest.approx(1 / (1 / 11 + 3 / 149))


def test_tau2_total_variance_by_hand():
    from hotspots.dispersion import tau2_total_variance

    # 100 before and 100 after, Poisson: expected-count sampling variance 1 / (200 * 0.5 * 0.5) = 0.02
    b = np.array([100, 100, 100, 5])  # the last unit has too few incidents to count
    assert tau2_total_variance(b, b, 1.0, 1.0, 1.0, 0.02) == pytest.approx(0.04)
    assert tau2_total_variance(b, b, 1.0, 1.0, 1.0, 0.0) == pytest.approx(0.02)
    assert tau2_total_variance(b[3:], b[3:], 1.0, 1.0, 1.0, 0.02) == 0.0


def test_tau2_degrees_of_freedom_match_the_estimates_spread():
    # Satterthwaite: 2 tau2^2 / df should be the variance of tau2_hat over repeated samples
    # (DerSimonian-Laird on 20 units whose sampling variance is about tau2: df about 19 / 4,
    # where counting units alone said 19)
    from hotspots.dispersion import estimate_tau2, tau2_total_variance

    rng = np.random.default_rng(8)
    k, tau2, n = 20, 0.02, 100
    est, dfs = [], []
    for _ in range(3000):
        lam = n * np.exp(rng.normal(0, np.sqrt(tau2 / 2), (2, k)))
        b, a = rng.poisson(lam)
        t, _ = estimate_tau2(b, a, 1.0, 1.0, 1.0, variance="expected")
        est.append(t)
        d = Overdispersion(0.0, tau2, 0, k, "placebo periods", tau2_total_var=tau2_total_variance(b, a, 1.0, 1.0, 1.0, tau2))
        dfs.append(d.tau2_df)
    implied = 2 * tau2**2 / np.median(dfs)
    assert np.var(est) == pytest.approx(implied, rel=0.25)
    assert np.var(est) > 2.5 * 2 * tau2**2 / (k - 1)  # units counted alone: far too confident


def test_expected_variances_remove_the_small_count_bias_of_tau2():
    # 3,000 units of 15-40 incidents a period whose log rate varies by 0.03 between periods:
    # weights from each unit's own counts favour units that rose, and tau2 comes out low
    rng = np.random.default_rng(4)
    lam = rng.uniform(15, 40, 3000)
    b = rng.poisson(lam * np.exp(rng.normal(0, np.sqrt(0.015), lam.size)))
    a = rng.poisson(lam * np.exp(rng.normal(0, np.sqrt(0.015), lam.size)))
    obs, _ = estimate_tau2(b, a, 1.0, 1.0, 1.0)
    exp_, _ = estimate_tau2(b, a, 1.0, 1.0, 1.0, variance="expected")
    assert abs(exp_ - 0.03) < abs(obs - 0.03)
    assert exp_ == pytest.approx(0.03, abs=0.01)
    with pytest.raises(ParameterError, match="variance"):
        estimate_tau2(b, a, 1.0, 1.0, 1.0, variance="model")


def _three_periods(rng, units, sd_year, walk=False, fall=0.0, monthly=80.0):
    """Placebo, before and after period totals (12 months each, Poisson around a unit level that
    moves between periods: independently around a stable mean, or as a random walk)."""
    steps = rng.normal(0.0, sd_year, (units, 3))
    levels = np.cumsum(steps, axis=1) if walk else steps
    mu = monthly * 12 * np.exp(levels)
    mu[: units // 2, 2] *= 1.0 - fall
    n = rng.poisson(mu)
    return n[:, 0], n[:, 1], n[:, 2]


def test_consecutive_change_cov_recovers_reversal_and_random_walk():
    from hotspots.dispersion import consecutive_change_cov

    rng = np.random.default_rng(5)
    sd = 0.12
    # levels that vary around a stable mean: Cov(B - P, A - B) = -sd^2 (= -tau2 / 2)
    p_, b, a = _three_periods(rng, 6000, sd)
    c, k = consecutive_change_cov(p_, b, a, 365.0, 365.0, 365.0, np.ones(6000))
    assert k == 6000
    assert c == pytest.approx(-sd * sd, abs=0.0025)
    # a random walk: consecutive changes independent, c = 0 (the shared before count's sampling
    # noise, -1/B, is taken out)
    p_, b, a = _three_periods(rng, 6000, sd, walk=True)
    c, _ = consecutive_change_cov(p_, b, a, 365.0, 365.0, 365.0, np.ones(6000))
    assert c == pytest.approx(0.0, abs=0.0025)
    # half the units fell 30 % in the after period: a real effect does not bias it
    p_, b, a = _three_periods(rng, 6000, sd, fall=0.3)
    c, _ = consecutive_change_cov(p_, b, a, 365.0, 365.0, 365.0, np.ones(6000))
    assert c == pytest.approx(-sd * sd, abs=0.003)
    # Poisson counts alone: 0
    p_, b, a = _three_periods(rng, 6000, 0.0)
    c, _ = consecutive_change_cov(p_, b, a, 365.0, 365.0, 365.0, np.ones(6000))
    assert c == pytest.approx(0.0, abs=0.001)


def test_consecutive_change_cov_needs_enough_units():
    from hotspots.dispersion import consecutive_change_cov

    c, k = consecutive_change_cov(np.array([50, 50, 5]), np.array([50, 60, 50]), np.array([40, 70, 50]), 1.0, 1.0, 1.0, 1.0)
    assert c is None and k == 2


def test_tau2_confidence_draws_by_hand_with_equal_sampling_variances():
    from scipy import stats

    # every unit has 400 incidents over the two periods: equal sampling variances v = 1 / (n p q)
    b = np.array([200, 180, 230, 150, 260, 210, 190, 170, 240, 220])
    a = 400 - b
    y = np.log(a / b)
    p = a.sum() / 4000
    v = 1.0 / (400 * p * (1 - p))
    S = ((y - y.mean()) ** 2).sum()
    u = (np.arange(32) + 0.5) / 32
    # Q(t) = S / (v + t) is chi2(k - 1) at the true tau2: t_u solves S / (v + t) = chi2.isf(u)
    want = np.maximum(S / stats.chi2.isf(u, 9) - v, 0.0)
    np.testing.assert_allclose(tau2_confidence_draws(b, a, 1.0, 1.0, np.ones(10)), np.sort(want), rtol=1e-7, atol=1e-12)
    # in 4 groups (3 degrees of freedom) of touching units: Q scaled by 3 / 9, referred to chi2(3)
    few = np.maximum(S * 3 / 9 / stats.chi2.isf(u, 3) - v, 0.0)
    assert tau2_confidence_draws(b, a, 1.0, 1.0, np.ones(10), groups=4) == ()  # fewer than 5 groups
    six = np.maximum(S * 5 / 9 / stats.chi2.isf(u, 5) - v, 0.0)
    np.testing.assert_allclose(tau2_confidence_draws(b, a, 1.0, 1.0, np.ones(10), groups=6), np.sort(six), rtol=1e-7)
    assert few.max() > want.max()  # fewer independent pieces: a wider distribution
    # Poisson-like scatter: the share of draws at 0 is about Cochran's Q p-value
    q_p = heterogeneity_p(b, a, 1.0, 1.0, np.ones(10))
    zeros = np.mean(np.array(tau2_confidence_draws(b, a, 1.0, 1.0, np.ones(10))) == 0)
    assert abs(zeros - q_p) <= 1 / 32 + 1e-9
    assert tau2_confidence_draws(b[:4], a[:4], 1.0, 1.0, np.ones(4)) == ()


def test_an_estimate_of_zero_is_judged_over_its_draws_and_holds_the_error_rate():
    from hotspots.change_model import ChangeModel, unit_change_tests

    # 12 places of 100-2,000 incidents a period whose true tau2 (0.002) is about the median
    # place's sampling variance, so that it is estimated at 0 one time in five; a new, busy place with no change is tested at
    # 5 % by unit_change_tests with the fitted model, with and without the draws
    rng = np.random.default_rng(5)
    k, tau2, reps = 12, 0.002, 600
    mu = np.r_[np.geomspace(100, 2000, k), 2000.0]
    flags = {"draws": [], "point": []}
    zero = []
    for _ in range(reps):
        lev = rng.normal(0.0, np.sqrt(tau2 / 2), (k + 1, 2))
        b, a = rng.poisson(mu * np.exp(lev[:, 0])), rng.poisson(mu * np.exp(lev[:, 1]))
        est, _ = estimate_tau2(b[:k], a[:k], 1.0, 1.0, np.ones(k), variance="expected")
        tv = tau2_total_variance(b[:k], a[:k], 1.0, 1.0, np.ones(k), est)
        draws = tau2_confidence_draws(b[:k], a[:k], 1.0, 1.0, np.ones(k))
        zero.append(est == 0)
        for name, dr in (("draws", draws), ("point", ())):
            d = Overdispersion(0.0, est, k, k, "placebo periods", tau2_total_var=tv, tau2_draws=dr)
            out = unit_change_tests(b[k:], a[k:], ChangeModel(d, 1.0, 1.0, False, 12, 12), alpha=0.05)
            flags[name].append(out["p_value"].iloc[0] < 0.05)
    zero, draws_f, point_f = np.array(zero), np.array(flags["draws"]), np.array(flags["point"])
    assert 0.15 < zero.mean() < 0.5
    # where the estimate is positive the draws are not used: the same verdicts
    assert (draws_f[~zero] == point_f[~zero]).all()
    # where it is 0, judging the busy place as if tau2 were known to be 0 flags it far too often
    # (measured: 21 % of those data sets against 13 % with the draws)
    assert point_f[zero].mean() > 0.15 and draws_f[zero].mean() < 0.7 * point_f[zero].mean()
    assert draws_f.mean() <= 0.05 and draws_f.mean() < point_f.mean()


def test_tests_average_over_draws_only_for_an_estimate_of_zero():
    draws = (0.0, 0.01, 0.02)
    np.testing.assert_array_equal(Overdispersion(0.0, 0.0, tau2_draws=draws).tau2_test_draws, draws)
    assert Overdispersion(0.0, 0.01, tau2_draws=draws).tau2_test_draws.size == 0  # the t reference instead
    assert Overdispersion(0.0, 0.0).tau2_test_draws.size == 0


def test_seasonal_fit_uncertainty_of_a_half_year_ratio_matches_simulation():
    # a year loaded before a half-year comparison (before Jan-Jun, after Jul-Dec): the season's
    # Jul-Dec / Jan-Jun ratio comes from the earlier year, and its stated variance (quasi-Poisson,
    # monthly totals 6 % noisier than Poisson) matches how much the estimate varies
    rng = np.random.default_rng(12)
    months = np.arange(24) + 2023 * 12
    moy = months % 12 + 1
    level = np.r_[np.full(12, 10), np.full(6, 1), np.full(6, 2)]  # the earlier year, before, after
    true = 1 + 0.25 * np.cos(2 * np.pi * (moy - 7) / 12)
    ex = np.full(24, 30.0)
    after, before = level == 2, level == 1
    true_log_ratio = np.log((ex * true)[after].sum() / (ex * true)[before].sum())
    est, var = [], []
    for _ in range(400):
        ref = rng.poisson(1500 * true * np.exp(rng.normal(0, 0.06, 24)))
        fit = fit_seasonal(ref, moy, level, ex)
        assert fit.identified
        w = ex * fit.factors
        est.append(np.log(w[after].sum() / w[before].sum()))
        var.append(fit.log_ratio_variance(moy, ex, after, before))
    est = np.asarray(est)
    assert abs(est.mean() - true_log_ratio) < 0.01
    assert 0.75 < np.mean(var) / est.var() < 1.33
    # Poisson totals would state about a fifth of it: the Pearson dispersion is used
    assert fit.dispersion > 2


def test_seasonal_fit_not_identified_has_no_uncertainty():
    moy = np.arange(12) + 1
    fit = fit_seasonal(np.full(12, 100.0), moy, np.repeat([1, 2], 6), np.ones(12))
    assert not fit.identified and (fit.factors == 1).all()
    assert fit.log_ratio_variance(moy, np.ones(12), moy > 6, moy <= 6) == 0.0

