"""Distance-band neighbourhoods on a regular grid, fast neighbour sums and the automatic distance.

On a regular grid, "every cell whose centre lies within ``distance`` metres of this cell's
centre" is the same disc-shaped set of row/column offsets (a *stencil*) for every cell. Sums over
the neighbourhood are therefore a 2-D correlation of the grid with the stencil, and the number of
neighbours a cell has (fewer at the grid edge and the study-area boundary) is the same correlation
of the study-area mask. No ``n x n`` weights matrix is ever built.

:func:`neighbour_sum` computes the correlation row by row from prefix sums: the stencil is a stack
of horizontal runs (one per row offset), and the sum over a run is the difference of two prefix
sums. The cost is ``O(n_cells x (2 R + 1))`` for a stencil of radius ``R`` cells, and sums of
whole numbers (counts) are exact in float64.

The automatic distance (:func:`auto_distance`) follows the idea of ArcGIS Optimized Hot Spot
Analysis: the first statistically significant peak of global Moran's I over increasing distance
bands (incremental spatial autocorrelation), computed here on the grid cells with the same
convolutions (:func:`morans_i`), with sfhotspot's default (``cell_size x sqrt(2)``, the 8
surrounding cells) as the fallback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from . import validation
from ._errors import ParameterError
from .grid import GridValues

__all__ = [
    "Stencil",
    "disc_stencil",
    "neighbour_sum",
    "neighbour_count",
    "MoranResult",
    "morans_i",
    "DistanceChoice",
    "auto_distance",
    "fallback_distance",
    "DISTANCE_RTOL",
    "DISTANCE_ROUNDING_M",
    "active_values_or_raise",
]

#: Output rows per block in :func:`neighbour_sum` (working memory ~ 2 x block x columns x 8 bytes).
_BLOCK_ROWS = 128

#: Relative tolerance when testing "centre within ``distance``": a cell at exactly the band
#: distance is a neighbour even when floating point puts it a hair beyond.
DISTANCE_RTOL = 1e-9

#: Display rounding of a distance band, metres: bands are shown in whole metres ("707 m" for the
#: 8 surrounding 500 m cells' 707.1 m), so a cell whose centre lies within half a metre beyond the
#: band is a neighbour too: a band typed as shown reaches the same cells as the band shown.
DISTANCE_ROUNDING_M = 0.5


@dataclass(frozen=True, eq=False)
class Stencil:
    """The cell offsets within a distance band, as horizontal runs per row offset.

    Attributes
    ----------
    distance : float
        Band distance, metres (centre to centre, inclusive).
    cell_size : float
        Cell side, metres.
    half_widths : ndarray of int, shape (2 R + 1,)
        For row offset ``dr = -R .. R`` (index ``dr + R``), the run covers column offsets
        ``-h .. h``.
    """

    distance: float
    cell_size: float
    half_widths: np.ndarray

    @property
    def radius(self) -> int:
        """Largest row (and column) offset, in cells."""
        return (len(self.half_widths) - 1) // 2

    @property
    def size(self) -> int:
        """Cells in the stencil, the centre cell included."""
        return int((2 * self.half_widths + 1).sum())

    @property
    def offsets(self) -> np.ndarray:
        """``(size, 2)`` array of ``(d_row, d_col)`` offsets, the centre included."""
        r = self.radius
        hw = [int(h) for h in self.half_widths]
        out = [(dr, dc) for dr in range(-r, r + 1) for dc in range(-hw[dr + r], hw[dr + r] + 1)]
        return np.array(out, dtype=np.int64)

    def to_array(self) -> np.ndarray:
        """The stencil as a ``(2R+1, 2H+1)`` boolean footprint (for :mod:`scipy.ndimage`), H the widest run."""
        r = self.radius
        big = int(self.half_widths.max())
        fp = np.zeros((2 * r + 1, 2 * big + 1), dtype=bool)
        for i, h in enumerate(self.half_widths):
            fp[i, big - h : big + h + 1] = True
        return fp


def disc_stencil(distance: float, cell_size: float, *, shape: tuple[int, int] | None = None) -> Stencil:
    """Offsets of all cells whose centres lie within ``distance`` of a cell's centre.

    A centre up to :data:`DISTANCE_ROUNDING_M` (half a metre) beyond the band counts as within it:
    bands are shown rounded to whole metres, and the band shown, typed back, must reach the same
    cells (``disc_stencil(707, 500)`` holds the 8 surrounding cells, 707.1 m away, as
    ``disc_stencil(500 * sqrt(2), 500)`` does).

    Parameters
    ----------
    distance : float
        Band distance, metres, inclusive (plus :data:`DISTANCE_ROUNDING_M`, and a relative
        tolerance of :data:`DISTANCE_RTOL`).
    cell_size : float
        Cell side, metres.
    shape : (n_rows, n_cols), optional
        Grid shape; offsets larger than the grid are dropped (they can never reach a cell).
    """
    d = validation.distance(distance, "distance")
    ratio2 = ((d + DISTANCE_ROUNDING_M) / float(cell_size)) ** 2 * (1.0 + 2 * DISTANCE_RTOL)
    r = math.isqrt(math.floor(ratio2))
    max_r = max_c = None
    if shape is not None:
        max_r, max_c = shape[0] - 1, shape[1] - 1
        r = min(r, max_r)
    hw = []
    for dr in range(-r, r + 1):
        h = math.isqrt(math.floor(ratio2 - dr * dr))
        if max_c is not None:
            h = min(h, max_c)
        hw.append(h)
    return Stencil(d, float(cell_size), np.array(hw, dtype=np.int64))


def neighbour_sum(values: np.ndarray, stencil: Stencil) -> np.ndarray:
    """Sum of ``values`` over each cell's stencil neighbourhood (the cell itself included).

    Cells beyond the array edge count as zero; set cells outside the study area to zero before
    calling. Sums of whole numbers are exact (prefix sums in float64 up to 2**53).

    Parameters
    ----------
    values : ndarray, shape (n_rows, n_cols)
        Finite values.
    stencil : Stencil

    Returns
    -------
    ndarray of float64, same shape as ``values``.
    """
    a = np.asarray(values, dtype=np.float64)
    nr, nc = a.shape
    r = stencil.radius
    hws = [int(h) for h in stencil.half_widths]
    H = max(hws)
    out = np.zeros((nr, nc), dtype=np.float64)
    # Blocks of output rows, so that the working arrays stay small (national grids have millions
    # of cells; allocating and first-touching whole-grid temporaries dominated the run time).
    # For each block, prefix sums along the rows it reads (the block plus r rows either side),
    # padded with H zeros on both sides and one leading zero: the sum over columns c-h .. c+h of
    # a row is P[c+h+H+1] - P[c-h+H]. Each output cell adds the same runs in the same order
    # (row offset -r .. r) as a whole-grid computation would, so the result does not depend on
    # the block size, bit for bit.
    block = max(_BLOCK_ROWS, 4 * r)
    width = nc + 2 * H + 1
    P = np.empty((min(nr, block + 2 * r), width), dtype=np.float64)
    buf = np.empty((min(nr, block), nc), dtype=np.float64)
    for i0 in range(0, nr, block):
        i1 = min(nr, i0 + block)
        p0, p1 = max(0, i0 - r), min(nr, i1 + r)  # rows read by this block
        Pb = P[: p1 - p0]
        Pb[:, : H + 1] = 0.0
        np.cumsum(a[p0:p1], axis=1, out=Pb[:, H + 1 : H + 1 + nc])
        Pb[:, H + 1 + nc :] = Pb[:, H + nc : H + 1 + nc]
        for i, h in enumerate(hws):
            dr = i - r
            s0, s1 = max(i0 + dr, 0), min(i1 + dr, nr)  # source rows
            if s0 >= s1:
                continue
            b = buf[: s1 - s0]
            np.subtract(Pb[s0 - p0 : s1 - p0, H + 1 + h : H + 1 + h + nc], Pb[s0 - p0 : s1 - p0, H - h : H - h + nc], out=b)
            out[s0 - dr : s1 - dr] += b
    return out


def neighbour_count(active: np.ndarray, stencil: Stencil) -> np.ndarray:
    """Number of active cells in each cell's neighbourhood (itself included, if active), as int64."""
    return np.rint(neighbour_sum(np.asarray(active, dtype=np.float64), stencil)).astype(np.int64)


