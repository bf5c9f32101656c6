"""hotspots.coverage: months the data do not cover (a monthly file missing), not quiet months."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots import ParameterError
from hotspots.coverage import (
    MIN_TYPICAL_MONTH,
    data_span,
    missing_months,
    missing_months_note,
    month_label,
    month_number,
    months_between,
)

JAN_2025 = 2025 * 12


def test_an_empty_month_among_busy_ones_is_missing():
    # Jan, Feb, Apr 2025 with 30 incidents each; March has none
    m = np.repeat([JAN_2025, JAN_2025 + 1, JAN_2025 + 3], 30)
    assert missing_months(m) == ((JAN_2025 + 2,), 30.0)


def test_months_of_a_period_beyond_the_data_are_missing_too():
    m = np.repeat([JAN_2025, JAN_2025 + 1], 25)
    gone, typical = missing_months(m, span=range(JAN_2025 - 1, JAN_2025 + 4))
    assert gone == (JAN_2025 - 1, JAN_2025 + 2, JAN_2025 + 3) and typical == 25.0


def test_sparse_data_never_call_an_empty_month_missing():
    # a typical month of 19 (< 20): a month of 0 could be real, so nothing is missing
    m = np.repeat([JAN_2025, JAN_2025 + 2], MIN_TYPICAL_MONTH - 1)
    assert missing_months(m, span=[JAN_2025 + 5]) == ((), float(MIN_TYPICAL_MONTH - 1))
    assert missing_months(m, min_typical=10)[0] == (JAN_2025 + 1,)


def test_undated_incidents_are_ignored_and_no_dates_give_nothing():
    assert missing_months(np.array([-1, -1])) == ((), 0.0)
    m = np.r_[np.repeat([JAN_2025, JAN_2025 + 2], 40), [-1] * 5]
    assert missing_months(m)[0] == (JAN_2025 + 1,)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=24), st.integers(0, 5))
def test_a_month_with_incidents_is_never_missing(counts, extra):
    counts = np.asarray(counts)
    m = np.repeat(JAN_2025 + np.arange(counts.size), counts)
    gone, typical = missing_months(m, span=[JAN_2025 + counts.size + extra])
    present = set(np.unique(m).tolist())
    assert not present & set(gone)
    if m.size:
        assert typical == float(np.median(counts[counts > 0]))
        if typical >= MIN_TYPICAL_MONTH:
            first, last = np.flatnonzero(counts)[[0, -1]]
            inside = {JAN_2025 + i for i in range(first, last + 1) if counts[i] == 0}
            assert inside <= set(gone)
        else:
            assert gone == ()


def test_month_labels_round_trip_and_bad_labels_are_clear_errors():
    assert month_number("2025-07") == JAN_2025 + 6 and month_label(JAN_2025 + 6) == "2025-07"
    assert month_label(month_number("1999-12")) == "1999-12"
    for bad in ("2025-13", "July", "2025"):
        with pytest.raises(ParameterError, match="YYYY-MM"):
            month_number(bad)


def test_the_note_names_the_months_and_the_typical_count():
    note = missing_months_note([JAN_2025 + 6], 15_799)
    assert "no data for Jul 2025" in note and "15,799" in note and "exposure" in note
    assert missing_months_note([], 100) == ""


def test_months_beyond_the_data_are_named_as_such_not_as_missing_files():
    span = data_span(np.array([JAN_2025, JAN_2025 + 11, -1]))
    assert span == (JAN_2025, JAN_2025 + 11) and data_span(np.array([-1])) is None
    note = missing_months_note([JAN_2025 - 1, JAN_2025 + 6, JAN_2025 + 12], 900, span=span)
    assert "no data for Jul 2025 (no incident at all while a typical month holds 900" in note
    assert "the periods reach beyond the data's months (Jan 2025 – Dec 2025): no data for Dec 2024, Jan 2026" in note


def test_months_between_are_the_months_a_span_of_days_touches():
    import datetime as dt

    assert list(months_between(dt.date(2024, 11, 15), dt.date(2025, 2, 1))) == [2024 * 12 + 10, 2024 * 12 + 11, JAN_2025,
                                                                              JAN_2025 + 1]
    assert list(months_between(dt.date(2025, 3, 1), dt.date(2025, 3, 31))) == [JAN_2025 + 2]
