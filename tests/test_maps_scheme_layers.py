"""hotspots.maps.scheme_layers: the domain layers of the hotspot manager's map.

Small hand-checkable inputs, plus the demo data once (module fixture) for the layers that need a
real analysis. The referral layers are checked for privacy (no exact location ever reaches the
page) and every layer for escaping (script payloads and Jinja template syntax stay text).
"""

from __future__ import annotations

import dataclasses
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from hotspots._errors import CRSError, ParameterError, SchemaError
from hotspots.grid import Grid, GridValues
from hotspots.maps import base_map, external_urls, offline_problems
from hotspots.maps import scheme_layers as sl
from hotspots.maps.layers import GridImageOverlay, Legend
from hotspots.pipeline import Settings

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    "back`tick`${window.__pwned=1}\\",
    "{{ 7*7 }} {% if false %}HIDDEN{% endif %}",  # evaluated by Jinja, this would read "49 "
]
X0, Y0 = 430_000.0, 330_000.0


def _render(*groups, study=None) -> str:
    box = shapely.box(X0 - 5_000, Y0 - 5_000, X0 + 15_000, Y0 + 15_000)
    area = study if study is not None else gpd.GeoDataFrame(geometry=[box], crs=27700)
    m = base_map(study_area=area)
    sl.layer_support(m)
    for g in groups:
        g.add_to(m)
    sl.scheme_layer_control(m)
    return m.get_root().render()


def _children(group, cls):
    return [c for c in group._children.values() if isinstance(c, cls)]


# =============================================================================== demo fixture
@pytest.fixture(scope="module")
def demo():
    from hotspots.app_support import demo_bundle
    from hotspots.pipeline import area_change, hotspot_stage, scheme_linkage

    b = demo_bundle(0)
    s = Settings(cell_size=500.0, period=("2023-01", "2023-12"))
    stage = hotspot_stage(b.incidents, s, b.study_area)
    change, _ = area_change(b.incidents, stage, s)
    linkage = scheme_linkage(b.referrals, b.tasks, stage, s, b.study_area, b.incidents)  # the CLI's and the app's call
    from hotspots.publication import publish_scheme

    pub = publish_scheme(b.referrals, linkage=linkage, areas=stage.areas.areas)
    return {"bundle": b, "settings": s, "stage": stage, "change": change, "linkage": linkage, "publication": pub}


# =============================================================================== snapping
def test_snap_points_counts_per_square_by_hand():
    # Squares of 100 m: (430,000-430,100) x (330,000-330,100) holds 3 points; the next one east 1.
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy([430_010, 430_050, 430_099.9, 430_150, np.nan], [330_001, 330_099, 330_050, 330_020, 0]),
        crs=27700,
    )
    snapped = sl.snap_points(pts, 100, threshold=3)
    assert snapped.crs.to_epsg() == 27700
    assert snapped["count"].tolist() == [3, 1]
    # With the total (4) known, "<3" would be 4 - 3 = 1, and hiding the 3 (as 3 or more) still
    # pins it: the small square is withheld ("x", any value, 0 included), which frees it (0 or 1)
    # and the 3 hidden as "c" (3 or 4); withholding both, as before, hid more than needed.
    assert snapped["shown"].tolist() == ["c", "x"]
    assert sl.snap_points(pts, 100, threshold=3).attrs["snapped_m"] == 100
    assert list(zip(snapped.geometry.x, snapped.geometry.y)) == [(430_050.0, 330_050.0), (430_150.0, 330_050.0)]


def test_snap_points_keeps_nothing_finer_than_the_square_and_converts_crs():
    rng = np.random.default_rng(3)
    xy = rng.uniform([X0, Y0], [X0 + 3_000, Y0 + 3_000], size=(500, 2))
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700).to_crs(4326)
    snapped = sl.snap_points(pts, 250)
    assert snapped["count"].sum() == 500
    # Centres lie at odd multiples of 125 m (square centres), up to the round trip through WGS84.
    cx, cy = snapped.geometry.x.to_numpy(), snapped.geometry.y.to_numpy()
    assert np.allclose((cx - 125) / 250, np.round((cx - 125) / 250)) and np.allclose((cy - 125) / 250, np.round((cy - 125) / 250))
    # Each point's square holds it: recount with pandas.
    back = gpd.GeoSeries(pts.geometry, crs=4326).to_crs(27700)
    keys = pd.Series(list(zip(np.floor(back.x / 250), np.floor(back.y / 250)))).value_counts()
    mine = dict(zip(zip(np.floor(cx / 250), np.floor(cy / 250)), snapped["count"]))
    assert mine == keys.to_dict()
    # Small counts are suppressed in the shown column (or withheld with others).
    assert all(s in ("<5", "x") for s, c in zip(snapped["shown"], snapped["count"]) if 0 < c < 5)


