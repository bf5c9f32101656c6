"""Overdispersed change verdicts per unit and pooled: hand checks, calibration in small, the table."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hotspots import Grid
from hotspots._errors import ParameterError
from hotspots.areas import hotspot_areas
from hotspots.change import Period, change_areas, change_cells, periods_around
from hotspots.change_model import (
    AFTER,
    BEFORE,
    PLACEBO,
    MonthlyPanel,
    fit_change_model,
    minimum_detectable_fall,
    touching_groups,
    unit_change_tests,
)
from hotspots.change_summary import (
    SCOPES,
    SUMMARY_COLUMNS,
    VERDICTS,
    change_summary,
    default_selection_period,
    group_shocks,
    selection_overlap_note,
    summarise_change,
)
from hotspots.dispersion import Overdispersion
from hotspots.gistar import gi_star
from hotspots.grid import count


def _panel(Y, labels, ref_extra=1000.0):
    M = Y.shape[1]
    return MonthlyPanel(Y, np.arange(M) + 2023 * 12, np.asarray(labels), np.full(M, 30.0), Y.sum(axis=0) + ref_extra)


def _sim_panel(rng, H=20, fall=0.0, frac=0.5, sd_year=0.12, sd_month=0.15, placebo=False):
    ny = 3 if placebo else 2
    M = 12 * ny
    base = rng.uniform(15, 100, H)
    ym = np.exp(rng.normal(0, sd_year, (H, ny)))
    mm = np.exp(rng.normal(0, sd_month, (H, M)))
    treated = np.arange(H) < int(frac * H)
    eff = np.ones((H, M))
    eff[treated, -12:] = 1 - fall
    Y = rng.poisson(base[:, None] * np.repeat(ym, 12, axis=1) * mm * eff)
    lab = ([PLACEBO] * 12 if placebo else []) + [BEFORE] * 12 + [AFTER] * 12
    return _panel(Y, lab), treated


# ------------------------------------------------------------------ the per-unit model
def test_unit_tests_hand_case_poisson_model():
    Y = np.array([[10] * 12 + [5] * 12, [20] * 24, [3] * 12 + [9] * 12] * 3)
    m = fit_change_model(_panel(Y, [BEFORE] * 12 + [AFTER] * 12), tau2=0.0)
    assert m.dispersion.kappa == 0  # constant months: no month-to-month variation
    assert m.w_before == m.w_after == 360
    r = unit_change_tests(Y[:3, :12].sum(1), Y[:3, 12:].sum(1), m, alpha=0.05)
    np.testing.assert_allclose(r.rate_ratio, [0.5, 1.0, 3.0])
    # no extra variation: the binomial conditional test, twice the smaller tail
    n = np.array([180, 480, 144])
    a = np.array([60, 240, 108])
    want = np.minimum(1, 2 * np.minimum(stats.binom.cdf(a, n, 0.5), stats.binom.sf(a - 1, n, 0.5)))
    np.testing.assert_allclose(r.p_value, want, rtol=1e-12)
    # the interval inverts that test: Clopper-Pearson on the after count's share, as a ratio (the
    # units of at most EXACT_INTERVAL_MAX incidents; the 480 of the second, the normal approximation)
    share_lo, share_hi = stats.beta.ppf(0.025, a, n - a + 1), stats.beta.ppf(0.975, a + 1, n - a)
    exact = n <= 400
    np.testing.assert_allclose(r.rate_ratio_low[exact], (share_lo / (1 - share_lo))[exact], rtol=1e-8)
    np.testing.assert_allclose(r.rate_ratio_high[exact], (share_hi / (1 - share_hi))[exact], rtol=1e-8)
    se = np.sqrt(1 / a + 1 / (n - a))
    np.testing.assert_allclose(r.rate_ratio_low[~exact], np.exp(np.log(a / (n - a)) - stats.norm.isf(0.025) * se)[~exact])
    # minimum detectable fall: these counts (at most EXACT_MDE_MAX before) take their test's exact
    # power, which asks more than the normal approximation 1 - exp(-(1.96 + 0.84) s), s under no change
    from hotspots.detectable_fall import exact_minimum_detectable_fall

    s0 = np.sqrt(2 / (n - a))
    np.testing.assert_allclose(r.mde_fall, exact_minimum_detectable_fall((n - a).astype(float), m, 0.05))
    assert (r.mde_fall > minimum_detectable_fall(s0, 0.05)).all()
    assert minimum_detectable_fall(0.1, 0.05) == pytest.approx(1 - np.exp(-(stats.norm.isf(0.025) + stats.norm.ppf(0.8)) * 0.1))


def test_no_change_overdispersed_areas_are_rarely_flagged():
    # The simulation in small: 12 % year-to-year and 15 % month-to-month variation of
    # each hotspot, no intervention. The Poisson test flags about half; the model about 5 %.
    rng = np.random.default_rng(10)
    flagged = pois = total = 0
    from hotspots.count_tests import rate_ratio_test

    for _ in range(25):
        panel, _ = _sim_panel(rng)
        B, A = panel.totals(BEFORE), panel.totals(AFTER)
        r = unit_change_tests(B, A, fit_change_model(panel), alpha=0.05)
        flagged += int((r.p_value < 0.05).sum())
        pois += int((rate_ratio_test(B, A, 1, 1).p_value < 0.05).sum())
        total += len(B)
    assert flagged / total <= 0.08
    assert pois / total > 0.3


def test_placebo_period_gives_tau2_that_real_effects_cannot_inflate():
    rng = np.random.default_rng(11)
    with_pb = without = 0.0
    for _ in range(10):
        panel, treated = _sim_panel(rng, fall=0.3, placebo=True)
        m = fit_change_model(panel)
        assert m.dispersion.tau2_source == "placebo periods"
        with_pb += m.dispersion.tau2
        lab = panel.label
        keep = lab != PLACEBO
        p2 = MonthlyPanel(panel.counts[:, keep], panel.month[keep], lab[keep], panel.exposure[keep], panel.reference[keep])
        without += fit_change_model(p2).dispersion.tau2
    assert with_pb / 10 == pytest.approx(2 * 0.12**2, rel=0.5)
    assert without > with_pb  # the treated half's gap widens the comparison's spread


def test_placebo_tau2_of_zero_carries_its_uncertainty():
    # pure Poisson panels: a positive DerSimonian-Laird estimate from noise is estimated as 0 unless
    # Cochran's Q is significant at 0.10 (it is in about 10 % of panels), and an estimate of 0 comes
    # with equally likely values of tau2 (its confidence distribution), 0 in about the share
    # Cochran's Q p-value says; overdispersed panels keep theirs
    rng = np.random.default_rng(21)
    zero = noted = 0
    for _ in range(30):
        panel, _ = _sim_panel(rng, H=40, sd_year=0.0, sd_month=0.0, placebo=True)
        d = fit_change_model(panel).dispersion
        zero += d.tau2 == 0
        noted += "Cochran's Q" in d.tau2_source
        assert d.tau2_source.startswith("placebo periods") and len(d.tau2_draws) == 32
        if d.tau2 == 0:
            assert np.mean(np.array(d.tau2_draws) == 0) >= 3 / 32  # Q's p-value is above 0.10
    assert zero >= 24 and noted >= 5  # about half the raw estimates are positive
    for _ in range(5):
        panel, _ = _sim_panel(rng, H=40, placebo=True)
        d = fit_change_model(panel).dispersion
        assert d.tau2 > 0.005 and "Cochran" not in d.tau2_source
        assert d.tau2_draws[0] <= d.tau2 <= d.tau2_draws[-1]


def test_areas_prefer_the_cells_estimate_of_zero_when_it_rests_on_more_places():
    rng = np.random.default_rng(22)
    panel, _ = _sim_panel(rng, H=8, sd_year=0.0, sd_month=0.0, placebo=True)
    cells = Overdispersion(0.0, 0.0, 500, 300, "placebo periods", "", tau2_groups=60)
    assert cells.tau2_df is None and cells.tau2_independent_units == 60
    d = fit_change_model(panel, tau2_fallback=cells, unit_word="areas").dispersion
    assert d.tau2 == 0.0 and d.tau2_source == "placebo periods, from the finer units"
    assert Overdispersion(0.0, 0.0, 5, 300, "given").tau2_independent_units == 0


def test_a_six_month_placebo_is_compared_with_the_same_months_a_year_later():
    # Data hold only 6 months before "before": they are compared with the same calendar months
    # inside "before" (nothing done between them), so the treated half's fall cannot inflate tau2.
    rng = np.random.default_rng(12)
    short = comparison = 0.0
    for _ in range(10):
        panel, _ = _sim_panel(rng, fall=0.3, placebo=True)
        keep = np.r_[np.zeros(6, bool), np.ones(panel.label.size - 6, bool)]  # drop the placebo's first 6 months
        p6 = MonthlyPanel(panel.counts[:, keep], panel.month[keep], panel.label[keep], panel.exposure[keep],
                          panel.reference[keep])
        m = fit_change_model(p6)
        assert m.dispersion.tau2_source == "placebo periods (6 months a year apart)"
        assert not m.seasonal_identified  # same calendar months: no seasonal factors needed
        short += m.dispersion.tau2
        drop = panel.label != PLACEBO
        comparison += fit_change_model(
            MonthlyPanel(panel.counts[:, drop], panel.month[drop], panel.label[drop], panel.exposure[drop], panel.reference[drop])
        ).dispersion.tau2
    assert short / 10 == pytest.approx(2 * 0.12**2, rel=0.6)
    assert comparison > short


def test_split_periods_takes_the_months_before_before_as_a_short_placebo():
    from hotspots.change import split_periods
    from hotspots.periods import Period

    months = pd.date_range("2022-01-01", "2024-06-01", freq="MS")
    inc = pd.DataFrame({"month": np.repeat(months, 3)})
    sp = split_periods(inc, Period.from_months("2022-07", "2023-06"), Period.from_months("2023-07", "2024-06"))
    assert sp.placebo is not None and (sp.placebo.start.isoformat(), sp.placebo.end.isoformat()) == ("2022-01-01", "2022-06-30")
    assert int(sp.in_placebo.sum()) == 18
    late = inc[inc["month"] >= "2022-03-01"]  # only 4 months before "before": too short for a placebo
    assert split_periods(late, Period.from_months("2022-07", "2023-06"), Period.from_months("2023-07", "2024-06")).placebo is None


def test_few_areas_borrow_the_cells_placebo_tau2_and_its_degrees_of_freedom():
    rng = np.random.default_rng(12)
    panel, _ = _sim_panel(rng, H=6, placebo=True)
    cells = Overdispersion(0.02, 0.03, 500, 160, "placebo periods", "", tau2_groups=20)
    m = fit_change_model(panel, tau2_fallback=cells, unit_word="areas")
    d = m.dispersion
    assert d.tau2 == 0.03 and d.tau2_df == 19 and d.tau2_source == "placebo periods, from the finer units"
    assert "20 separate groups" in d.how
    # the cells' estimate rests on 4 groups only: the areas keep their own (6 areas, placebo)
    few = Overdispersion(0.02, 0.03, 500, 40, "placebo periods", "", tau2_groups=4)
    own = fit_change_model(panel, tau2_fallback=few, unit_word="areas").dispersion
    assert own.tau2_units == 6 and own.tau2_total_var > own.tau2 > 0
    assert own.tau2_df == pytest.approx(5 * (own.tau2 / own.tau2_total_var) ** 2) and own.tau2_df < 5
    # a placebo estimate wins over one from the comparison itself, whatever the number of units
    cmp_ = Overdispersion(0.02, 0.01, 500, 160, "this comparison", "", tau2_groups=40)
    assert fit_change_model(panel, tau2_fallback=cmp_, unit_word="areas").dispersion.tau2_source.startswith("placebo periods")


def test_cell_tau2_degrees_of_freedom_count_groups_of_touching_cells():
    # two busy blocks of cells, each sharing one year-to-year factor
    Y = np.full((6, 24), 20)
    Y[:3, 12:] = 26
    Y[3:, 12:] = 15
    rows, cols = np.array([0, 0, 1, 5, 5, 6]), np.array([0, 1, 1, 5, 6, 6])
    m = fit_change_model(_panel(Y, [BEFORE] * 12 + [AFTER] * 12), unit_cells=(rows, cols))
    d = m.dispersion
    assert d.tau2 > 0 and d.tau2_units == 6 and d.tau2_groups == 2
    assert d.tau2_df is None  # two independent places are too few for a t reference
    assert touching_groups(rows, cols, np.ones(6, bool)) == 2
    assert touching_groups(np.array([0, 1]), np.array([0, 1]), np.ones(2, bool)) == 1  # corners touch
    assert touching_groups(rows, cols, np.zeros(6, bool)) == 0


def test_pure_poisson_falls_are_found():
    rng = np.random.default_rng(12)
    found = total = 0
    for _ in range(10):
        panel, treated = _sim_panel(rng, fall=0.3, frac=0.5, sd_year=0, sd_month=0)
        B, A = panel.totals(BEFORE), panel.totals(AFTER)
        r = unit_change_tests(B, A, fit_change_model(panel), alpha=0.05)
        found += int((r.p_value[treated] < 0.05).sum())
        total += int(treated.sum())
    assert found / total >= 0.9


# ------------------------------------------------------------------ through change_areas / change_cells
def _points(spec, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for (x0, y0, w), month, n in spec:
        for _ in range(n):
            rows.append((x0 + rng.uniform(0, w), y0 + rng.uniform(0, w), month))
    df = pd.DataFrame(rows, columns=["x", "y", "month"])
    return gpd.GeoDataFrame({"month": pd.to_datetime(df["month"])}, geometry=gpd.points_from_xy(df.x, df.y), crs=27700)


@pytest.fixture(scope="module")
def town():
    """A 4 km x 4 km grid, background everywhere and two busy blocks that fall 40 % in 2024."""
    rng = np.random.default_rng(3)
    spec = []
    for year in (2022, 2023, 2024):
        for m in range(1, 13):
            month = f"{year}-{m:02d}-01"
            spec.append(((0, 0, 4000), month, int(rng.poisson(60))))
            fall = 0.6 if year == 2024 else 1.0
            spec.append(((500, 500, 500), month, int(rng.poisson(30 * fall))))
            spec.append(((2500, 2500, 500), month, int(rng.poisson(30 * fall))))
    inc = _points(spec)
    g = Grid.from_bounds((0, 0, 4000, 4000), 250)
    return inc, g


def test_change_summary_table_and_verdicts(town):
    inc, g = town
    gi = gi_star(count(inc, g), 400)
    areas = hotspot_areas(gi)
    assert areas.n_areas >= 2
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    s = change_summary(inc, areas, before, after)
    df = s.to_frame()
    assert list(df.columns) == list(SUMMARY_COLUMNS)
    assert list(df["scope"]) == list(SCOPES)
    assert set(df["verdict"]) <= set(VERDICTS)
    hot = s.row("all hotspot areas")
    assert hot.verdict == "significant fall" and hot.rate_ratio < 0.9 and hot.ci_low < hot.rate_ratio < hot.ci_high
    assert s.row("elsewhere").verdict == "no significant change"
    vs = s.row("hotspots vs elsewhere")
    assert vs.rate_ratio == pytest.approx(hot.rate_ratio / s.row("elsewhere").rate_ratio)
    # shared month shocks (if any were estimated) are in both absolute rows and cancel in the ratio
    shared = s.params["month_shocks"]["log_ratio_variance"]
    assert vs.se_log**2 == pytest.approx(hot.se_log**2 + s.row("elsewhere").se_log ** 2 - 2 * shared)
    ext = s.to_frame(extended=True)
    assert {"n_before", "n_after", "mde_fall"} <= set(ext.columns) and (ext["mde_fall"].between(0, 1)).all()
    assert "significant fall" in s.describe()
    # the placebo year (2022) was available: tau2 came from it
    assert s.params["areas_dispersion"]["tau2_source"].startswith("placebo") or s.params["n_areas"] < 5
    with pytest.raises(ParameterError, match="no scope"):
        s.row("everywhere")


def test_summarise_change_matches_counts_by_hand(town):
    inc, g = town
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    cells = change_cells(inc, g, before, after)
    res_a = change_areas(inc, areas, before, after)
    s = summarise_change(cells, res_a, areas.labels)
    t = cells.table
    hot = areas.labels[t["row"], t["col"]] > 0
    assert s.rows[0].n_before == t.loc[hot, "n_before"].sum() == res_a.table["n_before"].sum()
    assert s.rows[1].n_after == t.loc[~hot, "n_after"].sum()
    with pytest.raises(ParameterError, match="overdispersed"):
        summarise_change(change_cells(inc, g, before, after, test="poisson"), res_a, areas.labels)


def test_regression_to_the_mean_note_and_default_selection():
    before, after = periods_around("2023-07-01")
    note, rtm = selection_overlap_note(before, before, after)
    assert rtm and "regression to the mean" in note
    note2, rtm2 = selection_overlap_note(Period(before.start, after.end), before, after)
    assert not rtm2 and "alike" in note2
    assert selection_overlap_note(Period.from_months("2021-07", "2022-06"), before, after) == (None, False)
    pick, why = default_selection_period("2021-01", "2024-06", before, after)
    assert pick.end == before.start - dt.timedelta(days=1) and pick.months == 12 and "outside" in why
    both, why2 = default_selection_period("2022-07", "2024-06", before, after)
    assert both.start == before.start and both.end == after.end and "both" in why2


def test_regression_to_the_mean_note_names_the_right_direction_and_reason():
    """Places picked for being busy in some months were lucky then: chosen from "before", the after
    period looks quieter (a fall by chance); chosen from "after", the before period looks quieter
    (a rise by chance). The months are named plainly, without the period's label."""
    before, after = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    from_after, fall = selection_overlap_note(Period.from_months("2025-07", "2025-12", "analysis period"), before, after)
    assert not fall
    assert "chosen from Jul 2025 – Dec 2025, which overlaps the after period more than the before period" in from_after
    assert "so the before period looks quieter: a rise is expected" in from_after
    assert "analysis period" not in from_after and "quieter later" not in from_after
    from_before, fall = selection_overlap_note(Period.from_months("2025-01", "2025-06", "analysis period"), before, after)
    assert fall
    assert "chosen from Jan 2025 – Jun 2025, which overlaps the before period more than the after period" in from_before
    assert "so the after period looks quieter: a fall is expected" in from_before
    alike, fall = selection_overlap_note(Period.from_months("2025-01", "2025-12", "analysis period"), before, after)
    assert not fall and alike.startswith("hotspots were chosen from Jan 2025 – Dec 2025, which covers")
    pick, why = default_selection_period("2024-01", "2025-12", before, after)
    assert why == "hotspots chosen from Jul 2024 – Dec 2024, outside the compared periods (no regression to the mean)"


