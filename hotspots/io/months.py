"""The ``Month`` column of police.uk files (and tables like them), in every form a spreadsheet leaves it.

police.uk writes ``2025-06``. A file opened and re-saved in Excel may hold ``Jun-25`` (Excel's
display of that month), ``01/06/2025`` or ``01/06/25`` (UK dates), ``6/1/2025`` (US dates), or
``2025-06-01``. A Month column holding full dates holds each month's *first day*, which decides
the order of an ambiguous ``a/b/yyyy``: the reading that makes every value the 1st wins; when
neither does, the month in a police.uk file name (``2025-06-suffolk-street.csv``) decides; the
choice is always stated in a note.

* :func:`name_month` -- the month a police.uk file's name gives;
* :func:`parse_month_column` -- a Month column as month starts, with notes on how it was read;
* :func:`month_dates` -- the same as a loader step (drops and notes on a report builder);
* :func:`check_name_month` -- rows contradicting their file name's month;
* :func:`repeated_header_rows` -- the header line repeated inside the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..report import ReportBuilder
from ._common import EARLIEST_DATE, as_str, latest_month, month_range_text, parse_dates
from ._table import Table

__all__ = [
    "MONTH_FORMS", "name_month", "month_label", "MonthColumn", "parse_month_column", "month_dates", "check_name_month",
    "repeated_header_rows", "loaded_months_warning", "with_kept_months",
]

#: The forms a Month column may take, for messages.
MONTH_FORMS = "a month such as 2025-06, Jun 2025, Jun-25, 06/2025, 01/06/2025 or 01/06/25"

_NAME = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])-")
_ANY_NAME = re.compile(r"(?:^|[^0-9])((?:19|20)\d{2})-(0[1-9]|1[0-2])(?:[^0-9]|$)")
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH_NAMES = {**{m: i for i, m in enumerate(_MONTHS, 1)}, **{m[:3]: i for i, m in enumerate(_MONTHS, 1)}, "sept": 9}
_YM = re.compile(r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})$")
_MY = re.compile(r"^(?P<m>\d{1,2})[/.-](?P<y>\d{4})$")  # 06/2025: a month, UK order
_NAMED = re.compile(r"^(?:(?P<d>\d{1,2})[ -])?(?P<name>[A-Za-z]{3,9})[ -](?P<y>\d{2}|\d{4})$")
_ISO = re.compile(r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_NUMERIC = re.compile(
    r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{2}|\d{4})(?:,?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?$"
)


def name_month(name: str, anywhere: bool = False) -> int | None:
    """The month a monthly file's name gives (``2025-06-suffolk-street.csv`` -> 2025 * 12 + 5), or None.

    The one month-from-file-name rule of the product. Only the file's own name counts (folders in ``name``,
    ``/`` or ``\\``, are ignored).

    Parameters
    ----------
    name : str
        A file name or path.
    anywhere : bool, default False
        False: the name must start ``YYYY-MM-`` as police.uk names do. This strict form is what rows are
        checked against (:func:`check_name_month`), so a name that merely holds a date never drops rows.
        True: a ``YYYY-MM`` (years 1900-2099) anywhere in the name, not inside a longer number
        (``asb 2025-04 (copy).csv``); used only to say which month a lost file was meant to hold.

    Examples
    --------
    >>> name_month("2025/2025-06-suffolk-street (1).csv"), name_month("a.csv")
    (24305, None)
    >>> name_month("asb 2025-04.csv"), name_month("asb 2025-04.csv", anywhere=True)
    (None, 24303)
    """
    base = re.split(r"[/\\]", str(name))[-1]
    m = (_ANY_NAME.search if anywhere else _NAME.match)(base)
    return None if m is None else int(m.group(1)) * 12 + int(m.group(2)) - 1


def month_label(month: int) -> str:
    """``YYYY-MM`` of a month number ``year * 12 + month - 1``."""
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


@dataclass
class MonthColumn:
    """A parsed Month column (:func:`parse_month_column`).

    Attributes
    ----------
    month : ndarray of int64
        Each row's month as ``year * 12 + month - 1``; -1 where blank or unparseable.
    blank, bad : ndarray of bool
        Blank values; values in no accepted form (or not a real month).
    notes : list of str
        How ambiguous values were read (month-first dates, two-digit years).
    """

    month: np.ndarray
    blank: np.ndarray
    bad: np.ndarray
    notes: list[str] = field(default_factory=list)

    def starts(self) -> pd.Series:
        """Each row's month as its first day (``datetime64[ns]``; NaT where blank or unparseable)."""
        m = self.month
        ok = m >= 0
        out = np.full(len(m), np.datetime64("NaT"), dtype="datetime64[M]")
        out[ok] = (m[ok] - 1970 * 12).astype("datetime64[M]")
        return pd.Series(out.astype("datetime64[ns]"))


