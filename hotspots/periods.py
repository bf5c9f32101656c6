"""Periods of time: the :class:`Period` type, incident dates, month helpers and the default
before/after periods.

Everything that decides *when* lives here, so that the CLI, the app, the change tests and the
exports agree on what a period is and which months the defaults compare.

Periods
-------
A :class:`Period` runs from ``start`` to ``end`` **inclusive** (both are dates; ``Period(
"2022-07-01", "2023-06-30")`` is the twelve months July 2022 – June 2023, 365 days). Incidents
with an ``occurred`` date-time belong to the period when their calendar date falls in it.
police.uk data has a month only: an incident dated by ``month`` belongs to a period when the
**first day of its month** lies in the period, so periods should start on the first of a month
and end on the last day of one (:meth:`Period.from_months`).

Default before/after periods
----------------------------
:func:`default_periods` is the one rule for both the CLI and the app:

* when the scheme start lies inside the data (with at least one month before it): up to
  ``months`` (12) months either side of it, cut to the data's months; the month holding it counts
  as after, all of it (police.uk months have no day; the note says so when the start is not a 1st);
* otherwise (no scheme start given, or one outside the data), comparable halves of the data:
  with 24 months or more, the latest whole years split
  in two (both halves then hold the same calendar months, so seasons cannot pass for change);
  with fewer, the first and last ``n // 2`` months (an odd middle month is left out).

The choice is returned with a sentence announcing it (:attr:`PeriodChoice.note`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import ParameterError
from .coverage import month_spans
from .incident_time import incident_dates
from .schema import SCHEME_START

__all__ = [
    "scheme_start_text",
    "short_period_text",
    "SHORT_PERIOD_MONTHS",
    "Period",
    "PeriodChoice",
    "periods_around",
    "parse_period",
    "as_date",
    "filter_period",
    "add_months",
    "month_range",
    "month_options",
    "default_periods",
    "DEFAULT_CHANGE_MONTHS",
    "SELECTION_SHARE_TOLERANCE",
    "selection_shares",
    "selection_treats_alike",
    "selection_favours",
    "selection_caveats",
    "SELECTION_CAVEAT",
]

#: Months either side of the scheme start that the default before/after periods cover.
DEFAULT_CHANGE_MONTHS = 12
#: A compared period of fewer calendar months than this is too short to read a change from: one or
#: two months' incidents carry their season and chance (a January before against February–December
#: after reads winter against the rest of the year as the scheme's effect).
SHORT_PERIOD_MONTHS = 3
#: Periods are covered alike by the months hotspots were chosen from when the shares of their
#: days those months cover differ by less than this (regression to the mean then favours none).
SELECTION_SHARE_TOLERANCE = 0.05
#: Added to a significant change in the direction the months the hotspots were chosen from favour
#: (regression to the mean: :func:`selection_caveats`), in brackets after a pooled verdict
#: (:func:`hotspots.change_summary.with_selection`) and in each hotspot area's ``change_note``.
SELECTION_CAVEAT = "expected from how hotspots were chosen"


# =============================================================================== Period
def as_date(value: Any, name: str = "date") -> dt.date:
    """A :class:`datetime.date` from a date, date-time or text such as ``"2023-07-01"``.

    ``name`` is the argument named in the error message.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ParameterError(f"`{name}` must be a date such as '2023-07-01'; got {value!r}.") from None
    if ts is pd.NaT:
        raise ParameterError(f"`{name}` must be a date such as '2023-07-01'; got {value!r}.")
    return ts.date()


