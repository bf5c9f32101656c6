"""hotspots.maps.layers: raster placement, escaped GeoJSON, clustered points."""

from __future__ import annotations

import base64
import io
import json
import re

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from helpers import PAYLOADS
from PIL import Image

from hotspots._errors import CRSError, ParameterError
from hotspots.grid import Grid, GridValues
from hotspots.maps import (
    base_map,
    external_urls,
    geojson_layer,
    marker_cluster,
    raster_overlay,
)

TO_MERC = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)


def _script_tags_balanced(html: str) -> bool:
    return html.count("<script") == html.count("</script>")


def _pixel_centres_bng(ov, rows, cols):
    """Where Leaflet puts pixel centres: linear in Web Mercator between the overlay's corners,
    then (independently of the layer code) to British National Grid with geopandas."""
    (s, w), (n, e) = ov.latlon_bounds
    x0, y0 = TO_MERC.transform(w, s)
    x1, y1 = TO_MERC.transform(e, n)
    h, wd = ov.levels.shape
    mx = x0 + (np.asarray(cols) + 0.5) / wd * (x1 - x0)
    my = y1 - (np.asarray(rows) + 0.5) / h * (y1 - y0)
    pts = gpd.GeoSeries(gpd.points_from_xy(mx, my), crs=3857).to_crs(27700)
    return pts.x.to_numpy(), pts.y.to_numpy()


# ---------------------------------------------------------------- raster placement
@pytest.mark.parametrize(
    ("x0", "y0", "cell"),
    [
        (430_000, 330_000, 200),  # Derby: near BNG's central meridian
        (620_000, 300_000, 100),  # Norwich: grid turned ~2 degrees against north on the map
        (200_000, 60_000, 250),  # Cornwall, the other side
    ],
)
def test_hot_cell_lands_in_the_right_place(x0, y0, cell):
    g = Grid.from_bounds((x0, y0, x0 + 40 * cell, y0 + 30 * cell), cell_size=cell)
    v = np.zeros(g.shape)
    r, c = 7, 11
    v[r, c] = 10.0
    ov = raster_overlay(GridValues(v, g), pixels_per_cell=4)
    rows, cols = np.nonzero(ov.levels)
    assert len(rows) > 0
    x, y = _pixel_centres_bng(ov, rows, cols)
    cx0, cy1 = g.xmin + c * cell, g.ymax - r * cell
    tol = 0.5  # metres: rounding of the lat/lon bounds
    assert (x >= cx0 - tol).all() and (x <= cx0 + cell + tol).all()
    assert (y >= cy1 - cell - tol).all() and (y <= cy1 + tol).all()
    # It covers the cell: about 4 x 4 pixels (Mercator stretches them a little), including the
    # pixel under the cell's centre.
    assert 12 <= len(rows) <= 24
    (s, w), (n, e) = ov.latlon_bounds
    lon, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(cx0 + cell / 2, cy1 - cell / 2)
    mx, my = TO_MERC.transform(lon, lat)
    X0, Y0 = TO_MERC.transform(w, s)
    X1, Y1 = TO_MERC.transform(e, n)
    pr = int((Y1 - my) / (Y1 - Y0) * ov.levels.shape[0])
    pc = int((mx - X0) / (X1 - X0) * ov.levels.shape[1])
    assert ov.levels[pr, pc] > 0


def test_png_sent_to_the_browser_is_the_image_described():
    g = Grid.from_bounds((430_000, 330_000, 432_000, 331_000), cell_size=100)
    v = np.arange(g.n_rows * g.n_cols, dtype=float).reshape(g.shape)
    v[0, 0] = np.nan
    ov = raster_overlay(GridValues(v, g), cmap="viridis", robust=False)
    assert ov.url.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(ov.url.split(",", 1)[1]))).convert("RGBA")
    assert np.array_equal(np.asarray(img), ov.rgba())
    # Top-left (north-west) pixel is the NaN cell: transparent. The bottom-right the maximum.
    assert ov.rgba()[0, 0, 3] == 0
    top = np.round(np.array(matplotlib.colormaps["viridis"](1.0)[:3]) * 255)
    assert np.array_equal(ov.rgba()[-1, -1, :3], top) or np.array_equal(ov.rgba()[-2, -2, :3], top)


