"""Which incidents fall in the before, after and placebo periods of a change comparison.

:func:`split_periods` places dated incidents in the before and after periods (:class:`Period`),
counts the days each period exposes, and picks the placebo comparison the data allow, so that it
matches the compared pair (the same calendar months and gap, nothing done between them):

* "before" and "after" together span at most a year (half-years, quarters): both a year earlier
  (:attr:`PeriodSplit.placebo_before` against :attr:`PeriodSplit.placebo`);
* "after" is "before" a year later (part-years, e.g. January–October of two years): "before" a
  year earlier, against "before";
* else the period of the same length just before "before" (the year before, for whole years);
* else, for a before period of a year or more, the 6–11 whole months the data hold before it,
  against the same calendar months a year later.

Months the data do not cover (a monthly file missing, or published in part: :mod:`hotspots.coverage`)
are left out of every period's exposure and incidents; a placebo period none of whose months hold data is not used.
Day-dated data with incidents on most days date their own first and last day, and the periods'
days outside them are not counted either (a force's export taken on 15 December covers half of
December: counted whole, the after period's rate would be understated by half a month).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._errors import ParameterError
from .coverage import (
    MIN_TYPICAL_MONTH,
    MonthCoverage,
    month_coverage,
    month_number,
    month_spans,
    months_between,
)
from .incident_time import IncidentPoints, incident_dates, month_numbers
from .periods import Period, add_months

__all__ = [
    "PeriodSplit", "split_periods", "common_calendar_months", "MIN_PLACEBO_MONTHS", "NO_DATA", "PART_PUBLISHED",
    "FORCE_MISSING", "left_out_text", "period_months_text", "OTHER_MONTHS",
]

#: Why a month of a compared period was left out (:attr:`PeriodSplit.left_out`): no incident at all
#: (a monthly file missing, or beyond the data) ...
NO_DATA = "no data"
#: ... or incidents far below a typical month's (published in part, or the file not trusted).
PART_PUBLISHED = "published in part"
#: ... or a force's rows missing while other forces' cover the month (its file left out: Surrey's August in a Surrey +
#: Sussex load), by :func:`hotspots.coverage.month_coverage`'s ``force`` rule, not taken for a month published in part.
FORCE_MISSING = "a force's data missing"
#: ... or, comparing the same calendar months only, a month of the year the other period lacks.
OTHER_MONTHS = "not a month of the year both periods hold"


def _left_out(month: np.ndarray | None, missing: Iterable[int], periods: Iterable[Period],
              absent: Iterable[int] = ()) -> tuple[tuple[int, str], ...]:
    """The ``missing`` months within ``periods`` and why (the one rule of :meth:`PeriodSplit.left_out`):
    :data:`NO_DATA` when no incident (``month``: each one's, -1 undated) falls in the month, :data:`FORCE_MISSING`
    when it is one of the months a force lacks (``absent``: :attr:`hotspots.coverage.MonthCoverage.absent`), else
    :data:`PART_PUBLISHED`."""
    spans = {m for p in periods for m in months_between(p.start, p.end)}
    held = set() if month is None else set(np.unique(month[month >= 0]).tolist())
    lacking = {int(m) for m in absent}
    return tuple((int(m), NO_DATA if m not in held else FORCE_MISSING if m in lacking else PART_PUBLISHED)
                 for m in missing if m in spans)


def left_out_text(period: Period, left_out: Iterable[tuple[int, str]], *, counted: bool = True) -> str:
    """The months of ``period`` left out of a change comparison and why, in words ("" when none).

    The one rule for the command line's change line, the app's captions and the briefing's panels.

    Parameters
    ----------
    period : Period
    left_out : iterable of (int, str)
        Months left out (``year * 12 + month - 1``) and why (:data:`NO_DATA` or
        :data:`PART_PUBLISHED`), e.g. :attr:`hotspots.change.ChangeResult.left_out`; months outside
        ``period`` are ignored.
    counted : bool
        Begin with the months counted out of the period's (``"4 of 6 months counted; "``).

    Examples
    --------
    >>> p = Period.from_months("2025-07", "2025-12")
    >>> left_out_text(p, [(2025 * 12 + 7, PART_PUBLISHED)])
    '5 of 6 months counted; left out: Aug 2025, published in part'
    >>> left_out_text(p, [(2025 * 12 + 6, NO_DATA), (2025 * 12 + 7, NO_DATA)], counted=False)
    'left out: Jul 2025 – Aug 2025, no data'
    """
    months = list(months_between(period.start, period.end))
    gone = {int(m): why for m, why in left_out if int(m) in set(months)}
    if not gone:
        return ""
    parts = [
        f"{month_spans([m for m, w in gone.items() if w == why])}, {why}"
        for why in dict.fromkeys(w for _, w in sorted(gone.items()))
    ]
    head = f"{len(months) - len(gone)} of {len(months)} months counted; " if counted else ""
    return f"{head}left out: {'; '.join(parts)}"


def period_months_text(period: Period, left_out: Iterable[tuple[int, str]]) -> str:
    """``period``'s range and, when some of its months were left out, which and why:
    ``"Jul 2025 – Dec 2025 (5 of 6 months counted; left out: Aug 2025, published in part)"``
    (:func:`left_out_text`)."""
    rng = period.describe(label=False)
    gone = left_out_text(period, left_out)
    return f"{rng} ({gone})" if gone else rng


def _check_periods(before: Period, after: Period) -> None:
    for name, p in (("before", before), ("after", after)):
        if not isinstance(p, Period):
            raise ParameterError(
                f"`{name}` must be a `Period` (e.g. `Period('2022-07-01', '2023-06-30')`); got "
                f"{type(p).__name__}."
            )
    if before.overlaps(after):
        raise ParameterError(
            f"the periods overlap: before is {before.start} to {before.end}, after is {after.start} to {after.end}. "
            "Give periods that do not share any day (e.g. `periods_around('2023-07-01')`)."
        )


def _months_of_year(period: Period, month_only: bool) -> set[int]:
    if month_only:
        return {d.month for d in period.month_starts}
    days = pd.date_range(period.start, period.end, freq="D")
    return set(int(m) for m in np.unique(days.month))


def common_calendar_months(before: Period, after: Period, month_only: bool = True) -> tuple[int, ...]:
    """The calendar months (1–12) both periods hold: what ``same_months`` compares (the one rule, checked
    by the command line before loading, by ``hotspots map`` before the analysis and by :func:`split_periods`).

    ``month_only``: the periods' months (incidents dated by month), else every day's month.

    Raises
    ------
    ParameterError
        When the periods share no calendar month, naming ``same_months`` and the fix.

    Examples
    --------
    >>> from hotspots.periods import Period
    >>> common_calendar_months(Period.from_months("2024-01", "2024-06"), Period.from_months("2025-04", "2025-09"))
    (4, 5, 6)
    """
    inter = _months_of_year(before, month_only) & _months_of_year(after, month_only)
    if not inter:
        from .validation import shown

        raise ParameterError(
            f"{shown('same_months')} compares the calendar months both periods hold, and these share none "
            f"({before.describe()} vs {after.describe()}): choose periods that cover the same months of the year "
            f"(a year apart, which needs two years of data), or leave out {shown('same_months')}."
        )
    return tuple(sorted(inter))


def _gone_note(cover: MonthCoverage, shown: list[int]) -> str:
    """The note on the compared periods' months left out: why, for those these incidents show
    missing or published in part; the rest were given (e.g. found in the other categories loaded)."""
    gone = set(cover.gone)
    known = [m for m in shown if m in gone]
    other = [m for m in shown if m not in gone]
    parts = [cover.note(only=known)] if known else []
    if other:
        parts.append(
            f"{month_spans(other, sizes=True)} left out of the periods' exposure as months the data do not "
            "cover (given, or found in the categories loaded: see the notes on loading)"
        )
    return "; ".join(parts)


def _exposure_days(period: Period, resolution: str, months: set[int] | None, missing: frozenset[int] = frozenset()) -> float:
    """Days of ``period`` counted: of the calendar ``months`` kept (all when None), not in a
    ``missing`` month (``year * 12 + month - 1``: months the data do not cover, :mod:`hotspots.coverage`)."""
    if resolution == "month":
        starts = [
            d for d in period.month_starts
            if (months is None or d.month in months) and d.year * 12 + d.month - 1 not in missing
        ]
        return float(sum(calendar.monthrange(d.year, d.month)[1] for d in starts))
    if months is None and not missing:
        return float(period.days)
    days = pd.date_range(period.start, period.end, freq="D")
    keep = np.ones(days.size, dtype=bool) if months is None else np.isin(days.month, list(months))
    if missing:
        keep &= ~np.isin(days.year * 12 + days.month - 1, list(missing))
    return float(keep.sum())


@dataclass
class PeriodSplit:
    """Which incidents fall in the before and after periods (:func:`split_periods`).

    Attributes
    ----------
    in_before, in_after : ndarray of bool
        Per incident.
    t_before, t_after : float
        Days counted in each period (after any same-months restriction).
    resolution : str
        ``"day"``, ``"month"`` or ``"mixed"``.
    common : tuple of int or None
        Calendar months kept with ``same_months=True``.
    notes : list of str
    month : ndarray of int
        Calendar month of each incident (``year * 12 + month - 1``; -1 undated).
    months_filter : set of int or None
        Calendar months kept in both periods, when restricted.
    missing : tuple of int
        Months the data do not cover (``year * 12 + month - 1``: missing or published in part,
        :mod:`hotspots.coverage`), left out of the exposure, the incidents and the monthly panel.
    edges : (date, date) or None
        Day-dated data busy enough to date their own start and end (a typical month of at least
        20 and incidents on at least half the days between the first and the last): the first and
        last incident's dates. Days of the periods outside them are not counted (an export taken
        mid-month covers only part of its last month). None otherwise.
    placebo : Period or None
        The placebo period the data allow (module docs): ``before`` a year earlier, the period
        of the same length just before ``before``, or ``after`` a year earlier (with
        :attr:`placebo_before`).
    in_placebo : ndarray of bool or None
    placebo_before : Period or None
        The before period a year earlier, when the two periods together span at most 12 months and
        the data reach back to it: ``tau2`` then comes from this pair (:attr:`placebo_before` against
        :attr:`placebo`), the same calendar months and the same gap as the compared pair.
    in_placebo_before : ndarray of bool or None
    """

    in_before: np.ndarray
    in_after: np.ndarray
    t_before: float
    t_after: float
    resolution: str
    common: tuple[int, ...] | None
    notes: list[str]
    month: np.ndarray | None = None
    months_filter: set[int] | None = None
    placebo: Period | None = None
    in_placebo: np.ndarray | None = None
    placebo_before: Period | None = None
    in_placebo_before: np.ndarray | None = None
    missing: tuple[int, ...] = ()
    edges: tuple[dt.date, dt.date] | None = None
    absent: tuple[int, ...] = ()

    def left_out(self, *periods: Period) -> tuple[tuple[int, str], ...]:
        """The months of ``periods`` left out (:attr:`missing`) and why: :data:`NO_DATA` when no
        incident given falls in the month, :data:`FORCE_MISSING` when a force lacks it (:attr:`absent`), else
        :data:`PART_PUBLISHED` (:func:`left_out_text`); with the same calendar months only, the others as
        :data:`OTHER_MONTHS`."""
        out = _left_out(self.month, self.missing, periods, self.absent)
        if self.months_filter:  # same calendar months only: the others are left out too, and said
            have = {m for m, _ in out}
            spans = sorted({m for p in periods for m in months_between(p.start, p.end)})
            out += tuple((int(m), OTHER_MONTHS) for m in spans if m % 12 + 1 not in self.months_filter and m not in have)
        return out

    def days_of(self, period: Period) -> tuple[dt.date, dt.date]:
        """``period``'s first and last day within the data's dates (:attr:`edges`); the last is
        before the first when none of its days is covered."""
        if self.edges is None:
            return period.start, period.end
        return max(period.start, self.edges[0]), min(period.end, self.edges[1])


#: How the note on periods reaching beyond day-dated data's first or last date begins (the pooled
#: summary repeats it: :func:`hotspots.change_summary.summarise_change`).
DATES_NOTE_START = "the data's dates run from"

#: A placebo period shorter than "before" needs at least this many whole months of data before it.
MIN_PLACEBO_MONTHS = 6


def split_periods(
    incidents: Any, before: Period, after: Period, same_months: bool = False, missing: Iterable[Any] | None = None
) -> PeriodSplit:
    """Place incidents in the before and after periods (and a placebo period when the data allow).

    Parameters
    ----------
    incidents : GeoDataFrame or IncidentPoints
        With ``occurred`` and/or ``month``.
    before, after : Period
        Non-overlapping periods.
    same_months : bool
        Keep only the calendar months both periods cover.
    missing : iterable of "YYYY-MM" (or ``year * 12 + month - 1``), optional
        Months the data do not cover (a monthly file not loaded or not published, or published in
        part): left out of both periods' exposure. Default: found in ``incidents`` by
        :func:`hotspots.coverage.month_coverage` (a month with no incident where a typical month
        holds at least 20, over the data's months and the periods'; a month far below a typical
        month and both its neighbours). An empty list turns it off.

    Returns
    -------
    PeriodSplit

    Raises
    ------
    ParameterError
        Overlapping periods, a period without incidents or without a whole month of
        month-dated data.
    """
    _check_periods(before, after)
    if isinstance(incidents, IncidentPoints):
        dates, month_only, force = incidents.dates, incidents.month_only, incidents.force
    else:
        dates, month_only = incident_dates(incidents)
        force = incidents["force"].to_numpy(dtype=object) if "force" in getattr(incidents, "columns", ()) else None
    notes: list[str] = []
    has_date = ~np.isnat(dates)
    if (~has_date).any():
        notes.append(f"{int((~has_date).sum())} incident(s) without a usable `occurred` or `month` date were left out.")
    dated = has_date
    if dated.any() and month_only[dated].all():
        resolution = "month"
    elif month_only[dated].any():
        resolution = "mixed"
        notes.append(
            f"{int(month_only.sum())} incident(s) are dated to the month only and counted on the first day of their month; "
            "the rest by their `occurred` date."
        )
    else:
        resolution = "day"
    if resolution != "day":
        for p, name in ((before, "before"), (after, "after")):
            if not p.is_month_aligned:
                notes.append(
                    f"the {name} period ({p.start} to {p.end}) does not start and end on month boundaries but incidents are "
                    "dated by month: a month is counted when its first day is in the period. Use `Period.from_months` to align."
                )
    common: tuple[int, ...] | None = None
    months_filter: set[int] | None = None
    if same_months:
        mb = _months_of_year(before, resolution == "month")
        ma = _months_of_year(after, resolution == "month")
        common = common_calendar_months(before, after, resolution == "month")
        inter = set(common)
        if inter != mb or inter != ma:
            months_filter = inter
            names = ", ".join(calendar.month_abbr[m] for m in common)
            notes.append(f"same calendar months only: both periods restricted to {names}.")
    d = dates.astype("datetime64[D]")
    in_b = has_date & (d >= np.datetime64(before.start)) & (d <= np.datetime64(before.end))
    in_a = has_date & (d >= np.datetime64(after.start)) & (d <= np.datetime64(after.end))
    if months_filter is not None:
        moy = (d.astype("datetime64[M]").astype(int) % 12) + 1
        keep = np.isin(moy, list(months_filter))
        in_b &= keep
        in_a &= keep
    month = month_numbers(d)
    compared = [*months_between(before.start, before.end), *months_between(after.start, after.end)]
    cover = month_coverage(month, compared, force=force)  # a month a force lacks: said so, not "published in part"
    gone, typical = cover.gone, cover.typical
    if missing is not None:
        gone = tuple(sorted({int(x) if isinstance(x, (int, np.integer)) else month_number(x) for x in missing}))
    gone_set = frozenset(gone)
    if gone_set:
        covered = ~np.isin(month, list(gone_set))
        in_b &= covered
        in_a &= covered
        shown = [m for m in gone if m in set(compared)]
        if shown:
            notes.append(_gone_note(cover, shown) + ".")
    res = "month" if resolution == "month" else "day"
    edges = None
    if resolution == "day" and typical >= MIN_TYPICAL_MONTH:
        # day-dated data with incidents on most days date their own start and end (at 0.7 a day
        # or more, a day or two off); data on a few dates only do not
        first_day, last_day = d[has_date].min(), d[has_date].max()
        span_days = int((last_day - first_day).astype(int)) + 1
        if np.unique(d[has_date]).size >= 0.5 * span_days:
            edges = (first_day.astype(dt.date), last_day.astype(dt.date))
    clipped = {name: _clip(p, edges) for name, p in (("before", before), ("after", after))}
    tb, ta = (
        _exposure_days(clipped[n], res, months_filter, gone_set) if clipped[n] is not None else 0.0 for n in ("before", "after")
    )
    for t, p, name in ((tb, before, "before"), (ta, after, "after")):
        if edges is not None and (clipped[name] is None or clipped[name].days < p.days):
            if clipped[name] is None:
                raise ParameterError(
                    f"the {name} period ({p.describe(label=False)}) lies outside the data's dates ({edges[0]} to {edges[1]}); "
                    "choose periods within them."
                )
            notes.append(
                f"{DATES_NOTE_START} {edges[0]} to {edges[1]}: the {name} period counts {t:g} of its {p.days} days "
                "(its days beyond the data are not counted)."
            )
        if t <= 0 and _exposure_days(p, res, months_filter) > 0:
            why = left_out_text(p, _left_out(month, gone, (p,), cover.absent), counted=False)
            raise ParameterError(
                f"the {name} period ({p.describe(label=False)}) holds no month the data cover in full ({why}); choose periods "
                "within the data's months, or load the missing monthly files."
            )
        if t <= 0:
            raise ParameterError(
                f"the {name} period ({p.describe(label=False)}) contains no whole month of month-dated data "
                "(a month counts when its first day is in the period). Use `Period.from_months`."
            )
    if not in_b.any():
        raise ParameterError(
            f"no incidents fall in the before period ({before.describe()}); check the dates and the "
            "data's coverage."
        )
    if not in_a.any():
        raise ParameterError(
            f"no incidents fall in the after period ({after.describe()}); check the dates and the "
            "data's coverage."
        )
    placebo = in_p = None
    n_months = before.months if resolution == "month" else None
    p_start = add_months(before.start, -n_months) if n_months else before.start - dt.timedelta(days=before.days)
    first = d[has_date].min() if has_date.any() else None
    later = _shift_year(before, None, 12)
    year_on_year = later is not None and before.months < 12 and (later.start, later.end) == (after.start, after.end)
    cand = None
    if year_on_year and first is not None:
        # "after" is "before" a year later (e.g. January-October of two years): "before" a year
        # earlier, the same calendar months and gap, as the year just before is for whole years
        cand = _shift_year(before, first)
    if cand is None and first is not None:
        if first.astype("datetime64[M]") <= np.datetime64(p_start, "M") and p_start < before.start:
            cand = Period(p_start, before.start - dt.timedelta(days=1), "placebo")
        elif before.is_month_aligned and before.months >= 12 and before.start < after.start:
            # A shorter placebo: the whole months (at least MIN_PLACEBO_MONTHS) the data hold
            # before "before", compared with the same calendar months a year later, inside
            # "before" (:func:`hotspots.change_model.fit_change_model`): nothing was done between
            # them either.
            f = first.astype("datetime64[D]").astype(dt.date)
            start = f if f.day == 1 else add_months(f.replace(day=1), 1)
            if start < before.start:
                short = Period(start, before.start - dt.timedelta(days=1), "placebo")
                cand = short if MIN_PLACEBO_MONTHS <= short.months < 12 else None
    pair = _year_earlier_pair(before, after, first, months_filter)
    if pair is not None:
        cand = pair[1]

    def uncovered(p: Period | None) -> bool:  # no month (or day) of it holds data
        return p is not None and (_clip(p, edges) is None or _exposure_days(p, res, None, gone_set) <= 0)

    if cand is not None and (uncovered(cand) or (pair is not None and uncovered(pair[0]))):
        cand, pair = None, None
    if cand is not None and not cand.overlaps(after):
        placebo = cand
        in_p = has_date & (d >= np.datetime64(cand.start)) & (d <= np.datetime64(cand.end))
        if gone_set:
            in_p &= ~np.isin(month, list(gone_set))
    pb = in_pb = None
    if pair is not None:
        pb = pair[0]
        in_pb = has_date & (d >= np.datetime64(pb.start)) & (d <= np.datetime64(pb.end))
        if gone_set:
            in_pb &= ~np.isin(month, list(gone_set))
    return PeriodSplit(
        in_b, in_a, tb, ta, resolution, common, notes, month, months_filter, placebo, in_p, pb, in_pb, gone, edges,
        tuple(m for m in cover.absent if m in gone_set),
    )


def _clip(p: Period, edges: tuple[dt.date, dt.date] | None) -> Period | None:
    """``p`` within the data's dates (None when none of its days is)."""
    if edges is None:
        return p
    lo, hi = max(p.start, edges[0]), min(p.end, edges[1])
    return Period(lo, hi, p.label) if lo <= hi else None


