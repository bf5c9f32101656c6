"""Turning one table into canonical incident rows (shared by police.uk and generic loaders)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ParameterError, SchemaError
from ..report import LoadReport
from ..validation import shown
from ._common import as_str, content_keys, derive_ids, norm_key, text_column, to_float
from ._dates import dates
from ._pipeline import PointColumns, category_filter, drop_duplicate_ids, locate, month_filter, new_builder, part_frame
from ._read import Table
from .copies import file_signature
from .months import check_name_month, month_column_attrs, month_dates, name_month, repeated_header_rows

#: Output columns of every incident loader, in order (``in_study_area`` is added before geometry
#: when a study area is given).
INCIDENT_OUTPUT = ("incident_id", "month", "occurred", "category", "weight", "lsoa_code", "location", "source", "geometry")
INCIDENT_DTYPES = {
    "incident_id": "str",
    "month": "datetime64[ns]",
    "occurred": "datetime64[ns]",
    "category": "str",
    "weight": "float64",
    "lsoa_code": "str",
    "location": "str",
    "source": "str",
}
UNSPECIFIED = "unspecified"


def incident_part(
    index: int,
    table: Table,
    *,
    where: PointColumns,
    date_col: str | None,
    month_column: bool,
    category_col: str | None,
    id_col: str | None,
    id_prefix: str,
    police: bool = False,
    weight_col: str | None = None,
    lsoa_col: str | None = None,
    location_col: str | None = None,
    keep_columns: Sequence[str] = (),
    extra_columns: Mapping[str, str | None] | None = None,
    categories: Any = None,
    months: tuple[pd.Timestamp | None, pd.Timestamp | None] = (None, None),
) -> tuple[pd.DataFrame, LoadReport]:
    df = table.frame
    n = len(df)
    b = new_builder(table)
    b.drop(repeated_header_rows(df), "repeated header line")

    # Category (needed for ASB ids and the category filter).
    if category_col is not None:
        category = as_str(df[category_col]).fillna(UNSPECIFIED).reset_index(drop=True)
        b.group_by(category.to_numpy())  # the rows dropped (e.g. no location) per crime type, for the category chosen later
    else:
        category = pd.Series([UNSPECIFIED] * n, dtype="str")
        b.warn(
            f"{table.name}: no category column (police.uk's `Crime type`), so every row is analysed whatever its crime type "
            f"(category {UNSPECIFIED!r}); if the file has one, rename it to `Crime type` or `category`"
        )

    # Ids: computed on every row before any filtering, so they never depend on the filters.
    ids = text_column(df, id_col)
    given_ids = ids.copy()
    need = ids.isna().to_numpy()
    if need.any():
        sub = df[need]
        if police:
            derived = derive_ids(content_keys(sub), "")
            sub_cat = category[need]
            cats = sub_cat.map({u: norm_key(u) for u in pd.unique(sub_cat.to_numpy())}).to_numpy()
            pref = np.where(cats == "antisocialbehaviour", "asb-", "pu-")
            derived = np.char.add(pref.astype(str), derived.astype(str)).astype(object)
            b.note(
                "rows without a Crime ID (anti-social behaviour rows have none) got stable ids: 'asb-' + a hash of the "
                "row's fields and its occurrence among identical rows in the file"
            )
        else:
            derived = derive_ids(content_keys(sub), id_prefix)
            b.note(
                f"rows without an id got stable ids: {id_prefix!r} + a hash of the row's values and its occurrence among "
                "identical rows in the table"
            )
        ids = ids.astype(object)
        ids[need] = derived
        ids = ids.astype("str")

    # Dates and filters.
    file_month = name_month(table.name) if police else None  # police.uk names: 2025-06-suffolk-street.csv
    if date_col is not None and month_column:
        month, occurred = month_dates(table, b, date_col, file_month=file_month)
        check_name_month(table, b, month, date_col, file_month)
        month_filter(b, month, months)
    elif date_col is not None:
        month, occurred = dates(table, b, date_col, month_column=month_column)
        month_filter(b, month, months)
    else:
        month = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        occurred = month.copy()
        if months != (None, None):
            raise SchemaError(
                f"{table.name}: {shown('months')} was given but the table has no date column. Rename the date column in "
                f"the file to month (or occurred), or drop {shown('months')}; in Python, name it with "
                "`columns={'month': '...'}`."
            )
        b.note("no date column; `month` and `occurred` are empty (NaT)")
    category_filter(b, category, categories)

    loc = locate(table, b, where)

    values: dict[str, Any] = {
        "incident_id": ids,
        "month": month,
        "occurred": occurred,
        "category": category,
    }
    if weight_col is not None:
        w, blank, garbage = to_float(df[weight_col])
        with np.errstate(invalid="ignore"):
            bad = blank | garbage | ~np.isfinite(w) | (w < 0)
        b.drop(bad, "invalid weight")
        values["weight"] = w
    if lsoa_col is not None:
        values["lsoa_code"] = as_str(df[lsoa_col]).reset_index(drop=True)
    if location_col is not None:
        values["location"] = as_str(df[location_col]).reset_index(drop=True)
    values["source"] = pd.Series([table.name] * n, dtype="str")
    for k in keep_columns:
        values[k] = df[k].reset_index(drop=True)
    # Further text columns under canonical names (``{"lsoa_name": "LSOA name"}``); a None source is
    # an empty column. Not part of the derived ids (those hash the source row as read).
    for k, col in (extra_columns or {}).items():
        values[k] = text_column(df, col)

    values["_given"] = ~need  # ids the file gave (derived ones never repeat across files: hotspots.io.copies)
    # police.uk: a Crime ID repeated with another crime type is another crime (Northern Ireland re-uses ids)
    key = (ids.astype("str") + "\x1f" + category.astype("str")) if police else ids
    dup = drop_duplicate_ids(b, key.to_numpy(dtype=object))
    if dup and police:
        b.warn(
            "some rows repeat a Crime ID and crime type seen earlier in the same file (police.uk publishes some crimes "
            "more than once, at different locations); kept the first and dropped the rest as 'duplicate id'"
        )
    part = part_frame(index, table, b, loc, values)
    # what the file held before the filters, for the warnings about filters matching nothing
    # over every file (:func:`hotspots.io._pipeline.filter_warnings`)
    part.attrs["categories_present"] = sorted(c for c in pd.unique(category.to_numpy()) if c)
    part.attrs["months_present"] = sorted(pd.Timestamp(m) for m in pd.unique(month.dropna().to_numpy()))
    force = text_column(df, (extra_columns or {}).get("force")) if (extra_columns or {}).get("force") else None
    main_month = month_column_attrs(month).get("main_month")
    # what each row is, its month aside: a month's file saved under another month (hotspots.io.copies)
    place = as_str(df[location_col]).fillna("").reset_index(drop=True) if location_col is not None else ""
    keys = given_ids.astype("str") + "\x1f" + category.astype("str") + "\x1f" + place
    part.attrs["signature"] = file_signature(df, given_ids, main_month, force, row_keys=keys)
    return part, b.build()


def check_mapping(columns: Any, allowed: Sequence[str], arg: str = "columns") -> dict[str, str]:
    if columns is None:
        return {}
    if not isinstance(columns, dict):
        raise ParameterError(f"`{arg}` must be a dict mapping canonical names to your column names, e.g. {{'occurred': 'Date'}}.")
    bad = [k for k in columns if k not in allowed]
    if bad:
        raise ParameterError(
            f"`{arg}` has unknown key(s) {', '.join(repr(k) for k in bad)}; allowed: {', '.join(allowed)}. "
            "Keys are the canonical names; values are your column names."
        )
    for k, v in columns.items():
        if not isinstance(v, str):
            raise ParameterError(f"`{arg}[{k!r}]` must be a column name (str); got {v!r}.")
    return dict(columns)


def check_present(table: Table, mapping: dict[str, str], arg: str = "columns") -> None:
    missing = {k: v for k, v in mapping.items() if v not in table.frame.columns}
    if missing:
        shown = ", ".join(f"`{c}`" for c in list(table.frame.columns)[:30])
        raise SchemaError(
            f"{table.name}: column(s) named in `{arg}` not found: "
            + ", ".join(f"{k} -> `{v}`" for k, v in missing.items())
            + f". Columns present: {shown}."
        )
