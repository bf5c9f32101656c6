"""Getis–Ord Gi*: hand-computed cases, equality with esda, permutations, classes, edge cases."""

from __future__ import annotations

import itertools
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, stats

from hotspots._errors import ParameterError
from hotspots.fdr import bh_adjust, bh_adjust_by_side
from hotspots.gistar import CLASS_LABELS, OUTSIDE, GiStarResult, distance_text, gi_star, usable_distance
from hotspots.grid import Grid, GridValues, count


# ------------------------------------------------------------------ helpers
def _gv(values: np.ndarray, cs: float = 100.0, mask: np.ndarray | None = None) -> GridValues:
    nr, nc = values.shape
    g = Grid.from_bounds((0, 0, nc * cs - 1, nr * cs - 1), cs)
    assert g.shape == values.shape
    if mask is not None:
        g = g.with_mask(mask)
        values = np.where(mask, values, np.nan)
    return GridValues(np.asarray(values, dtype=float), g, "count")


def _esda_gi(gv: GridValues, distance: float, permutations: int = 0, seed: int | None = None):
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    g = gv.grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(g.centres(active_only=True), threshold=distance * (1 + 1e-9), binary=True, silence_warnings=True)
        return G_Local(
            gv.values[g.active], w, transform="B", star=True, permutations=permutations, seed=seed, n_jobs=1
        )


def _brute_gi_star(gv: GridValues, distance: float) -> np.ndarray:
    """Gi* straight from the textbook formula, with explicit pairwise distances."""
    g = gv.grid
    xy = g.centres(active_only=True)
    y = gv.values[g.active]
    n = len(y)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    w = (d <= distance * (1 + 1e-9)).astype(float)  # self included (d = 0)
    ybar, s = y.mean(), y.std()  # population sd
    sw = w.sum(1)
    sw2 = (w * w).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (w @ y - ybar * sw) / (s * np.sqrt((n * sw2 - sw**2) / (n - 1)))
    out = np.full(g.shape, np.nan)
    out[g.active] = z
    return out


# ------------------------------------------------------------------ hand-computed case
def test_gi_star_3x3_by_hand():
    y = np.array([[1, 2, 0], [0, 5, 1], [3, 0, 0]], dtype=float)
    res = gi_star(_gv(y), 100, fdr=False)
    # n = 9, mean = 12/9 = 4/3, population variance = 40/9 - 16/9 = 8/3.
    # Centre: W = 5 (itself + 4 edge neighbours), S = 5+2+0+1+0 = 8:
    #   z = (8 - 5*4/3) / (sqrt(8/3) * sqrt((9*5 - 25)/8)) = (4/3) / sqrt(20/3)
    assert res.z[1, 1] == pytest.approx((4 / 3) / math.sqrt(20 / 3), abs=1e-12)
    # Corner (0, 0): W = 3, S = 1+2+0 = 3: z = (3 - 4) / (sqrt(8/3) * sqrt((27 - 9)/8))
    assert res.z[0, 0] == pytest.approx(-1 / (math.sqrt(8 / 3) * 1.5), abs=1e-12)
    # Edge (2, 1): W = 4, S = 0+3+5+0 = 8: z = (8 - 16/3) / (sqrt(8/3) * sqrt((36 - 16)/8))
    assert res.z[2, 1] == pytest.approx((8 / 3) / (math.sqrt(8 / 3) * math.sqrt(20 / 8)), abs=1e-12)
    np.testing.assert_allclose(res.z, _brute_gi_star(_gv(y), 100), atol=1e-12)
    np.testing.assert_allclose(res.p, 2 * stats.norm.sf(np.abs(res.z)), atol=1e-15)
    assert res.n_neighbours[1, 1] == 5 and res.n_neighbours[0, 0] == 3
    e = _esda_gi(_gv(y), 100)
    np.testing.assert_allclose(res.z.ravel(), e.Zs, atol=1e-12)


# ------------------------------------------------------------------ equality with esda
def _irregular_mask(shape, seed):
    rng = np.random.default_rng(seed)
    m = ndimage.binary_opening(rng.random(shape) < 0.8, iterations=1)
    m[shape[0] // 2, :] = True  # keep it one piece-ish
    return m


@pytest.mark.parametrize(
    "shape, mult, masked, lam",
    [
        ((12, 12), 1.0, False, 2.0),
        ((15, 23), 1.5, False, 0.3),  # rectangular, mostly zeros
        ((20, 17), 2.0, True, 1.0),  # irregular mask
        ((25, 30), 3.2, True, 0.1),  # very sparse, wide band
        ((9, 40), math.sqrt(2), False, 5.0),
        ((30, 30), 6.0, True, 3.0),
    ],
)
def test_gi_star_equals_esda_on_synthetic_grids(shape, mult, masked, lam):
    rng = np.random.default_rng(int(mult * 100) + shape[0])
    y = rng.poisson(lam, size=shape).astype(float)
    y[2:5, 3:6] += 6  # a planted hot spot
    mask = _irregular_mask(shape, shape[1]) if masked else None
    gv = _gv(y, cs=250.0, mask=mask)
    d = mult * 250.0
    res = gi_star(gv, d)
    e = _esda_gi(gv, d)
    ours = res.z[gv.grid.active]
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, e.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.z, _brute_gi_star(gv, d), atol=1e-9, equal_nan=True)
    # esda's p_norm is one-sided; ours is two-sided.
    np.testing.assert_allclose(res.p[gv.grid.active], 2 * e.p_norm, atol=1e-9)
    if masked:
        assert np.isnan(res.z[~mask]).all() and (res.classes[~mask] == OUTSIDE).all()


