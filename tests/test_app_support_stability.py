"""The stability sweep as the app shows it: the cell size its robust-cell count is on, and the settings it was run for."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from hotspots.app_support.stability import SweepRequest, stability_metrics
from hotspots.grid import Grid
from hotspots.settings import Settings


def _stage(cell: float, distance: float) -> SimpleNamespace:
    return SimpleNamespace(grid=SimpleNamespace(cell_size=cell), gi=SimpleNamespace(params={"distance_m": distance}))


S = Settings(alpha=0.05, fdr=True, seed=0)


def test_the_robust_cell_count_names_the_cells_it_is_counted_on():
    # Essex: 391 cells hot in >= 80 % of runs of 400/500/750 m, more than the 302 hot cells at 500 m: they are 400 m cells.
    share = np.array([[1.0, 0.8], [0.5, np.nan]])
    res = SimpleNamespace(mean_jaccard=0.594, reference_grid=Grid.from_bounds((0, 0, 799, 799), 400.0),
                          robust_cells=lambda m: np.nan_to_num(share) >= m)
    jac, robust = stability_metrics(res)
    assert jac.value == "0.59" and robust.label == "400 m cells hot in ≥ 80 % of runs" and robust.value == "2"
    assert "Counted on 400 m cells, the sweep's finest cell size" in robust.help


def test_a_sweep_says_what_it_was_run_for():
    req = SweepRequest.of(_stage(500.0, 500 * 2**0.5), S.replace(period=("2025-07", "2025-12")), "tok", [750, 400, 500],
                          [2.0, 2**0.5])
    assert req.sizes == (400, 500, 750) and req.mults == (2**0.5, 2.0) and req.settings == S.replace(
        period=("2025-07", "2025-12")).only("period", "alpha", "fdr", "seed")
    assert req.run_for() == ("Run for the hotspot period Jul 2025 – Dec 2025, alpha 0.05 with FDR, beside the analysis at 500 m "
                             "cells and a 707 m distance band: cell sizes 400, 500, 750 m × distance bands 1.41, 2 × cell size")


def test_a_sweep_is_out_of_date_when_the_settings_change():
    req = SweepRequest.of(_stage(500.0, 707.1), S, "tok", [400, 500, 750], [1.41, 2.0])
    assert req.out_of_date(_stage(500.0, 707.1), S.replace(cell_size=500.0, kernel="gaussian"), "tok") is None  # not read
    stale = req.out_of_date(_stage(250.0, 353.6), S, "tok")  # Essex: 500 m -> 250 m cells
    assert stale.startswith("Out of date: the settings have changed since this sweep was run (cell size 500 m → 250 m; "
                            "distance band 707 m → 354 m)")
    assert "period" in req.out_of_date(_stage(500.0, 707.1), S.replace(period=("2025-01", "2025-06")), "tok")
    assert "alpha 0.05 with FDR → 0.01 with FDR" in req.out_of_date(_stage(500.0, 707.1), S.replace(alpha=0.01), "tok")
    assert "seed 0 → 3" in req.out_of_date(_stage(500.0, 707.1), S.replace(seed=3), "tok")
    assert "other data" in req.out_of_date(_stage(500.0, 707.1), S, "other")
