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

import dataclasses
import gc
from functools import partial
from typing import Any

import streamlit as st

from ..analysis import Analysis, HotspotStage
from ..incident_time import IncidentPoints, incident_points
from ..periods import filter_period, month_options, month_range, parse_period
from ..pipeline import (
    CHANGE_SETTINGS,
    CLUSTER_SETTINGS,
    DISPLACEMENT_SETTINGS,
    HOTSPOT_SETTINGS,
    LINKAGE_SETTINGS,
    Settings,
    area_change,
    assemble_analysis,
    cell_change,
    emerging_stage,
    hotspot_stage,
    pooled_change,
    ring_change,
    stage_cell_size,
)
from ..summaries import BeforeAfterDensity, MonthlySeries, before_after_density, monthly_in_hotspots
from . import maplayers
from .drawn import DrawnLayer, DrawnMap, draw_layer, draw_map
from .scheme_start import notes_for_scheme_start
from .uploads import DataBundle, demo_bundle
from .views import SummaryTable, change_summary_table

__all__ = [
    "HOT",
    "CHANGE",
    "RINGS",
    "EXPORT",
    "LINK",
    "TABLE",
    "MAP",
    "demo_data",
    "points",
    "months_of",
    "stage",
    "cell_size",
    "change",
    "pooled",
    "displaced",
    "linkage",
    "area_table",
    "clusters",
    "analysis_layers",
    "hotspot_layers",
    "area_layer",
    "clusters_layer",
    "scheme_layers",
    "change_layers",
    "base_map",
    "period_density",
    "monthly",
    "publication",
    "view",
    "sweep",
    "full_analysis",
    "area_csv",
]

#: The settings each call below reads (pass ``settings.only(*NAME)``).
HOT = HOTSPOT_SETTINGS
CHANGE = HOTSPOT_SETTINGS + CHANGE_SETTINGS
RINGS = CHANGE + DISPLACEMENT_SETTINGS  # the pooled table's displacement rows (a new ring width recomputes no change)
LINK = HOTSPOT_SETTINGS + LINKAGE_SETTINGS
TABLE = HOTSPOT_SETTINGS + CHANGE_SETTINGS + LINKAGE_SETTINGS
MAP = TABLE + CLUSTER_SETTINGS
EXPORT = TABLE + DISPLACEMENT_SETTINGS + CLUSTER_SETTINGS  # the whole analysis (with its clusters), for the exports

cached = partial(st.cache_resource, show_spinner=False, max_entries=48, ttl=6 * 3600, hash_funcs={DataBundle: lambda b: b.token})


@st.cache_resource(show_spinner=False, max_entries=2)
def demo_data(seed: int) -> DataBundle:
    return demo_bundle(seed)


@cached
def points(bundle: DataBundle) -> IncidentPoints:
    return incident_points(bundle.incidents)


@cached
def months_of(bundle: DataBundle) -> list[str]:
    """The data's months; run once per data set (the app's first call on it), so it also takes
    the data, and everything else alive by then, out of the garbage collector's full passes
    (:func:`gc.freeze`): each of them otherwise walks every object of the data set (0.15 s on
    the demo data) at random moments, in the middle of a redraw. Objects freed later are still
    freed; only reference cycles among the frozen objects are kept."""
    months = month_options(*month_range(bundle.incidents))
    gc.freeze()
    return months


@partial(cached, show_spinner="Finding hotspots…")
def stage(bundle: DataBundle, s: Settings) -> HotspotStage:
    return hotspot_stage(bundle.incidents, s, bundle.study_area)


@cached
def cell_size(bundle: DataBundle, s: Settings) -> float:
    """The cell size :func:`stage` uses (``s`` cut to ``period`` and ``cell_size``), before computing it."""
    return stage_cell_size(bundle.incidents, s, bundle.study_area)


