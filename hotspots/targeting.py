"""How well a set of hotspot cells targets crime: PAI, PEI and RRI.

All three compare a set of flagged cells (hotspots chosen from one period, or forecast) with the
incidents of an evaluation period, on one :class:`~hotspots.grid.Grid`. Only cells inside the
study area count, for the flagged area ``a``, the total area ``A`` and the totals ``N``.

Notation: ``n`` incidents in flagged cells, ``N`` incidents in all cells, ``a`` flagged area,
``A`` total area (km²), ``k`` number of flagged cells.

* **Hit rate** ``n / N``: share of incidents captured.
* **Predictive Accuracy Index** (Chainey, Tompson & Uhlig 2008):
  ``PAI = (n / N) / (a / A)``; 1 means no better than flagging cells at random, higher is better.
* **Prediction Efficiency Index** (Hunt 2016): ``PEI = n / n*`` where ``n*`` is the most incidents
  any set of flagged cells of the same total area could have captured in the evaluation period
  (the ``k`` busiest cells, since all grid cells have the same area). 1 is a perfect choice.
  White, Hunt & Green (2023) propose a variant, PEI*, which we do not implement because its exact
  definition could not be checked; on a grid of equal cells "same area" and "same number of
  cells" coincide, which removes the ambiguity the variants address for unequal areas.
* **Recapture Rate Index** (Levine 2008, in the form commonly stated):
  ``RRI = (n₂ / n₁) / (N₂ / N₁)`` for an earlier period 1 and a later period 2: how the flagged
  cells' count changed relative to the whole area's. Above 1: the flagged cells' share grew.
  Other definitions exist — e.g. predicted / observed counts in Wheeler & Steenbeek (2021) and
  the R package ``ptools`` — and give different numbers; state which one you report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import ParameterError
from .grid import Grid, GridValues

__all__ = ["TargetingResult", "targeting_metrics", "pai", "pei", "rri", "top_cells"]


@dataclass(frozen=True)
class TargetingResult:
    """PAI, PEI and RRI of a set of flagged cells.

    Attributes
    ----------
    n : float
        Incidents in flagged cells in the evaluation period.
    N : float
        Incidents in all study-area cells in the evaluation period.
    n_cells : int
        Flagged cells inside the study area (``k``).
    total_cells : int
        Cells inside the study area.
    a_km2, A_km2 : float
        Flagged and total area, km².
    hit_rate : float
        ``n / N`` (0–1).
    area_share : float
        ``a / A`` (0–1).
    pai : float
        ``(n/N) / (a/A)``; NaN when ``N = 0`` or nothing is flagged.
    n_star : float
        Most incidents any ``k`` cells captured in the evaluation period.
    pei : float
        ``n / n*``; NaN when ``n* = 0``.
    rri : float or None
        ``(n₂/n₁) / (N₂/N₁)`` when an earlier period was given; NaN when ``n₁`` or ``N₁`` is 0.
    n_earlier, N_earlier : float or None
        ``n₁`` and ``N₁``.
    flagged_outside_area : int
        Flagged cells outside the study area, ignored.
    params : dict
    """

    n: float
    N: float
    n_cells: int
    total_cells: int
    a_km2: float
    A_km2: float
    hit_rate: float
    area_share: float
    pai: float
    n_star: float
    pei: float
    rri: float | None = None
    n_earlier: float | None = None
    N_earlier: float | None = None
    flagged_outside_area: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "N": self.N, "cells_flagged": self.n_cells, "cells_total": self.total_cells,
            "area_flagged_km2": self.a_km2, "area_total_km2": self.A_km2, "hit_rate": self.hit_rate,
            "area_share": self.area_share, "pai": self.pai, "n_star": self.n_star, "pei": self.pei,
            "rri": self.rri, "n_earlier": self.n_earlier, "N_earlier": self.N_earlier,
        }


def _div(a: float, b: float) -> float:
    return float(a) / float(b) if b != 0 else float("nan")


def pai(n: float, N: float, a: float, A: float) -> float:
    """Predictive Accuracy Index ``(n/N) / (a/A)`` from totals (any area unit, same for a and A).

    Examples
    --------
    >>> pai(30, 100, 2, 100)   # 30 % of crime on 2 % of the area
    15.0
    """
    for name, v in (("n", n), ("N", N), ("a", a), ("A", A)):
        if not np.isfinite(v) or v < 0:
            raise ParameterError(f"`{name}` must be a non-negative number; got {v!r}.")
    if n > N:
        raise ParameterError(f"`n` ({n}) cannot exceed `N` ({N}): flagged incidents are part of all incidents.")
    if a > A:
        raise ParameterError(f"`a` ({a}) cannot exceed `A` ({A}): the flagged area is part of the total area.")
    return _div(_div(n, N), _div(a, A))


def pei(n: float, n_star: float) -> float:
    """Prediction Efficiency Index ``n / n*``."""
    if n < 0 or n_star < 0 or n > n_star:
        raise ParameterError(f"`n` must be between 0 and `n_star`; got n={n}, n_star={n_star}.")
    return _div(n, n_star)


def rri(n2: float, n1: float, N2: float, N1: float) -> float:
    """Recapture Rate Index ``(n₂/n₁) / (N₂/N₁)`` (Levine 2008, common form)."""
    for name, v in (("n2", n2), ("n1", n1), ("N2", N2), ("N1", N1)):
        if not np.isfinite(v) or v < 0:
            raise ParameterError(f"`{name}` must be a non-negative number; got {v!r}.")
    return _div(_div(n2, n1), _div(N2, N1))


def _counts_array(counts: Any, grid: Grid, name: str) -> np.ndarray:
    if not isinstance(counts, GridValues):
        raise ParameterError(
            f"`{name}` must be a GridValues of incident counts (from `hotspots.grid.count`); got "
            f"{type(counts).__name__}."
        )
    if not counts.grid.same_as(grid):
        raise ParameterError(f"`{name}` is on a different grid from the hotspot cells; count both periods on the same `Grid`.")
    v = counts.values[grid.active]
    if np.isnan(v).any() or (v < 0).any():
        raise ParameterError(f"`{name}` has missing or negative counts inside the study area.")
    return v


def _mask_array(hotspots: Any, grid: Grid) -> np.ndarray:
    m = hotspots.values if isinstance(hotspots, GridValues) else hotspots
    m = np.asarray(m)
    if m.shape != grid.shape:
        raise ParameterError(f"`hotspots` must be a boolean array of the grid's shape {grid.shape}; got shape {m.shape}.")
    if m.dtype != bool:
        if np.issubdtype(m.dtype, np.number) and np.isin(m[~np.isnan(m.astype(float))], (0, 1)).all():
            m = np.nan_to_num(m.astype(float)) == 1
        else:
            raise ParameterError("`hotspots` must be boolean (True = hotspot cell); got values other than True/False/0/1.")
    return m


def targeting_metrics(hotspots: Any, counts: GridValues, *, earlier: GridValues | None = None) -> TargetingResult:
    """PAI, PEI (and RRI) of flagged cells against an evaluation period's counts.

    Parameters
    ----------
    hotspots : ndarray of bool, shape ``grid.shape``, or GridValues
        True for flagged (hotspot) cells, e.g. ``gistar_classes > 0`` or :func:`top_cells`.
        Flagged cells outside the study area are ignored (their number is reported).
    counts : GridValues
        Incident counts per cell in the evaluation period (``hotspots.grid.count``).
    earlier : GridValues, optional
        Counts in an earlier period on the same grid, for the RRI.

    Returns
    -------
    TargetingResult

    Raises
    ------
    ParameterError
        When nothing inside the study area is flagged, the grids differ, or counts are negative.
    """
    if not isinstance(counts, GridValues):
        raise ParameterError(f"`counts` must be a GridValues of incident counts; got {type(counts).__name__}.")
    grid = counts.grid
    m_full = _mask_array(hotspots, grid)
    active = grid.active
    outside = int((m_full & ~active).sum())
    m = m_full[active]
    k = int(m.sum())
    if k == 0:
        raise ParameterError("`hotspots` flags no cell inside the study area; there is nothing to evaluate.")
    c = _counts_array(counts, grid, "counts")
    n = float(c[m].sum())
    N = float(c.sum())
    total = int(active.sum())
    cell_km2 = grid.cell_size**2 / 1e6
    a, A = k * cell_km2, total * cell_km2
    n_star = float(np.sort(c)[::-1][:k].sum())
    res_rri = n1 = N1 = None
    if earlier is not None:
        e = _counts_array(earlier, grid, "earlier")
        n1, N1 = float(e[m].sum()), float(e.sum())
        res_rri = rri(n, n1, N, N1)
    return TargetingResult(
        n=n, N=N, n_cells=k, total_cells=total, a_km2=a, A_km2=A, hit_rate=_div(n, N), area_share=_div(a, A),
        pai=pai(n, N, a, A), n_star=n_star, pei=_div(n, n_star), rri=res_rri, n_earlier=n1, N_earlier=N1,
        flagged_outside_area=outside,
        params={"cell_size_m": grid.cell_size, "rri_definition": "(n2/n1)/(N2/N1), Levine 2008 as commonly stated",
                "pei_definition": "n / (incidents in the k busiest cells), Hunt 2016"},
    )


def top_cells(values: GridValues, *, share: float | None = None, n: int | None = None) -> np.ndarray:
    """The cells with the highest values: a hotspot mask from a density or count surface.

    Parameters
    ----------
    values : GridValues
        E.g. a KDE surface or counts from an earlier period.
    share : float, optional
        Fraction of study-area cells to flag (0–1), rounded to the nearest whole cell (at least one).
    n : int, optional
        Number of cells to flag. Give exactly one of ``share`` and ``n``.

    Returns
    -------
    ndarray of bool, shape ``grid.shape``
        Ties at the cut-off are broken by cell order (north-west first), so the mask has exactly
        the requested number of cells.
    """
    if (share is None) == (n is None):
        raise ParameterError("give exactly one of `share` (fraction of cells) and `n` (number of cells).")
    grid = values.grid
    active_idx = np.flatnonzero(grid.active.ravel())
    total = len(active_idx)
    if share is not None:
        if not (0 < share <= 1):
            raise ParameterError(f"`share` must be in (0, 1]; got {share!r}.")
        k = max(1, int(round(share * total)))
    else:
        if int(n) != n or not (1 <= n <= total):
            raise ParameterError(f"`n` must be a whole number of cells between 1 and {total}; got {n!r}.")
        k = int(n)
    v = values.values.ravel()[active_idx]
    v = np.where(np.isnan(v), -np.inf, v)
    order = np.argsort(-v, kind="stable")[:k]
    out = np.zeros(grid.n_rows * grid.n_cols, dtype=bool)
    out[active_idx[order]] = True
    return out.reshape(grid.shape)
