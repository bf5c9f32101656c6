"""Figures derived from an analysis for display: the numbers the app and the briefings show beyond
each method's own results, computed once here and returned typed.

* :func:`hotspot_change` — incidents before and after in all hotspot areas together, and the
  change in their rate (:class:`HotspotChange`);
* :func:`monthly_in_hotspots` — incidents per month in hotspots and elsewhere, with the index
  (mean of the months before the scheme start = 100) (:class:`MonthlySeries`);
* :func:`before_after_density` — kernel density per month in the before and after periods of a
  change test, counting exactly the incidents and days the test counted
  (:class:`BeforeAfterDensity`), on one colour scale (:func:`colour_range`).

Rates per month are per average month of 365.25 / 12 days (:data:`hotspots.change.DAYS_PER_MONTH`),
as the change tests' rates. Incidents counted in a period are said per day (:func:`per_day_text`),
and changes as changes of incidents per day (:func:`per_day_note`): two periods of six calendar
months differ in days (181 and 184), so "a month" figures scaled from days read as a miscount.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import ParameterError
from .analysis import HotspotStage
from .areas import HotspotAreas
from .change import DAYS_PER_MONTH, ChangeResult
from .coverage import month_coverage, month_number
from .density import kde
from .grid import Grid, GridValues
from .incident_time import IncidentPoints, incident_points, incident_xy, month_numbers
from .period_split import FORCE_MISSING, NO_DATA, PART_PUBLISHED
from .periods import Period, as_date, parse_period
from .validation import counted

__all__ = [
    "Headline",
    "headline",
    "HotspotChange",
    "hotspot_change",
    "per_day_text",
    "per_day_note",
    "category_names",
    "subject_text",
    "title_text",
    "MonthlySeries",
    "monthly_in_hotspots",
    "ColourRange",
    "colour_range",
    "BeforeAfterDensity",
    "before_after_density",
    "DENSITY_PER_MONTH_UNITS",
]

#: Units of :func:`before_after_density`'s surfaces.
DENSITY_PER_MONTH_UNITS = "incidents per km² per month"


# =============================================================================== headline
@dataclass(frozen=True)
class Headline:
    """The figures above the map.

    Attributes
    ----------
    incidents : int
        Incidents the hotspots were computed from.
    hotspot_areas : int
    share_in_hotspots : float
        Share (0–1) of the counted incidents in hotspot areas.
    area_km2 : float
        Total area of the hotspot areas, km².
    cell_size_m : float
    period : str
        The hotspot period ``incidents`` come from (``"Jul 2025 – Dec 2025"``), or ``""`` for every month of the data.
    """

    incidents: int
    hotspot_areas: int
    share_in_hotspots: float
    area_km2: float
    cell_size_m: float
    period: str = ""

    def incidents_help(self) -> str:
        """What the incidents figure counts: the hotspot period's incidents in the study area (its cells), not every one
        loaded, when a period is set; the command line's "incidents analysed" is the same figure."""
        where = " in the study area's cells (those outside it are counted in the Analyst tab's notes)"
        if self.period:
            return (f"Incidents the hotspots were computed from: those of the hotspot period, {self.period} (the Hotspot "
                    f"period slider),{where}, not every incident loaded.")
        return (f"Incidents the hotspots were computed from: every month of the data (the Hotspot period slider's whole "
                f"range),{where}.")


def headline(stage: HotspotStage) -> Headline:
    """:class:`Headline` of a hotspot stage (or an :class:`~hotspots.analysis.Analysis`)."""
    areas = stage.areas
    km2 = float(areas.areas["area_km2"].sum()) if areas.n_areas else 0.0
    counts = np.nan_to_num(np.asarray(stage.counts.values, dtype=float))
    total = float(counts[stage.grid.active].sum())
    share = float(counts[areas.labels > 0].sum() / total) if total > 0 else 0.0
    period = getattr(stage.settings, "period", None)
    when = parse_period(period, "analysis period").describe(label=False) if period else ""
    return Headline(int(len(stage.incidents)), int(areas.n_areas), share, km2, float(stage.grid.cell_size), when)


# =============================================================================== per day
def _days(days: float) -> str:
    d = float(days)
    return f"{round(d):,}" if abs(d - round(d)) < 1e-6 else f"{d:,.1f}"


