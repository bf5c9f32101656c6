"""The ledger of published counts of people, and the audit engine that :func:`hotspots.disclosure.protect` runs on it.

A :class:`Ledger` lists the counts one output set publishes and the additive relations between
them. :class:`AuditSystem` holds a ledger's relations as a sparse matrix and answers what a
reader can work out: bound propagation over the relations (cheap, rounded to whole numbers) and
the exact integer audit (HiGHS via :func:`scipy.optimize.milp`) on each connected group of
unknown counts. The rules (thresholds, markers, which counts are hidden) and the table-level API
are in :mod:`hotspots.disclosure`, whose documentation describes the reader and the guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from ._errors import ParameterError

__all__ = [
    "HIDDEN",
    "IMPLIED",
    "PRIMARY",
    "SHOWN",
    "STATUS_NAMES",
    "WITHHELD_CODE",
    "AttackModel",
    "AuditSystem",
    "Ledger",
    "first_freeing",
    "index_mask",
    "relation_matrix",
    "value_bound",
]

#: Status codes of a count in a :class:`~hotspots.disclosure.Protection`: shown, small (``"<t"``),
#: hidden (``"c"``), withheld (``"x"``), implied (never published).
SHOWN, PRIMARY, HIDDEN, WITHHELD_CODE, IMPLIED = 0, 1, 2, 3, 4
#: The name of each status code (what :meth:`~hotspots.disclosure.Protection.state` returns).
STATUS_NAMES = {SHOWN: "shown", PRIMARY: "small", HIDDEN: "secondary", WITHHELD_CODE: "withheld", IMPLIED: "implied"}


# =============================================================================== ledger
class Ledger:
    """The counts of people one output set publishes, and the additive relations between them.

    A count is identified by a hashable key; a key added by two tables is one count (the same
    figure in two places). Relations say ``total = sum(parts)``.

    Examples
    --------
    >>> from hotspots.disclosure import protect
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
        #: per count: the number of distinct people behind it when known (-1: unknown, the count itself)
        self.people: list[int] = []
        self.withheld: set[int] = set()
        self.breakdowns: list[tuple[int, tuple[int, ...]]] = []
        self.relations: list[tuple[int, tuple[int, ...]]] = []
        self._seen_relations: set[tuple[int, tuple[int, ...]]] = set()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self.keys)

    def copy(self) -> Ledger:
        """An independent copy (to add counts published later, see ``protect(..., base=)``)."""
        new = Ledger()
        new._index = dict(self._index)
        new.keys = list(self.keys)
        new.values = list(self.values)
        new.shown = list(self.shown)
        new.protect_small = list(self.protect_small)
        new.signal = list(self.signal)
        new.cost = list(self.cost)
        new.people = list(self.people)
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
            cost: int = 0, people: Any = None) -> None:
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
        people : int, optional
            The number of distinct people behind the count (one person may be referred several
            times), from 0 to the count. A count of ``t`` or more referrals of fewer than ``t``
            people is about those few people: it is withheld (``"x"``), and so is the breakdown
            of such a group (see :meth:`breakdown`). Unknown (None, the default): the count itself.
        """
        v = int(value)
        if v != value or v < 0:
            raise ParameterError(f"count {key!r} must be a whole number >= 0; got {value!r}.")
        n_people = -1
        if people is not None:
            n_people = int(people)
            if n_people != people or not 0 <= n_people <= v or (v > 0 and n_people == 0):
                raise ParameterError(f"count {key!r}: `people` must be a whole number from 1 to the count ({v}); "
                                     f"got {people!r}.")
        if key in self._index:
            i = self._index[key]
            if self.values[i] != v:
                raise ParameterError(f"count {key!r} added twice with different values ({self.values[i]} and {v}).")
            if n_people >= 0 and self.people[i] >= 0 and self.people[i] != n_people:
                raise ParameterError(f"count {key!r} added twice with different numbers of people ({self.people[i]} and "
                                     f"{n_people}).")
            self.shown[i] = self.shown[i] or bool(shown)
            self.cost[i] = max(self.cost[i], int(cost))
            self.people[i] = max(self.people[i], n_people)
            return
        self._index[key] = len(self.keys)
        self.keys.append(key)
        self.values.append(v)
        self.shown.append(bool(shown))
        self.protect_small.append(bool(protect))
        self.signal.append(-1 if signal is None else self._index[signal])
        self.cost.append(int(cost))
        self.people.append(n_people)

    def n_people(self, i: int) -> int:
        """The number of people behind count ``i`` (its value when not known)."""
        return self.people[i] if self.people[i] >= 0 else self.values[i]

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
        """``parts`` break ``base`` down: when ``base`` is about 1 to ``t − 1`` people they are withheld (``"x"``).

        No breakdown of fewer than ``t`` people is published: "all 3 of them completed" tells as
        much about each of them as a count of one would. The people behind ``base`` are its
        ``people`` (see :meth:`add`) when known, else its value: 6 referrals of one person are a
        group of one.
        """
        self.breakdowns.append((self._index[base], tuple(self._index[q] for q in parts if q in self._index)))

    def add_table(self, rows: Sequence[tuple[Hashable, Mapping[str, Any]]], *, shown: Sequence[str], implied: Sequence[str] = (),
                  relations: Sequence[tuple[str, Sequence[str]]] = (), bases: Mapping[str, Sequence[str]] | None = None,
                  signals: Mapping[str, str] | None = None, total: Hashable | None = None, size: str | None = None,
                  total_cost: int = 2, people: Mapping[str, str] | None = None) -> None:
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
        people : {measure: field}, optional
            For shown measures whose number of distinct people is known: the row field holding it
            (e.g. ``{"referrals": "people"}``). A row of 6 referrals of one person is then a group
            of one: its breakdown and its size are withheld (see :meth:`add`).
        """
        measures = list(shown) + list(implied)
        dens = set((signals or {}).values())
        for pop, vals in rows:
            row_cost = total_cost if total is not None and pop == total else 0
            for m in shown:
                # a group's size and a rate's denominator are hidden only when nothing cheaper helps
                ppl = vals[people[m]] if people and m in people else None
                self.add((pop, m), vals[m], shown=True, cost=max(row_cost, 1 if m == size or m in dens else 0), people=ppl)
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


