"""Faults: a damaged file among many monthly files is reported and the rest load (folders, lists,
ZIP archives, the app's upload of several files); the app shows an error box, never a traceback,
for any bad upload or setting.

Interrupted downloads are tested in ``tests/test_fetch.py`` (``test_resume_after_interruption``,
``test_resume_after_permanent_failure_fetches_only_missing_month``,
``test_damaged_body_is_retried``): months already complete are kept, a half-written ``.part``
file is never taken for a month, and only what is missing is fetched again.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import pickle
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from helpers import zip_bytes

from hotspots import HotspotsError, InputError
from hotspots.app_support import load_uploads
from hotspots.io import Upload, load_any, load_police_uk, load_referrals, load_tasks
from hotspots.privacy import pseudonymise
from hotspots.schema import POLICE_UK_COLUMNS

APP = Path(__file__).resolve().parents[1] / "app.py"
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
ROWS_PER_MONTH = 7


def month_csv(month: str, n: int = ROWS_PER_MONTH) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(POLICE_UK_COLUMNS)
    for i in range(n):
        w.writerow(
            [
                "",
                month,
                "Derbyshire Constabulary",
                "Derbyshire Constabulary",
                f"{-1.47 - i * 0.001:.4f}",
                f"{52.92 + i * 0.001:.4f}",
                "On or near Market Place",
                "E01013451",
                "Derby 001A",
                "Anti-social behaviour",
                "",
                "",
            ]
        )
    return buf.getvalue().encode()


def _bad_crc_member() -> bytes:
    """A police.uk file whose stored bytes are damaged (the ZIP's CRC check fails)."""
    return b"damaged-in-zip"


# Each kind of damage: (name suffix, bytes). All are named as the March file.
DAMAGE = {
    "empty": (".csv", b""),
    "binary garbage": (".csv", bytes(range(256)) * 8),
    "truncated gzip": (".csv.gz", gzip.compress(month_csv("2024-03"))[:60]),
    "not police.uk": (".csv", b"a,b,c\n1,2,3\n"),
    "header only": (".csv", month_csv("2024-03", 0)),
    "pickle": (".csv", pickle.dumps({"a": 1}, protocol=4)),
    "zip named csv": (".csv", b"PK\x03\x04" + b"\x00" * 40),
    "utf-16 without BOM": (".csv", month_csv("2024-03").decode().encode("utf-16-le")),
}


def _name(month: str, suffix: str = ".csv") -> str:
    return f"{month}-derbyshire-street{suffix}"


def _check(report, bad_name: str, *, good_months: int = 11) -> None:
    assert report.rows_kept == good_months * ROWS_PER_MONTH
    assert report.rows_kept + report.rows_dropped == report.rows_read
    hits = [w for w in report.warnings if bad_name in w]
    assert hits, report.warnings
    assert any(w.startswith("skipped unreadable file") for w in hits)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_month_in_a_folder_is_reported_and_the_rest_load(tmp_path, damage):
    suffix, data = DAMAGE[damage]
    for m in MONTHS:
        if m == "2024-03":
            (tmp_path / _name(m, suffix)).write_bytes(data)
        else:
            (tmp_path / _name(m)).write_bytes(month_csv(m))
    if damage == "header only":  # an empty month is not damage: it loads with no rows
        data_, report = load_police_uk(tmp_path)
        assert report.rows_kept == 11 * ROWS_PER_MONTH and len(report.files) == 12
        return
    data_, report = load_police_uk(tmp_path)
    _check(report, _name("2024-03", suffix))
    assert sorted(data_["month"].dt.strftime("%Y-%m").unique()) == [m for m in MONTHS if m != "2024-03"]
    # Strict mode refuses instead.
    with pytest.raises(HotspotsError):
        load_police_uk(tmp_path, skip_bad_files=False)


@pytest.mark.parametrize("damage", sorted(set(DAMAGE) - {"header only"}))
@pytest.mark.parametrize("as_uploads", [False, True])
def test_a_damaged_month_in_a_list_is_reported_and_the_rest_load(tmp_path, damage, as_uploads):
    suffix, data = DAMAGE[damage]
    items = []
    for m in MONTHS:
        name, blob = (_name(m, suffix), data) if m == "2024-03" else (_name(m), month_csv(m))
        if as_uploads:
            items.append(Upload(name, blob))
        else:
            (tmp_path / name).write_bytes(blob)
            items.append(tmp_path / name)
    for loader in (load_police_uk, lambda x: load_any(x, "incidents")):
        data_, report = loader(items)
        _check(report, _name("2024-03", suffix))


def test_a_missing_or_refused_file_in_a_list_is_reported_and_the_rest_load(tmp_path):
    paths = []
    for m in MONTHS[:3]:
        (tmp_path / _name(m)).write_bytes(month_csv(m))
        paths.append(tmp_path / _name(m))
    paths.insert(1, tmp_path / "2024-13-derbyshire-street.csv")  # does not exist
    paths.append(tmp_path / "notes.xlsx")
    (tmp_path / "notes.xlsx").write_bytes(b"PK\x03\x04 spreadsheet")
    data, report = load_police_uk(paths)
    assert report.rows_kept == 3 * ROWS_PER_MONTH
    assert any("file not found" in w for w in report.warnings)
    assert any("notes.xlsx" in w and "Excel" in w for w in report.warnings)
    # A single bad input still raises with its own message.
    with pytest.raises(InputError, match="file not found"):
        load_police_uk(paths[1])


def _damage_member(archive: bytes, member: str) -> bytes:
    """Flip bytes inside one member's compressed data (its CRC then fails)."""
    data = bytearray(archive)
    info = zipfile.ZipFile(io.BytesIO(archive)).getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + 5, start + min(info.compress_size, 40) - 2):
        data[k] ^= 0x5A
    return bytes(data)


