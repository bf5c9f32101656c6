"""One call from loaded data to every result: grid, counts, density, Gi*, hotspot areas,
clusters, before/after change, and the scheme's linkage and KPIs.

The CLI (``hotspots analyse``), the exports and the app all use :func:`analyse`, so that the same
settings give the same numbers everywhere. Each step is an ordinary library call
(:func:`hotspots.count`, :func:`hotspots.density`, ...); this module only orders them, passes the
settings through, and collects the automatic choices made on the way (:attr:`Analysis.notes`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pyproj

from ._errors import ParameterError
from .areas import HotspotAreas, hotspot_areas
from .change import ChangeResult, Period, change_areas, change_cells, incident_dates, periods_around
from .clustering import ClusterResult, clusters
from .gistar import GiStarResult, gi_star
from .grid import BNG, Grid, GridValues, count, points_xy
from .density import KDEResult, kde
from .schema import SCHEME_START

__all__ = ["Settings", "Analysis", "HotspotStage", "analyse", "hotspot_stage", "filter_period", "parse_period"]

#: Called with (step description, fraction done in 0..1) while :func:`analyse` runs.
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Settings:
    """Every tuning knob of an analysis, with its default. Hashable (used as a cache key).

    Attributes
    ----------
    cell_size : float or None
        Grid cell side in metres; None = automatic (sfhotspot's rule, announced in the notes).
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
        Benjamini–Hochberg false discovery rate control.
    permutations : int
        Gi* conditional permutations (0 = analytic normal p-values).
    seed : int
        Seed for every random step.
    min_confidence : float
        Lowest Gi* confidence that makes a cell part of a hotspot area (0.90, 0.95 or 0.99).
    cluster_method : {"dbscan", "hdbscan", "none"}
    eps : float
        DBSCAN neighbourhood radius, metres.
    min_samples : int
        DBSCAN/HDBSCAN core size.
    period : tuple of two "YYYY-MM" or None
        Months (inclusive) whose incidents define the hotspots; None = all.
    before, after : tuple of two "YYYY-MM" or None
        Change periods (inclusive months); None = 12 months either side of ``scheme_start``.
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
    min_confidence: float = 0.90
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

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def change_periods(self) -> tuple[Period, Period]:
        """The before and after periods these settings ask for."""
        default_before, default_after = periods_around(self.scheme_start, 12)
        before = parse_period(self.before, "before") if self.before else default_before
        after = parse_period(self.after, "after") if self.after else default_after
        if before.overlaps(after):
            raise ParameterError(
                f"the before period ({before.describe()}) and the after period ({after.describe()}) overlap; "
                "choose two separate ranges of months."
            )
        return before, after


def parse_period(value: Any, label: str = "") -> Period:
    """A :class:`~hotspots.change.Period` from ``("2022-07", "2023-06")``, ``"2022-07:2023-06"`` or a Period."""
    if isinstance(value, Period):
        return value
    if isinstance(value, str):
        parts = value.split(":")
        if len(parts) != 2:
            raise ParameterError(f"a period must look like 2022-07:2023-06 (first and last month); got {value!r}.")
        value = tuple(parts)
    try:
        first, last = value
    except (TypeError, ValueError):
        raise ParameterError(f"a period must be two months (first, last); got {value!r}.") from None
    return Period.from_months(first, last, label)


def filter_period(incidents: gpd.GeoDataFrame, period: Period | None) -> gpd.GeoDataFrame:
    """Incidents whose date (``occurred``, else ``month``) falls in ``period`` (all when None)."""
    if period is None:
        return incidents
    dates, _ = incident_dates(incidents)
    start, end = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    keep = (dates >= start) & (dates <= end)
    return incidents.loc[keep]


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything :func:`analyse` computed, with the settings that produced it.

    Attributes
    ----------
    settings : Settings
    incidents : GeoDataFrame
        The incidents the hotspots were computed from (after the ``period`` filter).
    grid : Grid
    counts : GridValues
        Incidents per cell.
    density : KDEResult
        Kernel density, incidents per km².
    gi : GiStarResult
    areas : HotspotAreas
        Significant hot cells merged into numbered hotspot areas.
    clusters : ClusterResult or None
    before, after : Period
    change_cells, change_areas : ChangeResult or None
        Before/after change per cell and per hotspot area (None when a period holds no data).
    linkage : object or None
        Referrals linked to hotspots and reparative tasks (:mod:`hotspots.linkage`).
    kpis : object or None
        Scheme KPIs (:class:`hotspots.kpis.KPITable`).
    referrals, tasks, study_area : GeoDataFrame or None
        The inputs, as given.
    notes : tuple of str
        Automatic choices and things to know, in the order they were made.
    """

    settings: Settings
    incidents: gpd.GeoDataFrame
    grid: Grid
    counts: GridValues
    density: KDEResult
    gi: GiStarResult
    areas: HotspotAreas
    clusters: ClusterResult | None
    before: Period
    after: Period
    change_cells: ChangeResult | None
    change_areas: ChangeResult | None
    linkage: Any = None
    kpis: Any = None
    referrals: gpd.GeoDataFrame | None = None
    tasks: gpd.GeoDataFrame | None = None
    study_area: gpd.GeoDataFrame | None = None
    notes: tuple[str, ...] = field(default=())

    def parameters(self) -> dict[str, Any]:
        """The settings plus every automatic value actually used (for captions and sidecars)."""
        from . import __version__

        return {
            "hotspots_version": __version__,
            "settings": self.settings.to_dict(),
            "used": {
                "cell_size_m": self.grid.cell_size,
                "bandwidth_m": float(self.density.bandwidth_m),
                "kernel": self.density.kernel,
                "distance_m": float(self.gi.params.get("distance_m", np.nan)),
                "alpha": self.settings.alpha,
                "fdr": self.settings.fdr,
                "permutations": self.settings.permutations,
                "before": [self.before.start.isoformat(), self.before.end.isoformat()],
                "after": [self.after.start.isoformat(), self.after.end.isoformat()],
                "incidents": int(len(self.incidents)),
                "grid": self.grid.describe(),
            },
            "notes": list(self.notes),
        }

    def caption(self) -> str:
        """One line describing how the map was made, for figures and briefings."""
        return (
            f"{len(self.incidents):,} incidents; {self.grid.cell_size:g} m cells; KDE {self.density.kernel} "
            f"bandwidth {float(self.density.bandwidth_m):,.0f} m; Gi* distance "
            f"{float(self.gi.params.get('distance_m', np.nan)):,.0f} m, alpha {self.settings.alpha:g}"
            f"{' with FDR' if self.settings.fdr else ''}"
        )


@dataclass(frozen=True, eq=False)
class HotspotStage:
    """Grid, counts, density, Gi* and hotspot areas (the first part of :func:`analyse`)."""

    settings: Settings
    incidents: gpd.GeoDataFrame
    grid: Grid
    counts: GridValues
    density: KDEResult
    gi: GiStarResult
    areas: HotspotAreas
    notes: tuple[str, ...] = ()

    @property
    def hot_share(self) -> float:
        """Share of the counted incidents that lie in hotspot areas (0–1)."""
        vals = np.nan_to_num(np.asarray(self.counts.values, dtype=float))
        total = float(vals[self.grid.active].sum())
        return float(vals[self.areas.labels > 0].sum() / total) if total > 0 else 0.0


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
    grid = Grid.for_points(xy, cell_size=s.cell_size, crs=crs, mask=study_area)
    notes += list(grid.notes)
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
        Canonical incidents in EPSG:27700 (from :mod:`hotspots.io` or the demo generator).
    settings : Settings, optional
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

    # The hotspot steps take the first 60 % of the progress bar.
    stage = hotspot_stage(
        incidents, s, study_area, progress=None if progress is None else (lambda t, f: step(t, 0.6 * f) if f < 1.0 else None)
    )
    notes += list(stage.notes)
    chosen, grid, counts, density, gi, areas = (
        stage.incidents, stage.grid, stage.counts, stage.density, stage.gi, stage.areas
    )

    found_clusters = None
    if s.cluster_method != "none":
        step("point clusters", 0.6)
        found_clusters = clusters(chosen, s.cluster_method, eps=s.eps, min_samples=s.min_samples, seed=s.seed)

    step("before/after change", 0.7)
    before, after = s.change_periods()
    cells_change = areas_change = None
    try:
        cells_change = change_cells(incidents, grid, before, after, alpha=s.alpha, fdr=s.fdr, same_months=s.same_months)
        if areas.n_areas:
            areas_change = change_areas(
                incidents, areas.areas, before, after, id_column="area_id", alpha=s.alpha, fdr=s.fdr, same_months=s.same_months
            )
    except ParameterError as exc:
        notes.append(f"before/after change not computed: {exc}")

    linkage = kpis = None
    if referrals is not None and len(referrals):
        step("linking referrals", 0.85)
        from .kpis import scheme_kpis
        from .linkage import link_referrals

        linkage = link_referrals(referrals, areas=areas.areas, tasks=tasks, near_m=s.near_m, threshold=s.threshold,
                                 unsafe=s.unsafe_threshold)
        kpis = scheme_kpis(referrals, threshold=s.threshold, unsafe=s.unsafe_threshold)
    step("done", 1.0)
    return Analysis(
        settings=s,
        incidents=chosen,
        grid=grid,
        counts=counts,
        density=density,
        gi=gi,
        areas=areas,
        clusters=found_clusters,
        before=before,
        after=after,
        change_cells=cells_change,
        change_areas=areas_change,
        linkage=linkage,
        kpis=kpis,
        referrals=referrals,
        tasks=tasks,
        study_area=study_area,
        notes=tuple(notes),
    )
