"""Inputs of the national command: point files read in chunks, and police.uk files turned into one.

* :func:`open_points` checks a Parquet file of points: ``x``/``y`` (British National Grid metres)
  or ``longitude``/``latitude`` (WGS84 degrees), optionally ``category`` and ``month`` columns;
* :func:`iter_points` yields its points chunk by chunk (one Parquet batch at a time, never all
  at once), filtered by category and month and converted to British National Grid;
* :func:`prepare_inputs` turns the command's INPUT arguments (police.uk folders, zips, ``.csv``
  / ``.csv.gz`` files, or one Parquet file) into one Parquet point file: police.uk files are
  converted force by force with :func:`hotspots.national.police_uk_to_parquet` into a cache keyed
  by the files' names, sizes and modification times and the filters, so a second run of the same
  command reads the cache directly.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import InputError, ParameterError

__all__ = ["PointFile", "open_points", "iter_points", "prepare_inputs", "PreparedInputs", "police_uk_files"]

#: Rows per chunk read from Parquet.
CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class PointFile:
    """A Parquet file of points, checked by :func:`open_points`.

    Attributes
    ----------
    path : Path
    coords : {"xy", "lonlat"}
        ``x``/``y`` in British National Grid metres, or ``longitude``/``latitude`` in degrees.
    rows : int
        Rows in the file (before any filter).
    row_groups : int
    columns : tuple of str
    """

    path: Path
    coords: str
    rows: int
    row_groups: int
    columns: tuple[str, ...]


def open_points(path: str | Path) -> PointFile:
    """Check that ``path`` is a Parquet file with point coordinates.

    Raises
    ------
    InputError
        Not readable as Parquet, or no ``x``/``y`` nor ``longitude``/``latitude`` columns.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    try:
        pf = pq.ParquetFile(str(path))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
        raise InputError(f"{path} cannot be read as Parquet ({str(exc)[:200]}).") from None
    names = tuple(pf.schema_arrow.names)
    if "x" in names and "y" in names:
        coords = "xy"
    elif "longitude" in names and "latitude" in names:
        coords = "lonlat"
    else:
        raise InputError(
            f"{path} has neither `x` and `y` (British National Grid metres) nor `longitude` and `latitude` columns "
            f"(found: {', '.join(f'`{n}`' for n in names[:10])})."
        )
    return PointFile(path, coords, int(pf.metadata.num_rows), int(pf.metadata.num_row_groups), names)


