"""Emerging hot spots: space-time Gi*, Mann–Kendall trends and ArcGIS Pro's pattern categories.

:func:`emerging_hotspots` follows ArcGIS Pro's *Emerging Hot Spot Analysis*:

1. **Space-time cube.** Incidents are counted per grid cell (the study-area cells of a
   :class:`~hotspots.Grid`, zeros included — ArcGIS does the same with a polygon analysis mask;
   without one it keeps only locations with at least one incident, which inflates hot spots) and
   per time step of ``time_step`` calendar months.
   An incident's date is its ``occurred`` date where present, else the first day of its ``month``
   (:func:`hotspots.change.incident_dates`). Time steps are aligned to the **end** of the period
   (ArcGIS's default time-step alignment): when the months between ``start`` and ``end`` do not
   divide into whole steps, the leftover months at the start are left out and a note says so.
   A time step holding a month the data do not cover (a monthly file missing, or published in
   part: :func:`hotspots.coverage.month_coverage`) is left out too, with a warning, and the steps
   either side are taken as consecutive: counted, that month would read as a cold spot and a
   break in every trend (``params["steps_left_out"]``). The other steps keep their calendar
   years for the year-to-year variation below (:func:`hotspots.trend.step_ages`): counted back as
   consecutive steps, a year reached a month into the one before and the first whole year fell to
   a part block (simulated hotspots varying 15 % a year, a month of 36 missing: estimates of
   6.6–16.4 % where every month loaded gives 10.7–14.0 %; now within 0.01 of it).
2. **Gi* per bin.** Two versions (``time_window``):

   * ``time_window = k >= 1`` — **space-time Gi*** (ArcGIS's "neighbourhood time step", default
     1): the neighbourhood of bin (cell ``i``, step ``t``) is every study-area cell within
     ``distance`` of ``i`` (``i`` itself included), at steps ``t - k`` to ``t`` (ArcGIS looks
     back only: "bins that have the same location in the previous N time steps"). With binary
     weights, the neighbourhood sum ``S`` is the spatial stencil sum (:mod:`hotspots.neighbours`)
     summed over those steps, and ``W = W_space x (number of steps in the window)`` (fewer at the
     start of the cube, whose steps the trend leaves out: 4.). The mean ``Ybar``, the population
     standard deviation ``s`` and ``n`` are over **all bins of the cube** (ArcGIS's default global
     window, "entire cube")::

         z = (S - Ybar W) / (s sqrt((n W - W²) / (n - 1)))

     which is esda's ``G_Local(y, w, transform="B", star=True).Zs`` on the cube's bins with those
     space-time neighbours (checked in the tests).
   * ``time_window = 0`` — **per-slice Gi***: :func:`hotspots.gi_star` on each time step's counts
     on its own (neighbours in space only; mean, variance and ``n`` of that step, ArcGIS's
     "individual time step" global window). The z-scores and p-values are exactly those of
     ``gi_star``.

   **Each bin's p-value** (``inference``). By default (``"count"``) a bin is judged by the exact
   count test of its neighbourhood sum, as :func:`hotspots.gi_star` judges a cell
   (:func:`hotspots.gi_inference.count_test_tails`): the window's sum against its distribution
   when no hot spot exists, incidents falling on an uneven background whose cell rates are drawn
   once (negative binomial dispersion ``kappa_s``, fitted to the cells' totals over the cube with
   the busiest cells censored) and vary from month to month around it (``kappa_t``,
   :func:`hotspots.dispersion.estimate_kappa`); a window of ``j`` steps holds ``j`` months of each
   of its cells, so the sum is negative binomial over its cells (binomial when both are 0). A bin
   is hot or cold by the nearer tail; the background is in ``params["background"]``.
   ``inference="normal"`` takes the two-sided normal p of ``z`` (ArcGIS). Monthly counts per
   cell are sparse and skewed, and the normal p calls hot bins in noise: on random cubes
   (incidents uniform over a 20 km square, 36 months, 250 m cells) it gave a hot spot category
   ("sporadic", "new", "consecutive") to cells of 100 % of cubes at 300 incidents a year, 86 % at
   3,000 and 33 % at 30,000, and 100 % on an uneven background with no clustering; the count test
   to none of them (calibration suite, ``emerging_patterns``; docs/calibration.md for the power it
   costs on small hotspots). Per-slice Gi* uses ``gi_star``'s own p-values for the same reason.
3. **Multiple testing.** With ``fdr=True`` the Benjamini–Hochberg correction (ArcGIS applies FDR
   in this tool) is applied over **the whole cube** for space-time Gi* (one analysis of all bins)
   and **per time step** for per-slice Gi* (one hot spot analysis per step, as ``gi_star`` does);
   ``fdr="cube"`` or ``fdr="slice"`` chooses explicitly, ``fdr=False`` turns it off. As in
   ``gi_star``, the hot side and the cold side get one step-up each, against all bins
   (:func:`hotspots.fdr.bh_adjust_by_side`: empty ground's certain cold bins do not lift chance
   hot ones; ArcGIS adjusts both sides together). A bin is a
   significant hot (cold) spot when its decision p-value is ``<= alpha`` on the hot (cold) side.
4. **Trend.** The Mann–Kendall test (:func:`hotspots.trend.mann_kendall_many`, two-sided,
   continuity-corrected, level ``alpha``) on each cell's series of Gi* z-scores: ArcGIS's
   "trend in the intensity of clustering", over the steps whose window is full (``k + 1`` to ``T``).
   The first ``k`` steps' windows are shorter, so a steadily hot cell's z is lower there (``1/sqrt(2)``
   of the others' at the first step with ``k = 1``), and the whole series read as a rise: Gwent's 2025
   ASB with each incident given a random month (days-weighted), 24 draws, had 248 intensifying and 0
   diminishing hot spot cells (7.4 % of 3,354), now 108 and 31 (4.1 %; 73 and 64 with months of equal
   length: February's short month falls in the first full windows). With ``time_window = k >= 1``
   neighbouring bins share ``k`` time steps, so each z series is autocorrelated even when nothing trends and the plain
   test calls trends too often (14 % of cells at alpha 5 % on a null cube with ``k = 1``). The
   variance of Mann–Kendall's S is therefore multiplied by the Hamed & Rao (1998) factor for the
   known autocorrelation of a ``k + 1``-step moving sum
   (:func:`hotspots.trend.moving_sum_variance_factor`): 4.6 % on null cubes (calibration suite).
   **Year-to-year variation.** Places' rates vary from year to year around a stable level
   (police.uk ASB: about 12 % by hotspot), and the months of one year share that year's level:
   the plain test reads a busy year followed by a quiet one as a trend (26 % of simulated hotspot
   cells varying 12 % from year to year, nothing trending; calibration suite, 100 cubes). That
   variation is estimated from the data (:func:`hotspots.trend.block_level_variance`: each busy cell's
   neighbourhood counts per step, an analysis of variance over whole years, a median over the
   cells so that places which really changed do not set it), each cell's share of it follows
   from its own counts (:func:`hotspots.trend.level_shares`), and ``Var(S)`` is multiplied by
   Hamed & Rao's factor for the autocorrelation it causes together with the window
   (:func:`hotspots.trend.level_variance_factors`): 4.7 % of those cells. The estimate is in
   ``params["year_to_year_variation"]`` and the notes; with under two whole years, or no
   variation beyond the months', the test is as before. The price is power where places do vary:
   half the hotspots growing 50 % over three years, 33 % of their cells found instead of 77 %
   (with the time-window correction alone, which also calls a trend in 26 % of the others).
   The trend of the counts themselves is reported too
   (``count_trend_z``/``count_trend_p``, with each cell's own year-to-year factor), as ArcGIS adds
   to the cube; it does not enter the categories. Mann–Kendall needs about ten time steps: with
   fewer a warning is issued.
5. **Categories** (:func:`classify_emerging`), from each cell's hot/cold series and z-trend.

Categories (ArcGIS Pro, "How Emerging Hot Spot Analysis works")
---------------------------------------------------------------
With ``T`` time steps, a *hot bin* a significant hot spot, ``share`` the fraction of the ``T``
steps that are hot bins and "90 %" meaning ``share >= 0.9``:

====================  ==========================================================================
new                   hot in the final step, never a hot bin before
consecutive           a single uninterrupted run of at least two hot bins ending in the final
                      step, never hot before the run, share < 90 %
intensifying          share >= 90 % including the final step, significant upward z-trend
persistent            share >= 90 % (final step hot), no significant z-trend
diminishing           share >= 90 % including the final step, significant downward z-trend
sporadic              hot in the final step, on and off before, share < 90 %, never a cold bin
oscillating           hot in the final step, a significant cold bin in some earlier step,
                      share < 90 %
historical            not hot in the final step, share >= 90 %
no pattern detected   none of the above (hot or cold)
====================  ==========================================================================

Cold categories mirror these with cold bins (and a downward trend for *intensifying* cold spots).
Where the documented definitions overlap, this module decides as follows (documented choices):

* A location hot in the final step is judged on the hot side; one cold in the final step on the
  cold side; one that is neither can only be *historical* (hot or cold) or no pattern.
* *Persistent* needs the final step hot (a location hot >= 90 % of the time but not in the final
  step is *historical*), so every location has exactly one category.
* *New* and *consecutive* require that the location was never a significant spot of either kind
  before: a location that was a cold spot earlier and is hot now is *oscillating* (it swung from
  cold to hot), as in R's ``sfdep``.

Codes follow ArcGIS's ``CATEGORY`` field: 1 new, 2 consecutive, 3 intensifying, 4 persistent,
5 diminishing, 6 sporadic, 7 oscillating, 8 historical hot spot; the negatives for cold spots;
0 no pattern detected.

Performance: counting, Gi* and the trend tests are vectorised; space-time Gi* works on the study-area
cells and tests each distinct window once (:mod:`hotspots.emerging_gi`), Mann–Kendall's pairs run in a
compiled loop (:mod:`hotspots.emerging_compiled`). A force over three years of months at 250 m (~40,000
cells x 39 steps) takes a few seconds, the demo at 50 m (about a million cells) 20–30 s
(``python -m benchmarks.emerging``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from . import validation
from ._errors import ParameterError
from .change import incident_dates
from .coverage import month_coverage, month_label, month_number, month_spans
from .emerging_gi import space_time_count_p, space_time_z
from .fdr import bh_adjust_by_side
from .gistar import gi_star
from .grid import Grid, GridValues, points_xy
from .incident_time import month_numbers
from .neighbours import auto_distance, disc_stencil, fallback_distance, neighbour_count, neighbour_sum
from .trend import (
    MKManyResult,
    block_level_variance,
    level_shares,
    level_variance_factors,
    mann_kendall_many,
    moving_sum_variance_factor,
)

__all__ = [
    "EmergingResult",
    "emerging_hotspots",
    "classify_emerging",
    "CATEGORY_LABELS",
    "CATEGORY_CODES",
    "PATTERNS",
    "PERSISTENT_SHARE",
    "MIN_STEPS_FOR_TREND",
]

#: Pattern names in ArcGIS's order (code 1..8 for hot spots, -1..-8 for cold spots).
PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
#: Label per category code.
CATEGORY_LABELS: dict[int, str] = {0: "no pattern detected"}
for _k, _name in enumerate(PATTERNS, start=1):
    CATEGORY_LABELS[_k] = f"{_name} hot spot"
    CATEGORY_LABELS[-_k] = f"{_name} cold spot"
#: Code per category label.
CATEGORY_CODES: dict[str, int] = {v: k for k, v in CATEGORY_LABELS.items()}
#: "90 % of the time-step intervals".
PERSISTENT_SHARE = 0.9
#: Below this many time steps the Mann–Kendall trend is unreliable (ArcGIS's advice) and we warn.
MIN_STEPS_FOR_TREND = 10
#: Smallest mean neighbourhood count per time step of the cells year-to-year variation is
#: estimated from (:func:`hotspots.trend.block_level_variance`).
LEVEL_MIN_MEAN = 5.0
#: Label of cells outside the study area.
OUTSIDE = "outside"

_STEP_WORDS = {"month": 1, "months": 1, "quarter": 3, "quarters": 3, "year": 12, "years": 12}


# =============================================================================== classifier
def classify_emerging(
    z: Any,
    significant: Any,
    *,
    alpha: float = 0.05,
    trend: MKManyResult | None = None,
) -> np.ndarray:
    """ArcGIS Pro emerging hot spot category of each location from its Gi* series.

    Parameters
    ----------
    z : array-like of float, shape (n_locations, T) or (T,)
        Gi* z-scores per time step, oldest first. Only the sign is used for hot/cold, and the
        Mann–Kendall trend of the series (unless ``trend`` is given).
    significant : array-like of bool, same shape
        Whether each bin is statistically significant (after any FDR correction). A hot bin is
        significant with ``z > 0``, a cold bin significant with ``z < 0``.
    alpha : float
        Level of the Mann–Kendall trend test (ignored when ``trend`` is given).
    trend : MKManyResult, optional
        A precomputed trend test of ``z`` (one entry per location).

    Returns
    -------
    ndarray of int8, shape (n_locations,)
        Category codes (:data:`CATEGORY_LABELS`), see the module docs for the rules.

    Examples
    --------
    >>> sig = [False, False, True, True]
    >>> CATEGORY_LABELS[int(classify_emerging([0.1, 0.3, 2.5, 3.0], sig)[0])]
    'consecutive hot spot'
    """
    zz = np.asarray(z, dtype=float)
    ss = np.asarray(significant)
    if zz.ndim == 1:
        zz = zz[None, :]
        ss = ss[None, :] if ss.ndim == 1 else ss
    if zz.ndim != 2:
        raise ParameterError(f"`z` must be one series (T,) or an array (n_locations, T); got shape {zz.shape}.")
    if ss.shape != zz.shape:
        raise ParameterError(f"`significant` must have the shape of `z` {zz.shape}; got {ss.shape}.")
    if ss.dtype != bool:
        raise ParameterError("`significant` must be booleans (True where a bin is statistically significant).")
    n, T = zz.shape
    if T < 2:
        raise ParameterError(f"emerging hot spot categories need at least 2 time steps; got {T}.")
    if trend is None:
        trend = mann_kendall_many(np.nan_to_num(zz), alpha=alpha, slope=False)
    elif len(trend) != n:
        raise ParameterError(f"`trend` has {len(trend)} series but `z` has {n}.")
    up = np.asarray(trend.trend) == "up"
    down = np.asarray(trend.trend) == "down"
    pos = np.nan_to_num(zz) > 0
    neg = np.nan_to_num(zz) < 0
    hot = ss & pos
    cold = ss & neg
    codes = np.zeros(n, dtype=np.int8)
    for sign, a, b, toward, away in ((1, hot, cold, up, down), (-1, cold, hot, down, up)):
        n_a = a.sum(axis=1)
        final = a[:, -1]
        # length of the run ending in the final step: where the last non-a bin is, counted from the end
        run = np.where(a.all(axis=1), T, np.argmin(a[:, ::-1], axis=1))
        before_run = n_a - run  # a-bins before that run
        ever_b = b.any(axis=1)
        mostly = n_a >= PERSISTENT_SHARE * T - 1e-9
        cat = np.zeros(n, dtype=np.int8)
        fin_m = final & mostly
        cat[fin_m & toward] = 3  # intensifying
        cat[fin_m & away] = 5  # diminishing
        cat[fin_m & ~toward & ~away] = 4  # persistent
        fin_f = final & ~mostly
        cat[fin_f & ever_b] = 7  # oscillating
        rest = fin_f & ~ever_b
        cat[rest & (n_a == 1)] = 1  # new
        cat[rest & (run >= 2) & (before_run == 0)] = 2  # consecutive
        cat[rest & (before_run > 0)] = 6  # sporadic
        cat[~final & mostly & ~b[:, -1]] = 8  # historical
        take = (cat != 0) & (codes == 0)
        codes[take] = sign * cat[take]
    return codes


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class EmergingResult:
    """Emerging hot spot analysis on a grid.

    Grid-shaped arrays have the grid's shape (row 0 north); cubes have shape
    ``(T, n_rows, n_cols)``, oldest step first. Cells outside the study area hold NaN (floats),
    0 (integers) or ``"outside"``.

    Attributes
    ----------
    categories : ndarray of int8, grid shape
        Category code per cell (:data:`CATEGORY_LABELS`; 0 = no pattern, and outside).
    z, p : ndarray of float, cube
        Gi* z-score and two-sided p-value of every bin.
    p_adjusted : ndarray of float, cube, or None
        Benjamini–Hochberg q-values (``fdr`` on), else None.
    hot_cold : ndarray of int8, cube
        +1 significant hot bin, -1 significant cold bin, 0 neither (or outside).
    counts : ndarray of int32, cube
        Incidents per bin (0 outside the study area).
    time_steps : DataFrame
        One row per step: ``step`` (0..T-1), ``start``, ``end`` (first and last day),
        ``label`` (e.g. ``"2023-07"`` or ``"2023-07 – 2023-09"``), ``incidents``.
    trend_z, trend_p : ndarray of float, grid shape
        Mann–Kendall z and p of each cell's Gi* z series (the steps whose window is full; NaN when
        they are all equal).
    trend : ndarray of str, grid shape
        ``"up"``, ``"down"``, ``"none"`` (``""`` outside).
    count_trend_z, count_trend_p : ndarray of float, grid shape
        Mann–Kendall z and p of each cell's counts.
    n_hot, n_cold : ndarray of int, grid shape
        Significant hot / cold bins per cell.
    grid : Grid
    params : dict
        Every setting, the distance choice and the cube's size.
    notes : tuple of str
        Automatic choices and data problems, for captions.
    """

    categories: np.ndarray
    z: np.ndarray = field(repr=False)
    p: np.ndarray = field(repr=False)
    p_adjusted: np.ndarray | None = field(repr=False)
    hot_cold: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    time_steps: pd.DataFrame = field(repr=False)
    trend_z: np.ndarray = field(repr=False)
    trend_p: np.ndarray = field(repr=False)
    trend: np.ndarray = field(repr=False)
    count_trend_z: np.ndarray = field(repr=False)
    count_trend_p: np.ndarray = field(repr=False)
    n_hot: np.ndarray = field(repr=False)
    n_cold: np.ndarray = field(repr=False)
    grid: Grid = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_steps(self) -> int:
        return int(self.z.shape[0])

    @cached_property
    def labels(self) -> np.ndarray:
        """Category label per cell (str array, ``"outside"`` outside the study area)."""
        table = np.array([CATEGORY_LABELS[c] for c in range(-8, 9)] + [OUTSIDE], dtype=object)
        return table[np.where(self.grid.active, self.categories.astype(np.int64) + 8, 17)]

    def summary(self) -> pd.DataFrame:
        """Cells per category: ``category``, ``code``, ``cells``, ``share`` of study-area cells
        (all 17 categories, hot codes first, then no pattern, then cold)."""
        act = self.categories[self.grid.active].astype(np.int64)
        n = max(int(act.size), 1)
        order = list(range(1, 9)) + [0] + list(range(-1, -9, -1))
        cnt = np.bincount(act + 8, minlength=17)
        return pd.DataFrame(
            {
                "category": [CATEGORY_LABELS[c] for c in order],
                "code": order,
                "cells": [int(cnt[c + 8]) for c in order],
                "share": [cnt[c + 8] / n for c in order],
            }
        )

    def series(self, row: int, col: int) -> pd.DataFrame:
        """One cell's time series: step, label, count, z, p, (p_adjusted), hot_cold."""
        if not (0 <= row < self.grid.n_rows and 0 <= col < self.grid.n_cols) or not self.grid.active[row, col]:
            raise ParameterError(f"cell (row {row}, col {col}) is not a study-area cell of the grid.")
        df = self.time_steps[["step", "label"]].copy()
        df["count"] = self.counts[:, row, col]
        df["z"] = self.z[:, row, col]
        df["p"] = self.p[:, row, col]
        if self.p_adjusted is not None:
            df["p_adjusted"] = self.p_adjusted[:, row, col]
        df["hot_cold"] = self.hot_cold[:, row, col]
        return df

    def to_geodataframe(self, *, only_patterns: bool = False) -> gpd.GeoDataFrame:
        """Study-area cells as polygons with their category and trend.

        Columns: ``row``, ``col``, ``category`` (label), ``category_code``, ``trend_z``,
        ``trend_p``, ``trend``, ``count_trend_z``, ``count_trend_p``, ``n_hot``, ``n_cold``,
        ``hot_final``, ``cold_final`` (significant in the final step), ``count`` (incidents over
        all steps), ``geometry``.

        Parameters
        ----------
        only_patterns : bool
            Keep only cells with a pattern (category other than "no pattern detected").
        """
        g = self.grid
        sel = g.active.copy()
        if only_patterns:
            sel &= self.categories != 0
        rr, cc = np.nonzero(sel)
        return gpd.GeoDataFrame(
            {
                "row": rr,
                "col": cc,
                "category": self.labels[rr, cc].astype(object),
                "category_code": self.categories[rr, cc].astype(np.int64),
                "trend_z": self.trend_z[rr, cc],
                "trend_p": self.trend_p[rr, cc],
                "trend": self.trend[rr, cc].astype(object),
                "count_trend_z": self.count_trend_z[rr, cc],
                "count_trend_p": self.count_trend_p[rr, cc],
                "n_hot": self.n_hot[rr, cc].astype(np.int64),
                "n_cold": self.n_cold[rr, cc].astype(np.int64),
                "hot_final": self.hot_cold[-1, rr, cc] > 0,
                "cold_final": self.hot_cold[-1, rr, cc] < 0,
                "count": self.counts[:, rr, cc].sum(axis=0).astype(np.int64),
            },
            geometry=g.cell_polygons(rr, cc),
            crs=g.crs,
        )


