"""Briefing map images (PNG/PDF) from an :class:`~hotspots.analysis.Analysis`, for slides and reports.

:func:`briefing_map` draws one map; :func:`briefing_before_after` draws the before and after
periods side by side on the same colour scale, with the change classes as an optional third
panel. Every image carries a title, the period, the data source, a legend with units, a scale
bar in kilometres, a north arrow, the attribution (the Open Government Licence line for
police.uk data, "Synthetic demo data" for the demo), a caption with the parameters (cell size,
bandwidth, distance band, alpha, FDR), town labels (GeoNames places for real data, the demo's
towns for the demo), and the study-area
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

import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
from matplotlib import colors as mcolors

from .. import style, validation
from .._errors import ParameterError
from ..cell_selection import caveated_cells_text
from ..change import Period
from ..period_split import left_out_text
from ..periods import scheme_start_text
from ..style import INK, OFFLINE_INSIDE, OUTLINE, PLAIN_TEXT
from ..summaries import per_day_note, per_day_text, subject_text
from ._basemap import fetch_basemap
from ._common import data_source, force_of, period_range_text, period_text
from ._layers import (
    CHANGE_COLOURS,
    CHANGE_LABELS,
    DENSITY_CMAP,
    GI_COLOURS,
    LAYERS,
    areas_table_into,
    change_summary_into,
    clusters_table_into,
    display_grid,
    display_lattice_quiet,
    draw_layer,
    legend_into,
    method_text,
    reparation_text,
    rgba_from_classes,
    rgba_from_scale,
)
from ._layout import (
    DrawContext,
    area_change_outlines,
    area_markers,
    area_outlines,
    area_union,
    draw_outline,
    fit_extent,
    fit_lines,
    footer,
    footer_height,
    grid_image,
    header,
    inch_axes,
    new_figure,
    north_arrow,
    prepare_map_axes,
    ring_change_outlines,
    ring_legend,
    scale_bar,
    scale_ticks,
    town_labels,
    wrap_to_width,
)
from ._panel import SidePanel

__all__ = [
    "BriefingImage",
    "MapPanel",
    "briefing_map",
    "briefing_before_after",
    "LAYERS",
    "check_image_options",
    "GI_COLOURS",
    "CHANGE_COLOURS",
    "DENSITY_CMAP",
    "BRIEFING_MAPS",
    "BRIEFING_FORMATS",
]

#: The briefing maps ``hotspots analyse`` writes into ``maps/``: layer -> file stem.
BRIEFING_MAPS = {"density": "briefing_density", "gistar": "briefing_gistar", "scheme": "briefing_scheme",
                 "before-after": "briefing_before_after"}
#: Their file formats (``png`` always, ``pdf`` with ``--pdf``).
BRIEFING_FORMATS = ("png", "pdf")


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
    def basemap_warning(self) -> str | None:
        """Why the basemap asked for by name or URL (``"osm"``, a tile template) is not on the image
        (no network, a refused or unusable tile), or None. ``"auto"`` falls back without warning."""
        return next((n for n in self.notes if n.startswith(BASEMAP_NOT_DRAWN)), None)

    @property
    def n_map_panels(self) -> int:
        return len(self.panels)

    def size_text(self) -> str:
        """The image's size as its format measures it: pixels for a PNG (``"3,300 x 2,250 px at
        300 dpi"``), millimetres and inches for a PDF (``"279 x 191 mm (11 x 7.5 in)"``), whose
        pages have no pixels."""
        if self.format == "pdf":
            w, h = self.size_in
            return f"{w * 25.4:,.0f} x {h * 25.4:,.0f} mm ({round(w, 2):g} x {round(h, 2):g} in)"
        return f"{self.size_px[0]:,} x {self.size_px[1]:,} px at {self.dpi:g} dpi"

    def to_pixel(self, x: Any, y: Any, panel: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Image pixel (column, row) of BNG point(s) in map panel ``panel``."""
        return self.panels[panel].to_pixel(x, y)


# =============================================================================== validation
#: Resolution limits of a briefing image, dots per inch, and its largest size in pixels.
DPI_RANGE = (20.0, 1200.0)
SIZE_RANGE_IN = (3.0, 60.0)
MAX_PIXELS = 200e6


def check_dpi(dpi: Any) -> float:
    """A briefing image's resolution, dots per inch: a number within :data:`DPI_RANGE` (checked on its own by
    ``hotspots analyse --no-images``, so that a later run with images is not the first to refuse it)."""
    return validation.number(dpi, "dpi", low=DPI_RANGE[0], high=DPI_RANGE[1], example="300")


