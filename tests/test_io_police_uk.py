"""Tests for hotspots.io.police_uk: real police.uk files (skipped when absent) and hand-made ones."""

from __future__ import annotations

import collections
import csv
import gzip
import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import check_result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotspots import CRSError, InputError, ParameterError, SchemaError
from hotspots.io import IncidentSet, Upload, load_any, load_police_uk
from hotspots.schema import ASB_CATEGORY, POLICE_UK_COLUMNS

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


# ----------------------------------------------------------------------------------------------
# Independent reference counts, with the csv module only
# ----------------------------------------------------------------------------------------------


def _open_text(path: Path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def csv_counts(path: Path) -> dict[str, int]:
    """Data rows, ASB rows, rows without coordinates, repeated Crime IDs (csv module only)."""
    rows = asb = nolocation = asb_nolocation = 0
    ids: collections.Counter[str] = collections.Counter()
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        header = next(reader)
        ci, lon, lat, ct = (header.index(c) for c in ("Crime ID", "Longitude", "Latitude", "Crime type"))
        for row in reader:
            if not row:
                continue
            rows += 1
            no_loc = row[lon].strip() == "" or row[lat].strip() == ""
            nolocation += no_loc
            if row[ct] == ASB_CATEGORY:
                asb += 1
                asb_nolocation += no_loc
            if row[ci] and not no_loc:
                ids[row[ci]] += 1
    return {
        "rows": rows,
        "asb": asb,
        "no_location": nolocation,
        "asb_no_location": asb_nolocation,
        "repeated_ids": sum(v - 1 for v in ids.values() if v > 1),
    }


def check_invariants(result: IncidentSet) -> None:
    check_result(result, "incident_id")
    data, _ = result
    assert (data["month"].dt.day == 1).all()


# ----------------------------------------------------------------------------------------------
# Real data
# ----------------------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("month", MONTHS)
def test_each_derbyshire_file_counts_match_csv_module(derbyshire_dir: Path, month: str) -> None:
    path = derbyshire_dir / f"{month}-derbyshire-street.csv"
    if not path.exists():
        pytest.skip(f"{path} absent")
    ref = csv_counts(path)
    result = load_police_uk(path)
    check_invariants(result)
    data, report = result
    assert report.rows_read == ref["rows"]
    assert report.dropped.get("no location", 0) == ref["no_location"] == 0  # Derbyshire has none
    assert report.dropped.get("duplicate id", 0) == ref["repeated_ids"]
    assert report.rows_kept == ref["rows"] - ref["repeated_ids"]
    assert (data["month"] == pd.Timestamp(month + "-01")).all()
    assert data["occurred"].isna().all()

    asb_data, asb_report = load_police_uk(path, categories=[ASB_CATEGORY])
    assert asb_report.rows_read == ref["rows"]
    assert asb_report.rows_kept == len(asb_data) == ref["asb"]
    assert asb_report.dropped["category not selected"] == ref["rows"] - ref["asb"]
    assert asb_report.rows_kept + asb_report.rows_dropped == asb_report.rows_read
    assert asb_data["incident_id"].str.startswith("asb-").all()
    assert (asb_data["category"] == ASB_CATEGORY).all()


@pytest.mark.realdata
def test_whole_derbyshire_folder(derbyshire_dir: Path) -> None:
    files = sorted(derbyshire_dir.glob("*-street.csv"))
    refs = [csv_counts(p) for p in files]
    result = load_police_uk(derbyshire_dir, categories="Anti-social behaviour")
    check_invariants(result)
    data, report = result
    assert report.rows_read == sum(r["rows"] for r in refs)
    assert report.rows_kept == sum(r["asb"] for r in refs)
    assert len(report.files) == len(files)
    assert sorted(data["month"].dt.strftime("%Y-%m").unique()) == sorted(p.name[:7] for p in files)
    # Reloading gives the same ids (derived ASB ids are stable).
    again, _ = load_police_uk(derbyshire_dir, categories="Anti-social behaviour")
    assert again["incident_id"].tolist() == data["incident_id"].tolist()


@pytest.mark.realdata
def test_points_outside_the_force_area_are_flagged(police_uk_dir: Path, derbyshire_dir: Path) -> None:
    boundary = police_uk_dir / "boundaries" / "derbyshire_county_2012_bgc.geojson"
    if not boundary.exists():
        pytest.skip("boundary absent")
    from hotspots.io import load_boundary

    area = load_boundary(boundary, fill_holes=True)  # force area = county with Derby City's hole filled
    data, report = load_police_uk(derbyshire_dir, categories="asb", study_area=area)
    inside = shapely.intersects_xy(area.geometry.iloc[0], *shapely.get_coordinates(np.asarray(data.geometry.values)).T)
    assert data["in_study_area"].tolist() == inside.tolist()
    n_out = int((~inside).sum())
    # A real quirk: a few ASB rows lie outside the force area (under 2 %), and are reported.
    assert 0 < n_out < 0.02 * len(data)
    assert any(f"{n_out:,} of {len(data):,} points lie outside the study area" in w for w in report.warnings)
    dropped, r2 = load_police_uk(derbyshire_dir, categories="asb", study_area=area, drop_outside=True)
    assert r2.dropped["outside study area"] == n_out and len(dropped) == len(data) - n_out
    assert r2.rows_kept + r2.rows_dropped == r2.rows_read


@pytest.mark.realdata
def test_month_filter_on_real_folder(derbyshire_dir: Path) -> None:
    files = sorted(derbyshire_dir.glob("*-street.csv"))
    refs = {p.name[:7]: csv_counts(p) for p in files}
    data, report = load_police_uk(derbyshire_dir, months=("2025-03", "2025-05"), categories="asb")
    inside = [m for m in refs if "2025-03" <= m <= "2025-05"]
    assert report.rows_kept == sum(refs[m]["asb"] for m in inside)
    assert report.dropped["month outside range"] == sum(refs[m]["rows"] for m in refs if m not in inside)
    assert report.rows_kept + report.rows_dropped == report.rows_read
    assert set(data["month"].dt.strftime("%Y-%m")) == set(inside)


def _find_file_with_empty_coordinates(police_uk_dir: Path) -> list[Path]:
    candidates = sorted((police_uk_dir / "leicestershire").glob("*.csv"))[:2]
    candidates += sorted((police_uk_dir / "national_2025_gz").glob("2025-01/2025-01-avon-and-somerset-street.csv.gz"))
    return [p for p in candidates if csv_counts(p)["no_location"] > 0]


@pytest.mark.realdata
def test_rows_without_location_are_dropped_and_reported(police_uk_dir: Path) -> None:
    paths = _find_file_with_empty_coordinates(police_uk_dir)
    if not paths:
        pytest.skip("no real file with empty coordinates found")
    for path in paths:
        ref = csv_counts(path)
        result = load_police_uk(path)
        check_invariants(result)
        _, report = result
        assert report.rows_read == ref["rows"]
        assert report.dropped["no location"] == ref["no_location"] > 0
        assert len(report.examples["no location"]) > 0
        # The example rows really have empty coordinates.
        with _open_text(path) as fh:
            rows = [r for r in csv.reader(fh) if r][1:]
        for ex in report.examples["no location"]:
            n = int(ex.rsplit("line ", 1)[1])  # the file's line, the header being line 1
            assert rows[n - 2][4] == "" or rows[n - 2][5] == ""
        _, asb_report = load_police_uk(path, categories="asb")
        assert asb_report.rows_kept == ref["asb"] - ref["asb_no_location"]
        assert asb_report.dropped.get("no location", 0) == ref["asb_no_location"]


@pytest.mark.realdata
def test_zip_of_national_files_in_nested_layout(police_uk_dir: Path, tmp_path: Path) -> None:
    nat = police_uk_dir / "national_2025_gz"
    picks = [
        nat / "2025-01/2025-01-derbyshire-street.csv.gz",
        nat / "2025-02/2025-02-nottinghamshire-street.csv.gz",
        nat / "2025-03/2025-03-leicestershire-street.csv.gz",
    ]
    picks = [p for p in picks if p.exists()]
    if len(picks) < 2:
        pytest.skip("national files absent")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in picks:
            member = p.name[:-3]
            zf.writestr(f"{member[:7]}/{member}", gzip.decompress(p.read_bytes()))
        zf.writestr("2025-01/2025-01-derbyshire-outcomes.csv", "Crime ID,Month\nabc,2025-01\n")
    refs = [csv_counts(p) for p in picks]
    result = load_police_uk(archive)
    check_invariants(result)
    data, report = result
    assert report.rows_read == sum(r["rows"] for r in refs)
    assert report.dropped.get("no location", 0) == sum(r["no_location"] for r in refs)
    assert any("outcomes" in w for w in report.warnings)  # the outcomes file was skipped, and said so (a warning)
    assert len(report.files) == len(picks)
    assert set(data["source"]) == {f"download.zip:{p.name[:7]}/{p.name[:-3]}" for p in picks}
    # The same archive as an upload gives the same result.
    up_data, up_report = load_any(Upload("download.zip", archive.read_bytes()))
    assert up_report.rows_read == report.rows_read and up_report.rows_kept == report.rows_kept
    assert up_data["incident_id"].tolist() == data["incident_id"].tolist()


@pytest.mark.realdata
def test_gz_copy_gives_same_ids_and_loading_both_drops_the_copy(police_uk_dir: Path, derbyshire_dir: Path) -> None:
    plain = derbyshire_dir / "2025-01-derbyshire-street.csv"
    gz = police_uk_dir / "national_2025_gz/2025-01/2025-01-derbyshire-street.csv.gz"
    if not (plain.exists() and gz.exists()):
        pytest.skip("files absent")
    a, ra = load_police_uk(plain)
    b, rb = load_police_uk(gz)
    assert a["incident_id"].tolist() == b["incident_id"].tolist()
    both, rboth = load_police_uk([plain, gz])
    assert rboth.rows_read == 2 * ra.rows_read
    assert rboth.rows_kept == ra.rows_kept
    # the .gz is the same month again: dropped whole as a copy (its own repeated ids first, as in the plain file)
    assert rboth.dropped["copy of 2025-01-derbyshire-street.csv (same month loaded twice)"] == ra.rows_kept
    assert rboth.dropped["duplicate id"] == ra.dropped["duplicate id"] * 2


# ----------------------------------------------------------------------------------------------
# Hand-made files
# ----------------------------------------------------------------------------------------------


def prow(
    crime_id: str = "",
    month: str = "2025-01",
    lon: str = "-1.4746",
    lat: str = "52.9225",
    ctype: str = ASB_CATEGORY,
    location: str = "On or near Market Place",
    lsoa: str = "E01013451",
) -> list[str]:
    return [
        crime_id,
        month,
        "Derbyshire Constabulary",
        "Derbyshire Constabulary",
        lon,
        lat,
        location,
        lsoa,
        "Derby 001A",
        ctype,
        "",
        "",
    ]


def write_police(path: Path, rows: list[list[str]], *, header=POLICE_UK_COLUMNS, encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def test_a_file_loaded_twice_is_charged_to_the_second_file_and_each_line_adds_up(tmp_path: Path) -> None:
    rows = [prow(), prow(lon="-1.48"), prow(crime_id="b1", ctype="Burglary"), prow(crime_id="b1", ctype="Burglary")]
    first = write_police(tmp_path / "2025-01-a-street.csv", rows)
    (tmp_path / "2025-01-b-street.csv").write_bytes(first.read_bytes())  # the same month again, another name
    data, report = load_police_uk([first, tmp_path / "2025-01-b-street.csv"])
    assert report.rows_read == 8 and report.rows_kept == len(data) == 3
    a, b = report.files
    assert (a.rows_kept, a.dropped) == (3, {"duplicate id": 1})  # its own repeated Crime ID
    copy = "copy of 2025-01-a-street.csv (same month loaded twice)"
    assert (b.rows_kept, b.dropped) == (0, {"duplicate id": 1, copy: 3})  # the whole file, ASB rows included
    assert sum(f.rows_kept for f in report.files) == report.rows_kept
    assert report.dropped == {"duplicate id": 2, copy: 3} and "b-street.csv:line" in " ".join(report.examples[copy])
    # by category too, so that each category's rows read (4 ASB, 4 burglary) = kept + dropped
    assert report.dropped_by_category == {ASB_CATEGORY: {copy: 2}, "Burglary": {"duplicate id": 2, copy: 1}}


def test_ids_reused_for_other_crimes_in_later_months_are_kept(tmp_path: Path) -> None:
    """Northern Ireland's police.uk files give 8,280 Crime IDs to a different crime in each of up to
    twelve months (other places, other types): dropping the repeats as duplicates lost 82,220 of
    its 91,576 crimes. A repeat with another month or type is another crime, kept with an id of its
    own, even at the same place; a month's file loaded twice is dropped whole as a copy."""
    n = 6
    ids = [f"id{k}" for k in range(n)]
    jan = [prow(crime_id=i, ctype="Burglary", lon=f"-1.4{k:02d}") for k, i in enumerate(ids)]
    feb = [prow(crime_id=i, month="2025-02", ctype="Drugs", lon=f"-1.5{k:02d}") for k, i in enumerate(ids)]
    feb[0] = prow(crime_id="id0", month="2025-02", ctype="Burglary", lon="-1.400")  # same type and place, next month
    a = write_police(tmp_path / "2025-01-x-street.csv", jan)
    b = write_police(tmp_path / "2025-02-x-street.csv", feb)
    data, report = load_police_uk([a, b])
    assert report.rows_kept == len(data) == 2 * n and not report.dropped and data["incident_id"].is_unique
    assert sorted(data.loc[pd.to_datetime(data["month"]).dt.month == 2, "incident_id"]) == sorted(f"{i}#2" for i in ids)
    assert any(f"{n} row(s) repeat an id read earlier with another month or crime type" in x for x in report.notes)
    # the February file loaded twice (another name): all its rows go, as a copy
    c = tmp_path / "2025-02-y-street.csv"
    c.write_bytes(b.read_bytes())
    data, report = load_police_uk([a, b, c])
    assert len(data) == 2 * n and report.dropped == {"copy of 2025-02-x-street.csv (same month loaded twice)": n}
    assert report.files[2].rows_kept == 0


def test_asb_rows_get_stable_distinct_ids_and_duplicates_are_kept(tmp_path: Path) -> None:
    rows = [prow(), prow(), prow(lon="-1.48"), prow(crime_id="abc", ctype="Burglary")]
    p = write_police(tmp_path / "2025-01-test-street.csv", rows)
    data, report = load_police_uk(p)
    assert report.rows_read == report.rows_kept == 4
    ids = data["incident_id"].tolist()
    assert len(set(ids)) == 4
    assert ids[0].startswith("asb-") and ids[1].startswith("asb-") and ids[3] == "abc"
    # Identical ASB rows differ only by their occurrence index; reloading gives the same ids.
    again, _ = load_police_uk(p)
    assert again["incident_id"].tolist() == ids
    # The id of a row does not depend on filters or on other rows before it.
    p2 = write_police(tmp_path / "other-street.csv", [prow(crime_id="x1", ctype="Burglary")] + rows)
    other, _ = load_police_uk(p2, categories="asb")
    assert other["incident_id"].tolist() == ids[:3]


def test_every_drop_reason_counted(tmp_path: Path) -> None:
    rows = [
        prow(),  # kept
        prow(crime_id="c1", ctype="Burglary"),  # kept
        prow(lon="", lat=""),  # no location
        prow(lon="abc"),  # unparseable coordinates
        prow(lon="500"),  # out-of-range coordinates
        prow(lon="inf"),  # out-of-range coordinates
        prow(month="garbage"),  # unparseable date
        prow(month="1985-01"),  # date out of range
        prow(month=""),  # missing date
        prow(crime_id="c1", ctype="Burglary", lon="-1.40"),  # duplicate id
        prow(lon="0", lat="0"),  # no location (0, 0)
        prow(lon="-8.0", lat="-1.5"),  # outside the UK: valid degrees, far outside the British Isles
    ]
    p = write_police(tmp_path / "a-street.csv", rows)
    # Append one ragged line (too many fields) and one with too few.
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(",".join(prow()) + ",extra\n")
        fh.write("only,three,fields\n")
    data, report = load_police_uk(p)
    assert report.rows_read == len(rows) + 2
    assert report.dropped == {
        "malformed row": 2,
        "no location": 2,
        "unparseable coordinates": 1,
        "out-of-range coordinates": 2,
        "outside the UK": 1,
        "unparseable date": 1,
        "date out of range": 1,
        "missing date": 1,
        "duplicate id": 1,
    }
    assert report.rows_kept == 2 == len(data)
    assert any("line 14" in e for e in report.examples["malformed row"])
    assert any("line 15" in e for e in report.examples["malformed row"])
    assert "a-street.csv:line 15 (3 fields, header has 12)" in report.examples["malformed row"]
    with open(p, "a", encoding="utf-8") as fh:
        fh.write("one\n")
    _, report = load_police_uk(p)
    assert "a-street.csv:line 16 (1 field, header has 12)" in report.examples["malformed row"]  # not '1 fields'
    # one numbering: the file's lines (header = line 1), with the value and the form it should take
    assert report.examples["unparseable coordinates"] == [
        "a-street.csv:line 5 (Longitude 'abc', Latitude '52.9225': expected numbers: decimal degrees "
        "(e.g. -1.4746, 52.9225) or metres (e.g. 435300, 336300))"
    ]
    assert report.examples["duplicate id"] == ["a-street.csv:line 11"]
    (bad_date,) = report.examples["unparseable date"]
    assert bad_date.startswith("a-street.csv:line ") and "Month '" in bad_date
    assert "expected a month such as 2025-06, Jun 2025" in bad_date


def test_filters_are_counted_reasons(tmp_path: Path) -> None:
    rows = [
        prow(month="2025-01"),
        prow(month="2025-02"),
        prow(month="2025-03", ctype="Burglary", crime_id="b"),
        prow(month="2025-04"),
    ]
    p = write_police(tmp_path / "f-street.csv", rows)
    data, report = load_police_uk(p, categories=["anti-social behaviour"], months=("2025-02", "2025-04"))
    assert report.dropped == {"month outside range": 1, "category not selected": 1}
    assert data["month"].dt.strftime("%Y-%m").tolist() == ["2025-02", "2025-04"]
    # Open-ended range.
    _, r2 = load_police_uk(p, months=("2025-03", None))
    assert r2.rows_kept == 2 and r2.dropped == {"month outside range": 2}
    # A category that matches nothing is warned about.
    _, r3 = load_police_uk(p, categories="Bicycle theft")
    assert r3.rows_kept == 0 and any("matched no rows" in w for w in r3.warnings)


def test_study_area_flags_and_drops(tmp_path: Path) -> None:
    rows = [prow(), prow(lon="-0.1278", lat="51.5074")]  # Derby, London
    p = write_police(tmp_path / "s-street.csv", rows)
    derby = shapely.Point(435_000, 336_000).buffer(20_000)
    data, report = load_police_uk(p, study_area=derby)
    assert data["in_study_area"].tolist() == [True, False]
    assert any("outside the study area" in w for w in report.warnings)
    data2, report2 = load_police_uk(p, study_area=gpd.GeoDataFrame(geometry=[derby], crs=27700).to_crs(4326), drop_outside=True)
    assert len(data2) == 1 and report2.dropped == {"outside study area": 1}
    assert report2.examples["outside study area"] == ["s-street.csv:line 3"]


def test_encodings_bom_and_quoting(tmp_path: Path) -> None:
    rows = [prow(location="On or near Caf\u00e9 \u00a3 Street"), prow(location='On or near "Quoted", Street\nwith newline')]
    p = write_police(tmp_path / "cp-street.csv", rows, encoding="cp1252")
    data, report = load_police_uk(p)
    assert report.rows_kept == 2
    assert data["location"].iloc[0] == "On or near Caf\u00e9 \u00a3 Street"
    assert data["location"].iloc[1] == 'On or near "Quoted", Street\nwith newline'
    assert any("not UTF-8" in n and "cp1252" in n for n in report.notes)
    for enc in ("utf-8-sig", "utf-16"):
        q = write_police(tmp_path / f"{enc}-street.csv", rows, encoding=enc)
        d, r = load_police_uk(q)
        assert r.rows_kept == 2 and d["location"].tolist() == data["location"].tolist()
    # Latin-1 bytes that cp1252 cannot decode (0x81) fall back to Latin-1 with a note.
    raw = (",".join(POLICE_UK_COLUMNS) + "\n" + ",".join(prow(location="x\x81y")) + "\n").encode("latin-1")
    (tmp_path / "l1-street.csv").write_bytes(raw)
    d, r = load_police_uk(tmp_path / "l1-street.csv")
    assert r.rows_kept == 1 and any("Latin-1" in n for n in r.notes)


def test_gzip_and_upload(tmp_path: Path) -> None:
    p = write_police(tmp_path / "g-street.csv", [prow(), prow(crime_id="z", ctype="Drugs")])
    gz = tmp_path / "g-street.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    a, ra = load_police_uk(p)
    b, rb = load_police_uk(gz)
    assert a["incident_id"].tolist() == b["incident_id"].tolist()
    f = io.BytesIO(p.read_bytes())
    f.name = "/some/where/g-street.csv"
    c, rc = load_police_uk(f)
    assert c["incident_id"].tolist() == a["incident_id"].tolist() and rc.source == "g-street.csv"
    bad = tmp_path / "bad-street.csv.gz"
    bad.write_bytes(gzip.compress(p.read_bytes())[:40])
    with pytest.raises(InputError, match="bad-street.csv.gz"):
        load_police_uk(bad)


def test_nested_folder_layout_and_other_files_skipped(tmp_path: Path) -> None:
    for m in ("2025-01", "2025-02"):
        (tmp_path / "dl" / m).mkdir(parents=True)
        write_police(
            tmp_path / "dl" / m / f"{m}-derbyshire-street.csv", [prow(month=m), prow(month=m, crime_id=f"id{m}", ctype="Drugs")]
        )
        (tmp_path / "dl" / m / f"{m}-derbyshire-stop-and-search.csv").write_text("Type,Date\nPerson search,2025-01-01\n")
    (tmp_path / "dl" / "README.txt").write_text("hello")
    data, report = load_police_uk(tmp_path / "dl")
    assert report.rows_read == 4 and report.rows_kept == 4
    assert len(report.files) == 2
    assert any("stop-and-search" in w for w in report.warnings)


def test_a_bad_file_among_many_is_reported_and_the_rest_load(tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    write_police(d / "2025-01-x-street.csv", [prow()])
    (d / "2025-02-x-street.csv").write_bytes(b"")
    write_police(d / "2025-03-x-street.csv", [prow(month="2025-03")], header=["Crime ID", "Month", "Falls within"] + ["c"] * 9)
    data, report = load_police_uk(d)
    assert report.rows_kept == 1
    assert sum("skipped unreadable file" in w for w in report.warnings) == 2
    with pytest.raises(InputError):
        load_police_uk(d, skip_bad_files=False)


def test_an_empty_stray_csv_among_monthly_files_is_skipped_not_a_mix_of_tables(tmp_path: Path) -> None:
    from hotspots.io import load_any

    d = tmp_path / "m"
    d.mkdir()
    write_police(d / "2025-01-x-street.csv", [prow(), prow(lon="-1.48")])
    (d / "empty.csv").write_bytes(b"")  # 0 bytes, not named as police.uk names files: no table, not "another table"
    (d / "blank.csv").write_bytes(b"\xef\xbb\xbf \n")
    loaded = load_any(d)
    assert loaded.report.rows_kept == 2
    assert sum("skipped unreadable file" in w and "is empty" in w for w in loaded.report.warnings) == 2
    (d / "other.csv").write_text("a,b\n1,2\n")  # a real other table still makes a mix
    with pytest.raises(InputError, match=r"a mix of police\.uk street-level files \(1\) and other tables \(other\.csv"):
        load_any(d)


def test_lock_hidden_and_rowless_stray_files_are_skipped_with_a_warning_not_a_mix(tmp_path: Path) -> None:
    # a 1-byte Excel lock file beside Thames Valley's 11 monthly files refused the whole folder as "a mix"
    d = tmp_path / "m"
    d.mkdir()
    write_police(d / "2025-01-x-street.csv", [prow(), prow(lon="-1.48")])
    (d / "~$2025-07-x-street.csv").write_bytes(b"x")
    (d / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (d / "empty.csv").write_bytes(b"")
    (d / "stray.csv").write_bytes(b"x")  # a header alone, no row: no table anyone meant
    loaded = load_any(d)
    assert loaded.report.rows_kept == 2
    locks = [w for w in loaded.report.warnings if w.startswith("skipped 2 Office lock or hidden file(s): ")]
    assert len(locks) == 1 and ".DS_Store" in locks[0] and "~$2025-07-x-street.csv" in locks[0]
    assert sum("skipped unreadable file" in w for w in loaded.report.warnings) == 2  # empty.csv and stray.csv, named
    assert any("stray.csv" in w for w in loaded.report.warnings)
    (d / "other.csv").write_text("a,b\n1,2\n")  # a table with rows may be the data meant: still refused, named alone
    with pytest.raises(InputError, match=r"a mix of police\.uk street-level files \(1\) and other tables \(other\.csv\) "):
        load_any(d)


def test_a_lock_file_in_an_archive_is_skipped_with_a_warning(tmp_path: Path) -> None:
    src = write_police(tmp_path / "2025-01-x-street.csv", [prow()])
    z = tmp_path / "d.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(src, "2025-01-x-street.csv")
        zf.writestr("~$2025-01-x-street.csv", b"x")
    loaded = load_any(z)
    assert loaded.report.rows_kept == 1
    assert any(w.startswith("skipped 1 Office lock or hidden file(s): ~$2025-01-x-street.csv") for w in loaded.report.warnings)


def test_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "empty-street.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty-street.csv.*empty"):
        load_police_uk(empty)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n  \n")
    with pytest.raises(InputError, match="blank.csv is empty"):
        load_police_uk(blank)
    other = tmp_path / "other.csv"
    other.write_text("a,b,Month\n1,2,2025-01\n")
    with pytest.raises(SchemaError, match=r"not a police\.uk street-level file.*`Crime ID`.*`Longitude`.*load_incidents"):
        load_police_uk(other)
    with pytest.raises(InputError, match="file not found"):
        load_police_uk(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(InputError, match="Excel"):
        load_police_uk(tmp_path / "x.xlsx")
    (tmp_path / "x.pkl").write_bytes(b"\x80\x04stuff")
    with pytest.raises(InputError, match="never unpickled"):
        load_police_uk(tmp_path / "x.pkl")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02abc,def\n")
    with pytest.raises(InputError, match="NUL"):
        load_police_uk(tmp_path / "bin.csv")
    with pytest.raises(ParameterError, match="months"):
        load_police_uk(blank, months=("2025-1x", "2025-03"))
    with pytest.raises(ParameterError, match="starts after it ends"):
        load_police_uk(blank, months=("2025-05", "2025-03"))
    with pytest.raises(ParameterError, match="categories"):
        load_police_uk(write_police(tmp_path / "ok-street.csv", [prow()]), categories=[])
    with pytest.raises(InputError, match="Upload"):
        load_police_uk(b"Crime ID,Month\n")
    with pytest.raises(InputError, match="empty folder|no data files"):
        (tmp_path / "emptydir").mkdir()
        load_police_uk(tmp_path / "emptydir")


def test_header_only_file_is_zero_rows_not_an_error(tmp_path: Path) -> None:
    p = write_police(tmp_path / "h-street.csv", [])
    data, report = load_police_uk(p)
    assert report.rows_read == 0 and len(data) == 0
    assert list(data.columns) == [
        "incident_id",
        "month",
        "occurred",
        "category",
        "lsoa_code",
        "location",
        "lsoa_name",
        "force",
        "source",
        "geometry",
    ]
    assert data.crs.to_epsg() == 27700
    assert str(data["month"].dtype) == "datetime64[ns]"


def test_result_unpacks_and_carries_parameters(tmp_path: Path) -> None:
    p = write_police(tmp_path / "u-street.csv", [prow()])
    result = load_police_uk(p, categories="asb", months=("2025-01", "2025-01"))
    data, report = result
    assert isinstance(result, IncidentSet) and result.data is data and result.report is report
    assert result.params["months"] == ("2025-01", "2025-01")
    assert result.params["categories"] == "asb"
    with pytest.raises(AttributeError):
        result.data = None  # type: ignore[misc]  # frozen


def test_coordinates_converted_like_geopandas(tmp_path: Path) -> None:
    lons = ["-1.4746", "-1.2", "-1.9"]
    lats = ["52.9225", "53.25", "53.35"]
    p = write_police(tmp_path / "c-street.csv", [prow(lon=a, lat=b) for a, b in zip(lons, lats)])
    data, _ = load_police_uk(p)
    ref = gpd.GeoSeries(gpd.points_from_xy([float(v) for v in lons], [float(v) for v in lats]), crs=4326).to_crs(27700)
    np.testing.assert_allclose(
        shapely.get_coordinates(np.asarray(data.geometry.values)), shapely.get_coordinates(np.asarray(ref.values)), atol=1e-6
    )


@pytest.mark.slow
def test_a_million_rows_with_damage(tmp_path: Path) -> None:
    """10^6 generated rows (some without coordinates, some ragged): counts add up exactly."""
    n = 1_000_000
    rng = np.random.default_rng(0)
    lon = rng.uniform(-2.0, -1.2, n).round(6).astype(str)
    lat = rng.uniform(52.7, 53.5, n).round(6).astype(str)
    no_loc = rng.random(n) < 0.01
    lon[no_loc] = ""
    asb = rng.random(n) < 0.5
    ids = np.where(asb, "", np.char.add("id", np.arange(n).astype(str)))
    ctype = np.where(asb, ASB_CATEGORY, "Burglary")
    df = pd.DataFrame({c: "" for c in POLICE_UK_COLUMNS}, index=range(n))
    df["Crime ID"], df["Month"], df["Longitude"], df["Latitude"], df["Crime type"] = ids, "2025-01", lon, lat, ctype
    df["Location"] = 'On or near "High", Street'
    p = tmp_path / "big-street.csv"
    df.to_csv(p, index=False)
    with open(p, "a", encoding="utf-8") as fh:
        fh.write("too,few\n" * 7)
    data, report = load_police_uk(p)
    assert report.rows_read == n + 7
    assert report.dropped == {"no location": int(no_loc.sum()), "malformed row": 7}
    assert report.rows_kept == len(data) == n - int(no_loc.sum())
    assert data["incident_id"].is_unique


def test_a_month_missing_from_a_folder_of_monthly_files_is_a_warning(tmp_path: Path) -> None:
    # January, February and April 2025, 25 crimes each: March's file is missing
    for month in ("2025-01", "2025-02", "2025-04"):
        rows = [prow(crime_id=f"{month}-{i}", month=month, ctype="Burglary") for i in range(25)]
        write_police(tmp_path / f"{month}-test-street.csv", rows)
    _, report = load_police_uk(tmp_path)
    assert report.rows_kept == 75
    assert [w for w in report.warnings if "no data for Mar 2025" in w and "typical month holds 25" in w]
    # every month present (or too few rows a month to tell): no such warning
    (tmp_path / "2025-04-test-street.csv").unlink()
    _, whole = load_police_uk(tmp_path)
    assert not [w for w in whole.warnings if "no data for" in w]


def test_a_month_published_in_part_is_a_warning(tmp_path: Path) -> None:
    # six months of 30 crimes, the fourth file holding 4: probably published in part
    for k, month in enumerate(("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")):
        rows = [prow(crime_id=f"{month}-{i}", month=month, ctype="Burglary") for i in range(4 if k == 3 else 30)]
        write_police(tmp_path / f"{month}-test-street.csv", rows)
    _, report = load_police_uk(tmp_path)
    assert [w for w in report.warnings if w.startswith("Apr 2025 holds 4 incidents against 30 and 30")]


def test_a_category_published_in_part_in_a_normal_month_is_a_warning(tmp_path: Path) -> None:
    # Hampshire's August 2025: the file's total is normal, but one category holds a fraction of its usual
    for k, month in enumerate(("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")):
        asb = 3 if k == 3 else 40
        rows = [prow(crime_id=f"{month}-b{i}", month=month, ctype="Burglary") for i in range(80 - asb)]
        rows += [prow(crime_id=f"{month}-a{i}", month=month, ctype=ASB_CATEGORY) for i in range(asb)]
        write_police(tmp_path / f"{month}-test-street.csv", rows)
    _, report = load_police_uk(tmp_path)
    told = [w for w in report.warnings if w.startswith(f"Apr 2025: {ASB_CATEGORY} holds 3 incidents against 40")]
    assert told and "Burglary" not in told[0] and "leaves that month out when it is analysed" in told[0]


def test_the_coordinates_note_does_not_say_the_user_gave_a_crs(tmp_path: Path) -> None:
    # The note read "coordinates read as ... (given `crs`)" for police.uk files, where nobody gave one.
    data, report = load_police_uk(write_police(tmp_path / "2025-01-x-street.csv", [prow()]))
    notes = [n for n in report.notes if n.startswith("coordinates read as")]
    assert notes and not any("given `crs`" in n for n in notes)
    assert any("police.uk's Longitude and Latitude" in n for n in notes)


def _month_folder(tmp_path: Path) -> Path:
    """Three monthly files of 2 ASB rows and 1 burglary each, and a header-only April."""
    d = tmp_path / "f"
    d.mkdir()
    for m in ("2025-01", "2025-02", "2025-03"):
        write_police(d / f"{m}-x-street.csv", [prow(month=m), prow(month=m, lon="-1.48"),
                                              prow(crime_id=f"b{m}", month=m, ctype="Burglary")])
    write_police(d / "2025-04-x-street.csv", [])
    return d


def test_a_header_only_file_is_named_as_empty_and_does_not_make_a_category_warning(tmp_path: Path) -> None:
    data, report = load_police_uk(_month_folder(tmp_path), categories=ASB_CATEGORY)
    assert report.rows_kept == 6
    assert report.warnings == ["2025-04-x-street.csv is empty: it has a header but no rows"]


def test_a_category_matching_no_row_of_any_file_is_one_warning_with_every_category_and_a_suggestion(tmp_path: Path) -> None:
    d = _month_folder(tmp_path)
    write_police(d / "2025-03-x-street.csv", [prow(month="2025-03")])  # a file without burglaries says nothing alone
    _, report = load_police_uk(d, categories="Burglary")
    assert report.rows_kept == 2 and not any("matched no rows" in w for w in report.warnings)
    _, report = load_police_uk(d, categories="Burglry")
    assert report.rows_kept == 0
    assert [w for w in report.warnings if "matched no rows" in w] == [
        "category 'Burglry' matched no rows; categories present: Anti-social behaviour, Burglary; did you mean 'Burglary'?"
    ]


def test_a_month_range_matching_nothing_names_the_months_the_data_hold(tmp_path: Path) -> None:
    d = _month_folder(tmp_path)
    _, report = load_police_uk(d, months=("2025-05", "2025-06"))
    assert report.rows_kept == 0
    assert "months 2025-05 to 2025-06 matched no rows: the data hold Jan 2025 – Mar 2025 (3 months); choose months within them" \
        in report.warnings
    _, report = load_police_uk(d, months=("2025-02", None))
    assert report.rows_kept == 6 and not any("matched no rows" in w for w in report.warnings)
    # months with a gap are listed as runs (Avon 2025 at 05:08 said '2025-01 to 2025-12', hiding that May-Aug are absent)
    write_police(d / "2025-09-x-street.csv", [prow(month="2025-09")])
    _, report = load_police_uk(d, months=("2025-05", "2025-08"))
    assert "the data hold Jan 2025 – Mar 2025, Sep 2025 (4 months); choose months within them" in report.warnings[-1]


def test_unreadable_files_are_counted_in_the_headline_and_other_files_listed_in_one_line(tmp_path: Path) -> None:
    d = _month_folder(tmp_path)
    for m in ("2025-05", "2025-06"):
        (d / f"{m}-x-street.csv").write_bytes(b"garbage\x00\x01")
    (d / "notes.txt").write_text("my notes")
    (d / "2025-01-x-outcomes.csv").write_text("Crime ID,Month\na,2025-01\n")
    _, report = load_any(d)
    assert report.summary().startswith(
        "4 police.uk files (and 2 unreadable, skipped: 2025-05-x-street.csv, 2025-06-x-street.csv): read 9, kept 9")
    assert (
        "skipped 1 file(s) that are not police.uk files (of a type not read: .txt): notes.txt; save data files as .csv "
        "(or .tsv, .csv.gz, .zip) to have them read"
    ) in report.warnings
    # police.uk's other downloads are a warning too: the user may have meant them to be read
    assert any(w.startswith("skipped 1 police.uk outcomes or stop-and-search file(s): 2025-01-x-outcomes.csv (they hold")
               for w in report.warnings)
    assert not any("outcomes" in n for n in report.notes)


@pytest.mark.parametrize("blank_lines", [False, True])
def test_examples_name_the_file_line_a_row_starts_on_across_quoted_line_breaks_and_blank_lines(tmp_path, blank_lines):
    # rows 2 and 3 hold a quoted line break each: the bad coordinate is on the file's line 7 (header = line 1)
    rows = [prow(), prow(location="On or near\nA Street"), prow(location="On or near\r\nB Street"), prow(lon="abc")]
    p = write_police(tmp_path / "q-street.csv", rows)
    if blank_lines:  # pyarrow skips blank lines without saying where: the tolerant reader counts them
        text = p.read_text().replace("\n,2025-01", "\n\n,2025-01", 1)
        p.write_text(text)
    _, report = load_police_uk(p)
    (example,) = report.examples["unparseable coordinates"]
    line = 8 if blank_lines else 7
    assert example.startswith(f"q-street.csv:line {line} (Longitude 'abc'")
    assert p.read_bytes().split(b"\n")[line - 1].startswith(b",2025-01,Derbyshire Constabulary,Derbyshire Constabulary,abc")


def _street_csv(path: Path, months: list[str]) -> None:
    """A police.uk street-level file with one ASB row per entry of ``months`` (points around Derby)."""
    rng = np.random.default_rng(len(months))
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(POLICE_UK_COLUMNS)
        for i, month in enumerate(months):
            w.writerow([f"id{path.stem}{i}", month, "Derbyshire Constabulary", "Derbyshire Constabulary",
                        f"{-1.47 + rng.uniform(-0.02, 0.02):.6f}", f"{52.92 + rng.uniform(-0.02, 0.02):.6f}",
                        "On or near Test Street", "E01000001", "Derby 001A", ASB_CATEGORY, "", ""])


def test_a_row_in_a_stray_month_is_dropped_counted_and_named(tmp_path: Path) -> None:
    # 2025 in two files, 40 rows a month; one row of the June file dated March 2019
    _street_csv(tmp_path / "2025-01-derbyshire-street.csv", [f"2025-{m:02d}" for m in range(1, 7) for _ in range(40)])
    late = [f"2025-{m:02d}" for m in range(7, 13) for _ in range(40)]
    late[5] = "2019-03"
    _street_csv(tmp_path / "2025-07-derbyshire-street.csv", late)
    data, report = load_police_uk(sorted(tmp_path.glob("*.csv")))
    assert report.rows_read == 480 and report.rows_kept == 479 and report.dropped == {"stray month": 1}
    assert report.examples["stray month"] == ["2025-07-derbyshire-street.csv:line 7"]  # header is line 1
    assert [r.rows_dropped for r in report.files] == [0, 1]  # the row's own file's line adds up
    assert data["month"].min() == pd.Timestamp("2025-01-01")
    (warning,) = [w for w in report.warnings if "stray month" in w]
    assert warning.startswith("1 incident dated Mar 2019, 69 months before the rest of the data (Jan 2025 – Dec 2025)")
    assert warning.endswith("check its Month (2025-07-derbyshire-street.csv:line 7)")  # the row, to look it up
    assert not any("no data for" in w for w in report.warnings)  # the 69 empty months are not called missing files


def test_two_years_with_a_gap_year_between_keep_every_row(tmp_path: Path) -> None:
    months = [f"{y}-{m:02d}" for y in (2022, 2024) for m in range(1, 13) for _ in range(5)]
    _street_csv(tmp_path / "2022-01-derbyshire-street.csv", months)
    _, report = load_police_uk(tmp_path / "2022-01-derbyshire-street.csv")
    assert report.rows_kept == report.rows_read == 120 and not report.dropped


# ----------------------------------------------------------------------------------------------
# Unbalanced quotes: every line of the file accounted for
# ----------------------------------------------------------------------------------------------


def _quoted_rows(n: int) -> list[list[str]]:
    """``n`` police.uk rows with ids c0.. and quoted locations (a comma inside), as some real files have."""
    return [prow(crime_id=f"c{i}", ctype="Burglary", location=f"On or near Street {i}, Town" if i % 3 else f"Lane {i}")
            for i in range(n)]


def test_a_stray_quote_costs_its_own_line_only(tmp_path: Path) -> None:
    """Durham 2025-03 with '"' put at the start of line 80 read 5,637 of 6,227 rows and counted one malformed row:
    the quote ran on to the field limit. Here: 10 rows, a quote at the start of line 3 (no quote closes it, so it
    ran to the end of the file and the report said 'read 2'); and one at the start of line 5's Location, which the
    next row's quoted location closed (read 9, kept 8: line 6 was lost uncounted)."""
    text = write_police(tmp_path / "a-street.csv", [prow(crime_id=f"c{i}", ctype="Burglary") for i in range(10)]).read_text()
    lines = text.split("\n")
    lines[2] = '"' + lines[2]
    (tmp_path / "a-street.csv").write_text("\n".join(lines))
    data, report = load_police_uk(tmp_path / "a-street.csv")
    assert (report.rows_read, report.rows_kept, report.dropped) == (10, 9, {"malformed row": 1})
    assert sorted(data["incident_id"]) == sorted(f"c{i}" for i in range(10) if i != 1)
    assert report.examples["malformed row"] == [
        "a-street.csv:line 3 (a quote (\") opens a field and is never closed on this line; the 8 lines after it were read "
        "one by one)"
    ]
    lines = write_police(tmp_path / "b-street.csv", _quoted_rows(10)).read_text().split("\n")
    lines[4] = lines[4].replace(",Lane 3,", ',"Lane 3,', 1)  # c3's Location opens; c4's quoted location closes it
    (tmp_path / "b-street.csv").write_text("\n".join(lines))
    data, report = load_police_uk(tmp_path / "b-street.csv")
    assert (report.rows_read, report.rows_kept, report.dropped) == (10, 9, {"malformed row": 1})
    assert set(data["incident_id"]) == {f"c{i}" for i in range(10) if i != 3}
    assert report.examples["malformed row"][0].startswith("b-street.csv:line 5 (")


@given(n=st.integers(1, 12), row=st.integers(0, 11), at=st.integers(0, 200), quoted=st.booleans())
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_stray_quote_anywhere_loses_at_most_its_line(n: int, row: int, at: int, quoted: bool) -> None:
    """A '"' inserted anywhere in one data line of a small police.uk file: every data line is read, the rows
    kept and dropped add up to them, and only that line may be lost (the quote may also spoil its own values)."""
    import tempfile

    row %= n
    rows = _quoted_rows(n) if quoted else [prow(crime_id=f"c{i}", ctype="Burglary") for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_police(Path(tmp) / "q-street.csv", rows)
        lines = path.read_text().split("\n")
        line = lines[row + 1]
        at %= len(line) + 1
        lines[row + 1] = line[:at] + '"' + line[at:]
        path.write_text("\n".join(lines))
        data, report = load_police_uk(path)
    assert report.rows_read == n
    assert report.rows_kept + sum(report.dropped.values()) == n
    assert set(data["incident_id"]) >= {f"c{i}" for i in range(n) if i != row}


def test_files_of_forces_far_apart_are_warned_of(tmp_path: Path) -> None:
    """A folder of Durham's and Gwent's files loaded without a word (and then analysed as one area 300 km across):
    the load report now warns, naming the forces; Durham's and Cleveland's (neighbours) load without it."""
    def force_rows(force: str, lon: float, lat: float) -> list[list[str]]:
        rows = [prow(lon=f"{lon + i * 0.01:.4f}", lat=f"{lat + i * 0.005:.4f}") for i in range(20)]
        return [r[:2] + [force, force] + r[4:] for r in rows]

    write_police(tmp_path / "2025-01-durham-street.csv", force_rows("Durham Constabulary", -1.75, 54.65))
    write_police(tmp_path / "2025-01-gwent-street.csv", force_rows("Gwent Police", -3.05, 51.6))
    _, report = load_police_uk(tmp_path)
    (warning,) = [w for w in report.warnings if "far apart" in w]
    assert "Durham Constabulary; Gwent Police" in warning and "Analyse each force's files separately" in warning
    (tmp_path / "2025-01-gwent-street.csv").unlink()
    write_police(tmp_path / "2025-01-cleveland-street.csv", force_rows("Cleveland Police", -1.3, 54.55))
    _, report = load_police_uk(tmp_path)
    assert not [w for w in report.warnings if "far apart" in w]


def _zip_of(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as z:
        for f in sorted(folder.glob("*.csv")):
            z.write(f, f.name)
    return target


def test_a_zip_in_a_folder_is_read_as_if_given_directly(tmp_path: Path) -> None:
    months = _month_folder(tmp_path)
    d = tmp_path / "z"
    d.mkdir()
    _zip_of(months, d / "flat.zip")
    direct, _ = load_any(d / "flat.zip")
    data, report = load_any(d)
    assert len(data) == len(direct) == 9
    assert not any("skipped" in w for w in report.warnings)
    assert set(data["source"]) == {f"flat.zip:2025-0{m}-x-street.csv" for m in (1, 2, 3)}
    # with a CSV of another month beside it, both are read
    write_police(d / "2025-05-x-street.csv", [prow(month="2025-05", lon="-1.49")])
    data, report = load_any(d)
    assert len(data) == 10 and not any("skipped" in w for w in report.warnings)


def test_a_damaged_zip_in_a_folder_is_skipped_with_a_warning(tmp_path: Path) -> None:
    d = _month_folder(tmp_path)
    (d / "bad.zip").write_bytes(b"PK\x03\x04 not really a zip")
    data, report = load_any(d)
    assert len(data) == 9
    assert "bad.zip" in report.summary()


def test_a_tsv_police_file_is_read(tmp_path: Path) -> None:
    d = tmp_path / "t"
    d.mkdir()
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(POLICE_UK_COLUMNS)
    w.writerows([prow(), prow(lon="-1.48")])
    (d / "a.tsv").write_text(buf.getvalue(), encoding="utf-8")
    data, report = load_any(d)
    assert len(data) == 2 and not any("skipped" in w for w in report.warnings)
    data, _ = load_police_uk(d / "a.tsv")
    assert len(data) == 2


OUTCOMES_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name",
    "Outcome type",
]


def _outcomes_row() -> list[str]:
    return ["abc", "2025-06", "X", "X", "-1.4746", "52.9225", "On or near Market Place", "E01013451", "Derby 001A",
            "Unable to prosecute suspect"]


def test_other_police_file_tells_outcomes_and_stop_and_search() -> None:
    from hotspots.io.police_uk import other_police_file

    assert other_police_file(OUTCOMES_HEADER) == "outcomes"
    assert other_police_file(["Type", "Date", "Latitude", "Longitude", "Legislation", "Object of search"]) == "stop-and-search"
    assert other_police_file(POLICE_UK_COLUMNS) is None
    assert other_police_file(["x", "y"]) is None


def test_an_outcomes_file_given_directly_is_refused(tmp_path: Path) -> None:
    p = write_police(tmp_path / "2025-06-x-outcomes.csv", [_outcomes_row()], header=OUTCOMES_HEADER)
    with pytest.raises(InputError, match="is a police.uk outcomes file .*Give the street-level file"):
        load_any(p)
    with pytest.raises(SchemaError, match="is a police.uk outcomes file"):
        load_police_uk(p)


def test_an_outcomes_file_under_another_name_in_a_folder_is_a_warning(tmp_path: Path) -> None:
    d = _month_folder(tmp_path)
    write_police(d / "renamed.csv", [_outcomes_row()], header=OUTCOMES_HEADER)
    data, report = load_any(d)
    assert len(data) == 9
    assert any("renamed.csv (outcomes)" in w and w.startswith("skipped 1 police.uk outcomes") for w in report.warnings)


def test_a_title_line_above_the_header_is_skipped_and_said(tmp_path: Path) -> None:
    p = write_police(tmp_path / "2025-01-x-street.csv", [prow(), prow(lon="", lat="")])
    p.write_text("My ASB export January 2025,,,,\n" + p.read_text(encoding="utf-8"), encoding="utf-8")
    data, report = load_any(p)
    assert len(data) == 1 and data["force"].iloc[0] == "Derbyshire Constabulary"  # read as police.uk, by its real header
    assert any("line 1 ('My ASB export January 2025') is a title above the header; the header was read from line 2" in w
               for w in report.warnings)
    assert report.examples["no location"] == ["2025-01-x-street.csv:line 4"]  # the file's own line numbers


def test_title_lines() -> None:
    import doctest

    from hotspots.io import _csv
    from hotspots.io._csv import title_lines

    assert doctest.testmod(_csv).failed == 0
    assert title_lines("Export\nnotes here\nCrime ID,Month,Longitude\na,b,c\n") == 2
    assert title_lines("value\n1\n2\n") == 0  # a one-column table
    assert title_lines("Export,,\n1,2,3\n4,5,6\n") == 0  # numbers are data, not a header
    assert title_lines("x,y\n1,2\n") == 0


def test_swapped_police_file_names_swap_xy_which_load_police_uk_takes(tmp_path: Path) -> None:
    p = write_police(tmp_path / "a.csv", [prow(lon="52.9225", lat="-1.4746"), prow(lon="52.93", lat="-1.48")])
    mostly = write_police(tmp_path / "b.csv", [prow(lon="52.9225", lat="-1.4746")] * 2 + [prow(lon="-1.48", lat="52.93")])
    with pytest.raises(CRSError, match=r"\(2 of 3\), the others not: fix this file at source.*`swap_xy=True`"):
        load_police_uk(mostly)  # which rows are right cannot be told: refused
    alone, said = load_police_uk(p)  # wholly swapped (police.uk's columns are longitude and latitude): read swapped
    assert len(alone) == 2 and abs(alone.geometry.iloc[0].x - 435_300) < 200
    assert any("a.csv: its coordinates are the wrong way round" in w and "for this file only" in w for w in said.warnings)
    data, report = load_police_uk(p, swap_xy=True)
    assert len(data) == 2 and any("swapped as asked" in n for n in report.notes)
    assert abs(data.geometry.iloc[0].x - 435_300) < 200  # Derby, easting about 435 km
    data2, _ = load_any(p, swap_xy=True)
    assert data2.geometry.iloc[0].equals(data.geometry.iloc[0])


def test_the_category_option_matches_the_datas_other_spellings_of_asb(tmp_path: Path) -> None:
    """`load --category 'Anti-social behaviour'` missed rows spelt "ASB" (the analysis's default matched them)."""
    rows = [prow(ctype="ASB"), prow(ctype="Anti-Social Behaviour "), prow(ctype=ASB_CATEGORY), prow(ctype="Burglary")]
    p = write_police(tmp_path / "2025-01-t-street.csv", rows)
    inc, rep = load_police_uk(p, categories=ASB_CATEGORY)
    assert len(inc) == 3 and rep.rows_dropped == 1 and rep.dropped == {"category not selected": 1}


# ----------------------------------------------------------------------------------------------
# Month columns re-saved by a spreadsheet, and rows contradicting their file's name
# ----------------------------------------------------------------------------------------------


def test_us_dated_files_keep_their_months_with_a_note(tmp_path: Path) -> None:
    """Twelve files re-saved with US dates (6/1/2025 for June) became twelve months of January."""
    for m in range(1, 13):
        write_police(tmp_path / f"2025-{m:02d}-x-street.csv", [prow(month=f"{m}/1/2025"), prow(month=f"{m}/1/2025")])
    data, report = load_police_uk(tmp_path)
    assert sorted(pd.to_datetime(data["month"]).dt.month.value_counts().to_dict().items()) == [(m, 2) for m in range(1, 13)]
    assert sum("read month-first" in n for n in report.notes) == 1  # one note for the twelve files
    one, rep1 = load_police_uk(tmp_path / "2025-06-x-street.csv")  # a single June file is June
    assert (pd.to_datetime(one["month"]) == pd.Timestamp("2025-06-01")).all() and rep1.rows_kept == 2


@pytest.mark.parametrize("value", ["Jun-25", "01/06/25", "01/06/2025", "June 2025", "45809"])
def test_excel_forms_of_the_month_are_read(tmp_path: Path, value: str) -> None:
    p = write_police(tmp_path / "a.csv", [prow(month=value), prow(month=value, crime_id="c1", ctype="Burglary")])
    data, report = load_police_uk(p)
    assert report.rows_kept == 2 and (pd.to_datetime(data["month"]) == pd.Timestamp("2025-06-01")).all()


def test_an_unparseable_month_names_the_accepted_forms(tmp_path: Path) -> None:
    p = write_police(tmp_path / "a.csv", [prow(month="June"), prow()])
    _, report = load_police_uk(p)
    assert report.dropped == {"unparseable date": 1}
    (ex,) = report.examples["unparseable date"]
    assert ex.startswith("a.csv:line 2") and "Month 'June': expected a month such as 2025-06, Jun 2025, Jun-25" in ex


def test_a_repeated_header_line_is_dropped_with_its_own_reason(tmp_path: Path) -> None:
    p = write_police(tmp_path / "a.csv", [prow(), list(POLICE_UK_COLUMNS), prow(lon="-1.48")])
    data, report = load_police_uk(p)
    assert len(data) == 2 and report.dropped == {"repeated header line": 1}
    assert report.examples["repeated header line"] == ["a.csv:line 3"]


def test_rows_dated_otherwise_than_most_of_their_named_file_are_dropped(tmp_path: Path) -> None:
    rows = [prow(month="2025-06", lon=f"-1.4{k:02d}") for k in range(8)] + [prow(month="2026-06"), prow(month="2025-07")]
    p = write_police(tmp_path / "2025-06-x-street.csv", rows)
    data, report = load_police_uk(p)
    assert len(data) == 8 and report.dropped == {"month differs from file name": 2}
    assert report.examples["month differs from file name"] == [
        "2025-06-x-street.csv:line 10 (Month '2026-06' in a file named for 2025-06)",
        "2025-06-x-street.csv:line 11 (Month '2025-07' in a file named for 2025-06)",
    ]
    assert any("2 row(s) dated 2025-07, 2026-06 in a file whose name and other rows say 2025-06" in w for w in report.warnings)
    # most rows disagree: the name is wrong, the rows stay, a warning says so
    q = write_police(tmp_path / "2025-05-y-street.csv", rows)
    data, report = load_police_uk(q)
    assert len(data) == 10 and not report.dropped
    assert any("its name says 2025-05 but 10 of 10 rows are dated otherwise (mostly 2025-06)" in w for w in report.warnings)
    # a name without a month says nothing
    data, report = load_police_uk(write_police(tmp_path / "june.csv", rows))
    assert len(data) == 10 and not report.dropped


# ----------------------------------------------------------------------------------------------
# A month loaded twice is a file; identical ASB rows are incidents
# ----------------------------------------------------------------------------------------------


def _june(n_asb: int = 4, n_crime: int = 4) -> list[list[str]]:
    asb = [prow(month="2025-06", lon="-1.4746") for _ in range(n_asb)]  # identical ASB rows: separate incidents
    crimes = [prow(crime_id=f"c{k}", month="2025-06", ctype="Burglary", lon=f"-1.4{k:02d}1") for k in range(n_crime)]
    return asb + crimes


def test_a_resaved_copy_of_a_month_is_dropped_whole_asb_included(tmp_path: Path) -> None:
    rows = _june()
    orig = write_police(tmp_path / "2025-06-x-street.csv", rows)
    excel = [[r[0], "01/06/2025", *r[2:4], r[4][:6], *r[5:]] for r in rows]  # Excel dates, coordinates cut short
    copy = write_police(tmp_path / "2025-06-x-street (1).csv", [r[::-1] for r in excel], header=POLICE_UK_COLUMNS[::-1])
    data, report = load_police_uk([copy, orig])
    assert len(data) == 8 and (data["category"] == ASB_CATEGORY).sum() == 4
    reason = "copy of 2025-06-x-street.csv (same month loaded twice)"
    assert report.dropped == {reason: 8}
    assert [f.rows_kept for f in report.files] == [0, 8]  # the file with police.uk's own name is kept
    assert any(w.startswith("2025-06-x-street (1).csv is a copy of 2025-06-x-street.csv (4 of its 4 Crime IDs are in it)")
               for w in report.warnings)


def test_a_month_split_in_two_by_rows_keeps_every_incident(tmp_path: Path) -> None:
    """Kent's July split row by row into two files lost 646 identical ASB rows as 'duplicate id'."""
    rows = _june(n_asb=6, n_crime=4)
    a = write_police(tmp_path / "2025-06-x-street-part1.csv", rows[0::2])
    b = write_police(tmp_path / "2025-06-x-street-part2.csv", rows[1::2])
    data, report = load_police_uk([a, b])
    assert len(data) == 10 and not report.dropped and data["incident_id"].is_unique
    assert (data["category"] == ASB_CATEGORY).sum() == 6


def test_a_crime_id_given_again_with_another_month_or_type_is_kept_with_an_id_of_its_own(tmp_path: Path) -> None:
    """Northern Ireland: an id is Violence in April and Shoplifting in November, at the same place."""
    apr = write_police(tmp_path / "2025-04-ni-street.csv",
                       [prow(crime_id="id1", month="2025-04", ctype="Violence"), prow(crime_id="id2", month="2025-04")])
    nov = write_police(tmp_path / "2025-11-ni-street.csv",
                       [prow(crime_id="id1", month="2025-11", ctype="Shoplifting"), prow(crime_id="id9", month="2025-11")])
    data, report = load_police_uk([apr, nov])
    assert len(data) == 4 and not report.dropped
    assert sorted(data["incident_id"]) == ["id1", "id1#2", "id2", "id9"]
    assert any("1 row(s) repeat an id read earlier with another month or crime type: kept" in n for n in report.notes)
    # the same id, month and type in another (not copied) file is the same crime: dropped once
    again = write_police(tmp_path / "2025-04-ni-street-b.csv",
                         [prow(crime_id="id1", month="2025-04", ctype="Violence"), prow(crime_id="new", month="2025-04"),
                          prow(crime_id="new2", month="2025-04")])
    data, report = load_police_uk([apr, again])
    assert len(data) == 4 and report.dropped == {"duplicate id": 1}


def test_one_rule_whatever_the_category_filter(tmp_path: Path) -> None:
    """The copy is found from every row's Crime ID, before the category filter: ASB alone (as
    `hotspots national` loads it) loses the copy's ASB as the full load does."""
    orig = write_police(tmp_path / "2025-06-x-street.csv", _june())
    copy = write_police(tmp_path / "2025-06-x-street - Copy.csv", [[*r[:4], r[4] + "0", *r[5:]] for r in _june()])
    full, _ = load_police_uk([orig, copy])
    asb, report = load_police_uk([orig, copy], categories="asb")
    assert len(asb) == (full["category"] == ASB_CATEGORY).sum() == 4
    assert "copy of 2025-06-x-street.csv (same month loaded twice)" in report.dropped


def test_several_copies_of_one_month_add_up(tmp_path: Path) -> None:
    orig = write_police(tmp_path / "2025-06-x-street.csv", _june())
    for k in (1, 2, 3):
        (tmp_path / f"2025-06-x-street ({k}).csv").write_bytes(orig.read_bytes())
    data, report = load_police_uk(tmp_path)
    assert len(data) == 8 and report.rows_read == 32
    assert report.dropped == {"copy of 2025-06-x-street.csv (same month loaded twice)": 24}
    assert report.rows_kept + report.rows_dropped == report.rows_read
    assert [f.rows_kept for f in report.files] == [0, 0, 0, 8]


def test_a_row_ending_without_its_last_two_empty_fields_is_kept_and_counted(tmp_path: Path) -> None:
    """A row of 10 of 12 fields (Last outcome category and Context, empty, left out) was dropped as 'malformed row'."""
    p = write_police(tmp_path / "a-street.csv", [prow(), prow(lon="-1.48")])
    with open(p, "a", encoding="utf-8") as fh:
        fh.write(",".join(prow(lon="-1.47")[:10]) + "\n")  # 10 of 12 fields: kept, its last two empty
        fh.write(",".join(prow(lon="-1.46")[:9]) + "\n")  # 9 of 12: malformed
    data, report = load_police_uk(p)
    assert report.rows_read == 4 and len(data) == 3 and report.dropped == {"malformed row": 1}
    assert any("1 row ended early, without the last 2 or fewer fields (e.g. line 4): read with those fields empty" in n
               for n in report.notes)