# ------------------------------------------------------------------ the lines printed
def test_lines_one_per_scope_in_the_printed_format():
    from hotspots.change_summary import ChangeSummary, ScopeChange

    nan = float("nan")
    rows = (
        ScopeChange(SCOPES[0], 0.8234, 0.7111, 0.9499, 0.0081, "significant fall", 100, 80, 0.2, 0.1),
        ScopeChange(SCOPES[1], 1.2, 1.1, 1.31, 0.00001, "significant rise", 1000, 1200, 0.05, 0.02),
        ScopeChange(SCOPES[2], nan, nan, nan, nan, "no significant change", 0, 0, nan, nan),
    )
    b, a = Period.from_months("2023-01", "2023-06"), Period.from_months("2023-07", "2023-12")
    summ = ChangeSummary(rows, 0.10, b, a, "method")
    assert summ.lines() == [
        "all hotspot areas: rate ratio 0.82 (90 % CI 0.71–0.95), p = 0.008, significant fall",
        "elsewhere: rate ratio 1.20 (90 % CI 1.10–1.31), p < 0.001, significant rise",
        "hotspots vs elsewhere: rate ratio –, p –, no significant change",
    ]


def _hand_summary(verdicts, notes=()):
    from hotspots.change_summary import ChangeSummary, ScopeChange

    rr = {"significant fall": 0.8, "significant rise": 1.21, "no significant change": 1.0}
    rows = tuple(
        ScopeChange(scope, rr[v], rr[v] * 0.9, rr[v] * 1.1, 0.01 if v != "no significant change" else 0.5, v, 100, 100,
                    0.3, 0.1)
        for scope, v in zip(SCOPES, verdicts)
    )
    b, a = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    return ChangeSummary(rows, 0.05, b, a, "method", tuple(notes))


