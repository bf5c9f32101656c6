"""hotspots.app_support.uploads: the demo and uploaded files as data bundles, prepared like the CLI's inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers import police_csv

from hotspots.app_support import content_token, load_uploads
from hotspots.io import Upload, load_police_uk


def test_load_uploads_police_uk_csv(derby):
    data = police_csv(derby.iloc[:800], bad_rows=3)
    bundle, outcomes = load_uploads(incidents=[Upload("2023-derby-street.csv", data)], police_categories="Anti-social behaviour")
    ref_data, ref = load_police_uk(Upload("2023-derby-street.csv", data), categories="Anti-social behaviour")
    assert bundle is not None and bundle.source == "files" and not bundle.shared
    (o,) = outcomes
    assert o.ok and o.kind == "incidents" and o.report.to_dict() == ref.to_dict()
    assert o.report.rows_read == 803 and o.report.rows_kept == 800 and o.report.rows_dropped == 3
    assert len(bundle.incidents) == len(ref_data) == 800
    # In Derbyshire: the built-in study area is chosen, and said so.
    assert bundle.study_area is not None and "Derbyshire" in bundle.notes[0]
    assert (
        bundle.token
        == load_uploads(incidents=[Upload("2023-derby-street.csv", data)], police_categories="Anti-social behaviour")[0].token
    )


def test_load_uploads_reports_errors_as_messages(derby):
    bundle, outcomes = load_uploads(incidents=[Upload("junk.csv", b"\x00\x01\x02 not a table")])
    assert bundle is None
    (o,) = outcomes
    assert not o.ok and o.report is None and "junk.csv" in o.error
    # A referral file with a name column is refused (privacy), the incidents still load.
    refs = b"referral_id,name,referred_at,offence,route,longitude,latitude\nR1,Jane Doe,2023-08-01,harassment,ABC,-1.47,52.92\n"
    bundle, outcomes = load_uploads(
        incidents=[Upload("d.csv", police_csv(derby.iloc[:50]))], referrals=[Upload("refs.csv", refs)]
    )
    kinds = {o.kind: o for o in outcomes}
    assert kinds["incidents"].ok and not kinds["referrals"].ok
    assert "name" in kinds["referrals"].error.lower()
    assert bundle is not None and bundle.referrals is None
    assert "Jane Doe" not in kinds["referrals"].error
    # the fix names the app's checkbox, which drops them by the same rule (allow_identifying=True)
    from hotspots.io.referrals import DROP_IDENTIFYING_CONTROL

    assert f'tick "{DROP_IDENTIFYING_CONTROL}" by the referral upload' in kinds["referrals"].error
    ticked, outcomes = load_uploads(incidents=[Upload("d.csv", police_csv(derby.iloc[:50]))],
                                    referrals=[Upload("refs.csv", refs)], drop_identifying=True)
    kinds = {o.kind: o for o in outcomes}
    assert kinds["referrals"].ok and ticked.referrals is not None and "name" not in ticked.referrals.columns
    assert any(n.startswith("dropped identifying column(s) `name` on load") for n in kinds["referrals"].report.notes)
    assert "Jane Doe" not in ticked.referrals.astype(str).to_numpy().ravel().tolist()
    assert ticked.token != bundle.token  # the choice is part of what was loaded


def test_load_uploads_generic_table_with_mapping(derby):
    ll = derby.iloc[:200].to_crs(4326)
    df = pd.DataFrame(
        {"when": ll["month"].dt.strftime("%Y-%m-%d"), "E": ll.geometry.x.round(6), "N": ll.geometry.y.round(6), "what": "ASB"}
    )
    data = df.to_csv(index=False).encode()
    bundle, outcomes = load_uploads(
        incidents=[Upload("mine.csv", data)],
        incident_columns={"x": "E", "y": "N", "occurred": "when", "category": "what", "month": ""},
    )
    assert bundle is not None, outcomes[0].error
    assert len(bundle.incidents) == 200
    assert np.allclose(np.sort(bundle.incidents.geometry.x), np.sort(derby.iloc[:200].geometry.x), atol=0.5)


def test_content_token_depends_on_content_names_and_options():
    a = content_token([("incidents", "a.csv", b"1,2")], {"crs": "auto"})
    assert a == content_token([("incidents", "a.csv", b"1,2")], {"crs": "auto"})
    assert a != content_token([("incidents", "a.csv", b"1,3")], {"crs": "auto"})
    assert a != content_token([("incidents", "b.csv", b"1,2")], {"crs": "auto"})
    assert a != content_token([("referrals", "a.csv", b"1,2")], {"crs": "auto"})
    assert a != content_token([("incidents", "a.csv", b"1,2")], {"crs": 27700})
    # Boundaries between parts are unambiguous.
    assert content_token([("incidents", "ab", b"c")]) != content_token([("incidents", "a", b"bc")])


def test_demo_bundle(demo):
    assert demo.shared and demo.token == "demo-0"
    # Prepared as the CLI's --demo: the built-in outline, the periods around the scheme start.
    assert demo.study_area is not None and any("built-in Derbyshire outline" in n for n in demo.notes)
    assert (demo.defaults.before, demo.defaults.after) == (("2022-07", "2023-06"), ("2023-07", "2024-06"))
    assert [o.kind for o in demo.reports] == ["incidents", "referrals", "tasks"]
    assert demo.reports[0].report.rows_kept == len(demo.incidents)


def test_load_uploads_refuses_incidents_without_dates_or_rows(derby):
    ll = derby.iloc[:50].to_crs(4326)
    undated = pd.DataFrame({"lon": ll.geometry.x.round(6), "lat": ll.geometry.y.round(6)}).to_csv(index=False).encode()
    bundle, (o,) = load_uploads(incidents=[Upload("undated.csv", undated)])
    assert bundle is None and not o.ok and "dates" in o.error
    # Every row dropped: the report is kept (reasons) and the app keeps its data.
    empty = police_csv(derby.iloc[:0], bad_rows=3)
    bundle, (o,) = load_uploads(incidents=[Upload("2023-01-x-street.csv", empty)])
    assert bundle is None and not o.ok and o.report is not None and o.report.dropped == {"no location": 3}


def test_upload_tokens_belong_to_the_session_that_loaded_them(derby):
    data = police_csv(derby.iloc[:200])
    a, _ = load_uploads(incidents=[Upload("x.csv", data)], owner="session-a")
    again, _ = load_uploads(incidents=[Upload("x.csv", data)], owner="session-a")
    b, _ = load_uploads(incidents=[Upload("x.csv", data)], owner="session-b")
    assert a.token == again.token and a.token != b.token and not a.shared


def test_a_failed_upload_is_said_with_the_data_still_shown():
    from hotspots.app_support.uploads import LoadOutcome, failed_upload_text

    ok = LoadOutcome("incidents", ("a.csv",), rows=3)
    bad = LoadOutcome("referrals", ("r1.csv", "r2.csv"), error="`person_ref` looks like names. Remove the column.")
    worse = LoadOutcome("boundary", ("b.gpkg",), error="no polygons")
    assert failed_upload_text([ok], "demo data") is None
    assert failed_upload_text([ok, bad, worse], "demo data") == (
        "Your referrals files (r1.csv, r2.csv) could not be loaded (and 1 more file group): `person_ref` looks like "
        "names. Remove the column. The page still shows the earlier data (demo data); each file's load report is in the "
        "Data tab, under \"Load reports\" below the upload boxes."
    )


def test_a_mis_saved_police_file_is_said_whole_at_the_top_with_the_columns_and_the_fix():
    # a police.uk file resaved semicolon-separated with `Longitude` renamed `Long`: the top of the page said only
    # "cannot find coordinates" and sent the user to a Data tab that had nothing more
    from hotspots.app_support.text import app_wording
    from hotspots.app_support.uploads import failed_upload_text

    head = ("Crime ID;Month;Reported by;Falls within;Long;Latitude;Location;LSOA code;LSOA name;Crime type;"
            "Last outcome category;Context")
    data = (head + "\n;2025-04;Suffolk;Suffolk;1.15;52.05;On or near A;E01;Ipswich 001A;Anti-social behaviour;;\n").encode()
    bundle, outcomes = load_uploads(incidents=[Upload("2025-04-suffolk-street-excel.csv", data)])
    assert bundle is None
    text = app_wording(failed_upload_text(outcomes, "demo data"))
    assert "cannot find coordinates" in text and "`Long`, `Latitude`" in text  # the columns found
    assert "Expected longitude/latitude" in text  # and expected
    assert "Column mapping for tables that are not police.uk files" in text and "Load reports" in text  # the fix, and where


def test_outcome_caveat_names_the_referral_outcomes_left_out_of_the_completion_rate():
    from hotspots.app_support.uploads import DataBundle, LoadOutcome
    from hotspots.report import LoadReport

    report = LoadReport("r.csv", 10, 10, unrecognised={"outcome": {"DNC-X": 2}})
    bundle = DataBundle(prepared=None, source="files", label="x", token="t",
                        reports=(LoadOutcome("incidents", ("a.csv",)), LoadOutcome("referrals", ("r.csv",), report)))
    assert bundle.outcome_caveat().startswith("fewer than 5 referral outcome(s) were not recognised ('DNC-X')")
    assert "left out of the completion rate" in bundle.outcome_caveat()
    assert DataBundle(prepared=None, source="files", label="x", token="t").outcome_caveat() == ""


def test_a_referrals_file_added_to_loaded_incidents_is_used_at_once(derby, demo, demo_files):
    # Essex (tester): incidents loaded, then a referrals file on its own: it was reported "kept" but never used.
    inc = police_csv(derby.iloc[:400])
    first, _ = load_uploads(incidents=[Upload("2023-derby-street.csv", inc)], owner="s")
    assert first is not None and first.referrals is None and first.inputs is not None
    refs = demo_files["referrals"].read_bytes()
    added, outcomes = load_uploads(referrals=[Upload("refs.csv", refs)], owner="s", current=first)
    assert added is not None, outcomes
    assert added.referrals is not None and len(added.referrals) == outcomes[0].rows > 0
    assert added.incidents is first.incidents or len(added.incidents) == len(first.incidents) == 400
    assert [o.kind for o in added.reports] == ["incidents", "referrals"] and added.reports[1] is outcomes[0]
    assert added.token != first.token and added.token.startswith("files-") and not added.shared
    assert "refs.csv" in added.label and first.label in added.label
    # the scheme start now follows the referrals, as when both files are loaded together
    both, _ = load_uploads(incidents=[Upload("2023-derby-street.csv", inc)], referrals=[Upload("refs.csv", refs)], owner="s")
    assert added.defaults.scheme_start == both.defaults.scheme_start
    assert added.defaults.before == both.defaults.before and added.defaults.after == both.defaults.after
    # a tasks file added next keeps those referrals
    more, _ = load_uploads(tasks=[Upload("tasks.csv", demo_files["tasks"].read_bytes())], owner="s", current=added)
    assert more.referrals is added.referrals and more.tasks is not None
    assert [o.kind for o in more.reports] == ["incidents", "referrals", "tasks"]
    # the demo data keep their own (synthetic) scheme data: nothing is added, the outcome is still reported
    none, (o,) = load_uploads(referrals=[Upload("refs.csv", refs)], current=demo)
    assert none is None and o.ok and o.kind == "referrals"


def test_a_file_of_incidents_at_one_place_fails_its_upload_and_the_app_keeps_its_data(derby):
    """Uploading 300 incidents at one point replaced the whole page (every tab) with a Gi* error."""
    one = derby.iloc[:30].copy()
    one["geometry"] = one.geometry.iloc[0]
    up = [Upload("2023-derby-street.csv", police_csv(one))]
    bundle, (o,) = load_uploads(incidents=up, police_categories="Anti-social behaviour")
    assert bundle is None and not o.ok and "30 incidents at 1 distinct location" in o.error
    assert o.report is not None and o.report.rows_kept == 30  # its load report is still shown in the Data tab
