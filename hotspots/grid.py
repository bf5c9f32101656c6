"""The analysis grid: square cells in metres, with an optional study-area mask.

One :class:`Grid` owns cell size, origin, extent, CRS and mask. Every raster-like result (counts,
density, z-scores) is a :class:`GridValues`: a 2-D array on a grid, convertible to a
GeoDataFrame of cells.

Conventions
-----------
* Arrays have shape ``(n_rows, n_cols)``; **row 0 is the northernmost row** and column 0 the
  westernmost (the image / GeoTIFF convention), so ``values`` can be drawn as a picture as is.
* Cell ``(r, c)`` covers ``x in [xmin + c*s, xmin + (c+1)*s)`` and
  ``y in [ymax - (r+1)*s, ymax - r*s)`` where ``s`` is the cell size in metres (west and
  south edges inclusive).
* A cell is *inside* the study area when its centre lies in the area polygon (ArcGIS and
  sfhotspot clip the same way). Cells outside the mask hold ``NaN`` in every result and take no
  part in any statistic.
* Grid origins are snapped to whole multiples of the cell size, so grids built from different
  data (two periods, two forces) with the same cell size line up cell for cell.
"""

from __future__ import annotations

import ctypes
import math
import threading
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from . import validation
from ._errors import CRSError, ParameterError

__all__ = [
    "touching_groups",
    "Grid",
    "GridValues",
    "count",
    "bin_points",
    "count_values",
    "auto_cell_size",
    "incident_extent",
    "MAX_AUTO_CELL_M",
    "points_xy",
    "clear_coordinate_cache",
    "point_weights",
    "BNG",
    "MAX_CELLS",
]

#: British National Grid, the default analysis CRS.
BNG = pyproj.CRS.from_epsg(27700)

#: Largest grid we agree to build (cells). England and Wales at 250 m is about 6.3 million.
MAX_CELLS = 60_000_000
#: Above this many cells we warn that the grid is large (as sfhotspot does at 100,000).
WARN_CELLS = 10_000_000


def _as_crs(crs: Any) -> pyproj.CRS:
    try:
        out = pyproj.CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises CRSError of its own with a long message
        raise CRSError(f"`crs` {crs!r} is not a coordinate reference system pyproj understands: {exc}") from None
    if out.is_geographic:
        raise CRSError(
            f"`crs` {out.name} is geographic (degrees); the grid needs metres. Use a projected CRS "
            "such as British National Grid (`crs=27700`) and convert points with `.to_crs(27700)`."
        )
    return out


