"""Scheme KPIs from referrals, with small-number suppression for display.

:func:`scheme_kpis` computes, overall and per group (month, offence, route, age group, hotspot or
any column), the figures the immediate justice scheme reports; :func:`referral_funnel` and
:func:`monthly_referrals` count referrals through the stages referred → contacted → booked →
completed.

Definitions (per group; ``n`` columns are counts of referrals)
--------------------------------------------------------------
``referrals``
    Referrals in the group.
``completed``, ``refused``, ``withdrawn``, ``in_progress``, ``outcome_not_recorded``
    Referrals by outcome. ``concluded`` = completed + refused + withdrawn.
``completed_pct``, ``refused_pct``, ``withdrawn_pct``
    Shares of **concluded** referrals: referrals still in progress have no outcome yet and
    would otherwise drag completion down while the scheme grows.
``followup_eligible``, ``not_reoffended``, ``not_reoffended_pct``
    Re-offending within ``follow_up_months`` of the referral. Only referrals whose follow-up
    window has ended by the day ``as_of`` (referred on or before the day ``as_of − follow_up_months``) **and** whose
    ``reoffended`` is recorded count; with ``reoffending_base="completed"`` only completed ones.
    The window is stated in :attr:`KPITable.window`.
``victim_responses``, ``victims_satisfied``, ``victim_satisfied_pct``
    Among referrals whose victim answered (``victim_satisfied`` not missing).
``contacted_48h``, ``contacted_48h_pct``
    The scheme's target: ``contacted_at`` recorded and within ``contact_hours`` of
    ``referred_at``. The denominator is **all referrals**: a missing contact time counts as not
    within 48 h (the target is met only when it is shown to be met).
``contacted_booked_48h``, ``contacted_booked_48h_pct``
    Both ``contacted_at`` and ``task_booked_at`` recorded and each within ``contact_hours`` of
    ``referred_at``; same denominator. When the data hold no booking time at all (the column
    is blank), the display tables show :data:`NOT_RECORDED` instead of 0 (see below). Times
    before the referral are treated as data errors, counted as not within, and reported in
    :attr:`KPITable.notes`; so are times more than :data:`IMPLAUSIBLE_DELAY_DAYS` days after
    it (usually a wrong year or a date from another record).
``median_hours_to_contact``
    Median of ``contacted_at − referred_at`` in hours, among referrals contacted (not before
    the referral).
``first_time_entrant_recorded``, ``first_time_entrants``, ``first_time_entrant_pct``
    Share among referrals where ``first_time_entrant`` is recorded.
``contact_recorded``, ``booking_recorded`` (raw only)
    True when any referral in the data has a ``contacted_at`` / ``task_booked_at`` time. A
    measure that needs a time the data never record is shown as :data:`NOT_RECORDED` (the
    funnel says "booked: not recorded", not 0 booked before 303 completed):
    :data:`NEEDS_CONTACT` and :data:`NEEDS_BOOKING` list them.

Disclosure control
------------------
:attr:`KPITable.raw` holds the exact numbers, **for internal use only**. :attr:`KPITable.table`
is for display and export, protected by :mod:`hotspots.disclosure` (one rule for every output):

* a count of people from 1 to ``threshold − 1`` is shown as ``"<5"``; zero is shown;
* a row (group) of fewer than ``threshold`` people shows only its size; the rest is ``"x"``, and
  so is any breakdown of a base under the threshold (e.g. outcomes among 3 concluded referrals);
* secondary suppression (``"c"``) until no hidden count and no small *implied* count (who
  re-offended = eligible − not re-offended, victims not satisfied, ...) can be worked out from
  the table by an integer-programming reader who knows that ``"<5"`` is 1–4 and ``"c"`` is 0 or
  at least 5;
* percentages are whole percent, from shown counts only: ``"<1"`` (``"<P"``) when the numerator
  is a small count and ``">99"`` (``">Q"``) when the complement is, ``"c"`` when a count behind it
  is hidden; medians are ``"x"`` when fewer than :data:`~hotspots.disclosure.MEDIAN_MIN_PEOPLE` (10) people are behind them;
* column ``suppressed`` is True in rows with any hidden value; :attr:`KPITable.suppressed` marks
  the hidden cells.

``protect_implied=False`` leaves small implied complements unprotected (a rate such as 870 of
874 victims satisfied is then shown as 100 %); the default protects them (">99").

This protects one table. Several tables of the same referrals published together (the KPIs by
month and by offence, referrals per hotspot, referral squares on a map) must be protected
together: :func:`hotspots.publication.publish_scheme` does that for everything an analysis
publishes, and the exports and the app take their tables from it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import validation
from ._errors import ParameterError, SchemaError
from .disclosure import (
    SECONDARY,
    SUPPRESSED,
    SUPPRESSION_THRESHOLD,
    WITHHELD,
    Ledger,
    Protection,
    check_threshold,
    median_shown,
    person_codes,
    protect,
    render_table,
)
from .schema import AGE_GROUPS, OFFENCES, OUTCOMES, ROUTES

__all__ = [
    "IMPLAUSIBLE_DELAY_DAYS",
    "group_order_key",
    "KPI_PCTS",
    "NEEDS_BOOKING",
    "NEEDS_CONTACT",
    "NOT_RECORDED",
    "PEOPLE_FIELDS",
    "ROW_MEASURES",
    "SECONDARY",
    "SUPPRESSED",
    "TOTAL_LABEL",
    "WITHHELD",
    "KPIRows",
    "KPITable",
    "when_text",
    "add_kpi_rows",
    "funnel_display",
    "kpi_display",
    "kpi_rows",
    "monthly_referrals",
    "not_recorded_measures",
    "referral_funnel",
    "scheme_kpis",
]
#: Label of the total row.
TOTAL_LABEL = "All"
#: Group label for referrals with no value in the grouping column.
NOT_RECORDED = "not recorded"
#: A contact or booking more than this many days after the referral is reported as implausible
#: (a data-quality note; the referral still counts as not contacted and booked in time).
IMPLAUSIBLE_DELAY_DAYS = 90

_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False, "1": True, "0": False}

# Counts shown in the KPI table, and counts only implied by them (complements).
_KPI_COUNTS = [
    "referrals", "completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded", "concluded",
    "followup_eligible", "not_reoffended", "victim_responses", "victims_satisfied", "contacted_48h",
    "contacted_booked_48h", "first_time_entrant_recorded", "first_time_entrants",
]
_KPI_IMPLIED = [
    "reoffended", "victims_not_satisfied", "not_contacted_booked_48h", "not_first_time_entrants", "fte_not_recorded",
    "concluded_not_completed", "not_eligible", "no_victim_response", "not_contacted_48h", "contacted_48h_not_booked_48h",
]
_KPI_ROW_RELATIONS = [
    ("referrals", ["completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded"]),
    ("concluded", ["completed", "refused", "withdrawn"]),
    ("referrals", ["concluded", "in_progress", "outcome_not_recorded"]),
    ("concluded", ["completed", "concluded_not_completed"]),
    ("concluded_not_completed", ["refused", "withdrawn"]),
    ("referrals", ["followup_eligible", "not_eligible"]),
    ("followup_eligible", ["not_reoffended", "reoffended"]),
    ("referrals", ["victim_responses", "no_victim_response"]),
    ("victim_responses", ["victims_satisfied", "victims_not_satisfied"]),
    ("referrals", ["contacted_booked_48h", "not_contacted_booked_48h"]),
    ("referrals", ["contacted_48h", "not_contacted_48h"]),
    ("contacted_48h", ["contacted_booked_48h", "contacted_48h_not_booked_48h"]),
    ("referrals", ["first_time_entrant_recorded", "fte_not_recorded"]),
    ("first_time_entrant_recorded", ["first_time_entrants", "not_first_time_entrants"]),
]
#: Percentage column -> (numerator, denominator): the one list of the scheme's rates.
KPI_PCTS = {
    "completed_pct": ("completed", "concluded"),
    "refused_pct": ("refused", "concluded"),
    "withdrawn_pct": ("withdrawn", "concluded"),
    "not_reoffended_pct": ("not_reoffended", "followup_eligible"),
    "victim_satisfied_pct": ("victims_satisfied", "victim_responses"),
    "contacted_48h_pct": ("contacted_48h", "referrals"),
    "contacted_booked_48h_pct": ("contacted_booked_48h", "referrals"),
    "first_time_entrant_pct": ("first_time_entrants", "first_time_entrant_recorded"),
}
# ... and the implied complement each rate gives away (">99" when it is small)
_KPI_PCT_COMPLEMENTS = {
    "completed_pct": "concluded_not_completed",
    "not_reoffended_pct": "reoffended",
    "victim_satisfied_pct": "victims_not_satisfied",
    "contacted_48h_pct": "not_contacted_48h",
    "contacted_booked_48h_pct": "not_contacted_booked_48h",
    "first_time_entrant_pct": "not_first_time_entrants",
}
# base -> counts breaking it down (withheld when the base is 1 to threshold - 1)
_KPI_BASES = {
    "concluded": ["completed", "refused", "withdrawn"],
    "followup_eligible": ["not_reoffended"],
    "victim_responses": ["victims_satisfied"],
    "first_time_entrant_recorded": ["first_time_entrants"],
}
#: Raw columns holding the number of distinct people behind a group's size and each base (when the
#: referrals have ``person_ref``): what the disclosure rule measures a group by.
PEOPLE_FIELDS = {"referrals": "people", "concluded": "people_concluded", "followup_eligible": "people_followup_eligible",
                 "victim_responses": "people_victim_responses", "first_time_entrant_recorded": "people_fte_recorded"}
#: Raw column: the distinct people behind ``median_hours_to_contact`` (those validly contacted).
MEDIAN_PEOPLE = "people_contacted"
_KPI_DISPLAY = [
    "referrals", "completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded", "concluded",
    "completed_pct", "refused_pct", "withdrawn_pct", "followup_eligible", "not_reoffended", "not_reoffended_pct",
    "victim_responses", "victims_satisfied", "victim_satisfied_pct", "contacted_48h", "contacted_48h_pct",
    "contacted_booked_48h", "contacted_booked_48h_pct", "median_hours_to_contact", "first_time_entrant_recorded",
    "first_time_entrants", "first_time_entrant_pct",
]

# The referral funnel, counted in the same rows (``referrals`` is the "referred" stage).
_FUNNEL_COUNTS = ["contacted", "booked"]
_FUNNEL_IMPLIED = [
    "not_contacted", "not_booked", "not_completed", "contacted_not_48h", "booked_not_48h", "contacted_late",
]
_FUNNEL_ROW_RELATIONS = [
    ("referrals", ["contacted", "not_contacted"]),
    ("referrals", ["booked", "not_booked"]),
    ("referrals", ["completed", "not_completed"]),
    # contacted and booked within 48 h needs both times: it is part of each stage
    ("contacted", ["contacted_booked_48h", "contacted_not_48h"]),
    ("booked", ["contacted_booked_48h", "booked_not_48h"]),
    ("contacted", ["contacted_48h", "contacted_late"]),
]
#: Every count in a KPI row (shown and implied, with the funnel): the measures that add up across groups.
ROW_MEASURES = tuple(_KPI_COUNTS + _KPI_IMPLIED + _FUNNEL_COUNTS + _FUNNEL_IMPLIED)
#: The funnel's shares, each of all referred (named so: the KPI tables' ``completed_pct`` is of concluded).
_FUNNEL_PCTS = {
    "contacted_of_referred_pct": ("contacted", "referrals", "not_contacted"),
    "booked_of_referred_pct": ("booked", "referrals", "not_booked"),
    "completed_of_referred_pct": ("completed", "referrals", "not_completed"),
}
#: Display columns (KPI and funnel tables) that need a contact time / a booking time: shown as
#: :data:`NOT_RECORDED` when the data hold none (raw ``contact_recorded`` / ``booking_recorded`` False).
NEEDS_CONTACT = ("contacted", "contacted_of_referred_pct", "contacted_48h", "contacted_48h_pct", "contacted_booked_48h",
                 "contacted_booked_48h_pct", "median_hours_to_contact")
NEEDS_BOOKING = ("booked", "booked_of_referred_pct", "contacted_booked_48h", "contacted_booked_48h_pct")


def not_recorded_measures(raw: pd.DataFrame) -> tuple[str, ...]:
    """The display columns of :data:`NEEDS_CONTACT` / :data:`NEEDS_BOOKING` whose times the data never record.

    ``raw`` is a KPI or funnel ``raw`` table (:func:`kpi_rows`, :func:`referral_funnel`) with the
    columns ``contact_recorded`` and ``booking_recorded``; without them nothing is "not recorded".
    """
    out: list[str] = []
    for flag, cols in (("contact_recorded", NEEDS_CONTACT), ("booking_recorded", NEEDS_BOOKING)):
        if flag in raw.columns and len(raw) and not bool(raw[flag].any()):
            out += [c for c in cols if c not in out]
    return tuple(out)


def _mark_not_recorded(table: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the columns of :func:`not_recorded_measures` set to :data:`NOT_RECORDED`."""
    cols = [c for c in not_recorded_measures(raw) if c in table.columns]
    if cols:
        table = table.copy()
        for c in cols:
            table[c] = NOT_RECORDED
    return table


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class KPITable:
    """KPIs per group: exact numbers for internal use and a suppressed table for display.

    Attributes
    ----------
    raw : DataFrame
        Exact counts, percentages (0–100, NaN when the denominator is 0) and medians, one row
        per group plus the total row (:data:`TOTAL_LABEL`) last; also the implied complement
        counts. **Not for publication.**
    table : DataFrame
        Display version: hidden counts ``"<5"`` (small) or ``"c"`` (hidden against
        differencing), hidden percentages ``"c"``, percentages rounded to whole percent (to 1
        decimal with ``protect_implied=True``), hours to 1 decimal, and a ``suppressed`` column.
    suppressed : DataFrame of bool
        True where ``table`` hides a value (same index and value columns as ``table``).
    by : str or None
        Grouping column (the first column of both tables is named after it, or ``"group"``).
    threshold : int
        Counts below this (and above 0) are suppressed.
    as_of : Timestamp or None
        Date the follow-up windows are judged against (KPI tables only).
    followup_cutoff : Timestamp or None
        Referrals on or before this date have a complete follow-up window.
    follow_up_months, contact_hours : int, float or None
    window : str
        The re-offending window in words, for captions.
    notes : tuple of str
        Data problems and decisions worth showing.
    params : dict
        All arguments, for sidecars.
    """

    raw: pd.DataFrame
    table: pd.DataFrame
    suppressed: pd.DataFrame
    by: str | None
    threshold: int
    as_of: pd.Timestamp | None = None
    followup_cutoff: pd.Timestamp | None = None
    follow_up_months: int | None = None
    contact_hours: float | None = None
    window: str = ""
    notes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> pd.Series:
        """The display row for all referrals."""
        return self.table.iloc[-1]

    @property
    def any_suppressed(self) -> bool:
        return bool(self.suppressed.to_numpy().any())


