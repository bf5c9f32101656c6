"""Before/after change in incident rates, per grid cell or per area, with an exact test.

sfhotspot's ``hotspot_change`` reports counts before and after and their difference only. Here
each cell (or hotspot area) also gets a rate ratio that allows for periods of unequal length, an
exact test and confidence interval, a class (significant fall / no significant change / significant rise),
optional false-discovery-rate control across cells, an option to compare the same calendar months
only, and an option to compare against a control area (ratio of ratios).

Periods
-------
Periods, and which incidents fall in one, are defined in :mod:`hotspots.periods` (both ends
included; an incident dated by month only counts when the first day of its month is inside).
When a period does not start on the first of a month or end on the last day of one, a note
says so and the exposure is the length of the months counted.

The test (one cell or area)
---------------------------
``test="overdispersed"`` (default). Real police.uk counts vary more than Poisson, from month to
month and between periods, so an exact Poisson test calls ordinary variation "significant" (half
of all busy cells in a year with no intervention). Each unit's incidents are counted per calendar
month; the seasonal pattern and two kinds of extra variation are estimated from all units
together (:mod:`hotspots.change_model`, :mod:`hotspots.dispersion`): month-to-month
(negative binomial ``kappa``) and between periods (``tau2``, from a placebo comparison where
nothing was done when the data reach back to it: :func:`hotspots.period_split.split_periods`).
Given the total ``n``, the after count is then beta-binomial
(:func:`hotspots.count_tests.overdispersed_rate_test`): the exact conditional Poisson test below,
with its variance widened by exactly the estimated extra variation. The rate ratio is seasonally
adjusted, the interval is a Wald interval on the log scale with that variance, and ``mde_fall``
is the smallest fall the unit could show at ``alpha`` with 80 % power, so that "no significant change" is
not read as "no effect". The estimates and how they were obtained are in
:attr:`ChangeResult.dispersion` and the notes.

Hotspot areas chosen from months that cover the placebo year, "before" and "after" alike are
judged on their placebo-adjusted change (``selected_on`` of :func:`change_areas`;
:func:`hotspots.change_model.placebo_adjusted_changes`).

``test="poisson"`` (the library's default before issue 12). With ``x_b`` incidents in ``t_b``
days before and ``x_a`` in ``t_a`` days after, the rate ratio is
``RR = (x_a / t_a) / (x_b / t_b)``. Under "no change" (equal Poisson rates) and conditional on the
total ``n = x_a + x_b``, ``x_a ~ Binomial(n, t_a / (t_a + t_b))``: the exact conditional test of
two Poisson rates (Przyborowski & Wilenski 1940; R's ``poisson.test`` with two samples). The
two-sided p-value is scipy's ``binomtest`` (sum of the probabilities no larger than the
observed one), and the confidence interval for RR is the Clopper–Pearson interval for the binomial
proportion ``π`` mapped through ``RR = π/(1-π) · t_b/t_a``. The same numbers as R's
``poisson.test(c(x_a, x_b), c(t_a, t_b))``. Valid only for Poisson counts.

Cells or areas with fewer than ``min_total`` incidents in both periods together (default 5) are
classed ``"too few incidents"`` and not tested: with four incidents and equal periods the smallest
possible two-sided p-value is 0.125, so such cells can never be significant at usual levels and
would only dilute the false-discovery-rate adjustment. They are left out of the FDR family.

Control area (ratio of ratios)
------------------------------
With ``test="overdispersed"`` the log ratio of ratios is tested with a normal z whose variance
is the sum of the unit's and the control area's overdispersed variances. With ``test="poisson"``:
With a control area whose counts are ``c_b`` and ``c_a`` over the same periods, the effect is the
ratio of ratios ``RoR = (x_a / x_b) / (c_a / c_b)`` (period lengths cancel). With four
independent Poisson counts and conditional on the margins of the 2×2 table
``[[x_a, x_b], [c_a, c_b]]``, ``x_a`` follows Fisher's noncentral hypergeometric distribution
whose odds ratio is RoR, so the exact conditional test of ``RoR = 1`` is Fisher's exact test and
the exact confidence interval is the conditional one (``scipy.stats.contingency.odds_ratio(...,
kind="conditional")``). The point estimate reported is the sample ratio of ratios. With a control,
classes refer to the change **relative to the control area**.

Multiple testing
----------------
With ``fdr=True`` (default) p-values of the tested cells are adjusted by Benjamini–Hochberg
(:func:`hotspots.fdr.bh_adjust`) and a cell is significant when its adjusted p-value is at most
``alpha`` (without FDR: its p-value). Confidence intervals are not adjusted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import validation
from ._errors import CRSError, ParameterError, SchemaError
from .area_hits import cell_area_hits, control_geometry, points_in, polygon_hits
from .areas import HotspotAreas
from .change_model import (
    AFTER,
    BEFORE,
    PLACEBO,
    PLACEBO_BEFORE,
    ChangeModel,
    MonthlyPanel,
    fit_change_model,
    monthly_panel,
    unit_change_tests,
)
from .count_tests import bh_adjust_tested, rate_ratio_test, ratio_of_ratios_test
from .dispersion import Overdispersion
from .grid import Grid, GridValues
from .incident_time import IncidentPoints, incident_dates, incident_points, incident_xy
from .month_shocks import with_unit_shocks
from .period_split import PeriodSplit, period_months_text, split_periods

# Periods live in hotspots.periods; re-exported here for code that imported them from this module.
from .periods import SELECTION_CAVEAT, Period, periods_around, selection_caveats, selection_favours, selection_treats_alike

__all__ = [
    "Period",
    "periods_around",
    "ChangeResult",
    "change_cells",
    "change_areas",
    "rate_ratio_test",
    "ratio_of_ratios_test",
    "incident_dates",
    "IncidentPoints",
    "incident_points",
    "CHANGE_CLASSES",
    "finite_for_files",
    "DAYS_PER_MONTH",
    "CHANGE_TESTS",
    "TEST_LABELS",
    "PeriodSplit",
    "split_periods",
]

#: Tests offered by ``test=``.
CHANGE_TESTS = ("overdispersed", "poisson")
#: The tests in a few words, for captions (:attr:`ChangeResult.test_label`).
TEST_LABELS = {"overdispersed": "overdispersed count test", "poisson": "exact conditional Poisson test"}
#: Classes, in display order.
CHANGE_CLASSES = ("significant fall", "no significant change", "significant rise", "too few incidents")
#: Label for cells lying in the control area (not tested).
CONTROL_CLASS = "control area"
#: Overlaps smaller than this (m²) are floating-point noise from polygon arithmetic, not overlaps.
OVERLAP_TOLERANCE_M2 = 1.0
#: Rates are expressed per average month of 365.25 / 12 days.
DAYS_PER_MONTH = 365.25 / 12


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class ChangeResult:
    """Before/after change per cell or per area.

    Attributes
    ----------
    table : DataFrame
        One row per cell (``row``, ``col``) or area (``area_id``), with columns
        ``n_before``, ``n_after`` (incidents counted in each period: raw counts, periods of possibly
        different lengths), ``change_per_day`` (``rate_after_per_day`` − ``rate_before_per_day``,
        incidents per day), ``rate_before_per_day``, ``rate_after_per_day`` (incidents per day counted
        in each period: ``exposure_before_days``, ``exposure_after_days``), ``rate_ratio``, ``rate_ratio_low``,
        ``rate_ratio_high`` (CI at level 1 − alpha), ``p_value``, ``p_adjusted`` (only with
        ``fdr=True``), ``significant`` (bool), ``change_class``; with ``test="overdispersed"``
        also ``phi`` (the unit's month-level dispersion) and ``mde_fall`` (smallest detectable
        fall, 0–1); with a control area also ``ratio_of_ratios``, ``ratio_of_ratios_low``,
        ``ratio_of_ratios_high`` (then ``p_value`` tests the ratio of ratios).
    geometry : GeoSeries
        Cell squares or area polygons, aligned with ``table``.
    unit : str
        ``"cell"`` or ``"area"``.
    before, after : Period
    exposure_before_days, exposure_after_days : float
        Days counted in each period (after the same-months restriction, if any).
    alpha, fdr, min_total, same_months
        The arguments used.
    common_months : tuple of int or None
        Calendar months (1–12) kept with ``same_months=True``.
    control : dict or None
        ``{"before": c_b, "after": c_a, "description": ...}`` when a control area was used.
    time_resolution : str
        ``"day"``, ``"month"`` or ``"mixed"``: how precisely incidents were dated.
    grid : Grid or None
        The grid, for cell results.
    notes : tuple of str
        Decisions and warnings to show with the result.
    test : str
        ``"overdispersed"`` or ``"poisson"``.
    model : ChangeModel or None
        Seasonal weights and the estimated extra variation (``test="overdispersed"``).
    left_out : tuple of (int, str)
        The compared periods' months left out of the counts and the exposure (``year * 12 + month
        - 1``) and why: ``"no data"`` or ``"published in part"``
        (:meth:`hotspots.period_split.PeriodSplit.left_out`; in words: :meth:`period_text`).
    selection_favours : str or None
        Per-area change: ``"fall"`` or ``"rise"`` when the months the hotspots were chosen from
        favour that change with no effect (regression to the mean: :func:`hotspots.periods.selection_favours`),
        else None. Its significant changes carry :data:`hotspots.periods.SELECTION_CAVEAT`
        (:meth:`selection_notes`, :meth:`counts_text`).
    """

    table: pd.DataFrame
    geometry: gpd.GeoSeries
    unit: str
    before: Period
    after: Period
    exposure_before_days: float
    exposure_after_days: float
    alpha: float
    fdr: bool
    min_total: int
    same_months: bool
    common_months: tuple[int, ...] | None
    control: dict[str, Any] | None
    time_resolution: str
    grid: Grid | None = None
    notes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    test: str = "poisson"
    model: ChangeModel | None = None
    panel: MonthlyPanel | None = field(default=None, repr=False)
    left_out: tuple[tuple[int, str], ...] = ()
    selection_favours: str | None = None

    def selection_notes(self, area_ids: Any = None) -> np.ndarray:
        """:data:`hotspots.periods.SELECTION_CAVEAT` for each unit whose significant change the choice of
        hotspot months predicts (:attr:`selection_favours`), None elsewhere (the one rule,
        :func:`hotspots.periods.selection_caveats`, as the pooled rows'): row by row with :attr:`table`,
        or, given ``area_ids``, in their order (None for an id the table lacks). Cells: their ``change_note``
        when the hotspot areas are known (only theirs are caveated: :func:`hotspots.cell_selection.with_hotspot_cells`)."""
        t = self.table
        notes = (t["change_note"].to_numpy(dtype=object) if "change_note" in t.columns
                 else selection_caveats(t["change_class"].to_numpy(dtype=object), self.selection_favours))
        if area_ids is None:
            return notes
        by_id = dict(zip(self.table["area_id"].tolist(), notes))
        return np.array([by_id.get(i) for i in list(area_ids)], dtype=object)

    def period_text(self, which: str) -> str:
        """The ``"before"`` or ``"after"`` period's range and the months of it left out, and why
        (:func:`hotspots.period_split.period_months_text`), e.g. ``"Jul 2025 – Dec 2025 (5 of 6
        months counted; left out: Aug 2025, published in part)"``."""
        if which not in ("before", "after"):
            raise ParameterError(f"`which` must be 'before' or 'after'; got {which!r}.")
        return period_months_text(self.before if which == "before" else self.after, self.left_out)

    @property
    def dispersion(self) -> Overdispersion | None:
        """The estimated extra variation (``test="overdispersed"``), else None."""
        return None if self.model is None else self.model.dispersion

    @property
    def test_label(self) -> str:
        """The test in a few words for captions: ``"overdispersed count test"`` or ``"exact conditional Poisson test"``."""
        return TEST_LABELS.get(self.test, self.test)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The table with the cell or area geometries."""
        return gpd.GeoDataFrame(self.table.copy(), geometry=self.geometry.reset_index(drop=True).values, crs=self.geometry.crs)

    def judged_rate_ratio(self) -> pd.Series:
        """The rate ratio each unit's verdict was judged on, row by row with :attr:`table`:
        ``rate_ratio_adjusted`` (placebo-adjusted) when the table has it, else ``rate_ratio``."""
        t = self.table
        return t["rate_ratio_adjusted"] if "rate_ratio_adjusted" in t.columns else t["rate_ratio"]

    def summary(self) -> pd.Series:
        """Number of cells/areas per class (every class listed, zeros included)."""
        order = list(CHANGE_CLASSES) + ([CONTROL_CLASS] if (self.table["change_class"] == CONTROL_CLASS).any() else [])
        return self.table["change_class"].value_counts().reindex(order, fill_value=0).astype(int)

    def counts_text(self) -> str:
        """The units per class in words, so that the counts add up to the units (the one rule for the
        command line's summary, captions and the briefing).

        The test's three verdicts are always listed (a 0 says something); ``"too few incidents"``
        and ``"control area"`` only when some unit has them. E.g. ``"significant fall 1, no
        significant change 32, significant rise 1, too few incidents 5"``; the class the choice of hotspot
        months predicts (:meth:`selection_notes`) is followed by ``"(expected from how hotspots were chosen)"``, or,
        for cells, by how many of them (those of hotspot areas) it is said of: ``"(12 in hotspot areas, expected ...)"``.
        """
        s = self.summary()
        always = set(CHANGE_CLASSES) - {"too few incidents"}
        flagged = pd.Series(pd.notna(self.selection_notes())).groupby(self.table["change_class"].astype(str).to_numpy()).sum()

        def said(k: str, v: int) -> str:  # regression to the mean predicts it (selection_notes)
            n = int(flagged.get(k, 0))
            return "" if n == 0 else f" ({SELECTION_CAVEAT})" if n == v else f" ({n:,} in hotspot areas, {SELECTION_CAVEAT})"

        return ", ".join(f"{k} {int(v):,}{said(k, int(v))}" for k, v in s.items() if k in always or v > 0)

    def detectable_falls_text(self) -> str:
        """The smallest falls the units' tests could detect (80 % power, ``mde_fall``) in words, so that
        "no significant change" is not read as "no effect": ``"each hotspot area's own test could detect
        only a fall of 57–58 % or more (80 % power); smaller falls read as no significant change"``;
        ``""`` without the column or a finite value. One rule for the command line's summary.

        On Cleveland's 2025 ASB every area's was 57 % whether it held 113 or 821 incidents: the
        places' own year-to-year variation (``tau2``), not the counts, sets it.
        """
        if "mde_fall" not in self.table.columns:
            return ""
        v = pd.to_numeric(self.table["mde_fall"], errors="coerce").to_numpy(dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size == 0:
            return ""
        who = {"area": "each hotspot area's own test", "cell": "each cell's own test"}.get(self.unit, "each unit's own test")
        can = v[v < 1.0]
        if can.size == 0:
            return f"{who} could not detect even a fall to 0 (80% power): too few incidents or too variable"
        # a fall of 99.6 % read "a fall of 30–100% or more" (Hertfordshire, Humberside): under 1, never said as 100
        lo, hi = (f"{np.floor(x * 1000) / 10:.1f}" if round(x * 100) >= 100 else f"{round(x * 100)}"
                  for x in (float(can.min()), float(can.max())))
        span = f"{lo}%" if lo == hi else f"{lo}–{hi}%"
        text = f"{who} could detect only a fall of {span} or more (80% power); smaller falls read as no significant change"
        if can.size < v.size:
            text += f" ({v.size - can.size:,} could not detect even a fall to 0)"
        return text

    def to_gridvalues(self, column: str = "rate_ratio") -> GridValues:
        """A numeric column as a :class:`GridValues` (cell results only), NaN elsewhere."""
        if self.unit != "cell" or self.grid is None:
            raise ParameterError("`to_gridvalues` works on cell results (`change_cells`), not on areas.")
        if column not in self.table.columns:
            raise ParameterError(f"no column {column!r}; choose one of {list(self.table.columns)}.")
        v = np.full(self.grid.shape, np.nan)
        col = self.table[column]
        if col.dtype == bool:
            col = col.astype(float)
        v[self.table["row"].to_numpy(), self.table["col"].to_numpy()] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        return GridValues(v, self.grid, name=column, units="", params=dict(self.params))

    def describe(self) -> str:
        """One paragraph for captions: periods, test, adjustment, units per class (:meth:`counts_text`)."""
        adj = "Benjamini–Hochberg FDR" if self.fdr else "no multiple-testing adjustment"
        if self.test == "overdispersed":
            ctrl = " relative to the control area (ratio of ratios)" if self.control else ""
            d = self.dispersion
            how = f"{self.test_label}{ctrl} (kappa {d.kappa:.3g}, tau2 {d.tau2:.3g}, {d.tau2_source})"
        else:
            ctrl = " relative to the control area (ratio of ratios, Fisher's exact test)" if self.control else ""
            how = f"{self.test_label}{ctrl}"
        return (
            f"{self.before.describe()} ({self.exposure_before_days:g} days) vs {self.after.describe()} "
            f"({self.exposure_after_days:g} days); {how}, alpha {self.alpha:g}, {adj}; {self.unit}s: {self.counts_text()}"
        )


def finite_for_files(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a change table (or any table holding one's columns) as files write it.

    * Every number that is not finite becomes missing (empty in CSV, null in GeoPackage and
      GeoJSON). A unit with no incident before has an infinite rate ratio: in memory it stays
      ``inf`` (it sorts above every rise), but JSON has no infinity and QGIS's statistics and
      symbology break on it, so every format writes it empty alike.
    * A ratio whose estimate is not finite has no interval either: for a count of 0 before, the
      interval (``<ratio>_low``, ``<ratio>_high``) is centred on the estimate with 0.5 in place of the 0
      (:func:`hotspots.change_model.unit_change_tests`), so its ends are set by that 0.5, not by the
      data (0 before and 1 after gave 0.062–62, centred on the ratio the 0.5 makes; the data set
      no upper limit), and the estimate would lie outside its own interval. An interval that does
      not hold its estimate is not written (the overdispersed test's interval, its inversion, runs
      from 0 for a count of 0 after, so that one is). ``rate_ratio``'s interval belongs to the change judged
      (``rate_ratio_adjusted`` where that is finite); a column prefix (``change_rate_ratio``) is
      followed. The p-value and class stay as tested.

    Examples
    --------
    >>> t = pd.DataFrame({"n_before": [0, 4, 1], "rate_ratio": [np.inf, 0.5, 0.0], "rate_ratio_low": [0.062, 0.1, 0.016],
    ...                   "rate_ratio_high": [62.0, 2.5, 15.4]})
    >>> finite_for_files(t).to_dict("list")
    {'n_before': [0, 4, 1], 'rate_ratio': [nan, 0.5, 0.0], 'rate_ratio_low': [nan, 0.1, nan], 'rate_ratio_high': [nan, 2.5, nan]}
    """
    out = table.copy()
    for c in out.columns:
        low, high = f"{c}_low", f"{c}_high"
        if low not in out.columns or high not in out.columns or not pd.api.types.is_numeric_dtype(out[c].dtype):
            continue
        est = pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float)
        adjusted = f"{c}_adjusted"
        if adjusted in out.columns:  # the interval is the judged change's: the adjusted one where it exists
            adj = pd.to_numeric(out[adjusted], errors="coerce").to_numpy(dtype=float)
            est = np.where(np.isfinite(adj), adj, est)
        lo = pd.to_numeric(out[low], errors="coerce").to_numpy(dtype=float)
        hi = pd.to_numeric(out[high], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            outside = (est < lo) | (est > hi)  # a fall to 0: the 0.5 in the 0's place sets the interval too
        unbounded = ~np.isfinite(est) | outside
        if unbounded.any():
            out.loc[unbounded, [low, high]] = np.nan
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s.dtype) and np.isinf(s.to_numpy(dtype=float, na_value=np.nan)).any():
            out[c] = s.mask(np.isinf(s.to_numpy(dtype=float, na_value=np.nan)))
    return out


