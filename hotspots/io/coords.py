"""Coordinate systems of input points: detection from value ranges, checks, conversion to BNG.

Inputs arrive as longitude/latitude (WGS84, EPSG:4326), British National Grid eastings and
northings (EPSG:27700), occasionally Web Mercator metres (EPSG:3857, from web maps). The values
tell them apart for data in the British Isles:

==================  =======================================  ==========================
CRS                  x range                                 y range
==================  =======================================  ==========================
WGS84 (lon, lat)     -11 .. 4 (degrees east)                 49 .. 62 (degrees north)
swapped (lat, lon)   49 .. 62                                -11 .. 4
BNG                  0 .. 700,000 m                          0 .. 1,300,000 m
Web Mercator         -1,300,000 .. 450,000 m                 6,200,000 .. 8,700,000 m
==================  =======================================  ==========================

:func:`detect_crs` picks the CRS that most points fit. Swapped longitude/latitude, and northings
given as x where more points fit British National Grid swapped, are *reported* (``swapped=True``),
never fixed silently: the loaders raise unless told ``swap_xy=True``. Eastings and northings
swapped within the grid's range (England and Wales: both below 700 km) are told by the force the
rows name (:func:`hotspots.io.extent.swapped_for_force`).

pyproj returns ``inf`` (not an exception) for points it cannot transform; :func:`to_bng` checks
every output for finiteness and for lying in the British Isles, where British National Grid
means something.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj

from .._errors import CRSError
from ..validation import setting, shown

__all__ = [
    "DetectedCRS",
    "detect_crs",
    "other_grid_warning",
    "detected_note",
    "plausible",
    "to_bng",
    "project_to_bng",
    "resolve_crs",
    "UK_LONLAT_BOX",
    "BNG_RANGE",
    "BRITISH_ISLES_BNG",
]

#: lon_min, lon_max, lat_min, lat_max of the British Isles (with Channel Islands, Shetland).
UK_LONLAT_BOX = (-11.0, 4.0, 49.0, 62.0)
#: Valid British National Grid input: x (easting) and y (northing) limits in metres.
BNG_RANGE = (0.0, 700_000.0, 0.0, 1_300_000.0)
#: Window (BNG metres) a converted point must fall in: the British Isles with a margin
#: (Northern Ireland and the Republic lie at negative eastings).
BRITISH_ISLES_BNG = (-250_000.0, 800_000.0, -150_000.0, 1_350_000.0)
_MERC_UK = (-1_300_000.0, 450_000.0, 6_200_000.0, 8_700_000.0)
_MERC_MAX = 20_037_508.342789244

_NAMES = {
    4326: "longitude/latitude (WGS84, EPSG:4326)", 27700: "British National Grid (EPSG:27700)", 3857: "Web Mercator (EPSG:3857)",
}


@dataclass(frozen=True)
class DetectedCRS:
    """Result of :func:`detect_crs`.

    Attributes
    ----------
    epsg : int
        4326, 27700 or 3857.
    swapped : bool
        True when the x values look like latitudes and the y values like longitudes (``epsg`` 4326),
        or like northings and eastings (``epsg`` 27700: more points fit British National Grid swapped).
    reason : str
        A sentence explaining the choice (for reports).
    share : float
        Fraction (0..1) of the points valid in some CRS (degrees, or BNG metres) that fit the
        chosen CRS's British Isles range.
    outside : int
        Usable points that do not fit the chosen CRS's range (dropped later as out of range); many
        of them suggest another grid (Irish Transverse Mercator, ...): see :func:`other_grid_warning`.
    """

    epsg: int
    swapped: bool
    reason: str
    share: float = 1.0
    outside: int = 0


def _in(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])


def detect_crs(x: Any, y: Any, *, min_share: float = 0.5) -> DetectedCRS:
    """Tell WGS84, swapped WGS84, British National Grid and Web Mercator apart from values.

    Parameters
    ----------
    x, y : array-like of float
        Coordinates as given (first column, second column). NaN, infinite values and exact
        ``(0, 0)`` pairs are ignored.
    min_share : float
        The winning CRS must fit at least this fraction of the usable points.

    Returns
    -------
    DetectedCRS

    Raises
    ------
    CRSError
        No usable points, or no CRS fits enough of them; the message gives the value ranges
        seen and the fix (pass ``crs=``).

    Examples
    --------
    >>> detect_crs([-1.48, -1.42], [52.92, 53.24]).epsg
    4326
    >>> detect_crs([435000, 438000], [336000, 371000]).epsg
    27700
    >>> detect_crs([52.92, 53.24], [-1.48, -1.42]).swapped
    True
    """
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise CRSError(f"x and y have different lengths ({xa.size} and {ya.size}).")
    ok = np.isfinite(xa) & np.isfinite(ya) & ~((xa == 0) & (ya == 0))
    xa, ya = xa[ok], ya[ok]
    n = xa.size
    if n == 0:
        raise CRSError(
            "cannot detect the coordinate system: no finite coordinates. Check the x/y columns, or pass "
            f"{setting('crs', 'EPSG:4326')} or {setting('crs', 'EPSG:27700')}."
        )
    degrees = (np.abs(xa) <= 180) & (np.abs(ya) <= 180)
    counts = {
        (4326, False): int(_in(xa, ya, UK_LONLAT_BOX).sum()),
        (4326, True): int(_in(ya, xa, UK_LONLAT_BOX).sum()),
        (27700, False): int((_in(xa, ya, BNG_RANGE) & ~degrees).sum()),
        (3857, False): int(_in(xa, ya, _MERC_UK).sum()),
    }
    # northings in x, eastings in y: only when nine tenths of the points fit so and under half as given
    # (Scotland's northings above 700 km); a force's points swapped within the range: extent.swapped_for_force
    bng_swapped = int((_in(ya, xa, BNG_RANGE) & ~degrees).sum())
    if bng_swapped * 10 >= n * 9 and counts[(27700, False)] * 2 < n:
        counts[(27700, True)] = bng_swapped
    (epsg, swapped), best = max(counts.items(), key=lambda kv: kv[1])
    # Share among the points that are valid in some CRS at all (garbage such as 1e300 or a
    # longitude of 200 does not vote; it is dropped later as out of range).
    somewhere = int(((np.abs(xa) <= 180) & (np.abs(ya) <= 90) | _in(xa, ya, BNG_RANGE)).sum())
    share = best / max(somewhere, best, 1)
    rng = f"x {np.min(xa):.6g} .. {np.max(xa):.6g}, y {np.min(ya):.6g} .. {np.max(ya):.6g}"
    if best == 0 or share < min_share:
        raise CRSError(
            f"cannot tell the coordinate system from the values ({rng}; {n:,} points): they fit neither "
            "longitude/latitude in the British Isles nor British National Grid metres. Pass "
            f"{setting('crs', 'EPSG:4326')} for lon/lat or {setting('crs', 'EPSG:27700')} for eastings/northings "
            f"(or the grid the data use, e.g. {setting('crs', 'EPSG:2157')} for Irish Transverse Mercator), "
            "or check the x/y columns."
        )
    # the points that fit, among all usable ones: a note never says "100%" while rows are dropped
    fit = f"{best:,} of {n:,} points ({100 * best / n:.1f}%)"
    if swapped and epsg == 27700:
        reason = (
            f"the x values look like northings and the y values like eastings ({fit} fit British National Grid only when "
            f"swapped: easting 0..700 km, northing 0..1300 km; {rng})"
        )
    elif swapped:
        reason = (
            f"the x values look like latitudes and the y values like longitudes ({fit} fit lat/lon in the British Isles; {rng})"
        )
    elif epsg == 4326:
        reason = f"coordinates look like {_NAMES[4326]}: {fit} fall in lon -11..4, lat 49..62"
    elif epsg == 27700:
        reason = f"coordinates look like {_NAMES[27700]}: {fit} fall in easting 0..700 km, northing 0..1300 km"
    else:
        reason = f"coordinates look like {_NAMES[3857]} metres: {fit} fall in the British Isles in that projection"
    return DetectedCRS(epsg=epsg, swapped=swapped, reason=reason, share=share, outside=n - best)


#: Share of the usable points outside the detected CRS's range above which the loaders warn
#: that the data may be in another grid.
OTHER_GRID_SHARE = 0.05


def detected_note(det: DetectedCRS) -> str:
    """The load report's note for a CRS told from the values; for British National Grid it names
    the option for another grid, whose values (Irish Grid's) may look the same."""
    note = f"{det.reason}; read as {crs_label(det.epsg)}"
    if det.epsg == 27700:
        note += f" (another grid, e.g. Irish Grid, needs {setting('crs', 'EPSG:29903')})"
    return note


def other_grid_warning(det: DetectedCRS, n: int) -> str | None:
    """The warning for many points outside the detected CRS's range, else None.

    Eastings and northings in another grid (Irish Grid, EPSG:29902/29903, or Irish Transverse
    Mercator, EPSG:2157, for Northern Ireland) cannot always be told from British National Grid
    by their values: Irish Grid's fall inside BNG's range, ITM's mostly outside it. Neither can be
    read right without being named, so the warning names the option that does it.

    Examples
    --------
    >>> det = DetectedCRS(27700, False, "", outside=30)
    >>> other_grid_warning(det, 100)[:60]
    '30 of 100 points lie outside the British National Grid range'
    """
    if n <= 0 or det.outside <= OTHER_GRID_SHARE * n:
        return None
    what = "British National Grid" if det.epsg == 27700 else crs_label(det.epsg)
    return (
        f"{det.outside:,} of {n:,} points lie outside the {what} range (dropped as out-of-range coordinates): the "
        "coordinates may be in another grid, e.g. Irish Transverse Mercator (EPSG:2157) or Irish Grid (EPSG:29903) "
        f"for Northern Ireland; name it with {setting('crs', 'EPSG:2157')}."
    )


def resolve_crs(crs: Any) -> pyproj.CRS:
    """A :class:`pyproj.CRS` from user input (EPSG code, string, CRS), as a typed error if invalid."""
    try:
        return pyproj.CRS.from_user_input(crs)
    except Exception as exc:  # noqa: BLE001 - pyproj raises its own CRSError with a long message
        raise CRSError(
            f"{shown('crs')} {crs!r} is not a coordinate reference system pyproj understands ({exc}). Use e.g. "
            f"{setting('crs', 'EPSG:4326')} (longitude/latitude) or {setting('crs', 'EPSG:27700')} (British National Grid)."
        ) from None


def plausible(x: np.ndarray, y: np.ndarray, crs: Any) -> np.ndarray:
    """Boolean mask of coordinates within the valid range of ``crs``.

    Geographic CRSs: ``|lon| <= 180`` and ``|lat| <= 90``. British National Grid: easting
    0..700,000 m, northing 0..1,300,000 m. Web Mercator: within its square. Other projected CRSs:
    finite values (the check after conversion, in :func:`to_bng`, still applies).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    c = crs if isinstance(crs, pyproj.CRS) else resolve_crs(crs)
    epsg = c.to_epsg()
    if c.is_geographic:
        ok &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
    elif epsg == 27700:
        ok &= _in(x, y, BNG_RANGE)
    elif epsg == 3857:
        ok &= (np.abs(x) <= _MERC_MAX) & (np.abs(y) <= _MERC_MAX)
    return ok


@functools.lru_cache(maxsize=16)
def _transformer(crs_wkt: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(pyproj.CRS.from_wkt(crs_wkt), pyproj.CRS.from_epsg(27700), always_xy=True)


def to_bng(x: Any, y: Any, crs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert coordinates to British National Grid metres and flag the failures.

    Parameters
    ----------
    x, y : array-like of float
        Coordinates in ``crs``, x first (longitude, easting) whatever the CRS's axis order.
    crs : int, str or pyproj.CRS

    Returns
    -------
    X, Y : ndarray of float
        Eastings and northings (metres); NaN where the conversion failed.
    ok : ndarray of bool
        True where the result is finite and lies in :data:`BRITISH_ISLES_BNG`.
    """
    X, Y = project_to_bng(x, y, crs)
    ok = np.isfinite(X) & np.isfinite(Y) & _in(np.nan_to_num(X, nan=-1e12), np.nan_to_num(Y, nan=-1e12), BRITISH_ISLES_BNG)
    X = np.where(ok, X, np.nan)
    Y = np.where(ok, Y, np.nan)
    return X, Y, ok


def project_to_bng(x: Any, y: Any, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in ``crs`` (x first) as British National Grid metres, NaN where pyproj fails.

    Unlike :func:`to_bng`, no window is applied: a point in Paris comes out as Paris, for the
    check of where points lie (:func:`hotspots.io.extent.in_british_isles`).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    c = crs if isinstance(crs, pyproj.CRS) else resolve_crs(crs)
    if c.to_epsg() == 27700:
        X, Y = x.copy(), y.copy()
    else:
        fin = np.isfinite(x) & np.isfinite(y)
        X = np.full(x.shape, np.nan)
        Y = np.full(y.shape, np.nan)
        if fin.any():
            try:
                tx, ty = _transformer(c.to_wkt()).transform(x[fin], y[fin], errcheck=False)
            except Exception as exc:  # noqa: BLE001
                raise CRSError(
                    f"cannot convert coordinates from {c.name} to British National Grid ({exc}). Check {shown('crs')}."
                ) from None
            X[fin], Y[fin] = tx, ty
    bad = ~(np.isfinite(X) & np.isfinite(Y))
    return np.where(bad, np.nan, X), np.where(bad, np.nan, Y)


def crs_label(epsg_or_crs: Any) -> str:
    """Human name for a CRS (used in notes)."""
    if isinstance(epsg_or_crs, int) and epsg_or_crs in _NAMES:
        return _NAMES[epsg_or_crs]
    c = epsg_or_crs if isinstance(epsg_or_crs, pyproj.CRS) else resolve_crs(epsg_or_crs)
    e = c.to_epsg()
    if e in _NAMES:
        return _NAMES[e]
    return f"{c.name}" + (f" (EPSG:{e})" if e else "")
