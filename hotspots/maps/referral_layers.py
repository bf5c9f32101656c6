"""Person-level layers for the hotspot manager's map: referral origins, reparative task sites and
referral → task lines.

Privacy
-------
Referral locations are person-level data. They are never drawn as points, only as counts per
``snap_m`` metre square (250 m by default); referral → task lines are flows from a hotspot area
(or, outside hotspots, a town) to a task site. Both come from the analysis's
:class:`~hotspots.publication.SchemePublication`, protected together with every table, and a
symbol's size or width encodes only a *shown* count (every hidden count is drawn alike). The
layers are built only when shown (``show=False`` is refused), so a switched-off layer sends
nothing. Only non-identifying fields reach the browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.template import Template

from .. import style, validation
from .._errors import ParameterError, SchemaError
from ..disclosure import SUPPRESSION_THRESHOLD
from ..grid import BNG
from .base import project_geoms
from .escape import css_colour, escape_html, format_value, js_json
from .groups import LAYER_NAMES, feature_group, latlon, require_gdf
from .layers import POPUP_TABLE_JS, category_legend, marker_cluster
from .offline import make_offline

__all__ = [
    "TASK_KIND_COLOURS",
    "TASK_KIND_CODES",
    "DEFAULT_SNAP_M",
    "snap_points",
    "referral_origins_layer",
    "task_sites_layer",
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
    var labels = {{ this.json("labels") }}, colours = {{ this.json("colours") }}, rows = {{ this.json("rows") }};
    var style = {{ this.json("style") }}, first = {{ this.first_text }};
    var group = L.featureGroup();
    var popupTable = """ + POPUP_TABLE_JS + """;
    function table(row) { return popupTable(labels, row, first); }
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

    def __init__(self, kind: str, rows: list[list[Any]], labels: Sequence[str], colours: Sequence[str], style: Mapping[str, Any],
                 *, name: str, show: bool = True):
        super().__init__(name=escape_html(name), overlay=True, control=False, show=show)
        self._name = "HotspotsRows"
        self.kind = kind
        self.rows = rows
        self.labels = [str(x) for x in labels]
        self.colours = [css_colour(c) for c in colours]
        self.style = dict(style)
        self.first = 4 if kind == "circles" else 6

    def json(self, attribute: str) -> str:
        """One of ``rows``, ``labels``, ``colours``, ``style`` as JavaScript (for the template)."""
        return js_json(getattr(self, attribute))

    @property
    def first_text(self) -> str:
        return str(int(self.first))


# =============================================================================== referrals
def snap_points(points: gpd.GeoDataFrame, size_m: float = DEFAULT_SNAP_M, *, threshold: int = SUPPRESSION_THRESHOLD,
                unsafe: bool = False) -> gpd.GeoDataFrame:
    """Aggregate points to the centres of ``size_m`` metre squares (British National Grid).

    For person-level locations standing alone: nothing finer than the square is kept, and the
    count per square is given exactly (``count``, internal) and as it may be displayed
    (``shown``: protected by :func:`hotspots.export.gis.suppress_counts` against the total, so
    ``"<5"``, ``"c"`` or ``"x"``). Squares published with other tables of the same people must
    come from :func:`hotspots.publication.publish_scheme` instead (protected together).

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
    from ..export.gis import suppress_counts

    points = require_gdf(points, "points")
    s = validation.distance(size_m, "size_m")
    validation.whole(threshold, "threshold", low=1)
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
    _, shown = suppress_counts(counts, int(threshold), unsafe=unsafe)
    out = gpd.GeoDataFrame(
        {"count": counts.astype(np.int64), "shown": shown.tolist()},
        geometry=gpd.points_from_xy(cx, cy),
        crs=BNG,
    )
    out.attrs["snapped_m"] = s
    out.attrs["threshold"] = int(threshold)
    return out


def _origins_rows(source: Any, snap_m: float, threshold: int) -> tuple[list[Any], list[str], float]:
    """(centre points, shown markers, square side) of referral squares from any accepted source."""
    from ..publication import SchemePublication

    if isinstance(source, SchemePublication):
        source = source.origins if source.origins is not None else gpd.GeoDataFrame({"referrals_shown": []}, geometry=[], crs=BNG)
    if isinstance(source, gpd.GeoDataFrame) and "referrals_shown" in source.columns:
        side = float(source["square_m"].iloc[0]) if len(source) and "square_m" in source.columns else float(snap_m)
        centres = source.geometry.centroid if len(source) else source.geometry
        return list(centres.values), source["referrals_shown"].astype(str).tolist(), side
    if isinstance(source, gpd.GeoDataFrame) and "snapped_m" in source.attrs:
        return list(source.geometry.values), source["shown"].astype(str).tolist(), float(source.attrs["snapped_m"])
    snapped = snap_points(source, snap_m, threshold=threshold)
    return list(snapped.geometry.values), snapped["shown"].astype(str).tolist(), float(snap_m)


def _shown_int(v: str) -> int | None:
    return int(v) if v.isdigit() else None


def _person_layer_shown(show: bool) -> None:
    if not show:
        raise ParameterError(
            "person-level layers are built only when they are shown: a hidden layer would still send its counts to the "
            "browser. Add the layer when the user switches it on."
        )


