"""Tests for ``hotspots national``: the results folder, read back, against the library's numbers;
the same layer and rasters with ``--scheduler local:2``; one-line errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

pytest.importorskip("rasterio")

from hotspots.areas import hotspot_areas  # noqa: E402
from hotspots.cli import main  # noqa: E402
from hotspots.export.raster import read_raster  # noqa: E402
from hotspots.national import run_national, write_points_parquet  # noqa: E402

ARGS = ["--extent", "data", "--cell-size", "250", "--bandwidth", "800", "--distance", "600", "--mask-radius", "1000"]


def towns(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.uniform((410_000, 310_000), (440_000, 335_000), (6, 2))
    pts = c[rng.integers(0, 6, n)] + rng.normal(0, 900, (n, 2))
    return np.vstack([pts, rng.uniform((405_000, 305_000), (445_000, 340_000), (n // 3, 2))])


@pytest.fixture(scope="module")
def points_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("national")
    # 4 row groups, so a cluster has several tasks
    return write_points_parquet(d / "points.parquet", towns(30_000), row_group_size=10_000)


@pytest.fixture(scope="module")
def local_run(points_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "run"
    assert main(["national", str(points_file), "--out", str(out), "--quiet", *ARGS]) == 0
    return out


def test_outputs_read_back_equal_the_library(points_file, local_run):
    res = run_national(points_file, bounds=None, cell_size=250, bandwidth=800, distance=600, mask_radius=1000)
    names = {p.name for p in local_run.iterdir()}
    assert names == {"counts.tif", "density.tif", "gi_z.tif", "class.tif", "hotspot_areas.gpkg", "parameters.json",
                     "overview.png"}
    counts = read_raster(local_run / "counts.tif")
    np.testing.assert_array_equal(counts.values, res.counts.values.astype(np.float32))
    assert counts.layout == "COG" and counts.crs.to_epsg() == 27700
    assert (counts.transform.c, counts.transform.f, counts.transform.a) == (res.grid.xmin, res.grid.ymax, 250.0)
    np.testing.assert_array_equal(read_raster(local_run / "density.tif").values, res.density.values.astype(np.float32))
    np.testing.assert_array_equal(read_raster(local_run / "gi_z.tif").values, res.gistar.z.astype(np.float32))
    cls = read_raster(local_run / "class.tif")
    assert cls.nodata == -128
    np.testing.assert_array_equal(cls.values, np.where(res.grid.active, res.gistar.bins, -128))
    layer = gpd.read_file(local_run / "hotspot_areas.gpkg", layer="hotspot_areas")
    want = hotspot_areas(res.gistar)
    assert len(layer) == want.n_areas > 0
    np.testing.assert_array_equal(layer["count"], want.areas["count"])
    assert all(a.equals(b) for a, b in zip(layer.geometry, want.areas.geometry))
    assert set(layer.geom_type) == {"MultiPolygon"}  # whether or not an area is in pieces, as analyse's layers
    # the cold spot layer has the hot spot layer's schema, even when it is empty
    hot_info = pyogrio.read_info(local_run / "hotspot_areas.gpkg", layer="hotspot_areas")
    cold_info = pyogrio.read_info(local_run / "hotspot_areas.gpkg", layer="coldspot_areas")
    assert cold_info["geometry_type"] == hot_info["geometry_type"] == "MultiPolygon"
    assert list(cold_info["fields"]) == list(hot_info["fields"]) and list(cold_info["dtypes"]) == list(hot_info["dtypes"])
    assert layer.crs.to_epsg() == 27700
    # each area is named after the GeoNames place its busiest cell lies in (the points keep no street names)
    assert layer["near"].notna().all() and layer["near"].str.len().gt(0).all()
    params = json.loads((local_run / "parameters.json").read_text())
    assert params["parameters"]["n_points"] == 40_000 and params["parameters"]["bandwidth_m"] == 800
    assert params["gi_star"]["hot_cells"] == int(res.gistar.hot.sum())
    assert params["areas"]["hot"] == want.n_areas and "stream" in params["timings_s"]
    assert (local_run / "overview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parameters_record_the_command_as_typed(points_file, local_run):
    """parameters.json's `command` was just "hotspots national": now the whole line, shell-quoted."""
    import shlex
    from pathlib import Path

    params = json.loads((local_run / "parameters.json").read_text())
    assert shlex.split(params["command"]) == ["hotspots", "national", str(points_file), "--out", str(local_run), "--quiet", *ARGS]
    assert params["working_directory"] == str(Path.cwd())