@pytest.mark.parametrize("damage", sorted(set(DAMAGE) - {"header only"}) + ["bad CRC"])
def test_a_damaged_month_in_a_zip_is_reported_and_the_rest_load(tmp_path, damage):
    members = {f"{m}/{_name(m)}": month_csv(m) for m in MONTHS}
    bad = f"2024-03/{_name('2024-03')}"
    if damage == "bad CRC":
        archive = _damage_member(zip_bytes(members), bad)
    else:
        suffix, data = DAMAGE[damage]
        del members[bad]
        bad = f"2024-03/{_name('2024-03', suffix)}"
        members[bad] = data
        archive = zip_bytes(members)
    for target in (Upload("derbyshire-2024.zip", archive), tmp_path / "derbyshire-2024.zip"):
        if isinstance(target, Path):
            target.write_bytes(archive)
        data_, report = load_police_uk(target)
        _check(report, f"derbyshire-2024.zip:{bad}")


def _claim_zip_version(archive: bytes, version: int) -> bytes:
    """``archive`` with every central-directory entry claiming ``version`` as the version needed
    to extract (Python's zipfile raises NotImplementedError above 6.3)."""
    data = bytearray(archive)
    k = data.find(b"PK\x01\x02")
    while k >= 0:
        data[k + 6 : k + 8] = version.to_bytes(2, "little")
        k = data.find(b"PK\x01\x02", k + 4)
    return bytes(data)


def test_a_zip_claiming_an_unknown_version_is_a_typed_error_not_a_crash(tmp_path):
    # Found by the zip fuzz test: the central directory of a damaged archive claimed version 17.7.
    from hotspots.io import load_boundary

    archive = _claim_zip_version(zip_bytes({f"{m}/{_name(m)}": month_csv(m) for m in MONTHS}), 177)
    for load in (load_police_uk, lambda x: load_any(x, "incidents"), load_boundary):
        with pytest.raises(InputError, match="not a readable ZIP archive") as info:
            load(Upload("months.zip", archive))
        assert info.value.__cause__ is None  # our message, not the last-resort wrapper


class FakeUploadedFile(io.BytesIO):
    def __init__(self, name: str, data: bytes):
        super().__init__(data)
        self.name, self.size = name, len(data)


@pytest.mark.parametrize("damage", sorted(set(DAMAGE) - {"header only"}))
def test_the_app_upload_of_several_files_reports_the_damaged_one_and_loads_the_rest(damage):
    suffix, data = DAMAGE[damage]
    files = [
        FakeUploadedFile(_name(m, suffix) if m == "2024-03" else _name(m), data if m == "2024-03" else month_csv(m))
        for m in MONTHS
    ]
    bundle, outcomes = load_uploads(incidents=files, police_categories="Anti-social behaviour")
    (o,) = outcomes
    assert o.ok and bundle is not None
    assert len(bundle.incidents) == 11 * ROWS_PER_MONTH
    _check(o.report, _name("2024-03", suffix))


