"""Benchmark: emerging hot spots on the demo data at a fine cell size.

Run from the repository root::

    python -m benchmarks.emerging            # 50 m cells (about a million study-area cells x 39 months)
    python -m benchmarks.emerging --quick    # 250 m cells (smoke run, seconds)
    python -m benchmarks.emerging --cell-size 100 --repeat 5

The incidents, study area and Gi* distance band are those of ``hotspots analyse --demo
--cell-size N`` (seed 0): :func:`hotspots.preparation.prepare_inputs` and the hotspot stage of
:func:`hotspots.pipeline.analyse`, which are not timed. Then :func:`hotspots.emerging_summary.emerging_trends`
(the pipeline's emerging stage) is timed with the compiled loops (:mod:`hotspots.emerging_compiled`)
and with their numpy versions (``USE_NUMBA`` off), and its three largest parts on their own:
space-time Gi* z (:func:`hotspots.emerging_gi.space_time_z`), the count test
(:func:`hotspots.emerging_gi.space_time_count_p`) and the two Mann-Kendall tests (z and counts,
:func:`hotspots.trend.mann_kendall_many`). Each line prints the median of ``--repeat`` runs and
their range, in seconds; the machine is shared, so medians. The results of the two engines are
checked to be identical.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _inputs(cell_size: float):
    from hotspots.demo import generate_demo
    from hotspots.pipeline import choose_periods, hotspot_stage
    from hotspots.preparation import prepare_inputs
    from hotspots.settings import Settings

    data = generate_demo(0)
    prep = prepare_inputs(data.incidents, settings=Settings(cell_size=cell_size), referrals=data.referrals,
                          tasks=data.tasks)
    settings, _ = choose_periods(prep.incidents, prep.settings)
    stage = hotspot_stage(prep.incidents, settings, prep.study_area)
    return prep.incidents, stage.grid, float(stage.gi.params["distance_m"]), settings


def _line(label: str, times: list[float]) -> None:
    t = np.array(times)
    print(f"{label:44s} median {np.median(t):7.2f} s   range {t.min():6.2f} – {t.max():6.2f} s   ({t.size} runs)", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell-size", type=float, default=50.0, help="cell size in metres (default 50)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    ap.add_argument("--quick", action="store_true", help="250 m cells, 1 run")
    args = ap.parse_args(argv)
    if args.quick:
        args.cell_size, args.repeat = 250.0, 1

    from hotspots import emerging_compiled
    from hotspots.emerging_gi import space_time_count_p, space_time_z
    from hotspots.emerging_summary import emerging_trends
    from hotspots.neighbours import disc_stencil
    from hotspots.trend import mann_kendall_many

    t0 = time.perf_counter()
    incidents, grid, distance, s = _inputs(args.cell_size)
    print(f"demo at {args.cell_size:g} m: {int(grid.active.sum()):,} study-area cells of {grid.shape[0] * grid.shape[1]:,}, "
          f"{len(incidents):,} incidents, band {distance:.0f} m (inputs {time.perf_counter() - t0:.1f} s, not timed)")
    mann_kendall_many(np.zeros((2, 4)))  # loads (or compiles) the numba loops: not timed

    def run():
        return emerging_trends(incidents, grid, distance, alpha=s.alpha, fdr=s.fdr, seed=s.seed, keep_months=s.keep_months)[0]

    engines = [True, False] if emerging_compiled.compiled_loops() is not None else [False]
    if len(engines) == 1:
        print("numba is not installed: the compiled loops are not timed")
    times: dict[bool, list[float]] = {use: [] for use in engines}
    results = {}
    for _ in range(args.repeat):  # the engines take turns, so that the machine's load falls on both alike
        for use in engines:
            emerging_compiled.USE_NUMBA = use
            results.pop(use, None)  # (a 50 m result holds a few GB of cubes)
            t = time.perf_counter()
            results[use] = run()
            times[use].append(time.perf_counter() - t)
    for use in engines:
        _line(f"emerging_trends, {'compiled loops' if use else 'numpy versions'}", times[use])
    emerging_compiled.USE_NUMBA = True
    if len(results) == 2:
        a, b = results[True], results[False]
        same = all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=f != "categories")
                   for f in ("categories", "z", "p", "trend_z", "trend_p", "count_trend_z", "count_trend_p"))
        print(f"compiled and numpy results identical: {same}")

    # the parts, on the same cube
    res = results[True] if True in results else results[False]
    active = grid.active
    Y = np.where(active[None], res.counts.astype(np.float64), 0.0)
    stencil = disc_stencil(distance, grid.cell_size, shape=grid.shape)
    parts: dict[str, list[float]] = {"space-time Gi* z": [], "count test p": [], "two Mann-Kendall tests": []}
    for _ in range(args.repeat):
        t = time.perf_counter()
        z, info = space_time_z(Y, active, stencil, 1)
        parts["space-time Gi* z"].append(time.perf_counter() - t)
        t = time.perf_counter()
        space_time_count_p(Y, active, stencil, 1, info)
        parts["count test p"].append(time.perf_counter() - t)
        t = time.perf_counter()
        mann_kendall_many(z[:, active].T[:, 1:], slope=False)
        mann_kendall_many(Y[:, active].T, slope=False)
        parts["two Mann-Kendall tests"].append(time.perf_counter() - t)
        del z, info
    for label, times in parts.items():
        _line(label, times)


if __name__ == "__main__":
    main()
