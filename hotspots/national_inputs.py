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
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import InputError, ParameterError
from .forces import FORCES, file_force

__all__ = [
    "PointFile", "open_points", "iter_points", "prepare_inputs", "PreparedInputs", "police_uk_files",
    "held_categories_and_months", "no_points_error", "month_span",
]

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


def _parse_month(value: Any) -> np.datetime64:
    """``value`` (``YYYY-MM`` or a longer date) as a month, NaT when it cannot be read as one."""
    try:
        return np.datetime64(str(value).strip()[:7], "M")
    except ValueError:
        return np.datetime64("NaT", "M")


def _months(column: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Parquet ``month`` column as months, and which rows are missing and which unparseable.

    Strings are read by their first seven characters (``2025-03``, ``2025-03-01``); timestamps and
    dates by their month. Each distinct value is parsed once.
    """
    import pyarrow.compute as pc

    missing = column.is_null().to_numpy(zero_copy_only=False)
    typ = str(column.type)
    if typ.startswith(("timestamp", "date")):
        m = np.asarray(column.to_numpy(zero_copy_only=False)).astype("datetime64[M]")
        return m, missing | np.isnat(m), np.zeros(len(m), dtype=bool)
    uniq = pc.unique(column)
    values = uniq.to_pylist()
    parsed = np.array([_parse_month(v) if v is not None else np.datetime64("NaT", "M") for v in values], dtype="datetime64[M]")
    bad = np.array([v is not None and np.isnat(p) for v, p in zip(values, parsed)], dtype=bool)
    idx = pc.index_in(column, value_set=uniq).to_numpy(zero_copy_only=False).astype(np.int64)
    return parsed[idx], missing, bad[idx]


def _drop(dropped: dict[str, int] | None, gone: np.ndarray, keep: np.ndarray, reason: str) -> None:
    """Count the rows still kept that ``gone`` drops under ``reason`` (each row counted once), and drop them."""
    newly = gone & keep
    k = int(newly.sum())
    if k:
        keep &= ~newly
        if dropped is not None:
            dropped[reason] = dropped.get(reason, 0) + k


def iter_points(
    source: PointFile,
    *,
    categories: Sequence[str] | None = None,
    months: tuple[str | None, str | None] | None = None,
    batch_rows: int = CHUNK_ROWS,
    row_groups: Sequence[int] | None = None,
    dropped: dict[str, int] | None = None,
    strays: Any = None,
    with_forces: bool = False,
) -> Iterator[tuple[Any, ...]]:
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
    dropped : dict of str to int, optional
        Rows not yielded are added here by reason, as the CSV loaders' reports count them (each
        row once, under the first reason that applies): ``no location`` (a missing or NaN
        coordinate), ``out-of-range coordinates`` (a longitude outside -180..180, a latitude
        outside -90..90, or a coordinate that is not finite in British National Grid),
        ``category not selected``, ``missing month`` and ``unparseable month`` (only when
        ``months`` is given: the month is read only then) and ``month outside range``.

    strays : Strays, optional
        Points to leave out (:func:`hotspots.national_strays.find_strays`), counted in ``dropped``
        under :data:`~hotspots.national_strays.STRAY_REASON`; matched by the ``force`` column
        when the file has one.
    with_forces : bool
        Yield ``(x, y, rows_read, forces)``: ``forces`` the ``force`` column's values of the points
        yielded (a pandas Categorical), or None when the file has no ``force`` column.

    ``rows_read`` counts the rows of the chunk before filtering (for progress); the rows yielded
    plus those added to ``dropped`` make it up.
    """
    import pyarrow as pa
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
    has_force = "force" in source.columns
    if has_force and (with_forces or (strays is not None and strays.total)):
        read.append("force")
    # matched as choose_category matches (case, spaces, punctuation; 'ASB' is anti-social behaviour)
    from .io._pipeline import category_key

    wanted = None if categories is None else {category_key(c) for c in categories}
    transformer = None
    if source.coords == "lonlat":
        from pyproj import Transformer

        transformer = Transformer.from_crs(4326, 27700, always_xy=True)
    # pre_buffer=False: pyarrow's default pre-buffering keeps every batch read so far in memory
    # (the whole 800 MB file for 10^8 points); without it reading holds one batch at a time.
    pf = pq.ParquetFile(str(source.path), pre_buffer=False)
    for batch in pf.iter_batches(batch_size=int(batch_rows), columns=read, row_groups=row_groups, use_threads=False):
        n = batch.num_rows
        keep = np.ones(n, dtype=bool)
        x = batch.column(0).to_numpy(zero_copy_only=False)  # float32 x/y stay float32: half the memory
        y = batch.column(1).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):  # one test on the whole chunk; reasons only when a row fails it
            ok = (np.abs(x) <= 180) & (np.abs(y) <= 90) if transformer is not None else np.isfinite(x) & np.isfinite(y)
        if not ok.all():
            _drop(dropped, np.isnan(x) | np.isnan(y), keep, "no location")  # nulls arrive as NaN
            _drop(dropped, ~ok, keep, "out-of-range coordinates")
        if wanted is not None:
            cat = batch.column(read.index("category"))
            uniq = pc.unique(cat).to_pylist()
            chosen = [u for u in uniq if u is not None and category_key(u) in wanted]
            inside = pc.is_in(cat, value_set=pa.array(chosen, type=cat.type)).to_numpy(zero_copy_only=False)
            _drop(dropped, ~inside, keep, "category not selected")
        if lo is not None or hi is not None:
            m, missing, bad = _months(batch.column(read.index("month")))
            _drop(dropped, missing, keep, "missing month")
            _drop(dropped, bad, keep, "unparseable month")
            with np.errstate(invalid="ignore"):
                outside = np.zeros(n, dtype=bool)
                if lo is not None:
                    outside |= m < lo
                if hi is not None:
                    outside |= m > hi
            _drop(dropped, outside & ~np.isnat(m), keep, "month outside range")
        forces = None
        if "force" in read:
            import pandas as pd

            enc = pc.dictionary_encode(batch.column(read.index("force")))
            names = list(dict.fromkeys(v if v is not None else "" for v in enc.dictionary.to_pylist())) or [""]
            lookup = np.array([names.index(v if v is not None else "") for v in enc.dictionary.to_pylist()] or [0])
            # a Categorical: codes and a few names, not millions of string objects
            forces = pd.Categorical.from_codes(lookup[enc.indices.fill_null(0).to_numpy(zero_copy_only=False)], names)
        if not keep.all():
            x, y = x[keep], y[keep]
            forces = None if forces is None else forces[keep]
        if transformer is not None:
            x, y = transformer.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
            finite = np.isfinite(x) & np.isfinite(y)
            if not finite.all():
                _drop(dropped, ~finite, np.ones(len(x), dtype=bool), "out-of-range coordinates")
                x, y = x[finite], y[finite]
                forces = None if forces is None else forces[finite]
        if strays is not None and strays.total and len(x):
            from .national_strays import STRAY_REASON

            gone = strays.mask(x, y, forces)
            if gone.any():
                _drop(dropped, gone, np.ones(len(x), dtype=bool), STRAY_REASON)
                x, y = x[~gone], y[~gone]
                forces = None if forces is None else forces[~gone]
        yield (x, y, n, forces) if with_forces else (x, y, n)


