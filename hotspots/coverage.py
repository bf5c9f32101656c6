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

The change tests (:func:`hotspots.period_split.split_periods` and
:func:`hotspots.change_model.monthly_panel`) leave a missing month out of the periods' exposure
(the days counted) and out of the monthly panel: the rates compare the months that hold data.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable

import numpy as np

from ._errors import ParameterError

__all__ = [
    "MIN_TYPICAL_MONTH", "data_span", "missing_months", "missing_months_note", "month_label", "month_number", "months_between",
]

#: A month with no incident is taken as missing from the data when a typical month (the median
#: over months with incidents) holds at least this many.
MIN_TYPICAL_MONTH = 20


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


def _month_name(m: int) -> str:
    return f"{calendar.month_abbr[int(m) % 12 + 1]} {int(m) // 12}"


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


def _names(ms: list[int]) -> str:
    return ", ".join(_month_name(x) for x in ms[:12]) + (f" and {len(ms) - 12} more" if len(ms) > 12 else "")


def missing_months_note(missing: Iterable[int], typical: float, where: str = "", span: tuple[int, int] | None = None) -> str:
    """One sentence naming the missing months and what the change tests do with them.

    ``span``: the data's first and last month (:func:`data_span`); months outside it are named as
    lying beyond the data rather than as missing files.
    """
    ms = sorted({int(x) for x in missing})
    if not ms:
        return ""
    inside = [m for m in ms if span is None or span[0] <= m <= span[1]]
    beyond = [m for m in ms if m not in set(inside)]
    parts = []
    if inside:
        typ = f" while a typical month holds {typical:,.0f}" if typical > 0 else ""
        parts.append(
            f"no data for {_names(inside)}{where} (no incident at all{typ}; probably a monthly file not loaded or not "
            "published)"
        )
    if beyond and span is not None:
        parts.append(
            f"the periods reach beyond the data's months ({_month_name(span[0])} – {_month_name(span[1])}): no data for "
            f"{_names(beyond)}"
        )
    return "; ".join(parts) + (
        ": the before/after comparison leaves those months out of the periods' exposure and compares the months that "
        "hold data"
    )
