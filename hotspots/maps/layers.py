"""Generic folium layers: a grid raster as one image, escaped GeoJSON, clustered points.

Colour scales and legends are in :mod:`hotspots.maps.legends` (re-exported here).

Everything here is offline-safe (no CDN assets beyond those :mod:`hotspots.maps.offline`
inlines) and every text value from data is escaped (:mod:`hotspots.maps.escape`) or put into the
page with ``textContent``.

Raster placement
----------------
A grid lives in British National Grid; Leaflet stretches an image linearly between two corners
in Web Mercator (EPSG:3857). :func:`raster_overlay` therefore *reprojects*: it builds an image
whose pixels are square in Web Mercator, finds for each pixel centre the grid cell that holds it
(pyproj, EPSG:3857 → the grid's CRS) and colours the pixel with that cell's value (nearest
neighbour). A cell edge is therefore drawn within half a pixel of where it really is: a quarter
of a cell (50 m for 200 m cells) with the default 2 pixels per cell, less with more pixels per
cell. There is no shift, rotation or stretch beyond that (tested on grids in Derby, Norwich and
Cornwall, where British National Grid is turned up to ~2 degrees against map north).
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from folium.raster_layers import ImageOverlay
from folium.template import Template
from folium.utilities import JsCode
from matplotlib.colors import to_hex
from PIL import Image

from .. import validation
from .._errors import CRSError, ParameterError
from ..grid import Grid, GridValues
from .base import fast_transformer, project_geoms, round_coordinates, transform_bounds
from .escape import css_colour, display_value, escape_html, format_value, js_json
from .legends import COLOUR_LEVELS, LEGEND_CSS, ColourScale, Legend, category_legend, choose_range, legend

__all__ = [
    "ColourScale",
    "GridImageOverlay",
    "raster_overlay",
    "Legend",
    "LEGEND_CSS",
    "legend",
    "category_legend",
    "geojson_layer",
    "marker_cluster",
    "marker_css",
]

_MERCATOR = pyproj.CRS.from_epsg(3857)
_WGS84 = pyproj.CRS.from_epsg(4326)


# --------------------------------------------------------------------------- raster overlay
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return fast_transformer(src, dst)


def _interp_matrix(n: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Lattice indices (every ``step``-th of ``n`` points, and the last) and the (n, k) matrix
    of linear-interpolation weights from lattice values to all ``n`` points."""
    nodes = np.unique(np.append(np.arange(0, n, step), n - 1))
    w = np.zeros((n, len(nodes)))
    j = np.clip(np.searchsorted(nodes, np.arange(n), side="right") - 1, 0, max(len(nodes) - 2, 0))
    if len(nodes) == 1:
        w[:, 0] = 1.0
        return nodes, w
    t = (np.arange(n) - nodes[j]) / (nodes[j + 1] - nodes[j])
    w[np.arange(n), j] = 1.0 - t
    w[np.arange(n), j + 1] = t
    return nodes, w


def _mercator_to_grid_xy(
    xs: np.ndarray, ys: np.ndarray, crs: pyproj.CRS, *, max_span_m: float = 2000.0
) -> tuple[np.ndarray, np.ndarray]:
    """Grid-CRS coordinates of every (ys[i], xs[j]) Web Mercator point, shape (len(ys), len(xs)).

    pyproj converts a lattice of points at most ``max_span_m`` apart; the points between are
    interpolated bilinearly (two matrix products). Over 2 km the projections' curvature moves a
    point by under 0.05 m in Great Britain (0.03 m measured over Derbyshire), against cells of
    50 m or more; a coarser lattice matters for speed, as pyproj takes about 2 µs a point.
    """
    px = float(abs(xs[1] - xs[0])) if len(xs) > 1 else (float(abs(ys[1] - ys[0])) if len(ys) > 1 else 1.0)
    step = max(1, int(max_span_m // max(px, 1e-9)))
    ci, wx = _interp_matrix(len(xs), step)
    ri, wy = _interp_matrix(len(ys), step)
    gx, gy = np.meshgrid(xs[ci], ys[ri])
    lx, ly = _transformer(_MERCATOR, crs).transform(gx, gy)
    lx, ly = np.asarray(lx, dtype=float), np.asarray(ly, dtype=float)
    if not (np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))):
        raise CRSError("could not convert the map image's pixels to the grid's CRS; check the grid's CRS.")
    return wy @ lx @ wx.T, wy @ ly @ wx.T


