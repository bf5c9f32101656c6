"""Kernel density estimation on a :class:`~hotspots.grid.Grid`.

:func:`kde` evaluates a kernel density surface at the **centre of every grid cell**, in incidents
per km² (or expected incidents per cell), with the quartic kernel (ArcGIS's default), the
Epanechnikov kernel or the Gaussian kernel, optional weights and a bandwidth in metres or chosen by
a documented rule.

Kernels (``u = distance / bandwidth``; every kernel integrates to 1 over the plane, so the surface
integrates to the number of points, or the sum of the weights)

=============== ================================= ==================================================
name            K(distance) per m²                 notes
=============== ================================= ==================================================
``quartic``     3 / (π h²) · (1 − u²)² for u < 1   biweight; ArcGIS Kernel Density (Silverman 1986,
                                                   eq. 4.5); ``h`` is the search radius
``epanechnikov`` 2 / (π h²) · (1 − u²) for u < 1   scikit-learn's ``'epanechnikov'`` exactly
``gaussian``    1 / (2π h²) · exp(−u²/2)           scikit-learn's ``'gaussian'`` exactly; ``h`` is
                                                   the standard deviation; cut off at 6 h (see below)
=============== ================================= ==================================================

How it is computed (exact, not an approximation by binning)
-----------------------------------------------------------
Each point is assigned to the node (cell centre) nearest to it on the grid extended by a halo of
one kernel radius, so that points just outside the grid still contribute; points farther out
cannot reach any cell and are skipped. A point is described by its offset ``d`` from its node; a
cell centre at lattice offset ``Δ`` from that node receives ``K(Δ − d)``.

* Polynomial kernels. Where every point of the source cell is inside the support (the
  *interior* offsets), ``K(Δ − d)`` is a polynomial in ``d`` — degree 2 (Epanechnikov) or 4
  (quartic) — and its expansion in ``d`` is exact: the sum over a cell's points is a sum of 4
  (Epanechnikov) or 10 (quartic) *moments* (``Σw``, ``Σw·dx``, ``Σw·|d|²``, ...) times fixed
  coefficients. The offsets where the support boundary crosses the source cell (a ring about one
  cell wide) are evaluated point by point. With numba, points are grouped by cell and each cell
  is handled at once: every point adds its kernel values for all the offsets it may reach to a
  small buffer in one vectorised loop, and the buffer is added to the grid once per cell (path
  ``"direct"``: every offset point by point; path ``"cells"``: the interior from the moments of
  cells holding enough points to make that cheaper; path ``"fft"``: the interior of every cell by
  FFT convolution of moment grids, the ring point by point). Without numba the same paths are
  written in numpy (``"cells"`` falls back to ``"fft"``), skipping offsets that a point's
  sub-cell (1/8 of the cell per axis) cannot reach. The result equals the direct sum to
  floating-point rounding (tested to 1e-9 relative; about 1e-13 in practice).
* Gaussian kernel. ``exp(−|U − V|²/2) = exp(−|U|²/2) · exp(−|V|²/2) · exp(U·V)`` with ``U = Δ/h``,
  ``V = d/h``; the last factor is expanded in a power series (the fast Gauss transform's idea)
  whose order is chosen from its remainder bound so that every point–cell pair's relative error is
  below 1e-7 within 3.5 h. The kernel is cut off beyond 6 h in x or y
  (:data:`GAUSSIAN_CUTOFF_SD`; a point's kernel is below exp(−18) < 2e-8 of its peak there).
* Path ``"direct"`` evaluates every point–cell pair within reach; it is cheapest when points are
  few compared with cells, or the bandwidth is under about a cell.

``method="auto"`` picks the cheapest path from a cost model (fitted to timings of each path; it
counts the occupied cells first); all paths give the same numbers to rounding (the tests compare
them with each other, with scikit-learn's ``KernelDensity`` and with a brute-force sum). The
point-by-point loops are compiled with numba when it is installed (:data:`USE_NUMBA`), and
written in numpy otherwise (same results, several times slower).

Memory: the moment grids of the FFT path (float64) take ``terms × cells × 8`` bytes, e.g. 0.5 GB
for the quartic kernel on 2,400 x 2,600 cells; points take about 40 bytes each while they are
binned.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import scipy.fft as sfft

from ._errors import ParameterError
from .grid import Grid, GridValues, point_weights, points_xy

__all__ = [
    "kde",
    "KDEResult",
    "KERNELS",
    "BANDWIDTH_RULES",
    "bandwidth_sfhotspot",
    "bandwidth_arcgis",
    "GAUSSIAN_CUTOFF_SD",
]

#: Kernel names accepted by :func:`kde`.
KERNELS = ("quartic", "epanechnikov", "gaussian")
#: Automatic bandwidth rules accepted by :func:`kde`.
BANDWIDTH_RULES = ("sfhotspot", "arcgis")
#: The Gaussian kernel is cut off beyond this many standard deviations (in x and in y).
GAUSSIAN_CUTOFF_SD = 6.0

# Relative error allowed per point-cell pair in the Gaussian series (within 3.5 sd), and absolute
# error (as a share of a point's peak) anywhere.
_GAUSS_REL_TOL = 1e-7
_GAUSS_ABS_TOL = 1e-10
_GAUSS_MAX_ORDER = 24
# Pairs evaluated per vectorised block in point-by-point paths (memory ~ 40 bytes a pair).
_BLOCK_PAIRS = 1 << 18


def _norm_const(kernel: str, h: float) -> float:
    """Normalising constant c such that c * profile(u) integrates to 1 over the plane (per m²)."""
    if kernel == "quartic":
        return 3.0 / (math.pi * h * h)
    if kernel == "epanechnikov":
        return 2.0 / (math.pi * h * h)
    return 1.0 / (2.0 * math.pi * h * h)


# ----------------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class KDEResult(GridValues):
    """A kernel density surface on a grid.

    Attributes
    ----------
    values : ndarray of float, shape (n_rows, n_cols)
        Density at each cell centre in incidents per km² (``output="density"``), or the expected
        number of incidents in each cell (density × cell area, ``output="count"``). Cells outside
        the study area hold NaN.
    grid : Grid
    name : str
        ``"density"`` or ``"expected_count"`` (the column name in :meth:`to_geodataframe`).
    units : str
    params : dict
        Everything that produced the surface: ``bandwidth_m``, ``kernel``, ``bandwidth_rule``,
        ``n_points``, ``total_weight``, ``points_used``, ``points_outside_area`` (how they were
        treated), ``method``, ``notes``.
    bandwidth_m : float
        Bandwidth in metres (search radius for quartic/Epanechnikov, standard deviation for
        Gaussian); NaN when there were no points and no bandwidth was given.
    kernel : str
    notes : tuple of str
        Automatic choices and warnings, in sentences for captions.
    """

    bandwidth_m: float = float("nan")
    kernel: str = "quartic"
    notes: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------- bandwidth rules
def bandwidth_sfhotspot(xy: np.ndarray) -> float:
    """Bandwidth by sfhotspot's rule of thumb, averaged over x and y (metres).

    For each axis, ``MASS::bandwidth.nrd``: ``4 × 1.06 × min(sd, IQR / 1.34) × n^(-1/5)`` with the
    sample standard deviation (n − 1) and R's default (type 7, linear) quartiles; the result is
    the **mean of the x and y values**. sfhotspot's ``bandwidth_nrd_sf`` means to do this but calls
    ``mean(bw_x, bw_y)``, which in R returns ``bw_x`` (the second argument is ``trim``), so
    sfhotspot in effect uses the x axis only. Weights are ignored, as in sfhotspot.

    Raises
    ------
    ParameterError
        Fewer than 2 points, or a rule value of 0 (e.g. more than half the points on one spot).
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        raise ParameterError(
            f"the automatic bandwidth needs at least 2 points; got {n}. Give `bandwidth` in metres."
        )
    vals = []
    for axis in (0, 1):
        x = xy[:, axis]
        q1, q3 = np.quantile(x, [0.25, 0.75])
        sd = float(np.std(x, ddof=1))
        vals.append(4.0 * 1.06 * min(sd, (q3 - q1) / 1.34) * n ** (-0.2))
    bw = float(np.mean(vals))
    if not (bw > 0):
        raise ParameterError(
            "the automatic bandwidth (sfhotspot's rule) came out as 0 m because most points share the "
            "same x or y coordinates (the interquartile range is 0). Give `bandwidth` in metres."
        )
    return bw


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cw = np.cumsum(ws)
    half = cw[-1] / 2.0
    i = int(np.searchsorted(cw, half, side="left"))
    # Exactly half the weight at or below xs[i]: average with the next value, as np.median does.
    if i + 1 < len(xs) and np.isclose(cw[i], half, rtol=1e-12, atol=0.0):
        return float((xs[i] + xs[i + 1]) / 2.0)
    return float(xs[i])


