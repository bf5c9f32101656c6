"""Tests for hotspots.io.tables (generic incident tables) and the dispatcher load_any."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from helpers import check_result, load_csv

from hotspots import CRSError, InputError, ParameterError, SchemaError
from hotspots.io import IncidentSet, Upload, load_any, load_incidents, load_police_uk

_T = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
LON = [-1.4746, -1.4216, -1.9110, -1.3000]
LAT = [52.9225, 53.2350, 53.2587, 52.9800]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ID": ["a1", "a2", "a3", "a4"],
            "Longitude": LON,
            "Latitude": LAT,
            "Date": ["05/01/2025 10:30", "2025-02-14", "2025-03-01T08:00:00", "31/12/2024"],
            "Type": ["ASB", "ASB", "Criminal damage", "ASB"],
        }
    )


def expected_xy(lon=LON, lat=LAT) -> np.ndarray:
    return np.column_stack(_T.transform(lon, lat))


def xy(data: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(np.asarray(data.geometry.values))


def check(result: IncidentSet) -> None:
    check_result(result, "incident_id")
    data, _ = result
    assert list(data.columns[:4]) == ["incident_id", "month", "occurred", "category"]
    assert data.columns[-1] == "geometry"


def test_csv_auto_detects_columns_and_crs(tmp_path: Path) -> None:
    result = load_csv(load_incidents, frame(), tmp_path / "inc.csv")
    check(result)
    data, report = result
    assert data["incident_id"].tolist() == ["a1", "a2", "a3", "a4"]
    assert data["category"].tolist() == ["ASB", "ASB", "Criminal damage", "ASB"]
    assert data["occurred"].tolist() == [
        pd.Timestamp("2025-01-05 10:30"),
        pd.Timestamp("2025-02-14"),
        pd.Timestamp("2025-03-01 08:00"),
        pd.Timestamp("2024-12-31"),
    ]
    assert data["month"].dt.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03", "2024-12"]
    np.testing.assert_allclose(xy(data), expected_xy(), atol=1e-6)
    assert any("WGS84" in n for n in report.notes)


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet", "geoparquet", "gpkg", "geojson", "frame", "geoframe"])
def test_every_format_gives_the_same_incidents(tmp_path: Path, fmt: str) -> None:
    df = frame()
    gdf = gpd.GeoDataFrame(df.drop(columns=["Longitude", "Latitude"]), geometry=gpd.points_from_xy(LON, LAT), crs=4326)
    target: object
    if fmt == "csv":
        target = tmp_path / "t.csv"
        df.to_csv(target, index=False)
    elif fmt == "csv.gz":
        target = tmp_path / "t.csv.gz"
        df.to_csv(target, index=False, compression="gzip")
    elif fmt == "parquet":
        target = tmp_path / "t.parquet"
        df.to_parquet(target)
    elif fmt == "geoparquet":
        target = tmp_path / "t.parquet"
        gdf.to_crs(27700).to_parquet(target)
    elif fmt == "gpkg":
        target = tmp_path / "t.gpkg"
        gdf.to_crs(27700).to_file(target, driver="GPKG")
    elif fmt == "geojson":
        target = tmp_path / "t.geojson"
        gdf.to_file(target, driver="GeoJSON")
    elif fmt == "frame":
        target = df
    else:
        target = gdf
    result = load_incidents(target)
    check(result)
    data, _ = result
    assert data["incident_id"].tolist() == ["a1", "a2", "a3", "a4"]
    np.testing.assert_allclose(xy(data), expected_xy(), atol=1e-3)
    assert data["month"].dt.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03", "2024-12"]


def test_callers_frame_is_not_modified() -> None:
    df = frame()
    before = df.copy()
    load_incidents(df, swap_xy=False)
    pd.testing.assert_frame_equal(df, before)


def test_column_mapping_and_errors() -> None:
    df = pd.DataFrame(
        {
            "ref": ["x", "y"],
            "e": [435000, 436000],
            "n": [336000, 337000],
            "when": ["2025-01-01", "2025-02-01"],
            "what": ["a", "b"],
        }
    )
    data, report = load_incidents(df, columns={"incident_id": "ref", "occurred": "when", "category": "what"}, x="e", y="n")
    assert data["incident_id"].tolist() == ["x", "y"]
    assert xy(data).tolist() == [[435000, 336000], [436000, 337000]]
    assert any("British National Grid" in n for n in report.notes)
    with pytest.raises(SchemaError, match=r"incident_id -> `nope`.*Columns present"):
        load_incidents(df, columns={"incident_id": "nope"}, x="e", y="n")
    with pytest.raises(ParameterError, match="unknown key"):
        load_incidents(df, columns={"colour": "what"}, x="e", y="n")
    with pytest.raises(ParameterError, match="both `x` and `y`"):
        load_incidents(df, x="e")
    with pytest.raises(ParameterError, match="`zz`"):
        load_incidents(df, x="zz", y="n")
    with pytest.raises(SchemaError, match="cannot find coordinates.*`ref`"):
        load_incidents(df[["ref", "when"]])


def test_easting_northing_auto_and_explicit_crs() -> None:
    df = pd.DataFrame({"Easting": [435000.0, 436000.0], "Northing": [336000.0, 337000.0]})
    data, report = load_incidents(df)
    assert xy(data).tolist() == [[435000, 336000], [436000, 337000]]
    assert any("no date column" in n for n in report.notes)
    assert data["month"].isna().all() and data["category"].eq("unspecified").all()
    # no category column: every row is analysed whatever its crime type, and the report warns so
    assert any("no category column" in w and "every row is analysed whatever its crime type" in w for w in report.warnings)
    # Explicit CRS: the same numbers read as Web Mercator end up elsewhere.
    with pytest.raises(CRSError):
        pass_through = load_incidents(pd.DataFrame({"x": [0.5], "y": [0.5]}))  # noqa: F841 - fits nothing
    d2, r2 = load_incidents(df, crs=27700)
    assert any("given `crs`" in n for n in r2.notes)


def test_swapped_lonlat_is_reported_not_fixed() -> None:
    df = pd.DataFrame({"lon": LAT, "lat": LON, "date": ["2025-01-01"] * 4})
    with pytest.raises(CRSError, match=r"look swapped.*swap_xy=True.*`x='lat'` and `y='lon'`"):
        load_incidents(df)
    from hotspots.validation import argument_names

    with argument_names({"crs": "--crs"}), pytest.raises(CRSError) as err:
        load_incidents(df)
    assert str(err.value).count("in Python only") == 1  # said once for the three settings
    data, report = load_incidents(df, swap_xy=True)
    np.testing.assert_allclose(xy(data), expected_xy(), atol=1e-6)
    assert any("swapped as asked" in n for n in report.notes)
    with pytest.raises(CRSError, match="drop `swap_xy`"):
        load_incidents(frame(), swap_xy=True)
    # with the columns named longitude/latitude (crs given) a wholly swapped table is certain: read swapped, loudly
    named, said = load_incidents(df, crs=4326)
    np.testing.assert_allclose(xy(named), expected_xy(), atol=1e-6)
    assert any("its coordinates are the wrong way round" in w for w in said.warnings)


def test_a_few_swapped_rows_are_dropped_with_a_warning() -> None:
    lon = LON + [53.0]
    lat = LAT + [-1.5]
    df = pd.DataFrame({"lon": lon, "lat": lat})
    data, report = load_incidents(df)
    assert report.dropped == {"possibly swapped coordinates": 1}
    assert report.examples["possibly swapped coordinates"] == ["DataFrame:row 5"]
    assert any("wrong way round" in w for w in report.warnings)


def test_coordinate_drop_reasons() -> None:
    lon = [-1.47, "", "12,5", 200, -1.5, "inf", 1e300, 0, -1.45, "nan"]
    lat = [52.9, 52.9, 52.9, 52.9, 95, 52.9, 52.9, 0, 52.95, 52.9]
    df = pd.DataFrame({"lon": [str(v) for v in lon], "lat": [str(v) for v in lat]})
    data, report = load_incidents(df)
    assert report.dropped == {"no location": 3, "unparseable coordinates": 1, "out-of-range coordinates": 4}
    assert report.rows_kept == 2
    assert report.examples["unparseable coordinates"] == [
        "DataFrame:row 3 (lon '12,5', lat '52.9': expected numbers: decimal degrees (e.g. -1.4746, 52.9225) or metres "
        "(e.g. 435300, 336300))"
    ]
    # BNG values outside 0..700000 / 0..1300000 are out of range.
    bng = pd.DataFrame({"easting": [435000, -5, 800000, 436000], "northing": [336000, 336000, 336000, 1400000]})
    d2, r2 = load_incidents(bng)
    assert r2.dropped == {"out-of-range coordinates": 3} and len(d2) == 1


def test_date_drop_reasons_and_formats() -> None:
    now = pd.Timestamp.now()
    dates = [
        "2025-06-01T12:00:00Z",  # UTC, British Summer Time: 13:00 local
        "2025-01-15 09:00:00+00:00",
        "5 Jan 2025",
        "Feb 2025",  # month only
        "",  # missing
        "yesterday",  # unparseable
        "1989-12-31",  # out of range
        (now + pd.Timedelta(days=800)).strftime("%Y-%m-%d"),  # out of range
        "2025-02-30",  # unparseable (no such day)
        "3",  # a bare number is not a date
    ]
    df = pd.DataFrame({"lon": [-1.47] * len(dates), "lat": [52.92] * len(dates), "occurred": dates})
    data, report = load_incidents(df)
    assert report.dropped == {"missing date": 1, "unparseable date": 3, "date out of range": 2}
    assert data["occurred"].tolist()[:3] == [
        pd.Timestamp("2025-06-01 13:00"),
        pd.Timestamp("2025-01-15 09:00"),
        pd.Timestamp("2025-01-05"),
    ]
    assert pd.isna(data["occurred"].iloc[3]) and data["month"].iloc[3] == pd.Timestamp("2025-02-01")
    assert str(data["occurred"].dtype) == "datetime64[ns]" and str(data["month"].dtype) == "datetime64[ns]"


def test_month_column_and_months_filter() -> None:
    df = pd.DataFrame({"lon": [-1.47] * 3, "lat": [52.92] * 3, "Month": ["2025-01", "2025-02", "2025-03"], "id": ["a", "b", "c"]})
    data, report = load_incidents(df, months=("2025-02", "2025-03"))
    assert data["incident_id"].tolist() == ["b", "c"] and data["occurred"].isna().all()
    assert report.dropped == {"month outside range": 1}
    with pytest.raises(SchemaError, match="no date column"):
        load_incidents(df.drop(columns="Month"), months=("2025-02", "2025-03"))


def test_ids_derived_stably_and_duplicates_dropped() -> None:
    df = pd.DataFrame({"lon": [-1.47, -1.47, -1.48], "lat": [52.92, 52.92, 52.93], "date": ["2025-01-01"] * 3})
    a, ra = load_incidents(df, id_prefix="x-")
    b, _ = load_incidents(df, id_prefix="x-")
    assert a["incident_id"].tolist() == b["incident_id"].tolist()
    assert a["incident_id"].str.startswith("x-").all() and a["incident_id"].is_unique and len(a) == 3
    assert any("stable ids" in n for n in ra.notes)
    df2 = pd.DataFrame({"id": ["k", "k", "", "m"], "lon": [-1.47, -1.46, -1.45, -1.44], "lat": [52.92] * 4})
    d2, r2 = load_incidents(df2)
    assert r2.dropped == {"duplicate id": 1} and r2.examples["duplicate id"] == ["DataFrame:row 2"]
    assert d2["incident_id"].iloc[0] == "k" and d2["incident_id"].iloc[1].startswith("inc-") and d2["incident_id"].iloc[2] == "m"


def test_weight_and_keep_columns() -> None:
    df = pd.DataFrame({"lon": [-1.47] * 5, "lat": [52.92] * 5, "weight": ["1", "2.5", "-1", "abc", ""], "note": list("abcde")})
    data, report = load_incidents(df, keep_columns=["note"])
    assert report.dropped == {"invalid weight": 3}
    assert data["weight"].tolist() == [1.0, 2.5] and data["note"].tolist() == ["a", "b"]
    assert list(data.columns) == [
        "incident_id",
        "month",
        "occurred",
        "category",
        "weight",
        "lsoa_code",
        "location",
        "source",
        "note",
        "geometry",
    ]
    with pytest.raises(ParameterError, match="keep_columns"):
        load_incidents(df, keep_columns=["nope"])


def test_study_area_in_lonlat_is_converted_and_noted() -> None:
    df = frame()
    area = shapely.box(-1.6, 52.8, -1.25, 53.0)  # degrees: around Derby
    data, report = load_incidents(df, study_area=area)
    assert data["in_study_area"].tolist() == [True, False, False, True]
    assert any("look like longitude/latitude" in n for n in report.notes)
    with pytest.raises(ParameterError, match="study_area"):
        load_incidents(df, study_area=shapely.LineString([(0, 0), (1, 1)]))
    with pytest.raises(CRSError, match="no CRS"):
        load_incidents(df, study_area=gpd.GeoDataFrame(geometry=[area]))


def test_geojson_in_bng_without_crs_is_read_as_bng(tmp_path: Path) -> None:
    pts = expected_xy()
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id": f"g{i}", "date": "2025-01-02"},
                "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            }
            for i, (x, y) in enumerate(pts)
        ],
    }
    p = tmp_path / "bng.geojson"
    p.write_text(json.dumps(fc))
    data, report = load_incidents(p)
    np.testing.assert_allclose(xy(data), pts, atol=1e-6)
    assert any("British National Grid" in w for w in report.warnings)


def test_wkt_column_and_polygons(tmp_path: Path) -> None:
    pts = expected_xy()
    df = pd.DataFrame({"wkt": [f"POINT ({x} {y})" for x, y in pts] + ["POINT (oops)", ""], "Date": ["2025-01-01"] * 6})
    data, report = load_incidents(df)
    assert report.dropped == {"unparseable coordinates": 1, "no location": 1}
    np.testing.assert_allclose(xy(data), pts, atol=1e-6)
    polys = gpd.GeoDataFrame({"id": ["p"]}, geometry=[shapely.box(435000, 336000, 436000, 337000)], crs=27700)
    d2, r2 = load_incidents(polys)
    assert shapely.contains_xy(polys.geometry.iloc[0], *xy(d2)[0])
    assert any("point on their surface" in n for n in r2.notes)


def test_semicolon_csv_and_header_problems(tmp_path: Path) -> None:
    p = tmp_path / "semi.csv"
    p.write_text("lon;lat;date\n-1.47;52.92;2025-01-01\n")
    data, report = load_incidents(p)
    assert len(data) == 1 and any("separator" in n for n in report.notes)
    q = tmp_path / "dup.csv"
    q.write_text("lon,lat,lon\n1,2,3\n")
    with pytest.raises(SchemaError, match="`lon` more than once"):
        load_incidents(q)


def test_zip_of_generic_csvs_with_cross_file_duplicates(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/one.csv", "id,lon,lat\nq,-1.47,52.92\nr,-1.48,52.93\n")
        zf.writestr("a/two.csv", "id,lon,lat\nr,-1.49,52.94\ns,-1.50,52.95\n")
        zf.writestr("__MACOSX/._one.csv", "junk")
    data, report = load_incidents(Upload("inc.zip", buf.getvalue()))
    check(IncidentSet(data, report))
    assert report.rows_read == 4 and report.dropped == {"duplicate id": 1}
    assert report.examples["duplicate id"] == ["inc.zip:a/two.csv:line 2"]
    assert data["incident_id"].tolist() == ["q", "r", "s"]


def test_load_any_dispatches_on_header(tmp_path: Path) -> None:
    police = tmp_path / "2025-01-x-street.csv"
    police.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,"
        "LSOA code,LSOA name,Crime type,Last outcome category,Context\n"
        ",2025-01,X,X,-1.47,52.92,On or near A,E0,L,Anti-social behaviour,,\n"
    )
    generic = tmp_path / "g.csv"
    generic.write_text("id,lon,lat,date\na,-1.47,52.92,2025-01-01\n")
    d1, r1 = load_any(police)
    assert d1["incident_id"].iloc[0].startswith("asb-")
    assert d1.equals(load_police_uk(police).data)
    d2, r2 = load_any(generic)
    assert d2["incident_id"].tolist() == ["a"]
    with pytest.raises(InputError, match="mix of police.uk") as mix:
        load_any([police, generic])
    # why the other table is not police.uk's: the columns it lacks, those it has, and the fix
    assert "g.csv lacks police.uk's `Crime ID`, `Month`, `Longitude`, `Latitude`, `Crime type`" in str(mix.value)
    assert "(its columns: `id`, `lon`, `lat`, `date`;" in str(mix.value) and "Resave the other tables" in str(mix.value)
    with pytest.raises(ParameterError, match="`columns`"):
        load_any(police, columns={"incident_id": "Crime ID"})
    with pytest.raises(ParameterError, match="kind"):
        load_any(police, kind="people")
    # Uploads: file objects with a name, and Upload.
    f = io.BytesIO(generic.read_bytes())
    f.name = "g.csv"
    assert load_any(f).data["incident_id"].tolist() == ["a"]
    nameless = io.BytesIO(b"id\n")
    with pytest.raises(InputError, match="no `name`"):
        load_any(nameless)


def test_uploads_only_parse_data_formats() -> None:
    import pickle

    payload = pickle.dumps(pd.DataFrame({"a": [1]}))
    for name in ("x.pkl", "x.pickle", "x.csv", "x.parquet", "x.geojson"):
        with pytest.raises(InputError):
            load_any(Upload(name, payload))
    with pytest.raises(InputError, match="Excel"):
        load_any(Upload("book.xlsx", b"PK\x03\x04"))
    with pytest.raises(InputError, match="unsupported file type"):
        load_any(Upload("x.exe", b"MZ"))
    with pytest.raises(InputError, match="content looks like a Parquet"):
        load_any(Upload("x.csv", b"PAR1" + b"\x00" * 20))
    with pytest.raises(InputError, match="empty"):
        load_any(Upload("x.csv", b""))
    with pytest.raises(InputError, match="cannot be read as PARQUET|cannot be read as Parquet"):
        load_any(Upload("x.parquet", b"PAR1garbagePAR1"))
    with pytest.raises(InputError, match="cannot be read as GEOJSON"):
        load_any(Upload("x.geojson", b"{not json"))
    assert "bytes" in repr(Upload("a.csv", b"123"))


# =============================================================================== referral files are not incidents (issue 14)
REFERRAL_HEADER = "referral_id,person_ref,referred_at,offence,route,age_group,easting,northing\n"


def test_a_referral_file_is_refused_as_incidents_everywhere() -> None:
    """Analysed as incidents, referral records would publish exact counts of people per cell."""
    from hotspots import PrivacyError
    from hotspots.app_support import load_uploads

    body = (REFERRAL_HEADER + "R1,p_0123456789abcdef,2024-01-02,asb,CR,youth,435000,336000\n").encode()
    for call in (
        lambda: load_incidents(Upload("refs.csv", body)),
        lambda: load_any(Upload("refs.csv", body)),
        lambda: load_incidents(pd.read_csv(io.BytesIO(body))),
    ):
        with pytest.raises(
            PrivacyError, match=r"looks like a referral file \(column\(s\) `person_ref`, `referral_id`.*--referrals"
        ):
            call()
    # Among several files it refuses the whole load (never skipped as one unreadable file).
    good = b"lon,lat,date\n-1.47,52.92,2024-01-05\n"
    with pytest.raises(PrivacyError):
        load_incidents([Upload("a.csv", good), Upload("refs.csv", body)])
    _, outcomes = load_uploads(incidents=[Upload("refs.csv", body)])
    assert not outcomes[0].ok and "referral file" in outcomes[0].error


@pytest.mark.parametrize(
    "header, refused",
    [
        ("id,person_id,date,lon,lat", True),  # a person reference alone
        ("Referral ID,Date Referred,lon,lat", True),  # two of the scheme's own columns
        ("id,date,category,outcome,lon,lat", False),  # an ordinary incident table (police outcomes)
        ("incident_id,route,lon,lat", False),  # one scheme-like word is not enough
    ],
)
def test_what_marks_a_table_as_referrals(header: str, refused: bool) -> None:
    from hotspots.io.referrals import referral_columns

    assert bool(referral_columns(header.split(","))) is refused


def test_rows_of_only_blanks_are_empty_rows_and_excel_serial_dates_are_read() -> None:
    df = frame().astype(object)
    df.loc[1] = ["", np.nan, None, "", "-"]  # a line of only commas (or blank markers)
    df.loc[2, "Date"] = "45842.34514"  # Excel serial day number: 2025-07-04 08:17
    data, report = load_incidents(df)
    assert report.dropped == {"empty row": 1} and report.examples["empty row"] == ["DataFrame:row 2"]
    assert pd.Timestamp("2025-07-04 08:17") in data["occurred"].tolist()
    assert any("1 `Date` value(s) are plain numbers read as Excel serial day numbers" in w for w in report.warnings)