class GridImageOverlay(ImageOverlay):
    """A folium ``ImageOverlay`` of grid values, with what is needed to draw its legend.

    Extra attributes
    ----------------
    scale : ColourScale
    levels : ndarray of uint8, shape (height, width)
        Colour level + 1 of each pixel; 0 is transparent. Row 0 is north.
    merc_bounds : tuple
        ``(xmin, ymin, xmax, ymax)`` of the image in Web Mercator metres.
    latlon_bounds : list
        ``[[south, west], [north, east]]`` degrees (what Leaflet receives).
    pixels_per_cell : float
    """

    scale: ColourScale
    levels: np.ndarray
    merc_bounds: tuple[float, float, float, float]
    latlon_bounds: list[list[float]]
    pixels_per_cell: float

    def rgba(self) -> np.ndarray:
        """The image as RGBA uint8, shape (height, width, 4)."""
        pal = self.scale.level_colours()
        out = np.zeros(self.levels.shape + (4,), dtype=np.uint8)
        on = self.levels > 0
        out[on, :3] = pal[self.levels[on].astype(np.int64) - 1]
        out[on, 3] = 255
        return out


def raster_overlay(
    values: GridValues | np.ndarray,
    grid: Grid | None = None,
    *,
    cmap: str = "YlOrRd",
    vmin: float | None = None,
    vmax: float | None = None,
    robust: bool = True,
    percentile: float = 99.0,
    transparent_zero: bool = True,
    opacity: float = 0.75,
    name: str | None = None,
    units: str | None = None,
    pixels_per_cell: float = 2.0,
    max_pixels: int = 4_000_000,
    show: bool = True,
) -> GridImageOverlay:
    """Grid values as one coloured, reprojected image on the map.

    Parameters
    ----------
    values : GridValues or ndarray of shape (n_rows, n_cols)
        Row 0 north. ``NaN`` (outside the study area) is transparent.
    grid : Grid, optional
        Needed when ``values`` is a bare array.
    cmap : str
        matplotlib colour map name.
    vmin, vmax : float, optional
        Values drawn with the first / last colour. By default the lowest colour is 0 for
        non-negative data, and the top colour the ``percentile``-th percentile of the values shown
        (``robust=True``, so one extreme cell does not wash the rest out) or the maximum.
    robust : bool
        Use percentiles rather than the extremes for the automatic range.
    percentile : float
        Percentile (50–100) used by ``robust``.
    transparent_zero : bool
        Draw cells whose value is exactly 0 transparent (no incidents: show the ground).
    opacity : float
        0–1, the layer's opacity in the browser.
    name : str, optional
        Layer name in the layer control (escaped); defaults to the values' name.
    units : str, optional
        Units for the legend; defaults to ``values.units``.
    pixels_per_cell : float
        Image resolution: pixels across one cell (≥ 1). Reduced automatically to stay within
        ``max_pixels``.
    max_pixels : int
        Upper bound on image pixels (memory and page size).
    show : bool
        Whether the layer is on when the map opens.

    Returns
    -------
    GridImageOverlay
        Add it to a map; pass ``overlay.scale`` to :func:`legend`.
    """
    if isinstance(values, GridValues):
        if grid is not None and not grid.same_as(values.grid):
            raise ParameterError("`grid` differs from `values.grid`; pass one or the other.")
        grid = values.grid
        arr = np.asarray(values.values, dtype=float)
        default_name, default_units = values.name, values.units
    else:
        if grid is None:
            raise ParameterError("`values` is a bare array: pass the `grid=` it lies on (or a GridValues).")
        arr = np.asarray(values, dtype=float)
        if arr.shape != grid.shape:
            raise ParameterError(f"`values` has shape {arr.shape} but the grid is {grid.shape}.")
        default_name, default_units = "value", ""
    opacity = validation.fraction(opacity, "opacity")
    pixels_per_cell = validation.number(pixels_per_cell, "pixels_per_cell", low=1.0)
    percentile = validation.number(percentile, "percentile", low=50.0, high=100.0)
    max_pixels = validation.whole(max_pixels, "max_pixels", low=16)

    shown = np.isfinite(arr) & ((arr != 0) if transparent_zero else True)
    lo, hi, how = choose_range(arr[shown], vmin, vmax, robust, float(percentile))
    data_shown = arr[shown]
    scale = ColourScale(
        cmap=cmap,
        vmin=lo,
        vmax=hi,
        units=default_units if units is None else str(units),
        title=default_name if name is None else str(name),
        clipped_low=bool(data_shown.size and data_shown.min() < lo),
        clipped_high=bool(data_shown.size and data_shown.max() > hi),
        how=how,
        data_max=float(data_shown.max()) if data_shown.size else None,
    )

    # Image grid: square pixels in Web Mercator covering the grid's extent.
    to_merc = _transformer(grid.crs, _MERCATOR)
    mx0, my0, mx1, my1 = transform_bounds(to_merc, *grid.bounds)
    if not all(np.isfinite([mx0, my0, mx1, my1])):
        raise CRSError(f"could not convert the grid's extent {grid.bounds} to Web Mercator; check the grid's CRS.")
    ppc = float(pixels_per_cell)
    aspect = (mx1 - mx0) / (my1 - my0)
    height = max(1, round(grid.n_rows * ppc))
    width = max(1, math.ceil(height * aspect))
    if height * width > max_pixels:
        shrink = math.sqrt(max_pixels / (height * width))
        height = max(1, int(height * shrink))
        width = max(1, int(math.ceil(height * aspect)))
        ppc = height / grid.n_rows
    px = (my1 - my0) / height
    mx1 = mx0 + width * px  # whole pixels
    xs = mx0 + (np.arange(width) + 0.5) * px
    ys = my1 - (np.arange(height) + 0.5) * px

    colour_level = np.zeros(arr.shape, dtype=np.uint8)
    colour_level[shown] = (scale.levels(arr[shown]) + 1).astype(np.uint8)
    bx, by = _mercator_to_grid_xy(xs, ys, grid.crs)
    rows, cols, on = grid.cell_of(np.column_stack([bx.ravel(), by.ravel()]))
    on &= np.isfinite(bx.ravel()) & np.isfinite(by.ravel())
    levels = np.where(on, colour_level[rows, cols], 0).astype(np.uint8).reshape(height, width)

    palette = np.zeros((256, 3), dtype=np.uint8)
    palette[1 : COLOUR_LEVELS + 1] = scale.level_colours()
    img = Image.fromarray(levels, mode="P")
    img.putpalette(palette.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0, optimize=False, compress_level=6)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

    to_ll = _transformer(_MERCATOR, _WGS84)
    west, south = to_ll.transform(mx0, my0)
    east, north = to_ll.transform(mx1, my1)
    bounds = [[float(south), float(west)], [float(north), float(east)]]

    layer = GridImageOverlay(
        image=url,
        bounds=bounds,
        opacity=float(opacity),
        name=escape_html(scale.title),
        pixelated=True,
        interactive=False,
        cross_origin=False,
        show=show,
    )
    layer.scale = scale
    layer.levels = levels
    layer.merc_bounds = (float(mx0), float(my0), float(mx1), float(my1))
    layer.latlon_bounds = bounds
    layer.pixels_per_cell = ppc
    return layer


