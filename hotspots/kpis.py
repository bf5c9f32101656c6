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
    window has ended by ``as_of`` (``referred_at + follow_up_months <= as_of``) **and** whose
    ``reoffended`` is recorded count; with ``reoffending_base="completed"`` only completed ones.
    The window is stated in :attr:`KPITable.window`.
``victim_responses``, ``victims_satisfied``, ``victim_satisfied_pct``
    Among referrals whose victim answered (``victim_satisfied`` not missing).
``contacted_booked_48h``, ``contacted_booked_48h_pct``
    Both ``contacted_at`` and ``task_booked_at`` recorded and each within ``contact_hours`` of
    ``referred_at``. The denominator is **all referrals**: a missing contact or booking time
    counts as not within 48 h (the target is met only when it is shown to be met). Times
    before the referral are treated as data errors, counted as not within, and reported in
    :attr:`KPITable.notes`.
``median_hours_to_contact``
    Median of ``contacted_at − referred_at`` in hours, among referrals contacted (not before
    the referral).
``first_time_entrant_recorded``, ``first_time_entrants``, ``first_time_entrant_pct``
    Share among referrals where ``first_time_entrant`` is recorded.

Disclosure control
------------------
:attr:`KPITable.raw` holds the exact numbers, **for internal use only**. :attr:`KPITable.table`
is for display and export:

* primary suppression: a displayed count of people from 1 to ``threshold − 1`` is shown as
  ``"<5"`` (:data:`hotspots.privacy.SUPPRESSED`); zero is shown;
* secondary suppression against differencing: every additive relation a reader could use — a
  group's outcome counts add up to its referrals; complements such as re-offended = eligible −
  not re-offended; group rows add up to the total row — is audited exactly: a reader who
  knows every shown count can work out any cell fixed by this system of linear equations
  (found with the null space of the unknowns' relation matrix). While a protected cell can be
  worked out, or a relation pins hidden cells to a small non-zero sum, the smallest non-zero
  visible count in a relation that gives it away is hidden too, shown as ``"c"``
  (:data:`SECONDARY`). The protected cells are the hidden displayed counts and, with
  ``protect_implied=True``, also small counts that are only *implied* (complements such as the
  number who re-offended or the victims not satisfied);
* every percentage is a ratio of two shown counts, so it is hidden (``"c"``) when either is;
  a median is hidden when fewer than ``threshold`` people are behind it;
* column ``suppressed`` is True in rows with any hidden cell; :attr:`KPITable.suppressed` marks
  the hidden cells.

Policy on implied complements (``protect_implied``)
    By default (``protect_implied=False``) a small complement that is only implied — e.g. 4
    victims not satisfied out of 874 who answered — does **not** hide the rate: the percentage
    (here 100 %) and its counts are shown, as published rates usually are (the ONS publishes
    rates whose denominators are at or above its threshold even when the complement is small).
    Percentages are then rounded to whole percent (half up), the usual precision of published
    rates. Primary suppression of displayed counts and secondary suppression that stops a
    reader working out a hidden displayed count (total minus the others) are unchanged, and a
    percentage is still hidden when its numerator or denominator is (so a rate is only shown
    when its denominator is 0 or at least ``threshold``). With ``protect_implied=True`` (the
    strict policy) implied complements are protected like displayed counts — the numerator and
    the percentage are hidden whenever the complement is between 1 and ``threshold − 1`` — and
    percentages keep one decimal.

This protects one table. Publishing several breakdowns of the same referrals (by month and by
offence, say) can still allow differencing between tables; suppress small groups by merging
categories where that matters.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
from scipy.linalg import null_space

from ._errors import ParameterError, SchemaError
from .privacy import SUPPRESSED, SUPPRESSION_THRESHOLD
from .schema import AGE_GROUPS, OFFENCES, OUTCOMES, ROUTES

__all__ = [
    "KPITable",
    "scheme_kpis",
    "referral_funnel",
    "monthly_referrals",
    "SECONDARY",
    "TOTAL_LABEL",
    "NOT_RECORDED",
]

#: Marker for a cell hidden to stop differencing (or a percentage built on a hidden count).
SECONDARY = "c"
#: Label of the total row.
TOTAL_LABEL = "All"
#: Group label for referrals with no value in the grouping column.
NOT_RECORDED = "not recorded"

_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False, "1": True, "0": False}

