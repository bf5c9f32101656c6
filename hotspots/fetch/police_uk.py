"""Download street-level crimes for one force from the data.police.uk API, month by month.

:func:`fetch_police_uk` writes one CSV per month named as police.uk names them
(``OUT/2024-01-derbyshire-street.csv``, with the 12-column street-level header; ``OUT`` is
``data/police_uk/derbyshire`` by default), so the result loads with
:func:`hotspots.io.load_police_uk` like any download.

How the API is used (https://data.police.uk/docs/)
--------------------------------------------------
* ``/forces/{force}``: the force's name (``"Derbyshire Constabulary"``), written to
  ``Reported by`` and ``Falls within``.
* ``/crimes-street-dates``: the months published. Months asked for but not listed (and months
  the API answers with 404) are reported as *not published* and skipped; not an error.
* The force area: the union of its neighbourhood boundaries (``/{force}/neighbourhoods``, then
  ``/{force}/{neighbourhood}/boundary``), grown by about 100 m and simplified so that requests
  stay small; or a boundary you pass (``boundary=``).
* ``/crimes-street/{category}`` with ``poly`` and ``date``, sent as POST (long polygons do not
  fit in a URL). The API answers 503 when an area holds more than 10,000 crimes: the area is
  then split into four along its bounding box (recursively) and the split is remembered for
  the next months and runs. A 503 *with* ``Retry-After`` is treated as overload and retried.
  Crimes on a shared tile edge come back twice and are de-duplicated by the API's ``id``.
* ``/crimes-no-location`` (``include_no_location=True``): crimes the force could not map; they
  are written with empty coordinates, as in police.uk's files (the loader drops them as
  ``no location`` and reports them).

Differences from police.uk's downloaded files (documented, not hidden)
----------------------------------------------------------------------
* ``LSOA code`` and ``LSOA name`` are empty: the API does not give them.
* An area query returns the crimes *located* in the area, whoever recorded them, while a
  force's download holds the crimes the force *recorded*, wherever they lie. Near the force
  boundary (and for the ~100 m margin added to the area) the two differ slightly; a force's
  own crimes far outside its area (a handful a month) are missed.
* ``Crime type`` is the API's category mapped to the download's labels
  (``anti-social-behaviour`` -> ``Anti-social behaviour``, ``violent-crime`` -> ``Violence and
  sexual offences``, ...; :data:`CATEGORY_LABELS`).

The alternative source, police.uk's archive downloads (``data.police.uk/data/archive/YYYY-MM.zip``:
every force, 36 months, well over a gigabyte each), is not fetched by hotspots: when the exact
force files (with LSOA codes) are needed, download one archive by hand, unzip it, and point
:func:`hotspots.io.load_police_uk` at the force's ``-street.csv`` files (the whole archive is
larger than the loader's 4 GiB limit for one ZIP).

Robustness
----------
Requests are rate limited (default 4 per second; the API allows 15 with bursts of 30) and
retried with exponential backoff on 429, 5xx, timeouts, dropped connections, truncated bodies
and invalid JSON, honouring ``Retry-After``. Each month is written to a ``.part`` file and
renamed into place when complete; progress is kept in ``OUT/.hotspots-fetch.json`` (written the
same way), so an interrupted or partly failed run resumes: months already complete are skipped,
failed ones are tried again. A month that still fails after the retries is reported and the
next month is fetched.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from .. import validation
from .._errors import ParameterError
from ..schema import POLICE_UK_COLUMNS
from ._http import FetchError, JsonClient, NotFound, RetryPolicy, TooManyResults

__all__ = [
    "API_BASE",
    "CATEGORY_LABELS",
    "STATE_FILE",
    "MonthResult",
    "FetchSummary",
    "fetch_police_uk",
    "neighbourhood_area",
    "crime_to_row",
    "month_range",
    "police_month_path",
]

#: The public API.
API_BASE = "https://data.police.uk/api"
#: Progress/manifest file kept in the output folder.
STATE_FILE = ".hotspots-fetch.json"
STATE_VERSION = 1

#: API category slug -> ``Crime type`` label of police.uk's CSV downloads.
CATEGORY_LABELS: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}
#: Categories accepted by ``category=`` (``all-crime`` = every category).
CATEGORIES = ("all-crime", *CATEGORY_LABELS)

_FORCE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: Deepest recursive split of an area into quarters (4**8 = 65,536 tiles).
MAX_SPLIT_DEPTH = 8
#: Margin added to the union of neighbourhood boundaries before simplifying, degrees (~100 m).
AREA_MARGIN_DEG = 0.0015
AREA_SIMPLIFY_DEG = 0.0005


# --------------------------------------------------------------------------- small helpers
def month_range(start: str, end: str) -> list[str]:
    """Months ``start`` .. ``end`` inclusive as ``"YYYY-MM"`` strings."""

    def parse(v: str, arg: str) -> tuple[int, int]:
        y, m = validation.month(v, arg).split("-")
        return int(y), int(m)

    y0, m0 = parse(start, "start")
    y1, m1 = parse(end, "end")
    if (y1, m1) < (y0, m0):
        raise ParameterError(
            f"{validation.shown('end')} ({end}) is before {validation.shown('start')} ({start}); give the earlier month first."
        )
    out = []
    y, m = y0, m0
    while (y, m) <= (y1, m1):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def police_month_path(out: Path, month: str, force: str) -> Path:
    """``out/2024-01-derbyshire-street.csv``: police.uk's file name, one folder per force
    (``data/police_uk/derbyshire/`` by default; :mod:`hotspots.datadir`)."""
    return Path(out) / f"{month}-{force}-street.csv"


def category_label(slug: str) -> str:
    """The CSV ``Crime type`` label for an API category slug (unknown slugs: capitalised words)."""
    if slug in CATEGORY_LABELS:
        return CATEGORY_LABELS[slug]
    return str(slug).replace("-", " ").capitalize()


def crime_to_row(crime: dict[str, Any], *, month: str, force_name: str) -> list[str]:
    """One API crime as a row of police.uk's street-level CSV (:data:`~hotspots.schema.POLICE_UK_COLUMNS`).

    ``Crime ID`` = ``persistent_id`` (empty for anti-social behaviour, as in the downloads),
    ``Longitude``/``Latitude``/``Location`` from ``location`` (empty when there is none),
    ``LSOA code``/``LSOA name`` empty (not in the API), ``Crime type`` = the category's label,
    ``Last outcome category`` = ``outcome_status.category``, ``Context`` = ``context``.
    """
    loc = crime.get("location") or {}
    street = loc.get("street") or {}
    outcome = crime.get("outcome_status") or {}
    return [
        str(crime.get("persistent_id") or ""),
        str(crime.get("month") or month),
        force_name,
        force_name,
        str(loc.get("longitude") or ""),
        str(loc.get("latitude") or ""),
        str(street.get("name") or ""),
        "",
        "",
        category_label(str(crime.get("category") or "")),
        str(outcome.get("category") or ""),
        str(crime.get("context") or ""),
    ]


def _poly_param(poly: Polygon) -> str:
    """``lat,lng:lat,lng:...`` of a polygon's outer ring (holes are not supported by the API)."""
    coords = list(poly.exterior.coords)[:-1]
    return ":".join(f"{lat:.6f},{lng:.6f}" for lng, lat in coords)


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom] if geom.area > 1e-12 else []
    out: list[Polygon] = []
    for g in getattr(geom, "geoms", []):
        out += _polygons(g)
    return out


