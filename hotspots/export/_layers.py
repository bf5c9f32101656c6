"""The layers of briefing maps: what :func:`~hotspots.export.briefing.briefing_map` draws for each.

:func:`draw_layer` draws one layer (density, counts, Gi* classes, hotspot areas, clusters,
change, scheme) on a map axes and returns what its legend needs; :func:`legend_into` and
:func:`areas_table_into` fill the side panel. Colours come from :mod:`hotspots.style`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import geopandas as gpd
import matplotlib
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.patches import PathPatch

from .. import style, validation
from .._errors import ParameterError
from ..displacement_rings import incidents_text
from ..emerging_summary import levels_estimated, short_series_caveat
from ..gistar import unreached_note
from ..grid import Grid
from ..periods import short_period_text
from ..publication import scheme_publication
from ..reparation import local_rule_text
from ..style import INK, OFFLINE_INSIDE, OUTLINE
from ..summaries import per_day_note
from ._common import area_summary, cluster_places, period_range_text
from ._layout import (
    DrawContext,
    area_change_outlines,
    area_markers,
    area_outlines,
    grid_image,
    ring_change_outlines,
    ring_legend,
    rings_path,
    scale_ticks,
)
from ._panel import SidePanel

#: Layers :func:`~hotspots.export.briefing.briefing_map` can draw.
LAYERS = ("density", "gistar", "counts", "areas", "clusters", "change", "emerging", "scheme")

#: Gi* class colours (:data:`hotspots.style.GI_CLASS_COLOURS`); "not significant" is left clear.
GI_COLOURS: dict[str, str] = dict(style.GI_CLASS_COLOURS)
GI_LABELS: dict[str, str] = dict(style.GI_CLASS_LABELS)
#: Change classes drawn (:data:`hotspots.style.CHANGE_CLASS_COLOURS`); "too few incidents" is left clear.
CHANGE_COLOURS: dict[str, str] = {
    c: style.CHANGE_CLASS_COLOURS[c] for c in ("significant fall", "no significant change", "significant rise")
}
CHANGE_LABELS: dict[str, str] = {c: style.CHANGE_CLASS_LABELS[c] for c in CHANGE_COLOURS}
#: Colour maps of densities and counts, and of referrals; one colour for task sites.
DENSITY_CMAP = style.DENSITY_CMAP
REFERRAL_CMAP = style.REFERRAL_CMAP
TASK_COLOUR = style.TASK_SITE_COLOUR


def display_grid(analysis: Any, display_cell_m: Any, area_geom: Any) -> Grid | None:
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
    return Grid.from_bounds((g.xmin, g.ymin, g.xmax - 1e-6, g.ymax - 1e-6), cs, g.crs,
                            mask=area_geom if g.mask is not None else None)


@contextmanager
def display_lattice_quiet(bandwidth: float, cell_size: float) -> Iterator[None]:
    """Silence :func:`hotspots.density.kde`'s warning that the bandwidth is under the cell size for
    the display lattice (``cell_size`` metres), finer than the analysis cells: the analysis has said
    so already of its own cells, in its notes (``--bandwidth 1`` printed a raw Python warning about
    the 125 m display lattice even with ``--quiet``)."""
    from ..density import bandwidth_under_cell_size

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=re.escape(bandwidth_under_cell_size(bandwidth, cell_size)),
                                category=UserWarning)
        yield


def density_values(analysis: Any, points: Any, grid: Grid | None) -> tuple[np.ndarray, Grid]:
    """Kernel density (incidents per km²) of ``points`` on ``grid`` with the analysis's kernel and bandwidth
    (the hotspot period's: ``analysis.density_points()``, the points its density was smoothed from)."""
    from ..density import kde

    d = analysis.density
    target = grid if grid is not None else analysis.grid
    if grid is None and points is analysis.density_points():
        return np.asarray(d.values, dtype=float), target
    if len(points) == 0:
        return np.where(target.active, 0.0, np.nan), target
    with display_lattice_quiet(float(d.bandwidth_m), target.cell_size):
        res = kde(points, target, bandwidth=float(d.bandwidth_m), kernel=d.kernel)
    return np.asarray(res.values, dtype=float), target


def rgba_from_scale(values: np.ndarray, cmap: str, norm: Any, clear_below: float) -> np.ndarray:
    rgba = matplotlib.colormaps[cmap](norm(np.nan_to_num(values, nan=0.0)))
    clear = ~np.isfinite(values) | (values <= clear_below)
    rgba[clear, 3] = 0.0
    rgba[~clear, 3] = 0.88
    return rgba


def rgba_from_classes(classes: np.ndarray, palette: dict[str, str], alpha: float = 0.9) -> np.ndarray:
    rgba = np.zeros(classes.shape + (4,), dtype=float)
    for label, colour in palette.items():
        sel = classes == label
        if sel.any():
            rgba[sel] = mcolors.to_rgba(colour, alpha)
    return rgba


def method_text(analysis: Any, extra: str = "") -> str:
    # the permutations are in the caption itself (the command line's method line is the same)
    text = f"{analysis.caption()}. Hotspot areas: {analysis.areas.how}, numbered by incidents."
    return text + (" " + extra[0].upper() + extra[1:] + "." if extra else "")


def _referral_labels(analysis: Any, suppress: bool) -> tuple[dict[int, str], str | None]:
    """``{area_id: referrals text}`` from the protected (the analysis's publication) or exact table."""
    link = analysis.linkage
    if link is None or not getattr(link, "has_areas", False):
        return {}, None
    table = scheme_publication(analysis).referrals_by_hotspot if suppress else link.per_hotspot
    out: dict[int, str] = {}
    other = None
    for key, v in zip(table["hotspot"].astype(str), table["referrals"]):
        text = str(v) if isinstance(v, str) else f"{int(v):,}"
        if key.isdigit():
            out[int(key)] = text
        elif key == "outside hotspots":
            other = text
    return out, other


def reparation_text(analysis: Any, suppress: bool) -> str | None:
    """The local-reparation share for the scheme briefing, as published (None without task sites).

    With ``suppress`` the figure is the publication's (:attr:`hotspots.publication.SchemePublication.referrals_summary`,
    row "All"): a hidden share stays its marker (``"x"``, ``"c"``) or bound (``">99"``), as in
    every other output; without, the exact share (for internal use).
    """
    link = getattr(analysis, "linkage", None)
    if link is None or not getattr(link, "has_tasks", False):
        return None
    rule = link.params.get("local_rule") or local_rule_text(link.near_m)
    if suppress:
        sd = scheme_publication(analysis).referrals_summary
        if sd is None:
            return None
        row = sd.set_index("where").iloc[-1]  # the total row
        share, base = row.get("local_pct"), row.get("reparation_completed")
    else:
        share, base = 100.0 * float(link.summary.get("share_local") or 0.0), link.summary.get("reparation_completed")
        share = f"{share:.0f}"
    share, base = str(share), str(base)
    shown = f"{share} %" if share.replace(".", "", 1).isdigit() or share[:1] in "<>" else f"{share} (hidden)"
    return f"Reparation local ({rule}): {shown} of the {base} counted."


def reachable_peaks(areas: Any) -> list[str]:
    """The peak confidences (``"99%"``, ``"95%"``, ``"90%"``, strongest first) hotspot areas can
    have: those at least the areas' minimum confidence (``params["min_confidence"]``: 95 % at
    alpha 0.05, so no area peaks at 90 %), and any an area has."""
    floor = float(areas.params.get("min_confidence", 0.0))
    present = set(areas.areas["peak_confidence"].astype(str)) if len(areas.areas) else set()
    return [c for c in style.HOT_CLASSES if float(c.rstrip("%")) / 100 >= floor - 1e-9 or c in present]


#: Smallest size a point cluster is drawn at on a briefing map, points (before scaling).
CLUSTER_MIN_PT = 5.0

#: How many point clusters a briefing map numbers (the largest; the side table lists the same ones).
CLUSTERS_NUMBERED = 10


def numbered_clusters(analysis: Any, max_n: int = CLUSTERS_NUMBERED) -> Any:
    """The point clusters a clusters map numbers: the ``max_n`` with most incidents (ties by id),
    exactly one label each, with ``cluster`` (the id drawn, as in the GIS files' clusters layer),
    ``n_points``, ``place`` (:func:`~hotspots.export._common.cluster_places`, as in the GIS files) and the polygon."""
    polys = analysis.clusters.polygons.sort_values(["rank", "cluster"], kind="stable").head(int(max_n))
    polys = polys.reset_index(drop=True)
    polys["place"] = cluster_places(polys, analysis)
    return polys


# =============================================================================== layers
def task_site_label(xy: Any, extent: tuple[float, float, float, float]) -> str:
    """The legend's entry for task sites: how many, and how many of them lie off the map drawn.

    Cleveland's briefing said "Reparative task site (9)" with 8 drawn (CL09 lay off the map).

    Parameters
    ----------
    xy : ndarray of shape (n, 2)
        The sites, metres in the map's CRS.
    extent : tuple (xmin, xmax, ymin, ymax)
        The map's extent, metres.

    Examples
    --------
    >>> task_site_label(np.array([[0.0, 0.0], [5.0, 5.0], [50.0, 0.0]]), (-10, 10, -10, 10))
    'Reparative task site (3, 1 outside the map)'
    >>> task_site_label(np.array([[0.0, 0.0]]), (-10, 10, -10, 10))
    'Reparative task site (1)'
    """
    p = np.asarray(xy, dtype=float).reshape(-1, 2)
    xmin, xmax, ymin, ymax = extent
    on = (p[:, 0] >= xmin) & (p[:, 0] <= xmax) & (p[:, 1] >= ymin) & (p[:, 1] <= ymax)
    off = int((~on).sum())
    return f"Reparative task site ({len(p):,}" + (f", {off:,} outside the map)" if off else ")")


def draw_layer(ctx: DrawContext, ax: Any, layer: str, display_cell_m: Any, suppress: bool) -> dict[str, Any]:
    """Draw ``layer`` on ``ax``; returns what the legend needs."""
    an = ctx.analysis
    areas = an.areas.areas
    info: dict[str, Any] = {"kind": layer}
    if layer == "density":
        dgrid = display_grid(an, display_cell_m, ctx.area_geom)
        values, grid = density_values(an, an.density_points(), dgrid)
        if dgrid is not None:
            ctx.notes.append(
                f"density drawn on a {dgrid.cell_size:g} m display lattice (same kernel and bandwidth as the analysis)"
            )
        vmax = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
        vmax = vmax if vmax > 0 else 1.0
        norm = mcolors.PowerNorm(gamma=0.55, vmin=0.0, vmax=vmax)
        grid_image(ctx, ax, grid, rgba_from_scale(values, DENSITY_CMAP, norm, clear_below=vmax * 0.01))
        area_outlines(ctx, ax, areas)
        area_markers(ctx, ax, areas)
        info.update(norm=norm, cmap=DENSITY_CMAP, units="incidents per km²", vmax=vmax)
        ctx.legend["scale"] = (DENSITY_CMAP, 0.0, vmax, "incidents per km²")
    elif layer == "counts":
        values = np.asarray(an.counts.values, dtype=float)
        vmax = max(float(np.nanmax(values)) if np.isfinite(values).any() else 1.0, 1.0)
        norm = mcolors.PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax)
        grid_image(ctx, ax, an.grid, rgba_from_scale(values, DENSITY_CMAP, norm, clear_below=0.0))
        area_outlines(ctx, ax, areas)
        area_markers(ctx, ax, areas)
        info.update(norm=norm, cmap=DENSITY_CMAP, units=f"incidents per {an.grid.cell_size:g} m cell", vmax=vmax)
        ctx.legend["scale"] = (DENSITY_CMAP, 0.0, vmax, info["units"])
    elif layer == "gistar":
        classes = np.asarray(an.gi.classes)
        grid_image(ctx, ax, an.grid, rgba_from_classes(classes, GI_COLOURS, 0.9))
        area_outlines(ctx, ax, areas)
        area_markers(ctx, ax, areas)
        present = [c for c in GI_COLOURS if (classes == c).any()]
        # hot classes the method can reach (gistar's "Classes offered"): 99 permutations with FDR reach none
        offered = {f"{c:.0%}" for c in an.gi.params.get("classes_offered", (0.99, 0.95, 0.90))}
        reachable = {style.HOT_CLASSES[k] for k in offered if k in style.HOT_CLASSES}
        info["classes"] = [(GI_COLOURS[c], GI_LABELS[c]) for c in GI_COLOURS if c in reachable or c in present]
        info["classes"].append(("#ffffff", "Not significant"))
        ctx.legend.update({GI_LABELS[c]: GI_COLOURS[c] for c in GI_COLOURS})
    elif layer == "areas":
        levels = reachable_peaks(an.areas)
        for conf in levels:
            colour = GI_COLOURS[style.HOT_CLASSES[conf]]
            sel = areas[areas["peak_confidence"].astype(str) == conf]
            for geom in sel.geometry:
                ax.add_patch(PathPatch(rings_path(geom), facecolor=mcolors.to_rgba(colour, 0.75), edgecolor=INK,
                                       linewidth=0.8 * ctx.scale, zorder=5))
        area_markers(ctx, ax, areas)
        info["classes"] = [(GI_COLOURS[style.HOT_CLASSES[c]], f"Hotspot area, peak {c} confidence") for c in levels]
        ctx.legend.update({lab: c for c, lab in info["classes"]})
    elif layer == "clusters":
        cl = an.clusters
        if cl is None:
            raise ParameterError(
                f"{validation.setting('layer', 'clusters')} needs clusters; run the analysis with "
                f"{validation.shown('cluster_method')} 'dbscan' or 'hdbscan'."
            )
        polys = cl.polygons.sort_values("rank", kind="stable")
        # a cluster a few hundred metres across is a speck on a force's map: each is drawn at least
        # CLUSTER_MIN_PT points across (a dot in the cluster's colour), its outline in its edge colour
        bb = ax.get_window_extent()
        xmin, xmax = ax.get_xlim()
        m_per_pt = (xmax - xmin) / max(bb.width, 1.0) * ctx.fig.dpi / 72.0
        for geom in polys.geometry:
            ax.add_patch(PathPatch(rings_path(geom), facecolor=mcolors.to_rgba(style.CLUSTER_COLOUR, 0.75),
                                   edgecolor=style.CLUSTER_EDGE_COLOUR, linewidth=0.9 * ctx.scale, zorder=5))
            gx0, gy0, gx1, gy1 = geom.bounds
            if max(gx1 - gx0, gy1 - gy0) < ctx.fs(CLUSTER_MIN_PT) * m_per_pt:
                p = geom.representative_point()
                ax.plot([p.x], [p.y], marker="o", markersize=ctx.fs(CLUSTER_MIN_PT), color=style.CLUSTER_COLOUR,
                        markeredgecolor=style.CLUSTER_EDGE_COLOUR, markeredgewidth=0.8 * ctx.scale, linestyle="none",
                        zorder=5)
        numbered = numbered_clusters(an)
        # numbered as hotspot areas are: beside each with a leader line, clear of each other and the furniture
        marks = gpd.GeoDataFrame({"area_id": numbered["cluster"].astype(int).to_numpy(),
                                  "rank": np.arange(1, len(numbered) + 1)}, geometry=numbered.geometry.values,
                                 crs=numbered.crs)
        area_markers(ctx, ax, marks, max_n=len(marks))
        method = str(cl.params.get("method", an.settings.cluster_method)).upper()
        which = "numbered" if len(numbered) == len(polys) else f"the {len(numbered)} largest numbered"
        info["classes"] = [(style.CLUSTER_COLOUR, f"{method} cluster of incidents ({len(polys):,}; {which})")]
        info["clusters"] = numbered
        ctx.legend.update({lab: c for c, lab in info["classes"]})
    elif layer == "change":
        ch = an.change_cells
        if ch is None:
            from ..pipeline import change_missing_reason

            why = change_missing_reason(an.notes)  # the analysis's own reason, as `analyse` states it
            raise ParameterError(
                f"{validation.setting('layer', 'change')} needs before/after change, which was not computed: {why}" if why else
                f"{validation.setting('layer', 'change')} needs before/after change; give {validation.shown('before')}/"
                f"{validation.shown('after')} periods that hold data."
            )
        classes = np.full(an.grid.shape, "", dtype=object)
        t = ch.table
        classes[t["row"].to_numpy(), t["col"].to_numpy()] = t["change_class"].astype(str).to_numpy(dtype=object)
        grid_image(ctx, ax, an.grid, rgba_from_classes(classes, CHANGE_COLOURS, 0.85))
        info["rings"] = ring_change_outlines(ctx, ax, an)
        area_change_outlines(ctx, ax, an)
        area_markers(ctx, ax, areas)
        info["classes"] = [(CHANGE_COLOURS[c], CHANGE_LABELS[c] + " (cell)") for c in CHANGE_COLOURS]
        info["classes"].append(("#ffffff", "Too few incidents to test (cell)"))
        info["edges"] = [(c, lw, lab) for c, lw,
                         lab in style.CHANGE_AREA_EDGES.values()] + [(INK, 0.9, "Hotspot area: no significant change")]
        ctx.legend.update({CHANGE_LABELS[c]: CHANGE_COLOURS[c] for c in CHANGE_COLOURS})
    elif layer == "emerging":
        trends = getattr(an, "emerging", None)
        if trends is None:
            raise ParameterError(
                f"{validation.setting('layer', 'emerging')} needs emerging hot spots, which need at least 10 months of data."
            )
        labels = np.asarray(trends.labels)
        grid_image(ctx, ax, trends.grid, rgba_from_classes(labels, style.EMERGING_COLOURS, 0.85))
        area_outlines(ctx, ax, areas)
        area_markers(ctx, ax, areas)
        present = [c for c in style.EMERGING_COLOURS if (labels == c).any()]
        info["classes"] = [(style.EMERGING_COLOURS[c], c[0].upper() + c[1:]) for c in present]
        info["classes"].append(("#ffffff", "No pattern detected"))
        ctx.legend.update({lab: c for c, lab in info["classes"]})
        levels = " and for places' year-to-year variation" if levels_estimated(trends) else ""
        info["method"] = (
            f"emerging hot spots: each cell's space-time Gi* over {trends.n_steps} months, each month judged by the exact "
            f"count test with FDR; the Mann-Kendall trend of its z-scores, allowing for the months neighbouring bins "
            f"share{levels}; ArcGIS Pro's categories"
        )
        short = short_series_caveat(trends)  # the app's caveat, the one text
        if short:
            info["method"] += f". Trends: {short}"
    elif layer == "scheme":
        link = an.linkage
        if link is None:
            raise ParameterError(
                f"{validation.setting('layer', 'scheme')} needs referrals; run the analysis with "
                f"{validation.shown('referrals')} (and {validation.shown('tasks')})."
            )
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
            ax.add_patch(PathPatch(rings_path(geom), facecolor=fc, edgecolor=INK, hatch=hatch,
                                   linewidth=0.8 * ctx.scale, zorder=5, alpha=0.85))
        area_markers(ctx, ax, areas)
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
            (style.SUPPRESSED_COLOUR, f"Hotspot area: referrals suppressed (<{an.settings.threshold} or to protect others)"),
        ]
        if tasks is not None and len(tasks):
            x0, x1 = sorted(ax.get_xlim())
            y0, y1 = sorted(ax.get_ylim())
            info["task_marker"] = (TASK_COLOUR, task_site_label(np.column_stack([tx, ty]), (x0, x1, y0, y1)))
        ctx.legend.update({lab: c for c, lab in info["classes"]})
        if "task_marker" in info:
            ctx.legend[info["task_marker"][1]] = TASK_COLOUR
    else:  # pragma: no cover - validated before
        raise ParameterError(f"unknown layer {layer!r}")
    return info


