"""Benchmark: our clusters() wrapper against bare scikit-learn DBSCAN / HDBSCAN.

Run from the repository root::

    python -m benchmarks.clusters            # 10^5 points
    python -m benchmarks.clusters --quick    # 10^4 points

One line per case: case, points, our time (fit + stable ids + polygons), bare scikit-learn time
(``fit`` only), the wrapper's own work timed on its own (stable ids, per-cluster statistics,
hulls, GeoDataFrames, from the bare fit's labels) and as a share of the fit, clusters found, and
whether the partitions are identical. The two fits are separate runs, so their difference also
holds run-to-run noise (HDBSCAN's time varies by tens of percent); the post-processing column is
the overhead proper. Times are CPU seconds of this process. Data: police.uk-like synthetic
incidents over 40 km x 40 km (clusters of different
sizes, 10 % spread uniformly, and snap points holding many incidents on one coordinate, all
rounded to 1 m as police.uk coordinates are). DBSCAN: eps = 150 m, min_samples = 20 (k-d tree).
HDBSCAN: min_samples = min_cluster_size = 20 (k-d tree).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pyproj
from sklearn.cluster import DBSCAN, HDBSCAN

from hotspots.clustering import _postprocess, clusters

X0, Y0 = 430_000.0, 330_000.0


def synthetic_points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = 60
    centres = rng.uniform(2_000, 38_000, (k, 2))
    sizes = rng.pareto(1.5, k) + 1
    which = rng.choice(k, n - n // 10 - n // 5, p=sizes / sizes.sum())
    pts = centres[which] + rng.normal(0, 250, (len(which), 2))
    bg = rng.uniform(0, 40_000, (n // 10, 2))
    snaps = rng.uniform(0, 40_000, (300, 2))
    snap = snaps[rng.integers(0, 300, n // 5)]
    return np.round(np.vstack([pts, bg, snap])) + [X0, Y0]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    if not np.array_equal(a < 0, b < 0):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist()))
    return len(pairs) == len(set(a[a >= 0].tolist())) == len(set(b[b >= 0].tolist()))


def timed(fn):
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def fmt_t(s: float) -> str:
    return f"{s * 1e3:8.1f} ms" if s < 1 else f"{s:8.2f} s "


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-hdbscan", action="store_true", help="HDBSCAN at 10^5 points takes minutes")
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    xy = synthetic_points(n, args.seed)
    print(f"# hotspots.clustering benchmark — {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"# {n:,} points, {len(np.unique(xy, axis=0)):,} distinct coordinates")
    hdr = f"{'case':<10} {'points':>9} {'ours':>11} {'sklearn':>11} {'post-proc':>11} {'share':>7} {'clusters':>9} {'same':>5}"
    print(hdr)
    print("-" * len(hdr))
    cases = [("dbscan", {"eps": 150.0, "min_samples": 20})]
    if not args.skip_hdbscan:
        cases.append(("hdbscan", {"min_samples": 20}))
    for method, kw in cases:
        if method == "dbscan":
            t_ref, lab = timed(lambda: DBSCAN(eps=kw["eps"], min_samples=kw["min_samples"], algorithm="kd_tree").fit(xy).labels_)
        else:
            t_ref, lab = timed(
                lambda: HDBSCAN(min_cluster_size=20, min_samples=20, algorithm="kd_tree", copy=True).fit(xy).labels_
            )
        t_ours, res = timed(lambda: clusters(xy, method, **kw))
        raw = np.where(lab < 0, -1, lab).astype(np.int64)
        t_post, _ = timed(lambda: _postprocess(xy, raw, "convex", 0.3, 25.0, pyproj.CRS.from_epsg(27700)))
        print(
            f"{method:<10} {n:>9,} {fmt_t(t_ours):>11} {fmt_t(t_ref):>11} {fmt_t(t_post):>11} {100 * t_post / t_ref:>6.1f}% "
            f"{res.n_clusters:>9,} {str(same_partition(res.labels, lab)):>5}",
            flush=True,
        )


if __name__ == "__main__":
    main()