def split_tile(poly: Polygon) -> list[Polygon]:
    """Split a polygon into the (up to four) parts lying in each quarter of its bounding box."""
    x0, y0, x1, y1 = poly.bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    parts: list[Polygon] = []
    for bx in (
        shapely.box(x0, y0, xm, ym),
        shapely.box(xm, y0, x1, ym),
        shapely.box(x0, ym, xm, y1),
        shapely.box(xm, ym, x1, y1),
    ):
        parts += _polygons(poly.intersection(bx))
    return parts


def _area_from_boundary(boundary: Any) -> BaseGeometry:
    import geopandas as gpd

    from ..io.boundary import boundary_geoseries

    no_crs = ParameterError("`boundary` has no CRS; set it (e.g. `.set_crs(4326)`) before fetching.")
    boundary = boundary_geoseries(boundary, no_crs)
    if isinstance(boundary, gpd.GeoSeries):
        geom = shapely.union_all(boundary.to_crs(4326).values)
    elif isinstance(boundary, BaseGeometry):
        geom = boundary
        x0, y0, x1, y1 = geom.bounds
        if not (-10 <= x0 <= x1 <= 3 and 49 <= y0 <= y1 <= 61):
            raise ParameterError(
                "`boundary` as a shapely geometry must be in longitude/latitude (WGS84) within the UK; "
                f"its bounds are {geom.bounds}. Pass a GeoDataFrame with its CRS instead."
            )
    else:
        raise ParameterError(
            f"`boundary` must be a file, GeoDataFrame, GeoSeries or shapely polygon; got {type(boundary).__name__}."
        )
    if not _polygons(geom):
        raise ParameterError("`boundary` holds no polygon.")
    return geom


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class MonthResult:
    """What happened to one month.

    Attributes
    ----------
    month : str
        ``"YYYY-MM"``.
    status : {"fetched", "already done", "not published", "failed"}
    rows : int
        Rows in the month's file (fetched or already done), else 0.
    file : str or None
        The file, relative to the output folder.
    error : str or None
        Why the month failed (or was not published).
    requests : int
        HTTP requests made for the month (retries included).
    """

    month: str
    status: str
    rows: int = 0
    file: str | None = None
    error: str | None = None
    requests: int = 0


