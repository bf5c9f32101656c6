"""Monthly panels and the overdispersed before/after model used by the change verdicts.

:func:`monthly_panel` counts incidents per unit (cell or area) and per *slot*: a calendar month
within one period (before, after, the placebo period(s) before "before", or outside them).
:func:`fit_change_model` estimates the seasonal pattern and the extra variation
(:mod:`hotspots.dispersion`) from it, and :func:`unit_change_tests` gives each unit its rate
ratio, interval, p-value and minimum detectable effect.

Rate ratios are seasonally adjusted: a period's expected incidents per unit rate are its
exposure (days counted) times the month-of-year factors estimated from the study area's monthly
totals (:func:`hotspots.dispersion.fit_seasonal`). When both periods cover the same calendar
months the factors cancel; when they do not and the data hold no other year to separate the two,
the factors are 1 and a note says so. The fit's levels are each period and other 12-month block
(:func:`seasonal_levels`). The factors' uncertainty (``ChangeModel.seasonal_variance``: the fit's,
plus the units' ``tau2`` in the totals it rests on) is a shift shared by every unit's rate ratio.

Minimum detectable effect: with ``s`` the standard error of the log rate ratio expected under no
change (``phi (1/B + 1/E_A) + tau2`` with ``E_A`` the after count expected from the before
count), the smallest fall detectable at two-sided level ``alpha`` with power ``1 - beta`` is
``1 - exp(-(z_{1-alpha/2} + z_{1-beta}) s)`` (REFERENCE, "Counts that are not Poisson"), with
the t distribution's quantiles where the test is judged on one (an estimated ``tau2``), and the
mixture's where it averages over ``tau2``'s values, so that the fall shown beside "no significant
change" is one the test itself would find.

Placebo-adjusted changes (:func:`placebo_adjusted_changes`): with a placebo year of the same
calendar months as "before", and units not chosen from it alone, each unit's change can be judged
after adjusting for its own placebo change (regression to the mean; a longer baseline); ``s`` is
then the adjusted change's standard error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .change_reference import (  # (re-exported: the tests' reference distributions)
    POWER,
    effective_df,
    judged_p_values,
    minimum_detectable_fall,
    mixture_half_width,
    mixture_minimum_detectable_fall,
    unit_minimum_detectable_fall,
)
from .changed_unit import single_changed_unit
from .count_tests import overdispersed_rate_interval, overdispersed_rate_test
from .detectable_fall import exact_minimum_detectable_fall
from .dispersion import (
    FINER_TAU2_CHECK_ALPHA,
    FINER_TAU2_UPPER_ALPHA,
    MIN_COUNT_FOR_TAU2,
    MIN_UNITS_FOR_TAU2,
    TAU2_PRETEST_ALPHA,
    TAU2_SOURCES,
    TWO_GROUPS_SOURCE,
    Overdispersion,
    SeasonalFit,
    consecutive_change_cov,
    estimate_kappa,
    estimate_tau2,
    estimate_tau2_robust,
    fit_seasonal,
    heterogeneity_p,
    month_lengths,
    tau2_basis,
    tau2_confidence_draws,
    tau2_too_large_p,
    tau2_too_small_p,
    tau2_total_variance,
)
from .grid import touching_groups  # (re-exported: a grid helper the tau2 df uses)

__all__ = [
    "MonthlyPanel",
    "ChangeModel",
    "monthly_panel",
    "seasonal_levels",
    "panel_season",
    "squared_shares",
    "fit_change_model",
    "unit_change_tests",
    "minimum_detectable_fall",
    "touching_groups",
    "effective_df",
    "mixture_half_width",
    "mixture_minimum_detectable_fall",
    "scatter_beyond_model_p",
    "placebo_adjusted_changes",
    "POWER",
    "COMPARISON_TAU2_NOTE",
    "SEASON_NOTE_START",
    "OTHER",
    "BEFORE",
    "AFTER",
    "PLACEBO",
    "PLACEBO_BEFORE",
]

#: How the note on a season the data cannot separate from the change starts (the summary's caveat keys on it).
SEASON_NOTE_START = "seasonality could not be separated"
#: The caveat on verdicts whose ``tau2`` came from the compared periods themselves (no placebo
#: period): a model note, carried into the pooled summary's notes.
COMPARISON_TAU2_NOTE = (
    "how much places vary between periods (tau2) was estimated from the compared periods themselves (no "
    "placebo period before \"before\" was used): places that really changed count "
    "as variation there, so verdicts lean towards \"no significant change\"; with the months before "
    "\"before\" in the data it is estimated where nothing was done"
)
#: Slot labels (PLACEBO_BEFORE: the before period a year earlier, when PLACEBO is the after
#: period a year earlier: :func:`hotspots.period_split.split_periods`).
OTHER, BEFORE, AFTER, PLACEBO, PLACEBO_BEFORE = 0, 1, 2, 3, 4


@dataclass(frozen=True, eq=False)
class MonthlyPanel:
    """Counts per unit and slot (a calendar month within one period).

    Attributes
    ----------
    counts : ndarray of int, shape (units, slots)
    month : ndarray of int, shape (slots,)
        Calendar month of each slot, ``year * 12 + month - 1``.
    label : ndarray of int, shape (slots,)
        :data:`BEFORE`, :data:`AFTER`, :data:`PLACEBO` or :data:`OTHER`.
    exposure : ndarray of float, shape (slots,)
        Days of the slot counted.
    reference : ndarray of float, shape (slots,)
        Incidents of the whole study area in the slot.
    """

    counts: np.ndarray = field(repr=False)
    month: np.ndarray = field(repr=False)
    label: np.ndarray = field(repr=False)
    exposure: np.ndarray = field(repr=False)
    reference: np.ndarray = field(repr=False)

    def totals(self, label: int) -> np.ndarray:
        """Each unit's count over the slots with this label."""
        return self.counts[:, self.label == label].sum(axis=1)

    @property
    def has_placebo(self) -> bool:
        return bool((self.label == PLACEBO).any())


