"""Point clusters: DBSCAN and HDBSCAN (scikit-learn) on incident locations, with polygons.

:func:`clusters` labels every incident with the cluster it belongs to (``-1`` for noise) and draws
one polygon per cluster with its count, area and rank.

Cluster ids are stable for the same input: clusters are numbered ``1, 2, ...`` by size (most
incidents first), ties broken by the smallest x and then the smallest y of their points, so the
numbering does not depend on the order of the rows.

Polygons
--------
* ``hull="convex"`` (default): the convex hull of the cluster's points. Simple and predictable; it
  can span empty ground between the arms of an L-shaped cluster.
* ``hull="concave"``: :func:`shapely.concave_hull` with ``ratio=concave_ratio`` (0 = tightest,
  1 = convex). Follows the shape more closely.
* A cluster whose points all sit on one spot or on one line has no area; it is drawn as the point
  or line buffered by ``degenerate_radius`` metres (25 m by default) so that it still shows on a
  map. Its ``area_m2`` is that of the buffered polygon, and ``degenerate`` is true.

police.uk snap points
---------------------
police.uk moves every crime to the nearest of about 750,000 anonymous map points, so many incidents
share one coordinate and a "cluster" may be a single snap point. Each polygon carries
``shared_location_share`` (the share of its incidents at its single most common coordinate) and
``single_point`` (true when that share is at least 50 %), so that such artificial hotspots can be
flagged or filtered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from . import validation
from ._errors import CRSError, ParameterError
from .grid import BNG, points_xy

__all__ = ["clusters", "ClusterResult", "SINGLE_POINT_SHARE", "POLYGON_COLUMNS"]

#: A cluster is flagged ``single_point`` when at least this share of its incidents share one coordinate.
SINGLE_POINT_SHARE = 0.5

#: Columns of :attr:`ClusterResult.polygons`, in order (plus ``geometry``).
POLYGON_COLUMNS = (
    "cluster",
    "n_points",
    "rank",
    "area_m2",
    "n_locations",
    "shared_location_share",
    "single_point",
    "degenerate",
)


@dataclass(frozen=True, eq=False)
class ClusterResult:
    """Clusters of incidents.

    Attributes
    ----------
    labels : ndarray of int, shape (n,)
        Cluster id of each input point in input order; ``-1`` is noise (in no cluster).
    points : GeoDataFrame
        A copy of the input points with a ``cluster`` column (the caller's frame is not changed).
    polygons : GeoDataFrame
        One row per cluster, columns :data:`POLYGON_COLUMNS` and ``geometry``: ``cluster`` (id,
        1 = largest), ``n_points``, ``rank`` (1 = most incidents; ties share the lower rank),
        ``area_m2``, ``n_locations`` (distinct coordinates), ``shared_location_share``,
        ``single_point``, ``degenerate`` (drawn as a buffer because the points had no area).
    params : dict
        Method and settings, counts of clusters and noise points, and ``notes``.
    notes : tuple of str
    """

    labels: np.ndarray
    points: gpd.GeoDataFrame
    polygons: gpd.GeoDataFrame
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_clusters(self) -> int:
        return int(len(self.polygons))

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The cluster polygons."""
        return self.polygons


def _projected_crs(points: Any, crs: Any) -> pyproj.CRS:
    src = getattr(points, "crs", None) if isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)) else None
    if src is not None and crs is not None and not pyproj.CRS(src).equals(pyproj.CRS.from_user_input(crs)):
        raise CRSError(
            f"`points` are in {pyproj.CRS(src).name} but `crs` says {pyproj.CRS.from_user_input(crs).name}; "
            "convert with `points.to_crs(...)` instead of passing `crs`."
        )
    out = pyproj.CRS(src) if src is not None else (pyproj.CRS.from_user_input(crs) if crs is not None else BNG)
    if out.is_geographic:
        raise CRSError(
            f"`points` are in {out.name} (degrees); clustering distances are in metres. Convert them first "
            "with `points.to_crs(27700)`."
        )
    return out


def _validate(method: str, eps: float, min_samples: Any, min_cluster_size: Any, hull: str,
              concave_ratio: float, degenerate_radius: float) -> tuple[float, int, int | None]:
    validation.choice(method, "method", ("dbscan", "hdbscan"))
    validation.choice(hull, "hull", ("convex", "concave"))
    eps_f = validation.distance(eps, "eps", example="150")
    samples = validation.whole(min_samples, "min_samples", low=1)
    mcs = validation.whole(min_cluster_size, "min_cluster_size", low=2, optional=True)
    if mcs is not None and method == "dbscan":
        raise ParameterError("`min_cluster_size` applies to `method='hdbscan'` only; DBSCAN uses `eps` and `min_samples`.")
    validation.fraction(concave_ratio, "concave_ratio")
    validation.distance(degenerate_radius, "degenerate_radius")
    return eps_f, samples, mcs


