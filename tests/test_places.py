"""Tests for hotspots.places: hotspot area names from police.uk streets, LSOA districts and a gazetteer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots._errors import CRSError, ParameterError
from hotspots.places import (
    GENERIC_LOCATIONS,
    PLACE_COLUMNS,
    area_places,
    areas_near,
    district_names,
    is_generic_location,
    street_names,
    town_of,
    towns_at,
    towns_districts,
)


def test_street_names():
    out = street_names(
        ["On or near Granby Street", "on or near  Market Place ", "On or near ", None, "On or near King'S Road", "Elm Row"]
    )
    assert out.tolist()[:2] == ["Granby Street", "Market Place"]
    assert out.isna().tolist() == [False, False, True, True, False, False]
    assert out.iloc[4] == "King's Road" and out.iloc[5] == "Elm Row"


def test_districts():
    out = district_names(
        ["Leicester 012A", "North West Leicestershire 004C", "Bath and North East Somerset 001B", "", None, "Rutland"]
    )
    assert out.tolist()[:3] == ["Leicester", "North West Leicestershire", "Bath and North East Somerset"]
    assert out.isna().tolist() == [False, False, False, True, True, False]


def test_names_cleaned_once_per_distinct_value_keep_order_and_index():
    # names are cleaned per distinct value and spread back: repeats, missing values (None, NaN)
    # and a Series' own index come back as they went in
    raw = pd.Series(["On or near Granby Street", None, "On or near Granby Street", np.nan, "On or near ", "On or near Elm Row"],
                    index=[10, 11, 12, 13, 14, 15])
    out = street_names(raw)
    assert out.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert out.tolist()[::2] == ["Granby Street", "Granby Street", pd.NA]
    assert out.isna().tolist() == [False, True, False, True, True, False] and out.iloc[5] == "Elm Row"
    assert str(out.dtype) == "string" and str(district_names(["Derby 001A"] * 3).dtype) == "string"
    assert district_names(["Derby 001A", "Derby 002B", "Derby 001A"]).tolist() == ["Derby"] * 3


def test_generic_locations():
    assert is_generic_location(["Parking Area", "supermarket", "High Street", None]).tolist() == [True, True, False, False]
    assert "Nightclub" in GENERIC_LOCATIONS


def test_town_of_weighs_population():
    towns = gpd.GeoDataFrame(
        {"name": ["City", "Village"], "population": [360_000, 900]},
        geometry=gpd.points_from_xy([0, 4_000], [0, 0]),
        crs=27700,
    )
    # A suburb 3 km from the city centre and 1 km from a small village is the city's (reach 6 km vs 300 m);
    # a point 100 m from the village centre is the village's.
    assert town_of(np.array([[3_000.0, 0.0], [4_100.0, 0.0]]), towns).tolist() == ["City", "Village"]
    assert town_of(np.array([[1.0, 1.0]]), towns.iloc[:0]).tolist() == [None]


def test_areas_near_takes_each_areas_busiest_cell():
    from hotspots.grid import Grid

    grid = Grid(xmin=0.0, ymax=1_000.0, cell_size=1_000.0, n_rows=1, n_cols=6)
    towns = gpd.GeoDataFrame(
        {"name": ["West", "East"], "population": [900, 900]}, geometry=gpd.points_from_xy([500, 5_500], [500, 500]), crs=27700
    )
    # area 1 spans the whole row: its busiest cell (column 5) is by East, though its centre is between;
    # area 2 has no cells; NaN counts are zero
    labels = np.array([[1, 1, 1, 1, 1, 1]])
    counts = np.array([[3.0, np.nan, 0.0, 0.0, 1.0, 9.0]])
    assert areas_near(labels, counts, grid, towns=towns).tolist() == ["East"]
    labels = np.array([[1, 0, 0, 3, 3, 0]])
    assert areas_near(labels, counts, grid, towns=towns).tolist() == ["West", None, "East"]
    assert areas_near(np.zeros((1, 6), int), counts, grid, towns=towns).tolist() == []
    assert areas_near(labels, counts, grid, towns=towns.iloc[:0]).tolist() == [None, None, None]


def _areas():
    return gpd.GeoDataFrame(
        {"area_id": [7, 3]}, geometry=[shapely.box(0, 0, 500, 500), shapely.box(2000, 0, 2500, 500)], crs=27700
    )


def test_area_places_hand_checked():
    inc = gpd.GeoDataFrame(
        {
            "location": ["On or near Parking Area"] * 5
            + ["On or near High Street"] * 3
            + ["On or near Mill Lane"] * 2
            + ["On or near Supermarket"] * 4
            + [None],
            "lsoa_name": ["Melton 001A"] * 9 + ["Rutland 002B"] + ["Melton 003C"] * 4 + [None],
        },
        geometry=gpd.points_from_xy([100] * 10 + [2100] * 4 + [9000], [100] * 15),
        crs=27700,
    )
    out = area_places(_areas(), inc, top=2)
    assert list(out.columns) == list(PLACE_COLUMNS)
    a, b = out.iloc[0], out.iloc[1]
    assert a["area_id"] == 7 and a["top_street"] == "High Street" and a["district"] == "Melton"
    assert a["label"] == "High Street, Melton"
    assert a["streets"] == "Parking Area (5); High Street (3)" and a["districts"] == "Melton (9); Rutland (1)"
    # Only generic names: the most frequent one is the label's street.
    assert b["area_id"] == 3 and b["label"] == "Supermarket, Melton" and b["town"] is None
    # An area with fewer distinct names than `top` lists only its own (not the next area's).
    assert b["streets"] == "Supermarket (4)" and b["districts"] == "Melton (4)"
    one = area_places(_areas(), inc, top=3)
    assert one.iloc[0]["streets"] == "Parking Area (5); High Street (3); Mill Lane (2)"
    assert one.iloc[0]["districts"] == "Melton (9); Rutland (1)"
    # a generic name over several map points is several places (car parks), and says so
    moved = inc.copy()
    moved.loc[[0, 1], "geometry"] = gpd.points_from_xy([300, 400], [300, 300])
    assert area_places(_areas(), moved, top=2).iloc[0]["streets"] == "Parking Area (5 at 3 map points); High Street (3)"
    # a missing location held as pandas' NA (the loaders' string dtype) in an area with a generic
    # name: counted as no name (it raised "boolean value of NA is ambiguous": North Yorkshire)
    na = moved.astype({"location": "string"})
    na.loc[9, "location"] = pd.NA
    assert area_places(_areas(), na, top=2).iloc[0]["streets"] == "Parking Area (5 at 3 map points); High Street (3)"


def test_an_area_across_a_river_takes_the_town_of_its_streets_bank():
    # Northumbria 2025: "Railway Terrace" (North Shields) in an area whose incidents are mostly in
    # South Tyneside was "Railway Terrace, South Shields"
    towns = gpd.GeoDataFrame(
        {"name": ["North Shields", "South Shields"], "population": [5_000, 20_000]},
        geometry=gpd.points_from_xy([0, 0], [1_000, -1_000]), crs=27700,
    )
    inc = gpd.GeoDataFrame(
        {
            "location": ["On or near Railway Terrace"] * 10 + [f"On or near Street {i // 3}" for i in range(12)],
            "lsoa_name": ["North Tyneside 001A"] * 10 + ["South Tyneside 002B"] * 12,
        },
        geometry=gpd.points_from_xy([0] * 10 + list(range(0, 120, 10)), [900] * 10 + [-900] * 12), crs=27700,
    )
    area = gpd.GeoDataFrame({"area_id": [2]}, geometry=[shapely.box(-500, -1_500, 500, 1_500)], crs=27700)
    out = area_places(area, inc, towns=towns).iloc[0]
    assert out["districts"] == "South Tyneside (12); North Tyneside (10)"
    # the label's street is taken in the top district (the `district` column), and its town on that street's bank
    assert out["district"] == "South Tyneside" and out["top_street"] == "Street 0"
    assert out["label"] == "Street 0, South Shields" and out["town"] == "South Shields"
    assert out["streets"].startswith("Railway Terrace (10)")  # the listed streets are still the area's busiest
    # with North Tyneside on top, Railway Terrace and North Shields (not South Shields across the river)
    more = area_places(area, inc.iloc[:16], towns=towns).iloc[0]
    assert more["district"] == "North Tyneside"
    assert more["label"] == "Railway Terrace, North Shields" and more["town"] == "North Shields"


def test_an_areas_label_street_lies_in_its_top_district():
    """Merseyside 2025: "Princess Drive, Liverpool" held 59 incidents in Liverpool and 125 in Knowsley (its
    `district`); the label's street is the busiest real street among the top district's incidents. A top district
    with generic map-point names only keeps the area's busiest real street."""
    inc = gpd.GeoDataFrame(
        {
            "location": ["On or near Princess Drive"] * 6 + ["On or near Lincombe Road"] * 4
            + ["On or near Bakers Green Road"] * 3 + ["On or near Supermarket"] * 2,
            "lsoa_name": ["Liverpool 040A"] * 6 + ["Knowsley 010B"] * 7 + ["Knowsley 010C"] * 2,
        },
        geometry=gpd.points_from_xy(range(15), [0] * 15), crs=27700,
    )
    area = gpd.GeoDataFrame({"area_id": [7]}, geometry=[shapely.box(-50, -50, 50, 50)], crs=27700)
    out = area_places(area, inc).iloc[0]
    assert out["district"] == "Knowsley" and out["top_street"] == "Lincombe Road"
    assert out["label"] == "Lincombe Road, Knowsley"
    generic = inc.assign(location=["On or near Princess Drive"] * 6 + ["On or near Supermarket"] * 9)
    assert area_places(area, generic).iloc[0]["top_street"] == "Princess Drive"


