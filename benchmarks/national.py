"""Benchmark: ``hotspots national`` on 10^8 points over England and Wales at 250 m.

Run from the repository root::

    python -m benchmarks.national                      # 10^8 synthetic points (generated once into --workdir)
    python -m benchmarks.national --n 1e7 --repeat 1   # smaller
    python -m benchmarks.national --quick              # 10^6 points (under a minute)
    python -m benchmarks.national --scheduler local:2  # also through a two-worker Dask LocalCluster
    python -m benchmarks.national --real-national      # also the real national 2025 files (ASB, all crime)

What is timed: the command line itself, ``hotspots national POINTS.parquet --out DIR`` (250 m
cells over England and Wales, quartic KDE of 1 km, Gi* at 750 m with Benjamini–Hochberg FDR,
study area = cells within 2 km of an incident), in a fresh Python process per run that calls
:func:`hotspots.cli.main` and then reports its own peak resident memory (``VmHWM``) and CPU time
(user + system, all threads). Printed per run: wall-clock and CPU seconds, peak memory, the load
average of the machine before and after (it is shared: other jobs slow a run down), and the
phases from the run's ``parameters.json``: read, count and density binning (one streamed pass,
overlapped in threads), study area, density (interior from the moment grids), Gi*, FDR (timed
inside Gi*), write (rasters, areas, overview, parameters). The minimum and median of the runs
close the section. The goal (issue 16): at most 20 s and 2 GB for 10^8 points on two cores.

Exactness: the density written to ``density.tif`` (float32) is compared with a direct sum of
the quartic kernel over every point, on a sample of cells (half drawn where the density is
positive, half anywhere in the study area), computed chunk by chunk with a cKDTree per chunk
(not timed). The goal is 1e-3 relative.

Data: *synthetic national*: towns and cities across England and Wales, ASB-like. 70 real cities
and large towns (approximate centres and populations) and 300 random smaller towns inside a
rough outline of England and Wales, each a Gaussian blob whose spread grows with population
(0.6 km for 20,000 people, 7 km for London); incidents shared in proportion to population; plus
8 % background spread uniformly over the outline. Seeded; generated in blocks of 10^7 (seed =
block number) and written as float32 x/y in row groups of 10^6 (800 MB for 10^8 points). The
file is kept in ``--workdir`` and reused when it exists.

*Real national 2025* (``--real-national``): the 474 ``.csv.gz`` files of
``../shared/data/police_uk/national_2025_gz`` (41 forces, 4.0 million rows) through the same
command, once for anti-social behaviour (the default category) and once with ``--category all``;
the first run converts the files into the command's Parquet cache (timed separately), a second
run reads the cache.

Figures from the previous implementation (issue 16): ``run_national`` loaded all 10^8 points at
once: 32.8 s (load 8.0, count 4.8, KDE 18.8, Gi* 0.6) and 8.3 GB peak.

These are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NATIONAL = REPO.parent / "shared" / "data" / "police_uk" / "national_2025_gz"

# (name, longitude, latitude, population in thousands) - approximate, for shaping synthetic data.
CITIES = [
    ("London", -0.12, 51.51, 8900), ("Birmingham", -1.90, 52.48, 1150), ("Leeds", -1.55, 53.80, 790),
    ("Sheffield", -1.47, 53.38, 580), ("Manchester", -2.24, 53.48, 550), ("Bradford", -1.75, 53.79, 540),
    ("Liverpool", -2.98, 53.41, 500), ("Bristol", -2.59, 51.45, 470), ("Leicester", -1.13, 52.64, 370),
    ("Cardiff", -3.18, 51.48, 360), ("Coventry", -1.51, 52.41, 345), ("Nottingham", -1.15, 52.95, 330),
    ("Newcastle", -1.61, 54.97, 300), ("Brighton", -0.14, 50.82, 280), ("Plymouth", -4.14, 50.38, 265),
    ("Hull", -0.34, 53.74, 260), ("Wolverhampton", -2.13, 52.59, 260), ("Derby", -1.48, 52.92, 260),
    ("Stoke", -2.18, 53.00, 255), ("Southampton", -1.40, 50.90, 250), ("Swansea", -3.94, 51.62, 240),
    ("Northampton", -0.89, 52.24, 225), ("Luton", -0.42, 51.88, 225), ("Milton Keynes", -0.76, 52.04, 230),
    ("Portsmouth", -1.09, 50.80, 210), ("Warrington", -2.59, 53.39, 210), ("York", -1.08, 53.96, 200),
    ("Peterborough", -0.24, 52.57, 200), ("Bournemouth", -1.88, 50.72, 200), ("Bolton", -2.43, 53.58, 195),
    ("Swindon", -1.78, 51.56, 185), ("Southend", 0.71, 51.54, 180), ("Reading", -0.97, 51.45, 175),
    ("Sunderland", -1.38, 54.91, 175), ("Slough", -0.59, 51.51, 165), ("Huddersfield", -1.78, 53.65, 160),
    ("Newport", -3.00, 51.58, 150), ("Oxford", -1.26, 51.75, 150), ("Poole", -1.98, 50.72, 150),
    ("Norwich", 1.30, 52.63, 145), ("Cambridge", 0.12, 52.21, 145), ("Preston", -2.70, 53.76, 145),
    ("Middlesbrough", -1.23, 54.57, 140), ("Blackpool", -3.05, 53.82, 140), ("Ipswich", 1.16, 52.06, 140),
    ("Telford", -2.45, 52.68, 140), ("Stockport", -2.16, 53.41, 135), ("Exeter", -3.53, 50.72, 130),
    ("Gloucester", -2.24, 51.86, 130), ("Colchester", 0.90, 51.89, 130), ("Blackburn", -2.48, 53.75, 120),
    ("Cheltenham", -2.08, 51.90, 115), ("Crawley", -0.19, 51.11, 115), ("Doncaster", -1.13, 53.52, 110),
    ("Rotherham", -1.36, 53.43, 110), ("Mansfield", -1.20, 53.14, 110), ("Maidstone", 0.52, 51.27, 110),
    ("Basingstoke", -1.09, 51.27, 110), ("Chelmsford", 0.47, 51.74, 110), ("Chesterfield", -1.42, 53.24, 105),
    ("Wigan", -2.63, 53.55, 105), ("Wakefield", -1.50, 53.68, 100), ("Worcester", -2.22, 52.19, 100),
    ("Lincoln", -0.54, 53.23, 100), ("Barnsley", -1.48, 53.55, 95), ("Chester", -2.89, 53.19, 80),
    ("Carlisle", -2.94, 54.89, 75), ("Shrewsbury", -2.75, 52.71, 75), ("Burnley", -2.24, 53.79, 75),
    ("Wrexham", -2.99, 53.05, 65),
]

# A rough outline of England and Wales (longitude, latitude), for placing towns and background.
OUTLINE = [
    (-5.70, 50.05), (-5.00, 49.95), (-4.20, 50.35), (-3.50, 50.60), (-2.00, 50.60), (-1.10, 50.75), (0.20, 50.75),
    (1.40, 51.15), (1.45, 51.38), (0.80, 51.55), (1.30, 51.90), (1.75, 52.50), (1.70, 52.75), (1.00, 52.95),
    (0.30, 52.85), (0.35, 53.10), (0.15, 53.55), (-0.20, 54.10), (-0.60, 54.50), (-1.20, 54.65), (-1.45, 55.05),
    (-1.60, 55.60), (-2.00, 55.80), (-2.60, 55.60), (-3.00, 55.05), (-3.40, 54.90), (-3.60, 54.50), (-3.20, 54.10),
    (-2.90, 53.75), (-3.10, 53.40), (-3.40, 53.35), (-4.20, 53.30), (-4.70, 53.30), (-4.60, 52.80), (-4.10, 52.55),
    (-4.70, 52.10), (-5.30, 51.85), (-5.10, 51.60), (-4.20, 51.55), (-3.20, 51.40), (-2.70, 51.55), (-3.00, 51.20),
    (-4.20, 51.20), (-4.70, 51.00), (-5.20, 50.60), (-5.70, 50.05),
]


def synthetic_national(n: int, seed: int = 0, *, n_towns: int = 300, background: float = 0.08) -> np.ndarray:
    """``n`` ASB-like points (BNG metres, float64) over England and Wales (see the module docs)."""
    import shapely
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    outline = shapely.Polygon([to_bng.transform(lon, lat) for lon, lat in OUTLINE])
    shapely.prepare(outline)
    x0, y0, x1, y1 = outline.bounds

    def inside(k: int) -> np.ndarray:
        out = np.empty((0, 2))
        while len(out) < k:
            cand = rng.uniform((x0, y0), (x1, y1), size=(2 * (k - len(out)) + 16, 2))
            out = np.vstack([out, cand[shapely.contains_xy(outline, cand[:, 0], cand[:, 1])]])
        return out[:k]

    cx, cy = to_bng.transform([c[1] for c in CITIES], [c[2] for c in CITIES])
    centres = np.vstack([np.column_stack([cx, cy]), inside(n_towns)])
    pop = np.concatenate([[c[3] for c in CITIES], 5.0 + rng.pareto(1.2, n_towns) * 8.0]).clip(max=60.0, min=5.0)
    pop[: len(CITIES)] = [c[3] for c in CITIES]
    sd = 1200.0 * (pop / 100.0) ** 0.4
    share = pop**1.05 / (pop**1.05).sum()
    n_bg = int(round(n * background))
    k = rng.choice(len(centres), size=n - n_bg, p=share)
    pts = np.empty((n, 2))
    pts[: n - n_bg] = centres[k] + rng.normal(size=(n - n_bg, 2)) * sd[k, None]
    pts[n - n_bg :] = inside(n_bg)
    rng.shuffle(pts)
    return pts


def generate(path: Path, n: int, seed: int = 0, block: int = 10_000_000) -> float:
    """Write ``n`` synthetic points to ``path`` (float32 x/y, row groups of 10^6); seconds taken."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = time.perf_counter()
    schema = pa.schema([("x", pa.float32()), ("y", pa.float32())])
    tmp = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as w:
        for i in range(0, n, block):
            k = min(block, n - i)
            xy = synthetic_national(k, seed=seed + i // block)
            w.write_table(pa.table({"x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32)}, schema=schema),
                          row_group_size=1_000_000)
    os.replace(tmp, path)
    (path.with_suffix(".json")).write_text(json.dumps({"n": n, "seed": seed, "block": block}))
    return time.perf_counter() - t


def _child(argv: list[str]) -> None:
    """Run the CLI in this process, then print peak memory and CPU time as JSON (last line of stdout)."""
    import resource

    from hotspots.cli import main as cli_main
    from hotspots.national import peak_rss_mb

    code = cli_main(argv)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"exit": code, "peak_rss_mb": peak_rss_mb(), "cpu_s": ru.ru_utime + ru.ru_stime}))


