"""Tests for hotspots.footprint: the study area derived from the incidents (no boundary file)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots._errors import CRSError, ParameterError
from hotspots.footprint import GAP_M, MARGIN_M, cells_within_reach, data_footprint


def town(rng, centre, sd, n):
    return rng.normal(centre, sd, size=(n, 2))


# ----------------------------------------------------------------------------- check inputs
@pytest.mark.parametrize(
    "kw, match",
    [
        ({"gap_m": 0}, "gap_m"),
        ({"margin_m": -1}, "margin_m"),
        ({"margin_m": 6000}, "too large"),
        ({"min_share": 1.0}, "min_share"),
        ({"min_count": 0}, "min_count"),
        ({"min_count": True}, "min_count"),
    ],
)
def test_bad_parameters(kw, match):
    with pytest.raises(ParameterError, match=match):
        data_footprint(np.array([[0.0, 0.0], [10.0, 10.0]]), crs=27700, **kw)


def test_needs_projected_crs_and_points():
    with pytest.raises(CRSError, match="crs"):
        data_footprint(np.array([[0.0, 0.0]]))
    ll = gpd.GeoDataFrame(geometry=gpd.points_from_xy([-1.1], [52.6]), crs=4326)
    with pytest.raises(CRSError, match="degrees"):
        data_footprint(ll)
    with pytest.raises(CRSError, match="no CRS"):
        data_footprint(gpd.GeoDataFrame(geometry=gpd.points_from_xy([1.0], [2.0])))
    with pytest.raises(ParameterError, match="empty"):
        data_footprint(np.empty((0, 2)), crs=27700)


# ----------------------------------------------------------------------------- check outputs
def test_strays_left_out_and_counted():
    rng = np.random.default_rng(0)
    core = np.vstack([town(rng, [450_000, 300_000], 2_000, 3000), town(rng, [455_000, 318_000], 1_500, 1500)])
    strays = np.array([[530_000, 180_000], [531_000, 181_000], [420_000, 540_000]])  # London x2, Durham
    fp = data_footprint(np.vstack([core, strays]), crs=27700)
    assert fp.n_incidents == 4503 and fp.n_outside == 3 and fp.n_inside == 4500
    assert fp.groups_kept == 1 and fp.groups_left_out == 2
    assert fp.inside[:4500].all() and not fp.inside[4500:].any()
    # The two towns 18 km apart are joined (gaps of under 10 km between their incidents).
    assert shapely.get_num_geometries(fp.geometry) == 1
    # The area is about where the incidents are, not the 110 x 360 km box of the strays.
    x0, y0, x1, y1 = fp.geometry.bounds
    assert x1 - x0 < 30_000 and y1 - y0 < 40_000
    text = fp.describe()
    assert "left out 3 incident(s)" in text and "2 outlying group(s)" in text and "4,500 of 4,503" in text
    rec = fp.record()
    assert rec["incidents_outside"] == 3 and rec["share_of_incidents_inside"] == round(4500 / 4503, 4)


def test_one_stray_in_many_is_not_said_as_100_per_cent_inside():
    # North Wales's violence: "holding 25,535 of 25,536 incidents (100.00%); left out 1 incident(s) (0.00%)"
    rng = np.random.default_rng(1)
    core = town(rng, [450_000, 300_000], 2_000, 20_000)
    fp = data_footprint(np.vstack([core, [[520_000.0, 300_000.0]]]), crs=27700)
    assert fp.n_outside == 1
    text = fp.describe()
    assert "holding 20,000 of 20,001 incidents (>99.99%)" in text and "left out 1 incident(s) (<0.01%)" in text
    assert "100.00%" not in text and "0.00%" not in text


def test_a_stray_linked_only_across_a_near_gap_is_left_out_not_kept_as_an_island():
    # one incident 9 km beyond the town's edge: within the 10 km gap, so in the town's group, but
    # shrunk back it kept a 12 km² disc of its own (Durham's 2025 ASB: two such islands)
    rng = np.random.default_rng(0)
    core = town(rng, [450_000, 300_000], 1_500, 500)
    stray = [[core[:, 0].max() + 9_000, 300_000]]
    fp = data_footprint(np.vstack([core, stray]), crs=27700)
    assert shapely.get_num_geometries(fp.geometry) == 1
    assert fp.n_outside == 1 and not fp.inside[-1] and fp.inside[:-1].all()
    assert (fp.groups_left_out, fp.pieces_left_out) == (0, 1) and fp.record()["pieces_left_out"] == 1
    assert "left out 1 incident(s)" in fp.describe() and "1 stray piece(s) of under 5 incidents" in fp.describe()
    # five incidents there are a place, not a stray: kept as its own piece
    five = np.array(stray * 5) + rng.normal(0, 50, (5, 2))
    fp5 = data_footprint(np.vstack([core, five]), crs=27700)
    assert shapely.get_num_geometries(fp5.geometry) == 2 and fp5.n_outside == 0 and fp5.pieces_left_out == 0


def test_every_kept_incident_has_a_margin():
    rng = np.random.default_rng(1)
    xy = town(rng, [400_000, 400_000], 3_000, 2000)
    fp = data_footprint(xy, crs=27700)
    assert fp.n_outside == 0
    # Each incident is at least the margin inside the edge.
    d = shapely.distance(shapely.points(xy), fp.geometry.boundary)
    assert d.min() >= MARGIN_M
    # and the area does not reach far beyond the incidents: at most the gap's half from one.
    far = shapely.Point(400_000 + 3_000 * 6, 400_000)
    assert not fp.geometry.contains(far)


def test_holes_filled_and_bays_closed():
    # A ring-shaped town (incidents around a 3 km park): the park is inside the study area.
    rng = np.random.default_rng(2)
    ang = rng.uniform(0, 2 * np.pi, 3000)
    r = rng.uniform(3_000, 4_000, 3000)
    xy = np.column_stack([500_000 + r * np.cos(ang), 200_000 + r * np.sin(ang)])
    fp = data_footprint(xy, crs=27700)
    assert fp.geometry.contains(shapely.Point(500_000, 200_000))
    assert shapely.get_num_interior_rings(shapely.get_parts(fp.geometry)).sum() == 0


def test_separate_large_groups_kept_as_parts():
    rng = np.random.default_rng(3)
    a = town(rng, [300_000, 300_000], 1_000, 1000)
    b = town(rng, [360_000, 300_000], 1_000, 300)  # 60 km away, 23 % of incidents: an island town
    fp = data_footprint(np.vstack([a, b]), crs=27700)
    assert fp.n_outside == 0 and fp.groups_kept == 2
    assert shapely.get_num_geometries(fp.geometry) == 2
    assert not fp.geometry.contains(shapely.Point(330_000, 300_000))


def test_min_share_and_min_count():
    rng = np.random.default_rng(4)
    a = town(rng, [300_000, 300_000], 1_000, 1000)
    b = town(rng, [400_000, 300_000], 300, 8)  # 0.8 % of incidents, far away
    xy = np.vstack([a, b])
    assert data_footprint(xy, crs=27700).n_outside == 8
    assert data_footprint(xy, crs=27700, min_share=0.005).n_outside == 0
    assert data_footprint(xy, crs=27700, min_share=0.005, min_count=10).n_outside == 8


def test_outlying_groups_hold_at_most_five_percent_together():
    xy = np.array([[0.0, 0.0], [50_000.0, 0.0], [50_100.0, 0.0]])
    fp = data_footprint(xy, crs=27700)  # every group is below min_count, but leaving one out loses a third
    assert fp.n_inside == 3 and fp.groups_kept == 2
    # Many small groups (a force along the railways): the smallest go while they hold <= 5 % together.
    rng = np.random.default_rng(3)
    core = town(rng, [400_000, 300_000], 1_500, 600)
    beads = [town(rng, [400_000 + 20_000 * k, 500_000], 200, 5) for k in range(1, 21)]  # 20 groups of 5 (0.7 % each)
    fp = data_footprint(np.vstack([core, *beads]), crs=27700)
    assert fp.n_outside <= 0.05 * fp.n_incidents < fp.n_outside + 5  # as many left out as the cap allows
    assert fp.groups_left_out == fp.n_outside // 5 and fp.share_inside >= 0.95


def test_geodataframe_in_and_out():
    rng = np.random.default_rng(5)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*town(rng, [200_000, 500_000], 1_000, 300).T), crs=2157)
    fp = data_footprint(pts)
    gdf = fp.to_geodataframe()
    assert gdf.crs.to_epsg() == 2157 and len(gdf) == 1 and gdf.attrs["source"] == "footprint of the incidents"
    assert fp.area_km2 == pytest.approx(gdf.area.iloc[0] / 1e6)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 60_000), st.floats(0, 60_000)), min_size=1, max_size=60),
    st.floats(2_500, 20_000),
)
def test_invariants(pts, gap):
    xy = np.array(pts) + [400_000, 300_000]
    fp = data_footprint(xy, crs=27700, gap_m=gap, margin_m=gap / 8)
    assert fp.n_inside + fp.n_outside == len(xy)
    assert fp.n_inside >= 1 and fp.geometry.is_valid and not fp.geometry.is_empty
    assert 0 < fp.share_inside <= 1
    # Kept incidents are inside; the inside flags agree with the geometry.
    assert np.array_equal(fp.inside, shapely.contains_xy(fp.geometry, xy[:, 0], xy[:, 1]))
    assert fp.groups_kept >= 1 and fp.gap_m == gap


@pytest.mark.realdata
def test_leicestershire_strays(leicestershire_asb):
    inc = leicestershire_asb
    fp = data_footprint(inc)
    # Three strays: two in London, one in County Durham (REFERENCE: 3 of 14,178).
    assert fp.n_incidents == 14_178 and fp.n_outside == 3
    assert 1_500 < fp.area_km2 < 3_500  # the force is 2,156 km²
    assert GAP_M == 10_000


# ----------------------------------------------------------------------------- cells within reach
def test_cells_within_reach_drops_the_empty_margin_and_keeps_enclosed_ground():
    occ = np.zeros((7, 7), bool)
    occ[2:5, 2:5] = True
    occ[3, 3] = False  # an empty cell enclosed by incidents stays (a town's park)
    reach = cells_within_reach(occ, np.ones((7, 7), bool), 100.0, 1_000.0)
    assert reach.sum() == 9 and reach[3, 3] and not reach[1:6, 1].any() and not reach[0].any()
    # never a cell outside the mask, and nothing at all without incidents
    active = np.ones((7, 7), bool)
    active[2, 2] = False
    assert not cells_within_reach(occ, active, 100.0, 1_000.0)[2, 2]
    assert not cells_within_reach(np.zeros((7, 7), bool), active, 100.0, 1_000.0).any()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.01, 0.5), st.sampled_from([100.0, 250.0, 500.0]))
def test_cells_within_reach_holds_every_occupied_cell(seed, share, cell):
    rng = np.random.default_rng(seed)
    active = rng.random((30, 40)) < 0.9
    occ = rng.random((30, 40)) < share
    reach = cells_within_reach(occ, active, cell)
    assert (reach >= (occ & active)).all() and not (reach & ~active).any()


def test_footprint_study_area_keeps_no_empty_margin_in_the_analysis():
    # Random incidents over a 20 km square, no boundary: the footprint (with its 1 km margin) is
    # ~480 km², but the cells taking part cover the square itself, and no hotspot is found
    # (before, the empty margin made the square's inside look hot: areas on every such map).
    from hotspots.footprint import FOOTPRINT_SOURCE, footprint_gap
    from hotspots.pipeline import Settings, hotspot_stage, prepare_inputs

    found = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        xy = rng.uniform(0, 20_000, (3_000, 2)) + [400_000, 300_000]
        inc = gpd.GeoDataFrame(
            {"month": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, 3_000), "D"),
             "category": "Anti-social behaviour"},
            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700,
        )
        prep = prepare_inputs(inc, settings=Settings())
        assert prep.study_area.attrs["source"] == FOOTPRINT_SOURCE and footprint_gap(prep.study_area) == GAP_M
        assert prep.study_area.area.iloc[0] / 1e6 > 440
        stage = hotspot_stage(prep.incidents, prep.settings, prep.study_area)
        km2 = stage.grid.active.sum() * stage.grid.cell_size**2 / 1e6
        assert 380 < km2 < 420, km2
        assert any("beyond the incidents' reach" in n for n in stage.grid.notes)
        assert stage.counts.values[stage.grid.active].sum() == 3_000  # every incident still counted
        found += stage.areas.n_areas > 0
    assert found == 0
    assert footprint_gap(None) is None and footprint_gap(gpd.GeoDataFrame(geometry=[], crs=27700)) is None


def test_square_groups_on_the_squares_agree_with_the_polygons():
    """The national run's strays group the squares without polygons (a distance transform): the
    same outlying squares as data_footprint's polygons on towns, a far group and lone strays."""
    from hotspots.footprint import point_squares, square_groups

    rng = np.random.default_rng(11)
    xy = np.vstack([rng.normal((430_000, 350_000), 3_000, (2000, 2)), rng.normal((452_000, 350_000), 2_000, (600, 2)),
                    rng.uniform((300_000, 200_000), (303_000, 203_000), (4, 2)), [[500_000.0, 520_000.0]]])
    squares, counts = point_squares(xy)
    fast = square_groups(squares, counts, polygons=False)
    exact = square_groups(squares, counts)
    assert fast.groups is None and len(exact.groups) == len(fast.keep) == 3  # the two towns are linked
    np.testing.assert_array_equal(fast.outlying, exact.outlying)
    assert int(counts[fast.outlying].sum()) == 5


