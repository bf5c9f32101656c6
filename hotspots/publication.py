"""Everything person-level one analysis publishes, built and protected together.

The scheme's figures about people appear in many places at once: KPI tables by month, offence,
route, age group and hotspot; the app's cards and funnel; referrals per hotspot area (CSV,
GeoPackage, briefing images, map popups); referral-origin squares and referral → task lines on
maps; referrals per task site; the referral file's load report. They are counts of the same
people, tied by sums, so they are protected as one :class:`~hotspots.disclosure.Ledger` by
:func:`publish_scheme`, and every output takes its figures from the resulting
:class:`SchemePublication` (:func:`scheme_publication` for an :class:`~hotspots.analysis.Analysis`).

Relations a reader can use (all in the ledger)
----------------------------------------------
* within a row: outcomes add up to referrals, complements (re-offended = eligible − not
  re-offended, ...), the funnel's stages;
* across rows: months, offences, routes, age groups, hotspot areas (+ outside, no location)
  each add up to all referrals; hotspot areas add up to "in hotspots";
* geography: referral squares add up to the referrals with a location; a square that lies in one
  hotspot area (or wholly outside them) adds to that area's referrals, a square crossing an
  edge is split into unknown parts, one per area it touches;
* reparation: referral → task flows from each hotspot area (and from each town, for referrals
  outside hotspots) to each task site add up to the area's referrals with a task site and to the
  site's total;
* the load report: rows read = kept + dropped; dropped = the sum of the reasons; kept = referrals.

Referral → task flows are drawn from the hotspot area (or the town) to the site, not from
referral squares: no line, site total or difference singles anyone out, and map symbols use
only shown counts (:meth:`SchemePublication.symbol_counts`).

Filtered views (the app)
------------------------
:meth:`SchemePublication.view` gives the figures for the referrals of some groups of one
dimension (e.g. two offences together). A figure is shown only when the published tables
already determine it (a sum of shown counts, or worked out exactly by the reader's integer
programme), so any number of views shown together reveal nothing beyond the published tables.
Groups of several dimensions at once (an offence *and* an age group) are not published tables:
their figures are hidden.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import ParameterError
from .disclosure import (
    SECONDARY,
    SUPPRESSION_THRESHOLD,
    Ledger,
    Protection,
    check_threshold,
    disclosure_statement,
    feasible_ranges,
    people_basis,
    percent_text,
    person_codes,
    protect,
    small_marker,
)
from .grid import BNG
from .kpis import (
    KPI_PCTS,
    NOT_RECORDED,
    ROW_MEASURES,
    TOTAL_LABEL,
    add_kpi_rows,
    funnel_display,
    kpi_display,
    kpi_rows,
    not_recorded_measures,
)
from .report import add_load_report, count_text, load_report_display

__all__ = [
    "CHECKS",
    "DIMENSIONS",
    "DEFAULT_SNAP_M",
    "SchemePublication",
    "publish_scheme",
    "scheme_publication",
]

#: Dimensions the KPI tables are broken down by (and the app can filter on), in order.
DIMENSIONS = ("month", "offence", "route", "age_group", "hotspot")
#: Default side of the squares referral locations are aggregated to, metres.
DEFAULT_SNAP_M = 250.0
ALL = ("all",)
_FIGURES = ("referrals", "completed", "refused", "withdrawn", "in_progress", "concluded", "followup_eligible",
            "not_reoffended", "victim_responses", "victims_satisfied", "contacted_48h",
            "contacted_booked_48h", "first_time_entrant_recorded", "first_time_entrants", "contacted", "booked")
# the rates a map view shows (numerator, denominator as in kpis.KPI_PCTS)
_VIEW_PCTS = {
    name: KPI_PCTS[name]
    for name in (
        "completed_pct", "not_reoffended_pct", "victim_satisfied_pct", "contacted_48h_pct", "contacted_booked_48h_pct",
        "first_time_entrant_pct",
    )
}


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class SchemePublication:
    """The protected person-level outputs of one analysis.

    Attributes
    ----------
    protection : Protection
        Status of every count (internal; its ledger holds exact values).
    threshold : int
    snap_m : float
        Side of the referral squares, metres.
    kpis : dict of str to DataFrame
        Display KPI tables: ``"all"`` (one row) and one per dimension of :data:`DIMENSIONS`
        present (the total row last), as :attr:`hotspots.kpis.KPITable.table`.
    funnel : dict of str to DataFrame
        Display funnel tables (referred, contacted, booked, completed), same keys.
    referrals_by_hotspot, referrals_summary : DataFrame or None
        Display linkage tables (:attr:`hotspots.linkage.LinkageResult.display` and
        ``summary_display``), protected with everything else.
    origins : GeoDataFrame or None
        Referral squares (EPSG:27700 square polygons): ``square_x``, ``square_y`` (centre),
        ``square_m``, ``referrals`` (Int64, missing when hidden), ``referrals_shown`` (text).
    task_sites : DataFrame or None
        ``task_id``, ``referrals``, ``referrals_shown`` per task site (site order): the referrals
        linked to it; for a site outside the study area (which links none), the referrals naming
        it (they are left out of the reparation measures and flows, not of this count).
    flows : GeoDataFrame or None
        Referral → task lines from each hotspot area (or town) to each task site with any
        referral: ``origin`` (area id or town), ``origin_kind`` ("hotspot area" / "town"),
        ``task_id``, ``task_kind``, ``task_site``, ``task_town``, ``site_in_origin_town``, ``length_m``,
        ``referrals``, ``referrals_shown``.
    statement : str
        :func:`hotspots.disclosure.disclosure_statement`, for every output.
    window : str
        The re-offending follow-up window in words.
    data_notes : tuple of str
        The KPI data notes (e.g. contact times before the referral). They quote exact counts (the CLI's console
        lines for the analyst): show them through :meth:`text` (each count as published) anywhere else.
    notes : tuple of str
    checks : dict of str to int or str
        The data-quality counts of :data:`CHECKS` (referrals with a location outside the study
        area, naming a task id not in the task table or a site outside the study area, dated
        outside the incidents' months, with implausible contact times), protected with
        everything else: for ``parameters.json`` and the app.
    """

    protection: Protection = field(repr=False)
    threshold: int
    snap_m: float
    kpis: dict[str, pd.DataFrame] = field(repr=False)
    funnel: dict[str, pd.DataFrame] = field(repr=False)
    referrals_by_hotspot: pd.DataFrame | None = field(repr=False)
    referrals_summary: pd.DataFrame | None = field(repr=False)
    origins: gpd.GeoDataFrame | None = field(repr=False)
    task_sites: pd.DataFrame | None = field(repr=False)
    flows: gpd.GeoDataFrame | None = field(repr=False)
    statement: str
    window: str = ""
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)
    data_notes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: What groups are measured in (:func:`hotspots.disclosure.people_basis`): people, or referrals without ``person_ref``.
    basis: str = ""
    checks: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Figures and rates whose times the referrals never record (:func:`hotspots.kpis.not_recorded_measures`):
    #: shown as "not recorded" everywhere, never as 0.
    not_recorded: tuple[str, ...] = ()
    local_rule: str = ""  #: the local-reparation rule in words (:func:`hotspots.reparation.local_rule_text`), for captions
    _reports: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)
    _texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def unsafe(self) -> bool:
        return self.threshold < 3

    def load_report(self, report: Any) -> dict[str, Any]:
        """The referral file's load report (rows read, kept, dropped and why) as it may be shown.

        Its counts are people too, and rows kept = all referrals: they are protected against
        everything already published here (which stays as it is).
        """
        cached = self._reports.get(id(report))
        if cached is not None and cached[0] is report:
            return cached[1]
        ledger = self.protection.ledger.copy()
        add_load_report(ledger, ALL, report, int(self.protection.ledger.value((ALL, "referrals"))))
        prot = protect(ledger, threshold=self.threshold, unsafe=self.unsafe, protect_implied=self.protection.protect_implied,
                       base=self.protection)
        shown = load_report_display(prot, report)
        self._reports[id(report)] = (report, shown)
        return shown

    def text(self, note: str) -> str:
        """``note`` (a data note, check or caveat that quotes counts of these referrals: "12 referral(s) have a
        re-offending flag but ...") with each count as the analysis publishes it: the same disclosure decision as
        the KPI tables (:func:`hotspots.disclosure.protect`, against everything already published here).

        Each count is a part of all referrals (the rest hidden): shown as the number, as ``"<5"`` when small, or
        left out ("some referral(s)") when it would give away a hidden count. When the KPI tables hide the total
        (``"c"``: Essex's 12 referrals), no count of them is printed (``"<5"`` or "some"): a part can be all of them.
        A number larger than the referrals is not a count of them and stays, as does a 0.
        """
        from .privacy import PERSON_COUNT

        found = list(PERSON_COUNT.finditer(str(note)))
        if not found or (ALL, "referrals") not in self.protection:
            return str(note)
        cached = self._texts.get(note)
        if cached is not None:
            return cached
        total = int(self.protection.ledger.value((ALL, "referrals")))
        total_shown = isinstance(self.protection.marker((ALL, "referrals")), (int, np.integer))
        ledger = self.protection.ledger.copy()
        keys: list[Any] = []
        for i, m in enumerate(found):
            n = int(m.group(1).replace(",", ""))
            if n > total or n == 0:  # not a count of these referrals, or none (a 0 is never hidden)
                keys.append(None)
                continue
            if not total_shown:  # the tables hide the total: no part of it is printed (a part can be all of it)
                keys.append(small_marker(self.threshold) if n < self.threshold else "some")
                continue
            key, rest = ("text", i), ("text", i, "rest")
            ledger.add(key, n, cost=1)
            ledger.add(rest, total - n, shown=False)
            ledger.relate((ALL, "referrals"), [key, rest])
            keys.append(key)
        cells = [k for k in keys if isinstance(k, tuple)]
        prot = protect(ledger, threshold=self.threshold, unsafe=self.unsafe, protect_implied=self.protection.protect_implied,
                       base=self.protection) if cells else None
        out, at = [], 0
        for m, key in zip(found, keys):
            out.append(note[at:m.start()])
            if key is None or isinstance(key, str):
                out.append(m.group(1) if key is None else key)
            else:
                shown = prot.marker(key)
                out.append(f"{shown:,}" if isinstance(shown, (int, np.integer))
                           else shown if shown == small_marker(self.threshold) else "some")
            at = m.end()
        text = "".join(out) + note[at:]
        self._texts[note] = text
        return text

    def load_report_text(self, report: Any) -> str:
        """:meth:`load_report` in one line, as published: ``file: read 301, kept 271, dropped 30 (reason: <5; ...)``."""
        d = self.load_report(report)
        text = f"{d.get('source')}: read {count_text(d['rows_read'])}, kept {count_text(d['rows_kept'])}, " \
               f"dropped {count_text(d['rows_dropped'])}"
        if d["dropped"]:
            text += " (" + "; ".join(f"{k}: {count_text(v)}" for k, v in d["dropped"].items()) + ")"
        return text

    def symbol_counts(self, layer: str) -> np.ndarray:
        """Counts a map symbol may encode for ``"origins"`` or ``"flows"``: the shown count, 0 where hidden.

        Every hidden square or line gets the same symbol, so sizes and widths never tell hidden
        counts apart.
        """
        g = {"origins": self.origins, "flows": self.flows}.get(layer)
        if layer not in ("origins", "flows"):
            raise ParameterError(f"`layer` must be 'origins' or 'flows'; got {layer!r}.")
        if g is None:
            return np.zeros(0, dtype=np.int64)
        return g["referrals"].fillna(0).to_numpy(dtype=np.int64)

    # ------------------------------------------------------------------ filtered views
    def view(self, dimension: str | None = None, values: Sequence[str] | None = None, **more: Sequence[str]) -> dict[str, Any]:
        """The figures for the referrals in some groups of one dimension (the app's filters).

        Parameters
        ----------
        dimension : str, optional
            One of :data:`DIMENSIONS`, or ``"where"`` (``"in hotspots"``, ``"outside hotspots"``);
            None for all referrals.
        values : list of str
            Groups of that dimension (e.g. ``["harassment", "public order"]``); empty = all.
        **more
            Further dimensions: figures across two dimensions are never published, so every
            figure is then hidden (with a note).

        Returns
        -------
        dict
            ``figures`` {measure: shown int or marker}, ``percents`` {name: shown value or
            marker}, ``groups`` (the groups combined), ``note`` (why figures are hidden, or "").
            A figure is shown only when the published tables determine it.
        """
        extra = {k: v for k, v in more.items() if v}
        keys, note = self._view_keys(dimension, values)
        figures: dict[str, Any] = {}
        if extra:
            note = ("Figures for a combination of filters on different dimensions are not shown: they could be "
                    "compared with the published tables to single people out. Filter on one dimension at a time.")
            figures = {m: SECONDARY for m in _FIGURES}
        elif keys == [ALL] or len(keys) == 1:
            key = keys[0]
            figures = {m: self.protection.marker((key, m)) if (key, m) in self.protection else 0 for m in _FIGURES}
        else:
            combos = [{(k, m): 1.0 for k in keys if (k, m) in self.protection} for m in _FIGURES]
            ranges = feasible_ranges(self.protection, combos)
            t = self.threshold
            for m, (lo, hi) in zip(_FIGURES, ranges):
                if lo == hi:
                    figures[m] = int(lo) if not (0 < lo < t) else f"<{t}"
                else:
                    figures[m] = SECONDARY
        pcts = {}
        for name, (num, den) in _VIEW_PCTS.items():
            n, d = figures.get(num), figures.get(den)
            if len(keys) == 1 and not extra:
                row = self._row(keys[0])
                pcts[name] = row.get(name, SECONDARY) if row is not None else SECONDARY
            elif isinstance(n, (int, np.integer)) and isinstance(d, (int, np.integer)):
                pcts[name] = percent_text(int(n), int(d), threshold=self.threshold)
            elif isinstance(n, (int, np.integer)) and n == 0 and d in (SECONDARY, f"<{self.threshold}"):
                pcts[name] = percent_text(0, None, threshold=self.threshold, den_state="secondary")
            else:
                pcts[name] = SECONDARY if d != 0 else None
        for m in self.not_recorded:
            if m in figures:
                figures[m] = NOT_RECORDED
            if m in pcts:
                pcts[m] = NOT_RECORDED
        return {"figures": figures, "percents": pcts, "groups": [k[1] if len(k) > 1 else TOTAL_LABEL for k in keys], "note": note}

    def filtered(self, *, offence: Sequence[str] = (), route: Sequence[str] = (), age_group: Sequence[str] = (),
                 hotspot: str | None = None, month: Sequence[str] = ()) -> dict[str, Any]:
        """The figures behind the app's filters (empty = all): :meth:`view` of the one filtered dimension.

        ``hotspot`` is ``"all"`` (or None), ``"in hotspots"``, ``"outside hotspots"`` or an area id
        as text. Filters on two or more dimensions give hidden figures and a note (see :meth:`view`).
        """
        chosen: list[tuple[str, list[str]]] = []
        for dim, vals in (("offence", offence), ("route", route), ("age_group", age_group), ("month", month)):
            if vals:
                chosen.append((dim, [str(v) for v in vals]))
        if hotspot not in (None, "all", ""):
            chosen.append(("where" if hotspot in ("in hotspots", "outside hotspots") else "hotspot", [str(hotspot)]))
        if not chosen:
            return self.view()
        (dim, vals), rest = chosen[0], dict(chosen[1:])
        return self.view(dim, vals, **rest)

    def _view_keys(self, dimension: str | None, values: Sequence[str] | None) -> tuple[list[tuple], str]:
        if dimension is None or not values:
            return [ALL], ""
        if dimension not in (*DIMENSIONS, "where"):
            raise ParameterError(f"`dimension` must be one of {list(DIMENSIONS) + ['where']}; got {dimension!r}.")
        known = self.groups.get(dimension, ())
        vals = [str(v) for v in values]
        bad = [v for v in vals if v not in known]
        if bad:
            raise ParameterError(f"{dimension} group(s) {bad} are not in the data; choose from {list(known)}.")
        if dimension == "where":
            return [("where", v) if v == "in hotspots" else ("hotspot", v) for v in vals], ""
        if dimension == "hotspot" and len(vals) == 1 and vals[0] not in known:  # an area without referrals
            return [(dimension, vals[0])], ""
        if set(vals) == set(known):
            return [ALL], ""
        return [(dimension, v) for v in vals], ""

    def _row(self, key: tuple) -> dict[str, Any] | None:
        """The displayed KPI row of one population."""
        if key == ALL:
            t = self.kpis["all"]
            return t.iloc[-1].to_dict()
        dim = key[0] if key[0] != "where" else "where"
        if dim == "where":
            t = self.kpis.get("where")
            label = key[1]
        else:
            t = self.kpis.get(dim)
            label = key[1]
        if t is None:
            return None
        hit = t[t.iloc[:, 0].astype(str) == str(label)]
        return hit.iloc[0].to_dict() if len(hit) else None


# =============================================================================== building
def _square_candidates(squares: np.ndarray, snap: float, areas: gpd.GeoDataFrame | None, ids: Sequence[str],
                       tol: float) -> list[list[str]]:
    """For each square (ix, iy): the regions (area ids, or "outside hotspots") its points could be assigned to.

    A square holds the points with ``ix*snap <= x < (ix+1)*snap`` (and likewise y); a point is in
    an area when it lies in it or on its edge, or within ``tol`` metres of it.
    """
    from .linkage import OUTSIDE_HOTSPOTS

    n = len(squares)
    if areas is None or len(areas) == 0:
        return [[OUTSIDE_HOTSPOTS]] * n
    eps = 1e-6 * snap
    x0 = squares[:, 0] * snap
    y0 = squares[:, 1] * snap
    boxes = shapely.box(x0, y0, x0 + snap - eps, y0 + snap - eps)
    geoms = areas.geometry.values
    if tol > 0:
        geoms = shapely.buffer(geoms, tol)
    tree = shapely.STRtree(geoms)
    bi, ai = tree.query(boxes, predicate="intersects")
    cands: list[list[str]] = [[] for _ in range(n)]
    for b, a in zip(bi.tolist(), ai.tolist()):
        cands[b].append(ids[a])
    union = shapely.union_all(geoms)
    inside = shapely.covers(union, shapely.box(x0, y0, x0 + snap, y0 + snap))
    for i in range(n):
        if not inside[i]:
            cands[i].append(OUTSIDE_HOTSPOTS)
        cands[i] = sorted(set(cands[i]), key=lambda r: (r == OUTSIDE_HOTSPOTS, int(r) if r.isdigit() else 0, r))
    return cands


def publish_scheme(
    referrals: pd.DataFrame,
    *,
    linkage: Any = None,
    areas: gpd.GeoDataFrame | None = None,
    threshold: int = SUPPRESSION_THRESHOLD,
    unsafe: bool = False,
    protect_implied: bool = True,
    snap_m: float = DEFAULT_SNAP_M,
    as_of: Any = None,
    follow_up_months: int = 6,
    contact_hours: float = 48,
    reoffending_base: str = "all",
) -> SchemePublication:
    """Build and protect every person-level figure of one analysis (see the module docs).

    Parameters
    ----------
    referrals : DataFrame or GeoDataFrame
        The referrals (canonical columns). With ``linkage`` its ``table`` is used instead.
    linkage : LinkageResult, optional
        :func:`hotspots.linkage.link_referrals` of these referrals: hotspots, task sites, towns.
    areas : GeoDataFrame, optional
        The hotspot areas (``area_id``, polygons in EPSG:27700) the linkage used: squares are
        tied to the areas they lie in.
    threshold : int, default 5
    unsafe : bool
        Needed for a threshold below 3.
    protect_implied : bool, default True
    snap_m : float, default 250
        Side of the referral squares, metres (at least 50).
    as_of, follow_up_months, contact_hours, reoffending_base
        As :func:`hotspots.kpis.scheme_kpis`.

    Returns
    -------
    SchemePublication
    """
    from .linkage import IN_HOTSPOTS, NO_LOCATION, OUTSIDE_HOTSPOTS, add_linkage_rows, linkage_display

    t = check_threshold(threshold, unsafe)
    try:
        snap = float(snap_m)
    except (TypeError, ValueError):
        raise ParameterError(f"`snap_m` must be metres (e.g. 250); got {snap_m!r}.") from None
    if not (math.isfinite(snap) and snap >= 50):
        raise ParameterError(
            f"`snap_m` must be at least 50 metres (referral points must not be published exactly); got {snap_m!r}.")
    table = linkage.table if linkage is not None else referrals
    if not isinstance(table, pd.DataFrame) or len(table) == 0:
        raise ParameterError("`referrals` must be a non-empty table of referrals.")
    has_areas = linkage is not None and getattr(linkage, "has_areas", False)
    has_tasks = linkage is not None and getattr(linkage, "has_tasks", False) and linkage.task_sites is not None
    kpi_args = {"as_of": as_of, "follow_up_months": follow_up_months, "contact_hours": contact_hours,
                "reoffending_base": reoffending_base}
    ledger = Ledger()
    raws: dict[str, Any] = {}
    keys_of: dict[str, list[tuple]] = {}
    groups: dict[str, tuple[str, ...]] = {}

    # ---- KPI rows: overall and one table per dimension, all sharing the total row
    overall = kpi_rows(table, by=None, **kpi_args)
    raws["all"], keys_of["all"] = overall, [ALL]
    add_kpi_rows(ledger, overall.raw, [ALL])
    dims = [d for d in DIMENSIONS if d == "month" or (d in table.columns and (d != "hotspot" or has_areas))]
    areas_listed = [str(h) for h in linkage.per_hotspot["hotspot"] if h != TOTAL_LABEL] if has_areas else []
    for dim in dims:  # every hotspot area listed, those without referrals too (as referrals_by_hotspot lists them)
        rows = kpi_rows(table, by=dim, **kpi_args, levels=areas_listed if dim == "hotspot" else ())
        labels = [str(g) for g in rows.raw[rows.group_col]]
        keys = [(dim, g) for g in labels[:-1]] + [ALL]
        raws[dim], keys_of[dim] = rows, keys
        groups[dim] = tuple(labels[:-1])
        add_kpi_rows(ledger, rows.raw, keys, total=ALL)
    if has_areas:
        lab = table["hotspot"].astype(str)
        where = lab.where(lab.isin([OUTSIDE_HOTSPOTS, NO_LOCATION]), IN_HOTSPOTS)
        rows = kpi_rows(table.assign(where=where.to_numpy()), by="where", **kpi_args)
        labels = [str(g) for g in rows.raw["where"]]
        keys = [("where", IN_HOTSPOTS) if g == IN_HOTSPOTS else ("hotspot", g) for g in labels[:-1]] + [ALL]
        raws["where"], keys_of["where"] = rows, keys
        groups["where"] = tuple(labels[:-1])
        add_kpi_rows(ledger, rows.raw, keys, total=ALL)
        area_keys = [k for k in keys_of["hotspot"] if k != ALL and k[1] not in (OUTSIDE_HOTSPOTS, NO_LOCATION)]
        ledger.relate_rows(("where", IN_HOTSPOTS), area_keys, ROW_MEASURES)

    # ---- linkage rows (per hotspot area, in/outside hotspots): the same populations
    link_raw = link_keys = sum_raw = sum_keys = None
    if linkage is not None:
        link_raw, sum_raw = linkage.per_hotspot, linkage.per_where
        if has_areas and len(link_raw):
            link_keys = [ALL if h == TOTAL_LABEL else ("hotspot", str(h)) for h in link_raw["hotspot"]]
            add_linkage_rows(ledger, link_raw, link_keys, total=ALL)
        sum_keys = [("where", IN_HOTSPOTS) if w == IN_HOTSPOTS else (ALL if w == TOTAL_LABEL else ("hotspot", w))
                    for w in sum_raw["where"]]
        add_linkage_rows(ledger, sum_raw, sum_keys, total=ALL)
        if has_areas and link_keys:
            from .linkage import LINK_COUNTS

            area_keys = [k for k in link_keys if k != ALL and k[1] not in (OUTSIDE_HOTSPOTS, NO_LOCATION)]
            ledger.relate_rows(("where", IN_HOTSPOTS), area_keys, list(LINK_COUNTS))

    # ---- geography: squares, and their parts in each hotspot area
    # groups are protected by their number of distinct people (a person referred 6 times is one)
    by_people = bool("person_ref" in table.columns and table["person_ref"].notna().any())
    who = person_codes(table["person_ref"] if "person_ref" in table.columns else [None] * len(table))
    located = _located(table)
    n_all = len(table)
    n_loc = int(located.sum())
    ledger.add(("where", "located"), n_loc, shown=False)
    if n_all == n_loc:
        # No "no location" group anywhere: a reader knows every referral has a location.
        ledger.add(("where", "unlocated"), 0)
        unlocated_key: Any = ("where", "unlocated")
    elif (("hotspot", NO_LOCATION), "referrals") in ledger:
        unlocated_key = (("hotspot", NO_LOCATION), "referrals")
    else:
        ledger.add(("where", "unlocated"), n_all - n_loc, shown=False)
        unlocated_key = ("where", "unlocated")
    ledger.relate((ALL, "referrals"), [("where", "located"), unlocated_key])
    origins = None
    if n_loc:
        geom = table.geometry.values[located]
        xy = shapely.get_coordinates(geom)
        ix = np.floor(xy[:, 0] / snap).astype(np.int64)
        iy = np.floor(xy[:, 1] / snap).astype(np.int64)
        sq, inv, cnt = np.unique(np.column_stack([ix, iy]), axis=0, return_inverse=True, return_counts=True)
        inv = np.asarray(inv).ravel()
        sq_keys = [("square", int(a), int(b)) for a, b in sq]
        sq_people = pd.Series(who[located]).groupby(inv).nunique().reindex(range(len(sq)), fill_value=0).tolist()
        for k, c, p in zip(sq_keys, cnt.tolist(), sq_people):
            ledger.add((k, "referrals"), c, people=p)
        ledger.relate(("where", "located"), [(k, "referrals") for k in sq_keys])
        if has_areas:
            a = areas if areas is not None else None
            ids = [str(i) for i in a["area_id"].tolist()] if a is not None else []
            tol = float(linkage.params.get("tolerance_m", 0.0) or 0.0)
            cands = _square_candidates(sq, snap, a, ids, tol) if a is not None else [[OUTSIDE_HOTSPOTS]] * len(sq)
            region = table["hotspot"].astype(str).to_numpy()[located]
            parts: dict[str, list[tuple]] = {}
            for s_i, (k, cs) in enumerate(zip(sq_keys, cands)):
                if len(cs) == 1:
                    parts.setdefault(cs[0], []).append((k, "referrals"))
                    continue
                members = region[inv == s_i]
                for r in cs:
                    pk = (("piece", k, r), "referrals")
                    ledger.add(pk, int((members == r).sum()), shown=False)
                    parts.setdefault(r, []).append(pk)
                ledger.relate((k, "referrals"), [(("piece", k, r), "referrals") for r in cs])
            for r, plist in parts.items():
                key = (("hotspot", r), "referrals")
                if key not in ledger:
                    ledger.add(key, 0)
                ledger.relate(key, plist)
                # the squares of an area break its referrals down: none is published for fewer than t people
                ledger.breakdown(key, plist)
        origins = _origins_frame(sq, snap, sq_keys)

    # ---- task sites and referral → task flows
    sites_frame = flows_frame = None
    if has_tasks:
        sites_frame, flows_frame = _tasks_and_flows(ledger, table, linkage, areas if has_areas else None, located, has_areas,
                                                    who)

    _add_checks(ledger, linkage, overall.checks, n_all - n_loc, unlocated_key, groups.get("month", ()))
    prot = protect(ledger, threshold=t, unsafe=unsafe, protect_implied=protect_implied)

    kpis: dict[str, pd.DataFrame] = {}
    funnel: dict[str, pd.DataFrame] = {}
    for name, rows in raws.items():
        group_col = rows.group_col if name != "all" else "group"
        raw = rows.raw
        kpis[name], _ = kpi_display(prot, raw, keys_of[name], group_col)
        funnel[name], _ = funnel_display(prot, raw, keys_of[name], group_col)
    by_hot = linkage_display(prot, link_raw, link_keys, "hotspot") if link_keys else None
    summ = linkage_display(prot, sum_raw, sum_keys, "where") if sum_keys else None
    place_notes: list[str] = []
    if origins is not None:
        keys = [(k, "referrals") for k in origins.attrs.pop("keys")]
        origins = _few_people_left_out(_fill(origins, prot, keys), prot, keys, t, "referral square", place_notes)
    if sites_frame is not None:
        sites_frame = _fill(sites_frame, prot, [(("site", tid), "referrals") for tid in sites_frame["task_id"]])
    if flows_frame is not None:
        keys = flows_frame.attrs.pop("keys")
        flows_frame = _few_people_left_out(_fill(flows_frame, prot, keys), prot, keys, t, "referral → task line", place_notes)
    return SchemePublication(
        protection=prot, threshold=t, snap_m=snap, kpis=kpis, funnel=funnel, referrals_by_hotspot=by_hot,
        referrals_summary=summ, origins=origins, task_sites=sites_frame, flows=flows_frame,
        statement=disclosure_statement(t, by_people=by_people), window=overall.window, groups=groups, data_notes=overall.notes,
        notes=prot.notes + tuple(place_notes), basis=people_basis(by_people),
        checks={name: prot.marker(("check", name)) for name in CHECKS if ("check", name) in prot},
        not_recorded=not_recorded_measures(overall.raw), local_rule=str(getattr(linkage, "params", {}).get("local_rule", "")),
    )


#: The data-quality counts of :attr:`SchemePublication.checks`: from the linkage summary
#: (:func:`hotspots.linkage.link_referrals`) and the KPI rows (:attr:`hotspots.kpis.KPIRows.checks`).
CHECKS = ("outside_study_area", "task_not_found", "referrals_to_task_site_outside_area", "dated_outside_months",
          "contact_before_referral", "contact_long_after_referral")


def _add_checks(ledger: Ledger, linkage: Any, kpi_checks: Mapping[str, int], n_unlocated: int, unlocated_key: Any,
                months: Sequence[str]) -> None:
    """The :data:`CHECKS` counts as published cells, tied to what they add up from: the referrals
    outside the study area are a part of those without a (usable) location, those dated outside
    the incidents' months the sum of the KPI table's rows for those months."""
    summary = getattr(linkage, "summary", None) or {}
    values = {**{k: summary.get(k) for k in CHECKS[:4]}, **dict(kpi_checks)}
    span = (getattr(linkage, "params", None) or {}).get("months")
    outside_rows: list[tuple] = []
    if span and months:
        outside_rows = [(("month", m), "referrals") for m in months if m < span[0] or m > span[1]]
        if all(k in ledger for k in outside_rows):
            values["dated_outside_months"] = int(sum(ledger.value(k) for k in outside_rows))
        else:
            outside_rows = []
    for name in CHECKS:
        v = values.get(name)
        if v is not None:
            ledger.add(("check", name), int(v))
    if outside_rows:
        ledger.relate(("check", "dated_outside_months"), outside_rows)
    out = values.get("outside_study_area")
    if ("where", "task_site_outside") in ledger and ("check", "referrals_to_task_site_outside_area") in ledger:
        ledger.relate(("check", "referrals_to_task_site_outside_area"), [("where", "task_site_outside")])
    if out is not None and n_unlocated:
        ledger.add(("check", "no_point"), n_unlocated - int(out), shown=False)
        ledger.relate(unlocated_key, [("check", "outside_study_area"), ("check", "no_point")])


def _located(table: pd.DataFrame) -> np.ndarray:
    if "has_location" in table.columns:
        return table["has_location"].to_numpy(dtype=bool)
    if isinstance(table, gpd.GeoDataFrame):
        g = table.geometry
        return ~(g.isna() | g.is_empty).to_numpy()
    return np.zeros(len(table), dtype=bool)


def _origins_frame(sq: np.ndarray, snap: float, keys: list[tuple]) -> gpd.GeoDataFrame:
    x0 = sq[:, 0].astype(float) * snap
    y0 = sq[:, 1].astype(float) * snap
    g = gpd.GeoDataFrame(
        {"square_x": x0 + snap / 2, "square_y": y0 + snap / 2, "square_m": np.full(len(sq), snap)},
        geometry=shapely.box(x0, y0, x0 + snap, y0 + snap), crs=BNG,
    )
    g.attrs["keys"] = keys
    return g


def _fill(frame: pd.DataFrame, prot: Protection, keys: Sequence[Any]) -> pd.DataFrame:
    """``frame`` with ``referrals`` (shown count or missing) and ``referrals_shown`` (marker), geometry last."""
    shown = [prot.shown_value(k) for k in keys]
    frame["referrals"] = pd.array([None if v is None else int(v) for v in shown], dtype="Int64")
    frame["referrals_shown"] = pd.Series([str(prot.marker(k)) for k in keys], index=frame.index, dtype=object)
    if isinstance(frame, gpd.GeoDataFrame):
        geom = frame.geometry.name
        frame = frame[[c for c in frame.columns if c != geom] + [geom]]
    return frame


def _few_people_left_out(frame: pd.DataFrame, prot: Protection, keys: Sequence[Any], t: int, what: str,
                         notes: list[str]) -> pd.DataFrame:
    """``frame`` without the rows (squares, lines) of fewer than ``t`` distinct people, noted (no count).

    Drawn, a square or line says someone from there was referred (or went to that site), whatever its count
    shows ("<5", "x"): its place is the disclosure. Its referrals still count in every (protected) total.
    """
    if t <= 1 or len(frame) == 0:
        return frame
    ledger = prot.ledger
    keep = np.array([ledger.n_people(ledger.index(k)) >= t for k in keys], dtype=bool)
    if keep.all():
        return frame
    text = f"a {what} of fewer than {t} people is not drawn (its place would point to them); their referrals count in the totals"
    if what == "referral square":
        text += (f"{'' if keep.any() else f' (no square holds {t} or more people: none is drawn)'}; larger squares "
                 "(`snap_m`, the command line's `--snap`) gather more people each")
    notes.append(text)
    return frame.loc[keep].reset_index(drop=True)


def _tasks_and_flows(ledger: Ledger, table: pd.DataFrame, linkage: Any, areas: gpd.GeoDataFrame | None, located: np.ndarray,
                     has_areas: bool, who: np.ndarray) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    from .linkage import NO_LOCATION, OUTSIDE_HOTSPOTS, SITE_OUTSIDE_AREA

    sites = linkage.task_sites
    site_ids = [str(v).strip() for v in sites["task_id"].tolist()]
    status = table["task_status"].astype(str).to_numpy()
    linked = status == "linked"
    tid = table["task_id"].astype(str).str.strip().to_numpy()
    total_linked = int(linked.sum())
    ledger.add(("where", "task_linked"), total_linked, shown=False)
    # a site outside the study area links no referral, but referrals name it: its count is theirs
    # (protected like any other), not a false 0; they add up to the check of referrals naming such sites
    to_out = status == SITE_OUTSIDE_AREA
    out_ids = {s for s in site_ids if ((tid == s) & to_out).any()}
    for s in site_ids:
        named = (tid == s) & (to_out if s in out_ids else linked)
        ledger.add((("site", s), "referrals"), int(named.sum()), people=np.unique(who[named]).size)
    ledger.relate(("where", "task_linked"), [(("site", s), "referrals") for s in site_ids if s not in out_ids])
    if out_ids:
        ledger.add(("where", "task_site_outside"), int(to_out.sum()), shown=False)
        ledger.relate(("where", "task_site_outside"), [(("site", s), "referrals") for s in site_ids if s in out_ids])
    with_site = linked & located
    ledger.add(("where", "linked_unlocated"), int((linked & ~located).sum()), shown=False)
    ledger.relate(("where", "task_linked"), [(ALL, "with_task_site"), ("where", "linked_unlocated")])
    ledger.add(("where", "unlinked_unlocated"), int((~linked & ~located).sum()), shown=False)
    key = (("hotspot", NO_LOCATION), "referrals") if (("hotspot", NO_LOCATION), "referrals") in ledger else ("where", "unlocated")
    ledger.relate(key, [("where", "linked_unlocated"), ("where", "unlinked_unlocated")])
    # regions: hotspot area, or the town of the harm for referrals outside hotspots (or without areas);
    # a referral outside hotspots with no town (no towns in the study area) has no origin to draw from
    town_col = table["harm_town"] if "harm_town" in table.columns else pd.Series(None, index=table.index, dtype=object)
    has_town = town_col.notna().to_numpy()
    harm_town = town_col.astype(str).to_numpy()
    if has_areas:
        hot = table["hotspot"].astype(str).to_numpy()
        by_town = hot == OUTSIDE_HOTSPOTS
        region = np.where(by_town, np.char.add("town:", harm_town.astype(str)), np.char.add("area:", hot.astype(str)))
    else:
        by_town = np.ones(len(table), dtype=bool)
        region = np.char.add("town:", harm_town.astype(str))
    no_origin = with_site & by_town & ~has_town
    sel = with_site & ~no_origin
    df = pd.DataFrame({"region": region[sel], "task_id": tid[sel], "who": who[sel]})
    flows = df.groupby(["region", "task_id"], sort=True).agg(n=("who", "size"), people=("who", "nunique")).reset_index()
    # site side: flows into a site plus its linked referrals without a location
    by_site: dict[str, list[tuple]] = {}
    by_region: dict[str, list[tuple]] = {}
    keys = []
    for r, s, n, ppl in flows.itertuples(index=False):
        k = (("flow", r, s), "referrals")
        ledger.add(k, int(n), people=int(ppl))
        keys.append(k)
        by_site.setdefault(s, []).append(k)
        by_region.setdefault(r, []).append(k)
    for s in site_ids:
        un = int(((tid == s) & linked & ~located).sum())
        ledger.add((("site_unlocated", s), "referrals"), un, shown=False)
        parts = by_site.get(s, []) + [(("site_unlocated", s), "referrals")]
        if no_origin.any():
            ledger.add((("site_no_origin", s), "referrals"), int(((tid == s) & no_origin).sum()), shown=False)
            parts.append((("site_no_origin", s), "referrals"))
        if s not in out_ids:  # a site outside links nothing: its count is of the referrals naming it
            ledger.relate((("site", s), "referrals"), parts)
    ledger.relate(("where", "linked_unlocated"), [(("site_unlocated", s), "referrals") for s in site_ids])
    towns_of_outside: list[tuple] = []
    for r, ks in by_region.items():
        if r.startswith("area:"):
            ledger.relate((("hotspot", r[5:]), "with_task_site"), ks)
        else:
            tk = (("town_with_site", r[5:]), "referrals")
            ledger.add(tk, int(sum(ledger.value(k) for k in ks)), shown=False)
            ledger.relate(tk, ks)
            towns_of_outside.append(tk)
    if no_origin.any():
        ledger.add(("where", "no_origin"), int(no_origin.sum()), shown=False)
        towns_of_outside.append(("where", "no_origin"))
    if towns_of_outside:
        tot = (("hotspot", OUTSIDE_HOTSPOTS), "with_task_site") if has_areas else (ALL, "with_task_site")
        if tot in ledger:
            ledger.relate(tot, towns_of_outside)
    sites_frame = pd.DataFrame({"task_id": site_ids})
    flows_frame = _flows_frame(flows[["region", "task_id", "n"]], linkage, areas, sites)
    flows_frame.attrs["keys"] = keys
    return sites_frame, flows_frame


def _flows_frame(flows: pd.DataFrame, linkage: Any, areas: gpd.GeoDataFrame | None, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Line geometry and labels of each flow: from the area's (or town's) point to the site."""
    towns = linkage.towns
    site_towns, area_towns = getattr(linkage, "site_towns", {}) or {}, getattr(linkage, "area_towns", {}) or {}
    town_xy: dict[str, tuple[float, float]] = {}
    if towns is not None and len(towns):
        t = towns.to_crs(BNG) if towns.crs is not None else towns
        for name, g in zip(t["name"].astype(str), t.geometry):
            town_xy.setdefault(name, (g.x, g.y))
    area_xy: dict[str, tuple[float, float]] = {}
    if areas is not None and len(areas):
        pts = areas.geometry.representative_point()
        for i, p in zip(areas["area_id"].astype(str), pts):
            area_xy[i] = (p.x, p.y)
    site_ids = [str(v).strip() for v in sites["task_id"].tolist()]
    pos = {s: i for i, s in enumerate(site_ids)}
    sx = sites.geometry.x.to_numpy()
    sy = sites.geometry.y.to_numpy()
    rows = []
    for r, s, _n in flows.itertuples(index=False):
        kind, name = r.split(":", 1)
        o = area_xy.get(name) if kind == "area" else town_xy.get(name)
        i = pos[s]
        if o is None:
            o = (sx[i], sy[i])
        # the towns of the one rule (hotspots.places.towns_at, as names the areas and gives harm_town)
        site_town = site_towns.get(s)
        origin_town = area_towns.get(name) if kind == "area" else name
        rows.append({
            "origin": name, "origin_kind": "hotspot area" if kind == "area" else "town", "task_id": s,
            "task_kind": sites["kind"].iloc[i] if "kind" in sites.columns else None,
            "task_site": sites["site_name"].iloc[i] if "site_name" in sites.columns else None,
            "task_town": site_town, "site_in_origin_town": bool(site_town is not None and site_town == origin_town),
            "length_m": float(np.round(math.hypot(sx[i] - o[0], sy[i] - o[1]) / 100.0) * 100.0),
            "geometry": shapely.LineString([o, (sx[i], sy[i])]),
        })
    if not rows:
        return gpd.GeoDataFrame({"origin": [], "task_id": []}, geometry=[], crs=BNG)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=BNG)


# =============================================================================== for an analysis
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple, SchemePublication]] = weakref.WeakKeyDictionary()


def scheme_publication(analysis: Any, *, threshold: int | None = None, snap_m: float | None = None,
                       unsafe: bool | None = None) -> SchemePublication | None:
    """The :class:`SchemePublication` of an analysis (None without referrals), built once per settings.

    Every output of one analysis (CSV, GeoPackage, GeoJSON, images, the app) must use the same
    publication. ``snap_m`` (the referral-square side) is part of it: the call that gives it
    makes that publication the analysis's current one, and calls without it (e.g. the briefing
    images after the GIS export) use the current one (default :data:`DEFAULT_SNAP_M`).
    """
    ref = getattr(analysis, "referrals", None)
    if ref is None or len(ref) == 0:
        return None
    settings = getattr(analysis, "settings", None)
    t = int(getattr(settings, "threshold", SUPPRESSION_THRESHOLD)) if threshold is None else threshold
    u = bool(getattr(settings, "unsafe_threshold", False)) if unsafe is None else unsafe
    try:
        store = _CACHE.setdefault(analysis, {})
    except TypeError:  # not weak-referenceable: no cache
        store = {}
    if snap_m is None:
        snap = float(store.get(("current", t, u), DEFAULT_SNAP_M))
    else:
        snap = float(snap_m)
        store[("current", t, u)] = snap
    key = (t, snap, u)
    if key not in store:
        link = getattr(analysis, "linkage", None)
        areas = analysis.areas.areas if link is not None and getattr(link, "has_areas", False) else None
        kp = getattr(analysis, "kpis", None)
        extra = {}
        if kp is not None and getattr(kp, "params", None):
            p = kp.params
            extra = {k: p[k] for k in ("as_of", "follow_up_months", "contact_hours", "reoffending_base") if k in p}
        store[key] = publish_scheme(ref, linkage=link, areas=areas, threshold=t, unsafe=u, snap_m=snap, **extra)
    return store[key]
