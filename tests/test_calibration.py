"""Calibration suite (slow): the benchmark's simulations with the acceptance thresholds.

Run with ``scripts/test --run-slow``; ``python -m benchmarks.calibration`` prints the full table.
The everyday suite has small versions in test_gi_inference.py, test_change_summary.py,
test_count_tests.py and test_trend.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.calibration import (
    change_scenarios,
    change_scenarios_product,
    emerging_month_permutations,
    emerging_null,
    emerging_patterns,
    emerging_year_to_year,
    missing_month,
    null_maps,
    null_maps_product,
    partial_month,
)

pytestmark = pytest.mark.slow


def test_null_maps_and_compact_clusters():
    rows = null_maps(20, np.random.default_rng(1))
    for r in rows:
        assert r["maps with hotspots (new)"] <= 0.10  # 5 % nominal; 20 maps allow 2 by chance
        assert r["(old)"] >= r["maps with hotspots (new)"]
        if r["incidents"] <= 1_000:
            assert r["cluster found (new)"] >= 0.8
    assert np.mean([r["maps with hotspots (new)"] for r in rows]) <= 0.05


def test_null_maps_through_the_product_path():
    # prepare_inputs + hotspot_stage (the CLI's and the app's path: footprint or boundary study area)
    rows = null_maps_product(10, np.random.default_rng(3))
    for r in rows:
        assert r["maps with hotspots"] <= 0.20, r  # 5 % nominal; 10 maps allow 2 by chance
    assert np.mean([r["maps with hotspots"] for r in rows]) <= 0.05


def test_change_verdicts_hold_their_level():
    # 24 data sets per scenario (the README's table uses 40, docs/calibration.md's first table 50): the acceptance thresholds
    # with room for chance where the measured rate sits at the threshold
    names = ("realistic, no change", "realistic, half fall 30 %", "Poisson, half fall 30 %", "Poisson, half fall 15 %")
    rows = {r["scenario"]: r for r in change_scenarios(24, np.random.default_rng(2), only=names)}
    null = rows["realistic, no change"]
    assert null["untreated_new"] <= 0.08 and null["cells_new"] <= 0.05  # acceptance 5 %; 50 data sets: see docs/calibration.md
    assert null["pooled_new"] <= 0.10  # a "significant fall" of all hotspots with no change
    assert null["untreated_old"] > 0.3  # the exact Poisson test calls ordinary variation significant
    half = rows["realistic, half fall 30 %"]
    assert half["untreated_new"] <= 0.10  # acceptance
    # acceptance 50 % one by one: 37-43 % measured (docs/calibration.md: a 30 % fall is about 1.9
    # standard errors of 12 % year-to-year variation, so a test knowing the true variance finds
    # about 47 %); 41 % for this seed. Pooled: acceptance 80 %, 90-96 % measured.
    assert half["treated_new"] >= 0.35 and half["pooled_new"] >= 0.8
    pois = rows["Poisson, half fall 30 %"]
    assert pois["treated_new"] >= 0.9 and pois["pooled_new"] >= 0.9  # acceptance 90 %
    # acceptance 70 %: 71-72 % in the benchmark's runs (this seed's 24 data sets: 71.5 %)
    assert rows["Poisson, half fall 15 %"]["treated_new"] >= 0.65


def test_change_verdicts_through_the_product_path():
    # prepare_inputs + analyse with default settings (footprint study area, automatic cell size and
    # distance band, hotspots from all months): the acceptance thresholds, with room for chance
    only = ("realistic, no change", "realistic, half fall 30 %", "Poisson, half fall 15 %", "random walk, no change")
    rows = {r["scenario"]: r for r in change_scenarios_product(24, np.random.default_rng(5), only=only)}
    none, half = rows["realistic, no change"], rows["realistic, half fall 30 %"]
    assert none["untreated"] <= 0.08 and none["cells"] <= 0.05 and none["in areas"] >= 0.95
    # pooled: acceptance 80 %; 85 % over 300 data sets (docs/calibration.md, "Degrees of freedom that count the
    # estimate's own noise"; two seeds of 300, 85.0 % each); 24 data sets vary by about +-7 points
    # around that: at a true 85 % a seed gives fewer than 17 of 24 (70 %) 2 % of the time, fewer
    # than 20 of 24 (the 80 % this threshold once was) 29 % of the time (binomial)
    assert half["untreated"] <= 0.10 and half["pooled"] >= 0.70
    # treated areas one by one: acceptance 50 %; 48.2 % and 44.4 % on two seeds of 300 data sets
    # (docs/calibration.md, "The adjusted test's degrees of freedom"); a floor against losing the adjustment
    assert half["treated"] >= 0.35
    # the data hold the year before "before" and hotspots come from every month: areas are judged
    # on their placebo-adjusted change, which finds Poisson falls of 15 % (acceptance 70 %) ...
    assert half["adjusted"] == 1.0
    pois = rows["Poisson, half fall 15 %"]
    assert pois["adjusted"] == 1.0 and pois["treated"] >= 0.70
    # ... without false alarms when year effects drift (nothing to take back but the sampling noise)
    assert rows["random walk, no change"]["untreated"] <= 0.08
    # default periods around a July 2023 scheme start on 2023-2024 (before Jan-Jun 2023, after
    # Jul 2023-Jun 2024): the after period's change of year is not taken for season (one level
    # for it: pooled rows 14 % and 10 % false verdicts in 100 data sets; now 1 of these 24 and none)
    # (each design its own draws, so that adding a row elsewhere does not change these)
    dflt = change_scenarios_product(24, np.random.default_rng(5), only=("realistic, no change, default periods",))[0]
    assert dflt["pooled any"] <= 0.10 and dflt["vs any"] <= 0.10 and dflt["untreated"] <= 0.08
    # two years only (no placebo year): "all hotspot areas" pooled by precision finds the half fall
    # (acceptance 80 %: 83 % of 150 data sets; the hotspots' total found 61-68 %, docs/calibration.md "All hotspot
    # areas pooled by precision")
    two = ("realistic, no change, no placebo year", "realistic, half fall 30 %, no placebo year")
    by_name = {r["scenario"]: r for r in change_scenarios_product(24, np.random.default_rng(5), only=two)}
    two0, two1 = by_name[two[0]], by_name[two[1]]
    assert two0["pooled any"] <= 0.10 and two0["untreated"] <= 0.08
    assert two1["pooled"] >= 0.75 and two1["untreated"] <= 0.10
    # half years with the same halves a year earlier as the placebo (benchmark, 100 data sets: no
    # change 2.3 % / 0 % / 2 %; half fall treated 60.4 %, pooled 96 %); 24 data sets vary more
    half_years = ("realistic, no change, half years", "realistic, half fall 30 %, half years")
    hy0, hy = change_scenarios_product(24, np.random.default_rng(5), only=half_years)
    assert hy0["untreated"] <= 0.08 and hy0["pooled any"] <= 0.10 and hy0["vs any"] <= 0.15 and hy0["cells"] <= 0.05
    assert hy["untreated"] <= 0.10 and hy["treated"] >= 0.50 and hy["pooled"] >= 0.80


def test_month_shocks_shared_by_the_whole_area_do_not_make_absolute_verdicts():
    # every month busy or quiet across the whole square at once (6.7 %, the real files' median), no
    # change: "elsewhere" and "all hotspot areas" count the shocks (benchmark, 150 data sets:
    # "elsewhere" 3.3 / 5.3 / 3.3 %, was 11-25 % on 40 before hotspots.month_shocks)
    only = (
        "realistic, no change, shared month shocks",
        "realistic, no change, no placebo year, shared month shocks",
        "realistic, no change, half years, shared month shocks",
    )
    for r in change_scenarios_product(24, np.random.default_rng(5), only=only):
        assert r["else any"] <= 0.15 and r["pooled any"] <= 0.15 and r["vs any"] <= 0.15, r
        assert r["untreated"] <= 0.08, r


def test_displacement_rings_hold_their_level_and_find_a_displacement():
    # the 500 m rings around the hotspot areas (hotspots.displacement_rings): nothing moved, any
    # verdict for the rings or for the rings against the rest beyond them (benchmark, 100 data sets
    # a design: 3 / 1 % with a placebo year, 4 / 3 % two years; 1-4 / 2 % when half the hotspots
    # fall 30 % and nothing moves); half of what the falling hotspots lose moved 1-1.5 km from
    # their centres (about 60 % of it into the rings): a rise found in 93 % and 90 % of 30
    only = (
        "realistic, no change",
        "realistic, no change, no placebo year",
        "realistic, half fall 30 %, half displaced",
        "realistic, half fall 30 %, no placebo year, half displaced",
    )
    rows = {r["scenario"]: r for r in change_scenarios_product(24, np.random.default_rng(7), only=only)}
    for name in only[:2]:
        assert rows[name]["rings any"] <= 0.10 and rows[name]["rings vs any"] <= 0.10, rows[name]
    for name in only[2:]:
        assert rows[name]["rings vs rise"] >= 0.75, rows[name]


def test_emerging_null_false_trend_rate():
    r = emerging_null(4, np.random.default_rng(3))
    assert r["corrected"] <= 0.065 and r["uncorrected"] > 0.1


def test_emerging_trends_hold_on_hotspots_that_vary_from_year_to_year():
    rows = {r["scenario"]: r for r in emerging_year_to_year(30, np.random.default_rng(4))}
    null = rows["12 % year-to-year, no trend"]
    assert null["trend (ours)"] <= 0.075 and null["trend (plain)"] >= 0.2
    assert rows["12 % year-to-year, half grow 50 %"]["trend (ours)"] <= 0.075
    assert rows["Poisson, no trend"]["trend (ours)"] <= 0.075
    assert rows["Poisson, half grow 30 %"]["growing found (ours)"] >= 0.5


@pytest.mark.realdata
def test_emerging_trends_hold_on_real_data_with_the_months_shuffled():
    """The real 2025 ASB of Derbyshire and Leicestershire with its months in random order: the
    files' places and month-to-month variation, nothing trending. Busy cells with a z-trend: 4.5 %
    and 4.6 % over 200 permutations (benchmark); 3.8 % and 3.5 % over 60 since the trend leaves out
    the first step's short window (4.3 % and 4.5 % on the same 60 before), each permutation anywhere from 0.3 % to 30 % (the
    force's month totals move every hotspot's z together); ArcGIS's plain Mann-Kendall 14 %."""
    rows = emerging_month_permutations(60, seed=11)
    if not rows:
        pytest.skip("the Derbyshire and Leicestershire 2025 files were not found")
    for r in rows:
        assert r["permuted: busy cells with a z-trend"] <= 0.065, r["force"]
        assert r["permuted: busy cells with a count trend"] <= 0.065, r["force"]
        assert r["permuted: busy cells, plain Mann-Kendall (ArcGIS)"] >= 0.1, r["force"]


