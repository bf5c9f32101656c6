"""hotspots.app_support: the app's non-Streamlit parts (uploads, tables, caching). The staged analysis
and the periods are tested in test_pipeline.py and test_periods.py."""

from __future__ import annotations

import io
import json
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from helpers import police_csv

from hotspots._errors import ParameterError
from hotspots.app_support import (
    Card,
    LRUCache,
    briefing_png,
    change_key,
    cluster_key,
    content_token,
    csv_bytes,
    demo_bundle,
    display_frame,
    export_available,
    filter_referrals,
    geojson_bytes,
    gis_export_bytes,
    hotspot_change_summary,
    jaccard_frame,
    kpi_cards,
    load_uploads,
    md_text,
    monthly_in_hotspots,
    period_density,
    report_rows,
    stage_key,
    url_defaults,
)
from hotspots.periods import Period, month_options
from hotspots.pipeline import Settings, area_change, assemble_analysis, cell_change, hotspot_stage
from hotspots.io import Upload, load_police_uk
from hotspots.density import kde
from hotspots.io import Upload, load_police_uk
from hotspots.report import LoadReport


@pytest.fixture(scope="module")
def demo():
    return demo_bundle(0)


@pytest.fixture(scope="module")
def derby(demo):
    """Demo incidents within 6 km of Derby centre, 2023 (a few thousand)."""
    inc = demo.incidents
    centre = shapely.Point(435_300, 336_300)
    sel = (inc.geometry.distance(centre) < 6_000) & (inc["month"] >= "2023-01-01") & (inc["month"] < "2024-01-01")
    return inc[sel].reset_index(drop=True)


def test_cache_keys_follow_the_settings_each_stage_reads():
    a = Settings(cell_size=250.0)
    assert stage_key(a) == stage_key(a.replace(before=("2022-01", "2022-12"), eps=99.0, near_m=10.0))
    assert stage_key(a) != stage_key(a.replace(cell_size=300.0))
    assert stage_key(a) != stage_key(a.replace(period=("2023-01", "2023-12")))
    assert change_key(a) != change_key(a.replace(before=("2022-01", "2022-12")))
    assert change_key(a) == change_key(a.replace(cell_size=300.0))
    assert cluster_key(a) != cluster_key(a.replace(eps=99.0))
    assert cluster_key(a) == cluster_key(a.replace(cell_size=300.0))


def test_hotspot_change_summary(demo):
    s = Settings(cell_size=500.0)
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    res, _ = area_change(demo.incidents, stage, s)
    summ = hotspot_change_summary(res)
    b, a = res.table["n_before"].sum(), res.table["n_after"].sum()
    assert summ["before"] == b and summ["after"] == a
    assert summ["rate_ratio"] == pytest.approx((a / res.exposure_after_days) / (b / res.exposure_before_days))
    assert summ["change_pct"] == pytest.approx(100 * (summ["rate_ratio"] - 1))
    assert hotspot_change_summary(None) is None


# =============================================================================== maps' data
def test_period_density_is_kde_per_month(demo, derby):
    s = Settings(cell_size=250.0)
    stage = hotspot_stage(derby, s, None)
    p = Period.from_months("2023-04", "2023-06")
    d = period_density(derby, stage.grid, p, bandwidth=600.0)
    chosen = derby[(derby["month"] >= "2023-04-01") & (derby["month"] <= "2023-06-01")]
    ref = kde(chosen, stage.grid, bandwidth=600.0)
    assert np.allclose(d.values, ref.values / 3, equal_nan=True)
    assert d.units == "incidents per km² per month" and d.params["incidents"] == len(chosen)
    empty = period_density(derby, stage.grid, Period.from_months("2030-01", "2030-02"), bandwidth=600.0)
    assert np.nansum(empty.values) == 0
    with pytest.raises(ParameterError):
        period_density(derby, stage.grid, ("2023-01", "2023-02"), bandwidth=600.0)


