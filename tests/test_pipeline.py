"""hotspots.pipeline: settings flow through to every step, results agree with direct calls; the
input preparation's choices (category, study area, holes, periods, cell size); the stages equal
``analyse``; and the app's data path gives the same layers as the CLI's."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import points, police_csv, ring_boundary

from hotspots import ParameterError, count, gi_star
from hotspots.app_support import load_uploads
from hotspots.change_summary import SCOPES, SUMMARY_COLUMNS, VERDICTS, ChangeSummary, change_summary
from hotspots.cli import build_parser
from hotspots.commands.analyse import load_inputs, run_analysis
from hotspots.demo import generate_demo
from hotspots.gazetteer import default_study_area
from hotspots.grid import Grid, auto_cell_size, points_xy
from hotspots.io import Upload, load_boundary
from hotspots.periods import filter_period, parse_period
from hotspots.pipeline import (
    PERIODS_NOT_CHOSEN,
    Settings,
    analyse,
    area_change,
    assemble_analysis,
    cell_change,
    choose_category,
    choose_cell_size,
    choose_periods,
    choose_scheme_start,
    emerging_stage,
    hotspot_stage,
    pooled_change,
    prepare_inputs,
    ring_change,
)
from hotspots.schema import ASB_CATEGORY, SCHEME_START

COUNTY = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "police_uk"
    / "boundaries"
    / "derbyshire_county_2012_bgc.geojson"
)


@pytest.fixture(scope="module")
def demo():
    return generate_demo(0)


@pytest.fixture(scope="module")
def result(demo):
    return analyse(
        demo.incidents,
        settings=Settings(cell_size=500, distance=1000, bandwidth=600, cluster_method="none"),
        study_area=default_study_area(),
        referrals=demo.referrals,
        tasks=demo.tasks,
    )


def test_settings_reach_each_step(result):
    assert result.grid.cell_size == 500
    assert result.density.bandwidth_m == 600
    assert result.gi.params["distance_m"] == 1000
    assert result.clusters is None
    used = result.parameters()["used"]
    assert used["cell_size_m"] == 500 and used["distance_m"] == 1000 and used["bandwidth_m"] == 600
    # Hotspot areas at the Gi* alpha by default (one level for classes, areas and captions).
    assert result.settings.min_confidence is None and used["hotspot_areas_min_confidence"] == pytest.approx(0.95)


def test_results_equal_direct_library_calls(demo, result):
    direct = count(demo.incidents, result.grid)
    np.testing.assert_array_equal(np.nan_to_num(direct.values, nan=-1), np.nan_to_num(result.counts.values, nan=-1))
    gi = gi_star(direct, 1000, fdr=True, alpha=0.05)
    np.testing.assert_allclose(gi.z, result.gi.z, equal_nan=True)


def test_default_periods_straddle_the_scheme_start(result):
    assert (result.before.start.isoformat(), result.before.end.isoformat()) == ("2022-07-01", "2023-06-30")
    assert (result.after.start.isoformat(), result.after.end.isoformat()) == ("2023-07-01", "2024-06-30")
    assert result.change_areas is not None and len(result.change_areas.table) == result.areas.n_areas


def test_scheme_results_present(result, demo):
    assert result.linkage is not None and result.kpis is not None
    assert int(result.kpis.raw["referrals"].iloc[0]) == len(demo.referrals)


def test_period_filter_restricts_hotspot_incidents(demo):
    a = analyse(
        demo.incidents,
        settings=Settings(cell_size=1000, distance=2000, bandwidth=1500, cluster_method="none", period=("2024-01", "2024-12")),
    )
    assert 0 < len(a.incidents) < len(demo.incidents)
    months = a.incidents["month"].dt.strftime("%Y-%m")
    assert months.min() == "2024-01" and months.max() == "2024-12"


def test_parse_period_forms():
    p = parse_period("2022-07:2023-06")
    assert (p.start.isoformat(), p.end.isoformat()) == ("2022-07-01", "2023-06-30")
    assert parse_period(("2022-07", "2023-06")) == p
    with pytest.raises(ParameterError):
        parse_period("2022-07")


def test_overlapping_change_periods_are_refused():
    with pytest.raises(ParameterError, match="overlap"):
        Settings(before=("2022-01", "2022-12"), after=("2022-06", "2023-06")).change_periods()


def test_empty_input_is_a_clear_error(demo):
    with pytest.raises(ParameterError, match="no incidents"):
        analyse(demo.incidents.iloc[:0])
    with pytest.raises(ParameterError, match="analysis period"):
        analyse(demo.incidents, settings=Settings(period=("2030-01", "2030-02")))


def test_filter_period_none_is_identity(demo):
    assert filter_period(demo.incidents, None) is demo.incidents


def test_settings_are_hashable_and_importable_from_the_old_places():
    import hotspots
    import hotspots.analysis

    assert hash(Settings()) == hash(Settings()) and Settings(cell_size=300.0) != Settings()
    assert hotspots.Settings is Settings and hotspots.analyse is analyse and hotspots.analysis.Settings is Settings
    assert hotspots.analysis.parse_period is parse_period


# =============================================================================== stages
@pytest.fixture(scope="module")
def area():
    return default_study_area()


def test_stages_equal_analyse(demo, area):
    s = Settings(cell_size=400.0, period=("2023-01", "2023-12"), cluster_method="none")
    inc = demo.incidents
    full = analyse(inc, settings=s, study_area=area, referrals=demo.referrals, tasks=demo.tasks)
    s = full.settings  # the periods chosen from the data
    assert (s.before, s.after) == (("2022-07", "2023-06"), ("2023-07", "2024-06"))
    stage = hotspot_stage(inc, s, area)
    cells_change, note2 = cell_change(inc, stage.grid, s, stage)  # its hotspot areas' cells carry their caveat
    areas_change, note = area_change(inc, stage, s, cells_change)
    assert note is None and note2 is None
    # the cells of the hotspot areas carry the areas' regression-to-the-mean caveat, by the areas' rule: here
    # hotspots from 2023 (the `period`) cover half of each period alike, so none does
    t, lab = full.change_cells.table, full.areas.labels
    favours = areas_change.selection_favours
    expected = (lab[t["row"], t["col"]] > 0) & (t["change_class"] == f"significant {favours}").to_numpy()
    assert favours is None and np.array_equal(t["change_note"].notna().to_numpy(), expected & (favours is not None))
    assert stage.grid.same_as(full.grid)
    assert np.array_equal(np.nan_to_num(stage.counts.values, nan=-1), np.nan_to_num(full.counts.values, nan=-1))
    assert np.allclose(stage.density.values, full.density.values, equal_nan=True)
    assert np.allclose(stage.gi.z, full.gi.z, equal_nan=True) and np.array_equal(stage.gi.bins, full.gi.bins)
    pd.testing.assert_frame_equal(stage.areas.areas.drop(columns="geometry"), full.areas.areas.drop(columns="geometry"))
    pd.testing.assert_frame_equal(areas_change.table, full.change_areas.table)
    pd.testing.assert_frame_equal(cells_change.table, full.change_cells.table)
    assert full.notes[0].startswith("before/after periods:") and stage.notes == full.notes[1:]
    assembled = assemble_analysis(stage, change_cells=cells_change, change_areas=areas_change, study_area=area)
    assert assembled.caption() == full.caption()
    assert assembled.parameters()["used"] == full.parameters()["used"]
    pd.testing.assert_frame_equal(assembled.change_summary.to_frame(), full.change_summary.to_frame())
    # emerging hot spots: every month of the data (not only `period`), on the stage's grid and distance
    trends, note = emerging_stage(inc, stage, s)
    assert note is None and np.array_equal(trends.categories, full.emerging.categories)
    assert trends.n_steps == 39 and trends.params["distance_m"] == stage.gi.params["distance_m"]
    assert trends.params["alpha"] == s.alpha and trends.grid.same_as(stage.grid)


def test_emerging_hot_spots_need_ten_months(demo, area):
    s = Settings(cell_size=1000.0)
    short = demo.incidents[demo.incidents["month"] < "2022-10-01"]
    an = analyse(short, settings=s, study_area=area)
    assert an.emerging is None
    assert [n for n in an.notes if n.startswith("emerging hot spots not computed: the data hold 9 month(s)")]
    ten = analyse(demo.incidents[demo.incidents["month"] < "2022-11-01"], settings=s, study_area=area)
    assert ten.emerging is not None and ten.emerging.n_steps == 10
    assert not [n for n in ten.notes if n.startswith("emerging hot spots")]


def test_analysis_carries_the_pooled_change(demo, result):
    summ = result.change_summary
    assert isinstance(summ, ChangeSummary)
    frame = summ.to_frame()
    assert list(frame.columns) == list(SUMMARY_COLUMNS) and list(frame["scope"]) == list(SCOPES)
    assert set(frame["verdict"]) <= set(VERDICTS) and summ.alpha == result.settings.alpha
    # The hotspot row counts the incidents of the hotspot cells, "elsewhere" the rest.
    t = result.change_cells.table
    hot = result.areas.labels[t["row"], t["col"]] > 0
    assert summ.row("all hotspot areas").n_before == int(t.loc[hot, "n_before"].sum())
    assert summ.row("elsewhere").n_after == int(t.loc[~hot, "n_after"].sum())
    # The same table as the library's own function on the same incidents and areas.
    direct = change_summary(demo.incidents, result.areas, result.before, result.after, alpha=result.settings.alpha)
    pd.testing.assert_frame_equal(frame, direct.to_frame())


def test_pooled_change_needs_both_results(demo, area):
    s = Settings(cell_size=500.0, period=("2024-01", "2024-06"), before=("2023-01", "2023-06"), after=("2023-07", "2023-12"))
    stage = hotspot_stage(demo.incidents, s, area)
    cells, _ = cell_change(demo.incidents, stage.grid, s)
    summ, note = pooled_change(stage, cells, None)
    assert summ is None and "pooled change not computed" in note
    an = assemble_analysis(stage, change_cells=cells, change_areas=None)
    assert an.change_summary is None and note in an.notes
    # Hotspots chosen from months after both periods: no regression to the mean, and no note about it.
    summ, note = pooled_change(stage, cells, area_change(demo.incidents, stage, s, cells)[0])
    assert note is None and not summ.regression_to_mean
    assert not any("regression to the mean" in n for n in summ.notes)


def test_hot_share_is_the_share_of_counted_incidents_in_areas(demo, area):
    stage = hotspot_stage(demo.incidents, Settings(cell_size=500.0, period=("2024-01", "2024-06")), area)
    counts = np.nan_to_num(stage.counts.values)
    expected = counts[stage.areas.labels > 0].sum() / counts[stage.grid.active].sum()
    assert stage.hot_share == pytest.approx(expected)
    assert stage.hot_share == pytest.approx(stage.areas.areas["count"].sum() / counts[stage.grid.active].sum())


def test_stage_names_an_area_made_of_one_location():
    """An area whose incidents are mostly at one police.uk map point is named, with the point's
    location text; the spread-out area beside it is not."""
    rng = np.random.default_rng(5)
    spot = np.tile([403_037.5, 303_062.5], (120, 1))
    xy = np.vstack([rng.uniform(400_000, 410_000, (1_500, 2)), spot, rng.normal([407_000, 307_000], 60, (150, 2))])
    names = ["On or near Mill Lane"] * 1_500 + ["On or near Parking Area"] * 120 + ["On or near X"] * 150
    inc = points(xy).assign(location=names)
    stage = hotspot_stage(inc, Settings(cell_size=250.0))
    assert stage.areas.n_areas >= 2
    note = [n for n in stage.notes if "at one location" in n]
    assert len(note) == 1
    assert note[0].startswith("a hotspot area holds at least half of its incidents at one location: area ")
    n_in_area = int(stage.areas.areas.set_index("area_id")["count"][int(note[0].split("area ")[2].split(",")[0])])
    assert f", 120 of its {n_in_area:,} at \"On or near Parking Area\"." in note[0] and 120 / n_in_area >= 0.5


def test_a_stage_without_a_study_area_says_its_grid_is_the_whole_extent():
    # one stray incident 30 km away stretches the grid; the note gives its size, so that a library
    # user who skipped prepare_inputs sees why the map differs from the command line's
    rng = np.random.default_rng(2)
    xy = np.vstack([rng.uniform(400_000, 405_000, (400, 2)), [[400_000.0, 335_000.0]]])
    stage = hotspot_stage(points(xy), Settings(cell_size=500.0))
    note = [n for n in stage.notes if n.startswith("no study area")]
    n = stage.grid.n_rows * stage.grid.n_cols
    assert len(note) == 1 and f"({n:,} cells, {n * 0.25:,.0f} km²)" in note[0] and "prepare_inputs" in note[0]
    assert n >= 10 * 70  # 5 km by 35 km at least
    square = gpd.GeoDataFrame(geometry=[shapely.box(399_000, 299_000, 406_000, 306_000)], crs=27700)
    assert not [n for n in hotspot_stage(points(xy[:-1]), Settings(cell_size=500.0), square).notes if n.startswith("no study")]


def test_incidents_outside_the_study_area_are_counted_in_words_that_agree():
    # "1 incidents fall in cells ..." (Norfolk): one incident, one verb
    rng = np.random.default_rng(3)
    xy = np.vstack([rng.uniform(400_000, 404_000, (300, 2)), [[420_000.0, 420_000.0]]])  # one far off the grid
    square = gpd.GeoDataFrame(geometry=[shapely.box(399_900, 399_900, 404_100, 404_100)], crs=27700)
    pts = points(xy)
    notes = hotspot_stage(pts, Settings(cell_size=500.0), square).notes
    said = [n for n in notes if "whose centre lies outside" in n]
    # "1 incident falls in cells ... and are not counted" (Cambridgeshire): the whole sentence singular
    assert said == [said[0]] and said[0].startswith("1 incident falls in a cell whose")
    assert "and is not counted" in said[0] and " are " not in said[0]


def test_stage_errors_are_typed(demo, area):
    with pytest.raises(ParameterError, match="period"):
        hotspot_stage(demo.incidents, Settings(cell_size=500.0, period=("2030-01", "2030-02")), area)
    with pytest.raises(ParameterError):
        hotspot_stage(demo.incidents.iloc[:0], Settings(), area)


def test_change_notes_instead_of_errors(demo, area):
    s = Settings(cell_size=500.0, period=("2023-01", "2023-06"), before=("2023-01", "2023-12"), after=("2023-06", "2024-06"))
    stage = hotspot_stage(demo.incidents, s, area)
    res, note = area_change(demo.incidents, stage, s)
    assert res is None and "overlap" in note
    res, note = cell_change(demo.incidents, stage.grid, s)
    assert res is None and "overlap" in note


# =============================================================================== input preparation
def test_category_asb_when_mixed():
    inc = points([[0, 0]] * 4, categories=["Anti-social behaviour", "Burglary", "Anti-social behaviour", "Drugs"])
    c = choose_category(inc)
    assert (
        len(c.incidents) == 2
        and c.categories == ("Anti-social behaviour",)
        and "kept the 2 'Anti-social behaviour' incidents of 4" in c.note
    )
    assert choose_category(inc, "all").incidents is inc and choose_category(inc, ["ALL"]).note == ""
    c = choose_category(inc, ["burglary", "Drugs"])
    assert c.incidents["category"].tolist() == ["Burglary", "Drugs"] and "of 4" in c.note
    assert c.categories == ("Burglary", "Drugs")  # the data's own names
    # matched as the loaders match: "asb", other case and punctuation (hotspots.io._pipeline.category_key)
    for asked in ("asb", "ANTI SOCIAL BEHAVIOUR", "anti-social behavior"):
        c = choose_category(inc, asked)
        assert c.categories == ("Anti-social behaviour",) and len(c.incidents) == 2, asked
        assert "kept the 2 incidents of 4 in 'Anti-social behaviour'" in c.note
    only_asb = inc[inc["category"] == "Anti-social behaviour"]
    assert choose_category(only_asb).incidents is only_asb and choose_category(only_asb).note == ""
    with pytest.raises(ParameterError, match="Vehicle crime"):
        choose_category(inc, ["Vehicle crime"])
    # several categories but no ASB (British Transport Police's police.uk files): all of them, said so
    crime = points([[0, 0]] * 4, categories=["Burglary", "Drugs", "Burglary", "Theft"])
    c = choose_category(crime)
    assert c.incidents is crime and c.categories is None
    assert c.note.startswith(
        "the data hold no 'Anti-social behaviour' incidents: all 4 incidents of their 3 categories are analysed together "
        "(most: Burglary 2, "
    )
    assert choose_category(crime[crime["category"] == "Drugs"]).note == ""  # one category: nothing chosen


def test_default_category_matches_as_the_option_does():
    """The default ASB filter kept only the rows spelled exactly 'Anti-social behaviour' (108 of 432
    in a relabelled Suffolk file) while `--category 'Anti-social behaviour'` kept all 432."""
    from hotspots.preparation import category_matches

    cats = ["Anti-social behaviour", "ASB", "Anti-Social Behaviour ", "Burglary", "asb", None]
    inc = points([[0, 0]] * 6, categories=cats)
    keep, matched = category_matches(inc["category"], ["Anti-social behaviour"])
    assert keep.tolist() == [True, True, True, False, True, False]
    assert matched == ("ASB", "Anti-Social Behaviour ", "Anti-social behaviour", "asb")
    c = choose_category(inc)
    explicit = choose_category(inc, "Anti-social behaviour")
    assert len(c.incidents) == len(explicit.incidents) == 4 and c.categories == explicit.categories == matched
    assert c.note.startswith("kept the 4 'Anti-social behaviour' incidents of 6 loaded; spelled 'ASB', ")  # announced
    # one spelling: the note says nothing of spellings
    plain = choose_category(points([[0, 0]] * 2, categories=["Anti-social behaviour", "Drugs"]))
    assert "spelled" not in plain.note and plain.categories == ("Anti-social behaviour",)
    # only ASB, however spelled: nothing chosen
    only = points([[0, 0]] * 2, categories=["ASB", "Anti-social behaviour"])
    assert choose_category(only).incidents is only and choose_category(only).note == ""


def test_choose_periods_fills_only_missing_periods(demo):
    # the demo data take their own scheme start, filled in
    s, note = choose_periods(demo.incidents, Settings())
    assert (s.before, s.after) == (("2022-07", "2023-06"), ("2023-07", "2024-06")) and "scheme start" in note
    assert s.scheme_start == SCHEME_START and Settings().scheme_start is None
    given = Settings(before=("2022-01", "2022-06"), after=("2024-01", "2024-06"), scheme_start="2023-01-01")
    assert choose_periods(demo.incidents, given) == (given, "")
    late = points([[0, 0]] * 24, months=[f"2025-{m:02d}-01" for m in range(1, 13)] * 2)
    s, note = choose_periods(late, Settings())
    assert (s.before, s.after) == (("2025-01", "2025-06"), ("2025-07", "2025-12")) and "halves" in note
    assert s.scheme_start is None and "no scheme start was given" in note
    # other data assume no force's date: three years from 2022 compare their latest two, not the
    # twelve months either side of the demo's July 2023; a given scheme start is used
    three = points([[0, 0]] * 36, months=[f"{y}-{m:02d}-01" for y in (2022, 2023, 2024) for m in range(1, 13)])
    s, note = choose_periods(three, Settings())
    assert (s.before, s.after) == (("2023-01", "2023-12"), ("2024-01", "2024-12")) and "latest 24 months" in note
    s, note = choose_periods(three, Settings(scheme_start="2023-07-01"))
    assert (s.before, s.after) == (("2022-07", "2023-06"), ("2023-07", "2024-06")) and "2023-07-01" in note
    one = points([[0, 0]], months=["2025-01-01"])
    s, note = choose_periods(one, Settings())
    assert s == Settings() and "single month" in note


def test_scheme_start_given_demo_first_referral_or_none(demo):
    """The scheme start: a given one is kept; the demo's own; the first referral's day, announced;
    else none (no force's date assumed)."""
    three = points([[0, 0]] * 36, months=[f"{y}-{m:02d}-01" for y in (2022, 2023, 2024) for m in range(1, 13)])
    given = Settings(scheme_start="2024-02-01")
    assert choose_scheme_start(three, given, demo.referrals) == (given, "")
    # inferred, and said so, for the demo data too (its files with --referrals said nothing of where it came from)
    assert choose_scheme_start(demo.incidents, Settings()) == (
        Settings(scheme_start=SCHEME_START),
        f"scheme start: {SCHEME_START}, the demo data's own (the day its synthetic scheme begins)",
    )
    assert choose_scheme_start(three, Settings()) == (Settings(), "")
    refs = demo.referrals.assign(referred_at=pd.to_datetime(demo.referrals["referred_at"]) + pd.DateOffset(months=5))
    day = pd.to_datetime(refs["referred_at"]).min()
    first = day.replace(day=1).date().isoformat()  # to the month: the exact day is one person's referral
    s, note = choose_scheme_start(three, Settings(), refs)
    assert s.scheme_start == first and f"{first}, inferred from the earliest referral's date, to the month" in note
    assert f"{len(refs):,}" not in note  # no count of referrals: the note reaches parameters.json and every tab unprotected
    assert first.endswith("-01") and (day.day == 1 or day.date().isoformat() not in note)
    assert choose_scheme_start(demo.incidents, Settings(), refs)[0].scheme_start == first  # the referrals come first
    # it sets the default periods: up to 12 months either side of its month
    s, pnote = choose_periods(three, s)
    start = first[:7]
    assert s.after[0] == start and s.before[1] < start and "either side of the scheme start" in pnote
    # referrals without a usable date say nothing
    assert choose_scheme_start(three, Settings(), refs.assign(referred_at=pd.NaT)) == (Settings(), "")


def test_a_single_month_says_once_why_there_is_no_change(demo):
    """Data of one month cannot give two periods: the note says so, and the change is not tried
    on the default periods around the scheme start (a second note about months not loaded)."""
    one = demo.incidents[demo.incidents["month"].astype(str).str.startswith("2023-03")]
    assert len(one) > 100
    an = analyse(one, settings=Settings(cell_size=500, cluster_method="none"))
    assert an.change_cells is None and an.change_areas is None and an.change_summary is None
    assert sum(n.startswith(PERIODS_NOT_CHOSEN) and "single month" in n for n in an.notes) == 1
    said = next(n for n in an.notes if n.startswith(PERIODS_NOT_CHOSEN))
    assert said.endswith("two periods cannot be compared)")  # not "compared.)" (British Transport Police)
    assert not [n for n in an.notes if "change not computed" in n]
    assert an.parameters()["used"]["before"] is None and an.parameters()["used"]["after"] is None
    # given periods are still tried, and their note names them
    given = analyse(one, settings=Settings(cell_size=500, cluster_method="none", before=("2022-01", "2022-06"),
                                           after=("2023-01", "2023-06")))
    assert given.change_cells is None and any("change not computed" in n and "2022" in n for n in given.notes)


def test_cell_size_rule_is_one_function(demo, area):
    xy = points_xy(demo.incidents, demo.incidents.crs)
    c = choose_cell_size(xy, area)
    assert (c.cell_size, c.note) == auto_cell_size(tuple(area.total_bounds), what="the study area")
    # The same choice as the grid's own automatic rule, with and without a study area.
    for mask in (area, None):
        grid = Grid.for_points(xy[::50], mask=mask)
        assert (choose_cell_size(xy[::50], mask).cell_size,) == (grid.cell_size,)
        assert choose_cell_size(xy[::50], mask).note in grid.notes
    assert choose_cell_size(xy, area, 250).cell_size == 250.0 and choose_cell_size(xy, area, 250).note == ""
    stage = hotspot_stage(demo.incidents, Settings(), area)
    assert stage.grid.cell_size == c.cell_size and c.note in stage.notes and c.note in stage.grid.notes


def test_prepare_inputs_announces_every_choice(demo):
    mixed = demo.incidents.iloc[:3000].copy()
    mixed.loc[mixed.index[:500], "category"] = "Burglary"
    p = prepare_inputs(mixed, referrals=demo.referrals)
    assert len(p.incidents) == 2500 and p.study_area is not None and p.referrals is demo.referrals
    # the scheme start, inferred from the first referral, is a choice too
    assert [n.split(" ")[0] for n in p.notes] == ["kept", "study", "scheme", "before/after"]
    assert p.settings.before is not None and p.months == tuple(pd.Series(mixed["month"]).agg(["min", "max"]).dt.strftime("%Y-%m"))
    with pytest.raises(ParameterError, match="no incidents"):
        prepare_inputs(mixed.iloc[:0])


# =============================================================================== app and CLI agree
def _write_inputs(folder: Path, incidents: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame) -> tuple[Path, Path]:
    csv = folder / "2024-01-test-street.csv"
    csv.write_bytes(police_csv(incidents))
    geo = folder / "area.geojson"
    geo.write_text(boundary.to_crs(4326).to_json())
    return csv, geo


def _cli(csv: Path, geo: Path, out: Path, *extra: str):
    args = build_parser().parse_args(
        ["analyse", str(csv), "--study-area", str(geo), "--out", str(out), "--cluster-method", "none", *extra]
    )
    inputs = load_inputs(args, lambda s: None)
    return inputs, run_analysis(args, inputs, lambda step, f: None)


def _app(csv: Path, geo: Path, keep_holes: bool = False):
    bundle, outcomes = load_uploads(
        incidents=[Upload(csv.name, csv.read_bytes())],
        boundary=Upload(geo.name, geo.read_bytes()),
        police_categories="Anti-social behaviour",
        keep_holes=keep_holes,
    )
    assert bundle is not None, [o.error for o in outcomes]
    # The app's settings with every widget at its default are the bundle's default settings.
    return bundle, hotspot_stage(bundle.incidents, bundle.defaults, bundle.study_area)


def _same_layers(a, b) -> None:
    assert a.grid.same_as(b.grid) and a.grid.cell_size == b.grid.cell_size
    assert np.array_equal(np.nan_to_num(a.counts.values, nan=-1), np.nan_to_num(b.counts.values, nan=-1))
    assert np.array_equal(a.gi.bins, b.gi.bins) and np.array_equal(a.areas.labels, b.areas.labels)
    assert a.areas.n_areas == b.areas.n_areas
    assert all(x.equals(y) for x, y in zip(a.areas.areas.geometry, b.areas.areas.geometry))


def test_app_and_cli_give_the_same_layers_with_a_holed_boundary(demo, tmp_path):
    # Demo incidents around Derby in 2023-2024, and a boundary around them with a hole over the
    # busiest part of the city (as the Derbyshire county boundary has a hole for Derby).
    inc = demo.incidents
    centre = shapely.Point(435_300, 336_300)
    sel = inc[(inc.geometry.distance(centre) < 8_000) & (inc["month"] >= "2023-01-01") & (inc["month"] < "2025-01-01")]
    x, y = centre.x, centre.y
    ring = ring_boundary(
        (x - 8_000, y - 8_000, x + 8_000, y + 8_000), (x - 1_500, y - 1_500, x + 1_500, y + 1_500), "area.geojson"
    )
    csv, geo = _write_inputs(tmp_path, sel, ring)
    inputs, cli = _cli(csv, geo, tmp_path / "out")
    bundle, app = _app(csv, geo)
    _same_layers(cli, app)
    assert bundle.defaults == cli.settings.replace(cluster_method="dbscan") and bundle.notes == tuple(
        inputs.messages[: len(bundle.notes)]
    )
    hole = [n for n in bundle.notes if "hole(s) filled" in n]
    assert len(hole) == 1 and "bringing in" in hole[0] and cli.areas.n_areas > 0
    # The hole's cells take part (filled): some of the hotspots lie in it.
    inside = shapely.box(x - 1_500, y - 1_500, x + 1_500, y + 1_500)
    assert cli.areas.areas.intersects(inside).any()
    # Keeping the holes: the same in both again, and different from filling them.
    kept_inputs, kept_cli = _cli(csv, geo, tmp_path / "out2", "--keep-holes")
    _, kept_app = _app(csv, geo, keep_holes=True)
    _same_layers(kept_cli, kept_app)
    assert kept_cli.grid.n_cells < cli.grid.n_cells
    side = json.loads(json.dumps(kept_inputs.records["study_area"]))
    assert side["holes_kept"] == 1 and side["files"] == ["area.geojson"]


@pytest.mark.skipif(not COUNTY.exists(), reason="the Derbyshire county boundary file is not present")
def test_app_and_cli_agree_on_the_real_derbyshire_county_boundary(demo, tmp_path):
    county = load_boundary(COUNTY)
    assert int(shapely.get_num_interior_rings(shapely.get_parts(county.geometry.values)).sum()) >= 1  # Derby City
    inc = demo.incidents[(demo.incidents["month"] >= "2024-01-01") & (demo.incidents["month"] < "2025-01-01")]
    csv, geo = tmp_path / "2024-derbyshire-street.csv", tmp_path / COUNTY.name
    csv.write_bytes(police_csv(inc))
    geo.write_bytes(COUNTY.read_bytes())
    _, cli = _cli(csv, geo, tmp_path / "out")
    bundle, app = _app(csv, geo)
    _same_layers(cli, app)
    # Derby City (the hole) is part of the study area in both, and holds hotspots.
    derby = shapely.Point(435_300, 336_300)
    assert bundle.study_area.contains(derby).any() and cli.areas.areas.distance(derby).min() < 2_000


def test_settings_only_keeps_what_a_step_reads():
    from hotspots.pipeline import CHANGE_SETTINGS, HOTSPOT_SETTINGS

    s = Settings(cell_size=300.0, near_m=900.0, before=("2022-01", "2022-12"), after=("2023-01", "2023-12"), eps=99.0)
    hot = s.only(*HOTSPOT_SETTINGS)
    assert hot.cell_size == 300.0 and hot.near_m == Settings().near_m and hot.before is None and hot.eps == Settings().eps
    # Equal (and so one cache key) for settings that differ only where the step does not read.
    assert hot == s.replace(near_m=10.0, eps=1.0).only(*HOTSPOT_SETTINGS) and hash(hot) == hash(
        s.replace(near_m=10.0).only(*HOTSPOT_SETTINGS)
    )
    assert s.only(*HOTSPOT_SETTINGS) != s.replace(cell_size=400.0).only(*HOTSPOT_SETTINGS)
    both = s.only(*HOTSPOT_SETTINGS, *CHANGE_SETTINGS)
    assert both.before == ("2022-01", "2022-12") and both.cell_size == 300.0
    with pytest.raises(ParameterError, match="nonsense"):
        s.only("nonsense")


def _force_with_a_missing_month(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """2024 of a small force, July's file missing: ASB at one busy spot (12 a month: too few on
    its own to tell a missing month from a quiet one) and 5 a month scattered, plus 100 burglaries
    a month over a 10 km square."""
    frames = []
    for m in pd.date_range("2024-01-01", "2024-12-01", freq="MS"):
        if m.month == 7:
            continue
        spot = rng.normal(5_000, 60, (12, 2))
        scatter = rng.uniform(0, 10_000, (5, 2))
        burg = rng.uniform(0, 10_000, (100, 2))
        xy = np.vstack([spot, scatter, burg])
        cats = ["Anti-social behaviour"] * 17 + ["Burglary"] * 100
        frames.append(points(xy, [m] * len(xy), cats))
    return pd.concat(frames, ignore_index=True)


def test_a_missing_monthly_file_is_found_in_every_category_and_left_out_of_the_change():
    inc = _force_with_a_missing_month(np.random.default_rng(7))
    periods = dict(before=("2024-01", "2024-06"), after=("2024-07", "2024-12"))
    prep = prepare_inputs(inc, settings=Settings(**periods))
    assert prep.settings.missing_months == ("2024-07",)
    # the typical month named is every category's (117), not the analysed ASB's: the note says so
    assert any(
        n.startswith("no data for Jul 2024 across the categories loaded (no incident at all while a typical month holds 117;")
        for n in prep.notes
    )
    res = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert res.change_areas is not None and res.change_areas.exposure_after_days == 184 - 31
    assert res.change_cells.exposure_after_days == 184 - 31
    # the ASB alone (12-17 a month) is too sparse to call July missing: that is why prepare_inputs
    # looks at every category; told nothing, analyse counts July as a month of zero
    alone = analyse(prep.incidents, settings=prep.settings.replace(missing_months=None), study_area=prep.study_area)
    assert alone.change_areas.exposure_after_days == 184
    # the busy spot's rate did not change: its ratio is near 1, not near 5/6 as with a zero July
    new, old = (r.change_areas.table.sort_values("n_before").iloc[-1] for r in (res, alone))
    assert new["n_after"] == old["n_after"] and new["rate_ratio"] == pytest.approx(old["rate_ratio"] * 184 / 153)
    assert abs(np.log(new["rate_ratio"])) < 0.3


def test_a_month_with_other_crimes_but_none_of_the_analysed_category_is_missing_too():
    rng = np.random.default_rng(3)
    frames = []
    for m in pd.date_range("2024-01-01", "2024-12-01", freq="MS"):
        n_asb = 0 if m.month == 9 else 40  # September's ASB not published, its burglaries were
        xy = np.vstack([rng.normal(5_000, 80, (n_asb, 2)), rng.uniform(0, 10_000, (60, 2))])
        frames.append(points(xy, [m] * len(xy), ["Anti-social behaviour"] * n_asb + ["Burglary"] * 60))
    inc = pd.concat(frames, ignore_index=True)
    prep = prepare_inputs(inc, settings=Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12")))
    assert prep.settings.missing_months == ("2024-09",)
    assert any("no data for Sep 2024 in the analysed category" in n for n in prep.notes)


def test_a_month_with_part_of_the_analysed_category_is_left_out_and_named():
    # a force's August file holds its burglaries but a fifth of its ASB (Hampshire's August 2025)
    rng = np.random.default_rng(4)
    frames = []
    for m in pd.date_range("2024-01-01", "2024-12-01", freq="MS"):
        n_spot, n_scatter = (30, 10) if m.month == 8 else (150, 50)
        xy = np.vstack([rng.normal(5_000, 60, (n_spot, 2)), rng.uniform(0, 10_000, (n_scatter + 300, 2))])
        cats = ["Anti-social behaviour"] * (n_spot + n_scatter) + ["Burglary"] * 300
        frames.append(points(xy, [m] * len(xy), cats))
    inc = pd.concat(frames, ignore_index=True)
    periods = Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12"))
    prep = prepare_inputs(inc, settings=periods)
    assert prep.settings.missing_months == ("2024-08",)
    assert any("Aug 2024 holds 40 incidents in the analysed category against 200 and 200" in n for n in prep.notes)
    res = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert res.change_areas.exposure_after_days == 184 - 31
    pooled = {r.scope: r for r in res.change_summary.rows}
    # the spot's rate did not change; with August counted it would look 13 % lower
    assert abs(np.log(pooled["all hotspot areas"].rate_ratio)) < 0.1
    kept = analyse(prep.incidents, settings=prep.settings.replace(missing_months=()), study_area=prep.study_area)
    assert {r.scope: r for r in kept.change_summary.rows}["all hotspot areas"].rate_ratio < 0.92


def test_a_month_whose_categories_are_scrambled_is_left_out_for_every_category():
    # August: ASB and burglary at a fifth, violence doubled (Hampshire's August 2025); violence analysed
    rng = np.random.default_rng(6)
    frames = []
    for m in pd.date_range("2024-01-01", "2024-12-01", freq="MS"):
        n = {"Anti-social behaviour": 60, "Burglary": 60, "Violence and sexual offences": 150}
        if m.month == 8:
            n = {"Anti-social behaviour": 12, "Burglary": 12, "Violence and sexual offences": 300}
        for cat, k in n.items():
            xy = np.vstack([rng.normal(5_000, 60, (k // 2, 2)), rng.uniform(0, 10_000, (k - k // 2, 2))])
            frames.append(points(xy, [m] * len(xy), [cat] * len(xy)))
    inc = pd.concat(frames, ignore_index=True)
    periods = dict(before=("2024-01", "2024-06"), after=("2024-07", "2024-12"))
    prep = prepare_inputs(inc, settings=Settings(**periods), categories=["Violence and sexual offences"])
    assert prep.settings.missing_months == ("2024-08",)
    assert any(n.startswith("Aug 2024: 2 categories hold far fewer incidents") for n in prep.notes)
    res = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    pooled = {r.scope: r for r in res.change_summary.rows}
    assert abs(np.log(pooled["elsewhere"].rate_ratio)) < 0.1  # with August counted: about 1.17
    kept = analyse(prep.incidents, settings=prep.settings.replace(missing_months=()), study_area=prep.study_area)
    assert {r.scope: r for r in kept.change_summary.rows}["elsewhere"].rate_ratio > 1.1


def _two_forces(rng: np.random.Generator, months_b: list[int], n_b: int = 80) -> gpd.GeoDataFrame:
    """Force A, Jan-Jun 2024 at 150 rows a month (ASB and burglary); force B only in ``months_b``."""
    frames = []
    for m in pd.date_range("2024-01-01", "2024-06-01", freq="MS"):
        xy = np.vstack([rng.normal(3_000, 80, (50, 2)), rng.uniform(0, 10_000, (100, 2))])
        frames.append(points(xy, [m] * 150, ["Anti-social behaviour"] * 50 + ["Burglary"] * 100).assign(force="Force A"))
        if m.month in months_b:
            xy = np.vstack([rng.normal(8_000, 80, (n_b // 2, 2)), rng.uniform(6_000, 10_000, (n_b - n_b // 2, 2))])
            b = points(xy, [m] * n_b, ["Anti-social behaviour"] * (n_b // 2) + ["Burglary"] * (n_b - n_b // 2))
            frames.append(b.assign(force="Force B"))
    return pd.concat(frames, ignore_index=True)


def test_another_forces_stray_month_is_left_out_and_named_and_no_period_compares_with_against_without():
    inc = _two_forces(np.random.default_rng(11), [3])
    prep = prepare_inputs(inc, settings=Settings(before=("2024-01", "2024-03"), after=("2024-04", "2024-06")))
    assert prep.settings.missing_months == ("2024-01", "2024-02", "2024-04", "2024-05", "2024-06")
    note = next(n for n in prep.notes if n.startswith("Force B has no rows in"))
    assert "Jan 2024 – Feb 2024, Apr 2024 – Jun 2024 (it covers Mar 2024)" in note and "leave its files out" in note
    # the after period holds no month with both forces: no change is computed at all
    res = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert res.change_areas is None
    # both forces in every month: nothing left out
    both = prepare_inputs(_two_forces(np.random.default_rng(11), [1, 2, 3, 4, 5, 6]), settings=prep.settings.replace(
        missing_months=None))
    assert both.settings.missing_months == ()


def test_a_truncated_month_of_every_category_is_left_out_unless_kept():
    rng = np.random.default_rng(12)
    frames = []
    cats = [f"crime {k}" for k in range(6)]
    for m in pd.date_range("2024-01-01", "2024-06-01", freq="MS"):
        n = 60 * m.days_in_month if m.month != 6 else 900  # June cut to half its rows
        xy = rng.uniform(0, 10_000, (n, 2))
        frames.append(points(xy, [m] * n, [cats[k % 6] for k in range(n)]))
    inc = pd.concat(frames, ignore_index=True)
    s = Settings(before=("2024-01", "2024-03"), after=("2024-04", "2024-06"))
    prep = prepare_inputs(inc, settings=s, categories="all")
    assert prep.settings.missing_months == ("2024-06",)
    assert any("Jun 2024 holds 900 rows (every category loaded) against 1,800" in n and "`keep_months`" in n for n in prep.notes)
    kept = prepare_inputs(inc, settings=s.replace(keep_months=("2024-06",)), categories="all")
    assert kept.settings.missing_months == ()


def test_keep_months_keeps_a_month_published_in_part_everywhere_and_names_a_kept_month_with_no_data():
    """`--keep-months 2025-10` was ignored when October was judged published in part by the month counts (not per
    force): it stayed in `missing_months`, out of the change periods' exposure and out of the emerging cube."""
    rng = np.random.default_rng(21)
    frames = []
    for m in pd.date_range("2024-01-01", "2024-12-01", freq="MS"):
        n = {6: 0, 10: 100}.get(m.month, 300)  # June missing, October cut to a third
        frames.append(points(rng.uniform(0, 5_000, (n, 2)), [m] * n, [ASB_CATEGORY] * n))
    inc = pd.concat(frames, ignore_index=True)
    s = Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12"), cell_size=500.0)
    assert prepare_inputs(inc, settings=s).settings.missing_months == ("2024-06", "2024-10")
    prep = prepare_inputs(inc, settings=s.replace(keep_months=("2024-10", "2024-06")))
    assert prep.settings.missing_months == ("2024-06",)  # a month with no data cannot be kept
    note = next(n for n in prep.notes if "`keep_months`: " in n)
    assert "Oct 2024 kept and counted in full" in note and "Jun 2024 has no data to keep" in note
    res = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert res.change_cells.exposure_after_days == 184 and res.change_cells.exposure_before_days == 152
    assert res.emerging.params["incomplete_months"] == [] and res.emerging.params["missing_months"] == ["2024-06"]
    assert res.emerging.n_steps == 11


def test_a_missing_month_whose_file_was_read_but_dropped_is_named_from_the_load_report():
    from hotspots.report import LoadReport

    inc = _force_with_a_missing_month(np.random.default_rng(7))
    report = LoadReport.combine([
        LoadReport("2024-06-x-street.csv", 117, 117),
        LoadReport("2024-07-x-street.csv", 117, 0, dropped={"unparseable date": 117}),
    ])
    prep = prepare_inputs(inc, settings=Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12")), report=report)
    note = next(n for n in prep.notes if n.startswith("no data for Jul 2024"))
    assert "2024-07-x-street.csv: read, but all its 117 rows were dropped (unparseable date: 117)" in note
    assert "probably a monthly file not loaded" not in note


def test_an_export_taken_mid_month_is_counted_to_its_last_day_and_the_summary_says_so():
    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", "2024-12-15", freq="D")  # exported on 15 December
    n = rng.poisson(6, days.size)
    when = np.repeat(days, n) + pd.to_timedelta(rng.uniform(0, 86_000, n.sum()), unit="s")
    spot = rng.integers(0, 3, n.sum())
    xy = np.c_[2_000 + 3_000 * spot, np.full(n.sum(), 5_000.0)] + rng.normal(0, 80, (n.sum(), 2))
    xy[::3] = rng.uniform(0, 10_000, (len(xy[::3]), 2))  # a third scattered
    inc = gpd.GeoDataFrame({"occurred": when, "category": "Anti-social behaviour"},
                           geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    prep = prepare_inputs(inc, settings=Settings(before=("2024-01", "2024-06"), after=("2024-07", "2024-12")))
    res = analyse(prep.incidents, settings=prep.settings, study_area=prep.study_area)
    assert res.change_cells.exposure_after_days == 184 - 16
    assert any("the after period counts 168 of its 184 days" in n for n in res.change_summary.notes)
    # the rate did not change: elsewhere's ratio is near 1 (counted to 31 December it was 0.91)
    assert abs(res.change_summary.rows[1].rate_ratio - 1) < 0.08


def test_the_rings_around_the_hotspot_areas_follow_ring_m(demo, result):
    # by default: rings 500 m wide around every hotspot area, compared with the rest beyond them
    moved = result.displacement
    assert result.settings.ring_m == 500.0 and moved is not None and moved.width_m == 500.0
    assert moved.rings.areas["around_area"].isin(result.areas.areas["area_id"]).all()
    assert [r.scope for r in moved.summary.rows] == ["rings around hotspot areas", "rings vs beyond"]
    # the same as the stage function on the same results
    again, note = ring_change(demo.incidents, result, result.settings, result.change_cells, result.change_areas)
    assert note is None
    pd.testing.assert_frame_equal(again.to_frame(extended=True), moved.to_frame(extended=True))
    # a wider ring holds more cells; 0 turns the rows off, with no note
    wider, _ = ring_change(demo.incidents, result, result.settings.replace(ring_m=1500.0), result.change_cells,
                           result.change_areas)
    assert wider.params["ring_cells"] > moved.params["ring_cells"]
    assert ring_change(demo.incidents, result, result.settings.replace(ring_m=0.0), result.change_cells,
                       result.change_areas) == (None, None)
    assert ring_change(demo.incidents, result, result.settings, None, result.change_areas) == (None, None)
    # the demo's scheme start says something was done in the hotspots; without one the reading says
    # its displacement / diffusion words are conditional
    assert result.settings.scheme_start is not None and moved.intervention
    unknown, _ = ring_change(demo.incidents, result, result.settings.replace(scheme_start=None), result.change_cells,
                             result.change_areas)
    assert not unknown.intervention and unknown.reading()[0] == moved.reading()[0]


def test_given_periods_that_hold_no_month_of_the_data_are_an_argument_error():
    """2025 data asked to compare Jan-Jun 2024 with Jan-Jun 2025: refused before any analysis, naming
    the period, the months the data hold and the fix (the run once went on, said the comparison
    "compares the months that hold data", then that neither period held data)."""
    rng = np.random.default_rng(5)
    months = pd.date_range("2025-01-01", "2025-12-01", freq="MS")
    inc = points(rng.uniform(0, 5_000, (240, 2)), list(months) * 20, ["Anti-social behaviour"] * 240)
    given = Settings(before=("2024-01", "2024-06"), after=("2025-01", "2025-06"))
    msg = (
        "`before` (Jan 2024 – Jun 2024) holds no month of the data, which hold Jan 2025 – Dec 2025; give `before` and "
        "`after` within the data's months, or load the monthly files of Jan 2024 – Jun 2024."
    )
    with pytest.raises(ParameterError) as err:
        prepare_inputs(inc, settings=given)
    assert str(err.value) == msg
    both = Settings(before=("2024-01", "2024-06"), after=("2026-01", "2026-06"))
    with pytest.raises(ParameterError, match=r"`before` \(Jan 2024 – Jun 2024\) and `after` \(Jan 2026 – Jun 2026\) hold no"):
        prepare_inputs(inc, settings=both)
    # a period inside a gap of the data (Apr-Jun not loaded) holds none of it either
    gap = inc[~inc["month"].dt.month.isin([4, 5, 6])]
    inside = Settings(before=("2025-04", "2025-06"), after=("2025-07", "2025-09"))
    with pytest.raises(ParameterError, match=r"which hold Jan 2025 – Mar 2025, Jul 2025 – Dec 2025;"):
        prepare_inputs(gap, settings=inside)
    # a period that holds some of the data's months is kept (its months without data are left out, and said)
    part = prepare_inputs(inc, settings=Settings(before=("2024-07", "2025-06"), after=("2025-07", "2026-06")))
    assert part.settings.before == ("2024-07", "2025-06")
    # a period of a month published in part alone (August: 60 incidents against 300) holds no month in full
    busy = points(rng.uniform(0, 5_000, (3_360, 2)), [m for m in months for _ in range(60 if m.month == 8 else 300)])
    with pytest.raises(ParameterError, match=r"`after` \(Aug 2025\) holds only Aug 2025, published in part .* other months "
                       r"\(Jan 2025 – Jul 2025, Sep 2025 – Dec 2025\)"):
        prepare_inputs(busy, settings=Settings(before=("2025-01", "2025-06"), after=("2025-08", "2025-08")))
    # periods chosen from the data are not checked; neither are the library's analyse's own (a note)
    assert prepare_inputs(inc).settings.before is not None
    res = analyse(inc, settings=given.replace(cell_size=500, cluster_method="none"))
    assert res.change_cells is None
    assert any(n.startswith("before/after change not computed: the before period") for n in res.notes)


def test_the_study_area_does_not_shrink_with_the_hotspot_period():
    """A footprint's margin beyond the incidents' reach takes no part; that reach is every month's
    incidents', so a short hotspot period keeps the same study area, and the change's totals
    ("elsewhere") the same incidents (Hampshire with August as the hotspot period once counted 2,155
    of 9,438 incidents before)."""
    rng = np.random.default_rng(3)
    months = pd.date_range("2024-01-01", "2024-12-01", freq="MS")
    town = rng.normal([5_000, 5_000], 800, (1_200, 2))  # busy every month
    far = rng.normal([25_000, 5_000], 800, (600, 2))  # never in March
    far_months = [m for m in months if m.month != 3]
    inc = points(np.vstack([town, far]), list(months) * 100 + [far_months[i % 11] for i in range(600)])
    prep = prepare_inputs(inc, settings=Settings(cell_size=500.0, cluster_method="none"))
    every = hotspot_stage(prep.incidents, prep.settings, prep.study_area)
    march = hotspot_stage(prep.incidents, prep.settings.replace(period=("2024-03", "2024-03")), prep.study_area)
    assert march.grid.active.sum() == every.grid.active.sum() > 0
    np.testing.assert_array_equal(march.grid.active, every.grid.active)
    # the far town's cells take part although March holds none of its incidents
    r, c, _ = every.grid.cell_of(np.array([[25_000.0, 5_000.0]]))
    assert march.grid.active[int(r[0]), int(c[0])]


def test_a_hotspot_period_without_data_names_the_months_that_hold_data():
    months = [m for m in pd.date_range("2024-01-01", "2024-12-01", freq="MS") if m.month != 7]  # no July file
    inc = points(np.random.default_rng(1).uniform(0, 5_000, (220, 2)), months * 20)
    with pytest.raises(ParameterError, match=r"Jul 2024; the data hold Jan 2024 – Jun 2024, Aug 2024 – Dec 2024; widen `period`"):
        hotspot_stage(inc, Settings(cell_size=500.0, period=("2024-07", "2024-07")))


def test_forces_far_apart_are_a_warning_among_the_analysis_notes():
    """Durham + Gwent were analysed as 'Durham Constabulary + Gwent Police' (a 780 x 294-cell grid, a 23.7 km
    bandwidth) with no warning; the notes (the CLI's summary, the app's notes) now carry one. Neighbours do not."""
    rng = np.random.default_rng(3)
    durham = rng.uniform((410_000, 515_000), (440_000, 550_000), (150, 2))
    gwent = rng.uniform((315_000, 188_000), (348_000, 212_000), (150, 2))
    cleveland = rng.uniform((445_000, 516_000), (465_000, 533_000), (150, 2))
    far = points(np.vstack([durham, gwent])).assign(force=["Durham Constabulary"] * 150 + ["Gwent Police"] * 150)
    (note,) = [n for n in prepare_inputs(far, boundary="none").notes if n.startswith("warning: ")]
    assert note.startswith("warning: the incidents lie in 2 groups of forces far apart: Durham Constabulary; Gwent Police (")
    near = points(np.vstack([durham, cleveland])).assign(force=["Durham Constabulary"] * 150 + ["Cleveland Police"] * 150)
    assert not [n for n in prepare_inputs(near, boundary="none").notes if "far apart" in n]


def test_scheme_linkage_names_the_forces_own_towns_and_checks_area_and_months():
    """The CLI's and the app's linkage call: towns by the rule that names hotspot areas (a Norfolk
    scheme gets Norwich, not a Derbyshire town), points outside the study area (here the grid's
    extent) and referral dates outside the incidents' months counted."""
    from hotspots.gazetteer import towns as demo_towns
    from hotspots.pipeline import Settings, hotspot_stage, scheme_linkage

    rng = np.random.default_rng(5)
    xy = np.vstack([(623323.0, 308449.0) + rng.normal(0, 700, (500, 2)), (652674.0, 307706.0) + rng.normal(0, 500, (300, 2))])
    inc = gpd.GeoDataFrame({"incident_id": [f"n{i}" for i in range(len(xy))], "month": ["2025-03"] * 400 + ["2025-06"] * 400},
                           geometry=gpd.GeoSeries(shapely.points(xy), crs=27700), crs=27700)
    s = Settings(cell_size=500.0)
    stage = hotspot_stage(inc, s)
    refs = gpd.GeoDataFrame({"referral_id": ["a", "b", "sea"], "task_id": ["N1", "N1", "N1"],
                             "referred_at": pd.to_datetime(["2025-03-02", "2023-05-01", "2025-03-03"])},
                            geometry=shapely.points([623400, 652600, 720000], [308500, 307700, 330000]), crs=27700)
    tasks = gpd.GeoDataFrame({"task_id": ["N1"]}, geometry=shapely.points([623600], [308300]), crs=27700)
    link = scheme_linkage(refs, tasks, stage, s, None, inc)
    t = link.table.set_index("referral_id")
    assert t.loc["a", "harm_town"] == "Norwich" and t.loc["a", "task_town"] == "Norwich"
    assert not set(demo_towns()["name"]) & set(link.towns["name"])
    assert link.summary["outside_study_area"] == 1 and not bool(t.loc["sea", "has_location"])
    assert link.summary["dated_outside_months"] == 1 and link.params["months"] == ["2025-03", "2025-06"]


def test_a_month_a_force_lacks_is_said_so_not_published_in_part():
    """Surrey + Sussex with Surrey's August file left out: the whole data's August (Sussex only) was said "published
    in part" beside the per-force note; one rule now names the missing force, once."""
    from hotspots.pipeline import Settings, choose_missing_months

    months = pd.date_range("2025-01-01", "2025-12-01", freq="MS")
    surrey = pd.DataFrame({"month": np.repeat(months[months != "2025-08-01"], 900), "force": "Surrey Police"})
    sussex = pd.DataFrame({"month": np.repeat(months, 300), "force": "Sussex Police"})
    inc = pd.concat([surrey, sussex], ignore_index=True).assign(category="Anti-social behaviour")
    s, note = choose_missing_months(inc, Settings(before=("2025-01", "2025-06"), after=("2025-07", "2025-12")))
    assert s.missing_months == ("2025-08",)
    assert note.count("Surrey Police has no rows in Aug 2025") == 1 and "published in part" not in note


def test_change_missing_reason_is_the_one_rule_for_why_there_is_no_change():
    from hotspots.pipeline import CHANGE_NOT_COMPUTED, change_missing_reason

    why = "`same_months` ... share none"
    assert change_missing_reason(["force: X", f"{CHANGE_NOT_COMPUTED}: {why}"]) == why
    unable = f"{PERIODS_NOT_CHOSEN}: the data hold a single month"
    assert change_missing_reason([f"{CHANGE_NOT_COMPUTED}: other", unable]) == unable  # no periods: said first
    assert change_missing_reason(["force: X"]) is None
    assert change_missing_reason([CHANGE_NOT_COMPUTED]) is None  # no reason given: none made up


def test_choose_category_says_how_the_rows_read_of_the_chosen_categories_add_up():
    """South Yorkshire, 'Public order': the load line counted 8,069 rows without a location over every category; nowhere
    said 814 of the 13,123 Public order rows (6.2 %) were among them. Then Surrey's line said 5 of 1,368 ASB rows had no
    location, yet kept 1,340: the 23 outside the UK (and City of London's 13 duplicate ids) were not said."""
    from hotspots.preparation import category_drops_text
    from hotspots.report import LoadReport

    inc = gpd.GeoDataFrame({"category": ["Public order"] * 3 + [ASB_CATEGORY] * 2},
                           geometry=gpd.points_from_xy([0] * 5, [0] * 5), crs=27700)
    report = LoadReport("f", 14, 5, dropped={"no location": 5, "outside the UK": 3, "duplicate id": 1},
                        dropped_by_category={"Public order": {"no location": 1, "duplicate id": 1},
                                             ASB_CATEGORY: {"no location": 4, "outside the UK": 3}})
    cat = choose_category(inc, ["public order"], report=report)
    assert cat.note == ("kept the 3 incidents of 5 in 'Public order'; of the 5 'Public order' rows read, 3 were kept and 2 "
                        "(40.0 %) dropped (no location: 1; duplicate id: 1)")
    asb = choose_category(inc, None, report=report)  # the default category too
    assert asb.note.endswith(f"; of the 9 '{ASB_CATEGORY}' rows read, 2 were kept and 7 (77.8 %) dropped (no location: 4; "
                             "outside the UK: 3)")
    assert 9 == 2 + 4 + 3  # read = kept + each reason
    assert choose_category(inc, "all", report=report).note == ""  # every category: the load line says it
    assert choose_category(inc, ["public order"]).note == "kept the 3 incidents of 5 in 'Public order'"  # no report
    assert category_drops_text(LoadReport("f", 5, 5), ["Public order"], 3) == ""
    only = LoadReport("f", 4, 3, dropped={"duplicate id": 1}, dropped_by_category={"Public order": {"duplicate id": 1}})
    assert category_drops_text(only, ["Public order"], 3) == (
        "of the 4 'Public order' rows read, 3 were kept and 1 (25.0 %) dropped (duplicate id: 1)")  # no 'no location' needed


def test_a_boundary_keeps_everything_to_the_incidents_inside_it():
    """Bournemouth's 3 km circle in Dorset's files (tester): clusters came from the whole county (95, named
    "..., Bournemouth" in Portland and Weymouth), the bandwidth from the county's spread (2,150 m, not 222 m), and the
    app and the command line counted "incidents analysed" differently. A tight town inside a circle and a spread town
    30 km away: only the town inside is analysed, clustered and fitted; the other only smooths into the border."""
    from hotspots.bandwidth import auto_bandwidth
    from hotspots.commands.analyse import summary_lines
    from hotspots.density import kde
    from hotspots.summaries import headline

    rng = np.random.default_rng(3)
    town = np.vstack([(400_000.0, 300_000.0) + rng.normal(0, 300, (500, 2)),
                      (401_500.0, 300_000.0) + rng.normal(0, 60, (100, 2))])
    far = (430_000.0, 300_000.0) + rng.normal(0, 3_000, (900, 2))
    near_edge = np.array([[403_020.0, 300_010.0]] * 4)  # just outside the circle (its cell too): smooths into its border
    inc = points(np.vstack([town, far, near_edge]))
    circle = gpd.GeoDataFrame(geometry=[shapely.Point(400_000, 300_000).buffer(3_000)], crs=27700)
    s = Settings(cell_size=100.0, distance=300.0, cluster_method="dbscan", eps=100.0, min_samples=15)
    an = analyse(inc, settings=s, study_area=circle)

    xy = points_xy(an.incidents, an.grid.crs)
    assert an.grid.in_area(xy).all() and len(an.incidents) + an.incidents_outside() == len(inc)
    assert len(an.incidents) == 600 == headline(an).incidents == int(np.nansum(an.counts.values))
    assert len(an.density_points()) == len(inc) == len(an.smoothed)
    # the clusters: the town's two, none 30 km away
    assert an.clusters.n_clusters >= 1
    assert an.clusters.polygons.intersects(circle.geometry.iloc[0]).all()
    assert int(an.clusters.polygons["n_points"].sum()) <= 600
    # the bandwidth: ArcGIS's rule on the incidents analysed, not on the county's spread
    own, _ = auto_bandwidth(xy, None, rule="arcgis", kernel="quartic")
    every, _ = auto_bandwidth(points_xy(inc, an.grid.crs), None, rule="arcgis", kernel="quartic")
    assert an.density.bandwidth_m == pytest.approx(max(own, 100.0)) and every > 5 * own
    assert any("fitted to the 600 point(s) in the study area's cells" in n for n in an.notes)
    # the points beyond still smooth into the border (as ArcGIS's mask does): the density is theirs too
    alone = kde(an.incidents, an.grid, bandwidth=float(an.density.bandwidth_m))
    assert np.nanmax(np.abs(an.density.values - alone.values)) > 0
    # one figure for the command line and the app (summaries.headline), and the rest said beside it
    line = next(x for x in summary_lines(an) if "incidents analysed" in x)
    assert line.startswith("  incidents analysed: 600 (") and f"; {len(inc) - 600:,} more outside the study area" in line
    assert an.incidents_text() == f"600 incidents ({len(inc) - 600:,} more outside the study area, in no cell)"
    assert an.parameters()["used"]["incidents"] == 600


def test_app_and_cli_count_the_same_incidents_analysed_and_clusters_with_a_boundary(demo, tmp_path):
    """in/wilts_swap (tester): the app's card said 8,377 incidents analysed, the command line 8,373 and 4 more outside
    the study area. One figure now (summaries.headline of the stage's incidents), and one set of clusters."""
    pytest.importorskip("streamlit")
    from hotspots.app_support import cached as c
    from hotspots.commands.analyse import summary_lines
    from hotspots.pipeline import CLUSTER_SETTINGS
    from hotspots.summaries import headline

    inc = demo.incidents
    centre = shapely.Point(435_300, 336_300)
    sel = inc[(inc.geometry.distance(centre) < 8_000) & (inc["month"] >= "2024-01-01") & (inc["month"] < "2025-01-01")]
    circle = gpd.GeoDataFrame(geometry=[centre.buffer(4_000)], crs=27700)
    csv, geo = _write_inputs(tmp_path, sel, circle)
    _, cli = _cli(csv, geo, tmp_path / "out", "--cluster-method", "dbscan")
    bundle, app = _app(csv, geo)
    n = headline(cli).incidents
    assert n == headline(app).incidents == len(cli.incidents) == int(np.nansum(cli.counts.values))
    assert 0 < n < len(sel) and cli.incidents_outside() == len(sel) - n
    assert any(line.startswith(f"  incidents analysed: {n:,} (") for line in summary_lines(cli))
    shown = c.clusters(bundle, bundle.defaults.only(*CLUSTER_SETTINGS))
    assert shown.n_clusters == cli.clusters.n_clusters > 0
    assert shown.polygons.intersects(circle.geometry.iloc[0]).all() and cli.clusters.polygons.intersects(circle.union_all()).all()


def test_incidents_all_at_one_place_are_refused_saying_so_not_to_shrink_the_cells():
    """300 ASB rows at one point were told "Gi* needs at least 2 cells ... Use a smaller `--cell-size`", which cannot help."""
    from hotspots.preparation import check_several_places

    one_place = points([(430_000.3, 336_000.2)] * 300, categories=["Anti-social behaviour"] * 300)
    with pytest.raises(ParameterError, match=r"all 300 incidents lie at one place \(300 incidents at 1 distinct location\)"):
        prepare_inputs(one_place)
    with pytest.raises(ParameterError, match=r"the one incident lies at one place \(1 incident at 1 distinct location\)"):
        check_several_places(one_place.iloc[:1])
    check_several_places(points([(430_000.0, 336_000.0), (430_002.0, 336_000.0)]))  # two places: fine


def test_no_change_message_says_one_month_holds_no_pair_and_punctuates_the_note():
    """`map --before-after` on one month said "error: no before/after change Give `--before A:B ...`" (no full stop)."""
    from hotspots.pipeline import no_change_message

    kw = {"periods_fix": "Give the periods", "without": "add `--no-change`"}
    one = points([(0, 0), (5, 5)], months=["2025-03-01"] * 2)
    assert no_change_message([], one, **kw) == (
        "no before/after change: the data hold one month (2025-03), and a before/after comparison needs at least two. "
        "Load more months, or add `--no-change`.")
    two = points([(0, 0), (5, 5)], months=["2025-03-01", "2025-04-01"])
    assert no_change_message([], two, **kw) == "no before/after change. Give the periods, or add `--no-change`."
    note = "before/after change not computed: the after period holds no incidents."
    assert no_change_message([note], two, **kw) == f"{note} Give the periods, or add `--no-change`."
