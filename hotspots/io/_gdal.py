"""Reading GeoPackage, GeoJSON and Shapefile with GDAL (pyogrio), within the load's limits.

GDAL reads whatever a file describes, so each format is measured first:

* **GeoPackage** is an SQLite database. Its catalogue is read with Python's :mod:`sqlite3`
  (read-only, ``trusted_schema`` off, every statement interrupted when the load's time runs out)
  before GDAL opens it. Views are refused (a view is a query run on every read: a recursive one
  never ends), and so is any SQL with ``RECURSIVE`` in it, a layer that is a virtual table, and
  a layer with generated columns computed on read. The layer's rows and columns are counted
  and admitted by the load's :class:`~hotspots.io.limits.LoadBudget`.
* **GeoJSON**: the ``"Feature"`` objects are counted in the bytes and the size admitted (GDAL
  parses the whole document in memory).
* **Shapefile**: the ``.dbf`` header gives the records and fields.
"""

from __future__ import annotations

import io
import re
import sqlite3
import struct
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import HotspotsError, InputError, LimitError
from ._read import Source, Table, bytes_as_text
from .limits import LoadBudget, current_budget

__all__ = ["read_geo", "inspect_geopackage"]

#: Seconds any one catalogue query of a GeoPackage may take (also bounded by the load's time).
SQLITE_SECONDS = 20.0


def read_geo(source: Source, *, layer: Any = None) -> Table:
    """Read a GeoPackage, GeoJSON or Shapefile source into a :class:`Table` (GDAL via pyogrio)."""
    target: Any = io.BytesIO(source.data) if source.data is not None else str(source.path)
    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table = _read_geo_inner(source, target, layer, notes)
        # GDAL's remarks become notes (the one about the in-memory name of an upload is noise).
        for w in caught:
            text = str(w.message)
            if issubclass(w.category, RuntimeWarning) and "non conformant file extension" not in text:
                note = f"{source.name}: GDAL: {text}"
                if note not in table.notes:
                    table.notes.append(note)
        return table
    except HotspotsError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyogrio/GDAL errors come in many types
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = re.sub(r"'?/vsimem/\S+?'?(?=[\s:;,.]|$)", "the file", msg)[:300].rstrip(". ")
        if "not recognized as being in a supported file format" in msg:
            msg = f"the content is not valid {source.fmt.upper()}"
        raise InputError(
            f"{source.name} cannot be read as {source.fmt.upper()}: {msg}. Check that the file is complete and in that format."
        ) from None


def _read_geo_inner(source: Source, target: Any, layer: Any, notes: list[str]) -> Table:
    import pyogrio

    budget = current_budget()
    if not source.counted:
        budget.add_unpacked(source.size(), source.name)
        source.counted = True
    if source.fmt == "gpkg":
        layer, rows, columns, n_layers = inspect_geopackage(source, layer, budget)
        if n_layers > 1:
            notes.append(f"{source.name} has {n_layers} layers; read {layer!r} (choose another with `layer=`)")
        budget.admit(source.name, fmt="gpkg", rows=rows, columns=columns, nbytes=source.size())
    elif source.fmt == "geojson":
        budget.admit(source.name, fmt="geojson", rows=_count_features(source), columns=0, nbytes=source.size())
    elif source.fmt == "shp":
        rows, columns, nbytes = _shapefile_shape(source)
        budget.admit(source.name, fmt="shp", rows=rows, columns=columns, nbytes=nbytes)
    gdf = pyogrio.read_dataframe(target, layer=layer)
    crs = getattr(gdf, "crs", None)
    frame = bytes_as_text(pd.DataFrame(gdf) if not hasattr(gdf, "geometry") else gdf)
    return Table(name=source.name, frame=frame, row_numbers=np.arange(1, len(frame) + 1), fmt=source.fmt, notes=notes, crs=crs)


# --------------------------------------------------------------------------------------------
# GeoPackage
# --------------------------------------------------------------------------------------------


