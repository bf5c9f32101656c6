"""The sidebar's scheme start sets the before/after periods by the command line's rule (hotspots.periods.default_periods)."""

from __future__ import annotations

import datetime as dt

from hotspots.app_support.scheme_start import (
    notes_for_scheme_start,
    notes_with_scheme_start,
    scheme_start_bounds,
    scheme_start_choice,
)
from hotspots.periods import default_periods, month_options

MONTHS = month_options("2024-01", "2025-12")
START = {"period": ("2024-01", "2025-12"), "before": ("2024-01", "2024-12"), "after": ("2025-01", "2025-12")}


def test_a_scheme_start_sets_the_periods_as_the_command_line_does():
    got = scheme_start_choice(MONTHS, None, START, dt.date(2025, 3, 15))
    cli = default_periods("2024-01", "2025-12", "2025-03-15")  # what `--scheme-start 2025-03-15` chooses
    assert got.scheme_start == "2025-03-15"
    assert got.start["before"] == ("2024-03", "2025-02") == cli.before
    assert got.start["after"] == ("2025-03", "2025-12") == cli.after
    assert got.start["period"] == START["period"]  # the hotspot period is not the scheme start's
    assert got.note == cli.note and "scheme start (2025-03-15)" in got.note
    assert got.tag == "-2025-03-15"  # new sliders, starting at these periods


def test_the_datas_own_scheme_start_keeps_the_sliders():
    got = scheme_start_choice(MONTHS, "2025-01-01", START, dt.date(2025, 1, 1))
    assert got == (("2025-01-01"), START, "", None)
    assert scheme_start_choice(MONTHS, None, START, None) == (None, START, "", None)


def test_clearing_the_scheme_start_gives_the_periods_without_one():
    got = scheme_start_choice(MONTHS, "2025-01-01", START, None)
    cli = default_periods("2024-01", "2025-12", None)
    assert got.scheme_start is None and (got.start["before"], got.start["after"]) == (cli.before, cli.after)
    assert got.tag == "-none" and "no scheme start was given" in got.note


def test_a_single_month_keeps_the_sliders_and_says_why():
    got = scheme_start_choice(["2025-01"], None, START, dt.date(2025, 1, 1))
    assert got.start == START and got.tag == "" and "single month" in got.note


def test_the_box_offers_dates_either_side_of_the_data():
    assert scheme_start_bounds(MONTHS) == (dt.date(2014, 1, 1), dt.date(2035, 12, 1))


def test_the_notes_say_the_periods_the_typed_scheme_start_chose():
    notes = ("force: Essex", "scheme start: 2025-01-01, inferred from the first of the 40 referrals' dates",
             "before/after periods: no scheme start was given (...), so the first and second halves are compared", "cell size")
    assert notes_with_scheme_start(notes, None) == notes
    note = scheme_start_choice(MONTHS, None, START, dt.date(2025, 3, 15)).note
    assert notes_with_scheme_start(notes, note) == ("force: Essex", note, "cell size")
    assert notes_with_scheme_start(("force: Essex",), note) == ("force: Essex", note)


def test_every_surface_gets_the_notes_for_the_scheme_start_in_use():
    # Avon and Somerset 2025, scheme start 2025-04-01 typed in the sidebar: the Data tab said "no scheme start was given"
    months = month_options("2025-01", "2025-12")
    halves = default_periods("2025-01", "2025-12", None).note
    notes = ("force: Avon and Somerset", halves, "cell size")
    got = notes_for_scheme_start(notes, months, None, dt.date(2025, 4, 1))
    assert got[0] == "force: Avon and Somerset" and got[2] == "cell size"
    assert "no scheme start was given" not in got[1] and "Jan 2025" in got[1] and "Apr 2025" in got[1]
    assert "scheme start (2025-04-01)" in got[1]
    assert notes_for_scheme_start(notes, months, None, None) == notes  # the data's own (none): unchanged


def test_the_sidebar_line_counts_out_the_months_without_data():
    months = month_options("2025-01", "2025-12")
    got = scheme_start_choice(months, None, START, dt.date(2025, 6, 1), ["2025-06"])
    assert "6 of 7 months counted (left out: Jun 2025, no data)" in got.note
    assert got.note == default_periods("2025-01", "2025-12", "2025-06-01", without=["2025-06"]).note
    notes = notes_for_scheme_start(["before/after periods: old"], months, None, "2025-06-01", ["2025-06"])
    assert any("6 of 7 months counted" in n for n in notes)
