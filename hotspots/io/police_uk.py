"""Loader for data.police.uk street-level crime CSVs.

Layouts accepted: one file, a list of files, a folder of monthly files (searched recursively, so
the custom-download layout ``2025-01/2025-01-derbyshire-street.csv`` works), a ``.zip`` of that
layout, and gzip-compressed ``.csv.gz`` files. In folders and archives, ``-outcomes`` and
``-stop-and-search`` files are skipped (and listed in a note).

Facts about the data that the loader handles (see ``REFERENCE.md``):

* Anti-social behaviour rows have an empty ``Crime ID``. They get a stable derived id,
  ``asb-`` + 16 hex digits of SHA-1 over the row's fields and its occurrence index among
  identical rows in the same file. Identical ASB rows are normal (two reports at the same
  anonymised map point in the same month) and are **not** dropped; re-loading a file gives the
  same ids. Other rows without a Crime ID get ``pu-`` ids the same way.
* Some crimes are published more than once under the same Crime ID and crime type, at different
  locations (about 3 % of Derbyshire's non-ASB rows in 2025). Only the first row is kept; the rest
  are dropped as ``duplicate id`` and reported. A Crime ID given again with another month or crime
  type is another crime (Northern Ireland's files re-use ids): kept, with the id made distinct
  (``<id>#2``) and counted in a note.
* A month loaded twice is found per *file* (:mod:`hotspots.io.copies`): a file most of whose
  Crime IDs were read from a file of the same force and month, or with the same rows, is dropped
  whole, ASB rows included, as ``copy of <file> (same month loaded twice)``. Identical ASB rows in
  different files (a month split in two) are separate incidents and are kept.
* Some forces (not Derbyshire) publish rows with empty ``Longitude``/``Latitude``: dropped as
  ``no location`` and reported.
* A few rows lie far outside the force area (the anonymisation snaps to the nearest map point,
  and some crimes are recorded by one force in another's area). They are kept; give
  ``study_area`` to flag them (``in_study_area``) or drop them (``drop_outside=True``).
* ``Month`` is month-only (``2025-01``): ``month`` is the first of the month and ``occurred`` is
  NaT. Forms a spreadsheet leaves (``Jun-25``, ``01/06/2025``, US ``6/1/2025``, ...) are read by
  :func:`hotspots.io.months.parse_month_column`; a file named ``YYYY-MM-<force>-street.csv``
  settles ambiguous dates, and its rows dated another month while most agree with the name are
  dropped as ``month differs from file name``. A header line repeated inside the data is dropped as
  ``repeated header line``.
"""

from __future__ import annotations

from typing import Any

from .._errors import SchemaError
from ..schema import POLICE_UK_COLUMNS
from ._common import find_column, parse_months_arg, study_area_geometry
from ._incidents import INCIDENT_DTYPES, INCIDENT_OUTPUT, incident_part
from ._pipeline import PointColumns, finish_incidents, guard, run_tables
from ._read import Source, Table, resolve_sources
from ._types import IncidentSet

__all__ = [
    "load_police_uk", "POLICE_UK_REQUIRED", "POLICE_UK_OUTPUT", "is_police_uk_header", "other_police_file",
    "not_street_file_message",
]

#: Columns a police.uk street-level file must have (the others are optional).
POLICE_UK_REQUIRED = ("Crime ID", "Month", "Longitude", "Latitude", "Crime type")
#: Columns of :func:`load_police_uk`'s data: the incident columns plus ``lsoa_name`` (police.uk's
#: "LSOA name", e.g. "Leicester 012A": the local authority district and a code) and ``force``
#: (police.uk's "Falls within", else "Reported by": the force whose area the crime falls in).
POLICE_UK_OUTPUT = tuple(
    c for c0 in INCIDENT_OUTPUT if c0 != "weight" for c in ((c0, "lsoa_name", "force") if c0 == "location" else (c0,))
)


def is_police_uk_header(columns: Any) -> bool:
    """True when ``columns`` include every column of :data:`POLICE_UK_REQUIRED` (any case/spacing)."""
    cols = list(columns)
    return all(find_column(cols, [c]) is not None for c in POLICE_UK_REQUIRED)


def other_police_file(columns: Any) -> str | None:
    """``"outcomes"`` or ``"stop-and-search"`` when ``columns`` are the header of one of police.uk's
    other downloads (no ``Crime type``; ``Outcome type``, or ``Object of search``), else None."""
    cols = list(columns)
    if find_column(cols, ["Crime type"]) is not None:
        return None
    if find_column(cols, ["Outcome type"]) is not None:
        return "outcomes"
    if find_column(cols, ["Object of search"]) is not None or find_column(cols, ["Legislation"]) is not None:
        return "stop-and-search"
    return None


def not_street_file_message(name: str, kind: str) -> str:
    """Why a police.uk outcomes or stop-and-search file is not read as incidents, and the fix."""
    what = {
        "outcomes": "it has `Outcome type` and no `Crime type`: it lists what became of crimes, not the crimes' types",
        "stop-and-search": "it lists searches of people and vehicles, not crimes",
    }[kind]
    return (
        f"{name} is a police.uk {kind} file ({what}). Give the street-level file of the same download instead "
        "(named YYYY-MM-<force>-street.csv)."
    )


def _police_columns(table: Table) -> dict[str, str | None]:
    cols = list(table.frame.columns)
    if kind := other_police_file(cols):
        raise SchemaError(not_street_file_message(table.name, kind))
    found = {c: find_column(cols, [c]) for c in POLICE_UK_COLUMNS}
    missing = [c for c in POLICE_UK_REQUIRED if found[c] is None]
    if missing:
        raise SchemaError(
            f"{table.name} is not a police.uk street-level file: missing column(s) "
            f"{', '.join(f'`{m}`' for m in missing)} (found: {', '.join(f'`{c}`' for c in cols[:15])}). "
            "Add or rename the missing column(s) in the file (police.uk's names, e.g. `Latitude`), or download the "
            "'street' files from data.police.uk (outcomes and stop-and-search files are different); in Python, other "
            "tables load with `load_incidents` and a column mapping."
        )
    return found