# =============================================================================== shared machinery
def _check_options(alpha: float, min_total: int, test: str = "poisson") -> None:
    if test not in CHANGE_TESTS:
        raise ParameterError(f"`test` must be one of {list(CHANGE_TESTS)}; got {test!r}.")
    validation.alpha(alpha)
    validation.whole(min_total, "min_total", low=1)


def _classify(df: pd.DataFrame, tested: np.ndarray, effect: np.ndarray, alpha: float, fdr: bool) -> pd.DataFrame:
    p = df["p_value"].to_numpy(dtype=float).copy()
    p[~tested] = np.nan
    df["p_value"] = p
    if fdr:
        df["p_adjusted"] = bh_adjust_tested(p)
        decide = df["p_adjusted"].to_numpy()
    else:
        decide = p
    sig = tested & ~np.isnan(decide) & (np.nan_to_num(decide, nan=1.0) <= alpha)
    df["significant"] = sig
    cls = np.full(len(df), "no significant change", dtype=object)
    cls[sig & (effect < 1)] = "significant fall"
    cls[sig & (effect > 1)] = "significant rise"
    cls[~tested] = "too few incidents"
    df["change_class"] = cls
    return df


def _build_table(
    n_b: np.ndarray,
    n_a: np.ndarray,
    sp: PeriodSplit,
    *,
    alpha: float,
    fdr: bool,
    min_total: int,
    control_counts: tuple[int, int] | None,
    excluded: np.ndarray | None = None,
    model: ChangeModel | None = None,
    n_placebo: np.ndarray | None = None,
) -> pd.DataFrame:
    n_b = n_b.astype(np.int64)
    n_a = n_a.astype(np.int64)
    # the published difference is per day, as the rates are: raw counts of periods of different lengths do not
    # compare (90 days against 275 gave +27 incidents beside a rate ratio of 0.88); the counts stay as n_before/n_after
    df = pd.DataFrame({"n_before": n_b, "n_after": n_a})
    df["change_per_day"] = n_a / sp.t_after - n_b / sp.t_before
    df["rate_before_per_day"] = n_b / sp.t_before
    df["rate_after_per_day"] = n_a / sp.t_after
    if model is None:
        rr = rate_ratio_test(n_b, n_a, sp.t_before, sp.t_after, alpha=alpha)
    else:
        rr = unit_change_tests(n_b, n_a, model, alpha=alpha, n_placebo=n_placebo)
    for c in ("rate_ratio", "rate_ratio_low", "rate_ratio_high", "rate_ratio_adjusted"):
        if c in rr:
            df[c] = rr[c].to_numpy()
    total = n_a + n_b
    tested = total >= min_total
    if excluded is not None:
        tested &= ~excluded
    if control_counts is None:
        df["p_value"] = rr["p_value"].to_numpy()
        effect = df["rate_ratio"].to_numpy()
        if "rate_ratio_adjusted" in df:
            # the verdict's direction follows the change it was judged on
            effect = np.where(np.isfinite(df["rate_ratio_adjusted"]), df["rate_ratio_adjusted"], effect)
    elif model is None:
        cb, ca = control_counts
        ror = ratio_of_ratios_test(n_b, n_a, cb, ca, alpha=alpha)
        for c in ("ratio_of_ratios", "ratio_of_ratios_low", "ratio_of_ratios_high"):
            df[c] = ror[c].to_numpy()
        df["p_value"] = ror["p_value"].to_numpy()
        effect = df["ratio_of_ratios"].to_numpy()
    else:
        ror = _overdispersed_ratio_of_ratios(n_b, n_a, control_counts, model, alpha)
        for c in ("ratio_of_ratios", "ratio_of_ratios_low", "ratio_of_ratios_high", "p_value"):
            df[c] = ror[c]
        effect = df["ratio_of_ratios"].to_numpy()
    if model is not None:
        df["phi"] = rr["phi"].to_numpy()
        df["mde_fall"] = rr["mde_fall"].to_numpy()
    df = _classify(df, tested, effect, alpha, fdr)
    if excluded is not None and excluded.any():
        df.loc[excluded, "change_class"] = CONTROL_CLASS
        df.loc[excluded, "significant"] = False
    return df


