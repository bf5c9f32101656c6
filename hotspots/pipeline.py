"""One pipeline from loaded data to results: the settings, input preparation with its automatic
choices, and the analysis in stages.

The CLI (``hotspots analyse`` / ``map``), the app and the exports all go through this module, so
that the same files and settings give the same study area, cell size, periods and hotspots
everywhere.

Input preparation
-----------------
:func:`prepare_inputs` makes every choice about the inputs, each by one small function that
returns the choice and a sentence announcing it:

* :func:`choose_category` — which incident categories are analysed (anti-social behaviour when
  the data mix it with other categories);
* :func:`choose_study_area` — the study area: a boundary the user gives always wins (its holes
  filled by default, announcing how many incidents that brings in; ``keep_holes=True`` keeps
  them); without one, :func:`automatic_study_area`;
* :func:`choose_periods` — the before/after periods (:func:`hotspots.periods.default_periods`).

The cell size is chosen when the grid is built (it depends on the analysis period's incidents):
:func:`choose_cell_size`.

Staged analysis
---------------
:func:`analyse` computes everything at once. The same calls are available as stages that depend
on fewer settings, so that the app recomputes only what a change of setting needs:

* :func:`hotspot_stage` — grid, counts, density, Gi*, hotspot areas (cell size, bandwidth,
  kernel, distance, alpha, FDR, permutations, confidence, analysis period);
* :func:`area_change` and :func:`cell_change` — before/after change per hotspot area and per
  cell (periods, alpha, FDR, same months);
* :func:`assemble_analysis` — the stages as the :class:`~hotspots.analysis.Analysis` that
  :func:`analyse` returns (tested to be equal).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ._errors import ParameterError
from .analysis import Analysis, HotspotStage
from .areas import hotspot_areas
from .change import ChangeResult, IncidentPoints, change_areas, change_cells
from .change_summary import ChangeSummary, selection_overlap_note, summarise_change
from .clustering import clusters
from .density import kde
from .footprint import grid_within_reach
from .gistar import gi_star
from .grid import BNG, Grid, auto_cell_size, count, incident_extent, points_xy
from .periods import Period, PeriodChoice, default_periods, filter_period, month_range, parse_period, periods_around
from .schema import ASB_CATEGORY, SCHEME_START

__all__ = [
    "Settings",
    "Progress",
    "HOTSPOT_SETTINGS",
    "CHANGE_SETTINGS",
    "CLUSTER_SETTINGS",
    "LINKAGE_SETTINGS",
    "AUTO_AREA_SHARE",
    "CategoryChoice",
    "StudyAreaChoice",
    "CellSizeChoice",
    "PreparedInputs",
    "choose_category",
    "choose_study_area",
    "automatic_study_area",
    "fill_holes",
    "choose_periods",
    "choose_cell_size",
    "prepare_inputs",
    "hotspot_stage",
    "area_change",
    "cell_change",
    "pooled_change",
    "assemble_analysis",
    "analyse",
]

#: Called with (step description, fraction done in 0..1) while :func:`analyse` runs.
Progress = Callable[[str, float], None]

#: The settings each step reads; the others do not change its result (see :meth:`Settings.only`).
#: :func:`hotspot_stage`:
HOTSPOT_SETTINGS = (
    "cell_size", "bandwidth", "kernel", "bandwidth_rule", "distance", "alpha", "fdr", "permutations", "seed", "min_confidence",
    "period",
)  # fmt: skip
#: :func:`area_change` and :func:`cell_change`, besides the hotspot stage's:
CHANGE_SETTINGS = ("before", "after", "scheme_start", "alpha", "fdr", "same_months")
#: point clusters (:func:`hotspots.clustering.clusters` on the analysis period's incidents):
CLUSTER_SETTINGS = ("period", "cluster_method", "eps", "min_samples", "seed")
#: referral linkage (:func:`hotspots.linkage.link_referrals`) and the scheme's protected
#: figures, besides the hotspot stage's:
LINKAGE_SETTINGS = ("near_m", "threshold", "unsafe_threshold")

#: Share of incidents that must fall inside the built-in (Derbyshire) outline for
#: :func:`automatic_study_area` to use it when no boundary is given.
AUTO_AREA_SHARE = 0.9
#: A hole of a given boundary is filled when its incidents per km² reach this share of the rest
#: of the area's (:func:`fill_holes`); emptier holes are kept (the data do not cover them).
HOLE_FILL_DENSITY_SHARE = 0.1


# =============================================================================== settings
@dataclass(frozen=True)
class Settings:
    """Every tuning knob of an analysis, with its default. Hashable (used as a cache key).

    Attributes
    ----------
    cell_size : float or None
        Grid cell side in metres; None = automatic (:func:`choose_cell_size`, announced).
    bandwidth : float or None
        KDE bandwidth in metres; None = ``bandwidth_rule``.
    kernel : {"quartic", "gaussian", "epanechnikov"}
    bandwidth_rule : {"arcgis", "sfhotspot"}
        Rule for the automatic bandwidth. The default here is ArcGIS's (about 2 km on force-wide
        demo data, 400 m within one town): sfhotspot's normal-reference rule spreads multi-town
        force data over ~6 km and hides street-level hotspots.
    distance : float or None
        Gi* neighbourhood distance band in metres; None = automatic (incremental spatial
        autocorrelation, see :func:`hotspots.neighbours.auto_distance`).
    alpha : float
        Significance level for Gi* classes and change tests.
    fdr : bool
        Benjamini–Hochberg false discovery rate control over Gi*'s cells and the change test's
        cells. Hotspot areas are tested one by one without it (a handful of areas, judged with the
        overdispersed test; the pooled verdict of :func:`pooled_change` answers for all of them),
        the rule whose error rates the calibration suite measures.
    permutations : int
        Gi* conditional permutations (0 = analytic normal p-values).
    seed : int
        Seed for every random step.
    min_confidence : float or None
        Lowest Gi* confidence that makes a cell part of a hotspot area (0.90, 0.95 or 0.99).
        None (default): the cells significant at ``alpha`` (``alpha = 0.05``: 95 % confidence),
        the one level the Gi* classes, the hotspot areas and every caption then share
        (:func:`hotspots.areas.hotspot_areas`).
    cluster_method : {"dbscan", "hdbscan", "none"}
    eps : float
        DBSCAN neighbourhood radius, metres.
    min_samples : int
        DBSCAN/HDBSCAN core size.
    period : tuple of two "YYYY-MM" or None
        Months (inclusive) whose incidents define the hotspots; None = all.
    before, after : tuple of two "YYYY-MM" or None
        Change periods (inclusive months); None = :func:`choose_periods` (with the data) or 12
        months either side of ``scheme_start`` (without).
    scheme_start : str
        Scheme start date (``"2023-07-01"`` for the Derbyshire pilot).
    same_months : bool
        Compare only the calendar months both change periods contain (seasonality).
    near_m : float
        Distance within which reparation counts as "local" to the harm, metres.
    threshold : int
        Person-level counts below this are suppressed in displayed/exported tables.
    unsafe_threshold : bool
        Allow a threshold below 3 (it protects nobody; every output then says so). See
        :func:`hotspots.disclosure.check_threshold`.
    """

    cell_size: float | None = None
    bandwidth: float | None = None
    kernel: str = "quartic"
    bandwidth_rule: str = "arcgis"
    distance: float | None = None
    alpha: float = 0.05
    fdr: bool = True
    permutations: int = 0
    seed: int = 0
    min_confidence: float | None = None
    cluster_method: str = "dbscan"
    eps: float = 150.0
    min_samples: int = 20
    period: tuple[str, str] | None = None
    before: tuple[str, str] | None = None
    after: tuple[str, str] | None = None
    scheme_start: str = SCHEME_START
    same_months: bool = False
    near_m: float = 2000.0
    threshold: int = 5
    unsafe_threshold: bool = False

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def only(self, *names: str) -> Settings:
        """These settings with every field not in ``names`` at its default.

        The settings a step reads (:data:`HOTSPOT_SETTINGS`, :data:`CHANGE_SETTINGS`,
        :data:`CLUSTER_SETTINGS`, :data:`LINKAGE_SETTINGS`) as a hashable value: equal for any two
        settings that give the step the same result (a cache key).
        """
        unknown = sorted(set(names) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ParameterError(f"{', '.join(map(repr, unknown))} are not settings; choose from {list(self.to_dict())}.")
        return Settings(**{n: getattr(self, n) for n in names})

    def change_periods(self) -> tuple[Period, Period]:
        """The before and after periods these settings ask for.

        Without ``before``/``after``: 12 months either side of ``scheme_start`` (without looking
        at the data; :func:`choose_periods` fills them from the data).
        """
        default_before, default_after = periods_around(self.scheme_start)
        before = parse_period(self.before, "before") if self.before else default_before
        after = parse_period(self.after, "after") if self.after else default_after
        if before.overlaps(after):
            raise ParameterError(
                f"the before period ({before.describe()}) and the after period ({after.describe()}) overlap; "
                "choose two separate ranges of months."
            )
        return before, after


# =============================================================================== input preparation
@dataclass(frozen=True, eq=False)
class CategoryChoice:
    """The incidents kept for analysis by category, and the announcement.

    Attributes
    ----------
    incidents : GeoDataFrame
    categories : tuple of str or None
        The categories kept; None = all.
    note : str
        Empty when nothing was chosen on the user's behalf.
    """

    incidents: gpd.GeoDataFrame
    categories: tuple[str, ...] | None
    note: str = ""


def choose_category(incidents: gpd.GeoDataFrame, categories: str | Sequence[str] | None = None) -> CategoryChoice:
    """Which incident categories to analyse.

    Parameters
    ----------
    incidents : GeoDataFrame
        Loaded incidents (a ``category`` column is optional).
    categories : None, "all", or list of str
        None (automatic): anti-social behaviour only when the data hold it among other
        categories, else everything. ``"all"`` (or ``["all"]``): every category. A list: those
        categories (compared without regard to case).

    Returns
    -------
    CategoryChoice
    """
    if isinstance(categories, str):
        categories = [categories]
    if categories is not None:
        wanted = [str(c).strip() for c in categories if str(c).strip()]
        if not wanted or [c.lower() for c in wanted] == ["all"]:
            return CategoryChoice(incidents, None)
        if "category" not in incidents.columns:
            raise ParameterError(f"the incidents have no `category` column to choose {wanted!r} from.")
        present = incidents["category"].astype("string").str.strip().str.lower()
        keep = present.isin([c.lower() for c in wanted]).fillna(False).to_numpy(dtype=bool)
        if not keep.any():
            found = sorted(incidents["category"].dropna().astype(str).unique())[:10]
            raise ParameterError(f"no incidents have the category {', '.join(map(repr, wanted))}; the data hold {found}.")
        note = (
            ""
            if keep.all()
            else f"kept the {int(keep.sum()):,} incidents of {len(incidents):,} in {', '.join(map(repr, wanted))}"
        )
        return CategoryChoice(incidents.loc[keep] if not keep.all() else incidents, tuple(wanted), note)
    if "category" not in incidents.columns or len(incidents) == 0:
        return CategoryChoice(incidents, None)
    present = incidents["category"].astype(str)
    asb = (present == ASB_CATEGORY).to_numpy()
    if asb.any() and not asb.all():
        note = (
            f"kept the {int(asb.sum()):,} '{ASB_CATEGORY}' incidents of {len(incidents):,} loaded "
            "(choose the categories to analyse others, or 'all' to keep every category)"
        )
        return CategoryChoice(incidents.loc[asb], (ASB_CATEGORY,), note)
    return CategoryChoice(incidents, None)


@dataclass(frozen=True, eq=False)
class StudyAreaChoice:
    """The study area chosen for the analysis, and the announcement.

    Attributes
    ----------
    area : GeoDataFrame or None
        Polygons (any CRS); None = no study area (the grid covers the incidents' extent).
    source : {"given", "built-in", "footprint", "none"}
    note : str
    record : dict
        Facts for the parameters sidecar (source, share of incidents inside, holes filled).
    """

    area: gpd.GeoDataFrame | None
    source: str
    note: str
    record: dict[str, Any] = field(default_factory=dict)


def _share_inside(incidents: gpd.GeoDataFrame, geom: Any) -> float:
    if len(incidents) == 0:
        return 0.0
    xy = shapely.get_coordinates(incidents.geometry.values)
    return float(np.mean(shapely.contains_xy(geom, xy[:, 0], xy[:, 1])))


def _hole_count(geoms: np.ndarray) -> int:
    """Interior rings (holes) of the polygons among ``geoms`` (the parts of multi-polygons included)."""
    parts = shapely.get_parts(geoms)
    return int(shapely.get_num_interior_rings(parts[shapely.get_type_id(parts) == 3]).sum())


def fill_holes(area: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None = None) -> tuple[gpd.GeoDataFrame, int]:
    """The area with the interior rings (holes) of its polygons removed, and how many were.

    A county boundary often has a hole where a unitary city lies (Derbyshire county around
    Derby): the city is still in the force area, and its incidents are in the force's files.

    Parameters
    ----------
    area : GeoDataFrame
    incidents : GeoDataFrame, optional
        When given, only holes that hold incidents at no less than :data:`HOLE_FILL_DENSITY_SHARE`
        of the density in the rest of the area are filled. A hole the data do not cover (another
        force's or authority's ground, a reservoir) filled would be a large empty patch: it lowers
        the study area's mean, its rim looks cold, and the cold cells loosen the false discovery
        rate's threshold for hot ones (random incidents over Derbyshire county with Derby's hole
        filled: hotspot areas on 39 of 40 maps of 30,000 incidents; with the hole kept, none).

    Returns
    -------
    area : GeoDataFrame
    filled : int
        Holes filled.
    """
    geoms = np.asarray(area.geometry.values)
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), (3,))
    if _hole_count(geoms) == 0:
        return area, 0
    keep_rings: list[list[bool] | None] = [None] * len(parts)  # per part, which holes stay (None: fill them all)
    if incidents is not None and len(incidents):
        # measured in the incidents' CRS (metres) when both are known; the rule compares densities,
        # so only the ratio of areas matters: n_hole / area_hole >= share * n_rest / area_rest
        same = area.crs is None or incidents.crs is None or pyproj.CRS(area.crs).equals(pyproj.CRS(incidents.crs))
        m_parts = parts if same else shapely.get_parts(np.asarray(area.to_crs(incidents.crs).geometry.values))
        xy = shapely.get_coordinates(incidents.geometry.values)
        whole = shapely.union_all(m_parts[polygonal])
        n_rest = float(shapely.contains_xy(whole, xy[:, 0], xy[:, 1]).sum())
        a_rest = float(shapely.area(whole))
        for j in np.flatnonzero(polygonal):
            keep_ring = []
            for ring in m_parts[j].interiors:
                hole = shapely.Polygon(ring)
                n = float(shapely.contains_xy(hole, xy[:, 0], xy[:, 1]).sum())
                keep_ring.append(not (n > 0 and n * a_rest >= HOLE_FILL_DENSITY_SHARE * n_rest * hole.area))
            keep_rings[j] = keep_ring
    filled = np.empty(len(geoms), dtype=object)
    n_filled = 0
    for i in range(len(geoms)):
        polys = []
        for j in np.flatnonzero((index == i) & polygonal):
            poly = parts[j]
            rings = list(poly.interiors)
            kept = [] if keep_rings[j] is None else [r for r, k in zip(rings, keep_rings[j]) if k]
            n_filled += len(rings) - len(kept)
            polys.append(shapely.Polygon(poly.exterior, kept))
        filled[i] = polys[0] if len(polys) == 1 else shapely.union_all(polys)
    if n_filled == 0:
        return area, 0
    out = area.copy()
    out = out.set_geometry(gpd.GeoSeries(filled, crs=area.crs, index=area.index))
    return out, n_filled


def automatic_study_area(incidents: gpd.GeoDataFrame) -> StudyAreaChoice:
    """The study area when the user gives none.

    The built-in Derbyshire outline (:func:`hotspots.gazetteer.default_study_area`) when at
    least :data:`AUTO_AREA_SHARE` of the incidents fall inside it (the demo, and Derbyshire's own
    files); for any other data, the footprint of the incidents (:func:`hotspots.footprint.data_footprint`:
    where they are, generalised, with a 1 km margin, leaving out outlying strays, which are
    counted and announced). This is the one place to change the rule.
    """
    from .footprint import data_footprint
    from .gazetteer import default_study_area

    area = default_study_area()
    share = _share_inside(incidents, shapely.union_all(area.to_crs(incidents.crs or BNG).geometry.values))
    if share >= AUTO_AREA_SHARE:
        return StudyAreaChoice(
            area,
            "built-in",
            f"study area: the built-in Derbyshire outline ({share:.1%} of incidents inside; "
            "give a boundary, or choose none, to change it)",
            {"source": "built-in Derbyshire force-area outline (approximate)", "share_of_incidents_inside": round(share, 4)},
        )
    fp = data_footprint(incidents)
    return StudyAreaChoice(fp.to_geodataframe(), "footprint", fp.describe(), fp.record())


def choose_study_area(
    incidents: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | str | None = None,
    *,
    keep_holes: bool = False,
) -> StudyAreaChoice:
    """The study area: one rule for the app and the CLI.

    Parameters
    ----------
    incidents : GeoDataFrame
        The incidents to be analysed (for the shares announced).
    boundary : GeoDataFrame, "builtin", "none" or None
        A boundary the user gave (always wins); ``"builtin"`` (or ``"default"``) for the
        built-in outline; ``"none"`` for no study area; None for :func:`automatic_study_area`.
    keep_holes : bool
        Keep the holes of a given boundary (their cells then take no part). By default they are
        filled (:func:`fill_holes`) and the note says how many incidents that brings in.

    Returns
    -------
    StudyAreaChoice
    """
    if not isinstance(keep_holes, bool):
        raise ParameterError(f"`keep_holes` must be True or False; got {keep_holes!r}.")
    if boundary is None:
        return automatic_study_area(incidents)
    if isinstance(boundary, str):
        key = boundary.strip().lower()
        if key == "none":
            return StudyAreaChoice(
                None, "none", "study area: none (as asked); the grid covers the incidents' extent", {"source": "none"}
            )
        if key in ("builtin", "built-in", "default"):
            from .gazetteer import default_study_area

            return StudyAreaChoice(
                default_study_area(),
                "built-in",
                "study area: the built-in Derbyshire outline (as asked)",
                {"source": "built-in Derbyshire force-area outline (approximate)"},
            )
        raise ParameterError(f"`boundary` must be a GeoDataFrame, 'builtin', 'none' or None; got {boundary!r}.")
    if not isinstance(boundary, gpd.GeoDataFrame) or len(boundary) == 0:
        raise ParameterError("`boundary` must be a GeoDataFrame with at least one polygon (e.g. from `load_boundary`).")
    crs = incidents.crs or BNG
    name = str(boundary.attrs.get("source") or "the given boundary")
    record: dict[str, Any] = {"source": name, "features": int(len(boundary))}
    original = shapely.union_all(boundary.to_crs(crs).geometry.values)
    area, holes = (boundary, 0) if keep_holes else fill_holes(boundary, incidents)
    geom = original if keep_holes else shapely.union_all(area.to_crs(crs).geometry.values)
    share = _share_inside(incidents, geom)
    note = f"study area: {name} ({len(boundary):,} feature(s), {share:.1%} of incidents inside)"
    if holes:
        gained = round((share - _share_inside(incidents, original)) * len(incidents))
        note += f"; its {holes:,} hole(s) filled, bringing in {gained:,} incidents (choose 'keep holes' to leave them out)"
        record.update(holes_filled=holes, incidents_in_holes=int(gained))
    if keep_holes:
        n_holes = int(shapely.get_num_interior_rings(shapely.get_parts(original)).sum())
        if n_holes:
            note += f"; its {n_holes:,} hole(s) kept (incidents there take no part)"
            record.update(holes_kept=n_holes)
    elif (empty := _hole_count(np.asarray(boundary.geometry.values)) - holes) > 0:  # counted as fill_holes counts
        note += (
            f"; {empty:,} hole(s) kept: they hold fewer than {HOLE_FILL_DENSITY_SHARE:.0%} of the area's incidents "
            "per km², so the data do not cover them (filled, they would be an empty patch that makes the rest look hot)"
        )
        record.update(holes_kept=empty)
    record["share_of_incidents_inside"] = round(share, 4)
    area = area.copy()
    area.attrs.update(boundary.attrs)
    return StudyAreaChoice(area, "given", note, record)


def choose_periods(incidents: gpd.GeoDataFrame, settings: Settings) -> tuple[Settings, str]:
    """``settings`` with the default before/after periods filled in from the data's months.

    Given periods are kept as they are (no note). Without both, :func:`hotspots.periods.default_periods`
    chooses them from the data's months and ``settings.scheme_start``. When the data cannot
    give periods (no dates, a single month) the settings come back unchanged with the reason.

    Returns
    -------
    settings : Settings
    note : str
        Empty when nothing was chosen.
    """
    if settings.before is not None and settings.after is not None:
        return settings, ""
    try:
        first, last = month_range(incidents)
        choice: PeriodChoice = default_periods(first, last, settings.scheme_start)
    except (ParameterError, KeyError) as exc:
        return settings, f"before/after periods: not chosen from the data ({exc})"
    return settings.replace(before=choice.before, after=choice.after), choice.note


@dataclass(frozen=True)
class CellSizeChoice:
    """The grid cell size in metres and the announcement (empty when the user gave it)."""

    cell_size: float
    note: str = ""


def choose_cell_size(xy: np.ndarray, study_area: Any = None, cell_size: float | None = None, *, crs: Any = BNG) -> CellSizeChoice:
    """The grid cell size: the given one, or the automatic rule.

    The automatic rule is :func:`hotspots.grid.auto_cell_size` (street scale: sfhotspot's 1/50
    rule capped at 500 m) on the study area's bounds, or, without a study area, on where the
    incidents are (:func:`hotspots.grid.incident_extent`, so that strays do not set it). This is
    the one place the pipeline chooses a cell size.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Incident coordinates in ``crs`` (metres).
    study_area : GeoDataFrame, shapely geometry or None
    cell_size : float or None
        Given by the user (returned as is) or None (automatic).
    crs : CRS of ``xy``.
    """
    if cell_size is not None:
        return CellSizeChoice(float(cell_size))
    if isinstance(study_area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        bounds, where = tuple(study_area.to_crs(crs).total_bounds), "the study area"
    elif study_area is not None and hasattr(study_area, "bounds") and not isinstance(study_area, np.ndarray):
        bounds, where = tuple(study_area.bounds), "the study area"
    elif len(xy):
        bounds, where = incident_extent(xy), "where the incidents are (98 % of them on each axis)"
    else:
        raise ParameterError("there are no incidents to choose a cell size from. Load some incidents first.")
    size, note = auto_cell_size(bounds, what=where)
    return CellSizeChoice(size, note)


@dataclass(frozen=True, eq=False)
class PreparedInputs:
    """Loaded data made ready for the analysis, with every choice made on the way.

    Attributes
    ----------
    incidents : GeoDataFrame
        The incidents to analyse (after the category choice).
    study_area : GeoDataFrame or None
    settings : Settings
        The settings given, with the default before/after periods filled in from the data.
    months : tuple of two "YYYY-MM" or None
        The data's first and last month (None without dates).
    category, area : CategoryChoice, StudyAreaChoice
    referrals, tasks : GeoDataFrame or None
        Passed through.
    notes : tuple of str
        Every announcement, in order (force, CRS, category, study area, periods).
    force : hotspots.forces.Force or None
        The force (given, or named by police.uk's "Falls within"); its name is also the
        incidents' ``force`` column, which titles, captions and the sidecar read.
    crs : hotspots.projection.CRSChoice
        The analysis CRS (British National Grid, or Irish Transverse Mercator in Northern Ireland).
    """

    incidents: gpd.GeoDataFrame
    study_area: gpd.GeoDataFrame | None
    settings: Settings
    months: tuple[str, str] | None
    category: CategoryChoice
    area: StudyAreaChoice
    referrals: gpd.GeoDataFrame | None = None
    tasks: gpd.GeoDataFrame | None = None
    notes: tuple[str, ...] = ()
    force: Any = None
    crs: Any = None


def prepare_inputs(
    incidents: gpd.GeoDataFrame,
    *,
    settings: Settings | None = None,
    boundary: gpd.GeoDataFrame | str | None = None,
    keep_holes: bool = False,
    categories: str | Sequence[str] | None = None,
    referrals: gpd.GeoDataFrame | None = None,
    tasks: gpd.GeoDataFrame | None = None,
    force: str | None = None,
) -> PreparedInputs:
    """Every choice about the inputs, the same for the CLI and the app.

    Parameters
    ----------
    incidents : GeoDataFrame
        Loaded incidents (EPSG:27700).
    settings : Settings, optional
    boundary, keep_holes
        See :func:`choose_study_area`.
    categories
        See :func:`choose_category`.
    referrals, tasks : GeoDataFrame, optional
        Passed through to the result (in the analysis CRS).
    force : str, optional
        The force's name or police.uk id; default: police.uk's "Falls within"
        (:func:`hotspots.forces.detect_force`).

    Returns
    -------
    PreparedInputs
    """
    from .forces import detect_force
    from .places import is_demo_data
    from .projection import choose_crs

    s = settings or Settings()
    if incidents is None or len(incidents) == 0:
        raise ParameterError("there are no incidents to analyse; check the input files and the filters (load report).")
    cat = choose_category(incidents, categories)
    found = None if force is None and is_demo_data(incidents) else detect_force(incidents, given=force)
    # The analysis CRS: British National Grid, or Irish Transverse Mercator for Northern Ireland.
    crs = choose_crs(cat.incidents)
    inc = cat.incidents
    if inc.crs is not None and not crs.crs.equals(inc.crs):
        inc = inc.to_crs(crs.crs)
        referrals = referrals.to_crs(crs.crs) if referrals is not None and referrals.crs is not None else referrals
        tasks = tasks.to_crs(crs.crs) if tasks is not None and tasks.crs is not None else tasks
    if force is not None and found is not None:
        inc = inc.assign(force=found.name)  # the name given wins over the files' "Falls within"
    if inc is not cat.incidents:
        cat = dataclasses.replace(cat, incidents=inc)
    area = choose_study_area(inc, boundary, keep_holes=keep_holes)
    s, period_note = choose_periods(inc, s)
    try:
        months: tuple[str, str] | None = month_range(inc)
    except (ParameterError, KeyError):
        months = None
    notes = tuple(n for n in (found.describe() if found is not None else "", crs.note, cat.note, area.note, period_note) if n)
    return PreparedInputs(inc, area.area, s, months, cat, area, referrals, tasks, notes, found, crs)


# =============================================================================== staged analysis
def hotspot_stage(
    incidents: gpd.GeoDataFrame,
    settings: Settings,
    study_area: gpd.GeoDataFrame | None = None,
    *,
    progress: Progress | None = None,
) -> HotspotStage:
    """Grid, counts, KDE, Gi* and hotspot areas: the first part of :func:`analyse`.

    The app calls it on its own (cached per data set and hotspot settings) and the rest of the
    analysis separately, so that a change of period does not recompute the hotspots.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents in EPSG:27700.
    settings : Settings
        Only the hotspot settings and ``period`` are read.
    study_area : GeoDataFrame, optional
        Cells outside it take no part.
    progress : callable, optional
        ``progress(step, fraction)`` before each step; the last is ``("done", 1.0)``.

    Returns
    -------
    HotspotStage
    """
    s = settings
    notes: list[str] = []

    def step(text: str, frac: float) -> None:
        if progress is not None:
            progress(text, frac)

    if incidents is None or len(incidents) == 0:
        raise ParameterError("there are no incidents to analyse; check the input files and the filters (load report).")
    window = parse_period(s.period, "analysis period") if s.period else None
    chosen = filter_period(incidents, window)
    if len(chosen) == 0:
        raise ParameterError(f"no incidents fall in the analysis period {window.describe()}; widen `period`.")
    if window is not None:
        notes.append(f"hotspots computed from {len(chosen):,} incidents in {window.describe()}")
    step("building the grid", 0.0)
    # The coordinates are read once and passed on as an array (the same numbers the three calls
    # would each read from the geometries; the grid takes the incidents' CRS).
    crs = getattr(chosen, "crs", None) or BNG
    xy = points_xy(chosen, pyproj.CRS(crs), name="points")
    size = choose_cell_size(xy, study_area, s.cell_size, crs=crs)
    grid = Grid.for_points(xy, cell_size=size.cell_size, crs=crs, mask=study_area)
    if size.note:
        notes.append(size.note)
        grid = dataclasses.replace(grid, notes=grid.notes + (size.note,))
    grid = grid_within_reach(grid, xy, study_area)  # a footprint's empty margin takes no part
    notes += [n for n in grid.notes if n not in notes]
    step("counting incidents per cell", 0.1)
    counts = count(xy, grid)
    outside = counts.params.get("points_off_grid", 0) + counts.params.get("points_outside_area", 0)
    if outside:
        notes.append(
            f"{outside:,} incidents fall in cells whose centre lies outside the study area (or off the grid) "
            "and are not counted in cells"
        )
    step("kernel density", 0.2)
    density = kde(xy, grid, bandwidth=s.bandwidth, kernel=s.kernel, bandwidth_rule=s.bandwidth_rule)
    notes += [n for n in density.notes if n not in notes]
    step("Getis-Ord Gi*", 0.5)
    gi = gi_star(counts, s.distance, permutations=s.permutations, fdr=s.fdr, alpha=s.alpha, seed=s.seed)
    notes += [n for n in gi.notes if n not in notes]
    step("hotspot areas", 0.9)
    areas = hotspot_areas(gi, min_confidence=s.min_confidence)
    step("done", 1.0)
    return HotspotStage(s, chosen, grid, counts, density, gi, areas, tuple(notes))


def area_change(
    incidents: gpd.GeoDataFrame | IncidentPoints,
    stage: HotspotStage,
    settings: Settings,
    cells: ChangeResult | None = None,
) -> tuple[ChangeResult | None, str | None]:
    """Before/after change per hotspot area (None and the reason when it cannot be computed).

    ``incidents`` are all incidents (not only the analysis period), as in :func:`analyse`, or the
    same read once by :func:`hotspots.change.incident_points` (faster when called repeatedly).
    ``cells`` (:func:`cell_change` with the same settings) lends its between-period variance when
    too few areas hold enough incidents to estimate it (``tau2_fallback`` of
    :func:`hotspots.change.change_areas`), as :func:`pooled_change` needs.
    """
    if stage.areas.n_areas == 0:
        return None, None
    s = settings
    try:
        before, after = s.change_periods()
        return (
            change_areas(
                incidents, stage.areas, before, after, id_column="area_id", alpha=s.alpha, fdr=False, same_months=s.same_months,
                tau2_fallback=None if cells is None else cells.dispersion,
            ),
            None,
        )
    except ParameterError as exc:
        return None, f"before/after change not computed: {exc}"


def cell_change(
    incidents: gpd.GeoDataFrame | IncidentPoints, grid: Grid, settings: Settings
) -> tuple[ChangeResult | None, str | None]:
    """Before/after change per grid cell (None and the reason when it cannot be computed).

    ``incidents`` as in :func:`area_change`.
    """
    s = settings
    try:
        before, after = s.change_periods()
        return change_cells(incidents, grid, before, after, alpha=s.alpha, fdr=s.fdr, same_months=s.same_months), None
    except ParameterError as exc:
        return None, f"before/after change not computed: {exc}"


def pooled_change(
    stage: HotspotStage, cells: ChangeResult | None, areas: ChangeResult | None
) -> tuple[ChangeSummary | None, str | None]:
    """The pooled change (:func:`hotspots.change_summary.summarise_change`): all hotspot areas,
    elsewhere, and the two compared, at the settings' ``alpha``.

    ``cells`` and ``areas`` from :func:`cell_change` and :func:`area_change` (pass it the
    ``cells``). Returns None and the reason when either is missing or was not computed with the
    overdispersed test; with no hotspot areas, None and no note. The months the hotspots were
    chosen from (``period``, else the data's months) are checked for regression to the mean
    (:func:`hotspots.change_summary.selection_overlap_note`).
    """
    if cells is None or stage.areas.n_areas == 0:
        return None, None
    if areas is None:
        return None, "pooled change not computed: no before/after change per hotspot area"
    s = stage.settings
    try:
        out = summarise_change(cells, areas, stage.areas.labels, alpha=s.alpha)
    except ParameterError as exc:
        return None, f"pooled change not computed: {exc}"
    try:
        selected = parse_period(s.period, "analysis period") if s.period else Period.from_months(*month_range(stage.incidents))
    except (ParameterError, KeyError, ValueError):
        selected = None
    note, favours_fall = selection_overlap_note(selected, cells.before, cells.after)
    if note:
        out = dataclasses.replace(out, notes=out.notes + (note,), regression_to_mean=favours_fall)
    return out, None


def assemble_analysis(
    stage: HotspotStage,
    *,
    clusters: Any = None,
    change_cells: ChangeResult | None = None,
    change_areas: ChangeResult | None = None,
    change_note: str | None = None,
    change_summary: ChangeSummary | None = None,
    linkage: Any = None,
    kpis: Any = None,
    referrals: gpd.GeoDataFrame | None = None,
    tasks: gpd.GeoDataFrame | None = None,
    study_area: gpd.GeoDataFrame | None = None,
    notes: Sequence[str] = (),
) -> Analysis:
    """The stages as one :class:`~hotspots.analysis.Analysis` (what :func:`analyse` returns).

    ``notes`` come first (e.g. the input preparation's), then the stage's, then ``change_note``.
    Without ``change_summary``, :func:`pooled_change` computes it from ``change_cells`` and
    ``change_areas`` (cheap: sums over their tables); its note, if any, comes last.
    """
    before, after = stage.settings.change_periods()
    pooled_note = None
    if change_summary is None:
        change_summary, pooled_note = pooled_change(stage, change_cells, change_areas)
    out = list(notes)
    for n in list(stage.notes) + [n for n in (change_note, pooled_note) if n]:
        if n not in out:
            out.append(n)
    return Analysis(
        settings=stage.settings,
        incidents=stage.incidents,
        grid=stage.grid,
        counts=stage.counts,
        density=stage.density,
        gi=stage.gi,
        areas=stage.areas,
        clusters=clusters,
        before=before,
        after=after,
        change_cells=change_cells,
        change_areas=change_areas,
        change_summary=change_summary,
        linkage=linkage,
        kpis=kpis,
        referrals=referrals,
        tasks=tasks,
        study_area=study_area,
        notes=tuple(out),
    )


def analyse(
    incidents: gpd.GeoDataFrame,
    *,
    settings: Settings | None = None,
    study_area: gpd.GeoDataFrame | None = None,
    referrals: gpd.GeoDataFrame | None = None,
    tasks: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Run the whole analysis on loaded data.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents in EPSG:27700 (from :mod:`hotspots.io` or the demo generator;
        :attr:`PreparedInputs.incidents` after :func:`prepare_inputs`).
    settings : Settings, optional
        Without ``before``/``after``, :func:`choose_periods` chooses them from the data
        (announced in the notes).
    study_area : GeoDataFrame, optional
        Polygon(s) of the study area; cells outside take no part. Without one, the grid covers
        the incidents' extent and zero cells at its edges count as observed zeros.
    referrals, tasks : GeoDataFrame, optional
        Scheme data; when given, referrals are linked to hotspot areas and task sites and the
        KPIs computed.
    progress : callable, optional
        ``progress(step, fraction)`` is called before each step.

    Returns
    -------
    Analysis
    """
    s = settings or Settings()
    notes: list[str] = []

    def step(text: str, frac: float) -> None:
        if progress is not None:
            progress(text, frac)

    if incidents is not None and len(incidents):
        s, period_note = choose_periods(incidents, s)
        if period_note:
            notes.append(period_note)
    # The hotspot steps take the first 60 % of the progress bar.
    stage = hotspot_stage(
        incidents, s, study_area, progress=None if progress is None else (lambda t, f: step(t, 0.6 * f) if f < 1.0 else None)
    )

    found_clusters = None
    if s.cluster_method != "none":
        step("point clusters", 0.6)
        found_clusters = clusters(stage.incidents, s.cluster_method, eps=s.eps, min_samples=s.min_samples, seed=s.seed)

    step("before/after change", 0.7)
    cells_change, note = cell_change(incidents, stage.grid, s)
    areas_change = None
    if cells_change is not None:
        areas_change, note = area_change(incidents, stage, s, cells_change)

    linkage = kpis = None
    if referrals is not None and len(referrals):
        step("linking referrals", 0.85)
        from .kpis import scheme_kpis
        from .linkage import link_referrals

        linkage = link_referrals(referrals, areas=stage.areas.areas, tasks=tasks, near_m=s.near_m, threshold=s.threshold,
                                 unsafe=s.unsafe_threshold)
        kpis = scheme_kpis(referrals, threshold=s.threshold, unsafe=s.unsafe_threshold)
    step("done", 1.0)
    return assemble_analysis(
        stage,
        clusters=found_clusters,
        change_cells=cells_change,
        change_areas=areas_change,
        change_note=note,
        linkage=linkage,
        kpis=kpis,
        referrals=referrals,
        tasks=tasks,
        study_area=study_area,
        notes=notes,
    )
