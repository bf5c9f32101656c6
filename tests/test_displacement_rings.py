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
from hotspots.change_summary import VERDICTS, ScopeChange, summarise_change
from hotspots.displacement_rings import DEFAULT_RING_M, RING_SCOPES, displacement_change, ring_areas
from hotspots.gistar import gi_star
from hotspots.grid import count
from hotspots.style import p_text


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
    # the reading gives those totals beside the rings' estimate: the rings' own incidents, as the rings' change counted them
    rb, ra = (int(d.ring_change.table[c].sum()) for c in ("n_before", "n_after"))
    assert d.params["counts"]["rings"] == [rb, ra] and f"; incidents {rb:,} -> {ra:,})" in d.describe()
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
    # beside the estimate, the incidents it rests on: the rings' raw counts (ring.n_before above), said as counts
    said = (f"the {d.width_m:,g} m rings around the hotspot areas rose 25% (per day, pooled ring by ring; "
            f"incidents {ring.n_before:,} -> {ring.n_after:,}), against ")
    # the rest's own change is said as a change, not as "the difference from the rest beyond them (-14%)"
    rest = "in the rest of the study area beyond them: the difference is not significant (rings vs beyond "
    assert said in shared.describe() and rest in shared.describe()
    assert "the difference from the rest" not in shared.describe()
    assert "not significantly differently" not in shared.describe()  # read awkwardly after "did not change"
    assert "no sign of displacement" in shared.describe()
    # ... and gives the test it rests on, so "not significantly" can be checked against the figures
    assert "(rings vs beyond " in shared.describe() and f"{p_text(vs.p_value)})" in shared.describe()
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
    # each ring that rose significantly on its own is named by its hotspot area, biggest rise first
    t = d.by_area()
    up = t[t["ring_change_class"] == "significant rise"].sort_values("ring_rate_ratio", ascending=False)
    assert len(up) >= 1
    text = d.rising_rings_text()
    assert f"area{'s' if len(up) > 1 else ''} {int(up['area_id'].iloc[0])} (+" in text and text in d.describe()
    assert len(up) == 1 or d.rising_rings_text(most=1).endswith(f"and {len(up) - 1} more rose significantly")


def test_rings_that_rose_on_their_own_are_listed_with_and(monkeypatch):
    # "the rings around hotspot areas 9 (3 -> 13), 15 (4 -> 15) rose significantly" (North Yorkshire) lacked its "and"
    _, _, _, d = _displacement(_town(0.0))
    t = pd.DataFrame({"area_id": [9, 15, 2], "ring_rate_ratio": [4.2, 3.6, 2.0], "ring_n_before": [3, 4, 50],
                      "ring_n_after": [13, 15, 100], "ring_change_class": ["significant rise"] * 3})
    monkeypatch.setattr(type(d), "by_area", lambda self: t)
    assert d.rising_rings_text() == "on their own, the rings around hotspot areas 9 (3 -> 13), 15 (4 -> 15) and 2 (+100%) " \
        "rose significantly"
    assert d.rising_rings_text(most=2) == "on their own, the rings around hotspot areas 9 (3 -> 13), 15 (4 -> 15) and 1 " \
        "more rose significantly"


def test_no_ring_named_when_none_rose_on_its_own():
    _, _, _, d = _displacement(_town(0.0))
    assert (d.by_area()["ring_change_class"] != "significant rise").all()
    assert d.rising_rings_text() == "" and "rose significantly" not in d.describe()


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
        # 100 m asked of 100 m cells: the ring is the band of touching cells, 100 m wide
        "1 hotspot area has no 100 m ring, so no ring change (area 3: the 4 cells of the "
        "study area within reach are "
        "nearer other hotspot areas, whose rings take them)"
    )
    lab[4, 4] = 0  # without area 3, every area has a ring
    assert no_ring_text(ring_areas(_areas(lab, g), 100)) == ""