def test_monthly_in_hotspots_counts_by_cell(derby):
    stage = hotspot_stage(derby, Settings(cell_size=250.0), None)
    df = monthly_in_hotspots(derby, stage.areas)
    # Independent count: the cell of each incident from floor division (a point on an edge belongs
    # to the cell east / north of it, as in Grid), its area label.
    g = stage.grid
    col = np.floor((derby.geometry.x - g.xmin) / g.cell_size).astype(int)
    row = (g.n_rows - 1) - np.floor((derby.geometry.y - g.ymin) / g.cell_size).astype(int)
    ok = (col >= 0) & (col < g.n_cols) & (row >= 0) & (row < g.n_rows)
    inside = np.zeros(len(derby), bool)
    inside[ok] = stage.areas.labels[row[ok], col[ok]] > 0
    ref = pd.DataFrame({"month": derby["month"], "inside": inside}).groupby("month")["inside"].agg(["sum", "size"])
    assert df["month"].tolist() == list(ref.index)
    assert df["in_hotspots"].tolist() == ref["sum"].astype(int).tolist()
    assert (df["in_hotspots"] + df["elsewhere"]).tolist() == ref["size"].tolist()
    with pytest.raises(ParameterError):
        monthly_in_hotspots(derby, stage.gi)


# =============================================================================== scheme panel
def _linked(demo):
    from hotspots.linkage import link_referrals

    stage = hotspot_stage(demo.incidents, Settings(cell_size=500.0), demo.study_area)
    return link_referrals(demo.referrals, areas=stage.areas.areas, tasks=demo.tasks).table


def test_filter_referrals_matches_pandas(demo):
    t = _linked(demo)
    out = filter_referrals(t, offences=["harassment", "shop theft"], routes=["community resolution"], age_groups=["youth"])
    ref = t[t["offence"].isin(["harassment", "shop theft"]) & (t["route"] == "community resolution") & (t["age_group"] == "youth")]
    assert out["referral_id"].tolist() == ref["referral_id"].tolist()
    assert len(filter_referrals(t)) == len(t)
    inside = filter_referrals(t, hotspot="in hotspots")
    assert len(inside) == int((~t["hotspot"].isin(["outside hotspots", "no location"])).sum())
    one = filter_referrals(t, hotspot="1")
    assert len(one) == int((t["hotspot"] == "1").sum()) and len(one) > 0
    with pytest.raises(ParameterError):
        filter_referrals(demo.referrals, hotspot="1")  # not linked: no hotspot column


def test_kpi_cards_show_only_suppressed_values(demo):
    from hotspots.kpis import scheme_kpis

    t = _linked(demo)
    full = scheme_kpis(t)
    cards = kpi_cards(full)
    assert [c.label for c in cards] == ["Referrals", "Completed", "Not re-offended", "Victim satisfied", "Contacted and booked within 48 h"]
    row = full.table.iloc[-1]
    assert cards[0].value == f"{int(row['referrals']):,}"
    assert cards[1].value == f"{int(row['completed_pct'])} %"
    assert "Base:" in cards[1].help and full.window in cards[2].help
    # A tiny group: the cards show "<5" / "suppressed", never the exact small numbers.
    small = scheme_kpis(t.iloc[:3])
    sc = kpi_cards(small)
    assert sc[0].value == "<5" and sc[0].suppressed
    shown_table = small.table.iloc[-1]
    for card, col in zip(sc, ["referrals", "completed_pct", "not_reoffended_pct", "victim_satisfied_pct", "contacted_booked_48h_pct"]):
        v = shown_table[col]
        if isinstance(v, str):
            assert card.value in (v, "suppressed", "too few", f"{v} %") and card.suppressed
    assert all(c.value != "3" for c in sc)
    with pytest.raises(ParameterError):
        kpi_cards(small.table)


# =============================================================================== uploads
def test_load_uploads_police_uk_csv(derby):
    data = police_csv(derby.iloc[:800], bad_rows=3)
    bundle, outcomes = load_uploads(incidents=[Upload("2023-derby-street.csv", data)], police_categories="Anti-social behaviour")
    ref_data, ref = load_police_uk(Upload("2023-derby-street.csv", data), categories="Anti-social behaviour")
    assert bundle is not None and bundle.source == "files" and not bundle.shared
    (o,) = outcomes
    assert o.ok and o.kind == "incidents" and o.report.to_dict() == ref.to_dict()
    assert o.report.rows_read == 803 and o.report.rows_kept == 800 and o.report.rows_dropped == 3
    assert len(bundle.incidents) == len(ref_data) == 800
    # In Derbyshire: the built-in study area is chosen, and said so.
    assert bundle.study_area is not None and "Derbyshire" in bundle.notes[0]
    assert bundle.token == load_uploads(incidents=[Upload("2023-derby-street.csv", data)], police_categories="Anti-social behaviour")[0].token


