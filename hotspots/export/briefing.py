"""Briefing map images (PNG/PDF) from an :class:`~hotspots.analysis.Analysis`, for slides and reports.

:func:`briefing_map` draws one map; :func:`briefing_before_after` draws the before and after
periods side by side on the same colour scale, with the change classes as an optional third
panel. Every image carries a title, the period, the data source, a legend with units, a scale
bar in kilometres, a north arrow, the attribution (the Open Government Licence line for
police.uk data, "Synthetic demo data" for the demo), a caption with the parameters (cell size,
bandwidth, distance band, alpha, FDR), town labels from the gazetteer, and the study-area
outline. Person-level counts (referrals per hotspot area) come from the disclosure-controlled
display tables: counts 1–4 are shown as ``"<5"``.

Basemap: with ``basemap="auto"`` (default) web-map tiles are drawn when reachable (a short
timeout; see :mod:`hotspots.export._basemap`), otherwise a clean offline map (study-area outline,
towns) without failing. ``HOTSPOTS_OFFLINE=1`` turns tiles off.

Rendering uses matplotlib's Agg backend on a figure object of its own (never ``pyplot``'s global
state, never ``plt.show``), so it is safe in servers and threads. Density maps are drawn on a
finer *display lattice* than the analysis grid by evaluating the same kernel density (same
points, kernel and bandwidth) at more points; the caption says so. Gi* classes, counts and change
are drawn on the analysis cells as computed.

The result (:class:`BriefingImage`) records the pixel position of every map panel, so that a
British National Grid coordinate can be mapped to a pixel of the saved image
(:meth:`BriefingImage.to_pixel`), plus the legend colours and every text drawn (for tests).
"""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import colors as mcolors
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Polygon as MplPolygon, Rectangle
from matplotlib.path import Path as MplPath

from .._errors import ParameterError
from ..change import Period
from ..grid import Grid
from ..privacy import SUPPRESSION_THRESHOLD
from ._basemap import fetch_basemap
from ._common import area_summary, data_source, force_of, period_text, subject_text

__all__ = [
    "BriefingImage",
    "MapPanel",
    "briefing_map",
    "briefing_before_after",
    "LAYERS",
    "GI_COLOURS",
    "CHANGE_COLOURS",
    "DENSITY_CMAP",
]

#: Layers :func:`briefing_map` can draw.
LAYERS = ("density", "gistar", "counts", "areas", "clusters", "change", "scheme")

#: Gi* class colours (ArcGIS-like reds and blues); "not significant" is left clear.
GI_COLOURS: dict[str, str] = {
    "hot 99%": "#b2182b",
    "hot 95%": "#ef6548",
    "hot 90%": "#fdbb84",
    "cold 90%": "#c6dbef",
    "cold 95%": "#6baed6",
    "cold 99%": "#2166ac",
}
GI_LABELS: dict[str, str] = {
    "hot 99%": "Hot spot, 99% confidence",
    "hot 95%": "Hot spot, 95% confidence",
    "hot 90%": "Hot spot, 90% confidence",
    "cold 90%": "Cold spot, 90% confidence",
    "cold 95%": "Cold spot, 95% confidence",
    "cold 99%": "Cold spot, 99% confidence",
}
#: Before/after change class colours; "too few incidents" is left clear.
CHANGE_COLOURS: dict[str, str] = {
    "significant fall": "#2c7bb6",
    "no change": "#e3e3e3",
    "significant rise": "#d7191c",
}
CHANGE_LABELS = {
    "significant fall": "Significant fall",
    "no change": "No significant change",
    "significant rise": "Significant rise",
}
#: Colour map of densities and counts.
DENSITY_CMAP = "YlOrRd"
REFERRAL_CMAP = "Purples"
TASK_COLOUR = "#1b7837"

_INK = "#222222"
_MUTED = "#555555"
_OUTLINE = "#3a3a3a"
_OFFLINE_OUTSIDE = "#e8ebee"
_OFFLINE_INSIDE = "#fbfbf8"
_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