def _connect(source: Source) -> sqlite3.Connection:
    if source.data is not None:
        con = sqlite3.connect(":memory:")
        con.deserialize(source.data)
    else:
        con = sqlite3.connect(Path(source.path).resolve().as_uri() + "?mode=ro&immutable=1", uri=True)  # type: ignore[arg-type]
    con.execute("PRAGMA trusted_schema = OFF")  # no SQL functions with side effects from the file's schema
    con.execute("PRAGMA query_only = ON")
    return con


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def inspect_geopackage(source: Source, layer: Any = None, budget: LoadBudget | None = None) -> tuple[str, int, int, int]:
    """Check a GeoPackage before GDAL reads it; return the layer to read and its shape.

    Parameters
    ----------
    source : Source
    layer : str, int or None
        Layer name, index (in GDAL's order), or None for the first.

    Returns
    -------
    layer : str
    rows, columns : int
        Features and attribute columns of the layer (counted with SQLite).
    n_layers : int

    Raises
    ------
    InputError
        Not an SQLite/GeoPackage file; it holds views or recursive SQL; the layer is a virtual
        table, has generated columns, or does not exist.
    LimitError
        Counting took longer than the load's time allows.
    """
    import pyogrio

    budget = budget or current_budget()
    deadline = time.monotonic() + min(SQLITE_SECONDS, max(budget.limits.max_seconds - budget.elapsed(), 0.0))

    def stop() -> int:
        return 1 if time.monotonic() > deadline else 0

    try:
        con = _connect(source)
    except (sqlite3.Error, OSError) as exc:
        raise InputError(
            f"{source.name} cannot be read as a GeoPackage (SQLite: {exc}). Check that the file is complete."
        ) from None
    try:
        con.set_progress_handler(stop, 10_000)
        objects = con.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        views = [name for kind, name, _ in objects if kind == "view"]
        if views:
            raise InputError(
                f"{source.name} holds SQL view(s) ({', '.join(repr(v) for v in views[:5])}). hotspots reads GeoPackage tables "
                "only: a view is a query that runs on every read (a recursive one never ends). Save the layer as a table "
                "(in QGIS: Export > Save Features As..., GeoPackage) and load that."
            )
        recursive = [name for _, name, sql in objects if sql and re.search(r"\bRECURSIVE\b", sql, re.I)]
        if recursive:
            raise InputError(
                f"{source.name} holds recursive SQL ({', '.join(repr(v) for v in recursive[:5])}), which hotspots does not run. "
                "Save the layer as a plain table (in QGIS: Export > Save Features As..., GeoPackage) and load that."
            )
        target: Any = io.BytesIO(source.data) if source.data is not None else str(source.path)
        layers = [str(row[0]) for row in pyogrio.list_layers(target)]
        if not layers:
            raise InputError(f"{source.name} holds no layers. Choose a GeoPackage with data in it.")
        if layer is None:
            name = layers[0]
        elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            if not 0 <= int(layer) < len(layers):
                raise InputError(
                    f"{source.name} has {len(layers)} layer(s); `layer={layer}` is not one of them (0 to {len(layers) - 1})."
                )
            name = layers[int(layer)]
        else:
            name = str(layer)
            if name not in layers:
                raise InputError(f"{source.name} has no layer {name!r}; its layers: {', '.join(repr(x) for x in layers[:10])}.")
        kinds = {n: (k, sql or "") for k, n, sql in objects}
        kind, sql = kinds.get(name, ("", ""))
        if kind != "table" or sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            raise InputError(
                f"{source.name}: layer {name!r} is not a plain table "
                f"({'a virtual table' if kind == 'table' else kind or 'unknown'}); "
                "hotspots reads GeoPackage tables only. Save the layer as a table and load that."
            )
        info = con.execute(f"PRAGMA table_xinfo({_quote(name)})").fetchall()
        generated = [row[1] for row in info if row[-1] == 2]  # hidden == 2: computed on every read
        if generated:
            raise InputError(
                f"{source.name}: layer {name!r} has generated column(s) computed on every read "
                f"({', '.join(repr(g) for g in generated[:5])}); hotspots does not run them. Save the layer as a plain table."
            )
        rows = int(con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0])
        return name, rows, len(info), len(layers)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise LimitError(
                f"{source.name}: reading the GeoPackage's catalogue took more than {SQLITE_SECONDS:.0f} s (or the load's "
                f"{budget.limits.label} time limit of {budget.limits.max_seconds:,.0f} s ran out). {budget.limits.fix}"
            ) from None
        raise InputError(
            f"{source.name} cannot be read as a GeoPackage (SQLite: {exc}). Check that the file is complete."
        ) from None
    except sqlite3.Error as exc:
        raise InputError(
            f"{source.name} cannot be read as a GeoPackage (SQLite: {exc}). Check that the file is complete."
        ) from None
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# GeoJSON and Shapefile
# --------------------------------------------------------------------------------------------


def _count_features(source: Source) -> int:
    """``"Feature"`` objects in a GeoJSON document (an upper bound on its rows), at least 1."""
    if source.data is not None:
        return max(source.data.count(b'"Feature"'), 1)
    n, carry = 0, b""
    with open(source.path, "rb") as fh:  # type: ignore[arg-type]
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            block = carry + chunk
            n += block.count(b'"Feature"')
            carry = block[-8:]  # a match split across chunks is counted once: carry is shorter than it
    return max(n, 1)


def _shapefile_shape(source: Source) -> tuple[int, int, int]:
    """Records and fields from the ``.dbf`` header, and the bytes of ``.shp`` + ``.dbf``."""
    shp = Path(source.path)  # type: ignore[arg-type]
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    nbytes = shp.stat().st_size if shp.exists() else 0
    rows = columns = 0
    if dbf is not None:
        nbytes += dbf.stat().st_size
        with open(dbf, "rb") as fh:
            head = fh.read(12)
        if len(head) == 12:
            rows, header_len = struct.unpack_from("<IH", head, 4)
            columns = max((header_len - 33) // 32, 0)
    return int(rows), int(columns), int(nbytes)