# --------------------------------------------------------------------------- global Moran's I
@dataclass(frozen=True)
class MoranResult:
    """Global Moran's I of grid values for one distance band.

    Attributes
    ----------
    I : float
        Moran's I.
    EI : float
        Expected value under the null, ``-1 / (n - 1)``.
    z_norm, z_rand : float
        z-scores under the normality and the randomisation assumption (as esda's ``Moran``).
    p_norm, p_rand : float
        Two-sided normal p-values of the z-scores.
    n : int
        Cells taking part.
    n_islands : int
        Cells without any neighbour in the band (their rows of weights are zero).
    distance : float
        Band distance, metres.
    transform : str
        ``"r"`` (row-standardised, esda's and ArcGIS's default) or ``"b"`` (binary).
    """

    I: float  # noqa: E741 -- the statistic's name
    EI: float
    z_norm: float
    z_rand: float
    p_norm: float
    p_rand: float
    n: int
    n_islands: int
    distance: float
    transform: str


def morans_i(values: GridValues, distance: float, *, transform: str = "r") -> MoranResult:
    """Global Moran's I of a grid surface with distance-band weights, by convolution.

    Neighbours of a cell are the other active cells whose centres are within ``distance`` metres
    (the cell itself excluded). Matches ``esda.Moran(y, libpysal.weights.DistanceBand(centres,
    distance), transformation=transform)`` on the active cells.

    Parameters
    ----------
    values : GridValues
        Finite values in every active cell.
    distance : float
        Band distance, metres.
    transform : {"r", "b"}
        Row-standardised or binary weights.

    Returns
    -------
    MoranResult
        ``z_*`` are NaN when the values do not vary (Moran's I is undefined).
    """
    t = str(transform).lower()
    if t not in ("r", "b"):
        raise ParameterError(f"`transform` must be 'r' (row-standardised) or 'b' (binary); got {transform!r}.")
    grid = values.grid
    active = grid.active
    y2, n = study_area_values(values, min_cells=4, method="Moran's I")
    st = disc_stencil(distance, grid.cell_size, shape=grid.shape)
    k = neighbour_count(active, st) - 1  # neighbours excluding self (valid on active cells)
    k = np.where(active, k, 0)
    yv = y2[active]
    zv = yv - yv.mean()
    z2 = np.zeros(grid.shape)
    z2[active] = zv
    zl_sum = (neighbour_sum(z2, st) - z2)[active]  # sum of neighbours' z (excluding self)
    kv = k[active].astype(np.float64)
    islands = kv == 0
    if t == "r":
        inv = np.zeros(grid.shape)
        inv[active] = np.where(islands, 0.0, 1.0 / np.where(islands, 1.0, kv))
        invv = inv[active]
        col = (neighbour_sum(inv, st) - inv)[active]  # column sums w_.i = sum_j in N(i) 1/k_j
        s0 = float(n - islands.sum())
        s1 = float(invv.sum() + (invv * col).sum())
        s2 = float((((~islands).astype(float) + col) ** 2).sum())
        num = float((zv * zl_sum * invv).sum())
    else:
        s0 = float(kv.sum())
        s1 = 2.0 * s0
        s2 = float((4.0 * kv * kv).sum())
        num = float((zv * zl_sum).sum())
    z2ss = float((zv * zv).sum())
    EI = -1.0 / (n - 1)
    if z2ss == 0 or s0 == 0:
        nan = float("nan")
        return MoranResult(nan, EI, nan, nan, nan, nan, n, int(islands.sum()), float(distance), t)
    I = n / s0 * num / z2ss  # noqa: E741
    n2 = n * n
    s02 = s0 * s0
    vi_norm = (n2 * s1 - n * s2 + 3 * s02) / ((n - 1) * (n + 1) * s02) - EI * EI
    kurt = ((zv**4).sum() / n) / ((z2ss / n) ** 2)
    A = n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s02)
    B = kurt * ((n2 - n) * s1 - 2 * n * s2 + 6 * s02)
    vi_rand = (A - B) / ((n - 1) * (n - 2) * (n - 3) * s02) - EI * EI
    z_norm = (I - EI) / math.sqrt(vi_norm) if vi_norm > 0 else float("nan")
    z_rand = (I - EI) / math.sqrt(vi_rand) if vi_rand > 0 else float("nan")
    return MoranResult(
        float(I),
        EI,
        float(z_norm),
        float(z_rand),
        float(2 * stats.norm.sf(abs(z_norm))) if math.isfinite(z_norm) else float("nan"),
        float(2 * stats.norm.sf(abs(z_rand))) if math.isfinite(z_rand) else float("nan"),
        n,
        int(islands.sum()),
        float(distance),
        t,
    )


