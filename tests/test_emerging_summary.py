"""hotspots.emerging_summary: emerging hot spots as every analysis computes and reads them."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from hotspots import ParameterError
from hotspots.emerging import CATEGORY_CODES, emerging_hotspots
from hotspots.emerging_summary import (
    NO_PATTERN,
    area_patterns,
    category_counts,
    describe_emerging,
    emerging_trends,
    levels_estimated,
    own_test_text,
)
from hotspots.grid import Grid


def _town(months: int = 24, rising: bool = True, seed: int = 1) -> gpd.GeoDataFrame:
    """A 5 km square of background over ``months`` months and a 500 m block whose monthly count
    climbs from 5 to 60 (or stays at 30)."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(months):
        month = (pd.Period("2023-01", "M") + m).to_timestamp()
        n_bg = rng.poisson(60)
        rows += [(x, y, month) for x, y in rng.uniform(0, 5000, (n_bg, 2))]
        n_block = rng.poisson(5 + 55 * m / (months - 1) if rising else 30)
        rows += [(x, y, month) for x, y in rng.uniform(2000, 2500, (n_block, 2))]
    df = pd.DataFrame(rows, columns=["x", "y", "month"])
    return gpd.GeoDataFrame({"month": df["month"]}, geometry=gpd.points_from_xy(df.x, df.y), crs=27700)


GRID = Grid.from_bounds((0, 0, 5000, 5000), 250)


def test_emerging_trends_is_emerging_hotspots_on_the_analysis_grid():
    inc = _town()
    got, note = emerging_trends(inc, GRID, 400.0, alpha=0.05, fdr=True, seed=3)
    ref = emerging_hotspots(inc, GRID, distance=400.0, alpha=0.05, fdr=True, seed=3)
    assert note is None and np.array_equal(got.categories, ref.categories) and got.n_steps == 24
    # the rising block is intensifying, and the reading says so with what one trend word is worth
    counts = category_counts(got).set_index("category")["cells"]
    assert counts.get("intensifying hot spot", 0) >= 1
    text = describe_emerging(got)
    assert text.startswith("24 monthly steps (Jan 2023 – Dec 2024): ") and "intensifying" in text
    assert "about 5% of the time" in text and "no cold spot pattern" in text
    assert "less than two years" not in text and levels_estimated(got)  # 24 months: year-to-year variation allowed for
    # a year of months: the same trend word, with what it cannot rule out
    year, _ = emerging_trends(_town(months=12), GRID, 400.0)
    assert "intensifying hot spot" in set(category_counts(year)["category"]) and not levels_estimated(year)
    assert "less than two years of months" in describe_emerging(year)
    steady, _ = emerging_trends(_town(months=12, rising=False), GRID, 400.0)
    assert "less than two years" not in describe_emerging(steady)  # said only beside a trend word


def test_a_steady_hotspot_is_persistent_and_the_reading_says_no_trend():
    # seed 2: with seed 1 one of the block's 16 cells is diminishing (trend z -2.03) since the trend
    # leaves out the first month's short window, a chance trend of the kind each cell has 5 % of
    got, _ = emerging_trends(_town(rising=False, seed=2), GRID, 400.0)
    counts = category_counts(got)
    assert "persistent hot spot" in set(counts["category"])
    assert not counts["category"].str.startswith(("intensifying", "diminishing")).any()
    assert describe_emerging(got).endswith("; no hot spot is intensifying or diminishing; " + own_test_text(got))


def test_the_reading_says_emerging_hot_spots_are_their_own_test():
    """With 999 permutations Gwent's "hotspot areas: 0" stood beside "83 persistent hot spot cells": the
    reading says the two are different tests (each month's count test over the cube, not the areas' Gi*),
    and only where there is a pattern to read against the map."""
    got, _ = emerging_trends(_town(rising=False), GRID, 400.0)
    own = own_test_text(got)
    assert own.startswith("emerging hot spots are a test of their own (each cell's months, judged by the exact count test, "
                          "false discovery rate over the whole cube), not the hotspot areas' Gi*")
    assert own in describe_emerging(got)
    plain = dataclasses.replace(got, categories=np.zeros_like(got.categories))
    assert own not in describe_emerging(plain) and "no hot spot pattern; no cold spot pattern" in describe_emerging(plain)
    normal = dataclasses.replace(got, params={**got.params, "inference": "normal", "fdr": "none"})
    assert "(each cell's months, judged by the normal p of its Gi* z)" in own_test_text(normal)


