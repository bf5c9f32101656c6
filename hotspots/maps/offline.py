"""Folium maps that need no internet: every script and style sheet inlined as a ``data:`` URL.

folium (and streamlit-folium, which loads each element's ``default_js``/``default_css`` into its
component frame) fetch Leaflet, jQuery, Bootstrap, Font Awesome and each plugin's scripts from
public CDNs. Without internet (this machine, CI, many police networks) the map stays blank.

How this module fixes that
--------------------------
The asset files come from the ``folium-offline`` package on PyPI (a pip dependency, installed by
``pip install -e .``). It ships, byte for byte, the CDN files of folium 0.20 keyed by the very URLs
folium uses; we only read that table (``offlinefolium.elements._res``) and keep using folium's own
classes, so streamlit-folium (which checks ``isinstance(..., folium.elements.JSCSSMixin)``) works
unchanged. (``offlinefolium``'s own ``Map`` cannot be used with streamlit-folium: it pastes the
scripts inline into the page header, and streamlit-folium injects the header with ``innerHTML``,
which never runs scripts.)

:func:`make_offline` walks a map's element tree and replaces, *on each element instance* (never
on folium's classes), every CDN URL with a ``data:`` URL of the same file. It also trims the
map's defaults to what the map uses:

* always: Leaflet (JS + CSS, whose images are already inlined), jQuery (folium's popups call
  ``$``), and the tiny awesome-markers script (so an ``Icon`` never breaks the page);
* only when a ``folium.Icon`` is on the map: the awesome-markers style sheets;
* never: Bootstrap (JS and CSS), Glyphicons and Font Awesome. The icon-font style sheets refer to
  font files that no package ships, so their glyphs cannot work offline; use
  :func:`hotspots.maps.layers.marker_cluster` (coloured dots with a short label) instead.

Anything that would still reach the internet is refused with :class:`OfflineAssetError`:
a branca ``ColorMap`` (streamlit-folium then adds d3 from a CDN; use
:func:`hotspots.maps.layers.legend`) or a plugin whose files are not in the table. Tile layers are
not assets: they are reported by :func:`needs_internet` and chosen explicitly in
:func:`hotspots.maps.base.base_map` (``basemap="none"`` is the offline default).

Size: Leaflet + jQuery + Leaflet's CSS come to about 350 kB as ``data:`` URLs; MarkerCluster adds
about 50 kB.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterator
from typing import Any

import folium
import folium.elements
from branca.colormap import ColorMap
from branca.element import CssLink, Element, Figure, JavascriptLink

from .._errors import HotspotsError

__all__ = [
    "OfflineAssetError",
    "OfflineMap",
    "make_offline",
    "offline_problems",
    "needs_internet",
    "external_urls",
    "asset_data_url",
    "ASSET_SOURCE",
]

#: The PyPI package the asset files come from.
ASSET_SOURCE = "folium-offline"

#: Map defaults that are dropped: unused by our layers, and the icon fonts cannot work offline.
_DROPPED = frozenset({"bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers_font_css"})
#: Map defaults kept only when a ``folium.Icon`` is on the map.
_ICON_CSS = frozenset({"awesome_markers_css", "awesome_rotate_css"})


class OfflineAssetError(HotspotsError):
    """A map element needs a file from the internet that is not available locally."""


@functools.cache
def _asset_table() -> dict[str, str]:
    try:
        from offlinefolium.elements import _res  # the CDN files, keyed by URL
    except ImportError as exc:  # pragma: no cover - the package is a hard dependency
        raise OfflineAssetError(
            f"the `{ASSET_SOURCE}` package is needed to draw maps offline; install it with "
            f"`pip install {ASSET_SOURCE}` (or `scripts/setup`). ({exc})"
        ) from None
    return _res


def _is_external(url: str) -> bool:
    u = url.strip().lower()
    return u.startswith(("http://", "https://", "//"))


@functools.cache
def asset_data_url(url: str) -> str:
    """The ``data:`` URL holding the file that folium would load from ``url``.

    Parameters
    ----------
    url : str
        A CDN URL from an element's ``default_js`` or ``default_css``.

    Raises
    ------
    OfflineAssetError
        When ``folium-offline`` has no copy of that file.
    """
    table = _asset_table()
    if url not in table:
        raise OfflineAssetError(
            f"no local copy of {url!r}: the element that needs it cannot be drawn offline. Use the "
            "layers in `hotspots.maps.layers`, or check that `folium` and `folium-offline` are the "
            "same version (`pip install -U folium folium-offline`)."
        )
    mime = "text/css" if _looks_css(url) else "text/javascript"
    payload = base64.b64encode(table[url].encode("utf-8")).decode("ascii")
    return f"data:{mime};charset=utf-8;base64,{payload}"


def _looks_css(url: str) -> bool:
    return url.split("?")[0].lower().endswith(".css")


def _walk(element: Any) -> Iterator[Any]:
    """Every element below (and including) ``element``: children and popup/figure parts."""
    seen: set[int] = set()
    stack = [element]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        yield el
        children = getattr(el, "_children", None)
        if children:
            stack.extend(children.values())
        for part in ("html", "script", "header"):
            sub = getattr(el, part, None)
            if isinstance(sub, Element):
                stack.append(sub)


def _root(m: Any) -> Any:
    root = m.get_root() if hasattr(m, "get_root") else m
    return root


def offline_problems(m: Any) -> list[str]:
    """Why ``m`` could not be drawn without internet, as sentences (empty when it can).

    Looks at assets only; tile layers are reported by :func:`needs_internet`.
    """
    problems: list[str] = []
    table = _asset_table()
    for el in _walk(_root(m)):
        if isinstance(el, ColorMap):
            problems.append(
                f"a branca colour map ({type(el).__name__}) makes streamlit-folium load d3 from the internet; "
                "use `hotspots.maps.legend(...)` instead."
            )
        if isinstance(el, folium.elements.JSCSSMixin):
            for _, url in list(el.default_js) + list(el.default_css):
                if _is_external(url) and url not in table:
                    problems.append(f"{type(el).__name__} needs {url}, which has no local copy.")
        if isinstance(el, (JavascriptLink, CssLink)) and _is_external(el.url) and el.url not in table:
            problems.append(f"a link to {el.url} has no local copy.")
    return list(dict.fromkeys(problems))


def make_offline(m: Any) -> Any:
    """Replace every CDN script and style sheet of map ``m`` with an inlined ``data:`` URL.

    Works on any folium map (or figure) and is idempotent; call it after the last layer has been
    added (an :class:`OfflineMap` calls it itself each time it is rendered). The element
    instances of ``m`` are changed in place (folium's classes are not); ``m`` is returned.

    Raises
    ------
    OfflineAssetError
        When something on the map would still need the internet (see :func:`offline_problems`).
    """
    problems = offline_problems(m)
    if problems:
        raise OfflineAssetError("this map cannot be drawn offline: " + " ".join(problems))
    root = _root(m)
    elements = list(_walk(root))
    has_icon = any(isinstance(el, folium.Icon) for el in elements)
    for el in elements:
        if not isinstance(el, folium.elements.JSCSSMixin):
            continue
        js = [(n, u) for n, u in el.default_js if n not in _DROPPED]
        css = [(n, u) for n, u in el.default_css if n not in _DROPPED and (has_icon or n not in _ICON_CSS)]
        # Instance attributes: the class-level lists (shared by every folium map) stay untouched.
        el.default_js = [(n, asset_data_url(u) if _is_external(u) else u) for n, u in js]
        el.default_css = [(n, asset_data_url(u) if _is_external(u) else u) for n, u in css]
    # Links left in the page header by an earlier render (before this call) would still point
    # at the CDN: drop them; the next render adds the inlined ones.
    header = getattr(root, "header", None)
    if isinstance(root, Figure) and header is not None:
        for key, child in list(header._children.items()):
            if isinstance(child, (JavascriptLink, CssLink)) and _is_external(child.url):
                del header._children[key]
    return m


class OfflineMap(folium.Map):
    """A :class:`folium.Map` that inlines its scripts and style sheets each time it is rendered.

    Use it like ``folium.Map``; :func:`hotspots.maps.base.base_map` returns one. Rendering raises
    :class:`OfflineAssetError` when an element would need the internet.
    """

    def render(self, **kwargs: Any) -> None:
        make_offline(self)
        super().render(**kwargs)


def needs_internet(m: Any) -> list[str]:
    """URL templates of the tile layers on ``m`` (each needs the internet to show anything)."""
    out = []
    for el in _walk(_root(m)):
        if isinstance(el, folium.raster_layers.TileLayer):
            out.append(str(el.tiles))
        elif isinstance(el, folium.raster_layers.WmsTileLayer):
            out.append(str(el.url))
    return out


# src= / href= attributes, CSS url(...) and @import that point outside the page.
_EXTERNAL_REF = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"'\s)>]+)""",
    re.IGNORECASE,
)


def external_urls(html: str) -> list[str]:
    """External URLs that a page would load: ``src``/``href`` attributes, CSS ``url()`` and ``@import``.

    Text that merely mentions a URL (licence comments, the SVG namespace inside Leaflet) is not
    counted. Inlined ``data:`` URLs are decoded and searched too, so an inlined style sheet that
    imports a web font from a CDN is caught.
    """
    found = list(_EXTERNAL_REF.findall(html))
    for m in re.finditer(r"data:text/css;charset=utf-8;base64,([A-Za-z0-9+/=]+)", html):
        text = base64.b64decode(m.group(1)).decode("utf-8", "replace")
        found.extend(_EXTERNAL_REF.findall(text))
    return list(dict.fromkeys(found))
