"""Download a force's boundary from the data.police.uk API: the union of its neighbourhoods.

``/api/forces`` lists the forces; ``/api/{force}/neighbourhoods`` a force's neighbourhoods;
``/api/{force}/{neighbourhood}/boundary`` each one's outline. The force area is their union
(:func:`hotspots.fetch.police_uk.neighbourhood_area`). :func:`fetch_force_boundary` writes it as
GeoJSON (WGS84) to ``data/boundaries/<force>.geojson`` by default, where
:func:`hotspots.io.load_boundary` and the app find it. Requests are rate limited and retried as
for the crimes (:class:`~hotspots.fetch.JsonClient`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import shapely

from .. import validation
from .._errors import ParameterError
from ..forces import FORCES, force_id
from ._http import JsonClient, NotFound
from .police_uk import API_BASE, api_client, neighbourhood_area

__all__ = ["BoundaryResult", "fetch_force_boundary", "BOUNDARY_LICENCE"]

#: Licence of police.uk's neighbourhood boundaries.
BOUNDARY_LICENCE = "Contains public sector information licensed under the Open Government Licence v3.0 (data.police.uk)"


@dataclass(frozen=True)
class BoundaryResult:
    """Outcome of :func:`fetch_force_boundary`.

    Attributes
    ----------
    force : str
        police.uk force id.
    name : str
        The force's name.
    path : Path
        The GeoJSON file written.
    neighbourhoods : int
        Neighbourhood boundaries in the union.
    polygons : int
        Separate polygons of the force area (islands count).
    area_km2 : float
    requests : int
        HTTP requests made (retries included).
    """

    force: str
    name: str
    path: Path
    neighbourhoods: int
    polygons: int
    area_km2: float
    requests: int

    def summary(self) -> str:
        return (
            f"{self.name} boundary: union of {self.neighbourhoods:,} police.uk neighbourhoods, {self.polygons:,} polygon(s), "
            f"{self.area_km2:,.0f} km²; written to {self.path} ({self.requests:,} requests)"
        )


def _resolve(client: JsonClient, force: str) -> tuple[str, str]:
    """(id, name) of a force given by id or name, offline when possible, else from ``/forces``."""
    fid = force_id(force)
    if fid is not None:
        return fid, FORCES[fid]
    listed = client.get_json("forces")
    wanted = str(force).strip().lower()
    if isinstance(listed, list):
        for f in listed:
            if isinstance(f, dict) and wanted in (str(f.get("id", "")).lower(), str(f.get("name", "")).strip().lower()):
                return str(f["id"]), str(f.get("name") or f["id"])
    raise ParameterError(
        f"police.uk has no force {force!r}; give an id or name such as 'leicestershire' or 'Leicestershire Police' "
        f"(ids: {', '.join(sorted(FORCES)[:6])}, ...; all in hotspots.forces.FORCES)."
    )


def fetch_force_boundary(
    force: str,
    out: str | os.PathLike[str] | None = None,
    *,
    base_url: str = API_BASE,
    rate: float = 4.0,
    burst: int = 4,
    retries: int = 5,
    backoff: float = 1.0,
    max_backoff: float = 60.0,
    timeout: float = 60.0,
    log: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BoundaryResult:
    """Download a force's area (the union of its police.uk neighbourhoods) as a GeoJSON file.

    Parameters
    ----------
    force : str
        police.uk force id or name (``"leicestershire"``, ``"Leicestershire Police"``).
    out : path, optional
        The GeoJSON file to write. Default ``data/boundaries/<force id>.geojson``
        (:func:`hotspots.datadir.boundary_path`).
    base_url : str
        API root (a local test server in tests).
    rate, burst, retries, backoff, max_backoff, timeout
        As for :func:`hotspots.fetch.fetch_police_uk`.
    log : callable, optional
        Called with one line per retry.
    sleep, clock : callables
        Injected for tests.

    Returns
    -------
    BoundaryResult

    Raises
    ------
    ParameterError
        An unknown force, or ``out`` is an existing folder.
    FetchError
        The API could not be reached or gave no usable boundary (nothing is written).
    """
    if not str(force or "").strip():
        raise ParameterError(f"{validation.shown('force')} is empty; give a police.uk force id or name, e.g. 'leicestershire'.")
    client = api_client(base_url, rate=rate, burst=burst, timeout=timeout, retries=retries, backoff=backoff,
                        max_backoff=max_backoff, sleep=sleep, clock=clock, log=log)
    if out is not None and Path(out).is_dir():
        raise ParameterError(
            f"{validation.shown('out')} {str(out)!r} is a folder; give a file name such as {str(Path(out) / 'force.geojson')!r}."
        )
    fid, name = _resolve(client, force)
    try:
        area, n = neighbourhood_area(client, fid)
    except NotFound:
        raise ParameterError(f"police.uk has no neighbourhoods for force {fid!r} (HTTP 404); check the force id.") from None
    if out is None:
        from ..datadir import boundary_path

        out = boundary_path(fid)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    feature = {
        "type": "Feature",
        "properties": {
            "name": name,
            "force": fid,
            "source": f"data.police.uk API: union of {n} neighbourhood boundaries",
            "fetched": datetime.now(UTC).date().isoformat(),
            "licence": BOUNDARY_LICENCE,
        },
        "geometry": json.loads(shapely.to_geojson(area)),
    }
    doc: dict[str, Any] = {"type": "FeatureCollection", "name": f"{fid}-boundary", "features": [feature]}
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, path)
    from pyproj import Geod

    area_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(area)[0])
    return BoundaryResult(fid, name, path, n, int(shapely.get_num_geometries(area)), area_m2 / 1e6, client.stats.requests)