def add_months(d: dt.date, months: int) -> dt.date:
    """``d`` moved by a whole number of calendar months (the day capped at the month's length)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


@dataclass(frozen=True)
class Period:
    """A span of calendar days, ``start`` to ``end`` inclusive.

    Parameters
    ----------
    start, end : date or str
        First and last day of the period (``end`` included). ``end`` must be after ``start``.
    label : str, optional
        Name shown in captions (``"before"``); defaults to the date range.

    Examples
    --------
    >>> p = Period("2022-07-01", "2023-06-30")
    >>> p.days, p.months, p.is_month_aligned
    (365, 12, True)
    """

    start: dt.date
    end: dt.date
    label: str = ""

    def __post_init__(self) -> None:
        s = as_date(self.start, "start")
        e = as_date(self.end, "end")
        if e <= s:
            raise ParameterError(
                f"a period must end after it starts; got start {s.isoformat()} and end {e.isoformat()}. "
                "Periods include both end dates: `Period('2022-07-01', '2023-06-30')` is twelve months."
            )
        object.__setattr__(self, "start", s)
        object.__setattr__(self, "end", e)

    @classmethod
    def from_months(cls, first: Any, last: Any, label: str = "") -> Period:
        """Whole calendar months, ``first`` to ``last`` inclusive (``"2022-07"``, ``"2023-06"``)."""
        f = as_date(first, "first")
        lt = as_date(last, "last")
        start = f.replace(day=1)
        end = lt.replace(day=calendar.monthrange(lt.year, lt.month)[1])
        return cls(start, end, label)

    @property
    def days(self) -> int:
        """Length in days, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def month_starts(self) -> list[dt.date]:
        """First days of the calendar months whose first day lies in the period."""
        d = self.start if self.start.day == 1 else add_months(self.start.replace(day=1), 1)
        out = []
        while d <= self.end:
            out.append(d)
            d = add_months(d, 1)
        return out

    @property
    def months(self) -> int:
        """Calendar months whose first day lies in the period (what month-only data can see)."""
        return len(self.month_starts)

    @property
    def is_month_aligned(self) -> bool:
        """True when the period starts on a first and ends on a last day of a month."""
        return self.start.day == 1 and self.end.day == calendar.monthrange(self.end.year, self.end.month)[1]

    def overlaps(self, other: Period) -> bool:
        return self.start <= other.end and other.start <= self.end

    def overlap_days(self, other: Period) -> int:
        """Days the two periods have in common (0 when they do not overlap)."""
        lo, hi = max(self.start, other.start), min(self.end, other.end)
        return max(0, (hi - lo).days + 1)

    def contains(self, when: Any) -> bool:
        d = as_date(when, "when")
        return self.start <= d <= self.end

    def describe(self, *, label: bool = True) -> str:
        """``"before: Jul 2022 – Jun 2023"``; ``label=False`` gives the range alone, for a sentence
        (``"hotspots were chosen from Jul 2022 – Jun 2023"``)."""
        if self.is_month_aligned:
            a, b = self.start.strftime("%b %Y"), self.end.strftime("%b %Y")
            rng = a if a == b else f"{a} – {b}"
        else:
            rng = f"{self.start.day} {self.start.strftime('%b %Y')} – {self.end.day} {self.end.strftime('%b %Y')}"
        return f"{self.label}: {rng}" if self.label and label else rng

    def __str__(self) -> str:
        return self.describe()


def periods_around(date: Any = SCHEME_START, months: int = DEFAULT_CHANGE_MONTHS) -> tuple[Period, Period]:
    """The ``months`` months before ``date`` and the ``months`` months from ``date`` on.

    Defaults: the 12 months before and after the scheme start (2023-07-01), i.e. Jul 2022 – Jun 2023
    and Jul 2023 – Jun 2024. This ignores the data; :func:`default_periods` cuts to the data.
    """
    if int(months) != months or months < 1:
        raise ParameterError(f"`months` must be a whole number of months >= 1; got {months!r}.")
    d = as_date(date, "date")
    before = Period(add_months(d, -int(months)), d - dt.timedelta(days=1), "before")
    after = Period(d, add_months(d, int(months)) - dt.timedelta(days=1), "after")
    return before, after


def parse_period(value: Any, label: str = "") -> Period:
    """A :class:`Period` from ``("2022-07", "2023-06")``, ``"2022-07:2023-06"`` or a Period.

    Months are whole calendar months, first to last inclusive.
    """
    if isinstance(value, Period):
        return value
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) != 2:
            raise ParameterError(f"a period must look like 2022-07:2023-06 (first and last month); got {value!r}.")
        value = tuple(parts)
    try:
        first, last = value
    except (TypeError, ValueError):
        raise ParameterError(f"a period must be two months (first, last); got {value!r}.") from None
    return Period.from_months(first, last, label)