def test_damaged_files_among_referrals_and_tasks_are_reported_and_the_rest_load():
    salt = "a-long-secret-salt-for-tests"
    refs = pd.DataFrame(
        {
            "referral_id": ["R1", "R2"],
            "person_ref": [pseudonymise("a", salt), pseudonymise("b", salt)],
            "referred_at": ["2024-01-02", "2024-02-03"],
            "offence": ["anti-social behaviour"] * 2,
            "route": ["community resolution"] * 2,
            "lon": [-1.47, -1.48],
            "lat": [52.92, 52.93],
        }
    )
    tasks = pd.DataFrame(
        {"task_id": ["T1"], "kind": ["food bank"], "site_name": ["Food bank"], "easting": [435_000], "northing": [336_000]}
    )
    for loader, frame in ((load_referrals, refs), (load_tasks, tasks)):
        good = Upload("a.csv", frame.to_csv(index=False).encode())
        for name, blob in (
            ("b.csv", b""),
            ("c.csv", b"\x00\x01\x02"),
            ("d.parquet", b"PAR1 truncated"),
            ("e.geojson", b"{not json"),
        ):
            data, report = loader([good, Upload(name, blob)])
            assert len(data) == len(frame) and any(name in w for w in report.warnings), report.warnings


# =============================================================================== the app
pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

TIMEOUT = 300


def _app(view: str = "Data") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.session_state["view"] = view
    at.run()
    assert not at.exception
    return at


def _polygon_wkt_csv() -> bytes:
    return b"id,wkt\n1,POINT (435000 336000)\n"


