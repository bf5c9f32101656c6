"""Did harm move next door? The rings around the hotspot areas, before and after.

Hotspot policing can push ASB round the corner (displacement) or calm the streets next to the
patrolled ones too (diffusion of benefit; Bowers & Johnson 2003, Guerette 2009). The usual design
compares three areas: the treated hotspots, a ring around them where displaced harm would land,
and a control beyond the ring. :func:`ring_areas` draws the rings on the analysis grid: each cell
outside the hotspot areas (inside the study area) whose centre lies within ``width_m`` of a hotspot
area cell's centre belongs to the ring of the nearest area (never thinner than the touching cells,
diagonals included). :func:`displacement_change` then answers with the same variance model as the
pooled change (:mod:`hotspots.change_summary`):

* ``"rings around hotspot areas"`` — the rings' change pooled over the rings (each ring's log rate
  ratio weighted by its precision, a random-effects meta-analysis, as "all hotspot areas"), their
  between-period variance (tau2) estimated from the rings themselves by
  :func:`hotspots.change.change_areas` (or borrowed from the cells), and the month-to-month shocks
  shared by the whole study area;
* ``"rings vs beyond"`` — that change against the rest of the study area beyond the rings (the
  ratio of the two rate ratios, difference in differences on the log scale; shared shocks cancel).
  A significant rise says harm may have moved next door; a significant fall, that the benefit may
  have spread there.

Beside them, the Weighted Displacement Quotient of the three areas' totals
(:func:`hotspots.displacement.wdq`), the measure analysts know, which has no test of its own.

Why not a ring of cells pooled cell by cell: a ring holds the edges of its hotspot, which rise and
fall with it from year to year; cells' own between-period variance (mostly quiet background)
would take those swings for change. Each ring is one unit here, as each hotspot area is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import ndimage

from . import validation
from ._errors import ParameterError
from .areas import HotspotAreas, area_polygons, as_multipolygons
from .change import ChangeResult
from .change_summary import ChangeSummary, study_shocks, units_against_rest
from .displacement import WDQResult, wdq

__all__ = ["RING_SCOPES", "DEFAULT_RING_M", "Displacement", "ring_areas", "displacement_change", "no_ring_text"]

#: Row names of :attr:`Displacement.summary`, in order.
RING_SCOPES = ("rings around hotspot areas", "rings vs beyond")
#: Default ring width, metres: a few streets (published displacement studies use catchment rings
#: of about 200-500 m around the treated places).
DEFAULT_RING_M = 500.0


@dataclass(frozen=True)
class Displacement:
    """The rings around the hotspot areas and their change (module docs).

    Attributes
    ----------
    summary : ChangeSummary
        Two rows, :data:`RING_SCOPES`, with the columns of the pooled change
        (:data:`hotspots.change_summary.SUMMARY_COLUMNS`).
    rings : HotspotAreas
        The rings as areas on the analysis grid (``area_id`` 1..n; ``around_area``: the hotspot
        area each surrounds).
    ring_change : ChangeResult
        Each ring's own change (:func:`hotspots.change.change_areas`).
    wdq : WDQResult or None
        Weighted Displacement Quotient of the totals: hotspot areas (target), rings (buffer), the
        rest beyond the rings (control); None when the rest holds no incident in a period.
    width_m : float
        The rings' width, metres (:func:`ring_areas`).
    params : dict
        ``width_m``, ``n_rings``, ``ring_cells``, ``beyond_cells`` and ``counts`` (before, after) of
        the hotspot areas, the rings and the rest beyond them.
    """

    summary: ChangeSummary
    rings: HotspotAreas
    ring_change: ChangeResult
    wdq: WDQResult | None
    width_m: float
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def how(self) -> str:
        """How the rings were drawn, for captions and the method text (e.g. ``"the cells within
        500 m of each hotspot area (its ring)"``)."""
        return f"the cells within {self.width_m:,g} m of each hotspot area (its ring)"

    def to_frame(self, *, extended: bool = False):
        """The two rows (``csv/displacement.csv``): the pooled change's columns."""
        return self.summary.to_frame(extended=extended)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Each ring with ``around_area`` and its own change (the columns of
        :meth:`hotspots.change.ChangeResult.to_geodataframe`), every ring a MultiPolygon: a ring
        is often in pieces, and a GeoPackage stores a layer that mixes the two as MultiPolygons."""
        rings = self.ring_change.to_geodataframe()
        rings.insert(1, "around_area", self.rings.areas["around_area"].to_numpy())
        return as_multipolygons(rings)

    def by_area(self) -> pd.DataFrame:
        """Each hotspot area's ring: ``area_id`` (the area it surrounds), ``ring_rate_ratio`` (the
        ring's change as judged: placebo-adjusted when the rings were,
        :meth:`hotspots.change.ChangeResult.judged_rate_ratio`) and ``ring_change_class``; one row
        per ring (an area with no ring, e.g. one filling its surroundings, has none)."""
        t = self.ring_change.table
        return pd.DataFrame({
            "area_id": self.rings.areas["around_area"].to_numpy(dtype=np.int64),
            "ring_rate_ratio": self.ring_change.judged_rate_ratio().to_numpy(dtype=float),
            "ring_change_class": t["change_class"].astype(object).to_numpy(),
        })

    def area_columns(self, area_ids: Any) -> dict[str, np.ndarray]:
        """The ring columns of a table of hotspot areas (one rule for ``csv/hotspot_areas.csv``,
        the GIS layer and the app's change table), in the order of ``area_ids``:
        ``ring_change_pct`` (the ring's change as judged, in %, :func:`hotspots.style.percent_change`)
        and ``ring_change_class``; NaN / None for an area with no ring."""
        from .style import percent_change

        ring = self.by_area().set_index("area_id")
        ids = np.asarray(area_ids)
        return {
            "ring_change_pct": percent_change(ring["ring_rate_ratio"].reindex(ids).to_numpy(dtype=float)),
            "ring_change_class": ring["ring_change_class"].reindex(ids).astype(object).to_numpy(),
        }

    def lines(self) -> list[str]:
        """One line per row, as :meth:`hotspots.change_summary.ChangeSummary.lines`."""
        return self.summary.lines()

    def describe(self) -> str:
        """What the comparison says, in plain words (for the command line, the app and captions),
        followed by the hotspot areas that have no ring and why (:func:`no_ring_text`)."""
        missing = no_ring_text(self.rings)
        return self._verdict() + (f"; {missing}" if missing else "")

    def _verdict(self) -> str:
        vs = self.summary.rows[1]
        if not np.isfinite(vs.rate_ratio):
            return "no incidents in the rings around the hotspot areas in either period: displacement cannot be judged"
        pct = abs(vs.rate_ratio - 1) * 100
        ring = f"the {self.width_m:,g} m rings around the hotspot areas"
        if vs.verdict == "significant rise":
            return (
                f"{ring} rose {pct:.0f}% more than the rest of the study area beyond them: harm may have moved next door "
                "(displacement)"
            )
        if vs.verdict == "significant fall":
            return (
                f"{ring} fell {pct:.0f}% more than the rest of the study area beyond them: the benefit may have spread "
                "next door (diffusion of benefit)"
            )
        rise = float(np.expm1(-np.log1p(-vs.mde_fall))) if np.isfinite(vs.mde_fall) and vs.mde_fall < 1 else float("nan")
        could = f"; a rise of {rise:.0%} or more relative to beyond would likely have been detected" if np.isfinite(rise) else ""
        own = self.summary.rows[0]  # the rings' own change: a rise shared with the rest is not displacement
        if own.verdict in ("significant rise", "significant fall") and np.isfinite(own.rate_ratio):
            went = "rose" if own.verdict == "significant rise" else "fell"
            return (f"{ring} {went} {abs(own.rate_ratio - 1) * 100:.0f}%, no differently from the rest of the study area "
                    f"beyond them: no sign of displacement{could}")
        return f"{ring} changed no differently from the rest of the study area beyond them: no sign of displacement{could}"


def ring_areas(areas: HotspotAreas, width_m: float = DEFAULT_RING_M) -> HotspotAreas:
    """The ring of cells around each hotspot area (module docs).

    Parameters
    ----------
    areas : HotspotAreas
        Hotspot areas on their grid (:func:`hotspots.areas.hotspot_areas`).
    width_m : float
        Metres from the centre of a hotspot area's cell to the centre of a ring cell; at least the
        cell's diagonal, so a ring is never thinner than the touching cells.

    Returns
    -------
    HotspotAreas
        One ring per hotspot area that has cells around it in the study area (``area_id`` 1..n,
        ``around_area`` the hotspot area's id, ``n_cells``); ``labels`` the ring id of each cell;
        ``params["no_ring"]``: each area without a ring, with the reason (:func:`no_ring_text`).
    """
    if not isinstance(areas, HotspotAreas):
        raise ParameterError(f"`areas` must be HotspotAreas (from `hotspot_areas`); got {type(areas).__name__}.")
    w = validation.distance(width_m, "width_m")
    grid = areas.grid
    lab = np.asarray(areas.labels)
    reach = max(w, grid.cell_size * np.sqrt(2.0)) + 1e-6 * grid.cell_size
    rings = np.zeros(lab.shape, dtype=np.int32)
    if (lab > 0).any():
        dist, (ir, ic) = ndimage.distance_transform_edt(lab == 0, sampling=grid.cell_size, return_indices=True)
        ring = (lab == 0) & (dist <= reach)
        if grid.mask is not None:
            ring &= np.asarray(grid.mask, dtype=bool)
        rings = np.where(ring, lab[ir, ic], 0).astype(np.int32)
    around = np.unique(rings[rings > 0])
    # ring ids 1..n in the order of the areas they surround
    renum = np.zeros(int(lab.max(initial=0)) + 1, dtype=np.int32)
    renum[around] = np.arange(1, around.size + 1, dtype=np.int32)
    labels = renum[rings]
    n = int(around.size)
    n_cells = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    geoms = area_polygons(labels, n, grid) if n else []
    table = gpd.GeoDataFrame(
        {
            "area_id": np.arange(1, n + 1, dtype=np.int64),
            "around_area": around.astype(np.int64),
            "n_cells": n_cells.astype(np.int64),
        },
        geometry=list(geoms),
        crs=grid.crs,
    )
    params = {"kind": "ring", "width_m": float(w), "reach_m": float(reach), "n_areas": n, "around": "hotspot areas",
              "no_ring": _without_ring(lab, around, reach, grid)}
    return HotspotAreas(table, labels, grid, params)


def _without_ring(lab: np.ndarray, around: np.ndarray, reach: float, grid: Any) -> dict[int, str]:
    """Why each hotspot area without a ring has none (area id → reason), for :func:`no_ring_text`."""
    missing = np.setdiff1d(np.unique(lab[lab > 0]), around)
    free = lab == 0
    if grid.mask is not None:
        free &= np.asarray(grid.mask, dtype=bool)
    out: dict[int, str] = {}
    for k in missing.tolist():
        near = ndimage.distance_transform_edt(lab != k, sampling=grid.cell_size) <= reach
        n = int((near & free).sum())
        out[int(k)] = (
            "every cell within reach is another hotspot area or outside the study area" if n == 0 else
            f"the {n:,} cell{'s' if n > 1 else ''} of the study area within reach {'are' if n > 1 else 'is'} nearer other "
            "hotspot areas, whose rings take them"
        )
    return out


def no_ring_text(rings: HotspotAreas) -> str:
    """The hotspot areas that have no ring, and why (``""`` when every area has one): their
    ``ring_change_pct`` and ``ring_change_class`` are empty, and they take no part in the rings' rows."""
    missing = rings.params.get("no_ring") or {}
    if not missing:
        return ""
    width = float(rings.params.get("width_m", float("nan")))
    said = "; ".join(f"area {k}: {why}" for k, why in sorted(missing.items()))
    one = len(missing) == 1
    return (
        f"{len(missing)} hotspot area{'' if one else 's'} {'has' if one else 'have'} no {width:,g} m ring, so no ring "
        f"change ({said})"
    )


def displacement_change(
    cells: ChangeResult,
    areas: ChangeResult,
    labels: np.ndarray,
    rings: HotspotAreas,
    ring_change: ChangeResult,
    *,
    alpha: float | None = None,
) -> Displacement:
    """The rings' change, alone and against the rest beyond them (module docs).

    Parameters
    ----------
    cells, areas : ChangeResult
        The cells' and the hotspot areas' overdispersed change (as for
        :func:`hotspots.change_summary.summarise_change`).
    labels : ndarray of int, grid shape
        Hotspot area id of each cell (``HotspotAreas.labels``).
    rings : HotspotAreas
        From :func:`ring_areas` on the same areas.
    ring_change : ChangeResult
        :func:`hotspots.change.change_areas` of ``rings`` (``test="overdispersed"``).
    alpha : float, optional
        Default: the cells' ``alpha``.
    """
    for name, r in (("cells", cells), ("areas", areas), ("ring_change", ring_change)):
        if not isinstance(r, ChangeResult) or r.model is None:
            raise ParameterError(f"`{name}` must be an overdispersed ChangeResult (`test='overdispersed'`).")
    lab, rlab = np.asarray(labels), np.asarray(rings.labels)
    if cells.grid is None or lab.shape != cells.grid.shape or rlab.shape != lab.shape:
        raise ParameterError("`labels` and the rings' labels must have the shape of the cells' grid.")
    if ((lab > 0) & (rlab > 0)).any():
        raise ParameterError("the rings overlap the hotspot areas; draw them with `ring_areas` from the same areas.")
    if len(ring_change.table) != rings.n_areas:
        raise ParameterError("`ring_change` must be the change of these `rings` (one row per ring).")
    a = float(cells.alpha if alpha is None else alpha)
    t = cells.table
    rr, cc = t["row"].to_numpy(), t["col"].to_numpy()
    in_hot, in_ring = lab[rr, cc] > 0, rlab[rr, cc] > 0
    beyond = ~in_hot & ~in_ring
    _, shocks, shock = study_shocks(cells, areas, lab)
    rb, ra = int(t.loc[in_ring, "n_before"].sum()), int(t.loc[in_ring, "n_after"].sum())
    bb, ba = int(t.loc[beyond, "n_before"].sum()), int(t.loc[beyond, "n_after"].sum())
    hb, ha = int(t.loc[in_hot, "n_before"].sum()), int(t.loc[in_hot, "n_after"].sum())
    names = (RING_SCOPES[0], "beyond the rings", RING_SCOPES[1])
    (first, _, versus), _ = units_against_rest(cells, ring_change, beyond, names, (rb, ra), alpha=a, shock=shock)
    rows = (first, versus)
    try:
        quotient = wdq(hb, ha, rb, ra, bb, ba) if bb > 0 and ba > 0 else None
    except ParameterError:
        quotient = None
    width = float(rings.params.get("width_m", float("nan")))
    dr, dc = ring_change.dispersion, cells.dispersion
    method = (
        f"rings: cells within {width:g} m of a hotspot area (centre to centre), one ring per area, "
        "their rate ratios pooled by precision (random-effects weights 1 / (v + tau2)); beyond: the ratio of the totals of "
        f"the study area's other cells; overdispersed variances (rings: kappa {dr.kappa:.3g}, tau2 {dr.tau2:.3g} from "
        f"{dr.tau2_source}; cells: kappa {dc.kappa:.3g}, tau2 {dc.tau2:.3g} from {dc.tau2_source}); rings vs beyond = ratio "
        f"of the two rate ratios; {1 - a:.0%} intervals"
    )
    if shocks is not None and shocks.estimated:
        method += "; the rings' own row includes the month-to-month shocks shared by the study area"
    notes = [n for n in ring_change.notes if n.startswith("seasonality")]
    summary = ChangeSummary(
        rows, a, cells.before, cells.after, method, tuple(dict.fromkeys(notes)), False,
        {"rings_dispersion": dr.to_dict(), "n_rings": rings.n_areas, "ring_cells": int(in_ring.sum())}, cells.left_out,
    )
    params = {
        "width_m": rings.params.get("width_m"), "n_rings": rings.n_areas, "ring_cells": int(in_ring.sum()),
        "beyond_cells": int(beyond.sum()), "counts": {"hotspots": [hb, ha], "rings": [rb, ra], "beyond": [bb, ba]},
    }
    return Displacement(summary, rings, ring_change, quotient, width, params)

