"""Which columns of an incident, referral or task table hold the coordinates and each canonical
field: explicit names first, then the usual names (the loaders' one rule)."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd

from .._errors import ParameterError
from ._common import find_column
from ._read import Table

__all__ = ["XY_CANDIDATES", "WKT_CANDIDATES", "has_geometry", "resolve_xy", "match_columns", "find_columns"]

#: Column-name candidates for coordinates, as (x, y) pairs in priority order.
XY_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("easting", "northing"),
    ("eastings", "northings"),
    ("longitude", "latitude"),
    ("lon", "lat"),
    ("lng", "lat"),
    ("long", "lat"),
    ("x", "y"),
    ("x_coord", "y_coord"),
    ("xcoord", "ycoord"),
    ("x_coordinate", "y_coordinate"),
    ("point_x", "point_y"),
    ("coord_x", "coord_y"),
)
WKT_CANDIDATES = ("geometry", "wkt", "geom", "the_geom", "shape")


def has_geometry(table: Table) -> bool:
    f = table.frame
    return isinstance(f, gpd.GeoDataFrame) and f._geometry_column_name in f.columns


def resolve_xy(table: Table, x: str | None, y: str | None) -> tuple[str | None, str | None, str | None]:
    """Pick the coordinate source: explicit ``x``/``y``, the table's geometry, a WKT column, or
    auto-detected x/y columns. Returns ``(x_col, y_col, wkt_col)``; all None means geometry."""
    cols = [c for c in table.frame.columns if not (has_geometry(table) and c == table.frame._geometry_column_name)]
    if (x is None) != (y is None):
        raise ParameterError("give both `x` and `y` (the names of the coordinate columns), or neither.")
    if x is not None:
        missing = [c for c in (x, y) if c not in table.frame.columns]
        if missing:
            raise ParameterError(
                f"{table.name}: coordinate column(s) {', '.join(f'`{m}`' for m in missing)} not found. "
                f"Columns present: {', '.join(f'`{c}`' for c in cols[:30])}."
            )
        return x, y, None
    if has_geometry(table):
        return None, None, None
    for cx, cy in XY_CANDIDATES:
        fx, fy = find_column(cols, [cx]), find_column(cols, [cy])
        if fx is not None and fy is not None:
            return fx, fy, None
    w = find_column(cols, WKT_CANDIDATES)
    if w is not None:
        return None, None, w
    from .._errors import SchemaError

    raise SchemaError(
        f"{table.name}: cannot find coordinates. Expected longitude/latitude, easting/northing or x/y columns, "
        f"or a geometry. Columns present: {', '.join(f'`{c}`' for c in cols[:30])}. Rename the coordinate columns in "
        "the file to Longitude and Latitude (or Easting and Northing); in Python, name them with `x='...'`, `y='...'`."
    )


def match_columns(
    table: Table,
    mapping: dict[str, str],
    x: str | None,
    y: str | None,
    keys: Sequence[str],
    candidates: dict[str, Sequence[str]],
) -> tuple[list[str], dict[str, str | None], tuple[str | None, str | None, str | None]]:
    """Find the coordinate columns and each canonical column of ``keys`` in ``table``.

    Columns named in ``mapping`` win; the rest are looked up by their usual names
    (``candidates[key]``), never reusing a column already taken (a coordinate or an earlier key).

    Returns
    -------
    cols : list of str
        The table's attribute columns (without its geometry column).
    found : dict
        ``key -> column name`` or None when absent.
    xy : tuple
        ``(x column, y column, WKT column)`` as :func:`resolve_xy` returns them.
    """
    cols = [c for c in table.frame.columns if c != getattr(table.frame, "_geometry_column_name", None)]
    if x is None and y is None and ("x" in mapping or "y" in mapping):
        x, y = mapping.get("x"), mapping.get("y")
    x_col, y_col, wkt_col = resolve_xy(table, x, y)
    used = set(mapping.values()) | {c for c in (x_col, y_col, wkt_col) if c}
    return cols, find_columns(cols, keys, mapping, candidates, used), (x_col, y_col, wkt_col)


def find_columns(
    cols: Sequence[str], keys: Sequence[str], mapping: dict[str, str], candidates: dict[str, Sequence[str]], used: set[str]
) -> dict[str, str | None]:
    """``key -> column`` for each of ``keys``: the one named in ``mapping``, else the first free
    column with one of its usual names (``candidates[key]``), else None; ``used`` (the columns
    already taken) grows with each column found."""
    found: dict[str, str | None] = {}
    for key in keys:
        if key in mapping:
            found[key] = mapping[key]
        else:
            hit = find_column([c for c in cols if c not in used], candidates[key])
            found[key] = hit
            if hit is not None:
                used.add(hit)
    return found