# =============================================================================== the cube
def _month_number(value: Any, name: str) -> int:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise ParameterError(f"`{name}` must be a month such as '2023-07' (or a date in it); got {value!r}.")
    return ts.year * 12 + ts.month - 1


def _step_months(time_step: Any) -> int:
    if isinstance(time_step, str) and time_step.strip().lower() in _STEP_WORDS:
        return _STEP_WORDS[time_step.strip().lower()]
    if isinstance(time_step, bool) or not isinstance(time_step, (int, np.integer)) or int(time_step) < 1:
        raise ParameterError(
            f"`time_step` must be 'month', 'quarter', 'year' or a whole number of months >= 1; got {time_step!r}."
        )
    return int(time_step)


def _cube(
    incidents: Any, grid: Grid, step: int, start: Any, end: Any, keep: Any = ()
) -> tuple[np.ndarray, pd.DataFrame, dict[str, Any], list[str]]:
    """Counts (T, n_rows, n_cols), the time-step table, counting figures and notes."""
    if not isinstance(incidents, pd.DataFrame):
        raise ParameterError(f"`incidents` must be a GeoDataFrame of incident points; got {type(incidents).__name__}.")
    notes: list[str] = []
    dates, _ = incident_dates(incidents)
    has_date = ~np.isnat(dates)
    mnum = month_numbers(dates)
    if not has_date.any():
        raise ParameterError("no incident has a usable date (`occurred` or `month`); the space-time cube would be empty.")
    m0 = _month_number(start, "start") if start is not None else int(mnum[has_date].min())
    m1 = _month_number(end, "end") if end is not None else int(mnum[has_date].max())
    if m1 < m0:
        raise ParameterError(f"`end` ({month_label(m1)}) is before `start` ({month_label(m0)}); give `start` <= `end`.")
    n_months = m1 - m0 + 1
    T = n_months // step
    if T < 2:
        raise ParameterError(
            f"the period {month_label(m0)} – {month_label(m1)} holds {T} whole time step(s) of {step} month(s); "
            "emerging hot spots need at least 2 (and about 10 for a trustworthy trend). Use a longer period or a "
            "shorter `time_step`."
        )
    left_out = n_months - T * step
    first = m0 + left_out
    if left_out:
        notes.append(
            f"{left_out} month(s) at the start ({month_label(m0)} – {month_label(first - 1)}) do not fill a whole time step "
            f"of {step} months and are left out (time steps are aligned to the end of the period, as ArcGIS does)"
        )
    xy = points_xy(incidents, grid.crs, name="incidents")
    rows, cols, on_grid = grid.cell_of(xy)
    flat = rows * grid.n_cols + cols
    in_area = on_grid & grid.active.ravel()[flat]
    in_time = has_date & (mnum >= first) & (mnum <= m1)
    use = in_area & in_time
    size = grid.n_rows * grid.n_cols
    t_idx = (mnum[use] - first) // step
    cube = np.bincount(t_idx * size + flat[use], minlength=T * size).reshape(T, grid.n_rows, grid.n_cols).astype(np.int32)
    starts = [first + k * step for k in range(T)]
    ends = [s + step - 1 for s in starts]
    steps = pd.DataFrame(
        {
            "step": np.arange(T),
            "start": pd.to_datetime([f"{month_label(s)}-01" for s in starts]),
            "end": pd.to_datetime([f"{month_label(e)}-01" for e in ends]) + pd.offsets.MonthEnd(0),
            "label": [month_label(s) if step == 1 else f"{month_label(s)} – {month_label(e)}" for s, e in zip(starts, ends)],
            "incidents": cube.reshape(T, -1).sum(axis=1).astype(np.int64),
        }
    )
    figures = {
        "incidents_counted": int(use.sum()),
        "incidents_without_date": int((~has_date).sum()),
        "incidents_outside_period": int((has_date & ~in_time).sum()),
        "incidents_outside_area": int((~in_area).sum()),
        "first_month": month_label(first),
        "last_month": month_label(m1),
        "months_left_out": int(left_out),
    }
    cover = month_coverage(mnum).kept(month_number(k) for k in keep)  # the one keep rule (hotspots.coverage)
    gone = [m for m in cover.missing if first <= m <= m1]
    part = [m for m in cover.incomplete if first <= m <= m1]
    figures["missing_months"] = [month_label(m) for m in gone]
    figures["incomplete_months"] = [month_label(m) for m in part]
    # a month the data do not cover (hotspots.coverage) would read as a month of no or few incidents
    # everywhere: its time step is left out, and the steps either side follow each other
    drop = sorted({(m - first) // step for m in (*gone, *part)})
    figures["steps_left_out"] = [str(steps["label"].iat[t]) for t in drop]
    figures["incidents_in_steps_left_out"] = int(steps["incidents"].iloc[drop].sum()) if drop else 0
    if drop:
        keep = np.setdiff1d(np.arange(T), drop)
        if keep.size < 2:
            raise ParameterError(
                f"leaving out the time steps the data do not cover ({', '.join(figures['steps_left_out'])}) leaves fewer than "
                "2; load the missing months, or use a longer period or a shorter `time_step`."
            )
        cube = cube[keep]
        steps = steps.iloc[keep].reset_index(drop=True).assign(step=np.arange(keep.size))
        figures["incidents_counted"] -= figures["incidents_in_steps_left_out"]
        why = []
        if gone:
            why.append(f"no data for {month_spans(gone, sizes=True)} (no incident at all in a month where a typical "
                       "month holds many; probably a monthly file not loaded)")
        if part:
            why.append(f"{month_spans(part, sizes=True)} {'holds' if len(part) == 1 else 'hold'} under half the "
                       "incidents of a typical month and of the months either side (probably published in part)")
        steps_out = validation.names_text(figures["steps_left_out"])
        msg = (
            f"{'; '.join(why)}: time step{'s' if len(drop) > 1 else ''} {steps_out} left out of "
            f"the cube ({figures['incidents_in_steps_left_out']:,} incidents), as a month of no or few incidents everywhere "
            "would read as a cold spot and a break in every trend; the steps either side are taken as consecutive"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)
    if figures["incidents_without_date"]:
        notes.append(f"{figures['incidents_without_date']} incident(s) without a date are not counted")
    if figures["incidents_outside_area"]:
        notes.append(f"{figures['incidents_outside_area']} incident(s) outside the grid's study area are not counted")
    return cube, steps, figures, notes


def _check_options(time_window: Any, alpha: Any, fdr: Any) -> tuple[int, float, str | None]:
    validation.whole(time_window, "time_window", low=0, unit="time steps", example="0 for per-slice Gi*, 1 as ArcGIS")
    a = validation.alpha(alpha)
    if fdr is True:
        scope = "cube" if int(time_window) > 0 else "slice"
    elif fdr is False or fdr is None:
        scope = None
    elif isinstance(fdr, str) and fdr in ("cube", "slice"):
        scope = fdr
    else:
        raise ParameterError(f"`fdr` must be True, False, 'cube' or 'slice'; got {fdr!r}.")
    return int(time_window), a, scope


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    grid: Grid,
    *,
    time_step: int | str = "month",
    start: Any = None,
    end: Any = None,
    distance: float | None = None,
    time_window: int = 1,
    alpha: float = 0.05,
    fdr: bool | str = True,
    inference: str = "count",
    seed: int | None = 0,
    keep_months: Any = (),
) -> EmergingResult:
    """Emerging hot spot analysis (ArcGIS Pro's method; see the module docs for every rule).

    Parameters
    ----------
    incidents : GeoDataFrame
        Incident points in the grid's CRS with ``occurred`` and/or ``month``.
    grid : Grid
        The cells analysed: every study-area cell takes part, zero counts included.
    time_step : "month", "quarter", "year" or int
        Length of a time step in calendar months.
    start, end : month-like, optional
        First and last month of the cube (``"2022-01"``, ``"2025-03"``, or any date in the
        month); default the first and last month with incidents. Steps are aligned to ``end``.
    distance : float, optional
        Neighbourhood radius in metres (centre to centre, at least one cell size). ``None``
        chooses it automatically from the counts summed over all steps
        (:func:`hotspots.neighbours.auto_distance`); the choice is announced in ``notes``.
    time_window : int, default 1
        Earlier time steps in each bin's neighbourhood (space-time Gi*, ArcGIS's "neighbourhood
        time step"); 0 = per-slice Gi* (space only, each step on its own).
    alpha : float, default 0.05
        Significance level of the bins (after FDR) and of the Mann–Kendall trend.
    fdr : bool or {"cube", "slice"}, default True
        Benjamini–Hochberg over the cube (space-time Gi*) or per step (per-slice Gi*) when True.
    inference : {"count", "normal"}, default "count"
        How each bin is judged: the exact count test of its neighbourhood sum (holds its
        false-alarm rate on sparse monthly counts), or the two-sided normal p of its z (ArcGIS,
        which calls hot bins in noise: "sporadic" and "new" hot spots on every random cube).
    seed : int or None
        Recorded in ``params`` for reproducibility; the analytic method draws no random numbers.
    keep_months : iterable of "YYYY-MM"
        Months the user says are complete (``Settings.keep_months``): never left out as published in part.

    Returns
    -------
    EmergingResult

    Warns
    -----
    UserWarning
        With fewer than 10 time steps whose window is full (the Mann–Kendall trend is then unreliable).

    Raises
    ------
    ParameterError
        Fewer than 2 time steps, a ``time_window`` as long as the cube, a ``distance`` below the
        cell size, bad options; SchemaError when incidents have neither ``occurred`` nor ``month``.
    """
    if not isinstance(grid, Grid):
        raise ParameterError(f"`grid` must be a hotspots Grid (e.g. `Grid.for_area(area, 250)`); got {type(grid).__name__}.")
    k, a, scope = _check_options(time_window, alpha, fdr)
    if inference not in ("count", "normal"):
        raise ParameterError(f"`inference` must be 'count' (the exact count test) or 'normal' (ArcGIS); got {inference!r}.")
    validation.seed(seed)
    step = _step_months(time_step)
    cube, steps, figures, notes = _cube(incidents, grid, step, start, end, keep_months)
    T = cube.shape[0]
    if k >= T:
        raise ParameterError(f"`time_window` ({k}) must be shorter than the cube ({T} time steps); use 0 or 1.")
    if T - k < MIN_STEPS_FOR_TREND:
        # the trend runs on the steps whose window is full (T - k of them), so they are what is counted
        of = f" whose {k + 1}-step window is full (of {T})" if k else ""
        msg = (
            f"only {T - k} time steps{of}: the Mann–Kendall trend needs about {MIN_STEPS_FOR_TREND} or more, so "
            "'intensifying' and 'diminishing' are unreliable; use a longer period, a shorter `time_step` or `time_window` 0"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        notes.append(msg)
    active = grid.active
    n_act = int(active.sum())
    if n_act < 2:
        raise ParameterError(f"the grid has {n_act} study-area cell(s); Gi* needs at least 2.")
    Y = np.where(active[None, :, :], cube.astype(np.float64), 0.0)
    total = GridValues(np.where(active, Y.sum(axis=0), np.nan), grid, name="count", units="incidents")
    cs = grid.cell_size
    if distance is None:
        choice = auto_distance(total)
        dist, rule, dmsg = choice.distance, choice.rule, choice.message
        notes.append(dmsg + " (on the counts summed over all time steps)")
    else:
        dist = disc_stencil(distance, cs).distance
        rule, dmsg = "given", f"distance band {dist:,.0f} m (given)"
    if disc_stencil(dist, cs).size == 1:
        raise ParameterError(
            f"{validation.shown('distance')} {dist:g} m is shorter than the cell size ({cs:g} m), so a cell would have no "
            f"spatial neighbours. Make {validation.shown('distance')} at least the cell size (e.g. "
            f"{validation.setting('distance', round(fallback_distance(cs)))} for the 8 surrounding cells)."
        )
    stencil = disc_stencil(dist, cs, shape=grid.shape)
    # each bin's decision p-value and side (1 hot, -1 cold), for the FDR step-ups and the classes
    p = np.full(Y.shape, np.nan)
    side = np.zeros(Y.shape, dtype=np.int8)
    background = None
    if k == 0:  # per-slice Gi*: gi_star's own p-values (the exact count test for counts)
        z = np.full(Y.shape, np.nan)
        for t in range(T):
            vals = np.where(active, Y[t], np.nan)
            res = gi_star(GridValues(vals, grid, name="count", units="incidents"), dist, fdr=False, alpha=a,
                          inference=inference)
            z[t] = res.z
            p[t] = np.where(active, res.p_decision, np.nan)
            side[t] = res.direction
        info = {"n_bins": n_act, "global_window": "each time step (per-slice Gi*)", "inference": res.params["inference"]}
        mode = "per-slice Gi* (time_window=0)"
    else:
        z, info = space_time_z(Y, active, stencil, k)
        info["global_window"] = "entire cube"
        mode = f"space-time Gi* (time_window={k}: this step and the {k} before)"
        if info["zero_variance"]:
            notes.append("the counts do not vary over the cube, so there are no hot or cold spots (all z = 0)")
        if inference == "count":
            p, side, p_min, background = space_time_count_p(Y, active, stencil, k, info)
            info["inference"] = "count"
            if p_min > a and not info["zero_variance"]:
                notes.append(
                    f"no bin can be a significant hot spot: with so few incidents a time step the smallest possible p is "
                    f"{p_min:.2g}; use larger cells, a longer `time_step` or a longer `distance`"
                )
        else:
            p = np.where(np.isnan(z), np.nan, 2.0 * stats.norm.sf(np.abs(np.nan_to_num(z))))
            side = np.sign(np.nan_to_num(z)).astype(np.int8)
    # one step-up per side, as gi_star's (hotspots.fdr.bh_adjust_by_side)
    if scope == "cube":
        q = bh_adjust_by_side(p, side)
    elif scope == "slice":
        q = np.stack([bh_adjust_by_side(p[t], side[t]) for t in range(T)])
    else:
        q = None
    decide = q if q is not None else p
    sig = np.where(np.isnan(decide), False, decide <= a)
    hot_cold = np.where(sig, side, 0).astype(np.int8)

    # per-cell series (n_active, T)
    zs = z[:, active].T
    sigs = (hot_cold[:, active] != 0).T
    # the z-trend runs on the steps whose window is full (k .. T-1): a shorter window (smaller W) lowers
    # a steadily hot cell's z (1/sqrt(2) at the first step with k = 1), which read as a rise (module docs)
    Tz = T - k
    vf = moving_sum_variance_factor(Tz, k)
    # year-to-year variation of places' levels: months of one year share it, which Mann–Kendall
    # would read as trends (trend.level_variance_factors); estimated from the busy cells'
    # neighbourhood sums per step, what each z is a (moving) sum of
    block = max(int(round(12 / step)), 1)
    # each step's distance from the period's last, in steps: a step left out (a month the data do
    # not cover) keeps the others' years calendar years (trend.step_ages)
    ages = (month_number(figures["last_month"]) - step + 1 - month_numbers(steps["start"].to_numpy())) // step
    s_space = info.pop("neighbourhood_sums", None)  # (T, n_active), the layout of Y[:, active]
    if s_space is None:  # per-slice Gi*
        s_space = np.stack([neighbour_sum(Y[t], stencil) for t in range(T)])[:, active]
    s_space = s_space.T
    sigma2, n_level = block_level_variance(s_space, block, min_mean=LEVEL_MIN_MEAN, ages=ages)
    vfs = level_variance_factors(Tz, k, block, level_shares(s_space, block, sigma2, ages=ages), ages=ages[k:])
    counts_series = Y[:, active].T
    trend = mann_kendall_many(zs[:, k:], alpha=a, slope=False, variance_factor=vfs)
    ctrend = mann_kendall_many(
        counts_series, alpha=a, slope=False,
        variance_factor=level_variance_factors(
            T, 0, block, level_shares(counts_series, block, sigma2, ages=ages), ages=ages
        ),
    )
    if sigma2 > 0:
        notes.append(
            f"places' levels vary from year to year by about {np.sqrt(sigma2):.0%} (from the {n_level:,} cells with at least "
            f"{LEVEL_MIN_MEAN:g} incidents a time step in their neighbourhood): the trend tests allow for it, so a busy year "
            "followed by a quiet one is not called a trend"
        )
    codes = classify_emerging(zs, sigs, alpha=a, trend=trend)

    def embed(v: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
        out = np.full(grid.shape, fill, dtype=dtype)
        out[active] = v
        return out

    categories = embed(codes, 0, np.int8)
    n_hot = embed((hot_cold[:, active] > 0).sum(axis=0), 0, np.int64)
    n_cold = embed((hot_cold[:, active] < 0).sum(axis=0), 0, np.int64)
    nb = neighbour_count(active, stencil)[active] - 1
    params: dict[str, Any] = {
        "method": mode,
        "time_step_months": step,
        "n_time_steps": T,
        "start": figures["first_month"],
        "end": figures["last_month"],
        "time_window": k,
        "global_window": info["global_window"],
        "inference": info.get("inference", "normal (space-time z)"),
        "background": background,
        "distance_m": float(dist),
        "distance_rule": rule,
        "distance_message": dmsg,
        "cell_size_m": float(cs),
        "n_cells": n_act,
        "n_bins": int(n_act * T),
        "neighbours_in_space": {"min": int(nb.min()), "median": float(np.median(nb)), "max": int(nb.max())},
        "alpha": a,
        "fdr": "none" if scope is None else "benjamini-hochberg over the " + (
            "whole cube" if scope == "cube" else "cells of each time step"
        ),
        "persistent_share": PERSISTENT_SHARE,
        "trend_test": "Mann-Kendall (two-sided, continuity-corrected) on each cell's Gi* z series"
        + (f" from step {k + 1} of {T} (the steps whose {k + 1}-step window is full)" if k else "")
        + (f", Var(S) x {vf:.3f} (Hamed-Rao correction for the {k} time step(s) neighbouring bins share)" if k else "")
        + (
            f"; with the year-to-year variation of places' levels ({block}-step blocks), each cell's Hamed-Rao factor "
            f"for it{' and the window together' if k else ''} instead (median {float(np.median(vfs)):.3f}, up to "
            f"{float(vfs.max()):.3f})" if sigma2 > 0 else ""
        ),
        "year_to_year_variation": {"relative_sd": float(np.sqrt(sigma2)), "cells": n_level, "block_steps": block},
        "seed": seed,
        "incidents": {k_: v for k_, v in figures.items() if k_.startswith("incidents")},
        "months_left_out": figures["months_left_out"],
        "missing_months": figures["missing_months"],
        "keep_months": [str(k) for k in keep_months],
        "incomplete_months": figures["incomplete_months"],
        "steps_left_out": figures["steps_left_out"],
        "grid": grid.describe(),
    }
    return EmergingResult(
        categories=categories,
        z=z,
        p=p,
        p_adjusted=q,
        hot_cold=hot_cold,
        counts=np.where(active[None, :, :], cube, 0).astype(np.int32),
        time_steps=steps,
        trend_z=embed(trend.z, np.nan, float),
        trend_p=embed(trend.p, np.nan, float),
        trend=embed(np.asarray(trend.trend, dtype=object), "", object),
        count_trend_z=embed(ctrend.z, np.nan, float),
        count_trend_p=embed(ctrend.p, np.nan, float),
        n_hot=n_hot,
        n_cold=n_cold,
        grid=grid,
        params=params,
        notes=tuple(notes),
    )