def test_local_cluster_gives_the_same_layer_and_rasters(points_file, local_run, tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "cluster"
    assert main(["national", str(points_file), "--out", str(out), "--scheduler", "local:2", *ARGS]) == 0
    printed = capsys.readouterr()
    assert "task" in printed.err  # progress per cluster task
    for name in ("counts.tif", "class.tif"):
        np.testing.assert_array_equal(read_raster(out / name).values, read_raster(local_run / name).values)
    for name in ("density.tif", "gi_z.tif"):
        got, want = read_raster(out / name).values, read_raster(local_run / name).values
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    a = gpd.read_file(out / "hotspot_areas.gpkg", layer="hotspot_areas")
    b = gpd.read_file(local_run / "hotspot_areas.gpkg", layer="hotspot_areas")
    assert len(a) == len(b) > 0
    assert (a.drop(columns="geometry").equals(b.drop(columns="geometry")))
    assert all(x.equals(y) for x, y in zip(a.geometry, b.geometry))
    assert json.loads((out / "parameters.json").read_text())["parameters"]["scheduler"] == "local:2"


def test_unreachable_scheduler_is_one_line(points_file, tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    import hotspots.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT_S", 2.0)
    out = str(tmp_path / "o")
    code = main(["national", str(points_file), "--out", out, "--quiet", "--scheduler", "tcp://127.0.0.1:9", *ARGS])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--scheduler", "cluster-please"], "`--scheduler` must be `local:N`"),
        (["--scheduler", "local:0"], "number of worker processes"),
    ],
)
def test_bad_scheduler_values(points_file, tmp_path, capsys, extra, match):
    pytest.importorskip("distributed")
    code = main(["national", str(points_file), "--out", str(tmp_path / "o"), "--quiet", *extra, *ARGS])
    err = capsys.readouterr().err.strip()
    assert code == 2 and match in err and err.count("\n") == 0


def test_out_parent_must_exist_and_months_checked(points_file, tmp_path, capsys):
    code = main(["national", str(points_file), "--out", str(tmp_path / "no" / "such" / "dir"), "--quiet", *ARGS])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    assert main(["national", str(points_file), "--out", str(tmp_path / "o"), "--months", "2025-13:2025-01"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert main(["national", str(points_file), "--out", str(tmp_path / "o"), "--cell-size", "-5"]) == 2
    assert "greater than 0" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--alpha", "2"], "`--alpha` must be a number above 0 and at most 0.2 (e.g. 0.05); got 2.0."),
        (["--months", "2025-6:2025-1"], "`--months` starts after it ends (2025-06 > 2025-01); give the earlier month first."),
        (["--months", "January:March"], "`--months` must be two months FIRST:LAST written YYYY-MM:YYYY-MM"),
        # a given band shorter than the cell size: refused before reading (it was refused only at Gi*, after it)
        (["--cell-size", "2000", "--distance", "750"], "`--distance` 750 m is shorter than the cell size (2000 m)"),
    ],
)
def test_arguments_are_checked_before_any_input_is_read(tmp_path, capsys, monkeypatch, extra, message):
    """The same month rule as ``load``/``analyse``, and --alpha, checked before the inputs are read."""
    import hotspots.national_inputs as ni

    def refuse(*_a, **_k):
        raise AssertionError("inputs read before the arguments were checked")

    monkeypatch.setattr(ni, "prepare_inputs", refuse)
    f = tmp_path / "points.csv"
    f.write_text("x,y\n1,2\n")
    code = main(["national", str(f), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"hotspots national: error: {message}") and err.count("\n") == 1, err
    assert not (tmp_path / "o").exists()


def test_months_written_as_load_accepts_them(points_file, tmp_path):
    """``--months 2025-1:2025-3`` (accepted by ``load --months``) is accepted here too."""
    from hotspots.cli import build_parser
    from hotspots.commands.national import check_arguments

    args = build_parser().parse_args(["national", str(points_file), "--out", str(tmp_path / "o"), "--months", "2025-1:2025-3"])
    check_arguments(args)
    assert args.months == ("2025-01", "2025-03")


def _police_folder(tmp_path, force: str, lonlat, categories, lsoa: str):
    """A folder holding one police.uk street file of January 2025 for ``force``: one row per point."""
    from hotspots.schema import POLICE_UK_COLUMNS

    folder = tmp_path / "police"
    folder.mkdir()
    lines = [",".join(POLICE_UK_COLUMNS)]
    for (lon, lat), cat in zip(lonlat, categories):
        lines.append(f",2025-01,F,F,{lon:.6f},{lat:.6f},On or near X,{lsoa},X 001A,{cat},,")
    (folder / f"2025-01-{force}-street.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_police_uk_folder_with_category_default(tmp_path, capsys):

    rng = np.random.default_rng(3)
    lonlat = np.column_stack([-1.47 + rng.normal(0, 0.01, 400), 52.92 + rng.normal(0, 0.01, 400)])
    cats = ["Anti-social behaviour" if i % 4 else "Burglary" for i in range(400)]
    folder = _police_folder(tmp_path, "derbyshire", lonlat, cats, "E01000001")
    out = tmp_path / "res"
    code = main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", *ARGS])
    assert code == 0
    printed = capsys.readouterr().out
    assert "converted 300 police.uk incidents from 1 force(s)" in printed
    assert json.loads((out / "parameters.json").read_text())["parameters"]["n_points"] == 300
    code = main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview",
                 "--category", "all", *ARGS])
    assert code == 0 and json.loads((out / "parameters.json").read_text())["parameters"]["n_points"] == 400


