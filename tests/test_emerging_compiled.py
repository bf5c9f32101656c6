"""The compiled loops of the emerging hot spot analysis (hotspots.emerging_compiled) give their numpy
twins' numbers exactly: Mann-Kendall's S, tie term and count against a pair-by-pair reference, and
whole emerging hot spot analyses with and without numba (time windows 0, 1 and 2)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from hotspots import emerging_compiled
from hotspots.emerging import emerging_hotspots
from hotspots.grid import Grid
from hotspots.trend import mann_kendall_many


@pytest.fixture(params=["compiled", "numpy"])
def mk_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the numba loops (skipped when numba is missing) and with the numpy versions."""
    if request.param == "compiled" and emerging_compiled.compiled_loops() is None:
        pytest.skip("numba not installed")
    monkeypatch.setattr(emerging_compiled, "USE_NUMBA", request.param == "compiled")
    return request.param


def _reference_scores(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair by pair and group by group, in Python."""
    S, tie, n = [], [], []
    for row in x:
        S.append(sum(int(np.sign(b - a)) for a, b in itertools.combinations(row, 2) if not np.isnan(b - a)))
        kept = row[~np.isnan(row)]
        _, sizes = np.unique(kept, return_counts=True)
        tie.append(float(sum(t * (t - 1) * (2 * t + 5) for t in sizes)))
        n.append(kept.size)
    return np.array(S, dtype=np.int64), np.array(tie), np.array(n, dtype=np.int64)


def _series(seed: int, n: int = 40, T: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, T)).astype(float)  # few values: many ties
    x[: n // 4] = rng.normal(size=(n // 4, T))  # no ties
    x[n // 4 : n // 2] = 0.0  # all tied
    x[rng.random((n, T)) < 0.15] = np.nan
    x[-1] = np.nan  # nothing left
    x[-2, 2:] = np.nan  # two values left
    x[-3] = [-0.0, 0.0] * (T // 2) + [0.0] * (T % 2)  # signed zeros are equal
    return x


@pytest.mark.parametrize("seed", range(4))
def test_mann_kendall_scores_equal_the_pair_by_pair_reference(mk_engine, seed):
    x = _series(seed)
    ref = _reference_scores(x)
    loops = emerging_compiled.compiled_loops()
    if loops is not None:
        got = loops.mk_scores(np.ascontiguousarray(x))
        for a, b in zip(got, ref):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    r = mann_kendall_many(x, slope=False)
    np.testing.assert_array_equal(r.S, ref[0].astype(float))
    np.testing.assert_array_equal(r.n, ref[2])
    assert r.S[: len(x) // 4].any() and (r.S[len(x) // 4 : len(x) // 2] == 0).all()


def test_mann_kendall_results_do_not_depend_on_the_engine(monkeypatch):
    if emerging_compiled.compiled_loops() is None:
        pytest.skip("numba not installed")
    x = np.asfortranarray(_series(7, n=200, T=24))  # a transposed layout, as the trend of a cube's cells is
    out = {}
    for use in (True, False):
        monkeypatch.setattr(emerging_compiled, "USE_NUMBA", use)
        out[use] = mann_kendall_many(x, slope=False, variance_factor=np.linspace(1.0, 2.0, 200))
    for name in ("S", "var_S", "z", "p", "tau", "n"):
        np.testing.assert_array_equal(getattr(out[True], name), getattr(out[False], name))
    np.testing.assert_array_equal(out[True].trend, out[False].trend)


def _incidents(grid: Grid, counts: np.ndarray) -> gpd.GeoDataFrame:
    tt, rr, cc = np.nonzero(counts)
    reps = counts[tt, rr, cc].astype(int)
    tt, rr, cc = np.repeat(tt, reps), np.repeat(rr, reps), np.repeat(cc, reps)
    months = pd.period_range("2022-01", periods=counts.shape[0], freq="M").to_timestamp()
    return gpd.GeoDataFrame({"month": months[tt]}, geometry=gpd.points_from_xy(grid.x_centres[cc], grid.y_centres[rr]),
                            crs=27700)


@pytest.mark.parametrize("time_window", [0, 1, 2])
def test_emerging_hot_spots_are_the_same_with_and_without_numba(monkeypatch, time_window):
    if emerging_compiled.compiled_loops() is None:
        pytest.skip("numba not installed")
    rng = np.random.default_rng(time_window)
    T, nr, nc = 14, 9, 8
    counts = rng.poisson(1.5, size=(T, nr, nc))
    counts[:, 2:4, 2:4] += rng.poisson(np.linspace(1, 9, T))[:, None, None]  # a growing hotspot
    counts[:, 6:8, 5:7] += 12
    grid = Grid.from_bounds((0, 0, nc * 100.0 - 1, nr * 100.0 - 1), 100.0)
    mask = np.ones(grid.shape, dtype=bool)
    mask[0, :3] = mask[-1, -2:] = False
    grid = grid.with_mask(mask)
    inc = _incidents(grid, counts)
    res = {}
    for use in (True, False):
        monkeypatch.setattr(emerging_compiled, "USE_NUMBA", use)
        res[use] = emerging_hotspots(inc, grid, distance=150.0, time_window=time_window)
    a, b = res[True], res[False]
    np.testing.assert_array_equal(a.categories, b.categories)
    np.testing.assert_array_equal(a.labels, b.labels)
    for name in ("z", "p", "trend_z", "trend_p", "count_trend_z", "count_trend_p"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.trend, b.trend)
    assert (a.hot_cold != 0).any() and (a.trend == "up").any()
