"""The reference distributions the change tests are judged on.

A unit's log rate ratio is judged against a t distribution whose degrees of freedom count how
much of its variance is an estimated ``tau2`` (:func:`effective_df`, Satterthwaite), or, when an
estimate of 0 is not taken as a known 0, against a normal mixture over ``tau2``'s equally likely
values (:func:`mixture_half_width`). The minimum detectable fall beside "no significant change"
is the same reference's (:func:`minimum_detectable_fall`, :func:`mixture_minimum_detectable_fall`),
so it is a fall the test itself would find. Used by :mod:`hotspots.change_model` (each unit) and
:mod:`hotspots.change_summary` (the pooled rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special, stats

if TYPE_CHECKING:
    from .change_model import ChangeModel

__all__ = [
    "POWER",
    "effective_df",
    "mixture_half_width",
    "additive_mixture_half_width",
    "mixture_minimum_detectable_fall",
    "additive_mixture_minimum_detectable_fall",
    "minimum_detectable_fall",
    "no_change_variance",
    "t_mixture",
    "judged_p_values",
    "unit_minimum_detectable_fall",
    "mixture_z",
]

#: Power used for minimum detectable effects.
POWER = 0.8


def no_change_variance(n: np.ndarray, phi: np.ndarray | float, after_share: float) -> np.ndarray:
    """Sampling variance of a unit's log rate ratio under no change, as the conditional test sees
    it: ``phi / (n p (1 - p))`` for ``n`` incidents in both periods, ``p`` the after period's share
    of the (seasonally weighted) exposure and ``phi`` the unit's month-level dispersion; ``inf``
    where ``n`` is 0. From the counts expected under no change, not the observed split, so it
    does not depend on which way the unit moved (a pooled row's weights, the mixture over tau2's
    values).
    """
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, np.asarray(phi, dtype=float) / (n * after_share * (1.0 - after_share)), np.inf)


def effective_df(variance: np.ndarray | float, parts: list[tuple[np.ndarray | float, float | None]]) -> np.ndarray:
    """Satterthwaite degrees of freedom of a variance of which only some parts are estimated.

    ``variance = known + sum(part)``, each ``part`` a multiple of an estimated ``tau2`` with
    ``df`` degrees of freedom (None: known); a part may be one value per unit (an array shaped
    like ``variance``). The parts are taken as fully correlated (they may be the same estimate),
    which errs on the side of fewer degrees of freedom:
    ``df_eff = variance^2 / (sum part / sqrt(df))^2``. When ``tau2`` is a small share of a unit's
    variance (a cell whose Poisson noise dominates) the reference is the normal (``inf``); when
    it is all of it, ``df``. A part is how much the variance moves with the estimate (its
    derivative times ``tau2``), which for a variance linear in ``tau2`` is the part itself.
    """
    v = np.asarray(variance, dtype=float)
    s = np.zeros(v.shape)
    for part, df in parts:
        if df is not None and df > 0:
            s = s + np.maximum(np.asarray(part, dtype=float), 0.0) / np.sqrt(df)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(v) & (v > 0) & (s > 0), v * v / (s * s), np.inf)


def mixture_half_width(variances: np.ndarray, alpha: float, iterations: int = 40) -> np.ndarray:
    """Half-width ``c`` of a two-sided ``1 - alpha`` interval for an estimate whose variance is one
    of equally likely values: ``mean_j 2 P(N(0, 1) > c / sqrt(variances[:, j])) = alpha``, per row.

    Parameters
    ----------
    variances : ndarray, shape (units, m)
    alpha : float

    Returns
    -------
    ndarray, shape (units,)
        NaN where a row has a variance that is not finite and positive.
    """
    v = np.asarray(variances, dtype=float)
    ok = np.isfinite(v).all(axis=1) & (v > 0).all(axis=1)
    inv = 1.0 / np.sqrt(2.0 * np.where(ok[:, None], v, 1.0))  # 2 P(N(0, v) > c) = erfc(c / sqrt(2 v))
    z = stats.norm.isf(alpha / 2)
    # the mixture's quantile lies between those of its smallest and largest variance
    lo, hi = z / (np.sqrt(2.0) * inv.max(axis=1)), z / (np.sqrt(2.0) * inv.min(axis=1))
    for _ in range(iterations):  # bisection: relative precision 2^-40 of the bracket
        mid = 0.5 * (lo + hi)
        over = special.erfc(mid[:, None] * inv).mean(axis=1) > alpha
        lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
    return np.where(ok, 0.5 * (lo + hi), np.nan)


def additive_mixture_half_width(v: np.ndarray, draws: np.ndarray, alpha: float) -> np.ndarray:
    """:func:`mixture_half_width` for variances ``v_i + draws_j``: exact for up to 256 units, else
    interpolated (log-log) between 256 exact values spread over the range of ``v`` (a study
    area's thousands of cells: about 20 times faster, within 1e-4 relative on the half-width).
    """
    v = np.asarray(v, dtype=float)
    d = np.asarray(draws, dtype=float)
    ok = np.isfinite(v) & (v > 0)
    if ok.sum() <= 256:
        return mixture_half_width(v[:, None] + d[None, :], alpha)
    grid = np.geomspace(v[ok].min(), v[ok].max(), 256)
    hw = mixture_half_width(grid[:, None] + d[None, :], alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(np.interp(np.log(np.where(ok, v, 1.0)), np.log(grid), np.log(hw)))
    return np.where(ok, out, np.nan)


def mixture_minimum_detectable_fall(v_null: np.ndarray, alpha: float, power: float = POWER) -> np.ndarray:
    """Smallest fall detectable with ``power`` when the null variance is one of equally likely
    values ``v_null[:, j]``: the mixture's two-sided critical value plus the power quantile times
    the mixture's standard deviation (log scale)."""
    v = np.asarray(v_null, dtype=float)
    return _detectable_fall(mixture_half_width(v, alpha), v.mean(axis=1), power)


def _detectable_fall(crit: np.ndarray, mean_variance: np.ndarray, power: float) -> np.ndarray:
    """The fall a mixture reference detects with ``power``: its critical value ``crit`` plus the
    power quantile times the mixture's standard deviation ``sqrt(mean_variance)`` (log scale)."""
    with np.errstate(invalid="ignore"):
        return 1.0 - np.exp(-(crit + stats.norm.ppf(power) * np.sqrt(mean_variance)))


def additive_mixture_minimum_detectable_fall(
    v_null: np.ndarray, draws: np.ndarray, alpha: float, power: float = POWER
) -> np.ndarray:
    """:func:`mixture_minimum_detectable_fall` for null variances ``v_null_i + draws_j``, through
    :func:`additive_mixture_half_width` (a study area's thousands of cells: the exact bisection
    over every cell and draw took 0.9 of Devon and Cornwall's 1.5 s force-year analysis)."""
    v = np.asarray(v_null, dtype=float)
    d = np.asarray(draws, dtype=float)
    return _detectable_fall(additive_mixture_half_width(v, d, alpha), v + d.mean(), power)


def minimum_detectable_fall(
    se: np.ndarray | float, alpha: float, power: float = POWER, df: np.ndarray | float | None = None
) -> np.ndarray:
    """Smallest fall (fraction, e.g. 0.25 = 25 %) detectable with this log-scale standard error.

    With ``df``, for a test judged on a t distribution with that many degrees of freedom (per unit
    or one value; ``inf`` is the normal): its critical value plus its power quantile, so the fall
    shown beside "no significant change" is one the test itself would find.
    """
    if df is None:
        z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    else:
        df = np.asarray(df, dtype=float)
        z = stats.t.isf(alpha / 2, df) + stats.t.ppf(power, df)
    return 1.0 - np.exp(-z * np.asarray(se, dtype=float))


def t_mixture(
    estimate: float, variances: np.ndarray, df: float, alpha: float, power: float = POWER
) -> tuple[float, float, float]:
    """A scalar estimate judged against a mixture of equally likely t distributions (scales
    ``sqrt(variances[j])``, ``df`` degrees of freedom): the two-sided p-value, the half-width of
    the ``1 - alpha`` interval and the power-``power`` margin added to it for a minimum detectable
    effect (``t.ppf(power, df)`` times the mixture's mean standard deviation). For a t reference
    whose variance also holds a part known only by its equally likely values (e.g. a pooled row's
    shared month-to-month shocks, :mod:`hotspots.month_shocks`)."""
    from scipy import optimize

    v = np.asarray(variances, dtype=float).ravel()
    sd = np.sqrt(v)
    p = float(np.mean(2 * stats.t.sf(abs(estimate) / sd, df)))

    def over(c: float) -> float:
        return float(np.mean(2 * stats.t.sf(c / sd, df))) - alpha

    lo, hi = stats.t.isf(alpha / 2, df) * sd.min(), stats.t.isf(alpha / 2, df) * sd.max()
    half = lo if hi - lo <= 1e-15 * max(hi, 1.0) else float(optimize.brentq(over, lo, hi, xtol=1e-14, rtol=1e-12))
    return p, half, float(stats.t.ppf(power, df) * np.sqrt(v.mean()))


def mixture_z(ratio: np.ndarray, alpha: float) -> np.ndarray:
    """Per row of ``ratio`` (units x draws), the equivalent z at which ``mean_j 2 P(N > z ratio_j)``
    is ``alpha`` (bisection; the averaged p-value falls as z rises)."""
    r = np.asarray(ratio, dtype=float)
    lo, hi = np.zeros(r.shape[0]), np.full(r.shape[0], 60.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        with np.errstate(invalid="ignore"):
            above = special.erfc(mid[:, None] * r / np.sqrt(2.0)).mean(axis=1) > alpha
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def judged_p_values(
    n_before: np.ndarray, n_after: np.ndarray, raw_p: np.ndarray, phi: np.ndarray, model: ChangeModel, alpha: float,
    *, with_tail: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Units' p-values on the reference their change is judged against, and the raw tail that
    reference takes to ``alpha``.

    ``raw_p`` is the conditional (beta-binomial) test's two-sided p-value at ``tau2 = model's tau2
    + seasonal variance`` (:func:`hotspots.count_tests.overdispersed_rate_test`), ``phi`` each
    unit's month-level dispersion. When ``tau2`` was estimated as 0 (not a known 0) the p-value is
    averaged over its equally likely values (``Overdispersion.tau2_test_draws``), rescaling the
    test's equivalent z by the standard deviation each implies; when it was estimated from a
    limited number of units (or the seasonal factors from a limited number of months) the
    equivalent z is judged on a t distribution whose degrees of freedom say how much of the unit's
    variance is that estimate (Satterthwaite, :func:`effective_df`); else it is the raw p-value.
    One rule for :func:`hotspots.change_model.unit_change_tests` and the exact minimum detectable
    falls (:mod:`hotspots.detectable_fall`).

    Returns
    -------
    (p_value, tail) : ndarrays
        ``tail``: the raw two-sided p-value whose judged p-value is ``alpha`` (the interval's ends);
        None unless ``with_tail``.
    """
    b = np.asarray(n_before, dtype=float)
    a = np.asarray(n_after, dtype=float)
    pval = np.asarray(raw_p, dtype=float)
    d, vs = model.dispersion, model.shared_variance
    tail = np.full(b.shape, float(alpha))
    draws = d.tau2_test_draws
    if draws.size:
        v_test = no_change_variance(a + b, phi, model.w_after / (model.w_before + model.w_after))
        with np.errstate(divide="ignore", invalid="ignore"):
            zeq = stats.norm.isf(np.clip(pval, 1e-300, 1.0) / 2)
            ratio = np.sqrt((v_test + d.tau2 + vs)[:, None] / (v_test[:, None] + vs + draws[None, :]))
            p_mix = special.erfc(zeq[:, None] * ratio / np.sqrt(2.0)).mean(axis=1)  # 2 P(N > z ratio)
        tail = None
        if with_tail:  # a row of ratio depends only on the unit's total and phi: solve each distinct one once
            # (860,000 cells of 50 m took 47 s here, one bisection per cell)
            key = np.column_stack([a + b, np.broadcast_to(np.asarray(phi, dtype=float), b.shape)])
            _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
            tail = 2 * stats.norm.sf(mixture_z(ratio[first], alpha)[np.ravel(inv)])
        return np.where(np.isnan(pval), np.nan, np.minimum(1.0, p_mix)), tail
    if d.tau2_df is not None or model.seasonal_df is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(phi * (1.0 / np.maximum(a, 0.5) + 1.0 / np.maximum(b, 0.5)) + d.tau2 + vs)
        df_u = effective_df(se * se, [(d.tau2, d.tau2_df), (model.seasonal_variance, model.seasonal_df)])
        zeq = stats.norm.isf(np.clip(pval, 1e-300, 1.0) / 2)
        pval = np.where(np.isnan(pval), np.nan, np.minimum(1.0, 2 * stats.t.sf(zeq, df_u)))
        tail = 2 * stats.norm.sf(stats.t.isf(alpha / 2, df_u)) if with_tail else None
    return pval, tail


def unit_minimum_detectable_fall(n_before: np.ndarray, phi: np.ndarray, model: ChangeModel, alpha: float) -> np.ndarray:
    """Each unit's smallest fall detectable with 80 % power on the reference of
    :func:`judged_p_values` (normal approximation on the log scale, from the before count and the
    after count expected under no change); NaN where the before count is 0. Small counts take
    :func:`hotspots.detectable_fall.exact_minimum_detectable_fall` instead
    (:func:`hotspots.change_model.unit_change_tests`)."""
    b = np.asarray(n_before, dtype=float)
    d, vs = model.dispersion, model.shared_variance
    with np.errstate(divide="ignore", invalid="ignore"):
        expected_after = b * model.w_after / model.w_before
        se0 = np.sqrt(phi * (1.0 / np.maximum(b, 0.5) + 1.0 / np.maximum(expected_after, 0.5)) + d.tau2 + vs)
    draws = d.tau2_test_draws
    if draws.size:  # allows for tau2 being as uncertain as its equally likely values
        mde = additive_mixture_minimum_detectable_fall(se0 * se0 - d.tau2, draws, alpha)
    elif d.tau2_df is not None or model.seasonal_df is not None:  # the fall this t reference would find
        parts = [(d.tau2, d.tau2_df), (model.seasonal_variance, model.seasonal_df)]
        mde = minimum_detectable_fall(se0, alpha, df=effective_df(se0 * se0, parts))
    else:  # a known variance: the normal's quantiles
        mde = minimum_detectable_fall(se0, alpha)
    return np.where(b > 0, mde, np.nan)
