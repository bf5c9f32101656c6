"""Property tests: random and malformed input for every loader.

Each case ends in one of two ways, never a third:

* a typed :class:`hotspots.HotspotsError` raised on purpose (its ``__cause__`` is empty: the
  loaders' last-resort wrapper, which turns an unexpected third-party exception into an
  InputError *with* a cause, must never be what fired), or
* a result whose report adds up (kept + dropped == read), with exactly ``rows_kept`` rows of
  valid, finite points in EPSG:27700 and unique ids.

The default run makes a few hundred cases; ``pytest --run-slow`` runs the ``slow`` variants,
which make over 10,000 in total.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import check_result, typed_error_on_purpose
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hotspots import PrivacyError
from hotspots.io import Upload, load_any, load_boundary, load_incidents, load_police_uk, load_referrals, load_tasks
from hotspots.privacy import PERSON_REF_PATTERN, identifying_columns, pseudonymise
from hotspots.schema import AGE_GROUPS, OFFENCES, OUTCOMES, POLICE_UK_COLUMNS, ROUTES, TASK_KINDS

FAST = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=2_500, deadline=None, suppress_health_check=list(HealthCheck))
SALT = "fuzzing-salt-0123456789"

# ----------------------------------------------------------------------------------------------
# Value strategies
# ----------------------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
nasty = st.sampled_from(
    [
        "",
        " ",
        '"',
        '""',
        ",",
        "\n",
        "\r\n",
        "a\nb",
        'x"y',
        "NaN",
        "nan",
        "inf",
        "-inf",
        "1e309",
        "NULL",
        "None",
        "é£€",
        "\t",
        "<script>",
    ]
)
lon = st.one_of(st.floats(-6.0, 1.7), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 180.0, -181.0, 53.0]))
lat = st.one_of(st.floats(50.0, 55.8), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 90.0, 91.0, -1.5]))
east = st.one_of(st.floats(380_000, 480_000), st.floats(-1e7, 1e7), st.floats(allow_nan=True, allow_infinity=True))
north = st.one_of(st.floats(300_000, 400_000), st.floats(-1e7, 1e7), st.floats(allow_nan=True, allow_infinity=True))


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy, tenths_good: int = 8) -> st.SearchStrategy:
    """``good`` about ``tenths_good``/10 of the time, else ``bad`` (so that many cases load rows)."""
    return st.integers(0, 9).flatmap(lambda i: good if i < tenths_good else bad)


def num_cell(values: st.SearchStrategy, good: st.SearchStrategy | None = None) -> st.SearchStrategy:
    garbage = st.one_of(values.map(repr), values.map(lambda v: f"{v:.6f}" if np.isfinite(v) else str(v)), nasty, text)
    return garbage if good is None else mostly(good.map(lambda v: f"{v:.6f}"), garbage)


uk_lon, uk_lat = st.floats(-3.0, 0.5), st.floats(51.5, 54.5)
uk_east, uk_north = st.floats(380_000, 480_000), st.floats(300_000, 400_000)


good_date = st.dates(min_value=pd.Timestamp("2020-01-01").date(), max_value=pd.Timestamp("2025-12-31").date()).map(str)
date_garbage = st.one_of(
    st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2100-12-31").date()).map(str),
    st.datetimes(min_value=pd.Timestamp("1980-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-12-31").to_pydatetime()).map(
        lambda d: d.strftime("%d/%m/%Y %H:%M")
    ),
    st.integers(1985, 2029).flatmap(lambda y: st.integers(0, 13).map(lambda m: f"{y}-{m:02d}")),
    st.sampled_from(
        ["2025-01-05T10:00:00Z", "2025-06-01 12:00:00+01:00", "Jan 2025", "31 Dec 2024", "2025-02-30", "9999-12-31", "0001-01-01"]
    ),
    nasty,
    text,
)
date_cell = mostly(good_date, date_garbage, 7)
id_cell = mostly(st.uuids().map(str), st.one_of(st.sampled_from(["", "a", "b", "c", "dup", "  a  "]), text), 6)
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]


@st.composite
def csv_bytes(draw: st.DrawFn, header: list[str], row: st.SearchStrategy) -> tuple[bytes, int | None, str]:
    """CSV bytes with random encoding, line endings, quoting and damage.

    Returns the bytes, the number of data records a csv-module reader sees (None when the
    file was damaged in ways where counting is ambiguous), and the encoding used.
    """
    rows = draw(st.lists(row, max_size=25))
    ragged = draw(st.booleans())
    if ragged:
        rows = [
            r if draw(st.integers(0, 4)) else r[: draw(st.integers(0, len(r)))] + draw(st.lists(text, max_size=3)) for r in rows
        ]
    buf = io.StringIO()
    w = csv.writer(
        buf,
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    if draw(st.integers(0, 20)) != 13:  # a middle value: hypothesis favours the ends
        w.writerow(header)
    w.writerows(rows)
    body = buf.getvalue()
    damaged = False
    if draw(st.integers(0, 6)) == 4:  # raw damage: unbalanced quotes, stray text, blank lines
        lines = body.split("\n")
        pos = (
            draw(st.integers(0, len(lines)))
            if draw(st.integers(0, 5)) == 3
            else draw(st.integers(min(1, len(lines)), len(lines)))
        )
        lines.insert(pos, draw(st.sampled_from(['"unterminated,field', "just text", "", " ", ",,,,", '"a""b",c'])))
        body = "\n".join(lines)
        damaged = True
    if draw(st.integers(0, 30)) == 17:
        body = ""
    enc = draw(st.sampled_from(ENCODINGS))
    raw = body.encode(enc, errors="replace")
    expected = None if damaged else _records(raw.decode(enc, errors="replace"))
    return raw, expected, enc


def _records(body: str) -> int | None:
    """Rows read as the loaders count them: the records after the header, and the blank lines between
    them (read and dropped as empty rows, as a line of only commas is); blank lines at the end are not rows."""
    body = body.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(body, newline="")))
    blank = [not r or (len(r) == 1 and not r[0].strip()) for r in rows]
    full = [i for i, b in enumerate(blank) if not b]
    if not full:
        return None
    inner = sum(blank[full[0] + 1 : full[-1]])
    if inner and any(len(rows[i]) != len(rows[full[0]]) for i in full):
        return None  # blank lines beside malformed rows: counted by where the good rows end (ambiguous here)
    return len(full) - 1 + inner


# ----------------------------------------------------------------------------------------------
# Checks
# ----------------------------------------------------------------------------------------------


def run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions appear
        typed_error_on_purpose(exc)
        return None


# ----------------------------------------------------------------------------------------------
# police.uk
# ----------------------------------------------------------------------------------------------

police_row = st.tuples(
    mostly(st.just(""), id_cell, 5),
    date_cell,
    text,
    text,
    num_cell(lon, uk_lon),
    num_cell(lat, uk_lat),
    st.one_of(text, nasty),
    text,
    text,
    st.sampled_from(["Anti-social behaviour", "Burglary", "Drugs", "", "anti-social behaviour"]),
    text,
    nasty,
).map(list)


@st.composite
def police_case(draw: st.DrawFn):
    header = list(POLICE_UK_COLUMNS)
    if draw(st.integers(0, 15)) == 7:
        header = draw(st.permutations(header))
    if draw(st.integers(0, 15)) == 9:
        header = header[: draw(st.integers(0, 11))]
    raw, expected, enc = draw(csv_bytes(header, police_row))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["categories"] = draw(st.sampled_from(["asb", ["Burglary", "Drugs"], "Nothing"]))
    if draw(st.booleans()):
        kwargs["months"] = draw(st.sampled_from([("2025-01", "2025-06"), ("2020-01", None), (None, "2024-12")]))
    if draw(st.booleans()):
        kwargs["study_area"] = shapely.Point(435_000, 336_000).buffer(draw(st.floats(1, 300_000)))
        kwargs["drop_outside"] = draw(st.booleans())
    name = draw(st.sampled_from(["2025-01-x-street.csv", "f.csv"]))
    return raw, expected, name, kwargs


def _police(case) -> None:
    raw, expected, name, kwargs = case
    result = run(load_police_uk, Upload(name, raw), **kwargs)
    if result is None:
        return
    check_result(result, "incident_id")
    data, report = result
    if expected is not None:
        assert report.rows_read == expected
    if "study_area" in kwargs and not kwargs["drop_outside"]:
        assert "in_study_area" in data.columns
    # Loading twice gives the same ids.
    again, _ = load_police_uk(Upload(name, raw), **kwargs)
    assert again["incident_id"].tolist() == data["incident_id"].tolist()


test_police_uk_fuzz = FAST(given(police_case())(_police))
test_police_uk_fuzz_slow = pytest.mark.slow(SLOW(given(police_case())(_police)))


# ----------------------------------------------------------------------------------------------
# Generic incident tables
# ----------------------------------------------------------------------------------------------


@st.composite
def incident_case(draw: st.DrawFn):
    mode = draw(st.sampled_from(["lonlat", "bng", "xy", "swapped"]))
    n = draw(st.integers(0, 25))
    if mode in ("lonlat", "swapped"):
        xs = draw(st.lists(num_cell(lon, uk_lon), min_size=n, max_size=n))
        ys = draw(st.lists(num_cell(lat, uk_lat), min_size=n, max_size=n))
        cols = ("lon", "lat") if mode == "lonlat" else ("lat", "lon")
    else:
        xs = draw(st.lists(num_cell(east, uk_east), min_size=n, max_size=n))
        ys = draw(st.lists(num_cell(north, uk_north), min_size=n, max_size=n))
        cols = ("Easting", "Northing") if mode == "bng" else ("x", "y")
    data = {cols[0]: xs, cols[1]: ys}
    if draw(st.booleans()):
        data[draw(st.sampled_from(["date", "occurred", "Month"]))] = draw(st.lists(date_cell, min_size=n, max_size=n))
    if draw(st.booleans()):
        data["id"] = draw(st.lists(id_cell, min_size=n, max_size=n))
    if draw(st.booleans()):
        data["category"] = draw(st.lists(st.one_of(text, nasty), min_size=n, max_size=n))
    if draw(st.integers(0, 4)) == 0:
        data["weight"] = draw(st.lists(num_cell(st.floats(-5, 5)), min_size=n, max_size=n))
    if draw(st.integers(0, 4)) == 0:
        data[draw(text)] = draw(st.lists(text, min_size=n, max_size=n))
    df = pd.DataFrame(data) if len({k for k in data}) == len(data) else pd.DataFrame({k: v for k, v in data.items()})
    kwargs = {}
    if draw(st.integers(0, 3)) == 0:
        kwargs["swap_xy"] = True
    if draw(st.integers(0, 3)) == 0:
        kwargs["crs"] = draw(st.sampled_from([4326, 27700, 3857, "EPSG:4326"]))
    if draw(st.integers(0, 3)) == 0:
        kwargs["study_area"] = shapely.box(-2.0, 52.6, -1.2, 53.5)
        kwargs["drop_outside"] = draw(st.booleans())
    if draw(st.integers(0, 4)) == 2 and (any(k in data for k in ("date", "occurred", "Month")) or draw(st.integers(0, 5)) == 3):
        kwargs["months"] = ("2024-01", "2025-12")
    container = draw(st.sampled_from(["frame", "csv", "parquet", "geojson"]))
    return df, container, kwargs, draw(st.sampled_from(ENCODINGS))


def _incidents(case) -> None:
    df, container, kwargs, enc = case
    if container == "frame":
        target = df
    elif container == "csv":
        target = Upload("t.csv", df.to_csv(index=False).encode(enc, errors="replace"))
    elif container == "parquet":
        buf = io.BytesIO()
        df.astype(str).to_parquet(buf)
        target = Upload("t.parquet", buf.getvalue())
    else:
        x, y = df.columns[0], df.columns[1]
        feats = []
        for _, r in df.iterrows():
            try:
                coords = [float(r[x]), float(r[y])]
                geom = {"type": "Point", "coordinates": coords} if all(np.isfinite(coords)) else None
            except (TypeError, ValueError):
                geom = None
            props = {str(k): str(v) for k, v in r.items() if k not in (x, y)}
            feats.append({"type": "Feature", "properties": props, "geometry": geom})
        target = Upload("t.geojson", json.dumps({"type": "FeatureCollection", "features": feats}).encode())
    before = df.copy()
    result = run(load_incidents, target, **kwargs)
    pd.testing.assert_frame_equal(df, before)  # the caller's frame is never modified
    if result is None:
        return
    check_result(result, "incident_id")
    data, report = result
    if container == "frame":
        assert report.rows_read == len(df)
    if "study_area" in kwargs and not kwargs["drop_outside"]:
        assert data["in_study_area"].dtype == bool


test_incidents_fuzz = FAST(given(incident_case())(_incidents))
test_incidents_fuzz_slow = pytest.mark.slow(SLOW(given(incident_case())(_incidents)))


# ----------------------------------------------------------------------------------------------
# Referrals
# ----------------------------------------------------------------------------------------------


def enum_cell(labels, extra=()):
    return mostly(
        st.one_of(st.sampled_from(list(labels) + list(extra)), st.sampled_from(list(labels)).map(str.upper)),
        st.one_of(nasty, text),
        9,
    )


bool_cell = mostly(st.sampled_from(["true", "False", "yes", "N", "1", "0", "", "1.0"]), st.one_of(st.just("maybe"), text), 9)


@st.composite
def referral_case(draw: st.DrawFn):
    n = draw(st.integers(0, 20))
    good_refs = [pseudonymise(str(i), SALT) for i in range(5)]
    data = {
        "referral_id": draw(st.lists(id_cell, min_size=n, max_size=n)),
        "person_ref": draw(
            st.lists(mostly(st.sampled_from(good_refs + [""]), st.sampled_from(["PNC1", "p_123"]), 9), min_size=n, max_size=n)
        ),
        "referred_at": draw(st.lists(date_cell, min_size=n, max_size=n)),
        "offence": draw(st.lists(enum_cell(OFFENCES, ["ASB", "shoplifting", "d&d"]), min_size=n, max_size=n)),
        "route": draw(st.lists(enum_cell(ROUTES, ["ABC", "VCO", "CR"]), min_size=n, max_size=n)),
        "age_group": draw(st.lists(enum_cell(AGE_GROUPS), min_size=n, max_size=n)),
        "contacted_at": draw(st.lists(date_cell, min_size=n, max_size=n)),
        "outcome": draw(st.lists(enum_cell(OUTCOMES), min_size=n, max_size=n)),
        "reoffended": draw(st.lists(bool_cell, min_size=n, max_size=n)),
        "first_time_entrant": draw(st.lists(bool_cell, min_size=n, max_size=n)),
        "longitude": draw(st.lists(num_cell(lon, uk_lon), min_size=n, max_size=n)),
        "latitude": draw(st.lists(num_cell(lat, uk_lat), min_size=n, max_size=n)),
    }
    drop = draw(st.sets(st.sampled_from(sorted(data)), max_size=3)) if draw(st.integers(0, 3)) == 0 else set()
    for k in drop:
        del data[k]
    ident = (
        draw(st.sets(st.sampled_from(["Surname", "DOB", "Home Address", "Postcode", "email"]), max_size=2))
        if draw(st.integers(0, 3)) == 0
        else set()
    )
    for k in ident:
        data[k] = draw(st.lists(text, min_size=n, max_size=n))
    kwargs = {}
    if ident and draw(st.booleans()):
        kwargs["allow_identifying"] = sorted(ident)
    if draw(st.booleans()):
        kwargs["salt"] = SALT
    return pd.DataFrame(data), kwargs, draw(st.sampled_from(["frame", "csv"])), draw(st.sampled_from(ENCODINGS))


def _referrals(case) -> None:
    df, kwargs, container, enc = case
    target = df if container == "frame" else Upload("r.csv", df.to_csv(index=False).encode(enc, errors="replace"))
    try:
        result = load_referrals(target, **kwargs)
    except Exception as exc:  # noqa: BLE001
        typed_error_on_purpose(exc)
        return
    check_result(result, "referral_id")
    data, report = result
    # Privacy holds whatever the data: nothing identifying survives, refs are pseudonymous.
    assert not identifying_columns(data.columns)
    assert data["person_ref"].dropna().str.match(PERSON_REF_PATTERN.pattern).all()
    flagged = identifying_columns(df.columns)
    assert set(flagged) <= set(kwargs.get("allow_identifying", []))
    # a value not recognised keeps its referral, the field "not recorded" (missing), never a new category
    assert (data["offence"].isin(OFFENCES) | data["offence"].isna()).all()
    assert (data["route"].isin(ROUTES) | data["route"].isna()).all()
    assert str(data["referred_at"].dtype) == "datetime64[ns]" and data["referred_at"].notna().all()


test_referrals_fuzz = FAST(given(referral_case())(_referrals))
test_referrals_fuzz_slow = pytest.mark.slow(SLOW(given(referral_case())(_referrals)))


def test_privacy_error_is_raised_exactly_when_required() -> None:
    """Deterministic companion of the fuzz test: identifying columns and raw refs always refuse."""
    base = pd.DataFrame({"referred_at": ["2025-01-01"], "offence": ["ASB"], "route": ["CR"], "lon": [-1.47], "lat": [52.92]})
    for col in ("Name", "Date of birth", "Address", "Post code", "Phone", "NHS Number"):
        with pytest.raises(PrivacyError, match="allow_identifying"):
            load_referrals(base.assign(**{col: ["x"]}))
    with pytest.raises(PrivacyError, match="salt="):
        load_referrals(base.assign(person_ref=["12345"]))


# ----------------------------------------------------------------------------------------------
# Tasks
# ----------------------------------------------------------------------------------------------


@st.composite
def task_case(draw: st.DrawFn):
    n = draw(st.integers(0, 20))
    data = {
        "task_id": draw(st.lists(id_cell, min_size=n, max_size=n)),
        "kind": draw(st.lists(enum_cell(TASK_KINDS, ["litter pick", "foodbank", "bird boxes"]), min_size=n, max_size=n)),
        "site_name": draw(st.lists(st.one_of(text, nasty), min_size=n, max_size=n)),
        "easting": draw(st.lists(num_cell(east, uk_east), min_size=n, max_size=n)),
        "northing": draw(st.lists(num_cell(north, uk_north), min_size=n, max_size=n)),
    }
    for k in draw(st.sets(st.sampled_from(sorted(data)), max_size=2)) if draw(st.integers(0, 3)) == 0 else ():
        del data[k]
    return pd.DataFrame(data), draw(st.sampled_from(["frame", "csv"])), draw(st.sampled_from(ENCODINGS))


def _tasks(case) -> None:
    df, container, enc = case
    target = df if container == "frame" else Upload("t.csv", df.to_csv(index=False).encode(enc, errors="replace"))
    result = run(load_tasks, target)
    if result is None:
        return
    check_result(result, "task_id")
    # a kind not among the known ones is kept as written (trimmed, never blank) and recorded as unrecognised
    kinds = result.data["kind"]
    other = kinds[~kinds.isin(TASK_KINDS)]
    assert other.notna().all() and (other.str.strip() == other).all() and (other != "").all()
    assert set(other) <= set((result.report.unrecognised or {}).get("kind", {}))


test_tasks_fuzz = FAST(given(task_case())(_tasks))
test_tasks_fuzz_slow = pytest.mark.slow(SLOW(given(task_case())(_tasks)))


# ----------------------------------------------------------------------------------------------
# Boundaries and arbitrary uploads
# ----------------------------------------------------------------------------------------------

coord = st.one_of(
    st.floats(-3, 1), st.floats(51, 54), st.floats(300_000, 500_000), st.floats(allow_nan=True, allow_infinity=True)
)


@st.composite
def boundary_case(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) < 6:  # a plausible box, in degrees or in BNG metres, maybe with a hole
        if draw(st.booleans()):
            x0, y0, w, h = draw(uk_lon), draw(uk_lat), draw(st.floats(0.001, 1.0)), draw(st.floats(0.001, 1.0))
        else:
            x0, y0, w, h = draw(uk_east), draw(uk_north), draw(st.floats(10, 50_000)), draw(st.floats(10, 50_000))
        ring = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0)]
        rings = [[list(p) for p in ring]]
        if draw(st.booleans()):
            f = draw(st.floats(0.1, 0.4))
            hole = [
                (x0 + f * w, y0 + f * h),
                (x0 + (1 - f) * w, y0 + f * h),
                (x0 + (1 - f) * w, y0 + (1 - f) * h),
                (x0 + f * w, y0 + f * h),
            ]
            rings.append([list(p) for p in hole])
        doc = {"type": "Feature", "properties": {"n": draw(text)}, "geometry": {"type": "Polygon", "coordinates": rings}}
        return json.dumps(doc).encode()
    ring = draw(st.lists(st.tuples(coord, coord), min_size=0, max_size=8))
    if ring and draw(st.booleans()):
        ring = ring + [ring[0]]
    coords = [[list(p) for p in ring]]
    gtype = draw(st.sampled_from(["Polygon", "Polygon", "Point", "LineString", "MultiPolygon"]))
    if gtype == "Point":
        geom = {"type": "Point", "coordinates": list(ring[0]) if ring else []}
    elif gtype == "LineString":
        geom = {"type": "LineString", "coordinates": coords[0]}
    elif gtype == "MultiPolygon":
        geom = {"type": "MultiPolygon", "coordinates": [coords]}
    else:
        geom = {"type": "Polygon", "coordinates": coords}
    wrap = draw(st.sampled_from(["bare", "feature", "collection"]))
    doc = geom if wrap == "bare" else {"type": "Feature", "properties": {}, "geometry": geom}
    if wrap == "collection":
        doc = {"type": "FeatureCollection", "features": [doc] * draw(st.integers(0, 2))}
    try:
        return json.dumps(doc, allow_nan=True).encode()
    except ValueError:
        return b"{}"


def _boundary(raw: bytes) -> None:
    try:
        g = load_boundary(Upload("b.geojson", raw))
    except Exception as exc:  # noqa: BLE001
        typed_error_on_purpose(exc)
        return
    event("result: boundary")
    assert g.crs.to_epsg() == 27700 and len(g) > 0
    geoms = np.asarray(g.geometry.values)
    assert shapely.is_valid(geoms).all() and np.isin(shapely.get_type_id(geoms), [3, 6]).all()
    assert np.isfinite(shapely.get_coordinates(geoms)).all()


test_boundary_fuzz = FAST(given(boundary_case())(_boundary))
test_boundary_fuzz_slow = pytest.mark.slow(SLOW(given(boundary_case())(_boundary)))

upload_name = st.sampled_from(
    ["a.csv", "a.csv.gz", "a.zip", "a.parquet", "a.gpkg", "a.geojson", "a.json", "a.pkl", "a.xlsx", "a", "a.txt"]
)
upload_bytes = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [b"PK\x03\x04", b"\x1f\x8b\x08\x00", b"PAR1", b"SQLite format 3\x00", b"\x80\x04\x95", b"{}", b"[]", b"a,b\n1,2\n"]
    ).flatmap(lambda head: st.binary(max_size=200).map(lambda tail: head + tail)),
)


def _upload(case) -> None:
    name, raw, kind = case
    try:
        result = load_any(Upload(name, raw), kind=kind)
    except Exception as exc:  # noqa: BLE001
        typed_error_on_purpose(exc)
        return
    if kind == "boundary":
        assert result.crs.to_epsg() == 27700
    else:
        check_result(result, {"incidents": "incident_id", "referrals": "referral_id", "tasks": "task_id"}[kind])


upload_case = st.tuples(upload_name, upload_bytes, st.sampled_from(["incidents", "referrals", "tasks", "boundary"]))
test_upload_fuzz = FAST(given(upload_case)(_upload))
test_upload_fuzz_slow = pytest.mark.slow(SLOW(given(upload_case)(_upload)))


def test_slow_runs_make_at_least_ten_thousand_cases() -> None:
    slow = [
        test_police_uk_fuzz_slow,
        test_incidents_fuzz_slow,
        test_referrals_fuzz_slow,
        test_tasks_fuzz_slow,
        test_boundary_fuzz_slow,
        test_upload_fuzz_slow,
    ]
    assert all(t.pytestmark[0].name == "slow" for t in slow)
    assert sum(t._hypothesis_internal_use_settings.max_examples for t in slow) >= 10_000
