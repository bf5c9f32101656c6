"""Reading inputs into tables: paths, folders, archives, uploads; dispatch to the format readers.

Everything here turns "something the user gave us" into :class:`Table` objects (a pandas
DataFrame plus the row numbers and malformed-row counts a :class:`~hotspots.report.LoadReport`
needs). CSV parsing lives in :mod:`._csv`, Parquet in :mod:`._parquet`, GeoPackage, GeoJSON and
Shapefile in :mod:`._gdal`. Nothing here knows about incidents or referrals.

Safety: only data formats are parsed (CSV, gzip-compressed CSV, ZIP archives of those, Parquet,
GeoPackage, GeoJSON, and Shapefile for boundaries). Nothing is ever unpickled; files that look
like pickles or spreadsheets are refused with a message naming the file. Every read stays within
the load's :class:`~hotspots.io.limits.LoadLimits`: archive directories, gzip streams, Parquet
footers and SQLite catalogues are measured before a table is parsed, and GeoPackage views (SQL run
on every read) are refused.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError, LimitError, ParameterError
from ._csv import clean_header, csv_shape, read_csv_bytes
from ._table import Table
from .limits import LoadBudget, current_budget, size_text, within_limits

__all__ = [
    "Upload",
    "Source",
    "Table",
    "resolve_sources",
    "read_table",
    "read_csv_bytes",
    "SUPPORTED_FORMATS",
    "skipped_files",
]

#: Bytes unpacked at a time from a ZIP member or gzip stream (the limits are checked after each).
CHUNK_BYTES = 8 * 1024**2

#: File formats the loaders parse, by file-name ending.
SUPPORTED_FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "csv",  # the delimiter is told from the header line, as for .csv
    ".zip": "zip",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".geoparquet": "parquet",
    ".gpkg": "gpkg",
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shp",
}

_REFUSED = {
    ".pkl": "a Python pickle",
    ".pickle": "a Python pickle",
    ".joblib": "a Python pickle (joblib)",
    ".npy": "a NumPy array file",
    ".npz": "a NumPy archive",
    ".xlsx": "an Excel workbook",
    ".xls": "an Excel workbook",
    ".xlsm": "an Excel workbook",
    ".ods": "a spreadsheet",
}

_FIX_FORMATS = "Save it as CSV (UTF-8), Parquet, GeoPackage or GeoJSON."
_FORMAT_NAMES = {
    "csv": "CSV (UTF-8)", "parquet": "Parquet", "gpkg": "GeoPackage", "geojson": "GeoJSON",
    "shp": "a Shapefile (or a zip of one)",
}


def fix_formats(allowed: Iterable[str] | None = None) -> str:
    """The fix for a file of a type not read here: the formats accepted where it was given.

    Examples
    --------
    >>> fix_formats(("geojson", "gpkg", "shp", "parquet"))
    'Save it as GeoJSON, GeoPackage, a Shapefile (or a zip of one) or Parquet.'
    """
    if allowed is None:
        return _FIX_FORMATS
    names = [v for k, v in _FORMAT_NAMES.items() if k in set(allowed)]
    names = sorted(names, key=lambda v: ("GeoJSON", "GeoPackage", "a Shapefile (or a zip of one)", "CSV (UTF-8)",
                                         "Parquet").index(v))
    return "Save it as " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]) + "."

# police.uk monthly file names: 2025-01-derbyshire-street.csv (also -outcomes, -stop-and-search).
POLICE_NAME = re.compile(r"^\d{4}-\d{2}-[a-z0-9-]+-(street|outcomes|stop-and-search)\.csv(\.gz)?$", re.I)


@dataclass(frozen=True)
class Upload:
    """An uploaded file held in memory: its name (used to pick the format) and its bytes.

    Streamlit's ``UploadedFile`` and any binary file object with a ``name`` attribute are
    accepted by the loaders directly; ``Upload`` is for callers holding plain bytes.
    """

    name: str
    data: bytes

    def __repr__(self) -> str:  # never print the bytes
        return f"Upload(name={self.name!r}, {len(self.data):,} bytes)"


@dataclass
class Source:
    """One readable input: a file on disk, an archive member, or bytes in memory."""

    name: str  # shown in reports ("2025-01-derbyshire-street.csv", "a.zip:2025-01/x.csv")
    fmt: str  # "csv", "parquet", "gpkg", "geojson", "shp"
    path: Path | None = None
    data: bytes | None = None
    #: Why this input cannot be read (one bad input among several, a damaged archive member):
    #: reading it raises InputError with this message, so the loaders report it and load the rest.
    error: str | None = None
    #: The bytes were already counted against the load's unpacked-size limit (ZIP members).
    counted: bool = False

    def check(self) -> None:
        """Raise the InputError of an unreadable source."""
        if self.error is not None:
            raise InputError(self.error)

    def head(self, n: int = 65536) -> bytes:
        """The first ``n`` bytes of the (decompressed) content, for sniffing headers."""
        self.check()
        if self.data is not None:
            raw = self.data[: max(n, 1 << 20)]
        else:
            try:
                with open(self.path, "rb") as fh:  # type: ignore[arg-type]
                    raw = fh.read(max(n, 1 << 20))
            except OSError as exc:
                raise InputError(f"cannot read {self.name}: {exc.strerror or exc}.") from None
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, n)
            except zlib.error as exc:
                raise InputError(f"{self.name} is not valid gzip data ({exc}); the file is damaged. Download it again.") from None
        return raw[:n]

    def read_bytes(self) -> bytes:
        """The content, decompressed when it is gzip data, within the load's limits."""
        self.check()
        budget = current_budget()
        if self.data is not None:
            if self.data[:2] == b"\x1f\x8b":
                return _gunzip(io.BytesIO(self.data), self.name, budget)
            if not self.counted:
                budget.add_unpacked(len(self.data), self.name)
                self.counted = True
            return self.data
        try:
            with open(self.path, "rb") as fh:  # type: ignore[arg-type]
                if fh.read(2) == b"\x1f\x8b":
                    fh.seek(0)
                    return _gunzip(fh, self.name, budget)
                size = os.fstat(fh.fileno()).st_size
                if not self.counted:
                    budget.add_unpacked(size, self.name)  # before reading it
                    self.counted = True
                fh.seek(0)
                return fh.read()
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {exc.strerror or exc}. Check the path and permissions.") from None

    def size(self) -> int:
        """Size of the stored bytes (compressed when they are), without reading them."""
        if self.data is not None:
            return len(self.data)
        try:
            return os.stat(self.path).st_size  # type: ignore[arg-type]
        except OSError as exc:
            raise InputError(f"cannot read {self.name}: {exc.strerror or exc}. Check the path and permissions.") from None




