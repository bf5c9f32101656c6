"""GIS exports: one GeoPackage, GeoJSON per layer (WGS84), CSV tables and a JSON sidecar.

:func:`export_gis` writes, from one :class:`~hotspots.analysis.Analysis`::

    out_dir/
      hotspots.gpkg            layers in British National Grid (EPSG:27700), for QGIS/ArcGIS,
                               and non-spatial tables (``change_summary``, ...)
      geojson/<layer>.geojson  the same layers in WGS84 (EPSG:4326), as RFC 7946 requires
      csv/<table>.csv          tables (hotspot areas, change, pooled change, KPIs, referral linkage)
      parameters.json          every setting and automatic value, package version, inputs and
                               their load reports, data source and licence, output checksums

Layers (:func:`gis_layers`)
---------------------------
``cells``
    Grid cells in the study area: ``row``, ``col``, ``count``, ``neighbours``, ``z`` (analytic
    Gi*, as esda), ``p_normal`` (z's normal p: for comparison), ``p_exact`` (exact inference), or
    ``p_sim``, ``p_sim_directed``, ``z_sim`` (permutations); ``p_adjusted`` with FDR (the q-value),
    ``p_decision`` (the p-value that decides the class: at most 0.01/0.05/0.10 for 99/95/90 %; the
    layer's description and ``parameters.json`` ``gi_star.p_decision`` say which it is),
    ``bin`` (ArcGIS ``Gi_Bin``), ``class``, ``density`` (incidents per km²), ``area_id``
    (hotspot area, 0 = none), ``emerging`` (the cell's emerging hot spot category over the data's
    months, ArcGIS's names; with at least 10 months of data). ``drop_empty=True`` leaves out cells with no incident and no
    significant class (their smoothed density is then not exported either).
``hotspot_areas``
    The hotspot areas (:data:`hotspots.areas.AREA_COLUMNS`) with ``place`` (top street and town),
    ``streets`` and ``districts``, before/after change columns (``change_pct`` and, when adjusted,
    ``change_adjusted_pct`` as in ``csv/hotspot_areas.csv``), the ring's change
    (``ring_change_pct``, ``ring_change_class``), the pattern over the months (``emerging``) and
    ``referrals`` (text, disclosure-controlled: ``"12"``, ``"<5"``, ``"x"``) and ``referrals_count``
    (the same figure as a whole number, empty where the text hides it).
``clusters``
    DBSCAN/HDBSCAN cluster polygons, each with its ``place`` ("Cambrian Road, Newport": the name
    the clusters briefing lists as "Near"); also ``csv/clusters.csv``.
``referral_origins``
    Where referred behaviour happened, **aggregated** to ``snap_m`` squares (default 250 m,
    aligned to multiples of ``snap_m``, each including its west and south edges): one polygon
    per square with at least one referral, ``square_x``/``square_y`` (its centre), ``square_m``,
    ``referrals`` (whole number, empty when hidden) and ``referrals_shown`` (``"12"``, ``"<5"``
    or ``"c"``). No person reference, referral id, date or offence is exported; squares are
    sorted west to east.
``task_sites``
    Reparative task sites (``task_id``, ``kind``, ``site_name``) and the referrals linked to each
    (``referrals``/``referrals_shown``).
``referral_task_lines``
    Referral → task flows **aggregated** from each hotspot area (for referrals outside hotspots:
    from their town) to each task site: ``origin`` (area id or town), ``origin_kind``,
    ``task_id``, ``task_kind``, ``task_site``, ``task_town``, ``site_in_origin_town``, ``length_m`` (of the
    drawn line, rounded to 100 m), ``referrals``/``referrals_shown``.
``change_cells``, ``change_areas``
    Change per cell and per hotspot area (:class:`hotspots.change.ChangeResult`; cells' ``change_note``: cell_selection).
``displacement_rings``
    The ring around each hotspot area (``Settings.ring_m`` wide: :mod:`hotspots.displacement_rings`)
    with ``around_area`` (the hotspot area's id) and its before/after change (as ``change_areas``).
``study_area``
    The study-area polygon(s), when one was used, with ``area_name``.

The layers of areas (``hotspot_areas``, ``clusters``, ``change_areas``, ``displacement_rings``,
``study_area``) are MultiPolygon in every format and every run, whether or not an area is in
pieces; the cell layers and ``referral_origins`` are Polygon squares.

Non-spatial tables in the GeoPackage (:func:`gpkg_tables`)
----------------------------------------------------------
``change_summary``
    The pooled before/after change (:class:`hotspots.change_summary.ChangeSummary`), one row per
    scope ("all hotspot areas", "elsewhere", "hotspots vs elsewhere"): ``scope``,
    ``rate_ratio``, ``ci_low``, ``ci_high``, ``p_value``, ``verdict``, then ``n_before``,
    ``n_after`` (incidents) and ``mde_fall`` (the smallest fall detectable with 80 % power, a
    fraction). Also
    ``csv/change_summary.csv``; its method and notes are in ``parameters.json``
    (``results.change_summary``).
``displacement``
    Did harm move next door (:class:`hotspots.displacement_rings.Displacement`): the same columns for
    "rings around hotspot areas" and "rings vs beyond" (the rings' change against the rest of the
    study area beyond them). Also ``csv/displacement.csv``; its method, the plain-words reading and
    the Weighted Displacement Quotient are in ``parameters.json`` (``results.displacement``).
``emerging``
    Emerging hot spots (:mod:`hotspots.emerging_summary`): cells per category that occurs,
    ``category``, ``cells``, ``share_pct``. Also ``csv/emerging.csv``; the months, the reading, the
    trend test and the year-to-year variation it allowed for are in ``parameters.json``
    (``results.emerging``).

Numbers that are not finite
---------------------------
Every format writes a number that is not finite as missing: empty in CSV, null in the GeoPackage
and in GeoJSON (:func:`hotspots.change.finite_for_files`, applied by :func:`gis_layers`,
:func:`gpkg_tables` and :func:`csv_tables`; the app's change downloads too). A cell or area with
no incident before has an infinite ``rate_ratio`` in memory (:class:`hotspots.change.ChangeResult`
keeps ``inf``); the files write it empty, and its interval (``rate_ratio_low``,
``rate_ratio_high``; ``change_rate_ratio_low``, ``change_rate_ratio_high`` in ``hotspot_areas``)
too: with a count of 0 before, the interval's ends are set by the 0.5 put in the 0's place, not by
the data. Its ``p_value`` and ``change_class`` are written as tested.

Disclosure control of person-level counts
-----------------------------------------
Every count of people in these files (KPI and linkage tables, referrals per hotspot area, per
square, per task site and per flow, the referral file's load report in ``parameters.json``)
comes from one :class:`hotspots.publication.SchemePublication`, which protects them all together
(:mod:`hotspots.disclosure`): no small count can be worked out from everything written here. The
GeoPackage and GeoJSON layers with person counts carry the disclosure statement as their
description, the person-level CSV tables in a ``disclosure`` column, and ``parameters.json`` in
``privacy``. Publishing two runs with different settings side by side can still single people
out (their differences are not protected).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import validation
from .._errors import ParameterError
from ..area_referrals import area_referral_figures
from ..areas import as_multipolygons
from ..change import finite_for_files
from ..csv_safety import csv_text
from ..disclosure import MIN_SAFE_THRESHOLD, SUPPRESSION_THRESHOLD, Ledger, check_threshold, disclosure_statement, protect
from ..grid import BNG
from ..publication import scheme_publication
from ._common import area_places, area_summary, cluster_places, column_periods, data_source, one_type_columns

__all__ = [
    "ExportManifest",
    "export_gis",
    "gis_layers",
    "csv_tables",
    "hotspot_areas_table",
    "gpkg_tables",
    "parameters_record",
    "suppress_counts",
    "FORMATS",
    "LAYER_NAMES",
    "GPKG_TABLES",
    "CSV_TABLES",
    "MIN_SNAP_M",
    "check_snap_m",
]

#: Output formats :func:`export_gis` knows.
FORMATS = ("gpkg", "geojson", "csv", "tif")
#: Smallest square (metres) referral origins are exported in: never as exact points.
MIN_SNAP_M = 50.0
#: Layer names, in the order written.
LAYER_NAMES = (
    "cells",
    "hotspot_areas",
    "clusters",
    "referral_origins",
    "task_sites",
    "referral_task_lines",
    "change_cells",
    "change_areas",
    "displacement_rings",
    "study_area",
)
#: Non-spatial GeoPackage tables (attribute tables), in the order written.
GPKG_TABLES = ("change_summary", "displacement", "emerging")
#: Every table :func:`csv_tables` may return (``csv/<name>.csv``); the results-folder rule refuses
#: a user's file of these names only (:func:`hotspots.results_folder.output_names`).
CSV_TABLES = (
    "hotspot_areas", "clusters", *GPKG_TABLES, "change_areas", "change_cells", "kpis", "kpis_by_month",
    "kpis_by_offence", "kpis_by_route", "kpis_by_age_group", "kpis_by_hotspot", "referrals_by_hotspot",
    "referrals_summary",
)
SIDECAR = "parameters.json"
# Layers holding counts of people (their description states the disclosure rule).
_PERSON_LAYERS = ("hotspot_areas", "referral_origins", "task_sites", "referral_task_lines")
SIDECAR_FORMAT = "hotspots-parameters/1"


# =============================================================================== result
@dataclass(frozen=True)
class ExportManifest:
    """What :func:`export_gis` wrote.

    Attributes
    ----------
    out_dir : Path
    files : dict of str to Path
        ``"gpkg"``, ``"geojson:<layer>"``, ``"csv:<table>"``, ``"parameters"`` → path.
    layers : dict of str to int
        Features per GIS layer written (GeoPackage and/or GeoJSON; empty when only CSV was asked for).
    tables : dict of str to int
        Rows per CSV table.
    parameters : dict
        The sidecar's content.
    notes : tuple of str
    """

    out_dir: Path
    files: dict[str, Path]
    layers: dict[str, int]
    tables: dict[str, int]
    parameters: dict[str, Any] = field(repr=False, default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def gpkg(self) -> Path | None:
        return self.files.get("gpkg")

    def paths(self) -> list[Path]:
        """Every file written, sidecar last."""
        return list(self.files.values())


# =============================================================================== suppression
def suppress_counts(counts: Sequence[Any], threshold: int = SUPPRESSION_THRESHOLD, *,
                    unsafe: bool = False) -> tuple[pd.Series, pd.Series]:
    """Disclosure control of one list of person counts whose total is assumed known.

    Primary: counts from 1 to ``threshold − 1`` are hidden (``"<5"``). Secondary
    (:func:`hotspots.disclosure.protect`): counts are hidden (``"c"``) until no hidden count can be
    worked out from the total and the others; when that cannot work (``[1, 3]``: the 3 hidden
    as 0-or-at-least-5 still pins the 1) the counts are withheld (``"x"``).

    Parameters
    ----------
    counts : sequence of int
    threshold : int
    unsafe : bool
        Needed for a threshold below 3.

    Returns
    -------
    numeric : Series of Int64
        The count, or missing where hidden.
    shown : Series of str
        ``"12"``, ``"<5"``, ``"c"`` or ``"x"``.
    """
    n = [int(v) for v in np.asarray(counts, dtype=np.int64)]
    known = Ledger()
    known.add("total", sum(n))  # published elsewhere: it stays as it is
    led = known.copy()
    for i, v in enumerate(n):
        led.add(i, v)
    led.relate("total", list(range(len(n))))
    prot = protect(led, threshold=threshold, unsafe=unsafe, base=protect(known, threshold=threshold, unsafe=unsafe))
    shown = pd.Series([str(prot.marker(i)) for i in range(len(n))], name="referrals_shown", dtype=object)
    numeric = pd.Series(pd.array([prot.shown_value(i) for i in range(len(n))], dtype="Int64"), name="referrals")
    return numeric, shown


# =============================================================================== layers
def _threshold(analysis: Any, threshold: Any) -> int:
    t = validation.whole(analysis.settings.threshold if threshold is None else threshold, "threshold", low=1)
    return check_threshold(int(t), bool(getattr(analysis.settings, "unsafe_threshold", False)))


def check_snap_m(snap_m: Any) -> float:
    """The side of the squares referral origins are exported in: at least :data:`MIN_SNAP_M` metres
    (referral points must never be exported exactly)."""
    return validation.number(snap_m, "snap_m", low=MIN_SNAP_M, unit="metres", example="250")


def _publication(analysis: Any, threshold: Any, snap_m: Any) -> Any:
    """The analysis's protected person-level figures (one per threshold and square size)."""
    return scheme_publication(analysis, threshold=_threshold(analysis, threshold), snap_m=check_snap_m(snap_m))