def test_a_street_named_as_its_town_is_not_said_twice():
    inc = gpd.GeoDataFrame(
        {"location": ["On or near Malton"] * 3, "lsoa_name": ["Ryedale 001A"] * 3},
        geometry=gpd.points_from_xy([100] * 3, [100] * 3), crs=27700,
    )
    towns = gpd.GeoDataFrame({"name": ["Malton"], "population": [5_000]}, geometry=gpd.points_from_xy([200], [200]), crs=27700)
    out = area_places(_areas(), inc, towns=towns)
    assert out.iloc[0]["label"] == "Malton" and out.iloc[0]["top_street"] == "Malton" and out.iloc[0]["town"] == "Malton"


def test_area_places_with_towns_and_fallbacks():
    towns = gpd.GeoDataFrame({"name": ["Oakham"], "population": [11_000]}, geometry=gpd.points_from_xy([300], [300]), crs=27700)
    inc = gpd.GeoDataFrame(geometry=gpd.points_from_xy([100, 2100], [100, 100]), crs=27700)
    out = area_places(_areas(), inc, towns=towns)
    assert out["label"].tolist() == ["Oakham", "Oakham"] and out["streets"].tolist() == ["", ""]
    bare = area_places(_areas(), inc)
    assert bare["label"].tolist() == ["area 7", "area 3"]
    # Towns in another CRS are converted.
    out2 = area_places(_areas(), inc.assign(location="On or near Church Street"), towns=towns.to_crs(4326))
    assert out2["label"].tolist() == ["Church Street, Oakham"] * 2


