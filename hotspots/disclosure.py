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
    a figure not shown at all (any value, 0 included): a breakdown of a group of fewer than ``t``
    people, or (rarely) a count that neither ``"<t"`` nor ``"c"`` keeps from giving a small one
    away (see step 3), or a rate that would give one away.

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
   groups with fewer than ``t`` people (marked by the caller with :meth:`Ledger.breakdown`) ``"x"``.
   Groups are measured in distinct people where the ledger knows them (``people=`` of
   :meth:`Ledger.add`: a person referred 6 times is one person), else in referrals; a count of
   ``t`` or more referrals of fewer than ``t`` people is ``"x"`` too (a ``"<t"`` would misstate it).
   Such a breakdown must not be worked out either, its 0s included (a 0 of one person's row tells
   about that person), unless a shown total of 0 gives it; it is never shown because the other
   figures determine it.
2. **Audit**: cheap bound propagation over the relations (each relation bounds every member by the
   others' ranges; rounded to whole numbers) finds most counts that
   can be worked out; when it finds none, the exact integer audit above runs on each connected
   group of unknown counts.
3. **Secondary suppression**: for each count that can be worked out, the cheapest shown count near
   it (in one of its relations first, then further out) is hidden as ``"c"``; cheapest means not a
   grand total, then smallest. A candidate that propagation shows does not help is skipped; the
   exact audit tries them all hidden together first (hiding more only loosens what a reader knows:
   when all together do not free the count, none alone does). Where only a group of counts helps,
   one without a grand total is looked for further out first. Back to 2 until nothing can be
   worked out. When no candidate is left, or eight tries have not freed
   a count (no ``"c"`` can: four lines of ``"<5"`` from an area whose total is ``"<5"`` pin each
   line to 1, whatever else is hidden), as few counts as free it are withheld (``"x"``, which may
   be 0): the count itself, else one hidden count of its relations, else the hidden counts of one
   relation, else one whole relation (all its relations only as a last resort). The ``"c"``
   hidden in vain for it are then shown again where that pins nothing (dearest first), so an
   ``"x"`` never leaves useless ``"c"`` behind.

Thresholds below :data:`MIN_SAFE_THRESHOLD` (3) protect almost nothing (``t = 1`` switches
suppression off) and are refused unless the caller says ``unsafe=True``; every output then says
so (:func:`disclosure_statement`).

The :class:`Ledger` and the audit engine (bound propagation, exact integer audits) are in
:mod:`hotspots.disclosure_audit`; this module holds the rules and the table-level API.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import ParameterError
from .disclosure_audit import (
    HIDDEN,
    IMPLIED,
    PRIMARY,
    SHOWN,
    STATUS_NAMES,
    WITHHELD_CODE,
    AttackModel,
    AuditSystem,
    Ledger,
    first_freeing,
    index_mask,
)

__all__ = [
    "MEDIAN_MIN_PEOPLE",
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
    "median_shown",
    "person_codes",
    "people_basis",
    "render_table",
    "protect",
    "small_marker",
    "small_remainders",
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
#: A median (or any one value picked from a group: the middle one) is published only with at least
#: this many distinct people behind it: the median of an odd group *is* one person's value, and
#: with few people a reader who knows one or two of them can tell whose.
MEDIAN_MIN_PEOPLE = 10
#: Marker of a figure not shown because fewer than the threshold people are behind it.
WITHHELD = "x"



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
        from .validation import setting, shown

        what = "switches suppression off" if t == 1 else "suppresses only counts of 1"
        # on the command line its flags (`--threshold 2`, `--unsafe-threshold`), in Python the arguments
        flag = setting("unsafe_threshold")
        allow = flag if flag.startswith("`--") else "`unsafe=True` (command line: `--unsafe-threshold`)"
        raise ParameterError(
            f"{shown('threshold')} {t} {what}: counts of individual people would be published. Use at least "
            f"{MIN_SAFE_THRESHOLD} (default {SUPPRESSION_THRESHOLD}), or pass {allow} for outputs that are never shared; "
            "every output then says so."
        )
    return t


def small_marker(threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """The marker of a suppressed small count: ``"<5"`` for threshold 5."""
    return f"<{int(threshold)}"


#: Every published statement says it: suppression protects one run's outputs, not the differences between two runs.
ONE_RUN_PER_PERIOD = ("Publish one run per period: two runs on referral files that differ by a few referrals reveal those "
                      "referrals (the differences between their figures are those people's).")


def disclosure_statement(threshold: int = SUPPRESSION_THRESHOLD, *, by_people: bool = True) -> str:
    """One sentence saying how person counts are protected, for every output (files, images, app).

    ``by_people=False`` when the referrals have no ``person_ref``: groups are then measured in
    referrals, and the statement says so (see :func:`people_basis`).
    """
    t = int(threshold)
    if t <= 1:
        return "UNSAFE: threshold 1, counts of people are NOT suppressed. Not for publication."
    if t < MIN_SAFE_THRESHOLD:
        return (f"UNSAFE: threshold {t}, only counts of one person are suppressed (as <{t}); small counts can be "
                "worked out. Not for publication.")
    return (f"Counts of people from 1 to {t - 1} are shown as <{t}; 'c' hides a count of {t} or more that would let "
            f"one be worked out; 'x' marks a figure not shown at all (any value, 0 included): the breakdown of a group "
            f"smaller than {t} people (or its size, when they were referred {t} or more times), a count whose <{t} or 'c' "
            "would still let a small count be worked out, a rate (of any group) that would, or a median of fewer than "
            f"{max(MEDIAN_MIN_PEOPLE, 2 * t)} people; a percentage shown as '<16' or '>92' is a bound, where its exact value "
            f"would. {ONE_RUN_PER_PERIOD}"
            + ("" if by_people else " No `person_ref` in the referrals: groups are measured in referrals, not people "
               "(a person referred several times counts several times)."))


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


def person_codes(refs: Any) -> np.ndarray:
    """One whole number per referral, the same for every referral of one person (``person_ref``).

    Groups are protected by their number of distinct people: ``np.unique(codes[sel]).size``. A
    referral without a reference counts as a person of its own (it cannot be matched to others).

    Examples
    --------
    >>> person_codes(["p_a", "p_b", "p_a", None]).tolist()
    [0, 1, 0, 2]
    """
    import pandas as pd  # local: this module is otherwise pandas-free

    codes, uniques = pd.factorize(pd.Series(list(refs) if not isinstance(refs, pd.Series) else refs, dtype=object))
    codes = np.asarray(codes, dtype=np.int64).copy()
    missing = codes < 0
    codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes


def median_shown(people: int, threshold: int = SUPPRESSION_THRESHOLD) -> bool:
    """Whether a median of a group of ``people`` distinct people is published.

    At least :data:`MEDIAN_MIN_PEOPLE` (10) people, and at least twice the threshold when that is
    more; a median of nobody (``people == 0``) is missing, not hidden. The rule for every median
    of referrals (hours to contact, distance to the task site), in tables, layers and the app.

    Examples
    --------
    >>> median_shown(5), median_shown(9), median_shown(10), median_shown(0)
    (False, False, True, True)
    """
    p = int(people)
    return p == 0 or p >= max(MEDIAN_MIN_PEOPLE, 2 * int(threshold))


def people_basis(has_person_ref: bool) -> str:
    """What groups are measured in, for notes and ``parameters.json``: people, or referrals as a fallback."""
    if has_person_ref:
        return "people (distinct `person_ref`: a person referred several times counts once)"
    return ("referrals (the referral file has no `person_ref` column: a person referred several times counts as several "
            "people, so a group of one person's repeat referrals is not protected as a group of one; add `person_ref`)")


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
    muted: np.ndarray | None = field(default=None, repr=False)

    def is_muted(self, key: Hashable) -> bool:
        """A shown denominator whose rates are not shown (``"x"``): see :func:`protect`."""
        return self.muted is not None and bool(self.muted[self.ledger.index(key)])

    def _system(self) -> AuditSystem:
        sysm = AuditSystem(self.ledger, self.threshold, self.protect_implied)
        if self.muted is not None:
            sysm.muted = self.muted.copy()
        return sysm

    def __contains__(self, key: Hashable) -> bool:
        return key in self.ledger

    def state(self, key: Hashable) -> str:
        """``"shown"``, ``"small"``, ``"secondary"``, ``"withheld"`` or ``"implied"``."""
        return STATUS_NAMES[int(self.status[self.ledger.index(key)])]

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
        b = self.ledger.signal[i]
        return bool(self.status[i] == IMPLIED and 0 < v < self.threshold and self.protect_implied and self.ledger.protect_small[i]
                    and b >= 0 and self.status[b] == SHOWN and not (self.muted is not None and self.muted[b]))

    def shown_value(self, key: Hashable) -> int | None:
        """The count when shown, else None (what map symbols may use)."""
        i = self.ledger.index(key)
        return int(self.ledger.values[i]) if self.status[i] == SHOWN else None

    @property
    def n_hidden(self) -> dict[str, int]:
        return {name: int(((self.status == code) & np.array(self.ledger.shown)).sum())
                for code, name in STATUS_NAMES.items() if code in (PRIMARY, HIDDEN, WITHHELD_CODE)}

    def model(self) -> AttackModel:
        """The reader's knowledge of everything published, as an integer programme (for audits).

        ``check`` marks the counts that must not be worked out: small ones (published, withheld
        or protected implied) and every hidden one.
        """
        sysm = self._system()
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
    people = np.array([ledger.n_people(i) for i in range(n)], dtype=np.int64)
    # t or more referrals of fewer than t people (one person referred 6 times) are about those few people
    few_people = shown & (values >= t) & (people > 0) & (people < t)
    withheld.update(np.flatnonzero(few_people).tolist())
    for whole, parts in ledger.breakdowns:
        if 0 < people[whole] < t:
            withheld.update(q for q in parts if shown[q])
    if withheld:
        status[np.fromiter(withheld, dtype=np.int64)] = WITHHELD_CODE
    # A small group's breakdown stays "x", and must not be worked out either (its 0s included: "none
    # of the 1 person's victims was satisfied" is about that person), like a small count.
    breakdown_of_small = index_mask(withheld, n)
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
    sysm = AuditSystem(ledger, t, bool(protect_implied))
    cost = sysm.cost

    # a breakdown count that nothing can free (a 0 in a column whose other counts are all 0) says
    # nothing about its group: it is shown as it is determined, like any hidden count
    settled = np.zeros(n, dtype=bool)
    for ti, parts in ledger.relations:
        if values[ti] == 0 and status[ti] == SHOWN:  # a shown total of 0: each of its parts is 0
            settled[list(parts)] = True

    def must_protect(st: np.ndarray) -> np.ndarray:
        return sysm.must_protect(st) | (breakdown_of_small & ~settled & (st == WITHHELD_CODE))
    notes: list[str] = []

    def priority(j: int) -> tuple[int, int, int]:
        return (int(cost[j]), int(values[j]), j)

    def candidates(victim: int, layers: int = 3) -> list[int]:
        """Shown counts near the victim: its own relations first, then one and two relations
        further (through hidden counts), cheapest first within a layer."""
        frontier, seen_rel, seen = list(sysm.rows_of[victim]), set(), {victim}
        out: list[int] = []
        for _layer in range(layers):
            if not frontier:
                break
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
                    nxt.extend(sysm.rows_of[c])
            out.extend(sorted(found, key=priority))
            frontier = nxt
        return out

    def helps(victim: int, c: int | Sequence[int], exact: bool, code: int = HIDDEN) -> bool:
        trial = status.copy()
        trial[np.atleast_1d(np.asarray(c, dtype=np.int64))] = code
        if exact:
            only = np.zeros(len(values), dtype=bool)
            only[victim] = True
            return not sysm.pinned(trial, only, exact=True, quick=True)[victim]
        lo0, hi0, semi = sysm.bounds(trial)
        lo, hi = sysm.propagate(lo0, hi0, semi, sysm.local_nnz(victim))
        if lo[victim] == hi[victim]:
            return False
        lo, hi = sysm.propagate(lo0, hi0, semi)  # what is free nearby may be pinned from further away
        return bool(lo[victim] < hi[victim])

    def hide_and_prune(victim: int, exact: bool) -> list[int]:
        """Shown counts that, hidden together, free the victim where no single one does: every
        shown count within a few relations of it, then as few as possible of them (the dearest
        put back first while the victim stays free)."""
        fallback: list[int] = []
        for layers in (2, 3, 4):
            group = candidates(victim, layers)[:200]
            if not group or not helps(victim, group, exact):
                continue
            # put back what propagation shows is not needed, then (exactly) what still is not
            for c in sorted(group, key=priority, reverse=True):
                rest = [x for x in group if x != c]
                if rest and helps(victim, rest, False) and (not exact or len(group) > 40 or helps(victim, rest, True)):
                    group = rest
            if not exact or helps(victim, group, True):
                if not any(cost[c] >= 2 for c in group):
                    return group
                # a group hiding a grand total: look further out for one that does not
                fallback = fallback or group
        return fallback

    def withhold_least(victim: int) -> list[int]:
        """The counts to withhold ("x") so that the victim is free, as few and as cheap as possible.

        A "c" cannot free a count pinned by small counts alone (four lines of "<5" from an area
        whose total is "<5": each line is 1); an "x" can (it may be any value, 0 included). Tried in
        turn, the first that frees the victim by propagation wins (the next audit checks exactly):
        the victim itself, one hidden count ("<t" or "c") in its relations, then all hidden counts
        of one relation, then every count of one relation; else every count of all its relations.
        """
        def open_(c: int) -> bool:
            return bool(shown[c] and status[c] in (SHOWN, PRIMARY, HIDDEN) and not frozen[c])

        rels = [[int(c) for c in sysm.col[sysm.indptr[k]:sysm.indptr[k + 1]] if open_(int(c))] for k in sysm.rows_of[victim]]
        rels = [r for r in rels if r]
        singles = [victim] if open_(victim) else []
        singles += sorted({c for r in rels for c in r if status[c] != SHOWN} - {victim}, key=priority)
        trials: list[list[int]] = [[c] for c in singles]
        trials += sorted(([c for c in r if status[c] != SHOWN] for r in rels), key=len)
        trials += sorted(rels, key=lambda g: (int(sum(cost[c] for c in g if status[c] == SHOWN)),
                                              int(sum(status[c] == SHOWN for c in g)), len(g)))
        for group in trials:
            if group and helps(victim, group, False, WITHHELD_CODE):
                return group
        return sorted({c for r in rels for c in r})

    def show_again(cands: set[int], check: np.ndarray) -> None:
        """Show again the "c"s hidden in vain (before an "x" freed their victim), dearest first,
        each one while propagation finds nothing it pins (the next exact audit checks the rest,
        and hides again what must be)."""
        for c in sorted(cands, key=priority, reverse=True):
            if status[c] != HIDDEN or frozen[c]:
                continue
            trial = status.copy()
            trial[c] = SHOWN
            if not sysm.pinned(trial, check | must_protect(trial), exact=False).any():
                status[c] = SHOWN

    attempts: dict[int, int] = {}
    given_up: set[int] = set()
    is_base = np.zeros(n, dtype=bool)  # denominators of rates whose complement a reader may learn is small
    is_base[sysm.signal[sysm.signal >= 0]] = True
    # Suppress, then show what is determined anyway; showing a denominator can tell a reader
    # more (its rate as a bound), so audit again and suppress again if need be.
    for _outer in range(8):
        attempts.clear()
        tried_for: dict[int, list[int]] = {}  # the "c"s hidden for each victim
        put_back: set[int] = set()  # "c"s hidden in vain for victims that were then withheld
        free = np.zeros(n, dtype=bool)  # counts shown to vary; this round only hides more (see AuditSystem.pinned)
        for _round in range(max_rounds):
            check = must_protect(status)
            if given_up:
                check[np.fromiter(given_up, dtype=np.int64)] = False
            pinned = sysm.pinned(status, check, exact=False)
            exact = False
            if not pinned.any():
                pinned = sysm.pinned(status, check, exact=True, free=free)
                exact = True
            if not pinned.any() and put_back:
                show_again(put_back, check)
                put_back.clear()
                free[:] = False  # counts shown again: what varied before may not now
                continue  # audit again (exactly) what is now shown
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
                head = cands[:4 if exact else 12]
                hopeless = False
                if exact:  # all hidden together first; from the 2nd try, all that `hide_and_prune` would hide
                    pick, hopeless = first_freeing(head, lambda hide, v=victim: helps(v, hide, True),
                                                   together=candidates(victim, 4)[:200] if attempts[victim] >= 2 else head)
                else:
                    pick = next((c for c in head if helps(victim, c, False)), None)
                if pick is not None:
                    chosen.add(pick)
                    tried_for.setdefault(victim, []).append(pick)
                    continue
                group = hide_and_prune(victim, exact) if attempts[victim] >= 2 and not hopeless else []
                chosen.update(group or [cands[0]])
                tried_for.setdefault(victim, []).extend(group or [cands[0]])
            if chosen:
                status[np.fromiter(chosen, dtype=np.int64)] = HIDDEN
                continue
            # Nothing left to hide around them: withhold as few counts as frees each (see `withhold_least`).
            changed = False
            for victim in stuck:
                put_back.update(tried_for.pop(victim, []))
            for victim in stuck:
                if breakdown_of_small[victim] and not sysm.small[victim]:
                    settled[victim] = True  # see `settled`
                    changed = True
                    continue
                if changed and not sysm.pinned(status, index_mask([victim], n), exact=False)[victim]:
                    continue  # freed by what was withheld for an earlier one (the next audit checks exactly)
                for c in withhold_least(victim):
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
        # protects nobody. A rate's denominator is shown as it is only if that pins nothing: shown, it
        # lets its rate be shown as a bound (">99"), which tells that the rate's complement is small;
        # otherwise it is shown *muted* (its rates "x"), which tells nothing more.
        for _ in range(10):
            hidden_big = np.isin(status, (HIDDEN, WITHHELD_CODE)) & ~sysm.small & ~frozen & ~(breakdown_of_small & ~settled)
            if not hidden_big.any():
                break
            det = sysm.pinned(status, hidden_big, exact=True)
            if not det.any():
                break
            plain = det & ~(is_base & (values > 0))
            status[plain] = SHOWN
            for b in np.flatnonzero(det & ~plain).tolist():
                trial = status.copy()
                trial[b] = SHOWN
                if sysm.pinned(trial, must_protect(trial), exact=True).any():
                    sysm.muted[b] = True
                status[b] = SHOWN
        before = status.copy()
        small_remainders(ledger, status, t, frozen, priority,
                         free=lambda trial, j: not sysm.pinned(trial, index_mask([j], n), exact=False)[j])
        if (status != before).any():
            continue  # more counts hidden: audit again
        if not sysm.pinned(status, must_protect(status) & ~index_mask(given_up, n), exact=True).any():
            break
    if small_remainders(ledger, status, t, frozen, priority, fix=False):  # none of their counts could be hidden usefully
        notes.append("some totals leave a remainder of fewer than the threshold in their hidden parts")
    return Protection(ledger, status, t, bool(protect_implied), tuple(notes), muted=sysm.muted.copy())


def small_remainders(ledger: Ledger, status: np.ndarray, threshold: int, frozen: np.ndarray, priority: Any, *,
                     fix: bool = True, free: Any = None) -> list[int]:
    """Complementary suppression of totals whose hidden parts add up to a small count.

    A shown total minus its shown parts is what its hidden parts (``"<t"``, ``"c"``, ``"x"``) hold
    together: the tester's "in hotspots 7 = 5 + hidden" tells that the hidden hotspots hold 2 people.
    That remainder must be 0 or at least ``threshold``. For each relation whose total and parts are all
    published, shown total, two or more hidden parts and a remainder from 1 to ``threshold - 1``, the
    cheapest shown non-zero part (``priority``) that stays unknown once hidden is hidden as ``"c"`` (it is
    at least ``threshold``, so the remainder becomes at least that); without one, the total is hidden.

    Parameters
    ----------
    ledger : Ledger
    status : ndarray of int8
        Each count's status; changed in place when ``fix``.
    threshold : int
    frozen : ndarray of bool
        Counts published earlier, never hidden now.
    priority : callable
        ``priority(j)``: the order in which shown counts are hidden (cheapest first).
    fix : bool
        Hide counts (True) or only list the offending relations' totals (False).
    free : callable, optional
        ``free(trial_status, j)``: whether count ``j``, hidden in ``trial_status``, cannot be worked out
        from the other figures (hiding a count the others determine protects nothing). Default: always.

    Returns
    -------
    list of int
        The totals (ledger positions) of the relations that left a small remainder.
    """
    values = np.asarray(ledger.values, dtype=np.int64)
    shown = np.asarray(ledger.shown, dtype=bool)
    bad: list[int] = []
    for total, parts in ledger.relations:
        if status[total] != SHOWN or not shown[total] or not all(shown[p] for p in parts):
            continue
        hidden = [p for p in parts if status[p] != SHOWN]
        rest = int(values[total] - sum(int(values[p]) for p in parts if status[p] == SHOWN))
        if len(hidden) < 2 or not 0 < rest < threshold:
            continue
        bad.append(int(total))
        if not fix:
            continue
        open_ = sorted((p for p in parts if status[p] == SHOWN and values[p] > 0 and not frozen[p]), key=priority)
        for j in [*open_, *([] if frozen[total] else [total])]:
            trial = status.copy()
            trial[j] = HIDDEN if values[j] >= threshold else PRIMARY
            if free is None or free(trial, j):
                status[j] = trial[j]
                break
    return bad


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
    sysm = protection._system()
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
                 threshold: int = SUPPRESSION_THRESHOLD, decimals: int = 0, den_state: str = "shown") -> int | float | str | None:
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
        0 rounds half up to whole percent. A rate that would round to 100 (or 0) without being it
        is shown to the fewest decimals that keep it off them (99.5 for 870 of 874, 0.2 for 1 of
        400): a percentage never reads 100 or 0 when it is not exactly that.
    den_state : str
        :meth:`Protection.state` of a hidden denominator: ``"small"`` or ``"secondary"`` say it is
        at least 1, so a shown numerator of 0 gives 0 (the 0 already tells it; nothing is learnt).

    Returns
    -------
    number, str or None
        The percentage; ``"<P"`` / ``">Q"`` (as text, without the % sign) when only a bound can be
        shown; :data:`SECONDARY` when nothing can; None when the denominator is 0.
    """
    t = int(threshold)
    if den is None:
        return 0 if num == 0 and den_state in ("small", "secondary") else SECONDARY
    if den == 0:
        return None
    if num is not None and comp_state != "small":
        pct = 100.0 * num / den
        shown = int(math.floor(pct + 0.5)) if decimals == 0 else round(pct, decimals)
        # never 100 (or 0) when it is not exactly that: 870 of 874 is 99.5, not 100; 1 of 400 is 0.3, not 0
        if (shown >= 100 and num < den) or (shown <= 0 < num):
            return _told_apart(pct)
        return shown
    if num is None and num_state == "small":
        top = 100.0 * (t - 1) / den
        bound = math.floor(top) + 1
        return f"<{bound}" if bound < 100 else SECONDARY
    if comp_state == "small":
        low = 100.0 * (den - (t - 1)) / den
        bound = math.ceil(low) - 1
        return f">{bound}" if bound > 0 else SECONDARY
    return SECONDARY


def _told_apart(pct: float) -> float:
    """``pct`` (strictly between 0 and 100) to the fewest decimals that keep it off 100 and 0:
    99.54 → 99.5 and 99.96 → 99.9 (cut, not rounded up), 0.25 → 0.2, 0.004 → 0.004."""
    for d in range(1, 10):
        scale = 10.0**d
        v = math.floor(pct * scale) / scale if pct > 50 else round(pct, d)
        if 0 < v < 100:
            return v
    return pct


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
        ``100 · numerator / denominator`` in whole percent when both are shown, and 0 when the
        numerator is a shown 0 and the denominator is known to be at least 1 (shown, ``"<t"`` or
        ``"c"``); :data:`WITHHELD` when the denominator is small, withheld or muted (else); ``"<P"`` when the
        numerator is a small count, ``">Q"`` when the complement is a protected small count (see
        :func:`percent_text`), :data:`SECONDARY` otherwise; None when the denominator is 0.
    medians : {column: (values per row, basis measure)}
        Shown (1 decimal) when enough people are behind the basis (:func:`median_shown`: at least
        :data:`MEDIAN_MIN_PEOPLE`), else :data:`WITHHELD`.
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
                den_state = protection.state((pop, den))
                if nv == 0 and (den_state in ("small", "secondary") or (d is not None and d > 0)):
                    v: Any = 0  # 0 of a group known to be non-empty: the shown 0 already tells it
                elif den_state in ("withheld", "small") or protection.is_muted((pop, den)):
                    v = WITHHELD
                else:
                    comp_small = comp is not None and protection.small_implied((pop, comp))
                    v = percent_text(nv, d, num_state=protection.state((pop, num)), comp_state="small" if comp_small else "shown",
                                     threshold=t)
                vals.append(v)
                hid.append(isinstance(v, str))
            elif col in medians:
                values, basis = medians[col]
                b = protection.ledger.n_people(protection.ledger.index((pop, basis)))
                x = values[r]
                if not median_shown(b, t):
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