def active_values_or_raise(values: GridValues) -> np.ndarray:
    """Values with cells outside the study area set to 0; NaN/inf inside the area is an error."""
    if not isinstance(values, GridValues):
        raise ParameterError(
            f"expected grid values (a `GridValues`, e.g. from `count(points, grid)`); got {type(values).__name__}."
        )
    active = values.grid.active
    v = np.asarray(values.values, dtype=np.float64)
    bad = active & ~np.isfinite(v)
    if bad.any():
        rr, cc = np.nonzero(bad)
        raise ParameterError(
            f"`{values.name}` has {len(rr)} NaN or infinite value(s) inside the study area, the first at row {rr[0]}, "
            f"col {cc[0]}; fill them (e.g. with 0 for no incidents) or take those cells out of the mask (`grid.with_mask`)."
        )
    return np.where(active, v, 0.0)


def study_area_values(values: GridValues, *, min_cells: int, method: str, fix: str = "") -> tuple[np.ndarray, int]:
    """:func:`active_values_or_raise` and the number of cells in the study area, which must be at
    least ``min_cells`` for ``method`` (named in the error, followed by ``fix``)."""
    y2 = active_values_or_raise(values)
    n = int(values.grid.active.sum())
    if n < min_cells:
        raise ParameterError(
            f"{method} needs at least {min_cells} cells in the study area; the grid has {n}.{' ' + fix if fix else ''}"
        )
    return y2, n


