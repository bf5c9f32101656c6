"""hotspots.coverage: months the data do not cover (a monthly file missing), not quiet months."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hotspots.coverage as coverage
from hotspots import ParameterError
from hotspots.coverage import (
    INCOMPLETE_SHARE,
    MIN_TYPICAL_MONTH,
    category_gaps,
    data_span,
    incomplete_months,
    missing_months,
    missing_months_note,
    month_coverage,
    month_label,
    month_number,
    months_between,
    unreliable_months_note,
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


# Hampshire's ASB per month in the national 2025 set: August's file holds five districts only
HAMPSHIRE_ASB_2025 = [1256, 1222, 1569, 1817, 1923, 1652, 2241, 430, 1546, 1644, 1314, 1183]


def _months(counts, first=JAN_2025):
    return np.repeat(first + np.arange(len(counts)), counts)


def test_a_month_published_in_part_is_incomplete_and_its_neighbours_are_named():
    months, counts, typical = incomplete_months(_months(HAMPSHIRE_ASB_2025))
    assert months == (JAN_2025 + 7,) and counts == {JAN_2025 + 7: (430, 2241, 1546)}
    assert typical == float(np.median(HAMPSHIRE_ASB_2025))
    cov = month_coverage(_months(HAMPSHIRE_ASB_2025))
    assert cov.missing == () and cov.incomplete == cov.gone == (JAN_2025 + 7,)
    note = cov.note()
    assert note.startswith("Aug 2025 holds 430 incidents against 2,241 and 1,546 in the months either side")
    assert "1,558 in a typical month" in note and "leaves that month out of the periods' exposure" in note


def test_seasonal_lows_noisy_series_sustained_falls_and_the_ends_are_not_incomplete():
    # the real series' quietest months (0.54-0.6 of typical) are above half, and their neighbours are not
    # twice as busy
    season = [0.81, 0.78, 1.04, 1.14, 1.2, 1.1, 1.3, 1.2, 0.95, 0.9, 0.8, 0.54]
    assert incomplete_months(_months(np.round(np.array(season) * 1000).astype(int)))[0] == ()
    # a fall to a quarter that lasts (an intervention, or a change of recording) is not a dip
    assert incomplete_months(_months([400] * 6 + [100] * 6))[0] == ()
    # the first and last months are not judged (a partial export's edge is the periods' business)
    assert incomplete_months(_months([50] + [400] * 10 + [60]))[0] == ()
    # fewer than six months with incidents: no spread to judge by
    assert incomplete_months(_months([400, 400, 50, 400, 400]))[0] == ()
    # a series that swings widely from month to month must dip further
    swings = [400, 150, 420, 160, 390, 140, 410, 40, 430, 150, 400, 160]
    assert incomplete_months(_months(swings))[0] == ()
    steady = [400, 390, 420, 410, 390, 400, 410, 40, 430, 400, 400, 410]
    assert incomplete_months(_months(steady))[0] == (JAN_2025 + 7,)


def test_sparse_series_are_not_judged_and_a_missing_month_is_skipped_over():
    few = [19, 18, 19, 2, 19, 18, 19, 19]  # a typical month under 20
    assert incomplete_months(_months(few))[0] == ()
    assert incomplete_months(_months(few), min_typical=10)[0] == (JAN_2025 + 3,)
    # June missing (no incident): the months either side of May are April and July
    counts = [300, 310, 290, 305, 20, 0, 295, 300, 310]
    cov = month_coverage(_months(counts))
    assert cov.missing == (JAN_2025 + 5,) and cov.incomplete == (JAN_2025 + 4,)
    assert cov.counts[JAN_2025 + 4] == (20, 305, 295) and cov.gone == (JAN_2025 + 4, JAN_2025 + 5)
    note = cov.note()
    assert note.startswith("no data for Jun 2025") and "May 2025 holds 20 incidents" in note and note.endswith("out too")
    assert cov.note(only=[JAN_2025 + 5]).endswith("compares the months that hold data")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=30))
def test_a_month_at_half_of_typical_or_above_is_never_incomplete(counts):
    counts = np.asarray(counts)
    months, found, typical = incomplete_months(_months(counts))
    for m in months:
        i = m - JAN_2025
        assert 0 < counts[i] < INCOMPLETE_SHARE * typical and typical >= MIN_TYPICAL_MONTH
        n, prev, nxt = found[m]
        assert n == counts[i] and n < INCOMPLETE_SHARE * min(prev, nxt)
        assert counts[:i].any() and counts[i + 1 :].any()  # never the first or last month with data


def test_the_module_examples_hold():
    import doctest

    assert doctest.testmod(coverage).failed == 0


def test_complete_noisy_series_are_seldom_called_published_in_part():
    # 36 months varying 30 % with the season and 32 % from month to month (negative binomial
    # dispersion 0.1, beyond the real files' force-wide 0.01-0.06), 400 series at each level
    rng = np.random.default_rng(12)
    season = 1 + 0.3 * np.sin(np.arange(36) * 2 * np.pi / 12)
    for typical in (20, 200, 2_000):
        counts = rng.poisson(typical * season * rng.gamma(10.0, 0.1, size=(400, 36)))
        flagged = [bool(incomplete_months(np.repeat(np.arange(36), c))[0]) for c in counts]
        assert np.mean(flagged) <= 0.02
    # series as steady as the real files' force-wide totals (dispersion 0.03), one month published at
    # a sixth: caught when a typical month holds a few hundred
    for typical in (200, 2_000):
        counts = rng.poisson(typical * season * rng.gamma(1 / 0.03, 0.03, size=(400, 36)))
        counts[:, 17] = counts[:, 17] // 6
        caught = [17 in incomplete_months(np.repeat(np.arange(36), c))[0] for c in counts]
        assert np.mean(caught) >= 0.8


def test_category_gaps_name_the_categories_a_month_lacks_and_not_a_whole_missing_month():
    # eight months; May holds a tenth of its ASB and none of its burglary, while violence doubled
    # (the total stays normal); March's file is missing altogether (every category)
    asb = [300, 310, 0, 290, 30, 305, 295, 300]
    burg = [100, 90, 0, 110, 0, 100, 95, 105]
    viol = [400, 410, 0, 390, 800, 405, 395, 400]
    month = np.concatenate([_months(c) for c in (asb, burg, viol)])
    cat = np.repeat(["ASB", "Burglary", "Violence"], [sum(asb), sum(burg), sum(viol)])
    gaps = category_gaps(month, cat)
    assert gaps == {JAN_2025 + 4: [("ASB", 30, 300.0), ("Burglary", 0, 100.0)]}
    note = unreliable_months_note(gaps, gaps)
    assert note.startswith("May 2025: 2 categories hold far fewer incidents than in a typical month (ASB 30 against 300; "
                           "Burglary 0 against 100)")
    assert note.endswith("leaves it out whichever category is analysed")
    assert unreliable_months_note(gaps, []) == ""


def test_a_stray_month_far_before_the_data_is_found_and_named():
    from hotspots.coverage import stray_months

    m = np.r_[_months([50] * 12), 2019 * 12 + 2]  # 600 incidents in 2025, one dated Mar 2019
    found = stray_months(m)
    assert found.before == (2019 * 12 + 2,) and found.after == () and found.span == (JAN_2025, JAN_2025 + 11)
    assert found.mask(m).sum() == 1 and found.mask(m)[-1]
    note = found.note()
    assert note.startswith("1 incident dated Mar 2019, 69 months before the rest of the data (Jan 2025 – Dec 2025)")
    assert "left out as 'stray month'" in note and "check its Month" in note


def test_stray_months_at_both_ends_and_several_rows_are_found():
    from hotspots.coverage import stray_months

    m = np.r_[_months([100] * 12), np.repeat([2010 * 12, 2010 * 12 + 5], [2, 3]), np.repeat(2030 * 12 + 1, 4)]
    found = stray_months(m)
    assert found.before == (2010 * 12, 2010 * 12 + 5) and found.after == (2030 * 12 + 1,)
    assert found.incidents == {2010 * 12: 2, 2010 * 12 + 5: 3, 2030 * 12 + 1: 4}
    assert int(found.mask(m).sum()) == 9
    note = found.note()
    assert "5 incidents dated Jan 2010, Jun 2010, 174 months before" in note
    assert "4 incidents dated Feb 2030, 49 months after" in note and "check their Month" in note


def test_a_genuine_gap_year_and_near_months_are_not_stray():
    from hotspots.coverage import stray_months

    # two years of data with a whole empty year between: both sides hold half the incidents
    assert stray_months(np.r_[_months([80] * 12, 2022 * 12), _months([80] * 12, 2024 * 12)]).months == ()
    # one row two months before the rest (one empty month): a gap shorter than STRAY_SHORT_GAP, kept
    assert stray_months(np.r_[_months([50] * 12), JAN_2025 - 2]).months == ()
    # a whole month after a gap of a few empty months is data, not tiny
    assert stray_months(np.r_[_months([50] * 12), np.repeat(JAN_2025 + 17, 50)]).months == ()
    # a side holding 1 % or more of the incidents is data, not a stray
    assert stray_months(np.r_[_months([50] * 12), np.repeat(2019 * 12, 7)]).months == ()
    # undated incidents are ignored; nothing dated gives nothing
    assert stray_months(np.r_[_months([50] * 12), -1, -1]).months == () and stray_months(np.array([-1])).span is None


def test_month_spans_give_long_runs_their_length_and_the_missing_months_note_uses_them():
    from hotspots.coverage import month_spans

    gone = list(range(2019 * 12 + 3, JAN_2025))  # Apr 2019 - Dec 2024: 69 empty months
    assert month_spans(gone, sizes=True) == "Apr 2019 – Dec 2024 (69 months)"
    note = missing_months_note(gone, 5652)
    assert "no data for Apr 2019 – Dec 2024 (69 months) (no incident" in note and "Jun 2019" not in note


def test_a_tiny_month_after_a_few_empty_months_is_stray():
    """Two rows mistyped 2026-06 in a 2025 data set: five empty months, then a month a fraction of
    the size of a typical one. Read as data they set the before/after periods."""
    from hotspots.coverage import STRAY_SHORT_GAP, stray_months

    m = np.r_[_months([700] * 12), [JAN_2025 + 17] * 2]
    found = stray_months(m)
    assert found.after == (JAN_2025 + 17,) and found.before == () and found.span == (JAN_2025, JAN_2025 + 11)
    assert found.note().startswith("2 incidents dated Jun 2026, 5 months after the rest of the data (Jan 2025 – Dec 2025)")
    # before the data too; and exactly STRAY_SHORT_GAP empty months is enough, one fewer is not
    assert stray_months(np.r_[_months([700] * 12), JAN_2025 - 1 - STRAY_SHORT_GAP]).before == (JAN_2025 - 1 - STRAY_SHORT_GAP,)
    assert stray_months(np.r_[_months([700] * 12), JAN_2025 - STRAY_SHORT_GAP]).months == ()
    # small data: 3 incidents a month; one row is not tiny against them (5 % of 3 is under one)
    assert stray_months(np.r_[_months([3] * 12), JAN_2025 + 17]).months == ()
