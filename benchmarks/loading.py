"""Benchmark: loading police.uk files without and with the Parquet load cache.

Run from the repository root::

    python -m benchmarks.loading           # Derbyshire 12 files, one force from the national set, all 474 national files
    python -m benchmarks.loading --quick   # Derbyshire only

Data: ``../shared/data/police_uk`` (skipped when absent). For each set, three timings of
:func:`hotspots.io.load_police_uk` (all categories):

* *no cache*: the loader as is (CSV parsing, coordinate conversion, ids, report);
* *cache miss*: the same plus hashing the files and writing the cache entry (first load);
* *cache hit*: hashing the files (SHA-256, ``cache=True``) or only stat-ing them
  (``cache="stat"``), reading the Parquet entry and rebuilding the GeoDataFrame.

Best of several runs for the fast cases. The files are read once before timing, so the
operating system's file cache is warm in every case: "cold" here means *no hotspots cache*,
not a cold disk. The cache lives in a temporary folder removed at the end.
These are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "police_uk"


def _best(fn, repeat: int):
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _bench(name: str, paths, cache_dir: Path, *, repeat_slow: int, repeat_fast: int = 5) -> None:
    from hotspots.io import load_police_uk
    from hotspots.io.cache import STATS

    files = paths if isinstance(paths, list) else sorted(p for p in Path(paths).rglob("*") if p.is_file() and "street" in p.name)
    size = sum(p.stat().st_size for p in files) / 1e6
    for p in files:  # warm the OS file cache
        p.read_bytes()
    t_plain, res = _best(lambda: load_police_uk(files), repeat_slow)
    rows = res.report.rows_read
    STATS.reset()
    t = time.perf_counter()
    miss = load_police_uk(files, cache=True, cache_dir=cache_dir)
    t_miss = time.perf_counter() - t
    assert miss.params["cache"]["status"] == "miss"
    t_hit, hit = _best(lambda: load_police_uk(files, cache=True, cache_dir=cache_dir), repeat_fast)
    assert hit.params["cache"]["status"] == "hit"
    load_police_uk(files, cache="stat", cache_dir=cache_dir)
    t_stat, hit2 = _best(lambda: load_police_uk(files, cache="stat", cache_dir=cache_dir), repeat_fast)
    assert hit2.params["cache"]["status"] == "hit"
    entry = Path(hit.params["cache"]["file"]).stat().st_size / 1e6
    print(
        f"\n== {name}: {len(files)} files, {size:,.0f} MB, {rows:,} rows read, {len(res.data):,} kept; "
        f"cache entry {entry:,.1f} MB"
    )
    print(f"   {'no cache':<34}{t_plain:>8.2f} s  {rows / t_plain:>12,.0f} rows/s")
    print(f"   {'cache miss (load + hash + write)':<34}{t_miss:>8.2f} s  {rows / t_miss:>12,.0f} rows/s")
    print(f"   {'cache hit, content hash':<34}{t_hit:>8.2f} s  {rows / t_hit:>12,.0f} rows/s  ({t_plain / t_hit:,.0f}x faster)")
    print(
        f"   {'cache hit, size + mtime':<34}{t_stat:>8.2f} s  {rows / t_stat:>12,.0f} rows/s  ({t_plain / t_stat:,.0f}x faster)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="Derbyshire only")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"police.uk data not found at {DATA}; nothing to do")
        return 0
    with tempfile.TemporaryDirectory(prefix="hotspots-cache-bench-") as tmp:
        cdir = Path(tmp)
        der = DATA / "derbyshire"
        if der.is_dir():
            _bench("Derbyshire 2025, 12 monthly CSV files", sorted(der.glob("*.csv")), cdir, repeat_slow=3)
        nat = DATA / "national_2025_gz"
        if not args.quick and nat.is_dir():
            one = sorted(nat.rglob("*-derbyshire-street.csv.gz"))
            _bench("national set, one force (Derbyshire .csv.gz, 12 months)", one, cdir, repeat_slow=3)
            _bench("national set, all forces (.csv.gz)", sorted(nat.rglob("*-street.csv.gz")), cdir, repeat_slow=1, repeat_fast=3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