def test_load_uploads_reports_errors_as_messages(derby):
    bundle, outcomes = load_uploads(incidents=[Upload("junk.csv", b"\x00\x01\x02 not a table")])
    assert bundle is None
    (o,) = outcomes
    assert not o.ok and o.report is None and "junk.csv" in o.error
    # A referral file with a name column is refused (privacy), the incidents still load.
    refs = b"referral_id,name,referred_at,offence,route,longitude,latitude\nR1,Jane Doe,2023-08-01,harassment,ABC,-1.47,52.92\n"
    bundle, outcomes = load_uploads(incidents=[Upload("d.csv", police_csv(derby.iloc[:50]))], referrals=[Upload("refs.csv", refs)])
    kinds = {o.kind: o for o in outcomes}
    assert kinds["incidents"].ok and not kinds["referrals"].ok
    assert "name" in kinds["referrals"].error.lower()
    assert bundle is not None and bundle.referrals is None
    assert "Jane Doe" not in kinds["referrals"].error


def test_load_uploads_generic_table_with_mapping(derby):
    ll = derby.iloc[:200].to_crs(4326)
    df = pd.DataFrame({"when": ll["month"].dt.strftime("%Y-%m-%d"), "E": ll.geometry.x.round(6), "N": ll.geometry.y.round(6), "what": "ASB"})
    data = df.to_csv(index=False).encode()
    bundle, outcomes = load_uploads(incidents=[Upload("mine.csv", data)], incident_columns={"x": "E", "y": "N", "occurred": "when", "category": "what", "month": ""})
    assert bundle is not None, outcomes[0].error
    assert len(bundle.incidents) == 200
    assert np.allclose(np.sort(bundle.incidents.geometry.x), np.sort(derby.iloc[:200].geometry.x), atol=0.5)


def test_content_token_depends_on_content_names_and_options():
    a = content_token([("incidents", "a.csv", b"1,2")], {"crs": "auto"})
    assert a == content_token([("incidents", "a.csv", b"1,2")], {"crs": "auto"})
    assert a != content_token([("incidents", "a.csv", b"1,3")], {"crs": "auto"})
    assert a != content_token([("incidents", "b.csv", b"1,2")], {"crs": "auto"})
    assert a != content_token([("referrals", "a.csv", b"1,2")], {"crs": "auto"})
    assert a != content_token([("incidents", "a.csv", b"1,2")], {"crs": 27700})
    # Boundaries between parts are unambiguous.
    assert content_token([("incidents", "ab", b"c")]) != content_token([("incidents", "a", b"bc")])


def test_demo_bundle(demo):
    assert demo.shared and demo.token == "demo-0"
    # Prepared as the CLI's --demo: the built-in outline, the periods around the scheme start.
    assert demo.study_area is not None and any("built-in Derbyshire outline" in n for n in demo.notes)
    assert (demo.defaults.before, demo.defaults.after) == (("2022-07", "2023-06"), ("2023-07", "2024-06"))
    assert [o.kind for o in demo.reports] == ["incidents", "referrals", "tasks"]
    assert demo.reports[0].report.rows_kept == len(demo.incidents)


# =============================================================================== tables, files, text
def test_display_frame_makes_mixed_columns_text():
    df = pd.DataFrame({"n": [12, "<5", 0], "pct": [50, "c", None], "name": ["a", "b", "c"], "x": [1.5, 2.0, 3.0]})
    out = display_frame(df)
    assert out["n"].tolist() == ["12", "<5", "0"] and out["pct"].tolist() == ["50", "c", ""]
    assert out["x"].tolist() == [1.5, 2.0, 3.0]
    pa.Table.from_pandas(out)  # Streamlit's Arrow conversion works
    assert "n" in df and df["n"].tolist()[0] == 12  # the caller's frame is unchanged