# Counts shown in the KPI table, and counts only implied by them (complements).
_KPI_COUNTS = [
    "referrals", "completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded", "concluded",
    "followup_eligible", "not_reoffended", "victim_responses", "victims_satisfied", "contacted_booked_48h",
    "first_time_entrant_recorded", "first_time_entrants",
]
_KPI_IMPLIED = ["reoffended", "victims_not_satisfied", "not_contacted_booked_48h", "not_first_time_entrants", "fte_not_recorded"]
_KPI_ROW_RELATIONS = [
    ("referrals", ["completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded"]),
    ("concluded", ["completed", "refused", "withdrawn"]),
    ("referrals", ["concluded", "in_progress", "outcome_not_recorded"]),
    ("followup_eligible", ["not_reoffended", "reoffended"]),
    ("victim_responses", ["victims_satisfied", "victims_not_satisfied"]),
    ("referrals", ["contacted_booked_48h", "not_contacted_booked_48h"]),
    ("referrals", ["first_time_entrant_recorded", "fte_not_recorded"]),
    ("first_time_entrant_recorded", ["first_time_entrants", "not_first_time_entrants"]),
]
# percentage column -> (numerator, denominator); both are shown counts, so a percentage adds no
# information when both are shown, and is hidden when either is.
_KPI_PCTS = {
    "completed_pct": ("completed", "concluded"),
    "refused_pct": ("refused", "concluded"),
    "withdrawn_pct": ("withdrawn", "concluded"),
    "not_reoffended_pct": ("not_reoffended", "followup_eligible"),
    "victim_satisfied_pct": ("victims_satisfied", "victim_responses"),
    "contacted_booked_48h_pct": ("contacted_booked_48h", "referrals"),
    "first_time_entrant_pct": ("first_time_entrants", "first_time_entrant_recorded"),
}
_KPI_DISPLAY = [
    "referrals", "completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded", "concluded",
    "completed_pct", "refused_pct", "withdrawn_pct", "followup_eligible", "not_reoffended", "not_reoffended_pct",
    "victim_responses", "victims_satisfied", "victim_satisfied_pct", "contacted_booked_48h", "contacted_booked_48h_pct",
    "median_hours_to_contact", "first_time_entrant_recorded", "first_time_entrants", "first_time_entrant_pct",
]

_FUNNEL_COUNTS = ["referred", "contacted", "booked", "completed"]
_FUNNEL_IMPLIED = ["not_contacted", "not_booked", "not_completed"]
_FUNNEL_ROW_RELATIONS = [
    ("referred", ["contacted", "not_contacted"]),
    ("referred", ["booked", "not_booked"]),
    ("referred", ["completed", "not_completed"]),
]


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
                f"`referral_id` has {dup.nunique()} duplicated value(s) (e.g. {list(dup.unique()[:3])}); each referral must appear once."
            )
        df["referral_id"] = ids
    df["referred_at"] = _to_datetime(referrals["referred_at"], "referred_at")
    bad = df["referred_at"].isna()
    if bad.any():
        ex = list(referrals.loc[bad, "referral_id"].head(3)) if "referral_id" in referrals.columns else list(referrals.index[bad][:3])
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
            raise SchemaError(f"column `outcome` has value(s) {unknown}; allowed are {list(OUTCOMES)} (or empty when not recorded).")
        df["outcome"] = out.replace("", pd.NA)
    for c in ("reoffended", "victim_satisfied", "first_time_entrant"):
        if c in needed:
            df[c] = _to_nullable_bool(referrals[c], c)
    return df, notes


def _groups(referrals: pd.DataFrame, df: pd.DataFrame, by: str | None) -> tuple[pd.Series | None, list[str], str]:
    """Group label per referral, the ordered list of groups, and the group column's name."""
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
    present = list(pd.unique(lab))
    canonical = {"offence": OFFENCES, "route": ROUTES, "age_group": AGE_GROUPS}.get(by)
    if canonical is not None:
        order = [c for c in canonical if c in present] + sorted(p for p in present if p not in canonical and p != NOT_RECORDED)
    else:
        order = sorted(p for p in present if p != NOT_RECORDED)
    if NOT_RECORDED in present:
        order.append(NOT_RECORDED)
    return pd.Series(lab, index=df.index), order, by