def _overdispersed_ratio_of_ratios(
    n_b: np.ndarray, n_a: np.ndarray, control: tuple[int, int], model: ChangeModel, alpha: float
) -> dict[str, np.ndarray]:
    """Log ratio of ratios with the overdispersed variances of the unit and the control, normal z."""
    from scipy import stats

    cb, ca = control
    d = model.dispersion
    months = model.months_before + model.months_after
    b, a = n_b.astype(float), n_a.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi_u = d.phi((a + b) / months)
        phi_c = d.phi((ca + cb) / months)
        est = (a / b) / (ca / cb)
        centre = np.log(np.maximum(a, 0.5) / np.maximum(b, 0.5)) - np.log(ca / cb)
        se = np.sqrt(phi_u * (1 / np.maximum(a, 0.5) + 1 / np.maximum(b, 0.5)) + phi_c * (1 / ca + 1 / cb) + 2 * d.tau2)
        z = centre / se
    zc = stats.norm.ppf(1 - alpha / 2)
    nz = (a + b) > 0
    return {
        "ratio_of_ratios": np.where(nz, est, np.nan),
        "ratio_of_ratios_low": np.where(nz, np.exp(centre - zc * se), np.nan),
        "ratio_of_ratios_high": np.where(nz, np.exp(centre + zc * se), np.nan),
        "p_value": np.where(nz, 2 * stats.norm.sf(np.abs(z)), np.nan),
    }


