"""hotspots.app_support.drawn: the map component's text made once gives exactly what
``st_folium`` sends on every rerun, and reusing it leaves the layer groups as they were."""

from __future__ import annotations

import copy
import json
from unittest import mock

import pytest
import streamlit_folium

from hotspots.app_support import demo_bundle, maplayers
from hotspots.app_support.drawn import component_args, draw_layer, draw_map
from hotspots.maps import scheme_layers as sl
from hotspots.pipeline import hotspot_stage


@pytest.fixture(scope="module")
def layers():
    d = demo_bundle(0)
    stage = hotspot_stage(d.incidents, d.defaults.replace(cell_size=1000.0), d.study_area)
    from hotspots.clustering import clusters

    found = clusters(d.incidents.iloc[::20], "dbscan", eps=300.0, min_samples=5)
    groups = maplayers.analysis_layers(stage, sl.hotspot_area_table(stage.areas), found)
    groups += maplayers.scheme_layers(_publication(d, stage), d.tasks, origins=True, flows=True)
    return d, groups


def st_folium_args(m, groups, **kwargs) -> dict:
    """What ``st_folium`` hands to its component (the component itself replaced by a recorder)."""
    sent: dict = {}
    with mock.patch.object(streamlit_folium, "_component_func", lambda **kw: sent.update(kw)):
        streamlit_folium.st_folium(
            m,
            feature_group_to_add=groups,
            layer_control=sl.scheme_layer_control(),
            returned_objects=[],
            use_container_width=True,
            **kwargs,
        )
    sent.pop("on_change")
    return sent


@pytest.mark.parametrize("basemap", ["none", "osm"])
def test_drawn_once_is_what_st_folium_sends(layers, basemap):
    d, groups = layers
    base = maplayers.app_base_map(d.study_area, None, basemap=basemap)
    expected = st_folium_args(copy.deepcopy(base), [copy.deepcopy(g) for g in groups], key="main_map", height=620)
    drawn, drawn_layers = draw_map(base), [draw_layer(g) for g in groups]
    got = component_args(drawn, drawn_layers, key="main_map", height=620)
    assert set(got) == set(expected)
    for k in expected:
        assert got[k] == expected[k], k
    # Every layer, the layer control with the study area first, and the groups' assets inlined (no CDN).
    assert [x.name for x in drawn_layers] == [g.layer_name for g in groups] and len(groups) == 7
    control = got["layer_control"]
    assert control.index('"Study area"') < control.index(json.dumps(groups[0].layer_name)[1:-1])
    assert all(link.startswith("data:") for link in got["js_links"] + got["css_links"])
    # Again, and in another order: the same text as st_folium gives for that order.
    again = component_args(drawn, drawn_layers[::-1], key="main_map", height=620)
    assert (
        again
        == {
            **st_folium_args(copy.deepcopy(base), [copy.deepcopy(g) for g in groups[::-1]], key="main_map", height=620),
            "id": again["id"],
        }
        and again["id"] == "map_div"
    )


def test_drawing_leaves_the_groups_and_map_as_they_were(layers):
    d, groups = layers
    base = maplayers.app_base_map(d.study_area, None)
    ids = [g._id for g in groups] + [base._id]
    children = [list(g._children) for g in groups]
    draw_map(base)
    for g in groups:
        draw_layer(g)
    assert [g._id for g in groups] + [base._id] == ids and [list(g._children) for g in groups] == children
    assert not any(g._parent is not None for g in groups)


def test_layers_without_any_group(layers):
    d, _ = layers
    got = component_args(draw_map(maplayers.app_base_map(d.study_area, None)), [], key="k", height=300)
    assert got["feature_group"] is None and "Study area" in got["layer_control"] and got["height"] == 300


def _publication(d, stage):
    """The demo's protected scheme figures (the app's :func:`hotspots.app_support.cached.publication`)."""
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    link = link_referrals(d.referrals, areas=stage.areas.areas, tasks=d.tasks, near_m=2000.0)
    return publish_scheme(d.referrals, linkage=link, areas=stage.areas.areas, threshold=5, snap_m=250.0)