@cached
def change(bundle: DataBundle, s: Settings, unit: str) -> tuple[Any, str | None]:
    """Before/after change per hotspot area (``unit="areas"``) or per cell (``"cells"``), and the note.

    The areas use the cells' between-period variance as the command line's do
    (:func:`hotspots.pipeline.area_change`): :func:`hotspots.change.change_areas` fits the cells'
    model on the areas' grid itself, the same value as passing the cells' change, without
    testing every cell (the map needs no cell tests; 0.1-0.3 s of a new-settings redraw)."""
    hot = stage(bundle, s.only(*HOT))
    if unit == "areas":
        return area_change(points(bundle), hot, s, None)
    return cell_change(points(bundle), hot.grid, s, hot)  # its hotspot areas' cells carry their caveat


@cached
def pooled(bundle: DataBundle, s: Settings) -> SummaryTable:
    """The pooled change (all hotspot areas, elsewhere, hotspots vs elsewhere, then the rings
    around the hotspot areas: :func:`displaced`) as the Before/after tab's first table
    (:func:`hotspots.pipeline.pooled_change`, :func:`~hotspots.app_support.views.change_summary_table`)."""
    hot = stage(bundle, s.only(*HOT))
    summary, note = pooled_change(hot, change(bundle, s.only(*CHANGE), "cells")[0], change(bundle, s.only(*CHANGE), "areas")[0])
    if summary is None and note is None and hot.areas.n_areas == 0:
        note = "no hotspot areas at these settings (the Map tab says why)"
    return change_summary_table(summary, note, s.alpha, displaced(bundle, s.only(*RINGS)))


@cached
def displaced(bundle: DataBundle, s: Settings) -> tuple[Any, str | None]:
    """The rings around the hotspot areas against the rest beyond them, and the note
    (:func:`hotspots.pipeline.ring_change`): rows of the Before/after tab's first table."""
    hot = stage(bundle, s.only(*HOT))
    cells, areas = change(bundle, s.only(*CHANGE), "cells")[0], change(bundle, s.only(*CHANGE), "areas")[0]
    return ring_change(points(bundle), hot, s, cells, areas)


@partial(cached, show_spinner="Linking referrals to hotspots and task sites…")
def linkage(bundle: DataBundle, s: Settings) -> Any:
    from ..pipeline import scheme_linkage

    if bundle.referrals is None:
        return None
    return scheme_linkage(bundle.referrals, bundle.tasks, stage(bundle, s.only(*HOT)), s, bundle.study_area, bundle.incidents)


@partial(cached, show_spinner="Protecting the scheme's figures…")
def publication(bundle: DataBundle, s: Settings, snap_m: float) -> Any:
    """Every person-level figure the app shows (cards, tables, map symbols, popups), protected
    together (:func:`hotspots.publication.publish_scheme`); None without referrals."""
    from ..publication import publish_scheme

    link = linkage(bundle, s.only(*LINK))
    if link is None:
        return None
    return publish_scheme(bundle.referrals, linkage=link, areas=stage(bundle, s.only(*HOT)).areas.areas, threshold=s.threshold,
                          unsafe=s.unsafe_threshold, snap_m=float(snap_m), as_of=s.as_of)


@cached
def view(bundle: DataBundle, s: Settings, snap_m: float, filters: tuple) -> Any:
    """The protected figures for the referrals matching ``filters`` = (offences, routes, age groups, hotspot)."""
    offences, routes, ages, hotspot = filters
    return publication(bundle, s.only(*LINK), snap_m).filtered(offence=offences, route=routes, age_group=ages, hotspot=hotspot)


