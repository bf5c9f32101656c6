"""National-scale batch path: ~10^7 incidents on a 250 m grid over England and Wales.

England and Wales ASB for several years is of order 10^7 points; a 250 m grid over both nations
has about 2,600 x 2,300 = 6 million cells. The engine's functions already work at that size
without any ``n x n`` structure (counts by ``np.bincount``, KDE by moment grids and FFT or
point-by-point scatter, Gi* by disc-stencil neighbour sums, FDR by one sort), so this module
only adds what a batch run needs around them:

* :func:`write_points_parquet` / :func:`read_xy_parquet` / :func:`iter_xy_parquet`: points as
  ``x``/``y`` columns in Parquet (float32 by default: 6 cm resolution at the largest BNG
  coordinates, far below police.uk's anonymisation and the 250 m cell; half the memory and I/O
  of float64), read in row groups without building shapely geometries;
* :func:`count_chunks`: counts accumulated chunk by chunk (memory independent of the number
  of points), equal to :func:`hotspots.grid.count`;
* :func:`data_mask`: a study area built from the data, since no England-and-Wales boundary
  ships with hotspots: the cells within ``radius`` metres (centre to centre) of a cell holding
  at least one incident. This keeps the sea and empty uplands out of Gi*'s ``n`` and the FDR's
  number of tests; its choice is announced in the result's notes;
* :func:`run_national`: load, count, mask, KDE, Gi* and FDR in one call, with the time and
  peak memory of each step.

Measured on 10^7 points, 250 m over England and Wales, two shared cores (``python -m
benchmarks.national``): 12-18 s in all (load 1.5-2 s, count 2 s, mask 0.7 s, KDE 6-10 s, Gi* with
FDR 1-4 s) and a peak of 1.3-1.5 GB resident (points: 80 MB as float32, 160 MB as float64; a
float64 grid: 48 MB; the KDE's working space dominates).
"""

from __future__ import annotations

import math
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ._errors import InputError, ParameterError
from .fdr import bh_adjust
from .gistar import GiStarResult, gi_star
from .grid import Grid, GridValues, point_weights, points_xy
from .density import KDEResult, kde
from .neighbours import disc_stencil, neighbour_sum

__all__ = [
    "ENGLAND_WALES_BOUNDS",
    "national_grid",
    "write_points_parquet",
    "iter_xy_parquet",
    "read_xy_parquet",
    "count_chunks",
    "data_mask",
    "NationalResult",
    "run_national",
    "peak_rss_mb",
    "police_uk_to_parquet",
    "ConversionSummary",
]

