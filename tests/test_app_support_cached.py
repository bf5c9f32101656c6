"""hotspots.app_support.cached: the app's cached library calls give the library's results, once per
distinct input (data token and the settings each call reads)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("streamlit")

from hotspots import ParameterError  # noqa: E402
from hotspots.app_support import cached as c  # noqa: E402
from hotspots.app_support import demo_bundle  # noqa: E402
from hotspots.maps.scheme_layers import hotspot_area_table  # noqa: E402
from hotspots.pipeline import (  # noqa: E402
    area_change,
    cell_change,
    emerging_stage,
    hotspot_stage,
    pooled_change,
    ring_change,
    scheme_linkage,
)
from hotspots.places import name_hotspot_areas  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no script run context" outside a Streamlit session
        return c.demo_data(0)


def test_results_are_the_library_results_computed_once(demo):
    s = demo.defaults.replace(cell_size=1000.0, near_m=1500.0)
    hot = c.stage(demo, s.only(*c.HOT))
    assert c.stage(demo, s.only(*c.HOT)) is hot  # a hit: the same object, no copy
    # A setting the stage does not read gives the same key (Settings.only), so the same result.
    assert c.stage(demo, s.replace(near_m=900.0, eps=99.0).only(*c.HOT)) is hot
    ref = hotspot_stage(demo.incidents, s.only(*c.HOT), demo.study_area)
    assert hot.grid.same_as(ref.grid) and np.array_equal(hot.gi.bins, ref.gi.bins) and hot.notes == ref.notes
    changes, note = c.change(demo, s.only(*c.CHANGE), "areas")
    ref_cells, _ = cell_change(demo.incidents, ref.grid, s)
    ref_changes, ref_note = area_change(demo.incidents, ref, s, ref_cells)  # the cells' variance where areas are few
    pd.testing.assert_frame_equal(changes.table, ref_changes.table)
    link = c.linkage(demo, s.only(*c.LINK))
    ref_link = scheme_linkage(demo.referrals, demo.tasks, ref, s, demo.study_area, demo.incidents)
    pd.testing.assert_frame_equal(link.table, ref_link.table)
    table = c.area_table(demo, s.only(*c.TABLE), None)  # the map's table: no referral figures
    places = name_hotspot_areas(ref.areas.areas, ref.incidents, demo.study_area)
    ref_table = hotspot_area_table(ref.areas, change=ref_changes, places=places)
    pd.testing.assert_frame_equal(pd.DataFrame(table.drop(columns="geometry")), pd.DataFrame(ref_table.drop(columns="geometry")))


def test_pooled_change_table_is_the_library_summary_computed_once(demo):
    s = demo.defaults.replace(cell_size=1000.0).only(*c.CHANGE)
    t = c.pooled(demo, s)
    assert c.pooled(demo, s.replace(near_m=900.0).only(*c.CHANGE)) is t
    ref = hotspot_stage(demo.incidents, s.only(*c.HOT), demo.study_area)
    cells, _ = cell_change(demo.incidents, ref.grid, s)
    areas = area_change(demo.incidents, ref, s, cells)[0]
    summ, note = pooled_change(ref, cells, areas)
    # then the rings around the hotspot areas, as the library computes them
    moved, moved_note = ring_change(demo.incidents, ref, s, cells, areas)
    assert note is None and moved_note is None and len(t.lines) == 5
    assert t.lines == tuple(summ.lines()) + tuple(moved.lines())
    assert t.frame["Scope"].tolist() == [r.scope for r in summ.rows + moved.summary.rows]
    assert moved.describe() in t.caption


def test_change_table_carries_the_rings_and_patterns_as_the_library(demo):
    from hotspots.emerging_summary import area_patterns

    s = demo.defaults.replace(cell_size=1000.0).only(*c.RINGS)
    t = c.change_table(demo, s)
    assert c.change_table(demo, s.replace(near_m=900.0).only(*c.RINGS)) is t
    ref = hotspot_stage(demo.incidents, s.only(*c.HOT), demo.study_area)
    cells, _ = cell_change(demo.incidents, ref.grid, s)
    areas = area_change(demo.incidents, ref, s, cells)[0]
    moved, _ = ring_change(demo.incidents, ref, s, cells, areas)
    trends, _ = emerging_stage(demo.incidents, ref, s)
    places = name_hotspot_areas(ref.areas.areas, ref.incidents, demo.study_area)
    want = hotspot_area_table(ref.areas, change=areas, places=places, displacement=moved,
                              patterns=area_patterns(trends, ref.areas.labels, ref.areas.n_areas))
    pd.testing.assert_frame_equal(pd.DataFrame(t.drop(columns="geometry")), pd.DataFrame(want.drop(columns="geometry")))
    assert {"ring_change_pct", "ring_change_class", "emerging"} <= set(t.columns)


def test_other_data_never_share_results(demo):
    other = demo_bundle(1)
    s = demo.defaults.replace(cell_size=1000.0).only(*c.HOT)
    assert other.token != demo.token
    a, b = c.stage(demo, s), c.stage(other, s)
    assert a is not b and len(a.incidents) != len(b.incidents)


def test_exports_analysis_assembled_from_the_cached_stages(demo):
    s = demo.defaults.replace(cell_size=1000.0).only(*c.TABLE, "threshold")
    an = c.full_analysis(demo, s, 250.0)
    assert an.grid is c.stage(demo, s.only(*c.HOT)).grid
    assert an.change_cells is not None and an.kpis is not None and an.notes[: len(demo.prepared.notes)] == demo.prepared.notes
    # periods and a ring width of the user's own: the analysis carries them (the briefing's density
    # panels use its periods; parameters.json records its settings), as the change used them
    own = s.replace(before=("2022-01", "2022-12"), after=("2024-01", "2024-12"), ring_m=1000.0)
    an = c.full_analysis(demo, own.only(*c.EXPORT), 250.0)
    assert (an.before, an.after) == (an.change_cells.before, an.change_cells.after)
    assert an.before.describe() == "before: Jan 2022 – Dec 2022" and an.settings.after == ("2024-01", "2024-12")
    assert an.displacement.width_m == 1000.0 and an.settings.ring_m == 1000.0
    # the emerging hot spots: the cached ones, as analyse() computes them on the stage
    trends, note = c.emerging(demo, s.only(*c.HOT))
    assert note is None and an.emerging is trends and trends.grid.same_as(an.grid)
    ref, _ = emerging_stage(demo.incidents, c.stage(demo, s.only(*c.HOT)), s)
    assert np.array_equal(trends.categories, ref.categories)


def test_exports_hold_the_clusters_the_map_shows(demo):
    # Essex (tester): the app showed 83 DBSCAN clusters; the GeoPackage and the "All layers" zip had none
    from hotspots.export.gis import gis_layers

    s = demo.defaults.replace(cell_size=1000.0, cluster_method="dbscan", eps=300.0, min_samples=20)
    shown = c.clusters(demo, s.only(*c.CLUSTER_SETTINGS))
    an = c.full_analysis(demo, s.only(*c.EXPORT), 250.0)
    assert shown.n_clusters > 0 and an.clusters is shown
    assert len(gis_layers(an)["clusters"]) == shown.n_clusters
    off = c.full_analysis(demo, s.replace(cluster_method="none").only(*c.EXPORT), 250.0)
    assert off.clusters is None and "clusters" not in gis_layers(off)


def test_kpis_follow_the_filters(demo):
    s = demo.defaults.replace(cell_size=1000.0).only(*c.LINK, "threshold")
    everyone = c.view(demo, s, 250.0, ((), (), (), "all"))
    youth = c.view(demo, s, 250.0, ((), (), ("youth",), "all"))
    assert everyone["figures"]["referrals"] == len(demo.referrals) and everyone["groups"] == ["All"]
    assert youth["figures"]["referrals"] == int((demo.referrals["age_group"] == "youth").sum())
    assert youth["groups"] == ["youth"]
    with pytest.raises(ParameterError, match="not in the data"):
        c.view(demo, s, 250.0, (("no such offence",), (), (), "all"))


def test_map_layers_are_cached_by_the_settings_they_read(demo):
    from hotspots.app_support import maplayers
    from hotspots.app_support.drawn import draw_layer

    s = demo.defaults.replace(cell_size=1000.0)
    layers = c.analysis_layers(demo, s.only(*c.MAP), None, False)
    ref = hotspot_stage(demo.incidents, s.only(*c.HOT), demo.study_area)
    ref_table = c.area_table(demo, s.only(*c.TABLE), None)
    assert [x.script for x in layers] == [draw_layer(g).script for g in maplayers.analysis_layers(ref, ref_table)]
    # Other before/after periods: the areas are drawn again (their change), the density and Gi* layers are the same objects.
    other = c.analysis_layers(demo, s.replace(before=("2022-01", "2022-12")).only(*c.MAP), None, False)
    assert other[0] is layers[0] and other[1] is layers[1] and other[2] is not layers[2]
    assert other[2].script != layers[2].script


def test_flows_name_their_hotspot_origins_by_place(demo):
    """The map's referral → task flows read "hotspot 12 · <place>" for a hotspot origin (it read "From 12")."""
    s = demo.defaults.replace(cell_size=250.0)
    hot = c.stage(demo, s.only(*c.HOT))
    named = name_hotspot_areas(hot.areas.areas, hot.incidents, demo.study_area)
    flows = c.publication(demo, s.only(*c.LINK), 250.0).flows
    origin = flows.loc[flows["origin_kind"] == "hotspot area", "origin"].astype(str).iloc[0]
    place = dict(zip(named["area_id"].astype(str), named["label"]))[origin]
    (lines,) = [x for x in c.scheme_layers(demo, s.only(*c.LINK), 250.0, False, True) if x.name.startswith("Referral")]
    assert f'"hotspot {origin} · {place}"' in lines.script


