"""The kernel density engine: exact sums of a kernel over points at every cell centre of a grid.

:func:`kernel_sum` computes ``Σ_i w_i · profile(|c − p_i| / h)`` at every cell centre ``c`` with
all points in memory; :class:`DensityStream` accumulates the same sum over chunks of points (the
national path reads 10^8 points from Parquet a million at a time) and, given one chunk, is
:func:`kernel_sum`. :func:`hotspots.density.kde` (the public API: validation, bandwidth rules,
units) calls :class:`DensityStream`; the compiled loops live in :mod:`hotspots.kde_compiled`.

How the sum is computed (exact, not an approximation by binning)
----------------------------------------------------------------
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
* Streams (:class:`DensityStream` with more than one chunk, path ``"stream"``): each chunk's
  points add their cells' moments to moment grids and their ring offsets to the surface, so
  memory does not grow with the number of points; at the end the interior comes from the moment
  grids, by FFT or, when few cells hold points, cell by cell (``interior_from_moments``).
  Without numba, or for the Gaussian kernel, each chunk is added point by point (the direct path).
* Gaussian kernel. ``exp(−|U − V|²/2) = exp(−|U|²/2) · exp(−|V|²/2) · exp(U·V)`` with ``U = Δ/h``,
  ``V = d/h``; the last factor is expanded in a power series (the fast Gauss transform's idea)
  whose order is chosen from its remainder bound so that every point–cell pair's relative error is
  below 1e-7 within 3.5 h. The kernel is cut off beyond 6 h in x or y
  (:data:`GAUSSIAN_CUTOFF_SD`; a point's kernel is below exp(−18) < 2e-8 of its peak there).
* Path ``"direct"`` evaluates every point–cell pair within reach; it is cheapest when points are
  few compared with cells, or the bandwidth is under about a cell.

``method="auto"`` picks the cheapest path from a cost model (fitted to timings of each path; it
counts the occupied cells first); all paths give the same numbers to rounding.

Memory: the moment grids of the FFT and stream paths (float64) take ``terms × cells × 8`` bytes,
e.g. 0.5 GB for the quartic kernel on 2,600 x 2,300 cells (England and Wales at 250 m); points
take about 40 bytes each while a chunk is binned.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft as sfft

from . import validation
from ._errors import ParameterError
from .grid import Grid
from .kde_compiled import compiled_loops

__all__ = ["GAUSSIAN_CUTOFF_SD", "norm_const", "check_size", "kernel_reach", "kernel_sum", "DensityStream"]

#: The Gaussian kernel is cut off beyond this many standard deviations (in x and in y).
GAUSSIAN_CUTOFF_SD = 6.0

# Relative error allowed per point-cell pair in the Gaussian series (within 3.5 sd), and absolute
# error (as a share of a point's peak) anywhere.
_GAUSS_REL_TOL = 1e-7
_GAUSS_ABS_TOL = 1e-10
_GAUSS_MAX_ORDER = 24
# Pairs evaluated per vectorised block in point-by-point paths (memory ~ 40 bytes a pair).
_BLOCK_PAIRS = 1 << 18


def norm_const(kernel: str, h: float) -> float:
    """Normalising constant c such that c * profile(u) integrates to 1 over the plane (per m²)."""
    if kernel == "quartic":
        return 3.0 / (math.pi * h * h)
    if kernel == "epanechnikov":
        return 2.0 / (math.pi * h * h)
    return 1.0 / (2.0 * math.pi * h * h)


_NO_COUNTS = np.empty(0)
# Threads for the FFTs of moment grids (scipy.fft's `workers`).
_FFT_WORKERS = max(1, min(4, os.cpu_count() or 1))


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
    kernels = compiled_loops()
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
        m = sfft.rfft2(moment, s=self.fshape, workers=_FFT_WORKERS)
        m *= spectrum
        if self.acc is None:
            self.acc = m
        else:
            self.acc += m

    def result(self) -> np.ndarray:
        full = sfft.irfft2(self.acc, s=self.fshape, workers=_FFT_WORKERS)
        L = (self.k - 1) // 2
        return full[L : L + self.H, L : L + self.W]


def interior_by_fft(moms: np.ndarray, coef_grids: Sequence[np.ndarray], H: int, W: int, L: int) -> np.ndarray:
    """The interior sum of every cell from the moments of the points in each cell, by FFT.

    ``moms`` holds, per cell of the ``H x W`` block (row-major) and per term ``t``, the points'
    moment; ``coef_grids[t]`` is the kernel's coefficient of that term on the ``(2L+1)^2``
    stencil. Returns the ``H x W`` block of sums (zeros when no coefficient is non-zero), of
    which the caller keeps its cells (offset ``L``).
    """
    spec = _SpectralSum((H, W), 2 * L + 1)
    for t, coef in enumerate(coef_grids):
        if coef.any():
            spec.add(np.ascontiguousarray(moms[:, t]).reshape(H, W), spec.kernel_spectrum(coef))
    return np.zeros((H, W)) if spec.acc is None else spec.result()


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
    K, T = len(ox), len(expo)
    k_int = K - R
    fshape = (sfft.next_fast_len(H + 2 * L, True), sfft.next_fast_len(W + 2 * L, True))
    n_fft = fshape[0] * fshape[1]

    def cheapest(n: int, n_occ: int) -> str:
        costs = {
            "direct": n * (K * _C_LANE + _C_POINT_DIRECT) + n_occ * K * _C_FLUSH,
            "fft": n * (R * _C_LANE + T * _C_MOMENT + _C_POINT_FFT) + n_occ * (R + T) * _C_FLUSH
            + (2 * T + 1) * n_fft * math.log2(n_fft) * _C_FFT,
        }
        return min(costs, key=costs.get)

    # The costs are linear in the points kept (n) and the occupied cells: when the same path is
    # cheapest at every corner of their possible range it is cheapest for any, and the occupied
    # cells need not be counted (0.2 ms at 10^5 points).
    count_occ = False
    if method == "auto":
        n_max = len(xy)
        picks = {cheapest(a, b) for a in (0, n_max) for b in (0, min(n_max, H * W))}
        if len(picks) == 1:
            method = picks.pop()
        else:
            count_occ = True
    row_start, scol, dx, dy, ws, n_occ = prep_rows(
        xy[:, 0], xy[:, 1], np.empty(0) if unit else np.asarray(w, dtype=float), unit, float(grid.xmin), float(grid.ymin),
        s, L, nr, nc, count_occ,
    )
    n = len(dx)
    if method == "auto":
        method = cheapest(n, n_occ)
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
        cell_pass(acc, moms, _NO_COUNTS, row_start, scol, dx, dy, ws, unit, nr, nc, L, 1.0 / h, expo, coef_k, ox, oy, oshift, R,
                  0 if kernel == "quartic" else 1, cmin, to_moms)
    out = acc.reshape(H + 2 * L, Wp)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc].copy()
    if to_moms and n:
        out += interior_by_fft(moms, coef_grids, H, W, L)[L : L + nr, L : L + nc]
        total = float(ws.sum()) if not unit else float(n)
        # FFT round-off leaves about 1e-16 x the summed weight where the true value is 0 (each
        # point contributes at most its weight to a cell); remove it.
        out[out < 1e-12 * total] = 0.0
    return out, method


def kernel_sum(
    xy: np.ndarray, w: np.ndarray | None, grid: Grid, h: float, kernel: str, *, method: str = "auto"
) -> tuple[np.ndarray, str]:
    """Σ_i w_i · profile(|c − p_i| / h) at every cell centre c (unnormalised), and the path used.

    All points at once; ``method`` as :func:`hotspots.density.kde`'s. See the module documentation.
    """
    kernels = compiled_loops()
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
            np.ascontiguousarray(xy, dtype=float), np.empty(0) if unit else np.asarray(w, dtype=float), unit,
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
        # Coefficient grids of the exact expansion, zero outside the interior offsets (the same
        # lattice offsets as _plans' for the polynomial kernels).
        *_, expo, _, coefs = _poly_plan(kernel, float(h), float(s))
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


def kernel_reach(h: float, kernel: str) -> float:
    """Metres beyond which a point adds nothing to the density: ``h``, or :data:`GAUSSIAN_CUTOFF_SD` ``h`` (gaussian)."""
    return float(h) * (GAUSSIAN_CUTOFF_SD if kernel == "gaussian" else 1.0)


def check_size(grid: Grid, h: float, kernel: str) -> None:
    """Refuse a bandwidth whose working space (grid plus two halos of the kernel's reach) is too large."""
    radius = kernel_reach(h, kernel)
    L = math.ceil(radius / grid.cell_size + 0.5)
    cells = (grid.n_rows + 4 * L) * (grid.n_cols + 4 * L)
    if cells > 4 * 60_000_000:
        raise ParameterError(
            f"a bandwidth of {h:,.0f} m is {radius / grid.cell_size:,.0f} cells wide on this grid, which needs "
            f"{cells:,} cells of working space. Use a smaller {validation.shown('bandwidth')} or a larger "
            f"{validation.shown('cell_size')}."
        )


# Sparse interior (interior_from_moments): seconds per occupied cell, interior offset and term.
_C_SPARSE = 0.5e-9
# A chunk with at least this many points is binned on all threads (bands of rows in parallel).
_PARALLEL_POINTS = 200_000
#: Bands of lattice rows a stream's chunk is added in, each under its own lock (DensityStream._start).
_BANDS = 32


class DensityStream:
    """``Σ_i w_i · profile(|c − p_i| / h)`` at every cell centre, accumulated over chunks of points.

    Memory does not grow with the number of points: with numba and a polynomial kernel each
    chunk adds its cells' moments to moment grids (``terms × cells`` float64) and its ring
    offsets to the surface; the interior is added once, in :meth:`result`. Given a single chunk,
    :meth:`result` is :func:`kernel_sum` on it (the cheapest in-memory path); the moment grids are
    only made when a second chunk arrives.

    Parameters
    ----------
    grid : Grid
    bandwidth : float
        Metres (support radius for the polynomial kernels, standard deviation for the Gaussian).
    kernel : {"quartic", "epanechnikov", "gaussian"}
    method : str
        Path for a single chunk (as :func:`kernel_sum`); ignored once the stream has two chunks.
    count : bool
        Also count the points per cell (:meth:`hotspots.grid.Grid.cell_of`'s rule, every cell,
        mask ignored) in the same pass over the points: :attr:`counts`.
    threads : bool
        Bin large chunks on all numba threads (bands of rows in parallel; same numbers). Without,
        :meth:`add` may be called from several threads at once (as :func:`hotspots.national.run_national`
        does): each chunk is binned on its own and added to the grids band of rows by band, two
        chunks at a time on bands far enough apart; one thread alone gives the same numbers as
        the single pass.

    Attributes
    ----------
    counts : ndarray of float, grid shape, or None
    n_points : int
        Points added (including those too far from the grid to contribute).
    total_weight : float
        Summed weight of the points added.
    chunks : int
    """

    def __init__(self, grid: Grid, bandwidth: float, kernel: str, *, method: str = "auto", count: bool = False,
                 threads: bool = True) -> None:
        self.grid = grid
        self.h = float(bandwidth)
        self.kernel = kernel
        self.method = method
        self.threads = threads
        self.counts = np.zeros(grid.shape) if count else None
        self.n_points = 0
        self.total_weight = 0.0
        self.chunks = 0
        self._pending: tuple[np.ndarray, np.ndarray | None] | None = None
        self._acc: np.ndarray | None = None
        self._moms: np.ndarray | None = None
        self._plan: Any = None
        # add() may be called from several threads: chunks are binned in parallel and added to
        # the shared grids one at a time.
        self._lock = threading.RLock()
        self._bands: list[threading.Lock] = []  # the moment path's band locks (_start)
        self._band_rows = 0
        self._local = threading.local()  # each thread's binning arrays (_workspace)

    # ------------------------------------------------------------------ adding points
    def add(self, xy: Any, weights: np.ndarray | None = None) -> None:
        """Add a chunk of points: an ``(k, 2)`` array or a pair ``(x, y)`` of 1-D arrays (any float type)."""
        arr = None
        if isinstance(xy, tuple):
            x, y = xy
        else:
            arr = np.asarray(xy, dtype=float)
            x, y = arr[:, 0], arr[:, 1]
        w = None if weights is None else np.asarray(weights, dtype=float)
        k = len(x)
        with self._lock:
            self.n_points += k
            self.total_weight += float(k) if w is None else float(w.sum())
            self.chunks += 1
            if self.chunks == 1 and self.counts is None:
                self._pending = (arr if arr is not None else np.column_stack([x, y]).astype(float), w)
                return
            if self._plan is None:
                self._start()
            if self._pending is not None:
                pxy, pw = self._pending
                self._pending = None
                self._accumulate(pxy[:, 0], pxy[:, 1], pw, count=False, locked=True)
        self._accumulate(x, y, w, count=True)

    def _workspace(self, n: int, unit: bool) -> tuple[np.ndarray, ...]:
        """This thread's binning arrays (``prep_rows_into``'s), at least ``n`` long, kept from chunk to chunk.

        Fresh arrays for every chunk cost as much again in page faults as the binning itself
        (the allocator hands large blocks back to the system when they are freed).
        """
        ws = getattr(self._local, "arrays", None)
        need_w = 0 if unit else n
        if ws is None or len(ws[0]) < n or len(ws[5]) < need_w:
            m = max(n, 0 if ws is None else len(ws[0]))
            ws = (np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int32), np.empty(m, dtype=np.int32), np.empty(m), np.empty(m),
                  np.empty(max(need_w, 0 if ws is None else len(ws[5]))))
            self._local.arrays = ws
        return ws

    def _start(self) -> None:
        grid, h, s = self.grid, self.h, float(self.grid.cell_size)
        nr, nc = grid.shape
        loops = compiled_loops()
        if loops is not None and self.kernel != "gaussian":
            L, odi, odj, ox, oy, R, expo, coef_k, coef_grids = _poly_plan(self.kernel, h, s)
            H, W = nr + 2 * L, nc + 2 * L
            Wp = W + 2 * L
            self._plan = ("moments", loops, L, odi * Wp + odj, ox, oy, R, expo, coef_k, coef_grids)
            self._moms = np.zeros((H * W, len(expo)))
            # Lattice rows in bands of at least 2 L + 1 rows, one lock per band boundary: cell_rows
            # on band b writes the moments and counts of its own rows and the accumulator rows
            # from L above it to L below it, so it holds locks b and b + 1, and two threads work
            # on bands two or more apart without touching the same numbers.
            self._band_rows = max(2 * L + 1, -(-H // _BANDS))
            self._bands = [threading.Lock() for _ in range(-(-H // self._band_rows) + 1)]
        else:
            L, di, dj, cls, plan_all, plan_ring, p = _plans(self.kernel, h, s)
            H, W = nr + 2 * L, nc + 2 * L
            Wp = W + 2 * L
            self._plan = ("direct", loops, L, plan_all)
        self._acc = np.zeros((H + 2 * L) * Wp)

    @contextlib.contextmanager
    def _all_bands(self) -> Iterator[None]:
        """Every band lock, in order: no other thread is adding a chunk band by band meanwhile."""
        with contextlib.ExitStack() as stack:
            for lk in self._bands:
                stack.enter_context(lk)
            yield

    def _accumulate(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, *, count: bool, locked: bool = False) -> None:
        # Binning (prep_rows / prepare) runs outside the lock; adding to the shared grids inside.
        lock = _NoLock() if locked else self._lock
        grid, h, s = self.grid, self.h, float(self.grid.cell_size)
        nr, nc = grid.shape
        kind, loops, L = self._plan[:3]
        unit = w is None
        if kind == "moments":
            _, _, _, oshift, ox, oy, R, expo, coef_k, _ = self._plan
            counts = self.counts.reshape(-1) if (count and self.counts is not None) else _NO_COUNTS
            row, col, scol, dx, dy, ws = self._workspace(len(x), unit)
            row_start, k, _ = loops.prep_rows_into(
                x, y, np.empty(0) if unit else w, unit, float(grid.xmin), float(grid.ymin), s, L, nr, nc, False,
                row, col, scol, dx, dy, ws,
            )
            if not k:
                return
            scol, dx, dy, ws = scol[:k], dx[:k], dy[:k], ws[: 0 if unit else k]
            args = (self._acc, self._moms, counts, row_start, scol, dx, dy, ws, unit, nr, nc, L, 1.0 / h, expo, coef_k, ox, oy,
                    oshift, R, 0 if self.kernel == "quartic" else 1, 2**62, True)
            if self.threads and len(dx) >= _PARALLEL_POINTS:
                with lock, self._all_bands():
                    loops.cell_pass_bands(2 * L + 1, *args)
            elif locked:
                with self._all_bands():
                    loops.cell_pass(*args)
            else:
                # Band by band (the same sums in the same order as cell_pass), holding only the
                # band's lock and the next one's: another thread adds its chunk to bands at least
                # two away at the same time (see _start).
                bands, step = self._bands, self._band_rows
                for b in range(len(bands) - 1):
                    r0, r1 = b * step, min(nr + 2 * L, (b + 1) * step)
                    if row_start[r1] > row_start[r0]:
                        with bands[b], bands[b + 1]:
                            loops.cell_rows(r0, r1, *args)
            return
        xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        if count and self.counts is not None:
            with lock:
                _count_into(self.counts, xy, w, grid)
        plan_all = self._plan[3]
        lat = _Lattice(grid.xmin + s / 2, grid.ymax - s / 2, s, nr, nc, L)
        if loops is not None:
            flat, pbase, dx, dy, ww, phase = loops.prepare(xy, np.empty(0) if unit else w, unit, lat.x0, lat.y0, s, L, nr, nc,
                                                          plan_all[0])
        else:
            flat, dx, dy, ww = _bin_points(xy, np.ones(len(xy)) if unit else w, lat)
            pbase = phase = None
        with lock:
            _scatter_pairs(self._acc, flat, dx, dy, ww, plan_all, self.kernel, h, s, lat, phase, pbase)

    # ------------------------------------------------------------------ the result
    def result(self) -> tuple[np.ndarray, str]:
        """The summed surface (grid shape, unnormalised) and the path used."""
        grid = self.grid
        nr, nc = grid.shape
        if self._pending is not None:
            xy, w = self._pending
            return kernel_sum(xy, w, grid, self.h, self.kernel, method=self.method)
        if self._plan is None:
            return np.zeros((nr, nc)), "none"
        kind, loops, L = self._plan[:3]
        H, W = nr + 2 * L, nc + 2 * L
        Wp = W + 2 * L
        acc = self._acc
        if kind == "direct":
            return acc.reshape(H + 2 * L, Wp)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc].copy(), "stream (direct)"
        _, _, _, oshift, ox, oy, R, expo, coef_k, coef_grids = self._plan
        moms = self._moms
        T = moms.shape[1]
        occupied = int(np.count_nonzero(moms[:, 0]))
        fshape = (sfft.next_fast_len(H + 2 * L, True), sfft.next_fast_len(W + 2 * L, True))
        n_fft = fshape[0] * fshape[1]
        cost_fft = (2 * T + 1) * n_fft * math.log2(n_fft) * _C_FFT
        cost_sparse = occupied * (len(ox) - R) * T * _C_SPARSE
        if cost_sparse <= cost_fft:
            loops.interior_from_moments(acc, moms, H, W, L, coef_k, oshift, R, 2 * L + 1)
            out = acc.reshape(H + 2 * L, Wp)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc].copy()
            path = "stream (cells)"
        else:
            out = acc.reshape(H + 2 * L, Wp)[2 * L : 2 * L + nr, 2 * L : 2 * L + nc].copy()
            out += interior_by_fft(moms, coef_grids, H, W, L)[L : L + nr, L : L + nc]
            # FFT round-off leaves about 1e-16 x the summed weight where the true value is 0.
            out[out < 1e-12 * self.total_weight] = 0.0
            path = "stream (fft)"
        return out, path

    def _flush_pending(self) -> None:
        """Plan and accumulate the first chunk, if it is still held back (call with the lock held)."""
        if self._pending is not None:
            pxy, pw = self._pending
            self._pending = None
            self._start()
            self._accumulate(pxy[:, 0], pxy[:, 1], pw, count=False, locked=True)

    def partial(self) -> dict[str, Any]:
        """This stream's sums as sparse arrays (non-zero entries only), for :meth:`merge` elsewhere.

        How a cluster combines streams: each worker streams its share of the points and sends its
        partial; the client merges them. The first chunk, if still held, is added first.
        """
        with self._lock:
            self._flush_pending()
        with self._lock, self._all_bands():
            out: dict[str, Any] = {"n_points": self.n_points, "total_weight": self.total_weight, "chunks": self.chunks}
            for name, arr in (("counts", self.counts), ("acc", self._acc), ("moms", self._moms)):
                if arr is None:
                    out[name] = None
                    continue
                flat = arr if name == "moms" else arr.reshape(-1)
                idx = np.flatnonzero(np.any(flat != 0, axis=1)) if name == "moms" else np.flatnonzero(flat)
                out[name] = (idx, flat[idx].copy())
            return out

    def merge(self, part: dict[str, Any]) -> None:
        """Add a :meth:`partial` of a stream on the same grid, bandwidth and kernel."""
        with self._lock:
            self._flush_pending()
            if self._plan is None:
                self._start()
        with self._lock, self._all_bands():
            self.n_points += int(part["n_points"])
            self.total_weight += float(part["total_weight"])
            self.chunks += int(part["chunks"])
            for name in ("counts", "acc", "moms"):
                got = part.get(name)
                mine = self.counts if name == "counts" else self._acc if name == "acc" else self._moms
                if got is None:
                    continue
                if mine is None:
                    raise ParameterError(
                        f"cannot merge a partial with {name} into a stream without them (different kernel or options)."
                    )
                idx, vals = got
                if name == "moms":
                    mine[idx] += vals
                else:
                    mine.reshape(-1)[idx] += vals

    def release(self) -> None:
        """Free the working arrays (moment grids, accumulator); :meth:`result` must not be called after."""
        self._acc = self._moms = None
        self._pending = None
        self._local = threading.local()


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _count_into(counts: np.ndarray, xy: np.ndarray, w: np.ndarray | None, grid: Grid) -> None:
    rows, cols, on = grid.cell_of(xy)
    flat = rows[on] * grid.n_cols + cols[on]
    counts.reshape(-1)[:] += np.bincount(flat, weights=None if w is None else w[on], minlength=counts.size)
