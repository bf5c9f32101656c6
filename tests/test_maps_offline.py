"""hotspots.maps.offline: no script, style sheet or font is fetched from the internet."""

from __future__ import annotations

import base64

import folium
import folium.elements
import geopandas as gpd
import numpy as np
import pytest
import shapely
from branca.colormap import LinearColormap
from folium.plugins import MarkerCluster

from hotspots.grid import Grid, GridValues
from hotspots.maps import (
    OfflineAssetError,
    OfflineMap,
    add_layer_control,
    asset_data_url,
    base_map,
    category_legend,
    external_urls,
    geojson_layer,
    legend,
    make_offline,
    marker_cluster,
    needs_internet,
    offline_problems,
    raster_overlay,
)

LEAFLET_JS = dict(folium.Map.default_js)["leaflet"]
JQUERY_JS = dict(folium.Map.default_js)["jquery"]
BOOTSTRAP_CSS = dict(folium.Map.default_css)["bootstrap_css"]
AWESOME_CSS = dict(folium.Map.default_css)["awesome_markers_css"]


def _decode(data_url: str) -> str:
    head, payload = data_url.split(",", 1)
    assert head.endswith(";base64")
    return base64.b64decode(payload).decode("utf-8")


@pytest.fixture
def area():
    return gpd.GeoDataFrame(geometry=[shapely.Point(435_000, 336_000).buffer(4_000)], crs=27700)


@pytest.fixture
def full_map(area):
    """Every kind of element the app uses: raster, legends, GeoJSON with tooltip and popup,
    marker clusters (fast and classic), a popup marker, layer control."""
    g = Grid.for_area(area, cell_size=250)
    v = np.where(g.active, 0.0, np.nan)
    v[5, 5] = 9.0
    m = base_map(study_area=area)
    ov = raster_overlay(GridValues(v, g, name="density", units="per km²"))
    ov.add_to(m)
    legend(ov.scale).add_to(m)
    category_legend({"hot": "#d7301f"}, title="Gi*").add_to(m)
    polys = gpd.GeoDataFrame({"name": ["a <b>"]}, geometry=[shapely.box(434_000, 335_000, 435_000, 336_000)], crs=27700)
    geojson_layer(polys, fields=["name"], popup_fields=["name"]).add_to(m)
    pts = gpd.GeoDataFrame({"site": ["x", "y"]}, geometry=gpd.points_from_xy([435_000, 435_100], [336_000, 336_100]), crs=27700)
    marker_cluster(pts, popup_fields=["site"]).add_to(m)
    classic = MarkerCluster(name="classic").add_to(m)
    folium.CircleMarker([52.92, -1.47], radius=4, popup=folium.Popup("p", parse_html=True)).add_to(classic)
    add_layer_control(m)
    return m


# ---------------------------------------------------------------- the asset table
def test_assets_are_the_versions_folium_asks_for():
    assert "1.9.3" in LEAFLET_JS  # folium 0.20's Leaflet
    js = _decode(asset_data_url(LEAFLET_JS))
    assert js.lstrip().startswith("/* @preserve") and "Leaflet 1.9.3" in js[:200]
    jq = _decode(asset_data_url(JQUERY_JS))
    assert "jQuery v3.7.1" in jq[:200]
    assert asset_data_url(LEAFLET_JS).startswith("data:text/javascript;charset=utf-8;base64,")
    css = asset_data_url(dict(folium.Map.default_css)["leaflet_css"])
    assert css.startswith("data:text/css;charset=utf-8;base64,")
    # Leaflet's CSS carries its images inline (layer-control icon), so nothing else is fetched.
    assert "url(data:image/png;base64," in _decode(css)


@pytest.mark.parametrize("cls", [MarkerCluster, folium.plugins.FastMarkerCluster, folium.Map])
def test_every_asset_of_the_elements_we_use_has_a_local_copy(cls):
    for _, url in list(cls.default_js) + list(cls.default_css):
        assert _decode(asset_data_url(url))  # non-empty text


def test_unknown_asset_is_refused():
    with pytest.raises(OfflineAssetError, match="no local copy"):
        asset_data_url("https://cdn.example.org/unknown.js")


# ---------------------------------------------------------------- whole maps
def test_full_map_renders_without_external_urls(full_map):
    html = full_map.get_root().render()
    assert external_urls(html) == []
    # Scripts and style sheets are there, inlined.
    assert asset_data_url(LEAFLET_JS) in html
    assert asset_data_url(JQUERY_JS) in html
    assert asset_data_url(dict(MarkerCluster.default_js)["markerclusterjs"]) in html
    # Dropped: Bootstrap and the icon-font style sheets (no fonts offline), and no Icon was used.
    assert asset_data_url(BOOTSTRAP_CSS) not in html
    assert asset_data_url(AWESOME_CSS) not in html
    assert asset_data_url(dict(folium.Map.default_js)["bootstrap"]) not in html
    # The whole page stays small enough to send on every rerun.
    assert len(html) < 700_000


