"""Rows that give their location in different columns: some as eastings/northings, others as
longitude/latitude, a few only as a postcode (a scheme's hand-kept spreadsheet).

:func:`locate_mixed` takes each row's point from whichever complete coordinate pair it has (the
pairs of :data:`~hotspots.io._columns.XY_CANDIDATES`, in that order), each pair read in its own
coordinate system, counts the rows located from each pair, and warns when a row's pairs disagree
by more than :data:`DISAGREE_M`. A row with no complete pair but a postcode in a location column
(:func:`postcode_only_rows`) is dropped as :data:`POSTCODE_ONLY`, not ``no location``: postcodes
are not geocoded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..privacy import postcode_like
from ..report import ReportBuilder
from ._columns import XY_CANDIDATES
from ._common import as_str, find_column, norm_key
from ._pipeline import Located, PointColumns, locate
from ._read import Table

__all__ = ["DISAGREE_M", "POSTCODE_ONLY", "coordinate_pairs", "postcode_only_rows", "locate_mixed"]

#: Drop reason of a row whose only location is a postcode (postcodes are not geocoded).
POSTCODE_ONLY = "postcode only: not geocoded - give coordinates"

#: A row giving two coordinate pairs farther apart than this (metres) is counted in a warning.
DISAGREE_M = 100.0

# Normalised column names that may hold a place as text; a person's home address never counts.
_PLACE_WORDS = ("location", "postcode", "place", "where", "street", "site")
_NOT_PLACE_WORDS = ("home", "person", "offender", "resid", "birth")


def coordinate_pairs(columns: Sequence[str], first: tuple[str, str]) -> list[tuple[str, str]]:
    """The coordinate pairs present in ``columns``: ``first`` (the pair the loader chose), then
    every other pair of usual names (:data:`XY_CANDIDATES`) whose two columns are both present and
    not already used."""
    pairs = [first]
    used = set(first)
    for cx, cy in XY_CANDIDATES:
        fx, fy = find_column(columns, [cx]), find_column(columns, [cy])
        if fx is not None and fy is not None and fx not in used and fy not in used:
            pairs.append((fx, fy))
            used |= {fx, fy}
    return pairs


def postcode_only_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows with a UK postcode in a column whose name says it holds a place (``location_text``,
    ``postcode``, ``incident_street``; never a home address): boolean, one per row. Computed
    before identifying columns are dropped, so a postcode column dropped on load still tells
    why its rows have no point."""
    hit = np.zeros(len(frame), dtype=bool)
    for col in frame.columns:
        key = norm_key(col)
        if any(w in key for w in _PLACE_WORDS) and not any(w in key for w in _NOT_PLACE_WORDS):
            s = frame[col]
            if s.dtype == object or str(s.dtype).startswith("str"):
                hit |= np.asarray(postcode_like(s.tolist()), dtype=bool)
    return hit


def _complete(frame: pd.DataFrame, pair: tuple[str, str]) -> np.ndarray:
    return (as_str(frame[pair[0]]).notna() & as_str(frame[pair[1]]).notna()).to_numpy(dtype=bool)


def locate_mixed(
    table: Table,
    b: ReportBuilder,
    where: PointColumns,
    *,
    auto: bool,
    postcode_rows: np.ndarray | None = None,
) -> Located:
    """:func:`~hotspots.io._pipeline.locate` each row from whichever complete coordinate pair it has.

    Parameters
    ----------
    table, b, where
        As for ``locate``; ``where.x_col``/``where.y_col`` is the first pair tried.
    auto : bool
        The coordinate columns and CRS were found automatically (no ``x``/``y``, ``crs`` or
        ``swap_xy`` given): only then are other pairs read, each in the coordinate system its values
        show. Otherwise this is ``locate``.
    postcode_rows : ndarray of bool, optional
        Rows holding a postcode (:func:`postcode_only_rows`); those with no complete pair are
        dropped as :data:`POSTCODE_ONLY`.

    Returns
    -------
    Located
        British National Grid metres; NaN on dropped rows.

    Notes
    -----
    A row with two complete pairs uses the first (eastings/northings before longitude/latitude);
    when they are more than :data:`DISAGREE_M` metres apart a warning counts the rows. A row
    dropped by its first pair (e.g. out of range) is kept when a later pair locates it.
    """
    frame = table.frame
    pairs = [(where.x_col, where.y_col)]
    if auto and where.x_col is not None and where.y_col is not None:
        pairs = coordinate_pairs([str(c) for c in frame.columns], (where.x_col, where.y_col))
    complete = [_complete(frame, p) for p in pairs] if pairs[0][0] is not None else []
    if postcode_rows is not None and complete:
        b.drop(np.asarray(postcode_rows, dtype=bool) & ~np.logical_or.reduce(complete), POSTCODE_ONLY)
    if len(pairs) == 1:
        return locate(table, b, where)
    n = len(frame)
    X, Y = np.full(n, np.nan), np.full(n, np.nan)
    chosen = np.full(n, -1)
    first_reason = np.full(n, "", dtype=object)
    disagree = np.zeros(n, dtype=bool)
    farthest = 0.0
    for k, (cx, cy) in enumerate(pairs):
        child = b.child(complete[k])
        if not child.alive.any():
            continue
        loc = locate(table, child, PointColumns(cx, cy, crs=where.crs, swap_xy=where.swap_xy, crs_from=where.crs_from))
        for text in child.notes:
            b.note(text)
        for text in child.warnings:
            b.warn(text)
        ok = np.isfinite(loc.X) & np.isfinite(loc.Y)
        reasons = child.drop_reasons()
        first_reason = np.where((first_reason == "") & (reasons != ""), reasons, first_reason)
        both = ok & (chosen >= 0)
        if both.any():
            d = np.hypot(loc.X[both] - X[both], loc.Y[both] - Y[both])
            far = d > DISAGREE_M
            disagree[np.flatnonzero(both)[far]] = True
            farthest = max(farthest, float(d.max()))
        new = ok & (chosen < 0)
        X[new], Y[new] = loc.X[new], loc.Y[new]
        chosen[new] = k
    for reason in pd.unique(first_reason[(chosen < 0) & b.alive]):
        b.drop((chosen < 0) & (first_reason == reason), reason or "no location")
    b.drop(chosen < 0, "no location")
    counts = [(p, int(((chosen == k) & b.alive).sum())) for k, p in enumerate(pairs)]
    used = [f"{c:,} from `{p[0]}`/`{p[1]}`" for p, c in counts if c]
    if len(used) > 1:
        b.note(f"{table.name}: rows located from different coordinate columns: {', '.join(used)} (each pair read in its "
               "own coordinate system)")
    if disagree.any():
        p0, p1 = pairs[0], pairs[1]
        b.warn(f"{table.name}: {int(disagree.sum()):,} row(s) give two coordinate pairs more than {DISAGREE_M:.0f} m apart "
               f"(up to {farthest:,.0f} m), e.g. `{p0[0]}`/`{p0[1]}` and `{p1[0]}`/`{p1[1]}`: the first pair was used; "
               "check those rows and blank the wrong pair")
    return Located(np.where(b.alive, X, np.nan), np.where(b.alive, Y, np.nan))
