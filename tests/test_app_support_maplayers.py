"""hotspots.app_support.maplayers: which layers each of the app's maps shows."""

from __future__ import annotations

import pytest

from hotspots.app_support import demo_bundle
from hotspots.pipeline import hotspot_stage


# =============================================================================== which layers each map shows
def test_map_layers_of_the_app(demo_small):
    from hotspots.app_support import maplayers
    from hotspots.maps import scheme_layers as sl
    from hotspots.summaries import before_after_density

    d, stage, table, cells = demo_small
    groups = maplayers.analysis_layers(stage, table)
    assert [g.layer_name for g in groups] == [sl.LAYER_NAMES[k] for k in ("density", "gi", "areas")]
    scheme = maplayers.scheme_layers(_publication(d, stage), d.tasks, origins=True, flows=True)
    assert len(scheme) == 3 and all(g.show for g in scheme)
    # Person-level layers are built only when switched on, so nothing of them reaches the browser otherwise.
    assert len(maplayers.scheme_layers(_publication(d, stage), d.tasks)) == 1
    assert maplayers.scheme_layers(None, None, origins=True, flows=True) == []
    dens = before_after_density(d.incidents, stage.grid, cells, bandwidth=stage.density.bandwidth_m)
    dual = maplayers.before_after_map(dens, table, d.study_area, None)
    html = dual.get_root().render()
    assert html.count("L.imageOverlay(") == 2 and "Before density" in html and "After density" in html
    change = maplayers.change_layers(cells, table)
    assert len(change) == 2 and maplayers.change_layers(cells, table.iloc[:0])[0].layer_name == change[0].layer_name
    # with the rings around the hotspot areas: drawn between the cells and the areas
    from hotspots.pipeline import area_change, ring_change

    s = d.defaults.replace(cell_size=1000.0)
    rings, _ = ring_change(d.incidents, stage, s, cells, area_change(d.incidents, stage, s, cells)[0])
    names = [g.layer_name for g in maplayers.change_layers(cells, table, rings)]
    assert names == [sl.LAYER_NAMES[k] for k in ("change", "rings", "areas")]
    # and the emerging hot spots, off until switched on in the map's layer control
    from hotspots.pipeline import emerging_stage

    groups = maplayers.change_layers(cells, table, rings, emerging_stage(d.incidents, stage, s)[0])
    assert [g.layer_name for g in groups] == [sl.LAYER_NAMES[k] for k in ("change", "emerging", "rings", "areas")]
    assert groups[1].show is False and all(g.show for g in groups if g is not groups[1])


@pytest.fixture(scope="module")
def demo_small():
    from hotspots.maps import scheme_layers as sl
    from hotspots.pipeline import area_change, cell_change

    d = demo_bundle(0)
    s = d.defaults.replace(cell_size=1000.0)
    stage = hotspot_stage(d.incidents, s, d.study_area)
    changes, _ = area_change(d.incidents, stage, s)
    cells, _ = cell_change(d.incidents, stage.grid, s)
    return d, stage, sl.hotspot_area_table(stage.areas, change=changes), cells


def _publication(d, stage):
    """The demo's protected scheme figures (the app's :func:`hotspots.app_support.cached.publication`)."""
    from hotspots.linkage import link_referrals
    from hotspots.publication import publish_scheme

    link = link_referrals(d.referrals, areas=stage.areas.areas, tasks=d.tasks, near_m=2000.0)
    return publish_scheme(d.referrals, linkage=link, areas=stage.areas.areas, threshold=5, snap_m=250.0)
