"""Hotspot areas: merging significant cells, stable numbering, counts and geometry."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely

from hotspots._errors import ParameterError
from hotspots.areas import AREA_COLUMNS, HotspotAreas, hotspot_areas
from hotspots.gistar import GiStarResult, gi_star
from hotspots.grid import Grid, GridValues, count


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


def test_cold_areas_within_busy_ground_only():
    from hotspots.areas import busy_ground

    counts = np.zeros((8, 8))
    counts[0:3, 0:3] = 10.0  # busy ground in the north-west
    bins = np.zeros((8, 8), int)
    bins[0:2, 0:2] = -2  # a cold patch amid it (as given), and one on empty ground
    bins[5:8, 5:8] = -3
    gi = _with_bins(bins, counts)
    busy = busy_ground(gi, bands=1.0)  # within one band (100 m: a cell and its 4 edge neighbours)
    assert busy[0:3, 0:3].all() and busy[3, 1] and not busy[3, 3] and not busy[6, 6] and busy.sum() == 9 + 6
    res = hotspot_areas(gi, kind="cold", min_confidence=0.90, within=busy)
    assert res.n_areas == 1 and res.areas["n_cells"].tolist() == [4] and res.labels[6, 6] == 0
    with pytest.raises(ParameterError, match="`within` must be a boolean array of the grid's shape"):
        hotspot_areas(gi, kind="cold", within=np.ones((3, 3), bool))


def test_quiet_patches_are_surrounded_by_busy_ground():
    from hotspots.areas import quiet_patches

    busy = np.zeros((7, 9), bool)
    busy[0:6, 0:6] = True  # a town; sparse ground east of column 5 and south of row 5
    cold = np.zeros((7, 9), bool)
    cold[2:4, 2:4] = True  # a park inside the town
    cold[1, 5] = True  # a field at the town's eastern edge: busy itself, open to sparse ground
    cold[6, 7] = True  # open country
    kept = quiet_patches(cold, busy)
    assert kept[2:4, 2:4].all() and kept.sum() == 4
    edge = np.zeros((3, 3), bool)
    edge[0, 0] = True  # touching the grid's edge: not surrounded
    assert not quiet_patches(edge, np.ones((3, 3), bool)).any()


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


# ----------------------------------------------------------------------------- separate peaks
def _row(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """A one-row strip of selected cells with the given counts, in a 3-row grid: (cells, counts)."""
    c = np.zeros((3, len(counts) + 2))
    c[1, 1:-1] = counts
    return np.pad(np.ones((1, len(counts)), bool), 1), c


@pytest.mark.parametrize(
    "counts, n_expected",
    [
        ([20, 20, 0, 0, 20, 20], 2),  # 2 sqrt(20) = 8.9 above an empty pass: two hotspots
        ([10, 0, 10], 2),  # 6.32 > 6
        ([9, 0, 9], 1),  # exactly 6: not more than the prominence
        ([66, 25, 66], 2),  # 16.25 - 10 = 6.25
        ([64, 25, 64], 1),  # 16 - 10 = 6
        ([16, 16, 4, 16, 16], 1),  # 8 - 4 = 4: a dip, not two places
        ([30, 0, 30, 0, 30], 3),
    ],
)
def test_split_at_separate_peaks_hand_cases(counts, n_expected):
    from hotspots.areas import label_areas

    cells, c = _row(counts)
    labels, n, divided = label_areas(cells, c)
    assert n == n_expected and divided == (1 if n_expected > 1 else 0)
    assert label_areas(cells, c, split_peaks=False)[1] == 1
    assert (labels > 0).sum() == len(counts)  # every cell still in an area
    # no piece smaller than min_cells: with 2 the one-cell peaks of [10, 0, 10] stay together
    if len(counts) == 3:
        assert label_areas(cells, c, min_cells=2)[1] == 1


def test_split_pieces_follow_the_watershed():
    from hotspots.areas import label_areas

    cells, c = _row([3, 25, 6, 0, 2, 16, 1])
    labels, n, _ = label_areas(cells, c)
    assert n == 2
    row = labels[1, 1:-1]
    assert row[0] == row[1] == row[2] and row[4] == row[5] == row[6] and row[0] != row[5]
    # the empty pass goes to one side; each piece holds its peak's incidents
    sums = sorted(float(c[labels == k].sum()) for k in (row[0], row[5]))
    assert sums == [19.0, 34.0]
    # pieces of 3 and 4 cells: with min_cells 4 the smaller one's peak is dropped
    assert label_areas(cells, c, min_cells=4)[1] == 1


def test_hotspot_areas_divide_at_peaks_no_finer_than_a_neighbourhood():
    # hand-set hot strip, 3 rows x 13 columns, Gi* distance 100 m on 100 m cells: neighbourhood 5 cells
    c = np.zeros((5, 15))
    c[1:4, 1:7] = 20
    c[1:4, 9:14] = 20  # two blocks of 18 and 15 busy cells joined by an empty 3 x 2 pass
    bins = np.zeros(c.shape, dtype=np.int8)
    bins[1:4, 1:14] = 3
    gi = _with_bins(bins, c)
    res = hotspot_areas(gi, min_confidence=0.99)
    assert res.n_areas == 2 and res.params["split_peaks"]["areas_divided"] == 1
    assert res.params["split_peaks"]["min_piece_cells"] == 5
    assert res.how.endswith("1 group divided at separate peaks of incidents")
    assert "divided" not in hotspot_areas(gi, min_confidence=0.99, split_peaks=False).how
    assert res.areas["n_cells"].sum() == 39 and res.areas["count"].sum() == c.sum()
    assert hotspot_areas(gi, min_confidence=0.99, split_peaks=False).n_areas == 1
    # one busy cell is a peak of its own when its basin is a neighbourhood or more
    c2 = c.copy()
    c2[1:4, 9:14] = 0
    c2[2, 12] = 40
    res2 = hotspot_areas(_with_bins(bins, c2), min_confidence=0.99)
    assert res2.n_areas == 2  # pieces of 6 columns and 5 columns: both at least 5 cells


def test_busy_plateau_with_poisson_noise_is_one_area():
    from hotspots.areas import label_areas

    rng = np.random.default_rng(7)
    for _ in range(20):
        c = np.zeros((12, 12))
        c[1:-1, 1:-1] = rng.poisson(8.0, (10, 10))
        assert label_areas(np.pad(np.ones((10, 10), bool), 1), c)[1] == 1


def test_two_blobs_a_kilometre_apart_are_two_areas():
    # Gaussian blobs (sd 150 m, 400 incidents each) 1 km apart on a sparse background, 250 m cells:
    # Gi* rings join them into one group of hot cells; the split gives each blob its own area
    from hotspots.grid import count

    rng = np.random.default_rng(3)
    centres = np.array([[5_000.0, 5_000.0], [6_000.0, 5_000.0]])
    xy = np.vstack([c + rng.normal(0, 150, (400, 2)) for c in centres] + [rng.uniform(0, 10_000, (600, 2))])
    g = Grid.from_bounds((0, 0, 10_000, 10_000), 250)
    gi = gi_star(count(xy, g), 500)
    merged = hotspot_areas(gi, split_peaks=False)
    r, c, _ = g.cell_of(centres)
    assert merged.labels[r[0], c[0]] == merged.labels[r[1], c[1]] > 0
    res = hotspot_areas(gi)
    a, b = res.labels[r[0], c[0]], res.labels[r[1], c[1]]
    assert a > 0 and b > 0 and a != b
    assert res.params["split_peaks"]["areas_divided"] >= 1
    # every piece is still a set of significant hot cells, and each piece is connected
    assert np.all(gi.hot[res.labels > 0])
    from scipy import ndimage

    for k in range(1, res.n_areas + 1):
        assert ndimage.label(res.labels == k, structure=np.ones((3, 3)))[1] == 1


def test_split_only_for_whole_counts_and_hot_areas():
    c = np.zeros((5, 15))
    c[1:4, 1:7] = 20
    c[1:4, 9:14] = 20
    bins = np.zeros(c.shape, dtype=np.int8)
    bins[1:4, 1:14] = 3
    gi = _with_bins(bins, c)
    halves = dataclasses.replace(gi, counts=dataclasses.replace(gi.counts, values=gi.counts.values + 0.5))
    assert hotspot_areas(halves, min_confidence=0.99).n_areas == 1
    assert hotspot_areas(halves, min_confidence=0.99).params["split_peaks"]["areas_divided"] == 0
    cold = dataclasses.replace(gi, bins=-gi.bins)
    assert hotspot_areas(cold, min_confidence=0.99, kind="cold").n_areas == 1
    with pytest.raises(ParameterError, match="split_peaks"):
        hotspot_areas(gi, min_confidence=0.99, split_peaks="yes")


def test_neighbourhood_count_is_every_incident_within_the_distance_band_of_the_area():
    # hand case: one hot cell (area 1) with 1 incident beside a busy cell that is not hot
    counts = np.zeros((7, 7))
    counts[3, 3], counts[4, 3], counts[2, 4], counts[0, 0] = 1, 25, 7, 50
    bins = np.zeros((7, 7), int)
    bins[3, 3] = 2
    res = hotspot_areas(_with_bins(bins, counts), min_confidence=0.95)  # 100 m cells and band: the 4 cells around
    row = res.areas.iloc[0]
    assert (row["count"], row["neighbourhood_count"]) == (1, 1 + 25)  # not the 7 on the diagonal, nor the 50
    # two_blobs (150 m band at 100 m cells: a disc of 21 cells): brute force over cell centres
    two = hotspot_areas(gi_star(_gv(_blobs_counts()), 150))
    g = two.grid
    xx, yy = np.meshgrid(g.x_centres, g.y_centres)
    c = np.nan_to_num(_blobs_counts())
    for _, r in two.areas.iterrows():
        cells = two.labels == r["area_id"]
        d2 = (xx[..., None] - xx[cells][None, None, :]) ** 2 + (yy[..., None] - yy[cells][None, None, :]) ** 2
        near = (d2 <= 150.0**2 * (1 + 1e-9)).any(axis=-1)
        assert r["neighbourhood_count"] == pytest.approx(c[near].sum())
        assert r["neighbourhood_count"] > r["count"]


def _blobs_counts() -> np.ndarray:
    rng = np.random.default_rng(0)
    y = rng.poisson(0.5, (40, 40)).astype(float)
    y[5:10, 5:10] += 8
    y[25:32, 22:30] += 6
    return y


def test_areas_holding_most_incidents_at_one_location_are_named():
    from hotspots.areas import one_point_areas_note
    from hotspots.grid import count

    rng = np.random.default_rng(3)
    grid = _gv(np.zeros((9, 9))).grid

    def at(row: int, col: int, n: int, spot: bool = False) -> np.ndarray:
        """``n`` points in cell (row, col): all at one spot, or spread over the cell."""
        x0, y1 = grid.xmin + col * 100.0, grid.ymax - row * 100.0
        if spot:
            return np.tile([x0 + 37.5, y1 - 62.5], (n, 1))
        return np.column_stack([x0 + rng.uniform(1, 99, n), y1 - rng.uniform(1, 99, n)])

    parts = [
        (at(2, 2, 20, True), "On or near Parking Area"), (at(2, 2, 10), "On or near High Street"),  # 20 of 30
        (at(6, 6, 15, True), "On or near Market Place"), (at(6, 6, 25), "On or near Mill Lane"),  # 15 of 40
        (at(0, 8, 8, True), "On or near Station"),  # too few to judge
    ]
    xy = np.vstack([p for p, _ in parts])
    where = np.concatenate([[name] * len(p) for p, name in parts])
    counts = count(xy, grid).values
    assert counts[2, 2] == 30 and counts[6, 6] == 40 and counts[0, 8] == 8
    bins = np.zeros((9, 9), int)
    bins[2, 2] = bins[6, 6] = bins[0, 8] = 3
    res = hotspot_areas(_with_bins(bins, counts), min_confidence=0.95)
    assert list(res.areas["count"]) == [40, 30, 8]
    note = one_point_areas_note(res, xy, where)
    assert note.startswith(
        'a hotspot area holds at least half of its incidents at one location: area 2, 20 of its 30 at "On or near Parking Area". '
        "Such an area may be one place"
    )
    # exactly half counts, and the words say "at least half", not "most" (Dyfed-Powys: "most ... 10 of its 20");
    # no location text (or police.uk's empty "On or near") names no place
    xy2 = np.vstack([xy, at(6, 6, 10, True)])
    where2 = np.concatenate([where, ["On or near"] * 10])  # Market Place's point now 25 of 50
    res2 = hotspot_areas(_with_bins(bins, count(xy2, grid).values), min_confidence=0.95)
    note2 = one_point_areas_note(res2, xy2, where2)
    assert "2 hotspot areas hold at least half of their incidents at one location: area 1, 25 of its 50 at " in note2
    assert 'area 2, 20 of its 30 at "On or near Parking Area"' in note2
    # without a location name the point is named by its coordinates (NI's "area 45, 96 of its 134." named nothing)
    x1, y1 = at(6, 6, 1, True)[0]
    x2, y2 = at(2, 2, 1, True)[0]
    crs = f"EPSG:{grid.crs.to_epsg()} metres" if grid.crs.to_epsg() else f"{grid.crs.name} metres"
    assert one_point_areas_note(res2, xy2).startswith(
        "2 hotspot areas hold at least half of their incidents at one location: "
        f"area 1, 25 of its 50 at one point with no location name (x {x1:,.0f}, y {y1:,.0f}, {crs}); "
        f"area 2, 20 of its 30 at one point with no location name (x {x2:,.0f}, y {y2:,.0f}, {crs}). "
    )
    blank = np.where(where == "On or near Parking Area", "On or near ", where)
    assert "area 2, 20 of its 30 at one point with no location name (x " in one_point_areas_note(res, xy, blank)
    # spread incidents, or cold areas, give no note
    assert one_point_areas_note(res, at(2, 2, 30)) == ""
    cold = hotspot_areas(_with_bins(-bins, counts), kind="cold", min_confidence=0.95)
    assert one_point_areas_note(cold, xy, where) == ""


def test_small_areas_are_named_with_the_incidents_that_made_them_hot():
    from hotspots.areas import small_areas_note

    counts = np.zeros((9, 9))
    counts[2, 2], counts[3, 2], counts[6, 6], counts[6, 7], counts[0, 8] = 1, 30, 3, 40, 60
    bins = np.zeros((9, 9), int)
    bins[2, 2] = bins[6, 6] = 3
    bins[0, 8] = 2
    res = hotspot_areas(_with_bins(bins, counts), min_confidence=0.95)
    assert list(res.areas["count"]) == [60, 3, 1]
    note = small_areas_note(res)
    assert note == (
        "hotspot areas 2 and 3 hold only 3 and 1 incidents in their own cells: they are hot because of the 43 and 31 "
        "incidents within 100 m of them"
    )
    bins[6, 6] = 0
    one = small_areas_note(hotspot_areas(_with_bins(bins, counts), min_confidence=0.95))
    assert one == (
        "hotspot area 2 holds only 1 incident in its own cells: it is hot because of the 31 incidents within 100 m of it"
    )
    counts[2, 2] = 0  # a busy neighbourhood around an empty cell (stations around a square): no area at all
    res = hotspot_areas(_with_bins(bins, counts), min_confidence=0.95)
    assert list(res.areas["count"]) == [60] and res.labels[2, 2] == 0 and res.params["empty_groups_dropped"] == 1
    assert small_areas_note(res) == (
        "1 group of significant hot cells without a single incident of its own is not a hotspot area (hot only because "
        "of the incidents within 100 m; common at small cell sizes)"
    )
    bins[2, 2] = 0
    assert small_areas_note(hotspot_areas(_with_bins(bins, counts), min_confidence=0.95)) == ""


def test_broad_areas_are_said_with_their_share_and_the_tighter_band():
    from hotspots.areas import broad_areas_note

    counts = np.zeros((9, 9))
    counts[0, 8], counts[0, 7], counts[8, 0] = 40, 20, 30
    bins = np.zeros((9, 9), int)
    bins[0, 7] = bins[0, 8] = 3
    res = _with_bins(bins, counts)
    res.params["distance_m"] = 300.0  # a band wider than the 8 surrounding cells (141 m)
    broad = hotspot_areas(res, min_confidence=0.95)
    assert broad_areas_note(broad) == (
        "the hotspot area holds 67% of the incidents in 0.02 km² (2.5% of the 0.81 km² of cells analysed): at a 300 m "
        "distance band "
        "Gi* marks the busy places against the quiet country around them, whole towns at once; a shorter distance band "
        "(e.g. 141 m, the 8 surrounding cells) draws tighter areas around the busiest streets, and a study area of one "
        "town ranks places within it"
    )
    note = broad_areas_note(broad)
    assert "67% of the incidents" in note and "(2.5% of the 0.81 km² of cells analysed)" in note and "e.g. 141 m" in note
    assert "of the study area)" not in note  # one denominator, named: the cells analysed, not the study area's polygon
    counts[8, 0] = 50  # 60 of 110: 55 %, not broad
    assert broad_areas_note(hotspot_areas(_with_bins(bins, counts), min_confidence=0.95)) == ""
    cold = hotspot_areas(_with_bins(-bins, counts * 0 + 1), kind="cold", min_confidence=0.95)
    assert broad_areas_note(cold) == ""


def test_no_areas_keep_the_columns_types():
    """An empty table (no hot or no cold cells) has the types of a full one: a GIS layer of cold
    spots written from it has the hot spots' schema."""
    rng = np.random.default_rng(1)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(rng.uniform(0, 5000, 200), rng.uniform(0, 5000, 200)), crs=27700)
    g = Grid.for_points(pts, cell_size=500)
    gi = gi_star(count(pts, g), 800)
    empty = hotspot_areas(gi, kind="cold")
    assert empty.n_areas == 0 and list(empty.areas.columns) == list(AREA_COLUMNS)
    assert empty.areas["count"].dtype == np.float64 and empty.areas["peak_confidence"].dtype == object