def test_colours_follow_the_scale():
    g = Grid.from_bounds((430_000, 330_000, 430_400, 330_100), cell_size=100)  # 2 rows x 5 cols
    v = np.array([[0, 1, 2, 3, 4], [5, 6, 7, 8, 100]], dtype=float)
    ov = raster_overlay(GridValues(v, g), vmin=0, vmax=8, cmap="Greys", pixels_per_cell=1)
    assert ov.scale.vmin == 0 and ov.scale.vmax == 8 and ov.scale.clipped_high and not ov.scale.clipped_low
    ref = matplotlib.colormaps["Greys"]
    # Level of value 4 is the middle of 255 levels; colour as matplotlib gives it.
    assert ov.scale.hex([4.0]) == [matplotlib.colors.to_hex(ref(127 / 254))]
    assert ov.scale.hex([100.0]) == ov.scale.hex([8.0])  # clipped to the top colour
    assert (ov.levels > 0).sum() >= 8  # zero is transparent, the others coloured


def test_robust_range_uses_the_percentile_of_values_shown():
    g = Grid.from_bounds((430_000, 330_000, 431_000, 331_000), cell_size=100)
    rng = np.random.default_rng(3)
    v = rng.gamma(2.0, 5.0, size=g.shape)
    v[0, :3] = 0.0
    v[5, 5] = 1_000.0
    ov = raster_overlay(GridValues(v, g, name="density", units="per km²"))
    shown = v[v != 0]
    assert ov.scale.vmin == 0.0
    assert ov.scale.vmax == pytest.approx(np.percentile(shown, 99))
    assert ov.scale.clipped_high and "99th percentile" in ov.scale.how
    assert ov.scale.units == "per km²" and ov.scale.title == "density"
    plain = raster_overlay(GridValues(v, g), robust=False)
    assert plain.scale.vmax == 1_000.0 and not plain.scale.clipped_high


def test_negative_values_get_a_percentile_floor():
    g = Grid.from_bounds((430_000, 330_000, 431_000, 331_000), cell_size=100)
    v = np.linspace(-3, 3, g.n_rows * g.n_cols).reshape(g.shape)
    ov = raster_overlay(GridValues(v, g), cmap="RdBu_r", transparent_zero=False)
    assert ov.scale.vmin == pytest.approx(np.percentile(v, 1))
    assert ov.scale.vmax == pytest.approx(np.percentile(v, 99))
    assert (ov.levels > 0).all()


def test_nothing_to_show_gives_a_transparent_image():
    g = Grid.from_bounds((430_000, 330_000, 431_000, 331_000), cell_size=100)
    ov = raster_overlay(GridValues(np.zeros(g.shape), g))
    assert (ov.levels == 0).all()
    assert ov.scale.vmin == 0 and ov.scale.vmax == 1 and ov.scale.how == "no values to show"


def test_mask_is_transparent():
    area = gpd.GeoSeries([shapely.Point(435_000, 336_000).buffer(1_000)], crs=27700)
    g = Grid.for_area(area, cell_size=100)
    v = np.where(g.active, 5.0, np.nan)
    ov = raster_overlay(GridValues(v, g), pixels_per_cell=2)
    frac = (ov.levels > 0).mean()
    # Cells outside the circle are transparent: the image is as full as the mask (the image's
    # Mercator box is a little larger than the grid, hence the tolerance).
    assert 0.65 < g.active.mean() < 0.75
    assert abs(frac - g.active.mean()) < 0.02


def test_image_size_is_capped():
    g = Grid.from_bounds((400_000, 300_000, 460_000, 360_000), cell_size=50)  # 1,200 x 1,200 cells
    v = np.ones(g.shape)
    ov = raster_overlay(GridValues(v, g), max_pixels=250_000)
    assert ov.levels.size <= 250_000
    assert ov.pixels_per_cell < 1  # it had to go below one pixel per cell