def test_geojson_and_csv_bytes():
    gdf = gpd.GeoDataFrame({"area_id": [1], "referrals": ["<5"]}, geometry=[shapely.box(430_000, 330_000, 430_500, 330_500)], crs=27700)
    gj = json.loads(geojson_bytes(gdf))
    (f,) = gj["features"]
    assert f["properties"] == {"area_id": 1, "referrals": "<5"}
    lon, lat = np.array(f["geometry"]["coordinates"][0]).T
    assert -2 < lon.min() < -1 and 52 < lat.min() < 53  # WGS84
    text = csv_bytes(gdf).decode("utf-8")
    assert text.startswith("\ufeffarea_id,referrals") and "<5" in text and "POLYGON" not in text
    with pytest.raises(ParameterError):
        geojson_bytes(pd.DataFrame({"a": [1]}))


def test_md_text_makes_markdown_literal():
    payloads = ["![x](http://evil.example/x.png)", "<img src=x onerror=alert(1)>", ":red[big] $x^2$ **b** `c`", "a\nb\r\nc"]
    for p in payloads:
        out = md_text(p)
        # Every markdown/HTML special character is escaped; removing the escapes gives the text back.
        i = 0
        plain = []
        while i < len(out):
            if out[i] == "\\":
                assert out[i + 1] in "\\`*_{}[]()#+-.!|<>~$:&=\"'"
                plain.append(out[i + 1])
                i += 2
            else:
                assert out[i] not in "`*_{}[]()#+-.!|<>~$:&=\"'\n\r"
                plain.append(out[i])
                i += 1
        assert "".join(plain) == " ".join(p.splitlines())
    assert md_text(None) == ""


def test_report_rows_and_jaccard_frame():
    rep = LoadReport("a.csv", 10, 6, dropped={"no location": 3, "duplicate id": 1}, examples={"no location": ["a.csv:row 2"]})
    rows = report_rows(rep)
    assert rows.to_dict("records") == [
        {"reason": "no location", "rows": 3, "examples": "a.csv:row 2"},
        {"reason": "duplicate id", "rows": 1, "examples": ""},
    ]

    class R:
        table = pd.DataFrame({"cell_size_m": [200.0, 400.0], "distance_m": [500.0, 1000.0]})
        jaccard = np.array([[1.0, 0.25], [0.25, 1.0]])

    jf = jaccard_frame(R())
    assert list(jf.index) == ["200 m / 500 m", "400 m / 1,000 m"] and jf.iloc[0, 1] == 0.25


# =============================================================================== cache
def test_lru_cache_evicts_least_recently_used():
    c = LRUCache(2)
    calls = []

    def make(k):
        def f():
            calls.append(k)
            return k * 10
        return f

    assert c.get_or_compute("a", make(1)) == 10
    assert c.get_or_compute("b", make(2)) == 20
    assert c.get_or_compute("a", make(1)) == 10  # hit; "a" is now the most recent
    c.get_or_compute("c", make(3))  # evicts "b"
    assert "a" in c and "c" in c and "b" not in c and len(c) == 2
    assert calls == [1, 2, 3] and c.hits == 1 and c.misses == 3

    def boom():
        raise ValueError("no")

    with pytest.raises(ValueError):
        c.get_or_compute("d", boom)
    assert "d" not in c
    with pytest.raises(ParameterError):
        LRUCache(0)


def test_lru_cache_threads():
    c = LRUCache(8)
    out = []

    def work(i):
        out.append(c.get_or_compute(i % 4, lambda: (i % 4) ** 2))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(out)) == [0, 1, 4, 9] and len(c) == 4


def test_card_is_a_plain_record():
    card = Card("Referrals", "<5", "help", True)
    assert card.suppressed and card.value == "<5"


def test_url_defaults_take_only_valid_values():
    months = month_options("2022-01", "2025-03")
    defaults = {"period": ("2022-01", "2025-03"), "before": ("2022-07", "2023-06"), "after": ("2023-07", "2024-06")}
    got = url_defaults({"period": "2023-04:2024-03", "cell": "300"}, months, defaults)
    assert got == {**defaults, "period": ("2023-04", "2024-03"), "cell": 300}
    bad = {"period": "2024-03:2023-04", "before": "2021-01:2022-01", "after": "<script>", "cell": "33"}
    assert url_defaults(bad, months, defaults) == {**defaults, "cell": 250}
    assert url_defaults({"period": ["2023-01:2023-02"], "cell": ["abc"]}, months, defaults)["period"] == ("2023-01", "2023-02")


