"""Month-to-month shocks shared by a whole study area: hand cases, simulation, the pooled rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hotspots.change_model import AFTER, BEFORE, PLACEBO, MonthlyPanel
from hotspots.change_reference import mixture_half_width, t_mixture
from hotspots.month_shocks import (
    ASSUMED_SHOCK_SD,
    MIN_SHOCK_DF,
    SHOCK_DRAWS,
    estimate_month_shocks,
    panel_month_shocks,
)


# ------------------------------------------------------------------ the estimator
def test_paule_mandel_estimate_by_hand():
    # totals 10, 20, 30, 20 around 20 each, Poisson otherwise, 3 degrees of freedom:
    # Q(s) = 200 / (20 + 400 s) = 3  =>  s = (200 / 3 - 20) / 400
    s2, draws = estimate_month_shocks(np.array([10.0, 20.0, 30.0, 20.0]), np.full(4, 20.0), 1.0, 3)
    assert s2 == pytest.approx((200 / 3 - 20) / 400, rel=1e-9)
    assert len(draws) == SHOCK_DRAWS and list(draws) == sorted(draws)
    # each draw solves Q(s) = a chi-square(3) quantile
    u = (np.arange(SHOCK_DRAWS) + 0.5) / SHOCK_DRAWS
    target = stats.chi2.isf(u, 3)
    expect = np.where(10.0 > target, (200 / target - 20) / 400, 0.0)
    np.testing.assert_allclose(draws, expect, rtol=1e-8, atol=1e-12)
    # the places' own variation (phi) takes its share first: phi 2 leaves (200/3 - 40) / 400
    assert estimate_month_shocks(np.array([10.0, 20.0, 30.0, 20.0]), np.full(4, 20.0), 2.0, 3)[0] == pytest.approx(
        (200 / 3 - 40) / 400, rel=1e-9
    )


def test_totals_within_their_noise_give_zero_and_few_months_nothing():
    s2, draws = estimate_month_shocks(np.full(12, 100.0), np.full(12, 100.0), 1.0, 10)
    assert s2 == 0.0 and all(d == 0.0 for d in draws)
    assert estimate_month_shocks(np.arange(1.0, 5.0), np.full(4, 2.5), 1.0, MIN_SHOCK_DF - 1) == (0.0, ())


def test_estimate_and_its_confidence_distribution_on_simulated_totals():
    # 24 months around 800 incidents, shared shocks of 8 % (s2 = 0.0064), 11 degrees of freedom
    rng = np.random.default_rng(5)
    s2_true, mu = 0.08**2, np.full(24, 800.0)
    est, below_median, below_q90 = [], [], []
    for _ in range(400):
        T = rng.poisson(mu * np.exp(rng.normal(0, 0.08, 24) - s2_true / 2)).astype(float)
        s2, draws = estimate_month_shocks(T, mu, 1.0, 24)
        est.append(s2)
        below_median.append(s2_true <= draws[SHOCK_DRAWS // 2])
        below_q90.append(s2_true <= draws[int(0.9 * SHOCK_DRAWS)])
    assert np.mean(est) == pytest.approx(s2_true, rel=0.15)
    # the true value lies below the confidence distribution's median about half the time
    assert np.mean(below_median) == pytest.approx(0.5, abs=0.08)
    assert np.mean(below_q90) == pytest.approx(0.9, abs=0.05)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5_000), min_size=6, max_size=36),
    st.floats(1.0, 3.0),
    st.integers(MIN_SHOCK_DF, 5),
)
def test_estimate_invariants(counts, phi, lost):
    T = np.asarray(counts, dtype=float)
    mu = np.full(T.size, max(T.mean(), 1.0))
    df = max(T.size - lost, MIN_SHOCK_DF)
    s2, draws = estimate_month_shocks(T, mu, phi, df)
    assert s2 >= 0 and len(draws) == SHOCK_DRAWS and list(draws) == sorted(draws) and draws[0] >= 0
    q = float((np.square(T - mu) / (phi * mu + s2 * mu * mu)).sum())
    if s2 > 0:  # the estimate solves Q(s2) = df
        assert q == pytest.approx(df, rel=1e-6)
    else:
        assert q <= df * (1 + 1e-9)
    # totals spread twice as far from their means never give a smaller estimate
    assert estimate_month_shocks(mu + 2 * (T - mu), mu, phi, df)[0] >= s2


# ------------------------------------------------------------------ a panel's totals
def _panel(rng, years, labels, sd_shock, season=0.3, units=30, level=40.0):
    M = 12 * years
    month = np.arange(M) + 2023 * 12
    s = 1 + season * np.cos(2 * np.pi * (month % 12 - 6) / 12)
    shock = np.exp(rng.normal(0, sd_shock, M))
    base = rng.uniform(0.5, 1.5, units) * level
    Y = rng.poisson(base[:, None] * s[None, :] * shock[None, :])
    return MonthlyPanel(Y, month, np.asarray(labels), np.full(M, 30.0), Y.sum(axis=0).astype(float))


@pytest.mark.parametrize("sd", [0.0, 0.1])
def test_panel_estimate_with_the_season_fitted_month_by_month(sd):
    # two years, the same months compared: the season is fitted month by month (11 df)
    rng = np.random.default_rng(11)
    est = []
    for _ in range(60):
        p = _panel(rng, 2, [BEFORE] * 12 + [AFTER] * 12, sd)
        sh = panel_month_shocks(p, 0.0)
        assert sh is not None and sh.seasonal and sh.df == 24 - 2 - 11 and sh.months == 24
        est.append(sh.variance)
    assert np.mean(est) == pytest.approx(sd**2, abs=0.003 if sd == 0 else 0.3 * sd**2)
    # one unit of s2 adds sum mu^2 / (sum mu)^2 over each year: 1/12 + 1/12 for equal months,
    # a little more for a season's unequal ones
    w = sh.weights_after
    assert sh.log_ratio_share() == pytest.approx(2 * (w**2).sum() / w.sum() ** 2, rel=0.02)
    assert 1 / 6 < sh.log_ratio_share() < 1.1 / 6


def test_panel_estimate_of_one_year_in_halves_does_not_count_the_season():
    # one year, Jan-Jun against Jul-Dec, a 30 % season: a level per half alone would call the
    # season within each half "shocks" (about 0.02); the annual harmonic leaves it out
    rng = np.random.default_rng(12)
    none, some = [], []
    for _ in range(60):
        none.append(panel_month_shocks(_panel(rng, 1, [BEFORE] * 6 + [AFTER] * 6, 0.0), 0.0))
        some.append(panel_month_shocks(_panel(rng, 1, [BEFORE] * 6 + [AFTER] * 6, 0.1), 0.0))
    assert none[0].season == "one harmonic" and none[0].df == 12 - 4
    assert np.mean([s.variance for s in none]) < 0.002
    assert np.mean([s.variance for s in some]) == pytest.approx(0.01, rel=0.35)
    assert none[0].log_ratio_share() == pytest.approx(1 / 3, rel=0.05)


def test_places_own_variation_is_not_counted_as_shared():
    # no shared shock, but every unit varies 30 % from month to month on its own (kappa 0.09):
    # given kappa, the totals' extra variation is the units', not a shared shock
    rng = np.random.default_rng(13)
    est, est_no_kappa = [], []
    for _ in range(40):
        M, U = 36, 40
        month = np.arange(M) + 2022 * 12
        Y = rng.poisson(60.0 * np.exp(rng.normal(0, 0.3, (U, M)) - 0.045))
        p = MonthlyPanel(Y, month, np.array([PLACEBO] * 12 + [BEFORE] * 12 + [AFTER] * 12), np.full(M, 30.0),
                         Y.sum(axis=0).astype(float))
        est.append(panel_month_shocks(p, 0.094).variance)
        est_no_kappa.append(panel_month_shocks(p, 0.0).variance)
    assert np.mean(est) < 0.3 * np.mean(est_no_kappa)
    assert np.mean(est) < 0.001


def test_few_months_fit_a_level_alone_and_fewer_take_the_real_files_range():
    rng = np.random.default_rng(14)
    p = _panel(rng, 1, [BEFORE] * 6 + [AFTER] * 6, 0.1)

    def first(n):
        lab = np.array([BEFORE] * (n // 2) + [AFTER] * (n - n // 2))
        return MonthlyPanel(p.counts[:, :n], p.month[:n], lab, p.exposure[:n], p.reference[:n])

    # six months: a harmonic would leave 2 degrees of freedom, a level a period leaves 4
    six = panel_month_shocks(first(6), 0.0)
    assert six.season == "none" and six.df == 4 and not six.seasonal
    assert "too few months to fit a season" in six.describe()
    four = panel_month_shocks(first(4), 0.0)  # 2 degrees of freedom: the size taken from the real files
    assert four.assumed and four.df == 0 and four.months == 4 and four.variance == pytest.approx(ASSUMED_SHOCK_SD[1] ** 2)
    assert not six.assumed and "taken as police.uk forces' 2025 ASB shows it" in four.describe()
    # the log ratio of two months against two: 1/2 + 1/2 of s2 (equal expected totals here)
    assert four.log_ratio_share() == pytest.approx(1.0, rel=0.2)
    # its equally likely values span the 37 forces' 10th-90th percentiles
    sd = np.sqrt(np.asarray(four.draws))
    assert np.mean(sd < ASSUMED_SHOCK_SD[0]) == pytest.approx(0.1, abs=0.04)
    assert np.mean(sd > ASSUMED_SHOCK_SD[2]) == pytest.approx(0.1, abs=0.04)


# ------------------------------------------------------------------ the reference distribution
def test_t_mixture_reduces_to_t_and_to_the_normal_mixture():
    p, half, margin = t_mixture(0.2, np.full(5, 0.01), 7.0, 0.05)
    assert p == pytest.approx(2 * stats.t.sf(2.0, 7), rel=1e-12)
    assert half == pytest.approx(stats.t.isf(0.025, 7) * 0.1, rel=1e-9)
    assert margin == pytest.approx(stats.t.ppf(0.8, 7) * 0.1, rel=1e-12)
    v = np.array([0.004, 0.006, 0.02])
    assert t_mixture(0.1, v, 1e12, 0.05)[1] == pytest.approx(mixture_half_width(v[None, :], 0.05)[0], rel=1e-6)
    assert np.mean(2 * stats.t.sf(t_mixture(0.1, v, 4.0, 0.05)[1] / np.sqrt(v), 4)) == pytest.approx(0.05, rel=1e-8)


def test_a_pooled_row_with_shocks_of_zero_is_the_row_without():
    from hotspots.change_summary import _row

    for df, vd in ((None, None), (9.0, None), (None, np.array([0.004, 0.005, 0.009]))):
        plain = _row("elsewhere", np.log(0.9), 0.004, 0.0041, df, 0.05, 5000, 4500, vd)
        zero = _row("elsewhere", np.log(0.9), 0.004, 0.0041, df, 0.05, 5000, 4500, vd, (0.0, np.zeros(8)))
        for a, b in zip(plain.__dict__.values(), zero.__dict__.values()):
            assert a == pytest.approx(b, rel=1e-9) if isinstance(a, float) else a == b
        some = _row("elsewhere", np.log(0.9), 0.004, 0.0041, df, 0.05, 5000, 4500, vd, (0.002, np.linspace(0, 0.006, 8)))
        assert some.p_value > plain.p_value and some.ci_low < plain.ci_low and some.mde_fall > plain.mde_fall
        assert some.se_log == pytest.approx(np.sqrt(0.006), rel=1e-12)


def test_share_shocks_by_hand():
    from hotspots.month_shocks import estimate_share_shocks

    # shares 50 % and 70 % around 60 % of 100 a month: Q(s) = 4 * 100 / (24 + 576 s) = 3 at s = 0.1898
    h, e = np.array([50.0, 70.0, 50.0, 70.0]), np.array([50.0, 30.0, 50.0, 30.0])
    s2, draws = estimate_share_shocks(h, e, np.full(4, 0.6), 1.0, 1.0, 3)
    assert s2 == pytest.approx((400 / 3 - 24) / 576, rel=1e-8)
    assert len(draws) == 32 and draws[0] <= s2 <= draws[-1]
    # the sides' own dispersion explains part of it: phi 2 on both halves the binomial part's weight
    assert estimate_share_shocks(h, e, np.full(4, 0.6), 2.0, 2.0, 3)[0] == pytest.approx((400 / 3 - 48) / 576, rel=1e-8)
    # shares that vary no more than binomial noise: 0
    assert estimate_share_shocks(np.array([60.0, 61.0, 59.0, 60.0]), np.array([40.0, 39.0, 41.0, 40.0]),
                                 np.full(4, 0.6), 1.0, 1.0, 3)[0] == 0.0


def test_share_shocks_recover_their_size_and_count_the_season_without_month_effects():
    from hotspots.month_shocks import share_shocks

    rng = np.random.default_rng(4)
    month = np.arange(2023 * 12, 2023 * 12 + 24)
    label = np.array([BEFORE] * 12 + [AFTER] * 12)
    est = []
    for _ in range(40):
        logit = np.log(0.4 / 0.6) + rng.normal(0, 0.15, 24)
        n = rng.poisson(3000, 24)
        h = rng.binomial(n, 1 / (1 + np.exp(-logit)))
        sh = share_shocks(h, n - h, month, label, k_share2_group=0.0, k_share2_rest=0.0, seasonal=True)
        est.append(sh.variance)
        assert sh.season == "month by month" and sh.df == 24 - 2 - 11
    assert np.sqrt(np.mean(est)) == pytest.approx(0.15, rel=0.25)
    # a seasonal share without month effects fitted (one year: the rate ratios include it) counts as shocks
    season = 0.3 * np.sin(2 * np.pi * np.arange(24) / 12)
    h = np.round(3000 / (1 + np.exp(-(np.log(0.4 / 0.6) + season))))
    flat = share_shocks(h, 3000 - h, month, label, k_share2_group=0.0, k_share2_rest=0.0, seasonal=False)
    fitted = share_shocks(h, 3000 - h, month, label, k_share2_group=0.0, k_share2_rest=0.0, seasonal=True)
    assert flat.season == "none" and flat.variance > 0.02 and fitted.variance < 1e-4
    # two months a period: two degrees of freedom left, no estimate
    few = slice(10, 14)
    assert share_shocks(h[few], 3000 - h[few], month[few], label[few], k_share2_group=0.0, k_share2_rest=0.0,
                        seasonal=False) is None


def test_a_units_share_of_the_shocks_by_hand():
    from hotspots.month_shocks import unit_shock_share

    # six months of 30 days against six: 1/6 + 1/6
    half = MonthlyPanel(np.zeros((2, 12)), np.arange(12), np.repeat([BEFORE, AFTER], 6), np.full(12, 30.0), np.zeros(12))
    assert unit_shock_share(half) == pytest.approx(1 / 3)
    # one month of 31 days against two of 30 and 31 (a placebo slot does not count): 1 + (30² + 31²) / 61²
    p = MonthlyPanel(np.zeros((1, 4)), np.arange(4), np.array([PLACEBO, BEFORE, AFTER, AFTER]),
                     np.array([31.0, 31.0, 30.0, 31.0]), np.zeros(4))
    assert unit_shock_share(p) == pytest.approx(1 + (30**2 + 31**2) / 61**2)


def _shocked_panel(sd: float, seed: int = 3) -> MonthlyPanel:
    """Twenty places of 50 incidents a month over two years compared whole (24 months), every
    month's rates times one shared log-normal shock."""
    rng = np.random.default_rng(seed)
    months = np.arange(2024 * 12, 2026 * 12)
    shock = np.exp(rng.normal(0.0, sd, months.size))
    counts = rng.poisson(50.0 * shock[None, :], (20, months.size))
    label = np.repeat([BEFORE, AFTER], 12)
    return MonthlyPanel(counts, months, label, np.full(months.size, 30.0), counts.sum(axis=0).astype(float))


