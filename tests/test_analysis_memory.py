"""The analysis's memory estimate and its refusal: hand-checked sizes, the smallest cell size that
fits, the message in the library's and the command line's words, refused before any heavy work."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import hotspots.analysis_memory as am
from hotspots import LimitError
from hotspots.analysis_memory import (
    ANALYSIS_BASE_BYTES,
    CELL_BYTES,
    CELL_MONTH_BYTES,
    analysis_memory,
    check_analysis_memory,
    smallest_cell_size,
)
from hotspots.io.limits import GiB, MiB
from hotspots.validation import argument_names


def test_estimate_is_the_model_by_hand():
    assert analysis_memory(1_000, 12) == ANALYSIS_BASE_BYTES + 1_000 * (CELL_BYTES + 12 * CELL_MONTH_BYTES)
    assert analysis_memory(1_000, 0) == analysis_memory(1_000, 1)  # no dates: one month
    # the tester's Merseyside runs: 10 m (21.6 million cells, killed at 23.5 GB) is over 20 GiB,
    # 25 m (3.46 million cells, 5.9 GB peak) is estimated at no less than it took
    assert analysis_memory(21_600_000, 12) > 20 * GiB
    assert analysis_memory(3_456_000, 12) >= 5.9e9


def test_a_grid_that_fits_passes_and_says_nothing_when_small():
    est = check_analysis_memory(100, 100, 100.0, 12, available=8 * GiB)
    assert est.fits and est.cells == 10_000 and est.needed == analysis_memory(10_000, 12) and est.note() is None


def test_a_large_grid_that_fits_is_announced():
    est = check_analysis_memory(1200, 1125, 25.0, 12, available=64 * GiB)
    assert est.fits and "1,350,000 cells of 25 m over 12 months" in est.note() and "`cell_size`" in est.note()


def test_too_big_is_refused_with_the_smallest_cell_size_that_fits():
    # 1,000 x 1,000 cells of 10 m over 12 months (1,552 B a cell) in 1 GiB: 600 MiB of base leaves
    # 424 MiB = 286,466 cells; a 10 km square at 19 m has (527 + 1)^2 = 278,784 cells (fits), at 18 m
    # (556 + 1)^2 = 310,249 (does not)
    available = 1 * GiB
    with pytest.raises(LimitError) as err:
        check_analysis_memory(1000, 1000, 10.0, 12, available=available)
    msg = str(err.value)
    assert "1,000,000 cells of 10 m over 12 months needs about 2.0 GiB" in msg and "more than the 1.0 GiB available" in msg
    assert "use `cell_size` 19 or more" in msg and "\n" not in msg
    assert smallest_cell_size(10_000, 10_000, 12, available) == 19.0
    assert analysis_memory(528 * 528, 12) <= available < analysis_memory(557 * 557, 12)
    assert check_analysis_memory(528, 528, 19.0, 12, available=available).fits


def test_the_command_line_sees_its_flag():
    with argument_names({"cell_size": "--cell-size"}), pytest.raises(LimitError, match="use `--cell-size` 19 or more"):
        check_analysis_memory(1000, 1000, 10.0, 12, available=1 * GiB)


def test_no_cell_size_fits_when_memory_is_almost_gone():
    with pytest.raises(LimitError, match=r"free memory \(no `cell_size` makes the analysis fit"):
        check_analysis_memory(10, 10, 100.0, 12, available=100 * MiB)


def test_unknown_available_memory_is_not_checked(monkeypatch):
    monkeypatch.setattr(am, "available_memory", lambda: None)
    assert check_analysis_memory(7000, 7000, 10.0, 12).fits


def _incidents(n: int = 300) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(430_000, 440_000, n), rng.uniform(330_000, 340_000, n)
    months = rng.choice(pd.period_range("2024-01", "2024-12", freq="M").astype(str), n)
    return gpd.GeoDataFrame({"month": months, "category": "Anti-social behaviour"},
                            geometry=gpd.points_from_xy(x, y), crs="EPSG:27700")


def test_analyse_refuses_before_any_heavy_work(monkeypatch):
    import hotspots.pipeline as pipeline
    from hotspots import Settings, analyse

    def heavy(*args, **kwargs):
        raise AssertionError("kernel density was computed before the memory check")

    monkeypatch.setattr(pipeline, "kde", heavy)
    monkeypatch.setattr(am, "available_memory", lambda: 700 * MiB)
    # a 10 km square at 10 m: about 1 million cells x 12 months; 100 MiB above the base holds ~67,500 cells
    with pytest.raises(LimitError, match=r"cells of 10 m over 12 months .* use `cell_size` \d+ or more"):
        analyse(_incidents(), settings=Settings(cell_size=10.0))
