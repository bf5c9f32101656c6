"""Tests for hotspots.study_area: the study area an analysis covers (a given boundary and its
holes, the built-in outline, the incidents' footprint)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import points, ring_boundary

from hotspots import InputError, ParameterError
from hotspots.demo import generate_demo
from hotspots.study_area import AUTO_AREA_SHARE, choose_study_area, fill_holes


@pytest.fixture(scope="module")
def demo():
    return generate_demo(0)


def test_fill_holes_counts_and_removes_them():
    ring = ring_boundary()
    two = gpd.GeoDataFrame(
        geometry=[ring.geometry[0], shapely.MultiPolygon([ring.geometry[0].buffer(0), shapely.box(20_000, 0, 21_000, 1_000)])],
        crs=27700,
    )
    filled, n = fill_holes(two)
    assert n == 2
    assert (
        np.allclose(filled.area, [1e8, 1e8 + 1e6])
        and (shapely.get_num_interior_rings(shapely.get_parts(filled.geometry.values)) == 0).all()
    )
    same, n = fill_holes(filled)
    assert n == 0 and same is filled


def test_given_boundary_wins_and_its_holes_are_filled_by_default():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 10_000, (1000, 2))
    inc = points(xy)
    in_hole = int(((xy > 4_000) & (xy < 6_000)).all(axis=1).sum())
    c = choose_study_area(inc, ring_boundary())
    assert c.source == "given" and c.area.area.iloc[0] == pytest.approx(1e8)
    assert f"its 1 hole(s) filled, bringing in {in_hole:,} incidents" in c.note and "ring.geojson" in c.note
    assert c.record["incidents_in_holes"] == in_hole and c.record["share_of_incidents_inside"] == pytest.approx(1.0, abs=1e-3)
    kept = choose_study_area(inc, ring_boundary(), keep_holes=True)
    assert kept.area.area.iloc[0] == pytest.approx(1e8 - 4e6) and "hole(s) kept" in kept.note
    # Far from Derbyshire, a given boundary still wins.
    far = ring_boundary(outer=(500_000, 500_000, 510_000, 510_000), hole=(504_000, 504_000, 506_000, 506_000))
    assert choose_study_area(points(xy + 500_000), far).source == "given"
    with pytest.raises(ParameterError, match="keep_holes"):
        choose_study_area(inc, ring_boundary(), keep_holes="yes")


def test_a_hole_the_data_do_not_cover_is_kept():
    # Incidents over the ring only (none in its 2 km hole, or a few strays): filling the hole
    # would add an empty patch that makes the rest look hot, so it is kept and the note says why.
    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 10_000, (4000, 2))
    in_hole = ((xy > 4_000) & (xy < 6_000)).all(axis=1)
    strays = np.array([[5_000.0, 5_000.0], [4_500.0, 5_500.0]])  # 2 in 4 km² against ~41 per km² around
    c = choose_study_area(points(np.vstack([xy[~in_hole], strays])), ring_boundary())
    assert c.area.area.iloc[0] == pytest.approx(1e8 - 4e6) and c.record["holes_kept"] == 1
    assert "1 hole(s) kept: they hold fewer than 10% of the area's incidents per km²" in c.note and "hole(s) filled" not in c.note
    area, n = fill_holes(ring_boundary(), points(xy[~in_hole]))
    assert n == 0 and area.area.iloc[0] == pytest.approx(1e8 - 4e6)
    # 6 per km² against ~40 around: more than a tenth, so it is filled
    dense = np.vstack([xy[~in_hole], rng.uniform(4_000, 6_000, (24, 2))])
    area, n = fill_holes(ring_boundary(), points(dense))
    assert n == 1 and area.area.iloc[0] == pytest.approx(1e8)
    assert fill_holes(ring_boundary())[1] == 1  # without incidents: every hole, as before
    # a boundary in degrees is measured in the incidents' metres: the same decisions
    ll = ring_boundary().to_crs(4326)
    assert fill_holes(ll, points(xy[~in_hole]))[1] == 0 and fill_holes(ll, points(dense))[1] == 1
    # two features that only together enclose ground (no feature has a hole): nothing to fill or keep
    u = shapely.box(0, 0, 10_000, 10_000).difference(shapely.box(4_000, 4_000, 6_000, 10_000))
    cap = shapely.box(4_000, 6_000, 6_000, 10_000)
    two = gpd.GeoDataFrame({"name": ["u", "cap"]}, geometry=[u, cap], crs=27700)
    c = choose_study_area(points(xy[~in_hole]), two)
    assert "hole(s)" not in c.note and "holes_kept" not in c.record


def test_automatic_study_area_is_the_builtin_outline_only_when_it_holds_most_incidents(demo):
    derby = demo.incidents.iloc[:2000]
    c = choose_study_area(derby)
    assert c.source == "built-in" and "Derbyshire" in c.note and c.record["share_of_incidents_inside"] >= AUTO_AREA_SHARE
    # Elsewhere (issue 13): the footprint of the incidents, strays left out and announced.
    london = points([[530_000, 180_000], [531_000, 181_000]] * 10 + [[420_000, 540_000]])
    c = choose_study_area(london)
    assert c.source == "footprint" and c.area is not None and c.area.crs.equals(london.crs)
    assert "footprint of the incidents" in c.note and "left out 1 incident(s)" in c.note
    assert c.record["incidents_outside"] == 1 and c.record["share_of_incidents_inside"] == round(20 / 21, 4)
    assert shapely.contains_xy(c.area.geometry.iloc[0], 530_500, 180_500)
    assert choose_study_area(london, "none").area is None
    assert choose_study_area(derby, "default").source == "built-in"
    with pytest.raises(ParameterError):
        choose_study_area(london, "somewhere")


def test_a_boundary_that_holds_none_of_the_incidents_is_refused_and_almost_none_warned():
    """Essex's files with Derbyshire's boundary: none inside is an error naming where each lies; 1 of 200 inside
    (0.5%, below LOW_SHARE_INSIDE) is accepted with a warning in the note; 2 of 200 (1%) without one."""
    from hotspots.study_area import LOW_SHARE_INSIDE

    assert LOW_SHARE_INSIDE == 0.01
    far = np.full((200, 2), 50_000.0)  # 40 km beyond the 10 km square
    with pytest.raises(InputError, match=r"none of the 200 incidents lie in the study area \(ring.geojson\): wrong boundary"):
        choose_study_area(points(far), ring_boundary())
    one = far.copy()
    one[0] = (1_000, 1_000)
    note = choose_study_area(points(one), ring_boundary()).note
    assert "warning: only 1 of 200 incidents (0.50%) lie inside it" in note
    one[1] = (2_000, 2_000)
    assert "warning" not in choose_study_area(points(one), ring_boundary()).note


def test_the_holes_fix_is_named_as_each_user_sets_it():
    """'(choose 'keep holes' to leave them out)' named no flag: the command line gets --keep-holes, the app and
    Python their own controls."""
    from hotspots.validation import argument_names

    rng = np.random.default_rng(1)
    inc = points(rng.uniform(0, 10_000, (400, 2)))
    assert "(to leave them out: \"Keep the boundary's holes\" in the app, `keep_holes=True` in Python)" in choose_study_area(
        inc, ring_boundary()).note
    with argument_names({"keep_holes": "--keep-holes"}):
        assert "(to leave them out: `--keep-holes`)" in choose_study_area(inc, ring_boundary()).note


def test_the_wrong_boundary_error_places_the_incidents_where_most_of_them_are():
    """Durham's files with another force's boundary said 'The incidents lie around longitude -0.88, latitude 53.03'
    (the centre of the bounds, pulled south-east by a few strays recorded across the country); Durham is near
    -1.59, 54.71. Here: 200 incidents in Durham (425000, 542000) and 2 strays in Essex (655000, 190000): the centre
    of their bounds is at 0.09, 53.17 (Lincolnshire); the median is Durham's."""
    xy = np.array([[425_000, 542_000]] * 200 + [[655_000, 190_000]] * 2, dtype=float)
    with pytest.raises(InputError, match=r"The incidents lie around longitude -1\.61, latitude 54\.77, the boundary around "
                       r"longitude -7\.49, latitude 49\.81\."):
        choose_study_area(points(xy), ring_boundary())


