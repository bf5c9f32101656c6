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
  filled when the data cover them, announcing how many incidents that brings in;
  ``keep_holes=True`` keeps them); without one, :func:`automatic_study_area` (the rule lives in
  :mod:`hotspots.study_area`, re-exported here);
* :func:`choose_scheme_start` — the scheme start: given, the demo's own, or the first referral's
  day; never another force's date;
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
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from ._errors import HotspotsError, ParameterError
from .analysis import Analysis, HotspotStage
from .areas import hotspot_areas, one_point_areas_note, small_areas_note
from .change import ChangeResult, IncidentPoints, change_areas, change_cells
from .change_summary import ChangeSummary, selection_overlap_note, summarise_change
from .clustering import clusters
from .coverage import (
    MIN_CATEGORIES_UNRELIABLE,
    category_gaps,
    month_coverage,
    month_label,
    months_between,
    unreliable_months_note,
)
from .density import kde
from .footprint import grid_within_reach
from .gistar import gi_star
from .grid import BNG, Grid, auto_cell_size, count, incident_extent, points_xy
from .incident_time import incident_dates, month_numbers
from .periods import Period, PeriodChoice, default_periods, filter_period, month_range, parse_period, periods_around
from .schema import ASB_CATEGORY, SCHEME_START
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
    "CLUSTER_SETTINGS",
    "LINKAGE_SETTINGS",
    "AUTO_AREA_SHARE",
    "HOLE_FILL_DENSITY_SHARE",
    "PERIODS_NOT_CHOSEN",
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
CHANGE_SETTINGS = ("before", "after", "scheme_start", "alpha", "fdr", "same_months", "missing_months")
#: point clusters (:func:`hotspots.clustering.clusters` on the analysis period's incidents):
CLUSTER_SETTINGS = ("period", "cluster_method", "eps", "min_samples", "seed")
#: referral linkage (:func:`hotspots.linkage.link_referrals`) and the scheme's protected
#: figures, besides the hotspot stage's:
LINKAGE_SETTINGS = ("near_m", "threshold", "unsafe_threshold")


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
    scheme_start : str or None
        When the force's scheme started (``"YYYY-MM-DD"``). None (the default): not known, and the
        periods come from the data's months alone (:func:`choose_periods`), except on the
        synthetic demo data, which take their own scheme start
        (:data:`hotspots.schema.SCHEME_START`). No force's date is assumed for another's data.
    same_months : bool
        Compare only the calendar months both change periods contain (seasonality).
    missing_months : tuple of "YYYY-MM" or None
        Months the data do not cover (a monthly file not loaded or not published, or published in
        part), left out of the change periods. None = found in the analysed incidents by the change
        tests; :func:`prepare_inputs` fills it from every category loaded and the analysed one
        (:mod:`hotspots.coverage`).
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
    scheme_start: str | None = None
    same_months: bool = False
    missing_months: tuple[str, ...] | None = None
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
        at the data; :func:`choose_periods` fills them from the data), or of the demo's scheme
        start when none is known (a placeholder for data that cannot give periods, whose change is
        then not computed).
        """
        default_before, default_after = periods_around(self.scheme_start or SCHEME_START)
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
        categories, matched as the loaders match them (case, spaces and punctuation ignored,
        ``"asb"`` for anti-social behaviour: :func:`hotspots.io._pipeline.category_key`).

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
        from .io._pipeline import category_key  # the loaders' matching: case and punctuation ignored, "asb"

        names = incidents["category"].astype("string").fillna("")
        keys = {u: category_key(u) for u in names.unique()}
        keep = names.map(keys).isin({category_key(c) for c in wanted}).to_numpy(dtype=bool)
        if not keep.any():
            found = sorted(incidents["category"].dropna().astype(str).unique())[:10]
            raise ParameterError(f"no incidents have the category {', '.join(map(repr, wanted))}; the data hold {found}.")
        matched = sorted(names[keep].unique())
        note = (
            ""
            if keep.all()
            else f"kept the {int(keep.sum()):,} incidents of {len(incidents):,} in {', '.join(map(repr, matched))}"
        )
        return CategoryChoice(incidents.loc[keep] if not keep.all() else incidents, tuple(matched), note)
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
    counts = present.value_counts()
    if not asb.any() and len(counts) > 1:
        # police.uk files without ASB (British Transport Police's): say that every crime is analysed
        top = ", ".join(f"{name} {n:,}" for name, n in counts.head(3).items())
        return CategoryChoice(incidents, None, (
            f"the data hold no '{ASB_CATEGORY}' incidents: all {len(incidents):,} incidents of their {len(counts)} categories "
            f"are analysed together (most: {top}); choose the categories to analyse fewer"
        ))
    return CategoryChoice(incidents, None)


#: How :func:`choose_periods`' note begins when the data cannot give before/after periods.
PERIODS_NOT_CHOSEN = "before/after periods: not chosen from the data"


def choose_scheme_start(
    incidents: gpd.GeoDataFrame, settings: Settings, referrals: gpd.GeoDataFrame | None = None
) -> tuple[Settings, str]:
    """``settings`` with the scheme start filled in when the data show it.

    A given ``scheme_start`` is kept (no note). Otherwise: the synthetic demo data's own
    (:data:`hotspots.schema.SCHEME_START`, no note); with ``referrals``, the day of the first
    referral (a scheme's referrals begin when it does; announced, since an extract that starts
    later would move it); else None, and no force's date is assumed (:func:`choose_periods`
    then compares the data's own halves or latest two years).

    Returns
    -------
    settings : Settings
    note : str
        Empty unless the scheme start came from the referrals.
    """
    from .places import is_demo_data

    if settings.scheme_start is not None:
        return settings, ""
    if is_demo_data(incidents):
        return settings.replace(scheme_start=SCHEME_START), ""
    if referrals is None or "referred_at" not in referrals.columns:
        return settings, ""
    when = pd.to_datetime(referrals["referred_at"], errors="coerce")
    if when.notna().sum() == 0:
        return settings, ""
    first = when.min().date().isoformat()
    return settings.replace(scheme_start=first), (
        f"scheme start: {first}, the first of the {int(when.notna().sum()):,} referrals' dates (a scheme's referrals begin "
        "when it does; give `--scheme-start` if these referrals are a later extract)"
    )


def choose_periods(incidents: gpd.GeoDataFrame, settings: Settings) -> tuple[Settings, str]:
    """``settings`` with the default before/after periods filled in from the data's months.

    Given periods are kept as they are (no note). Without both, :func:`hotspots.periods.default_periods`
    chooses them from the data's months and ``settings.scheme_start`` (:func:`choose_scheme_start`
    without referrals: the demo data's own when none is given and the data are the demo's; no
    other data assume a date). When the data cannot give periods (no dates, a single month) the
    settings come back unchanged with the reason.

    Returns
    -------
    settings : Settings
    note : str
        Empty when nothing was chosen.
    """
    settings, _ = choose_scheme_start(incidents, settings)
    if settings.before is not None and settings.after is not None:
        return settings, ""
    try:
        first, last = month_range(incidents)
        choice: PeriodChoice = default_periods(first, last, settings.scheme_start)
    except (ParameterError, KeyError) as exc:
        return settings, f"{PERIODS_NOT_CHOSEN} ({exc})"
    return settings.replace(before=choice.before, after=choice.after), choice.note


def choose_missing_months(
    incidents: gpd.GeoDataFrame, settings: Settings, analysed: gpd.GeoDataFrame | None = None
) -> tuple[Settings, str]:
    """``settings`` with ``missing_months`` filled in: the months the loaded data do not cover.

    Found by :func:`hotspots.coverage.month_coverage` in ``incidents`` as loaded (every category:
    thousands a month, so an empty month is a missing file, not a quiet month) and in the
    ``analysed`` category's own (a month a force published other crimes but none of it, or only part
    of it, as Hampshire's August 2025 ASB), over the data's months and the change periods'; and a
    month that :data:`~hotspots.coverage.MIN_CATEGORIES_UNRELIABLE` or more of the loaded categories
    lack or hold in part (:func:`hotspots.coverage.category_gaps`), whichever category is analysed:
    that month's file is not to be trusted (Hampshire's August 2025 holds ten categories at a
    fraction of their typical month while its violence doubled). Given ``missing_months`` are kept;
    without dates the settings come back unchanged.

    Returns
    -------
    settings : Settings
    note : str
        Empty when no month is missing.
    """
    if settings.missing_months is not None:
        return settings, ""
    try:
        before, after = settings.change_periods()
        months_of = [month_numbers(incident_dates(x)[0]) for x in (incidents, analysed) if x is not None]
    except (HotspotsError, KeyError):
        return settings, ""
    # the periods' months too when they were given or chosen from the data (not the fallback
    # around the scheme start, which may lie years away from data that cannot give periods)
    given = settings.before and settings.after
    span = months_between(min(before.start, after.start), max(before.end, after.end)) if given else ()
    found = [month_coverage(m, span) for m in months_of]
    every = set(found[0].gone)
    own = sorted(set(found[-1].gone) - every) if len(found) > 1 else []
    # a month several categories lack or hold in part: its file's categories are not to be trusted,
    # whichever is analysed (Hampshire's August 2025: ASB at a quarter, violence doubled)
    has_category = "category" in incidents.columns
    gaps = category_gaps(months_of[0], incidents["category"].to_numpy(), found[0]) if has_category else {}
    scrambled = [m for m, c in gaps.items() if len(c) >= MIN_CATEGORIES_UNRELIABLE and m not in every]
    # the whole data's typical month counts every category loaded: say so when that is not the analysed one
    several = analysed is not None and has_category and incidents["category"].nunique() > 1
    notes = [
        found[0].note(" across the categories loaded" if several else ""),
        found[-1].note(" in the analysed category", only=own) if own else "",
        unreliable_months_note(gaps, [m for m in scrambled if m not in own]),
    ]
    gone = sorted(every | set(own) | set(scrambled))
    return settings.replace(missing_months=tuple(month_label(m) for m in gone)), "; ".join(n for n in notes if n)


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
    s, start_note = choose_scheme_start(inc, s, referrals)
    s, period_note = choose_periods(inc, s)
    s, missing_note = choose_missing_months(incidents, s, inc)
    try:
        months: tuple[str, str] | None = month_range(inc)
    except (ParameterError, KeyError):
        months = None
    notes = tuple(
        n for n in (
            found.describe() if found is not None else "", crs.note, cat.note, area.note, start_note, period_note, missing_note
        ) if n
    )
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
    locations = chosen["location"].to_numpy() if "location" in getattr(chosen, "columns", ()) else None
    notes += [n for n in (small_areas_note(areas), one_point_areas_note(areas, xy, locations)) if n]
    step("done", 1.0)
    return HotspotStage(s, chosen, grid, counts, density, gi, areas, tuple(notes))


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
        cells = change_cells(
            incidents, grid, before, after, alpha=s.alpha, fdr=s.fdr, same_months=s.same_months, missing_months=s.missing_months
        )
        return cells, None
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
    note, favours_fall = selection_overlap_note(selection_period(stage), cells.before, cells.after)
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

    found_clusters = None
    if s.cluster_method != "none":
        step("point clusters", 0.6)
        found_clusters = clusters(stage.incidents, s.cluster_method, eps=s.eps, min_samples=s.min_samples, seed=s.seed)

    step("before/after change", 0.7)
    # periods the data cannot give (a single month) are said once, by choose_periods' note; the
    # default periods around `scheme_start` would only add a second note about months not loaded
    cells_change, note = (None, None) if unchosen else cell_change(incidents, stage.grid, s)
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
