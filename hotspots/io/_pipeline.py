"""Steps shared by the point loaders: locate, date, filter, de-duplicate, study area, assemble.

Each step takes the table and a :class:`~hotspots.report.ReportBuilder` and drops rows for one
reason, so that each dropped row is counted once, under the first reason that applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import CRSError, HotspotsError, InputError, ParameterError
from ..forces import far_apart_forces
from ..report import MAX_EXAMPLES, LoadReport, ReportBuilder, with_category_drops
from ..validation import python_only, setting, shown
from . import extent
from ._columns import WKT_CANDIDATES, XY_CANDIDATES, find_columns, has_geometry, match_columns, resolve_xy  # noqa: F401
from ._common import (
    COORDINATE_FORM,
    as_str,
    bad_values,
    content_keys,
    derive_ids,
    empty_rows,
    norm_key,
    study_area_geometry,
    text_column,
    to_float,
)
from ._read import Table, skipped_files
from .coords import crs_label, detect_crs, detected_note, other_grid_warning, resolve_crs
from .copies import copy_reason, distinct_ids, find_copies, repeated_ids
from .months import loaded_months_warning


@dataclass
class Located:
    X: np.ndarray
    Y: np.ndarray


@dataclass(frozen=True)
class PointColumns:
    """Where a table's points are read from, and how: what :func:`locate` needs.

    Attributes
    ----------
    x_col, y_col : str or None
        Coordinate columns (longitude/easting first). Both None: the WKT column, else the file's
        geometry.
    wkt_col : str or None
        Column of WKT geometries, used when there are no coordinate columns.
    crs : "auto", int, str or pyproj.CRS
        CRS of the coordinates; ``"auto"`` uses the file's own CRS, else detects it from the values.
    swap_xy : bool
        Swap x and y before anything else.
    crs_from : str
        Who set ``crs``, for the note saying how coordinates were read (empty: the caller's
        argument, "given `crs`" or "given `--crs`"; a format's loader names the format's own rule).
    """

    x_col: str | None
    y_col: str | None
    wkt_col: str | None = None
    crs: Any = "auto"
    swap_xy: bool = False
    crs_from: str = ""


def locate(table: Table, b: ReportBuilder, where: PointColumns) -> Located:
    """Find each row's point in British National Grid, dropping rows without a usable one.

    Drop reasons: ``no location`` (blank, missing geometry, or exactly (0, 0)), ``unparseable
    coordinates`` (text that is not a number, or WKT that does not parse), ``possibly swapped
    coordinates`` (a minority of rows with latitude and longitude exchanged; a file wholly swapped is
    read swapped, :func:`hotspots.io.extent.latlon_swaps`), ``out-of-range
    coordinates`` (infinite, outside the CRS's valid range, or converting to a point outside the
    British Isles).
    """
    x_col, y_col, wkt_col, crs, swap_xy = where.x_col, where.y_col, where.wkt_col, where.crs, where.swap_xy
    df = table.frame
    src_crs = None
    if x_col is None and y_col is None:
        if wkt_col is not None:
            txt = as_str(df[wkt_col])
            blank = txt.isna().to_numpy()
            geoms = shapely.from_wkt(txt.fillna("").to_numpy(dtype=object), on_invalid="ignore")
            geoms = np.where(blank, None, geoms)
            b.drop(blank, "no location")
            b.drop(shapely.is_missing(geoms) & ~blank, "unparseable coordinates",
                   detail=bad_values(df, [wkt_col], "a WKT point such as POINT (430000 336000)"))
            b.note(f"{table.name}: locations read from WKT column `{wkt_col}`")
        else:
            geoms = np.asarray(df.geometry.values)
            src_crs = table.crs
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        b.drop(missing, "no location")
        geoms = geoms.copy()
        geoms[missing] = None
        nonpoint = ~missing & (shapely.get_type_id(geoms) != 0)
        if nonpoint.any():
            geoms[nonpoint] = _surface_points(geoms[nonpoint])
            b.note(f"{table.name}: {int(nonpoint.sum()):,} non-point geometries replaced by a point on their surface")
            # A collection of empty parts (or a polygon GEOS cannot handle) has no such point.
            bad = nonpoint & (shapely.is_missing(geoms) | shapely.is_empty(geoms))
            b.drop(bad, "unparseable coordinates")
            geoms[bad] = None
            missing = missing | bad
        x = shapely.get_x(geoms).astype(float)
        y = shapely.get_y(geoms).astype(float)
        x = np.where(missing, np.nan, x)
        y = np.where(missing, np.nan, y)
        names = ("x", "y")
    else:
        names = (x_col, y_col)
        xs, ys = extent.decimal_commas(df[x_col], df[y_col], names, b, table.name)
        x, xblank, xgarb = to_float(xs)
        y, yblank, ygarb = to_float(ys)
        b.drop(xblank | yblank, "no location")
        garbage = b.drop(xgarb | ygarb, "unparseable coordinates", detail=bad_values(df, [x_col, y_col], COORDINATE_FORM))
        extent.comma_hint(table.name, df[x_col], df[y_col], garbage, names, b)
    zero = (x == 0) & (y == 0)
    if (zero & b.alive).any():
        b.drop(zero, "no location")
        b.note("coordinates (0, 0) are treated as a missing location")
    if swap_xy:
        x, y = y, x
        b.note(f"x and y swapped as asked ({setting('swap_xy')}): `{names[1]}` read as x, `{names[0]}` as y")
    cand = b.alive & np.isfinite(x) & np.isfinite(y)

    # Decide the CRS.
    if crs is not None and not (isinstance(crs, str) and crs == "auto"):
        c = resolve_crs(crs)
        b.note(f"coordinates read as {crs_label(c)} ({where.crs_from or 'given ' + shown('crs')})")
    elif src_crs is not None:
        c = resolve_crs(src_crs)
        if c.is_geographic and cand.any():
            try:
                det = detect_crs(x[cand], y[cand])
            except CRSError:
                det = None
            if det is not None and det.epsg == 27700 and det.share > 0.9:
                b.warn(
                    f"{table.name} says its coordinates are {crs_label(c)} but the values are metres on the British "
                    "National Grid (common in GeoJSON written without a CRS); read them as EPSG:27700. "
                    f"Pass {shown('crs')} to override."
                )
                c = resolve_crs(27700)
        b.note(f"coordinates read as {crs_label(c)} (the file's CRS)")
    elif cand.any():
        try:
            det = detect_crs(x[cand], y[cand])
        except CRSError as exc:
            if not extent.says_northern_ireland(df):
                raise CRSError(f"{table.name}: {exc}") from None
            det = None  # metres in an Irish grid, outside British National Grid's range: tried below
        ni = (det is None or (det.epsg == 27700 and not det.swapped)) and extent.says_northern_ireland(df)
        if det is not None and det.swapped:
            if swap_xy:
                raise CRSError(
                    f"{table.name}: after swapping x and y as asked ({setting('swap_xy')}), {det.reason}. The columns were "
                    f"the right way round: drop {shown('swap_xy')}."
                )
            # the column holding longitudes is x: here names[1]
            fixes = (f"{setting('swap_xy', where=False)}, or name the columns with {setting('x', names[1], where=False)} and "
                     f"{setting('y', names[0], where=False)}{python_only('swap_xy', 'x', 'y')}")
            raise CRSError(
                f"{table.name}: `{names[0]}`/`{names[1]}` look swapped: {det.reason}. Swap them at source, or pass {fixes}."
            )
        if ni:  # Northern Ireland's rows: the grid that puts them there
            c = resolve_crs(extent.northern_ireland_crs(table.name, x[cand], y[cand], b))
        else:
            c = resolve_crs(det.epsg)
            b.note(detected_note(det))
            if elsewhere := other_grid_warning(det, int(cand.sum())):
                b.warn(f"{table.name}: {elsewhere}")
    else:
        c = resolve_crs(27700)
    if c.to_epsg() == 27700 and cand.any():  # swapped within the grid's range: told by the force the rows name
        extent.refuse_force_swap(table.name, df, x[cand], y[cand], names, swap_xy=swap_xy)
    if c.is_geographic and cand.any():  # latitude and longitude the wrong way round: in a whole file, or in some rows
        x, y = extent.latlon_swaps(table.name, x, y, cand, names, swap_xy=swap_xy, b=b)
    extent.check_values(table.name, x[cand], y[cand], names, geographic=c.is_geographic, b=b)

    return Located(*extent.to_bng_in_uk(table.name, x, y, c, names, b, how=extent.crs_chosen(crs, where.crs_from)))


def month_filter(b: ReportBuilder, month: pd.Series, months: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> None:
    start, end = months
    if start is None and end is None:
        return
    m = month.to_numpy()
    mask = np.zeros(len(m), dtype=bool)
    if start is not None:
        mask |= m < np.datetime64(start)
    if end is not None:
        mask |= m > np.datetime64(end)
    b.drop(mask, "month outside range")
    b.note(
        f"months {start.strftime('%Y-%m') if start is not None else 'start'} to "
        f"{end.strftime('%Y-%m') if end is not None else 'end'} (inclusive)"
    )


_CATEGORY_ALIASES = {"asb": "antisocialbehaviour"}


def category_key(name: Any) -> str:
    """The key categories are matched by: case, spaces and punctuation ignored, ``"asb"`` for
    ``"Anti-social behaviour"`` (the loaders' ``categories`` and
    :func:`hotspots.pipeline.choose_category` both use it)."""
    return _CATEGORY_ALIASES.get(norm_key(name), norm_key(name))


def category_filter(b: ReportBuilder, category: pd.Series, categories: Any) -> None:
    if categories is None:
        return
    if isinstance(categories, str):
        categories = [categories]
    try:
        wanted_list = [str(c) for c in categories]
    except TypeError:
        raise ParameterError(f"`categories` must be a category name or a list of names; got {categories!r}.") from None
    if not wanted_list:
        raise ParameterError("`categories` is empty; give at least one category (or None for all).")
    wanted = {category_key(c) for c in wanted_list}
    cats = category.fillna("").astype("str")
    uniq = pd.unique(cats.to_numpy())
    keymap = {u: category_key(u) for u in uniq}  # the data's "ASB" too, as the option's
    keys = cats.map(keymap)
    keep = keys.isin(wanted).to_numpy()
    b.drop(~keep, "category not selected")
    # a category that matches nothing is judged over every file read, not file by file
    # (:func:`filter_warnings`): one file without it (or without rows) says nothing
    b.note(f"categories selected: {', '.join(wanted_list)}")


def filter_warnings(
    parts: Sequence[pd.DataFrame],
    categories: Any,
    months: tuple[pd.Timestamp | None, pd.Timestamp | None],
) -> list[str]:
    """Warnings for a category or month filter that matched no row of any file read.

    Each part (:func:`hotspots.io._incidents.incident_part`) carries the categories and months
    all its rows held, before the filters, in ``attrs["categories_present"]`` and
    ``attrs["months_present"]``. Files without rows hold neither and say nothing here.
    """
    from ..validation import closest_name, names_text

    out: list[str] = []
    present_cats = sorted({c for p in parts for c in p.attrs.get("categories_present", ())})
    if categories is not None and present_cats:
        wanted = [categories] if isinstance(categories, str) else [str(c) for c in categories]
        keys = {norm_key(c) for c in present_cats}
        unmatched = [c for c in wanted if category_key(c) not in keys]
        if unmatched:
            guesses = [g for g in (closest_name(u, present_cats, key=category_key) for u in unmatched) if g]
            hint = f"; did you mean {' or '.join(repr(g) for g in dict.fromkeys(guesses))}?" if guesses else ""
            out.append(
                f"categor{'y' if len(unmatched) == 1 else 'ies'} {', '.join(repr(u) for u in unmatched)} matched no rows; "
                f"categories present: {names_text(present_cats)}{hint}"
            )
    present_months = sorted({m for p in parts for m in p.attrs.get("months_present", ())})
    start, end = months
    if (start is not None or end is not None) and present_months:
        inside = [m for m in present_months if (start is None or m >= start) and (end is None or m <= end)]
        if not inside:
            from ..coverage import month_spans

            # the months that hold data, gaps shown (Jan 2025 – Apr 2025, Sep 2025, Dec 2025), not only the first and last
            held = month_spans(m.year * 12 + m.month - 1 for m in present_months)
            n = len(present_months)
            a = start.strftime("%Y-%m") if start is not None else "start"
            asked = f"{a} to {end.strftime('%Y-%m') if end is not None else 'end'}"
            out.append(
                f"months {asked} matched no rows: the data hold {held} ({n} month{'' if n == 1 else 's'}); "
                "choose months within them"
            )
    return out


def row_ids(frame: pd.DataFrame, id_col: str | None, prefix: str, b: ReportBuilder, note: str) -> pd.Series:
    """Each row's id from ``id_col``; rows without one get stable ids ``prefix`` + a hash of the
    row (:func:`~hotspots.io._common.derive_ids`), and ``note`` goes in the report when any did."""
    ids = text_column(frame, id_col)
    need = ids.isna().to_numpy()
    if need.any():
        ids = ids.astype(object)
        ids[need] = derive_ids(content_keys(frame[need]), prefix)
        ids = ids.astype("str")
        if (need & b.alive).any():  # not for rows already dropped (an empty row)
            b.note(note)
    return ids


def note_unused_columns(
    b: ReportBuilder, cols: Sequence[str], found: dict[str, str | None], xy: tuple[str | None, str | None, str | None]
) -> list[str]:
    """Note the columns of a table that the loader did not read (names only, never values); return them.

    ``cols``, ``found`` and ``xy`` as :meth:`SchemeOptions.match_columns` returns them. A column
    the user meant to be read under another name can then be mapped with ``columns=``.
    """
    used = {c for c in found.values() if c} | {c for c in xy if c}
    unused = [str(c) for c in cols if c not in used]
    if unused:
        from ..validation import names_text

        b.note(f"column(s) not used: {names_text([f'`{c}`' for c in unused], limit=10)} (ignored; to read one as a "
               f"column the loader knows, map it with {shown('columns')})")
    return unused


def keep_unknown(b: ReportBuilder, values: pd.Series, unknown: np.ndarray, key: str, col: str, fix: str) -> int:
    """Keep the rows whose ``col`` value is not recognised, with ``key`` not recorded (the caller
    leaves it missing), and warn with each value and its number of rows and ``fix``.

    A referral is a person referred whatever a field says: an unrecognised outcome (``"lost"``)
    makes that field unknown, not the person absent from every figure.

    Returns
    -------
    int
        Rows kept with ``key`` not recorded.
    """
    hit = np.asarray(unknown, dtype=bool) & b.alive
    b.unrecognised(key, values.astype("str").to_numpy(dtype=object), hit)
    if not hit.any():
        return 0
    counts = pd.Series(np.asarray(values.astype("str"), dtype=object)[hit]).value_counts()
    shown = "; ".join(f"{v!r} in {n:,} row{'s' * (n != 1)}" for v, n in counts.head(5).items())
    more = f"; and {len(counts) - 5} other value(s)" if len(counts) > 5 else ""
    b.warn(f"`{col}` value(s) not recognised: {shown}{more}; counted as {key} not recorded (the rows are kept). "
           f"To count them, recode them in the file ({fix})")
    return int(hit.sum())


def drop_duplicate_ids(
    b: ReportBuilder, ids: np.ndarray | pd.Series, *, what: str = "id", keep: str = "first", content: pd.Series | None = None,
    copies: bool = False,
) -> int:
    """Drop the rows (not yet dropped) that repeat an id, as ``"duplicate id"``; return how many.

    ``keep="first"`` keeps each id's first row (incidents: a row read twice); ``keep="last"`` its
    last row (referrals, task sites: a case system's export repeats a record with its updates
    further down, so the later row is the current one), with a note saying so. ``content`` (one
    string per row, :func:`~hotspots.io._common.content_keys`) lets the report count how many
    dropped rows differ from the row kept: a warning then names their lines (never the ids). Its two
    counts are each followed by "row(s)", the form :func:`hotspots.app_support.person_text` protects.
    With ``copies`` (and ``content``), rows that are exact copies of the row kept are dropped as
    ``"duplicate row"`` instead (:data:`hotspots.report.NOT_PEOPLE`: a row exported twice, no one more or less).
    """
    s = pd.Series(np.asarray(ids, dtype=object))
    alive_idx = np.flatnonzero(b.alive)
    dup = np.zeros(len(s), dtype=bool)
    dup[alive_idx] = s.iloc[alive_idx].duplicated(keep=keep).to_numpy()
    n_copies = 0
    if copies and content is not None and dup.any():
        c_all, stay = np.asarray(content, dtype=object), b.alive & ~dup
        kept_rows = dict(zip(s[stay].tolist(), c_all[stay].tolist()))
        same = np.array([bool(dup[i]) and kept_rows.get(s.iat[i]) == c_all[i] for i in range(len(s))], dtype=bool)
        n_copies = int(b.drop(same, "duplicate row").sum())
        dup &= ~same
    new = b.drop(dup, "duplicate id")
    n = int(new.sum())
    if n and keep == "last":
        b.note(f"rows repeating a {what} in a file: the last of them is kept (a later row of an export is the update)")
    if n and content is not None:
        kept_content = dict(zip(s[b.alive].tolist(), np.asarray(content, dtype=object)[b.alive].tolist()))
        c = np.asarray(content, dtype=object)
        differ = np.array([new[i] and kept_content.get(s.iat[i]) != c[i] for i in range(len(s))], dtype=bool)
        if differ.any():  # which rows: the example lines of 'duplicate id' (not listed here, where their number would show)
            which = "later" if keep == "last" else "first"
            b.warn(
                # each count followed by its noun, so app_support.person_text protects both ("1 of the <5" told the 1)
                f"{int(differ.sum()):,} row(s) of the {n:,} row(s) dropped as 'duplicate id' differ from the row kept for their "
                f"{what} (the {which} one): check that the {which} row holds the current record"
            )
    return n + n_copies


# --------------------------------------------------------------------------------------------
# Combining tables: cross-table duplicates, study area, final report
# --------------------------------------------------------------------------------------------


def finish(
    run: TableRun,
    *,
    id_col: str | None,
    study_area: Any,
    drop_outside: bool,
    columns: Sequence[str],
    dtypes: dict[str, Any],
    notes: Sequence[str] = (),
    files_word: str = "files",
    ids_may_be_reused: bool = False,
    skipped: Sequence[str] = (),
    stray: bool = False,
    keep_last: bool = False,
) -> tuple[gpd.GeoDataFrame, LoadReport]:
    """Concatenate per-table parts (each with ``_src``, ``_row``, ``_x``, ``_y`` columns), drop
    cross-table duplicate ids, with ``stray`` (incidents) rows in stray months
    (:func:`hotspots.coverage.stray_months`: far from the rest of the data in time, few), flag or
    drop points outside the study area, build the report.

    ``keep_last`` (referrals, task sites): an id repeated across tables keeps the row of the last
    table (a later export updates a record), not the first.

    A table that copies an earlier one (:func:`hotspots.io.copies.find_copies`: the same month
    loaded twice) is dropped whole, each row as ``copy of <file> (same month loaded twice)``. Then
    rows repeating an id given by an earlier row are dropped as ``duplicate id``; derived ids never
    count. ``ids_may_be_reused`` (police.uk's Crime IDs): only a repeat with the same ``month`` and
    ``category`` is the same incident; other repeats are kept and counted in a note.

    The report's source is the one table's name, else "<n> ``files_word``", then how many inputs
    :func:`run_tables` could not read (each also a warning); a file without rows is a warning, and
    the files a folder or archive held that were not read (``skipped``) are one line
    (:func:`skipped_files`).
    """
    from ..validation import names_text

    parts, reports, names = run.parts, run.reports, run.names
    source = names[0] if len(names) == 1 else f"{len(names)} {files_word}"
    if run.failures:  # counted and named where the totals are read
        failed = [f.split(": ", 1)[0] for f in run.failures]
        source += f" (and {len(failed)} unreadable, skipped: {names_text(failed, limit=3)})"
    notes = list(notes)
    warnings = [f"skipped unreadable file {f}" for f in run.failures]
    warnings += [f"{r.source} is empty: it has a header but no rows" for r in reports if r.rows_read == 0]
    not_read = skipped_files(skipped, "data files" if files_word == "files" else files_word)
    notes += not_read[0]
    warnings += not_read[1]
    if parts:
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    else:
        df = pd.DataFrame({c: [] for c in columns})
    extra: dict[str, int] = {}
    extra_ex: dict[str, list[str]] = {}
    keep = np.ones(len(df), dtype=bool)
    charged: list[tuple[str, np.ndarray]] = []  # drops after combining, charged to each row's file too

    def refs(mask: np.ndarray) -> list[str]:
        idx = np.flatnonzero(mask)[:MAX_EXAMPLES]
        units = run.units or ["row"] * len(names)
        return [f"{names[int(df['_src'].iat[i])]}:{units[int(df['_src'].iat[i])]} {int(df['_row'].iat[i])}" for i in idx]

    copies = find_copies([p.attrs.get("signature", {}) for p in parts], names) if len(parts) > 1 and len(df) else {}
    for j, (i, why) in copies.items():  # a month loaded twice: the whole file goes, ASB rows included
        gone = keep & (df["_src"].to_numpy() == j)
        reason = copy_reason(names[i], why)
        if gone.any():  # several copies of one file share a reason: their rows add up
            extra[reason] = extra.get(reason, 0) + int(gone.sum())
            extra_ex[reason] = (extra_ex.get(reason, []) + refs(gone))[:MAX_EXAMPLES]
            charged.append((reason, gone))
            keep &= ~gone
        warnings.append(
            f"{names[j]} is a copy of {names[i]} ({why}): " + (f"its {int(gone.sum()):,} row(s), anti-social behaviour included, "
            f"dropped as '{reason}'" if gone.any() else "its rows were all dropped already") + "; remove one of the two files"
        )
    if id_col is not None and len(df):
        # ids repeated across files that are not copies: with police.uk's Crime IDs only the same id, month and
        # crime type is the same crime (Northern Ireland gives an id to other crimes in other months); identical
        # rows with derived ids (ASB) are separate incidents (hotspots.io.copies.repeated_ids)
        dup, other = repeated_ids(df, id_col, keep, by_incident=ids_may_be_reused, keep_last=keep_last)
        given = df["_given"].to_numpy(dtype=bool) if "_given" in df.columns else np.ones(len(df), dtype=bool)
        if other.any():
            df[id_col] = distinct_ids(df[id_col], other)
        if (other & given).any():
            other = other & given
            notes.append(
                f"{int(other.sum()):,} row(s) repeat an id read earlier with another month or crime type: kept as incidents "
                "of their own, with ids made distinct as <id>#2, #3, ... (police.uk's files give some ids to other crimes, "
                "as Northern Ireland's do)"
            )
        if dup.any():
            extra["duplicate id"] = int(dup.sum())
            extra_ex["duplicate id"] = refs(dup)
            charged.append(("duplicate id", dup))
            same = " with the same month and crime type" if ids_may_be_reused else ""
            warnings.append(
                f"{int(dup.sum()):,} row(s) have an id that a later file repeats; the later file's row is kept (the update) and "
                "these are dropped as 'duplicate id'" if keep_last else
                f"{int(dup.sum()):,} row(s) repeat an id{same} already read from another file (the same incident "
                "published twice); dropped as 'duplicate id'"
            )
            keep &= ~dup
    from ..coverage import stray_months
    from ..incident_time import incident_months

    if stray and len(df) and (month := incident_months(df)) is not None:  # rows far from the rest in time, few
        found = stray_months(np.where(keep, month, -1))
        if (gone := found.mask(month) & keep).any():
            extra["stray month"], extra_ex["stray month"] = int(gone.sum()), refs(gone)
            charged.append(("stray month", gone))
            warnings.append(f"{found.note()} ({', '.join(refs(gone))})")  # the rows, to look them up
            keep &= ~gone
    geom, area_note = study_area_geometry(study_area)
    if area_note:
        notes.append(area_note)
    inside = None
    if geom is not None:
        X = df["_x"].to_numpy(dtype=float) if len(df) else np.empty(0)
        Y = df["_y"].to_numpy(dtype=float) if len(df) else np.empty(0)
        inside = shapely.intersects_xy(geom, X, Y) if len(df) else np.zeros(0, dtype=bool)
        out = keep & ~inside
        n_out = int(out.sum())
        if drop_outside:
            if n_out:
                extra["outside study area"] = n_out
                extra_ex["outside study area"] = refs(out)
                charged.append(("outside study area", out))
                keep &= ~out
            notes.append("points outside the study area dropped (`drop_outside=True`)")
        elif n_out:
            warnings.append(
                f"{n_out:,} of {int(keep.sum()):,} points lie outside the study area (e.g. {', '.join(refs(out))}); kept and "
                "flagged in `in_study_area` (pass `drop_outside=True` to drop them)"
            )
    df_src = df["_src"].to_numpy() if len(df) else np.zeros(0, dtype=np.int64)
    categories = df["category"].to_numpy(dtype=object) if "category" in df.columns and charged else None
    df = df[keep].reset_index(drop=True)
    pts = shapely.points(df["_x"].to_numpy(dtype=float), df["_y"].to_numpy(dtype=float)) if len(df) else np.empty(0, dtype=object)
    out_cols = list(columns)
    data: dict[str, Any] = {}
    for c in out_cols:
        if c == "geometry":
            continue
        s = df[c] if c in df.columns else pd.Series([pd.NA] * len(df))
        data[c] = _cast(s.reset_index(drop=True), dtypes.get(c, "str"))
    if inside is not None:
        data["in_study_area"] = pd.Series(inside[keep], dtype=bool)
    gdf = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(pts, crs=27700), crs=27700)
    gdf = gdf.rename_geometry("geometry") if gdf.geometry.name != "geometry" else gdf
    order = [c for c in out_cols if c != "geometry"] + (["in_study_area"] if inside is not None else []) + ["geometry"]
    gdf = gdf[order]
    if len(reports) > 1 and charged:  # each file's line then adds up to what was kept of it
        src = df_src
        merged: dict[str, np.ndarray] = {}  # one mask per reason (several copies of a file share theirs)
        for reason, mask in charged:
            merged[reason] = merged[reason] | mask if reason in merged else mask
        reports = [
            _charge(r, {reason: int((mask & (src == i)).sum()) for reason, mask in merged.items()}) for i, r in enumerate(reports)
        ]
        extra = {}  # now counted in the files' own reports, which the total sums
    report = LoadReport.combine(
        reports,
        source,
        extra_dropped=extra,
        extra_examples=extra_ex,
        notes=[n for n in notes if n],
        warnings=[w for w in warnings if w],
        rows_kept=len(gdf),
    )
    if categories is not None:  # the category line adds up too (hotspots.preparation.category_drops_text)
        report = with_category_drops(report, categories, charged)
    return gdf, report


def _charge(report: LoadReport, drops: dict[str, int]) -> LoadReport:
    """``report`` (one file's) with rows dropped after the files were combined moved from kept to
    dropped (e.g. ids already read from an earlier file), so that its line adds up."""
    drops = {k: v for k, v in drops.items() if v}
    if not drops:
        return report
    dropped = dict(report.dropped)
    for k, v in drops.items():
        dropped[k] = dropped.get(k, 0) + v
    return dataclasses.replace(report, rows_kept=report.rows_kept - sum(drops.values()), dropped=dropped)


@dataclass(frozen=True)
class SchemeOptions:
    """The options :func:`hotspots.io.load_referrals` and :func:`hotspots.io.load_tasks` share,
    checked: where the points are and which rows and files to keep.

    Attributes
    ----------
    mapping : dict of str to str
        ``{canonical name: column}`` as checked by ``check_mapping``.
    x, y, crs, swap_xy, drop_outside, layer, skip_bad_files
        As the loaders take them.
    study_area : shapely geometry or None
        The study area in British National Grid (``study_area_geometry``).
    """

    mapping: dict[str, str]
    x: str | None
    y: str | None
    crs: Any
    swap_xy: bool
    study_area: Any
    drop_outside: bool
    layer: Any
    skip_bad_files: bool

    def match_columns(
        self, table: Table, keys: Sequence[str], candidates: dict[str, Sequence[str]]
    ) -> tuple[list[str], dict[str, str | None], tuple[str | None, str | None, str | None]]:
        """:func:`match_columns` with these options' mapping and coordinate columns."""
        return match_columns(table, self.mapping, self.x, self.y, keys, candidates)

    def locate(
        self, table: Table, b: ReportBuilder, xy: tuple[str | None, str | None, str | None], postcode_rows: Any = None
    ) -> Located:
        """:func:`locate` the rows of ``table`` from ``xy`` (as :meth:`match_columns` returns it); with
        the columns and CRS found automatically, each row from whichever coordinate pair it has
        (:func:`hotspots.io.mixed.locate_mixed`, which drops ``postcode_rows`` without coordinates as
        postcode only)."""
        from .mixed import locate_mixed

        return locate_mixed(table, b, PointColumns(*xy, crs=self.crs, swap_xy=self.swap_xy), auto=self.auto_xy,
                            postcode_rows=postcode_rows)

    @property
    def auto_xy(self) -> bool:
        """The coordinate columns and their CRS are found automatically (no ``x``/``y``, ``crs`` or ``swap_xy``)."""
        return (self.x is None and "x" not in self.mapping and isinstance(self.crs, str) and self.crs == "auto"
                and not self.swap_xy)

    def coordinate_columns(self, table: Table, xy: tuple[str | None, str | None, str | None]) -> dict[str, str]:
        """``{label: column}`` of the coordinate columns :meth:`locate` reads besides ``xy`` (other
        complete pairs of usual names, read when :attr:`auto_xy`), for :func:`note_unused_columns`."""
        from .mixed import coordinate_pairs

        if not self.auto_xy or xy[0] is None or xy[1] is None:
            return {}
        pairs = coordinate_pairs([str(c) for c in table.frame.columns], (xy[0], xy[1]))[1:]
        return {f"xy{i}{axis}": col for i, p in enumerate(pairs) for axis, col in zip("xy", p)}


def load_scheme_tables(
    items: list[Any],
    skipped: list[str],
    one: Any,
    options: SchemeOptions,
    *,
    loader: str,
    id_col: str,
    columns: Sequence[str],
    dtypes: dict[str, Any],
    **extra_params: Any,
) -> tuple[gpd.GeoDataFrame, LoadReport, dict[str, Any]]:
    """Read the tables of a scheme loader (referrals, task sites) with ``one(index, table)`` and
    :func:`finish` them.

    Returns
    -------
    data, report
        As :func:`finish` returns them.
    params : dict
        The loader's options as plain values (a CRS as its EPSG code, the study area as whether
        there was one), then ``extra_params``, then the files read.
    """
    run = run_tables(items, one, layer=options.layer, skip_bad_files=options.skip_bad_files)
    data, report = finish(
        run,
        id_col=id_col,
        study_area=options.study_area,
        drop_outside=options.drop_outside,
        columns=list(columns),
        dtypes=dtypes,
        skipped=skipped,
        keep_last=True,  # a referral or site repeated in a later file (a later export) is its update
    )
    params = {
        "loader": loader,
        "columns": dict(options.mapping),
        "crs": crs_param(options.crs),
        "swap_xy": options.swap_xy,
        "study_area": options.study_area is not None,
        "drop_outside": options.drop_outside,
        **extra_params,
        "files": list(run.names),
    }
    return data, report, params


def finish_incidents(
    run: TableRun,
    loader: str,
    *,
    columns: Sequence[str],
    dtypes: dict[str, Any],
    notes: Sequence[str],
    categories: Any,
    months: tuple[pd.Timestamp | None, pd.Timestamp | None],
    study_area: Any,
    drop_outside: bool,
    files_word: str = "files",
    options: dict[str, Any] | None = None,
    ids_may_be_reused: bool = False,
    skipped: Sequence[str] = (),
) -> tuple[gpd.GeoDataFrame, LoadReport, dict[str, Any]]:
    """:func:`finish` an incident loader's tables, and its ``params`` (``ids_may_be_reused``: police.uk's
    Crime IDs, which Northern Ireland's files re-use across months: see :func:`finish`).

    Returns
    -------
    data, report
        As :func:`finish` returns them (ids in ``incident_id``).
    params : dict
        ``loader``, the loader's own ``options`` as given, the category and month filters, whether there was a
        study area, and the files read.
    """
    data, report = finish(
        run,
        id_col="incident_id",
        study_area=study_area,
        drop_outside=drop_outside,
        columns=columns,
        dtypes=dtypes,
        notes=notes,
        files_word=files_word,
        ids_may_be_reused=ids_may_be_reused,
        skipped=skipped,
        stray=True,
    )
    more = [*filter_warnings(run.parts, categories, months), loaded_months_warning(data), far_apart_forces(data)]
    if any(more):
        report = dataclasses.replace(report, warnings=[*report.warnings, *filter(None, more)])
    params = {
        "loader": loader,
        **(options or {}),
        "categories": categories,
        "months": months_param(months),
        "study_area": study_area is not None,
        "drop_outside": drop_outside,
        "files": list(run.names),
    }
    return data, report, params


def crs_param(crs: Any) -> Any:
    """A ``crs`` option as a plain value for ``params``: a pyproj CRS as its EPSG code, else as given."""
    return crs if not hasattr(crs, "to_epsg") else crs.to_epsg()


def months_param(months: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> tuple[str | None, str | None]:
    """A parsed month range as ``params`` values: ``'YYYY-MM'`` per end, None for an open end."""
    return tuple(None if m is None else m.strftime("%Y-%m") for m in months)


def _cast(s: pd.Series, dtype: Any) -> pd.Series:
    if dtype == "str":
        return s.astype("str").where(s.notna(), other=pd.NA) if len(s) else pd.Series([], dtype="str")
    if dtype == "datetime64[ns]":
        return pd.to_datetime(s).astype("datetime64[ns]") if len(s) else pd.Series([], dtype="datetime64[ns]")
    return s.astype(dtype)


def part_frame(table_index: int, table: Table, b: ReportBuilder, loc: Located, values: dict[str, Any]) -> pd.DataFrame:
    """The kept rows of one table, with canonical values plus ``_src``/``_row``/``_x``/``_y``."""
    alive = b.alive
    out: dict[str, Any] = {}
    for k, v in values.items():
        arr = v.to_numpy() if isinstance(v, pd.Series) else np.asarray(v)
        if isinstance(v, pd.Series):
            out[k] = v.reset_index(drop=True)[alive].reset_index(drop=True)
        else:
            out[k] = pd.Series(arr[alive])
    out["_src"] = np.full(int(alive.sum()), table_index, dtype=np.int64)
    out["_row"] = np.asarray(table.row_numbers)[alive]
    out["_x"] = loc.X[alive]
    out["_y"] = loc.Y[alive]
    return pd.DataFrame(out)


def new_builder(table: Table) -> ReportBuilder:
    """A report builder for ``table``, with its malformed rows and empty rows (every field blank,
    e.g. a line of only commas, or a blank line between rows) dropped as ``"malformed row"`` and ``"empty row"``."""
    b = ReportBuilder(table.name, len(table.frame), table.row_numbers, unit=table.unit)
    b.drop_unparsed(table.malformed, "malformed row", table.malformed_examples)
    b.drop_unparsed(table.blank_lines, "empty row", table.blank_examples)
    for n in table.notes:
        b.note(n)
    b.drop(empty_rows(table.frame), "empty row")
    for w in table.warnings:
        b.warn(w)
    return b


def _surface_points(geoms: np.ndarray) -> np.ndarray:
    """``shapely.point_on_surface`` per geometry; None where GEOS cannot compute one."""
    try:
        return shapely.point_on_surface(geoms)
    except shapely.errors.GEOSException:
        out = np.empty(len(geoms), dtype=object)
        for i, g in enumerate(geoms):
            try:
                out[i] = shapely.point_on_surface(g)
            except shapely.errors.GEOSException:
                out[i] = None
        return out


def guard(func: Any) -> Any:
    """Turn unexpected third-party exceptions escaping a loader into a typed InputError, and run
    the loader within the load limits of its inputs (:func:`hotspots.io.limits.within_limits`)."""
    import functools

    from .limits import within_limits

    func = within_limits(func)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HotspotsError:
            raise
        except (MemoryError, KeyboardInterrupt, RecursionError):
            raise
        except TypeError as exc:
            # Wrong argument types from the caller are parameter errors.
            raise ParameterError(f"{func.__name__}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - last line of defence: never leak raw tracebacks
            raise InputError(
                f"{func.__name__} could not read the input ({type(exc).__name__}: {str(exc)[:300]}). Check the file's format; "
                "if it looks right, report this as a bug in hotspots."
            ) from exc

    return wrapper


@dataclass(frozen=True)
class TableRun:
    """What :func:`run_tables` read: per-table parts, reports and names, and the skipped inputs."""

    parts: list[pd.DataFrame]
    reports: list[LoadReport]
    names: list[str]
    failures: list[str]
    #: What each table's row numbers count (:attr:`hotspots.io._table.Table.unit`): "line" or "row".
    units: list[str] = dataclasses.field(default_factory=list)


def run_tables(items: list[Any], fn: Any, *, layer: Any = None, skip_bad_files: bool = True) -> TableRun:
    """Apply ``fn(index, table) -> (part, report)`` to each source/table.

    With several inputs and ``skip_bad_files``, an input that raises InputError/CRSError is
    skipped and listed in the returned failures; a single input always raises.
    """
    from ._read import read_table

    parts, reports, names, failures, units = [], [], [], [], []
    for item in items:
        try:
            table = item if isinstance(item, Table) else read_table(item, layer=layer)
            part, rep = fn(len(names), table)
        except (InputError, CRSError) as exc:
            if len(items) == 1 or not skip_bad_files:
                raise
            failures.append(f"{item.name}: {exc}")
            continue
        names.append(table.name)
        units.append(table.unit)
        parts.append(part)
        reports.append(rep)
    if not reports:
        raise InputError("no file could be read:\n" + "\n".join(failures))
    return TableRun(parts, reports, names, failures, units)
