"""One entry point for the CLI and the app: pick the right loader for what was given."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from .._errors import InputError, ParameterError
from ..validation import shown
from ._csv import header_of
from ._pipeline import guard
from ._read import POLICE_NAME, resolve_sources, skipped_files
from ._types import IncidentSet, ReferralSet, TaskSet
from .boundary import load_boundary
from .police_uk import is_police_uk_header, load_police_uk, not_street_file_message, other_police_file
from .referrals import load_referrals
from .tables import load_incidents
from .tasks import load_tasks

__all__ = ["load_any", "split_police", "KINDS"]

KINDS = ("incidents", "referrals", "tasks", "boundary")
# cache/cache_dir: hotspots.io.cache
_POLICE_OPTIONS = {"categories", "months", "study_area", "drop_outside", "skip_bad_files", "swap_xy", "cache", "cache_dir"}


def _is_text(source: Any) -> bool:
    try:
        head = source.head(8192)
    except InputError:
        return False
    return b"\x00" not in head


def _holds_no_rows(source: Any) -> bool:
    """True for a file with no data row: 0 bytes, only blanks or a byte-order mark, or a single line
    (a header at most, such as a 1-byte lock file's ``x``): no table anyone meant to load."""
    try:
        lines = [ln for ln in source.head(4096).lstrip(b"\xef\xbb\xbf").splitlines() if ln.strip()]
    except InputError:
        return False
    return len(lines) < 2


def split_police(sources: list[Any]) -> tuple[list[Any], list[Any]]:
    """The police.uk street-level sources among ``sources``, and the other tables.

    Sources that cannot be read (:attr:`~hotspots.io._read.Source.error`), CSV files that are not
    text (binary data) and CSV files named like police.uk monthly files but with another header
    count as police.uk files when some are, and so do CSV files without a data row (0 bytes, or a
    header alone: a stray ``empty.csv`` is no other table): the police.uk loader then reports each
    as an unreadable or empty file and loads the rest, instead of the whole set being refused as a
    mix. A stray table with rows is refused with the police.uk files (:func:`load_any`): it may be
    the data the user meant, and its rows cannot be read as police.uk's, so neither half is chosen
    silently.
    """
    police, others, doubtful = [], [], []
    for s in sources:
        if s.error is not None:
            doubtful.append(s)
        elif s.fmt != "csv":
            others.append(s)
        elif is_police_uk_header(header_of(s) or []):
            police.append(s)
        elif POLICE_NAME.match(PurePosixPath(s.name.replace(":", "/")).name) or not _is_text(s) or _holds_no_rows(s):
            doubtful.append(s)
        else:
            others.append(s)
    if police and not others:
        return [s for s in sources if s in police or s in doubtful], []
    if police:  # the mix is refused for the tables with rows; the doubtful ones are not what is wrong
        return police, others
    return police, others + [s for s in doubtful if s.error is None]


def not_police_text(source: Any) -> str:
    """Why a table given beside police.uk files is not read as one: the police.uk columns
    (:data:`~hotspots.io.police_uk.POLICE_UK_REQUIRED`) its header lacks, and the columns it has (a file resaved by a
    spreadsheet, with ``Longitude`` renamed ``Long``, was refused as "a mix" without saying why)."""
    from ._columns import find_column
    from .police_uk import POLICE_UK_REQUIRED

    cols = header_of(source)
    if not cols:
        return f"{source.name} has no header line that could be read as CSV columns"
    missing = [c for c in POLICE_UK_REQUIRED if find_column(cols, [c]) is None]
    found = ", ".join(f"`{c}`" for c in cols[:15]) + (f" and {len(cols) - 15} more" if len(cols) > 15 else "")
    return (f"{source.name} lacks police.uk's {', '.join(f'`{c}`' for c in missing)} (its columns: {found}; "
            f"police.uk's: {', '.join(f'`{c}`' for c in POLICE_UK_REQUIRED)})")


def drop_other_police_files(sources: list[Any]) -> tuple[list[Any], list[str]]:
    """``sources`` without police.uk outcomes and stop-and-search files (told by their header, whatever
    their name), and those files' names (reported as skipped, like those a folder's names tell).

    Raises
    ------
    InputError
        Every source is such a file: the message says which kind and to give the street file.
    """
    keep, dropped = [], []
    for s in sources:
        kind = None
        if s.error is None and s.fmt == "csv":
            try:
                kind = other_police_file(header_of(s) or [])
            except InputError:
                kind = None
        if kind is None:
            keep.append(s)
        else:
            dropped.append((s.name, kind))
    if dropped and not keep:
        raise InputError(not_street_file_message(*dropped[0]))
    if not dropped:
        return keep, []
    names = ", ".join(f"{name} ({kind})" for name, kind in dropped[:5]) + (", ..." if len(dropped) > 5 else "")
    return keep, [
        f"skipped {len(dropped)} police.uk outcomes or stop-and-search file(s), told by their columns: {names} (they hold "
        "no crime types; only the street files are read as incidents)"
    ]


@guard
def load_any(paths: Any, kind: str = "incidents", **options: Any) -> IncidentSet | ReferralSet | TaskSet | Any:
    """Load ``paths`` as incidents, referrals, task sites or a boundary, choosing the reader.

    For incidents, CSV files whose header is a police.uk street-level header (``Crime ID``,
    ``Month``, ``Longitude``, ``Latitude``, ``Crime type``) go to :func:`load_police_uk`;
    anything else to :func:`load_incidents`. A mix of both is refused (load them separately).

    Parameters
    ----------
    paths : path, folder, .zip, Upload, file object (e.g. Streamlit ``UploadedFile``), list, or DataFrame
        Only data formats are parsed: CSV, CSV.GZ, ZIP of CSVs, Parquet, GeoPackage, GeoJSON
        (and Shapefile in a ZIP for boundaries). Anything else (pickle, Excel, ...) is an
        :class:`~hotspots.InputError`; nothing is ever unpickled.
    kind : {"incidents", "referrals", "tasks", "boundary"}
    **options
        Passed to the chosen loader. Options that only the generic loader understands
        (``columns``, ``x``, ``y``, ...) given with police.uk files are an error.
        ``cache=True`` / ``cache_dir=`` (police.uk files) reuse earlier loads from the Parquet
        cache (:mod:`hotspots.io.cache`); other tables ignore them and load normally.

    Returns
    -------
    IncidentSet, ReferralSet, TaskSet, or GeoDataFrame (boundary)
    """
    if kind not in KINDS:
        raise ParameterError(f"`kind` must be one of {', '.join(KINDS)}; got {kind!r}.")
    if kind == "boundary":
        return load_boundary(paths, **options)
    if kind == "referrals":
        return load_referrals(paths, **options)
    if kind == "tasks":
        return load_tasks(paths, **options)
    if isinstance(paths, pd.DataFrame):
        return load_incidents(paths, **{k: v for k, v in options.items() if k not in ("cache", "cache_dir")})
    sources, skipped = resolve_sources(paths)
    sources, not_street = drop_other_police_files(sources)
    police, others = split_police(sources)
    if police and not others:
        extra = sorted(k for k, v in options.items() if k not in _POLICE_OPTIONS and v not in (None, False, (), [], {}, "auto"))
        if extra:
            raise ParameterError(
                f"option(s) {', '.join(shown(e) for e in extra)} do not apply to police.uk street-level files (their "
                "columns and coordinates, longitude/latitude, are fixed); drop them, or use `load_incidents` in Python to "
                "treat the files as generic tables."
            )
        opts = {k: v for k, v in options.items() if k in _POLICE_OPTIONS}
        return _with_skipped(load_police_uk(sources, **opts), skipped, "police.uk files", not_street)
    if police:
        raise InputError(
            f"a mix of police.uk street-level files ({len(police)}) and other tables ({', '.join(s.name for s in others[:3])}) "
            f"was given; {'; '.join(not_police_text(s) for s in others[:3])}. Resave the other tables with police.uk's column "
            "names, or load them on their own as tables and name their coordinate columns; in Python, name them with "
            "`x='...'`, `y='...'`."
        )
    options = {k: v for k, v in options.items() if k not in ("cache", "cache_dir")}  # cache: police.uk files only
    return _with_skipped(load_incidents(sources, **options), skipped, "data files", not_street)


def _with_skipped(loaded: Any, skipped: list[str], what: str, more: list[str] = ()) -> Any:
    """``loaded`` with the files the folders or archives held that were not read in its report (the
    loaders were given the sources already resolved here, so they did not see them), and ``more``
    warnings about files left out here."""
    notes, warnings = skipped_files(skipped, what)
    warnings = [*warnings, *more]
    if not notes and not warnings:
        return loaded
    report = loaded.report
    report = dataclasses.replace(report, notes=[*report.notes, *notes], warnings=[*report.warnings, *warnings])
    return dataclasses.replace(loaded, report=report)
