"""Tests for hotspots.targeting (PAI, PEI, RRI)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from hotspots._errors import ParameterError
from hotspots.grid import Grid, GridValues
from hotspots.targeting import pai, pei, rri, targeting_metrics, top_cells


def _grid(mask=None):
    return Grid.from_bounds((0, 0, 299, 299), 100, mask=mask)  # 3 x 3 cells of 100 m = 0.01 km²


def _gv(values, grid):
    v = np.array(values, dtype=float)
    if grid.mask is not None:
        v[~grid.mask] = np.nan
    return GridValues(v, grid, name="count")


EVAL = [[5, 0, 1], [2, 8, 0], [0, 1, 3]]  # N = 20
EARLIER = [[4, 1, 0], [1, 2, 1], [0, 0, 1]]  # N1 = 10
FLAGGED = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1]], dtype=bool)  # n = 5 + 3 = 8 ; n1 = 4 + 1 = 5


# ----------------------------------------------------------------------------- hand-computed
def test_hand_example_all_three_metrics():
    g = _grid()
    r = targeting_metrics(FLAGGED, _gv(EVAL, g), earlier=_gv(EARLIER, g))
    assert (r.n, r.N, r.n_cells, r.total_cells) == (8, 20, 2, 9)
    assert r.a_km2 == pytest.approx(0.02) and r.A_km2 == pytest.approx(0.09)
    assert r.hit_rate == pytest.approx(0.4)
    assert r.pai == pytest.approx((8 / 20) / (2 / 9))  # 1.8
    assert r.pai == pytest.approx(1.8)
    assert r.n_star == 13  # busiest two cells: 8 + 5
    assert r.pei == pytest.approx(8 / 13)
    assert r.rri == pytest.approx((8 / 5) / (20 / 10))  # 0.8
    assert (r.n_earlier, r.N_earlier) == (5, 10)


def test_perfect_choice_has_pei_one():
    g = _grid()
    best = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=bool)  # the 8 and the 5
    assert targeting_metrics(best, _gv(EVAL, g)).pei == pytest.approx(1.0)


def test_ptools_documentation_example():
    # ptools::pai example data (Wheeler): obs 6,7,3,2,1,0 on six unit areas, prediction flags the
    # first area. PAI = (6/19)/(1/6); the perfect single area holds 7, so PEI = 6/7.
    g = Grid.from_bounds((0, 0, 599, 99), 100)  # 1 x 6
    counts = _gv([[6, 7, 3, 2, 1, 0]], g)
    flagged = np.array([[True, False, False, False, False, False]])
    r = targeting_metrics(flagged, counts)
    assert r.pai == pytest.approx((6 / 19) / (1 / 6))
    assert r.pei == pytest.approx(6 / 7)


def test_study_area_mask_excludes_outside_cells():
    area = shapely.box(0, 0, 300, 300).difference(shapely.box(200, 200, 300, 300))  # drop NE cell (row 0, col 2)
    g = _grid(mask=area)
    assert g.n_cells == 8
    flagged = FLAGGED.copy()
    flagged[0, 2] = True  # outside the area: ignored
    r = targeting_metrics(flagged, _gv(EVAL, g))
    assert r.flagged_outside_area == 1
    assert (r.n, r.N, r.n_cells, r.total_cells) == (8, 19, 2, 8)
    assert r.pai == pytest.approx((8 / 19) / (2 / 8))


def test_scalar_functions():
    assert pai(30, 100, 2, 100) == pytest.approx(15.0)
    assert pei(8, 13) == pytest.approx(8 / 13)
    assert rri(8, 5, 20, 10) == pytest.approx(0.8)
    assert np.isnan(rri(8, 0, 20, 10))


def test_zero_incidents_gives_nan_not_error():
    g = _grid()
    r = targeting_metrics(FLAGGED, _gv(np.zeros((3, 3)), g))
    assert np.isnan(r.pai) and np.isnan(r.pei)


# ----------------------------------------------------------------------------- check inputs
def test_nothing_flagged_is_an_error():
    g = _grid()
    with pytest.raises(ParameterError, match="no cell"):
        targeting_metrics(np.zeros((3, 3), dtype=bool), _gv(EVAL, g))


def test_wrong_mask_shape():
    g = _grid()
    with pytest.raises(ParameterError, match="shape"):
        targeting_metrics(np.ones((2, 2), dtype=bool), _gv(EVAL, g))


def test_different_grids_rejected():
    g = _grid()
    other = Grid.from_bounds((0, 0, 299, 299), 50)
    with pytest.raises(ParameterError, match="different grid"):
        targeting_metrics(FLAGGED, _gv(EVAL, g), earlier=GridValues(np.zeros(other.shape), other))


def test_scalar_validation():
    with pytest.raises(ParameterError, match="cannot exceed"):
        pai(10, 5, 1, 2)
    with pytest.raises(ParameterError, match="non-negative"):
        rri(-1, 1, 1, 1)


# ----------------------------------------------------------------------------- top_cells
def test_top_cells_by_share_and_n():
    g = _grid()
    v = _gv(EVAL, g)
    m = top_cells(v, n=2)
    assert m.sum() == 2 and m[1, 1] and m[0, 0]
    assert top_cells(v, share=1 / 9).sum() == 1
    with pytest.raises(ParameterError, match="exactly one"):
        top_cells(v)


# ----------------------------------------------------------------------------- properties
@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=9, max_size=9), st.lists(st.booleans(), min_size=9, max_size=9))
def test_invariants(counts, flags):
    g = _grid()
    flagged = np.array(flags).reshape(3, 3)
    if not flagged.any():
        return
    r = targeting_metrics(flagged, _gv(np.array(counts).reshape(3, 3), g))
    if r.N > 0:
        assert 0 <= r.hit_rate <= 1
        assert 0 <= r.pai <= 1 / r.area_share + 1e-12  # PAI can be at most 1/(a/A)
    if r.n_star > 0:
        assert 0 <= r.pei <= 1
    assert r.n <= r.n_star