def _year(text: pd.Series) -> np.ndarray:
    y = text.astype(int).to_numpy()
    return np.where(y < 100, 2000 + y, y)  # a two-digit year is this century's (Excel's Jun-25, 01/06/25)


def _numeric_order(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, w: np.ndarray, file_month: int | None, example: str
) -> tuple[bool, str]:
    """Whether the ``a/b/yyyy`` values (each ``w`` rows) are month-first, and a note when that was not the UK
    day-first reading of first-of-month dates (``""`` otherwise)."""
    day_first_ok = bool((b <= 12).all() and (b >= 1).all())
    month_first_ok = bool((a <= 12).all() and (a >= 1).all())
    if not month_first_ok:
        return False, ""
    if not day_first_ok:
        return True, f"`Month` values such as {example!r} can only be month-first (US style) dates: read that way"
    a1, b1 = bool((a == 1).all()), bool((b == 1).all())
    if a1:  # 01/06/2025: the 1st of each month, day first (also 1/1/2025, the same either way)
        return False, ""
    if b1:
        return True, (
            "`Month` holds US-style dates (m/1/yyyy): every value's second number is 1, a month's first day, so they "
            "were read month-first (6/1/2025 = Jun 2025)"
        )
    if file_month is not None:
        dm, mm = y * 12 + b - 1, y * 12 + a - 1
        if int(w[mm == file_month].sum()) > int(w[dm == file_month].sum()):
            return True, (
                f"`Month` values such as {example!r} were read month-first (US style), as the file name's month "
                f"{month_label(file_month)} says"
            )
        if int(w[dm == file_month].sum()) > 0:
            return False, (
                f"`Month` values such as {example!r} were read day-first (UK style), as the file name's month "
                f"{month_label(file_month)} says"
            )
    return False, f"`Month` values such as {example!r} are ambiguous (not each month's 1st): read day-first (UK style)"


def parse_month_column(series: pd.Series, *, file_month: int | None = None) -> MonthColumn:
    """Read a Month column written as police.uk writes it or as a spreadsheet re-saved it.

    Accepted: ``2025-06``, ``2025/06``, ``Jun 2025``, ``June 2025``, ``Jun-25`` (two-digit years
    are 20xx), ``1-Jun-25``, ``2025-06-01`` (with a time or not), and ``a/b/yyyy`` or ``a/b/yy``
    (``/``, ``.`` or ``-``), Excel day numbers (``45809``), and any other date
    :func:`hotspots.io._common.parse_dates` reads. A date gives its month. ``a/b/yyyy`` values are read over the
    whole column: day-first (UK) unless every value's second number is 1 and the first is not (US
    dates of a month's 1st, ``6/1/2025``), or only month-first fits; when the values are not each
    month's 1st, ``file_month`` (:func:`name_month`) decides; each such choice gives a note.

    Parameters
    ----------
    series : Series
        The column as read (text, or datetimes from a typed format).
    file_month : int, optional
        The month the file's name gives, ``year * 12 + month - 1``.

    Returns
    -------
    MonthColumn

    Examples
    --------
    >>> c = parse_month_column(pd.Series(["6/1/2025", "7/1/2025", "Jun-25", ""]))
    >>> [month_label(m) for m in c.month[:3]], c.blank.tolist(), c.notes[0][:28]
    (['2025-06', '2025-07', '2025-06'], [False, False, False, True], '`Month` holds US-style dates')
    """
    n = len(series)
    month = np.full(n, -1, dtype=np.int64)
    notes: list[str] = []
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        v = pd.Series(series).reset_index(drop=True)
        blank = v.isna().to_numpy()
        month[~blank] = (v[~blank].dt.year * 12 + v[~blank].dt.month - 1).to_numpy()
        return MonthColumn(month, blank, np.zeros(n, dtype=bool), notes)
    codes, uniq = pd.factorize(pd.Series(series).reset_index(drop=True), use_na_sentinel=True)  # few distinct values
    weights = np.bincount(codes[codes >= 0], minlength=len(uniq))
    um, ublank = _parse_values(pd.Series(uniq, dtype=object), weights, file_month, notes)
    ok = codes >= 0
    month[ok] = um[codes[ok]]
    blank = ~ok
    blank[ok] = ublank[codes[ok]]
    return MonthColumn(month, blank, ~blank & (month < 0), notes)


