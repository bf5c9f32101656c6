"""Emerging hot spots in every analysis: how each place's clustering moved over the data's months.

:func:`emerging_trends` runs :func:`hotspots.emerging.emerging_hotspots` (ArcGIS Pro's Emerging
Hot Spot Analysis, with the corrections its module documents) on the analysis's own grid and
Gi* distance band, so that its cells are the hotspot map's cells. The rule, in one place for
:func:`hotspots.pipeline.analyse`, the app and the exports:

* the cube spans **every month of the data** (not only the hotspot ``period``), one month a
  step, time window 1 and FDR over the cube at the analysis's alpha (ArcGIS's defaults); each
  bin is judged by the exact count test; months the data do not cover are left out (their
  warning becomes a note);
* at least :data:`hotspots.emerging.MIN_STEPS_FOR_TREND` (10) monthly steps: with fewer, the
  Mann–Kendall trend is unreliable (ArcGIS's advice) and no category is given, with a note;
* each cell's trend is tested at alpha with no correction across cells (as ArcGIS), over the
  steps whose time window is full (:mod:`hotspots.emerging`). On null cubes 4.1 % of cells trend,
  and on Derbyshire's and Leicestershire's real 2025 ASB with its months shuffled 3.8 % and 3.5 %
  of busy cells (docs/calibration.md): a persistent hot spot with no real trend is
  called "intensifying" or "diminishing" about once in 20, so one such cell alone is weak
  evidence. :func:`describe_emerging` says so, and, when places' year-to-year variation could not
  be estimated (fewer than two years of months: :func:`levels_estimated`), that a level which
  shifted once reads as a trend.
  On every force's real 2025 ASB (39 forces, 12 months; docs/calibration.md) a median of 3.4 % of
  the persistent, intensifying and diminishing hot spot cells were intensifying or diminishing
  (quartiles 0.5–6.8 %; none in 9 forces; 129 intensifying and 97 diminishing of 4,663): 4.7 %
  (0–11.9 %, 332 cells, North Yorkshire's 103 intensifying against 3 diminishing) before the trend
  left out the first step's short window.

:func:`area_patterns` gives each hotspot area the pattern most of its cells share.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._errors import ParameterError, SchemaError
from .coverage import month_number, month_spans
from .emerging import CATEGORY_CODES, CATEGORY_LABELS, MIN_STEPS_FOR_TREND, EmergingResult, emerging_hotspots
from .grid import Grid
from .periods import month_options, month_range

__all__ = [
    "emerging_trends", "too_few_months", "category_counts", "describe_emerging", "short_series_caveat", "levels_estimated",
    "own_test_text", "area_patterns",
    "NO_PATTERN",
]

#: The label of a cell (or hotspot area) without a pattern.
NO_PATTERN = CATEGORY_LABELS[0]


def _months_of(incidents: Any) -> int:
    """Calendar months from the incidents' first month to their last (0 without dates)."""
    try:
        return len(month_options(*month_range(incidents)))
    except (KeyError, ValueError, ParameterError, SchemaError):
        return 0


def too_few_months(incidents: Any) -> str | None:
    """Why the incidents' months are too few for emerging hot spots, or None when they are enough.

    The one rule (:data:`hotspots.emerging.MIN_STEPS_FOR_TREND` monthly steps, counted from the
    incidents' first month to their last) for :func:`emerging_trends` and the command line's
    early refusal of ``--layer emerging``.

    Returns
    -------
    str or None
        E.g. ``"the data hold 6 month(s) (Jan 2025 – Jun 2025), and a trend needs at least 10
        monthly steps (ArcGIS's advice for the Mann–Kendall test)"``.
    """
    months = _months_of(incidents)
    if months >= MIN_STEPS_FOR_TREND:
        return None
    span = ""
    if months:
        first, last = month_range(incidents)
        a, b = pd.Timestamp(first).strftime("%b %Y"), pd.Timestamp(last).strftime("%b %Y")
        span = f" ({a})" if a == b else f" ({a} – {b})"
    return (
        f"the data hold {months} month(s){span}, and a trend needs at least "
        f"{MIN_STEPS_FOR_TREND} monthly steps (ArcGIS's advice for the Mann–Kendall test)"
    )