@pytest.mark.skipif(not export_available(), reason="hotspots.export is not installed")
def test_exports_as_bytes(demo, tmp_path):
    import zipfile

    import pyogrio
    from PIL import Image

    from hotspots.export import gis_layers
    from hotspots.linkage import link_referrals

    s = Settings(cell_size=1000.0, period=("2023-01", "2023-12"))
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    changes, _ = area_change(demo.incidents, stage, s)
    cells, _ = cell_change(demo.incidents, stage.grid, s)
    link = link_referrals(demo.referrals, areas=stage.areas.areas, tasks=demo.tasks)
    an = assemble_analysis(stage, change_cells=cells, change_areas=changes, linkage=link, referrals=demo.referrals,
                           tasks=demo.tasks, study_area=demo.study_area)
    png = briefing_png(an, layer="gistar", dpi=60)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (660, 450)  # 11 x 7.5 inches at 60 dpi
    gpkg = tmp_path / "x.gpkg"
    gpkg.write_bytes(gis_export_bytes(an, fmt="gpkg", snap_m=500))
    expected = gis_layers(an, snap_m=500)
    assert sorted(name for name, _ in pyogrio.list_layers(gpkg)) == sorted(expected)
    z = zipfile.ZipFile(io.BytesIO(gis_export_bytes(an, fmt="geojson")))
    assert "parameters.json" in z.namelist() and "hotspot_areas.geojson" in z.namelist()
    areas = json.loads(z.read("hotspot_areas.geojson"))
    assert len(areas["features"]) == stage.areas.n_areas
    with pytest.raises(ParameterError):
        gis_export_bytes(an, fmt="shp")


def test_load_uploads_refuses_incidents_without_dates_or_rows(derby):
    ll = derby.iloc[:50].to_crs(4326)
    undated = pd.DataFrame({"lon": ll.geometry.x.round(6), "lat": ll.geometry.y.round(6)}).to_csv(index=False).encode()
    bundle, (o,) = load_uploads(incidents=[Upload("undated.csv", undated)])
    assert bundle is None and not o.ok and "dates" in o.error
    # Every row dropped: the report is kept (reasons) and the app keeps its data.
    empty = police_csv(derby.iloc[:0], bad_rows=3)
    bundle, (o,) = load_uploads(incidents=[Upload("2023-01-x-street.csv", empty)])
    assert bundle is None and not o.ok and o.report is not None and o.report.dropped == {"no location": 3}


# =============================================================================== rendering caches
def _render_demo_map(monkeypatch, layers_of):
    """A map with the demo's layers, rendered to HTML, with element ids numbered 0, 1, 2, ..."""
    import itertools

    import branca.element as be

    from hotspots.maps import base_map
    from hotspots.maps import scheme_layers as sl

    counter = itertools.count()
    monkeypatch.setattr(be.Element, "_generate_id", classmethod(lambda cls: f"{next(counter):032x}"))
    m = base_map(bounds_27700=(420_000.0, 320_000.0, 460_000.0, 360_000.0))
    sl.layer_support(m)
    for g in layers_of():
        g.add_to(m)
    return m.get_root().render()


def test_template_cache_draws_the_same_maps(monkeypatch):
    import branca.element as be

    from hotspots.app_support import cache_template_compilation
    from hotspots.maps import scheme_layers as sl

    d = demo_bundle(0)
    stage = hotspot_stage(d.incidents, Settings(cell_size=1000.0), d.study_area)

    def layers():
        return [sl.density_layer(stage.density), sl.gi_class_layer(sl.gi_class_table(stage.gi)),
                sl.hotspot_areas_layer(sl.hotspot_area_table(stage.areas)), sl.task_sites_layer(d.tasks)]

    original = getattr(be.Template, "_hotspots_original", be.Template)
    monkeypatch.setattr(be, "Template", original)  # no cache
    plain = _render_demo_map(monkeypatch, layers)
    assert _render_demo_map(monkeypatch, layers) == plain  # the ids make the text reproducible
    assert cache_template_compilation() and cache_template_compilation()  # idempotent
    assert be.Template is not original and be.Template._hotspots_original is original
    first = _render_demo_map(monkeypatch, layers)
    hits = be.Template.cache_info().hits
    second = _render_demo_map(monkeypatch, layers)
    assert first == plain and second == plain
    assert be.Template.cache_info().hits > hits  # the second drawing reused compiled templates
    # Other uses of the name still work: templates with options are compiled as before.
    t = be.Template("{{ x }}", autoescape=True)
    assert t.render(x="<b>") == "&lt;b&gt;"


