"""How much more than Poisson incident counts vary: the variance model behind change verdicts.

An exact Poisson test treats a place's incidents as a Poisson count around a fixed rate. Real
police.uk ASB varies more: from month to month (a busy 500 m cell's monthly counts have a
dispersion index of 1.5–3 after removing the force-wide monthly pattern) and from one half-year or
year to the next (a place's level drifts by 15–25 % even when nothing is done there). A Poisson
test calls that ordinary variation "significant". This module estimates both kinds of extra
variation from the data and turns them into the variance of a unit's before/after log rate ratio.

The model
---------
For a unit ``u`` (grid cell or area) and calendar month ``m`` in the before (B) or after (A)
period, the expected count is ``mu[u, m] = lambda[u, period] * w[m]`` with ``w[m]`` the month's
exposure (days in the period) times a seasonal factor (:func:`seasonal_factors`). Then:

* **month-to-month variation** (negative binomial, "NB2"): ``Var(y[u, m]) = mu + kappa mu^2``.
  Summed over a period, the period total's variance is ``phi_u`` times its Poisson variance with
  ``phi_u = 1 + kappa * m_u`` (``m_u`` the unit's mean monthly count);
* **between-period variation**: ``log lambda[u, A] - log lambda[u, B] = beta + delta_u`` with
  ``delta_u`` of variance ``tau2`` beyond the common change ``beta``.

The variance of a unit's log rate ratio is therefore ``phi_u (1/A_u + 1/B_u) + tau2``.

Estimating them
---------------
* ``kappa`` — moment estimator from the monthly Pearson residuals of all units in their periods
  (:func:`estimate_kappa`). A unit's expected monthly counts follow the monthly totals of the
  *rest of the study area* (leave-one-out), so seasonality and force-wide ups and downs are not
  counted as the unit's own variation (as in the REFERENCE measurement of 1.9–3.3 on real data).
  ``sum[(y - mu)^2 - mu (1 - h)] / sum[mu^2 (1 - h)]`` with ``h = w[m] / sum of w in the period``
  (the leverage of the period's fitted level), clipped at 0. Checked in the tests against
  statsmodels' negative binomial maximum likelihood on simulated data.
* ``tau2`` — DerSimonian–Laird random-effects estimator over the units' log rate ratios
  (:func:`estimate_tau2`; equal to ``statsmodels.stats.meta_analysis.combine_effects(...,
  method_re="dl").tau2`` given the same variances), from units with at least
  :data:`MIN_COUNT_FOR_TAU2` incidents in each period, each weighted by the sampling variance its
  total would have under the common change (``variance="expected"``: weights from a unit's own
  counts favour units that rose by chance and underestimate ``tau2`` on counts of a few tens).
  It measures how much the units' changes scatter around their common change beyond
  what ``kappa`` explains. When the data reach back far enough, ``tau2`` is estimated on a
  **placebo** comparison where nothing was done, matched to the compared pair
  (:func:`hotspots.period_split.split_periods`: the pair a year earlier for half-years and
  quarters, the year before "before" for whole years), so that real effects in some units cannot
  inflate it; otherwise
  on the comparison itself (then units that truly changed by different amounts widen every
  unit's interval, which makes the per-unit verdicts conservative, never liberal).
* Hotspot areas are few (often 2–10), so their own ``tau2`` is noisy and its t reference has
  few degrees of freedom. They use their grid cells' estimate instead when it knows more about
  ``tau2`` (a placebo estimate is preferred over one from the comparison itself; then more
  independent places, each weighed by ``1 / (v + tau2)²``, its information about ``tau2``: many
  cells of a few incidents each say little about a small ``tau2``, a few busy areas a lot),
  unless the areas' own changes rule it out: they scatter less than it implies
  (:func:`tau2_too_large_p`), or more (:func:`tau2_too_small_p`; on real police.uk data the
  cells' large month-to-month ``kappa`` takes up most of their between-period variation, so their
  ``tau2`` can understate the areas').
* Degrees of freedom: touching cells share their ups and downs (a hotspot spans several cells),
  so a cell estimate holds about as many independent pieces of information as there are
  separate groups of touching cells among those that informed it (:attr:`Overdispersion.tau2_groups`);
  p-values and intervals use a t distribution whose degrees of freedom also allow for the
  units' own sampling noise in the estimate (:attr:`Overdispersion.tau2_df`, Satterthwaite with
  the estimator's large-sample variance: about ``(k - 1) (tau2 / (v + tau2))^2`` for ``k``
  separate units; counting units alone made the t reference too confident when their sampling
  variance ``v`` is as large as ``tau2``).
"""

from __future__ import annotations

import calendar
import warnings
from dataclasses import dataclass

import numpy as np

from ._errors import ParameterError

__all__ = [
    "Overdispersion",
    "estimate_kappa",
    "estimate_tau2",
    "estimate_tau2_robust",
    "dersimonian_laird",
    "two_group_threshold",
    "consecutive_change_cov",
    "tau2_total_variance",
    "seasonal_factors",
    "fit_seasonal",
    "SeasonalFit",
    "MIN_COUNT_FOR_TAU2",
    "MIN_UNITS_FOR_TAU2",
    "heterogeneity_p",
    "TAU2_PRETEST_ALPHA",
    "tau2_too_large_p",
    "tau2_too_small_p",
    "FINER_TAU2_CHECK_ALPHA",
    "FINER_TAU2_UPPER_ALPHA",
    "TAU2_SOURCES",
    "TWO_GROUPS_SOURCE",
    "tau2_basis",
    "tau2_confidence_draws",
    "TAU2_DRAWS",
]