# =============================================================================== disclosure control
Cell = tuple[int, str]


_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"users": 0, "saved": []}


@functools.lru_cache(maxsize=1)
def _blas_libraries() -> tuple[Any, ...]:
    """threadpoolctl controllers of the loaded BLAS libraries (empty without threadpoolctl)."""
    try:
        from threadpoolctl import ThreadpoolController

        return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
    except Exception:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return ()


_BLAS_DEPTH = threading.local()


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run the audit's small SVD on one BLAS thread.

    A 100 x 150 SVD takes about 3 ms on one thread, but anywhere from 5 ms to 0.4 s when
    OpenBLAS splits it over threads on a busy machine or from a worker thread (a Streamlit
    rerun): the threads wait for each other. The numbers are the same (to rounding far below the
    audit's 1e-9 tolerance). The limit is set in the calling thread and put back when the thread
    leaves its outermost use: to what it was, or -- when another thread was inside already --
    to what the first of them found, so that overlapping users never leave the limit behind
    (OpenBLAS keeps the setting per process or per thread depending on how it was built).
    """
    depth = getattr(_BLAS_DEPTH, "n", 0)
    if depth:  # nested: already limited in this thread
        _BLAS_DEPTH.n = depth + 1
        try:
            yield
        finally:
            _BLAS_DEPTH.n = depth
        return
    libs = _blas_libraries()
    with _BLAS_LOCK:
        if _BLAS_STATE["users"] == 0:
            found = []
            for lc in libs:
                try:
                    found.append((lc, lc.get_num_threads()))
                except Exception:  # pragma: no cover - a library that cannot be queried is left alone
                    pass
            _BLAS_STATE["saved"] = found
        _BLAS_STATE["users"] += 1
        restore = list(_BLAS_STATE["saved"])
    for lc, _ in restore:
        try:
            lc.set_num_threads(1)
        except Exception:  # pragma: no cover
            pass
    _BLAS_DEPTH.n = 1
    try:
        yield
    finally:
        _BLAS_DEPTH.n = 0
        for lc, n in restore:
            try:
                lc.set_num_threads(n)
            except Exception:  # pragma: no cover
                pass
        with _BLAS_LOCK:
            _BLAS_STATE["users"] -= 1
            if _BLAS_STATE["users"] == 0:
                _BLAS_STATE["saved"] = []


def _protect(
    values: pd.DataFrame,
    shown: Sequence[str],
    implied: Sequence[str],
    row_relations: Sequence[tuple[str, list[str]]],
    threshold: int,
    protect_implied: bool = True,
) -> tuple[set[Cell], set[Cell]]:
    """Cells to hide: (primary, secondary). See the module docstring for the rule.

    The reader knows every shown, unhidden count and all the additive relations. A cell is
    worked out when it is fixed by those linear equations (its entry in every null-space vector
    of the unknowns' relation matrix is zero). Small counts (shown, and with ``protect_implied``
    also implied ones) and hidden cells must not be worked out, and no relation may pin its
    unknown parts to a small non-zero sum that includes such a cell.
    """
    n = len(values)
    allcols = list(shown) + list(implied)
    cells: list[Cell] = [(i, c) for i in range(n) for c in allcols]
    pos = {cell: k for k, cell in enumerate(cells)}
    colvals = {c: values[c].tolist() for c in allcols}
    val = {(i, c): float(colvals[c][i]) for i in range(n) for c in allcols}
    relations: list[tuple[Cell, list[Cell]]] = []
    for i in range(n):
        for tot, parts in row_relations:
            relations.append(((i, tot), [(i, p) for p in parts]))
    if n > 1:  # group rows add up to the total row (last)
        for c in allcols:
            relations.append(((n - 1, c), [(i, c) for i in range(n - 1)]))
    A = np.zeros((len(relations), len(cells)))
    member: dict[Cell, list[int]] = {cell: [] for cell in cells}
    for k, (tot, parts) in enumerate(relations):
        A[k, pos[tot]] = 1.0
        member[tot].append(k)
        for p in parts:
            A[k, pos[p]] -= 1.0
            member[p].append(k)
    visible_all = {(i, c) for i in range(n) for c in shown}
    small = {cell for cell, v in val.items() if 0 < v < threshold and (protect_implied or cell in visible_all)}
    primary = small & visible_all
    hidden: set[Cell] = set(primary)
    if not small:
        # Nothing to protect: no cell is hidden, and no relation can pin a protected cell (the
        # loop below would find nothing), so the linear-algebra audit is skipped.
        return primary, set()

    last_row = n - 1

    def candidate(victim: Cell, start: list[int]) -> Cell | None:
        """Smallest non-zero visible cell near the victim, group rows before the total row."""
        frontier, seen_rel, seen_cell = list(start), set(), {victim}
        while frontier:
            cand, nxt = [], []
            for k in frontier:
                if k in seen_rel:
                    continue
                seen_rel.add(k)
                tot, parts = relations[k]
                for c in [*parts, tot]:
                    if c in seen_cell:
                        continue
                    seen_cell.add(c)
                    if c in visible_all and c not in hidden:
                        cand.append(c)
                    else:
                        nxt.extend(member[c])
            if cand:
                nonzero = [c for c in cand if val[c] > 0]
                return min(nonzero or cand, key=lambda c: (n > 1 and c[0] == last_row, val[c], pos[c]))
            frontier = nxt
        return None

    absA = np.abs(A)
    vis_vec = np.array([c in visible_all for c in cells])

    def closure(unknown_vec: np.ndarray) -> np.ndarray:
        """Cells worked out by repeatedly solving relations with a single unknown (cheap pass)."""
        unk = unknown_vec.copy()
        while True:
            cnt = absA @ unk
            rows = np.flatnonzero(cnt == 1)
            if rows.size == 0:
                return unknown_vec & ~unk
            cols = np.argmax(absA[rows] * unk, axis=1)
            unk[cols] = False

    def exact(unknown_vec: np.ndarray) -> np.ndarray:
        """Cells fixed by the whole linear system (null-space test)."""
        idx = np.flatnonzero(unknown_vec)
        out = np.zeros(len(cells), dtype=bool)
        if idx.size == 0:
            return out
        with _one_blas_thread():
            ns = null_space(A[:, idx])
        fixed = np.ones(idx.size, dtype=bool) if ns.size == 0 else np.all(np.abs(ns) < 1e-9, axis=1)
        out[idx[fixed]] = True
        return out

    for _ in range(len(cells) + 1):
        hid_vec = np.array([c in hidden for c in cells])
        unknown_vec = ~vis_vec | hid_vec
        new: set[Cell] = set()
        protect = small | hidden
        for solver in (closure, exact):
            det = solver(unknown_vec)
            determined = {cells[j] for j in np.flatnonzero(det)}
            for victim in sorted(determined & protect, key=pos.get):
                c = candidate(victim, member[victim])
                if c is not None:
                    new.add(c)
            if new:
                break
            known = (visible_all - hidden) | determined
            for k, (tot, parts) in enumerate(relations):
                if tot in known:
                    unk = [c for c in parts if c not in known]
                    if len(unk) >= 2 and any(c in protect for c in unk) and 0 < sum(val[c] for c in unk) < threshold:
                        c = candidate(unk[0], [k])
                        if c is not None:
                            new.add(c)
            if new:
                break
        if not new:
            return primary, hidden - primary
        hidden |= new
    raise RuntimeError("suppression did not converge; this is a bug in hotspots")  # pragma: no cover


def _display(
    raw: pd.DataFrame,
    group_col: str,
    counts: Sequence[str],
    implied: Sequence[str],
    relations: Sequence[tuple[str, list[str]]],
    pcts: dict[str, tuple[str, str]],
    display_cols: Sequence[str],
    threshold: int,
    medians: dict[str, str] | None = None,
    protect_implied: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    primary, secondary = _protect(raw.reset_index(drop=True), counts, implied, relations, threshold, protect_implied)
    hidden = primary | secondary
    n = len(raw)
    needed = set(display_cols) | (set(medians.values()) if medians else set())
    colvals = {c: raw[c].tolist() for c in raw.columns if c in needed}  # Python scalars, as to_dict gives
    table_cols: dict[str, Any] = {group_col: raw[group_col].to_numpy()}
    mask_cols: dict[str, list[bool]] = {}
    for col in display_cols:
        vals: list[Any] = []
        hid: list[bool] = []
        for i in range(n):
            v = colvals[col][i]
            if col in counts:
                if (i, col) in primary:
                    vals.append(SUPPRESSED if threshold == SUPPRESSION_THRESHOLD else f"<{threshold}")
                    hid.append(True)
                elif (i, col) in secondary:
                    vals.append(SECONDARY)
                    hid.append(True)
                else:
                    vals.append(int(v))
                    hid.append(False)
            elif col in pcts:
                if any((i, p) in hidden for p in pcts[col]):
                    vals.append(SECONDARY)
                    hid.append(True)
                else:
                    vals.append(None if pd.isna(v) else (round(float(v), 1) if protect_implied else _whole_percent(v)))
                    hid.append(False)
            elif medians and col in medians:
                basis = colvals[medians[col]][i]
                if 0 < basis < threshold:
                    vals.append(SECONDARY)
                    hid.append(True)
                else:
                    vals.append(None if pd.isna(v) else round(float(v), 1))
                    hid.append(False)
            else:  # pragma: no cover - every display column is one of the kinds above
                vals.append(v)
                hid.append(False)
        table_cols[col] = pd.Series(vals, dtype=object)
        mask_cols[col] = hid
    # Built in one go (inserting columns one at a time costs ~1 ms each in pandas 3).
    mask = pd.DataFrame(mask_cols, index=range(n))
    table_cols["suppressed"] = mask.any(axis=1).to_numpy()
    table = pd.DataFrame(table_cols)
    return table, mask


def _whole_percent(v: Any) -> int:
    """A percentage rounded to a whole number, halves up (99.5 -> 100)."""
    return int(np.floor(float(v) + 0.5))


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
        "outcome": df["outcome"].astype(object).where(df["outcome"].notna(), None).to_numpy(),
        "before_cutoff": (df["referred_at"] <= cutoff).to_numpy(),
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
        ok = (dc >= 0) & (db >= 0) & (dc <= hours) & (db <= hours)  # NaN compares False
        valid_contact = dc >= 0
    r["contacted_booked_48h"] = int(ok.sum())
    r["not_contacted_booked_48h"] = r["referrals"] - r["contacted_booked_48h"]
    r["contacted"] = int(valid_contact.sum())
    r["median_hours_to_contact"] = float(np.median(dc[valid_contact])) if valid_contact.any() else float("nan")
    fte = a["first_time_entrant"][sel]
    r["first_time_entrants"] = int((fte == 1).sum())
    r["first_time_entrant_recorded"] = int((~np.isnan(fte)).sum())
    r["not_first_time_entrants"] = r["first_time_entrant_recorded"] - r["first_time_entrants"]
    r["fte_not_recorded"] = r["referrals"] - r["first_time_entrant_recorded"]
    return r


def _check_flag(protect_implied: Any) -> bool:
    if not isinstance(protect_implied, (bool, np.bool_)):
        raise ParameterError(f"`protect_implied` must be True or False; got {protect_implied!r}.")
    return bool(protect_implied)


def _check_common(threshold: int) -> int:
    if isinstance(threshold, bool) or int(threshold) != threshold or threshold < 1:
        raise ParameterError(f"`threshold` must be a whole number >= 1 (default 5); got {threshold!r}.")
    return int(threshold)


def scheme_kpis(
    referrals: pd.DataFrame,
    *,
    by: str | None = None,
    as_of: Any = None,
    follow_up_months: int = 6,
    contact_hours: float = 48,
    threshold: int = SUPPRESSION_THRESHOLD,
    reoffending_base: str = "all",
    protect_implied: bool = False,
) -> KPITable:
    """Scheme KPIs overall and per group, with a suppressed display table.

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
        The date follow-up windows are judged against; default the latest ``referred_at``.
    follow_up_months : int, default 6
        Length of the re-offending follow-up window.
    contact_hours : float, default 48
        Target time to contact and book reparative work, hours.
    threshold : int, default 5
        Person counts from 1 to ``threshold − 1`` are suppressed in :attr:`KPITable.table`.
    reoffending_base : {"all", "completed"}, default "all"
        Count re-offending among all eligible referrals or only completed ones.
    protect_implied : bool, default False
        Also protect small *implied* complements (e.g. 1–4 victims not satisfied), hiding the
        rate that gives them away — the strict policy; see "Policy on implied complements" in
        the module docs. By default such rates are shown, rounded to whole percent.

    Returns
    -------
    KPITable
        ``raw`` (exact, internal), ``table`` (suppressed, for display) and the window used.

    Raises
    ------
    SchemaError
        Missing columns, duplicate ``referral_id``, referrals without ``referred_at``, outcome
        labels outside :data:`hotspots.schema.OUTCOMES`, non-boolean flags.
    ParameterError
        Bad options.
    """
    threshold = _check_common(threshold)
    protect_implied = _check_flag(protect_implied)
    if isinstance(follow_up_months, bool) or int(follow_up_months) != follow_up_months or follow_up_months < 1:
        raise ParameterError(f"`follow_up_months` must be a whole number of months >= 1; got {follow_up_months!r}.")
    try:
        hours = float(contact_hours)
    except (TypeError, ValueError):
        raise ParameterError(f"`contact_hours` must be a number of hours; got {contact_hours!r}.") from None
    if not (np.isfinite(hours) and hours > 0):
        raise ParameterError(f"`contact_hours` must be a positive number of hours; got {contact_hours!r}.")
    if reoffending_base not in ("all", "completed"):
        raise ParameterError(f"`reoffending_base` must be 'all' or 'completed'; got {reoffending_base!r}.")
    needed = ["referral_id", "referred_at", "outcome", "contacted_at", "task_booked_at", "reoffended", "victim_satisfied", "first_time_entrant"]
    df, notes = _prepare(referrals, needed)
    if len(df) == 0:
        raise ParameterError("`referrals` is empty; there is nothing to report.")
    if as_of is None:
        as_of_ts = df["referred_at"].max()
        as_of_note = "latest referral in the data"
    else:
        try:
            as_of_ts = pd.Timestamp(as_of)
        except (TypeError, ValueError):
            raise ParameterError(f"`as_of` must be a date such as '2025-03-31'; got {as_of!r}.") from None
        if as_of_ts.tzinfo is not None:
            as_of_ts = as_of_ts.tz_convert("Europe/London").tz_localize(None)
        as_of_note = "given"
    cutoff = as_of_ts - pd.DateOffset(months=int(follow_up_months))
    labels, order, group_col = _groups(referrals, df, by)
    arrays = _kpi_arrays(df, cutoff)
    rows = []
    if labels is not None:
        lab = labels.to_numpy()
        for g in order:
            rows.append({group_col: g, **_kpi_counts(arrays, lab == g, hours, reoffending_base)})
    rows.append({group_col: TOTAL_LABEL, **_kpi_counts(arrays, np.ones(len(df), dtype=bool), hours, reoffending_base)})
    raw = pd.DataFrame(rows)
    for col, (num, den) in _KPI_PCTS.items():
        raw[col] = _pct(raw[num], raw[den])
    neg = int((((df["contacted_at"] - df["referred_at"]) < pd.Timedelta(0)) | ((df["task_booked_at"] - df["referred_at"]) < pd.Timedelta(0))).sum())
    if neg:
        notes.append(f"{neg} referral(s) have a contact or booking time before the referral time; counted as not within {hours:g} h.")
    late = int(((df["referred_at"] > cutoff) & df["reoffended"].notna()).sum())
    if late:
        notes.append(f"{late} referral(s) have a re-offending flag but their {follow_up_months}-month window had not ended by {as_of_ts.date()}; not counted.")
    base_txt = "completed referrals" if reoffending_base == "completed" else "referrals"
    window = (
        f"re-offending within {follow_up_months} months of referral, among {base_txt} made on or before {cutoff.date()} "
        f"(follow-up complete by {as_of_ts.date()}, {as_of_note}) with re-offending recorded"
    )
    table, mask = _display(
        raw, group_col, _KPI_COUNTS, _KPI_IMPLIED, _KPI_ROW_RELATIONS, _KPI_PCTS, _KPI_DISPLAY, threshold,
        medians={"median_hours_to_contact": "contacted"}, protect_implied=protect_implied,
    )
    params = {
        "by": by, "as_of": str(as_of_ts), "follow_up_months": int(follow_up_months), "contact_hours": hours,
        "threshold": threshold, "reoffending_base": reoffending_base, "protect_implied": protect_implied,
    }
    return KPITable(
        raw=raw, table=table, suppressed=mask, by=by, threshold=threshold, as_of=as_of_ts, followup_cutoff=cutoff,
        follow_up_months=int(follow_up_months), contact_hours=hours, window=window, notes=tuple(notes), params=params,
    )


def referral_funnel(
    referrals: pd.DataFrame, *, by: str | None = None, threshold: int = SUPPRESSION_THRESHOLD, protect_implied: bool = False
) -> KPITable:
    """Referrals through the stages referred → contacted → booked → completed.

    ``contacted`` and ``booked`` count referrals with a ``contacted_at`` / ``task_booked_at``
    time; ``completed`` those with outcome "completed". The stages are counted independently
    (a referral can be completed without a recorded booking time), so later stages are not forced
    to be subsets of earlier ones. Suppressed like :func:`scheme_kpis`; with
    ``protect_implied=True`` the implied "not contacted", "not booked" and "not completed" counts
    are protected too.

    Returns
    -------
    KPITable
        Columns ``referred``, ``contacted``, ``booked``, ``completed`` and the shares
        ``contacted_pct``, ``booked_pct``, ``completed_pct`` of referred.
    """
    threshold = _check_common(threshold)
    protect_implied = _check_flag(protect_implied)
    df, notes = _prepare(referrals, ["referred_at", "contacted_at", "task_booked_at", "outcome"])
    if len(df) == 0:
        raise ParameterError("`referrals` is empty; there is nothing to report.")
    labels, order, group_col = _groups(referrals, df, by)

    def counts(d: pd.DataFrame) -> dict[str, int]:
        r = {
            "referred": len(d),
            "contacted": int(d["contacted_at"].notna().sum()),
            "booked": int(d["task_booked_at"].notna().sum()),
            "completed": int((d["outcome"] == "completed").sum()),
        }
        r["not_contacted"] = r["referred"] - r["contacted"]
        r["not_booked"] = r["referred"] - r["booked"]
        r["not_completed"] = r["referred"] - r["completed"]
        return r

    rows = [{group_col: g, **counts(df[labels == g])} for g in order] if labels is not None else []
    rows.append({group_col: TOTAL_LABEL, **counts(df)})
    raw = pd.DataFrame(rows)
    pcts = {
        "contacted_pct": ("contacted", "referred"),
        "booked_pct": ("booked", "referred"),
        "completed_pct": ("completed", "referred"),
    }
    for col, (num, den) in pcts.items():
        raw[col] = _pct(raw[num], raw[den])
    display = ["referred", "contacted", "booked", "completed", "contacted_pct", "booked_pct", "completed_pct"]
    table, mask = _display(
        raw, group_col, _FUNNEL_COUNTS, _FUNNEL_IMPLIED, _FUNNEL_ROW_RELATIONS, pcts, display, threshold, protect_implied=protect_implied
    )
    return KPITable(raw=raw, table=table, suppressed=mask, by=by, threshold=threshold, notes=tuple(notes),
                    params={"by": by, "threshold": threshold, "kind": "funnel", "protect_implied": protect_implied})


def monthly_referrals(
    referrals: pd.DataFrame, *, threshold: int = SUPPRESSION_THRESHOLD, protect_implied: bool = False
) -> KPITable:
    """The referral funnel per calendar month of ``referred_at`` (months without referrals included)."""
    return referral_funnel(referrals, by="month", threshold=threshold, protect_implied=protect_implied)
