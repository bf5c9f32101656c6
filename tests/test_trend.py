"""Tests for hotspots.trend (Mann–Kendall)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hotspots._errors import ParameterError
from hotspots.trend import MKResult, mann_kendall, mann_kendall_many


# ----------------------------------------------------------------------------- check inputs
def test_rejects_2d_for_single_series():
    with pytest.raises(ParameterError, match="mann_kendall_many"):
        mann_kendall([[1, 2], [3, 4]])


def test_rejects_bad_alpha():
    with pytest.raises(ParameterError, match="alpha"):
        mann_kendall([1, 2, 3, 4], alpha=1.5)


def test_rejects_infinite_values():
    with pytest.raises(ParameterError, match="infinite"):
        mann_kendall_many(np.array([[1.0, np.inf, 3.0]]))


def test_rejects_1d_for_many():
    with pytest.raises(ParameterError, match="2-D"):
        mann_kendall_many([1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- hand-computed
def test_hand_example_with_tie():
    # x = 1, 3, 2, 2. Pairs (i<j): (1,3)+ (1,2)+ (1,2)+ (3,2)- (3,2)- (2,2)0 -> S = 3 - 2 = 1.
    # One tie group of size 2: 2*1*9 = 18. Var(S) = (4*3*13 - 18)/18 = 138/18.
    # Continuity: z = (S - 1)/sd = 0 -> p = 1. tau-a = 1/6.
    r = mann_kendall([1, 3, 2, 2])
    assert r.S == 1
    assert r.var_S == pytest.approx(138 / 18)
    assert r.z == 0.0
    assert r.p == pytest.approx(1.0)
    assert r.tau == pytest.approx(1 / 6)
    assert r.trend == "none"
    # Sen's slope: pair slopes 2, 0.5, 1/3, -1, -0.5, 0; sorted -1, -0.5, 0, 1/3, 0.5, 2 ->
    # median of six = (0 + 1/3)/2.
    assert r.slope == pytest.approx(1 / 6)


def test_hand_example_strictly_increasing():
    # n = 5 rising: S = 10, Var = 5*4*15/18 = 300/18, z = 9 / sqrt(300/18).
    r = mann_kendall([2, 4, 5, 9, 11])
    z = 9 / math.sqrt(300 / 18)
    assert r.S == 10 and r.var_S == pytest.approx(300 / 18)
    assert r.z == pytest.approx(z)
    assert r.p == pytest.approx(2 * (1 - stats.norm.cdf(z)))
    assert r.tau == pytest.approx(1.0)
    assert r.trend == "up"  # p = 0.0275


def test_downward_series_is_down():
    r = mann_kendall([9, 8, 8, 6, 5, 5, 3, 2, 1, 0])
    assert r.S < 0 and r.z < 0 and r.trend == "down"


def test_constant_series_has_no_trend_and_no_variance_problem():
    r = mann_kendall([4, 4, 4, 4, 4])
    # All tied: Var(S) = (5*4*15 - 5*4*15)/18 = 0 -> z undefined.
    assert r.S == 0 and r.var_S == 0
    assert math.isnan(r.z) and math.isnan(r.p)
    assert r.trend == "none"


def test_short_series_gives_nan():
    r = mann_kendall([1.0, 2.0])
    assert math.isnan(r.p) and r.trend == "none" and r.n == 2


def test_missing_values_are_skipped():
    with_nan = mann_kendall([1, np.nan, 3, 2, 2])
    without = mann_kendall([1, 3, 2, 2])
    assert with_nan.S == without.S and with_nan.var_S == without.var_S and with_nan.n == 4


# ----------------------------------------------------------------------------- scipy reference
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scipy_kendalltau_without_continuity(seed):
    rng = np.random.default_rng(seed)
    x = rng.poisson(3, size=20).astype(float)  # many ties
    t = np.arange(20)
    r = mann_kendall(x, continuity=False)
    ref = stats.kendalltau(t, x, method="asymptotic")
    assert r.p == pytest.approx(ref.pvalue, rel=1e-9)
    # tau-b (scipy) vs tau-a (ours): S = tau_b * sqrt(n0 (n0 - n1)), n1 = ties in x.
    n0 = 20 * 19 / 2
    _, counts = np.unique(x, return_counts=True)
    n1 = float((counts * (counts - 1) / 2).sum())
    assert r.S == pytest.approx(ref.statistic * math.sqrt(n0 * (n0 - n1)))
    assert r.tau == pytest.approx(r.S / n0)


def test_continuity_makes_p_larger():
    x = [1, 3, 2, 4, 6, 5, 7, 9, 8, 10]
    assert mann_kendall(x).p > mann_kendall(x, continuity=False).p


# ----------------------------------------------------------------------------- pymannkendall reference
def test_matches_pymannkendall_original_test():
    mk = pytest.importorskip("pymannkendall")
    rng = np.random.default_rng(42)
    X = rng.poisson(2.5, size=(60, 14)).astype(float)
    X[::5, 4] = np.nan
    X[3] = np.arange(14)  # a clean trend
    many = mann_kendall_many(X)
    for i in range(X.shape[0]):
        ref = mk.original_test(X[i])
        assert many.S[i] == ref.s
        assert many.var_S[i] == pytest.approx(ref.var_s)
        assert many.z[i] == pytest.approx(ref.z)
        assert many.p[i] == pytest.approx(ref.p)
        assert many.tau[i] == pytest.approx(ref.Tau)
        assert many.slope[i] == pytest.approx(ref.slope)
        assert many.trend[i] == {"increasing": "up", "decreasing": "down", "no trend": "none"}[ref.trend]


# ----------------------------------------------------------------------------- vectorised = one by one
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.integers(0, 6).map(float), st.just(float("nan"))), min_size=6, max_size=6),
        min_size=1,
        max_size=8,
    )
)
def test_many_equals_loop_of_single(rows):
    X = np.array(rows, dtype=float)
    many = mann_kendall_many(X)
    for i, row in enumerate(X):
        one = mann_kendall(row)
        assert isinstance(one, MKResult)
        assert many.S[i] == one.S
        assert np.allclose([many.var_S[i], many.z[i], many.p[i]], [one.var_S, one.z, one.p], equal_nan=True)
        # brute-force S from the definition
        v = row[~np.isnan(row)]
        S = sum(np.sign(v[j] - v[k]) for k in range(len(v)) for j in range(k + 1, len(v)))
        assert many.S[i] == S
        assert np.isnan(many.p[i]) or 0 <= many.p[i] <= 1
        assert -1 <= np.nan_to_num(many.tau[i]) <= 1


def test_result_carries_parameters():
    r = mann_kendall_many(np.arange(12.0).reshape(2, 6), alpha=0.1, slope=False)
    assert r.alpha == 0.1 and r.params["T"] == 6 and np.isnan(r.slope).all()
    assert list(r.trend) == ["up", "up"]


def test_moving_sum_variance_factor_by_hand_and_by_simulation():
    from hotspots.trend import moving_sum_variance_factor

    assert moving_sum_variance_factor(24, 0) == 1.0
    # window 1: rho_1 = 1/2 only; rank autocorrelation (6/pi) asin(1/4)
    n = 10
    rs = 6 / np.pi * np.arcsin(0.25)
    want = 1 + 2 / (n * (n - 1) * (n - 2)) * (n - 1) * (n - 2) * (n - 3) * rs
    assert moving_sum_variance_factor(n, 1) == pytest.approx(want)
    # Simulated moving sums of white noise: the corrected test rejects at about alpha,
    # the uncorrected one far more often.
    rng = np.random.default_rng(0)
    e = rng.normal(size=(4000, 25))
    x = e[:, 1:] + e[:, :-1]  # window 1
    plain = mann_kendall_many(x, slope=False)
    corr = mann_kendall_many(x, slope=False, variance_factor=moving_sum_variance_factor(24, 1))
    assert (plain.trend != "none").mean() > 0.09
    assert abs((corr.trend != "none").mean() - 0.05) < 0.015
    with pytest.raises(ParameterError, match="variance_factor"):
        mann_kendall_many(x, variance_factor=0)


# ----------------------------------------------------------------------------- year-to-year levels
def _block_series(rng, n_series, n, window, share, block=12):
    """Series whose values share a level within blocks of ``block`` steps (counted back from the
    last), summed over ``window + 1`` steps: the model of :func:`level_variance_factors`."""
    t = np.arange(-window, n)
    b = (n - 1 - t) // block
    lev = rng.normal(0, np.sqrt(share), (n_series, int(b.max()) + 1))
    x = lev[:, b] + rng.normal(0, np.sqrt(1 - share), (n_series, t.size))
    return sum(x[:, window - j : window - j + n] for j in range(window + 1))


def test_level_variance_factors_reduce_to_the_moving_sum_and_hold_alpha():
    from hotspots.trend import level_variance_factors, moving_sum_variance_factor

    # no block level: the moving-sum factor (window 0: no correction at all)
    for n, w in ((12, 0), (24, 1), (36, 2)):
        assert level_variance_factors(n, w, 12, 0.0) == pytest.approx(moving_sum_variance_factor(n, w))
    # one factor per share, growing with it
    f = level_variance_factors(36, 1, 12, [0.0, 0.2, 0.5])
    assert f.shape == (3,) and f[0] < f[1] < f[2]
    # blocks of one step are independent values: no correction
    assert level_variance_factors(24, 0, 1, 0.7) == pytest.approx(1.0)
    # simulated year levels: the plain test calls trends in a third of series, the corrected
    # one at about alpha (three years and more; two years err on the safe side)
    rng = np.random.default_rng(4)
    for n, w, share in ((36, 1, 0.3), (36, 0, 0.6), (60, 1, 0.4), (24, 1, 0.5)):
        x = _block_series(rng, 3000, n, w, share)
        plain = mann_kendall_many(x, slope=False, variance_factor=moving_sum_variance_factor(n, w))
        corr = mann_kendall_many(x, slope=False, variance_factor=level_variance_factors(n, w, 12, share))
        assert (plain.trend != "none").mean() > 0.2
        rate = (corr.trend != "none").mean()
        assert (0.035 <= rate <= 0.065) if n > 24 else rate <= 0.05, (n, w, share, rate)


def test_variance_factor_per_series_and_its_checks():
    x = np.random.default_rng(1).normal(size=(3, 20))
    one = mann_kendall_many(x, slope=False)
    many = mann_kendall_many(x, slope=False, variance_factor=[1.0, 4.0, 1.0])
    np.testing.assert_allclose(many.var_S, one.var_S * [1, 4, 1])
    for bad in ([1.0, 2.0], [1.0, -1.0, 1.0], [[1.0, 1.0, 1.0]]):
        with pytest.raises(ParameterError, match="variance_factor"):
            mann_kendall_many(x, variance_factor=bad)


def _yearly_counts(rng, n_series, years, sd_year, mean, n_stepped=0, step=0.0):
    """Monthly Poisson counts whose rate varies by a log-normal factor (sd ``sd_year``) from year
    to year; the first ``n_stepped`` series fall by ``step`` halfway through."""
    T = 12 * years
    lam = mean[:, None] * np.exp(rng.normal(0, sd_year, (n_series, years)))[:, np.arange(T) // 12]
    lam[:n_stepped, T // 2 :] *= 1 - step
    return rng.poisson(lam).astype(float)


def test_block_level_variance_recovers_year_to_year_variation():
    from hotspots.trend import block_level_variance

    rng = np.random.default_rng(7)
    mean = rng.uniform(10, 80, 400)
    # 12 % a year (relative variance log-normal: exp(s²) - 1)
    s2, n = block_level_variance(_yearly_counts(rng, 400, 3, 0.12, mean), 12)
    assert n == 400 and s2 == pytest.approx(np.expm1(0.12**2), rel=0.35)
    # Poisson counts: (about) none; series below min_mean are left out
    s0, _ = block_level_variance(_yearly_counts(rng, 400, 3, 0.0, mean), 12)
    assert s0 < 0.002
    assert block_level_variance(_yearly_counts(rng, 50, 3, 0.12, np.full(50, 2.0)), 12) == (0.0, 0)
    # a fifth of the places falling 30 % barely moves it (the median), where a count-weighted
    # mean of the same ANOVA would read the falls as year-to-year variation
    x = _yearly_counts(rng, 400, 3, 0.0, mean, n_stepped=80, step=0.3)
    assert block_level_variance(x, 12)[0] < 0.003
    # blocks of one step, or under two blocks: nothing to estimate
    assert block_level_variance(x, 1) == (0.0, 0)
    assert block_level_variance(x[:, :10], 12) == (0.0, 0)
    assert block_level_variance(x[:, :0], 12) == (0.0, 0)
    # under two whole years (18 months): a part year differs by its season, so nothing is estimated
    assert block_level_variance(_yearly_counts(rng, 400, 2, 0.3, mean)[:, 6:], 12) == (0.0, 0)
    # a part year at the start is left out: 30 months give the estimate of their last 24
    y30 = _yearly_counts(rng, 400, 3, 0.12, mean)[:, 6:]
    assert block_level_variance(y30, 12) == block_level_variance(y30[:, 6:], 12)


def test_level_shares_by_hand():
    from hotspots.trend import level_shares

    # two blocks of two steps: four deviations of 0.5 from their block means, squared, over
    # 4 - 2 degrees of freedom: MSW = 0.5; the mean is 2.5
    x = np.array([[1.0, 2.0, 3.0, 4.0]])
    want = 0.04 * 2.5**2 / (0.04 * 2.5**2 + 0.5)
    assert level_shares(x, 2, 0.04)[0] == pytest.approx(want)
    assert level_shares(x, 2, 0.0)[0] == 0.0 and level_shares(x, 1, 0.04)[0] == 0.0


def test_step_ages_default_and_checks():
    from hotspots.trend import step_ages

    np.testing.assert_array_equal(step_ages(4), [3, 2, 1, 0])
    np.testing.assert_array_equal(step_ages(3, [5, 1, 0]), [5, 1, 0])
    for bad in ([2, 1], [1, 2, 0], [2.0, 1.0, 0.0], [2, 0, -1], [2, 2, 0]):
        with pytest.raises(ParameterError, match="ages"):
            step_ages(3, bad)


def _anova_sigma2(x, years, block_target_df):
    """One series' year-level variance by hand: the unbalanced one-way ANOVA over calendar years,
    ``sigma2 = (MSB / F_median - MSW) / (n0 m²)``."""
    groups = [x[years == y] for y in np.unique(years)]
    N, nb, m = x.size, len(groups), x.mean()
    msb = sum(g.size * (g.mean() - m) ** 2 for g in groups) / (nb - 1)
    msw = sum(((g - g.mean()) ** 2).sum() for g in groups) / (N - nb)
    n0 = (N - sum(g.size**2 for g in groups) / N) / (nb - 1)
    target = stats.f.median(nb - 1, N - nb)
    return max((msb / target - msw) / (n0 * m**2), 0.0)


def test_a_step_left_out_keeps_the_blocks_calendar_years():
    """A cube that leaves out a month the data do not cover (36 months, the 18th gone): its steps
    keep their ages, so the years stay calendar years (11 + 12 + 12 steps, the unbalanced ANOVA by
    hand); counted back as consecutive steps, the first year lost its last month to the next block
    and was left out as a part block."""
    from hotspots.trend import block_level_variance, level_shares, level_variance_factors

    rng = np.random.default_rng(12)
    keep = np.setdiff1d(np.arange(36), [17])
    ages = 35 - keep
    years = keep // 12
    x = rng.poisson(np.repeat([30.0, 45.0, 25.0], 12)[keep] * rng.uniform(0.9, 1.1, 35)).astype(float)
    s2, n = block_level_variance(x[None, :], 12, min_mean=1.0, ages=ages)
    assert n == 1 and s2 == pytest.approx(_anova_sigma2(x, years, None), rel=1e-6) and s2 > 0.02
    old, _ = block_level_variance(x[None, :], 12, min_mean=1.0)  # misaligned: years 2 and 3 only, shifted a month
    assert abs(old - s2) > 0.01
    # the shares use the calendar years' within-year scatter
    msw = sum(((x[years == y] - x[years == y].mean()) ** 2).sum() for y in range(3)) / (35 - 3)
    lev = 0.04 * x.mean() ** 2
    assert level_shares(x[None, :], 12, 0.04, ages=ages)[0] == pytest.approx(lev / (lev + msw))
    # ages without a gap are the default
    full = np.arange(35, -1, -1)
    assert level_variance_factors(36, 1, 12, 0.3, ages=full) == pytest.approx(level_variance_factors(36, 1, 12, 0.3))
    y36 = rng.poisson(40.0, (3, 36)).astype(float)
    assert block_level_variance(y36, 12, min_mean=1.0, ages=full) == block_level_variance(y36, 12, min_mean=1.0)
    # the factor for the gapped series holds alpha on series with those calendar-year levels (with
    # no window it depends only on the blocks' sizes, 12 + 11 + 12 here and 11 + 12 + 12 before)
    share, sims = 0.4, 4000
    lev_y = rng.normal(0, np.sqrt(share), (sims, 3))[:, years]
    z = lev_y + rng.normal(0, np.sqrt(1 - share), (sims, 35))
    f_gap = level_variance_factors(35, 0, 12, share, ages=ages)
    rate = (mann_kendall_many(z, slope=False, variance_factor=f_gap).trend != "none").mean()
    assert 0.035 <= rate <= 0.065, rate