#: Units need at least this many incidents in each period to enter the ``tau2`` estimate (the
#: log rate ratio's normal approximation is poor below it).
MIN_COUNT_FOR_TAU2 = 10
#: A ``tau2`` whose Cochran's Q is not significant at this level is estimated as 0 (from a placebo
#: comparison or, without one, from the compared periods; not for a two-group fit), and
#: tests then average over its confidence distribution (:func:`tau2_confidence_draws`: 0 with
#: probability about Q's p-value, small positive values otherwise) instead of taking a noisy small
#: estimate at face value: the t reference's degrees of freedom collapse as a positive estimate
#: nears 0 (Satterthwaite: under 1 for the demo's 0.0016 from 31 areas, Q p = 0.25), which made
#: a 17 % fall in an area of 2,000 incidents a year "no significant change".
TAU2_PRETEST_ALPHA = 0.10
#: A finer units' ``tau2`` (the cells') is not carried over to coarser units (hotspot areas) when
#: the coarser units' own comparison rules it out at this level (:func:`tau2_too_large_p`): a
#: cells' estimate that came out positive by chance (about half the time on Poisson data)
#: otherwise swamps the busiest areas' Poisson variance (in one simulated Poisson data set,
#: treated areas with a 15 % fall were found 10 % of the time instead of about 70 %).
FINER_TAU2_CHECK_ALPHA = 0.10
#: Nor does a smaller finer units' ``tau2`` replace the coarser units' own when their own
#: comparison says they scatter more than it allows at this level (:func:`tau2_too_small_p`). On
#: real police.uk data the cells' month-to-month dispersion (kappa 0.06-0.28 across 37 forces) is
#: 5-20 times the hotspot areas', so the cells' between-period variation is mostly counted in
#: their kappa and their ``tau2`` (often 0) understates the areas' (docs/calibration.md). With
#: the cells' ``tau2 = 0`` this is the areas' own Cochran's Q: areas whose Q is large by chance
#: (p 0.05-0.10 on Poisson data) should still take the cells' 0, which rests on many more places
#: (on the 37 forces 0.05 and 0.10 differ by one area).
FINER_TAU2_UPPER_ALPHA = 0.05
#: Fewer eligible units than this and ``tau2`` is not estimated from them.
MIN_UNITS_FOR_TAU2 = 5
#: Smallest likelihood ratio statistic for a two-group fit of units' changes
#: (:func:`two_group_threshold`).
TWO_GROUP_MIN_LR = 10.0


#: How many equally likely values of ``tau2`` (quantiles of its confidence distribution,
#: :func:`tau2_confidence_draws`) the tests average their p-values over.
TAU2_DRAWS = 32
#: Where a ``tau2`` came from: the first words of :attr:`Overdispersion.tau2_source` (details
#: may follow), read back by :attr:`Overdispersion.tau2_basis`. "placebo": periods where nothing
#: was done (the changes being judged cannot inflate it); "comparison": the compared periods
#: themselves (real changes count as variation there); "given"; "none": not estimated.
TAU2_SOURCES = {
    "placebo": "placebo periods",
    "comparison": "this comparison",
    "given": "given",
    "none": "not estimated",
}
#: Words a ``tau2`` source from the compared periods ends with when it came from a two-group fit
#: (:func:`estimate_tau2_robust`): places that changed and places that did not.
TWO_GROUPS_SOURCE = ", two groups of places that changed differently"


def tau2_basis(source: str) -> str:
    """Where a ``tau2`` came from: the key of :data:`TAU2_SOURCES` ("placebo", "comparison",
    "given", "none") whose words start ``source`` (a finer units' estimate keeps the basis of
    where they got it: its source text starts with theirs).

    Raises
    ------
    ValueError
        When ``source`` starts with none of them.
    """
    for key, words in TAU2_SOURCES.items():
        if source.startswith(words):
            return key
    raise ValueError(
        f"tau2 source {source!r} does not start with one of {list(TAU2_SOURCES.values())}; "
        "build it from hotspots.dispersion.TAU2_SOURCES."
    )