def _params(
    before: Period, after: Period, alpha: float, fdr: bool, same_months: bool, min_total: int, model: ChangeModel | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "before": [before.start.isoformat(), before.end.isoformat()],
        "after": [after.start.isoformat(), after.end.isoformat()],
        "alpha": alpha,
        "fdr": "benjamini-hochberg" if fdr else "none",
        "same_months": same_months,
        "min_total": min_total,
        "test": "exact conditional Poisson (binomial) test; Clopper-Pearson CI",
    }
    if model is not None:
        out["test"] = "overdispersed conditional test (beta-binomial); Wald CI on the log scale"
        out["dispersion"] = model.dispersion.to_dict()
        out["seasonality_modelled"] = model.seasonal_identified
        if model.placebo_adjusted:
            out["test"] += "; each unit's change adjusted for its placebo change (analysis of covariance, log scale)"
        out["placebo_adjusted"] = model.placebo_adjusted
    return out


def _slot_labels(sp: PeriodSplit) -> tuple[np.ndarray, dict[int, tuple[dt.date, dt.date]]]:
    lab = np.zeros(sp.in_before.size, dtype=np.int64)
    periods: dict[int, tuple[dt.date, dt.date]] = {}
    if sp.in_placebo is not None and sp.placebo is not None:
        lab[sp.in_placebo] = PLACEBO
        periods[PLACEBO] = sp.days_of(sp.placebo)
    if sp.in_placebo_before is not None and sp.placebo_before is not None:
        lab[sp.in_placebo_before] = PLACEBO_BEFORE
        periods[PLACEBO_BEFORE] = sp.days_of(sp.placebo_before)
    lab[sp.in_before] = BEFORE
    lab[sp.in_after] = AFTER
    return lab, periods


