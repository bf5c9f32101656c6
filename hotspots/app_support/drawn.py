"""Maps drawn once: the text streamlit-folium's map component receives, made once per base map and
once per layer group, then reused on every rerun.

``streamlit_folium.st_folium`` renders the whole folium map again on every Streamlit rerun —
Jinja templates compiled from each element's script (the layers' GeoJSON and data rows
included), the Leaflet and jQuery assets collected — although the text it sends is the same each
time for the same map and layers. Here that text is made once (:func:`draw_map`,
:func:`draw_layer`, cached by the app with the results they come from) and a rerun only joins
strings (:func:`component_args`). The text is made with streamlit-folium's own public functions
(``generate_leaflet_string``, ``get_full_id``, ``generate_js_hash``) in the same steps as
``st_folium``, so the component receives what ``st_folium`` would send (tested equal); its
browser side is streamlit-folium's, unchanged (:mod:`hotspots.app_support.mapview` declares it).

This replaces two work-arounds: a process-wide cache of branca's ``Template`` (a monkeypatch) and
deep copies of the layer groups (streamlit-folium renames what it draws).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from textwrap import dedent
from typing import Any

import branca.colormap
import folium
import folium.elements
import folium.plugins
from streamlit_folium import generate_js_hash, generate_leaflet_string, get_full_id

from ..maps.scheme_layers import scheme_layer_control

__all__ = ["DrawnMap", "DrawnLayer", "draw_map", "draw_layer", "component_args"]

#: Placeholder for the group's name in a drawn layer's script (streamlit-folium names the groups
#: ``feature_group_0``, ``feature_group_1``, ... by their position). Upper case, so that
#: streamlit-folium's renaming of folium's lower-case ids never touches it.
_SLOT = "feature_group_Q0Q"


@dataclass(frozen=True)
class DrawnMap:
    """A base map as the component receives it: its script, page header and assets."""

    script: str
    header: str
    html: str
    map_id: str
    js_links: tuple[str, ...]
    css_links: tuple[str, ...]
    layers: tuple[tuple[str, str, bool, bool, bool], ...] = ()  # the map's own layers: name, script name, show, overlay, control


@dataclass(frozen=True)
class DrawnLayer:
    """A layer group's script (with a placeholder for its name) and what the layer control needs."""

    script: str
    name: str
    show: bool
    overlay: bool
    control: bool
    js_links: tuple[str, ...]
    css_links: tuple[str, ...]


