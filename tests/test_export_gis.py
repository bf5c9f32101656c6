"""GIS exports: GeoPackage layers equal the in-memory results, GeoJSON in WGS84, CSV tables, sidecar."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import hotspots
from hotspots import analyse
from hotspots._errors import ParameterError
from hotspots.analysis import Settings
from hotspots.change import finite_for_files
from hotspots.demo import generate_demo
from hotspots.emerging_summary import area_patterns, category_counts, describe_emerging
from hotspots.export import export_gis, gis_layers
from hotspots.export.gis import suppress_counts
from hotspots.gazetteer import default_study_area


@pytest.fixture(scope="module")
def demo():
    d = generate_demo(0)
    an = analyse(d.incidents, study_area=default_study_area(), referrals=d.referrals, tasks=d.tasks)
    return an, d


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory):
    an, _ = demo
    out = tmp_path_factory.mktemp("gis")
    return export_gis(an, out, timestamp=False)


def _as_multi(geoms) -> np.ndarray:
    g = np.asarray(geoms, dtype=object)
    return np.array([shapely.MultiPolygon([x]) if x.geom_type == "Polygon" else x for x in g], dtype=object)


def _same_geometry(a: gpd.GeoSeries, b: gpd.GeoSeries, tol: float = 1e-6) -> bool:
    """Equal vertex by vertex; an area layer's one-part MultiPolygon equals its Polygon."""
    return bool(np.all(shapely.equals_exact(_as_multi(a.values), _as_multi(b.values), tolerance=tol)))


def _compare(read: pd.DataFrame, want: pd.DataFrame, columns) -> None:
    for c in columns:
        got = read[c].to_numpy()
        exp = want[c].to_numpy()
        if pd.api.types.is_float_dtype(want[c].dtype):
            np.testing.assert_allclose(got.astype(float), exp.astype(float), rtol=0, atol=1e-12, equal_nan=True, err_msg=c)
        else:
            assert [None if pd.isna(v) else v for v in got.tolist()] == [None if pd.isna(v) else v for v in exp.tolist()], c


# ----------------------------------------------------------------------------- GeoPackage
def test_gpkg_layers_and_crs(exported):
    layers = {k: v for k, v in pyogrio.list_layers(exported.gpkg) if v is not None}  # the spatial layers
    assert set(layers) == set(exported.layers)
    assert {"cells", "hotspot_areas", "clusters", "referral_origins", "task_sites", "referral_task_lines",
            "change_cells", "change_areas", "study_area"} <= set(layers)
    for name in layers:
        info = pyogrio.read_info(exported.gpkg, layer=name)
        assert pyproj.CRS(info["crs"]).to_epsg() == 27700, name
        assert info["features"] == exported.layers[name]


def test_cells_equal_the_gistar_density_and_area_results(demo, exported):
    an, _ = demo
    got = gpd.read_file(exported.gpkg, layer="cells")
    want = an.gi.to_geodataframe()
    assert len(got) == len(want) == an.grid.n_cells
    _compare(got, want, ["row", "col", "count", "neighbours", "z", "p_normal", "p_adjusted", "p_decision", "bin", "class"])
    # the layer says which p decides the class (z and p_normal do not)
    info = pyogrio.read_info(exported.gpkg, layer="cells")
    assert info["layer_metadata"]["DESCRIPTION"] == f"Gi* cells: {an.gi.decision_text()}"
    r, c = got["row"].to_numpy(), got["col"].to_numpy()
    np.testing.assert_allclose(got["density"].to_numpy(), an.density.values[r, c], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got["area_id"].to_numpy(), an.areas.labels[r, c])
    assert got["emerging"].tolist() == an.emerging.labels[r, c].tolist()
    assert _same_geometry(got.geometry, want.geometry)
    assert got.crs.to_epsg() == 27700


def test_areas_clusters_and_change_layers_equal_the_results(demo, exported):
    an, _ = demo
    areas = gpd.read_file(exported.gpkg, layer="hotspot_areas")
    want = an.areas.areas
    _compare(areas, want, [c for c in want.columns if c != "geometry"])
    assert _same_geometry(areas.geometry, want.geometry)
    ch = an.change_areas.table.set_index("area_id").loc[areas["area_id"]]
    np.testing.assert_array_equal(areas["n_before"], ch["n_before"])
    np.testing.assert_allclose(areas["change_rate_ratio"], ch["rate_ratio"])
    assert list(areas["change_class"]) == list(ch["change_class"])

    cl = gpd.read_file(exported.gpkg, layer="clusters")
    _compare(cl, an.clusters.polygons, [c for c in an.clusters.polygons.columns if c != "geometry"])
    assert _same_geometry(cl.geometry, an.clusters.polygons.geometry)

    for name, res in (("change_cells", an.change_cells), ("change_areas", an.change_areas)):
        got = gpd.read_file(exported.gpkg, layer=name)
        # the difference is per day, named with its unit; the raw counts stay
        assert {"n_before", "n_after", "change_per_day", "rate_before_per_day", "rate_after_per_day"} <= set(got.columns)
        assert not {"change", "rate_before", "rate_after"} & set(got.columns)
        want = finite_for_files(res.to_geodataframe())  # numbers that are not finite are written empty
        _compare(got, want, [c for c in want.columns if c != "geometry"])
        assert _same_geometry(got.geometry, want.geometry)


