"""Link referrals to the hotspot they came from and to the site of their reparative task.

:func:`link_referrals` answers the scheme's "where" questions: do referrals come from the
hotspots, and is the reparation done in the community that was harmed?

Per referral (columns added to a copy of the referrals)
--------------------------------------------------------
``has_location``
    The referral has a point location (where the behaviour happened).
``hotspot``, ``hotspot_area_id``, ``hotspot_match``, ``distance_to_hotspot_m`` (with ``areas``)
    The hotspot area the location falls in: ``hotspot`` is its ``area_id`` as text (``"3"``), or
    ``"outside hotspots"``, or ``"no location"``; ``hotspot_area_id`` the id itself (NA when
    outside). A point on the boundary counts as inside; where areas touch, the smallest
    ``area_id`` wins. With ``tolerance_m > 0`` a referral outside every area but within
    ``tolerance_m`` metres of one is assigned to the nearest (``hotspot_match`` =
    ``"within tolerance"``, else ``"inside"``, ``"outside"``, ``"no location"``): grid-based
    hotspot areas have square edges and police-recorded locations are often moved to a nearby
    map point, so a referral a few metres outside an area usually belongs to it. The default is
    0 (no tolerance). ``distance_to_hotspot_m`` is the straight-line distance to the nearest area
    (0 inside).
``task_status``, ``task_found`` (with ``tasks``)
    ``"linked"`` (``task_id`` found in the task table), ``"task not found"`` (a ``task_id`` the
    table does not have: counted, listed in the notes and kept, never silently dropped) or
    ``"no task"`` (no ``task_id``, e.g. refused or not yet booked). ``task_found`` is True for
    ``"linked"``. Ids are compared as trimmed text.
``harm_town``, ``task_town``
    Nearest town centre of the referral location and of the task site: your ``towns``, or else
    the towns :func:`hotspots.places.label_towns` gives for the ``study_area`` and ``incidents``
    (the rule that names hotspot areas: GeoNames places the incidents support for real data,
    the demo's own towns for the demo data). Without ``towns`` or ``incidents`` there are no
    towns: None, and reparation is local by distance only.
``location_outside_area`` (with ``study_area``)
    The referral's point lies outside the study area (e.g. in the sea or another force's area:
    usually a geocoding or lat/long error). Such a referral is kept and counted (KPIs), but its
    point is not used: ``has_location`` is False, so it joins the "no location" group and is
    left out of the shares from hotspots, the reparation measures, the distances and the maps.
    Task sites outside the study area are treated the same way: their referrals get
    ``task_status`` ``"task site outside study area"`` and no reparation measure.
``distance_to_task_m``
    Straight-line distance from the referral location to the task site, metres (EPSG:27700).
``reparation_within_near``, ``reparation_same_town``, ``reparation_local``
    The rule of :mod:`hotspots.reparation`; NA unless the referral is completed at a linked site and located.

Referrals without a location
    By default (``missing_location="raise"``) they are an error that names them. With
    ``missing_location="exclude"`` they are kept, flagged ``has_location=False``, counted in the
    summary and notes, and left out of every location-based measure (shares from hotspots and
    of local reparation, distances).

Summary and display
-------------------
:attr:`LinkageResult.summary` holds the exact figures (internal): referrals, with/without a
location, from hotspots and their share among located referrals, task links (linked / not found
/ none), the shares of reparation local, within ``near_m`` and in the same town among referrals
completed at a linked task site with a location, and the median distance (of all with a site).
:attr:`LinkageResult.per_hotspot` has the same counts per hotspot area. Both come with display
versions (referrals, with a task site, completed there, local and its share, median distance) protected together by
:mod:`hotspots.disclosure`: counts 1–4 shown as ``"<5"``, counts that would give them away
hidden as ``"c"``, the breakdown of a group under the threshold ``"x"``, percentages in whole
percent or as a bound (``">99"``). "Within ``near_m``" and "same town" are not published
separately: beside "local" (either) they would give away how many people met only one rule.
An analysis publishes these tables through :mod:`hotspots.publication`, protected with
everything else it publishes.

:func:`referral_task_lines` gives a line per linked referral from (a snapped version of) its
location to its task site: person-level, for internal use. Maps draw the publication's
area → site flows instead (:func:`hotspots.maps.referral_layers.referral_task_lines_layer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from . import validation
from ._errors import CRSError, InputError, ParameterError, SchemaError
from .areas import HotspotAreas
from .disclosure import SUPPRESSION_THRESHOLD, Ledger, Protection, check_threshold, person_codes, protect, render_table
from .grid import BNG
from .kpis import TOTAL_LABEL
from .periods import Period
from .reparation import local_rule_text, reparation_flags, rounded_distance
from .task_ids import case_only_matches_note

__all__ = [
    "IN_HOTSPOTS",
    "LINE_COLUMNS",
    "LINK_COUNTS",
    "NO_LOCATION",
    "OUTSIDE_HOTSPOTS",
    "SITE_OUTSIDE_AREA",
    "LinkageResult",
    "MISMATCH_SHARE",
    "add_linkage_rows",
    "link_referrals",
    "linkage_display",
    "referral_task_lines",
    "study_area_mismatch",
]

#: ``hotspot`` label of referrals outside every hotspot area.
OUTSIDE_HOTSPOTS = "outside hotspots"
#: ``hotspot`` label (and summary row) of referrals without a location.
NO_LOCATION = "no location"
#: Summary row of referrals inside any hotspot area.
IN_HOTSPOTS = "in hotspots"
#: ``task_status`` of a referral whose task site lies outside the study area.
SITE_OUTSIDE_AREA = "task site outside study area"
#: Columns of :func:`referral_task_lines` (besides ``geometry``), in order; ``hotspot``,
#: ``task_kind`` and ``task_site`` only when known.
LINE_COLUMNS = (
    "hotspot", "task_id", "task_kind", "task_site", "harm_town", "task_town", "distance_to_task_m",
    "reparation_within_near", "reparation_same_town", "reparation_local",
)

#: Person counts of the linkage tables (per hotspot, and in/outside hotspots).
#: Only "local" (within reach *or* in the same town) is published per group: with "within reach"
#: and "same town" beside it, local = within + same town − both would give away how many people's
#: reparation met only one rule (small counts, per hotspot). Both stay in the exact tables.
#: "reparation_completed": with a task site and the referral completed (the base of "local", :mod:`hotspots.reparation`).
LINK_COUNTS = ("referrals", "with_task_site", "reparation_completed", "reparation_local")
_COUNTS = list(LINK_COUNTS)
_TALLIES = (*LINK_COUNTS, "within_near", "same_town", "near_and_same")
_IMPLIED = ["without_task_site", "not_completed_at_site", "not_local"]
_RELATIONS = [
    ("referrals", ["with_task_site", "without_task_site"]),
    ("with_task_site", ["reparation_completed", "not_completed_at_site"]),
    ("reparation_completed", ["reparation_local", "not_local"]),
]
_PCTS = {
    "local_pct": ("reparation_local", "reparation_completed"),
    "within_near_pct": ("within_near", "reparation_completed"),
    "same_town_pct": ("same_town", "reparation_completed"),
}
_COMPLEMENTS = {"local_pct": "not_local"}
_BASES = {"with_task_site": ["reparation_completed"], "reparation_completed": ["reparation_local"]}
# measure -> raw column of the distinct people behind it (what the disclosure rule measures groups by)
_PEOPLE = {"referrals": "people", "with_task_site": "people_with_task_site"}
_DISPLAY = ["referrals", "with_task_site", "reparation_completed", "reparation_local", "local_pct", "median_distance_m"]


def add_linkage_rows(ledger: Ledger, raw: pd.DataFrame, keys: list[Any], *, total: Any = None) -> None:
    """Add linkage rows (``per_hotspot``-like, one population key each) to a disclosure ledger.

    Cell keys are ``(population key, measure)``, shared with the KPI rows of the same population
    (:func:`hotspots.kpis.add_kpi_rows`): a hotspot's referrals are one count wherever shown.
    """
    people = {m: f for m, f in _PEOPLE.items() if f in raw.columns}
    fields = _COUNTS + _IMPLIED + list(people.values())
    cols = {c: raw[c].to_numpy() for c in fields}
    rows = [(key, {c: int(cols[c][i]) for c in fields}) for i, key in enumerate(keys)]
    ledger.add_table(rows, shown=_COUNTS, implied=_IMPLIED, relations=_RELATIONS, bases=_BASES,
                     signals={comp: "reparation_completed" for comp in _COMPLEMENTS.values()}, total=total, size="referrals",
                     people=people)


def linkage_display(protection: Protection, raw: pd.DataFrame, keys: list[Any], group_col: str) -> pd.DataFrame:
    """The display table of linkage rows added with :func:`add_linkage_rows`."""
    labels = raw[group_col].tolist()
    pcts = {c: (num, den, _COMPLEMENTS[c]) for c, (num, den) in _PCTS.items() if c in _COMPLEMENTS}
    table, _ = render_table(protection, list(zip(keys, labels)), label=group_col, counts=_COUNTS, percents=pcts,
                            medians={"median_distance_m": (raw["median_distance_m"].tolist(), "with_task_site")},
                            columns=_DISPLAY)
    return table


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class LinkageResult:
    """Referrals linked to hotspot areas and task sites.

    Attributes
    ----------
    table : GeoDataFrame
        The referrals (a copy, input order and columns, person-level: **internal**) with the
        linkage columns described in the module docs.
    summary : dict
        Exact overall figures (internal): ``referrals``, ``with_location``,
        ``without_location``, ``from_hotspots``, ``share_from_hotspots`` (of located
        referrals; NaN without ``areas``), ``with_task_id``, ``task_linked``,
        ``task_not_found``, ``task_not_found_ids`` (up to 10), ``no_task``,
        ``with_task_site`` (linked and located: the base of the reparation shares),
        ``reparation_local``, ``share_local``, ``within_near``, ``share_within_near``,
        ``same_town``, ``share_same_town``, ``median_distance_m``, ``near_m``.
    per_hotspot : DataFrame
        Exact counts per hotspot area (``area_id`` order), then ``"outside hotspots"``, ``"no
        location"`` (when any) and the total row ``"All"``: ``referrals``, ``with_task_site``,
        ``reparation_local``, ``within_near``, ``same_town``, their complements, shares (0–100)
        and ``median_distance_m``. Empty without ``areas``.
    display : DataFrame
        ``per_hotspot`` with disclosure control, for showing and exporting.
    per_where : DataFrame
        Exact counts (internal) for ``"in hotspots"``, ``"outside hotspots"``, ``"no location"``
        (when any) and ``"All"``, as ``per_hotspot``.
    summary_display : DataFrame
        The same columns for ``"in hotspots"``, ``"outside hotspots"``, ``"no location"`` (when
        any) and ``"All"`` (only ``"All"`` without ``areas``), with disclosure control.
    near_m : float
    threshold : int
    has_areas, has_tasks : bool
    params : dict
    notes : tuple of str
    """

    table: gpd.GeoDataFrame
    summary: dict[str, Any]
    per_hotspot: pd.DataFrame
    display: pd.DataFrame
    summary_display: pd.DataFrame
    near_m: float
    threshold: int
    has_areas: bool
    has_tasks: bool
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def mismatch(self) -> str | None:
        """The warning of :func:`study_area_mismatch` for this linkage, or None."""
        return study_area_mismatch(self.summary)
    task_sites: gpd.GeoDataFrame | None = field(default=None, repr=False)
    towns: gpd.GeoDataFrame | None = field(default=None, repr=False)
    per_where: pd.DataFrame | None = field(default=None, repr=False)
    #: The town of each hotspot area (area id as text -> name) and of each task site (task id -> name), by the
    #: one rule of :func:`hotspots.places.towns_at` / :func:`hotspots.places.area_places`; empty without towns.
    area_towns: dict[str, Any] = field(default_factory=dict, repr=False)
    site_towns: dict[str, Any] = field(default_factory=dict, repr=False)


#: Above this share of referral locations or task sites outside the study area: another area's files (study_area_mismatch).
MISMATCH_SHARE = 0.5


def study_area_mismatch(summary: dict[str, Any]) -> str | None:
    """A warning when most referrals (with a location) or most task sites lie outside the study area.

    Cleveland's referrals and task sites with Durham's incidents: 227 of 360 referral locations and 5 of
    9 task sites fell outside, "referrals from hotspot areas" read 0 and only the analyst's notes said
    why. Above :data:`MISMATCH_SHARE` (more than half) the likely cause is files of different forces or
    areas, and every figure by place is meaningless, so the warning leads the summary and the app.

    Parameters
    ----------
    summary : dict
        :attr:`LinkageResult.summary` (``with_location``, ``outside_study_area``, ``task_sites``,
        ``task_sites_outside_area``).

    Returns
    -------
    str or None
        The warning (no count of people: "more than half of the referrals' locations"; task sites are
        places and are counted), or None.
    """
    given = int(summary.get("with_location") or 0) + int(summary.get("outside_study_area") or 0)
    refs_out = given > 0 and int(summary.get("outside_study_area") or 0) > MISMATCH_SHARE * given
    n_sites, sites_out = int(summary.get("task_sites") or 0), int(summary.get("task_sites_outside_area") or 0)
    tasks_out = n_sites > 0 and sites_out > MISMATCH_SHARE * n_sites
    if not (refs_out or tasks_out):
        return None
    what = " and ".join(
        ([f"more than half of the referrals' locations ({summary['outside_study_area'] / given:.0%})"] if refs_out else [])
        + ([f"{sites_out} of the {n_sites} task sites"] if tasks_out else [])
    )
    return (f"{what[0].upper()}{what[1:]} lie outside the incidents' study area: the referral or task files are likely of "
            "another force or area than the incident files. Check that all files cover the same force area; until then "
            "the figures by place (referrals from hotspot areas, local reparation, flows, distances) mean nothing.")


# =============================================================================== checks
def _check_crs(gdf: gpd.GeoDataFrame, name: str) -> None:
    if gdf.crs is None:
        raise CRSError(f"`{name}` has no CRS; set it (e.g. `.set_crs(27700)` for British National Grid).")
    crs = pyproj.CRS(gdf.crs)
    if not crs.equals(BNG):
        raise CRSError(
            f"`{name}` is in {crs.name}; distances are measured in metres in British National Grid. "
            f"Convert it first with `{name}.to_crs(27700)`."
        )


def _points(gdf: gpd.GeoDataFrame, name: str, ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) arrays with NaN where the geometry is missing or empty, and the missing mask."""
    geoms = gdf.geometry.values
    missing = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms[~missing])
    if np.any(types != 0):
        raise ParameterError(
            f"`{name}` must hold Point geometries (one location each); found other types (shapely ids "
            f"{sorted(set(types.tolist()) - {0})}). Use `.representative_point()` if you mean a place inside each shape."
        )
    xy = np.full((len(gdf), 2), np.nan)
    if (~missing).any():
        xy[~missing] = shapely.get_coordinates(geoms[~missing])
    bad = ~missing & ~np.isfinite(xy).all(axis=1)
    if bad.any():
        ex = [str(v) for v in np.asarray(ids)[bad][:3]]
        raise ParameterError(
            f"`{name}` has {int(bad.sum())} point(s) with NaN or infinite coordinates (e.g. {ex}); fix or drop them."
        )
    return xy, missing


