"""Tests for hotspots.distributed: tiles with halos on Dask give the single-machine results.

Skipped when dask is not installed (it is the optional ``dask`` extra). The test on a local
multi-process cluster is marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

dask = pytest.importorskip("dask")

from hotspots._errors import ParameterError  # noqa: E402
from hotspots.density import kde  # noqa: E402
from hotspots.distributed import (  # noqa: E402
    bh_threshold_from_histograms,
    make_tiles,
    tiled_count,
    tiled_gi_star,
    tiled_kde,
)
from hotspots.fdr import fdr_threshold  # noqa: E402
from hotspots.gistar import gi_star  # noqa: E402
from hotspots.grid import Grid, count  # noqa: E402


def points(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.uniform((1000, 1000), (29000, 21000), size=(5, 2))
    k = rng.integers(0, 5, n)
    pts = c[k] + rng.normal(0, 1200, size=(n, 2))
    return np.vstack([pts, rng.uniform((0, 0), (30000, 22000), size=(n // 4, 2))])


@pytest.fixture(scope="module")
def setup():
    xy = points()
    g = Grid.from_bounds((0, 0, 29_999, 21_999), 250)
    yy, xx = np.mgrid[0 : g.n_rows, 0 : g.n_cols]
    mask = ((yy - 40) ** 2 / 45**2 + (xx - 60) ** 2 / 62**2) <= 1.0  # an ellipse: irregular edges
    gm = g.with_mask(mask)
    return xy, g, gm


def test_make_tiles_partition_the_grid():
    for shape, tile in [((10, 7), 3), ((1, 1), 5), ((100, 37), (16, 50))]:
        cover = np.zeros(shape, dtype=int)
        for t in make_tiles(shape, tile):
            cover[t.r0 : t.r1, t.c0 : t.c1] += 1
        assert (cover == 1).all()
    with pytest.raises(ParameterError, match="`tile`"):
        make_tiles((3, 3), 0)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_tiled_count_equals_count(setup, scheduler):
    xy, g, gm = setup
    for grid in (g, gm):
        got = tiled_count([xy[i : i + 1000] for i in range(0, len(xy), 1000)], grid, scheduler=scheduler)
        np.testing.assert_array_equal(got.values, count(xy, grid).values)


@pytest.mark.parametrize("tile", [7, (13, 50), 512])
@pytest.mark.parametrize("distance", [250.0, 700.0, 1500.0])
def test_tiled_gi_star_equals_gi_star(setup, tile, distance):
    xy, _, gm = setup
    c = count(xy, gm)
    want = gi_star(c, distance, inference="normal")  # the tiled engine computes the analytic (normal) p
    got = tiled_gi_star(c, distance, tile=tile, scheduler="threads")
    np.testing.assert_allclose(got.z, want.z, rtol=1e-10, atol=1e-10, equal_nan=True)
    np.testing.assert_allclose(got.p, want.p, rtol=1e-9, atol=1e-14, equal_nan=True)
    np.testing.assert_allclose(got.p_adjusted, want.p_adjusted, rtol=1e-9, atol=1e-14, equal_nan=True)
    np.testing.assert_array_equal(got.bins, want.bins)
    np.testing.assert_array_equal(got.n_neighbours, want.n_neighbours)
    np.testing.assert_array_equal(got.classes, want.classes)
    assert got.params["n_cells"] == want.params["n_cells"] and got.params["neighbours"] == want.params["neighbours"]
    assert (got.bins != 0).any()  # something is significant, so the comparison means something


def test_tiled_gi_star_without_fdr(setup):
    xy, g, _ = setup
    c = count(xy, g)
    want = gi_star(c, 500, fdr=False, inference="normal")
    got = tiled_gi_star(c, 500, fdr=False, tile=40, scheduler="sync")
    assert got.p_adjusted is None
    np.testing.assert_array_equal(got.bins, want.bins)


def test_tiled_gi_star_rejects_short_distance(setup):
    xy, g, _ = setup
    with pytest.raises(ParameterError, match="`distance`"):
        tiled_gi_star(count(xy, g), 100.0, scheduler="sync")


@pytest.mark.parametrize(
    "kernel,bandwidth", [("quartic", 900.0), ("quartic", 180.0), ("gaussian", 400.0), ("epanechnikov", 1300.0)]
)
def test_tiled_kde_equals_kde(setup, kernel, bandwidth):
    import warnings

    xy, _, gm = setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = kde(xy, gm, bandwidth=bandwidth, kernel=kernel)
    # a bandwidth under the cell size is warned about once, by the caller's thread (the tiles, on
    # dask's threads, do not warn: warnings.catch_warnings there was not thread-safe and leaked)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        got = tiled_kde(xy, gm, bandwidth, kernel, tile=(17, 33), scheduler="threads")
    under = bandwidth < gm.cell_size
    assert [str(w.message) for w in seen] == ([got.notes[0]] if under else [])
    assert len(got.notes) == int(under) and all("smaller than the cell size" in n for n in got.notes)
    scale = np.nanmax(want.values)
    np.testing.assert_allclose(got.values, want.values, rtol=1e-8, atol=1e-10 * scale, equal_nan=True)
    assert np.isnan(got.values[~gm.mask]).all()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    m=st.integers(1, 3000),
    strength=st.floats(0.0, 1.0),
    parts=st.integers(1, 5),
    bins=st.sampled_from([1, 2, 7, 64, 4096]),
    alpha=st.sampled_from([0.01, 0.05, 0.1, 0.3]),
)
def test_bh_threshold_from_histograms_equals_fdr_threshold(seed, m, strength, parts, bins, alpha):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=m)
    k = int(strength * m * 0.5)
    p[:k] = rng.uniform(size=k) * 1e-4  # some real signal
    p[rng.random(m) < 0.05] = rng.choice([0.001, 0.02, 0.5])  # ties
    p[rng.random(m) < 0.02] = np.nan  # cells not tested
    p[rng.random(m) < 0.01] = 0.0
    p[rng.random(m) < 0.01] = 1.0
    split = np.array_split(p, parts)
    got = bh_threshold_from_histograms(split, alpha, bins=bins, scheduler="sync")
    assert got == fdr_threshold(p, alpha)


@pytest.mark.slow
def test_local_cluster_gives_single_machine_results(setup):
    distributed = pytest.importorskip("distributed")
    xy, _, gm = setup
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster),
    ):
        c_t = tiled_count(np.array_split(xy, 4), gm)
        gi_t = tiled_gi_star(c_t, 700.0, tile=32)
        kde_t = tiled_kde(xy, gm, 900.0, tile=32)
        thr = bh_threshold_from_histograms(np.array_split(gi_t.p[gm.mask], 3), 0.05, bins=256)
    c = count(xy, gm)
    np.testing.assert_array_equal(c_t.values, c.values)
    gi = gi_star(c, 700.0, inference="normal")
    np.testing.assert_allclose(gi_t.z, gi.z, rtol=1e-10, atol=1e-10, equal_nan=True)
    np.testing.assert_array_equal(gi_t.bins, gi.bins)
    np.testing.assert_allclose(kde_t.values, kde(xy, gm, bandwidth=900.0).values, rtol=1e-8, atol=1e-12, equal_nan=True)
    assert thr == fdr_threshold(gi.p, 0.05)