def test_an_areas_town_is_where_its_streets_incidents_are():
    """A large area's interior point can lie by a small town while its busiest street is in the
    city next to it (Sussex 2025 at 1 km: "New Road, Hove" for Brighton's New Road). The town is
    taken where the label's street is: its busiest point (police.uk snaps to map points)."""
    towns = gpd.GeoDataFrame({"name": ["Brighton", "Hove"], "population": [280_000, 75_000]},
                             geometry=gpd.points_from_xy([6_000, 0], [0, 0]), crs=27700)
    # an L-shaped area whose interior point sits west, by Hove; its incidents crowd at New Road in Brighton
    area = gpd.GeoDataFrame({"area_id": [1]}, geometry=[shapely.Polygon([(-800, -400), (6_400, -400), (6_400, 400),
                                                                         (2_000, 400), (2_000, 2_000), (-800, 2_000)])],
                            crs=27700)
    xs = [6_000] * 40 + [-500, 100, 300]
    loc = ["On or near New Road"] * 40 + ["On or near Church Road"] * 3
    inc = gpd.GeoDataFrame({"location": loc}, geometry=gpd.points_from_xy(xs, [0] * 40 + [1_500] * 3), crs=27700)
    rp = area.geometry.representative_point().iloc[0]  # the old anchor: Hove's by reach
    assert town_of([[rp.x, rp.y]], towns).tolist() == ["Hove"]
    assert area_places(area, inc, towns=towns)["label"].tolist() == ["New Road, Brighton"]
    # without street names: the town of the area's incidents, not of its interior point
    bare = area_places(area, inc.drop(columns="location"), towns=towns)
    assert bare["town"].tolist() == ["Brighton"]