def _layer_description(an: Any, name: str, statement: str | None) -> dict[str, str]:
    """A layer's ``DESCRIPTION`` option: the disclosure statement for layers of people; for
    ``cells``, which p-value decides ``bin`` and ``class`` (:meth:`hotspots.gistar.GiStarResult.decision_text`:
    ``z``/``p_normal`` are the analytic Gi*, not the decision)."""
    if statement and name in _PERSON_LAYERS:
        return {"DESCRIPTION": statement}
    if name == "cells" and getattr(an, "gi", None) is not None:
        return {"DESCRIPTION": f"Gi* cells: {an.gi.decision_text()}"}
    return {}


def _cells_layer(an: Any, drop_empty: bool) -> gpd.GeoDataFrame:
    gdf = an.gi.to_geodataframe()
    r, c = gdf["row"].to_numpy(), gdf["col"].to_numpy()
    gdf.insert(gdf.columns.get_loc("neighbours"), "density", np.asarray(an.density.values, dtype=float)[r, c])
    gdf.insert(len(gdf.columns) - 1, "area_id", np.asarray(an.areas.labels)[r, c].astype(np.int64))
    trends = getattr(an, "emerging", None)
    if trends is not None:  # the cell's emerging hot spot category over the data's months
        gdf.insert(len(gdf.columns) - 1, "emerging", np.asarray(trends.labels)[r, c].astype(object))
    if drop_empty:
        cnt = gdf["count"].to_numpy(dtype=float)
        keep = (cnt != 0) | (gdf["bin"].to_numpy() != 0)
        gdf = gdf[keep].reset_index(drop=True)
    return gdf