def test_category_counts_cover_the_study_area_hot_then_cold_then_none():
    got, _ = emerging_trends(_town(), GRID, 400.0)
    c = category_counts(got)
    assert c["cells"].sum() == GRID.n_cells and c["share_pct"].sum() == pytest.approx(100.0)
    codes = c["category"].map(CATEGORY_CODES).to_numpy()
    rank = np.where(codes > 0, 0, np.where(codes < 0, 1, 2))
    assert (np.diff(rank) >= 0).all() and c["category"].iloc[-1] == NO_PATTERN and (c["cells"] > 0).all()


def test_fewer_than_ten_months_give_no_trend_and_say_why():
    got, note = emerging_trends(_town(months=9), GRID, 400.0)
    assert got is None and note.startswith("emerging hot spots not computed: the data hold 9 month(s)")
    # a month missing from the files: left out of the cube, and its warning kept as a note
    inc = _town(months=14)
    gap = inc[inc["month"] != pd.Timestamp("2023-06-01")]
    got, note = emerging_trends(gap, GRID, 400.0)
    assert note is None and got.n_steps == 13 and any("emerging hot spots: " in n for n in got.notes)
    # ... and with months left out the cube can fall under ten steps
    got, note = emerging_trends(gap[gap["month"] < pd.Timestamp("2023-11-01")], GRID, 400.0)
    assert got is None and "9 monthly steps hold data" in note


def test_area_patterns_by_hand():
    got, _ = emerging_trends(_town(), GRID, 400.0)
    cats = np.zeros(GRID.shape, dtype=np.int8)
    labels = np.zeros(GRID.shape, dtype=np.int64)
    # area 1: two intensifying (3), one persistent (4), one without a pattern
    labels[0, :4], cats[0, :4] = 1, [3, 3, 4, 0]
    # area 2: a tie between persistent and intensifying goes to the one ArcGIS lists first
    labels[2, :2], cats[2, :2] = 2, [4, 3]
    # area 3: no pattern; area 4: mostly a diminishing cold spot
    labels[4, :3] = 3
    labels[6, :3], cats[6, :3] = 4, [-5, -5, 2]
    fake = dataclasses.replace(got, categories=cats)
    p = area_patterns(fake, labels, 5)
    assert p["area_id"].tolist() == [1, 2, 3, 4, 5]
    assert p["emerging"].tolist() == [
        "intensifying hot spot", "intensifying hot spot", NO_PATTERN, "diminishing cold spot", NO_PATTERN
    ]
    assert p["pattern_cells"].tolist() == [2, 1, 0, 2, 0] and p["cells"].tolist() == [4, 2, 3, 3, 0]
    with pytest.raises(ParameterError, match="grid"):
        area_patterns(fake, labels[:-1], 5)


def test_the_reading_names_the_months_left_out_of_the_cube():
    """A month without data is left out of the cube (hotspots.emerging), so "11 monthly steps
    (Jan 2025 – Dec 2025)" read as a miscount: the reading names the month and why."""
    inc = _town(months=14)
    inc = inc[inc["month"] != pd.Timestamp("2023-05-01")]
    got, note = emerging_trends(inc, GRID, 400.0)
    assert note is None and got.n_steps == 13
    assert describe_emerging(got).startswith("13 monthly steps (Jan 2023 – Feb 2024; left out: May 2023, no data): ")
    whole, _ = emerging_trends(_town(months=14), GRID, 400.0)
    assert describe_emerging(whole).startswith("14 monthly steps (Jan 2023 – Feb 2024): ")
    # several months in a row: one range with its length, not a name each
    run = inc[~inc["month"].between(pd.Timestamp("2023-06-01"), pd.Timestamp("2023-07-01"))]
    got, _ = emerging_trends(run, GRID, 400.0)
    assert "left out: May 2023 – Jul 2023 (3 months), no data): " in describe_emerging(got)


def test_month_patterns_are_said_to_be_untested():
    # new / consecutive / sporadic / oscillating / historical describe which months were hot, not a tested change
    from hotspots.emerging_summary import pattern_caveat

    assert pattern_caveat(pd.Series(["persistent hot spot", "intensifying hot spot"])) == ""
    one = pattern_caveat(pd.Series(["consecutive hot spot", "persistent hot spot"]))
    # "; consecutive describe the months" (Bedfordshire's "sporadic describe") lacked its noun
    assert one.startswith("; consecutive hot spots describe the months") and "not a tested change" in one
    two = pattern_caveat(pd.Series(["historical hot spot", "new hot spot", "new hot spot"]))
    assert two.startswith("; new and historical hot spots describe")
    assert pattern_caveat(pd.Series(["new cold spot"])) == ""  # cold spots are listed as cold, not here
