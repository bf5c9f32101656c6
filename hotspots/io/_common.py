"""Shared parsing helpers for the loaders: names, dates, enums, booleans, ids, study areas."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .. import validation
from .._errors import CRSError, ParameterError, SchemaError

#: Dates before this are "out of range" (police.uk street-level data starts in 2010).
EARLIEST_DATE = pd.Timestamp("1990-01-01")
#: Dates later than today plus this many days are "out of range".
FUTURE_DAYS = 365


def latest_month(now: pd.Timestamp | None = None) -> pd.Timestamp:
    """The first day of the current month (of ``now``, default today): the latest month a Month
    column or a month-only date may hold (a month yet to come holds no incidents)."""
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    return now.normalize().replace(day=1)


def month_range_text(now: pd.Timestamp | None = None) -> str:
    """The months accepted, for messages: ``"accepted 1990-01 to 2026-12 (no month after the current one)"``."""
    return f"accepted {EARLIEST_DATE:%Y-%m} to {latest_month(now):%Y-%m} (no month after the current one)"


def date_range_text(now: pd.Timestamp | None = None) -> str:
    """The dates accepted, for messages: from :data:`EARLIEST_DATE` to :data:`FUTURE_DAYS` days ahead."""
    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    latest = now.normalize() + pd.Timedelta(days=FUTURE_DAYS)
    return f"accepted {EARLIEST_DATE:%Y-%m-%d} to {latest:%Y-%m-%d} (a month written alone: to {latest_month(now):%Y-%m})"


#: Timezone that timezone-aware inputs are converted to before the zone is dropped.
LOCAL_TZ = "Europe/London"
#: Plain numbers in this range in a date column are read as Excel serial day numbers (1900 date
#: system: 20000 is 1954-10-03, 80000 is 2119-01-10), the form a date takes when a spreadsheet
#: column formatted as a number is saved as CSV.
EXCEL_SERIAL_RANGE = (20000, 80000)
#: Day 0 of Excel's 1900 date system as it counts after February 1900 (its phantom 29 February 1900
#: is why this is 30 December 1899, not 31 December).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")

_BLANKS = {"", "na", "n/a", "nan", "none", "null", "nat", "-", "#n/a"}


def norm_key(value: Any) -> str:
    """Normalised form of a label or column name: lower case, ``&`` as ``and``, letters and digits only."""
    s = str(value).lower().replace("&", " and ").replace("behavior", "behaviour")
    return re.sub(r"[^a-z0-9]", "", s)


def find_column(columns: Iterable[str], candidates: Sequence[str]) -> str | None:
    """First column whose normalised name equals a candidate's (candidates in priority order)."""
    by_key: dict[str, str] = {}
    for c in columns:
        by_key.setdefault(norm_key(c), c)
    for cand in candidates:
        hit = by_key.get(norm_key(cand))
        if hit is not None:
            return hit
    return None


def as_str(series: pd.Series) -> pd.Series:
    """Values as stripped strings with missing values as NA (for CSV and typed inputs alike)."""
    if isinstance(series.dtype, pd.StringDtype) or series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        s = series.astype("str")
    else:
        s = series.astype("str").where(series.notna(), other=pd.NA)
    s = s.str.strip()
    missing = s.isna().to_numpy().copy()
    short = (s.str.len() <= 4).to_numpy(dtype=bool, na_value=False)
    if short.any():
        missing[short] |= s[short].str.lower().isin(_BLANKS).to_numpy()
    return s.where(~missing, other=pd.NA)


def text_column(frame: pd.DataFrame, col: str | None) -> pd.Series:
    """Column ``col`` of ``frame`` as :func:`as_str` values (index 0..n-1); all NA when ``col`` is None."""
    if col is None:
        return pd.Series([pd.NA] * len(frame), dtype="str")
    return as_str(frame[col]).reset_index(drop=True)


