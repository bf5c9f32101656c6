"""Disclosure control of counts of people: one rule for every table, map and file we publish.

Referral data are about people, mostly young. Everything an analysis shows or writes about them
(KPI tables and cards, referral counts per hotspot, referral squares and referral → task lines on
maps, task-site totals, load-report figures) is a count of people, and those counts are related:
a month's outcomes add up to its referrals, the months add up to the total, the squares inside a
hotspot add up to its referrals. A reader who holds all of them together can subtract. This module
decides, for all of them *at once*, which counts are shown.

The reader (the attacker we protect against)
--------------------------------------------
knows every published figure, every additive relation between the figures (a :class:`Ledger`
lists them), that counts are whole numbers, and what each marker means:

``"<5"`` (:data:`SUPPRESSED`; ``"<t"`` for another threshold ``t``)
    a count from 1 to ``t − 1`` (zero is shown as 0);
``"c"`` (:data:`SECONDARY`)
    a count of at least ``t`` hidden so that others cannot be worked out (zero is never hidden);
``"x"`` (:data:`WITHHELD`)
    a breakdown of a group of fewer than ``t`` people, not shown at all (any value).

With ``protect_implied`` (the default) the reader is also assumed to know, for every *implied*
count (a complement such as "re-offended" = eligible − not re-offended, which no table shows but
a reader can form), whether it is small: that is what a percentage shown as ``">99 %"`` tells (a percentage hidden
as ``"c"`` then tells that its complement is 0 or at least ``t``).

The guarantee
-------------
:func:`protect` hides counts until, for the reader above, **no hidden count and no small implied
count has a single feasible value**: each could take at least two whole-number values consistent
with everything published. Hidden counts that the published figures determine anyway are shown
(hiding them protects nobody). The check is exact: an integer programme (HiGHS, via
:func:`scipy.optimize.milp`) finds, for every protected count, a second feasible set of counts in
which it differs, or proves there is none.

The algorithm
-------------
1. **Primary suppression**: shown counts from 1 to ``t − 1`` become ``"<t"``; the breakdowns of
   groups with fewer than ``t`` people (marked by the caller with :meth:`Ledger.withhold`) ``"x"``.
2. **Audit**: cheap bound propagation over the relations (each relation bounds every member by the
   others' ranges; rounded to whole numbers) finds most counts that
   can be worked out; when it finds none, the exact integer audit above runs on each connected
   group of unknown counts.
3. **Secondary suppression**: for each count that can be worked out, the cheapest shown count near
   it (in one of its relations first, then further out) is hidden as ``"c"``; cheapest means not a
   grand total, then smallest. A candidate that propagation shows does not help is skipped. Back
   to 2 until nothing can be worked out. When no candidate is left (a group of fewer than ``t``
   people split into ones), or eight tries have not freed a count, the counts in its relations
   are withheld (``"x"``).

Thresholds below :data:`MIN_SAFE_THRESHOLD` (3) protect almost nothing (``t = 1`` switches
suppression off) and are refused unless the caller says ``unsafe=True``; every output then says
so (:func:`disclosure_statement`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from ._errors import ParameterError

__all__ = [
    "MIN_SAFE_THRESHOLD",
    "SECONDARY",
    "SUPPRESSED",
    "SUPPRESSION_THRESHOLD",
    "WITHHELD",
    "AttackModel",
    "Ledger",
    "Protection",
    "check_threshold",
    "disclosure_statement",
    "feasible_ranges",
    "percent_text",
    "render_table",
    "protect",
    "small_marker",
    "suppress_count",
]

#: Person-level counts below this are suppressed (common UK practice: 1-4 shown as "<5").
SUPPRESSION_THRESHOLD = 5
#: Thresholds below this need ``unsafe=True`` (1 shows every count; 2 shows every count but 1).
MIN_SAFE_THRESHOLD = 3
#: Marker shown in place of a count from 1 to 4 (threshold 5).
SUPPRESSED = "<5"
#: Marker of a count (at least the threshold) hidden so that a suppressed one cannot be worked out.
SECONDARY = "c"
#: Marker of a figure not shown because fewer than the threshold people are behind it.
WITHHELD = "x"

# Cell status codes.
SHOWN, PRIMARY, HIDDEN, WITHHELD_CODE, IMPLIED = 0, 1, 2, 3, 4
_STATUS_NAMES = {SHOWN: "shown", PRIMARY: "small", HIDDEN: "secondary", WITHHELD_CODE: "withheld", IMPLIED: "implied"}


# =============================================================================== threshold
def check_threshold(threshold: Any, unsafe: Any = False) -> int:
    """The threshold as an int, or a clear error.

    Parameters
    ----------
    threshold : int
        Counts of people from 1 to ``threshold − 1`` are suppressed.
    unsafe : bool
        Must be True for a threshold below :data:`MIN_SAFE_THRESHOLD`.
    """
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, np.integer, float)) or (
        isinstance(threshold, float) and not float(threshold).is_integer()
    ):
        raise ParameterError(f"`threshold` must be a whole number >= 1 (default {SUPPRESSION_THRESHOLD}); got {threshold!r}.")
    t = int(threshold)
    if t < 1:
        raise ParameterError(f"`threshold` must be a whole number >= 1 (default {SUPPRESSION_THRESHOLD}); got {threshold!r}.")
    if not isinstance(unsafe, (bool, np.bool_)):
        raise ParameterError(f"`unsafe` must be True or False; got {unsafe!r}.")
    if t < MIN_SAFE_THRESHOLD and not unsafe:
        what = "switches suppression off" if t == 1 else "suppresses only counts of 1"
        raise ParameterError(
            f"`threshold` {t} {what}: counts of individual people would be published. Use at least "
            f"{MIN_SAFE_THRESHOLD} (default {SUPPRESSION_THRESHOLD}), or pass `unsafe=True` (command line: "
            "`--unsafe-threshold`) for outputs that are never shared; every output then says so."
        )
    return t


def small_marker(threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """The marker of a suppressed small count: ``"<5"`` for threshold 5."""
    return f"<{int(threshold)}"


def disclosure_statement(threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """One sentence saying how person counts are protected, for every output (files, images, app)."""
    t = int(threshold)
    if t <= 1:
        return "UNSAFE: threshold 1, counts of people are NOT suppressed. Not for publication."
    if t < MIN_SAFE_THRESHOLD:
        return (f"UNSAFE: threshold {t}, only counts of one person are suppressed (as <{t}); small counts can be "
                "worked out. Not for publication.")
    return (f"Counts of people from 1 to {t - 1} are shown as <{t}; 'c' hides a count of {t} or more that would let "
            f"one be worked out; 'x' marks figures about a group smaller than {t}.")


def suppress_count(n: int | float | None, threshold: int = SUPPRESSION_THRESHOLD) -> int | str | None:
    """``n`` itself, or ``"<threshold"`` when ``0 < n < threshold`` (primary suppression only).

    Zero is shown (it discloses nobody); missing stays missing. For one count standing alone (a
    figure in a sentence); counts published together go through :func:`protect`.
    """
    if n is None or n != n:  # None or NaN
        return None
    if 0 < n < threshold:
        return small_marker(threshold)
    return int(n) if float(n).is_integer() else n


# =============================================================================== ledger
class Ledger:
    """The counts of people one output set publishes, and the additive relations between them.

    A count is identified by a hashable key; a key added by two tables is one count (the same
    figure in two places). Relations say ``total = sum(parts)``.

    Examples
    --------
    >>> led = Ledger()
    >>> led.add(("All", "referrals"), 12)
    >>> led.add(("A", "referrals"), 9)
    >>> led.add(("B", "referrals"), 3)
    >>> led.relate(("All", "referrals"), [("A", "referrals"), ("B", "referrals")])
    >>> p = protect(led)
    >>> p.marker(("B", "referrals")), p.marker(("A", "referrals"))
    ('<5', 'c')
    """

    def __init__(self) -> None:
        self._index: dict[Hashable, int] = {}
        self.keys: list[Hashable] = []
        self.values: list[int] = []
        self.shown: list[bool] = []
        self.protect_small: list[bool] = []
        self.signal: list[int] = []
        self.cost: list[int] = []
        self.withheld: set[int] = set()
        self.breakdowns: list[tuple[int, tuple[int, ...]]] = []
        self.relations: list[tuple[int, tuple[int, ...]]] = []
        self._seen_relations: set[tuple[int, tuple[int, ...]]] = set()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self.keys)

    def copy(self) -> "Ledger":
        """An independent copy (to add counts published later, see ``protect(..., base=)``)."""
        new = Ledger()
        new._index = dict(self._index)
        new.keys = list(self.keys)
        new.values = list(self.values)
        new.shown = list(self.shown)
        new.protect_small = list(self.protect_small)
        new.signal = list(self.signal)
        new.cost = list(self.cost)
        new.withheld = set(self.withheld)
        new.breakdowns = list(self.breakdowns)
        new.relations = list(self.relations)
        new._seen_relations = set(self._seen_relations)
        return new

    def index(self, key: Hashable) -> int:
        return self._index[key]

    def value(self, key: Hashable) -> int:
        return self.values[self._index[key]]

    def add(self, key: Hashable, value: Any, *, shown: bool = True, protect: bool = True, signal: Hashable | None = None,
            cost: int = 0) -> None:
        """Add a count (again: the same value must be given; ``shown`` wins).

        Parameters
        ----------
        key : hashable
        value : int
            The exact count (>= 0).
        shown : bool
            Published (unless hidden); False for an *implied* count a reader can only form from
            relations (a complement, a part of a square inside a hotspot).
        protect : bool
            An implied count from 1 to ``t − 1`` must not be worked out (with ``protect_implied``).
        signal : key, optional
            For an implied count: the (already added) count whose display tells a reader whether
            this one is small, namely the denominator of the percentage it complements (shown
            as ">99" when it is small). While that count is shown, the reader is assumed to know.
        cost : int
            0 ordinary, 1 a group's size, 2 a grand total: higher costs are hidden last.
        """
        v = int(value)
        if v != value or v < 0:
            raise ParameterError(f"count {key!r} must be a whole number >= 0; got {value!r}.")
        if key in self._index:
            i = self._index[key]
            if self.values[i] != v:
                raise ParameterError(f"count {key!r} added twice with different values ({self.values[i]} and {v}).")
            self.shown[i] = self.shown[i] or bool(shown)
            self.cost[i] = max(self.cost[i], int(cost))
            return
        self._index[key] = len(self.keys)
        self.keys.append(key)
        self.values.append(v)
        self.shown.append(bool(shown))
        self.protect_small.append(bool(protect))
        self.signal.append(-1 if signal is None else self._index[signal])
        self.cost.append(int(cost))

    def relate(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        """Record ``total = sum(parts)`` (all keys added before); checked against the values."""
        ti = self._index[total]
        pi = tuple(sorted({self._index[p] for p in parts} - {ti}))
        if not pi:
            return
        if self.values[ti] != sum(self.values[j] for j in pi):
            raise ParameterError(f"relation {total!r} = sum of {len(pi)} parts does not hold ({self.values[ti]} vs "
                                 f"{sum(self.values[j] for j in pi)}); this is a bug in the caller.")
        rel = (ti, pi)
        if rel not in self._seen_relations:
            self._seen_relations.add(rel)
            self.relations.append(rel)

    def withhold(self, key: Hashable) -> None:
        """Never show this count: ``"x"``."""
        i = self._index[key]
        if self.shown[i]:
            self.withheld.add(i)

    def breakdown(self, base: Hashable, parts: Iterable[Hashable]) -> None:
        """``parts`` break ``base`` down: when ``base`` is from 1 to ``t − 1`` they are withheld (``"x"``).

        No breakdown of fewer than ``t`` people is published: "all 3 of them completed" tells as
        much about each of them as a count of one would.
        """
        self.breakdowns.append((self._index[base], tuple(self._index[q] for q in parts if q in self._index)))

    def add_table(self, rows: Sequence[tuple[Hashable, Mapping[str, Any]]], *, shown: Sequence[str], implied: Sequence[str] = (),
                  relations: Sequence[tuple[str, Sequence[str]]] = (), bases: Mapping[str, Sequence[str]] | None = None,
                  signals: Mapping[str, str] | None = None, total: Hashable | None = None, size: str | None = None,
                  total_cost: int = 2) -> None:
        """Add a table: one row per population, one count per measure, keys ``(population, measure)``.

        Parameters
        ----------
        rows : list of (population key, {measure: count})
        shown, implied : list of str
            Measures published, and measures only implied (complements).
        relations : list of (total measure, part measures)
            Within every row: ``row[total] = sum(row[parts])``.
        bases : {measure: sub-measures}, optional
            Sub-measures are withheld in rows where the base is small (see :meth:`breakdown`).
        signals : {implied measure: shown measure}, optional
            The denominator whose percentage reveals whether the implied count is small.
        total : population key, optional
            This row is the sum of the other rows (for every measure).
        size : str, optional
            The measure holding each row's number of people; the rest of a row whose size is
            small is withheld. Its cells cost 1 to hide (the total row's cost ``total_cost``).
        """
        measures = list(shown) + list(implied)
        dens = set((signals or {}).values())
        for pop, vals in rows:
            row_cost = total_cost if total is not None and pop == total else 0
            for m in shown:
                # a group's size and a rate's denominator are hidden only when nothing cheaper helps
                self.add((pop, m), vals[m], shown=True, cost=max(row_cost, 1 if m == size or m in dens else 0))
            for m in implied:
                sig = (signals or {}).get(m)
                self.add((pop, m), vals[m], shown=False, cost=row_cost, signal=None if sig is None else (pop, sig))
            for tot, parts in relations:
                self.relate((pop, tot), [(pop, q) for q in parts])
            if size is not None:
                self.breakdown((pop, size), [(pop, m) for m in shown if m != size])
            for base, subs in (bases or {}).items():
                self.breakdown((pop, base), [(pop, m) for m in subs])
        if total is not None:
            parts_pop = [pop for pop, _ in rows if pop != total]
            if parts_pop:
                for m in measures:
                    self.relate((total, m), [(pop, m) for pop in parts_pop])

    def relate_rows(self, total: Hashable, parts: Sequence[Hashable], measures: Sequence[str]) -> None:
        """For each measure: ``(total, measure) = sum((part, measure))`` (keys must exist)."""
        for m in measures:
            if (total, m) in self and all((q, m) in self for q in parts):
                self.relate((total, m), [(q, m) for q in parts])


# =============================================================================== model
@dataclass(frozen=True, eq=False)
class AttackModel:
    """The reader's knowledge as an integer programme over the unknown counts.

    ``A y = b`` (one row per relation), ``lo <= y <= hi``, whole numbers; where ``semi`` is True
    the count is 0 or at least ``t`` (an implied count whose percentage is hidden; ``lo`` is then
    0). ``unknown`` indexes
    the ledger's counts; ``truth`` is the real value of each; ``check`` marks the counts that
    must not be worked out.
    """

    A: sparse.csr_matrix
    b: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    semi: np.ndarray
    unknown: np.ndarray
    truth: np.ndarray
    check: np.ndarray
    t: int


def relation_matrix(ledger: Ledger) -> sparse.csr_matrix:
    """The relations as a sparse matrix: one row per relation, +1 for the total, −1 per part."""
    rows, cols, data = [], [], []
    for k, (tot, parts) in enumerate(ledger.relations):
        rows.append(k)
        cols.append(tot)
        data.append(1.0)
        rows.extend([k] * len(parts))
        cols.extend(parts)
        data.extend([-1.0] * len(parts))
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(ledger.relations), len(ledger)))


def _big(values: np.ndarray) -> int:
    return int(max(int(values.max()) if len(values) else 0, 1) * 2 + 10)


class _System:
    """One ledger's relations and flags, and the audits run on them.

    Counts are variables over the *whole* ledger: shown counts have ``lo == hi`` = their value,
    so trying another status needs new bounds only, never a new matrix.
    """

    def __init__(self, ledger: Ledger, t: int, protect_implied: bool):
        self.ledger = ledger
        self.t = t
        self.protect_implied = protect_implied
        self.values = np.asarray(ledger.values, dtype=np.int64)
        self.shown = np.asarray(ledger.shown, dtype=bool)
        self.prot = np.asarray(ledger.protect_small, dtype=bool)
        self.signal = np.asarray(ledger.signal, dtype=np.int64)
        self.cost = np.asarray(ledger.cost, dtype=np.int64)
        self.A = relation_matrix(ledger)
        self.A.sort_indices()
        self.A_csc = self.A.tocsc()
        self.A_csc.sort_indices()
        self.indptr = self.A.indptr
        self.col = self.A.indices
        self.coef = self.A.data
        self.row = np.repeat(np.arange(self.A.shape[0]), np.diff(self.indptr))
        self.big = _big(self.values)
        self.small = (self.values > 0) & (self.values < t)
        self.rows_of: list[list[int]] = [[] for _ in range(len(self.values))]
        for k in range(self.A.shape[0]):
            for j in self.col[self.indptr[k]:self.indptr[k + 1]]:
                self.rows_of[int(j)].append(k)

    # ---------------------------------------------------------------- bounds
    def bounds(self, status: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What a reader knows of each count before using the relations: (lo, hi, semi)."""
        t, v = self.t, self.values
        lo = np.zeros(len(v))
        hi = np.full(len(v), float(self.big))
        semi = np.zeros(len(v), dtype=bool)
        sh = status == SHOWN
        lo[sh] = v[sh]
        hi[sh] = v[sh]
        pr = status == PRIMARY
        lo[pr] = 1
        hi[pr] = t - 1
        lo[status == HIDDEN] = t
        base_shown = np.zeros(len(v), dtype=bool)
        has = self.signal >= 0
        base_shown[has] = status[self.signal[has]] == SHOWN
        knows = (status == IMPLIED) & base_shown & self.protect_implied
        lo[knows & self.small] = 1
        hi[knows & self.small] = t - 1
        semi[knows & ~self.small] = True
        return lo, hi, semi

    def must_protect(self, status: np.ndarray) -> np.ndarray:
        """Counts that must not be worked out: small ones, published or (protected) implied."""
        implied = status == IMPLIED
        return self.small & (status != SHOWN) & (~implied | (self.prot & self.protect_implied))

    # ---------------------------------------------------------------- propagation
    def propagate(self, lo: np.ndarray, hi: np.ndarray, semi: np.ndarray, nnz: np.ndarray | None = None,
                  max_rounds: int = 100) -> tuple[np.ndarray, np.ndarray]:
        """Whole-number bound propagation: each relation bounds every member by the others' ranges."""
        t = self.t
        r, c, a = (self.row, self.col, self.coef) if nnz is None else (self.row[nnz], self.col[nnz], self.coef[nnz])
        lo = lo.copy()
        hi = hi.copy()
        if len(a) == 0:
            return lo, hi
        m = self.A.shape[0]
        for _ in range(max_rounds):
            lo_c, hi_c = lo[c], hi[c]
            cmin = np.where(a > 0, a * lo_c, a * hi_c)
            cmax = np.where(a > 0, a * hi_c, a * lo_c)
            rmin = np.bincount(r, cmin, m)
            rmax = np.bincount(r, cmax, m)
            # a*y_j = -(rest of the row), rest in [rmin - cmin_j, rmax - cmax_j]
            lo_t = -(rmax[r] - cmax) / a
            hi_t = -(rmin[r] - cmin) / a
            ylo = np.where(a > 0, lo_t, hi_t)
            yhi = np.where(a > 0, hi_t, lo_t)
            new_lo = lo.copy()
            new_hi = hi.copy()
            np.maximum.at(new_lo, c, ylo)
            np.minimum.at(new_hi, c, yhi)
            new_lo = np.ceil(new_lo - 1e-9)
            new_hi = np.floor(new_hi + 1e-9)
            # Counts known to be 0 or at least t.
            s_low = semi & (new_hi < t)
            new_hi[s_low] = 0.0
            new_lo[s_low] = 0.0
            s_up = semi & (new_lo > 0)
            new_lo[s_up] = np.maximum(new_lo[s_up], t)
            if np.any(new_lo > new_hi + 1e-9):  # pragma: no cover - the real values are always feasible
                raise RuntimeError("disclosure audit: the published figures are inconsistent; this is a bug in hotspots")
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                break
            lo, hi = new_lo, new_hi
        return lo, hi

    def local_nnz(self, cell: int, depth: int = 2) -> np.ndarray:
        """Matrix entries of the relations within ``depth`` steps of ``cell``."""
        rows: set[int] = set(self.rows_of[cell])
        frontier = set(rows)
        for _ in range(depth - 1):
            nxt: set[int] = set()
            for k in frontier:
                for j in self.col[self.indptr[k]:self.indptr[k + 1]]:
                    nxt.update(self.rows_of[int(j)])
            nxt -= rows
            rows |= nxt
            frontier = nxt
        if not rows:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.indptr[k], self.indptr[k + 1]) for k in sorted(rows)])

    # ---------------------------------------------------------------- exact audit
    def components(self, status: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Component label of each unknown count (-1 for shown ones) and of each relation (-1: none)."""
        n, m = len(self.values), self.A.shape[0]
        unknown = status != SHOWN
        sel = unknown[self.col]
        g = sparse.coo_matrix((np.ones(int(sel.sum())), (self.col[sel], n + self.row[sel])), shape=(n + m, n + m))
        _, lab = connected_components(g, directed=False)
        cell_lab = np.where(unknown, lab[:n], -1)
        has = np.zeros(m, dtype=bool)
        has[self.row[sel]] = True
        row_lab = np.where(has, lab[n:], -1)
        return cell_lab, row_lab

    def solve(self, cells: np.ndarray, rows: np.ndarray, fixed_sum: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              semi: np.ndarray, objective: np.ndarray, *, restricted: bool = False) -> np.ndarray | None:
        """An integer point minimising ``objective`` over ``cells`` (None: unbounded).

        With ``restricted`` each ``"c"`` count keeps its side (0 stays 0, at least ``t`` stays so):
        a smaller, pure-integer programme that solves fast; its points are still feasible, so
        they prove a count can vary, but not that it cannot.
        """
        A = self.A[rows][:, cells]
        b = -fixed_sum[rows]
        sub_lo, sub_hi = lo[cells].copy(), hi[cells].copy()
        s = semi[cells] & (sub_lo == 0) & (sub_hi >= self.t)
        if restricted:
            zero = s & (self.values[cells] == 0)
            sub_hi[zero] = 0.0
            sub_lo[s & ~zero] = self.t
            integrality = np.ones(len(cells))
        else:
            sub_lo[s] = self.t
            integrality = np.where(s, 3, 1)
        res = milp(objective, integrality=integrality, bounds=Bounds(sub_lo, sub_hi),
                   constraints=LinearConstraint(A, b, b) if len(rows) else (), options={"disp": False})
        if res.status == 0 and res.x is not None:
            return np.round(res.x)
        if res.status == 3:
            return None
        raise RuntimeError(f"disclosure audit: the integer programme failed ({res.message}); this is a bug in hotspots")  # pragma: no cover

    def pinned(self, status: np.ndarray, check: np.ndarray, *, exact: bool, seed: int = 0, quick: bool = False) -> np.ndarray:
        """Counts in ``check`` (a mask over the ledger) a reader can work out exactly.

        ``exact=False``: bound propagation only. ``quick``: the fast programmes only, no proofs
        (counts they do not show to vary are reported as worked out).
        """
        lo, hi, semi = self.bounds(status)
        lo, hi = self.propagate(lo, hi, semi)
        found = check & (lo == hi)
        if not exact:
            return found
        open_ = check & ~found
        if not open_.any():
            return found
        cell_lab, row_lab = self.components(status)
        truth = self.values.astype(float)
        fixed_sum = self.A @ np.where(status == SHOWN, truth, 0.0)
        for lab in np.unique(cell_lab[open_]):
            cells = np.flatnonzero(cell_lab == lab)
            rows = np.flatnonzero(row_lab == lab)
            todo = open_[cells]
            if len(rows) == 0:
                continue  # nothing ties these counts down
            done = ~todo
            t0 = truth[cells]

            def absorb(x: np.ndarray | None) -> None:
                if x is not None:
                    done[np.abs(x - t0) > 0.5] = True

            self._swaps(cells, lo, hi, semi, done)
            # Directed probes: push every open count towards a side it has room on, all at once.
            up = t0 < hi[cells]
            flipped = False
            for _ in range(6):
                if done.all():
                    break
                w = np.where(~done, np.where(up, -1.0, 1.0), 0.0)
                before = int(done.sum())
                absorb(self.solve(cells, rows, fixed_sum, lo, hi, semi, w, restricted=True))
                if int(done.sum()) - before < max(1, int((~done).sum()) // 20):
                    if flipped:
                        break
                    up = ~up
                    flipped = True
            for j in np.flatnonzero(~done):
                if done[j]:
                    continue
                e = np.zeros(len(cells))
                for restricted in ((True,) if quick else (True, False)):
                    for sign in (-1.0, 1.0):  # maximise, then minimise the count
                        e[j] = sign
                        x = self.solve(cells, rows, fixed_sum, lo, hi, semi, e, restricted=restricted)
                        if x is None:
                            done[j] = True
                        absorb(x)
                        if done[j]:
                            break
                    if done[j]:
                        break
                if not done[j]:
                    found[cells[j]] = True
        return found

    def _swaps(self, cells: np.ndarray, lo: np.ndarray, hi: np.ndarray, semi: np.ndarray, done: np.ndarray) -> None:
        """Mark counts that can trade one unit with a twin (same relations, same signs) as varying.

        +1 on one and −1 on the other keeps every relation; both must stay within their ranges
        (a count known to be 0 or at least ``t`` stays so). Squares in the same hotspot area are twins.
        """
        t = self.t
        v = self.values[cells].astype(float)
        lo_c, hi_c, semi_c = lo[cells], hi[cells], semi[cells]
        can_up = (v + 1 <= hi_c) & (~semi_c | (v >= t))
        can_down = (v - 1 >= lo_c) & (~semi_c | (v - 1 >= t))
        A = self.A_csc
        groups: dict[bytes, list[int]] = {}
        for i, j in enumerate(cells.tolist()):
            a, b = A.indptr[j], A.indptr[j + 1]
            sig = A.indices[a:b].tobytes() + A.data[a:b].tobytes()
            groups.setdefault(sig, []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            m = np.asarray(members)
            n_up, n_down = int(can_up[m].sum()), int(can_down[m].sum())
            ok = (can_up[m] & (n_down - can_down[m] > 0)) | (can_down[m] & (n_up - can_up[m] > 0))
            done[m[ok]] = True

    def reduced(self, status: np.ndarray, check: np.ndarray) -> AttackModel:
        """The integer programme over the unknown counts only (for audits and tests)."""
        unknown = np.flatnonzero(status != SHOWN)
        lo, hi, semi = self.bounds(status)
        truth = self.values.astype(float)
        fixed_sum = self.A @ np.where(status == SHOWN, truth, 0.0)
        A = self.A[:, unknown].tocsr()
        keep = np.asarray(A.getnnz(axis=1) > 0)
        return AttackModel(A=A[keep], b=-fixed_sum[keep], lo=lo[unknown], hi=hi[unknown], semi=semi[unknown],
                           unknown=unknown, truth=truth[unknown], check=check[unknown], t=self.t)


# =============================================================================== protection
@dataclass(frozen=True, eq=False)
class Protection:
    """Which counts of a :class:`Ledger` are shown, and how the hidden ones are marked.

    Attributes
    ----------
    ledger : Ledger
    status : ndarray of int
        Per count: 0 shown, 1 small (``"<t"``), 2 hidden (``"c"``), 3 withheld (``"x"``), 4 implied.
    threshold : int
    protect_implied : bool
    notes : tuple of str
    """

    ledger: Ledger = field(repr=False)
    status: np.ndarray = field(repr=False)
    threshold: int
    protect_implied: bool
    notes: tuple[str, ...] = ()

    def __contains__(self, key: Hashable) -> bool:
        return key in self.ledger

    def state(self, key: Hashable) -> str:
        """``"shown"``, ``"small"``, ``"secondary"``, ``"withheld"`` or ``"implied"``."""
        return _STATUS_NAMES[int(self.status[self.ledger.index(key)])]

    def is_shown(self, key: Hashable) -> bool:
        return bool(self.status[self.ledger.index(key)] == SHOWN)

    def marker(self, key: Hashable) -> int | str:
        """What to display for a published count: the number, ``"<t"``, ``"c"`` or ``"x"``."""
        i = self.ledger.index(key)
        s = int(self.status[i])
        if s == SHOWN:
            return int(self.ledger.values[i])
        if s == PRIMARY:
            return small_marker(self.threshold)
        if s == HIDDEN:
            return SECONDARY
        if s == WITHHELD_CODE:
            return WITHHELD
        raise ParameterError(f"count {key!r} is implied, never published.")

    def small_implied(self, key: Hashable) -> bool:
        """An implied count from 1 to ``t − 1`` that is protected (shown only as a bound on a percentage)."""
        if key not in self.ledger:
            return False
        i = self.ledger.index(key)
        v = self.ledger.values[i]
        return bool(self.status[i] == IMPLIED and 0 < v < self.threshold and self.protect_implied and self.ledger.protect_small[i]
                    and self.ledger.signal[i] >= 0 and self.status[self.ledger.signal[i]] == SHOWN)

    def shown_value(self, key: Hashable) -> int | None:
        """The count when shown, else None (what map symbols may use)."""
        i = self.ledger.index(key)
        return int(self.ledger.values[i]) if self.status[i] == SHOWN else None

    @property
    def n_hidden(self) -> dict[str, int]:
        return {name: int(((self.status == code) & np.array(self.ledger.shown)).sum())
                for code, name in _STATUS_NAMES.items() if code in (PRIMARY, HIDDEN, WITHHELD_CODE)}

    def model(self) -> AttackModel:
        """The reader's knowledge of everything published, as an integer programme (for audits).

        ``check`` marks the counts that must not be worked out: small ones (published, withheld
        or protected implied) and every hidden one.
        """
        sysm = _System(self.ledger, self.threshold, self.protect_implied)
        check = sysm.must_protect(self.status) | np.isin(self.status, (PRIMARY, HIDDEN, WITHHELD_CODE))
        return sysm.reduced(self.status, check)


def protect(ledger: Ledger, *, threshold: int = SUPPRESSION_THRESHOLD, unsafe: bool = False, protect_implied: bool = True,
            base: Protection | None = None, max_rounds: int = 10_000) -> Protection:
    """Primary and secondary suppression of every count in ``ledger`` together (see the module docs).

    Parameters
    ----------
    ledger : Ledger
    threshold : int, default 5
    unsafe : bool
        Needed for a threshold below 3.
    protect_implied : bool, default True
        Small implied counts (complements) must not be worked out either.
    base : Protection, optional
        An earlier protection of the first counts of ``ledger`` (a :meth:`Ledger.copy` of its
        ledger with counts added since): those keep their status and are never hidden now, so
        figures published later are protected against the ones already published.

    Returns
    -------
    Protection
    """
    if not isinstance(ledger, Ledger):
        raise ParameterError(f"`ledger` must be a Ledger; got {type(ledger).__name__}.")
    t = check_threshold(threshold, unsafe)
    if not isinstance(protect_implied, (bool, np.bool_)):
        raise ParameterError(f"`protect_implied` must be True or False; got {protect_implied!r}.")
    values = np.asarray(ledger.values, dtype=np.int64)
    n = len(values)
    shown = np.asarray(ledger.shown, dtype=bool)
    status = np.where(shown, SHOWN, IMPLIED).astype(np.int8)
    status[shown & (values > 0) & (values < t)] = PRIMARY
    withheld = set(ledger.withheld)
    for whole, parts in ledger.breakdowns:
        if 0 < values[whole] < t:
            withheld.update(q for q in parts if shown[q])
    if withheld:
        status[np.fromiter(withheld, dtype=np.int64)] = WITHHELD_CODE
    frozen = np.zeros(len(values), dtype=bool)
    if base is not None:
        nb = len(base.ledger)
        if base.ledger.keys != ledger.keys[:nb]:
            raise ParameterError("`base` must protect the first counts of `ledger` (use `base.ledger.copy()` and add to it).")
        status[:nb] = base.status
        frozen[:nb] = True
    if t < MIN_SAFE_THRESHOLD or len(values) == 0:
        # Below 3 a "<t" count is known exactly (t = 2: it is 1): nothing can protect it.
        note = (f"threshold {t}: counts of people are not protected (unsafe)",) if t < MIN_SAFE_THRESHOLD else ()
        return Protection(ledger, status, t, bool(protect_implied), note)
    sysm = _System(ledger, t, bool(protect_implied))
    cost = sysm.cost
    notes: list[str] = []

    def priority(j: int) -> tuple[int, int, int]:
        return (int(cost[j]), int(values[j]), j)

    def candidates(victim: int) -> list[int]:
        """Shown counts near the victim, nearest layer first, cheapest first."""
        frontier, seen_rel, seen = list(sysm.rows_of[victim]), set(), {victim}
        while frontier:
            found, nxt = [], []
            for k in frontier:
                if k in seen_rel:
                    continue
                seen_rel.add(k)
                for c in sysm.col[sysm.indptr[k]:sysm.indptr[k + 1]]:
                    c = int(c)
                    if c in seen:
                        continue
                    seen.add(c)
                    if status[c] == SHOWN and not frozen[c]:
                        if values[c] > 0:  # "c" is never put on a zero
                            found.append(c)
                    else:
                        nxt.extend(sysm.rows_of[c])
            if found:
                return sorted(found, key=priority)
            frontier = nxt
        return []

    def helps(victim: int, c: int, exact: bool) -> bool:
        trial = status.copy()
        trial[c] = HIDDEN
        if exact:
            only = np.zeros(len(values), dtype=bool)
            only[victim] = True
            return not sysm.pinned(trial, only, exact=True, quick=True)[victim]
        lo, hi, semi = sysm.bounds(trial)
        lo, hi = sysm.propagate(lo, hi, semi, sysm.local_nnz(victim))
        return bool(lo[victim] < hi[victim])

    attempts: dict[int, int] = {}
    given_up: set[int] = set()
    is_base = np.zeros(n, dtype=bool)  # denominators of rates whose complement a reader may learn is small
    is_base[sysm.signal[sysm.signal >= 0]] = True
    # Phase after phase: hidden rate denominators the published figures still determine at the
    # end (they cannot simply be shown, see below) must not be worked out in the next phase.
    keep_open = np.zeros(n, dtype=bool)
    for _phase in range(4):
        for _round in range(max_rounds):
            check = sysm.must_protect(status) | (keep_open & np.isin(status, (HIDDEN, WITHHELD_CODE)))
            if given_up:
                check[np.fromiter(given_up, dtype=np.int64)] = False
            pinned = sysm.pinned(status, check, exact=False)
            exact = False
            if not pinned.any():
                pinned = sysm.pinned(status, check, exact=True)
                exact = True
            if not pinned.any():
                break
            chosen: set[int] = set()
            stuck: list[int] = []
            for victim in np.flatnonzero(pinned).tolist():
                near = {int(c) for k in sysm.rows_of[victim] for c in sysm.col[sysm.indptr[k]:sysm.indptr[k + 1]]}
                if chosen & near:
                    continue  # a count hidden this round already sits in one of its relations
                attempts[victim] = attempts.get(victim, 0) + 1
                cands = candidates(victim) if attempts[victim] <= 8 else []
                if not cands:
                    stuck.append(victim)
                    continue
                chosen.add(next((c for c in cands[:3 if exact else 8] if helps(victim, c, exact)), cands[0]))
            if chosen:
                status[np.fromiter(chosen, dtype=np.int64)] = HIDDEN
                continue
            # Nothing left to hide around them: withhold the counts in their relations.
            changed = False
            for victim in stuck:
                for k in sysm.rows_of[victim]:
                    for c in sysm.col[sysm.indptr[k]:sysm.indptr[k + 1]]:
                        if shown[c] and status[c] in (SHOWN, PRIMARY, HIDDEN) and not frozen[c]:
                            status[c] = WITHHELD_CODE
                            changed = True
            if not changed:
                if not stuck:  # pragma: no cover - every victim had a candidate
                    break
                notes.append(f"{len(stuck)} count(s) could not be protected by suppression alone")
                given_up.update(stuck)
        else:  # pragma: no cover
            raise RuntimeError("disclosure control did not converge; this is a bug in hotspots")
        # Hidden counts (not small) that the published figures determine anyway are shown: hiding them
        # protects nobody. A rate's denominator is shown only if that pins nothing: shown, it lets its
        # rate be shown as a bound (">99"), which tells that the rate's complement is small.
        tried: set[int] = set()
        for _ in range(10):
            hidden_big = np.isin(status, (HIDDEN, WITHHELD_CODE)) & ~sysm.small & ~frozen
            if not hidden_big.any():
                break
            det = sysm.pinned(status, hidden_big, exact=True)
            plain = det & ~(is_base & (values > 0))
            status[plain] = SHOWN
            bases = [b for b in np.flatnonzero(det & ~plain).tolist() if b not in tried]
            for b in bases[:50]:
                tried.add(b)
                trial = status.copy()
                trial[b] = SHOWN
                if not sysm.pinned(trial, sysm.must_protect(trial), exact=True).any():
                    status[b] = SHOWN
            if not plain.any() and not bases:
                break
        left = np.isin(status, (HIDDEN, WITHHELD_CODE)) & is_base & (values >= t) & ~frozen & ~keep_open
        if not left.any():
            break
        left = sysm.pinned(status, left, exact=True)
        if not left.any():
            break
        keep_open |= left
    return Protection(ledger, status, t, bool(protect_implied), tuple(notes))


# =============================================================================== views and audits
def feasible_ranges(protection: Protection, combos: Sequence[Mapping[Hashable, float]]) -> list[tuple[float, float]]:
    """The range a reader can work out for each linear combination of counts.

    Parameters
    ----------
    protection : Protection
    combos : list of {key: coefficient}
        E.g. ``[{("offence", "harassment", "referrals"): 1, ("offence", "public order", "referrals"): 1}]``.

    Returns
    -------
    list of (low, high)
        Whole-number bounds (``inf`` when unbounded). ``low == high`` means the published
        figures already determine the combination, so showing it reveals nothing new.
    """
    led = protection.ledger
    status = protection.status
    sysm = _System(led, protection.threshold, protection.protect_implied)
    lo, hi, semi = sysm.bounds(status)
    lo, hi = sysm.propagate(lo, hi, semi)
    cell_lab, row_lab = sysm.components(status)
    truth = sysm.values.astype(float)
    fixed_sum = sysm.A @ np.where(status == SHOWN, truth, 0.0)
    out: list[tuple[float, float]] = []
    for combo in combos:
        const = 0.0
        w_u: dict[int, float] = {}
        for key, coef in combo.items():
            i = led.index(key)
            if lo[i] == hi[i]:
                const += float(coef) * lo[i]
            else:
                w_u[i] = w_u.get(i, 0.0) + float(coef)
        w_u = {k: w for k, w in w_u.items() if w != 0}
        if not w_u:
            out.append((const, const))
            continue
        labs = sorted({int(cell_lab[k]) for k in w_u})
        cells = np.flatnonzero(np.isin(cell_lab, labs) & (lo < hi))
        rows = np.flatnonzero(np.isin(row_lab, labs))
        # counts settled by propagation enter as constants
        fixed_now = (status != SHOWN) & (lo == hi)
        fs = fixed_sum + sysm.A @ np.where(fixed_now, lo, 0.0)
        w = np.array([w_u.get(int(j), 0.0) for j in cells])
        xmin = sysm.solve(cells, rows, fs, lo, hi, semi, w)
        xmax = sysm.solve(cells, rows, fs, lo, hi, semi, -w)
        low = -math.inf if xmin is None else const + float(w @ xmin)
        high = math.inf if xmax is None else const + float(w @ xmax)
        out.append((low, high))
    return out


def percent_text(num: int | None, den: int | None, *, num_state: str = "shown", comp_state: str = "shown",
                 threshold: int = SUPPRESSION_THRESHOLD, decimals: int = 0) -> int | float | str | None:
    """A percentage ``100 · num / den`` as displayed, from what is shown of its parts.

    Parameters
    ----------
    num, den : int or None
        The shown numerator and denominator (None when hidden).
    num_state : str
        :meth:`Protection.state` of the numerator (``"small"`` gives ``"<P %"``).
    comp_state : str
        State of the complement ``den − num`` (``"implied"`` with a small value gives ``">Q %"``:
        pass ``"small"`` when the complement is a protected small count).
    threshold : int
    decimals : int
        0 rounds half up to whole percent.

    Returns
    -------
    number, str or None
        The percentage; ``"<P"`` / ``">Q"`` (as text, without the % sign) when only a bound can be
        shown; :data:`SECONDARY` when nothing can; None when the denominator is 0.
    """
    t = int(threshold)
    if den is None:
        return SECONDARY
    if den == 0:
        return None
    if num is not None and comp_state != "small":
        pct = 100.0 * num / den
        return int(math.floor(pct + 0.5)) if decimals == 0 else round(pct, decimals)
    if num is None and num_state == "small":
        top = 100.0 * (t - 1) / den
        bound = math.floor(top) + 1
        return f"<{bound}" if bound < 100 else SECONDARY
    if comp_state == "small":
        low = 100.0 * (den - (t - 1)) / den
        bound = math.ceil(low) - 1
        return f">{bound}" if bound > 0 else SECONDARY
    return SECONDARY


def render_table(protection: Protection, rows: Sequence[tuple[Hashable, Any]], *, label: str, counts: Sequence[str],
                 percents: Mapping[str, tuple[str, str, str | None]] | None = None,
                 medians: Mapping[str, tuple[Sequence[float], str]] | None = None,
                 columns: Sequence[str] | None = None) -> tuple[Any, Any]:
    """A protected table for display: counts, their markers, percentages from shown counts.

    Parameters
    ----------
    protection : Protection
    rows : list of (population key, row label)
    label : str
        Name of the first column (the row labels).
    counts : list of str
        Count measures to show.
    percents : {column: (numerator, denominator, complement or None)}
        ``100 · numerator / denominator`` in whole percent when both are shown; ``"<P"`` when the
        numerator is a small count, ``">Q"`` when the complement is a protected small count (see
        :func:`percent_text`), :data:`SECONDARY` otherwise; None when the denominator is 0.
    medians : {column: (values per row, basis measure)}
        Shown (1 decimal) when at least ``t`` people are behind the value, else :data:`WITHHELD`.
    columns : list of str, optional
        Column order (default counts, then percentages, then medians).

    Returns
    -------
    table : DataFrame
        ``label``, the columns, and ``suppressed`` (any hidden value in the row).
    mask : DataFrame of bool
        True where a value is hidden.
    """
    import pandas as pd

    t = protection.threshold
    percents = dict(percents or {})
    medians = dict(medians or {})
    cols = list(columns) if columns is not None else [*counts, *percents, *medians]
    data: dict[str, list[Any]] = {label: [lab for _, lab in rows]}
    mask: dict[str, list[bool]] = {}
    for col in cols:
        vals: list[Any] = []
        hid: list[bool] = []
        for r, (pop, _) in enumerate(rows):
            if col in percents:
                num, den, comp = percents[col]
                d = protection.shown_value((pop, den))
                nv = protection.shown_value((pop, num))
                if protection.state((pop, den)) in ("withheld", "small"):
                    v: Any = WITHHELD
                else:
                    comp_small = comp is not None and protection.small_implied((pop, comp))
                    v = percent_text(nv, d, num_state=protection.state((pop, num)), comp_state="small" if comp_small else "shown",
                                     threshold=t)
                vals.append(v)
                hid.append(isinstance(v, str))
            elif col in medians:
                values, basis = medians[col]
                b = protection.ledger.value((pop, basis))
                x = values[r]
                if 0 < b < t:
                    vals.append(WITHHELD)
                    hid.append(True)
                else:
                    vals.append(None if x is None or x != x else round(float(x), 1))
                    hid.append(False)
            else:
                v = protection.marker((pop, col))
                vals.append(v)
                hid.append(isinstance(v, str))
        data[col] = vals
        mask[col] = hid
    m = pd.DataFrame(mask, index=range(len(rows)))
    table = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    table["suppressed"] = m.any(axis=1).to_numpy() if len(cols) else False
    return table, m
