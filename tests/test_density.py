"""Tests for hotspots.density: hand-checkable cases, scikit-learn / brute-force agreement, rules, errors.

References: scikit-learn ``KernelDensity`` (Epanechnikov, Gaussian) and a brute-force sum over a
scipy cKDTree (quartic, which scikit-learn lacks) at the same cell centres.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree
from sklearn.neighbors import KernelDensity

from hotspots._errors import CRSError, ParameterError
from hotspots.density import (
    DEFAULT_BANDWIDTH_RULE,
    GAUSSIAN_CUTOFF_SD,
    KDEResult,
    bandwidth_arcgis,
    bandwidth_sfhotspot,
    gaussian_sd_from_radius,
    kde,
)
from hotspots.grid import Grid, GridValues

X0, Y0 = 430_000.0, 340_000.0  # somewhere in Derbyshire (British National Grid)


def clustered(n: int, seed: int, extent: float = 6000.0, n_clusters: int = 4, sd: float = 300.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(1000, extent - 1000, (n_clusters, 2))
    pts = centres[rng.integers(0, n_clusters, n)] + rng.normal(0, sd, (n, 2))
    # A few scattered points and a police.uk-style snap point (many incidents on one coordinate).
    pts[: n // 10] = rng.uniform(0, extent, (n // 10, 2))
    pts[n // 10 : n // 10 + n // 20] = pts[n // 10]
    return pts + [X0, Y0]


def brute_force(xy, grid, h, kernel, weights=None):
    """Σ w K(|c - p|) in incidents per km² at every cell centre, by direct summation."""
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, float)
    c = grid.centres()
    reach = h * (12.0 if kernel == "gaussian" else 1.0)
    tree = cKDTree(xy)
    out = np.zeros(len(c))
    for i, nb in enumerate(tree.query_ball_point(c, reach)):
        if not nb:
            continue
        r2 = ((xy[nb] - c[i]) ** 2).sum(axis=1) / h**2
        if kernel == "quartic":
            k = np.where(r2 < 1, 3 / math.pi * (1 - r2) ** 2, 0.0)
        elif kernel == "epanechnikov":
            k = np.where(r2 < 1, 2 / math.pi * (1 - r2), 0.0)
        else:
            k = np.exp(-r2 / 2) / (2 * math.pi)
        out[i] = (k * w[nb]).sum() / h**2
    return out.reshape(grid.shape) * 1e6


def sklearn_density(xy, grid, h, kernel, weights=None):
    kd = KernelDensity(kernel=kernel, bandwidth=h).fit(xy, sample_weight=weights)
    total = len(xy) if weights is None else float(np.sum(weights))
    return np.exp(kd.score_samples(grid.centres())).reshape(grid.shape) * total * 1e6


def max_rel_err(ours, ref, floor=0.01):
    sel = ref > floor * ref.max()
    return float(np.max(np.abs(ours[sel] - ref[sel]) / ref[sel]))


@pytest.fixture(scope="module")
def pts():
    return clustered(400, seed=3)


@pytest.fixture(scope="module")
def grid():
    # 60 x 60 cells of 100 m over the 6 km square.
    return Grid.from_bounds((X0, Y0, X0 + 5999, Y0 + 5999), 100)


# ------------------------------------------------------------------ agreement with peers
METHODS = ["direct", "fft", "cells"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kernel, h", [("epanechnikov", 450.0), ("epanechnikov", 130.0), ("gaussian", 220.0)])
def test_matches_sklearn(pts, grid, kernel, h, method, engine):
    ours = kde(pts, grid, h, kernel, method=method)
    ref = sklearn_density(pts, grid, h, kernel)
    err = max_rel_err(ours.values, ref)
    assert err <= 1e-3
    # Our computation is exact up to the Gaussian cut-off; check much tighter than required.
    assert err <= (1e-6 if kernel == "gaussian" else 1e-9)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("h", [450.0, 130.0, 1200.0])
def test_quartic_matches_brute_force(pts, grid, h, method, engine):
    ours = kde(pts, grid, h, "quartic", method=method)
    ref = brute_force(pts, grid, h, "quartic")
    assert max_rel_err(ours.values, ref) <= 1e-9
    # Everywhere, not only above 1 % of the peak: zero where no point is within reach.
    assert np.max(np.abs(ours.values - ref)) <= 1e-9 * ref.max()
    assert np.array_equal(ours.values == 0, ref == 0) or np.all(ours.values[ref == 0] < 1e-9 * ref.max())


@pytest.mark.parametrize("kernel, h", [("epanechnikov", 300.0), ("gaussian", 150.0), ("quartic", 300.0)])
def test_weighted_matches_references(pts, grid, kernel, h):
    w = np.random.default_rng(5).gamma(2.0, 1.5, len(pts))
    ours = kde(pts, grid, h, kernel, weights=w)
    ref = brute_force(pts, grid, h, kernel, w) if kernel == "quartic" else sklearn_density(pts, grid, h, kernel, w)
    assert max_rel_err(ours.values, ref) <= 1e-6


def test_gaussian_bandwidth_below_cell_size_matches(pts, grid):
    # h < cell size: the series would need too many terms, so the point-by-point path is used.
    with pytest.warns(UserWarning, match="smaller than the cell size"):
        ours = kde(pts, grid, 60.0, "gaussian", method="fft")
    assert ours.params["method"] == "direct"
    assert max_rel_err(ours.values, sklearn_density(pts, grid, 60.0, "gaussian")) <= 1e-6


def test_methods_agree_on_weights_and_mask(pts, engine):
    wkt = "POLYGON ((430500 340500, 435000 341000, 434000 345500, 431000 344000, 430500 340500))"
    area = gpd.GeoSeries.from_wkt([wkt], crs=27700)
    g = Grid.from_bounds((X0, Y0, X0 + 5999, Y0 + 5999), 150, mask=area)
    w = np.linspace(0.5, 2.0, len(pts))
    for kernel, h in [("quartic", 500.0), ("epanechnikov", 500.0), ("gaussian", 250.0)]:
        a = kde(pts, g, h, kernel, weights=w, method="direct").values
        assert np.array_equal(np.isnan(a), ~g.mask)
        for other in ("fft", "cells"):
            b = kde(pts, g, h, kernel, weights=w, method=other).values
            np.testing.assert_allclose(a[g.mask], b[g.mask], rtol=1e-9, atol=1e-9 * np.nanmax(a))


# --------------------------------------------------------------------- hand-checkable
@pytest.mark.parametrize("kernel", ["quartic", "epanechnikov", "gaussian"])
@pytest.mark.parametrize("method", METHODS)
def test_single_point_formula(kernel, method, engine):
    # One point on the centre of cell (10, 10) of a 21 x 21 grid of 100 m cells; h = 450 m.
    g = Grid.from_bounds((0, 0, 2099, 2099), 100)
    p = np.array([[1050.0, 1050.0]])
    h = 450.0
    d = kde(p, g, h, kernel, method=method).values
    for dr, dc in [(0, 0), (0, 1), (1, 1), (0, 3), (2, 3), (0, 4), (3, 3), (0, 5), (4, 4)]:
        r = 100.0 * math.hypot(dr, dc)
        u2 = (r / h) ** 2
        if kernel == "quartic":
            k = 3 / (math.pi * h * h) * (1 - u2) ** 2 if u2 < 1 else 0.0
        elif kernel == "epanechnikov":
            k = 2 / (math.pi * h * h) * (1 - u2) if u2 < 1 else 0.0
        else:
            k = math.exp(-u2 / 2) / (2 * math.pi * h * h)
        # Row 10 - dr is north of the point (y larger); symmetric anyway.
        assert d[10 - dr, 10 + dc] == pytest.approx(k * 1e6, rel=1e-12, abs=1e-15)
        assert d[10 + dr, 10 - dc] == pytest.approx(k * 1e6, rel=1e-12, abs=1e-15)


def test_peak_value_by_hand():
    # ArcGIS quartic at distance 0 with h = 1 km: 3 / (π · 1 km²) = 0.9549 incidents per km².
    g = Grid.from_bounds((0, 0, 999, 999), 100)
    d = kde(np.array([[450.0, 550.0]]), g, 1000.0)
    assert d.values.max() == pytest.approx(3 / math.pi, rel=1e-12)
    assert d.name == "density" and d.units == "incidents per km²"


@pytest.mark.parametrize("kernel, h, tol", [("quartic", 800.0, 2e-3), ("epanechnikov", 800.0, 5e-3), ("gaussian", 300.0, 1e-6)])
def test_total_mass_is_number_of_points(kernel, h, tol):
    rng = np.random.default_rng(0)
    xy = rng.normal(0, 300, (50, 2)) + [5000.0, 5000.0]
    g = Grid.from_bounds((0, 0, 9999, 9999), 50)  # covers every point's support
    d = kde(xy, g, h, kernel)
    assert d.total * g.cell_area_km2 == pytest.approx(50, rel=tol)
    c = kde(xy, g, h, kernel, output="count")
    assert c.name == "expected_count"
    assert c.total == pytest.approx(50, rel=tol)
    np.testing.assert_allclose(c.values, d.values * g.cell_area_km2, rtol=1e-12)


def test_weights_double_density_doubles(pts, grid):
    a = kde(pts, grid, 400.0)
    b = kde(pts, grid, 400.0, weights=np.full(len(pts), 2.0))
    np.testing.assert_allclose(b.values, 2 * a.values, rtol=1e-12, atol=1e-13 * a.values.max())
    assert b.units == "weighted incidents per km²"


def test_integer_weights_equal_repeated_points(grid):
    xy = clustered(60, seed=8)
    w = np.random.default_rng(1).integers(0, 4, len(xy))
    a = kde(xy, grid, 350.0, weights=w.astype(float))
    b = kde(np.repeat(xy, w, axis=0), grid, 350.0)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
def test_translation_invariance(pts, kernel):
    g1 = Grid.from_bounds((X0, Y0, X0 + 5999, Y0 + 5999), 100)
    shift = np.array([-30_000.0, 12_500.0])  # whole cells
    g2 = Grid.from_bounds((X0 + shift[0], Y0 + shift[1], X0 + shift[0] + 5999, Y0 + shift[1] + 5999), 100)
    a = kde(pts, g1, 300.0, kernel).values
    b = kde(pts + shift, g2, 300.0, kernel).values
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * a.max())


def test_points_beyond_grid_contribute():
    g = Grid.from_bounds((0, 0, 999, 999), 100)
    # 150 m west of the grid: within 400 m of the first column's centres (x = 50).
    d = kde(np.array([[-150.0, 500.0]]), g, 400.0)
    assert d.values[:, 0].max() > 0 and d.values[:, 3:].max() == 0
    assert d.params["n_points_outside_area"] == 1
    assert any("still contribute" in n for n in d.notes)
    # a stray far beyond the kernel's reach adds nothing: the note says so, not "still contribute ... near the border"
    # (Avon and Somerset's strays more than 10 km from the rest, with a 3 km bandwidth)
    both = kde(np.array([[-150.0, 500.0], [-5_000.0, 500.0], [500.0, 500.0]]), g, 400.0)
    note = [n for n in both.notes if "outside the study area" in n]
    assert len(note) == 1 and note[0].startswith("1 of the 2 point(s) outside the study area or grid still contribute")
    assert "the other 1 lie farther than the kernel's reach (400 m) from the study area's cells" in note[0]
    far = kde(np.array([[-5_000.0, 500.0], [500.0, 500.0]]), g, 400.0)
    assert [n for n in far.notes if "outside the study area" in n][0].startswith(
        "1 point(s) outside the study area or grid lie farther than the kernel's reach (400 m)")
    np.testing.assert_array_equal(far.values, kde(np.array([[500.0, 500.0]]), g, 400.0).values)
    # with a study-area mask: a point in a masked-out cell next to the area reaches it; one 3 km off does not
    masked = g.with_mask(np.pad(np.ones((5, 10), bool), ((0, 5), (0, 0))))  # the northern half
    m = kde(np.array([[500.0, 450.0], [500.0, -3_000.0], [500.0, 800.0]]), masked, 400.0)
    assert [n for n in m.notes if "outside the study area" in n][0].startswith("1 of the 2 point(s)")
    excl = kde(np.array([[-150.0, 500.0], [500.0, 500.0]]), g, 400.0, points_outside_area="exclude")
    only = kde(np.array([[500.0, 500.0]]), g, 400.0)
    np.testing.assert_array_equal(excl.values, only.values)
    assert excl.params["points_used"] == 1


def test_mask_nan_and_outside_points_option():
    m = np.ones((10, 10), dtype=bool)
    m[:, 5:] = False
    g = Grid.from_bounds((0, 0, 999, 999), 100, mask=m)
    xy = np.array([[250.0, 450.0], [750.0, 450.0]])  # second point is in a masked-out cell
    inc = kde(xy, g, 400.0)
    exc = kde(xy, g, 400.0, points_outside_area="exclude")
    assert np.isnan(inc.values[:, 5:]).all() and not np.isnan(inc.values[:, :5]).any()
    assert inc.values[4, 4] > exc.values[4, 4] > 0  # cell (4,4) centre (450, 550) is near both points
    assert np.nanmax(inc.values) > 0
    assert len(inc.to_geodataframe()) == 50


def test_result_type_and_params(pts, grid):
    d = kde(pts, grid, 400.0, "epanechnikov")
    assert isinstance(d, KDEResult) and isinstance(d, GridValues)
    assert d.bandwidth_m == 400.0 and d.kernel == "epanechnikov"
    assert d.params["bandwidth_m"] == 400.0 and d.params["kernel"] == "epanechnikov"
    assert d.params["n_points"] == len(pts) and d.params["bandwidth_rule"] is None
    gdf = d.to_geodataframe()
    assert "density" in gdf.columns and len(gdf) == grid.n_cells
    assert gdf["density"].max() == pytest.approx(d.values.max())


def test_geodataframe_input_and_crs_check(pts, grid):
    g = gpd.GeoDataFrame({"w": np.ones(len(pts))}, geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=27700)
    a = kde(g, grid, 300.0, weights="w")
    b = kde(pts, grid, 300.0)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    with pytest.raises(CRSError, match="to_crs"):
        kde(g.to_crs(4326), grid, 300.0)


# ---------------------------------------------------------------------- bandwidth rules
SMALL = np.array([[0.0, 0.0], [10.0, 40.0], [20.0, 5.0], [40.0, 100.0], [100.0, 20.0], [35.0, 60.0], [70.0, 80.0]])


def _nrd_by_hand(x):
    # R's bandwidth.nrd with type-7 quartiles written out: q(p) = x[(n-1)p] interpolated.
    xs = sorted(x)
    n = len(xs)

    def q(p):
        pos = (n - 1) * p
        lo = math.floor(pos)
        return xs[lo] + (pos - lo) * (xs[min(lo + 1, n - 1)] - xs[lo])

    mean = sum(xs) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in xs) / (n - 1))
    return 4 * 1.06 * min(sd, (q(0.75) - q(0.25)) / 1.34) * n ** (-0.2)


def test_sfhotspot_rule_by_hand():
    bx, by = _nrd_by_hand(SMALL[:, 0]), _nrd_by_hand(SMALL[:, 1])
    assert bandwidth_sfhotspot(SMALL) == pytest.approx((bx + by) / 2, rel=1e-12)
    # sfhotspot itself would report bx only (R's mean(a, b) ignores b); ours differs here.
    assert abs(bandwidth_sfhotspot(SMALL) - bx) > 1.0


def test_arcgis_rule_by_hand():
    n = len(SMALL)
    c = SMALL.mean(axis=0)
    d = np.sqrt(((SMALL - c) ** 2).sum(axis=1))
    sd = math.sqrt((d**2).sum() / n)
    dm = float(np.median(d))
    expected = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n ** (-0.2)
    assert bandwidth_arcgis(SMALL) == pytest.approx(expected, rel=1e-12)


def test_arcgis_rule_weighted_equals_repeated_points():
    w = np.array([1, 3, 1, 2, 1, 1, 2])
    rep = np.repeat(SMALL, w, axis=0)
    assert bandwidth_arcgis(SMALL, w.astype(float)) == pytest.approx(bandwidth_arcgis(rep), rel=1e-12)


def test_automatic_bandwidth_recorded(pts, grid):
    # One default everywhere: ArcGIS's rule (DEFAULT_BANDWIDTH_RULE), as the analysis uses.
    d = kde(pts, grid)
    assert DEFAULT_BANDWIDTH_RULE == "arcgis"
    assert d.params["bandwidth_rule"] == "arcgis"
    assert d.bandwidth_m == pytest.approx(bandwidth_arcgis(pts))
    assert any("ArcGIS" in n and "automatically" in n for n in d.notes)
    a = kde(pts, grid, bandwidth_rule="sfhotspot", bandwidth_adjust=0.5)
    assert a.bandwidth_m == pytest.approx(0.5 * bandwidth_sfhotspot(pts))
    assert a.params["bandwidth_rule"] == "sfhotspot" and a.params["bandwidth_adjust"] == 0.5
    np.testing.assert_allclose(a.values, kde(pts, grid, a.bandwidth_m).values, rtol=1e-12)


@pytest.mark.parametrize("rule", ["arcgis", "sfhotspot"])
def test_automatic_gaussian_bandwidth_is_a_standard_deviation(pts, grid, rule):
    # The rules give a quartic search radius R; the Gaussian gets the standard deviation R / sqrt(8)
    # (not R itself, which smoothed about 2.8 x too widely), recorded in the notes.
    radius = bandwidth_arcgis(pts) if rule == "arcgis" else bandwidth_sfhotspot(pts)
    g = kde(pts, grid, kernel="gaussian", bandwidth_rule=rule)
    assert g.bandwidth_m == pytest.approx(radius / math.sqrt(8), rel=1e-12)
    assert gaussian_sd_from_radius(radius) == pytest.approx(radius / math.sqrt(8), rel=1e-15)
    assert any("standard deviation" in n and "√8" in n for n in g.notes)
    # scikit-learn's convention: its Gaussian `bandwidth` is the standard deviation; same surface.
    ref = sklearn_density(pts, grid, g.bandwidth_m, "gaussian")
    assert max_rel_err(g.values, ref) <= 1e-6
    # The polynomial kernels keep the rule's radius as their support radius.
    assert kde(pts, grid, kernel="epanechnikov", bandwidth_rule=rule).bandwidth_m == pytest.approx(radius, rel=1e-12)


def test_gaussian_conversion_matches_the_quartic_spread():
    # Definition of the conversion: the Gaussian of sd R / sqrt(8) has the per-axis variance of the
    # quartic kernel of radius R (R^2 / 8). Checked on one point's surface on a fine grid (10 m cells).
    R = 800.0
    fine = Grid.from_bounds((X0 - 3000, Y0 - 3000, X0 + 2999.9, Y0 + 2999.9), 10.0)
    one = np.array([[X0 + 5.0, Y0 + 5.0]])  # on a cell centre
    c = fine.centres() - one[0]
    for kernel, h in [("quartic", R), ("gaussian", gaussian_sd_from_radius(R))]:
        v = kde(one, fine, h, kernel).values.ravel()
        var_x = float((v * c[:, 0] ** 2).sum() / v.sum())
        var_y = float((v * c[:, 1] ** 2).sum() / v.sum())
        assert var_x == pytest.approx(R * R / 8, rel=2e-3)
        assert var_y == pytest.approx(R * R / 8, rel=2e-3)


def test_an_automatic_bandwidth_under_one_cell_is_raised_to_the_cell_size():
    """City of London's 1,466 violent crimes of 2025: ArcGIS's rule gave 245 m on the automatic
    300 m cells, and the CLI then told the user to fix its own two choices. An automatic bandwidth
    is raised to the cell size, with a note and no warning; a given one still warns."""
    rng = np.random.default_rng(4)
    pts = rng.normal(5_000, 40, (300, 2))  # a tight cluster: the rule's radius is well under 300 m
    g = Grid.from_bounds((0, 0, 9_999, 9_999), 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = kde(pts, g)
    assert d.bandwidth_m == 300.0
    assert any(n.startswith("bandwidth raised to the cell size (300 m): the rule gave ") for n in d.notes)
    assert not any("smaller than the cell size" in n for n in d.notes)
    ref = kde(pts, g, 300.0)
    assert np.allclose(d.values, ref.values, equal_nan=True)


def test_small_bandwidth_warns(grid, pts):
    with pytest.warns(UserWarning, match="smaller than the cell size"):
        d = kde(pts, grid, 60.0)
    assert any("smaller than the cell size" in n for n in d.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kde(pts, grid, 100.0)  # equal to the cell size: no warning


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("bw", [0, -100, float("nan"), float("inf"), "wide", 1e-9, 0.99])
def test_bad_bandwidth(pts, grid, bw):
    # under a metre (1e-9) wrote an all-zero surface
    with pytest.raises(ParameterError, match="`bandwidth` must be a (finite )?number of metres at least 1"):
        kde(pts, grid, bw)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kernel": "triangular"}, "kernel"),
        ({"output": "probability"}, "output"),
        ({"bandwidth_rule": "scott"}, "bandwidth_rule"),
        ({"points_outside_area": "drop"}, "points_outside_area"),
        ({"method": "magic"}, "method"),
        ({"bandwidth_adjust": 0}, "bandwidth_adjust"),
        ({"bandwidth_adjust": "x"}, "bandwidth_adjust"),
    ],
)
def test_bad_options(pts, grid, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        kde(pts, grid, 300.0, **kwargs)


def test_bad_grid(pts):
    with pytest.raises(ParameterError, match="Grid"):
        kde(pts, "grid", 300.0)


@pytest.mark.parametrize("w, match", [([np.nan], "NaN"), ([-1.0], "negative"), ([1.0, 2.0], "one value per point")])
def test_bad_weights(grid, w, match):
    with pytest.raises(ParameterError, match=match):
        kde(np.array([[X0 + 100, Y0 + 100]]), grid, 300.0, weights=w)


def test_automatic_bandwidth_needs_spread(grid):
    with pytest.raises(ParameterError, match="at least 2 points"):
        kde(np.array([[X0 + 10, Y0 + 10]]), grid)
    same = np.full((10, 2), [X0 + 10, Y0 + 10])
    with pytest.raises(ParameterError, match="bandwidth"):
        kde(same, grid)
    with pytest.raises(ParameterError, match="bandwidth"):
        kde(same, grid, bandwidth_rule="arcgis")
    # With a bandwidth given, coincident points are fine.
    assert kde(same, grid, 200.0).values.max() == pytest.approx(10 * 3 / (math.pi * 0.2**2), rel=0.5)


def test_empty_points_give_zero_surface(grid):
    d = kde(np.empty((0, 2)), grid, 300.0)
    assert d.values.shape == grid.shape and (d.values == 0).all()
    assert any("no points" in n for n in d.notes)
    e = kde(np.empty((0, 2)), grid)  # no bandwidth rule possible: recorded as NaN
    assert (e.values == 0).all() and math.isnan(e.bandwidth_m)
    m = np.zeros(grid.shape, dtype=bool)
    m[:5, :5] = True
    f = kde(np.empty((0, 2)), grid.with_mask(m), 300.0)
    assert np.isnan(f.values[~m]).all() and (f.values[m] == 0).all()


def test_all_zero_weights(grid, pts):
    d = kde(pts, grid, 300.0, weights=np.zeros(len(pts)))
    assert (d.values == 0).all()


def test_points_far_away_only(grid):
    d = kde(np.array([[0.0, 0.0]]), grid, 300.0)
    assert (d.values == 0).all() and d.params["n_points_outside_area"] == 1


# ---------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    kernel=st.sampled_from(["quartic", "epanechnikov", "gaussian"]),
    h_cells=st.floats(0.6, 6.0),
    cs=st.sampled_from([10.0, 37.5, 100.0]),
)
def test_property_methods_agree_and_mass_bounded(n, seed, kernel, h_cells, cs):
    rng = np.random.default_rng(seed)
    g = Grid.from_bounds((0, 0, 20 * cs - 1, 15 * cs - 1), cs)
    xy = rng.uniform(-3 * cs, 23 * cs, (n, 2))
    xy[: n // 3] = np.round(xy[: n // 3] / cs) * cs  # some points exactly on cell edges
    w = rng.uniform(0, 3, n)
    h = h_cells * cs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = kde(xy, g, h, kernel, weights=w, method="direct")
        b = kde(xy, g, h, kernel, weights=w, method="fft")
        c = kde(xy, g, h, kernel, weights=w, method="cells")
    assert np.all(a.values >= 0) and np.all(b.values >= 0) and np.all(c.values >= 0)
    # Tolerances relative to the summed peaks of the points' kernels (what a cell could hold):
    # the FFT path drops round-off below 1e-12 of the summed weight; the Gaussian is cut off at
    # 6 sd, where it is exp(-18) < 2e-8 of a point's peak.
    norm = {"quartic": 3 / math.pi, "epanechnikov": 2 / math.pi, "gaussian": 1 / (2 * math.pi)}[kernel]
    peaks = w.sum() * norm * 1e6 / (h * h)
    scale = max(a.values.max(), 1e-300)
    tol = max(1e-9 * scale, 1e-11 * peaks)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-8, atol=tol)
    np.testing.assert_allclose(a.values, c.values, rtol=1e-8, atol=tol)
    ref = brute_force(xy, g, h, kernel, w)
    atol = 2e-8 * peaks if kernel == "gaussian" else tol
    np.testing.assert_allclose(a.values, ref, rtol=1e-6, atol=atol)
    # Once the bandwidth spans a few cells, the grid holds at most the total weight (a kernel's
    # Riemann sum on a lattice is at most 1.05 for h >= 1.5 cells, worked out for each kernel).
    if h_cells >= 1.5:
        assert a.total * g.cell_area_km2 <= w.sum() * 1.05 + 1e-9


# --------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_derbyshire_against_brute_force(derbyshire_dir):
    import pyproj

    f = sorted(derbyshire_dir.glob("*.csv"))[0]
    df = pd.read_csv(f, usecols=["Longitude", "Latitude"]).dropna()
    tr = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    x, y = tr.transform(df["Longitude"].to_numpy(), df["Latitude"].to_numpy())
    xy = np.column_stack([x, y])
    # Around Derby city centre, where snap points stack many incidents on one coordinate.
    box = (433_000, 333_000, 438_999, 338_999)
    g = Grid.from_bounds(box, 100)
    near = (xy[:, 0] > box[0] - 1000) & (xy[:, 0] < box[2] + 1000) & (xy[:, 1] > box[1] - 1000) & (xy[:, 1] < box[3] + 1000)
    xy = xy[near]
    assert len(xy) > 50
    for kernel, h in [("quartic", 400.0), ("epanechnikov", 400.0)]:
        for method in METHODS:
            ours = kde(xy, g, h, kernel, method=method)
            ref = brute_force(xy, g, h, kernel)
            assert max_rel_err(ours.values, ref) <= 1e-9
    ours = kde(xy, g, 150.0, "gaussian")
    assert max_rel_err(ours.values, sklearn_density(xy, g, 150.0, "gaussian")) <= 1e-6
    assert GAUSSIAN_CUTOFF_SD == 6.0


def test_points_off_grid_counted_alike_by_both_engines(engine):
    # Points on the grid's edges: the west and south edges are on the grid, the east and north
    # edges (xmax, ymax) are off it (cells are half-open), as Grid.cell_of says.
    g = Grid.from_bounds((0, 0, 999, 999), 100)
    xs = [0.0, g.xmax, -1e-9, 500.0, 500.0, 500.0, 1e-12, g.xmax - 1e-9]
    ys = [500.0, 500.0, 500.0, 0.0, g.ymax, -1e-9, 1e-12, 500.0]
    xy = np.column_stack([xs, ys])
    _, _, on_grid = g.cell_of(xy)
    d = kde(xy, g, 300.0)
    assert d.params["n_points_outside_area"] == int((~on_grid).sum()) == 4


def test_arcgis_bandwidth_without_weights_equals_unit_weights_exactly():
    from hotspots.density import bandwidth_arcgis

    rng = np.random.default_rng(11)
    for n in (2, 3, 4, 5, 100, 101, 5000):
        for xy in (rng.normal(0, 900, (n, 2)) + [431234.5, 345678.25], rng.integers(0, 25, (n, 2)).astype(float) + 4e5):
            if np.ptp(xy, axis=0).min() == 0:
                continue
            assert bandwidth_arcgis(xy) == bandwidth_arcgis(xy, np.ones(n))


def test_the_bandwidth_warning_names_the_flags_on_the_command_line():
    """'Use a larger `bandwidth` or a smaller `cell_size`' named Python's arguments on the command line too."""
    from hotspots.density import bandwidth_under_cell_size
    from hotspots.validation import argument_names

    assert bandwidth_under_cell_size(100, 250).endswith("Use a larger `bandwidth` or a smaller `cell_size`.")
    with argument_names({"bandwidth": "--bandwidth", "cell_size": "--cell-size"}):
        assert bandwidth_under_cell_size(100, 250).endswith("Use a larger `--bandwidth` or a smaller `--cell-size`.")


