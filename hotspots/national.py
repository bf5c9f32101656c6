"""National-scale batch path: ~10^7 incidents on a 250 m grid over England and Wales.

England and Wales ASB for several years is of order 10^7 points; a 250 m grid over both nations
has about 2,600 x 2,300 = 6 million cells. The engine's functions already work at that size
without any ``n x n`` structure (counts by ``np.bincount``, KDE by moment grids and FFT or
point-by-point scatter, Gi* by disc-stencil neighbour sums, FDR by one sort), so this module
only adds what a batch run needs around them:

* :func:`write_points_parquet` / :func:`read_xy_parquet` / :func:`iter_xy_parquet`: points as
  ``x``/``y`` columns in Parquet (float64 by default, binning every point in the cell ``analyse``
  puts it in; float32 on request: 6 cm resolution at the largest BNG coordinates, half the memory
  and I/O, but a point within a few centimetres of a cell edge can land in the next cell), read in row groups
  without building shapely geometries;
* :func:`count_chunks`: counts accumulated chunk by chunk (memory independent of the number
  of points), equal to :func:`hotspots.grid.count`;
* :func:`data_mask`: a study area built from the data, since no England-and-Wales boundary
  ships with hotspots: the cells within ``radius`` metres (centre to centre) of a cell holding
  at least one incident. This keeps the sea and empty uplands out of Gi*'s ``n`` and the FDR's
  number of tests; :func:`run_national` then leaves out the ring of empty ground beyond the
  outermost incidents, as ``analyse`` leaves out its footprint's margin
  (:func:`hotspots.footprint.cells_within_reach`); its choice is announced in the result's notes;
* each force's stray points (far from the rest of its incidents) are left out first, by the rule
  of ``analyse``'s study area (:mod:`hotspots.national_strays`);
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
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import validation
from ._errors import InputError, ParameterError
from .density import KDEResult
from .fdr import bh_adjust_by_side
from .footprint import GAP_M, cells_within_reach
from .gistar import INFERENCE_METHODS, GiStarResult, gi_star
from .grid import Grid, GridValues, bin_points, count_values, point_weights, points_xy
from .kde_engine import DensityStream, norm_const
from .national_inputs import CHUNK_ROWS, PointFile
from .neighbours import disc_stencil, fallback_distance, neighbour_sum

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
    "INFERENCE",
    "CHUNK_ROWS",
    "BIN_ROWS",
    "off_grid_note",
    "NATIONAL_DISTANCE_M",
    "national_distance",
]

#: Rows read and binned together by :func:`run_national` (several Parquet row groups): a chunk
#: adds its points to the moment grids cell by cell, so the fewer chunks, the fewer times each
#: occupied cell's moments are touched (binning 10^6-row chunks costs about 60 ns a point,
#: 4 x 10^6-row chunks about 43 ns; memory about 40 bytes a row per worker thread).
BIN_ROWS = 4 * CHUNK_ROWS

#: The Gi* distance band (metres) of a national run on cells of up to 530 m (3 cells of 250 m).
NATIONAL_DISTANCE_M = 750.0


def national_distance(cell_size: float) -> float:
    """The default Gi* distance band (metres) of :func:`run_national` on cells of ``cell_size``:
    :data:`NATIONAL_DISTANCE_M`, or the band that reaches the 8 surrounding cells
    (:func:`hotspots.neighbours.fallback_distance`, ``cell_size x sqrt(2)``, analyse's automatic
    band without a Moran's I peak) when that is longer, so that larger cells (``--cell-size 1000``:
    1,414 m) need no ``--distance`` of their own."""
    return max(NATIONAL_DISTANCE_M, fallback_distance(cell_size))


#: British National Grid extent of England and Wales (metres): Isles of Scilly to Lowestoft,
#: the Lizard to Berwick-upon-Tweed.
ENGLAND_WALES_BOUNDS = (82_000.0, 5_000.0, 656_000.0, 658_000.0)


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


def national_grid(
    cell_size: float = 250.0, *, bounds: tuple[float, float, float, float] = ENGLAND_WALES_BOUNDS, mask: Any = None
) -> Grid:
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
    float32: bool = False,
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
        Store coordinates as float32 (resolution 1/16 m at 600 km) or float64 (default, as
        :func:`police_uk_to_parquet`). float32 halves the file but moves points lying within a few
        centimetres of a cell edge into the next cell (``analyse`` bins float64 coordinates).
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
        pf = pq.ParquetFile(str(path), pre_buffer=False)  # one batch in memory at a time
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
    float32: bool = False,
    progress: Any = None,
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
        Store x/y as float32 (default False: float64, the loader's coordinates exactly). float32
        moves a point by up to 3 cm at BNG's largest northings, enough to put one that lies within
        that distance of a cell edge (police.uk's snapped points often do: N 530999.9963) into
        the next cell, where ``analyse`` (float64) counts it in its own.
    progress : callable, optional
        ``progress(step, fraction)`` after each force.
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
        for k_group, (force, files) in enumerate(sorted(groups.items())):
            if progress is not None:
                progress(f"converting {force} ({len(files)} file(s))", k_group / len(groups))
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
        chunk_counts, chunk_off, chunk_outside = bin_points(grid, xy, w)
        acc += chunk_counts
        n_points += len(xy)
        off += chunk_off
        outside += chunk_outside
        n_chunks += 1
    return count_values(
        acc,
        grid,
        weighted=weights is not None,
        params={
            "weights": None if weights is None else "array",
            "n_points": int(n_points),
            "points_off_grid": int(off),
            "points_outside_area": int(outside),
            "chunks": n_chunks,
        },
    )


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
    r = validation.distance(radius, "radius", zero=True)
    occupied = np.nan_to_num(vals, nan=0.0) > 0
    if r < cs or not occupied.any():
        return occupied
    st = disc_stencil(r, cs, shape=occupied.shape)
    return neighbour_sum(occupied.astype(np.float64), st) > 0.5


# --------------------------------------------------------------------------- the batch run
#: Gi* inference methods the run accepts (those of :func:`hotspots.gi_star`).
INFERENCE = INFERENCE_METHODS


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
        Seconds per phase: ``stream`` (read, count and density binning, overlapped; its parts
        ``read (overlapped)`` and ``count + bin (overlapped, summed over threads)`` are listed
        too), ``mask``, ``density`` (interior from the moment grids, units), ``gi_star`` and
        ``fdr (also inside gi_star)``.
    cpu_s : dict of str to float
        CPU seconds of the process (all threads, user + system) per phase, same keys as the
        wall-clock phases of ``timings`` (``stream``, ``mask``, ``density``, ``gi_star``); on a
        shared machine the steadier figure.
    peak_rss_mb : dict of str to float
        Peak resident memory of the process after each phase, MB.
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
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        """Wall-clock seconds of all phases (parts timed inside another phase are not added again)."""
        return float(sum(v for k, v in self.timings.items() if "also inside" not in k and "overlapped" not in k))


def _array_chunks(xy: np.ndarray, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    for i in range(0, len(xy), rows):
        part = xy[i : i + rows]
        yield part[:, 0], part[:, 1], len(part)


def _parquet_bounds(source: PointFile) -> tuple[float, float, float, float] | None:
    """x/y extent from the Parquet statistics (None when a row group has none)."""
    import pyarrow.parquet as pq

    if source.coords != "xy":
        return None
    md = pq.ParquetFile(str(source.path)).metadata
    ix, iy = source.columns.index("x"), source.columns.index("y")
    lo = [math.inf, math.inf]
    hi = [-math.inf, -math.inf]
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for k, i in enumerate((ix, iy)):
            st = rg.column(i).statistics
            if st is None or not st.has_min_max:
                return None
            lo[k] = min(lo[k], float(st.min))
            hi[k] = max(hi[k], float(st.max))
    return (lo[0], lo[1], hi[0], hi[1]) if math.isfinite(lo[0]) else None


def off_grid_note(off_grid: int, n_points: int, england_wales: bool, fix: str | None = None) -> str:
    """The note for points that fall outside the grid and are left out of every surface.

    Parameters
    ----------
    off_grid, n_points : int
        Points outside the grid, and all points read with a location.
    england_wales : bool
        The grid is :data:`ENGLAND_WALES_BOUNDS` (the command line's default extent).
    fix : str, optional
        How to keep them, in the caller's words (default: the library's and the command line's).
    """
    where = "outside the England-and-Wales grid (e.g. Northern Ireland or Scotland)" if england_wales else "outside the grid"
    return (
        f"{off_grid:,} of the {n_points:,} points ({off_grid / max(n_points, 1):.1%}) lie {where} and are left out of the "
        f"counts, the study area and Gi* (the density keeps their kernels where they reach the grid); "
        + (fix or "a grid over the points' own extent keeps them (`bounds=None`; `--extent data` on the command line)")
    )


def _no_points(error: ParameterError, dropped: dict[str, int]) -> ParameterError:
    """``error`` with the rows dropped for other reasons (no location, ...) added."""
    other = {k: v for k, v in dropped.items() if k not in ("category not selected", "month outside range")}
    if not other:
        return error
    return ParameterError(f"{error} Rows dropped: {', '.join(f'{k} {v:,}' for k, v in sorted(other.items()))}.")


def _applied(filters: dict[str, Any] | None, key: str) -> list[str] | None:
    """A filter applied before the run (None: none)."""
    v = (filters or {}).get(key)
    return None if v is None else list(v)


def run_national(
    points: Any,
    *,
    cell_size: float = 250.0,
    bounds: tuple[float, float, float, float] | None = ENGLAND_WALES_BOUNDS,
    mask_radius: float | None = 2000.0,
    bandwidth: float = 1000.0,
    kernel: str = "quartic",
    distance: float | None = None,
    fdr: bool = True,
    alpha: float = 0.05,
    inference: str = "auto",
    permutations: int = 0,
    seed: int | None = 0,
    do_kde: bool = True,
    do_gistar: bool = True,
    categories: list[str] | None = None,
    months: tuple[str | None, str | None] | None = None,
    applied_filters: dict[str, Any] | None = None,
    leave_out_strays: bool = True,
    threads: int = 2,
    batch_rows: int = BIN_ROWS,
    scheduler: Any = None,
    progress: Callable[[str, float], None] | None = None,
) -> NationalResult:
    """Count, kernel density, Gi* and FDR for a very large set of points, streamed in chunks.

    The points are read chunk by chunk (a Parquet batch, :data:`BIN_ROWS` rows) and never held
    all at once: each chunk is counted and added to a :class:`~hotspots.kde_engine.DensityStream`
    (moment grids plus the kernel's ring, exact) by one of ``threads`` worker threads while the
    next chunk is read. With ``scheduler`` the chunks are read and binned on a Dask cluster
    instead (:func:`hotspots.distributed.stream_row_groups`; same numbers). Then the study area
    is built from the counts (:func:`data_mask`), the density finished, and Gi* and the
    Benjamini–Hochberg FDR computed on the whole grid.

    Parameters
    ----------
    points : path, PointFile or (n, 2) array
        A Parquet file with ``x``/``y`` (British National Grid) or ``longitude``/``latitude``
        columns (see :func:`hotspots.national_inputs.open_points`), or points in memory.
    cell_size : float
        Metres (250 by default: about 6 million cells over England and Wales).
    bounds : tuple or None
        Grid extent; default England and Wales; None = the points' extent (from the Parquet
        statistics, or a first pass over the points).
    mask_radius : float or None
        Build the study area from the data (:func:`data_mask`) with this radius in metres;
        None = no mask (every cell, sea included, takes part in Gi* and the FDR).
    bandwidth, kernel : float, str
        KDE bandwidth (metres; given, since the automatic rules are meant for one area, not a
        country of towns) and kernel.
    distance : float, optional
        Gi* distance band, metres (not chosen from the data: the automatic choice sweeps 29 bands
        of Moran's I, which at this size costs more than the rest of the run). None (default):
        :func:`national_distance` of ``cell_size`` (750 m, longer on cells over 530 m). A band
        shorter than the cell size is refused, as by :func:`hotspots.gi_star`.
    fdr, alpha : bool, float
        As :func:`hotspots.gi_star`.
    inference, permutations, seed
        Gi* p-values, as :func:`hotspots.gi_star`: ``"auto"`` (default: the exact count test for
        counts), ``"count"``, ``"randomisation"``, ``"permutation"`` (``permutations`` draws,
        ``seed``) or ``"normal"`` (analytic; flags hotspots in pure noise on sparse counts).
    do_kde, do_gistar : bool
        Skip steps.
    categories, months
        Filters applied while streaming a Parquet file with ``category`` / ``month`` columns.
    applied_filters : dict, optional
        ``{"categories": ..., "months": ...}`` already applied to the points before this run (the
        police.uk conversion's, :attr:`hotspots.national_inputs.PreparedInputs.applied`): recorded in
        ``params`` where the stream itself applies none, so that the record says what was selected.
    leave_out_strays : bool
        Leave out each force's stray points (:func:`hotspots.national_strays.find_strays`: groups
        more than 10 km from the rest of the force's incidents, by the rule of ``analyse``'s study
        area) from the extent, counts, density and Gi*; counted in ``params["dropped"]`` and
        ``params["strays"]`` and announced in the notes. Costs one more pass over the points.
    threads : int
        Worker threads binning chunks (numba releases the GIL); reading runs alongside.
    batch_rows : int
        Rows per chunk (:data:`BIN_ROWS` by default; each worker holds about 40 bytes a row while
        binning). Larger chunks touch each occupied cell's moments fewer times per point.
    scheduler : str, distributed.Client or None
        ``"local:N"``, ``"tcp://host:8786"`` or a Client: read and bin on Dask.
    progress : callable, optional
        ``progress(step, fraction)`` after each chunk (and each cluster task).

    Returns
    -------
    NationalResult
    """
    from .national_inputs import iter_points, no_points_error, open_points

    if inference not in INFERENCE:
        raise ParameterError(f"`inference` must be one of {', '.join(map(repr, INFERENCE))}; got {inference!r}.")
    if kernel not in ("quartic", "epanechnikov", "gaussian"):
        raise ParameterError(f"`kernel` must be 'quartic', 'epanechnikov' or 'gaussian'; got {kernel!r}.")
    if distance is None and isinstance(cell_size, (int, float)) and math.isfinite(cell_size) and cell_size > 0:
        distance = national_distance(cell_size)
    for name, v in (("cell_size", cell_size), ("bandwidth", bandwidth), ("distance", distance)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ParameterError(f"`{name}` must be a positive number of metres; got {v!r}.")
    if mask_radius is not None:
        mask_radius = validation.distance(mask_radius, "mask_radius", zero=True)
    report = progress or (lambda step, f: None)
    timings: dict[str, float] = {}
    mem: dict[str, float] = {}
    notes: list[str] = []

    cpu: dict[str, float] = {}
    cpu0 = [time.process_time()]

    def mark(step: str, t0: float) -> None:
        timings[step] = time.perf_counter() - t0
        c = time.process_time()
        cpu[step] = c - cpu0[0]
        cpu0[0] = c
        mem[step] = peak_rss_mb()

    source = None
    xy_mem = None
    if isinstance(points, (str, Path)):
        source = open_points(points)
    elif isinstance(points, PointFile):
        source = points
    else:
        xy_mem = points_xy(points, name="points")
        if categories is not None or months is not None:
            raise ParameterError("`categories` and `months` filter Parquet columns; filter points in memory before calling.")

    strays = None
    mem_rows = None if xy_mem is None else len(xy_mem)
    if leave_out_strays:
        from .national_strays import find_strays

        t0 = time.perf_counter()
        if xy_mem is not None:
            strays = find_strays([(xy_mem[:, 0], xy_mem[:, 1], None)])
            if strays.total:
                xy_mem = xy_mem[~strays.mask(xy_mem[:, 0], xy_mem[:, 1], None)]
        else:
            strays = find_strays((x, y, f) for x, y, _, f in iter_points(
                source, categories=categories, months=months, batch_rows=batch_rows, with_forces=True))
        mark("strays", t0)
        if strays.total:
            notes.append(strays.note())
    found = strays if strays is not None and strays.total else None

    if bounds is None:
        if xy_mem is not None:
            if not len(xy_mem):
                raise ParameterError("no points: give `bounds` or some points.")
            bounds = (float(xy_mem[:, 0].min()), float(xy_mem[:, 1].min()), float(xy_mem[:, 0].max()), float(xy_mem[:, 1].max()))
        else:
            bounds = _parquet_bounds(source) if categories is None and months is None and found is None else None
            if bounds is None:
                lo, hi = np.array([np.inf, np.inf]), np.array([-np.inf, -np.inf])
                gone: dict[str, int] = {}
                for x, y, _ in iter_points(source, categories=categories, months=months, batch_rows=batch_rows, dropped=gone,
                                           strays=found):
                    if len(x):
                        lo = np.minimum(lo, [x.min(), y.min()])
                        hi = np.maximum(hi, [x.max(), y.max()])
                if not np.isfinite(lo).all():
                    raise _no_points(no_points_error([source.path], categories, months), gone)
                bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    grid = national_grid(cell_size, bounds=bounds)
    total_rows = mem_rows if xy_mem is not None else source.rows

    # ---- stream: read, count and bin the density, chunk by chunk
    t0 = time.perf_counter()
    cpu0[0] = time.process_time()
    stream = DensityStream(grid, bandwidth, kernel, count=True, threads=False) if do_kde else None
    read_s = bin_s = 0.0
    n_points = 0
    dropped: dict[str, int] | None = {}
    if scheduler is not None:
        if xy_mem is not None:
            raise ParameterError("`scheduler` needs a Parquet file the workers can read, not points in memory.")
        from .distributed import stream_row_groups

        parts = stream_row_groups(source, grid, bandwidth, kernel, scheduler=scheduler, categories=categories, months=months,
                                  batch_rows=batch_rows, progress=report, strays=found)
        if stream is None:
            stream = DensityStream(grid, bandwidth, kernel, count=True, threads=False)
        for part in parts:
            stream.merge(part)
        n_points = stream.n_points
        counts_flat = stream.counts
        dropped = None  # the workers' iter_points count by reason; the total is known here
    else:
        chunks = _array_chunks(xy_mem, batch_rows) if xy_mem is not None else iter_points(
            source, categories=categories, months=months, batch_rows=batch_rows, dropped=dropped, strays=found)
        if xy_mem is not None and found is not None:
            from .national_strays import STRAY_REASON

            dropped[STRAY_REASON] = found.total
        counts_acc = np.zeros(grid.shape) if stream is None else None
        lock = threading.Lock()

        def work(x: np.ndarray, y: np.ndarray) -> float:
            t = time.perf_counter()
            if stream is not None:
                stream.add((x, y))
            else:
                part = count_chunks([np.column_stack([x, y])], grid).values
                with lock:
                    counts_acc[:] += part
            return time.perf_counter() - t

        rows_done = 0
        k = 0
        with ThreadPoolExecutor(max_workers=max(1, int(threads))) as pool:
            pending: deque = deque()
            it = iter(chunks)
            while True:
                t = time.perf_counter()
                item = next(it, None)
                read_s += time.perf_counter() - t
                if item is None:
                    break
                x, y, rows = item
                n_points += len(x)
                pending.append((pool.submit(work, x, y), rows))
                while len(pending) > max(1, int(threads)):
                    fut, r = pending.popleft()
                    bin_s += fut.result()
                    rows_done += r
                    k += 1
                    report(f"chunk {k}: {rows_done:,} of {total_rows:,} rows read and binned", rows_done / max(total_rows, 1))
            while pending:
                fut, r = pending.popleft()
                bin_s += fut.result()
                rows_done += r
                k += 1
                report(f"chunk {k}: {rows_done:,} of {total_rows:,} rows read and binned", rows_done / max(total_rows, 1))
        counts_flat = stream.counts if stream is not None else counts_acc
    mark("stream", t0)
    if scheduler is None:
        timings["read (overlapped)"] = read_s
        timings["count + bin (overlapped, summed over threads)"] = bin_s

    if dropped is None:
        rest = int(total_rows - n_points)
        dropped = {"dropped on the cluster (reasons not collected there)": rest} if rest > 0 else {}
    if n_points == 0 and source is not None:
        raise _no_points(no_points_error([source.path], categories, months), dropped)
    off_grid = int(n_points - counts_flat.sum())
    if off_grid:
        notes.append(off_grid_note(off_grid, int(n_points), bounds == ENGLAND_WALES_BOUNDS))
    counts = GridValues(counts_flat.reshape(grid.shape).copy(), grid, name="count", units="incidents",
                        params={"weights": None, "n_points": int(n_points), "points_off_grid": off_grid,
                                "points_outside_area": 0})

    t0 = time.perf_counter()
    if mask_radius is not None:
        near = data_mask(counts, mask_radius)
        # analyse's rule for the footprint's margin (hotspots.footprint.cells_within_reach): the
        # empty ground beyond the outermost incidents takes no part; left in, it lowered the mean,
        # its rim came out as cold spots and random incidents looked hot inside
        m = np.zeros_like(near)
        rows, cols = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
        if len(rows):  # on the study area's box only: a few forces on the England-and-Wales grid are a small part of it
            box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            m[box] = cells_within_reach(np.nan_to_num(counts.values[box]) > 0, near[box], cell_size, GAP_M)
        rim = int(near.sum() - m.sum())
        grid = grid.with_mask(m)
        vals = np.where(m, counts.values, np.nan)
        outside = int(counts.total - np.nansum(vals))
        counts = GridValues(vals, grid, name="count", units=counts.units,
                            params={**counts.params, "points_outside_area": outside})
        notes.append(
            f"study area built from the data: the {int(m.sum()):,} cells within {mask_radius:,.0f} m of a cell with an incident "
            f"and within the incidents' reach ({m.mean():.0%} of the {m.size:,}-cell grid; {rim:,} cells of empty ground "
            f"beyond the outermost incidents left out, as analyse leaves out its footprint's margin); no England-and-Wales "
            "boundary is used"
        )
    mark("mask", t0)

    density = None
    if stream is not None and do_kde:
        t0 = time.perf_counter()
        summed, path = stream.result()
        stream.release()
        summed *= norm_const(kernel, bandwidth) * 1e6
        if grid.mask is not None:
            summed[~grid.mask] = np.nan
        dparams = {
            "bandwidth_m": float(bandwidth), "kernel": kernel, "bandwidth_rule": None, "output": "density",
            "n_points": int(n_points), "points_used": int(n_points), "total_weight": float(n_points),
            "points_outside_area": "include", "method": path, "chunks": stream.chunks, "notes": [],
        }
        density = KDEResult(summed, grid, "density", "incidents per km²", dparams, bandwidth_m=float(bandwidth), kernel=kernel)
        mark("density", t0)
    stream = None  # the moment grids are freed before Gi*

    result_gi = None
    if do_gistar:
        t0 = time.perf_counter()
        report(f"Gi* hot and cold spots ({inference} inference)", 1.0)
        result_gi = gi_star(counts, distance, inference=inference, permutations=int(permutations), fdr=fdr, alpha=alpha,
                            seed=seed)
        mark("gi_star", t0)
        if fdr:
            # The BH adjustment is inside gi_star; time it on its own too (one step-up per side).
            t0 = time.perf_counter()
            bh_adjust_by_side(result_gi.p[grid.active], result_gi.direction[grid.active])
            timings["fdr (also inside gi_star)"] = time.perf_counter() - t0
        notes.extend(result_gi.notes)

    params = {
        "source": str(source.path) if source is not None else "array",
        "n_points": int(n_points),
        "rows_read": int(total_rows),
        "dropped": dict(sorted(dropped.items(), key=lambda kv: -kv[1])),
        "points_off_grid": off_grid,
        "cell_size_m": float(cell_size),
        "bounds": [float(b) for b in bounds],
        "grid_shape": grid.shape,
        "cells": int(grid.n_rows * grid.n_cols),
        "cells_in_area": int(grid.n_cells),
        "mask_radius_m": mask_radius,
        "bandwidth_m": bandwidth,
        "kernel": kernel,
        "distance_m": distance,
        "fdr": fdr,
        "alpha": alpha,
        "inference": inference,
        "inference_used": None if result_gi is None else result_gi.params.get("inference"),
        "permutations": None if result_gi is None else result_gi.params.get("permutations"),
        "seed": seed,
        "categories": list(categories) if categories is not None else _applied(applied_filters, "categories"),
        "months": list(months) if months else _applied(applied_filters, "months"),
        "threads": int(threads),
        "scheduler": None if scheduler is None else str(scheduler),
        "chunk_rows": int(batch_rows),
        "strays": strays.record() if strays is not None else "kept (leave_out_strays=False)",
    }
    return NationalResult(counts, density, result_gi, grid, timings, mem, params, tuple(notes), cpu)