def month_span(source: PointFile, months: tuple[str | None, str | None] | None = None) -> tuple[str, str] | None:
    """The first and last month (``YYYY-MM``) of the points, from the Parquet ``month`` column's
    statistics (no row is read), narrowed to ``months`` when that filter is still to be applied.

    Returns
    -------
    (str, str) or None
        None when the file has no ``month`` column or a row group has no statistics.
    """
    import pyarrow.parquet as pq

    if "month" not in source.columns:
        return None
    md = pq.ParquetFile(str(source.path)).metadata
    i = source.columns.index("month")
    lo = hi = None
    for g in range(md.num_row_groups):
        st = md.row_group(g).column(i).statistics
        if st is None or not st.has_min_max:
            return None
        a, b = _parse_month(st.min), _parse_month(st.max)
        if np.isnat(a) or np.isnat(b):
            return None
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    if lo is None:
        return None
    first, last = _month_bounds(months)
    lo = lo if first is None else max(lo, first)
    hi = hi if last is None else min(hi, last)
    return (str(lo), str(hi)) if lo <= hi else None


# --------------------------------------------------------------------------- an empty selection
def held_categories_and_months(paths: Sequence[str | Path]) -> tuple[list[str], list[str]]:
    """The categories and months (``YYYY-MM``) the inputs hold, before any filter.

    Parameters
    ----------
    paths : list of paths
        One Parquet file (its ``category`` and ``month`` columns, read one batch at a time), or
        police.uk folders, zips and ``.csv``/``.csv.gz`` files (their ``Crime type`` and ``Month``
        columns). A file that cannot be read, or a column that is missing, adds nothing.

    Returns
    -------
    categories, months : sorted lists of str
    """
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    cats: set[str] = set()
    months: set[str] = set()

    def add_months(values: Any) -> None:
        for v in values:
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                m = _parse_month(v)
                if not np.isnat(m):
                    months.add(str(m))

    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].suffix.lower() in (".parquet", ".pq"):
        pf = pq.ParquetFile(str(paths[0]), pre_buffer=False)
        read = [c for c in ("category", "month") if c in pf.schema_arrow.names]
        if read:
            for batch in pf.iter_batches(batch_size=CHUNK_ROWS, columns=read, use_threads=False):
                if "category" in read:
                    cats.update(str(c) for c in pc.unique(batch.column(read.index("category"))).to_pylist() if c)
                if "month" in read:
                    add_months(pc.unique(batch.column(read.index("month"))).to_pylist())
        return sorted(cats), sorted(months)
    files, zips = police_uk_files(paths)
    for src, comp in _street_files(files, zips):
        try:
            df = pd.read_csv(src, usecols=lambda c: c in ("Crime type", "Month"), dtype=str, compression=comp)
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if "Crime type" in df.columns:
            cats.update(str(c) for c in df["Crime type"].dropna().unique() if str(c).strip())
        if "Month" in df.columns:
            add_months(df["Month"].dropna().unique())
    return sorted(cats), sorted(months)