def test_gi_star_weighted_values_equal_esda():
    rng = np.random.default_rng(11)
    y = rng.gamma(0.5, 3.0, size=(18, 22))
    y[rng.random(y.shape) < 0.4] = 0.0
    gv = _gv(y, cs=200.0)
    res = gi_star(gv, 500)
    np.testing.assert_allclose(res.z.ravel(), _esda_gi(gv, 500).Zs, atol=1e-9)


# ------------------------------------------------------------------ real police.uk data
def _derbyshire_asb_xy(folder: Path) -> np.ndarray:
    import pyproj

    frames = [pd.read_csv(f, usecols=["Longitude", "Latitude", "Crime type"]) for f in sorted(folder.glob("*.csv"))]
    df = pd.concat(frames, ignore_index=True)
    df = df[df["Crime type"] == "Anti-social behaviour"].dropna(subset=["Longitude", "Latitude"])
    x, y = pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(
        df["Longitude"].to_numpy(float), df["Latitude"].to_numpy(float)
    )
    xy = np.column_stack([x, y])
    return xy[np.isfinite(xy).all(axis=1)]


@pytest.fixture(scope="module")
def derbyshire_xy(derbyshire_dir):
    return _derbyshire_asb_xy(derbyshire_dir)


@pytest.mark.realdata
def test_gi_star_equals_esda_on_derbyshire_asb_1km(derbyshire_xy):
    xy = derbyshire_xy
    assert len(xy) > 10_000
    g = Grid.for_points(xy, 1000)
    c = count(xy, g)
    res = gi_star(c, 2000)
    e = _esda_gi(c, 2000)
    np.testing.assert_allclose(res.z.ravel(), e.Zs, rtol=0, atol=1e-9)
    # Towns are hot spots with every inference; the analytic normal p calls more of them (its
    # upper tail is too light for skewed counts), the exact randomisation test fewer.
    normal = gi_star(c, 2000, inference="normal")
    assert res.params["inference"] == "count"
    assert 30 < (res.bins > 0).sum() < (normal.bins > 0).sum()
    assert (normal.bins > 0).sum() > 50


@pytest.mark.realdata
def test_gi_star_equals_esda_on_derbyshire_asb_500m_in_county(derbyshire_dir, derbyshire_xy):
    import geopandas as gpd
    import shapely

    area = gpd.read_file(derbyshire_dir.parent / "boundaries" / "derbyshire_county_2012_bgc.geojson").to_crs(27700)
    # The force area: the county with the Derby City hole filled.
    polys = [shapely.Polygon(p.exterior) for p in shapely.get_parts(area.geometry.values)]
    force = shapely.union_all(polys)
    g = Grid.for_area(force, 500)
    c = count(derbyshire_xy, g)
    assert g.n_cells < g.n_rows * g.n_cols
    res = gi_star(c, 1000)
    e = _esda_gi(c, 1000)
    np.testing.assert_allclose(res.z[g.active], e.Zs, rtol=0, atol=1e-9)
    assert (res.classes[~g.active] == OUTSIDE).all()


# ------------------------------------------------------------------ permutations
def _tie_free_surface(seed: int = 3) -> GridValues:
    rng = np.random.default_rng(seed)
    g = Grid.from_bounds((0, 0, 2999, 2499), 100)
    mask = np.ones(g.shape, bool)
    mask[:5, :7] = False
    mask[10:12, 3:20] = False
    g = g.with_mask(mask)
    v = np.round(ndimage.uniform_filter(rng.poisson(2, g.shape).astype(float), 3) * 3) + rng.random(g.shape) * 1e-3
    v[~mask] = np.nan
    return GridValues(v, g, "count")


_ESDA_PERMUTATION_SCRIPT = """
import sys, warnings
sys.modules["numba"] = None  # esda's documented fallback when numba is not installed
import numpy as np
from esda.getisord import G_Local
from libpysal.weights import DistanceBand
d = np.load(sys.argv[1])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    w = DistanceBand(d["xy"], threshold=float(d["distance"]), binary=True, silence_warnings=True)
    e = G_Local(d["y"], w, transform="B", star=True, permutations=int(d["R"]), seed=1, n_jobs=1)
np.savez(sys.argv[2], p_sim=e.p_sim, z_sim=e.z_sim, Zs=e.Zs)
"""