# =============================================================================== result types
@dataclass(frozen=True)
class MapPanel:
    """One map panel of a saved image.

    Attributes
    ----------
    title : str
    extent : tuple (xmin, xmax, ymin, ymax)
        BNG metres shown by the panel (the axes limits).
    bbox_px : tuple (left, top, right, bottom)
        The panel's position in the saved image, pixels from the top-left corner.
    """

    title: str
    extent: tuple[float, float, float, float]
    bbox_px: tuple[float, float, float, float]

    def to_pixel(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel (column, row) of BNG point(s) ``(x, y)`` (floats; row 0 at the top)."""
        xmin, xmax, ymin, ymax = self.extent
        left, top, right, bottom = self.bbox_px
        col = left + (np.asarray(x, dtype=float) - xmin) / (xmax - xmin) * (right - left)
        row = top + (ymax - np.asarray(y, dtype=float)) / (ymax - ymin) * (bottom - top)
        return col, row


@dataclass(frozen=True)
class BriefingImage:
    """A saved briefing image and how it was drawn.

    Attributes
    ----------
    path : Path
    format : {"png", "pdf"}
    dpi : float
    size_in : tuple (width, height)
        Inches.
    size_px : tuple (width, height)
        Pixels (``size_in × dpi``; for a PDF, the size a rasteriser gives at ``dpi``).
    layer : str
        What was drawn (``"density"``, ``"gistar"``, ..., ``"before-after"``).
    panels : tuple of MapPanel
        The map panels, left to right.
    n_axes : int
        All axes of the figure (maps, legend panel, colour bars).
    basemap : str
        ``"none"`` or the tile source actually drawn.
    legend : dict
        Legend label → hex colour of the categorical entries; for a colour scale, ``"scale"``
        → ``(colour map name, vmin, vmax, units)``.
    texts : tuple of str
        Every text drawn (title, labels, tables, caption, attribution).
    notes : tuple of str
        Decisions taken while drawing (basemap fallback, display lattice, towns skipped...).
    seconds : float
        Time taken to draw and save.
    """

    path: Path
    format: str
    dpi: float
    size_in: tuple[float, float]
    size_px: tuple[int, int]
    layer: str
    panels: tuple[MapPanel, ...]
    n_axes: int
    basemap: str
    legend: dict[str, Any]
    texts: tuple[str, ...]
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def n_map_panels(self) -> int:
        return len(self.panels)

    def to_pixel(self, x: Any, y: Any, panel: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel (column, row) of BNG point(s) in map panel ``panel``."""
        return self.panels[panel].to_pixel(x, y)


# =============================================================================== validation
def _check_common(out_path: Any, dpi: Any, size_in: Any) -> tuple[Path, str, float, tuple[float, float]]:
    try:
        path = Path(out_path)
    except TypeError:
        raise ParameterError(f"`out_path` must be a file path ending in .png or .pdf; got {out_path!r}.") from None
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf"):
        raise ParameterError(f"`out_path` must end in .png or .pdf (the format follows the suffix); got {path.name!r}.")
    try:
        d = float(dpi)
    except (TypeError, ValueError):
        raise ParameterError(f"`dpi` must be a number such as 300; got {dpi!r}.") from None
    if not (np.isfinite(d) and 20 <= d <= 1200):
        raise ParameterError(f"`dpi` must be between 20 and 1200; got {dpi!r}.")
    try:
        w, h = (float(v) for v in size_in)
    except (TypeError, ValueError):
        raise ParameterError(f"`size_in` must be (width, height) in inches, e.g. (11, 7.5); got {size_in!r}.") from None
    if not (np.isfinite(w) and np.isfinite(h) and 3 <= w <= 60 and 3 <= h <= 60):
        raise ParameterError(f"`size_in` must be between 3 and 60 inches each way; got {size_in!r}.")
    if w * h * d * d > 200e6:
        raise ParameterError(f"a {w:g} x {h:g} in image at {d:g} dpi would have over 200 million pixels; lower `dpi` or `size_in`.")
    return path, fmt, d, (w, h)


def _check_analysis(analysis: Any) -> None:
    if not all(hasattr(analysis, a) for a in ("grid", "density", "gi", "areas", "incidents")):
        raise ParameterError(f"`analysis` must be a hotspots.Analysis (from `hotspots.analyse`); got {type(analysis).__name__}.")


# =============================================================================== geometry helpers
def _rings_path(geom: Any) -> MplPath:
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


def _area_union(analysis: Any) -> Any:
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


def _fit_extent(bounds: Sequence[float], box_w: float, box_h: float, pad: float = 0.03) -> tuple[float, float, float, float]:
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


def _scale_ticks(vmax: float) -> list[float]:
    """Colour-bar ticks: 0, a few round numbers, and the maximum when it is not close to one."""
    nice = sorted({_nice_number(vmax * f) for f in (0.05, 0.25, 0.6)})
    nice = [v for v in nice if 0 < v < vmax]
    ticks = [0.0] + nice
    if not nice or vmax > nice[-1] * 1.3:
        ticks.append(vmax)
    return ticks


def _tick_label(t: float) -> str:
    return f"{t:,.0f}" if abs(t) >= 10 or t == 0 else (f"{t:.1f}" if abs(t) >= 1 else f"{t:.2g}")


def _nice_number(value: float) -> float:
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
class _Ctx:
    analysis: Any
    fig: Figure
    scale: float
    area_geom: Any
    source: Any
    notes: list[str] = field(default_factory=list)
    legend: dict[str, Any] = field(default_factory=dict)
    occupied: list[Any] = field(default_factory=list)  # display-space boxes labels must avoid

    def fs(self, size: float) -> float:
        return size * self.scale


def _new_figure(size_in: tuple[float, float], dpi: float) -> Figure:
    fig = Figure(figsize=size_in, dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _inch_axes(fig: Figure, x: float, y: float, w: float, h: float, **kw: Any) -> Any:
    W, H = fig.get_size_inches()
    return fig.add_axes((x / W, y / H, w / W, h / H), **kw)


def _prepare_map_axes(ctx: _Ctx, ax: Any, extent: tuple[float, float, float, float], basemap_img: Any, muted: bool = True) -> None:
    xmin, xmax, ymin, ymax = extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("auto")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_edgecolor("#888888")
        s.set_linewidth(0.6)
    area_path = _rings_path(ctx.area_geom)
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
            ax.add_patch(PathPatch(_rings_path(veil), facecolor="white", edgecolor="none", alpha=0.55, zorder=1))
    else:
        ax.set_facecolor(_OFFLINE_OUTSIDE)
        ax.add_patch(PathPatch(area_path, facecolor=_OFFLINE_INSIDE, edgecolor="none", zorder=0.5))


def _clip_patch(ctx: _Ctx, ax: Any) -> PathPatch:
    patch = PathPatch(_rings_path(ctx.area_geom), transform=ax.transData, facecolor="none", edgecolor="none")
    ax.add_patch(patch)
    return patch


def _draw_outline(ctx: _Ctx, ax: Any) -> None:
    ax.add_patch(PathPatch(_rings_path(ctx.area_geom), facecolor="none", edgecolor=_OUTLINE, linewidth=1.0 * ctx.scale, zorder=6))


def _grid_image(ctx: _Ctx, ax: Any, grid: Grid, rgba: np.ndarray, *, zorder: float = 3) -> None:
    im = ax.imshow(rgba, extent=(grid.xmin, grid.xmax, grid.ymin, grid.ymax), origin="upper",
                   interpolation="nearest", resample=False, zorder=zorder)
    im.set_clip_path(_clip_patch(ctx, ax))


def _display_grid(analysis: Any, display_cell_m: Any, area_geom: Any) -> Grid | None:
    """A finer lattice over the analysis grid for drawing densities (None = use the analysis grid)."""
    g = analysis.grid
    if display_cell_m is None:
        return None
    if display_cell_m == "auto":
        span = max(g.xmax - g.xmin, g.ymax - g.ymin)
        cs = max(g.cell_size / 4.0, span / 700.0)
        cs = max(25.0, round(cs / 25.0) * 25.0)
        if cs >= g.cell_size:
            return None
    else:
        try:
            cs = float(display_cell_m)
        except (TypeError, ValueError):
            raise ParameterError(f"`display_cell_m` must be 'auto', None or metres; got {display_cell_m!r}.") from None
        if not (np.isfinite(cs) and cs > 0):
            raise ParameterError(f"`display_cell_m` must be a positive number of metres; got {display_cell_m!r}.")
    n = ((g.xmax - g.xmin) / cs) * ((g.ymax - g.ymin) / cs)
    if n > 4_000_000:
        raise ParameterError(f"`display_cell_m`={cs:g} would need {n:,.0f} display cells; use a larger value or 'auto'.")
    return Grid.from_bounds((g.xmin, g.ymin, g.xmax - 1e-6, g.ymax - 1e-6), cs, g.crs, mask=area_geom if g.mask is not None else None)


def _density_values(analysis: Any, points: Any, grid: Grid | None) -> tuple[np.ndarray, Grid]:
    """Kernel density (incidents per km²) of ``points`` on ``grid`` with the analysis's kernel and bandwidth."""
    from ..density import kde

    d = analysis.density
    target = grid if grid is not None else analysis.grid
    if grid is None and points is analysis.incidents:
        return np.asarray(d.values, dtype=float), target
    if len(points) == 0:
        return np.where(target.active, 0.0, np.nan), target
    res = kde(points, target, bandwidth=float(d.bandwidth_m), kernel=d.kernel)
    return np.asarray(res.values, dtype=float), target


def _rgba_from_scale(values: np.ndarray, cmap: str, norm: Any, clear_below: float) -> np.ndarray:
    rgba = matplotlib.colormaps[cmap](norm(np.nan_to_num(values, nan=0.0)))
    clear = ~np.isfinite(values) | (values <= clear_below)
    rgba[clear, 3] = 0.0
    rgba[~clear, 3] = 0.88
    return rgba


def _rgba_from_classes(classes: np.ndarray, palette: dict[str, str], alpha: float = 0.9) -> np.ndarray:
    rgba = np.zeros(classes.shape + (4,), dtype=float)
    for label, colour in palette.items():
        sel = classes == label
        if sel.any():
            rgba[sel] = mcolors.to_rgba(colour, alpha)
    return rgba


# =============================================================================== map furniture
def _scale_bar(ctx: _Ctx, ax: Any, extent: tuple[float, float, float, float]) -> None:
    xmin, xmax, ymin, ymax = extent
    w = xmax - xmin
    length = _nice_number(w * 0.22)
    if length >= 1000:
        unit_len, unit = 1000.0, "km"
    else:
        unit_len, unit = 1.0, "m"
    x0 = xmin + 0.04 * w
    y0 = ymin + 0.045 * (ymax - ymin)
    h = 0.012 * (ymax - ymin)
    box = Rectangle((x0 - 0.015 * w, y0 - 0.035 * (ymax - ymin)), length + 0.05 * w, 0.085 * (ymax - ymin),
                    facecolor="white", edgecolor="none", alpha=0.8, zorder=8)
    ax.add_patch(box)
    half = length / 2
    ax.add_patch(Rectangle((x0, y0), half, h, facecolor=_INK, edgecolor=_INK, linewidth=0.6, zorder=9))
    ax.add_patch(Rectangle((x0 + half, y0), half, h, facecolor="white", edgecolor=_INK, linewidth=0.6, zorder=9))
    for pos in (0.0, half, length):
        v = pos / unit_len
        txt = f"{v:g}" + (f" {unit}" if pos == length else "")
        ax.text(x0 + pos, y0 + h * 1.6, txt, ha="center", va="bottom", fontsize=ctx.fs(6.5), color=_INK, zorder=9)
    ctx.occupied.append(box)


def _north_arrow(ctx: _Ctx, ax: Any, extent: tuple[float, float, float, float]) -> None:
    xmin, xmax, ymin, ymax = extent
    w, h = xmax - xmin, ymax - ymin
    size = min(w, h) * 0.06
    cx = xmax - 0.06 * w
    top = ymax - 0.035 * h
    base = top - size
    left = MplPolygon([(cx, top), (cx - size * 0.32, base), (cx, base + size * 0.28)], closed=True,
                      facecolor=_INK, edgecolor=_INK, linewidth=0.6, zorder=9)
    right = MplPolygon([(cx, top), (cx + size * 0.32, base), (cx, base + size * 0.28)], closed=True,
                       facecolor="white", edgecolor=_INK, linewidth=0.6, zorder=9)
    ax.add_patch(left)
    ax.add_patch(right)
    t = ax.text(cx, base - size * 0.08, "N", ha="center", va="top", fontsize=ctx.fs(9), fontweight="bold", color=_INK,
                zorder=9, path_effects=_HALO)
    ctx.occupied += [left, right, t]


def _bbox(artist: Any, renderer: Any) -> Any:
    """Display-space box of an artist, including a text's background box (the circle of a marker)."""
    bb = artist.get_window_extent(renderer)
    patch = artist.get_bbox_patch() if hasattr(artist, "get_bbox_patch") else None
    if patch is not None:
        from matplotlib.transforms import Bbox

        # The background box is positioned at draw time; place it now to measure it.
        if hasattr(artist, "update_positions"):
            artist.update_positions(renderer)
        artist.update_bbox_position_size(renderer)
        bb = Bbox.union([bb, patch.get_window_extent(renderer)])
    return bb


def _overlaps(bb: Any, boxes: list[Any], pad: float) -> bool:
    for o in boxes:
        if bb.x0 - pad < o.x1 and o.x0 < bb.x1 + pad and bb.y0 - pad < o.y1 and o.y0 < bb.y1 + pad:
            return True
    return False


def _area_markers(ctx: _Ctx, ax: Any, areas: gpd.GeoDataFrame, *, labels: dict[int, str] | None = None, max_n: int = 30,
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
    for aid, p, geom in zip(a["area_id"].to_numpy(), pts, a.geometry):
        gx0, gy0, gx1, gy1 = geom.bounds
        kw = dict(ha="center", va="center", fontsize=ctx.fs(6.5), fontweight="bold", color=_INK, zorder=11,
                  bbox=dict(boxstyle="circle,pad=0.25", facecolor="white", edgecolor=_INK, linewidth=0.7))
        if not on_top or max(gx1 - gx0, gy1 - gy0) < 1.3 * marker_m:
            # Put the number beside the area (up and right) with a leader line, so that it never
            # hides the hottest part of the map.
            off = ctx.fs(6.5) * 1.6
            t = ax.annotate(str(int(aid)), (gx1, gy1), xytext=(off, off), textcoords="offset points",
                            arrowprops=dict(arrowstyle="-", color=_INK, linewidth=0.6, shrinkA=0, shrinkB=0), **kw)
        else:
            t = ax.text(p.x, p.y, str(int(aid)), **kw)
        ctx.occupied.append(t)
        if labels and int(aid) in labels:
            lt = ax.annotate(labels[int(aid)], (p.x, p.y), xytext=(ctx.fs(7), -ctx.fs(7)), textcoords="offset points",
                             fontsize=ctx.fs(6), color=_INK, ha="left", va="top", zorder=11, path_effects=_HALO)
            ctx.occupied.append(lt)


def _area_outlines(ctx: _Ctx, ax: Any, areas: gpd.GeoDataFrame, colour: str = _INK, lw: float = 0.9) -> None:
    for geom in areas.geometry:
        ax.add_patch(PathPatch(_rings_path(geom), facecolor="none", edgecolor=colour, linewidth=lw * ctx.scale, zorder=7))


#: Outline of hotspot areas by their own before/after change class (area-level test).
AREA_CHANGE_EDGES = {
    "significant fall": ("#1f5f99", 2.2, "Hotspot area: significant fall"),
    "significant rise": ("#b2182b", 2.2, "Hotspot area: significant rise"),
}


def _area_change_outlines(ctx: _Ctx, ax: Any, an: Any) -> None:
    """Hotspot areas outlined by their area-level change class (thick blue fall, red rise)."""
    areas = an.areas.areas
    ca = an.change_areas
    cls = {}
    if ca is not None:
        cls = dict(zip(ca.table["area_id"].astype(int), ca.table["change_class"].astype(str)))
    for aid, geom in zip(areas["area_id"].astype(int), areas.geometry):
        colour, lw, _ = AREA_CHANGE_EDGES.get(cls.get(aid, ""), (_INK, 0.9, ""))
        ax.add_patch(PathPatch(_rings_path(geom), facecolor="none", edgecolor=colour, linewidth=lw * ctx.scale, zorder=7))


def _towns(ctx: _Ctx, ax: Any, extent: tuple[float, float, float, float], *, max_towns: int | None) -> list[str]:
    """Town labels inside the extent, largest first, skipping any that would overlap (the towns of
    :func:`hotspots.places.label_towns`: GeoNames for real data, the demo's own for the demo)."""
    from ..places import is_demo_data, label_towns

    an = ctx.analysis
    sa = an.study_area if an.study_area is not None and len(an.study_area) else None
    t, _ = label_towns(sa, an.incidents, demo=is_demo_data(an.incidents))
    t = t.to_crs(an.grid.crs)
    xmin, xmax, ymin, ymax = extent
    x, y = t.geometry.x.to_numpy(), t.geometry.y.to_numpy()
    inside = (x > xmin) & (x < xmax) & (y > ymin) & (y < ymax)
    inside &= shapely.contains_xy(ctx.area_geom.buffer(2000), x, y)
    t = t[inside].sort_values(["population", "name"], ascending=[False, True], kind="stable")
    if max_towns is not None:
        t = t.head(int(max_towns))
    renderer = ctx.fig.canvas.get_renderer()
    ax_bb = ax.get_window_extent(renderer)
    boxes = [_bbox(o, renderer) for o in ctx.occupied if o.axes is ax or getattr(o, "axes", None) is None]
    placed: list[str] = []
    pad = 2.0 * ctx.fig.dpi / 72.0
    offsets = [(4, 2, "left", "bottom"), (-4, 2, "right", "bottom"), (4, -3, "left", "top"), (-4, -3, "right", "top"), (0, 5, "center", "bottom")]
    for name, pop, geom in zip(t["name"], t["population"], t.geometry):
        big = pop >= 100_000
        size = ctx.fs(8.5 if big else 6.8)
        dot = ax.plot([geom.x], [geom.y], marker="o", markersize=ctx.fs(2.6 if big else 2.0), color=_INK,
                      markeredgecolor="white", markeredgewidth=0.5, zorder=10, linestyle="none")[0]
        dot_bb = _bbox(dot, renderer)
        if _overlaps(dot_bb, boxes, 0):
            # The town centre is under a hotspot marker: label the town without its dot (big towns only).
            dot.remove()
            dot = None
            if not big:
                continue
        done = False
        for dx, dy, ha, va in offsets if dot is not None else [(o[0] * 3, o[1] * 3, o[2], o[3]) for o in offsets]:
            txt = ax.annotate(name, (geom.x, geom.y), xytext=(ctx.fs(dx), ctx.fs(dy)), textcoords="offset points",
                              ha=ha, va=va, fontsize=size, fontweight="bold" if big else "normal", color=_INK,
                              zorder=10, path_effects=_HALO)
            bb = _bbox(txt, renderer)
            inside_ax = bb.x0 >= ax_bb.x0 + 2 and bb.x1 <= ax_bb.x1 - 2 and bb.y0 >= ax_bb.y0 + 2 and bb.y1 <= ax_bb.y1 - 2
            if inside_ax and not _overlaps(bb, boxes, pad):
                boxes += [bb] + ([dot_bb] if dot is not None else [])
                placed.append(name)
                done = True
                break
            txt.remove()
        if not done and dot is not None:
            dot.remove()
    return placed


# =============================================================================== side panel
class _Panel:
    """Text flowing down a panel laid out in inches (1 data unit = 1 inch, y down)."""

    def __init__(self, ctx: _Ctx, x: float, y: float, w: float, h: float):
        self.ctx = ctx
        self.ax = _inch_axes(ctx.fig, x, y, w, h)
        self.ax.set_xlim(0, w)
        self.ax.set_ylim(h, 0)
        self.ax.axis("off")
        self.x, self.y, self.w, self.h = x, y, w, h
        self.cursor = 0.0

    def line_h(self, size: float) -> float:
        return self.ctx.fs(size) / 72.0 * 1.38

    def heading(self, text: str, size: float = 9.5) -> None:
        self.cursor += self.line_h(size) * 0.35
        self.ax.text(0, self.cursor, text, fontsize=self.ctx.fs(size), fontweight="bold", color=_INK, va="top")
        self.cursor += self.line_h(size) * 1.05

    def para(self, text: str, size: float = 7.0, colour: str = _MUTED, gap: float = 0.25) -> None:
        chars = max(20, int(self.w * 72.0 / (self.ctx.fs(size) * 0.53)))
        for line in textwrap.wrap(text, chars) or [""]:
            self.ax.text(0, self.cursor, line, fontsize=self.ctx.fs(size), color=colour, va="top")
            self.cursor += self.line_h(size)
        self.cursor += self.line_h(size) * gap

    def patch(self, colour: str, label: str, *, edge: str = "#555555", hatch: str | None = None, marker: str | None = None,
              size: float = 7.2, lw: float = 0.6) -> None:
        s = self.line_h(size)
        if marker:
            self.ax.plot([0.12], [self.cursor + s * 0.5], marker=marker, color=colour, markersize=self.ctx.fs(6),
                         markeredgecolor="white", markeredgewidth=0.5, linestyle="none")
        else:
            self.ax.add_patch(Rectangle((0, self.cursor + s * 0.1), 0.26, s * 0.78, facecolor=colour, edgecolor=edge,
                                        linewidth=lw, hatch=hatch))
        self.ax.text(0.36, self.cursor + s * 0.5, label, fontsize=self.ctx.fs(size), color=_INK, va="center")
        self.cursor += s * 1.12

    def colourbar(self, cmap: str, norm: Any, label: str, ticks: Sequence[float] | None = None) -> Any:
        self.cursor += 0.05
        bar_h = 0.16 * self.ctx.scale
        top_in = self.y + self.h - self.cursor - bar_h
        cax = _inch_axes(self.ctx.fig, self.x, top_in, self.w * 0.92, bar_h)
        sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
        cb = self.ctx.fig.colorbar(sm, cax=cax, orientation="horizontal")
        if ticks is not None:
            cb.set_ticks(list(ticks))
            cb.set_ticklabels([_tick_label(t) for t in ticks])
        cb.ax.tick_params(labelsize=self.ctx.fs(6.5), length=2)
        cb.outline.set_linewidth(0.5)
        self.cursor += bar_h + self.line_h(6.5) * 1.6
        self.para(label, size=7.0, colour=_INK, gap=0.3)
        return cb

    def table(self, header: list[str], rows: list[list[str]], widths: list[float], size: float = 6.8, align: list[str] | None = None) -> None:
        s = self.line_h(size)
        align = align or ["left"] * len(header)
        total = sum(widths)
        xs = np.cumsum([0.0] + [w / total * self.w for w in widths])
        for i, h in enumerate(header):
            x = xs[i] if align[i] == "left" else xs[i + 1] - 0.04
            self.ax.text(x, self.cursor, h, fontsize=self.ctx.fs(size), fontweight="bold", color=_INK, va="top", ha=align[i])
        self.cursor += s * 1.05
        self.ax.plot([0, self.w], [self.cursor - s * 0.12] * 2, color="#999999", linewidth=0.5)
        for r in rows:
            for i, v in enumerate(r):
                x = xs[i] if align[i] == "left" else xs[i + 1] - 0.04
                self.ax.text(x, self.cursor, v, fontsize=self.ctx.fs(size), color=_INK, va="top", ha=align[i])
            self.cursor += s
        self.cursor += s * 0.4

    @property
    def remaining(self) -> float:
        return self.h - self.cursor


# =============================================================================== text pieces
def _fmt_change(pct: Any, cls: Any) -> str:
    if pct is None or (isinstance(pct, float) and not np.isfinite(pct)):
        return "–"
    arrow = " ↓" if cls == "significant fall" else (" ↑" if cls == "significant rise" else "")
    return f"{pct:+.0f}%".replace("-", "−") + arrow


def _bare(period: Any) -> str:
    """``"Jul 2023 – Jun 2024"`` without the period's label."""
    return period.describe().split(": ", 1)[-1]


def _method_text(analysis: Any, extra: str = "") -> str:
    s = analysis.settings
    conf = int(round(float(s.min_confidence) * 100))
    perm = f", {s.permutations:,} permutations" if s.permutations else ""
    text = (
        f"{analysis.caption()}{perm}. Hotspot areas: touching cells in Gi* hot spots at {conf}% confidence or more, "
        f"numbered by incidents."
    )
    return text + (" " + extra[0].upper() + extra[1:] + "." if extra else "")


def _footer_lines(ctx: _Ctx, width_in: float, margin: float, extra_attr: str = "") -> list[str]:
    from .. import __version__

    src = ctx.source
    parts = [f"Source: {src.description}."]
    if src.attribution:
        parts.append(src.attribution + ".")
    if extra_attr:
        parts.append(extra_attr + ".")
    parts.append(f"Made with hotspots {__version__}.")
    chars = max(40, int((width_in - 2 * margin) * 72.0 / (ctx.fs(6.3) * 0.52)))
    return textwrap.wrap(" ".join(parts), chars)[:4]


def _footer_height(ctx: _Ctx, width_in: float, margin: float, basemap: str) -> float:
    """Room for the footer, assuming the longest attribution the basemap could add."""
    from ._basemap import resolve_source

    try:
        src = resolve_source(basemap)
    except ParameterError:
        src = None
    n = len(_footer_lines(ctx, width_in, margin, src[1] if src else ""))
    return 0.16 + n * ctx.fs(6.3) / 72 * 1.35 + 0.1


def _footer(ctx: _Ctx, fig: Figure, size_in: tuple[float, float], margin: float, extra_attr: str = "") -> None:
    W, H = size_in
    lines = _footer_lines(ctx, W, margin, extra_attr)
    step = ctx.fs(6.3) / 72 * 1.35
    y = 0.14 + (len(lines) - 1) * step
    for line in lines:
        fig.text(margin / W, y / H, line, fontsize=ctx.fs(6.3), color=_MUTED, ha="left", va="bottom")
        y -= step


def _header(ctx: _Ctx, size_in: tuple[float, float], margin: float, title: str, subtitle: str) -> None:
    W, H = size_in
    ctx.fig.text(margin / W, 1 - 0.18 / H, title, fontsize=ctx.fs(15), fontweight="bold", color=_INK, ha="left", va="top")
    ctx.fig.text(margin / W, 1 - (0.2 + ctx.fs(15) / 72 * 1.3) / H, subtitle, fontsize=ctx.fs(9.5), color=_MUTED, ha="left", va="top")


def _referral_labels(analysis: Any, suppress: bool) -> tuple[dict[int, str], str | None]:
    """``{area_id: referrals text}`` from the display (suppressed) or exact table."""
    link = analysis.linkage
    if link is None or not getattr(link, "has_areas", False):
        return {}, None
    table = link.display if suppress else link.per_hotspot
    out: dict[int, str] = {}
    other = None
    for key, v in zip(table["hotspot"].astype(str), table["referrals"]):
        text = str(v) if isinstance(v, str) else f"{int(v):,}"
        if key.isdigit():
            out[int(key)] = text
        elif key == "outside hotspots":
            other = text
    return out, other


# =============================================================================== layers
def _draw_layer(ctx: _Ctx, ax: Any, layer: str, display_cell_m: Any, suppress: bool) -> dict[str, Any]:
    """Draw ``layer`` on ``ax``; returns what the legend needs."""
    an = ctx.analysis
    areas = an.areas.areas
    info: dict[str, Any] = {"kind": layer}
    if layer == "density":
        dgrid = _display_grid(an, display_cell_m, ctx.area_geom)
        values, grid = _density_values(an, an.incidents, dgrid)
        if dgrid is not None:
            ctx.notes.append(f"density drawn on a {dgrid.cell_size:g} m display lattice (same kernel and bandwidth as the analysis)")
        vmax = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
        vmax = vmax if vmax > 0 else 1.0
        norm = mcolors.PowerNorm(gamma=0.55, vmin=0.0, vmax=vmax)
        _grid_image(ctx, ax, grid, _rgba_from_scale(values, DENSITY_CMAP, norm, clear_below=vmax * 0.01))
        _area_outlines(ctx, ax, areas)
        _area_markers(ctx, ax, areas)
        info.update(norm=norm, cmap=DENSITY_CMAP, units="incidents per km²", vmax=vmax)
        ctx.legend["scale"] = (DENSITY_CMAP, 0.0, vmax, "incidents per km²")
    elif layer == "counts":
        values = np.asarray(an.counts.values, dtype=float)
        vmax = max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1.0)
        norm = mcolors.PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax)
        _grid_image(ctx, ax, an.grid, _rgba_from_scale(values, DENSITY_CMAP, norm, clear_below=0.0))
        _area_outlines(ctx, ax, areas)
        _area_markers(ctx, ax, areas)
        info.update(norm=norm, cmap=DENSITY_CMAP, units=f"incidents per {an.grid.cell_size:g} m cell", vmax=vmax)
        ctx.legend["scale"] = (DENSITY_CMAP, 0.0, vmax, info["units"])
    elif layer == "gistar":
        classes = np.asarray(an.gi.classes)
        _grid_image(ctx, ax, an.grid, _rgba_from_classes(classes, GI_COLOURS, 0.9))
        _area_outlines(ctx, ax, areas)
        _area_markers(ctx, ax, areas)
        present = [c for c in GI_COLOURS if (classes == c).any()]
        info["classes"] = [(GI_COLOURS[c], GI_LABELS[c]) for c in GI_COLOURS if c.startswith("hot") or c in present]
        info["classes"].append(("#ffffff", "Not significant"))
        ctx.legend.update({GI_LABELS[c]: GI_COLOURS[c] for c in GI_COLOURS})
    elif layer == "areas":
        for conf, colour in (("99%", GI_COLOURS["hot 99%"]), ("95%", GI_COLOURS["hot 95%"]), ("90%", GI_COLOURS["hot 90%"])):
            sel = areas[areas["peak_confidence"].astype(str) == conf]
            for geom in sel.geometry:
                ax.add_patch(PathPatch(_rings_path(geom), facecolor=mcolors.to_rgba(colour, 0.75), edgecolor=_INK,
                                       linewidth=0.8 * ctx.scale, zorder=5))
        _area_markers(ctx, ax, areas)
        info["classes"] = [
            (GI_COLOURS["hot 99%"], "Hotspot area, peak 99% confidence"),
            (GI_COLOURS["hot 95%"], "Hotspot area, peak 95% confidence"),
            (GI_COLOURS["hot 90%"], "Hotspot area, peak 90% confidence"),
        ]
        ctx.legend.update({lab: c for c, lab in info["classes"]})
    elif layer == "clusters":
        cl = an.clusters
        if cl is None:
            raise ParameterError("`layer='clusters'` needs clusters; run the analysis with `cluster_method` 'dbscan' or 'hdbscan'.")
        polys = cl.polygons.sort_values("rank", kind="stable")
        for geom in polys.geometry:
            ax.add_patch(PathPatch(_rings_path(geom), facecolor=mcolors.to_rgba("#e6550d", 0.55), edgecolor="#7f2704",
                                   linewidth=0.6 * ctx.scale, zorder=5))
        for cid, rank, geom in zip(polys["cluster"], polys["rank"], polys.geometry):
            if rank <= 10:
                p = geom.representative_point()
                t = ax.text(p.x, p.y, str(int(cid)), ha="center", va="center", fontsize=ctx.fs(6), fontweight="bold",
                            color=_INK, zorder=11, bbox=dict(boxstyle="circle,pad=0.2", facecolor="white", edgecolor=_INK, linewidth=0.6))
                ctx.occupied.append(t)
        method = str(cl.params.get("method", an.settings.cluster_method)).upper()
        info["classes"] = [("#e6550d", f"{method} cluster of incidents ({len(polys):,}; top 10 numbered)")]
        ctx.legend.update({lab: c for c, lab in info["classes"]})
    elif layer == "change":
        ch = an.change_cells
        if ch is None:
            raise ParameterError("`layer='change'` needs before/after change; give `before`/`after` periods that hold data.")
        classes = np.full(an.grid.shape, "", dtype=object)
        t = ch.table
        classes[t["row"].to_numpy(), t["col"].to_numpy()] = t["change_class"].astype(str).to_numpy(dtype=object)
        _grid_image(ctx, ax, an.grid, _rgba_from_classes(classes, CHANGE_COLOURS, 0.85))
        _area_change_outlines(ctx, ax, an)
        _area_markers(ctx, ax, areas)
        info["classes"] = [(CHANGE_COLOURS[c], CHANGE_LABELS[c] + " (cell)") for c in CHANGE_COLOURS]
        info["classes"].append(("#ffffff", "Too few incidents to test (cell)"))
        info["edges"] = [(c, lw, lab) for c, lw, lab in AREA_CHANGE_EDGES.values()] + [(_INK, 0.9, "Hotspot area: no significant change")]
        ctx.legend.update({CHANGE_LABELS[c]: CHANGE_COLOURS[c] for c in CHANGE_COLOURS})
    elif layer == "scheme":
        link = an.linkage
        if link is None:
            raise ParameterError("`layer='scheme'` needs referrals; run the analysis with `referrals=` (and `tasks=`).")
        labels, _ = _referral_labels(an, suppress)
        nums = {k: float(v.replace(",", "")) for k, v in labels.items() if v.replace(",", "").isdigit()}
        vmax = max(nums.values()) if nums else 1.0
        norm = mcolors.Normalize(vmin=0.0, vmax=max(vmax, 1.0))
        cmap = matplotlib.colormaps[REFERRAL_CMAP]
        for aid, geom in zip(areas["area_id"].astype(int), areas.geometry):
            if aid in nums:
                fc = cmap(0.25 + 0.75 * norm(nums[aid]))
                hatch = None
            else:
                fc = (0.85, 0.85, 0.85, 1.0)
                hatch = "////"
            ax.add_patch(PathPatch(_rings_path(geom), facecolor=fc, edgecolor=_INK, hatch=hatch,
                                   linewidth=0.8 * ctx.scale, zorder=5, alpha=0.85))
        _area_markers(ctx, ax, areas)
        tasks = an.tasks
        if tasks is not None and len(tasks):
            tx, ty = tasks.geometry.x.to_numpy(), tasks.geometry.y.to_numpy()
            ax.plot(tx, ty, marker="^", color=TASK_COLOUR, markersize=ctx.fs(4.2), markeredgecolor="white",
                    markeredgewidth=0.5, linestyle="none", zorder=12)
        from matplotlib.colors import ListedColormap

        shown_cmap = ListedColormap(cmap(np.linspace(0.25, 1.0, 256)), name="referrals")
        info.update(norm=norm, cmap=shown_cmap, vmax=float(norm.vmax), units="referrals",
                    scale_label="Referrals from each hotspot area (where the behaviour happened)")
        ctx.legend["scale"] = (REFERRAL_CMAP, 0.0, float(norm.vmax), "referrals")
        info["classes"] = [
            ("#d9d9d9", f"Hotspot area: referrals suppressed (<{SUPPRESSION_THRESHOLD} or to protect others)"),
        ]
        if tasks is not None and len(tasks):
            info["task_marker"] = (TASK_COLOUR, f"Reparative task site ({len(tasks):,})")
        ctx.legend.update({lab: c for c, lab in info["classes"]})
        if "task_marker" in info:
            ctx.legend[info["task_marker"][1]] = TASK_COLOUR
    else:  # pragma: no cover - validated before
        raise ParameterError(f"unknown layer {layer!r}")
    return info


def _legend_into(panel: _Panel, info: dict[str, Any], analysis: Any) -> None:
    panel.heading("Legend")
    if "norm" in info:
        ticks = _scale_ticks(info["vmax"])
        label = info.get("scale_label") or ("Kernel density, " + info["units"] if info["kind"] == "density" else "Incidents per cell")
        if info["kind"] == "counts":
            label = f"Incidents per {analysis.grid.cell_size:g} m cell"
        panel.colourbar(info["cmap"], info["norm"], label, ticks)
    for colour, label in info.get("classes", []):
        panel.patch(colour, label, hatch="////" if "suppressed" in label else None)
    if "task_marker" in info:
        panel.patch(info["task_marker"][0], info["task_marker"][1], marker="^")
    for colour, lw, label in info.get("edges", []):
        panel.patch("none", label, edge=colour, lw=lw)
    if info["kind"] in ("density", "counts", "gistar"):
        panel.patch("none", "Hotspot area (number = rank by incidents)", edge=_INK, lw=1.3)
    panel.patch(_OFFLINE_INSIDE, "Study area", edge=_OUTLINE, lw=0.8)


def _areas_table_into(panel: _Panel, analysis: Any, suppress: bool, max_rows: int) -> None:
    summ = area_summary(analysis)
    if len(summ) == 0:
        panel.heading("Hotspot areas")
        panel.para("No significant hot spots at the chosen confidence.", colour=_INK)
        return
    labels, other = _referral_labels(analysis, suppress)
    panel.heading(f"Hotspot areas ({len(summ)})")
    header = ["#", "Near", "Incidents"]
    widths = [0.45, 1.9, 1.1]
    align = ["left", "left", "right"]
    has_change = "change_pct" in summ.columns
    if has_change:
        header.append("Change")
        widths.append(1.0)
        align.append("right")
    if labels:
        header.append("Referrals")
        widths.append(1.15)
        align.append("right")
    rows = []
    for _, r in summ.head(max_rows).iterrows():
        row = [str(int(r["area_id"])), str(r["place"]), f"{int(r['incidents']):,}"]
        if has_change:
            row.append(_fmt_change(r["change_pct"], r["change_class"]))
        if labels:
            row.append(labels.get(int(r["area_id"]), "0"))
        rows.append(row)
    panel.table(header, rows, widths, align=align)
    notes = []
    if len(summ) > max_rows:
        notes.append(f"{len(summ) - max_rows} more area(s) in the exported tables.")
    if has_change:
        notes.append(f"Change: {_bare(analysis.after)} vs {_bare(analysis.before)}, per month; ↓/↑ significant "
                     f"fall/rise (exact Poisson test, alpha {analysis.settings.alpha:g}{', FDR' if analysis.settings.fdr else ''}).")
    if labels:
        txt = f"Referrals: by where the behaviour happened; {other} from outside hotspots." if other else "Referrals: by where the behaviour happened."
        if suppress:
            txt += f" Counts of people under {SUPPRESSION_THRESHOLD} shown as <{SUPPRESSION_THRESHOLD}; 'c' hidden to protect them."
        else:
            txt += " UNSUPPRESSED COUNTS: NOT FOR PUBLICATION."
        notes.append(txt)
    for n in notes:
        panel.para(n, size=6.3, gap=0.1)


# =============================================================================== public: one map
def briefing_map(
    analysis: Any,
    out_path: str | Path,
    *,
    layer: str = "density",
    title: str | None = None,
    period_text: str | None = None,
    dpi: float = 300,
    size_in: tuple[float, float] = (11.0, 7.5),
    basemap: str = "auto",
    basemap_attribution: str | None = None,
    basemap_timeout: float = 2.0,
    basemap_muted: bool = True,
    suppress: bool = True,
    towns: bool = True,
    max_towns: int | None = None,
    display_cell_m: Any = "auto",
    source: str | None = None,
    attribution: str | None = None,
) -> BriefingImage:
    """Draw one briefing map of an analysis and save it as PNG or PDF.

    Parameters
    ----------
    analysis : Analysis
        From :func:`hotspots.analyse`.
    out_path : str or Path
        Ends in ``.png`` or ``.pdf`` (the format follows the suffix). Parent folders are created.
    layer : {"density", "gistar", "counts", "areas", "clusters", "change", "scheme"}
        ``"density"``: kernel density (incidents per km²) with hotspot areas outlined;
        ``"gistar"``: Gi* hot/cold classes at 99/95/90 % confidence; ``"counts"``: incidents per
        cell; ``"areas"``: hotspot areas by peak confidence; ``"clusters"``: DBSCAN/HDBSCAN
        clusters; ``"change"``: before/after change class per cell; ``"scheme"``: hotspot
        areas shaded by referrals from them (suppressed) and reparative task sites.
    title : str, optional
        Default: e.g. ``"Anti-social behaviour: kernel density"``.
    period_text : str, optional
        Default: the months of the analysed incidents (``"Jan 2022 – Mar 2025"``).
    dpi : float
        Dots per inch (default 300; PNG pixel size is ``size_in × dpi``).
    size_in : (float, float)
        Width and height in inches (default 11 × 7.5, a 4:3-ish slide). Landscape figures get a
        side panel (legend, hotspot table, method); portrait ones a bottom panel.
    basemap : str
        ``"auto"`` (tiles if reachable, else offline), ``"none"``, ``"osm"`` or a tile URL
        template ``"https://.../{z}/{x}/{y}.png"``.
    basemap_attribution : str, optional
        Attribution for a custom tile URL.
    basemap_timeout : float
        Seconds per tile request; the first request doubles as the reachability check.
    basemap_muted : bool
        Draw the tiles half-desaturated and lightened (default) so the data colours stand out.
    suppress : bool
        Person-level counts from the disclosure-controlled tables (default). ``False`` shows
        exact counts and stamps the image "NOT FOR PUBLICATION".
    towns : bool
        Label gazetteer towns inside the map (overlapping labels are skipped, largest towns
        first); ``max_towns`` caps how many are tried.
    display_cell_m : "auto", float or None
        Display lattice of density maps in metres (``None`` draws the analysis cells).
    source, attribution : str, optional
        Override the detected data source and licence line.

    Returns
    -------
    BriefingImage
    """
    t0 = time.perf_counter()
    _check_analysis(analysis)
    path, fmt, dpi_f, (W, H) = _check_common(out_path, dpi, size_in)
    if layer not in LAYERS:
        raise ParameterError(f"`layer` must be one of {', '.join(LAYERS)}; got {layer!r}.")
    an = analysis
    src = data_source(an.incidents, source=source, attribution=attribution)
    scale = float(np.clip(min(W / 11.0, H / 7.5) if W >= H else min(W / 8.5, H / 11.0), 0.6, 1.8))
    fig = _new_figure((W, H), dpi_f)
    ctx = _Ctx(an, fig, scale, _area_union(an), src)

    margin = 0.3 * scale
    header_h = (0.35 + ctx.fs(15) / 72 * 1.3 + ctx.fs(9.5) / 72 * 1.3)
    footer_h = _footer_height(ctx, W, margin, basemap)
    landscape = W >= H
    if landscape:
        panel_w = float(np.clip(0.34 * W, 2.9, 0.5 * W))
        map_rect = (margin, footer_h, W - panel_w - 2.2 * margin, H - header_h - footer_h)
        panel_rect = (W - panel_w - margin, footer_h, panel_w, H - header_h - footer_h)
    else:
        panel_h = float(np.clip(0.3 * H, 2.6, 0.5 * H))
        map_rect = (margin, footer_h + panel_h + 0.15, W - 2 * margin, H - header_h - footer_h - panel_h - 0.15)
        panel_rect = (margin, footer_h, W - 2 * margin, panel_h)
    mx, my, mw, mh = map_rect
    if mw <= 0.5 or mh <= 0.5:
        raise ParameterError(f"`size_in` {size_in} leaves no room for the map; use at least about 6 x 4.5 inches.")
    extent = _fit_extent(ctx.area_geom.bounds, mw, mh)
    ax = _inch_axes(fig, mx, my, mw, mh)

    bm, reason = fetch_basemap(extent, int(mw * dpi_f), int(mh * dpi_f), basemap=basemap, attribution=basemap_attribution,
                               timeout=basemap_timeout, crs=an.grid.crs.to_epsg() or 27700)
    if basemap != "none":
        ctx.notes.append(reason)
    _prepare_map_axes(ctx, ax, extent, bm, basemap_muted)
    info = _draw_layer(ctx, ax, layer, display_cell_m, suppress)
    _draw_outline(ctx, ax)
    _scale_bar(ctx, ax, extent)
    _north_arrow(ctx, ax, extent)
    if towns:
        placed = _towns(ctx, ax, extent, max_towns=max_towns)
        ctx.notes.append(f"{len(placed)} town label(s) placed")

    names = {
        "density": "kernel density",
        "gistar": "Getis-Ord Gi* hot spots",
        "counts": "incidents per grid cell",
        "areas": "hotspot areas",
        "clusters": "point clusters",
        "change": f"change, {_bare(an.after)} vs {_bare(an.before)}",
        "scheme": "immediate justice referrals and reparation sites",
    }
    subject = subject_text(an.incidents)
    ttl = title or f"{subject}: {names[layer]}"
    period = period_text or _period_of(an)
    force = force_of(an)
    sub = (f"{force.name + '  ·  ' if force is not None else ''}{period}  ·  {len(an.incidents):,} incidents  ·  "
           f"{an.areas.n_areas} hotspot area{'s' if an.areas.n_areas != 1 else ''}")
    _header(ctx, (W, H), margin, ttl, sub)

    px, py, pw, ph = panel_rect
    if landscape:
        panel = _Panel(ctx, px, py, pw, ph)
        _legend_into(panel, info, an)
        max_rows = int(max(0, (panel.remaining - 1.6 * scale) / panel.line_h(6.8)) - 8)
        _areas_table_into(panel, an, suppress, max(3, min(15, max_rows)))
        panel.heading("Method", size=8.5)
        panel.para(_method_text(an, "; ".join(n for n in ctx.notes if n.startswith("density drawn"))), size=6.3, gap=0.1)
    else:
        left = _Panel(ctx, px, py, pw * 0.45, ph)
        _legend_into(left, info, an)
        right = _Panel(ctx, px + pw * 0.5, py, pw * 0.5, ph)
        max_rows = int(max(0, (right.remaining - 1.6 * scale) / right.line_h(6.8)) - 8)
        _areas_table_into(right, an, suppress, max(3, min(15, max_rows)))
        right.heading("Method", size=8.5)
        right.para(_method_text(an), size=6.3, gap=0.1)
    if not suppress and an.linkage is not None:
        fig.text(1 - margin / W, 1 - 0.2 / H, "NOT FOR PUBLICATION: unsuppressed counts", fontsize=ctx.fs(9), color="#b2182b",
                 fontweight="bold", ha="right", va="top")
    _footer(ctx, fig, (W, H), margin, bm.attribution if bm is not None else "")
    return _save(ctx, path, fmt, dpi_f, (W, H), layer, [(ttl, ax, extent)], bm, t0)


def _period_of(an: Any) -> str:
    s = an.settings
    if s.period:
        from ..analysis import parse_period

        return parse_period(s.period).describe()
    return period_text(an.incidents)


def _save(ctx: _Ctx, path: Path, fmt: str, dpi: float, size_in: tuple[float, float], layer: str,
          maps: list[tuple[str, Any, tuple[float, float, float, float]]], bm: Any, t0: float) -> BriefingImage:
    from .. import __version__

    fig = ctx.fig
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        meta = {"Software": f"hotspots {__version__} (matplotlib)", "Title": maps[0][0]}
    else:
        meta = {"Creator": f"hotspots {__version__}", "Producer": "matplotlib", "CreationDate": None, "Title": maps[0][0]}
    fig.savefig(path, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    Wpx, Hpx = int(round(size_in[0] * dpi)), int(round(size_in[1] * dpi))
    if fmt == "png":
        from PIL import Image

        with Image.open(path) as im:  # matplotlib truncates fractional pixels; use what was written
            Wpx, Hpx = im.size
    panels = []
    for title, ax, extent in maps:
        pos = ax.get_position()
        panels.append(MapPanel(title, tuple(float(v) for v in extent),
                               (pos.x0 * Wpx, (1 - pos.y1) * Hpx, pos.x1 * Wpx, (1 - pos.y0) * Hpx)))
    texts = tuple(t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text())
    return BriefingImage(
        path=path,
        format=fmt,
        dpi=dpi,
        size_in=size_in,
        size_px=(Wpx, Hpx),
        layer=layer,
        panels=tuple(panels),
        n_axes=len(fig.axes),
        basemap=bm.source if bm is not None else "none",
        legend=dict(ctx.legend),
        texts=texts,
        notes=tuple(ctx.notes),
        seconds=time.perf_counter() - t0,
    )


# =============================================================================== public: before/after
def briefing_before_after(
    analysis: Any,
    out_path: str | Path,
    *,
    show_change: bool = True,
    incidents: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    dpi: float = 300,
    size_in: tuple[float, float] = (40 / 3, 7.5),
    basemap: str = "auto",
    basemap_attribution: str | None = None,
    basemap_timeout: float = 2.0,
    basemap_muted: bool = True,
    towns: bool = True,
    max_towns: int | None = 14,
    display_cell_m: Any = "auto",
    source: str | None = None,
    attribution: str | None = None,
) -> BriefingImage:
    """Before and after maps side by side on one colour scale (plus the change classes).

    The two maps show the kernel density of each period (same kernel, bandwidth and display
    lattice) divided by the period's length in months of 30.44 days, in **incidents per km² per
    month**, so that periods of different lengths compare fairly; both use one colour scale. The
    optional third panel shows the change class of each analysis cell (exact conditional
    Poisson test of the two rates, the analysis's alpha and FDR setting).

    Parameters
    ----------
    analysis : Analysis
        With before/after change computed (``analysis.change_cells`` not None).
    out_path : str or Path
        ``.png`` or ``.pdf``.
    show_change : bool
        Add the change panel (default True).
    incidents : GeoDataFrame, optional
        Incidents to split into the periods; default ``analysis.incidents`` (note: when the
        analysis has a ``period`` filter, pass the full loaded incidents here).
    title, dpi, size_in, basemap, basemap_attribution, basemap_timeout, basemap_muted, towns, max_towns,
    display_cell_m, source, attribution
        As for :func:`briefing_map` (default size 13⅓ × 7.5 in, a 16:9 slide).

    Returns
    -------
    BriefingImage
        ``panels`` holds 2 or 3 map panels, left to right (before, after, change).
    """
    from ..analysis import filter_period

    t0 = time.perf_counter()
    _check_analysis(analysis)
    path, fmt, dpi_f, (W, H) = _check_common(out_path, dpi, size_in)
    an = analysis
    if show_change and an.change_cells is None:
        raise ParameterError(
            "the analysis has no before/after change (see its notes); choose `before`/`after` periods that hold data, "
            "or pass `show_change=False`."
        )
    pts = an.incidents if incidents is None else incidents
    before_p: Period = an.before
    after_p: Period = an.after
    inc_b = filter_period(pts, before_p)
    inc_a = filter_period(pts, after_p)
    if len(inc_b) == 0 or len(inc_a) == 0:
        raise ParameterError(
            f"no incidents in the {'before' if len(inc_b) == 0 else 'after'} period ({before_p.describe() if len(inc_b) == 0 else after_p.describe()}); "
            "choose periods covered by the data (`before=`/`after=` in Settings, `--before/--after` on the command line)."
        )
    src = data_source(an.incidents, source=source, attribution=attribution)
    scale = float(np.clip(min(W / 13.33, H / 7.5), 0.6, 1.8))
    fig = _new_figure((W, H), dpi_f)
    ctx = _Ctx(an, fig, scale, _area_union(an), src)

    n_panels = 3 if show_change else 2
    margin = 0.3 * scale
    header_h = 0.35 + ctx.fs(15) / 72 * 1.3 + ctx.fs(9.5) / 72 * 1.3
    footer_h = _footer_height(ctx, W, margin, basemap)
    legend_w = float(np.clip(0.22 * W, 2.6, 3.6))
    title_h = ctx.fs(8.5) / 72 * 2.9
    gap = 0.18 * scale
    avail_w = W - 2 * margin - legend_w - gap * n_panels
    avail_h = H - header_h - footer_h - title_h
    if avail_w <= 1.5 or avail_h <= 1.5:
        raise ParameterError(f"`size_in` {size_in} leaves no room for {n_panels} maps; use at least about 10 x 6 inches.")
    bx0, by0, bx1, by1 = ctx.area_geom.bounds
    aspect = (bx1 - bx0) / (by1 - by0)
    pw = min(avail_w / n_panels, avail_h * aspect)
    ph = min(avail_h, pw / aspect)
    total = pw * n_panels + gap * (n_panels - 1)
    x_start = margin + (avail_w - pw * n_panels) / 2
    y_map = footer_h + (avail_h - ph) / 2
    extent = _fit_extent(ctx.area_geom.bounds, pw, ph)

    bm, reason = fetch_basemap(extent, int(pw * dpi_f), int(ph * dpi_f), basemap=basemap, attribution=basemap_attribution,
                               timeout=basemap_timeout, crs=an.grid.crs.to_epsg() or 27700)
    if basemap != "none":
        ctx.notes.append(reason)
    dgrid = _display_grid(an, display_cell_m, ctx.area_geom)
    vals_b, grid = _density_values(an, inc_b, dgrid if dgrid is not None else an.grid)
    vals_a, _ = _density_values(an, inc_a, grid)
    ch = an.change_cells
    days_b = ch.exposure_before_days if ch is not None else float(before_p.days)
    days_a = ch.exposure_after_days if ch is not None else float(after_p.days)
    months_b, months_a = days_b / 30.44, days_a / 30.44
    rate_b, rate_a = vals_b / months_b, vals_a / months_a
    if dgrid is not None:
        ctx.notes.append(f"density drawn on a {dgrid.cell_size:g} m display lattice (same kernel and bandwidth as the analysis)")
    vmax = float(np.nanmax([np.nanmax(rate_b), np.nanmax(rate_a)]))
    vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
    norm = mcolors.PowerNorm(gamma=0.55, vmin=0.0, vmax=vmax)
    ctx.legend["scale"] = (DENSITY_CMAP, 0.0, vmax, "incidents per km² per month")

    areas = an.areas.areas
    maps = []
    titles = [
        f"Before: {_bare(before_p)}\n{len(inc_b):,} incidents ({len(inc_b) / months_b:,.0f} a month)",
        f"After: {_bare(after_p)}\n{len(inc_a):,} incidents ({len(inc_a) / months_a:,.0f} a month)",
    ]
    for i in range(n_panels):
        ctx.occupied = []
        ax = _inch_axes(fig, x_start + i * (pw + gap), y_map, pw, ph)
        _prepare_map_axes(ctx, ax, extent, bm, basemap_muted)
        if i < 2:
            _grid_image(ctx, ax, grid, _rgba_from_scale(rate_b if i == 0 else rate_a, DENSITY_CMAP, norm, clear_below=vmax * 0.01))
            panel_title = titles[i]
        else:
            classes = np.full(an.grid.shape, "", dtype=object)
            t = ch.table
            classes[t["row"].to_numpy(), t["col"].to_numpy()] = t["change_class"].astype(str).to_numpy(dtype=object)
            _grid_image(ctx, ax, an.grid, _rgba_from_classes(classes, CHANGE_COLOURS, 0.85))
            s = ch.summary()
            panel_title = (f"Change, after vs before (exact Poisson test)\ncells: {int(s.get('significant fall', 0)):,} fall, "
                           f"{int(s.get('significant rise', 0)):,} rise")
            if an.change_areas is not None:
                sa = an.change_areas.summary()
                panel_title += f"; areas: {int(sa.get('significant fall', 0))} fall, {int(sa.get('significant rise', 0))} rise"
            ctx.legend.update({CHANGE_LABELS[c]: CHANGE_COLOURS[c] for c in CHANGE_COLOURS})
        if i == 2:
            _area_change_outlines(ctx, ax, an)
        else:
            _area_outlines(ctx, ax, areas)
        _area_markers(ctx, ax, areas)
        _draw_outline(ctx, ax)
        if i == 0:
            _scale_bar(ctx, ax, extent)
        _north_arrow(ctx, ax, extent)
        if towns:
            _towns(ctx, ax, extent, max_towns=max_towns)
        ax.set_title(panel_title, fontsize=ctx.fs(8.5), color=_INK, loc="left", pad=4)
        maps.append((panel_title.split("\n")[0], ax, extent))

    # Legend column right of the maps.
    lx = x_start + total + gap + 0.15 * scale
    leg_top = y_map + ph + title_h
    leg = _Panel(ctx, lx, footer_h, W - lx - margin, leg_top - footer_h)
    leg.heading("Legend")
    leg.colourbar(DENSITY_CMAP, norm, "Kernel density, incidents per km² per month (same scale in both maps)", _scale_ticks(vmax))
    if show_change:
        leg.heading("Change per cell", size=8.0)
        for c in CHANGE_COLOURS:
            leg.patch(CHANGE_COLOURS[c], CHANGE_LABELS[c])
        leg.patch("#ffffff", "Too few incidents to test")
        leg.heading("Change per hotspot area", size=8.0)
        for colour, lw, label in AREA_CHANGE_EDGES.values():
            leg.patch("none", label.replace("Hotspot area: ", "").capitalize(), edge=colour, lw=lw)
        leg.patch("none", "No significant change", edge=_INK, lw=0.9)
    leg.cursor += 0.08
    leg.patch("none", "Hotspot area (number = rank by incidents)", edge=_INK, lw=1.3)
    leg.patch(_OFFLINE_INSIDE, "Study area", edge=_OUTLINE, lw=0.8)
    if ch is not None and an.change_areas is not None:
        s_areas = an.change_areas.summary()
        leg.heading("Hotspot areas", size=8.0)
        leg.para(
            f"{int(s_areas.get('significant fall', 0))} with a significant fall, {int(s_areas.get('significant rise', 0))} with a "
            f"significant rise, {int(s_areas.get('no change', 0))} without a significant change (of {an.areas.n_areas}).",
            size=7.0, colour=_INK,
        )
    leg.heading("Method", size=8.0)
    method = (f"{an.caption()}. Change: incidents per month in each period compared by an exact conditional Poisson "
              f"test per cell and per hotspot area{' with FDR' if an.settings.fdr else ''}.")
    if dgrid is not None:
        method += f" Density drawn on a {dgrid.cell_size:g} m display lattice."
    leg.para(method, size=6.3, gap=0)

    subject = subject_text(pts)
    ttl = title or f"{subject}: before and after"
    force = force_of(an)
    sub = f"{force.name + '  ·  ' if force is not None else ''}{_bare(before_p)}  vs  {_bare(after_p)}  ·  scheme start {an.settings.scheme_start}"
    _header(ctx, (W, H), margin, ttl, sub)
    _footer(ctx, fig, (W, H), margin, bm.attribution if bm is not None else "")
    return _save(ctx, path, fmt, dpi_f, (W, H), "before-after", maps, bm, t0)