def test_bare_array_needs_a_grid():
    g = Grid.from_bounds((430_000, 330_000, 431_000, 331_000), cell_size=100)
    with pytest.raises(ParameterError, match="grid="):
        raster_overlay(np.ones(g.shape))
    with pytest.raises(ParameterError, match="shape"):
        raster_overlay(np.ones((2, 2)), g)
    ov = raster_overlay(np.ones(g.shape), g, name="counts")
    assert ov.layer_name == "counts"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"opacity": 2}, "opacity"),
        ({"pixels_per_cell": 0.5}, "pixels_per_cell"),
        ({"percentile": 20}, "percentile"),
        ({"cmap": "nope"}, "cmap"),
        ({"vmin": 5, "vmax": 1}, "vmin"),
        ({"max_pixels": 1}, "max_pixels"),
    ],
)
def test_raster_overlay_checks_arguments(kwargs, match):
    g = Grid.from_bounds((430_000, 330_000, 431_000, 331_000), cell_size=100)
    with pytest.raises(ParameterError, match=match):
        raster_overlay(GridValues(np.ones(g.shape), g), **kwargs)


def test_raster_layer_name_is_escaped():
    g = Grid.from_bounds((430_000, 330_000, 431_000, 331_000), cell_size=100)
    ov = raster_overlay(GridValues(np.ones(g.shape), g, name=PAYLOADS[0]))
    assert ov.layer_name == "&lt;script&gt;window.__pwned=1&lt;/script&gt;"


# ---------------------------------------------------------------- GeoJSON
@pytest.fixture
def areas():
    return gpd.GeoDataFrame(
        {
            "name": [PAYLOADS[0], PAYLOADS[1]],
            "note": [PAYLOADS[3], PAYLOADS[4]],
            "count": [1234, 3],
            "rate": [0.5, np.nan],
            "secret": ["do not send", "do not send"],
        },
        geometry=[shapely.box(431_000, 336_000, 433_000, 338_000), shapely.box(436_000, 331_000, 438_000, 333_000)],
        crs=27700,
    )


def test_geojson_sends_only_the_named_fields_escaped(areas):
    layer = geojson_layer(areas, fields=["name", "count"], popup_fields=["note", "rate"], formats={"rate": ".0%"})
    props = [f["properties"] for f in layer.data["features"]]
    assert set(props[0]) == {"name", "count", "note", "rate"}
    assert props[0]["name"] == "&lt;script&gt;window.__pwned=1&lt;/script&gt;"
    assert props[0]["count"] == "1,234" and props[0]["rate"] == "50%" and props[1]["rate"] == ""
    assert props[0]["note"] == "back&#96;tick&#96;&#36;&#123;window.__pwned=1&#125;&#92;"
    html = base_map(study_area=areas).add_child(layer).get_root().render()
    assert "do not send" not in html
    assert "<img src=x" not in html and "window.__pwned=1</script>" not in html
    assert _script_tags_balanced(html)
    assert external_urls(html) == []


def test_geojson_coordinates_are_wgs84_rounded(areas):
    layer = geojson_layer(areas, simplify_m=0)
    ring = np.array(layer.data["features"][0]["geometry"]["coordinates"][0])
    assert np.array_equal(ring, np.round(ring, 6))
    ref = shapely.get_coordinates(areas.to_crs(4326).geometry.iloc[0])
    assert np.allclose(ring, ref, atol=1e-6)


def test_geojson_simplifies_in_metres():
    circle = gpd.GeoDataFrame(geometry=[shapely.Point(435_000, 336_000).buffer(500, quad_segs=128)], crs=27700)
    full = geojson_layer(circle, simplify_m=0)
    simple = geojson_layer(circle, simplify_m=2)
    n_full = len(full.data["features"][0]["geometry"]["coordinates"][0])
    n_simple = len(simple.data["features"][0]["geometry"]["coordinates"][0])
    assert n_simple < n_full / 2
    back = gpd.GeoSeries([shapely.geometry.shape(simple.data["features"][0]["geometry"])], crs=4326).to_crs(27700)
    assert abs(back.area.iloc[0] / circle.area.iloc[0] - 1) < 0.005