def _months_with(status: str) -> property:
    """A read-only list of the months (``YYYY-MM``) of a :class:`FetchSummary` whose status is ``status``."""
    return property(lambda self: [m.month for m in self.months if m.status == status], doc=f"Months {status} (YYYY-MM).")


@dataclass(frozen=True)
class FetchSummary:
    """Outcome of :func:`fetch_police_uk`.

    Attributes
    ----------
    force, category : str
    out : Path
        Output folder (load it with ``hotspots.io.load_police_uk(out)``).
    months : tuple of MonthResult
        One per month asked for, in order.
    requests : int
        HTTP requests made in this run (retries included).
    retries : dict of str to int
        Retries by reason (``"HTTP 429"``, ``"truncated body"``, ``"invalid JSON"``, ...).
    tiles : int
        Pieces the force area was queried in.
    params : dict
        The arguments of the run.
    notes : tuple of str
    fetched, already_done, not_published, failed : list of str
        The months (``YYYY-MM``) with that status (read-only properties).
    """

    force: str
    category: str
    out: Path
    months: tuple[MonthResult, ...]
    requests: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    tiles: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    fetched = _months_with("fetched")
    already_done = _months_with("already done")
    not_published = _months_with("not published")
    failed = _months_with("failed")

    @property
    def rows(self) -> int:
        """Rows in the months fetched now or earlier (the files on disk)."""
        return sum(m.rows for m in self.months)

    @property
    def ok(self) -> bool:
        """True when no month failed (months not published are not failures)."""
        return not self.failed

    def summary(self) -> str:
        def rng(ms: list[str]) -> str:
            if not ms:
                return ""
            return f" ({ms[0]}{'..' + ms[-1] if len(ms) > 1 else ''})"

        parts = [
            f"{len(self.fetched)} fetched{rng(self.fetched)}",
            f"{len(self.already_done)} already done{rng(self.already_done)}",
            f"{len(self.not_published)} not published{rng(self.not_published)}",
            f"{len(self.failed)} failed{rng(self.failed)}",
        ]
        retried = sum(self.retries.values())
        text = (
            f"police.uk {self.force} ({self.category}), {len(self.months)} month(s): "
            + ", ".join(parts)
            + f"; {self.rows:,} rows on disk in {self.out}; {self.requests:,} requests"
        )
        if retried:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.retries.items())) + " retried)"
        return text

    def __str__(self) -> str:
        lines = [self.summary()]
        for m in self.months:
            if m.status == "failed":
                lines.append(f"  failed {m.month}: {m.error} (run again to retry)")
            elif m.status == "not published":
                lines.append(f"  not published {m.month}: {m.error}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- state file
def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_state(out: Path) -> dict[str, Any] | None:
    p = out / STATE_FILE
    if not p.exists():
        return None
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # damaged: start afresh (completed files are re-fetched, never trusted blindly)
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return None
    return state


def _save_state(out: Path, state: dict[str, Any]) -> None:
    state["updated"] = datetime.now(UTC).isoformat(timespec="seconds")
    _atomic_write(out / STATE_FILE, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))