@guard
def load_police_uk(
    paths: Any,
    *,
    categories: Any = None,
    months: Any = None,
    study_area: Any = None,
    drop_outside: bool = False,
    skip_bad_files: bool = True,
    swap_xy: bool = False,
    cache: bool | str = False,
    cache_dir: Any = None,
) -> IncidentSet:
    """Load data.police.uk street-level crime files as incidents in British National Grid.

    Parameters
    ----------
    paths : path, folder, .zip, Upload, file object, or a list of these
        The files to read (``.csv`` or ``.csv.gz``; folders are searched recursively).
    categories : str or list of str, optional
        Keep only these ``Crime type`` values (case- and punctuation-insensitive;
        ``"asb"`` means ``"Anti-social behaviour"``). Other rows are dropped as
        ``category not selected``. None keeps every category.
    months : tuple of ('YYYY-MM', 'YYYY-MM'), optional
        Inclusive month range; either end may be None. Other rows are dropped as
        ``month outside range``.
    study_area : shapely polygon, GeoDataFrame or boundary file path, optional
        Points outside are kept and flagged (``in_study_area`` False) with a warning, unless
        ``drop_outside``.
    drop_outside : bool
        Drop points outside ``study_area`` (reason ``outside study area``).
    skip_bad_files : bool
        When several files are read, a file that cannot be read at all (empty, not police.uk,
        damaged) is skipped with a warning and the rest load. A single file always raises.
    swap_xy : bool
        Read ``Longitude`` as the latitude and ``Latitude`` as the longitude (files saved with the
        two exchanged; the loader refuses them otherwise, naming this option).
    cache : bool or {"content", "stat", "refresh"}
        Reuse an earlier load of the same files with the same options from a Parquet cache
        (:mod:`hotspots.io.cache`): ``True``/``"content"`` identifies files by a hash of their
        bytes, ``"stat"`` by size and modification time, ``"refresh"`` rebuilds the entry.
        ``params["cache"]`` tells whether it was a hit. Default False (no cache).
    cache_dir : path, optional
        Cache folder (default ``$HOTSPOTS_CACHE_DIR`` or ``~/.cache/hotspots``).

    Returns
    -------
    IncidentSet
        ``data, report = load_police_uk(...)``. ``data`` has the incident columns (see
        :class:`IncidentSet`) with ``lsoa_code``, ``location`` (police.uk's "On or near ..."),
        ``lsoa_name`` (police.uk's "LSOA name") and ``force`` (its "Falls within", else "Reported
        by"; see :func:`hotspots.forces.detect_force`). Columns a file lacks are empty.

    Raises
    ------
    InputError
        Missing, empty or unreadable file; SchemaError for a file that is not police.uk.
    """
    month_range = parse_months_arg(months)
    area_geom, _ = study_area_geometry(study_area)
    sources, skipped = resolve_sources(paths, allowed=("csv", "zip"))

    def build() -> IncidentSet:
        return _load_police_sources(
            sources,
            skipped,
            categories=categories,
            months=month_range,
            study_area=area_geom,
            drop_outside=drop_outside,
            skip_bad_files=skip_bad_files,
            swap_xy=bool(swap_xy),
        )

    # --- load cache (hotspots.io.cache): additive hook, off by default ---
    if cache:
        from .cache import cached_load

        options = {
            "categories": categories,
            "months": month_range,
            "study_area": area_geom,
            "drop_outside": drop_outside,
            "skip_bad_files": skip_bad_files,
            **({"swap_xy": True} if swap_xy else {}),  # absent when False: earlier cache entries stay valid
        }
        return cached_load("police_uk", sources, skipped, options=options, build=build, mode=cache, cache_dir_arg=cache_dir)
    return build()


def _load_police_sources(
    sources: list[Source],
    skipped: list[str],
    *,
    categories: Any,
    months: Any,
    study_area: Any,
    drop_outside: bool,
    skip_bad_files: bool,
    swap_xy: bool = False,
) -> IncidentSet:
    def one(index: int, table: Table) -> tuple[Any, Any]:
        cols = _police_columns(table)
        return incident_part(
            index,
            table,
            where=PointColumns(
                cols["Longitude"], cols["Latitude"], crs=4326, swap_xy=swap_xy, crs_from="police.uk's Longitude and Latitude"
            ),
            date_col=cols["Month"],
            month_column=True,
            category_col=cols["Crime type"],
            id_col=cols["Crime ID"],
            id_prefix="pu-",
            police=True,
            lsoa_col=cols["LSOA code"],
            location_col=cols["Location"],
            extra_columns={"lsoa_name": cols["LSOA name"], "force": cols["Falls within"] or cols["Reported by"]},
            categories=categories,
            months=months,
        )

    run = run_tables(sources, one, skip_bad_files=skip_bad_files)
    data, report, params = finish_incidents(
        run,
        "police_uk",
        columns=POLICE_UK_OUTPUT,
        dtypes={**INCIDENT_DTYPES, "lsoa_name": "str", "force": "str"},
        notes=[],
        skipped=skipped,
        categories=categories,
        months=months,
        study_area=study_area,
        drop_outside=drop_outside,
        files_word="police.uk files",
        options={"swap_xy": True} if swap_xy else None,
        ids_may_be_reused=True,  # Northern Ireland's files give a Crime ID to a different crime each month
    )
    return IncidentSet(data, report, params)