def test_the_builtin_outline_asked_for_is_checked_as_a_boundary_file_is(demo):
    """`--study-area default` with Gwent's files ran (exit 0, '12,551 incidents fall in cells whose centre lies
    outside the study area', no hotspot areas) where a boundary file holding none of them is refused: the same
    rule now refuses the built-in outline, warns when under 1 % lie inside, and announces the share."""
    gwent = points(np.full((300, 2), [330_000.0, 195_000.0]))
    with pytest.raises(InputError, match=r"none of the 300 incidents lie in the study area \(the built-in Derbyshire outline\): "
                       r"wrong boundary.*The incidents lie around longitude -3\.0"):
        choose_study_area(gwent, "default")
    derby = demo.incidents.iloc[:150]
    few = gpd.GeoDataFrame(pd.concat([gwent, derby.iloc[:1][["month", "geometry"]]], ignore_index=True), crs=27700)
    c = choose_study_area(few, "builtin")
    assert c.source == "built-in" and c.record["share_of_incidents_inside"] == round(1 / 301, 4)
    assert "(as asked; 0.3% of incidents inside); warning: only 1 of 301 incidents (0.33%) lie inside it" in c.note
    c = choose_study_area(derby, "default")
    assert c.note == "study area: the built-in Derbyshire outline (as asked; 100.0% of incidents inside)"