def test_a_copy_of_a_layer_group_draws_like_the_original_every_time():
    # What the app relies on: it caches a layer group and lets streamlit-folium draw a deep copy
    # on each rerun (streamlit-folium renames the elements of the group it draws).
    import copy

    from streamlit_folium import _get_feature_group_string

    from hotspots.maps import base_map
    from hotspots.maps import scheme_layers as sl

    d = demo_bundle(0)
    stage = hotspot_stage(d.incidents, Settings(cell_size=1000.0), d.study_area)
    pristine = sl.gi_class_layer(sl.gi_class_table(stage.gi))

    def draw(group):
        m = base_map(bounds_27700=(420_000.0, 320_000.0, 460_000.0, 360_000.0))
        sl.layer_support(m)
        return _get_feature_group_string(group, map=m, idx=1)

    texts = [draw(copy.deepcopy(pristine)) for _ in range(3)]
    assert texts[0] == texts[1] == texts[2]
    assert texts[0] == draw(pristine)  # the same as drawing the original itself, once


def test_copy_layer_shares_the_data_and_draws_like_a_deep_copy():
    import copy
    import json

    from streamlit_folium import _get_feature_group_string

    from hotspots.app_support import copy_layer
    from hotspots.linkage import link_referrals
    from hotspots.maps import base_map
    from hotspots.maps import scheme_layers as sl
    from hotspots.publication import publish_scheme

    d = demo_bundle(0)
    stage = hotspot_stage(d.incidents, Settings(cell_size=1000.0), d.study_area)
    link = link_referrals(d.referrals, areas=stage.areas, tasks=d.tasks)
    pub = publish_scheme(d.referrals, linkage=link, areas=stage.areas.areas)
    pristine = [sl.gi_class_layer(sl.gi_class_table(stage.gi)), sl.hotspot_areas_layer(sl.hotspot_area_table(stage.areas)),
                sl.referral_task_lines_layer(pub), sl.task_sites_layer(d.tasks)]

    def draw(group, idx):
        m = base_map(bounds_27700=(420_000.0, 320_000.0, 460_000.0, 360_000.0))
        sl.layer_support(m)
        return _get_feature_group_string(group, map=m, idx=idx)

    def payloads(group):
        out, stack = [], [group]
        while stack:
            el = stack.pop()
            out += [v for k, v in vars(el).items() if k in ("data", "rows") and isinstance(v, (dict, list))]
            stack.extend(el._children.values())
        return out

    for i, g in enumerate(pristine):
        before = json.dumps(payloads(g), sort_keys=True, default=str)
        assert payloads(g), "the layer has a data payload to share"
        light = copy_layer(g)
        assert light is not g and all(a is b for a, b in zip(payloads(light), payloads(g)))
        assert draw(light, i) == draw(copy.deepcopy(g), i) == draw(copy_layer(g), i)
        assert json.dumps(payloads(g), sort_keys=True, default=str) == before  # drawing left the data as it was


def test_copies_of_a_base_map_draw_like_a_fresh_one():
    from streamlit_folium import _get_map_string

    from hotspots.app_support import copy_layer
    from hotspots.maps import base_map
    from hotspots.maps import scheme_layers as sl

    d = demo_bundle(0)

    def fresh():
        m = base_map(height=620, study_area=d.study_area)
        sl.layer_support(m)
        return m

    pristine = fresh()
    texts = []
    for m in (copy_layer(pristine), copy_layer(pristine), fresh()):
        m.get_root().render()
        texts.append(_get_map_string(m))  # element names are normalised by streamlit-folium
    assert texts[0] == texts[1] == texts[2]
