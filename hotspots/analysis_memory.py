"""How much memory an analysis needs, from its grid and months, checked before any heavy work.

A fine cell size over a whole force makes a grid of millions of cells, and every stage of
:func:`hotspots.pipeline.analyse` holds arrays over the whole grid (counts, density, Gi*), panels
of months x cells (the before/after change, the emerging hot spots cube) and, when written, a
polygon for every cell. Merseyside's 2025 ASB at 10 m (21.6 million cells, under
:data:`hotspots.grid.MAX_CELLS`) was killed by the kernel at 23.5 GB with nothing printed.
:func:`hotspot_stage <hotspots.pipeline.hotspot_stage>` (the first stage of ``analyse``, and the
app's) therefore calls :func:`check_analysis_memory` as soon as the grid is sized: an analysis
whose estimate is more than the memory available is refused with one line naming ``cell_size``
(``--cell-size`` on the command line) and the smallest cell size that fits.

The memory model (measured)
---------------------------
Peak memory of the whole analysis with its exports (``hotspots analyse``: GeoPackage, GeoJSON,
CSV, briefing maps), on top of the loaded data, for a grid of ``c`` cells (rows x columns, the
study area's and the rest) and ``m`` months of data::

    ANALYSIS_BASE_BYTES + c * (CELL_BYTES + m * CELL_MONTH_BYTES)

Measured as peak RSS (``/usr/bin/time -v``) of ``hotspots analyse`` on Merseyside's 12 months of
2025 (14,998 ASB incidents of 152,389 rows; the footprint study area holds 34 % of the grid's
cells; the process holds 0.41 GB after loading, which ``MemAvailable`` has already counted):

=========  ==========  ========  ================  ===============  ======
cell size  cells       peak RSS  above the loaded  estimate         time
=========  ==========  ========  ================  ===============  ======
500 m      8,640       0.97 GB   0.55 GB           0.64 GB          17 s
100 m      216,000     1.19 GB   0.77 GB           0.96 GB          50 s
50 m       860,284     1.97 GB   1.56 GB           1.96 GB          127 s
25 m       3,441,136   5.91 GB   5.49 GB           5.97 GB          606 s
10 m       21,507,100  (killed at 23.5 GB)         34.0 GB          refused
=========  ==========  ========  ================  ===============  ======

(times on a shared 2-core machine; the 25 m run wrote a 720 MB GeoPackage and two GeoJSON files
of about 600 MB each). The months' share was measured on its own (``tracemalloc``, the emerging
hot spots stage at 50 m, which holds several float64 copies of the months x cells cube): about
80-120 B per cell and month; the peak of the whole run grows faster than linearly in the cells
(1,050 B a cell from 500 to 100 m, 1,520 B from 50 to 25 m), so the constants bound the 25 m run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._errors import LimitError
from .io.limits import GiB, MiB, available_memory, size_text
from .validation import shown

__all__ = [
    "ANALYSIS_BASE_BYTES",
    "CELL_BYTES",
    "CELL_MONTH_BYTES",
    "MemoryEstimate",
    "analysis_memory",
    "smallest_cell_size",
    "check_analysis_memory",
]

#: What the analysis needs whatever its grid (libraries loaded by later stages: matplotlib for
#: the briefing maps, GDAL's drivers for the exports), bytes.
ANALYSIS_BASE_BYTES = 600 * MiB
#: Memory per grid cell, whatever the months (Gi*, density, hotspot areas, the cell layers'
#: polygons and columns while they are written), bytes.
CELL_BYTES = 400
#: Memory per grid cell and month of data (the change panels and the emerging hot spots cube).
CELL_MONTH_BYTES = 96
#: An estimate above this is announced in the notes even when it fits (slow runs, large files).
LARGE_ANALYSIS_BYTES = 2 * GiB


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimated peak memory of one analysis and what it was compared with.

    Attributes
    ----------
    cells : int
        Grid cells (rows x columns).
    months : int
        Months of data (the change panels' and emerging cube's length).
    cell_size : float
        Metres.
    needed : int
        Estimated peak memory, bytes (:func:`analysis_memory`).
    available : int or None
        Memory available when checked, bytes (None: unknown, not checked).
    smallest_cell_size : float or None
        The smallest whole-metre cell size whose grid fits in ``available`` (None when it fits
        already, when ``available`` is unknown, or when no cell size fits).
    """

    cells: int
    months: int
    cell_size: float
    needed: int
    available: int | None
    smallest_cell_size: float | None

    @property
    def fits(self) -> bool:
        return self.available is None or self.needed <= self.available

    def note(self) -> str | None:
        """A sentence for the analysis's notes when the run is large but fits; None otherwise."""
        if not self.fits or self.needed < LARGE_ANALYSIS_BYTES:
            return None
        have = f" of the {size_text(self.available)} available" if self.available is not None else ""
        return (
            f"a grid of {self.cells:,} cells of {self.cell_size:g} m over {self.months} months needs about "
            f"{size_text(self.needed)} of memory{have}, takes minutes and writes large files; a larger {shown('cell_size')} "
            "is quicker"
        )

    def message(self) -> str:
        """The refusal: what is needed, what is available, and the fix (one line)."""
        fix = (
            f"use {shown('cell_size')} {self.smallest_cell_size:g} or more (the smallest cell size that fits), "
            "or free memory"
            if self.smallest_cell_size is not None
            else f"free memory (no {shown('cell_size')} makes the analysis fit in what is available)"
        )
        return (
            f"a grid of {self.cells:,} cells of {self.cell_size:g} m over {self.months} months needs about "
            f"{size_text(self.needed)} of memory for the analysis, more than the {size_text(self.available or 0)} "
            f"available: {fix}."
        )


