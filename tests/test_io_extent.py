"""Tests for hotspots.io.extent: points outside the UK, Northern Ireland's grids, rounded coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyproj
import pytest

from hotspots import CRSError
from hotspots.io import load_any, load_incidents, load_police_uk
from hotspots.io.extent import OUTSIDE_UK, in_british_isles, northern_ireland_crs, precision_warning, says_northern_ireland
from hotspots.validation import argument_names

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
    "Last outcome category,Context"
)
SUFFOLK = "Suffolk Constabulary"
PSNI = "Police Service of Northern Ireland"


def _bng(lon: float, lat: float) -> tuple[float, float]:
    return pyproj.Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)


def _police(path: Path, coords: list[tuple[str, str]]) -> Path:
    rows = [
        f",2025-06,{SUFFOLK},{SUFFOLK},{x},{y},On or near High Street,E01029876,Babergh 001A,Anti-social behaviour,,"
        for x, y in coords
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# --- check inputs: where points may lie -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [
        (-1.47, 52.92, True),  # Derby
        (-7.31, 54.99, True),  # Derry
        (-1.145, 60.155, True),  # Lerwick, Shetland
        (-6.32, 49.91, True),  # Scilly
        (1.31, 51.12, True),  # Dover
        (2.35, 48.85, False),  # Paris
        (1.86, 50.95, False),  # Calais, 35 km from Dover
        (4.3, 52.08, False),  # The Hague
        (-2.1, 49.2, False),  # Jersey (not the UK)
        (-6.9, 62.0, False),  # Faroes
    ],
)
def test_in_british_isles_places(lon: float, lat: float, inside: bool) -> None:
    X, Y = _bng(lon, lat)
    assert in_british_isles([X], [Y]).tolist() == [inside]


def test_in_british_isles_nan_is_false() -> None:
    assert in_british_isles([np.nan, 435000.0], [336000.0, np.nan]).tolist() == [False, False]


def test_points_in_paris_are_dropped_with_their_own_reason_and_values(tmp_path: Path) -> None:
    coords = [("-1.47", "52.92")] * 9 + [("2.35", "48.85")]
    data, report = load_police_uk(_police(tmp_path / "a.csv", coords))
    assert len(data) == 9
    assert report.dropped == {OUTSIDE_UK: 1}
    assert report.examples[OUTSIDE_UK] == ["a.csv:line 11 (Longitude 2.35, Latitude 48.85: outside the British Isles)"]
    assert any("1 of 10 points lie outside the United Kingdom" in w for w in report.warnings)


def test_new_york_is_outside_the_uk_not_out_of_range(tmp_path: Path) -> None:
    coords = [("-1.47", "52.92")] * 9 + [("-74.0", "40.7")]
    _, report = load_police_uk(_police(tmp_path / "a.csv", coords))
    assert report.dropped == {OUTSIDE_UK: 1}


def test_most_points_outside_the_uk_is_a_wrong_coordinate_system(tmp_path: Path) -> None:
    """Suffolk's BNG eastings/northings read as Irish Transverse Mercator land in the Atlantic."""
    p = tmp_path / "a.csv"
    p.write_text("Easting,Northing\n599510,249244\n591432,248731\n590945,248212\n", encoding="utf-8")
    with pytest.raises(CRSError) as exc:
        load_incidents(p, crs="EPSG:2157")
    msg = str(exc.value)
    assert "3 of 3 points lie outside the United Kingdom" in msg and "coordinate system given is wrong" in msg
    assert "`crs='EPSG:27700'`" in msg and "Easting 599510, Northing 249244" in msg
    with argument_names({"crs": "--crs"}), pytest.raises(CRSError, match="`--crs EPSG:27700`"):
        load_incidents(p, crs="EPSG:2157")
    data, _ = load_incidents(p)  # told from the values: British National Grid, in Suffolk
    assert len(data) == 3


# --- Northern Ireland ---------------------------------------------------------------------------------------------