def test_geojson_labels_and_layer_name_are_escaped(areas):
    layer = geojson_layer(areas, fields=["name"], aliases=[PAYLOADS[1]], popup_fields=["note"], name=PAYLOADS[4])
    html = base_map(study_area=areas).add_child(layer).get_root().render()
    assert '"&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;"' in html.replace("\\u0026", "&")
    assert layer.layer_name == "&lt;/script&gt;&lt;script&gt;window.__pwned=1&lt;/script&gt;"
    assert _script_tags_balanced(html)


def test_geojson_style_per_row(areas):
    layer = geojson_layer(areas, style=lambda row: {"fillColor": "red" if row["count"] > 100 else "#00ff00", "weight": 2})
    styles = [f["properties"]["_style"] for f in layer.data["features"]]
    assert styles[0]["fillColor"] == "#ff0000" and styles[1]["fillColor"] == "#00ff00"
    assert styles[0]["weight"] == 2 and styles[0]["color"] == "#2b4c7e"  # defaults kept
    html = base_map(study_area=areas).add_child(layer).get_root().render()
    assert '"#ff0000"' in html
    fixed = geojson_layer(areas, style={"color": "black", "weight": 3})
    assert fixed.style_function(fixed.data["features"][0])["color"] == "#000000"


def test_geojson_checks_arguments(areas):
    with pytest.raises(ParameterError, match="nope"):
        geojson_layer(areas, fields=["nope"])
    with pytest.raises(ParameterError, match="aliases"):
        geojson_layer(areas, fields=["name"], aliases=["a", "b"])
    with pytest.raises(ParameterError, match="not a colour"):
        geojson_layer(areas, style={"color": "javascript:x"})
    with pytest.raises(ParameterError, match="`weight`"):
        geojson_layer(areas, style={"weight": [1]})
    with pytest.raises(CRSError):
        geojson_layer(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))
    with pytest.raises(ParameterError, match="GeoDataFrame"):
        geojson_layer(pd.DataFrame({"a": [1]}))


def test_geojson_skips_missing_geometries_and_handles_empty(areas):
    with_missing = pd.concat([areas, gpd.GeoDataFrame({"name": ["x"]}, geometry=[None], crs=27700)], ignore_index=True)
    assert len(geojson_layer(with_missing).data["features"]) == 2
    empty = geojson_layer(areas.iloc[:0], fields=["name"])
    assert empty.data["features"] == []
    html = base_map(study_area=areas).add_child(empty).get_root().render()
    assert _script_tags_balanced(html)


def test_geojson_does_not_change_the_callers_frame(areas):
    before = areas.copy()
    geojson_layer(areas, fields=["name"], simplify_m=50)
    pd.testing.assert_frame_equal(pd.DataFrame(areas.drop(columns="geometry")), pd.DataFrame(before.drop(columns="geometry")))
    assert areas.geometry.equals(before.geometry) and areas.crs == before.crs


# ---------------------------------------------------------------- points
@pytest.fixture
def sites():
    return gpd.GeoDataFrame(
        {"site": [PAYLOADS[2], PAYLOADS[4], "plain"], "kind": ["litter", "food bank", "litter"], "n": [1, 2000, 3]},
        geometry=gpd.points_from_xy([432_000, 433_000, 434_000], [335_000, 336_000, 337_000]),
        crs=27700,
    )


def test_marker_cluster_rows_hold_raw_text_for_text_content(sites):
    layer = marker_cluster(sites, popup_fields=["site", "n"], tooltip_field="site", label_field="kind")
    assert len(layer.data) == 3
    lat, lon, colour, label, tip, site, n = layer.data[0]
    ref = sites.to_crs(4326).geometry.iloc[0]
    assert (lat, lon) == (round(ref.y, 6), round(ref.x, 6))
    assert (colour, label, tip, site) == (0, "li", PAYLOADS[2], PAYLOADS[2])
    assert layer.data[1][6] == "2,000"
    # The text is put in place with textContent (never parsed as HTML) ...
    assert "textContent" in layer.callback and "innerHTML" not in layer.callback
    # ... and nothing in the page can close the script early.
    html = base_map(study_area=sites.buffer(1_000)).add_child(layer).get_root().render()
    assert _script_tags_balanced(html)
    assert "</script><script>window" not in html
    assert external_urls(html) == []