def _mersey():
    """A city of 500,000 at x = 0 (district "Liverpool") and, 4 km west across a river, a town of
    60,000 at x = -4,000 (district "Wirral"), with 30 incidents around each centre; a village of
    1,000 of the Wirral 9 km further west."""
    towns = gpd.GeoDataFrame({"name": ["Liverpool", "Wallasey", "Hoylake"], "population": [500_000, 60_000, 1_000]},
                             geometry=gpd.points_from_xy([0, -4_000, -13_000], [0, 0, 0]), crs=27700)
    rng = np.random.default_rng(0)
    xs = np.r_[rng.uniform(-300, 300, 30), -4_000 + rng.uniform(-300, 300, 30), -13_000 + rng.uniform(-300, 300, 30)]
    ys = rng.uniform(-300, 300, 90)
    lsoa = ["Liverpool 001A"] * 30 + ["Wirral 010B"] * 60
    return towns, gpd.GeoDataFrame({"lsoa_name": lsoa}, geometry=gpd.points_from_xy(xs, ys), crs=27700)


def test_towns_districts_from_the_incidents_around_each_centre():
    towns, inc = _mersey()
    assert towns_districts(towns, inc).tolist() == ["Liverpool", "Wirral", "Wirral"]
    # a town with fewer than 10 incidents within 1 km (one over the force's border) has none
    assert towns_districts(towns, inc.iloc[25:]).tolist() == [None, "Wirral", "Wirral"]
    assert towns_districts(towns, inc.drop(columns="lsoa_name")).tolist() == [None] * 3


def test_an_area_takes_a_town_of_its_own_district():
    towns, inc = _mersey()
    # 2.6 km east of Wallasey, 1.4 km west of the city's centre (distance / reach: Liverpool
    # 1,400 / 7,071 = 0.20 beats Wallasey 2,600 / 2,449 = 1.06), but its incidents are the Wirral's
    area = gpd.GeoDataFrame({"area_id": [1]}, geometry=[shapely.box(-1_500, -100, -1_300, 100)], crs=27700)
    own = gpd.GeoDataFrame({"lsoa_name": ["Wirral 011C"] * 5, "location": ["On or near Mason Street"] * 5},
                           geometry=gpd.points_from_xy([-1_400] * 5, [0] * 5), crs=27700)
    both = pd.concat([inc, own], ignore_index=True)
    assert town_of(np.array([[-1_400.0, 0.0]]), towns).tolist() == ["Liverpool"]
    assert area_places(area, both, towns=towns)["label"].tolist() == ["Mason Street, Wallasey"]
    # without districts in the data: the town by reach
    assert area_places(area, both.drop(columns="lsoa_name"), towns=towns)["label"].tolist() == ["Mason Street, Liverpool"]
    # the own district's nearest town is too far off (over twice its reach): the town by reach stays
    far = towns.assign(population=[500_000, 200, 1_000])  # Wallasey a hamlet: reach 141 m
    assert area_places(area, both, towns=far)["town"].tolist() == ["Liverpool"]