def test_a_change_the_choice_of_hotspot_months_predicts_says_so_in_its_verdict():
    """Staffordshire: hotspots chosen from Jul-Dec, compared Jan-Jun vs Jul-Dec: "hotspots vs
    elsewhere" 1.21, p = 0.016, read "significant rise" with the caveat only in a note. The
    verdict of the hotspot rows carries it when it goes the way the choice favours; "elsewhere"
    (not chosen) and the clean case keep the three words."""
    from hotspots.change_summary import SELECTION_CAVEAT, selection_favours, with_selection

    summ = _hand_summary(["significant rise", "significant rise", "significant rise"])
    b, a = summ.before, summ.after
    assert selection_favours(a, b, a) == "rise" and selection_favours(b, b, a) == "fall"
    assert selection_favours(Period.from_months("2025-01", "2025-12"), b, a) is None
    assert selection_favours(Period.from_months("2024-01", "2024-12"), b, a) is None and selection_favours(None, b, a) is None
    got = with_selection(summ, a)
    assert [r.verdict for r in got.rows] == [
        f"significant rise ({SELECTION_CAVEAT})", "significant rise", f"significant rise ({SELECTION_CAVEAT})",
    ]
    assert got.rows[0].verdict == "significant rise (expected from how hotspots were chosen)"
    assert [r.verdict_class for r in got.rows] == ["significant rise"] * 3
    assert [r.caveated for r in got.rows] == [True, False, True]
    assert got.selection_favours == "rise" and not got.regression_to_mean
    assert got.notes[-1].startswith("regression to the mean: hotspots were chosen from Jul 2025 – Dec 2025")
    # the table (change_summary.csv: its verdict column keeps the three words, the caveat in a column of its
    # own), the printed lines and the describe() text all carry it
    frame = got.to_frame()
    assert frame["verdict"].tolist() == ["significant rise"] * 3
    assert list(frame.columns)[-1] == "caveat" and frame["caveat"].tolist() == [SELECTION_CAVEAT, "", SELECTION_CAVEAT]
    assert "caveat" not in summ.to_frame().columns
    assert got.lines()[2].endswith(f"significant rise ({SELECTION_CAVEAT})")
    # the smallest detectable fall is shown beside a change that is not a finding (the app dropped it)
    assert got.detectable_falls() == ["all hotspot areas 30%", "hotspots vs elsewhere 30%"]
    assert "could detect falls of 30% or more" in got.describe().split("; elsewhere")[0]
    assert summ.detectable_falls() == []
    # a fall is not what a choice from the after period predicts: it keeps its word
    fall = with_selection(_hand_summary(["significant fall", "no significant change", "significant fall"]), a)
    assert [r.verdict for r in fall.rows] == ["significant fall", "no significant change", "significant fall"]
    assert fall.detectable_falls() == ["elsewhere 30%"]
    # chosen from the before period: a fall carries it
    from_before = with_selection(_hand_summary(["significant fall", "significant fall", "no significant change"]), b)
    assert from_before.rows[0].caveated and not from_before.rows[1].caveated and from_before.regression_to_mean
    assert from_before.selection_favours == "fall"
    # chosen from both periods alike, or outside them: the clean words
    for chosen in (Period.from_months("2025-01", "2025-12"), Period.from_months("2024-01", "2024-12"), None):
        clean = with_selection(summ, chosen)
        assert [r.verdict for r in clean.rows] == ["significant rise"] * 3 and clean.selection_favours is None


