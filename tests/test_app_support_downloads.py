"""hotspots.app_support.downloads: the files the app offers, as bytes."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import police_csv

from hotspots._errors import ParameterError
from hotspots.app_support import (
    briefing_file,
    briefing_png,
    change_downloads,
    csv_bytes,
    export_downloads,
    geojson_bytes,
    gis_export_bytes,
)
from hotspots.export.gis import gpkg_tables
from hotspots.pipeline import Settings, area_change, assemble_analysis, cell_change, hotspot_stage


def test_geojson_and_csv_bytes():
    gdf = gpd.GeoDataFrame(
        {"area_id": [1], "referrals": ["<5"]}, geometry=[shapely.box(430_000, 330_000, 430_500, 330_500)], crs=27700
    )
    gj = json.loads(geojson_bytes(gdf))
    (f,) = gj["features"]
    assert f["properties"] == {"area_id": 1, "referrals": "<5"}
    lon, lat = np.array(f["geometry"]["coordinates"][0]).T
    assert -2 < lon.min() < -1 and 52 < lat.min() < 53  # WGS84
    text = csv_bytes(gdf).decode("utf-8")
    assert text.startswith("\ufeffarea_id,referrals") and "<5" in text and "POLYGON" not in text
    # the machine-readable names and numbers, not the screen's labels and rounding
    table = pd.DataFrame({"area_m2": [28194899.9584, np.nan], "n_points": [12345, 2], "referrals": [7, "<5"]})
    assert csv_bytes(table).decode("utf-8") == "\ufeffarea_m2,n_points,referrals\n28194899.9584,12345,7\n,2,<5\n"
    with pytest.raises(ParameterError):
        geojson_bytes(pd.DataFrame({"a": [1]}))
    # hotspot_areas.geojson mixed 295 and '<5' in `referrals`: now numbers (null where hidden) and the text beside them
    mixed = gpd.GeoDataFrame({"referrals": [295, "<5"], "completed_pct": ["c", 77]},
                             geometry=[shapely.box(430_000, 330_000, 430_500, 330_500)] * 2, crs=27700)
    props = [f["properties"] for f in json.loads(geojson_bytes(mixed))["features"]]
    assert props == [{"referrals": 295, "referrals_shown": "295", "completed_pct": None, "completed_pct_shown": "c"},
                     {"referrals": None, "referrals_shown": "<5", "completed_pct": 77, "completed_pct_shown": "77"}]
    # a location that is a formula is downloaded as text (hotspots.csv_safety), numbers as numbers
    evil = pd.DataFrame({"place": ['=HYPERLINK("http://evil.example","x"), Ipswich'], "change": [-3], "referrals": ["<5"]})
    assert csv_bytes(evil).decode("utf-8").splitlines()[1] == '"\'=HYPERLINK(""http://evil.example"",""x""), Ipswich",-3,<5'


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
    an = assemble_analysis(
        stage,
        change_cells=cells,
        change_areas=changes,
        linkage=link,
        referrals=demo.referrals,
        tasks=demo.tasks,
        study_area=demo.study_area,
    )
    png = briefing_png(an, layer="gistar", dpi=60)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (660, 450)  # 11 x 7.5 inches at 60 dpi
    gpkg = tmp_path / "x.gpkg"
    gpkg.write_bytes(gis_export_bytes(an, fmt="gpkg", snap_m=500))
    expected = gis_layers(an, snap_m=500)
    assert sorted(name for name, _ in pyogrio.list_layers(gpkg)) == sorted([*expected, *gpkg_tables(an)])
    z = zipfile.ZipFile(io.BytesIO(gis_export_bytes(an, fmt="geojson")))
    assert "parameters.json" in z.namelist() and "hotspot_areas.geojson" in z.namelist()
    assert json.loads(z.read("parameters.json"))["inputs"] == {}  # nothing loaded from files: nothing claimed
    # the app's uploaded files are recorded as the command line records its own (their load reports)
    from hotspots.app_support import bundle_inputs
    from hotspots.app_support.uploads import LoadOutcome
    from hotspots.io import Upload, load_police_uk

    _, rep = load_police_uk(Upload("2023-01-derby-street.csv", police_csv(demo.incidents.iloc[:50])))
    used = bundle_inputs([LoadOutcome("incidents", ("2023-01-derby-street.csv",), rep), LoadOutcome("boundary", ("b.gpkg",))])
    assert list(used) == ["incidents"]
    z = zipfile.ZipFile(io.BytesIO(gis_export_bytes(an, fmt="geojson", inputs=used)))
    rec = json.loads(z.read("parameters.json"))["inputs"]["incidents"]
    assert rec["report"]["rows_read"] == rep.rows_read == 50 and rec["summary"] == rep.summary()
    assert "load_warnings" not in json.loads(z.read("parameters.json"))  # nothing dropped: nothing to warn of
    # most of a file dropped: the Data tab's warning is kept in the sidecar, as the command line keeps its own
    from hotspots.report import LoadReport

    lost = {"incidents": LoadReport("x.csv", 100, 30, {"no location": 70})}
    z = zipfile.ZipFile(io.BytesIO(gis_export_bytes(an, fmt="geojson", inputs=lost)))
    said = json.loads(z.read("parameters.json"))["load_warnings"]
    assert len(said) == 1 and said[0].startswith("70 % of the incident rows were dropped (no location: 70)")
    areas = json.loads(z.read("hotspot_areas.geojson"))
    assert len(areas["features"]) == stage.areas.n_areas
    with pytest.raises(ParameterError):
        gis_export_bytes(an, fmt="shp")
    pdf = briefing_file(an, fmt="pdf", layer="gistar", dpi=60)  # the app's PDF choice: the library's own PDF
    assert pdf.startswith(b"%PDF")
    with pytest.raises(ParameterError, match="'png', 'pdf'"):
        briefing_file(an, fmt="svg")


def test_change_downloads_write_a_rate_ratio_that_is_not_finite_as_empty(demo):
    """As every export (hotspots.change.finite_for_files): a cell with no incident before has no
    rate ratio and no interval in the file (its GeoJSON had said ``Infinity``, which is not JSON)."""
    s = Settings(cell_size=1000.0)
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    cells, _ = cell_change(demo.incidents, stage.grid, s)
    areas, _ = area_change(demo.incidents, stage, s, cells)
    t = cells.table
    inf = np.isinf(t["rate_ratio"].to_numpy())
    assert inf.any()
    files = {d.key: d.make() for d in change_downloads(lambda: areas.table, cells)}
    doc = json.loads(files["dl_change_cells"].decode("utf-8"))  # strict JSON: no Infinity
    props = pd.DataFrame([f["properties"] for f in doc["features"]])
    assert props.loc[inf, ["rate_ratio", "rate_ratio_low", "rate_ratio_high"]].isna().all().all()
    assert props.loc[inf, "change_class"].tolist() == t.loc[inf, "change_class"].tolist()
    np.testing.assert_allclose(props.loc[~inf, "rate_ratio"].astype(float), t.loc[~inf, "rate_ratio"], equal_nan=True)
    text = files["dl_change_areas"].decode("utf-8")
    assert "inf" not in text.lower()


def test_change_per_hotspot_csv_holds_the_table_shown(demo):
    """The Before/after tab's download is its table (place, ring change and verdict, pattern over the
    months), with the machine-readable names and numbers, not the bare change table."""
    from hotspots.app_support import change_rows
    from hotspots.emerging_summary import area_patterns
    from hotspots.maps.scheme_layers import hotspot_area_table
    from hotspots.pipeline import emerging_stage, ring_change
    from hotspots.places import name_hotspot_areas

    s = Settings(cell_size=1000.0)
    stage = hotspot_stage(demo.incidents, s, demo.study_area)
    cells, _ = cell_change(demo.incidents, stage.grid, s)
    areas, _ = area_change(demo.incidents, stage, s, cells)
    moved, _ = ring_change(demo.incidents, stage, s, cells, areas)
    trends, _ = emerging_stage(demo.incidents, stage, s)
    patterns = area_patterns(trends, stage.areas.labels, stage.areas.n_areas)
    places = name_hotspot_areas(stage.areas.areas, stage.incidents, demo.study_area)
    shown = change_rows(hotspot_area_table(stage.areas, change=areas, places=places, displacement=moved, patterns=patterns))
    assert {"place", "ring_change_pct", "ring_change_class", "emerging"} <= set(shown.columns)
    (csv,) = [d.make() for d in change_downloads(lambda: shown, cells) if d.key == "dl_change_areas"]
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert list(back.columns) == list(shown.columns)
    assert back["place"].tolist() == shown["place"].tolist()
    np.testing.assert_allclose(back["change_pct"], shown["change_pct"].astype(float), equal_nan=True)


def test_export_downloads_offer_the_briefings_as_pdf_and_withhold_the_before_after_one():
    pdf = export_downloads(lambda: None, layer="gistar", basemap="none", snap_m=250, fmt="pdf")
    briefs = [(d.label, d.file_name, d.mime) for d in pdf if d.key.startswith("dl_brief")]
    assert briefs == [("Briefing map (PDF)", "briefing_gistar.pdf", "application/pdf"),
                      ("Before / after (PDF)", "briefing_before_after.pdf", "application/pdf")]
    png = export_downloads(lambda: None, layer="density", basemap="none", snap_m=250, before_after=False)
    assert [d.file_name for d in png] == ["briefing_density.png", "hotspots.gpkg", "hotspots_geojson.zip"]
    with pytest.raises(ParameterError):
        export_downloads(lambda: None, layer="density", basemap="none", snap_m=250, fmt="svg")


def test_the_density_surface_is_offered_as_a_geotiff_on_the_maps_lattice(demo):
    """The app's only density download was 500 m polygons (GeoJSON) while its maps draw a finer
    lattice: the GeoTIFF download is the library's density.tif (hotspots.export.raster)."""
    rasterio = pytest.importorskip("rasterio")
    from hotspots.app_support import area_downloads

    stage = hotspot_stage(demo.incidents, Settings(cell_size=1000.0, period=("2023-01", "2023-12")), demo.study_area)
    offered = {d.label: d for d in area_downloads(lambda: stage.areas.areas, stage)}
    assert "Density grid (GeoJSON)" in offered
    tif = offered["Density surface (GeoTIFF)"]
    assert tif.file_name == "density.tif" and tif.mime == "image/tiff"
    with rasterio.MemoryFile(tif.make()) as mem, mem.open() as ds:
        assert ds.res == (250.0, 250.0) and ds.crs.to_epsg() == 27700
        assert np.nansum(ds.read(1)) * 0.25**2 == pytest.approx(float(np.nansum(stage.counts.values)), rel=0.05)