def test_an_area_beyond_every_towns_reach_is_named_after_its_district():
    # Norfolk 2025: an area in Wymondham (not in GeoNames' extract) 12.5 km from Norwich (143,135 people: reach 3.8 km,
    # 3.3 reaches) and 3.6 km from Hethersett (5,520: reach 743 m, 4.8 reaches) was "Enfield Row, Norwich"
    from hotspots.places import TOWN_MAX_REACH

    towns = gpd.GeoDataFrame({"name": ["Norwich", "Hethersett"], "population": [143_135, 5_520]},
                             geometry=gpd.points_from_xy([12_500, 3_000], [0, 2_000]), crs=27700)
    inc = gpd.GeoDataFrame({"lsoa_name": ["South Norfolk 005A"] * 6, "location": ["On or near Enfield Row"] * 6},
                           geometry=gpd.points_from_xy([0] * 6, [0] * 6), crs=27700)
    area = gpd.GeoDataFrame({"area_id": [9]}, geometry=[shapely.box(-250, -250, 250, 250)], crs=27700)
    assert 12_500 / (10 * np.sqrt(143_135)) > TOWN_MAX_REACH
    got = area_places(area, inc, towns=towns)
    assert got["label"].tolist() == ["Enfield Row, South Norfolk"] and got["town"].tolist() == [None]
    assert town_of(np.array([[0.0, 0.0]]), towns).tolist() == ["Norwich"]  # points (task sites): the reach rule alone
    # within reach: the town, as before (7 km off Norwich: 1.85 reaches)
    near = area_places(area.assign(geometry=[shapely.box(5_250, -250, 5_750, 250)]),
                       inc.assign(geometry=gpd.points_from_xy([5_500] * 6, [0] * 6)), towns=towns)
    assert near["label"].tolist() == ["Enfield Row, Norwich"]


def test_an_area_of_fewer_than_five_incidents_is_marked_hot_by_its_neighbours():
    # Suffolk 2025: "Station Road West, Stowmarket", one cell of 3 incidents, each of its streets 1
    towns = gpd.GeoDataFrame({"name": ["Stowmarket"], "population": [15_000]}, geometry=gpd.points_from_xy([0], [0]),
                             crs=27700)
    inc = gpd.GeoDataFrame({"location": ["On or near Station Road West", "On or near A Road", "On or near B Road"] + [
        "On or near Bury Street"] * 5}, geometry=gpd.points_from_xy([0, 10, 20] + [3_000] * 5, [0] * 8), crs=27700)
    areas = gpd.GeoDataFrame({"area_id": [1, 2], "count": [3, 5]},
                             geometry=[shapely.box(-100, -100, 100, 100), shapely.box(2_900, -100, 3_100, 100)], crs=27700)
    got = area_places(areas, inc, towns=towns)
    assert got["label"].tolist() == ["Stowmarket (hot by its neighbours)", "Bury Street, Stowmarket"]
    assert got["top_street"].tolist()[1] == "Bury Street"  # the streets are still listed
    # without counts: named as before
    assert area_places(areas.drop(columns="count"), inc, towns=towns)["label"].iloc[0] != "Stowmarket (hot by its neighbours)"


def test_area_places_checks_inputs():
    inc = gpd.GeoDataFrame(geometry=gpd.points_from_xy([1], [1]), crs=27700)
    with pytest.raises(ParameterError, match="area_id"):
        area_places(_areas().rename(columns={"area_id": "id"}), inc)
    with pytest.raises(ParameterError, match="top"):
        area_places(_areas(), inc, top=0)
    with pytest.raises(CRSError, match="different CRSs"):
        area_places(_areas(), inc.to_crs(4326))
    empty = area_places(_areas().iloc[:0], inc)
    assert len(empty) == 0 and list(empty.columns) == list(PLACE_COLUMNS)


@pytest.mark.realdata
def test_leicestershire_top_areas_named_in_leicestershire(leicestershire_asb):
    from hotspots.analysis import Settings, hotspot_stage
    from hotspots.footprint import data_footprint
    from hotspots.gazetteer import places_in, towns

    inc = leicestershire_asb
    area = data_footprint(inc).to_geodataframe()
    stage = hotspot_stage(inc, Settings(cell_size=500), area)
    a = stage.areas.areas.sort_values("rank")
    out = area_places(a, inc, towns=places_in(area)).set_index("area_id").loc[a["area_id"]]
    leics = {
        "Leicester",
        "Charnwood",
        "North West Leicestershire",
        "Blaby",
        "Hinckley and Bosworth",
        "Harborough",
        "Melton",
        "Oadby and Wigston",
        "Rutland",
    }
    assert set(out["district"].head(3)) <= leics
    assert out["label"].iloc[0].endswith(", Leicester")
    derbyshire_towns = set(towns()["name"])
    assert not any(lbl.split(", ")[-1] in derbyshire_towns for lbl in out["label"])
    assert pd.notna(out["streets"]).all()


