"""The national command's results folder: COG surfaces, hotspot areas, parameters and an overview image.

:func:`write_national_outputs` writes, from a :class:`~hotspots.national.NationalResult`:

===================== =====================================================================
file                  content
===================== =====================================================================
``counts.tif``        incidents per cell (float32; NaN outside the data's study area)
``density.tif``       kernel density, incidents per km² (float32)
``gi_z.tif``          Gi* z-score (float32)
``class.tif``         Gi* class: -3..3 = cold 99/95/90 %, not significant, hot 90/95/99 % (int8, nodata -128)
``hotspot_areas.gpkg`` layer ``hotspot_areas`` (hot areas, :func:`hotspots.areas.hotspot_areas`) and
                      layer ``coldspot_areas``, British National Grid; column ``near``: the
                      GeoNames place the area's busiest cell lies in (:func:`hotspots.places.areas_near`)
``parameters.json``   every setting, the inputs, counts, timings and peak memory
``overview.png``      the density over England and Wales with the hot areas on top
===================== =====================================================================

Rasters are Cloud-Optimised GeoTIFFs (:func:`hotspots.export.raster.write_cog`), written in
parallel threads (GDAL releases the GIL).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import style
from ..areas import as_multipolygons
from ..results_folder import SIDECAR_FORMAT
from .raster import write_cog

__all__ = ["NationalOutputs", "write_national_outputs", "RASTERS", "overview_caption", "cold_areas_note"]

#: Raster files written: (file name, what, stored type, units).
RASTERS = (
    ("counts.tif", "counts", "float32", "incidents per cell"),
    ("density.tif", "density", "float32", "incidents per km²"),
    ("gi_z.tif", "gi_z", "float32", "z-score"),
    ("class.tif", "class", "int8", "Gi* class (-3 cold 99% .. 3 hot 99%)"),
)
CLASS_NODATA = -128


@dataclass(frozen=True)
class NationalOutputs:
    """What :func:`write_national_outputs` wrote.

    Attributes
    ----------
    folder : Path
    files : dict of str to Path
        ``counts``, ``density``, ``gi_z``, ``class``, ``areas``, ``parameters``, ``overview``.
    n_hot_areas, n_cold_areas : int
    seconds : dict of str to float
        Seconds per part (``rasters``, ``areas``, ``overview``, ``parameters``).
    top_hot : tuple of str
        The busiest hot areas (up to :data:`TOP_LISTED`), one line each: ``"1. near Blackpool:
        1,234 incidents, 2.3 km², 99%"``.
    """

    folder: Path
    files: dict[str, Path]
    n_hot_areas: int
    n_cold_areas: int
    seconds: dict[str, float] = field(default_factory=dict)
    top_hot: tuple[str, ...] = ()
    cold_note: str | None = None


def _significant(gi: Any, min_confidence: float | None, kind: str) -> np.ndarray:
    """The cells :func:`hotspots.areas.hotspot_areas` merges at ``min_confidence`` (None: the Gi* alpha)."""
    if min_confidence is None:
        sel = gi.hot if kind == "hot" else gi.cold
    else:
        level = {0.90: 1, 0.95: 2, 0.99: 3}.get(round(float(min_confidence), 2), 1)
        sel = gi.bins >= level if kind == "hot" else gi.bins <= -level
    return np.asarray(sel, dtype=bool) & gi.grid.active


def cold_areas_note(n_cold: int, n_left: int, background_m: float) -> str:
    """What a cold area is here (:func:`hotspots.areas.quiet_patches`), and the cold cells left out of them."""
    return (
        f"cold areas are quiet patches surrounded by busy ground: cold cells (significantly fewer incidents around them "
        f"than the study area's average) with at least the average number of incidents within {background_m:,.0f} m, "
        f"busy ground on every side; {n_left:,} of the {n_cold:,} cold cells lie on sparse or empty ground or open onto it "
        "(fields, moorland, the edges of towns), where few incidents happen anyway, and form no cold area (they stay in "
        "class.tif)"
    )


#: Hot areas listed by :attr:`NationalOutputs.top_hot`.
TOP_LISTED = 10


def _top_lines(areas: Any, k: int = TOP_LISTED) -> tuple[str, ...]:
    """One line per busiest area (the areas come ranked by incidents)."""
    out = []
    for r in areas.head(k).itertuples():
        near = f"near {r.near}" if isinstance(r.near, str) else "(no place near)"
        out.append(f"{r.area_id}. {near}: {int(round(r.count)):,} incidents, {r.area_km2:,.2f} km², {r.peak_confidence}")
    return tuple(out)


#: Forces without data named one by one under ``overview.png``'s title; more are counted, and
#: listed in ``parameters.json`` (``inputs.forces_without_data``).
NAMED_MISSING = 6
#: Characters per line of ``overview.png``'s title (the figure is 7.5 inches wide at 9 points: about 100 fit).
TITLE_WIDTH = 80


def _month_text(month: str) -> str:
    import calendar

    y, m = month.split("-")[:2]
    return f"{calendar.month_abbr[int(m)]} {y}"


def overview_caption(
    categories: list[str] | None,
    months: tuple[str, str] | list[str] | None,
    forces: list[str],
    without: list[str],
    *,
    region: str = "England and Wales",
) -> str:
    """What ``overview.png`` shows, under its title: the categories, the months and the forces
    (names), and the forces of ``region`` without data (named up to :data:`NAMED_MISSING`, else
    counted and left to ``parameters.json``). Lines are wrapped at :data:`TITLE_WIDTH` characters.

    Parameters
    ----------
    categories : list of str or None
        None: every category.
    months : ('YYYY-MM', 'YYYY-MM') or None
        The first and last month of the data shown (None: not known).
    forces : list of str
        Names of the forces with data (empty: not police.uk files).
    without : list of str
        Names of the forces of ``region`` with no data.

    Examples
    --------
    >>> print(overview_caption(["Anti-social behaviour"], ("2025-04", "2025-09"), ["Cleveland Police"], ["A", "B"]))
    Anti-social behaviour, Apr 2025 to Sep 2025; Cleveland Police
    no data from A, B: their areas show no incidents, not an absence of hot spots
    """
    import textwrap

    what = ", ".join(categories) if categories else "every category"
    if months:
        first, last = (_month_text(m) for m in months)
        what += f", {first}" if first == last else f", {first} to {last}"
    if forces:
        what += "; " + (", ".join(forces) if len(forces) <= NAMED_MISSING else f"{len(forces)} forces")
    lines = [what]
    if without:
        if len(without) <= NAMED_MISSING:
            lines.append(f"no data from {', '.join(without)}: their areas show no incidents, not an absence of hot spots")
        else:
            lines.append(f"{len(without)} forces of {region} have no data here (listed in parameters.json): "
                         "their areas show no incidents, not an absence of hot spots")
    return "\n".join(w for line in lines for w in textwrap.wrap(style.keep_units(line), TITLE_WIDTH))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, Path):
        return str(v)
    return v


def write_national_outputs(
    result: Any,
    folder: str | Path,
    *,
    inputs: dict[str, Any] | None = None,
    min_confidence: float | None = None,
    progress: Callable[[str, float], None] | None = None,
    overview: bool = True,
    command: Mapping[str, Any] | None = None,
    caption: str | None = None,
) -> NationalOutputs:
    """Write the results folder of a national run (see the module documentation).

    Parameters
    ----------
    result : NationalResult
        From :func:`hotspots.national.run_national` (with density and Gi*).
    folder : path
        Existing or new folder (its parent must exist). Files of the same names are replaced: the
        command line checks ``--out`` first with :func:`hotspots.results_folder.results_folder`
        (a new or empty folder, or one hotspots wrote) and lists the files written.
    inputs : dict, optional
        What was read (files, conversion, rows per force), recorded in ``parameters.json``.
    min_confidence : float or None
        Confidence of the cells merged into hotspot areas (0.90, 0.95 or 0.99); None (default):
        the cells significant at the Gi* result's own ``alpha``, as :func:`hotspots.areas.hotspot_areas`.
    progress : callable, optional
        ``progress(step, fraction)`` per file written.
    overview : bool
        Draw ``overview.png``.
    command : dict, optional
        The run's ``command`` (one shell line) and ``working_directory``, recorded in
        ``parameters.json`` (the command line's :func:`hotspots.commands.command_record`); without
        it, ``command`` is ``"hotspots national"``.
    caption : str, optional
        Lines under ``overview.png``'s title: what the data are (:func:`overview_caption`:
        categories, months, forces, forces without data).
    """
    from ..areas import BACKGROUND_BANDS, busy_ground, hotspot_areas, quiet_patches
    from ..places import areas_near

    report = progress or (lambda step, f: None)
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    grid = result.grid
    gi = result.gistar
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    files: dict[str, Path] = {}

    t, c = time.perf_counter(), time.process_time()
    layers: dict[str, tuple[np.ndarray, Any]] = {"counts": (result.counts.values, None)}
    if result.density is not None:
        layers["density"] = (result.density.values, None)
    if gi is not None:
        layers["gi_z"] = (gi.z, None)
        cls = np.where(grid.active, gi.bins, CLASS_NODATA).astype(np.int8)
        layers["class"] = (cls, CLASS_NODATA)
    jobs = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for name, what, dtype, units in RASTERS:
            if what not in layers:
                continue
            vals, nodata = layers[what]
            jobs.append((what, pool.submit(write_cog, folder / name, vals, grid, dtype=dtype, nodata=nodata,
                                           description=what, units=units)))
        for k, (what, fut) in enumerate(jobs, start=1):
            files[what] = fut.result()
            report(f"wrote {files[what].name}", k / (len(jobs) + 3))
    seconds["rasters"] = time.perf_counter() - t
    cpu["rasters"] = time.process_time() - c

    n_hot = n_cold = n_cold_cells = n_empty = 0
    top_hot: tuple[str, ...] = ()
    cold_note = None
    shown_cold = None
    if gi is not None:
        t, c = time.perf_counter(), time.process_time()
        hot = hotspot_areas(gi, min_confidence=min_confidence, kind="hot")
        # cold areas only where busy ground surrounds them: empty ground is cold because little happens anywhere near it
        cold_cells = _significant(gi, min_confidence, "cold")
        quiet = quiet_patches(cold_cells, busy_ground(gi))
        cold = hotspot_areas(gi, min_confidence=min_confidence, kind="cold", within=quiet)
        n_cold_cells = int(cold_cells.sum())
        n_empty = int((cold_cells & ~quiet).sum())
        background_m = BACKGROUND_BANDS * float(gi.params["distance_m"])
        cold_note = cold_areas_note(n_cold_cells, n_empty, background_m) if n_cold_cells else None
        n_hot, n_cold = hot.n_areas, cold.n_areas
        for found in (hot, cold):  # the streamed points keep no street names: the place each area's busiest cell is in
            found.areas.insert(2, "near", areas_near(found.labels, result.counts.values, grid))
        top_hot = _top_lines(hot.areas)
        gpkg = folder / "hotspot_areas.gpkg"
        tmp = folder / "hotspot_areas.tmp.gpkg"
        if tmp.exists():
            tmp.unlink()
        for layer, found in (("hotspot_areas", hot), ("coldspot_areas", cold)):  # MultiPolygon even when empty
            as_multipolygons(found.areas).to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", geometry_type="MultiPolygon")
        tmp.replace(gpkg)
        files["areas"] = gpkg
        shown_cold = cold.labels > 0
        seconds["areas"] = time.perf_counter() - t
        cpu["areas"] = time.process_time() - c
        report(f"wrote {gpkg.name}: {n_hot:,} hot and {n_cold:,} cold areas", (len(jobs) + 1) / (len(jobs) + 3))

    if overview and result.density is not None:
        t, c = time.perf_counter(), time.process_time()
        files["overview"] = _overview(result, folder / "overview.png", min_confidence, caption=caption, cold=shown_cold)
        seconds["overview"] = time.perf_counter() - t
        cpu["overview"] = time.process_time() - c
        report("wrote overview.png", (len(jobs) + 2) / (len(jobs) + 3))

    t = time.perf_counter()
    area_conf = min_confidence if min_confidence is not None else (None if gi is None else 1 - gi.params["alpha"])
    record = {
        "format": SIDECAR_FORMAT,  # the results-folder rule knows the folder as hotspots' by it
        "command": "hotspots national",
        **(command or {}),
        "inputs": inputs or {},
        "parameters": result.params,
        "study_area": {"cells_in_area": int(grid.n_cells), "cells": int(grid.n_rows * grid.n_cols),
                       "rule": "cells within mask_radius_m of a cell holding an incident and within the incidents' reach "
                               "(hotspots.footprint.cells_within_reach)"},
        "grid": {"crs": "EPSG:27700", "xmin": grid.xmin, "ymax": grid.ymax, "cell_size_m": grid.cell_size,
                 "n_rows": grid.n_rows, "n_cols": grid.n_cols},
        "counts": {"points": result.counts.params.get("n_points"), "in_area": float(np.nansum(result.counts.values)),
                   "off_grid": result.counts.params.get("points_off_grid"),
                   "outside_area": result.counts.params.get("points_outside_area")},
        "density": None if result.density is None else {
            k: result.density.params.get(k) for k in ("bandwidth_m", "kernel", "method", "chunks")
        },
        "gi_star": None if gi is None else {
            "distance_m": gi.params.get("distance_m"), "fdr": gi.params.get("fdr"), "alpha": gi.params.get("alpha"),
            "permutations": gi.params.get("permutations"), "p_decision": gi.params.get("p_decision"),
            "hot_cells": int(gi.hot.sum()), "cold_cells": int(gi.cold.sum()),
        },
        "areas": {"min_confidence": area_conf, "hot": n_hot, "cold": n_cold, "layer": "hotspot_areas",
                  "cold_rule": "cold cells surrounded by busy ground (hotspots.areas.quiet_patches, busy_ground)",
                  "cold_cells": n_cold_cells, "cold_cells_not_in_areas": n_empty, "cold_note": cold_note},
        "timings_s": result.timings,
        "write_s": seconds,
        "cpu_s": {**result.cpu_s, **{f"write {k}": v for k, v in cpu.items()}},
        "peak_rss_mb": result.peak_rss_mb,
        "notes": list(result.notes),
        "files": {k: v.name for k, v in files.items()},
    }
    pj = folder / "parameters.json"
    pj.write_text(json.dumps(_jsonable(record), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files["parameters"] = pj
    seconds["parameters"] = time.perf_counter() - t
    report("wrote parameters.json", 1.0)
    return NationalOutputs(folder, files, n_hot, n_cold, seconds, top_hot, cold_note)


def _block_reduce(a: np.ndarray, f: int, how: str) -> np.ndarray:
    """``a`` reduced by ``f`` x ``f`` blocks (NaN-aware mean, or any), padding the edges with NaN / False."""
    if f <= 1:
        return a
    r, c = a.shape
    R, C = -(-r // f) * f, -(-c // f) * f
    fill = np.nan if how == "mean" else False
    pad = np.full((R, C), fill, dtype=float if how == "mean" else bool)
    pad[:r, :c] = a
    blocks = pad.reshape(R // f, f, C // f, f)
    if how == "any":
        return blocks.any(axis=(1, 3))
    with np.errstate(invalid="ignore"):
        s = np.nansum(blocks, axis=(1, 3))
        n = np.sum(np.isfinite(blocks), axis=(1, 3))
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _data_view(grid: Any, margin: float = 0.04) -> tuple[float, float, float, float]:
    """``(xmin, xmax, ymin, ymax)`` of the grid's active cells (the study area), widened by
    ``margin`` of the larger side; the whole grid when no cell is active."""
    active = np.asarray(grid.active)
    rows, cols = np.flatnonzero(active.any(axis=1)), np.flatnonzero(active.any(axis=0))
    if not len(rows):
        return (grid.xmin, grid.xmax, grid.ymin, grid.ymax)
    cs = grid.cell_size
    x0, x1 = grid.xmin + cols[0] * cs, grid.xmin + (cols[-1] + 1) * cs
    y1, y0 = grid.ymax - rows[0] * cs, grid.ymax - (rows[-1] + 1) * cs
    pad = margin * max(x1 - x0, y1 - y0)
    return (x0 - pad, x1 + pad, y0 - pad, y1 + pad)


def _scale_bar(ax: Any, view: tuple[float, float, float, float]) -> None:
    """A scale bar in the lower left: a round length near a fifth of the view's width."""
    width = view[1] - view[0]
    target = width / 5
    length = max(v for v in (1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5) if v <= max(target, 1e3))
    x0, y0 = view[0] + 0.04 * width, view[2] + 0.04 * (view[3] - view[2])
    ax.plot([x0, x0 + length], [y0, y0], color="#222222", linewidth=2.5, solid_capstyle="butt")
    ax.text(x0 + length / 2, y0 + 0.012 * (view[3] - view[2]), f"{length / 1000:g} km", ha="center", va="bottom",
            fontsize=7, color="#222222")


