"""Getis–Ord Gi* hot and cold spots on grid-cell counts.

Definition
----------
For active cell ``i`` (inside the study area) with value ``y_i`` (e.g. incidents), let ``N(i)``
be the active cells whose centres lie within ``distance`` metres of cell ``i``'s centre, cell
``i`` itself included (Gi*, binary weights). With ``n`` active cells, ``W_i = |N(i)|``,
``S_i = sum of y over N(i)``, mean ``Ybar`` and *population* standard deviation ``s`` of ``y``
over all ``n`` active cells::

    z_i = (S_i - Ybar * W_i) / (s * sqrt((n * W_i - W_i**2) / (n - 1)))

This is exactly esda's ``G_Local(y, w, transform="B", star=True).Zs`` with
``w = libpysal.weights.DistanceBand(active_cell_centres, threshold=distance, binary=True)``
(esda sets the self-weight to 1 and uses all ``n`` values, the cell's own included, for the mean
and variance). ``p`` is the two-sided normal p-value ``2 * (1 - Phi(|z|))`` (ArcGIS's; esda's
``p_norm`` is one-sided).

Neighbour sums are 2-D correlations with a disc-shaped stencil (:mod:`hotspots.neighbours`); no
weights matrix is built, so the cost is ``O(n_cells x stencil radius)``.

Inference (which p-value decides the classes)
---------------------------------------------
``inference`` chooses how each neighbourhood sum is judged; the z-score is always the analytic one.

* ``"count"`` — the **default for counts** (whole numbers >= 0): an exact count test against
  ``W`` independent counts from the study area's background: binomial under complete spatial
  randomness, negative binomial when the background is overdispersed
  (:func:`hotspots.gi_inference.count_test_tails`; mean and dispersion are fitted by maximum
  likelihood with the busiest 5 % of cells censored, so hot spots, and a compact cluster, do not
  set the yardstick they are judged against; the fit is in ``params["background"]``). Exact under
  complete spatial randomness, so it holds its false-positive rate on sparse maps (0–3.3 % of
  uniform random maps with any hotspot area, 60 maps per density from 300 to 30,000 incidents),
  finds a compact cluster of 25 incidents on a sparse map (60 of 60), all 20 strong hotspots of a
  simulated force (the moment estimate of the previous rule, inflated by the hotspots
  themselves, found 40 %), and on real police.uk data the towns' concentrations (2025, 500 m
  cells, 95 %: Derbyshire 10 hotspot areas, 30 km², a third of the incidents; Leicestershire 7).
* ``"randomisation"`` — the p-value of a neighbourhood of ``W`` cells holding ``S`` incidents is
  the chance that ``W`` cells drawn at random from the *other* study-area cells hold at least (at
  most) ``S``: the exact distribution (FFT convolution of the other cells' values,
  :func:`hotspots.gi_inference.leave_out_tails`) whose normal approximation the analytic z is.
  It tests spatial association of the values rather than concentration: on real data a few
  very busy cells make every random draw heavy-tailed, so it finds only the strongest
  concentrations (Derbyshire 2025: 2 hotspot areas at 90 %).
* ``"permutation"`` — esda's conditional randomisation with ``permutations`` draws (below).
  With ``R`` draws the smallest p-value is ``2 / (R + 1)``, so with FDR over many cells the
  stronger classes may be out of reach (see "Classes offered").
* ``"normal"`` — the two-sided normal p-value of the analytic z (ArcGIS's and sfhotspot's
  default, and this library's before issue 12). Valid only for large, unskewed neighbourhood sums:
  on sparse counts it calls hot spots in pure noise (65 % of uniform random maps).
* ``"auto"`` (default) — ``"permutation"`` when ``permutations > 0`` is given; otherwise
  ``"count"`` when the values are counts, else ``"permutation"``
  with :data:`AUTO_PERMUTATIONS` draws. The choice is in ``params["inference"]``.

Sparse data: when the study area holds on average fewer than :data:`SPARSE_EXPECTED` incidents per
neighbourhood, a note says so and names the cell size that would give that many (hot spots are
still tested correctly, but only strong concentrations can be detected).

Classes offered
---------------
``params["classes_offered"]`` lists the confidence levels (0.99, 0.95, 0.90) the method can reach:
a level is offered when a cluster of one median neighbourhood's worth of cells, all at the
smallest attainable p-value, would be significant at that level after the multiple-testing
adjustment (``p_min <= k a / m`` with FDR over ``m`` cells, ``p_min <= a`` without), or when a
cell actually reaches it. ``params["hot_classes_offered"]`` are those a hot cluster can reach (or a
hot cell reached): hotspot areas are hot cells, and with FDR the empty ground's many cold cells at
the smallest p reach classes no hot cluster can. Levels hot spots cannot reach are named in a note
with the number of permutations that would reach them. Maps and legends show only offered classes.

Conditional permutation inference
---------------------------------
With ``permutations=R > 0``, each cell keeps its own value and its ``W_i - 1`` neighbours are
replaced by a random sample, without replacement, from the other ``n - 1`` values (esda's
conditional randomisation). As in esda, one set of random draws is shared by all cells: draw
``R`` random orderings of ``K + 1`` cell indices (``K`` the largest neighbour count); the sample
for cell ``i`` with ``k`` neighbours is the first ``k`` drawn indices that are not ``i`` (a
uniform sample of the other cells). The sums for all cells with the same ``k`` are then one
column of cumulative sums; only draws that hit cell ``i`` itself need a correction. Counting the
simulated sums at least (at most) as large as the observed one is a binary search in the sorted
column, so the whole procedure costs ``O(R K + n log R)`` instead of esda's ``O(n R K)``.

Two pseudo p-values are returned:

* ``p_sim`` — two-sided, ``min(1, 2 * min(M_ge + 1, M_le + 1) / (R + 1))`` with ``M_ge`` (``M_le``)
  the number of simulated sums ``>=`` (``<=``) the observed one. Ties count on both sides, so a
  cell whose neighbourhood is as empty as most random ones is *not* significant. Used for classes.
* ``p_sim_directed`` — esda's ``p_sim`` (its default ``alternative="directed"``): ``(M + 1) /
  (R + 1)`` with ``M = M_ge``, or ``R - M_ge`` when fewer than half the simulations are ``>=``.
  Kept for comparison with esda. Caution: with ties (zero counts) esda's rule calls a cell whose
  value and neighbours are all zero "extreme" (``p = 1/(R+1)``), so it is not used for decisions.
  Without ties, ``p_sim == min(1, 2 * p_sim_directed)``.

Classes
-------
A cell is significant at confidence ``c`` (99, 95 or 90 %) when its decision p-value is
``<= 1 - c``. The decision p-value is ``p_exact``, ``p_sim`` or ``p`` (see Inference),
Benjamini–Hochberg adjusted over the active cells when ``fdr=True`` (``p_adjusted``, the q-value),
one step-up for the hot side and one for the cold side, each against all active cells
(:func:`hotspots.fdr.bh_adjust_by_side`). ArcGIS's FDR correction adjusts both sides together, so
that certain cold spots (empty ground) let chance hot spots through (Derbyshire's and
Leicestershire's 2025 ASB, with no cold cell, get the same classes either way). Hot when the
neighbourhood sum is above its
expectation (``z > 0``; with exact or permutation p-values, the upper tail is the nearer one),
cold otherwise.
``bins`` follows ArcGIS's ``Gi_Bin``: +3/+2/+1 hot at 99/95/90 %, 0 not significant,
-1/-2/-3 cold. ``alpha`` sets :attr:`GiStarResult.significant` (and ``hot``/``cold``), e.g. for
hotspot areas and stability; the class labels are always at the three fixed levels.

Degenerate input (documented choices)
-------------------------------------
* Values that do not vary over the study area (e.g. all zero): Gi* is 0/0. Every cell gets
  ``z = 0``, ``p = 1`` and "not significant" (there is no hot spot without variation).
* A cell whose neighbourhood covers the whole study area (``W_i = n``) has no variance either and
  gets ``z = 0``, ``p = 1``. This happens only when ``distance`` is as large as the study area.
* Cells outside the study area: ``z``, ``p`` NaN, bin 0, class ``"outside"``.
* Errors (:class:`~hotspots.ParameterError`): fewer than 2 active cells; ``distance`` shorter
  than one cell size (only the cell itself would be in its neighbourhood); NaN inside the study
  area (the message names the cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
from scipy import stats

from . import validation
from ._errors import ParameterError
from .fdr import bh_adjust_by_side
from .gi_inference import count_test_tails, exact_feasible, is_count_data, leave_out_tails
from .grid import GridValues
from .neighbours import auto_distance, disc_stencil, fallback_distance, neighbour_count, neighbour_sum, study_area_values

__all__ = [
    "GiStarResult",
    "gi_star",
    "shortest_distance",
    "check_distance",
    "usable_distance",
    "distance_text",
    "unreached_note",
    "UNREACHED",
    "CLASS_LABELS",
    "OUTSIDE",
    "CONFIDENCE_LEVELS",
    "INFERENCE_METHODS",
    "AUTO_PERMUTATIONS",
    "SPARSE_EXPECTED",
]

#: The words of the note (in :attr:`GiStarResult.notes`) naming the classes the method cannot reach.
UNREACHED = "cannot be reached"

#: Confidence levels of the classes, strongest first, and their bin magnitudes.
CONFIDENCE_LEVELS = ((0.99, 3), (0.95, 2), (0.90, 1))
#: Class label per bin (ArcGIS ``Gi_Bin``).
CLASS_LABELS: dict[int, str] = {
    3: "hot 99%",
    2: "hot 95%",
    1: "hot 90%",
    0: "not significant",
    -1: "cold 90%",
    -2: "cold 95%",
    -3: "cold 99%",
}
#: Class label of cells outside the study area.
OUTSIDE = "outside"
#: Accepted values of ``inference``.
INFERENCE_METHODS = ("auto", "count", "randomisation", "permutation", "normal")
#: Permutations drawn when ``inference`` is "permutation" (or "auto" falls back to it) and
#: ``permutations`` is not given: enough for the 99 % class of a one-neighbourhood cluster with
#: FDR over about 2,000 cells.
AUTO_PERMUTATIONS = 9_999
#: Fewer incidents than this per neighbourhood on average make the data "sparse" for the cell size.
SPARSE_EXPECTED = 5.0


@dataclass(frozen=True, eq=False)
class GiStarResult:
    """Gi* z-scores, p-values and hot/cold classes on a grid.

    All 2-D arrays have the grid's shape (row 0 north); cells outside the study area hold NaN
    (floats), 0 (``bins``) or ``"outside"`` (``classes``).

    Attributes
    ----------
    z : ndarray of float
        Analytic Gi* z-score.
    p : ndarray of float
        Two-sided normal p-value of ``z``.
    bins : ndarray of int8
        -3 .. +3 as ArcGIS's ``Gi_Bin`` (see module docs).
    counts : GridValues
        The input values.
    params : dict
        ``distance_m``, ``distance_rule``, ``distance_message``, ``cell_size_m``, ``n_cells``,
        ``neighbours`` (min/median/mean/max other cells per neighbourhood), ``alpha``, ``fdr``,
        ``permutations``, ``seed``, ``p_decision`` (which p-value the classes use),
        ``zero_variance``, ``cells_covering_area``, ``background`` (the count test's fitted
        background, :meth:`hotspots.gi_inference.BackgroundFit.to_dict`, else None).
    p_adjusted : ndarray of float or None
        Benjamini–Hochberg q-value of the decision p-value (``fdr=True``), else None.
    p_exact : ndarray of float or None
        Two-sided exact p-value (``inference`` "count" or "randomisation"), else None.
    p_sim, p_sim_directed, z_sim : ndarray of float or None
        Permutation results (``permutations > 0``), else None. ``z_sim`` is
        ``(observed - mean of simulations) / sd of simulations`` as esda's.
    n_neighbours : ndarray of int
        ``W_i``: active cells in each neighbourhood, the cell itself included (0 outside).
    direction : ndarray of int8
        Side of each cell: +1 above expectation (hot side: ``z > 0``, or with permutations the
        upper tail is the nearer one), -1 below (cold side), 0 neither or outside the study area.
    notes : tuple of str
        Automatic choices announced to the user.
    """

    z: np.ndarray
    p: np.ndarray
    bins: np.ndarray
    counts: GridValues
    params: dict[str, Any]
    p_adjusted: np.ndarray | None = None
    p_exact: np.ndarray | None = None
    p_sim: np.ndarray | None = None
    p_sim_directed: np.ndarray | None = None
    z_sim: np.ndarray | None = None
    n_neighbours: np.ndarray | None = field(default=None, repr=False)
    direction: np.ndarray | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @cached_property
    def classes(self) -> np.ndarray:
        """Class label per cell (str array): ``"hot 99%"`` ... ``"not significant"`` ...
        ``"cold 99%"`` from :attr:`bins`, and ``"outside"`` outside the study area."""
        labels = np.array([CLASS_LABELS[b] for b in range(-3, 4)] + [OUTSIDE])
        return labels[np.where(self.grid.active, self.bins.astype(np.int64) + 3, 7)]

    @property
    def grid(self):
        """The :class:`~hotspots.Grid` of the result."""
        return self.counts.grid

    @property
    def p_decision(self) -> np.ndarray:
        """The p-value the classes are based on: q-value with FDR, else ``p_exact``, ``p_sim`` or ``p``."""
        if self.p_adjusted is not None:
            return self.p_adjusted
        if self.p_exact is not None:
            return self.p_exact
        return self.p_sim if self.p_sim is not None else self.p

    def decision_text(self) -> str:
        """What decides ``bin`` and ``class``, for a layer's description, e.g. ``"class and bin are
        decided by p_decision = BH-adjusted (one step-up per side) p_exact (two-sided exact count
        test): hot/cold 99 %, 95 %, 90 % where it is at most 0.01, 0.05, 0.1 (FDR: the q-value is
        compared with the level itself); z (analytic Gi*, as esda) and p_normal (its normal p) are
        for comparison and do not decide the class"``."""
        what = self.params.get("p_decision", "p")
        fdr = " (FDR: the Benjamini–Hochberg q-value is compared with the level itself)" if self.params.get("fdr") else ""
        own = (" z (analytic Gi*, as esda) and p_normal (its normal p) are for comparison" +
               (" (here the decision p is p_normal itself)." if "p_normal" in str(what) else " and do not decide the class."))
        return f"class and bin are decided by p_decision = {what}: hot/cold 99 %, 95 %, 90 % where it is at most 0.01, " \
            f"0.05, 0.1{fdr}.{own}"

    def _side(self) -> np.ndarray:
        return self.direction if self.direction is not None else np.sign(np.nan_to_num(self.z)).astype(np.int8)

    @property
    def significant(self) -> np.ndarray:
        """Boolean array: significant at ``params["alpha"]`` (hot or cold), by :attr:`p_decision`."""
        pd_ = self.p_decision
        return np.where(np.isnan(pd_), False, pd_ <= self.params["alpha"]) & (self._side() != 0)

    @property
    def hot(self) -> np.ndarray:
        """Boolean array: significant hot cells at ``params["alpha"]``."""
        return self.significant & (self._side() > 0)

    @property
    def cold(self) -> np.ndarray:
        """Boolean array: significant cold cells at ``params["alpha"]``."""
        return self.significant & (self._side() < 0)

    def grid_values(self, what: str = "z") -> GridValues:
        """One result array as :class:`~hotspots.GridValues` (``"z"``, ``"p"``, ``"bins"``,
        ``"p_adjusted"``, ``"p_exact"``, ``"p_sim"``, ``"z_sim"``), e.g. for maps and rasters."""
        arrays = {
            "z": self.z, "p": self.p, "bins": self.bins, "p_adjusted": self.p_adjusted, "p_exact": self.p_exact,
            "p_sim": self.p_sim, "z_sim": self.z_sim,
        }
        if what not in arrays or arrays[what] is None:
            avail = [k for k, v in arrays.items() if v is not None]
            raise ParameterError(f"`what` must be one of {avail}; got {what!r}.")
        vals = arrays[what].astype(float)
        vals = np.where(self.grid.active, vals, np.nan)
        return GridValues(vals, self.grid, name=f"gi_{what}", units="", params=dict(self.params))

    def to_geodataframe(self, *, only_significant: bool = False) -> gpd.GeoDataFrame:
        """Active cells as polygons (EPSG of the grid) with their Gi* results.

        Columns: ``row``, ``col``, ``count``, ``neighbours`` (``W_i``), ``z`` (the analytic Gi*
        z, as esda's ``G_Local(star=True)``), ``p_normal`` (z's two-sided normal p: shown for
        comparison, it does not decide the class unless ``params["p_decision"]`` says so), then
        ``p_exact`` (exact inference), ``p_sim``, ``p_sim_directed``, ``z_sim`` (with
        permutations), ``p_adjusted`` (with FDR: the Benjamini–Hochberg q-value), ``p_decision``
        (:attr:`p_decision`, the p-value that decides ``bin`` and ``class``: at most 0.01, 0.05,
        0.10 for 99, 95, 90 %; what it is: ``params["p_decision"]``, in words
        :meth:`decision_text`), ``bin``, ``class``, ``geometry``.

        Parameters
        ----------
        only_significant : bool
            Keep only cells with a non-zero bin (significant at 90 % or more).
        """
        g = self.grid
        sel = g.active.copy()
        if only_significant:
            sel &= self.bins != 0
        rr, cc = np.nonzero(sel)
        value_name = self.counts.name if self.counts.name not in ("row", "col", "z", "p", "bin", "class") else "value"
        cols: dict[str, Any] = {
            "row": rr,
            "col": cc,
            value_name: self.counts.values[rr, cc],
            "neighbours": self.n_neighbours[rr, cc] if self.n_neighbours is not None else None,
            "z": self.z[rr, cc],
            "p_normal": self.p[rr, cc],
        }
        if self.p_exact is not None:
            cols["p_exact"] = self.p_exact[rr, cc]
        if self.p_sim is not None:
            cols["p_sim"] = self.p_sim[rr, cc]
            cols["p_sim_directed"] = self.p_sim_directed[rr, cc]
            cols["z_sim"] = self.z_sim[rr, cc]
        if self.p_adjusted is not None:
            cols["p_adjusted"] = self.p_adjusted[rr, cc]
        cols["p_decision"] = self.p_decision[rr, cc]
        cols["bin"] = self.bins[rr, cc].astype(np.int64)
        cols["class"] = self.classes[rr, cc].astype(object)
        return gpd.GeoDataFrame(cols, geometry=g.cell_polygons(rr, cc), crs=g.crs)