def analysis_memory(cells: int, months: int) -> int:
    """Estimated peak memory of a whole analysis and its exports, bytes (see the module docs).

    Parameters
    ----------
    cells : int
        Grid cells (rows x columns).
    months : int
        Months of data, first to last.
    """
    return int(ANALYSIS_BASE_BYTES + cells * (CELL_BYTES + max(months, 1) * CELL_MONTH_BYTES))


def _cells_at(width_m: float, height_m: float, cell_size: float) -> int:
    # Grid.from_bounds snaps the corner down to the cell size and adds a cell for the far edge.
    return (math.ceil(width_m / cell_size) + 1) * (math.ceil(height_m / cell_size) + 1)


def smallest_cell_size(width_m: float, height_m: float, months: int, available: int) -> float | None:
    """The smallest whole-metre cell size whose grid over ``width_m`` x ``height_m`` metres fits in
    ``available`` bytes by :func:`analysis_memory`; None when none does."""
    per_cell = CELL_BYTES + max(months, 1) * CELL_MONTH_BYTES
    room = available - ANALYSIS_BASE_BYTES
    if room < 4 * per_cell:  # not even a grid of one cell and its neighbours
        return None
    size = max(1.0, math.floor(math.sqrt(width_m * height_m * per_cell / room)))
    while analysis_memory(_cells_at(width_m, height_m, size), months) > available:
        size += 1.0
    return size


def check_analysis_memory(
    n_rows: int, n_cols: int, cell_size: float, months: int, *, available: int | None = None
) -> MemoryEstimate:
    """Refuse an analysis whose estimated peak memory is more than the memory available.

    Parameters
    ----------
    n_rows, n_cols : int
        The grid's shape.
    cell_size : float
        Metres.
    months : int
        Months of data, first to last.
    available : int, optional
        Bytes; default :func:`hotspots.io.limits.available_memory` (now). Unknown: not checked.

    Returns
    -------
    MemoryEstimate

    Raises
    ------
    LimitError
        When the estimate is more than ``available``: one line naming ``cell_size`` and the
        smallest cell size that fits.
    """
    cells = int(n_rows) * int(n_cols)
    needed = analysis_memory(cells, months)
    have = available_memory() if available is None else int(available)
    est = MemoryEstimate(cells, int(months), float(cell_size), needed, have, None)
    if est.fits:
        return est
    smallest = smallest_cell_size(n_cols * cell_size, n_rows * cell_size, months, have)
    est = MemoryEstimate(cells, int(months), float(cell_size), needed, have, smallest)
    raise LimitError(est.message())
