"""Web-map tiles for briefing images, reprojected to British National Grid; offline-safe.

Tiles are fetched only when asked for (``basemap="auto"`` or a named source or URL template)
and only when reachable: the first tile is fetched with a short timeout and acts as the
reachability check; any failure makes :func:`fetch_basemap` return ``None`` with a reason, and
the caller draws the offline map (study-area outline and town labels). A host that failed is
not tried again for :data:`RETRY_AFTER_S` seconds in the same process, so a batch of images does
not wait once per image. Setting the environment variable ``HOTSPOTS_OFFLINE=1`` turns tiles off
altogether (the tests do this).

No third-party tile library is needed: tiles are plain PNG/JPEG images in the Web Mercator
(EPSG:3857) "slippy map" scheme; they are mosaicked and resampled (nearest neighbour) onto a
BNG pixel lattice whose coordinates are transformed with pyproj on a coarse grid and
interpolated bilinearly in between (the transformation is smooth at this scale).
"""

from __future__ import annotations

import io
import math
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pyproj

from .._errors import ParameterError
from ..validation import problem, shown

__all__ = ["Basemap", "fetch_basemap", "TILE_SOURCES", "resolve_source", "offline_forced"]

#: Named tile sources: URL template and attribution.
TILE_SOURCES: dict[str, tuple[str, str]] = {
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "Map tiles © OpenStreetMap contributors (ODbL)"),
}
#: Tile source used by ``basemap="auto"``.
AUTO_SOURCE = "osm"
#: Seconds before a host that failed is tried again.
RETRY_AFTER_S = 300.0
#: Most tiles fetched for one map.
MAX_TILES = 64
USER_AGENT = "hotspots-briefing-maps/0.1 (+https://github.com/; offline fallback when unreachable)"

_failed_hosts: dict[str, float] = {}
_EARTH = 6378137.0
_ORIGIN = math.pi * _EARTH  # half the Web Mercator world width, metres


@dataclass(frozen=True)
class Basemap:
    """A basemap image in British National Grid.

    Attributes
    ----------
    image : ndarray of float, shape (H, W, 3), values 0..1
        Row 0 is north.
    extent : tuple (xmin, xmax, ymin, ymax)
        BNG metres covered by the image (matplotlib ``imshow`` order).
    attribution : str
    source : str
        Name or URL template of the tiles.
    zoom : int
    n_tiles : int
    """

    image: np.ndarray
    extent: tuple[float, float, float, float]
    attribution: str
    source: str
    zoom: int
    n_tiles: int


def offline_forced() -> bool:
    """True when ``HOTSPOTS_OFFLINE`` is set to something other than ``""``/``0``."""
    return os.environ.get("HOTSPOTS_OFFLINE", "").strip() not in ("", "0", "false", "False")


def resolve_source(basemap: str, attribution: str | None = None) -> tuple[str, str] | None:
    """``(url template, attribution)`` for ``basemap``, or None for ``"none"``.

    ``basemap`` is ``"auto"``, ``"none"``, a name in :data:`TILE_SOURCES` or a URL template with
    ``{z}``, ``{x}`` and ``{y}``.
    """
    if not isinstance(basemap, str):
        raise ParameterError(problem("basemap", "a string ('auto', 'none', 'osm' or a tile URL template)", basemap))
    if basemap == "none":
        return None
    name = AUTO_SOURCE if basemap == "auto" else basemap
    if name in TILE_SOURCES:
        url, attr = TILE_SOURCES[name]
        return url, attribution or attr
    if all(k in name for k in ("{z}", "{x}", "{y}")) and urlparse(name).scheme in ("http", "https"):
        return name, attribution or f"Map tiles from {urlparse(name).netloc}"
    raise ParameterError(
        f"{shown('basemap')} {basemap!r} is not known; use 'auto', 'none', one of {sorted(TILE_SOURCES)} or a URL template "
        "such as 'https://tile.example.org/{z}/{x}/{y}.png'."
    )


def _lonlat_to_tile(lon: np.ndarray, lat: np.ndarray, z: int) -> tuple[np.ndarray, np.ndarray]:
    n = 2.0**z
    x = (np.asarray(lon) + 180.0) / 360.0 * n
    lat_r = np.radians(np.asarray(lat))
    y = (1.0 - np.log(np.tan(lat_r) + 1.0 / np.cos(lat_r)) / math.pi) / 2.0 * n
    return x, y


def _choose_zoom(lon: np.ndarray, lat: np.ndarray, width_px: int, max_tiles: int) -> tuple[int, int, int, int, int]:
    """Zoom whose tile pixels are about as fine as the output pixels, within ``max_tiles``."""
    span = max(float(lon.max() - lon.min()), 1e-9)
    # Tile pixels across the extent at zoom z: span / 360 * 256 * 2**z ~ width_px.
    z = int(np.clip(math.ceil(math.log2(width_px * 360.0 / (256.0 * span))), 0, 18))
    while True:
        tx, ty = _lonlat_to_tile(lon, lat, z)
        x0, x1 = int(math.floor(tx.min())), int(math.floor(tx.max()))
        y0, y1 = int(math.floor(ty.min())), int(math.floor(ty.max()))
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= max_tiles or z == 0:
            return z, x0, x1, y0, y1
        z -= 1


def _get(url: str, timeout: float) -> np.ndarray:
    from PIL import Image

    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (http/https only, checked)
        if getattr(resp, "status", 200) != 200:
            raise OSError(f"HTTP {resp.status}")
        data = resp.read(4_000_000)
    with Image.open(io.BytesIO(data)) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    if arr.shape[:2] != (256, 256):
        raise OSError(f"tile of size {arr.shape[1]}x{arr.shape[0]}, expected 256x256")
    return arr