@cached
def area_table(bundle: DataBundle, s: Settings, snap_m: float | None) -> Any:
    """The hotspot areas' table (and popups): counts, change, place names, and the protected
    referral figures of the publication at ``snap_m`` (none with ``snap_m=None``: the map's
    layers, drawn without waiting for the protection)."""
    from ..maps.scheme_layers import hotspot_area_table
    from ..places import name_hotspot_areas

    hot = stage(bundle, s.only(*HOT))
    changes, _ = change(bundle, s.only(*CHANGE), "areas")
    places = name_hotspot_areas(hot.areas.areas, hot.incidents, bundle.study_area)
    pub = publication(bundle, s.only(*LINK), snap_m) if snap_m is not None else None
    return hotspot_area_table(hot.areas, change=changes, publication=pub, places=places)


@cached
def change_table(bundle: DataBundle, s: Settings) -> Any:
    """The Before/after tab's table per hotspot area (:data:`~hotspots.app_support.views.CHANGE_COLUMNS`):
    the map's area table with each area's ring change (:func:`displaced`) and pattern over the
    months (:func:`emerging`), as the results folder's ``csv/hotspot_areas.csv``."""
    from ..emerging_summary import area_patterns
    from ..maps.scheme_layers import hotspot_area_table
    from ..places import name_hotspot_areas

    hot = stage(bundle, s.only(*HOT))
    changes, _ = change(bundle, s.only(*CHANGE), "areas")
    moved, _ = displaced(bundle, s.only(*RINGS))
    trends, _ = emerging(bundle, s.only(*HOT))
    patterns = area_patterns(trends, hot.areas.labels, hot.areas.n_areas) if trends is not None else None
    places = name_hotspot_areas(hot.areas.areas, hot.incidents, bundle.study_area)
    return hotspot_area_table(hot.areas, change=changes, places=places, displacement=moved, patterns=patterns)


@partial(cached, show_spinner="Clustering incidents…")
def clusters(bundle: DataBundle, s: Settings) -> Any:
    from ..pipeline import point_clusters

    # the incidents analysed (the hotspot stage's: in the study area's cells), as the command line clusters
    return point_clusters(stage(bundle, s.only(*HOT)).incidents, s)  # None for cluster_method "none"


def analysis_layers(bundle: DataBundle, s: Settings, snap_m: float | None, show_clusters: bool) -> tuple[DrawnLayer, ...]:
    """The hotspot layers of the main map (:func:`hotspots.app_support.maplayers.analysis_layers`),
    each drawn once (:mod:`hotspots.app_support.drawn`) and cached by the settings it reads: a
    change of the before/after periods draws the areas again, not the density image."""
    drawn = (*hotspot_layers(bundle, s.only(*HOT)), area_layer(bundle, s.only(*TABLE), snap_m))
    return (*drawn, clusters_layer(bundle, s.only(*CLUSTER_SETTINGS))) if show_clusters else drawn


@cached
def hotspot_layers(bundle: DataBundle, s: Settings) -> tuple[DrawnLayer, ...]:
    return tuple(draw_layer(g) for g in maplayers.hotspot_layers(stage(bundle, s.only(*HOT))))


@cached
def area_layer(bundle: DataBundle, s: Settings, snap_m: float | None) -> DrawnLayer:
    return draw_layer(maplayers.areas_layer(area_table(bundle, s.only(*TABLE), snap_m)))


@cached
def clusters_layer(bundle: DataBundle, s: Settings) -> DrawnLayer:
    return draw_layer(maplayers.clusters_layer(clusters(bundle, s.only(*CLUSTER_SETTINGS))))


@cached
def scheme_layers(bundle: DataBundle, s: Settings | None, snap_m: float, origins: bool, flows: bool) -> tuple[DrawnLayer, ...]:
    """Task sites, and the referral squares and flows when switched on, drawn once (``s`` None
    when both are off: the task sites alone do not depend on the settings)."""
    from ..places import name_hotspot_areas

    pub = publication(bundle, s.only(*LINK), snap_m) if (origins or flows) and s is not None else None
    places = None
    if flows and pub is not None:  # the flows' hotspot origins by name ("hotspot 12 · Albert Street")
        hot = stage(bundle, s.only(*HOT))
        named = name_hotspot_areas(hot.areas.areas, hot.incidents, bundle.study_area)
        places = dict(zip(named["area_id"].astype(str), named["label"]))  # the area table's "place"
    groups = maplayers.scheme_layers(pub, bundle.tasks, origins=origins, flows=flows, places=places)
    return tuple(draw_layer(g) for g in groups)