def run_command(args: list[str]) -> dict:
    """``hotspots national ARGS`` in a fresh interpreter; wall time, CPU, peak memory, load averages."""
    load0 = os.getloadavg()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.national", "--child", *args], cwd=REPO, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"hotspots national failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if info["exit"] != 0:
        raise RuntimeError(f"hotspots national exited {info['exit']}:\n{proc.stderr[-3000:]}")
    info.update(wall_s=wall, load_before=load0, load_after=os.getloadavg(), stdout=proc.stdout)
    return info


def phases(out: Path) -> dict[str, float]:
    p = json.loads((out / "parameters.json").read_text())
    t, w = p["timings_s"], p["write_s"]
    return {
        "read (overlapped)": t.get("read (overlapped)", float("nan")),
        "count + bin (overlapped, thread-seconds)": t.get("count + bin (overlapped, summed over threads)", float("nan")),
        "read + count + bin (wall)": t["stream"],
        "study area": t["mask"],
        "density": t.get("density", float("nan")),
        "Gi* (FDR inside)": t.get("gi_star", float("nan")),
        "FDR": t.get("fdr (also inside gi_star)", float("nan")),
        "write": sum(w.values()),
    }


def phases_cpu(out: Path) -> dict[str, float]:
    """CPU seconds (all threads) per phase, from ``parameters.json`` (empty for older runs)."""
    c = json.loads((out / "parameters.json").read_text()).get("cpu_s", {})
    if not c:
        return {}
    return {"read + count + bin": c.get("stream", float("nan")), "study area": c.get("mask", float("nan")),
            "density": c.get("density", float("nan")), "Gi*": c.get("gi_star", float("nan")),
            "write": sum(v for k, v in c.items() if k.startswith("write "))}