def referral_origins_layer(
    referrals: Any,
    *,
    snap_m: float = DEFAULT_SNAP_M,
    threshold: int = SUPPRESSION_THRESHOLD,
    name: str | None = None,
    colour: str = style.REFERRAL_COLOUR,
    show: bool = True,
) -> folium.FeatureGroup:
    """Where referrals' behaviour happened, as ``snap_m`` squares (never raw points).

    One circle per occupied square with its count as published (``"<5"``, ``"c"``, ``"x"`` or the
    number) in the tooltip. The circle's area grows with the **shown** count only: every hidden
    square gets the same small circle, so nothing sent to the browser tells hidden counts apart.

    Parameters
    ----------
    referrals : SchemePublication, GeoDataFrame
        Best: the analysis's :class:`~hotspots.publication.SchemePublication` (or its ``origins``),
        protected with every other output. Also accepted: the output of :func:`snap_points`, or
        referral points (snapped and protected here, standing alone).
    show : bool
        Must be True: a person-level layer is added to a map only when it is to be shown.
    """
    _person_layer_shown(show)
    centres, shown, side = _origins_rows(referrals, snap_m, threshold)
    label = name or f"{LAYER_NAMES['referrals']} ({side:g} m squares)"
    group = feature_group(label, True)
    if centres:
        ll = latlon(np.asarray(centres, dtype=object), BNG)
        n = np.array([_shown_int(v) or 0 for v in shown], dtype=float)
        radius = np.where(n > 0, np.round(np.clip(2.5 * np.sqrt(n), 3.0, 18.0), 1), 3.0)
        square = f"{side:g} m"
        rows = [[lat, lon, float(r), 0, v, square] for (lat, lon), r, v in zip(ll.tolist(), radius.tolist(), shown)]
        _RowsLayer(
            "circles", rows, ["Referrals", "Square"], [colour],
            {"color": "#ffffff", "weight": 1, "fillOpacity": 0.7, "opacity": 0.9},
            name=label,
        ).add_to(group)
    category_legend([(f"referrals per {side:g} m square (area ∝ count; hidden counts all drawn alike)", colour)],
                    position="topleft").add_to(group)
    return make_offline(group)


def referral_task_lines_layer(
    flows: Any,
    *,
    name: str = LAYER_NAMES["lines"],
    show: bool = True,
    places: Mapping[str, Any] | None = None,
) -> folium.FeatureGroup:
    """Referral → task flows: a line from each hotspot area (or, outside hotspots, the town) to each task site.

    Line width grows with the **shown** number of referrals only (every hidden flow is drawn
    alike); green where the site is in the origin's town. Tooltips show the count as published.

    Parameters
    ----------
    flows : SchemePublication or GeoDataFrame
        The analysis's publication, or its ``flows``.
    show : bool
        Must be True: a person-level layer is added to a map only when it is to be shown.
    places : mapping, optional
        Hotspot areas' place names by area id (as text): a hotspot origin reads "hotspot 12 · Albert Street"
        ("hotspot 12" without), a town its name.
    """
    from ..publication import SchemePublication

    _person_layer_shown(show)
    if isinstance(flows, SchemePublication):
        flows = flows.flows
    group = feature_group(name, True)
    local_colour, far_colour = "#1a9850", "#f46d43"
    if flows is not None and len(flows):
        if "referrals_shown" not in flows.columns:
            raise SchemaError("`flows` must come from a SchemePublication (`publish_scheme(...).flows`).")
        ends = shapely.get_coordinates(project_geoms(flows.geometry.values, flows.crs, BNG)).reshape(-1, 2, 2)
        o = latlon(shapely.points(ends[:, 0, :]), BNG)
        t = latlon(shapely.points(ends[:, 1, :]), BNG)
        shown = flows["referrals_shown"].astype(str).tolist()
        n = np.array([_shown_int(v) or 0 for v in shown], dtype=float)
        width = np.where(n > 0, np.round(np.minimum(1.0 + n / 10.0, 6.0), 1), 1.0)
        same = (flows["site_in_origin_town"].to_numpy(dtype=bool) if "site_in_origin_town" in flows.columns
                else np.zeros(len(flows), bool))
        fields = [c for c in ("referrals_shown", "origin", "task_kind", "task_site", "length_m") if c in flows.columns]
        labels = {"referrals_shown": "Referrals", "origin": "From", "task_kind": "Task", "task_site": "Site",
                  "length_m": "Distance (m)"}
        values = [[format_value(v) for v in flows[f].tolist()] for f in fields]
        if "origin" in fields and "origin_kind" in flows.columns:  # a hotspot's id alone read as a town's name ("From 12")
            values[fields.index("origin")] = [
                _hotspot_origin(o, (places or {}).get(str(o))) if k == "hotspot area" else v
                for o, k, v in zip(flows["origin"].tolist(), flows["origin_kind"].tolist(), values[fields.index("origin")])
            ]
        rows = [
            [o[i, 0], o[i, 1], t[i, 0], t[i, 1], float(width[i]), 0 if same[i] else 1, *(col[i] for col in values)]
            for i in range(len(flows))
        ]
        _RowsLayer("lines", rows, [labels[f] for f in fields], [local_colour, far_colour], {"opacity": 0.55},
                   name=name).add_to(group)
    category_legend([("task site in the same town", local_colour), ("task site elsewhere", far_colour)], title=name,
                    position="topleft").add_to(group)
    return make_offline(group)


def _hotspot_origin(area_id: Any, place: Any) -> str:
    """A hotspot area as a flow's origin: ``"hotspot 12 · Albert Street, Derby"`` (``"hotspot 12"`` without a place)."""
    return f"hotspot {area_id} · {place}" if isinstance(place, str) and place else f"hotspot {area_id}"


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
            cluster_unit="sites",  # "6 sites", never a bare "6" over the referral counts
        ).add_to(group)
    present = [k for k in TASK_KIND_COLOURS if k in set(t["kind"])]
    items = [(f"{TASK_KIND_CODES[k]} {k}", TASK_KIND_COLOURS[k]) for k in present]
    if len(present) < t["kind"].nunique():
        items.append(("? other", _OTHER_KIND_COLOUR))
    if items:
        category_legend(items, title="Task sites", position=position).add_to(group)
    return make_offline(group)