def _norm(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _month_bounds(months: Any) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    if months is None:
        return None, None
    first, last = months
    try:
        lo = np.datetime64(str(first)[:7], "M") if first else None
        hi = np.datetime64(str(last)[:7], "M") if last else None
    except ValueError:
        raise ParameterError(f"`months` must be ('YYYY-MM', 'YYYY-MM'); got {months!r}.") from None
    return lo, hi


def iter_points(
    source: PointFile,
    *,
    categories: Sequence[str] | None = None,
    months: tuple[str | None, str | None] | None = None,
    batch_rows: int = CHUNK_ROWS,
    row_groups: Sequence[int] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """Yield ``(x, y, rows_read)`` chunk by chunk: British National Grid metres (float32 or float64).

    Parameters
    ----------
    source : PointFile
    categories : list of str, optional
        Keep rows whose ``category`` is one of these (case- and punctuation-insensitive).
    months : ('YYYY-MM', 'YYYY-MM'), optional
        Keep rows whose ``month`` is in this inclusive range (either end may be None).
    batch_rows : int
        Rows per chunk.
    row_groups : list of int, optional
        Read only these row groups (how a cluster splits one file between workers).

    ``rows_read`` counts the rows of the chunk before filtering (for progress). Rows with a
    missing or non-finite coordinate are skipped.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cols = ["x", "y"] if source.coords == "xy" else ["longitude", "latitude"]
    if categories is not None and "category" not in source.columns:
        raise InputError(f"{source.path} has no `category` column, so `--category` cannot be applied; use `--category all`.")
    lo, hi = _month_bounds(months)
    if (lo is not None or hi is not None) and "month" not in source.columns:
        raise InputError(f"{source.path} has no `month` column, so `--months` cannot be applied.")
    read = list(cols)
    if categories is not None:
        read.append("category")
    if lo is not None or hi is not None:
        read.append("month")
    wanted = None if categories is None else {_norm(c) for c in categories}
    transformer = None
    if source.coords == "lonlat":
        from pyproj import Transformer

        transformer = Transformer.from_crs(4326, 27700, always_xy=True)
    # pre_buffer=False: pyarrow's default pre-buffering keeps every batch read so far in memory
    # (the whole 800 MB file for 10^8 points); without it reading holds one batch at a time.
    pf = pq.ParquetFile(str(source.path), pre_buffer=False)
    for batch in pf.iter_batches(batch_size=int(batch_rows), columns=read, row_groups=row_groups, use_threads=False):
        n = batch.num_rows
        keep = None
        if wanted is not None:
            cat = batch.column(read.index("category"))
            uniq = pc.unique(cat).to_pylist()
            chosen = [u for u in uniq if u is not None and _norm(u) in wanted]
            keep = pc.is_in(cat, value_set=__import__("pyarrow").array(chosen, type=cat.type)).to_numpy(zero_copy_only=False)
        if lo is not None or hi is not None:
            mon = batch.column(read.index("month"))
            if str(mon.type).startswith(("string", "large_string")):
                m = np.array([str(v)[:7] if v is not None else "NaT" for v in mon.to_pylist()], dtype="datetime64[M]")
            else:
                m = np.asarray(mon.to_numpy(zero_copy_only=False)).astype("datetime64[M]")
            ok = ~np.isnat(m)
            if lo is not None:
                ok &= m >= lo
            if hi is not None:
                ok &= m <= hi
            keep = ok if keep is None else keep & ok
        x = batch.column(0).to_numpy(zero_copy_only=False)
        y = batch.column(1).to_numpy(zero_copy_only=False)
        if keep is not None:
            x, y = x[keep], y[keep]
        if transformer is not None:
            x, y = transformer.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        finite = np.isfinite(x) & np.isfinite(y)
        if not finite.all():
            x, y = x[finite], y[finite]
        yield x, y, n


# --------------------------------------------------------------------------- police.uk inputs
def police_uk_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """police.uk street files (``*-street.csv`` / ``.csv.gz``) under ``paths``, and zip files given.

    Raises
    ------
    InputError
        A path does not exist, or no police.uk files were found.
    """
    files: list[Path] = []
    zips: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise InputError(f"{p} does not exist.")
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.name.lower().endswith(("-street.csv", "-street.csv.gz")))
            if not found:
                raise InputError(f"{p} holds no police.uk street files (`YYYY-MM-force-street.csv` or `.csv.gz`).")
            files.extend(found)
        elif p.suffix.lower() == ".zip":
            zips.append(p)
        else:
            files.append(p)
    if not files and not zips:
        raise InputError("no input files given.")
    return files, zips


@dataclass(frozen=True)
class PreparedInputs:
    """The Parquet point file the national run reads, and how it was made.

    Attributes
    ----------
    points : PointFile
    converted : bool
        True when police.uk files were converted in this run (False: a Parquet input, or the cache).
    cache_path : Path or None
        The converted file in the cache (None for a Parquet input).
    rows_by_force : dict of str to int
        Points kept per force (police.uk inputs: from the conversion, or on a cache hit from the
        record the conversion left beside the cached file).
    dropped : dict of str to int
        Rows dropped by the loaders and why (police.uk inputs, as ``rows_by_force``).
    categories, months
        The filters still to apply while streaming (None when the conversion applied them).
    """

    points: PointFile
    converted: bool
    cache_path: Path | None
    rows_by_force: dict[str, int]
    dropped: dict[str, int]
    categories: list[str] | None
    months: tuple[str | None, str | None] | None


def _cache_key(files: list[Path], categories: list[str] | None, months: Any) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    h.update(json.dumps({"categories": categories, "months": list(months) if months else None, "v": 1}).encode())
    return h.hexdigest()[:24]


def prepare_inputs(
    paths: Sequence[str | Path],
    *,
    categories: list[str] | None,
    months: tuple[str | None, str | None] | None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> PreparedInputs:
    """Turn the command's inputs into one Parquet point file (see the module documentation).

    Parameters
    ----------
    paths : list of paths
        One Parquet file, or police.uk folders, zips and ``.csv``/``.csv.gz`` files.
    categories : list of str or None
        Categories to keep (None: every category).
    months : ('YYYY-MM', 'YYYY-MM') or None
    cache_dir : path, optional
        Where converted files are kept (default: :func:`hotspots.io.cache.cache_dir` / ``national``).
    progress : callable, optional
        ``progress(step, fraction)`` per force converted.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no input files given.")
    parquet = [p for p in paths if p.suffix.lower() in (".parquet", ".pq")]
    if parquet:
        if len(paths) != 1:
            raise InputError("give one Parquet file, or police.uk files and folders, not both.")
        return PreparedInputs(open_points(parquet[0]), False, None, {}, {}, categories, months)
    files, zips = police_uk_files(paths)
    from .io.cache import cache_dir as default_cache_dir
    from .national import police_uk_to_parquet

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "national"
    folder.mkdir(parents=True, exist_ok=True)
    key = _cache_key(files + zips, categories, months)
    out = folder / f"points-{key}.parquet"
    record = out.with_suffix(".json")
    if out.exists():
        try:
            kept, dropped = _read_record(record)
            return PreparedInputs(open_points(out), False, out, kept, dropped, None, None)
        except InputError:
            out.unlink()  # a damaged cache entry is rebuilt
    summary = police_uk_to_parquet(files + zips, out, categories=categories, months=months, progress=progress)
    dropped = {}
    for rep in summary.reports.values():
        for reason, k in (getattr(rep, "dropped", None) or {}).items():
            dropped[reason] = dropped.get(reason, 0) + int(k)
    kept = {str(k): int(v) for k, v in summary.groups.items()}
    # the load report goes beside the cached points, so a run that reads the cache reports the
    # same rows kept per force and dropped rows as the run that converted them
    tmp = record.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"rows_by_force": kept, "dropped": dropped}, indent=1))
    tmp.replace(record)
    return PreparedInputs(open_points(out), True, out, kept, dropped, None, None)


def _read_record(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Rows kept per force and dropped rows recorded beside a cached conversion ({} and {} when the
    record is missing or unreadable: caches written before records were kept)."""
    try:
        rec = json.loads(path.read_text())
        return ({str(k): int(v) for k, v in rec["rows_by_force"].items()}, {str(k): int(v) for k, v in rec["dropped"].items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, {}