def test_the_season_caveat_beside_the_rows():
    """North Yorkshire Jan-Sep vs Oct-Dec (no other year): the console's seasonality note is a
    short caveat for the briefing image's pooled rows."""
    from hotspots.change_summary import SEASON_NOT_SEPARATED

    note = ("seasonality could not be separated from the change (the periods cover different calendar months and the "
            "data hold no other year): the rate ratios include the seasonal difference; compare with elsewhere, or use "
            "whole years")
    verdicts = ["significant fall", "significant fall", "no significant change"]
    assert _hand_summary(verdicts, [note]).caveats() == [SEASON_NOT_SEPARATED]
    other = "tau2 from the cells"
    assert _hand_summary(verdicts, [note, other]).other_notes() == [other]  # said once, as the caveat
    assert "Seasonality not separated" in SEASON_NOT_SEPARATED
    adjusted = "seasonality: the periods cover different calendar months; each row is adjusted"
    assert _hand_summary(verdicts, [adjusted]).caveats() == []
    assert _hand_summary(verdicts, [adjusted]).other_notes() == [adjusted]


# ------------------------------------------------------------------ placebo-adjusted area changes
def test_areas_are_placebo_adjusted_only_when_the_selection_treats_the_periods_alike(town):
    inc, g = town
    areas = hotspot_areas(gi_star(count(inc, g), None))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    plain = change_areas(inc, areas, before, after)
    assert not plain.model.placebo_adjusted and "rate_ratio_adjusted" not in plain.table
    # chosen from all three years: each area's change is judged after its placebo change
    every = change_areas(inc, areas, before, after, selected_on=Period.from_months("2022-01", "2024-12"))
    assert every.model.placebo_adjusted and every.model.w_placebo > 0
    assert every.params["placebo_adjusted"] and not plain.params["placebo_adjusted"]
    t = every.table
    assert t["rate_ratio_adjusted"].notna().all()
    assert np.allclose(t["rate_ratio"], plain.table["rate_ratio"])  # the counted change is unchanged
    assert any("adjusted for its own change from the placebo period" in n for n in every.notes)
    # the two blocks fell 40 %: both found, with intervals around the adjusted ratio
    assert (t["change_class"] == "significant fall").sum() >= 2
    assert ((t["rate_ratio_low"] < t["rate_ratio_adjusted"]) & (t["rate_ratio_adjusted"] < t["rate_ratio_high"])).all()
    # chosen from the placebo months alone: busy then by selection, so not adjusted
    sel = change_areas(inc, areas, before, after, selected_on=Period.from_months("2022-01", "2022-12"))
    assert not sel.model.placebo_adjusted
    # chosen from the compared years only: the placebo year is not covered alike either
    sel2 = change_areas(inc, areas, before, after, selected_on=Period.from_months("2023-01", "2024-12"))
    assert not sel2.model.placebo_adjusted


