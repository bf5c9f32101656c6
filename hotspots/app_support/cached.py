"""The app's cached library calls (the one module of :mod:`hotspots.app_support` that imports
Streamlit; imported by ``app.py`` only).

Each function is a library call wrapped in ``st.cache_resource``: results are shared read-only
objects (no copy per rerun), keyed by the function's arguments only — the data bundle by its
content token (:attr:`~hotspots.app_support.DataBundle.token`: the token of uploaded files
includes the session that loaded them, so their results are never served to another session),
and the settings the call reads (:meth:`hotspots.pipeline.Settings.only`), so that a setting a
call does not read never recomputes it. Entries are bounded in number and age.

Callers pass settings already cut to what the call reads (:data:`~hotspots.pipeline.HOTSPOT_SETTINGS`
and friends); each function cuts them again before calling the others, so that every result is
computed once per distinct input.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from ..analysis import Analysis, HotspotStage
from ..incident_time import IncidentPoints, incident_points
from ..periods import filter_period, month_options, month_range, parse_period
from ..pipeline import (
    CHANGE_SETTINGS,
    CLUSTER_SETTINGS,
    HOTSPOT_SETTINGS,
    LINKAGE_SETTINGS,
    Settings,
    area_change,
    assemble_analysis,
    cell_change,
    hotspot_stage,
)
from ..summaries import BeforeAfterDensity, MonthlySeries, before_after_density, monthly_in_hotspots
from . import maplayers
from .drawn import DrawnLayer, DrawnMap, draw_layer, draw_map
from .uploads import DataBundle, demo_bundle
from .views import filter_referrals

__all__ = [
    "HOT",
    "CHANGE",
    "LINK",
    "TABLE",
    "MAP",
    "demo_data",
    "points",
    "months_of",
    "stage",
    "change",
    "linkage",
    "area_table",
    "clusters",
    "analysis_layers",
    "scheme_layers",
    "change_layers",
    "base_map",
    "period_density",
    "monthly",
    "kpis",
    "sweep",
    "full_analysis",
]

#: The settings each call below reads (pass ``settings.only(*NAME)``).
HOT = HOTSPOT_SETTINGS
CHANGE = HOTSPOT_SETTINGS + CHANGE_SETTINGS
LINK = HOTSPOT_SETTINGS + LINKAGE_SETTINGS
TABLE = HOTSPOT_SETTINGS + CHANGE_SETTINGS + LINKAGE_SETTINGS
MAP = TABLE + CLUSTER_SETTINGS

cached = partial(st.cache_resource, show_spinner=False, max_entries=48, ttl=6 * 3600, hash_funcs={DataBundle: lambda b: b.token})


@st.cache_resource(show_spinner=False, max_entries=2)
def demo_data(seed: int) -> DataBundle:
    return demo_bundle(seed)


@cached
def points(bundle: DataBundle) -> IncidentPoints:
    return incident_points(bundle.incidents)


@cached
def months_of(bundle: DataBundle) -> list[str]:
    return month_options(*month_range(bundle.incidents))


@partial(cached, show_spinner="Finding hotspots…")
def stage(bundle: DataBundle, s: Settings) -> HotspotStage:
    return hotspot_stage(bundle.incidents, s, bundle.study_area)


@cached
def change(bundle: DataBundle, s: Settings, unit: str) -> tuple[Any, str | None]:
    """Before/after change per hotspot area (``unit="areas"``) or per cell (``"cells"``), and the note."""
    hot = stage(bundle, s.only(*HOT))
    return area_change(points(bundle), hot, s) if unit == "areas" else cell_change(points(bundle), hot.grid, s)


@partial(cached, show_spinner="Linking referrals to hotspots and task sites…")
def linkage(bundle: DataBundle, s: Settings) -> Any:
    from ..linkage import link_referrals

    if bundle.referrals is None:
        return None
    return link_referrals(bundle.referrals, areas=stage(bundle, s.only(*HOT)).areas.areas, tasks=bundle.tasks, near_m=s.near_m)


@cached
def area_table(bundle: DataBundle, s: Settings) -> Any:
    from ..maps.scheme_layers import hotspot_area_table

    changes, _ = change(bundle, s.only(*CHANGE), "areas")
    return hotspot_area_table(stage(bundle, s.only(*HOT)).areas, change=changes, linkage=linkage(bundle, s.only(*LINK)))


@partial(cached, show_spinner="Clustering incidents…")
def clusters(bundle: DataBundle, s: Settings) -> Any:
    from ..clustering import clusters as point_clusters

    pts = filter_period(bundle.incidents, parse_period(s.period) if s.period else None)
    return point_clusters(pts, s.cluster_method, eps=s.eps, min_samples=s.min_samples, seed=s.seed)


@cached
def analysis_layers(bundle: DataBundle, s: Settings, show_clusters: bool) -> tuple[DrawnLayer, ...]:
    """The hotspot layers of the main map, drawn once (:mod:`hotspots.app_support.drawn`)."""
    found = clusters(bundle, s.only(*CLUSTER_SETTINGS)) if show_clusters else None
    groups = maplayers.analysis_layers(stage(bundle, s.only(*HOT)), area_table(bundle, s.only(*TABLE)), found)
    return tuple(draw_layer(g) for g in groups)


@cached
def scheme_layers(bundle: DataBundle, snap_m: float, near_m: float, threshold: int) -> tuple[DrawnLayer, ...]:
    """Referral origins, task sites and referral → task lines, drawn once per data set and squares' size."""
    groups = maplayers.scheme_layers(bundle.referrals, bundle.tasks, snap_m=snap_m, near_m=near_m, threshold=threshold)
    return tuple(draw_layer(g) for g in groups)