# --------------------------------------------------------------------------------------------
# Resolving inputs into sources
# --------------------------------------------------------------------------------------------


def _suffix(name: str) -> str:
    low = name.lower()
    if low.endswith(".csv.gz"):
        return ".csv.gz"
    return PurePosixPath(low).suffix


def _fmt_for(name: str, *, allowed: Iterable[str]) -> str:
    allowed = set(allowed)
    suf = _suffix(name)
    if suf in _REFUSED:
        extra = " Files are parsed as data only and never unpickled." if "pickle" in _REFUSED[suf] else ""
        raise InputError(f"{name} is {_REFUSED[suf]}, which hotspots does not read.{extra} {fix_formats(allowed)}")
    fmt = SUPPORTED_FORMATS.get(suf)
    allowed = set(allowed)
    if fmt is None or fmt not in allowed:
        kinds = sorted(k for k, v in SUPPORTED_FORMATS.items() if v in allowed)
        raise InputError(
            f"{name}: unsupported file type {suf or '(no extension)'!r}. Accepted here: {', '.join(kinds)}. "
            f"{fix_formats(allowed)}"
        )
    return fmt


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if len(head) >= 2 and head[0] == 0x80 and head[1] in (2, 3, 4, 5):
        return "pickle"
    return None


def _check_magic(name: str, fmt: str, head: bytes) -> None:
    kind = _sniff(head)
    if kind == "pickle":
        raise InputError(f"{name} looks like a Python pickle; it is never unpickled. {_FIX_FORMATS}")
    expected = {"csv": (None, "gzip"), "geojson": (None,), "parquet": ("parquet",), "gpkg": ("gpkg",), "zip": ("zip",)}
    ok = expected.get(fmt)
    if ok is not None and kind not in ok and len(head) > 0:
        what = {
            "zip": "a ZIP archive", "gzip": "gzip data", "parquet": "a Parquet file", "gpkg": "a GeoPackage/SQLite file",
            None: "text",
        }[kind]
        raise InputError(
            f"{name} is named as {fmt.upper()} but its content looks like {what}. Rename it to match its "
            "content, or export it again in the format its name says."
        )


