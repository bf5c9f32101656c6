"""How much one load may unpack, parse and hold: the resource limits of every loader.

A small file can describe a huge table: a 33 KB ZIP unpacks to 8 million ``0,0`` rows, a 240 KB
Parquet file describes 20 million rows, a 10 MB CSV can have a million columns, a GeoPackage
"layer" can be a recursive SQL view that never ends. Every loader therefore works within a
:class:`LoadLimits`: before a table is parsed its rows, columns and unpacked size are counted
(from ZIP directories, Parquet footers, SQLite catalogues, or by streaming the decompressed bytes
and counting lines) and its peak memory is estimated from them; a load that would go past a
limit is refused with a :class:`~hotspots.LimitError` naming the limit and the fix, before the
memory is spent.

Two sets, defined here and nowhere else:

* :data:`UPLOAD_LIMITS` (the app, a shared server holding every session's data in memory): data
  given as bytes (:class:`~hotspots.io.Upload`, a Streamlit ``UploadedFile``) are loaded within
  these unless the caller says otherwise.
* :data:`BATCH_LIMITS` (the command line and library calls on files on disk: one user, one job).

``with load_limits(UPLOAD_LIMITS): ...`` makes every load inside the block use one set and share
one budget (the app loads an upload set of incidents, referrals, tasks and a boundary within one
budget). The environment variables ``HOTSPOTS_UPLOAD_LIMITS`` and ``HOTSPOTS_BATCH_LIMITS``
change a set without code, e.g. ``HOTSPOTS_BATCH_LIMITS="rows=20000000,memory=16GiB"``.

The memory model (measured; see README "Resource limits")
---------------------------------------------------------
Peak memory of parsing one table of ``r`` rows, ``c`` columns and ``b`` unpacked bytes, on top of
what the process already holds, measured as peak RSS in a fresh process (pandas 3, pyarrow 26)::

    CSV        r * (500 + 25 c) + 6 b     (Python's csv fallback for damaged files: x 1.4)
    Parquet    r * (500 + 25 c) + 6 b     (b: the values' decoded size, from the footer)
    GeoPackage r * (500 + 25 c) + 6 b     (b: the file's size)
    GeoJSON    r * 500 + 8 b              (r: the number of "Feature" objects)

Measured peak per row (fast CSV path): ``0,0`` rows 466-511 B (2 columns, 4 B a row); points
with a date and category 698-798 B (4 columns, 35 B); 22 columns 1,194 B; 202 columns 7,910 B;
a 1 KB text column 6,521 B; police.uk files (12 columns, 228 B a row) 1,390-1,844 B; Python's
csv fallback 849 B and 1,600 B for the points and 22-column cases. Parquet 518-584 B, GeoPackage
972-1,227 B, GeoJSON 836 B (5.4 B per byte). The constants above bound every measurement.

What a load keeps after a table is parsed is about :data:`KEPT_ROW_BYTES` per row (the national
2025 police.uk set: 4.0 million rows in 474 files peak at 3.6 GB above the process's start,
0.9 KB a row, in 37 s); the estimate of a load is :data:`LOAD_BASE_BYTES` (what any load needs:
1,000 rows peak at 24.5 MB) plus what earlier tables keep plus the peak of the table being parsed.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import inspect
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .._errors import LimitError, ParameterError

__all__ = [
    "LoadLimits",
    "LoadBudget",
    "UPLOAD_LIMITS",
    "BATCH_LIMITS",
    "load_limits",
    "current_budget",
    "limits_for",
    "estimate_memory",
    "KEPT_ROW_BYTES",
    "LOAD_BASE_BYTES",
    "size_text",
    "available_memory",
]

KiB, MiB, GiB = 1024, 1024**2, 1024**3

#: Memory per row of a parsed table (bytes), whatever its columns (see the module docstring).
ROW_BYTES = 500
#: Memory per cell (row x column) of a parsed table (bytes).
CELL_BYTES = 25
#: Memory per unpacked byte of CSV, Parquet or GeoPackage (the text is held as bytes, decoded
#: text, Arrow strings and Python strings at once while parsing).
TEXT_BYTES = 6
#: Memory per byte of GeoJSON (GDAL parses the whole document into a tree first).
GEOJSON_BYTES = 8
#: Factor for Python's csv module, used for files that pyarrow's reader refuses (damaged rows).
SLOW_CSV_FACTOR = 1.4
#: Memory a load keeps per row read once its table is parsed (the national 2025 set: 0.9 KB).
KEPT_ROW_BYTES = 900
#: Memory any load needs whatever its size (libraries' first use: pyproj's CRS database, Arrow's
#: memory pool): 1,000 rows peak at 24.5 MB in a fresh process. 56 MiB (32, then 40 before):
#: 150,000 rows of a generic CSV peaked at up to 1.03 x the estimate with 32 MiB in 2 of 24 fresh
#: processes, and at 156.8-177.8 MiB (up to 1.04 x the estimate) with 40 MiB in 24 on a busier
#: machine, the code of 6 December and 7 December alike (the spread of the allocator's peaks), which
#: made ``test_io_limits`` fail now and then; the estimate is now 186.5 MiB.
LOAD_BASE_BYTES = 56 * MiB
#: A CSV header longer than this is not a header (a million columns, or no line breaks at all).
MAX_HEADER_BYTES = MiB


@dataclass(frozen=True)
class LoadLimits:
    """The most one load may read and hold.

    Attributes
    ----------
    label : str
        Named in messages ("app upload", "command line").
    max_unpacked_bytes : int
        Bytes after decompression, all files of the load together (ZIP members, gzip, files).
    max_rows : int
        Data rows, all tables of the load together (counted before parsing).
    max_columns : int
        Columns of any one table.
    max_memory_bytes : int
        Estimated peak memory of the load (see the module docstring's model), bytes.
    max_files : int
        Files (folder entries and ZIP members) in one load.
    max_seconds : float
        Wall-clock time of one load, checked between files and while unpacking.
    env : str
        Environment variable that overrides these values (``key=value`` pairs).
    fix : str
        What a user can do when a limit is reached (ends every refusal message).
    """

    label: str
    max_unpacked_bytes: int
    max_rows: int
    max_columns: int
    max_memory_bytes: int
    max_files: int
    max_seconds: float
    env: str = ""
    fix: str = ""

    def replace(self, **changes: Any) -> LoadLimits:
        """A copy with some values changed (e.g. ``BATCH_LIMITS.replace(max_rows=20_000_000)``)."""
        return _checked(dataclasses.replace(self, **changes))

    def describe(self) -> str:
        """One line for humans: the limits' values."""
        return (
            f"{self.label}: {self.max_rows:,} rows, {self.max_columns:,} columns, {size_text(self.max_unpacked_bytes)} unpacked, "
            f"{size_text(self.max_memory_bytes)} estimated memory, {self.max_files:,} files, {self.max_seconds:,.0f} s per load"
        )


def _checked(limits: LoadLimits) -> LoadLimits:
    for name in ("max_unpacked_bytes", "max_rows", "max_columns", "max_memory_bytes", "max_files"):
        v = getattr(limits, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ParameterError(f"`{name}` of the load limits must be a whole number >= 1; got {v!r}.")
    if isinstance(limits.max_seconds, bool) or not isinstance(limits.max_seconds, (int, float)) or not limits.max_seconds > 0:
        raise ParameterError(f"`max_seconds` of the load limits must be a number of seconds > 0; got {limits.max_seconds!r}.")
    return limits


#: The app (a shared server; every session's data stay in memory, and the analysis after loading
#: needs about as much again: DBSCAN holds ~1.2 KB per incident). 1,000,000 rows is a force's
#: several years of every crime type (Derbyshire: 102,621 rows in 2025) and estimates at about
#: 0.9-2.2 GB; the later stages on as many incidents add about as much.
UPLOAD_LIMITS = LoadLimits(
    label="app upload",
    max_unpacked_bytes=512 * MiB,
    max_rows=1_000_000,
    max_columns=500,
    max_memory_bytes=2 * GiB,
    max_files=2_000,
    max_seconds=120.0,
    env="HOTSPOTS_UPLOAD_LIMITS",
    fix=(
        "Upload fewer months or a smaller area (every upload is held in the shared server's memory), or analyse the "
        "files with the command line (`hotspots analyse`), whose limits are larger. The server's administrator sets "
        "these limits with the environment variable HOTSPOTS_UPLOAD_LIMITS."
    ),
)

#: The command line and library calls on files (one user's job). The national 2025 police.uk
#: set (4.0 million rows, 900 MB unpacked) estimates at 3.6 GB and loads.
BATCH_LIMITS = LoadLimits(
    label="command line",
    max_unpacked_bytes=4 * GiB,
    max_rows=10_000_000,
    max_columns=1_000,
    max_memory_bytes=8 * GiB,
    max_files=20_000,
    max_seconds=3600.0,
    env="HOTSPOTS_BATCH_LIMITS",
    fix=(
        "Load fewer months or a smaller area, or, if this machine has the memory (about 1 KB per row), raise the limit "
        "with the environment variable HOTSPOTS_BATCH_LIMITS, e.g. HOTSPOTS_BATCH_LIMITS='rows=20000000,memory=16GiB'."
    ),
)

_KEYS = {
    "rows": "max_rows",
    "columns": "max_columns",
    "memory": "max_memory_bytes",
    "unpacked": "max_unpacked_bytes",
    "files": "max_files",
    "seconds": "max_seconds",
}
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": KiB, "mib": MiB, "gib": GiB}


def _parse_env(limits: LoadLimits, text: str) -> LoadLimits:
    """``limits`` with the ``key=value`` pairs of an environment variable applied."""
    changes: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        field = _KEYS.get(key.strip().lower())
        m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", value)
        if not sep or field is None or m is None or m.group(2).lower() not in _UNITS:
            raise ParameterError(
                f"{limits.env}={text!r}: cannot read {part!r}. Give comma-separated key=value pairs with keys "
                f"{', '.join(_KEYS)}; sizes may end in KB, MB, GB, KiB, MiB or GiB (e.g. 'rows=20000000,memory=16GiB')."
            )
        number = float(m.group(1).replace("_", "")) * _UNITS[m.group(2).lower()]
        changes[field] = number if field == "max_seconds" else int(number)
    return limits.replace(**changes) if changes else limits


def _effective(limits: LoadLimits) -> LoadLimits:
    text = os.environ.get(limits.env, "") if limits.env else ""
    return _parse_env(limits, text) if text.strip() else limits


def size_text(nbytes: float) -> str:
    """A byte count for people: KiB, MiB or GiB with one decimal."""
    if nbytes >= GiB:
        return f"{nbytes / GiB:,.1f} GiB"
    if nbytes >= MiB:
        return f"{nbytes / MiB:,.1f} MiB"
    return f"{nbytes / KiB:,.1f} KiB"


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) and unreadable files: None


def available_memory() -> int | None:
    """Memory this process can still take before the system (or its container) runs out, bytes.

    The smaller of the system's available memory (Linux ``MemAvailable`` in ``/proc/meminfo``: free
    memory plus caches it can drop; elsewhere the free physical pages) and what a container's
    memory limit leaves (cgroup v2 ``memory.max - memory.current``, or v1's limit and usage).
    None when neither can be read (a check that needs it is then skipped).
    """
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * KiB)
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            pass
    cgroups = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # v2
               ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))  # v1
    for limit_file, usage_file in cgroups:
        limit, used = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and used is not None and limit < 2**60:  # v1 writes a huge number for "no limit"
            found.append(max(limit - used, 0))
            break
    return min(found) if found else None