def legend_into(panel: SidePanel, info: dict[str, Any], analysis: Any) -> None:
    panel.heading("Legend")
    if "norm" in info:
        ticks = scale_ticks(info["vmax"])
        # the rule of the scale, said: the app's map tops its colours at a percentile (hotspots.maps.scale_rule)
        default = f"Kernel density, {info['units']} (0 to the maximum)" if info["kind"] == "density" else "Incidents per cell"
        label = info.get("scale_label") or default
        if info["kind"] == "counts":
            label = f"Incidents per {analysis.grid.cell_size:g} m cell"
        panel.colourbar(info["cmap"], info["norm"], label, ticks)
    for colour, label in info.get("classes", []):
        panel.patch(colour, label, hatch="////" if "suppressed" in label else None)
    if "task_marker" in info:
        panel.patch(info["task_marker"][0], info["task_marker"][1], marker="^")
    for colour, lw, label in info.get("edges", []):
        panel.patch("none", label, edge=colour, lw=lw)
    if info.get("rings"):
        ring_legend(panel, analysis)
    if info["kind"] in ("density", "counts", "gistar", "emerging"):
        panel.patch("none", "Hotspot area (number = rank by incidents)", edge=INK, lw=1.3)
    panel.patch(OFFLINE_INSIDE, "Study area", edge=OUTLINE, lw=0.8)


