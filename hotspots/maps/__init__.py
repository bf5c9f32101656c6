"""Folium maps that work offline, with escaped text and grid rasters placed accurately.

* :mod:`hotspots.maps.offline` — every Leaflet/plugin asset inlined (no CDN): :class:`OfflineMap`,
  :func:`make_offline`.
* :mod:`hotspots.maps.base` — :func:`base_map` (and :func:`dual_map`, two synchronised maps)
  fitted to the study area, ``basemap="none"`` by default, with the study-area outline.
* :mod:`hotspots.maps.layers` — :func:`raster_overlay` (grid values as one reprojected image),
  :func:`geojson_layer`, :func:`marker_cluster`.
* :mod:`hotspots.maps.legends` — :class:`ColourScale`, :func:`legend`, :func:`category_legend`.
* :mod:`hotspots.maps.escape` — :func:`escape_html` and friends for any text from data.
"""

from .base import BASEMAPS, OfflineDualMap, add_layer_control, base_map, dual_map, round_coordinates, to_wgs84_bounds
from .escape import css_colour, display_value, escape_html, format_value, js_json
from .layers import GridImageOverlay, geojson_layer, marker_cluster, raster_overlay
from .legends import ColourScale, Legend, category_legend, legend
from .offline import (
    OfflineAssetError,
    OfflineMap,
    asset_data_url,
    external_urls,
    make_offline,
    needs_internet,
    offline_problems,
)

__all__ = [
    "BASEMAPS",
    "ColourScale",
    "GridImageOverlay",
    "Legend",
    "OfflineAssetError",
    "OfflineMap",
    "OfflineDualMap",
    "add_layer_control",
    "asset_data_url",
    "base_map",
    "category_legend",
    "css_colour",
    "display_value",
    "dual_map",
    "escape_html",
    "external_urls",
    "format_value",
    "geojson_layer",
    "js_json",
    "legend",
    "make_offline",
    "marker_cluster",
    "needs_internet",
    "offline_problems",
    "raster_overlay",
    "round_coordinates",
    "to_wgs84_bounds",
]