# ----------------------------------------------------------------------------- the reading
def _row(scope: str, rr: float, verdict: str) -> ScopeChange:
    return ScopeChange(scope, rr, rr * 0.9, rr * 1.1, 0.01 if verdict != "no significant change" else 0.5, verdict,
                       100, 100, 0.2, 0.05)


_SIG = {"fall": "significant fall", "rise": "significant rise", "none": "no significant change"}
_RR = {"fall": 0.8, "rise": 1.2, "none": 1.01}


@pytest.mark.parametrize("hot", ["fall", "rise", "none"])
@pytest.mark.parametrize("rel", ["fall", "rise", "none"])
def test_displacement_and_diffusion_are_read_only_when_the_hotspots_fell(hot, rel):
    """Every combination of the hotspot areas' change (vs elsewhere) and the rings' vs beyond: a
    tester read "diffusion of benefit" where the rings rose 5 %, less than beyond (+21 %), while the
    hotspot areas rose 18 % (Sussex 2025, 1 km cells)."""
    from hotspots.displacement_rings import READINGS, ring_reading

    rings = _row(RING_SCOPES[0], 1.05, "no significant change")
    beyond = _row("beyond the rings", 1.05 / _RR[rel], "significant rise")
    versus = _row(RING_SCOPES[1], _RR[rel], _SIG[rel])
    hotspots = _row("all hotspot areas", _RR[hot], _SIG[hot])
    hot_vs = _row("hotspots vs elsewhere", _RR[hot], _SIG[hot])
    kind, text = ring_reading(rings, beyond, versus, hotspots, hot_vs, label="the 500 m rings")
    expected = {
        ("fall", "rise"): READINGS[0], ("fall", "fall"): READINGS[1], ("fall", "none"): READINGS[2],
        ("rise", "rise"): READINGS[3], ("none", "rise"): READINGS[3],
        ("rise", "fall"): READINGS[4], ("none", "fall"): READINGS[4],
        ("rise", "none"): READINGS[2], ("none", "none"): READINGS[2],
    }[(hot, rel)]
    assert kind == expected
    # what happened, first, in figures a reader can check: the rings rose 5 %
    assert text.startswith("the 500 m rings rose 5%")
    claims_diffusion = "may have spread next door (diffusion of benefit)" in text
    claims_displacement = "may have moved next door (displacement)" in text
    assert claims_diffusion == (kind == READINGS[1]) and claims_displacement == (kind == READINGS[0])
    if rel != "none":
        assert f"against {'+' if rel == 'fall' else '−'}" in text and "relative to beyond, a significant" in text
    if hot != "fall" and rel != "none":
        assert "did not fall" in text and ("not displacement" in text or "not diffusion of benefit" in text)
    # without a scheme start nothing is known to have been done in the hotspots (Dyfed-Powys 2025's
    # two halves read "the benefit may have spread next door"): the words say the pattern is conditional
    kind2, text2 = ring_reading(rings, beyond, versus, hotspots, hot_vs, label="the 500 m rings", intervention=False)
    assert kind2 == kind
    conditional = "if something was done in the hotspot areas between the periods (no scheme start was given" in text2
    assert conditional == (kind in (READINGS[0], READINGS[1])) and conditional == (text2 != text)


