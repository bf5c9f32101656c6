"""Data for the app: the built-in demo and uploaded files, loaded and prepared into a
:class:`DataBundle` (with the same :func:`hotspots.pipeline.prepare_inputs` as the command line).

Every bundle has a content token (:attr:`DataBundle.token`): the demo's seed, or a hash of the
uploaded bytes, the load options and the owner (the app passes its session), so that results
cached by token are never served for other data or, for uploads, to another session.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np

from .._errors import HotspotsError, ParameterError
from ..periods import month_range
from ..pipeline import PreparedInputs, Settings, prepare_inputs
from ..report import LoadReport

__all__ = ["MAX_UPLOAD_BYTES", "DataBundle", "LoadOutcome", "demo_bundle", "content_token", "load_uploads",
           "failed_upload_text", "with_scheme_files"]

#: Largest uploaded file :func:`load_uploads` reads (bytes): 500 MB, the app's
#: ``server.maxUploadSize`` in ``.streamlit/config.toml`` (the app passes the configured value).
MAX_UPLOAD_BYTES = 500 * 1024 * 1024


# =============================================================================== data
@dataclass(frozen=True, eq=False)
class DataBundle:
    """The data the app analyses, and where it came from.

    Attributes
    ----------
    prepared : PreparedInputs
        The inputs after :func:`hotspots.pipeline.prepare_inputs` (the same preparation as the
        CLI's): incidents, study area, default settings and periods, notes.
    source : str
        ``"demo"`` or ``"files"``.
    label : str
        What to call the data on screen.
    token : str
        Identifies the content (demo seed, or a hash of the uploaded bytes and load options):
        the cache key of everything computed from it.
    reports : tuple of LoadOutcome
        How each input was loaded.
    notes : tuple of str
        About the data (e.g. that they are synthetic), then the preparation's choices.
    inputs : mapping or None
        The :func:`hotspots.pipeline.prepare_inputs` arguments other than ``referrals`` and ``tasks`` (the
        loaded incidents, boundary, choices), so that a referrals or tasks file added later is prepared with
        the same incidents (:func:`with_scheme_files`); None for the demo data (they have their own).
    """

    prepared: PreparedInputs
    source: str
    label: str
    token: str
    reports: tuple[LoadOutcome, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: Mapping[str, Any] | None = None

    @property
    def incidents(self) -> gpd.GeoDataFrame:
        return self.prepared.incidents

    @property
    def referrals(self) -> gpd.GeoDataFrame | None:
        return self.prepared.referrals

    @property
    def tasks(self) -> gpd.GeoDataFrame | None:
        return self.prepared.tasks

    @property
    def study_area(self) -> gpd.GeoDataFrame | None:
        return self.prepared.study_area

    @property
    def defaults(self) -> Settings:
        """The default settings for these data (periods chosen from the data's months)."""
        return self.prepared.settings

    def outcome_caveat(self, threshold: int | None = None) -> str:
        """:func:`hotspots.io.unrecognised_outcomes_text` of the referral file loaded (``""`` without one)."""
        from ..io import unrecognised_outcomes_text

        report = next((o.report for o in self.reports if o.kind == "referrals" and o.report is not None), None)
        return unrecognised_outcomes_text(report, threshold=threshold) if report is not None else ""

    @property
    def shared(self) -> bool:
        """True for data anyone could have (the built-in demo): results may be cached globally."""
        return self.source == "demo"


@dataclass(frozen=True)
class LoadOutcome:
    """One input as the data panel shows it: the report, or the error message.

    Attributes
    ----------
    kind : str
        ``"incidents"``, ``"referrals"``, ``"tasks"`` or ``"boundary"``.
    files : tuple of str
        File names (shown escaped).
    report : LoadReport or None
        None when loading failed (then ``error`` says why) or for a boundary.
    error : str or None
        The typed error's message.
    rows : int
        Rows (features for a boundary) kept.
    """

    kind: str
    files: tuple[str, ...]
    report: LoadReport | None = None
    error: str | None = None
    rows: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


def _within_upload_limits(load: Callable[..., Any]) -> Callable[..., Any]:
    """``load`` run within :data:`hotspots.io.UPLOAD_LIMITS` (rows, unpacked bytes, memory, time of one upload)."""

    @functools.wraps(load)
    def limited(*args: Any, **kwargs: Any) -> Any:
        from ..io import load_limits

        with load_limits("upload"):
            return load(*args, **kwargs)

    return limited


def demo_bundle(seed: int = 0, *, settings: Settings | None = None) -> DataBundle:
    """The built-in synthetic demo data (deterministic for a seed), prepared as the CLI's ``--demo``."""
    from ..demo import generate_demo

    d = generate_demo(seed)
    prepared = prepare_inputs(d.incidents, settings=settings, referrals=d.referrals, tasks=d.tasks)
    n_inc, n_ref, n_task = len(d.incidents), len(d.referrals), len(d.tasks)
    reports = (
        LoadOutcome("incidents", ("demo data",), LoadReport("demo incidents", n_inc, n_inc), rows=n_inc),
        LoadOutcome("referrals", ("demo data",), LoadReport("demo referrals", n_ref, n_ref), rows=n_ref),
        LoadOutcome("tasks", ("demo data",), LoadReport("demo task sites", n_task, n_task), rows=n_task),
    )
    return DataBundle(
        prepared=prepared,
        source="demo",
        label=f"Synthetic demo data (seed {seed})",
        token=f"demo-{seed}",
        reports=reports,
        notes=("The demo data are synthetic, modelled on Derbyshire's immediate justice scheme (start 1 July 2023).",)
        + prepared.notes,
    )


def content_token(parts: Iterable[tuple[str, str, bytes]], options: Mapping[str, Any] | None = None) -> str:
    """A SHA-256 over (kind, file name, bytes) of every input and the load options.

    Two uploads with the same content and options get the same token; anything else differs.
    """
    h = hashlib.sha256()
    for kind, name, data in parts:
        for piece in (kind.encode(), name.encode("utf-8", "replace"), len(data).to_bytes(8, "big"), data):
            h.update(len(piece).to_bytes(8, "big"))
            h.update(piece)
    h.update(json.dumps(dict(options or {}), sort_keys=True, default=str).encode())
    return "files-" + h.hexdigest()


def _clean_mapping(mapping: Mapping[str, str] | None) -> dict[str, str] | None:
    if not mapping:
        return None
    out = {str(k): str(v).strip() for k, v in mapping.items() if v is not None and str(v).strip()}
    return out or None


def _too_big(name: str, size: int, limit: int) -> str:
    mb = 1024 * 1024
    return (
        f"{name} is {size / mb:,.1f} MB, more than the upload limit of {limit / mb:,.0f} MB; it was not read. "
        "Split it into smaller files (e.g. a year or a month each) or compress it (.zip or .csv.gz); the limit is "
        "the app's `server.maxUploadSize` setting."
    )


def failed_upload_text(outcomes: Iterable[LoadOutcome], shown: str) -> str | None:
    """What the top of the page says when the files just uploaded were not loaded (the data on
    screen are still the earlier ones, ``shown``); None when every file loaded.

    A failed upload used to be said only at the foot of the Data tab, while the title, cards and
    map still showed the demo: a user could take them for their own data.
    """
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return None
    first = failed[0]
    reason = str(first.error).rstrip(".")  # whole: the columns found and expected, and the fix (not its first sentence)
    more = f" (and {len(failed) - 1} more file group{'s' if len(failed) > 2 else ''})" if len(failed) > 1 else ""
    return (
        f"Your {first.kind} file{'s' if len(first.files) > 1 else ''} ({', '.join(first.files)}) could not be loaded{more}: "
        f"{reason}. The page still shows the earlier data ({shown}); each file's load report is in the Data tab, under "
        "\"Load reports\" below the upload boxes."
    )


def _message(exc: BaseException) -> str:
    if isinstance(exc, HotspotsError):
        return str(exc)
    return f"unexpected problem ({type(exc).__name__}): {exc}. The file could not be read; check its format."


@_within_upload_limits
def load_uploads(
    *,
    incidents: Sequence[Any] = (),
    referrals: Sequence[Any] = (),
    tasks: Sequence[Any] = (),
    boundary: Any = None,
    incident_columns: Mapping[str, str] | None = None,
    incident_crs: Any = "auto",
    police_categories: Any = None,
    categories: Any = None,
    keep_holes: bool = False,
    drop_identifying: bool = False,
    settings: Settings | None = None,
    owner: str | None = None,
    max_bytes: int | None = MAX_UPLOAD_BYTES,
    current: DataBundle | None = None,
) -> tuple[DataBundle | None, tuple[LoadOutcome, ...]]:
    """Load uploaded files (``hotspots.io.Upload`` or file objects with ``name``) into a bundle.

    Parameters
    ----------
    incidents : sequence of uploads
        police.uk street-level CSVs (or a zip of them), or generic tables.
    referrals, tasks : sequence of uploads
    boundary : upload, optional
        The study area (GeoJSON, GeoPackage, zipped Shapefile).
    incident_columns : mapping, optional
        ``{canonical name: your column}`` for generic incident tables (``x``, ``y``,
        ``occurred``, ``month``, ``category``, ``incident_id``); an error with police.uk files
        (their columns are fixed).
    incident_crs : "auto" or EPSG code
        CRS of generic tables' coordinates ("auto" for police.uk files).
    police_categories : str or list, optional
        Keep only these categories while loading (police.uk crime types such as
        ``"Anti-social behaviour"``, or a generic table's category column); the load report
        counts the others as dropped. The app leaves this to ``categories``.
    categories : None, "all" or list of str
        Which categories to analyse, after loading (:func:`hotspots.pipeline.choose_category`:
        None = anti-social behaviour when the data mix it with others).
    keep_holes : bool
        Keep the holes of the uploaded boundary (:func:`hotspots.pipeline.choose_study_area`;
        by default the holes the data cover are filled, as on the command line).
    drop_identifying : bool
        Drop the referral files' columns that look like personal identifiers on load instead of
        refusing the files (the app's :data:`hotspots.io.referrals.DROP_IDENTIFYING_CONTROL`:
        ``allow_identifying=True`` of :func:`hotspots.io.load_referrals`); the load report names them.
    settings : Settings, optional
        Settings whose default periods are filled in from the data.
    owner : str, optional
        Who loaded the files (the app passes its session id): part of the bundle's token, so that
        results cached by token are never served to another session.
    max_bytes : int or None
        Largest file read, bytes (default :data:`MAX_UPLOAD_BYTES`; None: no limit). A larger
        file is refused with a message (its outcome's ``error``) and the other files load.
        Everything is loaded within :data:`hotspots.io.UPLOAD_LIMITS` (rows, unpacked bytes,
        memory, time; :func:`hotspots.io.load_limits`).
    current : DataBundle, optional
        The data in use (the app passes its bundle). With referrals or tasks files but no incident file, they
        are added to these data at once (:func:`with_scheme_files`), when the data can take them (uploaded
        files or a force's folder; not the demo data, whose scheme data are synthetic).

    Returns
    -------
    bundle : DataBundle or None
        None when no incident file loaded and no referrals or tasks file could be added to ``current`` (the
        app then keeps its current data).
    outcomes : tuple of LoadOutcome
        One per input kind given, in the order incidents, referrals, tasks, boundary. Errors are
        caught and reported as messages; nothing raises for bad files.
    """
    from ..io import load_any, load_boundary

    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 1):
        raise ParameterError(f"`max_bytes` must be a whole number of bytes >= 1, or None; got {max_bytes!r}.")
    outcomes: list[LoadOutcome] = []
    parts: list[tuple[str, str, bytes]] = []

    def read(kind: str, items: Sequence[Any]) -> list[Any]:
        from ..io import Upload

        out = []
        for it in items:
            if it is None:
                continue
            name = str(it.name if isinstance(it, Upload) else getattr(it, "name", "upload"))
            size = len(it.data) if isinstance(it, Upload) else getattr(it, "size", None)
            if max_bytes is not None and isinstance(size, (int, np.integer)) and size > max_bytes:
                outcomes.append(LoadOutcome(kind, (name,), error=_too_big(name, int(size), max_bytes)))
                continue
            try:
                data = it.data if isinstance(it, Upload) else (it.getvalue() if hasattr(it, "getvalue") else it.read())
                data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            except Exception as exc:  # noqa: BLE001 - an unreadable upload is a message, never a traceback
                outcomes.append(LoadOutcome(kind, (name,), error=f"{name} could not be read ({type(exc).__name__}: {exc})."))
                continue
            if max_bytes is not None and len(data) > max_bytes:
                outcomes.append(LoadOutcome(kind, (name,), error=_too_big(name, len(data), max_bytes)))
                continue
            parts.append((kind, name, data))
            out.append(Upload(name, data))
        return out

    inc_files = read("incidents", incidents)
    ref_files = read("referrals", referrals)
    task_files = read("tasks", tasks)
    bnd_files = read("boundary", [boundary] if boundary is not None else [])
    mapping = _clean_mapping(incident_columns)
    options = {
        "columns": mapping,
        "crs": incident_crs,
        "categories": police_categories,
        "choose": categories,
        "keep_holes": keep_holes,
        "drop_identifying": bool(drop_identifying),
        "owner": owner,
    }

    area = None
    if bnd_files:
        names = tuple(f.name for f in bnd_files)
        try:
            area = load_boundary(bnd_files[0])
            notes = list(area.attrs.get("notes", []))
            rep = LoadReport(names[0], len(area), len(area), notes=notes)
            outcomes.append(LoadOutcome("boundary", names, rep, rows=len(area)))
        except Exception as exc:  # every failure becomes a message box, never a traceback
            outcomes.append(LoadOutcome("boundary", names, error=_message(exc)))

    inc = None
    if inc_files:
        names = tuple(f.name for f in inc_files)
        try:
            kwargs: dict[str, Any] = {"crs": incident_crs}
            if mapping:
                kwargs["columns"] = mapping
            if police_categories is not None:
                kwargs["categories"] = police_categories
            result = load_any(inc_files if len(inc_files) > 1 else inc_files[0], "incidents", **kwargs)
            if len(result.data) == 0:
                outcomes.insert(
                    0,
                    LoadOutcome(
                        "incidents",
                        names,
                        result.report,
                        rows=0,
                        error="no incidents were kept (see the load report's reasons); the app keeps the current data.",
                    ),
                )
            else:
                month_range(result.data)  # the app needs dates to choose periods: refuse files without any
                inc = result.data
                outcomes.insert(0, LoadOutcome("incidents", names, result.report, rows=len(inc)))
        except Exception as exc:
            inc = None
            outcomes.insert(0, LoadOutcome("incidents", names, error=_message(exc)))

    def load_simple(kind: str, files: list[Any], **kwargs: Any) -> gpd.GeoDataFrame | None:
        if not files:
            return None
        names = tuple(f.name for f in files)
        try:
            result = load_any(files if len(files) > 1 else files[0], kind, **kwargs)
            outcomes.append(LoadOutcome(kind, names, result.report, rows=len(result.data)))
            return result.data if len(result.data) else None
        except Exception as exc:
            outcomes.append(LoadOutcome(kind, names, error=_message(exc)))
            return None

    refs = load_simple("referrals", ref_files, **({"allow_identifying": True} if drop_identifying else {}))
    tks = load_simple("tasks", task_files)
    order = {"incidents": 0, "referrals": 1, "tasks": 2, "boundary": 3}
    outcomes.sort(key=lambda o: order[o.kind])
    if inc is None:
        if not inc_files and current is not None and current.inputs is not None and (refs is not None or tks is not None):
            return _attach(current, refs, tks, tuple(outcomes), parts, options)
        return None, tuple(outcomes)
    try:
        inc_report = next((o.report for o in outcomes if o.kind == "incidents" and o.report is not None), None)
        inputs = {"incidents": inc, "settings": settings, "boundary": area, "keep_holes": keep_holes, "categories": categories,
                  "report": inc_report}
        prepared = prepare_inputs(**inputs, referrals=refs, tasks=tks)
    except HotspotsError as exc:
        # the incidents loaded but cannot be analysed (e.g. a boundary holding none of them): their
        # outcome carries the error, with its load report, not beside an "ok" one
        k = next(i for i, o in enumerate(outcomes) if o.kind == "incidents")
        outcomes[k] = replace(outcomes[k], error=_message(exc), rows=0)
        return None, tuple(outcomes)
    label = ", ".join(inc_files[i].name for i in range(min(2, len(inc_files)))) + (
        f" and {len(inc_files) - 2} more" if len(inc_files) > 2 else ""
    )
    bundle = DataBundle(
        prepared=prepared,
        source="files",
        label=f"Your files: {label}",
        token=content_token(parts, options),
        reports=tuple(outcomes),
        notes=prepared.notes,
        inputs=inputs,
    )
    return bundle, tuple(outcomes)


def _attach(current: DataBundle, refs: gpd.GeoDataFrame | None, tks: gpd.GeoDataFrame | None,
            outcomes: tuple[LoadOutcome, ...], parts: list[tuple[str, str, bytes]],
            options: Mapping[str, Any]) -> tuple[DataBundle | None, tuple[LoadOutcome, ...]]:
    """load_uploads' referrals/tasks added to ``current``: the prepared bundle, or None with the error on their outcome."""
    try:
        bundle = with_scheme_files(current, referrals=refs, tasks=tks, outcomes=outcomes,
                                   token=content_token(parts, {**options, "added_to": current.token}))
    except HotspotsError as exc:
        out = tuple(replace(o, error=_message(exc), rows=0) if o.kind in ("referrals", "tasks") and o.ok else o for o in outcomes)
        return None, out
    return bundle, outcomes


def with_scheme_files(current: DataBundle, *, referrals: gpd.GeoDataFrame | None = None, tasks: gpd.GeoDataFrame | None = None,
                      outcomes: Sequence[LoadOutcome] = (), token: str | None = None) -> DataBundle:
    """``current`` with a referrals and/or tasks table added (each replaces the one in use; the other is kept), prepared
    again with the same incidents and choices (the scheme start and the default periods may follow the referrals).

    Parameters
    ----------
    current : DataBundle
        Data with :attr:`DataBundle.inputs` (uploaded files or a force's folder).
    referrals, tasks : GeoDataFrame, optional
        Loaded scheme tables (:func:`hotspots.io.load_any`); None keeps the current one.
    outcomes : sequence of LoadOutcome
        Their load outcomes: they replace the current bundle's outcomes of the same kind.
    token : str, optional
        The new bundle's token (default: derived from the current token and the tables' content).

    Returns
    -------
    DataBundle
        ``source="files"`` (the data now hold the user's own files: never cached for other sessions).

    Raises
    ------
    ParameterError
        ``current`` cannot take scheme files (the demo data: no :attr:`DataBundle.inputs`).
    """
    if current.inputs is None:
        raise ParameterError(
            "the data in use cannot take your referrals or tasks file (the demo data have their own synthetic scheme data); "
            "load an incidents file with it, or pick a force's data first.")
    refs = current.referrals if referrals is None else referrals
    tks = current.tasks if tasks is None else tasks
    prepared = prepare_inputs(**current.inputs, referrals=refs, tasks=tks)
    kinds = {o.kind for o in outcomes}
    order = {"incidents": 0, "referrals": 1, "tasks": 2, "boundary": 3}
    reports = tuple(sorted([o for o in current.reports if o.kind not in kinds] + list(outcomes), key=lambda o: order[o.kind]))
    if token is None:
        h = hashlib.sha256(current.token.encode())
        for t in (referrals, tasks):
            h.update(b"-" if t is None else _table_hash(t))
        token = "files-" + h.hexdigest()
    added = [k for k, t in (("referrals", referrals), ("tasks", tasks)) if t is not None]
    names = ", ".join(f for o in outcomes if o.kind in added for f in o.files) or " and ".join(added)
    label = current.label.split(" + your ")[0] + f" + your {' and '.join(added)} ({names})"
    return DataBundle(prepared=prepared, source="files", label=label, token=token, reports=reports, notes=prepared.notes,
                      inputs=current.inputs)


def _table_hash(table: gpd.GeoDataFrame) -> bytes:
    """A content hash of a table (its values and geometry), for :func:`with_scheme_files`' default token."""
    import pandas as pd

    frame = table.drop(columns=table.geometry.name) if isinstance(table, gpd.GeoDataFrame) else table
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    if isinstance(table, gpd.GeoDataFrame):
        h.update(b"".join(g.wkb if g is not None else b"" for g in table.geometry))
    return h.digest()