@pytest.fixture(scope="module")
def esda_permutation_run(tmp_path_factory):
    """esda's permutation Gi* on a small surface, in a subprocess that hides numba.

    Compiling esda's numba kernels takes about half a minute; esda's own no-numba fallback runs
    the same algorithm as plain Python/numpy in about a second on 700 cells.
    """
    import subprocess
    import sys

    gv = _tie_free_surface()
    tmp = tmp_path_factory.mktemp("esda")
    g = gv.grid
    np.savez(tmp / "in.npz", xy=g.centres(active_only=True), y=gv.values[g.active], distance=250 * (1 + 1e-9), R=999)
    cmd = [sys.executable, "-c", _ESDA_PERMUTATION_SCRIPT, str(tmp / "in.npz"), str(tmp / "out.npz")]
    subprocess.run(cmd, check=True, timeout=600)
    out = np.load(tmp / "out.npz")
    return gv, out


def test_permutation_p_values_distributed_like_esda(esda_permutation_run):
    gv, e = esda_permutation_run
    e_p, e_z = e["p_sim"], e["z_sim"]
    act = gv.grid.active
    res = gi_star(gv, 250, permutations=999, seed=1)
    ours = res.p_sim_directed[act]
    # Same data, independent random streams: per-cell Monte Carlo differences only.
    assert np.abs(ours - e_p).mean() < 0.02
    assert stats.ks_2samp(ours, e_p).statistic < 0.15
    for q in (0.3, 0.5, 0.7, 0.9):
        assert abs(np.quantile(ours, q) - np.quantile(e_p, q)) < 0.03
    a, b = ours < 0.05, e_p < 0.05
    assert (a & b).sum() / (a | b).sum() > 0.85
    assert np.abs(res.z_sim[act] - e_z).mean() < 0.05
    assert np.abs(res.z_sim[act] - e_z).max() < 0.5
    # Tie-free data: the two-sided p is exactly twice the directed one (capped at 1).
    np.testing.assert_array_equal(res.p_sim[act], np.minimum(1.0, 2 * ours))
    # Analytic z unaffected by permutations.
    np.testing.assert_allclose(res.z[act], e["Zs"], atol=1e-9)


def test_unreached_note_is_the_note_naming_the_classes_the_method_cannot_reach():
    """The note every output without hot spots gives (briefing, app) is the console's: None when the confidence
    can be reached."""
    from hotspots.gistar import unreached_note

    gv = _tie_free_surface(4)
    few = gi_star(gv, 200, permutations=19, seed=1)
    assert 0.95 not in few.params["classes_offered"]
    note = unreached_note(few, 0.95)
    assert note is not None and note in few.notes and note.startswith("with 19 permutations") and "cannot be reached" in note
    assert unreached_note(gi_star(gv, 200), 0.95) is None  # the exact count test reaches every class


def test_classes_cold_spots_reach_are_not_offered_to_hot_spots():
    """Half the map empty and a 3 x 3 hot block, 99 permutations, FDR over 1,600 cells: the ~800 empty
    cells share the smallest p (0.02) and lift each other to 95 % (cold), while the block's 9 cells can
    reach no class (0.02 x 1,600 / 9 = 3.6). The classes offered counted the cold cells, so the
    "no hotspot areas" outputs said nothing (Gwent's 2025 ASB with 999 permutations: 0 areas, no
    word); the hot side's classes are now their own, and the note says hot spots cannot reach them."""
    from hotspots.gistar import unreached_note

    rng = np.random.default_rng(3)
    v = rng.poisson(3.0, (40, 40)).astype(float)
    v[:, :20] = 0.0
    v[18:21, 28:31] += 12.0
    gi = gi_star(_gv(v), 150, permutations=99, seed=1)
    assert gi.params["p_min"] == pytest.approx(0.02)
    assert (gi.bins <= -2).sum() > 500 and (gi.bins > 0).sum() == 0  # cold cells at 95 %, no hot cell in any class
    assert 0.95 in gi.params["classes_offered"] and gi.params["hot_classes_offered"] == []
    note = unreached_note(gi, 0.95)
    assert note is not None and note in gi.notes
    assert "95%" in note and "cannot be reached by hot spots" in note and "they reach no class" in note
    assert "permutations=0" in note
    # the exact count test reaches every class on both sides: no note
    exact = gi_star(_gv(v), 150)
    assert exact.params["hot_classes_offered"] == [0.99, 0.95, 0.90] and unreached_note(exact, 0.95) is None


def test_permutations_are_reproducible_and_seeded():
    gv = _tie_free_surface(4)
    a = gi_star(gv, 200, permutations=199, seed=42)
    b = gi_star(gv, 200, permutations=199, seed=42)
    c = gi_star(gv, 200, permutations=199, seed=43)
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    np.testing.assert_array_equal(a.z_sim, b.z_sim)
    assert not np.array_equal(a.p_sim[gv.grid.active], c.p_sim[gv.grid.active])
    assert a.params["seed"] == 42 and a.params["permutations"] == 199
    R = 199
    ps = a.p_sim[gv.grid.active]
    assert ps.min() >= 1 / (R + 1) - 1e-15 and ps.max() <= 1
    # p-values live on the (M+1)/(R+1) lattice
    dirp = a.p_sim_directed[gv.grid.active] * (R + 1)
    np.testing.assert_allclose(dirp, np.round(dirp), atol=1e-9)