def test_the_hotspots_fall_relative_to_elsewhere_counts_as_a_fall():
    from hotspots.displacement_rings import READINGS, hotspots_direction, ring_reading

    fell = _row("hotspots vs elsewhere", 0.8, "significant fall")
    rose = _row("all hotspot areas", 1.1, "significant rise")
    flat = _row("all hotspot areas", 0.95, "no significant change")
    assert hotspots_direction(rose, fell) == "fall"  # rose, but less than elsewhere
    assert hotspots_direction(_row("all", 0.8, "significant fall"), _row("vs", 1.1, "significant rise")) == "rise"
    assert hotspots_direction(_row("all", 0.8, "significant fall"), flat) == "fall"
    assert hotspots_direction(None, None) == "none"
    # the Sussex case: rings +5 %, beyond +21 %, rings vs beyond 0.87 significant; hotspots +18 %, +2 % vs elsewhere
    kind, text = ring_reading(_row("r", 1.05, "no significant change"), _row("b", 1.21, "significant rise"),
                              _row("v", 0.87, "significant fall"), _row("h", 1.18, "significant rise"),
                              _row("hv", 1.02, "no significant change"), label="the 500 m rings around the hotspot areas")
    assert kind == READINGS[4]
    assert text == (
        "the 500 m rings around the hotspot areas rose 5% (per day, pooled ring by ring; incidents 100 -> 100), against +21% "
        "in the rest of the study "
        "area beyond them: 13% lower relative to beyond, a significant fall; but the hotspot areas did not fall (they "
        "rose 18%, +2% relative to elsewhere), so there was no benefit to spread: not diffusion of benefit, the streets "
        "around the hotspots did better than beyond"
    )
    # hotspots that fell, but not significantly: "did not fall (they fell 5%" contradicted itself (Hertfordshire)
    kind, text = ring_reading(_row("r", 1.17, "significant rise"), _row("b", 0.94, "no significant change"),
                              _row("v", 1.25, "significant rise"), _row("h", 0.95, "no significant change"),
                              _row("hv", 0.92, "no significant change"), label="the 500 m rings")
    assert kind == READINGS[3]
    assert "but the hotspot areas did not fall significantly (they fell 5%, −8% relative to elsewhere)" in text


def test_the_reading_gives_the_rings_incidents_beside_the_estimate():
    """"rose 5%" was said with nothing to check it against: the rings' incidents before and after follow it, as
    counts (the estimate allows for the periods' lengths and season, so 1,061 -> 1,156, +9%, can differ from it)."""
    from hotspots.displacement_rings import incidents_text, ring_reading

    rings = dataclasses.replace(_row("r", 1.05, "no significant change"), n_before=1061, n_after=1156)
    versus = _row("v", 1.0, "no significant change")
    assert incidents_text(rings) == "incidents 1,061 -> 1,156"
    _, text = ring_reading(rings, None, versus, None, None, label="the 500 m rings")
    # "fell 4% (incidents 1,250 -> 1,266)" (Cleveland) read as a contradiction: the words say the estimate is per day
    # and pooled ring by ring, the counts the rings' totals
    assert text.startswith("the 500 m rings rose 5% (per day, pooled ring by ring; incidents 1,061 -> 1,156); the difference")
    assert text.count("incidents") == 1  # once, beside the rings' own change (rings vs beyond rests on the same)


def test_the_row_of_a_summary_panel_says_the_reading():
    _, _, _, d = _displacement(_town(0.0))
    ring, vs = d.summary.rows
    fell = dataclasses.replace(vs, rate_ratio=0.87, verdict="significant fall")
    rose = dataclasses.replace(d.hotspots[0], rate_ratio=1.18, verdict="significant rise")
    flat = dataclasses.replace(d.hotspots[1], rate_ratio=1.02, verdict="no significant change")
    moved = dataclasses.replace(d, summary=dataclasses.replace(d.summary, rows=(ring, fell)), hotspots=(rose, flat))
    label, verdict, kind = moved.row_text()
    assert label == f"{DEFAULT_RING_M:,g} m rings vs beyond"
    assert verdict == "significant fall relative to beyond (the hotspot areas did not fall, so not diffusion of benefit)"
    assert kind == "rings fell, hotspots did not fall"
    # the hotspot rows are the pooled change's (the blocks fell 40 % in the town)
    assert d.hotspots[0].scope == "all hotspot areas" and d.hotspots[0].verdict == "significant fall"