def test_snap_points_rejects_bad_input():
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0]), crs=27700)
    with pytest.raises(ParameterError, match="size_m"):
        sl.snap_points(pts, 0)
    with pytest.raises(ParameterError, match="threshold"):
        sl.snap_points(pts, 100, threshold=0)
    with pytest.raises(CRSError):
        sl.snap_points(gpd.GeoDataFrame(geometry=gpd.points_from_xy([X0], [Y0])), 100)
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(X0, Y0), (X0 + 1, Y0)])], crs=27700)
    with pytest.raises(ParameterError, match="Point"):
        sl.snap_points(lines, 100)


# =============================================================================== density and Gi*
def test_density_layer_holds_image_and_a_legend_that_follows_it():
    g = Grid.from_bounds((X0, Y0, X0 + 4_000, Y0 + 3_000), cell_size=200)
    v = np.zeros(g.shape)
    v[3, 4] = 12.0
    grp = sl.density_layer(GridValues(v, g, name="density", units="incidents per km²"), vmin=0, vmax=20, name="Density")
    (img,) = _children(grp, GridImageOverlay)
    (leg,) = _children(grp, Legend)
    assert img.scale.vmin == 0 and img.scale.vmax == 20
    assert grp.scale is img.scale
    assert img.control is False  # only the group is listed in the layer control
    html = _render(grp)
    # The legend is added and removed with its group.
    assert f"var layer = {grp.get_name()};" in html and "layer.on('remove'" in html
    with pytest.raises(ParameterError):
        sl.density_layer(v)


def test_gi_class_layer_dissolves_cells_by_class(demo):
    gi = demo["stage"].gi
    grp = sl.gi_class_layer(gi)
    (gj,) = _children(grp, folium.GeoJson)
    feats = {f["properties"]["class"]: f for f in gj.data["features"]}
    cell_km2 = gi.grid.cell_area_km2
    for cls, feat in feats.items():
        n = int((gi.classes == cls).sum())
        assert feat["properties"]["cells"] == f"{n:,}"
        # The dissolved shape covers exactly the class's cells (area in BNG, from the WGS84 output).
        shape = gpd.GeoSeries([shapely.geometry.shape(feat["geometry"])], crs=4326).to_crs(27700)
        assert shape.area.iloc[0] / 1e6 == pytest.approx(n * cell_km2, rel=1e-3)
        counts = np.nan_to_num(gi.counts.values)
        assert feat["properties"]["incidents"] == f"{int(round(counts[gi.classes == cls].sum())):,}"
    assert set(feats) == {c for c in sl.GI_CLASS_COLOURS if (gi.classes == c).any()}
    hot_only = sl.gi_class_layer(gi, include_cold=False)
    (gj2,) = _children(hot_only, folium.GeoJson)
    assert all(f["properties"]["class"].startswith("hot") for f in gj2.data["features"])


def test_gi_legend_lists_cold_classes_only_when_there_are_cold_spots(demo):
    import dataclasses

    gi = demo["stage"].gi
    no_cold = dataclasses.replace(gi, bins=np.where(gi.bins < 0, 0, gi.bins))  # cold cells made not significant
    leg = next(c for c in sl.gi_class_layer(no_cold)._children.values() if isinstance(c, Legend))
    assert "cold" not in leg.html and "hot 99%" in leg.html
    if (gi.bins < 0).any():
        leg = next(c for c in sl.gi_class_layer(gi)._children.values() if isinstance(c, Legend))
        assert "cold 99%" in leg.html


def test_gi_legend_says_why_when_no_class_can_be_reached(demo):
    """With too few permutations no class can be reached: the legend gave "no hot or cold spots" (read as none
    exist); it gives the library's note (:func:`hotspots.gistar.unreached_note`) with the fix."""
    import dataclasses

    gi = demo["stage"].gi
    note = "with 99 permutations the 99%, 95%, 90% class(es) cannot be reached (smallest p 0.02); use `permutations=0`"
    few = dataclasses.replace(gi, bins=np.zeros_like(gi.bins), notes=(note,),
                              params={**gi.params, "classes_offered": [], "hot_classes_offered": []})
    leg = next(c for c in sl.gi_class_layer(few)._children.values() if isinstance(c, Legend))
    assert "none can be found: with 99 permutations" in leg.html and "permutations=0" in leg.html
    assert "no hot or cold spots" not in leg.html


