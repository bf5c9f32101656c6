"""Tiles with halos on Dask: the grid computations split for more than one machine.

Optional: needs the ``dask`` extra (``pip install "hotspots[dask]"``, which brings
``dask[distributed]``). One machine handles England and Wales at 250 m (see
:mod:`hotspots.national`); this module shows how the same numbers are computed when it does not,
and is tested to give the single-machine result.

How the work is split
---------------------
The grid is cut into rectangular *tiles* of cells. Each task gets one tile plus a *halo*: the
cells (or points) that can influence the tile's cells.

* Counts need no halo: each point falls in one cell. Points are counted chunk by chunk and the
  per-chunk grids summed (:func:`tiled_count`).
* Gi* on a distance band of ``d`` metres: a cell's neighbourhood sum reads cells up to
  ``R = floor(d / cell size)`` rows and columns away, so a tile's halo is ``R`` cells. Gi* also
  needs the global mean, standard deviation and number of active cells: one small reduction
  (count, sum; then sum of squared deviations) over the tiles before the tile tasks run.
* KDE with bandwidth ``h``: a cell's density reads the points within the kernel's support
  (``h`` for quartic/Epanechnikov, 6 ``h`` for the cut-off Gaussian), so a tile's task gets
  the points within the tile's extent grown by the support plus one cell.
* FDR (Benjamini–Hochberg) is global: its threshold depends on the rank of every p-value among
  all active cells. The tile tasks return their p-values; the BH adjustment runs once over all
  of them, one step-up per side as ``gi_star``'s (:func:`tiled_gi_star`, exact q-values). When
  even the p-values are too many to
  gather, :func:`bh_threshold_from_histograms` finds the same cut-off from per-tile histograms
  of the p-values plus the few p-values in the one bin where the cut-off falls.

Results are stitched back into whole-grid arrays and returned as the ordinary result types
(:class:`~hotspots.grid.GridValues`, :class:`~hotspots.density.KDEResult`,
:class:`~hotspots.gistar.GiStarResult`).

Scheduler: the functions build ``dask.delayed`` tasks and run them with ``dask.compute``; with a
``distributed.Client`` active (e.g. on a ``LocalCluster`` or a real cluster) the tasks run there.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from . import validation
from ._errors import HotspotsError, ParameterError
from .density import GAUSSIAN_CUTOFF_SD, KERNELS, KDEResult, bandwidth_under_cell_size, kernel_sum
from .fdr import bh_adjust_by_side
from .gistar import CONFIDENCE_LEVELS, GiStarResult
from .grid import Grid, GridValues, points_xy
from .neighbours import active_values_or_raise, disc_stencil, neighbour_count, neighbour_sum

__all__ = [
    "SchedulerError",
    "connect",
    "stream_row_groups",
    "Tile",
    "make_tiles",
    "tiled_count",
    "tiled_gi_star",
    "tiled_kde",
    "bh_threshold_from_histograms",
    "require_dask",
]


def require_dask() -> Any:
    """Import dask or raise an error that names the extra to install."""
    try:
        import dask
    except ImportError:  # pragma: no cover - depends on the environment
        raise ParameterError(
            "hotspots.distributed needs dask: install the extra with `pip install \"hotspots[dask]\"` (dask[distributed])."
        ) from None
    return dask


@dataclass(frozen=True)
class Tile:
    """Rows ``r0:r1`` and columns ``c0:c1`` of the grid (the tile's own cells, halo excluded)."""

    r0: int
    r1: int
    c0: int
    c1: int

    def with_halo(self, halo: int, shape: tuple[int, int]) -> Tile:
        return Tile(max(0, self.r0 - halo), min(shape[0], self.r1 + halo), max(0, self.c0 - halo), min(shape[1], self.c1 + halo))


def make_tiles(shape: tuple[int, int], tile: tuple[int, int] | int = 512) -> list[Tile]:
    """Cut a grid of ``shape`` into tiles of at most ``tile`` rows x columns, row-major."""
    tr, tc = (tile, tile) if isinstance(tile, int) else tile
    if tr < 1 or tc < 1:
        raise ParameterError(f"`tile` must be at least 1 x 1 cells; got {tile!r}.")
    nr, nc = shape
    return [Tile(r, min(nr, r + tr), c, min(nc, c + tc)) for r in range(0, nr, tr) for c in range(0, nc, tc)]


def _compute(tasks: Sequence[Any], scheduler: Any) -> list[Any]:
    dask = require_dask()
    return list(dask.compute(*tasks, scheduler=scheduler) if scheduler is not None else dask.compute(*tasks))


class SchedulerError(HotspotsError):
    """A Dask scheduler cannot be started or reached (its message is one line naming the address)."""


#: Seconds to wait for a scheduler at a ``tcp://`` address before giving up.
CONNECT_TIMEOUT_S = 10.0


def connect(scheduler: Any) -> tuple[Any, Any]:
    """A ``distributed.Client`` for ``scheduler``, and the cluster started for it (or None).

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``"local:N"`` starts a ``LocalCluster`` of N worker processes (one thread each) on this
        machine; ``"tcp://host:8786"`` (any address a Dask scheduler listens on) connects to an
        existing cluster, whose workers need hotspots installed and read access to the input
        files at the same path; a Client is used as it is.

    Raises
    ------
    SchedulerError
        The address is malformed, the scheduler does not answer within
        :data:`CONNECT_TIMEOUT_S` seconds, or the local cluster cannot start.
    """
    require_dask()
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        raise ParameterError(
            "`--scheduler` needs dask.distributed: install the extra with `pip install \"hotspots[dask]\"`."
        ) from None
    if isinstance(scheduler, Client):
        return scheduler, None
    text = str(scheduler).strip()
    if text.startswith("local:"):
        try:
            n = int(text.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise SchedulerError(f"`--scheduler {text}`: give the number of worker processes, e.g. `local:2`.")
        try:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            return Client(cluster), cluster
        except Exception as exc:  # noqa: BLE001 - distributed raises many types here
            raise SchedulerError(f"could not start a local Dask cluster of {n} workers: {type(exc).__name__}: {exc}") from None
    if "://" not in text:
        raise SchedulerError(
            f"`--scheduler {text}` is neither `local:N` nor a scheduler address such as `tcp://host:8786`."
        )
    try:
        return Client(text, timeout=CONNECT_TIMEOUT_S), None
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError for bad addresses...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerError(f"cannot reach the Dask scheduler at {text} within {CONNECT_TIMEOUT_S:g} s ({detail}).") from None


def _stream_task(path: str, row_groups: list[int], grid: Grid, bandwidth: float, kernel: str, categories: Any, months: Any,
                 batch_rows: int, strays: Any = None) -> dict[str, Any]:
    # Runs on a worker: stream this task's row groups of the file into a DensityStream.
    from .kde_engine import DensityStream
    from .national_inputs import iter_points, open_points

    stream = DensityStream(grid, bandwidth, kernel, count=True, threads=False)
    rows = 0
    for x, y, r in iter_points(open_points(path), categories=categories, months=months, batch_rows=batch_rows,
                               row_groups=row_groups, strays=strays):
        stream.add((x, y))
        rows += r
    part = stream.partial()
    part["rows_read"] = rows
    return part


def stream_row_groups(
    source: Any,
    grid: Grid,
    bandwidth: float,
    kernel: str,
    *,
    scheduler: Any,
    categories: Any = None,
    months: Any = None,
    batch_rows: int = 1_000_000,
    tasks_per_worker: int = 4,
    progress: Any = None,
    strays: Any = None,
) -> Iterable[dict[str, Any]]:
    """Read and bin a Parquet point file on a Dask cluster: one task per group of row groups.

    Each task opens the file itself (so the workers need read access to ``source.path``),
    streams its row groups into a :class:`~hotspots.kde_engine.DensityStream` (counts, moment
    grids and the kernel's ring) and returns its :meth:`~hotspots.kde_engine.DensityStream.partial`;
    the partials are yielded as tasks finish, for the caller to merge. Merged, they are the
    stream of the whole file (the same counts; the density to floating-point rounding).

    Parameters
    ----------
    source : PointFile
    grid, bandwidth, kernel
        As :class:`~hotspots.kde_engine.DensityStream`.
    scheduler : str or Client
        See :func:`connect`.
    tasks_per_worker : int
        Row groups are shared among about this many tasks per worker (progress and balance).
    progress : callable, optional
        ``progress(step, fraction)`` as each task finishes.
    strays : Strays, optional
        Points every task leaves out (:func:`hotspots.national_strays.find_strays`).
    """
    client, cluster = connect(scheduler)
    own_client = client is not scheduler  # started or connected here: closed here
    try:
        from distributed import as_completed

        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        groups = list(range(source.row_groups))
        n_tasks = max(1, min(len(groups), n_workers * int(tasks_per_worker)))
        parts = [list(map(int, a)) for a in np.array_split(np.array(groups, dtype=int), n_tasks) if len(a)]
        path = str(Path(source.path).resolve())
        futures = [client.submit(_stream_task, path, rg, grid, float(bandwidth), kernel, categories, months, int(batch_rows),
                                 strays, pure=False) for rg in parts]
        rows = 0
        for k, fut in enumerate(as_completed(futures), start=1):
            part = fut.result()
            rows += int(part.pop("rows_read"))
            if progress is not None:
                progress(f"task {k} of {len(futures)} on the cluster: {rows:,} of {source.rows:,} rows read and binned",
                         rows / max(source.rows, 1))
            fut.release()
            yield part
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- counts
def _count_chunk(xy: np.ndarray, grid: Grid) -> np.ndarray:
    rows, cols, on = grid.cell_of(xy)
    flat = rows * grid.n_cols + cols
    ok = on & grid.active.ravel()[flat]
    return np.bincount(flat[ok], minlength=grid.n_rows * grid.n_cols).astype(np.float64)


def tiled_count(chunks: Iterable[Any], grid: Grid, *, scheduler: Any = None) -> GridValues:
    """Incidents per cell, one task per chunk of points, summed (no halo needed).

    Equal to :func:`hotspots.grid.count` on all the points.
    """
    dask = require_dask()
    parts = [dask.delayed(_count_chunk)(points_xy(c, grid.crs), grid) for c in chunks]
    total = dask.delayed(sum)(parts)
    flat = _compute([total], scheduler)[0]
    values = np.asarray(flat, dtype=np.float64).reshape(grid.shape)
    if grid.mask is not None:
        values[~grid.mask] = np.nan
    return GridValues(values, grid, name="count", units="incidents", params={"tasks": len(parts)})


# --------------------------------------------------------------------------- Gi*
def _tile_moments(y: np.ndarray, active: np.ndarray) -> tuple[int, float]:
    v = y[active]
    return int(v.size), float(v.sum())


def _tile_ss(y: np.ndarray, active: np.ndarray, mean: float) -> float:
    d = y[active] - mean
    return float((d * d).sum())


def _tile_gi(y_h: np.ndarray, act_h: np.ndarray, core: tuple[slice, slice], distance: float, cell: float, n: int, mean: float,
             sd: float):
    st = disc_stencil(distance, cell, shape=y_h.shape)
    S = neighbour_sum(y_h, st)[core]
    W = neighbour_count(act_h, st)[core].astype(np.float64)
    act = act_h[core]
    var_factor = (n * W - W * W) / (n - 1)
    denom = sd * np.sqrt(np.maximum(var_factor, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, (S - mean * W) / np.where(denom > 0, denom, 1.0), 0.0)
    if not sd > 0:
        z = np.zeros_like(z)
    z = np.where(act, z, np.nan)
    p = np.where(act, 2.0 * stats.norm.sf(np.abs(z)), np.nan)
    return z, p, np.where(act, W, 0).astype(np.int64)


def tiled_gi_star(
    counts: GridValues,
    distance: float,
    *,
    fdr: bool = True,
    alpha: float = 0.05,
    tile: tuple[int, int] | int = 512,
    scheduler: Any = None,
) -> GiStarResult:
    """Analytic Gi* (and BH FDR) computed tile by tile with a halo of one distance band.

    Same definition and result as :func:`hotspots.gi_star` with ``inference="normal"`` (equal to
    floating-point rounding: the global mean and standard deviation are summed tile by tile).

    Parameters
    ----------
    counts : GridValues
    distance : float
        Distance band, metres (given; the automatic choice is a whole-grid sweep).
    fdr, alpha : bool, float
        As :func:`hotspots.gi_star`.
    tile : int or (rows, cols)
        Tile size in cells.
    scheduler : optional
        Passed to ``dask.compute`` (None: the active distributed client, else dask's default).
    """
    dask = require_dask()
    grid = counts.grid
    active = grid.active
    y = active_values_or_raise(counts)
    st = disc_stencil(distance, grid.cell_size, shape=grid.shape)
    if disc_stencil(distance, grid.cell_size).size == 1:
        raise ParameterError(
            f"`distance` {distance:g} m is shorter than the cell size ({grid.cell_size:g} m); make it at least the cell size."
        )
    halo = st.radius
    tiles = make_tiles(grid.shape, tile)

    # 1. Global moments (two passes for a stable variance).
    parts = [(y[t.r0 : t.r1, t.c0 : t.c1], active[t.r0 : t.r1, t.c0 : t.c1]) for t in tiles]
    mom = _compute([dask.delayed(_tile_moments)(yt, at) for yt, at in parts], scheduler)
    n = int(sum(m[0] for m in mom))
    if n < 2:
        raise ParameterError(f"Gi* needs at least 2 cells in the study area; the grid has {n}.")
    mean = math.fsum(m[1] for m in mom) / n
    ss = _compute([dask.delayed(_tile_ss)(yt, at, mean) for yt, at in parts], scheduler)
    sd = math.sqrt(math.fsum(ss) / n)

    # 2. Tile tasks with halos.
    tasks = []
    for t in tiles:
        h = t.with_halo(halo, grid.shape)
        core = (slice(t.r0 - h.r0, t.r1 - h.r0), slice(t.c0 - h.c0, t.c1 - h.c0))
        tasks.append(dask.delayed(_tile_gi)(y[h.r0 : h.r1, h.c0 : h.c1], active[h.r0 : h.r1, h.c0 : h.c1], core, float(distance),
                                            grid.cell_size, n, mean, sd))
    outs = _compute(tasks, scheduler)
    z = np.full(grid.shape, np.nan)
    p = np.full(grid.shape, np.nan)
    W = np.zeros(grid.shape, dtype=np.int64)
    for t, (zt, pt, wt) in zip(tiles, outs):
        z[t.r0 : t.r1, t.c0 : t.c1] = zt
        p[t.r0 : t.r1, t.c0 : t.c1] = pt
        W[t.r0 : t.r1, t.c0 : t.c1] = wt

    # 3. FDR is global: one BH step-up per side (hot, cold), each over every active cell's p-value.
    direction = np.where(active, np.sign(np.nan_to_num(z)), 0).astype(np.int8)
    q = bh_adjust_by_side(p, direction) if fdr else None
    decide = q if fdr else p
    bins = np.zeros(grid.shape, dtype=np.int8)
    for conf, mag in reversed(CONFIDENCE_LEVELS):
        bins = np.where(active & (decide <= 1.0 - conf + 1e-12), mag, bins).astype(np.int8)
    bins = (bins * direction).astype(np.int8)
    nb = W[active] - 1
    params = {
        "distance_m": float(distance),
        "distance_rule": "given",
        "distance_message": f"distance band {distance:,.0f} m (given)",
        "cell_size_m": float(grid.cell_size),
        "n_cells": n,
        "neighbours": {"min": int(nb.min()), "median": float(np.median(nb)), "mean": float(nb.mean()), "max": int(nb.max()),
                       "stencil": int(st.size - 1)},
        "alpha": float(alpha),
        "fdr": bool(fdr),
        "permutations": 0,
        "seed": None,
        "p_decision": ("BH-adjusted (one step-up per side) " if fdr else "") + "p_normal (two-sided normal p of z)",
        "zero_variance": not sd > 0,
        "cells_covering_area": int(((n * W[active] - W[active] ** 2) <= 0).sum()),
        "tiles": len(tiles),
        "halo_cells": halo,
    }
    return GiStarResult(z=z, p=p, bins=bins, counts=counts, params=params, p_adjusted=q, n_neighbours=W, direction=direction)


# --------------------------------------------------------------------------- KDE
def _tile_kde(xy: np.ndarray, tile_grid: Grid | None, shape: tuple[int, int], bandwidth: float, kernel: str) -> np.ndarray:
    """One tile's density per km², by :func:`hotspots.density.kde`'s engine
    (:func:`~hotspots.density.kernel_sum`): the bandwidth was checked (and a bandwidth under the
    cell size warned about) once by :func:`tiled_kde`, in the caller's thread;
    ``warnings.catch_warnings`` around ``kde`` here would not be thread-safe under dask's threads
    and let its warning through now and then."""
    if tile_grid is None:
        return np.full(shape, np.nan)
    values = kernel_sum(xy, tile_grid, bandwidth, kernel)[0] * 1e6
    if tile_grid.mask is not None:
        values[~tile_grid.mask] = np.nan
    return values


def tiled_kde(
    points: Any,
    grid: Grid,
    bandwidth: float,
    kernel: str = "quartic",
    *,
    tile: tuple[int, int] | int = 512,
    scheduler: Any = None,
) -> KDEResult:
    """Kernel density tile by tile; each tile gets the points within its extent grown by the
    kernel's support (``bandwidth``, or 6 ``bandwidth`` for the Gaussian) plus one cell.

    Same result as :func:`hotspots.density` with ``points_outside_area="include"`` (to rounding).
    """
    dask = require_dask()
    h = validation.distance(bandwidth, "bandwidth")
    if kernel not in KERNELS:
        raise ParameterError(f"`kernel` must be one of {', '.join(map(repr, KERNELS))}; got {kernel!r}.")
    xy = points_xy(points, grid.crs)
    s = grid.cell_size
    notes = []
    if h < s:
        notes.append(bandwidth_under_cell_size(h, s))
        warnings.warn(notes[-1], UserWarning, stacklevel=2)
    reach = h * (GAUSSIAN_CUTOFF_SD if kernel == "gaussian" else 1.0) + s
    order = np.argsort(xy[:, 0], kind="stable")
    xs = xy[order]
    tiles = make_tiles(grid.shape, tile)
    tasks = []
    for t in tiles:
        x0 = grid.xmin + t.c0 * s - reach
        x1 = grid.xmin + t.c1 * s + reach
        y1 = grid.ymax - t.r0 * s + reach
        y0 = grid.ymax - t.r1 * s - reach
        i0, i1 = np.searchsorted(xs[:, 0], [x0, x1])
        sub = xs[i0:i1]
        sub = sub[(sub[:, 1] >= y0) & (sub[:, 1] <= y1)]
        m = None if grid.mask is None else grid.mask[t.r0 : t.r1, t.c0 : t.c1]
        tg = None
        if m is None or m.any():
            tg = Grid(grid.xmin + t.c0 * s, grid.ymax - t.r0 * s, s, t.r1 - t.r0, t.c1 - t.c0, grid.crs, m)
        tasks.append(dask.delayed(_tile_kde)(sub, tg, (t.r1 - t.r0, t.c1 - t.c0), h, kernel))
    outs = _compute(tasks, scheduler)
    values = np.full(grid.shape, np.nan)
    for t, v in zip(tiles, outs):
        values[t.r0 : t.r1, t.c0 : t.c1] = v
    params = {"bandwidth_m": h, "kernel": kernel, "output": "density", "n_points": int(len(xy)), "tiles": len(tiles),
              "halo_m": reach, "method": "tiled", "notes": notes}
    return KDEResult(values, grid, "density", "incidents per km²", params, bandwidth_m=h, kernel=kernel, notes=tuple(notes))


# --------------------------------------------------------------------------- FDR from histograms
def bh_threshold_from_histograms(
    p_parts: Sequence[Any], alpha: float = 0.05, *, bins: int = 4096, scheduler: Any = None
) -> float:
    """The Benjamini–Hochberg cut-off over p-values held in parts, without gathering them all.

    Equal to :func:`hotspots.fdr.fdr_threshold` on the concatenated p-values (NaN ignored). For
    the per-side rule of :func:`tiled_gi_star` and ``gi_star``
    (:func:`hotspots.fdr.bh_adjust_by_side`), call it once per side with the other side's
    p-values set to 1.

    Pass 1: each part returns a histogram of its p-values on ``bins`` equal bins of [0, 1]; the
    sums give ``F(e)``, the number of p-values ``<= e``, at every bin edge. The BH cut-off is the
    largest ``k * alpha / m`` with ``p_(k) <= k * alpha / m``. A bin ``(e0, e1]`` holding p-values
    ranked ``F(e0)+1 .. F(e1)`` can hold the deciding p-value only if ``e0 < F(e1) * alpha / m``;
    scanning from the top, every bin above the first such bin is ruled out. Pass 2 gathers the
    p-values of the candidate bins only (few, since the test compares a rank-scaled line with
    the empirical distribution), and the cut-off is found exactly among them.
    """
    dask = require_dask()
    a = validation.alpha(alpha)
    def bin_index(v: np.ndarray) -> np.ndarray:
        # Bin k holds (edges[k], edges[k+1]]; bin 0 also holds 0.
        return np.clip(np.ceil(v * bins).astype(np.int64) - 1, 0, bins - 1)

    def hist(p: Any) -> np.ndarray:
        v = np.asarray(p, dtype=np.float64).ravel()
        return np.bincount(bin_index(v[~np.isnan(v)]), minlength=bins)

    def pick(p: Any, j: int) -> np.ndarray:
        v = np.asarray(p, dtype=np.float64).ravel()
        v = v[~np.isnan(v)]
        return v[bin_index(v) == j]

    counts = np.sum(_compute([dask.delayed(hist)(p) for p in p_parts], scheduler), axis=0)
    m = int(counts.sum())
    if m == 0:
        return 0.0
    F = np.concatenate([[0], np.cumsum(counts)])  # F[k]: p-values in bins below k (ranks up to F[k])
    upper = np.arange(1, bins + 1) / bins  # upper edge of each bin, as bin_index sees it
    lower = np.arange(bins) / bins
    # The deciding p-value p_(k) <= k a / m can lie in bin j only if lower[j] < F[j+1] a / m.
    cand = np.flatnonzero((counts > 0) & (lower < F[1:] * a / m * (1 + 1e-12)))
    for j in cand[::-1]:
        top = F[j + 1] * a / m
        if upper[j] * (1 + 1e-12) <= top:
            return float(top)  # every p-value of the bin qualifies, the largest rank decides
        vals = np.sort(np.concatenate(_compute([dask.delayed(pick)(p, int(j)) for p in p_parts], scheduler)))
        crit = (F[j] + np.arange(1, len(vals) + 1)) * a / m
        ok = np.flatnonzero(vals <= crit)
        if ok.size:
            return float(crit[ok[-1]])
    return 0.0
