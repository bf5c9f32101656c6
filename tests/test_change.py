"""Tests for hotspots.change (before/after change with exact tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hotspots._errors import CRSError, ParameterError, SchemaError
from hotspots.change import (
    CHANGE_CLASSES,
    ChangeResult,
    Period,
    change_areas,
    change_cells,
    finite_for_files,
    incident_dates,
    periods_around,
    rate_ratio_test,
    ratio_of_ratios_test,
)
from hotspots.grid import Grid

BEFORE, AFTER = periods_around("2023-07-01")  # Jul 2022 – Jun 2023 (365 d), Jul 2023 – Jun 2024 (366 d)


def _grid(n=3, size=100.0):
    return Grid.from_bounds((0, 0, n * size - 1, n * size - 1), size)


def _centre(row, col, n=3, size=100.0):
    return (col + 0.5) * size, (n - 1 - row + 0.5) * size


def _incidents(spec, *, month_only=False, n=3):
    """spec: list of ((row, col), date_string, how_many)."""
    xs, ys, dates = [], [], []
    for (r, c), date, k in spec:
        x, y = _centre(r, c, n)
        for i in range(k):
            xs.append(x + (i % 7))  # a little spread, same cell
            ys.append(y)
            dates.append(date)
    d = pd.to_datetime(pd.Series(dates))
    data = {"incident_id": [f"i{i}" for i in range(len(xs))]}
    if month_only:
        data["month"] = d.dt.strftime("%Y-%m")
        data["occurred"] = pd.Series(pd.NaT, index=range(len(xs)), dtype="datetime64[ns]")
    else:
        data["occurred"] = d
        data["month"] = d.dt.strftime("%Y-%m")
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(xs, ys), crs=27700)


# Cell (0,0): 20 -> 2 (fall); (1,1): 5 -> 25 (rise); (2,2): 6 -> 6 (no change); (0,2): 1 -> 2 (too few)
SPEC = [
    ((0, 0), "2022-10-15", 20), ((0, 0), "2023-10-15", 2),
    ((1, 1), "2022-11-02", 5), ((1, 1), "2024-01-20", 25),
    ((2, 2), "2022-08-01", 6), ((2, 2), "2024-03-03", 6),
    ((0, 2), "2023-02-01", 1), ((0, 2), "2023-08-01", 2),
]


# =============================================================================== Period
def test_period_basics():
    p = Period("2022-07-01", "2023-06-30")
    assert p.days == 365 and p.months == 12 and p.is_month_aligned
    assert p.describe() == "Jul 2022 – Jun 2023"
    q = Period("2022-07-15", "2023-07-14")
    assert q.days == 365 and q.months == 12 and not q.is_month_aligned  # month starts Aug 2022 .. Jul 2023
    assert Period.from_months("2023-07", "2024-06") == Period("2023-07-01", "2024-06-30")


def test_periods_around_default_is_scheme_start():
    b, a = periods_around()
    assert (b.start, b.end) == (dt.date(2022, 7, 1), dt.date(2023, 6, 30))
    assert (a.start, a.end) == (dt.date(2023, 7, 1), dt.date(2024, 6, 30))
    assert (b.days, a.days) == (365, 366)  # 2024 is a leap year


def test_period_must_end_after_start():
    with pytest.raises(ParameterError, match="end after it starts"):
        Period("2023-07-01", "2023-07-01")
    with pytest.raises(ParameterError, match="end after it starts"):
        Period("2023-07-01", "2023-06-01")
    with pytest.raises(ParameterError, match="date"):
        Period("not a date", "2023-06-01")


# =============================================================================== the tests themselves
def test_rate_ratio_test_matches_r_poisson_test_example():
    # R: poisson.test(c(11, 6+8+7), c(800, 1083+1050+878)) -> rate ratio 1.971488,
    # p-value 0.07967, 95 % CI 0.8584264 4.2772659 (R's own documentation example).
    r = rate_ratio_test(21, 11, 3011, 800).iloc[0]
    assert r.rate_ratio == pytest.approx(1.971488, abs=1e-6)
    assert r.p_value == pytest.approx(0.07967, abs=5e-6)
    assert r.rate_ratio_low == pytest.approx(0.8584264, abs=1e-6)
    assert r.rate_ratio_high == pytest.approx(4.2772659, abs=1e-6)


def test_rate_ratio_test_hand_computed_equal_periods():
    # 10 before, 2 after, equal periods: X ~ Bin(12, 1/2); two-sided p = 2 P(X <= 2)
    # = 2 (1 + 12 + 66) / 4096 = 158 / 4096.
    r = rate_ratio_test(10, 2, 365, 365).iloc[0]
    assert r.p_value == pytest.approx(158 / 4096)
    assert r.rate_ratio == pytest.approx(0.2)


def test_rate_ratio_test_hand_computed_unequal_periods():
    # 6 before in 2 years, 0 after in 1 year: X ~ Bin(6, 1/3). P(X=k) = C(6,k) 2^(6-k) / 729:
    # k=0: 64, 1: 192, 2: 240, 3: 160, 4: 60, 5: 12, 6: 1. Two-sided = those <= P(0):
    # (64 + 60 + 12 + 1) / 729 = 137 / 729.
    r = rate_ratio_test(6, 0, 2, 1).iloc[0]
    assert r.p_value == pytest.approx(137 / 729)
    assert r.rate_ratio == 0 and r.rate_ratio_low == 0
    # Upper limit: Clopper-Pearson upper for 0/6 is 1 - (alpha/2)^(1/6); RR = pi/(1-pi) * 2.
    pu = 1 - 0.025 ** (1 / 6)
    assert r.rate_ratio_high == pytest.approx(pu / (1 - pu) * 2)


def test_rate_ratio_test_agrees_with_scipy_e_test_for_large_counts():
    # scipy.stats.poisson_means_test is the E-test (Krishnamoorthy & Thomson), a different test;
    # for large counts both approach the normal test and agree closely.
    for xb, xa in [(400, 330), (250, 250), (90, 130)]:
        ours = rate_ratio_test(xb, xa, 365, 366).p_value.iloc[0]
        ref = stats.poisson_means_test(xa, 366, xb, 365).pvalue
        assert ours == pytest.approx(ref, rel=0.15, abs=0.01)


def test_rate_ratio_test_zero_zero_is_nan():
    r = rate_ratio_test([0], [0], 1, 1).iloc[0]
    assert math.isnan(r.p_value) and math.isnan(r.rate_ratio)


def test_ratio_of_ratios_matches_hand_hypergeometric():
    # Table [[after_t, before_t], [after_c, before_c]] = [[1, 9], [10, 10]]: margins row 10, column 11,
    # N 30. P(X=k) = C(11,k) C(19,10-k) / C(30,10); two-sided p = sum of P(k) <= P(1).
    probs = [math.comb(11, k) * math.comb(19, 10 - k) / math.comb(30, 10) for k in range(0, 11)]
    p_hand = sum(p for p in probs if p <= probs[1] * (1 + 1e-7))
    r = ratio_of_ratios_test(9, 1, 10, 10).iloc[0]
    assert r.p_value == pytest.approx(p_hand)
    assert r.ratio_of_ratios == pytest.approx((1 / 9) / (10 / 10))
    assert r.ratio_of_ratios_low < r.ratio_of_ratios < r.ratio_of_ratios_high


def test_ratio_of_ratios_with_huge_control_tends_to_binomial_test():
    # A control with enormous, stable counts is a known baseline: the test becomes the
    # conditional binomial test with p = c_a / (c_a + c_b).
    ror = ratio_of_ratios_test(20, 8, 1_000_000, 1_000_000).p_value.iloc[0]
    rr = rate_ratio_test(20, 8, 1, 1).p_value.iloc[0]
    assert ror == pytest.approx(rr, rel=0.02)


def test_ratio_of_ratios_needs_control_counts():
    with pytest.raises(ParameterError, match="control"):
        ratio_of_ratios_test(5, 5, 0, 10)


# =============================================================================== change_cells
def test_change_cells_hand_example():
    res = change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, fdr=False, test="poisson")
    assert isinstance(res, ChangeResult)
    t = res.table.set_index(["row", "col"])
    assert (res.exposure_before_days, res.exposure_after_days) == (365, 366)
    assert t.loc[(0, 0), ["n_before", "n_after"]].tolist() == [20, 2]
    assert t.loc[(0, 0), "change_per_day"] == pytest.approx(2 / 366 - 20 / 365)  # per day, not the raw -18
    assert "change" not in t.columns and "rate_before" not in t.columns
    assert t.loc[(0, 0), "rate_ratio"] == pytest.approx((2 / 366) / (20 / 365))
    # p for (0,0): X ~ Bin(22, 366/731), two-sided binomtest
    assert t.loc[(0, 0), "p_value"] == pytest.approx(stats.binomtest(2, 22, 366 / 731).pvalue)
    assert t.loc[(0, 0), "change_class"] == "significant fall"
    assert t.loc[(1, 1), "change_class"] == "significant rise"
    assert t.loc[(2, 2), "change_class"] == "no significant change"
    assert t.loc[(0, 2), "change_class"] == "too few incidents"
    assert math.isnan(t.loc[(0, 2), "p_value"])
    assert t.loc[(1, 0), "change_class"] == "too few incidents"  # 0 and 0
    assert t.loc[(0, 0), "rate_before_per_day"] == pytest.approx(20 / 365)
    assert t.loc[(0, 0), "rate_after_per_day"] == pytest.approx(2 / 366)
    assert len(res.table) == 9
    s = res.summary()
    assert list(s.index) == list(CHANGE_CLASSES) and s.sum() == 9
    assert (s["significant fall"], s["significant rise"], s["no significant change"], s["too few incidents"]) == (1, 1, 1, 6)
    assert "p_adjusted" not in res.table.columns
    assert res.time_resolution == "day"


def test_change_per_day_agrees_in_sign_with_the_rate_ratio_when_periods_differ_in_length():
    # 16 incidents in 90 days, then 43 in 275 (Crossways, Dunstable): more incidents, but fewer a day
    b, a = Period("2025-01-15", "2025-04-14"), Period("2025-04-15", "2026-01-14")
    assert (b.days, a.days) == (90, 275)
    # a few a month in every month (too few for a month of 0 to count as a missing file)
    spec = [((0, 0), d, 4) for d in ("2025-01-20", "2025-02-10", "2025-03-10", "2025-04-10")]
    spec += [((0, 0), f"2025-{m:02d}-10", 5) for m in range(5, 13)] + [((0, 0), "2026-01-10", 3)]
    pts = _incidents(spec)
    res = change_cells(pts, _grid(), b, a, fdr=False, test="poisson")
    row = res.table.set_index(["row", "col"]).loc[(0, 0)]
    assert (row["n_before"], row["n_after"]) == (16, 43)
    assert row["change_per_day"] == pytest.approx(43 / 275 - 16 / 90) and row["change_per_day"] < 0
    assert row["rate_ratio"] < 1


def test_counts_text_lists_every_class_that_occurs_so_the_counts_add_up():
    """The summary line once left out the "too few incidents" units (39 areas, 34 counted)."""
    res = change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, fdr=False, test="poisson")
    counts = "significant fall 1, no significant change 1, significant rise 1, too few incidents 6"
    assert res.counts_text() == counts
    assert res.describe().endswith(f"; cells: {counts}")
    # the three verdicts are always named (a 0 says something); a class no unit has is not
    busy = res.table["change_class"] != "too few incidents"
    only = dataclasses.replace(res, table=res.table[busy & (res.table["change_class"] != "significant rise")])
    assert only.counts_text() == "significant fall 1, no significant change 1, significant rise 0"


def test_detectable_falls_text_gives_the_range_of_the_units_smallest_detectable_falls():
    res = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER)
    areas = lambda mde: dataclasses.replace(res, table=res.table.assign(mde_fall=mde))  # noqa: E731
    n = len(res.table)
    assert areas([0.5734] * n).detectable_falls_text() == (
        "each hotspot area's own test could detect only a fall of 57% or more (80% power); smaller falls read as no "
        "significant change"
    )
    assert n >= 2 and "a fall of 30–80% or more" in areas(np.linspace(0.30, 0.80, n)).detectable_falls_text()
    mixed = areas([0.30] * (n - 1) + [1.0]).detectable_falls_text()
    assert "a fall of 30% or more" in mixed and "(1 could not detect even a fall to 0)" in mixed
    near_all = areas(np.linspace(0.30, 0.9962, n)).detectable_falls_text()
    assert "a fall of 30–99.6% or more" in near_all and "100%" not in near_all  # not "a fall of 100% or more"
    assert areas([np.nan] * n).detectable_falls_text() == ""
    assert "could not detect even a fall to 0" in areas([1.0] * n).detectable_falls_text()
    assert dataclasses.replace(res, table=res.table.drop(columns="mde_fall")).detectable_falls_text() == ""


def test_finite_for_files_empties_ratios_that_are_not_finite_and_their_intervals():
    t = pd.DataFrame({
        "area_id": [1, 2, 3, 4],
        "n_before": [0, 0, 5, 30],
        "n_after": [1, 0, 0, 40],
        "change_rate_ratio": [np.inf, np.nan, 0.0, 1.3],
        "change_rate_ratio_adjusted": [np.nan, np.nan, np.nan, 1.1],
        "change_rate_ratio_low": [0.062, np.nan, 0.02, 0.9],
        "change_rate_ratio_high": [62.0, np.nan, 2.0, 1.4],
        "p_value": [np.nan, np.nan, 0.06, 0.5],
        "change_class": ["too few incidents", "too few incidents", "no significant change", "no significant change"],
    })
    got = finite_for_files(t)
    assert got["change_rate_ratio"].isna().tolist() == [True, True, False, False]
    assert got["change_rate_ratio_low"].isna().tolist() == [True, True, True, False]  # no estimate, no interval
    # a fall to 0 is an estimate, kept; its interval (set by the 0.5 in the 0's place) does not hold
    # it, and is not written either
    assert got["change_rate_ratio"].tolist()[2:] == [0.0, 1.3]
    assert got["change_rate_ratio_high"].isna().tolist()[2:] == [True, False]
    assert got["p_value"].tolist()[2:] == [0.06, 0.5] and got["change_class"].tolist() == t["change_class"].tolist()
    assert np.isinf(t["change_rate_ratio"].iloc[0])  # the caller's table is not changed
    # the interval follows the adjusted change where there is one
    adj = t.assign(change_rate_ratio=[np.inf, 1.0, 1.0, np.inf], change_rate_ratio_adjusted=[np.nan, np.nan, np.nan, 1.1])
    out = finite_for_files(adj)
    assert out["change_rate_ratio_low"].isna().tolist() == [True, True, False, False]


def test_change_cells_geodataframe_and_gridvalues():
    res = change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, test="poisson")
    gdf = res.to_geodataframe()
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.to_epsg() == 27700 and len(gdf) == 9
    # the geometry of cell (0,0) is the north-west square
    row = gdf[(gdf.row == 0) & (gdf.col == 0)].iloc[0]
    assert row.geometry.bounds == (0.0, 200.0, 100.0, 300.0)
    gv = res.to_gridvalues("n_before")
    assert gv.values[0, 0] == 20 and gv.values[1, 1] == 5
    assert "alpha 0.05" in res.describe()


def test_fdr_adjustment_is_bh_and_only_shrinks_significance():
    res_raw = change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, fdr=False, test="poisson")
    res_bh = change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, fdr=True, test="poisson")
    p = res_bh.table["p_value"].dropna().to_numpy()
    m = len(p)
    order = np.argsort(p)
    bh = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    assert np.allclose(np.sort(res_bh.table["p_adjusted"].dropna().to_numpy()), np.sort(np.minimum(bh, 1)))
    assert (res_bh.table["p_adjusted"].fillna(1) >= res_bh.table["p_value"].fillna(1)).all()
    assert not (res_bh.table["significant"] & ~res_raw.table["significant"]).any()


def test_month_only_data_counts_months_and_exposure_in_whole_months():
    inc = _incidents(SPEC, month_only=True)
    res = change_cells(inc, _grid(), BEFORE, AFTER, fdr=False, test="poisson")
    assert res.time_resolution == "month"
    assert (res.exposure_before_days, res.exposure_after_days) == (365, 366)
    t = res.table.set_index(["row", "col"])
    assert t.loc[(0, 0), ["n_before", "n_after"]].tolist() == [20, 2]
    # A period that is not month-aligned: months whose first day is inside are counted, and a note says so.
    b = Period("2022-07-15", "2023-07-14")  # month starts Aug 2022 .. Jul 2023
    a = Period("2023-07-15", "2024-07-14")  # Aug 2023 .. Jul 2024
    res2 = change_cells(inc, _grid(), b, a, fdr=False, test="poisson")
    assert any("month boundaries" in n for n in res2.notes)
    t2 = res2.table.set_index(["row", "col"])
    # Aug 2022 (6 at (2,2)) is in, Jul 2023 (none) ; (0,2) Aug 2023 moves to 'after'
    assert t2.loc[(2, 2), "n_before"] == 6 and t2.loc[(0, 2), "n_after"] == 2
    assert res2.exposure_before_days == 365  # Aug 2022 .. Jul 2023 = 365 days


def test_same_months_restricts_both_periods():
    spec = [
        ((0, 0), "2022-03-10", 7),  # March: outside the common months, dropped
        ((0, 0), "2022-09-10", 4),
        ((0, 0), "2023-09-10", 3),
    ]
    before = Period("2022-01-01", "2022-12-31")
    after = Period("2023-07-01", "2023-12-31")
    res = change_cells(_incidents(spec), _grid(), before, after, same_months=True, min_total=1, test="poisson")
    assert res.common_months == (7, 8, 9, 10, 11, 12)
    assert res.exposure_before_days == 184 and res.exposure_after_days == 184
    t = res.table.set_index(["row", "col"])
    assert t.loc[(0, 0), ["n_before", "n_after"]].tolist() == [4, 3]
    assert any("same calendar months" in n for n in res.notes)
    # the months left out are said with the period, as missing months are (the note alone reached no output)
    assert res.period_text("before") == (
        "Jan 2022 – Dec 2022 (6 of 12 months counted; left out: Jan 2022 – Jun 2022, not a month of the year both periods hold)"
    )
    assert res.period_text("after") == "Jul 2023 – Dec 2023"
    plain = change_cells(_incidents(spec), _grid(), before, after, min_total=1, test="poisson")
    assert plain.left_out == ()
    assert plain.table.set_index(["row", "col"]).loc[(0, 0), "n_before"] == 11
    assert plain.exposure_before_days == 365


def test_same_months_without_common_month_is_an_error():
    with pytest.raises(ParameterError, match="these share none"):
        change_cells(
            _incidents(SPEC), _grid(), Period("2022-01-01", "2022-03-31"), Period("2023-07-01", "2023-09-30"),
            same_months=True, test="poisson",
        )


def test_control_cells_ratio_of_ratios():
    # 4 x 4 grid; control = the bottom row, which falls by two thirds: 60 -> 20. Cell (0,0) too:
    # 30 -> 10, so relative to the control it did not change, although on its own it fell significantly.
    spec = [((0, 0), "2022-10-01", 30), ((0, 0), "2023-10-01", 10),
            ((3, 0), "2022-10-01", 60), ((3, 0), "2023-10-01", 20)]
    inc = _incidents(spec, n=4)
    g = _grid(4)
    control = np.zeros(g.shape, dtype=bool)
    control[3, :] = True
    plain = change_cells(inc, g, BEFORE, AFTER, fdr=False, test="poisson").table.set_index(["row", "col"])
    res = change_cells(inc, g, BEFORE, AFTER, control=control, fdr=False, test="poisson")
    t = res.table.set_index(["row", "col"])
    assert res.control["before"] == 60 and res.control["after"] == 20
    assert t.loc[(0, 0), "ratio_of_ratios"] == pytest.approx((10 / 30) / (20 / 60))
    assert t.loc[(0, 0), "p_value"] == pytest.approx(stats.fisher_exact([[10, 30], [20, 60]]).pvalue)
    assert t.loc[(0, 0), "change_class"] == "no significant change"
    assert t.loc[(3, 0), "change_class"] == "control area"
    assert plain.loc[(0, 0), "change_class"] == "significant fall"


def test_control_polygon_for_cells():
    spec = [((0, 0), "2022-10-01", 20), ((0, 0), "2023-10-01", 2),
            ((2, 2), "2022-10-01", 30), ((2, 2), "2023-10-01", 30)]
    poly = shapely.box(200, 0, 300, 100)  # exactly cell (2, 2)
    res = change_cells(_incidents(spec), _grid(), BEFORE, AFTER, control=poly, fdr=False, test="poisson")
    t = res.table.set_index(["row", "col"])
    assert res.control["before"] == 30 and res.control["after"] == 30
    assert t.loc[(2, 2), "change_class"] == "control area"
    assert (res.table["change_class"] == "control area").sum() == 1  # neighbours only touch it
    assert t.loc[(0, 0), "change_class"] == "significant fall"


def test_control_without_incidents_is_an_error():
    with pytest.raises(ParameterError, match="control"):
        change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, control=shapely.box(100, 0, 200, 100), test="poisson")


# =============================================================================== change_areas
def _areas():
    return gpd.GeoDataFrame(
        {"area_id": ["A", "B"]},
        geometry=[shapely.box(0, 200, 100, 300), shapely.box(100, 100, 200, 200)],  # cells (0,0) and (1,1)
        crs=27700,
    )


def test_change_areas_counts_and_classes():
    res = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, test="poisson")
    t = res.table.set_index("area_id")
    assert t.loc["A", ["n_before", "n_after"]].tolist() == [20, 2]
    assert t.loc["B", ["n_before", "n_after"]].tolist() == [5, 25]
    assert t.loc["A", "change_class"] == "significant fall"
    assert t.loc["B", "change_class"] == "significant rise"
    assert res.unit == "area" and list(res.to_geodataframe().columns[:1]) == ["area_id"]
    with pytest.raises(ParameterError, match="cell results"):
        res.to_gridvalues()


def test_change_areas_that_hold_no_incident_get_zero_counts_not_an_error():
    # a hotspot area with no incident in either period (a cold area far from every incident, as on a
    # sparse random map): the overdispersed test used to stop with "no dated incidents"
    empty = gpd.GeoDataFrame({"area_id": ["far"]}, geometry=[shapely.box(5_000, 5_000, 5_100, 5_100)], crs=27700)
    res = change_areas(_incidents(SPEC), empty, BEFORE, AFTER)
    row = res.table.iloc[0]
    assert (row["n_before"], row["n_after"]) == (0, 0)
    assert row["change_class"] == "too few incidents" and not row["significant"]
    assert res.panel.counts.shape[0] == 1 and res.panel.counts.sum() == 0


def test_change_areas_with_control():
    ctrl = shapely.box(200, 0, 300, 100)
    res = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, control=ctrl, fdr=False, test="poisson")
    assert res.control["before"] == 6 and res.control["after"] == 6
    t = res.table.set_index("area_id")
    assert t.loc["A", "ratio_of_ratios"] == pytest.approx((2 / 20) / (6 / 6))
    assert t.loc["A", "p_value"] == pytest.approx(stats.fisher_exact([[2, 20], [6, 6]]).pvalue)


def test_control_overlapping_an_area_is_an_error():
    with pytest.raises(ParameterError, match="overlaps"):
        change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, control=shapely.box(50, 150, 250, 250), test="poisson")


def test_control_touching_an_area_is_fine():
    ctrl = shapely.box(200, 0, 300, 100)  # touches area B at the corner (200, 100)
    change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, control=ctrl, test="poisson")


def test_areas_id_column_and_crs_checks():
    areas = _areas().rename(columns={"area_id": "name"})
    res = change_areas(_incidents(SPEC), areas, BEFORE, AFTER, id_column="name", test="poisson")
    assert list(res.table["area_id"]) == ["A", "B"]
    with pytest.raises(SchemaError, match="id_column"):
        change_areas(_incidents(SPEC), areas, BEFORE, AFTER, id_column="nope", test="poisson")
    with pytest.raises(CRSError, match="to_crs"):
        change_areas(_incidents(SPEC).to_crs(4326), _areas(), BEFORE, AFTER, test="poisson")


# =============================================================================== bad input
def test_overlapping_periods_rejected():
    with pytest.raises(ParameterError, match="overlap"):
        change_cells(_incidents(SPEC), _grid(), Period("2022-07-01", "2023-07-31"), AFTER)


def test_empty_period_rejected():
    with pytest.raises(ParameterError, match="no incidents fall in the after period"):
        change_cells(_incidents(SPEC), _grid(), BEFORE, Period("2025-01-01", "2025-12-31"))


def test_missing_date_columns_rejected():
    inc = _incidents(SPEC).drop(columns=["occurred", "month"])
    with pytest.raises(SchemaError, match="occurred"):
        change_cells(inc, _grid(), BEFORE, AFTER)


def test_bad_alpha_and_periods_type():
    with pytest.raises(ParameterError, match="alpha"):
        change_cells(_incidents(SPEC), _grid(), BEFORE, AFTER, alpha=5)
    with pytest.raises(ParameterError, match="Period"):
        change_cells(_incidents(SPEC), _grid(), ("2022-07-01", "2023-06-30"), AFTER)


def test_incident_dates_prefers_occurred_then_month():
    df = pd.DataFrame({
        "occurred": pd.to_datetime(["2023-07-05 23:30", None, None]),
        "month": ["2023-01", "2023-02", None],
    })
    d, month_only = incident_dates(df)
    assert list(d.astype(str)) == ["2023-07-05", "2023-02-01", "NaT"]
    assert list(month_only) == [False, True, False]
    # each incident's month (-1 undated), None for incidents without dates
    from hotspots.incident_time import incident_months

    assert incident_months(df).tolist() == [2023 * 12 + 6, 2023 * 12 + 1, -1]
    assert incident_months(pd.DataFrame({"x": [1.0]})) is None


def test_timezone_aware_occurred_uses_london_date():
    df = pd.DataFrame({"occurred": pd.to_datetime(["2023-06-30T23:30:00Z"], utc=True)})  # 00:30 BST on 1 July
    d, _ = incident_dates(df)
    assert str(d[0]) == "2023-07-01"


def test_caller_frame_not_modified():
    inc = _incidents(SPEC)
    before_copy = inc.copy()
    change_cells(inc, _grid(), BEFORE, AFTER)
    pd.testing.assert_frame_equal(inc.drop(columns="geometry"), before_copy.drop(columns="geometry"))


# =============================================================================== properties
@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 730)), min_size=2, max_size=60))
def test_counts_add_up_and_values_in_range(events):
    start = dt.date(2022, 7, 1)
    spec = [((r, c), (start + dt.timedelta(days=d)).isoformat(), 1) for r, c, d in events]
    inc = _incidents(spec)
    in_b = sum(1 for _, _, d in events if d < 365)
    in_a = len(events) - in_b
    if in_b == 0 or in_a == 0:
        with pytest.raises(ParameterError):
            change_cells(inc, _grid(), BEFORE, AFTER)
        return
    res = change_cells(inc, _grid(), BEFORE, AFTER, min_total=1)
    t = res.table
    assert t["n_before"].sum() == in_b and t["n_after"].sum() == in_a
    p = t["p_value"].dropna()
    assert ((p >= 0) & (p <= 1 + 1e-12)).all()
    both = t[(t.n_before > 0) & (t.n_after > 0)]
    assert (both.rate_ratio_low <= both.rate_ratio + 1e-12).all() and (both.rate_ratio <= both.rate_ratio_high + 1e-12).all()
    assert set(t["change_class"]) <= set(CHANGE_CLASSES)


def test_null_false_alarm_rate_is_within_alpha():
    # No change anywhere: 400 cells with the same Poisson rate in both (equal-length) periods.
    # The exact test is conservative, so without FDR at most ~5 % of cells may be flagged.
    rng = np.random.default_rng(20230701)
    nb = rng.poisson(10, 400)
    na = rng.poisson(10, 400)
    p = rate_ratio_test(nb, na, 365, 365).p_value.to_numpy()
    rate = float((p < 0.05).mean())
    assert rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / 400)
    # and a planted 50 % fall from 60 a year is found in most cells (power about 0.88)
    pf = rate_ratio_test(rng.poisson(60, 400), rng.poisson(30, 400), 365, 365).p_value.to_numpy()
    assert (pf < 0.05).mean() > 0.75


# =============================================================================== demo data (acceptance)
@pytest.fixture(scope="module")
def demo():
    from hotspots.demo import generate_demo

    return generate_demo(0)


def _demo_areas(demo):
    return demo.hotspot_areas().rename(columns={"hotspot_id": "area_id"})


def test_demo_treated_hotspots_fall_untreated_mostly_not(demo):
    # Acceptance: the generator's treated hotspots (30 % planted fall) come out as significant
    # falls; untreated ones mostly do not (seed 0: 8/8 treated, 1/36 untreated, no FDR).
    areas = _demo_areas(demo)
    res = change_areas(demo.incidents, areas, BEFORE, AFTER)
    t = res.table.assign(treated=areas["treated"].to_numpy())
    treated = t[t.treated]
    untreated = t[~t.treated]
    assert (treated["change_class"] == "significant fall").all()
    assert (untreated["change_class"] != "no significant change").mean() <= 0.10
    # rate ratios of treated hotspots near the planted 0.7 (ramp over two months, 3 %/year trend)
    assert treated["rate_ratio"].between(0.6, 0.85).all()


def test_demo_placebo_finds_no_more_than_nominal(demo):
    # Placebo: a fake start a year before the scheme, same calendar months (Jan-Jun 2022 vs
    # Jan-Jun 2023), all before any planted effect.
    areas = _demo_areas(demo)
    pb, pa = Period("2022-01-01", "2022-06-30"), Period("2022-07-01", "2023-06-30")
    res = change_areas(demo.incidents, areas, pb, pa, same_months=True)
    assert res.common_months == (1, 2, 3, 4, 5, 6)
    # without FDR, within the nominal 5 % (+ 2 binomial s.e.) of the 44 areas; seed 0: 2 of 44
    flagged = int((res.table["change_class"] != "no significant change").sum())
    assert flagged <= 0.05 * 44 + 2 * math.sqrt(44 * 0.05 * 0.95)
    res = change_areas(demo.incidents, areas, pb, pa, same_months=True, fdr=True)
    assert (res.table["change_class"] == "no significant change").all()  # seed 0: 0 of 44 flagged with FDR
    g = Grid.for_points(demo.incidents, cell_size=500)
    cells = change_cells(demo.incidents, g, pb, pa, same_months=True)
    tested = cells.table["change_class"] != "too few incidents"
    raw_rate = float((cells.table.loc[tested, "p_value"] <= 0.05).mean())
    n = int(tested.sum())
    # per-cell false-alarm rate without FDR within the nominal 5 % (+ 2 binomial s.e.); seed 0: 3.0 % of 1,048
    assert raw_rate <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / n)
    assert not cells.table["significant"].any()  # with FDR: none


def test_demo_cell_falls_lie_in_treated_hotspots(demo):
    g = Grid.for_points(demo.incidents, cell_size=500)
    res = change_cells(demo.incidents, g, BEFORE, AFTER)
    gdf = res.to_geodataframe()
    treated = shapely.union_all(demo.hotspot_areas(treated_only=True).geometry.values)
    falls = gdf[gdf["change_class"] == "significant fall"]
    # The demo plants the fall in each treated hotspot's core only (within 2 sd), so 500 m cells
    # straddling the circle fall less; with BH over ~1,440 cells, seed 0 gives 3 cells.
    assert len(falls) >= 2
    assert falls.intersects(treated).all()
    assert (gdf["change_class"] == "significant rise").sum() == 0


# =============================================================================== real police.uk data
@pytest.mark.realdata
def test_real_derbyshire_month_only_data(derbyshire_dir):
    from hotspots.io import load_police_uk

    inc, _ = load_police_uk(derbyshire_dir, categories="Anti-social behaviour")
    jan, feb = Period.from_months("2025-01", "2025-01"), Period.from_months("2025-02", "2025-02")
    g = Grid.for_points(inc, cell_size=1000)
    res = change_cells(inc, g, jan, feb)
    assert res.time_resolution == "month"
    assert (res.exposure_before_days, res.exposure_after_days) == (31, 28)
    months = inc["month"].dt.strftime("%Y-%m")
    assert res.table["n_before"].sum() == (months == "2025-01").sum()
    assert res.table["n_after"].sum() == (months == "2025-02").sum()
    p = res.table["p_value"].dropna()
    assert len(p) > 0 and p.between(0, 1).all()


# =============================================================================== fast paths equal the reference
def test_binomial_p_values_equal_scipy_binomtest_exactly():
    from hotspots.count_tests import _binom_two_sided

    rng = np.random.default_rng(7)
    probs = [0.5, 366 / (365 + 366), 0.3, 0.01, 0.99, 1 / 3, 0.25, 0.123456, 0.9, 0.5000001, 28 / (28 + 31)]
    for prob in probs:
        ks, ns = [], []
        for n in list(range(1, 30)) + rng.integers(30, 2000, 12).tolist() + [54_321]:
            pn = prob * n
            cand = {0, n, n // 2, int(pn), int(pn) + 1, max(int(pn) - 1, 0)} | set(rng.integers(0, n + 1, 6).tolist())
            for k in sorted(c for c in cand if 0 <= c <= n):
                ks.append(k)
                ns.append(n)
        ks.append(0)
        ns.append(0)  # n = 0: no test
        got = _binom_two_sided(np.array(ks), np.array(ns), prob)
        want = np.array([stats.binomtest(k, n, prob).pvalue if n > 0 else np.nan for k, n in zip(ks, ns)])
        np.testing.assert_array_equal(got, want)  # identical, not just close


def test_rate_ratio_test_p_values_are_scipy_binomtest():
    xb = np.array([0, 1, 3, 20, 5, 6, 0, 11, 400])
    xa = np.array([0, 0, 7, 2, 25, 6, 9, 21, 388])
    r = rate_ratio_test(xb, xa, 365, 366)
    prob = 366 / (365 + 366)
    want = [stats.binomtest(int(a), int(a + b), prob).pvalue if a + b else np.nan for a, b in zip(xa, xb)]
    np.testing.assert_array_equal(r["p_value"].to_numpy(), np.array(want))


def _grid_areas_and_points(seed=0):
    """Hotspot areas on a real grid, and points inside cells, on cell edges and on cell corners."""
    from hotspots.areas import hotspot_areas
    from hotspots.gistar import gi_star
    from hotspots.grid import count

    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((0, 0, 2000, 2000), 100.0)
    centres = np.array([[500.0, 500.0], [1500.0, 1400.0], [700.0, 1600.0]])
    pts = np.vstack([c + rng.normal(0, 120, (300, 2)) for c in centres] + [rng.uniform(0, 2000, (600, 2))])
    xs, ys = np.round(pts[:, 0]), np.round(pts[:, 1])  # whole metres: many points on cell edges and corners
    edge_x = np.round(rng.uniform(0, 2000, 200) / 100) * 100  # exactly on vertical grid lines
    corner = np.round(rng.uniform(0, 2000, (200, 2)) / 100) * 100
    xs = np.concatenate([xs, edge_x, corner[:, 0], [2000.0, -0.5, 4000.0]])
    ys = np.concatenate([ys, rng.uniform(0, 2000, 200), corner[:, 1], [1000.0, 1000.0, 1000.0]])
    n = len(xs)
    dates = np.where(rng.random(n) < 0.5, "2023-01-15", "2023-10-15")
    inc = gpd.GeoDataFrame({"occurred": pd.to_datetime(dates)}, geometry=gpd.points_from_xy(xs, ys), crs=27700)
    g = gi_star(count(inc, grid), 300.0)
    areas = hotspot_areas(g, min_confidence=0.9)
    return inc, areas


def test_change_areas_from_hotspot_areas_equals_polygon_test():
    inc, areas = _grid_areas_and_points()
    assert areas.n_areas >= 2
    fast = change_areas(inc, areas, BEFORE, AFTER)
    # HotspotAreas bring their grid, whose cells' model the areas draw on by default; plain
    # polygons are given it
    cells = change_cells(inc, areas.grid, BEFORE, AFTER)
    slow = change_areas(inc, areas.areas, BEFORE, AFTER, tau2_fallback=cells.dispersion)
    pd.testing.assert_frame_equal(fast.table, slow.table)
    assert fast.dispersion == slow.dispersion
    # reference: shapely's own point-in-polygon (boundary included), area by area
    xy = shapely.get_coordinates(inc.geometry.values)
    for j, geom in enumerate(areas.areas.geometry.values):
        inside = shapely.intersects(geom, shapely.points(xy))
        in_b = inside & (inc["occurred"] < pd.Timestamp("2023-07-01")).to_numpy()
        assert fast.table["n_before"].iloc[j] == int(in_b.sum())
        assert fast.table["n_after"].iloc[j] == int((inside & ~in_b).sum())


def test_polygon_hits_equal_strtree_query_on_edges_and_corners():
    from hotspots.area_hits import cell_area_hits as _cell_area_hits
    from hotspots.area_hits import polygon_hits as _polygon_hits

    inc, areas = _grid_areas_and_points(seed=3)
    xy = shapely.get_coordinates(inc.geometry.values)
    geoms = areas.areas.geometry.values
    rp, ra = shapely.STRtree(geoms).query(shapely.points(xy), predicate="intersects")
    want = sorted(zip(rp.tolist(), ra.tolist()))
    for hp, ha in (_polygon_hits(geoms, xy), _cell_area_hits(areas, xy)):
        assert sorted(zip(hp.tolist(), ha.tolist())) == want


def test_incident_points_read_once_give_the_same_results():
    from hotspots.change import IncidentPoints, incident_points

    inc, areas = _grid_areas_and_points(seed=5)
    pts = incident_points(inc)
    assert isinstance(pts, IncidentPoints) and len(pts) == len(inc) and incident_points(pts) is pts
    for kw in ({}, {"fdr": False, "alpha": 0.1}, {"same_months": True}):
        pd.testing.assert_frame_equal(change_areas(pts, areas, BEFORE, AFTER, **kw).table,
                                      change_areas(inc, areas.areas, BEFORE, AFTER, **kw).table)
        pd.testing.assert_frame_equal(change_cells(pts, areas.grid, BEFORE, AFTER, **kw).table,
                                      change_cells(inc, areas.grid, BEFORE, AFTER, **kw).table)
    with pytest.raises(CRSError, match="to_crs"):
        change_areas(incident_points(inc.to_crs(3857)), areas, BEFORE, AFTER)
    with pytest.raises(SchemaError, match="occurred"):
        incident_points(inc.drop(columns=["occurred"]))


def test_area_change_marks_the_significant_change_the_choice_of_hotspot_months_predicts():
    """Nottinghamshire, hotspots from Jan-Jun 2025 against Apr-Jun -> Jul-Sep: areas 27 -> 9 and 18 -> 4 read
    "significant fall" with no word that regression to the mean predicts a fall (the pooled row said so)."""
    from hotspots.periods import SELECTION_CAVEAT

    plain = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, test="poisson", fdr=False)
    assert plain.selection_favours is None and plain.selection_notes().tolist() == [None, None]
    res = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, test="poisson", fdr=False, selected_on=BEFORE)
    assert res.selection_favours == "fall"
    assert res.table["change_class"].tolist() == ["significant fall", "significant rise"]  # A 20 -> 2, B 5 -> 25
    assert res.selection_notes().tolist() == [SELECTION_CAVEAT, None]
    assert res.selection_notes(["B", "A", "Z"]).tolist() == [None, SELECTION_CAVEAT, None]
    assert res.counts_text() == f"significant fall 1 ({SELECTION_CAVEAT}), no significant change 0, significant rise 1"
    after = change_areas(_incidents(SPEC), _areas(), BEFORE, AFTER, test="poisson", fdr=False, selected_on=AFTER)
    assert after.selection_notes().tolist() == [None, SELECTION_CAVEAT]
