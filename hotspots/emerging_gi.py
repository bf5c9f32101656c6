"""Space-time Gi* of the emerging hot spot analysis: each bin's z-score and count-test p-value.

:func:`hotspots.emerging.emerging_hotspots` with ``time_window = k >= 1`` judges every bin (cell,
time step) of its cube by the sum of the counts in its space-time neighbourhood: the study-area
cells within the distance band (the :class:`~hotspots.neighbours.Stencil`) at this step and the
``k`` before. :func:`space_time_z` gives the bins' Gi* z-scores, :func:`space_time_count_p` their
exact count-test p-values; :mod:`hotspots.emerging`'s module documentation gives the rules.

Both work on the study-area cells only (a fine grid's bounding box holds about as many cells
outside the study area as in it) and one time step at a time, and the count test computes each
distinct neighbourhood (size, sum, sum of squares) once: most bins of a fine grid hold no
incident, so their neighbourhood is told by its size alone. The numbers are those of the
straightforward whole-cube computation bit for bit (the tests compare them on random cubes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dispersion import estimate_kappa
from .gi_inference import BackgroundFit, background_fit, count_test_tails
from .neighbours import Stencil, neighbour_count, neighbour_sum

__all__ = ["space_time_z", "space_time_count_p", "window_sums", "steps_in_window"]


def window_sums(per_step: np.ndarray, k: int) -> np.ndarray:
    """Sum over each step and the ``k`` steps before it (fewer at the start of the cube), along
    axis 0, **in place** (``per_step`` is returned holding the sums). The values are whole numbers
    (counts and their sums), which float64 adds exactly in any order."""
    for t in range(per_step.shape[0] - 1, 0, -1):  # from the last step back: the earlier ones are still single steps
        for i in range(1, min(k, t) + 1):
            per_step[t] += per_step[t - i]
    return per_step


def steps_in_window(T: int, k: int) -> np.ndarray:
    """Time steps in each of ``T`` bins' windows of this step and the ``k`` before (fewer at the start)."""
    return np.minimum(np.arange(T), k) + 1


def space_time_z(Y: np.ndarray, active: np.ndarray, stencil: Stencil, k: int) -> tuple[np.ndarray, dict[str, Any]]:
    """Space-time Gi* z per bin with a backward window of ``k`` steps and an entire-cube global
    window (:mod:`hotspots.emerging`'s module docs)::

        z = (S - Ybar W) / (s sqrt((n W - W²) / (n - 1)))

    Parameters
    ----------
    Y : ndarray of float, shape (T, n_rows, n_cols)
        Counts per bin, zero outside the study area.
    active : ndarray of bool, shape (n_rows, n_cols)
        Study-area cells.
    stencil : Stencil
        The spatial neighbourhood.
    k : int
        Earlier time steps in each bin's window (>= 1).

    Returns
    -------
    z : ndarray of float, shape of ``Y``
        NaN outside the study area; 0 where the denominator is 0.
    info : dict
        ``n_bins``, ``mean`` and ``sd`` (of all study-area bins), ``zero_variance``, and for
        :func:`space_time_count_p` and the trend: ``neighbourhood_sums`` (each step's, of the
        study-area cells: (T, n_active), laid out as ``Y[:, active]``), ``values`` (``Y[:, active]``,
        C order), ``window_sums`` (T, n_active) and ``cell_sizes`` (study-area cells within each
        study-area cell's band).
    """
    T = Y.shape[0]
    n_act = int(active.sum())
    # neighbourhood sums of the study-area cells, laid out as Y[:, active] is (the trend's year-to-year
    # estimate reads them with that layout's rounding)
    s_cells = np.empty((n_act, T))
    for t in range(T):
        s_cells[:, t] = neighbour_sum(Y[t], stencil)[active]
    s_space = s_cells.T
    S = window_sums(s_space.copy(order="C"), k)  # always a copy: with one study-area cell s_space is C-ordered already
    w_cells = neighbour_count(active, stencil)[active].astype(np.float64)
    sizes, which = np.unique(w_cells, return_inverse=True)
    vals = Y[:, active]
    n = n_act * T
    mean = float(vals.mean())
    sd = float(vals.std())
    z = np.full(Y.shape, np.nan)
    for t, j in enumerate(steps_in_window(T, k)):
        # the denominator depends on the window's size W alone: once per distinct size
        Wu = sizes * j
        var_factor = (n * Wu - Wu * Wu) / (n - 1)
        denom = (sd * np.sqrt(np.maximum(var_factor, 0.0)))[which]
        W = w_cells * j
        with np.errstate(divide="ignore", invalid="ignore"):
            z[t][active] = np.where(denom > 0, (S[t] - mean * W) / np.where(denom > 0, denom, 1.0), 0.0)
    info = {"n_bins": n, "mean": mean, "sd": sd, "zero_variance": not (sd > 0), "neighbourhood_sums": s_space,
            "values": np.ascontiguousarray(vals), "window_sums": S, "cell_sizes": w_cells}
    return z, info