def test_the_product_adjusts_for_the_placebo_year_only_with_hotspots_from_every_month(town):
    from hotspots.pipeline import Settings, analyse, prepare_inputs

    inc, _ = town
    inc = inc.assign(category="Anti-social behaviour")
    given = dict(before=("2023-01", "2023-12"), after=("2024-01", "2024-12"), cell_size=250)
    prep = prepare_inputs(inc, settings=Settings(**given))
    an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert an.change_areas.model.placebo_adjusted
    # the tables shown and exported carry the adjusted change beside the counted one
    from hotspots.export import area_summary
    from hotspots.maps.scheme_layers import hotspot_area_table

    shown = hotspot_area_table(an.areas, change=an.change_areas)
    t = an.change_areas.table
    assert np.allclose(shown["change_adjusted_pct"], np.round(100 * (t["rate_ratio_adjusted"].to_numpy() - 1), 1))
    summary = area_summary(an)
    assert "change_adjusted_pct" in summary.columns
    assert summary["neighbourhood_incidents"].tolist() == an.areas.areas["neighbourhood_count"].round().astype(int).tolist()
    prep = prepare_inputs(inc, settings=Settings(**given, period=("2022-01", "2022-12")))
    an = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert not an.change_areas.model.placebo_adjusted


def test_all_hotspot_areas_are_pooled_by_precision_by_hand():
    import dataclasses

    from hotspots.change_summary import _areas_pooled

    # three areas, 12 + 12 months, kappa 0.05, after exposure 1.1 times before's
    A, B = np.array([900.0, 110.0, 0.0]), np.array([1000.0, 90.0, 0.0])
    disp = Overdispersion(kappa=0.05, tau2=0.02, kappa_units=3, tau2_units=3, tau2_source="given", how="")

    class R:  # the two attributes _areas_pooled reads
        dispersion = disp

    log_rr, v, v0, extra, ed, ecd = _areas_pooled(A, B, 24, R, 1.1)
    p = 1.1 / 2.1
    phi = 1 + 0.05 * np.array([1900, 200]) / 24
    vn = phi / (np.array([1900, 200]) * p * (1 - p))
    w = 1 / (vn + 0.02)
    s = w / w.sum()  # the third area has no incident: no weight
    y = np.log(np.array([0.9, 110 / 90])) - np.log(1.1)
    assert log_rr == pytest.approx((s * y).sum(), rel=1e-12)
    assert extra == pytest.approx(0.02 * (s * s).sum(), rel=1e-12)
    assert v == pytest.approx((s * s * phi * (1 / A[:2] + 1 / B[:2])).sum() + extra, rel=1e-12)
    assert v0 == pytest.approx((s * s * vn).sum() + extra, rel=1e-12)
    assert ed is None and ecd is None
    # a large tau2 weighs the areas almost equally; tau2 = 0 by their counts, close to the total's ratio
    R.dispersion = dataclasses.replace(disp, tau2=10.0)
    assert _areas_pooled(A, B, 24, R, 1.1)[0] == pytest.approx(y.mean(), abs=1e-3)
    R.dispersion = dataclasses.replace(disp, kappa=0.0, tau2=0.0)
    assert _areas_pooled(A, B, 24, R, 1.1)[0] == pytest.approx(np.log(1010 / 1090) - np.log(1.1), abs=0.01)