@cached
def change_layers(bundle: DataBundle, s: Settings) -> tuple[DrawnLayer, ...]:
    """The change map's layers (cells with a significant change, areas coloured by change), drawn once."""
    cells, _ = change(bundle, s.only(*CHANGE), "cells")
    return tuple(draw_layer(g) for g in maplayers.change_layers(cells, area_table(bundle, s.only(*TABLE))))


@cached
def base_map(bundle: DataBundle, bounds: tuple | None, basemap: str, height: int) -> DrawnMap:
    """The study-area base map, drawn once per basemap and height."""
    return draw_map(maplayers.app_base_map(bundle.study_area, bounds, basemap=basemap, height=height))


@partial(cached, show_spinner="Density before and after…")
def period_density(bundle: DataBundle, s: Settings) -> BeforeAfterDensity:
    hot = stage(bundle, s.only(*HOT))
    cells, _ = change(bundle, s.only(*CHANGE), "cells")
    return before_after_density(points(bundle), hot.grid, cells, bandwidth=hot.density.bandwidth_m, kernel=hot.density.kernel)


@cached
def monthly(bundle: DataBundle, s: Settings) -> MonthlySeries:
    return monthly_in_hotspots(points(bundle), stage(bundle, s.only(*HOT)).areas, scheme_start=s.scheme_start)


@cached
def kpis(bundle: DataBundle, s: Settings, filters: tuple, by: str | None = None, funnel: bool = False) -> Any:
    """Scheme KPIs (or the referral funnel) of the linked referrals matching ``filters`` =
    (offences, routes, age groups, hotspot); None when none match."""
    from ..kpis import referral_funnel, scheme_kpis

    offences, routes, ages, hotspot = filters
    chosen = filter_referrals(
        linkage(bundle, s.only(*LINK)).table, offences=offences, routes=routes, age_groups=ages, hotspot=hotspot
    )
    if len(chosen) == 0:
        return None
    return referral_funnel(chosen, threshold=s.threshold) if funnel else scheme_kpis(chosen, by=by, threshold=s.threshold)


@partial(cached, show_spinner="Running the stability sweep…")
def sweep(bundle: DataBundle, s: Settings, sizes: tuple, mults: tuple) -> Any:
    from ..robustness import stability

    pts = filter_period(bundle.incidents, parse_period(s.period) if s.period else None)
    return stability(
        pts,
        cell_sizes=list(sizes),
        distance_multipliers=list(mults),
        mask=bundle.study_area,
        alpha=s.alpha,
        fdr=s.fdr,
        seed=s.seed,
    )


@cached
def full_analysis(bundle: DataBundle, s: Settings) -> Analysis:
    """Everything the exports need, assembled from the cached stages (``s`` cut to :data:`TABLE` + threshold)."""
    from ..kpis import scheme_kpis

    cells, note = change(bundle, s.only(*CHANGE), "cells")
    areas, area_note = change(bundle, s.only(*CHANGE), "areas")
    refs = bundle.referrals
    return assemble_analysis(
        stage(bundle, s.only(*HOT)),
        change_cells=cells,
        change_areas=areas,
        change_note=note or area_note,
        linkage=linkage(bundle, s.only(*LINK)),
        kpis=scheme_kpis(refs, threshold=s.threshold) if refs is not None else None,
        referrals=refs,
        tasks=bundle.tasks,
        study_area=bundle.study_area,
        notes=bundle.prepared.notes,
    )
