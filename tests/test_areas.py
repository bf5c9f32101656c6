"""Hotspot areas: merging significant cells, stable numbering, counts and geometry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely

from hotspots._errors import ParameterError
from hotspots.areas import AREA_COLUMNS, HotspotAreas, hotspot_areas
from hotspots.gistar import GiStarResult, gi_star
from hotspots.grid import Grid, GridValues


def _gv(values: np.ndarray, cs: float = 100.0, mask=None) -> GridValues:
    nr, nc = values.shape
    g = Grid.from_bounds((0, 0, nc * cs - 1, nr * cs - 1), cs)
    if mask is not None:
        g = g.with_mask(mask)
        values = np.where(mask, values, np.nan)
    return GridValues(np.asarray(values, float), g, "count")


@pytest.fixture(scope="module")
def two_blobs() -> GiStarResult:
    rng = np.random.default_rng(0)
    y = rng.poisson(0.5, (40, 40)).astype(float)
    y[5:10, 5:10] += 8  # north-west blob, 25 cells
    y[25:32, 22:30] += 6  # south-east blob, 56 cells, more incidents in total
    return gi_star(_gv(y), 150)


def _with_bins(bins: np.ndarray, counts: np.ndarray) -> GiStarResult:
    """A Gi* result with hand-set bins (z follows the bins) for testing the merging alone."""
    base = gi_star(_gv(counts), 100)
    return dataclasses.replace(base, bins=bins.astype(np.int8), z=bins.astype(float))


# ------------------------------------------------------------------ check outputs
def test_two_blobs_give_two_areas_with_correct_counts(two_blobs):
    res = hotspot_areas(two_blobs)
    assert isinstance(res, HotspotAreas)
    areas = res.areas
    assert list(areas.columns) == list(AREA_COLUMNS)
    assert len(areas) == 2 and res.n_areas == 2
    assert list(areas["area_id"]) == [1, 2]
    counts = np.nan_to_num(two_blobs.counts.values)
    for _, row in areas.iterrows():
        cells = res.labels == row["area_id"]
        assert cells.sum() == row["n_cells"]
        assert counts[cells].sum() == pytest.approx(row["count"])
        assert two_blobs.hot[cells].all()
        assert row["max_z"] == pytest.approx(two_blobs.z[cells].max())
        assert row["mean_z"] == pytest.approx(two_blobs.z[cells].mean())
        assert row["area_km2"] == pytest.approx(row["n_cells"] * 0.01)
        assert row.geometry.area == pytest.approx(row["n_cells"] * 100 * 100)
        assert row["share_of_incidents"] == pytest.approx(row["count"] / counts.sum())
    # Area 1 has the most incidents: the south-east blob.
    r1, c1 = np.argwhere(res.labels == 1).mean(axis=0)
    assert r1 > 20 and c1 > 20
    assert areas["count"].iloc[0] > areas["count"].iloc[1]
    assert list(areas["rank"]) == [1, 2]
    # Every hot cell significant at the Gi* alpha (0.05) is in some area, and nothing else is:
    # one level for areas, classes and captions.
    np.testing.assert_array_equal(res.labels > 0, two_blobs.hot)
    np.testing.assert_array_equal(res.labels > 0, two_blobs.bins >= 2)
    assert res.params["min_confidence"] == pytest.approx(0.95) and "alpha 0.05" in res.params["rule"]
    # The old 90 % rule is still available on request, and takes in at least as many cells.
    ninety = hotspot_areas(two_blobs, min_confidence=0.90)
    np.testing.assert_array_equal(ninety.labels > 0, two_blobs.bins >= 1)
    assert (ninety.labels > 0).sum() >= (res.labels > 0).sum()
    assert areas.crs.to_epsg() == 27700


def test_numbering_is_stable_for_the_same_input(two_blobs):
    a = hotspot_areas(two_blobs)
    b = hotspot_areas(two_blobs)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.areas.drop(columns="geometry").equals(b.areas.drop(columns="geometry"))
    assert all(x.equals(y) for x, y in zip(a.areas.geometry, b.areas.geometry))


def test_ties_are_broken_north_west_first():
    counts = np.ones((10, 10))
    bins = np.zeros((10, 10), int)
    bins[7:9, 1:3] = 3  # south-west, 4 cells
    bins[1:3, 6:8] = 2  # north-east, 4 cells: same count, same size, further north
    res = hotspot_areas(_with_bins(bins, counts), min_confidence=0.90)
    assert res.labels[1, 6] == 1 and res.labels[7, 1] == 2
    assert list(res.areas["rank"]) == [1, 1]  # equal counts share the rank
    assert list(res.areas["peak_confidence"]) == ["95%", "99%"]


def test_connectivity_four_versus_eight():
    counts = np.ones((6, 6))
    bins = np.zeros((6, 6), int)
    bins[1, 1] = bins[2, 2] = 1  # touching at a corner only
    gi = _with_bins(bins, counts)
    assert hotspot_areas(gi, connectivity=8, min_confidence=0.90).n_areas == 1
    four = hotspot_areas(gi, connectivity=4, min_confidence=0.90)
    assert four.n_areas == 2 and set(np.unique(four.labels)) == {0, 1, 2}


def test_min_confidence_filters_cells():
    counts = np.ones((6, 8))
    bins = np.zeros((6, 8), int)
    bins[1, 1:4] = [1, 2, 3]
    bins[4, 6] = 1
    gi = _with_bins(bins, counts)
    assert hotspot_areas(gi, min_confidence=0.90).n_areas == 2
    r95 = hotspot_areas(gi, min_confidence="hot 95%")
    assert r95.n_areas == 1 and r95.areas["n_cells"].iloc[0] == 2
    assert hotspot_areas(gi, min_confidence=99).areas["n_cells"].tolist() == [1]
    assert hotspot_areas(gi, min_confidence="95%").n_areas == 1


def test_cold_areas():
    counts = np.ones((8, 8))
    bins = np.zeros((8, 8), int)
    bins[0:2, 0:2] = -2
    bins[5:8, 5:8] = -3
    bins[3, 3] = 3
    res = hotspot_areas(_with_bins(bins, counts), kind="cold", min_confidence=0.90)
    assert res.n_areas == 2
    assert res.areas["n_cells"].tolist() == [9, 4]  # cold: largest first
    assert res.areas["max_z"].tolist() == [-3.0, -2.0]  # the most negative z
    assert res.labels[3, 3] == 0


def test_no_significant_cells_gives_empty_table():
    res = hotspot_areas(gi_star(_gv(np.ones((5, 5))), 100))
    assert res.n_areas == 0 and list(res.areas.columns) == list(AREA_COLUMNS)
    assert (res.labels == 0).all()


def test_masked_cells_never_join_areas():
    counts = np.ones((5, 5))
    mask = np.ones((5, 5), bool)
    mask[2, :] = False
    bins = np.zeros((5, 5), int)
    bins[:, 2] = 2
    bins[2, 2] = 0
    base = gi_star(_gv(counts + np.eye(5), mask=mask), 100)
    gi = dataclasses.replace(base, bins=bins.astype(np.int8), z=bins.astype(float))
    res = hotspot_areas(gi, connectivity=4, min_confidence=0.90)
    assert res.n_areas == 2
    assert (res.labels[2] == 0).all()


# ------------------------------------------------------------------ check inputs
@pytest.mark.parametrize("bad", [0.8, "hot 80%", "strong", 0.0])
def test_bad_min_confidence(two_blobs, bad):
    with pytest.raises(ParameterError, match="`min_confidence`"):
        hotspot_areas(two_blobs, min_confidence=bad)


def test_bad_connectivity_and_kind(two_blobs):
    with pytest.raises(ParameterError, match="`connectivity`"):
        hotspot_areas(two_blobs, connectivity=6)
    with pytest.raises(ParameterError, match="`kind`"):
        hotspot_areas(two_blobs, kind="warm")
    with pytest.raises(ParameterError, match="`gi`"):
        hotspot_areas(two_blobs.z)


def test_geometry_is_the_union_of_the_cells_with_holes_and_corner_contacts():
    # Area 1: a ring of 8 cells around an empty cell (one hole) plus a cell touching the ring
    # only at a corner (8-connected: same area, a second polygon). Grid 100 m, y up.
    bins = np.zeros((6, 6))
    bins[1:4, 1:4] = 1
    bins[2, 2] = 0
    bins[4, 4] = 1
    res = hotspot_areas(_with_bins(bins, np.ones((6, 6))), min_confidence=0.90)
    assert res.n_areas == 1
    geom = res.areas.geometry.iloc[0]
    g = res.grid
    rows, cols = np.nonzero(bins)
    union = shapely.union_all(g.cell_polygons(rows, cols))
    assert geom.equals(union)
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    ring = max(geom.geoms, key=lambda p: p.area)
    assert ring.area == pytest.approx(8 * 100 * 100) and len(ring.interiors) == 1
    assert len(ring.exterior.coords) == 5  # the corners only: no vertex on a straight edge