def test_pooled_row_with_tau2_draws_by_hand():
    from scipy import stats

    from hotspots.change_summary import _draws, _row

    # a scope of sampling variance 0.004 whose tau2 share (sum of squared shares 0.1) was
    # estimated 0, with equally likely tau2 values 0, 0, 0.02, 0.05
    d = np.array([0.0, 0.0, 0.02, 0.05])
    vd = _draws(0.004, 0.0, d * 0.1)
    np.testing.assert_allclose(vd, 0.004 + d * 0.1)
    assert _draws(0.004, 0.001, None) is None  # no draws: the t or normal reference
    # the comparison row: each part at the same position of its (ascending) values; a part without
    # draws (variance 0.002, of which 0.0005 is its tau2 term) keeps its point value
    np.testing.assert_allclose(_draws(0.004, 0.0, d * 0.1, 0.002, 0.0005, None), 0.006 + d * 0.1)
    row = _row("all hotspot areas", np.log(0.85), 0.004, 0.0041, None, 0.05, 1000, 850, vd)
    p = np.mean(2 * stats.norm.sf(abs(np.log(0.85)) / np.sqrt(vd)))
    assert row.p_value == pytest.approx(p, rel=1e-12)
    c = np.log(row.ci_high) - np.log(0.85)
    assert np.mean(2 * stats.norm.sf(c / np.sqrt(vd))) == pytest.approx(0.05, rel=1e-8)
    known = _row("all hotspot areas", np.log(0.85), 0.004, 0.0041, None, 0.05, 1000, 850)
    assert row.p_value > known.p_value and row.mde_fall > known.mde_fall and row.ci_low < known.ci_low


def test_a_half_year_comparison_with_a_loaded_year_is_seasonally_adjusted():
    # background and two busy blocks with a July peak (+30 %), 2022 loaded, Jan-Jun 2023 against
    # Jul-Dec 2023, no change: each scope's season is estimated from its own 2022 and taken out,
    # and its estimate's uncertainty is in that scope's variance
    rng = np.random.default_rng(21)
    spec = []
    for year in (2022, 2023):
        for m in range(1, 13):
            s = 1 + 0.3 * np.cos(2 * np.pi * (m - 7) / 12)
            month = f"{year}-{m:02d}-01"
            spec.append(((0, 0, 4000), month, int(rng.poisson(120 * s))))
            spec.append(((500, 500, 500), month, int(rng.poisson(40 * s))))
            spec.append(((2500, 2500, 500), month, int(rng.poisson(40 * s))))
    inc = _points(spec, seed=2)
    g = Grid.from_bounds((0, 0, 4000, 4000), 250)
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    before, after = Period.from_months("2023-01", "2023-06"), Period.from_months("2023-07", "2023-12")
    cells = change_cells(inc, g, before, after)
    res_a = change_areas(inc, areas, before, after, tau2_fallback=cells.dispersion)
    s = summarise_change(cells, res_a, areas.labels)
    assert cells.model.seasonal_identified and res_a.model.seasonal_identified
    # the areas' season is fitted to their own monthly totals (fewer incidents: less certain)
    assert res_a.model.seasonal_variance > cells.model.seasonal_variance > 0
    assert any("these areas' own monthly totals" in n for n in res_a.notes)
    # unadjusted, Jul-Dec holds 1.19 times Jan-Jun's incidents; adjusted, no change
    hot, other, vs = s.rows
    raw = hot.n_after / hot.n_before
    assert raw > 1.1 and abs(np.log(hot.rate_ratio)) < 0.6 * np.log(raw)
    assert all(r.verdict == "no significant change" for r in s.rows)
    # each row's season is its own estimate: both uncertainties count in their ratio (with the
    # hotspots' share shocks, which only the ratio holds)
    share = s.params["share_shocks"]["log_ratio_variance"]
    assert vs.se_log**2 == pytest.approx(hot.se_log**2 + other.se_log**2 + share, rel=1e-9)
    assert any("its own monthly totals" in n and "uncertain by" in n for n in s.notes)


def test_hotspots_vs_elsewhere_mixes_both_sides_confidence_distributions(town):
    # the areas' tau2 estimated 0 (judged over its draws), the cells' positive (a t reference):
    # the comparison row averages over both sides' values at the same position of their
    # confidence distributions, not over the areas' alone with the cells' point value
    import dataclasses

    from scipy import stats

    inc, g = town
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    cells = change_cells(inc, g, before, after)
    res_a = change_areas(inc, areas, before, after, tau2_fallback=cells.dispersion)

    def with_disp(r, **kw):
        return dataclasses.replace(r, model=dataclasses.replace(r.model, dispersion=dataclasses.replace(r.dispersion, **kw)))

    a_draws = tuple(np.linspace(0.0, 0.02, 8))
    c_draws = tuple(np.linspace(0.005, 0.03, 8))
    zero_a = with_disp(res_a, tau2=0.0, tau2_draws=a_draws)
    pos_c = with_disp(cells, tau2=0.012, tau2_draws=c_draws, tau2_groups=30, tau2_total_var=0.0)
    s = summarise_change(pos_c, zero_a, areas.labels)
    vs = s.rows[2]
    # by hand: each side's sampling part plus its share of each value of tau2
    t = pos_c.table
    hot = areas.labels[t["row"], t["col"]] > 0
    months = 24

    def parts(A, B, d):
        tot = A + B
        m = tot / months
        phi = 1 + d.kappa * (m * m).sum() / m.sum()
        s2 = ((tot / tot.sum()) ** 2).sum()
        return phi * (1 / A.sum() + 1 / B.sum()), s2

    def area_parts(A, B, d, ratio):
        # the areas pooled by precision: weights n p (1 - p) / phi, the inverse of each area's
        # sampling variance under no change (the areas' tau2 is 0 here)
        phi = 1 + d.kappa * (A + B) / months
        p = ratio / (1 + ratio)
        w = (A + B) * p * (1 - p) / phi
        s = w / w.sum()
        return (s * s * phi * (1 / A + 1 / B)).sum(), (s * s).sum()

    at = zero_a.table
    ratio = zero_a.model.w_after / zero_a.model.w_before
    samp_h, s2_h = area_parts(at["n_after"].to_numpy(float), at["n_before"].to_numpy(float), zero_a.dispersion, ratio)
    samp_e, s2_e = parts(t.loc[~hot, "n_after"].to_numpy(float), t.loc[~hot, "n_before"].to_numpy(float), pos_c.dispersion)
    vd = samp_h + samp_e + np.array(a_draws) * s2_h + np.array(c_draws) * s2_e
    # crossed with the hotspots' share shocks' equally likely values (group_shocks)
    share = group_shocks(pos_c, zero_a, np.asarray(hot), ~np.asarray(hot))
    vd = (vd[:, None] + share.log_ratio_share() * np.asarray(share.draws)[None, :]).ravel()
    p = np.mean(2 * stats.norm.sf(abs(np.log(vs.rate_ratio)) / np.sqrt(vd)))
    assert vs.p_value == pytest.approx(p, rel=1e-9)
    # with the cells' point value instead (as before: 0.012, below most of its confidence
    # distribution here), the p-value would be smaller
    point = samp_h + samp_e + np.array(a_draws) * s2_h + 0.012 * s2_e
    point = (point[:, None] + share.log_ratio_share() * np.asarray(share.draws)[None, :]).ravel()
    assert vs.p_value > 1.01 * np.mean(2 * stats.norm.sf(abs(np.log(vs.rate_ratio)) / np.sqrt(point)))