def _areas_layer(an: Any, pub: Any) -> gpd.GeoDataFrame:
    a = an.areas.areas.copy()
    for col in ("count", "neighbourhood_count"):  # incidents: whole numbers, as the CSV's (unless weighted)
        v = a[col].to_numpy(dtype=float)
        if np.isfinite(v).all() and (v == np.round(v)).all():
            a[col] = v.astype(np.int64)
    # what csv/hotspot_areas.csv says of each area (one rule: area_summary), to label and style by in QGIS
    summ = area_summary(an).set_index("area_id")
    for col, at in (("place", 1), ("streets", 2), ("districts", 3)):
        a.insert(at, col, summ[col].reindex(a["area_id"]).to_numpy(dtype=object))
    ch = an.change_areas
    cols = (
        "n_before", "n_after", "rate_ratio", "rate_ratio_adjusted", "rate_ratio_low", "rate_ratio_high", "p_value",
        "change_class",
    )
    if ch is not None and len(ch.table):
        t = ch.table.set_index("area_id")
        for col in cols:
            if col in t.columns:
                name = col if col.startswith(("n_", "change")) else f"change_{col}"
                a.insert(len(a.columns) - 1, name, t[col].reindex(a["area_id"]).to_numpy())
    elif an.change_cells is not None:
        # no area to compare: the layer keeps the columns a layer with areas has, so that a QGIS style
        # or model built on one run's layer opens every run's (placebo-adjusted only when the cells are)
        for col in (c for c in cols if c != "rate_ratio_adjusted" or c in an.change_cells.table.columns):
            name = col if col.startswith(("n_", "change")) else f"change_{col}"
            a.insert(len(a.columns) - 1, name, pd.Series([], dtype=object if col == "change_class" else float).reindex(a.index))
    for col in ("change_pct", "change_adjusted_pct", "change_note", "ring_change_pct", "ring_change_class", "ring_change_note",
                "emerging"):
        if col in summ.columns:
            a.insert(len(a.columns) - 1, col, summ[col].reindex(a["area_id"]).to_numpy())
    if pub is not None and pub.referrals_by_hotspot is not None:
        d = pub.referrals_by_hotspot.set_index(pub.referrals_by_hotspot["hotspot"].astype(str))
        vals = d["referrals"].reindex(a["area_id"].astype(str)).to_numpy(dtype=object)
        texts = ["0" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in vals]
        a.insert(len(a.columns) - 1, "referrals", np.array(texts, dtype=object))
        # the same figure as a number to style by, empty where the text hides it ("<5", "x"), as
        # referral_origins' and task_sites' `referrals`
        a.insert(len(a.columns) - 1, "referrals_count", pd.array([int(t) if t.isdigit() else None for t in texts], dtype="Int64"))
    return a


