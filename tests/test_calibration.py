"""Calibration suite (slow): the benchmark's simulations with the acceptance thresholds.

Run with ``scripts/test --run-slow``; ``python -m benchmarks.calibration`` prints the full table.
The everyday suite has small versions in test_gi_inference.py, test_change_summary.py,
test_count_tests.py and test_trend.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.calibration import change_scenarios, emerging_null, null_maps

pytestmark = pytest.mark.slow


def test_null_maps_and_compact_clusters():
    rows = null_maps(20, np.random.default_rng(1))
    for r in rows:
        assert r["maps with hotspots (new)"] <= 0.10  # 5 % nominal; 20 maps allow 2 by chance
        assert r["(old)"] >= r["maps with hotspots (new)"]
        if r["incidents"] <= 1_000:
            assert r["cluster found (new)"] >= 0.8
    assert np.mean([r["maps with hotspots (new)"] for r in rows]) <= 0.05


def test_change_verdicts_hold_their_level():
    rows = {r["scenario"]: r for r in change_scenarios(8, np.random.default_rng(2))}
    null = rows["realistic, no change"]
    assert null["untreated_new"] <= 0.08 and null["cells_new"] <= 0.05
    assert null["untreated_old"] > 0.3  # the exact Poisson test calls ordinary variation significant
    half = rows["realistic, half fall 30 %"]
    assert half["untreated_new"] <= 0.10
    pois = rows["Poisson, half fall 30 %"]
    assert pois["treated_new"] >= 0.9


def test_emerging_null_false_trend_rate():
    r = emerging_null(4, np.random.default_rng(3))
    assert r["corrected"] <= 0.065 and r["uncorrected"] > 0.1