def _stable_relabel(raw: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Renumber clusters 1..k by size (desc), then smallest x, then smallest y; noise stays -1."""
    out = np.full(len(raw), -1, dtype=np.int64)
    in_cluster = raw >= 0
    if not in_cluster.any():
        return out
    ids = raw[in_cluster]
    k = int(ids.max()) + 1
    sizes = np.bincount(ids, minlength=k)
    minx = np.full(k, np.inf)
    miny = np.full(k, np.inf)
    np.minimum.at(minx, ids, xy[in_cluster, 0])
    np.minimum.at(miny, ids, xy[in_cluster, 1])
    present = np.nonzero(sizes)[0]
    order = present[np.lexsort((miny[present], minx[present], -sizes[present]))]
    new_id = np.full(k, -1, dtype=np.int64)
    new_id[order] = np.arange(1, len(order) + 1)
    out[in_cluster] = new_id[ids]
    return out


def _cluster_polygons(xy: np.ndarray, labels: np.ndarray, k: int, hull: str, ratio: float, radius: float):
    """Hull polygon and statistics of clusters 1..k (vectorised over clusters).

    Distinct coordinates of each cluster are found with one lexicographic sort of (cluster, x, y);
    the hulls are built by shapely over all clusters at once.
    """
    sel = labels > 0
    lab, cxy = labels[sel], xy[sel]
    order = np.lexsort((cxy[:, 1], cxy[:, 0], lab))
    lab, cxy = lab[order], cxy[order]
    new_loc = np.ones(len(lab), dtype=bool)
    new_loc[1:] = (lab[1:] != lab[:-1]) | (cxy[1:, 0] != cxy[:-1, 0]) | (cxy[1:, 1] != cxy[:-1, 1])
    loc_start = np.flatnonzero(new_loc)
    loc_count = np.diff(np.append(loc_start, len(lab)))
    loc_lab = lab[loc_start]
    loc_xy = cxy[loc_start]
    n_points = np.bincount(lab, minlength=k + 1)[1:]
    n_locations = np.bincount(loc_lab, minlength=k + 1)[1:]
    biggest = np.zeros(k + 1, dtype=np.int64)
    np.maximum.at(biggest, loc_lab, loc_count)
    share = biggest[1:] / n_points
    mp = shapely.multipoints(loc_xy, indices=loc_lab - 1)
    geoms = shapely.convex_hull(mp) if hull == "convex" else shapely.concave_hull(mp, ratio=ratio)
    # All points on one spot or one line: no area, so buffer the point / segment instead.
    degenerate = ~np.isin(shapely.get_type_id(geoms), (3, 6)) | (shapely.area(geoms) <= 0)
    if degenerate.any():
        geoms[degenerate] = shapely.buffer(shapely.convex_hull(mp[degenerate]), radius)
    stats = {
        "cluster": np.arange(1, k + 1, dtype=np.int64),
        "n_points": n_points.astype(np.int64),
        "area_m2": shapely.area(geoms),
        "n_locations": n_locations.astype(np.int64),
        "shared_location_share": share,
        "single_point": share >= SINGLE_POINT_SHARE,
        "degenerate": degenerate,
    }
    return geoms, stats


def _postprocess(xy: np.ndarray, raw: np.ndarray, hull: str, ratio: float, radius: float, crs: pyproj.CRS):
    """Stable labels and the polygon table from scikit-learn's raw labels (everything but the fit)."""
    labels = _stable_relabel(raw, xy)
    k = int(labels.max()) if (len(labels) and labels.max() > 0) else 0
    if k == 0:
        return labels, _empty_polygons(crs)
    geoms, stats = _cluster_polygons(xy, labels, k, hull, ratio, radius)
    df = pd.DataFrame(stats)
    df["rank"] = df["n_points"].rank(method="min", ascending=False).astype("int64")
    return labels, gpd.GeoDataFrame(df[list(POLYGON_COLUMNS)], geometry=geoms, crs=crs)


def _empty_polygons(crs: pyproj.CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "cluster": pd.Series(dtype="int64"),
            "n_points": pd.Series(dtype="int64"),
            "rank": pd.Series(dtype="int64"),
            "area_m2": pd.Series(dtype="float64"),
            "n_locations": pd.Series(dtype="int64"),
            "shared_location_share": pd.Series(dtype="float64"),
            "single_point": pd.Series(dtype="bool"),
            "degenerate": pd.Series(dtype="bool"),
        },
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


def clusters(
    points: Any,
    method: Literal["dbscan", "hdbscan"] = "dbscan",
    *,
    eps: float = 150.0,
    min_samples: int = 20,
    min_cluster_size: int | None = None,
    hull: Literal["convex", "concave"] = "convex",
    concave_ratio: float = 0.3,
    degenerate_radius: float = 25.0,
    seed: int | None = None,
    crs: Any = None,
) -> ClusterResult:
    """Density-based clusters of incident points, with a polygon per cluster.

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or (n, 2) array
        Incident locations in a projected CRS in metres (British National Grid for arrays unless
        ``crs`` says otherwise).
    method : {"dbscan", "hdbscan"}
        :class:`sklearn.cluster.DBSCAN` (k-d tree) or :class:`sklearn.cluster.HDBSCAN`.
    eps : float
        DBSCAN: neighbourhood radius in metres (default 150 m). Not used by HDBSCAN.
    min_samples : int
        DBSCAN: incidents (the point itself included) within ``eps`` for a core point (default
        20). HDBSCAN: the ``min_samples`` of its core distance.
    min_cluster_size : int, optional
        HDBSCAN only: the smallest cluster; defaults to ``min_samples`` (at least 2).
    hull : {"convex", "concave"}
        Polygon per cluster; see the module documentation.
    concave_ratio : float
        ``ratio`` of :func:`shapely.concave_hull` (0–1) for ``hull="concave"``.
    degenerate_radius : float
        Buffer radius in metres for clusters whose points have no area (one spot or one line).
    seed : int, optional
        Accepted for a uniform interface and recorded in ``params``; DBSCAN and HDBSCAN are
        deterministic, so it changes nothing.
    crs : optional
        CRS of an array input (default British National Grid).

    Returns
    -------
    ClusterResult
        Empty input gives an empty result (no clusters, a note), not an error.

    Raises
    ------
    ParameterError
        Bad ``method``, ``eps``, ``min_samples``, ``min_cluster_size``, ``hull``, ratios or radius.
    CRSError
        Points in degrees (convert with ``.to_crs(27700)``) or a ``crs`` that disagrees with them.
    """
    eps_f, ms, mcs = _validate(method, eps, min_samples, min_cluster_size, hull, concave_ratio, degenerate_radius)
    out_crs = _projected_crs(points, crs)
    xy = points_xy(points, None)
    n = len(xy)
    notes: list[str] = []

    if isinstance(points, gpd.GeoDataFrame):
        pts_out = points.copy()
    elif isinstance(points, gpd.GeoSeries):
        pts_out = gpd.GeoDataFrame(geometry=points.copy(), crs=out_crs)
    else:
        pts_out = gpd.GeoDataFrame(geometry=shapely.points(xy) if n else gpd.GeoSeries([], crs=out_crs), crs=out_crs)

    if method == "hdbscan":
        mcs_eff = mcs if mcs is not None else max(2, ms)
        need = max(mcs_eff, ms)
    else:
        mcs_eff = None
        need = ms

    if n == 0:
        raw = np.empty(0, dtype=np.int64)
        notes.append("no points: no clusters.")
    elif n < need:
        raw = np.full(n, -1, dtype=np.int64)
        notes.append(f"only {n} point(s), fewer than the {need} a cluster needs: every point is noise.")
    elif method == "dbscan":
        from sklearn.cluster import DBSCAN

        raw = DBSCAN(eps=eps_f, min_samples=ms, algorithm="kd_tree").fit(xy).labels_.astype(np.int64)
    else:
        from sklearn.cluster import HDBSCAN

        raw = HDBSCAN(min_cluster_size=mcs_eff, min_samples=ms, algorithm="kd_tree", copy=True).fit(xy).labels_.astype(np.int64)
        # HDBSCAN marks infinite/missing with -2/-3; we have no such values, but keep them as noise.
        raw = np.where(raw < 0, -1, raw)

    labels, polys = _postprocess(xy, raw, hull, float(concave_ratio), float(degenerate_radius), out_crs)
    pts_out["cluster"] = labels
    k = len(polys)
    if k:
        df = polys
        n_single = int(df["single_point"].sum())
        if n_single:
            notes.append(
                f"{n_single} of {k} cluster(s) have at least {SINGLE_POINT_SHARE:.0%} of their incidents on one coordinate "
                "(police.uk snap points can create such single-point hotspots); see `single_point`."
            )
        n_deg = int(df["degenerate"].sum())
        if n_deg:
            notes.append(f"{n_deg} cluster(s) lie on one spot or one line and are drawn as {degenerate_radius:g} m buffers.")

    n_noise = int((labels == -1).sum())
    params = {
        "method": method,
        "eps_m": eps_f if method == "dbscan" else None,
        "min_samples": ms,
        "min_cluster_size": mcs_eff,
        "hull": hull,
        "concave_ratio": float(concave_ratio) if hull == "concave" else None,
        "degenerate_radius_m": float(degenerate_radius),
        "seed": seed,
        "n_points": int(n),
        "n_clusters": int(k),
        "n_noise": n_noise,
        "crs": out_crs.to_string(),
        "notes": list(notes),
    }
    return ClusterResult(labels, pts_out, polys, params, tuple(notes))
