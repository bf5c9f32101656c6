"""The base map: fitted to the study area, offline by default, with the study-area outline.

Analysis happens in British National Grid (EPSG:27700); the map is in WGS84 / Web Mercator, so
coordinates are converted here, at the edge.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pyproj
import shapely
import xyzservices
from branca.element import MacroElement
from folium.plugins import DualMap
from jinja2 import Template

from .. import validation
from .._errors import CRSError, ParameterError
from .escape import css_colour, escape_html
from .legends import CORNERS
from .offline import OfflineMap, make_offline

__all__ = [
    "base_map", "dual_map", "OfflineDualMap", "add_layer_control", "BASEMAPS", "CARTO_KEY_ENV", "to_wgs84_bounds",
    "round_coordinates", "fast_transformer", "project_geoms",
]

#: Basemap choices. Only ``"none"`` works without internet (tiles are fetched from the web).
#: Carto's tiles need an API key (``tile_api_key=`` or the ``HOTSPOTS_CARTO_API_KEY`` variable).
BASEMAPS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "osm": {"provider": "OpenStreetMap.Mapnik", "name": "OpenStreetMap", "key": False},
    "carto-light": {"provider": "CartoDB.Positron", "name": "Carto light", "key": True},
}
CARTO_KEY_ENV = "HOTSPOTS_CARTO_API_KEY"

# BNG's valid area (metres), a little generous; used to catch degrees passed as metres.
_BNG_X = (-100_000.0, 800_000.0)
_BNG_Y = (-100_000.0, 1_400_000.0)

# --------------------------------------------------------------------------- fast transformers
# pyproj keeps one PROJ object per thread and per transformer; setting one up for British National
# Grid takes ~0.1 s (PROJ searches its database for the operations). Streamlit runs every rerun of
# the app in a new thread, so each map redraw paid that for every CRS pair it used. The operation
# PROJ would pick is looked up once per process (TransformerGroup: best available first) and each
# thread builds its transformer from that explicit pipeline in under a millisecond.
_PIPELINES: dict[tuple[str, str], str | None] = {}
_PIPELINE_LOCK = threading.Lock()
_LOCAL = threading.local()


def _crs_key(crs: Any) -> tuple[pyproj.CRS, str]:
    c = crs if isinstance(crs, pyproj.CRS) else pyproj.CRS.from_user_input(crs)
    return c, c.srs


def fast_transformer(src: Any, dst: Any) -> pyproj.Transformer:
    """A ``always_xy`` transformer from ``src`` to ``dst``, cheap to get in any thread.

    The same operation as ``pyproj.Transformer.from_crs(src, dst, always_xy=True)`` picks within
    its area of use (the most accurate one available; for British National Grid ↔ WGS84 without
    the OSTN15 grid, the 7-parameter Helmert "OSGB36 to WGS 84 (6)"), used everywhere.
    """
    s, ks = _crs_key(src)
    d, kd = _crs_key(dst)
    key = (ks, kd)
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = {}
    tr = cache.get(key)
    if tr is not None:
        return tr
    with _PIPELINE_LOCK:
        if key not in _PIPELINES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "best transformation not available" (OSTN15 grid)
                group = pyproj.transformer.TransformerGroup(s, d, always_xy=True)
            _PIPELINES[key] = group.transformers[0].definition if group.transformers else None
        pipeline = _PIPELINES[key]
    tr = pyproj.Transformer.from_pipeline(pipeline) if pipeline else pyproj.Transformer.from_crs(s, d, always_xy=True)
    cache[key] = tr
    return tr


def transform_bounds(tr: pyproj.Transformer, xmin: float, ymin: float, xmax: float, ymax: float,
                     densify_pts: int = 21) -> tuple[float, float, float, float]:
    """The box around ``(xmin, ymin, xmax, ymax)`` transformed with ``tr``, its edges densified.

    (pyproj's own ``transform_bounds`` needs the transformer's CRSs, which a transformer built
    from a pipeline does not carry.)
    """
    t = np.linspace(0.0, 1.0, int(densify_pts) + 2)
    xs = np.concatenate([xmin + t * (xmax - xmin), np.full_like(t, xmax), xmin + t * (xmax - xmin), np.full_like(t, xmin)])
    ys = np.concatenate([np.full_like(t, ymin), ymin + t * (ymax - ymin), np.full_like(t, ymax), ymin + t * (ymax - ymin)])
    x, y = tr.transform(xs, ys)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def project_geoms(geoms: Any, src: Any, dst: Any) -> np.ndarray:
    """Shapely geometries (array-like) from CRS ``src`` to ``dst`` with :func:`fast_transformer`."""
    arr = np.asarray(geoms, dtype=object)
    s, ks = _crs_key(src)
    d, kd = _crs_key(dst)
    if ks == kd or s == d:
        return arr
    tr = fast_transformer(s, d)

    def f(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(arr, f)


class _Style(MacroElement):
    """A ``<style>`` block in the page header (works in streamlit-folium's frame too)."""

    _template = Template("{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}")

    def __init__(self, css: str):
        super().__init__()
        self._name = "HotspotsStyle"
        self.css = css


class _FitWhenSized(MacroElement):
    """Fits the map to its area again, once, when its frame first takes another size than it was made with (unless the
    reader moved it).

    Leaflet fits the bounds once, when the map is made: in a frame not yet laid out (0 pixels, as the app's maps below
    the fold or in a tab can be) that fit falls to the smallest zoom, and Essex's robustness map opened at a 200 km
    scale with the county tiny in a corner; the app's side-by-side maps were fitted before streamlit-folium halved
    their width, and Devon and Cornwall's opened with West Cornwall off the left edge. Once the reader drags, zooms or
    scrolls the map, their view is kept.
    """

    _template = Template(
        """{% macro script(this, kwargs) %}
(function (map, fit) {
    var el = map.getContainer(), moved = false;
    var w0 = el.clientWidth, h0 = el.clientHeight;  // the size Leaflet's own fit was made for (0 when not laid out)
    ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (e) {
        el.addEventListener(e, function () { moved = true; }, {passive: true});
    });
    if (typeof ResizeObserver === "undefined") { return; }
    var watch = new ResizeObserver(function () {
        var w = el.clientWidth, h = el.clientHeight;
        if (w > 0 && h > 0 && (w !== w0 || h !== h0)) {
            watch.disconnect();  // once: later resizes keep the view (a refit each time moved maps under the reader)
            if (!moved) { map.invalidateSize(); map.fitBounds(fit); }
        }
    });
    watch.observe(el);
})({{ this._parent.get_name() }}, {{ this.fit|tojson }});
{% endmacro %}"""
    )

    def __init__(self, fit: list[list[float]]):
        super().__init__()
        self._name = "FitWhenSized"
        self.fit = [[float(v) for v in corner] for corner in fit]


def to_wgs84_bounds(bounds_27700: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in degrees of a British National Grid box (edges densified).

    Raises
    ------
    CRSError
        When the box is not in British National Grid metres (for example degrees were passed).
    """
    try:
        xmin, ymin, xmax, ymax = (float(b) for b in bounds_27700)
    except (TypeError, ValueError):
        raise ParameterError(
            f"`bounds_27700` must be four numbers (xmin, ymin, xmax, ymax) in metres; got {bounds_27700!r}."
        ) from None
    if not all(np.isfinite([xmin, ymin, xmax, ymax])) or xmax <= xmin or ymax <= ymin:
        raise ParameterError(
            f"`bounds_27700` must be finite with xmin < xmax and ymin < ymax; got {(xmin, ymin, xmax, ymax)}."
        )
    if not (_BNG_X[0] <= xmin and xmax <= _BNG_X[1] and _BNG_Y[0] <= ymin and ymax <= _BNG_Y[1]) or (
        xmax - xmin < 1 and ymax - ymin < 1
    ):
        raise CRSError(
            f"`bounds_27700` {(xmin, ymin, xmax, ymax)} do not look like British National Grid metres "
            "(eastings 0–700,000, northings 0–1,300,000). Convert them with `.to_crs(27700)` or pass "
            "`study_area=` with its CRS set."
        )
    w, s, e, n = transform_bounds(fast_transformer(27700, 4326), xmin, ymin, xmax, ymax)
    if not all(np.isfinite([w, s, e, n])):
        raise CRSError(f"could not convert `bounds_27700` {(xmin, ymin, xmax, ymax)} to degrees.")
    return (w, s, e, n)


def round_coordinates(geoms: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Geometries with coordinates rounded to ``decimals`` places (6 decimal degrees ≈ 0.1 m)."""
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _area_wgs84(study_area: Any, simplify_m: float) -> gpd.GeoSeries:
    if isinstance(study_area, gpd.GeoDataFrame):
        gs = study_area.geometry
    elif isinstance(study_area, gpd.GeoSeries):
        gs = study_area
    else:
        raise ParameterError(
            f"`study_area` must be a GeoDataFrame or GeoSeries of polygons; got {type(study_area).__name__}."
        )
    if gs.crs is None:
        raise CRSError("`study_area` has no CRS; set it with `.set_crs(27700)` (or the CRS it is in).")
    gs = gs[~(gs.is_empty | gs.isna())]
    if len(gs) == 0:
        raise ParameterError("`study_area` has no geometry to draw.")
    geom = shapely.union_all(project_geoms(gs.values, gs.crs, 27700))
    if simplify_m > 0:
        geom = geom.simplify(simplify_m, preserve_topology=True)
    out = project_geoms([geom], 27700, 4326)
    return gpd.GeoSeries(round_coordinates(out), crs=4326)


def base_map(
    *,
    bounds_27700: tuple[float, float, float, float] | None = None,
    study_area: Any = None,
    basemap: str = "none",
    height: int = 600,
    width: int | str = "100%",
    outline: bool = True,
    outline_name: str = "Study area",
    outline_colour: str = "#3a3a3a",
    background: str = "#f4f4f1",
    simplify_m: float = 10.0,
    tile_api_key: str | None = None,
) -> OfflineMap:
    """A folium map fitted to the study area, with no external assets.

    Parameters
    ----------
    bounds_27700 : tuple of 4 floats, optional
        ``(xmin, ymin, xmax, ymax)`` in British National Grid metres to fit the view to (e.g.
        ``grid.bounds``). Defaults to the study area's extent.
    study_area : GeoDataFrame or GeoSeries, optional
        Polygons in any CRS (set). Drawn as an outline; with no ``bounds_27700`` also sets the
        view. Give at least one of the two; with only ``bounds_27700``, the outline is the box.
    basemap : {"none", "osm", "carto-light"}
        ``"none"`` (default) draws no tiles, so the map works offline; the other two fetch tiles
        from the internet.
    height : int
        Map height, pixels.
    width : int or str
        Map width, pixels or a CSS percentage.
    outline : bool
        Draw the study-area (or box) outline as a layer named ``outline_name``.
    outline_name : str
        Layer name (escaped) shown in the layer control.
    outline_colour, background : str
        Hex colours of the outline and of the map background where there are no tiles.
    simplify_m : float
        Tolerance in metres for simplifying the outline before it is sent to the browser.
    tile_api_key : str, optional
        API key for tile providers that need one (``"carto-light"``); defaults to the
        ``HOTSPOTS_CARTO_API_KEY`` environment variable.

    Returns
    -------
    OfflineMap
        A ``folium.Map`` that inlines its assets when rendered. Add layers, then a layer control
        (:func:`add_layer_control`) last.
    """
    view = _prepare(bounds_27700, study_area, basemap, simplify_m, outline_colour, background)
    height = validation.whole(height, "height", low=50, high=10_000, unit="pixels")
    m = OfflineMap(location=view.centre, height=int(height), width=width, **_MAP_OPTIONS)
    _decorate(m, view, basemap, tile_api_key, outline, outline_name)
    return m


# Options shared by single and paired maps.
_MAP_OPTIONS: dict[str, Any] = dict(
    zoom_start=10,
    tiles=None,
    control_scale=True,
    prefer_canvas=False,
    # Leaflet needs a max zoom when there is no tile layer (MarkerCluster refuses otherwise).
    maxZoom=19,
    minZoom=5,
)


class _View:
    """Checked arguments shared by :func:`base_map` and :func:`dual_map`."""

    def __init__(self, bounds_wgs84: tuple[float, float, float, float], area: gpd.GeoSeries, outline_colour: str,
                 background: str):
        self.bounds_wgs84 = bounds_wgs84
        self.area = area
        self.outline_colour = outline_colour
        self.background = background

    @property
    def centre(self) -> list[float]:
        w, s, e, n = self.bounds_wgs84
        return [(s + n) / 2, (w + e) / 2]

    @property
    def fit(self) -> list[list[float]]:
        w, s, e, n = self.bounds_wgs84
        return [[s, w], [n, e]]


def _prepare(bounds_27700: Any, study_area: Any, basemap: str, simplify_m: Any, outline_colour: str, background: str) -> _View:
    validation.choice(basemap, "basemap", sorted(BASEMAPS))
    if bounds_27700 is None and study_area is None:
        raise ParameterError("give `study_area=` (polygons) or `bounds_27700=` (metres) so the map knows where to look.")
    simplify_m = validation.distance(simplify_m, "simplify_m", zero=True)
    outline_colour = css_colour(outline_colour, name="outline_colour")
    background = css_colour(background, name="background")
    if bounds_27700 is not None:
        bounds = to_wgs84_bounds(bounds_27700)
    if study_area is not None:
        area = _area_wgs84(study_area, simplify_m)
        if bounds_27700 is None:
            bounds = tuple(float(v) for v in area.total_bounds)  # type: ignore[assignment]
    else:  # the outline is the box
        box = shapely.box(*(float(b) for b in bounds_27700))
        area = gpd.GeoSeries(round_coordinates(project_geoms([box], 27700, 4326)), crs=4326)
    return _View(bounds, area, outline_colour, background)


def _decorate(m: folium.Map, view: _View, basemap: str, tile_api_key: str | None, outline: bool, outline_name: str) -> None:
    spec = BASEMAPS[basemap]
    if spec is not None:
        provider = xyzservices.providers.query_name(spec["provider"])
        if spec["key"]:
            key = tile_api_key or os.environ.get(CARTO_KEY_ENV)
            if not key:
                raise ParameterError(
                    f"`basemap={basemap!r}` needs an API key from the tile provider: pass `tile_api_key=` or set "
                    f"`{CARTO_KEY_ENV}`; or use `basemap='osm'` or `basemap='none'` (works offline)."
                )
            provider = provider(apikey=key)
        folium.TileLayer(provider, name=spec["name"], control=True, overlay=False).add_to(m)
    _Style(f".leaflet-container {{ background: {view.background}; }}").add_to(m)
    if outline:
        colour = view.outline_colour
        folium.GeoJson(
            view.area.__geo_interface__,
            name=escape_html(outline_name),
            style_function=lambda _f: {"color": colour, "weight": 2, "fill": False, "opacity": 0.9},
            interactive=False,
            control=True,
            overlay=True,
        ).add_to(m)
    m.fit_bounds(view.fit)
    _FitWhenSized(view.fit).add_to(m)  # and again once its frame has a size (a frame laid out late fitted nothing)


class OfflineDualMap(DualMap):
    """Two maps side by side whose views move together; assets inlined when rendered.

    ``.m1`` (left) and ``.m2`` (right) are ordinary folium maps: add each one's layers to it.
    Show it with ``st_folium(dual, height=...)`` (streamlit-folium supports ``DualMap``).
    """

    def render(self, **kwargs: Any) -> None:
        make_offline(self)
        super().render(**kwargs)
        # streamlit-folium renders only the DualMap element before reading the page header, so
        # the header parts of the layers on the two maps (legend and background styles) would be
        # missing: render the maps here too (elements are replaced by name, not duplicated). The
        # maps' own sizing styles are then taken out again when they were not there before:
        # streamlit-folium lays out the two maps itself, and they would squeeze its layout.
        header = self.get_root().header
        for m in (self.m1, self.m2):
            had = m.get_name() in header._children
            m.render(**kwargs)
            if not had:
                header._children.pop(m.get_name(), None)


def dual_map(
    *,
    bounds_27700: tuple[float, float, float, float] | None = None,
    study_area: Any = None,
    basemap: str = "none",
    layout: str = "horizontal",
    outline: bool = True,
    outline_name: str = "Study area",
    outline_colour: str = "#3a3a3a",
    background: str = "#f4f4f1",
    simplify_m: float = 10.0,
    tile_api_key: str | None = None,
) -> OfflineDualMap:
    """Two synchronised maps (e.g. before / after), each set up as :func:`base_map` sets up one.

    Parameters are those of :func:`base_map`, plus ``layout`` (``"horizontal"``: left and right;
    ``"vertical"``: top and bottom). The height is the container's (``st_folium(height=...)``).
    Add layers to ``dual.m1`` and ``dual.m2`` separately, and a layer control to each.
    """
    validation.choice(layout, "layout", ("horizontal", "vertical"))
    view = _prepare(bounds_27700, study_area, basemap, simplify_m, outline_colour, background)
    dual = OfflineDualMap(location=view.centre, layout=layout, **_MAP_OPTIONS)
    for m in (dual.m1, dual.m2):
        _decorate(m, view, basemap, tile_api_key, outline, outline_name)
    return dual


def add_layer_control(m: folium.Map, *, collapsed: bool = False, position: str = "topright") -> folium.LayerControl:
    """Add a layer control listing every named layer; call it after the last layer."""
    validation.choice(position, "position", CORNERS)
    ctrl = folium.LayerControl(collapsed=collapsed, position=position)
    ctrl.add_to(m)
    return ctrl
