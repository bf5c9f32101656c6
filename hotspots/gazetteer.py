"""Reference geography: the Derbyshire town gazetteer and the default study area.

The layers live in the repository's ``geo/`` folder (see ``geo/README.md``); an installed wheel
carries the same files as ``hotspots/_geo/``. Both are hand-made and approximate: the study area
is a hand-drawn outline of the Derbyshire Constabulary force area, **not an official boundary**.

Everything returned here is in British National Grid (EPSG:27700, metres).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ._errors import InputError, ParameterError
from .grid import BNG, points_xy

__all__ = [
    "geo_dir",
    "towns",
    "default_study_area",
    "nearest_town",
    "TOWNS_FILE",
    "STUDY_AREA_FILE",
]

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