def _ni_table(path: Path, xy: list[tuple[float, float]], force: str = PSNI) -> Path:
    lines = ["Month,Falls within,Crime type,Easting,Northing"]
    lines += [f"2025-06,{force},Anti-social behaviour,{x:.0f},{y:.0f}" for x, y in xy]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _grid(epsg: int, lonlat: list[tuple[float, float]]) -> list[tuple[float, float]]:
    tr = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    return [tr.transform(lo, la) for lo, la in lonlat]


NI_PLACES = [(-7.31, 54.99), (-5.93, 54.60), (-6.65, 54.35), (-7.64, 54.34)]  # Derry, Belfast, Armagh, Enniskillen


def test_says_northern_ireland() -> None:
    import pandas as pd

    assert says_northern_ireland(pd.DataFrame({"Falls within": [PSNI, PSNI, SUFFOLK]}))
    assert says_northern_ireland(pd.DataFrame({"LSOA code": ["95AA01S1", "N00000001", None]}))
    assert not says_northern_ireland(pd.DataFrame({"Falls within": [SUFFOLK, PSNI]}))
    assert not says_northern_ireland(pd.DataFrame({"LSOA code": ["E01029876"]}))


def test_irish_grid_metres_in_psni_rows_are_read_as_irish_grid(tmp_path: Path) -> None:
    p = _ni_table(tmp_path / "ni.csv", _grid(29903, NI_PLACES))
    data, report = load_any(p)
    assert any("Irish Grid (EPSG:29903)" in w for w in report.warnings)
    derry = _bng(-7.31, 54.99)
    got = data.geometry.iloc[0]
    assert abs(got.x - derry[0]) < 100 and abs(got.y - derry[1]) < 100  # Derry, not Birkenhead


def test_itm_and_bng_metres_in_psni_rows(tmp_path: Path) -> None:
    data, report = load_any(_ni_table(tmp_path / "itm.csv", _grid(2157, NI_PLACES)))
    assert any("Irish Transverse Mercator (EPSG:2157)" in w for w in report.warnings)
    assert abs(data.geometry.iloc[1].x - _bng(-5.93, 54.60)[0]) < 100
    data, report = load_any(_ni_table(tmp_path / "bng.csv", _grid(27700, NI_PLACES)))
    assert not any("Irish" in w for w in report.warnings)  # British National Grid puts them in NI: no announcement
    assert abs(data.geometry.iloc[1].x - _bng(-5.93, 54.60)[0]) < 1


def test_psni_rows_whose_metres_fit_no_irish_grid_are_refused(tmp_path: Path) -> None:
    p = _ni_table(tmp_path / "ni.csv", _grid(27700, [(-1.47, 52.92), (-1.4, 52.9), (-1.5, 53.0)]))  # Derby in BNG
    with argument_names({"crs": "--crs"}), pytest.raises(CRSError) as exc:
        load_any(p)
    assert "rows say Northern Ireland" in str(exc.value) and "`--crs EPSG:29903`" in str(exc.value)
    assert "`--crs EPSG:2157`" in str(exc.value)


def test_doctests() -> None:
    import doctest

    from hotspots.io import extent

    assert doctest.testmod(extent).failed == 0


def test_northern_ireland_crs_direct() -> None:
    x, y = np.array(_grid(29903, NI_PLACES)).T
    from hotspots.report import ReportBuilder

    b = ReportBuilder("t", len(x))
    assert northern_ireland_crs("t", x, y, b) == 29903
    assert any("Irish Grid" in w for w in b.warnings) and any("Irish Grid (EPSG:29903)" in n for n in b.notes)


def test_given_crs_wins_over_northern_ireland_rows(tmp_path: Path) -> None:
    p = _ni_table(tmp_path / "ni.csv", _grid(29903, NI_PLACES))
    data, report = load_any(p, crs="EPSG:29903")
    assert not any("rows say Northern Ireland" in w for w in report.warnings)
    assert abs(data.geometry.iloc[0].x - _bng(-7.31, 54.99)[0]) < 100


# --- metres in degree columns ---------------------------------------------------------------------------------