def overview_spots_text(cold: Any) -> str:
    """What the overview's title says it draws: ``"hot spots (red), cold spots (blue)"``, ``"hot spots (red);
    no cold spots"`` when cold spots were looked for and none found, ``"hot spots (red)"`` when not looked for
    (``cold`` None). "no quiet patch amid busy ground" read as a riddle; the notes say what a cold spot is.

    >>> overview_spots_text(np.zeros(3, bool)), overview_spots_text(None)
    ('hot spots (red); no cold spots', 'hot spots (red)')
    """
    if cold is None:
        return "hot spots (red)"
    return "hot spots (red), cold spots (blue)" if np.asarray(cold, dtype=bool).any() else "hot spots (red); no cold spots"


def _overview(result: Any, path: Path, min_confidence: float | None, max_px: int = 1000, caption: str | None = None,
              cold: np.ndarray | None = None) -> Path:
    """Density (log scale) with significant hot cells in red and the cold areas' cells (``cold``,
    surrounded by busy ground) in blue, the study area's extent, one image.

    The grids are reduced to at most ``max_px`` cells a side first (mean density, any hot cell
    per block), about the image's resolution.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap, LogNorm

    grid = result.grid
    f = max(1, math.ceil(max(grid.shape) / max_px))
    d = _block_reduce(np.asarray(result.density.values, dtype=float), f, "mean")
    pos = d[np.isfinite(d) & (d > 0)]
    fig, ax = plt.subplots(figsize=(7.5, 8.5), dpi=150)
    ax.set_facecolor("#f4f4f4")
    extent = (grid.xmin, grid.xmax, grid.ymin, grid.ymax)
    if pos.size:
        lo, hi = np.quantile(pos, [0.05, 0.9995])
        shown = np.where(d > lo, d, np.nan)
        # greys under the red hot spots: a red or magma scale made dense places look like hot spots
        im = ax.imshow(shown, extent=extent, cmap=style.DENSITY_UNDER_HOT_CMAP,
                       norm=LogNorm(vmin=max(lo, 1e-6), vmax=max(hi, lo * 10)),
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.6, label="incidents per km² (log scale)")
    gi = result.gistar
    if gi is not None:
        if min_confidence is None:
            min_confidence = 1.0 - float(gi.params["alpha"])
            sig = gi.hot & grid.active
        else:
            level = {0.90: 1, 0.95: 2, 0.99: 3}.get(round(min_confidence, 2), 1)
            sig = (gi.bins >= level) & grid.active
        hot = _block_reduce(sig, f, "any")
        ax.imshow(np.ma.masked_where(~hot, hot.astype(float)), extent=extent,
                  cmap=ListedColormap([style.GI_CLASS_COLOURS["hot 99%"]]), alpha=0.9, interpolation="nearest")
        if cold is not None and cold.any():
            blue = _block_reduce(np.asarray(cold, dtype=bool) & ~sig, f, "any")
            ax.imshow(np.ma.masked_where(~blue, blue.astype(float)), extent=extent,
                      cmap=ListedColormap([style.GI_CLASS_COLOURS["cold 99%"]]), alpha=0.9, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    view = _data_view(grid)  # the study area's cells, not the whole England-and-Wales grid around a few forces
    ax.set_xlim(view[0], view[1])
    ax.set_ylim(view[2], view[3])
    _scale_bar(ax, view)
    p = result.params
    conf = f"{min_confidence:.0%} " if min_confidence is not None else ""
    off = int(result.counts.params.get("points_off_grid") or 0)
    drawn = int(p.get("n_points", 0)) - off  # the points on the grid: counts.tif's sum
    off_text = f"\n{off:,} more lie off the grid: not counted, nor drawn" if off else ""
    strays = p.get("strays")
    n_strays = int(strays.get("points_left_out", 0)) if isinstance(strays, dict) else 0
    if n_strays:  # left out of the extent and every surface by run_national: said, with where they are listed
        off_text += f"\n{n_strays:,} stray point(s) far from the rest of their force left out (parameters.json)"
    spots = overview_spots_text(cold)
    import textwrap

    head = "\n".join(textwrap.wrap(style.keep_units(f"{drawn:,} incidents, {p.get('cell_size_m', 0):g} m cells: density, "
                                                    f"{conf}Gi* {spots}"),
                                   TITLE_WIDTH))  # the figure's width: a longer line ran off both edges
    ax.set_title(head + off_text + (f"\n{caption}" if caption else ""), fontsize=9)
    ax.set_aspect("equal")
    fig.tight_layout()
    # The layout is fixed now: without a layout engine savefig draws the figure once, not twice
    # (once to lay it out, once to render); PNG compression level 1: a few per cent larger, a
    # third of the encoding time.
    fig.set_layout_engine("none")
    fig.savefig(path, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return path
