"""One pipeline from loaded data to results: the settings, input preparation with its automatic
choices, and the analysis in stages.

The CLI (``hotspots analyse`` / ``map``), the app and the exports all go through this module, so
that the same files and settings give the same study area, cell size, periods and hotspots
everywhere. It re-exports the two modules it is built on:

* :mod:`hotspots.settings` — :class:`Settings`, every tuning knob with its default, and the
  settings each stage reads (:data:`HOTSPOT_SETTINGS`, :data:`CHANGE_SETTINGS`, ...);
* :mod:`hotspots.preparation` — :func:`prepare_inputs`, every choice about the inputs, each by one
  small function that returns the choice and a sentence announcing it (:func:`choose_category`,
  :func:`choose_study_area`, :func:`choose_scheme_start`, :func:`choose_periods`,
  :func:`choose_missing_months`; the cell size, chosen when the grid is built:
  :func:`choose_cell_size`).

Staged analysis
---------------
:func:`analyse` computes everything at once. The same calls are available as stages that depend
on fewer settings, so that the app recomputes only what a change of setting needs:

* :func:`hotspot_stage` — grid, counts, density, Gi*, hotspot areas (cell size, bandwidth,
  kernel, distance, alpha, FDR, permutations, confidence, analysis period);
* :func:`area_change` and :func:`cell_change` — before/after change per hotspot area and per
  cell (periods, alpha, FDR, same months);
* :func:`pooled_change` and :func:`ring_change` — the pooled change (all hotspot areas, elsewhere)
  and the rings around the hotspot areas against the rest beyond them (displacement);
* :func:`scheme_linkage` — referrals linked to the hotspot areas and task sites, checked
  against the study area and the incidents' months, with the towns that name hotspot areas;
* :func:`emerging_stage` — emerging hot spots over every month of the data, on the hotspot
  stage's grid and distance band (:mod:`hotspots.emerging_summary`);
* :func:`assemble_analysis` — the stages as the :class:`~hotspots.analysis.Analysis` that
  :func:`analyse` returns (tested to be equal).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj

from ._errors import ParameterError
from .analysis import Analysis, HotspotStage
from .analysis_memory import check_analysis_memory
from .areas import broad_areas_note, hotspot_areas, one_point_areas_note, small_areas_note
from .cell_selection import with_hotspot_cells
from .change import ChangeResult, IncidentPoints, change_areas, change_cells
from .change_summary import ChangeSummary, summarise_change, with_selection
from .clustering import clusters
from .coverage import month_spans
from .density import kde
from .displacement_rings import Displacement, displacement_change, ring_areas
from .emerging_summary import emerging_trends
from .footprint import grid_within_reach
from .gistar import gi_star
from .grid import BNG, Grid, count, points_xy
from .incident_time import incident_months
from .periods import Period, filter_period, month_options, month_range, parse_period
from .preparation import (
    PERIODS_NOT_CHOSEN,
    CategoryChoice,
    CellSizeChoice,
    PreparedInputs,
    check_given_periods,
    choose_category,
    choose_cell_size,
    choose_missing_months,
    choose_periods,
    choose_scheme_start,
    prepare_inputs,
)
from .scale_notes import scale_notes
from .settings import (
    CHANGE_SETTINGS,
    CLUSTER_SETTINGS,
    DISPLACEMENT_SETTINGS,
    HOTSPOT_SETTINGS,
    LINKAGE_SETTINGS,
    Settings,
)
from .study_area import (
    AUTO_AREA_SHARE,
    HOLE_FILL_DENSITY_SHARE,
    StudyAreaChoice,
    automatic_study_area,
    choose_study_area,
    fill_holes,
)

__all__ = [
    "Settings",
    "Progress",
    "HOTSPOT_SETTINGS",
    "CHANGE_SETTINGS",
    "DISPLACEMENT_SETTINGS",
    "CLUSTER_SETTINGS",
    "LINKAGE_SETTINGS",
    "AUTO_AREA_SHARE",
    "HOLE_FILL_DENSITY_SHARE",
    "PERIODS_NOT_CHOSEN",
    "CHANGE_NOT_COMPUTED",
    "change_missing_reason",
    "CategoryChoice",
    "StudyAreaChoice",
    "CellSizeChoice",
    "PreparedInputs",
    "choose_category",
    "choose_study_area",
    "automatic_study_area",
    "fill_holes",
    "choose_scheme_start",
    "choose_periods",
    "check_given_periods",
    "choose_missing_months",
    "choose_cell_size",
    "prepare_inputs",
    "hotspot_stage",
    "point_clusters",
    "area_change",
    "cell_change",
    "pooled_change",
    "ring_change",
    "emerging_stage",
    "scheme_linkage",
    "assemble_analysis",
    "analyse",
    "stage_cell_size",
    "no_change_message",
]

#: How the note begins when the before/after change could not be computed (the reason follows).
CHANGE_NOT_COMPUTED = "before/after change not computed"



def change_missing_reason(notes: Sequence[str]) -> str | None:
    """Why an analysis has no before/after change, from its ``notes`` (None when they do not say).

    The one rule every command and the app use to name the cause: the note that no periods could
    be chosen from the data (e.g. a single month), whole, else the reason after
    :data:`CHANGE_NOT_COMPUTED` (e.g. that ``same_months`` leaves no shared calendar month).

    Parameters
    ----------
    notes : sequence of str
        :attr:`hotspots.analysis.Analysis.notes`.

    Returns
    -------
    str or None
    """
    unable = next((n for n in notes if n.startswith(PERIODS_NOT_CHOSEN)), None)
    if unable:
        return unable
    why = (n.removeprefix(CHANGE_NOT_COMPUTED).lstrip(": ") for n in notes if n.startswith(CHANGE_NOT_COMPUTED))
    return next(why, None) or None


def no_change_message(notes: Sequence[str], incidents: Any, *, periods_fix: str, without: str) -> str:
    """Why a before/after map cannot be drawn: the data hold one month (no pair of periods exists),
    else the analysis's note beginning :data:`CHANGE_NOT_COMPUTED`; then the fixes (``periods_fix``,
    giving the periods, only when that can help; ``without``, drawing the map without the change).

    Examples
    --------
    >>> import pandas as pd
    >>> one = pd.DataFrame({"month": pd.to_datetime(["2025-03-01"] * 2)})
    >>> no_change_message([], one, periods_fix="give the periods", without="add `--no-change`")[:88]
    'no before/after change: the data hold one month (2025-03), and a before/after comparison'
    """
    from .incident_time import incident_months

    months = incident_months(incidents) if incidents is not None else None
    held = np.unique(months[months >= 0]) if months is not None else np.array([])
    if len(held) == 1:
        m = int(held[0])
        return (f"no before/after change: the data hold one month ({m // 12:04d}-{m % 12 + 1:02d}), and a before/after "
                f"comparison needs at least two. Load more months, or {without}.")
    why = next((n for n in notes if n.startswith(CHANGE_NOT_COMPUTED)), "no before/after change").rstrip(". ")
    return f"{why}. {periods_fix}, or {without}."


#: Called with (step description, fraction done in 0..1) while :func:`analyse` runs.
Progress = Callable[[str, float], None]

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
        Its ``incidents`` are those analysed: the period's incidents in the study area's cells
        (:meth:`hotspots.grid.Grid.in_area`); the others are counted (``counts.params``) and kept as
        ``smoothed`` (they smooth into the density's border).
    """
    s = settings
    notes: list[str] = []

    def step(text: str, frac: float) -> None:
        if progress is not None:
            progress(text, frac)

    window, chosen, crs, xy = _period_points(incidents, s)
    if window is not None:
        notes.append(f"hotspots computed from {len(chosen):,} incidents in the analysis period, {window.describe(label=False)}")
    step("building the grid", 0.0)
    size = choose_cell_size(xy, study_area, s.cell_size, crs=crs)
    grid = Grid.for_points(xy, cell_size=size.cell_size, crs=crs, mask=study_area)
    # before any heavy work: the whole analysis (this stage, the change panels, the emerging cube,
    # the exports) must fit in memory; refused with the smallest cell size that does
    memory = check_analysis_memory(grid.n_rows, grid.n_cols, grid.cell_size, data_months(incidents))
    if memory.note():
        notes.append(memory.note())
    if size.note:
        notes.append(size.note)
        grid = dataclasses.replace(grid, notes=grid.notes + (size.note,))
    # A footprint's empty margin takes no part: beyond the reach of every incident loaded, not only
    # the hotspot period's, so that the study area (and the change's "elsewhere") does not shrink
    # with a shorter hotspot period.
    every_xy = xy if window is None else points_xy(incidents, pyproj.CRS(crs), name="points")
    grid = grid_within_reach(grid, every_xy, study_area)
    notes += [n for n in grid.notes if n not in notes]
    if study_area is None:
        notes.append(
            f"no study area: the grid covers the incidents' whole extent ({grid.n_rows * grid.n_cols:,} cells, "
            f"{grid.n_rows * grid.n_cols * grid.cell_size**2 / 1e6:,.0f} km²) and its empty cells count as observed zeros, "
            "so one stray incident far away widens it; `prepare_inputs` chooses a study area as the command line and the "
            "app do (a boundary, or the footprint of the incidents)"
        )
    step("counting incidents per cell", 0.1)
    counts = count(xy, grid)
    outside = counts.params.get("points_off_grid", 0) + counts.params.get("points_outside_area", 0)
    if outside:
        notes.append(
            f"{outside:,} {'incident falls in a cell' if outside == 1 else 'incidents fall in cells'} whose centre lies outside "
            f"the study area (or off the grid) and {'is' if outside == 1 else 'are'} not counted in cells"
        )
    # the incidents analysed: those in the study area's cells (the cells' counts); the others only smooth
    # into the border of the density, and neither cluster, name places nor fit the automatic bandwidth
    inside = grid.in_area(xy)
    analysed = chosen if inside.all() else chosen.iloc[np.flatnonzero(inside)]
    step("kernel density", 0.2)
    density = kde(xy, grid, bandwidth=s.bandwidth, kernel=s.kernel, bandwidth_rule=s.bandwidth_rule)
    notes += [n for n in density.notes if n not in notes]
    step("Getis-Ord Gi*", 0.5)
    gi = gi_star(counts, s.distance, permutations=s.permutations, fdr=s.fdr, alpha=s.alpha, seed=s.seed)
    notes += [n for n in gi.notes if n not in notes]
    step("hotspot areas", 0.9)
    areas = hotspot_areas(gi, min_confidence=s.min_confidence)
    locations = chosen["location"].to_numpy() if "location" in getattr(chosen, "columns", ()) else None
    notes += [n for n in (small_areas_note(areas), one_point_areas_note(areas, xy, locations), broad_areas_note(areas)) if n]
    a = areas.areas
    notes += scale_notes(  # cells too coarse, a bandwidth over the area, an automatic band many cells wide
        grid.active, grid.cell_size, density.params.get("bandwidth_m"), gi.params.get("distance_m"), s.distance is None,
        a["n_cells"].to_numpy() if "n_cells" in a.columns else (),
        float(a["share_of_incidents"].sum()) if "share_of_incidents" in a.columns and areas.params.get("kind") == "hot" else 0.0,
        bandwidth_automatic=s.bandwidth is None, cell_size_automatic=s.cell_size is None, sparse=bool(gi.params.get("sparse")))
    step("done", 1.0)
    return HotspotStage(s, analysed, grid, counts, density, gi, areas, tuple(notes), None if analysed is chosen else chosen)


