"""hotspots.period_split: incidents per period and the placebo comparison the data allow."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots._errors import ParameterError
from hotspots.change_model import AFTER, BEFORE, PLACEBO, PLACEBO_BEFORE, MonthlyPanel, fit_change_model
from hotspots.period_split import (
    NO_DATA,
    PART_PUBLISHED,
    common_calendar_months,
    left_out_text,
    period_months_text,
    split_periods,
)
from hotspots.periods import Period


def _monthly(first: str, last: str, per_month: int = 2) -> pd.DataFrame:
    months = pd.date_range(f"{first}-01", f"{last}-01", freq="MS")
    return pd.DataFrame({"month": np.repeat(months, per_month)})


def _span(p: Period) -> tuple[str, str]:
    return p.start.isoformat(), p.end.isoformat()


def test_two_halves_of_a_year_take_the_same_halves_a_year_earlier_as_placebo():
    inc = _monthly("2023-01", "2024-12")
    sp = split_periods(inc, Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12"))
    assert _span(sp.placebo_before) == ("2023-01-01", "2023-06-30")
    assert _span(sp.placebo) == ("2023-07-01", "2023-12-31")
    assert int(sp.in_placebo_before.sum()) == int(sp.in_placebo.sum()) == 12
    assert not (sp.in_placebo_before & (sp.in_placebo | sp.in_before | sp.in_after)).any()


def test_quarters_a_gap_apart_keep_their_gap_a_year_earlier():
    inc = _monthly("2023-01", "2024-12")
    sp = split_periods(inc, Period.from_months("2024-01", "2024-03"), Period.from_months("2024-07", "2024-09"))
    assert _span(sp.placebo_before) == ("2023-01-01", "2023-03-31")
    assert _span(sp.placebo) == ("2023-07-01", "2023-09-30")


def test_no_year_earlier_pair_without_the_data_or_for_periods_spanning_more_than_a_year():
    # the data start in July 2023: only the period just before "before" (as before this rule)
    late = _monthly("2023-07", "2024-12")
    sp = split_periods(late, Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12"))
    assert sp.placebo_before is None and _span(sp.placebo) == ("2023-07-01", "2023-12-31")
    # whole years: the year before "before" is the placebo, compared with "before" itself
    inc = _monthly("2022-01", "2024-12")
    sp = split_periods(inc, Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12"))
    assert sp.placebo_before is None and _span(sp.placebo) == ("2022-01-01", "2022-12-31")
    # periods that are not whole months: no shifted pair
    odd = split_periods(inc, Period("2024-01-10", "2024-06-30"), Period("2024-07-01", "2024-12-31"))
    assert odd.placebo_before is None


def _two_year_panel(rng: np.random.Generator, *, units: int = 40, sd_year: float = 0.2) -> MonthlyPanel:
    """2023 and 2024 by month; each unit's level varies from year to year (sd ``sd_year`` on the
    log scale), not between the halves of one year; no change. Labelled as the year-earlier pair:
    Jan-Jun / Jul-Dec 2023 the placebo pair, Jan-Jun / Jul-Dec 2024 compared."""
    month = 2023 * 12 + np.arange(24)
    label = np.repeat([PLACEBO_BEFORE, PLACEBO, BEFORE, AFTER], 6)
    base = rng.uniform(40, 120, units)[:, None]
    year = np.exp(rng.normal(0, sd_year, (units, 2)))
    counts = rng.poisson(base * np.repeat(year, 12, axis=1))
    return MonthlyPanel(counts, month, label, np.full(24, 30.0), counts.sum(axis=0) + 5_000)


def test_tau2_from_the_year_earlier_pair_leaves_out_the_change_of_year():
    panel = _two_year_panel(np.random.default_rng(4))
    model = fit_change_model(panel, unit_word="areas")
    assert "placebo periods (the compared months a year earlier)" in model.dispersion.tau2_source
    # the halves of one year share the year's level: nothing between them beyond Poisson
    assert model.dispersion.tau2 < 0.01
    # the same data with the placebo just before "before" (Jul-Dec 2023 against Jan-Jun 2024):
    # that pair spans the change of year, and its tau2 holds the year-to-year variation
    # (2 x 0.2^2 = 0.08) the compared halves do not share
    lab = np.where(panel.label == PLACEBO_BEFORE, 0, panel.label)
    across = fit_change_model(
        MonthlyPanel(panel.counts, panel.month, lab, panel.exposure, panel.reference), unit_word="areas"
    )
    assert across.dispersion.tau2 == pytest.approx(0.08, rel=0.5)
    # the compared halves themselves scatter like the year-earlier pair, not like the pair across
    # the change of year
    b, a = panel.totals(BEFORE), panel.totals(AFTER)
    z = np.log(a / b) / np.sqrt(1 / a + 1 / b)
    assert np.std(z) < 1.5


def test_the_seasonal_factors_variance_holds_the_units_tau2_in_the_totals_they_rest_on():
    # the factors come from the other year's halves, whose level moves between them as the
    # compared halves' does: tau2 times the units' squared shares of the totals is added
    panel = _two_year_panel(np.random.default_rng(6))
    m0, m1 = fit_change_model(panel, tau2=0.0), fit_change_model(panel, tau2=0.05)
    assert m0.seasonal_identified and m0.seasonal_variance > 0
    tot = panel.counts.sum(axis=1)
    s2 = float(np.square(tot / panel.reference.sum()).sum())
    assert m1.seasonal_variance - m0.seasonal_variance == pytest.approx(0.05 * s2, rel=1e-9)
    assert 0.05 * s2 > 0.2 * m0.seasonal_variance  # not a rounding matter here


def test_part_years_a_year_apart_take_the_same_months_a_year_earlier():
    # January-October 2024 against January-October 2025 (year to date against the year before)
    inc = _monthly("2023-01", "2025-10")
    sp = split_periods(inc, Period.from_months("2024-01", "2024-10"), Period.from_months("2025-01", "2025-10"))
    assert _span(sp.placebo) == ("2023-01-01", "2023-10-31") and sp.placebo_before is None
    # not the ten months just before "before" (March-December 2023: other calendar months, half the gap)
    late = _monthly("2023-03", "2025-10")
    sp = split_periods(late, Period.from_months("2024-01", "2024-10"), Period.from_months("2025-01", "2025-10"))
    assert _span(sp.placebo) == ("2023-03-01", "2023-12-31")


def test_the_year_on_year_placebo_takes_the_placebo_adjusted_path():
    # the same calendar months as "before": each area's change can be adjusted for its own
    import geopandas as gpd
    import shapely

    from hotspots.change import change_areas

    rng = np.random.default_rng(2)
    months = pd.date_range("2023-01-01", "2025-10-01", freq="MS")
    months = months[months.month <= 10]
    xy = rng.uniform(0, 3_000, (len(months) * 600, 2))
    inc = gpd.GeoDataFrame(
        {"month": np.repeat(months, 600)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700
    )
    boxes = [shapely.box(x, y, x + 500, y + 500) for x in range(0, 3_000, 500) for y in range(0, 3_000, 500)]
    areas = gpd.GeoDataFrame({"area_id": [f"a{i}" for i in range(len(boxes))]}, geometry=boxes, crs=27700)
    before, after = Period.from_months("2024-01", "2024-10"), Period.from_months("2025-01", "2025-10")
    res = change_areas(inc, areas, before, after, selected_on=Period.from_months("2023-01", "2025-10"))
    assert res.model.w_placebo > 0 and res.model.placebo_adjusted
    assert res.dispersion.tau2_source.startswith("placebo periods")


@settings(max_examples=60, deadline=None)
@given(
    first=st.integers(0, 30), b_start=st.integers(12, 40), b_len=st.integers(1, 14), gap=st.integers(0, 14),
    a_len=st.integers(1, 14),
)
def test_placebo_periods_are_whole_months_of_the_data_outside_the_compared_ones(first, b_start, b_len, gap, a_len):
    # months counted from January 2020; the data run from `first` to the end of "after"
    def ym(k: int) -> str:
        return f"{2020 + k // 12}-{k % 12 + 1:02d}"

    a_start = b_start + b_len + gap
    inc = _monthly(ym(min(first, b_start)), ym(a_start + a_len - 1), per_month=1)
    before = Period.from_months(ym(b_start), ym(b_start + b_len - 1))
    after = Period.from_months(ym(a_start), ym(a_start + a_len - 1))
    sp = split_periods(inc, before, after)
    data_start = pd.Timestamp(f"{ym(min(first, b_start))}-01").date()
    for p, mask in ((sp.placebo, sp.in_placebo), (sp.placebo_before, sp.in_placebo_before)):
        if p is None:
            assert mask is None
            continue
        assert p.is_month_aligned and p.start >= data_start and p.end < before.start
        assert not (mask & (sp.in_before | sp.in_after)).any()
        assert int(mask.sum()) == p.months  # one incident a month, every month of it in the data
    if sp.placebo_before is not None:
        # the compared pair a year earlier: the same calendar months and gap
        assert (sp.placebo_before.start.month, sp.placebo_before.months) == (before.start.month, before.months)
        assert (sp.placebo.start.month, sp.placebo.months) == (after.start.month, after.months)
        assert not (sp.in_placebo_before & sp.in_placebo).any()
    elif a_len == b_len < 12 and gap + b_len == 12 and min(first, b_start) <= b_start - 12:
        # "after" is "before" a year later and the data reach a year before "before"
        assert (sp.placebo.start.month, sp.placebo.months) == (before.start.month, before.months)


def test_a_missing_month_is_left_out_of_the_exposure_and_named():
    # 30 incidents a month through 2024, July's file missing
    inc = _monthly("2024-01", "2024-12", per_month=30)
    inc = inc[inc["month"] != pd.Timestamp("2024-07-01")]
    h1, h2 = Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12")
    sp = split_periods(inc, h1, h2)
    assert sp.missing == (2024 * 12 + 6,)
    assert sp.t_before == 182 and sp.t_after == 184 - 31
    assert any("no data for Jul 2024" in n for n in sp.notes)
    # the rates per day then agree; counted as a month of zero they would not
    def ratio(x):
        return (x.in_after.sum() / x.t_after) / (x.in_before.sum() / x.t_before)

    assert ratio(sp) == pytest.approx(1.0, abs=0.02)
    off = split_periods(inc, h1, h2, missing=())
    assert off.missing == () and off.t_after == 184 and ratio(off) == pytest.approx(150 / 184 / (180 / 182))
    # given as labels (e.g. found in every category loaded), and applied to day-dated data too
    given_ = split_periods(inc, h1, h2, missing=["2024-07"])
    assert given_.t_after == sp.t_after
    month = pd.to_datetime(inc["month"])
    k = inc.groupby("month").cumcount().to_numpy()  # 0-29 within each month: spread over its days
    day = np.round(k * (month.dt.days_in_month.to_numpy() - 1) / 29)
    days = pd.DataFrame({"occurred": month + pd.to_timedelta(day, unit="D")})
    assert split_periods(days, h1, h2).t_after == 153


def test_a_month_published_in_part_is_left_out_like_a_missing_one():
    # 300 incidents a month through 2024; August's file holds 60 (published in part)
    inc = _monthly("2024-01", "2024-12", per_month=300)
    inc = inc.drop(inc.index[(inc["month"] == pd.Timestamp("2024-08-01")).to_numpy()][60:])
    h1, h2 = Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12")
    sp = split_periods(inc, h1, h2)
    assert sp.missing == (2024 * 12 + 7,) and sp.t_after == 184 - 31
    assert int(sp.in_after.sum()) == 5 * 300
    assert any(n.startswith("Aug 2024 holds 60 incidents against 300 and 300") for n in sp.notes)
    # given by the caller (found in every category loaded), the note says so instead
    given_ = split_periods(inc, h1, h2, missing=["2024-08", "2024-10"])
    assert given_.missing == (2024 * 12 + 7, 2024 * 12 + 9)
    assert any("Oct 2024 left out of the periods' exposure" in n for n in given_.notes)
    assert split_periods(inc, h1, h2, missing=()).t_after == 184
    # a period of that month alone holds no month in full: the error says why (not "no data")
    with pytest.raises(ValueError, match=r"after period \(Aug 2024\) holds no month the data cover in full \(left out: Aug 2024, "
                       r"published in part\)"):
        split_periods(inc, h1, Period.from_months("2024-08", "2024-08"))


def test_the_months_left_out_are_named_with_why_and_the_months_counted():
    # 300 a month through 2024; July missing, August published in part (60), October given as missing
    inc = _monthly("2024-01", "2024-12", per_month=300)
    inc = inc[inc["month"] != pd.Timestamp("2024-07-01")]
    inc = inc.drop(inc.index[(inc["month"] == pd.Timestamp("2024-08-01")).to_numpy()][60:])
    inc = inc.drop(inc.index[(inc["month"] == pd.Timestamp("2024-10-01")).to_numpy()])
    h1, h2 = Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12")
    sp = split_periods(inc, h1, h2, missing=["2024-07", "2024-08", "2024-10"])
    jul, aug, oct_ = 2024 * 12 + 6, 2024 * 12 + 7, 2024 * 12 + 9
    assert sp.left_out(h1, h2) == ((jul, NO_DATA), (aug, PART_PUBLISHED), (oct_, NO_DATA))
    assert sp.left_out(h1) == ()
    assert period_months_text(h1, sp.left_out(h1, h2)) == "Jan 2024 – Jun 2024"
    assert period_months_text(h2, sp.left_out(h1, h2)) == (
        "Jul 2024 – Dec 2024 (3 of 6 months counted; left out: Jul 2024, Oct 2024, no data; Aug 2024, published in part)"
    )
    assert left_out_text(h2, [(aug, PART_PUBLISHED)], counted=False) == "left out: Aug 2024, published in part"


def _daily(first: str, last: str, per_day: float, rng: np.random.Generator) -> pd.DataFrame:
    days = pd.date_range(first, last, freq="D")
    return pd.DataFrame({"occurred": np.repeat(days, rng.poisson(per_day, days.size))})


def test_an_export_taken_mid_month_counts_only_the_days_it_covers():
    # busy day-dated data from 1 January to 15 December 2024 (an export taken mid-December)
    inc = _daily("2024-01-01", "2024-12-15", 3.0, np.random.default_rng(1))
    h1, h2 = Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12")
    sp = split_periods(inc, h1, h2)
    assert sp.edges == (pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-12-15").date())
    assert sp.t_before == 182 and sp.t_after == 184 - 16
    assert any("the after period counts 168 of its 184 days" in n for n in sp.notes)
    rate = (sp.in_after.sum() / sp.t_after) / (sp.in_before.sum() / sp.t_before)
    assert rate == pytest.approx(1.0, abs=0.06)  # counted to 31 December it would be about 0.91
    # sparse day-dated data cannot date their own end: the periods are counted whole
    sparse = _daily("2024-01-01", "2024-12-15", 0.3, np.random.default_rng(2))
    assert split_periods(sparse, h1, h2).edges is None
    # periods wholly outside the data's dates are refused by name
    with pytest.raises(ValueError, match="lies outside the data's dates"):
        early = _daily("2024-01-01", "2024-06-20", 3.0, np.random.default_rng(3))
        split_periods(early, Period("2024-01-01", "2024-06-15"), Period("2024-06-25", "2024-07-31"))


def test_a_period_with_no_month_of_data_is_a_clear_error_and_an_uncovered_placebo_is_dropped():
    inc = _monthly("2023-01", "2024-06", per_month=30)
    with pytest.raises(ValueError, match="no month the data cover"):
        split_periods(inc, Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12"))
    # 2023's second half missing: the year-earlier pair cannot be compared, so no placebo
    full = _monthly("2023-01", "2024-12", per_month=30)
    gap = full[(full["month"] < pd.Timestamp("2023-07-01")) | (full["month"] >= pd.Timestamp("2024-01-01"))]
    h1, h2 = Period.from_months("2024-01", "2024-06"), Period.from_months("2024-07", "2024-12")
    sp = split_periods(gap, h1, h2)
    assert sp.placebo is None and sp.placebo_before is None
    assert split_periods(full, h1, h2).placebo is not None


def test_common_calendar_months_are_the_same_months_rule_and_refuse_periods_sharing_none():
    assert common_calendar_months(Period.from_months("2024-01", "2024-06"), Period.from_months("2025-04", "2025-09")) == (4, 5, 6)
    with pytest.raises(ParameterError, match=r"`same_months` compares the calendar months both periods hold, and these share"):
        common_calendar_months(Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12"))
    # split_periods applies the same rule
    inc = pd.DataFrame({"month": pd.to_datetime(["2025-02-01", "2025-08-01"])})
    with pytest.raises(ParameterError, match="share none"):
        split_periods(inc, Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12"), same_months=True)


def test_a_month_a_force_lacks_is_left_out_as_its_data_missing_not_published_in_part():
    """Surrey + Sussex with Surrey's August file left out: August held Sussex's rows only, about half a typical
    month, and was said "published in part"; the per-force rule names the real cause."""
    from hotspots.period_split import FORCE_MISSING

    a, b = _monthly("2025-01", "2025-12", per_month=900), _monthly("2025-01", "2025-12", per_month=300)
    a["force"], b["force"] = "Surrey Police", "Sussex Police"
    inc = pd.concat([a[a["month"] != pd.Timestamp("2025-08-01")], b], ignore_index=True)
    h1, h2 = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    sp = split_periods(inc, h1, h2)
    aug = 2025 * 12 + 7
    assert sp.missing == (aug,) and sp.absent == (aug,)
    assert sp.left_out(h2) == ((aug, FORCE_MISSING),)
    assert left_out_text(h2, sp.left_out(h2)) == "5 of 6 months counted; left out: Aug 2025, a force's data missing"
    assert any("Surrey Police has no rows in Aug 2025" in n for n in sp.notes)
    assert not any("published in part" in n for n in sp.notes)
    # without the force column the same month is one published in part, as before
    plain = split_periods(inc.drop(columns="force"), h1, h2)
    assert plain.left_out(h2) == ((aug, PART_PUBLISHED),)
