"""Months the data do not cover: a missing monthly file is not a quiet month.

police.uk publishes each force's crimes as one file per month, and a force's month is sometimes
absent: the force did not submit it, or a download or copy left it out (the shared national 2025
set lacks July for Thames Valley and six months for Avon and Somerset). Counted as it stands, such a
month holds no incident, and a period that contains it looks quieter than it was by the month's
share of its length: Thames Valley's ASB, January–June against July–December 2025 with July
missing, gave "significant fall" for all hotspot areas (rate ratio 0.78) and elsewhere (0.77),
five sixths of which is the missing month.

:func:`missing_months` finds such months: a calendar month with **no incident at all** while a
typical month of the data (the median over the months that have incidents) holds at least
:data:`MIN_TYPICAL_MONTH`. Even a rate varying 50 % from month to month (negative binomial
dispersion 0.25, far beyond the 0.01–0.06 of the real files' force-wide totals) gives a month of
0 at a mean of 20 with probability below 0.001, so the rule calls a real quiet month missing
essentially never; on sparser data a month of 0 is possible and is not treated as missing (the
change tests count it as a month with no incident). The rule is best applied to every category
the files hold (thousands a month): :func:`hotspots.pipeline.prepare_inputs` does that and records
the months in ``Settings.missing_months``; the change tests apply it to the incidents they are given
when no list is passed.

A month can also be published **in part**. The national 2025 set's August file for Hampshire
holds 430 ASB incidents against 2,241 in July and 1,546 in September (a typical month: 1,558),
from five of the force's districts only, while its violence count doubled: the file's categories
are scrambled. Counted as it stands, January–June against July–December 2025 gave a "significant
fall" for all hotspot areas (0.86) and elsewhere (0.87), about 12 % of which is that month.
:func:`incomplete_months` finds such months: a month holding incidents but under half of a
typical month **and** of the nearest month with data on each side, **and** whose log count lies
more than five robust standard deviations below its neighbours' (the spread of the log ratios of
consecutive months, from their median absolute deviation, never below Poisson's): a seasonal low
or a noisy series does not qualify, a sustained fall (an intervention) does not either (its
following months are low too), and a data set's first and last month are not judged (one side is
unknown; a day-dated export's partial first or last month is handled by the periods' own edges,
:class:`hotspots.period_split.PeriodSplit`). Complete simulated series varying 30 % with the season and from
month to month with negative binomial dispersion up to 0.06 (the real files' range) get a month
flagged in at most 0.6 % of 12- and 36-month series, 1 % at dispersion 0.1 and 1.5 % at 0.25
(2,000 series a cell, typical months of 20–2,000;
``benchmarks.calibration.partial_month_false_flags``). Of the national set's force, category and
month series, only Hampshire's August 2025 qualifies (in ten categories).

:func:`month_coverage` applies both rules. The change tests (:func:`hotspots.period_split.split_periods` and
:func:`hotspots.change_model.monthly_panel`) leave a missing or incomplete month out of the periods' exposure
(the days counted) and out of the monthly panel: the rates compare the months that hold data.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from ._errors import ParameterError
from .validation import counted, shown

__all__ = [
    "INCOMPLETE_SHARE", "INCOMPLETE_Z", "MIN_CATEGORIES_UNRELIABLE", "MIN_TYPICAL_MONTH", "MonthCoverage", "category_gaps",
    "data_span", "incomplete_months", "unreliable_months_note",
    "missing_months", "missing_months_note", "month_coverage", "month_label", "month_name", "month_number", "months_between",
    "month_spans", "loaded_months_note", "STRAY_GAP", "STRAY_SHARE", "StrayMonths", "stray_months",
    "SHORT_SHARE", "SHORT_SHARE_MANY", "MANY_CATEGORIES", "SHORT_SD", "ForceMonths", "force_months",
    "files_not_kept", "lost_files_note",
]

#: A month with no incident is taken as missing from the data when a typical month (the median
#: over months with incidents) holds at least this many.
MIN_TYPICAL_MONTH = 20

#: A month holding incidents is taken as incompletely published when it holds less than this share
#: of a typical month and of the nearest month with data on each side ...
INCOMPLETE_SHARE = 0.5

#: ... and its log count lies below the mean of its two neighbours' by more than this many robust
#: standard deviations (z below it; :func:`incomplete_months`).
INCOMPLETE_Z = -5.0

#: Months with data needed to judge any of them incomplete (the spread comes from their changes).
MIN_MONTHS_FOR_INCOMPLETE = 6

#: A month is not trusted for any category when at least this many of the loaded categories are
#: missing or published in part in it (:func:`category_gaps`): its file's categories look scrambled
#: (Hampshire's August 2025: ten categories far below their typical month, violence doubled).
MIN_CATEGORIES_UNRELIABLE = 2


def month_number(label: str) -> int:
    """``"YYYY-MM"`` as ``year * 12 + month - 1``."""
    try:
        y, m = str(label).split("-")[:2]
        out = int(y) * 12 + int(m) - 1
    except ValueError:
        raise ParameterError(f"{label!r} is not a month; write it as 'YYYY-MM' (e.g. '2025-07').") from None
    if not 1 <= int(m) <= 12:
        raise ParameterError(f"{label!r} is not a month; write it as 'YYYY-MM' (e.g. '2025-07').")
    return out


def month_label(m: int) -> str:
    """``year * 12 + month - 1`` as ``"YYYY-MM"``."""
    return f"{int(m) // 12:04d}-{int(m) % 12 + 1:02d}"


def months_between(first_day: dt.date, last_day: dt.date) -> range:
    """The calendar months (``year * 12 + month - 1``) that the days from ``first_day`` to
    ``last_day`` touch (empty when ``last_day`` is before ``first_day``'s month)."""
    return range(first_day.year * 12 + first_day.month - 1, last_day.year * 12 + last_day.month)


def month_name(m: int) -> str:
    """``year * 12 + month - 1`` as ``"Aug 2025"``."""
    return f"{calendar.month_abbr[int(m) % 12 + 1]} {int(m) // 12}"


def month_spans(months: Iterable[int], *, most: int = 6, sizes: bool = False) -> str:
    """Months (``year * 12 + month - 1``) as runs of consecutive months, for messages: the one rule
    for listing months (at most ``most`` runs, then how many more).

    ``sizes=True`` gives a run of three or more months its length (``"Apr 2019 – Dec 2024 (69 months)"``).

    Examples
    --------
    >>> month_spans([24300, 24301, 24302, 24306, 24311])  # Jan-Mar, Jul and Dec 2025
    'Jan 2025 – Mar 2025, Jul 2025, Dec 2025'
    >>> month_spans([24300, 24301, 24302, 24306], sizes=True)
    'Jan 2025 – Mar 2025 (3 months), Jul 2025'
    >>> month_spans([])
    'no month'
    """
    ms = sorted({int(m) for m in months})
    runs: list[list[int]] = []
    for m in ms:
        if runs and m == runs[-1][1] + 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    def run(a: int, b: int) -> str:
        if a == b:
            return month_name(a)
        return f"{month_name(a)} – {month_name(b)}" + (f" ({b - a + 1} months)" if sizes and b - a > 1 else "")

    text = [run(a, b) for a, b in runs[:most]]
    more = f" and {len(runs) - most} more runs of months" if len(runs) > most else ""
    return ", ".join(text) + more if text else "no month"


def missing_months(
    month: np.ndarray, span: Iterable[int] = (), *, min_typical: int = MIN_TYPICAL_MONTH
) -> tuple[tuple[int, ...], float]:
    """Calendar months with no incident where the data's typical month holds many.

    Parameters
    ----------
    month : ndarray of int
        Each incident's month, ``year * 12 + month - 1`` (negative: undated, ignored).
    span : iterable of int
        Further months to check besides those from the data's first to its last (e.g. the months
        of the compared periods, which may reach beyond the data).
    min_typical : int
        A typical month (median over months with incidents, from the first to the last) must hold
        at least this many incidents for an empty month to count as missing.

    Returns
    -------
    (missing, typical) : (tuple of int, float)
        The missing months in ascending order (empty when the typical month holds fewer than
        ``min_typical``) and the typical month's count (0 without dated incidents).

    Examples
    --------
    >>> m = np.repeat([24300, 24301, 24303], 30)  # Jan, Feb and Apr 2025, 30 incidents each
    >>> missing_months(m)
    ((24302,), 30.0)
    >>> missing_months(m, span=[24304])  # May 2025 too, e.g. in a compared period
    ((24302, 24304), 30.0)
    """
    m = np.asarray(month, dtype=np.int64)
    m = m[m >= 0]
    extra = sorted({int(x) for x in span})
    if m.size == 0:
        return (), 0.0
    lo, hi = int(m.min()), int(m.max())
    counts = np.bincount(m - lo, minlength=hi - lo + 1)
    typical = float(np.median(counts[counts > 0]))
    if typical < min_typical:
        return (), typical
    out = {lo + int(i) for i in np.flatnonzero(counts == 0)}
    out |= {x for x in extra if x < lo or x > hi}
    return tuple(sorted(out)), typical


def data_span(month: np.ndarray) -> tuple[int, int] | None:
    """The data's first and last month (``year * 12 + month - 1``), None without dated incidents."""
    m = np.asarray(month, dtype=np.int64)
    m = m[m >= 0]
    return (int(m.min()), int(m.max())) if m.size else None


def missing_months_note(
    missing: Iterable[int], typical: float, where: str = "", span: tuple[int, int] | None = None, *, tail: bool = True,
    files: dict[int, list[str]] | None = None,
) -> str:
    """One sentence naming the missing months and what the change tests do with them.

    ``span``: the data's first and last month (:func:`data_span`); months outside it are named as
    lying beyond the data rather than as missing files. ``tail=False`` leaves out what the change
    tests do (a sentence that goes on says it). ``files``: the monthly files loaded but lost
    (:func:`files_not_kept` of the load report): a month among them is said to have been read and
    dropped or skipped, naming the file and why, not "probably not loaded or not published".
    """
    ms = sorted({int(x) for x in missing})
    if not ms:
        return ""
    inside = [m for m in ms if span is None or span[0] <= m <= span[1]]
    beyond = [m for m in ms if m not in set(inside)]
    lost = [m for m in inside if (files or {}).get(m)]
    unknown = [m for m in inside if m not in set(lost)]
    parts = []
    typ = f" while a typical month holds {typical:,.0f}" if typical > 0 else ""
    if unknown:
        parts.append(
            f"no data for {month_spans(unknown, sizes=True)}{where} (no incident at all{typ}; probably a monthly file not "
            "loaded or not published, or one skipped or emptied on loading: see the load report)"
        )
    if lost:
        parts.append(
            f"no data for {month_spans(lost, sizes=True)}{where} (no incident at all{typ}): "
            + lost_files_note(files or {}, lost)
        )
    if beyond and span is not None:
        parts.append(
            f"the periods reach beyond the data's months ({month_name(span[0])} – {month_name(span[1])}): no data for "
            f"{month_spans(beyond, sizes=True)}"
        )
    return "; ".join(parts) + (
        f": the before/after comparison leaves {'that month' if len(ms) == 1 else 'those months'} out of the periods' "
        "exposure and compares the months that hold data" if tail else ""
    )


def incomplete_months(
    month: np.ndarray, *, min_typical: int = MIN_TYPICAL_MONTH
) -> tuple[tuple[int, ...], dict[int, tuple[int, int, int]], float]:
    """Months published in part: far fewer incidents than a typical month and both neighbours.

    A month ``i`` with incidents qualifies when, with ``prev`` and ``next`` the nearest months with
    incidents on each side (a data set's first and last months are not judged):

    * its count is below :data:`INCOMPLETE_SHARE` of the typical month (the median over months with
      incidents, at least ``min_typical``), of ``prev``'s and of ``next``'s count, and
    * ``z = (log c_i - (log c_prev + log c_next) / 2) / (sqrt(0.75) s)`` is below
      :data:`INCOMPLETE_Z`, where ``s`` is the standard deviation of the log ratios of consecutive
      months with incidents, ``1.4826`` times their median absolute deviation (a dip adds two outlying
      ratios, which the median ignores), and at least ``sqrt(2 / typical)``, Poisson's.

    The spread comes from the series itself, so a noisy series must dip further; at least
    :data:`MIN_MONTHS_FOR_INCOMPLETE` months with incidents are needed.

    Parameters
    ----------
    month : ndarray of int
        Each incident's month, ``year * 12 + month - 1`` (negative: undated, ignored).
    min_typical : int
        A typical month must hold at least this many incidents.

    Returns
    -------
    (months, counts, typical) : (tuple of int, dict, float)
        The incomplete months in ascending order; for each, ``(count, prev count, next count)``;
        and the typical month's count.

    Examples
    --------
    >>> c = [1256, 1222, 1569, 1817, 1923, 1652, 2241, 430, 1546, 1644, 1314, 1183]  # Hampshire ASB, 2025
    >>> m = np.repeat(2025 * 12 + np.arange(12), c)
    >>> months, counts, typical = incomplete_months(m)
    >>> [month_label(x) for x in months], counts[months[0]], typical
    (['2025-08'], (430, 2241, 1546), 1557.5)
    """
    m = np.asarray(month, dtype=np.int64)
    m = m[m >= 0]
    if m.size == 0:
        return (), {}, 0.0
    lo = int(m.min())
    counts = np.bincount(m - lo)
    have = np.flatnonzero(counts)
    c = counts[have].astype(float)
    typical = float(np.median(c))
    if typical < min_typical or have.size < MIN_MONTHS_FOR_INCOMPLETE:
        return (), {}, typical
    lc = np.log(c)
    d = np.diff(lc)
    s = max(1.4826 * float(np.median(np.abs(d - np.median(d)))), float(np.sqrt(2.0 / typical)))
    z = (lc[1:-1] - (lc[:-2] + lc[2:]) / 2.0) / (np.sqrt(0.75) * s)
    share = INCOMPLETE_SHARE
    low = (c[1:-1] < share * typical) & (c[1:-1] < share * c[:-2]) & (c[1:-1] < share * c[2:]) & (z < INCOMPLETE_Z)
    out: dict[int, tuple[int, int, int]] = {}
    for j in np.flatnonzero(low) + 1:
        out[lo + int(have[j])] = (int(c[j]), int(c[j - 1]), int(c[j + 1]))
    return tuple(sorted(out)), out, typical


@dataclass(frozen=True, eq=False)
class MonthCoverage:
    """The months a data set does not cover, and why (:func:`month_coverage`).

    Attributes
    ----------
    missing : tuple of int
        Months with no incident at all while a typical month holds many, and months of the
        requested span beyond the data (:func:`missing_months`).
    incomplete : tuple of int
        Months published in part (:func:`incomplete_months`).
    counts : dict
        For each incomplete month, ``(count, previous month's, next month's)``.
    typical : float
        Incidents in a typical month (median over months with incidents).
    span : tuple of int or None
        The data's first and last month (:func:`data_span`).
    by_force : ForceMonths or None
        With the rows' forces (:func:`month_coverage`'s ``force``): the months in which a force has no rows
        while other forces' files cover them (:attr:`ForceMonths.absent`). Such a month is low because a
        force's file is missing, not published in part: it is never among ``incomplete``.
    """

    missing: tuple[int, ...] = ()
    incomplete: tuple[int, ...] = ()
    counts: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    typical: float = 0.0
    span: tuple[int, int] | None = None
    by_force: ForceMonths | None = None

    @property
    def absent(self) -> tuple[int, ...]:
        """Months a force lacks while other forces cover them (:attr:`by_force`), ascending."""
        return () if self.by_force is None else tuple(sorted({m for ms in self.by_force.absent.values() for m in ms}))

    @property
    def gone(self) -> tuple[int, ...]:
        """Every month the change tests leave out, ascending."""
        return tuple(sorted({*self.missing, *self.incomplete, *self.absent}))

    def kept(self, keep: Iterable[int]) -> MonthCoverage:
        """The same coverage with the months in ``keep`` (``Settings.keep_months`` as month numbers) no longer
        incomplete: the user says they are complete. A month with no data stays missing (nothing to keep)."""
        k = {int(x) for x in keep}
        inc = tuple(m for m in self.incomplete if m not in k)
        return replace(self, incomplete=inc, counts={m: v for m, v in self.counts.items() if m in inc})

    def note(self, where: str = "", only: Iterable[int] | None = None, files: dict[int, list[str]] | None = None) -> str:
        """One sentence naming the months (those in ``only``, when given) and what the change tests
        do with them; ``where`` qualifies the data (e.g. ``" in the analysed category"``); ``files``: the
        monthly files loaded but lost (:func:`files_not_kept`), named for their months."""
        keep = None if only is None else {int(x) for x in only}
        missing = [m for m in self.missing if keep is None or m in keep]
        incomplete = [m for m in self.incomplete if keep is None or m in keep]
        parts = []
        if self.by_force is not None:  # a force's file missing: said as such (ForceMonths.note), never "published in part"
            lacking = {f: tuple(m for m in ms if keep is None or m in keep) for f, ms in self.by_force.absent.items()}
            parts.append(ForceMonths(self.by_force.covers, lacking).note())
        if missing:
            parts.append(missing_months_note(missing, self.typical, where, span=self.span, tail=not incomplete, files=files))
        if incomplete:
            told = "; ".join(
                f"{month_name(m)} holds {n:,} incidents{where} against {p:,} and {q:,} in the months either side"
                for m, (n, p, q) in ((m, self.counts[m]) for m in incomplete)
            )
            them = "that month" if len(incomplete) == 1 else "those months"
            what = " out too" if missing else " out of the periods' exposure and compares the months that hold data"
            parts.append(
                f"{told} and {self.typical:,.0f} in a typical month (probably published in part): the before/after "
                f"comparison leaves {them}{what}"
            )
        return "; ".join(p for p in parts if p)


def month_coverage(month: np.ndarray, span: Iterable[int] = (), *, min_typical: int = MIN_TYPICAL_MONTH,
                   force: Iterable[object] | None = None) -> MonthCoverage:
    """The months the data do not cover: missing (:func:`missing_months`, over the data's months and
    ``span``), lacking a force's rows (with ``force``: :attr:`ForceMonths.absent`) and published in part
    (:func:`incomplete_months`, less the months a force lacks: one rule with :func:`force_months`, so that a month
    low because Surrey's file was left out of a Surrey + Sussex load is never said to be published in part).

    Parameters
    ----------
    month : ndarray of int
        Each incident's month, ``year * 12 + month - 1`` (negative: undated, ignored).
    span : iterable of int
        Further months to check (e.g. the compared periods').
    min_typical : int
        A typical month must hold at least this many incidents for either rule to apply.
    force : array-like of str, optional
        Each incident's force (police.uk's "Falls within"): judged month by month (:func:`force_months`).

    Examples
    --------
    >>> m = np.repeat(2025 * 12 + np.arange(8), [300, 310, 0, 290, 60, 305, 295, 300])
    >>> cov = month_coverage(m)
    >>> [month_label(x) for x in cov.gone]
    ['2025-03', '2025-05']
    """
    missing, typical = missing_months(month, span, min_typical=min_typical)
    incomplete, counts, _ = incomplete_months(month, min_typical=min_typical)
    by_force = None
    if force is not None:
        by_force = force_months(month, force, min_typical=min_typical)
        lacking = {m for ms in by_force.absent.values() for m in ms}
        incomplete = tuple(m for m in incomplete if m not in lacking)
        counts = {m: c for m, c in counts.items() if m not in lacking}
        by_force = ForceMonths(by_force.covers, {f: ms for f, ms in by_force.absent.items() if ms})
    return MonthCoverage(missing, incomplete, counts, typical, data_span(month), by_force)


def category_gaps(
    month: np.ndarray, category: np.ndarray, whole: MonthCoverage | None = None
) -> dict[int, list[tuple[str, int, float]]]:
    """Months missing or published in part in single categories though not in all of them together.

    Each category is judged on its own by :func:`month_coverage` (so only categories with a typical
    month of at least :data:`MIN_TYPICAL_MONTH` can have gaps); months that all categories together
    already lack are left out (a missing file, named on its own).

    Parameters
    ----------
    month : ndarray of int
        Each incident's month, ``year * 12 + month - 1``.
    category : array-like
        Each incident's category.
    whole : MonthCoverage, optional
        ``month_coverage(month)`` when the caller has it already (computed otherwise).

    Returns
    -------
    dict
        ``{month: [(category, incidents that month, typical month), ...]}``, months ascending.
    """
    import pandas as pd

    m = np.asarray(month, dtype=np.int64)
    lacking = set((whole if whole is not None else month_coverage(m)).gone)
    codes, names = pd.factorize(pd.Series(np.asarray(category, dtype=object)).astype(str), sort=True)
    out: dict[int, list[tuple[str, int, float]]] = {}
    for k, cat in enumerate(names):
        cover = month_coverage(m[codes == k])
        for g in sorted(set(cover.gone) - lacking):
            out.setdefault(g, []).append((str(cat), cover.counts.get(g, (0, 0, 0))[0], cover.typical))
    return dict(sorted(out.items()))


def unreliable_months_note(gaps: dict[int, list[tuple[str, int, float]]], months: Iterable[int]) -> str:
    """The note on ``months`` left out for every category because several categories are missing
    or published in part in them (``gaps`` from :func:`category_gaps`)."""
    parts = []
    for m in sorted({int(x) for x in months}):
        told = "; ".join(f"{cat} {n:,} against {typ:,.0f}" for cat, n, typ in gaps.get(m, []))
        n_cat = len(gaps.get(m, []))
        parts.append(f"{month_name(m)}: {n_cat} categories hold far fewer incidents than in a typical month ({told})")
    if not parts:
        return ""
    return "; ".join(parts) + (
        ": the file's categories are not to be trusted that month (published in part, or scrambled between categories), "
        "so the before/after comparison leaves it out whichever category is analysed"
    )


def loaded_months_note(month: np.ndarray, category: np.ndarray | None = None, force: np.ndarray | None = None,
                       keep: Iterable[int] = ()) -> str:
    """The loaders' warning on the months loaded (``""`` when there is nothing to say).

    Names the months with no incident between the data's first and last while a typical month holds
    many (a monthly file missing) or far fewer than a typical month and both neighbours (published
    in part: :func:`month_coverage`); with ``category``, each category busy enough is checked on its
    own too (:func:`category_gaps`: a file whose total is normal can hold only part of one category,
    Hampshire's August 2025).

    Parameters
    ----------
    month : ndarray of int
        Each incident's month, ``year * 12 + month - 1`` (negative: undated, ignored).
    category : array-like, optional
        Each incident's category.
    force : array-like, optional
        Each incident's force: a month a force lacks is said so, not "published in part" (:func:`month_coverage`).
    keep : iterable of int
        Months the user says are complete (``Settings.keep_months`` as month numbers): not said to be left out.
    """
    keep = {int(k) for k in keep}
    whole = month_coverage(month, force=force).kept(keep)  # the one keep rule, as the analysis applies it
    parts = [whole.note()] if whole.gone else []
    if category is not None:
        gaps = {m: c for m, c in category_gaps(month, category, whole).items() if m not in keep}
        parts.append(unreliable_months_note(gaps, [m for m, c in gaps.items() if len(c) >= MIN_CATEGORIES_UNRELIABLE]))
        for m, ((cat, n, typ),) in ((m, c) for m, c in gaps.items() if len(c) < MIN_CATEGORIES_UNRELIABLE):
            parts.append(
                f"{month_name(m)}: {cat} holds {counted(n, 'incident')} against {typ:,.0f} in a typical month "
                "and far fewer than in the months either side (probably published in part): the before/after comparison "
                "leaves that month out when it is analysed"
            )
    return "; ".join(p for p in parts if p)


#: Months separated from the rest of the data by at least this many months without any incident ...
STRAY_GAP = 12

#: ... and holding, all of them on that side together, less than this share of the incidents are
#: *stray* (:func:`stray_months`): a mistyped or stale date, not a period of the data.
STRAY_SHARE = 0.01

#: Months after a shorter run of at least this many months without any incident are stray too when
#: they are tiny: each holds less than :data:`STRAY_TINY` of the median month of the rest (two rows
#: mistyped 2026-06 in a 2025 data set, five empty months after December).
STRAY_SHORT_GAP = 3

#: See :data:`STRAY_SHORT_GAP`.
STRAY_TINY = 0.05


@dataclass(frozen=True, eq=False)
class StrayMonths:
    """Months far from the bulk of the data in time, holding few incidents (:func:`stray_months`).

    Attributes
    ----------
    before, after : tuple of int
        The stray months before and after the rest of the data, ascending.
    incidents : dict
        For each stray month, how many incidents it holds.
    span : tuple of int or None
        The rest of the data's first and last month (None without dated incidents).
    """

    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    incidents: dict[int, int] = field(default_factory=dict)
    span: tuple[int, int] | None = None

    @property
    def months(self) -> tuple[int, ...]:
        """Every stray month, ascending."""
        return (*self.before, *self.after)

    def mask(self, month: np.ndarray) -> np.ndarray:
        """Which of the incidents (``month`` as :func:`stray_months` took it) lie in a stray month."""
        return np.isin(np.asarray(month, dtype=np.int64), np.asarray(self.months, dtype=np.int64))

    def note(self) -> str:
        """One sentence per side naming the stray months' incidents, how far they lie from the rest of
        the data, and the fix; ``""`` when there are none."""
        if not self.months or self.span is None:
            return ""
        rest = f"{month_name(self.span[0])} – {month_name(self.span[1])}"
        parts = []
        for side, ms in (("before", self.before), ("after", self.after)):
            if not ms:
                continue
            n = sum(self.incidents[m] for m in ms)
            gap = self.span[0] - ms[-1] - 1 if side == "before" else ms[0] - self.span[1] - 1
            them = "its Month" if n == 1 else "their Month"
            parts.append(
                f"{counted(n, 'incident')} dated {month_spans(ms, sizes=True)}, {gap} months {side} the rest "
                f"of the data ({rest}) with no incident between: left out as 'stray month' (a mistyped or stale date, not "
                f"a period of the data); check {them}"
            )
        return "; ".join(parts)


def stray_months(
    month: np.ndarray,
    *,
    gap: int = STRAY_GAP,
    share: float = STRAY_SHARE,
    short_gap: int = STRAY_SHORT_GAP,
    tiny: float = STRAY_TINY,
) -> StrayMonths:
    """Months before or after a run of at least ``gap`` months without any incident that together
    hold less than ``share`` of the dated incidents; and tiny months (each under ``tiny`` of the
    median month of the rest, together under ``share``) after a run of at least ``short_gap``.

    Such months do not belong to the data's span: one row dated 2019 in a 2025 data set would
    otherwise set its first month, the default before/after periods and every month-by-month
    reading. On each side, the furthest-in gap whose outer side holds under ``share`` of the
    incidents cuts the stray months off; a data set with a genuine gap year keeps both sides,
    since each holds far more.

    Parameters
    ----------
    month : ndarray of int
        Each incident's month, ``year * 12 + month - 1`` (negative: undated, ignored).
    gap : int
        Months without any incident needed between stray months and the rest.
    share : float
        The stray months on one side hold less than this share of the dated incidents.
    short_gap : int
        Months without any incident needed between *tiny* stray months and the rest.
    tiny : float
        Each tiny stray month holds less than this share of the median month of the rest.

    Returns
    -------
    StrayMonths

    Examples
    --------
    >>> m = np.r_[np.repeat(2025 * 12 + np.arange(12), 50), 2019 * 12 + 2]  # 600 in 2025, one in Mar 2019
    >>> s = stray_months(m)
    >>> [month_label(x) for x in s.months], s.note()[:52]
    (['2019-03'], '1 incident dated Mar 2019, 69 months before the rest')
    >>> stray_months(np.repeat([2023 * 12, 2025 * 12], 300)).months  # a genuine gap: both sides hold half
    ()
    """
    m = np.asarray(month, dtype=np.int64)
    m = m[m >= 0]
    if m.size == 0:
        return StrayMonths()
    ms, n = np.unique(m, return_counts=True)
    total = float(n.sum())
    cut = np.flatnonzero(np.diff(ms) > gap)  # a gap lies between ms[i] and ms[i + 1]
    below = np.cumsum(n) / total
    lo = max((int(i) + 1 for i in cut if below[i] < share), default=0)
    hi = min((int(i) + 1 for i in cut if 1.0 - below[i] < share), default=len(ms))
    lo, hi = _tiny_ends(ms, n, lo, hi, short_gap=short_gap, tiny=tiny, share=share)
    if lo >= hi:  # no bulk left between: nothing is stray
        return StrayMonths(span=(int(ms[0]), int(ms[-1])))
    counts = {int(a): int(b) for a, b in zip(ms[:lo].tolist() + ms[hi:].tolist(), n[:lo].tolist() + n[hi:].tolist())}
    return StrayMonths(
        tuple(int(x) for x in ms[:lo]), tuple(int(x) for x in ms[hi:]), counts, (int(ms[lo]), int(ms[hi - 1]))
    )


# --- Months covered per force, months far short of a typical month, and files dropped on loading ---

#: A month holding rows, but fewer a day than this share of its force's typical month's (the median month's
#: rows a day), is taken as published in part (:func:`force_months`) when the rows hold at least
#: :data:`MANY_CATEGORIES` categories (police.uk's street files hold 14): the 41 forces' 2025 files, every
#: category, lie at 0.82-1.27 of their median month a day (474 force-months) ...
SHORT_SHARE_MANY = 0.75

#: ... and this share when they hold fewer (one category's months vary more with the season: 2025
#: anti-social behaviour lies at 0.53-1.4 of the median month, Hampshire's part-published August apart).
SHORT_SHARE = 0.5

#: Categories the rows must hold for :data:`SHORT_SHARE_MANY` to apply.
MANY_CATEGORIES = 5

#: ... and fewer than the typical month less this many Poisson standard deviations (so that a sparse
#: series' chance low is never taken for a partial file).
SHORT_SD = 5.0

#: Months with rows a force needs before any of its months can be judged short (a median of fewer is no typical month).
MIN_MONTHS_FOR_SHORT = 3


@dataclass(frozen=True, eq=False)
class ForceMonths:
    """The months each force in the data covers, and the months that are incomplete for the study area
    (:func:`force_months`).

    Attributes
    ----------
    covers : dict
        ``{force: months with its rows}`` for each force judged (a typical month of at least
        :data:`MIN_TYPICAL_MONTH` rows); the key is ``""`` when the data name no force.
    absent : dict
        ``{force: months}``: months in which other forces' rows are present but this force has none.
    short : dict
        ``{force: {month: (rows, typical month)}}``: months holding far fewer rows than the force's typical
        month (probably published in part or truncated).
    kept : tuple of int
        Months the caller asked to keep (not flagged as short whatever they hold).
    """

    covers: dict[str, tuple[int, ...]] = field(default_factory=dict)
    absent: dict[str, tuple[int, ...]] = field(default_factory=dict)
    short: dict[str, dict[int, tuple[int, float]]] = field(default_factory=dict)
    kept: tuple[int, ...] = ()

    @property
    def gone(self) -> tuple[int, ...]:
        """Every month incomplete for the study area, ascending."""
        out = {m for ms in self.absent.values() for m in ms} | {m for d in self.short.values() for m in d}
        return tuple(sorted(out))

    def note(self) -> str:
        """The warning: per force, the months it lacks or holds in part, the months it covers and the fix;
        ``""`` when every month is complete."""
        parts = []
        for f, ms in self.absent.items():
            if not ms:
                continue
            them = "that month" if len(ms) == 1 else "those months"
            parts.append(
                f"{f} has no rows in {month_spans(ms)} (it covers {month_spans(self.covers.get(f, ()))}) "
                f"while other forces' files cover {them}: {them} would compare a study area with {f} against one without "
                f"it, so the before/after comparison leaves {them} out; add {f}'s files for {month_spans(ms)}, or leave "
                f"its files out of the input"
            )
        for f, d in self.short.items():
            if not d:
                continue
            who = f"{f}'s" if f else "the"
            told = "; ".join(
                f"{month_name(m)} holds {counted(n, 'row')} (every category loaded) against {typ:,.0f} in {who} typical "
                "month of its length"
                for m, (n, typ) in sorted(d.items())
            )
            them = "that month" if len(d) == 1 else "those months"
            parts.append(
                f"{told}: probably published in part or a truncated file, so the before/after comparison leaves {them} "
                f"out (download the month's file again; to keep it, give {shown('keep_months')} "
                f"{','.join(month_label(m) for m in sorted(d))})"
            )
        return "; ".join(parts)


def force_months(
    month: np.ndarray,
    force: Iterable[object] | None = None,
    *,
    keep: Iterable[int] = (),
    edges: bool = True,
    min_typical: int = MIN_TYPICAL_MONTH,
    category: Iterable[object] | None = None,
) -> ForceMonths:
    """Months each force covers, and the months incomplete for the study area.

    Judged on every row loaded (every category, before the category filter: thousands a month),
    force by force (police.uk's "Falls within"); a force is judged when its typical month (the
    median over its months with rows) holds at least ``min_typical`` rows.

    * **absent**: a month of the data (from the first month with any row to the last) in which the
      force has no row while other forces have some: a study area with the force would be compared
      with one without it (another force's stray monthly file, or a force's months not all loaded).
    * **short**: a month holding rows, but fewer a day than a share of the force's typical month's
      (the median over its months with rows, per day: February is not short for its 28 days) and
      fewer than the typical month less :data:`SHORT_SD` Poisson standard deviations, with at least
      :data:`MIN_MONTHS_FOR_SHORT` months with rows (a truncated file, a month published in part).
      The share is :data:`SHORT_SHARE_MANY` (0.75) when the force's rows hold at least
      :data:`MANY_CATEGORIES` categories, else :data:`SHORT_SHARE` (0.5). Seasonal variation does not
      come near: every force's 2025 police.uk months, every category, lie at 0.82–1.27 of their median
      month a day (no false alarm in 474 force-months); anti-social behaviour alone at 0.53 and above.
      ``edges=False`` leaves the data's first and last month unjudged (a day-dated export's partial
      first or last month is handled by the periods' own edges).

    Parameters
    ----------
    month : ndarray of int
        Each row's month, ``year * 12 + month - 1`` (negative: undated, ignored).
    force : array-like of str, optional
        Each row's force (None, or empty names: one data set).
    keep : iterable of int
        Months never judged short or absent (the user says they are complete).
    edges : bool
        Judge the first and last month of the data as short too.
    min_typical : int
        A force is judged when its typical month holds at least this many rows.
    category : array-like of str, optional
        Each row's category (None: taken as one category).

    Returns
    -------
    ForceMonths

    Examples
    --------
    >>> jan = 2025 * 12
    >>> m = np.r_[np.repeat(jan + np.arange(6), 100), np.repeat(jan + 2, 80)]  # force A Jan-Jun, force B March only
    >>> f = ["A"] * 600 + ["B"] * 80
    >>> [month_label(x) for x in force_months(m, f).gone]
    ['2025-01', '2025-02', '2025-04', '2025-05', '2025-06']
    >>> m = np.repeat(jan + np.arange(4), [3100, 2800, 3100, 1000])  # April cut to a third
    >>> fm = force_months(m)
    >>> [month_label(x) for x in fm.gone], fm.short[""][jan + 3]
    (['2025-04'], (1000, 3000.0))
    """
    import pandas as pd

    m = np.asarray(month, dtype=np.int64)
    if force is None:
        codes, labels = np.zeros(m.size, dtype=np.int64), [""]
    else:  # factorised first: the names are cleaned once each, not once a row
        raw, uniq = pd.factorize(np.asarray(force, dtype=object))
        clean = ["" if u is None or u != u else str(u).strip() for u in uniq] + [""]
        ids, labels_idx = pd.factorize(pd.Series(clean, dtype=object))
        codes, labels = ids[raw], [str(x) for x in labels_idx]  # raw -1 (missing) picks the appended ""
    ok = m >= 0
    cats = None if category is None else pd.factorize(np.asarray(category, dtype=object))[0][ok]
    m, codes = m[ok], codes[ok]
    if m.size == 0:
        return ForceMonths()
    lo, hi = int(m.min()), int(m.max())
    total = np.bincount(m - lo, minlength=hi - lo + 1)
    kept = {int(x) for x in keep}
    covers: dict[str, tuple[int, ...]] = {}
    absent: dict[str, tuple[int, ...]] = {}
    short: dict[str, dict[int, tuple[int, float]]] = {}
    for k in sorted(np.unique(codes).tolist(), key=lambda k: labels[k]):
        f, mine = labels[k], codes == k
        c = np.bincount(m[mine] - lo, minlength=hi - lo + 1)
        have = np.flatnonzero(c)
        typical = float(np.median(c[have]))
        if typical < min_typical:
            continue
        covers[f] = tuple(lo + int(i) for i in have)
        gap = [lo + int(i) for i in np.flatnonzero((c == 0) & (total > 0)) if lo + int(i) not in kept]
        if gap:
            absent[f] = tuple(gap)
        if have.size >= MIN_MONTHS_FOR_SHORT:
            n_cat = 1 if cats is None else int(np.unique(cats[mine]).size)
            share = SHORT_SHARE_MANY if n_cat >= MANY_CATEGORIES else SHORT_SHARE
            days = np.array([calendar.monthrange((lo + i) // 12, (lo + i) % 12 + 1)[1] for i in range(hi - lo + 1)], float)
            per_day = float(np.median(c[have] / days[have]))
            limit = np.minimum(share * per_day * days, per_day * days - SHORT_SD * np.sqrt(per_day * days))
            judged = have if edges else have[(have > 0) & (have < hi - lo)]
            low = {
                lo + int(i): (int(c[i]), round(float(per_day * days[i]), 1))
                for i in judged if c[i] < limit[i] and lo + int(i) not in kept
            }
            if low:
                short[f] = low
    return ForceMonths(covers, absent, short, tuple(sorted(kept)))




def _base_name(name: str) -> str:
    """A file's name without its folders (``/`` or ``\\``)."""
    return re.split(r"[/\\]", str(name))[-1]


def files_not_kept(report: object) -> dict[int, list[str]]:
    """From a loader's report (:class:`hotspots.report.LoadReport`): the monthly files, by the month their
    names give, that were skipped as unreadable or read with none of their rows kept, each as
    ``"<file>: why"``.

    A month with no data whose file is among them was loaded and lost, not unpublished
    (:func:`missing_months_note`).
    """
    from .io.months import name_month

    out: dict[int, list[str]] = {}
    if report is None:
        return out
    reports = list(getattr(report, "files", None) or [report])
    for r in reports:
        name, read, kept = str(getattr(r, "source", "")), int(getattr(r, "rows_read", 0)), int(getattr(r, "rows_kept", 0))
        m = name_month(name, anywhere=True)  # the one month-from-name rule (io.months)
        if m is None or kept > 0:
            continue
        if read == 0:
            why = "read, but it holds no rows"
        else:
            dropped = getattr(r, "dropped", {}) or {}
            reasons = ", ".join(f"{k}: {v:,}" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]))
            why = f"read, but all its {read:,} rows were dropped" + (f" ({reasons})" if reasons else "")
        out.setdefault(m, []).append(f"{_base_name(name)}: {why}")
    prefix = "skipped unreadable file "
    for w in getattr(report, "warnings", ()) or ():
        if not str(w).startswith(prefix):
            continue
        name, _, why = str(w)[len(prefix):].partition(": ")
        m = name_month(name, anywhere=True)  # the one month-from-name rule (io.months)
        if m is None:
            continue
        why = re.sub(r" \(found: .*", "", why.split("; ")[0]).removeprefix(f"{name} ")
        out.setdefault(m, []).append(f"{name}: skipped as unreadable ({why})")
    return out


def lost_files_note(files: dict[int, list[str]], months: Iterable[int]) -> str:
    """For the ``months`` with no data whose file was read but lost (:func:`files_not_kept`): which file and why."""
    told = [f"{'; '.join(files[m])}" for m in sorted({int(x) for x in months}) if files.get(m)]
    if not told:
        return ""
    return f"the month's file was read but gave no incident: {'; '.join(told)} (fix the file and load it again)"


def _tiny_ends(ms: np.ndarray, n: np.ndarray, lo: int, hi: int, *, short_gap: int, tiny: float, share: float) -> tuple[int, int]:
    """:func:`stray_months`' bulk ``ms[lo:hi]`` less tiny months at either end beyond a run of at
    least ``short_gap`` empty months (each under ``tiny`` of the median month of the rest, together
    under ``share`` of the incidents)."""
    total = float(n.sum())
    cut = [int(i) for i in np.flatnonzero(np.diff(ms) > short_gap) if lo <= i < hi - 1]
    for i in cut:  # furthest in first on the left: the last cut that qualifies wins
        rest = n[i + 1 : hi]
        if n[lo : i + 1].max() < tiny * np.median(rest) and n[: i + 1].sum() < share * total:
            lo = i + 1
    for i in reversed(cut):
        if i + 1 >= hi or i + 1 <= lo:
            continue
        rest = n[lo : i + 1]
        if n[i + 1 : hi].max() < tiny * np.median(rest) and n[i + 1 :].sum() < share * total:
            hi = i + 1
    return lo, hi
