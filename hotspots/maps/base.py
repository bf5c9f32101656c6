"""The base map: fitted to the study area, offline by default, with the study-area outline.

Analysis happens in British National Grid (EPSG:27700); the map is in WGS84 / Web Mercator, so
coordinates are converted here, at the edge.
"""

from __future__ import annotations

import math
import os
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pyproj
import shapely
import xyzservices
from branca.element import MacroElement
from jinja2 import Template

from .._errors import CRSError, ParameterError
from .escape import css_colour, escape_html
from .offline import OfflineMap

__all__ = ["base_map", "add_layer_control", "BASEMAPS", "CARTO_KEY_ENV", "to_wgs84_bounds", "round_coordinates"]

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

_TO_WGS84 = pyproj.Transformer.from_crs(27700, 4326, always_xy=True)


class _Style(MacroElement):
    """A ``<style>`` block in the page header (works in streamlit-folium's frame too)."""

    _template = Template("{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}")

    def __init__(self, css: str):
        super().__init__()
        self._name = "HotspotsStyle"
        self.css = css


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
        raise ParameterError(f"`bounds_27700` must be four numbers (xmin, ymin, xmax, ymax) in metres; got {bounds_27700!r}.") from None
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
    w, s, e, n = _TO_WGS84.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=21)
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
    geom = shapely.union_all(gs.to_crs(27700).values)
    if simplify_m > 0:
        geom = geom.simplify(simplify_m, preserve_topology=True)
    out = gpd.GeoSeries([geom], crs=27700).to_crs(4326)
    return gpd.GeoSeries(round_coordinates(out.values), crs=4326)


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
    if basemap not in BASEMAPS:
        raise ParameterError(f"`basemap` must be one of {sorted(BASEMAPS)}; got {basemap!r}.")
    if bounds_27700 is None and study_area is None:
        raise ParameterError("give `study_area=` (polygons) or `bounds_27700=` (metres) so the map knows where to look.")
    if not isinstance(height, (int, np.integer)) or isinstance(height, bool) or not 50 <= height <= 10_000:
        raise ParameterError(f"`height` must be a whole number of pixels between 50 and 10,000; got {height!r}.")
    try:
        simplify_m = float(simplify_m)
    except (TypeError, ValueError):
        raise ParameterError(f"`simplify_m` must be a number of metres; got {simplify_m!r}.") from None
    if not (math.isfinite(simplify_m) and simplify_m >= 0):
        raise ParameterError(f"`simplify_m` must be >= 0 metres; got {simplify_m!r}.")
    outline_colour = css_colour(outline_colour, name="outline_colour")
    background = css_colour(background, name="background")

    area = _area_wgs84(study_area, simplify_m) if study_area is not None else None
    if bounds_27700 is not None:
        w, s, e, n = to_wgs84_bounds(bounds_27700)
    else:  # study_area is given (checked above)
        w, s, e, n = (float(v) for v in area.total_bounds)

    m = OfflineMap(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=10,
        tiles=None,
        height=int(height),
        width=width,
        control_scale=True,
        prefer_canvas=False,
        # Leaflet needs a max zoom when there is no tile layer (MarkerCluster refuses otherwise).
        maxZoom=19,
        minZoom=5,
    )
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
    _Style(f".leaflet-container {{ background: {background}; }}").add_to(m)

    if outline:
        if area is None:
            box = shapely.box(*bounds_27700)  # type: ignore[misc]
            area = gpd.GeoSeries(round_coordinates(gpd.GeoSeries([box], crs=27700).to_crs(4326).values), crs=4326)
        folium.GeoJson(
            area.__geo_interface__,
            name=escape_html(outline_name),
            style_function=lambda _f: {"color": outline_colour, "weight": 2, "fill": False, "opacity": 0.9},
            interactive=False,
            control=True,
            overlay=True,
        ).add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    return m


def add_layer_control(m: folium.Map, *, collapsed: bool = False, position: str = "topright") -> folium.LayerControl:
    """Add a layer control listing every named layer; call it after the last layer."""
    if position not in {"topright", "topleft", "bottomright", "bottomleft"}:
        raise ParameterError(f"`position` must be 'topright', 'topleft', 'bottomright' or 'bottomleft'; got {position!r}.")
    ctrl = folium.LayerControl(collapsed=collapsed, position=position)
    ctrl.add_to(m)
    return ctrl