# ----------------------------------------------------------------------------- public function
def shortest_distance(cell_size: float) -> float:
    """The shortest distance band (metres) :func:`gi_star` accepts on cells of ``cell_size``: one
    cell size, which reaches the 4 edge neighbours (a shorter band leaves each cell its own only
    neighbour, and Gi* is undefined)."""
    return float(cell_size)


def check_distance(distance: float, cell_size: float) -> None:
    """Refuse a distance band shorter than the cell size (:func:`shortest_distance`): each cell would
    be its own only neighbour and Gi* is undefined. :func:`gi_star` calls it, and ``hotspots national``
    before it reads anything.

    Raises
    ------
    ParameterError
        Naming the bands that work (the 4 edge neighbours, or the 8 surrounding cells).
    """
    if disc_stencil(distance, cell_size).size == 1:
        raise ParameterError(
            f"{validation.shown('distance')} {distance:g} m is shorter than the cell size ({cell_size:g} m), so each cell "
            f"would be its own only neighbour and Gi* is undefined. Make {validation.shown('distance')} at least the cell "
            f"size (e.g. {validation.setting('distance', _plain(shortest_distance(cell_size)))} for the 4 edge "
            f"neighbours, or {validation.setting('distance', round(fallback_distance(cell_size)))} for all 8 surrounding "
            "cells)."
        )