def test_legends_list_no_class_that_is_not_on_the_map(demo):
    """No significant cell: the Gi* legend says so (it listed hot 99 % / 95 % / 90 %); no significant change in any
    cell: the change legend says so (it listed a fall and a rise with 0 and 0)."""
    import dataclasses

    from hotspots.pipeline import cell_change

    gi = demo["stage"].gi
    none = dataclasses.replace(gi, bins=np.zeros_like(gi.bins))
    leg = next(c for c in sl.gi_class_layer(none)._children.values() if isinstance(c, Legend))
    assert "no hot or cold spots" in leg.html and "hot 99%" not in leg.html
    cells, _ = cell_change(demo["bundle"].incidents, demo["stage"].grid, demo["settings"])
    flat = dataclasses.replace(cells, table=cells.table.assign(change_class="no significant change"))
    leg = next(c for c in sl.change_cells_layer(flat)._children.values() if isinstance(c, Legend))
    assert "no cell changed significantly" in leg.html and "significant rise" not in leg.html


def test_dissolve_cells_is_exact():
    g = Grid.from_bounds((0, 0, 1_000, 1_000), cell_size=100)
    mask = np.zeros(g.shape, bool)
    mask[2:4, 2:5] = True  # 2 x 3 block
    mask[8, 8] = True  # a lone cell
    geom = sl.dissolve_cells(g, mask)
    assert geom.area == pytest.approx(7 * 100 * 100)
    assert len(getattr(geom, "geoms", [geom])) == 2
    assert sl.dissolve_cells(g, np.zeros(g.shape, bool)).is_empty
    with pytest.raises(ParameterError):
        sl.dissolve_cells(g, np.zeros((3, 3), bool))


# =============================================================================== hotspot areas
def test_hotspot_area_table_joins_change_and_suppressed_linkage(demo):
    areas, change, linkage = demo["stage"].areas, demo["change"], demo["linkage"]
    t = sl.hotspot_area_table(areas, change=change, linkage=linkage)
    assert t["area_id"].tolist() == areas.areas["area_id"].tolist()
    assert t["incidents"].tolist() == [int(round(v)) for v in areas.areas["count"]]
    assert t["neighbourhood_incidents"].tolist() == [int(round(v)) for v in areas.areas["neighbourhood_count"]]
    assert (t["neighbourhood_incidents"] >= t["incidents"]).all() and list(t.columns[:4]) == [
        "area_id", "rank", "incidents", "neighbourhood_incidents"]
    ct = change.table.set_index("area_id")
    for _, row in t.iterrows():
        c = ct.loc[row["area_id"]]
        assert row["before"] == c["n_before"] and row["after"] == c["n_after"]
        assert row["change_pct"] == pytest.approx(round(100 * (c["rate_ratio"] - 1), 1))
        assert row["change_class"] == c["change_class"]
    # Referral counts are the linkage's *display* values (suppressed), never the exact ones.
    disp = linkage.display.set_index("hotspot")
    for aid, shown in zip(t["area_id"], t["referrals"]):
        expected = disp.loc[str(aid), "referrals"] if str(aid) in disp.index else 0
        assert shown == expected
    raw = linkage.per_hotspot.set_index("hotspot")["referrals"]
    small = [str(a) for a in t["area_id"] if str(a) in raw.index and 0 < raw[str(a)] < 5]
    for a in small:
        assert t.loc[t["area_id"] == int(a), "referrals"].iloc[0] == "<5"
    assert t.crs == areas.areas.crs


def test_hotspot_area_table_takes_the_protected_publication(demo):
    areas, pub = demo["stage"].areas, demo["publication"]
    t = sl.hotspot_area_table(areas, publication=pub)
    shown = pub.referrals_by_hotspot.set_index("hotspot")
    for aid, v, lp in zip(t["area_id"], t["referrals"], t["reparation_local_pct"]):
        assert v == shown.loc[str(aid), "referrals"] and lp == shown.loc[str(aid), "local_pct"]
    kh = pub.kpis["hotspot"].set_index("hotspot")
    for aid, v in zip(t["area_id"], t["completed_pct"]):
        assert v == (kh.loc[str(aid), "completed_pct"] if str(aid) in kh.index else None)


def test_hotspot_area_table_rejects_other_tables():
    with pytest.raises(SchemaError):
        sl.hotspot_area_table(gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)], crs=27700))
    with pytest.raises(ParameterError):
        sl.hotspot_area_table([1, 2])


def _area_table(names) -> gpd.GeoDataFrame:
    n = len(names)
    return gpd.GeoDataFrame(
        {
            "area_id": np.arange(1, n + 1), "rank": np.arange(1, n + 1), "incidents": [10] * n, "share_pct": [1.0] * n,
            "area_km2": [0.25] * n, "density_per_km2": [40.0] * n, "peak_confidence": names, "cells": [1] * n,
            "change_class": ["significant fall", "significant rise"][:n],
        },
        geometry=[shapely.box(X0 + i * 1_000, Y0, X0 + i * 1_000 + 500, Y0 + 500) for i in range(n)],
        crs=27700,
    )