def change_summary_into(panel: SidePanel, analysis: Any) -> bool:
    """The pooled change (:attr:`hotspots.analysis.Analysis.change_summary`) as a text block:
    per scope, its verdict and its rate ratio, interval and p-value, then the rings around the
    hotspot areas against the rest beyond them when computed
    (:attr:`~hotspots.analysis.Analysis.displacement`). False (nothing drawn) without the pooled change."""
    summ = getattr(analysis, "change_summary", None)
    if summ is None:
        return False
    panel.heading("Pooled change, after / before", size=8.0)
    moved = getattr(analysis, "displacement", None)
    # a change the choice of hotspot months predicts (its verdict says so) is ink, not a finding's colour
    rows = [(f"{r.scope}: {r.verdict}", r, INK if r.caveated else style.CHANGE_CLASS_COLOURS.get(r.verdict, INK), "")
            for r in summ.rows]
    if moved is not None:  # the displacement question: did the streets around the hotspots change more than the rest?
        label, verdict, kind = moved.row_text()
        # coloured as what it is read as: red displacement, blue diffusion of benefit; a ring that
        # changed while the hotspot areas did not fall is neither (ink)
        colour = {"displacement": style.CHANGE_CLASS_COLOURS.get("significant rise", INK),
                  "diffusion of benefit": style.CHANGE_CLASS_COLOURS.get("significant fall", INK)}.get(kind, INK)
        # the rings' incidents counted before and after, beside the estimate that rests on them
        rows.append((f"{label}: {verdict}", moved.summary.rows[1], colour, f"; rings' {incidents_text(moved.summary.rows[0])}"))
    for text, r, colour, counted in rows:
        panel.para(text, size=7.0, colour=INK if r.verdict == "no significant change" else colour, gap=0)
        panel.para(r.figures(1 - summ.alpha) + counted, size=6.5, gap=0.15)
    for caveat in summ.caveats():  # what the console's notes say qualifies the verdicts (the season not separated)
        panel.para(caveat, size=6.3, colour=INK, gap=0.15)
    return True