def per_day_text(incidents: int, days: float) -> str:
    """Incidents counted in a period and their rate per day, a figure a reader can check:
    ``"13,267 incidents (73.3 a day)"`` (13,267 / 181 days). The one rule for the before/after
    panels' counts (the briefing, the command line and the app).

    >>> per_day_text(13267, 181), per_day_text(1, 31.0)
    ('13,267 incidents (73.3 a day)', '1 incident (0.032 a day)')
    """
    n, d = int(incidents), float(days)
    rate = n / d if d > 0 else float("nan")
    said = "–" if not np.isfinite(rate) else f"{rate:,.1f}" if rate >= 0.95 or rate == 0 else f"{rate:.2g}"
    return f"{counted(n, 'incident')} ({said} a day)"


def per_day_note(before_days: float, after_days: float) -> str:
    """How changes are compared, said once where changes are shown: ``"changes compare incidents
    per day, as the periods differ in length (181 and 184 days)"``; ``"changes compare incidents
    per day (both periods 184 days)"`` when they do not.

    >>> per_day_note(181, 184)
    'changes compare incidents per day, as the periods differ in length (181 and 184 days)'
    """
    b, a = _days(before_days), _days(after_days)
    if b == a:
        return f"changes compare incidents per day (both periods {b} days)"
    return f"changes compare incidents per day, as the periods differ in length ({b} and {a} days)"


# =============================================================================== change in hotspots
@dataclass(frozen=True)
class HotspotChange:
    """Incidents before and after in all hotspot areas together, and the change in their rate.

    Attributes
    ----------
    before, after : int
        Incidents in the hotspot areas in each period (an incident in two touching areas counts
        in each, as in :func:`hotspots.change.change_areas`).
    before_days, after_days : float
        Days counted in each period (the change test's exposure).
    rate_ratio : float
        After rate / before rate (rates per day); NaN when the before count is 0.
    change_pct : float
        ``100 (rate_ratio − 1)``.
    """

    before: int
    after: int
    before_days: float
    after_days: float
    rate_ratio: float
    change_pct: float

    def text(self) -> str:
        """The change as shown: ``"+3.1 %"``, ``"−0.4 %"``, ``"0.0 %"`` (never a signed zero:
        :func:`hotspots.style.signed_text`; ``"–"`` when it cannot be computed)."""
        from .style import signed_text

        return f"{signed_text(self.change_pct, 1)} %" if np.isfinite(self.change_pct) else "–"


def hotspot_change(change: ChangeResult | None) -> HotspotChange | None:
    """:class:`HotspotChange` from the per-area change result (None without one or without areas)."""
    if change is None or len(change.table) == 0:
        return None
    if not isinstance(change, ChangeResult):
        raise ParameterError(f"`change` must be a ChangeResult (from `change_areas`); got {type(change).__name__}.")
    b = int(change.table["n_before"].sum())
    a = int(change.table["n_after"].sum())
    tb, ta = float(change.exposure_before_days), float(change.exposure_after_days)
    rr = (a / ta) / (b / tb) if b > 0 and ta > 0 and tb > 0 else float("nan")
    return HotspotChange(b, a, tb, ta, rr, 100.0 * (rr - 1.0))