def check_image_options(
    out_path: Any, dpi: Any, size_in: Any, *, new_folders: bool = True
) -> tuple[Path, str, float, tuple[float, float]]:
    """Check where and how large a briefing image is to be; ``(path, format, dpi, (width, height))``.

    The rules :func:`briefing_map` and :func:`briefing_before_after` apply, for callers that
    want to refuse bad options before computing anything (the command line). ``out_path`` must
    end in .png or .pdf (the format follows the suffix); ``dpi`` from 20 to 1,200; each side of
    ``size_in`` from 3 to 60 inches; at most 200 million pixels. ``new_folders=False`` also
    requires the image's folder to exist.
    """
    path = validation.output_file(out_path, "out_path", suffixes=(".png", ".pdf"), new_folders=new_folders)
    d = check_dpi(dpi)
    lo, hi = SIZE_RANGE_IN
    rule = f"(width, height) in inches, each from {lo:g} to {hi:g} (e.g. (11, 7.5))"
    try:
        w, h = size_in
    except (TypeError, ValueError):
        raise ParameterError(validation.problem("size_in", rule, size_in)) from None
    w = validation.number(w, "size_in", low=lo, high=hi)
    h = validation.number(h, "size_in", low=lo, high=hi)
    if w * h * d * d > MAX_PIXELS:
        raise ParameterError(
            f"a {w:g} x {h:g} in image at {d:g} dpi would have over {MAX_PIXELS / 1e6:,.0f} million pixels; lower "
            f"{validation.shown('dpi')} or {validation.shown('size_in')}."
        )
    return path, path.suffix.lower().lstrip("."), d, (w, h)


def _check_analysis(analysis: Any) -> None:
    if not all(hasattr(analysis, a) for a in ("grid", "density", "gi", "areas", "incidents")):
        raise ParameterError(f"`analysis` must be a hotspots.Analysis (from `hotspots.analyse`); got {type(analysis).__name__}.")


# =============================================================================== public: one map

#: How the note of a requested basemap that could not be fetched starts (:attr:`BriefingImage.basemap_warning`).
BASEMAP_NOT_DRAWN = "the requested basemap"


