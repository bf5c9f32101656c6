"""Benchmark: the national batch path on ~10^7 points (England and Wales at 250 m).

Run from the repository root::

    python -m benchmarks.national           # 10^7 synthetic points + Derbyshire x ~100 (a few minutes)
    python -m benchmarks.national --quick   # 10^6 points (under a minute)

Two data sets, each written to Parquet (float32 x/y) in a temporary folder outside the
repository, then analysed in a fresh Python process (so that peak memory is the analysis's own,
not the generator's) by :func:`hotspots.national.run_national`: load from Parquet, count,
data mask (cells within 2 km of an incident), quartic KDE (1 km), Gi* (750 m, 28 neighbours) with
Benjamini-Hochberg FDR. Printed: seconds per step, total, and peak resident memory
(``VmHWM``, the process's high-water mark) after each step. The goal is under 60 s and under 8 GB on two cores.

1. *Synthetic national*: towns and cities across England and Wales, ASB-like. 70 real cities and
   large towns (approximate centres and populations) and 300 random smaller towns inside a rough
   outline of England and Wales, each a Gaussian blob whose spread grows with population
   (0.6 km for 20,000 people, 7 km for London); incidents shared in proportion to population;
   plus 8 % background spread uniformly over the outline. Seeded.
2. *Derbyshire x ~100*: every located row of the 12 real Derbyshire files
   (``../shared/data/police_uk/derbyshire``, skipped when absent) repeated to ~10^7 rows with a
   Gaussian jitter of 20 m (seeded), on the same national grid.

3. *Real national 2025* (``--real-national``): the 474 ``.csv.gz`` files of
   ``../shared/data/police_uk/national_2025_gz`` (41 forces, all categories, 4.0 million rows),
   converted force by force with :func:`hotspots.national.police_uk_to_parquet` (conversion time
   reported separately; it uses the load cache in ``~/.cache/hotspots``), at their real size.

These are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DERBYSHIRE = REPO.parent / "shared" / "data" / "police_uk" / "derbyshire"
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


def derbyshire_repeated(n: int, seed: int = 0, jitter_m: float = 20.0) -> np.ndarray | None:
    """Real Derbyshire points (all categories, 2025) repeated to ``n`` with Gaussian jitter."""
    if not DERBYSHIRE.is_dir():
        return None
    from hotspots.io import load_police_uk

    data, _ = load_police_uk(DERBYSHIRE, cache=True)
    base = np.column_stack([data.geometry.x.to_numpy(), data.geometry.y.to_numpy()])
    rng = np.random.default_rng(seed)
    idx = np.resize(np.arange(len(base)), n)
    return base[idx] + rng.normal(0.0, jitter_m, size=(n, 2))


def _run_child(path: Path) -> dict:
    """Run the analysis in a fresh interpreter; return its JSON report."""
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.national", "--analyse", str(path)],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"analysis failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _analyse(path: str) -> None:
    from hotspots.national import peak_rss_mb, run_national

    base = peak_rss_mb()
    res = run_national(path)
    g = res.gistar
    out = {
        "timings": res.timings,
        "total": res.total_seconds,
        "peak_rss_mb": res.peak_rss_mb,
        "baseline_rss_mb": base,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in res.params.items()},
        "kde_method": res.density.params["method"] if res.density is not None else None,
        "hot_cells": int(g.hot.sum()) if g is not None else None,
        "cold_cells": int(g.cold.sum()) if g is not None else None,
        "notes": list(res.notes),
    }
    print(json.dumps(out))


def _print(name: str, gen_s: float, write_s: float, size_mb: float, r: dict) -> None:
    p = r["params"]
    print(f"\n== {name}: {p['n_points']:,} points; grid {p['grid_shape'][0]:,} x {p['grid_shape'][1]:,} = {p['cells']:,} cells "
          f"of {p['cell_size_m']:g} m, {p['cells_in_area']:,} in the data mask")
    print(f"   (generated in {gen_s:.1f} s, written to Parquet in {write_s:.1f} s, {size_mb:.0f} MB; not part of the timing)")
    print(f"   {'step':<28}{'seconds':>9}{'peak RSS MB':>14}")
    for step, sec in r["timings"].items():
        rss = r["peak_rss_mb"].get(step)
        print(f"   {step:<28}{sec:>9.2f}{(f'{rss:,.0f}' if rss is not None else ''):>14}")
    print(f"   {'total':<28}{r['total']:>9.2f}{max(r['peak_rss_mb'].values()):>14,.0f}")
    print(f"   KDE path {r['kde_method']}; Gi*: {r['hot_cells']:,} hot and {r['cold_cells']:,} cold cells at 95 % (FDR); "
          f"interpreter baseline {r['baseline_rss_mb']:,.0f} MB")
    for n in r["notes"]:
        print(f"   note: {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^6 points instead of 10^7")
    ap.add_argument("--n", type=int, default=None, help="number of points (overrides --quick)")
    ap.add_argument("--workdir", default=None, help="folder for the Parquet files (default: a temporary folder)")
    ap.add_argument("--analyse", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--skip-derbyshire", action="store_true")
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--real-national", action="store_true", help="also run on the real national 2025 files (converted first)")
    args = ap.parse_args(argv)
    if args.analyse:
        _analyse(args.analyse)
        return 0
    from hotspots.national import write_points_parquet

    n = args.n or (1_000_000 if args.quick else 10_000_000)
    tmp = tempfile.TemporaryDirectory(prefix="hotspots-national-") if args.workdir is None else None
    work = Path(args.workdir or tmp.name)  # type: ignore[union-attr]
    work.mkdir(parents=True, exist_ok=True)
    print(f"national batch benchmark: {n:,} points per data set; files in {work}; {os.cpu_count()} CPU(s)")
    sets = [] if args.skip_synthetic else [("synthetic England and Wales", lambda: synthetic_national(n, seed=0))]
    if not args.skip_derbyshire:
        sets.append(("real Derbyshire 2025 repeated with 20 m jitter", lambda: derbyshire_repeated(n, seed=0)))
    for i, (name, make) in enumerate(sets):
        t = time.perf_counter()
        xy = make()
        gen = time.perf_counter() - t
        if xy is None:
            print(f"\n== {name}: skipped (data not found at {DERBYSHIRE})")
            continue
        path = work / f"set{i}.parquet"
        t = time.perf_counter()
        write_points_parquet(path, xy)
        write = time.perf_counter() - t
        del xy
        r = _run_child(path)
        _print(name, gen, write, path.stat().st_size / 1e6, r)
    if args.real_national and NATIONAL.is_dir():
        from hotspots.national import police_uk_to_parquet

        files = sorted(NATIONAL.rglob("*-street.csv.gz"))
        path = work / "real_national.parquet"
        t = time.perf_counter()
        conv = police_uk_to_parquet(files, path, cache=True)
        gen = time.perf_counter() - t
        r = _run_child(path)
        print(f"\n(real national: {len(files)} files of {len(conv.groups)} forces converted to {conv.rows:,} points in {gen:.1f} s, "
              f"load cache {'used' if gen < 60 else 'filled'})")
        _print("real national 2025 (all categories)", gen, 0.0, path.stat().st_size / 1e6, r)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