def _id_text(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    t = str(v).strip()
    return t if t and t.lower() not in ("nan", "none", "<na>") else None


def _ids_text(s: pd.Series) -> np.ndarray:
    """Ids as trimmed text; None where missing or empty."""
    if isinstance(s.dtype, pd.StringDtype):
        # Text columns: each distinct value converted once (the same rule, value by value).
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        conv = np.array([_id_text(v) for v in uniques.tolist()] + [None], dtype=object)
        return conv[codes]  # code -1 (missing) picks the trailing None
    out = np.empty(len(s), dtype=object)
    vals = s.to_numpy(dtype=object)
    for i, v in enumerate(vals):
        out[i] = _id_text(v)
    return out


def _area_table(areas: Any, id_column: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(areas, HotspotAreas):
        areas = areas.areas
    if not isinstance(areas, gpd.GeoDataFrame):
        raise ParameterError(
            f"`areas` must be hotspot areas (a GeoDataFrame with `{id_column}`, e.g. `hotspot_areas(gi).areas`); "
            f"got {type(areas).__name__}."
        )
    if id_column not in areas.columns:
        raise SchemaError(
            f"`areas` has no `{id_column}` column; its columns are {list(areas.columns)}. Pass `id_column=` to name it."
        )
    _check_crs(areas, "areas")
    geoms = areas.geometry.values
    if len(geoms) and (shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any()):
        raise ParameterError("`areas` has missing or empty geometries; drop them first.")
    if len(geoms) and not set(shapely.get_type_id(geoms).tolist()) <= {3, 6}:
        raise ParameterError("`areas` must hold Polygon or MultiPolygon geometries.")
    ids = areas[id_column].to_numpy()
    if pd.Series(ids).duplicated().any():
        raise SchemaError(f"`areas.{id_column}` has duplicated ids; each area needs its own id.")
    return ids, geoms


def _task_table(tasks: Any) -> tuple[gpd.GeoDataFrame, dict[str, int], np.ndarray]:
    if not isinstance(tasks, gpd.GeoDataFrame):
        raise ParameterError(f"`tasks` must be a GeoDataFrame of task sites (`task_id`, geometry); got {type(tasks).__name__}.")
    if "task_id" not in tasks.columns:
        raise SchemaError(f"`tasks` has no `task_id` column; its columns are {list(tasks.columns)}.")
    _check_crs(tasks, "tasks")
    tid = _ids_text(tasks["task_id"])
    if any(t is None for t in tid):
        raise SchemaError(f"`tasks` has {sum(t is None for t in tid)} site(s) without a `task_id`; every site needs one.")
    dup = pd.Series(tid).duplicated(keep=False)
    if dup.any():
        raise SchemaError(f"`tasks.task_id` has duplicated ids {sorted(set(tid[dup.to_numpy()]))[:5]}: list each site once.")
    xy, missing = _points(tasks, "tasks", tid)
    if missing.any():
        raise SchemaError(f"task site(s) {list(tid[missing][:5])} have no location; every task site needs a point.")
    return tasks, {t: i for i, t in enumerate(tid)}, xy


def _town_table(towns: Any) -> tuple[np.ndarray, cKDTree | None]:
    """Names and a search tree of the towns; no tree when there are none (no town names)."""
    if towns is None:
        return np.empty(0, dtype=object), None
    if not isinstance(towns, gpd.GeoDataFrame) or "name" not in towns.columns:
        raise ParameterError(
            "`towns` must be a GeoDataFrame of town-centre points with a `name` column (like `hotspots.places.label_towns`)."
        )
    _check_crs(towns, "towns")
    names = towns["name"].astype(str).to_numpy(dtype=object)
    xy, missing = _points(towns, "towns", names)
    if missing.any():
        raise ParameterError("every town in `towns` needs a point location.")
    return names, (cKDTree(xy) if len(names) else None)


def _default_towns(study_area: Any, incidents: Any, referrals: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """The towns of :func:`hotspots.places.label_towns` for the study area (or the incidents'
    extent) and incidents, in the referrals' CRS; None without incidents."""
    if incidents is None or len(incidents) == 0:
        return None
    from .places import label_towns

    area = _area_geometry(study_area)
    where = None if area is None else gpd.GeoDataFrame(geometry=[area], crs=referrals.crs)
    inc = incidents.to_crs(referrals.crs) if incidents.crs is not None else incidents
    towns, _ = label_towns(where, inc)
    return towns.to_crs(referrals.crs)


def _area_geometry(study_area: Any) -> Any:
    """The study area as one (multi)polygon in British National Grid (None without one, or an empty
    table): the loaders' rule (:func:`hotspots.io._common.study_area_geometry`), which also converts
    a study area in another CRS."""
    if study_area is None or (isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)) and len(study_area) == 0):
        return None
    from .io._common import study_area_geometry

    return study_area_geometry(study_area)[0]


def _outside(area: Any, xy: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Which of the points (where ``ok``) lie outside ``area`` (its boundary counts as inside)."""
    out = np.zeros(len(xy), dtype=bool)
    if area is None or not ok.any():
        return out
    shapely.prepare(area)
    li = np.flatnonzero(ok)
    out[li] = ~shapely.covers(area, shapely.points(xy[li]))
    return out


def _dated_outside(referrals: pd.DataFrame, months: Any) -> tuple[int, str]:
    """How many referrals are dated outside ``months`` (first, last "YYYY-MM"), and their span in words."""
    if months is None or "referred_at" not in referrals.columns:
        return 0, ""
    when = pd.to_datetime(referrals["referred_at"], errors="coerce")
    if getattr(when.dt, "tz", None) is not None:  # months in local time, as the KPI tables count them
        when = when.dt.tz_convert("Europe/London").dt.tz_localize(None)
    mon = when.dt.strftime("%Y-%m")
    first, last = str(months[0]), str(months[1])
    off = mon.notna() & ((mon < first) | (mon > last))
    if not off.any():
        return 0, ""
    return int(off.sum()), Period.from_months(str(mon[off].min()), str(mon[off].max())).describe()


def _towns_at(
    xy: np.ndarray, ok: np.ndarray, towns: gpd.GeoDataFrame | None, incidents: Any, areas: gpd.GeoDataFrame | None = None
) -> np.ndarray:
    """The town of each point where ``ok``: the rule that names hotspot areas (:func:`hotspots.places.towns_at`;
    a point inside one of the named ``areas`` takes its town)."""
    from .places import towns_at

    out = np.full(len(xy), None, dtype=object)
    if towns is not None and len(towns) and ok.any():
        out[ok] = towns_at(xy[ok], towns, incidents, areas=areas)
    return out


def _bool_or_na(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    known = np.asarray(known, dtype=bool)
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & known, ~known)


# =============================================================================== main verb
def link_referrals(
    referrals: gpd.GeoDataFrame,
    *,
    areas: Any = None,
    tasks: gpd.GeoDataFrame | None = None,
    towns: gpd.GeoDataFrame | None = None,
    study_area: Any = None,
    incidents: gpd.GeoDataFrame | None = None,
    months: tuple[str, str] | None = None,
    near_m: float = 2000.0,
    tolerance_m: float = 0.0,
    id_column: str = "area_id",
    missing_location: str = "raise",
    threshold: int = SUPPRESSION_THRESHOLD,
    unsafe: bool = False,
) -> LinkageResult:
    """Link each referral to its hotspot area and its reparative task site.

    Parameters
    ----------
    referrals : GeoDataFrame
        Referral points in EPSG:27700 (where the behaviour happened), with ``task_id`` when
        ``tasks`` is given. Other columns are kept as they are.
    areas : GeoDataFrame or HotspotAreas, optional
        Hotspot areas with an ``area_id`` (e.g. :func:`hotspots.hotspot_areas`), EPSG:27700.
    tasks : GeoDataFrame, optional
        Task sites: ``task_id`` and a point each (``kind``, ``site_name`` used for map lines when
        present), EPSG:27700.
    towns : GeoDataFrame, optional
        Town-centre points with ``name``; default: :func:`hotspots.places.label_towns` of
        ``study_area`` and ``incidents`` (none without ``incidents``).
    study_area : GeoDataFrame or shapely geometry, optional
        The study area (referrals' CRS). Referrals and task sites outside it are counted,
        reported in the notes and their points not used (see the module docs).
    incidents : GeoDataFrame, optional
        The analysed incidents: they choose the default towns.
    months : tuple of two "YYYY-MM", optional
        The incident data's first and last month: referrals dated outside them are counted
        and reported (they are linked to hotspots found in other months).
    near_m : float, default 2000
        Reparation within this straight-line distance (metres) of the harm counts as local.
    tolerance_m : float, default 0
        Referrals outside every area but within this distance of one are assigned to the
        nearest area (see the module docs).
    id_column : str, default "area_id"
        Column of ``areas`` holding the area id.
    missing_location : {"raise", "exclude"}
        What to do with referrals without a location (see the module docs).
    threshold : int, default 5
        Person counts from 1 to ``threshold − 1`` are suppressed in the display tables.
    unsafe : bool, default False
        Needed for a threshold below 3 (:func:`hotspots.disclosure.check_threshold`).

    Returns
    -------
    LinkageResult

    Raises
    ------
    InputError
        Referrals without a location (with ``missing_location="raise"``).
    SchemaError
        A missing ``task_id``/``area_id`` column, duplicated task or area ids, task sites without
        a location.
    CRSError
        Layers without a CRS or not in British National Grid.
    ParameterError
        Bad options or geometries.
    """
    if not isinstance(referrals, gpd.GeoDataFrame):
        raise ParameterError(f"`referrals` must be a GeoDataFrame of referral points; got {type(referrals).__name__}.")
    _check_crs(referrals, "referrals")
    near = validation.distance(near_m, "near_m", example="2000")
    tol = validation.distance(tolerance_m, "tolerance_m", zero=True)
    if missing_location not in ("raise", "exclude"):
        raise ParameterError(f"`missing_location` must be 'raise' or 'exclude'; got {missing_location!r}.")
    threshold = check_threshold(threshold, unsafe)
    n = len(referrals)
    if n == 0:
        raise ParameterError("`referrals` is empty; there is nothing to link.")
    ref_ids = (referrals["referral_id"].to_numpy(dtype=object) if "referral_id" in referrals.columns
               else referrals.index.to_numpy())
    xy, missing = _points(referrals, "referrals", ref_ids)
    notes: list[str] = []
    if missing.any():
        ex = [str(v) for v in ref_ids[missing][:5]]
        if missing_location == "raise":
            raise InputError(
                f"{int(missing.sum())} referral(s) have no location (e.g. {ex}); each referral needs the point where the "
                "behaviour happened. Fix them, or pass `missing_location='exclude'` to keep them out of the location measures."
            )
        # no ids in a note: notes reach the app's captions and the console (the error above is for the file's owner)
        notes.append(
            f"{int(missing.sum())} referral(s) have no location; they are counted but left out of the shares "
            "from hotspots and of local reparation, and of the distances"
        )
    area_geom = _area_geometry(study_area)
    outside_area = _outside(area_geom, xy, ~missing)
    if outside_area.any():
        notes.append(
            f"{int(outside_area.sum())} referral(s) have a location outside the study area (in the sea, another "
            "force's area or a lat/long mix-up); they are counted, but their points are not used: they join the referrals "
            "without a location and are left out of the maps, the flows, the shares from hotspots and of local reparation"
        )
    located = ~missing & ~outside_area
    out = referrals.copy()
    out["has_location"] = located
    if area_geom is not None:
        out["location_outside_area"] = outside_area
    n_dated_out, dated_span = _dated_outside(referrals, months)
    if n_dated_out:
        notes.append(
            f"{n_dated_out} of {n} referral(s) are dated outside the incident data's months "
            f"({Period.from_months(*months).describe()}): {dated_span}; they are linked to hotspots found in other months, "
            "so the share from hotspots compares different times (load incidents for the referrals' months)"
        )

    # ---- hotspot areas --------------------------------------------------------------
    in_hot = np.zeros(n, dtype=bool)
    hot_label = np.full(n, None, dtype=object)
    if areas is not None:
        a_ids, a_geoms = _area_table(areas, id_column)
        area_id = np.full(n, None, dtype=object)
        match = np.where(located, "outside", NO_LOCATION).astype(object)
        dist_h = np.full(n, np.nan)
        if len(a_geoms) and located.any():
            tree = shapely.STRtree(a_geoms)
            li = np.flatnonzero(located)
            pts = shapely.points(xy[li])
            hp, ha = tree.query(pts, predicate="intersects")
            order = np.argsort(a_ids)  # rank of each area by id: the smallest id wins on shared edges
            rank = np.empty(len(a_ids), dtype=np.int64)
            rank[order] = np.arange(len(a_ids))
            best = np.full(len(li), -1, dtype=np.int64)
            best_rank = np.full(len(li), np.iinfo(np.int64).max)
            for p_, a_ in zip(hp, ha):
                if rank[a_] < best_rank[p_]:
                    best_rank[p_], best[p_] = rank[a_], a_
            inside = best >= 0
            # Distance to the nearest area, for the referrals outside every area (0 inside).
            out_i = np.flatnonzero(~inside)
            nearest = np.full(len(li), -1, dtype=np.int64)
            if out_i.size:
                nq_p, nq_a = tree.query_nearest(pts[out_i], return_distance=False, all_matches=False)
                d_near = shapely.distance(pts[out_i][nq_p], a_geoms[nq_a])
                dist_h[li[out_i[nq_p]]] = d_near
                nearest[out_i[nq_p]] = nq_a
            dist_h[li[inside]] = 0.0
            match[li[inside]] = "inside"
            area_id[li[inside]] = a_ids[best[inside]]
            if tol > 0:
                close = ~inside & (nearest >= 0) & (dist_h[li] <= tol)
                match[li[close]] = "within tolerance"
                area_id[li[close]] = a_ids[nearest[close]]
        in_hot = np.array([a is not None for a in area_id])
        hot_label = np.where(in_hot, np.array([str(a) for a in area_id], dtype=object),
                             np.where(located, OUTSIDE_HOTSPOTS, NO_LOCATION))
        out["hotspot"] = pd.Series(hot_label, index=out.index, dtype=object)
        out["hotspot_area_id"] = pd.Series(area_id, index=out.index, dtype=object)
        out["hotspot_match"] = pd.Series(match, index=out.index, dtype=object)
        out["distance_to_hotspot_m"] = dist_h
        if tol > 0:
            k = int((match == "within tolerance").sum())
            if k:
                notes.append(f"{k} referral(s) lie outside every hotspot area but within {tol:g} m of one and are assigned "
                             "to the nearest")
    else:
        notes.append("no hotspot areas given: referrals are not linked to hotspots")

    # ---- towns ---------------------------------------------------------------------
    towns_used = _default_towns(study_area, incidents, referrals) if towns is None else towns
    t_names, _ = _town_table(towns_used)
    inc = None
    if incidents is not None and len(incidents):
        inc = incidents.to_crs(referrals.crs) if incidents.crs is not None else incidents
    area_towns: dict[str, Any] = {}
    site_towns: dict[str, Any] = {}
    named_areas = None
    if areas is not None and towns_used is not None and len(towns_used):
        from .places import area_places

        a_ids_t, a_geoms_t = _area_table(areas, id_column)
        a_frame = gpd.GeoDataFrame({"area_id": np.arange(len(a_ids_t))}, geometry=list(a_geoms_t), crs=referrals.crs)
        empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=referrals.crs))
        named = area_places(a_frame, inc if inc is not None else empty, towns=towns_used)
        area_towns = dict(zip((str(a) for a in a_ids_t), named["town"].tolist()))
        # a point inside an area takes the area's town (the name it is published under); smallest id first on
        # shared edges, as referrals are assigned to areas
        named_areas = a_frame.assign(town=named["town"].to_numpy(dtype=object)).iloc[np.argsort(a_ids_t, kind="stable")]
    harm_town = _towns_at(xy, located, towns_used, inc, named_areas)
    out["harm_town"] = pd.Series(harm_town, index=out.index, dtype=object)

    # ---- task sites ------------------------------------------------------------------
    site_xy = np.full((n, 2), np.nan)
    task_sites = None
    if tasks is not None:
        if "task_id" not in referrals.columns:
            raise SchemaError(
                "`referrals` has no `task_id` column, so they cannot be linked to task sites; add it or leave out `tasks`."
            )
        task_sites, pos, txy = _task_table(tasks)
        site_out = _outside(area_geom, txy, np.ones(len(txy), dtype=bool))
        rid = _ids_text(referrals["task_id"])
        has_id = np.array([t is not None for t in rid])
        known_id = np.array([t is not None and t in pos for t in rid])
        to_outside = np.array([k and bool(site_out[pos[t]]) for t, k in zip(rid, known_id)], dtype=bool)
        found = known_id & ~to_outside
        status = np.where(found, "linked", np.where(to_outside, SITE_OUTSIDE_AREA,
                                                    np.where(has_id, "task not found", "no task"))).astype(object)
        if site_out.any():
            out_ids = sorted(str(t) for t in np.asarray(_ids_text(task_sites["task_id"]))[site_out])
            notes.append(
                f"{len(out_ids)} task site(s) lie outside the study area ({', '.join(out_ids[:10])}"
                f"{', ...' if len(out_ids) > 10 else ''}); {int(to_outside.sum())} referral(s) name them: they are kept as "
                f"'{SITE_OUTSIDE_AREA}' and left out of the reparation measures, flows and distances"
            )
        idx = np.array([pos[t] if f else -1 for t, f in zip(rid, found)], dtype=np.int64)
        site_xy[found] = txy[idx[found]]
        out["task_status"] = pd.Series(status, index=out.index, dtype=object)
        out["task_found"] = found
        site_towns = dict(zip(_ids_text(task_sites["task_id"]), _towns_at(txy, np.ones(len(txy), dtype=bool), towns_used, inc,
                                                                              named_areas)))
        task_town = np.array([site_towns.get(t) if f else None for t, f in zip(rid, found)], dtype=object)
        out["task_town"] = pd.Series(task_town, index=out.index, dtype=object)
        known = found & located
        dist = np.where(known, np.hypot(site_xy[:, 0] - xy[:, 0], site_xy[:, 1] - xy[:, 1]), np.nan)
        rep = reparation_flags(known, dist, harm_town, task_town, referrals.get("outcome"), near)
        done, within, same, local = rep.done, rep.within, rep.same, rep.local
        out["distance_to_task_m"] = dist
        for c, v in (("reparation_within_near", within), ("reparation_same_town", same), ("reparation_local", local)):
            out[c] = _bool_or_na(v, done)
        not_found = has_id & ~known_id
        if not_found.any():
            ids = sorted({str(t) for t in rid[not_found]})
            notes.append(
                f"{int(not_found.sum())} referral(s) name a task_id that is not in the task table ({', '.join(ids[:10])}"
                f"{', ...' if len(ids) > 10 else ''}); they are kept as 'task not found' and left out of the reparation measures"
            )
        notes += [n for n in [case_only_matches_note(rid[has_id & ~known_id], pos)] if n]
        if (found & ~located).any():
            notes.append(f"{int((found & ~located).sum())} referral(s) with a task site have no usable location (none, or "
                         "outside the study area), so no distance")
    else:
        notes.append("no task sites given: reparation is not linked")
        has_id = found = not_found = to_outside = np.zeros(n, dtype=bool)
        site_out = np.zeros(0, dtype=bool)
        within = same = local = done = known = np.zeros(n, dtype=bool)
        dist = np.full(n, np.nan)

    # ---- summary ---------------------------------------------------------------------
    n_loc = int(located.sum())
    n_known = int(known.sum())

    def share(a: int, b: int) -> float:
        return a / b if b > 0 else float("nan")

    summary: dict[str, Any] = {
        "referrals": n,
        "with_location": n_loc,
        "without_location": n - n_loc,
        "from_hotspots": int(in_hot.sum()) if areas is not None else None,
        "share_from_hotspots": share(int(in_hot.sum()), n_loc) if areas is not None else float("nan"),
        "with_task_id": int(has_id.sum()),
        "task_linked": int(found.sum()),
        "task_not_found": int(not_found.sum()),
        "task_not_found_ids": sorted({str(t) for t in rid[not_found]})[:10] if tasks is not None else [],
        "outside_study_area": int(outside_area.sum()),
        "task_sites": int(len(task_sites)) if task_sites is not None else 0,
        "task_sites_outside_area": int(site_out.sum()),
        "referrals_to_task_site_outside_area": int(to_outside.sum()),
        "dated_outside_months": n_dated_out,
        "no_task": int((~has_id).sum()) if tasks is not None else None,
        "with_task_site": n_known,
        "reparation_completed": int(done.sum()),
        "reparation_local": int(local.sum()),
        "share_local": share(int(local.sum()), int(done.sum())),
        "within_near": int(within.sum()),
        "share_within_near": share(int(within.sum()), int(done.sum())),
        "same_town": int(same.sum()),
        "share_same_town": share(int(same.sum()), int(done.sum())),
        "median_distance_m": rounded_distance(np.median(dist[known])) if n_known else float("nan"),
        "near_m": near,
    }

    known_a, done_a, local_a, within_a, same_a = (np.asarray(v, dtype=bool) for v in (known, done, local, within, same))
    dist_a = np.asarray(dist, dtype=float)
    # groups are protected by their number of distinct people (a person referred 6 times is one)
    who_a = person_codes(referrals["person_ref"]) if "person_ref" in referrals.columns else np.arange(n)

    def rows_for(groups: list[tuple[str, np.ndarray]], group_col: str) -> pd.DataFrame:
        cols: dict[str, list[Any]] = {c: [] for c in (group_col, *_TALLIES)}
        medians: list[float] = []
        people: list[int] = []
        people_site: list[int] = []
        for label, sel in groups:
            sel = np.asarray(sel, dtype=bool)
            k = known_a[sel]
            d = dist_a[sel][k]
            cols[group_col].append(label)
            cols["referrals"].append(int(sel.sum()))
            cols["with_task_site"].append(int(k.sum()))
            cols["reparation_completed"].append(int(done_a[sel].sum()))
            cols["reparation_local"].append(int(local_a[sel].sum()))
            cols["within_near"].append(int(within_a[sel].sum()))
            cols["same_town"].append(int(same_a[sel].sum()))
            cols["near_and_same"].append(int((within_a[sel] & same_a[sel]).sum()))
            medians.append(rounded_distance(np.median(d)) if d.size else float("nan"))
            people.append(int(np.unique(who_a[sel]).size))
            people_site.append(int(np.unique(who_a[sel][k]).size))
        data: dict[str, Any] = {group_col: cols[group_col]}
        for c in _TALLIES:
            data[c] = np.array(cols[c], dtype=np.int64)
        data["median_distance_m"] = np.array(medians, dtype=float)
        data[_PEOPLE["referrals"]] = np.array(people, dtype=np.int64)
        data[_PEOPLE["with_task_site"]] = np.array(people_site, dtype=np.int64)
        data["without_task_site"] = data["referrals"] - data["with_task_site"]
        data["not_completed_at_site"] = data["with_task_site"] - data["reparation_completed"]
        data["not_local"] = data["reparation_completed"] - data["reparation_local"]
        data["not_within_near"] = data["reparation_completed"] - data["within_near"]
        data["not_same_town"] = data["reparation_completed"] - data["same_town"]
        data["within_only"] = data["within_near"] - data["near_and_same"]
        data["same_town_only"] = data["same_town"] - data["near_and_same"]
        for col, (num, den) in _PCTS.items():
            d = data[den]
            data[col] = 100.0 * data[num] / np.where(d > 0, d, np.nan)
        return pd.DataFrame(data)  # one construction: inserting columns one by one is slow in pandas 3

    everyone = np.ones(n, dtype=bool)
    if areas is not None:
        codes, labels_seen = pd.factorize(pd.Series(hot_label, dtype=object))
        code_of = {lab: c for c, lab in enumerate(labels_seen.tolist())}
        hot_groups = [(str(a), codes == code_of.get(str(a), -2)) for a in sorted(a_ids.tolist())]
        hot_groups.append((OUTSIDE_HOTSPOTS, located & ~in_hot))
        where_groups = [(IN_HOTSPOTS, in_hot), (OUTSIDE_HOTSPOTS, located & ~in_hot)]
        if (~located).any():
            hot_groups.append((NO_LOCATION, ~located))
            where_groups.append((NO_LOCATION, ~located))
        per_hotspot = rows_for(hot_groups + [(TOTAL_LABEL, everyone)], "hotspot")
        sraw = rows_for(where_groups + [(TOTAL_LABEL, everyone)], "where")
    else:
        per_hotspot = pd.DataFrame(columns=["hotspot", *_COUNTS, *_IMPLIED, *_PCTS, "median_distance_m"])
        sraw = rows_for([(TOTAL_LABEL, everyone)], "where")
    # The two tables are published together, so they are protected together (shared counts:
    # "outside hotspots", "no location", the total; "in hotspots" = the sum of the areas).
    ledger = Ledger()
    hot_keys = [("hotspot", str(h)) if h != TOTAL_LABEL else ("all",) for h in per_hotspot["hotspot"]]
    where_keys = [("where", IN_HOTSPOTS) if w == IN_HOTSPOTS else (("all",) if w == TOTAL_LABEL else ("hotspot", w))
                  for w in sraw["where"]]
    if len(per_hotspot):
        add_linkage_rows(ledger, per_hotspot, hot_keys, total=("all",))
    add_linkage_rows(ledger, sraw, where_keys, total=("all",))
    if areas is not None:
        area_keys = [k for k in hot_keys if k[0] == "hotspot" and k[1] not in (OUTSIDE_HOTSPOTS, NO_LOCATION)]
        ledger.relate_rows(("where", IN_HOTSPOTS), area_keys, _COUNTS + _IMPLIED)
    prot = protect(ledger, threshold=threshold, unsafe=unsafe)
    shown = linkage_display(prot, per_hotspot, hot_keys, "hotspot") if len(per_hotspot) else per_hotspot.copy()
    summary_display = linkage_display(prot, sraw, where_keys, "where")
    params = {
        "near_m": near,
        "tolerance_m": tol,
        "id_column": id_column,
        "missing_location": missing_location,
        "threshold": threshold,
        "areas": None if areas is None else int(len(a_ids)),
        "tasks": None if tasks is None else int(len(tasks)),
        "towns": f"{len(t_names)} given" if towns is not None else (
            f"{len(t_names)} from hotspots.places.label_towns" if towns_used is not None else "none"),
        "study_area": area_geom is not None,
        "months": None if months is None else [str(months[0]), str(months[1])],
        "local_rule": local_rule_text(near, completed=rep.completed_base if tasks is not None else True),
    }
    return LinkageResult(
        table=out, summary=summary, per_hotspot=per_hotspot, display=shown, summary_display=summary_display,
        near_m=near, threshold=threshold, has_areas=areas is not None, has_tasks=tasks is not None,
        params=params, notes=tuple(notes), task_sites=task_sites, towns=towns_used, per_where=sraw,
        area_towns=area_towns, site_towns=site_towns,
    )


# =============================================================================== map lines
def referral_task_lines(result: LinkageResult, *, snap_m: float | None = 100.0) -> gpd.GeoDataFrame:
    """Lines from each linked referral's location to its task site, for maps.

    Only non-identifying fields are kept (:data:`LINE_COLUMNS`): no ``person_ref``, referral id,
    dates, offence or outcome. The harm end of each line is snapped to the centre of a
    ``snap_m`` metre square (default 100 m; ``None`` keeps the exact point), as points are
    snapped before display elsewhere; distances and the local flags are computed from the exact
    points. Lines are sorted by ``task_id`` and then by origin (west to east, south to north), not
    in referral order, so they cannot be matched back to referrals by position.

    Parameters
    ----------
    result : LinkageResult
        From :func:`link_referrals` with ``tasks``.
    snap_m : float or None
        Snap size of the harm end, metres.

    Returns
    -------
    GeoDataFrame
        One LineString per referral with a linked task site and a location, EPSG:27700.
    """
    if not isinstance(result, LinkageResult):
        raise ParameterError(f"`result` must come from `link_referrals`; got {type(result).__name__}.")
    if not result.has_tasks or result.task_sites is None:
        raise ParameterError("the linkage has no task sites; call `link_referrals(..., tasks=tasks)` first.")
    if snap_m is not None:
        s = validation.distance(snap_m, "snap_m")
    t = result.table
    sel = (t["task_status"] == "linked").to_numpy() & t["has_location"].to_numpy()
    rows = t[sel]
    ox = rows.geometry.x.to_numpy()
    oy = rows.geometry.y.to_numpy()
    if snap_m is not None:
        ox = np.floor(ox / s) * s + s / 2
        oy = np.floor(oy / s) * s + s / 2
    sites = result.task_sites
    site_ids = _ids_text(sites["task_id"])
    pos = {tid: i for i, tid in enumerate(site_ids)}
    rid = _ids_text(rows["task_id"])
    idx = np.array([pos[r] for r in rid], dtype=np.int64)
    sx = sites.geometry.x.to_numpy()[idx]
    sy = sites.geometry.y.to_numpy()[idx]
    cols: dict[str, Any] = {}
    if result.has_areas:
        cols["hotspot"] = rows["hotspot"].to_numpy(dtype=object)
    cols["task_id"] = rid
    if "kind" in sites.columns:
        cols["task_kind"] = sites["kind"].to_numpy(dtype=object)[idx]
    if "site_name" in sites.columns:
        cols["task_site"] = sites["site_name"].to_numpy(dtype=object)[idx]
    cols["harm_town"] = rows["harm_town"].to_numpy(dtype=object)
    cols["task_town"] = rows["task_town"].to_numpy(dtype=object)
    cols["distance_to_task_m"] = np.round(rows["distance_to_task_m"].to_numpy(dtype=float))
    for c in ("reparation_within_near", "reparation_same_town", "reparation_local"):
        cols[c] = rows[c].to_numpy(dtype=bool)
    coords = np.stack([np.column_stack([ox, oy]), np.column_stack([sx, sy])], axis=1)
    lines = shapely.linestrings(coords) if len(coords) else np.empty(0, dtype=object)
    gdf = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(lines, crs=BNG), crs=BNG)
    order = np.lexsort((oy, ox, np.asarray(rid, dtype=str))) if len(rid) else np.empty(0, dtype=np.int64)
    return gdf.iloc[order].reset_index(drop=True)
