"""Kernel density estimation on a :class:`~hotspots.grid.Grid`: the public API.

:func:`kde` evaluates a kernel density surface at the **centre of every grid cell**, in incidents
per km² (or expected incidents per cell), with the quartic kernel (ArcGIS's default), the
Epanechnikov kernel or the Gaussian kernel, optional weights and a bandwidth in metres or chosen by
a documented rule (:mod:`hotspots.bandwidth`).

Kernels (``u = distance / bandwidth``; every kernel integrates to 1 over the plane, so the surface
integrates to the number of points, or the sum of the weights)

=============== ================================= ==================================================
name            K(distance) per m²                 notes
=============== ================================= ==================================================
``quartic``     3 / (π h²) · (1 − u²)² for u < 1   biweight; ArcGIS Kernel Density (Silverman 1986,
                                                   eq. 4.5); ``h`` is the search radius
``epanechnikov`` 2 / (π h²) · (1 − u²) for u < 1   scikit-learn's ``'epanechnikov'`` exactly
``gaussian``    1 / (2π h²) · exp(−u²/2)           scikit-learn's ``'gaussian'`` exactly; ``h`` is
                                                   the standard deviation; cut off at 6 h
=============== ================================= ==================================================

The sums are exact (not binned): :mod:`hotspots.kde_engine` explains how, and its
:class:`~hotspots.kde_engine.DensityStream` is the engine behind :func:`kde` (one chunk) and the
national command (many chunks). Automatic bandwidths: :mod:`hotspots.bandwidth` (the Gaussian gets
a standard deviation, not the rules' search radius).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from . import validation
from ._errors import ParameterError
from .bandwidth import (
    BANDWIDTH_RULES,
    DEFAULT_BANDWIDTH_RULE,
    auto_bandwidth,
    bandwidth_arcgis,
    bandwidth_sfhotspot,
    gaussian_sd_from_radius,
    study_area_parts,
)
from .grid import Grid, GridValues, point_weights, points_xy
from .kde_compiled import compiled_loops
from .kde_engine import GAUSSIAN_CUTOFF_SD, DensityStream, check_size, kernel_reach, norm_const

__all__ = [
    "kde",
    "KDEResult",
    "KERNELS",
    "bandwidth_under_cell_size",
    "kernel_sum",
    "BANDWIDTH_RULES",
    "DEFAULT_BANDWIDTH_RULE",
    "bandwidth_sfhotspot",
    "bandwidth_arcgis",
    "gaussian_sd_from_radius",
    "GAUSSIAN_CUTOFF_SD",
]

#: Kernel names accepted by :func:`kde`.
KERNELS = ("quartic", "epanechnikov", "gaussian")


# ----------------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class KDEResult(GridValues):
    """A kernel density surface on a grid.

    Attributes
    ----------
    values : ndarray of float, shape (n_rows, n_cols)
        Density at each cell centre in incidents per km² (``output="density"``), or the expected
        number of incidents in each cell (density × cell area, ``output="count"``). Cells outside
        the study area hold NaN.
    grid : Grid
    name : str
        ``"density"`` or ``"expected_count"`` (the column name in :meth:`to_geodataframe`).
    units : str
    params : dict
        Everything that produced the surface: ``bandwidth_m``, ``kernel``, ``bandwidth_rule``,
        ``n_points``, ``total_weight``, ``points_used``, ``points_outside_area`` (how they were
        treated), ``method``, ``notes``.
    bandwidth_m : float
        Bandwidth in metres (search radius for quartic/Epanechnikov, standard deviation for
        Gaussian); NaN when there were no points and no bandwidth was given.
    kernel : str
    notes : tuple of str
        Automatic choices and warnings, in sentences for captions.
    """

    bandwidth_m: float = float("nan")
    kernel: str = "quartic"
    notes: tuple[str, ...] = field(default=())



# ------------------------------------------------------------------------------- kde
def bandwidth_under_cell_size(bandwidth: float, cell_size: float) -> str:
    """The warning (and note) for a bandwidth smaller than the cell size, in metres."""
    return (
        f"the bandwidth ({bandwidth:,.0f} m) is smaller than the cell size ({cell_size:,.0f} m): the surface will be zero "
        f"or patchy between points. Use a larger {validation.shown('bandwidth')} or a smaller {validation.shown('cell_size')}."
    )


def kernel_sum(
    xy: np.ndarray, grid: Grid, bandwidth: float, kernel: str, weights: np.ndarray | None = None, *, method: str = "auto"
) -> tuple[np.ndarray, str]:
    """The kernel-weighted sum of points at every cell centre, per m² (the engine behind
    :func:`kde` and the tiled KDE), and the computation path; zeros (path ``"none"``) with no point
    or no weight. ``bandwidth`` is taken as checked: no warning here (the tiles run on threads)."""
    if len(xy) == 0 or (weights is not None and float(np.sum(weights)) == 0):
        return np.zeros(grid.shape), "none"
    check_size(grid, bandwidth, kernel)
    stream = DensityStream(grid, bandwidth, kernel, method=method)
    stream.add(xy, weights)
    summed, path = stream.result()
    summed *= norm_const(kernel, bandwidth)  # per m²
    return summed, path


def kde(
    points: Any,
    grid: Grid,
    bandwidth: float | None = None,
    kernel: Literal["quartic", "epanechnikov", "gaussian"] = "quartic",
    weights: Any = None,
    *,
    output: Literal["density", "count"] = "density",
    bandwidth_rule: Literal["arcgis", "sfhotspot"] = DEFAULT_BANDWIDTH_RULE,
    bandwidth_adjust: float = 1.0,
    points_outside_area: Literal["include", "exclude"] = "include",
    method: Literal["auto", "fft", "cells", "direct"] = "auto",
) -> KDEResult:
    """Kernel density of ``points`` at the centre of every cell of ``grid``.

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or (n, 2) array
        Incident locations in the grid's CRS (metres).
    grid : Grid
        Cells to evaluate; cells outside its study-area mask are NaN in the result.
    bandwidth : float, optional
        Metres: the search radius for ``quartic`` and ``epanechnikov`` (the kernel is 0 beyond
        it), the standard deviation for ``gaussian``. ``None`` picks it by ``bandwidth_rule``, fitted to
        the points in the study area's cells (:meth:`~hotspots.grid.Grid.in_area`, the points
        :func:`~hotspots.grid.count` counts; those beyond only smooth into the border)
        (then multiplied by ``bandwidth_adjust``; for ``gaussian`` the rule's search radius is
        turned into a standard deviation, see :mod:`hotspots.bandwidth`) and records the choice
        in ``notes``.
    kernel : {"quartic", "epanechnikov", "gaussian"}
        See the module documentation for the formulas. ``quartic`` is ArcGIS's kernel;
        ``epanechnikov`` and ``gaussian`` are scikit-learn's.
    weights : array-like or str, optional
        One non-negative weight per point (or a column name): a point of weight 3 counts as 3
        incidents.
    output : {"density", "count"}
        ``"density"``: incidents per km². ``"count"``: expected incidents per cell (density ×
        cell area), as ArcGIS's "expected counts".
    bandwidth_rule : {"arcgis", "sfhotspot"}
        Rule used when ``bandwidth`` is None: :func:`~hotspots.bandwidth.bandwidth_arcgis`
        (default, :data:`~hotspots.bandwidth.DEFAULT_BANDWIDTH_RULE`: ArcGIS Kernel Density's
        default search radius) or :func:`~hotspots.bandwidth.bandwidth_sfhotspot` (the x/y
        average of ``MASS::bandwidth.nrd``).
    bandwidth_adjust : float
        Multiplier for the automatic bandwidth (as sfhotspot's ``bandwidth_adjust``).
    points_outside_area : {"include", "exclude"}
        ``"include"`` (default): every point contributes, also points in cells outside the
        study-area mask and points beyond the grid but within reach of it — they are real
        incidents near the border, and leaving them out would make density fall off artificially
        at the boundary. ``"exclude"``: only points in cells inside the study area (cell-centre
        rule, as :func:`~hotspots.grid.count`) contribute.
    method : {"auto", "fft", "cells", "direct"}
        Computation path; all give the same numbers (to rounding). ``"direct"`` sums point by
        point; ``"fft"`` convolves moment grids by FFT (the ring of offsets where the kernel's
        edge crosses a cell point by point); ``"cells"`` (needs numba, else ``"fft"``) uses a
        cell's moments for the interior only where the cell holds enough points to gain.
        ``"auto"`` picks the fastest by a cost model.

    Returns
    -------
    KDEResult

    Raises
    ------
    ParameterError
        Bandwidth 0, negative or not finite; unknown kernel, rule or option; NaN, infinite or
        negative weights; an automatic bandwidth with fewer than 2 points.

    Notes
    -----
    With no points (after ``points_outside_area``) the result is an all-zero surface (NaN
    outside the study area) with a note, not an error, so that empty months map as empty. A
    bandwidth smaller than the cell size gives a ``UserWarning`` (and a note): most of the surface
    is then zero between points; an automatic bandwidth that small is raised to the cell size
    (with a note).
    """
    if kernel not in KERNELS:
        raise ParameterError(f"`kernel` must be one of {', '.join(map(repr, KERNELS))}; got {kernel!r}.")
    if output not in ("density", "count"):
        raise ParameterError(f"`output` must be 'density' or 'count'; got {output!r}.")
    if bandwidth_rule not in BANDWIDTH_RULES:
        raise ParameterError(f"`bandwidth_rule` must be one of {', '.join(map(repr, BANDWIDTH_RULES))}; got {bandwidth_rule!r}.")
    if points_outside_area not in ("include", "exclude"):
        raise ParameterError(f"`points_outside_area` must be 'include' or 'exclude'; got {points_outside_area!r}.")
    if method not in ("auto", "fft", "cells", "direct"):
        raise ParameterError(f"`method` must be 'auto', 'fft', 'cells' or 'direct'; got {method!r}.")
    if not isinstance(grid, Grid):
        raise ParameterError(f"`grid` must be a hotspots Grid (see `Grid.for_points`); got {type(grid).__name__}.")
    adjust = validation.positive(bandwidth_adjust, "bandwidth_adjust")
    if bandwidth is not None:
        h = validation.bandwidth(bandwidth)

    xy = points_xy(points, grid.crs)
    w_in = point_weights(points, weights, len(xy))
    n_points = len(xy)
    notes: list[str] = []

    n_outside = 0
    inside = None  # which points are in the study area's cells (None: all, or not needed)
    if n_points:
        kernels = compiled_loops()
        if grid.mask is None and points_outside_area == "include" and kernels is not None:
            # Only the number is needed: counted in one compiled pass (same arithmetic as below).
            n_outside = int(kernels.count_off_grid(xy[:, 0], xy[:, 1], float(grid.xmin), float(grid.ymin), float(grid.cell_size),
                                                   grid.n_rows, grid.n_cols))
        else:
            if grid.mask is None:
                # Same test as Grid.cell_of (0 <= floor(u) < n  <=>  0 <= u < n), without the indices.
                u = (xy[:, 0] - grid.xmin) / grid.cell_size
                v = (xy[:, 1] - grid.ymin) / grid.cell_size
                inside = (u >= 0) & (u < grid.n_cols) & (v >= 0) & (v < grid.n_rows)
            else:
                inside = grid.in_area(xy)
            n_outside = int((~inside).sum())
        if points_outside_area == "exclude" and n_outside:
            xy = xy[inside]
            if w_in is not None:
                w_in = w_in[inside]
            notes.append(f"{n_outside:,} point(s) outside the study area or grid left out "
                         f"({validation.setting('points_outside_area', 'exclude')}).")

    rule_used = None
    if bandwidth is None:
        # fitted to the points analysed (in the study area's cells), not to those beyond that only
        # smooth into its border: a town's study area in a county's files took the county's spread
        # (Bournemouth's 3 km circle in Dorset's files: 2,150 m instead of 222 m)
        # (fewer than 2 inside, e.g. a mask that misses the points: the rule needs 2, so every point is used)
        fit = inside is not None and points_outside_area == "include" and n_outside and n_points - n_outside >= 2
        fit_xy = xy[inside] if fit else xy
        fit_w = (w_in[inside] if w_in is not None else None) if fit else w_in
        if len(fit_xy) == 0:
            h = float("nan")
        else:
            parts = None
            if grid.mask is not None:  # a study area in separate parts: the spread within each (bandwidth.study_area_parts)
                r, c, on = grid.cell_of(fit_xy)
                on = on & grid.in_area(fit_xy)
                parts = study_area_parts(grid.mask, r, c, on)
            h, how = auto_bandwidth(fit_xy, fit_w, rule=bandwidth_rule, kernel=kernel, adjust=adjust, groups=parts)
            rule_used = bandwidth_rule
            where = "in the study area's cells" if grid.mask is not None else "on the grid"
            notes.append(f"{how.rstrip('.')}, fitted to the {len(fit_xy):,} point(s) {where}, not those beyond." if fit else how)

    s = grid.cell_size
    if rule_used is not None and math.isfinite(h) and h < s:
        # an automatic choice does not contradict the other (the cell size): a radius under one
        # cell leaves the surface zero between points (City of London's 1,466 violent crimes of
        # 2025: ArcGIS's rule 245 m on 300 m cells)
        notes.append(
            f"bandwidth raised to the cell size ({s:,.0f} m): the rule gave {h:,.0f} m, and a smaller one leaves the surface "
            "zero or patchy between points"
        )
        h = s
    if math.isfinite(h) and h < s:
        msg = bandwidth_under_cell_size(h, s)
        warnings.warn(msg, UserWarning, stacklevel=2)
        notes.append(msg)

    if points_outside_area == "include" and n_outside:
        notes.append(_outside_note(xy, grid, inside, h, kernel, n_outside))

    total_weight = float(len(xy)) if w_in is None else float(w_in.sum())
    if len(xy) == 0 or total_weight == 0:
        notes.append("no points to smooth: the density is 0 everywhere.")
    summed, path = kernel_sum(xy, grid, h, kernel, w_in, method=method)

    values = summed  # a new array of this call's own: scaled in place
    if output == "density":
        values *= 1e6
        name, units = "density", "incidents per km²" if w_in is None else "weighted incidents per km²"
    else:
        values *= s * s
        name, units = "expected_count", "incidents per cell" if w_in is None else "weighted incidents per cell"
    if grid.mask is not None:
        values[~grid.mask] = np.nan

    params = {
        "bandwidth_m": h,
        "kernel": kernel,
        "bandwidth_rule": rule_used,
        "bandwidth_adjust": adjust if rule_used else None,
        "output": output,
        "weights": weights if isinstance(weights, str) else (None if weights is None else "array"),
        "n_points": n_points,
        "points_used": int(len(xy)),
        "total_weight": total_weight,
        "points_outside_area": points_outside_area,
        "n_points_outside_area": n_outside,
        "gaussian_cutoff_sd": GAUSSIAN_CUTOFF_SD if kernel == "gaussian" else None,
        "method": path,
        "notes": list(notes),
    }
    return KDEResult(values, grid, name, units, params, bandwidth_m=h, kernel=kernel, notes=tuple(notes))


def _outside_note(xy: np.ndarray, grid: Grid, inside: np.ndarray | None, h: float, kernel: str, n_outside: int) -> str:
    """The note on the points outside the study area (or grid) that :func:`kde` still smooths (``"include"``).

    Only those within the kernel's reach (``h``; 6 ``h`` for ``gaussian``) of a study-area cell's centre add to the
    density there: "11 point(s) ... still contribute to the density near the border" was said of Avon and Somerset's
    strays more than 10 km from the rest, with a 3 km bandwidth, which add nothing inside it.
    """
    setting = validation.setting("points_outside_area", "include")
    if inside is None:
        inside = grid.in_area(xy)
    out = xy[~inside]
    reach = kernel_reach(h, kernel)
    near = len(out)
    if math.isfinite(reach) and len(out):
        s = grid.cell_size
        if grid.mask is None:  # every cell is the study area's: the nearest centre, axis by axis
            c = np.clip(np.round((out[:, 0] - grid.xmin) / s - 0.5), 0, grid.n_cols - 1)
            r = np.clip(np.round((grid.ymax - out[:, 1]) / s - 0.5), 0, grid.n_rows - 1)
            d = np.hypot(out[:, 0] - grid.x_centres[c.astype(int)], out[:, 1] - grid.y_centres[r.astype(int)])
        else:
            from scipy.spatial import cKDTree

            rows, cols = np.nonzero(grid.mask)
            centres = np.column_stack([grid.x_centres[cols], grid.y_centres[rows]])
            d = cKDTree(centres).query(out, k=1)[0] if len(centres) else np.full(len(out), np.inf)
        near = int((d < reach).sum())
    if near == n_outside:
        return (f"{n_outside:,} point(s) outside the study area or grid still contribute to the density near the border "
                f"({setting}).")
    far = f"farther than the kernel's reach ({reach:,.0f} m) from the study area's cells and add nothing to the density there"
    if near == 0:
        return f"{n_outside:,} point(s) outside the study area or grid lie {far} ({setting})."
    return (f"{near:,} of the {n_outside:,} point(s) outside the study area or grid still contribute to the density near "
            f"the border; the other {n_outside - near:,} lie {far} ({setting}).")