def test_label_towns_demo_and_real():
    from hotspots.demo import generate_demo
    from hotspots.gazetteer import GEONAMES_ATTRIBUTION, towns
    from hotspots.places import is_demo_data, label_towns

    demo = generate_demo(0).incidents.iloc[:200]
    assert is_demo_data(demo) and not is_demo_data(demo.assign(incident_id="x")) and not is_demo_data(None)
    t, attr = label_towns(None, demo)
    assert set(t["name"]) == set(towns()["name"]) and attr == ""
    # Real data around Leicester: GeoNames places in the area, no Derbyshire town list.
    leic = gpd.GeoSeries(gpd.points_from_xy([-1.1317], [52.6386]), crs=4326).to_crs(27700)
    area = gpd.GeoDataFrame(geometry=leic.buffer(10_000), crs=27700)
    t, attr = label_towns(area)
    assert t["name"].iloc[0] == "Leicester" and attr == GEONAMES_ATTRIBUTION and t.crs.to_epsg() == 27700
    # No area: the incidents' extent; the towns come in the incidents' CRS.
    c = leic.iloc[0]
    xy = np.random.default_rng(0).normal([c.x, c.y], 2_000, size=(300, 2))
    pts = gpd.GeoDataFrame({"incident_id": [f"i{i}" for i in range(300)]}, geometry=gpd.points_from_xy(*xy.T), crs=27700)
    t, _ = label_towns(None, pts.to_crs(3857))
    assert "Leicester" in set(t["name"]) and t.crs.to_epsg() == 3857
    # Only places the incidents support: none of Leicester's incidents reach Loughborough, 15 km away.
    t, _ = label_towns(area, pts)
    assert "Leicester" in set(t["name"]) and "Loughborough" not in set(t["name"])
    with pytest.raises(ParameterError):
        label_towns(None, None)


def test_supported_by_leaves_out_towns_across_the_border():
    from hotspots.places import supported_by

    towns = gpd.GeoDataFrame(
        {"name": ["Home", "Village", "Neighbour", "Hamlet"], "population": [50_000, 1_000, 40_000, 0]},
        geometry=gpd.points_from_xy([0, 5_000, 9_000, -4_000], [0, 0, 0, 0]), crs=27700,
    )
    rng = np.random.default_rng(0)
    home = rng.normal([0, 0], 800, size=(900, 2))
    village = rng.normal([5_000, 0], 150, size=(20, 2))
    edge = np.array([[7_300.0, 0.0]] * 3)  # a few of this force's incidents on the border, 1.7 km from Neighbour
    inc = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*np.vstack([home, village, edge]).T), crs=27700)
    # rate = 923 / 91,500 people; Neighbour would need 0.1 x 403 = 40 incidents within 2 km: it has 3.
    assert supported_by(towns, inc).tolist() == [True, True, False, False]
    assert supported_by(towns, inc.iloc[:0]).tolist() == [False] * 4
    assert supported_by(towns, inc, min_support=0.0).all()


def _potteries():
    """A city of 250,000 at x = 0, a neighbourhood of 3,000 4 km east and a town of 75,000 5.2 km east:
    Stoke-on-Trent, Basford and Newcastle-under-Lyme, whose High Street lies 300 m from Basford's
    centre."""
    return gpd.GeoDataFrame({"name": ["Stoke", "Basford", "Newcastle"], "population": [250_000, 3_000, 75_000]},
                            geometry=gpd.points_from_xy([0, 4_000, 5_200], [0, 0, 0]), crs=27700)