# =============================================================================== monthly series
@dataclass(frozen=True, eq=False)
class MonthlySeries:
    """Incidents per calendar month in hotspot areas and elsewhere.

    Attributes
    ----------
    table : DataFrame
        ``month`` (Timestamp, first of the month; every month from the first to the last),
        ``in_hotspots``, ``elsewhere`` (int) and ``left_out`` (``""``, or why the month is not
        charted: :data:`~hotspots.period_split.NO_DATA` or :data:`~hotspots.period_split.PART_PUBLISHED`;
        its counts are kept as read).
    scheme_start : date or None
        The index baseline is the mean of the months before it.
    """

    table: pd.DataFrame
    scheme_start: dt.date | None = None

    def _left_out(self) -> np.ndarray:
        t = self.table
        return (t["left_out"].astype(str) != "").to_numpy() if "left_out" in t.columns else np.zeros(len(t), dtype=bool)

    def baseline(self) -> dict[str, float]:
        """Mean incidents per month before the scheme start, per series, over the months not left out
        (NaN without such months)."""
        if self.scheme_start is None:
            return {"in_hotspots": float("nan"), "elsewhere": float("nan")}
        before = self.table[(self.table["month"] < pd.Timestamp(self.scheme_start)).to_numpy() & ~self._left_out()]
        return {c: float(before[c].mean()) if len(before) else float("nan") for c in ("in_hotspots", "elsewhere")}

    def long(self, *, as_index: bool = False) -> pd.DataFrame:
        """One row per month and series, for charts: ``month``, ``where`` ("in hotspots" /
        "elsewhere"), ``value`` (incidents, or the index: baseline = 100; NaN where the baseline
        is 0 or missing, and in a month left out: a gap, not a 0 or a dip)."""
        base = self.baseline()
        gone = self._left_out()
        parts = []
        for col, label in (("in_hotspots", "in hotspots"), ("elsewhere", "elsewhere")):
            v = self.table[col].to_numpy(dtype=float).copy()
            v[gone] = np.nan
            if as_index:
                b = base[col]
                v = 100.0 * v / b if np.isfinite(b) and b > 0 else np.full(len(v), np.nan)
            parts.append(pd.DataFrame({"month": self.table["month"], "where": label, "value": v}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["month", "where", "value"])


def monthly_in_hotspots(
    incidents: gpd.GeoDataFrame | IncidentPoints, areas: HotspotAreas, *, scheme_start: Any = None, missing_months: Any = None
) -> MonthlySeries:
    """Incidents per calendar month in the hotspot areas' cells and elsewhere.

    An incident counts "in hotspots" when it falls in a cell of a hotspot area (the same rule as
    the areas' own counts). Incidents without a date are left out. Months the data do not cover
    are marked (``left_out``) and charted as gaps, as the change tests leave them out: a missing
    monthly file is not a month of 0, nor a month published in part a real dip.

    Parameters
    ----------
    incidents : GeoDataFrame or IncidentPoints
    areas : HotspotAreas
    scheme_start : date or str, optional
        Baseline of the index (:meth:`MonthlySeries.long`): the months before it.
    missing_months : iterable of "YYYY-MM", optional
        Months the data do not cover (``Settings.missing_months``). Default: found in
        ``incidents`` (:func:`hotspots.coverage.month_coverage`); an empty list turns it off.
        Each is marked :data:`~hotspots.period_split.NO_DATA` when it holds no incident,
        :data:`~hotspots.period_split.FORCE_MISSING` when a force lacks it while others cover it, else
        :data:`~hotspots.period_split.PART_PUBLISHED`.
    """
    if not isinstance(areas, HotspotAreas):
        raise ParameterError(f"`areas` must be HotspotAreas (e.g. `analysis.areas`); got {type(areas).__name__}.")
    start = None if scheme_start is None else as_date(scheme_start, "scheme_start")
    pts = incident_points(incidents)
    dates = pts.dates
    ok = ~np.isnat(dates)
    cols = ["month", "in_hotspots", "elsewhere"]
    if not ok.any():
        return MonthlySeries(pd.DataFrame({c: [] for c in cols}), start)
    grid = areas.grid
    xy = pts.xy if pts.crs is None or grid.crs.equals(pts.crs) else _to_crs(pts, grid)
    r, c, on = grid.cell_of(xy)
    inside = on & (areas.labels[r, c] > 0)
    months = dates.astype("datetime64[M]")
    lo, hi = months[ok].min(), months[ok].max()
    index = np.arange(lo, hi + 1)
    pos = (months[ok] - lo).astype(np.int64)
    n = len(index)
    hot = np.bincount(pos[inside[ok]], minlength=n)
    other = np.bincount(pos[~inside[ok]], minlength=n)
    number = index.astype(np.int64) + 1970 * 12  # year * 12 + month - 1
    cover = month_coverage(month_numbers(dates), force=pts.force)  # a month a force lacks is not "published in part"
    if missing_months is None:
        gone = set(cover.gone)
    else:
        gone = {int(x) if isinstance(x, (int, np.integer)) else month_number(x) for x in missing_months}
    why = np.where(hot + other == 0, NO_DATA, np.where(np.isin(number, list(cover.absent)), FORCE_MISSING, PART_PUBLISHED))
    table = pd.DataFrame(
        {
            "month": pd.to_datetime(index.astype("datetime64[ns]")),
            "in_hotspots": hot.astype(np.int64),
            "elsewhere": other.astype(np.int64),
            "left_out": np.where(np.isin(number, list(gone)), why, ""),
        }
    )
    return MonthlySeries(table, start)


def _to_crs(pts: IncidentPoints, grid: Grid) -> np.ndarray:
    import pyproj

    t = pyproj.Transformer.from_crs(pts.crs, grid.crs, always_xy=True)
    x, y = t.transform(pts.xy[:, 0], pts.xy[:, 1])
    return np.column_stack([x, y])


# =============================================================================== density per month
@dataclass(frozen=True)
class ColourRange:
    """A colour scale shared by several surfaces: ``vmin`` to ``vmax`` in their units."""

    vmin: float
    vmax: float
    quantile: float


def colour_range(*surfaces: GridValues | np.ndarray, quantile: float = 99.0) -> ColourRange:
    """One colour scale for several surfaces: 0 to the largest of their ``quantile``-th percentiles
    of the positive values (so that a few extreme cells do not wash out the rest); 1 when no
    surface has a positive value."""
    if not 0 < quantile <= 100:
        raise ParameterError(f"`quantile` must be in (0, 100]; got {quantile!r}.")
    tops = []
    for s in surfaces:
        v = np.asarray(s.values if isinstance(s, GridValues) else s, dtype=float)
        pos = v[np.isfinite(v) & (v > 0)]
        if pos.size:
            tops.append(float(np.percentile(pos, quantile)))
    top = max(tops) if tops else 0.0
    return ColourRange(0.0, top if top > 0 else 1.0, float(quantile))


@dataclass(frozen=True, eq=False)
class BeforeAfterDensity:
    """Kernel density per month before and after, on one grid and one colour scale.

    Attributes
    ----------
    before, after : GridValues
        Incidents per km² per month (:data:`DENSITY_PER_MONTH_UNITS`).
    months_before, months_after : float
        The months counted (exposure days / :data:`~hotspots.change.DAYS_PER_MONTH`).
    incidents_before, incidents_after : int
    scale : ColourRange
    """

    before: GridValues
    after: GridValues
    months_before: float
    months_after: float
    incidents_before: int
    incidents_after: int
    scale: ColourRange

    @property
    def days_before(self) -> float:
        """Days counted before (the change test's exposure)."""
        return self.months_before * DAYS_PER_MONTH

    @property
    def days_after(self) -> float:
        """Days counted after."""
        return self.months_after * DAYS_PER_MONTH


def _counted(pts: IncidentPoints, period: Period, common: tuple[int, ...] | None) -> np.ndarray:
    d = pts.dates
    keep = ~np.isnat(d) & (d >= np.datetime64(period.start, "D")) & (d <= np.datetime64(period.end, "D"))
    if common:
        moy = (d.astype("datetime64[M]").astype(np.int64) % 12) + 1
        keep &= np.isin(moy, list(common))
    return keep


def before_after_density(
    incidents: gpd.GeoDataFrame | IncidentPoints,
    grid: Grid,
    change: ChangeResult | tuple[Period, Period],
    *,
    bandwidth: float,
    kernel: str = "quartic",
    quantile: float = 99.0,
) -> BeforeAfterDensity:
    """Kernel density per month of the incidents a change test counted in each period.

    The one rule for density per month (the app's before/after maps and the briefing's): the
    incidents in each period that the test counted (restricted to the common calendar months when
    the test compared the same months only; without the months it left out as missing or
    published in part, :attr:`~hotspots.change.ChangeResult.left_out`; for a test per cell, in its
    study area's cells only), their kernel density on ``grid`` with the given bandwidth and kernel,
    divided by the months the test counted (its exposure days / 30.44). The same grid, bandwidth
    and kernel make the surfaces comparable; dividing by the months makes periods of different
    lengths comparable. With a test per cell, ``incidents_before`` and ``incidents_after`` are
    its totals (``n_before`` and ``n_after`` summed over its cells).

    Parameters
    ----------
    incidents : GeoDataFrame or IncidentPoints
        All incidents (not only the analysis period).
    grid : Grid
        Any grid (the analysis grid, or a finer display lattice).
    change : ChangeResult, or (before, after) Periods
        The change test (per cell or per area) whose periods and exposure are used; without a
        test, two periods counted whole (their days).
    bandwidth : float
        Metres (e.g. ``analysis.density.bandwidth_m``).
    kernel : str
    quantile : float
        Percentile for the shared colour scale (:func:`colour_range`; 100 = the largest value).
    """
    if isinstance(change, ChangeResult):
        spans = ((change.before, change.exposure_before_days), (change.after, change.exposure_after_days))
        common = change.common_months if change.same_months else None
    elif isinstance(change, tuple) and len(change) == 2 and all(isinstance(p, Period) for p in change):
        spans, common = tuple((p, float(p.days)) for p in change), None
    else:
        raise ParameterError(
            f"`change` must be a ChangeResult (from `change_cells`/`change_areas`) or two Periods; got {type(change).__name__}."
        )
    pts = incident_points(incidents)
    tested = np.ones(len(pts), dtype=bool)
    if isinstance(change, ChangeResult):
        gone = [m for m, _ in change.left_out]
        if gone:
            tested &= ~np.isin(month_numbers(pts.dates), gone)
        if change.unit == "cell" and change.grid is not None:
            g = change.grid
            rows, cols, on_grid = g.cell_of(incident_xy(pts, g.crs))
            tested &= on_grid & g.active.ravel()[np.where(on_grid, rows * g.n_cols + cols, 0)]
    out = []
    for period, days in spans:
        keep = _counted(pts, period, common) & tested
        months = float(days) / DAYS_PER_MONTH
        n = int(keep.sum())
        if n == 0:
            vals = np.where(grid.active, 0.0, np.nan)
        else:
            xy = pts.xy[keep]
            vals = np.asarray(kde(xy, grid, bandwidth=float(bandwidth), kernel=kernel).values, dtype=float) / months
        params = {"months": months, "incidents": n, "bandwidth_m": float(bandwidth), "kernel": kernel}
        out.append((GridValues(vals, grid, name=period.describe(), units=DENSITY_PER_MONTH_UNITS, params=params), months, n))
    (b, mb, nb), (a, ma, na) = out
    return BeforeAfterDensity(b, a, mb, ma, nb, na, colour_range(b, a, quantile=quantile))


def category_names(incidents: pd.DataFrame) -> list[str]:
    """The distinct categories of the incidents, one name per category however it is spelled.

    Spellings that match as the category filter matches them
    (:func:`hotspots.preparation.category_matches`: case, spaces and punctuation ignored,
    ``"ASB"`` for anti-social behaviour) are one category, named ``"Anti-social behaviour"`` for
    anti-social behaviour, else by its most frequent spelling (stripped).

    Returns
    -------
    list of str
        Sorted; empty without a ``category`` column or rows.
    """
    from .io._pipeline import category_key
    from .schema import ASB_CATEGORY

    if "category" not in incidents.columns or len(incidents) == 0:
        return []
    counts = pd.Series(incidents["category"]).dropna().astype(str).value_counts()
    names: dict[str, str] = {}
    for name in counts.index:  # most frequent first: the first spelling of a key names it
        if name.strip():
            names.setdefault(category_key(name), name.strip())
    asb = category_key(ASB_CATEGORY)
    if asb in names:
        names[asb] = ASB_CATEGORY
    return sorted(names.values())


def subject_text(incidents: pd.DataFrame, named: int = 1) -> str:
    """What the incidents are, for titles: ``"Anti-social behaviour"`` when every incident is ASB
    (however spelled: :func:`category_names`), the category's name when all share one, else
    ``"Incidents"``.

    ``named``: up to this many categories are named (a map's title: ``"Burglary and Robbery"``); with
    more, and ``named`` above 1, ``"Incidents (14 categories)"``.

    Examples
    --------
    >>> two = pd.DataFrame({"category": ["Robbery", "Burglary"]})
    >>> subject_text(two), subject_text(two, named=3)
    ('Incidents', 'Burglary and Robbery')
    >>> subject_text(pd.DataFrame({"category": list("abcd")}), named=3)
    'Incidents (4 categories)'
    """
    cats = category_names(incidents)
    if len(cats) == 1 or 1 < len(cats) <= named:
        return cats[0] if len(cats) == 1 else ", ".join(cats[:-1]) + " and " + cats[-1]
    return f"Incidents ({len(cats)} categories)" if named > 1 and cats else "Incidents"


def title_text(incidents: pd.DataFrame, force: Any = None) -> str:
    """The app's page title: ``"Anti-social behaviour hotspots — Cumbria Constabulary"``; for
    several categories ``"Incident hotspots"`` (:func:`subject_text`), never "ASB" for all crime."""
    subject = subject_text(incidents)
    head = "Incident hotspots" if subject == "Incidents" else f"{subject} hotspots"
    return head + (f" — {force.name}" if force is not None else "")