def test_a_network_forces_footprint_keeps_every_incident_and_says_why():
    """British Transport Police's incidents at stations far from the rest are its own, not strays: the automatic
    study area keeps them, says why, and advises no force-area boundary (BTP has none)."""
    rng = np.random.default_rng(7)
    xy = np.vstack([rng.normal([530_000, 180_000], 2_000, (900, 2))] + [rng.normal([400_000 + 30_000 * k, 300_000], 50, (3, 2))
                                                                       for k in range(4)])
    inc = points(xy)
    area_force = choose_study_area(inc.assign(force="Kent Police"))
    assert area_force.record["incidents_outside"] == 12 and "give a boundary file" in area_force.note
    network = choose_study_area(inc.assign(force="British Transport Police"))
    assert network.source == "footprint" and network.record["incidents_outside"] == 0
    assert network.record["network_force"] == "British Transport Police"
    assert "polices a network" in network.note and "boundary file to use" not in network.note
    geom = network.area.geometry.iloc[0]
    assert shapely.contains_xy(geom, xy[:, 0], xy[:, 1]).all()


def test_a_boundary_without_a_crs_and_many_times_the_incidents_extent_is_said():
    """A shapefile without .prj (British National Grid read by its coordinates) 469 km across around 1,754 km² of
    data was used with no word about the CRS assumed or its size."""
    from hotspots.study_area import OVERSIZE_FACTOR, oversized_area_note

    rng = np.random.default_rng(2)
    xy = rng.uniform(0, 10_000, (500, 2))  # a 100 km² box of incidents
    big = gpd.GeoDataFrame(geometry=[shapely.box(-45_000, -45_000, 55_000, 55_000)], crs=27700)  # 10,000 km²
    big.attrs.update(source="noprj.shp", notes=["noprj.shp has no CRS; coordinates look like British National Grid"])
    c = choose_study_area(points(xy), big)
    assert "; noprj.shp has no CRS; coordinates look like British National Grid" in c.note
    lo, hi = np.quantile(xy, [0.005, 0.995], axis=0)
    box = float(np.prod(hi - lo)) / 1e6
    assert f"the boundary covers 10,000 km² (100 km across), {10_000 / box:,.0f} times the {box:,.0f} km² box" in c.note
    # a boundary in proportion to its incidents: no word
    assert oversized_area_note(shapely.box(0, 0, 10_000, 10_000), xy) == ""
    assert oversized_area_note(shapely.box(0, 0, 10_000, 10_000 * OVERSIZE_FACTOR * 0.9), xy) == ""
    # a few strays 200 km away (Gwent's 2025 ASB) do not stretch the incidents' box
    strays = np.vstack([xy, [[200_000, 200_000]] * 2])
    assert "times the 98 km² box" in oversized_area_note(shapely.box(-45_000, -45_000, 55_000, 55_000), strays)