def points_xy(points: Any, crs: pyproj.CRS | None = None, *, name: str = "points") -> np.ndarray:
    """Coordinates of ``points`` as an ``(n, 2)`` float array in metres.

    From a GeoDataFrame or GeoSeries the array is column-major (x and y each contiguous).


    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or array-like of shape (n, 2)
        Point geometries (or x, y pairs already in ``crs``).
    crs : pyproj.CRS, optional
        The CRS the coordinates must be in. A GeoDataFrame in another CRS is an error that names
        the fix (``.to_crs``) rather than a silent transformation.
    name : str
        Argument name used in error messages.
    """
    arr = None
    if isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        # geopandas keeps a pyproj.CRS already: compared as it is (building a new one costs 0.3 ms)
        gcrs = geoms.crs if geoms.crs is None or isinstance(geoms.crs, pyproj.CRS) else pyproj.CRS(geoms.crs)
        if crs is not None and gcrs is not None and gcrs is not crs and not gcrs.equals(crs):
            raise CRSError(
                f"`{name}` are in {pyproj.CRS(geoms.crs).name} but the grid is in {crs.name}; "
                f"convert them first with `{name}.to_crs({crs.to_epsg() or crs.to_string()!r})`."
            )
        if len(geoms) == 0:
            return np.empty((0, 2), dtype=float)
        # The plain object array of shapely geometries: shapely's functions on it skip pandas'
        # ufunc dispatch (about 2 ms per call at 10^5 points). The types first (0.8 ms at 10^5
        # points), then the bounds: one GEOS call per geometry (1.5 ms, against 3.9 ms for get_x
        # and get_y), and a point's envelope is its x and y twice, exactly (GEOS copies the
        # coordinate). They are written as rows (xmin, ymin, xmax, ymax) of one array; a copy of
        # the first two is returned (x and y each contiguous, which compiled loops read 4x faster
        # than every other value), a copy of the last two is remembered by the cache. Copies
        # (0.07 ms each): views would keep the whole array alive, twice the memory, and in the
        # cache made every later call page-fault fresh memory (2 ms).
        arr = np.asarray(geoms.values)
        cached = _cached_xy(arr)
        if cached is not None:
            return cached
        types = shapely.get_type_id(arr)
        if not (types == 0).all():
            if np.any(types < 0):
                raise ParameterError(f"`{name}` has missing or empty geometries; drop them before counting.")
            raise ParameterError(
                f"`{name}` must hold Point geometries; found {sorted(set(types.tolist()) - {0})} "
                "(shapely type ids). Use centroids (`.centroid`) if you mean the middle of each shape."
            )
        rows = np.empty((4, len(arr)))
        shapely.bounds(arr, out=rows.T)
        xy = rows[:2].copy().T
        finite = bool(np.isfinite(rows[:2]).all())
        if not finite and np.any(shapely.is_empty(arr)):
            raise ParameterError(f"`{name}` has missing or empty geometries; drop them before counting.")
    else:
        xy = np.asarray(points, dtype=float)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ParameterError(f"`{name}` must be a GeoDataFrame/GeoSeries of points or an (n, 2) array; got shape {xy.shape}.")
        finite = bool(np.isfinite(xy).all())
    if not finite:
        bad = int((~np.isfinite(xy)).any(axis=1).sum())
        raise ParameterError(f"`{name}` has {bad} point(s) with NaN or infinite coordinates; drop them first.")
    if arr is not None:
        _remember_xy(arr, rows[2:].copy())
    return xy


# Coordinates of the last few geometry arrays read by points_xy. Shapely geometries are
# immutable, so an array that still holds the very same geometry objects in the same order (the
# same pointers) has the same coordinates: an analysis reads one incidents table several times
# (counts, density, clusters, linkage), and the app again for every redraw. Reading 10^5 points
# through GEOS costs about 2.7 ms; comparing the pointers, 0.05 ms. Each entry keeps a copy of the
# array of geometry objects (references, not the geometries), so that no other geometry can take
# a cached one's address while the entry lives, and is dropped when the array it was read from is
# garbage-collected (a weak reference with a callback).
_XY_CACHE: OrderedDict[int, tuple[Any, np.ndarray, np.ndarray]] = OrderedDict()
_XY_CACHE_SIZE = 4
_XY_LOCK = threading.RLock()  # re-entrant: a weak-reference callback may run while it is held (gc)


def _pointers(arr: np.ndarray) -> np.ndarray | None:
    """The object pointers of a 1-D C-contiguous object array, as a read-only intp view (None otherwise)."""
    if arr.dtype != object or arr.ndim != 1 or not arr.flags.c_contiguous or len(arr) == 0:
        return None
    view = np.ctypeslib.as_array((ctypes.c_ssize_t * len(arr)).from_address(arr.ctypes.data))
    view.setflags(write=False)
    return view


def _cached_xy(arr: np.ndarray) -> np.ndarray | None:
    ptrs = _pointers(arr)
    if ptrs is None:
        return None
    with _XY_LOCK:
        hit = _XY_CACHE.get(id(arr))
        if hit is None or hit[0]() is not arr or not np.array_equal(_pointers(hit[1]), ptrs):
            return None
        _XY_CACHE.move_to_end(id(arr))
        return hit[2].copy().T


def _forget(key: int) -> None:
    with _XY_LOCK:
        _XY_CACHE.pop(key, None)


def _remember_xy(arr: np.ndarray, xy_rows: np.ndarray) -> None:
    # `xy_rows` (x and y as the rows of a 2 x n array) is kept as it is: no caller may hold it.
    if _pointers(arr) is None:
        return
    key = id(arr)
    try:
        ref = weakref.ref(arr, lambda _r, key=key: _forget(key))
    except TypeError:  # pragma: no cover - numpy arrays support weak references
        return
    with _XY_LOCK:
        _XY_CACHE[key] = (ref, arr.copy(), xy_rows)
        _XY_CACHE.move_to_end(key)
        while len(_XY_CACHE) > _XY_CACHE_SIZE:
            _XY_CACHE.popitem(last=False)


