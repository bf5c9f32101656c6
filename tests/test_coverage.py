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
    assert "leaves that month out" in note  # one month is "that month", not "those months"
    assert "leaves those months out" in missing_months_note([JAN_2025 + 6, JAN_2025 + 8], 15_799)
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


# --- months covered per force, short months, files lost on loading ----------------------------------------

def test_another_forces_single_month_makes_every_other_month_incomplete():
    # force A Jan-Jun 2025 (100 rows a month), force B's March file only (80 rows)
    m = np.r_[np.repeat(JAN_2025 + np.arange(6), 100), np.repeat(JAN_2025 + 2, 80)]
    f = ["A"] * 600 + ["B"] * 80
    fm = coverage.force_months(m, f)
    assert fm.absent == {"B": (JAN_2025, JAN_2025 + 1, JAN_2025 + 3, JAN_2025 + 4, JAN_2025 + 5)}
    assert fm.covers["B"] == (JAN_2025 + 2,) and fm.gone == fm.absent["B"]
    note = fm.note()
    assert note.startswith("B has no rows in Jan 2025 – Feb 2025, Apr 2025 – Jun 2025 (it covers Mar 2025)")
    assert "add B's files for Jan 2025 – Feb 2025, Apr 2025 – Jun 2025, or leave its files out of the input" in note


def test_a_sparse_force_and_a_single_force_have_no_absent_months():
    m = np.r_[np.repeat(JAN_2025 + np.arange(6), 100), np.repeat(JAN_2025 + 2, 5)]  # B: 5 rows, too few to judge
    assert coverage.force_months(m, ["A"] * 600 + ["B"] * 5).gone == ()
    # one force with a whole month missing: a missing month (month_coverage's), not an absent force
    m = np.repeat(JAN_2025 + np.array([0, 1, 3]), 100)
    assert coverage.force_months(m, ["A"] * 300).absent == {}


def test_a_truncated_month_is_short_judged_per_day_and_at_the_edges():
    # Jan-Mar full (about 134-154 a day), June cut to 3,000 rows of every category (100 a day): Dorset's June
    m = np.repeat(JAN_2025 + np.array([0, 1, 2, 5]), [4156, 4146, 4759, 3000])
    cats = np.arange(m.size) % 14
    fm = coverage.force_months(m, None, category=cats)
    assert list(fm.short[""]) == [JAN_2025 + 5]
    n, typical = fm.short[""][JAN_2025 + 5]
    assert n == 3000 and typical == pytest.approx(30 * (4146 / 28 + 4156 / 31) / 2, abs=0.1)
    assert "Jun 2025 holds 3,000 rows" in fm.note() and "2025-06" in fm.note()
    # kept when asked, and not judged at the data's edges when asked (a day-dated export's partial last month)
    assert coverage.force_months(m, None, category=cats, keep=[JAN_2025 + 5]).gone == ()
    assert coverage.force_months(m, None, category=cats, edges=False).gone == ()
    # one category (ASB's stronger seasons): the share is half, and 0.71 of a typical month is not short
    assert coverage.force_months(m).gone == ()
    # February's 28 days are not a short month
    feb = np.repeat(JAN_2025 + np.arange(3), [3100, 2800, 3100])
    assert coverage.force_months(feb, category=np.arange(feb.size) % 14).gone == ()


def test_short_months_need_three_months_and_a_poisson_margin():
    assert coverage.force_months(np.repeat(JAN_2025 + np.arange(2), [1000, 300])).gone == ()
    # a typical month of 25: half is 12.5, but 5 Poisson sd below 25 is 0: a month of 10 is not short
    m = np.repeat(JAN_2025 + np.arange(4), [25, 26, 24, 10])
    assert coverage.force_months(m).gone == ()


def test_file_month_reads_the_month_of_a_monthly_files_name():
    from hotspots.io.months import name_month  # the one month-from-name rule files_not_kept uses

    assert name_month("a/b/2025-04-cambridgeshire-street.csv", anywhere=True) == JAN_2025 + 3
    assert name_month("C:\\x\\2024-12-kent-street.csv.gz", anywhere=True) == 2024 * 12 + 11
    assert name_month("incidents.csv", anywhere=True) is None and name_month("2025-13-x.csv", anywhere=True) is None


