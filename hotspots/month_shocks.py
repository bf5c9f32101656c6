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

Each place's own test
---------------------
A hotspot area's or cell's change is judged against no change, so the shared shock moves it too,
while its own ``kappa`` and ``tau2`` leave it out (:func:`with_unit_shocks`): it adds ``s2 c_u``
to the unit's variance, ``c_u`` from the unit's monthly weights (:func:`unit_shock_share`, about
``1/6 + 1/6`` for half-years) and ``s2`` the mean of the estimate's equally likely values.

A group's share
---------------
Shocks shared by a group of places (the hotspot areas) but not by the rest of the study area
cancel in neither: :func:`share_shocks` estimates them from the group's monthly share (the same
Q-profile on a quasi-binomial, :func:`estimate_share_shocks`), for "hotspots vs elsewhere". Its
season is fitted month by month when the rows are adjusted for season; otherwise not at all: the
rate ratios then include the share's season, and one harmonic (as above) absorbed most of what a
random relabelling of the months shows (Nottinghamshire 2025: p = 0.022 with it, 0.105 without,
against 0.087 from all 924 splits of its twelve months into two sixes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

from .change_model import AFTER, BEFORE, ChangeModel, MonthlyPanel, seasonal_levels, squared_shares
from .dispersion import fit_seasonal

__all__ = [
    "MonthShocks", "estimate_month_shocks", "panel_month_shocks", "assumed_month_shocks", "SHOCK_DRAWS", "MIN_SHOCK_DF",
    "SEASON_MODELS", "ASSUMED_SHOCK_SD", "estimate_share_shocks", "share_shocks",
    "unit_shock_share", "with_unit_shocks",
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


#: The pooled summary's note when the study area's monthly totals are too few to estimate the
#: month-to-month shocks they share (:mod:`hotspots.month_shocks`).
SHOCKS_NOT_ESTIMATED_NOTE = (
    "month-to-month variation shared by the whole study area (weather, holidays, events) could not be estimated: the "
    "data hold too few months beyond the fitted levels and season; \"all hotspot areas\" and \"elsewhere\" leave it "
    "out and may be too sure of a change (\"hotspots vs elsewhere\", where it cancels, is not affected)"
)
#: The pooled summary's note when the hotspot areas' monthly share of the study area's incidents
#: holds too few months to estimate its shocks (:func:`group_shocks`).
SHARE_NOT_ESTIMATED_NOTE = (
    "month-to-month variation of the hotspot areas' share of the study area's incidents could not be estimated (too "
    "few months beyond the periods' levels): \"hotspots vs elsewhere\" leaves it out and may be too sure of a change"
)


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
        return _ratio_share(self.weights_after, self.weights_before)

    def to_dict(self) -> dict[str, object]:
        return {
            "variance": self.variance, "sd": float(np.sqrt(self.variance)), "draws": list(self.draws),
            "months": self.months, "df": self.df, "season": self.season, "seasonal": self.seasonal,
            "log_ratio_variance": self.variance * self.log_ratio_share(), "assumed": self.assumed,
        }

    def describe_share(self) -> str:
        """Plain words for a group's share shocks (:func:`hotspots.change_summary.group_shocks`: the hotspot
        areas' share of the study area's incidents) in the pooled summary's notes."""
        how = "beyond their period levels and season" if self.seasonal else (
            "beyond their period levels (the share's season inside each period counts too: the rate ratios include it)"
        )
        size = (f"varies by {np.sqrt(self.variance):.1%} a month (log-odds) {how}" if self.variance > 0
                else f"varies no more than the places' own variation explains, {how}")
        return (
            f"the hotspot areas' share of the study area's incidents {size}, estimated from {self.months} monthly totals "
            f"({self.df} degrees of freedom); such shocks, shared by the hotspot areas but not by elsewhere, do not cancel "
            "in \"hotspots vs elsewhere\": it includes them and averages over how large they could be"
        )

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
                "range, each hotspot area's and cell's own test includes it too; \"hotspots vs elsewhere\" does not "
                "(it cancels there)"
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
            "include it and average over how large it could be, each hotspot area's and cell's own test includes it too; "
            "\"hotspots vs elsewhere\" does not (it cancels there)"
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
    return _q_profile(np.square(T - mu), ph * mu, mu * mu, df, m)


def _q_profile(r2: np.ndarray, base: np.ndarray, scale: np.ndarray, df: int, m: int) -> tuple[float, tuple[float, ...]]:
    """Paule–Mandel solution and Q-profile draws of ``Q(s) = sum r2 / (base + s scale)`` against
    ``chi2(df)`` (:func:`estimate_month_shocks`, :func:`estimate_share_shocks`)."""
    if df < MIN_SHOCK_DF or r2.size < df:
        return 0.0, ()

    def q(s: float) -> float:
        return float((r2 / (base + s * scale)).sum())

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
    panel: MonthlyPanel, kappa: float, groups: np.ndarray | None = None, group_kappa: float = 0.0, *, whole: bool = False
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

    ``whole``: the totals are the study area's (``panel.reference``), not the units' sum (hotspot
    areas, a part of it); the units' shares of ``phi`` are then of the study area's incidents.
    """
    counts = np.asarray(panel.counts, dtype=float)
    T = np.asarray(panel.reference, dtype=float) if whole else counts.sum(axis=0)
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
        k_share2 = kappa * squared_shares(tot, float(T.sum()) if whole else None)
    else:
        g = np.asarray(groups)
        alone = g <= 0
        grouped = np.bincount(np.unique(g[~alone], return_inverse=True)[1], weights=tot[~alone])
        whole = float(tot.sum())
        k_share2 = kappa * squared_shares(tot[alone], whole) + group_kappa * squared_shares(grouped, whole)
    phi = 1.0 + mu * k_share2
    s2, draws = estimate_month_shocks(T, mu, phi, df)
    return MonthShocks(s2, draws, int(T.size), df, model, mu[label == AFTER].copy(), mu[label == BEFORE].copy())


def unit_shock_share(panel: MonthlyPanel) -> float:
    """``c_u``: the variance one unit of ``s2`` adds to a unit's log after / before rate ratio,
    ``sum_A w^2 / (sum_A w)^2 + sum_B w^2 / (sum_B w)^2`` over the unit's expected monthly counts
    ``w``, which the change model takes in proportion to each month's days counted (the exposure:
    every unit's months weigh alike). Six whole months against six: about ``1/6 + 1/6``.

    Examples
    --------
    >>> from hotspots.change_model import MonthlyPanel
    >>> p = MonthlyPanel(np.zeros((1, 3)), np.arange(3), np.array([BEFORE, AFTER, AFTER]), np.array([30.0, 30.0, 30.0]),
    ...                  np.zeros(3))
    >>> unit_shock_share(p)  # 1 (one month before) + 1/2 (two alike after)
    1.5
    """
    ex, lab = np.asarray(panel.exposure, dtype=float), np.asarray(panel.label)
    return _ratio_share(ex[lab == BEFORE], ex[lab == AFTER])


def _ratio_share(*weights: np.ndarray) -> float:
    """``sum_P (sum w^2) / (sum w)^2`` over each period's monthly weights ``w`` (a period without weight adds 0): the
    variance one unit of a shared shock's ``s2`` adds to a log ratio of the periods' totals."""
    c = 0.0
    for w in weights:
        tot = float(np.sum(w))
        if tot > 0:
            c += float(np.sum(np.square(w))) / tot**2
    return c


def with_unit_shocks(model: ChangeModel, panel: MonthlyPanel, *, whole: bool = False) -> tuple[ChangeModel, MonthShocks | None]:
    """The change model with the study area's shared month shocks in each unit's variance.

    A unit's ``kappa`` is measured against the rest of the study area and its ``tau2`` around the
    units' common change, so a month busy or quiet everywhere at once is in neither; but a unit's
    change is judged against no change, and that shared shock moves it (38 forces' 2025 ASB with any
    six months drawn into "before", 12 draws each: 5.6 % of hotspot areas called changes, 356 of
    the 404 the way "elsewhere" moved, 3.4 % in the quarter of draws where elsewhere moved least
    and 10.1 % where it moved most; with this term 3.0 %: docs/calibration.md). ``shock_variance`` is ``s2 c_u``
    (:func:`panel_month_shocks` on the study area's totals, ``whole`` for units that are part of it;
    ``s2`` the mean of its equally likely values, so that an estimate of 0 from a dozen months is
    not taken as known; ``c_u``: :func:`unit_shock_share`). Unchanged when the panel says nothing
    about shocks.
    """
    shocks = panel_month_shocks(panel, model.dispersion.kappa, whole=whole)
    if shocks is None or not shocks.estimated:
        return model, shocks
    s2 = float(np.mean(shocks.draws))
    return replace(model, shock_variance=s2 * unit_shock_share(panel)), shocks


def estimate_share_shocks(
    group: np.ndarray, rest: np.ndarray, share: np.ndarray, phi_group: np.ndarray | float, phi_rest: np.ndarray | float,
    df: int, *, m: int = SHOCK_DRAWS,
) -> tuple[float, tuple[float, ...]]:
    """Paule–Mandel estimate of the variance of a group's monthly share shocks (log-odds scale).

    A group of places (the hotspot areas) and the rest of the study area have monthly counts
    ``H`` and ``E`` (``n = H + E``); the group's expected share is ``p`` (fitted: a level per
    period, and month-of-year effects when the rows are adjusted for season). Shocks shared by the
    group but not by the rest move its share's log-odds by ``eps`` with variance ``s2``, so
    ``Var(H - n p) = w ((1 - p) phi_H + p phi_E) + s2 w^2`` with ``w = n p (1 - p)``, ``phi_H``
    and ``phi_E`` the two sides' own month-to-month variation (1: Poisson). ``Q(s) = sum (H - n
    p)^2 / (w ((1 - p) phi_H + p phi_E) + s w^2)`` is about ``chi2(df)`` at the true ``s2``:
    estimate and draws as :func:`estimate_month_shocks` (a quasi-binomial dispersion, with the
    shocks as an additive variance so that months of different size weigh right).

    Parameters
    ----------
    group, rest : ndarray, shape (M,)
        Monthly counts of the group and of the rest.
    share : ndarray, shape (M,)
        The group's fitted share of each month (0–1).
    phi_group, phi_rest : ndarray or float
        Each side's dispersion index in each month.
    df : int
        Months less fitted parameters.
    m : int
        Number of equally likely values returned.

    Returns
    -------
    (s2, draws) : (float, tuple of float)
        As :func:`estimate_month_shocks`; 0 and no draws when ``df < MIN_SHOCK_DF``.

    Examples
    --------
    >>> h, e = np.array([50.0, 70.0, 50.0, 70.0]), np.array([50.0, 30.0, 50.0, 30.0])
    >>> s2, draws = estimate_share_shocks(h, e, np.full(4, 0.6), 1.0, 1.0, 3)
    >>> round(s2, 2), len(draws)  # shares 50 % and 70 %: log-odds about +-0.42, well beyond binomial noise
    (0.19, 32)
    """
    H = np.asarray(group, dtype=float)
    n = H + np.asarray(rest, dtype=float)
    p = np.asarray(share, dtype=float)
    ok = np.isfinite(H) & np.isfinite(n) & (n > 0) & (p > 0) & (p < 1)
    ph_h = np.broadcast_to(np.asarray(phi_group, dtype=float), H.shape)[ok]
    ph_e = np.broadcast_to(np.asarray(phi_rest, dtype=float), H.shape)[ok]
    H, n, p = H[ok], n[ok], p[ok]
    w = n * p * (1 - p)
    return _q_profile(np.square(H - n * p), w * ((1 - p) * ph_h + p * ph_e), w * w, df, m)


def _share_fit(H: np.ndarray, n: np.ndarray, level: np.ndarray, moy: np.ndarray | None) -> tuple[np.ndarray, int] | None:
    """A group's fitted monthly share: each level's pooled share (its binomial maximum likelihood)
    or, with ``moy`` (month of year), a logistic GLM of a level per period plus month-of-year
    effects (statsmodels); and the number of parameters. None when the GLM cannot be fitted."""
    levels = np.unique(level)
    if moy is None:
        p = np.zeros(H.size)
        for lv in levels:
            sel = level == lv
            p[sel] = H[sel].sum() / max(float(n[sel].sum()), 1e-12)
        return p, levels.size
    cols = [(level == lv).astype(float) for lv in levels] + [(moy == k).astype(float) for k in np.unique(moy)[1:]]
    X = np.column_stack(cols)
    if H.size <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        return None
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(np.column_stack([H, n - H]), X, family=sm.families.Binomial()).fit()
        except (ValueError, np.linalg.LinAlgError):
            return None
    p = np.asarray(fit.fittedvalues, dtype=float)
    return (p, X.shape[1]) if np.isfinite(p).all() else None


def share_shocks(
    group: np.ndarray, rest: np.ndarray, month: np.ndarray, label: np.ndarray, *,
    k_share2_group: float, k_share2_rest: float, seasonal: bool,
) -> MonthShocks | None:
    """Month-to-month shocks of a group's share of the study area (e.g. the hotspot areas' share),
    which the study area's shared shocks do not hold and which do not cancel in the group against
    the rest ("hotspots vs elsewhere"): :func:`estimate_share_shocks` on monthly counts.

    The share is fitted by a level per period and 12-month block
    (:func:`hotspots.change_model.seasonal_levels`) and, when ``seasonal`` and the calendar months
    recur across the levels (the rows are then adjusted for the season, or hold the same calendar
    months), by month-of-year effects too. Without them (one year in halves), the season of the
    share inside each period counts as shocks: the rate ratios include the share's seasonal
    difference then, and a comparison of other months would show it as change.

    Parameters
    ----------
    group, rest : ndarray, shape (M,)
        Monthly counts of the group and of the rest (the months with days counted).
    month, label : ndarray of int, shape (M,)
        Each month's ``year * 12 + month - 1`` and its slot label (:data:`BEFORE`, :data:`AFTER`, ...).
    k_share2_group, k_share2_rest : float
        Each side's ``kappa * sum_u s_u^2`` over its units' shares ``s_u``: its dispersion index in
        a month of expected count ``mu`` is ``1 + mu * k_share2``.
    seasonal : bool

    Returns
    -------
    MonthShocks or None
        ``variance`` on the log-odds scale of a month's share; the weights are the months' counts
        (:meth:`MonthShocks.log_ratio_share`: a log ratio of the two sides' rate ratios takes
        ``s2 * log_ratio_share()``); None when fewer than :data:`MIN_SHOCK_DF` degrees of freedom
        are left (a few months) or a side is empty.
    """
    H = np.asarray(group, dtype=float)
    E = np.asarray(rest, dtype=float)
    n = H + E
    if H.sum() <= 0 or E.sum() <= 0:
        return None
    level = seasonal_levels(np.asarray(month), np.asarray(label))
    fitted, model = None, SEASON_MODELS[2]
    if seasonal:
        fitted, model = _share_fit(H, n, level, np.asarray(month) % 12), SEASON_MODELS[0]
    if fitted is None or H.size - fitted[1] < MIN_SHOCK_DF:
        fitted, model = _share_fit(H, n, level, None), SEASON_MODELS[2]
    p, n_params = fitted
    df = int(H.size - n_params)
    if df < MIN_SHOCK_DF:
        return None
    phi_h = 1.0 + n * p * k_share2_group
    phi_e = 1.0 + n * (1 - p) * k_share2_rest
    s2, draws = estimate_share_shocks(H, E, p, phi_h, phi_e, df)
    lab = np.asarray(label)
    return MonthShocks(s2, draws, int(H.size), df, model, n[lab == AFTER].copy(), n[lab == BEFORE].copy())
