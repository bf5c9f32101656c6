"""GIS exports: one GeoPackage, GeoJSON per layer (WGS84), CSV tables and a JSON sidecar.

:func:`export_gis` writes, from one :class:`~hotspots.analysis.Analysis`::

    out_dir/
      hotspots.gpkg            layers in British National Grid (EPSG:27700), for QGIS/ArcGIS
      geojson/<layer>.geojson  the same layers in WGS84 (EPSG:4326), as RFC 7946 requires
      csv/<table>.csv          tables (hotspot areas, change, KPIs, referral linkage)
      parameters.json          every setting and automatic value, package version, inputs and
                               their load reports, data source and licence, output checksums

Layers (:func:`gis_layers`)
---------------------------
``cells``
    Grid cells in the study area: ``row``, ``col``, ``count``, ``neighbours``, ``z``, ``p``
    (and ``p_sim``, ``p_sim_directed``, ``z_sim`` with permutations; ``p_adjusted`` with FDR),
    ``bin`` (ArcGIS ``Gi_Bin``), ``class``, ``density`` (incidents per km²), ``area_id``
    (hotspot area, 0 = none). ``drop_empty=True`` leaves out cells with no incident and no
    significant class (their smoothed density is then not exported either).
``hotspot_areas``
    The hotspot areas (:data:`hotspots.areas.AREA_COLUMNS`) with ``place`` (nearest town),
    before/after change columns and ``referrals`` (text, disclosure-controlled).
``clusters``
    DBSCAN/HDBSCAN cluster polygons.
``referral_origins``
    Where referred behaviour happened, **aggregated** to ``snap_m`` squares (default 250 m,
    aligned to multiples of ``snap_m``, each including its west and south edges): one polygon
    per square with at least one referral, ``square_x``/``square_y`` (its centre), ``square_m``, ``referrals`` (whole number, empty when
    suppressed) and ``referrals_shown`` (``"12"``, ``"<5"``, or ``"c"``). No person reference,
    referral id, date or offence is exported; squares are sorted west to east.
``task_sites``
    Reparative task sites (``task_id``, ``kind``, ``site_name``) and the referrals linked to each
    (suppressed like ``referral_origins``).
``referral_task_lines``
    Lines from referral-origin squares to task sites, **aggregated** per (square, task site):
    ``hotspot`` (area id as text or "outside hotspots"), ``task_id``, ``task_kind``,
    ``task_site``, ``task_town``, ``length_m`` (of the drawn line, rounded to 100 m),
    ``referrals``/``referrals_shown`` (suppressed).
``change_cells``, ``change_areas``
    Before/after change per cell and per hotspot area (:class:`hotspots.change.ChangeResult`).
``study_area``
    The study-area polygon(s), when one was used, with ``area_name``.

Disclosure control of person-level counts
-----------------------------------------
Counts of referrals are person-level. A count from 1 to ``threshold − 1`` is suppressed
(``"<5"``); a reader who knows the total (published in the KPI table) could work a single
suppressed cell out by subtraction, or all of them when their total pins each one (all 1s, all
4s), so while any suppressed count is pinned by the layer total, the smallest shown count is
hidden too (``"c"``). KPI and linkage tables come from :attr:`hotspots.kpis.KPITable.table` and
:attr:`hotspots.linkage.LinkageResult.display`, which apply the full audit of
:mod:`hotspots.kpis`; the raw tables are never exported.
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
import shapely

from .. import validation
from .._errors import ParameterError
from ..grid import BNG
from ..privacy import SUPPRESSION_THRESHOLD
from ._common import area_places, area_summary, data_source

__all__ = [
    "ExportManifest",
    "export_gis",
    "gis_layers",
    "csv_tables",
    "parameters_record",
    "suppress_counts",
    "FORMATS",
    "LAYER_NAMES",
    "MIN_SNAP_M",
    "check_snap_m",
]

#: Output formats :func:`export_gis` knows.
FORMATS = ("gpkg", "geojson", "csv")
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
    "study_area",
)
SIDECAR = "parameters.json"
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
        Features per layer.
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
def suppress_counts(counts: Sequence[Any], threshold: int = SUPPRESSION_THRESHOLD) -> tuple[pd.Series, pd.Series]:
    """Disclosure control of one list of person counts whose total is assumed known.

    Primary: counts from 1 to ``threshold − 1`` are hidden (``"<5"``). Secondary: while some
    hidden count is pinned to a single value by the total (its feasible range, given the
    other hidden counts' ranges — ``[1, threshold − 1]`` for primary, ``[threshold, ∞)`` for
    secondary — is one value), the smallest shown count is hidden as well (``"c"``).

    Parameters
    ----------
    counts : sequence of int
    threshold : int

    Returns
    -------
    numeric : Series of Int64
        The count, or missing where hidden.
    shown : Series of str
        ``"12"``, ``"<5"`` or ``"c"``.
    """
    t = validation.whole(threshold, "threshold", low=1)
    n = np.asarray(counts, dtype=np.int64)
    small = (n > 0) & (n < t)
    hidden = small.copy()
    secondary = np.zeros(len(n), dtype=bool)

    def pinned() -> bool:
        idx = np.nonzero(hidden)[0]
        if len(idx) == 0:
            return False
        lo = np.where(small[idx], 1, t).astype(float)
        hi = np.where(small[idx], t - 1, np.inf)
        total = float(n[idx].sum())
        for k in range(len(idx)):
            if not small[idx[k]]:
                continue
            others_hi = hi.sum() - hi[k]
            others_lo = lo.sum() - lo[k]
            fmin = max(lo[k], total - others_hi)
            fmax = min(hi[k], total - others_lo)
            if fmin >= fmax:
                return True
        return False

    while pinned():
        candidates = np.nonzero(~hidden & (n > 0))[0]
        if len(candidates) == 0:
            break
        pick = candidates[np.argmin(n[candidates])]
        hidden[pick] = True
        secondary[pick] = True
    shown = np.where(small, f"<{t}", np.where(secondary, "c", n.astype(str))).astype(object)
    numeric = pd.array(np.where(hidden, 0, n), dtype="Int64")
    numeric[hidden] = pd.NA
    return pd.Series(numeric, name="referrals"), pd.Series(shown, name="referrals_shown", dtype=object)


# =============================================================================== layers
def _threshold(analysis: Any, threshold: Any) -> int:
    return validation.whole(analysis.settings.threshold if threshold is None else threshold, "threshold", low=1)


def check_snap_m(snap_m: Any) -> float:
    """The side of the squares referral origins are exported in: at least :data:`MIN_SNAP_M` metres
    (referral points must never be exported exactly)."""
    return validation.number(snap_m, "snap_m", low=MIN_SNAP_M, unit="metres", example="250")


def _snap(analysis: Any, snap_m: Any) -> float:
    return check_snap_m(snap_m)


def _cells_layer(an: Any, drop_empty: bool) -> gpd.GeoDataFrame:
    gdf = an.gi.to_geodataframe()
    r, c = gdf["row"].to_numpy(), gdf["col"].to_numpy()
    gdf.insert(gdf.columns.get_loc("neighbours"), "density", np.asarray(an.density.values, dtype=float)[r, c])
    gdf.insert(len(gdf.columns) - 1, "area_id", np.asarray(an.areas.labels)[r, c].astype(np.int64))
    if drop_empty:
        cnt = gdf["count"].to_numpy(dtype=float)
        keep = (cnt != 0) | (gdf["bin"].to_numpy() != 0)
        gdf = gdf[keep].reset_index(drop=True)
    return gdf


def _areas_layer(an: Any, threshold: int) -> gpd.GeoDataFrame:
    a = an.areas.areas.copy()
    a.insert(1, "place", area_places(a, an)["label"].to_numpy(dtype=object))
    ch = an.change_areas
    if ch is not None and len(ch.table):
        t = ch.table.set_index("area_id")
        for col in ("n_before", "n_after", "rate_ratio", "rate_ratio_low", "rate_ratio_high", "p_value", "change_class"):
            if col in t.columns:
                a.insert(len(a.columns) - 1, col if col.startswith(("n_", "change")) else f"change_{col}", t[col].reindex(a["area_id"]).to_numpy())
    link = an.linkage
    if link is not None and getattr(link, "has_areas", False) and len(link.display):
        d = link.display.set_index(link.display["hotspot"].astype(str))
        vals = d["referrals"].reindex(a["area_id"].astype(str)).to_numpy(dtype=object)
        a.insert(len(a.columns) - 1, "referrals", np.array(["0" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in vals], dtype=object))
    return a


def _origins_layer(an: Any, threshold: int, snap_m: float) -> gpd.GeoDataFrame | None:
    ref = an.referrals
    if ref is None or len(ref) == 0:
        return None
    g = ref.geometry
    ok = ~(g.isna() | g.is_empty).to_numpy()
    xy = shapely.get_coordinates(g.values[ok])
    if len(xy) == 0:
        return None
    cx = np.floor(xy[:, 0] / snap_m).astype(np.int64)
    cy = np.floor(xy[:, 1] / snap_m).astype(np.int64)
    df = pd.DataFrame({"cx": cx, "cy": cy}).groupby(["cx", "cy"], sort=True).size().reset_index(name="n")
    df = df.sort_values(["cx", "cy"], kind="stable").reset_index(drop=True)
    numeric, shown = suppress_counts(df["n"].to_numpy(), threshold)
    x0 = df["cx"].to_numpy(dtype=float) * snap_m
    y0 = df["cy"].to_numpy(dtype=float) * snap_m
    return gpd.GeoDataFrame(
        {
            "square_x": x0 + snap_m / 2,
            "square_y": y0 + snap_m / 2,
            "square_m": np.full(len(df), snap_m),
            "referrals": numeric.to_numpy(),
            "referrals_shown": shown.to_numpy(),
        },
        geometry=shapely.box(x0, y0, x0 + snap_m, y0 + snap_m),
        crs=BNG,
    )


def _tasks_layer(an: Any, threshold: int) -> gpd.GeoDataFrame | None:
    tasks = an.tasks
    if tasks is None or len(tasks) == 0:
        return None
    keep = [c for c in ("task_id", "kind", "site_name", "town") if c in tasks.columns]
    out = gpd.GeoDataFrame(tasks[keep].copy(), geometry=tasks.geometry.to_crs(BNG).values, crs=BNG)
    for c in keep:
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    link = an.linkage
    if link is not None and getattr(link, "has_tasks", False):
        t = link.table
        linked = t.loc[(t["task_status"] == "linked").to_numpy(), "task_id"].astype(str).str.strip()
        counts = linked.value_counts()
        n = counts.reindex(out["task_id"].astype(str).str.strip()).fillna(0).to_numpy(dtype=np.int64)
        numeric, shown = suppress_counts(n, threshold)
        out["referrals"] = numeric.to_numpy()
        out["referrals_shown"] = shown.to_numpy()
    return out


def _lines_layer(an: Any, threshold: int, snap_m: float) -> gpd.GeoDataFrame | None:
    link = an.linkage
    if link is None or not getattr(link, "has_tasks", False) or link.task_sites is None:
        return None
    from ..linkage import referral_task_lines

    lines = referral_task_lines(link, snap_m=snap_m)
    if len(lines) == 0:
        return None
    coords = shapely.get_coordinates(lines.geometry.values).reshape(-1, 2, 2)
    df = pd.DataFrame(
        {
            "hotspot": lines["hotspot"].astype(str).to_numpy() if "hotspot" in lines.columns else "",
            "task_id": lines["task_id"].astype(str).to_numpy(),
            "task_kind": lines["task_kind"].astype(object).to_numpy() if "task_kind" in lines.columns else None,
            "task_site": lines["task_site"].astype(object).to_numpy() if "task_site" in lines.columns else None,
            "task_town": lines["task_town"].astype(object).to_numpy(),
            "ox": coords[:, 0, 0],
            "oy": coords[:, 0, 1],
            "tx": coords[:, 1, 0],
            "ty": coords[:, 1, 1],
        }
    )
    keys = ["ox", "oy", "task_id", "hotspot"]
    agg = (
        df.groupby(keys, sort=True, dropna=False)
        .agg(task_kind=("task_kind", "first"), task_site=("task_site", "first"), task_town=("task_town", "first"),
             tx=("tx", "first"), ty=("ty", "first"), n=("task_id", "size"))
        .reset_index()
        .sort_values(["task_id", "ox", "oy", "hotspot"], kind="stable")
        .reset_index(drop=True)
    )
    numeric, shown = suppress_counts(agg["n"].to_numpy(), threshold)
    length = np.hypot(agg["tx"] - agg["ox"], agg["ty"] - agg["oy"]).to_numpy()
    geoms = shapely.linestrings(np.stack([agg[["ox", "oy"]].to_numpy(), agg[["tx", "ty"]].to_numpy()], axis=1))
    out = gpd.GeoDataFrame(
        {
            "hotspot": agg["hotspot"].to_numpy(dtype=object),
            "task_id": agg["task_id"].to_numpy(dtype=object),
            "task_kind": agg["task_kind"].to_numpy(dtype=object),
            "task_site": agg["task_site"].to_numpy(dtype=object),
            "task_town": agg["task_town"].to_numpy(dtype=object),
            "length_m": np.round(length / 100.0) * 100.0,
            "referrals": numeric.to_numpy(),
            "referrals_shown": shown.to_numpy(),
        },
        geometry=geoms,
        crs=BNG,
    )
    return out


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
    t = _threshold(an, threshold)
    s = _snap(an, snap_m)
    out: dict[str, gpd.GeoDataFrame] = {"cells": _cells_layer(an, bool(drop_empty)), "hotspot_areas": _areas_layer(an, t)}
    if an.clusters is not None:
        out["clusters"] = an.clusters.polygons.copy()
    for name, layer in (("referral_origins", _origins_layer(an, t, s)), ("task_sites", _tasks_layer(an, t)),
                        ("referral_task_lines", _lines_layer(an, t, s))):
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
            g = out[k]
            geom = g.geometry.name
            ordered[k] = g[[c for c in g.columns if c != geom] + [geom]]
    return ordered


# =============================================================================== tables
def csv_tables(analysis: Any, *, threshold: int | None = None) -> dict[str, pd.DataFrame]:
    """The CSV tables: hotspot areas, change, clusters, KPIs (suppressed) and referral linkage (suppressed).

    Returns
    -------
    dict
        ``hotspot_areas``, ``clusters``, ``change_areas``, ``change_cells`` (cells with any
        incident), and with referrals ``kpis``, ``kpis_by_month``, ``kpis_by_offence``,
        ``kpis_by_route``, ``kpis_by_age_group``, ``kpis_by_hotspot``, ``referrals_by_hotspot``,
        ``referrals_summary``. Person-level tables are the display versions only
        (:attr:`KPITable.table`, :attr:`LinkageResult.display`).
    """
    an = analysis
    t = _threshold(an, threshold)
    out: dict[str, pd.DataFrame] = {"hotspot_areas": area_summary(an)}
    if an.clusters is not None:
        out["clusters"] = pd.DataFrame(an.clusters.polygons.drop(columns=an.clusters.polygons.geometry.name))
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
    if an.referrals is not None and len(an.referrals):
        from ..kpis import scheme_kpis

        kp = an.kpis if an.kpis is not None and an.kpis.threshold == t else scheme_kpis(an.referrals, threshold=t)
        out["kpis"] = kp.table.copy()
        for by in ("month", "offence", "route", "age_group"):
            if by == "month" or by in an.referrals.columns:
                out[f"kpis_by_{by}"] = scheme_kpis(an.referrals, by=by, threshold=t).table.copy()
        link = an.linkage
        if link is not None:
            if getattr(link, "has_areas", False) and "hotspot" in link.table.columns:
                out["kpis_by_hotspot"] = scheme_kpis(link.table, by="hotspot", threshold=t).table.copy()
                out["referrals_by_hotspot"] = link.display.copy()
            out["referrals_summary"] = link.summary_display.copy()
    return out


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


def _input_record(kind: str, value: Any) -> dict[str, Any]:
    """A load report (or loaded set, or file list) as a JSON-ready dict.

    Referral reports keep counts only (no example rows, notes or warnings, which can quote values).
    """
    report = getattr(value, "report", value)
    rec: dict[str, Any] = {}
    params = getattr(value, "params", None)
    if isinstance(params, Mapping) and params.get("files"):
        rec["files"] = [str(f) for f in params["files"]]
    if hasattr(report, "to_dict"):
        d = report.to_dict()
        if kind == "referrals":
            d = {k: d[k] for k in ("source", "rows_read", "rows_kept", "rows_dropped", "dropped")}
        else:
            d.pop("files", None)
        rec["report"] = d
        rec["summary"] = report.summary() if kind != "referrals" else (
            f"{d['source']}: read {d['rows_read']:,}, kept {d['rows_kept']:,}, dropped {d['rows_dropped']:,}"
        )
    elif isinstance(value, (str, Path)):
        rec["files"] = [Path(value).name]
    elif isinstance(value, (list, tuple)):
        rec["files"] = [Path(v).name if isinstance(v, (str, Path)) else str(v) for v in value]
    elif isinstance(value, Mapping):
        rec.update(value)
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
    rec["inputs"] = {k: _input_record(k, v) for k, v in (inputs or {}).items() if v is not None}
    res: dict[str, Any] = {
        "incidents_analysed": int(len(an.incidents)),
        "cells_in_study_area": int(an.grid.n_cells),
        "hotspot_areas": int(an.areas.n_areas),
        "gi_hot_cells": int(np.asarray(an.gi.bins > 0).sum()),
        "gi_cold_cells": int(np.asarray(an.gi.bins < 0).sum()),
        "clusters": None if an.clusters is None else int(an.clusters.n_clusters),
        "change_cells": None if an.change_cells is None else {str(k): int(v) for k, v in an.change_cells.summary().items()},
        "change_areas": None if an.change_areas is None else {str(k): int(v) for k, v in an.change_areas.summary().items()},
    }
    rec["results"] = res
    rec["privacy"] = {
        "threshold": _threshold(an, threshold),
        "referral_origins_square_m": _snap(an, snap_m),
        "policy": (
            f"person-level counts below {_threshold(an, threshold)} are shown as '<{_threshold(an, threshold)}' and any count that would give one away by "
            "subtraction as 'c'; referral locations are exported only as counts per square; no person reference, referral "
            "id or date is exported; KPI and linkage tables are the suppressed display tables"
        ),
    }
    if extra:
        rec.update(extra)
    return _jsonable(rec)


# =============================================================================== writing
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GDAL writes well: plain object strings, float for nullable ints, finite floats kept."""
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        s = out[c]
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            out[c] = s.astype(object).where(s.notna(), None)
        elif isinstance(s.dtype, pd.Int64Dtype):
            out[c] = s.astype("float64")
        elif isinstance(s.dtype, pd.BooleanDtype):
            out[c] = s.astype(object).where(s.notna(), None)
    return out