def upload_parts(obj: Any) -> tuple[str, bytes] | None:
    """The (name, bytes) of an upload (an :class:`Upload`, a (name, bytes) tuple or a Streamlit file), or None."""
    if isinstance(obj, Upload):
        return obj.name, bytes(obj.data)
    if _is_upload_tuple(obj):
        return obj[0], bytes(obj[1])
    if hasattr(obj, "read") and not isinstance(obj, (str, os.PathLike)):
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name:
            raise InputError(
                "an uploaded file object has no `name`; the name's extension picks the format. Wrap the "
                "bytes as `Upload(name='file.csv', data=...)`."
            )
        try:
            data = obj.getvalue() if hasattr(obj, "getvalue") else obj.read()
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes a typed error
            raise InputError(f"cannot read the uploaded file {name}: {exc}") from None
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InputError(f"the uploaded file {name} did not give bytes when read; open it in binary mode ('rb').")
        return os.path.basename(name), bytes(data)
    return None


def _is_skippable_member(member: str) -> bool:
    """Entries skipped without a word: folders, and macOS's resource forks (``__MACOSX/``, ``._name``)."""
    parts = PurePosixPath(member).parts
    base = parts[-1] if parts else member
    return member.endswith("/") or "__MACOSX" in parts or base.startswith("._")


def is_lock_or_hidden(name: str) -> bool:
    """Whether a file name is an Office lock file (``~$2025-07-...csv``, written while a spreadsheet
    program has the file open) or a hidden file (``.DS_Store``, ``.~lock.x.csv#``): never data,
    skipped with a warning naming them (:func:`skipped_files`) instead of being read as a table."""
    base = PurePosixPath(str(name).replace("\\", "/").replace(":", "/")).name
    return base.startswith(("~$", "."))


def _zip_entries(name: str, data: bytes | None, path: Path | None) -> int | None:
    """The number of entries a ZIP archive's end-of-directory record claims (None when it cannot
    be found: :mod:`zipfile` then reports the damage). Read before :class:`zipfile.ZipFile` builds
    an object per entry, so that a directory of millions of entries is refused cheaply."""
    try:
        if data is not None:
            tail = data[-(65536 + 22):]
        else:
            with open(path, "rb") as fh:  # type: ignore[arg-type]
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(size - (65536 + 22), 0))
                tail = fh.read()
    except OSError:
        return None
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    entries = struct.unpack_from("<H", tail, at + 10)[0]
    z64 = tail.rfind(b"PK\x06\x06", 0, at)  # ZIP64 end of directory: 8-byte count
    if z64 >= 0 and z64 + 40 <= len(tail):
        entries = max(entries, struct.unpack_from("<Q", tail, z64 + 32)[0])
    return int(entries)


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, fmt: str, budget: LoadBudget) -> bytes:
    """One member's bytes, unpacked a chunk at a time: a CSV member is refused as soon as its lines
    pass the load's row or memory limit, without unpacking the rest."""
    chunks: list[bytes] = []
    total = rows = 0
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(CHUNK_BYTES)
            if not chunk:
                break
            if not chunks and chunk[:2] == b"\x1f\x8b":
                fmt = "gzip"  # a .csv.gz member: its lines are counted when it is unpacked
            chunks.append(chunk)
            total += len(chunk)
            if fmt == "csv":
                rows += chunk.count(b"\n")
                budget.check_stream(name, nbytes=total, rows=rows)
            else:
                budget.check_time(name)
    return b"".join(chunks)


