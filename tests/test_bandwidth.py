"""Tests for hotspots.bandwidth: the automatic rules, the kernel conversion and the one default.

The rules themselves are checked by hand in tests/test_density.py (through the public API)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotspots import bandwidth as bw
from hotspots._errors import ParameterError

PTS = np.random.default_rng(0).normal([430_000, 340_000], [1500, 900], (500, 2))


def test_default_rule_is_arcgis_and_accepted():
    assert bw.DEFAULT_BANDWIDTH_RULE == "arcgis" and bw.DEFAULT_BANDWIDTH_RULE in bw.BANDWIDTH_RULES


@pytest.mark.parametrize("rule, fn", [("arcgis", bw.bandwidth_arcgis), ("sfhotspot", bw.bandwidth_sfhotspot)])
def test_auto_bandwidth_per_kernel(rule, fn):
    r = fn(PTS)
    for kernel in ("quartic", "epanechnikov"):
        h, note = bw.auto_bandwidth(PTS, None, rule=rule, kernel=kernel)
        assert h == r and "automatically" in note and f"{r:,.0f} m" in note
    h, note = bw.auto_bandwidth(PTS, None, rule=rule, kernel="gaussian", adjust=0.5)
    assert h == pytest.approx(0.5 * r / math.sqrt(8), rel=1e-15)
    assert "standard deviation" in note and "bandwidth_adjust 0.5" in note


def test_gaussian_sd_is_the_quartic_kernels_per_axis_sd():
    # Quartic kernel of radius R: K(r) = 3/(pi R^2) (1 - r^2/R^2)^2, so E[r^2] = R^2 / 4 and the
    # per-axis variance is R^2 / 8 (numerical integral over the disc).
    R = 1000.0
    r = np.linspace(0.0, R, 400_001)
    dens = 3.0 / (math.pi * R * R) * (1 - (r / R) ** 2) ** 2 * 2 * math.pi * r
    assert np.trapezoid(dens, r) == pytest.approx(1.0, rel=1e-9)
    var_axis = np.trapezoid(dens * r * r, r) / 2
    assert bw.gaussian_sd_from_radius(R) == pytest.approx(math.sqrt(var_axis), rel=1e-9)


def test_weights_count_for_arcgis_only():
    w = np.r_[np.full(250, 3.0), np.ones(250)]
    assert bw.auto_bandwidth(PTS, w, rule="arcgis", kernel="quartic")[0] == pytest.approx(bw.bandwidth_arcgis(PTS, w))
    assert bw.auto_bandwidth(PTS, w, rule="sfhotspot", kernel="quartic")[0] == bw.bandwidth_sfhotspot(PTS)


def test_unknown_rule():
    with pytest.raises(ParameterError, match="bandwidth_rule"):
        bw.auto_bandwidth(PTS, None, rule="scott", kernel="quartic")


def test_all_points_on_one_spot_names_the_setting_as_the_caller_writes_it():
    from hotspots.validation import argument_names

    one = np.array([[435000.0, 336000.0]] * 8)
    with pytest.raises(ParameterError, match="Give the bandwidth: `bandwidth=500` \\(metres"):
        bw.bandwidth_arcgis(one)
    with argument_names({"bandwidth": "--bandwidth"}):
        for fn in (bw.bandwidth_arcgis, bw.bandwidth_sfhotspot):
            with pytest.raises(ParameterError, match="`--bandwidth 500`"):
                fn(one)
            with pytest.raises(ParameterError, match="at least 2 points; got 1. Give the bandwidth: `--bandwidth 500`"):
                fn(one[:1])


def test_a_study_area_in_separate_parts_takes_the_spread_within_each_part():
    """Two towns 80 km apart (Aberystwyth and Llanelli) gave 4,860 m: the spread of the pair, not of either town."""
    rng = np.random.default_rng(3)
    town = rng.normal(0.0, 500.0, size=(200, 2))
    xy = np.vstack([town, town + [80_000.0, 0.0]])
    groups = np.repeat([1, 2], 200)
    across = bw.bandwidth_arcgis(xy)
    within = bw.bandwidth_arcgis(xy, groups=groups)
    # within the parts: one town's spread at the pair's count (n^-0.2 of 400 points), by hand from the offsets
    assert within == pytest.approx(bw.bandwidth_arcgis(town) * (400 / 200) ** -0.2, rel=0.05)
    assert across > 20 * within
    assert bw.bandwidth_arcgis(town, groups=np.ones(200)) == pytest.approx(bw.bandwidth_arcgis(town))  # one part: the rule
    assert bw.bandwidth_sfhotspot(xy, groups) == pytest.approx(bw.bandwidth_sfhotspot(np.vstack([town, town])), rel=1e-9)
    h, how = bw.auto_bandwidth(xy, None, rule="arcgis", kernel="quartic", groups=groups)
    assert h == pytest.approx(within) and "within each of the study area's 2 separate parts" in how


def test_study_area_parts_needs_two_parts_each_with_a_share_of_the_points():
    a = np.zeros((3, 20), dtype=bool)
    a[:, :5] = a[:, 10:15] = True
    a[0, 19] = True  # a piece of one cell
    rows, cols = np.zeros(40, int), np.r_[np.full(20, 1), np.full(19, 11), [19]]
    on = np.ones(40, dtype=bool)
    got = bw.study_area_parts(a, rows, cols, on)
    assert got is not None and got[:20].tolist() == [1] * 20 and set(got[20:39]) == {2} and got[39] == 3
    # the second part holding under MIN_PART_SHARE of the points: one piece for the rule
    assert bw.study_area_parts(a, rows, np.r_[np.full(39, 1), [11]], on) is None
    assert bw.study_area_parts(np.ones((3, 3), bool), rows[:3], cols[:3] * 0, on[:3]) is None
