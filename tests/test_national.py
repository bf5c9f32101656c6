"""Tests for hotspots.national: the batch path for very large point sets.

Everything is checked against the ordinary engine calls (count, kde, gi_star) or a brute-force
computation on small inputs; no timings are asserted.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from hotspots._errors import InputError, ParameterError
from hotspots.density import kde
from hotspots.gistar import gi_star
from hotspots.grid import Grid, count
from hotspots.national import (
    ENGLAND_WALES_BOUNDS,
    count_chunks,
    data_mask,
    iter_xy_parquet,
    national_grid,
    police_uk_to_parquet,
    read_xy_parquet,
    run_national,
    write_points_parquet,
)


def blobs(n: int, seed: int = 0, bounds=(400_000, 300_000, 450_000, 350_000)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    centres = rng.uniform((x0, y0), (x1, y1), size=(6, 2))
    k = rng.integers(0, 6, n)
    pts = centres[k] + rng.normal(0, 1500, size=(n, 2))
    bg = rng.uniform((x0, y0), (x1, y1), size=(n // 5, 2))
    return np.vstack([pts, bg])


# =========================================================================== grid
def test_national_grid_covers_england_and_wales_at_250m():
    g = national_grid(250)
    assert g.shape == (2613, 2297)
    assert g.n_rows * g.n_cols == 6_002_061
    assert g.xmin <= ENGLAND_WALES_BOUNDS[0] and g.xmax >= ENGLAND_WALES_BOUNDS[2]
    assert g.ymin <= ENGLAND_WALES_BOUNDS[1] and g.ymax >= ENGLAND_WALES_BOUNDS[3]
    # Berwick-upon-Tweed (northernmost E&W town) and St Mary's, Scilly, fall on the grid.
    _, _, on = g.cell_of(np.array([[399_700.0, 652_900.0], [90_500.0, 10_500.0]]))
    assert on.all()


# =========================================================================== Parquet
def test_parquet_round_trip_float32_and_float64(tmp_path):
    xy = blobs(5000)
    months = np.repeat(np.array(["2025-01"]), len(xy))
    p32 = write_points_parquet(tmp_path / "a.parquet", xy, columns={"month": months}, float32=True)
    back = read_xy_parquet(p32)
    assert back.dtype == np.float64 and back.shape == xy.shape
    assert np.array_equal(back, xy.astype(np.float32).astype(np.float64))
    assert np.abs(back - xy).max() < 0.04  # float32 resolution at ~450 km: 1/32 m
    p64 = write_points_parquet(tmp_path / "b.parquet", xy)  # float64 by default: the points exactly
    assert np.array_equal(read_xy_parquet(p64), xy)
    chunks = list(iter_xy_parquet(p64, batch_rows=1000))
    assert [len(c) for c in chunks] == [1000] * 6
    assert np.array_equal(np.vstack(chunks), xy)


def test_parquet_without_xy_is_input_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"lon": [1.0], "lat": [2.0]}), tmp_path / "c.parquet")
    with pytest.raises(InputError, match="`x`.*`y`"):
        read_xy_parquet(tmp_path / "c.parquet")
    (tmp_path / "d.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        read_xy_parquet(tmp_path / "d.parquet")


def test_write_rejects_misaligned_column(tmp_path):
    with pytest.raises(ParameterError, match="`month`"):
        write_points_parquet(tmp_path / "e.parquet", blobs(100), columns={"month": ["2025-01"]})


# =========================================================================== counting
@pytest.mark.parametrize("chunk", [1, 997, 10_000, 100_000])
def test_count_chunks_equals_count(chunk):
    xy = blobs(20_000)
    # Points beyond the grid too.
    xy = np.vstack([xy, [[0.0, 0.0], [900_000.0, 900_000.0]]])
    g = Grid.from_bounds((400_000, 300_000, 450_000, 350_000), 500)
    mask = np.zeros(g.shape, dtype=bool)
    mask[10:80, 5:90] = True
    gm = g.with_mask(mask)
    for grid in (g, gm):
        want = count(xy, grid)
        got = count_chunks((xy[i : i + chunk] for i in range(0, len(xy), chunk)), grid)
        np.testing.assert_array_equal(got.values, want.values)
        assert {k: v for k, v in got.params.items() if k != "chunks"} == want.params
        assert got.params["chunks"] == -(-len(xy) // chunk)


def test_count_chunks_with_weights():
    xy = blobs(3000)
    w = np.random.default_rng(3).uniform(0, 2, len(xy))
    g = Grid.from_bounds((400_000, 300_000, 450_000, 350_000), 1000)
    got = count_chunks([xy[:1000], xy[1000:]], g, weights=[w[:1000], w[1000:]])
    np.testing.assert_allclose(got.values, count(xy, g, weights=w).values, rtol=1e-12)
    with pytest.raises(ParameterError, match="fewer chunks"):
        count_chunks([xy[:1000], xy[1000:]], g, weights=[w[:1000]])


# =========================================================================== data mask
def brute_mask(values: np.ndarray, grid: Grid, radius: float) -> np.ndarray:
    occ = np.nan_to_num(values) > 0
    xc, yc = np.meshgrid(grid.x_centres, grid.y_centres)
    centres = np.column_stack([xc.ravel(), yc.ravel()])
    tree = cKDTree(centres[occ.ravel()])
    d, _ = tree.query(centres, k=1)
    return (d <= radius * (1 + 1e-9)).reshape(grid.shape)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    radius=st.sampled_from([0.0, 100.0, 250.0, 300.0, 707.2, 1000.0, 2250.0]),
    density=st.floats(0.001, 0.2),
)
def test_data_mask_equals_brute_force(seed, radius, density):
    rng = np.random.default_rng(seed)
    g = Grid.from_bounds((0, 0, 9_999, 7_999), 250)
    vals = (rng.random(g.shape) < density).astype(float) * rng.integers(1, 5, g.shape)
    if not (vals > 0).any():
        vals[3, 4] = 1
    got = data_mask(vals, radius, cell_size=250)
    np.testing.assert_array_equal(got, brute_mask(vals, g, radius))


def test_data_mask_checks_inputs():
    with pytest.raises(ParameterError, match="`cell_size`"):
        data_mask(np.ones((3, 3)), 100)
    with pytest.raises(ParameterError, match="`radius`"):
        data_mask(np.ones((3, 3)), -1, cell_size=10)


# =========================================================================== the batch run
def test_run_national_equals_engine_calls(tmp_path):
    xy = blobs(30_000, seed=2)
    path = write_points_parquet(tmp_path / "p.parquet", xy, float32=False)
    bounds = (380_000, 280_000, 470_000, 370_000)
    # Small chunks: the points are streamed in 5 chunks by 2 threads.
    res = run_national(path, cell_size=500, bounds=bounds, mask_radius=1500, bandwidth=1200, distance=1100, batch_rows=7_500)
    grid0 = Grid.from_bounds(bounds, 500)
    c0 = count(xy, grid0)
    from hotspots.footprint import GAP_M, cells_within_reach

    near = brute_mask(c0.values, grid0, 1500)
    # within 1,500 m of an incident, less the empty ground beyond the outermost incidents (analyse's rule)
    mask = cells_within_reach(c0.values > 0, near, 500, GAP_M)
    assert 0 < mask.sum() < near.sum()
    np.testing.assert_array_equal(res.grid.mask, mask)
    gm = grid0.with_mask(mask)
    want_counts = count(xy, gm)
    np.testing.assert_array_equal(res.counts.values, want_counts.values)
    assert res.counts.params["points_outside_area"] == want_counts.params["points_outside_area"]
    want_kde = kde(xy, gm, bandwidth=1200)
    np.testing.assert_allclose(res.density.values, want_kde.values, rtol=1e-9, atol=1e-12, equal_nan=True)
    want_gi = gi_star(want_counts, 1100)
    np.testing.assert_allclose(res.gistar.z, want_gi.z, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(res.gistar.bins, want_gi.bins)
    np.testing.assert_allclose(res.gistar.p_adjusted, want_gi.p_adjusted, rtol=1e-12, equal_nan=True)
    assert set(res.timings) == {"strays", "stream", "read (overlapped)", "count + bin (overlapped, summed over threads)", "mask",
                                "density", "gi_star", "fdr (also inside gi_star)"}
    assert all(v >= 0 for v in res.timings.values())
    assert set(res.cpu_s) == {"strays", "stream", "mask", "density", "gi_star"} and all(v >= 0 for v in res.cpu_s.values())
    assert res.total_seconds == pytest.approx(sum(res.timings[k] for k in ("strays", "stream", "mask", "density", "gi_star")))
    assert res.params["strays"]["points_left_out"] == 0
    assert res.params["n_points"] == len(xy) and res.params["cells_in_area"] == int(mask.sum())
    assert res.density.params["chunks"] == 5 and res.density.params["method"].startswith("stream")
    assert "study area built from the data" in res.notes[0]
    assert res.peak_rss_mb["gi_star"] >= res.peak_rss_mb["stream"] > 0


def test_run_national_from_array_without_mask_or_steps():
    xy = blobs(5000, seed=4)
    res = run_national(xy, cell_size=1000, bounds=None, mask_radius=None, do_kde=False, do_gistar=False, batch_rows=999)
    assert res.density is None and res.gistar is None and res.grid.mask is None
    np.testing.assert_array_equal(res.counts.values, count(xy, res.grid).values)
    assert res.counts.total == len(xy)


def test_run_national_counts_points_off_the_grid_and_streams_one_thread():
    xy = blobs(4000, seed=5)
    bounds = (410_000, 310_000, 440_000, 340_000)  # part of the points fall off this grid
    res = run_national(xy, cell_size=500, bounds=bounds, mask_radius=None, bandwidth=800, distance=900, threads=1,
                       batch_rows=1000)
    want = count(xy, Grid.from_bounds(bounds, 500))
    np.testing.assert_array_equal(res.counts.values, want.values)
    assert res.counts.params["points_off_grid"] == want.params["points_off_grid"] > 0
    # points off the grid still reach it through the kernel (points_outside_area="include")
    np.testing.assert_allclose(res.density.values, kde(xy, res.grid, 800).values, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("inference, permutations", [("auto", 0), ("permutation", 99), ("normal", 0)])
def test_run_national_inference_matches_gi_star(inference, permutations):
    xy = blobs(3000, seed=6)
    bounds = (400_000, 300_000, 450_000, 350_000)
    res = run_national(xy, cell_size=2000, bounds=bounds, mask_radius=None, bandwidth=3000, distance=4100,
                       inference=inference, permutations=permutations, seed=3)
    want = gi_star(count(xy, res.grid), 4100, inference=inference, permutations=permutations, seed=3)
    np.testing.assert_array_equal(res.gistar.bins, want.bins)
    np.testing.assert_allclose(res.gistar.p, want.p)
    assert res.params["inference"] == inference
    assert res.params["inference_used"] == want.params["inference"]
    assert set(want.notes) <= set(res.notes)


def test_the_default_distance_follows_the_cell_size_and_a_short_one_is_still_refused():
    """``national --cell-size 2000`` failed unless ``--distance`` was given ("`--distance` 750 m is
    shorter than the cell size (2000 m)"): the default band is 750 m, or cell size x sqrt(2) (the
    8 surrounding cells, analyse's fallback band) when that is longer."""
    from hotspots.national import national_distance
    from hotspots.neighbours import fallback_distance

    assert national_distance(250) == 750.0 and national_distance(500) == 750.0
    assert national_distance(1000) == pytest.approx(1414.2136, abs=1e-3) == fallback_distance(1000)
    xy = blobs(3000, seed=6)
    bounds = (400_000, 300_000, 450_000, 350_000)
    res = run_national(xy, cell_size=2000, bounds=bounds, mask_radius=None, bandwidth=3000, do_kde=False)
    assert res.params["distance_m"] == pytest.approx(2000 * 2**0.5)
    np.testing.assert_array_equal(res.gistar.bins, gi_star(count(xy, res.grid), 2000 * 2**0.5).bins)
    with pytest.raises(ParameterError, match="shorter than the cell size"):
        run_national(xy, cell_size=2000, bounds=bounds, mask_radius=None, bandwidth=3000, do_kde=False, distance=750)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"inference": "bayes"}, "inference"), ({"kernel": "box"}, "kernel"), ({"cell_size": 0}, "cell_size"),
     ({"bandwidth": -1}, "bandwidth"), ({"distance": float("nan")}, "distance")],
)
def test_run_national_rejects_bad_settings(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        run_national(blobs(100), **kwargs)


def test_police_uk_to_parquet_groups_by_force(tmp_path):
    from hotspots.io import load_police_uk
    from hotspots.schema import POLICE_UK_COLUMNS

    head = ",".join(POLICE_UK_COLUMNS)
    rows = {
        "2025-01-alpha-street.csv": [",2025-01,A,A,-1.47,52.92,x,,,Anti-social behaviour,,",
                                     "id1,2025-01,A,A,-1.48,52.93,x,,,Burglary,,"],
        # (February's rows at other places: rows equal to another month's in id, type and place make a copy)
        "2025-02-alpha-street.csv": ["id1,2025-02,A,A,-1.49,52.94,y,,,Burglary,,",
                                     ",2025-02,A,A,-1.40,52.90,y,,,Anti-social behaviour,,"],
        "2025-01-beta-street.csv": ["id1,2025-01,B,B,-2.10,53.40,x,,,Drugs,,", "id9,2025-01,B,B,,,x,,,Drugs,,"],
    }
    files = []
    for name, rs in rows.items():
        (tmp_path / name).write_text(head + "\n" + "\n".join(rs) + "\n")
        files.append(tmp_path / name)
    res = police_uk_to_parquet(files, tmp_path / "out.parquet")
    # alpha: 4 rows; id1 again in February is another month's crime (kept, as in a one-force load: one rule);
    # beta: id1 again is another force's crime.
    assert res.groups == {"alpha": 4, "beta": 1} and res.rows == 5
    assert res.reports["beta"].dropped == {"no location": 1}
    xy = read_xy_parquet(res.path)
    alpha, _ = load_police_uk(sorted(files[:2]))
    want = np.column_stack([alpha.geometry.x, alpha.geometry.y])  # float64: the loader's coordinates exactly
    np.testing.assert_array_equal(xy[:4], want)
    import pyarrow.parquet as pq

    t = pq.read_table(res.path).to_pandas()
    assert list(t["force"]) == ["alpha"] * 4 + ["beta"]
    assert list(t["category"]) == list(alpha["category"]) + ["Drugs"]
    asb = police_uk_to_parquet(files, tmp_path / "asb.parquet", categories="asb")
    assert asb.rows == 2


@pytest.mark.parametrize("distance", [250.0, 600.0, 1000.0, 3900.0])
def test_neighbour_sum_blocks_do_not_change_sums(distance, monkeypatch):
    """The national path relies on neighbour_sum working in blocks of rows: any block size gives
    the same sums, bit for bit, equal to a direct correlation with the disc footprint."""
    from scipy import ndimage

    from hotspots import neighbours

    rng = np.random.default_rng(7)
    vals = rng.poisson(0.7, size=(301, 257)).astype(float)
    st = neighbours.disc_stencil(distance, 250.0, shape=vals.shape)
    want = ndimage.correlate(vals, st.to_array().astype(float), mode="constant", cval=0.0)
    results = []
    for block in (1, 7, 128, 100_000):
        monkeypatch.setattr(neighbours, "_BLOCK_ROWS", block)
        results.append(neighbours.neighbour_sum(vals, st))
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_run_national_notes_the_points_off_the_grid_and_names_mask_radius():
    """Northern Ireland's points off the England-and-Wales grid were left out with no word but
    parameters.json's "off_grid"; a negative mask radius was called `radius`."""
    xy = np.vstack([blobs(2000, seed=7), [[50_000.0, 540_000.0]] * 30])  # west of the grid (Northern Ireland)
    res = run_national(xy, cell_size=5000, mask_radius=10_000, bandwidth=8000, distance=12_000, do_gistar=False)
    assert res.params["points_off_grid"] == res.counts.params["points_off_grid"] == 30
    assert np.nansum(res.counts.values) == len(xy) - 30
    (note,) = [n for n in res.notes if "lie outside" in n]
    assert note.startswith(f"30 of the {len(xy):,} points") and "England-and-Wales grid" in note and "--extent data" in note
    assert not [n for n in run_national(blobs(500), bounds=None, do_gistar=False, do_kde=False).notes if "lie outside" in n]
    with pytest.raises(ParameterError, match="`mask_radius` must be"):
        run_national(blobs(100), mask_radius=-5)


def test_run_national_names_the_categories_a_parquet_file_holds_when_none_match(tmp_path):
    xy = blobs(300, seed=8)
    cats = np.where(np.arange(len(xy)) % 2, "Burglary", "Anti-social behaviour")
    months = np.array(["2025-01", "2025-02"] * (len(xy) // 2) + ["2025-02"] * (len(xy) % 2), dtype=object)
    p = write_points_parquet(tmp_path / "p.parquet", xy, columns={"category": cats, "month": months})
    for extent in (None, ENGLAND_WALES_BOUNDS):  # the extent pass and the stream both refuse it
        with pytest.raises(ParameterError, match=r"no incidents have the category 'Nonsense' \(`categories`\); the data hold "
                                                 r"Anti-social behaviour, Burglary\."):
            run_national(p, bounds=extent, categories=["Nonsense"], cell_size=5000, do_gistar=False)
    with pytest.raises(ParameterError, match=r"months 2030-01 to 2030-12 \(`months`\); the data hold 2025-01 to 2025-02"):
        run_national(p, bounds=None, months=("2030-01", "2030-12"), cell_size=5000, do_gistar=False)
    res = run_national(p, bounds=None, categories=["Burglary"], months=("2025-02", None), cell_size=5000, do_gistar=False)
    n = len(xy)  # Burglary: the odd rows, all in 2025-02
    assert res.params["n_points"] == n // 2 and res.params["dropped"] == {"category not selected": n - n // 2}


def test_run_national_leaves_out_a_forces_strays_from_the_extent_and_counts_them(tmp_path):
    """A Durham point in the south of England (E 568291 N 130515) stretched `--extent data`'s grid
    to 2,099 x 824 cells; it is left out, counted and announced (the footprint's rule)."""
    from hotspots.national_strays import STRAY_REASON

    rng = np.random.default_rng(8)
    durham = rng.normal((425_000, 535_000), 3_000, (800, 2))
    cleveland = rng.normal((450_000, 520_000), 2_000, (600, 2))
    xy = np.vstack([durham, [[568_291.0, 130_515.0]], cleveland])
    forces = np.array(["durham"] * 801 + ["cleveland"] * 600)
    path = write_points_parquet(tmp_path / "p.parquet", xy, columns={"force": forces}, float32=False, row_group_size=500)
    res = run_national(path, cell_size=250, bounds=None, bandwidth=800, distance=600, do_gistar=False)
    kept = np.delete(xy, 800, axis=0)
    assert res.params["bounds"] == [kept[:, 0].min(), kept[:, 1].min(), kept[:, 0].max(), kept[:, 1].max()]
    assert res.grid.shape[0] < 200  # not stretched 400 km south
    assert res.params["n_points"] == 1400 and res.params["dropped"] == {STRAY_REASON: 1}
    assert res.params["strays"]["by_force"] == {"durham": 1}
    assert any("1 stray point(s) left out (Durham Constabulary 1)" in n for n in res.notes)
    np.testing.assert_array_equal(np.nan_to_num(res.counts.values), count(kept, res.grid.with_mask(None)).values)
    kept_all = run_national(path, cell_size=2000, bounds=None, mask_radius=None, do_kde=False, do_gistar=False,
                            leave_out_strays=False)
    assert kept_all.params["n_points"] == 1401 and kept_all.params["bounds"][1] == 130_515.0
    assert kept_all.params["strays"] == "kept (leave_out_strays=False)"
    # points in memory: the same rule, the whole set one group
    mem = run_national(xy, cell_size=250, bounds=None, bandwidth=800, distance=600, do_gistar=False)
    assert mem.params["n_points"] == 1400 and mem.params["rows_read"] == 1401 and mem.params["dropped"] == {STRAY_REASON: 1}


def test_the_study_area_leaves_out_empty_ground_beyond_the_outermost_incidents():
    """analyse's rule (hotspots.footprint.cells_within_reach): the 2 km ring of empty cells
    around the incidents lowered the mean and came out cold; it takes no part now."""
    rng = np.random.default_rng(3)
    xy = rng.uniform((420_000, 320_000), (440_000, 340_000), (3000, 2))
    res = run_national(xy, cell_size=500, bounds=(410_000, 310_000, 450_000, 350_000), mask_radius=2000, bandwidth=1000,
                       distance=1000)
    occupied = np.nan_to_num(res.counts.values) > 0
    rows, cols = np.flatnonzero(occupied.any(axis=1)), np.flatnonzero(occupied.any(axis=0))
    m = res.grid.mask
    assert m[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].sum() == m.sum()  # nothing beyond the outermost incidents' cells
    assert (occupied & ~m).sum() == 0  # every cell with an incident is in
    assert any("cells of empty ground beyond the outermost incidents left out" in n for n in res.notes)
    assert int(res.gistar.cold.sum()) == 0  # random incidents over a square: no cold rim