def _panel_basemap(ctx: Any, extent: Any, size_px: tuple[float, float], basemap: str, attribution: Any, timeout: Any) -> Any:
    """The basemap behind one map panel of ``size_px`` pixels; says in the footer notes how it was got."""
    bm, reason = fetch_basemap(
        extent,
        int(size_px[0]),
        int(size_px[1]),
        basemap=basemap,
        attribution=attribution,
        timeout=timeout,
        crs=ctx.analysis.grid.crs.to_epsg() or 27700,
    )
    if basemap != "none":
        ctx.notes.append(reason)
    if bm is None and basemap not in ("none", "auto") and not any(n.startswith(BASEMAP_NOT_DRAWN) for n in ctx.notes):
        # asked for by name or URL (not "auto", whose fallback is the point): say so, once
        ctx.notes.append(f"{BASEMAP_NOT_DRAWN} ({basemap}) could not be fetched, so the map has none: {reason}")
    return bm

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
    snap_m: float | None = None,
) -> BriefingImage:
    """Draw one briefing map of an analysis and save it as PNG or PDF.

    Parameters
    ----------
    analysis : Analysis
        From :func:`hotspots.analyse`.
    out_path : str or Path
        Ends in ``.png`` or ``.pdf`` (the format follows the suffix). Parent folders are created.
    layer : {"density", "gistar", "counts", "areas", "clusters", "change", "emerging", "scheme"}
        ``"density"``: kernel density (incidents per km²) with hotspot areas outlined;
        ``"gistar"``: Gi* hot/cold classes at 99/95/90 % confidence; ``"counts"``: incidents per
        cell; ``"areas"``: hotspot areas by peak confidence; ``"clusters"``: DBSCAN/HDBSCAN
        clusters; ``"change"``: before/after change class per cell; ``"emerging"``: each cell's
        emerging hot spot category over the data's months (:attr:`hotspots.analysis.Analysis.emerging`); ``"scheme"``: hotspot
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
    snap_m : float, optional
        Side of the referral squares of the analysis's GIS files: the counts shown come from the
        same protected publication (:func:`hotspots.publication.scheme_publication`). Default: the
        one the GIS export used.
    towns : bool
        Label gazetteer towns inside the study area, each beside the dot on its point (a town with no
        room beside its dot is left out, never named farther away; towns naming
        hotspot areas and large towns first, then by population; places the incidents do not show
        are left out: :func:`hotspots.export._layout.label_candidates`); ``max_towns`` caps how
        many are placed.
    display_cell_m : "auto", float or None
        Display lattice of density maps in metres (``None`` draws the analysis cells).
    source, attribution : str, optional
        Override the detected data source and licence line.

    Returns
    -------
    BriefingImage
    """
    if snap_m is not None and getattr(analysis, "referrals", None) is not None:
        from ..publication import scheme_publication

        scheme_publication(analysis, snap_m=snap_m)  # this square size is the one every output uses
    t0 = time.perf_counter()
    _check_analysis(analysis)
    path, fmt, dpi_f, (W, H) = check_image_options(out_path, dpi, size_in)
    validation.choice(layer, "layer", LAYERS)
    an = analysis
    src = data_source(an.incidents, source=source, attribution=attribution)
    scale = float(np.clip(min(W / 11.0, H / 7.5) if W >= H else min(W / 8.5, H / 11.0), 0.6, 1.8))
    fig = new_figure((W, H), dpi_f)
    ctx = DrawContext(an, fig, scale, area_union(an), src)

    margin = 0.3 * scale
    header_h = 0.35 + ctx.fs(15) / 72 * 1.3 + ctx.fs(9.5) / 72 * 1.3
    footer_h = footer_height(ctx, W, margin, basemap)
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
    extent = fit_extent(ctx.area_geom.bounds, mw, mh)
    ax = inch_axes(fig, mx, my, mw, mh)

    bm = _panel_basemap(ctx, extent, (mw * dpi_f, mh * dpi_f), basemap, basemap_attribution, basemap_timeout)
    prepare_map_axes(ctx, ax, extent, bm, basemap_muted)
    scale_bar(ctx, ax, extent)  # before the layer: its numbers keep clear of the scale bar, north arrow and large towns
    north_arrow(ctx, ax, extent)
    if towns:
        town_labels(ctx, ax, extent, max_towns=max_towns, first_only=True)
    info = draw_layer(ctx, ax, layer, display_cell_m, suppress)
    draw_outline(ctx, ax)
    if towns:
        town_labels(ctx, ax, extent, max_towns=max_towns)
        ctx.notes.append(f"{len(ctx.towns_placed[id(ax)])} town label(s) placed")

    names = {
        "density": "kernel density",
        "gistar": "Getis-Ord Gi* hot spots",
        "counts": "incidents per grid cell",
        "areas": "hotspot areas",
        "clusters": "point clusters",
        "change": f"change, {period_range_text(an.after)} vs {period_range_text(an.before)}",
        "emerging": "emerging hot spots, the trend over the months",
        "scheme": "immediate justice referrals and reparation sites",
    }
    subject = subject_text(an.incidents, named=3)
    ttl = title or f"{subject}: {names[layer]}"
    period = period_text or _period_of(an)
    # what the map draws: its point clusters on a clusters map, else the hotspot areas
    n_shown, what = (an.clusters.n_clusters, "point cluster") if layer == "clusters" else (an.areas.n_areas, "hotspot area")
    force = force_of(an)
    sub = "  ·  ".join(part for part in (  # undated incidents have no period: no empty part between dots
        force.name if force is not None else "", period, an.incidents_text(),
        f"{n_shown:,} {what}{'s' if n_shown != 1 else ''}") if part)
    header(ctx, (W, H), margin, ttl, sub)

    px, py, pw, ph = panel_rect
    if landscape:
        panel = SidePanel(ctx, px, py, pw, ph)
        legend_into(panel, info, an)
        extra = [n for n in ctx.notes if n.startswith("density drawn")] + ([info["method"]] if "method" in info else [])
        _table_and_method(panel, an, layer, info, suppress, method_text(an, "; ".join(extra)))
    else:
        left = SidePanel(ctx, px, py, pw * 0.45, ph)
        legend_into(left, info, an)
        right = SidePanel(ctx, px + pw * 0.5, py, pw * 0.5, ph)
        _table_and_method(right, an, layer, info, suppress, method_text(an, info.get("method", "")))
    if not suppress and an.linkage is not None:
        fig.text(
            1 - margin / W,
            1 - 0.2 / H,
            "NOT FOR PUBLICATION: unsuppressed counts",
            fontsize=ctx.fs(9),
            color=style.GI_CLASS_COLOURS["hot 99%"],
            fontweight="bold",
            ha="right",
            va="top",
            **PLAIN_TEXT,
        )
    footer(ctx, fig, (W, H), margin, bm.attribution if bm is not None else "")
    return _save(ctx, path, fmt, dpi_f, (W, H), layer, [(ttl, ax, extent)], bm, t0, ttl)


