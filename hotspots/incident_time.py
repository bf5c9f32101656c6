"""When each incident happened: dates from ``occurred``/``month`` columns, read once for reuse.

police.uk data has a month only; other sources may have a date-time. :func:`incident_dates`
returns one calendar date per incident (the ``occurred`` date where present, else the first day
of its ``month``) and whether it is known to the month only. :class:`IncidentPoints` holds the
coordinates and dates of a data set read once, for repeated change tests on the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from ._errors import CRSError, ParameterError, SchemaError
from .grid import points_xy

__all__ = ["incident_dates", "incident_months", "IncidentPoints", "incident_points", "incident_xy", "month_numbers"]


def _month_column(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.to_timestamp()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("Europe/London").dt.tz_localize(None)
        return s.dt.to_period("M").dt.to_timestamp()
    txt = s.astype("string")
    out = pd.to_datetime(txt, format="%Y-%m", errors="coerce")
    rest = out.isna() & txt.notna()
    if rest.any():
        out[rest] = pd.to_datetime(txt[rest], errors="coerce")
    return out.dt.to_period("M").dt.to_timestamp()


def _occurred_column(s: pd.Series) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return s.dt.normalize()


def incident_dates(incidents: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The date each incident is counted on, and whether it is known to the month only.

    ``occurred`` is used where present and not missing (its local calendar date, Europe/London
    for time-zone-aware values); otherwise the first day of ``month``.

    Returns
    -------
    dates : ndarray of datetime64[D]
        ``NaT`` where neither column gives a date.
    month_only : ndarray of bool
    """
    cols = incidents.columns
    if "occurred" not in cols and "month" not in cols:
        raise SchemaError(
            "`incidents` needs an `occurred` (date-time) or `month` column to place incidents in periods; "
            f"its columns are {list(cols)}. Load incidents with `hotspots.io` or add one of them."
        )
    missing = pd.Series(pd.NaT, index=incidents.index, dtype="datetime64[ns]")
    occ = _occurred_column(incidents["occurred"]) if "occurred" in cols else missing
    mon = _month_column(incidents["month"]) if "month" in cols else missing
    has_occ = occ.notna().to_numpy()
    dates = np.where(has_occ, occ.to_numpy(dtype="datetime64[ns]"), mon.to_numpy(dtype="datetime64[ns]")).astype("datetime64[D]")
    month_only = ~has_occ & mon.notna().to_numpy()
    return dates, month_only


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
    force : ndarray of object or None
        Each incident's force (the ``force`` column, police.uk's "Falls within"), when the data have one:
        a month a force lacks is said so (:func:`hotspots.period_split.split_periods`).
    """

    xy: np.ndarray = field(repr=False)
    dates: np.ndarray = field(repr=False)
    month_only: np.ndarray = field(repr=False)
    crs: pyproj.CRS | None
    force: np.ndarray | None = field(default=None, repr=False)

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
    force = incidents["force"].to_numpy(dtype=object) if "force" in incidents.columns else None
    return IncidentPoints(xy, dates, month_only, crs, force)


def incident_xy(incidents: Any, crs: pyproj.CRS) -> np.ndarray:
    """``points_xy(incidents, crs)``, also for :class:`IncidentPoints` (same CRS check)."""
    if isinstance(incidents, IncidentPoints):
        if incidents.crs is not None and not incidents.crs.equals(crs):
            raise CRSError(
                f"`incidents` are in {incidents.crs.name} but the grid is in {crs.name}; "
                f"convert them first with `incidents.to_crs({crs.to_epsg() or crs.to_string()!r})`."
            )
        return incidents.xy
    return points_xy(incidents, crs, name="incidents")



def incident_months(incidents: pd.DataFrame) -> np.ndarray | None:
    """Each incident's month (:func:`month_numbers` of :func:`incident_dates`: -1 where undated),
    or None when the incidents carry no dates at all (no ``month``/``occurred`` column)."""
    from ._errors import HotspotsError

    try:
        dates, _ = incident_dates(incidents)
    except (HotspotsError, KeyError):
        return None
    return month_numbers(dates)


def month_numbers(dates: np.ndarray) -> np.ndarray:
    """Calendar month of each date as ``year * 12 + month - 1`` (int64); -1 where the date is NaT."""
    d = np.asarray(dates).astype("datetime64[M]")
    ok = ~np.isnat(d)
    out = np.full(d.shape, -1, dtype=np.int64)
    out[ok] = d[ok].astype(np.int64) + 1970 * 12
    return out