def clear_coordinate_cache() -> None:
    """Forget the coordinates :func:`points_xy` remembered (for timing a first read)."""
    with _XY_LOCK:
        _XY_CACHE.clear()


#: Largest automatic cell size, metres: hotspots stay street-scale on a whole force's map.
MAX_AUTO_CELL_M = 500.0
#: Share of the points the robust extent (:func:`incident_extent`) spans in x and in y.
EXTENT_COVERAGE = 0.98


def incident_extent(xy: np.ndarray, coverage: float = EXTENT_COVERAGE) -> tuple[float, float, float, float]:
    """Where the points are: the box from the lower to the upper ``(1 - coverage) / 2`` quantile.

    A few strays (police.uk files place some incidents hundreds of km from the force) stretch
    the bounding box, not this box: with ``coverage=0.98`` up to 1 % of the points on each side
    of each axis are ignored.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Points, metres.
    coverage : float
        Share of the points spanned on each axis, in (0, 1]; 1 gives the bounding box.

    Returns
    -------
    tuple of 4 floats
        ``(xmin, ymin, xmax, ymax)``, metres.
    """
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0:
        raise ParameterError(f"`xy` must be a non-empty (n, 2) array of points; got shape {xy.shape}.")
    if not (0 < coverage <= 1):
        raise ParameterError(f"`coverage` must be in (0, 1]; got {coverage!r}.")
    tail = (1.0 - coverage) / 2.0
    # Actual points (not interpolated): with few points the box is their bounding box.
    lo = np.quantile(xy, tail, axis=0, method="lower")
    hi = np.quantile(xy, 1.0 - tail, axis=0, method="higher")
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def auto_cell_size(
    bounds: tuple[float, float, float, float],
    *,
    max_size: float = MAX_AUTO_CELL_M,
    what: str = "the extent",
) -> tuple[float, str]:
    """Automatic cell size: street scale, following where the incidents are.

    sfhotspot's rule (1/50 of the shorter side of ``bounds``, rounded down to a multiple of
    100 m; to a whole metre when that gives 0, i.e. under 5 km) capped at ``max_size`` (500 m): a whole
    force gets 500 m cells (sfhotspot alone gives 1-3 km, too coarse to point patrols at a
    street), a town 100-300 m, a small area under 100 m. Pass the bounds of where the incidents
    are (a study area, or :func:`incident_extent`), not the bounding box of every point.

    Parameters
    ----------
    bounds : tuple of 4 floats
        ``(xmin, ymin, xmax, ymax)``, metres.
    max_size : float
        Largest size chosen, metres (default :data:`MAX_AUTO_CELL_M`; ``inf`` for sfhotspot's rule alone).
    what : str
        What the bounds are, for the announcement (e.g. ``"the study area"``).

    Returns
    -------
    cell_size : float
        In metres.
    rule : str
        A sentence announcing the choice and its reason, for messages and captions.

    Examples
    --------
    >>> auto_cell_size((0, 0, 77_000, 68_000))[0]
    500.0
    >>> auto_cell_size((0, 0, 12_000, 15_000))[0]
    200.0
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    short = min(xmax - xmin, ymax - ymin)
    if not np.isfinite(short) or short <= 0:
        raise ParameterError(
            "cannot choose a cell size automatically: the points have no extent (all at one place "
            f"or on one line). Give {validation.shown('cell_size')} in metres."
        )
    if not (max_size > 0):  # inf: no cap (sfhotspot's rule alone)
        raise ParameterError(f"`max_size` must be a positive number of metres (inf for no cap); got {max_size!r}.")
    raw = short / 50.0
    size = math.floor(raw / 100.0) * 100.0
    side = f"{short / 1000:,.1f} km" if short >= 1000 else f"{short:,.0f} m"
    if size == 0:  # a whole metre, so that every text shows the size used (not 97.6186 m beside "98 m")
        size = float(math.floor(raw)) if raw >= 1.0 else raw
        how = f"1/50 of the shorter side of {what} ({side}; under 5 km, so rounded down to a whole metre, not 100 m)"
    else:
        how = f"1/50 of the shorter side of {what} ({side}), rounded down to 100 m"
    if size > max_size:
        return float(max_size), (
            f"cell size set to {max_size:g} m: {how} would give {size:,.0f} m (sfhotspot's rule), capped at "
            f"{max_size:g} m so that hotspots stay at neighbourhood scale"
        )
    return float(size), f"cell size set to {size:g} m: {how} (sfhotspot's rule, at most {max_size:g} m)"


def _mask_from_area(area: Any, xmin: float, ymax: float, cs: float, n_rows: int, n_cols: int, crs: pyproj.CRS) -> np.ndarray:
    geom = _area_geometry(area, crs)
    xc = xmin + (np.arange(n_cols) + 0.5) * cs
    yc = ymax - (np.arange(n_rows) + 0.5) * cs
    shapely.prepare(geom)
    mask = np.zeros((n_rows, n_cols), dtype=bool)
    # Row by row keeps memory flat on national grids (millions of cells).
    step = max(1, 2_000_000 // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        r1 = min(n_rows, r0 + step)
        xx, yy = np.meshgrid(xc, yc[r0:r1])
        mask[r0:r1] = shapely.contains_xy(geom, xx, yy)
    if not mask.any() and not geom.is_empty and geom.intersects(shapely.box(xmin, ymax - n_rows * cs, xmin + n_cols * cs, ymax)):
        # the area overlaps the grid, but no cell's centre lies in it: the cells are too large for it
        x0, y0, x1, y1 = geom.bounds
        raise ParameterError(
            f"no cell of {cs:,.0f} m has its centre in the study area ({(x1 - x0) / 1000:,.1f} km x {(y1 - y0) / 1000:,.1f} "
            f"km across, {geom.area / 1e6:,.1f} km²): the cells are too large for it. Choose a smaller "
            f"{validation.shown('cell_size')} (at most {_largest_fitting(x1 - x0, y1 - y0):,.0f} m here), or leave it "
            "to be chosen automatically."
        )
    return mask


def _largest_fitting(width: float, height: float) -> float:
    """A cell size that leaves a few cells across an area ``width`` x ``height`` metres: a fifth of its
    shorter side, rounded down to 10 m (at least 10 m)."""
    return max(10.0, math.floor(min(width, height) / 5 / 10) * 10)


def _area_geometry(area: Any, crs: pyproj.CRS) -> BaseGeometry:
    """One (multi)polygon from a shapely geometry, GeoSeries or GeoDataFrame, in ``crs``."""
    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if gs.crs is None:
            raise CRSError("the study area has no CRS; set it with `.set_crs(...)` before using it as a mask.")
        gs = gs.to_crs(crs)
        geom = shapely.union_all(gs.values)
    elif isinstance(area, BaseGeometry):
        geom = area
    else:
        raise ParameterError(
            "`mask` must be a boolean array of the grid's shape, a shapely polygon, or a GeoSeries/"
            f"GeoDataFrame of polygons; got {type(area).__name__}."
        )
    if geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        raise ParameterError("the study area must be a non-empty polygon or multipolygon.")
    return geom


@dataclass(frozen=True, eq=False)
class Grid:
    """Square cells in a projected CRS, with an optional study-area mask.

    Build one with :meth:`from_bounds`, :meth:`for_points` or :meth:`for_area` rather than by
    hand.

    Attributes
    ----------
    xmin, ymax : float
        West and north edges of the grid, metres.
    cell_size : float
        Side of a cell, metres.
    n_rows, n_cols : int
        Grid shape. Row 0 is the northernmost row.
    crs : pyproj.CRS
        A projected CRS in metres (British National Grid by default).
    mask : ndarray of bool, shape (n_rows, n_cols), or None
        True for cells inside the study area; None means every cell takes part.
    notes : tuple of str
        Automatic choices made while building the grid (announced to the user).
    """

    xmin: float
    ymax: float
    cell_size: float
    n_rows: int
    n_cols: int
    crs: pyproj.CRS = field(default=BNG)
    mask: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (np.isfinite(self.cell_size) and self.cell_size > 0):
            raise ParameterError(f"`cell_size` must be a positive number of metres; got {self.cell_size!r}.")
        if self.n_rows < 1 or self.n_cols < 1:
            raise ParameterError(f"a grid needs at least one row and one column; got {self.n_rows} x {self.n_cols}.")
        n = self.n_rows * self.n_cols
        if n > MAX_CELLS:
            raise ParameterError(
                f"the grid would have {n:,} cells ({self.n_rows:,} x {self.n_cols:,}), more than the limit of "
                f"{MAX_CELLS:,}. Use a larger {validation.shown('cell_size')}, a smaller study area, or check for stray "
                "far-away points."
            )
        if self.mask is not None:
            m = np.asarray(self.mask)
            if m.shape != (self.n_rows, self.n_cols) or m.dtype != bool:
                raise ParameterError(
                    f"`mask` must be a boolean array of shape {(self.n_rows, self.n_cols)}; got {m.dtype} {m.shape}."
                )
            if not m.any():
                raise ParameterError(
                    "the study-area mask leaves no cell inside; check that the area overlaps the grid and the CRS."
                )
            m = m.copy()
            m.flags.writeable = False
            object.__setattr__(self, "mask", m)

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_bounds(
        cls,
        bounds: tuple[float, float, float, float],
        cell_size: float = 200.0,
        crs: Any = 27700,
        mask: Any = None,
        *,
        notes: tuple[str, ...] = (),
    ) -> Grid:
        """A grid covering ``bounds`` = ``(xmin, ymin, xmax, ymax)`` in metres.

        The origin is snapped down to a whole multiple of ``cell_size`` and the grid extended so
        that a point exactly on ``xmax``/``ymax`` still falls in a cell.

        Parameters
        ----------
        bounds : tuple of 4 floats
            Extent to cover, metres, in ``crs``.
        cell_size : float
            Side of a square cell, metres.
        crs : anything pyproj accepts, default 27700
            Projected CRS of the bounds.
        mask : shapely polygon, GeoSeries/GeoDataFrame, boolean array or None
            Study area; cells whose centre lies outside take no part in statistics.
        """
        crs = _as_crs(crs)
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
        if not all(np.isfinite([xmin, ymin, xmax, ymax])) or xmax < xmin or ymax < ymin:
            raise ParameterError(
                f"`bounds` must be finite (xmin, ymin, xmax, ymax) with xmin <= xmax, ymin <= ymax; got {bounds}."
            )
        cs = validation.distance(cell_size, "cell_size")
        x0 = math.floor(xmin / cs) * cs
        y0 = math.floor(ymin / cs) * cs
        n_cols = max(1, math.floor((xmax - x0) / cs) + 1)
        n_rows = max(1, math.floor((ymax - y0) / cs) + 1)
        n = n_rows * n_cols
        if n > MAX_CELLS:
            raise ParameterError(
                f"a {cs:g} m grid over {xmax - xmin:,.0f} m x {ymax - ymin:,.0f} m would have {n:,} cells, more than the "
                f"limit of {MAX_CELLS:,}. Use a larger {validation.shown('cell_size')}, or check for stray far-away points."
            )
        if n > WARN_CELLS:
            warnings.warn(f"large grid: {n:,} cells of {cs:g} m", stacklevel=2)
        ymax_edge = y0 + n_rows * cs
        m = None
        if mask is not None:
            if isinstance(mask, np.ndarray):
                m = mask
            else:
                m = _mask_from_area(mask, x0, ymax_edge, cs, n_rows, n_cols, crs)
        return cls(x0, ymax_edge, cs, n_rows, n_cols, crs, m, tuple(notes))

    @classmethod
    def for_points(
        cls,
        points: Any,
        cell_size: float | None = None,
        crs: Any = None,
        mask: Any = None,
    ) -> Grid:
        """A grid covering ``points`` (and the study area, if given).

        With ``cell_size=None`` the size follows :func:`auto_cell_size` on the study area's bounds
        (or, without one, on :func:`incident_extent`, so that strays do not set it) and the choice
        is recorded in :attr:`notes`.
        """
        if crs is None:
            crs = getattr(points, "crs", None) or BNG
        crs = _as_crs(crs)
        xy = points_xy(points, crs)
        if mask is not None and not isinstance(mask, np.ndarray):
            bounds = _area_geometry(mask, crs).bounds
            where = "the study area"
        elif len(xy):
            bounds = (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())
            where = "where the incidents are (98 % of them on each axis)"
        else:
            raise ParameterError("`points` is empty: there is nothing to build a grid around. Load some incidents first.")
        notes: tuple[str, ...] = ()
        if cell_size is None:
            size_bounds = bounds if where == "the study area" else incident_extent(xy)
            cell_size, rule = auto_cell_size(size_bounds, what=where)
            notes = (rule,)
        return cls.from_bounds(bounds, cell_size, crs, mask, notes=notes)

    @classmethod
    def for_area(cls, area: Any, cell_size: float = 200.0, crs: Any = None) -> Grid:
        """A grid covering a study-area polygon, masked to it.

        ``crs`` defaults to the area's own CRS when it is projected (a GeoDataFrame or GeoSeries
        in metres, e.g. Northern Ireland's Irish Transverse Mercator), else British National Grid
        (a shapely polygon is taken to be in it; a geographic area is converted to it).
        """
        if crs is None:
            own = getattr(area, "crs", None)
            crs = own if own is not None and pyproj.CRS.from_user_input(own).is_projected else BNG
        crs = _as_crs(crs)
        geom = _area_geometry(area, crs)
        return cls.from_bounds(geom.bounds, cell_size, crs, geom)

    # ---------------------------------------------------------------- geometry
    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_rows, self.n_cols)

    @property
    def n_cells(self) -> int:
        """Cells taking part (inside the mask)."""
        return int(self.active.sum()) if self.mask is not None else self.n_rows * self.n_cols

    @property
    def ymin(self) -> float:
        return self.ymax - self.n_rows * self.cell_size

    @property
    def xmax(self) -> float:
        return self.xmin + self.n_cols * self.cell_size

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def cell_area_km2(self) -> float:
        return (self.cell_size / 1000.0) ** 2

    @property
    def active(self) -> np.ndarray:
        """Boolean array of cells taking part (all True without a mask)."""
        if self.mask is None:
            return np.ones(self.shape, dtype=bool)
        return self.mask

    @property
    def x_centres(self) -> np.ndarray:
        """Centre x of each column, metres (length n_cols)."""
        return self.xmin + (np.arange(self.n_cols) + 0.5) * self.cell_size

    @property
    def y_centres(self) -> np.ndarray:
        """Centre y of each row, metres (length n_rows; decreasing, row 0 is north)."""
        return self.ymax - (np.arange(self.n_rows) + 0.5) * self.cell_size

    def centres(self, active_only: bool = False) -> np.ndarray:
        """Cell centres as an ``(n, 2)`` array in row-major order (all cells, or active ones)."""
        xx, yy = np.meshgrid(self.x_centres, self.y_centres)
        xy = np.column_stack([xx.ravel(), yy.ravel()])
        return xy[self.active.ravel()] if active_only else xy

    def cell_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row and column of each point, and whether it falls on the grid at all.

        Returns
        -------
        rows, cols : ndarray of int
            Valid only where ``on_grid`` is true.
        on_grid : ndarray of bool
        """
        xy = np.asarray(xy, dtype=float)
        cols = np.floor((xy[:, 0] - self.xmin) / self.cell_size)
        rows = (self.n_rows - 1) - np.floor((xy[:, 1] - self.ymin) / self.cell_size)
        on_grid = (cols >= 0) & (cols < self.n_cols) & (rows >= 0) & (rows < self.n_rows)
        rows = np.where(on_grid, rows, 0).astype(np.int64)
        cols = np.where(on_grid, cols, 0).astype(np.int64)
        return rows, cols, on_grid

    def in_area(self, xy: np.ndarray) -> np.ndarray:
        """Which points this grid's counts count: those on the grid and, with a study-area mask, in a cell
        of the study area (the cell-centre rule of the mask). The one rule for "the incidents analysed"
        (:func:`count`, the automatic KDE bandwidth, :func:`hotspots.pipeline.hotspot_stage`).

        Parameters
        ----------
        xy : ndarray of shape (n, 2)
            Points in the grid's CRS (metres).

        Returns
        -------
        ndarray of bool, shape (n,)

        Examples
        --------
        >>> g = Grid(0.0, 200.0, 100.0, 2, 2, BNG, np.array([[True, False], [True, True]]))
        >>> g.in_area(np.array([[50.0, 150.0], [150.0, 150.0], [150.0, 50.0], [250.0, 50.0]])).tolist()
        [True, False, True, False]
        """
        rows, cols, on_grid = self.cell_of(xy)
        if self.mask is None:
            return on_grid
        return on_grid & self.mask[rows, cols]

    def with_mask(self, mask: Any) -> Grid:
        """The same grid with another study-area mask."""
        if mask is None:
            m = None
        elif isinstance(mask, np.ndarray):
            m = mask
        else:
            m = _mask_from_area(mask, self.xmin, self.ymax, self.cell_size, self.n_rows, self.n_cols, self.crs)
        return Grid(self.xmin, self.ymax, self.cell_size, self.n_rows, self.n_cols, self.crs, m, self.notes)

    def same_as(self, other: Grid) -> bool:
        """True when both grids have the same cells and mask."""
        same_mask = (self.mask is None and other.mask is None) or (
            self.mask is not None and other.mask is not None and np.array_equal(self.mask, other.mask)
        )
        return (
            self.xmin == other.xmin
            and self.ymax == other.ymax
            and self.cell_size == other.cell_size
            and self.shape == other.shape
            and self.crs.equals(other.crs)
            and same_mask
        )

    def cell_polygons(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Square polygons (shapely array) for the given cells."""
        s = self.cell_size
        x0 = self.xmin + np.asarray(cols) * s
        y1 = self.ymax - np.asarray(rows) * s
        return shapely.box(x0, y1 - s, x0 + s, y1)

    def to_geodataframe(self, active_only: bool = True) -> gpd.GeoDataFrame:
        """One polygon per cell with ``row``, ``col`` and ``inside`` columns."""
        rr, cc = np.meshgrid(np.arange(self.n_rows), np.arange(self.n_cols), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        inside = self.active.ravel()
        if active_only:
            rr, cc, inside = rr[inside], cc[inside], inside[inside]
        return gpd.GeoDataFrame(
            {"row": rr, "col": cc, "inside": inside},
            geometry=self.cell_polygons(rr, cc),
            crs=self.crs,
        )

    def describe(self) -> dict[str, Any]:
        """Parameters, for captions, sidecars and reproducibility."""
        return {
            "cell_size_m": self.cell_size,
            "n_rows": self.n_rows,
            "n_cols": self.n_cols,
            "xmin": self.xmin,
            "ymax": self.ymax,
            "crs": self.crs.to_string(),
            "cells_in_study_area": self.n_cells,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        return (
            f"Grid({self.n_rows} x {self.n_cols} cells of {self.cell_size:g} m, origin ({self.xmin:g}, {self.ymin:g}), "
            f"{self.crs.to_string()}, "
            f"{'mask: ' + format(self.n_cells, ',') + ' cells inside' if self.mask is not None else 'no mask'})"
        )


@dataclass(frozen=True, eq=False)
class GridValues:
    """A value per grid cell.

    Attributes
    ----------
    values : ndarray of float, shape (n_rows, n_cols)
        Row 0 is north. Cells outside the study area hold NaN.
    grid : Grid
    name : str
        What the values are (``"count"``, ``"density"``, ...); used as the column name.
    units : str
        E.g. ``"incidents"`` or ``"incidents per km²"``.
    params : dict
        The arguments that produced the values.
    """

    values: np.ndarray
    grid: Grid
    name: str = "value"
    units: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.values.shape != self.grid.shape:
            raise ParameterError(f"values of shape {self.values.shape} do not fit a grid of shape {self.grid.shape}.")

    def active_values(self) -> np.ndarray:
        """The values of cells in the study area, row-major (1-D)."""
        return self.values[self.grid.active]

    @property
    def total(self) -> float:
        return float(np.nansum(self.values))

    def to_geodataframe(self, *, active_only: bool = True, drop_zero: bool = False) -> gpd.GeoDataFrame:
        """Cells as polygons with ``row``, ``col`` and a column named :attr:`name`."""
        g = self.grid
        sel = g.active if active_only else np.ones(g.shape, dtype=bool)
        if drop_zero:
            sel = sel & (np.nan_to_num(self.values) != 0)
        rr, cc = np.nonzero(sel)
        return gpd.GeoDataFrame(
            {"row": rr, "col": cc, self.name: self.values[rr, cc]},
            geometry=g.cell_polygons(rr, cc),
            crs=g.crs,
        )

    def to_frame(self) -> pd.DataFrame:
        """Cells in the study area as a plain table with centre coordinates."""
        g = self.grid
        rr, cc = np.nonzero(g.active)
        return pd.DataFrame(
            {
                "row": rr,
                "col": cc,
                "x": g.x_centres[cc],
                "y": g.y_centres[rr],
                self.name: self.values[rr, cc],
            }
        )


def count(points: Any, grid: Grid, weights: Any = None) -> GridValues:
    """Incidents (or summed weights) per grid cell.

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or (n, 2) array
        Points in the grid's CRS.
    grid : Grid
    weights : array-like of float, or str, optional
        One non-negative finite weight per point, or the name of a column of ``points``.

    Returns
    -------
    GridValues
        ``name="count"``. Cells outside the study area are NaN. Points off the grid or outside
        the mask are not counted; how many is recorded in ``params["points_off_grid"]`` and
        ``params["points_outside_area"]``.
    """
    xy = points_xy(points, grid.crs)
    w = point_weights(points, weights, len(xy))
    counts, off, outside = bin_points(grid, xy, w)
    return count_values(
        counts,
        grid,
        weighted=w is not None,
        params={
            "weights": weights if isinstance(weights, str) else (None if weights is None else "array"),
            "n_points": int(len(xy)),
            "points_off_grid": off,
            "points_outside_area": outside,
        },
    )


def bin_points(grid: Grid, xy: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, int, int]:
    """Points (or their weights) summed per cell of the study area.

    Returns
    -------
    (counts, off_grid, outside_area) : (ndarray of float, int, int)
        Flat counts (length ``n_rows * n_cols``, row-major), the number of points off the grid
        and the number on the grid but outside the study area (neither is counted).
    """
    rows, cols, on_grid = grid.cell_of(xy)
    flat = rows * grid.n_cols + cols
    in_area = on_grid if grid.mask is None else on_grid & grid.mask.ravel()[flat]
    counts = np.bincount(
        flat[in_area], weights=None if w is None else w[in_area], minlength=grid.n_rows * grid.n_cols
    ).astype(float)
    return counts, int((~on_grid).sum()), int((on_grid & ~in_area).sum())


def count_values(counts: np.ndarray, grid: Grid, *, weighted: bool, params: dict[str, Any]) -> GridValues:
    """Flat per-cell counts as the ``"count"`` :class:`GridValues` (NaN outside the study area)."""
    values = np.asarray(counts, dtype=float).reshape(grid.shape)
    if grid.mask is not None:
        values[~grid.mask] = np.nan
    return GridValues(values, grid, name="count", units="weighted incidents" if weighted else "incidents", params=params)


def point_weights(points: Any, weights: Any, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        if not isinstance(points, pd.DataFrame) or weights not in points.columns:
            raise ParameterError(f"`weights` names column {weights!r}, which `points` does not have.")
        weights = points[weights].to_numpy()
    try:
        w = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("`weights` must be numbers (one per point).") from None
    if w.shape != (n,):
        raise ParameterError(f"`weights` must have one value per point ({n}); got shape {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise ParameterError(f"`weights` has {int((~np.isfinite(w)).sum())} NaN or infinite value(s); fill or drop them first.")
    if np.any(w < 0):
        raise ParameterError(f"`weights` has {int((w < 0).sum())} negative value(s); weights must be >= 0.")
    return w


def touching_groups(rows: np.ndarray, cols: np.ndarray, mask: np.ndarray) -> int:
    """Number of separate groups of the cells ``mask`` selects (cells touching at an edge or a
    corner form one group)."""
    from scipy import ndimage

    rows, cols, mask = np.asarray(rows), np.asarray(cols), np.asarray(mask, dtype=bool)
    if not mask.any():
        return 0
    r, c = rows[mask], cols[mask]
    img = np.zeros((int(r.max()) + 1, int(c.max()) + 1), dtype=bool)
    img[r, c] = True
    return int(ndimage.label(img, structure=np.ones((3, 3), dtype=int))[1])