# =============================================================================== input checks
def _to_datetime(s: pd.Series, name: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, errors="coerce", format="mixed")
        except (TypeError, ValueError):
            raise SchemaError(f"column `{name}` must hold date-times; its values cannot be read as dates.") from None
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return s.astype("datetime64[ns]")


def _to_nullable_bool(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")

    def conv(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[v.strip().lower()]
        if isinstance(v, str) and v.strip() == "":
            return pd.NA
        raise KeyError(v)

    try:
        return pd.Series([conv(v) for v in s.tolist()], index=s.index, dtype="boolean")
    except KeyError as exc:
        raise SchemaError(
            f"column `{name}` must be true/false (or empty when not recorded); found {exc.args[0]!r}."
        ) from None


def _prepare(referrals: pd.DataFrame, needed: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    if not isinstance(referrals, pd.DataFrame):
        raise ParameterError(f"`referrals` must be a (Geo)DataFrame of referrals; got {type(referrals).__name__}.")
    missing = [c for c in needed if c not in referrals.columns]
    if missing:
        raise SchemaError(
            f"`referrals` lacks column(s) {missing}; the canonical referral columns are listed in "
            "`hotspots.schema.REFERRAL_COLUMNS`. Load referrals with `hotspots.io` or rename the columns."
        )
    notes: list[str] = []
    df = pd.DataFrame(index=referrals.index)
    if "referral_id" in referrals.columns:
        ids = referrals["referral_id"]
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        if len(dup):
            raise SchemaError(
                f"`referral_id` has {dup.nunique()} duplicated value(s) (e.g. {list(dup.unique()[:3])}); "
                "each referral must appear once."
            )
        df["referral_id"] = ids
    if "person_ref" in referrals.columns:
        df["person_ref"] = referrals["person_ref"]
    df["referred_at"] = _to_datetime(referrals["referred_at"], "referred_at")
    bad = df["referred_at"].isna()
    if bad.any():
        ex = (list(referrals.loc[bad, "referral_id"].head(3)) if "referral_id" in referrals.columns
              else list(referrals.index[bad][:3]))
        raise SchemaError(
            f"{int(bad.sum())} referral(s) have no usable `referred_at` (e.g. {ex}); every referral needs its date and time."
        )
    for c in ("contacted_at", "task_booked_at"):
        if c in needed:
            df[c] = _to_datetime(referrals[c], c)
    if "outcome" in needed:
        out = referrals["outcome"].astype("string").str.strip().str.lower()
        unknown = sorted(set(out.dropna().unique()) - set(OUTCOMES) - {""})
        if unknown:
            raise SchemaError(
                f"column `outcome` has value(s) {unknown}; allowed are {list(OUTCOMES)} (or empty when not recorded)."
            )
        df["outcome"] = out.replace("", pd.NA)
    for c in ("reoffended", "victim_satisfied", "first_time_entrant"):
        if c in needed:
            df[c] = _to_nullable_bool(referrals[c], c)
    return df, notes


def group_order_key(label: Any) -> tuple[int, float, str]:
    """Sort key of group labels: whole numbers by value (hotspot 2 before 10), then text.

    Examples
    --------
    >>> sorted(["10", "2", "outside hotspots", "1"], key=group_order_key)
    ['1', '2', '10', 'outside hotspots']
    """
    text = str(label)
    return (0, float(text), text) if text.strip().lstrip("-").isdigit() else (1, 0.0, text)


def _groups(referrals: pd.DataFrame, df: pd.DataFrame, by: str | None,
            levels: Sequence[Any] = ()) -> tuple[pd.Series | None, list[str], str]:
    """Group label per referral, the ordered list of groups (``levels`` too, with or without referrals),
    and the group column's name."""
    if by is None:
        return None, [], "group"
    if not isinstance(by, str):
        raise ParameterError(f"`by` must be a column name such as 'month', 'offence' or 'hotspot'; got {by!r}.")
    if by == "month" and "month" not in referrals.columns:
        lab = df["referred_at"].dt.to_period("M")
        first, last = lab.min(), lab.max()
        order = [str(p) for p in pd.period_range(first, last, freq="M")]
        return lab.astype(str), order, "month"
    if by not in referrals.columns:
        hint = " (add it by linking referrals to hotspot areas first)" if by == "hotspot" else ""
        raise SchemaError(f"`by={by!r}` is not a column of `referrals`{hint}; columns are {list(referrals.columns)}.")
    col = referrals[by]
    if pd.api.types.is_datetime64_any_dtype(col.dtype) or isinstance(col.dtype, pd.PeriodDtype):
        lab = col.dt.to_period("M").astype(str) if not isinstance(col.dtype, pd.PeriodDtype) else col.astype(str)
        lab = lab.where(col.notna(), NOT_RECORDED)
    else:
        lab = col.astype("string").str.strip()
        lab = lab.where(lab.notna() & (lab != ""), NOT_RECORDED).astype(object)
    present = list(dict.fromkeys([*pd.unique(lab), *(str(v) for v in levels)]))
    canonical = {"offence": OFFENCES, "route": ROUTES, "age_group": AGE_GROUPS}.get(by)
    if canonical is not None:
        order = [c for c in canonical if c in present] + sorted(p for p in present if p not in canonical and p != NOT_RECORDED)
    else:
        order = sorted((p for p in present if p != NOT_RECORDED), key=group_order_key)
    if NOT_RECORDED in present:
        order.append(NOT_RECORDED)
    return pd.Series(lab, index=df.index), order, by


# =============================================================================== disclosure control
def add_kpi_rows(ledger: Ledger, raw: pd.DataFrame, keys: Sequence[Hashable], *, total: Hashable | None = None,
                 funnel: bool = True) -> None:
    """Add KPI rows (``raw`` rows, one population key each) to a disclosure :class:`~hotspots.disclosure.Ledger`.

    Cell keys are ``(population key, measure)``; the same population added by two tables is one
    set of counts. With ``total`` (one of ``keys``) that row is the sum of the others. With
    ``funnel`` the funnel counts (contacted, booked) are added too.
    """
    shown = list(_KPI_COUNTS) + (list(_FUNNEL_COUNTS) if funnel else [])
    implied = list(_KPI_IMPLIED) + (list(_FUNNEL_IMPLIED) if funnel else [])
    relations = list(_KPI_ROW_RELATIONS) + (list(_FUNNEL_ROW_RELATIONS) if funnel else [])
    cols = {c: raw[c].to_numpy() for c in shown + implied}
    people = {m: f for m, f in PEOPLE_FIELDS.items() if f in raw.columns}
    cols.update({f: raw[f].to_numpy() for f in people.values()})
    rows = [(key, {c: int(cols[c][i]) for c in [*shown, *implied, *people.values()]}) for i, key in enumerate(keys)]
    signals = {comp: KPI_PCTS[pct][1] for pct, comp in _KPI_PCT_COMPLEMENTS.items()}
    if funnel:
        signals.update({comp: den for num, den, comp in _FUNNEL_PCTS.values()})
    ledger.add_table(rows, shown=shown, implied=implied, relations=relations, bases=_KPI_BASES, signals=signals, total=total,
                     size="referrals", people=people)


def kpi_display(protection: Protection, raw: pd.DataFrame, keys: Sequence[Hashable],
                group_col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The display table of KPI rows added with :func:`add_kpi_rows`, as protected in ``protection``."""
    labels = raw[group_col].tolist() if group_col in raw.columns else raw.iloc[:, 0].tolist()
    pcts = {c: (num, den, _KPI_PCT_COMPLEMENTS.get(c)) for c, (num, den) in KPI_PCTS.items()}
    medians = {"median_hours_to_contact": (raw["median_hours_to_contact"].tolist(), "referrals")}
    table, mask = render_table(protection, list(zip(keys, labels)), label=group_col, counts=_KPI_COUNTS, percents=pcts,
                               medians=medians, columns=_KPI_DISPLAY)
    table = _mark_not_recorded(table, raw)
    # A median needs enough people behind it: those contacted (validly), not just referred.
    basis = raw[MEDIAN_PEOPLE if MEDIAN_PEOPLE in raw.columns else "contacted_valid"].to_numpy()
    few = np.array([not median_shown(b, protection.threshold) for b in basis], dtype=bool)
    if few.any():
        col = table["median_hours_to_contact"].to_numpy(dtype=object).copy()
        col[few] = WITHHELD
        table["median_hours_to_contact"] = col
        mask.loc[few, "median_hours_to_contact"] = True
        table["suppressed"] = mask.any(axis=1).to_numpy()
    return table, mask


def funnel_display(protection: Protection, raw: pd.DataFrame, keys: Sequence[Hashable],
                   group_col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The funnel table (referred → contacted → booked → completed) of rows added with :func:`add_kpi_rows`."""
    labels = raw[group_col].tolist() if group_col in raw.columns else raw.iloc[:, 0].tolist()
    table, mask = render_table(protection, list(zip(keys, labels)), label=group_col,
                               counts=["referrals", "contacted", "booked", "completed"],
                               percents=_FUNNEL_PCTS)
    table = _mark_not_recorded(table, raw).rename(columns={"referrals": "referred"})
    mask = mask.rename(columns={"referrals": "referred"})
    return table, mask


# =============================================================================== KPIs
def _pct(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype(float)
    den = den.astype(float)
    return (100.0 * num / den.where(den > 0)).astype(float)


def _kpi_arrays(df: pd.DataFrame, cutoff: pd.Timestamp) -> dict[str, np.ndarray]:
    """Plain numpy columns for fast per-group counting."""

    def flag(col: str) -> np.ndarray:  # 1.0 / 0.0 / NaN
        s = df[col]
        return np.where(s.isna().to_numpy(), np.nan, s.fillna(False).to_numpy(dtype=bool).astype(float))

    hour = pd.Timedelta(hours=1)
    return {
        "person": person_codes(df["person_ref"]) if "person_ref" in df.columns else None,
        "outcome": df["outcome"].astype(object).where(df["outcome"].notna(), None).to_numpy(),
        "before_cutoff": (df["referred_at"] < cutoff + pd.Timedelta(days=1)).to_numpy(),
        "reoffended": flag("reoffended"),
        "victim_satisfied": flag("victim_satisfied"),
        "first_time_entrant": flag("first_time_entrant"),
        "contact_h": ((df["contacted_at"] - df["referred_at"]) / hour).to_numpy(dtype=float),
        "booked_h": ((df["task_booked_at"] - df["referred_at"]) / hour).to_numpy(dtype=float),
    }


def _kpi_counts(a: dict[str, np.ndarray], sel: np.ndarray, hours: float, base: str) -> dict[str, float]:
    out = a["outcome"][sel]
    r: dict[str, float] = {"referrals": int(sel.sum())}
    r["completed"] = int((out == "completed").sum())
    r["refused"] = int((out == "refused").sum())
    r["withdrawn"] = int((out == "withdrawn").sum())
    r["in_progress"] = int((out == "in progress").sum())
    r["outcome_not_recorded"] = int(sum(v is None for v in out))
    r["concluded"] = r["completed"] + r["refused"] + r["withdrawn"]
    reoff = a["reoffended"][sel]
    elig = a["before_cutoff"][sel] & ~np.isnan(reoff)
    if base == "completed":
        elig &= out == "completed"
    r["followup_eligible"] = int(elig.sum())
    r["not_reoffended"] = int((elig & (reoff == 0)).sum())
    r["reoffended"] = r["followup_eligible"] - r["not_reoffended"]
    vs = a["victim_satisfied"][sel]
    r["victim_responses"] = int((~np.isnan(vs)).sum())
    r["victims_satisfied"] = int((vs == 1).sum())
    r["victims_not_satisfied"] = r["victim_responses"] - r["victims_satisfied"]
    dc, db = a["contact_h"][sel], a["booked_h"][sel]
    with np.errstate(invalid="ignore"):
        contact_ok = (dc >= 0) & (dc <= hours)  # NaN compares False
        ok = contact_ok & (db >= 0) & (db <= hours)
        valid_contact = dc >= 0
    r["contacted_48h"] = int(contact_ok.sum())
    r["not_contacted_48h"] = r["referrals"] - r["contacted_48h"]
    r["contacted_booked_48h"] = int(ok.sum())
    r["not_contacted_booked_48h"] = r["referrals"] - r["contacted_booked_48h"]
    r["contacted_valid"] = int(valid_contact.sum())
    r["contacted"] = int((~np.isnan(dc)).sum())
    r["booked"] = int((~np.isnan(db)).sum())
    r["not_contacted"] = r["referrals"] - r["contacted"]
    r["not_booked"] = r["referrals"] - r["booked"]
    r["not_completed"] = r["referrals"] - r["completed"]
    r["contacted_48h_not_booked_48h"] = r["contacted_48h"] - r["contacted_booked_48h"]
    r["contacted_not_48h"] = r["contacted"] - r["contacted_booked_48h"]
    r["contacted_late"] = r["contacted"] - r["contacted_48h"]
    r["booked_not_48h"] = r["booked"] - r["contacted_booked_48h"]
    r["concluded_not_completed"] = r["refused"] + r["withdrawn"]
    r["not_eligible"] = r["referrals"] - r["followup_eligible"]
    r["no_victim_response"] = r["referrals"] - r["victim_responses"]
    r["median_hours_to_contact"] = float(np.median(dc[valid_contact])) if valid_contact.any() else float("nan")
    fte = a["first_time_entrant"][sel]
    r["first_time_entrants"] = int((fte == 1).sum())
    r["first_time_entrant_recorded"] = int((~np.isnan(fte)).sum())
    r["not_first_time_entrants"] = r["first_time_entrant_recorded"] - r["first_time_entrants"]
    r["fte_not_recorded"] = r["referrals"] - r["first_time_entrant_recorded"]
    if a["person"] is not None:
        who = a["person"][sel]
        within = {"referrals": np.ones(len(who), dtype=bool), "concluded": np.isin(out, ("completed", "refused", "withdrawn")),
                  "followup_eligible": elig, "victim_responses": ~np.isnan(vs), "first_time_entrant_recorded": ~np.isnan(fte)}
        for m, mask in within.items():
            r[PEOPLE_FIELDS[m]] = int(np.unique(who[mask]).size)
        r[MEDIAN_PEOPLE] = int(np.unique(who[valid_contact]).size)
    return r


def _check_flag(protect_implied: Any) -> bool:
    if not isinstance(protect_implied, (bool, np.bool_)):
        raise ParameterError(f"`protect_implied` must be True or False; got {protect_implied!r}.")
    return bool(protect_implied)


@dataclass(frozen=True, eq=False)
class KPIRows:
    """Exact KPI counts per group (internal): what :func:`kpi_rows` returns.

    ``raw`` has the group column first (named ``group_col``), one row per group and the total
    row last; ``order`` lists the groups; the rest describes the follow-up window.
    """

    raw: pd.DataFrame
    group_col: str
    order: tuple[str, ...]
    as_of: pd.Timestamp
    followup_cutoff: pd.Timestamp
    follow_up_months: int
    contact_hours: float
    window: str
    notes: tuple[str, ...]
    params: dict[str, Any]
    #: Exact counts of referrals with implausible times: ``contact_before_referral``,
    #: ``contact_long_after_referral`` (more than :data:`IMPLAUSIBLE_DELAY_DAYS` days).
    checks: dict[str, int] = field(default_factory=dict)


def extract_date(referrals: pd.DataFrame, as_of: Any = None) -> tuple[pd.Timestamp, str]:
    """The date the referral data are complete to (the follow-up windows end by it), and how it was chosen.

    ``as_of`` given (the extract's date, e.g. ``"2025-12-31"``): that day. Without it, the first day
    of the month of the latest date in the file (``referred_at``, ``contacted_at``,
    ``task_booked_at``): the exact latest date is one person's record and is not published, and
    the month's first day never counts a window that had not ended by the latest date. Times of
    day are dropped: windows are judged by days (a referral made on or before the as-of day less
    the follow-up counts, whatever its time).

    Returns
    -------
    (Timestamp, str)
        The day (midnight) and a note saying how it was chosen.

    Examples
    --------
    >>> df = pd.DataFrame({"referred_at": pd.to_datetime(["2025-06-27 19:31"]), "contacted_at": [pd.NaT]})
    >>> extract_date(df)[0], extract_date(df, "2025-12-31")[0]
    (Timestamp('2025-06-01 00:00:00'), Timestamp('2025-12-31 00:00:00'))
    """
    if as_of is not None:
        try:
            ts = pd.Timestamp(as_of)
        except (TypeError, ValueError):
            raise ParameterError(f"`as_of` must be a date such as '2025-03-31'; got {as_of!r}.") from None
        if ts is pd.NaT:
            raise ParameterError(f"`as_of` must be a date such as '2025-03-31'; got {as_of!r}.")
        if ts.tzinfo is not None:
            ts = ts.tz_convert("Europe/London").tz_localize(None)
        return ts.normalize(), "the extract date given"
    cols = [c for c in ("referred_at", "contacted_at", "task_booked_at") if c in referrals.columns]
    latest = max((pd.to_datetime(referrals[c], errors="coerce").max() for c in cols), default=pd.NaT,
                 key=lambda v: pd.Timestamp.min if pd.isna(v) else v)
    if pd.isna(latest):
        raise ParameterError("`referrals` hold no date to judge follow-up windows by; give `as_of` (the extract date).")
    month = pd.Timestamp(latest).to_period("M").to_timestamp()
    return month, (f"the first day of the month of the latest date in the referral file, {month:%b %Y}; give the "
                   "extract date (`as_of`, the command line's `--as-of`) to count the windows that ended since")


def when_text(ts: pd.Timestamp) -> str:
    """A follow-up bound as the notes say it: the date, with the time of day when it is not midnight.

    The rule counts a referral when ``referred_at <= cutoff`` to the minute (the cutoff is the latest
    referral's time less the follow-up); the note said "on or before 2025-06-29" while a referral at
    2025-06-29 20:31 was left out (the cutoff was 14:43).

    Examples
    --------
    >>> when_text(pd.Timestamp("2025-06-29 14:43")), when_text(pd.Timestamp("2024-09-30"))
    ('2025-06-29 14:43', '2024-09-30')
    """
    ts = pd.Timestamp(ts)
    if ts == ts.normalize():
        return str(ts.date())
    return f"{ts:%Y-%m-%d %H:%M}" if ts == ts.floor("min") else f"{ts:%Y-%m-%d %H:%M:%S}"


def kpi_rows(
    referrals: pd.DataFrame,
    *,
    by: str | None = None,
    as_of: Any = None,
    follow_up_months: int = 6,
    contact_hours: float = 48,
    reoffending_base: str = "all",
    levels: Sequence[Any] = (),
) -> KPIRows:
    """The exact KPI and funnel counts overall and per group (no disclosure control: internal).

    Same arguments and definitions as :func:`scheme_kpis`, which protects them for display; ``levels``: groups
    listed even without referrals (every hotspot area: a 0 row, not a missing one). Groups are in their canonical
    order (offences, routes, age groups), else whole numbers by value (hotspot 2 before 10) then text.
    """
    validation.whole(follow_up_months, "follow_up_months", low=1, unit="months")
    hours = validation.positive(contact_hours, "contact_hours", unit="hours")
    if reoffending_base not in ("all", "completed"):
        raise ParameterError(f"`reoffending_base` must be 'all' or 'completed'; got {reoffending_base!r}.")
    needed = ["referral_id", "referred_at", "outcome", "contacted_at", "task_booked_at", "reoffended", "victim_satisfied",
              "first_time_entrant"]
    df, notes = _prepare(referrals, needed)
    if len(df) == 0:
        raise ParameterError("`referrals` is empty; there is nothing to report.")
    as_of_ts, as_of_note = extract_date(df, as_of)
    # a window is judged by days: a referral made on the cutoff day (any time) has its window end by the as-of day
    cutoff = as_of_ts - pd.DateOffset(months=int(follow_up_months))
    if as_of is None:
        # the default extract date is a month's first day: counting that day's referrals too made the
        # eligible part of their month one day of referrals (the demo's 2024-09: under 5), whose protection
        # then hid the headline re-offending rate; whole months end the day before
        cutoff -= pd.Timedelta(days=1)
    labels, order, group_col = _groups(referrals, df, by, levels)
    arrays = _kpi_arrays(df, cutoff)
    rows = []
    if labels is not None:
        lab = labels.to_numpy()
        for g in order:
            rows.append({group_col: g, **_kpi_counts(arrays, lab == g, hours, reoffending_base)})
    rows.append({group_col: TOTAL_LABEL, **_kpi_counts(arrays, np.ones(len(df), dtype=bool), hours, reoffending_base)})
    raw = pd.DataFrame(rows)
    for col, (num, den) in KPI_PCTS.items():
        raw[col] = _pct(raw[num], raw[den])
    raw["contact_recorded"] = bool(df["contacted_at"].notna().any())
    raw["booking_recorded"] = bool(df["task_booked_at"].notna().any())
    zero = pd.Timedelta(0)
    before = ((df["contacted_at"] - df["referred_at"]) < zero) | ((df["task_booked_at"] - df["referred_at"]) < zero)
    neg = int(before.sum())
    if neg:
        notes.append(f"{neg} referral(s) have a contact or booking time before the referral time; "
                     f"counted as not within {hours:g} h.")
    after = ((df["contacted_at"] - df["referred_at"]) > pd.Timedelta(days=IMPLAUSIBLE_DELAY_DAYS)) | (
        (df["task_booked_at"] - df["referred_at"]) > pd.Timedelta(days=IMPLAUSIBLE_DELAY_DAYS))
    far = int(after.sum())
    if far:
        notes.append(f"{far} referral(s) have a contact or booking time more than {IMPLAUSIBLE_DELAY_DAYS} days after the "
                     f"referral time (a wrong year, or another record's date?); counted as not within {hours:g} h: check "
                     "the dates before reading the contact figures.")
    late = int(((df["referred_at"] >= cutoff + pd.Timedelta(days=1)) & df["reoffended"].notna()).sum())
    if late:
        notes.append(f"{late} referral(s) have a re-offending flag but their {follow_up_months}-month window had not ended by "
                     f"{when_text(as_of_ts)}; not counted.")
    base_txt = "completed referrals" if reoffending_base == "completed" else "referrals"
    window = (
        f"re-offending within {follow_up_months} months of referral, among {base_txt} made on or before {when_text(cutoff)} "
        f"(follow-up complete by {when_text(as_of_ts)}, {as_of_note}) with re-offending recorded"
    )
    params = {"by": by, "as_of": None if as_of is None else str(as_of_ts.date()), "follow_up_months": int(follow_up_months),
              "contact_hours": hours,
              "reoffending_base": reoffending_base}
    return KPIRows(raw=raw, group_col=group_col, order=tuple(order), as_of=as_of_ts, followup_cutoff=cutoff,
                   follow_up_months=int(follow_up_months), contact_hours=hours, window=window, notes=tuple(notes), params=params,
                   checks={"contact_before_referral": neg, "contact_long_after_referral": far})


def scheme_kpis(
    referrals: pd.DataFrame,
    *,
    by: str | None = None,
    as_of: Any = None,
    follow_up_months: int = 6,
    contact_hours: float = 48,
    threshold: int = SUPPRESSION_THRESHOLD,
    reoffending_base: str = "all",
    protect_implied: bool = True,
    unsafe: bool = False,
) -> KPITable:
    """Scheme KPIs overall and per group, with a protected display table.

    Parameters
    ----------
    referrals : DataFrame or GeoDataFrame
        Referrals with the canonical columns (``hotspots.schema.REFERRAL_COLUMNS``; geometry is
        not needed). Boolean columns may hold True/False, 1/0, yes/no or be empty.
    by : str, optional
        Group by this column: ``"month"`` (from ``referred_at`` unless a ``month`` column exists;
        months without referrals are listed with zeros), ``"offence"``, ``"route"``,
        ``"age_group"``, ``"hotspot"`` (added by linkage) or any other column. Missing values
        form the group :data:`NOT_RECORDED`.
    as_of : date-like, optional
        The date follow-up windows are judged against (the extract date, a day); default the
        first day of the month of the latest date in the referrals (:func:`extract_date`).
    follow_up_months : int, default 6
        Length of the re-offending follow-up window.
    contact_hours : float, default 48
        Target time to contact and book reparative work, hours.
    threshold : int, default 5
        Person counts from 1 to ``threshold − 1`` are suppressed in :attr:`KPITable.table`.
    reoffending_base : {"all", "completed"}, default "all"
        Count re-offending among all eligible referrals or only completed ones.
    protect_implied : bool, default True
        Also protect small *implied* complements (e.g. 1–4 victims not satisfied): their rate is
        shown as a bound (">99"). ``False`` shows such rates exactly.
    unsafe : bool, default False
        Needed for a threshold below 3 (:func:`hotspots.disclosure.check_threshold`).

    Returns
    -------
    KPITable
        ``raw`` (exact, internal), ``table`` (protected, for display) and the window used.

    Raises
    ------
    SchemaError
        Missing columns, duplicate ``referral_id``, referrals without ``referred_at``, outcome
        labels outside :data:`hotspots.schema.OUTCOMES`, non-boolean flags.
    ParameterError
        Bad options.
    """
    threshold = check_threshold(threshold, unsafe)
    protect_implied = _check_flag(protect_implied)
    rows = kpi_rows(referrals, by=by, as_of=as_of, follow_up_months=follow_up_months, contact_hours=contact_hours,
                    reoffending_base=reoffending_base)
    keys = [("group", g) for g in rows.raw[rows.group_col]]
    ledger = Ledger()
    add_kpi_rows(ledger, rows.raw, keys, total=keys[-1], funnel=False)
    prot = protect(ledger, threshold=threshold, unsafe=unsafe, protect_implied=protect_implied)
    table, mask = kpi_display(prot, rows.raw, keys, rows.group_col)
    params = {**rows.params, "threshold": threshold, "protect_implied": protect_implied, "unsafe": bool(unsafe)}
    return KPITable(
        raw=rows.raw, table=table, suppressed=mask, by=by, threshold=threshold, as_of=rows.as_of,
        followup_cutoff=rows.followup_cutoff, follow_up_months=rows.follow_up_months, contact_hours=rows.contact_hours,
        window=rows.window, notes=rows.notes, params=params,
    )


def referral_funnel(
    referrals: pd.DataFrame, *, by: str | None = None, threshold: int = SUPPRESSION_THRESHOLD, protect_implied: bool = True,
    unsafe: bool = False,
) -> KPITable:
    """Referrals through the stages referred → contacted → booked → completed.

    ``contacted`` and ``booked`` count referrals with a ``contacted_at`` / ``task_booked_at``
    time; ``completed`` those with outcome "completed". The stages are counted independently
    (a referral can be completed without a recorded booking time), so later stages are not forced
    to be subsets of earlier ones. Protected like :func:`scheme_kpis` (the implied "not
    contacted", "not booked" and "not completed" counts too, with ``protect_implied``).

    Returns
    -------
    KPITable
        Columns ``referred``, ``contacted``, ``booked``, ``completed`` and their shares of
        referred, ``contacted_of_referred_pct``, ``booked_of_referred_pct``,
        ``completed_of_referred_pct`` (the KPI tables' ``completed_pct`` is a share of concluded
        referrals, another figure).
    """
    threshold = check_threshold(threshold, unsafe)
    protect_implied = _check_flag(protect_implied)
    df, notes = _prepare(referrals, ["referred_at", "contacted_at", "task_booked_at", "outcome"])
    if len(df) == 0:
        raise ParameterError("`referrals` is empty; there is nothing to report.")
    labels, order, group_col = _groups(referrals, df, by)

    def counts(d: pd.DataFrame) -> dict[str, int]:
        r = {
            "referrals": len(d),
            "contacted": int(d["contacted_at"].notna().sum()),
            "booked": int(d["task_booked_at"].notna().sum()),
            "completed": int((d["outcome"] == "completed").sum()),
        }
        r["not_contacted"] = r["referrals"] - r["contacted"]
        r["not_booked"] = r["referrals"] - r["booked"]
        r["not_completed"] = r["referrals"] - r["completed"]
        return r

    rows = [{group_col: g, **counts(df[labels == g])} for g in order] if labels is not None else []
    rows.append({group_col: TOTAL_LABEL, **counts(df)})
    raw = pd.DataFrame(rows)
    for col, (num, den, _) in _FUNNEL_PCTS.items():
        raw[col] = _pct(raw[num], raw[den])
    raw["contact_recorded"] = bool(df["contacted_at"].notna().any())
    raw["booking_recorded"] = bool(df["task_booked_at"].notna().any())
    keys = [("group", g) for g in raw[group_col]]
    ledger = Ledger()
    shown = ["referrals", "contacted", "booked", "completed"]
    implied, relations = _FUNNEL_IMPLIED[:3], _FUNNEL_ROW_RELATIONS[:3]  # the stages only (no 48 h count here)
    ledger.add_table([(k, {c: int(raw[c].iloc[i]) for c in shown + implied}) for i, k in enumerate(keys)],
                     shown=shown, implied=implied, relations=relations, total=keys[-1], size="referrals",
                     signals={comp: den for num, den, comp in _FUNNEL_PCTS.values()})
    prot = protect(ledger, threshold=threshold, unsafe=unsafe, protect_implied=protect_implied)
    table, mask = funnel_display(prot, raw, keys, group_col)
    raw = raw.rename(columns={"referrals": "referred"})
    return KPITable(raw=raw, table=table, suppressed=mask, by=by, threshold=threshold, notes=tuple(notes),
                    params={"by": by, "threshold": threshold, "kind": "funnel", "protect_implied": protect_implied})


def monthly_referrals(
    referrals: pd.DataFrame, *, threshold: int = SUPPRESSION_THRESHOLD, protect_implied: bool = True, unsafe: bool = False,
) -> KPITable:
    """The referral funnel per calendar month of ``referred_at`` (months without referrals included)."""
    return referral_funnel(referrals, by="month", threshold=threshold, protect_implied=protect_implied, unsafe=unsafe)
