"""Multiple-testing control: the Benjamini–Hochberg false discovery rate.

Testing every grid cell at 5 % flags about 5 % of cells by chance alone. Benjamini–Hochberg (BH)
controls the *false discovery rate* instead: among the cells declared significant, the expected
share of false alarms is at most ``alpha`` (for independent or positively dependent tests, which
is the usual assumption for Gi*; ArcGIS applies the same correction).

Two equivalent forms are offered:

* :func:`bh_adjust` returns BH-adjusted p-values (q-values); a cell is significant at level
  ``alpha`` when its q-value is ``<= alpha``. One adjustment serves every level (99/95/90 %).
* :func:`fdr_threshold` returns the p-value cut-off for one ``alpha`` (as ``esda.fdr`` does);
  ``p <= fdr_threshold(p, alpha)`` is the same decision as ``bh_adjust(p) <= alpha``.

NaN p-values (cells outside the study area) are ignored: they do not count towards the number of
tests and stay NaN.

Hot and cold spots: one step-up per side
----------------------------------------
:func:`bh_adjust_by_side` runs the step-up separately over the hot-side and the cold-side cells,
each against the number of all tested cells (Benjamini–Hochberg on each direction's one-sided
tests, ``2 p_side``, the cells on the other side holding values of at least 1). ArcGIS and esda
adjust both sides together: then every certain cold spot (empty ground inside the study area:
a town's park, a moor, a hole filled by the footprint) raises the ranks of the hot side's
p-values and lets chance concentrations through. Uniform random incidents over Derbyshire's
outline, no boundary given (the footprint fills Derby's hole), 30,000 a year: hotspot areas on
20 maps of 20 (10.9 a map) with one step-up, on none with one per side; an L-shaped 20 km square
(3,000 and 30,000 incidents): 50 and 30 % of maps against 5 and 0 %. Each side's false discovery
rate stays at most ``alpha``; a map without any hot spot gets a hot cell at most ``alpha / 2`` of
the time whatever its cold spots. Adjusted together, only the share of false discoveries among
*all* is bounded: Gwent's 2025 ASB (January–June against July–December, default settings) has 2,037
certainly cold cells, which would allow about 120 false hot cells among the 417 the joint step-up
called; per side it calls 213. Cleveland 114 → 44 and Merseyside 193 → 106 (392 and 498 cold
cells); Derbyshire and Leicestershire have no cold cell and the same 121 and 116 hot cells.
"""

from __future__ import annotations

import numpy as np

from . import validation
from ._errors import ParameterError

__all__ = ["bh_adjust", "bh_adjust_by_side", "fdr_threshold"]


def _check_p(p: object) -> np.ndarray:
    try:
        arr = np.array(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("`p` must be an array of p-values (numbers between 0 and 1).") from None
    fin = arr[~np.isnan(arr)]
    if np.any(~np.isfinite(fin)) or np.any((fin < 0) | (fin > 1)):
        raise ParameterError("`p` must hold p-values between 0 and 1 (NaN allowed for cells not tested).")
    return arr


def bh_adjust(p: object) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), step-up procedure.

    For sorted p-values ``p(1) <= ... <= p(m)``, ``q(i) = min over j >= i of p(j) * m / j``,
    capped at 1. Equal to ``scipy.stats.false_discovery_control(p, method="bh")`` on finite input.

    Parameters
    ----------
    p : array-like of float, any shape
        p-values in [0, 1]; NaN marks "not tested" and is left out.

    Returns
    -------
    ndarray of float, same shape as ``p``
        q-values, NaN where ``p`` is NaN.
    """
    arr = _check_p(p)
    out = np.full(arr.shape, np.nan)
    flat = arr.ravel()
    ok = ~np.isnan(flat)
    v = flat[ok]
    m = v.size
    if m == 0:
        return out
    # Tied p-values share one q-value (that of the last of them in sorted order), so the step-up
    # runs over the distinct values: found by hashing, only they are sorted (far fewer than the
    # cells when p-values repeat, as exact tests' do). Same numbers as a sort of every value.
    import pandas as pd

    inverse, uniq = pd.factorize(v, sort=False)
    order = np.argsort(uniq)
    rank_of = np.empty(order.size, dtype=np.int64)
    rank_of[order] = np.arange(order.size)
    cum = np.cumsum(np.bincount(rank_of[inverse], minlength=order.size))  # p-values <= each distinct value
    ranked = uniq[order] * m / cum
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.minimum(q_sorted, 1.0)[rank_of[inverse]]
    res = out.ravel()
    res[ok] = q
    return res.reshape(arr.shape)


def bh_adjust_by_side(p: object, side: object) -> np.ndarray:
    """Benjamini–Hochberg q-values computed within each side (e.g. hot +1, cold -1), each step-up
    against the number of all tested cells (module notes, "Hot and cold spots").

    For the cells of one side with sorted p-values ``p(1) <= ... <= p(k)``,
    ``q(i) = min over j >= i of p(j) * m / j`` with ``m`` all non-NaN p-values, capped at 1: what
    :func:`bh_adjust` gives on the ``m`` values where the other sides' cells hold 1 or more.

    Parameters
    ----------
    p : array-like of float, any shape
        Two-sided p-values in [0, 1] (``2 p`` of each cell's own side); NaN marks "not tested".
    side : array-like of int, same shape
        Each cell's side (+1 hot, -1 cold, 0 neither; any integers).

    Returns
    -------
    ndarray of float, same shape as ``p``
        q-values, NaN where ``p`` is NaN.

    Examples
    --------
    Three certain cold cells no longer carry a hot cell at p = 0.02 over ten cells:

    >>> p = [1e-9, 1e-9, 1e-9, 0.02, .5, .6, .7, .8, .9, 1.0]
    >>> side = [-1, -1, -1, 1, 1, 1, -1, 1, -1, 1]
    >>> round(float(bh_adjust(p)[3]), 3), round(float(bh_adjust_by_side(p, side)[3]), 3)
    (0.05, 0.2)
    """
    arr = _check_p(p)
    s = np.asarray(side)
    if s.shape != arr.shape:
        raise ParameterError(f"`side` must have the shape of `p` {arr.shape}; got {s.shape}.")
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    m = int(ok.sum())
    for value in np.unique(s[ok]):
        cells = ok & (s == value)
        q = bh_adjust(arr[cells])  # within the side: p * k / rank
        # ... scaled to all m tests: p * m / rank
        out[cells] = np.minimum(q * (m / cells.sum()), 1.0)
    return out


def fdr_threshold(p: object, alpha: float = 0.05) -> float:
    """The BH p-value cut-off at false discovery rate ``alpha``.

    The largest critical value ``i * alpha / m`` such that ``p(i) <= i * alpha / m``; cells with
    ``p <= cut-off`` are significant. Returns ``0.0`` when nothing is significant (unlike
    ``esda.fdr``, which then returns ``alpha / m``; both reject nothing in that case, barring a
    p-value exactly equal to ``alpha / m``).

    Parameters
    ----------
    p : array-like of float
        p-values; NaN ignored.
    alpha : float
        False discovery rate, e.g. 0.05.
    """
    a = validation.alpha(alpha)
    arr = _check_p(p).ravel()
    v = np.sort(arr[~np.isnan(arr)])
    m = v.size
    if m == 0:
        return 0.0
    crit = np.arange(1, m + 1) * a / m
    ok = np.nonzero(v <= crit)[0]
    if ok.size == 0:
        return 0.0
    return float(crit[ok[-1]])
