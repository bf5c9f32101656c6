"""Tests for hotspots.kde_compiled: the parallel and sparse loops equal the serial ones."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots.grid import Grid
from hotspots.kde_compiled import EPANECHNIKOV_ORDER, QUARTIC_ORDER, compiled_loops
from hotspots.kde_engine import DensityStream, kernel_sum

loops = compiled_loops()
pytestmark = pytest.mark.skipif(loops is None, reason="numba not installed")


def test_unrolled_moment_orders_are_the_engines():
    # cell_rows' unrolled moments assume the engine's order of terms; a change must be noticed.
    import hotspots.kde_engine as eng

    for kernel, order in (("quartic", QUARTIC_ORDER), ("epanechnikov", EPANECHNIKOV_ORDER)):
        np.testing.assert_array_equal(eng._poly_plan(kernel, 300.0, 100.0)[6], order)


def _streamed(grid: Grid, xy: np.ndarray, kernel: str, *, threads: bool) -> DensityStream:
    """A 600 m count stream over ``grid`` fed ``xy`` in chunks of 20,000 points."""
    s = DensityStream(grid, 600.0, kernel, count=True, threads=threads)
    for i in range(0, len(xy), 20_000):
        s.add(xy[i : i + 20_000])
    return s


@pytest.mark.parametrize("kernel", ["quartic", "epanechnikov"])
def test_banded_parallel_pass_and_sparse_interior_equal_direct(kernel, monkeypatch):
    import hotspots.kde_engine as eng

    rng = np.random.default_rng(0)
    grid = Grid.from_bounds((400_000, 300_000, 420_000 - 1, 320_000 - 1), 100)
    xy = rng.normal([410_000, 310_000], 3000, (60_000, 2))
    want, _ = kernel_sum(xy, None, grid, 600.0, kernel, method="direct")
    # bands of rows in parallel (every chunk above the threshold) and the sparse interior
    monkeypatch.setattr(eng, "_PARALLEL_POINTS", 1)
    monkeypatch.setattr(eng, "_C_SPARSE", 0.0)
    s = _streamed(grid, xy, kernel, threads=True)
    got, path = s.result()
    assert path == "stream (cells)"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * want.max())
    # and the FFT interior
    monkeypatch.setattr(eng, "_C_SPARSE", 1.0)
    s2 = _streamed(grid, xy, kernel, threads=False)
    got2, path2 = s2.result()
    assert path2 == "stream (fft)"
    # the FFT path sets values under its round-off floor (1e-12 x the summed weight) to 0
    np.testing.assert_allclose(got2, want, rtol=1e-9, atol=1e-12 * len(xy))
    np.testing.assert_array_equal(s.counts, s2.counts)