def _write_month(path: Path, rows: Sequence[list[str]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(POLICE_UK_COLUMNS)
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    _atomic_write(path, data)
    return len(data)


# --------------------------------------------------------------------------- the fetcher
def api_client(
    base_url: str,
    *,
    rate: float,
    burst: int,
    timeout: float,
    retries: int,
    backoff: float,
    max_backoff: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    log: Callable[[str], None] | None,
) -> JsonClient:
    """A rate-limited, retrying client of the police.uk API, its arguments checked (no request is made).

    Raises
    ------
    ParameterError
        ``base_url`` is not an http(s) URL; ``rate``, ``timeout``, ``backoff`` or ``max_backoff``
        is not a positive number (requests per second, seconds); ``retries`` is not a whole number >= 0.
    """
    if not re.match(r"^https?://[^/\s]+", str(base_url)):
        raise ParameterError(validation.problem("base_url", f"an http(s) URL such as {API_BASE!r}", base_url))
    for name, v in (("rate", rate), ("timeout", timeout), ("backoff", backoff), ("max_backoff", max_backoff)):
        validation.positive(v, name)
    validation.whole(retries, "retries", low=0)
    return JsonClient(
        base_url,
        rate=rate,
        burst=burst,
        timeout=timeout,
        policy=RetryPolicy(retries=retries, backoff=backoff, max_backoff=max_backoff),
        sleep=sleep,
        clock=clock,
        log=log or (lambda _m: None),
    )


def fetch_police_uk(
    force: str,
    start: str,
    end: str,
    out: str | os.PathLike[str] | None = None,
    *,
    category: str = "all-crime",
    base_url: str = API_BASE,
    boundary: Any = None,
    include_no_location: bool = True,
    refresh: bool = False,
    rate: float = 4.0,
    burst: int = 4,
    retries: int = 5,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    timeout: float = 60.0,
    progress: Callable[[MonthResult], None] | None = None,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> FetchSummary:
    """Download street-level crimes of ``force`` for months ``start`` .. ``end`` into ``out``.

    See the module documentation for how the API is used, what differs from police.uk's own
    files, and how failures are handled.

    Parameters
    ----------
    force : str
        police.uk force id, e.g. ``"derbyshire"`` (list: https://data.police.uk/api/forces).
    start, end : str
        First and last month, ``"YYYY-MM"``, inclusive.
    out : path, optional
        Output folder; created if needed. Files: ``out/YYYY-MM-{force}-street.csv`` and the
        progress file :data:`STATE_FILE`. Default ``data/police_uk/{force}``
        (:func:`hotspots.datadir.police_uk_dir`).
    category : str
        ``"all-crime"`` (default) or one API category slug, e.g. ``"anti-social-behaviour"``.
    base_url : str
        API root (a local test server in tests).
    boundary : path, GeoDataFrame, GeoSeries or shapely polygon (WGS84), optional
        The force area. Default: the union of the force's neighbourhood boundaries from the API.
        Read before any request is made, so a missing or unreadable file fails at once.
    include_no_location : bool
        Also fetch crimes without a location (written with empty coordinates).
    refresh : bool
        Fetch every month again, even those already complete.
    rate, burst : float, int
        Requests per second and burst size (police.uk allows 15/s with bursts of 30).
    retries, backoff, max_backoff, timeout : int, float, float, float
        Retries per request after the first attempt; first backoff wait (s, doubling); longest
        wait (s); seconds to wait for an answer.
    progress : callable, optional
        Called with each month's :class:`MonthResult` as soon as it is settled.
    log : callable, optional
        Called with one line per retry or notable event.
    sleep, clock : callables
        Injected for tests.

    Returns
    -------
    FetchSummary

    Raises
    ------
    ParameterError
        Bad arguments, an unknown force, or an output folder holding another force's or
        category's download (use another folder, or ``refresh=True``).
    FetchError
        The force details could not be fetched at all (network down): nothing was written.
    """
    force = str(force).strip().lower()
    if not _FORCE_RE.match(force):
        raise ParameterError(validation.problem("force", "a police.uk force id such as 'derbyshire' or 'west-yorkshire'", force))
    if category not in CATEGORIES:
        raise ParameterError(validation.problem("category", f"'all-crime' or one of: {', '.join(CATEGORY_LABELS)}", category))
    months = month_range(start, end)
    client = api_client(base_url, rate=rate, burst=burst, timeout=timeout, retries=retries, backoff=backoff,
                        max_backoff=max_backoff, sleep=sleep, clock=clock, log=log)
    # Local files before any network call: a missing boundary file is an error now, not after
    # the retries of the first request.
    area_given = _area_from_boundary(boundary) if boundary is not None else None
    notes: list[str] = []
    if rate > 15:
        notes.append(f"rate {rate:g}/s is above police.uk's limit of 15 requests per second; expect HTTP 429 and retries")
    if out is None:
        from ..datadir import police_uk_dir

        out = police_uk_dir(force)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    emit = log or (lambda _m: None)

    state = _load_state(out_dir)
    if state is not None and not refresh:
        same = (
            state.get("force") == force
            and state.get("category") == category
            and state.get("include_no_location") == include_no_location
        )
        if not same:
            raise ParameterError(
                f"{out_dir} already holds a police.uk download of {state.get('force')!r} ({state.get('category')}, "
                f"crimes without location {'included' if state.get('include_no_location') else 'not included'}); use another "
                "`out` folder, or `refresh=True` (`--refresh`) to replace it."
            )
    if state is None or refresh:
        state = {
            "version": STATE_VERSION,
            "force": force,
            "category": category,
            "include_no_location": include_no_location,
            "months": {} if state is None else state.get("months", {}),
        }
    state["base_url"] = base_url
    state_months: dict[str, dict[str, Any]] = state.setdefault("months", {})

    results: list[MonthResult] = []

    def settle(res: MonthResult) -> None:
        results.append(res)
        if progress is not None:
            progress(res)

    # Months already complete.
    todo: list[str] = []
    for m in months:
        entry = state_months.get(m)
        path = police_month_path(out_dir, m, force)
        if (
            not refresh
            and entry
            and entry.get("status") == "done"
            and path.exists()
            and path.stat().st_size == entry.get("bytes")
        ):
            settle(MonthResult(m, "already done", int(entry.get("rows", 0)), str(path.relative_to(out_dir))))
        else:
            todo.append(m)

    tiles_n = len(state.get("tiles") or [])
    if todo:
        # Force name (fatal if unreachable: nothing can be written without it).
        try:
            info = client.get_json(f"forces/{force}")
        except NotFound:
            raise ParameterError(
                f"police.uk has no force {force!r}; see {base_url.rstrip('/')}/forces for the ids (e.g. 'derbyshire')."
            ) from None
        force_name = str((info or {}).get("name") or force) if isinstance(info, dict) else force
        state["force_name"] = force_name

        # Published months.
        published: set[str] | None = None
        try:
            dates = client.get_json("crimes-street-dates")
            published = {str(d.get("date")) for d in dates if isinstance(d, dict)} if isinstance(dates, list) else None
        except FetchError as exc:
            notes.append(f"could not read the list of published months ({exc.reason}); asked for every month")
        if published is not None and todo:
            newest = max(published) if published else None
            oldest = min(published) if published else None
            if newest:
                notes.append(f"police.uk publishes street-level crimes for {oldest} to {newest}")

        tiles: list[Polygon] | None = None
        area_error: str | None = None
        for m in todo:
            path = police_month_path(out_dir, m, force)
            rel = str(path.relative_to(out_dir))
            if published is not None and m not in published:
                state_months[m] = {"status": "not published"}
                _save_state(out_dir, state)
                settle(MonthResult(m, "not published", error="not in police.uk's list of published months (crimes-street-dates)"))
                continue
            if tiles is None and area_error is None:
                try:
                    tiles = _tiles(client, force, state, area_given, emit)
                    _save_state(out_dir, state)
                except FetchError as exc:
                    area_error = f"could not get the force area: {exc}"
            if area_error is not None:
                state_months[m] = {"status": "failed", "error": area_error}
                _save_state(out_dir, state)
                settle(MonthResult(m, "failed", error=area_error))
                continue
            before = client.stats.requests
            try:
                rows, tiles = _fetch_month(client, force, m, category, tiles, include_no_location, force_name, emit)
            except NotFound:
                state_months[m] = {"status": "not published"}
                _save_state(out_dir, state)
                settle(
                    MonthResult(m, "not published", error="HTTP 404 (not published yet)", requests=client.stats.requests - before)
                )
                continue
            except FetchError as exc:
                state_months[m] = {"status": "failed", "error": str(exc)}
                _save_state(out_dir, state)
                settle(MonthResult(m, "failed", error=str(exc), requests=client.stats.requests - before))
                continue
            state["tiles"] = [shapely.to_wkt(t, rounding_precision=-1) for t in tiles]
            size = _write_month(path, rows)
            state_months[m] = {
                "status": "done",
                "rows": len(rows),
                "bytes": size,
                "file": rel,
                "requests": client.stats.requests - before,
            }
            _save_state(out_dir, state)
            settle(MonthResult(m, "fetched", len(rows), rel, requests=client.stats.requests - before))
        tiles_n = len(tiles) if tiles is not None else tiles_n
    else:
        _save_state(out_dir, state)

    notes.append("LSOA code and LSOA name are empty: the police.uk API does not give them")
    order = {m: i for i, m in enumerate(months)}
    results.sort(key=lambda r: order[r.month])
    return FetchSummary(
        force=force,
        category=category,
        out=out_dir,
        months=tuple(results),
        requests=client.stats.requests,
        retries=dict(client.stats.retries),
        tiles=tiles_n,
        params={
            "force": force,
            "start": months[0],
            "end": months[-1],
            "category": category,
            "base_url": base_url,
            "include_no_location": include_no_location,
            "refresh": refresh,
            "rate": rate,
            "retries": retries,
            "timeout": timeout,
        },
        notes=tuple(notes),
    )


def neighbourhood_area(client: JsonClient, force: str) -> tuple[BaseGeometry, int]:
    """The union of a force's neighbourhood boundaries (WGS84 longitude/latitude) and their number.

    ``/{force}/neighbourhoods`` lists the neighbourhoods; ``/{force}/{id}/boundary`` gives each
    one's outline as ``[{"latitude": "52.6", "longitude": "-1.1"}, ...]`` (strings).

    Raises
    ------
    NotFound
        The force is unknown to the API.
    FetchError
        No neighbourhood, or none with a usable boundary, or the requests failed.
    """
    hoods = client.get_json(f"{force}/neighbourhoods")
    if not isinstance(hoods, list) or not hoods:
        raise FetchError(f"police.uk lists no neighbourhoods for {force!r}", reason="no neighbourhoods")
    polys = []
    for h in hoods:
        hid = str(h.get("id")) if isinstance(h, dict) else ""
        if not hid:
            continue
        pts = client.get_json(f"{force}/{_quote(hid)}/boundary")
        if not isinstance(pts, list):
            raise FetchError(f"neighbourhood {hid!r} of {force!r}: expected a list of points", reason="unexpected answer")
        ring = []
        for p in pts:
            try:
                ring.append((float(p["longitude"]), float(p["latitude"])))
            except (TypeError, KeyError, ValueError):
                continue
        if len(ring) >= 3:
            polys.append(shapely.make_valid(Polygon(ring)))
    polys = [g for g in polys if _polygons(g)]
    if not polys:
        raise FetchError(f"no neighbourhood of {force!r} has a usable boundary", reason="no boundary")
    area = shapely.union_all(polys)
    return shapely.MultiPolygon(_polygons(area)) if len(_polygons(area)) > 1 else _polygons(area)[0], len(polys)


def _tiles(
    client: JsonClient, force: str, state: dict[str, Any], area_given: BaseGeometry | None, emit: Callable[[str], None]
) -> list[Polygon]:
    """The pieces of the force area to query (remembered in the state file)."""
    saved = state.get("tiles")
    if saved and area_given is None:
        return [shapely.from_wkt(w) for w in saved]
    if area_given is not None:
        area = area_given
        state["area_source"] = "boundary given"
    else:
        area, n = neighbourhood_area(client, force)
        state["area_source"] = f"union of {n} neighbourhood boundaries"
    # Grow a little (cover the edge) and simplify (short requests); the simplification moves
    # the boundary by less than the margin, so the whole area stays covered.
    area = area.buffer(AREA_MARGIN_DEG).simplify(AREA_SIMPLIFY_DEG)
    tiles = _polygons(area)
    emit(f"force area: {state['area_source']}; {len(tiles)} polygon(s), {sum(len(t.exterior.coords) for t in tiles):,} vertices")
    state["tiles"] = [shapely.to_wkt(t, rounding_precision=-1) for t in tiles]
    return tiles


def _quote(s: str) -> str:
    import urllib.parse

    return urllib.parse.quote(s, safe="")


def _fetch_month(
    client: JsonClient,
    force: str,
    month: str,
    category: str,
    tiles: list[Polygon],
    include_no_location: bool,
    force_name: str,
    emit: Callable[[str], None],
) -> tuple[list[list[str]], list[Polygon]]:
    """All crimes of one month: area queries (splitting tiles on 503) plus crimes without location."""
    seen: set[Any] = set()
    rows: list[list[str]] = []
    queue: list[tuple[Polygon, int]] = [(t, 0) for t in tiles]
    done_tiles: list[Polygon] = []
    while queue:
        tile, depth = queue.pop(0)
        try:
            crimes = client.get_json(
                f"crimes-street/{category}", form={"poly": _poly_param(tile), "date": month}, too_many_on_503=True
            )
        except TooManyResults:
            if depth >= MAX_SPLIT_DEPTH:
                raise FetchError(
                    f"{month}: an area piece still holds too many crimes after {MAX_SPLIT_DEPTH} splits", reason="too many crimes"
                ) from None
            parts = split_tile(tile)
            emit(f"{month}: too many crimes in one request; split an area piece into {len(parts)}")
            queue[0:0] = [(p, depth + 1) for p in parts]
            continue
        done_tiles.append(tile)
        _add(rows, seen, crimes, month, force_name, what=f"crimes-street {month}")
    if include_no_location:
        crimes = client.get_json("crimes-no-location", params={"category": category, "force": force, "date": month})
        _add(rows, seen, crimes, month, force_name, what=f"crimes-no-location {month}")
    return rows, done_tiles


def _add(rows: list[list[str]], seen: set[Any], crimes: Any, month: str, force_name: str, *, what: str) -> None:
    if not isinstance(crimes, list):
        raise FetchError(f"{what}: expected a JSON list of crimes, got {type(crimes).__name__}", reason="unexpected answer")
    for c in crimes:
        if not isinstance(c, dict):
            raise FetchError(f"{what}: a crime is not a JSON object: {str(c)[:80]}", reason="unexpected answer")
        key = c.get("id")
        if key is None:
            key = (c.get("persistent_id"), json.dumps(c.get("location"), sort_keys=True), c.get("category"))
        if key in seen:
            continue
        seen.add(key)
        rows.append(crime_to_row(c, month=month, force_name=force_name))