@dataclass(frozen=True)
class Overdispersion:
    """The extra variation of counts, as estimated from the data (see the module docs).

    Attributes
    ----------
    kappa : float
        Month-to-month negative binomial dispersion: ``Var = mu + kappa mu^2`` for a monthly
        count of mean ``mu``.
    tau2 : float
        Between-period variance of a unit's log rate, beyond the common change.
    kappa_units, tau2_units : int
        Units that informed each estimate.
    tau2_source : str
        Starts with one of :data:`TAU2_SOURCES` (``"placebo periods"``, ``"this comparison"``,
        ``"given"`` or ``"not estimated"``), details may follow; :attr:`tau2_basis` reads it.
    how : str
        One sentence for captions: what was estimated from what.
    tau2_groups : int
        Separate groups of touching units among the ``tau2_units`` (grid cells; 0 when the units
        are not cells). Touching cells share their ups and downs, so the estimate holds about as
        many independent pieces of information as there are groups: :attr:`tau2_df` uses them.
    change_cov : float
        Covariance of a unit's two consecutive between-period changes of the log rate (placebo
        to before, before to after) beyond what sampling noise makes it, within ``+-tau2 / 2``
        (:func:`consecutive_change_cov`): ``-tau2 / 2`` when a place's level varies from period
        to period around a stable mean, 0 when changes neither reverse nor persist (a random
        walk) or when not estimated.
    change_cov_units : int
        Units that informed ``change_cov`` (0: not estimated).
    tau2_total_var : float
        Typical total variance ``v + tau2`` of the log rate ratios ``tau2`` was estimated from
        (:func:`tau2_total_variance`; 0: not known). The estimate's own noise grows with the
        units' sampling variance ``v``, not only with their number: :attr:`tau2_df` uses it.
    tau2_draws : tuple of float
        Equally likely values of ``tau2`` (:func:`tau2_confidence_draws`) from the units it was
        estimated from. When the estimate is 0, tests average their p-values and intervals over
        them (an estimate of 0 is not a known 0); a positive estimate is judged with the t
        reference of :attr:`tau2_df`. Empty for a ``tau2`` given, not estimated, or from two
        groups of places.
    """

    kappa: float
    tau2: float
    kappa_units: int = 0
    tau2_units: int = 0
    tau2_source: str = TAU2_SOURCES["comparison"]
    how: str = ""
    tau2_groups: int = 0
    change_cov: float = 0.0
    change_cov_units: int = 0
    tau2_total_var: float = 0.0
    tau2_draws: tuple[float, ...] = ()

    @property
    def tau2_basis(self) -> str:
        """Where ``tau2`` came from (:func:`tau2_basis` of :attr:`tau2_source`)."""
        return tau2_basis(self.tau2_source)

    @property
    def tau2_one_group_comparison(self) -> bool:
        """``tau2`` was fitted to the compared periods as one group (not two,
        :data:`TWO_GROUPS_SOURCE`): places that really changed count as scatter in it."""
        return self.tau2_basis == "comparison" and TWO_GROUPS_SOURCE not in self.tau2_source

    @property
    def tau2_test_draws(self) -> np.ndarray:
        """The values of ``tau2`` tests average over: :attr:`tau2_draws` when the estimate is 0
        (not a known 0), else none (a positive estimate is judged with the t reference of
        :attr:`tau2_df`). Used by the unit tests and the pooled summary alike."""
        return np.asarray(self.tau2_draws if self.tau2 <= 0 else (), dtype=float)

    @property
    def tau2_independent_units(self) -> int:
        """Independent pieces of information behind the ``tau2`` estimate, 0 when it was given or
        not estimated: :attr:`tau2_groups` when given, else :attr:`tau2_units`. Counts whether the
        estimate is positive or 0 (a 0 from hundreds of groups says places hardly vary)."""
        if self.tau2_basis in ("given", "none"):
            return 0
        return self.tau2_groups if self.tau2_groups > 0 else self.tau2_units

    @property
    def tau2_df(self) -> float | None:
        """Degrees of freedom of the estimated ``tau2`` for t reference distributions (None: known).

        Satterthwaite's ``2 tau2^2 / Var(tau2_hat)``. The estimate's large-sample variance from
        ``k`` log rate ratios of total variance ``vt`` (:attr:`tau2_total_var`) is
        ``2 vt^2 / (k - 1)`` (Biggerstaff & Tweedie 1997): ``2 tau2^2`` from the places' true
        changes and ``2 (vt^2 - tau2^2)`` from their sampling noise. Touching cells share their
        true changes (``g`` separate groups among the ``k`` cells, :attr:`tau2_groups`) but not
        their sampling noise, so ``Var(tau2_hat) = 2 tau2^2 / (g - 1) + 2 (vt^2 - tau2^2) / (k - 1)``
        and ``df = 1 / (1 / (g - 1) + (vt^2 / tau2^2 - 1) / (k - 1))``: ``g - 1`` when the
        units' sampling noise is negligible, about a quarter of ``k - 1`` when it is as large as
        ``tau2`` (counting units alone made the t reference too confident: random-walk year
        effects gave 6.5 % false alarms at 5 %). ``g - 1`` when ``tau2_total_var`` is not known;
        None when ``tau2`` is 0, was given, or rests on fewer than 3 independent units.
        """
        g = self.tau2_independent_units
        if self.tau2 <= 0 or g < 3:
            return None
        k = max(self.tau2_units, g)
        noise = max(self.tau2_total_var**2 / self.tau2**2 - 1.0, 0.0) if self.tau2_total_var > 0 else 0.0
        return float(1.0 / (1.0 / (g - 1) + noise / (k - 1)))

    def phi(self, mean_monthly: np.ndarray | float) -> np.ndarray:
        """Dispersion index of a period total, ``1 + kappa * mean monthly count``."""
        return 1.0 + self.kappa * np.asarray(mean_monthly, dtype=float)

    def to_dict(self) -> dict[str, object]:
        return {
            "kappa": self.kappa, "tau2": self.tau2, "kappa_units": self.kappa_units, "tau2_units": self.tau2_units,
            "tau2_source": self.tau2_source, "how": self.how, "tau2_groups": self.tau2_groups,
            "change_cov": self.change_cov, "change_cov_units": self.change_cov_units,
            "tau2_total_var": self.tau2_total_var, "tau2_draws": list(self.tau2_draws),
        }