def test_hotspot_areas_layer_sends_only_its_columns_escaped():
    t = _area_table([PAYLOADS[0], PAYLOADS[3]])
    t["secret"] = "do not send"
    grp = sl.hotspot_areas_layer(t, colour_by="change")
    (gj,) = _children(grp, folium.GeoJson)
    props = gj.data["features"][0]["properties"]
    assert "secret" not in props
    assert props["peak_confidence"] == "&lt;script&gt;window.__pwned=1&lt;/script&gt;"
    html = _render(grp)
    assert "do not send" not in html and "<script>window.__pwned" not in html
    # Template syntax stays text (Jinja would have printed 49 and dropped HIDDEN).
    shown = re.findall(r'"peak_confidence": "([^"]*)"', html)[1]
    assert "7*7" in shown and "HIDDEN" in shown and "49" not in shown
    # Colour by change: blue for the fall, red for the rise (folium's style map holds both).
    assert sl.CHANGE_CLASS_COLOURS["significant fall"] in html and sl.CHANGE_CLASS_COLOURS["significant rise"] in html
    with pytest.raises(ParameterError):
        sl.hotspot_areas_layer(t.drop(columns="change_class"), colour_by="change")
    with pytest.raises(ParameterError):
        sl.hotspot_areas_layer(t, colour_by="rank")


# =============================================================================== referrals
def _referrals(n=60, seed=1):
    rng = np.random.default_rng(seed)
    xy = rng.normal([X0 + 2_000, Y0 + 2_000], 300, size=(n, 2))
    return gpd.GeoDataFrame({"person_ref": [f"p_{i:016x}" for i in range(n)]}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs=27700)


def _rows(group):
    return next(c for c in group._children.values() if type(c).__name__ == "_RowsLayer").rows


def test_referral_origins_never_send_exact_locations():
    refs = _referrals()
    grp = sl.referral_origins_layer(refs, snap_m=250)
    html = _render(grp)
    ll = refs.to_crs(4326)
    for lat, lon in zip(ll.geometry.y.round(6), ll.geometry.x.round(6)):
        assert f"{lat:.6f}" not in html or f"{lon:.6f}" not in html
    assert "p_000000000000000" not in html  # no person references
    snapped = sl.snap_points(refs, 250)
    rows = _rows(grp)
    assert len(rows) == len(snapped)
    assert sorted(r[4] for r in rows) == sorted(snapped["shown"])
    # Small counts reach the page suppressed (written as JSON: \u003c5).
    if (snapped["count"] < 5).any():
        assert '"\\u003c5"' in html
    assert external_urls(html) == []


def test_referral_symbols_encode_only_shown_counts(demo):
    """Every hidden square and every hidden flow is drawn alike: no size or width tells them apart."""
    pub = demo["publication"]
    rows = _rows(sl.referral_origins_layer(pub))
    hidden = [r for r in rows if not str(r[4]).isdigit()]
    # squares of fewer than 5 people are not drawn at all; the hidden ones left ("c") are drawn alike
    assert hidden and {r[2] for r in hidden} == {3.0}
    shown = [r for r in rows if str(r[4]).isdigit()]
    assert all(r[2] == round(min(max(2.5 * np.sqrt(int(r[4])), 3.0), 18.0), 1) for r in shown)
    lines = _rows(sl.referral_task_lines_layer(pub))
    assert len(lines) == len(pub.flows)
    hid = [r for r in lines if not str(r[6]).isdigit()]
    assert hid and {r[4] for r in hid} == {1.0}
    # Only published values travel: the payload's referral texts are the publication's markers.
    assert sorted(str(r[6]) for r in lines) == sorted(pub.flows["referrals_shown"])


def test_referral_task_flows_name_a_hotspot_origin_as_a_hotspot(demo):
    """A hotspot origin reads "hotspot 12 · <place>" ("From 12" read as a town's name); a town keeps its name."""
    flows = demo["publication"].flows
    kinds = flows["origin_kind"].tolist()
    assert "hotspot area" in kinds and "town" in kinds
    places = {str(i): f"Street {i}" for i in flows["origin"]}
    origin = [r[7] for r in _rows(sl.referral_task_lines_layer(demo["publication"], places=places))]
    for o, k, shown in zip(flows["origin"], kinds, origin):
        assert shown == (f"hotspot {o} · Street {o}" if k == "hotspot area" else str(o))
    bare = [r[7] for r in _rows(sl.referral_task_lines_layer(demo["publication"]))]
    assert {b for b, k in zip(bare, kinds) if k == "hotspot area"} == {f"hotspot {o}" for o, k in zip(flows["origin"], kinds)
                                                                        if k == "hotspot area"}


def test_referral_task_flows_start_at_an_area_or_a_town_and_add_up(demo):
    pub, linkage = demo["publication"], demo["linkage"]
    flows = pub.flows
    assert set(flows["origin_kind"]) <= {"hotspot area", "town"}
    # exact totals (internal): the flows of each site add up to its referrals with a location
    led = pub.protection.ledger
    t = linkage.table
    linked = t[(t["task_status"] == "linked") & t["has_location"]]
    for site, n in linked["task_id"].astype(str).value_counts().items():
        keys = [k for k in led.keys if isinstance(k, tuple) and len(k) == 2 and k[1] == "referrals"
                and isinstance(k[0], tuple) and k[0][:1] == ("flow",) and k[0][2] == site]
        assert sum(led.value(k) for k in keys) == n


