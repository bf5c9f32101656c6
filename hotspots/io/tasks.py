"""Loader for reparative task sites (where referred people do their reparative work)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import SchemaError
from ..schema import TASK_COLUMNS, TASK_KINDS
from ..task_ids import case_variants_warning
from ._common import content_keys, normalise_enum, required, study_area_geometry, text_column
from ._incidents import check_mapping, check_present
from ._pipeline import (
    SchemeOptions,
    drop_duplicate_ids,
    guard,
    load_scheme_tables,
    new_builder,
    note_unused_columns,
    part_frame,
    row_ids,
)
from ._read import Table, frame_or_sources
from ._types import TaskSet
from .mixed import postcode_only_rows
from .referrals import referral_columns

__all__ = ["load_tasks", "TASK_CANDIDATES", "TASK_KIND_SYNONYMS"]

TASK_CANDIDATES: dict[str, tuple[str, ...]] = {
    "task_id": ("task_id", "task_ref", "site_id", "id", "ref"),
    "kind": ("kind", "task_kind", "task_type", "type", "activity", "category"),
    "site_name": ("site_name", "site", "name", "venue", "location_name", "place"),
}
TASK_KIND_SYNONYMS = {
    "litter pick": "litter picking",
    "litter-pick": "litter picking",
    "litter": "litter picking",
    "litter picks": "litter picking",
    "allotments": "allotment",
    "foodbank": "food bank",
    "food banks": "food bank",
    "charity shops": "charity shop",
    "village halls": "village hall",
    "community hall": "village hall",
    "bird boxes": "bird and bat boxes",
    "bat boxes": "bird and bat boxes",
    "bird box": "bird and bat boxes",
    "bat box": "bird and bat boxes",
    "bird/bat boxes": "bird and bat boxes",
    "bird and bat box": "bird and bat boxes",
    "workshops": "workshop",
}
_MAPPABLE = ("task_id", "kind", "site_name")
TASK_DTYPES = {"task_id": "str", "kind": "str", "site_name": "str"}


@guard
def load_tasks(
    path_or_frame: Any,
    *,
    columns: dict[str, str] | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: Any = "auto",
    swap_xy: bool = False,
    study_area: Any = None,
    drop_outside: bool = False,
    layer: Any = None,
    skip_bad_files: bool = True,
) -> TaskSet:
    """Load reparative task sites, in British National Grid.

    Parameters
    ----------
    path_or_frame : path, Upload, file object, list, or DataFrame
        CSV, Parquet, GeoPackage or GeoJSON. Polygon sites (e.g. a litter-pick area) are
        represented by a point on their surface (noted).
    columns : dict, optional
        ``{canonical name: your column}`` for ``task_id``, ``kind``, ``site_name`` (and ``x``,
        ``y``).
    x, y, crs, swap_xy, study_area, drop_outside, layer, skip_bad_files
        As for :func:`load_incidents`.

    Returns
    -------
    TaskSet
        ``data, report``; ``data`` has ``task_id`` (str, unique), ``kind`` (one of
        :data:`hotspots.schema.TASK_KINDS`, or the file's own word, trimmed), ``site_name`` (str,
        may be NA), ``geometry``.

    Notes
    -----
    ``kind`` and a location are required. A ``kind`` not among the known ones (``"graffiti
    removal"``) is kept as written, with a warning naming it: a site is never dropped for its
    kind (its referrals would read "task not found"). Drop reasons: ``malformed row``,
    ``empty row``, ``missing kind``, ``no location``,
    ``unparseable coordinates``, ``out-of-range coordinates``, ``duplicate id`` (a ``task_id``
    repeated in a file keeps its last row, the export's update), ``outside study area``.
    Columns not read are named in a note.
    Sites without a ``task_id`` get stable ids ``task-`` + a hash of the row.
    """
    mapping = check_mapping(columns, _MAPPABLE + ("x", "y"))
    area_geom, _ = study_area_geometry(study_area)
    options = SchemeOptions(mapping, x, y, crs, swap_xy, area_geom, drop_outside, layer, skip_bad_files)
    items, skipped = frame_or_sources(path_or_frame)

    def one(index: int, table: Table) -> tuple[pd.DataFrame, Any]:
        check_present(table, mapping)
        cols, found, xy = options.match_columns(table, _MAPPABLE, TASK_CANDIDATES)
        if found["kind"] is None and (marks := referral_columns(cols)):  # the other file, in the task sites' place
            raise SchemaError(
                f"{table.name}: this looks like a referrals file (it has {', '.join(f'`{c}`' for c in marks[:4])}), not "
                "task sites (a `task_id`, a `kind` and a location per site). Load it as the referrals, and give the task "
                "sites' file here.")
        required(found, ("kind",), cols, table.name)
        b = new_builder(table)
        note_unused_columns(b, cols, {**found, **options.coordinate_columns(table, xy)}, xy)
        df = table.frame
        ids = row_ids(
            df,
            found["task_id"],
            "task-",
            b,
            "task sites without a `task_id` got stable ids: 'task-' + a hash of the row and its occurrence",
        )
        kinds, blank, unknown, _ = normalise_enum(df[found["kind"]], TASK_KINDS, TASK_KIND_SYNONYMS)
        b.drop(blank, "missing kind")
        kinds = keep_unknown_kinds(b, df[found["kind"]].reset_index(drop=True), kinds, unknown, found["kind"])
        names_ = text_column(df, found["site_name"])
        if found["site_name"] is None:
            b.note("no `site_name` column; site names are empty")
        loc = options.locate(table, b, xy, postcode_rows=postcode_only_rows(df))
        drop_duplicate_ids(b, ids.to_numpy(dtype=object), what="`task_id`", keep="last", content=content_keys(df))
        if found["task_id"] and (told := case_variants_warning(ids.to_numpy(dtype=object)[b.alive], table.name)):
            b.warn(told)
        values = {"task_id": ids, "kind": kinds, "site_name": names_}
        return part_frame(index, table, b, loc, values), b.build()

    data, report, params = load_scheme_tables(
        items, skipped, one, options, loader="tasks", id_col="task_id", columns=TASK_COLUMNS, dtypes=TASK_DTYPES
    )
    return TaskSet(data, report, params)


def keep_unknown_kinds(b: Any, raw: pd.Series, kinds: pd.Series, unknown: np.ndarray, col: str) -> pd.Series:
    """``kinds`` with each unrecognised value (``unknown``) kept as written (trimmed), recorded in
    the report (:attr:`~hotspots.report.LoadReport.unrecognised` under ``kind``) and named in a
    warning with its number of sites. Sites are places, not people: their counts are shown."""
    raw_text = raw.astype("str").str.strip()
    hit = np.asarray(unknown, dtype=bool) & b.alive
    b.unrecognised("kind", raw_text.to_numpy(dtype=object), hit)
    if not hit.any():
        return kinds
    out = kinds.astype(object).copy()
    out[hit] = raw_text[hit].to_numpy(dtype=object)
    counts = raw_text[hit].value_counts()
    shown_ = "; ".join(f"{v!r} ({n} site{'s' * (n != 1)})" for v, n in counts.head(5).items())
    more = f"; and {len(counts) - 5} other value(s)" if len(counts) > 5 else ""
    b.warn(f"`{col}` value(s) not among the known kinds: {shown_}{more}; the sites are kept with their kind as written "
           f"(drawn as 'other' on maps). To group them, recode them in the file (known: {', '.join(TASK_KINDS)})")
    return out.astype("str").where(out.notna(), other=pd.NA)
