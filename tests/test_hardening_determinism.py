"""Determinism: the same input and seed give identical results, run after run and whatever the
number of threads.

A worker (this file run as a script) generates the demo data, runs the full
:func:`hotspots.analysis.analyse` with permutation p-values, emerging hot spots, point clusters
(DBSCAN and HDBSCAN), the stability sweep and KDE with every kernel, and prints a SHA-256 of every
array, table and geometry in every result. The tests run the worker in fresh processes with
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``NUMBA_NUM_THREADS`` set to
1 and to 2, twice, and compare the hashes: any difference in any value (one bit of one float)
fails.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


# --------------------------------------------------------------------------- hashing (worker side)
def digest(obj, path: str = "", out: dict | None = None, depth: int = 0) -> dict[str, str]:
    """``{path: sha256}`` of every array, table, geometry and scalar reachable from ``obj``."""
    import numpy as np
    import pandas as pd
    import shapely

    out = {} if out is None else out

    def put(data: bytes) -> None:
        out[path or "."] = hashlib.sha256(data).hexdigest()

    if depth > 6 or obj is None or callable(obj) and not dataclasses.is_dataclass(obj):
        return out
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        if a.dtype == object:
            put(repr(a.tolist()).encode())
        else:
            put(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    elif isinstance(obj, pd.DataFrame):
        geo = [c for c in obj.columns if str(obj[c].dtype) == "geometry"]
        plain = obj.drop(columns=geo)
        # Exact: floats written with repr (round-trip), index included.
        data = plain.to_csv(float_format=None).encode()
        for c in geo:
            data += b"|" + b"".join(shapely.to_wkb(np.asarray(obj[c].values), hex=False, output_dimension=2) if len(obj) else [])
        put(data)
    elif isinstance(obj, pd.Series):
        digest(obj.to_frame(), path, out, depth + 1)
    elif isinstance(obj, shapely.Geometry):
        put(shapely.to_wkb(obj))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            digest(getattr(obj, f.name), f"{path}.{f.name}", out, depth + 1)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            digest(obj[k], f"{path}[{k}]", out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        if all(isinstance(v, (str, int, float, bool, type(None))) for v in obj):
            put(repr(obj).encode())
        else:
            for i, v in enumerate(obj):
                digest(v, f"{path}[{i}]", out, depth + 1)
    elif isinstance(obj, (str, int, float, bool, np.generic)):
        put(repr(obj).encode())
    return out


def worker() -> dict[str, str]:
    import io

    import numpy as np
    import shapely

    from hotspots.analysis import Settings, analyse
    from hotspots.clustering import clusters
    from hotspots.demo import generate_demo
    from hotspots.density import kde
    from hotspots.emerging import emerging_hotspots
    from hotspots.gazetteer import default_study_area
    from hotspots.grid import Grid
    from hotspots.robustness import stability

    out: dict[str, str] = {}
    demo = generate_demo(0)
    for name in ("incidents", "referrals", "tasks"):  # the demo's bytes, as written out
        buf = io.StringIO()
        frame = getattr(demo, name)
        frame.drop(columns="geometry").to_csv(buf)
        out[f"demo.{name}"] = hashlib.sha256(
            buf.getvalue().encode() + shapely.to_wkb(np.asarray(frame.geometry.values)).sum()
        ).hexdigest()
    # A part of the demo (Derby and around) keeps the permutation test quick.
    inc = demo.incidents
    centre = shapely.Point(435_300, 336_300)
    part = inc[inc.geometry.distance(centre) < 12_000]
    refs = demo.referrals[demo.referrals.geometry.distance(centre) < 12_000]
    settings = Settings(
        cell_size=250.0,
        permutations=99,
        fdr=False,
        seed=7,
        cluster_method="dbscan",
        before=("2022-07", "2023-06"),
        after=("2023-07", "2024-06"),
    )
    a = analyse(part, settings=settings, referrals=refs, tasks=demo.tasks, study_area=default_study_area())
    digest(dataclasses.replace(a, incidents=None, referrals=None, tasks=None, study_area=None), "analyse", out)
    digest(clusters(part, "hdbscan", min_samples=15, seed=7), "hdbscan", out)
    digest(clusters(part, "dbscan", eps=120.0, min_samples=10, seed=7), "dbscan", out)
    grid = Grid.for_points(part, cell_size=500.0)
    digest(emerging_hotspots(part, grid, time_step="quarter", seed=7), "emerging", out)
    digest(stability(part, cell_sizes=[250, 400], distance_multipliers=[2.0, 3.0], permutations=19, seed=7), "stability", out)
    for kernel in ("quartic", "gaussian", "epanechnikov"):
        digest(kde(part, a.grid, kernel=kernel), f"kde.{kernel}", out)
    return out


def run_worker(threads: int, run: int) -> tuple[dict[str, str], float]:
    import time

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update({k: str(threads) for k in THREAD_VARS})
    env["PYTHONHASHSEED"] = str(1000 + run)  # a different string-hash seed per run: nothing may depend on it
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,  # a worker takes 3-5 min; a CI machine shared with other jobs was seen past 30 min
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


# --------------------------------------------------------------------------- tests
def test_digest_sees_one_bit_of_one_float():
    import numpy as np
    import pandas as pd

    a = np.linspace(0, 1, 10)
    b = a.copy()
    b[3] = np.nextafter(b[3], 2)
    assert digest(a) != digest(b)
    df = pd.DataFrame({"x": a})
    assert digest(df) != digest(pd.DataFrame({"x": b}))
    assert digest({"k": df}) == digest({"k": df.copy()})


@pytest.fixture(scope="module")
def runs():
    """Hashes from three fresh processes: one thread, two threads, two threads again."""
    found = {}
    for run, (label, threads) in enumerate((("1 thread", 1), ("2 threads, run 1", 2), ("2 threads, run 2", 2))):
        hashes, seconds = run_worker(threads, run)
        found[label] = hashes
        print(f"\n[determinism] {label}: {len(hashes)} hashes in {seconds:.1f} s")
    return found


def test_every_result_is_hashed(runs):
    hashes = runs["1 thread"]
    for prefix in (
        "demo.incidents",
        "analyse.density",
        "analyse.gi",
        "analyse.areas",
        "analyse.clusters",
        "analyse.change_cells",
        "analyse.change_areas",
        "analyse.linkage",
        "analyse.kpis",
        "hdbscan",
        "dbscan",
        "emerging",
        "stability",
        "kde.gaussian",
    ):
        assert any(k.startswith(prefix) for k in hashes), prefix
    assert len(hashes) > 100


def test_results_are_identical_across_runs_and_thread_counts(runs):
    ref = runs["1 thread"]
    for label, hashes in runs.items():
        assert hashes.keys() == ref.keys(), label
        differ = sorted(k for k in ref if hashes[k] != ref[k])
        assert not differ, f"{label} differs from the 1-thread run in {differ[:10]}"
    print(f"\n[determinism] {len(ref)} hashes equal in {len(runs)} runs")


if __name__ == "__main__" and "--worker" in sys.argv:
    sys.path.insert(0, str(REPO))
    print(json.dumps(worker(), sort_keys=True))
