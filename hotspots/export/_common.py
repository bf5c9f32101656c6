"""Pieces shared by the briefing images, the GIS exports and the CLI summary.

Nothing here computes a statistic: it describes an :class:`~hotspots.analysis.Analysis` (data
source, period, place names of hotspot areas) and gathers already-computed figures into one
table per hotspot area, with person-level counts taken only from the disclosure-controlled
display tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..change import incident_dates
from ..schema import POLICE_UK_ATTRIBUTION
from ..style import join_notes, percent_change, percent_change_note

__all__ = [
    "DataSource",
    "data_source",
    "period_text",
    "period_range_text",
    "area_summary",
    "column_periods",
    "area_places",
    "force_of",
    "DEMO_ATTRIBUTION",
    "SHOWN_SUFFIX",
    "one_type_columns",
]

#: Attribution printed on anything made from the synthetic demo data.
DEMO_ATTRIBUTION = "Synthetic demo data: not real incidents or people"

_POLICE_FILE = re.compile(r"^\d{4}-\d{2}-.+-street\.csv(\.gz)?$")


@dataclass(frozen=True)
class DataSource:
    """Where the incidents came from, for captions and sidecars.

    Attributes
    ----------
    kind : {"police.uk", "demo", "user"}
    description : str
        E.g. ``"data.police.uk street-level anti-social behaviour"``, ``"data.police.uk street-level crime
        (Burglary, Robbery)"``: what was analysed.
    attribution : str
        Licence/attribution line that must accompany the data.
    """

    kind: str
    description: str
    attribution: str


def _categories_text(incidents: pd.DataFrame) -> str:
    from ..summaries import category_names

    cats = category_names(incidents)  # 'ASB' and 'Anti-social behaviour' are one category
    if not cats:
        return ""
    if len(cats) <= 3:
        return ", ".join(sorted(cats))
    return f"{len(cats)} categories"


def data_source(incidents: pd.DataFrame, *, source: str | None = None, attribution: str | None = None) -> DataSource:
    """Guess the data source of loaded incidents (police.uk files, the demo, or other files).

    Police.uk: every ``source`` value is a police.uk monthly street file name
    (``2025-01-derbyshire-street.csv``, or ``.csv.gz``); the force (:func:`hotspots.forces.detect_force`)
    is named. Demo: every ``incident_id`` starts with ``demo-``. ``source``/``attribution``
    override the guess (e.g. for force records). Real data's hotspot areas and maps are named
    from GeoNames, so its attribution follows the data's.
    """
    from ..forces import detect_force
    from ..gazetteer import GEONAMES_ATTRIBUTION
    from ..schema import ASB_CATEGORY
    from ..summaries import category_names

    cats = _categories_text(incidents)
    suffix = f" ({cats})" if cats else ""
    kind = "user"
    ids = incidents["incident_id"] if "incident_id" in incidents.columns else None
    if len(incidents) and ids is not None and pd.Series(ids).astype(str).str.startswith("demo-").all():
        kind = "demo"
    elif len(incidents) and "source" in incidents.columns:
        names = pd.Series(incidents["source"]).dropna().astype(str).unique()
        if len(names) and all(_POLICE_FILE.match(re.split(r"[/\\:]", n)[-1]) for n in names):
            kind = "police.uk"
    force = detect_force(incidents) if kind != "demo" else None
    of = f", {force.name}" if force is not None else ""
    if kind == "demo":
        desc, attr = f"hotspots synthetic demo data for Derbyshire{suffix}", DEMO_ATTRIBUTION
    elif kind == "police.uk":  # what was loaded: police.uk's anti-social behaviour, its crimes, or both
        names = category_names(incidents)
        what = "crime and ASB" if ASB_CATEGORY in names and len(names) > 1 else "crime" if names else "crime and ASB"
        what, suffix = ("anti-social behaviour", "") if names == [ASB_CATEGORY] else (what, suffix)
        desc, attr = f"data.police.uk street-level {what}{suffix}{of}", f"{POLICE_UK_ATTRIBUTION}. {GEONAMES_ATTRIBUTION}"
    else:
        desc, attr = f"user-supplied incident records{suffix}{of}", GEONAMES_ATTRIBUTION
    return DataSource(kind, source or desc, attribution if attribution is not None else attr)


def force_of(analysis: Any) -> Any:
    """The :class:`hotspots.forces.Force` of an analysis: the one it carries (a name given by the
    user), else the one its incidents name (police.uk's "Falls within"); None for the demo and
    data that name no force."""
    from ..forces import detect_force
    from ..places import is_demo_data

    given = getattr(analysis, "force", None)
    if given is not None:
        return given
    inc = analysis.incidents
    return None if is_demo_data(inc) else detect_force(inc)


def period_text(incidents: pd.DataFrame, period: Any = None) -> str:
    """The months covered, e.g. ``"Jan 2022 – Mar 2025"`` (from ``period`` when given)."""
    if period is not None:
        return period.describe() if hasattr(period, "describe") else str(period)
    if len(incidents) == 0:
        return ""
    dates, _ = incident_dates(incidents)
    dates = dates[~np.isnat(dates)]
    if len(dates) == 0:
        return ""
    a = pd.Timestamp(dates.min())
    b = pd.Timestamp(dates.max())
    first, last = a.strftime("%b %Y"), b.strftime("%b %Y")
    return first if first == last else f"{first} – {last}"


def period_range_text(period: Any) -> str:
    """``"Jul 2023 – Jun 2024"`` without the period's label."""
    return period.describe().split(": ", 1)[-1]


def area_places(areas: pd.DataFrame, analysis: Any = None) -> pd.DataFrame:
    """Place names of each hotspot area (:func:`hotspots.places.area_places`): ``label`` (e.g.
    "Granby Street, Leicester"), ``town``, ``district``, ``streets``, ``districts``.

    The towns come from :func:`hotspots.places.label_towns` (the demo's Derbyshire towns for the
    demo, GeoNames places in the study area for real data); streets and districts from the
    analysis' incidents (police.uk's "On or near ..." and LSOA names) when ``analysis`` is given.
    Without ``analysis``, the towns are those within 2 km of the areas.
    """
    from ..places import name_hotspot_areas

    return name_hotspot_areas(areas, getattr(analysis, "incidents", None), getattr(analysis, "study_area", None))


def cluster_places(clusters: pd.DataFrame, analysis: Any) -> np.ndarray:
    """The place of each point cluster (``clusters`` with ``cluster`` and polygons, e.g.
    :attr:`hotspots.clustering.ClusterResult.polygons`): the label :func:`area_places` gives it
    ("Cambrian Road, Newport"), as the clusters briefing's "Near" column, the ``clusters`` layer and
    ``csv/clusters.csv`` show it."""
    named = area_places(clusters[["cluster", clusters.geometry.name]].rename(columns={"cluster": "area_id"}), analysis)
    return named["label"].to_numpy(dtype=object)


def area_summary(analysis: Any) -> pd.DataFrame:
    """One row per hotspot area: place, incidents, change and (suppressed) referrals.

    Columns: ``area_id``, ``rank``, ``place`` (the area's label, :func:`area_places`),
    ``streets`` and ``districts`` (most frequent, with incidents), ``n_cells``, ``area_km2``,
    ``incidents`` (in the hotspot period), ``neighbourhood_incidents`` (within the Gi* distance band
    of the area's cells, its own included: what made them hot), ``share_pct``, ``peak_confidence``; with before/after
    change ``n_before``, ``n_after``, ``change_pct`` (rate after / rate before − 1, in %),
    ``change_adjusted_pct`` (when the areas were placebo-adjusted), ``change_class``, ``change_note`` (why
    ``change_pct`` is blank, :func:`hotspots.style.percent_change_note`, and for a significant change the choice of
    hotspot months predicts, :meth:`hotspots.change.ChangeResult.selection_notes`; None otherwise); with the
    displacement rings (:attr:`hotspots.analysis.Analysis.displacement`) ``ring_change_pct`` and
    ``ring_change_class`` and ``ring_change_note``, the change of the ring of cells around the area, as judged (placebo-adjusted
    when the rings were; empty for an area with no ring); with emerging hot spots
    (:attr:`hotspots.analysis.Analysis.emerging`) ``emerging``, the pattern most of the area's cells
    share over the data's months (:func:`hotspots.emerging_summary.area_patterns`); with
    referrals :data:`hotspots.area_referrals.AREA_REFERRAL_COLUMNS` (``referrals``,
    ``reparation_local_pct``, ``completed_pct``, ``not_reoffended_pct``), **taken from the
    analysis's protected publication** (:func:`hotspots.publication.scheme_publication`: ``"<5"``,
    ``"c"`` or ``"x"`` where hidden). Incident counts are not person-level and are shown as they are.
    With no hotspot area the table is empty but has the columns of a full one (change, rings when ``ring_m``
    is set, referrals when the analysis has them).
    """
    a = analysis.areas.areas
    named = area_places(a, analysis)
    out = pd.DataFrame(
        {
            "area_id": a["area_id"].to_numpy(dtype=np.int64),
            "rank": a["rank"].to_numpy(dtype=np.int64),
            "place": named["label"].to_numpy(dtype=object),
            "streets": named["streets"].to_numpy(dtype=object),
            "districts": named["districts"].to_numpy(dtype=object),
            "n_cells": a["n_cells"].to_numpy(dtype=np.int64),
            "area_km2": a["area_km2"].to_numpy(dtype=float),
            "incidents": a["count"].to_numpy(dtype=float).round().astype(np.int64),
            "neighbourhood_incidents": a["neighbourhood_count"].to_numpy(dtype=float).round().astype(np.int64),
            "share_pct": np.round(a["share_of_incidents"].to_numpy(dtype=float) * 100.0, 1),
            "peak_confidence": a["peak_confidence"].astype(str).to_numpy(dtype=object),
        }
    )
    ch = analysis.change_areas
    if ch is not None and len(ch.table):
        t = ch.table.set_index("area_id")
        ids = out["area_id"]
        out["n_before"] = t["n_before"].reindex(ids).to_numpy()
        out["n_after"] = t["n_after"].reindex(ids).to_numpy()
        judged = t["change_class"].reindex(ids).to_numpy(dtype=object)
        # "–" where too few incidents to show a change (one rule: percent_change's counts)
        counts = (out["n_before"], out["n_after"])
        out["change_pct"] = percent_change(t["rate_ratio"].reindex(ids).to_numpy(), judged, *counts)
        if "rate_ratio_adjusted" in t.columns:  # the change the verdict was judged on
            out["change_adjusted_pct"] = percent_change(t["rate_ratio_adjusted"].reindex(ids).to_numpy(), judged, *counts)
        out["change_class"] = t["change_class"].reindex(ids).astype(object).to_numpy()
        out["change_note"] = join_notes(  # why "–"; a significant change the choice of hotspot months predicts
            percent_change_note(t["rate_ratio"].reindex(ids).to_numpy(), judged, *counts), ch.selection_notes(ids)
        )
    elif len(out) == 0:  # no hotspot area: the columns of a full table all the same (empty)
        out["n_before"], out["n_after"], out["change_pct"] = (np.array([], dtype=float) for _ in range(3))
        out["change_class"], out["change_note"] = np.array([], dtype=object), np.array([], dtype=object)
    moved = getattr(analysis, "displacement", None)
    if moved is not None and len(moved.ring_change.table):
        # each area's ring (hotspots.displacement_rings): its change as judged (placebo-adjusted when the areas were)
        for col, values in moved.area_columns(out["area_id"]).items():
            out[col] = values
    elif len(out) == 0 and getattr(getattr(analysis, "settings", None), "ring_m", 0):
        out["ring_change_pct"], out["ring_change_class"] = np.array([], dtype=float), np.array([], dtype=object)
        out["ring_change_note"] = np.array([], dtype=object)
    trends = getattr(analysis, "emerging", None)
    if trends is not None:  # the pattern most of the area's cells share over the data's months
        from ..emerging_summary import area_patterns

        p = area_patterns(trends, np.asarray(analysis.areas.labels), analysis.areas.n_areas).set_index("area_id")
        out["emerging"] = p["emerging"].reindex(out["area_id"]).astype(object).to_numpy()
    link = analysis.linkage
    if link is not None and getattr(link, "has_areas", False) and len(link.per_hotspot):
        from ..area_referrals import area_referral_figures
        from ..publication import scheme_publication

        # protected with every other output; the columns of every area table (the app's too)
        for col, values in area_referral_figures(scheme_publication(analysis), out["area_id"]).items():
            out[col] = pd.Series(values, index=out.index, dtype=object)
    elif len(out) == 0 and getattr(analysis, "referrals", None) is not None:  # no area: a full table's columns
        from ..area_referrals import AREA_REFERRAL_COLUMNS

        for col in AREA_REFERRAL_COLUMNS:
            out[col] = np.array([], dtype=object)
    return out.sort_values(["rank", "area_id"], kind="stable").reset_index(drop=True)


def column_periods(analysis: Any) -> dict[str, str]:
    """Which months each count of the hotspot areas' tables covers: ``incidents`` and
    ``neighbourhood_incidents`` the hotspot period (``settings.period``, else the data's months),
    ``n_before``, ``n_after``, ``change_pct`` (and the change tables' ``change_per_day``) the change
    periods, which can be other months (``--period 2025-03:2025-08`` with halves Jan–Jun and Jul–Dec).

    The one rule for the console summary, ``parameters.json`` and the app; empty change entries without
    before/after change.
    """
    from ..periods import Period

    s = analysis.settings
    hot = Period.from_months(*s.period).describe(label=False) if s.period else period_text(analysis.incidents)
    out = {"incidents": f"{hot} (the hotspot period)", "neighbourhood_incidents": f"{hot} (the hotspot period)"}
    ch = analysis.change_areas if analysis.change_areas is not None else analysis.change_cells
    if ch is not None:
        b, a = ch.period_text("before"), ch.period_text("after")
        out.update({"n_before": b, "n_after": a, "change_pct": f"{b} -> {a} (rates per day)",
                    "change_per_day": f"{b} -> {a} (incidents per day, after minus before)"})
    return out


#: Suffix of the text column that carries a figure as published (``"295"``, ``"<5"``, ``"c"``, ``">74"``) beside the
#: numeric column of the same name (:func:`one_type_columns`).
SHOWN_SUFFIX = "_shown"


def _kind(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    return "text" if isinstance(v, str) else "other"


def one_type_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column holding one type, as GeoJSON and GeoPackage readers expect of a field.

    A column mixing numbers and text (published counts ``295`` and ``"<5"``/``"c"``, percentages ``77``
    and ``">74"``) becomes two, the convention of ``referral_origins`` and ``task_sites``: ``<name>``
    the numbers, empty (null) where the figure is hidden or only bounded, to style and sum by in
    QGIS or ArcGIS, and ``<name>_shown`` (:data:`SHOWN_SUFFIX`) the figure as published for every row
    (``"295"``, ``"<5"``, ``"c"``), to label by. When ``<name>_shown`` exists already it is kept and
    only ``<name>`` is made numeric. Any other mix (numbers and booleans, ...) becomes text. Missing
    values stay missing; columns of one type are left alone (geopandas otherwise warns "Could not
    parse column ... as JSON; leaving as string" and QGIS types the field by its first feature).

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame

    Returns
    -------
    DataFrame or GeoDataFrame
        A copy; the caller's frame is left alone.
    """
    out = frame.copy()
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for c in list(out.columns):
        if c == geom or out[c].dtype != object:
            continue
        vals = out[c].tolist()
        missing = [v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA for v in vals]
        kinds = {_kind(v) for v, m in zip(vals, missing) if not m}
        if len(kinds) < 2:
            continue
        if kinds != {"number", "text"}:
            out[c] = pd.Series([None if m else str(v) for v, m in zip(vals, missing)], index=out.index, dtype=object)
            continue
        nums = [None if m or _kind(v) != "number" else v for v, m in zip(vals, missing)]
        whole = all(float(v).is_integer() for v in nums if v is not None)
        out[c] = pd.Series(pd.array(nums, dtype="Int64" if whole else "Float64"), index=out.index)
        shown = f"{c}{SHOWN_SUFFIX}"
        if shown not in out.columns:
            texts = [None if m else (f"{v:g}" if _kind(v) == "number" else v) for v, m in zip(vals, missing)]
            out.insert(out.columns.get_loc(c) + 1, shown, pd.Series(texts, index=out.index, dtype=object))
    return out