# --------------------------------------------------------------------------- automatic distance
#: Significance for a Moran's I peak to count (z of a two-sided 5 % test).
PEAK_Z = 1.959963984540054


@dataclass(frozen=True)
class DistanceChoice:
    """An automatically chosen distance band, and why.

    Attributes
    ----------
    distance : float
        Metres.
    rule : str
        ``"moran_peak"`` or ``"fallback_sqrt2"``.
    message : str
        A sentence announcing the choice (for notes and captions).
    table : pandas.DataFrame
        The incremental spatial autocorrelation sweep: ``distance_m``, ``distance_cells``,
        ``neighbours`` (stencil cells other than the centre), ``I``, ``z``, ``p``, ``peak``.
    """

    distance: float
    rule: str
    message: str
    table: pd.DataFrame = field(repr=False)


#: Largest distance band the automatic rule considers, metres. ASB hotspots are street- to
#: neighbourhood-scale; on force-wide data the first Moran's I peak can lie at 4 km or more
#: (seen on the real Derbyshire 2025 data at 500 m cells), which merges whole towns into one area.
MAX_AUTO_DISTANCE_M = 2000.0

#: Largest distance band the automatic rule tries, in cell sizes. A peak needs a band after it, so
#: the widest band it chooses is 3 cells (a step below this). Hotspot policing works at micro places;
#: a band several cells wide paints the cells between separate hotspots hot and merges them: Durham
#: 2025 at 250 m cells peaked at 1,625 m (6.5 cells) and 12 hotspot areas held 61 % of its ASB over
#: 132 km² (9 areas, 19 %, 12.8 km² at 500 m cells); a simulated map of 20 compact hotspots 150 m
#: across peaked at 1,800 m (4.5 cells of 400 m) and merged them into 4 areas of 12-96 km², mixing
#: places whose changes differed.
MAX_AUTO_BAND_CELLS = 3.5


def fallback_distance(cell_size: float) -> float:
    """The distance band (metres) that reaches a cell's 8 surrounding cells: ``cell_size x sqrt(2)``
    (sfhotspot's default), :func:`auto_distance`'s choice when Moran's I shows no peak, and the
    band a default follows when the cells are large (:func:`hotspots.national.national_distance`)."""
    return float(cell_size) * math.sqrt(2.0)