def estimate_memory(fmt: str, *, rows: int, columns: int, nbytes: int, slow: bool = False) -> int:
    """Estimated peak memory (bytes) of parsing one table; see the module docstring's model.

    Parameters
    ----------
    fmt : {"csv", "parquet", "gpkg", "geojson", "shp"}
    rows, columns : int
        Data rows and columns (rows may be an upper bound, e.g. line breaks).
    nbytes : int
        Unpacked bytes of the table (Parquet: decoded values; GeoPackage: the file).
    slow : bool
        CSV parsed with Python's csv module (damaged files).
    """
    if fmt in ("geojson", "shp"):
        return int(rows * ROW_BYTES + GEOJSON_BYTES * nbytes)
    est = rows * (ROW_BYTES + CELL_BYTES * max(columns, 1)) + TEXT_BYTES * nbytes
    return int(est * SLOW_CSV_FACTOR) if slow else int(est)


class LoadBudget:
    """What one load has used so far, checked against its :class:`LoadLimits`.

    Loaders charge it as they go (files, unpacked bytes, tables); every charge that would pass a
    limit raises :class:`~hotspots.LimitError`. Not thread-safe: one budget per load.
    """

    def __init__(self, limits: LoadLimits):
        self.limits = limits
        self.started = time.monotonic()
        self.files = 0
        self.unpacked = 0
        self.rows = 0
        self.kept = LOAD_BASE_BYTES  # memory held by the load so far (estimate, bytes)

    def _fail(self, what: str, amount: str, limit: str) -> None:
        raise LimitError(f"{what}: {amount}, more than the {self.limits.label} limit of {limit}. {self.limits.fix}")

    # ----------------------------------------------------------------------------- checks
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def check_time(self, what: str) -> None:
        """Refuse when the load has run longer than ``max_seconds``."""
        t = self.elapsed()
        if t > self.limits.max_seconds:
            self._fail(what, f"loading has taken {t:,.0f} s", f"{self.limits.max_seconds:,.0f} s per load")

    def add_files(self, n: int, what: str) -> None:
        """Count ``n`` more files (folder entries, archive members)."""
        self.files += int(n)
        if self.files > self.limits.max_files:
            self._fail(what, f"{self.files:,} files in one load", f"{self.limits.max_files:,} files")

    def add_unpacked(self, nbytes: int, what: str, *, streamed: bool = False) -> None:
        """Count ``nbytes`` more unpacked bytes (before they are unpacked when the size is known;
        ``streamed``: counted while unpacking, so the total is only known to pass the limit)."""
        before = self.unpacked
        self.unpacked += int(nbytes)
        limit = self.limits.max_unpacked_bytes
        if self.unpacked > limit:
            earlier = f" (with the {size_text(before)} of earlier files in this load)" if before else ""
            if streamed:
                amount = f"unpacks to more than the {self.limits.label} limit of {size_text(limit)} per load{earlier}"
            else:
                amount = (
                    f"unpacks to {size_text(self.unpacked - before)}{earlier}, more than the {self.limits.label} limit of "
                    f"{size_text(limit)} per load"
                )
            raise LimitError(f"{what}: {amount}. {self.limits.fix}")
        self.check_time(what)

    def unpacked_left(self) -> int:
        return max(self.limits.max_unpacked_bytes - self.unpacked, 0)

    def check_stream(self, what: str, *, nbytes: int, rows: int) -> None:
        """While unpacking a table: refuse as soon as the bytes or lines so far pass a limit."""
        if self.rows + rows > self.limits.max_rows:
            earlier = f" after {self.rows:,} rows in earlier tables" if self.rows else ""
            self._fail(what, f"its lines pass {max(self.limits.max_rows - self.rows, 0):,} while unpacking{earlier}",
                       f"{self.limits.max_rows:,} rows per load")
        est = self.kept + estimate_memory("csv", rows=rows, columns=1, nbytes=nbytes)
        if est > self.limits.max_memory_bytes:
            self._fail(what, f"needs {size_text(est)} of memory or more to read (estimated while unpacking)",
                       f"{size_text(self.limits.max_memory_bytes)} (estimated peak memory per load)")
        self.check_time(what)

    def check_columns(self, what: str, columns: int) -> None:
        if columns > self.limits.max_columns:
            self._fail(what, f"{columns:,} columns", f"{self.limits.max_columns:,} columns per table")

    def memory_left(self) -> int:
        return max(self.limits.max_memory_bytes - self.kept, 0)

    def admit(self, what: str, *, fmt: str, rows: int, columns: int, nbytes: int, slow: bool = False, count: bool = True) -> int:
        """Check a table before it is parsed and count it; returns its memory estimate.

        ``count=False`` only checks (a second look at a table already counted, e.g. before the
        slower CSV reader is used on it).
        """
        self.check_columns(what, columns)
        if count and self.rows + rows > self.limits.max_rows:
            before = f" ({self.rows:,} in earlier tables)" if self.rows else ""
            self._fail(what, f"{rows:,} rows{before}", f"{self.limits.max_rows:,} rows per load")
        est = estimate_memory(fmt, rows=rows, columns=columns, nbytes=nbytes, slow=slow)
        if self.kept + est > self.limits.max_memory_bytes:
            held = f" on top of {size_text(self.kept)} for earlier tables" if self.rows else ""
            self._fail(
                what,
                f"{rows:,} rows x {columns:,} columns ({size_text(nbytes)}) need about {size_text(est)} of memory to read{held}",
                f"{size_text(self.limits.max_memory_bytes)} (estimated peak memory per load)",
            )
        if count:
            self.rows += int(rows)
            self.kept += int(rows) * KEPT_ROW_BYTES
        self.check_time(what)
        return est


