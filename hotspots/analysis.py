"""The results of an analysis: :class:`Analysis` (everything :func:`hotspots.pipeline.analyse`
computed) and :class:`HotspotStage` (its first part: grid, counts, density, Gi*, hotspot areas).

The settings, input preparation and the analysis itself live in :mod:`hotspots.pipeline`; the
names ``Settings``, ``analyse``, ``hotspot_stage``, ``parse_period`` and ``filter_period`` can
still be imported from here (they are looked up there on first use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from .areas import HotspotAreas
from .change import ChangeResult
from .change_summary import ChangeSummary
from .clustering import ClusterResult
from .density import KDEResult
from .gistar import GiStarResult, distance_text
from .grid import Grid, GridValues
from .periods import Period

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["Analysis", "HotspotStage"]

#: Names that moved to :mod:`hotspots.pipeline` / :mod:`hotspots.periods`, importable from here.
_MOVED = {
    "Settings": "pipeline",
    "analyse": "pipeline",
    "hotspot_stage": "pipeline",
    "Progress": "pipeline",
    "parse_period": "periods",
    "filter_period": "periods",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'hotspots.analysis' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"hotspots.{module}"), name)


@dataclass(frozen=True, eq=False)
class HotspotStage:
    """Grid, counts, density, Gi* and hotspot areas (the first part of :func:`analyse`).

    Attributes
    ----------
    settings : Settings
    incidents : GeoDataFrame
        The incidents analysed: those of the hotspot period (after the ``period`` filter) in the study
        area's cells (:meth:`hotspots.grid.Grid.in_area`). The hotspots, the point clusters, the automatic
        bandwidth, the towns that name places and the count every output says are theirs.
    grid : Grid
    counts : GridValues
        Incidents per cell.
    density : KDEResult
        Kernel density, incidents per km².
    gi : GiStarResult
    areas : HotspotAreas
        Significant hot cells merged into numbered hotspot areas.
    notes : tuple of str
        Automatic choices and things to know, in the order they were made.
    smoothed : GeoDataFrame or None
        Every incident of the hotspot period, those beyond the study area's cells included: the points the
        density was smoothed from (they smooth into the border; :func:`hotspots.density.kde`). None: ``incidents``.
    """

    settings: Settings
    incidents: gpd.GeoDataFrame
    grid: Grid
    counts: GridValues
    density: KDEResult
    gi: GiStarResult
    areas: HotspotAreas
    notes: tuple[str, ...] = ()
    smoothed: gpd.GeoDataFrame | None = None

    def density_points(self) -> gpd.GeoDataFrame:
        """The incidents the density was smoothed from (:attr:`smoothed`, else :attr:`incidents`)."""
        return self.incidents if self.smoothed is None else self.smoothed

    @property
    def hot_share(self) -> float:
        """Share of the counted incidents that lie in hotspot areas (0–1; :func:`hotspots.summaries.headline`)."""
        from .summaries import headline

        return headline(self).share_in_hotspots


@dataclass(frozen=True, eq=False, kw_only=True)
class Analysis(HotspotStage):
    """Everything :func:`analyse` computed, with the settings that produced it: the
    :class:`HotspotStage` (its attributes, ``notes`` included) and what follows from it.

    Attributes
    ----------
    clusters : ClusterResult or None
    before, after : Period
    change_cells, change_areas : ChangeResult or None
        Before/after change per cell and per hotspot area (None when a period holds no data).
    change_summary : ChangeSummary or None
        The pooled change: all hotspot areas, elsewhere, and hotspots vs elsewhere
        (:mod:`hotspots.change_summary`); None without hotspot areas or change.
    displacement : Displacement or None
        The rings around the hotspot areas against the rest beyond them
        (:mod:`hotspots.displacement_rings`); None without hotspot areas or change, or with
        ``ring_m`` 0.
    emerging : EmergingResult or None
        Emerging hot spots over every month of the data on the analysis grid
        (:mod:`hotspots.emerging_summary`); None with fewer than 10 months.
    linkage : object or None
        Referrals linked to hotspots and reparative tasks (:mod:`hotspots.linkage`).
    kpis : object or None
        Scheme KPIs (:class:`hotspots.kpis.KPITable`).
    referrals, tasks, study_area : GeoDataFrame or None
        The inputs, as given.
    all_incidents : GeoDataFrame or None
        Every incident the analysis was given (before the ``period`` filter): those the
        before/after change and the emerging hot spots counted, and the briefing's before/after
        maps draw. None: :attr:`incidents`.
    """

    clusters: ClusterResult | None
    before: Period
    after: Period
    change_cells: ChangeResult | None
    change_areas: ChangeResult | None
    change_summary: ChangeSummary | None = None
    displacement: Any = None
    emerging: Any = None
    linkage: Any = None
    kpis: Any = None
    referrals: gpd.GeoDataFrame | None = None
    tasks: gpd.GeoDataFrame | None = None
    study_area: gpd.GeoDataFrame | None = None
    all_incidents: gpd.GeoDataFrame | None = None

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
                "hotspot_areas_min_confidence": float(self.areas.params["min_confidence"]),
                "hotspot_areas_rule": self.areas.params["rule"],
                # the change periods only when a change was computed on them (data that cannot give
                # periods leave placeholders around the demo's scheme start: Settings.change_periods)
                "before": [self.before.start.isoformat(), self.before.end.isoformat()] if self.change_cells is not None else None,
                "after": [self.after.start.isoformat(), self.after.end.isoformat()] if self.change_cells is not None else None,
                "incidents": int(len(self.incidents)),
                "grid": self.grid.describe(),
            },
            "notes": list(self.notes),
        }

    def incidents_text(self) -> str:
        """The incidents analysed (:attr:`incidents`), and how many more of the hotspot period lie in no cell
        of the study area (not analysed): ``"14,264 incidents (8 more outside the study area, in no cell)"``, naming the
        places near a footprint's outlying groups (:attr:`hotspots.footprint.Footprint.left_out_near`)."""
        outside = self.incidents_outside()
        near = list((getattr(self.study_area, "attrs", None) or {}).get("left_out_near", ()))  # a footprint's outlying groups
        named = f"; outlying groups near {', '.join(near)}" if near else ""
        where = f" ({outside:,} more outside the study area, in no cell{named})" if outside else ""
        return f"{len(self.incidents):,} incidents{where}"

    def incidents_outside(self) -> int:
        """How many incidents of the hotspot period lie in no cell of the study area (off the grid, or in a
        cell outside the study area or a user's boundary): not among :attr:`incidents`, in no cell's count."""
        p = self.counts.params
        return int(p.get("points_off_grid", 0) or 0) + int(p.get("points_outside_area", 0) or 0)

    def caption(self) -> str:
        """One line describing how the map was made, for figures, briefings and the command line's
        ``method:`` (one line everywhere: the console's left out the permutations the briefing named)."""
        perm = f", {self.settings.permutations:,} permutations" if self.settings.permutations else ""
        return (
            f"{self.incidents_text()}; {self.grid.cell_size:,g} m cells; KDE {self.density.kernel} "  # "1,000 m", as grid:
            f"bandwidth {float(self.density.bandwidth_m):,.0f} m; Gi* distance "
            f"{distance_text(float(self.gi.params.get('distance_m', np.nan)), self.grid.cell_size)}, "
            f"alpha {self.settings.alpha:g}"
            f"{' with FDR' if self.settings.fdr else ''}{perm}"
        )