# --------------------------------------------------------------------------- GeoJSON
def _check_fields(gdf: pd.DataFrame, fields: Sequence[str], arg: str) -> list[str]:
    if isinstance(fields, str):
        fields = [fields]
    fields = list(fields)
    missing = [f for f in fields if f not in gdf.columns]
    if missing:
        raise ParameterError(f"`{arg}` names column(s) {missing} that the data does not have; it has {list(gdf.columns)}.")
    return fields


def _check_aliases(aliases: Sequence[str] | None, fields: list[str], arg: str) -> list[str]:
    if aliases is None:
        return [escape_html(f) for f in fields]
    aliases = [aliases] if isinstance(aliases, str) else list(aliases)
    if len(aliases) != len(fields):
        raise ParameterError(f"`{arg}` must have one label per field ({len(fields)}); got {len(aliases)}.")
    return [escape_html(a) for a in aliases]


_COLOUR_KEYS = ("color", "fillColor")


def _clean_style(style: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in dict(style).items():
        if k in _COLOUR_KEYS:
            try:
                v = to_hex(v, keep_alpha=False)
            except (ValueError, TypeError):
                raise ParameterError(f"{where}: `{k}` {v!r} is not a colour.") from None
        elif isinstance(v, str):
            v = escape_html(v)
        elif not isinstance(v, (int, float, bool)) or (isinstance(v, float) and not math.isfinite(v)):
            raise ParameterError(f"{where}: `{k}` must be a number, true/false or text; got {v!r}.")
        out[str(k)] = v
    return out


_DEFAULT_STYLE = {"color": "#2b4c7e", "weight": 1.5, "fillColor": "#5b8cc8", "fillOpacity": 0.35, "opacity": 0.9}


def geojson_layer(
    gdf: gpd.GeoDataFrame,
    *,
    fields: Sequence[str] = (),
    aliases: Sequence[str] | None = None,
    popup_fields: Sequence[str] = (),
    popup_aliases: Sequence[str] | None = None,
    formats: Mapping[str, str] | None = None,
    style: Mapping[str, Any] | Callable[[pd.Series], Mapping[str, Any]] | None = None,
    highlight: bool = True,
    name: str = "Areas",
    simplify_m: float = 2.0,
    show: bool = True,
    circle_markers: bool = False,
) -> folium.GeoJson:
    """Polygons, lines or points as a GeoJSON layer with escaped tooltips and popups.

    Only the columns named in ``fields`` and ``popup_fields`` are sent to the browser (smaller
    page; nothing private leaks by accident). Geometries are simplified in British National Grid
    (``simplify_m`` metres, topology kept), converted to WGS84 and rounded to 6 decimal places
    (about 0.1 m).

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS (set).
    fields, aliases : sequence of str
        Columns shown in the hover tooltip and their labels (labels default to column names).
    popup_fields, popup_aliases : sequence of str
        Columns shown in the click popup and their labels.
    formats : mapping column → format spec, optional
        E.g. ``{"density": ",.1f", "share": ".0%"}``.
    style : mapping or callable, optional
        Leaflet path options for every feature (``color``, ``weight``, ``fillColor``,
        ``fillOpacity``...), or a function of the row (a ``pd.Series``) returning them.
    highlight : bool
        Thicken the outline under the mouse.
    name : str
        Layer name in the layer control (escaped).
    simplify_m : float
        Simplification tolerance in metres (0 to keep every vertex).
    show : bool
        Whether the layer is on when the map opens.
    circle_markers : bool
        Draw points as circle markers (a ``radius`` in pixels may be given in ``style``) instead
        of Leaflet's default pin, which is an image file.
    """
    gdf = validation.geodataframe(gdf, "gdf")
    fields = _check_fields(gdf, fields, "fields")
    popup_fields = _check_fields(gdf, popup_fields, "popup_fields")
    tip_labels = _check_aliases(aliases, fields, "aliases")
    pop_labels = _check_aliases(popup_aliases, popup_fields, "popup_aliases")
    formats = dict(formats or {})
    simplify_m = validation.distance(simplify_m, "simplify_m", zero=True)

    keep = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    geoms = project_geoms(keep.geometry.values, keep.crs, 27700)
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    geoms = round_coordinates(project_geoms(geoms, 27700, 4326))

    if style is None:
        base_style: dict[str, Any] | None = dict(_DEFAULT_STYLE)
    elif isinstance(style, Mapping):
        base_style = {**_DEFAULT_STYLE, **_clean_style(style, "`style`")}
    elif callable(style):
        base_style = None
    else:
        raise ParameterError(
            f"`style` must be a mapping of Leaflet path options or a function of the row; got {type(style).__name__}."
        )

    shown_cols = list(dict.fromkeys(fields + popup_fields))
    columns = {c: [display_value(v, formats.get(c)) for v in keep[c].tolist()] for c in shown_cols}
    if base_style is None:
        styles = [
            {**_DEFAULT_STYLE, **_clean_style(style(row), f"`style` for row {idx!r}")}  # type: ignore[operator]
            for idx, row in keep.iterrows()
        ]
    geometries = [json.loads(g) for g in shapely.to_geojson(geoms)]
    features = []
    for i, geometry in enumerate(geometries):
        props = {c: columns[c][i] for c in shown_cols}
        if base_style is None:
            props["_style"] = styles[i]
        features.append({"type": "Feature", "id": str(i), "properties": props, "geometry": geometry})
    data = {"type": "FeatureCollection", "features": features}

    if base_style is None:

        def style_function(f: dict) -> dict:
            return f["properties"]["_style"]
    else:
        fixed = base_style

        def style_function(f: dict) -> dict:
            return fixed

    kwargs: dict[str, Any] = {}
    if fields and features:  # folium refuses a tooltip/popup on an empty collection
        kwargs["tooltip"] = folium.GeoJsonTooltip(fields=fields, aliases=tip_labels, labels=True, sticky=True)
    if popup_fields and features:
        kwargs["popup"] = folium.GeoJsonPopup(fields=popup_fields, aliases=pop_labels, labels=True)
    if highlight and features:
        kwargs["highlight_function"] = lambda f: {"weight": 3.5, "opacity": 1.0}
    if circle_markers:
        kwargs["marker"] = folium.CircleMarker()
    layer = folium.GeoJson(
        data,
        name=escape_html(name),
        style_function=style_function if features else None,
        show=show,
        zoom_on_click=False,
        **kwargs,
    )
    return layer


# --------------------------------------------------------------------------- points
#: JavaScript function ``(labels, row, first)``: a popup table of ``labels`` and the values
#: ``row[first], row[first + 1], ...``, written with ``textContent`` (never parsed as HTML).
POPUP_TABLE_JS = """function (labels, row, first) {
    var t = document.createElement('table');
    t.className = 'hotspots-popup';
    for (var i = 0; i < labels.length; i++) {
        var tr = t.insertRow(), th = document.createElement('th');
        th.textContent = labels[i];
        tr.appendChild(th);
        tr.insertCell().textContent = row[first + i];
    }
    return t;
}"""

_CLUSTER_CALLBACK = """function (row) {
    var colours = %(colours)s, labels = %(labels)s;
    var dot = document.createElement('span');
    dot.className = 'hotspots-dot';
    dot.style.background = colours[row[2]];
    if (row[3]) { dot.textContent = row[3]; dot.className += ' hotspots-dot-label'; }
    var marker = L.marker(new L.LatLng(row[0], row[1]), {
        icon: L.divIcon({className: 'hotspots-marker', html: dot, iconSize: [%(size)d, %(size)d]})
    });
    if (row[4]) { marker.bindTooltip(document.createTextNode(row[4])); }
    if (labels.length) { marker.bindPopup((%(table)s)(labels, row, 5)); }
    return marker;
}"""


def marker_css(size: int) -> str:
    """Style sheet of :func:`marker_cluster`'s dots of ``size`` pixels."""
    return f"""
.hotspots-marker {{ background: transparent; border: none; }}
.hotspots-dot {{ display: block; box-sizing: border-box; width: 100%; height: 100%; border-radius: 50%;
  border: 2px solid #fff; box-shadow: 0 0 2px rgba(0,0,0,0.6); font: bold 10px/1 sans-serif; color: #fff;
  text-align: center; }}
.hotspots-dot-label {{ line-height: {int(size) - 4}px; }}
.hotspots-popup th {{ text-align: left; padding-right: 8px; font-weight: 600; }}
.hotspots-cluster-unit {{ display: block; background: #fff; border: 2px solid #555; border-radius: 3px; color: #222;
  font: bold 11px/16px sans-serif; text-align: center; white-space: nowrap; box-shadow: 0 0 2px rgba(0,0,0,0.5); }}
"""

#: A cluster drawn as a white tag "N <unit>" (e.g. "6 sites"), not a round bubble with a bare number
#: (on a map of referral counts a bare "6" reads as six referrals).
_UNIT_CLUSTER_ICON = """function (cluster) {
    var tag = document.createElement('span');
    tag.className = 'hotspots-cluster-unit';
    tag.textContent = cluster.getChildCount() + ' ' + %(unit)s;
    return L.divIcon({className: 'hotspots-marker', html: tag, iconSize: [58, 20]});
}"""


class _MarkerStyle(MacroElement):
    _template = Template("""{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}""")

    def __init__(self, size: int):
        super().__init__()
        self._name = "HotspotsMarkerStyle"
        self.size = size
        self.css = marker_css(size)


class _FastMarkerCluster(FastMarkerCluster):
    """folium's ``FastMarkerCluster`` with its data written by :func:`js_json`.

    folium writes the rows with Jinja's ``tojson``, which leaves curly braces alone; branca then
    renders the generated script again as a template, so ``{{ ... }}`` in a site name would be
    evaluated on the server. :func:`js_json` writes braces inside strings as ``\\u007b``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}

                var data = {{ this.data_json }};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                for (var i = 0; i < data.length; i++) {
                    var row = data[i];
                    var marker = callback(row);
                    marker.addTo(cluster);
                }

                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}"""
    )

    @property
    def data_json(self) -> str:
        return js_json(self.data)


