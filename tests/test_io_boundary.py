"""Tests for hotspots.io.boundary: study-area polygons in many formats."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from hotspots import CRSError, InputError, ParameterError, SchemaError
from hotspots.io import Upload, load_any, load_boundary

RING = [[-1.6, 52.8], [-1.3, 52.8], [-1.3, 53.0], [-1.6, 53.0], [-1.6, 52.8]]
HOLE = [[-1.5, 52.85], [-1.4, 52.85], [-1.4, 52.95], [-1.5, 52.95], [-1.5, 52.85]]


@pytest.fixture
def derbyshire_boundary(police_uk_dir: Path) -> Path:
    p = police_uk_dir / "boundaries" / "derbyshire_county_2012_bgc.geojson"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


@pytest.mark.realdata
def test_real_derbyshire_boundary_keeps_its_hole(derbyshire_boundary: Path) -> None:
    g = load_boundary(derbyshire_boundary)
    assert g.crs.to_epsg() == 27700 and len(g) == 1
    poly = g.geometry.iloc[0]
    assert poly.geom_type == "Polygon" and len(poly.interiors) == 1  # Derby City is a hole
    ref = gpd.read_file(derbyshire_boundary).to_crs(27700)  # the peer: geopandas alone
    assert poly.area == pytest.approx(ref.geometry.iloc[0].area, rel=1e-9)
    assert 2.4e9 < poly.area < 2.7e9  # Derbyshire county is ~2,550 km2 without Derby
    filled = load_boundary(derbyshire_boundary, fill_holes=True).geometry.iloc[0]
    hole = shapely.Polygon(poly.interiors[0])
    assert len(filled.interiors) == 0
    assert filled.area == pytest.approx(poly.area + hole.area, rel=1e-9)
    assert 6.0e7 < hole.area < 9.0e7  # Derby City is ~78 km2
    assert load_boundary(derbyshire_boundary, fill_holes=True).attrs["notes"]


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "Polygon", "coordinates": [RING, HOLE]},
        {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "Polygon", "coordinates": [RING, HOLE]}},
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [RING, HOLE]}}],
        },
    ],
)
def test_geojson_shapes(tmp_path: Path, doc: dict) -> None:
    p = tmp_path / "area.geojson"
    p.write_text(json.dumps(doc))
    g = load_boundary(p)
    ref = gpd.GeoSeries([shapely.Polygon(RING, [HOLE])], crs=4326).to_crs(27700).iloc[0]
    assert g.geometry.iloc[0].equals_exact(ref, tolerance=1e-6)
    assert len(g.geometry.iloc[0].interiors) == 1


def test_gpkg_shapefile_zip_and_upload(tmp_path: Path) -> None:
    poly = shapely.box(430000, 330000, 440000, 340000)
    gdf = gpd.GeoDataFrame({"name": ["box"]}, geometry=[poly], crs=27700)
    gdf.to_file(tmp_path / "a.gpkg")
    gdf.to_file(tmp_path / "a.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"a.{ext}").exists():
                zf.write(tmp_path / f"a.{ext}", f"nested/a.{ext}")
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    for src in (
        tmp_path / "a.gpkg",
        tmp_path / "a.shp",
        tmp_path / "a.zip",
        Upload("a.zip", buf.getvalue()),
        Upload("a.gpkg", (tmp_path / "a.gpkg").read_bytes()),
    ):
        g = load_boundary(src)
        assert g.geometry.iloc[0].equals(poly), src
        assert g["name"].tolist() == ["box"]
    assert load_any(tmp_path / "a.gpkg", kind="boundary").geometry.iloc[0].equals(poly)


def test_no_crs_is_detected_and_invalid_polygons_repaired(tmp_path: Path) -> None:
    bowtie = shapely.Polygon([(430000, 330000), (440000, 340000), (440000, 330000), (430000, 340000)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(geometry=[bowtie])  # no CRS
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(tmp_path / "b.gpkg")
    g = load_boundary(tmp_path / "b.gpkg")
    assert g.crs.to_epsg() == 27700
    assert g.geometry.is_valid.all() and g.geometry.iloc[0].area == pytest.approx(50_000_000)
    notes = " ".join(g.attrs["notes"])
    assert "no CRS" in notes and "make_valid" in notes


def test_errors(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(435000, 336000)], crs=27700)
    pts.to_file(tmp_path / "p.gpkg")
    with pytest.raises(SchemaError, match="polygons"):
        load_boundary(tmp_path / "p.gpkg")
    (tmp_path / "e.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(InputError, match="no geometries|no geometry"):
        load_boundary(tmp_path / "e.geojson")
    with pytest.raises(InputError, match="file not found"):
        load_boundary(tmp_path / "missing.geojson")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    # the fix lists the boundary formats, not CSV (it said "Save it as CSV (UTF-8), ..." of a CSV boundary)
    with pytest.raises(InputError, match="unsupported file type") as err:
        load_boundary(tmp_path / "x.csv")
    assert str(err.value).endswith("Save it as GeoJSON, GeoPackage, a Shapefile (or a zip of one) or Parquet.")
    far = gpd.GeoDataFrame(geometry=[shapely.box(100, 10, 101, 11)], crs=4326)
    far.to_file(tmp_path / "far.gpkg")
    with pytest.raises(CRSError, match="outside the British Isles"):
        load_boundary(tmp_path / "far.gpkg")
    with pytest.raises(ParameterError, match="fill_holes"):
        load_boundary(tmp_path / "p.gpkg", fill_holes="yes")
    with pytest.raises(InputError, match=r"\.shx"):
        load_boundary(Upload("a.shp", b"\x00\x00\x27\x0a"))
    with pytest.raises(InputError, match="no boundary file"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("readme.txt", "hi")
        load_boundary(Upload("x.zip", buf.getvalue()))
