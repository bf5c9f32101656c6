"""Privacy of referral data: pseudonymous person references only, identifying columns refused,
small person-level counts never shown by the app, referral locations only ever shown snapped.

The app tests upload a small referral set (30 referrals whose offence, route, age, outcome, task
and month groups include groups of 1–4 people) through the Data tab and look at everything the
app then renders: metrics and their help texts, tables, markdown and captions, and the map's
own JavaScript as sent to the browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import police_csv

from hotspots import ParameterError, PrivacyError
from hotspots.app_support import load_uploads
from hotspots.io import Upload, load_referrals
from hotspots.privacy import PERSON_REF_PATTERN, identifying_columns, pseudonymise
from hotspots.schema import REFERRAL_COLUMNS

pytest.importorskip("streamlit.testing.v1")
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 300
SALT = "a-long-secret-salt-held-by-the-force"
CENTRE = (435_300.0, 336_300.0)  # Derby, British National Grid
SNAP = 250.0  # the app's default referral square


# =============================================================================== person_ref
def _referral_frame(person_ids: list[str]) -> pd.DataFrame:
    n = len(person_ids)
    return pd.DataFrame(
        {
            "referral_id": [f"R{i}" for i in range(n)],
            "person_ref": person_ids,
            "referred_at": ["2023-08-01"] * n,
            "offence": ["anti-social behaviour"] * n,
            "route": ["community resolution"] * n,
            "lon": [-1.47] * n,
            "lat": [52.92] * n,
        }
    )


def test_raw_person_ids_are_refused_without_a_salt_and_never_echoed():
    raw = ["PNC-2019/0012345X", "CUST-998877"]
    with pytest.raises(PrivacyError) as info:
        load_referrals(_referral_frame(raw))
    msg = str(info.value)
    assert "salt=" in msg and "pseudonymise" in msg
    assert not any(r in msg for r in raw)
    # The same through the app's upload path (which never passes a salt).
    csv_bytes = _referral_frame(raw).to_csv(index=False).encode()
    inc = Upload("i.csv", police_csv(_demo_incidents()[:200]))
    bundle, outcomes = load_uploads(incidents=[inc], referrals=[Upload("refs.csv", csv_bytes)])
    ref = next(o for o in outcomes if o.kind == "referrals")
    assert not ref.ok and "pseudonymous" in ref.error and not any(r in ref.error for r in raw)
    assert bundle is not None and bundle.referrals is None


def test_raw_person_ids_are_pseudonymised_with_the_salt_and_not_kept():
    raw = ["PNC-2019/0012345X", "CUST-998877", "PNC-2019/0012345X"]
    df = _referral_frame(raw)
    data, report = load_referrals(df, salt=SALT)
    assert data["person_ref"].tolist() == [pseudonymise(r, SALT) for r in raw]
    assert data["person_ref"].str.match(PERSON_REF_PATTERN.pattern).all()
    assert data["person_ref"].iloc[0] == data["person_ref"].iloc[2] != data["person_ref"].iloc[1]  # repeats still countable
    # Neither the raw ids nor the salt survive anywhere: data, report, parameters.
    everything = data.astype(str).to_csv() + json.dumps(report.to_dict()) + repr(load_referrals(df, salt=SALT).params)
    for secret in raw + [SALT]:
        assert secret not in everything
    # A different salt gives unrelated references (the salt is what makes them unguessable).
    other, _ = load_referrals(df, salt=SALT + "-other")
    assert set(other["person_ref"]).isdisjoint(set(data["person_ref"]))
    # Already pseudonymous references are kept as they are.
    refs = [pseudonymise("a", SALT), pseudonymise("b", SALT)]
    kept, _ = load_referrals(_referral_frame(refs))
    assert kept["person_ref"].tolist() == refs
    assert df["person_ref"].tolist() == raw  # the caller's frame is untouched


@pytest.mark.parametrize("salt", ["short", "", 12345678901234567])
def test_a_weak_salt_is_refused(salt):
    with pytest.raises(ParameterError, match="salt"):
        load_referrals(_referral_frame(["X1"]), salt=salt)


# =============================================================================== identifying columns
IDENTIFYING = [
    "Forename",
    "D.O.B.",
    "Address Line 1",
    "Post Code",
    "Email",
    "Mobile",  # the brief's list
    "Surname",
    "First Name",
    "Full name",
    "Offender Name",
    "Name of offender",
    "Given Names",
    "Maiden name",
    "Alias",
    "Date of Birth",
    "DoB",
    "Date Of Birth (DD/MM/YYYY)",
    "Birth Date",
    "Year of birth",
    "YOB",
    "Home Address",
    "Address1",
    "Address 2",
    "Street Address",
    "Postal Address",
    "Postcode",
    "House Number",
    "E-mail",
    "Email Address",
    "Email_1",
    "Mobile No",
    "Mobile Number",
    "Phone No",
    "Phone 2",
    "Tel",
    "Telephone",
    "Telephone Number",
    "Contact Number",
    "NI Number",
    "National Insurance No",
    "PNC ID",
    "CRO Number",
    "NHS Number",
    "Passport No",
    "Driving Licence Number",
]
NOT_IDENTIFYING = [
    *(c for c in REFERRAL_COLUMNS if c != "geometry"),  # the canonical referral columns
    "lon",
    "lat",
    "easting",
    "northing",
    "town",
    "site_name",
    "task_site",
    "location",
    "lsoa_code",
    "Post Code District",
    "postcode_district",
    "area_name",
    "cells",
    "contacted",
    "first_contact",
    "email_sent",
    "Crime ID",
    "LSOA name",
    "Falls within",
]


def test_identifying_column_names_are_recognised():
    found = identifying_columns(IDENTIFYING)
    assert [c for c in IDENTIFYING if c not in found] == []
    assert identifying_columns(NOT_IDENTIFYING) == {}


@pytest.mark.parametrize("column", IDENTIFYING)
def test_a_referral_file_with_an_identifying_column_is_refused_unless_mapped_away(column):
    df = _referral_frame([pseudonymise("a", SALT)]).assign(**{column: ["Jane Q. Public, 1 High St, DE1 1AA"]})
    for target in (df, Upload("r.csv", df.to_csv(index=False).encode())):
        with pytest.raises(PrivacyError) as info:
            load_referrals(target)
        assert f"`{column}`" in str(info.value) and "allow_identifying" in str(info.value)
        assert "Jane" not in str(info.value)
    data, report = load_referrals(df, allow_identifying=[column])
    assert column not in data.columns and "Jane" not in data.astype(str).to_csv()
    assert any(column in n and "not kept" in n for n in report.notes)


# =============================================================================== the app
def _demo_incidents():
    from hotspots.demo import generate_demo

    inc = generate_demo(0).incidents
    centre = shapely.Point(*CENTRE)
    sel = (inc.geometry.distance(centre) < 5_000) & (inc["month"] >= "2023-01-01") & (inc["month"] < "2024-07-01")
    return inc[sel].iloc[:3000]


TASKS = pd.DataFrame(
    {
        "task_id": ["T01", "T02", "T03"],
        "kind": ["food bank", "litter picking", "allotment"],
        "site_name": ["Derby Food Bank", "Markeaton Park", "Darley Allotments"],
        "easting": [435_100.0, 433_300.0, 434_900.0],
        "northing": [336_500.0, 337_400.0, 338_100.0],
    }
)


def small_referrals(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """30 referrals whose groups (offence, route, age, outcome, task, month) include 1–4 people.

    Returns the table and the exact (unsnapped) locations in British National Grid.
    """
    rng = np.random.default_rng(seed)
    n = 30
    offences = (
        ["anti-social behaviour"] * 20
        + ["criminal damage"] * 4
        + ["public order"] * 3
        + ["shop theft"] * 2
        + ["cannabis possession"]
    )
    routes = ["community resolution"] * 25 + ["acceptable behaviour contract"] * 3 + ["conditional caution"] * 2
    ages = ["adult"] * 26 + ["youth"] * 4
    outcomes = ["completed"] * 21 + ["refused"] * 3 + ["withdrawn"] * 2 + ["in progress"] * 4
    tasks = ["T01"] * 22 + ["T02"] * 5 + ["T03"] * 3
    days = (
        [f"2023-08-{d:02d}" for d in rng.integers(1, 28, 12)]
        + [f"2023-09-{d:02d}" for d in rng.integers(1, 28, 14)]
        + [f"2023-10-{d:02d}" for d in rng.integers(1, 28, 4)]
    )
    xy = np.column_stack([CENTRE[0] + rng.uniform(-3_000, 3_000, n), CENTRE[1] + rng.uniform(-3_000, 3_000, n)])
    xy = np.round(xy, 1) + 0.37  # never on a square's centre by accident
    perm = [rng.permutation(n) for _ in range(6)]
    df = pd.DataFrame(
        {
            "referral_id": [f"IJ-{i:03d}" for i in range(n)],
            "person_ref": [pseudonymise(f"person-{i % 27}", SALT) for i in range(n)],
            "referred_at": [days[i] + " 10:00" for i in perm[0]],
            "offence": [offences[i] for i in perm[1]],
            "route": [routes[i] for i in perm[2]],
            "age_group": [ages[i] for i in perm[3]],
            "contacted_at": [days[i] + " 15:00" for i in perm[0]],
            "outcome": [outcomes[i] for i in perm[4]],
            "task_id": [tasks[i] for i in perm[5]],
            "reoffended": rng.choice(["true", "false"], n),
            "victim_satisfied": rng.choice(["true", "false", ""], n),
            "first_time_entrant": rng.choice(["true", "false"], n),
            "easting": xy[:, 0],
            "northing": xy[:, 1],
        }
    )
    # Two rows the loader drops (no location) and one it keeps with its offence not recorded (a group of 1).
    bad = df.iloc[:3].copy()
    bad["referral_id"] = ["IJ-900", "IJ-901", "IJ-902"]
    bad["easting"] = [np.nan, np.nan, xy[2, 0]]
    bad["northing"] = [np.nan, np.nan, xy[2, 1]]
    bad["offence"] = ["anti-social behaviour", "anti-social behaviour", "littering"]
    bad["age_group"] = ["youth", "youth", "adult"]  # the kept row leaves a small age group small
    return pd.concat([df, bad], ignore_index=True), xy


@pytest.fixture(scope="module")
def uploaded_app():
    """The app with the small referral set uploaded (incidents, referrals, task sites)."""
    refs, xy = small_referrals()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.session_state["view"] = "Data"
    at.run()
    at.file_uploader(key="up_incidents").set_value(("2023-derby-street.csv", police_csv(_demo_incidents()), "text/csv"))
    at.file_uploader(key="up_referrals").set_value(("referrals.csv", refs.to_csv(index=False).encode(), "text/csv"))
    at.file_uploader(key="up_tasks").set_value(("tasks.csv", TASKS.to_csv(index=False).encode(), "text/csv"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Your files" in c.value for c in at.sidebar.caption)
    return at, refs, xy


SMALL = {1, 2, 3, 4}
NOT_COUNTS = re.compile(
    # by the machine name or by the app's label for it (views.column_label: "Hotspot", "Area (km²)")
    r"(?i)(_pct|pct_|percent|\(%\)|share|median|distance|_m$|\(m\)|rate|ratio|hours|^month$|^where$|^hotspot$|^offence$"
    r"|^route$|^age_group$|^age group$|^area_id$|^rank$|confidence|area_km2|km²|density|^stage$|^class$|^cells$|^setting$"
    r"|^value$|^change$|^pattern$|^place$|^locations$|^hot cells$|^hotspot areas$"
    # incident counts (public police.uk data, not people)
    r"|^incidents$|^before$|^after$|^n_before$|^n_after$|^count$|^n_points$|^cluster$|^n_hot_cells$|^change_class$)"
)


def _small_counts(df: pd.DataFrame) -> list[tuple[str, object]]:
    """Person-level count cells of a displayed table that hold 1–4 (as a number or as text)."""
    bad = []
    for col in df.columns:
        if NOT_COUNTS.search(str(col)):
            continue
        for v in df[col].tolist():
            text = str(v).strip().replace(",", "")
            if re.fullmatch(r"[1-4](\.0+)?", text):
                bad.append((str(col), v))
    return bad


SMALL_TEXT = re.compile(r"(?<![\d.,–-])[1-4] (referrals?|people|persons?|individuals?)\b|Base: [1-4]\.")


def _rendered(at) -> dict[str, list]:
    return {
        "metrics": [(m.label, m.value, m.proto.help) for m in at.metric],
        "tables": [df.value for df in at.dataframe],
        "text": [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [w.value for w in at.warning]
        + [i.value for i in at.info]
        + [e.value for e in at.error],
    }


def _report_blocks(at, kind: str) -> list:
    """The Data tab's load-report boxes of one kind of input (the smallest block with its title)."""
    from streamlit.testing.v1.element_tree import Block

    def walk(node):
        yield node
        for child in getattr(node, "children", {}).values():
            if isinstance(child, Block):
                yield from walk(child)

    out = []
    for b in walk(at.main):
        titles = [m.value for m in b.markdown if re.match(r"^\*\*(incidents|referrals|tasks|boundary)\\?:", m.value)]
        if len(titles) == 1 and titles[0].startswith(f"**{kind}"):
            out.append(b)
    return out


