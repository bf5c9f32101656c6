"""A Parquet cache of loaded incidents, keyed by the source files' content.

Loading a force's police.uk files means parsing tens of thousands of CSV rows per month,
converting coordinates and deriving ids: about a second for a year of one force. The result
depends only on the files' bytes, the loader options and the loader's code, so it is cached::

    data, report = load_police_uk("data/derbyshire", cache=True)   # first time: loads, writes cache
    data, report = load_police_uk("data/derbyshire", cache=True)   # later: reads the cache (~50 ms)

What the key covers
-------------------
* every source's name (it is written to the ``source`` column and the report), format, and
  **content**: a SHA-256 hash of its bytes (``cache=True`` / ``"content"``), or its size and
  modification time (``cache="stat"``);
* the loader options (categories, months, study area geometry, ``drop_outside``, ...);
* the loader's code (a hash of the ``hotspots.io`` source files and the modules they apply, such as
  :mod:`hotspots.coverage`'s stray-month rule) and the versions of hotspots,
  pandas, geopandas, shapely, pyproj and pyarrow, so an upgrade never serves stale results.

Content hash or size + mtime: the trade-off
--------------------------------------------
``"content"`` (the default) reads and hashes every byte each time (SHA-256, which current CPUs
run in hardware: 24 MB in 15 ms for the 12 Derbyshire files, about twice as fast as BLAKE2b
here; files are hashed on two threads). It cannot be fooled. ``"stat"`` only looks at sizes and
modification times (microseconds per file) but is fooled by an edit that keeps both (a file replaced
by another of the same size with its time preserved, ``touch -d``, coarse-time file systems). Use ``"stat"`` for big, immutable
archives and ``"content"`` for anything that is edited. ``"refresh"`` rebuilds the entry.

Where and what
--------------
One Parquet file per entry under the cache folder: ``cache_dir`` argument, else the
``HOTSPOTS_CACHE_DIR`` environment variable, else ``$XDG_CACHE_HOME/hotspots``, else
``~/.cache/hotspots``. A folder inside the hotspots source tree is refused (data never goes into
the repository). The file holds the columns as they are (pandas' pyarrow-backed ``str`` columns,
``datetime64[ns]``), uncompressed (reads 4-6x faster than zstd here, for 2.3x the size), the
points as ``x``/``y`` float64 columns (rebuilt exactly with
``shapely.points``), and the :class:`~hotspots.report.LoadReport` and loader params as JSON in
the Parquet metadata; a reload returns equal data (``assert_geodataframe_equal``) and an equal
report. Entries are written to a temporary name and renamed, so readers never see half a file;
an unreadable entry is ignored, deleted and rebuilt. :func:`clear_cache` empties the folder.

``params["cache"]`` of a result says what happened (``"hit"``, ``"miss"``, ``"refresh"``) and
names the file; :data:`STATS` counts hits, misses, writes and corrupt entries in this process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .._errors import ParameterError
from ..report import LoadReport
from ._read import Source
from ._types import IncidentSet

__all__ = ["cache_dir", "cached_load", "clear_cache", "CacheStats", "STATS", "CACHE_FORMAT", "MODES", "loader_fingerprint"]

#: Version of the on-disk layout; entries of another version are never read.
CACHE_FORMAT = 1
#: Values of the loaders' ``cache=`` option that turn the cache on.
MODES = ("content", "stat", "refresh")
_META_KEY = b"hotspots_cache"
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CacheStats:
    """Counts of cache events in this process (for tests and benchmarks)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    corrupt: int = 0
    bypassed: int = 0

    def reset(self) -> None:
        self.hits = self.misses = self.writes = self.corrupt = self.bypassed = 0


#: Process-wide counters.
STATS = CacheStats()


