"""hotspots.io.months: the Month column in every form a spreadsheet leaves it, file-name months, repeated headers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots.io.months import month_label, name_month, parse_month_column, repeated_header_rows

JUN_2025 = 2025 * 12 + 5
ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def months_of(values, **kw) -> list[str]:
    c = parse_month_column(pd.Series(values, dtype=object), **kw)
    return [month_label(int(m)) if m >= 0 else "" for m in c.month]


# --- file names --------------------------------------------------------------------------------


def test_name_month_reads_police_uk_names_only():
    assert name_month("2025-06-suffolk-street.csv") == JUN_2025
    assert name_month("2025-06/2025-06-suffolk-street.csv.gz") == JUN_2025  # the folder does not count
    assert name_month("2025-06-suffolk-street (1).csv") == JUN_2025
    assert name_month("folder/a.csv") is None
    assert name_month("2025-13-suffolk-street.csv") is None  # no month 13
    assert name_month("suffolk-2025-06.csv") is None  # the month must lead the name


def test_name_month_anywhere_finds_a_month_inside_the_name_but_not_inside_a_longer_number():
    assert name_month("suffolk-2025-06.csv", anywhere=True) == JUN_2025
    assert name_month("C:\\data\\asb 2025-06 (copy).csv", anywhere=True) == JUN_2025  # Windows folders ignored
    assert name_month("2025-06/asb.csv", anywhere=True) is None  # the folder does not count
    assert name_month("id12025-06.csv", anywhere=True) is None  # 12025 is not a year
    assert name_month("2025-061.csv", anywhere=True) is None
    assert name_month("1850-06.csv", anywhere=True) is None


# --- forms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2025-06", "2025/06", "Jun 2025", "June 2025", "Jun-25", "jun-2025", "1-Jun-25", "01 June 2025", "2025-06-01",
     "2025-06-01 00:00:00", "01/06/2025", "01/06/25", "1.6.2025", "01/06/2025 00:00", "45809", "06/2025", "6/2025"],
)
def test_every_accepted_form_of_june_2025_is_june(value):
    assert months_of([value, value]) == ["2025-06", "2025-06"]


def test_other_date_forms_the_day_parser_knows_still_give_their_month():
    assert months_of(["2025-06-15T10:00:00Z", "5 Jun 2025 10:30", "2025/06/30 23:59"]) == ["2025-06"] * 3


def test_excel_forms_say_how_they_were_read():
    assert "two-digit year" in parse_month_column(pd.Series(["Jun-25"])).notes[0]
    assert "Excel day numbers" in parse_month_column(pd.Series(["45809"])).notes[0]
    assert parse_month_column(pd.Series(["2025-06", "01/06/2025"])).notes == []  # nothing ambiguous


def test_blank_and_unparseable_values_are_told_apart():
    c = parse_month_column(pd.Series(["2025-13", "", None, "Month", "Junk 2025", "32/13/2025", "2025-06"], dtype=object))
    assert c.blank.tolist() == [False, True, True, False, False, False, False]
    assert c.bad.tolist() == [True, False, False, True, True, True, False]
    assert c.month[-1] == JUN_2025 and (c.month[:-1] == -1).all()


def test_typed_datetimes_give_their_month():
    c = parse_month_column(pd.Series(pd.to_datetime(["2025-06-01", "2025-07-15", None])))
    assert c.month.tolist() == [JUN_2025, JUN_2025 + 1, -1] and c.blank.tolist() == [False, False, True]


# --- day-first or month-first ------------------------------------------------------------------


def test_us_dates_of_each_months_first_day_are_read_month_first_with_a_note():
    c = parse_month_column(pd.Series(["6/1/2025", "7/1/2025", "12/1/2025"]))
    assert [month_label(int(m)) for m in c.month] == ["2025-06", "2025-07", "2025-12"]
    assert len(c.notes) == 1 and "read month-first" in c.notes[0] and "6/1/2025 = Jun 2025" in c.notes[0]


def test_uk_first_days_are_day_first_and_january_reads_the_same_either_way():
    assert months_of(["01/06/2025", "01/07/2025"]) == ["2025-06", "2025-07"]
    c = parse_month_column(pd.Series(["1/1/2025"]))
    assert c.month.tolist() == [2025 * 12] and c.notes == []


def test_only_month_first_fits_when_a_second_number_exceeds_12():
    c = parse_month_column(pd.Series(["6/15/2025", "6/1/2025"]))
    assert c.month.tolist() == [JUN_2025, JUN_2025] and "can only be month-first" in c.notes[0]


def test_mid_month_dates_the_file_names_month_decides_and_a_note_says_so():
    values = pd.Series(["6/10/2025", "6/11/2025"])  # June 10th and 11th (US), or 6 Oct and 6 Nov (UK)
    us = parse_month_column(values, file_month=JUN_2025)
    assert us.month.tolist() == [JUN_2025, JUN_2025] and "as the file name's month 2025-06 says" in us.notes[0]
    uk = parse_month_column(values, file_month=2025 * 12 + 9)
    assert uk.month.tolist() == [2025 * 12 + 9, 2025 * 12 + 10] and "read day-first" in uk.notes[0]
    alone = parse_month_column(values)  # no file name: UK usage, said
    assert alone.month.tolist() == [2025 * 12 + 9, 2025 * 12 + 10] and "ambiguous" in alone.notes[0]


MONTH_FORMS = {
    "police": lambda y, m: f"{y}-{m:02d}",
    "uk_day": lambda y, m: f"01/{m:02d}/{y}",
    "uk_short": lambda y, m: f"01/{m:02d}/{y % 100:02d}",
    "us_day": lambda y, m: f"{m}/1/{y}",
    "excel_mmm_yy": lambda y, m: f"{ABBR[m - 1]}-{y % 100:02d}",
    "iso_day": lambda y, m: f"{y}-{m:02d}-01",
}


@settings(max_examples=60, deadline=None)
@given(
    months=st.lists(st.tuples(st.integers(2000, 2030), st.integers(1, 12)), min_size=1, max_size=8),
    form=st.sampled_from(sorted(MONTH_FORMS)),
)
def test_a_column_of_first_days_in_any_one_form_gives_its_months(months, form):
    values = [MONTH_FORMS[form](y, m) for y, m in months]
    c = parse_month_column(pd.Series(values))
    assert c.month.tolist() == [y * 12 + m - 1 for y, m in months]
    assert not c.bad.any()


# --- repeated header lines ---------------------------------------------------------------------


def test_a_header_line_repeated_in_the_data_is_found():
    frame = pd.DataFrame(
        {
            "Crime ID": ["a", "Crime ID", "", "b"],
            "Month": ["2025-06", "Month", "2025-06", "2025-06"],
            "Longitude": ["-1.47", "Longitude", "-1.47", "Month"],  # a stray word alone is no header
            "Crime type": ["Burglary", "crime type", "Anti-social behaviour", "Burglary"],
        }
    )
    assert repeated_header_rows(frame).tolist() == [False, True, False, False]
    assert not repeated_header_rows(frame.iloc[:0]).any()
    assert repeated_header_rows(pd.DataFrame({"Month": ["Month"]})).tolist() == [False]  # one value is not a line


def test_month_label_round_trips():
    assert [month_label(m) for m in (JUN_2025, 2025 * 12, 2025 * 12 + 11)] == ["2025-06", "2025-01", "2025-12"]
    assert np.all([name_month(f"{month_label(m)}-x-street.csv") == m for m in range(2020 * 12, 2026 * 12)])


def _months_frame():
    """Jan–Aug 2025, 300 incidents a month, June published in part (60), May missing."""
    counts = {1: 300, 2: 310, 3: 290, 4: 305, 6: 60, 7: 295, 8: 300}
    months = [pd.Timestamp(2025, m, 1) for m, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"month": pd.to_datetime(months), "category": "Anti-social behaviour"})


def test_the_months_warning_follows_the_months_kept():
    """`--keep-months 2025-05,2025-06`: the load warning still said June "leaves that month out too" while the
    change kept it, and May, which holds no data, was not said to have nothing to keep."""
    from hotspots.io.months import loaded_months_warning

    data = _months_frame()
    plain = loaded_months_warning(data)
    assert "Jun 2025 holds 60 incidents" in plain and "no data for May 2025" in plain
    kept = loaded_months_warning(data, ["2025-05", "2025-06"])
    assert "Jun 2025 holds 60" not in kept and "no data for May 2025" in kept  # May stays missing
    assert "Jun 2025 kept and counted in full as asked" in kept and "May 2025 has no data to keep" in kept
    assert loaded_months_warning(data, ()) == plain


def test_with_kept_months_replaces_the_load_reports_months_warning_only():
    import geopandas as gpd

    from hotspots.io import IncidentSet
    from hotspots.io.months import loaded_months_warning, with_kept_months
    from hotspots.report import LoadReport

    data = gpd.GeoDataFrame(_months_frame(), geometry=gpd.points_from_xy(np.zeros(1_860), np.zeros(1_860)), crs=27700)
    report = LoadReport("12 files", len(data), len(data), warnings=["other warning", loaded_months_warning(data)])
    loaded = IncidentSet(data, report)
    assert with_kept_months(loaded, ()) is loaded
    out = with_kept_months(loaded, ("2025-06",))
    assert out.report.warnings[0] == "other warning" and len(out.report.warnings) == 2
    assert out.report.warnings[1] == loaded_months_warning(data, ("2025-06",))
    assert "Jun 2025 holds 60" not in out.report.warnings[1]
    assert loaded.report.warnings[1] != out.report.warnings[1]  # the caller's report is left as it was


def test_a_month_written_month_first_with_a_four_digit_year_is_read():
    assert months_of(["03/2025", "12/2024", "13/2025"]) == ["2025-03", "2024-12", ""]


def test_a_month_after_the_current_one_is_out_of_range_with_the_value_and_range_said(tmp_path):
    from hotspots.io import load_police_uk
    from hotspots.io._common import latest_month

    nxt = (latest_month() + pd.DateOffset(months=1)).strftime("%Y-%m")
    now = latest_month().strftime("%Y-%m")
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
              "Last outcome category,Context")
    rows = [f"id{i},{m},Kent Police,Kent Police,0.52,51.27,On or near X,E01024000,Maidstone 001A,Burglary,," for i, m in
            enumerate([now, nxt, "1925-06"])]
    (tmp_path / "m.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    loaded = load_police_uk(tmp_path / "m.csv")
    assert loaded.report.dropped == {"date out of range": 2} and len(loaded.data) == 1
    assert any(f"Month {nxt!r}, accepted 1990-01 to {now} (no month after the current one)" in w for w in loaded.report.warnings)
    assert loaded.report.examples["date out of range"][0].endswith(f"(Month {nxt!r})")
