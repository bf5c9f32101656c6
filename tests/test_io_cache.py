"""Tests for hotspots.io.cache: the Parquet cache of police.uk loads.

A hit is proved by the cache's own counters (``STATS``) and ``params["cache"]``, never by timing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from hotspots._errors import ParameterError
from hotspots.io import Upload, load_any, load_police_uk
from hotspots.io import cache as cache_mod
from hotspots.io.cache import STATS, cache_dir, clear_cache, report_from_dict
from hotspots.schema import POLICE_UK_COLUMNS

ROWS = {
    "2025-01": [
        ",2025-01,Testshire Police,Testshire Police,-1.47,52.92,On or near A Street,E01000001,Test 001A,Anti-social behaviour,,",
        ",2025-01,Testshire Police,Testshire Police,-1.47,52.92,On or near A Street,E01000001,Test 001A,Anti-social behaviour,,",
        "abc1,2025-01,Testshire Police,Testshire Police,-1.48,52.93,On or near B Road,"
        "E01000002,Test 002A,Burglary,Under investigation,",
        "abc1,2025-01,Testshire Police,Testshire Police,-1.49,52.94,On or near C Lane,"
        "E01000002,Test 002A,Burglary,Under investigation,",
        "abc2,2025-01,Testshire Police,Testshire Police,,,No Location,,,Robbery,,",
    ],
    "2025-02": [
        ",2025-02,Testshire Police,Testshire Police,-1.40,52.90,On or near D Way,E01000003,Test 003A,Anti-social behaviour,,",
        'abc3,2025-02,Testshire Police,Testshire Police,-1.41,52.91,"On or near Quoted, Street",E01000003,Test 003A,Drugs,,',
        "abc4,2025-02,Testshire Police,Testshire Police,-0.10,51.50,On or near Far Away,E01000004,Elsewhere 001A,Burglary,,",
    ],
    "2025-03": [
        ",2025-03,Testshire Police,Testshire Police,-1.45,52.95,On or near E Street,E01000005,Test 005A,Anti-social behaviour,,",
    ],
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    for m, rows in ROWS.items():
        (d / m).mkdir(parents=True)
        (d / m / f"{m}-testshire-street.csv").write_text(",".join(POLICE_UK_COLUMNS) + "\n" + "\n".join(rows) + "\n")
    return d


@pytest.fixture
def cdir(tmp_path: Path) -> Path:
    STATS.reset()
    return tmp_path / "cache"


def strip_cache(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "cache"}


def assert_same_load(a, b) -> None:
    assert_geodataframe_equal(
        a.data, b.data, check_dtype=True, check_index_type=True, check_column_type=True, check_less_precise=False
    )
    assert list(a.data.columns) == list(b.data.columns)
    assert a.data.dtypes.to_dict() == b.data.dtypes.to_dict()
    assert a.report == b.report
    assert a.report.to_dict() == b.report.to_dict()
    assert strip_cache(a.params) == strip_cache(b.params)


# =========================================================================== check outputs
def test_second_load_is_a_hit_with_identical_results(files, cdir):
    plain = load_police_uk(files)
    first = load_police_uk(files, cache=True, cache_dir=cdir)
    assert first.params["cache"]["status"] == "miss"
    assert (STATS.hits, STATS.misses, STATS.writes) == (0, 1, 1)
    second = load_police_uk(files, cache=True, cache_dir=cdir)
    assert second.params["cache"]["status"] == "hit"
    assert (STATS.hits, STATS.misses, STATS.writes) == (1, 1, 1)
    assert Path(second.params["cache"]["file"]).parent == cdir.resolve() / "loads"
    assert_same_load(plain, first)
    assert_same_load(plain, second)
    assert "cache" not in plain.params
    # The report is not trivial: duplicates, no-location rows and notes all survive the round trip.
    assert second.report.dropped == {"duplicate id": 1, "no location": 1}
    assert len(second.report.files) == 3 and second.report.notes


def test_options_are_part_of_the_key(files, cdir):
    asb = load_police_uk(files, categories="asb", cache=True, cache_dir=cdir)
    allc = load_police_uk(files, cache=True, cache_dir=cdir)
    assert STATS.misses == 2 and STATS.hits == 0
    assert len(asb.data) < len(allc.data)
    again = load_police_uk(files, categories=["Anti-social behaviour"], cache=True, cache_dir=cdir)
    assert again.params["cache"]["status"] == "miss"  # a different spelling is a different key
    months = load_police_uk(files, months=("2025-02", "2025-03"), cache=True, cache_dir=cdir)
    months2 = load_police_uk(files, months=("2025-02", "2025-03"), cache=True, cache_dir=cdir)
    assert months2.params["cache"]["status"] == "hit"
    assert_same_load(months, months2)
    assert months2.params["months"] == ("2025-02", "2025-03")  # tuples stay tuples


def test_study_area_round_trip(files, cdir):
    from pyproj import Transformer

    tr = Transformer.from_crs(4326, 27700, always_xy=True)
    x0, y0 = tr.transform(-1.6, 52.8)
    x1, y1 = tr.transform(-1.3, 53.0)
    area = shapely.box(x0, y0, x1, y1)
    a = load_police_uk(files, study_area=area, cache=True, cache_dir=cdir)
    b = load_police_uk(files, study_area=area, cache=True, cache_dir=cdir)
    assert b.params["cache"]["status"] == "hit"
    assert_same_load(a, b)
    assert "in_study_area" in b.data.columns and not b.data["in_study_area"].all()
    assert b.report.warnings  # the "outside the study area" warning is cached too
    c = load_police_uk(files, study_area=area.buffer(-100), cache=True, cache_dir=cdir)
    assert c.params["cache"]["status"] == "miss"
    d = load_police_uk(files, study_area=area, drop_outside=True, cache=True, cache_dir=cdir)
    assert d.params["cache"]["status"] == "miss" and "outside study area" in d.report.dropped


def test_empty_result_is_cached(files, cdir):
    a = load_police_uk(files, categories="Shoplifting", cache=True, cache_dir=cdir)
    b = load_police_uk(files, categories="Shoplifting", cache=True, cache_dir=cdir)
    assert len(a.data) == 0 and b.params["cache"]["status"] == "hit"
    assert_same_load(a, b)


# =========================================================================== invalidation
def test_changed_content_invalidates_even_with_same_size_and_mtime(files, cdir):
    first = load_police_uk(files, cache=True, cache_dir=cdir)
    f = files / "2025-03" / "2025-03-testshire-street.csv"
    st = f.stat()
    text = f.read_text()
    changed = text.replace("-1.45,52.95", "-1.46,52.95")
    assert len(changed) == len(text)
    f.write_text(changed)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    second = load_police_uk(files, cache=True, cache_dir=cdir)
    assert second.params["cache"]["status"] == "miss"
    assert not second.data.geometry.equals(first.data.geometry)
    assert_same_load(load_police_uk(files), second)
    # The documented trade-off: "stat" mode trusts size + mtime and cannot see this edit.
    load_police_uk(files, cache="stat", cache_dir=cdir)
    f.write_text(text)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    fooled = load_police_uk(files, cache="stat", cache_dir=cdir)
    assert fooled.params["cache"]["status"] == "hit"
    # ... but notices a new modification time.
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert load_police_uk(files, cache="stat", cache_dir=cdir).params["cache"]["status"] == "miss"


def test_added_file_and_renamed_file_invalidate(files, cdir):
    load_police_uk(files, cache=True, cache_dir=cdir)
    f = files / "2025-03" / "2025-03-testshire-street.csv"
    f.rename(files / "2025-03" / "2025-03-other-street.csv")  # same bytes, new name (the `source` column)
    b = load_police_uk(files, cache=True, cache_dir=cdir)
    assert b.params["cache"]["status"] == "miss"
    assert "2025-03-other-street.csv" in set(b.data["source"].str.split("/").str[-1])


def test_loader_code_change_invalidates(files, cdir, monkeypatch):
    load_police_uk(files, cache=True, cache_dir=cdir)
    monkeypatch.setattr(cache_mod, "_code_fingerprint", lambda: "another version of the loader")
    assert load_police_uk(files, cache=True, cache_dir=cdir).params["cache"]["status"] == "miss"


def test_refresh_rebuilds(files, cdir):
    load_police_uk(files, cache=True, cache_dir=cdir)
    r = load_police_uk(files, cache="refresh", cache_dir=cdir)
    assert r.params["cache"]["status"] == "refresh" and STATS.writes == 2


# =========================================================================== damage
@pytest.mark.parametrize("damage", [b"not parquet at all", b"PAR1" + b"\x00" * 100 + b"PAR1", "truncate"])
def test_corrupt_cache_file_is_ignored_and_rebuilt(files, cdir, damage):
    first = load_police_uk(files, cache=True, cache_dir=cdir)
    path = Path(first.params["cache"]["file"])
    if damage == "truncate":
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    else:
        path.write_bytes(damage)
    second = load_police_uk(files, cache=True, cache_dir=cdir)
    assert STATS.corrupt == 1
    assert second.params["cache"]["status"] == "miss"
    assert_same_load(first, second)
    third = load_police_uk(files, cache=True, cache_dir=cdir)
    assert third.params["cache"]["status"] == "hit"


def test_entry_of_another_key_is_not_served(files, cdir):
    a = load_police_uk(files, cache=True, cache_dir=cdir)
    b = load_police_uk(files, categories="asb", cache=True, cache_dir=cdir)
    # Put a's entry under b's name: the key stored inside the file does not match.
    Path(b.params["cache"]["file"]).write_bytes(Path(a.params["cache"]["file"]).read_bytes())
    c = load_police_uk(files, categories="asb", cache=True, cache_dir=cdir)
    assert STATS.corrupt == 1 and c.params["cache"]["status"] == "miss"
    assert_same_load(b, c)


# =========================================================================== location
def test_cache_dir_from_environment(files, tmp_path, monkeypatch):
    monkeypatch.setenv("HOTSPOTS_CACHE_DIR", str(tmp_path / "envcache"))
    r = load_police_uk(files, cache=True)
    assert Path(r.params["cache"]["file"]).is_relative_to((tmp_path / "envcache").resolve())
    assert cache_dir() == (tmp_path / "envcache").resolve()
    assert clear_cache() == 1
    assert load_police_uk(files, cache=True).params["cache"]["status"] == "miss"


def test_default_cache_dir_is_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("HOTSPOTS_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == (tmp_path / ".cache" / "hotspots").resolve()


def test_cache_dir_inside_repository_is_refused():
    repo = Path(cache_mod.__file__).resolve().parents[2]
    with pytest.raises(ParameterError, match="inside the hotspots source tree"):
        cache_dir(repo / "cache")


def test_bad_cache_mode(files, cdir):
    with pytest.raises(ParameterError, match="`cache`"):
        load_police_uk(files, cache="sometimes", cache_dir=cdir)


# =========================================================================== other entry points
def test_load_any_passes_cache_through(files, cdir):
    a = load_any(files, cache=True, cache_dir=cdir)
    b = load_any(files, cache=True, cache_dir=cdir)
    assert b.params["cache"]["status"] == "hit"
    assert_same_load(a, b)


def test_load_any_ignores_cache_for_generic_tables(tmp_path, cdir):
    p = tmp_path / "t.csv"
    p.write_text("id,date,lon,lat\n1,2025-01-05,-1.47,52.92\n")
    r = load_any(p, cache=True, cache_dir=cdir)
    assert len(r.data) == 1 and "cache" not in r.params and STATS.misses == 0


def test_uploads_are_keyed_by_their_bytes(files, cdir):
    f = files / "2025-01" / "2025-01-testshire-street.csv"
    up = Upload("2025-01-testshire-street.csv", f.read_bytes())
    a = load_police_uk(up, cache=True, cache_dir=cdir)
    b = load_police_uk(Upload(up.name, up.data), cache=True, cache_dir=cdir)
    assert b.params["cache"]["status"] == "hit"
    assert_same_load(a, b)
    c = load_police_uk(Upload(up.name, up.data.replace(b"B Road", b"X Road")), cache=True, cache_dir=cdir)
    assert c.params["cache"]["status"] == "miss"


def test_uncacheable_option_bypasses(files, cdir):
    import numpy as np

    r = load_police_uk(files, categories=np.array(["Burglary"]), cache=True, cache_dir=cdir)
    assert r.params["cache"]["status"] == "bypass" and STATS.bypassed == 1
    assert set(r.data["category"]) == {"Burglary"}


def test_report_from_dict_inverts_to_dict(files):
    rep = load_police_uk(files).report
    assert report_from_dict(rep.to_dict()) == rep


# =========================================================================== real data
@pytest.mark.realdata
def test_real_derbyshire_year_cache_hit_identical(derbyshire_dir, cdir):
    a = load_police_uk(derbyshire_dir, cache=True, cache_dir=cdir)
    b = load_police_uk(derbyshire_dir, cache=True, cache_dir=cdir)
    assert (STATS.misses, STATS.hits) == (1, 1)
    assert len(b.data) == 100_264 and b.report.rows_read == 102_621
    assert_same_load(a, b)