def test_existing_scheduler_by_address(points_file, local_run, tmp_path):
    # --scheduler tcp://... connects to a running cluster (here one started by the test, workers in
    # this process) instead of starting one.
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        out = tmp_path / "tcp"
        assert main(["national", str(points_file), "--out", str(out), "--quiet", "--scheduler", address, *ARGS]) == 0
    np.testing.assert_array_equal(read_raster(out / "counts.tif").values, read_raster(local_run / "counts.tif").values)
    np.testing.assert_array_equal(read_raster(out / "class.tif").values, read_raster(local_run / "class.tif").values)
    assert json.loads((out / "parameters.json").read_text())["parameters"]["scheduler"] == address


def test_overview_draws_the_density_in_greys_under_the_red_hot_spots(local_run):
    # The overview drew red hot spots over magma, whose scale runs through reds and purples.
    import matplotlib
    from PIL import Image

    from hotspots import style

    scale = matplotlib.colormaps[style.DENSITY_UNDER_HOT_CMAP](np.linspace(0, 1, 64))[:, :3] * 255
    assert (scale.max(axis=1) - scale.min(axis=1) < 1).all()  # greys only
    with Image.open(local_run / "overview.png") as im:
        px = np.asarray(im.convert("RGB"), dtype=float).reshape(-1, 3)
    r, g, b = px.T
    red = (r > g + 70) & (r > b + 40)
    assert red.sum() > 50  # the hot spots
    grey = px.max(axis=1) - px.min(axis=1) < 16
    assert (grey | ((r > g) & (r > b))).all()  # everything else grey: no purple, blue or yellow density


def test_out_refuses_a_folder_hotspots_did_not_write_before_any_work(points_file, tmp_path, capsys, monkeypatch):
    """``national --out`` replaced a user's parameters.json and overview.png (and wrote through a
    link named counts.tif): now the results-folder rule of ``analyse`` refuses it before reading."""
    import hotspots.national_inputs as ni

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "parameters.json").write_bytes(b"MY IMPORTANT NOTES\n")
    (mine / "overview.png").write_bytes(b"x\n")
    linked = tmp_path / "mine-link"
    linked.mkdir()
    target = tmp_path / "target.bin"
    target.write_bytes(b"keep me")
    (linked / "counts.tif").symlink_to(target)

    def refuse(*_a, **_k):
        raise AssertionError("inputs read before --out was checked")

    monkeypatch.setattr(ni, "prepare_inputs", refuse)
    for out in (mine, linked):
        before = sorted(p.name for p in out.iterdir())
        assert main(["national", str(points_file), "--out", str(out), "--quiet", *ARGS]) == 2
        err = capsys.readouterr().err
        assert "`--out`" in err and "hotspots never deletes or overwrites files it did not write" in err
        assert sorted(p.name for p in out.iterdir()) == before
    assert (mine / "parameters.json").read_bytes() == b"MY IMPORTANT NOTES\n"
    assert (mine / "overview.png").read_bytes() == b"x\n"
    assert (linked / "counts.tif").is_symlink() and target.read_bytes() == b"keep me"