def test_bng_metres_in_police_uk_longitude_latitude_columns(tmp_path: Path) -> None:
    p = _police(tmp_path / "a.csv", [("599510", "249244"), ("591432", "248731")])
    with pytest.raises(CRSError) as exc:
        load_police_uk(p)
    msg = str(exc.value)
    assert "599510, 249244" in msg and "Easting and Northing" in msg and "`Longitude`/`Latitude`" in msg


def test_out_of_range_examples_give_the_values(tmp_path: Path) -> None:
    coords = [("-1.47", "52.92")] * 3 + [("500", "52.9")]
    _, report = load_police_uk(_police(tmp_path / "a.csv", coords))
    assert report.examples["out-of-range coordinates"] == [
        "a.csv:line 5 (Longitude 500, Latitude 52.9: not valid in longitude/latitude (WGS84, EPSG:4326))"
    ]


# --- precision -------------------------------------------------------------------------------------------------


def test_precision_warning_two_decimals() -> None:
    w = precision_warning("a.csv", [-1.47, -1.41, -1.47, -1.5], [52.92, 52.91, 52.92, 52.9], geographic=True)
    assert w is not None
    assert "rounded to 2 decimals" in w and "about 1,113 m" in w and "4 points sit at 3 distinct places" in w


def test_precision_warning_three_decimals_warns_six_do_not() -> None:
    assert "3 decimals" in precision_warning("a", [-1.471, -1.412, -1.5], [52.921, 52.913, 52.9], geographic=True)
    assert precision_warning("a", [-1.474612, -1.412345, -1.5], [52.921234, 52.913456, 52.9], geographic=True) is None


def test_precision_warning_metres() -> None:
    w = precision_warning("a", [435100, 435200, 436000], [336100, 336300, 337000], geographic=False)
    assert w is not None and "multiples of 100 m" in w
    assert precision_warning("a", [435123, 435201, 436011], [336107, 336300, 337002], geographic=False) is None


def test_rounded_police_file_warns(tmp_path: Path) -> None:
    coords = [("-1.47", "52.92"), ("-1.41", "52.91"), ("-1.47", "52.92"), ("-1.5", "52.9")]
    _, report = load_police_uk(_police(tmp_path / "a.csv", coords))
    assert any("rounded to 2 decimals" in w and "stacked" in w for w in report.warnings)


# --- decimal commas ----------------------------------------------------------------------------------------------