def usable_distance(distance: float, cell_size: float) -> tuple[float, str | None]:
    """A typed distance band (metres), or the shortest one Gi* accepts on cells of ``cell_size``
    (:func:`shortest_distance`, the 4 edge neighbours) when it is shorter, with a note saying so.

    For a form (the app) that must go on with a usable band rather than stop: :func:`gi_star`
    itself refuses a band that short (:func:`check_distance`).

    Returns
    -------
    (distance, note)
        The band to use, metres, and None, or the cell size and why it replaced ``distance``.
    """
    d = validation.distance(distance, "distance")
    if disc_stencil(d, cell_size).size > 1:
        return d, None
    used = shortest_distance(cell_size)
    return used, (
        f"distance band {d:,.0f} m is shorter than the cell size ({cell_size:,.0f} m), so each cell would be its own only "
        f"neighbour and Gi* is undefined: {used:,.0f} m (the cell size, the 4 edge neighbours) is used instead; type at least "
        f"{used:,.0f} m, or {fallback_distance(cell_size):,.0f} m for all 8 surrounding cells"
    )


def distance_text(distance: float, cell_size: float) -> str:
    """A distance band as captions show it, with the cells it reaches: ``"707 m (8 neighbouring cells)"``
    on 500 m cells (the 8 surrounding cells, 707.1 m away; a band typed as shown reaches them too,
    :data:`hotspots.neighbours.DISTANCE_ROUNDING_M`), ``"706 m (4 neighbouring cells)"``."""
    try:
        reach = disc_stencil(distance, cell_size).size - 1
    except (ParameterError, TypeError, ValueError):  # no band (NaN): the number alone
        return f"{float(distance):,.0f} m"
    return f"{float(distance):,.0f} m ({reach:,} neighbouring cell{'s' if reach != 1 else ''})"