# =============================================================================== incident dates
def filter_period(incidents: gpd.GeoDataFrame, period: Period | None) -> gpd.GeoDataFrame:
    """Incidents whose date (``occurred``, else ``month``) falls in ``period`` (all when None)."""
    if period is None:
        return incidents
    dates, _ = incident_dates(incidents)
    start, end = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    keep = (dates >= start) & (dates <= end)
    return incidents.loc[keep]


# =============================================================================== months
def month_range(incidents: pd.DataFrame) -> tuple[str, str]:
    """First and last month (``"YYYY-MM"``) of the incidents' dates.

    Raises
    ------
    ParameterError
        When no incident has a date.
    """
    dates, _ = incident_dates(incidents)
    ok = ~np.isnat(dates)
    if not ok.any():
        raise ParameterError("the incidents have no dates (`month` or `occurred`); before/after periods cannot be chosen.")
    lo, hi = dates[ok].min(), dates[ok].max()
    return str(lo.astype("datetime64[M]")), str(hi.astype("datetime64[M]"))


def month_options(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, as ``"YYYY-MM"``."""
    try:
        a, b = np.datetime64(first, "M"), np.datetime64(last, "M")
    except ValueError:
        raise ParameterError(f"months must look like 2023-07; got {first!r} and {last!r}.") from None
    if b < a:
        raise ParameterError(f"`last` ({last}) is before `first` ({first}).")
    return [str(m) for m in np.arange(a, b + 1)]


def _span(months: list[str]) -> str:
    return Period.from_months(months[0], months[-1]).describe()


@dataclass(frozen=True)
class PeriodChoice:
    """Default before and after periods and why they were chosen.

    Attributes
    ----------
    before, after : tuple of two "YYYY-MM"
        First and last month of each period (inclusive).
    rule : {"scheme start", "halves", "whole years"}
    note : str
        A sentence announcing the choice (for the CLI summary and the app's notes).
    """

    before: tuple[str, str]
    after: tuple[str, str]
    rule: str
    note: str

    def periods(self) -> tuple[Period, Period]:
        """The two periods as :class:`Period` objects labelled ``"before"`` and ``"after"``."""
        return parse_period(self.before, "before"), parse_period(self.after, "after")


def default_periods(first: str, last: str, scheme_start: Any = None, months: int = DEFAULT_CHANGE_MONTHS, *,
                    without: Any = ()) -> PeriodChoice:
    """The default before and after periods within the data's months (see the module notes).

    Parameters
    ----------
    first, last : str
        The data's first and last month, ``"YYYY-MM"`` (:func:`month_range`).
    scheme_start : date or str or None
        When the scheme started; None when it is not known (the data's months alone choose).
    months : int
        Months either side of the scheme start (when it lies inside the data).
    without : sequence of str
        Months (``"YYYY-MM"``) without data (``Settings.missing_months``): the note counts the months each period
        holds data for, as the change does ("6 of 7 months counted"), and names those left out.

    Returns
    -------
    PeriodChoice

    Raises
    ------
    ParameterError
        When the data cover a single month (nothing to compare).
    """
    if isinstance(months, bool) or int(months) != months or months < 1:
        raise ParameterError(f"`months` must be a whole number of months >= 1; got {months!r}.")
    months = int(months)
    opts = month_options(first, last)
    n = len(opts)
    start_day = None if scheme_start is None else as_date(scheme_start, "scheme_start")
    start = "" if start_day is None else start_day.strftime("%Y-%m")
    if start_day is not None and start in opts and opts.index(start) > 0:
        i = opts.index(start)
        before, after = opts[max(0, i - months) : i], opts[i : i + months]
        note = (
            f"before/after periods: {_span(before)} and {_span(after)}, up to {months} months either side of the "
            f"scheme start ({start_day.isoformat()})"
        )
        if len(before) != len(after):
            nb, na = len(before), len(after)  # "(11 and 1 months)" (a scheme start in the data's last month): singular
            said = (f"{nb} and {na} months" if 1 not in (nb, na)
                    else f"{nb} month{'s' * (nb != 1)} and {na} month{'s' * (na != 1)}")
            note += f", cut to the data's months ({said})"
        gone = {str(m) for m in without}
        if lost := [m for m in before + after if m in gone]:  # Lincolnshire without June: "5 and 7" beside "6 of 7"
            nb, na = len(before) - sum(m in gone for m in before), len(after) - sum(m in gone for m in after)
            # in runs, as the change's own line says them ("May 2025 – Jun 2025", not "May 2025, Jun 2025": Avon and Somerset)
            names = month_spans(int(m[:4]) * 12 + int(m[5:7]) - 1 for m in lost)
            note += f"; {nb} of {len(before)} and {na} of {len(after)} months counted (left out: {names}, no data)"
        if start_day.day != 1:
            # whole months: a period cannot split the month the scheme started in
            note += (
                f"; the scheme start falls inside {start_day:%b %Y}, and periods are whole calendar months (police.uk "
                f"dates incidents by month only), so all of {start_day:%b %Y} counts as after, its "
                f"{start_day.day - 1} day{'s' * (start_day.day != 2)} before the start too"
            )
        return PeriodChoice((before[0], before[-1]), (after[0], after[-1]), "scheme start", note)
    if n < 2:
        raise ParameterError(f"the data cover a single month ({opts[0]}); two periods cannot be compared.")
    if start_day is None:
        why = f"no scheme start was given (`--scheme-start` on the command line; the data's months: {_span(opts)})"
    else:
        side = "before" if start < opts[0] else "after"
        where = "at the data's first month" if start == opts[0] else f"{side} the data's months"
        why = f"the scheme start ({start_day.isoformat()}) lies {where} ({_span(opts)})"
    if n >= 24:
        length = 12 * (n // 24)
        before, after = opts[n - 2 * length : n - length], opts[n - length :]
        note = (
            f"before/after periods: {why}, so the latest {2 * length} months are compared in two halves, "
            f"{_span(before)} and {_span(after)} (the same calendar months in both)"
        )
        return PeriodChoice((before[0], before[-1]), (after[0], after[-1]), "whole years", note)
    half = n // 2
    before, after = opts[:half], opts[n - half :]
    note = (
        f"before/after periods: {why}, so the first and second halves of the data are compared, "
        f"{_span(before)} and {_span(after)}"
    )
    if n % 2:
        note += f" (the middle month, {_span([opts[half]])}, is left out)"
    note += "; they hold different calendar months, so seasonal differences can look like change"
    return PeriodChoice((before[0], before[-1]), (after[0], after[-1]), "halves", note)


def scheme_start_text(scheme_start: Any, before: Period, after: Period) -> str:
    """How the compared periods stand to the scheme start, for titles and captions: the one rule
    for the briefing's subtitle and the app.

    ``"scheme start 2025-04-01"`` when the periods straddle it (the before period ends before it,
    the after period starts on or after it); otherwise it says plainly that the comparison is not
    a before/after of the scheme: both periods lie before it, both after it, or it falls inside
    one of them. ``""`` without a scheme start.

    Examples
    --------
    >>> h1, h2 = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    >>> scheme_start_text("2025-07-01", h1, h2)
    'scheme start 2025-07-01'
    >>> scheme_start_text("2026-03-01", h1, h2)
    'both periods are before the scheme start (2026-03-01): not a before/after comparison of the scheme'
    >>> scheme_start_text("2023-07-01", h1, h2)
    'both periods are after the scheme start (2023-07-01): not a before/after comparison of the scheme'
    >>> scheme_start_text("2025-03-15", h1, h2)
    'the scheme start (2025-03-15) falls inside the before period: not a clean before/after comparison of the scheme'
    """
    if scheme_start is None or scheme_start == "":
        return ""
    day = as_date(scheme_start, "scheme_start")
    when = day.isoformat()
    if before.end < day <= after.start:
        return f"scheme start {when}"
    if after.end < day:
        return f"both periods are before the scheme start ({when}): not a before/after comparison of the scheme"
    if day <= before.start:
        return f"both periods are after the scheme start ({when}): not a before/after comparison of the scheme"
    inside = "after" if after.start < day <= after.end else "before"
    return f"the scheme start ({when}) falls inside the {inside} period: not a clean before/after comparison of the scheme"


def short_period_text(before: Period, after: Period) -> str | None:
    """A loud caveat when a compared period is shorter than :data:`SHORT_PERIOD_MONTHS`, else None.

    The one rule for the console, ``parameters.json``, the briefing images and the app (through
    :meth:`hotspots.change_summary.ChangeSummary.caveats`, and the hotspot areas' change column).

    Examples
    --------
    >>> text = short_period_text(Period.from_months("2025-01", "2025-01"), Period.from_months("2025-02", "2025-12"))
    >>> text[:96]
    'Short period: the before period is 1 month (Jan 2025, 31 days) against 11 months (Feb 2025 – Dec'
    >>> short_period_text(Period.from_months("2025-01", "2025-03"), Period.from_months("2025-04", "2025-06")) is None
    True
    """
    pairs = (("before", before, after), ("after", after, before))
    short = [(name, p, q) for name, p, q in pairs if p.months < SHORT_PERIOD_MONTHS]
    if not short:
        return None

    def span(p: Period) -> str:
        return f"{p.months} month{'s' * (p.months != 1)} ({p.describe(label=False)}, {p.days} days)"

    if len(short) == 2:
        what = f"both periods are short: before {span(before)}, after {span(after)}"
    else:
        name, p, q = short[0]
        what = f"the {name} period is {span(p)} against {span(q)}"
    return (f"Short period: {what}: a change over fewer than {SHORT_PERIOD_MONTHS} months is mostly chance and season (one "
            "month's weather and holidays against the rest), not the scheme; compare at least "
            f"{SHORT_PERIOD_MONTHS} months either side, ideally whole years.")


def selection_shares(selected_on: Period, periods: list[Period] | tuple[Period, ...]) -> list[float]:
    """Share of each period's days that lie in ``selected_on`` (the months hotspots were chosen from)."""
    return [selected_on.overlap_days(p) / p.days for p in periods]


def selection_treats_alike(selected_on: Period | None, periods: list[Period] | tuple[Period, ...]) -> bool:
    """Whether hotspots chosen from ``selected_on`` are expected to be as high by chance in each of
    ``periods``: the selection covers the same share of each (all of each, or none of any, within
    :data:`SELECTION_SHARE_TOLERANCE`). Places picked for being busy in some months tend to be
    quieter in others (regression to the mean); when every compared period is covered alike, no
    comparison between them is favoured. False when ``selected_on`` is None (not known)."""
    if selected_on is None or not periods:
        return False
    shares = selection_shares(selected_on, periods)
    return max(shares) - min(shares) < SELECTION_SHARE_TOLERANCE


def selection_favours(selected_on: Period | None, before: Period, after: Period) -> str | None:
    """``"fall"`` when the hotspots were chosen from months overlapping the before period more than
    the after period, ``"rise"`` the other way round, None when the choice favours neither
    (outside both periods, or both alike): the change regression to the mean predicts.

    Examples
    --------
    >>> before, after = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    >>> selection_favours(after, before, after), selection_favours(before, before, after)
    ('rise', 'fall')
    >>> selection_favours(Period.from_months("2024-01", "2024-12"), before, after) is None
    True
    """
    if selected_on is None:
        return None
    share_b, share_a = selection_shares(selected_on, (before, after))
    if (share_b == 0 and share_a == 0) or selection_treats_alike(selected_on, (before, after)):
        return None
    return "fall" if share_b > share_a else "rise"


def selection_caveats(change_class: Any, favours: str | None) -> np.ndarray:
    """:data:`SELECTION_CAVEAT` for each significant change in the direction the choice of hotspot
    months favours (``favours``, from :func:`selection_favours`), None elsewhere (object array).

    The one rule for the pooled hotspot rows (:func:`hotspots.change_summary.with_selection`) and
    each hotspot area's and the console's counts (:meth:`hotspots.change.ChangeResult.selection_notes`).

    >>> selection_caveats(["significant fall", "significant rise", "no significant change"], "fall").tolist()
    ['expected from how hotspots were chosen', None, None]
    >>> selection_caveats(["significant fall"], None).tolist()
    [None]
    """
    classes = np.asarray(change_class, dtype=object).ravel()
    out = np.full(len(classes), None, dtype=object)
    if favours is not None:
        out[classes == f"significant {favours}"] = SELECTION_CAVEAT
    return out
