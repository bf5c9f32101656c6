"""hotspots.periods: Period, month helpers, incident dates and the default before/after periods."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotspots import change
from hotspots._errors import ParameterError
from hotspots.periods import (
    Period,
    PeriodChoice,
    default_periods,
    filter_period,
    month_options,
    month_range,
    parse_period,
    periods_around,
)


def incidents(months: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"month": pd.to_datetime(months)}, geometry=gpd.points_from_xy(np.zeros(len(months)), np.zeros(len(months))), crs=27700
    )


# =============================================================================== Period
def test_period_is_the_one_in_change():
    # change.py takes Period from here (one type: isinstance checks across modules agree).
    assert change.Period is Period and change.periods_around is periods_around


def test_period_lengths_and_text():
    p = Period("2022-07-01", "2023-06-30")
    assert (p.days, p.months, p.is_month_aligned) == (365, 12, True)
    assert p.describe() == "Jul 2022 – Jun 2023"
    assert Period.from_months("2024-02", "2024-02", "after").describe() == "after: Feb 2024"
    with pytest.raises(ParameterError, match="end after it starts"):
        Period("2023-01-02", "2023-01-01")


def test_parse_period_forms():
    p = parse_period("2022-07:2023-06")
    assert (p.start.isoformat(), p.end.isoformat()) == ("2022-07-01", "2023-06-30")
    assert parse_period(("2022-07", "2023-06")) == p
    assert parse_period(p) is p
    for bad in ("2022-07", ("2022-07",), 5):
        with pytest.raises(ParameterError):
            parse_period(bad)


def test_periods_around_the_scheme_start():
    b, a = periods_around("2023-07-01", 12)
    assert (b.start, b.end, a.start, a.end) == (
        dt.date(2022, 7, 1),
        dt.date(2023, 6, 30),
        dt.date(2023, 7, 1),
        dt.date(2024, 6, 30),
    )


# =============================================================================== filter
def test_filter_period_keeps_the_months_inside():
    inc = incidents(["2023-01-01", "2023-02-01", "2023-03-01", "2023-04-01"])
    kept = filter_period(inc, Period.from_months("2023-02", "2023-03"))
    assert kept["month"].dt.strftime("%Y-%m").tolist() == ["2023-02", "2023-03"]
    assert filter_period(inc, None) is inc


# =============================================================================== months
def test_month_options_and_range():
    assert month_options("2022-11", "2023-02") == ["2022-11", "2022-12", "2023-01", "2023-02"]
    assert month_range(incidents(["2023-03-01", "2022-11-01", "2023-01-01"])) == ("2022-11", "2023-03")
    with pytest.raises(ParameterError):
        month_options("2023-02", "2022-11")
    with pytest.raises(ParameterError, match="no dates"):
        month_range(pd.DataFrame({"month": [None, None]}))


@given(st.integers(2000, 2030), st.integers(1, 12), st.integers(0, 60))
def test_month_options_count_and_order(year, month, extra):
    first = f"{year}-{month:02d}"
    last = str(np.datetime64(first, "M") + extra)
    opts = month_options(first, last)
    assert len(opts) == extra + 1 and opts[0] == first and opts[-1] == last and opts == sorted(opts)


# =============================================================================== default periods
@pytest.mark.parametrize(
    ("first", "last", "before", "after", "rule"),
    [
        ("2022-01", "2025-03", ("2022-07", "2023-06"), ("2023-07", "2024-06"), "scheme start"),  # the demo: 12 either side
        ("2023-03", "2023-10", ("2023-03", "2023-06"), ("2023-07", "2023-10"), "scheme start"),  # cut to the data
        ("2024-01", "2024-12", ("2024-01", "2024-06"), ("2024-07", "2024-12"), "halves"),  # scheme start before: halves
        ("2023-07", "2024-02", ("2023-07", "2023-10"), ("2023-11", "2024-02"), "halves"),  # starts at the scheme start
        ("2024-01", "2024-11", ("2024-01", "2024-05"), ("2024-07", "2024-11"), "halves"),  # odd: the middle month left out
        ("2024-01", "2025-12", ("2024-01", "2024-12"), ("2025-01", "2025-12"), "whole years"),  # 24 months: two years
        ("2023-10", "2026-03", ("2024-04", "2025-03"), ("2025-04", "2026-03"), "whole years"),  # 30: the latest two years
        ("2018-01", "2021-12", ("2018-01", "2019-12"), ("2020-01", "2021-12"), "whole years"),  # 48, scheme start after
    ],
)
def test_default_periods(first, last, before, after, rule):
    choice = default_periods(first, last, "2023-07-01")
    assert isinstance(choice, PeriodChoice)
    assert (choice.before, choice.after, choice.rule) == (before, after, rule)
    b, a = choice.periods()
    assert not b.overlaps(a) and b.label == "before" and a.label == "after"
    assert b.describe().split(": ")[1] in choice.note and a.describe().split(": ")[1] in choice.note


def test_default_periods_say_why():
    assert "cut to the data's months (4 and 4 months)" not in default_periods("2023-03", "2023-10", "2023-07-01").note
    assert "cut to the data's months (4 and 12 months)" in default_periods("2023-03", "2024-12", "2023-07-01").note
    # a scheme start in the data's last month: "(11 and 1 months)" (City of London, --scheme-start 2025-12-01)
    assert "cut to the data's months (11 months and 1 month)" in default_periods("2025-01", "2025-12", "2025-12-01").note
    halves = default_periods("2024-01", "2024-11", "2023-07-01").note
    assert "lies before the data's months" in halves and "middle month, Jun 2024, is left out" in halves
    assert "seasonal" in halves
    years = default_periods("2024-01", "2025-12", "2023-07-01").note
    assert "same calendar months" in years
    assert "lies after the data's months" in default_periods("2018-01", "2021-12", "2023-07-01").note


def test_a_scheme_start_inside_a_month_says_the_whole_month_counts_as_after():
    mid = default_periods("2025-01", "2025-12", "2025-02-15")
    assert (mid.before, mid.after) == (("2025-01", "2025-01"), ("2025-02", "2025-12"))
    assert mid.note.endswith(
        "; the scheme start falls inside Feb 2025, and periods are whole calendar months (police.uk dates incidents by "
        "month only), so all of Feb 2025 counts as after, its 14 days before the start too"
    )
    assert "1 day before the start too" in default_periods("2025-01", "2025-12", "2025-02-02").note
    assert "whole calendar months" not in default_periods("2025-01", "2025-12", "2025-02-01").note


@given(st.integers(2, 80), st.integers(-40, 100))
def test_default_periods_are_inside_the_data_and_comparable(n, offset):
    first = "2020-01"
    last = str(np.datetime64(first, "M") + n - 1)
    start = str(np.datetime64(first, "M") + offset) + "-01"
    c = default_periods(first, last, start)
    opts = month_options(first, last)
    for p in (c.before, c.after):
        assert p[0] in opts and p[1] in opts and p[0] <= p[1]
    assert c.before[1] < c.after[0]
    b, a = c.periods()
    if c.rule == "whole years":
        assert b.months == a.months and b.months % 12 == 0
        assert {d.month for d in b.month_starts} == {d.month for d in a.month_starts} == set(range(1, 13))
    elif c.rule == "halves":
        assert b.months == a.months == n // 2
    else:
        assert a.start.isoformat() == start and 1 <= b.months <= 12 and 1 <= a.months <= 12


def test_default_periods_need_two_months():
    with pytest.raises(ParameterError, match="single month"):
        default_periods("2024-01", "2024-01", "2023-07-01")
    with pytest.raises(ParameterError, match="months"):
        default_periods("2023-01", "2024-01", "2023-07-01", months=0)


def test_selection_treats_alike_compares_the_shares_each_period_has_in_the_selection():
    from hotspots.periods import selection_shares, selection_treats_alike

    p, b, a = (Period.from_months(f"{y}-01", f"{y}-12") for y in (2022, 2023, 2024))
    assert selection_treats_alike(Period.from_months("2022-01", "2024-12"), (p, b, a))
    assert selection_treats_alike(Period.from_months("2019-01", "2021-12"), (p, b, a))  # none of any
    assert not selection_treats_alike(Period.from_months("2022-01", "2022-12"), (p, b, a))
    assert not selection_treats_alike(None, (p, b, a))
    half = Period.from_months("2022-07", "2024-12")
    assert selection_shares(half, (p, b, a)) == pytest.approx([184 / 365, 1.0, 1.0])
    assert not selection_treats_alike(half, (p, b, a))


def test_default_periods_without_a_scheme_start_come_from_the_data_alone():
    """No scheme start known (real data, none given): the data's months choose, as when the
    scheme start lies outside them; the note says none was given."""
    for first, last in (("2022-01", "2025-03"), ("2023-03", "2023-10"), ("2024-01", "2025-12"), ("2024-01", "2024-11")):
        choice = default_periods(first, last)
        assert choice.rule in ("halves", "whole years") and "no scheme start was given" in choice.note
        outside = default_periods(first, last, "2030-01-01")
        assert (choice.before, choice.after, choice.rule) == (outside.before, outside.after, outside.rule)
    # the demo's span: the latest two whole years, not twelve months either side of July 2023
    assert default_periods("2022-01", "2025-03").before == ("2023-04", "2024-03")
    with pytest.raises(ParameterError, match="single month"):
        default_periods("2025-01", "2025-01")


def test_scheme_start_text_says_when_the_periods_do_not_straddle_the_start():
    from hotspots.periods import Period, scheme_start_text

    h1, h2 = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    assert scheme_start_text("2025-07-01", h1, h2) == "scheme start 2025-07-01"
    assert scheme_start_text("2025-06-15", h1, h2).startswith("the scheme start (2025-06-15) falls inside the before period")
    assert scheme_start_text("2025-07-02", h1, h2).startswith("the scheme start (2025-07-02) falls inside the after period")
    assert scheme_start_text("2026-03-01", h1, h2).startswith("both periods are before the scheme start (2026-03-01)")
    assert scheme_start_text("2025-01-01", h1, h2).startswith("both periods are after the scheme start (2025-01-01)")
    assert scheme_start_text(None, h1, h2) == ""
    # a gap between the periods around the start is still a before/after
    assert scheme_start_text("2025-08-10", Period.from_months("2025-01", "2025-06"),
                             Period.from_months("2025-09", "2025-12")) == "scheme start 2025-08-10"


def test_short_period_text_warns_below_three_months():
    from hotspots.periods import SHORT_PERIOD_MONTHS, short_period_text

    assert SHORT_PERIOD_MONTHS == 3
    jan, rest = Period.from_months("2025-01", "2025-01"), Period.from_months("2025-02", "2025-12")
    text = short_period_text(jan, rest)
    assert "the before period is 1 month (Jan 2025, 31 days) against 11 months (Feb 2025 – Dec 2025, 334 days)" in text
    assert "mostly chance and season" in text and "at least 3 months" in text
    after = short_period_text(Period.from_months("2024-01", "2024-12"), Period.from_months("2025-01", "2025-02"))
    assert after.startswith("Short period: the after period is 2 months (Jan 2025 – Feb 2025, 59 days) against 12 months")
    both = short_period_text(jan, Period.from_months("2025-02", "2025-02"))
    assert "both periods are short: before 1 month" in both and "after 1 month (Feb 2025, 28 days)" in both
    assert short_period_text(Period.from_months("2025-01", "2025-03"), Period.from_months("2025-04", "2025-06")) is None


def test_default_periods_count_the_months_with_data_as_the_change_does():
    """Lincolnshire 2025 with June removed and a scheme start of 2025-06-01: the sidebar said "cut to the data's months
    (5 and 7 months)" while the change said "6 of 7 months counted; left out: Jun 2025, no data"."""
    got = default_periods("2025-01", "2025-12", "2025-06-01", without=["2025-06"])
    assert (got.before, got.after) == (("2025-01", "2025-05"), ("2025-06", "2025-12"))
    assert "cut to the data's months (5 and 7 months); 5 of 5 and 6 of 7 months counted (left out: Jun 2025, no data)" in got.note
    # months in runs, as the change's line says them (Avon and Somerset: "May 2025, Jun 2025, Jul 2025, Aug 2025, ...")
    gaps = default_periods("2025-01", "2025-12", "2025-07-01", without=["2025-05", "2025-06", "2025-07", "2025-08", "2025-10"])
    assert "4 of 6 and 3 of 6 months counted (left out: May 2025 – Aug 2025, Oct 2025, no data)" in gaps.note
    # a month without data outside both periods, or none: nothing more said
    assert "counted" not in default_periods("2025-01", "2025-12", "2025-06-01").note
    assert "counted" not in default_periods("2024-01", "2025-12", "2025-06-01", without=["2024-02"]).note


def test_selection_caveats_mark_only_the_significant_change_the_choice_of_months_predicts():
    from hotspots.periods import SELECTION_CAVEAT, selection_caveats, selection_favours

    before, after = Period.from_months("2025-04", "2025-06"), Period.from_months("2025-07", "2025-09")
    side = selection_favours(Period.from_months("2025-01", "2025-06"), before, after)  # Nottinghamshire's run
    assert side == "fall"
    classes = ["significant fall", "significant rise", "no significant change", "too few incidents"]
    assert selection_caveats(classes, side).tolist() == [SELECTION_CAVEAT, None, None, None]
    assert selection_caveats(classes, "rise").tolist() == [None, SELECTION_CAVEAT, None, None]
    assert selection_caveats(classes, None).tolist() == [None] * 4