def _period_points(incidents: gpd.GeoDataFrame, s: Settings) -> tuple[Any, Any, Any, Any]:
    """The hotspot period's window, its incidents, their CRS and coordinates (read once and passed
    on as an array: the same numbers the grid, counts and KDE would each read from the geometries)."""
    if incidents is None or len(incidents) == 0:
        raise ParameterError("there are no incidents to analyse; check the input files and the filters (load report).")
    window = parse_period(s.period, "analysis period") if s.period else None
    chosen = filter_period(incidents, window)
    if len(chosen) == 0:
        from .validation import shown

        m = incident_months(incidents)  # the months that hold data (a month without a file is not one of them)
        held = f"the data hold {month_spans(np.unique(m[m >= 0]).tolist())}; " if m is not None and (m >= 0).any() else ""
        raise ParameterError(f"no incidents fall in the {window.describe()}; {held}widen {shown('period')}.")
    crs = getattr(chosen, "crs", None) or BNG
    return window, chosen, crs, points_xy(chosen, pyproj.CRS(crs), name="points")


def stage_cell_size(incidents: gpd.GeoDataFrame, settings: Settings, study_area: gpd.GeoDataFrame | None = None) -> float:
    """The cell size :func:`hotspot_stage` uses for these settings (given, or chosen automatically),
    without computing the stage: only ``period`` and ``cell_size`` are read."""
    _, _, crs, xy = _period_points(incidents, settings)
    return choose_cell_size(xy, study_area, settings.cell_size, crs=crs).cell_size


