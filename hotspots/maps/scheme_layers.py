"""Domain layers for the hotspot manager's map: density, Gi* classes, hotspot areas, before/after
change, point clusters; and (re-exported from :mod:`hotspots.maps.referral_layers`) referral
origins, reparative task sites and referral → task lines.

Every function returns a :class:`folium.FeatureGroup` named for the layer control, holding the
drawn layer and its legend (a legend follows its group: it disappears when the group is switched
off). Groups can be added to a map with ``group.add_to(m)`` or handed to streamlit-folium as
``st_folium(m, feature_group_to_add=[...], layer_control=scheme_layer_control())``: the map
frame is then built once and only the groups are replaced when the analysis changes (no frame
reload). Such a base map needs :func:`layer_support` (styles and the marker-cluster script that
later groups rely on); both live in :mod:`hotspots.maps.groups`.

Escaping
--------
All text from data goes through :mod:`hotspots.maps.escape` (GeoJSON tooltips and popups) or is
set with ``textContent`` (marker popups); layer names are escaped too (Leaflet's layer control
shows them as HTML).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import style
from .._errors import ParameterError, SchemaError
from ..grid import GridValues
from .groups import (
    LAYER_NAMES,
    LayerSupport,
    SchemeLayerControl,
    feature_group,
    layer_support,
    require_gdf,
    scheme_layer_control,
)
from .layers import category_legend, geojson_layer, legend, raster_overlay
from .offline import make_offline
from .referral_layers import (
    DEFAULT_SNAP_M,
    TASK_KIND_CODES,
    TASK_KIND_COLOURS,
    referral_origins_layer,
    referral_task_lines_layer,
    snap_points,
    task_sites_layer,
)

__all__ = [
    "GI_CLASS_COLOURS",
    "CHANGE_CLASS_COLOURS",
    "TASK_KIND_COLOURS",
    "TASK_KIND_CODES",
    "LAYER_NAMES",
    "AREA_LABELS",
    "DEFAULT_SNAP_M",
    "LayerSupport",
    "SchemeLayerControl",
    "layer_support",
    "scheme_layer_control",
    "snap_points",
    "density_layer",
    "gi_class_table",
    "gi_class_layer",
    "hotspot_area_table",
    "hotspot_areas_layer",
    "referral_origins_layer",
    "task_sites_layer",
    "referral_task_lines_layer",
    "change_cells_layer",
    "displacement_rings_layer",
    "emerging_layer",
    "clusters_layer",
    "dissolve_cells",
]

#: Gi* classes and change classes with their colours (one set for every output: :mod:`hotspots.style`).
GI_CLASS_COLOURS = style.GI_CLASS_COLOURS
CHANGE_CLASS_COLOURS = style.CHANGE_CLASS_COLOURS


# =============================================================================== cells
def dissolve_cells(grid: Any, mask: np.ndarray) -> shapely.Geometry:
    """The union of the grid cells where ``mask`` is true, as one (multi)polygon in the grid's CRS.

    Cells of one grid meet exactly along their edges, so the union is exact (no slivers).
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != grid.shape:
        raise ParameterError(f"`mask` has shape {mask.shape} but the grid is {grid.shape}.")
    rr, cc = np.nonzero(mask)
    if len(rr) == 0:
        return shapely.Polygon()
    boxes = grid.cell_polygons(rr, cc)
    return shapely.coverage_union_all(boxes)