def to_float(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numbers from a column.

    Returns
    -------
    values : ndarray of float
        NaN where blank or unparseable (``inf`` stays ``inf``).
    blank : ndarray of bool
        Missing or empty.
    garbage : ndarray of bool
        Present but not a number.
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        s = as_str(series)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        vals = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        blank = np.isnan(vals) & ~np.isinf(vals)
        return vals, blank, np.zeros(len(vals), dtype=bool)
    else:
        s = as_str(series)
    blank = s.isna().to_numpy()
    vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    garbage = np.isnan(vals) & ~blank
    return vals, blank, garbage


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_T = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
_DATE_PATTERNS: list[tuple[re.Pattern[str], tuple[str, ...], bool, str]] = [
    (re.compile(r"^\d{4}-\d{1,2}$"), ("%Y-%m",), True, "plain"),
    (re.compile(r"^\d{4}/\d{1,2}$"), ("%Y/%m",), True, "plain"),
    (re.compile(r"^[A-Za-z]{3,9}[ -]\d{4}$"), ("%b %Y", "%B %Y"), True, "dash2space"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}" + _T + r"$"), ("ISO8601",), False, "plain"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}" + _T + r"\s*(?:Z|[+-]\d{2}:?\d{2})$"), ("ISO8601",), False, "tz"),
    (
        re.compile(r"^\d{4}/\d{1,2}/\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2})?)?$"),
        ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"),
        False,
        "plain",
    ),
    (
        re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{4}(?:,? \d{1,2}:\d{2}(?::\d{2})?)?$"),
        ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"),
        False,
        "slash",
    ),
    (
        re.compile(r"^\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?$"),
        ("%d %b %Y %H:%M:%S", "%d %b %Y %H:%M", "%d %b %Y", "%d %B %Y %H:%M:%S", "%d %B %Y %H:%M", "%d %B %Y"),
        False,
        "dash2space",
    ),
]


class ParsedDates:
    """Parsed datetimes of one column: values, which rows were month-only, blank, unparseable."""

    def __init__(
        self, values: pd.Series, month_only: np.ndarray, blank: np.ndarray, bad: np.ndarray, excel: np.ndarray | None = None
    ):
        self.values = values  # datetime64[us] naive, NaT where blank/bad
        self.month_only = month_only
        self.blank = blank
        self.bad = bad
        #: Rows read as Excel serial day numbers (:data:`EXCEL_SERIAL_RANGE`).
        self.excel = np.zeros(len(blank), dtype=bool) if excel is None else excel

    def out_of_range(self, now: pd.Timestamp | None = None) -> np.ndarray:
        """Rows before :data:`EARLIEST_DATE`, after :data:`FUTURE_DAYS` days ahead, or a month written
        alone (``2025-06``) after the current month (:func:`latest_month`)."""
        now = pd.Timestamp.now() if now is None else now
        latest = now.normalize() + pd.Timedelta(days=FUTURE_DAYS)
        v = self.values
        late = (v > latest).to_numpy() | (self.month_only & (v > latest_month(now)).to_numpy())
        return (v.notna() & (v < EARLIEST_DATE)).to_numpy() | (v.notna().to_numpy() & late)


def _naive_local(v: pd.Series) -> pd.Series:
    if isinstance(v.dtype, pd.DatetimeTZDtype):
        v = v.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return v.astype("datetime64[us]")


_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{4}")


@dataclass(frozen=True)
class DayMonthOrder:
    """What the numeric ``dd/mm/yyyy``-like values of one column say about their day/month order.

    ``day_first`` rows have a first number over 12 (only day first fits), ``month_first`` rows a
    second number over 12 (only month first fits); both are masks over the column's rows.
    """

    day_first: np.ndarray
    month_first: np.ndarray

    @property
    def order(self) -> str | None:
        """``"day first"``, ``"month first"``, ``"both"`` (evidence each way) or None (no evidence)."""
        d, m = bool(self.day_first.any()), bool(self.month_first.any())
        return "both" if d and m else "day first" if d else "month first" if m else None


def day_month_order(series: pd.Series) -> DayMonthOrder:
    """Decide the day/month order of a column's numeric dates (``10/16/2025``, ``16.10.2025``) from its values.

    A first number over 12 can only be a day (day first, UK); a second number over 12 can only be
    a day (month first, US). Values where both numbers are 12 or less say nothing. Other date
    forms (ISO, ``5 Jan 2025``) are ignored.
    """
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        z = np.zeros(len(series), dtype=bool)
        return DayMonthOrder(z, z.copy())
    parts = as_str(series).reset_index(drop=True).str.extract(_SLASH_DATE)
    a = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    b = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return DayMonthOrder((a > 12) & (b <= 12), (b > 12) & (a <= 12))