def estimate_kappa(Y: np.ndarray, period: np.ndarray, weights: np.ndarray, reference: np.ndarray) -> tuple[float, int]:
    """Month-to-month negative binomial dispersion ``kappa`` of units' monthly counts.

    Parameters
    ----------
    Y : ndarray of int, shape (U, M)
        Monthly counts of ``U`` units over ``M`` months.
    period : ndarray of int, shape (M,)
        Period of each month: 0 outside the compared periods, 1 before, 2 after (or any labels:
        months with the same label > 0 share a fitted level).
    weights : ndarray of float, shape (M,)
        Exposure of each month (days counted; only used where ``reference`` is zero).
    reference : ndarray, shape (M,)
        Monthly totals of the whole study area (each unit's own counts are taken out).

    Returns
    -------
    (kappa, units) : (float, int)
        The estimate (>= 0) and the number of units with incidents that informed it.
    """
    Y = np.asarray(Y, dtype=np.float64)
    period = np.asarray(period)
    ref = np.asarray(reference, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] != period.size or ref.size != period.size:
        raise ParameterError("`Y` must be (units, months) and `period`, `reference` one value per month.")
    num = den = 0.0
    used = np.zeros(Y.shape[0], dtype=bool)
    for lab in np.unique(period[period > 0]):
        cols = np.flatnonzero(period == lab)
        if cols.size < 2:
            continue
        y = Y[:, cols]
        rest = np.maximum(ref[None, cols] - y, 0.0)
        rest_tot = rest.sum(axis=1, keepdims=True)
        w = np.asarray(weights, dtype=np.float64)[cols]
        share = np.where(rest_tot > 0, rest / np.where(rest_tot > 0, rest_tot, 1.0), (w / w.sum())[None, :])
        tot = y.sum(axis=1, keepdims=True)
        mu = tot * share
        h = share
        r2 = (y - mu) ** 2
        ok = (tot[:, 0] > 0)
        num += float(((r2 - mu * (1 - h))[ok]).sum())
        den += float(((mu * mu * (1 - h))[ok]).sum())
        used |= ok
    kappa = max(0.0, num / den) if den > 0 else 0.0
    return kappa, int(used.sum())


def log_rate_ratios(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray, min_count: int,
    variance: str = "observed",
) -> tuple[np.ndarray, np.ndarray, int]:
    """The log rate ratios of the units with at least ``min_count`` incidents in each period.

    Returns
    -------
    (y, v, k) : (ndarray, ndarray, int)
        Each qualifying unit's log rate ratio ``log((a / w_after) / (b / w_before))``, its
        sampling variance (``phi · (1/a + 1/b)`` with ``variance="observed"``; see
        :func:`estimate_tau2`), and the number of such units.
    """
    b = np.asarray(n_before, dtype=float)
    a = np.asarray(n_after, dtype=float)
    ph = np.broadcast_to(np.asarray(phi, dtype=float), b.shape)
    ok = (b >= min_count) & (a >= min_count)
    y = np.log(a[ok] / w_after) - np.log(b[ok] / w_before)
    v = _sampling_variance(a[ok], b[ok], ph[ok], variance)
    return y, v, int(ok.sum())


def estimate_tau2(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "observed",
) -> tuple[float | None, int]:
    """DerSimonian–Laird between-period variance of units' log rate ratios.

    With ``variance="observed"`` each unit's sampling variance is ``phi (1/A + 1/B)`` from its
    own counts (as ``statsmodels``' ``combine_effects`` is usually fed). Those weights are larger
    for units whose count happened to come out high, so units whose count fell by chance weigh
    less and the spread is underestimated when counts are small (a few tens).
    ``variance="expected"`` uses the counts expected from the unit's total and the common change,
    ``phi / (n p (1 - p))`` with ``n = A + B`` and ``p`` the after share of all units'
    incidents, which does not depend on which way the unit moved (used by the change model).

    Parameters
    ----------
    n_before, n_after : ndarray of int
        Counts per unit in the two periods.
    w_before, w_after : float
        Expected incidents per unit rate in each period (seasonal exposure).
    phi : ndarray of float
        Month-level dispersion of each unit's period totals.
    min_count : int
        Units need this many incidents in each period to take part.

    Returns
    -------
    (tau2, units) : (float or None, int)
        None when fewer than :data:`MIN_UNITS_FOR_TAU2` units qualify.
    """
    y, v, k = log_rate_ratios(n_before, n_after, w_before, w_after, phi, min_count, variance)
    if k < MIN_UNITS_FOR_TAU2:
        return None, k
    return dersimonian_laird(y, v), k