def space_time_count_p(
    Y: np.ndarray, active: np.ndarray, stencil: Stencil, k: int, info: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, float, dict[str, Any]]:
    """Exact count-test p-value and side of each bin's space-time neighbourhood sum, the smallest
    p any bin could reach, and the background the bins were judged against.

    A bin's window sum is compared, as :func:`hotspots.gi_star` compares a cell's neighbourhood
    sum (:func:`hotspots.gi_inference.count_test_tails`), with its exact distribution when no
    hot spot exists: incidents fall on the study area as on an uneven background, each cell's rate
    drawn once (variance ``kappa_s`` x mean², the cells' totals over the cube fitted with the
    busiest cells censored) and varying from month to month around it (``kappa_t``,
    :func:`hotspots.dispersion.estimate_kappa` on every cell's monthly counts). A window of ``j``
    steps sums ``j`` months of each of its cells, so the sum is negative binomial over its cells
    (``shared = j``) with dispersion ``kappa_s + kappa_t (1 + kappa_s) / j`` per cell-window;
    binomial when both are 0.

    Why the cells' totals and not the bins: a month's counts are so sparse that the bins' censored
    fit starts at 2 incidents, where the hot spots' own bins are most of the evidence of dispersion
    it sees (20 small hotspots on a uniform background: kappa 7.5 from the bins, 0.3 from the
    totals), which cost half the power; and a bin fit treats a cell's months in one window as
    independent, which on a steady uneven background (kappa 30) gave categories on 30 % of cubes.

    Parameters
    ----------
    Y, active, stencil, k
        As for :func:`space_time_z`.
    info : dict
        :func:`space_time_z`'s.

    Returns
    -------
    p : ndarray of float, shape of ``Y``
        Two-sided p-value of each bin (NaN outside the study area).
    side : ndarray of int8, shape of ``Y``
        1 where the upper tail is the nearer (hot), -1 the lower (cold), 0 neither.
    p_min : float
        The smallest p any bin could reach.
    background : dict
        The background fit.
    """
    T = Y.shape[0]
    values = info["values"]
    s2 = np.empty(values.shape)
    for t in range(T):
        s2[t] = neighbour_sum(Y[t] * Y[t], stencil)[active]
    s2 = window_sums(s2, k)
    totals = values.sum(axis=0)
    spatial = background_fit(totals)
    # only cells with an incident inform kappa_t (estimate_kappa leaves the others out): the same
    # sums over the same values in the same order, without the empty cells' rows
    kappa_t, _ = estimate_kappa(values.T[totals > 0], np.ones(T, dtype=np.int64), np.ones(T), values.sum(axis=1))
    kappa_t = kappa_t if kappa_t > 1e-9 else 0.0  # (rounding: a moment estimate of exactly 0 comes out at 1e-15)
    background = {**spatial.to_dict(), "mean": spatial.mean / T, "kappa_cells": spatial.kappa,
                  "kappa_month_to_month": kappa_t, "fitted_to": "cells' totals over the cube (mean per bin)"}
    del background["kappa"]
    p = np.full(Y.shape, np.nan)
    side = np.zeros(Y.shape, dtype=np.int8)
    if info["zero_variance"]:
        p[:, active] = 1.0
        return p, side, 1.0, background
    n_steps = steps_in_window(T, k)
    p_act = np.ones(values.shape)
    side_act = np.zeros(values.shape, dtype=np.int8)
    p_min = 1.0
    for j in np.unique(n_steps):
        ts = np.flatnonzero(n_steps == j)
        fit = BackgroundFit(spatial.mean / T, spatial.kappa + kappa_t * (1.0 + spatial.kappa) / j, spatial.censored_at,
                            spatial.n_censored, spatial.n_cells)
        W, S, S2 = info["cell_sizes"] * j, info["window_sums"][ts], s2[ts]
        rows, spread = _distinct_windows(W, S, S2)
        tails = count_test_tails(values.ravel(), *rows, background=fit, shared=int(j))
        p_act[ts] = spread(np.minimum(1.0, 2.0 * np.minimum(tails.p_upper, tails.p_lower)))
        side_act[ts] = spread(np.sign(tails.p_lower - tails.p_upper).astype(np.int8))
        p_min = min(p_min, tails.p_min)
    p[:, active] = p_act
    side[:, active] = side_act
    return p, side, p_min, background


def _distinct_windows(W: np.ndarray, S: np.ndarray, S2: np.ndarray) -> tuple[list[np.ndarray], Any]:
    """The distinct (size, sum, sum of squares) of bins' windows, and a function spreading one
    value per distinct window back to the bins.

    ``W`` is per cell (n_cells,), ``S`` and ``S2`` per bin (steps, n_cells), whole numbers >= 0.
    A window with no incident (``S = 0``, so ``S2 = 0``) is told by its size: those of a cell are
    looked up by the cell's size, and only the others are sorted out. Only windows that occur are
    returned (the count test's smallest possible p looks at every one it is given).
    """
    m, n_cells = S.shape
    sizes, which = np.unique(W, return_inverse=True)
    nz = S > 0
    empty_sizes = np.bincount(which[~nz.all(axis=0)], minlength=sizes.size) > 0
    idx = np.flatnonzero(nz)
    cell = idx % n_cells
    s, s2, w_id = S.ravel()[idx], S2.ravel()[idx], which[cell]
    if idx.size:
        s_top, s2_top = int(s.max()) + 1, int(s2.max()) + 1
        if float(s2_top) * s_top * sizes.size < 2.0**62:
            key = (s2.astype(np.int64) * s_top + s.astype(np.int64)) * sizes.size + w_id
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        else:  # pragma: no cover - sums too large to pack into one integer
            _, first, inverse = np.unique(np.column_stack([w_id, s, s2]), axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
    else:
        first = inverse = np.zeros(0, dtype=np.int64)
    n_empty = int(empty_sizes.sum())
    rows = [
        np.concatenate([sizes[empty_sizes], sizes[w_id[first]]]),
        np.concatenate([np.zeros(n_empty), s[first]]),
        np.concatenate([np.zeros(n_empty), s2[first]]),
    ]
    # the row of each cell's empty window, by the cell's size (sizes without one are never looked up)
    empty_row = np.cumsum(empty_sizes) - 1

    def spread(per_row: np.ndarray) -> np.ndarray:
        out = np.empty((m, n_cells), dtype=per_row.dtype)
        out[:] = per_row[empty_row[which]][None, :]
        out.ravel()[idx] = per_row[n_empty + inverse]
        return out

    return rows, spread
