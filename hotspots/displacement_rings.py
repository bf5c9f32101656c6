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
  A significant rise is read as displacement (harm may have moved next door), a significant fall as
  diffusion of benefit (the benefit may have spread there), but only when the hotspot areas
  themselves fell (:func:`ring_reading`: every combination of the hotspots' and the rings' change).

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
from .change_summary import SCOPES, ChangeSummary, ScopeChange, group_shocks, study_shocks, units_against_rest
from .displacement import WDQResult, wdq

__all__ = [
    "RING_SCOPES", "DEFAULT_RING_M", "READINGS", "Displacement", "ring_areas", "displacement_change", "no_ring_text",
    "ring_reading", "ring_label", "ring_width_note", "rings_wider_than_asked", "incidents_text",
]

#: Row names of :attr:`Displacement.summary`, in order.
RING_SCOPES = ("rings around hotspot areas", "rings vs beyond")
#: Default ring width, metres: a few streets (published displacement studies use catchment rings
#: of about 200-500 m around the treated places).
DEFAULT_RING_M = 500.0
#: What the rings' change is read as (:func:`ring_reading`): harm moved next door; benefit spread
#: next door; the rings changed as the rest beyond them did; the rings rose (fell) relative to
#: beyond but the hotspot areas did not fall, so nothing moved from them; no incidents to judge.
READINGS = ("displacement", "diffusion of benefit", "no sign", "rings rose, hotspots did not fall",
            "rings fell, hotspots did not fall", "not judged")


def _direction(row: ScopeChange | None) -> str:
    """``"rise"``, ``"fall"`` or ``"none"`` (not significant, no row, or a change the choice of
    hotspot months predicts: :attr:`~hotspots.change_summary.ScopeChange.caveated`)."""
    if row is None or row.caveated:
        return "none"
    return {"significant rise": "rise", "significant fall": "fall"}.get(row.verdict, "none")


def hotspots_direction(own: ScopeChange | None, versus: ScopeChange | None) -> str:
    """Whether the hotspot areas fell: ``"fall"`` when they fell relative to elsewhere, or fell
    themselves and did not rise relative to elsewhere; ``"rise"`` when, not falling so, they rose
    (themselves or relative to elsewhere); else ``"none"``. ``own``: the "all hotspot areas" row,
    ``versus``: "hotspots vs elsewhere" (:data:`hotspots.change_summary.SCOPES`)."""
    o, v = _direction(own), _direction(versus)
    if v == "fall" or (o == "fall" and v != "rise"):
        return "fall"
    if "rise" in (o, v):
        return "rise"
    return "none"


def _pct(rr: float) -> float:
    """The ratio as a change in per cent, rounded as the tables round it (:func:`hotspots.style.percent_change`),
    so a sentence and a table never differ by a rounding (a ring at +85.49 % read "+85%" beside the table's "+86%")."""
    from .style import percent_change

    return float(percent_change([rr])[0])


def _moved(rr: float) -> str:
    """``"rose 5%"``, ``"fell 13%"``, ``"did not change"`` (a ratio that rounds to 0 %)."""
    pct = _pct(rr)
    if round(abs(pct)) == 0:
        return "did not change"
    return f"{'rose' if pct > 0 else 'fell'} {abs(pct):.0f}%"


def _signed(rr: float) -> str:
    from .style import signed_text

    return f"{signed_text(_pct(rr))}%"


def incidents_text(row: ScopeChange) -> str:
    """The row's incidents counted before and after, ``"incidents 1,061 -> 1,156"``: raw counts (the
    estimate beside them allows for the periods' lengths and season, so their ratio can differ), the
    totals the estimate rests on. Incidents, not people: exact counts."""
    return f"incidents {int(row.n_before):,} -> {int(row.n_after):,}"


def _few(row: ScopeChange) -> bool:
    """Too few incidents in the two periods together for a per cent (the tables' rule,
    :data:`hotspots.style.MIN_PERCENT_TOTAL`): the counts are said instead."""
    from .style import MIN_PERCENT_TOTAL

    return int(row.n_before) + int(row.n_after) < MIN_PERCENT_TOTAL