def test_out_written_by_national_is_reused_and_a_users_file_kept(points_file, tmp_path):
    out = tmp_path / "run"
    assert main(["national", str(points_file), "--out", str(out), "--quiet", "--no-overview", *ARGS]) == 0
    first = json.loads((out / "parameters.json").read_text())
    assert first["format"].startswith("hotspots-parameters/")
    assert sorted(first["files_written"]) == sorted(p.name for p in out.iterdir())
    (out / "notes.txt").write_bytes(b"mine\n")
    (out / "overview.png").unlink(missing_ok=True)
    assert main(["national", str(points_file), "--out", str(out), "--quiet", *ARGS]) == 0
    second = json.loads((out / "parameters.json").read_text())
    assert (out / "notes.txt").read_bytes() == b"mine\n" and "notes.txt" not in second["files_written"]
    assert "overview.png" in second["files_written"] and not (out / ".hotspots-writing.json").exists()


def police_folder(tmp_path):
    from hotspots.schema import POLICE_UK_COLUMNS

    folder = tmp_path / "police"
    folder.mkdir()
    lines = [",".join(POLICE_UK_COLUMNS)]
    for i, cat in enumerate(["Anti-social behaviour", "Burglary"] * 20):
        lines.append(f",2025-0{1 + i % 2},F,F,{-1.47 + i * 1e-4:.6f},52.92,On or near X,E01000001,X 001A,{cat},,")
    (folder / "2025-01-derbyshire-street.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--category", "Nonsense"], "no incidents have the category 'Nonsense' (`--category`); the data hold "
                                     "Anti-social behaviour, Burglary."),
        (["--months", "2030-01:2030-12"], "no incidents in the months 2030-01 to 2030-12 (`--months`); the data hold "
                                          "2025-01 to 2025-02 (2 months). Choose months within them."),
        (["--mask-radius", "-5"], "`--mask-radius` must be a number of metres at least 0; got -5.0."),
    ],
)
def test_an_empty_selection_names_the_flag_and_what_the_data_hold(tmp_path, capsys, extra, message):
    """It named the internal cache file ("/tmp/.../points-....parquet holds no points in the
    chosen categories and months"); a negative --mask-radius was called `radius`."""
    folder = police_folder(tmp_path)
    for _ in range(2):  # converted, then from the cache
        code = main(["national", str(folder), "--out", str(tmp_path / "o"), "--quiet", "--cache-dir", str(tmp_path / "c"),
                     *extra])
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert code == 2 and err == f"hotspots national: error: {message}"
    assert not (tmp_path / "o").exists()


def test_points_off_the_grid_are_warned_about_and_the_overview_counts_the_points_drawn(tmp_path, capsys, monkeypatch):
    """Northern Ireland's points off the England-and-Wales grid were dropped with no word, and the
    overview's title counted them as drawn."""
    from matplotlib.axes import Axes

    titles = []
    real = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda self, label, *a, **k: titles.append(label) or real(self, label, *a, **k))
    xy = np.vstack([towns(3000), [[50_000.0, 540_000.0]] * 30])  # 30 points west of the grid
    p = write_points_parquet(tmp_path / "p.parquet", xy)
    out = tmp_path / "o"
    # --keep-strays: 30 points (under 1 %) 400 km from the rest would otherwise be left out as strays
    assert main(["national", str(p), "--out", str(out), "--cell-size", "5000", "--bandwidth", "8000", "--distance",
                 "12000", "--keep-strays"]) == 0
    printed = capsys.readouterr().out
    n = len(xy)
    assert f"{n:,} points ({n - 30:,} on the grid, 30 off it)" in printed
    (warning,) = [line for line in printed.splitlines() if line.startswith("warning:")]
    assert f"30 of the {n:,} points" in warning and "`--extent data` grids the points' own extent and keeps them" in warning
    params = json.loads((out / "parameters.json").read_text())
    assert any(note.startswith(f"30 of the {n:,} points") for note in params["notes"])
    assert params["counts"]["in_area"] == n - 30
    assert titles[-1].startswith(f"{n - 30:,} incidents") and "30 more lie off the grid" in titles[-1]