def dersimonian_laird(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian-Laird ``tau2`` of estimates ``y`` with sampling variances ``v`` (at least 0):
    ``(Q - (k - 1)) / (sum w - sum w^2 / sum w)``, ``w = 1 / v``."""
    q, w = _cochran_q(y, v)
    c = float(w.sum() - (w * w).sum() / w.sum())
    return max(0.0, (q - (y.size - 1)) / c) if c > 0 else 0.0


def tau2_total_variance(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray, tau2: float,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "expected",
) -> float:
    """Typical total variance ``vt`` of the log rate ratios a ``tau2`` was estimated from.

    ``vt^2 = k / sum_i (v_i + tau2)^-2`` over the ``k`` qualifying units (``v_i`` their sampling
    variances, as :func:`estimate_tau2`): the information about ``tau2`` in ``k`` log rate ratios
    is ``sum_i (v_i + tau2)^-2 / 2``, so ``tau2_hat`` has variance about ``2 vt^2 / k`` (``2 vt^2 /
    (k - 1)`` with the mean estimated). 0 when no unit qualifies. Arguments as
    :func:`estimate_tau2`.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        _, v, k = log_rate_ratios(n_before, n_after, w_before, w_after, phi, min_count, variance)
    if k == 0:
        return 0.0
    return float(np.sqrt(k / ((v + max(float(tau2), 0.0)) ** -2.0).sum()))


def tau2_confidence_draws(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray,
    *, groups: int = 0, m: int = TAU2_DRAWS, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "expected",
) -> tuple[float, ...]:
    """Equally likely values of ``tau2`` given the units' scatter: ``m`` quantiles of its
    confidence distribution (Q-profile), for tests that allow for ``tau2`` being uncertain.

    The generalised ``Q(t) = sum (y_i - ybar)^2 / (v_i + t)`` falls as ``t`` grows and is about
    ``chi2(k - 1)`` at the true ``tau2``, so ``H(t) = P(chi2(k - 1) >= Q(t))`` is a confidence
    distribution for ``tau2``: it puts Cochran's Q p-value, ``H(0)``, on 0 (no between-period
    variation), and the values returned are ``H^-1(u)`` at ``u = (j + 1/2) / m`` (0 where
    ``u <= H(0)``). A point estimate of 0 (DerSimonian–Laird whenever ``Q < k - 1``, or a placebo
    estimate whose Q is not significant, :data:`TAU2_PRETEST_ALPHA`) treats a ``tau2`` that is
    merely hard to see as absent, and the t reference of :attr:`Overdispersion.tau2_df` has nothing
    to work with there: in simulated hotspots whose true ``tau2`` was about their sampling variance
    the estimate was 0 in 27-35 % of data sets, and there 16-18 % of areas with no change were
    called significant (docs/calibration.md). Tests average over these values when the estimate is
    0 (with equal ``v_i`` and no floor at 0 the average is Student's t on ``k - 1`` degrees of
    freedom, the same logic as the t reference).

    Parameters
    ----------
    groups : int
        Independent groups the ``k`` units fall into (touching cells share their ups and downs);
        ``Q (g - 1) / (k - 1)`` is then referred to ``chi2(g - 1)``. 0: the units are independent.
    m : int
        Number of values.
    Other parameters as :func:`estimate_tau2`.

    Returns
    -------
    tuple of float
        ``m`` values in ascending order; empty when fewer than :data:`MIN_UNITS_FOR_TAU2` units
        (or groups) qualify: so few say too little about ``tau2`` for its quantiles to mean much.
    """
    from scipy import optimize, stats

    with np.errstate(invalid="ignore", divide="ignore"):
        y, v, k = log_rate_ratios(n_before, n_after, w_before, w_after, phi, min_count, variance)
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    y, v, k = y[ok], v[ok], int(ok.sum())
    g = groups if 0 < groups < k else k
    if g < MIN_UNITS_FOR_TAU2:
        return ()
    scale = (g - 1) / (k - 1)

    def q(t: float) -> float:
        return scale * _cochran_q(y, v + t)[0]

    targets = stats.chi2.isf((np.arange(m) + 0.5) / m, g - 1)
    q0 = q(0.0)
    out = []
    hi = float(max(np.var(y), v.max(), 1e-6))
    for target in targets:
        if q0 <= target:
            out.append(0.0)
            continue
        while q(hi) > target:
            hi *= 4.0
        out.append(float(optimize.brentq(lambda t, c=target: q(t) - c, 0.0, hi, xtol=1e-10, rtol=1e-8)))
    return tuple(sorted(out))


def heterogeneity_p(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "expected",
) -> float | None:
    """p-value of Cochran's Q: do the units' log rate ratios scatter more than their sampling
    variances allow (``Q ~ chi2(k - 1)`` when ``tau2 = 0``)? None when fewer than
    :data:`MIN_UNITS_FOR_TAU2` units qualify. Arguments as :func:`estimate_tau2`.
    (:func:`tau2_too_small_p` at ``tau2 = 0``.)"""
    return _generalised_q_p(n_before, n_after, w_before, w_after, phi, 0.0, min_count, variance, lower=False)


def tau2_too_large_p(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray, tau2: float,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "expected",
) -> float | None:
    """Lower-tail p-value of the generalised Q: do the units' log rate ratios scatter *less* than
    a between-period variance ``tau2`` would make them?

    ``Q(tau2) = sum (y_i - ybar)^2 / (v_i + tau2)`` (``ybar`` weighted by ``1 / (v_i + tau2)``)
    is about ``chi2(k - 1)`` when the units' true between-period variance is ``tau2`` (the
    statistic Paule and Mandel's estimator solves for); a small ``P(chi2(k - 1) <= Q)`` says
    ``tau2`` is too large for these units. None when fewer than :data:`MIN_UNITS_FOR_TAU2`
    units qualify. Other arguments as :func:`estimate_tau2`.
    """
    return _generalised_q_p(n_before, n_after, w_before, w_after, phi, tau2, min_count, variance, lower=True)


def tau2_too_small_p(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray, tau2: float,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "expected",
) -> float | None:
    """Upper-tail p-value of the generalised Q (:func:`tau2_too_large_p`): do the units' log rate
    ratios scatter *more* than a between-period variance ``tau2`` allows? At ``tau2 = 0`` it is
    Cochran's Q test (:func:`heterogeneity_p`)."""
    return _generalised_q_p(n_before, n_after, w_before, w_after, phi, tau2, min_count, variance, lower=False)


def _generalised_q_p(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray, tau2: float,
    min_count: int, variance: str, *, lower: bool,
) -> float | None:
    from scipy import stats

    y, v, k = log_rate_ratios(n_before, n_after, w_before, w_after, phi, min_count, variance)
    if k < MIN_UNITS_FOR_TAU2:
        return None
    q = _cochran_q(y, v + float(tau2))[0]
    return float(stats.chi2.cdf(q, k - 1) if lower else stats.chi2.sf(q, k - 1))


def _cochran_q(y: np.ndarray, v: np.ndarray) -> tuple[float, np.ndarray]:
    """Cochran's Q of estimates ``y`` with sampling variances ``v``, and the weights ``1 / v``."""
    w = 1.0 / v
    ybar = float((w * y).sum() / w.sum())
    return float((w * (y - ybar) ** 2).sum()), w


def _sampling_variance(a: np.ndarray, b: np.ndarray, phi: np.ndarray, variance: str) -> np.ndarray:
    """Sampling variance of units' log rate ratios (see :func:`estimate_tau2`)."""
    if variance == "observed":
        return phi * (1.0 / a + 1.0 / b)
    if variance != "expected":
        raise ParameterError(f"`variance` must be 'observed' or 'expected'; got {variance!r}.")
    n = a + b
    if not n.size:  # no unit qualifies (a sparse study area): nothing to divide
        return np.zeros(0)
    p = float(a.sum() / n.sum())
    return phi / (n * p * (1.0 - p))


def _normal_loglik(y: np.ndarray, mu: np.ndarray | float, var: np.ndarray) -> np.ndarray:
    return -0.5 * (np.log(2 * np.pi * var) + (y - mu) ** 2 / var)


def _ml_one_group(y: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood tau2 (and the log-likelihood) of ``y_i ~ N(mu, v_i + tau2)``."""
    from scipy.optimize import minimize_scalar

    def nll(t: float) -> float:
        w = 1.0 / (v + t)
        mu = float((w * y).sum() / w.sum())
        return -float(_normal_loglik(y, mu, v + t).sum())

    hi = max(float(np.var(y)) * 4.0, 1e-6)
    res = minimize_scalar(nll, bounds=(0.0, hi), method="bounded", options={"xatol": 1e-7})
    t = float(res.x) if nll(float(res.x)) < nll(0.0) else 0.0
    return t, -nll(t)


def _ml_two_groups(y: np.ndarray, v: np.ndarray, iterations: int = 300) -> tuple[float, float, float]:
    """EM fit of ``y_i ~ pi N(mu1, v_i + tau2) + (1 - pi) N(mu2, v_i + tau2)``.

    Returns ``(tau2, loglik, smaller group's share)``.
    """
    from scipy.optimize import minimize_scalar

    order = np.argsort(y)
    r = np.zeros(y.size)
    r[order[: y.size // 2]] = 1.0
    t = max(float(np.var(y)) / 4.0, 0.0)
    hi = max(float(np.var(y)) * 4.0, 1e-6)
    ll_old = -np.inf
    for _ in range(iterations):
        pi = float(np.clip(r.mean(), 1e-6, 1 - 1e-6))
        w = 1.0 / (v + t)
        mu1 = float((r * w * y).sum() / max((r * w).sum(), 1e-300))
        mu2 = float(((1 - r) * w * y).sum() / max(((1 - r) * w).sum(), 1e-300))

        def nll(tt: float, mu1: float = mu1, mu2: float = mu2, r: np.ndarray = r) -> float:
            return -float((r * _normal_loglik(y, mu1, v + tt) + (1 - r) * _normal_loglik(y, mu2, v + tt)).sum())

        res = minimize_scalar(nll, bounds=(0.0, hi), method="bounded", options={"xatol": 1e-7})
        t = float(res.x) if nll(float(res.x)) < nll(0.0) else 0.0
        l1 = np.log(pi) + _normal_loglik(y, mu1, v + t)
        l2 = np.log(1 - pi) + _normal_loglik(y, mu2, v + t)
        m = np.maximum(l1, l2)
        ll = float((m + np.log(np.exp(l1 - m) + np.exp(l2 - m))).sum())
        r = np.exp(l1 - m) / (np.exp(l1 - m) + np.exp(l2 - m))
        if ll - ll_old < 1e-4:  # BIC compares log-likelihoods that differ by units
            break
        ll_old = ll
    return t, ll, float(min(r.mean(), 1 - r.mean()))


def estimate_tau2_robust(
    n_before: np.ndarray, n_after: np.ndarray, w_before: float, w_after: float, phi: np.ndarray,
    *, min_count: int = MIN_COUNT_FOR_TAU2, variance: str = "observed",
) -> tuple[float | None, int, str]:
    """Between-period variance of log rate ratios that places which really changed cannot inflate.

    When some units changed and others did not (half the hotspots treated), their log rate
    ratios form two groups, and the DerSimonian–Laird spread (:func:`estimate_tau2`) counts the
    gap between the groups as noise. Here a one-group and a two-group normal model (each unit's
    own sampling variance plus a shared ``tau2``) are fitted by maximum likelihood (EM for two
    groups) and compared by their likelihood ratio; ``tau2`` comes from the preferred one. Under
    one group the estimate is close to DerSimonian–Laird's.

    Two groups need a likelihood ratio statistic ``2 (ll2 - ll1)`` above
    :func:`two_group_threshold` (BIC's penalty ``2 log k``, but at least 10): places that vary from
    year to year spread out continuously, and a chance split of that spread leaves a within-group
    ``tau2`` near 0 that calls many of them changes. The statistic's 99th percentile under one
    normal spread is 9–11 for 10–80 places, while BIC's penalty is 4.6–8.8: with it, simulated
    places with 12 % year-to-year variation and no change (two years, product path) were split
    in 3.5 % of data sets (7 of 200), whose hotspot areas were then flagged 40 % of the time
    (all areas 4.1 %); with the threshold, 1.5 % (3.3 %). The price: Poisson places of which half
    fell 30 % are split less often (treated areas found 75.5 → 63.4 %; 77–80 % since a finer
    units' one-group estimate no longer overrides the areas' split, ``fit_change_model``;
    docs/calibration.md).

    Returns
    -------
    (tau2, units, model) : (float or None, int, str)
        ``model`` is ``"one group"`` or ``"two groups"``; ``tau2`` None when fewer than
        :data:`MIN_UNITS_FOR_TAU2` units qualify.
    """
    y, v, k = log_rate_ratios(n_before, n_after, w_before, w_after, phi, min_count, variance)
    if k < MIN_UNITS_FOR_TAU2:
        return None, k, "none"
    t_dl, _ = estimate_tau2(n_before, n_after, w_before, w_after, phi, min_count=min_count, variance=variance)
    if k < 2 * MIN_UNITS_FOR_TAU2:
        return t_dl, k, "one group"
    _, ll1 = _ml_one_group(y, v)
    t2, ll2, minor = _ml_two_groups(y, v)
    if 2 * (ll2 - ll1) > two_group_threshold(k) and minor * k >= 2:
        return min(t2, t_dl), k, "two groups"
    return t_dl, k, "one group"


def two_group_threshold(units: int) -> float:
    """The likelihood ratio statistic a two-group fit of ``units`` log rate ratios must exceed
    (:func:`estimate_tau2_robust`): ``max(10, 2 log k)``, BIC's penalty for the two extra
    parameters but never below the one-group model's 99th percentile of the statistic at 10–80
    places (about 10, by simulation)."""
    return max(TWO_GROUP_MIN_LR, 2.0 * float(np.log(max(units, 1))))


def consecutive_change_cov(
    n_placebo: np.ndarray, n_before: np.ndarray, n_after: np.ndarray, w_placebo: float, w_before: float, w_after: float,
    phi: np.ndarray, *, min_count: int = MIN_COUNT_FOR_TAU2,
) -> tuple[float | None, int]:
    """Covariance of units' consecutive between-period changes beyond sampling noise.

    With ``x_i`` a unit's log rate ratio from the placebo period to "before" and ``y_i`` from
    "before" to "after", both share the unit's "before" count, whose sampling variance
    ``phi_i / B_i`` makes them covary by ``-phi_i / B_i`` even when the unit's level does not
    vary. What is left is the covariance ``c`` of the unit's true changes: ``-tau2 / 2`` when its
    level varies independently from period to period (a busy year is followed by a quieter
    one), 0 when changes persist or drift (a random walk). Moment estimator over units with at
    least ``min_count`` incidents in each period, each weighted by ``1 / sqrt(v_x v_y)`` (its
    two sampling variances, from its total and the common change as in :func:`estimate_tau2`'s
    ``variance="expected"``): ``k / (k - 1) sum w (x - xbar)(y - ybar) / sum w + sum w phi / B /
    sum w`` (``k / (k - 1)`` for the estimated means).

    A treatment effect in the after period adds to ``y`` only, independently of the placebo
    change, so it widens the estimate's noise without biasing it.

    Returns
    -------
    (c, units) : (float or None, int)
        None when fewer than :data:`MIN_UNITS_FOR_TAU2` units qualify.
    """
    p_ = np.asarray(n_placebo, dtype=float)
    b = np.asarray(n_before, dtype=float)
    a = np.asarray(n_after, dtype=float)
    ph = np.broadcast_to(np.asarray(phi, dtype=float), b.shape)
    ok = (p_ >= min_count) & (b >= min_count) & (a >= min_count)
    k = int(ok.sum())
    if k < MIN_UNITS_FOR_TAU2:
        return None, k
    p_, b, a, ph = p_[ok], b[ok], a[ok], ph[ok]
    x = np.log(b / w_before) - np.log(p_ / w_placebo)
    y = np.log(a / w_after) - np.log(b / w_before)
    vx = _sampling_variance(b, p_, ph, "expected")
    vy = _sampling_variance(a, b, ph, "expected")
    w = 1.0 / np.sqrt(vx * vy)
    xbar = float((w * x).sum() / w.sum())
    ybar = float((w * y).sum() / w.sum())
    c = float((w * (x - xbar) * (y - ybar)).sum() / w.sum()) * k / (k - 1) + float((w * ph / b).sum() / w.sum())
    return c, k


@dataclass(frozen=True, eq=False)
class SeasonalFit:
    """Month-of-year factors fitted to a study area's monthly totals (:func:`fit_seasonal`).

    Attributes
    ----------
    factors : ndarray of float, shape (M,)
        Factor of each month (mean 1 over the calendar months present; all 1 when not identified).
    identified : bool
        Whether the seasonal pattern could be told apart from the levels.
    months : ndarray of int
        Calendar months present (1..12); the first is the fit's baseline.
    effect_cov : ndarray, shape (len(months) - 1, len(months) - 1)
        Covariance of the log effects of ``months[1:]`` (quasi-Poisson: the Poisson covariance
        times the Pearson dispersion of the monthly totals, at least 1); empty when not identified.
    dispersion : float
        That Pearson dispersion (1 when not identified or no residual degrees of freedom).
    df : float or None
        Its residual degrees of freedom (monthly totals less the fit's parameters; None when not
        identified or none are left): the effects' variance is estimated with that many.
    """

    factors: np.ndarray
    identified: bool
    months: np.ndarray
    effect_cov: np.ndarray
    dispersion: float = 1.0
    df: float | None = None

    def log_ratio_variance(
        self, month_of_year: np.ndarray, exposure: np.ndarray, numerator: np.ndarray, denominator: np.ndarray
    ) -> float:
        """Variance (log scale) of ``sum(exposure * factor)`` over the ``numerator`` months divided
        by the same over the ``denominator`` months: how uncertain the seasonal part of a rate
        ratio between two periods is (delta method). 0 when the pattern was not identified (the
        factors are then 1 and not estimated)."""
        if not self.identified or self.months.size < 2:
            return 0.0
        moy = np.asarray(month_of_year, dtype=np.int64)
        w = np.asarray(exposure, dtype=float) * self.factors
        grad = np.zeros(self.months.size - 1)
        for mask, sign in ((np.asarray(numerator, bool), 1.0), (np.asarray(denominator, bool), -1.0)):
            tot = float(w[mask].sum())
            if tot <= 0:
                return 0.0
            for j, mo in enumerate(self.months[1:]):
                grad[j] += sign * float(w[mask & (moy == mo)].sum()) / tot
        return float(max(grad @ self.effect_cov @ grad, 0.0))


def fit_seasonal(
    reference: np.ndarray, month_of_year: np.ndarray, level: np.ndarray, exposure: np.ndarray
) -> SeasonalFit:
    """Month-of-year factors from the study area's monthly totals (Poisson GLM, statsmodels).

    Fits ``log E[reference[m]] = log exposure[m] + level[m] + month_of_year[m]`` (one level per
    distinct ``level`` label, e.g. before / after / each other year, and eleven month-of-year
    effects) when the design allows separating the two, i.e. when the calendar months recur
    across levels. Otherwise seasonality cannot be told apart from the change and all factors are 1.
    The effects' covariance is the Poisson one times the monthly totals' Pearson dispersion
    (quasi-Poisson, at least 1): monthly totals of police data vary more than Poisson.

    Parameters
    ----------
    reference : ndarray, shape (M,)
        Monthly totals.
    month_of_year : ndarray of int, shape (M,)
        1..12.
    level : ndarray of int, shape (M,)
        Level label of each month.
    exposure : ndarray of float, shape (M,)
        Days of each month counted (> 0 for months used).
    """
    ref = np.asarray(reference, dtype=float)
    moy = np.asarray(month_of_year, dtype=np.int64)
    lev = np.asarray(level)
    ex = np.asarray(exposure, dtype=float)
    use = ex > 0
    ones = np.ones(ref.size)
    levels = np.unique(lev[use])
    months = np.unique(moy[use])
    none = SeasonalFit(ones, False, months, np.zeros((0, 0)))
    if levels.size < 1 or months.size < 2 or use.sum() < levels.size + months.size + 1:
        return none
    cols = [(lev[use] == lv).astype(float) for lv in levels]
    cols += [(moy[use] == mo).astype(float) for mo in months[1:]]
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return none
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(ref[use], X, family=sm.families.Poisson(), offset=np.log(ex[use])).fit()
    eff = np.r_[0.0, np.asarray(fit.params)[levels.size:]]
    eff -= eff.mean()
    table = dict(zip(months.tolist(), np.exp(eff).tolist()))
    df_resid = float(fit.df_resid)
    scale = max(1.0, float(fit.pearson_chi2) / df_resid) if df_resid >= 1 else 1.0
    cov = np.asarray(fit.cov_params())[levels.size:, levels.size:] * scale
    return SeasonalFit(
        np.array([table.get(int(m), 1.0) for m in moy]), True, months, cov, scale, df_resid if df_resid >= 1 else None
    )


def seasonal_factors(
    reference: np.ndarray, month_of_year: np.ndarray, level: np.ndarray, exposure: np.ndarray
) -> tuple[np.ndarray, bool]:
    """:func:`fit_seasonal`'s factors and whether the pattern was identified.

    Returns
    -------
    (factors, identified) : (ndarray of float, bool)
        Factor of each month (mean 1 over the calendar months present) and whether the seasonal
        pattern was identified.
    """
    fit = fit_seasonal(reference, month_of_year, level, exposure)
    return fit.factors, fit.identified


def month_lengths(month_numbers: np.ndarray) -> np.ndarray:
    """Days in each month given as ``year * 12 + month - 1``."""
    m = np.asarray(month_numbers, dtype=np.int64)
    return np.array([calendar.monthrange(int(x) // 12, int(x) % 12 + 1)[1] for x in m], dtype=float)