def test_files_not_kept_names_dropped_and_skipped_files_by_month():
    from hotspots.report import LoadReport

    apr = LoadReport("2025-04-cambridgeshire-street.csv", 7096, 0, dropped={"unparseable date": 7096})
    mar = LoadReport("2025-03-cambridgeshire-street.csv.gz", 7000, 6900, dropped={"no location": 100})
    whole = LoadReport.combine(
        [apr, mar],
        warnings=["skipped unreadable file 2025-05-dorset-street.csv: 2025-05-dorset-street.csv is not a police.uk "
                  "street-level file: missing column(s) `Latitude` (found: `Lat`). Add or rename ..."],
    )
    files = coverage.files_not_kept(whole)
    assert files == {
        JAN_2025 + 3: ["2025-04-cambridgeshire-street.csv: read, but all its 7,096 rows were dropped (unparseable date: 7,096)"],
        JAN_2025 + 4: ["2025-05-dorset-street.csv: skipped as unreadable (is not a police.uk street-level file: missing "
                       "column(s) `Latitude`)"],
    }
    note = missing_months_note([JAN_2025 + 3], 7373.0, files=files)
    assert "probably a monthly file not loaded" not in note
    assert note.startswith("no data for Apr 2025 (no incident at all while a typical month holds 7,373): the month's file "
                           "was read but gave no incident: 2025-04-cambridgeshire-street.csv: read, but all its 7,096 rows")
    # a month without such a file keeps the old diagnosis
    assert "probably a monthly file not loaded" in missing_months_note([JAN_2025 + 6], 7373.0, files=files)
    assert coverage.files_not_kept(None) == {}


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


def test_kept_months_are_no_longer_incomplete_but_a_month_with_no_data_stays_missing():
    m = np.repeat(2025 * 12 + np.arange(8), [300, 310, 0, 290, 60, 305, 295, 300])
    cov = month_coverage(m)
    assert (cov.missing, cov.incomplete) == ((2025 * 12 + 2,), (2025 * 12 + 4,))
    kept = cov.kept([2025 * 12 + 2, 2025 * 12 + 4])
    assert kept.missing == (2025 * 12 + 2,) and kept.incomplete == () and kept.counts == {}
    assert kept.gone == (2025 * 12 + 2,) and cov.gone == (2025 * 12 + 2, 2025 * 12 + 4)  # the original unchanged


def test_a_month_a_force_lacks_is_never_said_to_be_published_in_part():
    """Surrey + Sussex, Surrey's August file left out: the whole data's August (Sussex's rows only) was called
    published in part, and so was "Other crime 204 vs 470" in the load report, against the per-force rule."""
    jan = 2025 * 12
    surrey = np.repeat(jan + np.arange(12), [1200] * 7 + [0] + [1200] * 4)
    sussex = np.repeat(jan + np.arange(12), 400)
    month = np.r_[surrey, sussex]
    force = ["Surrey Police"] * surrey.size + ["Sussex Police"] * sussex.size
    plain = coverage.month_coverage(month)
    assert plain.incomplete == (jan + 7,)  # by the counts alone: a month at half its neighbours
    cov = coverage.month_coverage(month, force=force)
    assert cov.incomplete == () and cov.counts == {} and cov.absent == (jan + 7,) and cov.gone == (jan + 7,)
    assert "Surrey Police has no rows in Aug 2025" in cov.note() and "published in part" not in cov.note()
    assert cov.note(only=[jan + 3]) == ""
    category = np.where(np.arange(month.size) % 4 == 0, "Other crime", "Anti-social behaviour")
    note = coverage.loaded_months_note(month, category, np.asarray(force, dtype=object))
    assert "Surrey Police has no rows in Aug 2025" in note and "published in part" not in note
    assert "published in part" in coverage.loaded_months_note(month, category)  # without the forces, as before