def _assets(element: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Script and style sheet links of ``element`` and everything in it, in streamlit-folium's order."""
    js: list[str] = []
    css: list[str] = []

    def walk(el: Any) -> None:
        if isinstance(el, branca.colormap.ColorMap):  # as streamlit-folium does for branca's colour maps
            js[:0] = ["https://d3js.org/d3.v4.min.js", "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"]
        if isinstance(el, folium.plugins.DualMap):
            walk(el.m1)
            walk(el.m2)
        if isinstance(el, folium.elements.JSCSSMixin):
            css.extend(href for _, href in getattr(el, "default_css", []))
            js.extend(src for _, src in getattr(el, "default_js", []))
        for child in getattr(el, "_children", {}).values():
            walk(child)

    walk(element)
    return tuple(dict.fromkeys(js)), tuple(dict.fromkeys(css))


def draw_map(m: folium.Map) -> DrawnMap:
    """The base map ``m`` as the component receives it (``m`` itself is left as it was)."""
    m = copy.deepcopy(m)
    m.get_root().render()
    m.render()
    html = re.sub(r'<div class="folium-map" id=".*" ></div>', "", m.get_root().html.render()).strip()
    header = m.get_root().header.render()
    header = re.sub(
        r'<script\b[^>]*\bsrc=["\'][^"\']*["\'][^>]*>.*?</script\b[^>]*>', "", header, flags=re.IGNORECASE | re.DOTALL
    )
    header = re.sub(r'<link rel="stylesheet" href=".*?"/>', "", header)
    header = re.sub(r'(L\.Icon\.Default\.imagePath\s*=\s*["\'])([^"\']*?/dist)(["\'])', r"\1\2/images/\3", header)
    header = header.replace(get_full_id(m), "map_div")
    script = generate_leaflet_string(m).replace("alert(coords);", "")
    map_id = get_full_id(m)  # "map_div" once the script is made, as streamlit-folium sends it
    script = dedent(re.sub(r"drawnItems_draw_control_div_\d+", "drawnItems", script))
    if "drawnItems" not in script:
        script += "\nvar drawnItems = [];"
    js, css = _assets(m)
    # The names the map's own layers have in its script (generate_leaflet_string renamed them).
    own = tuple(
        (el.layer_name, el.get_name(), bool(el.show), bool(el.overlay), bool(el.control))
        for el in m._children.values()
        if isinstance(el, folium.map.Layer)
    )
    return DrawnMap(script, header, html, map_id, js, css, own)


def draw_layer(group: folium.FeatureGroup) -> DrawnLayer:
    """A layer group's script, made once (``group`` itself is left as it was)."""
    g = copy.deepcopy(group)
    m = folium.Map(tiles=None)
    g._id = _SLOT
    g.add_to(m)
    g.render()
    script = dedent(generate_leaflet_string(g, base_id=_SLOT).replace(get_full_id(m), "map_div"))
    js, css = _assets(g)
    return DrawnLayer(script, g.layer_name, bool(g.show), bool(g.overlay), bool(g.control), js, css)


class _Named(folium.map.Layer):
    """A stand-in for a layer in the layer control: its name, and the name it has in the script."""

    def __init__(self, name: str, script_name: str, *, show: bool, overlay: bool, control: bool):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self.script_name = script_name

    def get_name(self) -> str:
        return self.script_name


@functools.lru_cache(maxsize=256)
def _layer_control(own: tuple[tuple[str, str, bool, bool, bool], ...], added: tuple[tuple[str, bool, bool, bool], ...]) -> str:
    """The layer control's script for the map's own layers (name, script name, show, overlay,
    control) and the added groups (name, show, overlay, control), with stand-ins named as in the
    scripts. Depends only on its arguments (memoised: the same few combinations recur)."""
    m = folium.Map(tiles=None)
    for name, script_name, show, overlay, control in own:
        _Named(name, script_name, show=show, overlay=overlay, control=control).add_to(m)
    for i, (name, show, overlay, control) in enumerate(added):
        _Named(name, f"feature_group_feature_group_{i}", show=show, overlay=overlay, control=control).add_to(m)
    control = scheme_layer_control()
    control._id = "layer_control"
    control.add_to(m)
    control.render()
    text = dedent(generate_leaflet_string(control, base_id="layer_control").replace(get_full_id(m), "map_div"))
    return text + dedent(
        """
        window.layer_control = layer_control_layer_control;
        """
    )


def component_args(drawn: DrawnMap, layers: Sequence[DrawnLayer], *, key: str, height: int) -> dict[str, Any]:
    """The arguments of streamlit-folium's component for ``drawn`` with ``layers`` on it, as
    ``st_folium(m, feature_group_to_add=..., layer_control=scheme_layer_control(),
    returned_objects=[], use_container_width=True, key=key, height=height)`` sends them."""
    parts = []
    for i, layer in enumerate(layers):
        name = f"feature_group_{i}"
        parts.append(layer.script.replace(_SLOT, name))
        parts.append(
            dedent(
                f"""
        map_div.addLayer(feature_group_{name});
        window.feature_group = window.feature_group || [];
        window.feature_group.push(feature_group_{name});
        """
            )
        )
    js = list(dict.fromkeys([*drawn.js_links, *(s for layer in layers for s in layer.js_links)]))
    css = list(dict.fromkeys([*drawn.css_links, *(s for layer in layers for s in layer.css_links)]))
    return {
        "script": drawn.script,
        "header": drawn.header,
        "html": drawn.html,
        "id": drawn.map_id,
        "key": generate_js_hash(drawn.script, key, False),
        "height": height,
        "width": None,
        "returned_objects": [],
        "default": {},
        "zoom": None,
        "center": None,
        "feature_group": "".join(parts) if layers else None,
        "return_on_hover": False,
        "layer_control": _layer_control(drawn.layers, tuple((x.name, x.show, x.overlay, x.control) for x in layers)),
        "pixelated": False,
        "css_links": css,
        "js_links": js,
        "wrap_longitude": False,
    }