def test_how_has_one_level_of_brackets(two_blobs):
    # It read "touching Gi* hot cells (cells significant at alpha 0.05 (95% confidence))".
    how = hotspot_areas(two_blobs).how
    assert how.startswith("touching Gi* hot cells significant at alpha 0.05 (95% confidence)")
    assert "((" not in how and "))" not in how
    assert hotspot_areas(two_blobs, min_confidence=0.99).how.startswith("touching Gi* hot cells at 99% confidence or more")


def test_groups_of_hot_cells_without_incidents_are_no_area_and_ranks_stay_consecutive():
    """Two empty hot groups between busy cells (Kent at 50 m: 22 of 85 areas with none, tied at rank 64): left out,
    the rest numbered 1..n and ranked 1, 2, 3 with no gap, and the note counts them alongside a small area's."""
    from hotspots.areas import small_areas_note

    counts = np.zeros((9, 9))
    counts[0, 0], counts[0, 8], counts[8, 8] = 50, 20, 5
    bins = np.zeros((9, 9), int)
    bins[0, 0] = bins[0, 8] = bins[8, 8] = bins[4, 4] = bins[8, 0] = 3  # (4, 4) and (8, 0) hold nothing
    res = hotspot_areas(_with_bins(bins, counts), min_confidence=0.99)
    a = res.areas
    assert list(a["count"]) == [50, 20, 5] and list(a["rank"]) == [1, 2, 3] and list(a["area_id"]) == [1, 2, 3]
    assert res.labels[4, 4] == res.labels[8, 0] == 0 and sorted(np.unique(res.labels)) == [0, 1, 2, 3]
    assert res.params["n_areas"] == 3 and res.params["empty_groups_dropped"] == 2
    assert small_areas_note(res).endswith(
        "; 2 groups of significant hot cells without a single incident of their own are not hotspot areas (hot only "
        "because of the incidents within 100 m; common at small cell sizes)"
    )


def test_km2_rounded_drops_float_noise_and_keeps_small_cells_exact():
    """csv/hotspot_areas.csv wrote 2.8000000000000007 km² (70 cells of 200 m: 70 x 0.04000000000000001)."""
    from hotspots.areas import km2_rounded

    cell = (200 / 1000) ** 2
    assert 70 * cell != 2.8 and km2_rounded([70 * cell], cell).tolist() == [2.8]
    assert km2_rounded([1 * 0.0001], 0.0001).tolist() == [0.0001]  # 10 m cells: not rounded to 0
    assert km2_rounded([3 * 0.0025], 0.0025).tolist() == [0.0075]  # 50 m cells
    assert km2_rounded([0.123456], 0.25).tolist() == [0.123]  # 3 decimals
