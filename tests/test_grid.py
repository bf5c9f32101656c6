"""Tests for hotspots.grid: Grid construction, masks, counting, conversion to GeoDataFrames.

Expected values are worked out by hand in the comments (cell (r, c) covers
x in [xmin + c*s, xmin + (c+1)*s) and y in [ymax - (r+1)*s, ymax - r*s); row 0 is north).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspots._errors import CRSError, HotspotsError, ParameterError
from hotspots.grid import (
    BNG,
    MAX_AUTO_CELL_M,
    MAX_CELLS,
    Grid,
    GridValues,
    auto_cell_size,
    count,
    incident_extent,
    point_weights,
    points_xy,
)


def gdf(xy, crs=27700, **cols):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


@pytest.fixture
def g3() -> Grid:
    # bounds (0, 0, 299, 299) at 100 m: origin (0, 0), floor(299/100)+1 = 3 columns and rows,
    # so the grid covers [0, 300) x [0, 300) and ymax = 300.
    return Grid.from_bounds((0, 0, 299, 299), cell_size=100)


# ----------------------------------------------------------------------------- construction
class TestFromBounds:
    def test_shape_and_edges(self, g3):
        assert g3.shape == (3, 3)
        assert (g3.xmin, g3.ymin, g3.xmax, g3.ymax) == (0.0, 0.0, 300.0, 300.0)
        assert g3.bounds == (0.0, 0.0, 300.0, 300.0)
        assert g3.n_cells == 9
        assert g3.cell_area_km2 == pytest.approx(0.01)
        assert g3.crs.equals(BNG)

    def test_origin_snapped_to_multiples_of_cell_size(self):
        g = Grid.from_bounds((1234.5, 5678.9, 2000, 6000), cell_size=100)
        # x0 = floor(1234.5/100)*100 = 1200; y0 = 5600; cols = floor((2000-1200)/100)+1 = 9;
        # rows = floor((6000-5600)/100)+1 = 5; ymax = 5600 + 5*100 = 6100.
        assert (g.xmin, g.ymin) == (1200.0, 5600.0)
        assert g.shape == (5, 9)
        assert g.ymax == 6100.0
        assert g.xmin % 100 == 0 and g.ymin % 100 == 0

    def test_negative_origin_snaps_down(self):
        g = Grid.from_bounds((-150, -1, 10, 10), cell_size=100)
        assert (g.xmin, g.ymin) == (-200.0, -100.0)

    def test_two_extents_line_up_cell_for_cell(self):
        a = Grid.from_bounds((1000, 1000, 5000, 5000), 250)
        b = Grid.from_bounds((1130, 1740, 9000, 9000), 250)
        # Any cell edge of b is an edge of a (both on multiples of 250).
        assert (b.xmin - a.xmin) % 250 == 0 and (b.ymax - a.ymax) % 250 == 0

    def test_point_on_xmax_ymax_of_bounds_is_inside(self):
        g = Grid.from_bounds((0, 0, 300, 300), 100)
        # floor(300/100)+1 = 4 rows and columns, so (300, 300) lies in cell (0, 3).
        assert g.shape == (4, 4)
        rows, cols, on = g.cell_of(np.array([[300.0, 300.0]]))
        assert on[0] and (rows[0], cols[0]) == (0, 3)

    def test_zero_extent_gives_one_cell(self):
        g = Grid.from_bounds((500, 500, 500, 500), 100)
        assert g.shape == (1, 1)

    @pytest.mark.parametrize("cs", [0, -5, float("nan"), float("inf"), "abc", None])
    def test_bad_cell_size(self, cs):
        with pytest.raises(ParameterError, match="cell_size"):
            Grid.from_bounds((0, 0, 10, 10), cs)

    @pytest.mark.parametrize("bounds", [(10, 0, 0, 10), (0, 10, 10, 0), (0, 0, float("nan"), 1), (0, 0, float("inf"), 1)])
    def test_bad_bounds(self, bounds):
        with pytest.raises(ParameterError, match="bounds"):
            Grid.from_bounds(bounds, 10)

    def test_max_cells_error(self):
        # 1 m cells over 10 km x 10 km = 1e8 cells > MAX_CELLS.
        assert 10_000 * 10_000 > MAX_CELLS
        with pytest.raises(ParameterError, match="limit"):
            Grid.from_bounds((0, 0, 10_000, 10_000), 1)

    def test_max_cells_error_direct_constructor(self):
        with pytest.raises(ParameterError, match="limit"):
            Grid(0.0, 0.0, 1.0, MAX_CELLS, 2)

    def test_large_grid_warns(self):
        # 4,001 x 3,001 = 12,007,001 cells: above the 10 million warning level.
        with pytest.warns(UserWarning, match="large grid"):
            g = Grid.from_bounds((0, 0, 4000, 3000), 1)
        assert g.shape == (3001, 4001)

    def test_geographic_crs_rejected(self):
        with pytest.raises(CRSError, match="geographic"):
            Grid.from_bounds((-1.5, 52.8, -1.4, 52.9), 0.01, crs=4326)

    def test_unknown_crs_rejected(self):
        with pytest.raises(CRSError, match="crs"):
            Grid.from_bounds((0, 0, 1, 1), 1, crs="not a crs")

    def test_errors_are_value_errors(self):
        with pytest.raises(ValueError):
            Grid.from_bounds((0, 0, 1, 1), -1)
        assert issubclass(ParameterError, HotspotsError)

    def test_direct_constructor_validation(self):
        with pytest.raises(ParameterError, match="row"):
            Grid(0.0, 0.0, 10.0, 0, 3)
        with pytest.raises(ParameterError, match="cell_size"):
            Grid(0.0, 0.0, 0.0, 2, 3)


class TestCentresAndCells:
    def test_row_zero_is_north(self, g3):
        assert list(g3.y_centres) == [250.0, 150.0, 50.0]
        assert list(g3.x_centres) == [50.0, 150.0, 250.0]

    def test_centres_row_major(self, g3):
        c = g3.centres()
        assert c.shape == (9, 2)
        assert tuple(c[0]) == (50.0, 250.0)  # row 0 col 0: north-west
        assert tuple(c[1]) == (150.0, 250.0)  # row 0 col 1
        assert tuple(c[3]) == (50.0, 150.0)  # row 1 col 0

    def test_cell_of_interior_and_edges(self, g3):
        pts = np.array(
            [
                [50, 50],  # south-west cell: row 2, col 0
                [250, 250],  # north-east cell: row 0, col 2
                [100, 50],  # on the line x=100: west edge of col 1 is inclusive -> col 1
                [50, 100],  # on y=100: south edge of row 1 inclusive -> row 1
                [0, 0],  # grid's south-west corner: inside, row 2 col 0
                [0, 299.999],  # near the north edge, west edge: row 0 col 0
                [200, 200],  # corner shared by 4 cells -> the one to its north-east: row 0, col 2
            ],
            dtype=float,
        )
        rows, cols, on = g3.cell_of(pts)
        assert on.all()
        assert list(zip(rows.tolist(), cols.tolist())) == [(2, 0), (0, 2), (2, 1), (1, 0), (2, 0), (0, 0), (0, 2)]

    @pytest.mark.parametrize(
        "pt",
        [
            (300, 50),  # east edge x = xmax: exclusive -> off the grid
            (50, 300),  # north edge y = ymax: exclusive -> off the grid
            (-0.001, 50),  # just west
            (50, -0.001),  # just south
            (1e7, 1e7),
        ],
    )
    def test_cell_of_off_grid(self, g3, pt):
        _, _, on = g3.cell_of(np.array([pt], dtype=float))
        assert not on[0]

    def test_cell_polygon_covers_its_points(self, g3):
        pts = np.array([[50, 50], [100, 50], [50, 100], [0, 0], [299.5, 299.5]], dtype=float)
        rows, cols, _ = g3.cell_of(pts)
        polys = g3.cell_polygons(rows, cols)
        assert shapely.covers(polys, shapely.points(pts)).all()


# ---------------------------------------------------------------------------------- masks
class TestMasks:
    def test_polygon_mask_uses_cell_centres(self):
        # 2 x 2 cells of 100 m on [0, 200)²; centres at x = 50, 150 and y = 150 (row 0), 50 (row 1).
        # The box [0, 140] x [0, 200] covers 40 % of the east column but not its centres.
        area = shapely.box(0, 0, 140, 200)
        g = Grid.from_bounds((0, 0, 199, 199), 100, mask=area)
        assert g.mask.tolist() == [[True, False], [True, False]]
        assert g.n_cells == 2

    def test_triangle_mask(self):
        # Triangle (0,0), (300,0), (0,300): a centre (x, y) is inside when x + y < 300.
        tri = shapely.Polygon([(0, 0), (300, 0), (0, 300)])
        g = Grid.from_bounds((0, 0, 299, 299), 100, mask=tri)
        xx, yy = np.meshgrid(g.x_centres, g.y_centres)
        assert np.array_equal(g.mask, xx + yy < 300)
        # Row 2 (south) has centres y=50: x=50, 150 inside (sum 100, 200), x=250 -> 300 not < 300.
        assert g.mask[2].tolist() == [True, True, False]

    def test_geodataframe_mask_is_reprojected(self):
        area_bng = shapely.box(430000, 330000, 431000, 331000)
        area_wgs = gpd.GeoSeries([area_bng], crs=27700).to_crs(4326)
        g_bng = Grid.from_bounds((430000, 330000, 430999, 330999), 250, mask=area_bng)
        g_wgs = Grid.from_bounds((430000, 330000, 430999, 330999), 250, mask=gpd.GeoDataFrame(geometry=area_wgs))
        assert np.array_equal(g_bng.mask, g_wgs.mask)

    def test_mask_without_crs_is_an_error(self):
        with pytest.raises(CRSError, match="set_crs"):
            Grid.from_bounds((0, 0, 10, 10), 1, mask=gpd.GeoSeries([shapely.box(0, 0, 5, 5)]))

    def test_mask_that_misses_the_grid(self):
        with pytest.raises(ParameterError, match="no cell inside"):
            Grid.from_bounds((0, 0, 100, 100), 10, mask=shapely.box(1000, 1000, 2000, 2000))

    def test_mask_must_be_polygonal(self):
        with pytest.raises(ParameterError, match="polygon"):
            Grid.from_bounds((0, 0, 100, 100), 10, mask=shapely.LineString([(0, 0), (5, 5)]))
        with pytest.raises(ParameterError, match="mask"):
            Grid.from_bounds((0, 0, 100, 100), 10, mask="the county")

    def test_boolean_array_mask(self):
        m = np.array([[True, False], [False, True]])
        g = Grid.from_bounds((0, 0, 199, 199), 100, mask=m)
        assert g.n_cells == 2
        m[0, 1] = True  # the grid keeps its own copy
        assert not g.mask[0, 1]
        with pytest.raises(ValueError):
            g.mask[0, 0] = False  # read-only

    def test_boolean_mask_wrong_shape(self):
        with pytest.raises(ParameterError, match="shape"):
            Grid.from_bounds((0, 0, 199, 199), 100, mask=np.ones((3, 3), dtype=bool))

    def test_for_area_and_with_mask(self):
        area = shapely.Polygon([(0, 0), (1000, 0), (0, 1000)])
        g = Grid.for_area(area, 100)
        assert g.mask is not None and g.mask.sum() == np.sum(np.add.outer(g.y_centres, g.x_centres) < 1000)
        assert g.with_mask(None).mask is None
        g2 = g.with_mask(None).with_mask(area)
        assert g2.same_as(g)
        assert not g.same_as(g.with_mask(None))

    def test_for_area_keeps_a_projected_areas_own_crs(self):
        # Northern Ireland's study area in Irish Transverse Mercator: the grid is in it, not in BNG
        area = gpd.GeoDataFrame(geometry=[shapely.box(700_000, 850_000, 705_000, 853_000)], crs=2157)
        g = Grid.for_area(area, 500)
        assert g.crs.to_epsg() == 2157 and g.n_cells == 60  # 5 km x 3 km of 500 m cells
        assert Grid.for_area(area, 500, crs=27700).crs.to_epsg() == 27700  # asked for
        # geographic areas and bare polygons: British National Grid, as before
        assert Grid.for_area(area.to_crs(4326), 500).crs.to_epsg() == 27700
        assert Grid.for_area(shapely.box(0, 0, 1000, 1000), 500).crs.to_epsg() == 27700

    def test_active_and_centres_active_only(self):
        g = Grid.from_bounds((0, 0, 199, 199), 100, mask=np.array([[True, False], [False, False]]))
        assert g.centres(active_only=True).tolist() == [[50.0, 150.0]]


# ------------------------------------------------------------------------ automatic size
class TestAutoCellSize:
    def test_rounded_down_to_100(self):
        # shorter side 12,345 m / 50 = 246.9 -> 200 m
        size, rule = auto_cell_size((0, 0, 30_000, 12_345))
        assert size == 200.0
        assert "sfhotspot" in rule and "200 m" in rule

    def test_exact_multiple(self):
        size, _ = auto_cell_size((0, 0, 20_000, 50_000))  # 20,000 / 50 = 400
        assert size == 400.0

    def test_under_5km_whole_metres(self):
        # 4,321 / 50 = 86.42 -> rounding down to 100 would give 0, so it is rounded down to a whole
        # metre: every text then shows the size used (a City of London run said "97.6186 m" beside "98 m")
        size, rule = auto_cell_size((0, 0, 4_321, 9_000))
        assert size == 86.0
        assert rule.startswith("cell size set to 86 m: ") and "rounded down to a whole metre" in rule
        assert auto_cell_size((0, 0, 40, 90))[0] == pytest.approx(0.8)  # under a metre: as computed

    def test_just_5km(self):
        size, _ = auto_cell_size((0, 0, 5_000, 5_000))  # 100 exactly
        assert size == 100.0

    @pytest.mark.parametrize("bounds", [(0, 0, 0, 100), (5, 5, 5, 5), (0, 0, float("nan"), 1)])
    def test_no_extent(self, bounds):
        with pytest.raises(ParameterError, match="cell_size"):
            auto_cell_size(bounds)

    def test_for_points_announces_choice(self):
        pts = gdf([[400_000, 300_000], [420_000, 310_000]])
        g = Grid.for_points(pts)
        # shorter side 10,000 / 50 = 200
        assert g.cell_size == 200.0
        assert len(g.notes) == 1 and "200 m" in g.notes[0]
        assert g.describe()["notes"] == list(g.notes)
        assert g.crs.equals(BNG)

    def test_whole_force_capped_at_500(self):
        # Leicestershire-sized: 68 km / 50 = 1,360 -> 1,300 m by sfhotspot's rule, capped at 500 m.
        size, rule = auto_cell_size((0, 0, 77_000, 68_000), what="the study area")
        assert size == MAX_AUTO_CELL_M == 500.0
        assert "capped at 500 m" in rule and "1,300 m" in rule and "the study area" in rule

    def test_town_is_smaller(self):
        size, rule = auto_cell_size((0, 0, 12_000, 15_000))  # 240 -> 200
        assert size == 200.0 and "at most 500 m" in rule

    def test_cap_can_be_changed(self):
        assert auto_cell_size((0, 0, 77_000, 68_000), max_size=1000)[0] == 1000.0
        with pytest.raises(ParameterError, match="max_size"):
            auto_cell_size((0, 0, 1000, 1000), max_size=0)

    def test_incident_extent_ignores_strays(self):
        rng = np.random.default_rng(1)
        core = rng.uniform([400_000, 300_000], [410_000, 310_000], size=(1000, 2))
        strays = np.array([[530_000, 180_000], [420_000, 540_000]])  # London, Durham
        box = incident_extent(np.vstack([core, strays]))
        assert 400_000 <= box[0] and box[2] <= 410_000 and 300_000 <= box[1] and box[3] <= 310_000
        assert box[2] - box[0] > 9_500
        # Few points: the bounding box itself.
        assert incident_extent(np.array([[0.0, 0.0], [10.0, 5.0]])) == (0.0, 0.0, 10.0, 5.0)
        with pytest.raises(ParameterError, match="coverage"):
            incident_extent(core, coverage=0)
        with pytest.raises(ParameterError, match="xy"):
            incident_extent(np.empty((0, 2)))

    def test_for_points_cell_size_not_set_by_strays(self):
        rng = np.random.default_rng(2)
        core = rng.uniform([400_000, 300_000], [412_000, 315_000], size=(2000, 2))
        pts = np.vstack([core, [[530_000, 180_000], [420_000, 540_000], [425_000, 535_000]]])
        g = Grid.for_points(pts)
        # 98 % box ~ 11.8 x 14.7 km -> 200 m (the bounding box, 130 x 360 km, would give 500 m).
        assert g.cell_size == 200.0
        assert "where the incidents are" in g.notes[0]

    def test_for_points_given_size_has_no_note(self):
        g = Grid.for_points(np.array([[0.0, 0.0], [1000.0, 500.0]]), cell_size=100)
        assert g.notes == () and g.cell_size == 100.0

    def test_for_points_uses_area_bounds(self):
        area = shapely.box(0, 0, 10_000, 5_000)
        g = Grid.for_points(np.array([[10.0, 10.0]]), cell_size=None, mask=area)
        assert g.cell_size == 100.0  # 5,000 / 50
        assert g.mask is not None and g.shape == (51, 101)

    def test_for_points_empty(self):
        with pytest.raises(ParameterError, match="empty"):
            Grid.for_points(np.empty((0, 2)))

    def test_for_points_all_on_one_spot(self):
        with pytest.raises(ParameterError, match="cell_size"):
            Grid.for_points(np.array([[5.0, 5.0], [5.0, 5.0]]))


# -------------------------------------------------------------------------------- count
class TestCount:
    def test_hand_checked_counts(self, g3):
        pts = np.array(
            [
                [50, 50], [60, 70],  # row 2 col 0: 2
                [100, 50],  # row 2 col 1 (west edge inclusive)
                [50, 100],  # row 1 col 0 (south edge inclusive)
                [0, 0],  # row 2 col 0 -> 3 in total there
                [299, 299],  # row 0 col 2
                [300, 10],  # east edge: off grid
                [10, 300],  # north edge: off grid
                [-5, 10],  # off grid
            ],
            dtype=float,
        )
        c = count(pts, g3)
        expected = np.array([[0, 0, 1], [1, 0, 0], [3, 1, 0]], dtype=float)
        np.testing.assert_array_equal(c.values, expected)
        assert c.params["points_off_grid"] == 3
        assert c.params["points_outside_area"] == 0
        assert c.params["n_points"] == 9
        assert c.total == 6.0
        assert c.name == "count" and c.units == "incidents"

    def test_geodataframe_input(self, g3):
        c = count(gdf([[50, 50], [250, 250]]), g3)
        assert c.values[2, 0] == 1 and c.values[0, 2] == 1 and c.total == 2

    def test_weights_array_and_column(self, g3):
        pts = gdf([[50, 50], [60, 60], [250, 250]], w=[1.5, 2.0, 0.0])
        c1 = count(pts, g3, weights=[1.5, 2.0, 0.0])
        c2 = count(pts, g3, weights="w")
        assert c1.values[2, 0] == 3.5 and c1.values[0, 2] == 0.0
        np.testing.assert_array_equal(c1.values, c2.values)
        assert c2.params["weights"] == "w" and c1.params["weights"] == "array"
        assert c1.units == "weighted incidents"

    @pytest.mark.parametrize(
        "weights, match",
        [
            ([1.0, float("nan")], "NaN"),
            ([1.0, float("inf")], "NaN or infinite"),
            ([1.0, -1.0], "negative"),
            ([1.0], "one value per point"),
            (["a", "b"], "numbers"),
            ("missing_column", "missing_column"),
        ],
    )
    def test_bad_weights(self, g3, weights, match):
        pts = gdf([[50, 50], [60, 60]], w=[1, 2])
        with pytest.raises(ParameterError, match=match):
            count(pts, g3, weights=weights)

    def test_point_weights_none(self):
        assert point_weights(None, None, 3) is None

    def test_crs_mismatch(self, g3):
        pts = gdf([[-1.5, 52.9]], crs=4326)
        with pytest.raises(CRSError, match="to_crs"):
            count(pts, g3)

    def test_empty_points(self, g3):
        c = count(gdf(np.empty((0, 2))), g3)
        assert c.values.shape == (3, 3) and c.total == 0 and (c.values == 0).all()
        c2 = count(np.empty((0, 2)), g3)
        assert c2.params["n_points"] == 0

    def test_bad_geometries(self, g3):
        lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=27700)
        with pytest.raises(ParameterError, match="Point"):
            count(lines, g3)
        with pytest.raises(ParameterError, match="NaN"):
            count(np.array([[np.nan, 1.0]]), g3)
        with pytest.raises(ParameterError, match="shape"):
            count(np.array([1.0, 2.0, 3.0]), g3)
        empty_geom = gpd.GeoDataFrame(geometry=[shapely.Point()], crs=27700)
        with pytest.raises(ParameterError, match="empty"):
            count(empty_geom, g3)

    def test_mask_nan_and_outside_area(self):
        m = np.array([[True, False], [True, True]])
        g = Grid.from_bounds((0, 0, 199, 199), 100, mask=m)
        # (150, 150) is in row 0 col 1, outside the mask; (50, 50) in row 1 col 0; (500, 500) off grid.
        c = count(np.array([[150.0, 150.0], [50.0, 50.0], [500.0, 500.0]]), g)
        assert math.isnan(c.values[0, 1])
        assert c.values[1, 0] == 1 and c.values[0, 0] == 0
        assert c.params["points_outside_area"] == 1 and c.params["points_off_grid"] == 1
        assert c.total == 1.0
        assert c.active_values().tolist() == [0.0, 1.0, 0.0]

    def test_gridvalues_shape_check(self, g3):
        with pytest.raises(ParameterError, match="shape"):
            GridValues(np.zeros((2, 2)), g3)


# ---------------------------------------------------------------------- GeoDataFrames
class TestToGeoDataFrame:
    def test_cell_geometry_and_area(self, g3):
        df = g3.to_geodataframe()
        assert len(df) == 9 and df.crs.equals(BNG)
        assert np.allclose(df.geometry.area, 100 * 100)
        r0c2 = df[(df["row"] == 0) & (df["col"] == 2)].geometry.iloc[0]
        assert r0c2.bounds == (200.0, 200.0, 300.0, 300.0)
        r2c0 = df[(df["row"] == 2) & (df["col"] == 0)].geometry.iloc[0]
        assert r2c0.bounds == (0.0, 0.0, 100.0, 100.0)
        # The cells tile the grid exactly.
        assert shapely.union_all(df.geometry.values).area == pytest.approx(300 * 300)

    def test_active_only(self):
        g = Grid.from_bounds((0, 0, 199, 199), 100, mask=np.array([[True, False], [False, True]]))
        assert len(g.to_geodataframe()) == 2
        full = g.to_geodataframe(active_only=False)
        assert len(full) == 4 and full["inside"].sum() == 2

    def test_values_frame(self, g3):
        c = count(np.array([[50.0, 50.0], [50.0, 60.0], [250.0, 250.0]]), g3)
        df = c.to_geodataframe()
        assert len(df) == 9 and df["count"].sum() == 3
        sw = df[(df["row"] == 2) & (df["col"] == 0)]
        assert sw["count"].iloc[0] == 2
        assert sw.geometry.iloc[0].contains(shapely.Point(50, 55))
        nz = c.to_geodataframe(drop_zero=True)
        assert len(nz) == 2 and set(nz["count"]) == {1.0, 2.0}
        tab = c.to_frame()
        assert isinstance(tab, pd.DataFrame) and {"x", "y", "count"} <= set(tab.columns)
        assert tab.loc[(tab["row"] == 2) & (tab["col"] == 0), ["x", "y"]].values.tolist() == [[50.0, 50.0]]

    def test_describe_and_repr(self, g3):
        d = g3.describe()
        assert d["cell_size_m"] == 100 and d["n_rows"] == 3 and d["cells_in_study_area"] == 9
        assert "3 x 3" in repr(g3)


def test_points_xy_crs_check():
    pts = gdf([[1.0, 2.0]], crs=27700)
    assert points_xy(pts, BNG).tolist() == [[1.0, 2.0]]
    with pytest.raises(CRSError):
        points_xy(pts, pyproj.CRS.from_epsg(3857))


# -------------------------------------------------------------------------- properties
@st.composite
def grid_and_points(draw):
    cs = draw(st.sampled_from([1.0, 7.5, 100.0, 250.0]))
    x0 = draw(st.integers(-1000, 1000)) * cs
    y0 = draw(st.integers(-1000, 1000)) * cs
    nx = draw(st.integers(1, 12))
    ny = draw(st.integers(1, 12))
    bounds = (x0, y0, x0 + (nx - 0.5) * cs, y0 + (ny - 0.5) * cs)
    use_mask = draw(st.booleans())
    n = draw(st.integers(0, 60))
    # Points on the grid, on cell edges (integer multiples of cs) and off the grid.
    coords = st.one_of(
        st.floats(-3, 15, allow_nan=False),
        st.integers(-3, 15).map(float),
    )
    pts = np.array([[x0 + draw(coords) * cs, y0 + draw(coords) * cs] for _ in range(n)], dtype=float).reshape(-1, 2)
    weights = draw(st.one_of(st.none(), st.just("random")))
    return bounds, cs, use_mask, pts, weights, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_and_points())
def test_count_conservation_property(case):
    bounds, cs, use_mask, pts, weights, seed = case
    g = Grid.from_bounds(bounds, cs)
    if use_mask:
        rng = np.random.default_rng(seed)
        m = rng.random(g.shape) < 0.6
        m.flat[0] = True
        g = g.with_mask(m)
    c = count(pts, g)
    vals = c.values[g.active]
    assert np.all(vals >= 0)
    assert np.all(vals == np.round(vals))
    assert int(vals.sum()) + c.params["points_off_grid"] + c.params["points_outside_area"] == len(pts)
    if g.mask is not None:
        assert np.isnan(c.values[~g.mask]).all()
    # Every counted point lies in the polygon of its cell.
    rows, cols, on = g.cell_of(pts)
    if on.any():
        assert shapely.covers(g.cell_polygons(rows[on], cols[on]), shapely.points(pts[on])).all()
    if weights:
        w = np.random.default_rng(seed).random(len(pts))
        cw = count(pts, g, weights=w)
        rows, cols, on = g.cell_of(pts)
        inside = on & g.active[rows, cols]
        assert np.nansum(cw.values) == pytest.approx(w[inside].sum())


# ------------------------------------------------------------------ coordinate cache (points_xy)
def test_points_xy_cache_returns_fresh_copies_and_sees_replaced_geometries():
    from hotspots.grid import clear_coordinate_cache, points_xy

    clear_coordinate_cache()
    xy = np.random.default_rng(0).uniform(0, 1000, (500, 2))
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    first = points_xy(gdf)
    second = points_xy(gdf)  # from the cache
    np.testing.assert_array_equal(first, xy)
    np.testing.assert_array_equal(second, xy)
    second[0] = -1.0  # a caller's change never reaches the cache
    np.testing.assert_array_equal(points_xy(gdf), xy)
    # replacing a geometry in place (same array object) is seen: the pointers differ
    gdf.loc[3, "geometry"] = shapely.Point(7.0, 8.0)
    got = points_xy(gdf)
    assert tuple(got[3]) == (7.0, 8.0)
    np.testing.assert_array_equal(np.delete(got, 3, axis=0), np.delete(xy, 3, axis=0))
    # a copy of the frame (same geometries, new array) reads the same coordinates
    np.testing.assert_array_equal(points_xy(gdf.copy()), got)
    # checks still apply to a cached frame's CRS
    with pytest.raises(CRSError):
        points_xy(gdf, pyproj.CRS(3857))


def test_points_xy_cache_survives_address_reuse_and_is_dropped_with_the_frame():
    import gc

    from hotspots import grid as grid_mod
    from hotspots.grid import clear_coordinate_cache, points_xy

    clear_coordinate_cache()
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]), crs=27700)
    points_xy(gdf)
    # Two replacements in place: without the cache holding the first geometries, the second new
    # point could take the freed address of the original one and look unchanged.
    for k in range(50):
        gdf.loc[1, "geometry"] = shapely.Point(100.0 + k, 200.0)
        gdf.loc[1, "geometry"] = shapely.Point(300.0 + k, 400.0)
        assert tuple(points_xy(gdf)[1]) == (300.0 + k, 400.0)
    assert len(grid_mod._XY_CACHE) >= 1
    del gdf
    gc.collect()
    assert len(grid_mod._XY_CACHE) == 0


def test_points_xy_reads_coordinates_exactly_and_refuses_anything_but_points():
    from hotspots.grid import clear_coordinate_cache, points_xy

    clear_coordinate_cache()
    xy = np.array([[-0.0, 0.0], [5e-324, -1e-310], [1e15 + 0.5, -123456.789], [np.nextafter(1.0, 2.0), 3.0]])
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1], z=[1.0, 2.0, 3.0, 4.0]), crs=27700)
    for _ in range(2):  # read, then from the cache
        got = points_xy(gdf)
        assert got.flags.f_contiguous and got.shape == (4, 2)  # x and y each contiguous
        assert np.ascontiguousarray(got).tobytes() == xy.tobytes()  # bit for bit, the sign of -0.0 included
    # a single-point MultiPoint and a zero-length line have point-like bounds, but are not points
    for geom in (shapely.MultiPoint([(1.0, 2.0)]), shapely.LineString([(1.0, 2.0), (1.0, 2.0)])):
        with pytest.raises(ParameterError, match="Point"):
            points_xy(gpd.GeoSeries([shapely.Point(0.0, 0.0), geom], crs=27700))
    bad_ones = ((None, "missing or empty"), (shapely.Point(), "missing or empty"), (shapely.Point(np.inf, 1.0), "infinite"))
    for bad, match in bad_ones:
        with pytest.raises(ParameterError, match=match):
            points_xy(gpd.GeoSeries([shapely.Point(0.0, 0.0), bad], crs=27700))


def test_cells_too_large_for_the_study_area_say_so():
    """A 3 km x 2 km area on a grid of 10 km cells holds no cell centre: the cause is the cell size (it said 'check
    that the area overlaps the grid and the CRS'); an area off the grid keeps the old message."""
    from hotspots.grid import Grid
    from hotspots.validation import argument_names

    area = shapely.box(1_000, 1_000, 4_000, 3_000)
    with pytest.raises(ParameterError, match=r"no cell of 10,000 m has its centre in the study area \(3\.0 km x 2\.0 km across, "
                       r"6\.0 km²\): the cells are too large for it\. Choose a smaller `cell_size` \(at most 400 m here\)"):
        Grid.from_bounds((0, 0, 19_999, 19_999), 10_000, mask=area)
    with argument_names({"cell_size": "--cell-size"}), pytest.raises(ParameterError, match="smaller `--cell-size`"):
        Grid.from_bounds((0, 0, 19_999, 19_999), 10_000, mask=area)
    with pytest.raises(ParameterError, match="leaves no cell inside"):
        Grid.from_bounds((0, 0, 19_999, 19_999), 10_000, mask=shapely.box(50_000, 50_000, 60_000, 60_000))


def test_in_area_is_the_rule_count_counts_by():
    """Grid.in_area: on the grid and in a study-area cell (by the cell's centre); the points count() counts, no others."""
    mask = np.array([[True, False], [True, True]])  # row 0 north: the north-east cell is outside
    g = Grid(0.0, 200.0, 100.0, 2, 2, BNG, mask)
    xy = np.array([[50.0, 150.0], [150.0, 150.0], [150.0, 50.0], [250.0, 50.0], [0.0, 0.0], [199.9, 199.9]])
    inside = g.in_area(xy)
    assert inside.tolist() == [True, False, True, False, True, False]
    c = count(xy, g)
    assert int(np.nansum(c.values)) == int(inside.sum()) == 3
    assert c.params["points_off_grid"] + c.params["points_outside_area"] == int((~inside).sum())
    assert Grid(0.0, 200.0, 100.0, 2, 2, BNG).in_area(xy).tolist() == [True, True, True, False, True, True]