def test_person_level_layers_are_only_built_when_shown(demo):
    pub = demo["publication"]
    with pytest.raises(ParameterError, match="shown"):
        sl.referral_origins_layer(pub, show=False)
    with pytest.raises(ParameterError, match="shown"):
        sl.referral_task_lines_layer(pub, show=False)
    with pytest.raises(SchemaError):
        line = shapely.LineString([(X0, Y0), (X0 + 9, Y0)])
        sl.referral_task_lines_layer(gpd.GeoDataFrame({"task_id": ["T1"]}, geometry=[line], crs=27700))


# =============================================================================== task sites
def test_task_sites_coloured_by_kind_with_codes_and_escaped_names():
    tasks = gpd.GeoDataFrame(
        {"task_id": ["T1", "T2", "T3"], "kind": ["food bank", "allotment", "something new"],
         "site_name": [PAYLOADS[1], PAYLOADS[3], "Hall"]},
        geometry=gpd.points_from_xy([X0, X0 + 1_000, X0 + 2_000], [Y0, Y0, Y0]),
        crs=27700,
    )
    grp = sl.task_sites_layer(tasks)
    cluster = next(c for c in grp._children.values() if type(c).__name__ == "_FastMarkerCluster")
    codes = [row[3] for row in cluster.data]
    assert codes == ["FB", "AL", "?"]
    html = _render(grp)
    assert '<img src=x onerror="window.__pwned=1">' not in html
    assert "\\u007b\\u007b 7*7 \\u007d\\u007d" in html and "HIDDEN" in html  # braces never reach Jinja
    leg = next(c for c in grp._children.values() if isinstance(c, Legend))
    assert "FB food bank" in leg.html and "? other" in leg.html
    with pytest.raises(SchemaError):
        sl.task_sites_layer(tasks.drop(columns="kind"))


# =============================================================================== change
def test_change_cells_layer_draws_significant_cells(demo):
    from hotspots.pipeline import cell_change

    b, s, stage = demo["bundle"], demo["settings"], demo["stage"]
    cells, note = cell_change(b.incidents, stage.grid, s)
    assert note is None
    grp = sl.change_cells_layer(cells, classes=("significant fall", "significant rise", "no significant change"))
    gjs = _children(grp, folium.GeoJson)
    feats = {f["properties"]["class"]: f["properties"] for gj in gjs for f in gj.data["features"]}
    summ = cells.summary()
    for cls in ("significant fall", "significant rise", "no significant change"):
        if summ[cls]:
            assert feats[cls]["cells"] == f"{int(summ[cls]):,}"
            t = cells.table[cells.table["change_class"] == cls]
            assert feats[cls]["before"] == f"{int(t['n_before'].sum()):,}"
        else:
            assert cls not in feats
    with pytest.raises(ParameterError):
        sl.change_cells_layer(demo["change"])  # per-area change is not per-cell
    with pytest.raises(ParameterError):
        sl.change_cells_layer(cells, classes=("worse",))


def test_change_cells_layer_says_the_caveat_of_hotspot_cells():
    """A hotspot area's cell whose fall the choice of hotspot months predicts is drawn in the fall's colour under
    "significant fall (expected from how hotspots were chosen)", as the areas' tables say it; a cell outside the
    areas that fell as much is a plain fall."""
    from test_cell_selection import LABELS, _cells

    from hotspots.cell_selection import with_hotspot_cells
    from hotspots.change import periods_around
    from hotspots.periods import SELECTION_CAVEAT

    before, _ = periods_around("2023-07-01")
    grp = sl.change_cells_layer(with_hotspot_cells(_cells(), LABELS, before))
    feats = {f["properties"]["class"]: f["properties"] for gj in _children(grp, folium.GeoJson) for f in gj.data["features"]}
    caveated = f"significant fall ({SELECTION_CAVEAT})"
    assert feats[caveated]["cells"] == "1" and feats["significant fall"]["cells"] == "1"
    assert feats["significant rise"]["cells"] == "1"  # the hotspot cell that rose: not what the choice predicts
    leg = next(c for c in grp._children.values() if isinstance(c, Legend))
    assert caveated in leg.html
    assert leg.html.index(caveated) > leg.html.index("significant fall<")  # beside its class, same colour
    plain = sl.change_cells_layer(_cells())  # hotspot areas not known: no caveat
    assert SELECTION_CAVEAT not in next(c for c in plain._children.values() if isinstance(c, Legend)).html


