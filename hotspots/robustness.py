"""How robust are the hot spots when the analyst changes the settings?

:func:`stability` runs ``count`` + :func:`~hotspots.gi_star` for every combination of cell size
and distance band in a sweep and compares the significant hot cells of the runs.

Approach
--------
* Each run builds its own grid (``Grid.for_points`` with that cell size and the same study area).
  Grid origins are snapped to whole multiples of the cell size, so grids of sizes that divide
  each other nest exactly.
* Every run's hot cells (significant at ``alpha`` with ``z > 0``, after FDR when ``fdr=True``:
  :attr:`GiStarResult.hot`) are mapped onto a common *reference grid* with the finest cell size:
  a reference cell is hot in a run when its centre falls in one of that run's hot cells.
* ``jaccard[a, b]`` = |hot_a ∩ hot_b| / |hot_a ∪ hot_b| over reference cells (1 when both runs
  have no hot cell: they agree). 1 means identical hot areas, 0 no overlap at all.
* ``hot_share`` = for each reference cell, the share of runs in which it is hot: 1 = hot whatever
  the settings (robust), 0.5 = hot in half the runs (depends on the settings).
* ``point_hot_share`` = for each incident, the share of runs in which it lies in a hot cell (an
  incident-level view that does not depend on the reference grid).
* ``table``: one row per run with the cell size, distance (and how it was chosen), hot cells, hot
  area in km² and the share of incidents in hot cells.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from ._errors import ParameterError
from .areas import label_areas, neighbourhood_cells
from .footprint import grid_within_reach
from .gistar import GiStarResult, gi_star
from .grid import BNG, Grid, GridValues, count, point_weights, points_xy

__all__ = ["StabilityResult", "stability", "jaccard_matrix"]


@dataclass(frozen=True, eq=False)
class StabilityResult:
    """Agreement of hot spots across a sweep of settings.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per run: ``run``, ``cell_size_m``, ``distance_m``, ``distance_rule``,
        ``n_cells``, ``n_hot_cells``, ``n_hot_areas`` (as :func:`~hotspots.areas.hotspot_areas` draws them), ``hot_area_km2``,
        ``share_of_incidents_in_hot``.
    jaccard : ndarray of float, (n_runs, n_runs)
        Pairwise Jaccard overlap of the runs' hot cells on the reference grid.
    hot_share : GridValues
        Share of runs in which each reference cell is hot (NaN outside the study area).
    point_hot_share : ndarray of float
        For each input point, the share of runs in which it lies in a hot cell.
    reference_grid : Grid
    params : dict
        The arguments (cell sizes, distances or multipliers, alpha, fdr, permutations, seed).
    notes : tuple of str
        Skipped combinations and automatic choices.
    results : tuple of GiStarResult
        The runs' Gi* results when ``keep_results=True``, else empty.
    """

    table: pd.DataFrame
    jaccard: np.ndarray
    hot_share: GridValues
    point_hot_share: np.ndarray
    reference_grid: Grid
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    results: tuple[GiStarResult, ...] = field(default=(), repr=False)

    @property
    def mean_jaccard(self) -> float:
        """Mean pairwise Jaccard overlap over distinct pairs of runs (1.0 with a single run)."""
        n = self.jaccard.shape[0]
        if n < 2:
            return 1.0
        iu = np.triu_indices(n, 1)
        return float(self.jaccard[iu].mean())

    def robust_cells(self, min_share: float = 0.8) -> np.ndarray:
        """Boolean array on the reference grid: cells hot in at least ``min_share`` of the runs."""
        return np.nan_to_num(self.hot_share.values, nan=0.0) >= min_share - 1e-12


def jaccard_matrix(masks: Sequence[np.ndarray]) -> np.ndarray:
    """Pairwise Jaccard overlap |A ∩ B| / |A ∪ B| of boolean arrays of one shape.

    Two empty sets agree completely (Jaccard 1).
    """
    if len(masks) == 0:
        return np.zeros((0, 0))
    shapes = {np.shape(m) for m in masks}
    if len(shapes) != 1:
        raise ParameterError(f"all masks must have the same shape; got {sorted(shapes)}.")
    M = np.array([np.asarray(m, dtype=bool).ravel() for m in masks], dtype=np.float64)
    inter = M @ M.T
    sizes = M.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        J = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 1.0)
    return J


def stability(
    points: Any,
    *,
    cell_sizes: Sequence[float],
    distances: Sequence[float] | None = None,
    distance_multipliers: Sequence[float] | None = None,
    mask: Any = None,
    weights: Any = None,
    alpha: float = 0.05,
    fdr: bool = True,
    permutations: int = 0,
    seed: int | None = 0,
    keep_results: bool = False,
) -> StabilityResult:
    """Run Gi* over a sweep of cell sizes and distance bands and measure how the hot cells agree.

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or (n, 2) array
        Incidents in a projected CRS in metres (British National Grid).
    cell_sizes : sequence of float
        Cell sizes to try, metres.
    distances : sequence of float, optional
        Distance bands in metres, each tried with every cell size (combinations where the
        distance is shorter than the cell are skipped and noted).
    distance_multipliers : sequence of float, optional
        Distance bands as multiples of each cell size (e.g. ``[1, 1.5, 2]``). Give either this or
        ``distances``; with neither, each cell size uses the automatic distance of
        :func:`~hotspots.gi_star`.
    mask : shapely polygon or GeoSeries/GeoDataFrame, optional
        Study area (cells whose centre is outside take no part).
    weights : array-like or str, optional
        Per-point weights, as for :func:`~hotspots.count`.
    alpha, fdr, permutations, seed
        Passed to :func:`~hotspots.gi_star`; a cell is hot when significant at ``alpha``.
    keep_results : bool
        Keep every run's :class:`GiStarResult` in ``results``.

    Returns
    -------
    StabilityResult
    """
    sizes = _positive_list(cell_sizes, "cell_sizes")
    if distances is not None and distance_multipliers is not None:
        raise ParameterError("give either `distances` (metres) or `distance_multipliers` (x cell size), not both.")
    if isinstance(mask, np.ndarray):
        raise ParameterError(
            "`mask` must be a study-area polygon (shapely or GeoSeries/GeoDataFrame) here: the runs use grids of "
            "different cell sizes, so one boolean array cannot fit them all."
        )
    crs = pyproj.CRS(getattr(points, "crs", None) or BNG)
    xy = points_xy(points, crs)
    if len(xy) == 0:
        raise ParameterError("`points` is empty: there is nothing to analyse. Load some incidents first.")
    w = point_weights(points, weights, len(xy))
    combos: list[tuple[float, float | None]] = []
    notes: list[str] = []
    for cs in sizes:
        if distances is not None:
            ds: list[float | None] = list(_positive_list(distances, "distances"))
        elif distance_multipliers is not None:
            ds = [m * cs for m in _positive_list(distance_multipliers, "distance_multipliers")]
        else:
            ds = [None]
        for d in ds:
            if d is not None and d < cs * (1 - 1e-9):
                notes.append(f"skipped cell size {cs:g} m with distance {d:g} m: the distance is shorter than a cell")
                continue
            combos.append((cs, d))
    if not combos:
        raise ParameterError(
            "no combination of `cell_sizes` and `distances` is usable: every distance is shorter than its cell size. "
            "Use distances of at least the cell size."
        )

    # a footprint study area loses its empty margin as in the analysis (hotspots.footprint.grid_within_reach)
    ref = grid_within_reach(Grid.for_points(points, min(sizes), crs=crs, mask=mask), xy, mask)
    ref_xy = ref.centres()
    ref_active = ref.active.ravel()
    hot_ref: list[np.ndarray] = []
    pt_hot = np.zeros(len(xy))
    rows_out = []
    kept: list[GiStarResult] = []
    for i, (cs, d) in enumerate(combos):
        g = ref if cs == ref.cell_size else grid_within_reach(Grid.for_points(points, cs, crs=crs, mask=mask), xy, mask)
        c = count(xy, g, weights=w)
        gi = gi_star(c, d, permutations=permutations, fdr=fdr, alpha=alpha, seed=seed)
        hot = gi.hot
        r, cc, on = g.cell_of(ref_xy)
        h = on & hot[r, cc] & ref_active
        hot_ref.append(h.reshape(ref.shape))
        pr, pc, pon = g.cell_of(xy)
        pt_hot += pon & hot[pr, pc]
        vals = np.nan_to_num(c.values)
        total = float(vals[g.active].sum())
        n_areas = label_areas(hot & g.active, np.where(g.active, vals, 0.0), min_cells=neighbourhood_cells(gi))[1]
        rows_out.append(
            {
                "run": i,
                "cell_size_m": float(cs),
                "distance_m": gi.params["distance_m"],
                "distance_rule": gi.params["distance_rule"],
                "n_cells": int(gi.params["n_cells"]),
                "n_hot_cells": int(hot.sum()),
                "n_hot_areas": n_areas,
                "hot_area_km2": float(hot.sum() * g.cell_area_km2),
                "share_of_incidents_in_hot": float(vals[hot].sum() / total) if total > 0 else 0.0,
            }
        )
        notes.extend(f"run {i}: {n}" for n in gi.notes)
        if keep_results:
            kept.append(gi)
    J = jaccard_matrix(hot_ref)
    share = np.mean(np.array(hot_ref, dtype=np.float64), axis=0)
    share = np.where(ref.active, share, np.nan)
    hot_share = GridValues(
        share, ref, name="hot_share", units="share of runs", params={"n_runs": len(combos), "alpha": alpha, "fdr": fdr}
    )
    params = {
        "cell_sizes": [float(s) for s in sizes],
        "distances": None if distances is None else [float(d) for d in distances],
        "distance_multipliers": None if distance_multipliers is None else [float(m) for m in distance_multipliers],
        "alpha": float(alpha),
        "fdr": bool(fdr),
        "permutations": int(permutations),
        "seed": seed,
        "n_runs": len(combos),
        "reference_cell_size_m": float(ref.cell_size),
    }
    return StabilityResult(
        table=pd.DataFrame(rows_out),
        jaccard=J,
        hot_share=hot_share,
        point_hot_share=pt_hot / len(combos),
        reference_grid=ref,
        params=params,
        notes=tuple(notes),
        results=tuple(kept),
    )


def _positive_list(vals: Any, name: str) -> list[float]:
    if vals is None or isinstance(vals, (str, bytes)):
        raise ParameterError(f"`{name}` must be a list of positive numbers (metres); got {vals!r}.")
    try:
        out = [float(v) for v in (vals if hasattr(vals, "__iter__") else [vals])]
    except (TypeError, ValueError):
        raise ParameterError(f"`{name}` must be a list of positive numbers; got {vals!r}.") from None
    if not out or not all(math.isfinite(v) and v > 0 for v in out):
        raise ParameterError(f"`{name}` must be a non-empty list of positive, finite numbers; got {vals!r}.")
    return out