def _origins_layer(pub: Any) -> gpd.GeoDataFrame | None:
    if pub is None or pub.origins is None or len(pub.origins) == 0:
        return None
    return pub.origins.copy()


def _tasks_layer(an: Any, pub: Any) -> gpd.GeoDataFrame | None:
    tasks = an.tasks
    if tasks is None or len(tasks) == 0:
        return None
    keep = [c for c in ("task_id", "kind", "site_name", "town") if c in tasks.columns]
    out = gpd.GeoDataFrame(tasks[keep].copy(), geometry=tasks.geometry.to_crs(BNG).values, crs=BNG)
    for c in keep:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    if pub is not None and pub.task_sites is not None:
        site = pub.task_sites.set_index("task_id")
        ids = out["task_id"].astype(str).str.strip()
        out["referrals"] = pd.array(site["referrals"].reindex(ids).to_numpy(), dtype="Int64")
        out["referrals_shown"] = site["referrals_shown"].reindex(ids).to_numpy(dtype=object)
    return out


def _lines_layer(pub: Any) -> gpd.GeoDataFrame | None:
    if pub is None or pub.flows is None or len(pub.flows) == 0:
        return None
    return pub.flows.copy()


def _clusters_with_places(an: Any) -> gpd.GeoDataFrame:
    """The clusters' polygons with ``place`` after ``cluster``: the name the clusters briefing lists
    ("Near", :func:`~hotspots.export._common.cluster_places`)."""
    cl = an.clusters.polygons.copy()
    cl.insert(list(cl.columns).index("cluster") + 1, "place", cluster_places(cl, an))
    return cl


# Layers of areas, any of which may be in pieces: MultiPolygon always (see as_multipolygons).
_AREA_LAYERS = ("hotspot_areas", "clusters", "change_areas", "displacement_rings", "study_area")


