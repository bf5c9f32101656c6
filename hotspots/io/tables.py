"""Loader for generic incident tables: CSV, Parquet, GeoPackage, GeoJSON, or a DataFrame.

Columns are found by name (case, spaces and punctuation ignored) unless mapped with
``columns={canonical name: your column}``:

=============  =====================================================================
canonical      recognised names (first match wins)
=============  =====================================================================
x, y           easting/northing, longitude/latitude, lon/lat, lng/lat, long/lat, x/y,
               xcoord/ycoord, point_x/point_y; else the file's geometry; else a WKT
               column (geometry, wkt, geom)
occurred       occurred, occurred_at, datetime, date_time, date, incident_date, ...
month          month, period, year_month (month-only dates)
category       category, crime_type, type, incident_type, asb_type, offence, ...
incident_id    incident_id, id, crime_id, incident_ref, reference, ref, ...
weight         weight
lsoa_code      lsoa_code, lsoa, lsoa11cd, lsoa21cd
location       location, location_description, street
=============  =====================================================================

The coordinate system is detected from the values unless given (``crs=``): see
:mod:`hotspots.io.coords`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._errors import ParameterError, PrivacyError
from ._common import parse_months_arg, study_area_geometry
from ._incidents import INCIDENT_DTYPES, INCIDENT_OUTPUT, check_mapping, check_present, incident_part
from ._pipeline import PointColumns, crs_param, find_columns, finish_incidents, guard, resolve_xy, run_tables
from ._read import Source, Table, frame_or_sources
from ._types import IncidentSet
from .referrals import referral_columns

__all__ = ["load_incidents", "INCIDENT_CANDIDATES"]

#: Column names recognised for each canonical incident column, in priority order.
INCIDENT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "occurred": (
        "occurred", "occurred_at", "occurred_on", "datetime", "date_time", "date", "incident_date", "date_occurred",
        "incident_datetime", "reported_date", "report_date", "reported_at", "timestamp", "created_at",
    ),
    "month": ("month", "period", "year_month", "yearmonth"),
    "category": (
        "category", "crime_type", "type", "incident_type", "asb_type", "offence", "offence_type", "offense",
        "classification", "crime_category", "incident_category",
    ),
    "incident_id": (
        "incident_id", "id", "crime_id", "incident_ref", "incident_number", "reference", "ref", "event_id", "record_id",
    ),
    "weight": ("weight",),
    "lsoa_code": ("lsoa_code", "lsoa", "lsoa11cd", "lsoa21cd"),
    "location": ("location", "location_description", "street"),
}
_MAPPABLE = ("incident_id", "occurred", "month", "category", "weight", "lsoa_code", "location")


def _columns_for(table: Table, mapping: dict[str, str], x: str | None, y: str | None) -> dict[str, Any]:
    check_present(table, mapping)
    cols = [c for c in table.frame.columns if c != getattr(table.frame, "_geometry_column_name", None)]
    used = set(mapping.values()) | {c for c in (x, y) if c}
    found: dict[str, Any] = find_columns(cols, _MAPPABLE, mapping, INCIDENT_CANDIDATES, used)
    if x is None and y is None and ("x" in mapping or "y" in mapping):
        x, y = mapping.get("x"), mapping.get("y")
    x_col, y_col, wkt_col = resolve_xy(table, x, y)
    # A column chosen as a coordinate cannot also be an attribute.
    for key in list(found):
        if found[key] is not None and found[key] in (x_col, y_col, wkt_col) and key not in mapping:
            found[key] = None
    found.update(x_col=x_col, y_col=y_col, wkt_col=wkt_col)
    return found


def _force_column(table: Table) -> str | None:
    """police.uk's ``Falls within`` (else ``Reported by``) in a table read as a generic one (eastings and
    northings instead of longitude and latitude): kept as ``force`` for :func:`hotspots.forces.detect_force`."""
    keys = {str(c).strip().lower(): str(c) for c in table.frame.columns}
    return keys.get("falls within") or keys.get("reported by")


def _refuse_referrals(table: Table) -> None:
    """Referral records (people) are never analysed as incidents: refuse them with the fix."""
    marks = referral_columns(table.frame.columns)
    if marks:
        raise PrivacyError(
            f"{table.name} looks like a referral file (column(s) {', '.join(f'`{c}`' for c in marks[:6])}): referral records "
            "are about people and are never analysed as incidents, which would publish exact counts of people per cell "
            "and clusters of people. Load it as referrals: `--referrals FILE` with `hotspots analyse`, `load_referrals` "
            "in Python, or the app's 'Referrals into the scheme' upload."
        )


@guard
def load_incidents(
    path_or_frame: Any,
    *,
    columns: dict[str, str] | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: Any = "auto",
    swap_xy: bool = False,
    study_area: Any = None,
    drop_outside: bool = False,
    categories: Any = None,
    months: Any = None,
    id_prefix: str = "inc-",
    keep_columns: Sequence[str] = (),
    layer: Any = None,
    skip_bad_files: bool = True,
) -> IncidentSet:
    """Load incidents from any table with coordinates, in British National Grid.

    Parameters
    ----------
    path_or_frame : path, folder, .zip, Upload, file object, list of these, or DataFrame
        CSV (``.csv``, ``.csv.gz``), Parquet/GeoParquet, GeoPackage, GeoJSON, or a
        pandas/GeoPandas frame (not modified).
    columns : dict, optional
        ``{canonical name: your column}`` for ``incident_id``, ``occurred``, ``month``,
        ``category``, ``weight``, ``lsoa_code``, ``location`` (and ``x``, ``y``). Unmapped columns
        are found by name (see the module docstring).
    x, y : str, optional
        Coordinate columns (longitude/easting first). Default: detected by name, else the
        file's geometry.
    crs : "auto", int, str or pyproj.CRS
        CRS of ``x``/``y``. ``"auto"`` detects WGS84, British National Grid or Web Mercator from
        the values (the decision is a note in the report); a file's own CRS is used when it has
        one.
    swap_xy : bool
        Swap x and y before anything else. Swapped columns are detected and raise
        :class:`~hotspots.CRSError` unless this is set; they are never fixed silently.
    study_area : shapely polygon, GeoDataFrame or boundary file path, optional
        Points outside are kept and flagged (``in_study_area``) with a warning, unless
        ``drop_outside``.
    drop_outside : bool
        Drop points outside ``study_area`` (reason ``outside study area``).
    categories : str or list of str, optional
        Keep only these categories (case-insensitive).
    months : ('YYYY-MM', 'YYYY-MM'), optional
        Inclusive month range (either end None for open).
    id_prefix : str
        Prefix of derived ids for rows without an id.
    keep_columns : sequence of str
        Extra source columns to carry into the result unchanged.
    layer : str or int, optional
        GeoPackage layer (default: the first).
    skip_bad_files : bool
        With several files, skip (and report) files that cannot be read at all.

    Returns
    -------
    IncidentSet
        ``data, report``; ``data`` columns as in :class:`IncidentSet`, plus ``weight`` when the
        input has one and ``keep_columns``.

    Notes
    -----
    Drop reasons, in the order they are checked: ``malformed row``, ``missing date``,
    ``unparseable date``, ``date out of range`` (before 1990 or over a year ahead),
    ``month outside range``, ``category not selected``, ``no location``, ``unparseable
    coordinates``, ``possibly swapped coordinates``, ``out-of-range coordinates``, ``invalid
    weight``, ``duplicate id``, ``outside study area``. A table with no date column at all is
    accepted (``month``/``occurred`` NaT, noted); a blank date in a date column drops the row.
    """
    mapping = check_mapping(columns, _MAPPABLE + ("x", "y"))
    if not isinstance(id_prefix, str):
        raise ParameterError(f"`id_prefix` must be a string; got {id_prefix!r}.")
    keep_columns = list(keep_columns)
    month_range = parse_months_arg(months)
    area_geom, _ = study_area_geometry(study_area)
    tables_or_sources, skipped = frame_or_sources(path_or_frame)
    return _load_incident_sources(
        tables_or_sources,
        skipped,
        mapping=mapping,
        x=x,
        y=y,
        crs=crs,
        swap_xy=swap_xy,
        study_area=area_geom,
        drop_outside=drop_outside,
        categories=categories,
        months=month_range,
        id_prefix=id_prefix,
        keep_columns=keep_columns,
        layer=layer,
        skip_bad_files=skip_bad_files,
    )


def _load_incident_sources(
    items: list[Source | Table],
    skipped: list[str],
    *,
    mapping: dict[str, str],
    x: str | None,
    y: str | None,
    crs: Any,
    swap_xy: bool,
    study_area: Any,
    drop_outside: bool,
    categories: Any,
    months: Any,
    id_prefix: str,
    keep_columns: list[str],
    layer: Any,
    skip_bad_files: bool,
) -> IncidentSet:
    def one(index: int, table: Table) -> tuple[Any, Any]:
        _refuse_referrals(table)
        found = _columns_for(table, mapping, x, y)
        missing_keep = [k for k in keep_columns if k not in table.frame.columns]
        if missing_keep:
            raise ParameterError(f"{table.name}: `keep_columns` names column(s) not in the table: {', '.join(missing_keep)}.")
        return incident_part(
            index,
            table,
            where=PointColumns(found["x_col"], found["y_col"], found["wkt_col"], crs=crs, swap_xy=swap_xy),
            date_col=found["occurred"] or found["month"],
            month_column=found["occurred"] is None and found["month"] is not None,
            category_col=found["category"],
            id_col=found["incident_id"],
            id_prefix=id_prefix,
            weight_col=found["weight"],
            lsoa_col=found["lsoa_code"],
            location_col=found["location"],
            keep_columns=keep_columns,
            categories=categories,
            months=months,
            extra_columns={"force": force} if (force := _force_column(table)) and force not in keep_columns else None,
        )

    run = run_tables(items, one, layer=layer, skip_bad_files=skip_bad_files)
    has_weight = any("weight" in p.columns for p in run.parts)
    out_cols = [c for c in INCIDENT_OUTPUT if c != "geometry" and (c != "weight" or has_weight)]
    out_cols = out_cols + [k for k in keep_columns if k not in out_cols]
    out_cols += ["force"] * (any("force" in p.columns for p in run.parts) and "force" not in out_cols) + ["geometry"]
    dtypes = {**INCIDENT_DTYPES, "force": "str"}
    for k in keep_columns:
        dtypes[k] = run.parts[0][k].dtype if k in run.parts[0].columns else "str"
    data, report, params = finish_incidents(
        run,
        "incidents",
        columns=out_cols,
        dtypes=dtypes,
        notes=[],
        skipped=skipped,
        categories=categories,
        months=months,
        study_area=study_area,
        drop_outside=drop_outside,
        options={"columns": dict(mapping), "x": x, "y": y, "crs": crs_param(crs), "swap_xy": swap_xy},
    )
    return IncidentSet(data, report, params)