def ring_reading(
    rings: ScopeChange,
    beyond: ScopeChange | None,
    versus: ScopeChange,
    hotspots: ScopeChange | None,
    hotspots_vs: ScopeChange | None,
    *,
    label: str = f"the {DEFAULT_RING_M:,g} m rings around the hotspot areas",
    intervention: bool = True,
) -> tuple[str, str]:
    """What the rings' change says, in plain words: ``(reading, text)``, ``reading`` one of
    :data:`READINGS`.

    The text says first what happened (the rings' own change with the incidents it rests on,
    :func:`incidents_text`, the rest beyond them, the rings relative to beyond), then what it is
    read as. Displacement needs the rings to rise relative to beyond *and* the hotspot areas to
    fall (:func:`hotspots_direction`); diffusion of benefit, the rings to fall relative to beyond
    and the hotspot areas to fall. Rings that rose or fell
    relative to beyond while the hotspot areas did not fall are said as such, not as either.

    Parameters
    ----------
    rings, beyond, versus : ScopeChange
        The rings' own pooled change, the rest of the study area beyond them (None: not said) and
        rings vs beyond (:data:`RING_SCOPES`).
    hotspots, hotspots_vs : ScopeChange or None
        "all hotspot areas" and "hotspots vs elsewhere" (None: unknown, read as not falling).
    label : str
        How the rings are named (:func:`ring_label`).
    intervention : bool
        Something is known to have been done in the hotspot areas between the periods (a scheme
        start). Without one (two halves of a year, say), displacement and diffusion of benefit are
        the patterns they would show, and the words say so: nothing may have been done.
    """
    if not np.isfinite(versus.rate_ratio) or not np.isfinite(rings.rate_ratio):
        return READINGS[5], "no incidents in the rings around the hotspot areas in either period: displacement cannot be judged"
    rel = _direction(versus)
    # "fell 4% (incidents 1,250 -> 1,266)" (Cleveland) read as a contradiction: the estimate is per day and pooled
    # ring by ring (random-effects weights), the counts are the rings' totals; the words say which is which
    few = _few(rings)  # the tables show no per cent for so few (style.MIN_PERCENT_TOTAL): nor does the sentence
    out = (f"{label} held {int(rings.n_before):,} incident(s) before and {int(rings.n_after):,} after (too few for a "
           "per cent)") if few else f"{label} {_moved(rings.rate_ratio)} (per day, pooled ring by ring; {incidents_text(rings)})"
    there = "the rest of the study area beyond them"
    if beyond is not None and np.isfinite(beyond.rate_ratio):
        there_fig = f" ({_signed(beyond.rate_ratio)})"
    else:
        there_fig = ""
    pct = abs(_pct(versus.rate_ratio))
    if rel == "none":
        from .style import p_text

        # "no differently" overstated a non-significant difference (+26 % against +6 %, p = 0.067): the
        # words say it is not significant, and the test's p is given ("did not change, not significantly
        # differently from ..." read awkwardly: the change, then the difference, each its own clause)
        # "the difference from the rest beyond them (-14%)" read the rest's own change as the difference: it is said as
        # the change it is, then the difference
        out += (f", against {_signed(beyond.rate_ratio)} in {there}: the difference is not significant" if there_fig
                else f"; the difference from {there} is not significant")
        if np.isfinite(versus.p_value):
            out += f" (rings vs beyond {'' if few else _signed(versus.rate_ratio) + ', '}{p_text(versus.p_value)})"
    else:
        out += (f", against {_signed(beyond.rate_ratio)} in {there}" if there_fig else f", relative to {there}")
        how = f"{'' if few else f'{pct:.0f}% '}{'higher' if rel == 'rise' else 'lower'}"
        out += f": {how} relative to beyond, a significant {rel}"
    hot = hotspots_direction(hotspots, hotspots_vs)
    figs = []
    if hotspots is not None and np.isfinite(hotspots.rate_ratio):
        figs.append(_moved(hotspots.rate_ratio))
    if hotspots_vs is not None and np.isfinite(hotspots_vs.rate_ratio):
        figs.append(f"{_signed(hotspots_vs.rate_ratio)} relative to elsewhere")
    said = ", ".join(figs)
    if rel == "none":
        if hot == "fall":
            return READINGS[2], f"{out}; the hotspot areas {said}: no sign of displacement or of diffusion of benefit"
        return READINGS[2], f"{out}: no sign of displacement"
    if hot == "fall":
        unknown = "" if intervention else (
            ", if something was done in the hotspot areas between the periods (no scheme start was given: the fall may be "
            "ordinary variation or a trend)"
        )
        if rel == "rise":
            return READINGS[0], f"{out}; the hotspot areas {said}: harm may have moved next door (displacement){unknown}"
        return READINGS[1], (f"{out}; the hotspot areas {said}: the benefit may have spread next door (diffusion of "
                             f"benefit){unknown}")
    # "did not fall (they fell 5 %)" contradicted itself: a fall that is not significant is said as such
    down = hotspots is not None and np.isfinite(hotspots.rate_ratio) and hotspots.rate_ratio < 1
    not_fell = (f"but the hotspot areas did not fall{' significantly' if down else ''} "
                f"({'they ' + said if said else 'their change is not known'})")
    if rel == "rise":
        return READINGS[3], (f"{out}; {not_fell}, so there was no fall to displace: not displacement, the streets around "
                             "the hotspots worsened relative to beyond")
    return READINGS[4], (f"{out}; {not_fell}, so there was no benefit to spread: not diffusion of benefit, the streets "
                         "around the hotspots did better than beyond")