def test_every_layer_reads_back_as_written(demo, exported):
    an, _ = demo
    layers = gis_layers(an)
    for name, want in layers.items():
        got = gpd.read_file(exported.gpkg, layer=name)
        assert list(got.columns) == list(want.columns), name
        assert len(got) == len(want), name
        for c in want.columns:
            if c == want.geometry.name:
                continue
            w = want[c]
            if pd.api.types.is_numeric_dtype(w.dtype) and not pd.api.types.is_bool_dtype(w.dtype):
                np.testing.assert_allclose(got[c].to_numpy(dtype=float), w.to_numpy(dtype=float, na_value=np.nan),
                                           rtol=0, atol=1e-12, equal_nan=True, err_msg=f"{name}.{c}")
            else:
                assert [None if pd.isna(v) else v for v in got[c]] == [None if pd.isna(v) else v for v in w], f"{name}.{c}"
        assert _same_geometry(got.geometry, want.geometry), name


def test_hotspot_areas_layer_carries_what_the_areas_csv_says(demo, exported):
    """A QGIS user labels and styles areas by their streets, change, ring and pattern: the layer
    has the CSV's columns, with the CSV's values."""
    layer = gpd.read_file(exported.gpkg, layer="hotspot_areas").set_index("area_id")
    table = pd.read_csv(exported.files["csv:hotspot_areas"], keep_default_na=False, na_values=[""]).set_index("area_id")
    table = table.loc[layer.index]
    for col in ("place", "streets", "districts", "ring_change_class", "emerging"):
        assert [None if pd.isna(v) or v == "" else v for v in layer[col]] == \
            [None if pd.isna(v) or v == "" else v for v in table[col]], col
    for col in ("change_pct", "ring_change_pct"):
        np.testing.assert_allclose(layer[col].to_numpy(dtype=float), table[col].to_numpy(dtype=float), equal_nan=True)
    assert layer["ring_change_class"].notna().any() and layer["emerging"].notna().all()
    # incidents are whole numbers in the layer, as in the CSV
    assert layer["count"].dtype == np.int64 and (layer["count"].to_numpy() == table["incidents"].to_numpy()).all()


def test_area_layers_are_multipolygon_in_every_format(demo, exported):
    """A layer's geometry type must not depend on whether this run split an area: QGIS and ArcGIS
    models built on one run's layer must read the next. The GeoPackage used to promote a mixed
    layer to MultiPolygon while the GeoJSON mixed the two."""
    an, _ = demo
    assert (an.areas.areas.geom_type == "Polygon").any()  # the case: some areas are in one piece
    for name in ("hotspot_areas", "clusters", "change_areas", "displacement_rings", "study_area"):
        assert pyogrio.read_info(exported.gpkg, layer=name)["geometry_type"] == "MultiPolygon", name
        doc = json.loads(exported.files[f"geojson:{name}"].read_text(encoding="utf-8"))
        assert {f["geometry"]["type"] for f in doc["features"]} == {"MultiPolygon"}, name
    assert pyogrio.read_info(exported.gpkg, layer="cells")["geometry_type"] == "Polygon"  # squares stay squares


# ----------------------------------------------------------------------------- GeoJSON
def test_geojson_is_wgs84_as_rfc7946_requires(demo, exported):
    an, _ = demo
    layers = gis_layers(an)
    to_wgs = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)
    for name, want in layers.items():
        path = exported.files[f"geojson:{name}"]
        doc = json.loads(path.read_text(encoding="utf-8"))  # strict JSON: no NaN/Infinity
        assert doc["type"] == "FeatureCollection"
        assert "crs" not in doc  # RFC 7946: always WGS84, no crs member
        assert len(doc["features"]) == len(want)
        got = gpd.read_file(path)
        assert got.crs.to_epsg() == 4326
        xy = shapely.get_coordinates(got.geometry.values)
        assert (xy[:, 0] > -3.0).all() and (xy[:, 0] < -1.0).all() and (xy[:, 1] > 52.4).all() and (xy[:, 1] < 53.7).all()
        # The first vertex of every feature is the BNG vertex transformed (7 decimals ~ 1 cm).
        first_got = np.array([shapely.get_coordinates(g)[0] for g in got.geometry])
        first_bng = np.array([shapely.get_coordinates(g)[0] for g in want.geometry])
        lon, lat = to_wgs.transform(first_bng[:, 0], first_bng[:, 1])
        np.testing.assert_allclose(first_got, np.column_stack([lon, lat]), atol=2e-7)


