"""Map plumbing shared by the hotspot and the referral layers: feature groups that inline their
assets, the layer control that honours each group's ``show`` flag, the styles later groups rely
on, and small helpers (GeoDataFrame checks, latitude/longitude of points).
"""

from __future__ import annotations

from typing import Any

import folium
import folium.elements
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from folium.template import Template

from .._errors import CRSError, ParameterError
from ..grid import BNG
from .base import project_geoms
from .escape import escape_html
from .layers import LEGEND_CSS, marker_css
from .offline import make_offline

__all__ = [
    "LAYER_NAMES",
    "LayerSupport",
    "SchemeLayerControl",
    "OfflineGroup",
    "layer_support",
    "scheme_layer_control",
    "feature_group",
    "require_gdf",
    "latlon",
]

LAYER_NAMES: dict[str, str] = {
    "density": "Incident density (KDE)",
    "gi": "Gi* hot and cold spots",
    "areas": "Hotspot areas",
    "clusters": "Point clusters",
    "referrals": "Referral origins",
    "tasks": "Reparative task sites",
    "lines": "Referral → task",
    "change": "Change in cells",
    "rings": "Rings around hotspot areas",
    "emerging": "Emerging hot spots (trend over the months)",
}
#: Default size of the squares referral locations are snapped to, metres.

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


def scheme_layer_control(m: folium.Map | None = None, *, collapsed: bool = False,
                         position: str = "topright") -> SchemeLayerControl:
    """A :class:`SchemeLayerControl`, added to ``m`` when given (add it after the last layer)."""
    ctrl = SchemeLayerControl(collapsed=collapsed, position=position)
    if m is not None:
        ctrl.add_to(m)
    return ctrl


class OfflineGroup(folium.FeatureGroup):
    """A feature group whose assets are inlined (no CDN) whenever it is rendered.

    Groups handed to streamlit-folium's ``feature_group_to_add`` are not part of the map when the
    map inlines its own assets, so each group does it for itself (and the functions here call
    :func:`make_offline` on it before returning it, for the scripts streamlit-folium collects).
    """

    def render(self, **kwargs: Any) -> None:
        make_offline(self)
        super().render(**kwargs)


def feature_group(name: str, show: bool) -> folium.FeatureGroup:
    """An :class:`OfflineGroup` named ``name`` (escaped) for the layer control."""
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"`name` must be a non-empty layer name; got {name!r}.")
    return OfflineGroup(name=escape_html(name), show=bool(show), overlay=True, control=True)


def require_gdf(obj: Any, name: str) -> gpd.GeoDataFrame:
    """``obj`` itself when it is a GeoDataFrame with a CRS, else a clear error naming ``name``."""
    if not isinstance(obj, gpd.GeoDataFrame):
        raise ParameterError(f"`{name}` must be a GeoDataFrame; got {type(obj).__name__}.")
    if obj.crs is None:
        raise CRSError(f"`{name}` has no CRS; set it with `.set_crs(27700)` (or the CRS it is in).")
    return obj


def latlon(geoms: Any, crs: Any = BNG) -> np.ndarray:
    """(n, 2) latitude, longitude of points (in ``crs``), rounded to 6 decimals (~0.1 m)."""
    xy = shapely.get_coordinates(project_geoms(geoms, crs, 4326)) if len(geoms) else np.empty((0, 2))
    return np.round(xy[:, ::-1], 6)
