"""Benchmark: our Gi* against esda's G_Local, analytic and with permutations.

Run from the repository root::

    python -m benchmarks.gistar          # full run (a few minutes, esda dominates)
    python -m benchmarks.gistar --quick  # smoke run (seconds)

One line per case: case, size, our time, peer time, speed ratio, error. The peer is esda
``G_Local(y, w, transform="B", star=True)`` with ``w = libpysal.weights.DistanceBand`` on the
active cell centres. esda's weights construction is timed separately from ``G_Local``; the
analytic ratio is given against ``G_Local`` alone and against weights + ``G_Local``.
Permutation runs use esda with ``n_jobs=1``; esda's numba kernels are compiled on a tiny warm-up
run first (compile time excluded and reported). Data: clustered synthetic incidents counted on
square grids of 100 m cells, distance band 200 m (12 neighbours), plus the real Derbyshire ASB
data at 500 m when ``../shared/data/police_uk/derbyshire`` is present. The permutation
comparison adds a uniform jitter below 1e-6 to the counts so that no simulated sum ties with an
observed one (esda resolves exact ties by floating-point noise; see :mod:`hotspots.gistar`).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from hotspots.gistar import gi_star
from hotspots.grid import Grid, GridValues, count

REPO = Path(__file__).resolve().parents[1]
DERBYSHIRE = REPO.parent / "shared" / "data" / "police_uk" / "derbyshire"


def _synthetic(side: int, seed: int = 0, cs: float = 100.0) -> GridValues:
    rng = np.random.default_rng(seed)
    extent = side * cs
    n_pts = side * side * 2
    centres = rng.uniform(0, extent, size=(max(3, side // 10), 2))
    k = int(n_pts * 0.3)
    clustered = centres[rng.integers(0, len(centres), k)] + rng.normal(0, 3 * cs, size=(k, 2))
    pts = np.vstack([rng.uniform(0, extent, size=(n_pts - k, 2)), clustered])
    pts = pts[(pts >= 0).all(1) & (pts < extent).all(1)]
    g = Grid.from_bounds((0, 0, extent - 1e-6, extent - 1e-6), cs)
    assert g.shape == (side, side)
    return count(pts, g)


def _timeit(fn, repeat: int = 3):
    best = math.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _esda_weights(gv: GridValues, distance: float):
    from libpysal.weights import DistanceBand

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DistanceBand(
            gv.grid.centres(active_only=True), threshold=distance * (1 + 1e-9), binary=True, silence_warnings=True
        )


def _esda_gi(gv: GridValues, w, permutations: int = 0, seed: int = 1):
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(gv.values[gv.grid.active], w, transform="B", star=True, permutations=permutations, seed=seed, n_jobs=1)


def _line(case: str, size: str, ours: float, peer: float | None, err: str) -> None:
    peer_s = f"{peer:9.3f} s" if peer is not None else "        - "
    ratio = f"{peer / ours:8.1f}x" if peer is not None and ours > 0 else "       - "
    print(f"{case:<42} {size:>16} {ours:9.4f} s {peer_s} {ratio}  {err}", flush=True)


def _header() -> None:
    print(f"{'case':<42} {'size':>16} {'ours':>11} {'peer':>11} {'ratio':>9}  error")
    print("-" * 110)


def bench_analytic(sides, distance_cells: float = 2.0) -> None:
    warm = _synthetic(10, seed=8)  # import libpysal/esda before timing anything
    _esda_gi(warm, _esda_weights(warm, 200.0))
    gi_star(warm, 200.0)
    for side in sides:
        gv = _synthetic(side)
        d = distance_cells * gv.grid.cell_size
        t_ours, res = _timeit(lambda: gi_star(gv, d, fdr=True), repeat=5)
        t_w, w = _timeit(lambda: _esda_weights(gv, d), repeat=1)
        t_g, e = _timeit(lambda: _esda_gi(gv, w), repeat=1)
        err = float(np.nanmax(np.abs(res.z[gv.grid.active] - e.Zs)))
        size = f"{side}x{side}={side * side:,}"
        _line("analytic Gi* vs esda G_Local", size, t_ours, t_g, f"max |dz| = {err:.1e}")
        _line("analytic Gi* vs esda weights+G_Local", size, t_ours, t_w + t_g, f"(weights {t_w:.2f} s + G_Local {t_g:.2f} s)")


def bench_permutations(sides, R: int, distance_cells: float = 2.0) -> None:
    try:
        import numba  # noqa: F401

        have_numba = True
    except ImportError:
        have_numba = False
    # Warm-up: compile esda's numba kernels on a tiny grid (excluded from the timings).
    small = _synthetic(10, seed=9)
    t_compile, _ = _timeit(lambda: _esda_gi(small, _esda_weights(small, 200.0), permutations=9), repeat=1)
    print(
        f"# esda permutation engine: numba {'present' if have_numba else 'ABSENT (pure Python fallback)'}; "
        f"warm-up/compile {t_compile:.1f} s excluded",
        flush=True,
    )
    for side in sides:
        gv = _synthetic(side, seed=1)
        # Tie-free copy: esda breaks exact ties between simulated and observed sums by
        # floating-point noise (fastmath), which blurs a distribution comparison on raw counts.
        jit = np.random.default_rng(0).random(gv.values.shape) * 1e-6
        gv = GridValues(gv.values + jit, gv.grid, "count")
        d = distance_cells * gv.grid.cell_size
        t_ours, res = _timeit(lambda: gi_star(gv, d, permutations=R, seed=1), repeat=3)
        w = _esda_weights(gv, d)
        t_e, e = _timeit(lambda: _esda_gi(gv, w, permutations=R, seed=1), repeat=1)
        act = gv.grid.active
        ours = res.p_sim_directed[act]
        mad = float(np.abs(ours - e.p_sim).mean())
        ks = float(stats.ks_2samp(ours, e.p_sim).statistic)
        a, b = ours < 0.05, e.p_sim < 0.05
        jac = float((a & b).sum() / max((a | b).sum(), 1))
        _line(
            f"permutation Gi* R={R} vs esda (n_jobs=1)",
            f"{side}x{side}={side * side:,}",
            t_ours,
            t_e,
            f"mean |dp_sim| = {mad:.4f}, KS = {ks:.3f}, Jaccard(p<.05) = {jac:.3f}",
        )


def bench_growth(sides, R: int) -> None:
    prev = None
    for side in sides:
        gv = _synthetic(side, seed=2)
        t_a, _ = _timeit(lambda: gi_star(gv, 200.0), repeat=3)
        t_p, _ = _timeit(lambda: gi_star(gv, 200.0, permutations=R, seed=0), repeat=1)
        n = side * side
        grow = (
            ""
            if prev is None
            else f"cells x{n / prev[0]:.2f}: analytic time x{t_a / prev[1]:.2f}, permutation time x{t_p / prev[2]:.2f}"
        )
        _line("growth: ours analytic", f"{n:,} cells", t_a, None, grow)
        _line(f"growth: ours permutations R={R}", f"{n:,} cells", t_p, None, "")
        prev = (n, t_a, t_p)


def bench_distance(side: int) -> None:
    gv = _synthetic(side, seed=3)
    for mult in (1.0, 2.0, 5.0, 10.0, 15.0):
        d = mult * gv.grid.cell_size
        t_ours, res = _timeit(lambda: gi_star(gv, d), repeat=3)
        _line(
            f"analytic Gi*, band {mult:g} cells",
            f"{side}x{side}",
            t_ours,
            None,
            f"{res.params['neighbours']['stencil']} neighbours",
        )
    t_auto, res = _timeit(lambda: gi_star(gv, None), repeat=1)
    _line(
        "analytic Gi*, automatic band",
        f"{side}x{side}",
        t_auto,
        None,
        f"chose {res.params['distance_m']:.0f} m ({res.params['distance_rule']})",
    )


def bench_derbyshire(R: int) -> None:
    if not DERBYSHIRE.is_dir():
        print("# Derbyshire data not found; real-data case skipped")
        return
    import shapely

    from hotspots.io import load_police_uk

    xy = shapely.get_coordinates(load_police_uk(DERBYSHIRE, categories="asb").data.geometry.values)
    g = Grid.for_points(xy, 500)
    gv = count(xy, g)
    size = f"{g.n_rows}x{g.n_cols}={g.n_cells:,}"
    t_ours, res = _timeit(lambda: gi_star(gv, 1000.0), repeat=5)
    t_w, w = _timeit(lambda: _esda_weights(gv, 1000.0), repeat=1)
    t_g, e = _timeit(lambda: _esda_gi(gv, w), repeat=1)
    err = float(np.abs(res.z[g.active] - e.Zs).max())
    _line(
        "Derbyshire ASB 500 m, analytic",
        size,
        t_ours,
        t_g,
        f"max |dz| = {err:.1e}; weights+G_Local {t_w + t_g:.2f} s -> {(t_w + t_g) / t_ours:.0f}x",
    )
    t_p, res_p = _timeit(lambda: gi_star(gv, 1000.0, permutations=R, seed=1), repeat=1)
    t_e, e_p = _timeit(lambda: _esda_gi(gv, w, permutations=R, seed=1), repeat=1)
    mad = float(np.abs(res_p.p_sim_directed[g.active] - e_p.p_sim).mean())
    _line(
        f"Derbyshire ASB 500 m, R={R}", size, t_p, t_e, f"mean |dp_sim| = {mad:.4f} (ties: esda's float noise, see gistar docs)"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    args = ap.parse_args(argv)
    _header()
    if args.quick:
        bench_analytic([50, 100])
        bench_permutations([50], R=99)
        bench_growth([50, 71, 100], R=99)
        return
    bench_analytic([100, 200, 400])
    bench_permutations([100, 200, 400], R=999)
    bench_growth([200, 283, 400, 566, 800, 1131, 1600], R=999)
    bench_distance(400)
    bench_derbyshire(R=999)


if __name__ == "__main__":
    main()