def auto_distance(
    values: GridValues,
    *,
    max_cells: float = MAX_AUTO_BAND_CELLS,
    step_cells: float = 0.5,
    max_distance_m: float = MAX_AUTO_DISTANCE_M,
) -> DistanceChoice:
    """Choose a Gi* distance band: the first significant peak of incremental Moran's I.

    Rule (after ArcGIS Optimized Hot Spot Analysis, adapted to grid cells):

    1. Compute global Moran's I (row-standardised distance-band weights, z under the
       randomisation assumption, as esda's ``Moran.z_rand``) at distances from one cell size
       (every cell then has its 4 edge neighbours) in steps of ``step_cells`` cell sizes up to
       ``max_cells`` cell sizes (default :data:`MAX_AUTO_BAND_CELLS`, so the band chosen is at most
       3 cells), ``max_distance_m`` metres (default 2 km), or half the shorter side of the grid,
       whichever is smallest. Both caps are our deliberate difference from ArcGIS (which searches
       much further): without them, force-wide data peaks at town scale (4 km+, or 4-7 cells at
       fine cell sizes) and Gi* then paints whole towns, or several separate hotspots and the
       streets between them, as one hotspot area.
    2. The distance is the first *peak*: a band whose z is larger than the band before it, at least
       as large as the band after it, and significant after a Bonferroni correction for the
       number of bands tried (one-sided: ``z >= Phi^-1(1 - 0.05 / bands)``, about 2.7 for 15
       bands; never below 1.96). ArcGIS uses 1.96 at every band; on maps of pure noise that
       finds a "peak" at some band in about half of all maps, and a distance chosen that way on
       the data being tested adds false hot spots.
    3. Without such a peak (no significant clustering at any scale, too few cells, values that do
       not vary), fall back to sfhotspot's default: ``cell_size x sqrt(2)``, the 8 surrounding
       cells. (ArcGIS's fallback, the mean distance to the K nearest features, is meant for
       irregular features; on a regular grid it is a fixed multiple of the cell size anyway.)

    Parameters
    ----------
    values : GridValues
        Counts (or another surface) on a grid.
    max_cells, step_cells : float
        Largest band and step, in cell sizes.
    max_distance_m : float
        Largest band in metres (default :data:`MAX_AUTO_DISTANCE_M`).

    Returns
    -------
    DistanceChoice
    """
    grid = values.grid
    cs = grid.cell_size
    active_values_or_raise(values)
    if not (step_cells > 0 and max_cells >= 1):
        raise ParameterError("`step_cells` must be > 0 and `max_cells` >= 1 (in cell sizes).")
    fallback = fallback_distance(cs)
    if not max_distance_m > 0:
        raise ParameterError(f"`max_distance_m` must be a positive number of metres; got {max_distance_m!r}.")
    limit = min(float(max_cells), 0.5 * min(grid.n_rows, grid.n_cols), float(max_distance_m) / cs)
    mults = np.arange(1.0, limit + 1e-9, step_cells) if limit >= 1.0 else np.array([])
    rows = []
    if grid.n_cells >= 4:
        for m in mults:
            d = float(m * cs)
            res = morans_i(values, d, transform="r")
            st = disc_stencil(d, cs)
            rows.append({
                "distance_m": d, "distance_cells": float(m), "neighbours": st.size - 1, "I": res.I, "z": res.z_rand,
                "p": res.p_rand,
            })
    table = pd.DataFrame(rows, columns=["distance_m", "distance_cells", "neighbours", "I", "z", "p"])
    table["peak"] = False
    z = table["z"].to_numpy(dtype=float)
    z_crit = max(PEAK_Z, float(stats.norm.isf(0.05 / max(len(z), 1))))
    peak_at = None
    for i in range(1, len(z) - 1):
        if np.isfinite(z[i]) and z[i] >= z_crit and z[i] > z[i - 1] and z[i] >= z[i + 1]:
            peak_at = i
            break
    if peak_at is not None:
        table.loc[peak_at, "peak"] = True
        d = float(table.loc[peak_at, "distance_m"])
        msg = (
            f"distance band set to {d:,.0f} m ({d / cs:g} cells) automatically: the first significant peak of global "
            f"Moran's I over {len(table)} distance bands from {table['distance_m'].iloc[0]:,.0f} to "
            f"{table['distance_m'].iloc[-1]:,.0f} m (z = {z[peak_at]:.2f} >= {z_crit:.2f}, Bonferroni over the bands; "
            "after ArcGIS Optimized Hot Spot Analysis's rule)"
        )
        return DistanceChoice(d, "moran_peak", msg, table)
    why = "no significant peak of global Moran's I" if len(table) >= 3 else "too few cells for incremental Moran's I"
    msg = (
        f"distance band set to {fallback:,.0f} m (cell size x sqrt(2), the 8 surrounding cells; sfhotspot's default) "
        f"automatically: {why} over the distance bands tried"
    )
    return DistanceChoice(fallback, "fallback_sqrt2", msg, table)