def test_a_data_set_is_taken_out_of_the_full_garbage_collections():
    import gc

    gc.unfreeze()
    other = demo_bundle(2)
    months = c.months_of(other)
    assert months[0] == "2022-01" and gc.get_freeze_count() > 0  # the data set's objects are frozen
    gc.unfreeze()


def test_no_pooled_change_says_there_are_no_hotspot_areas(demo):
    # 99 permutations reach no class over the demo's cells: no hotspot areas, and the caption says so
    s = demo.defaults.replace(cell_size=1000.0, permutations=99).only(*c.CHANGE)
    assert c.stage(demo, s.only(*c.HOT)).areas.n_areas == 0
    t = c.pooled(demo, s)
    assert len(t.frame) == 0 and t.caption == "No pooled change: no hotspot areas at these settings (the Map tab says why)."


def test_the_apps_hotspot_areas_csv_is_the_results_folders(demo):
    """The app's "Hotspot areas (CSV)" lacked ring_change_pct, ring_change_class and emerging (only in "Change per
    hotspot (CSV)") that the README gives csv/hotspot_areas.csv: both are now hotspot_areas_table of one analysis."""
    from hotspots.app_support import area_downloads
    from hotspots.export.gis import csv_tables, hotspot_areas_table

    s = demo.defaults.replace(cell_size=1000.0)
    got = c.area_csv(demo, s, 250.0)
    an = c.full_analysis(demo, s.only(*c.EXPORT), 250.0)
    pd.testing.assert_frame_equal(got, hotspot_areas_table(an, snap_m=250.0))
    pd.testing.assert_frame_equal(got, csv_tables(an, snap_m=250.0)["hotspot_areas"])
    assert {"ring_change_pct", "ring_change_class", "emerging", "n_before", "n_after", "referrals"} <= set(got.columns)
    offered = {d.label: d for d in area_downloads(lambda: None, c.stage(demo, s.only(*c.HOT)), lambda: got)}
    text = offered["Hotspot areas (CSV)"].make().decode("utf-8-sig")
    assert text.splitlines()[0].split(",") == [str(col) for col in got.columns] and len(text.splitlines()) == len(got) + 1