def _street_files(files: list[Path], zips: list[Path]) -> Iterator[tuple[Any, str | None]]:
    """(file or bytes, compression) of each police.uk street file, a zip's members read one at a time."""
    import io
    import zipfile

    for f in files:
        yield f, "infer"
    for z in zips:
        try:
            with zipfile.ZipFile(z) as zf:
                for name in zf.namelist():
                    if name.lower().endswith(("-street.csv", "-street.csv.gz")):
                        yield io.BytesIO(zf.read(name)), "gzip" if name.lower().endswith(".gz") else None
        except (OSError, zipfile.BadZipFile):
            continue


#: police.uk forces outside Great Britain, where British National Grid (the national grid's CRS)
#: is not defined, and the CRS ``hotspots analyse`` uses for them.
FORCES_OUTSIDE_GREAT_BRITAIN = {"northern-ireland": ("Northern Ireland", "Irish Transverse Mercator, EPSG:2157")}


#: The territorial forces of England and Wales (police.uk ids): :data:`hotspots.forces.FORCES`
#: less British Transport Police and Northern Ireland.
ENGLAND_WALES_FORCES = tuple(f for f in FORCES if f not in ("btp", "northern-ireland"))


def missing_forces(rows_by_force: dict[str, int]) -> list[str]:
    """The England-and-Wales forces (names) with no incident in ``rows_by_force`` (police.uk ids →
    rows kept), e.g. the four the 2025 national set lacks: Greater Manchester, the Metropolitan
    Police, West Midlands and West Yorkshire."""
    have = {k for k, n in rows_by_force.items() if n}
    return [FORCES[f] for f in ENGLAND_WALES_FORCES if f not in have]


def outside_great_britain_note(rows_by_force: dict[str, int]) -> str | None:
    """A note for the forces in ``rows_by_force`` (police.uk force ids → rows kept) whose incidents
    lie outside Great Britain: they are gridded in British National Grid, which is not defined
    there (the England-and-Wales extent cuts Northern Ireland at its west), so name them and the
    fix; None when there are none."""
    found = [(FORCES_OUTSIDE_GREAT_BRITAIN[k], n) for k, n in rows_by_force.items() if k in FORCES_OUTSIDE_GREAT_BRITAIN and n]
    if not found:
        return None
    (name, crs), n = found[0]
    return (
        f"{name}'s {n:,} incidents are on a British National Grid grid, which is not defined there (distances are "
        f"distorted, and the England-and-Wales extent leaves its west off the grid): analyse {name} on its own with "
        f"`hotspots analyse`, which uses {crs}"
    )


