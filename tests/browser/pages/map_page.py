"""Throwaway Streamlit page for the browser harness's own tests (not part of the app).

A map built with :mod:`hotspots.maps` on a synthetic grid and small GeoDataFrames whose text
fields hold script payloads. Query parameters:

* ``?basemap=osm`` draws OpenStreetMap tiles (needs the internet: the harness test uses it to
  prove that external requests are noticed).
* ``?dual=1`` draws two synchronised maps (before / after style) instead of one.
* ``?error=1`` also shows an error box (the harness test of ``app_errors``).

A number input "Hot value" changes the hot cell's value, so tests can change a parameter and
wait for the map to be redrawn.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import streamlit as st
from streamlit_folium import st_folium

from hotspots.grid import Grid, GridValues
from hotspots.maps import (
    add_layer_control,
    base_map,
    category_legend,
    dual_map,
    geojson_layer,
    legend,
    marker_cluster,
    raster_overlay,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for the shared helpers
from helpers import PAYLOADS  # noqa: E402

st.set_page_config(page_title="hotspots map harness", layout="wide")
st.title("Map harness")

basemap = st.query_params.get("basemap", "none")
if st.query_params.get("error") == "1":
    st.error("harness error box: " + PAYLOADS[0])
hot = st.number_input("Hot value", min_value=1.0, max_value=1000.0, value=40.0, step=1.0)

# Study area: a 10 km square in Derby (BNG), a 200 m grid with one hot cell and a warm block.
X0, Y0 = 430_000.0, 330_000.0
area = gpd.GeoDataFrame({"name": ["Test area"]}, geometry=[shapely.box(X0, Y0, X0 + 10_000, Y0 + 10_000)], crs=27700)
grid = Grid.for_area(area, cell_size=200)
values = np.where(grid.active, 0.0, np.nan)
values[10, 10] = hot  # the hot cell
values[30:35, 30:40] = 6.0
density = GridValues(values, grid, name="Density " + PAYLOADS[0], units="incidents per km²")

# Two areas with payload text, far apart.
areas = gpd.GeoDataFrame(
    {
        "name": [PAYLOADS[0], PAYLOADS[1]],
        "note": [PAYLOADS[3], PAYLOADS[4]],
        "count": [12, 3],
    },
    geometry=[
        shapely.box(X0 + 1_000, Y0 + 6_000, X0 + 3_000, Y0 + 8_000),
        shapely.box(X0 + 6_000, Y0 + 1_000, X0 + 8_000, Y0 + 3_000),
    ],
    crs=27700,
)
# Two lone sites (not clustered at the opening zoom) and a tight bunch that clusters.
rng = np.random.default_rng(7)
bunch = rng.normal(size=(20, 2)) * 30 + (X0 + 8_500, Y0 + 8_500)
sites = gpd.GeoDataFrame(
    {
        "site_name": [PAYLOADS[2], PAYLOADS[3]] + [f"site {i}" for i in range(20)],
        "kind": ["litter picking", "food bank"] + ["allotment"] * 20,
    },
    geometry=gpd.points_from_xy(
        [X0 + 2_000, X0 + 5_000] + list(bunch[:, 0]), [Y0 + 4_000, Y0 + 8_000] + list(bunch[:, 1])
    ),
    crs=27700,
)

if st.query_params.get("dual") == "1":
    dual = dual_map(study_area=area, basemap=basemap)
    before = raster_overlay(density, name="Before", vmin=0, vmax=40)
    after = raster_overlay(GridValues(values / 2, grid, name="After"), vmin=0, vmax=40)
    for side, ov in ((dual.m1, before), (dual.m2, after)):
        ov.add_to(side)
        legend(ov.scale).add_to(side)
        add_layer_control(side)
    st_folium(dual, returned_objects=[], height=500, use_container_width=True, key="dual")
    st.caption("map harness ready")
    st.stop()

m = base_map(study_area=area, basemap=basemap, height=600)
overlay = raster_overlay(density, opacity=0.8)
overlay.add_to(m)
legend(overlay.scale).add_to(m)
geojson_layer(
    areas,
    fields=["name", "count"],
    aliases=["Name", "Incidents"],
    popup_fields=["name", "note"],
    popup_aliases=["Name", PAYLOADS[1]],
    name="Areas " + PAYLOADS[1],
).add_to(m)
marker_cluster(
    sites,
    popup_fields=["site_name", "kind"],
    popup_aliases=["Site", "Kind"],
    tooltip_field="site_name",
    label_field="kind",
    name="Task sites " + PAYLOADS[4],
).add_to(m)
category_legend([(PAYLOADS[0], "#d7301f"), ("Hot 95%", "#fc8d59")], title="Classes", position="bottomleft").add_to(m)
add_layer_control(m, collapsed=False)

st_folium(m, returned_objects=[], height=600, use_container_width=True, key="map")
st.caption("map harness ready")
