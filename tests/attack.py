"""An attacker's integer programme over everything one analysis publishes.

Written from the published files' point of view and independently of :mod:`hotspots.disclosure`:
it reads the tables and layers as a reader would (numbers, ``"<t"``, ``"c"``, ``"x"``,
percentages shown as ``">99"``), restates every additive relation a reader knows between them,
and asks an integer programme (HiGHS through :func:`scipy.optimize.milp`) for the range of every
count that is not shown. A hidden count whose range is a single value, or a small implied count
(who re-offended, victims not satisfied, ...) whose range is a single value from 1 to t − 1, is a
disclosure.

What the reader knows of a hidden count
---------------------------------------
``"<t"``: 1 to t − 1. ``"c"``: at least t (the engine never puts "c" on a zero). ``"x"``: any
count. An implied complement is 1 to t − 1 when its rate is shown as a bound (``">99"``), 0 or
at least t when its rate is hidden as ``"c"`` with the denominator shown, otherwise any count.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

ALL = ("all",)
KPI_COUNTS = ("referrals", "completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded", "concluded",
              "followup_eligible", "not_reoffended", "victim_responses", "victims_satisfied", "contacted_48h",
              "contacted_booked_48h", "first_time_entrant_recorded", "first_time_entrants")
# (total, parts) within a KPI row; names not in KPI_COUNTS are complements only a reader can form
KPI_RELATIONS = (
    ("referrals", ("completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded")),
    ("concluded", ("completed", "refused", "withdrawn")),
    ("concluded", ("completed", "~concluded_not_completed")),
    ("followup_eligible", ("not_reoffended", "~reoffended")),
    ("referrals", ("followup_eligible", "~not_eligible")),
    ("victim_responses", ("victims_satisfied", "~victims_not_satisfied")),
    ("referrals", ("victim_responses", "~no_response")),
    ("referrals", ("contacted_booked_48h", "~not_48h")),
    ("referrals", ("contacted_48h", "~not_contacted_48h")),
    ("contacted_48h", ("contacted_booked_48h", "~contacted_48h_not_booked")),
    ("referrals", ("first_time_entrant_recorded", "~fte_not_recorded")),
    ("first_time_entrant_recorded", ("first_time_entrants", "~not_first_time")),
)
# percentage -> (numerator, denominator, complement)
KPI_RATES = {
    "completed_pct": ("completed", "concluded", "~concluded_not_completed"),
    "not_reoffended_pct": ("not_reoffended", "followup_eligible", "~reoffended"),
    "victim_satisfied_pct": ("victims_satisfied", "victim_responses", "~victims_not_satisfied"),
    "contacted_48h_pct": ("contacted_48h", "referrals", "~not_contacted_48h"),
    "contacted_booked_48h_pct": ("contacted_booked_48h", "referrals", "~not_48h"),
    "first_time_entrant_pct": ("first_time_entrants", "first_time_entrant_recorded", "~not_first_time"),
}
LINK_COUNTS = ("referrals", "with_task_site", "reparation_completed", "reparation_local")
LINK_RELATIONS = (
    ("referrals", ("with_task_site", "~without_task_site")),
    ("with_task_site", ("reparation_completed", "~not_completed_at_site")),
    ("reparation_completed", ("reparation_local", "~not_local")),
)
LINK_RATES = {"local_pct": ("reparation_local", "reparation_completed", "~not_local")}
OUTSIDE, NO_LOCATION, IN_HOTSPOTS = "outside hotspots", "no location", "in hotspots"


def _shown_int(v) -> int | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (int, np.integer)) or (isinstance(v, float) and float(v).is_integer()):
        return int(v)
    text = str(v).strip().replace(",", "")
    return int(text) if text.isdigit() else None


@dataclass
class Finding:
    key: Hashable
    kind: str
    value: float


@dataclass
class Attack:
    """Variables (one per count the reader cannot see), relations, and the audit."""

    t: int
    index: dict[Hashable, int] = field(default_factory=dict)
    keys: list[Hashable] = field(default_factory=list)
    fixed: dict[int, int] = field(default_factory=dict)
    marker: dict[int, str] = field(default_factory=dict)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)
    semi: list[bool] = field(default_factory=list)
    implied: set[int] = field(default_factory=set)
    #: sums over squares or lines not drawn (:meth:`not_drawn`): several places' people, not a count the reader pins
    sums: set[int] = field(default_factory=set)
    rows: list[dict[int, float]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    # ---------------------------------------------------------------- counts
    def _new(self, key: Hashable) -> int:
        i = len(self.keys)
        self.index[key] = i
        self.keys.append(key)
        self.lo.append(0.0)
        self.hi.append(math.inf)
        self.semi.append(False)
        return i

    def published(self, key: Hashable, shown) -> int:
        """A count as published: a number, "<t", "c" or "x" (the same count may be published twice)."""
        n = _shown_int(shown)
        text = str(shown).strip()
        if key in self.index:
            i = self.index[key]
            before = self.fixed.get(i, self.marker.get(i))
            now = n if n is not None else text
            if before != now and not (i in self.implied and i not in self.fixed and i not in self.marker):
                self.conflicts.append(f"{key!r} published as {before!r} and as {now!r}")
            if i not in self.implied:
                return i
            self.implied.discard(i)
        else:
            i = self._new(key)
        if n is not None:
            self.fixed[i] = n
            self.lo[i] = self.hi[i] = float(n)
        elif text == f"<{self.t}":
            self.marker[i] = text
            self.lo[i], self.hi[i] = 1.0, float(self.t - 1)
        elif text == "c":
            self.marker[i] = text
            self.lo[i] = float(self.t)
        elif text == "x":
            self.marker[i] = text
        else:
            raise AssertionError(f"{key!r}: unknown published value {shown!r}")
        return i

    def unseen(self, key: Hashable) -> int:
        """A count no table shows (a complement, a part of a square): any whole number >= 0."""
        if key in self.index:
            return self.index[key]
        i = self._new(key)
        self.implied.add(i)
        return i

    def not_drawn(self, key: Hashable) -> Hashable:
        """The referrals of squares or flows not drawn (fewer than t people each): any whole number >= 0, a sum
        over places the reader does not see, not a count it tries to pin. Returns its key."""
        i = self.unseen(key)
        self.implied.discard(i)
        self.sums.add(i)
        return self.keys[i]

    def small(self, key: Hashable) -> None:
        """The reader knows this unseen count is from 1 to t − 1 (its rate is shown as a bound)."""
        i = self.unseen(key)
        self.lo[i], self.hi[i] = max(self.lo[i], 1.0), min(self.hi[i], float(self.t - 1))

    def zero_or_big(self, key: Hashable) -> None:
        """The reader knows this unseen count is 0 or at least t (its rate is hidden as "c")."""
        self.semi[self.unseen(key)] = True

    def equal(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        row = {self.index[total]: 1.0}
        for p in parts:
            j = self.index[p]
            row[j] = row.get(j, 0.0) - 1.0
        self.rows.append(row)

    # ---------------------------------------------------------------- tables
    def kpi_table(self, df: pd.DataFrame, dim: str | None) -> list[tuple]:
        """A KPI table (group column first, total row "All"). Returns the populations of its group rows."""
        label = df.columns[0]
        rows = [(ALL if str(r[label]) == "All" else _population(dim, str(r[label])), r) for _, r in df.iterrows()]
        return self._table(rows, KPI_COUNTS, KPI_RELATIONS, KPI_RATES)

    def linkage_table(self, df: pd.DataFrame, label: str) -> list[tuple]:
        def population(g: str) -> tuple:
            return ALL if g == "All" else (("where", IN_HOTSPOTS) if g == IN_HOTSPOTS else ("hotspot", g))

        rows = [(population(str(r[label])), r) for _, r in df.iterrows()]
        return self._table(rows, LINK_COUNTS, LINK_RELATIONS, LINK_RATES)

    def _table(self, rows: list[tuple[tuple, pd.Series]], counts: tuple, relations: tuple, rates: dict) -> list[tuple]:
        """The published ``counts`` of each ``(population, row)``, the ``relations`` within a row, what
        its ``rates`` tell, and each count (and complement) of "All" as the sum over the group rows.
        Returns the populations of the group rows."""
        pops = [pop for pop, _ in rows if pop != ALL]
        for pop, r in rows:
            for m in counts:
                self.published((pop, m), r[m])
            for tot, parts in relations:
                for q in parts:
                    if q.startswith("~"):
                        self.unseen((pop, q))
                self.equal((pop, tot), [(pop, q) for q in parts])
            for col, (num, den, comp) in rates.items():
                self._rate(pop, r.get(col), num, den, comp)
        if pops:
            for m in [*counts, *{q for _, parts in relations for q in parts if q.startswith("~")}]:
                self.equal((ALL, m), [(p, m) for p in pops])
        return pops

    def _rate(self, pop: tuple, shown, num: str, den: str, comp: str) -> None:
        text = "" if shown is None or (isinstance(shown, float) and math.isnan(shown)) else str(shown).strip()
        if text.startswith(">"):
            self.small((pop, comp))
        elif text == "c" and (pop, den) in self.index and self.index[(pop, den)] in self.fixed and \
                self.marker.get(self.index[(pop, num)]) == "c":
            self.zero_or_big((pop, comp))

    def areas_in_hotspots(self, area_pops: list[tuple], measures: Iterable[str]) -> None:
        for m in measures:
            if (("where", IN_HOTSPOTS), m) in self.index:
                self.equal((("where", IN_HOTSPOTS), m), [(p, m) for p in area_pops])

    # ---------------------------------------------------------------- geography
    def squares(self, origins, areas=None) -> None:
        """Referral squares: they add up to the referrals with a location, and each adds to the
        hotspot area(s) it touches (split into unknown parts when it touches several)."""
        m = float(origins["square_m"].iloc[0])
        keys = []
        boxes = []
        for x, y, shown in zip(origins["square_x"], origins["square_y"], origins["referrals_shown"]):
            ix, iy = int(math.floor((x - m / 2) / m + 0.5)), int(math.floor((y - m / 2) / m + 0.5))
            k = (("square", ix, iy), "referrals")
            self.published(k, shown)
            keys.append(k)
            boxes.append(shapely.box(ix * m, iy * m, (ix + 1) * m - 1e-6 * m, (iy + 1) * m - 1e-6 * m))
        located = self.unseen(("where", "located"))
        if (("hotspot", NO_LOCATION), "referrals") in self.index:
            self.equal((ALL, "referrals"), [self.keys[located], (("hotspot", NO_LOCATION), "referrals")])
        else:
            self.equal((ALL, "referrals"), [self.keys[located]])
        # squares of fewer than t people are not drawn: the drawn ones add up to a part of the located referrals
        self.equal(self.keys[located], keys + [self.not_drawn(("squares not drawn", "referrals"))])
        if areas is None or len(areas) == 0:
            return
        geoms = areas.geometry.values
        ids = [str(int(a)) for a in areas["area_id"]]
        tree = shapely.STRtree(geoms)
        bi, ai = tree.query(np.array(boxes, dtype=object), predicate="intersects")
        cands: dict[int, set[str]] = {}
        for b, a in zip(bi.tolist(), ai.tolist()):
            cands.setdefault(b, set()).add(ids[a])
        union = shapely.union_all(geoms)
        parts: dict[str, list] = {}
        for b, k in enumerate(keys):
            c = set(cands.get(b, set()))
            x_0, y_0, x_1, y_1 = shapely.bounds(boxes[b])
            full = shapely.box(x_0, y_0, x_1 + 1e-6 * m, y_1 + 1e-6 * m)
            if not union.covers(full):
                c.add(OUTSIDE)
            if len(c) == 1:
                parts.setdefault(c.pop(), []).append(k)
                continue
            pieces = []
            for r in sorted(c):
                pk = (("piece", k, r), "referrals")
                self.unseen(pk)
                pieces.append(pk)
                parts.setdefault(r, []).append(pk)
            self.equal(k, pieces)
        for r, plist in parts.items():
            key = (("hotspot", r), "referrals")
            if key not in self.index:
                self.published(key, 0)  # an area no table lists has no referrals
            self.equal(key, plist + [self.not_drawn((("squares not drawn", r), "referrals"))])

    def tasks_and_flows(self, sites: pd.DataFrame, flows: pd.DataFrame) -> None:
        """Referrals per task site and flows from hotspot areas (or towns) to sites."""
        site_keys = []
        for tid, shown in zip(sites["task_id"].astype(str), sites["referrals_shown"]):
            k = (("site", tid), "referrals")
            self.published(k, shown)
            site_keys.append((tid, k))
        linked = self.unseen(("where", "task_linked"))
        unloc = self.unseen(("where", "linked_unlocated"))
        self.equal(self.keys[linked], [k for _, k in site_keys])
        self.equal(self.keys[linked], [(ALL, "with_task_site"), self.keys[unloc]])
        if (("hotspot", NO_LOCATION), "referrals") not in self.index:
            self.lo[unloc] = self.hi[unloc] = 0.0  # every referral has a location
        into: dict[str, list] = {}
        from_area: dict[str, list] = {}
        from_towns: list = []
        for origin, kind, tid, shown in zip(flows["origin"].astype(str), flows["origin_kind"], flows["task_id"].astype(str),
                                            flows["referrals_shown"]):
            k = (("flow", origin, kind, tid), "referrals")
            self.published(k, shown)
            into.setdefault(tid, []).append(k)
            (from_area.setdefault(origin, []) if kind == "hotspot area" else from_towns).append(k)
        un_sites = []
        for tid, k in site_keys:
            u = (("site_unlocated", tid), "referrals")
            self.unseen(u)
            un_sites.append(u)
            self.equal(k, into.get(tid, []) + [u, self.not_drawn((("flows not drawn", tid), "referrals"))])
        self.equal(self.keys[unloc], un_sites)
        for origin, ks in from_area.items():  # lines of fewer than t people are not drawn
            self.equal((("hotspot", origin), "with_task_site"), ks + [self.not_drawn((("flows not drawn from", origin),
                                                                                      "referrals"))])
        if from_towns:
            total = (("hotspot", OUTSIDE), "with_task_site") if (("hotspot", OUTSIDE), "with_task_site") in self.index \
                else (ALL, "with_task_site")
            self.equal(total, from_towns + [self.not_drawn(("flows not drawn from towns", "referrals"))])

    def load_report(self, report: dict) -> None:
        read = self.published(("load", "read"), report["rows_read"])
        kept = self.published(("load", "kept"), report["rows_kept"])
        dropped = self.published(("load", "dropped"), report["rows_dropped"])
        reasons = [self.published(("load", "reason", k), v) for k, v in report["dropped"].items()]
        self.rows.append({read: 1.0, kept: -1.0, dropped: -1.0})
        if reasons:
            self.equal(self.keys[dropped], [self.keys[j] for j in reasons])
        self.equal((ALL, "referrals"), [self.keys[kept]])

    # ---------------------------------------------------------------- audit
    def findings(self) -> list[Finding]:
        """Hidden counts with one feasible value, and small unseen counts with one feasible value."""
        n = len(self.keys)
        big = 1e6  # no count of people is larger (a bound the reader may assume)
        lo = np.array(self.lo)
        hi = np.minimum(np.array(self.hi), big)
        semi = np.array(self.semi)
        known = np.zeros(n, dtype=bool)
        known[list(self.fixed)] = True
        r_i, c_i, v_i = [], [], []
        for k, row in enumerate(self.rows):
            for j, a in row.items():
                if a:
                    r_i.append(k)
                    c_i.append(j)
                    v_i.append(a)
        A = sparse.csr_matrix((v_i, (r_i, c_i)), shape=(len(self.rows), n))
        const = A @ np.where(known, lo, 0.0)
        unknown = np.flatnonzero(~known)
        Au = A[:, unknown].tocsc()
        # components of unknown counts linked by relations
        B = (abs(Au) > 0).astype(np.int8)
        _, lab = connected_components((B.T @ B).tocsr(), directed=False)
        out: list[Finding] = []
        rng = np.random.default_rng(1)
        for c in np.unique(lab):
            cols = np.flatnonzero(lab == c)
            rows = np.flatnonzero(np.asarray(abs(Au[:, cols]).sum(axis=1)).ravel() > 0)
            vars_ = unknown[cols]
            if len(rows) == 0:
                continue  # tied to nothing: any value
            Ac = Au[rows][:, cols]
            b = -const[rows]
            low, high, s = lo[vars_].copy(), hi[vars_].copy(), semi[vars_]
            low[s] = float(self.t)
            integ = np.where(s, 3, 1)

            def solve(obj, lower=None, upper=None, Ac=Ac, b=b, low=low, high=high, integ=integ):
                bounds = Bounds(low if lower is None else lower, high if upper is None else upper)
                res = milp(obj, integrality=integ, bounds=bounds, constraints=LinearConstraint(Ac, b, b), options={"disp": False})
                assert res.status == 0, f"the published figures are inconsistent for the reader ({res.message})"
                return np.round(res.x)

            seen_lo = np.full(len(cols), np.inf)
            seen_hi = np.full(len(cols), -np.inf)
            # Twins (the same relations with the same signs, the same range) are interchangeable:
            # swapping two twins' values in a feasible point gives another one, so when one twin is
            # seen with two values, each of them can take a value other than any one it was seen at.
            Acsc = Ac.tocsc()
            groups: dict[tuple, list[int]] = {}
            for j in range(len(cols)):
                a0, a1 = Acsc.indptr[j], Acsc.indptr[j + 1]
                sig = (Acsc.indices[a0:a1].tobytes(), Acsc.data[a0:a1].tobytes(), low[j], high[j], bool(s[j]))
                groups.setdefault(sig, []).append(j)
            twins = [np.array(g) for g in groups.values() if len(g) > 1]

            def note(x, seen_lo=seen_lo, seen_hi=seen_hi, twins=twins):
                np.minimum(seen_lo, x, out=seen_lo)
                np.maximum(seen_hi, x, out=seen_hi)
                for g in twins:
                    if (seen_lo[g] < seen_hi[g]).any():
                        seen_lo[g] = np.minimum(seen_lo[g], -1.0)  # marked as able to vary
                        seen_hi[g] = np.maximum(seen_hi[g], big + 1.0)

            x0 = solve(rng.normal(size=len(cols)))
            note(x0)
            note(solve(rng.normal(size=len(cols))))
            # Many counts at once: push the ones not yet seen to move up (then down), each by one
            # from a feasible point, the others free to make room.
            for sign in (-1.0, 1.0, -1.0, 1.0, -1.0, 1.0):
                still = seen_lo == seen_hi
                if not still.any():
                    break
                box = still & ~s
                before = int(still.sum())
                note(solve(np.where(still, sign, 0.0), np.where(box, np.maximum(low, x0 - 1), low),
                           np.where(box, np.minimum(high, x0 + 1), high)))
                if int((seen_lo == seen_hi).sum()) == before and sign > 0:
                    break
            for j in np.flatnonzero(seen_lo == seen_hi):
                if seen_lo[j] < seen_hi[j]:
                    continue
                if int(vars_[j]) in self.sums:
                    continue  # a sum over places not drawn (each of fewer than t people, withheld in the ledger)
                if int(vars_[j]) in self.implied and not (0 < seen_lo[j] < self.t):
                    continue  # an unseen count worked out as 0 or a large number discloses nobody
                e = np.zeros(len(cols))
                e[j] = -1.0
                note(solve(e))
                e[j] = 1.0
                note(solve(e))
                if seen_lo[j] == seen_hi[j]:
                    i = int(vars_[j])
                    v = float(seen_lo[j])
                    if i in self.implied:
                        if 0 < v < self.t:
                            out.append(Finding(self.keys[i], "small unseen count worked out", v))
                    else:
                        out.append(Finding(self.keys[i], f"hidden count ({self.marker.get(i)}) worked out", v))
        return out

    def range_of(self, combo: dict[Hashable, float]) -> tuple[float, float]:
        """Min and max a reader can work out for a sum of counts (for the app's views)."""
        n = len(self.keys)
        big = 1e6  # no count of people is larger (a bound the reader may assume)
        lo = np.array(self.lo)
        hi = np.minimum(np.array(self.hi), big)
        semi = np.array(self.semi)
        low = lo.copy()
        low[semi] = float(self.t)
        r_i, c_i, v_i = [], [], []
        for k, row in enumerate(self.rows):
            for j, a in row.items():
                r_i.append(k)
                c_i.append(j)
                v_i.append(a)
        A = sparse.csr_matrix((v_i, (r_i, c_i)), shape=(len(self.rows), n))
        w = np.zeros(n)
        for key, coef in combo.items():
            w[self.index[key]] += coef
        integ = np.where(semi, 3, 1)
        vals = []
        for sign in (1.0, -1.0):
            res = milp(sign * w, integrality=integ, bounds=Bounds(low, hi), constraints=LinearConstraint(A, 0, 0),
                       options={"disp": False})
            assert res.status == 0, res.message
            vals.append(float(w @ np.round(res.x)))
        return vals[0], vals[1]


def _population(dim: str | None, label: str) -> tuple:
    if dim == "hotspot" or label in (OUTSIDE, NO_LOCATION):
        return ("hotspot", label)
    return (dim, label)


def build(*, t: int, kpis: dict[str, pd.DataFrame], by_hotspot: pd.DataFrame | None, summary: pd.DataFrame | None,
          area_referrals: pd.DataFrame | None = None, origins=None, areas=None, sites=None, flows=None,
          load_report: dict | None = None) -> Attack:
    """The attacker's model of everything published together.

    ``kpis``: ``{"all": kpis, "month": kpis_by_month, ...}``; ``area_referrals``: the hotspot
    areas table (``area_id``, ``referrals``); the rest as their names say (layers as
    GeoDataFrames in EPSG:27700).
    """
    att = Attack(t)
    if "all" in kpis:
        att.kpi_table(kpis["all"], None)
    area_pops: list[tuple] = []
    for dim, df in kpis.items():
        if dim == "all":
            continue
        pops = att.kpi_table(df, dim)
        if dim == "hotspot":
            area_pops = [p for p in pops if p[1] not in (OUTSIDE, NO_LOCATION)]
    if by_hotspot is not None:
        pops = att.linkage_table(by_hotspot, "hotspot")
        area_pops = sorted(set(area_pops) | {p for p in pops if p[1] not in (OUTSIDE, NO_LOCATION)})
    if summary is not None:
        att.linkage_table(summary, "where")
    if area_pops:
        att.areas_in_hotspots(area_pops, LINK_COUNTS + ("~without_task_site", "~not_completed_at_site", "~not_local"))
    if area_referrals is not None and "referrals" in area_referrals.columns:
        for aid, shown in zip(area_referrals["area_id"], area_referrals["referrals"]):
            att.published((("hotspot", str(int(aid))), "referrals"), shown)
    if origins is not None and len(origins):
        att.squares(origins, areas)
    if sites is not None and flows is not None:
        att.tasks_and_flows(sites, flows)
    if load_report is not None:
        att.load_report(load_report)
    return att


# =============================================================================== random schemes
X0, Y0 = 430_000.0, 330_000.0


def scheme(n: int, seed: int, t: int = 5, n_areas: int = 2, offset: float = 0.0):
    """A random referral set around four towns with hotspot areas and task sites, linked and published."""
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    refs, area_gdf, tasks, towns = scheme_data(n, seed, n_areas, offset)
    link = link_referrals(refs, areas=area_gdf, tasks=tasks, towns=towns)
    pub = publish_scheme(refs, linkage=link, areas=area_gdf, threshold=t, snap_m=250.0)
    return pub, area_gdf


def scheme_data(n: int, seed: int, n_areas: int = 2, offset: float = 0.0):
    """Referrals, hotspot areas, task sites and towns of a random scheme (EPSG:27700)."""
    from hotspots.schema import OFFENCES, ROUTES

    rng = np.random.default_rng(seed)
    areas = []
    for i in range(n_areas):
        w, h = 500.0 * rng.integers(1, 4), 500.0 * rng.integers(1, 4)
        x, y = X0 + 1_000 + i * 2_500 + offset, Y0 + 1_000 + offset
        areas.append(shapely.box(x, y, x + w, y + h))
    area_gdf = gpd.GeoDataFrame({"area_id": np.arange(1, n_areas + 1)}, geometry=areas, crs=27700) if n_areas else None
    town_x = [X0 + 500, X0 + 3_500, X0 + 6_500, X0 + 3_500]
    town_y = [Y0 + 500, Y0 + 4_000, Y0 + 500, Y0 - 2_000]
    towns = gpd.GeoDataFrame({"name": ["Aton", "Beeby", "Ceford", "Dunham"]}, geometry=gpd.points_from_xy(town_x, town_y),
                             crs=27700)
    n_sites = int(rng.integers(2, 7))
    site_xy = gpd.points_from_xy(X0 + rng.uniform(0, 7_000, n_sites), Y0 + rng.uniform(-2_000, 4_000, n_sites))
    tasks = gpd.GeoDataFrame({"task_id": [f"T{i}" for i in range(n_sites)],
                              "kind": rng.choice(["food bank", "allotment", "workshop"], n_sites),
                              "site_name": [f"Site {i}" for i in range(n_sites)]}, geometry=site_xy, crs=27700)
    # a share of the referrals in the hotspot areas, the rest around the towns
    pts = []
    for _ in range(n):
        if areas and rng.random() < 0.6:
            a = areas[int(rng.integers(0, len(areas)))]
            x0, y0, x1, y1 = a.bounds
            pts.append((rng.uniform(x0, x1), rng.uniform(y0, y1)))
        else:
            c = towns.geometry.iloc[int(rng.integers(0, 4))]
            pts.append((c.x + rng.normal(0, 700), c.y + rng.normal(0, 700)))
    pts = np.array(pts)
    start = pd.Timestamp("2023-07-01")
    referred = start + pd.to_timedelta(rng.uniform(0, 640, n), unit="D")
    contact = pd.to_timedelta(np.where(rng.random(n) < 0.9, rng.uniform(1, 80, n), np.nan), unit="h")
    booked = contact + pd.to_timedelta(rng.uniform(0, 30, n), unit="h")
    offences = list(OFFENCES[: int(rng.integers(1, 5))])
    routes = list(ROUTES[: int(rng.integers(1, 4))])
    refs = gpd.GeoDataFrame({
        "referral_id": [f"R{i}" for i in range(n)],
        "person_ref": [f"p_{i:016x}" for i in range(n)],
        "referred_at": referred,
        "offence": rng.choice(offences, n),
        "route": rng.choice(routes, n),
        "age_group": rng.choice(["youth", "adult"], n, p=[0.35, 0.65]),
        "contacted_at": referred + contact,
        "task_booked_at": referred + booked,
        "outcome": rng.choice(["completed", "refused", "withdrawn", "in progress"], n, p=[0.74, 0.13, 0.08, 0.05]),
        "task_id": pd.array(np.where(rng.random(n) < 0.8, rng.choice(tasks["task_id"], n), None), dtype="string"),
        "reoffended": pd.array(np.where(rng.random(n) < 0.8, rng.random(n) < 0.2, None), dtype="boolean"),
        "victim_satisfied": pd.array(np.where(rng.random(n) < 0.4, rng.random(n) < 0.97, None), dtype="boolean"),
        "first_time_entrant": pd.array(rng.random(n) < 0.4, dtype="boolean"),
    }, geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=27700)
    return refs, area_gdf, tasks, towns