def test_units_take_the_study_areas_shocks_times_their_share():
    from hotspots.change_model import fit_change_model, unit_change_tests
    from hotspots.month_shocks import unit_shock_share, with_unit_shocks

    panel = _shocked_panel(0.15)
    model = fit_change_model(panel, placebo=False)
    shocked, shocks = with_unit_shocks(model, panel)
    # s2 (the mean of its equally likely values) times 1/12 + 1/12
    assert shocks is not None and np.sqrt(shocks.variance) > 0.08
    assert shocked.shock_variance == pytest.approx(np.mean(shocks.draws) * unit_shock_share(panel))
    assert unit_shock_share(panel) == pytest.approx(1 / 6)
    assert shocked.shared_variance == pytest.approx(model.seasonal_variance + shocked.shock_variance)
    assert shocked.dispersion == model.dispersion  # kappa and tau2 as they were
    # a place that moved 20 % with the whole study area is less sure a change once the shock is counted
    b, a = np.array([600]), np.array([720])
    plain = unit_change_tests(b, a, model, alpha=0.05)
    with_shock = unit_change_tests(b, a, shocked, alpha=0.05)
    assert with_shock["p_value"].iloc[0] > plain["p_value"].iloc[0]
    assert with_shock["rate_ratio_high"].iloc[0] - with_shock["rate_ratio_low"].iloc[0] > (
        plain["rate_ratio_high"].iloc[0] - plain["rate_ratio_low"].iloc[0]
    )
    # without shared shocks the estimate is about 0 and the units' variance about unchanged
    calm = _shocked_panel(0.0)
    calm_model, _ = with_unit_shocks(fit_change_model(calm, placebo=False), calm)
    assert calm_model.shock_variance < 0.1 * shocked.shock_variance


def test_units_of_part_of_the_study_area_take_the_whole_areas_totals():
    from hotspots.change_model import fit_change_model
    from hotspots.month_shocks import with_unit_shocks

    panel = _shocked_panel(0.15)
    # two of the twenty places as the units, the reference still the whole study area's totals
    part = MonthlyPanel(panel.counts[:2], panel.month, panel.label, panel.exposure, panel.reference)
    model = fit_change_model(part, placebo=False)
    _, whole = with_unit_shocks(model, part, whole=True)
    _, own = with_unit_shocks(model, panel)
    assert whole.variance == pytest.approx(own.variance, rel=0.05)
    _, alone = with_unit_shocks(model, part)  # from the two places' own totals: another (noisier) estimate
    assert alone.months == whole.months and alone.variance != whole.variance
