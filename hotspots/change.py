"""Before/after change in incident rates, per grid cell or per area, with an exact test.

sfhotspot's ``hotspot_change`` reports counts before and after and their difference only. Here
each cell (or hotspot area) also gets a rate ratio that allows for periods of unequal length, an
exact test and confidence interval, a class (significant fall / no change / significant rise),
optional false-discovery-rate control across cells, an option to compare the same calendar months
only, and an option to compare against a control area (ratio of ratios).

Periods
-------
Periods are :class:`hotspots.periods.Period` objects. A :class:`Period` runs from ``start`` to ``end`` **inclusive** (both are dates; ``Period(
"2022-07-01", "2023-06-30")`` is the twelve months July 2022 – June 2023, 365 days). Incidents
with an ``occurred`` date-time belong to the period when their calendar date falls in it.
police.uk data has a month only: an incident dated by ``month`` belongs to a period when the
**first day of its month** lies in the period, so periods should start on the first of a month
and end on the last day of one (:meth:`Period.from_months`); when they do not, a note says so and
the exposure is the length of the months counted.

The test (one cell or area)
---------------------------
With ``x_b`` incidents in ``t_b`` days before and ``x_a`` in ``t_a`` days after, the rate ratio is
``RR = (x_a / t_a) / (x_b / t_b)``. Under "no change" (equal Poisson rates) and conditional on the
total ``n = x_a + x_b``, ``x_a ~ Binomial(n, t_a / (t_a + t_b))``: the exact conditional test of
two Poisson rates (Przyborowski & Wilenski 1940; R's ``poisson.test`` with two samples). The
two-sided p-value is scipy's ``binomtest`` (sum of the probabilities no larger than the
observed one), and the confidence interval for RR is the Clopper–Pearson interval for the binomial
proportion ``π`` mapped through ``RR = π/(1-π) · t_b/t_a``. The same numbers as R's
``poisson.test(c(x_a, x_b), c(t_a, t_b))``.

Cells or areas with fewer than ``min_total`` incidents in both periods together (default 5) are
classed ``"too few incidents"`` and not tested: with four incidents and equal periods the smallest
possible two-sided p-value is 0.125, so such cells can never be significant at usual levels and
would only dilute the false-discovery-rate adjustment. They are left out of the FDR family.

Control area (ratio of ratios)
------------------------------
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

import calendar
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import stats
from scipy.stats.contingency import odds_ratio
from shapely.geometry.base import BaseGeometry

from ._errors import CRSError, ParameterError, SchemaError
from .areas import HotspotAreas
from .fdr import bh_adjust
from .grid import Grid, GridValues, points_xy
# Periods and incident dates live in hotspots.periods; imported here for the tests below and
# re-exported for code that imported them from this module.
from .periods import Period, incident_dates, periods_around

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
    "DAYS_PER_MONTH",
]

#: Classes, in display order.
CHANGE_CLASSES = ("significant fall", "no change", "significant rise", "too few incidents")
#: Label for cells lying in the control area (not tested).
CONTROL_CLASS = "control area"
#: Overlaps smaller than this (m²) are floating-point noise from polygon arithmetic, not overlaps.
OVERLAP_TOLERANCE_M2 = 1.0
#: Rates are expressed per average month of 365.25 / 12 days.
DAYS_PER_MONTH = 365.25 / 12


# =============================================================================== incident points
@dataclass(frozen=True, eq=False)
class IncidentPoints:
    """Incidents' coordinates and dates, read once for repeated change tests on the same data.

    :func:`change_cells` and :func:`change_areas` accept this in place of the incidents
    GeoDataFrame (an app comparing periods or areas again and again on one data set reads the
    geometries and parses the dates once). Make it with :func:`incident_points`.

    Attributes
    ----------
    xy : ndarray of float, shape (n, 2)
        Coordinates in ``crs`` (metres).
    dates, month_only : ndarray
        As :func:`incident_dates` returns them.
    crs : pyproj.CRS or None
        None when the GeoDataFrame had none (then, as for the GeoDataFrame, the coordinates are
        taken to be in the grid's or areas' CRS).
    """

    xy: np.ndarray = field(repr=False)
    dates: np.ndarray = field(repr=False)
    month_only: np.ndarray = field(repr=False)
    crs: pyproj.CRS | None

    def __len__(self) -> int:
        return int(len(self.xy))


def incident_points(incidents: gpd.GeoDataFrame) -> IncidentPoints:
    """Read the incidents' coordinates (in their own CRS) and dates once (see :class:`IncidentPoints`).

    Raises the same errors as the change functions would for the GeoDataFrame: missing or
    non-point geometries, no date column.
    """
    if isinstance(incidents, IncidentPoints):
        return incidents
    if not isinstance(incidents, gpd.GeoDataFrame):
        raise ParameterError(f"`incidents` must be a GeoDataFrame of points; got {type(incidents).__name__}.")
    crs = pyproj.CRS(incidents.crs) if incidents.crs is not None else None
    dates, month_only = incident_dates(incidents)
    xy = points_xy(incidents, crs, name="incidents")
    for a in (xy, dates, month_only):
        a.setflags(write=False)
    return IncidentPoints(xy, dates, month_only, crs)


def _incident_xy(incidents: Any, crs: pyproj.CRS) -> np.ndarray:
    """``points_xy(incidents, crs)``, also for :class:`IncidentPoints` (same CRS check)."""
    if isinstance(incidents, IncidentPoints):
        if incidents.crs is not None and not incidents.crs.equals(crs):
            raise CRSError(
                f"`incidents` are in {incidents.crs.name} but the grid is in {crs.name}; "
                f"convert them first with `incidents.to_crs({crs.to_epsg() or crs.to_string()!r})`."
            )
        return incidents.xy
    return points_xy(incidents, crs, name="incidents")


# =============================================================================== the tests
def _adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values; NaN (untested) entries stay NaN and are not counted."""
    return bh_adjust(np.clip(p, 0.0, 1.0))