def gis_layers(
    analysis: Any,
    *,
    threshold: int | None = None,
    snap_m: float = 250.0,
    drop_empty: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """The export layers as GeoDataFrames in EPSG:27700 (see the module docs for columns).

    Parameters
    ----------
    analysis : Analysis
    threshold : int, optional
        Person-level counts below it are suppressed; default ``analysis.settings.threshold``.
    snap_m : float
        Side of the squares referral origins are aggregated to, metres (at least 50).
    drop_empty : bool
        Leave out cells with no incident and no significant Gi* class, and change cells with no
        incident in either period.

    Returns
    -------
    dict
        Layer name → GeoDataFrame, in :data:`LAYER_NAMES` order; layers without data (no
        clusters, referrals, tasks, change or study area) are left out.
    """
    an = analysis
    pub = _publication(an, threshold, snap_m)
    out: dict[str, gpd.GeoDataFrame] = {"cells": _cells_layer(an, bool(drop_empty)), "hotspot_areas": _areas_layer(an, pub)}
    if an.clusters is not None:
        out["clusters"] = _clusters_with_places(an)
    for name, layer in (("referral_origins", _origins_layer(pub)), ("task_sites", _tasks_layer(an, pub)),
                        ("referral_task_lines", _lines_layer(pub))):
        if layer is not None:
            out[name] = layer
    if an.change_cells is not None:
        cc = an.change_cells.to_geodataframe()
        if drop_empty:
            cc = cc[(cc["n_before"] + cc["n_after"]).to_numpy() > 0].reset_index(drop=True)
        out["change_cells"] = cc
    if an.change_areas is not None:
        ca = an.change_areas.to_geodataframe()
        ca.insert(1, "place", area_places(ca, an)["label"].to_numpy(dtype=object))
        out["change_areas"] = ca
    moved = getattr(an, "displacement", None)
    if moved is not None:
        out["displacement_rings"] = moved.to_geodataframe()
    sa = an.study_area
    if sa is not None and len(sa):
        # The name goes out as ``area_name``: a bare ``name`` column looks like a person's name
        # to privacy checks (hotspots.privacy.identifying_columns).
        names = sa["name"].astype(object).to_numpy() if "name" in sa.columns else np.full(len(sa), "study area", dtype=object)
        crs = an.grid.crs  # the analysis CRS (Irish Transverse Mercator in Northern Ireland), as every layer
        out["study_area"] = gpd.GeoDataFrame({"area_name": names}, geometry=sa.geometry.to_crs(crs).values, crs=crs)
    ordered = {}
    for k in LAYER_NAMES:
        if k in out:
            g = as_multipolygons(out[k]) if k in _AREA_LAYERS else out[k]
            geom = g.geometry.name
            ordered[k] = finite_for_files(g[[c for c in g.columns if c != geom] + [geom]])
    return ordered


# =============================================================================== tables
def gpkg_tables(analysis: Any) -> dict[str, pd.DataFrame]:
    """The non-spatial GeoPackage tables (:data:`GPKG_TABLES`): ``change_summary``,
    ``displacement`` and ``emerging`` when the analysis has them
    (:attr:`hotspots.analysis.Analysis.change_summary`, :attr:`~hotspots.analysis.Analysis.displacement`,
    :attr:`~hotspots.analysis.Analysis.emerging`)."""
    from ..emerging_summary import category_counts

    out = {name: getattr(analysis, name, None) for name in ("change_summary", "displacement")}
    # with each row's incidents before and after and its smallest detectable fall (80 % power), so
    # that a reader can check a pooled ratio against the counts and read "no significant change"
    tables = {name: v.to_frame(extended=True) for name, v in out.items() if v is not None}
    if getattr(analysis, "emerging", None) is not None:
        tables["emerging"] = category_counts(analysis.emerging)
    return {name: finite_for_files(tables[name]) for name in GPKG_TABLES if name in tables}


def hotspot_areas_table(analysis: Any, *, threshold: int | None = None, snap_m: float = 250.0) -> pd.DataFrame:
    """``csv/hotspot_areas.csv`` and the app's "Hotspot areas (CSV)": :func:`area_summary` with the referral figures
    and ``disclosure`` rule of the analysis's protected publication (``threshold`` people, ``snap_m`` metres squares)."""
    pub = _publication(analysis, threshold, snap_m)
    out = area_summary(analysis)
    if pub is not None and pub.referrals_by_hotspot is not None:
        for col, values in area_referral_figures(pub, out["area_id"]).items():  # this publication's figures
            out[col] = pd.Series(values, index=out.index, dtype=object)
        out["disclosure"] = pub.statement
    return finite_for_files(out)


def csv_tables(analysis: Any, *, threshold: int | None = None, snap_m: float = 250.0) -> dict[str, pd.DataFrame]:
    """The CSV tables: hotspot areas, change, clusters, KPIs and referral linkage (protected).

    Returns
    -------
    dict
        ``hotspot_areas``, ``clusters``, ``change_summary`` (:func:`gpkg_tables`),
        ``change_areas``, ``change_cells`` (cells with any incident), and with referrals ``kpis``,
        ``kpis_by_month``, ``kpis_by_offence``, ``kpis_by_route``, ``kpis_by_age_group``, ``kpis_by_hotspot``,
        ``referrals_by_hotspot``,
        ``referrals_summary``. Person-level tables come from the analysis's
        :class:`~hotspots.publication.SchemePublication` (protected together with every layer),
        with a ``disclosure`` column stating the rule.
    """
    an = analysis
    pub = _publication(an, threshold, snap_m)
    out: dict[str, pd.DataFrame] = {"hotspot_areas": hotspot_areas_table(an, threshold=threshold, snap_m=snap_m)}
    if an.clusters is not None:
        cl = _clusters_with_places(an)
        out["clusters"] = pd.DataFrame(cl.drop(columns=cl.geometry.name))
    out.update(gpkg_tables(an))
    if an.change_areas is not None:
        ca = an.change_areas.table.copy()
        ca.insert(1, "place", area_places(an.change_areas.to_geodataframe(), an)["label"].to_numpy(dtype=object))
        out["change_areas"] = ca
    if an.change_cells is not None:
        cc = an.change_cells.table
        cc = cc[(cc["n_before"] + cc["n_after"]).to_numpy() > 0].copy()
        g = an.grid
        cc.insert(2, "x", g.x_centres[cc["col"].to_numpy()])
        cc.insert(3, "y", g.y_centres[cc["row"].to_numpy()])
        out["change_cells"] = cc.reset_index(drop=True)
    if pub is not None:
        person: dict[str, pd.DataFrame] = {"kpis": pub.kpis["all"]}
        for by in ("month", "offence", "route", "age_group", "hotspot"):
            if by in pub.kpis:
                person[f"kpis_by_{by}"] = pub.kpis[by]
        if pub.referrals_by_hotspot is not None:
            person["referrals_by_hotspot"] = pub.referrals_by_hotspot
        if pub.referrals_summary is not None:
            person["referrals_summary"] = pub.referrals_summary
        for name, df in person.items():
            df = df.copy()
            df["disclosure"] = pub.statement
            out[name] = df
    unnamed = set(out) - set(CSV_TABLES)
    if unnamed:  # the results-folder rule knows the names from CSV_TABLES
        raise AssertionError(f"internal: csv table(s) {sorted(unnamed)} missing from CSV_TABLES")
    return {name: finite_for_files(df) for name, df in out.items()}


# =============================================================================== sidecar
def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)) and not isinstance(v, str):
        return [_jsonable(x) for x in (sorted(v) if isinstance(v, set) else v)]
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if isinstance(v, (dt.date, dt.datetime, pd.Timestamp)):
        return v.isoformat()
    if isinstance(v, Path):
        return v.name
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _jsonable(dataclasses.asdict(v))
    if v is pd.NA or v is pd.NaT:
        return None
    return str(v)


