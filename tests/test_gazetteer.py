"""Tests for hotspots.gazetteer: the town gazetteer, the default study area, nearest_town."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from hotspots import gazetteer
from hotspots._errors import CRSError, InputError, ParameterError
from hotspots.gazetteer import default_study_area, geo_dir, nearest_town, towns

REPO = Path(__file__).resolve().parents[1]

REQUIRED_TOWNS = (
    "Derby", "Chesterfield", "Ilkeston", "Long Eaton", "Swadlincote", "Buxton", "Glossop", "Matlock",
    "Ripley", "Heanor", "Alfreton", "Belper", "Dronfield", "Staveley", "Bolsover", "Shirebrook",
    "Ashbourne", "Clay Cross", "Eckington", "Killamarsh", "Sandiacre", "Bakewell", "New Mills",
    "Whaley Bridge", "South Normanton", "Clowne", "Wirksworth", "Melbourne", "Chapel-en-le-Frith",
    "Borrowash",
)
# The nine local authorities of the Derbyshire force area.
DISTRICTS = {
    "Amber Valley", "Bolsover", "Chesterfield", "Derby", "Derbyshire Dales", "Erewash", "High Peak",
    "North East Derbyshire", "South Derbyshire",
}


def _town(name: str):
    t = towns()
    return t.loc[t["name"] == name, "geometry"].iloc[0]


# ---- check outputs -----------------------------------------------------------------------


def test_towns_columns_crs_and_required_names():
    t = towns()
    assert isinstance(t, gpd.GeoDataFrame)
    assert t.crs.to_epsg() == 27700
    assert list(t.columns) == ["name", "population", "district", "geometry"]
    assert set(REQUIRED_TOWNS) <= set(t["name"])
    assert t["name"].is_unique
    assert (t.geom_type == "Point").all()
    assert (t["population"] > 1000).all() and (t["population"] < 400_000).all()
    assert set(t["district"]) <= DISTRICTS


def test_towns_returns_a_fresh_copy():
    t = towns()
    t.loc[0, "name"] = "Changed"
    t["population"] = 0
    again = towns()
    assert "Changed" not in set(again["name"])
    assert (again["population"] > 0).all()


def test_town_positions_match_known_geography():
    # Straight-line distances and bearings from general knowledge of the county.
    derby, chesterfield = _town("Derby"), _town("Chesterfield")
    assert 32_000 < derby.distance(chesterfield) < 38_000  # about 35 km
    assert chesterfield.y > derby.y  # Chesterfield is north of Derby
    buxton, matlock, glossop = _town("Buxton"), _town("Matlock"), _town("Glossop")
    assert buxton.x < matlock.x  # the High Peak is west of the Dales' county town
    assert glossop.y > buxton.y + 15_000  # Glossop is about 20 km north of Buxton
    assert _town("Swadlincote").y == min(towns().geometry.y)  # the southernmost town
    assert _town("Long Eaton").distance(_town("Sandiacre")) < 4_000
    # Derby (city) is the most populous by far.
    t = towns()
    assert t.loc[t["population"].idxmax(), "name"] == "Derby"


def test_study_area_is_one_valid_polygon_without_holes():
    a = default_study_area()
    assert a.crs.to_epsg() == 27700
    assert len(a) == 1
    geom = a.geometry.iloc[0]
    assert geom.geom_type == "Polygon" and geom.is_valid
    assert len(geom.interiors) == 0
    # Derbyshire (about 2,550 km²) plus Derby city (about 78 km²).
    assert 2_400e6 < geom.area < 3_000e6
    n_vertices = len(geom.exterior.coords) - 1
    assert 40 <= n_vertices <= 80
    # Bounding box inside British National Grid's Derbyshire window (km 390-465 E, 305-410 N).
    xmin, ymin, xmax, ymax = geom.bounds
    assert 390_000 < xmin and xmax < 465_000 and 305_000 < ymin and ymax < 410_000


def test_every_town_is_inside_the_study_area():
    area = default_study_area().geometry.iloc[0]
    t = towns()
    inside = shapely.contains_xy(area, t.geometry.x.to_numpy(), t.geometry.y.to_numpy())
    assert inside.all(), list(t.loc[~inside, "name"])


def test_study_area_returns_a_fresh_copy():
    a = default_study_area()
    a["geometry"] = a.buffer(-10_000)
    assert default_study_area().area.iloc[0] > a.area.iloc[0]


# ---- nearest_town --------------------------------------------------------------------------


def test_nearest_town_at_and_near_town_centres():
    t = towns()
    xy = np.column_stack([t.geometry.x, t.geometry.y])
    assert nearest_town(xy).tolist() == t["name"].tolist()
    assert nearest_town(t).tolist() == t["name"].tolist()
    assert nearest_town(t.geometry).tolist() == t["name"].tolist()
    d = _town("Derby")
    assert nearest_town([[d.x + 1500.0, d.y - 1000.0]]).tolist() == ["Derby"]


def test_nearest_town_empty_input():
    out = nearest_town(np.empty((0, 2)))
    assert out.shape == (0,)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(390_000, 465_000), st.floats(305_000, 410_000)), min_size=1, max_size=30))
def test_nearest_town_matches_brute_force(pts):
    xy = np.array(pts, dtype=float)
    t = towns()
    txy = np.column_stack([t.geometry.x, t.geometry.y])
    d = np.hypot(xy[:, None, 0] - txy[None, :, 0], xy[:, None, 1] - txy[None, :, 1])
    got = nearest_town(xy)
    names = t["name"].to_numpy(dtype=object)
    # Equal to the brute-force nearest, or tied with it to within a millimetre.
    for k in range(len(xy)):
        j = int(np.flatnonzero(names == got[k])[0])
        assert d[k, j] <= d[k].min() + 1e-3


# ---- check inputs --------------------------------------------------------------------------


def test_nearest_town_rejects_wrong_crs_and_shapes():
    t = towns().to_crs(4326)
    with pytest.raises(CRSError, match="to_crs"):
        nearest_town(t)
    with pytest.raises(ParameterError, match="set_crs"):
        nearest_town(gpd.GeoSeries(shapely.points([[435000.0, 336000.0]])))
    with pytest.raises(ParameterError, match="shape"):
        nearest_town(np.zeros((3, 3)))
    with pytest.raises(ParameterError, match="NaN"):
        nearest_town([[np.nan, 336000.0]])


# ---- locating the geography folder ---------------------------------------------------------


def test_geo_dir_in_a_checkout_holds_both_files():
    d = geo_dir()
    assert (d / gazetteer.TOWNS_FILE).is_file()
    assert (d / gazetteer.STUDY_AREA_FILE).is_file()


def test_geo_dir_prefers_the_wheel_layout(tmp_path, monkeypatch):
    pkg = tmp_path / "site-packages" / "hotspots"
    (pkg / "_geo").mkdir(parents=True)
    (pkg / "_geo" / gazetteer.TOWNS_FILE).write_text("name\n")
    monkeypatch.setattr(gazetteer, "__file__", str(pkg / "gazetteer.py"))
    assert geo_dir() == (pkg / "_geo").resolve()


def test_geo_dir_missing_is_a_clear_error(tmp_path, monkeypatch):
    pkg = tmp_path / "nowhere" / "hotspots"
    pkg.mkdir(parents=True)
    monkeypatch.setattr(gazetteer, "__file__", str(pkg / "gazetteer.py"))
    with pytest.raises(InputError, match="pip install"):
        geo_dir()


def test_pyproject_ships_geo_as_hotspots_geo():
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    force = cfg["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force.get("geo") == "hotspots/_geo"


# ---- against the real county boundary (test-only use; skipped when absent) ---------------


@pytest.mark.realdata
def test_outline_overlaps_the_real_force_area(police_uk_dir):
    path = police_uk_dir / "boundaries" / "derbyshire_county_2012_bgc.geojson"
    if not path.is_file():
        pytest.skip(f"real boundary not found at {path}")
    real = gpd.read_file(path).to_crs(27700)
    # The county polygon has a hole for Derby city; the force area is the outer ring filled.
    filled = shapely.union_all([Polygon(g.exterior) for g in real.geometry.explode(index_parts=False)])
    mine = default_study_area().geometry.iloc[0]
    iou = mine.intersection(filled).area / mine.union(filled).area
    assert iou > 0.85, f"IoU {iou:.3f}"
    t = towns()
    x, y = t.geometry.x.to_numpy(), t.geometry.y.to_numpy()
    inside_real = shapely.contains_xy(filled, x, y)
    assert inside_real.all(), list(t.loc[~inside_real, "name"])


# ------------------------------------------------------------------------------ GeoNames
class TestPlaces:
    def test_uk_places_with_population(self):
        p = gazetteer.places()
        assert 5_800 <= len(p) <= 6_100  # 5,913 GB places of >= 500 people, less two overseas
        assert set(p["country"]) == {"England", "Scotland", "Wales", "Northern Ireland"}
        # GeoNames lists some places (e.g. seats of local government) without a population (0) or
        # with fewer people; most have at least 500.
        assert (p["population"] >= 0).all() and (p["population"] >= gazetteer.MIN_PLACE_POPULATION).mean() > 0.85
        assert p.crs.equals(gpd.GeoSeries([], crs=27700).crs)
        leic = p[p["name"] == "Leicester"].iloc[0]
        assert abs(leic.geometry.x - 458_900) < 2_000 and abs(leic.geometry.y - 304_400) < 2_000
        assert "Belfast" in set(p.loc[p["country"] == "Northern Ireland", "name"])
        # GeoNames' administrative "Londonderry County Borough", 100 m from its city "Derry", is left
        # out: it named Northern Ireland's Strand Road hotspot after a council, not the town
        assert "Derry" in set(p["name"]) and not p["name"].str.endswith(" County Borough").any()
        assert "GeoNames" in gazetteer.GEONAMES_ATTRIBUTION and "CC BY 4.0" in gazetteer.GEONAMES_ATTRIBUTION
        # A fresh copy each time; another CRS on request.
        p["name"] = "x"
        assert (gazetteer.places()["name"] != "x").all()
        assert gazetteer.places(4326).crs.to_epsg() == 4326

    def test_places_in_area_largest_first(self):
        leicester = gpd.GeoSeries(gpd.points_from_xy([-1.1317], [52.6386]), crs=4326).to_crs(27700).iloc[0]
        area = leicester.buffer(12_000)
        got = gazetteer.places_in(area)
        assert got["name"].iloc[0] == "Leicester"
        assert list(got["population"]) == sorted(got["population"], reverse=True)
        assert not set(got["name"]) & set(towns()["name"]) - {"Melbourne"}
        inside = shapely.contains_xy(area, got.geometry.x.to_numpy(), got.geometry.y.to_numpy())
        assert inside.all()
        big = gazetteer.places_in(gpd.GeoDataFrame(geometry=[area], crs=27700).to_crs(3857), min_population=20_000)
        assert big.crs.to_epsg() == 3857 and (big["population"] >= 20_000).all() and "Leicester" in set(big["name"])
        assert len(gazetteer.places_in(area, margin_m=5_000)) >= len(got)
        with pytest.raises(ParameterError, match="area"):
            gazetteer.places_in("Leicester")

    def test_disk_cache_is_used_and_rebuilt_when_damaged(self, tmp_path, monkeypatch):
        monkeypatch.setenv("HOTSPOTS_CACHE_DIR", str(tmp_path))
        first = gazetteer._geonames_uk()
        files = list(tmp_path.glob("geonames-uk-*.csv"))
        assert len(files) == 1
        again = gazetteer._geonames_uk()
        assert again.equals(first)
        files[0].write_text("garbage\n")
        assert gazetteer._geonames_uk().equals(first)
