"""Reading inputs into tables: paths, folders, archives, uploads; CSV parsing; data formats.

Everything here turns "something the user gave us" into :class:`Table` objects (a pandas
DataFrame plus the row numbers and malformed-row counts a :class:`~hotspots.report.LoadReport`
needs). Nothing here knows about incidents or referrals.

Safety: only data formats are parsed (CSV, gzip-compressed CSV, ZIP archives of those, Parquet,
GeoPackage, GeoJSON, and Shapefile for boundaries). Nothing is ever unpickled; files that look
like pickles or spreadsheets are refused with a message naming the file. Every read stays within
the load's :class:`~hotspots.io.limits.LoadLimits`: archive directories, gzip streams, Parquet
footers and SQLite catalogues are measured before a table is parsed, and GeoPackage views (SQL run
on every read) are refused.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from .._errors import InputError, LimitError, ParameterError, SchemaError
from .limits import MAX_HEADER_BYTES, LoadBudget, current_budget, size_text, within_limits

__all__ = [
    "Upload",
    "Source",
    "Table",
    "resolve_sources",
    "read_table",
    "read_csv_bytes",
    "SUPPORTED_FORMATS",
]

#: Bytes unpacked at a time from a ZIP member or gzip stream (the limits are checked after each).
CHUNK_BYTES = 8 * 1024**2

#: File formats the loaders parse, by file-name ending.
SUPPORTED_FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
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

# police.uk monthly file names: 2025-01-derbyshire-street.csv (also -outcomes, -stop-and-search).
_POLICE_NAME = re.compile(r"^\d{4}-\d{2}-[a-z0-9-]+-(street|outcomes|stop-and-search)\.csv(\.gz)?$", re.I)


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


@dataclass
class Table:
    """A table read from one source, before any interpretation.

    ``frame`` holds the data rows (all ``str`` columns for CSV; typed columns, and possibly a
    geometry column, for Parquet/GeoPackage/GeoJSON). ``row_numbers`` gives each frame row's
    1-based data-row number in the source; ``malformed`` counts rows that could not be split into
    the header's fields (they are part of the rows read but never become frame rows).
    """

    name: str
    frame: pd.DataFrame
    row_numbers: np.ndarray
    fmt: str
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    crs: Any = None  # CRS of the geometry column, when the format carries one

    @property
    def rows_read(self) -> int:
        return len(self.frame) + self.malformed


# --------------------------------------------------------------------------------------------
# Resolving inputs into sources
# --------------------------------------------------------------------------------------------


def _suffix(name: str) -> str:
    low = name.lower()
    if low.endswith(".csv.gz"):
        return ".csv.gz"
    return PurePosixPath(low).suffix


def _fmt_for(name: str, *, allowed: Iterable[str]) -> str:
    suf = _suffix(name)
    if suf in _REFUSED:
        extra = " Files are parsed as data only and never unpickled." if "pickle" in _REFUSED[suf] else ""
        raise InputError(f"{name} is {_REFUSED[suf]}, which hotspots does not read.{extra} {_FIX_FORMATS}")
    fmt = SUPPORTED_FORMATS.get(suf)
    allowed = set(allowed)
    if fmt is None or fmt not in allowed:
        kinds = sorted(k for k, v in SUPPORTED_FORMATS.items() if v in allowed)
        raise InputError(
            f"{name}: unsupported file type {suf or '(no extension)'!r}. Accepted here: {', '.join(kinds)}. "
            f"{_FIX_FORMATS}"
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


def _upload_parts(obj: Any) -> tuple[str, bytes] | None:
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
    parts = PurePosixPath(member).parts
    base = parts[-1] if parts else member
    return member.endswith("/") or "__MACOSX" in parts or base.startswith("._") or base.startswith(".")


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
        wanted = [i for i in infos if _zip_member_fmt(i.filename, allowed) is not None]
        budget.add_files(len(wanted), name)
        # The directory's sizes are what zipfile unpacks at most (it stops at the stated size), so
        # the limit holds before anything is unpacked.
        budget.add_unpacked(sum(i.file_size for i in wanted), f"{name} (from its directory)")
        for info in sorted(infos, key=lambda i: i.filename):
            member = info.filename
            fmt = _zip_member_fmt(member, allowed)
            if fmt is None:
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
    if _POLICE_NAME.match(base) and "-street.csv" not in base.lower():
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
    up = _upload_parts(item)
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
            if fmt is None or fmt not in allowed_set or fmt in ("zip", "shp"):
                skipped.append(str(p))
                continue
            if _POLICE_NAME.match(p.name) and "-street.csv" not in p.name.lower():
                skipped.append(str(p))
                continue
            found.append(Source(name=str(p.relative_to(path.parent)) if p.parent != path else p.name, fmt=fmt, path=p))
        if not found:
            raise InputError(
                f"folder {path} holds no data files "
                f"({', '.join(sorted(k for k, v in SUPPORTED_FORMATS.items() if v in allowed_set))})."
            )
        budget.add_files(len(found), f"folder {path}")
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
# Text decoding and CSV parsing
# --------------------------------------------------------------------------------------------


def decode_text(raw: bytes, name: str) -> tuple[str, str | None]:
    """Decode bytes to text: UTF-8 (BOM removed), UTF-16 with BOM, else cp1252, else latin-1.

    Returns the text and a note when the encoding was not plain UTF-8.
    """
    note = None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name} starts with a UTF-16 byte-order mark but is not valid UTF-16 ({exc.reason}). Save it as UTF-8 CSV."
            ) from None
        return text, f"{name} is UTF-16; decoded it (UTF-8 is preferred)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = f"byte 0x{raw[exc.start]:02x} at position {exc.start}"
        try:
            text = raw.decode("cp1252")
            note = (
                f"{name} is not UTF-8 ({first}); read it as Windows-1252 (cp1252). Check accented letters and symbols "
                "such as £."
            )
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            note = f"{name} is not UTF-8 ({first}); read it as Latin-1 (ISO-8859-1). Check accented letters and symbols."
    if "\x00" in text:
        raise InputError(
            f"{name} contains NUL bytes: it is binary data or UTF-16 without a byte-order mark, not a CSV text "
            "file. Save it as CSV (UTF-8)."
        )
    return text, note


def _sniff_delimiter(first_line: str) -> str:
    if "," in first_line:
        return ","
    for d in (";", "\t", "|"):
        if d in first_line:
            return d
    return ","


def _clean_header(cells: list[str], name: str) -> list[str]:
    header = [str(c).strip().lstrip("\ufeff") for c in cells]
    out = []
    for i, h in enumerate(header):
        out.append(h if h else f"unnamed_{i + 1}")
    seen: dict[str, int] = {}
    dups = []
    for h in out:
        seen[h] = seen.get(h, 0) + 1
        if seen[h] == 2:
            dups.append(h)
    if dups:
        raise SchemaError(
            f"{name}: the header names column(s) {', '.join(f'`{d}`' for d in dups)} more than once. Rename the "
            "duplicates so that every column name is unique."
        )
    return out


def csv_shape(raw: bytes, name: str, budget: LoadBudget | None = None) -> tuple[int, int]:
    """Rows (an upper bound: line breaks) and columns (from the header) of CSV bytes, without
    parsing them; refuses a header with more columns than the load's limit, or longer than
    :data:`~hotspots.io.limits.MAX_HEADER_BYTES`.
    """
    budget = budget or current_budget()
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    nl = raw.find(b"\n", start)
    end = len(raw) if nl < 0 else nl
    # The separators are ASCII in UTF-8, cp1252 and UTF-16 alike.
    text = raw[start : min(end, start + 4096)].decode("latin-1").replace("\x00", "")
    delim = _sniff_delimiter(text)
    columns = raw.count(delim.encode(), start, end) + 1
    if columns > budget.limits.max_columns and end - start <= MAX_HEADER_BYTES:
        try:  # quoted names may hold the separator: count properly before refusing
            line = raw[start:end].decode("latin-1").replace("\x00", "")
            columns = len(next(csv.reader([line], delimiter=delim)))
        except (csv.Error, StopIteration):
            pass
    budget.check_columns(name, columns)
    if end - start > MAX_HEADER_BYTES:
        raise InputError(
            f"{name}: the first line is {size_text(end - start)} long, so it is not a CSV header (column names): "
            f"headers are at most {size_text(MAX_HEADER_BYTES)}. Check that the file is a CSV table with one record per line."
        )
    rows = raw.count(b"\n", start) - (1 if nl >= 0 else 0)
    if raw[-1:] not in (b"\n", b"") and nl >= 0:
        rows += 1  # a last row without a line break
    return max(rows, 0), columns


def read_csv_bytes(raw: bytes, name: str) -> Table:
    """Parse CSV bytes into a :class:`Table` of string columns, tolerating damage.

    The fast path uses pyarrow's CSV reader (quoted fields, embedded newlines and quotes). If
    pyarrow rejects the file or finds rows whose field count differs from the header, the file
    is parsed again with Python's :mod:`csv` module, which reports each such row as a
    *malformed row* with its line number instead of failing. Blank lines are ignored (they are
    not rows).

    Raises
    ------
    InputError
        The file is empty, binary, or has no header.
    """
    text, enc_note = decode_text(raw, name)
    notes = [enc_note] if enc_note else []
    stripped = text.strip()
    if not stripped:
        raise InputError(f"{name} is empty: it has no header and no rows. Choose a file with data in it.")
    first_nl = text.find("\n")
    first_line = text if first_nl < 0 else text[:first_nl]
    delim = _sniff_delimiter(first_line)
    if delim != ",":
        notes.append(f"{name} uses {'tab' if delim == chr(9) else repr(delim)} as the field separator")
    table = _read_fast(text.encode("utf-8") if enc_note else raw, name, delim)
    if table is None:
        # Python's csv module needs more memory than pyarrow's reader: check again before using it.
        rows, columns = csv_shape(raw, name)
        current_budget().admit(name, fmt="csv", rows=rows, columns=columns, nbytes=len(raw), slow=True, count=False)
        table = _read_slow(text, name, delim)
    table.notes = notes + table.notes
    return table


def _read_fast(data: bytes, name: str, delim: str) -> Table | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    bad = [0]

    def on_bad(_row: Any) -> str:
        bad[0] += 1
        return "skip"

    try:
        first = next(csv.reader(io.StringIO(data[: 1 << 16].decode("utf-8", errors="replace"), newline=""), delimiter=delim))
    except (StopIteration, csv.Error):
        return None
    ncol = len(first)
    try:
        t = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=on_bad),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(ncol)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except Exception:  # noqa: BLE001 - any pyarrow complaint sends us to the tolerant reader
        return None
    if bad[0] or t.num_columns != ncol or t.num_rows == 0:
        return None
    df = t.to_pandas()
    header = _clean_header([str(v) for v in df.iloc[0].tolist()], name)
    df = df.iloc[1:].reset_index(drop=True)
    df.columns = header
    return Table(name=name, frame=df, row_numbers=np.arange(1, len(df) + 1), fmt="csv")


def _read_slow(text: str, name: str, delim: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed = 0
    examples: list[str] = []
    record = 0
    prev_line = 0
    budget = current_budget()
    while True:
        start_line = prev_line + 1
        if record % 65536 == 65535:
            budget.check_time(name)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num == prev_line:  # no progress: give up on the rest
                raise InputError(f"{name}: cannot parse line {start_line} ({exc}). Check the file's quoting.") from None
            prev_line = reader.line_num
            if header is None:
                raise InputError(
                    f"{name}: the header line cannot be parsed ({exc}). The first line must hold the column names."
                ) from None
            record += 1
            malformed += 1
            if len(examples) < 5:
                examples.append(f"{name}:line {start_line} ({exc})")
            continue
        prev_line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if header is None:
            header = _clean_header(row, name)
            continue
        record += 1
        if len(row) != len(header):
            # A trailing empty field (line ending with the separator) is harmless.
            if len(row) == len(header) + 1 and row[-1] == "":
                row = row[:-1]
            else:
                malformed += 1
                if len(examples) < 5:
                    examples.append(f"{name}:line {start_line} ({len(row)} fields, header has {len(header)})")
                continue
        rows.append(row)
        numbers.append(record)
    if header is None:
        raise InputError(f"{name} is empty: it has no header and no rows. Choose a file with data in it.")
    if rows:
        df = pd.DataFrame(rows, columns=header, dtype="str")
    else:
        df = pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    return Table(
        name=name,
        frame=df,
        row_numbers=np.asarray(numbers, dtype=np.int64),
        fmt="csv",
        malformed=malformed,
        malformed_examples=examples,
    )


# --------------------------------------------------------------------------------------------
# Other formats
# --------------------------------------------------------------------------------------------


def header_of(source: Source) -> list[str] | None:
    """Column names of a CSV source (from its first line), or None when not readable as CSV."""
    if source.fmt != "csv":
        return None
    try:
        head = source.head()
    except InputError:
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    line = text.splitlines()[0] if text.strip() else ""
    if not line:
        return None
    try:
        cells = next(csv.reader([line], delimiter=_sniff_delimiter(line)))
    except (csv.Error, StopIteration):
        return None
    return [c.strip() for c in cells]


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
    df.columns = _clean_header([str(c) for c in df.columns], name)
    df = df.reset_index(drop=True)
    crs = df.crs if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns else None
    return Table(name=name, frame=df, row_numbers=np.arange(1, len(df) + 1), fmt="frame", crs=crs)