def test_towns_at_is_the_rule_that_names_areas():
    """A point takes the town a hotspot area at the same place takes: by reach (Newcastle 900 / 2,739 =
    0.33 beats Basford 300 / 548 = 0.55, the nearer centre), not the nearest centre."""
    towns = _potteries()
    high_street = np.array([[4_300.0, 0.0], [np.nan, np.nan], [-100.0, 0.0]])
    assert towns_at(high_street, towns).tolist() == ["Newcastle", None, "Stoke"]
    area = gpd.GeoDataFrame({"area_id": [3]}, geometry=[shapely.box(4_200, -100, 4_400, 100)], crs=27700)
    inc = gpd.GeoDataFrame({"location": ["On or near High Street"] * 3},
                           geometry=gpd.points_from_xy([4_300] * 3, [0] * 3), crs=27700)
    assert area_places(area, inc, towns=towns)["town"].tolist() == towns_at(high_street[:1], towns, inc).tolist()
    # without populations every town reaches as far: the nearest centre
    assert towns_at(high_street[:1], towns.drop(columns="population")).tolist() == ["Basford"]
    assert towns_at(high_street, towns.iloc[:0]).tolist() == [None] * 3


def test_towns_at_a_point_inside_a_named_area_takes_the_areas_town():
    """The reach border between two towns can cross a hotspot area, whose town is judged at its
    street's busiest point (Newcastle's High Street at x = 4,500: 700 / 2,739 = 0.26 beats Basford's
    500 / 548 = 0.91); a site inside the area at x = 4,050 is Basford's by reach (50 / 548) but takes
    the area's name, and a point outside every area keeps its reach town."""
    towns = _potteries()
    area = gpd.GeoDataFrame({"area_id": [3]}, geometry=[shapely.box(4_000, -300, 4_600, 300)], crs=27700)
    inc = gpd.GeoDataFrame({"location": ["On or near High Street"] * 3},
                           geometry=gpd.points_from_xy([4_500] * 3, [0] * 3), crs=27700)
    named = area.assign(town=area_places(area, inc, towns=towns)["town"].to_numpy())
    assert named["town"].tolist() == ["Newcastle"]
    pts = np.array([[4_050.0, 0.0], [3_900.0, 0.0], [np.nan, np.nan]])
    assert towns_at(pts, towns, inc).tolist() == ["Basford", "Basford", None]
    assert towns_at(pts, towns, inc, areas=named).tolist() == ["Newcastle", "Basford", None]
    # an area without a town (no towns near it) leaves the reach town
    assert towns_at(pts[:1], towns, inc, areas=named.assign(town=[None])).tolist() == ["Basford"]
    with pytest.raises(ParameterError, match="`town`"):
        towns_at(pts, towns, inc, areas=area)


def test_towns_at_takes_a_town_of_the_points_own_district():
    """As an area does (test_an_area_takes_a_town_of_its_own_district): a point whose surrounding
    incidents are the Wirral's takes Wallasey, not Liverpool across the river."""
    towns, inc = _mersey()
    own = gpd.GeoDataFrame({"lsoa_name": ["Wirral 011C"] * 12}, geometry=gpd.points_from_xy([-1_400] * 12, [0] * 12),
                           crs=27700)
    both = pd.concat([inc, own], ignore_index=True)
    pt = np.array([[-1_400.0, 0.0]])
    assert towns_at(pt, towns, both).tolist() == ["Wallasey"]
    assert towns_at(pt, towns, both.drop(columns="lsoa_name")).tolist() == ["Liverpool"]
    area = gpd.GeoDataFrame({"area_id": [1]}, geometry=[shapely.box(-1_500, -100, -1_300, 100)], crs=27700)
    assert area_places(area, both, towns=towns)["town"].tolist() == ["Wallasey"]


def _real_places(*names):
    from hotspots.gazetteer import places

    p = places(27700)
    return p[p["name"].isin(names)].reset_index(drop=True)


def _bng(lat, lon):
    pt = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=4326).to_crs(27700).iloc[0]
    return np.array([[pt.x, pt.y]])