def emerging_trends(
    incidents: Any, grid: Grid, distance_m: float, *, alpha: float = 0.05, fdr: bool = True, seed: int | None = 0,
    keep_months: Any = (),
) -> tuple[EmergingResult | None, str | None]:
    """Emerging hot spots over every month of ``incidents`` on ``grid`` (module docs).

    Parameters
    ----------
    incidents : GeoDataFrame
        All the analysis's incidents (every month), in the grid's CRS.
    grid : Grid
        The analysis grid (its study-area cells take part).
    distance_m : float
        The Gi* distance band the hotspots used, metres.
    alpha, fdr, seed, keep_months
        The analysis's settings (``keep_months``: months never left out as published in part).

    Returns
    -------
    (EmergingResult or None, note or None)
        None and the reason with fewer than 10 months, or when the cube cannot be built; the
        result's own warnings (months left out) are in its ``notes``.
    """
    too_few = too_few_months(incidents)
    if too_few is not None:
        return None, f"emerging hot spots not computed: {too_few}"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = emerging_hotspots(
                incidents, grid, distance=distance_m, alpha=alpha, fdr=fdr, seed=seed, keep_months=keep_months
            )
    except ParameterError as exc:
        return None, f"emerging hot spots not computed: {exc}"
    said = [f"emerging hot spots: {w.message}" for w in caught if issubclass(w.category, UserWarning)]
    if result.n_steps < MIN_STEPS_FOR_TREND:  # months left out brought the cube under the limit
        return None, (
            f"emerging hot spots not computed: {result.n_steps} monthly steps hold data, and a trend needs at least "
            f"{MIN_STEPS_FOR_TREND}"
        )
    if said:
        result = dataclasses.replace(result, notes=tuple(dict.fromkeys(result.notes + tuple(said))))
    return result, None


def category_counts(result: EmergingResult) -> pd.DataFrame:
    """The categories that occur, hot spots first, then cold spots, then no pattern: ``category``,
    ``cells``, ``share_pct`` (of the study-area cells that take part: the grid's active cells, which leave out a
    footprint's margin beyond the incidents' reach; the ``cells`` add up to them)."""
    s = result.summary()
    s = s[s["cells"] > 0]
    order = s["code"].map(lambda c: (0 if c > 0 else 1 if c < 0 else 2, abs(c)))
    s = s.assign(_o=order).sort_values("_o", kind="stable")
    return pd.DataFrame(
        {"category": s["category"].to_numpy(), "cells": s["cells"].to_numpy(np.int64), "share_pct": 100 * s["share"].to_numpy()}
    )


def _listing(rows: pd.DataFrame, side: str) -> str:
    parts = [f"{int(n):,} {c.removesuffix(f' {side} spot')}" for c, n in zip(rows["category"], rows["cells"])]
    if not parts:
        return f"no {side} spot pattern"
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{text} {side} spot cell{'s' if int(rows['cells'].sum()) != 1 else ''}"


def describe_emerging(result: EmergingResult) -> str:
    """One paragraph: the months, the categories found, and how much one trend word is worth."""
    steps = result.time_steps
    first, last = steps["label"].iloc[0], steps["label"].iloc[-1]
    span = f"{_month_text(first)} – {_month_text(last)}"
    gone = [f"{month_spans([month_number(m) for m in result.params.get(key) or ()], sizes=True)}, {why}"
            for key, why in (("missing_months", "no data"), ("incomplete_months", "published in part"))
            if result.params.get(key)]
    if gone:  # their steps are not in the cube (hotspots.emerging): "11 monthly steps (Jan – Dec)" needs saying why
        span += f"; left out: {'; '.join(gone)}"
    counts = category_counts(result)
    code = counts["category"].map(CATEGORY_CODES)
    hot, cold = counts[code > 0], counts[code < 0]
    alpha = float(result.params.get("alpha", 0.05))
    trending = counts[counts["category"].str.startswith(("intensifying", "diminishing"))]
    caveat = (
        f"; each cell's trend is tested at alpha {alpha:g}, so a persistent hot spot with no real trend is called "
        f"intensifying or diminishing about {alpha:.0%} of the time: trust trends that neighbouring cells share"
        if len(trending) else "; no hot spot is intensifying or diminishing"
    )
    caveat += pattern_caveat(hot["category"])
    short = short_series_caveat(result)
    if short:
        caveat += "; " + short
    if len(hot) or len(cold):
        caveat += "; " + own_test_text(result)
    return f"{result.n_steps} monthly steps ({span}): {_listing(hot, 'hot')}; {_listing(cold, 'cold')}{caveat}"


#: Hot spot categories that describe in which months a cell was hot (ArcGIS's rules), with no test of a change.
MONTH_PATTERNS = ("new", "consecutive", "sporadic", "oscillating", "historical")