def ring_reach(width_m: float, cell_size: float) -> float:
    """How far a ring reaches, metres from the centre of a hotspot area's cell to the centre of the
    farthest ring cell: ``width_m``, but never less than the cell's diagonal (:func:`ring_areas`)."""
    return float(max(float(width_m), float(cell_size) * np.sqrt(2.0)))


def ring_label(width_m: float, cell_size: float, *, one: bool = False) -> str:
    """How the rings are named everywhere (captions, tables, legends, the reading): ``"500 m rings"``,
    or, when the cells are wider than the rings asked for (a ring of the touching cells is then a
    band a cell wide: :func:`ring_reach`), ``"rings of the touching cells (up to 1,414 m)"``; ``one``:
    a ring (``"500 m ring"``). At cells as wide as the ring (500 m rings of 500 m cells, the
    default), the band of touching cells is the width asked for and keeps its name."""
    reach = ring_reach(width_m, cell_size)
    ring = "ring" if one else "rings"
    if not rings_wider_than_asked(width_m, cell_size):
        return f"{float(width_m):,g} m {ring}"
    return f"{ring} of the touching cells (up to {reach:,.0f} m)"


def rings_wider_than_asked(width_m: float, cell_size: float) -> bool:
    """The cells are wider than the ring asked for: a ring, at least the cells touching its area,
    is then a band a whole cell wide (1 km at 1 km cells for "500 m rings")."""
    return float(cell_size) > float(width_m) * (1 + 1e-9)