def test_marker_cluster_colours_by_field(sites):
    layer = marker_cluster(sites, colour_field="kind", colours={"litter": "#1b9e77"}, colour="#777777")
    assert [row[2] for row in layer.data] == [1, 0, 1]
    assert '["#777777", "#1b9e77"]' in layer.callback


def test_marker_cluster_escapes_labels_in_script(sites):
    layer = marker_cluster(sites, popup_fields=["site"], popup_aliases=[PAYLOADS[4]], name=PAYLOADS[0])
    assert "</script>" not in layer.callback
    assert json.loads(re.search(r"labels = (\[.*?\]);", layer.callback).group(1)) == [PAYLOADS[4]]
    assert layer.layer_name == "&lt;script&gt;window.__pwned=1&lt;/script&gt;"


def test_marker_cluster_checks_arguments(sites):
    with pytest.raises(ParameterError, match="Point"):
        marker_cluster(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=27700))
    with pytest.raises(ParameterError, match="colour_field"):
        marker_cluster(sites, colours={"litter": "#ffffff"})
    with pytest.raises(ParameterError, match="colours"):
        marker_cluster(sites, colour_field="kind", colours={"litter": "green"})
    with pytest.raises(ParameterError, match="tooltip_field"):
        marker_cluster(sites, tooltip_field="nope")
    with pytest.raises(ParameterError, match="size"):
        marker_cluster(sites, size=100)
    with pytest.raises(ParameterError, match="popup_aliases"):
        marker_cluster(sites, popup_fields=["site"], popup_aliases=["a", "b"])


def test_pixel_coordinates_interpolation_matches_pyproj():
    from hotspots.maps.layers import _mercator_to_grid_xy

    # 30 km of Web Mercator pixels of 37 m around Norwich; exact pyproj against the lattice.
    xs = np.arange(150_000.0, 180_000.0, 37.0)
    ys = np.arange(6_900_000.0, 6_870_000.0, -37.0)
    bx, by = _mercator_to_grid_xy(xs, ys, pyproj.CRS.from_epsg(27700))
    gx, gy = np.meshgrid(xs, ys)
    ex, ey = pyproj.Transformer.from_crs(3857, 27700, always_xy=True).transform(gx, gy)
    assert bx.shape == (len(ys), len(xs))
    assert np.abs(bx - ex).max() < 0.1 and np.abs(by - ey).max() < 0.1  # metres
    # Exact on the lattice itself (every 13th pixel for 500 m spans of 37 m pixels).
    assert np.abs(bx[0, 0] - ex[0, 0]) < 1e-6 and np.abs(by[-1, -1] - ey[-1, -1]) < 1e-6


def test_marker_cluster_with_a_unit_draws_clusters_as_tags_not_bare_numbers(sites):
    html = base_map(study_area=sites.buffer(1_000)).add_child(marker_cluster(sites, cluster_unit="sites")).get_root().render()
    assert '"iconCreateFunction": function (cluster)' in html  # a function, not a quoted string
    assert "cluster.getChildCount() + ' ' + \"sites\"" in html and ".hotspots-cluster-unit" in html
    plain = base_map(study_area=sites.buffer(1_000)).add_child(marker_cluster(sites)).get_root().render()
    assert "iconCreateFunction" not in plain  # the default bubbles elsewhere


def test_task_sites_layer_clusters_are_labelled_sites():
    from hotspots.maps.referral_layers import task_sites_layer

    tasks = gpd.GeoDataFrame({"task_id": ["T1", "T2"], "kind": ["food bank", "litter picking"], "site_name": ["A", "B"]},
                             geometry=gpd.points_from_xy([432_000, 432_050], [335_000, 335_000]), crs=27700)
    html = base_map(study_area=tasks.buffer(1_000)).add_child(task_sites_layer(tasks)).get_root().render()
    assert '+ "sites"' in html
