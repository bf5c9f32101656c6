"""Tests for hotspots.io.coords: CRS detection from values, plausibility, conversion to BNG."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots import CRSError
from hotspots.io import DetectedCRS, detect_crs, to_bng
from hotspots.io.coords import BRITISH_ISLES_BNG, plausible

# Derby, Chesterfield, Buxton (lon, lat) and their BNG coordinates from pyproj (the peer).
LONLAT = np.array([[-1.4746, 52.9225], [-1.4216, 53.2350], [-1.9110, 53.2587]])
_T = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
BNG = np.column_stack(_T.transform(LONLAT[:, 0], LONLAT[:, 1]))


def test_detects_wgs84() -> None:
    d = detect_crs(LONLAT[:, 0], LONLAT[:, 1])
    assert isinstance(d, DetectedCRS)
    assert (d.epsg, d.swapped, d.share) == (4326, False, 1.0)
    assert "WGS84" in d.reason


def test_detects_bng() -> None:
    d = detect_crs(BNG[:, 0], BNG[:, 1])
    assert (d.epsg, d.swapped) == (27700, False)
    assert "British National Grid" in d.reason


def test_detects_swapped_lonlat() -> None:
    d = detect_crs(LONLAT[:, 1], LONLAT[:, 0])
    assert d.epsg == 4326 and d.swapped
    assert "latitudes" in d.reason


def test_detects_web_mercator() -> None:
    merc = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(LONLAT[:, 0], LONLAT[:, 1])
    d = detect_crs(*merc)
    assert d.epsg == 3857 and not d.swapped


def test_majority_wins_and_share_is_reported() -> None:
    x = np.r_[LONLAT[:, 0], 120.0]  # one stray point outside the UK
    y = np.r_[LONLAT[:, 1], 10.0]
    d = detect_crs(x, y)
    assert d.epsg == 4326 and d.share == pytest.approx(0.75)


def test_nan_inf_and_null_island_are_ignored() -> None:
    x = np.r_[LONLAT[:, 0], np.nan, np.inf, 0.0]
    y = np.r_[LONLAT[:, 1], 1.0, 2.0, 0.0]
    d = detect_crs(x, y)
    assert d.epsg == 4326 and d.share == 1.0


@pytest.mark.parametrize(
    "x, y",
    [
        ([], []),
        ([np.nan], [np.nan]),
        ([0.0], [0.0]),
        ([5e7, 6e7], [5e7, 6e7]),  # nothing fits
        ([100.0, 110.0], [10.0, 20.0]),  # lon/lat outside the British Isles
    ],
)
def test_undetectable_raises_crs_error_naming_the_fix(x, y) -> None:
    with pytest.raises(CRSError, match="crs="):
        detect_crs(x, y)


def test_mismatched_lengths() -> None:
    with pytest.raises(CRSError, match="different lengths"):
        detect_crs([1.0, 2.0], [1.0])


def test_plausible_ranges() -> None:
    x = np.array([-180.0, 180.1, 0.0, np.inf, np.nan])
    y = np.array([90.0, 0.0, -90.1, 0.0, 0.0])
    assert plausible(x, y, 4326).tolist() == [True, False, False, False, False]
    bx = np.array([0.0, 700_000.0, -1.0, 100.0])
    by = np.array([0.0, 1_300_000.0, 5.0, 1_300_001.0])
    assert plausible(bx, by, 27700).tolist() == [True, True, False, False]


def test_to_bng_matches_pyproj_and_flags_failures() -> None:
    x = np.r_[LONLAT[:, 0], np.inf, 100.0, np.nan]
    y = np.r_[LONLAT[:, 1], 52.0, 0.0, 52.0]
    X, Y, ok = to_bng(x, y, 4326)
    assert ok.tolist() == [True, True, True, False, False, False]
    np.testing.assert_allclose(np.column_stack([X[:3], Y[:3]]), BNG, atol=1e-6)
    assert np.isnan(X[3:]).all() and np.isnan(Y[3:]).all()


def test_to_bng_identity_and_window() -> None:
    X, Y, ok = to_bng([435_000.0, 2_000_000.0], [336_000.0, 336_000.0], 27700)
    assert ok.tolist() == [True, False]
    assert X[0] == 435_000.0 and Y[0] == 336_000.0


def test_to_bng_bad_crs() -> None:
    with pytest.raises(CRSError, match="crs"):
        to_bng([1.0], [2.0], "not a crs")


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(-10.5, 1.7, allow_nan=False),
    lat=st.floats(50.0, 60.8, allow_nan=False),
)
def test_round_trip_detection_property(lon: float, lat: float) -> None:
    """Any point of the British Isles is detected as WGS84 as given, swapped when swapped,
    and BNG once converted; its conversion lies in the British Isles window."""
    assert detect_crs([lon], [lat]).epsg == 4326
    assert detect_crs([lat], [lon]).swapped
    X, Y, ok = to_bng([lon], [lat], 4326)
    assert ok[0]
    xmin, xmax, ymin, ymax = BRITISH_ISLES_BNG
    assert xmin <= X[0] <= xmax and ymin <= Y[0] <= ymax
    if 0 <= X[0] <= 700_000 and 0 <= Y[0] <= 1_300_000 and max(abs(X[0]), abs(Y[0])) > 180:
        assert detect_crs(X, Y).epsg == 27700


def test_bng_note_counts_the_points_that_fit_and_warns_of_another_grid() -> None:
    """Irish Transverse Mercator metres (Northern Ireland) half in BNG's easting range: the note says how
    many of all the points fit (not 100%), and the warning names the grid option."""
    from hotspots.io.coords import other_grid_warning

    x = np.array([650_000.0, 690_000.0, 730_000.0, 760_000.0])  # the last two over 700 km
    y = np.array([870_000.0, 880_000.0, 875_000.0, 860_000.0])
    d = detect_crs(x, y)
    assert (d.epsg, d.outside) == (27700, 2)
    assert "2 of 4 points (50.0%) fall in easting" in d.reason
    warning = other_grid_warning(d, 4)
    assert warning.startswith("2 of 4 points lie outside the British National Grid range")
    assert "`crs='EPSG:2157'`" in warning
    assert other_grid_warning(detect_crs(BNG[:, 0], BNG[:, 1]), 3) is None


def test_bng_northings_in_x_beyond_the_grid_are_reported_swapped() -> None:
    # Inverness (E 266 km, N 845 km) given northing first: only the swapped reading fits the grid
    det = detect_crs([845_000, 846_000, 844_000], [266_000, 267_000, 265_000])
    assert (det.epsg, det.swapped) == (27700, True)
    assert "northings" in det.reason and "3 of 3 points" in det.reason


def test_bng_fitting_both_ways_is_read_as_given() -> None:
    # Cumbria's points swapped still lie in the grid's range: the values alone cannot tell (extent.swapped_for_force can)
    det = detect_crs([553_125, 552_969], [311_061, 310_985])
    assert (det.epsg, det.swapped) == (27700, False)