def pattern_caveat(hot_categories: pd.Series) -> str:
    """``"; new, consecutive ... are patterns ..."`` when any hot spot cell has one of :data:`MONTH_PATTERNS`, else ``""``.

    They say which months a cell was hot, not that it changed: a steadily busy place's hot months fall into them by
    chance. Real 2025 ASB with each incident's month shuffled (no place has a pattern in time of its own) gave them
    to 20 of 184 (Essex), 53 of 399 (Devon and Cornwall), 66 of 461 (West Mercia) and 88 of 279 (Kent) hot spot
    cells; Essex's real months gave 27.
    """
    found = [p for p in MONTH_PATTERNS if any(str(c) == f"{p} hot spot" for c in hot_categories)]
    if not found:
        return ""
    words = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    return (
        # "sporadic describe the months" (Bedfordshire): the categories' noun keeps the verb plural, one category or more
        f"; {words} hot spots describe the months in which a cell was hot (ArcGIS's rules), not a tested change: a steadily busy "
        "place falls into them by chance (real 2025 ASB with its months shuffled gave them to 11-32 % of hot spot cells)"
    )


def own_test_text(result: EmergingResult) -> str:
    """Why emerging hot spots and the hotspot areas can disagree: each judges cells by its own test.

    Emerging hot spots judge each cell's month (its space-time neighbourhood, FDR over the whole
    cube), the hotspot areas each cell's total over the period with the analysis's Gi* inference
    (permutations, say). Gwent's 2025 ASB with 999 permutations: "hotspot areas: 0" beside "83
    persistent hot spot cells", read as a contradiction. The one text of :func:`describe_emerging`.
    """
    p = result.params
    test = "the exact count test" if p.get("inference") == "count" else "the normal p of its Gi* z"
    fdr = str(p.get("fdr", "none"))
    over = "" if fdr == "none" else ", false discovery rate over the " + fdr.split(" over the ")[-1]
    return (
        f"emerging hot spots are a test of their own (each cell's months, judged by {test}{over}), not the hotspot "
        "areas' Gi* over the whole period: a cell can be a persistent hot spot where the map has no hotspot area, "
        "or the reverse"
    )


def short_series_caveat(result: EmergingResult) -> str:
    """What a trend word is worth when places' year-to-year variation could not be estimated
    (:func:`levels_estimated`) and some hot spot is called intensifying or diminishing; "" otherwise.
    The one text :func:`describe_emerging` (the app, the GIS files) and the briefing maps show."""
    counts = category_counts(result)
    trending = counts["category"].str.startswith(("intensifying", "diminishing"))
    if not trending.any() or levels_estimated(result):
        return ""
    return (
        "with less than two years of months, places' year-to-year variation cannot be estimated, so a hot spot "
        "whose level shifted once, or whose season differs from the area's, reads as a trend: a prompt to look, "
        "not a finding"
    )


def levels_estimated(result: EmergingResult) -> bool:
    """Whether the trend test allowed for places' year-to-year variation: it is estimated from
    busy cells over whole years (:func:`hotspots.trend.block_level_variance`), so not with fewer
    than two years of months, nor without busy cells."""
    return int((result.params.get("year_to_year_variation") or {}).get("cells", 0)) > 0


def _month_text(label: str) -> str:
    return pd.Period(label, "M").strftime("%b %Y")


def area_patterns(result: EmergingResult, labels: np.ndarray, n_areas: int) -> pd.DataFrame:
    """The pattern most cells of each hotspot area share (cells without a pattern not counted;
    ``NO_PATTERN`` when none has one; ties go to the category listed first by ArcGIS, new hot spot
    first).

    Parameters
    ----------
    result : EmergingResult
        On the same grid as ``labels``.
    labels : ndarray of int, grid shape
        Hotspot area id per cell (0 outside the areas): :attr:`hotspots.areas.HotspotAreas.labels`.
    n_areas : int

    Returns
    -------
    DataFrame
        ``area_id`` (1..n_areas), ``emerging`` (the pattern), ``pattern_cells``, ``cells``.
    """
    if labels.shape != result.grid.shape:
        raise ParameterError("`labels` must be on the emerging result's grid (the same shape).")
    lab = labels.ravel().astype(np.int64)
    cat = result.categories.ravel().astype(np.int64)
    inside = lab > 0
    rows = []
    for aid in range(1, int(n_areas) + 1):
        c = cat[inside & (lab == aid)]
        n = int(c.size)
        with_pattern = c[c != 0]
        if with_pattern.size == 0:
            rows.append((aid, NO_PATTERN, 0, n))
            continue
        codes, k = np.unique(with_pattern, return_counts=True)
        # ArcGIS's order: new, consecutive, intensifying, ... hot (codes 1..8), then cold (-1..-8)
        key = np.where(codes > 0, codes, 8 - codes)
        best = codes[np.lexsort((key, -k))[0]]
        rows.append((aid, CATEGORY_LABELS[int(best)], int(k.max()), n))
    return pd.DataFrame(rows, columns=["area_id", "emerging", "pattern_cells", "cells"])