def test_unreachable_classes_are_said_beside_the_gi_counts(points_file, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["national", str(points_file), "--out", str(out), "--no-overview", "--inference", "permutation",
                 "--permutations", "99", *ARGS]) == 0
    lines = capsys.readouterr().out.splitlines()
    (k,) = [i for i, line in enumerate(lines) if line.startswith("Gi* (permutation inference")]
    assert "0 hot and 0 cold cells" in lines[k]
    assert lines[k + 1].startswith("  note: with 99 permutations") and "cannot be reached" in lines[k + 1]
    assert sum("cannot be reached" in line for line in lines) == 1


def test_the_busiest_hot_areas_are_listed_with_their_place(points_file, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["national", str(points_file), "--out", str(out), "--no-overview", *ARGS]) == 0
    lines = capsys.readouterr().out.splitlines()
    layer = gpd.read_file(out / "hotspot_areas.gpkg", layer="hotspot_areas")
    (g,) = [line for line in lines if line.startswith("Gi* (")]
    cls = read_raster(out / "class.tif").values
    params = json.loads((out / "parameters.json").read_text())["gi_star"]
    said = f"{params['hot_cells']:,} hot and {params['cold_cells']:,} cold cells at 95%"
    in_tif = f"({int((cls > 0).sum()):,} hot and {int(((cls < 0) & (cls != -128)).sum()):,} cold in class.tif, from 90%)"
    assert said in g and (in_tif in g or (int((cls > 0).sum()) == params["hot_cells"] and "class.tif" not in g)), g
    (k,) = [i for i, line in enumerate(lines) if line.startswith("busiest hot areas")]
    listed = lines[k + 1 : k + 1 + min(10, len(layer))]
    assert 0 < len(layer) <= 10 and lines[k] == "busiest hot areas:"  # all listed: no "(all n in ...)"
    assert not lines[k + 1 + len(layer)].startswith("  ")
    for line, r in zip(listed, layer.itertuples()):  # the layer's first areas, in its order, with its figures
        figures = f"{int(round(r.count)):,} incidents, {r.area_km2:,.2f} km², {r.peak_confidence}"
        assert line == f"  {r.area_id}. near {r.near}: {figures}"


def test_parquet_rows_dropped_are_counted_by_reason(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1204
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-1.6, -1.3, n), rng.uniform(52.8, 53.0, n)
    lon[:100] = np.nan
    lat[100:110] = 95.0
    months = np.array(["2025-03"] * n, dtype=object)
    months[110:115] = "garbage"
    p = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"longitude": lon, "latitude": lat, "category": ["Anti-social behaviour"] * n, "month": months}), p)
    out = tmp_path / "o"
    assert main(["national", str(p), "--out", str(out), "--no-overview", *ARGS]) == 0
    assert "dropped 110 of the 1,204 rows read: no location 100, out-of-range coordinates 10" in capsys.readouterr().out
    rec = json.loads((out / "parameters.json").read_text())
    assert rec["inputs"]["dropped_by_loader"] == {"no location": 100, "out-of-range coordinates": 10}
    assert rec["parameters"]["n_points"] == n - 110
    assert main(["national", str(p), "--out", str(out), "--no-overview", "--quiet", "--months", "2025-03:2025-03", *ARGS]) == 0
    rec = json.loads((out / "parameters.json").read_text())
    assert rec["inputs"]["dropped_by_loader"] == {"no location": 100, "out-of-range coordinates": 10, "unparseable month": 5}