def _class_polygons(grid: Any, labels: np.ndarray, classes: Sequence[str],
                    extra: Mapping[str, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    rows = []
    for cls in classes:
        sel = labels == cls
        n = int(sel.sum())
        if n == 0:
            continue
        row: dict[str, Any] = {"class": cls, "cells": n, "area_km2": round(n * grid.cell_area_km2, 2)}
        for key, arr in (extra or {}).items():
            row[key] = float(np.nansum(np.where(sel, arr, 0.0)))
        row["geometry"] = dissolve_cells(grid, sel)
        rows.append(row)
    if not rows:
        return gpd.GeoDataFrame({"class": [], "cells": [], "area_km2": []}, geometry=[], crs=grid.crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=grid.crs)


# =============================================================================== density
def density_layer(
    values: GridValues,
    *,
    name: str = LAYER_NAMES["density"],
    cmap: str = "YlOrRd",
    vmin: float | None = None,
    vmax: float | None = None,
    opacity: float = 0.7,
    pixels_per_cell: float = 1.0,
    max_pixels: int = 1_000_000,
    legend_title: str | None = None,
    units: str | None = None,
    position: str = "bottomright",
    show: bool = True,
) -> folium.FeatureGroup:
    """A density (or any grid) surface as one image, with its colour-bar legend.

    Parameters
    ----------
    values : GridValues
        E.g. :attr:`hotspots.Analysis.density` (incidents per km²). Zero cells are transparent.
    name : str
        Layer name in the layer control.
    cmap, vmin, vmax, opacity, pixels_per_cell, max_pixels
        As :func:`hotspots.maps.raster_overlay`. Give the same ``vmin``/``vmax`` to two maps
        that should be compared (before / after). One pixel per cell (default) keeps the image
        small; the placement error is then at most half a cell.
    legend_title, units : str, optional
        Legend title (default ``name``) and units (default the values' units).
    position : str
        Legend corner.
    show : bool
        Whether the layer is on when the map opens.
    """
    if not isinstance(values, GridValues):
        raise ParameterError(f"`values` must be a GridValues (e.g. `analysis.density`); got {type(values).__name__}.")
    group = feature_group(name, show)
    overlay = raster_overlay(
        values, cmap=cmap, vmin=vmin, vmax=vmax, opacity=opacity, name=legend_title or name, units=units,
        pixels_per_cell=pixels_per_cell, max_pixels=max_pixels,
    )
    overlay.control = False
    overlay.add_to(group)
    legend(overlay.scale, position=position).add_to(group)
    group.scale = overlay.scale  # type: ignore[attr-defined]
    return make_offline(group)


# =============================================================================== Gi*
def gi_class_table(gi: Any, *, include_cold: bool = True) -> gpd.GeoDataFrame:
    """Gi* classes as one dissolved (multi)polygon per class: ``class``, ``cells``,
    ``area_km2``, ``incidents`` (in the class's cells), geometry in the grid's CRS.

    Classes with no cell are left out; order as :data:`GI_CLASS_COLOURS`. ``attrs["unreached"]``:
    why no class can be reached at all (:func:`hotspots.gistar.unreached_note`, e.g. 99 permutations
    with FDR), else None; the layer's legend says it instead of "no hot or cold spots".
    """
    from ..gistar import CONFIDENCE_LEVELS, GiStarResult, unreached_note

    if not isinstance(gi, GiStarResult):
        raise ParameterError(f"`gi` must be a GiStarResult (e.g. `analysis.gi`); got {type(gi).__name__}.")
    classes = [c for c in GI_CLASS_COLOURS if include_cold or c.startswith("hot")]
    counts = np.nan_to_num(np.asarray(gi.counts.values, dtype=float))
    table = _class_polygons(gi.grid, gi.classes, classes, {"incidents": counts})
    if len(table):
        table["incidents"] = table["incidents"].round().astype(np.int64)
    table.attrs["classes"] = classes
    table.attrs["unreached"] = unreached_note(gi, min(c for c, _ in CONFIDENCE_LEVELS))  # None when a class can be
    return table


def gi_class_layer(
    gi: Any,
    *,
    name: str = LAYER_NAMES["gi"],
    include_cold: bool = True,
    position: str = "bottomleft",
    show: bool = True,
) -> folium.FeatureGroup:
    """Gi* hot and cold spot classes as cells (cells of one class dissolved into one shape).

    Parameters
    ----------
    gi : GiStarResult or GeoDataFrame
        The Gi* result, or its :func:`gi_class_table` (e.g. cached by the caller).
    include_cold : bool
        Also draw the cold spots (with a result; a table is drawn as it is).
    """
    if isinstance(gi, gpd.GeoDataFrame):
        table = gi
        if "class" not in table.columns or "cells" not in table.columns:
            raise SchemaError("`gi` as a table must come from `gi_class_table`.")
        classes = table.attrs.get("classes") or [c for c in GI_CLASS_COLOURS if c in set(table["class"])]
    else:
        table = gi_class_table(gi, include_cold=include_cold)
        classes = table.attrs["classes"]
    drawn = set(table["class"]) if len(table) else set()
    # no class reachable at all (few permutations): the note says why, not "no hot or cold spots"
    why = table.attrs.get("unreached")
    # cold classes only when there are cold spots; no class at all when nothing is significant (it listed hot 99 %,
    # 95 %, 90 % over a map without one)
    classes = [c for c in classes if c.startswith("hot") or c in drawn] if drawn else []
    return _class_layer(
        table,
        colours=GI_CLASS_COLOURS,
        fill_opacity=0.55,
        fields=["class", "cells", "incidents"],
        aliases=["Gi* class", "Cells", "Incidents"],
        legend_classes=classes,
        legend_title="Gi* class",
        empty_text="no hot or cold spots" if not why else f"none can be found: {why}".replace("`", ""),
        name=name,
        position=position,
        show=show,
    )


def _class_layer(
    table: gpd.GeoDataFrame,
    *,
    colours: dict[str, str],
    fill_opacity: float,
    fields: list[str],
    aliases: list[str],
    legend_classes: Sequence[str],
    legend_title: str,
    name: str,
    position: str,
    show: bool,
    empty_text: str = "none found",
) -> folium.FeatureGroup:
    """A layer of class polygons (a ``class`` column, from :func:`_class_polygons`) filled with
    their class's colour, with a tooltip of ``fields`` and a legend of ``legend_classes``
    (``empty_text`` under its title when there are none, e.g. no cell with a pattern)."""
    group = feature_group(name, show)
    if len(table):
        geojson_layer(
            table,
            fields=fields,
            aliases=aliases,
            style=lambda row: {
                "color": colours[row["class"]], "weight": 0.5, "fillColor": colours[row["class"]],
                "fillOpacity": fill_opacity, "opacity": 0.8,
            },
            name=name,
            simplify_m=0.0,
            highlight=False,
        ).add_to(group)
    category_legend([(c, colours[c]) for c in legend_classes], title=legend_title, position=position,
                    empty_text=empty_text).add_to(group)
    return make_offline(group)


# =============================================================================== hotspot areas
def _suppressed_column(display: pd.DataFrame, key: str, column: str, ids: Sequence[str]) -> list[Any]:
    if display is None or column not in display.columns or key not in display.columns:
        return [None] * len(ids)
    lookup = dict(zip(display[key].astype(str), display[column]))
    return [lookup.get(i) for i in ids]


def hotspot_area_table(
    areas: Any,
    *,
    change: Any = None,
    linkage: Any = None,
    kpis: Any = None,
    publication: Any = None,
    places: pd.DataFrame | None = None,
    displacement: Any = None,
    patterns: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """One row per hotspot area with what its popup and the app's table show.

    Parameters
    ----------
    areas : HotspotAreas or GeoDataFrame
        :attr:`hotspots.Analysis.areas` (columns of :data:`hotspots.areas.AREA_COLUMNS`).
    change : ChangeResult, optional
        Per-area before/after change (:attr:`hotspots.Analysis.change_areas`).
    linkage : LinkageResult, optional
        Referrals linked to the areas: the **display** (suppressed) counts are used.
    kpis : KPITable, optional
        KPIs grouped by ``"hotspot"`` (``scheme_kpis(linkage.table, by="hotspot")``): only its
        suppressed ``table`` is read.
    publication : SchemePublication, optional
        The analysis's protected person-level figures (:func:`hotspots.publication.scheme_publication`):
        when given, referrals, local reparation and the KPIs per area come from it (protected
        with every other output), and ``linkage``/``kpis`` are not needed.
    places : DataFrame, optional
        Place names per ``area_id`` (:func:`hotspots.places.name_hotspot_areas`): adds ``place``
        (the label), ``streets`` and ``districts``.
    displacement : Displacement, optional
        The rings around the areas (:attr:`hotspots.Analysis.displacement`): adds
        ``ring_change_pct`` and ``ring_change_class``, the change of the ring around each area as
        judged (:meth:`hotspots.displacement_rings.Displacement.by_area`; empty for an area with no ring).
    patterns : DataFrame, optional
        Each area's emerging hot spot pattern (:func:`hotspots.emerging_summary.area_patterns`):
        adds ``emerging``.

    Returns
    -------
    GeoDataFrame
        ``area_id``, ``rank``, ``incidents``, ``neighbourhood_incidents`` (when the areas have
        ``neighbourhood_count``), ``share_pct``, ``area_km2``, ``density_per_km2``,
        ``peak_confidence``, ``cells``; with ``change`` (and always with no area: the table of no area has
        the columns of a full one, empty): ``before``, ``after``, ``change_pct``
        (rate ratio − 1, in %), ``change_adjusted_pct`` (the placebo-adjusted change the verdict was
        judged on, when the areas were adjusted), ``change_class``, ``change_note`` (why ``change_pct`` is blank:
        :func:`hotspots.style.percent_change_note`; a significant change the choice of hotspot months predicts:
        :meth:`hotspots.change.ChangeResult.selection_notes`; None otherwise); with ``linkage``: ``referrals`` and
        ``reparation_local_pct`` (as displayed: ``"<5"``/``"c"`` when suppressed); with
        ``kpis``: ``completed_pct``, ``not_reoffended_pct``. Geometry in the areas' CRS.
    """
    from ..areas import HotspotAreas

    gdf = areas.areas if isinstance(areas, HotspotAreas) else require_gdf(areas, "areas")
    need = {"area_id", "rank", "count", "share_of_incidents", "area_km2", "density_per_km2", "peak_confidence", "n_cells"}
    missing = sorted(need - set(gdf.columns))
    if missing:
        raise SchemaError(f"`areas` lacks column(s) {missing}; pass `analysis.areas` (from `hotspot_areas`).")
    out = gpd.GeoDataFrame(
        {
            "area_id": gdf["area_id"].astype(np.int64).to_numpy(),
            "rank": gdf["rank"].astype(np.int64).to_numpy(),
            "incidents": np.round(gdf["count"].to_numpy(dtype=float)).astype(np.int64),
            "share_pct": np.round(100.0 * gdf["share_of_incidents"].to_numpy(dtype=float), 1),
            "area_km2": np.round(gdf["area_km2"].to_numpy(dtype=float), 2),
            "density_per_km2": np.round(gdf["density_per_km2"].to_numpy(dtype=float), 1),
            "peak_confidence": gdf["peak_confidence"].astype(str).to_numpy(dtype=object),
            "cells": gdf["n_cells"].astype(np.int64).to_numpy(),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    if "neighbourhood_count" in gdf.columns:  # what made the cells hot (a small area's own count can be 1)
        out.insert(3, "neighbourhood_incidents", np.round(gdf["neighbourhood_count"].to_numpy(dtype=float)).astype(np.int64))
    ids = [str(int(i)) for i in out["area_id"]]
    if places is not None:  # with no area too: an empty table has the columns of a full one
        named = places.set_index(places["area_id"].astype(np.int64)) if "area_id" in places.columns else places
        for col, src in (("place", "label"), ("streets", "streets"), ("districts", "districts")):
            values = (named[src].reindex(out["area_id"]).to_numpy(dtype=object) if src in named.columns
                      else np.full(len(out), None, dtype=object))
            out.insert(1 if col == "place" else len(out.columns) - 1, col, values)
    if change is not None:
        t = change.table
        if "area_id" not in t.columns:
            raise ParameterError("`change` must be per-area change (`change_areas`), with an `area_id` column.")
        by_id = t.set_index(t["area_id"].astype(str))
        get = lambda col: [by_id[col].get(i) if i in by_id.index else None for i in ids]  # noqa: E731
        out["before"] = pd.array(get("n_before"), dtype="Int64")
        out["after"] = pd.array(get("n_after"), dtype="Int64")
        counts = (get("n_before"), get("n_after"))  # too few to show a change: "–" (style.percent_change)
        out["change_pct"] = style.percent_change(get("rate_ratio"), get("change_class"), *counts)
        if "rate_ratio_adjusted" in t.columns:  # the change the verdict was judged on
            out["change_adjusted_pct"] = style.percent_change(get("rate_ratio_adjusted"), get("change_class"), *counts)
        out["change_class"] = pd.Series(get("change_class"), dtype=object).fillna("not computed").to_numpy(dtype=object)
        out["change_note"] = style.join_notes(  # why "–"; a significant change the choice of hotspot months predicts
            style.percent_change_note(get("rate_ratio"), get("change_class"), *counts), change.selection_notes(out["area_id"])
        )
    elif len(out) == 0:  # no hotspot area, so no per-area change: its columns all the same (empty)
        out["before"], out["after"] = pd.array([], dtype="Int64"), pd.array([], dtype="Int64")
        out["change_pct"], out["change_class"] = np.array([], dtype=float), np.array([], dtype=object)
        out["change_note"] = np.array([], dtype=object)
    if displacement is not None:  # the same columns as csv/hotspot_areas.csv (hotspots.export.area_summary)
        for col, values in displacement.area_columns(out["area_id"]).items():
            out[col] = values
    if patterns is not None:
        out["emerging"] = patterns.set_index("area_id")["emerging"].reindex(out["area_id"]).astype(object).to_numpy()
    with_pub = publication is not None and publication.referrals_by_hotspot is not None
    if with_pub:
        from ..area_referrals import area_referral_figures

        for col, values in area_referral_figures(publication, ids).items():  # the columns of csv/hotspot_areas.csv
            out[col] = values
    elif linkage is not None:
        out["referrals"] = _suppressed_column(linkage.display, "hotspot", "referrals", ids)
        out["reparation_local_pct"] = _suppressed_column(linkage.display, "hotspot", "local_pct", ids)
        out["referrals"] = [0 if v is None else v for v in out["referrals"]]
    if not with_pub and kpis is not None:  # with the publication, its completed_pct and not_reoffended_pct are in
        tab = kpis.table
        key = tab.columns[0]
        out["completed_pct"] = _suppressed_column(tab, key, "completed_pct", ids)
        out["not_reoffended_pct"] = _suppressed_column(tab, key, "not_reoffended_pct", ids)
    return out


#: Labels of :func:`hotspot_area_table`'s columns (popups and tables).
AREA_LABELS = {
    "area_id": "Hotspot",
    "place": "Place",
    "rank": "Rank",
    "incidents": "Incidents",
    "neighbourhood_incidents": "Incidents within the Gi* distance band",
    "share_pct": "Share of incidents (%)",
    "area_km2": "Area (km²)",
    "density_per_km2": "Incidents per km²",
    "peak_confidence": "Peak Gi* confidence",
    "cells": "Cells",
    "before": "Before",
    "after": "After",
    "change_pct": "Change in rate (%)",
    "change_adjusted_pct": "Change adjusted for the year before (%)",
    "change_class": "Change",
    "change_note": "Why no change in %",
    "ring_change_pct": "Change in the ring around it (%)",
    "ring_change_class": "Ring's change",
    "ring_change_note": "Why no ring change in %",
    "emerging": "Over the months",
    "referrals": "Referrals",
    "reparation_local_pct": "Reparation local (%)",
    "completed_pct": "Completed, of concluded referrals (%)",
    "not_reoffended_pct": "Not re-offended (%)",
    "streets": "Top streets (incidents)",
    "districts": "Districts (incidents)",
}


def hotspot_areas_layer(
    table: gpd.GeoDataFrame,
    *,
    name: str = LAYER_NAMES["areas"],
    colour_by: str = "none",
    colour: str = "#7a0177",
    show: bool = True,
    position: str = "bottomleft",
) -> folium.FeatureGroup:
    """Hotspot areas as outlined polygons with a tooltip and a popup table.

    Parameters
    ----------
    table : GeoDataFrame
        From :func:`hotspot_area_table` (only its columns are sent to the browser).
    colour_by : {"none", "change"}
        ``"change"`` colours each outline by its change class (fall blue, rise red).
    colour : str
        Outline colour with ``colour_by="none"``.
    """
    table = require_gdf(table, "table")
    if "area_id" not in table.columns:
        raise SchemaError("`table` must come from `hotspot_area_table` (it has no `area_id` column).")
    if colour_by not in ("none", "change"):
        raise ParameterError(f"`colour_by` must be 'none' or 'change'; got {colour_by!r}.")
    if colour_by == "change" and "change_class" not in table.columns:
        raise ParameterError("`colour_by='change'` needs a table built with `change=` (per-area change).")
    group = feature_group(name, show)
    popup = [c for c in AREA_LABELS if c in table.columns]
    tips = [c for c in ("area_id", "place", "incidents", "change_pct", "referrals") if c in table.columns]
    formats = {"share_pct": ".1f", "area_km2": ".2f", "density_per_km2": ",.0f", "change_pct": "+.1f"}
    if len(table):
        if colour_by == "change":
            def style(row: pd.Series) -> dict[str, Any]:
                c = CHANGE_CLASS_COLOURS.get(row["change_class"], "#555555")
                return {"color": c, "weight": 2.5, "fillColor": c, "fillOpacity": 0.08, "opacity": 1.0}
        else:
            style = {"color": colour, "weight": 2.0, "fillColor": colour, "fillOpacity": 0.05, "opacity": 0.95}
        geojson_layer(
            table,
            fields=tips,
            aliases=[AREA_LABELS[c] for c in tips],
            popup_fields=popup,
            popup_aliases=[AREA_LABELS[c] for c in popup],
            formats=formats,
            style=style,
            name=name,
            simplify_m=0.0,
        ).add_to(group)
    if colour_by == "change":
        present = [c for c in CHANGE_CLASS_COLOURS if c in set(table.get("change_class", []))] or ["no significant change"]
        category_legend([(c, CHANGE_CLASS_COLOURS[c]) for c in present], title="Hotspot change", position=position).add_to(group)
    return make_offline(group)


def emerging_layer(
    trends: Any,
    *,
    name: str = LAYER_NAMES["emerging"],
    show: bool = False,
    position: str = "bottomright",
) -> folium.FeatureGroup:
    """Emerging hot spots (:class:`hotspots.emerging.EmergingResult`): the cells of each category
    (ArcGIS Pro's names) dissolved into one shape and filled with its colour
    (:data:`hotspots.style.EMERGING_COLOURS`); cells without a pattern are left clear. Off when
    the map opens unless ``show``."""
    from ..emerging import EmergingResult

    if not isinstance(trends, EmergingResult):
        raise ParameterError("`trends` must be `Analysis.emerging` (`hotspots.emerging_hotspots`).")
    colours = style.EMERGING_COLOURS
    counts = trends.counts.sum(axis=0).astype(float)
    table = _class_polygons(trends.grid, np.asarray(trends.labels), list(colours), {"incidents": counts})
    if len(table):
        table["incidents"] = table["incidents"].round().astype(np.int64)
    return _class_layer(
        table,
        colours=colours,
        fill_opacity=0.6,
        fields=["class", "cells", "incidents"],
        aliases=["Pattern", "Cells", "Incidents (all months)"],
        legend_classes=[c for c in colours if c in set(table["class"])],
        legend_title=f"Trend over {trends.n_steps} months",
        empty_text="no cell shows a pattern",
        name=name,
        position=position,
        show=show,
    )


def displacement_rings_layer(
    displacement: Any,
    *,
    name: str = LAYER_NAMES["rings"],
    show: bool = True,
    position: str = "bottomleft",
) -> folium.FeatureGroup:
    """The ring around each hotspot area, outlined dashed in the colour of its own change, where
    displaced harm would show (:class:`hotspots.displacement_rings.Displacement`).

    The tooltip names the hotspot area the ring surrounds, its incidents before and after and its
    change; the legend lists the classes present.
    """
    if not hasattr(displacement, "to_geodataframe") or not hasattr(displacement, "ring_change"):
        raise ParameterError("`displacement` must be `Analysis.displacement` (`hotspots.displacement_change`).")
    rings = displacement.to_geodataframe()
    # the change as judged (placebo-adjusted when the rings were), as csv/hotspot_areas.csv's ring_change_pct
    rt = displacement.ring_change.table
    rings["change_pct"] = style.percent_change(displacement.ring_change.judged_rate_ratio().to_numpy(),
                                               rt["change_class"].to_numpy(dtype=object), rt["n_before"], rt["n_after"])
    group = feature_group(name, show)
    tips = ["around_area", "n_before", "n_after", "change_pct", "change_class"]
    labels = ["Ring around hotspot area", "Incidents before", "Incidents after", "Change (%)", "Change"]
    if len(rings):
        def ring_style(row: pd.Series) -> dict[str, Any]:
            c = CHANGE_CLASS_COLOURS.get(row["change_class"], "#555555")
            return {"color": c, "weight": 1.5, "dashArray": "5 4", "fillColor": c, "fillOpacity": 0.04, "opacity": 0.9}

        geojson_layer(rings, fields=tips, aliases=labels, formats={"change_pct": "+.1f"}, style=ring_style, name=name,
                      simplify_m=0.0).add_to(group)
    present = [c for c in CHANGE_CLASS_COLOURS if c in set(rings["change_class"])] or ["no significant change"]
    title = f"{displacement.label[0].upper()}{displacement.label[1:]}: change"
    category_legend([(c, CHANGE_CLASS_COLOURS[c]) for c in present], title=title, position=position).add_to(group)
    return make_offline(group)


# =============================================================================== change
def change_cells_layer(
    change: Any,
    *,
    name: str = LAYER_NAMES["change"],
    classes: Sequence[str] = ("significant fall", "significant rise"),
    position: str = "bottomleft",
    show: bool = True,
) -> folium.FeatureGroup:
    """Cells whose incident rate changed significantly between the two periods.

    Parameters
    ----------
    change : ChangeResult
        Per-cell change (:attr:`hotspots.Analysis.change_cells`).
    classes : sequence of str
        Classes to draw (of :data:`hotspots.change.CHANGE_CLASSES`). A cell of a hotspot area whose
        change the choice of hotspot months predicts (its ``change_note``,
        :func:`hotspots.cell_selection.with_hotspot_cells`) is drawn in its class's colour under the
        class followed by the caveat, e.g. "significant fall (expected from how hotspots were chosen)".
    """
    if getattr(change, "unit", None) != "cell" or change.grid is None:
        raise ParameterError("`change` must be per-cell change (`change_cells`).")
    bad = [c for c in classes if c not in CHANGE_CLASS_COLOURS]
    if bad:
        raise ParameterError(f"unknown change class(es) {bad}; choose from {list(CHANGE_CLASS_COLOURS)}.")
    grid = change.grid
    labels = np.full(grid.shape, "", dtype=object)
    t = change.table
    said = t["change_class"].astype(object).to_numpy()
    colours, drawn = dict(CHANGE_CLASS_COLOURS), list(classes)
    if "change_note" in t.columns:  # regression to the mean: the class with its caveat, as the areas' tables say it
        note = t["change_note"].to_numpy(dtype=object)
        said = np.where(pd.notna(note), [f"{c} ({n})" for c, n in zip(said, note)], said)
        for c in classes:
            for caveated in sorted({x for x in said if str(x).startswith(f"{c} (")}):
                colours[caveated] = CHANGE_CLASS_COLOURS[c]
                drawn.insert(drawn.index(c) + 1, caveated)
    labels[t["row"].to_numpy(), t["col"].to_numpy()] = said
    before = np.zeros(grid.shape)
    after = np.zeros(grid.shape)
    before[t["row"].to_numpy(), t["col"].to_numpy()] = t["n_before"].to_numpy(dtype=float)
    after[t["row"].to_numpy(), t["col"].to_numpy()] = t["n_after"].to_numpy(dtype=float)
    table = _class_polygons(grid, labels, drawn, {"before": before, "after": after})
    if len(table):
        for c in ("before", "after"):
            table[c] = table[c].round().astype(np.int64)
    return _class_layer(
        table,
        colours=colours,
        fill_opacity=0.6,
        fields=["class", "cells", "before", "after"],
        aliases=["Change", "Cells", "Incidents before", "Incidents after"],
        legend_classes=[c for c in drawn if len(table) and c in set(table["class"])],  # only those on the map
        legend_title="Change in cells",
        empty_text="no cell changed significantly",
        name=name,
        position=position,
        show=show,
    )


# =============================================================================== clusters
def clusters_layer(
    result: Any,
    *,
    name: str | None = None,
    colour: str = "#006d2c",
    show: bool = False,
) -> folium.FeatureGroup:
    """DBSCAN/HDBSCAN cluster polygons with their incident counts."""
    from ..clustering import ClusterResult

    if not isinstance(result, ClusterResult):
        raise ParameterError(f"`result` must be a ClusterResult (e.g. `analysis.clusters`); got {type(result).__name__}.")
    method = str(result.params.get("method", "clusters")).upper()
    label = name or f"{LAYER_NAMES['clusters']} ({method})"
    group = feature_group(label, show)
    polys = result.polygons
    if len(polys):
        fields = [c for c in ("cluster", "n_points", "rank", "single_point") if c in polys.columns]
        aliases = {"cluster": "Cluster", "n_points": "Incidents", "rank": "Rank", "single_point": "All at one map point"}
        geojson_layer(
            polys,
            fields=fields,
            aliases=[aliases[f] for f in fields],
            style={"color": colour, "weight": 1.5, "fillColor": colour, "fillOpacity": 0.15, "dashArray": "4 3"},
            name=label,
            simplify_m=5.0,
        ).add_to(group)
    return make_offline(group)