# ----------------------------------------------------------------------------- the width said
def test_rings_wider_than_asked_say_their_reach():
    """At 1 km cells a 500 m ring is the touching cells, reaching 1,414 m (Nottinghamshire 2025: the
    console, the briefing and parameters.json said "500 m rings")."""
    from hotspots.displacement_rings import ring_label, ring_reach, ring_width_note

    assert ring_reach(500, 250) == 500 and ring_label(500, 250) == "500 m rings" and ring_width_note(500, 250) == ""
    # cells as wide as the ring (the default 500 m): the band of touching cells is the width asked
    assert ring_reach(500, 500) == pytest.approx(707.1, abs=0.1) and ring_label(500, 500) == "500 m rings"
    assert ring_width_note(500, 500) == ""
    assert ring_reach(500, 1000) == pytest.approx(1414.2, abs=0.1)
    assert ring_label(500, 1000) == "rings of the touching cells (up to 1,414 m)"
    assert ring_label(500, 2000) == "rings of the touching cells (up to 2,828 m)"
    note = ring_width_note(500, 1000)
    assert "wider than the 500 m asked" in note and "a band 1,000 m wide reaching up to 1,414 m" in note
    assert "cells of 500 m or less" in note and "at least 1,000 m" in note
    g = Grid.from_bounds((0, 0, 9000, 9000), 1000)
    lab = np.zeros(g.shape, dtype=np.int32)
    lab[4, 4] = 1
    rings = ring_areas(_areas(lab, g), 500)
    assert rings.params["reach_m"] == pytest.approx(1414.2, abs=0.1) and (rings.labels > 0).sum() == 8


def test_the_reading_and_the_method_say_the_rings_reach():
    inc = _town(0.0)
    g = Grid.from_bounds((0, 0, 4000, 4000), 500)
    areas = hotspot_areas(gi_star(count(inc[inc["month"] < "2023-01-01"], g), 600))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    cells = change_cells(inc, g, before, after)
    res = change_areas(inc, areas, before, after, tau2_fallback=cells.dispersion)
    rings = ring_areas(areas, 300)
    d = displacement_change(cells, res, areas.labels, rings,
                            change_areas(inc, rings, before, after, tau2_fallback=cells.dispersion))
    assert d.label == "rings of the touching cells (up to 707 m)" and d.reach_m == pytest.approx(707.1, abs=0.1)
    assert d.describe().startswith("the rings of the touching cells (up to 707 m) around the hotspot areas")
    assert "wider than the 300 m asked" in d.describe()
    assert "at 500 m cells a ring reaches up to 707 m" in d.how and "707 m (the touching cells; 300 m asked)" in d.summary.method
    assert d.params["reach_m"] == pytest.approx(707.1, abs=0.1)


def test_the_reading_says_counts_not_a_per_cent_when_the_rings_hold_too_few_and_rounds_as_the_tables():
    """City of London: the table showed the ring as "–" (1 -> 6 incidents) while the sentence said the rings "rose
    490%" and "a rise of 13437% or more would likely have been detected"; Dyfed-Powys: "+85%" beside the table's "+86%"."""
    import dataclasses

    from hotspots.displacement_rings import ring_reading
    from hotspots.style import percent_change, signed_text

    few = dataclasses.replace(_row("r", 5.9, "no significant change"), n_before=1, n_after=6)
    versus = dataclasses.replace(_row("v", 4.8, "no significant change"), n_before=1, n_after=6, p_value=0.332)
    _, text = ring_reading(few, _row("b", 1.2, "no significant change"), versus, None, None, label="the 500 m rings")
    assert text.startswith("the 500 m rings held 1 incident(s) before and 6 after (too few for a per cent)")
    assert "490%" not in text and "+380%" not in text and "(rings vs beyond p = 0.332)" in text
    # one rounding: the per cent the table shows (85.5 from 1.85495), then whole per cents: +86% in both
    rr = 1.85495
    assert percent_change([rr])[0] == 85.5 and f"{(rr - 1) * 100:.0f}" == "85"
    _, text = ring_reading(_row("r", rr, "significant rise"), None, _row("v", 1.01, "no significant change"), None, None,
                           label="the 500 m rings")
    assert text.startswith(f"the 500 m rings rose {signed_text(85.5)[1:]}%") and "rose 86%" in text