def _check_no_small_counts(at, where: str) -> int:
    assert not at.exception, [e.value for e in at.exception]
    shown = _rendered(at)
    for block in _report_blocks(at, "referrals"):  # a referral file's report counts people
        for m in block.metric:
            assert m.value.replace(",", "") not in {"1", "2", "3", "4"}, f"{where}: referral report {m.label} = {m.value}"
    for label, value, help_text in shown["metrics"]:
        if label.lower().startswith(("referral", "people", "completed", "contacted")):
            assert value.replace(",", "") not in {"1", "2", "3", "4"}, f"{where}: metric {label} = {value}"
        assert not SMALL_TEXT.search(help_text or ""), f"{where}: metric {label} help {help_text!r}"
    checked = 0
    for df in shown["tables"]:
        bad = _small_counts(df)
        assert not bad, f"{where}: small counts {bad[:5]} in a table with columns {list(df.columns)}"
        checked += df.size
    for t in shown["text"]:
        assert not SMALL_TEXT.search(t), f"{where}: {t!r}"
    return checked


def test_the_app_never_shows_a_count_of_1_to_4_people(uploaded_app):
    from hotspots.kpis import scheme_kpis

    at, refs, _ = uploaded_app
    # The referral set has groups of 1-4 in every breakdown (else this test could not fail).
    loaded = load_referrals(Upload("referrals.csv", refs.to_csv(index=False).encode())).data
    for col in ("offence", "route", "age_group", "outcome", "task_id"):
        assert (loaded[col].value_counts() < 5).any(), col
    raw = scheme_kpis(loaded, by="offence").raw
    assert ((raw["referrals"] > 0) & (raw["referrals"] < 5)).any()
    _, report = load_referrals(Upload("referrals.csv", refs.to_csv(index=False).encode()))
    assert 0 < report.rows_dropped < 5  # the referral file's own load report has small counts too

    at.session_state["view"] = "Data"
    at.run()
    blocks = _report_blocks(at, "referrals")
    assert blocks and all("<5" in [m.value for m in b.metric if m.label == "Rows dropped"] for b in blocks)
    cells = _check_no_small_counts(at, "Data tab")

    at.session_state["view"] = "Scheme"
    at.run()
    assert any(m.label == "Referrals" for m in at.metric), [m.label for m in at.metric]
    cells += _check_no_small_counts(at, "Scheme tab")
    for by in ("offence", "route", "age_group", "hotspot", "month"):
        at.selectbox(key="kpi_by").set_value(by).run()
        cells += _check_no_small_counts(at, f"KPIs by {by}")
    # Filters down to small groups: the headline cards are suppressed, not 1-4.
    for key, value in (
        ("f_offence", ["criminal damage"]),
        ("f_offence", ["cannabis possession"]),
        ("f_route", ["conditional caution"]),
        ("f_age", ["youth"]),
    ):
        for k in ("f_offence", "f_route", "f_age"):
            at.multiselect(key=k).set_value([])
        at.multiselect(key=key).set_value(value).run()
        cells += _check_no_small_counts(at, f"filter {key}={value}")
        assert [m.value for m in at.metric if m.label == "Referrals"] == ["<5"]
    at.multiselect(key="f_age").set_value([]).run()
    for view in ("Map", "Before / after", "Analyst", "Data"):
        at.session_state["view"] = view
        at.run()
        cells += _check_no_small_counts(at, f"{view} tab")
    assert cells > 100