def _fit_model(
    unit: np.ndarray, n_units: int, sp: PeriodSplit, in_area: np.ndarray, before: Period, after: Period,
    estimate_units: np.ndarray | None, dispersion: Overdispersion | None, tau2_fallback: Overdispersion | None, word: str,
    ref_index: np.ndarray | None = None, unit_cells: tuple[np.ndarray, np.ndarray] | None = None,
    placebo_baseline: bool = False,
) -> tuple[ChangeModel, MonthlyPanel]:
    """Monthly panel of the units and the change model fitted to it."""
    lab, periods = _slot_labels(sp)
    periods[BEFORE] = sp.days_of(before)
    periods[AFTER] = sp.days_of(after)
    month = sp.month if ref_index is None else sp.month[ref_index]
    lab_u = lab if ref_index is None else lab[ref_index]
    panel = monthly_panel(
        unit, n_units, month, in_area if ref_index is None else np.zeros(unit.size, dtype=bool), lab_u, periods,
        sp.resolution == "month", sp.months_filter, sp.missing,
    )
    if ref_index is not None:  # reference totals from every incident in the area, once each
        ref_panel = monthly_panel(
            np.full(sp.month.size, -1), 0, sp.month, in_area, lab, periods, sp.resolution == "month", sp.months_filter,
            sp.missing,
        )
        panel = MonthlyPanel(panel.counts, panel.month, panel.label, panel.exposure, ref_panel.reference)
    model = fit_change_model(
        panel, estimate_units=estimate_units, tau2=None if dispersion is None else dispersion.tau2,
        tau2_fallback=tau2_fallback, unit_word=word, unit_cells=unit_cells, placebo_baseline=placebo_baseline,
        seasonal_reference=panel.counts.sum(axis=0) if ref_index is not None else None,  # areas: their own season
    )
    if dispersion is not None:
        model = dataclasses.replace(model, dispersion=dispersion)
    # the study area's shared month shocks, which each unit's kappa and tau2 leave out
    model, _ = with_unit_shocks(model, panel, whole=ref_index is not None)
    return model, panel


