"""Tests for hotspots.clustering: labels equal scikit-learn's, polygons, counts, flags, errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN, HDBSCAN

from hotspots._errors import CRSError, ParameterError
from hotspots.clustering import POLYGON_COLUMNS, ClusterResult, clusters

X0, Y0 = 435_000.0, 336_000.0


def scene(seed: int = 0) -> np.ndarray:
    """Three blobs of different sizes, a police.uk-style snap point, a line of points, noise."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal([1000, 1000], 40, (120, 2)),  # biggest
        rng.normal([3000, 1200], 30, (70, 2)),
        np.tile([[5000.0, 5000.0]], (45, 1)),  # 45 incidents on one coordinate
        np.column_stack([np.linspace(2000, 2300, 40), np.full(40, 4000.0)]),  # collinear, 7.7 m apart
        rng.uniform(0, 6000, (80, 2)),
    ]
    return np.vstack(parts) + [X0, Y0]


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two labelings put the same points together and the same points in noise."""
    if not np.array_equal(a == -1, b == -1):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist()))
    return len(pairs) == len(set(a[a >= 0].tolist())) == len(set(b[b >= 0].tolist()))


def test_dbscan_labels_match_sklearn():
    xy = scene()
    res = clusters(xy, eps=60, min_samples=10)
    ref = DBSCAN(eps=60, min_samples=10).fit(xy).labels_
    assert same_partition(res.labels, ref)
    assert res.n_clusters == len(set(ref)) - (1 if -1 in ref else 0) == 4
    assert res.params["n_noise"] == int((ref == -1).sum())


def test_hdbscan_labels_match_sklearn():
    xy = scene(1)
    res = clusters(xy, "hdbscan", min_samples=10)
    ref = HDBSCAN(min_cluster_size=10, min_samples=10, copy=True).fit(xy).labels_
    assert same_partition(res.labels, np.where(ref < 0, -1, ref))
    assert res.params["min_cluster_size"] == 10
    res2 = clusters(xy, "hdbscan", min_samples=5, min_cluster_size=30)
    ref2 = HDBSCAN(min_cluster_size=30, min_samples=5, copy=True).fit(xy).labels_
    assert same_partition(res2.labels, np.where(ref2 < 0, -1, ref2))


def test_ids_ordered_by_size_and_stable_under_row_order():
    xy = scene()
    res = clusters(xy, eps=60, min_samples=10)
    sizes = res.polygons.set_index("cluster")["n_points"]
    assert list(sizes.index) == [1, 2, 3, 4]
    assert list(sizes) == sorted(sizes, reverse=True)
    assert sizes[1] == 120 and sizes[2] == 70
    perm = np.random.default_rng(7).permutation(len(xy))
    res_p = clusters(xy[perm], eps=60, min_samples=10)
    np.testing.assert_array_equal(res_p.labels, res.labels[perm])
    assert list(res_p.polygons["n_points"]) == list(res.polygons["n_points"])


def test_equal_sizes_broken_by_min_x_then_y():
    rng = np.random.default_rng(2)
    east = rng.normal([3000, 0], 5, (30, 2))
    west = rng.normal([0, 0], 5, (30, 2))
    xy = np.vstack([east, west]) + [X0, Y0]
    res = clusters(xy, eps=20, min_samples=5)
    assert (res.labels[30:] == 1).all() and (res.labels[:30] == 2).all()
    assert list(res.polygons["rank"]) == [1, 1]  # ties share a rank


def test_polygon_counts_and_containment():
    xy = scene()
    res = clusters(xy, eps=60, min_samples=10)
    p = res.polygons
    assert list(p.columns) == [*POLYGON_COLUMNS, "geometry"]
    assert p["n_points"].sum() == (res.labels > 0).sum()
    for row in p.itertuples():
        members = xy[res.labels == row.cluster]
        assert len(members) == row.n_points
        assert shapely.covers(row.geometry, shapely.points(members)).all()
        assert row.area_m2 == pytest.approx(row.geometry.area)
    assert p.crs.equals(27700)


def test_concave_hull_is_tighter_and_contains_points():
    rng = np.random.default_rng(4)
    # An L-shaped cluster: the convex hull fills the empty corner, a concave one should not.
    arm1 = np.column_stack([rng.uniform(0, 1000, 300), rng.uniform(0, 100, 300)])
    arm2 = np.column_stack([rng.uniform(0, 100, 300), rng.uniform(0, 1000, 300)])
    xy = np.vstack([arm1, arm2]) + [X0, Y0]
    cvx = clusters(xy, eps=80, min_samples=4)
    ccv = clusters(xy, eps=80, min_samples=4, hull="concave", concave_ratio=0.1)
    assert cvx.n_clusters == ccv.n_clusters == 1
    assert ccv.polygons["area_m2"].iloc[0] < 0.5 * cvx.polygons["area_m2"].iloc[0]
    assert shapely.covers(ccv.polygons.geometry.iloc[0], shapely.points(xy)).all()
    assert ccv.params["hull"] == "concave" and ccv.params["concave_ratio"] == 0.1


def test_single_point_and_degenerate_flags():
    xy = scene()
    res = clusters(xy, eps=60, min_samples=10, degenerate_radius=30)
    p = res.polygons.set_index("cluster")
    snap = res.labels[120 + 70]  # first incident of the snap point
    line = res.labels[120 + 70 + 45]
    assert p.loc[snap, "single_point"] and p.loc[snap, "degenerate"]
    assert p.loc[snap, "shared_location_share"] == 1.0 and p.loc[snap, "n_locations"] == 1
    # One spot buffered by 30 m: a disc of about π·30² m².
    assert p.loc[snap, "area_m2"] == pytest.approx(np.pi * 30**2, rel=0.02)
    assert p.loc[line, "degenerate"] and not p.loc[line, "single_point"]
    assert p.loc[line, "area_m2"] > 0
    blob = res.labels[0]
    assert not p.loc[blob, "single_point"] and not p.loc[blob, "degenerate"]
    assert p.loc[blob, "shared_location_share"] == pytest.approx(1 / 120)
    assert any("snap points" in n for n in res.notes)


def test_single_point_threshold_is_half():
    rng = np.random.default_rng(9)
    spot = np.tile([[100.0, 100.0]], (20, 1))
    around = rng.normal([100, 100], 10, (20, 2))
    xy = np.vstack([spot, around]) + [X0, Y0]
    res = clusters(xy, eps=60, min_samples=5)
    row = res.polygons.iloc[0]
    assert row["shared_location_share"] == pytest.approx(0.5)
    assert row["single_point"]
    res2 = clusters(xy[1:], eps=60, min_samples=5)  # 19 of 39 on the spot: just under half
    assert not res2.polygons.iloc[0]["single_point"]


def test_geodataframe_in_and_out_not_mutated():
    xy = scene()
    g = gpd.GeoDataFrame({"category": ["asb"] * len(xy)}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    before = g.copy()
    res = clusters(g, eps=60, min_samples=10)
    assert "cluster" not in g.columns
    pd.testing.assert_frame_equal(pd.DataFrame(g), pd.DataFrame(before))
    assert list(res.points["cluster"]) == list(res.labels)
    assert list(res.points["category"]) == ["asb"] * len(xy)
    assert isinstance(res, ClusterResult) and res.to_geodataframe() is res.polygons


def test_empty_and_tiny_inputs():
    res = clusters(np.empty((0, 2)))
    assert len(res.labels) == 0 and res.n_clusters == 0 and len(res.points) == 0
    assert list(res.polygons.columns) == [*POLYGON_COLUMNS, "geometry"]
    assert any("no points" in n for n in res.notes)
    e = clusters(gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=27700)), "hdbscan")
    assert e.n_clusters == 0
    few = clusters(np.array([[X0, Y0], [X0 + 1, Y0]]), "hdbscan", min_samples=5)
    assert (few.labels == -1).all() and few.n_clusters == 0


def test_crs_checks():
    xy = scene()
    g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700).to_crs(4326)
    with pytest.raises(CRSError, match="to_crs"):
        clusters(g)
    with pytest.raises(CRSError, match="to_crs"):
        clusters(xy, crs=4326)
    g2 = g.to_crs(27700)
    with pytest.raises(CRSError):
        clusters(g2, crs=3857)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "kmeans"}, "method"),
        ({"eps": 0}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"eps": "far"}, "eps"),
        ({"min_samples": 0}, "min_samples"),
        ({"min_samples": 2.5}, "min_samples"),
        ({"min_samples": True}, "min_samples"),
        ({"method": "hdbscan", "min_cluster_size": 1}, "min_cluster_size"),
        ({"min_cluster_size": 10}, "hdbscan"),
        ({"hull": "alpha"}, "hull"),
        ({"concave_ratio": 1.5}, "concave_ratio"),
        ({"degenerate_radius": -1}, "degenerate_radius"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        clusters(scene(), **kwargs)


def test_params_recorded():
    res = clusters(scene(), eps=60, min_samples=10, seed=3)
    assert res.params["method"] == "dbscan" and res.params["eps_m"] == 60.0
    assert res.params["min_samples"] == 10 and res.params["seed"] == 3
    assert res.params["n_points"] == len(scene()) and res.params["n_clusters"] == res.n_clusters


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(0, 150), eps=st.floats(5, 200), ms=st.integers(1, 8))
def test_property_partition_and_polygons(seed, n, eps, ms):
    rng = np.random.default_rng(seed)
    xy = np.round(rng.normal(0, 150, (n, 2)) / 10) * 10 + [X0, Y0]  # rounding makes shared coordinates
    res = clusters(xy, eps=eps, min_samples=ms)
    assert len(res.labels) == n
    if n:
        ref = DBSCAN(eps=eps, min_samples=ms).fit(xy).labels_
        assert same_partition(res.labels, ref)
    ids = sorted(set(res.labels[res.labels > 0].tolist()))
    assert ids == list(range(1, len(ids) + 1))
    assert res.polygons["n_points"].sum() == (res.labels > 0).sum()
    for row in res.polygons.itertuples():
        assert shapely.covers(row.geometry, shapely.points(xy[res.labels == row.cluster])).all()
        assert 0 < row.shared_location_share <= 1 and row.area_m2 > 0