def data_months(incidents: gpd.GeoDataFrame) -> int:
    """Months from the incidents' first to their last (1 when none has a date): the length of the
    change panels and the emerging hot spots cube."""
    try:
        return len(month_options(*month_range(incidents)))
    except ParameterError:
        return 1


def selection_period(stage: HotspotStage) -> Period | None:
    """The months the stage's hotspots were chosen from: the settings' ``period``, else the
    months of its incidents (None when neither can be read)."""
    s = stage.settings
    try:
        return parse_period(s.period, "analysis period") if s.period else Period.from_months(*month_range(stage.incidents))
    except (ParameterError, KeyError, ValueError):
        return None


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
                tau2_fallback=None if cells is None else cells.dispersion, selected_on=selection_period(stage),
                missing_months=s.missing_months,
            ),
            None,
        )
    except ParameterError as exc:
        return None, f"{CHANGE_NOT_COMPUTED}: {exc}"


def cell_change(
    incidents: gpd.GeoDataFrame | IncidentPoints, grid: Grid, settings: Settings, stage: HotspotStage | None = None
) -> tuple[ChangeResult | None, str | None]:
    """Before/after change per grid cell (None and the reason when it cannot be computed).

    ``incidents`` as in :func:`area_change`. ``stage`` (on ``grid``): its hotspot areas' cells carry the
    regression-to-the-mean caveat the areas carry, in a ``change_note`` column
    (:func:`hotspots.cell_selection.with_hotspot_cells`, the months of :func:`selection_period`).
    """
    s = settings
    try:
        before, after = s.change_periods()
        cells = change_cells(
            incidents, grid, before, after, alpha=s.alpha, fdr=s.fdr, same_months=s.same_months, missing_months=s.missing_months
        )
        if stage is not None:
            cells = with_hotspot_cells(cells, stage.areas.labels, selection_period(stage))
        return cells, None
    except ParameterError as exc:
        return None, f"{CHANGE_NOT_COMPUTED}: {exc}"