def test_conditional_permutation_matches_exact_enumeration():
    # 2 x 4 grid with rook neighbours: enumerate every k-subset of the other 7 values.
    y = np.array([[4.0, 1.0, 0.0, 2.0], [3.0, 7.0, 1.0, 5.0]])
    gv = _gv(y)
    R = 40_000
    res = gi_star(gv, 100, permutations=R, seed=7, fdr=False)
    flat = y.ravel()
    for i in range(8):
        r, c = divmod(i, 4)
        nb = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)) if 0 <= r + dr < 2 and 0 <= c + dc < 4]
        obs = sum(y[a, b] for a, b in nb)
        others = np.delete(flat, i)
        sums = np.array([sum(s) for s in itertools.combinations(others, len(nb))])
        ge, le = (sums >= obs).mean(), (sums <= obs).mean()
        exact_two = min(1.0, 2 * min(ge, le))
        tol = 4 * math.sqrt(max(min(ge, le), 1e-3) / R) * 2 + 3 / R
        assert res.p_sim[r, c] == pytest.approx(exact_two, abs=tol)
        lt = 1 - ge
        exact_dir = lt if lt < ge else ge
        assert res.p_sim_directed[r, c] == pytest.approx(exact_dir, abs=tol)


def test_permutation_p_close_to_normal_p_for_gaussian_data():
    rng = np.random.default_rng(8)
    g = Grid.from_bounds((0, 0, 3999, 3999), 100)
    v = rng.normal(10.0, 2.0, g.shape) + ndimage.gaussian_filter(rng.normal(0, 8, g.shape), 3)
    gv = GridValues(v, g, "value")
    res = gi_star(gv, 200, permutations=999, seed=0, fdr=False)
    # The permutation distribution of a sum of 12 normal values is normal: p_sim agrees with the
    # normal p-value of the permutation z-score up to Monte Carlo error.
    assert np.abs(res.p_sim - 2 * stats.norm.sf(np.abs(res.z_sim))).mean() < 0.02
    # Against the analytic (unconditional) Gi* p the agreement is looser: the conditional test
    # holds the cell's own value fixed (esda's p_sim differs from it in the same way).
    assert stats.spearmanr(res.p_sim.ravel(), res.p.ravel()).statistic > 0.85
    sig_a, sig_b = res.p_sim < 0.05, res.p < 0.05
    assert (sig_a & sig_b).sum() / (sig_a | sig_b).sum() > 0.6


def test_ties_do_not_make_empty_cells_significant():
    # Mostly-zero counts: a zero cell with all-zero neighbours is typical, not extreme.
    y = np.zeros((20, 20))
    y[3, 4], y[10, 12], y[15, 2], y[7, 17] = 3, 1, 2, 1
    gv = _gv(y)
    R = 999
    res = gi_star(gv, 150, permutations=R, seed=0, fdr=False)
    empty = (y == 0) & (ndimage.correlate(y, np.ones((3, 3)), mode="constant") == 0)
    assert empty.sum() > 100
    assert (res.p_sim[empty] > 0.5).all()
    assert (res.bins[empty] == 0).all()
    # esda's directed rule (kept for comparison) calls these cells extreme: 1/(R+1).
    np.testing.assert_allclose(res.p_sim_directed[empty], 1 / (R + 1))


# ------------------------------------------------------------------ classes and FDR
def test_bins_and_classes_follow_fdr_adjusted_p():
    rng = np.random.default_rng(2)
    y = rng.poisson(4.0, (30, 30)).astype(float)
    y[5:9, 5:9] += 6
    y[18:26, 16:26] = 0
    mask = _irregular_mask((30, 30), 9)
    gv = _gv(y, mask=mask)
    res = gi_star(gv, 150, fdr=True, inference="normal")
    act = gv.grid.active
    # one step-up per side (hot, cold), each against all active cells
    q = bh_adjust_by_side(res.p[act], np.sign(res.z[act]))
    np.testing.assert_allclose(res.p_adjusted[act], q, rtol=1e-12)
    # ... which is BH over all cells with the other side's p-values at 1
    for s in (1, -1):
        on = np.sign(res.z[act]) == s
        np.testing.assert_allclose(q[on], bh_adjust(np.where(on, res.p[act], 1.0))[on], rtol=1e-12)
    b = res.bins[act]
    mag = np.where(q <= 0.01, 3, np.where(q <= 0.05, 2, np.where(q <= 0.10, 1, 0)))
    np.testing.assert_array_equal(np.abs(b), mag)
    assert np.all(np.sign(b[b != 0]) == np.sign(res.z[act][b != 0]))
    labels = res.classes[act]
    np.testing.assert_array_equal(labels, [CLASS_LABELS[int(v)] for v in b])
    assert set(np.unique(res.classes)) <= set(CLASS_LABELS.values()) | {OUTSIDE}
    assert (res.bins[~act] == 0).all()
    assert res.hot.sum() == ((b > 0) & (q <= 0.05)).sum()
    assert (res.bins > 0).any() and (res.bins < 0).any()
    # FDR makes fewer (or as many) cells significant than no correction.
    raw = gi_star(gv, 150, fdr=False, inference="normal")
    assert raw.p_adjusted is None
    assert (raw.bins != 0).sum() >= (res.bins != 0).sum()
    want = np.where(raw.p[act] <= 0.01, 3, np.where(raw.p[act] <= 0.05, 2, np.where(raw.p[act] <= 0.1, 1, 0)))
    np.testing.assert_array_equal(np.abs(raw.bins[act]), want)