#: Fewest hotspot areas a briefing's side table starts with (it drops rows, down to one, before its method is cut).
MIN_TABLE_ROWS = 3


def _table_and_method(panel: SidePanel, an: Any, layer: str, info: dict[str, Any], suppress: bool, method: str) -> int:
    """Draw the hotspot table (or the clusters'), the scheme's reparation line and the method into ``panel``,
    under its legend, all above the panel's bottom (the footer).

    The table starts with as many rows as the panel's height suggests (at most 15) and loses one at
    a time until the notes and the method under it fit (a scheme map's disclosure statement and
    notes ran the method over the footer and off the image), down to one row; past that the
    method's last lines are cut with "…" (:meth:`SidePanel.para`). Returns the table rows drawn.
    """
    rows = max(MIN_TABLE_ROWS, min(15, int(max(0, (panel.remaining - 1.6 * panel.ctx.scale) / panel.line_h(6.8)) - 8)))
    start = panel.mark()
    while True:
        if layer == "clusters":  # the numbered clusters, not the hotspot areas the map does not show
            clusters_table_into(panel, info, an)
        else:
            areas_table_into(panel, an, suppress, rows)
        if layer == "scheme" and (rep := reparation_text(an, suppress)):
            panel.para(rep, size=6.3, gap=0.1)
        panel.heading("Method", size=8.5)
        panel.para(method, size=6.3, gap=0.0)
        fits = not panel.overflowed and panel.cursor <= panel.h + 1e-9
        # (down to one row: a portrait scheme page's disclosure statement and notes leave little room)
        if fits or layer == "clusters" or rows <= 1:
            return rows
        panel.rewind(start)
        rows -= 1


def _period_of(an: Any) -> str:
    s = an.settings
    if s.period:
        from ..analysis import parse_period

        return parse_period(s.period).describe()
    return period_text(an.incidents)


def _save(
    ctx: DrawContext,
    path: Path,
    fmt: str,
    dpi: float,
    size_in: tuple[float, float],
    layer: str,
    maps: list[tuple[str, Any, tuple[float, float, float, float]]],
    bm: Any,
    t0: float,
    title: str,
) -> BriefingImage:
    """Write the figure; ``title`` (the image's own, not a panel's) is the file's Title metadata."""
    from .. import __version__

    fig = ctx.fig
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        meta = {"Software": f"hotspots {__version__} (matplotlib)", "Title": title}
    else:
        meta = {"Creator": f"hotspots {__version__}", "Producer": "matplotlib", "CreationDate": None, "Title": title}
    fig.savefig(path, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
    Wpx, Hpx = int(round(size_in[0] * dpi)), int(round(size_in[1] * dpi))
    if fmt == "png":
        from PIL import Image

        with Image.open(path) as im:  # matplotlib truncates fractional pixels; use what was written
            Wpx, Hpx = im.size
    panels = []
    for title, ax, extent in maps:
        pos = ax.get_position()
        panels.append(
            MapPanel(title, tuple(float(v) for v in extent), (pos.x0 * Wpx, (1 - pos.y1) * Hpx, pos.x1 * Wpx, (1 - pos.y0) * Hpx))
        )
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
    fit_height: bool = True,
) -> BriefingImage:
    """Before and after maps side by side on one colour scale (plus the change classes).

    The two maps show the kernel density of each period (same kernel, bandwidth and display
    lattice) divided by the months the change test counted (30.44 days each; the same calendar
    months only when it compared them: :func:`hotspots.summaries.before_after_density`), in **incidents per km² per
    month**, so that periods of different lengths compare fairly; both use one colour scale. The
    optional third panel shows the change class of each analysis cell (the analysis's change
    test, alpha and FDR setting). The legend column carries the pooled change
    (:attr:`~hotspots.analysis.Analysis.change_summary`: all hotspot areas, elsewhere, hotspots
    vs elsewhere) when the analysis has one.

    Parameters
    ----------
    analysis : Analysis
        With before/after change computed (``analysis.change_cells`` not None).
    out_path : str or Path
        ``.png`` or ``.pdf``.
    show_change : bool
        Add the change panel (default True).
    incidents : GeoDataFrame, optional
        Incidents to split into the periods; default every incident the analysis was given
        (:attr:`~hotspots.analysis.Analysis.all_incidents`, before its ``period`` filter). The
        panels' counts and densities keep those the change test counted: in the study area's cells,
        without the months it left out as missing or published in part (named under the counts).
    title, dpi, size_in, basemap, basemap_attribution, basemap_timeout, basemap_muted, towns, max_towns,
    display_cell_m, source, attribution
        As for :func:`briefing_map` (default size 13⅓ × 7.5 in, a 16:9 slide).
    fit_height : bool
        Make the image shorter than ``size_in`` when the maps and the legend leave more than a
        tenth of its height blank above the footer (a compact force's three square maps in one
        row filled the top half of a 16:9 slide: City of London 2025); text sizes stay those of
        ``size_in``. False: exactly ``size_in``.

    Returns
    -------
    BriefingImage
        ``panels`` holds 2 or 3 map panels, left to right (before, after, change).
    """
    kw = dict(show_change=show_change, incidents=incidents, title=title, dpi=dpi, basemap=basemap,
              basemap_attribution=basemap_attribution, basemap_timeout=basemap_timeout, basemap_muted=basemap_muted,
              towns=towns, max_towns=max_towns, display_cell_m=display_cell_m, source=source, attribution=attribution)
    return _before_after(analysis, out_path, size_in=size_in, fit_height=fit_height, scale_size=None, **kw)