def test_every_field_of_every_geojson_and_gpkg_layer_holds_one_type(demo, exported):
    # the app's hotspot_areas.geojson held `referrals` 295 and '<5' (geopandas: "Could not parse column ... as JSON")
    for name in gis_layers(demo[0]):
        doc = json.loads(exported.files[f"geojson:{name}"].read_text(encoding="utf-8"))
        kinds: dict[str, set] = {}
        for f in doc["features"]:
            for k, v in f["properties"].items():
                if v is not None:
                    kinds.setdefault(k, set()).add("number" if isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   else type(v).__name__)
        assert {k: v for k, v in kinds.items() if len(v) > 1} == {}, name
        info = pyogrio.read_info(exported.gpkg, layer=name)
        assert len(info["fields"]) == len(set(info["fields"]))  # one field, one declared type


def test_one_type_columns_splits_numbers_from_published_text():
    from hotspots.export import one_type_columns

    g = gpd.GeoDataFrame({"referrals": [295, "<5", "c", None], "completed_pct": [77.5, ">74", 80, None],
                          "label": ["a", "b", "c", "d"], "odd": [True, "x", None, 2]},
                         geometry=gpd.points_from_xy([0] * 4, [0] * 4), crs=27700)
    out = one_type_columns(g)
    assert list(out.columns) == ["referrals", "referrals_shown", "completed_pct", "completed_pct_shown", "label", "odd",
                                 "geometry"]
    assert out["referrals"].tolist()[:1] == [295] and out["referrals"].isna().tolist() == [False, True, True, True]
    assert out["referrals_shown"].tolist() == ["295", "<5", "c", None]
    assert out["completed_pct"].isna().tolist() == [False, True, False, True] and out["completed_pct"][2] == 80
    assert out["completed_pct_shown"].tolist() == ["77.5", ">74", "80", None]
    assert out["odd"].tolist() == ["True", "x", None, "2"]  # any other mix: text
    assert g["referrals"].tolist()[1] == "<5"  # the caller's frame is left alone
    kept = one_type_columns(g.assign(referrals_shown=["295", "<5", "c", ""]))  # its own _shown column is kept
    assert kept["referrals_shown"].tolist() == ["295", "<5", "c", ""] and kept["referrals"].isna().sum() == 3


def test_every_format_writes_a_rate_ratio_that_is_not_finite_as_empty(demo, exported):
    """A cell with no incident before has an infinite rate ratio in memory; the GeoPackage kept
    ``inf`` (QGIS's statistics and symbology break on it), the CSV wrote "inf" and the GeoJSON
    null. Now every format writes it empty, and its interval too (its ends came from the 0.5 put
    in the 0's place: 0.062-62 for 0 then 1); the p-value and class are written as tested."""
    an, _ = demo
    t = an.change_cells.table
    inf = np.isinf(t["rate_ratio"].to_numpy())
    assert inf.any()  # cells with no incident before
    assert np.isfinite(t.loc[inf & (t["n_after"] > 0), "rate_ratio_low"]).all()  # in memory: an interval was computed
    interval = ["rate_ratio", "rate_ratio_low", "rate_ratio_high"]
    doc = json.loads(exported.files["geojson:change_cells"].read_text(encoding="utf-8"))
    gj = pd.DataFrame([f["properties"] for f in doc["features"]])
    gpkg = gpd.read_file(exported.gpkg, layer="change_cells")
    for got in (gj, gpkg):
        assert got.loc[inf, interval].isna().all().all()
        assert got.loc[inf, "change_class"].tolist() == t.loc[inf, "change_class"].tolist()
        np.testing.assert_allclose(got.loc[inf, "p_value"].astype(float), t.loc[inf, "p_value"], equal_nan=True)
        # the rest as in memory, save an interval that does not hold its estimate (a fall to 0)
        want = finite_for_files(t)
        np.testing.assert_allclose(got.loc[~inf, interval].astype(float), want.loc[~inf, interval], equal_nan=True)
        to_zero = (t["rate_ratio"] == 0).to_numpy()
        assert to_zero.any() and got.loc[to_zero, "rate_ratio"].eq(0).all()
        # a fall to 0 has the test's own (exact) interval, which holds it: from 0 to a finite upper end
        assert got.loc[to_zero, "rate_ratio_low"].astype(float).eq(0).all()
        assert np.isfinite(got.loc[to_zero, "rate_ratio_high"].astype(float)).all()
    csv = pd.read_csv(exported.files["csv:change_cells"], keep_default_na=False, dtype=str)
    zero = (csv["n_before"] == "0") & (csv["n_after"] != "0")
    assert zero.any() and (csv.loc[zero, interval] == "").all().all()
    assert not csv[interval].isin(["inf", "-inf"]).any().any()
    # no layer or table holds an infinite number in any format
    for name, layer in gis_layers(an).items():
        nums = layer.drop(columns=layer.geometry.name).select_dtypes("number")
        assert not np.isinf(nums.to_numpy(dtype=float, na_value=np.nan)).any(), name


