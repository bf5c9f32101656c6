"""Stability of hot spots across cell sizes and distance bands."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from hotspots._errors import ParameterError
from hotspots.gistar import gi_star
from hotspots.grid import Grid, count
from hotspots.robustness import StabilityResult, jaccard_matrix, stability


@pytest.fixture(scope="module")
def blob_points() -> np.ndarray:
    rng = np.random.default_rng(0)
    bg = rng.uniform([0, 0], [5000, 5000], size=(3000, 2))
    b1 = rng.normal([1200, 3800], 150, size=(400, 2))
    b2 = rng.normal([3800, 1200], 150, size=(300, 2))
    return np.vstack([bg, b1, b2])


# ------------------------------------------------------------------ jaccard
def test_jaccard_matrix_by_hand():
    a = np.zeros((3, 3), bool)
    a[0, :] = True  # 3 cells
    b = np.zeros((3, 3), bool)
    b[0, 1:] = True
    b[1, 0] = True  # 3 cells, 2 shared -> 2 / 4
    c = np.zeros((3, 3), bool)
    c[2, 2] = True  # disjoint from a and b
    e = np.zeros((3, 3), bool)
    J = jaccard_matrix([a, b, c, a.copy(), e, e.copy()])
    assert J[0, 1] == pytest.approx(0.5) and J[1, 0] == pytest.approx(0.5)
    assert J[0, 2] == 0 and J[1, 2] == 0
    assert J[0, 3] == 1
    assert J[4, 5] == 1  # two empty sets agree
    assert J[0, 4] == 0
    np.testing.assert_array_equal(np.diag(J), 1)
    with pytest.raises(ParameterError, match="same shape"):
        jaccard_matrix([a, np.zeros((2, 2), bool)])


# ------------------------------------------------------------------ check outputs
def test_identical_runs_agree_completely(blob_points):
    res = stability(blob_points, cell_sizes=[200, 200], distances=[400])
    assert isinstance(res, StabilityResult)
    np.testing.assert_array_equal(res.jaccard, np.ones((2, 2)))
    assert res.mean_jaccard == 1.0
    vals = res.hot_share.values
    assert set(np.unique(vals[~np.isnan(vals)])) == {0.0, 1.0}
    assert set(np.unique(res.point_hot_share)) <= {0.0, 1.0}


def test_sweep_table_and_robustness_surface(blob_points):
    res = stability(blob_points, cell_sizes=[100, 200, 250], distance_multipliers=[1.5, 2])
    t = res.table
    assert list(t.columns) == [
        "run", "cell_size_m", "distance_m", "distance_rule", "n_cells", "n_hot_cells", "n_hot_areas",
        "hot_area_km2", "share_of_incidents_in_hot",
    ]
    assert len(t) == 6 and res.jaccard.shape == (6, 6)
    np.testing.assert_allclose(t["distance_m"], [150, 200, 300, 400, 375, 500])
    assert (t["distance_rule"] == "given").all()
    np.testing.assert_allclose(t["hot_area_km2"], t["n_hot_cells"] * (t["cell_size_m"] / 1000) ** 2)
    assert ((res.jaccard >= 0) & (res.jaccard <= 1)).all()
    np.testing.assert_allclose(res.jaccard, res.jaccard.T)
    assert 0.3 < res.mean_jaccard < 1.0
    # The two planted blobs are hot in every run; the background far from them never is.
    ref = res.reference_grid
    assert ref.cell_size == 100
    share = res.hot_share.values
    r, c, _ = ref.cell_of(np.array([[1200.0, 3800.0], [3800.0, 1200.0], [4700.0, 4700.0]]))
    assert share[r[0], c[0]] == 1 and share[r[1], c[1]] == 1 and share[r[2], c[2]] == 0
    assert res.robust_cells(1.0)[r[0], c[0]]
    assert res.hot_share.grid is ref and res.hot_share.name == "hot_share"
    # Run 2 (200 m cells, 300 m band) checked against a direct Gi* run.
    g = Grid.for_points(blob_points, 200)
    gi = gi_star(count(blob_points, g), 300)
    assert t["n_hot_cells"].iloc[2] == gi.hot.sum()
    counts = count(blob_points, g).values
    assert t["share_of_incidents_in_hot"].iloc[2] == pytest.approx(counts[gi.hot].sum() / counts.sum())
    # Points in the blobs are in hot cells in all runs.
    near = np.hypot(blob_points[:, 0] - 1200, blob_points[:, 1] - 3800) < 100
    assert (res.point_hot_share[near] == 1).all()
    assert ((res.point_hot_share >= 0) & (res.point_hot_share <= 1)).all()


def test_hot_share_is_nan_outside_study_area(blob_points):
    import shapely

    area = shapely.Polygon([(0, 0), (5000, 0), (5000, 5000)])  # south-east triangle
    res = stability(blob_points, cell_sizes=[250, 500], distance_multipliers=[2])
    masked = stability(blob_points, cell_sizes=[250, 500], distance_multipliers=[2], mask=area)
    assert res.reference_grid.mask is None
    m = masked.reference_grid.mask
    assert m is not None and np.isnan(masked.hot_share.values[~m]).all()
    assert np.isfinite(masked.hot_share.values[m]).all()


def test_automatic_distance_and_skipped_combinations(blob_points):
    auto = stability(blob_points, cell_sizes=[250])
    assert auto.table["distance_rule"].iloc[0] in ("moran_peak", "fallback_sqrt2")
    assert any("distance band set to" in n for n in auto.notes)
    res = stability(blob_points, cell_sizes=[100, 400], distances=[300])
    assert len(res.table) == 1 and res.table["cell_size_m"].iloc[0] == 100
    assert any("skipped cell size 400" in n for n in res.notes)
    kept = stability(blob_points, cell_sizes=[200], distances=[400], keep_results=True)
    assert len(kept.results) == 1 and kept.results[0].params["distance_m"] == 400


# ------------------------------------------------------------------ check inputs
def test_bad_arguments(blob_points):
    with pytest.raises(ParameterError, match="not both"):
        stability(blob_points, cell_sizes=[100], distances=[200], distance_multipliers=[2])
    with pytest.raises(ParameterError, match="`cell_sizes`"):
        stability(blob_points, cell_sizes=[])
    with pytest.raises(ParameterError, match="`cell_sizes`"):
        stability(blob_points, cell_sizes=[-100])
    with pytest.raises(ParameterError, match="`mask`"):
        stability(blob_points, cell_sizes=[100], mask=np.ones((3, 3), bool))
    with pytest.raises(ParameterError, match="shorter than its cell size"):
        stability(blob_points, cell_sizes=[500], distances=[100])
    with pytest.raises(ParameterError, match="empty"):
        stability(np.empty((0, 2)), cell_sizes=[100])


def test_a_footprint_study_area_loses_its_empty_margin_in_every_run():
    # as in the analysis (hotspots.footprint.grid_within_reach): the runs judge cells against the
    # ground the incidents reach, not the footprint's 1 km margin around it
    from hotspots.footprint import data_footprint

    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 10_000, (2_000, 2)) + [400_000, 300_000]
    area = data_footprint(xy, crs=27700).to_geodataframe()
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    res = stability(pts, cell_sizes=[250, 500], mask=area)
    plain = stability(pts, cell_sizes=[250, 500], mask=area.geometry.iloc[0])  # a bare polygon: no trimming
    km2 = res.table["n_cells"].to_numpy() * np.array([250.0, 500.0]) ** 2 / 1e6
    assert np.all((km2 > 90) & (km2 < 110)), km2  # the 10 km square itself
    assert (res.table["n_cells"].to_numpy() < plain.table["n_cells"].to_numpy()).all()
    assert res.reference_grid.active.sum() == res.table["n_cells"].iloc[0]