def _map_scripts(at) -> list[str]:
    """The JavaScript of every streamlit-folium map the app sent (its component arguments)."""
    out = []
    for el in at.get("component_instance"):
        args = json.loads(el.proto.json_args or "{}")
        if "script" in args:
            out.append(json.dumps(args))
    return out


_ROWS = re.compile(r"var labels = (\[.*?\]), colours = \[.*?\], rows = (\[.*?\]);", re.S)


def test_referral_locations_reach_the_map_only_as_square_centres(uploaded_app):
    from pyproj import Transformer

    at, refs, xy = uploaded_app
    at.session_state["view"] = "Map"
    at.run()
    assert not at.exception
    # Switched off (the default), the person-level layers send nothing at all.
    off = "\n".join(json.loads(s)["script"] + "\n" + (json.loads(s).get("feature_group") or "") for s in _map_scripts(at))
    assert not [lab for lab, _ in _ROWS.findall(off) if json.loads(lab)[:1] == ["Referrals"]]
    at.toggle(key="show_origins").set_value(True)
    at.toggle(key="show_flows").set_value(True)
    at.run()
    assert not at.exception
    scripts = _map_scripts(at)
    assert scripts, "no map was sent"
    js = "\n".join(json.loads(s)["script"] + "\n" + (json.loads(s).get("feature_group") or "") for s in scripts)
    layers = [(json.loads(lab), json.loads(rows)) for lab, rows in _ROWS.findall(js)]
    origins = [rows for labels, rows in layers if labels == ["Referrals", "Square"]]
    lines = [rows for labels, rows in layers if labels and labels[0] == "Referrals" and "Site" in labels]
    # the squares layer is sent unless no square holds 5 people (a square of fewer is not published at all)
    assert len(origins) <= 1 and len(lines) == 1, [labels for labels, _ in layers]
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)

    def bng(lat, lon):
        return np.array(to_bng.transform(lon, lat))

    def is_centre(p):
        k = p / SNAP - 0.5
        return np.all(np.abs(k - np.round(k)) * SNAP < 0.5)  # within 0.5 m (coordinates have 6 decimals)

    for lat, lon, *_ in (origins[0] if origins else []):
        assert is_centre(bng(lat, lon)), (lat, lon)
    task_xy = TASKS[["easting", "northing"]].to_numpy()
    assert len(lines[0]) > 0
    for lat0, lon0, lat1, lon1, width, _, shown_n, *_ in lines[0]:
        # flows start at a hotspot area or a town, never near a referral
        assert np.min(np.hypot(*(xy - bng(lat0, lon0)).T)) > 1.0
        assert np.min(np.hypot(*(task_xy - bng(lat1, lon1)).T)) < 0.5  # the other end is a task site
        assert shown_n in ("<5", "c", "x") or int(shown_n) >= 5
        if not str(shown_n).isdigit():
            assert width == 1.0  # every hidden flow is drawn alike
    # The squares' counts are shown protected; every hidden square is drawn alike.
    squares = origins[0] if origins else []
    shown = [r[4] for r in squares]
    assert all(s in ("<5", "c", "x") or int(s) >= 5 for s in shown)
    assert {r[2] for r in squares if not str(r[4]).isdigit()} <= {3.0}
    # No exact referral location appears anywhere in the maps' code (to 5 decimals, about 1 m),
    # in either coordinate order; no referral ids or person references either.
    to_ll = Transformer.from_crs(27700, 4326, always_xy=True)
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    pairs = {(round(float(a), 5), round(float(b), 5)) for a, b in re.findall(r"\[\s*(-?\d+\.\d+)\s*,\s*(-?\d+\.\d+)", js)}
    assert len(pairs) > 50
    for a, b in zip(lat, lon):
        p = (round(float(a), 5), round(float(b), 5))
        assert p not in pairs and p[::-1] not in pairs, p
    assert "IJ-0" not in js and not re.search(r"p_[0-9a-f]{16}", js)