# ----------------------------------------------------------------------------- CSV
def test_csv_tables(demo, exported):
    an, _ = demo
    from hotspots.publication import scheme_publication

    pub = scheme_publication(an)
    kp = pd.read_csv(exported.files["csv:kpis"], dtype=str, keep_default_na=False)
    want = pub.kpis["all"].assign(disclosure=pub.statement).astype(str)
    assert list(kp.columns) == list(want.columns)
    assert kp.to_numpy().tolist() == want.to_numpy().tolist()
    # one protection for every table: the total row reads the same in each of them
    total = kp.drop(columns=["group"]).iloc[0].tolist()
    for by in ("month", "offence", "route", "age_group", "hotspot"):
        t = pd.read_csv(exported.files[f"csv:kpis_by_{by}"], dtype=str, keep_default_na=False)
        assert t.drop(columns=[t.columns[0]]).iloc[-1].tolist() == total, by
    # a hotspot's referrals read the same in every table that shows them
    kh = pd.read_csv(exported.files["csv:kpis_by_hotspot"], dtype=str).set_index("hotspot")["referrals"]
    rh = pd.read_csv(exported.files["csv:referrals_by_hotspot"], dtype=str).set_index("hotspot")["referrals"]
    ah = pd.read_csv(exported.files["csv:hotspot_areas"], dtype=str).set_index("area_id")["referrals"]
    for h in kh.index:
        assert kh[h] == rh[h]
        if h in ah.index:
            assert ah[h] == rh[h]
    areas = pd.read_csv(exported.files["csv:hotspot_areas"])
    assert list(areas["area_id"]) == list(an.areas.areas.sort_values("rank")["area_id"])
    assert list(areas["incidents"]) == [int(round(v)) for v in an.areas.areas.sort_values("rank")["count"]]
    cc = pd.read_csv(exported.files["csv:change_cells"])
    t = an.change_cells.table
    assert len(cc) == int(((t["n_before"] + t["n_after"]) > 0).sum())
    np.testing.assert_allclose(cc["x"], an.grid.x_centres[cc["col"]])
    days_b, days_a = an.change_cells.exposure_before_days, an.change_cells.exposure_after_days
    np.testing.assert_allclose(cc["change_per_day"], cc["n_after"] / days_a - cc["n_before"] / days_b)
    assert "change" not in cc.columns
    for name in ("kpis_by_month", "kpis_by_offence", "kpis_by_route", "kpis_by_age_group", "kpis_by_hotspot",
                 "referrals_by_hotspot", "referrals_summary", "change_areas", "clusters"):
        assert exported.files[f"csv:{name}"].stat().st_size > 0
        assert exported.tables[name] == len(pd.read_csv(exported.files[f"csv:{name}"]))


def test_clusters_layer_and_table_name_the_place_the_briefing_lists(demo, exported):
    """The clusters briefing lists each cluster "Near" a place; the clusters layer and
    csv/clusters.csv had no place column. Both have ``place`` after ``cluster``, the briefing's name."""
    from hotspots.export._layers import numbered_clusters

    an, _ = demo
    briefing = dict(zip(numbered_clusters(an)["cluster"], numbered_clusters(an)["place"]))
    for table in (gpd.read_file(exported.gpkg, layer="clusters"), pd.read_csv(exported.files["csv:clusters"])):
        assert list(table.columns[:2]) == ["cluster", "place"] and table["place"].notna().all()
        got = dict(zip(table["cluster"], table["place"]))
        assert briefing and all(got[c] == p for c, p in briefing.items())


def test_change_summary_table_in_csv_and_gpkg(demo, exported):
    an, _ = demo
    want = an.change_summary.to_frame(extended=True)
    cols = ["scope", "rate_ratio", "ci_low", "ci_high", "p_value", "verdict", "n_before", "n_after", "mde_fall"]
    # the counts a reader checks the pooled rows against: the incidents of the hotspot areas' cells (an
    # incident on a cell edge also counts in an area it touches in the areas' own table)
    t = an.change_cells.table
    hot = an.areas.labels[t["row"].to_numpy(), t["col"].to_numpy()] > 0
    assert want["n_before"].iloc[0] == t.loc[hot, "n_before"].sum() and want["n_after"].iloc[0] == t.loc[hot, "n_after"].sum()
    assert want["n_before"].iloc[1] == t.loc[~hot, "n_before"].sum()
    assert 0.99 < want["n_before"].iloc[0] / an.change_areas.table["n_before"].sum() <= 1.0
    csv = pd.read_csv(exported.files["csv:change_summary"])
    assert list(csv.columns) == cols
    assert list(csv["scope"]) == ["all hotspot areas", "elsewhere", "hotspots vs elsewhere"]
    _compare(csv, want, cols)
    # A non-spatial table in the GeoPackage (no geometry column), the same rows.
    assert dict(pyogrio.list_layers(exported.gpkg))["change_summary"] is None
    gp = pyogrio.read_dataframe(exported.gpkg, layer="change_summary", read_geometry=False)
    assert list(gp.columns) == cols
    _compare(gp, want, cols)
    side = json.loads(exported.files["parameters"].read_text(encoding="utf-8"))
    assert side["gpkg_tables"] == {"change_summary": 3, "displacement": 2, "emerging": len(category_counts(an.emerging))}
    assert side["outputs"]["csv:change_summary"]["path"] == "csv/change_summary.csv"
    assert [r["scope"] for r in side["results"]["change_summary"]["rows"]] == list(csv["scope"])
    assert side["results"]["change_summary"]["method"] == an.change_summary.method
    # what qualifies every change (a period under 3 months, the season not separated), as the console warns
    assert side["results"]["change_summary"]["warnings"] == an.change_summary.caveats()
    # privacy: groups measured in people (the demo has person_ref), and the checks named for what they count
    assert side["privacy"]["groups_measured_in"].startswith("people")
    from hotspots.publication import scheme_publication

    assert side["privacy"]["statement"] == scheme_publication(an).statement
    checks = side["results"]["scheme_checks"]
    assert "task_site_outside_area" not in checks and "referrals_to_task_site_outside_area" in checks
    assert checks["task_sites_outside_area"] == an.linkage.summary["task_sites_outside_area"]


