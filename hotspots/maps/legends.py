"""Colour scales and legends of folium maps: how values map to colours, and the controls that explain them.

:class:`ColourScale` stretches a matplotlib colour map over a value range (chosen by
:func:`choose_range`, announced in captions); :func:`legend` draws one as a colour bar with round
ticks and :func:`category_legend` draws coloured swatches. Legends are escaped HTML in a Leaflet
control (no CDN, no d3) that follows the layer it belongs to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import matplotlib
import numpy as np
from branca.element import MacroElement
from folium.template import Template

from .. import validation
from .._errors import ParameterError
from ..style import tick_label
from .escape import css_colour, escape_html

__all__ = [
    "CORNERS", "COLOUR_LEVELS", "ColourScale", "colour_map", "choose_range",
    "scale_rule", "LEGEND_CSS", "Legend", "legend", "category_legend",
]

#: Corners of a map where Leaflet places controls (legends, layer controls).
CORNERS = ("topright", "topleft", "bottomright", "bottomleft")
#: Colour levels in a raster image (index 0 is transparent).
COLOUR_LEVELS = 255


# --------------------------------------------------------------------------- colour scale
def colour_map(name: str) -> matplotlib.colors.Colormap:
    """The matplotlib colour map called ``name`` (a :class:`ParameterError` naming `cmap` otherwise)."""
    try:
        return matplotlib.colormaps[name]
    except (KeyError, TypeError):
        raise ParameterError(
            f"`cmap` {name!r} is not a matplotlib colour map; try 'YlOrRd', 'viridis', 'magma' or 'RdBu_r'."
        ) from None


@dataclass(frozen=True)
class ColourScale:
    """How values map to colours: a matplotlib colour map stretched from ``vmin`` to ``vmax``.

    Attributes
    ----------
    cmap : str
        matplotlib colour map name.
    vmin, vmax : float
        Values drawn with the first and last colour (values beyond are clipped to them).
    units : str
        Units of the values, shown in the legend (e.g. ``"incidents per km²"``).
    title : str
        What the values are (legend title).
    clipped_low, clipped_high : bool
        Whether some data lie below ``vmin`` / above ``vmax`` (the legend then says ``≤`` / ``≥``).
    how : str
        How ``vmin``/``vmax`` were chosen (announced in captions).
    data_max : float or None
        The largest value shown, when known: a legend whose top colour is a percentile says it (the app's map
        read "≥ 30.6" where the briefing, drawn to the maximum, read 139).
    """

    cmap: str
    vmin: float
    vmax: float
    units: str = ""
    title: str = ""
    clipped_low: bool = False
    clipped_high: bool = False
    how: str = ""
    data_max: float | None = None

    def __post_init__(self) -> None:
        colour_map(self.cmap)
        if not (math.isfinite(self.vmin) and math.isfinite(self.vmax)) or self.vmax <= self.vmin:
            raise ParameterError(f"`vmin` must be below `vmax`, both finite; got vmin={self.vmin!r}, vmax={self.vmax!r}.")

    def normalise(self, values: np.ndarray) -> np.ndarray:
        """Values scaled to 0–1 (clipped)."""
        v = (np.asarray(values, dtype=float) - self.vmin) / (self.vmax - self.vmin)
        return np.clip(v, 0.0, 1.0)

    def level_colours(self) -> np.ndarray:
        """RGB (uint8) of the ``255`` colour levels used in raster images, shape (255, 3)."""
        rgba = colour_map(self.cmap)(np.linspace(0.0, 1.0, COLOUR_LEVELS))
        return np.round(rgba[:, :3] * 255).astype(np.uint8)

    def levels(self, values: np.ndarray) -> np.ndarray:
        """Colour level (0–254) of each value."""
        return np.round(self.normalise(values) * (COLOUR_LEVELS - 1)).astype(np.int64)

    def hex(self, values: Any) -> list[str]:
        """Hex colour of each value (as drawn in the raster)."""
        cols = self.level_colours()[self.levels(np.atleast_1d(values))]
        return ["#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb)) for rgb in cols]


def choose_range(
    v: np.ndarray, vmin: float | None, vmax: float | None, robust: bool, percentile: float
) -> tuple[float, float, str]:
    """``(vmin, vmax, how they were chosen)`` for values ``v``: given bounds, else 0 (for data >= 0) or a
    percentile, and the maximum or a percentile (``robust``)."""
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        lo, hi = (0.0 if vmin is None else float(vmin)), (1.0 if vmax is None else float(vmax))
        if hi <= lo:
            hi = lo + 1.0
        return lo, hi, "no values to show"
    how = []
    if vmin is None:
        if finite.min() >= 0:
            lo, how_lo = 0.0, "0"
        elif robust:
            lo, how_lo = float(np.percentile(finite, 100 - percentile)), f"{100 - percentile:g}th percentile"
        else:
            lo, how_lo = float(finite.min()), "minimum"
        how.append(f"lowest colour at {how_lo}")
    else:
        lo = float(vmin)
    if vmax is None:
        if robust:
            hi, how_hi = float(np.percentile(finite, percentile)), f"{percentile:g}th percentile of the values shown"
        else:
            hi, how_hi = float(finite.max()), "maximum"
        how.append(f"top colour at the {how_hi}")
    else:
        hi = float(vmax)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ParameterError(f"`vmin`/`vmax` must be finite; got {lo!r}, {hi!r}.")
    if hi <= lo:
        if vmax is not None and vmin is not None:
            raise ParameterError(f"`vmin` ({lo:g}) must be below `vmax` ({hi:g}).")
        hi = lo + (abs(lo) if lo != 0 else 1.0)  # constant data: one colour, a sane range
    return lo, hi, "; ".join(how) if how else "given"


# --------------------------------------------------------------------------- legends
#: Style sheet of every legend (also added to a map's header by
#: :func:`hotspots.maps.scheme_layers.layer_support`, for legends that arrive later in feature
#: groups, e.g. through streamlit-folium's ``feature_group_to_add``).
LEGEND_CSS = """
.hotspots-legend { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px/1.35 sans-serif; color: #222; max-width: 260px; }
.hotspots-legend .hl-title { font-weight: 600; margin-bottom: 4px; }
.hotspots-legend .hl-bar { height: 12px; width: 220px; border: 1px solid #999; }
.hotspots-legend .hl-ticks { position: relative; height: 16px; width: 220px; }
.hotspots-legend .hl-ticks span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.hotspots-legend .hl-ticks span:first-child { transform: none; }
.hotspots-legend .hl-ticks span:last-child { transform: translateX(-100%); }
.hotspots-legend .hl-swatch { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: -2px; border: 1px solid #666; }
"""


class Legend(MacroElement):
    """A Leaflet control holding escaped legend HTML (no CDN, no d3).

    Added to a map, the legend is always shown. Added to a layer on a map (a ``FeatureGroup``),
    it follows that layer: shown while the layer is on the map, removed when the layer is
    switched off in the layer control or taken off the map (as streamlit-folium does when it
    replaces the feature groups of ``feature_group_to_add``), so legends never pile up.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function() {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function() {
                var div = L.DomUtil.create('div', 'hotspots-legend');
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {%- set layer = this.layer_name() %}
            {%- if layer %}
            var layer = {{ layer }};
            layer.on('add', function() { control.addTo({{ this.map_name() }}); });
            layer.on('remove', function() { control.remove(); });
            if ({{ this.map_name() }}.hasLayer(layer)) { control.addTo({{ this.map_name() }}); }
            {%- else %}
            control.addTo({{ this.map_name() }});
            {%- endif %}
        })();
        {% endmacro %}
        """
    )

    css = LEGEND_CSS

    def __init__(self, html: str, *, position: str = "bottomright"):
        super().__init__()
        validation.choice(position, "position", CORNERS)
        self._name = "Legend"
        self.html = html
        self.position = position

    def map_name(self) -> str:
        """JavaScript name of the map this legend is on (it may sit in a feature group)."""
        el = self._parent
        while el is not None and not isinstance(el, folium.Map):
            el = getattr(el, "_parent", None)
        if el is None:
            raise ParameterError("a legend must be added to a map (or to a layer on a map) before it is drawn.")
        return el.get_name()

    def layer_name(self) -> str | None:
        """JavaScript name of the layer the legend follows (its parent), or None on a map."""
        parent = self._parent
        if isinstance(parent, folium.map.Layer) and not isinstance(parent, folium.Map):
            return parent.get_name()
        return None


def _tick(v: float, fmt: str | None) -> str:
    return format(v, fmt) if fmt is not None else tick_label(v)


def _ticks(scale: ColourScale, n_ticks: int, fmt: str | None) -> list[tuple[float, str]]:
    """(position in %, label) of legend ticks: round numbers, with the ends marked when clipped."""
    from matplotlib.ticker import MaxNLocator

    lo, hi = scale.vmin, scale.vmax
    eps = 1e-9 * (hi - lo)
    values = [float(t) for t in MaxNLocator(nbins=n_ticks - 1).tick_values(lo, hi) if lo - eps <= t <= hi + eps]
    out = [(100.0 * (t - lo) / (hi - lo), _tick(t, fmt)) for t in values]
    if scale.clipped_low or not out or out[0][0] > 0.5:
        out = [p for p in out if p[0] >= 20.0]
        out.insert(0, (0.0, ("≤ " if scale.clipped_low else "") + _tick(lo, fmt)))
    if scale.clipped_high or out[-1][0] < 99.5:
        out = [p for p in out if p[0] <= 80.0]
        out.append((100.0, ("≥ " if scale.clipped_high else "") + _tick(hi, fmt)))
    return out


def scale_rule(scale: ColourScale, fmt: str | None = None) -> str:
    """The scale's rule when its top colour is not the largest value shown: ``"top colour: 30.6, the 99th percentile
    of the values shown; maximum 139"`` (``""`` otherwise). The same surface drawn to its maximum elsewhere (the
    briefing) then reads as the same data on another scale, said."""
    if not scale.clipped_high or "percentile" not in scale.how:
        return ""
    which = scale.how.split("top colour at the ", 1)[-1].split(";")[0]
    top = f"top colour: {_tick(scale.vmax, fmt)}, the {which}"
    return top + (f"; maximum {_tick(scale.data_max, fmt)}" if scale.data_max is not None else "")


def legend(
    scale: ColourScale | None = None,
    *,
    title: str | None = None,
    units: str | None = None,
    cmap: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    n_ticks: int = 5,
    fmt: str | None = None,
    position: str = "bottomright",
) -> Legend:
    """A colour-bar legend: title, units, gradient and ticks (``≥`` on the last when clipped).

    Parameters
    ----------
    scale : ColourScale, optional
        Usually ``raster_overlay(...).scale``. Otherwise give ``cmap``, ``vmin`` and ``vmax``.
    title, units : str, optional
        Override the scale's title and units (escaped).
    n_ticks : int
        Tick labels along the bar (2–11).
    fmt : str, optional
        ``format`` spec for tick labels (e.g. ``",.0f"``).
    position : str
        Leaflet control corner.
    """
    if scale is None:
        if cmap is None or vmin is None or vmax is None:
            raise ParameterError("give `scale=` (e.g. `overlay.scale`) or all of `cmap`, `vmin` and `vmax`.")
        scale = ColourScale(cmap=cmap, vmin=float(vmin), vmax=float(vmax))
    n_ticks = validation.whole(n_ticks, "n_ticks", low=2, high=11)
    title = scale.title if title is None else title
    units = scale.units if units is None else units
    stops = scale.level_colours()[np.linspace(0, COLOUR_LEVELS - 1, 11).round().astype(int)]
    gradient = ", ".join(f"#{r:02x}{g:02x}{b:02x} {i * 10}%" for i, (r, g, b) in enumerate(stops))
    spans = [
        f'<span style="left: {pos:.1f}%">{escape_html(label)}</span>' for pos, label in _ticks(scale, n_ticks, fmt)
    ]
    head = escape_html(title)
    if units:
        head += f' <span class="hl-units">({escape_html(units)})</span>'
    rule = scale_rule(scale, fmt)
    html = (
        f'<div class="hl-title">{head}</div>'
        f'<div class="hl-bar" style="background: linear-gradient(to right, {gradient})"></div>'
        f'<div class="hl-ticks">{"".join(spans)}</div>'
        + (f'<div class="hl-units">{escape_html(rule)}</div>' if rule else "")
    )
    return Legend(html, position=position)


def category_legend(
    items: Sequence[tuple[str, str]] | Mapping[str, str],
    *,
    title: str = "",
    position: str = "bottomright",
    empty_text: str | None = None,
) -> Legend:
    """A legend of coloured swatches, e.g. Gi* classes or task kinds.

    Parameters
    ----------
    items : sequence of (label, hex colour) pairs, or a mapping label → colour
        Labels are escaped; colours must be hex (``#d7301f``).
    empty_text : str, optional
        Shown (escaped, in italics) under the title when ``items`` is empty, e.g. "none found"
        for a layer whose classes may all be absent; without it, empty ``items`` is an error.
    """
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    head = f'<div class="hl-title">{escape_html(title)}</div>' if title else ""
    if not pairs:
        if empty_text is None:
            raise ParameterError("`items` is empty: give at least one (label, colour) pair.")
        return Legend(f"{head}<div><i>{escape_html(empty_text)}</i></div>", position=position)
    rows = []
    for i, pair in enumerate(pairs):
        try:
            label, colour = pair
        except (TypeError, ValueError):
            raise ParameterError(f"`items[{i}]` must be a (label, colour) pair; got {pair!r}.") from None
        colour = css_colour(colour, name=f"items[{i}] colour")
        rows.append(f'<div><span class="hl-swatch" style="background: {colour}"></span>{escape_html(label)}</div>')
    return Legend(head + "".join(rows), position=position)