def density_check(points: Path, out: Path, n_cells: int = 2000, seed: int = 1, h: float = 1000.0) -> tuple[float, float, int]:
    """Max relative error of density.tif against a direct quartic sum on a sample of cells.

    Returns (max relative error on cells with direct density > 0, max absolute error on cells
    where the direct density is 0, cells checked).
    """
    import math

    from scipy.spatial import cKDTree

    from hotspots.export.raster import read_raster
    from hotspots.national_inputs import iter_points, open_points

    band = read_raster(out / "density.tif")
    d = band.values.astype(np.float64)
    t = band.transform
    rng = np.random.default_rng(seed)
    active = np.flatnonzero(np.isfinite(d.ravel()))
    pos = np.flatnonzero(np.isfinite(d.ravel()) & (d.ravel() > 0))
    pick = np.unique(np.concatenate([rng.choice(pos, min(len(pos), n_cells // 2), replace=False),
                                     rng.choice(active, min(len(active), n_cells - n_cells // 2), replace=False)]))
    rows, cols = np.divmod(pick, d.shape[1])
    cx = t.c + (cols + 0.5) * t.a
    cy = t.f + (rows + 0.5) * t.e
    centres = np.column_stack([cx, cy])
    total = np.zeros(len(pick))
    for x, y, _ in iter_points(open_points(points)):
        xy = np.column_stack([x, y]).astype(np.float64)
        tree = cKDTree(xy)
        for i, nb in enumerate(tree.query_ball_point(centres, h)):
            if nb:
                r2 = ((xy[nb] - centres[i]) ** 2).sum(axis=1) / (h * h)
                total[i] += (np.clip(1.0 - r2, 0.0, None) ** 2).sum()
    direct = total * 3.0 / (math.pi * h * h) * 1e6
    ours = d.ravel()[pick]
    nz = direct > 0
    rel = float(np.max(np.abs(ours[nz] - direct[nz]) / direct[nz])) if nz.any() else float("nan")
    absz = float(np.max(np.abs(ours[~nz]))) if (~nz).any() else 0.0
    return rel, absz, int(len(pick))


def _print_run(k: int, r: dict, ph: dict[str, float], cpu: dict[str, float] | None = None) -> None:
    print(f"  run {k}: wall {r['wall_s']:.2f} s (process start included), CPU {r['cpu_s']:.2f} s, "
          f"peak {r['peak_rss_mb']:,.0f} MB; "
          f"load average {r['load_before'][0]:.2f} before, {r['load_after'][0]:.2f} after")
    print("    wall: " + "; ".join(f"{name} {v:.2f}" for name, v in ph.items()))
    if cpu:
        print("    CPU:  " + "; ".join(f"{name} {v:.2f}" for name, v in cpu.items()))


def bench(label: str, points: Path, work: Path, repeat: int, extra: list[str], check: int) -> None:
    print(f"\n== {label}: hotspots national {points.name} {' '.join(extra)}")
    runs = []
    for k in range(1, repeat + 1):
        out = work / f"out-{label.replace(' ', '_').replace(':', '')}-{k}"
        if out.exists():
            shutil.rmtree(out)
        r = run_command(["national", str(points), "--out", str(out), "--quiet", *extra])
        ph = phases(out)
        cpu = phases_cpu(out)
        runs.append((r, ph, out, cpu))
        _print_run(k, r, ph, cpu)
    walls = sorted(r["wall_s"] for r, *_ in runs)
    cpus = sorted(r["cpu_s"] for r, *_ in runs)
    mems = sorted(r["peak_rss_mb"] for r, *_ in runs)
    print(f"  wall min {walls[0]:.2f} s, median {statistics.median(walls):.2f} s; CPU min {cpus[0]:.2f} s, median "
          f"{statistics.median(cpus):.2f} s; peak memory max {mems[-1]:,.0f} MB (goal 20 s, 2,048 MB)")
    for name in runs[0][1]:
        vals = sorted(ph[name] for _, ph, *_ in runs)
        print(f"    {name:<42} min {vals[0]:7.2f}  median {statistics.median(vals):7.2f}")
    for name in runs[0][3]:
        vals = sorted(c[name] for *_, c in runs)
        print(f"    CPU {name:<38} min {vals[0]:7.2f}  median {statistics.median(vals):7.2f}")
    if check:
        t = time.perf_counter()
        rel, absz, nc = density_check(points, runs[0][2], check)
        print(f"  density vs a direct sum on {nc:,} cells: max relative error {rel:.1e} (goal 1e-3; float32 storage "
              f"alone allows 6e-8), max value where the direct sum is 0: {absz:.1e}  "
              f"({time.perf_counter() - t:.0f} s, not timed)")


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=float, default=1e8, help="number of synthetic points (default 1e8)")
    ap.add_argument("--quick", action="store_true", help="10^6 points, one run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "hotspots-national-bench"),
                    help="folder for the points file and outputs (kept; default: a folder in the temp dir)")
    ap.add_argument("--scheduler", default=None, help="also run with this --scheduler (e.g. local:2)")
    ap.add_argument("--check-cells", type=int, default=2000, help="cells in the density check (0 = skip)")
    ap.add_argument("--real-national", action="store_true", help="also run the real national 2025 files")
    args = ap.parse_args(argv)
    n = 1_000_000 if args.quick else int(args.n)
    repeat = 1 if args.quick else max(1, args.repeat)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"national benchmark: {n:,} synthetic points; {os.cpu_count()} CPU(s); files in {work}")
    points = work / f"synthetic-{n}.parquet"
    meta = points.with_suffix(".json")
    if points.exists() and meta.exists() and json.loads(meta.read_text()).get("n") == n:
        print(f"(reusing {points}, {points.stat().st_size / 1e6:,.0f} MB)")
    else:
        sec = generate(points, n)
        print(f"(generated {points} in {sec:.0f} s, {points.stat().st_size / 1e6:,.0f} MB; not timed)")
    bench("synthetic England and Wales", points, work, repeat, [], args.check_cells)
    if args.scheduler:
        bench(f"synthetic, scheduler {args.scheduler}", points, work, repeat, ["--scheduler", args.scheduler], 0)
    if args.real_national and NATIONAL.is_dir():
        cache = work / "police-uk-cache"
        cases = (("real national 2025, anti-social behaviour", []), ("real national 2025, all crime", ["--category", "all"]))
        for label, extra in cases:
            out = work / ("real-" + ("all" if extra else "asb"))
            if out.exists():
                shutil.rmtree(out)
            r = run_command(["national", str(NATIONAL), "--out", str(out), "--cache-dir", str(cache), *extra])
            print(f"\n== {label}: first run (converts the files into the cache)")
            print("\n".join("  " + line for line in r["stdout"].strip().splitlines()[:-1]))
            _print_run(1, r, phases(out))
            r2 = run_command(["national", str(NATIONAL), "--out", str(out), "--cache-dir", str(cache), "--quiet", *extra])
            print("  second run (reads the cache):")
            _print_run(2, r2, phases(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