def fetch_basemap(
    extent: tuple[float, float, float, float],
    width_px: int,
    height_px: int,
    *,
    basemap: str = "auto",
    attribution: str | None = None,
    timeout: float = 2.0,
    max_tiles: int = MAX_TILES,
    crs: int = 27700,
) -> tuple[Basemap | None, str]:
    """Tiles covering ``extent`` (BNG metres, ``(xmin, xmax, ymin, ymax)``), resampled to BNG.

    Parameters
    ----------
    extent : tuple of 4 floats
    width_px, height_px : int
        Size of the output image in pixels (capped at 2,000 on the longer side).
    basemap : str
        See :func:`resolve_source`.
    timeout : float
        Seconds allowed per tile request (the first request is the reachability check).

    Returns
    -------
    basemap : Basemap or None
        None when tiles are off, forced offline, or unreachable.
    reason : str
        What happened, for the image's notes.
    """
    src = resolve_source(basemap, attribution)
    if src is None:
        return None, "no basemap requested"
    if offline_forced():
        return None, "basemap skipped: HOTSPOTS_OFFLINE is set"
    template, attr = src
    host = urlparse(template).netloc
    failed_at = _failed_hosts.get(host)
    if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER_S:
        return None, f"basemap skipped: tiles from {host} were unreachable a moment ago"
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    scale = min(1.0, 2000.0 / max(width_px, height_px, 1))
    W, H = max(2, int(round(width_px * scale))), max(2, int(round(height_px * scale)))
    to_ll = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    ex = np.linspace(xmin, xmax, 21)
    ey = np.linspace(ymin, ymax, 21)
    bx = np.concatenate([ex, ex, np.full(21, xmin), np.full(21, xmax)])
    by = np.concatenate([np.full(21, ymin), np.full(21, ymax), ey, ey])
    lon, lat = to_ll.transform(bx, by)
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        return None, "basemap skipped: the map extent could not be transformed to longitude/latitude"
    z, x0, x1, y0, y1 = _choose_zoom(lon, lat, W, max_tiles)
    n = 2**z
    tiles = [(tx % n, ty) for ty in range(y0, y1 + 1) for tx in range(x0, x1 + 1) if 0 <= ty < n]
    urls = [template.replace("{z}", str(z)).replace("{x}", str(tx)).replace("{y}", str(ty)) for tx, ty in tiles]
    try:
        first = _get(urls[0], timeout)
        with ThreadPoolExecutor(max_workers=4) as pool:
            rest = list(pool.map(lambda u: _get(u, timeout), urls[1:]))
    except (OSError, urllib.error.URLError, ValueError, TimeoutError) as exc:
        _failed_hosts[host] = time.monotonic()
        reason = getattr(exc, "reason", None) or exc
        return None, f"basemap unreachable ({host}: {reason}); drawn offline"
    except Exception as exc:  # a corrupt image or odd server: never fail the map for a basemap
        _failed_hosts[host] = time.monotonic()
        return None, f"basemap unusable ({host}: {type(exc).__name__}); drawn offline"
    _failed_hosts.pop(host, None)
    mosaic = np.ones(((y1 - y0 + 1) * 256, (x1 - x0 + 1) * 256, 3), dtype=np.float32)
    for (tx, ty), arr in zip(tiles, [first, *rest]):
        col = ((tx - x0) % n) * 256
        row = (ty - y0) * 256
        mosaic[row : row + 256, col : col + 256] = arr
    image = _resample(mosaic, z, x0, y0, (xmin, xmax, ymin, ymax), W, H, crs)
    return Basemap(image, (xmin, xmax, ymin, ymax), attr, template, z,
                   len(tiles)), f"basemap: {len(tiles)} tiles at zoom {z} from {host}"


def _resample(mosaic: np.ndarray, z: int, x0: int, y0: int, extent: tuple[float, ...], W: int, H: int, crs: int) -> np.ndarray:
    """Nearest-neighbour resampling of the Web Mercator mosaic onto a BNG pixel lattice."""
    xmin, xmax, ymin, ymax = extent
    to_merc = pyproj.Transformer.from_crs(crs, 3857, always_xy=True)
    # Coarse lattice of exact transforms, bilinear in between.
    nx, ny = min(W, 65), min(H, 65)
    cx = np.linspace(xmin, xmax, nx)
    cy = np.linspace(ymax, ymin, ny)
    gx, gy = np.meshgrid(cx, cy)
    mx, my = to_merc.transform(gx, gy)
    px = (np.arange(W) + 0.5) / W * (nx - 1)
    py = (np.arange(H) + 0.5) / H * (ny - 1)

    def interp(a: np.ndarray) -> np.ndarray:
        i0 = np.clip(np.floor(py).astype(int), 0, ny - 2)
        j0 = np.clip(np.floor(px).astype(int), 0, nx - 2)
        fy = (py - i0)[:, None]
        fx = (px - j0)[None, :]
        a00 = a[i0][:, j0]
        a01 = a[i0][:, j0 + 1]
        a10 = a[i0 + 1][:, j0]
        a11 = a[i0 + 1][:, j0 + 1]
        return (a00 * (1 - fx) + a01 * fx) * (1 - fy) + (a10 * (1 - fx) + a11 * fx) * fy

    fmx, fmy = interp(mx), interp(my)
    tile_m = 2 * _ORIGIN / 2**z
    col = np.floor((fmx + _ORIGIN) / tile_m * 256.0 - x0 * 256.0).astype(np.int64)
    row = np.floor((_ORIGIN - fmy) / tile_m * 256.0 - y0 * 256.0).astype(np.int64)
    col = np.clip(col, 0, mosaic.shape[1] - 1)
    row = np.clip(row, 0, mosaic.shape[0] - 1)
    return mosaic[row, col]
