"""Benjamini–Hochberg adjustment and cut-off, against scipy and esda."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hotspots._errors import ParameterError
from hotspots.fdr import bh_adjust, bh_adjust_by_side, fdr_threshold


def test_bh_adjust_by_hand():
    # sorted: 0.01, 0.03, 0.04, 0.2 (m = 4) -> p*m/i = 0.04, 0.06, 0.0533.., 0.2
    # step-up minimum from the top: 0.04, 0.0533.., 0.0533.., 0.2
    q = bh_adjust([0.01, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.2], rtol=1e-12)


def test_bh_adjust_ties_share_the_last_ranks_value():
    # sorted: 0.02, 0.02, 0.02, 0.5 (m = 4): the tied values all get 0.02 * 4 / 3 (the third rank's)
    q = bh_adjust([0.02, 0.5, 0.02, 0.02])
    np.testing.assert_allclose(q, [0.08 / 3, 0.5, 0.08 / 3, 0.08 / 3], rtol=1e-15)
    # many repeats (as an exact test's p-values): same as scipy's sort of every value
    p = np.random.default_rng(2).choice([1e-6, 0.003, 0.01, 0.2, 1.0], 5000)
    np.testing.assert_allclose(bh_adjust(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=200))
def test_bh_adjust_equals_scipy(p):
    ours = bh_adjust(p)
    ref = stats.false_discovery_control(np.array(p), method="bh")
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert np.all(ours >= np.array(p) - 1e-15) and np.all(ours <= 1)


def test_bh_adjust_by_side_by_hand():
    # m = 5 tests; hot side p = 0.01, 0.04 (ranks 1, 2): 0.01 * 5 / 1 = 0.05, 0.04 * 5 / 2 = 0.1;
    # cold side p = 1e-6, 1e-6, 0.5 (ranks 2, 2, 3): 2.5e-6, 2.5e-6, 0.8333..
    p = [0.01, 1e-6, 0.04, 1e-6, 0.5]
    side = [1, -1, 1, -1, -1]
    np.testing.assert_allclose(bh_adjust_by_side(p, side), [0.05, 2.5e-6, 0.1, 2.5e-6, 2.5 / 3], rtol=1e-12)
    # adjusted together, the two certain cold cells would lift the hot cells' ranks: 0.01 * 5 / 3
    np.testing.assert_allclose(bh_adjust(p)[[0, 2]], [0.05 / 3, 0.05], rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.sampled_from([-1, 0, 1])), min_size=1, max_size=200))
def test_bh_adjust_by_side_is_bh_with_the_other_sides_at_one(pairs):
    p = np.array([x for x, _ in pairs])
    side = np.array([s for _, s in pairs])
    q = bh_adjust_by_side(p, side)
    for s in np.unique(side):
        on = side == s
        np.testing.assert_allclose(q[on], bh_adjust(np.where(on, p, 1.0))[on], rtol=1e-12, atol=1e-300)
    # one side only: plain BH; never below the joint adjustment
    np.testing.assert_allclose(bh_adjust_by_side(p, np.ones_like(side)), bh_adjust(p), rtol=1e-12)
    assert np.all(q >= bh_adjust(p) - 1e-12)


def test_bh_adjust_by_side_keeps_nan_and_checks_shape():
    q = bh_adjust_by_side([[0.01, np.nan], [0.02, 0.5]], [[1, 1], [-1, 1]])
    assert np.isnan(q[0, 1])
    np.testing.assert_allclose(q[[0, 1, 1], [0, 0, 1]], [0.03, 0.06, 0.75], rtol=1e-12)
    with pytest.raises(ParameterError, match="`side` must have the shape"):
        bh_adjust_by_side([0.1, 0.2], [1])


def test_bh_adjust_ignores_nan_and_keeps_shape():
    rng = np.random.default_rng(0)
    p = rng.random((6, 7))
    p[0, :3] = np.nan
    q = bh_adjust(p)
    assert q.shape == p.shape
    assert np.isnan(q[0, :3]).all()
    ok = ~np.isnan(p)
    np.testing.assert_allclose(q[ok], stats.false_discovery_control(p[ok], method="bh"), rtol=1e-12)


def test_fdr_threshold_matches_esda_and_bh_decisions():
    import esda

    rng = np.random.default_rng(5)
    for trial in range(20):
        # a mixture: some strong signals among uniform nulls
        p = np.concatenate([rng.random(300), rng.random(40) * 1e-3 * (trial + 1)])
        for alpha in (0.01, 0.05, 0.1):
            thr = fdr_threshold(p, alpha)
            q = bh_adjust(p)
            assert np.array_equal(p <= thr, q <= alpha)
            if (q <= alpha).any():
                assert thr == pytest.approx(esda.fdr(p, alpha), rel=1e-12)


def test_fdr_threshold_without_discoveries_is_zero():
    p = np.linspace(0.5, 1.0, 50)
    assert fdr_threshold(p, 0.05) == 0.0
    assert not (bh_adjust(p) <= 0.05).any()


@pytest.mark.parametrize("bad", [[0.1, 1.5], [-0.1], [np.inf], ["a"]])
def test_bad_p_values(bad):
    with pytest.raises(ParameterError, match="`p`"):
        bh_adjust(bad)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, "x"])
def test_bad_alpha(alpha):
    with pytest.raises(ParameterError, match="`alpha`"):
        fdr_threshold([0.01, 0.2], alpha)