def index_mask(indices: Iterable[int], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    idx = list(indices)
    if idx:
        out[np.asarray(idx, dtype=np.int64)] = True
    return out


def first_freeing(candidates: Sequence[int], frees: Callable[[list[int]], bool], *,
                  together: Sequence[int] | None = None) -> tuple[int | None, bool]:
    """The first candidate that, hidden alone, frees a count, all of them tried hidden together first.

    Hiding more counts only loosens what a reader knows (each hidden count's range widens, and
    every point feasible before still is), so whether hiding a set of counts frees a count can
    only grow with the set: when ``together`` (the candidates, or any set holding them) hidden at
    once do not free it, no candidate alone does, and one programme replaces one per candidate.

    Parameters
    ----------
    candidates : list of int
        Ledger positions, tried alone in this order.
    frees : callable
        ``frees(hidden)``: whether hiding the counts ``hidden`` (list of ledger positions) frees the
        count; it must be monotone, as above (the exact audit is).
    together : list of int, optional
        The set tried first (default the candidates): a wider one also answers for later tries.

    Returns
    -------
    pick : int or None
        The first candidate that frees the count alone, None when none does.
    hopeless : bool
        ``together`` hidden at once do not free the count, nor does any part of it.

    Examples
    --------
    >>> first_freeing([3, 7], lambda hidden: 7 in hidden)
    (7, False)
    >>> first_freeing([3, 7], lambda hidden: False)
    (None, True)
    """
    cands = [int(c) for c in candidates]
    group = cands if together is None else [int(c) for c in together]
    if not group or not frees(group):
        return None, True
    if len(cands) == 1 and group == cands:
        return cands[0], False  # already tried alone
    return next((c for c in cands if frees([c])), None), False


def value_bound(values: np.ndarray) -> int:
    return int(max(int(values.max()) if len(values) else 0, 1) * 2 + 10)


class AuditSystem:
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
        self.big = value_bound(self.values)
        self.small = (self.values > 0) & (self.values < t)
        # Shown denominators whose rate is not shown at all ("x"): they tell nothing about the
        # rate's complement (see ``protect``).
        self.muted = np.zeros(len(self.values), dtype=bool)
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
        base_shown[has] = (status[self.signal[has]] == SHOWN) & ~self.muted[self.signal[has]]
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
        raise RuntimeError(  # pragma: no cover
            f"disclosure audit: the integer programme failed ({res.message}); this is a bug in hotspots")

    def pinned(self, status: np.ndarray, check: np.ndarray, *, exact: bool, seed: int = 0, quick: bool = False,
               free: np.ndarray | None = None) -> np.ndarray:
        """Counts in ``check`` (a mask over the ledger) a reader can work out exactly.

        ``exact=False``: bound propagation only. ``quick``: the fast programmes only, no proofs
        (counts they do not show to vary are reported as worked out). ``free``: a mask over the
        ledger of counts already shown to vary under a status this one only relaxes (counts since
        hidden, none shown again): a point that was feasible still is, so they are not proved
        again; the counts this audit shows to vary are added to it (in place).
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
            if free is not None:
                done |= free[cells]
            t0 = truth[cells]

            def absorb(x: np.ndarray | None, done: np.ndarray = done, t0: np.ndarray = t0) -> None:
                if x is not None:
                    done[np.abs(x - t0) > 0.5] = True

            self._swaps(cells, lo, hi, semi, done)
            # Directed probes: push every open count towards a side it has room on, all at once.
            up = t0 < hi[cells]
            flipped = False
            for _ in range(6):
                if int((~done).sum()) <= 1:
                    break  # one count left: the programmes below are these ones
                w = np.where(~done, np.where(up, -1.0, 1.0), 0.0)
                before = int(done.sum())
                absorb(self.solve(cells, rows, fixed_sum, lo, hi, semi, w, restricted=True))
                if int(done.sum()) - before < max(1, int((~done).sum()) // 20):
                    if flipped:
                        break
                    up = ~up
                    flipped = True
            # no "c" count that may be 0 or at least t: the restricted programme is the whole one
            switch = (semi[cells] & (lo[cells] == 0) & (hi[cells] >= self.t)).any()
            for j in np.flatnonzero(~done):
                if done[j]:
                    continue
                e = np.zeros(len(cells))
                # a count at its bound on one side (a 0 known to be at least 0) cannot move that way: not tried
                sides = [sign for sign, edge in ((-1.0, hi), (1.0, lo)) if t0[j] != edge[cells[j]]]
                for restricted in ((True,) if quick or not switch else (True, False)):
                    for sign in sides:  # maximise, then minimise the count
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
            if free is not None:
                free[cells[todo & done]] = True
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