def _for_geojson(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = _for_file(gdf).to_crs(4326)
    for c in out.columns:
        if c != out.geometry.name and pd.api.types.is_float_dtype(out[c].dtype):
            v = out[c].to_numpy(dtype=float)
            if not np.all(np.isfinite(v) | np.isnan(v)):
                # JSON has no Infinity: write it as null (the GeoPackage keeps it).
                out[c] = np.where(np.isinf(v), np.nan, v)
    return out


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
    formats : iterable of {"gpkg", "geojson", "csv"}
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
    layers = gis_layers(analysis, threshold=threshold, snap_m=snap_m, drop_empty=drop_empty)
    files: dict[str, Path] = {}
    notes: list[str] = []

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
                _for_file(gdf).to_file(path, layer=name, driver="GPKG", engine="pyogrio")
            files["gpkg"] = path
        if "geojson" in fmts:
            gdir = out / "geojson"
            gdir.mkdir(exist_ok=True)
            for name, gdf in layers.items():
                path = gdir / f"{name}.geojson"
                if path.exists():
                    path.unlink()
                _for_geojson(gdf).to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})
                files[f"geojson:{name}"] = path
    finally:
        if fixed_date:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    tables: dict[str, int] = {}
    if "csv" in fmts:
        cdir = out / "csv"
        cdir.mkdir(exist_ok=True)
        for name, df in csv_tables(analysis, threshold=threshold).items():
            path = cdir / f"{name}.csv"
            df.to_csv(path, index=False, lineterminator="\n")
            files[f"csv:{name}"] = path
            tables[name] = int(len(df))
    outputs = {k: {"path": os.path.relpath(p, out).replace(os.sep, "/"), "bytes": p.stat().st_size, "sha256": _sha256(p)}
               for k, p in files.items() if k != "gpkg" or not timestamp}
    if "gpkg" in files and timestamp:
        outputs["gpkg"] = {"path": files["gpkg"].name, "bytes": files["gpkg"].stat().st_size}
    record = parameters_record(analysis, inputs=inputs, timestamp=timestamp, extra=extra, threshold=threshold, snap_m=snap_m)
    record["layers"] = {k: int(len(v)) for k, v in layers.items()}
    record["outputs"] = outputs
    side = out / SIDECAR
    with open(side, "w", encoding="utf-8", newline="\n") as f:
        json.dump(record, f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
    files["parameters"] = side
    return ExportManifest(out, files, {k: int(len(v)) for k, v in layers.items()}, tables, record, tuple(notes))