def marker_cluster(
    points: gpd.GeoDataFrame,
    *,
    popup_fields: Sequence[str] = (),
    popup_aliases: Sequence[str] | None = None,
    tooltip_field: str | None = None,
    label_field: str | None = None,
    colour: str = "#2b6cb0",
    colour_field: str | None = None,
    colours: Mapping[Any, str] | None = None,
    formats: Mapping[str, str] | None = None,
    name: str = "Points",
    size: int = 16,
    disable_clustering_at_zoom: int | None = 17,
    show: bool = True,
    cluster_unit: str | None = None,
) -> FastMarkerCluster:
    """Points as clustered coloured dots with a popup table (text set with ``textContent``).

    Markers are built in the browser from one compact array (folium's ``FastMarkerCluster``), so
    10^4–10^5 points stay quick. Popup and tooltip text is never parsed as HTML.

    Parameters
    ----------
    points : GeoDataFrame of points
        Any CRS (set). Rows with missing geometry are skipped.
    popup_fields, popup_aliases : sequence of str
        Columns shown in the click popup, and their labels.
    tooltip_field : str, optional
        Column shown on hover.
    label_field : str, optional
        Column whose first two characters are drawn in the dot (e.g. a task kind's initial).
    colour : str
        Hex colour of every dot, unless ``colour_field`` is given.
    colour_field, colours : str, mapping value → hex colour
        Colour dots by a column's value (values not in ``colours`` get ``colour``).
    formats : mapping column → format spec, optional
    name : str
        Layer name in the layer control (escaped).
    size : int
        Dot diameter, pixels (8–40).
    disable_clustering_at_zoom : int, optional
        From this zoom level on, points are shown one by one.
    cluster_unit : str, optional
        What the points are (``"sites"``): clusters are then white tags "6 sites" instead of round
        bubbles with a bare number, so that they cannot be read as another layer's counts.
    """
    points = validation.geodataframe(points, "points")
    popup_fields = _check_fields(points, popup_fields, "popup_fields")
    labels = [format_value(a) for a in (popup_aliases if popup_aliases is not None else popup_fields)]
    if len(labels) != len(popup_fields):
        raise ParameterError(f"`popup_aliases` must have one label per field ({len(popup_fields)}); got {len(labels)}.")
    for arg, col in (("tooltip_field", tooltip_field), ("label_field", label_field), ("colour_field", colour_field)):
        if col is not None:
            _check_fields(points, [col], arg)
    size = validation.whole(size, "size", low=8, high=40, unit="pixels")
    default = css_colour(colour, name="colour")
    palette = [default]
    index: dict[Any, int] = {}
    if colours is not None:
        if colour_field is None:
            raise ParameterError("`colours` needs `colour_field=` (the column whose values they colour).")
        for k, c in dict(colours).items():
            index[k] = len(palette)
            palette.append(css_colour(c, name=f"colours[{k!r}]"))
    formats = dict(formats or {})

    keep = points[~(points.geometry.isna() | points.geometry.is_empty)]
    geoms = keep.geometry
    if not np.all(shapely.get_type_id(geoms.values) == 0):
        raise ParameterError("`points` must hold Point geometries; use `.centroid` for areas.")
    ll = shapely.get_coordinates(project_geoms(geoms.values, geoms.crs, 4326))
    ll = np.round(ll, 6)
    n = len(keep)
    if colour_field is not None and colours is not None:
        colour_idx = [index.get(v, 0) for v in keep[colour_field].tolist()]
    else:
        colour_idx = [0] * n
    dot_labels = [format_value(v)[:2] for v in keep[label_field].tolist()] if label_field else [""] * n
    tips = [format_value(v, formats.get(tooltip_field)) for v in keep[tooltip_field].tolist()] if tooltip_field else [""] * n
    value_cols = [[format_value(v, formats.get(f)) for v in keep[f].tolist()] for f in popup_fields]
    lats, lons = ll[:, 1].tolist(), ll[:, 0].tolist()
    rows = [[lats[i], lons[i], colour_idx[i], dot_labels[i], tips[i], *(col[i] for col in value_cols)] for i in range(n)]

    callback = _CLUSTER_CALLBACK % {
        "colours": js_json(palette),
        "labels": js_json(labels),
        "size": int(size),
        "table": POPUP_TABLE_JS,
    }
    options: dict[str, Any] = {}
    if disable_clustering_at_zoom is not None:
        options["disableClusteringAtZoom"] = int(disable_clustering_at_zoom)
    if cluster_unit is not None:
        options["iconCreateFunction"] = JsCode(_UNIT_CLUSTER_ICON % {"unit": js_json(str(cluster_unit))})
    if not np.all(np.isfinite(ll)):
        raise CRSError("some points could not be converted to latitude/longitude; check the CRS of `points`.")
    layer = _FastMarkerCluster([], callback=callback, name=escape_html(name), show=show, **options)
    layer.data = rows  # already checked (finite lat/lon); folium's per-row check is slow for 10^5 points
    _MarkerStyle(int(size)).add_to(layer)
    return layer