def _zip_sources(name: str, data: bytes | None, path: Path | None, *, allowed: set[str], skipped: list[str]) -> list[Source]:
    budget = current_budget()
    entries = _zip_entries(name, data, path)
    if entries is not None and entries > budget.limits.max_files:
        raise LimitError(
            f"{name}: the archive lists {entries:,} entries, more than the {budget.limits.label} limit of "
            f"{budget.limits.max_files:,} files. {budget.limits.fix}"
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else path)  # type: ignore[arg-type]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        # NotImplementedError: a damaged header that claims a ZIP version Python cannot read
        raise InputError(
            f"{name} is not a readable ZIP archive ({exc}). Download it again or unzip it and load the folder."
        ) from None
    out: list[Source] = []
    with zf:
        infos = [i for i in zf.infolist() if not _is_skippable_member(i.filename)]
        wanted = [i for i in infos if _zip_member_fmt(i.filename, allowed) is not None and not is_lock_or_hidden(i.filename)]
        budget.add_files(len(wanted), name)
        # The directory's sizes are what zipfile unpacks at most (it stops at the stated size), so
        # the limit holds before anything is unpacked.
        budget.add_unpacked(sum(i.file_size for i in wanted), f"{name} (from its directory)")
        for info in sorted(infos, key=lambda i: i.filename):
            member = info.filename
            fmt = _zip_member_fmt(member, allowed)
            if fmt is None or is_lock_or_hidden(member):
                skipped.append(f"{name}:{member}")
                continue
            # A damaged or encrypted member fails when it is read: the loaders then skip it with a
            # warning and load the other members (a single member raises).
            if info.flag_bits & 0x1:
                out.append(Source(name=f"{name}:{member}", fmt=fmt, data=b"",
                                  error=f"{name}:{member} is encrypted; hotspots cannot read password-protected archives."))
                continue
            try:
                blob = _extract(zf, info, f"{name}:{member}", fmt, budget)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                out.append(Source(name=f"{name}:{member}", fmt=fmt, data=b"",
                                  error=f"{name}:{member} cannot be extracted ({exc}); the archive is damaged. "
                                        "Download it again."))
                continue
            out.append(Source(name=f"{name}:{member}", fmt=fmt, data=blob, counted=True))
    return out


def _zip_member_fmt(member: str, allowed: set[str]) -> str | None:
    """The format a ZIP member is read as, or None when it is skipped."""
    if _is_skippable_member(member):
        return None
    base = PurePosixPath(member).name
    fmt = SUPPORTED_FORMATS.get(_suffix(base))
    if fmt not in allowed or fmt in ("zip", "shp"):
        return None
    if POLICE_NAME.match(base) and "-street.csv" not in base.lower():
        return None
    return fmt


@within_limits
def resolve_sources(
    inputs: Any, *, allowed: Sequence[str] = ("csv", "zip", "parquet", "gpkg", "geojson")
) -> tuple[list[Source], list[str]]:
    """Expand paths, folders, archives and uploads into a flat, ordered list of sources.

    Parameters
    ----------
    inputs : path, Upload, binary file object with ``name``, or a list of these
        Folders are searched recursively for data files (sorted by path); ZIP archives are
        expanded (members sorted by name). In folders and archives, police.uk files that are not
        street-level crime files (``-outcomes``, ``-stop-and-search``) are skipped.
    allowed : sequence of str
        Formats accepted (``"csv"``, ``"zip"``, ``"parquet"``, ``"gpkg"``, ``"geojson"``,
        ``"shp"``).

    Returns
    -------
    sources : list of Source
    skipped : list of str
        Files in folders/archives that were not data files of an accepted kind.

    Raises
    ------
    LimitError
        More files, or more unpacked bytes, than the load's limits allow (ZIP members are
        unpacked here, within the limits).
    """
    allowed_set = set(allowed)
    if inputs is None:
        raise InputError("no input given: pass a file, folder, ZIP archive or upload.")
    items: list[Any]
    if isinstance(inputs, (list, tuple)) and not _is_upload_tuple(inputs):
        items = list(inputs)
    else:
        items = [inputs]
    if not items:
        raise InputError("no input given: the list of files is empty.")
    sources: list[Source] = []
    skipped: list[str] = []
    for item in items:
        if isinstance(item, Source):  # already resolved (used by load_any)
            sources.append(item)
            continue
        try:
            sources += _resolve_item(item, allowed_set, skipped)
        except InputError as exc:
            if len(items) == 1:
                raise
            # One bad input among several: reported when read (the loaders skip it with a
            # warning, and the rest load), like a damaged file in a folder.
            sources.append(Source(name=_item_name(item), fmt="csv", data=b"", error=str(exc)))
    what = _item_name(items[0]) if len(items) == 1 else f"these {len(items)} inputs"
    _check_claimed_sizes([s for s in sources if not s.counted and s.error is None], what, current_budget())
    return sources, skipped