def test_a_network_forces_far_groups_are_kept_and_no_boundary_file_is_advised():
    """British Transport Police (tester): 165 incidents at real stations (Gloucester, Barnsley, King's Lynn: 3-4 each)
    were left out as strays, and a boundary file that cannot exist was advised. A network keeps every group."""
    rng = np.random.default_rng(4)
    xy = np.vstack([town(rng, [530_000, 180_000], 2_000, 900)] + [town(rng, [400_000 + 30_000 * k, 300_000], 50, 3)
                                                                   for k in range(4)])
    area = data_footprint(xy, crs=27700)
    assert area.n_outside == 12 and "give a boundary file" in area.describe()
    net = data_footprint(xy, crs=27700, network="British Transport Police")
    assert net.n_outside == 0 and net.n_inside == len(xy) and net.groups_left_out == 0 and net.groups_kept == 5
    text = net.describe()
    assert "boundary file to use" not in text and "left out" not in text
    assert "British Transport Police polices a network (railways and stations), not an area" in text
    assert "holding 912 of 912 incidents (100.00%)" in text and net.record()["network_force"] == "British Transport Police"


def test_outlying_groups_are_named_after_the_place_near_them():
    """Devon and Cornwall 2025: the 7 ASB incidents on the Isles of Scilly were left out as "7 incident(s) in 1
    outlying group(s)" without naming the place. A group near a GeoNames place is named after it; one far out to sea
    (60 km from land) is counted, not named."""
    from types import SimpleNamespace

    from hotspots.analysis import Analysis
    from hotspots.footprint import OUTLYING_NEAR_M

    rng = np.random.default_rng(3)
    mainland = gpd.GeoSeries(gpd.points_from_xy([-5.05], [50.26]), crs=4326).to_crs(27700).iloc[0]  # Truro
    scilly = gpd.GeoSeries(gpd.points_from_xy([-6.314], [49.915]), crs=4326).to_crs(27700).iloc[0]  # St Mary's
    core = rng.normal([mainland.x, mainland.y], 2_000, size=(2_000, 2))
    islands = np.array([[scilly.x + 50.0 * i, scilly.y] for i in range(7)])
    sea = np.array([[scilly.x - 60_000.0, scilly.y - 60_000.0]])
    fp = data_footprint(np.vstack([core, islands, sea]), crs=27700)
    assert fp.groups_left_out == 2 and fp.n_outside == 8
    assert fp.left_out_near == ((7, "Hugh Town"),)  # the sea's stray: no place within OUTLYING_NEAR_M
    assert OUTLYING_NEAR_M < 60_000
    assert "in 2 outlying group(s) more than 10 km from the rest (7 near Hugh Town)" in fp.describe()
    area = fp.to_geodataframe()
    assert area.attrs["left_out_near"] == ["Hugh Town"]
    # the analysis's caption (the briefing's Method, the CLI summary) names them too
    an = SimpleNamespace(incidents=[0] * 2_000, study_area=area, incidents_outside=lambda: 8)
    named = "2,000 incidents (8 more outside the study area, in no cell; outlying groups near Hugh Town)"
    assert Analysis.incidents_text(an) == named
    an.study_area = None
    assert Analysis.incidents_text(an) == "2,000 incidents (8 more outside the study area, in no cell)"


def test_square_groups_link_the_same_squares_with_and_without_polygons():
    """Gwent's 2025 ASB: analyse's study area left out 18 incidents in 2 groups, the national run's strays 15 in 1:
    the polygon discs and the raster of discs linked a group differently. One grouping now serves both."""
    from hotspots.footprint import square_groups

    town = np.array([(i, j) for i in range(5) for j in range(5)])
    for offset, linked in (((8, 6), True), ((8, 7), False)):  # 10 squares (10 km) from the town's corner: linked
        squares = np.vstack([town, np.array(town[-1]) + offset])
        counts = np.r_[np.full(len(town), 100), 3]
        poly, flat = square_groups(squares, counts), square_groups(squares, counts, polygons=False)
        assert poly.owner.tolist() == flat.owner.tolist() and poly.outlying.tolist() == flat.outlying.tolist()
        assert (poly.owner[-1] == poly.owner[0]) == linked and bool(poly.outlying[-1]) == (not linked)
        assert len(poly.groups) == (1 if linked else 2)
