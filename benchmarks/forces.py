"""Benchmark and acceptance check: the default analysis on a year of every force's police.uk data.

Run from the repository root::

    python -m benchmarks.forces                  # all 41 forces of the national set, plus Leicestershire's own files
    python -m benchmarks.forces --quick          # five forces
    python -m benchmarks.forces kent merseyside  # the forces named

Data: ``../shared/data/police_uk/national_2025_gz`` (skipped when absent). For each force, a
year (every monthly file present) is loaded with :func:`hotspots.io.load_police_uk`, and the
default automatic choices and hotspot analysis run as ``hotspots analyse`` runs them
(:func:`hotspots.pipeline.prepare_inputs`: force, CRS, category, study area; then
:func:`hotspots.pipeline.hotspot_stage`: cell size, density, Gi*, hotspot areas; and the areas'
place names). One line per force:

* ``cell``: the automatic cell size (goal: at most 500 m) and, for comparison, what sfhotspot's
  rule on the bounding box of every point would give (the peer's choice, which strays stretch);
* ``in area``: share of the force's analysed incidents inside the study area (goal: >= 95 %);
* ``labels``: the top three hotspot areas' labels (goal: places in that force, never a
  Derbyshire town outside Derbyshire); ``ok`` when each label's town lies in the study area;
* ``load`` / ``analyse`` / ``total``: seconds (goal: a force-year within 10 s).

Nothing here asserts a time; the realdata tests (``tests/test_forces_acceptance.py``) check the
other goals on a dozen forces.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import shapely

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "police_uk"
NATIONAL = DATA / "national_2025_gz"
QUICK = ("leicestershire", "northern-ireland", "dyfed-powys", "city-of-london", "merseyside")


def national_forces() -> list[str]:
    names = {p.name[len("2025-01-") : -len("-street.csv.gz")] for p in NATIONAL.glob("*/*-street.csv.gz")}
    return sorted(names)


def force_files(force: str) -> list[Path]:
    return sorted(NATIONAL.glob(f"*/*-{force}-street.csv.gz"))


def default_analysis(incidents):
    """The default input preparation and hotspot stage of ``hotspots analyse``
    (:func:`hotspots.pipeline.prepare_inputs` then :func:`hotspots.pipeline.hotspot_stage`), and
    the hotspot areas' place names as the exports give them."""
    from types import SimpleNamespace

    from hotspots.pipeline import Settings, hotspot_stage, prepare_inputs
    from hotspots.places import area_places, label_towns

    prepared = prepare_inputs(incidents, settings=Settings())
    stage = hotspot_stage(prepared.incidents, prepared.settings, prepared.study_area)
    area = prepared.study_area
    towns, _ = label_towns(area, prepared.incidents)
    a = stage.areas.areas.sort_values(["rank", "area_id"])
    places = area_places(a, prepared.incidents, towns=towns)
    xy = shapely.get_coordinates(prepared.incidents.geometry.values)
    inside = shapely.contains_xy(shapely.union_all(area.to_crs(prepared.incidents.crs).geometry.values), xy[:, 0], xy[:, 1])
    return SimpleNamespace(force=prepared.force, crs=prepared.crs, incidents=prepared.incidents, study_area=area,
                           share_inside=float(inside.mean()), cell_size=stage.grid.cell_size, n_areas=stage.areas.n_areas,
                           places=places, towns=towns, notes=prepared.notes + stage.notes)


def run_force(files: list[Path]) -> dict:
    """Load, choose and analyse one force-year; the figures of one line."""
    import numpy as np

    from hotspots.grid import auto_cell_size
    from hotspots.io import load_police_uk

    t0 = time.perf_counter()
    loaded = load_police_uk(files)
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = default_analysis(loaded.data)
    t2 = time.perf_counter()
    xy = shapely.get_coordinates(res.incidents.geometry.values)
    peer, _ = auto_cell_size((xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()), max_size=np.inf)
    top = res.places.head(3)
    area = shapely.union_all(res.study_area.geometry.values)
    where = res.towns.set_index("name").geometry
    towns_ok = all(t is None or bool(area.contains(where.loc[[t]].iloc[0])) for t in top["town"])
    return {
        "force": res.force.name if res.force else "?",
        "crs": res.crs.epsg,
        "incidents": len(res.incidents),
        "cell": res.cell_size,
        "peer_cell": peer,
        "share": res.share_inside,
        "areas": res.n_areas,
        "labels": list(top["label"]),
        "ok": towns_ok,
        "load": t1 - t0,
        "analyse": t2 - t1,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("forces", nargs="*", help="police.uk force ids (default: every force in the national set)")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    args = ap.parse_args(argv)
    if not NATIONAL.is_dir():
        print(f"skipped: {NATIONAL} not found")
        return 0
    forces = list(args.forces) or (list(QUICK) if args.quick else national_forces())
    sets = [(f, force_files(f)) for f in forces]
    if not args.forces and not args.quick and (DATA / "leicestershire").is_dir():
        sets.append(("leicestershire (plain files)", sorted((DATA / "leicestershire").glob("*.csv"))))
    # One warm-up (numba compilation, GeoNames cache), not timed.
    run_force(force_files("city-of-london") or sets[0][1])
    print(
        f"{'force':<30} {'months':>6} {'incidents':>9} {'crs':>5} {'cell m':>6} {'sfhotspot':>9} {'in area':>8} "
        f"{'areas':>5} {'load s':>6} {'anal. s':>7} {'total s':>7}  top three hotspot areas"
    )
    worst = 0.0
    for name, files in sets:
        if not files:
            print(f"{name:<30} no files")
            continue
        r = run_force(files)
        total = r["load"] + r["analyse"]
        worst = max(worst, total)
        print(
            f"{name:<30} {len(files):>6} {r['incidents']:>9,} {r['crs']:>5} {r['cell']:>6,.0f} {r['peer_cell']:>9,.0f} "
            f"{r['share']:>8.2%} {r['areas']:>5} {r['load']:>6.1f} {r['analyse']:>7.1f} {total:>7.1f}  "
            f"{' | '.join(r['labels'])}{'' if r['ok'] else '  (TOWN OUTSIDE THE AREA)'}",
            flush=True,
        )
    print(f"slowest force-year: {worst:.1f} s (goal 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
