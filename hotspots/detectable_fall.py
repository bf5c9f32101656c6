"""Minimum detectable falls of units with few incidents, from the exact power of their own test.

The fall printed beside "no significant change" must be one the unit's test finds with 80 %
power. The normal approximation (:func:`hotspots.change_reference.unit_minimum_detectable_fall`)
overstates what a conditional count test can find when counts are small: with 100 incidents
before (Poisson, equal periods) it says 33 %, but the exact conditional test finds a 33 % fall
only 70 % of the time (simulated, 20,000 draws) and needs 37 % for 80 %; with 5 incidents it
says 83 %, but even a fall to 0 is not significant (two-sided p = 2 / 2^5 = 0.0625).

Here the power is the test's own: for each total ``N`` the largest after count the unit's test
calls a significant fall (its judged p-value, :func:`hotspots.change_reference.judged_p_values`,
below ``alpha``), and the chance of an after count at or below it when the unit's rate falls by
``f`` (the total Poisson with mean ``b (1 + k (1 - f))``, ``b`` the before count taken as the
before period's expectation and ``k`` the after period's expected incidents per before incident;
the after count given the total beta-binomial with the test's own month-level dispersion and
between-period variance). The minimum detectable fall is the smallest ``f`` whose power reaches
80 % (on a grid of falls 5 points apart, interpolated on the probit scale); 1 (100 %) when even a
fall to 0 does not reach it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special, stats

from .change_reference import POWER, judged_p_values
from .count_tests import conditional_rho

if TYPE_CHECKING:
    from .change_model import ChangeModel

__all__ = ["EXACT_MDE_MAX", "exact_minimum_detectable_fall"]

#: Units with at most this many incidents before take the exact power; more, the normal
#: approximation (within about 2 points of the exact value there: 28.7 % against 27.4 % at 150
#: incidents, Poisson; less as counts grow).
EXACT_MDE_MAX = 400

#: Totals up to this many incidents take the after count's exact (beta-binomial) distribution for
#: the power; above it, the normal approximation with continuity correction (skewness under 0.1).
_EXACT_TAIL_MAX_N = 150

#: Above :data:`_EXACT_TAIL_MAX_N`, the critical after count is found at every this-many totals
#: and interpolated between them.
_TOTAL_STEP = 8

#: The falls at which the power is computed (0 to 100 %, 5 points apart; the crossing of the
#: required power is interpolated on the probit scale, on which power is near linear in the fall:
#: within 0.1 point of a grid 0.625 points apart, counts of 3 to 400).
_FALLS = np.linspace(0.0, 1.0, 21)

#: Before counts up to this are computed one by one (the test's discreteness shows there); above
#: it, at :data:`_SPREAD_POINTS` counts spread geometrically up to the largest and interpolated
#: (log scale), so the cost does not grow with the number of distinct counts.
_EVERY_COUNT_MAX = 30
_SPREAD_POINTS = 24


def _log_pmf_rows(n: np.ndarray, p: np.ndarray, rho: np.ndarray, width: int) -> np.ndarray:
    """Log probabilities of after counts ``0 .. width - 1`` (columns) given totals ``n`` (rows):
    beta-binomial of mean ``n p`` and intra-class correlation ``rho`` (binomial where it is 0), by
    the ratio of successive probabilities; ``-inf`` beyond ``n``."""
    n = np.asarray(n, dtype=float)[:, None]
    p = np.broadcast_to(np.asarray(p, dtype=float), (n.shape[0],))[:, None]
    rho = np.asarray(rho, dtype=float)[:, None]
    a = np.arange(width, dtype=float)[None, :-1]
    binom = rho <= 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(binom, 1.0, (1.0 - rho) / np.where(binom, 1.0, rho))
        al, be = p * c, (1.0 - p) * c
        first = np.where(binom, n * np.log1p(-p), special.betaln(al, n + be) - special.betaln(al, be))
        if binom.all():  # (one branch only where every row takes it: this matrix is the module's cost)
            step = np.log((n - a) / (a + 1.0)) + (np.log(p) - np.log1p(-p))
        elif not binom.any():
            step = np.log((n - a) * (a + al) / ((a + 1.0) * (n - a - 1.0 + be)))
        else:
            step = np.where(binom, np.log((n - a) / (a + 1.0)) + (np.log(p) - np.log1p(-p)),
                            np.log((n - a) * (a + al) / ((a + 1.0) * (n - a - 1.0 + be))))
        step = np.where(a < n, step, -np.inf)
    out = first + np.concatenate([np.zeros((n.shape[0], 1)), np.cumsum(step, axis=1)], axis=1)
    return np.where(np.isnan(out), -np.inf, out)


def _critical_after_counts(nmax: int, model: ChangeModel, alpha: float) -> np.ndarray:
    """For each total ``N = 0 .. nmax``, the largest after count the unit's test calls a
    significant fall (-1 where none is). Totals up to :data:`_EXACT_TAIL_MAX_N` one by one; above,
    every :data:`_TOTAL_STEP`-th total, the others rounded from a straight line between them (the
    critical count grows smoothly there; within one count of its own, which moves the power by
    about a hundredth of the totals it touches)."""
    n_all = np.arange(nmax + 1, dtype=float)
    if nmax <= _EXACT_TAIL_MAX_N:
        return _critical_at(n_all, model, alpha)
    n = np.unique(np.concatenate([n_all[: _EXACT_TAIL_MAX_N + 1], n_all[_EXACT_TAIL_MAX_N::_TOTAL_STEP], n_all[-1:]]))
    c = _critical_at(n, model, alpha)
    big = n_all > _EXACT_TAIL_MAX_N
    out = np.empty(n_all.size, dtype=np.int64)
    out[~big] = c[: _EXACT_TAIL_MAX_N + 1]
    out[big] = np.round(np.interp(n_all[big], n, c.astype(float))).astype(np.int64)
    return out


def _critical_at(n: np.ndarray, model: ChangeModel, alpha: float) -> np.ndarray:
    """:func:`_critical_after_counts` at the totals ``n``: the judged p-value falls as the after
    count moves below its expectation, so a bisection between 0 and the raw test's own critical
    count finds it."""
    d = model.dispersion
    k = model.w_after / model.w_before
    p0 = k / (1.0 + k)
    months = model.months_before + model.months_after
    tau2 = d.tau2 + model.shared_variance
    nmax = int(n.max())
    phi = d.phi(n / months)
    width = int(np.floor(nmax * p0)) + 1
    lower = np.cumsum(np.exp(_log_pmf_rows(n, p0, conditional_rho(n, p0, phi, tau2), width)), axis=1)
    a = np.arange(width)[None, :]
    below_mean = a <= n[:, None] * p0
    # the upper tail P(X >= a) = 1 - P(X <= a - 1) is at least about a half below the mean
    upper = 1.0 - np.concatenate([np.zeros((n.size, 1)), lower[:, :-1]], axis=1)
    raw = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    raw_hit = below_mean & (raw < alpha) & (n[:, None] > 0)
    # the judged p-value is never below the raw one (a t reference or an average over tau2's values)
    hi = np.where(raw_hit.any(axis=1), np.where(raw_hit, a, -1).max(axis=1), -1)
    lo = np.full(n.size, -1)

    def judged_significant(x: np.ndarray) -> np.ndarray:
        ok = x >= 0
        xi = np.maximum(x, 0)
        p, _ = judged_p_values(n - xi, xi.astype(float), raw[np.arange(n.size), xi], phi, model, alpha, with_tail=False)
        return ok & (p < alpha)

    top = judged_significant(hi)
    lo = np.where(top, hi, lo)
    hi = np.where(top, hi, hi - 1)  # the answer lies in [lo, hi]
    while (hi > lo).any():
        mid = (lo + hi + 1) // 2
        sig = judged_significant(mid) & (hi > lo)
        lo = np.where(sig, mid, lo)
        hi = np.where((hi > lo) & ~sig, mid - 1, hi)
    return lo


def _reject_given_total(crit: np.ndarray, model: ChangeModel) -> np.ndarray:
    """``T[f, N]``: the chance that the after count is at most ``crit[N]`` given the total ``N``,
    when the rate has fallen by ``_FALLS[f]`` (exact up to :data:`_EXACT_TAIL_MAX_N`, the normal
    approximation with continuity correction above)."""
    d = model.dispersion
    k = model.w_after / model.w_before
    months = model.months_before + model.months_after
    tau2 = d.tau2 + model.shared_variance + (float(np.mean(d.tau2_test_draws)) if d.tau2_test_draws.size else 0.0)
    n = np.arange(crit.size, dtype=float)
    phi = d.phi(n / months)
    out = np.zeros((_FALLS.size, n.size))
    small = n <= _EXACT_TAIL_MAX_N
    ns, cs = n[small], crit[small]
    width = int(max(cs.max(), 0)) + 1
    cols = np.arange(width)[None, :]
    for i, f in enumerate(_FALLS):
        share = k * (1.0 - f) / (1.0 + k * (1.0 - f))
        if share <= 0:  # no incident after: every total with a critical count rejects
            out[i] = (crit >= 0).astype(float)
            continue
        pmf = np.exp(_log_pmf_rows(ns, share, conditional_rho(ns, share, phi[small], tau2), width))
        out[i, small] = np.minimum(1.0, np.where(cols <= cs[:, None], pmf, 0.0).sum(axis=1))
        nb, cb = n[~small], crit[~small]
        if nb.size:
            rho = conditional_rho(nb, share, phi[~small], tau2)
            sd = np.sqrt(nb * share * (1.0 - share) * (1.0 + (nb - 1.0) * rho))
            out[i, ~small] = np.where(cb >= 0, stats.norm.cdf((cb + 0.5 - nb * share) / sd), 0.0)
    return out


def exact_minimum_detectable_fall(
    n_before: np.ndarray, model: ChangeModel, alpha: float, power: float = POWER
) -> np.ndarray:
    """Smallest fall (fraction) each unit's own test finds with ``power``, for units with 1 to
    :data:`EXACT_MDE_MAX` incidents before (NaN for the others).

    Parameters
    ----------
    n_before : ndarray
        Incidents of each unit in the before period.
    model : ChangeModel
        The fitted change model the units are judged with (periods' expected incidents, month-level
        dispersion, ``tau2`` and its reference).
    alpha : float
        Significance level of the two-sided test.
    power : float
        Required chance of a significant fall.

    Returns
    -------
    ndarray
        Fraction in (0, 1]; 1.0 where even a fall to 0 is found less often than ``power``.
    """
    b = np.asarray(n_before, dtype=float)
    out = np.full(b.shape, np.nan)
    use = np.isfinite(b) & (b > 0) & (b <= EXACT_MDE_MAX)
    if not use.any():
        return out
    k = model.w_after / model.w_before
    present = np.unique(b[use])
    values = present[present <= _EVERY_COUNT_MAX]
    if present.max() > _EVERY_COUNT_MAX:
        spread = np.geomspace(max(float(values.max()) if values.size else 1.0, _EVERY_COUNT_MAX), present.max(), _SPREAD_POINTS)
        values = np.unique(np.concatenate([values, np.round(spread, 6)]))
    mu_max = float(values.max()) * (1.0 + k)
    phi_max = float(model.dispersion.phi(mu_max / (model.months_before + model.months_after)))
    nmax = int(np.ceil(mu_max + 8.0 * np.sqrt(mu_max * phi_max) + 10.0))
    reject = _reject_given_total(_critical_after_counts(nmax, model, alpha), model)
    n = np.arange(nmax + 1, dtype=float)
    log_fact = special.gammaln(n + 1.0)
    pw = np.empty((values.size, _FALLS.size))
    for i, f in enumerate(_FALLS):  # the total is Poisson with mean b (1 + k (1 - f))
        mu = values[:, None] * (1.0 + k * (1.0 - f))
        pw[:, i] = np.exp(n[None, :] * np.log(mu) - mu - log_fact[None, :]) @ reject[i]
    reached = pw >= power
    first = np.where(reached.any(axis=1), np.argmax(reached, axis=1), -1)
    mde = np.ones(values.size)
    ok = first > 0
    i = first[ok]
    eps = 1e-12
    z = stats.norm.ppf(np.clip(pw, eps, 1.0 - eps))
    lo_z, hi_z, target = z[ok, i - 1], z[ok, i], stats.norm.ppf(power)
    mde[ok] = _FALLS[i - 1] + (_FALLS[i] - _FALLS[i - 1]) * (target - lo_z) / np.maximum(hi_z - lo_z, eps)
    mde[first == 0] = 0.0
    if values.size == present.size and np.array_equal(values, present):
        out[use] = mde[np.searchsorted(values, b[use])]
    else:  # counts between the computed ones: interpolated on the log scale
        out[use] = np.exp(np.interp(np.log(b[use]), np.log(values), np.log(np.maximum(mde, eps))))
    return out
