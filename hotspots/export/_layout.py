"""Layout of briefing images: figure and axes in inches, map furniture and text panels.

What every briefing image shares whatever it shows: the drawing context (:class:`DrawContext`),
map axes with the basemap or the offline background and the study-area outline, analysis-grid
images clipped to the study area, the scale bar, north arrow, hotspot-area markers and outlines,
town labels placed without overlaps, the side panel of legends and tables (:class:`hotspots.export._panel.SidePanel`),
the header and the footer. The layers drawn on the maps are in :mod:`hotspots.export._layers`;
the public functions in :mod:`hotspots.export.briefing`.

Every text drawn passes :data:`hotspots.style.PLAIN_TEXT`: names from data are never read as
mathematics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox

from .. import style
from .._errors import ParameterError
from ..displacement_rings import ring_label, rings_wider_than_asked
from ..grid import Grid
from ..style import INK, MUTED, OFFLINE_INSIDE, OFFLINE_OUTSIDE, OUTLINE, PLAIN_TEXT

if TYPE_CHECKING:
    from ._panel import SidePanel

HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


# =============================================================================== geometry helpers
def rings_path(geom: Any) -> MplPath:
    """A matplotlib path (with holes) for a (multi)polygon."""
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    from shapely.geometry.polygon import orient

    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        # Exterior counter-clockwise, holes clockwise: matplotlib fills by the non-zero rule.
        poly = orient(poly, sign=1.0)
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
            c[0] = MplPath.MOVETO
            c[-1] = MplPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return MplPath(np.zeros((1, 2)))
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def area_union(analysis: Any) -> Any:
    """The study area (or the active cells' footprint) as one geometry in BNG."""
    sa = getattr(analysis, "study_area", None)
    if sa is not None and len(sa):
        gs = sa.geometry if sa.crs is None else sa.geometry.to_crs(analysis.grid.crs)
        return shapely.union_all(gs.values)
    g = analysis.grid
    if g.mask is None:
        return shapely.box(*g.bounds)
    rr, cc = np.nonzero(g.active)
    return shapely.union_all(g.cell_polygons(rr, cc))


def fit_extent(bounds: Sequence[float], box_w: float, box_h: float, pad: float = 0.03) -> tuple[float, float, float, float]:
    """``(xmin, xmax, ymin, ymax)`` around ``bounds`` with the aspect ratio of a ``box_w × box_h`` box."""
    x0, y0, x1, y1 = (float(b) for b in bounds)
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    x0, x1, y0, y1 = x0 - pad * w, x1 + pad * w, y0 - pad * h, y1 + pad * h
    w, h = x1 - x0, y1 - y0
    target = box_w / box_h
    if w / h < target:
        extra = (h * target - w) / 2
        x0, x1 = x0 - extra, x1 + extra
    else:
        extra = (w / target - h) / 2
        y0, y1 = y0 - extra, y1 + extra
    return (x0, x1, y0, y1)


def scale_ticks(vmax: float) -> list[float]:
    """Colour-bar ticks: 0, a few round numbers, and the maximum when it is not close to one.

    A round number closer than an eighth of the bar to the tick before it is left out: a lone "2"
    squeezed next to the 0 of a 0-35 referral bar reads as a class of its own.

    Examples
    --------
    >>> scale_ticks(35.0)
    [0.0, 10, 20, 35.0]
    """
    nice = sorted({nice_number(vmax * f) for f in (0.05, 0.25, 0.6)})
    ticks = [0.0]
    for v in nice:
        if 0 < v < vmax and v - ticks[-1] >= vmax / 8:
            ticks.append(v)
    nice = ticks[1:]
    if not nice or vmax > nice[-1] * 1.3:
        ticks.append(vmax)
    return ticks


def nice_number(value: float) -> float:
    """A round number (1, 2, 2.5 or 5 × 10^k) close to ``value``."""
    if value <= 0:
        return 1.0
    k = math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10**k >= value * 0.85:
            return m * 10**k
    return 10 ** (k + 1)


# =============================================================================== context
@dataclass
class DrawContext:
    analysis: Any
    fig: Figure
    scale: float
    area_geom: Any
    source: Any
    notes: list[str] = field(default_factory=list)
    legend: dict[str, Any] = field(default_factory=dict)
    occupied: list[Any] = field(default_factory=list)  # display-space boxes labels must avoid
    towns: Any = None  # the towns to label, in the order they are tried (:func:`label_candidates`), once per figure
    towns_placed: dict[int, list[str]] = field(default_factory=dict)  # names labelled on each map axes (by id)
    towns_first: dict[int, list[tuple[str, Any, Any]]] = field(default_factory=dict)  # (name, text, dot) of first_only calls

    def fs(self, size: float) -> float:
        return size * self.scale


def new_figure(size_in: tuple[float, float], dpi: float) -> Figure:
    fig = Figure(figsize=size_in, dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def inch_axes(fig: Figure, x: float, y: float, w: float, h: float, **kw: Any) -> Any:
    W, H = fig.get_size_inches()
    return fig.add_axes((x / W, y / H, w / W, h / H), **kw)


def prepare_map_axes(ctx: DrawContext, ax: Any, extent: tuple[float, float, float, float], basemap_img: Any,
                     muted: bool = True) -> None:
    xmin, xmax, ymin, ymax = extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("auto")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_edgecolor(style.GRATICULE)
        s.set_linewidth(0.6)
    area_path = rings_path(ctx.area_geom)
    if basemap_img is not None:
        image = basemap_img.image
        if muted:
            # Half-desaturated and lightened, so that the data colours stand out.
            grey = image @ np.array([0.299, 0.587, 0.114], dtype=image.dtype)
            image = 0.3 + 0.7 * (0.5 * image + 0.5 * grey[..., None])
        ax.imshow(image, extent=basemap_img.extent, origin="upper", interpolation="bilinear", zorder=0)
        # Veil outside the study area so that attention stays inside.
        veil = shapely.box(xmin, ymin, xmax, ymax).difference(ctx.area_geom)
        if not veil.is_empty:
            ax.add_patch(PathPatch(rings_path(veil), facecolor="white", edgecolor="none", alpha=0.55, zorder=1))
    else:
        ax.set_facecolor(OFFLINE_OUTSIDE)
        ax.add_patch(PathPatch(area_path, facecolor=OFFLINE_INSIDE, edgecolor="none", zorder=0.5))


def clip_patch(ctx: DrawContext, ax: Any) -> PathPatch:
    patch = PathPatch(rings_path(ctx.area_geom), transform=ax.transData, facecolor="none", edgecolor="none")
    ax.add_patch(patch)
    return patch


def draw_outline(ctx: DrawContext, ax: Any) -> None:
    ax.add_patch(PathPatch(rings_path(ctx.area_geom), facecolor="none", edgecolor=OUTLINE, linewidth=1.0 * ctx.scale, zorder=6))


def grid_image(ctx: DrawContext, ax: Any, grid: Grid, rgba: np.ndarray, *, zorder: float = 3) -> None:
    im = ax.imshow(rgba, extent=(grid.xmin, grid.xmax, grid.ymin, grid.ymax), origin="upper",
                   interpolation="nearest", resample=False, zorder=zorder)
    im.set_clip_path(clip_patch(ctx, ax))


# =============================================================================== map furniture
def _scale_box(extent: tuple[float, float, float, float], right: bool) -> tuple[float, float, float, float, float]:
    """The scale bar's start ``(x0, y0)`` and its white box's corner and width ``(bx, by, bw)``
    (the box is 0.085 of the height tall): bottom left, or bottom right with ``right``."""
    xmin, xmax, ymin, ymax = extent
    w = xmax - xmin
    length = nice_number(w * 0.22)
    x0 = xmax - 0.04 * w - length - 0.035 * w if right else xmin + 0.04 * w
    y0 = ymin + 0.045 * (ymax - ymin)
    return x0, y0, x0 - 0.015 * w, y0 - 0.035 * (ymax - ymin), length + 0.05 * w


def scale_on_right(ctx: DrawContext, extent: tuple[float, float, float, float]) -> bool:
    """Whether the scale bar goes bottom right: when its box there covers clearly less of the study
    area than bottom left (Staffordshire's and West Mercia's southern tips lay under it)."""
    if ctx.area_geom is None:
        return False
    xmin, xmax, ymin, ymax = extent
    cover = []
    for right in (False, True):
        _, _, bx, by, bw = _scale_box(extent, right)
        cover.append(ctx.area_geom.intersection(shapely.box(bx, by, bx + bw, by + 0.085 * (ymax - ymin))).area)
    return cover[1] < 0.5 * cover[0]


def scale_bar(ctx: DrawContext, ax: Any, extent: tuple[float, float, float, float]) -> None:
    """A scale bar in the bottom corner holding less of the study area (:func:`scale_on_right`)."""
    xmin, xmax, ymin, ymax = extent
    w = xmax - xmin
    length = nice_number(w * 0.22)
    if length >= 1000:
        unit_len, unit = 1000.0, "km"
    else:
        unit_len, unit = 1.0, "m"
    x0, y0, _, _, _ = _scale_box(extent, scale_on_right(ctx, extent))
    h = 0.012 * (ymax - ymin)
    box = Rectangle((x0 - 0.015 * w, y0 - 0.035 * (ymax - ymin)), length + 0.05 * w, 0.085 * (ymax - ymin),
                    facecolor="white", edgecolor="none", alpha=0.8, zorder=8)
    ax.add_patch(box)
    half = length / 2
    ax.add_patch(Rectangle((x0, y0), half, h, facecolor=INK, edgecolor=INK, linewidth=0.6, zorder=9))
    ax.add_patch(Rectangle((x0 + half, y0), half, h, facecolor="white", edgecolor=INK, linewidth=0.6, zorder=9))
    for pos in (0.0, half, length):
        v = pos / unit_len
        txt = f"{v:g}" + (f" {unit}" if pos == length else "")
        ax.text(x0 + pos, y0 + h * 1.6, txt, ha="center", va="bottom", fontsize=ctx.fs(6.5), color=INK, zorder=9, **PLAIN_TEXT)
    ctx.occupied.append(box)


def north_arrow(ctx: DrawContext, ax: Any, extent: tuple[float, float, float, float]) -> None:
    """A north arrow in the emptiest corner but the scale bar's (:func:`scale_on_right`): the one whose box
    (12 % of the width, 16 % of the height) holds least of the study area, top right on a tie
    (Thanet, with three hotspots, is the top right of Kent's before/after panels)."""
    xmin, xmax, ymin, ymax = extent
    w, h = xmax - xmin, ymax - ymin
    size = min(w, h) * 0.06
    low_x = xmin + 0.06 * w if scale_on_right(ctx, extent) else xmax - 0.06 * w  # the bottom corner the scale bar left free
    corners = [(xmax - 0.06 * w, ymax - 0.035 * h), (xmin + 0.06 * w, ymax - 0.035 * h),
               (low_x, ymin + 0.035 * h + size * 1.6)]  # centre x and top of the arrow
    cover = [ctx.area_geom.intersection(shapely.box(cx - 0.06 * w, top - 0.16 * h, cx + 0.06 * w, top)).area
             if ctx.area_geom is not None else 0.0 for cx, top in corners]
    cx, top = corners[int(np.argmin(np.round(np.asarray(cover) / max(w * h * 0.002, 1.0))))]
    base = top - size
    left = MplPolygon([(cx, top), (cx - size * 0.32, base), (cx, base + size * 0.28)], closed=True,
                      facecolor=INK, edgecolor=INK, linewidth=0.6, zorder=9)
    right = MplPolygon([(cx, top), (cx + size * 0.32, base), (cx, base + size * 0.28)], closed=True,
                       facecolor="white", edgecolor=INK, linewidth=0.6, zorder=9)
    ax.add_patch(left)
    ax.add_patch(right)
    t = ax.text(cx, base - size * 0.08, "N", ha="center", va="top", fontsize=ctx.fs(9), fontweight="bold", color=INK,
                zorder=9, path_effects=HALO, **PLAIN_TEXT)
    ctx.occupied += [left, right, t]


def _bbox(artist: Any, renderer: Any, leader: bool = True) -> Any:
    """Display-space box of an artist, including a text's background box (the circle of a marker)
    and, unless ``leader`` is False, an annotation's leader line (town labels may cross a line,
    whose box covers the hotspot area and the town it points at)."""
    from matplotlib.text import Annotation, Text

    if isinstance(artist, Annotation) and not leader:
        artist.update_positions(renderer)  # the text is placed at draw time; place it now to measure it
        bb = Text.get_window_extent(artist, renderer)
    else:
        bb = artist.get_window_extent(renderer)
    patch = artist.get_bbox_patch() if hasattr(artist, "get_bbox_patch") else None
    if patch is not None:
        from matplotlib.transforms import Bbox

        # The background box is positioned at draw time; place it now to measure it.
        if hasattr(artist, "update_positions"):
            artist.update_positions(renderer)
        artist.update_bbox_position_size(renderer)
        bb = Bbox.union([bb, patch.get_window_extent(renderer)])
    return _with_halo(artist, bb, renderer)


def _with_halo(artist: Any, bb: Any, renderer: Any) -> Any:
    """``bb`` grown to what a text drawn with path effects (:data:`HALO`) inks: such a text is drawn
    as outlines, wider than the hinted glyphs its box is laid out with (at 110 dpi "Bourton on the
    Water" inks 111 px for a 105 px box, and ran over the map's frame), on the right whatever the
    alignment, plus the halo's stroke."""
    from matplotlib.text import Text
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Bbox

    effects = artist.get_path_effects() if isinstance(artist, Text) else []
    text = artist.get_text() if effects else ""
    if not text or "\n" in text:
        return bb
    outline = TextPath((0, 0), text, size=artist.get_fontsize(), prop=artist.get_fontproperties()).get_extents()
    grow = max(0.0, renderer.points_to_pixels(outline.x1) - bb.width)
    stroke_pt = max((float(getattr(e, "_gc", {}).get("linewidth", 0.0)) for e in effects), default=0.0)
    stroke = renderer.points_to_pixels(stroke_pt) / 2
    # the outlines start where the laid-out box starts, whatever the alignment: the extra width is on the right
    return Bbox.from_extents(bb.x0 - stroke, bb.y0 - stroke, bb.x1 + grow + stroke, bb.y1 + stroke)


def _overlaps(bb: Any, boxes: list[Any], pad: float) -> bool:
    for o in boxes:
        if bb.x0 - pad < o.x1 and o.x0 < bb.x1 + pad and bb.y0 - pad < o.y1 and o.y0 < bb.y1 + pad:
            return True
    return False


def _overlap_area(bb: Any, boxes: list[Any]) -> float:
    """Display area (pixels²) ``bb`` shares with ``boxes``."""
    total = 0.0
    for o in boxes:
        w = min(bb.x1, o.x1) - max(bb.x0, o.x0)
        h = min(bb.y1, o.y1) - max(bb.y0, o.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


#: Where a hotspot's number may go beside its area: the corner of its bounds, and the direction.
_CORNERS = ((2, 3, 1, 1), (0, 3, -1, 1), (2, 1, 1, -1), (0, 1, -1, -1),
            (2, 3, 0, 1.4), (2, 3, 1.4, 0), (0, 1, 0, -1.4), (0, 1, -1.4, 0))


#: What a pixel of leader line across a town's name costs a hotspot number's place, in pixels² of
#: number over number (:func:`_number_beside`).
LEADER_WEIGHT = 1.0
#: Where no place is free, a pixel of a number's own leader line costs this many circle diameters of
#: pixels² (a strip of line half a circle wide): of two imperfect places the one nearer its area
#: wins (Staffordshire 2025's hotspot 7 sat five steps above its area on a long line).
LEADER_LENGTH_WEIGHT = 0.5


def _crossing(start: Any, circle: Any, boxes: Sequence[Any]) -> float:
    """Length (pixels) of the leader line from ``start`` (display point) to the centre of ``circle``
    that runs inside ``boxes`` (display boxes)."""
    seg = shapely.LineString([tuple(start), ((circle.x0 + circle.x1) / 2, (circle.y0 + circle.y1) / 2)])
    return float(sum(seg.intersection(shapely.box(o.x0, o.y0, o.x1, o.y1)).length for o in boxes))


def _segment_cover(circle: Any, segment: Any, others: Sequence[Any], leaders: Sequence[Any]) -> float:
    """Pixels² a number (display box ``circle``, its leader ``segment``) shares with the numbers drawn
    before it: its leader through their circles and their leaders through its circle, each pixel of
    line counted as a strip one circle wide (the lines themselves, not their boxes: a diagonal
    leader's box covers a whole city centre)."""
    d = max(circle.width, circle.height)
    own = shapely.box(circle.x0, circle.y0, circle.x1, circle.y1)
    across = sum(segment.intersection(shapely.box(o.x0, o.y0, o.x1, o.y1)).length for o in others)
    through = sum(line.intersection(own).length for line in leaders)
    return float(d * (across + through))


def _number_beside(ax: Any, text: str, bounds: tuple, off: float, kw: dict, renderer: Any, placed: list,
                   furniture: Sequence[Any] = (), names: Sequence[Any] | None = None, areas: Sequence[Any] = (),
                   circles: Sequence[Any] = (), leaders: Sequence[Any] | None = None) -> Any:
    """A hotspot's number beside its area with a leader line, so that it never hides the hottest part
    of the map: up and right, else the first corner or side and distance (``off`` points, up to five
    times) where it lies inside the map, it and its leader line cover no box in ``placed`` (display
    boxes of the numbers drawn before it, leader lines included: dense city centres) and it covers
    none in ``furniture`` (the scale bar and the north arrow) and its leader line crosses none of
    ``names`` (display boxes of the towns' names and dots drawn before it; default ``furniture``)
    and it covers none of ``areas`` (display boxes of the hotspot areas) nor comes within 2 points of
    ``circles`` (the numbers drawn before it, without their leader lines), else where it lies inside
    the map and covers least of them (Northern Ireland's 19 ran its leader line through
    "Newtownabbey"; 24 then sat on Belfast's hotspot 1), a shorter leader line winning where no
    place is free (:data:`LEADER_LENGTH_WEIGHT`). With ``leaders`` (the earlier numbers' leader
    lines, display pixels) numbers collide by their circles and lines (:func:`_segment_cover`), not
    by the boxes of ``placed``."""
    ax_bb = ax.get_window_extent(renderer)
    line = dict(arrowstyle="-", color=INK, linewidth=0.6, shrinkA=0, shrinkB=0)
    names = furniture if names is None else names
    gap = renderer.points_to_pixels(2.0)  # numbers never touch (Belfast's 14 and 24)
    best: tuple | None = None  # (overlap px², corner x, corner y, offset x, offset y) of the least bad spot
    for reach in (1, 2, 3, 4, 5):
        for ix, iy, dx, dy in _CORNERS:
            t = ax.annotate(text, (bounds[ix], bounds[iy]), xytext=(dx * off * reach, dy * off * reach),
                            textcoords="offset points", arrowprops=line, **kw)
            bb = _bbox(t, renderer)
            circle = _bbox(t, renderer, leader=False)  # its own leader line may start under the scale bar
            inside = bb.x0 >= ax_bb.x0 and bb.x1 <= ax_bb.x1 and bb.y0 >= ax_bb.y0 and bb.y1 <= ax_bb.y1
            t.remove()
            if not inside:
                continue
            # never over the furniture if it can; its leader line across a town's name as little as it can
            start = ax.transData.transform((bounds[ix], bounds[iy]))
            seg = shapely.LineString([tuple(start), ((circle.x0 + circle.x1) / 2, (circle.y0 + circle.y1) / 2)])
            between = _overlap_area(bb, placed) if leaders is None else _segment_cover(circle, seg, circles, leaders)
            cover = (between + _overlap_area(circle.padded(gap), circles)
                     + 100.0 * _overlap_area(circle, furniture) + _overlap_area(circle, areas)
                     + LEADER_WEIGHT * _crossing(ax.transData.transform((bounds[ix], bounds[iy])), circle, names))
            if cover == 0.0:
                return ax.annotate(text, (bounds[ix], bounds[iy]), xytext=(dx * off * reach, dy * off * reach),
                                   textcoords="offset points", arrowprops=line, **kw)
            cover += LEADER_LENGTH_WEIGHT * max(circle.width, circle.height) * seg.length
            if best is None or cover < best[0]:
                best = (cover, ix, iy, dx * off * reach, dy * off * reach)
    if best is not None:
        _, ix, iy, ox, oy = best
        return ax.annotate(text, (bounds[ix], bounds[iy]), xytext=(ox, oy), textcoords="offset points", arrowprops=line, **kw)
    return ax.annotate(text, (bounds[2], bounds[3]), xytext=(off, off), textcoords="offset points", arrowprops=line, **kw)


def area_markers(ctx: DrawContext, ax: Any, areas: gpd.GeoDataFrame, *, labels: dict[int, str] | None = None, max_n: int = 30,
                  on_top: bool | None = None) -> None:
    """Numbered circles for hotspot areas (rank order), optionally with a short label.

    By default (``on_top=None``) numbers sit beside each area with a leader line; ``on_top=True``
    puts them on the area's representative point when the area is large enough to show around it.
    """
    if len(areas) == 0:
        return
    a = areas.sort_values("rank", kind="stable").head(max_n)
    pts = a.geometry.representative_point()
    # Metres per typographic point on this map, to tell whether a marker would hide its area.
    bb = ax.get_window_extent()
    xmin, xmax = ax.get_xlim()
    m_per_pt = (xmax - xmin) / max(bb.width, 1.0) * ctx.fig.dpi / 72.0
    marker_m = ctx.fs(6.5) * 2.2 * m_per_pt
    renderer = ctx.fig.canvas.get_renderer()
    placed: list[Any] = []  # display boxes of the markers drawn so far
    circles: list[Any] = []  # the same without their leader lines
    leaders: list[Any] = []  # their leader lines (display pixels)
    # the scale bar, north arrow and large towns' labels, drawn before the numbers
    furniture = [_bbox(o, renderer) for o in ctx.occupied if getattr(o, "axes", None) is ax]
    names = [_bbox(o, renderer) for o in ctx.occupied if getattr(o, "axes", None) is ax and o in town_artists(ctx, ax)]
    area_boxes = [Bbox(ax.transData.transform([g.bounds[:2], g.bounds[2:]])) for g in a.geometry]
    off = ctx.fs(6.5) * 1.6
    for k, (aid, p, geom) in enumerate(zip(a["area_id"].to_numpy(), pts, a.geometry)):
        gx0, gy0, gx1, gy1 = geom.bounds
        # the best-ranked on top where markers still touch
        kw = dict(ha="center", va="center", fontsize=ctx.fs(6.5), fontweight="bold", color=INK, zorder=11 + (max_n - k) / 1000,
                  **PLAIN_TEXT, bbox=dict(boxstyle="circle,pad=0.25", facecolor="white", edgecolor=INK, linewidth=0.7))
        if not on_top or max(gx1 - gx0, gy1 - gy0) < 1.3 * marker_m:
            t = _number_beside(ax, str(int(aid)), geom.bounds, off, kw, renderer, placed, furniture, names, area_boxes,
                               circles, leaders)
        else:
            t = ax.text(p.x, p.y, str(int(aid)), **kw)
        placed.append(_bbox(t, renderer))
        circles.append(_bbox(t, renderer, leader=False))
        if getattr(t, "arrow_patch", None) is not None:
            leaders.append(_leader(t, renderer))
        ctx.occupied.append(t)
        if labels and int(aid) in labels:
            lt = ax.annotate(labels[int(aid)], (p.x, p.y), xytext=(ctx.fs(7), -ctx.fs(7)), textcoords="offset points",
                             fontsize=ctx.fs(6), color=INK, ha="left", va="top", zorder=11, path_effects=HALO, **PLAIN_TEXT)
            ctx.occupied.append(lt)


def area_outlines(ctx: DrawContext, ax: Any, areas: gpd.GeoDataFrame, colour: str = INK, lw: float = 0.9) -> None:
    for geom in areas.geometry:
        ax.add_patch(PathPatch(rings_path(geom), facecolor="none", edgecolor=colour, linewidth=lw * ctx.scale, zorder=7))


def area_change_outlines(ctx: DrawContext, ax: Any, an: Any) -> None:
    """Hotspot areas outlined by their area-level change class (thick blue fall, red rise)."""
    areas = an.areas.areas
    ca = an.change_areas
    cls = {}
    if ca is not None:
        cls = dict(zip(ca.table["area_id"].astype(int), ca.table["change_class"].astype(str)))
    for aid, geom in zip(areas["area_id"].astype(int), areas.geometry):
        colour, lw, _ = style.CHANGE_AREA_EDGES.get(cls.get(aid, ""), (INK, 0.9, ""))
        ax.add_patch(PathPatch(rings_path(geom), facecolor="none", edgecolor=colour, linewidth=lw * ctx.scale, zorder=7))


#: The dash of the rings around the hotspot areas on change maps (matplotlib's offset and on/off
#: lengths in points).
RING_DASH = (0, (4.0, 2.5))


def ring_change_outlines(ctx: DrawContext, ax: Any, an: Any) -> bool:
    """The ring around each hotspot area (:attr:`hotspots.analysis.Analysis.displacement`), dashed,
    in the colour of its own change (blue fall, red rise, grey no significant change), under the
    areas' outlines. False (nothing drawn) without the rings."""
    moved = getattr(an, "displacement", None)
    if moved is None:
        return False
    rings = moved.to_geodataframe()
    for cls, geom in zip(rings["change_class"].astype(str), rings.geometry):
        colour = style.CHANGE_AREA_EDGES[cls][0] if cls in style.CHANGE_AREA_EDGES else MUTED
        ax.add_patch(PathPatch(rings_path(geom), facecolor="none", edgecolor=colour, linewidth=1.0 * ctx.scale,
                               linestyle=RING_DASH, zorder=6))
    return True


def ring_colours(an: Any) -> list[tuple[str, str]]:
    """The colours :func:`ring_change_outlines` draws, as (colour, legend words): fall, rise, then grey, each only when
    drawn (Avon and Somerset's Bristol ring rose +74 %, red, beside a legend without red). Empty without the rings."""
    moved = getattr(an, "displacement", None)
    if moved is None:
        return []
    drawn = set(moved.ring_change.table["change_class"].astype(str))
    out = [(style.CHANGE_AREA_EDGES[c][0], f"ring {word} significantly") for c, word in
           (("significant fall", "fell"), ("significant rise", "rose")) if c in drawn]
    if drawn - set(style.CHANGE_AREA_EDGES) or not out:
        out.append((MUTED, "no significant change"))
    return out


def ring_legend(panel: SidePanel, an: Any) -> None:
    """The legend lines of :func:`ring_change_outlines`, one per colour drawn (:func:`ring_colours`), and the rings'
    reach under them when the cells make them wider than asked (a legend line does not wrap)."""
    moved = getattr(an, "displacement", None)
    if moved is None:
        return
    wider = rings_wider_than_asked(moved.width_m, moved.cell_size)
    name = "Ring" if wider else ring_label(moved.width_m, moved.cell_size, one=True)
    for colour, words in ring_colours(an):
        panel.patch("none", f"{name} around an area: {words}", edge=colour, lw=1.0, ls=RING_DASH)
    if wider:
        panel.para(f"{ring_label(moved.width_m, moved.cell_size, one=True)}; {moved.width_m:,g} m asked", size=6.3, gap=0.1)


#: A town is labelled with a bold name and a larger dot from this population (as the data show it:
#: :func:`label_candidates`).
BIG_TOWN = 100_000
#: Radius around a town's point where its incidents are counted to check the place is the data's
#: own and about as large as its population says, metres.
TOWN_CHECK_M = 1_000.0


def label_candidates(ctx: DrawContext) -> gpd.GeoDataFrame:
    """The towns a map may label, in the order they are tried: ``name``, ``population`` (as the data
    show it), ``big``, ``names_area`` and the point geometry, in the map's CRS.

    The towns of :func:`hotspots.places.label_towns` (GeoNames for real data, the demo's own for the
    demo) whose point lies in the study area (500 m of slack for a coastal point), tried first when
    they name a hotspot area (:func:`hotspots.export._common.area_places`) or are large, then by
    population. For real data the incidents within :data:`TOWN_CHECK_M` of each point are counted
    against the places' typical incidents per resident (their median): a place with under a tenth
    of it is not labelled (a town across the force border inside the data's footprint: Bexley, a
    London borough, beside Dartford in Kent's data), and one with under a quarter of it counts as
    large as those incidents would make it (GeoNames' 125,370 people for Saint Peters, a village
    of Broadstairs, are Thanet's). Not for a force that polices a network (:func:`hotspots.forces.network_force`:
    British Transport Police): its incidents gather at stations, not where people live, so the check would judge
    towns by their stations (it left London out of BTP's national map, 64 incidents within 1 km of its point
    against 9 million residents, and labelled Brent the biggest city); their towns are tried by population.
    Computed once per figure.
    """
    if ctx.towns is not None:
        return ctx.towns
    from scipy.spatial import cKDTree

    from ..forces import network_force
    from ..places import is_demo_data, label_towns
    from ._common import area_places

    an = ctx.analysis
    sa = an.study_area if an.study_area is not None and len(an.study_area) else None
    demo = is_demo_data(an.incidents)
    t, _ = label_towns(sa, an.incidents, demo=demo)
    t = t.to_crs(an.grid.crs)
    x, y = t.geometry.x.to_numpy(), t.geometry.y.to_numpy()
    t = t[shapely.contains_xy(ctx.area_geom.buffer(500.0), x, y)].copy()
    pop = t["population"].to_numpy(dtype=float) if "population" in t else np.zeros(len(t))
    pop = np.where(np.isfinite(pop) & (pop > 0), pop, 500.0)
    if not demo and len(t) and len(an.incidents) and network_force(an.incidents) is None:
        xy = shapely.get_coordinates(an.incidents.to_crs(an.grid.crs).geometry.values)
        near = np.array([len(i) for i in cKDTree(xy).query_ball_point(
            np.column_stack([t.geometry.x.to_numpy(), t.geometry.y.to_numpy()]), TOWN_CHECK_M)], dtype=float)
        typical = float(np.median(near / pop))
        if typical > 0:
            keep = near / pop >= typical / 10
            pop = np.where(near / pop >= typical / 4, pop, near / typical)
            t, pop = t[keep].copy(), pop[keep]
    t["population"] = pop
    t["big"] = pop >= BIG_TOWN
    areas = an.areas.areas
    own = set(area_places(areas, an)["town"].dropna().astype(str)) if len(areas) else set()
    t["names_area"] = t["name"].astype(str).isin(own)
    t["first"] = t["names_area"] | t["big"]
    ctx.towns = t.sort_values(["first", "population", "name"], ascending=[False, False, True], kind="stable").drop(
        columns="first")
    return ctx.towns


#: Where a town's name may go beside its dot: offset (points, before scaling) and alignment; right,
#: left, above right, below right, above, below (the standard positions, nearest first). Each
#: leaves the name within about half its height of the dot; there is no farther position.
_TOWN_OFFSETS = ((4, 0, "left", "center"), (-4, 0, "right", "center"), (3, 2, "left", "bottom"),
                 (3, -3, "left", "top"), (0, 4, "center", "bottom"), (0, -4, "center", "top"),
                 (-3, 2, "right", "bottom"), (-3, -3, "right", "top"))
#: The farthest a town's name may lie from its point, in heights of the name's text box
#: (:func:`town_labels` leaves a town out sooner than draw its name farther away).
TOWN_LABEL_REACH = 1.5


def town_labels(ctx: DrawContext, ax: Any, extent: tuple[float, float, float, float], *, max_towns: int | None,
                first_only: bool = False) -> list[str]:
    """Label towns (:func:`label_candidates`, in its order: towns naming hotspot areas and large
    towns first) inside the extent, until ``max_towns`` are placed on the map.

    A town is marked by a dot on its point and named in the first of the standard positions beside
    the dot (:data:`_TOWN_OFFSETS`: right, left, above, below) where the name covers no label,
    dot, hotspot number, scale bar or north arrow; a town whose dot a hotspot number covers, or
    that has no free position beside its dot, is left out: a name is never moved away from its
    town (Devon and Cornwall's "Truro" was drawn without its dot in the sea 12 km from Truro, and
    "Redruth" in a different place in each before/after panel).

    Parameters
    ----------
    ctx : DrawContext
        The figure's drawing context; its ``occupied`` boxes are kept clear of.
    ax : matplotlib Axes
        The map axes.
    extent : tuple of float
        ``(xmin, xmax, ymin, ymax)`` of the map; towns outside it are not labelled.
    max_towns : int or None
        The most towns labelled on this map, over every call (None: no limit).
    first_only : bool
        Label only the towns that name a hotspot area or are large, before the hotspot numbers
        are drawn, which then keep clear of them (Belfast, Blackpool, Kidderminster, Lisburn: a
        city centre full of numbers left no room for its name); a later call labels the others.

    Returns
    -------
    list of str
        The names placed by this call.
    """
    t = label_candidates(ctx)
    done_before = ctx.towns_placed.setdefault(id(ax), [])
    renderer = ctx.fig.canvas.get_renderer()
    if not first_only:
        _drop_covered_first(ctx, ax, renderer)
    t = t[(t["big"] | t["names_area"]) & ~t["name"].isin(done_before)] if first_only else t[~t["name"].isin(done_before)]
    xmin, xmax, ymin, ymax = extent
    x, y = t.geometry.x.to_numpy(), t.geometry.y.to_numpy()
    t = t[(x > xmin) & (x < xmax) & (y > ymin) & (y < ymax)]
    ax_bb = ax.get_window_extent(renderer)
    boxes = [_bbox(o, renderer, leader=False) for o in ctx.occupied if o.axes is ax or getattr(o, "axes", None) is None]
    leaders = [_leader(o, renderer) for o in ctx.occupied if getattr(o, "axes", None) is ax and getattr(o, "arrow_patch", None)]
    placed: list[str] = []
    pad = 2.0 * ctx.fig.dpi / 72.0
    for name, big, geom in zip(t["name"], t["big"], t.geometry):
        if max_towns is not None and len(placed) + len(done_before) >= int(max_towns):
            break
        dot = ax.plot([geom.x], [geom.y], marker="o", markersize=ctx.fs(2.6 if big else 2.0), color=INK,
                      markeredgecolor="white", markeredgewidth=0.5, zorder=10, linestyle="none")[0]
        dot_bb = _bbox(dot, renderer)
        txt = None
        if not _overlaps(dot_bb, boxes, 0):
            txt = _name_beside(ctx, ax, name, geom, big, renderer, ax_bb, boxes + [dot_bb], pad, leaders)
        if txt is None:
            dot.remove()
            continue
        boxes += [_bbox(txt, renderer), dot_bb]
        placed.append(name)
        if first_only:  # the numbers drawn next keep clear of it
            ctx.occupied += [txt, dot]
            ctx.towns_first.setdefault(id(ax), []).append((name, txt, dot))
    done_before += placed
    return placed


def town_artists(ctx: DrawContext, ax: Any) -> list[Any]:
    """The names and dots the ``first_only`` calls of :func:`town_labels` drew on ``ax``."""
    return [a for _, txt, dot in ctx.towns_first.get(id(ax), []) for a in (txt, dot)]


def _drop_covered_first(ctx: DrawContext, ax: Any, renderer: Any) -> None:
    """Take back the names a ``first_only`` call of :func:`town_labels` placed whose name or dot a
    hotspot number (or anything else drawn since) now covers: a number found no free place
    (Devon and Cornwall's 19 on Hayle's dot). The numbers matter more; the town is tried again
    with the others, and left out when it has no free place beside its dot."""
    first = ctx.towns_first.get(id(ax), [])
    if not first:
        return
    own = {id(a) for _, txt, dot in first for a in (txt, dot)}
    others = [_bbox(o, renderer, leader=False) for o in ctx.occupied
              if id(o) not in own and (o.axes is ax or getattr(o, "axes", None) is None)]
    done = ctx.towns_placed.setdefault(id(ax), [])
    for item in list(first):
        name, txt, dot = item
        if _overlaps(_bbox(txt, renderer), others, 0) or _overlaps(_bbox(dot, renderer), others, 0):
            for artist in (txt, dot):
                artist.remove()
                ctx.occupied.remove(artist)
            first.remove(item)
            done.remove(name)


def _leader(number: Any, renderer: Any) -> Any:
    """A hotspot number's leader line in display pixels (from its area's corner to the circle's centre)."""
    c = _bbox(number, renderer, leader=False)
    start = number.axes.transData.transform(number.xy)
    return shapely.LineString([tuple(start), ((c.x0 + c.x1) / 2, (c.y0 + c.y1) / 2)])


def _name_beside(ctx: DrawContext, ax: Any, name: str, geom: Any, big: bool, renderer: Any, ax_bb: Any,
                 boxes: list[Any], pad: float, leaders: Sequence[Any] = ()) -> Any:
    """A town's name in the first standard position beside its dot that lies inside the map,
    covers none of ``boxes`` (``pad`` pixels apart) and none of the hotspot numbers' ``leaders``
    (display lines: West Mercia's 19 ran through "Wellington"), else None (nothing drawn)."""
    for dx, dy, ha, va in _TOWN_OFFSETS:
        txt = ax.annotate(name, (geom.x, geom.y), xytext=(ctx.fs(dx), ctx.fs(dy)), textcoords="offset points",
                          ha=ha, va=va, fontsize=ctx.fs(8.5 if big else 6.8), fontweight="bold" if big else "normal",
                          color=INK, zorder=10, path_effects=HALO, **PLAIN_TEXT)
        bb = _bbox(txt, renderer)
        inside_ax = bb.x0 >= ax_bb.x0 + 2 and bb.x1 <= ax_bb.x1 - 2 and bb.y0 >= ax_bb.y0 + 2 and bb.y1 <= ax_bb.y1 - 2
        # the dot itself is in ``boxes``: the name must not cover it
        if (inside_ax and not _overlaps(bb, boxes[:-1], pad) and not _overlaps(bb, boxes[-1:], 0)
                and not any(line.intersects(shapely.box(bb.x0, bb.y0, bb.x1, bb.y1)) for line in leaders)):
            return txt
        txt.remove()
    return None


#: Font size of the footer (source, licence and attribution lines), points before scaling.
FOOTER_SIZE = 6.3


def wrap_to_width(fig: Figure, text: str, fontsize: float, width_in: float, weight: str = "normal") -> tuple[list[str], float]:
    """``text`` broken at spaces into lines that fit ``width_in`` inches when drawn at ``fontsize``.

    Widths are measured with the figure's own renderer at its dpi (at a low dpi, hinting makes
    text wider than its nominal size, so a count of characters is not enough). A word wider than
    the whole line (a long URL) shrinks the font until it fits. Returns ``(lines, fontsize)``.
    """
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    width_px = max(width_in, 0.1) * fig.dpi

    def measure(s: str, size: float) -> float:
        return renderer.get_text_width_height_descent(s, FontProperties(size=size, weight=weight), ismath=False)[0]

    words = [w for w in re.split(r"[ \t\n\r]+", style.keep_units(text)) if w]  # never at a no-break space
    if not words:
        return [""], fontsize
    widest = max(measure(w, fontsize) for w in words)
    if widest > width_px:
        fontsize *= width_px / widest * 0.98
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and measure(candidate, fontsize) > width_px:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines, fontsize


def fit_text(fig: Figure, text: str, fontsize: float, width_in: float, weight: str = "normal") -> str:
    """``text`` shortened with :func:`hotspots.style.shorten` (ending in "…") until it fits
    ``width_in`` inches at ``fontsize``, as measured by the figure's renderer."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    width_px = max(width_in, 0.05) * fig.dpi
    font = FontProperties(size=fontsize, weight=weight)
    s = str(text)
    for n in range(len(s), 0, -1):
        shown = style.shorten(s, n)
        if renderer.get_text_width_height_descent(shown, font, ismath=False)[0] <= width_px:
            return shown
    return style.shorten(s, 1)


def fit_lines(fig: Figure, text: str, fontsize: float, width_in: float, *, min_scale: float = 0.7,
              max_lines: int | None = None, weight: str = "normal") -> tuple[str, float]:
    """``text`` (lines separated by newlines) fitted to ``width_in`` inches as the figure's renderer
    measures it: drawn smaller, down to ``min_scale`` times ``fontsize``, until its widest line
    fits; lines still too wide are broken at spaces (:func:`wrap_to_width`), and past ``max_lines``
    the last one ends in "…" (:func:`fit_text`). Returns ``(text, fontsize)`` (points)."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    width_px = max(width_in, 0.1) * fig.dpi * 0.98  # 2 % spare, as the footer: other backends differ slightly
    lines = str(text).split("\n")
    widest = max(renderer.get_text_width_height_descent(line, FontProperties(size=fontsize, weight=weight), ismath=False)[0]
                 for line in lines)
    size = fontsize * max(min_scale, min(1.0, width_px / max(widest, 1.0)))
    font = FontProperties(size=size, weight=weight)
    out: list[str] = []
    for line in lines:  # a line that fits is kept as written (its spacing too)
        fits = renderer.get_text_width_height_descent(line, font, ismath=False)[0] <= width_px
        out += [line] if fits or not line.strip() else wrap_to_width(fig, line, size, width_px / fig.dpi, weight)[0]
    if max_lines is not None and len(out) > max_lines:
        out = out[: max_lines - 1] + [fit_text(fig, " ".join(out[max_lines - 1:]), size, width_px / fig.dpi, weight)]
    return "\n".join(out), size


def _footer_lines(ctx: DrawContext, width_in: float, margin: float, extra_attr: str = "") -> tuple[list[str], float]:
    """The footer's lines (source, licence, attribution, version; never cut) and their font size."""
    from .. import __version__

    src = ctx.source
    parts = [f"Source: {src.description}."]
    if src.attribution:
        parts.append(src.attribution + ".")
    if extra_attr:
        parts.append(extra_attr + ".")
    parts.append(f"Made with hotspots {__version__}.")
    # 2 % spare: the measured width is that of the Agg renderer; other backends (PDF) differ slightly
    return wrap_to_width(ctx.fig, " ".join(parts), ctx.fs(FOOTER_SIZE), (width_in - 2 * margin) * 0.98)


def footer_height(ctx: DrawContext, width_in: float, margin: float, basemap: str) -> float:
    """Room for the footer, assuming the longest attribution the basemap could add."""
    from ._basemap import resolve_source

    try:
        src = resolve_source(basemap)
    except ParameterError:
        src = None
    lines, size = _footer_lines(ctx, width_in, margin, src[1] if src else "")
    return 0.16 + len(lines) * size / 72 * 1.35 + 0.1


def footer(ctx: DrawContext, fig: Figure, size_in: tuple[float, float], margin: float, extra_attr: str = "") -> list[Any]:
    """Draw the footer: every line whole inside the figure (wrapped onto more lines, never cut). Returns its texts."""
    W, H = size_in
    lines, size = _footer_lines(ctx, W, margin, extra_attr)
    step = size / 72 * 1.35
    y = 0.14 + (len(lines) - 1) * step
    drawn = []
    for line in lines:
        drawn.append(fig.text(margin / W, y / H, line, fontsize=size, color=MUTED, ha="left", va="bottom", **PLAIN_TEXT))
        y -= step
    return drawn


def header(ctx: DrawContext, size_in: tuple[float, float], margin: float, title: str, subtitle: str) -> None:
    """The title and subtitle, each on one line fitted to the figure's width (:func:`fit_lines`:
    smaller, then cut with "…"; a long ``--title`` at 8 x 5 in ran off the right edge)."""
    W, H = size_in
    title, t_size = fit_lines(ctx.fig, title, ctx.fs(15), W - 2 * margin, min_scale=0.6, max_lines=1, weight="bold")
    ctx.fig.text(margin / W, 1 - 0.18 / H, title, fontsize=t_size, fontweight="bold", color=INK, ha="left", va="top",
                 **PLAIN_TEXT)
    subtitle, s_size = fit_lines(ctx.fig, subtitle, ctx.fs(9.5), W - 2 * margin, min_scale=0.7, max_lines=1)
    ctx.fig.text(margin / W, 1 - (0.2 + ctx.fs(15) / 72 * 1.3) / H, subtitle, fontsize=s_size, color=MUTED, ha="left",
                 va="top", **PLAIN_TEXT)