def _grid_dispersion(xy: np.ndarray, grid: Grid, sp: PeriodSplit, before: Period, after: Period) -> Overdispersion:
    """The cells' estimated extra variation on ``grid`` (as :func:`change_cells` fits it)."""
    rows, cols, on_grid = grid.cell_of(xy)
    flat = rows * grid.n_cols + cols
    in_area = on_grid & grid.active.ravel()[flat]
    rr, cc = np.nonzero(grid.active)
    cell_pos = np.full(grid.n_rows * grid.n_cols, -1, dtype=np.int64)
    cell_pos[rr * grid.n_cols + cc] = np.arange(rr.size)
    unit = np.where(in_area, cell_pos[np.where(in_area, flat, 0)], -1)
    model, _ = _fit_model(unit, rr.size, sp, in_area, before, after, None, None, None, "cells", unit_cells=(rr, cc))
    return model.dispersion


# =============================================================================== public verbs
def change_cells(
    incidents: gpd.GeoDataFrame,
    grid: Grid,
    before: Period,
    after: Period,
    *,
    alpha: float = 0.05,
    fdr: bool = True,
    same_months: bool = False,
    control: Any = None,
    min_total: int = 5,
    test: str = "overdispersed",
    dispersion: Overdispersion | None = None,
    missing_months: Any = None,
) -> ChangeResult:
    """Before/after change in each grid cell, with a test per cell (module docs, "The test").

    Parameters
    ----------
    incidents : GeoDataFrame or IncidentPoints
        Points in the grid's CRS with an ``occurred`` and/or ``month`` column
        (see :func:`incident_dates`), or the same read once by :func:`incident_points`.
    grid : Grid
        Cells to compare; only cells in the study area are reported.
    before, after : Period
        Non-overlapping periods (see :func:`periods_around` for the scheme default).
    alpha : float, default 0.05
        Significance level (and 1 − confidence level of the intervals).
    fdr : bool, default True
        Benjamini–Hochberg adjustment across tested cells.
    same_months : bool, default False
        Compare only the calendar months both periods cover (seasonality).
    missing_months : iterable of "YYYY-MM", optional
        Months the data do not cover, left out of the periods (:mod:`hotspots.coverage`).
        Default: found in ``incidents`` (a month with no incident where a typical month holds at
        least 20, or one published in part: far below a typical month and both its neighbours);
        ``()`` turns that off.
    control : polygon, GeoSeries/GeoDataFrame, or boolean array of ``grid.shape``, optional
        A control area. Each cell's change is then tested against the control area's change
        (ratio of ratios). Cells that overlap the control area are labelled ``"control area"``
        and not tested.
    min_total : int, default 5
        Cells with fewer incidents than this in both periods together are ``"too few incidents"``.
    test : {"overdispersed", "poisson"}
        The per-cell test (module docs). ``"overdispersed"`` estimates the extra variation from
        the cells' monthly counts.
    dispersion : Overdispersion, optional
        Use this estimate of the extra variation instead of estimating it (overdispersed test).

    Returns
    -------
    ChangeResult

    Raises
    ------
    ParameterError
        Overlapping periods, a period without incidents, a control area without incidents.
    """
    _check_options(alpha, min_total, test)
    if not isinstance(grid, Grid):
        raise ParameterError(f"`grid` must be a hotspots Grid; got {type(grid).__name__}.")
    sp = split_periods(incidents, before, after, same_months, missing_months)
    xy = incident_xy(incidents, grid.crs)
    rows, cols, on_grid = grid.cell_of(xy)
    active = grid.active
    flat = rows * grid.n_cols + cols
    in_area = on_grid & active.ravel()[flat]
    size = grid.n_rows * grid.n_cols
    cb_arr = np.bincount(flat[in_area & sp.in_before], minlength=size)
    ca_arr = np.bincount(flat[in_area & sp.in_after], minlength=size)
    rr, cc = np.nonzero(active)
    idx = rr * grid.n_cols + cc
    n_b, n_a = cb_arr[idx], ca_arr[idx]
    notes = list(sp.notes)
    control_counts = None
    excluded = None
    control_info = None
    if control is not None:
        if isinstance(control, np.ndarray):
            cm = np.asarray(control)
            if cm.shape != grid.shape or cm.dtype != bool:
                raise ParameterError(
                    f"a cell `control` must be a boolean array of shape {grid.shape}; got {cm.dtype} "
                    f"{cm.shape}."
                )
            cm = cm & active
            if not cm.any():
                raise ParameterError("the `control` cells lie outside the study area; choose cells inside it.")
            excluded = cm[rr, cc]
            c_b, c_a = int(cb_arr[cm.ravel()].sum()), int(ca_arr[cm.ravel()].sum())
            desc = f"{int(cm.sum())} control cell(s)"
        else:
            geom = control_geometry(control, grid.crs)
            polys = grid.cell_polygons(rr, cc)
            excluded = shapely.area(shapely.intersection(polys, geom)) > OVERLAP_TOLERANCE_M2
            inside = points_in(geom, xy)
            c_b, c_a = int((inside & sp.in_before).sum()), int((inside & sp.in_after).sum())
            desc = f"control area of {geom.area / 1e6:.2f} km²"
            if excluded.all():
                raise ParameterError(
                    "the `control` area covers every cell of the study area; it must lie apart from "
                    "the cells analysed."
                )
            if excluded.any():
                notes.append(
                    f"{int(excluded.sum())} cell(s) overlapping the control area are labelled 'control area' "
                    "and not tested."
                )
        if c_b == 0 or c_a == 0:
            raise ParameterError(
                f"the control ({desc}) has {c_b} incident(s) before and {c_a} after; both must be > 0. "
                "Choose a larger control area or longer periods."
            )
        control_counts = (c_b, c_a)
        control_info = {"before": c_b, "after": c_a, "description": desc}
    model = panel = None
    if test == "overdispersed":
        cell_pos = np.full(grid.n_rows * grid.n_cols, -1, dtype=np.int64)
        cell_pos[idx] = np.arange(idx.size)
        unit = np.where(in_area, cell_pos[np.where(in_area, flat, 0)], -1)
        est = None if excluded is None else ~excluded
        model, panel = _fit_model(unit, idx.size, sp, in_area, before, after, est, dispersion, None, "cells", unit_cells=(rr, cc))
        notes += [n for n in model.notes if n not in notes]
        notes.append(model.dispersion.how)
    df = _build_table(
        n_b, n_a, sp, alpha=alpha, fdr=fdr, min_total=int(min_total), control_counts=control_counts, excluded=excluded,
        model=model,
    )
    df.insert(0, "row", rr)
    df.insert(1, "col", cc)
    geometry = gpd.GeoSeries(grid.cell_polygons(rr, cc), crs=grid.crs)
    params = _params(before, after, alpha, fdr, same_months, int(min_total), model) | {"grid": grid.describe()}
    return ChangeResult(
        table=df, geometry=geometry, unit="cell", before=before, after=after, exposure_before_days=sp.t_before,
        exposure_after_days=sp.t_after, alpha=float(alpha), fdr=bool(fdr), min_total=int(min_total),
        same_months=bool(same_months), common_months=sp.common, control=control_info, time_resolution=sp.resolution,
        grid=grid, notes=tuple(notes), params=params, test=test, model=model, panel=panel, left_out=sp.left_out(before, after),
    )