def _year_earlier_pair(
    before: Period, after: Period, first: np.datetime64 | None, months_filter: set[int] | None
) -> tuple[Period, Period] | None:
    """The before and after periods shifted back 12 months, when the two periods (whole months,
    after later than before) span at most 12 months together and the data's first month reaches
    the earlier one's start. Nothing was done between them, and unlike the period just before
    "before" they cover the same calendar months with the same gap: two halves of one year are
    compared with two halves of the year before, not with a pair across a change of year (which
    holds year-to-year variation the compared halves do not share)."""
    if first is None or months_filter is not None or not (before.is_month_aligned and after.is_month_aligned):
        return None
    if not before.start < after.start or after.end >= add_months(before.start, 12):
        return None
    pb, pa = _shift_year(before, first, name="placebo before"), _shift_year(after, first)
    return None if pb is None or pa is None else (pb, pa)


def _shift_year(p: Period, first: np.datetime64 | None, months: int = -12, name: str = "placebo") -> Period | None:
    """Whole-month period ``p`` moved by ``months``; None when it is not whole months or (with
    ``first``, the data's first date) starts before the data's first month."""
    if not p.is_month_aligned:
        return None
    out = Period(add_months(p.start, months), add_months(p.end + dt.timedelta(days=1), months) - dt.timedelta(days=1), name)
    if first is not None and first.astype("datetime64[M]") > np.datetime64(out.start, "M"):
        return None
    return out