def test_northern_irelands_incidents_are_warned_about(tmp_path, capsys):
    """British National Grid is not defined in Northern Ireland and the England-and-Wales extent
    cuts it at its west: a run holding its incidents says so and names `hotspots analyse`."""
    from hotspots.national_inputs import outside_great_britain_note

    assert outside_great_britain_note({"derbyshire": 10}) is None
    rng = np.random.default_rng(4)
    lonlat = np.column_stack([-5.93 + rng.normal(0, 0.01, 200), 54.6 + rng.normal(0, 0.01, 200)])  # Belfast
    folder = _police_folder(tmp_path, "northern-ireland", lonlat, ["Anti-social behaviour"] * 200, "N00000001")
    out = tmp_path / "res"
    code = main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", *ARGS])
    assert code == 0
    printed = capsys.readouterr().out
    want = "warning: Northern Ireland's 200 incidents are on a British National Grid grid, which is not defined there"
    assert want in printed and "`hotspots analyse`, which uses Irish Transverse Mercator, EPSG:2157" in printed
    assert printed.count("Northern Ireland's 200 incidents") == 1
    assert any(n.startswith("Northern Ireland's 200") for n in json.loads((out / "parameters.json").read_text())["notes"])


def test_large_cells_need_no_distance_of_their_own(points_file, tmp_path, capsys):
    """``--cell-size 2000`` failed unless ``--distance`` was given (the default stayed 750 m): the default
    follows the cell size (2000 x sqrt(2) = 2,828 m, the 8 surrounding cells)."""
    out = tmp_path / "o"
    assert main(["national", str(points_file), "--out", str(out), "--no-overview", "--extent", "data",
                 "--cell-size", "2000", "--bandwidth", "3000"]) == 0
    assert "Gi* (count inference, 2828.43 m, FDR)" in capsys.readouterr().out
    assert json.loads((out / "parameters.json").read_text())["gi_star"]["distance_m"] == pytest.approx(2000 * 2**0.5)


def test_the_overview_shows_the_study_area_not_the_whole_grid():
    from hotspots.export.national_outputs import _data_view
    from hotspots.grid import Grid

    mask = np.zeros((100, 200), bool)
    mask[10:20, 150:170] = True  # a force in one corner of the England-and-Wales grid
    g = Grid(xmin=0.0, ymax=100_000.0, cell_size=1_000.0, n_rows=100, n_cols=200).with_mask(mask)
    x0, x1, y0, y1 = _data_view(g, margin=0.0)
    assert (x0, x1, y0, y1) == (150_000.0, 170_000.0, 80_000.0, 90_000.0)
    assert _data_view(g) == (149_200.0, 170_800.0, 79_200.0, 90_800.0)  # 4 % of the larger side around it


def test_the_england_and_wales_grid_leaves_northern_irelands_files_out(tmp_path, capsys):
    """An England-and-Wales run gridded Northern Ireland's points in British National Grid and ranked
    "near Belfast" first; its files are now left out, said, with the command that analyses it."""
    rng = np.random.default_rng(6)
    ni = np.column_stack([-5.93 + rng.normal(0, 0.01, 200), 54.6 + rng.normal(0, 0.01, 200)])  # Belfast
    folder = _police_folder(tmp_path, "northern-ireland", ni, ["Anti-social behaviour"] * 200, "N00000001")
    derby = np.column_stack([-1.47 + rng.normal(0, 0.01, 300), 52.92 + rng.normal(0, 0.01, 300)])
    (folder / "2025-01-derbyshire-street.csv").write_text(
        (folder / "2025-01-northern-ireland-street.csv").read_text().split("\n", 1)[0] + "\n"
        + "\n".join(f",2025-01,F,F,{lon:.6f},{lat:.6f},On or near X,E01000001,X 001A,Anti-social behaviour,,"
                    for lon, lat in derby) + "\n")
    out = tmp_path / "res"
    args = ["--cell-size", "250", "--bandwidth", "800", "--distance", "600", "--mask-radius", "1000", "--no-overview"]
    assert main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), *args]) == 0
    printed = capsys.readouterr().out
    assert "warning: Northern Ireland's 1 file(s) left out: the England-and-Wales grid" in printed
    assert "Northern Ireland's 200 incidents" not in printed  # nothing of it was gridded
    rec = json.loads((out / "parameters.json").read_text())
    assert rec["inputs"]["rows_by_force"] == {"derbyshire": 300} and rec["parameters"]["n_points"] == 300
    assert rec["inputs"]["forces_left_out"] == {"northern-ireland": 1}
    # the other England-and-Wales forces hold no data here: said, so that their areas are not read as free of hotspots
    from hotspots.national_inputs import ENGLAND_WALES_FORCES, missing_forces

    assert len(ENGLAND_WALES_FORCES) == 43 and len(rec["inputs"]["forces_without_data"]) == 42
    assert "warning: no incidents from 42 of the 43 England-and-Wales forces (Avon and Somerset Constabulary, " in " ".join(
        printed.split())
    warning = printed[printed.index("warning: no incidents"):].split("\n")
    assert all(len(line) <= 100 for line in warning[:5]) and warning[1].startswith("  ")  # wrapped, not one 1,300-character line
    assert missing_forces({f: 1 for f in ENGLAND_WALES_FORCES}) == []


