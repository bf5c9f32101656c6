"""The one-call pipeline: settings flow through to every step, results agree with direct calls."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots import ParameterError, count, gi_star
from hotspots.analysis import Settings, analyse, filter_period, parse_period
from hotspots.demo import generate_demo
from hotspots.gazetteer import default_study_area


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
    a = analyse(demo.incidents, settings=Settings(cell_size=1000, distance=2000, bandwidth=1500, cluster_method="none", period=("2024-01", "2024-12")))
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
