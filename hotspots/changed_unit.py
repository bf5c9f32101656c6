"""One place that changed far beyond the others: left out of the between-period variance.

``tau2`` (:mod:`hotspots.dispersion`) measures how much places vary between periods when nothing
is done to them. One place that really changed (a new late-night venue, a closed park) is not that
variation, yet one such place among a dozen hotspot areas dominated the estimate: Hertfordshire
2025, one area from 99 to 234 incidents beside eleven within a few percent, made the areas' ``tau2``
0.063 (0 without it), and every other area's test could then detect only falls of 61-82 % (30-34 %
without it). The two-group fit of :func:`hotspots.dispersion.estimate_tau2_robust` needs at least
two places in its smaller group; :func:`single_changed_unit` finds the one
(:func:`hotspots.change_model.fit_change_model` leaves it out of ``tau2`` and names it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dispersion import MIN_COUNT_FOR_TAU2, MIN_UNITS_FOR_TAU2, dersimonian_laird, log_rate_ratios

__all__ = ["ChangedUnit", "single_changed_unit", "SINGLE_CHANGE_ALPHA", "CHANGED_UNIT_CANDIDATES"]

#: Bonferroni level at which one unit's change is taken as a real change and left out of ``tau2``
#: (:func:`single_changed_unit`).
SINGLE_CHANGE_ALPHA = 0.005
#: How many of the furthest units :func:`single_changed_unit` leaves out in turn.
CHANGED_UNIT_CANDIDATES = 5


@dataclass(frozen=True)
class ChangedUnit:
    """One unit whose change lies far outside the others' scatter (:func:`single_changed_unit`).

    Attributes
    ----------
    index : int
        Its position among the units given.
    z : float
        Its studentised deleted residual: its log rate ratio's distance from the others' pooled
        one, in standard deviations of its sampling variance plus the others' ``tau2``.
    p_value : float
        Two-sided p of ``z``, times the number of units (Bonferroni over which unit is furthest).
    """

    index: int
    z: float
    p_value: float


def single_changed_unit(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "expected", alpha: float = SINGLE_CHANGE_ALPHA,
) -> ChangedUnit | None:
    """The one unit, if any, that changed so far beyond the others that it is not their variation.

    ``tau2`` measures how much places vary between periods when nothing is done to them. One place
    that really changed (a new late-night venue, a closed park) is not that variation, yet one
    such place among a dozen areas dominated the DerSimonian-Laird spread: Hertfordshire 2025, one
    area from 99 to 234 incidents beside eleven within a few percent, made ``tau2`` 0.063 (0 without
    it), and every other area's test could then detect only falls of 61-82 %. The two-group fit of
    :func:`estimate_tau2_robust` needs at least two places in the smaller group.

    For each qualifying unit ``i`` (at least ``min_count`` incidents in each period): the others'
    DerSimonian-Laird ``tau2_-i`` and pooled log rate ratio ``m_-i`` (weights ``1 / (v + tau2_-i)``),
    and ``z_i = (y_i - m_-i) / sqrt(v_i + tau2_-i + var(m_-i))``. The unit of largest ``|z|`` is
    returned when ``k`` times its two-sided p on a t distribution with ``k - 2`` degrees of
    freedom (``tau2_-i`` is estimated from ``k - 1`` units) is below ``alpha`` and at least
    ``MIN_UNITS_FOR_TAU2 + 1`` units qualify. With places varying normally between periods and no
    change, about ``alpha`` of data sets have such a unit or fewer (simulation in the tests).

    Returns
    -------
    ChangedUnit or None
        ``index`` among all the units given (not only the qualifying ones).
    """
    from scipy import stats

    b = np.asarray(n_before, dtype=float)
    a = np.asarray(n_after, dtype=float)
    ok = np.flatnonzero((b >= min_count) & (a >= min_count))
    y, v, k = log_rate_ratios(b, a, w_before, w_after, phi, min_count, variance)
    if k < MIN_UNITS_FOR_TAU2 + 1:
        return None
    # the furthest unit is among the furthest few of the fit to all units; each of those is left
    # out in turn (rows of `w`), so that the work grows with k, not k^2, for thousands of cells
    t_all = dersimonian_laird(y, v)
    wa_ = 1.0 / (v + t_all)
    resid = np.abs(y - (wa_ * y).sum() / wa_.sum()) / np.sqrt(v + t_all)
    cand = np.argsort(-resid)[:CHANGED_UNIT_CANDIDATES]
    best: tuple[float, int] = (0.0, -1)
    for i in cand:
        rest = np.arange(k) != i
        t_i = dersimonian_laird(y[rest], v[rest])
        w_i = 1.0 / (v[rest] + t_i)
        z = (y[i] - (w_i * y[rest]).sum() / w_i.sum()) / np.sqrt(v[i] + t_i + 1.0 / w_i.sum())
        if abs(z) > abs(best[0]):
            best = (float(z), int(i))
    z, i = best
    p = float(min(1.0, k * 2.0 * stats.t.sf(abs(z), k - 2)))
    if i < 0 or p >= alpha:
        return None
    return ChangedUnit(int(ok[i]), z, p)

