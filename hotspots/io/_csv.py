"""CSV text: decoding (UTF-8, UTF-16, cp1252, Latin-1), delimiter and header checks, and parsing
that tolerates damaged rows (pyarrow first, Python's :mod:`csv` for the rows pyarrow refuses).

Every parse stays within the load's :class:`~hotspots.io.limits.LoadLimits`: :func:`csv_shape`
measures rows and columns from the bytes before anything is parsed.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .._errors import InputError, SchemaError
from ..validation import counted
from ._table import Table
from .limits import MAX_HEADER_BYTES, LoadBudget, current_budget, size_text

if TYPE_CHECKING:
    from ._read import Source

__all__ = ["clean_header", "csv_shape", "decode_text", "header_of", "read_csv_bytes", "sniff_delimiter"]




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


def sniff_delimiter(first_line: str) -> str:
    if "," in first_line:
        return ","
    for d in (";", "\t", "|"):
        if d in first_line:
            return d
    return ","


def clean_header(cells: list[str], name: str) -> list[str]:
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
    delim = sniff_delimiter(text)
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
    *malformed row* with its line number instead of failing; a row ending up to
    :data:`MISSING_TRAILING` fields early is read with them empty (a note counts them). Blank
    lines between rows are counted (:attr:`Table.blank_lines`: the loaders drop them as empty rows,
    as a line of only separators); blank lines at the end are not rows.

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
    warnings = []
    if skip := title_lines(text):
        # blanked, not cut: blank lines are not rows, so every line number stays the file's
        title = text.splitlines()[0].strip().strip(",;\t|").strip('"')
        warnings.append(
            f"{name}: line{'s 1 to ' + str(skip) if skip > 1 else ' 1'} ({title[:60]!r}) {'are' if skip > 1 else 'is'} a "
            f"title above the header; the header was read from line {skip + 1}"
        )
        at = 0
        for _ in range(skip):
            at = text.index("\n", at) + 1
        text = "\n" * skip + text[at:]
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delim = sniff_delimiter(first_line)
    if delim != ",":
        notes.append(f"{name} uses {'tab' if delim == chr(9) else repr(delim)} as the field separator")
    table = _read_fast(text.encode("utf-8") if enc_note or skip else raw, name, delim)
    if table is None:
        # Python's csv module needs more memory than pyarrow's reader: check again before using it.
        rows, columns = csv_shape(raw, name)
        current_budget().admit(name, fmt="csv", rows=rows, columns=columns, nbytes=len(raw), slow=True, count=False)
        table = _read_slow(text, name, delim)
    table.notes = notes + table.notes
    table.warnings = warnings + table.warnings
    return table


def title_lines(text: str, look: int = 5) -> int:
    r"""How many lines at the top of a CSV text are a title above the header (0 when none).

    The first line must hold at most one filled cell (``"Suffolk ASB export June 2025,,,"``);
    the header is the first later line, among the first ``look``, with three or more filled cells,
    none of them a number, followed by a line with as many fields. Lines between hold at most one
    filled cell too.

    Examples
    --------
    >>> title_lines("My export,,\nCrime ID,Month,Longitude\n,2025-06,-1.4\n")
    1
    >>> title_lines("Crime ID,Month,Longitude\n,2025-06,-1.4\n")
    0
    """
    lines = text[:1 << 16].splitlines()[: look + 2]

    def cells(line: str) -> list[str]:
        try:
            return next(csv.reader([line], delimiter=sniff_delimiter(line)), [])
        except csv.Error:
            return []

    def filled(line: str) -> list[str]:
        return [c.strip() for c in cells(line) if c.strip()]

    if len(lines) < 3 or len(filled(lines[0])) > 1:
        return 0
    for i in range(1, min(look, len(lines) - 1)):
        head = filled(lines[i])
        if len(head) <= 1:
            continue
        numeric = any(_is_number(c) for c in head)
        if len(head) >= 3 and not numeric and len(cells(lines[i + 1])) == len(cells(lines[i])):
            return i
        return 0
    return 0


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


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
    lines = _record_lines(data, t)
    if lines is None:
        return None  # blank lines between rows: the tolerant reader numbers them exactly
    if _swallows_rows(data, lines, delim, ncol):
        return None  # an unbalanced quote ran over rows: the tolerant reader reads them line by line
    df = t.to_pandas()
    header = clean_header([str(v) for v in df.iloc[0].tolist()], name)
    df = df.iloc[1:].reset_index(drop=True)
    df.columns = header
    return Table(name=name, frame=df, row_numbers=lines[1:], fmt="csv")


def _record_lines(data: bytes, t: Any) -> np.ndarray | None:
    """The file line each record of ``t`` (header included) starts on, or None when the file has
    blank lines between its records (which pyarrow skips without saying where).

    A record spans one line plus the line breaks inside its quoted values.
    """
    import pyarrow.compute as pc

    spans = np.ones(t.num_rows, dtype=np.int64)
    if b'"' in data:  # line breaks can only be inside quoted values
        for col in t.columns:
            spans += np.asarray(pc.count_substring(col, "\n").to_numpy(zero_copy_only=False), dtype=np.int64)
    body = data.rstrip(b"\r\n")
    if body.count(b"\n") + 1 != int(spans.sum()):
        return None
    return np.concatenate([[1], 1 + np.cumsum(spans)[:-1]])


#: A row with up to this many fields fewer than the header, all at its end, is read with them empty (police.uk's
#: last two columns, ``Last outcome category`` and ``Context``, are often empty and lost by hand-edited files);
#: a shorter one is a malformed row.
MISSING_TRAILING = 2


def _fit(row: list[str], ncol: int) -> list[str] | None:
    """``row`` when it has the header's ``ncol`` fields (a trailing empty field, from a line ending with
    the separator, is dropped), else None."""
    if len(row) == ncol + 1 and row[-1] == "":
        return row[:-1]
    return row if len(row) == ncol else None


def _one_line(line: str, delim: str, ncol: int) -> tuple[list[str] | None, str]:
    """One physical line parsed on its own: its row (``[]`` for a blank line) and ``""``, or None and why
    it is malformed."""
    try:
        row = next(csv.reader([line], delimiter=delim, strict=False), [])
    except csv.Error as exc:
        return None, str(exc)
    if not row or (len(row) == 1 and not row[0].strip()):
        return [], ""
    fitted = _fit(row, ncol)
    if fitted is not None:
        return fitted, ""
    try:
        next(csv.reader([line], delimiter=delim, strict=True), [])
    except csv.Error:
        return None, 'a quote (") opens a field and is never closed on this line'
    return None, f"{counted(len(row), 'field')}, header has {ncol}"


def _swallowed(lines: list[str], delim: str, ncol: int) -> bool:
    """True when a record spanning ``lines`` is an unbalanced quote's doing, not a value with line breaks.

    The one rule for both parsers: a record over several lines whose quotes do not pair up (one
    ran to the end of the file), or whose later lines include a well-formed row on its own (the
    header's field count), has swallowed those rows: a stray quote opened a field that the next
    quote in the file closed. Such a stretch is read again line by line (:func:`_read_slow`); a
    balanced record over several lines (a value with line breaks) stays one record.
    """
    if len(lines) < 2:
        return False
    if sum(line.count('"') for line in lines) % 2:
        return True  # a quote never closed: it ran to the end of the file (or to the field limit)
    return any(_one_line(line, delim, ncol)[0] for line in lines[1:])


def _swallows_rows(data: bytes, starts: np.ndarray, delim: str, ncol: int) -> bool:
    """True when a record pyarrow read over several lines (``starts``: each record's first line, header
    included) has :func:`_swallowed` well-formed rows."""
    total = data.rstrip(b"\r\n").count(b"\n") + 1
    spans = np.diff(np.append(starts, total + 1))
    if int(spans.max(initial=1)) <= 1:
        return False
    physical = data.decode("utf-8", errors="replace").split("\n")
    multi = spans > 1
    pairs = zip(starts[multi].tolist(), spans[multi].tolist())
    return any(_swallowed(physical[s - 1 : s - 1 + n], delim, ncol) for s, n in pairs)


def _read_slow(text: str, name: str, delim: str) -> Table:
    """Parse ``text`` with Python's :mod:`csv`, counting damaged rows instead of failing.

    A record that runs over several lines and fails to parse (the field limit) or has
    :func:`_swallowed` rows is read again line by line: an unbalanced quote then costs its own line only, each following
    well-formed line is kept, and every data line of the file is counted as read.
    """
    consumed: list[str] = []

    def physical_lines() -> Any:
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(physical_lines(), delimiter=delim, strict=False)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    malformed = 0
    examples: list[str] = []
    blanks: list[int] = []  # blank lines after the header: counted as empty rows, as a line of only commas is
    short: list[int] = []
    record = 0
    prev_line = 0
    budget = current_budget()

    def bad(line_no: int, why: str) -> None:
        nonlocal malformed
        malformed += 1
        if len(examples) < 5:
            examples.append(f"{name}:line {line_no} ({why})")

    while True:
        start_line = prev_line + 1
        if record % 65536 == 65535:
            budget.check_time(name)
        consumed.clear()
        error: csv.Error | None = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num == prev_line:  # no progress: give up on the rest
                raise InputError(f"{name}: cannot parse line {start_line} ({exc}). Check the file's quoting.") from None
            if header is None:
                raise InputError(
                    f"{name}: the header line cannot be parsed ({exc}). The first line must hold the column names."
                ) from None
            error, row = exc, []
        prev_line = reader.line_num
        if header is not None and len(consumed) > 1:
            if error is not None or _swallowed(consumed, delim, len(header)):
                # an unbalanced quote ran over the lines after it: read each of them on its own
                for k, line in enumerate(list(consumed)):
                    one, why = _one_line(line, delim, len(header))
                    if one == []:
                        blanks.append(start_line + k)
                        continue  # blank line
                    record += 1
                    if one is None:
                        if k == 0 and len(consumed) > 1:
                            n_after = len(consumed) - 1
                            were = "was" if n_after == 1 else "were"
                            why += f"; the {counted(n_after, 'line')} after it {were} read one by one"
                        bad(start_line + k, why)
                    else:
                        rows.append(one)
                        numbers.append(start_line + k)
                continue
        if error is not None:
            record += 1
            bad(start_line, str(error))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            if header is not None:
                blanks.append(start_line)
            continue  # blank line
        if header is None:
            header = clean_header(row, name)
            continue
        record += 1
        fitted = _fit(row, len(header))
        if fitted is None and len(header) - MISSING_TRAILING <= len(row) < len(header):
            fitted = row + [""] * (len(header) - len(row))  # its last fields missing: they are empty
            short.append(start_line)
        if fitted is None:
            bad(start_line, f"{counted(len(row), 'field')}, header has {len(header)}")
            continue
        rows.append(fitted)
        numbers.append(start_line)
    if header is None:
        raise InputError(f"{name} is empty: it has no header and no rows. Choose a file with data in it.")
    if rows:
        df = pd.DataFrame(rows, columns=header, dtype="str")
    else:
        df = pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    last = max(numbers, default=0)  # blank lines after the last row end the file: not rows
    inner = [line for line in blanks if line < last]
    notes = [] if not short else [
        f"{name}: {counted(len(short), 'row')} ended early, without the last {MISSING_TRAILING} or fewer fields (e.g. line "
        f"{short[0]}): read with those fields empty"
    ]
    return Table(
        name=name,
        frame=df,
        row_numbers=np.asarray(numbers, dtype=np.int64),
        fmt="csv",
        malformed=malformed,
        malformed_examples=examples,
        blank_lines=len(inner),
        blank_examples=[f"{name}:line {line}" for line in inner[:5]],
        notes=notes,
    )


def header_of(source: Source) -> list[str] | None:
    """Column names of a CSV source (from its first line), or None when not readable as CSV."""
    if source.fmt != "csv":
        return None
    try:
        head = source.head()
    except InputError:
        return None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    line = text.splitlines()[title_lines(text)] if text.strip() else ""
    if not line:
        return None
    try:
        cells = next(csv.reader([line], delimiter=sniff_delimiter(line)))
    except (csv.Error, StopIteration):
        return None
    return [c.strip() for c in cells]