def clusters_table_into(panel: SidePanel, info: dict[str, Any], analysis: Any) -> None:
    """The side table of a clusters map: the numbered clusters (:func:`numbered_clusters`), their
    numbers as drawn, so that the table and the labels name the same things."""
    numbered = info["clusters"]
    n_all = analysis.clusters.n_clusters
    if len(numbered) == 0:
        panel.heading("Point clusters")
        panel.para("No clusters at these settings.", colour=INK)
        return
    panel.heading(f"Point clusters ({len(numbered)} largest of {n_all:,})" if len(numbered) < n_all else
                  f"Point clusters ({n_all:,})")
    rows = [[str(int(c)), str(p), f"{int(n):,}"] for c, p, n in zip(numbered["cluster"], numbered["place"], numbered["n_points"])]
    panel.table(["#", "Near", "Incidents"], rows, [0.45, 2.3, 1.1], align=["left", "left", "right"], flex=1)
    panel.para("Numbers are the clusters' ids, as in the GIS files' clusters layer (not the hotspot areas' numbers). "
               f"Hotspot areas ({analysis.areas.n_areas:,}) are on the other maps.", size=6.3, gap=0.1)


def areas_table_into(panel: SidePanel, analysis: Any, suppress: bool, max_rows: int) -> None:
    summ = area_summary(analysis)
    if len(summ) == 0:
        panel.heading("Hotspot areas")
        need = float(analysis.areas.params.get("min_confidence", 0.95))
        why = unreached_note(analysis.gi, need)  # the console's note: "no hot spots" read as "none exist"
        text = ("No significant hot spots at the chosen confidence." if why is None else
                f"No hotspot areas: none can be found at {need:.0%} confidence. {why[0].upper()}{why[1:]}.".replace("`", ""))
        panel.para(text, colour=INK)
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
            row.append(style.change_text(r["change_pct"], r["change_class"]))
        if labels:
            row.append(labels.get(int(r["area_id"]), "0"))
        rows.append(row)
    panel.table(header, rows, widths, align=align, flex=1)  # the place gets what the numbers leave
    notes = []
    if len(summ) > max_rows:
        notes.append(f"{len(summ) - max_rows} more area(s) in the exported tables.")
    if has_change:
        s = analysis.settings
        ca = analysis.change_areas
        test = ca.test_label if ca is not None else "change test"
        fdr = ca is not None and ca.fdr  # the rule the areas' test used
        # periods of the same months differ in days (Jan-Jun 181, Jul-Dec 184): the days, said once
        days = ", per day" if ca is None else f"; {per_day_note(ca.exposure_before_days, ca.exposure_after_days)}"
        # the months the change left out (missing or published in part), as the before/after image says them
        tested = ca if ca is not None else getattr(analysis, "change_cells", None)
        after, before = (
            (tested.period_text("after"), tested.period_text("before")) if tested is not None
            else (period_range_text(analysis.after), period_range_text(analysis.before))
        )
        notes.append(
            f"Change: {after} vs {before}{days}; "
            "↓/↑ significant "
            f"fall/rise ({test}, alpha {s.alpha:g}{', FDR' if fdr else ', each area on its own'})."
        )
        # what qualifies these changes, as the console warns (a period under 3 months, the season not separated)
        summ_change = getattr(analysis, "change_summary", None)
        if summ_change is not None:
            notes += summ_change.caveats()
        elif analysis.before is not None and analysis.after is not None and short_period_text(analysis.before, analysis.after):
            notes.append(short_period_text(analysis.before, analysis.after))
    if labels:
        txt = "Referrals: by where the behaviour happened" + (f"; {other} from outside hotspots." if other else ".")
        if suppress:
            txt += " " + scheme_publication(analysis).statement
        else:
            txt += " UNSUPPRESSED COUNTS: NOT FOR PUBLICATION."
        notes.append(txt)
    for n in notes:
        panel.para(n, size=6.3, gap=0.1)