def bandwidth_arcgis(xy: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Bandwidth by ArcGIS Kernel Density's default search-radius rule (metres).

    ``0.9 × min(SD, sqrt(1 / ln 2) × Dm) × n^(-0.2)``, where SD is the (weighted) standard
    distance ``sqrt(Σw·((x − x̄)² + (y − ȳ)²) / Σw)`` about the (weighted) mean centre, Dm the
    (weighted) median of the distances to that centre, and n the number of points, or the sum of
    the weights when weights are given (ArcGIS's population field).

    Raises
    ------
    ParameterError
        Fewer than 2 points, zero total weight, or all points on one spot.
    """
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 2:
        raise ParameterError(
            f"the automatic bandwidth needs at least 2 points; got {len(xy)}. Give `bandwidth` in metres."
        )
    if weights is None:
        # Unit weights: the same sums without multiplying by 1, and the weighted median is the
        # plain median (identical numbers, without sorting).
        tw = float(len(xy))
        centre = xy.sum(axis=0) / tw
        d2 = ((xy - centre) ** 2).sum(axis=1)
        sd = math.sqrt(float(d2.sum()) / tw)
        dm = float(np.median(np.sqrt(d2)))
    else:
        w = np.asarray(weights, dtype=float)
        tw = float(w.sum())
        if not tw > 0:
            raise ParameterError("the automatic bandwidth needs a positive total weight; all `weights` are 0.")
        centre = (w[:, None] * xy).sum(axis=0) / tw
        d2 = ((xy - centre) ** 2).sum(axis=1)
        sd = math.sqrt(float((w * d2).sum()) / tw)
        dm = _weighted_median(np.sqrt(d2), w)
    n = tw if weights is not None else float(len(xy))
    bw = 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * dm) * n ** (-0.2)
    if not (bw > 0):
        raise ParameterError(
            "the automatic bandwidth (ArcGIS's rule) came out as 0 m because most points share one "
            "location. Give `bandwidth` in metres."
        )
    return bw


# --------------------------------------------------------------------------- the engine
@dataclass(frozen=True)
class _Lattice:
    """Cell-centre lattice: output grid plus a halo of ``halo`` cells on every side."""

    x0: float  # x of the centre of the first output column
    y0: float  # y of the centre of the first output row (northmost)
    s: float
    n_rows: int
    n_cols: int
    halo: int

    @property
    def ext_shape(self) -> tuple[int, int]:
        return (self.n_rows + 2 * self.halo, self.n_cols + 2 * self.halo)


def _bin_points(xy: np.ndarray, w: np.ndarray, lat: _Lattice):
    """Nearest extended-lattice node of every point that can reach the grid.

    Returns flat index into the extended lattice, offsets (dx, dy) in metres and weights, for the
    points inside the extended lattice (others cannot contribute).
    """
    s, L = lat.s, lat.halo
    fj = np.floor((xy[:, 0] - lat.x0) / s + 0.5)
    fi = np.floor((lat.y0 - xy[:, 1]) / s + 0.5)
    keep = (fj >= -L) & (fj < lat.n_cols + L) & (fi >= -L) & (fi < lat.n_rows + L)
    if not keep.all():
        fj, fi, xy, w = fj[keep], fi[keep], xy[keep], w[keep]
    dx = xy[:, 0] - (lat.x0 + fj * s)
    dy = xy[:, 1] - (lat.y0 - fi * s)
    H, W = lat.ext_shape
    flat = (fi.astype(np.int64) + L) * W + (fj.astype(np.int64) + L)
    return flat, dx, dy, w


def _offsets_compact(h: float, s: float) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Lattice offsets for a kernel supported on the disk of radius h.

    Returns the halo L, and for every offset (di, dj) in [-L, L]²: di, dj and a class
    0 = no point of the source cell can reach (skip), 1 = every point of the cell is inside the
    support (exact polynomial), 2 = the support boundary crosses the cell (point by point).
    """
    L = max(1, math.ceil(h / s + 0.5))
    di, dj = np.meshgrid(np.arange(-L, L + 1), np.arange(-L, L + 1), indexing="ij")
    ax, ay = np.abs(dj) * s, np.abs(di) * s
    far = np.hypot(ax + s / 2, ay + s / 2)
    near = np.hypot(np.maximum(ax - s / 2, 0.0), np.maximum(ay - s / 2, 0.0))
    cls = np.where(near >= h, 0, np.where(far <= h, 1, 2))
    return L, di, dj, cls


_PHASES = 8  # sub-cells per axis used to prune point-by-point work for the polynomial kernels


@functools.lru_cache(maxsize=32)
def _plans(kernel: str, h: float, s: float):
    """Lattice offsets and point-by-point plans for a kernel, bandwidth and cell size (cached)."""
    if kernel == "gaussian":
        L = max(1, math.ceil(GAUSSIAN_CUTOFF_SD * h / s + 0.5))
        di, dj = np.meshgrid(np.arange(-L, L + 1), np.arange(-L, L + 1), indexing="ij")
        cls = np.ones(di.shape, dtype=int)  # square cut-off: every offset in [-L, L]² is used
    else:
        L, di, dj, cls = _offsets_compact(h, s)
    plan_all = _phase_offsets(kernel, h, s, di, dj, cls > 0)
    plan_ring = _phase_offsets(kernel, h, s, di, dj, cls == 2)
    p = _gauss_order(math.sqrt(0.5) * s / h, GAUSSIAN_CUTOFF_SD) if kernel == "gaussian" else None
    return L, di, dj, cls, plan_all, plan_ring, p


def _phase_offsets(kernel: str, h: float, s: float, di: np.ndarray, dj: np.ndarray, sel: np.ndarray):
    """Lattice offsets to evaluate point by point, per sub-cell phase.

    For the polynomial kernels each cell is split into ``_PHASES``² sub-cells; a point in a
    sub-cell cannot reach an offset whose separation square (the sub-cell seen from the target
    centre) lies wholly outside the support, so that offset is skipped for it. Returns
    ``(m, [(di, dj) arrays for phase (pi, pj) in row-major order])``.
    """
    di, dj = di[sel], dj[sel]
    if kernel == "gaussian":
        return 1, [(di, dj)]
    m = _PHASES
    out = []
    half = s / (2 * m)
    for pi in range(m):
        cy = -s / 2 + (pi + 0.5) * s / m
        for pj in range(m):
            cx = -s / 2 + (pj + 0.5) * s / m
            ax = np.abs(dj * s - cx)
            ay = np.abs(-di * s - cy)
            near = np.hypot(np.maximum(ax - half, 0.0), np.maximum(ay - half, 0.0))
            keep = near < h
            out.append((di[keep], dj[keep]))
    return m, out


def _scatter_pairs(
    acc: np.ndarray, flat: np.ndarray, dx: np.ndarray, dy: np.ndarray, w: np.ndarray,
    plan, kernel: str, h: float, s: float, lat: _Lattice, phase: np.ndarray | None = None,
    pbase: np.ndarray | None = None,
) -> None:
    """Add w·profile(|Δ − d| / h) for every point and every planned lattice offset into ``acc``.

    ``acc`` is the extended lattice padded by ``halo`` more cells on every side (so every target
    exists), flattened. Points are processed by phase, sorted by row, in blocks of about
    :data:`_BLOCK_PAIRS` pairs so that each block touches a narrow band of the grid.
    """
    n = len(flat)
    m, lists = plan
    if n == 0 or not any(len(d) for d, _ in lists):
        return
    kernels = _numba_kernels() if USE_NUMBA else None
    if kernels is not None and kernel == "gaussian":
        _scatter_pairs_numba(kernels, acc, flat, dx, dy, w, plan, kernel, h, s, lat, phase, pbase)
        return
    H, W = lat.ext_shape
    L = lat.halo
    Wp = W + 2 * L
    fi, fj = np.divmod(flat, W)
    if m > 1:
        pj = np.clip(np.floor((dx + s / 2) * (m / s)), 0, m - 1).astype(np.int64)
        pi = np.clip(np.floor((dy + s / 2) * (m / s)), 0, m - 1).astype(np.int64)
        phase = pi * m + pj
    else:
        phase = np.zeros(n, dtype=np.int64)
    # Sort by (phase, row): two stable sorts on small integers.
    rowkey = fi.astype(np.uint16) if H < 65536 else fi
    order = np.argsort(rowkey, kind="stable")
    order = order[np.argsort(phase[order].astype(np.uint8), kind="stable")]
    counts = np.bincount(phase, minlength=m * m)
    starts = np.concatenate([[0], np.cumsum(counts)])
    base_all = (fi + L) * Wp + (fj + L)
    inv_h = 1.0 / h
    gauss = kernel == "gaussian"
    for ph, (di, dj) in enumerate(lists):
        n_off = len(di)
        if n_off == 0 or counts[ph] == 0:
            continue
        sel = order[starts[ph] : starts[ph + 1]]
        ux_off, jx = np.unique(dj, return_inverse=True)
        uy_off, iy = np.unique(di, return_inverse=True)
        shift = (di * Wp + dj).astype(np.int64)
        smin, smax = int(shift.min()), int(shift.max())
        step = max(1, _BLOCK_PAIRS // n_off)
        for a in range(0, len(sel), step):
            idx_pts = sel[a : a + step]
            base = base_all[idx_pts]
            bx, by, bw = dx[idx_pts], dy[idx_pts], w[idx_pts]
            sx = (ux_off[None, :] * s - bx[:, None]) * inv_h
            sy = (-uy_off[None, :] * s - by[:, None]) * inv_h
            if gauss:
                gx = np.exp(-0.5 * sx * sx)
                gx *= bw[:, None]
                gy = np.exp(-0.5 * sy * sy)
                vals = np.take(gx, jx, axis=1)
                vals *= np.take(gy, iy, axis=1)
            else:
                # w·(1 − r²)^k = (w^(1/k)·(1 − sx²) − w^(1/k)·sy²)^k, clipped at 0: two gathers.
                rw = bw if kernel == "epanechnikov" else np.sqrt(bw)
                ax = (1.0 - sx * sx) * rw[:, None]
                by = (sy * sy) * rw[:, None]
                vals = np.take(ax, jx, axis=1)
                vals -= np.take(by, iy, axis=1)
                np.maximum(vals, 0.0, out=vals)
                if kernel == "quartic":
                    vals *= vals
            lo = int(base.min()) + smin
            hi = int(base.max()) + smax + 1
            idx = base[:, None] + (shift - lo)[None, :]
            acc[lo:hi] += np.bincount(idx.ravel(), weights=vals.ravel(), minlength=hi - lo)


#: Use compiled (numba) loops for the point-by-point work when numba is installed. The numpy
#: path gives the same numbers; set to False to force it.
USE_NUMBA = os.environ.get("HOTSPOTS_NO_NUMBA", "") == ""


class _Kernels(NamedTuple):
    scatter_gauss: Any
    prepare: Any
    prep_rows: Any
    cell_pass: Any
    count_off_grid: Any


@functools.lru_cache(maxsize=1)
def _numba_kernels() -> _Kernels | None:
    """Compiled point-by-point loops, or None when numba is not installed (compiled on first use)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - depends on the environment
        return None

    @numba.njit(cache=True, nogil=True)
    def prepare(xy, w, unit_w, x0, y0, s, L, n_rows, n_cols, m):  # pragma: no cover
        # Nearest extended-lattice node of each point (dropping points that cannot reach the
        # grid), its index in the extended lattice and in the padded accumulator, offsets from
        # it and sub-cell phase. Points come out sorted by lattice row (counting sort): later
        # scatters then work on a narrow band of rows at a time, 2-3x faster than in input order.
        # (No integer division per point: it costs more than everything else here.)
        H = n_rows + 2 * L
        W = n_cols + 2 * L
        Wp = W + 2 * L
        n = xy.shape[0]
        inv_s = 1.0 / s
        lo = -L - 0.5
        hx = n_cols + L - 0.5
        hy = n_rows + L - 0.5
        row = np.empty(n, dtype=np.int32)
        col = np.empty(n, dtype=np.int32)
        row_start = np.zeros(H + 1, dtype=np.int64)
        for i in range(n):
            u = (xy[i, 0] - x0) * inv_s
            v = (y0 - xy[i, 1]) * inv_s
            if u >= lo and u < hx and v >= lo and v < hy:
                # v + 0.5 + L >= 0 here, so truncation is floor (and much cheaper than a floor call)
                r = np.int32(v + 0.5 + L)
                row[i] = r
                col[i] = np.int32(u + 0.5 + L)
                row_start[r + 1] += 1
            else:
                row[i] = -1
        for r in range(H):
            row_start[r + 1] += row_start[r]
        k = row_start[H]
        flat = np.empty(k, dtype=np.int64)
        pbase = np.empty(k, dtype=np.int64)
        dx = np.empty(k)
        dy = np.empty(k)
        ws = np.empty(k)
        phase = np.empty(k, dtype=np.int16)
        pos = row_start[:-1].copy()
        half = s / 2
        msc = m * inv_s
        for i in range(n):
            r = np.int64(row[i])
            if r < 0:
                continue
            c = np.int64(col[i])
            j = pos[r]
            pos[r] += 1
            ddx = xy[i, 0] - (x0 + (c - L) * s)
            ddy = xy[i, 1] - (y0 - (r - L) * s)
            flat[j] = r * W + c
            pbase[j] = (r + L) * Wp + (c + L)
            dx[j] = ddx
            dy[j] = ddy
            ws[j] = 1.0 if unit_w else w[i]
            pj = min(np.int64(max((ddx + half) * msc, 0.0)), m - 1)
            pi = min(np.int64(max((ddy + half) * msc, 0.0)), m - 1)
            phase[j] = pi * m + pj
        return flat, pbase, dx, dy, ws, phase

    @numba.njit(cache=True, nogil=True)
    def scatter_gauss(acc, pbase, dx, dy, w, L, Wp, s, inv_h):  # pragma: no cover
        K = 2 * L + 1
        gx = np.empty(K)
        gy = np.empty(K)
        for i in range(pbase.shape[0]):
            for j in range(K):
                sx = ((j - L) * s - dx[i]) * inv_h
                gx[j] = np.exp(-0.5 * sx * sx) * w[i]
                sy = (-(j - L) * s - dy[i]) * inv_h
                gy[j] = np.exp(-0.5 * sy * sy)
            b = pbase[i] - L * Wp - L
            for r in range(K):
                row = b + r * Wp
                g = gy[r]
                for c in range(K):
                    acc[row + c] += g * gx[c]

    @numba.njit(cache=True, nogil=True)
    def prep_rows(xy, w, unit_w, x0, y0, s, L, n_rows, n_cols):  # pragma: no cover
        # Nearest extended-lattice node of each point that can reach the grid (the same test and
        # rounding as `prepare`), points grouped by lattice row (stable counting sort: few
        # buckets, so the scattered writes stay cache-friendly), with their column, offsets from
        # the node and weight. Also counts the occupied cells (for the cost model).
        H = n_rows + 2 * L
        W = n_cols + 2 * L
        n = xy.shape[0]
        inv_s = 1.0 / s
        lo = -L - 0.5
        hx = n_cols + L - 0.5
        hy = n_rows + L - 0.5
        row = np.empty(n, dtype=np.int32)
        col = np.empty(n, dtype=np.int32)
        row_start = np.zeros(H + 1, dtype=np.int64)
        seen = np.zeros(H * W, dtype=np.uint8)
        n_occ = 0
        for i in range(n):
            u = (xy[i, 0] - x0) * inv_s
            v = (y0 - xy[i, 1]) * inv_s
            if u >= lo and u < hx and v >= lo and v < hy:
                # v + 0.5 + L >= 0 here, so truncation is floor (and much cheaper than a floor call)
                r = np.int32(v + 0.5 + L)
                c = np.int32(u + 0.5 + L)
                row[i] = r
                col[i] = c
                row_start[r + 1] += 1
                f = np.int64(r) * W + c
                if seen[f] == 0:
                    seen[f] = 1
                    n_occ += 1
            else:
                row[i] = -1
        for r in range(H):
            row_start[r + 1] += row_start[r]
        k = row_start[H]
        scol = np.empty(k, dtype=np.int32)
        dx = np.empty(k)
        dy = np.empty(k)
        ws = np.empty(0 if unit_w else k)
        pos = row_start[:-1].copy()
        for i in range(n):
            r = row[i]
            if r < 0:
                continue
            c = col[i]
            j = pos[r]
            pos[r] += 1
            dx[j] = xy[i, 0] - (x0 + (c - L) * s)
            dy[j] = xy[i, 1] - (y0 - (r - L) * s)
            scol[j] = c
            if not unit_w:
                ws[j] = w[i]
        return row_start, scol, dx, dy, ws, n_occ

    @numba.njit(cache=True, nogil=True)
    def cell_pass(acc, moms, row_start, scol, dx, dy, ws, unit_w, n_rows, n_cols, L, inv_h,
                  expo, coef, ox, oy, oshift, R, kind, cmin, to_moms):  # pragma: no cover
        # The polynomial kernels, one source cell at a time. Lattice offsets (ox, oy in units of
        # h; oshift into the padded accumulator) list the ring first (R offsets where the
        # support boundary crosses the cell), then the interior ones. For each cell, every point
        # adds w·profile to a small local buffer indexed by offset -- one contiguous,
        # vectorised loop per point -- and the buffer is added to the grid once per cell.
        # * cells with fewer than `cmin` points: every offset point by point (cmin huge: the
        #   direct path);
        # * other cells: the ring point by point, the interior from the cell's moments
        #   (exact polynomial expansion; coef[t, k] for interior offset k);
        # * to_moms: every cell's moments go to `moms` (for the FFT) and only the ring is added.
        H = n_rows + 2 * L
        W = n_cols + 2 * L
        Wp = W + 2 * L
        T = expo.shape[0]
        K = ox.shape[0]
        rb = np.zeros(K)
        m = np.zeros(T)
        px = np.ones(5)
        py = np.ones(5)
        pq = np.ones(3)
        cnt = np.zeros(W + 1, dtype=np.int64)
        longest = 0
        for r in range(H):
            longest = max(longest, row_start[r + 1] - row_start[r])
        order = np.empty(longest, dtype=np.int64)
        for r in range(H):
            a0 = row_start[r]
            a1 = row_start[r + 1]
            if a0 == a1:
                continue
            # the row's points grouped by column (stable), then cell by cell
            for c in range(W + 1):
                cnt[c] = 0
            for j in range(a0, a1):
                cnt[scol[j] + 1] += 1
            for c in range(W):
                cnt[c + 1] += cnt[c]
            for j in range(a0, a1):
                c = scol[j]
                order[cnt[c]] = j
                cnt[c] += 1
            start = 0
            rowbase = (r + L) * Wp + L
            for c in range(W):
                end = cnt[c]
                if end == start:
                    continue
                use_m = to_moms or (end - start) >= cmin
                kk = R if use_m else K
                if use_m:
                    for t in range(T):
                        m[t] = 0.0
                for q in range(start, end):
                    jj = order[q]
                    wi = 1.0 if unit_w else ws[jj]
                    x = dx[jj] * inv_h
                    y = dy[jj] * inv_h
                    if use_m:
                        qq = x * x + y * y
                        for e in range(1, 5):
                            px[e] = px[e - 1] * x
                            py[e] = py[e - 1] * y
                        for e in range(1, 3):
                            pq[e] = pq[e - 1] * qq
                        for t in range(T):
                            m[t] += wi * px[expo[t, 0]] * py[expo[t, 1]] * pq[expo[t, 2]]
                    if kind == 0:
                        for k in range(kk):
                            sx = ox[k] - x
                            sy = oy[k] - y
                            tt = max(1.0 - (sx * sx + sy * sy), 0.0)
                            rb[k] += wi * (tt * tt)
                    else:
                        for k in range(kk):
                            sx = ox[k] - x
                            sy = oy[k] - y
                            tt = max(1.0 - (sx * sx + sy * sy), 0.0)
                            rb[k] += wi * tt
                start = end
                b = rowbase + c
                if to_moms:
                    f = r * W + c
                    for t in range(T):
                        moms[f, t] = m[t]
                    for k in range(R):
                        acc[b + oshift[k]] += rb[k]
                        rb[k] = 0.0
                    continue
                if use_m and m[0] > 0:
                    for t in range(T):
                        mt = m[t]
                        for k in range(R, K):
                            rb[k] += coef[t, k] * mt
                for k in range(K):
                    acc[b + oshift[k]] += rb[k]
                    rb[k] = 0.0

    @numba.njit(cache=True, nogil=True)
    def count_off_grid(xy, xmin, ymin, s, n_rows, n_cols):  # pragma: no cover
        # Points outside the grid, by the same arithmetic as `kde`'s numpy test.
        k = 0
        for i in range(xy.shape[0]):
            u = (xy[i, 0] - xmin) / s
            v = (xy[i, 1] - ymin) / s
            if not (u >= 0 and u < n_cols and v >= 0 and v < n_rows):
                k += 1
        return k

    return _Kernels(scatter_gauss, prepare, prep_rows, cell_pass, count_off_grid)


def _scatter_pairs_numba(kernels, acc, flat, dx, dy, w, plan, kernel, h, s, lat, phase=None, pbase=None) -> None:
    # Only the Gaussian kernel comes here with numba (the polynomial kernels use `cell_pass`).
    H, W = lat.ext_shape
    L = lat.halo
    Wp = W + 2 * L
    if pbase is None:
        pbase = (flat // W + L) * Wp + (flat % W + L)
    kernels.scatter_gauss(acc, pbase, dx, dy, w, L, Wp, float(s), 1.0 / h)


def _gauss_order(rho: float, tau: float) -> int | None:
    """Smallest series order p meeting the Gaussian error bounds, or None if too large.

    ``rho`` is the largest |d| / h (half the cell diagonal over the bandwidth). For a pair at
    normalised lattice distance U the remainder of exp(t), |t| <= U·rho, after degree p is at
    most |t|^(p+1) / (p+1)! · e^|t|, relative to the pair's exact value.
    """
    U = np.linspace(0.0, (tau + rho) * math.sqrt(2.0), 600)
    t = U * rho
    g = np.exp(-0.5 * np.maximum(U - rho, 0.0) ** 2)  # a pair's largest possible value at U
    for p in range(1, _GAUSS_MAX_ORDER + 1):
        rem = np.exp((p + 1) * np.log(np.maximum(t, 1e-300)) - math.lgamma(p + 2) + t)
        rel_ok = np.all(rem[U <= 3.5] <= _GAUSS_REL_TOL)
        abs_ok = np.all(rem * g <= _GAUSS_ABS_TOL)
        if rel_ok and abs_ok:
            return p
    return None


def _poly_terms(power: int):
    """Expansion of (A + 2·Ux·Vx + 2·Uy·Vy − Q)^power in monomials Vx^a·Vy^b·Q^c.

    Returns a dict (a, b, c) -> dict (i, j, k) -> integer coefficient of A^i·Ux^j·Uy^k.
    Q = Vx² + Vy²; A = 1 − |U|².
    """
    # Each factor: list of ((a, b, c), (i, j, k), coef)
    factor = [
        ((0, 0, 0), (1, 0, 0), 1),
        ((1, 0, 0), (0, 1, 0), 2),
        ((0, 1, 0), (0, 0, 1), 2),
        ((0, 0, 1), (0, 0, 0), -1),
    ]
    poly: dict = {(0, 0, 0): {(0, 0, 0): 1}}
    for _ in range(power):
        new: dict = {}
        for mono, coefs in poly.items():
            for fm, fc, c in factor:
                m2 = (mono[0] + fm[0], mono[1] + fm[1], mono[2] + fm[2])
                d = new.setdefault(m2, {})
                for cc, v in coefs.items():
                    c2 = (cc[0] + fc[0], cc[1] + fc[1], cc[2] + fc[2])
                    d[c2] = d.get(c2, 0) + v * c
        poly = {m: {k: v for k, v in cs.items() if v != 0} for m, cs in new.items()}
        poly = {m: cs for m, cs in poly.items() if cs}
    return poly


class _SpectralSum:
    """Accumulates Σ conv(moment_k, coef_k) in the Fourier domain (one inverse FFT at the end)."""

    def __init__(self, ext_shape: tuple[int, int], ksize: int) -> None:
        self.H, self.W = ext_shape
        self.k = ksize
        self.fshape = (sfft.next_fast_len(self.H + ksize - 1, True), sfft.next_fast_len(self.W + ksize - 1, True))
        self.acc = None

    def kernel_spectrum(self, coef: np.ndarray) -> np.ndarray:
        # FFT of a small array: along rows (only k rows are non-zero), then columns.
        a = sfft.rfft(coef, n=self.fshape[1], axis=1)
        return sfft.fft(a, n=self.fshape[0], axis=0)

    def kernel_spectrum_separable(self, col: np.ndarray, row: np.ndarray) -> np.ndarray:
        # coef[i, j] = col[i] * row[j]
        return np.multiply.outer(sfft.fft(col, n=self.fshape[0]), sfft.rfft(row, n=self.fshape[1]))

    def add(self, moment: np.ndarray, spectrum: np.ndarray) -> None:
        m = sfft.rfft2(moment, s=self.fshape)
        m *= spectrum
        if self.acc is None:
            self.acc = m
        else:
            self.acc += m

    def result(self) -> np.ndarray:
        full = sfft.irfft2(self.acc, s=self.fshape)
        L = (self.k - 1) // 2
        return full[L : L + self.H, L : L + self.W]


@functools.lru_cache(maxsize=32)
def _poly_plan(kernel: str, h: float, s: float):
    """Offsets and coefficients for the compiled polynomial path (cached per kernel, bandwidth, cell).

    Returns ``L``, ``di``, ``dj`` (offsets reached, ring first then interior), ``ox``, ``oy``
    (their centres in units of h), ``R`` (number of ring offsets), ``expo`` (moment exponents),
    ``coef`` (terms × offsets: the interior coefficients, 0 on the ring) and ``coef_grids``
    (the same as full (2L+1)² grids, for the FFT).
    """
    L, di, dj, cls = _offsets_compact(h, s)
    ring = np.flatnonzero((cls == 2).ravel())
    inner = np.flatnonzero((cls == 1).ravel())
    idx = np.concatenate([ring, inner])
    Ux = dj * s / h
    Uy = -di * s / h
    A = 1.0 - Ux * Ux - Uy * Uy
    terms = sorted(_poly_terms(2 if kernel == "quartic" else 1).items())
    grids = []
    for _, cdict in terms:
        coef = np.zeros(A.shape)
        for (i, j, k), v in cdict.items():
            coef += v * A**i * Ux**j * Uy**k
        coef[cls != 1] = 0.0
        grids.append(coef)
    coef_k = np.ascontiguousarray(np.stack([g.ravel()[idx] for g in grids]))
    expo = np.array([t for t, _ in terms], dtype=np.int64)
    odi = di.ravel()[idx].astype(np.int64)
    odj = dj.ravel()[idx].astype(np.int64)
    ox = np.ascontiguousarray(Ux.ravel()[idx])
    oy = np.ascontiguousarray(Uy.ravel()[idx])
    for a in (odi, odj, ox, oy, coef_k, expo):
        a.setflags(write=False)
    return L, odi, odj, ox, oy, len(ring), expo, coef_k, tuple(grids)


# Cost model of the compiled polynomial paths (seconds, fitted to 48 timings of both paths on
# one core of the 2-core development VM: 200² and 400² cells, 10^4-10^6 points, h = 2-16 cells):
# per point and offset evaluated point by point, per occupied cell and offset added to the grid,
# per point and moment term, per FFT point and log2 of the FFT size, and per point otherwise
# (binning and bookkeeping) on the direct and FFT paths.
_C_LANE, _C_FLUSH, _C_MOMENT, _C_FFT, _C_POINT_DIRECT, _C_POINT_FFT = 0.3e-9, 1.0e-9, 3.0e-9, 0.38e-9, 39e-9, 44e-9


def _kde_sum_compiled_poly(kernels, xy: np.ndarray, w: np.ndarray | None, grid: Grid, h: float, kernel: str, method: str):
    """:func:`_kde_sum` for the quartic and Epanechnikov kernels with numba (see ``cell_pass``)."""
    prep_rows, cell_pass = kernels.prep_rows, kernels.cell_pass
    s = float(grid.cell_size)
    nr, nc = grid.shape
    L, odi, odj, ox, oy, R, expo, coef_k, coef_grids = _poly_plan(kernel, float(h), s)
    H, W = nr + 2 * L, nc + 2 * L
    Wp = W + 2 * L
    unit = w is None
    row_start, scol, dx, dy, ws, n_occ = prep_rows(
        xy, np.empty(0) if unit else np.asarray(w, dtype=float), unit, grid.xmin + s / 2, grid.ymax - s / 2, s, L, nr, nc
    )
    n = len(dx)
    K, T = len(ox), len(expo)
    k_int = K - R
    fshape = (sfft.next_fast_len(H + 2 * L, True), sfft.next_fast_len(W + 2 * L, True))
    n_fft = fshape[0] * fshape[1]
    costs = {
        "direct": n * (K * _C_LANE + _C_POINT_DIRECT) + n_occ * K * _C_FLUSH,
        "fft": n * (R * _C_LANE + T * _C_MOMENT + _C_POINT_FFT) + n_occ * (R + T) * _C_FLUSH
        + (2 * T + 1) * n_fft * math.log2(n_fft) * _C_FFT,
    }
    if method == "auto":
        method = min(costs, key=costs.get)
    # "cells": a cell's interior comes from its moments when it holds enough points for that to
    # be cheaper than point by point: c·k_int·lane > c·T·moment + T·k_int·lane.
    saving = k_int * _C_LANE - T * _C_MOMENT
    cmin = max(2, math.ceil(T * k_int * _C_LANE / saving)) if saving > 0 else 2**62
    if method == "direct":
        cmin = 2**62
    acc = np.zeros((H + 2 * L) * Wp)
    to_moms = method == "fft"
    moms = np.zeros((H * W, T) if to_moms and n else (1, T))
    if n:
        oshift = odi * Wp + odj
        cell_pass(acc, moms, row_start, scol, dx, dy, ws, unit, nr, nc, L, 1.0 / h, expo, coef_k, ox, oy, oshift, R,
                  0 if kernel == "quartic" else 1, cmin, to_moms)
    out = acc.reshape(H + 2 * L, Wp)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc].copy()
    if to_moms and n:
        spec = _SpectralSum((H, W), 2 * L + 1)
        for t, coef in enumerate(coef_grids):
            if coef.any():
                spec.add(np.ascontiguousarray(moms[:, t]).reshape(H, W), spec.kernel_spectrum(coef))
        if spec.acc is not None:
            out += spec.result()[L : L + nr, L : L + nc]
        total = float(ws.sum()) if not unit else float(n)
        # FFT round-off leaves about 1e-16 x the summed weight where the true value is 0 (each
        # point contributes at most its weight to a cell); remove it.
        out[out < 1e-12 * total] = 0.0
    return out, method


def _kde_sum(
    xy: np.ndarray, w: np.ndarray | None, grid: Grid, h: float, kernel: str, *, method: str = "auto"
) -> tuple[np.ndarray, str]:
    """Σ_i w_i · profile(|c − p_i| / h) at every cell centre c (unnormalised), and the path used."""
    kernels = _numba_kernels() if USE_NUMBA else None
    compiled = kernels is not None
    if compiled and kernel != "gaussian":
        return _kde_sum_compiled_poly(kernels, xy, w, grid, h, kernel, method)
    s = grid.cell_size
    nr, nc = grid.shape
    L, di, dj, cls, plan_all, plan_ring, p = _plans(kernel, float(h), float(s))
    lat = _Lattice(grid.xmin + s / 2, grid.ymax - s / 2, s, nr, nc, L)
    phase = pbase = None
    if compiled:
        unit = w is None
        flat, pbase, dx, dy, w, phase = kernels.prepare(
            xy, np.empty(0) if unit else np.asarray(w, dtype=float), unit,
            lat.x0, lat.y0, float(s), L, nr, nc, plan_all[0],
        )
    else:
        flat, dx, dy, w = _bin_points(xy, np.ones(len(xy)) if w is None else w, lat)
    n = len(flat)
    H, W = lat.ext_shape
    acc_shape = (H + 2 * L, W + 2 * L)
    n_all = float(np.mean([len(d) for d, _ in plan_all[1]]))
    n_ring = float(np.mean([len(d) for d, _ in plan_ring[1]]))

    # Cost model (seconds; rough constants measured on one core of a laptop-class machine).
    c_pair, c_bin, c_fft = (2e-9 if compiled else 1.8e-8), (2e-9 if compiled else 6e-9), 2.2e-8
    ksize = 2 * L + 1
    fft_cells = (sfft.next_fast_len(H + ksize - 1, True)) * (sfft.next_fast_len(W + ksize - 1, True))
    if kernel == "gaussian":
        n_terms = None if p is None else (p + 1) * (p + 2) // 2
        c_pair_eff = 2e-9 if compiled else c_pair * 0.5  # separable evaluation is cheaper per pair
        terms = None
    else:
        terms = sorted(_poly_terms(2 if kernel == "quartic" else 1).items())
        n_terms = len(terms)
        c_pair_eff = c_pair
    costs = {"direct": n * n_all * c_pair_eff}
    if n_terms is not None:
        costs["fft"] = n_terms * (n * c_bin + fft_cells * c_fft * 1.6) + n * n_ring * c_pair_eff
    if method == "auto":
        method = min(costs, key=costs.get)
    elif method == "fft" and "fft" not in costs:
        method = "direct"
    elif method == "cells" and "cells" not in costs:
        method = "fft" if "fft" in costs else "direct"

    acc = np.zeros(acc_shape[0] * acc_shape[1])
    if n == 0:
        return np.zeros((nr, nc)), method
    if method == "direct":
        _scatter_pairs(acc, flat, dx, dy, w, plan_all, kernel, h, s, lat, phase, pbase)
        out = acc.reshape(acc_shape)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc].copy()
        return out, method

    Ux = dj * s / h
    Uy = -di * s / h
    size = H * W
    spec = _SpectralSum((H, W), ksize)
    if kernel == "gaussian":
        vx, vy = dx / h, dy / h
        gw = w * np.exp(-0.5 * (vx * vx + vy * vy))
        gx = [np.exp(-0.5 * Ux[0] ** 2) * Ux[0] ** a / math.factorial(a) for a in range(p + 1)]
        gy = [np.exp(-0.5 * Uy[:, 0] ** 2) * Uy[:, 0] ** b / math.factorial(b) for b in range(p + 1)]
        powx = gw
        for a in range(p + 1):
            mom = powx
            for b in range(p + 1 - a):
                m = np.bincount(flat, weights=mom, minlength=size).reshape(H, W)
                spec.add(m, spec.kernel_spectrum_separable(gy[b], gx[a]))
                if b < p - a:
                    mom = mom * vy
            if a < p:
                powx = powx * vx
    else:
        # Coefficient grids of the exact expansion, zero outside the interior offsets.
        A = 1.0 - Ux * Ux - Uy * Uy
        coefs = []
        for _, cdict in terms:
            coef = np.zeros(A.shape)
            for (i, j, k), v in cdict.items():
                coef += v * A**i * Ux**j * Uy**k
            coef[cls != 1] = 0.0
            coefs.append(coef)
        expo = np.array([t for t, _ in terms], dtype=np.int64)
        vx, vy = dx / h, dy / h
        q = vx * vx + vy * vy
        moms = np.stack(
            [np.bincount(flat, weights=w * vx**a * vy**b * q**c, minlength=size) for a, b, c in expo], axis=1
        )
        for t, coef in enumerate(coefs):
            if coef.any():
                spec.add(np.ascontiguousarray(moms[:, t]).reshape(H, W), spec.kernel_spectrum(coef))
        # The ring: offsets where the support boundary crosses the source cell, point by point.
        _scatter_pairs(acc, flat, dx, dy, w, plan_ring, kernel, h, s, lat, phase, pbase)
    out = spec.result()[L : L + nr, L : L + nc] if spec.acc is not None else np.zeros((nr, nc))
    out = out + acc.reshape(acc_shape)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc]
    if method == "fft":
        # FFT round-off leaves about 1e-16 x the summed weight where the true value is 0 (each
        # point contributes at most its weight to a cell); remove it.
        out[out < 1e-12 * float(w.sum())] = 0.0
    return out, method


# ------------------------------------------------------------------------------- kde
def kde(
    points: Any,
    grid: Grid,
    bandwidth: float | None = None,
    kernel: Literal["quartic", "epanechnikov", "gaussian"] = "quartic",
    weights: Any = None,
    *,
    output: Literal["density", "count"] = "density",
    bandwidth_rule: Literal["sfhotspot", "arcgis"] = "sfhotspot",
    bandwidth_adjust: float = 1.0,
    points_outside_area: Literal["include", "exclude"] = "include",
    method: Literal["auto", "fft", "cells", "direct"] = "auto",
) -> KDEResult:
    """Kernel density of ``points`` at the centre of every cell of ``grid``.

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or (n, 2) array
        Incident locations in the grid's CRS (metres).
    grid : Grid
        Cells to evaluate; cells outside its study-area mask are NaN in the result.
    bandwidth : float, optional
        Metres: the search radius for ``quartic`` and ``epanechnikov`` (the kernel is 0 beyond
        it), the standard deviation for ``gaussian``. ``None`` picks it by ``bandwidth_rule``
        (then multiplied by ``bandwidth_adjust``) and records the choice in ``notes``.
    kernel : {"quartic", "epanechnikov", "gaussian"}
        See the module documentation for the formulas. ``quartic`` is ArcGIS's kernel;
        ``epanechnikov`` and ``gaussian`` are scikit-learn's.
    weights : array-like or str, optional
        One non-negative weight per point (or a column name): a point of weight 3 counts as 3
        incidents.
    output : {"density", "count"}
        ``"density"``: incidents per km². ``"count"``: expected incidents per cell (density ×
        cell area), as ArcGIS's "expected counts".
    bandwidth_rule : {"sfhotspot", "arcgis"}
        Rule used when ``bandwidth`` is None: :func:`bandwidth_sfhotspot` (default; the x/y
        average of ``MASS::bandwidth.nrd``) or :func:`bandwidth_arcgis` (ArcGIS Kernel Density's
        default search radius).
    bandwidth_adjust : float
        Multiplier for the automatic bandwidth (as sfhotspot's ``bandwidth_adjust``).
    points_outside_area : {"include", "exclude"}
        ``"include"`` (default): every point contributes, also points in cells outside the
        study-area mask and points beyond the grid but within reach of it — they are real
        incidents near the border, and leaving them out would make density fall off artificially
        at the boundary. ``"exclude"``: only points in cells inside the study area (cell-centre
        rule, as :func:`~hotspots.grid.count`) contribute.
    method : {"auto", "fft", "cells", "direct"}
        Computation path; all give the same numbers (to rounding). ``"direct"`` sums point by
        point; ``"fft"`` convolves moment grids by FFT (the ring of offsets where the kernel's
        edge crosses a cell point by point); ``"cells"`` (needs numba, else ``"fft"``) uses a
        cell's moments for the interior only where the cell holds enough points to gain.
        ``"auto"`` picks the fastest by a cost model.

    Returns
    -------
    KDEResult

    Raises
    ------
    ParameterError
        Bandwidth 0, negative or not finite; unknown kernel, rule or option; NaN, infinite or
        negative weights; an automatic bandwidth with fewer than 2 points.

    Notes
    -----
    With no points (after ``points_outside_area``) the result is an all-zero surface (NaN
    outside the study area) with a note, not an error, so that empty months map as empty. A
    bandwidth smaller than the cell size gives a ``UserWarning`` (and a note): most of the surface
    is then zero between points.
    """
    if kernel not in KERNELS:
        raise ParameterError(f"`kernel` must be one of {', '.join(map(repr, KERNELS))}; got {kernel!r}.")
    if output not in ("density", "count"):
        raise ParameterError(f"`output` must be 'density' or 'count'; got {output!r}.")
    if bandwidth_rule not in BANDWIDTH_RULES:
        raise ParameterError(f"`bandwidth_rule` must be one of {', '.join(map(repr, BANDWIDTH_RULES))}; got {bandwidth_rule!r}.")
    if points_outside_area not in ("include", "exclude"):
        raise ParameterError(f"`points_outside_area` must be 'include' or 'exclude'; got {points_outside_area!r}.")
    if method not in ("auto", "fft", "cells", "direct"):
        raise ParameterError(f"`method` must be 'auto', 'fft', 'cells' or 'direct'; got {method!r}.")
    if not isinstance(grid, Grid):
        raise ParameterError(f"`grid` must be a hotspots Grid (see `Grid.for_points`); got {type(grid).__name__}.")
    try:
        adjust = float(bandwidth_adjust)
    except (TypeError, ValueError):
        raise ParameterError(f"`bandwidth_adjust` must be a positive number; got {bandwidth_adjust!r}.") from None
    if not (math.isfinite(adjust) and adjust > 0):
        raise ParameterError(f"`bandwidth_adjust` must be a positive number; got {bandwidth_adjust!r}.")
    if bandwidth is not None:
        try:
            h = float(bandwidth)
        except (TypeError, ValueError):
            raise ParameterError(f"`bandwidth` must be a number of metres; got {bandwidth!r}.") from None
        if not (math.isfinite(h) and h > 0):
            raise ParameterError(
                f"`bandwidth` must be a positive number of metres; got {bandwidth!r}. "
                "Use `bandwidth=None` for an automatic choice."
            )

    xy = points_xy(points, grid.crs)
    w_in = point_weights(points, weights, len(xy))
    n_points = len(xy)
    notes: list[str] = []

    n_outside = 0
    if n_points:
        kernels = _numba_kernels() if USE_NUMBA else None
        inside = None
        if grid.mask is None and points_outside_area == "include" and kernels is not None:
            # Only the number is needed: counted in one compiled pass (same arithmetic as below).
            n_outside = int(kernels.count_off_grid(np.ascontiguousarray(xy, dtype=float), float(grid.xmin), float(grid.ymin),
                                       float(grid.cell_size), grid.n_rows, grid.n_cols))
        else:
            if grid.mask is None:
                # Same test as Grid.cell_of (0 <= floor(u) < n  <=>  0 <= u < n), without the indices.
                u = (xy[:, 0] - grid.xmin) / grid.cell_size
                v = (xy[:, 1] - grid.ymin) / grid.cell_size
                inside = (u >= 0) & (u < grid.n_cols) & (v >= 0) & (v < grid.n_rows)
            else:
                rows, cols, on_grid = grid.cell_of(xy)
                inside = on_grid & grid.active[rows, cols]
            n_outside = int((~inside).sum())
        if points_outside_area == "exclude" and n_outside:
            xy = xy[inside]
            if w_in is not None:
                w_in = w_in[inside]
            notes.append(f"{n_outside:,} point(s) outside the study area or grid left out (points_outside_area='exclude').")
        elif n_outside:
            notes.append(
                f"{n_outside:,} point(s) outside the study area or grid still contribute to the density near the "
                "border (points_outside_area='include')."
            )

    rule_used = None
    if bandwidth is None:
        if len(xy) == 0:
            h = float("nan")
        else:
            if bandwidth_rule == "sfhotspot":
                h = bandwidth_sfhotspot(xy)
                how = "sfhotspot's rule (MASS::bandwidth.nrd, mean of the x and y values)"
            else:
                h = bandwidth_arcgis(xy, w_in)
                how = "ArcGIS Kernel Density's default search-radius rule"
            h *= adjust
            rule_used = bandwidth_rule
            adj = f" × bandwidth_adjust {adjust:g}" if adjust != 1.0 else ""
            notes.append(f"bandwidth set to {h:,.0f} m automatically by {how}{adj}.")

    s = grid.cell_size
    if math.isfinite(h) and h < s:
        msg = (
            f"the bandwidth ({h:,.0f} m) is smaller than the cell size ({s:,.0f} m): the surface will be zero or "
            "patchy between points. Use a larger `bandwidth` or a smaller `cell_size`."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        notes.append(msg)

    total_weight = float(len(xy)) if w_in is None else float(w_in.sum())
    path = "none"
    if len(xy) == 0 or total_weight == 0:
        notes.append("no points to smooth: the density is 0 everywhere.")
        summed = np.zeros(grid.shape)
    else:
        _check_size(grid, h, kernel)
        summed, path = _kde_sum(xy, w_in, grid, h, kernel, method=method)
        summed *= _norm_const(kernel, h)  # per m²

    if output == "density":
        values = summed * 1e6
        name, units = "density", "incidents per km²" if w_in is None else "weighted incidents per km²"
    else:
        values = summed * (s * s)
        name, units = "expected_count", "incidents per cell" if w_in is None else "weighted incidents per cell"
    if grid.mask is not None:
        values[~grid.mask] = np.nan

    params = {
        "bandwidth_m": h,
        "kernel": kernel,
        "bandwidth_rule": rule_used,
        "bandwidth_adjust": adjust if rule_used else None,
        "output": output,
        "weights": weights if isinstance(weights, str) else (None if weights is None else "array"),
        "n_points": n_points,
        "points_used": int(len(xy)),
        "total_weight": total_weight,
        "points_outside_area": points_outside_area,
        "n_points_outside_area": n_outside,
        "gaussian_cutoff_sd": GAUSSIAN_CUTOFF_SD if kernel == "gaussian" else None,
        "method": path,
        "notes": list(notes),
    }
    return KDEResult(values, grid, name, units, params, bandwidth_m=h, kernel=kernel, notes=tuple(notes))


def _check_size(grid: Grid, h: float, kernel: str) -> None:
    radius = h * (GAUSSIAN_CUTOFF_SD if kernel == "gaussian" else 1.0)
    L = math.ceil(radius / grid.cell_size + 0.5)
    cells = (grid.n_rows + 4 * L) * (grid.n_cols + 4 * L)
    if cells > 4 * 60_000_000:
        raise ParameterError(
            f"a bandwidth of {h:,.0f} m is {radius / grid.cell_size:,.0f} cells wide on this grid, which needs "
            f"{cells:,} cells of working space. Use a smaller `bandwidth` or a larger `cell_size`."
        )
