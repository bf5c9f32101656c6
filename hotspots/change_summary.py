"""The scheme's question in one table: did the hotspots cool, compared with everywhere else?

:func:`change_summary` (or :func:`summarise_change` on results already computed) pools the
before/after change over three scopes:

* ``"all hotspot areas"`` — the hotspot areas' change pooled over the areas (each area's log rate
  ratio weighted by its precision, a random-effects meta-analysis of the areas: below);
* ``"elsewhere"`` — every incident in the rest of the study area;
* ``"hotspots vs elsewhere"`` — the ratio of the two rate ratios (difference in differences on
  the log scale): did the hotspots change more than the rest of the force did?

Each row has the rate ratio (after / before, seasonally adjusted where the periods cover
different calendar months), its 95 % interval (``1 - alpha``), a two-sided p-value, a verdict in
plain words (:data:`VERDICTS`) and the minimum detectable fall (80 % power), so that "no
significant change" is not read as "no effect".

Variance (see :mod:`hotspots.dispersion`): "elsewhere" is the log ratio of its totals, made of
cells ``u``, with variance ``phi (1/A + 1/B) + tau2 * sum_u s_u^2``, with ``phi = 1 + kappa *
sum m_u^2 / sum m_u`` (month-to-month variation of independent units with mean monthly counts
``m_u``), ``tau2`` the between-period variance of one unit's log rate and ``s_u`` the unit's
share of the scope's incidents: independent period-to-period swings of many places partly cancel
in the total. "All hotspot areas" is ``sum_u s_u y_u`` over the areas' log rate ratios ``y_u``
with weights ``s_u`` proportional to ``1 / (v_u + tau2)`` (``v_u`` an area's sampling variance
under no change), variance ``sum_u s_u^2 (phi_u (1/A_u + 1/B_u) + tau2)``: the total would weigh
the busiest few areas, whose swings do not cancel, so it finds less (:func:`_areas_pooled`); with
``tau2`` near 0 the weights follow the counts and the two agree. ``kappa`` and ``tau2`` come from
the areas' and the cells' own change models (the areas usually borrow the cells' ``tau2``, see
:mod:`hotspots.dispersion`).
When ``tau2`` was estimated from ``k`` independent units (separate groups of touching cells for
a cell estimate), p-values and intervals use a t distribution with Satterthwaite's degrees of
freedom: those of the estimate itself (:attr:`~hotspots.dispersion.Overdispersion.tau2_df`: at
most ``k - 1``, fewer when the units it came from had large sampling variances) when the ``tau2``
term is all of the variance, more as the Poisson and month-to-month part grows
(:func:`~hotspots.change_reference.effective_df`). An estimate of 0 is not taken as a known 0: the
p-value is averaged over ``tau2``'s equally likely values (its confidence distribution,
:attr:`~hotspots.dispersion.Overdispersion.tau2_draws`) and the interval is their mixture's.
Months that are busy or quiet across the whole study area at once (weather, holidays, events) move
every place's count together: the places' own ``kappa`` and ``tau2`` do not hold them, and they
cancel in "hotspots vs elsewhere", but not in the two absolute rows. Those add the shared shocks'
variance estimated from the study area's monthly totals (:mod:`hotspots.month_shocks`) and average
their p-values and intervals over its equally likely values (with every force's 2025 months
shuffled between the periods, "elsewhere" had been called a change in 32 % of draws).
Shocks shared by the hotspot areas but not by elsewhere (a town centre's busy months) do not cancel
in "hotspots vs elsewhere": that row adds the variance of the hotspot areas' monthly share of the
study area's incidents beyond its period levels (:func:`group_shocks`, quasi-binomial on the
monthly totals, averaged over its equally likely values as the shared shocks are). Without it,
Nottinghamshire's 2025 share ran 36-50 % a month and the row read 0.86 (0.77-0.97), p = 0.014,
a change in 6 of 40 random relabellings of its months; with it 0.86 (0.72-1.04), p = 0.105, 0 of 40.
The three rows are pre-specified questions;
no multiple-testing adjustment is applied across them.

Regression to the mean: hotspots picked from months that overlap the before period tend to fall
by chance (from months overlapping the after period, to rise). :func:`selection_overlap_note` says
so, :func:`with_selection` puts it in the verdict itself: a significant change of the hotspot rows
in the direction the selection favours reads ``"significant rise (expected from how hotspots were
chosen)"`` (:data:`SELECTION_CAVEAT`) in every table, line and image, and :func:`default_selection_period` picks
hotspot months outside the compared periods when the data hold enough of them (else both
periods together, which treats before and after alike).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._errors import ParameterError
from .areas import HotspotAreas
from .change import ChangeResult, Period, change_areas, change_cells
from .change_model import AFTER, BEFORE, COMPARISON_TAU2_NOTE, SEASON_NOTE_START, ChangeModel, panel_season, squared_shares
from .change_reference import (
    POWER,
    effective_df,
    mixture_half_width,
    mixture_minimum_detectable_fall,
    no_change_variance,
    t_mixture,
)
from .dispersion import TAU2_SOURCES
from .month_shocks import (
    SEASON_MODELS,
    SHARE_NOT_ESTIMATED_NOTE,
    SHOCKS_NOT_ESTIMATED_NOTE,
    MonthShocks,
    panel_month_shocks,
    share_shocks,
)
from .period_split import DATES_NOTE_START, period_months_text
from .periods import (
    SELECTION_CAVEAT,
    selection_caveats,
    selection_favours,
    selection_shares,
    selection_treats_alike,
    short_period_text,
)
from .style import p_text, ratio_text

__all__ = [
    "ScopeChange",
    "ChangeSummary",
    "change_summary",
    "summarise_change",
    "selection_overlap_note",
    "default_selection_period",
    "with_selection",
    "selection_favours",
    "SCOPES",
    "SELECTION_CAVEAT",
    "VERDICTS",
    "SUMMARY_COLUMNS",
    "study_shocks",
    "group_shocks",
    "units_against_rest",
]

#: Short caveat beside the pooled rows (briefing image) when the periods cover different calendar
#: months and the season could not be estimated (the change model's note starting with
#: :data:`~hotspots.change_model.SEASON_NOTE_START`).
SEASON_NOT_SEPARATED = (
    "Seasonality not separated: the periods cover different calendar months and the data hold no other year, so "
    "\"all hotspot areas\" and \"elsewhere\" include the seasonal difference (\"hotspots vs elsewhere\" cancels the "
    "part they share); use whole years or compare with elsewhere."
)
#: Scope names, in table order.
SCOPES = ("all hotspot areas", "elsewhere", "hotspots vs elsewhere")
#: Verdict words (the clean case; see :data:`SELECTION_CAVEAT`).
VERDICTS = ("significant fall", "significant rise", "no significant change")
#: The rows whose change the choice of hotspot months biases ("elsewhere" is not chosen).
SELECTED_SCOPES = ("all hotspot areas", "hotspots vs elsewhere")
#: Columns of :meth:`ChangeSummary.to_frame` (and ``csv/change_summary.csv``).
SUMMARY_COLUMNS = ("scope", "rate_ratio", "ci_low", "ci_high", "p_value", "verdict")


@dataclass(frozen=True)
class ScopeChange:
    """One row of the summary.

    Attributes
    ----------
    scope : str
    rate_ratio, ci_low, ci_high : float
        After / before (for "hotspots vs elsewhere": the ratio of the two rate ratios).
    p_value : float
    verdict : str
    n_before, n_after : int
        Incidents in the scope (the hotspots' for the comparison row).
    mde_fall : float
        Smallest fall (0–1) detectable at ``alpha`` with 80 % power.
    se_log : float
        Standard error of the log rate ratio.
    """

    scope: str
    rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str
    n_before: int
    n_after: int
    mde_fall: float
    se_log: float

    @property
    def verdict_class(self) -> str:
        """The verdict's word of :data:`VERDICTS`, without a caveat (for colours and counts)."""
        return self.verdict.split(" (", 1)[0]

    @property
    def caveated(self) -> bool:
        """True when the verdict carries :data:`SELECTION_CAVEAT` (a change the hotspot choice predicts)."""
        return self.verdict != self.verdict_class

    @property
    def shows_mde(self) -> bool:
        """True when the smallest detectable fall belongs beside the verdict: no significant
        change, or a change the choice of hotspots predicts (not a finding)."""
        return self.verdict_class == "no significant change" or self.caveated

    def figures(self, level: float = 0.95) -> str:
        """``"rate ratio 0.82 (95 % CI 0.71–0.95), p = 0.008"`` (``level``: the interval's confidence, 1 - alpha)."""
        return f"rate ratio {ratio_text(self.rate_ratio, self.ci_low, self.ci_high, level)}, {p_text(self.p_value)}"


@dataclass(frozen=True)
class ChangeSummary:
    """Pooled before/after change of the hotspot areas, elsewhere, and the two compared.

    Attributes
    ----------
    rows : tuple of ScopeChange
        In :data:`SCOPES` order.
    alpha : float
    before, after : Period
    method : str
        One sentence for captions.
    notes : tuple of str
    regression_to_mean : bool
        True when the hotspots were chosen from months overlapping the compared periods in a way
        that favours a fall (see :func:`selection_overlap_note`).
    params : dict
    left_out : tuple of (int, str)
        The periods' months left out and why (:attr:`hotspots.change.ChangeResult.left_out`, the
        cells' test; in words: :meth:`period_text`).
    selection_favours : str or None
        ``"fall"`` or ``"rise"``: the change the choice of hotspot months predicts with no effect
        (:func:`selection_favours`); None when it favours neither. Set by :func:`with_selection`.
    """

    rows: tuple[ScopeChange, ...]
    alpha: float
    before: Period
    after: Period
    method: str
    notes: tuple[str, ...] = ()
    regression_to_mean: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    left_out: tuple[tuple[int, str], ...] = ()
    selection_favours: str | None = None

    def period_text(self, which: str) -> str:
        """The ``"before"`` or ``"after"`` period and the months of it left out, and why
        (:func:`hotspots.period_split.period_months_text`)."""
        if which not in ("before", "after"):
            raise ParameterError(f"`which` must be 'before' or 'after'; got {which!r}.")
        return period_months_text(self.before if which == "before" else self.after, self.left_out)

    def to_frame(self, *, extended: bool = False) -> pd.DataFrame:
        """The table: :data:`SUMMARY_COLUMNS` (plus ``n_before``, ``n_after``, ``mde_fall`` when
        ``extended``). ``verdict`` holds one of the three words of :data:`VERDICTS` only, for
        readers that match them; a verdict the choice of hotspots predicts says so in a last column,
        ``caveat`` (:data:`SELECTION_CAVEAT`), present only then."""
        cols = list(SUMMARY_COLUMNS) + (["n_before", "n_after", "mde_fall"] if extended else [])
        rows = [{c: (r.verdict_class if c == "verdict" else getattr(r, c)) for c in cols} for r in self.rows]
        if any(r.caveated for r in self.rows):
            cols.append("caveat")
            for row, r in zip(rows, self.rows):
                row["caveat"] = r.verdict[len(r.verdict_class) + 2 : -1] if r.caveated else ""
        return pd.DataFrame(rows, columns=cols)

    def row(self, scope: str) -> ScopeChange:
        for r in self.rows:
            if r.scope == scope:
                return r
        raise ParameterError(f"no scope {scope!r}; choose one of {list(SCOPES)}.")

    def lines(self) -> list[str]:
        """One line per scope, for the command line, the app and the briefing image, e.g.
        ``"all hotspot areas: rate ratio 0.82 (95 % CI 0.71–0.95), p = 0.008, significant fall"``."""
        return [f"{r.scope}: {r.figures(1 - self.alpha)}, {r.verdict}" for r in self.rows]

    def describe(self) -> str:
        """Plain words for captions and the CLI."""
        from .style import change_text, signed_text

        parts = []
        for r in self.rows:
            pct = (r.rate_ratio - 1) * 100
            low, high = (signed_text((x - 1) * 100) for x in (r.ci_low, r.ci_high))
            what = f"{change_text(pct)} (95% CI {low}% to {high}%)"
            extra = f"; could detect falls of {r.mde_fall:.0%} or more" if r.shows_mde and np.isfinite(r.mde_fall) else ""
            parts.append(f"{r.scope}: {r.verdict}, {what}{extra}")
        return "; ".join(parts)

    def caveats(self) -> list[str]:
        """Short caveats that qualify the verdicts, to print beside the rows wherever they are
        shown (loudly: the console's and the app's warnings, ``parameters.json``, the briefing
        images): a compared period shorter than 3 months
        (:func:`hotspots.periods.short_period_text`), and the season not separated
        (:data:`SEASON_NOT_SEPARATED`). The regression-to-the-mean caveat is in the verdicts
        themselves (:func:`with_selection`)."""
        short = short_period_text(self.before, self.after)
        out = [] if short is None else [short]
        if any(n.startswith(SEASON_NOTE_START) for n in self.notes):
            out.append(SEASON_NOT_SEPARATED)
        return out

    def other_notes(self) -> list[str]:
        """The notes :meth:`caveats` does not already say, for a list printed beside the caveats (the console's
        notes, the app's caption): the season not separated is said once, as the caveat (Derbyshire 2025's halves
        printed it as a warning and again as the note below it)."""
        said = SEASON_NOT_SEPARATED in self.caveats()
        return [n for n in self.notes if not (said and n.startswith(SEASON_NOTE_START))]

    def dispersion_fields(self) -> dict[str, Any]:
        """The variation the rows' variances hold, as numbers (``parameters.json``): each of the areas'
        and the cells' ``kappa`` (month to month, NB2) and ``tau2`` (between periods, log scale) and
        where ``tau2`` came from (:data:`~hotspots.dispersion.TAU2_SOURCES`' key), and the standard
        deviations (log scale) and degrees of freedom of the study area's shared monthly shocks and
        of the hotspot areas' share shocks (None when not estimated)."""
        out: dict[str, Any] = {}
        for who in ("areas", "cells"):
            d = self.params.get(f"{who}_dispersion") or {}
            out[f"{who}_kappa"], out[f"{who}_tau2"] = d.get("kappa"), d.get("tau2")
            src = d.get("tau2_source")
            out[f"{who}_tau2_from"] = next((k for k, w in TAU2_SOURCES.items() if src and src.startswith(w)), src)
        for key in ("month_shocks", "share_shocks"):
            sh = self.params.get(key) or {}
            fitted = bool(sh.get("draws"))
            out[f"{key}_sd"] = float(sh["sd"]) if fitted else None
            out[f"{key}_df"] = int(sh["df"]) if fitted else None
        return out

    def dispersion_line(self) -> str:
        """One plain line beside the pooled rows: the dispersion estimates and how they were obtained
        (:meth:`dispersion_fields`)."""
        f = self.dispersion_fields()
        # "from not estimated" / "from given" were garbled: only an estimate is "from" somewhere
        whence = {k: f"from {w}" for k, w in TAU2_SOURCES.items()} | {"none": "not estimated, taken as 0", "given": "as given"}
        parts = []
        for who in ("areas", "cells"):
            if f[who + "_kappa"] is not None:
                src = f[who + "_tau2_from"]
                parts.append(f"{who} kappa {f[who + '_kappa']:.3g} (month to month), tau2 {f[who + '_tau2']:.3g} (between "
                             f"periods, {whence.get(src, f'from {src}')})")
        for key, what in (("month_shocks", "study area's shared monthly shocks"), ("share_shocks", "hotspot share shocks")):
            if f[key + "_sd"] is not None:
                parts.append(f"{what} sd {f[key + '_sd']:.1%} ({f[key + '_df']} df, from the monthly totals)")
        return "dispersion (variation beyond Poisson, in the variances above): " + "; ".join(parts)

    def totals_text(self) -> str | None:
        """What "all hotspot areas" is, beside the hotspot areas' incidents counted together, e.g.
        ``"all hotspot areas pools each area's change (random-effects weights: the areas count about
        equally when they vary between periods); their incidents together: 3,098 -> 2,534, -19 % per
        day"``: a reader who divides the counts should not find another ratio unexplained. None
        without the row or its incidents."""
        from .style import signed_text

        r = next((x for x in self.rows if x.scope == SCOPES[0]), None)
        days = self.params.get("days")
        if r is None or not days or r.n_before <= 0 or min(days) <= 0:
            return None
        pct = ((r.n_after / days[1]) / (r.n_before / days[0]) - 1) * 100
        return (
            f"{SCOPES[0]} pools each area's change (random-effects weights: the areas count about equally when they vary "
            f"between periods); their incidents together: {r.n_before:,} -> {r.n_after:,}, {signed_text(pct)} % per day"
        )

    def detectable_falls_line(self) -> str | None:
        """``"smallest falls these data could detect (80 % power): all hotspot areas 23 %, elsewhere 9 %"``
        for the rows without a significant change (:meth:`detectable_falls`); None when every row has one."""
        falls = self.detectable_falls()
        return f"smallest falls these data could detect ({POWER:.0%} power): {', '.join(falls)}" if falls else None

    def detectable_falls(self) -> list[str]:
        """``"scope 23%"`` per row whose smallest detectable fall belongs beside it
        (:attr:`ScopeChange.shows_mde`), for the sentence "smallest falls these data could detect"."""
        return [f"{r.scope} {r.mde_fall:.0%}" for r in self.rows if r.shows_mde and np.isfinite(r.mde_fall)]


def _verdict(rr: float, p: float, alpha: float) -> str:
    if not np.isfinite(p) or p > alpha or not np.isfinite(rr) or rr == 1:
        return "no significant change"
    return "significant fall" if rr < 1 else "significant rise"


def _scope_variance(
    A: np.ndarray, B: np.ndarray, months: int, result: ChangeResult, w_ratio: float
) -> tuple[float, float, float, np.ndarray | None, np.ndarray | None]:
    """(variance of the pooled log rate ratio, variance expected under no change, the part of
    both that is the estimated between-period variance, that part at each of the values of tau2
    the tests average over (``Overdispersion.tau2_test_draws``; None when there are none), that
    part at each value of tau2's confidence distribution whatever the estimate
    (``Overdispersion.tau2_draws``; None when there are none)) for units A, B; ``w_ratio`` is the
    scope's seasonal exposure after / before."""
    d = result.dispersion
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    tot = A + B
    m = tot / months
    phi = 1.0 + d.kappa * float((m * m).sum() / m.sum()) if m.sum() > 0 else 1.0
    extra, extra_draws, extra_cd = _tau2_parts(d, squared_shares(tot))
    a, b = A.sum(), B.sum()
    exp_a = b * w_ratio
    v = phi * (1 / max(a, 0.5) + 1 / max(b, 0.5)) + extra
    v0 = phi * (1 / max(exp_a, 0.5) + 1 / max(b, 0.5)) + extra
    return v, v0, extra, extra_draws, extra_cd


def _areas_pooled(
    A: np.ndarray, B: np.ndarray, months: int, result: ChangeResult, w_ratio: float
) -> tuple[float, float, float, float, np.ndarray | None, np.ndarray | None]:
    """The hotspot areas' change pooled over the areas (random-effects meta-analysis): their
    seasonally adjusted log rate ratios ``y_u`` averaged with weights ``1 / (v_u + tau2)``.

    ``v_u = phi_u / (n_u p (1 - p))`` is an area's sampling variance under no change (``n_u``
    incidents in both periods, ``p`` the after period's share of the exposure, ``phi_u`` its
    month-level dispersion): from the counts expected under no change, not the observed ones, so
    that an area's weight does not depend on which way it moved. When areas vary little between
    periods (tau2 near 0) the weights follow the counts and the pooled ratio is close to the
    total's; when they vary a lot, each area counts about equally. This is the minimum-variance
    estimate under the model: the total weighs the busiest few areas, whose between-period swings
    do not cancel (simulated half fall 30 %, two years: fall found in 68 % by the total, 85 % by
    this; docs/calibration.md).

    Returns ``(log rate ratio, variance, variance under no change, tau2 part of both, that part
    at each of tau2's test draws or None, at each of its confidence draws or None)``, as
    :func:`_scope_variance`.
    """
    d = result.dispersion
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    n = A + B
    phi = d.phi(n / months)
    v0 = no_change_variance(n, phi, w_ratio / (1.0 + w_ratio))
    u = np.where(np.isfinite(v0), 1.0 / (v0 + d.tau2), 0.0)
    s = u / u.sum()
    y = np.log(np.maximum(A, 0.5) / np.maximum(B, 0.5)) - np.log(w_ratio)
    extra, extra_draws, extra_cd = _tau2_parts(d, float((s * s).sum()))
    v = float((s * s * phi * (1.0 / np.maximum(A, 0.5) + 1.0 / np.maximum(B, 0.5))).sum()) + extra
    vnull = float((s * s * np.where(u > 0, v0, 0.0)).sum()) + extra
    return float((s * y).sum()), v, vnull, extra, extra_draws, extra_cd


def _tau2_parts(d: Any, s2: float) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """A pooled row's between-period variance ``tau2 * s2`` (``s2`` the sum of its units' squared
    weights), and the same at each of tau2's test draws and confidence draws (None when there are
    none)."""
    draws = d.tau2_test_draws
    extra_draws = draws * s2 if draws.size else None
    extra_cd = np.asarray(d.tau2_draws, dtype=float) * s2 if len(d.tau2_draws) else None
    return d.tau2 * s2, extra_draws, extra_cd


def _df(v: float, parts: list[tuple[float, ChangeResult]], seasonal: tuple = ()) -> float | None:
    """Degrees of freedom of a scope's variance ``v`` whose ``parts`` are ``tau2`` estimates (and
    ``seasonal``'s ``(variance, df)`` pairs, the seasonal factors' estimates: :class:`_Season`)."""
    est = [(part, r.dispersion.tau2_df) for part, r in parts] + [(x.variance, x.df) for x in seasonal]
    df = float(effective_df(v, est))
    return None if not np.isfinite(df) else df


@dataclass(frozen=True)
class _Season:
    """A scope's seasonal exposure after / before and that estimate's variance and df."""

    ratio: float
    variance: float = 0.0
    df: float | None = None


def _model_season(model: ChangeModel) -> _Season:
    return _Season(model.w_after / model.w_before, model.seasonal_variance, model.seasonal_df)


def _scope_season(cells: ChangeResult, scope: np.ndarray) -> _Season:
    """The season of the cells in ``scope`` (e.g. outside the hotspot areas) fitted to their own
    monthly totals, as the areas' is to theirs; the cells' (study area's) when the panel is not
    there or the season cannot be told from the change on these totals."""
    model, panel = cells.model, cells.panel
    if not model.seasonal_identified or panel is None or panel.counts.shape[0] != scope.size:
        return _model_season(model)
    units = panel.counts[scope]
    fit, var, df = panel_season(panel, units.sum(axis=0))
    if not fit.identified:
        return _model_season(model)
    # as the models' own: the cells' tau2 in the totals the factors rest on
    var += cells.dispersion.tau2 * squared_shares(units.sum(axis=1))
    w = panel.exposure * fit.factors
    return _Season(float(w[panel.label == AFTER].sum() / w[panel.label == BEFORE].sum()), var, df)


def _draws(*parts: Any) -> np.ndarray | None:
    """The scope variance at each equally likely tau2, from ``(v, extra, extra_draws)`` triples
    (:func:`_scope_variance`; ``extra_draws`` None for a part without draws) summed over the
    parts; None when no part has draws (a t or normal reference then)."""
    triples = [parts[i : i + 3] for i in range(0, len(parts), 3)]
    if all(d is None for _, _, d in triples):
        return None
    # a part without draws keeps its point value (v already holds its extra)
    return sum((v - extra) + (extra if d is None else d) for v, extra, d in triples)


def _row(
    scope: str, log_rr: float, v: float, v0: float, df: float | None, alpha: float, nb: int, na: int,
    v_draws: np.ndarray | None = None, shock: tuple[float, np.ndarray] | None = None,
) -> ScopeChange:
    """One scope's row. ``v_draws``: the variance at each equally likely value of tau2 (p-value
    averaged over them, interval from their mixture); else a t (``df``) or normal reference.
    ``shock``: the shared month-to-month part of the variance, ``(point value, its equally likely
    values)`` (:mod:`hotspots.month_shocks`), added to ``v`` and ``v0``; the p-value and interval
    then average over its values too (crossed with tau2's when there are both)."""
    shock_draws = None
    if shock is not None and len(shock[1]):
        part, sd = float(shock[0]), np.asarray(shock[1], dtype=float)
        base = np.atleast_1d(np.asarray(v if v_draws is None else v_draws, dtype=float))
        shock_draws = (base[:, None] + sd[None, :]).ravel()
        null_draws = (np.atleast_1d(np.asarray(v0 - v + base, dtype=float))[:, None] + sd[None, :]).ravel()
        v, v0 = v + part, v0 + part
    se = float(np.sqrt(v))
    if shock_draws is not None and v_draws is None and df is not None:
        # a t reference (tau2 estimated with df) over the shocks' equally likely values
        p, half, _ = t_mixture(log_rr, shock_draws, df, alpha)
        crit = half / se
        _, half0, margin0 = t_mixture(0.0, null_draws, df, alpha)
        mde = float(1 - np.exp(-(half0 + margin0)))
    elif v_draws is not None or shock_draws is not None:
        vd = np.asarray(v_draws if shock_draws is None else shock_draws, dtype=float)
        p = float(np.mean(2 * stats.norm.sf(abs(log_rr) / np.sqrt(vd))))
        crit = float(mixture_half_width(vd[None, :], alpha)[0]) / se
        # the null variance at each equally likely value
        nd = (v0 - v + vd) if shock_draws is None else null_draws
        mde = float(mixture_minimum_detectable_fall(nd[None, :], alpha)[0])
    else:
        if df is None:
            crit, p = stats.norm.isf(alpha / 2), float(2 * stats.norm.sf(abs(log_rr) / se))
            zb = stats.norm.ppf(POWER)
        else:
            crit, p = stats.t.isf(alpha / 2, df), float(2 * stats.t.sf(abs(log_rr) / se, df))
            zb = stats.t.ppf(POWER, df)
        mde = float(1 - np.exp(-(crit + zb) * np.sqrt(v0)))
    rr = float(np.exp(log_rr))
    return ScopeChange(
        scope, rr, float(np.exp(log_rr - crit * se)), float(np.exp(log_rr + crit * se)), p, _verdict(rr, p, alpha),
        int(nb), int(na), mde, se,
    )


def units_against_rest(
    cells: ChangeResult,
    units: ChangeResult,
    rest: np.ndarray,
    names: tuple[str, str, str],
    unit_counts: tuple[int, int],
    *,
    alpha: float,
    shock: tuple[float, np.ndarray] | None,
    share: MonthShocks | None = None,
) -> tuple[tuple[ScopeChange, ScopeChange, ScopeChange], tuple[float, float]]:
    """Three rows named ``names``: ``units`` (areas, e.g. the hotspot areas or the rings around
    them) pooled by precision (:func:`_areas_pooled`), the cells in ``rest`` (a mask over
    ``cells.table``'s rows) as the ratio of their totals, and the units against the rest (the
    ratio of the two rate ratios). The two absolute rows include ``shock`` (the study area's
    shared month-to-month shocks, :func:`study_shocks`), which cancels in their ratio; the ratio
    includes ``share`` (the shocks of the units' share of the study area, :func:`group_shocks`),
    which does not. ``unit_counts``: the units' incidents before and after, for their rows.

    Returns the rows and the variances of the two seasonal adjustments (units, rest; log scale).
    """
    t = cells.table
    months = cells.model.months_before + cells.model.months_after
    nb, na = unit_counts
    # each scope's rate ratio is adjusted for its own season (the units' model fits theirs; the
    # rest's cells are fitted here): a season that differs between the units and the rest
    # stays out of both rows, and each estimate's uncertainty enters its row and their ratio
    s_hot = _model_season(units.model)
    nan = float("nan")
    if nb + na == 0:
        vh = None
        first = ScopeChange(names[0], nan, nan, nan, nan, "no significant change", nb, na, nan, nan)
    else:
        ut = units.table
        lh, vh, vh0, th, thd, hcd = _areas_pooled(ut["n_after"].to_numpy(), ut["n_before"].to_numpy(), months, units, s_hot.ratio)
        vh, vh0 = vh + s_hot.variance, vh0 + s_hot.variance
        first = _row(names[0], lh, vh, vh0, _df(vh, [(th, units)], (s_hot,)), alpha, nb, na, _draws(vh, th, thd), shock)
    s_else = _scope_season(cells, rest)
    eb, ea = int(t.loc[rest, "n_before"].sum()), int(t.loc[rest, "n_after"].sum())
    te_a, te_b = t.loc[rest, "n_after"].to_numpy(), t.loc[rest, "n_before"].to_numpy()
    ve, ve0, te, ted, ecd = _scope_variance(te_a, te_b, months, cells, s_else.ratio)
    le = np.log(max(ea, 0.5) / max(eb, 0.5)) - np.log(s_else.ratio)
    ve, ve0 = ve + s_else.variance, ve0 + s_else.variance
    second = _row(names[1], le, ve, ve0, _df(ve, [(te, cells)], (s_else,)), alpha, eb, ea, _draws(ve, te, ted), shock)
    if vh is None:
        third = ScopeChange(names[2], nan, nan, nan, nan, "no significant change", nb, na, nan, nan)
    else:
        # both in ascending order: the units' and the cells' tau2 are taken to be large together
        # (the two seasons are fitted to different totals: both uncertainties count); when one
        # side averages over its draws (an estimate of 0) and the other has a positive estimate,
        # the other enters by its own confidence distribution too (its point value would drop its
        # uncertainty)
        if (thd is None) != (ted is None):
            thd, ted = (hcd if thd is None else thd), (ecd if ted is None else ted)
        both = _draws(vh, th, thd, ve, te, ted)
        df_vs = _df(vh + ve, [(th, units), (te, cells)], (s_hot, s_else))
        third = _row(names[2], lh - le, vh + ve, vh0 + ve0, df_vs, alpha, nb, na, both, _shock_part(share))
    return (first, second, third), (s_hot.variance, s_else.variance)


def _shock_part(shocks: MonthShocks | None) -> tuple[float, np.ndarray] | None:
    """The ``shock`` of :func:`_row` from estimated shocks: their part of a log after / before
    ratio as (point value, equally likely values); None when not estimated."""
    if shocks is None or not shocks.estimated:
        return None
    c = shocks.log_ratio_share()
    return c * shocks.variance, c * np.asarray(shocks.draws)


def group_shocks(cells: ChangeResult, units: ChangeResult, group: np.ndarray, rest: np.ndarray) -> MonthShocks | None:
    """Month-to-month shocks of a group of cells' share of the study area against the ``rest``
    (both masks over ``cells.table``'s rows; e.g. the hotspot areas' cells and the other cells):
    :func:`hotspots.month_shocks.share_shocks` on their monthly totals of the cells' panel, each
    of ``units`` (the group's areas) one unit of the group's own month-to-month variation
    (``kappa``), each cell of the rest one. Shocks shared by the hotspot areas but not by the rest
    (a town centre's busy months) do not cancel in "hotspots vs elsewhere": without them that row
    was too sure (Nottinghamshire 2025, whose hotspots' monthly share runs 36-50 %: months
    relabelled at random, a change in 13 of 40 draws). None without a panel or with too few months."""
    panel = cells.panel
    if panel is None or panel.counts.shape[0] != len(cells.table):
        return None
    use = np.asarray(panel.exposure, dtype=float) > 0
    counts = np.asarray(panel.counts, dtype=float)[:, use]
    g, r = np.asarray(group, dtype=bool), np.asarray(rest, dtype=bool)
    ut = units.table
    unit_tot = (ut["n_before"].to_numpy() + ut["n_after"].to_numpy()) if len(ut) else np.zeros(0)
    rest_tot = counts[r].sum(axis=1)
    return share_shocks(
        counts[g].sum(axis=0), counts[r].sum(axis=0), panel.month[use], panel.label[use],
        k_share2_group=units.dispersion.kappa * squared_shares(unit_tot),
        k_share2_rest=cells.dispersion.kappa * squared_shares(rest_tot),
        # month-of-year effects wherever the months recur across the levels (the rows are then
        # adjusted for season, or their periods hold the same calendar months, where it cancels)
        seasonal=True,
    )


def study_shocks(
    cells: ChangeResult, areas: ChangeResult, labels: np.ndarray
) -> tuple[bool, MonthShocks | None, tuple[float, np.ndarray] | None]:
    """The month-to-month shocks shared by the study area (:mod:`hotspots.month_shocks`) from the
    cells' panel, with each hotspot area (``labels``, grid shape) one unit of its own variation:
    ``(the cells have a panel, the shocks or None, their part of a log after / before ratio of
    totals as (point value, equally likely values) or None when not estimated)``: the ``shock`` of
    :func:`_row`."""
    t = cells.table
    has_panel = cells.panel is not None and cells.panel.counts.shape[0] == len(t)
    shocks = None
    if has_panel:
        # a hotspot area's cells vary together: the area is one unit of its own variation there
        area_of = np.asarray(labels)[t["row"].to_numpy(), t["col"].to_numpy()]
        shocks = panel_month_shocks(cells.panel, cells.dispersion.kappa, area_of, areas.dispersion.kappa)
    return has_panel, shocks, _shock_part(shocks)


def summarise_change(
    cells: ChangeResult, areas: ChangeResult, labels: np.ndarray, *, alpha: float | None = None
) -> ChangeSummary:
    """Pool cell and area results into the three scopes (module docs).

    Parameters
    ----------
    cells : ChangeResult
        :func:`~hotspots.change.change_cells` over the study area (``test="overdispersed"``).
    areas : ChangeResult
        :func:`~hotspots.change.change_areas` of the hotspot areas (``test="overdispersed"``).
    labels : ndarray of int, grid shape
        Area id of each cell (0: not a hotspot), e.g. ``HotspotAreas.labels``.
    alpha : float, optional
        Default: the cells' ``alpha``.
    """
    for name, r in (("cells", cells), ("areas", areas)):
        if not isinstance(r, ChangeResult) or r.model is None:
            raise ParameterError(f"`{name}` must be an overdispersed ChangeResult (`test='overdispersed'`).")
    if cells.unit != "cell" or areas.unit != "area":
        raise ParameterError("`cells` must come from `change_cells` and `areas` from `change_areas`.")
    a = float(cells.alpha if alpha is None else alpha)
    t = cells.table
    lab = np.asarray(labels)
    if cells.grid is None or lab.shape != cells.grid.shape:
        raise ParameterError("`labels` must have the shape of the cells' grid.")
    in_hot = lab[t["row"].to_numpy(), t["col"].to_numpy()] > 0
    hb, ha = int(t.loc[in_hot, "n_before"].sum()), int(t.loc[in_hot, "n_after"].sum())
    notes: list[str] = []
    # month-to-month shocks shared by the whole study area: in both absolute rows, not their ratio
    has_panel, shocks, shock = study_shocks(cells, areas, lab)
    if hb + ha == 0:
        notes.append("no incidents fall in the hotspot areas in either period; the hotspot rows are not defined")
    share = group_shocks(cells, areas, in_hot, ~in_hot) if has_panel and hb + ha > 0 else None
    found, (var_hot, var_else) = units_against_rest(cells, areas, ~in_hot, SCOPES, (hb, ha), alpha=a, shock=shock, share=share)
    rows = list(found)
    da, dc = areas.dispersion, cells.dispersion
    method = (
        "all hotspot areas: the areas' rate ratios pooled by precision (random-effects weights 1 / (v + tau2)); "
        "elsewhere: the ratio of its totals; "
        f"overdispersed variances (areas: kappa {da.kappa:.3g}, tau2 {da.tau2:.3g} from "
        f"{da.tau2_source}; "
        f"cells: kappa {dc.kappa:.3g}, tau2 {dc.tau2:.3g} from {dc.tau2_source}); hotspots vs elsewhere = ratio of the two rate "
        f"ratios; {1 - a:.0%} intervals; no adjustment across the three rows"
    )
    if shocks is not None and shocks.estimated:
        method += (
            f"; the two absolute rows include month-to-month shocks shared by the study area (sd {np.sqrt(shocks.variance):.3g} "
            + (
                "on the log scale, assumed from 37 forces' 2025 ASB: too few months to estimate it)" if shocks.assumed else
                f"on the log scale, {shocks.df} df, "
                + {SEASON_MODELS[0]: "season fitted month by month", SEASON_MODELS[1]: "season fitted by one harmonic"}.get(
                    shocks.season, "no season fitted"
                )
                + ")"
            )
        )
    if share is not None and share.estimated:
        method += (
            "; hotspots vs elsewhere includes month-to-month shocks of the hotspot areas' share "
            f"(sd {np.sqrt(share.variance):.3g} on the log-odds scale, {share.df} df)"
        )
    if areas.model.seasonal_identified and cells.model.seasonal_identified:
        notes.append(
            "seasonality: the periods cover different calendar months; each row is adjusted for the season of its own "
            "monthly totals in the other months of the data (Poisson GLM), uncertain by "
            f"{np.sqrt(var_hot):.1%} for the hotspot areas and {np.sqrt(var_else):.1%} elsewhere (log scale), "
            "which the intervals and p-values include; places whose season differs from their row's keep the difference"
        )
    else:
        notes += [n for n in cells.notes if n.startswith("seasonality")]
    if shocks is not None and shocks.estimated:
        notes.append(shocks.describe())
    elif has_panel:
        notes.append(SHOCKS_NOT_ESTIMATED_NOTE)
    if share is not None and share.estimated:
        notes.append(share.describe_share())
    elif has_panel and hb + ha > 0:
        notes.append(SHARE_NOT_ESTIMATED_NOTE)
    # the pooled rows use the same tau2 estimates: the same caveat when they came from the
    # compared periods themselves
    notes += [n for n in (*areas.notes, *cells.notes) if n == COMPARISON_TAU2_NOTE]
    # and when the periods reach beyond day-dated data's first or last date (the days counted)
    notes += [n for n in cells.notes if n.startswith(DATES_NOTE_START)]
    return ChangeSummary(
        tuple(rows), a, cells.before, cells.after, method, tuple(dict.fromkeys(n for n in notes if n)), False,
        {
            "areas_dispersion": da.to_dict(), "cells_dispersion": dc.to_dict(), "n_areas": int(len(areas.table)),
            "month_shocks": None if shocks is None else shocks.to_dict(),
            "share_shocks": None if share is None else share.to_dict(),
            # the days each period counted (its months left out excluded): rates are per day
            "days": [float(cells.exposure_before_days), float(cells.exposure_after_days)],
        },
        cells.left_out,
    )


def selection_overlap_note(selected_on: Period | None, before: Period, after: Period) -> tuple[str | None, bool]:
    """A warning when the hotspots were chosen from months overlapping the compared periods.

    Places picked for being busy in some months were busy there partly by chance, so they look
    quieter in other months (regression to the mean). Chosen mostly from the before period, the
    after period looks quieter: a fall is expected with no effect. Chosen mostly from the after
    period, the before period looks quieter: a rise is expected.

    Returns ``(note or None, favours_fall)``: ``favours_fall`` is True when the selection
    months overlap the before period more than the after period.

    Examples
    --------
    >>> before, after = Period.from_months("2025-01", "2025-06"), Period.from_months("2025-07", "2025-12")
    >>> note, favours_fall = selection_overlap_note(after, before, after)  # chosen from the after period
    >>> favours_fall
    False
    >>> print(note)  # doctest: +NORMALIZE_WHITESPACE
    regression to the mean: hotspots were chosen from Jul 2025 – Dec 2025, which overlaps the after period more than
    the before period; places picked for being busy in those months were busy partly by chance, so the before period
    looks quieter: a rise is expected even with no effect. Choose hotspots from months outside the compared periods.
    """
    if selected_on is None:
        return None, False
    share_b, share_a = selection_shares(selected_on, (before, after))
    if share_b == 0 and share_a == 0:
        return None, False
    chosen = selected_on.describe(label=False)
    if selection_treats_alike(selected_on, (before, after)):
        return (
            f"hotspots were chosen from {chosen}, which covers the before and after periods alike: "
            "selection does not favour a fall or a rise",
            False,
        )
    side, other = ("before", "after") if share_b > share_a else ("after", "before")
    effect = "fall" if side == "before" else "rise"
    return (
        f"regression to the mean: hotspots were chosen from {chosen}, which overlaps the {side} period more than the "
        f"{other} period; places picked for being busy in those months were busy partly by chance, so the {other} period "
        f"looks quieter: a {effect} is expected even with no effect. Choose hotspots from months outside the compared "
        "periods.",
        side == "before",
    )


def with_selection(summary: ChangeSummary, selected_on: Period | None) -> ChangeSummary:
    """The summary with the regression-to-the-mean check of the months the hotspots were chosen
    from: its note (:func:`selection_overlap_note`) added, and the verdict of each hotspot row
    (:data:`SELECTED_SCOPES`) that is significant in the direction the choice favours carrying
    :data:`SELECTION_CAVEAT`, e.g. ``"significant rise (expected from how hotspots were chosen)"``.
    The one rule for the CSV, the app, the command line and the briefing. Pure: returns a new
    summary (unchanged when ``selected_on`` is None or favours nothing).

    Parameters
    ----------
    summary : ChangeSummary
    selected_on : Period or None
        The months the hotspots were chosen from.
    """
    note, favours_fall = selection_overlap_note(selected_on, summary.before, summary.after)
    if not note:
        return summary
    side = selection_favours(selected_on, summary.before, summary.after)
    caveats = selection_caveats([r.verdict for r in summary.rows], side)  # the one rule, as each area's change_note
    rows = tuple(
        replace(r, verdict=f"{r.verdict} ({c})") if c is not None and r.scope in SELECTED_SCOPES else r
        for r, c in zip(summary.rows, caveats)
    )
    return replace(
        summary, rows=rows, notes=summary.notes + (note,), regression_to_mean=favours_fall, selection_favours=side
    )


#: How :func:`default_selection_period` says its months lie outside the compared periods.
OUTSIDE = "outside the compared periods (no regression to the mean)"


def default_selection_period(first_month: Any, last_month: Any, before: Period, after: Period) -> tuple[Period, str]:
    """Months to choose hotspots from that do not favour a fall: outside the compared periods
    when the data hold at least as many such months as the before period has, else both periods
    together (which treats before and after alike when they are equally long).

    Parameters
    ----------
    first_month, last_month : date-like
        The data's first and last month.
    before, after : Period

    Returns
    -------
    (Period, str)
        The selection period and a note saying why.
    """
    first = pd.Timestamp(first_month).to_period("M").to_timestamp().date()
    last = (pd.Timestamp(last_month).to_period("M").to_timestamp() + pd.offsets.MonthEnd(0)).date()
    need = max(before.months, 1)
    early_end = min(before.start, after.start) - dt.timedelta(days=1)
    late_start = max(before.end, after.end) + dt.timedelta(days=1)
    if early_end >= first:
        early = Period.from_months(first, early_end, "hotspot months")
        if early.months >= need:
            pick = Period.from_months(pd.Timestamp(early_end) - pd.DateOffset(months=need - 1), early_end, "hotspot months")
            return pick, f"hotspots chosen from {pick.describe(label=False)}, {OUTSIDE}"
    if last >= late_start:
        late = Period.from_months(late_start, last, "hotspot months")
        if late.months >= need:
            return late, f"hotspots chosen from {late.describe(label=False)}, {OUTSIDE}"
    both = Period(min(before.start, after.start), max(before.end, after.end), "hotspot months")
    return both, (
        f"hotspots chosen from both compared periods together ({both.describe(label=False)}): the data hold too few other "
        "months; this treats before and after alike when they are equally long"
    )


def change_summary(
    incidents: Any,
    areas: HotspotAreas,
    before: Period,
    after: Period,
    *,
    alpha: float = 0.05,
    same_months: bool = False,
    selected_on: Period | None = None,
) -> ChangeSummary:
    """The pooled change table for hotspot areas on their grid (module docs).

    Parameters
    ----------
    incidents : GeoDataFrame or IncidentPoints
    areas : HotspotAreas
        From :func:`~hotspots.areas.hotspot_areas` (its grid is the study area).
    before, after : Period
    alpha : float
    same_months : bool
    selected_on : Period, optional
        The months the hotspots were chosen from, to check for regression to the mean (and, when
        they cover the placebo, before and after periods alike, to adjust each area's change for
        its placebo change: ``selected_on`` of :func:`hotspots.change.change_areas`).
    """
    if not isinstance(areas, HotspotAreas):
        raise ParameterError(f"`areas` must be HotspotAreas (from `hotspot_areas`); got {type(areas).__name__}.")
    cells = change_cells(incidents, areas.grid, before, after, alpha=alpha, same_months=same_months)
    if areas.n_areas == 0:
        raise ParameterError("there are no hotspot areas to summarise; the summary needs at least one.")
    res_a = change_areas(
        incidents, areas, before, after, alpha=alpha, same_months=same_months, tau2_fallback=cells.dispersion,
        selected_on=selected_on,
    )
    return with_selection(summarise_change(cells, res_a, areas.labels, alpha=alpha), selected_on)
