"""hotspots.summaries: the figures shown beyond the methods' results, checked by hand and against
direct library calls."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots._errors import ParameterError
from hotspots.change import DAYS_PER_MONTH, change_cells, incident_points
from hotspots.density import kde
from hotspots.grid import Grid
from hotspots.periods import Period
from hotspots.pipeline import Settings, area_change, hotspot_stage
from hotspots.summaries import (
    ColourRange,
    before_after_density,
    colour_range,
    hotspot_change,
    monthly_in_hotspots,
)


@pytest.fixture(scope="module")
def stage(demo):
    return hotspot_stage(demo.incidents, demo.defaults.replace(cell_size=500.0), demo.study_area)


def points(xy, months) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame({"month": pd.to_datetime(months)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)


# =============================================================================== hotspot change
def test_hotspot_change_is_the_rate_ratio_of_the_area_totals(demo, stage):
    res, _ = area_change(demo.incidents, stage, stage.settings)
    h = hotspot_change(res)
    b, a = int(res.table["n_before"].sum()), int(res.table["n_after"].sum())
    assert (h.before, h.after) == (b, a)
    assert h.rate_ratio == pytest.approx((a / res.exposure_after_days) / (b / res.exposure_before_days))
    assert h.change_pct == pytest.approx(100 * (h.rate_ratio - 1)) and h.text() == f"{h.change_pct:+.1f} %".replace("-", "−")
    assert hotspot_change(None) is None


def test_hotspot_change_text_has_no_signed_zero():
    from hotspots.summaries import HotspotChange

    def text(pct):
        return HotspotChange(400, 400, 181.0, 184.0, 1 + pct / 100, pct).text()

    assert text(-0.04) == "0.0 %" and text(-0.14) == "−0.1 %" and text(3.14) == "+3.1 %"
    assert text(float("nan")) == "–"


# =============================================================================== monthly series
def test_monthly_in_hotspots_by_hand():
    # A 2 x 2 grid of 100 m cells; the top-left cell is a hotspot area.
    from hotspots.areas import HotspotAreas

    grid = Grid(0.0, 200.0, 100.0, 2, 2)
    labels = np.array([[1, 0], [0, 0]])
    areas = HotspotAreas(
        areas=gpd.GeoDataFrame({"area_id": [1]}, geometry=[shapely.box(0, 100, 100, 200)], crs=27700),
        labels=labels,
        grid=grid,
        params={},
    )
    inc = points(
        [[50, 150], [50, 150], [150, 50], [50, 150], [150, 150]],
        ["2023-01-01", "2023-01-01", "2023-01-01", "2023-03-01", "2023-03-01"],
    )
    m = monthly_in_hotspots(inc, areas, scheme_start="2023-02-01")
    assert m.table["month"].dt.strftime("%Y-%m").tolist() == ["2023-01", "2023-02", "2023-03"]
    assert m.table["in_hotspots"].tolist() == [2, 0, 1] and m.table["elsewhere"].tolist() == [1, 0, 1]
    assert m.baseline() == {"in_hotspots": 2.0, "elsewhere": 1.0}
    idx = m.long(as_index=True)
    assert idx.loc[idx["where"] == "in hotspots", "value"].tolist() == [100.0, 0.0, 50.0]
    assert idx.loc[idx["where"] == "elsewhere", "value"].tolist() == [100.0, 0.0, 100.0]
    assert m.long()["value"].tolist() == [2, 0, 1, 1, 0, 1]
    # The baseline follows the scheme start it is given, not a constant.
    later = monthly_in_hotspots(inc, areas, scheme_start="2023-04-01")
    assert later.baseline()["in_hotspots"] == pytest.approx(1.0)
    assert monthly_in_hotspots(inc, areas).scheme_start is None and np.isnan(
        monthly_in_hotspots(inc, areas).baseline()["elsewhere"]
    )
    with pytest.raises(ParameterError, match="HotspotAreas"):
        monthly_in_hotspots(inc, "areas")


def test_months_without_data_or_published_in_part_are_gaps_not_zeros_or_dips():
    # 30 incidents a month, Jan-Jun 2025 (in the hotspot cell); March's file missing, May holding 5
    from hotspots.areas import HotspotAreas

    grid = Grid(0.0, 200.0, 100.0, 2, 2)
    areas = HotspotAreas(
        areas=gpd.GeoDataFrame({"area_id": [1]}, geometry=[shapely.box(0, 100, 100, 200)], crs=27700),
        labels=np.array([[1, 0], [0, 0]]), grid=grid, params={},
    )
    per = {"2025-01-01": 30, "2025-02-01": 30, "2025-04-01": 30, "2025-05-01": 5, "2025-06-01": 30}
    months = [m for m, n in per.items() for _ in range(n)]
    inc = points([[50, 150]] * len(months), months)
    m = monthly_in_hotspots(inc, areas, scheme_start="2025-06-01", missing_months=["2025-03", "2025-05"])
    assert m.table["left_out"].tolist() == ["", "", "no data", "", "published in part", ""]
    assert m.table["in_hotspots"].tolist() == [30, 30, 0, 30, 5, 30]  # kept as read
    hot = m.long().query("where == 'in hotspots'")["value"].tolist()
    assert hot[:2] + hot[3:4] + hot[5:] == [30, 30, 30, 30] and np.isnan(hot[2]) and np.isnan(hot[4])
    assert m.baseline()["in_hotspots"] == 30.0  # Jan, Feb and Apr: not (30 + 30 + 0 + 30 + 5) / 5
    # found in the incidents when not given (a typical month of 30: an empty March is a missing file)
    assert monthly_in_hotspots(inc, areas).table["left_out"].tolist()[2] == "no data"
    assert monthly_in_hotspots(inc, areas, missing_months=[]).table["left_out"].tolist() == [""] * 6


def test_monthly_in_hotspots_counts_by_cell(derby):
    # Independent count on real-sized data: the cell of each incident by floor division.
    stage = hotspot_stage(derby, Settings(cell_size=250.0), None)
    df = monthly_in_hotspots(derby, stage.areas).table
    # Independent count: the cell of each incident from floor division (a point on an edge belongs
    # to the cell east / north of it, as in Grid), its area label.
    g = stage.grid
    col = np.floor((derby.geometry.x - g.xmin) / g.cell_size).astype(int)
    row = (g.n_rows - 1) - np.floor((derby.geometry.y - g.ymin) / g.cell_size).astype(int)
    ok = (col >= 0) & (col < g.n_cols) & (row >= 0) & (row < g.n_rows)
    inside = np.zeros(len(derby), bool)
    inside[ok] = stage.areas.labels[row[ok], col[ok]] > 0
    ref = pd.DataFrame({"month": derby["month"], "inside": inside}).groupby("month")["inside"].agg(["sum", "size"])
    assert df["month"].tolist() == list(ref.index)
    assert df["in_hotspots"].tolist() == ref["sum"].astype(int).tolist()
    assert (df["in_hotspots"] + df["elsewhere"]).tolist() == ref["size"].tolist()
    with pytest.raises(ParameterError):
        monthly_in_hotspots(derby, stage.gi)


def test_monthly_in_hotspots_adds_up(demo, stage):
    m = monthly_in_hotspots(incident_points(demo.incidents), stage.areas, scheme_start=demo.defaults.scheme_start)
    assert int(m.table[["in_hotspots", "elsewhere"]].to_numpy().sum()) == len(demo.incidents)
    assert m.scheme_start == dt.date(2023, 7, 1)


# =============================================================================== colour range
def test_colour_range_is_the_largest_percentile_of_positive_values():
    a = np.array([0.0, np.nan, 1.0, 2.0, 3.0, 100.0])
    b = np.array([0.0, 5.0])
    r = colour_range(a, b, quantile=50)
    assert r == ColourRange(0.0, max(np.percentile([1, 2, 3, 100], 50), 5.0), 50.0)
    assert colour_range(np.zeros(3)).vmax == 1.0
    with pytest.raises(ParameterError):
        colour_range(a, quantile=0)


# =============================================================================== density per month
def test_before_after_density_divides_by_the_tests_months(demo, stage):
    s = stage.settings
    b, a = s.change_periods()
    ch = change_cells(demo.incidents, stage.grid, b, a)
    d = before_after_density(demo.incidents, stage.grid, ch, bandwidth=stage.density.bandwidth_m, kernel=stage.density.kernel)
    inc_b = demo.incidents[(demo.incidents["month"] >= "2022-07-01") & (demo.incidents["month"] <= "2023-06-01")]
    rows, cols, on = stage.grid.cell_of(np.column_stack([inc_b.geometry.x, inc_b.geometry.y]))
    inc_b = inc_b[on & stage.grid.active[rows, cols]]  # those the test counted: in the study area's cells
    ref = kde(inc_b, stage.grid, bandwidth=stage.density.bandwidth_m, kernel=stage.density.kernel).values
    assert d.months_before == pytest.approx(365 / DAYS_PER_MONTH) and d.incidents_before == len(inc_b)
    assert (d.incidents_before, d.incidents_after) == (ch.table["n_before"].sum(), ch.table["n_after"].sum())
    np.testing.assert_allclose(d.before.values, ref / (365 / DAYS_PER_MONTH), equal_nan=True)
    assert d.before.units == "incidents per km² per month"
    assert d.scale == colour_range(d.before, d.after)


def test_same_months_counts_only_the_common_months():
    # Before: Jan-Jun 2023; after: Jan-Dec 2024. With same months only, the after period counts
    # Jan-Jun 2024 (182 days), and its July incidents are left out.
    grid = Grid(0.0, 1000.0, 100.0, 10, 10)
    inc = points(
        [[500, 500]] * 3 + [[500, 500]] * 2 + [[200, 200]] * 4, ["2023-01-01"] * 3 + ["2024-02-01"] * 2 + ["2024-07-01"] * 4
    )
    before, after = Period.from_months("2023-01", "2023-06"), Period.from_months("2024-01", "2024-12")
    ch = change_cells(inc, grid, before, after, same_months=True, min_total=1)
    d = before_after_density(inc, grid, ch, bandwidth=300.0)
    assert ch.exposure_after_days == 182 and d.months_after == pytest.approx(182 / DAYS_PER_MONTH)
    assert (d.incidents_before, d.incidents_after) == (3, 2)
    ref = kde(inc.iloc[3:5], grid, bandwidth=300.0).values / (182 / DAYS_PER_MONTH)
    np.testing.assert_allclose(d.after.values, ref, equal_nan=True)
    plain = before_after_density(inc, grid, change_cells(inc, grid, before, after, min_total=1), bandwidth=300.0)
    assert plain.incidents_after == 6 and plain.months_after == pytest.approx(366 / DAYS_PER_MONTH)


def test_density_counts_are_the_tests_totals_without_left_out_months_or_incidents_off_the_area():
    # Before Jan-Jun 2023: 3 in January, 2 in March (given as published in part), 1 in February off
    # the grid; after Jul-Dec 2023: 4 in August. The test counts 3 before over 150 days (181 - March).
    grid = Grid(0.0, 1000.0, 100.0, 10, 10)
    inc = points(
        [[500, 500]] * 3 + [[500, 500]] * 2 + [[5000, 5000]] + [[200, 200]] * 4,
        ["2023-01-01"] * 3 + ["2023-03-01"] * 2 + ["2023-02-01"] + ["2023-08-01"] * 4,
    )
    before, after = Period.from_months("2023-01", "2023-06"), Period.from_months("2023-07", "2023-12")
    ch = change_cells(inc, grid, before, after, min_total=1, missing_months=["2023-03"])
    assert ch.left_out == ((2023 * 12 + 2, "published in part"),) and ch.exposure_before_days == 150
    assert ch.period_text("before") == "Jan 2023 – Jun 2023 (5 of 6 months counted; left out: Mar 2023, published in part)"
    d = before_after_density(inc, grid, ch, bandwidth=300.0)
    assert (d.incidents_before, d.incidents_after) == (3, 4) == (ch.table["n_before"].sum(), ch.table["n_after"].sum())
    assert d.months_before == pytest.approx(150 / DAYS_PER_MONTH)
    np.testing.assert_allclose(d.before.values, kde(inc.iloc[:3], grid, bandwidth=300.0).values / (150 / DAYS_PER_MONTH))


def test_before_after_density_needs_a_change_result(stage):
    with pytest.raises(ParameterError, match="ChangeResult"):
        before_after_density(stage.incidents, stage.grid, None, bandwidth=500.0)


def test_settings_scheme_start_reaches_the_series(demo, stage):
    late = Settings(scheme_start="2024-01-01")
    m = monthly_in_hotspots(demo.incidents, stage.areas, scheme_start=late.scheme_start)
    before = m.table[m.table["month"] < "2024-01-01"]
    assert m.baseline()["in_hotspots"] == pytest.approx(before["in_hotspots"].mean())


def test_before_after_density_of_two_periods_without_a_test():
    grid = Grid(0.0, 1000.0, 100.0, 10, 10)
    inc = points([[500, 500]] * 3 + [[200, 200]] * 2, ["2023-01-01"] * 3 + ["2023-03-01"] * 2)
    before, after = Period.from_months("2023-01", "2023-01"), Period.from_months("2023-02", "2023-03")
    d = before_after_density(inc, grid, (before, after), bandwidth=300.0, quantile=100.0)
    assert (d.incidents_before, d.incidents_after) == (3, 2)
    assert d.months_before == pytest.approx(31 / DAYS_PER_MONTH) and d.months_after == pytest.approx(59 / DAYS_PER_MONTH)
    np.testing.assert_allclose(
        d.after.values, kde(inc.iloc[3:], grid, bandwidth=300.0).values / (59 / DAYS_PER_MONTH), equal_nan=True
    )
    assert d.scale.vmax == pytest.approx(max(np.nanmax(d.before.values), np.nanmax(d.after.values)))
    with pytest.raises(ParameterError, match="two Periods"):
        before_after_density(inc, grid, (before,), bandwidth=300.0)


def test_the_briefing_draws_the_same_density_per_month(demo, tmp_path):
    # The before/after briefing's panels come from before_after_density: with the same calendar
    # months only, its per-month figures count the months the change test counted.
    from hotspots.export import briefing_before_after
    from hotspots.pipeline import analyse

    s = demo.defaults.replace(
        cell_size=1000.0, before=("2022-01", "2022-06"), after=("2023-07", "2024-06"), same_months=True, cluster_method="none"
    )
    an = analyse(demo.incidents, settings=s, study_area=demo.study_area)
    assert an.change_cells.exposure_after_days == 182  # Jan-Jun 2024 only
    img = briefing_before_after(an, tmp_path / "ba.png", dpi=30, basemap="none")
    d = before_after_density(demo.incidents, an.grid, an.change_cells, bandwidth=an.density.bandwidth_m, kernel=an.density.kernel)
    everywhere = int(((demo.incidents["month"] >= "2024-01-01") & (demo.incidents["month"] <= "2024-06-01")).sum())
    jan_jun_2024 = int(an.change_cells.table["n_after"].sum())  # the test's total: in the study area's cells
    assert d.incidents_after == jan_jun_2024 < everywhere
    shown = " ".join(img.texts)
    assert f"{jan_jun_2024:,} incidents ({jan_jun_2024 / 182:,.1f} a day)" in shown and d.days_after == pytest.approx(182)


def test_titles_say_what_the_incidents_are():
    """All crime is not called anti-social behaviour (the app's title said "Anti-social behaviour
    hotspots" over 14 categories)."""
    from types import SimpleNamespace

    from hotspots.summaries import subject_text, title_text

    asb = pd.DataFrame({"category": ["Anti-social behaviour"] * 3})
    mixed = pd.DataFrame({"category": ["Anti-social behaviour", "Burglary", None]})
    force = SimpleNamespace(name="Cumbria Constabulary")
    assert title_text(asb, force) == "Anti-social behaviour hotspots — Cumbria Constabulary"
    assert title_text(mixed, force) == "Incident hotspots — Cumbria Constabulary" and subject_text(mixed) == "Incidents"
    assert title_text(pd.DataFrame({"category": ["Burglary"]})) == "Burglary hotspots"
    assert title_text(pd.DataFrame({"x": [1]})) == "Incident hotspots"


def test_a_maps_subject_names_up_to_three_categories_and_counts_more():
    """Two categories titled a map "Incidents: kernel density"."""
    from hotspots.summaries import subject_text

    two = pd.DataFrame({"category": ["Robbery", "Burglary", "burglary"]})
    three = pd.DataFrame({"category": ["Robbery", "Burglary", "Vehicle crime"]})
    many = pd.DataFrame({"category": ["Robbery", "Burglary", "Vehicle crime", "Drugs", "ASB"]})
    assert subject_text(two, named=3) == "Burglary and Robbery" and subject_text(two) == "Incidents"
    assert subject_text(three, named=3) == "Burglary, Robbery and Vehicle crime"
    assert subject_text(many, named=3) == "Incidents (5 categories)" and subject_text(many) == "Incidents"
    assert subject_text(pd.DataFrame({"category": ["ASB"]}), named=3) == "Anti-social behaviour"
    assert subject_text(pd.DataFrame({"x": [1]}), named=3) == "Incidents"


def test_category_names_join_spellings_of_one_category():
    """'ASB' and 'Anti-Social Behaviour ' are anti-social behaviour (the default filter keeps them
    all, so titles must not turn into "Incident hotspots")."""
    from hotspots.summaries import category_names, subject_text

    spelled = pd.DataFrame({"category": ["ASB", "Anti-Social Behaviour ", "Anti-social behaviour", None]})
    assert category_names(spelled) == ["Anti-social behaviour"] and subject_text(spelled) == "Anti-social behaviour"
    two = pd.DataFrame({"category": ["burglary", "Burglary ", "Burglary", "Burglary", "asb"]})
    assert category_names(two) == ["Anti-social behaviour", "Burglary"]  # the most frequent spelling names a category
    assert subject_text(two) == "Incidents"
    assert category_names(pd.DataFrame({"x": [1]})) == [] and category_names(pd.DataFrame({"category": []})) == []


# =============================================================================== per day
def test_counts_are_said_per_day_and_changes_as_per_day_with_the_days_named():
    """South Yorkshire's panels said "13,267 incidents (2,231 a month)" and "13,464 incidents (2,227 a
    month)" over two six-month periods (181 and 184 days): more incidents, a lower "month"."""
    from hotspots.summaries import per_day_note, per_day_text

    assert per_day_text(13267, 181) == "13,267 incidents (73.3 a day)"
    assert per_day_text(13464, 184) == "13,464 incidents (73.2 a day)"
    assert per_day_text(3316, 92) == "3,316 incidents (36.0 a day)"
    assert per_day_text(1, 30) == "1 incident (0.033 a day)" and per_day_text(0, 30) == "0 incidents (0.0 a day)"
    assert per_day_text(5, 0) == "5 incidents (– a day)"
    assert per_day_note(181, 184) == "changes compare incidents per day, as the periods differ in length (181 and 184 days)"
    assert per_day_note(365.0, 365.0) == "changes compare incidents per day (both periods 365 days)"
    assert per_day_note(181.5, 184) == "changes compare incidents per day, as the periods differ in length (181.5 and 184 days)"


def test_the_incidents_card_says_they_are_those_in_the_study_area():
    from hotspots.summaries import Headline

    whole = Headline(600, 1, 0.5, 1.0, 100.0).incidents_help()
    part = Headline(600, 1, 0.5, 1.0, 100.0, "Jan 2025 – Jun 2025").incidents_help()
    assert "in the study area's cells" in whole and "every month of the data" in whole
    assert "in the study area's cells" in part and "Jan 2025 – Jun 2025" in part and "not every incident loaded" in part