def test_emerging_categories_hold_on_random_and_uneven_cubes():
    rows = {r["scenario"]: r for r in emerging_patterns(20, np.random.default_rng(5))}
    for name in ("random, 300 a year", "random, 3,000 a year", "random, 30,000 a year",
                 "uneven cells (kappa 30, steady), 3,000 a year"):
        assert rows[name]["cubes with a pattern far from hotspots (count)"] <= 0.05, name
    assert rows["random, 300 a year"]["cubes with a pattern far from hotspots (normal)"] >= 0.5
    small = rows["20 small hotspots, 1,200 background"]
    assert small["hotspots' cells hot (count)"] >= 0.6 and small["far share of all categories (count)"] <= 0.05


def test_a_missing_monthly_file_does_not_make_a_fall():
    for row in missing_month(30, np.random.default_rng(6)):
        # left out: the verdicts keep their level (5 % nominal; 30 data sets allow a few by chance)
        assert row["areas flagged (left out)"] <= 0.08
        assert row["all hotspot areas any verdict (left out)"] <= 0.15 and row["elsewhere any verdict (left out)"] <= 0.15
        # counted as a month of no incident (as before), the quieter year read as a fall in 85-93 %
        # of data sets; since the pooled rows estimate the month-to-month shocks the whole area
        # shares (hotspots.month_shocks), that month is taken for a huge shock instead (sd 0.26-0.41
        # against 0.01 left out), which widens the absolute rows: the shocks' estimate sees it
        assert row["shared shock sd (as zero)"] >= 0.15 and row["shared shock sd (left out)"] <= 0.05


def test_a_month_published_in_part_does_not_make_a_fall():
    for row in partial_month(30, np.random.default_rng(8)):
        assert row["month found"] >= 0.95
        assert row["areas flagged (left out)"] <= 0.08
        assert row["all hotspot areas any verdict (left out)"] <= 0.15 and row["elsewhere any verdict (left out)"] <= 0.15
        # counted as published, three quarters of a month's incidents short read as a fall in 57-65 %
        # of data sets; now as a shock of the whole area (sd 0.19-0.29 against 0.01 left out)
        assert row["shared shock sd (as published)"] >= 0.1 and row["shared shock sd (left out)"] <= 0.05
