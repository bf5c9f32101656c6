"""The app's maps: which layers each map shows, built from library results with
:mod:`hotspots.maps` (drawn once for reruns by :mod:`hotspots.app_support.drawn`)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from ..maps import base_map, dual_map
from ..maps import scheme_layers as sl

__all__ = [
    "app_base_map",
    "analysis_layers",
    "hotspot_layers",
    "areas_layer",
    "clusters_layer",
    "scheme_layers",
    "before_after_map",
    "change_layers",
    "robustness_layer",
]


def _where(study_area: gpd.GeoDataFrame | None, bounds: tuple[float, float, float, float] | None) -> dict[str, Any]:
    return {"study_area": study_area} if study_area is not None else {"bounds_27700": bounds}


def app_base_map(
    study_area: gpd.GeoDataFrame | None,
    bounds: tuple[float, float, float, float] | None,
    *,
    basemap: str = "none",
    height: int = 620,
) -> Any:
    """The base map (study-area outline, or the grid's bounds without one) with the layers' support code."""
    m = base_map(basemap=basemap, height=height, **_where(study_area, bounds))
    sl.layer_support(m)
    return m


def analysis_layers(stage: Any, table: gpd.GeoDataFrame, clusters: Any = None) -> list[Any]:
    """Density image, Gi* classes and hotspot areas (and point clusters when given) of a hotspot stage."""
    groups = [*hotspot_layers(stage), areas_layer(table)]
    if clusters is not None:
        groups.append(clusters_layer(clusters))
    return groups


def hotspot_layers(stage: Any) -> list[Any]:
    """The first two groups of :func:`analysis_layers`: density image and Gi* classes (they read
    the hotspot settings only)."""
    return [sl.density_layer(stage.density), sl.gi_class_layer(sl.gi_class_table(stage.gi))]


def areas_layer(table: gpd.GeoDataFrame) -> Any:
    """The hotspot areas with their table's figures in tooltips and popups (the third group of
    :func:`analysis_layers`)."""
    return sl.hotspot_areas_layer(table)


def clusters_layer(clusters: Any) -> Any:
    """Point clusters, shown when the map opens (the last group of :func:`analysis_layers`)."""
    return sl.clusters_layer(clusters, show=True)


def scheme_layers(publication: Any, tasks: Any, *, origins: bool = False, flows: bool = False,
                  places: Any = None) -> list[Any]:
    """Task sites, and when asked for, where referrals come from (squares) and referral → task
    flows, from the protected publication (:func:`hotspots.publication.publish_scheme`): a
    person-level layer is built only when it is to be shown, so nothing of it reaches the browser
    otherwise. ``places``: the hotspot areas' place names by id, naming the flows' hotspot origins."""
    groups = []
    if origins and publication is not None and publication.origins is not None:
        groups.append(sl.referral_origins_layer(publication))
    if tasks is not None:
        groups.append(sl.task_sites_layer(tasks))
    if flows and publication is not None and publication.flows is not None:
        groups.append(sl.referral_task_lines_layer(publication, places=places))
    return groups


def before_after_map(
    density: Any,
    table: gpd.GeoDataFrame,
    study_area: gpd.GeoDataFrame | None,
    bounds: tuple[float, float, float, float] | None,
    *,
    basemap: str = "none",
) -> Any:
    """Two synchronised maps of :func:`hotspots.summaries.before_after_density` on one colour scale,
    with the hotspot areas coloured by their change."""
    dual = dual_map(basemap=basemap, **_where(study_area, bounds))
    colour_by = "change" if "change_class" in table.columns else "none"
    for side, d, title in ((dual.m1, density.before, "Before"), (dual.m2, density.after, "After")):
        when = d.name.split(": ", 1)[-1]
        sl.density_layer(
            d, name=f"{title} density ({when})", vmin=density.scale.vmin, vmax=density.scale.vmax, legend_title=f"{title}, {when}"
        ).add_to(side)
        sl.hotspot_areas_layer(table, colour_by=colour_by).add_to(side)
        sl.scheme_layer_control(side)
    return dual


def change_layers(cells: Any, table: gpd.GeoDataFrame, rings: Any = None, trends: Any = None) -> list[Any]:
    """Cells whose rate changed significantly, the emerging hot spots (``trends``, off when the
    map opens), the rings around the hotspot areas coloured by their own change (``rings``:
    :class:`hotspots.displacement_rings.Displacement`, or None), and the hotspot areas coloured by
    their change, drawn last so that they stay on top."""
    groups = [sl.change_cells_layer(cells)]
    if trends is not None:
        groups.append(sl.emerging_layer(trends))
    if rings is not None:
        groups.append(sl.displacement_rings_layer(rings, position="bottomright"))
    if len(table):
        groups.append(sl.hotspot_areas_layer(table, colour_by="change" if "change_class" in table.columns else "none"))
    return groups


def robustness_layer(result: Any) -> Any:
    """A stability sweep's robustness surface: the share of runs in which each cell is hot."""
    return sl.density_layer(result.hot_share, name="Share of runs hot", cmap="viridis", vmin=0.0, vmax=1.0, units="share of runs")
