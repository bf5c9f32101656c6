"""Which incidents lie in which polygons: control areas, hotspot areas, any polygons.

Shared by the change tests and displacement measures. Hotspot areas (unions of grid cells) are
looked up by cell, other polygons tested with prepared shapely predicates on the points in their
bounding boxes.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from ._errors import CRSError, ParameterError
from .areas import HotspotAreas
from .grid import Grid

__all__ = ["polygon_in", "control_geometry", "points_in", "polygon_hits", "cell_area_hits", "EDGE_TOL_M"]


def polygon_in(value: Any, crs: pyproj.CRS, name: str, *, also: str = "") -> BaseGeometry:
    """One non-empty (multi)polygon from a shapely geometry, GeoSeries or GeoDataFrame in ``crs``.

    A GeoSeries or GeoDataFrame must be in ``crs`` already (it is not converted: a wrong CRS is
    usually a caller's mistake); a bare shapely geometry is taken to be in it. ``also`` names
    other accepted types in the message (``"or (for cells) a boolean array ..."``).
    """
    if isinstance(value, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = value.geometry if isinstance(value, gpd.GeoDataFrame) else value
        if gs.crs is None:
            raise CRSError(f"`{name}` has no CRS; set it with `.set_crs(...)` first.")
        if not pyproj.CRS(gs.crs).equals(crs):
            raise CRSError(
                f"`{name}` is in {pyproj.CRS(gs.crs).name} but the analysis is in {crs.name}; convert it with "
                f"`{name}.to_crs({crs.to_epsg() or crs.to_string()!r})`."
            )
        geom = shapely.union_all(gs.values)
    elif isinstance(value, BaseGeometry):
        geom = value
    else:
        kinds = f"a shapely polygon, a GeoSeries/GeoDataFrame of polygons, {also}" if also else (
            "a shapely polygon or a GeoSeries/GeoDataFrame of polygons"
        )
        raise ParameterError(f"`{name}` must be {kinds}; got {type(value).__name__}.")
    if geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7) or geom.area <= 0:
        raise ParameterError(f"`{name}` must be a non-empty polygon area.")
    return geom


def control_geometry(control: Any, crs: pyproj.CRS) -> BaseGeometry:
    """The control area of a change comparison as one polygon in ``crs`` (see :func:`polygon_in`)."""
    return polygon_in(control, crs, "control", also="or (for cells) a boolean array of the grid's shape")


def points_in(geom: BaseGeometry, xy: np.ndarray) -> np.ndarray:
    shapely.prepare(geom)
    return shapely.intersects_xy(geom, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, dtype=bool)


#: Points closer than this (metres) to a grid line are tested against the hotspot polygons
#: themselves rather than by their cell: on a cell edge a point touches two or four cells.
EDGE_TOL_M = 1e-6


def polygon_hits(geoms: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point index, polygon index) where the point intersects the polygon (boundary included).

    The same pairs as ``STRtree(geoms).query(points(xy), predicate="intersects")`` (in another
    order), without building a shapely point per incident: points are sorted by x once; for
    each polygon only the points in its bounding box are tested, with
    :func:`shapely.intersects_xy` on the prepared polygon.
    """
    if len(xy) == 0 or len(geoms) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(xy[:, 0], kind="stable")
    xs = xy[order, 0]
    ys = xy[order, 1]
    bounds = shapely.bounds(geoms)
    pts, polys = [], []
    for j, g in enumerate(geoms):
        x0, y0, x1, y1 = bounds[j]
        a = int(np.searchsorted(xs, x0, side="left"))
        b = int(np.searchsorted(xs, x1, side="right"))
        if b <= a:
            continue
        yy = ys[a:b]
        cand = np.flatnonzero((yy >= y0) & (yy <= y1))
        if cand.size == 0:
            continue
        shapely.prepare(g)
        hit = cand[shapely.intersects_xy(g, xs[a:b][cand], yy[cand])]
        pts.append(order[a + hit])
        polys.append(np.full(hit.size, j, dtype=np.int64))
    if not pts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(pts).astype(np.int64), np.concatenate(polys)


def cell_area_hits(areas: HotspotAreas, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`polygon_hits` for hotspot areas, by looking up each point's cell in ``areas.labels``.

    Hotspot areas are unions of grid cells, so a point inside a cell (farther than
    :data:`EDGE_TOL_M` from its edges) lies in the area of that cell, or in none. Points on or
    near a grid line (where a point may touch the cells of two areas) and points off the grid are
    tested against the polygons. Returns None when ``labels`` and ``areas.areas`` do not match
    (then the caller tests polygons).
    """
    table = areas.areas
    ids = table["area_id"].to_numpy()
    labels = np.asarray(areas.labels)
    grid = areas.grid
    if not isinstance(grid, Grid) or labels.shape != grid.shape or len(ids) == 0:
        return None
    if not np.issubdtype(ids.dtype, np.integer) or not np.issubdtype(labels.dtype, np.integer):
        return None
    ids = ids.astype(np.int64)
    present = np.unique(labels)
    present = present[present != 0]
    if ids.min() < 1 or len(np.unique(ids)) != len(ids) or not np.isin(present, ids).all():
        return None
    row_of = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    row_of[ids] = np.arange(len(ids))
    s = grid.cell_size
    u = (xy[:, 0] - grid.xmin) / s
    v = (grid.ymax - xy[:, 1]) / s
    tol = EDGE_TOL_M / s
    near = (np.abs(u - np.rint(u)) <= tol) | (np.abs(v - np.rint(v)) <= tol)
    col = np.floor(u)
    row = np.floor(v)
    on = (col >= 0) & (col < grid.n_cols) & (row >= 0) & (row < grid.n_rows)
    sure = on & ~near  # points off the grid (and not near it) lie in no area
    idx = np.flatnonzero(sure)
    lab = labels[row[idx].astype(np.int64), col[idx].astype(np.int64)]
    inside = lab > 0
    hit_pt = idx[inside]
    hit_area = row_of[lab[inside]]
    check = np.flatnonzero(near | ~np.isfinite(u) | ~np.isfinite(v))
    if check.size:
        cp, ca = polygon_hits(table.geometry.values, xy[check])
        hit_pt = np.concatenate([hit_pt, check[cp]])
        hit_area = np.concatenate([hit_area, ca])
    return hit_pt.astype(np.int64), hit_area.astype(np.int64)