# --------------------------------------------------------------------------------------------
# The budget of the load in progress
# --------------------------------------------------------------------------------------------

_BUDGET: contextvars.ContextVar[LoadBudget | None] = contextvars.ContextVar("hotspots_load_budget", default=None)


def current_budget() -> LoadBudget:
    """The budget of the load in progress; outside any load, a fresh one with :data:`BATCH_LIMITS`."""
    budget = _BUDGET.get()
    return budget if budget is not None else LoadBudget(_effective(BATCH_LIMITS))


def _as_limits(limits: LoadLimits | str) -> LoadLimits:
    if isinstance(limits, LoadLimits):
        return limits
    named = {"upload": UPLOAD_LIMITS, "batch": BATCH_LIMITS}
    if isinstance(limits, str) and limits in named:
        return _effective(named[limits])
    raise ParameterError(f"`limits` must be a LoadLimits, 'upload' or 'batch'; got {limits!r}.")


@contextlib.contextmanager
def load_limits(limits: LoadLimits | str) -> Iterator[LoadBudget]:
    """Load within ``limits`` inside the block; every load in it shares one budget.

    Parameters
    ----------
    limits : LoadLimits, "upload" or "batch"
        The named sets are :data:`UPLOAD_LIMITS` and :data:`BATCH_LIMITS` with their environment
        overrides applied; a :class:`LoadLimits` is used as given.

    Examples
    --------
    >>> from hotspots.io import load_any, load_limits
    >>> with load_limits("upload"):                      # doctest: +SKIP
    ...     incidents = load_any(path, "incidents")
    ...     referrals = load_any(other, "referrals")     # same budget: rows add up
    """
    budget = LoadBudget(_as_limits(limits))
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _is_in_memory(item: Any) -> bool:
    from ._read import Source, Upload

    if isinstance(item, (Upload, bytes, bytearray, memoryview)):
        return True
    if isinstance(item, Source):
        return item.data is not None
    if isinstance(item, tuple) and len(item) == 2:  # ("name.csv", bytes)
        return isinstance(item[0], str) and isinstance(item[1], (bytes, bytearray, memoryview))
    return hasattr(item, "read") and not isinstance(item, (str, os.PathLike))