# --------------------------------------------------------------------------- location
def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``path``, else ``$HOTSPOTS_CACHE_DIR``, else ``$XDG_CACHE_HOME/hotspots``,
    else ``~/.cache/hotspots``.

    Raises
    ------
    ParameterError
        The folder lies inside the hotspots source tree (data must never land in the repository).
    """
    if path is not None:
        p = Path(path)
    elif os.environ.get("HOTSPOTS_CACHE_DIR"):
        p = Path(os.environ["HOTSPOTS_CACHE_DIR"])
    elif os.environ.get("XDG_CACHE_HOME"):
        p = Path(os.environ["XDG_CACHE_HOME"]) / "hotspots"
    else:
        p = Path.home() / ".cache" / "hotspots"
    p = p.expanduser().resolve()
    if (_REPO_ROOT / "pyproject.toml").exists() and (p == _REPO_ROOT or _REPO_ROOT in p.parents):
        raise ParameterError(
            f"the cache folder {p} is inside the hotspots source tree ({_REPO_ROOT}); cached data must not go into "
            "the repository. Use the default (`~/.cache/hotspots`) or set `cache_dir=` / `HOTSPOTS_CACHE_DIR` elsewhere."
        )
    return p


def clear_cache(path: str | os.PathLike[str] | None = None) -> int:
    """Delete every cached load in the cache folder; returns the number of files removed."""
    d = cache_dir(path) / "loads"
    n = 0
    if d.is_dir():
        for f in d.glob("*.parquet*"):
            try:
                f.unlink()
                n += 1
            except OSError:
                pass
    return n


# --------------------------------------------------------------------------- keys
@functools.lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """Hash of the loader code and the versions of the libraries that shape its output."""
    import geopandas
    import pyarrow
    import pyproj

    from .. import __version__

    h = hashlib.blake2b(digest_size=16)
    io_dir = Path(__file__).resolve().parent
    shaping = ("report.py", "schema.py", "coverage.py", "incident_time.py", "forces.py")  # stray months; forces far apart
    for f in sorted(io_dir.glob("*.py")) + [io_dir.parent / name for name in shaping]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    versions = (__version__, pd.__version__, geopandas.__version__, shapely.__version__, pyproj.__version__, pyarrow.__version__,
                np.__version__)
    for v in versions:
        h.update(str(v).encode())
    return h.hexdigest()


def loader_fingerprint() -> str:
    """A hash of the loader code and library versions (what a cache of loaded files must be keyed by,
    so that a change of the loading rules, e.g. which rows are duplicates, never serves stale rows)."""
    return _code_fingerprint()


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 22)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def _source_id(src: Source, mode: str) -> list[Any]:
    if src.data is not None:
        return [src.name, src.fmt, "bytes", hashlib.sha256(src.data).hexdigest()]
    p = Path(src.path).resolve()  # type: ignore[arg-type]
    st = p.stat()
    if mode == "stat":
        return [src.name, src.fmt, "stat", str(p), st.st_size, st.st_mtime_ns]
    return [src.name, src.fmt, "sha256", st.st_size, _hash_file(p)]


def _source_ids(sources: list[Source], mode: str) -> list[list[Any]]:
    # Hashing releases the GIL: two threads hash two files at once on a two-core machine.
    if mode == "stat" or len(sources) < 4:
        return [_source_id(s, mode) for s in sources]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as ex:
        return list(ex.map(lambda s: _source_id(s, mode), sources))


class _Uncacheable(Exception):
    pass


def _canonical(v: Any) -> Any:
    """A JSON-able, order-stable form of an option value (raises _Uncacheable if there is none)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, pd.Timestamp):
        return ["ts", v.isoformat()]
    if isinstance(v, (list, tuple)):
        return [_canonical(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return ["set", sorted(json.dumps(_canonical(x)) for x in v)]
    if isinstance(v, Mapping):
        return {str(k): _canonical(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, BaseGeometry):
        return ["wkb", shapely.to_wkb(v, hex=True)]
    if isinstance(v, (os.PathLike,)):
        p = Path(v)
        return ["file", str(p.resolve()), _hash_file(p)] if p.is_file() else ["path", str(p.resolve())]
    raise _Uncacheable(type(v).__name__)


def make_key(loader: str, sources: list[Source], skipped: list[str], options: Mapping[str, Any], mode: str) -> str:
    """The cache key of one load (hex BLAKE2b of the key document)."""
    doc = {
        "format": CACHE_FORMAT,
        "loader": loader,
        "code": _code_fingerprint(),
        "options": _canonical(dict(options)),
        "sources": _source_ids(sources, mode),
        "skipped": list(skipped),
    }
    return hashlib.blake2b(json.dumps(doc, sort_keys=True).encode("utf-8"), digest_size=20).hexdigest()


# --------------------------------------------------------------------------- (de)serialising
def _encode(v: Any) -> Any:
    """JSON form of params that keeps tuples and timestamps apart from lists and strings."""
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x) for x in v]}
    if isinstance(v, list):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        return {"__dict__": [[_encode(k), _encode(x)] for k, x in v.items()]}
    if isinstance(v, pd.Timestamp):
        return {"__ts__": v.isoformat()}
    if isinstance(v, BaseGeometry):
        return {"__wkb__": shapely.to_wkb(v, hex=True)}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise _Uncacheable(type(v).__name__)


