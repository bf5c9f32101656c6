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