def test_certain_cold_spots_do_not_let_chance_hot_spots_through():
    # Random counts (12 a cell, no hot spot) around a block of empty ground inside the study area
    # (a park, a moor, a hole the footprint filled): the empty block is certainly cold. Adjusted
    # together with it, the hot side's p-values rank higher and chance concentrations pass; one
    # step-up per side keeps the hot side at its own error rate (hotspots.fdr).
    old = new = 0
    for seed in range(20):
        y = np.random.default_rng(seed).poisson(12.0, (60, 60)).astype(float)
        y[20:36, 20:36] = 0
        res = gi_star(_gv(y, cs=400.0), 600)
        act = res.grid.active
        assert res.cold[20:36, 20:36].sum() > 100
        joint = bh_adjust(res.p_exact[act])
        old += bool(((joint <= 0.05) & (res.direction[act] > 0)).any())
        new += bool(res.hot.any())
    assert old >= 5  # 9 of these 20 maps
    assert new <= 1  # 0 of 20


def test_permutation_classes_use_p_sim():
    gv = _tie_free_surface(5)
    res = gi_star(gv, 250, permutations=499, seed=3, fdr=True)
    act = gv.grid.active
    q = bh_adjust_by_side(res.p_sim[act], res.direction[act])
    np.testing.assert_allclose(res.p_adjusted[act], q)
    np.testing.assert_array_equal(np.abs(res.bins[act]), np.where(q <= 0.01, 3, np.where(q <= 0.05, 2, np.where(q <= 0.1, 1, 0))))
    assert "p_sim" in res.params["p_decision"]


def test_to_geodataframe_columns():
    gv = _tie_free_surface(6)
    res = gi_star(gv, 250, permutations=99, seed=0)
    gdf = res.to_geodataframe()
    assert list(gdf.columns) == [
        "row", "col", "count", "neighbours", "z", "p_normal", "p_sim", "p_sim_directed", "z_sim", "p_adjusted", "p_decision",
        "bin", "class", "geometry",
    ]
    assert len(gdf) == gv.grid.n_cells
    assert gdf.crs.to_epsg() == 27700
    np.testing.assert_allclose(gdf["z"], res.z[gdf["row"], gdf["col"]])
    assert gdf.geometry.area.iloc[0] == pytest.approx(100 * 100)
    sig = res.to_geodataframe(only_significant=True)
    assert len(sig) == int((res.bins != 0).sum()) and (sig["bin"] != 0).all()
    plain = gi_star(gv, 250, fdr=False, inference="normal").to_geodataframe()
    assert "p_sim" not in plain.columns and "p_adjusted" not in plain.columns and "p_exact" not in plain.columns
    counts_gv = _gv(np.round(gv.values), mask=gv.grid.active)
    exact = gi_star(counts_gv, 250).to_geodataframe()
    assert list(exact.columns) == [
        "row", "col", "count", "neighbours", "z", "p_normal", "p_exact", "p_adjusted", "p_decision", "bin", "class", "geometry",
    ]
    zg = res.grid_values("z")
    assert "p_decision" in plain.columns and "p_normal" in plain.columns
    assert isinstance(zg, GridValues) and np.isnan(zg.values[~gv.grid.active]).all()
    with pytest.raises(ParameterError, match="`what`"):
        gi_star(gv, 250, inference="normal").grid_values("p_sim")


def test_the_cells_say_which_p_decides_the_class():
    """Hertfordshire: cells labelled 'hot 90%' had z 6-8 and p = 2e-11 (the analytic normal p),
    their class set by p_exact after FDR. The columns say it: ``p_normal`` is z's normal p,
    ``p_decision`` the p that decides ``bin`` (at most 0.10 for 90 %, 0.05, 0.01)."""
    gv = _tie_free_surface(6)
    counts_gv = _gv(np.round(gv.values), mask=gv.grid.active)
    res = gi_star(counts_gv, 250)
    gdf = res.to_geodataframe()
    assert (gdf["bin"] != 0).any() and (gdf["p_normal"] != gdf["p_decision"]).any()
    np.testing.assert_allclose(gdf["p_decision"], res.p_adjusted[gdf["row"], gdf["col"]])
    np.testing.assert_allclose(gdf["p_normal"], res.p[gdf["row"], gdf["col"]])
    strength = np.select([gdf["p_decision"] <= 0.01, gdf["p_decision"] <= 0.05, gdf["p_decision"] <= 0.10], [3, 2, 1], 0)
    np.testing.assert_array_equal(np.abs(gdf["bin"]), strength)
    text = res.decision_text()
    assert text.startswith("class and bin are decided by p_decision = BH-adjusted (one step-up per side) p_exact")
    assert "do not decide the class" in text and "0.01, 0.05, 0.1" in text
    normal = gi_star(counts_gv, 250, fdr=False, inference="normal")
    assert normal.params["p_decision"] == "p_normal (two-sided normal p of z)"
    np.testing.assert_allclose(normal.to_geodataframe()["p_decision"], normal.to_geodataframe()["p_normal"])
    assert "here the decision p is p_normal itself" in normal.decision_text()


