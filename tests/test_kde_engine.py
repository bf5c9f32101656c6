"""Tests for hotspots.kde_engine: DensityStream over chunks equals the one-shot sum, counts, merge.

The one-shot sum (:func:`kernel_sum`, what :func:`hotspots.density.kde` uses) is itself checked
against scikit-learn and brute force in tests/test_density.py; here every streamed variant must
equal it to 1e-9 relative, and a brute-force sum directly.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from scipy.spatial import cKDTree

from hotspots._errors import ParameterError
from hotspots.grid import Grid, count
from hotspots.kde_engine import DensityStream, kernel_sum, norm_const

X0, Y0 = 430_000.0, 340_000.0


def points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(500, 5500, (4, 2))
    pts = centres[rng.integers(0, 4, n)] + rng.normal(0, 350, (n, 2))
    pts[: n // 10] = rng.uniform(-800, 6800, (n // 10, 2))  # some beyond the grid
    pts[n // 10 : n // 10 + n // 20] = pts[n // 10]  # a snap point
    return pts + [X0, Y0]


def brute(xy, grid, h, kernel, w=None):
    w = np.ones(len(xy)) if w is None else w
    c = grid.centres()
    tree = cKDTree(xy)
    out = np.zeros(len(c))
    for i, nb in enumerate(tree.query_ball_point(c, h * (7.0 if kernel == "gaussian" else 1.0))):
        if nb:
            r2 = ((xy[nb] - c[i]) ** 2).sum(axis=1) / h**2
            k = {"quartic": np.clip(1 - r2, 0, None) ** 2, "epanechnikov": np.clip(1 - r2, 0, None),
                 "gaussian": np.exp(-r2 / 2) * (np.abs(xy[nb] - c[i]).max(axis=1) <= 6 * h)}[kernel]
            out[i] = (k * w[nb]).sum()
    return out.reshape(grid.shape)


@pytest.fixture(scope="module")
def grid():
    return Grid.from_bounds((X0, Y0, X0 + 5999, Y0 + 5999), 100)


@pytest.mark.parametrize("kernel, h", [("quartic", 450.0), ("epanechnikov", 300.0), ("quartic", 130.0), ("gaussian", 200.0)])
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_stream_equals_one_shot_and_brute_force(grid, kernel, h, chunk, engine):
    xy = points(1500, seed=1)
    stream = DensityStream(grid, h, kernel)
    k = math.ceil(len(xy) / chunk)
    for i in range(0, len(xy), k):
        stream.add(xy[i : i + k])
    got, path = stream.result()
    want, _ = kernel_sum(xy, None, grid, h, kernel)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * want.max())
    ref = brute(xy, grid, h, kernel)
    np.testing.assert_allclose(got, ref, rtol=1e-9 if kernel != "gaussian" else 1e-6, atol=1e-9 * ref.max())
    assert stream.n_points == len(xy) and stream.chunks == math.ceil(len(xy) / k)
    assert path.startswith("stream") if stream.chunks > 1 else not path.startswith("stream")


@pytest.mark.parametrize("kernel", ["quartic", "epanechnikov"])
def test_stream_counts_equal_grid_count_and_x_y_pairs_work(grid, kernel, engine):
    xy = points(3000, seed=2)
    # float32 coordinates, given as (x, y) pairs, as the Parquet reader hands them over
    x32, y32 = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    stream = DensityStream(grid, 400.0, kernel, count=True)
    for i in range(0, len(xy), 700):
        stream.add((x32[i : i + 700], y32[i : i + 700]))
    got, _ = stream.result()
    xy32 = np.column_stack([x32, y32]).astype(float)
    np.testing.assert_array_equal(stream.counts, count(xy32, grid).values)
    np.testing.assert_allclose(got, kernel_sum(xy32, None, grid, 400.0, kernel)[0], rtol=1e-9, atol=1e-12)


def test_counts_match_on_cell_edges(grid):
    # Points exactly on cell boundaries are counted where Grid.cell_of puts them.
    xs = X0 + 100.0 * np.arange(0, 60)
    xy = np.column_stack([xs, np.full(60, Y0 + 1200.0)])
    stream = DensityStream(grid, 300.0, "quartic", count=True)
    stream.add(xy)
    np.testing.assert_array_equal(stream.counts, count(xy, grid).values)


def test_weighted_stream(grid):
    xy = points(1200, seed=3)
    w = np.random.default_rng(4).gamma(2.0, 1.0, len(xy))
    stream = DensityStream(grid, 350.0, "quartic", count=True)
    for i in range(0, len(xy), 500):
        stream.add(xy[i : i + 500], w[i : i + 500])
    got, _ = stream.result()
    np.testing.assert_allclose(got, brute(xy, grid, 350.0, "quartic", w), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stream.counts, count(xy, grid, weights=w).values, rtol=1e-12)
    assert stream.total_weight == pytest.approx(w.sum())


def test_partials_merge_to_the_whole(grid):
    xy = points(2000, seed=5)
    whole = DensityStream(grid, 500.0, "quartic", count=True)
    whole.add(xy[:1000])
    whole.add(xy[1000:])
    merged = DensityStream(grid, 500.0, "quartic", count=True)
    for part in (xy[:600], xy[600:1300], xy[1300:]):
        s = DensityStream(grid, 500.0, "quartic", count=True)
        s.add(part)
        merged.merge(s.partial())
    np.testing.assert_array_equal(merged.counts, whole.counts)
    np.testing.assert_allclose(merged.result()[0], whole.result()[0], rtol=1e-12, atol=1e-12)
    assert merged.n_points == len(xy) and merged.chunks == 3


def test_merge_refuses_a_different_stream(grid):
    s = DensityStream(grid, 500.0, "quartic")
    s.add(points(50, 1))
    t = DensityStream(grid, 500.0, "quartic", count=True)
    t.add(points(50, 2))
    with pytest.raises(ParameterError, match="counts"):
        s.merge(t.partial())


def test_concurrent_adds_give_the_same_surface(grid):
    xy = points(20_000, seed=6)
    serial = DensityStream(grid, 400.0, "quartic", count=True, threads=False)
    for i in range(0, len(xy), 2500):
        serial.add(xy[i : i + 2500])
    par = DensityStream(grid, 400.0, "quartic", count=True, threads=False)
    threads = [threading.Thread(target=lambda a=i: par.add(xy[a : a + 2500])) for i in range(0, len(xy), 2500)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(par.counts, serial.counts)
    np.testing.assert_allclose(par.result()[0], serial.result()[0], rtol=1e-12, atol=1e-12)


def test_empty_stream_and_norm_const(grid):
    s = DensityStream(grid, 300.0, "epanechnikov")
    out, path = s.result()
    assert path == "none" and out.shape == grid.shape and not out.any()
    # the constants make each kernel integrate to 1 over the plane
    for kernel, h in [("quartic", 700.0), ("epanechnikov", 700.0), ("gaussian", 250.0)]:
        r = np.linspace(0, 7 * h, 200_001)
        prof = {"quartic": np.clip(1 - (r / h) ** 2, 0, None) ** 2, "epanechnikov": np.clip(1 - (r / h) ** 2, 0, None),
                "gaussian": np.exp(-0.5 * (r / h) ** 2)}[kernel]
        assert norm_const(kernel, h) * np.trapezoid(prof * 2 * np.pi * r, r) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("c_sparse, path", [(0.0, "stream (cells)"), (1e9, "stream (fft)")])
def test_parallel_row_bands_equal_the_one_shot_sum(grid, monkeypatch, c_sparse, path):
    """Chunks binned in parallel bands of rows (``cell_pass_bands``), then the interior from the
    moments cell by cell (``interior_from_moments``, also in bands) or by FFT: the one-shot sum."""
    import hotspots.kde_engine as ke

    monkeypatch.setattr(ke, "_PARALLEL_POINTS", 100)  # every chunk on all threads
    monkeypatch.setattr(ke, "_C_SPARSE", c_sparse)  # 0: the sparse interior always wins; huge: FFT
    xy = points(3000, seed=2)
    stream = DensityStream(grid, 450.0, "quartic")
    stream.add(xy[:1500])
    stream.add(xy[1500:])
    got, used = stream.result()
    want, _ = kernel_sum(xy, None, grid, 450.0, "quartic")
    assert used == path
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * want.max())


def test_chunks_added_band_by_band_equal_one_pass_exactly(grid, monkeypatch):
    """One thread adding chunks band by band (the locking used when threads add at once) makes
    the same sums in the same order as one pass over all rows: bitwise equal."""
    import hotspots.kde_engine as ke

    xy = points(12_000, seed=9)
    out = {}
    for bands in (1, 32):
        monkeypatch.setattr(ke, "_BANDS", bands)
        s = DensityStream(grid, 400.0, "quartic", count=True, threads=False)
        for i in range(0, len(xy), 3000):
            s.add(xy[i : i + 3000])
        out[bands] = (s.result()[0], s.counts.copy(), len(s._bands) - 1)
    assert out[1][2] == 1 and out[32][2] > 4  # one band, then several
    np.testing.assert_array_equal(out[32][0], out[1][0])
    np.testing.assert_array_equal(out[32][1], out[1][1])