def no_points_error(
    paths: Sequence[str | Path],
    categories: Sequence[str] | None,
    months: tuple[str | None, str | None] | None,
) -> ParameterError:
    """The error for inputs that hold no points in the chosen ``categories`` and ``months``: which
    filter matched nothing, and the categories and months the data hold
    (:func:`held_categories_and_months`), as ``analyse`` says it.

    Arguments are named as :func:`hotspots.validation.shown` shows them (``categories`` and
    ``months``; the command line maps them to its flags).
    """
    from .io._pipeline import category_key
    from .validation import closest_name, names_text, shown

    held_cats, held_months = held_categories_and_months(paths)
    lo, hi = _month_bounds(months)
    months_text = held_months[0] if len(held_months) == 1 else (
        f"{held_months[0]} to {held_months[-1]} ({len(held_months)} months)" if held_months else "no readable months")
    asked = "" if months is None else f"{months[0] or 'the start'} to {months[1] or 'the end'}"
    keys = {category_key(c) for c in held_cats}
    wanted = list(categories or [])
    if wanted and held_cats and not any(category_key(c) in keys for c in wanted):
        guesses = [g for g in (closest_name(w, held_cats, key=category_key) for w in wanted) if g is not None]
        hint = f" Did you mean {' or '.join(repr(g) for g in dict.fromkeys(guesses))}?" if guesses else ""
        return ParameterError(
            f"no incidents have the category {', '.join(map(repr, wanted))} ({shown('categories')}); the data hold "
            f"{names_text(held_cats)}.{hint}"
        )
    held = np.array(held_months, dtype="datetime64[M]")
    inside = np.ones(len(held), dtype=bool)
    if lo is not None:
        inside &= held >= lo
    if hi is not None:
        inside &= held <= hi
    if months is not None and held_months and not inside.any():
        return ParameterError(
            f"no incidents in the months {asked} ({shown('months')}); the data hold {months_text}. Choose months within them."
        )
    what = [f"the categor{'y' if len(wanted) == 1 else 'ies'} {', '.join(map(repr, wanted))}"] if wanted else []
    what += [f"the months {asked}"] if months is not None else []
    return ParameterError(
        f"no incidents with a usable location in {' and '.join(what) or 'the inputs'}"
        f"{' (' + ', '.join(shown(n) for n, v in (('categories', wanted), ('months', months)) if v) + ')' if what else ''}; "
        f"the data hold {names_text(held_cats) if held_cats else 'no categories'} over {months_text}."
    )


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
    left_out : dict of str to int
        Forces whose files were not read (``leave_out_forces``), with how many files each.
    applied : dict
        The filters the conversion already applied (``categories``, ``months``; empty for a
        Parquet input, whose filters are applied while streaming); given to
        :func:`hotspots.national.run_national` as ``applied_filters`` so that its record says them.
    """

    points: PointFile
    converted: bool
    cache_path: Path | None
    rows_by_force: dict[str, int]
    dropped: dict[str, int]
    categories: list[str] | None
    months: tuple[str | None, str | None] | None
    left_out: dict[str, int] = field(default_factory=dict)
    applied: dict[str, Any] = field(default_factory=dict)


def _cache_key(files: list[Path], categories: list[str] | None, months: Any) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        st = f.stat()
        h.update(f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    from .io.cache import loader_fingerprint

    # the loader's code too: converted points follow its rules (months, copies, duplicate ids)
    h.update(json.dumps({"categories": categories, "months": list(months) if months else None, "v": 2}).encode())
    h.update(loader_fingerprint().encode())
    return h.hexdigest()[:24]


def prepare_inputs(
    paths: Sequence[str | Path],
    *,
    categories: list[str] | None,
    months: tuple[str | None, str | None] | None,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, float], None] | None = None,
    leave_out_forces: Sequence[str] = (),
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
    leave_out_forces : list of str
        police.uk force ids (``northern-ireland``) whose monthly files are not read (named by
        :attr:`PreparedInputs.left_out`): the England-and-Wales grid leaves Northern Ireland out.

    Raises
    ------
    ParameterError
        police.uk inputs hold no incidents in ``categories`` and ``months``
        (:func:`no_points_error`: the categories and months they hold).
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
    left_out: dict[str, int] = {}
    if leave_out_forces:
        gone = {str(f).lower() for f in leave_out_forces}
        keep = []
        for f in files:
            force = file_force(f.name)
            if force in gone:
                left_out[force] = left_out.get(force, 0) + 1
            else:
                keep.append(f)
        files = keep
        if not files and not zips:
            raise InputError(f"every file given is of a force left out ({', '.join(sorted(left_out))}).")
    from .io.cache import cache_dir as default_cache_dir
    from .national import police_uk_to_parquet

    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "national"
    folder.mkdir(parents=True, exist_ok=True)
    key = _cache_key(files + zips, categories, months)
    out = folder / f"points-{key}.parquet"
    record = out.with_suffix(".json")
    # the conversion applies the filters: recorded as applied (the stream has none left to apply)
    applied = {"categories": None if categories is None else list(categories), "months": None if months is None else list(months)}
    if out.exists():
        try:
            kept, dropped = _read_record(record)
            pts = open_points(out)
        except InputError:
            out.unlink()  # a damaged cache entry is rebuilt
        else:
            if pts.rows == 0:
                raise no_points_error(paths, categories, months)
            return PreparedInputs(pts, False, out, kept, dropped, None, None, left_out, applied)
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
    if summary.rows == 0:
        raise no_points_error(paths, categories, months)
    return PreparedInputs(open_points(out), True, out, kept, dropped, None, None, left_out, applied)


def _read_record(path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Rows kept per force and dropped rows recorded beside a cached conversion ({} and {} when the
    record is missing or unreadable: caches written before records were kept)."""
    try:
        rec = json.loads(path.read_text())
        return ({str(k): int(v) for k, v in rec["rows_by_force"].items()}, {str(k): int(v) for k, v in rec["dropped"].items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}, {}
