"""Tests for hotspots.displacement (Weighted Displacement Quotient).

Formulas checked against Guerette (2009), *Analyzing Crime Displacement and Diffusion*, Center for
Problem-Oriented Policing Tool Guide No. 10, Appendix B (GE, NE, WDQ, success and buffer measures,
TNE) and Appendix C (interpretation: WDQ > 0 diffusion, < 0 displacement, < −1 displacement
exceeds the response effect). The examples below are computed by hand from those formulas; no
published table with numbers was available to copy.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots._errors import CRSError, ParameterError
from hotspots.change import periods_around
from hotspots.displacement import WDQResult, wdq, wdq_areas

BEFORE, AFTER = periods_around("2023-07-01")


# ----------------------------------------------------------------------------- hand-computed
def test_complete_displacement():
    # Target halves (100 -> 50), buffer +50 % (100 -> 150), control flat:
    # success = 50/100 - 100/100 = -0.5; buffer = 150/100 - 100/100 = 0.5; WDQ = -1;
    # TNE = (100*1 - 50) + (100*1 - 150) = 0; GE = 50; NE = 1 - 0.5 = 0.5.
    r = wdq(100, 50, 100, 150, 100, 100)
    assert isinstance(r, WDQResult)
    assert (r.success_measure, r.buffer_measure, r.wdq, r.total_net_effect) == (-0.5, 0.5, -1.0, 0.0)
    assert (r.gross_effect, r.net_effect) == (50, 0.5)
    assert "smaller than the gain" in r.interpretation  # exactly -1 is still "not beyond -1"


def test_diffusion_of_benefit():
    # Rb 80 Ra 40 Db 60 Da 45 Cb 200 Ca 220:
    # success = 40/220 - 80/200 = (8000 - 17600)/44000 = -9600/44000
    # buffer  = 45/220 - 60/200 = (9000 - 13200)/44000 = -4200/44000
    # WDQ = 4200/9600 = 0.4375; TNE = (80*1.1 - 40) + (60*1.1 - 45) = 48 + 21 = 69.
    r = wdq(80, 40, 60, 45, 200, 220)
    assert r.success_measure == pytest.approx(-9600 / 44000)
    assert r.buffer_measure == pytest.approx(-4200 / 44000)
    assert r.wdq == pytest.approx(0.4375)
    assert r.total_net_effect == pytest.approx(69)
    assert r.net_effect == pytest.approx(80 / 200 - 40 / 220)
    assert "diffusion of benefit" in r.interpretation and r.interpretable


def test_displacement_outweighs_gain():
    # success = 80/100 - 100/100 = -0.2; buffer = 90/100 - 50/100 = 0.4; WDQ = -2.
    r = wdq(100, 80, 50, 90, 100, 100)
    assert r.wdq == pytest.approx(-2.0)
    assert "outweighs" in r.interpretation
    assert r.total_net_effect == pytest.approx((100 - 80) + (50 - 90))  # -20
    # a ratio of point estimates: the text says it has no test of chance and where to find one
    assert "not a test of chance" in r.interpretation and "hotspots.wdd" in r.interpretation
    # ... and says so first, before any reading a tester could take for a tested one
    assert r.interpretation.startswith("Descriptive only, not a test of chance")


def test_diffusion_larger_than_gain():
    # success = 90/100 - 1 = -0.1; buffer = 70/100 - 1 = -0.3; WDQ = 3.
    r = wdq(100, 90, 100, 70, 100, 100)
    assert r.wdq == pytest.approx(3.0)
    assert "larger than the gain" in r.interpretation


def test_no_success_means_not_interpretable():
    # Target fell 100 -> 90 but control fell more, 100 -> 50: success = 90/50 - 1 = +0.8.
    r = wdq(100, 90, 100, 120, 100, 50)
    assert r.success_measure == pytest.approx(0.8)
    assert math.isnan(r.wdq) and not r.interpretable
    assert "not interpretable" in r.interpretation
    assert r.total_net_effect == pytest.approx((100 * 0.5 - 90) + (100 * 0.5 - 120))


def test_zero_control_counts_rejected():
    with pytest.raises(ParameterError, match="control area has 0"):
        wdq(10, 5, 10, 10, 0, 5)
    with pytest.raises(ParameterError, match="both must be > 0"):
        wdq(10, 5, 10, 10, 5, 0)


def test_negative_or_bad_counts_rejected():
    with pytest.raises(ParameterError, match="`Ra`"):
        wdq(10, -1, 10, 10, 5, 5)
    with pytest.raises(ParameterError, match="`Db`"):
        wdq(10, 1, "many", 10, 5, 5)


@settings(max_examples=100, deadline=None)
@given(*[st.integers(0, 200)] * 4, st.integers(1, 200), st.integers(1, 200))
def test_invariants(rb, ra, db, da, cb, ca):
    r = wdq(rb, ra, db, da, cb, ca)
    # WDQ * success = buffer whenever defined; TNE identity; NaN exactly when success >= 0.
    if r.success_measure < 0:
        assert r.wdq * r.success_measure == pytest.approx(r.buffer_measure, abs=1e-9)
    else:
        assert math.isnan(r.wdq)
    assert r.total_net_effect == pytest.approx(-(r.success_measure + r.buffer_measure) * ca, abs=1e-6)


# ----------------------------------------------------------------------------- from incidents
TARGET = shapely.box(0, 0, 200, 200)
CONTROL = shapely.box(2000, 0, 2400, 400)


def _incidents(spec):
    xs, ys, dates = [], [], []
    for (x, y), date, k in spec:
        xs += [x] * k
        ys += [y] * k
        dates += [date] * k
    return gpd.GeoDataFrame(
        {"occurred": pd.to_datetime(dates)}, geometry=gpd.points_from_xy(xs, ys), crs=27700
    )


SPEC = [
    ((100, 100), "2022-09-01", 40), ((100, 100), "2023-09-01", 20),   # target 40 -> 20
    ((250, 100), "2022-09-01", 10), ((250, 100), "2023-09-01", 15),   # in a 100 m ring: 10 -> 15
    ((450, 100), "2022-09-01", 99), ((450, 100), "2023-09-01", 1),    # outside the ring: ignored
    ((2200, 200), "2022-09-01", 50), ((2200, 200), "2023-09-01", 50),  # control flat
    ((200, 100), "2023-09-01", 2),                                     # on the target edge: target only
]


def test_wdq_areas_with_buffer_distance():
    r = wdq_areas(_incidents(SPEC), TARGET, CONTROL, BEFORE, AFTER, buffer_distance=100)
    assert (r.Rb, r.Ra, r.Db, r.Da, r.Cb, r.Ca) == (40, 22, 10, 15, 50, 50)
    ref = wdq(40, 22, 10, 15, 50, 50)
    assert r.wdq == pytest.approx(ref.wdq) and r.total_net_effect == pytest.approx(ref.total_net_effect)
    assert r.params["buffer_distance_m"] == 100
    assert r.params["target_km2"] == pytest.approx(0.04)
    assert r.params["buffer_km2"] == pytest.approx((shapely.buffer(TARGET, 100).area - TARGET.area) / 1e6)


def test_wdq_areas_with_buffer_polygon_and_geodataframes():
    buf = gpd.GeoSeries([shapely.box(200, 0, 300, 200)], crs=27700)
    tgt = gpd.GeoDataFrame(geometry=[TARGET], crs=27700)
    r = wdq_areas(_incidents(SPEC), tgt, CONTROL, BEFORE, AFTER, buffer=buf)
    assert (r.Db, r.Da) == (10, 15)
    assert r.params["buffer"] == "given polygon"


def test_control_overlapping_buffer_rejected():
    with pytest.raises(ParameterError, match="overlaps the buffer"):
        wdq_areas(_incidents(SPEC), TARGET, shapely.box(250, 0, 600, 200), BEFORE, AFTER, buffer_distance=100)


def test_control_overlapping_target_rejected():
    with pytest.raises(ParameterError, match="overlaps the target"):
        wdq_areas(
            _incidents(SPEC), TARGET, shapely.box(150, 150, 1000, 1000), BEFORE, AFTER, buffer=shapely.box(-300, -300, -200, -200)
        )


def test_buffer_overlapping_target_rejected():
    with pytest.raises(ParameterError, match="overlaps the `target`"):
        wdq_areas(_incidents(SPEC), TARGET, CONTROL, BEFORE, AFTER, buffer=shapely.box(100, 0, 300, 200))


def test_exactly_one_buffer_argument():
    with pytest.raises(ParameterError, match="exactly one"):
        wdq_areas(_incidents(SPEC), TARGET, CONTROL, BEFORE, AFTER)
    with pytest.raises(ParameterError, match="exactly one"):
        wdq_areas(_incidents(SPEC), TARGET, CONTROL, BEFORE, AFTER, buffer=TARGET, buffer_distance=5)
    with pytest.raises(ParameterError, match="`buffer_distance` must be a number of metres greater than 0"):
        wdq_areas(_incidents(SPEC), TARGET, CONTROL, BEFORE, AFTER, buffer_distance=-5)


def test_empty_control_rejected():
    with pytest.raises(ParameterError, match="control area has 0"):
        wdq_areas(_incidents(SPEC), TARGET, shapely.box(5000, 5000, 5100, 5100), BEFORE, AFTER, buffer_distance=100)


def test_geographic_incidents_rejected():
    with pytest.raises(CRSError, match="to_crs"):
        wdq_areas(_incidents(SPEC).set_crs(4326, allow_override=True), TARGET, CONTROL, BEFORE, AFTER, buffer_distance=100)


# ----------------------------------------------------------------------------- demo data
def test_demo_wdq_counts_match_independent_spatial_join():
    from hotspots.demo import generate_demo

    demo = generate_demo(0)
    areas = demo.hotspot_areas()
    treated = areas[areas["treated"]]
    target = shapely.union_all(treated.geometry.values)
    control = shapely.union_all(areas[~areas["treated"]].geometry.values)
    res = wdq_areas(demo.incidents, target, control, BEFORE, AFTER, buffer_distance=400)
    # independent counts with geopandas predicates and the occurred dates
    inc = demo.incidents
    day = inc["occurred"].dt.normalize()
    in_b = (day >= "2022-07-01") & (day <= "2023-06-30")
    in_a = (day >= "2023-07-01") & (day <= "2024-06-30")
    on_t = inc.intersects(target)
    on_d = inc.intersects(shapely.difference(shapely.buffer(target, 400), target)) & ~on_t
    on_c = inc.intersects(control)
    assert (res.Rb, res.Ra) == ((on_t & in_b).sum(), (on_t & in_a).sum())
    assert (res.Db, res.Da) == ((on_d & in_b).sum(), (on_d & in_a).sum())
    assert (res.Cb, res.Ca) == ((on_c & in_b).sum(), (on_c & in_a).sum())
    # the planted 30 % fall shows as success and a net reduction
    assert res.success_measure < 0 and res.total_net_effect > 0 and res.interpretable