def ring_width_note(width_m: float, cell_size: float) -> str:
    """The warning when the cells make the rings wider than asked (``""`` when they do not): the
    ring is the cells touching each hotspot area, diagonals included, whose centres lie up to the
    cell's diagonal from the area's."""
    w, c = float(width_m), float(cell_size)
    reach = ring_reach(w, c)
    if not rings_wider_than_asked(w, c):
        return ""
    return (
        f"the rings are wider than the {w:,g} m asked: at {c:,g} m cells a ring is the cells touching its hotspot area "
        f"(diagonals included), a band {c:,g} m wide reaching up to {reach:,.0f} m (centre to centre); for {w:,g} m rings use "
        f"cells of {w:,g} m or less, or ask for rings of at least {c:,g} m to say what is drawn"
    )


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
        ``width_m``, ``reach_m``, ``n_rings``, ``ring_cells``, ``beyond_cells`` and ``counts``
        (before, after) of the hotspot areas, the rings and the rest beyond them.
    beyond : ScopeChange or None
        The rest of the study area beyond the rings (its own change).
    hotspots : tuple of ScopeChange
        "all hotspot areas" and "hotspots vs elsewhere" (:data:`hotspots.change_summary.SCOPES`),
        which decide whether a change of the rings is read as displacement or diffusion of benefit
        (:func:`ring_reading`); empty: unknown.
    intervention : bool
        Something is known to have been done in the hotspot areas between the periods (a scheme
        start): :func:`ring_reading`'s words.
    """

    summary: ChangeSummary
    rings: HotspotAreas
    ring_change: ChangeResult
    wdq: WDQResult | None
    width_m: float
    params: dict[str, Any] = field(default_factory=dict)
    beyond: ScopeChange | None = None
    hotspots: tuple[ScopeChange, ...] = ()
    intervention: bool = True

    @property
    def cell_size(self) -> float:
        return float(self.rings.grid.cell_size)

    @property
    def reach_m(self) -> float:
        """How far the rings reach, centre to centre (:func:`ring_reach`): more than
        :attr:`width_m` when the cells are wider than ``width_m / √2``."""
        return ring_reach(self.width_m, self.cell_size)

    @property
    def label(self) -> str:
        """The rings' name (:func:`ring_label`), e.g. ``"500 m rings"``."""
        return ring_label(self.width_m, self.cell_size)

    @property
    def width_note(self) -> str:
        """The warning when the rings are wider than asked (:func:`ring_width_note`), else ``""``."""
        return ring_width_note(self.width_m, self.cell_size)

    @property
    def how(self) -> str:
        """How the rings were drawn, for captions and the method text (e.g. ``"the cells within
        500 m of each hotspot area (its ring)"``; the touching cells and their reach when the cells
        make the rings wider than asked)."""
        if rings_wider_than_asked(self.width_m, self.cell_size):
            return (f"the cells touching each hotspot area, diagonals included (its ring: {self.width_m:,g} m asked, but at "
                    f"{self.cell_size:,g} m cells a ring reaches up to {self.reach_m:,.0f} m)")
        return f"the cells within {self.width_m:,g} m of each hotspot area (its ring)"

    def reading(self) -> tuple[str, str]:
        """What the rings' change is read as: ``(reading, plain words)`` (:func:`ring_reading`)."""
        own, vs = self.summary.rows
        hot, hot_vs = (tuple(self.hotspots) + (None, None))[:2]
        return ring_reading(own, self.beyond, vs, hot, hot_vs, label=f"the {self.label} around the hotspot areas",
                            intervention=self.intervention)

    def row_text(self) -> tuple[str, str, str]:
        """The rings vs beyond row of a summary panel: ``(label, verdict, reading)``, e.g.
        ``("500 m rings vs beyond", "significant fall relative to beyond; the hotspot areas did not
        fall, so not diffusion of benefit", "rings fell, hotspots did not fall")``."""
        kind, _ = self.reading()
        vs = self.summary.rows[1]
        said = {
            READINGS[0]: "displacement", READINGS[1]: "diffusion of benefit",
            READINGS[3]: "the hotspot areas did not fall, so not displacement",
            READINGS[4]: "the hotspot areas did not fall, so not diffusion of benefit",
        }.get(kind)
        verdict = vs.verdict + ("" if vs.verdict == "no significant change" else " relative to beyond")
        return f"{self.label} vs beyond", verdict + (f" ({said})" if said else ""), kind

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
        :meth:`hotspots.change.ChangeResult.judged_rate_ratio`), ``ring_change_class`` and the
        ring's incidents ``ring_n_before``, ``ring_n_after``; one row per ring (an area with no
        ring, e.g. one filling its surroundings, has none)."""
        t = self.ring_change.table
        return pd.DataFrame({
            "area_id": self.rings.areas["around_area"].to_numpy(dtype=np.int64),
            "ring_rate_ratio": self.ring_change.judged_rate_ratio().to_numpy(dtype=float),
            "ring_change_class": t["change_class"].astype(object).to_numpy(),
            "ring_n_before": t["n_before"].to_numpy(),
            "ring_n_after": t["n_after"].to_numpy(),
        })

    def area_columns(self, area_ids: Any) -> dict[str, np.ndarray]:
        """The ring columns of a table of hotspot areas (one rule for ``csv/hotspot_areas.csv``,
        the GIS layer and the app's change table), in the order of ``area_ids``:
        ``ring_change_pct`` (the ring's change as judged, in %, :func:`hotspots.style.percent_change`:
        NaN, shown "–", below :data:`hotspots.style.MIN_PERCENT_TOTAL` incidents) and
        ``ring_change_class``; NaN / None for an area with no ring; ``ring_change_note``, why the per cent is blank
        (:func:`hotspots.style.percent_change_note`; None where shown)."""
        from .style import percent_change, percent_change_note

        ring = self.by_area().set_index("area_id")
        ids = np.asarray(area_ids)
        judged = (ring["ring_rate_ratio"].reindex(ids).to_numpy(dtype=float),
                  ring["ring_change_class"].reindex(ids).to_numpy(dtype=object),
                  ring["ring_n_before"].reindex(ids).to_numpy(dtype=float),
                  ring["ring_n_after"].reindex(ids).to_numpy(dtype=float))
        return {
            "ring_change_pct": percent_change(*judged),
            "ring_change_class": ring["ring_change_class"].reindex(ids).astype(object).to_numpy(),
            "ring_change_note": percent_change_note(*judged),  # why "–" (one rule with the areas and cells)
        }

    def lines(self) -> list[str]:
        """One line per row, as :meth:`hotspots.change_summary.ChangeSummary.lines`."""
        return self.summary.lines()

    def describe(self) -> str:
        """What the comparison says, in plain words (for the command line, the app and captions;
        :func:`ring_reading`), followed by the warning when the cells make the rings wider than asked
        (:func:`ring_width_note`) and the hotspot areas that have no ring and why (:func:`no_ring_text`)."""
        kind, text = self.reading()
        vs = self.summary.rows[1]
        if kind == READINGS[2] and np.isfinite(vs.mde_fall) and vs.mde_fall < 1 and not _few(self.summary.rows[0]):
            rise = float(np.expm1(-np.log1p(-vs.mde_fall)))
            text += f"; a rise of {rise:.0%} or more relative to beyond would likely have been detected"
        extra = [t for t in (self.rising_rings_text(), self.width_note, no_ring_text(self.rings)) if t]
        return "; ".join([text, *extra])

    def rising_rings_text(self, most: int = 5) -> str:
        """The rings that rose significantly on their own, named by the hotspot area they surround
        (``"on its own, the ring around hotspot area 1 rose significantly (+260%)"``); ``""`` when none.

        The pooled reading can say "no sign of displacement" while one area's ring rose sharply (a
        tester moved 30 % of an area's incidents into its ring: +260 % there, +26 % over all rings);
        the sentence sends the reader to that area. At most ``most`` areas are named, busiest rise first.
        """
        most = max(int(most), 1)
        t = self.by_area()
        up = t[t["ring_change_class"].astype(str) == "significant rise"].sort_values("ring_rate_ratio", ascending=False)
        if up.empty:
            return ""
        from .style import MIN_PERCENT_TOTAL

        head = up.head(most)
        said = [  # too few for a per cent (the tables' rule): the counts
            f"{int(a)} ({int(nb):,} -> {int(na):,})" if nb + na < MIN_PERCENT_TOTAL else f"{int(a)} ({_signed(r)})"
            for a, r, nb, na in zip(head["area_id"], head["ring_rate_ratio"], head["ring_n_before"], head["ring_n_after"])
        ]
        more = f" and {len(up) - most} more" if len(up) > most else ""
        # "hotspot areas 9 (3 -> 13), 15 (4 -> 15) rose" (North Yorkshire): the last of a full list follows "and"
        named = ", ".join(said) if more or len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"
        if len(up) == 1:
            return f"on its own, the ring around hotspot area {named} rose significantly"
        return f"on their own, the rings around hotspot areas {named}{more} rose significantly"


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
    params = {"kind": "ring", "width_m": float(w), "reach_m": ring_reach(w, grid.cell_size), "n_areas": n,
              "around": "hotspot areas", "no_ring": _without_ring(lab, around, reach, grid)}
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
    name = ring_label(width, rings.grid.cell_size, one=True)
    said = "; ".join(f"area {k}: {why}" for k, why in sorted(missing.items()))
    one = len(missing) == 1
    return (
        f"{len(missing)} hotspot area{'' if one else 's'} {'has' if one else 'have'} no {name}, so no ring "
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
    intervention: bool = True,
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
    intervention : bool
        A scheme start is known (:attr:`Displacement.intervention`).
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
    # the rings' and the hotspots' own monthly share shocks, which do not cancel against the rest
    ring_share = group_shocks(cells, ring_change, in_ring, beyond) if rb + ra > 0 else None
    hot_share = group_shocks(cells, areas, in_hot, ~in_hot) if hb + ha > 0 else None
    (first, rest, versus), _ = units_against_rest(
        cells, ring_change, beyond, names, (rb, ra), alpha=a, shock=shock, share=ring_share
    )
    # the hotspot areas' own change and against elsewhere, as the pooled change has them: whether
    # there was a fall to displace or a benefit to spread (:func:`ring_reading`)
    (hot, _, hot_vs), _ = units_against_rest(cells, areas, ~in_hot, SCOPES, (hb, ha), alpha=a, shock=shock, share=hot_share)
    rows = (first, versus)
    try:
        quotient = wdq(hb, ha, rb, ra, bb, ba) if bb > 0 and ba > 0 else None
    except ParameterError:
        quotient = None
    width = float(rings.params.get("width_m", float("nan")))
    dr, dc = ring_change.dispersion, cells.dispersion
    reach = ring_reach(width, cells.grid.cell_size)
    within = (f"{reach:,.0f} m (the touching cells; {width:g} m asked)" if rings_wider_than_asked(width, cells.grid.cell_size)
              else f"{width:g} m")
    method = (
        f"rings: cells within {within} of a hotspot area (centre to centre), one ring per area, "
        "their rate ratios pooled by precision (random-effects weights 1 / (v + tau2)); beyond: the ratio of the totals of "
        f"the study area's other cells; overdispersed variances (rings: kappa {dr.kappa:.3g}, tau2 {dr.tau2:.3g} from "
        f"{dr.tau2_source}; cells: kappa {dc.kappa:.3g}, tau2 {dc.tau2:.3g} from {dc.tau2_source}); rings vs beyond = ratio "
        f"of the two rate ratios; {1 - a:.0%} intervals"
    )
    if shocks is not None and shocks.estimated:
        method += "; the rings' own row includes the month-to-month shocks shared by the study area"
    if ring_share is not None and ring_share.estimated:
        method += f"; rings vs beyond includes the rings' monthly share shocks (sd {np.sqrt(ring_share.variance):.3g}, log-odds)"
    notes = [n for n in ring_change.notes if n.startswith("seasonality")]
    summary = ChangeSummary(
        rows, a, cells.before, cells.after, method, tuple(dict.fromkeys(notes)), False,
        {"rings_dispersion": dr.to_dict(), "n_rings": rings.n_areas, "ring_cells": int(in_ring.sum()),
         "share_shocks": None if ring_share is None else ring_share.to_dict()}, cells.left_out,
    )
    params = {
        "width_m": rings.params.get("width_m"), "reach_m": reach, "n_rings": rings.n_areas, "ring_cells": int(in_ring.sum()),
        "beyond_cells": int(beyond.sum()), "counts": {"hotspots": [hb, ha], "rings": [rb, ra], "beyond": [bb, ba]},
    }
    return Displacement(summary, rings, ring_change, quotient, width, params, rest, (hot, hot_vs), bool(intervention))