def test_params_and_automatic_distance_are_recorded():
    gv = _tie_free_surface(7)
    res = gi_star(gv, None)
    assert res.params["distance_rule"] in ("moran_peak", "fallback_sqrt2")
    assert res.notes and "distance band set to" in res.notes[0]
    assert res.params["distance_m"] >= gv.grid.cell_size
    assert res.params["n_cells"] == gv.grid.n_cells
    nb = res.params["neighbours"]
    assert nb["min"] <= nb["median"] <= nb["max"] == nb["stencil"]
    given = gi_star(gv, 300)
    assert given.params["distance_rule"] == "given" and given.params["distance_m"] == 300


def test_input_not_mutated():
    gv = _tie_free_surface(8)
    before = gv.values.copy()
    gi_star(gv, 200, permutations=49)
    np.testing.assert_array_equal(gv.values, before)


# ------------------------------------------------------------------ edge cases and errors
def test_all_zero_counts_are_not_significant():
    gv = _gv(np.zeros((10, 10)))
    res = gi_star(gv, 150, permutations=99)
    assert (res.z == 0).all() and (res.p == 1).all() and (res.p_sim == 1).all()
    assert (res.classes == "not significant").all()
    assert res.params["zero_variance"] is True
    assert any("do not vary" in n for n in res.notes)


def test_constant_counts_are_not_significant():
    res = gi_star(_gv(np.full((6, 7), 4.0)), 100)
    assert (res.bins == 0).all() and (res.z == 0).all()


def test_neighbourhood_covering_whole_area_gets_z_zero():
    y = np.array([[1.0, 5.0, 0.0], [2.0, 0.0, 3.0]])
    res = gi_star(_gv(y), 10_000, fdr=False)
    assert (res.z == 0).all() and res.params["cells_covering_area"] == 6
    assert any("whole study area" in n for n in res.notes)


def test_single_active_cell_is_an_error():
    mask = np.zeros((4, 4), bool)
    mask[1, 2] = True
    with pytest.raises(ParameterError, match="at least 2 cells"):
        gi_star(_gv(np.ones((4, 4)), mask=mask), 100)


def test_permutations_over_the_maximum_are_refused_before_any_work():
    with pytest.raises(ParameterError, match=r"`permutations` must be a whole number from 0 to 99,999"):
        gi_star(_gv(np.ones((4, 4))), 100, permutations=100_000_000)


def test_distance_shorter_than_cell_is_an_error():
    with pytest.raises(ParameterError, match=r"shorter than the cell size .*`distance=100`"):
        gi_star(_gv(np.ones((4, 4))), 99)


def test_band_typed_as_shown_gives_the_automatic_bands_answer():
    # 500 m cells: the fallback band is 707.1 m, shown "707 m"; typed back as 707 it reaches the same 8 cells, and the
    # same z, as esda's DistanceBand at 707.1 m.
    rng = np.random.default_rng(7)
    y = rng.poisson(1.0, size=(12, 14)).astype(float)
    y[3:6, 4:7] += 5
    gv = _gv(y, cs=500.0)
    auto = gi_star(gv, 500 * math.sqrt(2))
    typed = gi_star(gv, 707)
    np.testing.assert_allclose(typed.z, auto.z, equal_nan=True)
    np.testing.assert_allclose(typed.z[gv.grid.active], _esda_gi(gv, 500 * math.sqrt(2)).Zs, atol=1e-9)
    assert typed.params["neighbours"]["stencil"] == 8 and gi_star(gv, 706).params["neighbours"]["stencil"] == 4
    assert distance_text(707, 500) == distance_text(500 * math.sqrt(2), 500) == "707 m (8 neighbouring cells)"
    assert distance_text(706, 500) == "706 m (4 neighbouring cells)" and distance_text(float("nan"), 500) == "nan m"


def test_usable_distance_replaces_a_band_shorter_than_the_cell_and_says_why():
    assert usable_distance(707, 500) == (707.0, None) and usable_distance(500, 500) == (500.0, None)
    used, note = usable_distance(100, 500)
    assert used == 500.0
    assert note.startswith("distance band 100 m is shorter than the cell size (500 m)")
    assert "500 m (the cell size, the 4 edge neighbours) is used instead" in note and "707 m for all 8" in note
    with pytest.raises(ParameterError, match="distance"):
        usable_distance(-1, 500)


def test_nan_inside_study_area_is_named():
    y = np.ones((5, 5))
    y[3, 1] = np.nan
    with pytest.raises(ParameterError, match="row 3, col 1"):
        gi_star(_gv(y), 100)
    # NaN outside the mask is fine.
    mask = np.ones((5, 5), bool)
    mask[3, 1] = False
    y2 = np.random.default_rng(0).poisson(2, (5, 5)).astype(float)
    y2[3, 1] = np.nan
    assert np.isfinite(gi_star(_gv(y2, mask=mask), 100).z[mask]).all()