def test_each_hotspot_area_carries_its_rings_change(demo, exported):
    an, _ = demo
    areas = pd.read_csv(exported.files["csv:hotspot_areas"]).set_index("area_id")
    moved = an.displacement
    rings = moved.ring_change.table.assign(around=moved.rings.areas["around_area"].to_numpy()).set_index("around")
    judged = rings["rate_ratio_adjusted"] if "rate_ratio_adjusted" in rings.columns else rings["rate_ratio"]
    ids = areas.index.to_numpy()
    # "–" (empty) where the ring holds too few incidents to show a change (style.MIN_PERCENT_TOTAL)
    total = (rings["n_before"] + rings["n_after"]).reindex(ids).to_numpy()
    want = np.where(total >= 20, np.round(100 * (judged.reindex(ids).to_numpy() - 1), 1), np.nan)
    np.testing.assert_allclose(areas["ring_change_pct"], want, atol=0.051, equal_nan=True)
    assert areas["ring_change_class"].tolist() == rings["change_class"].reindex(ids).tolist()
    # the rings layer holds the same verdicts, by the area each ring surrounds
    layer = pyogrio.read_dataframe(exported.gpkg, layer="displacement_rings").set_index("around_area")
    assert layer["change_class"].reindex(ids).tolist() == areas["ring_change_class"].tolist()


def test_emerging_hot_spots_in_the_files(demo, exported):
    an, _ = demo
    want = category_counts(an.emerging)
    csv = pd.read_csv(exported.files["csv:emerging"])
    gp = pyogrio.read_dataframe(exported.gpkg, layer="emerging", read_geometry=False)
    for got in (csv, gp):
        assert got["category"].tolist() == want["category"].tolist() and got["cells"].tolist() == want["cells"].tolist()
    assert csv["cells"].sum() == an.grid.n_cells
    rec = json.loads(exported.files["parameters"].read_text(encoding="utf-8"))["results"]["emerging"]
    assert rec["time_steps"] == an.emerging.n_steps and rec["reading"] == describe_emerging(an.emerging)
    assert rec["categories"] == dict(zip(want["category"], want["cells"].astype(int)))
    # each hotspot area's pattern, as area_patterns gives it
    areas = pd.read_csv(exported.files["csv:hotspot_areas"]).set_index("area_id")
    pat = area_patterns(an.emerging, an.areas.labels, an.areas.n_areas).set_index("area_id")["emerging"]
    assert areas["emerging"].tolist() == pat.reindex(areas.index).tolist()


def test_no_change_summary_table_without_one(demo, tmp_path):
    import dataclasses

    an, _ = demo
    m = export_gis(
        dataclasses.replace(an, change_summary=None, displacement=None, emerging=None), tmp_path, formats=("gpkg", "csv"),
        timestamp=False,
    )
    assert "change_summary" not in dict(pyogrio.list_layers(m.gpkg)) and "csv:change_summary" not in m.files
    assert "gpkg_tables" not in m.parameters and m.parameters["results"]["change_summary"] is None
    assert m.parameters["results"]["emerging"] is None and "csv:emerging" not in m.files
    assert "emerging" not in gpd.read_file(m.gpkg, layer="cells").columns


# ----------------------------------------------------------------------------- sidecar
def test_sidecar_has_every_setting_and_automatic_value(demo, exported):
    an, _ = demo
    side = json.loads(exported.files["parameters"].read_text(encoding="utf-8"))
    assert side["hotspots_version"] == hotspots.__version__
    assert side["settings"] == json.loads(json.dumps(an.settings.to_dict()))
    assert side["used"]["cell_size_m"] == an.grid.cell_size
    assert side["used"]["bandwidth_m"] == pytest.approx(float(an.density.bandwidth_m))
    assert side["used"]["distance_m"] == pytest.approx(float(an.gi.params["distance_m"]))
    assert side["notes"] == list(an.notes)
    assert side["data_source"]["kind"] == "demo"
    assert "Synthetic" in side["data_source"]["attribution"]
    assert side["crs"]["geojson"].startswith("EPSG:4326")
    assert "created" not in side  # timestamp=False
    assert side["results"]["hotspot_areas"] == an.areas.n_areas
    # which months each count covers: the hotspot period for `incidents`, the change periods for n_before/n_after
    cols = side["results"]["column_periods"]
    assert cols["incidents"].endswith("(the hotspot period)")
    assert cols["n_before"] == an.change_areas.period_text("before") and cols["n_after"] == an.change_areas.period_text("after")
    assert side["layers"] == exported.layers
    # Every output but the sidecar itself is listed with its checksum.
    assert set(side["outputs"]) == set(exported.files) - {"parameters"}