def change_areas(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | HotspotAreas,
    before: Period,
    after: Period,
    *,
    id_column: str | None = None,
    alpha: float = 0.05,
    fdr: bool = False,
    same_months: bool = False,
    control: Any = None,
    min_total: int = 5,
    test: str = "overdispersed",
    dispersion: Overdispersion | None = None,
    tau2_fallback: Overdispersion | None = None,
    selected_on: Period | None = None,
    missing_months: Any = None,
) -> ChangeResult:
    """Before/after change in each polygon (e.g. hotspot areas), with a test per area.

    Parameters
    ----------
    incidents : GeoDataFrame or IncidentPoints
        Points in the same CRS as ``areas``, with ``occurred`` and/or ``month`` (or the same
        read once by :func:`incident_points`).
    areas : GeoDataFrame or HotspotAreas
        Polygons. An incident on a shared boundary, or in overlapping polygons, counts in each.
        :class:`~hotspots.areas.HotspotAreas` (from :func:`~hotspots.areas.hotspot_areas`) give
        the same result faster: their polygons are unions of grid cells, so an incident is placed
        by looking up its cell (incidents on cell edges are tested against the polygons).
    id_column : str, optional
        Column naming each area; default ``"area_id"`` when present, else the index.
    alpha, same_months, min_total, test, dispersion, missing_months
        As in :func:`change_cells`. The extra variation is estimated from the areas themselves.
    fdr : bool, default False
        Benjamini–Hochberg adjustment across the areas. Off by default: hotspot areas are a
        handful of named places, each its own question for the manager (each verdict holds
        ``alpha`` on its own); the pooled verdict (:func:`hotspots.change_summary.change_summary`)
        answers "did the hotspots fall" with a single test. Cells (thousands) use FDR.
    control : polygon or GeoSeries/GeoDataFrame, optional
        A control area, which must not overlap any of ``areas`` (touching is allowed).
    tau2_fallback : Overdispersion, optional
        The cells' model (``change_cells(...).dispersion``). Its between-period variance is used
        when it knows more about ``tau2`` than the areas' own estimate (placebo estimates
        preferred; then more independent places, each counting less the more its counts' noise
        swamps ``tau2``) and the areas' own changes do not rule it out (either way,
        :func:`hotspots.change_model.fit_change_model`), or when fewer than five areas have enough
        incidents; otherwise it is a floor for the areas' own. Default: for :class:`~hotspots.areas.HotspotAreas`, fitted on
        their grid's cells here (as :func:`change_cells` would); for other polygons, none.
    selected_on : Period, optional
        The months the areas were chosen from (e.g. the hotspot analysis' period). When they
        cover the placebo period (the year just before "before": the same calendar months),
        "before" and "after" alike (:func:`hotspots.periods.selection_treats_alike`: all of each, or none),
        each area's change is adjusted for its own change from the placebo period to "before"
        (:func:`hotspots.change_model.placebo_adjusted_changes`: regression to the mean, and a
        longer baseline), which finds falls more often at the same false-alarm rate. Not when
        the areas were chosen from the placebo months alone: they are busy then by selection.
        Default None: not known, not adjusted.

    Returns
    -------
    ChangeResult
        ``table`` has an ``area_id`` column first.
    """
    _check_options(alpha, min_total, test)
    cell_areas = None
    if isinstance(areas, HotspotAreas):
        if id_column in (None, "area_id"):
            cell_areas = areas
        areas = areas.areas
    if not isinstance(areas, gpd.GeoDataFrame):
        raise ParameterError(f"`areas` must be a GeoDataFrame of polygons (or HotspotAreas); got {type(areas).__name__}.")
    if len(areas) == 0:
        raise ParameterError("`areas` is empty; there are no areas to compare.")
    if areas.crs is None:
        raise CRSError("`areas` has no CRS; set it with `.set_crs(27700)` (British National Grid) first.")
    crs = pyproj.CRS(areas.crs)
    geoms = areas.geometry.values
    if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any():
        raise ParameterError("`areas` has missing or empty geometries; drop them first.")
    types = set(shapely.get_type_id(geoms).tolist())
    if not types <= {3, 6}:
        raise ParameterError("`areas` must hold Polygon or MultiPolygon geometries.")
    if id_column is None:
        ids = areas["area_id"].to_numpy() if "area_id" in areas.columns else areas.index.to_numpy()
    else:
        if id_column not in areas.columns:
            raise SchemaError(f"`id_column` {id_column!r} is not a column of `areas`; its columns are {list(areas.columns)}.")
        ids = areas[id_column].to_numpy()
    sp = split_periods(incidents, before, after, same_months, missing_months)
    xy = incident_xy(incidents, crs)
    hits = None
    if cell_areas is not None and cell_areas.grid is not None and pyproj.CRS(cell_areas.grid.crs).equals(crs):
        hits = cell_area_hits(cell_areas, xy)
    hit_pt, hit_area = hits if hits is not None else polygon_hits(geoms, xy)
    n_b = np.bincount(hit_area[sp.in_before[hit_pt]], minlength=len(areas))
    n_a = np.bincount(hit_area[sp.in_after[hit_pt]], minlength=len(areas))
    notes = list(sp.notes)
    control_counts = None
    control_info = None
    if control is not None:
        geom = control_geometry(control, crs)
        overlap = shapely.area(shapely.intersection(geoms, geom))
        if (overlap > OVERLAP_TOLERANCE_M2).any():
            bad = [str(i) for i in ids[overlap > OVERLAP_TOLERANCE_M2][:5]]
            raise ParameterError(
                f"the `control` area overlaps {int((overlap > OVERLAP_TOLERANCE_M2).sum())} of the areas (e.g. "
                f"{', '.join(bad)}); a control must lie "
                "apart from the target areas. Remove the overlap, e.g. `control.difference(areas.union_all())`."
            )
        inside = points_in(geom, xy)
        c_b, c_a = int((inside & sp.in_before).sum()), int((inside & sp.in_after).sum())
        if c_b == 0 or c_a == 0:
            raise ParameterError(
                f"the control area has {c_b} incident(s) before and {c_a} after; both must be > 0. "
                "Choose a larger control area or longer periods."
            )
        control_counts = (c_b, c_a)
        control_info = {"before": c_b, "after": c_a, "description": f"control area of {geom.area / 1e6:.2f} km²"}
    model = panel = None
    if test == "overdispersed" and tau2_fallback is None and dispersion is None and hits is not None:
        # hotspot areas on a grid: their cells' model gives a between-period variance estimated
        # from many more places than a handful of areas (what change_summary passes explicitly)
        tau2_fallback = _grid_dispersion(xy, cell_areas.grid, sp, before, after)
    if test == "overdispersed":
        # the reference is every incident given (the same whether areas come as HotspotAreas or polygons)
        in_area = np.ones(len(xy), dtype=bool)
        baseline = (
            control_counts is None and sp.placebo is not None and selection_treats_alike(selected_on, (sp.placebo, before, after))
        )
        model, panel = _fit_model(
            hit_area, len(areas), sp, in_area, before, after, None, dispersion, tau2_fallback, "areas", ref_index=hit_pt,
            placebo_baseline=baseline,
        )
        notes += [n for n in model.notes if n not in notes]
        notes.append(model.dispersion.how)
    n_p = panel.totals(PLACEBO) if model is not None and model.placebo_adjusted else None
    df = _build_table(
        n_b, n_a, sp, alpha=alpha, fdr=fdr, min_total=int(min_total), control_counts=control_counts, model=model, n_placebo=n_p
    )
    df.insert(0, "area_id", ids)
    geometry = gpd.GeoSeries(geoms, crs=crs)
    return ChangeResult(
        table=df, geometry=geometry, unit="area", before=before, after=after, exposure_before_days=sp.t_before,
        exposure_after_days=sp.t_after, alpha=float(alpha), fdr=bool(fdr), min_total=int(min_total),
        same_months=bool(same_months), common_months=sp.common, control=control_info, time_resolution=sp.resolution,
        grid=None, notes=tuple(notes), params=_params(before, after, alpha, fdr, same_months, int(min_total), model),
        test=test, model=model, panel=panel, left_out=sp.left_out(before, after),
        selection_favours=selection_favours(selected_on, before, after),
    )