def _input_record(kind: str, value: Any, pub: Any = None) -> dict[str, Any]:
    """A load report (or loaded set, or file list) as a JSON-ready dict.

    Referral reports keep counts only (no example rows, notes or warnings, which can quote values),
    protected by the analysis's publication (``pub``); without one, only the source is kept.
    """
    report = getattr(value, "report", value)
    rec: dict[str, Any] = {}
    params = getattr(value, "params", None)
    if isinstance(params, Mapping) and params.get("files"):
        rec["files"] = [str(f) for f in params["files"]]
    if hasattr(report, "to_dict"):
        d = report.to_dict()
        if kind == "referrals":
            d = pub.load_report(report) if pub is not None else {"source": d["source"]}
            rec["report"] = d
            rec["summary"] = (f"{d['source']}: read {d['rows_read']}, kept {d['rows_kept']}, dropped {d['rows_dropped']}"
                              if "rows_read" in d else str(d["source"]))
            return rec
        d.pop("files", None)
        rec["report"] = d
        rec["summary"] = report.summary()
    elif isinstance(value, (str, Path)):
        rec["files"] = [Path(value).name]
    elif isinstance(value, (list, tuple)):
        rec["files"] = [Path(v).name if isinstance(v, (str, Path)) else str(v) for v in value]
    elif isinstance(value, Mapping):
        rec.update(value)
        if kind == "referrals" and "rows" in rec:  # a count of people: as published
            rec["rows"] = pub.kpis["all"].iloc[-1]["referrals"] if pub is not None else None
    return rec