def _month_start(m: int) -> dt.date:
    return dt.date(m // 12, m % 12 + 1, 1)


def _days_in(period_start: dt.date, period_end: dt.date, m: int, month_only: bool) -> float:
    first = _month_start(m)
    last = dt.date(first.year + (first.month // 12), first.month % 12 + 1, 1) - dt.timedelta(days=1)
    if month_only:
        return float((last - first).days + 1) if period_start <= first <= period_end else 0.0
    lo, hi = max(first, period_start), min(last, period_end)
    return float((hi - lo).days + 1) if hi >= lo else 0.0


def monthly_panel(
    unit: np.ndarray,
    n_units: int,
    month: np.ndarray,
    in_area: np.ndarray,
    slot_label: np.ndarray,
    periods: dict[int, tuple[dt.date, dt.date]],
    month_only: bool,
    months_filter: set[int] | None = None,
    missing: tuple[int, ...] = (),
) -> MonthlyPanel:
    """Count incidents per unit and slot.

    Parameters
    ----------
    unit : ndarray of int, shape (n,)
        Unit of each incident (-1: in no unit). For areas an incident may be listed once per
        area it lies in: pass the repeated pairs (``unit``, ``month``, ...) with ``in_area``
        and ``slot_label`` repeated too.
    n_units : int
    month : ndarray of int, shape (n,)
        Calendar month of each incident (``year * 12 + month - 1``; -1 undated).
    in_area : ndarray of bool, shape (n,)
        Incident counts in the study area's totals (the reference).
    slot_label : ndarray of int, shape (n,)
        Period of each incident (:data:`BEFORE`, :data:`AFTER`, :data:`PLACEBO`, else :data:`OTHER`).
    periods : dict
        ``{label: (first day, last day)}`` for BEFORE, AFTER and (optionally) PLACEBO.
    month_only : bool
        Incidents are dated by month (a month is in a period when its first day is).
    months_filter : set of int, optional
        Calendar months (1–12) kept in the periods (same-months comparison).
    missing : tuple of int
        Months the data do not cover (``year * 12 + month - 1``, :mod:`hotspots.coverage`): no
        slot, so they are neither a month of zero incidents nor exposure.
    """
    dated = month >= 0
    if not dated.any() and not periods:
        raise ValueError("no dated incidents and no periods: nothing to count")
    # the months spanned by the periods and the dated incidents (none dated: a hotspot area
    # without incidents, e.g. a cold area, still gets its zero counts per slot)
    firsts = [s.year * 12 + s.month - 1 for s, _ in periods.values()]
    lasts = [e.year * 12 + e.month - 1 for _, e in periods.values()]
    if dated.any():
        firsts.append(int(month[dated].min()))
        lasts.append(int(month[dated].max()))
    lo, hi = min(firsts), max(lasts)
    slots: list[tuple[int, int, float]] = []
    gone = set(missing)
    for m in range(lo, hi + 1):
        if m in gone:
            continue
        covered = 0.0
        moy = m % 12 + 1
        for lab, (s, e) in periods.items():
            d = _days_in(s, e, m, month_only)
            if d > 0 and (months_filter is None or moy in months_filter or lab in (PLACEBO, PLACEBO_BEFORE)):
                slots.append((m, lab, d))
            covered += d
        if covered == 0:
            slots.append((m, OTHER, float(month_lengths(np.array([m]))[0])))
    s_month = np.array([s[0] for s in slots], dtype=np.int64)
    s_label = np.array([s[1] for s in slots], dtype=np.int64)
    s_exp = np.array([s[2] for s in slots], dtype=float)
    # slot of each (calendar month, label) pair, looked up for every incident at once
    n_lab = int(max(max(periods), OTHER)) + 1
    table = np.full((hi - lo + 1) * n_lab, -1, dtype=np.int64)
    table[(s_month - lo) * n_lab + s_label] = np.arange(s_month.size)
    slot = np.full(month.shape, -1, dtype=np.int64)
    lab_inc = np.where(np.isin(slot_label, list(periods)), slot_label, OTHER)
    slot[dated] = table[(month[dated] - lo) * n_lab + lab_inc[dated]]
    S = len(slots)
    ok = slot >= 0
    ref = np.bincount(slot[ok & in_area], minlength=S).astype(float)
    use = ok & (unit >= 0)
    Y = np.bincount(unit[use] * S + slot[use], minlength=n_units * S).reshape(n_units, S)
    return MonthlyPanel(Y, s_month, s_label, s_exp, ref)


@dataclass(frozen=True)
class ChangeModel:
    """Seasonal weights and extra variation for one family of units.

    Attributes
    ----------
    dispersion : Overdispersion
    w_before, w_after : float
        Seasonally weighted exposure of the two periods (days x seasonal factor).
    seasonal_identified : bool
    months_before, months_after : int
        Calendar months in each period.
    notes : tuple of str
    w_placebo : float
        Seasonally weighted exposure of the placebo period (0: none of the same calendar months
        as "before").
    placebo_adjusted : bool
        Each unit's change is judged after adjusting for its own change from the placebo period
        to "before" (:func:`unit_change_tests`; ``placebo_baseline`` of :func:`fit_change_model`).
    seasonal_variance : float
        Variance (log scale) of ``w_after / w_before`` when the seasonal factors were estimated
        (:meth:`hotspots.dispersion.SeasonalFit.log_ratio_variance`; 0 when they were not): a
        shift shared by every unit's rate ratio, added to each unit's variance and once to a
        pooled one (it cancels between two scopes of the same study area).
    seasonal_df : float or None
        Degrees of freedom of that variance (:attr:`hotspots.dispersion.SeasonalFit.df`), counted
        in the t references like ``tau2``'s (:func:`effective_df`); None when not estimated.
    shock_variance : float
        Variance (log scale) the study area's shared month-to-month shocks add to every unit's log
        rate ratio (:func:`hotspots.month_shocks.with_unit_shocks`): like ``seasonal_variance``, a
        shift all units share, which their own ``kappa`` and ``tau2`` (measured against the rest of
        the study area and around the units' common change) leave out. 0: none estimated.
    """

    dispersion: Overdispersion
    w_before: float
    w_after: float
    seasonal_identified: bool
    months_before: int
    months_after: int
    notes: tuple[str, ...] = ()
    w_placebo: float = 0.0
    placebo_adjusted: bool = False
    seasonal_variance: float = 0.0
    seasonal_df: float | None = None
    shock_variance: float = 0.0

    @property
    def shared_variance(self) -> float:
        """Variance of the shift every unit's log rate ratio shares: the seasonal factors' estimate
        and the shared month shocks (each unit's tests add it; a pooled row takes the shocks its own way)."""
        return self.seasonal_variance + self.shock_variance


def seasonal_levels(month: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Level of each slot (``month``: ``year * 12 + month - 1``; ``label``: slot labels) in the
    seasonal fit (:func:`hotspots.dispersion.fit_seasonal`): one per period and 12-month block
    (counted from the first month of "before") for :data:`BEFORE` and :data:`AFTER`, one per block
    for every other month (levels may differ between years, not within one). So a year loaded
    before a half-year comparison gives the halves' seasonal difference, which one level per
    period label could not separate from the change; and a period that runs into the next block
    (after = July–June next to before = January–June) does not lend its change of year to the
    season (one level for it took that step for January–June against July–December).
    """
    month = np.asarray(month, dtype=np.int64)
    label = np.asarray(label, dtype=np.int64)
    compared = np.isin(label, [BEFORE, AFTER])
    start = int(month[label == BEFORE].min()) if (label == BEFORE).any() else int(month.min())
    block = np.floor_divide(month - start, 12)
    key = np.where(compared, label, 0) * (4 * (block.max() - block.min() + 1)) + block - block.min()
    return np.unique(key, return_inverse=True)[1].reshape(month.shape)


def panel_season(panel: MonthlyPanel, totals: np.ndarray) -> tuple[SeasonalFit, float, float | None]:
    """Seasonal factors of ``totals`` (one per slot) with :func:`seasonal_levels`, the variance of
    the log after / before seasonal exposure (0 unless identified) and its df (None when 0)."""
    lab = panel.label
    moy = panel.month % 12 + 1
    season = fit_seasonal(np.asarray(totals, dtype=float), moy, seasonal_levels(panel.month, lab), panel.exposure)
    var = season.log_ratio_variance(moy, panel.exposure, lab == AFTER, lab == BEFORE)
    return season, var, (season.df if var > 0 else None)


def squared_shares(unit_totals: np.ndarray, whole: float | None = None) -> float:
    """Sum of the units' squared shares of ``whole`` (default their own sum): times one unit's
    between-period variance ``tau2``, the variance of a total made of independent units."""
    t = np.asarray(unit_totals, dtype=float)
    return float(np.square(t / max(float(t.sum()) if whole is None else whole, 1.0)).sum())


def _pretest(tau: float | None, source: str, pair: tuple) -> tuple[float | None, str]:
    """A positive ``tau2`` estimate whose Cochran's Q (on the units' log rate ratios of ``pair``,
    ``(n_before, n_after, w_before, w_after, phi)``) is not significant at
    :data:`~hotspots.dispersion.TAU2_PRETEST_ALPHA` is taken as 0, and the tests then average over
    how large it could be (``Overdispersion.tau2_draws``): near 0 a positive estimate's
    Satterthwaite degrees of freedom collapse, and its t reference then loses falls the data
    show (see :func:`fit_change_model`). Same rule whichever comparison ``tau2`` came from."""
    if tau is None or tau <= 0:
        return tau, source
    q_p = heterogeneity_p(*pair)
    if q_p is None or q_p <= TAU2_PRETEST_ALPHA:
        return tau, source
    return 0.0, source + (
        f"; Cochran's Q p = {q_p:.2f}, not significant at {TAU2_PRETEST_ALPHA:g}: estimated as 0, "
        "tests average over how large it could be"
    )


def fit_change_model(
    panel: MonthlyPanel,
    *,
    estimate_units: np.ndarray | None = None,
    tau2: float | None = None,
    tau2_fallback: Overdispersion | None = None,
    placebo: bool = True,
    unit_word: str = "units",
    unit_cells: tuple[np.ndarray, np.ndarray] | None = None,
    placebo_baseline: bool = False,
    seasonal_reference: np.ndarray | None = None,
) -> ChangeModel:
    """Seasonal factors, ``kappa`` and ``tau2`` for the units of a panel (see the module docs).

    Parameters
    ----------
    panel : MonthlyPanel
    estimate_units : ndarray of bool, optional
        Units that inform the estimates (default all).
    tau2 : float, optional
        Use this between-period variance instead of estimating it.
    tau2_fallback : Overdispersion, optional
        The finer units' model (e.g. the cells' for hotspot areas): its ``tau2`` is used when too
        few units qualify, and as a floor otherwise (areas are not assumed to vary less between
        periods than the cells they are made of), unless the units' own comparison rules it out
        (:func:`hotspots.dispersion.tau2_too_large_p` below
        :data:`~hotspots.dispersion.FINER_TAU2_CHECK_ALPHA`); a smaller one does not replace the
        units' own estimate when they scatter more than it allows
        (:func:`hotspots.dispersion.tau2_too_small_p` below
        :data:`~hotspots.dispersion.FINER_TAU2_UPPER_ALPHA`).
    placebo : bool
        Estimate ``tau2`` on the placebo comparison when the panel holds one: the compared pair
        a year earlier (:data:`PLACEBO_BEFORE` against :data:`PLACEBO`) when it holds both.
    unit_word : str
        Name of the units in notes ("cells", "areas").
    unit_cells : (rows, cols), optional
        Grid position of each unit when the units are cells: ``tau2``'s degrees of freedom then
        count separate groups of touching cells (:func:`touching_groups`), not cells.
    placebo_baseline : bool
        Judge each unit's change after adjusting for its own change from the placebo period to
        "before" (:func:`unit_change_tests`) when the panel holds a placebo period of the same
        calendar months as "before" (the year before a whole-year before period). Only valid when
        the units were not chosen for being busy in the placebo months more than in the compared
        ones (:func:`hotspots.periods.selection_treats_alike`).
    seasonal_reference : ndarray, shape (slots,), optional
        Monthly totals the seasonal factors are fitted to (default ``panel.reference``, the study
        area's): e.g. the units' own summed counts, so that hotspot areas whose season differs
        from the rest of the study area are judged against their own.
    """
    notes: list[str] = []
    lab = panel.label
    moy = panel.month % 12 + 1
    mb = sorted((moy[lab == BEFORE]).tolist())
    ma = sorted((moy[lab == AFTER]).tolist())
    mp = sorted((moy[lab == PLACEBO]).tolist())
    identified = False
    factors = np.ones(lab.size)
    seasonal_var, seasonal_df = 0.0, None
    if mb != ma or (mp and len(mp) == len(mb) and mp != mb):
        # the periods cover different calendar months: seasonality does not cancel
        # the factors are estimated (from the other year's months): their noise is a shift shared
        # by every unit's rate ratio, which the tests add to each unit's variance
        season, seasonal_var, seasonal_df = panel_season(
            panel, panel.reference if seasonal_reference is None else seasonal_reference
        )
        factors, identified = season.factors, season.identified
    w = panel.exposure * factors
    wb, wa = float(w[lab == BEFORE].sum()), float(w[lab == AFTER].sum())
    if identified:
        seasonal_ratio = (wa / float(panel.exposure[lab == AFTER].sum())) / (wb / float(panel.exposure[lab == BEFORE].sum()))
        whose = "the study area's" if seasonal_reference is None else f"these {unit_word}' own"
    if mb != ma and not identified:
        notes.append(
            f"{SEASON_NOTE_START} from the change (the periods cover different calendar months and the data "
            "hold no other year): the rate ratios include the seasonal difference; compare with elsewhere, or use whole years"
        )
    Y = panel.counts if estimate_units is None else panel.counts[estimate_units]
    period_for_kappa = np.where(np.isin(lab, [BEFORE, AFTER, PLACEBO, PLACEBO_BEFORE]), lab, 0)
    kappa, k_units = estimate_kappa(Y, period_for_kappa, panel.exposure, panel.reference)
    months_b = max(int((lab == BEFORE).sum()), 1)
    months_a = max(int((lab == AFTER).sum()), 1)
    source = TAU2_SOURCES["given"]
    t_units = t_groups = 0
    pm_all = lab == PLACEBO
    # a placebo of the same calendar months as "before" (the year just before it): a second
    # baseline for each unit whose seasonal pattern cannot differ from the first
    full_placebo = bool(pm_all.any()) and mp == mb
    wp_full = float(w[pm_all].sum()) if full_placebo else 0.0
    used_finer = False
    total_var = 0.0  # typical total variance of the log rate ratios tau2 came from (its df)
    # each unit's totals per period and month-level dispersion, for tau2 and the covariance
    P = Y[:, pm_all].sum(axis=1)
    B = Y[:, lab == BEFORE].sum(axis=1)
    A = Y[:, lab == AFTER].sum(axis=1)
    phi_ab = 1.0 + kappa * (A + B) / (months_a + months_b)
    draws: tuple[float, ...] = ()
    if tau2 is None:
        tau = None
        two_groups = False
        kept = None  # units left in the tau2 estimate (None: all)
        if placebo and panel.has_placebo:  # earlier slots against later ones, nothing done between
            p0 = lab == PLACEBO_BEFORE
            if p0.any():  # the compared pair a year earlier: the same calendar months and gap
                early, late, suffix = p0, pm_all, " (the compared months a year earlier)"
            else:
                short = int(pm_all.sum()) < months_b
                # a placebo shorter than "before" is compared with the same calendar months a year later
                bm = (lab == BEFORE) & np.isin(panel.month, panel.month[pm_all] + 12) if short else lab == BEFORE
                early, late = (pm_all, bm) if not short or int(bm.sum()) == int(pm_all.sum()) else (None, None)
                suffix = f" ({max(int(pm_all.sum()), 1)} months a year apart)" if short else ""
            if early is not None:
                X, Z = Y[:, early].sum(axis=1), Y[:, late].sum(axis=1)
                wx, wz = float(w[early].sum()), float(w[late].sum())
                phi_p = 1.0 + kappa * (X + Z) / (max(int(early.sum()), 1) + max(int(late.sum()), 1))
                tau, t_units = estimate_tau2(X, Z, wx, wz, phi_p, variance="expected")
                pair = (X, Z, wx, wz, phi_p)
                tau, source = _pretest(tau, TAU2_SOURCES["placebo"] + suffix, pair)
        if tau is None:
            tau, t_units, groups = estimate_tau2_robust(B, A, wb, wa, phi_ab, variance="expected")
            two_groups = groups == "two groups"
            two = TWO_GROUPS_SOURCE if two_groups else ""
            pair = (B, A, wb, wa, phi_ab)
            changed = None if two_groups or tau is None else single_changed_unit(*pair)
            if changed is not None:  # one place that really changed is not variation between periods
                kept = np.arange(B.size) != changed.index
                pair = (B[kept], A[kept], wb, wa, phi_ab[kept])
                tau, t_units, _ = estimate_tau2_robust(*pair, variance="expected")
                i = changed.index
                two = (
                    f"; one of the {unit_word} changed far beyond the others' scatter (rate ratio "
                    f"{(A[i] / wa) / (B[i] / wb):.2f}, {int(B[i]):,} -> {int(A[i]):,}; z = {changed.z:.1f}, "
                    f"Bonferroni p = {changed.p_value:.2g}) and is left out of tau2: a real change is not variation"
                )
            source = TAU2_SOURCES["comparison"] + two
            if not two_groups:  # (a two-group fit's Q around one mean is not its evidence)
                tau, source = _pretest(tau, source, pair)
        if tau is not None and unit_cells is not None:
            rows, cols = (np.asarray(x) if estimate_units is None else np.asarray(x)[estimate_units] for x in unit_cells)
            if kept is not None:
                rows, cols = rows[kept], cols[kept]
            t_groups = touching_groups(rows, cols, (pair[0] >= MIN_COUNT_FOR_TAU2) & (pair[1] >= MIN_COUNT_FOR_TAU2))
        own_k = 0 if tau is None else (t_groups or t_units)
        # tau2's uncertainty for the tests (its confidence distribution); not for a two-group fit,
        # whose scatter around one mean is not what the estimate measures
        own_draws = () if tau is None or two_groups else tau2_confidence_draws(*pair, groups=t_groups)
        draws = own_draws
        fb = tau2_fallback
        # which estimate knows more about tau2 (_information): the finer units' when they are many
        # independent places whose changes are not swamped by their counts' noise, whether it
        # came out positive or 0; the units' own when their busier counts bound it more tightly
        # (pure Poisson data: hundreds of cells of 20-odd incidents left tau2 anywhere up to
        # 0.03-0.065, 18 areas bound it below 0.002-0.008, and 15 % falls were found in 74.4 % of
        # data sets with the cells' instead of 79.8 %)
        fb_k = 0 if fb is None else fb.tau2_independent_units
        replace = fb is not None and fb_k >= MIN_UNITS_FOR_TAU2
        if replace and tau is not None:
            if fb.tau2_total_var > 0:
                ref = max(tau, fb.tau2)  # both judged at the same tau2, so the smaller is not favoured
                theirs = _information(fb_k, fb.tau2_total_var, fb.tau2, ref)
                mine = _information(own_k, tau2_total_variance(*pair, tau), tau, ref)
            else:  # the finer units' spread is not known: independent units are counted
                theirs, mine = float(fb_k), float(own_k)
            replace = _rank(fb.tau2_source, theirs) > _rank(source, mine)
        # the finer units (cells) vary more between periods: aggregates of them are not assumed
        # steadier than that (a two-group fit on a handful of areas can take real drift for effects)
        floor = not replace and tau is not None and fb is not None and fb.tau2 > tau
        # ... but a finer one-group fit of the compared periods counts the changes of places that
        # changed differently as scatter: it does not override units whose own comparison tells
        # the two groups apart (pure Poisson, half the hotspots falling 30 %: 65-68 -> 77-80 % found)
        if two_groups and fb is not None and fb.tau2_one_group_comparison:
            replace = floor = False
        # ... nor when the units' own comparison rules the finer units' tau2 out: they scatter less
        # than it would make them (on Poisson data the cells' estimate is positive by chance about
        # half the time, and their tau2 then swamped the busy areas' Poisson variance)
        if (replace or floor) and tau is not None and fb.tau2 > 0:
            p_low = tau2_too_large_p(*pair, fb.tau2)
            if p_low is not None and p_low < FINER_TAU2_CHECK_ALPHA:
                replace = floor = False
                source += (
                    f"; the finer units' tau2 = {fb.tau2:.3g} not used: these {unit_word} scatter less than it implies "
                    f"(generalised Q, lower-tail p = {p_low:.2g})"
                )
        # ... nor does a smaller finer units' tau2 replace the units' own when they scatter more
        # than it allows (real data: the cells' large kappa takes up most of their between-period
        # variation, so their tau2 understates the areas')
        if replace and tau is not None and fb.tau2 < tau:
            p_up = tau2_too_small_p(*pair, fb.tau2)
            if p_up is not None and p_up < FINER_TAU2_UPPER_ALPHA:
                replace = False
                source += (
                    f"; the finer units' tau2 = {fb.tau2:.3g} not used: these {unit_word} scatter more than it allows "
                    f"(generalised Q, upper-tail p = {p_up:.2g})"
                )
        if replace:
            # the finer units' estimate knows more about tau2 than the units' own (more independent
            # places whose counts do not swamp it), and aggregates of cells do not vary more
            # between periods than the cells do: use it, with its degrees of freedom (taking the
            # larger of two noisy estimates, as before, cost power for nothing)
            tau, t_units, t_groups = fb.tau2, fb.tau2_units, fb.tau2_groups
            source = f"{fb.tau2_source}, from the finer units"
            used_finer = True
            total_var = fb.tau2_total_var
            draws = fb.tau2_draws
        elif floor:
            tau, source = fb.tau2, f"{fb.tau2_source} of the finer units (larger than the {unit_word}' own)"
            used_finer = True
            # each value at least the finer units' (both in ascending order)
            draws = tuple(np.maximum(own_draws, fb.tau2_draws)) if own_draws and fb.tau2_draws else (
                own_draws or fb.tau2_draws
            )
        if tau is not None and not replace:  # the units' own comparison (at the finer tau2 when floored)
            total_var = tau2_total_variance(*pair, tau)
        if tau is None:
            if fb is not None:
                tau, source = fb.tau2, (
                    f"{fb.tau2_source} (too few {unit_word} with enough "
                    "incidents: taken from the finer units)"
                )
                t_units, t_groups = fb.tau2_units, fb.tau2_groups
                used_finer = True
                total_var = fb.tau2_total_var
                draws = fb.tau2_draws
            else:
                tau, source = 0.0, TAU2_SOURCES["none"]
                notes.append(
                    f"fewer than {MIN_UNITS_FOR_TAU2} {unit_word} have enough incidents in both periods to estimate how much "
                    "places vary between periods; only month-to-month variation is allowed for, so verdicts may be too confident"
                )
        if tau2_basis(source) == "comparison" and (tau > 0 or len(draws) > 0):
            # (an estimate of 0 is judged over draws from the same comparison: the same caveat)
            # measured (docs/calibration.md): two years of simulated data with half the hotspots
            # falling 30 %: tau2 0.054 against 0.029 true, pooled fall found in 68 % of data sets
            # (85 % with the year before loaded), untreated areas flagged 1-1.5 %
            notes.append(COMPARISON_TAU2_NOTE)
        tau2_val = float(tau)
    else:
        tau2_val = float(tau2)
    # covariance of consecutive changes: the finer units' when their tau2 is used (they are many);
    # when the units keep their own, larger tau2, the finer units' share of it that reverses
    # (change_cov / tau2: how levels vary over time, which the many finer units estimate better
    # than a handful of areas) times the units' tau2; the units' own when no finer units were
    # offered; within +-tau2 / 2 (-tau2 / 2: levels vary independently from period to period)
    cov, cov_units, cov_share = 0.0, 0, False
    if full_placebo and tau2_val > 0:
        fb = tau2_fallback
        if used_finer:
            cov, cov_units = fb.change_cov, fb.change_cov_units
        elif fb is not None and fb.change_cov_units and fb.tau2 > 0:
            cov, cov_units = tau2_val * fb.change_cov / fb.tau2, fb.change_cov_units
            cov_share = True
        elif fb is None:
            c_hat, cov_units = consecutive_change_cov(P, B, A, wp_full, wb, wa, phi_ab)
            cov = 0.0 if c_hat is None else c_hat
        cov = float(np.clip(cov, -tau2_val / 2.0, tau2_val / 2.0))
    adjusted = bool(placebo_baseline and full_placebo)
    if adjusted:
        cov_from = "" if not cov_units else (
            f", from {cov_units:,} {'finer units' if used_finer or cov_share else unit_word}"
            + (" (their share of tau2 that reverses, times these units' tau2)" if cov_share else "")
        )
        notes.append(
            f"each of the {unit_word}' changes is adjusted for its own change from the placebo period (the {months_b} months "
            "before \"before\") to \"before\": a place that was busier than usual in the before period tends to be quieter "
            "afterwards by chance, and one that was quieter, busier (regression to the mean; covariance of consecutive "
            f"changes {cov:.3g}{cov_from}); the verdict, its "
            "interval and rate_ratio_adjusted use the adjusted change, rate_ratio is the change as counted"
        )
    how = (
        f"month-to-month dispersion kappa = {kappa:.3g} (negative binomial variance mu + kappa mu², a moment estimate from "
        f"{k_units:,} {unit_word}' monthly counts, each month's mu being the unit's period total spread over the period's "
        f"months as the rest of the study area's incidents are); between-period variance of the log rate tau2 = {tau2_val:.3g} "
        f"({'DerSimonian-Laird' if tau2_basis(source) == 'placebo' else 'maximum likelihood'}, "
        f"{source}{'' if not t_units else ', ' + format(t_units, ',') + ' ' + unit_word}"
        f"{'' if not t_groups else ' in ' + format(t_groups, ',') + ' separate groups'})"
    )
    if identified:
        # the factors rest on one other stretch of these places' totals, whose level moves between
        # its months as the compared periods' does (tau2 of each unit, times its squared share)
        ref = panel.reference if seasonal_reference is None else np.asarray(seasonal_reference, dtype=float)
        seasonal_var += tau2_val * squared_shares(panel.counts.sum(axis=1), float(ref.sum()))
        notes.insert(0, (
            "seasonality: the periods cover different calendar months, so rate ratios use month-of-year factors estimated "
            f"from {whose} monthly totals in the other months of the data (Poisson GLM with a level for each "
            f"period and each other year): a day of the after period is expected to hold {seasonal_ratio:.3f} times the "
            f"incidents of a day before from season alone, an estimate uncertain by {np.sqrt(seasonal_var):.1%} (log scale) "
            f"that every interval and p-value includes; places whose season differs from {whose} keep the "
            "difference in their rate ratios"
        ))
    disp = Overdispersion(
        kappa, tau2_val, k_units, t_units, source, how, t_groups, cov, cov_units, total_var,
        tuple(float(x) for x in draws),
    )
    return ChangeModel(disp, wb, wa, identified, months_b, months_a, tuple(notes), wp_full, adjusted, seasonal_var, seasonal_df)


def scatter_beyond_model_p(panel: MonthlyPanel, model: ChangeModel) -> float | None:
    """Do the units' before/after changes scatter more than their model allows?

    The upper-tail p-value of the generalised Q of the units' log rate ratios at the ``tau2``
    and month-level dispersion they are judged with (:func:`hotspots.dispersion.tau2_too_small_p`):
    about uniform over data sets when the model fits, small when it understates their variation
    (the calibration benchmark's ``--national`` check). None when fewer than
    :data:`~hotspots.dispersion.MIN_UNITS_FOR_TAU2` units have enough incidents in both periods.
    """
    d = model.dispersion
    b, a = panel.totals(BEFORE), panel.totals(AFTER)
    phi = d.phi((a + b) / (model.months_before + model.months_after))
    return tau2_too_small_p(b, a, model.w_before, model.w_after, phi, d.tau2)


def _rank(source: str, information: float) -> tuple[int, float]:
    """Preference between two ``tau2`` estimates: one without the effect (placebo periods) first,
    then the one with more information about ``tau2`` (:func:`_information`)."""
    return (int(tau2_basis(source) == "placebo"), information)


def _information(k: int, total_var: float, tau2: float, ref: float) -> float:
    """Information about ``tau2`` near ``ref`` in ``k`` independent log rate ratios whose typical
    total variance at the estimate ``tau2`` was ``total_var`` (:func:`tau2_total_variance`):
    ``k / (v + ref)²`` with ``v = total_var - tau2`` their typical sampling variance (Fisher's
    information for a variance component is half of it)."""
    return float(k) / max(max(total_var - tau2, 0.0) + ref, 1e-12) ** 2


def unit_change_tests(
    n_before: np.ndarray, n_after: np.ndarray, model: ChangeModel, *, alpha: float, n_placebo: np.ndarray | None = None
) -> pd.DataFrame:
    """Rate ratio, interval, p-value and minimum detectable fall of each unit.

    Returns
    -------
    DataFrame
        ``rate_ratio``, ``rate_ratio_low``, ``rate_ratio_high`` (the inversion of the p-value's own
        test, :func:`~hotspots.count_tests.overdispersed_rate_interval`, at the raw p-value the
        reference below takes to ``alpha``, for units of at most :data:`EXACT_INTERVAL_MAX`
        incidents; the normal approximation above, kept on the p-value's side of 1: the interval
        excludes 1 exactly when ``p_value < alpha``), ``p_value`` (beta-binomial conditional test; when
        ``tau2`` was estimated from ``k`` independent units, its equivalent z is judged on a t
        distribution with up to ``k - 1`` degrees of freedom (``Overdispersion.tau2_df``; more
        when ``tau2`` is a small part of the unit's variance, :func:`effective_df`), and the
        interval uses the same reference; when the estimate is 0, the p-value is averaged over
        ``tau2``'s equally likely values, ``Overdispersion.tau2_draws``, and the interval is the
        same average's),
        ``phi`` (month-level dispersion of the unit), ``mde_fall`` (smallest fall the unit's test finds
        with 80 % power: from that test's exact power for up to
        :data:`~hotspots.detectable_fall.EXACT_MDE_MAX` incidents before, the normal approximation
        above). When ``model.placebo_adjusted``
        and ``n_placebo`` is given, units with at least
        :data:`~hotspots.dispersion.MIN_COUNT_FOR_TAU2` incidents in the placebo and before
        periods are judged on their placebo-adjusted change (:func:`placebo_adjusted_changes`):
        ``rate_ratio_adjusted`` (NaN for the others), the interval, p-value and minimum detectable
        fall are the adjusted change's (its t reference counts the share of its variance that
        moves with the ``tau2`` estimate, ``tau2_slope``); ``rate_ratio`` stays the change as counted.
        Every unit's variance includes ``model.shared_variance``: the estimated seasonal factors'
        uncertainty (its degrees of freedom join the t reference's, except over ``tau2``'s draws,
        whose mixture is of normals) and the study area's shared month shocks (``shock_variance``).
    """
    b = np.asarray(n_before, dtype=float)
    a = np.asarray(n_after, dtype=float)
    d = model.dispersion
    phi = d.phi((a + b) / (model.months_before + model.months_after))
    # the seasonal factors' uncertainty adds to every unit's variance like a between-period one
    vs = model.shared_variance
    res = overdispersed_rate_test(b, a, model.w_before, model.w_after, phi=phi, tau2=d.tau2 + vs)
    rr = res["rate_ratio"].to_numpy()
    se = res["log_rr_se"].to_numpy()
    pval, tail = judged_p_values(b, a, res["p_value"].to_numpy(), phi, model, alpha)
    # small counts: the exact power of their own test (the normal approximation overstated it)
    exact_mde = exact_minimum_detectable_fall(b, model, alpha)
    mde = np.where(np.isfinite(exact_mde), exact_mde, unit_minimum_detectable_fall(b, phi, model, alpha))
    draws = d.tau2_test_draws
    df_t = d.tau2_df
    # the test's own inversion: the Wald interval (log ratio +- z se) disagreed with the exact p-value
    # for small counts (Nottinghamshire cells, 8.85 (0.99-79.1) beside p = 0.039)
    # (units of more than EXACT_INTERVAL_MAX incidents, where summing the beta-binomial is slow and
    # the normal approximation close: the log ratio +- the tail's z times the test's standard error,
    # an end that falls on the wrong side of 1 for the p-value moved onto 1)
    exact = (a + b) <= EXACT_INTERVAL_MAX
    lo, hi = np.full(b.shape, np.nan), np.full(b.shape, np.nan)
    if exact.any():
        lo[exact], hi[exact] = overdispersed_rate_interval(
            b[exact], a[exact], model.w_before, model.w_after, phi=np.broadcast_to(phi, b.shape)[exact], tau2=d.tau2 + vs,
            tail=tail[exact],
        )
    big = ~exact & np.isfinite(se)
    if big.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = np.log(np.maximum(a[big], 0.5) / model.w_after) - np.log(np.maximum(b[big], 0.5) / model.w_before)
            half = stats.norm.isf(tail[big] / 2) * se[big]
        low, high, sig = np.exp(centre - half), np.exp(centre + half), pval[big] < alpha
        rise = centre > 0
        low = np.where(sig & rise, np.maximum(low, np.nextafter(1.0, 2.0)), np.where(~sig, np.minimum(low, 1.0), low))
        high = np.where(sig & ~rise, np.minimum(high, np.nextafter(1.0, 0.0)), np.where(~sig, np.maximum(high, 1.0), high))
        lo[big], hi[big] = low, high
    out = {"rate_ratio": rr, "rate_ratio_low": lo, "rate_ratio_high": hi, "p_value": pval, "phi": phi, "mde_fall": mde}
    if model.placebo_adjusted and n_placebo is not None:
        adj = placebo_adjusted_changes(n_placebo, b, a, model)
        use = np.isfinite(adj["estimate"])
        est, v0, v_obs = adj["estimate"], adj["variance_null"], adj["variance"]
        if draws.size:
            # the adjusted change at each equally likely tau2, its p-value averaged and its interval
            # from the mixture; the reversing covariance keeps its share of tau2 (none for an
            # estimate of 0, for which only the shared before count's noise is taken out)
            rho_d = d.change_cov / d.tau2 if d.tau2 > 0 else 0.0
            ps, v_list, v0s = [], [], []
            for t in draws:
                d_t = dataclasses.replace(d, tau2=float(t), change_cov=rho_d * float(t))
                adj_t = placebo_adjusted_changes(n_placebo, b, a, dataclasses.replace(model, dispersion=d_t))
                with np.errstate(divide="ignore", invalid="ignore"):
                    ps.append(2 * stats.norm.sf(np.abs(adj_t["estimate"]) / np.sqrt(adj_t["variance_null"])))
                v_list.append(adj_t["variance"])
                v0s.append(adj_t["variance_null"])
            p_a = np.mean(ps, axis=0)
            half_a = mixture_half_width(np.column_stack(v_list), alpha)
            mde_a = mixture_minimum_detectable_fall(np.column_stack(v0s), alpha)
        else:
            # how much of v0 is the tau2 estimate: less than tau2 itself, because the covariance it
            # subtracts is a share of tau2 that moves with the estimate (tau2_slope)
            df_a = effective_df(v0, [(d.tau2 * adj["tau2_slope"], df_t), (model.seasonal_variance, model.seasonal_df)])
            with np.errstate(divide="ignore", invalid="ignore"):
                p_a = 2 * stats.t.sf(np.abs(est / np.sqrt(v0)), df_a)
                half_a = stats.t.isf(alpha / 2, df_a) * np.sqrt(v_obs)
            mde_a = minimum_detectable_fall(np.sqrt(v0), alpha, df=df_a)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["p_value"] = np.where(use, np.minimum(1.0, p_a), pval)
            out["rate_ratio_low"] = np.where(use, np.exp(est - half_a), lo)
            out["rate_ratio_high"] = np.where(use, np.exp(est + half_a), hi)
            out["mde_fall"] = np.where(use, mde_a, mde)
            out["rate_ratio_adjusted"] = np.where(use, np.exp(est), np.nan)
    return pd.DataFrame(out)


#: Units with more incidents than this take the normal approximation's interval
#: (:func:`unit_change_tests`); fewer, the exact inversion of their test.
EXACT_INTERVAL_MAX = 400


def placebo_adjusted_changes(n_placebo: np.ndarray, n_before: np.ndarray, n_after: np.ndarray, model: ChangeModel) -> dict:
    """Each unit's before/after change adjusted for its own change from the placebo period.

    With ``y`` a unit's log rate ratio (after vs before) and ``x`` its log rate ratio from the
    placebo period to "before", both share the before count and, when a place's level varies
    around a stable mean, its before-period level: a place that was busier than usual "before"
    is expected to be quieter "after" with no effect (regression to the mean). Under the change
    model (:mod:`hotspots.dispersion`) ``Var y = phi (1/B + 1/E_A) + tau2`` (plus
    ``ChangeModel.seasonal_variance`` when the seasonal factors are estimated),
    ``Var x = phi (1/B + 1/P) + tau2`` and ``Cov(x, y) = c - phi / B`` (``c`` =
    ``dispersion.change_cov``; taken as 0 when positive: a unit's placebo change is never
    extrapolated), so the best linear prediction of ``y`` under no change is
    ``beta (x - xbar)`` with ``beta = Cov / Var x`` (``xbar``: the units' common placebo change,
    weighted by ``1 / Var x``), and the adjusted change ``y - beta (x - xbar)`` has variance
    ``Var y - Cov^2 / Var x``: smaller than ``Var y`` (a longer baseline on Poisson data, where
    ``beta = -1/2`` compares "after" with "placebo" and "before" together). Analysis of
    covariance on the log scale with the regression coefficient from the model, not fitted.

    The covariance's share of ``tau2`` (``rho = c / tau2``, ``-1/2`` when levels vary
    independently from period to period) is estimated from the same places as ``tau2`` and is
    taken to move with it, so the null variance moves with the ``tau2`` estimate by
    ``dv / dtau2 = 1 - Cov (2 rho Var x - Cov) / Var x^2`` (``1 - rho^2`` when sampling noise is
    small: 3/4 for levels that vary independently), not one for one: ``tau2_slope``, which sets
    the degrees of freedom of the t reference (:func:`effective_df`; treating the whole of
    ``tau2`` as the noisy part left the test at 3.0 % on 300 simulated data sets with no change,
    against its 5 %, and cost power).

    Parameters
    ----------
    n_placebo, n_before, n_after : ndarray of int
        Counts per unit in the placebo (as long as "before"), before and after periods.
    model : ChangeModel
        With ``w_placebo > 0``.

    Returns
    -------
    dict of ndarray
        ``estimate`` (adjusted log rate ratio; NaN for units with fewer than
        :data:`~hotspots.dispersion.MIN_COUNT_FOR_TAU2` incidents in the placebo or before
        period), ``variance_null`` (its variance with the after count expected under no change,
        for tests and minimum detectable effects), ``variance`` (with the after count as counted,
        for intervals), ``beta``, ``tau2_slope`` (how much ``variance_null`` moves per unit of
        ``tau2``; at least 3/4 while ``|rho| <= 1/2``, as :func:`fit_change_model` keeps it).
    """
    d = model.dispersion
    p_ = np.asarray(n_placebo, dtype=float)
    b = np.asarray(n_before, dtype=float)
    a = np.asarray(n_after, dtype=float)
    nan = np.full(b.shape, np.nan)
    if model.w_placebo <= 0:
        return {"estimate": nan, "variance_null": nan, "variance": nan, "beta": nan, "tau2_slope": nan}
    ok = (p_ >= MIN_COUNT_FOR_TAU2) & (b >= MIN_COUNT_FOR_TAU2)
    phi = d.phi((a + b) / (model.months_before + model.months_after))
    pm, bm, am = np.maximum(p_, 0.5), np.maximum(b, 0.5), np.maximum(a, 0.5)
    x = np.log(bm / model.w_before) - np.log(pm / model.w_placebo)
    y = np.log(am / model.w_after) - np.log(bm / model.w_before)
    v_x = phi * (1.0 / bm + 1.0 / pm) + d.tau2
    if not ok.any():
        return {"estimate": nan, "variance_null": nan, "variance": nan, "beta": nan, "tau2_slope": nan}
    xbar = float((x[ok] / v_x[ok]).sum() / (1.0 / v_x[ok]).sum())
    # never extrapolate a unit's placebo change (a positive covariance: the data say changes
    # persist beyond what the shared before count's noise takes back)
    cov_raw = d.change_cov - phi / bm
    cov = np.minimum(cov_raw, 0.0)
    beta = cov / v_x
    # d v_null / d tau2 with the covariance a fixed share rho of tau2 (d Cov / d tau2 = rho while
    # it is negative); at least 3/4 for rho in [-1/2, 1/2]
    rho = d.change_cov / d.tau2 if d.tau2 > 0 else 0.0
    d_cov = np.where(cov_raw < 0.0, rho, 0.0)
    slope = 1.0 - cov * (2.0 * d_cov * v_x - cov) / (v_x * v_x)
    expected_after = bm * model.w_after / model.w_before
    # the seasonal factors' uncertainty (0 unless estimated) is in y's variance, not in x's
    # (the placebo covers the same calendar months as "before")
    vs = model.shared_variance
    v_null = phi * (1.0 / bm + 1.0 / expected_after) + d.tau2 + vs - cov * cov / v_x
    v_obs = phi * (1.0 / bm + 1.0 / am) + d.tau2 + vs - cov * cov / v_x
    est = y - beta * (x - xbar)
    return {
        "estimate": np.where(ok, est, np.nan), "variance_null": np.where(ok, v_null, np.nan),
        "variance": np.where(ok, v_obs, np.nan), "beta": np.where(ok, beta, np.nan),
        "tau2_slope": np.where(ok, slope, np.nan),
    }
