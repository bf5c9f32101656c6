"""Which projected CRS the analysis runs in: British National Grid, or Irish Transverse Mercator.

All distance work is in metres in a projected CRS. British National Grid (EPSG:27700) is
defined for Great Britain only; police.uk also publishes the Police Service of Northern
Ireland's files, whose points lie on the island of Ireland. There the analysis runs in Irish
Transverse Mercator (ITM, EPSG:2157), the projection Ordnance Survey of Northern Ireland and
Ireland use since 2001. ITM rather than the older Irish Grid (TM75, EPSG:29902): ITM is on
ETRS89, which matches police.uk's WGS84 coordinates to well under a metre with no datum grid.

:func:`choose_crs` decides from where most points lie and announces a choice other than BNG.
The loaders return British National Grid; converting those points to ITM goes back through the
same transformation, so nothing is lost (sub-millimetre round trip on PSNI's 2025 files).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj

from ._errors import CRSError, ParameterError
from .grid import BNG

__all__ = ["CRSChoice", "choose_crs", "in_ireland", "ITM", "BNG"]

#: Irish Transverse Mercator (IRENET95 / ITM), metres.
ITM = pyproj.CRS.from_epsg(2157)

_NAMES = {27700: "British National Grid (EPSG:27700)", 2157: "Irish Transverse Mercator (EPSG:2157)"}


@dataclass(frozen=True, eq=False)
class CRSChoice:
    """The projected CRS the analysis runs in.

    Attributes
    ----------
    crs : pyproj.CRS
    region : str
        ``"Great Britain"``, ``"island of Ireland"`` or ``"given"``.
    share : float
        Share of the points in ``region`` (0-1; 1.0 for a given CRS).
    note : str
        The announcement; empty for the default (British National Grid).
    """

    crs: pyproj.CRS
    region: str
    share: float
    note: str = ""

    @property
    def epsg(self) -> int | None:
        return self.crs.to_epsg()

    @property
    def name(self) -> str:
        return _NAMES.get(self.epsg or 0, self.crs.name)

    def record(self) -> dict[str, Any]:
        """Facts for the parameters sidecar."""
        return {
            "crs": f"EPSG:{self.epsg}" if self.epsg else self.crs.to_string(),
            "name": self.name,
            "region": self.region,
            "share_of_incidents_in_region": round(self.share, 4),
        }


def in_ireland(lon: Any, lat: Any) -> np.ndarray:
    """True for longitude/latitude pairs on the island of Ireland (Northern Ireland included).

    A coarse test that keeps Great Britain's westernmost land apart: the Mull of Kintyre
    (-5.8°, 55.3°), Islay (-6.2°, 55.7°), the Rhins of Galloway (east of -5.2°), the Isles of
    Scilly and Land's End (south of 51.3°) and Pembrokeshire (east of -5.4°) are not in it.

    Parameters
    ----------
    lon, lat : array-like of float
        Degrees (WGS84).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> in_ireland([-5.93, -5.75, -1.13, -6.3], [54.60, 55.30, 52.64, 49.93]).tolist()
    [True, False, False, False]
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    south = (y >= 51.3) & (y <= 55.0) & (x < -5.4) & (x > -10.8)
    north = (y > 55.0) & (y <= 55.5) & (x < -6.0) & (x > -10.8)
    return south | north


def choose_crs(points: Any, *, crs: Any = None) -> CRSChoice:
    """The projected CRS for an analysis of ``points``.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        The incidents, in any CRS (set).
    crs : optional
        A projected CRS to use instead of the automatic choice.

    Returns
    -------
    CRSChoice
        British National Grid unless most points lie on the island of Ireland, then Irish
        Transverse Mercator (announced in ``note``).

    Raises
    ------
    CRSError
        ``points`` has no CRS, or ``crs`` is not a projected CRS.
    """
    if crs is not None:
        try:
            c = pyproj.CRS.from_user_input(crs)
        except Exception as exc:  # noqa: BLE001 - pyproj's own error is long
            raise CRSError(f"`crs` {crs!r} is not a coordinate reference system pyproj understands: {exc}") from None
        if c.is_geographic:
            raise CRSError(f"`crs` {c.name} is in degrees; the analysis needs metres (e.g. 27700 or 2157).")
        choice = CRSChoice(c, "given", 1.0, "")
        if not c.equals(BNG):
            choice = CRSChoice(c, "given", 1.0, f"analysis CRS: {choice.name} (as given)")
        return choice
    if not isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise ParameterError(f"`points` must be a GeoDataFrame or GeoSeries of points; got {type(points).__name__}.")
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        raise CRSError("`points` have no CRS; set it (e.g. `.set_crs(27700)`).")
    if len(geoms) == 0:
        return CRSChoice(BNG, "Great Britain", 0.0, "")
    # A sample is plenty to tell two islands apart and keeps this instant on 10^6 points.
    g = geoms.values
    if len(g) > 20_000:
        g = g[np.linspace(0, len(g) - 1, 20_000).astype(np.int64)]
    ll = gpd.GeoSeries(g, crs=geoms.crs).to_crs(4326)
    ok = ~(ll.is_empty | ll.isna()).to_numpy()
    lon, lat = ll.x.to_numpy()[ok], ll.y.to_numpy()[ok]
    share = float(np.mean(in_ireland(lon, lat))) if len(lon) else 0.0
    if share > 0.5:
        return CRSChoice(
            ITM,
            "island of Ireland",
            share,
            f"analysis CRS: Irish Transverse Mercator (EPSG:2157), because {share:.1%} of the incidents lie on the island of "
            "Ireland, where British National Grid (EPSG:27700) is not defined",
        )
    return CRSChoice(BNG, "Great Britain", 1.0 - share, "")