BAD_UPLOADS = {
    # key: (uploader key, file name, bytes, what the message must say)
    "empty file": ("up_incidents", "empty.csv", b"", "empty"),
    "binary garbage": ("up_incidents", "garbage.csv", bytes(range(256)) * 20, "garbage.csv"),
    "wrong columns": ("up_incidents", "wrong.csv", b"colour,size\nred,3\nblue,4\n", "wrong.csv"),
    "pickle": ("up_incidents", "model.csv", pickle.dumps({"x": 1}, protocol=4), "pickle"),
    "truncated parquet": ("up_incidents", "cut.parquet", b"PAR1" + b"\x00" * 50, "cut.parquet"),
    "broken geojson": ("up_incidents", "broken.geojson", b'{"type": "FeatureCollection", "features": [', "broken.geojson"),
    "huge coordinates": ("up_incidents", "far.csv", b"x,y,date\n1e300,1e300,2024-01-01\ninf,-inf,2024-02-01\n", "far.csv"),
    "dates out of range": (
        "up_incidents",
        "dates.csv",
        b"lon,lat,date\n-1.47,52.92,9999-12-31\n-1.48,52.93,0001-01-01\n",
        "dates.csv",
    ),
    "boundary not a polygon": (
        "up_boundary",
        "line.geojson",
        json.dumps(
            {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[-1.5, 52.9], [-1.4, 53.0]]}}
        ).encode(),
        "line.geojson",
    ),
    "boundary points": (
        "up_boundary",
        "pts.geojson",
        json.dumps({"type": "Point", "coordinates": [-1.5, 52.9]}).encode(),
        "pts.geojson",
    ),
    "referrals with identifying columns": (
        "up_referrals",
        "refs.csv",
        b"referral_id,Forename,D.O.B.,Address Line 1,referred_at,offence,route,lon,lat\n"
        b"R1,Jane,01/02/2003,1 High St,2024-01-02,asb,CR,-1.47,52.92\n",
        "identif",
    ),
    "referrals with raw person ids": (
        "up_referrals",
        "ids.csv",
        b"referral_id,person_ref,referred_at,offence,route,lon,lat\nR1,PNC123,2024-01-02,asb,CR,-1.47,52.92\n",
        "pseudonym",
    ),
    "tasks without coordinates": ("up_tasks", "tasks.csv", b"task_id,kind,site_name\nT1,food bank,Bank\n", "tasks.csv"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_the_app_shows_an_error_box_not_a_traceback_for_a_bad_upload(case):
    key, name, data, expected = BAD_UPLOADS[case]
    at = _app()
    if key == "up_boundary":
        at.file_uploader(key=key).set_value((name, data, "application/octet-stream"))
    else:
        at.file_uploader(key=key).set_value([(name, data, "application/octet-stream")])
    if key != "up_incidents":  # referrals, tasks and boundaries are loaded with incidents
        at.file_uploader(key="up_incidents").set_value([("2024-01-derbyshire-street.csv", month_csv("2024-01", 40), "text/csv")])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert errors, f"no error box for {case}"
    msg = " ".join(errors)
    assert expected.lower() in msg.replace("\\", "").lower(), msg
    assert "Traceback" not in msg and 'File "' not in msg
    # Still a working app: its headline numbers are there.
    assert any(m.label == "Incidents analysed" for m in at.metric)


def test_the_app_reports_a_damaged_file_among_several_uploads():
    at = _app()
    files = [(_name(m), month_csv(m), "text/csv") for m in MONTHS[:4]] + [(_name("2024-05"), b"\x00\x01garbage", "text/csv")]
    at.file_uploader(key="up_incidents").set_value(files)
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Incidents analysed"] == [f"{4 * ROWS_PER_MONTH:,}"]
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "skipped unreadable file" in warnings and _name("2024-05") in warnings


BAD_SETTINGS = [
    # (widget kind, key, value, enable first)
    ("number_input", "distance", 50, "auto_dist"),  # shorter than the cell
    ("number_input", "bandwidth", 1, "auto_bw"),  # far under the cell size
    ("number_input", "cell_size", 50, "auto_cell"),  # the cell size is automatic by default
    ("number_input", "cell_size", 5000, "auto_cell"),
    ("number_input", "eps", 10, None),
    ("number_input", "min_samples", 1000, None),
    ("number_input", "near_m", 100, None),
]


@pytest.mark.parametrize("kind,key,value,enable", BAD_SETTINGS, ids=[f"{k}={v}" for _, k, v, _ in BAD_SETTINGS])
def test_extreme_settings_never_show_a_traceback(kind, key, value, enable):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    if enable:
        at.checkbox(key=enable).uncheck().run()
    getattr(at, kind)(key=key).set_value(value).run()
    for view in ("Map", "Before / after", "Scheme", "Analyst"):
        at.session_state["view"] = view
        at.run()
        assert not at.exception, (view, [e.value for e in at.exception])
        for e in at.error:  # any error box explains itself
            assert "Traceback" not in e.value and len(e.value) > 20


def test_error_messages_quoting_column_names_and_values_are_literal_markdown():
    """Column names and values from a file reach ``st.error``/``st.warning`` escaped (shown as typed)."""
    from hotspots.app_support import md_text

    at = _app()
    header = b'"<img src=x onerror=alert(1)>","<img src=x onerror=alert(1)>",lat\n1,2,3\n'
    at.file_uploader(key="up_incidents").set_value([("cols.csv", header, "text/csv")])
    at.run()
    assert not at.exception
    msg = " ".join(e.value for e in at.error)
    assert "more than once" in msg
    assert md_text("<img src=x onerror=alert(1)>") in msg
    import re

    assert not re.search(r"(?<!\\)[<>\[\]`*_]", msg)  # every markdown/HTML character escaped
    # A value quoted in a warning: an unknown task kind.
    tasks = (
        b"task_id,kind,site_name,easting,northing\n"
        b"T1,**bold** [x](javascript:alert(1)),Site,435000,336000\nT2,food bank,Bank,435100,336100\n"
    )
    at.file_uploader(key="up_tasks").set_value([("tasks.csv", tasks, "text/csv")])
    at.file_uploader(key="up_incidents").set_value([("2024-01-derbyshire-street.csv", month_csv("2024-01", 40), "text/csv")])
    at.run()
    assert not at.exception
    warns = [w.value for w in at.warning if "not among the known kinds" in w.value.replace("\\", "")]  # kept as written
    assert warns and all(md_text("'**bold** [x](javascript:alert(1))'") in w for w in warns)
