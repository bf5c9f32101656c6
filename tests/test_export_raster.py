"""Tests for hotspots.export.raster: Cloud-Optimised GeoTIFFs read back with rasterio."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rasterio")

from hotspots._errors import ParameterError  # noqa: E402
from hotspots.export.raster import overview_factors, read_raster, write_cog  # noqa: E402
from hotspots.grid import Grid  # noqa: E402


@pytest.fixture()
def grid():
    # 1,100 x 700 cells: larger than one 512 block, so the file is tiled and has overviews
    return Grid.from_bounds((300_000, 200_000, 300_000 + 700 * 100 - 1, 200_000 + 1100 * 100 - 1), 100)


def test_float_surface_round_trip(tmp_path, grid):
    rng = np.random.default_rng(0)
    vals = rng.gamma(2.0, 3.0, grid.shape)
    vals[:50, :] = np.nan  # outside the study area
    path = write_cog(tmp_path / "d.tif", vals, grid, description="density", units="incidents per km²", tags={"kernel": "quartic"})
    band = read_raster(path)
    np.testing.assert_array_equal(band.values, vals.astype(np.float32))
    assert band.layout == "COG" and band.overviews  # internal overviews, COG layout
    assert band.crs.to_epsg() == 27700 and np.isnan(band.nodata)
    t = band.transform
    assert (t.c, t.f, t.a, t.e) == (grid.xmin, grid.ymax, 100.0, -100.0)  # north-up, top-left corner
    assert band.description == "density" and band.tags["units"] == "incidents per km²" and band.tags["kernel"] == "quartic"
    # row 0 is the northmost row: the value at a known cell centre
    x, y = grid.xmin + 100 * 10 + 50, grid.ymax - 100 * 60 - 50
    col, row = (x - t.c) / t.a, (y - t.f) / t.e
    assert band.values[int(row), int(col)] == np.float32(vals[60, 10])
    assert not (tmp_path / "d.tif.tmp.tif").exists()


def test_integer_classes_with_nodata(tmp_path, grid):
    cls = np.random.default_rng(1).integers(-3, 4, grid.shape).astype(np.int8)
    cls[0, 0] = -128
    band = read_raster(write_cog(tmp_path / "c.tif", cls, grid, dtype="int8", nodata=-128))
    np.testing.assert_array_equal(band.values, cls)
    assert band.values.dtype == np.int8 and band.nodata == -128


def test_bad_arguments(tmp_path, grid):
    with pytest.raises(ParameterError, match="shape"):
        write_cog(tmp_path / "x.tif", np.zeros((3, 3)), grid)
    with pytest.raises(ParameterError, match="dtype"):
        write_cog(tmp_path / "x.tif", np.zeros(grid.shape), grid, dtype="complex64")


def test_overview_factors_halve_until_one_tile():
    assert overview_factors(2613, 2297) == [2, 4, 8]  # 2613 / 8 = 327 <= 512
    assert overview_factors(1100, 700) == [2, 4]
    assert overview_factors(1024, 1024) == [2] and overview_factors(1025, 10) == [2, 4]
    assert overview_factors(512, 300) == []  # one tile already


def test_class_overviews_hold_only_classes(tmp_path, grid):
    import rasterio

    cls = np.random.default_rng(3).integers(-3, 4, grid.shape).astype(np.int8)
    path = write_cog(tmp_path / "c.tif", cls, grid, dtype="int8", nodata=-128)
    with rasterio.open(path) as ds:
        assert ds.overviews(1) == [2, 4]
        small = ds.read(1, out_shape=(grid.n_rows // 4, grid.n_cols // 4))  # served from the 4x overview
    assert set(np.unique(small).tolist()) <= set(range(-3, 4))  # nearest: no averaged, non-class values



# ------------------------------------------------------------------ an analysis's surfaces (hotspots analyse)
@pytest.fixture(scope="module")
def stage(demo):
    from hotspots.pipeline import Settings, hotspot_stage

    return hotspot_stage(demo.incidents, Settings(cell_size=1000.0, period=("2023-01", "2023-12")), demo.study_area)


def test_analysis_rasters_density_on_the_maps_lattice_and_counts_per_cell(tmp_path, stage):
    """The results folder's density.tif is the KDE on the briefing maps' finer lattice (not the
    500 m polygons of the cells layer), counts.tif the incidents per analysis cell."""
    from hotspots.export.raster import ANALYSIS_RASTERS, COUNTS_NODATA, analysis_rasters, write_analysis_rasters

    rasters = analysis_rasters(stage)
    dens, cnt = rasters["density"], rasters["counts"]
    assert dens.grid.cell_size == 250.0 and cnt.grid.cell_size == 1000.0  # "auto": a quarter of the cell
    assert dens.record["kernel"] == stage.density.kernel and dens.record["bandwidth_m"] == stage.density.bandwidth_m
    # the density integrates to about the incidents counted (per km² x km² per lattice cell)
    total = np.nansum(dens.values) * (250.0 / 1000.0) ** 2
    assert total == pytest.approx(float(np.nansum(stage.counts.values)), rel=0.05)
    # a lattice cell is inside where its centre is in a study-area cell of the analysis grid
    rows, cols, on = stage.grid.cell_of(dens.grid.centres())
    inside = (on & stage.grid.active[rows, cols]).reshape(dens.grid.shape)
    assert np.isfinite(dens.values[inside]).all() and np.isnan(dens.values[~inside]).all() and (~inside).any()
    paths = write_analysis_rasters(stage, tmp_path)
    assert {k: p.name for k, p in paths.items()} == ANALYSIS_RASTERS
    band = read_raster(paths["counts"])
    act = stage.grid.active
    assert band.layout == "COG" and band.values.dtype == np.int32 and band.nodata == COUNTS_NODATA
    np.testing.assert_array_equal(band.values[act], np.asarray(stage.counts.values)[act].astype(np.int32))
    assert (band.values[~act] == COUNTS_NODATA).all()
    d = read_raster(paths["density"])
    assert d.transform.a == 250.0 and d.tags["units"] == "incidents per km²" and d.crs.to_epsg() == 27700
    np.testing.assert_allclose(d.values, dens.values.astype(np.float32))


def test_geotiff_bytes_is_the_density_file(stage):
    from hotspots.export.raster import geotiff_bytes

    data = geotiff_bytes(stage)
    assert data[:4] in (b"II*\x00", b"II+\x00")  # a (Big)TIFF
    with pytest.raises(ParameterError, match="`name`"):
        geotiff_bytes(stage, "gi")
