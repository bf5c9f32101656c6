"""Check: is the demo data's spatial pattern in the range of real police.uk ASB data?

Run from the repository root::

    python -m benchmarks.demo_realism            # demo (seed 0; all 39 months and the last 12) and real
                                                 # Derbyshire and Leicestershire (2025), 500 m and 250 m
    python -m benchmarks.demo_realism --seed 3   # another demo seed
    python -m benchmarks.demo_realism --no-real  # the demo only

For each data set and cell size, the default input preparation and hotspot stage
(:func:`hotspots.pipeline.prepare_inputs`, :func:`hotspots.pipeline.hotspot_stage`; only the cell
size fixed) and one line: hotspot areas, their km² and share of incidents, the largest area, the
count test's background fit (mean incidents per cell, negative binomial ``kappa``), hot and cold
cells. Then the concentration of the incidents: the share in the busiest 5 % of 500 m cells
(cells with at least one incident... and of all cells in the study area) and in the busiest 5 % of
distinct map points (police.uk's snap points; the demo's 50 m lattice points).

Real data: ``../shared/data/police_uk/derbyshire`` (and ``leicestershire``), skipped when absent.
Nothing here asserts: the figures are for a human (the demo's realism goals are in
``hotspots/demo/_model.py``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "police_uk"


def stage_figures(prepared, cell_size: float, planted=None) -> dict:
    """The default hotspot stage at ``cell_size`` and its headline figures."""
    from dataclasses import replace

    from hotspots.pipeline import hotspot_stage

    settings = replace(prepared.settings, cell_size=float(cell_size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = hotspot_stage(prepared.incidents, settings, prepared.study_area)
    a = st.areas.areas
    classes = st.gi.classes
    bg = st.gi.params.get("background") or {}
    planted_in = treated_in = (0, 0)
    if planted is not None:
        import shapely

        hot = shapely.union_all(a.geometry.values) if len(a) else shapely.Point()
        inside = shapely.contains_xy(hot, planted["easting"].to_numpy(float), planted["northing"].to_numpy(float))
        t = planted["treated"].to_numpy(bool)
        planted_in, treated_in = (int(inside.sum()), len(inside)), (int(inside[t].sum()), int(t.sum()))
    return {
        "planted": planted_in,
        "treated": treated_in,
        "cell": st.grid.cell_size,
        "areas": st.areas.n_areas,
        "km2": float(a["area_km2"].sum()) if len(a) else 0.0,
        "largest": float(a["area_km2"].max()) if len(a) else 0.0,
        "share": st.hot_share,
        "mean": bg.get("mean", float("nan")),
        "kappa": bg.get("kappa", float("nan")),
        "hot": int(np.char.startswith(classes.astype(str), "hot").sum()),
        "cold": int(np.char.startswith(classes.astype(str), "cold").sum()),
    }


def concentration(incidents, study_area, cell: float = 500.0, top: float = 0.05) -> dict:
    """Share of incidents in the busiest ``top`` of ``cell``-metre cells and of distinct map points."""
    import shapely

    xy = shapely.get_coordinates(incidents.geometry.values)
    i = np.floor(xy[:, 0] / cell).astype(np.int64)
    j = np.floor(xy[:, 1] / cell).astype(np.int64)
    _, per_cell = np.unique(np.stack([i, j], 1), axis=0, return_counts=True)
    n = len(xy)

    def top_share(counts: np.ndarray, n_units: int) -> float:
        k = max(1, int(round(top * n_units)))
        return float(np.sort(counts)[::-1][:k].sum() / n)

    area = shapely.union_all(study_area.to_crs(incidents.crs).geometry.values)
    n_cells_area = int(round(area.area / cell**2))
    _, per_point = np.unique(np.round(xy), axis=0, return_counts=True)
    return {
        "cells_used": top_share(per_cell, per_cell.size),
        "cells_area": top_share(per_cell, n_cells_area),
        "points": top_share(per_point, per_point.size),
        "n_points": int(per_point.size),
    }


def report(name: str, incidents, sizes=(500.0, 250.0), planted=None) -> None:
    """Print the lines of one data set; ``planted``: the demo's hotspot table (ground truth), whose
    centres inside hotspot areas are counted (all planted, and the treated ones)."""
    from hotspots.pipeline import Settings, prepare_inputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_inputs(incidents, settings=Settings())
    for cs in sizes:
        f = stage_figures(prepared, cs, planted)
        truth = (
            ""
            if planted is None
            else f"  planted centres in areas {f['planted'][0]}/{f['planted'][1]}, treated {f['treated'][0]}/{f['treated'][1]}"
        )
        print(
            f"{name:<22} {len(prepared.incidents):>7,} {f['cell']:>5.0f} {f['areas']:>5} {f['km2']:>7.1f} {f['largest']:>7.1f} "
            f"{f['share']:>6.1%} {f['mean']:>6.2f} {f['kappa']:>6.1f} {f['hot']:>5} {f['cold']:>5}{truth}",
            flush=True,
        )
    c = concentration(prepared.incidents, prepared.study_area)
    print(
        f"{'':<22} busiest 5 %: of used 500 m cells {c['cells_used']:.1%}, of the area's 500 m cells {c['cells_area']:.1%}, "
        f"of {c['n_points']:,} map points {c['points']:.1%}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="demo seed (default 0)")
    ap.add_argument("--no-real", action="store_true", help="skip the real police.uk data")
    args = ap.parse_args(argv)
    from hotspots.demo import generate_demo

    print(
        f"{'data':<22} {'inc.':>7} {'cell':>5} {'areas':>5} {'km2':>7} {'largest':>7} {'in hot':>6} {'bg mu':>6} "
        f"{'kappa':>6} {'hot':>5} {'cold':>5}"
    )
    import pandas as pd

    d = generate_demo(args.seed)
    report(f"demo seed {args.seed}", d.incidents, planted=pd.DataFrame(d.ground_truth["hotspots"]))
    last = d.incidents["month"] >= d.incidents["month"].max() - pd.DateOffset(months=11)
    report("demo, last 12 months", d.incidents[last], planted=pd.DataFrame(d.ground_truth["hotspots"]))
    if args.no_real:
        return 0
    from hotspots.io import load_police_uk

    for force in ("derbyshire", "leicestershire"):
        d = DATA / force
        if not d.is_dir() or not list(d.glob("*.csv")):
            print(f"{force}: skipped, {d} not found")
            continue
        report(f"real {force}", load_police_uk(d, categories="asb").data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