def test_the_automatic_bandwidth_is_fitted_to_the_points_in_the_study_area():
    """A town's study area in a county's files: the rule is fitted to the points in the study area's cells (those
    counted), not to the county's spread; the points beyond still smooth into the border."""
    rng = np.random.default_rng(1)
    town = rng.normal([X0 + 2_000, Y0 + 2_000], 500, (300, 2))
    county = rng.uniform([X0 - 40_000, Y0 - 40_000], [X0 + 40_000, Y0 + 40_000], (700, 2))
    grid = Grid.from_bounds((X0, Y0, X0 + 4_000, Y0 + 4_000), 100.0)
    mask = np.zeros(grid.shape, dtype=bool)
    mask[5:35, 5:35] = True  # the middle 3 km: the whole town, none of the county's points near it
    grid = grid.with_mask(mask)
    xy = np.vstack([town, county])
    inside = grid.in_area(xy)
    res = kde(xy, grid)
    assert res.bandwidth_m == pytest.approx(bandwidth_arcgis(xy[inside]))
    assert bandwidth_arcgis(xy) > 10 * res.bandwidth_m
    said = f"fitted to the {int(inside.sum()):,} point(s) in the study area's cells, not those beyond"
    assert any(said in n for n in res.notes) and res.bandwidth_m > grid.cell_size
    # a given bandwidth is not fitted; the points beyond still count near the border
    fixed = kde(xy, grid, bandwidth=res.bandwidth_m)
    alone = kde(xy[inside], grid, bandwidth=res.bandwidth_m)
    assert np.allclose(res.values, fixed.values, equal_nan=True) and not np.allclose(fixed.values, alone.values, equal_nan=True)
    # without a mask or points beyond, the rule sees every point, as before
    whole = Grid.from_bounds((X0, Y0, X0 + 4_000, Y0 + 4_000), 100.0)
    assert kde(town, whole).bandwidth_m == pytest.approx(bandwidth_arcgis(town))
