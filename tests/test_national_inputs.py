"""Tests for hotspots.national_inputs: Parquet point files, filters, police.uk conversion and its cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyproj import Transformer

from hotspots._errors import InputError
from hotspots.national_inputs import iter_points, open_points, police_uk_files, prepare_inputs
from hotspots.schema import POLICE_UK_COLUMNS


def write_table(path, cols, row_group_size=1000):
    pq.write_table(pa.table(cols), path, row_group_size=row_group_size)
    return path


def test_open_points_checks_columns(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_points(tmp_path / "none.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        open_points(tmp_path / "bad.parquet")
    p = write_table(tmp_path / "a.parquet", {"east": [1.0], "north": [2.0]})
    with pytest.raises(InputError, match="neither `x` and `y`"):
        open_points(p)
    p = write_table(tmp_path / "b.parquet", {"x": np.arange(2500.0), "y": np.arange(2500.0)})
    pf = open_points(p)
    assert (pf.coords, pf.rows, pf.row_groups) == ("xy", 2500, 3)


def test_chunks_filters_and_row_groups(tmp_path):
    n = 3000
    rng = np.random.default_rng(0)
    x, y = rng.uniform(4e5, 5e5, n), rng.uniform(2e5, 3e5, n)
    cats = np.array(["Anti-social behaviour", "Burglary", "Drugs"])[rng.integers(0, 3, n)]
    months = pd.to_datetime(np.array(["2025-01-01", "2025-02-01", "2025-03-01"])[rng.integers(0, 3, n)])
    x[5] = np.nan  # a row without a location is skipped
    p = write_table(tmp_path / "p.parquet", {"x": x, "y": y, "category": cats, "month": months})
    src = open_points(p)
    chunks = list(iter_points(src, batch_rows=700))
    assert sum(r for _, _, r in chunks) == n and max(len(c[0]) for c in chunks) <= 700
    assert sum(len(c[0]) for c in chunks) == n - 1
    got = list(iter_points(src, categories=["anti-social BEHAVIOUR"], months=("2025-02", None)))
    keep = (cats == "Anti-social behaviour") & (months >= pd.Timestamp("2025-02-01")) & np.isfinite(x)
    np.testing.assert_array_equal(np.concatenate([c[0] for c in got]), x[keep])
    np.testing.assert_array_equal(np.concatenate([c[1] for c in got]), y[keep])
    # row groups: how a cluster splits the file
    part = list(iter_points(src, row_groups=[1]))
    np.testing.assert_array_equal(np.concatenate([c[0] for c in part]), x[1000:2000])


def test_string_months_and_missing_filter_columns(tmp_path):
    p = write_table(tmp_path / "m.parquet", {"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0], "month": ["2024-12", "2025-01", None]})
    got = list(iter_points(open_points(p), months=("2025-01", "2025-01")))
    np.testing.assert_array_equal(got[0][0], [2.0])
    with pytest.raises(InputError, match="no `category` column"):
        list(iter_points(open_points(p), categories=["Drugs"]))
    q = write_table(tmp_path / "q.parquet", {"x": [1.0], "y": [1.0]})
    with pytest.raises(InputError, match="no `month` column"):
        list(iter_points(open_points(q), months=("2025-01", None)))


def test_longitude_latitude_converted_to_bng(tmp_path):
    lon, lat = np.array([-1.47, -0.12, -3.18]), np.array([52.92, 51.51, 51.48])
    p = write_table(tmp_path / "ll.parquet", {"longitude": lon, "latitude": lat})
    (x, y, _), = list(iter_points(open_points(p)))
    ex, ey = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(x, ex, atol=1e-6)
    np.testing.assert_allclose(y, ey, atol=1e-6)


def police_file(path, rows):
    lines = [",".join(POLICE_UK_COLUMNS)]
    for month, lon, lat, cat in rows:
        lines.append(f",{month},F,F,{lon},{lat},On or near X,E01000001,X 001A,{cat},,")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_prepare_inputs_converts_police_uk_once(tmp_path):
    folder = tmp_path / "data" / "2025-01"
    folder.mkdir(parents=True)
    police_file(folder / "2025-01-alpha-street.csv", [("2025-01", -1.47, 52.92, "Anti-social behaviour"),
                                                       ("2025-01", -1.48, 52.93, "Burglary"),
                                                       ("2025-01", "", "", "Anti-social behaviour")])
    police_file(folder / "2025-01-beta-street.csv", [("2025-01", -2.10, 53.40, "Anti-social behaviour")])
    cache = tmp_path / "cache"
    first = prepare_inputs([tmp_path / "data"], categories=["Anti-social behaviour"], months=None, cache_dir=cache)
    assert first.converted and first.points.rows == 2 and first.rows_by_force == {"alpha": 1, "beta": 1}
    assert first.dropped.get("no location") == 1 and first.categories is None  # applied by the conversion
    again = prepare_inputs([tmp_path / "data"], categories=["Anti-social behaviour"], months=None, cache_dir=cache)
    assert not again.converted and again.cache_path == first.cache_path
    # the cache hit reports the conversion's load report (rows per force, dropped rows and why)
    assert again.rows_by_force == first.rows_by_force and again.dropped == first.dropped
    first.cache_path.with_suffix(".json").write_text("not json")
    damaged = prepare_inputs([tmp_path / "data"], categories=["Anti-social behaviour"], months=None, cache_dir=cache)
    assert not damaged.converted and damaged.rows_by_force == {} and damaged.dropped == {}
    every = prepare_inputs([tmp_path / "data"], categories=None, months=None, cache_dir=cache)
    assert every.converted and every.points.rows == 3 and every.cache_path != first.cache_path


def test_police_uk_files_and_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        police_uk_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no police.uk street files"):
        police_uk_files([tmp_path / "empty"])
    p = write_table(tmp_path / "p.parquet", {"x": [1.0], "y": [1.0]})
    with pytest.raises(InputError, match="one Parquet file"):
        prepare_inputs([p, tmp_path / "empty"], categories=None, months=None)
    assert prepare_inputs([p], categories=None, months=None).points.rows == 1
