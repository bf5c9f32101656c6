"""Compiled (numba) loops of the kernel density engine.

The point-by-point work of :mod:`hotspots.kde_engine` runs in compiled loops
(:mod:`hotspots.kde_loops`) when numba is installed (:data:`USE_NUMBA`); the engine has numpy
versions of the same arithmetic for when it is not. They are compiled on first use and cached on
disk by numba (module-level functions: a new process loads them instead of compiling).

Loops (all release the GIL):

* ``prepare`` - nearest extended-lattice node, offsets and sub-cell phase of every point (points
  sorted by lattice row), for the Gaussian and the numpy-shaped paths;
* ``prep_rows`` - the same for the polynomial kernels, grouped by row, each point's node being
  its cell by :meth:`hotspots.grid.Grid.cell_of`'s arithmetic, so that ``cell_rows`` also gives
  the counts per cell (one pass over the points serves both the counts and the density);
  ``prep_rows_into`` the same into given arrays (a stream reuses them from chunk to chunk);
* ``cell_rows`` / ``cell_pass`` / ``cell_pass_bands`` - the polynomial kernels one source cell at
  a time (see ``cell_rows``), on one thread or on bands of rows in parallel;
* ``interior_from_moments`` - the interior offsets of every occupied cell from accumulated moment
  grids (the sparse alternative to an FFT convolution when few cells are occupied);
* ``scatter_gauss`` - the Gaussian kernel point by point;
* ``count_off_grid`` - points off the grid, by the same arithmetic as :func:`hotspots.density.kde`.
"""

from __future__ import annotations

import functools
import os
from typing import Any, NamedTuple

import numpy as np

__all__ = ["USE_NUMBA", "CompiledLoops", "compiled_loops", "QUARTIC_ORDER", "EPANECHNIKOV_ORDER"]

#: Order of the moments (exponents of dx/h, dy/h and |d|²/h²) that the unrolled loops of
#: ``cell_rows`` assume for the quartic and Epanechnikov kernels (any other order takes the
#: general loop).
QUARTIC_ORDER = np.array([[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0], [0, 1, 1], [0, 2, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0],
                          [2, 0, 0]], dtype=np.int64)
EPANECHNIKOV_ORDER = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]], dtype=np.int64)

#: Use compiled (numba) loops for the point-by-point work when numba is installed. The numpy
#: path gives the same numbers; set to False (or the environment variable HOTSPOTS_NO_NUMBA=1)
#: to force it.
USE_NUMBA = os.environ.get("HOTSPOTS_NO_NUMBA", "") == ""


class CompiledLoops(NamedTuple):
    """The compiled loops (see the module documentation)."""

    scatter_gauss: Any
    prepare: Any
    prep_rows: Any
    prep_rows_into: Any
    cell_rows: Any
    cell_pass: Any
    cell_pass_bands: Any
    interior_from_moments: Any
    count_off_grid: Any


def compiled_loops() -> CompiledLoops | None:
    """The compiled loops, or None when numba is not installed or :data:`USE_NUMBA` is False."""
    if not USE_NUMBA:
        return None
    return _build()


@functools.lru_cache(maxsize=1)
def _build() -> CompiledLoops | None:
    try:
        from . import kde_loops
    except ImportError:  # pragma: no cover - numba is not installed
        return None
    return CompiledLoops(kde_loops.scatter_gauss, kde_loops.prepare, kde_loops.prep_rows, kde_loops.prep_rows_into,
                         kde_loops.cell_rows, kde_loops.cell_pass, kde_loops.cell_pass_bands, kde_loops.interior_from_moments,
                         kde_loops.count_off_grid)