# =============================================================================== helpers the app uses
def test_person_text_suppresses_counts_of_people_only():
    from hotspots.app_support import person_text

    assert (
        person_text("4 referral(s) have a re-offending flag but their 6-month window had not ended")
        == "<5 referral(s) have a re-offending flag but their 6-month window had not ended"
    )
    assert person_text("3 `person_ref` value(s) pseudonymised on load") == "<5 `person_ref` value(s) pseudonymised on load"
    assert person_text("1 row(s) repeat an id") == "<5 row(s) repeat an id"
    assert person_text("2 people") == "<5 people"
    for kept in (
        "12 referral(s) x",
        "0 referrals",
        "5 referrals",
        "task site within 2 km",
        "Counts of 1–4 people",
        "1,234 referrals",
        "hotspot 3 has",
        "2023-09-26",
    ):
        assert person_text(kept) == kept
    assert person_text("7 referrals", threshold=10) == "<10 referrals"


def test_report_view_of_a_referral_file_hides_small_counts_and_what_reveals_them():
    from hotspots.app_support import report_view
    from hotspots.report import LoadReport

    small = LoadReport(
        "r.csv", 30, 27, {"no location": 2, "unknown offence value": 1}, notes=["3 `person_ref` value(s) pseudonymised"]
    )
    v = report_view(small, person=True)
    assert (v.rows_read, v.rows_kept, v.rows_dropped) == ("–", "27", "<5")  # read - kept would give the 3
    assert v.reasons["rows"].tolist() == ["<5", "<5"] and v.notes == ("<5 `person_ref` value(s) pseudonymised",)
    assert "1–4" in v.help
    mixed = LoadReport("r.csv", 40, 30, {"no location": 7, "unknown offence value": 3})
    v = report_view(mixed, person=True)
    assert (v.rows_read, v.rows_dropped) == ("–", "–")  # 10 dropped - 7 would give the 3
    assert v.reasons["rows"].tolist() == ["7", "<5"]
    big = LoadReport("r.csv", 40, 30, {"no location": 10})
    v = report_view(big, person=True)
    assert (v.rows_read, v.rows_kept, v.rows_dropped) == ("40", "30", "10")
    # Example lines of a reason whose count is suppressed would give it away (3 lines for "<5").
    ex = LoadReport("r.csv", 40, 30, {"duplicate id": 3, "no location": 7},
                    examples={"duplicate id": ["r.csv:line 4", "r.csv:line 5", "r.csv:line 6"],
                              "no location": [f"r.csv:line {i}" for i in range(10, 15)]})
    v = report_view(ex, person=True)
    assert v.reasons.set_index("reason")["examples"].to_dict() == {
        "duplicate id": "", "no location": ", ".join(f"r.csv:line {i}" for i in range(10, 15))}
    v = report_view(ex, person=True, published={"rows_read": "c", "rows_kept": 30, "rows_dropped": 10,
                                                "dropped": {"duplicate id": "<5", "no location": "c"}})
    assert v.reasons["examples"].tolist() == ["", ""]  # a hidden 'c' count hides its lines too
    assert report_view(ex, person=False).reasons["examples"].str.len().min() > 0  # not people: all shown
    # Incidents and task sites are not people: shown as they are.
    v = report_view(small, person=False)
    assert (v.rows_read, v.rows_kept, v.rows_dropped) == ("30", "27", "3") and v.reasons["rows"].tolist() == [2, 1]