def test_semicolon_file_with_decimal_commas_is_read(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    rows = [f";2025-06;{SUFFOLK};{SUFFOLK};0,911829;52,105532;On or near X;E01029876;Babergh 001A;Anti-social behaviour;;"] * 2
    p.write_text(HEADER.replace(",", ";") + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    data, report = load_police_uk(p)
    assert len(data) == 2
    assert abs(data.geometry.iloc[0].x - _bng(0.911829, 52.105532)[0]) < 1
    assert any("comma as the decimal separator (e.g. '0,911829')" in n for n in report.notes)


def test_decimal_commas_rules() -> None:
    import pandas as pd

    from hotspots.io.extent import decimal_commas
    from hotspots.report import ReportBuilder

    names = ("x", "y")
    b = ReportBuilder("t", 2)
    xs, ys = decimal_commas(pd.Series(["0,91", "-1,5"]), pd.Series(["52,1", "52"]), names, b, "t")
    assert xs.tolist() == ["0.91", "-1.5"] and ys.tolist() == ["52.1", "52"] and "decimal separator" in b.notes[0]
    # three digits after every comma: a thousands separator as likely; left alone
    x3 = pd.Series(["599,510"])
    assert decimal_commas(x3, pd.Series(["249,244"]), names)[0] is x3
    # points elsewhere in the columns: mixed, left alone
    x4 = pd.Series(["0,91", "0.5"])
    assert decimal_commas(x4, pd.Series(["52,1", "52.2"]), names)[0] is x4


def test_thousands_separators_are_named(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('Easting,Northing\n"599,510","249,244"\n"591,432","248,731"\n', encoding="utf-8")
    data, report = load_incidents(p)
    assert len(data) == 0 and report.dropped == {"unparseable coordinates": 2}
    assert any("thousands separator" in w and "'599,510'" in w and "no thousands separators" in w for w in report.warnings)


def test_most_police_points_outside_the_uk_say_to_check_the_columns_not_crs(tmp_path: Path) -> None:
    """police.uk's Longitude/Latitude are WGS84 by the format: `crs` is no fix there."""
    coords = [("2.35", "48.85")] * 3 + [("-1.47", "52.92")]
    with pytest.raises(CRSError) as exc:
        load_police_uk(_police(tmp_path / "a.csv", coords))
    msg = str(exc.value)
    assert "3 of 4 points" in msg and "`Longitude`/`Latitude` do not hold longitude/latitude" in msg and "crs" not in msg


def test_outside_uk_warning_wording() -> None:
    from hotspots.io.extent import outside_uk_warning

    assert outside_uk_warning("a", 1, 100, "X", how="given").endswith("Check those rows at source.")
    assert "coordinate system told from the data is wrong" in outside_uk_warning("a", 50, 100, "X", how="detected")
    assert "coordinate system given is wrong" in outside_uk_warning("a", 50, 100, "X", how="given")


# --- eastings and northings swapped, told by the force the rows name ----------------------------------------------

_CUMBRIA = "Cumbria Constabulary"
_KENDAL = [(351_400.0 + 10 * i, 492_700.0 + 10 * i) for i in range(20)]  # Kendal, E 351 km, N 493 km


def _bng_csv(path: Path, pairs: list[tuple[float, float]], force: str = _CUMBRIA) -> Path:
    rows = [f"id{i},2025-03,{force},{force},Anti-social behaviour,{e},{n}" for i, (e, n) in enumerate(pairs)]
    path.write_text("Crime ID,Month,Reported by,Falls within,Crime type,Easting,Northing\n" + "\n".join(rows) + "\n")
    return path


def test_swapped_for_force_counts_points_in_place_each_way() -> None:
    import pandas as pd

    from hotspots.io.extent import swapped_for_force

    frame = pd.DataFrame({"Falls within": [_CUMBRIA] * 20})
    e, n = np.array(_KENDAL).T
    assert swapped_for_force(frame, n, e) == (_CUMBRIA, "Falls within", 0, 20)
    assert swapped_for_force(frame, e, n) is None  # in place
    assert swapped_for_force(pd.DataFrame({"Falls within": ["British Transport Police"] * 20}), n, e) is None  # no box
    mixed = pd.DataFrame({"Falls within": [_CUMBRIA] * 10 + ["Kent Police"] * 10})
    assert swapped_for_force(mixed, n, e) is None  # no force for nine tenths of the rows


def test_swapped_eastings_northings_are_refused_naming_the_force_and_fix(tmp_path: Path) -> None:
    path = _bng_csv(tmp_path / "swapped.csv", [(n, e) for e, n in _KENDAL])
    with pytest.raises(CRSError, match=r"`Easting`/`Northing` look swapped .*0 of 20 points lie in Cumbria Constabulary's area "
                                      r"\(named in `Falls within`\) as read, 20 with x and y swapped.*swap_xy"):
        load_incidents(path)
    swapped = load_incidents(path, swap_xy=True)  # the fix named works: the points are back in Kendal
    assert swapped.data.geometry.x.min() == pytest.approx(351_400.0)
    with pytest.raises(CRSError, match="the right way round; drop `swap_xy`"):
        load_incidents(_bng_csv(tmp_path / "right.csv", _KENDAL), swap_xy=True)


def test_generic_table_keeps_falls_within_as_the_force(tmp_path: Path) -> None:
    from hotspots.forces import detect_force

    loaded = load_incidents(_bng_csv(tmp_path / "bng.csv", _KENDAL))
    assert len(loaded.data) == 20
    assert detect_force(loaded.data).name == _CUMBRIA