def _parse_values(
    values: pd.Series, weights: np.ndarray, file_month: int | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_month_column` of distinct text ``values`` (each ``weights`` rows): their months (-1: blank or
    unparseable) and which are blank; notes appended to ``notes``."""
    month = np.full(len(values), -1, dtype=np.int64)
    s = as_str(values).reset_index(drop=True).str.strip()
    blank = (s.isna() | (s == "")).to_numpy()
    text = s.fillna("")
    done = blank.copy()
    if done.all():
        return month, blank
    ym = text.str.extract(_YM)
    hit = ym["y"].notna().to_numpy() & ~done
    if hit.any():
        month[hit] = ym["y"][hit].astype(int).to_numpy() * 12 + ym["m"][hit].astype(int).to_numpy() - 1
        month[hit & ~ym["m"].fillna("0").astype(int).between(1, 12).to_numpy()] = -1
        done |= hit
    if done.all():  # police.uk's own form: nothing else to try
        return month, blank
    my = text.str.extract(_MY)
    hit = my["y"].notna().to_numpy() & ~done
    if hit.any():
        m = my["m"][hit].astype(int).to_numpy()
        month[hit] = np.where((m >= 1) & (m <= 12), my["y"][hit].astype(int).to_numpy() * 12 + m - 1, -1)
        done |= hit
    named = text.str.extract(_NAMED)
    key = named["name"].str.lower().map(_MONTH_NAMES)
    hit = key.notna().to_numpy() & ~done
    if hit.any():
        month[hit] = _year(named["y"][hit]) * 12 + key[hit].astype(int).to_numpy() - 1
        done |= hit
    iso = text.str.extract(_ISO)
    hit = iso["y"].notna().to_numpy() & ~done
    if hit.any():
        m = iso["m"][hit].astype(int).to_numpy()
        d = iso["d"][hit].astype(int).to_numpy()
        month[hit] = np.where((m >= 1) & (m <= 12) & (d >= 1) & (d <= 31), iso["y"][hit].astype(int).to_numpy() * 12 + m - 1, -1)
        done |= hit
    num = text.str.extract(_NUMERIC)
    hit = num["y"].notna().to_numpy() & ~done
    if hit.any():
        a = num["a"][hit].astype(int).to_numpy()
        b = num["b"][hit].astype(int).to_numpy()
        y = _year(num["y"][hit])
        month_first, note = _numeric_order(a, b, y, weights[hit], file_month, str(text[hit].iat[0]))
        mo, d = (a, b) if month_first else (b, a)
        month[hit] = np.where((mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31), y * 12 + mo - 1, -1)
        if note:
            notes.append(note)
        done |= hit
    serial = text.str.fullmatch(r"\d{5}(?:\.0+)?").to_numpy(dtype=bool, na_value=False) & ~done
    if serial.any():  # Excel's day number of a date formatted as General (45809 = 2025-06-01)
        day = pd.Timestamp("1899-12-30") + pd.to_timedelta(text[serial].astype(float).astype(int), unit="D")
        month[serial] = (day.dt.year * 12 + day.dt.month - 1).to_numpy()
        notes.append("`Month` values written as Excel day numbers (e.g. 45809 = 1 Jun 2025) were read as those days' months")
        done |= serial
    rest = ~done
    if rest.any():  # any other date form the day-date parser knows (ISO with a UTC offset, "5 Jan 2025 10:30", ...)
        p = parse_dates(text[rest])
        v = p.values
        ok = v.notna().to_numpy()
        got = np.full(int(rest.sum()), -1, dtype=np.int64)
        got[ok] = (v[ok].dt.year * 12 + v[ok].dt.month - 1).to_numpy()
        month[rest] = got
    two_digit = (named["y"].str.len() == 2) | (num["y"].str.len() == 2)
    if (two_digit.to_numpy() & ~blank & (month >= 0)).any():
        notes.append("`Month` values with a two-digit year (e.g. Jun-25 or 01/06/25, as Excel shows them) were read as 20xx")
    return month, blank


def month_dates(table: Table, b: ReportBuilder, col: str, *, file_month: int | None = None) -> tuple[pd.Series, pd.Series]:
    """A loader step: the Month column ``col`` of ``table`` as (month start, occurred) ``datetime64[ns]``
    Series, ``occurred`` all NaT (a month says no day).

    Drops ``missing date`` (blank), ``unparseable date`` (no accepted form, :data:`MONTH_FORMS`)
    and ``date out of range`` (before 1990 or after the current month: a month yet to come holds no
    incidents; each example gives the value and the range); notes how ambiguous values
    were read (:func:`parse_month_column`).
    """
    frame = table.frame
    c = parse_month_column(frame[col], file_month=file_month)
    b.drop(c.blank, "missing date")

    def detail(idx: np.ndarray) -> list[str]:
        return [f"Month {str(frame[col].iat[int(i)])[:30]!r}: expected {MONTH_FORMS}" for i in idx]

    b.drop(c.bad, "unparseable date", detail=detail)
    month = c.starts()
    out = (month.notna() & ((month < EARLIEST_DATE) | (month > latest_month()))).to_numpy()

    b.drop(out, "date out of range", detail=lambda idx: [f"Month {str(frame[col].iat[int(i)])[:30]!r}" for i in idx])
    if out.any():
        b.warn(f"{table.name}: {int(out.sum()):,} row(s) dropped as 'date out of range': Month "
               f"{str(frame[col].iat[int(np.flatnonzero(out)[0])])[:30]!r}, {month_range_text()}")
    for note in c.notes:  # the same reading in every file is one note
        b.note(note if "m/1/yyyy" in note or "two-digit" in note or "Excel day" in note else f"{table.name}: {note}")
    month = month.where(~out)
    return month.astype("datetime64[ns]"), pd.Series(pd.NaT, index=month.index, dtype="datetime64[ns]")


def check_name_month(table: Table, b: ReportBuilder, month: pd.Series, col: str, file_month: int | None) -> int:
    """Rows whose month contradicts the month their police.uk file's name gives.

    When most dated rows agree with the name, the others are mistyped and dropped as ``month
    differs from file name`` (each example names its line, its value and the file's month), with a
    warning. When most disagree, the name is wrong: a warning only, and the rows keep their Month.

    Returns
    -------
    int
        Rows dropped.
    """
    if file_month is None:
        return 0
    v = month.to_numpy(dtype="datetime64[ns]")
    dated = b.alive & ~np.isnat(v)
    if not dated.any():
        return 0
    m = np.full(len(v), -1, dtype=np.int64)
    m[dated] = v[dated].astype("datetime64[M]").astype(np.int64) + 1970 * 12
    differ = dated & (m != file_month)
    if not differ.any():
        return 0
    named = month_label(file_month)
    if int(differ.sum()) * 2 < int(dated.sum()):
        frame = table.frame

        def detail(idx: np.ndarray) -> list[str]:
            return [f"Month {str(frame[col].iat[int(i)])[:30]!r} in a file named for {named}" for i in idx]

        gone = b.drop(differ, "month differs from file name", detail=detail)
        held = sorted({month_label(int(x)) for x in m[gone]})
        b.warn(
            f"{table.name}: {int(gone.sum()):,} row(s) dated {', '.join(held[:5])} in a file whose name and other rows say "
            f"{named}: dropped as 'month differs from file name' (mistyped Months); correct their Month to {named} or "
            "move them to their own month's file"
        )
        return int(gone.sum())
    held = pd.Series(m[dated]).value_counts().index[0]
    b.warn(
        f"{table.name}: its name says {named} but {int(differ.sum()):,} of {int(dated.sum()):,} rows are dated otherwise "
        f"(mostly {month_label(int(held))}): the file name looks wrong; rows kept by their Month. Rename the file to "
        "its rows' month"
    )
    return 0


def repeated_header_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows that repeat the header line (two files pasted together): most of their non-blank
    values, and at least two, are their own column's name (any case, ``_`` for spaces)."""
    n = len(frame)
    out = np.zeros(n, dtype=bool)
    cols = [c for c in frame.columns if isinstance(c, str) and frame[c].dtype.name != "geometry"]
    if n == 0 or len(cols) < 2:
        return out

    def named(s: pd.Series, col: str) -> np.ndarray:
        name = col.strip()
        forms = {name, name.lower(), name.upper(), name.title(), name.replace(" ", "_"), name.lower().replace(" ", "_")}
        return s.isin(forms | {f" {f}" for f in forms} | {f"{f} " for f in forms}).to_numpy()

    # a header line holds its first columns' names: only those rows are looked at further
    cand = np.flatnonzero(named(frame[cols[0]], cols[0]) | named(frame[cols[1]], cols[1]))
    if not cand.size:
        return out
    sub = frame.iloc[cand]
    same = np.zeros(cand.size, dtype=np.int64)
    filled = np.zeros(cand.size, dtype=np.int64)
    for col in cols:
        s = sub[col]
        filled += (s.notna() & (s.astype("str").str.strip() != "")).to_numpy()
        same += named(s, col)
    out[cand] = (same >= 2) & (same * 2 > filled)
    return out


def month_column_attrs(month: pd.Series) -> dict[str, Any]:
    """The main (commonest) month of a file's rows as ``{"main_month": year * 12 + month - 1}`` (``{}`` when none is dated)."""
    v = month.dropna()
    if not len(v):
        return {}
    k = (v.dt.year * 12 + v.dt.month - 1).value_counts()
    return {"main_month": int(k.index[0])}


def loaded_months_warning(data: pd.DataFrame, keep_months: Any = ()) -> str:
    """The incident loaders' warning on the months loaded: :func:`hotspots.coverage.loaded_months_note`
    of the ``month`` (and ``category``, ``force``) columns every incident loader fills.

    Parameters
    ----------
    data : DataFrame
        Loaded incidents.
    keep_months : iterable of "YYYY-MM"
        Months the user says are complete (``Settings.keep_months``, ``--keep-months``): a month
        published in part is then not said to be left out, and what the keeping did is said
        (:func:`hotspots.preparation.kept_months_note`: a kept month with no data stays out). The
        loaders warn without; a command that knows the months kept says the warning again with them.

    Returns
    -------
    str
        ``""`` when there is nothing to say.
    """
    from ..coverage import loaded_months_note, month_number
    from ..incident_time import month_numbers

    if not len(data) or "month" not in data.columns:
        return ""
    keep = [month_number(str(k)) for k in (keep_months or ())]
    month = month_numbers(data["month"].to_numpy(dtype="datetime64[ns]"))
    cats = data["category"].to_numpy() if "category" in data.columns else None
    forces = data["force"].to_numpy() if "force" in data.columns else None  # a force's missing file, said as such
    note = loaded_months_note(month, cats, forces, keep=keep)
    if keep:
        from ..preparation import kept_months_note

        note = "; ".join(n for n in (note, kept_months_note(keep, month)) if n)
    return note


def with_kept_months(loaded: Any, keep_months: Any) -> Any:
    """``loaded`` (an :class:`hotspots.io.IncidentSet`) with its report's months warning said anew for
    the months kept (:func:`loaded_months_warning`): the warning that June is left out, when
    ``--keep-months`` keeps June, contradicted the change the run then computed. Unchanged without
    ``keep_months``."""
    import dataclasses

    if not keep_months:
        return loaded
    report = loaded.report
    old, new = loaded_months_warning(loaded.data), loaded_months_warning(loaded.data, keep_months)
    warnings = [new if w == old else w for w in report.warnings if w != old or new]
    if new and new not in warnings:
        warnings.append(new)
    return dataclasses.replace(loaded, report=dataclasses.replace(report, warnings=warnings))