def test_parameters_record_the_filters_the_conversion_applied(tmp_path):
    """--category and --months applied while converting police.uk files are what parameters.json
    records (they were recorded as null: the stream itself had none left to apply)."""
    from hotspots.schema import POLICE_UK_COLUMNS

    folder = tmp_path / "police"
    folder.mkdir()
    rng = np.random.default_rng(4)
    for month, n in (("2025-01", 40), ("2025-02", 30), ("2025-03", 20)):
        lines = [",".join(POLICE_UK_COLUMNS)]
        for i in range(n):
            cat = "Criminal damage and arson" if i % 2 else "Anti-social behaviour"
            lon, lat = -1.47 + rng.normal(0, 0.01), 52.92 + rng.normal(0, 0.01)
            lines.append(f",{month},F,F,{lon:.6f},{lat:.6f},On or near X,E01000001,X 001A,{cat},,")
        (folder / f"{month}-derbyshire-street.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "res"
    assert main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", "--quiet",
                 "--category", "Criminal damage and arson", "--months", "2025-02:2025-03", *ARGS]) == 0
    p = json.loads((out / "parameters.json").read_text())["parameters"]
    assert p["categories"] == ["Criminal damage and arson"] and p["months"] == ["2025-02", "2025-03"]
    assert p["n_points"] == 15 + 10  # the odd rows of February and March
    # a second run reads the cache: the same record
    assert main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", "--quiet",
                 "--category", "Criminal damage and arson", "--months", "2025-02:2025-03", *ARGS]) == 0
    again = json.loads((out / "parameters.json").read_text())["parameters"]
    assert (again["categories"], again["months"]) == (p["categories"], p["months"])
    # the default (ASB) over every month: the category recorded, no month filter
    assert main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", "--quiet",
                 *ARGS]) == 0
    asb = json.loads((out / "parameters.json").read_text())["parameters"]
    assert asb["categories"] == ["Anti-social behaviour"] and asb["months"] is None and asb["n_points"] == 45