#: British National Grid extent of England and Wales (metres): Isles of Scilly to Lowestoft,
#: the Lizard to Berwick-upon-Tweed.
ENGLAND_WALES_BOUNDS = (82_000.0, 5_000.0, 656_000.0, 658_000.0)
#: Rows per Parquet row group / per chunk when counting.
CHUNK_ROWS = 1_000_000


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB.

    ``VmHWM`` from ``/proc/self/status`` on Linux (the high-water mark of this program's own
    memory; ``ru_maxrss`` would also carry the parent's peak across ``fork`` + ``exec``), else
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def national_grid(cell_size: float = 250.0, *, bounds: tuple[float, float, float, float] = ENGLAND_WALES_BOUNDS, mask: Any = None) -> Grid:
    """A grid over England and Wales (or ``bounds``) in British National Grid.

    At 250 m: 2,613 rows x 2,297 columns (6.0 million cells). The large-grid warning of
    :meth:`Grid.from_bounds` is expected here and not repeated.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="large grid")
        return Grid.from_bounds(bounds, cell_size, 27700, mask)


# --------------------------------------------------------------------------- Parquet points
def write_points_parquet(
    path: str | Path,
    xy: Any,
    *,
    columns: dict[str, Any] | None = None,
    float32: bool = True,
    row_group_size: int = CHUNK_ROWS,
) -> Path:
    """Write points (metres, BNG) to Parquet as ``x``/``y`` columns, plus optional columns.

    Parameters
    ----------
    path : path
        Output file (written to a temporary name, then renamed).
    xy : GeoDataFrame, GeoSeries or (n, 2) array
        Points in British National Grid.
    columns : dict of str to array-like, optional
        Extra columns of length n (e.g. ``month``, ``category``).
    float32 : bool
        Store coordinates as float32 (resolution 1/16 m at 600 km; default) or float64.
    row_group_size : int
        Rows per row group (the unit :func:`iter_xy_parquet` reads).
    """
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    arr = points_xy(xy, name="xy")
    dt = np.float32 if float32 else np.float64
    cols: dict[str, Any] = {"x": pa.array(arr[:, 0].astype(dt)), "y": pa.array(arr[:, 1].astype(dt))}
    for k, v in (columns or {}).items():
        if len(v) != len(arr):
            raise ParameterError(f"column `{k}` has {len(v)} values for {len(arr)} points.")
        cols[k] = pa.array(np.asarray(v)) if not hasattr(v, "__arrow_array__") else pa.array(v)
    table = pa.table(cols)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, row_group_size=int(row_group_size), compression="zstd")
    os.replace(tmp, path)
    return path


def _open_parquet(path: str | Path) -> Any:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path} cannot be read as Parquet ({str(exc)[:200]}).") from None
    names = pf.schema_arrow.names
    missing = [c for c in ("x", "y") if c not in names]
    if missing:
        raise InputError(
            f"{path} has no column(s) {', '.join(f'`{m}`' for m in missing)}; expected `x` and `y` in British National Grid "
            f"metres (found: {', '.join(f'`{n}`' for n in names[:10])}). Write it with `write_points_parquet`."
        )
    return pf


def iter_xy_parquet(path: str | Path, *, batch_rows: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
    """Yield the points of a Parquet file in chunks of ``(k, 2)`` float64 arrays (x, y)."""
    pf = _open_parquet(path)
    for batch in pf.iter_batches(batch_size=int(batch_rows), columns=["x", "y"]):
        out = np.empty((batch.num_rows, 2), dtype=np.float64)
        out[:, 0] = batch.column(0).to_numpy(zero_copy_only=False)
        out[:, 1] = batch.column(1).to_numpy(zero_copy_only=False)
        yield out


def read_xy_parquet(path: str | Path, *, dtype: Any = np.float64) -> np.ndarray:
    """All points of a Parquet file as one ``(n, 2)`` array (``dtype`` float64 or float32)."""
    pf = _open_parquet(path)
    n = pf.metadata.num_rows
    out = np.empty((n, 2), dtype=dtype)
    i = 0
    for batch in pf.iter_batches(batch_size=CHUNK_ROWS, columns=["x", "y"]):
        k = batch.num_rows
        out[i : i + k, 0] = batch.column(0).to_numpy(zero_copy_only=False)
        out[i : i + k, 1] = batch.column(1).to_numpy(zero_copy_only=False)
        i += k
    return out


@dataclass(frozen=True)
class ConversionSummary:
    """What :func:`police_uk_to_parquet` wrote.

    Attributes
    ----------
    path : Path
        The Parquet file (columns ``x``, ``y``, ``month``, ``category``, ``force``).
    rows : int
        Points written.
    groups : dict of str to int
        Points written per force (file-name group).
    reports : dict of str to LoadReport
        The load report of each group.
    """

    path: Path
    rows: int
    groups: dict[str, int]
    reports: dict[str, Any]


def police_uk_to_parquet(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    categories: Any = None,
    months: Any = None,
    cache: bool | str = False,
    cache_dir: Any = None,
    float32: bool = True,
) -> ConversionSummary:
    """Load many police.uk files force by force and append their points to one Parquet file.

    Memory stays at one force's worth of rows: files are grouped by the force in their names
    (``2025-01-derbyshire-street.csv.gz`` -> ``derbyshire``), each group is loaded with
    :func:`hotspots.io.load_police_uk` (so duplicate ids are found within a force, as in a
    one-force load) and written as a row group. Rows without a location are dropped by the loader
    and counted in its report.

    Parameters
    ----------
    paths : iterable of paths
        police.uk street-level files (``.csv`` or ``.csv.gz``).
    out : path
        The Parquet file to write.
    categories, months, cache, cache_dir
        Passed to :func:`~hotspots.io.load_police_uk`.
    float32 : bool
        Store x/y as float32.
    """
    import os
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq

    from .io import load_police_uk

    pat = re.compile(r"^\d{4}-\d{2}-(.+)-street\.csv(\.gz)?$", re.I)
    groups: dict[str, list[Path]] = {}
    for p in paths:
        p = Path(p)
        m = pat.match(p.name)
        groups.setdefault(m.group(1).lower() if m else p.stem, []).append(p)
    if not groups:
        raise InputError("no police.uk files given.")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    dt = pa.float32() if float32 else pa.float64()
    schema = pa.schema([("x", dt), ("y", dt), ("month", pa.timestamp("ns")), ("category", pa.string()), ("force", pa.string())])
    written: dict[str, int] = {}
    reports: dict[str, Any] = {}
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for force, files in sorted(groups.items()):
            data, report = load_police_uk(sorted(files), categories=categories, months=months, cache=cache, cache_dir=cache_dir)
            reports[force] = report
            written[force] = len(data)
            if not len(data):
                continue
            xy = np.column_stack([data.geometry.x.to_numpy(), data.geometry.y.to_numpy()])
            table = pa.table(
                {
                    "x": pa.array(xy[:, 0], type=pa.float64()).cast(dt),
                    "y": pa.array(xy[:, 1], type=pa.float64()).cast(dt),
                    "month": pa.array(data["month"].to_numpy(dtype="datetime64[ns]")),
                    "category": pa.array(data["category"].astype(object).to_numpy(), type=pa.string()),
                    "force": pa.array([force] * len(data), type=pa.string()),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=CHUNK_ROWS)
    os.replace(tmp, out)
    return ConversionSummary(out, int(sum(written.values())), written, reports)


# --------------------------------------------------------------------------- counting
def count_chunks(chunks: Iterable[Any], grid: Grid, *, weights: Iterable[Any] | None = None) -> GridValues:
    """Incidents per cell, accumulated over chunks of points (equal to :func:`hotspots.grid.count`).

    Parameters
    ----------
    chunks : iterable of (k, 2) arrays (or GeoDataFrames)
        Points in the grid's CRS, e.g. :func:`iter_xy_parquet` or slices of one array.
    grid : Grid
    weights : iterable of 1-D arrays, optional
        One array per chunk, aligned with ``chunks``.

    Returns
    -------
    GridValues
        ``name="count"``; ``params`` as :func:`~hotspots.grid.count`'s plus ``chunks``.
    """
    n_cells = grid.n_rows * grid.n_cols
    active_flat = grid.active.ravel()
    acc = np.zeros(n_cells, dtype=np.float64)
    n_points = off = outside = n_chunks = 0
    witer = iter(weights) if weights is not None else None
    for chunk in chunks:
        xy = points_xy(chunk, grid.crs)
        w = None
        if witer is not None:
            try:
                w = point_weights(None, next(witer), len(xy))
            except StopIteration:
                raise ParameterError("`weights` has fewer chunks than `chunks`.") from None
        rows, cols, on_grid = grid.cell_of(xy)
        flat = rows * grid.n_cols + cols
        in_area = on_grid & active_flat[flat]
        acc += np.bincount(flat[in_area], weights=None if w is None else w[in_area], minlength=n_cells)
        n_points += len(xy)
        off += int((~on_grid).sum())
        outside += int((on_grid & ~in_area).sum())
        n_chunks += 1
    values = acc.reshape(grid.shape)
    if grid.mask is not None:
        values[~grid.mask] = np.nan
    return GridValues(
        values,
        grid,
        name="count",
        units="incidents" if weights is None else "weighted incidents",
        params={
            "weights": None if weights is None else "array",
            "n_points": int(n_points),
            "points_off_grid": int(off),
            "points_outside_area": int(outside),
            "chunks": n_chunks,
        },
    )


def _slices(xy: np.ndarray, rows: int) -> Iterator[np.ndarray]:
    for i in range(0, len(xy), rows):
        yield xy[i : i + rows]


# --------------------------------------------------------------------------- data mask
def data_mask(counts: GridValues | np.ndarray, radius: float, cell_size: float | None = None) -> np.ndarray:
    """Cells within ``radius`` metres (centre to centre) of a cell holding at least one incident.

    Parameters
    ----------
    counts : GridValues or 2-D array
        Incidents per cell (NaN counts as empty).
    radius : float
        Metres; 0 keeps only the occupied cells.
    cell_size : float
        Needed when ``counts`` is a plain array.

    Returns
    -------
    ndarray of bool, the grid's shape
    """
    if isinstance(counts, GridValues):
        vals, cs = counts.values, counts.grid.cell_size
    else:
        vals = np.asarray(counts, dtype=float)
        if cell_size is None:
            raise ParameterError("give `cell_size` (metres) with a plain array of counts.")
        cs = float(cell_size)
    try:
        r = float(radius)
    except (TypeError, ValueError):
        raise ParameterError(f"`radius` must be a number of metres; got {radius!r}.") from None
    if not (math.isfinite(r) and r >= 0):
        raise ParameterError(f"`radius` must be >= 0 metres; got {radius!r}.")
    occupied = np.nan_to_num(vals, nan=0.0) > 0
    if r < cs or not occupied.any():
        return occupied
    st = disc_stencil(r, cs, shape=occupied.shape)
    return neighbour_sum(occupied.astype(np.float64), st) > 0.5


# --------------------------------------------------------------------------- the batch run
@dataclass(frozen=True, eq=False)
class NationalResult:
    """Everything :func:`run_national` computed, with timings.

    Attributes
    ----------
    counts : GridValues
        Incidents per cell on the masked grid.
    density : KDEResult or None
    gistar : GiStarResult or None
    grid : Grid
        The grid with the data mask.
    timings : dict of str to float
        Seconds per step (``load``, ``count``, ``mask``, ``kde``, ``gi_star``, ``fdr``).
    peak_rss_mb : dict of str to float
        Peak resident memory of the process after each step, MB.
    params : dict
    notes : tuple of str
    """

    counts: GridValues
    density: KDEResult | None
    gistar: GiStarResult | None
    grid: Grid
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def total_seconds(self) -> float:
        """Seconds of all steps (the separately timed FDR is inside ``gi_star`` and not added again)."""
        return float(sum(v for k, v in self.timings.items() if "also inside" not in k))


def run_national(
    points: Any,
    *,
    cell_size: float = 250.0,
    bounds: tuple[float, float, float, float] | None = ENGLAND_WALES_BOUNDS,
    mask_radius: float | None = 2000.0,
    bandwidth: float = 1000.0,
    kernel: str = "quartic",
    distance: float = 750.0,
    fdr: bool = True,
    alpha: float = 0.05,
    do_kde: bool = True,
    do_gistar: bool = True,
) -> NationalResult:
    """Count, KDE, Gi* and FDR for a very large set of points, timing each step.

    Parameters
    ----------
    points : path to a Parquet file with ``x``/``y`` columns, or an (n, 2) array
        Points in British National Grid metres.
    cell_size : float
        Metres (250 by default: ~6 million cells over England and Wales).
    bounds : tuple or None
        Grid extent; default England and Wales; None = the points' extent.
    mask_radius : float or None
        Build the study area from the data (:func:`data_mask`) with this radius in metres;
        None = no mask (every cell, sea included, takes part in Gi* and the FDR).
    bandwidth, kernel : float, str
        KDE bandwidth (metres; given, since the automatic rules are meant for one area, not a
        country of towns) and kernel.
    distance : float
        Gi* distance band, metres (given: the automatic choice sweeps 29 bands of Moran's I,
        which at this size costs more than the rest of the run).
    fdr, alpha : bool, float
        As :func:`hotspots.gi_star`.
    do_kde, do_gistar : bool
        Skip steps.

    Returns
    -------
    NationalResult
    """
    timings: dict[str, float] = {}
    mem: dict[str, float] = {}
    notes: list[str] = []

    def mark(step: str, t0: float) -> None:
        timings[step] = time.perf_counter() - t0
        mem[step] = peak_rss_mb()

    t0 = time.perf_counter()
    if isinstance(points, (str, Path)):
        xy = read_xy_parquet(points)
        source = str(points)
    else:
        xy = points_xy(points, name="points")
        source = "array"
    mark("load", t0)

    t0 = time.perf_counter()
    if bounds is None:
        if not len(xy):
            raise ParameterError("no points: give `bounds` or some points.")
        bounds = (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))
    grid = national_grid(cell_size, bounds=bounds)
    counts = count_chunks(_slices(xy, CHUNK_ROWS), grid)
    mark("count", t0)

    t0 = time.perf_counter()
    if mask_radius is not None:
        m = data_mask(counts, mask_radius)
        grid = grid.with_mask(m)
        vals = np.where(m, counts.values, np.nan)
        counts = GridValues(vals, grid, name="count", units=counts.units, params={**counts.params, "points_outside_area": int(counts.total - np.nansum(vals)) + counts.params["points_outside_area"]})
        notes.append(
            f"study area built from the data: the {int(m.sum()):,} cells within {mask_radius:,.0f} m of a cell with an incident "
            f"({m.mean():.0%} of the {m.size:,}-cell grid); no England-and-Wales boundary is used"
        )
    mark("mask", t0)

    density = None
    if do_kde:
        t0 = time.perf_counter()
        density = kde(xy, grid, bandwidth=bandwidth, kernel=kernel)  # type: ignore[arg-type]
        mark("kde", t0)

    result_gi = None
    if do_gistar:
        t0 = time.perf_counter()
        result_gi = gi_star(counts, distance, fdr=fdr, alpha=alpha)
        mark("gi_star", t0)
        if fdr:
            # The BH adjustment is inside gi_star; time it on its own too (one sort of the p-values).
            t0 = time.perf_counter()
            bh_adjust(result_gi.p[grid.active])
            timings["fdr (also inside gi_star)"] = time.perf_counter() - t0

    params = {
        "source": source,
        "n_points": int(len(xy)),
        "cell_size_m": float(cell_size),
        "grid_shape": grid.shape,
        "cells": int(grid.n_rows * grid.n_cols),
        "cells_in_area": int(grid.n_cells),
        "mask_radius_m": mask_radius,
        "bandwidth_m": bandwidth,
        "kernel": kernel,
        "distance_m": distance,
        "fdr": fdr,
        "alpha": alpha,
    }
    return NationalResult(counts, density, result_gi, grid, timings, mem, params, tuple(notes))
