"""Tests for hotspots.io.dropped: the warning that most of a file's rows were dropped on load."""

from __future__ import annotations

import doctest
from pathlib import Path

import pandas as pd
import pytest
from helpers import load_csv

from hotspots import ParameterError
from hotspots.io import dropped as dropped_module
from hotspots.io import dropped_share_text, load_referrals
from hotspots.privacy import pseudonymise
from hotspots.report import LoadReport


def referrals_without_location(tmp_path: Path, n: int, lost: int) -> LoadReport:
    """A hand-made referral file of ``n`` rows (in Derby) whose first ``lost`` rows have no coordinates, loaded."""
    df = pd.DataFrame({
        "referral_id": [f"IJ-{i:03d}" for i in range(n)],
        "person_ref": [pseudonymise(f"person{i}", "a-long-secret-salt-for-tests") for i in range(n)],
        "referred_at": ["2024-10-01 10:00"] * n,
        "offence": ["ASB"] * n,
        "route": ["CR"] * n,
        "longitude": [-1.4746] * n,
        "latitude": [52.9225] * n,
    })
    df.loc[df.index[:lost], ["longitude", "latitude"]] = None
    _, report = load_csv(load_referrals, df, tmp_path / "referrals.csv")
    assert report.dropped == ({"no location": lost} if lost else {}) and report.rows_kept == n - lost
    return report


def test_a_referral_file_that_lost_most_rows_is_warned_about_in_a_band_with_the_reason(tmp_path):
    report = referrals_without_location(tmp_path, 60, 42)  # 70 %
    text = dropped_share_text(report, kind="referrals", check="check it")
    assert text == ("more than half of the referral file's rows were dropped (mostly: no location): the scheme's figures "
                    "describe the referrals kept only; check it")
    assert not any(str(k) in text for k in (42, 18, 60, 70))  # no count of people, no exact percentage


def test_more_than_90_percent_is_said_only_of_a_file_big_enough(tmp_path):
    assert dropped_share_text(referrals_without_location(tmp_path, 60, 57), kind="referrals").startswith(
        "more than 90 % of the referral file's rows were dropped (mostly: no location)")
    # 40 rows, 38 dropped: "more than 90 %" would leave 0 to 3 referrals kept (fewer than 5 possible counts)
    small = LoadReport("r.csv", 40, 2, {"no location": 38})
    assert dropped_share_text(small, kind="referrals").startswith("more than half of")
    assert dropped_share_text(small, kind="referrals", threshold=3).startswith("more than 90 % of")  # 40 >= 10 x 3
    # fewer rows than twice the threshold: no band is safe, nothing is said
    assert dropped_share_text(LoadReport("r.csv", 9, 1, {"no location": 8}), kind="referrals") is None


def test_a_clean_file_or_at_most_half_dropped_gives_no_warning(tmp_path):
    assert dropped_share_text(referrals_without_location(tmp_path, 12, 0), kind="referrals") is None
    assert dropped_share_text(LoadReport("r.csv", 100, 50, {"no location": 50}), kind="referrals") is None
    assert dropped_share_text(LoadReport("i.csv", 100, 50, {"no location": 50}), kind="incidents") is None
    assert dropped_share_text(LoadReport("i.csv", 0, 0), kind="incidents") is None


def test_blank_rows_copies_and_chosen_drops_are_not_rows_lost():
    # 20 records kept of 20 read: exact copies, blank rows, a copied file, a category not asked for do not count
    report = LoadReport("i.csv", 200, 20, {"duplicate row": 60, "empty row": 40, "copy of a.csv (same month loaded twice)": 50,
                                           "category not selected": 30})
    assert dropped_share_text(report, kind="incidents") is None
    # ... nor in the share: 30 lost of 50 records (not of 200 rows)
    more = LoadReport("i.csv", 230, 20, {**report.dropped, "no location": 30})
    assert dropped_share_text(more, kind="incidents").startswith("60 % of the incident rows were dropped (no location: 30)")


def test_a_reason_is_named_only_when_it_dropped_at_least_the_threshold():
    r = LoadReport("r.csv", 60, 20, {"no location": 36, "missing date": 4})
    assert "(mostly: no location)" in dropped_share_text(r, kind="referrals")
    r = LoadReport("r.csv", 20, 8, {"no location": 4, "missing date": 4, "duplicate id": 4})
    assert "(for several reasons)" in dropped_share_text(r, kind="referrals")
    r = LoadReport("r.csv", 90, 20, {"duplicate id": 10, "no location": 30, "missing date": 30})
    assert "(mostly: missing date; no location)" in dropped_share_text(r, kind="referrals")  # two at most, ties by name


def test_incidents_and_task_sites_give_the_exact_share_and_counts():
    r = LoadReport("i.csv", 1000, 499, {"no location": 480, "unparseable date": 20, "missing date": 1})
    text = dropped_share_text(r, kind="incidents", check="check it")
    assert text == ("50.1 % of the incident rows were dropped (no location: 480; unparseable date: 20; missing date: 1): "
                    "the hotspots are found from the rows kept only; check it")
    r = LoadReport("t.csv", 10, 1, {"no location": 6, "a": 1, "b": 1, "c": 1})
    text = dropped_share_text(r, kind="tasks")
    assert text.startswith("90 % of the task-site rows were dropped (no location: 6; a: 1; b: 1; ...)")
    assert "99.9 %" in dropped_share_text(LoadReport("i.csv", 1000, 1, {"no location": 999}), kind="incidents")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ParameterError, match="`kind` must be one of"):
        dropped_share_text(LoadReport("b.gpkg", 1, 1), kind="boundary")


def test_doctests():
    assert doctest.testmod(dropped_module).failed == 0