def test_sidecar_lists_only_the_gis_layers_written(demo, tmp_path):
    """`--formats csv` wrote no GeoPackage or GeoJSON, yet the sidecar's `layers` listed cells,
    hotspot_areas, ... with their feature counts."""
    an, _ = demo
    csv_only = export_gis(an, tmp_path / "csv", formats=("csv",), timestamp=False)
    side = json.loads(csv_only.files["parameters"].read_text(encoding="utf-8"))
    assert "layers" not in side and csv_only.layers == {}
    assert not list((tmp_path / "csv").glob("*.gpkg")) and not (tmp_path / "csv" / "geojson").exists()
    geojson = export_gis(an, tmp_path / "geojson", formats=("geojson",), timestamp=False)
    side = json.loads(geojson.files["parameters"].read_text(encoding="utf-8"))
    assert side["layers"] == geojson.layers and set(side["layers"]) == {k.split(":")[1] for k in geojson.files if ":" in k}


def test_sidecar_settings_reproduce_the_result(demo, exported):
    an, d = demo
    side = json.loads(exported.files["parameters"].read_text(encoding="utf-8"))
    s = dict(side["settings"])
    for k in ("period", "before", "after"):
        s[k] = tuple(s[k]) if s[k] else None
    again = analyse(d.incidents, settings=Settings(**s), study_area=default_study_area(), referrals=d.referrals, tasks=d.tasks)
    np.testing.assert_array_equal(again.gi.bins, an.gi.bins)
    np.testing.assert_array_equal(again.areas.labels, an.areas.labels)


def test_export_without_timestamp_is_byte_reproducible(demo, tmp_path):
    an, _ = demo
    a = export_gis(an, tmp_path / "a", timestamp=False, formats=("geojson", "csv"))
    b = export_gis(an, tmp_path / "b", timestamp=False, formats=("geojson", "csv"))
    for key, path in a.files.items():
        assert path.read_bytes() == b.files[key].read_bytes(), key
    c = export_gis(an, tmp_path / "c", formats=("csv",))
    assert "created" in json.loads(c.files["parameters"].read_text(encoding="utf-8"))


def test_inputs_are_recorded(demo, tmp_path):
    from hotspots.report import LoadReport

    an, _ = demo
    rep = LoadReport("incidents.csv", 10, 8, {"no location": 2}, {"no location": ["incidents.csv:row 3"]}, ["a note"])
    ref = LoadReport("referrals.csv", 5, 5, {}, {}, ["note quoting a value"], ["warning quoting a value"])
    m = export_gis(an, tmp_path, formats=("csv",), inputs={"incidents": rep, "referrals": ref, "study_area": {"source": "x"}})
    side = m.parameters
    assert side["inputs"]["incidents"]["report"]["dropped"] == {"no location": 2}
    assert side["inputs"]["incidents"]["summary"] == rep.summary()
    # Referral reports keep counts only: notes and warnings can quote values from the file.
    assert set(side["inputs"]["referrals"]["report"]) == {"source", "rows_read", "rows_kept", "rows_dropped", "dropped"}
    assert side["inputs"]["study_area"] == {"source": "x"}


# ----------------------------------------------------------------------------- options and errors
def test_drop_empty_keeps_every_cell_with_something(demo):
    an, _ = demo
    full = gis_layers(an)["cells"]
    small = gis_layers(an, drop_empty=True)["cells"]
    keep = (full["count"] != 0) | (full["bin"] != 0)
    assert len(small) == int(keep.sum()) < len(full)
    assert small["count"].sum() == full["count"].sum()
    assert set(small.loc[small["bin"] != 0, "row"] * 10_000 + small.loc[small["bin"] != 0, "col"]) == set(
        full.loc[full["bin"] != 0, "row"] * 10_000 + full.loc[full["bin"] != 0, "col"])
    cc_full = gis_layers(an)["change_cells"]
    cc_small = gis_layers(an, drop_empty=True)["change_cells"]
    assert len(cc_small) == int(((cc_full["n_before"] + cc_full["n_after"]) > 0).sum())


