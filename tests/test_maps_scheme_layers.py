"""hotspots.maps.scheme_layers: the domain layers of the hotspot manager's map.

Small hand-checkable inputs, plus the demo data once (module fixture) for the layers that need a
real analysis. The referral layers are checked for privacy (no exact location ever reaches the
page) and every layer for escaping (script payloads and Jinja template syntax stay text).
"""

from __future__ import annotations

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
from hotspots.grid import Grid, GridValues, count
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
    area = study if study is not None else gpd.GeoDataFrame(geometry=[shapely.box(X0 - 5_000, Y0 - 5_000, X0 + 15_000, Y0 + 15_000)], crs=27700)
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
    from hotspots.linkage import link_referrals
    from hotspots.pipeline import area_change, hotspot_stage

    b = demo_bundle(0)
    s = Settings(cell_size=500.0, period=("2023-01", "2023-12"))
    stage = hotspot_stage(b.incidents, s, b.study_area)
    change, _ = area_change(b.incidents, stage, s)
    linkage = link_referrals(b.referrals, areas=stage.areas.areas, tasks=b.tasks)
    return {"bundle": b, "settings": s, "stage": stage, "change": change, "linkage": linkage}


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
    assert snapped["shown"].tolist() == ["3", "<3"]
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
    # Small counts are suppressed in the shown column.
    assert all(s == "<5" for s, c in zip(snapped["shown"], snapped["count"]) if 0 < c < 5)


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
    return gpd.GeoDataFrame({"person_ref": [f"p_{i:016x}" for i in range(n)]}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)


def test_referral_origins_never_send_exact_locations():
    refs = _referrals()
    grp = sl.referral_origins_layer(refs, snap_m=250)
    html = _render(grp)
    ll = refs.to_crs(4326)
    for lat, lon in zip(ll.geometry.y.round(6), ll.geometry.x.round(6)):
        assert f"{lat:.6f}" not in html or f"{lon:.6f}" not in html
    assert "p_000000000000000" not in html  # no person references
    snapped = sl.snap_points(refs, 250)
    layer = next(c for c in grp._children.values() if type(c).__name__ == "_RowsLayer")
    assert len(layer.rows) == len(snapped)
    assert sorted(r[4] for r in layer.rows) == sorted(snapped["shown"])
    # Small counts reach the page suppressed (written as JSON: \u003c5).
    if (snapped["count"] < 5).any():
        assert '"\\u003c5"' in html
    assert external_urls(html) == []


def test_referral_task_pairs_aggregate_and_suppress():
    o1, o2, site = (X0 + 125, Y0 + 125), (X0 + 375, Y0 + 125), (X0 + 5_000, Y0)
    lines = gpd.GeoDataFrame(
        {
            "task_id": ["T1"] * 7 + ["T2"],
            "task_kind": ["food bank"] * 7 + ["allotment"],
            "reparation_local": [True] * 5 + [False] * 2 + [True],
        },
        geometry=[shapely.LineString([o1, site])] * 6 + [shapely.LineString([o2, site])] + [shapely.LineString([o1, (X0, Y0 + 9_000)])],
        crs=27700,
    )
    pairs = sl.referral_task_pairs(lines)
    assert pairs["referrals"].sum() == len(lines)
    by = {(r.task_id, round(r.geometry.coords[0][0])): r for r in pairs.itertuples()}
    big = by[("T1", round(o1[0]))]
    assert big.referrals == 6 and big.shown == "6" and big.local == str(round(100 * 5 / 6))
    lone = by[("T1", round(o2[0]))]
    assert lone.shown == "<5" and lone.local == "c"  # fewer than 5 behind it: hidden
    assert big.distance_m == int(round(np.hypot(site[0] - o1[0], site[1] - o1[1]) / 100) * 100)
    with pytest.raises(SchemaError):
        sl.referral_task_pairs(lines.drop(columns="task_id"))


def test_referral_task_lines_layer_is_off_by_default():
    lines = gpd.GeoDataFrame({"task_id": ["T1"], "reparation_local": [True]}, geometry=[shapely.LineString([(X0, Y0), (X0 + 900, Y0)])], crs=27700)
    grp = sl.referral_task_lines_layer(lines)
    assert grp.show is False
    html = _render(grp)
    # The layer control removes groups that start hidden (streamlit-folium adds every group).
    shown = json.loads(re.search(r"var shown = (\{.*?\});", html).group(1))
    assert shown[sl.LAYER_NAMES["lines"]] is False
    assert shown["Study area"] is True


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
    grp = sl.change_cells_layer(cells, classes=("significant fall", "significant rise", "no change"))
    gjs = _children(grp, folium.GeoJson)
    feats = {f["properties"]["class"]: f["properties"] for gj in gjs for f in gj.data["features"]}
    summ = cells.summary()
    for cls in ("significant fall", "significant rise", "no change"):
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
    b, stage = demo["bundle"], demo["stage"]
    from hotspots.linkage import referral_task_lines

    t = sl.hotspot_area_table(stage.areas, change=demo["change"], linkage=demo["linkage"])
    groups = [
        sl.density_layer(stage.density), sl.gi_class_layer(stage.gi), sl.hotspot_areas_layer(t),
        sl.referral_origins_layer(b.referrals, show=False), sl.task_sites_layer(b.tasks),
        sl.referral_task_lines_layer(referral_task_lines(demo["linkage"], snap_m=250)),
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
    from hotspots.linkage import referral_task_lines

    gi = demo["stage"].gi
    a = sl.gi_class_layer(gi)
    b = sl.gi_class_layer(sl.gi_class_table(gi))
    (ga,), (gb,) = _children(a, folium.GeoJson), _children(b, folium.GeoJson)
    assert ga.data == gb.data
    refs = demo["bundle"].referrals
    ra = next(c for c in sl.referral_origins_layer(refs, snap_m=500)._children.values() if type(c).__name__ == "_RowsLayer")
    rb = next(c for c in sl.referral_origins_layer(sl.snap_points(refs, 500))._children.values() if type(c).__name__ == "_RowsLayer")
    assert ra.rows == rb.rows and "500 m" in ra.rows[0][5]
    lines = referral_task_lines(demo["linkage"], snap_m=250)
    la = next(c for c in sl.referral_task_lines_layer(lines)._children.values() if type(c).__name__ == "_RowsLayer")
    lb = next(c for c in sl.referral_task_lines_layer(sl.referral_task_pairs(lines))._children.values() if type(c).__name__ == "_RowsLayer")
    assert la.rows == lb.rows and len(la.rows) == len(sl.referral_task_pairs(lines))
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