#: ArcGIS's z-score line for a 99 % hot spot (two-sided normal).
Z_99 = 2.576


def unreached_note(gi: GiStarResult, confidence: float) -> str | None:
    """Why no cell can be significant at ``confidence`` (0.90, 0.95 or 0.99), or None when one can.

    The note of ``gi.notes`` that names the classes hot spots cannot reach (``params["hot_classes_offered"]``
    lacks ``confidence`` and every level above it; cold cells may reach them), e.g. "with 99 permutations and FDR over 4,213 cells
    the 99% class(es) cannot be reached (smallest p 0.02); they need about 714,155 permutations; use
    the exact count test (...)": the console's words, for every output that would otherwise say
    "no hot spots" (a briefing map's table, the app's Map tab and Gi* legend).
    """
    offered = gi.params.get("hot_classes_offered", gi.params.get("classes_offered"))  # hotspot areas are hot cells
    if offered is None or any(float(c) >= float(confidence) - 1e-9 for c in offered):
        return None
    return next((n for n in gi.notes if UNREACHED in n), None)


def gi_star(
    counts: GridValues,
    distance: float | None = None,
    *,
    inference: str = "auto",
    permutations: int = 0,
    fdr: bool = True,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> GiStarResult:
    """Getis–Ord Gi* hot and cold spots of grid values (see the module docs for the definition).

    Parameters
    ----------
    counts : GridValues
        Values per cell, usually incidents from :func:`~hotspots.count`. Every active cell must
        hold a finite number (0 for no incidents).
    distance : float, optional
        Neighbourhood radius in metres, centre to centre, inclusive; must be at least one cell
        size. ``None`` chooses it automatically (:func:`~hotspots.neighbours.auto_distance`:
        first significant peak of incremental Moran's I, else ``cell_size x sqrt(2)``); the choice
        is announced in :attr:`GiStarResult.notes` and ``params``.
    inference : {"auto", "count", "randomisation", "permutation", "normal"}
        How p-values are obtained (module docs, "Inference"). ``"auto"`` (default): exact
        count test for counts, permutations otherwise or when ``permutations`` is given.
    permutations : int
        Conditional permutations for pseudo p-values. With ``inference="auto"`` a positive number
        selects permutation inference (999 was usual; 9,999 reaches more classes with FDR). With
        ``inference="permutation"``, 0 means :data:`AUTO_PERMUTATIONS`.
    fdr : bool
        Benjamini–Hochberg false discovery rate control over the active cells (default True).
    alpha : float
        Significance level for :attr:`GiStarResult.significant` / ``hot`` / ``cold``.
    seed : int or None
        Seed of the permutation draws (ignored without permutations).

    Returns
    -------
    GiStarResult
    """
    _check_inputs(counts, permutations, alpha, seed)
    if inference not in INFERENCE_METHODS:
        raise ParameterError(f"`inference` must be one of {list(INFERENCE_METHODS)}; got {inference!r}.")
    grid = counts.grid
    active = grid.active
    fix = f"Use a smaller {validation.shown('cell_size')} or a larger study area."
    y2, n = study_area_values(counts, min_cells=2, method="Gi*", fix=fix)
    notes: list[str] = []
    if distance is None:
        choice = auto_distance(counts)
        dist = choice.distance
        rule, message = choice.rule, choice.message
        notes.append(message)
    else:
        st0 = disc_stencil(distance, grid.cell_size)
        dist = st0.distance
        rule, message = "given", f"distance band {dist:,.0f} m (given)"
    st = disc_stencil(dist, grid.cell_size, shape=grid.shape)
    check_distance(dist, grid.cell_size)

    S = neighbour_sum(y2, st)
    W = neighbour_count(active, st)
    yv = y2[active]
    Sv = S[active]
    Wv = W[active].astype(np.float64)
    mean = float(yv.mean())
    sd = float(yv.std())
    zero_variance = not (sd > 0)
    var_factor = (n * Wv - Wv * Wv) / (n - 1)
    denom = sd * np.sqrt(np.maximum(var_factor, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        zv = np.where(denom > 0, (Sv - mean * Wv) / np.where(denom > 0, denom, 1.0), 0.0)
    covering = int((var_factor <= 0).sum())
    if zero_variance:
        zv = np.zeros(n)
        notes.append("the values do not vary over the study area, so there are no hot or cold spots (all z = 0)")
    elif covering:
        notes.append(
            f"{covering} cell(s) have the whole study area as their neighbourhood; their Gi* is undefined and set to z = 0. "
            f"Use a smaller {validation.shown('distance')}."
        )
    pv = 2.0 * stats.norm.sf(np.abs(zv))

    out_z = _embed(zv, active)
    out_p = _embed(pv, active)
    k = (Wv - 1).astype(np.int64)
    method, R = _choose_inference(inference, int(permutations), yv, Wv, notes)
    p_sim = p_dir = z_sim = p_ex = None
    background = None
    if method in ("count", "randomisation"):
        if method == "count":
            tails = count_test_tails(yv, Wv, Sv, neighbour_sum(y2 * y2, st)[active])
            background = tails.background
            p_name = "p_exact (two-sided exact count test)"
        else:
            tails = leave_out_tails(y2, active, st.offsets, W, S)
            p_name = "p_exact (two-sided randomisation against the other cells)"
        p_used = np.minimum(1.0, 2.0 * np.minimum(tails.p_upper, tails.p_lower))
        direction = np.sign(tails.p_lower - tails.p_upper).astype(np.int64)
        degenerate = zero_variance | (var_factor <= 0)
        p_used = np.where(degenerate, 1.0, p_used)
        direction = np.where(degenerate, 0, direction)
        p_ex = _embed(p_used, active)
        p_min = tails.p_min
    elif method == "permutation":
        rng = np.random.default_rng(seed)
        obs = Sv - yv  # neighbour sum without the cell itself
        ps, pdir, zs, side_v = _conditional_permutation(yv, k, obs, R, rng, zero_variance)
        p_sim, p_dir, z_sim = _embed(ps, active), _embed(pdir, active), _embed(zs, active)
        p_used, direction = ps, side_v.astype(np.int64)
        p_min = min(1.0, 2.0 / (R + 1))
        p_name = "p_sim (two-sided conditional permutation)"
    else:
        p_used, direction = pv, np.sign(zv).astype(np.int64)
        p_min = float(pv.min()) if pv.size else 1.0
        p_name = "p_normal (two-sided normal p of z)"
    q = bh_adjust_by_side(p_used, direction) if fdr else None
    decide = q if fdr else p_used
    binv = np.zeros(n, dtype=np.int8)
    for conf, mag in reversed(CONFIDENCE_LEVELS):  # weakest first, strongest overwrites
        binv = np.where(decide <= 1.0 - conf + 1e-12, mag, binv)
    binv = (binv * direction).astype(np.int8)
    bins = np.zeros(grid.shape, dtype=np.int8)
    bins[active] = binv
    side = np.zeros(grid.shape, dtype=np.int8)
    side[active] = direction

    nb = Wv - 1
    offered, hot_offered = _classes_offered(method, p_min, n, float(np.median(Wv)), fdr, binv, R, notes)
    sparse = _sparse_note(mean, float(np.median(Wv)), float(grid.cell_size), zero_variance, notes, float(dist))
    _wide_note(float(np.median(Wv)), n, float(dist), float(grid.cell_size), notes)
    if method != "normal":
        # an ArcGIS user reads the class off z: say why a high z can have a low class here
        high = (zv >= Z_99) & (binv < 3)
        if high.any():
            test_name = p_name.split(" (")[0]
            notes.append(
                f"{int(high.sum()):,} cell(s) have a Gi* z of {Z_99:.2f} or more (ArcGIS's 99 % hot spot line) but a lower "
                f"class here (largest such z {float(zv[high].max()):.2f}): the classes and bins come from the {test_name} "
                f"p-values{' with the false discovery rate' if fdr else ''}, which allow for how unevenly incidents fall; "
                "z is kept for comparison with ArcGIS, not used for the class"
            )
    params: dict[str, Any] = {
        "distance_m": float(dist),
        "distance_rule": rule,
        "distance_message": message,
        "cell_size_m": float(grid.cell_size),
        "n_cells": n,
        "neighbours": {
            "min": int(nb.min()),
            "median": float(np.median(nb)),
            "mean": float(nb.mean()),
            "max": int(nb.max()),
            "stencil": int(st.size - 1),
        },
        "alpha": float(alpha),
        "fdr": bool(fdr),
        "inference": method,
        "permutations": int(R) if method == "permutation" else 0,
        "seed": seed if method == "permutation" else None,
        "p_decision": ("BH-adjusted (one step-up per side) " if fdr else "") + p_name,
        "p_min": float(p_min),
        "classes_offered": offered,
        "hot_classes_offered": hot_offered,
        "expected_per_neighbourhood": float(mean * np.median(Wv)),
        "sparse": sparse is not None,
        "suggested_cell_size_m": sparse,
        "zero_variance": zero_variance,
        "cells_covering_area": covering,
        "background": background.to_dict() if background is not None else None,
    }
    return GiStarResult(
        z=out_z,
        p=out_p,
        bins=bins,
        counts=counts,
        params=params,
        p_adjusted=_embed(q, active) if q is not None else None,
        p_exact=p_ex,
        p_sim=p_sim,
        p_sim_directed=p_dir,
        z_sim=z_sim,
        n_neighbours=np.where(active, W, 0),
        direction=side,
        notes=tuple(notes),
    )


def _choose_inference(inference: str, permutations: int, yv: np.ndarray, Wv: np.ndarray, notes: list[str]) -> tuple[str, int]:
    """The inference method actually used and its number of permutations (0 unless permutation)."""
    if inference == "normal":
        return "normal", 0
    if inference == "permutation" or (inference == "auto" and permutations > 0):
        R = permutations or AUTO_PERMUTATIONS
        if R < 99:
            notes.append(f"only {R} permutations: the smallest possible p_sim is {2 / (R + 1):.3f}; use 9,999")
        return "permutation", R
    if inference == "randomisation":
        ok, why = exact_feasible(yv, Wv.astype(np.int64))
        if not ok:
            raise ParameterError(f"`inference='randomisation'` is not possible here: {why}. Use `inference='count'`.")
        return "randomisation", 0
    if is_count_data(yv):
        return "count", 0
    if inference == "count":
        raise ParameterError(
            "`inference='count'` needs counts (whole numbers >= 0) in every study-area cell; these values are not. "
            "Use `inference='permutation'` (or 'auto', which falls back to it)."
        )
    notes.append(f"the values are not counts, so {AUTO_PERMUTATIONS:,} conditional permutations decide the classes")
    return "permutation", AUTO_PERMUTATIONS


def _plain(v: float) -> float | int:
    """A number as a message writes it: 100 rather than 100.0."""
    return int(v) if float(v).is_integer() else float(f"{v:g}")


def _classes_offered(
    method: str, p_min: float, m: int, k0: float, fdr: bool, binv: np.ndarray, R: int, notes: list[str]
) -> tuple[list[float], list[float]]:
    """Confidence levels the method can reach (module docs, "Classes offered"), on either side and
    on the hot side; notes the levels hot spots cannot reach.

    A level one cold cell reached is offered (legends show it), but it says nothing of hot spots:
    with FDR the empty ground's thousands of cold cells at the smallest p lift each other to 99 %,
    while a hot cluster of a neighbourhood's size cannot reach 95 % (Gwent's 2025 ASB, 999
    permutations over 5,322 cells: no hotspot area, the exact count test 6). Hotspot areas are hot
    cells, so the note names the levels the hot side cannot reach.
    """
    k = max(1.0, k0)
    offered, hot_offered, missing = [], [], []
    reached = {mag for mag in np.unique(np.abs(binv)).tolist() if mag}
    reached_hot = {mag for mag in np.unique(binv).tolist() if mag > 0}
    for conf, mag in CONFIDENCE_LEVELS:
        a = 1.0 - conf
        limit = k * a / m if fdr else a
        possible = p_min <= limit + 1e-15
        if possible or mag in reached:
            offered.append(conf)
        if possible or mag in reached_hot:
            hot_offered.append(conf)
        else:
            missing.append((conf, limit))
    levels = ", ".join(f"{c:.0%}" for c, _ in missing)
    what, why = f"the {levels} class(es) {UNREACHED}", ""
    if any(c in offered for c, _ in missing):  # cold cells reached a level hot ones cannot
        what += " by hot spots"
        why = (f"; they reach {hot_offered[0]:.0%} at most" if hot_offered else "; they reach no class") + (
            ", cold spots more, as many empty cells share that p")
    if not missing:
        return offered, hot_offered
    rule = _unreached_rule(missing[-1], k, m, fdr)
    if method == "permutation":
        need = [f"{int(math.ceil(2.0 / lim)) - 1:,}" + (" permutations" if j == 0 else "") + f" for {c:.0%}"
                + (f" (over the {validation.MAX_PERMUTATIONS:,} allowed)" if 2.0 / lim - 1 > validation.MAX_PERMUTATIONS else "")
                for j, (c, lim) in enumerate(reversed(missing))]
        notes.append(
            f"with {R:,} permutations{' and FDR over ' + format(m, ',') + ' cells' if fdr else ''} {what}: "
            f"the smallest two-sided p a cell can get is {p_min:.2g} (2 / ({R:,} + 1): 1 in {R + 1:,} on its side, doubled), "
            f"{rule}{why}; they need about {' and '.join(need)}; use the exact count "
            f"test ({validation.setting('permutations', 0)}, the default of the command line and the app)"
        )
    else:
        notes.append(f"{what} with so few incidents: the smallest two-sided p a cell can get is {p_min:.2g}, {rule}{why}")
    return offered, hot_offered


def _unreached_rule(weakest: tuple[float, float], k: float, m: int, fdr: bool) -> str:
    """Why the smallest p misses the weakest class out of reach (``weakest``: its confidence and the
    p it needs, from :func:`_classes_offered`): ``"above the 0.05 that 95% needs"``, or with FDR the
    Benjamini-Hochberg bound a cluster of ``k`` cells at that p must meet (``k × alpha / m``)."""
    conf, limit = weakest
    limit = np.format_float_positional(limit, precision=2, unique=True, fractional=False, trim="-")  # 0.000068, not 6.8e-05
    if not fdr:
        return f"above the {limit} that {conf:.0%} needs"
    return (f"above the {limit} that {conf:.0%} needs after FDR for a cluster of {k:.0f} such cells "
            f"({k:.0f} × {1 - conf:.2f} / {m:,} cells)")


def _sparse_note(mean: float, w_med: float, cell: float, zero_variance: bool, notes: list[str],
                 dist: float | None = None) -> float | None:
    """Note (and return a suggested cell size) when neighbourhoods hold too few incidents on average.

    The size advised is rounded up to 50 m (10 m under 100 m) by its own size, so the same data get the
    same advice at any cell size (Essex's 2025 ASB: 400 m at 250 m cells, 360 m at 50 m cells, when the
    step followed the cell size in use).

    The suggestion keeps the neighbourhood's cells (the distance band scaled with the cell): an
    automatic band is chosen anew for other cells (City of London's advised 150 m cells got a
    1,275 m band), so both are named."""
    expected = mean * w_med
    if zero_variance or expected >= SPARSE_EXPECTED or expected <= 0:
        return None
    raw = cell * math.sqrt(SPARSE_EXPECTED / expected)  # the data's own: cell x cell x mean is incidents per cell area
    step = 50.0 if raw >= 100 else 10.0  # by the size advised, not the cell size in use: the same advice at every cell size
    suggested = math.ceil(raw / step) * step
    band = (
        f" with a distance band of about {math.ceil(dist * suggested / cell / 5.0) * 5.0:,.0f} m (the same {w_med:.0f}-cell "
        f"neighbourhood; give both {validation.shown('cell_size')} and {validation.shown('distance')})"
        if dist is not None and dist > 0 else ""
    )
    notes.append(
        f"the data are sparse for {cell:,.0f} m cells: {expected:.2f} incidents per neighbourhood of {w_med:.0f} cells "
        "on average "
        f"(at least {SPARSE_EXPECTED:g} make the test informative). Hot spots are still tested at their stated error rate, "
        f"but only strong concentrations can be found; cells of about {suggested:,.0f} m{band} would hold {SPARSE_EXPECTED:g} "
        "per neighbourhood"
    )
    return float(suggested)


#: Share of the study area's cells a neighbourhood may take in before :func:`_wide_note` warns.
WIDE_SHARE = 0.25


def _wide_note(w_med: float, n: int, dist: float, cell: float, notes: list[str]) -> None:
    """Note a distance band whose neighbourhood takes in a large share of the study area's cells:
    each cell is then compared with much of the area itself, and few hot spots can stand out
    (City of London at 150 m cells: a 1,275 m band over 138 cells, no hotspot and no advice)."""
    if n <= 0 or w_med < WIDE_SHARE * n:
        return
    notes.append(
        f"the distance band ({dist:,.0f} m) takes in {w_med:.0f} of the study area's {n:,} cells ({w_med / n:.0%}, median): "
        "each cell is compared with much of the study area itself, so few hot spots can stand out however the incidents "
        f"cluster; a shorter {validation.shown('distance')} (e.g. {cell * math.sqrt(2):,.0f} m, the 8 surrounding cells) "
        "or smaller cells compare places with their own neighbourhood"
    )


# ----------------------------------------------------------------------------- internals
def _check_inputs(counts: Any, permutations: Any, alpha: Any, seed: Any) -> None:
    if not isinstance(counts, GridValues):
        raise ParameterError(
            f"`counts` must be grid values (a `GridValues`, e.g. `count(points, grid)`); got {type(counts).__name__}."
        )
    validation.permutations(permutations)
    validation.alpha(alpha)
    validation.seed(seed)


def _embed(v: np.ndarray, active: np.ndarray) -> np.ndarray:
    out = np.full(active.shape, np.nan)
    out[active] = v
    return out


def _draw_without_replacement(n: int, m: int, R: int, rng: np.random.Generator) -> np.ndarray:
    """``R`` rows of ``m`` distinct indices from ``range(n)``, each row uniformly random.

    Rows are drawn with replacement and rows holding a repeat are redrawn (rejection), which is
    exactly uniform over ordered samples without replacement; when repeats are likely the rows
    come from ``rng.choice(..., replace=False)`` instead.
    """
    if m == 0:
        return np.empty((R, 0), dtype=np.int64)
    if m * m <= n:  # repeat probability per row <= ~1/2
        P = rng.integers(0, n, size=(R, m))
        for _ in range(100):
            s = np.sort(P, axis=1)
            bad = np.nonzero((s[:, 1:] == s[:, :-1]).any(axis=1))[0]
            if bad.size == 0:
                return P
            P[bad] = rng.integers(0, n, size=(bad.size, m))
    P = np.empty((R, m), dtype=np.int64)
    for r in range(R):
        P[r] = rng.choice(n, size=m, replace=False)
    return P


def _conditional_permutation(
    yv: np.ndarray, k: np.ndarray, obs: np.ndarray, R: int, rng: np.random.Generator, zero_variance: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pseudo p-values for neighbour sums ``obs`` (cell excluded) with ``k`` neighbours each.

    Returns ``p_sim`` (two-sided), ``p_sim_directed`` (esda's), ``z_sim`` and the direction:
    +1 when the upper tail is the nearer one (hot side), -1 the lower, 0 neither.
    """
    n = yv.size
    K = int(k.max())
    m = min(K + 1, n)
    P = _draw_without_replacement(n, m, R, rng)
    B = np.zeros((R, m + 1))
    np.cumsum(yv[P], axis=1, out=B[:, 1:])  # B[:, j] = sum of the first j draws
    tol = 1e-12 * float(np.abs(yv).sum())

    n_ge = np.zeros(n)
    n_le = np.zeros(n)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    shift = np.zeros(n)
    order = np.argsort(k, kind="stable")
    ks = k[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    ends = np.r_[starts[1:], ks.size]
    for a, b in zip(starts, ends):
        kk = int(ks[a])
        idx = order[a:b]
        col = B[:, kk]
        mu = col.mean()
        sc = np.sort(col)
        o = obs[idx]
        n_ge[idx] = R - np.searchsorted(sc, o - tol, side="left")
        n_le[idx] = np.searchsorted(sc, o + tol, side="right")
        dev = col - mu
        shift[idx] = mu
        s1[idx] = dev.sum()
        s2[idx] = (dev * dev).sum()

    # Draws that hit cell i among its first k_i positions: replace with the (k_i + 1)-th draw.
    if K > 0:
        rr, pp = np.nonzero(np.ones((R, min(K, m)), dtype=bool))
        ii = P[rr, pp]
        keep = pp < k[ii]
        rr, ii = rr[keep], ii[keep]
        kk = k[ii]
        base = B[rr, kk]
        new = base - yv[ii] + yv[P[rr, kk]]
        o = obs[ii]
        d_ge = (new >= o - tol).astype(np.float64) - (base >= o - tol)
        d_le = (new <= o + tol).astype(np.float64) - (base <= o + tol)
        n_ge += np.bincount(ii, weights=d_ge, minlength=n)
        n_le += np.bincount(ii, weights=d_le, minlength=n)
        mu = shift[ii]
        s1 += np.bincount(ii, weights=(new - mu) - (base - mu), minlength=n)
        s2 += np.bincount(ii, weights=(new - mu) ** 2 - (base - mu) ** 2, minlength=n)

    n_ge = np.rint(n_ge)
    n_le = np.rint(n_le)
    p_up = (n_ge + 1) / (R + 1)
    p_lo = (n_le + 1) / (R + 1)
    p_two = np.minimum(1.0, 2.0 * np.minimum(p_up, p_lo))
    larger = n_ge.copy()
    low = (R - larger) < larger
    larger[low] = R - larger[low]
    p_dir = (larger + 1) / (R + 1)
    mean_sim = shift + s1 / R
    var_sim = np.maximum(s2 / R - (s1 / R) ** 2, 0.0)
    sd_sim = np.sqrt(var_sim)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = np.where(sd_sim > 0, (obs - mean_sim) / np.where(sd_sim > 0, sd_sim, 1.0), 0.0)
    if zero_variance:
        p_two = np.ones(n)
        z_sim = np.zeros(n)
    return p_two, p_dir, z_sim, np.sign(p_lo - p_up)