def test_the_pooled_rows_carry_the_caveat_of_a_tau2_from_the_compared_periods():
    # six busy blocks whose levels vary 30 % from year to year, two years only (no placebo)
    from hotspots.change_model import COMPARISON_TAU2_NOTE

    rng = np.random.default_rng(9)
    spec = []
    blocks = [(x, y) for x in (500, 3000, 5500) for y in (500, 4000)]
    level = np.exp(rng.normal(0, 0.3, (len(blocks), 3)))
    for yi, year in enumerate((2022, 2023, 2024)):
        for m in range(1, 13):
            month = f"{year}-{m:02d}-01"
            spec.append(((0, 0, 6000), month, int(rng.poisson(60))))
            for bi, (x0, y0) in enumerate(blocks):
                spec.append(((x0, y0, 500), month, int(rng.poisson(40 * level[bi, yi]))))
    inc = _points(spec, seed=4)
    g = Grid.from_bounds((0, 0, 6000, 6000), 250)
    two_years = inc[inc["month"] >= pd.Timestamp("2023-01-01")]
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    without = change_summary(two_years, areas, before, after)
    assert COMPARISON_TAU2_NOTE in without.notes
    # with the year before loaded, tau2 comes from the placebo comparison: no caveat
    assert COMPARISON_TAU2_NOTE not in change_summary(inc, areas, before, after).notes


def test_month_shocks_shared_by_the_whole_area_widen_the_absolute_rows_only():
    # background and two busy blocks, three years, every month's rates times one shock shared by
    # the whole square (sd 15 %), nothing changes: the absolute rows carry the shocks' variance,
    # "hotspots vs elsewhere" (where they cancel) does not
    rng = np.random.default_rng(31)
    spec = []
    for year in (2022, 2023, 2024):
        for m in range(1, 13):
            shock = float(np.exp(rng.normal(0, 0.15)))
            month = f"{year}-{m:02d}-01"
            spec.append(((0, 0, 4000), month, int(rng.poisson(150 * shock))))
            spec.append(((500, 500, 500), month, int(rng.poisson(40 * shock))))
            spec.append(((2500, 2500, 500), month, int(rng.poisson(40 * shock))))
    inc = _points(spec, seed=5)
    g = Grid.from_bounds((0, 0, 4000, 4000), 250)
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    s = change_summary(inc, areas, before, after)
    sh = s.params["month_shocks"]
    assert sh["seasonal"] and sh["months"] == 36 and sh["df"] == 36 - 3 - 11
    assert 0.08 < sh["sd"] < 0.25
    hot, other, vs = s.rows
    # the shocks' part is in both absolute rows and cancels in their ratio
    # (the hotspots' share shocks, none here but estimated from the months, are in the ratio alone)
    share = s.params["share_shocks"]["log_ratio_variance"]
    assert share < 0.2 * vs.se_log**2
    assert vs.se_log**2 == pytest.approx(hot.se_log**2 + other.se_log**2 - 2 * sh["log_ratio_variance"] + share, rel=1e-9)
    # "elsewhere" is a total of thousands of incidents: the shocks are most of its variance
    assert other.se_log**2 > 2 * (1 / other.n_before + 1 / other.n_after)
    assert any("shared by the whole study area" in n and f"{sh['sd']:.1%}" in n for n in s.notes)
    assert f"shared by the study area (sd {sh['sd']:.3g} on the log scale, 22 df, season fitted month by month)" in s.method


def test_too_few_months_for_shared_shocks_take_the_real_files_range():
    # four months of data, January-February against March-April: a level a period leaves two
    # degrees of freedom, too few to estimate the shared shocks. Left out, the two absolute rows
    # were too sure of a change (three months of Lincolnshire, July against September: "all
    # hotspot areas 0.85, p = 0.025, significant fall"); they are taken as the real files show them.
    from hotspots.month_shocks import ASSUMED_SHOCK_SD

    rng = np.random.default_rng(8)
    spec = []
    for m in range(1, 5):
        month = f"2024-{m:02d}-01"
        spec.append(((0, 0, 4000), month, int(rng.poisson(150))))
        spec.append(((500, 500, 500), month, int(rng.poisson(40))))
        spec.append(((2500, 2500, 500), month, int(rng.poisson(40))))
    inc = _points(spec, seed=6)
    g = Grid.from_bounds((0, 0, 4000, 4000), 250)
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    s = change_summary(inc, areas, Period.from_months("2024-01", "2024-02"), Period.from_months("2024-03", "2024-04"))
    sh = s.params["month_shocks"]
    assert sh["assumed"] and sh["months"] == 4 and sh["sd"] == pytest.approx(ASSUMED_SHOCK_SD[1])
    assert len(sh["draws"]) == 32 and min(sh["draws"]) < ASSUMED_SHOCK_SD[1] ** 2 < max(sh["draws"])
    assert any("could not be estimated from 4 monthly totals" in n and "6.7% a month (3.9%–13%" in n for n in s.notes)
    assert not any("vary by" in n for n in s.notes)
    assert "assumed from 37 forces' 2025 ASB" in s.method
    # "elsewhere" (thousands of incidents) carries the shocks: two months a period, c = 1/2 + 1/2
    other = s.row("elsewhere")
    poisson = 1 / other.n_before + 1 / other.n_after
    assert other.se_log**2 > poisson + 0.5 * ASSUMED_SHOCK_SD[1] ** 2


