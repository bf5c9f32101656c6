"""Domain layers for the hotspot manager's map: density, Gi* classes, hotspot areas, referrals,
reparative task sites, referral → task lines, before/after change.

Every function returns a :class:`folium.FeatureGroup` named for the layer control, holding the
drawn layer and its legend (a legend follows its group: it disappears when the group is switched
off). Groups can be added to a map with ``group.add_to(m)`` or handed to streamlit-folium as
``st_folium(m, feature_group_to_add=[...], layer_control=scheme_layer_control())``: the map
frame is then built once and only the groups are replaced when the analysis changes (no frame
reload). Such a base map needs :func:`layer_support` (styles and the marker-cluster script that
later groups rely on).

Privacy
-------
Referral locations are person-level data. They are never drawn as points: :func:`snap_points`
aggregates them to the centres of ``snap_m`` metre squares (250 m by default) and the counts
shown are suppressed below the threshold (1–4 shown as ``"<5"``); referral → task lines start
from the same snapped squares and are aggregated per (square, task site). Only non-identifying
fields reach the browser.

Escaping
--------
All text from data goes through :mod:`hotspots.maps.escape` (GeoJSON tooltips and popups) or is
set with ``textContent`` (marker popups); layer names are escaped too (Leaflet's layer control
shows them as HTML).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import folium.elements
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from .. import style
from .._errors import ParameterError, SchemaError
from ..grid import BNG, GridValues
from ..privacy import SUPPRESSION_THRESHOLD, suppress_count
from .base import project_geoms
from .escape import css_colour, escape_html, format_value, js_json
from .offline import make_offline
from .layers import LEGEND_CSS, category_legend, geojson_layer, legend, marker_cluster, marker_css, raster_overlay

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
    "referral_task_pairs",
    "referral_task_lines_layer",
    "change_cells_layer",
    "clusters_layer",
    "dissolve_cells",
]

#: Gi* classes, change classes and task kinds with their colours (one set for every output: :mod:`hotspots.style`).
GI_CLASS_COLOURS = style.GI_CLASS_COLOURS
CHANGE_CLASS_COLOURS = style.CHANGE_CLASS_COLOURS
TASK_KIND_COLOURS = style.TASK_KIND_COLOURS
#: Two-letter label drawn in each task-site dot (icon fonts cannot work offline).
TASK_KIND_CODES: dict[str, str] = {
    "litter picking": "LP",
    "allotment": "AL",
    "food bank": "FB",
    "charity shop": "CS",
    "village hall": "VH",
    "bird and bat boxes": "BB",
    "workshop": "WS",
}
#: Layer names used by the app (layer control labels).
LAYER_NAMES: dict[str, str] = {
    "density": "ASB density (KDE)",
    "gi": "Gi* hot and cold spots",
    "areas": "Hotspot areas",
    "clusters": "Point clusters",
    "referrals": "Referral origins",
    "tasks": "Reparative task sites",
    "lines": "Referral → task",
    "change": "Change in cells",
}
#: Default size of the squares referral locations are snapped to, metres.
DEFAULT_SNAP_M = 250.0

_OTHER_KIND_COLOUR = style.OTHER_KIND_COLOUR


# =============================================================================== map support
class LayerSupport(folium.elements.JSCSSMixin, MacroElement):
    """Styles and scripts that layers added later (in feature groups) rely on.

    Put one on a base map that will receive groups through streamlit-folium's
    ``feature_group_to_add``: the component frame loads scripts and the page header only when it
    is first built, so the legend and marker styles and the marker-cluster plugin must already
    be there. :func:`hotspots.maps.make_offline` inlines the scripts like any other asset.
    """

    _template = Template("""{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}""")
    default_js = list(MarkerCluster.default_js)
    default_css = list(MarkerCluster.default_css)

    def __init__(self, marker_size: int = 18):
        super().__init__()
        self._name = "HotspotsLayerSupport"
        self.css = LEGEND_CSS + marker_css(marker_size) + _EXTRA_CSS


_EXTRA_CSS = """
.hotspots-area-label { background: transparent; border: none; box-shadow: none; font: bold 11px sans-serif; }
"""


def layer_support(m: folium.Map | None = None, *, marker_size: int = 18) -> LayerSupport:
    """A :class:`LayerSupport` element, added to ``m`` when given."""
    el = LayerSupport(marker_size)
    if m is not None:
        el.add_to(m)
    return el


class SchemeLayerControl(folium.LayerControl):
    """A layer control that honours each group's ``show`` flag and remembers the user's choices.

    streamlit-folium adds every group of ``feature_group_to_add`` to the map, whatever its
    ``show``; this control then removes the groups that should start hidden. When the groups are
    replaced (a setting changed), the layers the user switched on or off keep that state for as
    long as the page is open (kept in the browser, per map and layer name).
    """

    _template = Template(
        """
        {% macro script(this,kwargs) %}
            var {{ this.get_name() }}_layers = {
                base_layers : {
                    {%- for key, val in this.base_layers.items() %}
                    {{ key|tojson }} : {{val}},
                    {%- endfor %}
                },
                overlays :  {
                    {%- for key, val in this.overlays.items() %}
                    {{ key|tojson }} : {{val}},
                    {%- endfor %}
                },
            };
            let {{ this.get_name() }} = L.control.layers(
                {{ this.get_name() }}_layers.base_layers,
                {{ this.get_name() }}_layers.overlays,
                {{ this.options|tojavascript }}
            ).addTo({{this._parent.get_name()}});
            (function() {
                var map = {{ this._parent.get_name() }}, ctrl = {{ this.get_name() }};
                var overlays = {{ this.get_name() }}_layers.overlays;
                var shown = {{ this.shown|tojson }};
                var prefix = {{ this._parent.get_name()|tojson }} + '|';
                var memory = window.__hotspotsLayers = window.__hotspotsLayers || {};
                Object.keys(overlays).forEach(function(key) {
                    var on = (prefix + key) in memory ? memory[prefix + key] : shown[key] !== false;
                    if (on && !map.hasLayer(overlays[key])) { map.addLayer(overlays[key]); }
                    if (!on && map.hasLayer(overlays[key])) { map.removeLayer(overlays[key]); }
                });
                // Remember only what the user ticks: Leaflet also fires overlayadd/overlayremove
                // when layers are added or removed by code (e.g. groups being replaced).
                if (map.__hotspotsLayerHook) { map.off('overlayadd overlayremove', map.__hotspotsLayerHook); }
                map.__hotspotsLayerHook = function(e) {
                    if (ctrl._handlingClick) { memory[prefix + e.name] = (e.type === 'overlayadd'); }
                };
                map.on('overlayadd overlayremove', map.__hotspotsLayerHook);
            })();
        {% endmacro %}
        """
    )

    def __init__(self, *, collapsed: bool = False, position: str = "topright"):
        if position not in {"topright", "topleft", "bottomright", "bottomleft"}:
            raise ParameterError(f"`position` must be 'topright', 'topleft', 'bottomright' or 'bottomleft'; got {position!r}.")
        super().__init__(position=position, collapsed=collapsed)
        self.shown: dict[str, bool] = {}

    def render(self, **kwargs: Any) -> None:
        self.shown = {
            item.layer_name: bool(item.show)
            for item in self._parent._children.values()
            if isinstance(item, folium.map.Layer) and item.control and item.overlay
        }
        super().render(**kwargs)


def scheme_layer_control(m: folium.Map | None = None, *, collapsed: bool = False, position: str = "topright") -> SchemeLayerControl:
    """A :class:`SchemeLayerControl`, added to ``m`` when given (add it after the last layer)."""
    ctrl = SchemeLayerControl(collapsed=collapsed, position=position)
    if m is not None:
        ctrl.add_to(m)
    return ctrl


class _Group(folium.FeatureGroup):
    """A feature group whose assets are inlined (no CDN) whenever it is rendered.

    Groups handed to streamlit-folium's ``feature_group_to_add`` are not part of the map when the
    map inlines its own assets, so each group does it for itself (and the functions here call
    :func:`make_offline` on it before returning it, for the scripts streamlit-folium collects).
    """

    def render(self, **kwargs: Any) -> None:
        make_offline(self)
        super().render(**kwargs)


def _group(name: str, show: bool) -> folium.FeatureGroup:
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"`name` must be a non-empty layer name; got {name!r}.")
    return _Group(name=escape_html(name), show=bool(show), overlay=True, control=True)


def _as_gdf(obj: Any, name: str) -> gpd.GeoDataFrame:
    if not isinstance(obj, gpd.GeoDataFrame):
        raise ParameterError(f"`{name}` must be a GeoDataFrame; got {type(obj).__name__}.")
    if obj.crs is None:
        from .._errors import CRSError

        raise CRSError(f"`{name}` has no CRS; set it with `.set_crs(27700)` (or the CRS it is in).")
    return obj


# =============================================================================== compact vectors
_ROWS_SCRIPT = """
var {{ this.get_name() }} = (function() {
    var labels = {{ this.labels_json }}, colours = {{ this.colours_json }}, rows = {{ this.rows_json }};
    var style = {{ this.style_json }}, first = {{ this.first_text }};
    var group = L.featureGroup();
    function table(row) {
        var t = document.createElement('table');
        t.className = 'hotspots-popup';
        for (var i = 0; i < labels.length; i++) {
            var tr = t.insertRow(), th = document.createElement('th');
            th.textContent = labels[i];
            tr.appendChild(th);
            tr.insertCell().textContent = row[first + i];
        }
        return t;
    }
    // Built when first shown: a group that starts hidden (added, then removed at once by the
    // layer control) costs nothing until the user switches it on.
    var built = false;
    function build() {
        if (built) { return; }
        built = true;
        rows.forEach(function(r) {
            var layer;
            {%- if this.kind == 'circles' %}
            layer = L.circleMarker([r[0], r[1]], Object.assign({}, style, {radius: r[2], fillColor: colours[r[3]]}));
            {%- else %}
            layer = L.polyline([[r[0], r[1]], [r[2], r[3]]], Object.assign({}, style, {weight: r[4], color: colours[r[5]]}));
            {%- endif %}
            if (labels.length) { layer.bindTooltip(function() { return table(r); }, {sticky: true}); }
            layer.addTo(group);
        });
    }
    group.on('add', function() { setTimeout(function() { if (group._map) { build(); } }, 0); });
    return group;
})();
"""


class _RowsLayer(folium.map.Layer):
    """Circles or two-point lines drawn in the browser from one compact array.

    Much lighter than GeoJSON with a style per feature: each row is a few numbers plus the
    tooltip values, written with :func:`~hotspots.maps.escape.js_json` and shown with
    ``textContent`` (never parsed as HTML).
    """

    _template = Template("{% macro script(this, kwargs) %}" + _ROWS_SCRIPT + "{% endmacro %}")

    def __init__(self, kind: str, rows: list[list[Any]], labels: Sequence[str], colours: Sequence[str], style: Mapping[str, Any], *, name: str, show: bool = True):
        super().__init__(name=escape_html(name), overlay=True, control=False, show=show)
        self._name = "HotspotsRows"
        self.kind = kind
        self.rows = rows
        self.labels = [str(x) for x in labels]
        self.colours = [css_colour(c) for c in colours]
        self.style = dict(style)
        self.first = 4 if kind == "circles" else 6

    @property
    def rows_json(self) -> str:
        return js_json(self.rows)

    @property
    def labels_json(self) -> str:
        return js_json(self.labels)

    @property
    def colours_json(self) -> str:
        return js_json(self.colours)

    @property
    def style_json(self) -> str:
        return js_json(self.style)

    @property
    def first_text(self) -> str:
        return str(int(self.first))


def _latlon(geoms: Any, crs: Any = BNG) -> np.ndarray:
    """(n, 2) latitude, longitude of points (in ``crs``), rounded to 6 decimals (~0.1 m)."""
    xy = shapely.get_coordinates(project_geoms(geoms, crs, 4326)) if len(geoms) else np.empty((0, 2))
    return np.round(xy[:, ::-1], 6)


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


def _class_polygons(grid: Any, labels: np.ndarray, classes: Sequence[str], extra: Mapping[str, np.ndarray] | None = None) -> gpd.GeoDataFrame:
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
    group = _group(name, show)
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

    Classes with no cell are left out; order as :data:`GI_CLASS_COLOURS`.
    """
    from ..gistar import GiStarResult

    if not isinstance(gi, GiStarResult):
        raise ParameterError(f"`gi` must be a GiStarResult (e.g. `analysis.gi`); got {type(gi).__name__}.")
    classes = [c for c in GI_CLASS_COLOURS if include_cold or c.startswith("hot")]
    counts = np.nan_to_num(np.asarray(gi.counts.values, dtype=float))
    table = _class_polygons(gi.grid, gi.classes, classes, {"incidents": counts})
    if len(table):
        table["incidents"] = table["incidents"].round().astype(np.int64)
    table.attrs["classes"] = classes
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
    group = _group(name, show)
    if len(table):
        geojson_layer(
            table,
            fields=["class", "cells", "incidents"],
            aliases=["Gi* class", "Cells", "Incidents"],
            style=lambda row: {
                "color": GI_CLASS_COLOURS[row["class"]], "weight": 0.5, "fillColor": GI_CLASS_COLOURS[row["class"]],
                "fillOpacity": 0.55, "opacity": 0.8,
            },
            name=name,
            simplify_m=0.0,
            highlight=False,
        ).add_to(group)
    category_legend([(c, GI_CLASS_COLOURS[c]) for c in classes], title="Gi* class", position=position).add_to(group)
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

    Returns
    -------
    GeoDataFrame
        ``area_id``, ``rank``, ``incidents``, ``share_pct``, ``area_km2``, ``density_per_km2``,
        ``peak_confidence``, ``cells``; with ``change``: ``before``, ``after``, ``change_pct``
        (rate ratio − 1, in %), ``change_class``; with ``linkage``: ``referrals`` and
        ``local_reparation_pct`` (as displayed: ``"<5"``/``"c"`` when suppressed); with
        ``kpis``: ``completed_pct``, ``not_reoffended_pct``. Geometry in the areas' CRS.
    """
    from ..areas import HotspotAreas

    gdf = areas.areas if isinstance(areas, HotspotAreas) else _as_gdf(areas, "areas")
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
    ids = [str(int(i)) for i in out["area_id"]]
    if change is not None:
        t = change.table
        if "area_id" not in t.columns:
            raise ParameterError("`change` must be per-area change (`change_areas`), with an `area_id` column.")
        by_id = t.set_index(t["area_id"].astype(str))
        get = lambda col: [by_id[col].get(i) if i in by_id.index else None for i in ids]  # noqa: E731
        out["before"] = pd.array(get("n_before"), dtype="Int64")
        out["after"] = pd.array(get("n_after"), dtype="Int64")
        rr = pd.to_numeric(pd.Series(get("rate_ratio"), dtype=object), errors="coerce").to_numpy(dtype=float)
        out["change_pct"] = np.round(100.0 * (rr - 1.0), 1)
        out["change_class"] = pd.Series(get("change_class"), dtype=object).fillna("not computed").to_numpy(dtype=object)
    if linkage is not None:
        out["referrals"] = _suppressed_column(linkage.display, "hotspot", "referrals", ids)
        out["local_reparation_pct"] = _suppressed_column(linkage.display, "hotspot", "local_pct", ids)
        out["referrals"] = [0 if v is None else v for v in out["referrals"]]
    if kpis is not None:
        tab = kpis.table
        key = tab.columns[0]
        out["completed_pct"] = _suppressed_column(tab, key, "completed_pct", ids)
        out["not_reoffended_pct"] = _suppressed_column(tab, key, "not_reoffended_pct", ids)
    return out


#: Labels of :func:`hotspot_area_table`'s columns (popups and tables).
AREA_LABELS = {
    "area_id": "Hotspot",
    "rank": "Rank",
    "incidents": "Incidents",
    "share_pct": "Share of incidents (%)",
    "area_km2": "Area (km²)",
    "density_per_km2": "Incidents per km²",
    "peak_confidence": "Peak Gi* confidence",
    "cells": "Cells",
    "before": "Before",
    "after": "After",
    "change_pct": "Change in rate (%)",
    "change_class": "Change",
    "referrals": "Referrals",
    "local_reparation_pct": "Reparation local (%)",
    "completed_pct": "Completed (%)",
    "not_reoffended_pct": "Not re-offended (%)",
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
    table = _as_gdf(table, "table")
    if "area_id" not in table.columns:
        raise SchemaError("`table` must come from `hotspot_area_table` (it has no `area_id` column).")
    if colour_by not in ("none", "change"):
        raise ParameterError(f"`colour_by` must be 'none' or 'change'; got {colour_by!r}.")
    if colour_by == "change" and "change_class" not in table.columns:
        raise ParameterError("`colour_by='change'` needs a table built with `change=` (per-area change).")
    group = _group(name, show)
    popup = [c for c in AREA_LABELS if c in table.columns]
    tips = [c for c in ("area_id", "incidents", "change_pct", "referrals") if c in table.columns]
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
        present = [c for c in CHANGE_CLASS_COLOURS if c in set(table.get("change_class", []))] or ["no change"]
        category_legend([(c, CHANGE_CLASS_COLOURS[c]) for c in present], title="Hotspot change", position=position).add_to(group)
    return make_offline(group)


# =============================================================================== referrals
def snap_points(points: gpd.GeoDataFrame, size_m: float = DEFAULT_SNAP_M, *, threshold: int = SUPPRESSION_THRESHOLD) -> gpd.GeoDataFrame:
    """Aggregate points to the centres of ``size_m`` metre squares (British National Grid).

    For person-level locations (referrals): nothing finer than the square is kept, and the count
    per square is given exactly (``count``, internal) and as displayed (``shown``: counts from 1
    to ``threshold − 1`` as ``"<5"``).

    Parameters
    ----------
    points : GeoDataFrame of points
        Any CRS (set); converted to EPSG:27700. Rows without a location are left out.
    size_m : float
        Side of the squares, metres (squares aligned on multiples of ``size_m``).
    threshold : int
        Suppression threshold of the displayed counts.

    Returns
    -------
    GeoDataFrame
        One row per occupied square: ``count`` (int), ``shown`` (str), geometry = the square's
        centre, EPSG:27700; sorted west to east, then south to north (not in input order).
    """
    points = _as_gdf(points, "points")
    try:
        s = float(size_m)
    except (TypeError, ValueError):
        raise ParameterError(f"`size_m` must be a number of metres; got {size_m!r}.") from None
    if not (math.isfinite(s) and s > 0):
        raise ParameterError(f"`size_m` must be a positive number of metres; got {size_m!r}.")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise ParameterError(f"`threshold` must be a whole number >= 1; got {threshold!r}.")
    geoms = points.geometry
    keep = ~(geoms.isna() | geoms.is_empty)
    geoms = geoms[keep]
    if len(geoms) and not np.all(shapely.get_type_id(geoms.values) == 0):
        raise ParameterError("`points` must hold Point geometries.")
    xy = shapely.get_coordinates(project_geoms(geoms.values, geoms.crs, BNG)) if len(geoms) else np.empty((0, 2))
    ok = np.all(np.isfinite(xy), axis=1)
    xy = xy[ok]
    ix = np.floor(xy[:, 0] / s).astype(np.int64)
    iy = np.floor(xy[:, 1] / s).astype(np.int64)
    if len(ix):
        keys, counts = np.unique(np.column_stack([ix, iy]), axis=0, return_counts=True)
    else:
        keys, counts = np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.int64)
    cx = keys[:, 0] * s + s / 2
    cy = keys[:, 1] * s + s / 2
    shown = [str(suppress_count(int(c), threshold)) for c in counts]
    out = gpd.GeoDataFrame(
        {"count": counts.astype(np.int64), "shown": shown},
        geometry=gpd.points_from_xy(cx, cy),
        crs=BNG,
    )
    out.attrs["snapped_m"] = s
    out.attrs["threshold"] = int(threshold)
    return out


def referral_origins_layer(
    referrals: gpd.GeoDataFrame,
    *,
    snap_m: float = DEFAULT_SNAP_M,
    threshold: int = SUPPRESSION_THRESHOLD,
    name: str | None = None,
    colour: str = "#6a3d9a",
    show: bool = True,
) -> folium.FeatureGroup:
    """Where referrals' behaviour happened, snapped to ``snap_m`` squares (never raw points).

    One circle per occupied square, its area proportional to the number of referrals, with the
    count shown suppressed (``"<5"``) in the tooltip. ``referrals`` may also be the output of
    :func:`snap_points` (e.g. cached by the caller); its own square size is then used.
    """
    if isinstance(referrals, gpd.GeoDataFrame) and "snapped_m" in referrals.attrs:
        snapped = referrals
        snap_m = float(referrals.attrs["snapped_m"])
    else:
        snapped = snap_points(referrals, snap_m, threshold=threshold)
    label = name or f"{LAYER_NAMES['referrals']} ({snap_m:g} m squares)"
    group = _group(label, show)
    if len(snapped):
        ll = _latlon(snapped.geometry.values, snapped.crs)
        radius = np.round(np.clip(2.5 * np.sqrt(snapped["count"].to_numpy(dtype=float)), 3.0, 18.0), 1)
        square = f"{snap_m:g} m"
        rows = [[lat, lon, r, 0, shown, square] for (lat, lon), r, shown in zip(ll.tolist(), radius.tolist(), snapped["shown"].tolist())]
        _RowsLayer(
            "circles", rows, ["Referrals", "Square"], [colour],
            {"color": "#ffffff", "weight": 1, "fillOpacity": 0.7, "opacity": 0.9},
            name=label,
        ).add_to(group)
    category_legend([(f"referrals per {snap_m:g} m square (area ∝ count)", colour)], position="topleft").add_to(group)
    return make_offline(group)


def referral_task_pairs(lines: gpd.GeoDataFrame, *, threshold: int = SUPPRESSION_THRESHOLD) -> gpd.GeoDataFrame:
    """Referral → task lines aggregated per (snapped origin, task site), with suppressed counts.

    Parameters
    ----------
    lines : GeoDataFrame
        From :func:`hotspots.linkage.referral_task_lines` (origins already snapped).

    Returns
    -------
    GeoDataFrame
        ``task_id``, ``task_kind``, ``task_site`` (when known), ``referrals`` (exact, int),
        ``shown`` (suppressed), ``local`` (share of the pair's referrals whose reparation was
        local, rounded to whole percent when at least ``threshold`` are behind it, else
        ``"c"``), ``distance_m`` (rounded to 100 m), LineString geometry in EPSG:27700.
    """
    lines = _as_gdf(lines, "lines")
    if "task_id" not in lines.columns:
        raise SchemaError("`lines` must come from `referral_task_lines` (it has no `task_id` column).")
    if len(lines) == 0:
        empty = gpd.GeoDataFrame({"task_id": [], "referrals": [], "shown": []}, geometry=[], crs=lines.crs)
        empty.attrs["pairs"] = True
        return empty
    coords = shapely.get_coordinates(project_geoms(lines.geometry.values, lines.crs, BNG)).reshape(-1, 4)
    df = pd.DataFrame({"ox": coords[:, 0], "oy": coords[:, 1], "tx": coords[:, 2], "ty": coords[:, 3], "task_id": lines["task_id"].astype(str).to_numpy()})
    for c in ("task_kind", "task_site"):
        if c in lines.columns:
            df[c] = lines[c].astype(object).to_numpy()
    df["local"] = lines["reparation_local"].astype(bool).to_numpy() if "reparation_local" in lines.columns else False
    keys = ["ox", "oy", "tx", "ty", "task_id"]
    extra = [c for c in ("task_kind", "task_site") if c in df.columns]
    g = df.groupby(keys, sort=True, dropna=False)
    agg = g.agg(referrals=("task_id", "size"), local_n=("local", "sum"), **{c: (c, "first") for c in extra}).reset_index()
    n = agg["referrals"].to_numpy()
    local = agg["local_n"].to_numpy()
    agg["shown"] = [str(suppress_count(int(v), threshold)) for v in n]
    agg["local"] = [f"{round(100 * lo / v):d}" if v >= threshold else "c" for lo, v in zip(local, n)]
    dist = np.hypot(agg["tx"] - agg["ox"], agg["ty"] - agg["oy"]).to_numpy()
    agg["distance_m"] = (np.round(dist / 100.0) * 100.0).astype(np.int64)
    geom = shapely.linestrings(np.stack([agg[["ox", "oy"]].to_numpy(), agg[["tx", "ty"]].to_numpy()], axis=1))
    cols = ["task_id", *extra, "referrals", "shown", "local", "distance_m"]
    out = gpd.GeoDataFrame(agg[cols].reset_index(drop=True), geometry=geom, crs=BNG)
    out.attrs["pairs"] = True
    return out


def referral_task_lines_layer(
    lines: gpd.GeoDataFrame,
    *,
    threshold: int = SUPPRESSION_THRESHOLD,
    name: str = LAYER_NAMES["lines"],
    show: bool = False,
) -> folium.FeatureGroup:
    """Lines from (snapped) referral origins to their reparative task sites, aggregated per pair.

    Line width grows with the number of referrals; green where most reparation was local.
    Off by default (``show=False``). ``lines`` may also be the output of
    :func:`referral_task_pairs` (e.g. cached by the caller).
    """
    pairs = lines if "pairs" in getattr(lines, "attrs", {}) else referral_task_pairs(lines, threshold=threshold)
    group = _group(name, show)
    local_colour, far_colour = "#1a9850", "#f46d43"
    if len(pairs):
        ends = shapely.get_coordinates(pairs.geometry.values).reshape(-1, 2, 2)
        o = _latlon(shapely.points(ends[:, 0, :]), pairs.crs)
        t = _latlon(shapely.points(ends[:, 1, :]), pairs.crs)
        width = np.round(np.minimum(1.0 + pairs["referrals"].to_numpy(dtype=float) / 5.0, 6.0), 1)
        good = np.array([v != "c" and int(v) >= 50 for v in pairs["local"]])
        fields = [c for c in ("shown", "task_kind", "task_site", "distance_m", "local") if c in pairs.columns]
        labels = {"shown": "Referrals", "task_kind": "Task", "task_site": "Site", "distance_m": "Distance (m)", "local": "Local (%)"}
        values = [[format_value(v) for v in pairs[f].tolist()] for f in fields]
        rows = [
            [o[i, 0], o[i, 1], t[i, 0], t[i, 1], float(width[i]), 0 if good[i] else 1, *(col[i] for col in values)]
            for i in range(len(pairs))
        ]
        _RowsLayer("lines", rows, [labels[f] for f in fields], [local_colour, far_colour], {"opacity": 0.55}, name=name).add_to(group)
    category_legend([("mostly local reparation", local_colour), ("mostly elsewhere", far_colour)], title=name, position="topleft").add_to(group)
    return make_offline(group)


# =============================================================================== task sites
def task_sites_layer(
    tasks: gpd.GeoDataFrame,
    *,
    name: str = LAYER_NAMES["tasks"],
    show: bool = True,
    size: int = 18,
    position: str = "bottomleft",
) -> folium.FeatureGroup:
    """Reparative task sites as coloured dots labelled by kind (e.g. ``FB`` food bank).

    Popups show the site name, kind, town and id as text (never parsed as HTML).
    """
    tasks = _as_gdf(tasks, "tasks")
    if "kind" not in tasks.columns:
        raise SchemaError("`tasks` has no `kind` column; load them with `hotspots.io.load_tasks`.")
    t = tasks[~(tasks.geometry.isna() | tasks.geometry.is_empty)].copy()
    t["kind"] = t["kind"].astype(object).where(t["kind"].notna(), "not recorded")
    t["code"] = [TASK_KIND_CODES.get(k, "?") for k in t["kind"]]
    popup = [c for c in ("site_name", "kind", "town", "task_id") if c in t.columns]
    labels = {"site_name": "Site", "kind": "Kind", "town": "Town", "task_id": "Task id"}
    group = _group(name, show)
    if len(t):
        marker_cluster(
            t,
            popup_fields=popup,
            popup_aliases=[labels[c] for c in popup],
            tooltip_field="site_name" if "site_name" in t.columns else "kind",
            label_field="code",
            colour=_OTHER_KIND_COLOUR,
            colour_field="kind",
            colours=TASK_KIND_COLOURS,
            name=name,
            size=size,
            disable_clustering_at_zoom=12,
        ).add_to(group)
    present = [k for k in TASK_KIND_COLOURS if k in set(t["kind"])]
    items = [(f"{TASK_KIND_CODES[k]} {k}", TASK_KIND_COLOURS[k]) for k in present]
    if len(present) < t["kind"].nunique():
        items.append(("? other", _OTHER_KIND_COLOUR))
    if items:
        category_legend(items, title="Task sites", position=position).add_to(group)
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
        Classes to draw (of :data:`hotspots.change.CHANGE_CLASSES`).
    """
    if getattr(change, "unit", None) != "cell" or change.grid is None:
        raise ParameterError("`change` must be per-cell change (`change_cells`).")
    bad = [c for c in classes if c not in CHANGE_CLASS_COLOURS]
    if bad:
        raise ParameterError(f"unknown change class(es) {bad}; choose from {list(CHANGE_CLASS_COLOURS)}.")
    grid = change.grid
    labels = np.full(grid.shape, "", dtype=object)
    t = change.table
    labels[t["row"].to_numpy(), t["col"].to_numpy()] = t["change_class"].astype(object).to_numpy()
    before = np.zeros(grid.shape)
    after = np.zeros(grid.shape)
    before[t["row"].to_numpy(), t["col"].to_numpy()] = t["n_before"].to_numpy(dtype=float)
    after[t["row"].to_numpy(), t["col"].to_numpy()] = t["n_after"].to_numpy(dtype=float)
    table = _class_polygons(grid, labels, list(classes), {"before": before, "after": after})
    group = _group(name, show)
    if len(table):
        for c in ("before", "after"):
            table[c] = table[c].round().astype(np.int64)
        geojson_layer(
            table,
            fields=["class", "cells", "before", "after"],
            aliases=["Change", "Cells", "Incidents before", "Incidents after"],
            style=lambda row: {
                "color": CHANGE_CLASS_COLOURS[row["class"]], "weight": 0.5,
                "fillColor": CHANGE_CLASS_COLOURS[row["class"]], "fillOpacity": 0.6, "opacity": 0.8,
            },
            name=name,
            simplify_m=0.0,
            highlight=False,
        ).add_to(group)
    category_legend([(c, CHANGE_CLASS_COLOURS[c]) for c in classes], title="Change in cells", position=position).add_to(group)
    return make_offline(group)


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
    group = _group(label, show)
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