@cached
def change_layers(bundle: DataBundle, s: Settings, snap_m: float | None) -> tuple[DrawnLayer, ...]:
    """The change map's layers (cells with a significant change, the rings around the hotspot
    areas and the areas, coloured by change), drawn once; ``s`` holds the :data:`EXPORT` settings."""
    cells, _ = change(bundle, s.only(*CHANGE), "cells")
    rings, _ = displaced(bundle, s.only(*RINGS))
    table = area_table(bundle, s.only(*TABLE), snap_m)
    return tuple(draw_layer(g) for g in maplayers.change_layers(cells, table, rings, emerging(bundle, s.only(*HOT))[0]))


@partial(cached, show_spinner="Emerging hot spots over the months…")
def emerging(bundle: DataBundle, s: Settings) -> tuple[Any, str | None]:
    """Emerging hot spots over every month of the data on the hotspot map's grid, and the note
    (:func:`hotspots.pipeline.emerging_stage`): the Before/after tab's trends and change map."""
    return emerging_stage(bundle.incidents, stage(bundle, s.only(*HOT)), s)


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
def full_analysis(bundle: DataBundle, s: Settings, snap_m: float) -> Analysis:
    """Everything the exports need, assembled from the cached stages (``s`` cut to :data:`EXPORT`),
    with its scheme publication at the map's square size (the briefing and GIS files use it).

    The analysis carries ``s`` itself, not the hotspot stage's settings: its before and after
    periods (the briefing's density panels) and the settings recorded in ``parameters.json`` are
    the ones the change was computed with."""
    from ..kpis import scheme_kpis
    from ..publication import scheme_publication

    cells, note = change(bundle, s.only(*CHANGE), "cells")
    areas, area_note = change(bundle, s.only(*CHANGE), "areas")
    refs = bundle.referrals
    moved, moved_note = displaced(bundle, s.only(*RINGS))
    trends, trends_note = emerging(bundle, s.only(*HOT))
    found = clusters(bundle, s.only(*CLUSTER_SETTINGS))  # the clusters the map shows (None for cluster_method "none")
    an = assemble_analysis(
        dataclasses.replace(stage(bundle, s.only(*HOT)), settings=s), clusters=found, change_cells=cells, change_areas=areas,
        change_note=note or area_note,
        displacement=moved, displacement_note=moved_note, emerging=trends, emerging_note=trends_note,
        linkage=linkage(bundle, s.only(*LINK)),
        kpis=scheme_kpis(refs, threshold=s.threshold, unsafe=s.unsafe_threshold, as_of=s.as_of) if refs is not None else None,
        referrals=refs, tasks=bundle.tasks, study_area=bundle.study_area,
        notes=notes_for_scheme_start(bundle.prepared.notes, months_of(bundle), bundle.defaults.scheme_start, s.scheme_start,
                                     bundle.defaults.missing_months or ()),
        all_incidents=bundle.incidents,
    )
    if an.referrals is not None:
        scheme_publication(an, snap_m=float(snap_m))  # the briefing uses the squares the GIS files use
    return an


def area_csv(bundle: DataBundle, s: Settings, snap_m: float) -> Any:
    """The app's "Hotspot areas (CSV)": the results folder's ``csv/hotspot_areas.csv`` (one library function,
    :func:`hotspots.export.gis.hotspot_areas_table`, with the rings' and emerging columns) of :func:`full_analysis`."""
    from ..export.gis import hotspot_areas_table

    return hotspot_areas_table(full_analysis(bundle, s.only(*EXPORT), snap_m), snap_m=snap_m)