def pooled_change(
    stage: HotspotStage, cells: ChangeResult | None, areas: ChangeResult | None
) -> tuple[ChangeSummary | None, str | None]:
    """The pooled change (:func:`hotspots.change_summary.summarise_change`): all hotspot areas,
    elsewhere, and the two compared, at the settings' ``alpha``.

    ``cells`` and ``areas`` from :func:`cell_change` and :func:`area_change` (pass it the
    ``cells``). Returns None and the reason when either is missing or was not computed with the
    overdispersed test; with no hotspot areas, None and no note. The months the hotspots were
    chosen from (``period``, else the data's months) are checked for regression to the mean
    (:func:`hotspots.change_summary.with_selection`: a change the choice predicts says so in its verdict).
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
    return with_selection(out, selection_period(stage)), None


def ring_change(
    incidents: gpd.GeoDataFrame | IncidentPoints,
    stage: HotspotStage,
    settings: Settings,
    cells: ChangeResult | None,
    areas: ChangeResult | None,
) -> tuple[Displacement | None, str | None]:
    """Did harm move next door: the rings around the hotspot areas against the rest beyond them
    (:func:`hotspots.displacement_rings.displacement_change`), rings ``settings.ring_m`` wide.

    ``incidents`` as in :func:`area_change`; ``cells`` and ``areas`` from :func:`cell_change` and
    :func:`area_change`. None and no note without them, without hotspot areas or with ``ring_m``
    0; None and the reason when the rings' change cannot be computed.
    """
    s = settings
    if cells is None or areas is None or stage.areas.n_areas == 0 or not s.ring_m:
        return None, None
    try:
        rings = ring_areas(stage.areas, s.ring_m)
        if rings.n_areas == 0:
            return None, "displacement not computed: the hotspot areas have no cells around them in the study area"
        before, after = s.change_periods()
        changed = change_areas(
            incidents, rings, before, after, id_column="area_id", alpha=s.alpha, fdr=False, same_months=s.same_months,
            tau2_fallback=cells.dispersion, selected_on=selection_period(stage), missing_months=s.missing_months,
        )
        # displacement and diffusion of benefit need something done in the hotspots: a scheme start
        return displacement_change(cells, areas, stage.areas.labels, rings, changed, alpha=s.alpha,
                                   intervention=s.scheme_start is not None), None
    except ParameterError as exc:
        return None, f"displacement not computed: {exc}"


def emerging_stage(incidents: gpd.GeoDataFrame, stage: HotspotStage, settings: Settings) -> tuple[Any, str | None]:
    """Emerging hot spots over every month of ``incidents`` on the stage's grid and Gi* distance
    band, at the settings' alpha, FDR and seed (:func:`hotspots.emerging_summary.emerging_trends`):
    the result, or None and the reason (fewer than 10 months of data)."""
    s = settings
    distance = float(stage.gi.params["distance_m"])
    return emerging_trends(incidents, stage.grid, distance, alpha=s.alpha, fdr=s.fdr, seed=s.seed, keep_months=s.keep_months)


def scheme_linkage(
    referrals: gpd.GeoDataFrame,
    tasks: gpd.GeoDataFrame | None,
    stage: HotspotStage,
    settings: Settings,
    study_area: gpd.GeoDataFrame | None = None,
    incidents: gpd.GeoDataFrame | None = None,
) -> Any:
    """Referrals linked to the stage's hotspot areas and task sites: the CLI's and the app's one call.

    The study area (without one, the grid's extent) decides which referral and task-site points
    are usable (:func:`hotspots.linkage.link_referrals` counts and reports the others), the
    incidents' months which referral dates to warn about, and the towns are those that name the
    hotspot areas (:func:`hotspots.places.label_towns` of the study area and the analysed
    incidents), so that no force is described with another's towns.

    Parameters
    ----------
    referrals, tasks : GeoDataFrame
        Scheme data in the analysis CRS (``tasks`` may be None).
    stage : HotspotStage
    settings : Settings
        ``near_m``, ``threshold``, ``unsafe_threshold``.
    study_area : GeoDataFrame, optional
    incidents : GeoDataFrame, optional
        Every incident loaded (their months); default the stage's.

    Returns
    -------
    LinkageResult
    """
    import shapely

    from .linkage import link_referrals

    months = None
    try:
        months = month_range(incidents if incidents is not None else stage.incidents)
    except (ParameterError, KeyError):
        months = None
    area: Any = study_area
    if area is None or len(area) == 0:
        area = gpd.GeoDataFrame(geometry=[shapely.box(*stage.grid.bounds)], crs=stage.grid.crs)
    return link_referrals(referrals, areas=stage.areas.areas, tasks=tasks, study_area=area, incidents=stage.incidents,
                          months=months, near_m=settings.near_m, threshold=settings.threshold,
                          unsafe=settings.unsafe_threshold)


def point_clusters(incidents: gpd.GeoDataFrame, settings: Settings) -> Any:
    """The point clusters of an analysis (:func:`hotspots.clustering.clusters` with the :data:`CLUSTER_SETTINGS`), or
    None when ``settings.cluster_method`` is ``"none"``: the clusters the app shows are the ones its exports hold.

    Parameters
    ----------
    incidents : GeoDataFrame
        The incidents analysed (EPSG:27700 metres): a :class:`~hotspots.analysis.HotspotStage`'s ``incidents``,
        those of the hotspot period in the study area's cells, so that no cluster lies outside the study area.
    settings : Settings
        ``cluster_method``, ``eps`` (metres), ``min_samples`` and ``seed`` are read.
    """
    if settings.cluster_method == "none":
        return None
    return clusters(incidents, settings.cluster_method, eps=settings.eps, min_samples=settings.min_samples, seed=settings.seed)


def assemble_analysis(
    stage: HotspotStage,
    *,
    clusters: Any = None,
    change_cells: ChangeResult | None = None,
    change_areas: ChangeResult | None = None,
    change_note: str | None = None,
    change_summary: ChangeSummary | None = None,
    displacement: Displacement | None = None,
    displacement_note: str | None = None,
    emerging: Any = None,
    emerging_note: str | None = None,
    linkage: Any = None,
    kpis: Any = None,
    referrals: gpd.GeoDataFrame | None = None,
    tasks: gpd.GeoDataFrame | None = None,
    study_area: gpd.GeoDataFrame | None = None,
    notes: Sequence[str] = (),
    all_incidents: gpd.GeoDataFrame | None = None,
) -> Analysis:
    """The stages as one :class:`~hotspots.analysis.Analysis` (what :func:`analyse` returns).

    ``all_incidents``: every incident given, before the ``period`` filter (what the change and
    the emerging hot spots counted; :attr:`~hotspots.analysis.Analysis.all_incidents`).

    ``notes`` come first (e.g. the input preparation's), then the stage's, then ``change_note``
    and ``displacement_note`` (from :func:`ring_change`, with ``displacement``).
    Without ``change_summary``, :func:`pooled_change` computes it from ``change_cells`` and
    ``change_areas`` (cheap: sums over their tables); its note, if any, comes last.
    """
    before, after = stage.settings.change_periods()
    pooled_note = None
    if change_summary is None:
        change_summary, pooled_note = pooled_change(stage, change_cells, change_areas)
    out = list(notes)
    for n in list(stage.notes) + [n for n in (change_note, pooled_note, displacement_note, emerging_note) if n]:
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
        displacement=displacement,
        emerging=emerging,
        linkage=linkage,
        kpis=kpis,
        referrals=referrals,
        tasks=tasks,
        study_area=study_area,
        notes=tuple(out),
        smoothed=stage.smoothed,
        all_incidents=all_incidents,
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

    unchosen = False
    if incidents is not None and len(incidents):
        s, period_note = choose_periods(incidents, s)
        if period_note:
            notes.append(period_note)
        unchosen = period_note.startswith(PERIODS_NOT_CHOSEN)
    # The hotspot steps take the first 60 % of the progress bar.
    stage = hotspot_stage(
        incidents, s, study_area, progress=None if progress is None else (lambda t, f: step(t, 0.6 * f) if f < 1.0 else None)
    )

    if s.cluster_method != "none":
        step("point clusters", 0.6)
    found_clusters = point_clusters(stage.incidents, s)

    step("before/after change", 0.7)
    # periods the data cannot give (a single month) are said once, by choose_periods' note; the
    # default periods around `scheme_start` would only add a second note about months not loaded
    cells_change, note = (None, None) if unchosen else cell_change(incidents, stage.grid, s, stage)
    areas_change = displaced = displaced_note = None
    if cells_change is not None:
        areas_change, note = area_change(incidents, stage, s, cells_change)
        displaced, displaced_note = ring_change(incidents, stage, s, cells_change, areas_change)

    step("emerging hot spots", 0.8)
    emerging, emerging_note = emerging_stage(incidents, stage, s)

    linkage = kpis = None
    if referrals is not None and len(referrals):
        step("linking referrals", 0.85)
        from .kpis import scheme_kpis

        linkage = scheme_linkage(referrals, tasks, stage, s, study_area, incidents)
        kpis = scheme_kpis(referrals, threshold=s.threshold, unsafe=s.unsafe_threshold, as_of=s.as_of)
    step("done", 1.0)
    return assemble_analysis(
        stage,
        clusters=found_clusters,
        change_cells=cells_change,
        change_areas=areas_change,
        change_note=note,
        displacement=displaced,
        displacement_note=displaced_note,
        emerging=emerging,
        emerging_note=emerging_note,
        linkage=linkage,
        kpis=kpis,
        referrals=referrals,
        tasks=tasks,
        study_area=study_area,
        notes=notes,
        all_incidents=incidents,
    )