def _share_shocked(rng, sd: float):
    """Background and two busy blocks over two years; each month the blocks' rates are times a
    shock they share and the background does not (sd ``sd``); nothing changes."""
    spec = []
    for year in (2023, 2024):
        for m in range(1, 13):
            shock = float(np.exp(rng.normal(0, sd)))
            month = f"{year}-{m:02d}-01"
            spec.append(((0, 0, 4000), month, int(rng.poisson(300))))
            spec.append(((500, 500, 500), month, int(rng.poisson(60 * shock))))
            spec.append(((2500, 2500, 500), month, int(rng.poisson(60 * shock))))
    return _points(spec, seed=9)


def test_hotspot_share_shocks_widen_hotspots_vs_elsewhere():
    # Nottinghamshire 2025: the hotspots' monthly share ran 36-50 %, and "hotspots vs elsewhere"
    # (0.86, 0.77-0.97, p = 0.014) had none of that variation: months relabelled at random, 13 of 40
    # draws a change. Shocks shared by the hotspot areas only do not cancel in the ratio.
    inc = _share_shocked(np.random.default_rng(12), 0.2)
    g = Grid.from_bounds((0, 0, 4000, 4000), 250)
    areas = hotspot_areas(gi_star(count(inc, g), 400))
    before, after = Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12")
    s = change_summary(inc, areas, before, after)
    sh = s.params["share_shocks"]
    assert sh["months"] == 24 and sh["seasonal"] and sh["df"] == 24 - 2 - 11
    # on the log-odds of the share, the blocks' 20 % (less the part their areas' own kappa takes up)
    assert 0.06 < sh["sd"] < 0.4
    # with 12 months a period, c = 1/12 + 1/12 (months of equal size)
    assert sh["log_ratio_variance"] == pytest.approx(sh["variance"] / 6, rel=0.05)
    vs = s.row("hotspots vs elsewhere")
    assert vs.se_log**2 > sh["log_ratio_variance"] > 0.5 * (1 / vs.n_before + 1 / vs.n_after)
    assert any(n.startswith("the hotspot areas' share of the study area's incidents varies by") for n in s.notes)
    assert "shocks of the hotspot areas' share" in s.method
    f = s.dispersion_fields()
    assert f["share_shocks_sd"] == pytest.approx(sh["sd"]) and f["share_shocks_df"] == 11
    assert f["cells_tau2_from"] in ("placebo", "comparison") and f["areas_kappa"] >= 0
    line = s.dispersion_line()
    assert line.startswith("dispersion (variation beyond Poisson") and f"hotspot share shocks sd {sh['sd']:.1%} (11 df" in line
    assert f"cells kappa {f['cells_kappa']:.3g} (month to month)" in line


def test_no_share_shocks_leave_hotspots_vs_elsewhere_near_its_level():
    # the same design with no shock of the blocks' own: over a few data sets the estimate is mostly 0 and the
    # ratio's variance stays close to its old value
    sds = []
    for seed in range(4):
        inc = _share_shocked(np.random.default_rng(100 + seed), 0.0)
        g = Grid.from_bounds((0, 0, 4000, 4000), 250)
        areas = hotspot_areas(gi_star(count(inc, g), 400))
        s = change_summary(inc, areas, Period.from_months("2023-01", "2023-12"), Period.from_months("2024-01", "2024-12"))
        sds.append(s.params["share_shocks"]["sd"])
    assert np.median(sds) < 0.06


def test_a_short_period_is_a_caveat_beside_the_rows():
    """Cleveland: before = Jan 2025 only (scheme start inferred in February), after Feb-Dec: "+251%" and
    "elsewhere: significant rise" were printed with no caveat."""
    import dataclasses

    from hotspots.change_summary import SEASON_NOT_SEPARATED

    note = "seasonality could not be separated from the change (...)"
    summ = dataclasses.replace(_hand_summary(["significant rise"] * 3, [note]), before=Period.from_months("2025-01", "2025-01"),
                               after=Period.from_months("2025-02", "2025-12"))
    caveats = summ.caveats()
    assert len(caveats) == 2 and caveats[1] == SEASON_NOT_SEPARATED
    assert caveats[0].startswith("Short period: the before period is 1 month (Jan 2025, 31 days) against 11 months")
    # 3 months or more either side: no short-period caveat
    assert _hand_summary(["significant rise"] * 3).caveats() == []


def test_dispersion_line_says_plainly_when_tau2_was_not_estimated():
    """Dyfed-Powys's two towns printed "tau2 0 (between periods, from not estimated)"."""
    from hotspots.change_summary import ChangeSummary

    b, a = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    params = {"areas_dispersion": {"kappa": 0.01, "tau2": 0.0, "tau2_source": "not estimated"},
              "cells_dispersion": {"kappa": 0.2, "tau2": 0.05, "tau2_source": "placebo periods"}}
    line = ChangeSummary(rows=(), alpha=0.05, before=b, after=a, method="", params=params).dispersion_line()
    assert "areas kappa 0.01 (month to month), tau2 0 (between periods, not estimated, taken as 0)" in line
    assert "cells kappa 0.2 (month to month), tau2 0.05 (between periods, from placebo periods)" in line
    assert "from not estimated" not in line