def limits_for(inputs: Any) -> LoadLimits:
    """The limits a load of ``inputs`` gets by default: :data:`UPLOAD_LIMITS` when any input is
    held in memory (an upload), else :data:`BATCH_LIMITS` (files on disk, data frames)."""
    items = inputs if isinstance(inputs, list) or (isinstance(inputs, tuple) and not _is_in_memory(inputs)) else [inputs]
    return _effective(UPLOAD_LIMITS if any(_is_in_memory(i) for i in items) else BATCH_LIMITS)


@contextlib.contextmanager
def _load_scope(inputs: Any) -> Iterator[LoadBudget]:
    """The budget for one loader call: the open one (a nested call, or inside :func:`load_limits`),
    else a new one for ``inputs`` (see :func:`limits_for`)."""
    budget = _BUDGET.get()
    if budget is not None:
        yield budget
        return
    with load_limits(limits_for(inputs)) as budget:
        yield budget


def within_limits(func: Any) -> Any:
    """Decorator for loader entry points: the call runs within :func:`_load_scope` of its first
    argument (the inputs)."""
    import functools

    params = list(inspect.signature(func).parameters)
    first = params[0] if params else None

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        inputs = args[0] if args else kwargs.get(first) if first else None
        with _load_scope(inputs):
            return func(*args, **kwargs)

    return wrapper
