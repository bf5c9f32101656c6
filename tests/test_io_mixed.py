"""Tests for hotspots.io.mixed: rows located from whichever coordinate pair they have."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hotspots import PrivacyError
from hotspots.io import load_referrals, load_tasks
from hotspots.io.mixed import POSTCODE_ONLY, coordinate_pairs, postcode_only_rows
from hotspots.privacy import postcode_columns, postcode_like

# Liverpool city centre: the same place as lon/lat and as British National Grid (pyproj, to 1 m).
LON, LAT = -2.983333, 53.400002
E, N = 334_716.0, 389_692.0


def mixed(n_bng: int = 2, n_ll: int = 3, n_pc: int = 1) -> pd.DataFrame:
    n = n_bng + n_ll + n_pc
    blank = [""] * n
    east, north, lon, lat, text = list(blank), list(blank), list(blank), list(blank), list(blank)
    for i in range(n_bng):
        east[i], north[i] = str(E + 10 * i), str(N)
    for i in range(n_bng, n_bng + n_ll):
        lon[i], lat[i] = str(LON), str(LAT)
    for i in range(n_bng + n_ll, n):
        text[i] = "L1 8JQ"
    return pd.DataFrame({
        "referral_id": [f"R{i}" for i in range(n)], "referred_at": ["2025-03-01 10:00"] * n,
        "offence": ["shop theft"] * n, "route": ["community resolution"] * n,
        "longitude": lon, "latitude": lat, "easting": east, "northing": north, "location_text": text,
    })


def test_each_row_is_located_from_the_pair_it_has_and_postcodes_get_their_own_reason() -> None:
    data, report = load_referrals(mixed(), allow_identifying=["location_text"])
    assert report.rows_kept == 5
    assert report.dropped == {POSTCODE_ONLY: 1}
    assert "no location" not in report.dropped
    text = " ".join(report.notes)
    assert "2 from `easting`/`northing`, 3 from `longitude`/`latitude`" in text
    assert "column(s) not used" not in text  # both pairs were read
    # the lon/lat rows land within a few metres of the BNG point
    xs = data.geometry.x.to_numpy()
    assert np.all(np.abs(xs - E) < 50)


def test_two_pairs_that_disagree_by_more_than_100_m_are_counted_in_a_warning() -> None:
    df = mixed(n_bng=0, n_ll=3, n_pc=0)
    df.loc[0, ["easting", "northing"]] = [str(E), str(N)]  # agrees (~0 m)
    df.loc[1, ["easting", "northing"]] = [str(E + 500), str(N)]  # 500 m away
    data, report = load_referrals(df)
    assert report.rows_kept == 3
    warn = [w for w in report.warnings if "more than 100 m apart" in w]
    assert len(warn) == 1 and ": 1 row(s) give two coordinate pairs more than 100 m apart (up to 500 m)" in warn[0]
    # the first pair (eastings/northings) is used for the row that gives both
    assert abs(data.set_index("referral_id").geometry.x["R1"] - (E + 500)) < 1


def test_a_single_pair_file_is_read_as_before_and_blank_rows_are_no_location() -> None:
    df = mixed(n_bng=3, n_ll=0, n_pc=0).drop(columns=["longitude", "latitude", "location_text"])
    df.loc[2, ["easting", "northing"]] = ["", ""]
    _, report = load_referrals(df)
    assert report.rows_kept == 2 and report.dropped == {"no location": 1}


def test_explicit_coordinate_columns_read_only_that_pair() -> None:
    _, report = load_referrals(mixed(n_pc=0), x="easting", y="northing")
    assert report.rows_kept == 2 and report.dropped == {"no location": 3}


def test_task_sites_are_located_from_either_pair_too() -> None:
    df = pd.DataFrame({"task_id": ["T1", "T2", "T3"], "kind": ["litter pick"] * 3,
                       "easting": [str(E), "", ""], "northing": [str(N), "", ""],
                       "longitude": ["", str(LON), ""], "latitude": ["", str(LAT), ""], "site_postcode": ["", "", "L1 8JQ"]})
    _, report = load_tasks(df)
    assert report.rows_kept == 2 and report.dropped == {POSTCODE_ONLY: 1}


def test_helpers_find_pairs_and_postcodes() -> None:
    assert coordinate_pairs(["Easting", "Northing", "Longitude", "Latitude"], ("Easting", "Northing")) == [
        ("Easting", "Northing"), ("Longitude", "Latitude")]
    got = postcode_like(["L1 8JQ", "ch41 5ds", " WA10 1AB ", "Bold Street", "L1", None])
    assert got == [True, True, True, False, False, False]
    frame = pd.DataFrame({"home_postcode": ["L1 8JQ"], "where_seen": ["L1 8JQ"], "notes": ["L1 8JQ"]})
    assert postcode_only_rows(frame).tolist() == [True]  # where_seen; a home address never counts
    assert postcode_only_rows(frame[["home_postcode", "notes"]]).tolist() == [False]
    assert postcode_columns(pd.DataFrame({"a": ["L1 8JQ", "x", "CH41 5DS"], "b": ["x", "y", "L1 8JQ"]})) == ["a"]


def test_a_column_of_postcodes_is_identifying_whatever_its_name() -> None:
    with pytest.raises(PrivacyError, match="location_text.*UK postcodes"):
        load_referrals(mixed())