def test_displacement_rings_layer_draws_each_ring_by_its_change(demo):
    from hotspots.pipeline import cell_change, ring_change

    b, s, stage = demo["bundle"], demo["settings"], demo["stage"]
    cells, _ = cell_change(b.incidents, stage.grid, s)
    moved, note = ring_change(b.incidents, stage, s, cells, demo["change"])
    assert note is None and moved is not None
    grp = sl.displacement_rings_layer(moved)
    assert grp.layer_name == sl.LAYER_NAMES["rings"]
    feats = [f["properties"] for gj in _children(grp, folium.GeoJson) for f in gj.data["features"]]
    table = moved.ring_change.table
    assert len(feats) == len(table) == moved.rings.n_areas
    # each ring names its hotspot area and carries its own counts, change and class
    by_area = {int(f["around_area"]): f for f in feats}
    for around, (_, r) in zip(moved.rings.areas["around_area"], table.iterrows()):
        f = by_area[int(around)]
        assert f["n_before"] == f"{int(r['n_before']):,}" and f["n_after"] == f"{int(r['n_after']):,}"
        judged = r["rate_ratio_adjusted"] if "rate_ratio_adjusted" in table.columns else r["rate_ratio"]
        assert f["change_pct"] == f"{(judged - 1) * 100:+.1f}" and f["change_class"] == r["change_class"]
    html = _render(grp)
    assert f"{moved.label[0].upper()}{moved.label[1:]}: change" in html and "Ring around hotspot area" in html
    assert html.count('"dashArray": "5 4"') >= 1
    with pytest.raises(ParameterError, match="displacement"):
        sl.displacement_rings_layer(cells)


def test_hotspot_area_table_carries_each_rings_change_and_pattern(demo):
    """The app's table per hotspot area shows each ring's change and each area's pattern by the
    rules of csv/hotspot_areas.csv (hotspots.export.area_summary): one rule, two outputs."""
    from hotspots import analyse
    from hotspots.emerging_summary import area_patterns
    from hotspots.export import area_summary

    b = demo["bundle"]
    an = analyse(b.incidents, study_area=b.study_area, settings=demo["settings"].replace(period=None))
    patterns = area_patterns(an.emerging, an.areas.labels, an.areas.n_areas)
    t = sl.hotspot_area_table(an.areas, change=an.change_areas, displacement=an.displacement, patterns=patterns)
    want = area_summary(an).set_index("area_id").loc[t["area_id"]]
    np.testing.assert_allclose(t["ring_change_pct"].to_numpy(dtype=float), want["ring_change_pct"].to_numpy(dtype=float),
                               equal_nan=True)
    assert t["ring_change_class"].tolist() == want["ring_change_class"].tolist()
    assert t["emerging"].tolist() == want["emerging"].tolist()
    # every blank per cent says why, by one rule (style.percent_change_note), in both tables
    for pct, note in (("change_pct", "change_note"), ("ring_change_pct", "ring_change_note")):
        assert t[note].tolist() == want[note].tolist()
        assert (pd.isna(t[note]).to_numpy() == np.isfinite(t[pct].to_numpy(dtype=float))).all()
    # by hand for one ring: its judged rate ratio as a change in %
    rings = an.displacement.by_area()
    ring = rings[rings["ring_n_before"] + rings["ring_n_after"] >= 20].iloc[0]  # enough to show a change
    row = t.set_index("area_id").loc[int(ring["area_id"])]
    assert row["ring_change_pct"] == pytest.approx(round((ring["ring_rate_ratio"] - 1) * 100, 1))
    cols = an.displacement.area_columns([int(ring["area_id"]), 10**6])  # an id with no ring: empty values
    assert cols["ring_change_pct"][0] == row["ring_change_pct"] and np.isnan(cols["ring_change_pct"][1])
    assert cols["ring_change_class"].tolist() == [ring["ring_change_class"], None] or pd.isna(cols["ring_change_class"][1])
    assert set(sl.AREA_LABELS) >= {"ring_change_pct", "ring_change_class", "emerging"}
    plain = sl.hotspot_area_table(an.areas, change=an.change_areas)  # the map's: neither
    assert not {"ring_change_pct", "emerging"} & set(plain.columns)


