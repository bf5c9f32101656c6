"""Regression to the mean in each cell's change: the cells of the hotspot areas.

Hotspot areas chosen from months that overlap the before period more than the after period were
busy then partly by chance, so they look quieter afterwards with no effect (regression to the
mean; :func:`hotspots.periods.selection_favours`). The pooled hotspot rows and each hotspot area's
change say so (:func:`hotspots.change_summary.with_selection`, :meth:`hotspots.change.ChangeResult.selection_notes`).
The cells of those areas were flagged as hot on the same data, so each of their changes carries the
same caveat, decided by the same rule (:func:`hotspots.periods.selection_caveats`); the cells
elsewhere were not chosen, as the pooled "elsewhere" row is not caveated.

:func:`with_hotspot_cells` writes the caveat into the per-cell change as its ``change_note`` column
(the column name of the areas' tables), which the GeoPackage and CSV ``change_cells`` tables, the
app's download and map layer, the briefing image and :meth:`~hotspots.change.ChangeResult.counts_text` read.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ._errors import ParameterError
from .change import ChangeResult
from .periods import SELECTION_CAVEAT, Period, selection_caveats, selection_favours

__all__ = ["hotspot_cell_notes", "with_hotspot_cells", "caveated_cells_text"]


def hotspot_cell_notes(cells: ChangeResult, labels: Any, selected_on: Period | None) -> np.ndarray:
    """:data:`hotspots.periods.SELECTION_CAVEAT` for each cell of a hotspot area whose significant
    change the choice of hotspot months predicts, None elsewhere (row by row with ``cells.table``).

    Parameters
    ----------
    cells : ChangeResult
        Per-cell change (:func:`hotspots.change.change_cells`) on the hotspot areas' grid.
    labels : ndarray of int, grid shape
        Hotspot area id of each cell, 0 outside them (``HotspotAreas.labels``).
    selected_on : Period or None
        The months the hotspots were chosen from (None: not known, no caveat).
    """
    if not isinstance(cells, ChangeResult) or cells.unit != "cell":
        raise ParameterError("`cells` must be per-cell change (`change_cells`).")
    lab = np.asarray(labels)
    if cells.grid is None or lab.shape != cells.grid.shape:
        raise ParameterError("`labels` must have the shape of the cells' grid.")
    t = cells.table
    notes = selection_caveats(t["change_class"].to_numpy(dtype=object), selection_favours(selected_on, cells.before, cells.after))
    notes[lab[t["row"].to_numpy(), t["col"].to_numpy()] <= 0] = None  # cells outside the hotspot areas were not chosen
    return notes


def with_hotspot_cells(cells: ChangeResult, labels: Any, selected_on: Period | None) -> ChangeResult:
    """The per-cell change with ``change_note`` (:func:`hotspot_cell_notes`) as its last column:
    present whenever the hotspot areas are known (None throughout when nothing is caveated), so
    that every run's ``change_cells`` table has the same columns. Pure: returns a new result."""
    table = cells.table.copy()
    notes = hotspot_cell_notes(cells, labels, selected_on)
    table["change_note"] = pd.Series(notes, index=table.index, dtype=object)  # None, not NaN, where none
    return dataclasses.replace(cells, table=table)


def caveated_cells_text(cells: ChangeResult | None) -> str:
    """The cells whose change the choice of hotspot months predicts, in words for a legend or a
    caption, e.g. ``"significant fall in 12 cells of hotspot areas: expected from how hotspots were
    chosen (regression to the mean)"``; ``""`` when none (or no ``change_note``)."""
    if cells is None or "change_note" not in cells.table.columns:
        return ""
    t = cells.table
    hit = t.loc[t["change_note"].notna(), "change_class"].astype(str)
    if hit.empty:
        return ""
    said = ", ".join(f"{k} in {int(n):,} cell{'s' * (int(n) != 1)}" for k, n in hit.value_counts().sort_index().items())
    return f"{said} of hotspot areas: {SELECTION_CAVEAT} (regression to the mean)"
