"""Loader step: a date column read in the day/month order its file's values show (UK or US)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._errors import SchemaError
from ..report import ReportBuilder
from ._common import LOCAL_TZ, as_str, bad_values, date_range_text, day_month_order, parse_dates
from ._read import Table

__all__ = ["MONTH_FIRST_WARNING", "date_order", "dates"]

#: How the warning that a file's numeric dates were read month first begins (:func:`date_order`).
MONTH_FIRST_WARNING = "dates read month first (US order, mm/dd/yyyy)"


def date_order(table: Table, b: ReportBuilder, cols: Sequence[str]) -> bool:
    """Whether the numeric dates (``10/03/2025``) of ``cols`` in ``table`` are month first (US), decided from the values.

    One order for the file: a first number over 12 anywhere means day first (UK), a second number
    over 12 means month first (US); with neither, day first (UK usage). Month first is said in a
    warning naming the column and an example. Evidence both ways (in one column or across the
    file's date columns) raises :class:`~hotspots.SchemaError` naming the columns and rows, as
    either reading would silently swap the day and month of some rows.
    """
    orders = {c: day_month_order(table.frame[c]) for c in dict.fromkeys(cols)}
    rows = np.asarray(table.row_numbers)

    def where(mask: np.ndarray) -> str:
        idx = np.flatnonzero(mask & b.alive)
        shown_rows = ", ".join(str(int(r)) for r in rows[idx[:3]])
        return f"{table.unit}s {shown_rows}{', ...' if len(idx) > 3 else ''}"

    dm = [c for c, o in orders.items() if (o.day_first & b.alive).any()]
    md = [c for c, o in orders.items() if (o.month_first & b.alive).any()]
    if dm and md:
        parts = [f"`{c}` day first (first number over 12) at {where(orders[c].day_first)}" for c in dm]
        parts += [f"`{c}` month first (second number over 12) at {where(orders[c].month_first)}" for c in md]
        raise SchemaError(
            f"{table.name}: the dates mix day/month orders: {'; '.join(parts)}. Either reading would swap the day and "
            "month of some rows. Write every date of the file one way, preferably as YYYY-MM-DD (e.g. 2025-10-03)."
        )
    if md:
        c = md[0]
        i = int(np.flatnonzero(orders[c].month_first & b.alive)[0])
        b.warn(
            f"{MONTH_FIRST_WARNING} in {', '.join(f'`{c}`' for c in orders)}: no date has a first "
            f"number over 12 and some have a second one, e.g. `{c}` {as_str(table.frame[c]).iat[i]} at {table.unit} "
            f"{int(rows[i])}; check them (dates such as 03/10/2025 are read as 10 March)"
        )
    return bool(md)


_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)\s*$"


def uk_clock_warning(values: pd.Series, raw: pd.Series, rows: np.ndarray, col: str) -> str | None:
    """A warning counting the local times (no UTC offset written) of ``rows`` that the UK clock skips
    (the hour lost when clocks go forward: 2025-03-30 01:30) or shows twice (the hour repeated when
    they go back: 2025-10-26 01:30); None when there are none.

    Parameters
    ----------
    values : Series of datetime64
        The parsed values, naive UK local time.
    raw : Series
        The column as written: values with a UTC offset (``Z``, ``+01:00``) are exact and not counted.
    rows : ndarray of bool
        The rows to look at (kept, with a time).
    col : str
        The column's name, for the warning.
    """
    v = pd.Series(values).reset_index(drop=True)
    look = np.asarray(rows, dtype=bool) & v.notna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(v.dtype):
        # the UK clock's changes are of 1916 on; a year such as 9999 (a placeholder) is no local time to check, and
        # does not fit the nanosecond times the check uses (OutOfBoundsDatetime: the loaders' fuzz found it)
        year = v.dt.year.to_numpy(dtype=float, na_value=np.nan)
        look &= (year >= 1900) & (year <= 2200)
    if not pd.api.types.is_datetime64_any_dtype(raw.dtype):
        look &= ~as_str(raw).reset_index(drop=True).str.contains(_OFFSET, regex=True).to_numpy(dtype=bool, na_value=False)
    if not look.any():
        return None
    sub = v[look].astype("datetime64[ns]").dt
    ambiguous = sub.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="shift_forward").isna().to_numpy()
    missing = sub.tz_localize(LOCAL_TZ, ambiguous=np.ones(int(look.sum()), dtype=bool), nonexistent="NaT").isna().to_numpy()
    if not (ambiguous.any() or missing.any()):
        return None
    parts = []
    if missing.any():
        parts.append(f"{int(missing.sum()):,} do not exist on the UK clock (the hour skipped when the clocks go forward, "
                     f"e.g. {v[look][missing].iat[0]:%Y-%m-%d %H:%M})")
    if ambiguous.any():
        parts.append(f"{int(ambiguous.sum()):,} happen twice (the hour repeated when the clocks go back, e.g. "
                     f"{v[look][ambiguous].iat[0]:%Y-%m-%d %H:%M})")
    return (f"`{col}` value(s): {' and '.join(parts)}; kept as written, each uncertain by an hour. Write times with "
            "their UTC offset (e.g. 2025-10-26T01:30+01:00) to make them exact")


def dates(
    table: Table,
    b: ReportBuilder,
    col: str,
    *,
    month_column: bool,
    label: str = "date",
    required: bool = True,
    month_first: bool | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Parse a date column. Returns (month start, occurred) as ``datetime64[ns]`` Series.

    A ``required`` column drops ``missing date`` (blank), ``unparseable date`` and ``date out of
    range`` (before 1990 or more than a year ahead) rows. An optional one (``required=False``,
    ``label`` naming it, e.g. ``contacted_at``) keeps such rows with the value blank, counted in a
    warning with an example. ``month_first`` reads numeric dates as mm/dd (None: decided from this
    column's values, :func:`date_order`). Values read as Excel serial day numbers
    (:func:`~hotspots.io._common.parse_dates`) are kept, with a warning naming the column and how
    many rows were read so, with an example.
    """
    if month_first is None:
        month_first = date_order(table, b, [col])
    p = parse_dates(table.frame[col], month_column=month_column, month_first=month_first)
    excel = p.excel & b.alive
    if excel.any():
        i = int(np.flatnonzero(excel)[0])
        n = int(excel.sum())
        b.warn(
            f"{n:,} `{col}` value(s) are plain numbers read as Excel serial day numbers (1900 date system), e.g. "
            f"{as_str(table.frame[col]).iat[i]} read as {p.values.iat[i]:%Y-%m-%d %H:%M}; check them, and save dates "
            "as dates (e.g. 2025-07-04 08:17) when exporting from the spreadsheet"
        )
    if not month_column and (told := uk_clock_warning(p.values, table.frame[col], b.alive & ~p.month_only, col)):
        b.warn(told)
    form = "a month written YYYY-MM (e.g. 2025-01)" if month_column else "a date such as 2025-01-31, 31/01/2025 or 2025-01"
    far = p.out_of_range()
    if required:
        b.drop(p.blank, "missing date")
        b.drop(p.bad, "unparseable date", detail=bad_values(table.frame, [col], form))
        values = as_str(table.frame[col])
        gone = b.drop(far, "date out of range", detail=lambda idx: [f"{col} {values.iat[int(i)]!r}" for i in idx])
        if gone.any():  # the value and the accepted range (a month after the current one, a year before 1990)
            b.warn(f"{table.name}: {int(gone.sum()):,} row(s) dropped as 'date out of range': `{col}` "
                   f"{as_str(table.frame[col]).iat[int(np.flatnonzero(gone)[0])]!r}, {date_range_text()}")
    else:  # an optional date: the referral stays, with this field not recorded
        for mask, what in ((p.bad, "unparseable"), (far, "out of range (before 1990 or over a year ahead)")):
            hit = mask & b.alive
            if hit.any():
                i = int(np.flatnonzero(hit)[0])
                b.warn(
                    f"{int(hit.sum()):,} `{col}` value(s) {what}, e.g. {as_str(table.frame[col]).iat[i]!r} at "
                    f"{table.unit} {int(np.asarray(table.row_numbers)[i])}: the rows are kept with {label} not recorded; "
                    f"write {form}"
                )
    v = p.values.where(~(p.bad | far))
    month = v.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    occurred = v.where(~p.month_only).astype("datetime64[ns]")
    return month, occurred