def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if isinstance(v, dict):
        if "__tuple__" in v:
            return tuple(_decode(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {_decode(k): _decode(x) for k, x in v["__dict__"]}
        if "__ts__" in v:
            return pd.Timestamp(v["__ts__"])
        if "__wkb__" in v:
            return shapely.from_wkb(v["__wkb__"])
    return v


def report_from_dict(d: Mapping[str, Any]) -> LoadReport:
    """Inverse of :meth:`LoadReport.to_dict`."""
    return LoadReport(
        source=d["source"],
        rows_read=int(d["rows_read"]),
        rows_kept=int(d["rows_kept"]),
        dropped={k: int(v) for k, v in d.get("dropped", {}).items()},
        examples={k: list(v) for k, v in d.get("examples", {}).items()},
        notes=list(d.get("notes", [])),
        warnings=list(d.get("warnings", [])),
        files=[report_from_dict(f) for f in d.get("files", [])],
        unrecognised={k: {v: int(n) for v, n in c.items()} for k, c in d.get("unrecognised", {}).items()},
        dropped_by_category={k: {r: int(n) for r, n in c.items()} for k, c in d.get("dropped_by_category", {}).items()},
    )


def _write(path: Path, result: IncidentSet, key: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = result.data
    geom_col = data.geometry.name
    frame = pd.DataFrame({c: data[c] for c in data.columns if c != geom_col})
    xy = shapely.get_coordinates(data.geometry.values) if len(data) else np.empty((0, 2))
    if len(xy) != len(data):
        raise _Uncacheable("non-point geometry")
    frame["__x"] = xy[:, 0]
    frame["__y"] = xy[:, 1]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {
        "format": CACHE_FORMAT,
        "key": key,
        "set": type(result).__name__,
        "columns": [str(c) for c in data.columns],
        "dtypes": {str(c): str(data[c].dtype) for c in data.columns if c != geom_col},
        "geometry": geom_col,
        "crs": data.crs.to_wkt() if data.crs is not None else None,
        "report": result.report.to_dict(),
        "params": _encode({k: v for k, v in result.params.items() if k != "cache"}),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode("utf-8")})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        # Uncompressed (dictionary encoding still applies): reading the national set's entry took
        # 0.9-1.5 s uncompressed against 4.7-6.7 s with zstd (2.3x smaller) on two cores.
        pq.write_table(table, tmp, compression="none", row_group_size=1 << 20)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _read(path: Path, key: str) -> IncidentSet:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[_META_KEY])
    if meta.get("format") != CACHE_FORMAT or meta.get("key") != key or meta.get("set") != "IncidentSet":
        raise ValueError("cache entry of another key or format")
    frame = table.to_pandas()
    x = frame.pop("__x").to_numpy(dtype=np.float64)
    y = frame.pop("__y").to_numpy(dtype=np.float64)
    for c, dt in meta["dtypes"].items():
        if str(frame[c].dtype) != dt:
            frame[c] = frame[c].astype(dt)
    geom_col = meta["geometry"]
    geoms = shapely.points(x, y) if len(x) else np.empty(0, dtype=object)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=meta["crs"]), crs=meta["crs"])
    if gdf.geometry.name != geom_col:
        gdf = gdf.rename_geometry(geom_col)
    gdf = gdf[meta["columns"]]
    report = report_from_dict(meta["report"])
    params = _decode(meta["params"])
    return IncidentSet(gdf, report, params)


# --------------------------------------------------------------------------- entry point
def cached_load(
    loader: str,
    sources: list[Source],
    skipped: list[str],
    *,
    options: Mapping[str, Any],
    build: Callable[[], IncidentSet],
    mode: Any = True,
    cache_dir_arg: str | os.PathLike[str] | None = None,
) -> IncidentSet:
    """Return ``build()``'s result from the cache when the key matches, else build and store it.

    Parameters
    ----------
    loader : str
        Name of the loader (part of the key).
    sources, skipped : list
        What :func:`~hotspots.io._read.resolve_sources` found.
    options : mapping
        The loader options that shape the result (part of the key).
    build : callable
        Loads without the cache.
    mode : True, "content", "stat" or "refresh"
        How sources are identified (see the module docs); ``"refresh"`` rebuilds the entry.
    cache_dir_arg : path, optional
        Cache folder (see :func:`cache_dir`).
    """
    if mode is True:
        mode = "content"
    if mode not in MODES:
        raise ParameterError(f"`cache` must be False, True, 'content', 'stat' or 'refresh'; got {mode!r}.")
    folder = cache_dir(cache_dir_arg)
    try:
        key = make_key(loader, sources, skipped, options, "stat" if mode == "stat" else "content")
    except _Uncacheable:
        STATS.bypassed += 1
        result = build()
        return IncidentSet(result.data, result.report, {**result.params, "cache": {"status": "bypass", "file": None}})
    path = folder / "loads" / f"{loader}-{key}.parquet"
    if mode != "refresh" and path.exists():
        try:
            hit = _read(path, key)
        except Exception:  # noqa: BLE001 - any damage means: rebuild
            STATS.corrupt += 1
            try:
                path.unlink()
            except OSError:
                pass
        else:
            STATS.hits += 1
            return IncidentSet(hit.data, hit.report, {**hit.params, "cache": {"status": "hit", "file": str(path)}})
    STATS.misses += 1
    result = build()
    try:
        _write(path, result, key)
        STATS.writes += 1
    except _Uncacheable:
        STATS.bypassed += 1
    except OSError as exc:
        warnings.warn(f"could not write the load cache {path}: {exc}", RuntimeWarning, stacklevel=3)
    status = "refresh" if mode == "refresh" else "miss"
    return IncidentSet(result.data, result.report, {**result.params, "cache": {"status": status, "file": str(path)}})