def test_referral_origins_count_located_referrals_per_square(demo):
    an, d = demo
    layer = gis_layers(an, snap_m=500.0)["referral_origins"]
    assert np.allclose(shapely.area(layer.geometry.values), 500.0**2)
    assert np.all(layer["square_x"] % 500 == 250) and np.all(layer["square_y"] % 500 == 250)
    xy = shapely.get_coordinates(d.referrals.geometry.values)
    # Squares include their west and south edges (as grid cells do). Every referral falls in at
    # most one exported square, and the visible counts equal a direct count.
    x0 = layer["square_x"].to_numpy() - 250.0
    y0 = layer["square_y"].to_numpy() - 250.0
    member = (xy[:, None, 0] >= x0) & (xy[:, None, 0] < x0 + 500) & (xy[:, None, 1] >= y0) & (xy[:, None, 1] < y0 + 500)
    assert np.all(member.sum(axis=1) <= 1)
    # a square of fewer than 5 people is not published at all (its place would point at them): the
    # referrals in no exported square are exactly those of such squares
    sq = pd.DataFrame({"sx": np.floor(xy[:, 0] / 500), "sy": np.floor(xy[:, 1] / 500), "p": d.referrals["person_ref"].to_numpy()})
    people = sq.groupby(["sx", "sy"])["p"].transform("nunique").to_numpy()
    np.testing.assert_array_equal(member.sum(axis=1) == 0, people < 5)
    inside = member.sum(axis=0)
    shown = layer["referrals"].to_numpy(dtype=float, na_value=np.nan)
    vis = ~np.isnan(shown)
    np.testing.assert_array_equal(shown[vis], inside[vis])
    assert np.all(inside[~vis] > 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"formats": ("shp",)}, "`formats`"),
        ({"formats": ()}, "`formats`"),
        ({"threshold": 0}, "`threshold`"),
        ({"snap_m": 10}, "`snap_m`"),
        ({"gpkg_name": "../x.gpkg"}, "`gpkg_name`"),
    ],
)
def test_bad_arguments(demo, tmp_path, kwargs, match):
    an, _ = demo
    with pytest.raises(ParameterError, match=match):
        export_gis(an, tmp_path, **kwargs)


def test_out_dir_that_is_a_file(demo, tmp_path):
    an, _ = demo
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ParameterError, match="not a folder"):
        export_gis(an, f)


# ----------------------------------------------------------------------------- suppression
@pytest.mark.parametrize(
    "counts, shown",
    [
        ([10, 3, 7], ["10", "<5", "c"]),  # one hidden count is given away by the total: hide the smallest other
        ([10, 1, 1], ["c", "<5", "<5"]),  # 1 + 1 = 2 pins both: hide another
        ([0, 2, 3, 20, 30], ["0", "<5", "<5", "20", "30"]),  # 2 + 3 = 5 could be 1+4, 2+3, 3+2, 4+1
        ([4, 4, 20], ["<5", "<5", "c"]),  # 4 + 4 = 8 pins both
        ([5, 6, 0], ["5", "6", "0"]),
        ([], []),
    ],
)
def test_suppress_counts_cases(counts, shown):
    numeric, text = suppress_counts(counts, 5)
    assert text.tolist() == shown
    assert [None if pd.isna(v) else int(v) for v in numeric] == [
        None if s in ("<5", "c") else int(s) for s in shown
    ]


def _feasible_values(counts, hidden, small, t, withheld=()):
    """Every value each hidden cell can take, given the total of the hidden cells (exact, by
    dynamic programming over the sums the other hidden cells can make)."""
    total = sum(counts[i] for i in hidden)
    ranges = {i: range(1, t) if small[i] else range(t, total + 1) for i in hidden}
    ranges.update({i: range(0, total + 1) for i in withheld})
    seen = {}
    for i in hidden:
        sums = {0}
        for j in hidden:
            if j != i:
                sums = {a + v for a in sums for v in ranges[j] if a + v <= total}
        seen[i] = {v for v in ranges[i] if total - v in sums}
    return seen


def test_a_threshold_below_3_needs_the_unsafe_flag():
    with pytest.raises(ParameterError, match="unsafe"):
        suppress_counts([1, 7], 2)
    numeric, text = suppress_counts([1, 7], 2, unsafe=True)  # primary only: "<2" is 1 anyway
    assert text.tolist() == ["<2", "7"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=6), st.integers(3, 6))
def test_no_suppressed_count_can_be_worked_out_from_the_total(counts, t):
    _, text = suppress_counts(counts, t)
    small = [0 < c < t for c in counts]
    withheld = [i for i, s in enumerate(text) if s == "x"]  # a list suppression cannot protect
    hidden = [i for i, s in enumerate(text) if s in (f"<{t}", "c", "x")]
    small = [sm and i not in withheld for i, sm in enumerate(small)]
    assert [i for i, s in enumerate(small) if s] == [i for i, s in enumerate(text) if s == f"<{t}"]
    if not any(small) and not withheld:
        assert "c" not in list(text)
        return
    seen = _feasible_values(counts, hidden, small, t, withheld)
    n_visible_positive = sum(1 for i, c in enumerate(counts) if c > 0 and i not in hidden)
    for i in hidden:
        if small[i] or (i in withheld and 0 < counts[i] < t):
            # Either at least two values remain possible, or nothing more could be hidden.
            assert len(seen[i]) >= 2 or n_visible_positive == 0


