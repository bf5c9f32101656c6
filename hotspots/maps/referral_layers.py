"""Person-level layers for the hotspot manager's map: referral origins, reparative task sites and
referral → task lines.

Privacy
-------
Referral locations are person-level data. They are never drawn as points: :func:`snap_points`
aggregates them to the centres of ``snap_m`` metre squares (250 m by default) and the counts
shown are suppressed below the threshold (1–4 shown as ``"<5"``); referral → task lines start
from the same snapped squares and are aggregated per (square, task site). Only non-identifying
fields reach the browser.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template

from .. import style
from .._errors import ParameterError, SchemaError
from ..grid import BNG
from ..privacy import SUPPRESSION_THRESHOLD, suppress_count
from .base import project_geoms
from .escape import css_colour, escape_html, format_value, js_json
from .groups import LAYER_NAMES, feature_group, latlon, require_gdf
from .layers import category_legend, marker_cluster
from .offline import make_offline

__all__ = [
    "TASK_KIND_COLOURS",
    "TASK_KIND_CODES",
    "DEFAULT_SNAP_M",
    "snap_points",
    "referral_origins_layer",
    "task_sites_layer",
    "referral_task_pairs",
    "referral_task_lines_layer",
]

#: Reparative task kinds and the colour of their dot (:data:`hotspots.style.TASK_KIND_COLOURS`).
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
DEFAULT_SNAP_M = 250.0

_OTHER_KIND_COLOUR = style.OTHER_KIND_COLOUR


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
    points = require_gdf(points, "points")
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
    group = feature_group(label, show)
    if len(snapped):
        ll = latlon(snapped.geometry.values, snapped.crs)
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
    lines = require_gdf(lines, "lines")
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
    group = feature_group(name, show)
    local_colour, far_colour = "#1a9850", "#f46d43"
    if len(pairs):
        ends = shapely.get_coordinates(pairs.geometry.values).reshape(-1, 2, 2)
        o = latlon(shapely.points(ends[:, 0, :]), pairs.crs)
        t = latlon(shapely.points(ends[:, 1, :]), pairs.crs)
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
    tasks = require_gdf(tasks, "tasks")
    if "kind" not in tasks.columns:
        raise SchemaError("`tasks` has no `kind` column; load them with `hotspots.io.load_tasks`.")
    t = tasks[~(tasks.geometry.isna() | tasks.geometry.is_empty)].copy()
    t["kind"] = t["kind"].astype(object).where(t["kind"].notna(), "not recorded")
    t["code"] = [TASK_KIND_CODES.get(k, "?") for k in t["kind"]]
    popup = [c for c in ("site_name", "kind", "town", "task_id") if c in t.columns]
    labels = {"site_name": "Site", "kind": "Kind", "town": "Town", "task_id": "Task id"}
    group = feature_group(name, show)
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