def parse_dates(series: pd.Series, *, month_column: bool = False, month_first: bool = False) -> ParsedDates:
    """Parse a date/time column written in any of the common UK and ISO forms.

    Accepted: ``2025-01`` and ``Jan 2025`` (month only), ISO dates and date-times with an
    optional ``T``, seconds, fractions and UTC offset (converted to UK local time), UK
    day-first dates ``05/01/2025`` (also with ``-`` or ``.``) with optional ``HH:MM[:SS]``,
    ``2025/01/05``, ``5 Jan 2025``. Numeric ``05/01/2025`` dates are read day first (UK usage)
    unless ``month_first`` (US usage, ``01/05/2025`` is 5 Jan); :func:`day_month_order` decides
    which a column is from its values.
    A plain number of five digits before any decimals, from 20000 to 80000
    (:data:`EXCEL_SERIAL_RANGE`), is an Excel serial day number (1900 date system, days since
    1899-12-30, the fraction the time of day, rounded to the second: ``45842.34514`` is
    2025-07-03 08:17:00); such rows are flagged in ``ParsedDates.excel`` for the loaders to say so.
    Anything else is unparseable: no guessing with a free-form parser, which would turn
    numbers such as ``3`` into dates.
    """
    n = len(series)
    month_only = np.zeros(n, dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        v = _naive_local(series.reset_index(drop=True))
        blank = v.isna().to_numpy()
        if month_column:
            month_only[:] = True
        return ParsedDates(v, month_only, blank, np.zeros(n, dtype=bool))
    s = as_str(series).reset_index(drop=True)
    blank = s.isna().to_numpy()
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    done = blank.copy()
    if (~done).any():
        filled = s.fillna("")
        for pattern, formats, is_month, mode in _DATE_PATTERNS:
            todo = ~done
            if not todo.any():
                break
            hit = todo & filled.str.match(pattern).to_numpy(dtype=bool, na_value=False)
            if not hit.any():
                continue
            vals = filled[hit]
            if mode == "slash":
                vals = vals.str.replace(r"[.-]", "/", regex=True).str.replace(",", "", regex=False)
                if month_first:
                    formats = tuple(f.replace("%d/%m/", "%m/%d/") for f in formats)
            elif mode == "dash2space":
                vals = vals.str.replace("-", " ", regex=False)
            parsed = pd.Series(pd.NaT, index=vals.index, dtype="datetime64[us]")
            for fmt in formats:
                left = parsed.isna()
                if not left.any():
                    break
                try:
                    if mode == "tz":
                        p = pd.to_datetime(vals[left], format=fmt, errors="coerce", utc=True)
                        p = _naive_local(p)
                    else:
                        p = pd.to_datetime(vals[left], format=fmt, errors="coerce")
                        if isinstance(p.dtype, pd.DatetimeTZDtype):
                            p = _naive_local(p)
                        p = p.astype("datetime64[us]")
                except (ValueError, OverflowError, TypeError):
                    continue
                parsed[left] = p
            out[hit] = parsed.to_numpy()
            month_only[hit] = is_month
            done |= hit
    excel = _excel_serials(s, ~done, out)
    bad = ~blank & out.isna().to_numpy()
    if month_column:
        month_only[:] = True
    month_only &= ~bad & ~blank
    return ParsedDates(out, month_only, blank, bad, excel)


def _excel_serials(s: pd.Series, todo: np.ndarray, out: pd.Series) -> np.ndarray:
    """Read the ``todo`` rows of ``s`` that are Excel serial day numbers into ``out`` (in place); their mask."""
    hit = todo & s.fillna("").str.match(_EXCEL_SERIAL).to_numpy(dtype=bool, na_value=False)
    if not hit.any():
        return hit
    days = pd.to_numeric(s[hit], errors="coerce")
    lo, hi = EXCEL_SERIAL_RANGE
    days = days.where((days >= lo) & (days <= hi))
    seconds = (days * 86400).round()
    out[hit] = (EXCEL_EPOCH + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]").to_numpy()
    hit[hit] = days.notna().to_numpy()
    return hit


def empty_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose every field is blank (:func:`~hotspots.io._common.as_str`: empty, ``NA``, ``-``...) or missing."""
    if not len(frame) or not len(frame.columns):
        return np.zeros(len(frame), dtype=bool)
    blank = np.ones(len(frame), dtype=bool)
    # columns of numbers first (a missing-value test, fast), then text; only the rows still blank are read
    order = sorted(range(len(frame.columns)), key=lambda i: pd.api.types.is_object_dtype(frame.dtypes.iloc[i]))
    for i in order:
        idx = np.flatnonzero(blank)
        col = frame.iloc[idx, i]
        if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_datetime64_any_dtype(col.dtype):
            blank[idx] = col.isna().to_numpy(dtype=bool)
        elif col.dtype.name == "geometry":
            blank[idx] = (col.isna() | col.is_empty).to_numpy(dtype=bool)
        else:
            blank[idx] = as_str(col).isna().to_numpy(dtype=bool)
        if not blank.any():
            break
    return blank


def parse_months_arg(months: Any, *, arg: str = "months") -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``('2025-01', '2025-06')`` (inclusive; either end may be None) as first-of-month Timestamps."""
    if months is None:
        return None, None
    if isinstance(months, (pd.Timestamp, pd.Period)) or (isinstance(months, str) and ":" not in months):
        months = (months, months)
    first, last = validation.month_range(months, arg, open_ends=True)
    return tuple(None if m is None else pd.Timestamp(m + "-01") for m in (first, last))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Enumerations and booleans
# --------------------------------------------------------------------------------------------

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def parse_bool(series: pd.Series, synonyms: Mapping[str, bool] | None = None) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Nullable booleans from true/false, yes/no, y/n, 1/0 (any case); blank is NA.

    ``synonyms`` adds a field's own words (``{"not satisfied": False}``), matched as
    :func:`norm_key` matches labels (case, spaces and punctuation ignored).

    Returns the values (``boolean`` dtype), a mask of unrecognised values, and up to five
    distinct unrecognised values.
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.reset_index(drop=True).astype("boolean"), np.zeros(len(series), dtype=bool), []
    s = as_str(series).reset_index(drop=True)
    key = s.fillna("").str.lower()
    is_t = key.isin(_TRUE).to_numpy()
    is_f = key.isin(_FALSE).to_numpy()
    if synonyms:
        syn = {norm_key(k): bool(v) for k, v in synonyms.items()}
        words = s.fillna("").map(lambda v: syn.get(norm_key(v)))
        is_t = is_t | words.map(lambda w: w is True).to_numpy(dtype=bool)
        is_f = is_f | words.map(lambda w: w is False).to_numpy(dtype=bool)
    blank = s.isna().to_numpy()
    bad = ~(is_t | is_f | blank)
    vals = pd.array([pd.NA] * len(s), dtype="boolean")
    vals[is_t] = True
    vals[is_f] = False
    examples = list(dict.fromkeys(s[bad].tolist()))[:5]
    return pd.Series(vals), bad, examples


def normalise_enum(
    series: pd.Series, labels: Sequence[str], synonyms: Mapping[str, str]
) -> tuple[pd.Series, np.ndarray, np.ndarray, list[str]]:
    """Map values onto canonical labels, case-, space- and punctuation-insensitively.

    Returns
    -------
    values : Series of str (NA where blank or unknown)
    blank : ndarray of bool
    unknown : ndarray of bool
    examples : list of str
        Up to five distinct unknown values.
    """
    table: dict[str, str] = {norm_key(label): label for label in labels}
    for k, v in synonyms.items():
        table[norm_key(k)] = v
    s = as_str(series).reset_index(drop=True)
    blank = s.isna().to_numpy()
    mapped = s.fillna("").map(lambda v: table.get(norm_key(v)) if v else None)
    unknown = mapped.isna().to_numpy() & ~blank
    examples = list(dict.fromkeys(s[unknown].tolist()))[:5]
    return mapped.astype("str").where(mapped.notna(), other=pd.NA), blank, unknown, examples


# --------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------


def content_keys(frame: pd.DataFrame) -> pd.Series:
    """One string per row joining every column's value (the row's content, for hashing)."""
    parts = []
    for col in frame.columns:
        s = frame[col]
        if s.dtype.name == "geometry":
            arr = np.asarray(s.values)
            txt = pd.Series(shapely.to_wkb(arr, hex=True), index=s.index, dtype="str").fillna("")
        else:
            txt = s.astype("str").fillna("")
        parts.append(txt.reset_index(drop=True))
    if not parts:
        return pd.Series([""] * len(frame), dtype="str")
    key = parts[0]
    if len(parts) > 1:
        key = key.str.cat(parts[1:], sep="\x1f")
    return key


def derive_ids(keys: pd.Series, prefix: str) -> np.ndarray:
    """Stable ids from row content: ``prefix`` + 16 hex digits of SHA-1(content, occurrence).

    Identical rows get distinct ids through their occurrence index (0 for the first copy in
    the table, 1 for the second, ...), so re-reading the same table gives the same ids and
    duplicated rows (common for police.uk ASB rows) stay distinct.
    """
    keys = keys.reset_index(drop=True)
    occ = keys.groupby(keys, sort=False).cumcount().to_numpy()
    out = np.empty(len(keys), dtype=object)
    for i, (k, o) in enumerate(zip(keys.tolist(), occ.tolist())):
        out[i] = prefix + hashlib.sha1(f"{k}\x1e{o}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return out


# --------------------------------------------------------------------------------------------
# Study area
# --------------------------------------------------------------------------------------------


def study_area_geometry(area: Any) -> tuple[BaseGeometry | None, str | None]:
    """The study area as one (multi)polygon in British National Grid, plus a note.

    Accepts a GeoDataFrame/GeoSeries (any CRS, converted), a shapely polygon (British National
    Grid metres, or WGS84 degrees when its bounds look like degrees; announced in the note), or
    a path to a boundary file (read with :func:`hotspots.io.load_boundary`).
    """
    import geopandas as gpd

    if area is None:
        return None, None
    from .boundary import boundary_geoseries

    note = None
    no_crs = CRSError("`study_area` has no CRS; set it with `.set_crs(...)` (e.g. `.set_crs(27700)`) first.")
    area = boundary_geoseries(area, no_crs)
    if isinstance(area, gpd.GeoSeries):
        gs = area.to_crs(27700)
        geom = shapely.union_all(np.asarray(gs.values)) if len(gs) else shapely.Polygon()
    elif isinstance(area, BaseGeometry):
        geom = area
        if not geom.is_empty:
            minx, miny, maxx, maxy = geom.bounds
            if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
                from .coords import to_bng

                geom = shapely.transform(geom, lambda xy: np.column_stack(to_bng(xy[:, 0], xy[:, 1], 4326)[:2]))
                note = "the study area's coordinates look like longitude/latitude; converted from WGS84 to British National Grid"
    else:
        raise ParameterError(
            "`study_area` must be a shapely polygon, a GeoDataFrame/GeoSeries of polygons, or a boundary file path; got "
            f"{type(area).__name__}."
        )
    if geom is None or geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7):
        raise ParameterError("`study_area` must be a non-empty polygon or multipolygon.")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if not np.all(np.isfinite(shapely.get_coordinates(geom))):
        raise CRSError("`study_area` could not be converted to British National Grid (non-finite coordinates). Check its CRS.")
    shapely.prepare(geom)
    return geom, note


def required(mapping: Mapping[str, str | None], needed: Sequence[str], columns: Sequence[str], name: str) -> None:
    """SchemaError listing every needed canonical column that could not be found, with the fix
    anyone can follow (rename the columns in the file: the command line has no column mapping)
    and, second and named as such, the Python one (``columns=``)."""
    missing = [k for k in needed if mapping.get(k) is None]
    if missing:
        shown = ", ".join(f"`{c}`" for c in list(columns)[:30])
        them = "it" if len(missing) == 1 else "them"
        raise SchemaError(
            f"{name}: cannot find column(s) for {', '.join(f'`{m}`' for m in missing)}. Columns present: {shown}. "
            f"Rename the column(s) in the file to {', '.join(missing)}; in Python, name {them} with "
            f"`columns={{'{missing[0]}': '...'{', ...' if len(missing) > 1 else ''}}}`."
        )


#: What coordinate values must look like, for the messages about those that do not.
COORDINATE_FORM = "numbers: decimal degrees (e.g. -1.4746, 52.9225) or metres (e.g. 435300, 336300)"


def bad_values(frame: pd.DataFrame, cols: Sequence[str], form: str, width: int = 30) -> Any:
    """A ``detail`` for :meth:`~hotspots.report.ReportBuilder.drop`: each example row's values of
    ``cols`` (truncated to ``width`` characters) and the form they should take, e.g.
    ``"Month '2025/13': expected a month written YYYY-MM (e.g. 2025-01)"``."""

    def shorten(v: Any) -> str:
        text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
        return repr(text if len(text) <= width else text[: width - 1] + "…")

    def detail(idx: np.ndarray) -> list[str]:
        return [
            ", ".join(f"{c} {shorten(frame[c].iat[int(i)])}" for c in cols) + f": expected {form}" for i in idx
        ]

    return detail