def test_emerging_layer_dissolves_the_cells_of_each_pattern(demo):
    from hotspots import style
    from hotspots.pipeline import emerging_stage

    b, s, stage = demo["bundle"], demo["settings"], demo["stage"]
    trends, note = emerging_stage(b.incidents, stage, s)
    assert note is None
    grp = sl.emerging_layer(trends)
    assert grp.layer_name == sl.LAYER_NAMES["emerging"] and grp.show is False
    feats = {f["properties"]["class"]: f["properties"] for gj in _children(grp, folium.GeoJson) for f in gj.data["features"]}
    labels = np.asarray(trends.labels)
    present = [c for c in style.EMERGING_COLOURS if (labels == c).any()]
    assert present and list(feats) == present  # every pattern that occurs, none without one
    counts = trends.counts.sum(axis=0)
    for cat in present:
        assert feats[cat]["cells"] == f"{int((labels == cat).sum()):,}"
        assert feats[cat]["incidents"] == f"{int(counts[labels == cat].sum()):,}"
    html = _render(grp)
    assert f"Trend over {trends.n_steps} months" in html and all(style.EMERGING_COLOURS[c] in html for c in present)
    with pytest.raises(ParameterError, match="emerging"):
        sl.emerging_layer(stage.gi)
    # No cell with a pattern (e.g. a quiet uploaded file): a clear layer and a legend saying so.
    quiet = dataclasses.replace(trends, categories=np.zeros_like(trends.categories))
    grp = sl.emerging_layer(quiet)
    assert _children(grp, folium.GeoJson) == []
    assert "no cell shows a pattern" in _render(grp)


def test_clusters_layer(demo):
    from hotspots.clustering import clusters

    res = clusters(demo["stage"].incidents, "dbscan", eps=150, min_samples=30)
    grp = sl.clusters_layer(res)
    assert grp.show is False and "DBSCAN" in grp.layer_name
    (gj,) = _children(grp, folium.GeoJson)
    assert len(gj.data["features"]) == res.n_clusters
    with pytest.raises(ParameterError):
        sl.clusters_layer(object())


# =============================================================================== whole map
def test_full_map_is_offline_and_every_group_is_listed(demo):
    b, stage, pub = demo["bundle"], demo["stage"], demo["publication"]
    t = sl.hotspot_area_table(stage.areas, change=demo["change"], publication=pub)
    groups = [
        sl.density_layer(stage.density), sl.gi_class_layer(stage.gi), sl.hotspot_areas_layer(t),
        sl.referral_origins_layer(pub), sl.task_sites_layer(b.tasks), sl.referral_task_lines_layer(pub),
    ]
    # Each group is offline on its own (streamlit-folium collects their scripts separately).
    for g in groups:
        assert offline_problems(g) == []
        for _, url in getattr(next((c for c in g._children.values() if hasattr(c, "default_js")), g), "default_js", []):
            assert url.startswith("data:")
    html = _render(*groups, study=b.study_area)
    assert external_urls(html) == []
    names = [g.layer_name for g in groups]
    for n in names:
        assert json.dumps(n) in html
    assert "person_ref" not in html and "p_" + "0" * 4 not in html


def test_layer_support_inlines_the_marker_cluster_plugin():
    from hotspots.maps import make_offline

    m = base_map(bounds_27700=(X0, Y0, X0 + 1_000, Y0 + 1_000))
    sup = sl.layer_support(m)
    make_offline(m)
    assert sup.default_js and all(u.startswith("data:") for _, u in sup.default_js)
    html = m.get_root().render()
    assert ".hotspots-legend" in html and ".hotspots-dot" in html


def test_layer_control_rejects_bad_position():
    with pytest.raises(ParameterError):
        sl.scheme_layer_control(position="middle")
    with pytest.raises(ParameterError):
        sl.density_layer(GridValues(np.ones((2, 2)), Grid.from_bounds((0, 0, 200, 200), cell_size=100)), name=" ")


def test_layers_accept_their_precomputed_tables(demo):
    """The app caches the tables behind the layers; drawing a table gives the same layer."""
    gi = demo["stage"].gi
    a = sl.gi_class_layer(gi)
    b = sl.gi_class_layer(sl.gi_class_table(gi))
    (ga,), (gb,) = _children(a, folium.GeoJson), _children(b, folium.GeoJson)
    assert ga.data == gb.data
    refs = demo["bundle"].referrals
    ra = _rows(sl.referral_origins_layer(refs, snap_m=500))
    rb = _rows(sl.referral_origins_layer(sl.snap_points(refs, 500)))
    assert ra == rb and "500 m" in ra[0][5]
    pub = demo["publication"]
    assert _rows(sl.referral_origins_layer(pub)) == _rows(sl.referral_origins_layer(pub.origins))
    assert _rows(sl.referral_task_lines_layer(pub)) == _rows(sl.referral_task_lines_layer(pub.flows))
    with pytest.raises(SchemaError):
        sl.gi_class_layer(gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(0, 0)], crs=27700))


def test_fast_transformer_matches_pyproj_in_any_thread():
    import threading

    from hotspots.maps.base import fast_transformer, project_geoms

    ref = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    xs, ys = np.array([430_000.0, 651_409.903, 200_000.0]), np.array([330_000.0, 313_177.27, 60_000.0])
    out = {}

    def work():
        out["xy"] = fast_transformer(27700, 4326).transform(xs, ys)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    ex, ey = ref.transform(xs, ys)
    assert np.allclose(out["xy"][0], ex, atol=1e-9) and np.allclose(out["xy"][1], ey, atol=1e-9)
    geoms = project_geoms(gpd.points_from_xy(xs, ys), 27700, 4326)
    assert np.allclose(shapely.get_coordinates(geoms), np.column_stack([ex, ey]), atol=1e-9)
    same = gpd.points_from_xy(xs, ys)
    assert project_geoms(same, 27700, "EPSG:27700") is not None


