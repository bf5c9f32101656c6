"""``hotspots national``: counts, density, Gi* and hotspot areas for a country's worth of incidents.

Streams the points in chunks (never all at once) through :func:`hotspots.national.run_national`
and writes a results folder with :func:`hotspots.export.national_outputs.write_national_outputs`
(Cloud-Optimised GeoTIFFs, the ``hotspot_areas`` GeoPackage layer, ``parameters.json`` and an
overview image). Inputs: police.uk folders, zips, ``.csv`` / ``.csv.gz`` files (converted once
into a cached Parquet file), or one Parquet file with ``x``/``y`` (British National Grid) or
``longitude``/``latitude`` columns. ``--scheduler local:N`` or ``tcp://host:8786`` reads and bins
the chunks on a Dask cluster.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import textwrap
import time
from collections.abc import Callable
from typing import Any

from .._errors import ParameterError
from . import command_record


def _number(kind: type, *, positive: bool = True) -> Callable[[str], Any]:
    def conv(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a {'whole ' if kind is int else ''}number; got {text!r}") from None
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number; got {text!r}")
        if positive and v <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0; got {text!r}")
        return v

    return conv


def check_arguments(args: argparse.Namespace) -> Any:
    """The arguments argparse cannot check alone, before anything is read: the inputs exist,
    ``--out`` (the results-folder rule of every command, :func:`hotspots.results_folder.results_folder`:
    a new or empty folder, or one hotspots wrote; nothing on disk changes yet), ``--months`` (the
    same month rule as ``load`` and ``analyse``), ``--mask-radius``, a ``--distance`` shorter than the cell size
    (:func:`hotspots.gistar.check_distance`), ``--alpha`` and ``--scheduler``.

    Returns
    -------
    ResultsFolder
        The checked ``--out``, to :meth:`~hotspots.results_folder.ResultsFolder.begin` when the
        results are ready to be written.
    """
    from .. import validation
    from ..gistar import check_distance
    from ..results_folder import results_folder

    with validation.collect() as problems:
        for path in args.inputs:
            problems.check(validation.input_path, path, "inputs")
        folder = problems.check(results_folder, args.out, command="national")  # refuses now; changes nothing yet
        if args.months is not None:
            args.months = problems.check(validation.month_range, args.months, "months")
        problems.check(validation.distance, args.mask_radius, "mask_radius", zero=True)
        if args.distance is not None:  # a band shorter than the cell size: refused now, not after reading the inputs
            problems.check(check_distance, args.distance, args.cell_size)
        problems.check(validation.significance, args.alpha)
        if args.scheduler is not None:
            s = args.scheduler.strip()
            if not (s.startswith("local:") or "://" in s):
                problems.add(f"`--scheduler` must be `local:N` or an address such as `tcp://host:8786`; got {s!r}.")
    return folder


def _categories(values: list[str] | None) -> list[str] | None:
    from ..schema import ASB_CATEGORY

    if not values:
        return [ASB_CATEGORY]
    if any(v.strip().lower() == "all" for v in values):
        return None
    return [v.strip() for v in values]


def run(args: argparse.Namespace) -> int:
    from ..validation import argument_names

    # the library's `categories` is this command's --category (`months` is --months already)
    with argument_names({"categories": "--category"}):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ..export.national_outputs import overview_caption, write_national_outputs
    from ..forces import FORCES
    from ..national import ENGLAND_WALES_BOUNDS, off_grid_note, run_national
    from ..national_inputs import (
        ENGLAND_WALES_FORCES,
        FORCES_OUTSIDE_GREAT_BRITAIN,
        missing_forces,
        month_span,
        outside_great_britain_note,
        prepare_inputs,
    )
    from .analyse import ProgressBar

    t_start = time.perf_counter()
    folder = check_arguments(args)
    out = folder.path
    say = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    bar = ProgressBar(enabled=not args.quiet)
    cats = _categories(args.category)

    t = time.perf_counter()
    # the England-and-Wales grid is British National Grid: Northern Ireland is not on it (its points
    # were gridded distorted, and Belfast ranked first of "England and Wales")
    outside = tuple(FORCES_OUTSIDE_GREAT_BRITAIN) if args.extent == "england-wales" else ()
    prepared = prepare_inputs(args.inputs, categories=cats, months=args.months, cache_dir=args.cache_dir,
                              progress=lambda step, f: bar(step, 0.3 * f), leave_out_forces=outside)
    # forces of England and Wales without a file: their areas show no incidents, not no hotspots
    without = missing_forces(prepared.rows_by_force) if args.extent == "england-wales" and prepared.rows_by_force else []
    if without:
        # wrapped: a regional run names most of the 43 forces
        say(textwrap.fill(f"warning: no incidents from {len(without)} of the {len(ENGLAND_WALES_FORCES)} England-and-Wales "
                          f"forces ({', '.join(without)}): their areas show no incidents, not an absence of hotspots",
                          width=100, subsequent_indent="  ", break_on_hyphens=False))
    for force, n_files in prepared.left_out.items():
        name, crs = FORCES_OUTSIDE_GREAT_BRITAIN[force]
        say(f"warning: {name}'s {n_files:,} file(s) left out: the England-and-Wales grid (British National Grid) does "
            f"not cover it; analyse {name} on its own with `hotspots analyse`, which uses {crs}")
    prep_s = time.perf_counter() - t
    pts = prepared.points
    stream_categories = prepared.categories
    if not args.category and stream_categories is not None and "category" not in pts.columns:
        # the default (ASB) applies to data that have categories; a plain x/y file is used whole
        say(f"{pts.path.name} has no `category` column: every point is used")
        stream_categories = None
    kept = f"{sum(prepared.rows_by_force.values()):,} police.uk incidents from {len(prepared.rows_by_force)} force(s)"
    dropped = ", ".join(f"{k} {v:,}" for k, v in sorted(prepared.dropped.items()))
    dropped = f"; dropped: {dropped}" if dropped else ""
    if prepared.converted:
        say(f"converted {kept} into {prepared.cache_path} in {prep_s:.1f} s{dropped}")
    elif prepared.cache_path is not None:
        say(f"using the converted points in the cache: {prepared.cache_path}"
            + (f" ({kept} when converted{dropped})" if prepared.rows_by_force else ""))
    say(f"reading {pts.rows:,} rows from {pts.path} ({pts.row_groups} row group(s), coordinates {pts.coords})")

    start = 0.3 if prepared.converted else 0.0
    if pts.rows == 0:  # police.uk inputs without points in the chosen categories and months are refused by prepare_inputs
        raise ParameterError(f"{pts.path} holds no rows. Give a Parquet file with points.")
    result = run_national(
        pts,
        cell_size=args.cell_size,
        bounds=ENGLAND_WALES_BOUNDS if args.extent == "england-wales" else None,
        bandwidth=args.bandwidth,
        kernel=args.kernel,
        distance=args.distance,
        mask_radius=None if args.mask_radius == 0 else args.mask_radius,
        alpha=args.alpha,
        fdr=not args.no_fdr,
        inference=args.inference,
        permutations=args.permutations,
        seed=args.seed,
        categories=stream_categories,
        months=prepared.months,
        applied_filters=prepared.applied,  # what the conversion selected: recorded in parameters.json
        leave_out_strays=not args.keep_strays,
        threads=args.threads,
        scheduler=args.scheduler,
        progress=lambda step, f: bar(step, start + (0.85 - start) * f),
    )
    t = time.perf_counter()
    dropped_rows = dict(prepared.dropped)  # police.uk: by the loaders; Parquet: while streaming (rows read = points + dropped)
    for k, v in result.params["dropped"].items():
        dropped_rows[k] = dropped_rows.get(k, 0) + v
    inputs = {"arguments": [str(p) for p in args.inputs], "points_file": str(pts.path), "rows": pts.rows,
              "converted_from_police_uk": prepared.converted, "rows_by_force": prepared.rows_by_force,
              "dropped_by_loader": dropped_rows, "prepare_s": prep_s, "forces_left_out": prepared.left_out,
              "forces_without_data": without}
    outside_gb = outside_great_britain_note(prepared.rows_by_force)  # e.g. Northern Ireland in British National Grid
    if outside_gb:
        result = dataclasses.replace(result, notes=(*result.notes, outside_gb))
    folder.begin()  # clears the files an earlier run listed in parameters.json; nothing else is touched
    written = write_national_outputs(result, out, inputs=inputs, min_confidence=args.min_confidence,
                                     progress=lambda step, f: bar(step, 0.85 + 0.15 * f), overview=not args.no_overview,
                                     command=command_record(args, "national"),
                                     caption=overview_caption(
                                         result.params["categories"], month_span(pts, prepared.months),
                                         [FORCES.get(f, f) for f, n in sorted(prepared.rows_by_force.items()) if n], without))
    folder.finish()  # lists every file written in parameters.json
    write_s = time.perf_counter() - t
    bar("done", 1.0)
    bar.done()

    p = result.params
    gi = result.gistar
    shown_early = set()
    if not args.quiet:
        if p["dropped"]:
            say(f"dropped {sum(p['dropped'].values()):,} of the {p['rows_read']:,} rows read: "
                + ", ".join(f"{k} {v:,}" for k, v in p["dropped"].items()))
        off = p["points_off_grid"]
        on_grid = f" ({p['n_points'] - off:,} on the grid, {off:,} off it)" if off else ""
        say(f"{p['n_points']:,} points{on_grid} on {p['grid_shape'][0]:,} x {p['grid_shape'][1]:,} cells of "
            f"{p['cell_size_m']:g} m; {p['cells_in_area']:,} cells in the study area")
        if off:
            england_wales = args.extent == "england-wales"
            shown_early.add(off_grid_note(off, p["n_points"], england_wales))  # the notes' wording, not repeated below
            say("warning: " + off_grid_note(off, p["n_points"], england_wales,
                                            "`--extent data` grids the points' own extent and keeps them"))
        if gi is not None:
            fdr_text = ", FDR" if p["fdr"] else ""
            level = f" at {1 - p['alpha']:.0%}" if p.get("alpha") is not None else ""
            classed = gi.bins[result.grid.active]  # what class.tif holds: every class from 90%
            h90, c90 = int((classed > 0).sum()), int((classed < 0).sum())
            wider = (f" ({h90:,} hot and {c90:,} cold in class.tif, from 90%)"
                     if (h90, c90) != (int(gi.hot.sum()), int(gi.cold.sum())) else "")
            say(f"Gi* ({p['inference_used']} inference, {p['distance_m']:g} m{fdr_text}): {int(gi.hot.sum()):,} hot and "
                f"{int(gi.cold.sum()):,} cold cells{level}{wider}; {written.n_hot_areas:,} hot areas, "
                f"{written.n_cold_areas:,} cold areas "
                f"at {(args.min_confidence or 1 - args.alpha):.0%}")
            if written.cold_note:  # what a cold area is here, and the cold cells on empty ground left out of them
                say(f"  note: {written.cold_note}")
            for n in gi.notes:  # e.g. classes that cannot be reached with so few permutations: said beside the counts
                say(f"  note: {n}")
                shown_early.add(n)
            if written.top_hot:
                n_hot = written.n_hot_areas
                more = f" (all {n_hot:,} in hotspot_areas.gpkg)" if n_hot > len(written.top_hot) else ""
                say(f"busiest hot areas{more}:")
                for line in written.top_hot:
                    say(f"  {line}")
        say("phase                      seconds   CPU s   peak MB")
        rows = [("strays (one pass)", "strays"), ("read (overlapped)", "read (overlapped)"),
                ("count + bin (overlapped)", "count + bin (overlapped, summed over threads)"),
                ("stream: read+count+bin", "stream"), ("study area", "mask"), ("density", "density"),
                ("Gi*", "gi_star"), ("FDR (inside Gi*)", "fdr (also inside gi_star)")]
        for label, key in rows:
            if key in result.timings:
                mb = result.peak_rss_mb.get(key)
                cpu = result.cpu_s.get(key)
                line = f"  {label:<25}{result.timings[key]:>8.2f}{'' if cpu is None else f'{cpu:>8.2f}':>8}"
                say((line + ('' if mb is None else f'{mb:>10,.0f}')).rstrip())
        say(f"  {'write':<25}{write_s:>8.2f}")
        for n in result.notes:
            if n not in shown_early:
                say(f"{'warning' if n == outside_gb else 'note'}: {n}")
    print(f"{out}: {', '.join(f.name for f in written.files.values())}  ({time.perf_counter() - t_start:.1f} s)")
    replaced = folder.replaced_note()  # an earlier run's files deleted: said, never silent
    if replaced:
        print(f"  {replaced}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "national",
        help="national-scale run: streamed counts, density, Gi* and hotspot areas, GeoTIFF and GeoPackage outputs",
        description=(
            "Count, kernel density, Gi* hot spots and hotspot areas on a grid over England and Wales (or the data's "
            "extent) for millions of incidents, streamed in chunks. Writes Cloud-Optimised GeoTIFFs (counts, density, "
            "Gi* z, class), hotspot_areas.gpkg, parameters.json and overview.png into --out."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="police.uk folders, zips or .csv/.csv.gz files, or one Parquet file with x/y (EPSG:27700) or "
                        "longitude/latitude columns")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="results folder: new (its parent must exist), empty, or written by an earlier national run "
                   "(its files are replaced, and the run says so); other folders are refused")
    p.add_argument("--cell-size", type=_number(float), default=250.0, metavar="M", help="cell size in metres (default 250)")
    p.add_argument("--category", action="append", metavar="NAME",
                   help="incident category to keep (repeatable; default 'Anti-social behaviour'); 'all' keeps every category")
    p.add_argument("--months", default=None, metavar="A:B", help="first and last month, e.g. 2025-01:2025-12")
    p.add_argument("--extent", choices=("england-wales", "data"), default="england-wales",
                   help="grid extent: England and Wales (default) or the points' own extent")
    p.add_argument("--keep-strays", action="store_true",
                   help="keep each force's stray points (groups more than 10 km from the rest of its incidents, by the rule "
                        "of analyse's study area); by default they are left out of the extent and every surface, and counted")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="read and bin on Dask: 'local:N' (N worker processes here) or a scheduler address 'tcp://host:8786'")
    g = p.add_argument_group("analysis")
    g.add_argument("--bandwidth", type=_number(float), default=1000.0, metavar="M", help="KDE bandwidth in metres (default 1000)")
    g.add_argument("--kernel", choices=("quartic", "epanechnikov", "gaussian"), default="quartic",
                   help="KDE kernel (default quartic)")
    g.add_argument("--distance", type=_number(float), default=None, metavar="M",
                   help="Gi* distance band in metres (default 750, or cell size x sqrt(2) when that is longer: "
                   "the 8 surrounding cells); at least the cell size")
    g.add_argument("--mask-radius", type=_number(float, positive=False), default=2000.0, metavar="M",
                   help="study area: cells within this distance of an incident, less the empty ground beyond the "
                        "outermost incidents (default 2000; 0 = every cell)")
    g.add_argument("--alpha", type=_number(float), default=0.05, help="significance level (default 0.05)")
    g.add_argument("--no-fdr", action="store_true", help="no false discovery rate control")
    g.add_argument("--inference", choices=("auto", "count", "randomisation", "permutation", "normal"), default="auto",
                   help="Gi* p-values (default auto: the exact count test for counts); 'normal' is the analytic test, "
                        "which flags hotspots in pure noise on sparse counts")
    g.add_argument("--permutations", type=_number(int, positive=False), default=0,
                   help="permutations for --inference permutation (default 0: the library's number)")
    g.add_argument("--seed", type=int, default=0, help="seed of the permutations (default 0)")
    g.add_argument("--min-confidence", type=float, choices=(0.90, 0.95, 0.99), default=None,
                   help="confidence of the cells merged into hotspot areas (default: 1 - alpha, as the classes)")
    g = p.add_argument_group("running")
    g.add_argument("--threads", type=_number(int), default=2, help="threads binning chunks on this machine (default 2)")
    g.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="where converted police.uk files are kept (default ~/.cache/hotspots/national)")
    g.add_argument("--no-overview", action="store_true", help="skip overview.png")
    g.add_argument("--quiet", action="store_true", help="no progress or summary; one line at the end")
    p.set_defaults(func=run)
