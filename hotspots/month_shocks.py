"""Month-to-month ups and downs shared by a whole study area (weather, holidays, events).

The change model (:mod:`hotspots.dispersion`) gives each place its own month-to-month variation
(``kappa``, measured against the rest of the study area, so a month that is busy everywhere is
not counted as any place's own) and its own between-period variation (``tau2``). Neither covers a
month that is busy or quiet **everywhere at once**. Such a shock cancels when the hotspots are
compared with elsewhere (both have it), but not in the two absolute pooled rows ("all hotspot
areas", "elsewhere"): their totals of thousands of incidents have a small Poisson variance, and a
few shared shocks move them well beyond it.

On the real police.uk 2025 files the shocks are large: after the national month-of-year pattern,
a force's monthly ASB total varies by a median 6.7 % (10th–90th percentile 3.9–13 %, 37 forces)
beyond its Poisson noise, against the 1–2 % Poisson noise of a year's total. With the months of
each force's own 2025 files shuffled between "before" and "after", "elsewhere" was called a
significant change in 32 % of draws before this term (docs/calibration.md).

The model
---------
The study area's monthly totals ``T[m]`` have expected values ``mu[m]`` (a level per period and
year, times the month's days and its seasonal factor when the season is identified:
:func:`hotspots.change_model.seasonal_levels`, :func:`hotspots.dispersion.fit_seasonal`) and
variance ``phi[m] mu[m] + s2 mu[m]^2``: ``phi[m]`` the places' own month-to-month variation
summed (``1 + kappa sum_u mu[u, m]^2 / mu[m]``) and ``s2`` the variance of a shared shock on the
log scale. ``s2`` is found much as places' tau2 is: the generalised Pearson statistic
``Q(s) = sum (T - mu)^2 / (phi mu + s mu^2)`` is about ``chi2(n - p)`` at the true value (``n``
months, ``p`` fitted levels and seasonal effects), so ``Q(s2) = n - p`` is the point estimate
(Paule & Mandel 1982; 0 when ``Q(0) <= n - p``) and ``P(chi2(n - p) >= Q(s))`` its confidence
distribution (the Q-profile of Viechtbauer 2007, Statistics in Medicine 26:37, as
:func:`hotspots.dispersion.tau2_confidence_draws` has for places): :attr:`MonthShocks.draws`,
equally likely values the pooled rows' tests average over, so that an estimate from a dozen
months is not taken as known.

A pooled row's log rate ratio then has the extra variance ``s2 * c`` with
``c = sum_A mu^2 / (sum_A mu)^2 + sum_B mu^2 / (sum_B mu)^2`` (:meth:`MonthShocks.log_ratio_share`;
``1/12 + 1/12`` for two whole years).

When the season cannot be told apart from the change (one year split in halves), the months are
fitted by a level per period and one annual harmonic (a sine and a cosine of the calendar month):
a level per period alone would count the season inside each half as shocks (a 20 % "shock"
on the real files, against 8 % with the harmonic: median of 37 forces' 2025 ASB). Where the
season departs from a smooth curve, that departure still counts, so the estimate errs large. With
too few months for that (fewer than :data:`MIN_SHOCK_DF` degrees of freedom left), a level per
period alone, and the season counts as shocks; with fewer still (a few months of data, or one
month against one), the data say nothing about the shocks' size, and leaving them out made the two
absolute rows too sure (three months of Lincolnshire 2025, July against September: "all hotspot
areas 0.85, p = 0.025, significant fall" beside a note that the variation could not be
estimated). The shocks are then taken as the real files show them (:data:`ASSUMED_SHOCK_SD`):
equally likely values spanning the 37 forces' range, which the rows average over as they do
over an estimate's (:func:`assumed_month_shocks`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .change_model import AFTER, BEFORE, MonthlyPanel, seasonal_levels, squared_shares
from .dispersion import fit_seasonal

__all__ = [
    "MonthShocks", "estimate_month_shocks", "panel_month_shocks", "assumed_month_shocks", "SHOCK_DRAWS", "MIN_SHOCK_DF",
    "SEASON_MODELS", "ASSUMED_SHOCK_SD",
]

#: Equally likely values of the shock variance the pooled tests average over.
SHOCK_DRAWS = 32
#: How :func:`panel_month_shocks` fits the season, the first the data allow with at least
#: :data:`MIN_SHOCK_DF` degrees of freedom left.
SEASON_MODELS = ("month by month", "one harmonic", "none")
#: Fewer residual degrees of freedom than this (months less fitted parameters) say too little
#: about shared shocks: none is estimated (e.g. a few months of data).
MIN_SHOCK_DF = 3
#: The shared shocks' log-scale standard deviation when the data cannot estimate it: the 10th
#: percentile, median and 90th percentile over 37 forces' 2025 police.uk ASB of the monthly
#: totals' variation beyond Poisson noise and the national month-of-year pattern (module docs).
#: Its equally likely values are those of a lognormal through the median and the two percentiles'
#: mean spread (:func:`assumed_month_shocks`).
ASSUMED_SHOCK_SD = (0.039, 0.067, 0.13)


@dataclass(frozen=True)
class MonthShocks:
    """The shared month-to-month variance of a study area's monthly totals.

    Attributes
    ----------
    variance : float
        ``s2``: variance of a month's shared shock on the log scale (0.0045 is a 6.7 % standard
        deviation). Point estimate (Paule–Mandel).
    draws : tuple of float
        Equally likely values of ``s2`` (its confidence distribution's quantiles, ascending);
        empty when not estimated.
    months : int
        Monthly totals the estimate rests on.
    df : int
        Their residual degrees of freedom (months less fitted levels and seasonal effects).
    season : str
        How the season was fitted (:data:`SEASON_MODELS`): ``"month by month"`` (month-of-year
        factors), ``"one harmonic"`` (the data hold no other year; where the season departs from a
        smooth curve that counts as shocks: the estimate errs large) or ``"none"`` (too few months
        even for that: the season inside each period counts as shocks).
    weights_after, weights_before : ndarray
        Expected totals ``mu`` of the after and before months (for :meth:`log_ratio_share`).
    """

    variance: float
    draws: tuple[float, ...]
    months: int
    df: int
    season: str
    weights_after: np.ndarray
    weights_before: np.ndarray
    assumed: bool = False

    @property
    def seasonal(self) -> bool:
        """The season was fitted month by month."""
        return self.season == SEASON_MODELS[0]

    @property
    def estimated(self) -> bool:
        return len(self.draws) > 0

    def log_ratio_share(self) -> float:
        """``c``: the variance a unit of ``s2`` adds to a log after / before ratio of totals."""
        c = 0.0
        for w in (self.weights_after, self.weights_before):
            tot = float(np.sum(w))
            if tot > 0:
                c += float(np.sum(np.square(w))) / tot**2
        return c

    def to_dict(self) -> dict[str, object]:
        return {
            "variance": self.variance, "sd": float(np.sqrt(self.variance)), "draws": list(self.draws),
            "months": self.months, "df": self.df, "season": self.season, "seasonal": self.seasonal,
            "log_ratio_variance": self.variance * self.log_ratio_share(), "assumed": self.assumed,
        }

    def describe(self) -> str:
        """Plain words for the pooled summary's notes."""
        if not self.estimated:
            return ""
        if self.assumed:
            lo, mid, hi = ASSUMED_SHOCK_SD
            return (
                "month-to-month variation shared by the whole study area (weather, holidays, events) could not be estimated "
                f"from {self.months} monthly total{'s' if self.months != 1 else ''} (too few beyond the periods' levels): it "
                f"is taken as police.uk forces' 2025 ASB shows it, {mid:.1%} a month ({lo:.1%}–{hi:.0%} from the 10th to the "
                "90th percentile of 37 forces); \"all hotspot areas\" and \"elsewhere\" include it and average over that "
                "range, \"hotspots vs elsewhere\" does not (it cancels there)"
            )
        how = {
            SEASON_MODELS[0]: "beyond their period levels and season",
            SEASON_MODELS[1]: "beyond their period levels and a smooth annual season (one harmonic: the data hold no "
            "other year to fit the season month by month, so where it departs from a smooth curve that counts here too)",
        }.get(
            self.season,
            "beyond their period levels (too few months to fit a season: the season inside each period counts here "
            "too, so the two rows lean towards \"no significant change\")",
        )
        size = (
            f"its monthly totals vary by {np.sqrt(self.variance):.1%} (log scale, a month's shared shock) {how}"
            if self.variance > 0
            else f"its monthly totals vary no more than their places' own variation explains, {how}"
        )
        return (
            f"month-to-month variation shared by the whole study area (weather, holidays, events): {size}, estimated "
            f"from {self.months} monthly totals ({self.df} degrees of freedom); \"all hotspot areas\" and \"elsewhere\" "
            "include it and average over how large it could be, \"hotspots vs elsewhere\" does not (it cancels there)"
        )


def estimate_month_shocks(
    totals: np.ndarray, expected: np.ndarray, phi: np.ndarray, df: int, *, m: int = SHOCK_DRAWS
) -> tuple[float, tuple[float, ...]]:
    """Paule–Mandel estimate of the shared shock variance and its confidence distribution.

    Parameters
    ----------
    totals : ndarray, shape (M,)
        Monthly totals ``T``.
    expected : ndarray, shape (M,)
        Their fitted expected values ``mu`` (> 0).
    phi : ndarray or float
        The totals' own dispersion index (places' month-to-month variation summed; 1: Poisson).
    df : int
        Residual degrees of freedom, ``M`` less the fitted parameters.
    m : int
        Number of equally likely values returned.

    Returns
    -------
    (s2, draws) : (float, tuple of float)
        ``s2`` solves ``Q(s2) = df`` with ``Q(s) = sum (T - mu)^2 / (phi mu + s mu^2)`` (0 when
        ``Q(0) <= df``); ``draws`` are ``Q``'s profile quantiles ``H^-1((j + 1/2) / m)`` with
        ``H(s) = P(chi2(df) >= Q(s))`` (0 where the quantile is at or below ``H(0)``). Empty draws
        and 0 when ``df < MIN_SHOCK_DF``.
    """
    T = np.asarray(totals, dtype=float)
    mu = np.asarray(expected, dtype=float)
    ph = np.broadcast_to(np.asarray(phi, dtype=float), mu.shape)
    ok = np.isfinite(T) & np.isfinite(mu) & (mu > 0)
    T, mu, ph = T[ok], mu[ok], ph[ok]
    if df < MIN_SHOCK_DF or T.size < df:
        return 0.0, ()
    r2 = np.square(T - mu)

    def q(s: float) -> float:
        return float((r2 / (ph * mu + s * mu * mu)).sum())

    def solve(target: float) -> float:
        if q(0.0) <= target:
            return 0.0
        hi = 1.0
        while q(hi) > target:
            hi *= 4.0
            if hi > 1e6:
                return hi
        return float(optimize.brentq(lambda s: q(s) - target, 0.0, hi, xtol=1e-12, rtol=1e-10))

    s2 = solve(float(df))
    targets = stats.chi2.isf((np.arange(m) + 0.5) / m, df)
    draws = tuple(sorted(solve(float(t)) for t in targets))
    return s2, draws


def assumed_month_shocks(months: int, weights_after: np.ndarray, weights_before: np.ndarray,
                         *, m: int = SHOCK_DRAWS) -> MonthShocks:
    """The shared shocks taken from the real files (:data:`ASSUMED_SHOCK_SD`) for data too short
    to estimate them: ``m`` equally likely values of ``s2``, the squares of a lognormal standard
    deviation's quantiles ``(j + 1/2) / m`` (median 6.7 %, log-scale spread fitted to the 10th and
    90th percentiles), the median's square as the point value. ``months``: the monthly totals
    the data hold; ``weights_*``: their expected totals (:meth:`MonthShocks.log_ratio_share`).

    Examples
    --------
    >>> s = assumed_month_shocks(2, np.array([100.0]), np.array([100.0]))
    >>> round(float(np.sqrt(s.variance)), 3), s.assumed, round(s.log_ratio_share(), 2)
    (0.067, True, 2.0)
    """
    lo, mid, hi = ASSUMED_SHOCK_SD
    spread = (np.log(hi) - np.log(lo)) / (2 * stats.norm.isf(0.1))
    sd = np.exp(np.log(mid) + spread * stats.norm.ppf((np.arange(m) + 0.5) / m))
    return MonthShocks(mid**2, tuple(float(v) for v in np.square(sd)), int(months), 0, SEASON_MODELS[2],
                       np.asarray(weights_after, dtype=float), np.asarray(weights_before, dtype=float), assumed=True)


def _level_fit(T: np.ndarray, weight: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Expected totals ``weight * lambda[level]``, each level's ``lambda`` its Poisson maximum
    likelihood given the weights (days, times seasonal factors when fitted): the GLM's own."""
    mu = np.zeros(T.size)
    for lv in np.unique(level):
        sel = level == lv
        mu[sel] = weight[sel] * T[sel].sum() / max(float(weight[sel].sum()), 1e-12)
    return mu


def _harmonic_fit(T: np.ndarray, month: np.ndarray, level: np.ndarray, exposure: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Expected monthly totals from a level per ``level`` label and one annual harmonic (a sine
    and a cosine of the calendar month: Poisson GLM, statsmodels), and the number of parameters;
    None when the design cannot be fitted (too few months)."""
    angle = 2 * np.pi * (np.asarray(month) % 12) / 12.0
    levels = np.unique(level)
    X = np.column_stack([(level == lv).astype(float) for lv in levels] + [np.sin(angle), np.cos(angle)])
    if T.size <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(T, X, family=sm.families.Poisson(), offset=np.log(exposure)).fit()
        except (ValueError, np.linalg.LinAlgError):
            return None
    mu = np.asarray(fit.fittedvalues, dtype=float)
    return (mu, X.shape[1]) if np.isfinite(mu).all() else None


def panel_month_shocks(
    panel: MonthlyPanel, kappa: float, groups: np.ndarray | None = None, group_kappa: float = 0.0
) -> MonthShocks | None:
    """:func:`estimate_month_shocks` on a cells' panel (its study area's monthly totals).

    The expected totals follow :func:`hotspots.change_model.seasonal_levels` (a level per period
    and 12-month block) and the seasonal factors fitted to the same totals when the months recur
    across the levels, else one annual harmonic (:func:`_harmonic_fit`), else (too few months) a
    level alone (:data:`SEASON_MODELS`). ``phi`` sums the cells' own month-to-month variation
    (``kappa``, NB2) at their shares of each month's expected total. When the panel holds too few
    months to estimate them (:data:`MIN_SHOCK_DF`), their size is taken from the real files
    (:func:`assumed_month_shocks`); None only without two months of exposure.

    ``groups`` (one id per unit, 0: none) sums units into larger ones whose month-to-month
    variation is ``group_kappa``: a hotspot area's cells rise and fall together (one place's busy
    month), so their shared variation is the area's, not the whole study area's. Counted cell by
    cell it would be taken for shared shocks (simulated hotspots varying 15 % a month on their own,
    no shared shock: a mean ``s2`` of 0.0008, a 2.8 % "shock", against 0.00025 with the areas as
    units, most of it the estimate's floor at 0; 12 data sets).
    """
    counts = np.asarray(panel.counts, dtype=float)
    T = counts.sum(axis=0)
    ex = np.asarray(panel.exposure, dtype=float)
    use = ex > 0
    if use.sum() < 2:
        return None
    month, label, T, ex, counts = panel.month[use], panel.label[use], T[use], ex[use], counts[:, use]
    level = seasonal_levels(month, label)
    moy = month % 12 + 1
    season = fit_seasonal(T, moy, level, ex)
    n_levels = np.unique(level).size
    if season.identified:
        mu = _level_fit(T, ex * season.factors, level)
        n_params, model = n_levels + season.months.size - 1, SEASON_MODELS[0]
    else:
        fitted = _harmonic_fit(T, month, level, ex)
        if fitted is not None and T.size - fitted[1] >= MIN_SHOCK_DF:
            (mu, n_params), model = fitted, SEASON_MODELS[1]
        else:  # too few months for a season: a level a period (the season counts as shocks)
            mu, n_params, model = _level_fit(T, ex, level), n_levels, SEASON_MODELS[2]
    df = int(T.size - n_params)
    if not (mu > 0).any():
        return None
    if df < MIN_SHOCK_DF:  # too few months to say how large the shocks are: the real files' range
        mu = _level_fit(T, ex, level)
        return assumed_month_shocks(int(T.size), mu[label == AFTER], mu[label == BEFORE])
    tot = counts.sum(axis=1)
    if groups is None:
        k_share2 = kappa * squared_shares(tot)
    else:
        g = np.asarray(groups)
        alone = g <= 0
        grouped = np.bincount(np.unique(g[~alone], return_inverse=True)[1], weights=tot[~alone])
        whole = float(tot.sum())
        k_share2 = kappa * squared_shares(tot[alone], whole) + group_kappa * squared_shares(grouped, whole)
    phi = 1.0 + mu * k_share2
    s2, draws = estimate_month_shocks(T, mu, phi, df)
    return MonthShocks(s2, draws, int(T.size), df, model, mu[label == AFTER].copy(), mu[label == BEFORE].copy())