def _binom_two_sided(k: np.ndarray, n: np.ndarray, prob: float) -> np.ndarray:
    """scipy ``binomtest(k, n, prob).pvalue`` (two-sided) for arrays of (k, n); NaN where n = 0.

    The same steps as scipy's own code (scipy 1.10+), vectorised: the two-sided p-value sums the
    probabilities of every outcome no more likely than the observed one, with scipy's relative
    tolerance ``1 + 1e-7``; the outcomes on the other side of the mode are found by the same
    binary search on the probability mass function, run on all pairs at once. Every number is
    computed by the same scipy ufuncs in the same order, so the p-values are identical to calling
    ``binomtest`` pair by pair (tested on thousands of pairs, edge cases included).
    """
    k = np.asarray(k, dtype=np.int64).ravel()
    n = np.asarray(n, dtype=np.int64).ravel()
    out = np.full(k.shape, np.nan)
    ok = n > 0
    if not ok.any():
        return out
    pairs = np.stack([k[ok], n[ok]], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    kf = uniq[:, 0].astype(float)
    nf = uniq[:, 1].astype(float)
    p = float(prob)
    binom = stats.binom
    d = binom.pmf(kf, nf, p)
    rerr = 1 + 1e-7
    pn = p * nf
    pval = np.ones(len(kf))  # k == p·n: scipy's shortcut gives 1
    low = kf < pn
    if low.any():
        # the observed count is below the mode: find the upper tail's terms <= d·rerr
        kk, nn, dd = kf[low], nf[low], d[low]
        ix = _binom_search(lambda x, sel: -binom.pmf(x, nn[sel], p), -dd * rerr, np.ceil(p * nn), nn.copy())
        y = nn - ix + (dd * rerr == binom.pmf(ix, nn, p)).astype(float)
        pval[low] = binom.cdf(kk, nn, p) + binom.sf(nn - y, nn, p)
    high = kf > pn
    if high.any():
        kk, nn, dd = kf[high], nf[high], d[high]
        ix = _binom_search(lambda x, sel: binom.pmf(x, nn[sel], p), dd * rerr, np.zeros(len(kk)), np.floor(p * nn))
        y = ix + 1
        pval[high] = binom.cdf(y - 1, nn, p) + binom.sf(kk - 1, nn, p)
    out[ok] = np.minimum(1.0, pval)[inv.ravel()]
    return out


def _binom_search(a, d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """scipy's ``_binary_search_for_binom_tst`` run on many searches at once.

    ``a(x, sel)`` evaluates the (ascending) function at points ``x`` for searches ``sel``;
    returns, per search, the index i in [lo, hi] with a(i) <= d < a(i + 1), by exactly scipy's
    steps (including its ``hi = mid - 1`` update and final check).
    """
    lo = np.asarray(lo, dtype=float).copy()
    hi = np.asarray(hi, dtype=float).copy()
    res = np.full(len(lo), np.nan)
    found = np.zeros(len(lo), dtype=bool)
    while True:
        idx = np.flatnonzero(~found & (lo < hi))
        if idx.size == 0:
            break
        mid = lo[idx] + (hi[idx] - lo[idx]) // 2
        mv = a(mid, idx)
        below = mv < d[idx]
        above = mv > d[idx]
        equal = ~below & ~above
        lo[idx[below]] = mid[below] + 1
        hi[idx[above]] = mid[above] - 1
        res[idx[equal]] = mid[equal]
        found[idx[equal]] = True
    rest = np.flatnonzero(~found)
    if rest.size:
        res[rest] = np.where(a(lo[rest], rest) <= d[rest], lo[rest], lo[rest] - 1)
    return res


def _clopper_pearson(k: np.ndarray, n: np.ndarray, conf: float) -> tuple[np.ndarray, np.ndarray]:
    a = 1 - conf
    k = k.astype(float)
    n = n.astype(float)
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(a / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - a / 2, k + 1, n - k), 1.0)
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return lo, hi


def rate_ratio_test(
    n_before: Any, n_after: Any, t_before: float, t_after: float, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Exact conditional test of two Poisson rates, vectorised over counts.

    Parameters
    ----------
    n_before, n_after : int or array-like of int
        Incident counts in the two periods.
    t_before, t_after : float
        Exposure of each period (days, or any unit — only their ratio matters).
    alpha : float
        1 − confidence level of the interval.

    Returns
    -------
    DataFrame
        ``rate_ratio`` (after rate / before rate; ``inf`` when ``n_before = 0``, NaN when both are
        0), ``rate_ratio_low``, ``rate_ratio_high`` (exact, from Clopper–Pearson) and ``p_value``
        (two-sided, scipy ``binomtest``; NaN when both counts are 0).

    Examples
    --------
    R's ``poisson.test(c(11, 21), c(800, 3011))`` documentation example:

    >>> r = rate_ratio_test(21, 11, 3011, 800).iloc[0]
    >>> round(float(r.rate_ratio), 6), round(float(r.p_value), 5)
    (1.971488, 0.07967)
    """
    xb = np.atleast_1d(np.asarray(n_before, dtype=float))
    xa = np.atleast_1d(np.asarray(n_after, dtype=float))
    if xb.shape != xa.shape:
        raise ParameterError(f"`n_before` and `n_after` must have the same shape; got {xb.shape} and {xa.shape}.")
    if (xb < 0).any() or (xa < 0).any() or (xb != np.round(xb)).any() or (xa != np.round(xa)).any():
        raise ParameterError("counts must be whole numbers >= 0 (the exact test is for unweighted counts).")
    tb, ta = float(t_before), float(t_after)
    if not (tb > 0 and ta > 0):
        raise ParameterError(f"period lengths must be positive; got before {t_before!r} and after {t_after!r}.")
    if not 0 < alpha < 1:
        raise ParameterError(f"`alpha` must be between 0 and 1; got {alpha!r}.")
    n = xa + xb
    prob = ta / (ta + tb)
    p = _binom_two_sided(xa, n, prob)
    lo, hi = _clopper_pearson(xa, n, 1 - alpha)
    k = tb / ta
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.where(n > 0, (xa / ta) / (xb / tb), np.nan)
        rr_lo = np.where(n > 0, lo / (1 - lo) * k, np.nan)
        rr_hi = np.where(n > 0, np.where(hi < 1, hi / (1 - hi) * k, np.inf), np.nan)
    return pd.DataFrame({"rate_ratio": rr, "rate_ratio_low": rr_lo, "rate_ratio_high": rr_hi, "p_value": p})


def ratio_of_ratios_test(
    n_before: Any, n_after: Any, control_before: int, control_after: int, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Exact conditional test that a target's change equals a control area's change.

    The 2×2 table ``[[n_after, n_before], [control_after, control_before]]`` is tested with
    Fisher's exact test (two-sided); the confidence interval for the ratio of ratios is the exact
    conditional one. The estimate is the sample ratio of ratios
    ``(n_after / n_before) / (control_after / control_before)``.

    Returns
    -------
    DataFrame
        ``ratio_of_ratios``, ``ratio_of_ratios_low``, ``ratio_of_ratios_high``, ``p_value``.
    """
    xb = np.atleast_1d(np.asarray(n_before, dtype=np.int64))
    xa = np.atleast_1d(np.asarray(n_after, dtype=np.int64))
    cb, ca = int(control_before), int(control_after)
    if cb <= 0 or ca <= 0:
        raise ParameterError(
            f"the control area has {cb} incident(s) before and {ca} after; both must be > 0 for a ratio of ratios. "
            "Choose a larger control area or longer periods."
        )
    pairs = np.stack([xb, xa], axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    rows = []
    for b, a in uniq:
        if a + b == 0:
            rows.append((np.nan, np.nan, np.nan, np.nan))
            continue
        table = [[int(a), int(b)], [ca, cb]]
        p = stats.fisher_exact(table).pvalue
        ci = odds_ratio(table, kind="conditional").confidence_interval(1 - alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            est = (a / b) / (ca / cb) if b > 0 else np.inf
        rows.append((est, ci.low, ci.high, p))
    arr = np.array(rows, dtype=float)[inv.ravel()]
    return pd.DataFrame(arr, columns=["ratio_of_ratios", "ratio_of_ratios_low", "ratio_of_ratios_high", "p_value"])


# =============================================================================== result
@dataclass(frozen=True, eq=False)
class ChangeResult:
    """Before/after change per cell or per area.

    Attributes
    ----------
    table : DataFrame
        One row per cell (``row``, ``col``) or area (``area_id``), with columns
        ``n_before``, ``n_after``, ``change`` (after − before), ``rate_before``, ``rate_after``
        (incidents per average month of 30.44 days), ``rate_ratio``, ``rate_ratio_low``,
        ``rate_ratio_high`` (exact CI at level 1 − alpha), ``p_value``, ``p_adjusted`` (only with
        ``fdr=True``), ``significant`` (bool), ``change_class``; with a control area also
        ``ratio_of_ratios``, ``ratio_of_ratios_low``, ``ratio_of_ratios_high`` (then ``p_value``
        tests the ratio of ratios).
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

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The table with the cell or area geometries."""
        return gpd.GeoDataFrame(self.table.copy(), geometry=self.geometry.reset_index(drop=True).values, crs=self.geometry.crs)

    def summary(self) -> pd.Series:
        """Number of cells/areas per class (every class listed, zeros included)."""
        order = list(CHANGE_CLASSES) + ([CONTROL_CLASS] if (self.table["change_class"] == CONTROL_CLASS).any() else [])
        return self.table["change_class"].value_counts().reindex(order, fill_value=0).astype(int)

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
        """One paragraph for captions: periods, test, adjustment, counts per class."""
        s = self.summary()
        ctrl = " relative to the control area (ratio of ratios, Fisher's exact test)" if self.control else ""
        adj = "Benjamini–Hochberg FDR" if self.fdr else "no multiple-testing adjustment"
        return (
            f"{self.before.describe()} ({self.exposure_before_days:g} days) vs {self.after.describe()} "
            f"({self.exposure_after_days:g} days); exact conditional Poisson test{ctrl}, alpha {self.alpha:g}, {adj}; "
            + ", ".join(f"{k}: {v}" for k, v in s.items())
        )


# =============================================================================== shared machinery
def _check_periods(before: Period, after: Period) -> None:
    for name, p in (("before", before), ("after", after)):
        if not isinstance(p, Period):
            raise ParameterError(f"`{name}` must be a `Period` (e.g. `Period('2022-07-01', '2023-06-30')`); got {type(p).__name__}.")
    if before.overlaps(after):
        raise ParameterError(
            f"the periods overlap: before is {before.start} to {before.end}, after is {after.start} to {after.end}. "
            "Give periods that do not share any day (e.g. `periods_around('2023-07-01')`)."
        )


def _months_of_year(period: Period, month_only: bool) -> set[int]:
    if month_only:
        return {d.month for d in period.month_starts}
    days = pd.date_range(period.start, period.end, freq="D")
    return set(int(m) for m in np.unique(days.month))


def _exposure_days(period: Period, resolution: str, months: set[int] | None) -> float:
    if resolution == "month":
        return float(sum(calendar.monthrange(d.year, d.month)[1] for d in period.month_starts if months is None or d.month in months))
    if months is None:
        return float(period.days)
    days = pd.date_range(period.start, period.end, freq="D")
    return float(np.isin(days.month, list(months)).sum())


@dataclass
class _Split:
    in_before: np.ndarray
    in_after: np.ndarray
    t_before: float
    t_after: float
    resolution: str
    common: tuple[int, ...] | None
    notes: list[str]


def _split_periods(incidents: Any, before: Period, after: Period, same_months: bool) -> _Split:
    _check_periods(before, after)
    if isinstance(incidents, IncidentPoints):
        dates, month_only = incidents.dates, incidents.month_only
    else:
        dates, month_only = incident_dates(incidents)
    notes: list[str] = []
    has_date = ~np.isnat(dates)
    if (~has_date).any():
        notes.append(f"{int((~has_date).sum())} incident(s) without a usable `occurred` or `month` date were left out.")
    dated = has_date
    if dated.any() and month_only[dated].all():
        resolution = "month"
    elif month_only[dated].any():
        resolution = "mixed"
        notes.append(
            f"{int(month_only.sum())} incident(s) are dated to the month only and counted on the first day of their month; "
            "the rest by their `occurred` date."
        )
    else:
        resolution = "day"
    if resolution != "day":
        for p, name in ((before, "before"), (after, "after")):
            if not p.is_month_aligned:
                notes.append(
                    f"the {name} period ({p.start} to {p.end}) does not start and end on month boundaries but incidents are "
                    "dated by month: a month is counted when its first day is in the period. Use `Period.from_months` to align."
                )
    common: tuple[int, ...] | None = None
    months_filter: set[int] | None = None
    if same_months:
        mb = _months_of_year(before, resolution == "month")
        ma = _months_of_year(after, resolution == "month")
        inter = mb & ma
        if not inter:
            raise ParameterError(
                f"`same_months=True` but the periods share no calendar month ({before.describe()} vs {after.describe()}). "
                "Use periods that cover the same months of the year, or `same_months=False`."
            )
        common = tuple(sorted(inter))
        if inter != mb or inter != ma:
            months_filter = inter
            names = ", ".join(calendar.month_abbr[m] for m in common)
            notes.append(f"same calendar months only: both periods restricted to {names}.")
    d = dates.astype("datetime64[D]")
    in_b = has_date & (d >= np.datetime64(before.start)) & (d <= np.datetime64(before.end))
    in_a = has_date & (d >= np.datetime64(after.start)) & (d <= np.datetime64(after.end))
    if months_filter is not None:
        moy = (d.astype("datetime64[M]").astype(int) % 12) + 1
        keep = np.isin(moy, list(months_filter))
        in_b &= keep
        in_a &= keep
    tb = _exposure_days(before, "month" if resolution == "month" else "day", months_filter)
    ta = _exposure_days(after, "month" if resolution == "month" else "day", months_filter)
    for t, p, name in ((tb, before, "before"), (ta, after, "after")):
        if t <= 0:
            raise ParameterError(
                f"the {name} period ({p.describe()}) contains no whole month of month-dated data "
                "(a month counts when its first day is in the period). Use `Period.from_months`."
            )
    if not in_b.any():
        raise ParameterError(f"no incidents fall in the before period ({before.describe()}); check the dates and the data's coverage.")
    if not in_a.any():
        raise ParameterError(f"no incidents fall in the after period ({after.describe()}); check the dates and the data's coverage.")
    return _Split(in_b, in_a, tb, ta, resolution, common, notes)


def _check_options(alpha: float, min_total: int) -> None:
    if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ParameterError(f"`alpha` must be between 0 and 1 (e.g. `alpha=0.05`); got {alpha!r}.")
    if int(min_total) != min_total or min_total < 1:
        raise ParameterError(f"`min_total` must be a whole number >= 1; got {min_total!r}.")


def _control_geometry(control: Any, crs: pyproj.CRS) -> BaseGeometry:
    if isinstance(control, (gpd.GeoDataFrame, gpd.GeoSeries)):
        gs = control.geometry if isinstance(control, gpd.GeoDataFrame) else control
        if gs.crs is None:
            raise CRSError("`control` has no CRS; set it with `.set_crs(...)` first.")
        if not pyproj.CRS(gs.crs).equals(crs):
            raise CRSError(
                f"`control` is in {pyproj.CRS(gs.crs).name} but the analysis is in {crs.name}; convert it with "
                f"`control.to_crs({crs.to_epsg() or crs.to_string()!r})`."
            )
        geom = shapely.union_all(gs.values)
    elif isinstance(control, BaseGeometry):
        geom = control
    else:
        raise ParameterError(
            "`control` must be a shapely polygon, a GeoSeries/GeoDataFrame of polygons, or (for cells) a boolean "
            f"array of the grid's shape; got {type(control).__name__}."
        )
    if geom.is_empty or shapely.get_type_id(geom) not in (3, 6, 7) or geom.area <= 0:
        raise ParameterError("`control` must be a non-empty polygon area.")
    return geom


def _points_in(geom: BaseGeometry, xy: np.ndarray) -> np.ndarray:
    shapely.prepare(geom)
    return shapely.intersects_xy(geom, xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, dtype=bool)


#: Points closer than this (metres) to a grid line are tested against the hotspot polygons
#: themselves rather than by their cell: on a cell edge a point touches two or four cells.
_EDGE_TOL_M = 1e-6


def _polygon_hits(geoms: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point index, polygon index) where the point intersects the polygon (boundary included).

    The same pairs as ``STRtree(geoms).query(points(xy), predicate="intersects")`` (in another
    order), without building a shapely point per incident: points are sorted by x once; for
    each polygon only the points in its bounding box are tested, with
    :func:`shapely.intersects_xy` on the prepared polygon.
    """
    if len(xy) == 0 or len(geoms) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(xy[:, 0], kind="stable")
    xs = xy[order, 0]
    ys = xy[order, 1]
    bounds = shapely.bounds(geoms)
    pts, polys = [], []
    for j, g in enumerate(geoms):
        x0, y0, x1, y1 = bounds[j]
        a = int(np.searchsorted(xs, x0, side="left"))
        b = int(np.searchsorted(xs, x1, side="right"))
        if b <= a:
            continue
        yy = ys[a:b]
        cand = np.flatnonzero((yy >= y0) & (yy <= y1))
        if cand.size == 0:
            continue
        shapely.prepare(g)
        hit = cand[shapely.intersects_xy(g, xs[a:b][cand], yy[cand])]
        pts.append(order[a + hit])
        polys.append(np.full(hit.size, j, dtype=np.int64))
    if not pts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(pts).astype(np.int64), np.concatenate(polys)


def _cell_area_hits(areas: HotspotAreas, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_polygon_hits` for hotspot areas, by looking up each point's cell in ``areas.labels``.

    Hotspot areas are unions of grid cells, so a point inside a cell (farther than
    :data:`_EDGE_TOL_M` from its edges) lies in the area of that cell, or in none. Points on or
    near a grid line (where a point may touch the cells of two areas) and points off the grid are
    tested against the polygons. Returns None when ``labels`` and ``areas.areas`` do not match
    (then the caller tests polygons).
    """
    table = areas.areas
    ids = table["area_id"].to_numpy()
    labels = np.asarray(areas.labels)
    grid = areas.grid
    if not isinstance(grid, Grid) or labels.shape != grid.shape or len(ids) == 0:
        return None
    if not np.issubdtype(ids.dtype, np.integer) or not np.issubdtype(labels.dtype, np.integer):
        return None
    ids = ids.astype(np.int64)
    present = np.unique(labels)
    present = present[present != 0]
    if ids.min() < 1 or len(np.unique(ids)) != len(ids) or not np.isin(present, ids).all():
        return None
    row_of = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    row_of[ids] = np.arange(len(ids))
    s = grid.cell_size
    u = (xy[:, 0] - grid.xmin) / s
    v = (grid.ymax - xy[:, 1]) / s
    tol = _EDGE_TOL_M / s
    near = (np.abs(u - np.rint(u)) <= tol) | (np.abs(v - np.rint(v)) <= tol)
    col = np.floor(u)
    row = np.floor(v)
    on = (col >= 0) & (col < grid.n_cols) & (row >= 0) & (row < grid.n_rows)
    sure = on & ~near  # points off the grid (and not near it) lie in no area
    idx = np.flatnonzero(sure)
    lab = labels[row[idx].astype(np.int64), col[idx].astype(np.int64)]
    inside = lab > 0
    hit_pt = idx[inside]
    hit_area = row_of[lab[inside]]
    check = np.flatnonzero(near | ~np.isfinite(u) | ~np.isfinite(v))
    if check.size:
        cp, ca = _polygon_hits(table.geometry.values, xy[check])
        hit_pt = np.concatenate([hit_pt, check[cp]])
        hit_area = np.concatenate([hit_area, ca])
    return hit_pt.astype(np.int64), hit_area.astype(np.int64)


def _classify(df: pd.DataFrame, tested: np.ndarray, effect: np.ndarray, alpha: float, fdr: bool) -> pd.DataFrame:
    p = df["p_value"].to_numpy(dtype=float).copy()
    p[~tested] = np.nan
    df["p_value"] = p
    if fdr:
        df["p_adjusted"] = _adjust(p)
        decide = df["p_adjusted"].to_numpy()
    else:
        decide = p
    sig = tested & ~np.isnan(decide) & (np.nan_to_num(decide, nan=1.0) <= alpha)
    df["significant"] = sig
    cls = np.full(len(df), "no change", dtype=object)
    cls[sig & (effect < 1)] = "significant fall"
    cls[sig & (effect > 1)] = "significant rise"
    cls[~tested] = "too few incidents"
    df["change_class"] = cls
    return df


def _build_table(
    n_b: np.ndarray,
    n_a: np.ndarray,
    sp: _Split,
    *,
    alpha: float,
    fdr: bool,
    min_total: int,
    control_counts: tuple[int, int] | None,
    excluded: np.ndarray | None = None,
) -> pd.DataFrame:
    n_b = n_b.astype(np.int64)
    n_a = n_a.astype(np.int64)
    df = pd.DataFrame({"n_before": n_b, "n_after": n_a, "change": n_a - n_b})
    df["rate_before"] = n_b / sp.t_before * DAYS_PER_MONTH
    df["rate_after"] = n_a / sp.t_after * DAYS_PER_MONTH
    rr = rate_ratio_test(n_b, n_a, sp.t_before, sp.t_after, alpha=alpha)
    for c in ("rate_ratio", "rate_ratio_low", "rate_ratio_high"):
        df[c] = rr[c].to_numpy()
    total = n_a + n_b
    tested = total >= min_total
    if excluded is not None:
        tested &= ~excluded
    if control_counts is None:
        df["p_value"] = rr["p_value"].to_numpy()
        effect = df["rate_ratio"].to_numpy()
    else:
        cb, ca = control_counts
        ror = ratio_of_ratios_test(n_b, n_a, cb, ca, alpha=alpha)
        for c in ("ratio_of_ratios", "ratio_of_ratios_low", "ratio_of_ratios_high"):
            df[c] = ror[c].to_numpy()
        df["p_value"] = ror["p_value"].to_numpy()
        effect = df["ratio_of_ratios"].to_numpy()
    df = _classify(df, tested, effect, alpha, fdr)
    if excluded is not None and excluded.any():
        df.loc[excluded, "change_class"] = CONTROL_CLASS
        df.loc[excluded, "significant"] = False
    return df


def _params(before: Period, after: Period, alpha: float, fdr: bool, same_months: bool, min_total: int) -> dict[str, Any]:
    return {
        "before": [before.start.isoformat(), before.end.isoformat()],
        "after": [after.start.isoformat(), after.end.isoformat()],
        "alpha": alpha,
        "fdr": "benjamini-hochberg" if fdr else "none",
        "same_months": same_months,
        "min_total": min_total,
        "test": "exact conditional Poisson (binomial) test; Clopper-Pearson CI",
    }


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
) -> ChangeResult:
    """Before/after change in each grid cell, with an exact test per cell.

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
    control : polygon, GeoSeries/GeoDataFrame, or boolean array of ``grid.shape``, optional
        A control area. Each cell's change is then tested against the control area's change
        (ratio of ratios). Cells that overlap the control area are labelled ``"control area"``
        and not tested.
    min_total : int, default 5
        Cells with fewer incidents than this in both periods together are ``"too few incidents"``.

    Returns
    -------
    ChangeResult

    Raises
    ------
    ParameterError
        Overlapping periods, a period without incidents, a control area without incidents.
    """
    _check_options(alpha, min_total)
    if not isinstance(grid, Grid):
        raise ParameterError(f"`grid` must be a hotspots Grid; got {type(grid).__name__}.")
    sp = _split_periods(incidents, before, after, same_months)
    xy = _incident_xy(incidents, grid.crs)
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
                raise ParameterError(f"a cell `control` must be a boolean array of shape {grid.shape}; got {cm.dtype} {cm.shape}.")
            cm = cm & active
            if not cm.any():
                raise ParameterError("the `control` cells lie outside the study area; choose cells inside it.")
            excluded = cm[rr, cc]
            c_b, c_a = int(cb_arr[cm.ravel()].sum()), int(ca_arr[cm.ravel()].sum())
            desc = f"{int(cm.sum())} control cell(s)"
        else:
            geom = _control_geometry(control, grid.crs)
            polys = grid.cell_polygons(rr, cc)
            excluded = shapely.area(shapely.intersection(polys, geom)) > OVERLAP_TOLERANCE_M2
            inside = _points_in(geom, xy)
            c_b, c_a = int((inside & sp.in_before).sum()), int((inside & sp.in_after).sum())
            desc = f"control area of {geom.area / 1e6:.2f} km²"
            if excluded.all():
                raise ParameterError("the `control` area covers every cell of the study area; it must lie apart from the cells analysed.")
            if excluded.any():
                notes.append(f"{int(excluded.sum())} cell(s) overlapping the control area are labelled 'control area' and not tested.")
        if c_b == 0 or c_a == 0:
            raise ParameterError(
                f"the control ({desc}) has {c_b} incident(s) before and {c_a} after; both must be > 0. "
                "Choose a larger control area or longer periods."
            )
        control_counts = (c_b, c_a)
        control_info = {"before": c_b, "after": c_a, "description": desc}
    df = _build_table(n_b, n_a, sp, alpha=alpha, fdr=fdr, min_total=int(min_total), control_counts=control_counts, excluded=excluded)
    df.insert(0, "row", rr)
    df.insert(1, "col", cc)
    geometry = gpd.GeoSeries(grid.cell_polygons(rr, cc), crs=grid.crs)
    params = _params(before, after, alpha, fdr, same_months, int(min_total)) | {"grid": grid.describe()}
    return ChangeResult(
        table=df, geometry=geometry, unit="cell", before=before, after=after, exposure_before_days=sp.t_before,
        exposure_after_days=sp.t_after, alpha=float(alpha), fdr=bool(fdr), min_total=int(min_total),
        same_months=bool(same_months), common_months=sp.common, control=control_info, time_resolution=sp.resolution,
        grid=grid, notes=tuple(notes), params=params,
    )


def change_areas(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | HotspotAreas,
    before: Period,
    after: Period,
    *,
    id_column: str | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
    same_months: bool = False,
    control: Any = None,
    min_total: int = 5,
) -> ChangeResult:
    """Before/after change in each polygon (e.g. hotspot areas), with an exact test per area.

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
    alpha, fdr, same_months, min_total
        As in :func:`change_cells`.
    control : polygon or GeoSeries/GeoDataFrame, optional
        A control area, which must not overlap any of ``areas`` (touching is allowed).

    Returns
    -------
    ChangeResult
        ``table`` has an ``area_id`` column first.
    """
    _check_options(alpha, min_total)
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
    sp = _split_periods(incidents, before, after, same_months)
    xy = _incident_xy(incidents, crs)
    hits = None
    if cell_areas is not None and cell_areas.grid is not None and pyproj.CRS(cell_areas.grid.crs).equals(crs):
        hits = _cell_area_hits(cell_areas, xy)
    hit_pt, hit_area = hits if hits is not None else _polygon_hits(geoms, xy)
    n_b = np.bincount(hit_area[sp.in_before[hit_pt]], minlength=len(areas))
    n_a = np.bincount(hit_area[sp.in_after[hit_pt]], minlength=len(areas))
    notes = list(sp.notes)
    control_counts = None
    control_info = None
    if control is not None:
        geom = _control_geometry(control, crs)
        overlap = shapely.area(shapely.intersection(geoms, geom))
        if (overlap > OVERLAP_TOLERANCE_M2).any():
            bad = [str(i) for i in ids[overlap > OVERLAP_TOLERANCE_M2][:5]]
            raise ParameterError(
                f"the `control` area overlaps {int((overlap > OVERLAP_TOLERANCE_M2).sum())} of the areas (e.g. {', '.join(bad)}); a control must lie "
                "apart from the target areas. Remove the overlap, e.g. `control.difference(areas.union_all())`."
            )
        inside = _points_in(geom, xy)
        c_b, c_a = int((inside & sp.in_before).sum()), int((inside & sp.in_after).sum())
        if c_b == 0 or c_a == 0:
            raise ParameterError(
                f"the control area has {c_b} incident(s) before and {c_a} after; both must be > 0. "
                "Choose a larger control area or longer periods."
            )
        control_counts = (c_b, c_a)
        control_info = {"before": c_b, "after": c_a, "description": f"control area of {geom.area / 1e6:.2f} km²"}
    df = _build_table(n_b, n_a, sp, alpha=alpha, fdr=fdr, min_total=int(min_total), control_counts=control_counts)
    df.insert(0, "area_id", ids)
    geometry = gpd.GeoSeries(geoms, crs=crs)
    return ChangeResult(
        table=df, geometry=geometry, unit="area", before=before, after=after, exposure_before_days=sp.t_before,
        exposure_after_days=sp.t_after, alpha=float(alpha), fdr=bool(fdr), min_total=int(min_total),
        same_months=bool(same_months), common_months=sp.common, control=control_info, time_resolution=sp.resolution,
        grid=None, notes=tuple(notes), params=_params(before, after, alpha, fdr, same_months, int(min_total)),
    )