def parameters_record(
    analysis: Any,
    *,
    inputs: Mapping[str, Any] | None = None,
    timestamp: bool = True,
    extra: Mapping[str, Any] | None = None,
    threshold: int | None = None,
    snap_m: float = 250.0,
) -> dict[str, Any]:
    """The sidecar: everything needed to reproduce the result.

    Parameters
    ----------
    analysis : Analysis
    inputs : dict, optional
        ``{"incidents": IncidentSet or LoadReport or file list, "referrals": ..., "tasks": ...,
        "study_area": ...}``: file names and load reports (referrals: counts only).
    timestamp : bool
        Include ``created`` (UTC). ``False`` makes the file byte-for-byte reproducible.
    extra : dict, optional
        More entries (the CLI adds its command line).

    Returns
    -------
    dict
        ``format``, ``created`` (optional), ``hotspots_version``, ``settings``, ``used``
        (automatic values actually used), ``notes``, ``data_source`` (kind, description,
        attribution/licence), ``inputs``, ``results`` (counts), ``privacy``, ``crs``.
    """
    an = analysis
    params = an.parameters()
    src = data_source(an.incidents)
    rec: dict[str, Any] = {"format": SIDECAR_FORMAT}
    if timestamp:
        rec["created"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    rec.update(params)
    rec["data_source"] = {"kind": src.kind, "description": src.description, "attribution": src.attribution}
    epsg = an.grid.crs.to_epsg()
    crs_name = {27700: "British National Grid", 2157: "Irish Transverse Mercator"}.get(epsg or 0, an.grid.crs.name)
    rec["crs"] = {"analysis": f"EPSG:{epsg} ({crs_name}, metres)", "gpkg": f"EPSG:{epsg}", "geojson": "EPSG:4326 (RFC 7946)"}
    from ._common import force_of

    force = force_of(an)
    if force is not None:
        rec["force"] = force.record()
    pub = _publication(an, threshold, snap_m)
    rec["inputs"] = {k: _input_record(k, v, pub) for k, v in (inputs or {}).items() if v is not None}
    res: dict[str, Any] = {
        "incidents_analysed": int(len(an.incidents)),  # in the study area's cells (HotspotStage.incidents); the others next
        "incidents_outside_study_area": an.incidents_outside(),
        "cells_in_study_area": int(an.grid.n_cells),
        "hotspot_areas": int(an.areas.n_areas),
        "gi_hot_cells": int(np.asarray(an.gi.bins > 0).sum()),
        "gi_cold_cells": int(np.asarray(an.gi.bins < 0).sum()),
        # which p decides the cells layer's bin and class (its p_decision column; z and p_normal do not)
        "gi_decision": {"p_decision": an.gi.params.get("p_decision"), "fdr": an.gi.params.get("fdr"),
                        "levels": {"99%": 0.01, "95%": 0.05, "90%": 0.10}, "reading": an.gi.decision_text()},
        "clusters": None if an.clusters is None else int(an.clusters.n_clusters),
        "change_cells": None if an.change_cells is None else {str(k): int(v) for k, v in an.change_cells.summary().items()},
        "change_areas": None if an.change_areas is None else {str(k): int(v) for k, v in an.change_areas.summary().items()},
        "change_summary": _summary_record(getattr(an, "change_summary", None)),
        "displacement": _displacement_record(getattr(an, "displacement", None)),
        "emerging": _emerging_record(getattr(an, "emerging", None)),
    }
    if pub is not None:
        # data-quality counts about referrals (outside the study area, unknown task ids, dates
        # outside the incidents' months, implausible contact times), protected with the rest
        res["scheme_checks"] = dict(pub.checks)
        # the task sites (not referrals: not a count of people, so exact) lying outside the study area
        summary = getattr(getattr(an, "linkage", None), "summary", None) or {}
        if summary.get("task_sites_outside_area") is not None:
            res["scheme_checks"]["task_sites_outside_area"] = int(summary["task_sites_outside_area"])
    # which months each count of the hotspot areas' tables covers (the hotspot period, the change periods)
    res["column_periods"] = column_periods(an)
    rec["results"] = res
    t = _threshold(an, threshold)
    rec["privacy"] = {
        "threshold": t,
        "unsafe": t < MIN_SAFE_THRESHOLD,
        "statement": pub.statement if pub is not None else disclosure_statement(t),
        "groups_measured_in": None if pub is None else pub.basis,
        "referral_origins_square_m": check_snap_m(snap_m),
        "policy": (
            (f"UNSAFE: threshold {t}: counts of people are not protected; not for publication. " if t < MIN_SAFE_THRESHOLD else
             f"every count of people written here (tables, layers, this file) is protected together: counts from 1 to {t - 1} "
             f"are shown as '<{t}', 'c' hides a count of {t} or more that would let one be worked out, 'x' a breakdown of "
             f"fewer than {t} people (distinct people: a person referred several times counts once); rates are whole "
             "percent or a bound ('>99'). ")
            + "Referral locations only as counts per square, referral -> task flows only per hotspot area (or town) and site; "
            "no person reference, referral id or date is exported. Do not publish two runs with different settings side by "
            "side: their differences are not protected"
        ),
        "hidden_counts": None if pub is None else pub.protection.n_hidden,
    }
    if extra:
        rec.update(extra)
    return _jsonable(rec)


def _summary_record(summ: Any) -> dict[str, Any] | None:
    """The pooled change for the sidecar: rows (with counts and minimum detectable fall), method, notes."""
    if summ is None:
        return None
    return {
        "alpha": summ.alpha,
        "rows": summ.to_frame(extended=True).to_dict(orient="records"),
        "method": summ.method,
        # the dispersion estimates as numbers, not only in the method's words
        "dispersion": summ.dispersion_fields() if hasattr(summ, "dispersion_fields") else None,
        "notes": list(summ.notes),
        # a compared period under 3 months, the season not separated: what qualifies every change
        "warnings": list(summ.caveats()),
        "regression_to_mean": bool(summ.regression_to_mean),
        "selection_favours": summ.selection_favours,
    }


def _displacement_record(moved: Any) -> dict[str, Any] | None:
    """The rings' change for the sidecar: as :func:`_summary_record`, with the ring width, the
    plain-words reading, the counts and the Weighted Displacement Quotient of the totals."""
    if moved is None:
        return None
    return {
        **(_summary_record(moved.summary) or {}),
        "ring_m": moved.width_m,
        # how far the rings reach, centre to centre: more than ring_m when the cells are wider
        # than ring_m / sqrt(2) (the ring is then the touching cells)
        "ring_reach_m": round(moved.reach_m, 1),
        "ring_label": moved.label,
        "reading": moved.describe(),
        "counts": moved.params.get("counts"),
        "wdq": None if moved.wdq is None else moved.wdq.to_dict(),
    }


def _emerging_record(trends: Any) -> dict[str, Any] | None:
    """Emerging hot spots for the sidecar: the months, the reading, cells per category, the trend
    test and the year-to-year variation it allowed for, the notes."""
    if trends is None:
        return None
    from ..emerging_summary import category_counts, describe_emerging

    p = trends.params
    return {
        "months": [p.get("start"), p.get("end")],
        "time_steps": int(trends.n_steps),
        "reading": describe_emerging(trends),
        "categories": {c: int(n) for c, n in zip(*category_counts(trends)[["category", "cells"]].to_numpy().T)},
        "method": p.get("method"),
        "inference": p.get("inference"),
        "fdr": p.get("fdr"),
        "trend_test": p.get("trend_test"),
        "year_to_year_variation": p.get("year_to_year_variation"),
        "steps_left_out": p.get("steps_left_out"),
        "notes": list(trends.notes),
    }


# =============================================================================== writing
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GDAL writes well, each of one type (:func:`~hotspots.export.one_type_columns`): plain object strings,
    float for nullable numbers, finite floats kept."""
    out = one_type_columns(gdf)
    for c in out.columns:
        if c == out.geometry.name:
            continue
        s = out[c]
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            out[c] = s.astype(object).where(s.notna(), None)
        elif isinstance(s.dtype, (pd.Int64Dtype, pd.Float64Dtype)):
            out[c] = s.astype("float64")
        elif isinstance(s.dtype, pd.BooleanDtype):
            out[c] = s.astype(object).where(s.notna(), None)
    return out


def _for_geojson(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    # numbers that are not finite are already missing (gis_layers: finite_for_files), as JSON needs
    return _for_file(gdf).to_crs(4326)


def export_gis(
    analysis: Any,
    out_dir: str | Path,
    *,
    formats: Iterable[str] = FORMATS,
    threshold: int | None = None,
    snap_m: float = 250.0,
    drop_empty: bool = False,
    inputs: Mapping[str, Any] | None = None,
    timestamp: bool = True,
    gpkg_name: str = "hotspots.gpkg",
    extra: Mapping[str, Any] | None = None,
) -> ExportManifest:
    """Write the analysis as GeoPackage, GeoJSON and CSV files with a ``parameters.json`` sidecar.

    Parameters
    ----------
    analysis : Analysis
    out_dir : str or Path
        Folder (created if missing). Files of the same names are replaced.
    formats : iterable of {"gpkg", "geojson", "csv", "tif"}
        ``"tif"``: ``density.tif`` (kernel density, incidents per km², on the briefing maps' display
        lattice) and ``counts.tif`` (incidents per analysis cell), Cloud-Optimised GeoTIFFs in
        EPSG:27700 (:func:`hotspots.export.raster.write_analysis_rasters`), described in the
        sidecar's ``rasters``.
    threshold : int, optional
        Suppression threshold for person-level counts (default the analysis's, 5).
    snap_m : float
        Square size for referral origins and the origin end of referral-task lines, metres.
    drop_empty : bool
        Leave empty, non-significant cells out of the cell layers (smaller files).
    inputs : dict, optional
        Loaded inputs or their reports, recorded in the sidecar (see :func:`parameters_record`).
    timestamp : bool
        Record the creation time (sidecar ``created``, GeoPackage ``last_change``). With
        ``False`` the sidecar, GeoJSON and CSV files are byte-for-byte reproducible and the
        GeoPackage carries a fixed date.
    gpkg_name : str
    extra : dict, optional
        More sidecar entries.

    Returns
    -------
    ExportManifest
    """
    fmts = tuple(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ParameterError(f"`formats` must be some of {', '.join(FORMATS)}; got {list(fmts)!r}.")
    if not isinstance(gpkg_name, str) or not gpkg_name.endswith(".gpkg") or "/" in gpkg_name or "\\" in gpkg_name:
        raise ParameterError(f"`gpkg_name` must be a file name ending in .gpkg; got {gpkg_name!r}.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"`out_dir` {out} exists and is not a folder; give a folder path.")
    out.mkdir(parents=True, exist_ok=True)
    # the layers are built only for the formats that write them (a CSV-only run writes none)
    gis_formats = "gpkg" in fmts or "geojson" in fmts
    layers = gis_layers(analysis, threshold=threshold, snap_m=snap_m, drop_empty=drop_empty) if gis_formats else {}
    pub = _publication(analysis, threshold, snap_m)
    statement = pub.statement if pub is not None else None
    files: dict[str, Path] = {}
    notes: list[str] = []
    gpkg_written: dict[str, int] = {}

    import pyogrio

    fixed_date = None if timestamp else {"OGR_CURRENT_DATE": "2000-01-01T00:00:00Z"}
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") if fixed_date else None
    try:
        if fixed_date:
            pyogrio.set_gdal_config_options(fixed_date)
        if "gpkg" in fmts:
            path = out / gpkg_name
            if path.exists():
                path.unlink()
            for name, gdf in layers.items():
                opts = _layer_description(analysis, name, statement)
                _for_file(gdf).to_file(path, layer=name, driver="GPKG", engine="pyogrio", layer_options=opts)
            for name, df in gpkg_tables(analysis).items():
                pyogrio.write_dataframe(df, path, layer=name, driver="GPKG")
                gpkg_written[name] = int(len(df))
            files["gpkg"] = path
        if "geojson" in fmts:
            gdir = out / "geojson"
            gdir.mkdir(exist_ok=True)
            for name, gdf in layers.items():
                path = gdir / f"{name}.geojson"
                if path.exists():
                    path.unlink()
                opts = {"RFC7946": "YES", "WRITE_NAME": "NO", **_layer_description(analysis, name, statement)}
                _for_geojson(gdf).to_file(path, driver="GeoJSON", engine="pyogrio", layer_options=opts)
                files[f"geojson:{name}"] = path
    finally:
        if fixed_date:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    rasters: dict[str, Any] = {}
    if "tif" in fmts:  # the surfaces as GeoTIFFs (the maps' density lattice, not 500 m polygons)
        from .raster import ANALYSIS_RASTERS, analysis_rasters, write_raster

        for name, r in analysis_rasters(analysis).items():
            files[f"tif:{name}"] = write_raster(r, out / ANALYSIS_RASTERS[name])
            rasters[name] = r.record
    tables: dict[str, int] = {}
    if "csv" in fmts:
        cdir = out / "csv"
        cdir.mkdir(exist_ok=True)
        for name, df in csv_tables(analysis, threshold=threshold, snap_m=snap_m).items():
            path = cdir / f"{name}.csv"
            path.write_text(csv_text(df), encoding="utf-8", newline="")  # formula-like text neutralised
            files[f"csv:{name}"] = path
            tables[name] = int(len(df))
    outputs = {k: {"path": os.path.relpath(p, out).replace(os.sep, "/"), "bytes": p.stat().st_size, "sha256": _sha256(p)}
               for k, p in files.items() if k != "gpkg" or not timestamp}
    if "gpkg" in files and timestamp:
        outputs["gpkg"] = {"path": files["gpkg"].name, "bytes": files["gpkg"].stat().st_size}
    if "gpkg" in outputs and gpkg_written:
        outputs["gpkg"]["tables"] = list(gpkg_written)
    record = parameters_record(analysis, inputs=inputs, timestamp=timestamp, extra=extra, threshold=threshold, snap_m=snap_m)
    if layers:  # features per GIS layer written (GeoPackage and/or GeoJSON); no entry when none was
        record["layers"] = {k: int(len(v)) for k, v in layers.items()}
    if gpkg_written:
        record["gpkg_tables"] = gpkg_written
    if rasters:  # what each GeoTIFF holds (file, cell size in metres, units, kernel and bandwidth)
        record["rasters"] = rasters
    record["outputs"] = outputs
    side = out / SIDECAR
    with open(side, "w", encoding="utf-8", newline="\n") as f:
        json.dump(record, f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    files["parameters"] = side
    return ExportManifest(out, files, {k: int(len(v)) for k, v in layers.items()}, tables, record, tuple(notes))