# ----------------------------------------------------------------------------- data source
@pytest.mark.parametrize(
    "ids, sources, kind",
    [
        (["demo-asb-000001", "demo-asb-000002"], None, "demo"),
        (["a", "b"], ["2025-01-derbyshire-street.csv", "x.zip:2025-02-derbyshire-street.csv"], "police.uk"),
        (["a", "b"], ["2025-01-derbyshire-street.csv", "force_extract.csv"], "user"),
        (["demo-1", "x"], None, "user"),
    ],
)
def test_data_source_detection(ids, sources, kind):
    from hotspots.export import DEMO_ATTRIBUTION, data_source
    from hotspots.gazetteer import GEONAMES_ATTRIBUTION
    from hotspots.schema import POLICE_UK_ATTRIBUTION

    df = pd.DataFrame({"incident_id": ids, "category": ["Anti-social behaviour"] * len(ids)})
    if sources is not None:
        df["source"] = sources
    src = data_source(df)
    assert src.kind == kind
    # Real data's hotspot areas and maps are named from GeoNames: its attribution follows the data's.
    want = {"demo": DEMO_ATTRIBUTION, "police.uk": f"{POLICE_UK_ATTRIBUTION}. {GEONAMES_ATTRIBUTION}",
            "user": GEONAMES_ATTRIBUTION}
    assert src.attribution == want[kind]
    asb = "data.police.uk street-level anti-social behaviour" if kind == "police.uk" else "(Anti-social behaviour)"
    assert asb in src.description
    assert data_source(df, source="Force records", attribution="© Force").description == "Force records"


@pytest.mark.parametrize(
    "categories, said",
    [
        (["Burglary"], "data.police.uk street-level crime (Burglary)"),
        (["Burglary", "Robbery"], "data.police.uk street-level crime (Burglary, Robbery)"),
        (["Anti-social behaviour", "Burglary"], "data.police.uk street-level crime and ASB (Anti-social behaviour, Burglary)"),
        (["ASB", "Anti-social behaviour"], "data.police.uk street-level anti-social behaviour"),
    ],
)
def test_the_police_uk_source_says_what_was_loaded(categories, said):
    """--category Burglary read "data.police.uk street-level crime and ASB (Burglary)"."""
    from hotspots.export import data_source

    df = pd.DataFrame({"incident_id": ["a", "b"], "category": categories * (2 // len(categories)),
                       "source": ["2025-01-lincolnshire-street.csv"] * 2})
    assert data_source(df).description == f"{said}, Lincolnshire Police"  # the force from the file names


def test_the_folder_holds_the_density_and_counts_geotiffs(demo, exported):
    """Density existed only as an attribute of cell polygons (North Yorkshire cells.geojson 30.8 MB):
    the folder holds density.tif (the maps' lattice) and counts.tif, listed in parameters.json."""
    from hotspots.export.raster import read_raster

    an, _ = demo
    rec = exported.parameters
    assert set(rec["rasters"]) == {"density", "counts"}
    assert rec["outputs"]["tif:density"]["path"] == "density.tif" and rec["outputs"]["tif:counts"]["path"] == "counts.tif"
    assert rec["rasters"]["counts"]["cell_m"] == an.grid.cell_size and rec["rasters"]["density"]["cell_m"] < an.grid.cell_size
    band = read_raster(exported.files["tif:counts"])
    act = an.grid.active
    assert int(band.values[act].sum()) == int(np.nansum(an.counts.values))
    assert rec["results"]["gi_decision"]["p_decision"] == an.gi.params["p_decision"]


def test_csv_tables_neutralise_formulas(demo, tmp_path, monkeypatch):
    """A police.uk Location of =HYPERLINK(...) reached csv/hotspot_areas.csv unescaped: every CSV
    table is written through hotspots.csv_safety (a quote before = + - @, numbers unchanged)."""
    import hotspots.export.gis as gis

    an, _ = demo
    table = pd.DataFrame({"area_id": [1, 2], "place": ['=HYPERLINK("http://evil.example","x"), Ipswich', "-Jubilee Way"],
                          "change": [-3, 0]})
    monkeypatch.setattr(gis, "csv_tables", lambda *a, **k: {"hotspot_areas": table})
    m = export_gis(an, tmp_path, formats=("csv",), timestamp=False)
    back = pd.read_csv(m.files["csv:hotspot_areas"], dtype=str)
    assert back["place"].tolist() == ['\'=HYPERLINK("http://evil.example","x"), Ipswich', "'-Jubilee Way"]
    assert back["change"].tolist() == ["-3", "0"]


def test_a_hotspot_areas_layer_without_areas_has_the_columns_of_one_with_areas(demo, tmp_path):
    # 99 permutations cannot reach 95 % after FDR: no area. The GeoPackage layer had lost the change
    # columns (a QGIS style or model built on one run's layer failed on the next)
    an, _ = demo
    full = gis_layers(an)["hotspot_areas"]
    d = generate_demo(0)
    none = analyse(d.incidents, settings=Settings(permutations=99), study_area=default_study_area())
    assert none.areas.n_areas == 0 and none.change_cells is not None
    empty = gis_layers(none)["hotspot_areas"]
    assert len(empty) == 0
    assert [c for c in full.columns if c not in ("referrals", "referrals_count")] == list(empty.columns)
    path = tmp_path / "e.gpkg"
    empty.to_file(path, layer="hotspot_areas")
    assert "change_rate_ratio" in pyogrio.read_info(path, layer="hotspot_areas")["fields"]