def _before_after(analysis: Any, out_path: str | Path, *, size_in: tuple[float, float], fit_height: bool,
                  scale_size: tuple[float, float] | None, method_below: bool | None = None, **kw: Any) -> BriefingImage:
    """:func:`briefing_before_after`, its text sized for ``scale_size`` (default ``size_in``); drawn
    again, shorter, when ``fit_height`` and the content leaves the bottom blank (the method text
    where the first drawing put it: ``method_below`` the maps or, False, in the legend column;
    None: under the maps when it fits there and the legend would run lower than the maps)."""
    show_change, incidents, title, dpi = kw["show_change"], kw["incidents"], kw["title"], kw["dpi"]
    basemap, basemap_attribution, basemap_timeout = kw["basemap"], kw["basemap_attribution"], kw["basemap_timeout"]
    basemap_muted, towns, max_towns, display_cell_m = kw["basemap_muted"], kw["towns"], kw["max_towns"], kw["display_cell_m"]
    source, attribution = kw["source"], kw["attribution"]
    from ..periods import filter_period
    from ..summaries import before_after_density

    t0 = time.perf_counter()
    _check_analysis(analysis)
    path, fmt, dpi_f, (W, H) = check_image_options(out_path, dpi, size_in)
    an = analysis
    if show_change and an.change_cells is None:
        raise ParameterError(
            "the analysis has no before/after change (see its notes); choose `before`/`after` periods that hold data, "
            "or pass `show_change=False`."
        )
    pts = incidents if incidents is not None else getattr(an, "all_incidents", None)
    pts = an.incidents if pts is None else pts
    before_p: Period = an.before
    after_p: Period = an.after
    inc_b = filter_period(pts, before_p)
    inc_a = filter_period(pts, after_p)
    if len(inc_b) == 0 or len(inc_a) == 0:
        raise ParameterError(
            f"no incidents in the {'before' if len(inc_b) == 0 else 'after'} period "
            f"({before_p.describe() if len(inc_b) == 0 else after_p.describe()}); "
            "choose periods covered by the data (`before=`/`after=` in Settings, `--before/--after` on the command line)."
        )
    src = data_source(an.incidents, source=source, attribution=attribution)
    SW, SH = scale_size or (W, H)
    scale = float(np.clip(min(SW / 13.33, SH / 7.5), 0.6, 1.8))
    fig = new_figure((W, H), dpi_f)
    ctx = DrawContext(an, fig, scale, area_union(an), src)

    n_panels = 3 if show_change else 2
    margin = 0.3 * scale
    header_h = 0.35 + ctx.fs(15) / 72 * 1.3 + ctx.fs(9.5) / 72 * 1.3
    footer_h = footer_height(ctx, W, margin, basemap)
    legend_w = float(np.clip(0.22 * W, 2.6, 3.6))
    # the months of each period the change left out (missing or published in part), under its panel's
    # counts, broken to the panel's width: first at a guess, then at the width the layout gives
    gone_text = [left_out_text(p, an.change_cells.left_out, counted=False) if an.change_cells is not None else ""
                 for p in (before_p, after_p)]
    gone = [textwrap.wrap(style.keep_units(t), 46) for t in gone_text]
    gap = 0.18 * scale
    avail_w = W - 2 * margin - legend_w - gap * n_panels
    bx0, by0, bx1, by1 = ctx.area_geom.bounds
    aspect = (bx1 - bx0) / (by1 - by0)
    for attempt in range(3):
        title_h = ctx.fs(8.5) / 72 * (2.9 + max(len(g) for g in gone))
        avail_h = H - header_h - footer_h - title_h
        if avail_w <= 1.5 or avail_h <= 1.5:
            raise ParameterError(f"`size_in` {size_in} leaves no room for {n_panels} maps; use at least about 10 x 6 inches.")
        cols, pw, ph = panel_grid(n_panels, aspect, avail_w + gap * (n_panels - 1), avail_h, gap, title_h)
        fitted = [wrap_to_width(fig, t, ctx.fs(8.5), (pw + gap * 0.8) * 0.97)[0] if t else [] for t in gone_text]
        if max(map(len, fitted)) == max(map(len, gone)):
            gone = fitted  # as many lines as the layout made room for
            break
        if attempt < 2:
            gone = fitted
    total = pw * cols + gap * (cols - 1)
    x_start = margin + (avail_w + gap * (n_panels - 1) - total) / 2
    # maps and legend start at the top: a wide force's maps are short, and a legend hung from the
    # top of maps centred in the height ran past the footer (Essex 2025)
    y_map = footer_h + avail_h - ph
    extent = fit_extent(ctx.area_geom.bounds, pw, ph)

    bm = _panel_basemap(ctx, extent, (pw * dpi_f, ph * dpi_f), basemap, basemap_attribution, basemap_timeout)
    dgrid = display_grid(an, display_cell_m, ctx.area_geom)
    grid = dgrid if dgrid is not None else an.grid
    ch = an.change_cells
    # Density per month: the one rule (hotspots.summaries.before_after_density), counting the
    # incidents and months the change test counted (the same calendar months when it compared them).
    with display_lattice_quiet(float(an.density.bandwidth_m), grid.cell_size):
        dens = before_after_density(
            pts,
            grid,
            ch if ch is not None else (before_p, after_p),
            bandwidth=float(an.density.bandwidth_m),
            kernel=an.density.kernel,
            quantile=100.0,
        )
    rate_b, rate_a = np.asarray(dens.before.values, dtype=float), np.asarray(dens.after.values, dtype=float)
    if dgrid is not None:
        ctx.notes.append(f"density drawn on a {dgrid.cell_size:g} m display lattice (same kernel and bandwidth as the analysis)")
    vmax = dens.scale.vmax
    norm = mcolors.PowerNorm(gamma=0.55, vmin=0.0, vmax=vmax)
    ctx.legend["scale"] = (DENSITY_CMAP, 0.0, vmax, "incidents per km² per month")

    areas = an.areas.areas
    maps = []
    # the change test's own totals and months: in the study area, without the months it left out
    titles = [
        f"Before: {period_range_text(before_p)}\n{per_day_text(dens.incidents_before, dens.days_before)}"
        + "".join("\n" + g for g in gone[0]),
        f"After: {period_range_text(after_p)}\n{per_day_text(dens.incidents_after, dens.days_after)}"
        + "".join("\n" + g for g in gone[1]),
    ]
    for i in range(n_panels):
        ctx.occupied = []
        row, col = divmod(i, cols)
        ax = inch_axes(fig, x_start + col * (pw + gap), y_map - row * (ph + title_h + gap), pw, ph)
        prepare_map_axes(ctx, ax, extent, bm, basemap_muted)
        if i < 2:
            grid_image(ctx, ax, grid, rgba_from_scale(rate_b if i == 0 else rate_a, DENSITY_CMAP, norm, clear_below=vmax * 0.01))
            panel_title = titles[i]
        else:
            classes = np.full(an.grid.shape, "", dtype=object)
            t = ch.table
            classes[t["row"].to_numpy(), t["col"].to_numpy()] = t["change_class"].astype(str).to_numpy(dtype=object)
            grid_image(ctx, ax, an.grid, rgba_from_classes(classes, CHANGE_COLOURS, 0.85))
            s = ch.summary()
            panel_title = (
                f"Change, after vs before ({ch.test_label})\ncells: {int(s.get('significant fall', 0)):,} fall, "
                f"{int(s.get('significant rise', 0)):,} rise"
            )
            if an.change_areas is not None:
                sa = an.change_areas.summary()
                panel_title += f"; areas: {int(sa.get('significant fall', 0))} fall, {int(sa.get('significant rise', 0))} rise"
            drawn = set(ch.table["change_class"].astype(str))
            if an.change_areas is not None:
                drawn |= set(an.change_areas.table["change_class"].astype(str))
            ctx.legend.update({CHANGE_LABELS[c]: CHANGE_COLOURS[c] for c in CHANGE_COLOURS if c in drawn})  # as the legend lists
        if i == 2:
            ring_change_outlines(ctx, ax, an)
            area_change_outlines(ctx, ax, an)
        else:
            area_outlines(ctx, ax, areas)
        if i == 0:  # before the numbers, which keep clear of them
            scale_bar(ctx, ax, extent)
        north_arrow(ctx, ax, extent)
        if towns:
            town_labels(ctx, ax, extent, max_towns=max_towns, first_only=True)
        area_markers(ctx, ax, areas)
        draw_outline(ctx, ax)
        if towns:
            town_labels(ctx, ax, extent, max_towns=max_towns)
        # never past the gap after the panel (into the next panel or "Legend")
        shown, size = fit_lines(fig, panel_title, ctx.fs(8.5), pw + gap * 0.8, min_scale=0.75)
        ax.set_title(shown, fontsize=size, color=INK, loc="left", pad=4, **PLAIN_TEXT)
        maps.append((panel_title.split("\n")[0], ax, extent))

    # Legend column right of the maps.
    lx = x_start + total + gap + 0.15 * scale
    leg_top = y_map + ph + title_h
    leg = SidePanel(ctx, lx, footer_h, W - lx - margin, leg_top - footer_h)
    leg.heading("Legend")
    leg.colourbar(DENSITY_CMAP, norm, "Kernel density, incidents per km² per month (same scale in both maps, 0 to the maximum)",
                  scale_ticks(vmax))
    n_areas = an.areas.n_areas
    if show_change:  # the classes drawn, only (a legend of absent classes reads as if they were there)
        cells_drawn = set(ch.table["change_class"].astype(str)) if ch is not None else set()
        leg.heading("Change per cell", size=8.0)
        for c in CHANGE_COLOURS:
            if c in cells_drawn:
                leg.patch(CHANGE_COLOURS[c], CHANGE_LABELS[c])
        if cells_drawn - set(CHANGE_COLOURS) or not cells_drawn:
            leg.patch("#ffffff", "Too few incidents to test")
        if caveat := caveated_cells_text(ch):  # the hotspot areas' cells: the areas' regression-to-the-mean caveat
            leg.para(f"{caveat[0].upper()}{caveat[1:]}.", size=6.5, colour=INK)
        areas_drawn = set(an.change_areas.table["change_class"].astype(str)) if an.change_areas is not None else set()
        if n_areas and areas_drawn:
            leg.heading("Change per hotspot area", size=8.0)
            for c, (colour, lw, label) in style.CHANGE_AREA_EDGES.items():
                if c in areas_drawn:
                    leg.patch("none", label.replace("Hotspot area: ", "").capitalize(), edge=colour, lw=lw)
            if areas_drawn - set(style.CHANGE_AREA_EDGES):
                leg.patch("none", "No significant change", edge=INK, lw=0.9)
        ring_legend(leg, an)
    leg.cursor += 0.08
    if n_areas:
        leg.patch("none", "Hotspot area (number = rank by incidents)", edge=INK, lw=1.3)
    leg.patch(OFFLINE_INSIDE, "Study area", edge=OUTLINE, lw=0.8)
    change_summary_into(leg, an)
    if ch is not None and an.change_areas is not None:
        leg.heading(f"Hotspot areas ({len(an.change_areas.table)})", size=8.0)
        text = an.change_areas.counts_text()  # every class that occurs: the counts add up to the areas
        leg.para(f"{text[0].upper()}{text[1:]}.", size=7.0, colour=INK)
    # without the change panel (`show_change=False`, `--no-change`) no cell's change is drawn: the method says so
    per_cell = f" per cell{_fdr_words(ch)} and" if show_change else ""
    method = (
        f"{an.caption()}. Hotspot areas: {an.areas.params['rule']}. Change: incidents per day in each period compared "
        f"by an {ch.test_label}{per_cell} per hotspot area"
        f"{_fdr_words(an.change_areas, ' (each area on its own)')}"
        f"{'; pooled change: ratio of the rate ratios for hotspots vs elsewhere' if an.change_summary is not None else ''}"
        f"{_rings_words(an)}; {per_day_note(ch.exposure_before_days, ch.exposure_after_days)}."
        f"{'' if show_change else ' The change per cell is not drawn.'}"
    ) if ch is not None else (  # only without the change panel: no change was computed, none is claimed
        f"{an.caption()}. Hotspot areas: {an.areas.params['rule']}. No before/after change was computed (see the notes)."
    )
    if dgrid is not None:
        method += f" Density drawn on a {dgrid.cell_size:g} m display lattice."
    # the method under the maps when it fits there and the legend column would run lower than the maps
    rows = -(-n_panels // cols)
    maps_bottom = y_map - (rows - 1) * (ph + title_h + gap)
    below_top = maps_bottom - 0.3 * scale

    def text_h(width: float) -> float:  # the method's heading and lines, wrapped as SidePanel.para wraps
        chars = max(20, int(width * 72.0 / (ctx.fs(6.3) * 0.53)))
        return leg.line_h(8.0) * 1.4 + len(textwrap.wrap(style.keep_units(method), chars)) * leg.line_h(6.3)

    under_w = 0.94 * total  # wrapping estimates glyphs a little narrow: the lines keep clear of the legend column
    method_h, legend_h = text_h(under_w), leg.cursor + text_h(leg.w)
    if method_below is None:
        method_below = method_h < below_top - footer_h - 0.1 and leg_top - legend_h < maps_bottom
    if method_below:
        box = SidePanel(ctx, x_start, footer_h + 0.05, under_w, below_top - footer_h - 0.05)
        box.heading("Method", size=8.0)
        box.para_fit(method, size=6.3, gap=0)  # smaller type rather than a cut sentence
        content_bottom = min(below_top - box.cursor, leg_top - leg.cursor)
    else:
        leg.heading("Method", size=8.0)
        leg.para_fit(method, size=6.3, gap=0)
        content_bottom = min(maps_bottom, leg_top - leg.cursor)
    # blank height between the lowest map or text line and the footer: drawn again without it
    blank = min(content_bottom - footer_h - 0.15 * scale, avail_h - 1.6, H - 3.0)  # room the layout needs stays
    if fit_height and blank > 0.1 * H:
        return _before_after(analysis, out_path, size_in=(W, H - blank), fit_height=False, scale_size=(SW, SH),
                             method_below=method_below, **kw)

    subject = subject_text(pts, named=3)
    ttl = title or f"{subject}: before and after"
    force = force_of(an)
    sub = (
        f"{force.name + '  ·  ' if force is not None else ''}{period_range_text(before_p)}  vs  {period_range_text(after_p)}"
        + (f"  ·  {scheme_start_text(an.settings.scheme_start, before_p, after_p)}" if an.settings.scheme_start else "")
    )
    header(ctx, (W, H), margin, ttl, sub)
    footer(ctx, fig, (W, H), margin, bm.attribution if bm is not None else "")
    return _save(ctx, path, fmt, dpi_f, (W, H), "before-after", maps, bm, t0, ttl)


def panel_grid(n: int, aspect: float, width: float, height: float, gap: float, title_h: float) -> tuple[int, float, float]:
    """``(columns, panel width, panel height)`` of ``n`` map panels of a study area ``aspect`` wide
    per unit of height, in one row or, when that makes them clearly larger, in more rows (a wide
    force such as Kent or Thames Valley in one row filled the top half of the image and left the
    rest blank).
    ``width`` and ``height`` are the room for the panels (inches, gaps included); ``gap`` is the
    space between panels and ``title_h`` the height of a panel's title above it."""
    best = (n, 0.0, 0.0)
    for rows in range(1, n + 1):
        cols = -(-n // rows)
        row_h = (height - (rows - 1) * (title_h + gap)) / rows
        pw = min((width - gap * (cols - 1)) / cols, row_h * aspect)
        if pw > best[1] * 1.05:  # another row only when it gains clearly
            best = (cols, pw, pw / aspect)
    return best


def _rings_words(an: Any) -> str:
    """The method text's words on the displacement rings (:attr:`hotspots.analysis.Analysis.displacement`), if any."""
    moved = getattr(an, "displacement", None)
    if moved is None or getattr(an, "change_summary", None) is None:
        return ""
    return f"; displacement: {moved.how} against the rest of the study area beyond the rings, ratio of the rate ratios"


def _fdr_words(result: Any, without: str = "") -> str:
    """The words " with FDR" when a change result (:class:`hotspots.change.ChangeResult`) was adjusted, else ``without``."""
    return " with FDR" if result is not None and result.fdr else without