def test_hotspot_area_table_with_place_names():
    import geopandas as gpd
    import pandas as pd
    import shapely

    from hotspots.maps.scheme_layers import AREA_LABELS, hotspot_area_table, hotspot_areas_layer

    areas = gpd.GeoDataFrame(
        {"area_id": [2, 1], "rank": [2, 1], "count": [10.0, 30.0], "share_of_incidents": [0.1, 0.3],
         "area_km2": [0.25, 0.5], "density_per_km2": [40.0, 60.0], "peak_confidence": ["95%", "99%"], "n_cells": [1, 2]},
        geometry=[shapely.box(0, 0, 500, 500), shapely.box(1000, 0, 2000, 500)], crs=27700,
    )
    places = pd.DataFrame({"area_id": [1, 2], "label": ["High Street, Melton", "<b>Mill Lane</b>, Oakham"],
                           "streets": ["High Street (20)", "Mill Lane (9)"],
                           "districts": ["Melton (30)", "Rutland (10)"]})
    t = hotspot_area_table(areas, places=places)
    assert list(t.columns[:2]) == ["area_id", "place"] and t.columns[-1] == "geometry"
    assert t["place"].tolist() == ["<b>Mill Lane</b>, Oakham", "High Street, Melton"]
    assert t["streets"].tolist() == ["Mill Lane (9)", "High Street (20)"] and AREA_LABELS["place"] == "Place"
    import folium

    m = folium.Map()
    hotspot_areas_layer(t).add_to(m)
    html = m.get_root().render()
    assert "High Street, Melton" in html and '"place"' in html


def test_a_table_of_no_hotspot_area_has_the_columns_of_a_full_one(demo):
    """With 999 permutations Essex had no hotspot area: "Hotspot areas (CSV)" lacked place, streets, districts, before,
    after and change; csv/hotspot_areas.csv (area_summary) lacked the change and ring columns."""
    from hotspots import analyse
    from hotspots.export import area_summary
    from hotspots.places import name_hotspot_areas

    b = demo["bundle"]
    an = analyse(b.incidents, study_area=b.study_area, settings=demo["settings"].replace(period=None))
    none = dataclasses.replace(an.areas, areas=an.areas.areas.iloc[:0], labels=np.zeros_like(an.areas.labels))
    assert an.areas.n_areas > 0 and none.n_areas == 0
    full = sl.hotspot_area_table(an.areas, change=an.change_areas, places=name_hotspot_areas(an.areas.areas, an.incidents))
    empty = sl.hotspot_area_table(none, change=None, places=name_hotspot_areas(none.areas, an.incidents))
    assert len(empty) == 0 and list(empty.columns) == list(full.columns)
    assert {"place", "streets", "districts", "before", "after", "change_pct", "change_class"} <= set(empty.columns)
    bare = dataclasses.replace(an, areas=none, change_areas=None, displacement=None)
    assert len(area_summary(bare)) == 0 and list(area_summary(bare).columns) == list(area_summary(an).columns)


def test_the_apps_area_table_and_the_clis_csv_have_the_same_referral_columns(demo):
    """The app's hotspot_areas.csv had `local_reparation_pct`, `completed_pct` and `not_reoffended_pct`, the CLI's
    `reparation_local_pct` alone: one rule (hotspots.area_referrals.area_referral_figures), the same columns and values."""
    from hotspots import analyse
    from hotspots.area_referrals import AREA_REFERRAL_COLUMNS
    from hotspots.export import area_summary
    from hotspots.publication import scheme_publication

    b = demo["bundle"]
    an = analyse(b.incidents, study_area=b.study_area, settings=demo["settings"], referrals=b.referrals, tasks=b.tasks)
    cli = area_summary(an).set_index("area_id")
    app = sl.hotspot_area_table(an.areas, publication=scheme_publication(an)).set_index("area_id").loc[cli.index]
    cols = list(AREA_REFERRAL_COLUMNS)
    assert [c for c in cli.columns if c in cols] == [c for c in app.columns if c in cols] == cols
    for c in cols:
        assert cli[c].astype(str).tolist() == app[c].astype(str).tolist(), c
    # by hand for one area: its row of the published KPIs by hotspot
    kh = scheme_publication(an).kpis["hotspot"].set_index("hotspot")
    a = str(cli.index[0])
    assert cli.loc[int(a), "completed_pct"] == kh.loc[a, "completed_pct"]