def test_empty_mask_cannot_be_built():
    with pytest.raises(ParameterError, match="no cell inside"):
        _gv(np.ones((3, 3)), mask=np.zeros((3, 3), bool))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"permutations": -1}, "`permutations`"),
        ({"permutations": 9.5}, "`permutations`"),
        ({"alpha": 0}, "`alpha`"),
        ({"alpha": 1.5}, "`alpha`"),
        ({"seed": 1.5}, "`seed`"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        gi_star(_gv(np.ones((4, 4))), 100, **kwargs)


def test_counts_must_be_grid_values():
    with pytest.raises(ParameterError, match="`counts`"):
        gi_star(np.ones((4, 4)), 100)


def test_result_type():
    res = gi_star(_gv(np.arange(16.0).reshape(4, 4)), 100)
    assert isinstance(res, GiStarResult)
    assert res.z.shape == (4, 4) and res.bins.dtype == np.int8
    assert ((res.p >= 0) & (res.p <= 1)).all()


# ------------------------------------------------------------------ properties

@settings(max_examples=40, deadline=None)
@given(
    nr=st.integers(2, 12),
    nc=st.integers(2, 12),
    mult=st.floats(1.0, 4.0),
    seed=st.integers(0, 10_000),
    shift=st.floats(-50, 50),
    scale=st.floats(0.1, 20),
)
def test_gi_star_matches_textbook_formula_and_is_affine_invariant(nr, nc, mult, seed, shift, scale):
    rng = np.random.default_rng(seed)
    y = rng.poisson(2.0, (nr, nc)).astype(float)
    mask = rng.random((nr, nc)) < 0.85
    if mask.sum() < 2 or np.ptp(y[mask]) == 0:
        return
    gv = _gv(y, mask=mask)
    res = gi_star(gv, mult * 100, fdr=False)
    brute = _brute_gi_star(gv, mult * 100)
    covering = res.n_neighbours[mask] == mask.sum()
    np.testing.assert_allclose(res.z[mask][~covering], brute[mask][~covering], atol=1e-9)
    assert (res.z[mask][covering] == 0).all()
    # z-scores do not change when values are shifted or rescaled (a change of units).
    res2 = gi_star(_gv(y * scale + shift, mask=mask), mult * 100, fdr=False)
    np.testing.assert_allclose(res2.z[mask], res.z[mask], atol=1e-7)
    assert ((res.p[mask] >= 0) & (res.p[mask] <= 1)).all()


def test_alpha_sets_significance_beyond_the_class_levels():
    rng = np.random.default_rng(12)
    y = rng.poisson(3.0, (30, 30)).astype(float)
    y[4:8, 4:8] += 3
    gv = _gv(y)
    loose = gi_star(gv, 150, alpha=0.3, fdr=False, inference="normal")
    strict = gi_star(gv, 150, alpha=0.01, fdr=False, inference="normal")
    np.testing.assert_array_equal(loose.significant, loose.p <= 0.3)
    np.testing.assert_array_equal(loose.hot, (loose.p <= 0.3) & (loose.z > 0))
    np.testing.assert_array_equal(strict.cold, (strict.p <= 0.01) & (strict.z < 0))
    assert loose.significant.sum() > (loose.bins != 0).sum()  # 0.1 < p <= 0.3 has no class
    np.testing.assert_array_equal(loose.direction, np.sign(loose.z).astype(np.int8))


def test_a_short_distance_names_the_flag_on_the_command_line():
    """On the command line the fix is `--distance 100`, not Python's `distance=100`."""
    from hotspots.validation import argument_names

    gv = _gv(np.ones((6, 6)))
    with argument_names({"distance": "--distance"}), pytest.raises(ParameterError) as err:
        gi_star(gv, 50)
    assert "`--distance` 50 m is shorter" in str(err.value) and "(e.g. `--distance 100` for the 4 edge" in str(err.value)
    assert "distance=" not in str(err.value)


def test_sparse_note_names_the_distance_band_that_keeps_the_neighbourhood():
    """City of London at 100 m cells was advised "cells of about 150 m"; with those the automatic
    band became 1,275 m. The advice names the band that keeps the 9-cell neighbourhood."""
    from hotspots.gistar import _sparse_note

    notes: list[str] = []
    # 3.68 incidents per 9-cell neighbourhood: 100 * sqrt(5 / 3.68) = 116.6 -> 150 m; band 150 * 150 / 100 = 225 m
    assert _sparse_note(3.68 / 9, 9.0, 100.0, False, notes, 150.0) == 150.0
    assert "cells of about 150 m with a distance band of about 225 m (the same 9-cell neighbourhood; give both " in notes[0]
    assert _sparse_note(1.0, 9.0, 100.0, False, [], 150.0) is None  # 9 per neighbourhood: not sparse


@pytest.mark.parametrize("cs", [250.0, 50.0, 20.0, 300.0])
def test_sparse_advice_does_not_depend_on_the_cell_size_in_use(cs):
    """Essex's 2025 ASB was advised cells of about 400 m (band 570 m) at 250 m cells and 360 m (band 510 m) at 50 m cells:
    the rounding step followed the cell size in use. The same density of incidents now gets the same advice."""
    from hotspots.gistar import _sparse_note

    density = 5 / (9 * 354.0**2)  # incidents per m²: 9-cell neighbourhoods of 354 m cells would hold 5
    notes: list[str] = []
    assert _sparse_note(density * cs**2, 9.0, cs, False, notes, cs * math.sqrt(2)) == 400.0
    assert "cells of about 400 m with a distance band of about 570 m (the same 9-cell neighbourhood" in notes[0]


def test_wide_note_when_the_band_takes_in_much_of_the_study_area():
    """A 1,275 m band over 138 cells of 150 m (median 102 cells each) found nothing and said nothing."""
    from hotspots.gistar import WIDE_SHARE, _wide_note

    notes: list[str] = []
    _wide_note(102.0, 138, 1275.0, 150.0, notes)
    assert notes == [
        "the distance band (1,275 m) takes in 102 of the study area's 138 cells (74%, median): each cell is compared "
        "with much of the study area itself, so few hot spots can stand out however the incidents cluster; a shorter "
        "`distance` (e.g. 212 m, the 8 surrounding cells) or smaller cells compare places with their own neighbourhood"
    ]
    _wide_note(WIDE_SHARE * 138 - 1, 138, 1275.0, 150.0, notes)  # under a quarter: no note
    assert len(notes) == 1


def test_a_note_says_why_a_high_z_has_a_lower_class():
    # one busy cell among busy cells: an ArcGIS reader takes z >= 2.58 as "hot 99 %"; the count test
    # (negative binomial background) may not; the note says which cells and why
    rng = np.random.default_rng(3)
    counts = rng.negative_binomial(1, 0.2, size=(30, 30)).astype(float)
    g = Grid.from_bounds((0, 0, 30 * 100 - 1, 30 * 100 - 1), 100.0)
    res = gi_star(GridValues(counts, g, name="count"), 150.0)
    high = (res.z >= 2.576) & (np.abs(res.bins) < 3) & (res.bins >= 0)
    note = [n for n in res.notes if "ArcGIS's 99 % hot spot line" in n]
    if high.sum():
        assert note and note[0].startswith(f"{int(high.sum()):,} cell(s) have a Gi* z of 2.58 or more")
        assert "p_exact p-values with the false discovery rate" in note[0]
    else:
        assert not note
    assert high.sum() > 0  # the case this test is for


def test_unreached_note_says_what_the_smallest_p_is_and_why_it_is_not_enough():
    """With 199 permutations the note said "(smallest p 0.01)" where a reader expects 1/200 = 0.005: the
    0.01 is two-sided (2 / (R + 1)); the words say so, and name the bound FDR puts on a cluster."""
    rng = np.random.default_rng(3)
    v = rng.poisson(3.0, (40, 40)).astype(float)
    v[18:21, 28:31] += 12.0
    gi = gi_star(_gv(v), 150, permutations=199, seed=1)
    assert gi.params["p_min"] == pytest.approx(0.01)
    note = next(n for n in gi.notes if "cannot be reached" in n)
    assert "the smallest two-sided p a cell can get is 0.01 (2 / (199 + 1): 1 in 200 on its side, doubled)" in note
    assert "(smallest p 0.01)" not in note
    m = int(gi.params.get("n_active", np.isfinite(gi.z).sum()))
    k = float(np.median(gi.n_neighbours[gi.n_neighbours > 0]))
    # the weakest class out of reach and the Benjamini-Hochberg bound it needs: k x alpha / m
    weakest = min(c for c in (0.99, 0.95, 0.90) if c not in gi.params["hot_classes_offered"])
    bound = np.format_float_positional(k * (1 - weakest) / m, precision=2, unique=True, fractional=False, trim="-")
    assert f"above the {bound} that {weakest:.0%} needs after FDR for a cluster of {k:.0f} such cells" in note
    assert f"({k:.0f} × {1 - weakest:.2f} / {m:,} cells)" in note
    # a number of permutations over the maximum the checks accept is said to be so
    over = [int(t.replace(",", "")) for t in re.findall(r"([\d,]+)(?: permutations)? for \d+% \(over the 99,999 allowed\)", note)]
    needs = [int(t.replace(",", "")) for t in re.findall(r"([\d,]+)(?: permutations)? for \d+%", note)]
    assert needs and over == [n for n in needs if n > 99_999]
    big = gi_star(_gv(rng.poisson(3.0, (120, 120)).astype(float)), 150, permutations=99, seed=1)
    note = next(n for n in big.notes if "cannot be reached" in n)
    assert re.search(r"[\d,]+ for 99% \(over the 99,999 allowed\)", note), note


def test_unreached_rule_without_fdr_is_the_class_own_alpha():
    from hotspots.gistar import _unreached_rule

    assert _unreached_rule((0.95, 0.05), 9, 1600, False) == "above the 0.05 that 95% needs"
    assert _unreached_rule((0.90, 9 * 0.1 / 13157), 9, 13157, True) == (
        "above the 0.000068 that 90% needs after FDR for a cluster of 9 such cells (9 × 0.10 / 13,157 cells)")