def test_points_on_and_near_cell_edges_fall_in_the_cells_analyse_puts_them_in(tmp_path):
    """police.uk points lying a few millimetres below a 200 m grid line (N 530999.9963, as
    police.uk's snapped points do) were stored as float32, which rounds them onto the line, and
    counted in the cell above; ``analyse``'s grid (float64, ``Grid.cell_of``) counts them below."""
    from pyproj import Transformer

    from hotspots.grid import Grid, count
    from hotspots.io import load_police_uk
    from hotspots.schema import POLICE_UK_COLUMNS

    to_lonlat = Transformer.from_crs(27700, 4326, always_xy=True)
    # below, on and above the line N 531000 and the line E 450000; 3 mm = under float32's 1/32 m step here
    bng = [(450_100.0, 530_999.9963), (450_100.0, 531_000.0), (450_100.0, 531_000.004), (449_999.997, 530_900.0),
           (450_000.0, 530_900.0), (450_000.003, 530_900.0), (450_300.0, 530_700.0), (450_500.0, 531_300.0)]
    folder = tmp_path / "police"
    folder.mkdir()
    lines = [",".join(POLICE_UK_COLUMNS)]
    for e, n in bng:
        lon, lat = to_lonlat.transform(e, n)
        lines.append(f",2025-01,F,F,{lon!r},{lat!r},On or near X,E01000001,X 001A,Anti-social behaviour,,")
    (folder / "2025-01-cleveland-street.csv").write_text("\n".join(lines) + "\n")
    loaded, _ = load_police_uk(sorted(folder.iterdir()))
    xy = np.column_stack([loaded.geometry.x, loaded.geometry.y])
    assert 530_999.99 < xy[0, 1] < 531_000.0 and np.float32(xy[0, 1]) == np.float32(531_000.0)  # float32 rounds it onto the line
    out = tmp_path / "res"
    assert main(["national", str(folder), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", "--quiet",
                 "--extent", "data", "--cell-size", "200", "--mask-radius", "0", "--distance", "300"]) == 0
    got = read_raster(out / "counts.tif")
    grid = Grid.from_bounds((xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()), 200.0, 27700)
    want = count(xy, grid).values  # analyse's rule: Grid.cell_of on the loader's float64 coordinates
    assert got.values.shape == want.shape
    np.testing.assert_array_equal(np.nan_to_num(got.values), want)
    r, c, _ = grid.cell_of(xy[:1])
    assert want[r[0], c[0]] >= 1 and grid.ymax - (r[0] + 1) * 200.0 < 530_999.9963 < grid.ymax - r[0] * 200.0


def test_a_forces_stray_is_said_on_the_console_and_in_parameters_and_kept_on_request(tmp_path, capsys):
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(27700, 4326, always_xy=True)
    rng = np.random.default_rng(6)
    bng = np.vstack([rng.normal((425_000, 535_000), 2_000, (300, 2)), [[568_291.0, 130_515.0]]])
    lon, lat = to_lonlat.transform(bng[:, 0], bng[:, 1])
    folder = _police_folder(tmp_path, "durham", zip(lon, lat), ["Anti-social behaviour"] * len(bng), "E01000001")
    out = tmp_path / "res"
    common = ["--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-overview", *ARGS]
    assert main(["national", str(folder), *common]) == 0
    printed = capsys.readouterr().out
    assert "dropped 1 of the 301 rows read: stray: more than 10 km from its force's other incidents 1" in printed
    assert "1 stray point(s) left out (Durham Constabulary 1)" in printed
    rec = json.loads((out / "parameters.json").read_text())
    assert rec["parameters"]["strays"]["points_left_out"] == 1 and rec["parameters"]["n_points"] == 300
    assert rec["parameters"]["bounds"][1] > 500_000  # the extent is Durham's, not stretched to the south coast
    assert main(["national", str(folder), *common, "--keep-strays"]) == 0
    rec = json.loads((out / "parameters.json").read_text())
    assert rec["parameters"]["n_points"] == 301 and rec["parameters"]["bounds"][1] < 131_000


def test_the_overview_title_says_months_and_forces_and_every_line_fits(tmp_path, monkeypatch):
    """The title lacked the months and the forces, and the list of 41 forces without data ran off
    both edges of the image as one line."""
    from matplotlib.axes import Axes

    from hotspots.export.national_outputs import TITLE_WIDTH

    titles = []
    real = Axes.set_title
    monkeypatch.setattr(Axes, "set_title", lambda self, label, *a, **k: titles.append(label) or real(self, label, *a, **k))
    rng = np.random.default_rng(9)
    lonlat = np.column_stack([-1.47 + rng.normal(0, 0.01, 300), 52.92 + rng.normal(0, 0.01, 300)])
    folder = _police_folder(tmp_path, "derbyshire", lonlat, ["Anti-social behaviour"] * 300, "E01000001")
    assert main(["national", str(folder), "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "cache"), "--quiet",
                 "--cell-size", "1000", "--bandwidth", "1500"]) == 0
    title = titles[-1]
    assert "Anti-social behaviour, Jan 2025; Derbyshire Constabulary" in title.replace("\n", " ")
    assert "42 forces of England and Wales have no data here (listed in parameters.json)" in title.replace("\n", " ")
    assert max(len(line) for line in title.split("\n")) <= TITLE_WIDTH
    rec = json.loads((tmp_path / "o" / "parameters.json").read_text())
    assert len(rec["inputs"]["forces_without_data"]) == 42