def test_a_nearer_town_whose_reach_covers_the_point_beats_a_bigger_one():
    """Merseyside 2025: "Mason Street" (New Brighton, its street's busiest point 53.4379, -3.0408) and "Parkside"
    (Liscard, 53.4152, -3.0321) were Birkenhead's: GeoNames gives Birkenhead 325,264 people (reach 5.7 km), which
    out-reached Wallasey (58,794: reach 2.4 km) 2.3 km away. The tester's area centroid 53.438, -2.982 is Kirkdale's
    (0.6 km), not Liverpool's (3.1 km)."""
    from hotspots.places import TOWN_NEAR_MIN_POPULATION

    towns = _real_places("Liverpool", "Birkenhead", "Wallasey", "Bootle", "Kirkdale")
    assert len(towns) == 5
    assert town_of(_bng(53.4379, -3.0408), towns).tolist() == ["Wallasey"]
    assert town_of(_bng(53.4152, -3.0321), towns).tolist() == ["Wallasey"]
    assert town_of(_bng(53.438, -2.982), towns).tolist() == ["Kirkdale"]
    assert town_of(_bng(53.406, -2.986), towns).tolist() == ["Liverpool"]  # the city centre stays the city's
    # hand-checked: a town of 60,000 (reach 2,449 m) 2,300 m off beats a city of 325,000 (reach 5,701 m) 2,700 m off,
    # but a place under TOWN_NEAR_MIN_POPULATION nearer still needs the smaller distance / reach
    hand = gpd.GeoDataFrame({"name": ["City", "Town", "Hamlet"], "population": [325_000, 60_000, TOWN_NEAR_MIN_POPULATION - 1]},
                            geometry=gpd.points_from_xy([2_700, -2_300, 0], [0, 0, 600]), crs=27700)
    assert town_of(np.array([[0.0, 0.0]]), hand).tolist() == ["Town"]
    assert town_of(np.array([[0.0, 0.0]]), hand.iloc[[0, 2]]).tolist() == ["City"]  # Hamlet: 600 / 707 = 0.85 > 0.47
    assert town_of(np.array([[0.0, 0.0]]), hand.assign(population=[325_000, 60_000, 5_000])).tolist() == ["Hamlet"]


def test_trunk_road_is_eston_the_town_of_its_own_district():
    """Durham and Cleveland 2025: "Trunk Road" (Redcar and Cleveland, 292 of 292 incidents; its busiest point 54.571,
    -1.1652) was "Trunk Road, Middlesbrough": Eston, 1.9 km off, lies 2.3 of its reaches away, beyond the old limit of 2
    for a town of the area's own district; Middlesbrough (4.5 km, 1.2 reaches) is in another district."""
    towns = _real_places("Middlesbrough", "Eston", "Redcar")
    xy = _bng(54.571, -1.1652)[0]
    rng = np.random.default_rng(1)
    around = []  # incidents around each centre give each town its district
    for name, district in [("Middlesbrough", "Middlesbrough 001A"), ("Eston", "Redcar and Cleveland 010A"),
                           ("Redcar", "Redcar and Cleveland 001A")]:
        c = towns.loc[towns["name"] == name].geometry.iloc[0]
        around.append(gpd.GeoDataFrame({"lsoa_name": [district] * 20, "location": ["On or near High Street"] * 20},
                                       geometry=gpd.points_from_xy(c.x + rng.uniform(-200, 200, 20),
                                                                   c.y + rng.uniform(-200, 200, 20)), crs=27700))
    own = gpd.GeoDataFrame({"lsoa_name": ["Redcar and Cleveland 012B"] * 8, "location": ["On or near Trunk Road"] * 8},
                           geometry=gpd.points_from_xy([xy[0]] * 8, [xy[1]] * 8), crs=27700)
    inc = pd.concat([*around, own], ignore_index=True)
    area = gpd.GeoDataFrame({"area_id": [9]}, geometry=[shapely.box(xy[0] - 150, xy[1] - 150, xy[0] + 150, xy[1] + 150)],
                            crs=27700)
    assert town_of(xy[None, :], towns).tolist() == ["Middlesbrough"]  # by reach alone
    out = area_places(area, inc, towns=towns).iloc[0]
    assert out["label"] == "Trunk Road, Eston" and out["district"] == "Redcar and Cleveland"