def frame_or_sources(path_or_frame: Any) -> tuple[list[Source | Table], list[str]]:
    """A caller's DataFrame as one :class:`Table`, anything else through :func:`resolve_sources`.

    Returns
    -------
    items : list of Source or Table
    skipped : list of str
        As for :func:`resolve_sources` (empty for a DataFrame).
    """
    if isinstance(path_or_frame, pd.DataFrame):
        return [frame_table(path_or_frame)], []
    return resolve_sources(path_or_frame)


def _item_name(item: Any) -> str:
    if isinstance(item, Upload) or _is_upload_tuple(item):
        return str(item[0] if isinstance(item, tuple) else item.name)
    if isinstance(item, (str, os.PathLike)):
        return Path(item).name or str(item)
    name = getattr(item, "name", None)
    return os.path.basename(name) if isinstance(name, str) and name else type(item).__name__


def _resolve_item(item: Any, allowed_set: set[str], skipped: list[str]) -> list[Source]:
    """The sources of one input (a file, folder, archive or upload); InputError when unreadable."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        raise InputError("raw bytes have no file name to tell their format; wrap them as `Upload(name='data.csv', data=...)`.")
    up = upload_parts(item)
    if up is not None:
        name, data = up
        if not data:
            raise InputError(f"{name} is empty (0 bytes). Choose a file with data in it.")
        fmt = _fmt_for(name, allowed=allowed_set)
        _check_magic(name, fmt, data[:16])
        if fmt == "zip":
            members = _zip_sources(name, data, None, allowed=allowed_set, skipped=skipped)
            if not members:
                raise InputError(f"{name} holds no data files of an accepted kind ({', '.join(sorted(allowed_set - {'zip'}))}).")
            return members
        current_budget().add_files(1, name)
        return [Source(name=name, fmt=fmt, data=data)]
    if not isinstance(item, (str, os.PathLike)):
        raise InputError(
            f"cannot read an input of type {type(item).__name__}; pass a file path, a folder, an `Upload`, "
            "or a DataFrame to the table loaders."
        )
    path = Path(item)
    if path.is_dir():
        found = []
        budget = current_budget()
        for k, p in enumerate(sorted(path.rglob("*"))):
            if k % 1000 == 999:
                budget.check_time(str(path))
            if not p.is_file() or _is_skippable_member(p.name):
                continue
            fmt = SUPPORTED_FORMATS.get(_suffix(p.name))
            shown_name = str(p.relative_to(path.parent)) if p.parent != path else p.name
            if fmt == "zip" and fmt in allowed_set and not is_lock_or_hidden(p.name):  # read as if given directly
                found += _folder_zip(shown_name, p, allowed_set, skipped)
                continue
            if fmt is None or fmt not in allowed_set or fmt in ("zip", "shp") or is_lock_or_hidden(p.name):
                skipped.append(str(p))
                continue
            if POLICE_NAME.match(p.name) and "-street.csv" not in p.name.lower():
                skipped.append(str(p))
                continue
            found.append(Source(name=shown_name, fmt=fmt, path=p))
        if not found:
            raise InputError(
                f"folder {path} holds no data files "
                f"({', '.join(sorted(k for k, v in SUPPORTED_FORMATS.items() if v in allowed_set))})."
            )
        budget.add_files(sum(1 for s in found if s.path is not None), f"folder {path}")  # archives' members: counted there
        return found
    if not path.exists():
        raise InputError(f"file not found: {path}. Check the path (relative paths are from {Path.cwd()}).")
    fmt = _fmt_for(path.name, allowed=allowed_set)
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if not head:
        raise InputError(f"{path.name} is empty (0 bytes). Choose a file with data in it.")
    _check_magic(path.name, fmt, head)
    if fmt == "zip":
        members = _zip_sources(path.name, None, path, allowed=allowed_set, skipped=skipped)
        if not members:
            raise InputError(f"{path.name} holds no data files of an accepted kind.")
        return members
    current_budget().add_files(1, path.name)
    return [Source(name=path.name, fmt=fmt, path=path)]


def _folder_zip(name: str, path: Path, allowed_set: set[str], skipped: list[str]) -> list[Source]:
    """The sources of a ZIP archive found in a folder, as if it had been given directly; an
    unreadable archive is one source carrying its error (the loaders skip it with a warning)."""
    try:
        return _zip_sources(name, None, path, allowed=allowed_set, skipped=skipped)
    except LimitError:
        raise
    except InputError as exc:
        return [Source(name=name, fmt="csv", data=b"", error=str(exc))]


def skipped_files(skipped: Sequence[str], what: str = "data files") -> tuple[list[str], list[str]]:
    """The report's lines for files a folder or archive held that were not read: ``(notes, warnings)``.

    police.uk's other downloads (``-outcomes``, ``-stop-and-search``) are a note; anything else
    (``notes.txt``, a spreadsheet) a warning, since the user may have meant it to be read; Office lock
    and hidden files (:func:`is_lock_or_hidden`) a warning of their own. Each is one line, naming up
    to five files.
    """
    from ..validation import names_text

    def base(name: str) -> str:
        return PurePosixPath(str(name).replace("\\", "/").replace(":", "/")).name

    locks = [base(f) for f in skipped if is_lock_or_hidden(f)]
    police = [base(f) for f in skipped if POLICE_NAME.match(base(f)) and not is_lock_or_hidden(f)]
    other = [base(f) for f in skipped if not POLICE_NAME.match(base(f)) and not is_lock_or_hidden(f)]
    warnings = []
    if locks:
        warnings.append(
            f"skipped {len(locks)} Office lock or hidden file(s): {names_text(locks, limit=5)} (a lock file, ~$name, is "
            "written while a spreadsheet program has a file open, and holds no data; close the program, or ignore this)"
        )
    if police:
        warnings.append(
            f"skipped {len(police)} police.uk outcomes or stop-and-search file(s): {names_text(police, limit=5)} (they hold "
            "no crime types; only the street files are read as incidents)"
        )
    if other:
        kinds = sorted({_suffix(f) or "no extension" for f in other})
        warnings.append(
            f"skipped {len(other)} file(s) that are not {what} (of a type not read: {', '.join(kinds)}): "
            f"{names_text(other, limit=5)}; save data files as .csv (or .tsv, .csv.gz, .zip) to have them read"
        )
    return [], warnings


def _is_upload_tuple(obj: Any) -> bool:
    return (
        isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], str)
        and isinstance(obj[1], (bytes, bytearray, memoryview))
    )


#: Deflate's largest possible ratio is about 1,032:1; a gzip trailer claiming more is damaged.
_MAX_DEFLATE_RATIO = 1100


def _claimed_size(source: Source) -> int:
    """What a source says it unpacks to: its size, or for gzip the size in its trailer.

    A trailer is a claim (modulo 4 GiB; a hostile or truncated file can hold anything): one that
    deflate could not produce from the file's size is ignored, and the stream is measured as it
    is unpacked in any case.
    """
    try:
        if source.data is not None:
            size, head = len(source.data), source.data[:2]
            tail = source.data[-4:]
        else:
            with open(source.path, "rb") as fh:  # type: ignore[arg-type]
                head = fh.read(2)
                size = os.fstat(fh.fileno()).st_size
                fh.seek(max(size - 4, 0))
                tail = fh.read(4)
    except OSError:
        return 0  # unreadable: reported when it is read
    if head != b"\x1f\x8b" or size < 18:
        return size
    claimed = struct.unpack("<I", tail)[0]
    return claimed if claimed <= _MAX_DEFLATE_RATIO * size else size


def _check_claimed_sizes(sources: list[Source], what: str, budget: LoadBudget) -> None:
    """Refuse inputs whose files add up to more than the unpacked-size limit, before reading any
    (ZIP members were counted from their archive's directory already)."""
    claimed = sum(_claimed_size(s) for s in sources)
    limit = budget.limits.max_unpacked_bytes
    if budget.unpacked + claimed > limit:
        earlier = f" (with the {size_text(budget.unpacked)} of earlier files in this load)" if budget.unpacked else ""
        raise LimitError(
            f"{what}: unpacks to {size_text(claimed)}{earlier} by its files' sizes and gzip trailers, more than the "
            f"{budget.limits.label} limit of {size_text(limit)} per load. {budget.limits.fix}"
        )


def _gunzip(fileobj: Any, name: str, budget: LoadBudget) -> bytes:
    """Unpack a gzip stream a chunk at a time within the load's limits: never more than the
    unpacked bytes left (plus one), and a CSV is refused as soon as its lines pass the row or
    memory limit."""
    chunks: list[bytes] = []
    total = rows = 0
    left = budget.unpacked_left()
    try:
        with gzip.GzipFile(fileobj=fileobj) as gz:
            while True:
                chunk = gz.read(min(CHUNK_BYTES, left + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > left:
                    budget.add_unpacked(total, name, streamed=True)  # raises: more than the limit
                rows += chunk.count(b"\n")
                budget.check_stream(name, nbytes=total, rows=rows)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{name} is not valid gzip data ({exc}); the file is damaged or truncated. Download it again.") from None
    budget.add_unpacked(total, name)
    return b"".join(chunks)


# --------------------------------------------------------------------------------------------
# Other formats
# --------------------------------------------------------------------------------------------



def bytes_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Binary values (Parquet BYTE_ARRAY without a text type, GeoPackage BLOBs) as text, decoded as
    UTF-8 with undecodable bytes replaced: the loaders treat every column as text or numbers."""
    cols = [c for c in frame.columns if frame[c].dtype == object and str(frame[c].dtype) != "geometry"]
    binary = [c for c in cols if any(isinstance(v, (bytes, bytearray, memoryview)) for v in frame[c].tolist())]
    if not binary:
        return frame
    frame = frame.copy()
    for c in binary:
        frame[c] = frame[c].map(lambda v: bytes(v).decode("utf-8", "replace") if isinstance(v, (bytes, bytearray, memoryview))
                                else v)
    return frame


@within_limits
def read_table(source: Source, *, layer: Any = None) -> Table:
    """Read one source into a :class:`Table`, within the load's limits.

    Raises
    ------
    InputError, SchemaError
        The source cannot be read as its format.
    LimitError
        It has more rows, columns or unpacked bytes, or needs more memory, than the load's
        :class:`~hotspots.io.limits.LoadLimits` leave (checked before it is parsed).
    """
    source.check()
    budget = current_budget()
    budget.check_time(source.name)
    if source.fmt == "csv":
        raw = source.read_bytes()
        rows, columns = csv_shape(raw, source.name, budget)
        budget.admit(source.name, fmt="csv", rows=rows, columns=columns, nbytes=len(raw))
        table = read_csv_bytes(raw, source.name)
    elif source.fmt == "parquet":
        from ._parquet import read_parquet

        table = read_parquet(source)
    elif source.fmt in ("gpkg", "geojson", "shp"):
        from ._gdal import read_geo

        table = read_geo(source, layer=layer)
    else:  # pragma: no cover
        raise ParameterError(f"internal: no reader for format {source.fmt!r}")
    budget.check_time(source.name)
    return table


def frame_table(frame: Any, name: str = "DataFrame") -> Table:
    """A caller's DataFrame/GeoDataFrame as a :class:`Table` (the caller's object is not changed)."""
    import geopandas as gpd

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame or GeoDataFrame, got {type(frame).__name__}.")
    df = frame.copy()
    df.columns = clean_header([str(c) for c in df.columns], name)
    df = df.reset_index(drop=True)
    crs = df.crs if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns else None
    return Table(name=name, frame=df, row_numbers=np.arange(1, len(df) + 1), fmt="frame", crs=crs)
