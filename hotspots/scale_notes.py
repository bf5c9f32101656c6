"""Notes on the analysis's scale: cells too coarse for the study area, a bandwidth that smooths over it, and an
automatic distance band many cells wide.

The analysis said when cells were too fine for the data (:mod:`hotspots.gistar`'s "sparse" note) but not the reverse:
Norfolk 2025 at 3,000 m cells, or a 20,000 m bandwidth, ran without a word; at 250 m cells the automatic distance band
(the first significant peak of global Moran's I) came out at 1,875 m, 7.5 cells, and the hotspot areas covered 251 km²
against 91.8 km² at 500 m cells (707 m band, 1.4 cells). These notes say so; they change no automatic rule.
:func:`scale_notes` is called by :func:`hotspots.pipeline.hotspot_stage`, so the command line and the app say the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["COARSE_CELLS_ACROSS", "OVERSMOOTH_SHARE", "STREET_CELL_M", "WIDE_BAND_CELLS", "study_extent_m", "scale_notes"]

#: Fewer cells than this across the study area (the square root of its cells) make the grid coarse: a hotspot area is
#: then a good part of a town (Norfolk 2025 at 3,000 m cells: 601 cells, about 25 across; at 2,000 m about 34).
COARSE_CELLS_ACROSS = 30
#: Cells of this size or smaller (metres) are never called coarse: a cell spans a few streets at most, so a hotspot area of
#: one or two cells is street scale whatever the study area. City of London's 2025 ASB, 115 incidents: the automatic
#: 100 m cells give 281 study-area cells (17 across), and the note told the user to use smaller cells ("e.g. the
#: automatic cell size", the one in use) beside the sparse-data note asking for 150 m.
STREET_CELL_M = 200.0
#: A bandwidth over this share of the study area's shorter side smooths the density over much of the area.
OVERSMOOTH_SHARE = 0.2
#: An automatic distance band wider than this many cells: the note that hotspot areas will be wider.
WIDE_BAND_CELLS = 3.0


def study_extent_m(active: Any, cell_size: float) -> tuple[float, float]:
    """The shorter and longer side (metres) of the box around the study area's cells (``active``, a boolean grid).

    >>> a = np.zeros((4, 10), bool); a[1:3, 2:9] = True
    >>> study_extent_m(a, 100.0)
    (200.0, 700.0)
    """
    act = np.asarray(active, dtype=bool)
    if not act.any():
        return 0.0, 0.0
    rows, cols = np.flatnonzero(act.any(axis=1)), np.flatnonzero(act.any(axis=0))
    h, w = (rows[-1] - rows[0] + 1) * float(cell_size), (cols[-1] - cols[0] + 1) * float(cell_size)
    return float(min(h, w)), float(max(h, w))


def scale_notes(active: Any, cell_size: float, bandwidth_m: float | None, distance_m: float | None,
                distance_automatic: bool, area_cells: Any = (), area_share: float = 0.0, *,
                bandwidth_automatic: bool = False, cell_size_automatic: bool = False, sparse: bool = False) -> list[str]:
    """The notes on the analysis's scale (none when all is in proportion).

    Parameters
    ----------
    active : ndarray of bool
        The grid's study-area cells (``Grid.active``).
    cell_size : float
        Cell size, metres.
    bandwidth_m : float or None
        The KDE bandwidth used, metres.
    distance_m : float or None
        The Gi* distance band used, metres.
    distance_automatic : bool
        True when the distance band was chosen automatically (no ``distance`` given).
    area_cells : sequence of int
        Cells of each hotspot area.
    area_share : float
        Share of the counted incidents in the hotspot areas, 0-1.
    bandwidth_automatic : bool
        True when the bandwidth was chosen automatically: the advice then does not offer "the automatic one".
    cell_size_automatic : bool
        True when the cell size was chosen automatically: the coarse-cells advice then does not offer it.
    sparse : bool
        True when the data are already sparse for these cells (:mod:`hotspots.gistar`'s note, ``GiStar.params["sparse"]``):
        the coarse-cells note then says that smaller cells would be sparser still instead of advising them.

    Returns
    -------
    list of str
    """
    notes: list[str] = []
    cs = float(cell_size)
    n = int(np.asarray(active, dtype=bool).sum())
    across = float(np.sqrt(n))
    cells = np.asarray(area_cells, dtype=float)
    few_cell_areas = len(cells) > 0 and float(np.median(cells)) <= 2 and area_share > 0.5
    if n and cs > STREET_CELL_M and (across < COARSE_CELLS_ACROSS or few_cell_areas):
        why = (f"the study area is about {across:,.0f} cells across (its {n:,} cells)" if across < COARSE_CELLS_ACROSS
               else f"the hotspot areas are of {float(np.median(cells)):g} cell(s) (median) yet hold {area_share:.0%} "
                    "of the incidents")
        if sparse:  # the sparse-data note asks for larger cells: never the opposite advice beside it
            advice = ("smaller cells would draw hotspots at street scale, but the data are already sparse for these cells "
                      "(see the note on sparse data), so more incidents (more months or categories) are needed first")
        elif cell_size_automatic:
            advice = "smaller cells (give a cell size) draw hotspots at street scale"
        else:
            advice = "smaller cells (e.g. the automatic cell size) draw hotspots at street scale"
        notes.append(
            f"the {cs:,.0f} m cells are coarse for this study area: {why}, so a hotspot area is a large block of ground "
            f"and the streets that make it hot are lost in it; {advice}"
        )
    shorter, _ = study_extent_m(active, cs)
    if bandwidth_m is not None and shorter > 0 and float(bandwidth_m) > OVERSMOOTH_SHARE * shorter:
        notes.append(
            f"the density's bandwidth ({float(bandwidth_m):,.0f} m) is over a fifth of the study area's shorter side "
            f"({shorter / 1000:,.1f} km): the density is smoothed over much of the area, so its peaks say little about "
            f"where incidents concentrate; a shorter bandwidth{'' if bandwidth_automatic else ' (or the automatic one)'} keeps "
            "them local"
        )
    if distance_automatic and distance_m is not None and float(distance_m) > WIDE_BAND_CELLS * cs:
        k = float(distance_m) / cs
        notes.append(
            f"the automatic distance band ({float(distance_m):,.0f} m) is {k:,.1f} cells wide: it is the scale at which "
            "the incidents cluster, so each cell is judged with a wide neighbourhood and the hotspot areas are wider than "
            "at a band of a cell or two; areas (and their km²) found with other cell sizes are not comparable, and a "
            "shorter distance band draws tighter areas"
        )
    return notes