def test_detector_finds_cdn_links_on_a_plain_folium_map():
    m = folium.Map(location=[52.9, -1.5], zoom_start=10, tiles=None)
    MarkerCluster().add_to(m)
    urls = external_urls(m.get_root().render())
    assert any("leaflet@1.9.3" in u for u in urls)
    assert any("markercluster" in u for u in urls)
    assert any("bootstrap" in u for u in urls)


def test_external_urls_reads_inlined_css_and_ignores_mentions():
    css = "@import 'https://fonts.example.org/x.css'; .a { background: url(//cdn.example.org/i.png) }"
    data = "data:text/css;charset=utf-8;base64," + base64.b64encode(css.encode()).decode()
    page = f'<link rel="stylesheet" href="{data}"/><script>var ns = "http://www.w3.org/2000/svg";</script>'
    assert external_urls(page) == ["https://fonts.example.org/x.css", "//cdn.example.org/i.png"]
    assert external_urls('<img src="https://x.example.org/a.png">') == ["https://x.example.org/a.png"]


def test_make_offline_works_on_a_plain_map_rendered_before(area):
    m = folium.Map(location=[52.9, -1.5], zoom_start=10, tiles=None)
    MarkerCluster().add_to(m)
    m.get_root().render()  # leaves CDN links in the header
    make_offline(m)
    html = m.get_root().render()
    assert external_urls(html) == []
    assert make_offline(m) is m  # idempotent, returns the map


def test_make_offline_changes_instances_not_folium_classes():
    before_js, before_css = list(folium.Map.default_js), list(folium.Map.default_css)
    mc_before = list(MarkerCluster.default_js)
    m = OfflineMap(location=[52.9, -1.5], tiles=None)
    MarkerCluster().add_to(m)
    m.get_root().render()
    assert folium.Map.default_js == before_js and folium.Map.default_css == before_css
    assert MarkerCluster.default_js == mc_before
    other = folium.Map(location=[52.9, -1.5], tiles=None)
    assert any("leaflet@1.9.3" in u for u in external_urls(other.get_root().render()))


def test_icon_brings_its_style_sheet_only_when_used():
    m = OfflineMap(location=[52.9, -1.5], tiles=None)
    folium.Marker([52.9, -1.5], icon=folium.Icon(color="red")).add_to(m)
    html = m.get_root().render()
    assert asset_data_url(AWESOME_CSS) in html
    assert external_urls(html) == []


def test_branca_colormap_is_refused_with_the_fix():
    m = OfflineMap(location=[52.9, -1.5], tiles=None)
    LinearColormap(["white", "red"], vmin=0, vmax=1).add_to(m)
    assert any("d3" in p for p in offline_problems(m))
    with pytest.raises(OfflineAssetError, match=r"hotspots\.maps\.legend"):
        m.get_root().render()


def test_plugin_without_local_copy_is_refused():
    class Odd(folium.elements.JSCSSMixin, folium.map.Layer):
        default_js = [("odd", "https://cdn.example.org/odd.js")]

    m = folium.Map(location=[52.9, -1.5], tiles=None)
    Odd().add_to(m)
    assert offline_problems(m) == ["Odd needs https://cdn.example.org/odd.js, which has no local copy."]
    with pytest.raises(OfflineAssetError, match="odd.js"):
        make_offline(m)


def test_needs_internet_lists_tile_layers(area):
    assert needs_internet(base_map(study_area=area)) == []
    osm = needs_internet(base_map(study_area=area, basemap="osm"))
    assert len(osm) == 1 and "openstreetmap" in osm[0]
    carto = needs_internet(base_map(study_area=area, basemap="carto-light", tile_api_key="k123"))
    assert len(carto) == 1 and "cartocdn" in carto[0] and "k123" in carto[0]


def test_streamlit_folium_sees_only_inlined_links(full_map):
    """What streamlit-folium sends to its frame: every element's default_js/default_css."""
    full_map.get_root().render()
    links = []

    def walk(el):
        if isinstance(el, folium.elements.JSCSSMixin):
            links.extend(u for _, u in list(el.default_js) + list(el.default_css))
        for child in getattr(el, "_children", {}).values():
            walk(child)

    walk(full_map)
    assert links and all(u.startswith("data:text/") for u in links)
    assert asset_data_url(LEAFLET_JS) in links and asset_data_url(JQUERY_JS) in links
