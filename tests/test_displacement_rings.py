"""The rings around the hotspot areas: drawn by hand-checkable rules, counted as the cells are,
and a displacement planted next door found (and none called where there is none)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from hotspots import Grid
from hotspots._errors import ParameterError
from hotspots.areas import HotspotAreas, hotspot_areas
from hotspots.change import Period, change_areas, change_cells
from hotspots.change_summary import VERDICTS, summarise_change
from hotspots.displacement_rings import DEFAULT_RING_M, RING_SCOPES, displacement_change, ring_areas
from hotspots.gistar import gi_star
from hotspots.grid import count


def _areas(labels: np.ndarray, grid: Grid) -> HotspotAreas:
    """Hand-made hotspot areas: only their labels and grid matter to the rings."""
    n = int(labels.max())
    table = gpd.GeoDataFrame({"area_id": np.arange(1, n + 1)}, geometry=[None] * n, crs=grid.crs)
    return HotspotAreas(table, labels.astype(np.int32), grid, {})


def _one_cell(width: float) -> np.ndarray:
    g = Grid.from_bounds((0, 0, 900, 900), 100)
    lab = np.zeros(g.shape, dtype=np.int32)
    lab[4, 4] = 1
    return ring_areas(_areas(lab, g), width).labels


def test_a_ring_is_the_cells_within_its_width_centre_to_centre():
    # around one 100 m cell: never thinner than the 8 touching cells
    assert (_one_cell(50) > 0).sum() == 8
    # within 200 m: the 8, and the 4 cells two steps along a row or column
    r = _one_cell(200)
    assert (r > 0).sum() == 12 and r[4, 6] == 1 and r[2, 4] == 1 and r[3, 6] == 0 and r[4, 4] == 0
    # within 300 m: offsets (i, j) with i^2 + j^2 <= 9: 4 + 4 + 4 + 8 + 4 + 4
    assert (_one_cell(300) > 0).sum() == 28
    with pytest.raises(ParameterError, match="width_m"):
        _one_cell(-10)


def test_each_ring_cell_belongs_to_the_nearest_area_inside_the_study_area():
    shape = Grid.from_bounds((0, 0, 900, 900), 100).shape
    mask = np.ones(shape, dtype=bool)
    mask[:, 0] = False
    g = Grid.from_bounds((0, 0, 900, 900), 100, mask=mask)
    lab = np.zeros(g.shape, dtype=np.int32)
    lab[1, 1], lab[1, 6] = 1, 2
    rings = ring_areas(_areas(lab, g), 300)
    r = rings.labels
    assert r[1, 3] == 1 and r[1, 4] == 2  # 200 m from one, 300 m from the other
    assert (r[:, 0] == 0).all() and (r[lab > 0] == 0).all()  # outside the study area; the areas' own cells
    assert rings.n_areas == 2 and rings.areas["around_area"].tolist() == [1, 2]
    assert rings.areas["n_cells"].tolist() == [int((r == 1).sum()), int((r == 2).sum())]
    # the polygons are the rings' cells: 1 hectare each
    assert rings.areas.area.tolist() == pytest.approx([10_000.0 * n for n in rings.areas["n_cells"]])


def test_an_area_with_no_cells_around_it_has_no_ring_and_ids_stay_whole():
    mask = np.zeros(Grid.from_bounds((0, 0, 900, 900), 100).shape, dtype=bool)
    mask[:, 5:] = True
    mask[0, 0] = True  # area 1 alone in its corner of the study area
    g = Grid.from_bounds((0, 0, 900, 900), 100, mask=mask)
    lab = np.zeros(g.shape, dtype=np.int32)
    lab[0, 0], lab[4, 7] = 1, 2
    rings = ring_areas(_areas(lab, g), 100)
    assert rings.n_areas == 1 and rings.areas["area_id"].tolist() == [1] and rings.areas["around_area"].tolist() == [2]
    assert set(np.unique(rings.labels)) == {0, 1}


# ----------------------------------------------------------------------------- the change
def _town(displaced: float, seed: int = 4) -> gpd.GeoDataFrame:
    """4 km x 4 km of background with two busy 500 m blocks over three years; in 2024 both blocks
    fall 40 % and ``displaced`` x their loss reappears next door, 300-600 m east of each block."""
    rng = np.random.default_rng(seed)
    rows = []

    def put(x0, y0, w, h, month, n):
        rows.extend((x0 + rng.uniform(0, w), y0 + rng.uniform(0, h), month) for _ in range(n))

    for year in (2022, 2023, 2024):
        for m in range(1, 13):
            month = f"{year}-{m:02d}-01"
            put(0, 0, 4000, 4000, month, int(rng.poisson(80)))
            for x0, y0 in ((500, 500), (2500, 2500)):
                fall = 0.4 if year == 2024 else 0.0
                put(x0, y0, 500, 500, month, int(rng.poisson(40 * (1 - fall))))
                # next door: 300-600 m east of the block, beyond its hotspot area (which the Gi*
                # distance band spreads about 250 m around the block)
                put(x0 + 800, y0, 300, 500, month, int(rng.poisson(displaced * 40 * fall)))
    df = pd.DataFrame(rows, columns=["x", "y", "month"])
    return gpd.GeoDataFrame({"month": pd.to_datetime(df["month"])}, geometry=gpd.points_from_xy(df.x, df.y), crs=27700)


def _displacement(inc: gpd.GeoDataFrame, width: float = DEFAULT_RING_M):
    g = Grid.from_bounds((0, 0, 4000, 4000), 250)
    areas = hotspot_areas(gi_star(count(inc[inc["month"] < "2023-01-01"], g), 400))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    cells = change_cells(inc, g, before, after)
    res = change_areas(inc, areas, before, after, tau2_fallback=cells.dispersion)
    rings = ring_areas(areas, width)
    ring_res = change_areas(inc, rings, before, after, tau2_fallback=cells.dispersion)
    return cells, res, areas, displacement_change(cells, res, areas.labels, rings, ring_res)


def test_rings_counted_as_their_cells_and_compared_with_the_rest_beyond():
    cells, res, areas, d = _displacement(_town(0.0))
    ring, vs = d.summary.rows
    assert (ring.scope, vs.scope) == RING_SCOPES and {ring.verdict, vs.verdict} <= set(VERDICTS)
    t = cells.table
    in_ring = d.rings.labels[t["row"], t["col"]] > 0
    beyond = ~in_ring & (areas.labels[t["row"], t["col"]] == 0)
    assert ring.n_before == t.loc[in_ring, "n_before"].sum() == d.ring_change.table["n_before"].sum()
    assert ring.n_after == t.loc[in_ring, "n_after"].sum()
    assert d.params["counts"]["beyond"] == [int(t.loc[beyond, "n_before"].sum()), int(t.loc[beyond, "n_after"].sum())]
    # the comparison is the rings' pooled ratio over the ratio of the totals beyond (whole years:
    # no season; 2024 has one day more)
    exposure = cells.model.w_after / cells.model.w_before
    beyond_ratio = t.loc[beyond, "n_after"].sum() / t.loc[beyond, "n_before"].sum() / exposure
    assert vs.rate_ratio == pytest.approx(ring.rate_ratio / beyond_ratio, rel=1e-9)
    # nothing moved: no verdict, and the reading says so with the rise it could have seen
    assert vs.verdict == "no significant change" and "no sign of displacement" in d.describe()
    # rings that rose significantly with the rest beyond them: the reading says both (a tester read
    # "no sign of displacement" over a ring row "significant rise" as a contradiction)
    risen = dataclasses.replace(ring, rate_ratio=1.25, verdict="significant rise")
    shared = dataclasses.replace(d, summary=dataclasses.replace(d.summary, rows=(risen, vs)))
    assert f"the {d.width_m:,g} m rings around the hotspot areas rose 25%, no differently from the rest" in shared.describe()
    assert "no sign of displacement" in shared.describe()
    # the Weighted Displacement Quotient of the same totals
    h = d.params["counts"]["hotspots"]
    assert (d.wdq.Rb, d.wdq.Ra, d.wdq.Db, d.wdq.Da) == (h[0], h[1], ring.n_before, ring.n_after)
    # meanwhile the blocks themselves fell 40 %, which the pooled change sees
    assert summarise_change(cells, res, areas.labels).rows[0].rate_ratio < 0.75


def test_a_displacement_next_door_is_found():
    _, _, _, d = _displacement(_town(0.8))
    ring, vs = d.summary.rows
    assert ring.verdict == "significant rise" and vs.verdict == "significant rise" and vs.rate_ratio > 1.5
    assert "harm may have moved next door" in d.describe()
    assert d.wdq is not None and d.wdq.wdq < 0  # the WDQ's sign for displacement


def test_the_rings_as_a_layer_hold_each_rings_change():
    _, _, _, d = _displacement(_town(0.8))
    g = d.to_geodataframe()
    assert len(g) == d.rings.n_areas and set(g.geom_type) == {"MultiPolygon"}  # as the GeoPackage stores them
    assert g["around_area"].tolist() == d.rings.areas["around_area"].tolist()
    table = d.ring_change.table
    assert g.drop(columns=["geometry", "around_area"]).equals(table)
    # the same ground as the rings' cells
    for geom, ring in zip(g.geometry, d.rings.areas.geometry):
        assert geom.symmetric_difference(ring).area == pytest.approx(0.0, abs=1e-6)


def test_displacement_change_checks_its_inputs():
    cells, res, areas, d = _displacement(_town(0.0))
    with pytest.raises(ParameterError, match="overlap"):
        displacement_change(cells, res, areas.labels, areas, res)
    one_short = dataclasses.replace(d.ring_change, table=d.ring_change.table.iloc[:-1])
    with pytest.raises(ParameterError, match="one row per ring"):
        displacement_change(cells, res, areas.labels, d.rings, one_short)


def test_an_area_without_a_ring_is_said_with_the_reason():
    """Area 1 alone in its corner of the study area; area 3 one cell between areas 2 and 4, with its only free
    neighbours nearer them (Hampshire at 250 m: 59 areas, 58 rings, area 8 with empty ring columns)."""
    from hotspots.displacement_rings import no_ring_text

    mask = np.zeros(Grid.from_bounds((0, 0, 900, 900), 100).shape, dtype=bool)
    mask[:, 5:] = True
    mask[0, 0] = True
    g = Grid.from_bounds((0, 0, 900, 900), 100, mask=mask)
    lab = np.zeros(g.shape, dtype=np.int32)
    lab[0, 0] = 1
    assert ring_areas(_areas(lab, g), 100).params["no_ring"] == {
        1: "every cell within reach is another hotspot area or outside the study area"
    }
    g = Grid.from_bounds((0, 0, 900, 900), 100)
    lab = np.zeros(g.shape, dtype=np.int32)
    # area 3 is one cell; the cells touching its edges are areas 2 and 4, and its 4 diagonal neighbours (141 m away,
    # its whole reach) are 100 m from those
    lab[4, 4], lab[3, 4], lab[4, 3], lab[5, 4], lab[4, 5] = 3, 2, 2, 4, 4
    rings = ring_areas(_areas(lab, g), 100)
    assert 3 not in rings.areas["around_area"].tolist()
    assert no_ring_text(rings) == (
        "1 hotspot area has no 100 m ring, so no ring change (area 3: the 4 cells of the study area within reach are "
        "nearer other hotspot areas, whose rings take them)"
    )
    lab[4, 4] = 0  # without area 3, every area has a ring
    assert no_ring_text(ring_areas(_areas(lab, g), 100)) == ""
