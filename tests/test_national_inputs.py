"""Tests for hotspots.national_inputs: Parquet point files, filters, police.uk conversion and its cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyproj import Transformer

from hotspots._errors import InputError, ParameterError
from hotspots.national_inputs import held_categories_and_months, iter_points, open_points, police_uk_files, prepare_inputs
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


def test_category_filter_matches_as_choose_category_does(tmp_path):
    """'ASB' and 'Anti-Social Behaviour ' rows are anti-social behaviour here too (one matching rule:
    hotspots.preparation.category_matches)."""
    cats = ["Anti-social behaviour", "ASB", "Anti-Social Behaviour ", "Burglary", "anti social behavior"]
    p = write_table(tmp_path / "c.parquet", {"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.0] * 5, "category": cats})
    got = list(iter_points(open_points(p), categories=["Anti-social behaviour"]))
    np.testing.assert_array_equal(np.concatenate([c[0] for c in got]), [1.0, 2.0, 3.0, 5.0])


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
    assert first.applied == {"categories": ["Anti-social behaviour"], "months": None}  # ... and recorded as applied
    again = prepare_inputs([tmp_path / "data"], categories=["Anti-social behaviour"], months=None, cache_dir=cache)
    assert not again.converted and again.cache_path == first.cache_path
    assert again.applied == first.applied  # a cache hit applied the same filters
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


def test_dropped_rows_are_counted_by_reason_and_bad_months_do_not_crash(tmp_path):
    """A Parquet file with 100 NaN longitudes, 10 latitudes of 95 and 5 months "garbage": 110 rows
    vanished unrecorded, and `--months` raised a ValueError on "garbage"."""
    n = 1204
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(-1.6, -1.3, n), rng.uniform(52.8, 53.0, n)
    lon[:100] = np.nan
    lat[100:110] = 95.0
    months = np.array([f"2025-0{1 + i % 6}" for i in range(n)], dtype=object)
    months[110:115] = "garbage"
    months[115] = None
    p = write_table(tmp_path / "bad.parquet", {"longitude": lon, "latitude": lat, "category": ["Anti-social behaviour"] * n,
                                               "month": months}, row_group_size=500)
    src = open_points(p)
    dropped = {}
    kept = sum(len(x) for x, _, _ in iter_points(src, dropped=dropped))
    assert dropped == {"no location": 100, "out-of-range coordinates": 10} and kept == n - 110
    dropped = {}
    chunks = list(iter_points(src, months=("2025-03", "2025-03"), dropped=dropped, batch_rows=300))
    kept = sum(len(x) for x, _, _ in chunks)
    in_march = sum(1 for i in range(116, n) if i % 6 == 2)
    assert kept == in_march and sum(r for _, _, r in chunks) == n
    assert dropped == {"no location": 100, "out-of-range coordinates": 10, "unparseable month": 5, "missing month": 1,
                       "month outside range": n - 116 - in_march}
    assert kept + sum(dropped.values()) == n


def test_no_points_in_the_chosen_categories_or_months_names_what_the_data_hold(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    police_file(folder / "2025-01-alpha-street.csv", [("2025-01", -1.47, 52.92, "Anti-social behaviour"),
                                                       ("2025-02", -1.48, 52.93, "Burglary")])
    cache = tmp_path / "cache"
    for _ in range(2):  # the conversion, then its (empty) cached file
        with pytest.raises(ParameterError, match=r"no incidents have the category 'Nonsense' \(`categories`\); the data hold "
                                                 r"Anti-social behaviour, Burglary\."):
            prepare_inputs([folder], categories=["Nonsense"], months=None, cache_dir=cache)
    with pytest.raises(ParameterError, match=r"no incidents in the months 2030-01 to 2030-12 \(`months`\); the data hold "
                                             r"2025-01 to 2025-02 \(2 months\)"):
        prepare_inputs([folder], categories=None, months=("2030-01", "2030-12"), cache_dir=cache)
    # each matches some rows, together none: both named, with what the data hold
    with pytest.raises(ParameterError, match=r"'Burglary' and the months 2025-01 to 2025-01 \(`categories`, `months`\)"):
        prepare_inputs([folder], categories=["Burglary"], months=("2025-01", "2025-01"), cache_dir=cache)
    assert held_categories_and_months([folder]) == (["Anti-social behaviour", "Burglary"], ["2025-01", "2025-02"])


def test_the_conversion_cache_is_keyed_by_the_loaders_rules(tmp_path, monkeypatch):
    """Converted points follow the loader's rules (which rows are copies or duplicates): a changed
    loader must convert again, not serve points loaded by the old rules."""
    import hotspots.io.cache as io_cache
    from hotspots.national_inputs import _cache_key

    f = police_file(tmp_path / "2025-01-alpha-street.csv", [("2025-01", -1.47, 52.92, "Anti-social behaviour")])
    before = _cache_key([f], None, None)
    assert _cache_key([f], None, None) == before
    monkeypatch.setattr(io_cache, "loader_fingerprint", lambda: "other rules")
    assert _cache_key([f], None, None) != before


def test_month_span_from_the_statistics_narrowed_by_a_filter(tmp_path):
    from hotspots.national import write_points_parquet
    from hotspots.national_inputs import month_span

    xy = np.column_stack([np.linspace(400_000, 401_000, 6), np.linspace(300_000, 301_000, 6)])
    months = np.array(["2025-02", "2025-04", "2025-03", "2025-07", "2025-05", "2025-02"])
    src = open_points(write_points_parquet(tmp_path / "p.parquet", xy, columns={"month": months}, row_group_size=3))
    assert month_span(src) == ("2025-02", "2025-07")
    assert month_span(src, ("2025-03", None)) == ("2025-03", "2025-07")
    assert month_span(src, ("2025-03", "2025-05")) == ("2025-03", "2025-05")
    assert month_span(src, ("2026-01", "2026-02")) is None
    plain = open_points(write_points_parquet(tmp_path / "q.parquet", xy))
    assert month_span(plain) is None


def test_iter_points_leaves_strays_out_by_force_and_counts_them(tmp_path):
    from hotspots.national_strays import STRAY_REASON, find_strays

    rng = np.random.default_rng(1)
    xy = np.vstack([rng.normal((420_000, 540_000), 2_000, (300, 2)), [[568_291.0, 130_515.0]]])
    forces = np.array(["durham"] * 301)
    p = write_table(tmp_path / "p.parquet", {"x": xy[:, 0], "y": xy[:, 1], "force": forces})
    src = open_points(p)
    chunks = list(iter_points(src, batch_rows=100, with_forces=True))
    assert all(len(c) == 4 and list(set(c[3])) == ["durham"] for c in chunks)
    found = find_strays((x, y, f) for x, y, _, f in chunks)
    dropped: dict[str, int] = {}
    got = list(iter_points(src, batch_rows=100, strays=found, dropped=dropped))
    assert sum(len(c[0]) for c in got) == 300 and dropped == {STRAY_REASON: 1} and sum(c[2] for c in got) == 301
