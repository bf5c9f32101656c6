"""Fuzzing what ``tests/test_io_fuzz.py`` does not reach: typed Parquet (wrong dtypes, nulls, extra
and missing columns, truncated or damaged bytes), GeoJSON with broken geometries and properties,
ZIP archives of damaged members, the app's upload path (:func:`hotspots.app_support.load_uploads`
with Streamlit-like uploaded files of every kind at once), and one file of 10^6 rows.

Every case ends in one of two ways: a typed :class:`hotspots.HotspotsError` raised on purpose
(never the loaders' last-resort wrapper), or a result whose report adds up (kept + dropped ==
read) with exactly ``rows_kept`` rows of finite points in EPSG:27700 and unique ids. The app's
upload path never raises at all.

The default run makes 100 cases per test; ``pytest --run-slow`` runs the ``slow`` variants
(1,000–1,500 cases each).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from helpers import check_result, typed_error_on_purpose
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hotspots.app_support import load_uploads
from hotspots.io import Upload, load_incidents, load_police_uk, load_referrals, load_tasks
from hotspots.privacy import PERSON_REF_PATTERN, identifying_columns, pseudonymise
from hotspots.schema import OFFENCES, POLICE_UK_COLUMNS, ROUTES, TASK_KINDS

FAST = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=1_500, deadline=None, suppress_health_check=list(HealthCheck))
SLOW_APP = settings(max_examples=1_000, deadline=None, suppress_health_check=list(HealthCheck))
SALT = "fuzzing-salt-0123456789"
LOADERS = {
    "incidents": (load_incidents, "incident_id"),
    "referrals": (load_referrals, "referral_id"),
    "tasks": (load_tasks, "task_id"),
}


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------
def run_loader(kind: str, target, **kwargs) -> None:
    fn, id_col = LOADERS[kind]
    try:
        result = fn(target, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions appear
        typed_error_on_purpose(exc)
        return
    check_result(result, id_col)


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------
weird_float = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 1e15, 180.0, 90.0, -181.0, 700_000.0, 1_300_001.0]),
)
lon = st.one_of(st.floats(-3.0, 0.5), weird_float)
lat = st.one_of(st.floats(51.5, 54.5), weird_float)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10)
nasty = st.sampled_from(
    ["", " ", '"', "a\nb", 'x"y', "\r\n", "NaN", "inf", "None", "<script>", "{{7*7}}", "é£€", "\x00", "`${x}`"]
)
dates = st.one_of(
    st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(), max_value=pd.Timestamp("2200-12-31").to_pydatetime()),
    st.dates(min_value=pd.Timestamp("2020-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()).map(str),
    st.sampled_from(["9999-12-31", "0001-01-01", "2024-02-30", "2024-13", "31/12/2024", "", "today"]),
)
ids = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "a", "b", "", None]), st.uuids().map(str))


def column_values(n: int, base: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.one_of(base, st.none()), min_size=n, max_size=n)


def typed_column(n: int, kind: str) -> st.SearchStrategy:
    """A column of ``n`` values of one Parquet type (with nulls): the dtype may not be what the loader expects."""
    if kind == "float":
        return column_values(n, weird_float).map(lambda v: pa.array(v, pa.float64()))
    if kind == "int":
        return column_values(n, st.integers(-(2**63), 2**63 - 1)).map(lambda v: pa.array(v, pa.int64()))
    if kind == "bool":
        return column_values(n, st.booleans()).map(lambda v: pa.array(v, pa.bool_()))
    if kind == "timestamp":
        return column_values(
            n,
            st.datetimes(
                min_value=pd.Timestamp("1700-01-01").to_pydatetime(), max_value=pd.Timestamp("2200-12-31").to_pydatetime()
            ),
        ).map(lambda v: pa.array(v, pa.timestamp("us")))
    if kind == "date32":
        return column_values(n, st.dates()).map(lambda v: pa.array(v, pa.date32()))
    if kind == "dictionary":
        return column_values(n, st.one_of(text, nasty)).map(lambda v: pa.array(v, pa.string()).dictionary_encode())
    if kind == "binary":
        return column_values(n, st.binary(max_size=8)).map(lambda v: pa.array(v, pa.binary()))
    if kind == "list":
        return column_values(n, st.lists(st.floats(allow_nan=False), max_size=3)).map(
            lambda v: pa.array(v, pa.list_(pa.float64()))
        )
    return column_values(n, st.one_of(text, nasty, weird_float.map(repr))).map(lambda v: pa.array(v, pa.string()))


TYPES = ["float", "int", "bool", "timestamp", "date32", "dictionary", "binary", "list", "string"]
# Columns each kind's loader looks for, with the types that make sense (others are tried too).
SCHEMAS = {
    "incidents": {"lon": "float", "lat": "float", "date": "timestamp", "category": "string", "id": "string", "weight": "float"},
    "referrals": {
        "referral_id": "string",
        "person_ref": "string",
        "referred_at": "timestamp",
        "offence": "dictionary",
        "route": "string",
        "age_group": "string",
        "outcome": "string",
        "longitude": "float",
        "latitude": "float",
        "reoffended": "bool",
    },
    "tasks": {"task_id": "string", "kind": "string", "site_name": "string", "easting": "float", "northing": "float"},
}
GOOD = {  # plausible values per column, so that many cases load rows
    "lon": st.floats(-2.0, -1.0).map(float),
    "lat": st.floats(52.6, 53.4).map(float),
    "longitude": st.floats(-2.0, -1.0).map(float),
    "latitude": st.floats(52.6, 53.4).map(float),
    "easting": st.floats(400_000, 460_000),
    "northing": st.floats(310_000, 380_000),
    "date": st.datetimes(
        min_value=pd.Timestamp("2021-01-01").to_pydatetime(), max_value=pd.Timestamp("2025-01-01").to_pydatetime()
    ),
    "referred_at": st.datetimes(
        min_value=pd.Timestamp("2023-07-01").to_pydatetime(), max_value=pd.Timestamp("2025-01-01").to_pydatetime()
    ),
    "offence": st.sampled_from(list(OFFENCES)),
    "route": st.sampled_from(list(ROUTES)),
    "kind": st.sampled_from(list(TASK_KINDS)),
    "person_ref": st.integers(0, 5).map(lambda i: pseudonymise(str(i), SALT)),
}


@st.composite
def parquet_case(draw: st.DrawFn):
    kind = draw(st.sampled_from(sorted(SCHEMAS)))
    n = draw(st.integers(0, 20))
    cols: dict[str, pa.Array] = {}
    for name, typ in SCHEMAS[kind].items():
        choice = draw(st.integers(0, 19))
        if choice == 0:
            continue  # a missing column
        if choice == 1:  # the wrong type
            cols[name] = draw(typed_column(n, draw(st.sampled_from(TYPES))))
        elif name in GOOD and choice > 3:  # good values, a few nulls (most cases: so that rows load)
            good = draw(st.lists(GOOD[name], min_size=n, max_size=n))
            mask = draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))
            vals = [None if m == 0 else v for v, m in zip(good, mask)]
            arr = pa.array(vals)
            cols[name] = arr.dictionary_encode() if typ == "dictionary" and pa.types.is_string(arr.type) else arr
        else:
            cols[name] = draw(typed_column(n, typ))
    for _ in range(draw(st.integers(0, 2))):  # extra columns, maybe identifying ones
        extra = draw(st.sampled_from(["notes", "x_extra", "Surname", "DOB", "email", "geometry", "wkt", "id"]))
        if extra not in cols:
            cols[extra] = draw(typed_column(n, draw(st.sampled_from(TYPES))))
    table = pa.table(cols) if cols else pa.table({"empty": pa.array([None] * n, pa.null())})
    buf = io.BytesIO()
    pq.write_table(
        table,
        buf,
        compression=draw(st.sampled_from(["snappy", "zstd", "gzip", "none"])),
        row_group_size=draw(st.sampled_from([None, 1, 7])),
    )
    raw = buf.getvalue()
    damage = draw(st.integers(0, 9))
    if damage == 0:  # truncated
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif damage == 1:  # bytes flipped somewhere
        pos = draw(st.integers(0, len(raw) - 1))
        raw = raw[:pos] + bytes([raw[pos] ^ 0xFF]) + raw[pos + 1 :]
    kwargs = {}
    if kind == "referrals" and draw(st.booleans()):
        kwargs["salt"] = SALT
    if kind == "referrals" and draw(st.integers(0, 3)) == 0:
        kwargs["allow_identifying"] = ["Surname", "DOB", "email"]
    return kind, raw, kwargs


def _parquet(case) -> None:
    kind, raw, kwargs = case
    event(f"kind: {kind}")
    run_loader(kind, Upload(f"{kind}.parquet", raw), **kwargs)


test_parquet_fuzz = FAST(given(parquet_case())(_parquet))
test_parquet_fuzz_slow = pytest.mark.slow(SLOW(given(parquet_case())(_parquet)))


# ----------------------------------------------------------------------------------------------
# GeoJSON with broken geometries and properties
# ----------------------------------------------------------------------------------------------
coord = st.one_of(st.floats(-2.0, -1.0), st.floats(52.6, 53.4), weird_float, st.sampled_from([430_000.0, 340_000.0]))
position = st.one_of(st.lists(coord, min_size=2, max_size=2), st.lists(coord, min_size=0, max_size=4), st.just("x"), st.none())


@st.composite
def geometry(draw: st.DrawFn):
    kind = draw(
        st.sampled_from(
            ["Point", "Point", "Point", "MultiPoint", "LineString", "Polygon", "GeometryCollection", "Nonsense", None]
        )
    )
    if kind is None:
        return None
    if kind == "Point":
        if draw(st.integers(0, 3)):
            return {"type": "Point", "coordinates": [draw(st.floats(-2.0, -1.0)), draw(st.floats(52.6, 53.4))]}
        return {"type": "Point", "coordinates": draw(position)}
    if kind in ("MultiPoint", "LineString"):
        return {"type": kind, "coordinates": draw(st.lists(position, max_size=3))}
    if kind == "Polygon":
        return {"type": kind, "coordinates": [draw(st.lists(position, max_size=5))]}
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [draw(geometry()) for _ in range(draw(st.integers(0, 2)))]}
    return {"type": kind, "coordinates": draw(position)}


json_value = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), text, nasty
    ),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)),
    max_leaves=6,
)


@st.composite
def geojson_case(draw: st.DrawFn):
    kind = draw(st.sampled_from(sorted(SCHEMAS)))
    names = [c for c in SCHEMAS[kind] if c not in ("lon", "lat", "longitude", "latitude", "easting", "northing")]
    feats = []
    for _ in range(draw(st.integers(0, 12))):
        props = {}
        for name in names:
            if draw(st.integers(0, 5)):
                props[name] = draw(GOOD[name].map(str) if name in GOOD and draw(st.booleans()) else json_value)
        if draw(st.integers(0, 6)) == 0:
            props[draw(text)] = draw(json_value)
        f: dict = {"type": "Feature", "geometry": draw(geometry())}
        shape = draw(st.integers(0, 12))
        if shape == 0:
            f["properties"] = None
        elif shape == 1:
            f["properties"] = draw(st.sampled_from([[], "x", 3]))
        elif shape == 2:
            del f["geometry"]
            f["properties"] = props
        else:
            f["properties"] = props
        if draw(st.integers(0, 8)) == 0:
            f["id"] = draw(json_value)
        feats.append(f)
    doc: dict = {"type": "FeatureCollection", "features": feats}
    if draw(st.integers(0, 8)) == 0:
        doc["crs"] = {
            "type": "name",
            "properties": {"name": draw(st.sampled_from(["EPSG:27700", "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:99999", "x"]))},
        }
    try:
        raw = json.dumps(doc, allow_nan=draw(st.booleans())).encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16"])))
    except ValueError:
        raw = b'{"type": "FeatureCollection", "features": []}'
    damage = draw(st.integers(0, 9))
    if damage == 0 and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif damage == 1:
        raw = b"\xef\xbb\xbf" + raw
    kwargs = {"salt": SALT} if kind == "referrals" and draw(st.booleans()) else {}
    return kind, raw, kwargs, draw(st.sampled_from([".geojson", ".json"]))


def _geojson(case) -> None:
    kind, raw, kwargs, ext = case
    event(f"kind: {kind}")
    run_loader(kind, Upload(f"{kind}{ext}", raw), **kwargs)


test_geojson_fuzz = FAST(given(geojson_case())(_geojson))
test_geojson_fuzz_slow = pytest.mark.slow(SLOW(given(geojson_case())(_geojson)))


# ----------------------------------------------------------------------------------------------
# ZIP archives of monthly police.uk files, some damaged
# ----------------------------------------------------------------------------------------------
def police_rows(draw: st.DrawFn, month: str) -> bytes:
    n = draw(st.integers(0, 6))
    good_lon, good_lat = st.floats(-2.0, -1.2).map(repr), st.floats(52.6, 53.4).map(repr)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    w.writerow(POLICE_UK_COLUMNS)
    for _ in range(n):
        good = draw(st.integers(0, 2))
        w.writerow(
            [
                "",
                draw(st.sampled_from([month, month, "", "2024-13"])),
                "F",
                "F",
                draw(good_lon if good else lon.map(repr)),
                draw(good_lat if good else lat.map(repr)),
                draw(st.one_of(text, nasty)),
                "E01",
                "L",
                draw(st.sampled_from(["Anti-social behaviour", "Drugs", ""])),
                "",
                "",
            ]
        )
    return buf.getvalue().encode(draw(st.sampled_from(["utf-8", "cp1252"])), errors="replace")


@st.composite
def zip_case(draw: st.DrawFn):
    months = [f"2024-{m:02d}" for m in range(1, draw(st.integers(1, 6)) + 1)]
    members = {}
    for m in months:
        name = f"{m}/{m}-derbyshire-street.csv"
        data = police_rows(draw, m)
        damage = draw(st.integers(0, 7))
        if damage == 0:
            data = data[: draw(st.integers(0, max(len(data) - 1, 0)))]
        elif damage == 1:
            data = draw(st.binary(max_size=64))
        elif damage == 2:
            name += ".gz"
            data = gzip.compress(data)[: draw(st.sampled_from([10, 10_000]))]
        members[name] = data
    if draw(st.booleans()):
        members[f"{months[0]}/{months[0]}-derbyshire-outcomes.csv"] = b"x"
    if draw(st.integers(0, 4)) == 0:
        members["__MACOSX/._x.csv"] = b"\x00\x05"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    raw = bytearray(buf.getvalue())
    if draw(st.integers(0, 5)) == 0 and len(raw) > 60:  # damage the compressed bytes
        pos = draw(st.integers(40, len(raw) - 23))
        raw[pos] ^= 0xA5
    return bytes(raw), draw(st.sampled_from(["police", "any"]))


def _zip(case) -> None:
    raw, how = case
    from hotspots.io import load_any

    fn = load_police_uk if how == "police" else (lambda x: load_any(x, "incidents"))
    try:
        result = fn(Upload("months.zip", raw))
    except Exception as exc:  # noqa: BLE001
        typed_error_on_purpose(exc)
        return
    check_result(result, "incident_id")


test_zip_fuzz = FAST(given(zip_case())(_zip))
test_zip_fuzz_slow = pytest.mark.slow(SLOW(given(zip_case())(_zip)))


# ----------------------------------------------------------------------------------------------
# The app's upload path: Streamlit-like uploaded files of every kind at once
# ----------------------------------------------------------------------------------------------
class FakeUploadedFile(io.BytesIO):
    """What ``st.file_uploader`` returns: a binary file object with ``name`` and ``size``."""

    def __init__(self, name: str, data: bytes):
        super().__init__(data)
        self.name, self.size = name, len(data)


@st.composite
def upload_file(draw: st.DrawFn, kind: str) -> FakeUploadedFile:
    how = draw(st.sampled_from(["csv", "csv", "parquet", "geojson", "zip", "gz", "junk"]))
    if kind == "incidents" and how in ("csv", "zip", "gz") and draw(st.integers(0, 3)):
        data = police_rows(draw, "2024-0" + str(draw(st.integers(1, 9))))
        name = "2024-01-derbyshire-street.csv"
    elif how in ("parquet",):
        k, data, _ = draw(parquet_case())
        name = "t.parquet"
    elif how == "geojson":
        k, data, _, ext = draw(geojson_case())
        name = "t" + ext
    elif how == "junk":
        data = draw(st.binary(max_size=200))
        name = draw(
            st.sampled_from(["a.csv", "a.parquet", "a.geojson", "a.zip", "a.csv.gz", "a.pkl", "<img src=x onerror=1>.csv", "a"])
        )
    else:
        df = pd.DataFrame(
            {
                c: draw(st.lists(st.one_of(GOOD[c].map(str) if c in GOOD else text, nasty), min_size=3, max_size=3))
                for c in draw(st.permutations(list(SCHEMAS[kind])))[: draw(st.integers(1, len(SCHEMAS[kind])))]
            }
        )
        data = df.to_csv(index=False).encode(draw(st.sampled_from(["utf-8", "cp1252", "utf-16"])), errors="replace")
        name = "t.csv"
    if how == "zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(name if name.endswith(".csv") else "t.csv", data)
        data, name = buf.getvalue(), "t.zip"
    elif how == "gz":
        data, name = gzip.compress(data), name + ".gz" if name.endswith(".csv") else "t.csv.gz"
    return FakeUploadedFile(name, data)


@st.composite
def app_upload_case(draw: st.DrawFn):
    files = {k: draw(st.lists(upload_file(k), max_size=3)) for k in ("incidents", "referrals", "tasks")}
    boundary = None
    if draw(st.integers(0, 3)) == 0:
        from test_io_fuzz import boundary_case  # noqa: PLC0415 - the boundary generator of the loader fuzz tests

        boundary = FakeUploadedFile("b.geojson", draw(boundary_case()))
    options = {
        "incident_columns": draw(
            st.sampled_from([{}, {"x": "lon", "y": "lat", "occurred": "date"}, {"x": "nope", "y": ""}, {"category": "<b>"}])
        ),
        "incident_crs": draw(st.sampled_from(["auto", 4326, 27700, 3857])),
        "police_categories": draw(st.sampled_from([None, "Anti-social behaviour"])),
        "max_bytes": draw(st.sampled_from([None, 500 * 1024 * 1024, 500 * 1024 * 1024, 400])),
    }
    return files, boundary, options


def _app_upload(case) -> None:
    files, boundary, options = case
    bundle, outcomes = load_uploads(
        incidents=files["incidents"], referrals=files["referrals"], tasks=files["tasks"], boundary=boundary, **options
    )
    given_kinds = {k for k, v in files.items() if v} | ({"boundary"} if boundary is not None else set())
    assert {o.kind for o in outcomes} == given_kinds
    order = ["incidents", "referrals", "tasks", "boundary"]
    assert [order.index(o.kind) for o in outcomes] == sorted(order.index(o.kind) for o in outcomes)
    for o in outcomes:
        event(f"{o.kind}: {'ok' if o.ok else 'error'}")
        if not o.ok:
            assert isinstance(o.error, str) and o.error.strip()
            assert "Traceback" not in o.error
        if o.report is not None:
            r = o.report
            assert r.rows_kept + r.rows_dropped == r.rows_read
    ok_incidents = [o for o in outcomes if o.kind == "incidents" and o.ok and o.rows > 0]
    assert (bundle is not None) == bool(ok_incidents)
    if bundle is not None:
        assert bundle.source == "files" and not bundle.shared
        loaded = sum(o.rows for o in ok_incidents)
        chosen = bundle.prepared.category  # the pipeline's category choice (ASB when mixed), announced
        if chosen.note:
            assert 0 < len(bundle.incidents) < loaded and chosen.note in bundle.notes
            assert set(bundle.incidents["category"]) == set(chosen.categories)
        else:
            assert len(bundle.incidents) == loaded
            check_result((bundle.incidents, ok_incidents[0].report), "incident_id")
        for frame, id_col in ((bundle.referrals, "referral_id"), (bundle.tasks, "task_id")):
            if frame is not None:
                assert frame[id_col].is_unique and len(frame) > 0
        if bundle.referrals is not None:
            assert not identifying_columns(bundle.referrals.columns)
            assert bundle.referrals["person_ref"].dropna().str.match(PERSON_REF_PATTERN.pattern).all()


test_app_upload_fuzz = FAST(given(app_upload_case())(_app_upload))
test_app_upload_fuzz_slow = pytest.mark.slow(SLOW_APP(given(app_upload_case())(_app_upload)))


# ----------------------------------------------------------------------------------------------
# One file of 10^6 rows (with damaged rows spread through it)
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow  # about 30 s
def test_a_million_rows_load_and_the_report_adds_up():
    n = 1_000_000
    rng = np.random.default_rng(0)
    lon_ = np.round(rng.uniform(-2.0, -1.2, n), 6).astype(str)
    lat_ = np.round(rng.uniform(52.6, 53.4, n), 6).astype(str)
    month = np.array([f"2024-{m:02d}" for m in rng.integers(1, 13, n)], dtype=object)
    bad = rng.choice(n, 2_000, replace=False)
    lon_[bad[:500]] = ""  # no location
    lat_[bad[500:1000]] = "inf"
    month[bad[1000:1500]] = "2024-13"  # unparseable month
    location = np.array(["On or near Market Place"] * n, dtype=object)
    location[bad[1500:]] = 'On or near "Quoted, Street"\nwith a newline'
    frame = pd.DataFrame(
        {
            "Crime ID": "",
            "Month": month,
            "Reported by": "Derbyshire Constabulary",
            "Falls within": "Derbyshire Constabulary",
            "Longitude": lon_,
            "Latitude": lat_,
            "Location": location,
            "LSOA code": "E01013451",
            "LSOA name": "Derby 001A",
            "Crime type": "Anti-social behaviour",
            "Last outcome category": "",
            "Context": "",
        }
    )
    raw = frame.to_csv(index=False).encode()
    data, report = load_police_uk(Upload("2024-big-street.csv", raw))
    assert report.rows_read == n
    assert report.rows_kept + report.rows_dropped == n
    assert report.rows_dropped == 1_500  # the quoted, multi-line locations are fine
    assert len(data) == report.rows_kept == n - 1_500 and data["incident_id"].is_unique
    assert np.isfinite(shapely.get_coordinates(np.asarray(data.geometry.values))).all()


def test_slow_variants_are_marked_and_their_counts_add_up():
    """With ``tests/test_io_fuzz.py`` (15,000), the ``--run-slow`` run makes over 20,000 cases."""
    slow = [test_parquet_fuzz_slow, test_geojson_fuzz_slow, test_zip_fuzz_slow, test_app_upload_fuzz_slow]
    assert all(any(m.name == "slow" for m in t.pytestmark) for t in slow)
    assert sum(t._hypothesis_internal_use_settings.max_examples for t in slow) == 5_500
    assert any(m.name == "slow" for m in test_a_million_rows_load_and_the_report_adds_up.pytestmark)
