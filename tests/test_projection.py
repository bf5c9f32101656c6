"""Tests for hotspots.projection: British National Grid, or Irish Transverse Mercator in Northern Ireland."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

from hotspots._errors import CRSError, ParameterError
from hotspots.projection import BNG, ITM, choose_crs, in_ireland

# lon, lat of places on either side of the North Channel and around the edges of Great Britain.
IRELAND = [(-5.93, 54.60), (-7.31, 55.00), (-6.26, 55.29), (-7.64, 54.35), (-5.55, 54.65), (-6.26, 53.35)]
BRITAIN = [
    (-5.80, 55.30),
    (-6.20, 55.70),
    (-5.05, 54.90),
    (-6.30, 49.93),
    (-5.71, 50.07),
    (-5.30, 51.88),
    (-4.48, 54.15),
    (-1.13, 52.64),
]


def test_in_ireland_keeps_great_britain_out():
    assert in_ireland(*np.array(IRELAND).T).all()
    assert not in_ireland(*np.array(BRITAIN).T).any()


def _pts(lonlat, crs=27700):
    g = gpd.GeoSeries(gpd.points_from_xy(*np.array(lonlat, dtype=float).T), crs=4326)
    return gpd.GeoDataFrame(geometry=g.to_crs(crs))


def test_northern_ireland_gets_itm_and_is_announced():
    ch = choose_crs(_pts(IRELAND * 10 + BRITAIN[:2]))
    assert ch.crs.equals(ITM) and ch.epsg == 2157 and ch.region == "island of Ireland"
    assert ch.share == pytest.approx(60 / 62)
    assert "Irish Transverse Mercator (EPSG:2157)" in ch.note and "not defined" in ch.note
    assert ch.record()["crs"] == "EPSG:2157"
    # Points loaded in BNG convert to ITM within a millimetre of a direct conversion from degrees.
    bng = _pts(IRELAND)
    via = bng.to_crs(ch.crs)
    direct = _pts(IRELAND, 2157)
    assert np.abs(np.array(via.geometry.x) - np.array(direct.geometry.x)).max() < 1e-3


def test_great_britain_stays_bng_silently():
    ch = choose_crs(_pts(BRITAIN))
    assert ch.crs.equals(BNG) and ch.note == "" and ch.region == "Great Britain" and ch.share == 1.0
    assert choose_crs(_pts(BRITAIN).iloc[:0]).crs.equals(BNG)


def test_given_crs():
    assert choose_crs(_pts(IRELAND), crs=27700).crs.equals(BNG)
    ch = choose_crs(None, crs=29902)
    assert ch.epsg == 29902 and "as given" in ch.note
    with pytest.raises(CRSError, match="degrees"):
        choose_crs(_pts(IRELAND), crs=4326)
    with pytest.raises(CRSError, match="understands"):
        choose_crs(_pts(IRELAND), crs="not a crs")


def test_bad_points():
    with pytest.raises(ParameterError, match="GeoDataFrame"):
        choose_crs([[1, 2]])
    with pytest.raises(CRSError, match="no CRS"):
        choose_crs(gpd.GeoDataFrame(geometry=gpd.points_from_xy([1], [2])))


@pytest.mark.realdata
def test_psni_files(police_uk_dir):
    from hotspots.io import load_police_uk

    files = sorted((police_uk_dir / "national_2025_gz").glob("2025-0[1-2]/*-northern-ireland-street.csv.gz"))
    if not files:
        pytest.skip("PSNI files absent")
    inc = load_police_uk(files, categories="asb").data
    assert choose_crs(inc).epsg == 2157
