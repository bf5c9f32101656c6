"""Linkage of referrals to hotspot areas, task sites and towns: a hand-checked layout, the demo
against independent geopandas computations, privacy of the outputs, and bad input."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from hotspots._errors import CRSError, InputError, ParameterError, SchemaError
from hotspots.kpis import SECONDARY, TOTAL_LABEL, WITHHELD, scheme_kpis
from hotspots.linkage import (
    IN_HOTSPOTS,
    LINE_COLUMNS,
    NO_LOCATION,
    OUTSIDE_HOTSPOTS,
    LinkageResult,
    link_referrals,
    referral_task_lines,
    study_area_mismatch,
)
from hotspots.privacy import SUPPRESSED


# ----------------------------------------------------------------------------- a hand-made layout
# Two towns 10 km apart on the x axis; area 1 around town A, area 2 around town B.
def _towns():
    return gpd.GeoDataFrame({"name": ["Aton", "Beeby"]}, geometry=shapely.points([0, 10000], [0, 0]), crs=27700)


def _areas():
    return gpd.GeoDataFrame(
        {"area_id": [1, 2]},
        geometry=[shapely.box(-500, -500, 500, 500), shapely.box(9500, -500, 10500, 500)],
        crs=27700,
    )


def _tasks():
    return gpd.GeoDataFrame(
        {"task_id": ["T1", "T2", "T3"], "kind": ["litter picking", "food bank", "allotment"],
         "site_name": ["Aton Park", "Beeby Food Bank", "Middle Allotments"]},
        geometry=shapely.points([800, 10000, 4900], [0, 3000, 0]),
        crs=27700,
    )


# (referral_id, x, y, task_id)
REFS = [
    ("r1", 0, 0, "T1"),        # area 1; 800 m to T1, both in Aton: local both ways
    ("r2", 10000, 0, "T2"),    # area 2; 3,000 m to T2 (> 2 km) but both nearest Beeby: local by town
    ("r3", 3000, 0, "T3"),     # outside; 1,900 m to T3, both nearest Aton: local
    ("r4", 6000, 0, "T1"),     # outside; harm nearest Beeby, T1 in Aton, 5,200 m: not local
    ("r5", 505, 0, None),      # 5 m outside area 1; no task
    ("r6", 500, 0, "T9"),      # on area 1's edge (inside); task id not in the table
]


def _refs(rows=REFS, missing=()):
    geoms = [None if r[0] in missing else shapely.Point(r[1], r[2]) for r in rows]
    return gpd.GeoDataFrame(
        {
            "referral_id": [r[0] for r in rows],
            "person_ref": [f"p_{i:016x}" for i in range(len(rows))],
            "task_id": pd.Series([r[3] for r in rows], dtype="str"),
        },
        geometry=gpd.GeoSeries(geoms, crs=27700),
        crs=27700,
    )


@pytest.fixture(scope="module")
def hand() -> LinkageResult:
    return link_referrals(_refs(), areas=_areas(), tasks=_tasks(), towns=_towns(), threshold=2, unsafe=True)


def test_hotspot_of_each_referral(hand):
    t = hand.table.set_index("referral_id")
    assert t["hotspot"].tolist() == ["1", "2", OUTSIDE_HOTSPOTS, OUTSIDE_HOTSPOTS, OUTSIDE_HOTSPOTS, "1"]
    assert t["hotspot_match"].tolist() == ["inside", "inside", "outside", "outside", "outside", "inside"]
    assert t.loc["r1", "hotspot_area_id"] == 1 and t.loc["r3", "hotspot_area_id"] is None
    np.testing.assert_allclose(t["distance_to_hotspot_m"], [0, 0, 2500, 3500, 5, 0])


def test_tolerance_assigns_nearby_referrals():
    r = link_referrals(_refs(), areas=_areas(), tasks=_tasks(), towns=_towns(), tolerance_m=10)
    t = r.table.set_index("referral_id")
    assert t.loc["r5", "hotspot"] == "1" and t.loc["r5", "hotspot_match"] == "within tolerance"
    assert t.loc["r3", "hotspot"] == OUTSIDE_HOTSPOTS
    assert any("within 10 m" in n for n in r.notes)
    assert r.summary["from_hotspots"] == 4


def test_shared_edge_goes_to_the_smallest_area_id():
    areas = pd.concat([_areas(), gpd.GeoDataFrame({"area_id": [0]}, geometry=[shapely.box(500, -500, 1500, 500)], crs=27700)])
    r = link_referrals(_refs(), areas=areas, tasks=_tasks(), towns=_towns())
    assert r.table.set_index("referral_id").loc["r6", "hotspot"] == "0"  # on the edge of areas 1 and 0


def test_tasks_towns_distances_and_local_flags(hand):
    t = hand.table.set_index("referral_id")
    assert t["task_status"].tolist() == ["linked", "linked", "linked", "linked", "no task", "task not found"]
    assert t["task_found"].tolist() == [True, True, True, True, False, False]
    assert t["harm_town"].tolist() == ["Aton", "Beeby", "Aton", "Beeby", "Aton", "Aton"]
    assert t["task_town"].tolist()[:4] == ["Aton", "Beeby", "Aton", "Aton"]
    assert t["task_town"].iloc[4] is None
    np.testing.assert_allclose(t["distance_to_task_m"].iloc[:4], [800, 3000, 1900, 5200])
    assert t["distance_to_task_m"].iloc[4:].isna().all()
    assert t["reparation_within_near"].tolist()[:4] == [True, False, True, False]
    assert t["reparation_same_town"].tolist()[:4] == [True, True, True, False]
    assert t["reparation_local"].tolist()[:4] == [True, True, True, False]
    assert t["reparation_local"].iloc[4:].isna().all()


def test_summary_by_hand(hand):
    s = hand.summary
    assert (s["referrals"], s["with_location"], s["without_location"]) == (6, 6, 0)
    assert s["from_hotspots"] == 3 and s["share_from_hotspots"] == pytest.approx(3 / 6)
    assert (s["with_task_id"], s["task_linked"], s["task_not_found"], s["no_task"]) == (5, 4, 1, 1)
    assert s["task_not_found_ids"] == ["T9"]
    assert s["with_task_site"] == 4
    assert (s["reparation_local"], s["within_near"], s["same_town"]) == (3, 2, 3)
    assert s["share_local"] == pytest.approx(0.75) and s["share_within_near"] == pytest.approx(0.5)
    assert s["share_same_town"] == pytest.approx(0.75)
    assert s["median_distance_m"] == 2500.0  # (1900 + 3000) / 2 = 2450, published to the nearest 250 m
    assert any("T9" in n and "task not found" in n for n in hand.notes)


def test_per_hotspot_counts_by_hand(hand):
    p = hand.per_hotspot.set_index("hotspot")
    assert p.index.tolist() == ["1", "2", OUTSIDE_HOTSPOTS, TOTAL_LABEL]
    assert p["referrals"].tolist() == [2, 1, 3, 6]
    assert p["with_task_site"].tolist() == [1, 1, 2, 4]
    assert p["reparation_local"].tolist() == [1, 1, 1, 3]
    assert p["reparation_completed"].tolist() == [1, 1, 2, 4]  # no outcome recorded: every referral booked at a site
    assert p.loc[OUTSIDE_HOTSPOTS, "local_pct"] == pytest.approx(50.0)
    s = hand.summary_display.set_index("where")
    assert s.index.tolist() == [IN_HOTSPOTS, OUTSIDE_HOTSPOTS, TOTAL_LABEL]
    assert s.loc[IN_HOTSPOTS, "referrals"] == 3 and s.loc[TOTAL_LABEL, "referrals"] == 6


def test_display_suppresses_small_person_counts():
    r = link_referrals(_refs(), areas=_areas(), tasks=_tasks(), towns=_towns())  # threshold 5
    d = r.display.set_index("hotspot")
    assert d.loc["1", "referrals"] == SUPPRESSED and d.loc["2", "referrals"] == SUPPRESSED
    for col in ("referrals", "with_task_site", "reparation_local"):
        assert "within_near" not in r.display.columns  # only "local" is published (see the module docs)
        for v in r.display[col].tolist() + r.summary_display[col].tolist():
            assert isinstance(v, str) or v == 0 or v >= 5, (col, v)
    # with two small rows and the total shown, the remaining row must be hidden too (differencing)
    assert d.loc[OUTSIDE_HOTSPOTS, "referrals"] in (SUPPRESSED, SECONDARY) or d.loc[TOTAL_LABEL, "referrals"] == SECONDARY
    # hotspot 1 has 2 referrals: no breakdown of it is published
    assert d.loc["1", "local_pct"] == WITHHELD and d.loc["1", "median_distance_m"] == WITHHELD
    assert r.display["suppressed"].any()


def test_missing_location_is_an_error_by_default():
    with pytest.raises(InputError, match="r3") as e:
        link_referrals(_refs(missing=("r3",)), areas=_areas(), tasks=_tasks(), towns=_towns())
    assert "missing_location='exclude'" in str(e.value)


def test_missing_location_can_be_excluded_and_counted():
    r = link_referrals(_refs(missing=("r3",)), areas=_areas(), tasks=_tasks(), towns=_towns(), missing_location="exclude")
    t = r.table.set_index("referral_id")
    assert not t.loc["r3", "has_location"] and t.loc["r3", "hotspot"] == NO_LOCATION
    assert t.loc["r3", "hotspot_match"] == NO_LOCATION and t.loc["r3", "harm_town"] is None
    assert t.loc["r3", "task_status"] == "linked" and pd.isna(t.loc["r3", "reparation_local"])
    s = r.summary
    assert (s["with_location"], s["without_location"], s["with_task_site"]) == (5, 1, 3)
    assert s["share_from_hotspots"] == pytest.approx(3 / 5)
    assert s["share_local"] == pytest.approx(2 / 3)
    assert r.per_hotspot["hotspot"].tolist() == ["1", "2", OUTSIDE_HOTSPOTS, NO_LOCATION, TOTAL_LABEL]
    assert any("no location" in n for n in r.notes) and not any("r3" in n for n in r.notes)  # no referral id


def test_without_areas_or_tasks():
    r = link_referrals(_refs(), tasks=_tasks(), towns=_towns())
    assert "hotspot" not in r.table.columns and math.isnan(r.summary["share_from_hotspots"])
    assert r.summary_display["where"].tolist() == [TOTAL_LABEL] and len(r.per_hotspot) == 0
    r2 = link_referrals(_refs(), areas=_areas(), towns=_towns())
    assert "task_status" not in r2.table.columns and r2.summary["with_task_site"] == 0
    with pytest.raises(ParameterError, match="tasks"):
        referral_task_lines(r2)


def test_hotspot_areas_object_is_accepted():
    from hotspots.areas import hotspot_areas
    from hotspots.gistar import gi_star
    from hotspots.grid import Grid, GridValues

    g = Grid.from_bounds((0, 0, 999, 999), 100)
    v = np.zeros(g.shape)
    v[4:6, 4:6] = 30
    ha = hotspot_areas(gi_star(GridValues(v, g, "count"), 150))
    refs = gpd.GeoDataFrame({"referral_id": ["a", "b"]}, geometry=shapely.points([450, 50], [450, 50]), crs=27700)
    r = link_referrals(refs, areas=ha, towns=_towns())
    assert r.table["hotspot"].tolist() == ["1", OUTSIDE_HOTSPOTS]


# ----------------------------------------------------------------------------- map lines
def test_task_lines_are_non_identifying(hand):
    lines = referral_task_lines(hand, snap_m=None)
    assert len(lines) == 4
    assert tuple(c for c in lines.columns if c != "geometry") == LINE_COLUMNS
    for banned in ("person_ref", "referral_id", "referred_at", "offence"):
        assert banned not in lines.columns
    assert lines.crs.to_epsg() == 27700
    np.testing.assert_allclose(np.sort(lines.length.to_numpy()), np.sort(lines["distance_to_task_m"].to_numpy()))
    assert lines["task_id"].tolist() == sorted(lines["task_id"].tolist())
    # the far end of each line is its task site
    sites = _tasks().set_index("task_id")
    for _, row in lines.iterrows():
        end = shapely.get_point(row.geometry, -1)
        assert end.equals(sites.loc[row.task_id, "geometry"])


def test_task_lines_snap_the_harm_end(hand):
    lines = referral_task_lines(hand, snap_m=100)
    starts = shapely.get_coordinates(shapely.get_point(lines.geometry.values, 0))
    assert np.all((starts - 50) % 100 == 0)  # centres of 100 m squares
    exact = referral_task_lines(hand, snap_m=None)
    exact_starts = shapely.get_coordinates(shapely.get_point(exact.geometry.values, 0))
    assert np.all(np.abs(np.sort(starts, axis=0) - np.sort(exact_starts, axis=0)) <= 50)
    with pytest.raises(ParameterError, match="snap_m"):
        referral_task_lines(hand, snap_m=0)


# ----------------------------------------------------------------------------- demo vs independent computation
@pytest.fixture(scope="module")
def demo_link():
    from hotspots.demo import generate_demo

    d = generate_demo(0)
    areas = d.hotspot_areas().rename(columns={"hotspot_id": "area_id"})
    return d, areas, link_referrals(d.referrals, areas=areas, tasks=d.tasks, incidents=d.incidents)


def test_demo_linkage_matches_geopandas(demo_link):
    from hotspots.gazetteer import nearest_town

    d, areas, r = demo_link
    t = r.table
    assert len(t) == len(d.referrals) and (t["referral_id"].to_numpy() == d.referrals["referral_id"].to_numpy()).all()
    # point in polygon with a geopandas spatial join (the planted circles do not overlap)
    j = gpd.sjoin(d.referrals[["referral_id", "geometry"]], areas[["area_id", "geometry"]], predicate="intersects", how="left")
    j = j.drop_duplicates("referral_id").set_index("referral_id")
    exp = j["area_id"].where(j["area_id"].notna(), OUTSIDE_HOTSPOTS).astype(str)
    assert (t.set_index("referral_id")["hotspot"] == exp.loc[t["referral_id"]]).all()
    # task join and distances with pandas merge and GeoSeries.distance
    m = d.referrals[["referral_id", "task_id", "geometry"]].merge(
        d.tasks[["task_id", "geometry"]].rename(columns={"geometry": "site"}), on="task_id", how="left")
    has = m["site"].notna().to_numpy()
    assert (t["task_found"].to_numpy() == has).all()
    dist = gpd.GeoSeries(m.loc[has, "geometry"], crs=27700).distance(gpd.GeoSeries(m.loc[has, "site"], crs=27700))
    np.testing.assert_allclose(t.loc[has, "distance_to_task_m"].to_numpy(), dist.to_numpy(), atol=1e-6)
    # towns: the rule that names the areas, by reach (the demo's incidents have no LSOA districts), computed
    # here by brute force: the town with the smallest distance / sqrt(population)
    towns = r.towns
    tx, ty, pop = towns.geometry.x.to_numpy(), towns.geometry.y.to_numpy(), towns["population"].to_numpy(dtype=float)

    def by_reach(g):
        return np.array([towns["name"].iloc[int(np.argmin(np.hypot(p.x - tx, p.y - ty) / np.sqrt(pop)))] for p in g],
                        dtype=object)

    def expected(g):
        """Inside an area, the area's town (the name it is published under); elsewhere by reach."""
        hit = gpd.sjoin(gpd.GeoDataFrame(geometry=list(g), crs=27700), areas[["area_id", "geometry"]],
                        predicate="intersects", how="left").sort_values("area_id")
        hit = hit[~hit.index.duplicated()].sort_index()["area_id"].to_numpy()
        return np.array([r.area_towns[str(a)] if pd.notna(a) else b for a, b in zip(hit, by_reach(g))], dtype=object)

    assert (t["harm_town"].to_numpy() == expected(d.referrals.geometry)).all()
    assert (t.loc[has, "task_town"].to_numpy() == expected(m.loc[has, "site"])).all()
    # ... which is not the nearest centre everywhere (the rule this replaced)
    assert (t["harm_town"].to_numpy() != nearest_town(d.referrals)).any()
    # shares
    # local: of completed reparations, within 2 km, or in the same town and within 5 km
    dm = dist.to_numpy()
    same = t.loc[has, "harm_town"].to_numpy() == t.loc[has, "task_town"].to_numpy()
    done = (t.loc[has, "outcome"] == "completed").to_numpy()
    local = (dm <= 2000) | (same & (dm <= 5000))
    assert r.summary["reparation_completed"] == done.sum() < len(dm)
    assert r.summary["share_local"] == pytest.approx(local[done].mean())
    assert r.summary["share_from_hotspots"] == pytest.approx(j["area_id"].notna().mean())
    assert r.summary["median_distance_m"] == round(float(np.median(dist)) / 250) * 250


def test_demo_linkage_feeds_kpis_by_hotspot(demo_link):
    _, areas, r = demo_link
    k = scheme_kpis(r.table, by="hotspot")
    groups = k.raw["hotspot"].tolist()
    assert groups[-1] == TOTAL_LABEL and OUTSIDE_HOTSPOTS in groups
    assert k.raw["referrals"].iloc[:-1].sum() == len(r.table)
    for v in k.table["referrals"]:
        assert isinstance(v, str) or v == 0 or v >= 5


def test_caller_frames_unchanged():
    refs, tasks, areas = _refs(), _tasks(), _areas()
    copies = refs.copy(), tasks.copy(), areas.copy()
    link_referrals(refs, areas=areas, tasks=tasks, towns=_towns())
    for a, b in zip((refs, tasks, areas), copies):
        pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry")))
        assert a.geometry.equals(b.geometry)


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs():
    with pytest.raises(ParameterError, match="GeoDataFrame"):
        link_referrals(pd.DataFrame({"a": [1]}))
    with pytest.raises(CRSError, match="to_crs"):
        link_referrals(_refs().to_crs(4326), towns=_towns())
    with pytest.raises(CRSError, match="no CRS"):
        link_referrals(_refs().set_crs(None, allow_override=True), towns=_towns())
    with pytest.raises(SchemaError, match="task_id"):
        link_referrals(_refs().drop(columns="task_id"), tasks=_tasks(), towns=_towns())
    dup = pd.concat([_tasks(), _tasks().iloc[:1]])
    with pytest.raises(SchemaError, match="duplicated"):
        link_referrals(_refs(), tasks=dup, towns=_towns())
    nogeom = _tasks()
    nogeom.loc[1, "geometry"] = None
    with pytest.raises(SchemaError, match="T2"):
        link_referrals(_refs(), tasks=nogeom, towns=_towns())
    with pytest.raises(SchemaError, match="area_id"):
        link_referrals(_refs(), areas=_areas().rename(columns={"area_id": "id"}), towns=_towns())
    polys = _refs().assign(geometry=shapely.buffer(_refs().geometry.values, 10))
    with pytest.raises(ParameterError, match="Point"):
        link_referrals(polys, towns=_towns())
    with pytest.raises(ParameterError, match="near_m"):
        link_referrals(_refs(), towns=_towns(), near_m=0)
    with pytest.raises(ParameterError, match="tolerance_m"):
        link_referrals(_refs(), towns=_towns(), tolerance_m=-1)
    with pytest.raises(ParameterError, match="missing_location"):
        link_referrals(_refs(), towns=_towns(), missing_location="drop")
    with pytest.raises(ParameterError, match="threshold"):
        link_referrals(_refs(), towns=_towns(), threshold=0)
    with pytest.raises(ParameterError, match="empty"):
        link_referrals(_refs().iloc[:0], towns=_towns())


def test_ids_text_for_text_columns_equals_the_value_by_value_rule():
    from hotspots.linkage import _id_text, _ids_text

    vals = [" T1 ", "T1", "nan", "None", "<NA>", "", "  ", None, "t 2", "\tT3\n", "T1", "NaN", "x"]
    s = pd.Series(vals, dtype="string")
    got = _ids_text(s)
    assert got.dtype == object
    assert got.tolist() == [_id_text(v) for v in s.astype(object).tolist()]
    assert got.tolist()[:3] == ["T1", "T1", None] and got[7] is None
    obj = pd.Series(vals + [1, 1.0, float("nan")], dtype=object)  # other dtypes: value by value
    assert _ids_text(obj).tolist()[-3:] == ["1", "1.0", None]


# ----------------------------------------------------------------------------- any force: towns, study area, dates
# A Norfolk scheme (no Derbyshire anywhere): incidents around Norwich and Great Yarmouth.
NORWICH, YARMOUTH = (623323.0, 308449.0), (652674.0, 307706.0)


def _norfolk_incidents():
    rng = np.random.default_rng(3)
    xy = np.vstack([np.array(NORWICH) + rng.normal(0, 800, (600, 2)), np.array(YARMOUTH) + rng.normal(0, 500, (300, 2))])
    return gpd.GeoDataFrame({"incident_id": [f"n{i}" for i in range(len(xy))],
                             "month": ["2025-03"] * 400 + ["2025-06"] * 500},
                            geometry=gpd.GeoSeries(shapely.points(xy), crs=27700), crs=27700)


def _norfolk_scheme():
    area = gpd.GeoDataFrame(geometry=[shapely.box(612000, 298000, 660000, 318000)], crs=27700)
    tasks = gpd.GeoDataFrame({"task_id": ["N1", "N2", "FAR"], "site_name": ["Norwich park", "Yarmouth beach", "Leicester"]},
                             geometry=shapely.points([623500, 652500, 458900], [308600, 307600, 304200]), crs=27700)
    rows = [("a", *NORWICH, "N1", "2025-03-04"), ("b", *YARMOUTH, "N2", "2025-06-01"), ("c", 623900, 308100, "N2", "2023-05-02"),
            ("sea", 700000, 320000, "N1", "2025-03-04"), ("d", 652000, 307000, "FAR", "2025-06-09"),
            ("e", 623000, 308000, "N99", "2025-06-09")]
    refs = gpd.GeoDataFrame({"referral_id": [r[0] for r in rows], "task_id": [r[3] for r in rows],
                             "referred_at": pd.to_datetime([r[4] for r in rows])},
                            geometry=shapely.points([r[1] for r in rows], [r[2] for r in rows]), crs=27700)
    return refs, tasks, area


def test_towns_of_any_force_come_from_the_rule_that_names_hotspots():
    """Default towns are label_towns' of the study area and incidents (Norwich, Great Yarmouth), never
    the demo's Derbyshire towns (the old default named every referral after a Derbyshire town)."""
    from hotspots.gazetteer import towns as demo_towns

    refs, tasks, area = _norfolk_scheme()
    r = link_referrals(refs, tasks=tasks, study_area=area, incidents=_norfolk_incidents())
    t = r.table.set_index("referral_id")
    derbyshire = set(demo_towns()["name"])
    assert t.loc["a", "harm_town"] == "Norwich" and t.loc["b", "harm_town"] == "Great Yarmouth"
    assert t.loc["a", "task_town"] == "Norwich" and t.loc["b", "task_town"] == "Great Yarmouth"
    assert not derbyshire & set(t["harm_town"].dropna()) and not derbyshire & set(t["task_town"].dropna())
    assert not derbyshire & set(r.towns["name"])
    # without towns or incidents there are no towns: reparation local by distance only
    bare = link_referrals(refs, tasks=tasks)
    assert bare.table["harm_town"].isna().all() and bare.towns is None


def test_task_sites_origins_and_areas_take_their_town_from_one_rule():
    """A task site on Newcastle-under-Lyme's High Street, inside the hotspot area named after
    Newcastle: its town is Newcastle (by reach, as the area's), not the Stoke neighbourhood of
    Basford whose centre is 300 m nearer; so a referral from that area is reparation in its own
    town and the area's flow is drawn as "site in origin town"."""
    from hotspots.publication import publish_scheme

    towns = gpd.GeoDataFrame({"name": ["Stoke", "Basford", "Newcastle"], "population": [250_000, 3_000, 75_000]},
                             geometry=gpd.points_from_xy([0, 4_000, 5_200], [0, 0, 0]), crs=27700)
    area = gpd.GeoDataFrame({"area_id": [3]}, geometry=[shapely.box(4_000, -300, 4_600, 300)], crs=27700)
    tasks = gpd.GeoDataFrame({"task_id": ["T09"], "kind": ["litter picking"]}, geometry=shapely.points([4_300], [0]),
                             crs=27700)
    rows = [(f"n{i}", 4_250, 0, "T09") for i in range(6)] + [(f"s{i}", -100, 0, "T09") for i in range(6)]
    refs = _refs(rows).assign(referred_at=pd.Timestamp("2025-03-01 10:00"), outcome="completed", contacted_at=pd.NaT,
                              task_booked_at=pd.NaT, reoffended=None, victim_satisfied=None, first_time_entrant=None)
    link = link_referrals(refs, areas=area, tasks=tasks, towns=towns, near_m=100)
    t = link.table.set_index("referral_id")
    assert set(t["task_town"]) == {"Newcastle"} and link.site_towns == {"T09": "Newcastle"}
    assert link.area_towns == {"3": "Newcastle"}
    assert t.loc["n0", "harm_town"] == "Newcastle" and t.loc["s0", "harm_town"] == "Stoke"
    assert bool(t.loc["n0", "reparation_same_town"]) and not bool(t.loc["s0", "reparation_same_town"])
    flows = publish_scheme(refs, linkage=link, areas=area).flows.set_index("origin")
    assert flows.loc["3", "task_town"] == "Newcastle" and bool(flows.loc["3", "site_in_origin_town"])
    assert flows.loc["Stoke", "task_town"] == "Newcastle" and not bool(flows.loc["Stoke", "site_in_origin_town"])

def test_a_task_site_inside_a_hotspot_area_takes_the_areas_town():
    """Cleveland: task site CL08 inside "Redcar Road, Thornaby-on-Tees" read Stockton-on-Tees (the reach border
    crosses the area), so referrals from that area 100 m away were not "same town". Here the area is named
    Newcastle at its street's point (x = 4,500) and the site at x = 4,050, Basford's by reach, is Newcastle's too."""
    from hotspots.publication import publish_scheme

    towns = gpd.GeoDataFrame({"name": ["Stoke", "Basford", "Newcastle"], "population": [250_000, 3_000, 75_000]},
                             geometry=gpd.points_from_xy([0, 4_000, 5_200], [0, 0, 0]), crs=27700)
    area = gpd.GeoDataFrame({"area_id": [5]}, geometry=[shapely.box(4_000, -300, 4_600, 300)], crs=27700)
    inc = gpd.GeoDataFrame({"location": ["On or near High Street"] * 3},
                           geometry=gpd.points_from_xy([4_500] * 3, [0] * 3), crs=27700)
    tasks = gpd.GeoDataFrame({"task_id": ["T08"], "kind": ["litter picking"]}, geometry=shapely.points([4_050], [0]),
                             crs=27700)
    rows = [(f"n{i}", 4_150, 0, "T08") for i in range(6)] + [(f"s{i}", -100, 0, "T08") for i in range(6)]
    refs = _refs(rows).assign(referred_at=pd.Timestamp("2025-03-01 10:00"), outcome="completed", contacted_at=pd.NaT,
                              task_booked_at=pd.NaT, reoffended=None, victim_satisfied=None, first_time_entrant=None)
    link = link_referrals(refs, areas=area, tasks=tasks, towns=towns, incidents=inc, near_m=50)
    assert link.area_towns == {"5": "Newcastle"} and link.site_towns == {"T08": "Newcastle"}
    t = link.table.set_index("referral_id")
    assert t.loc["n0", "harm_town"] == "Newcastle" and t.loc["s0", "harm_town"] == "Stoke"
    assert bool(t.loc["n0", "reparation_same_town"]) and not bool(t.loc["s0", "reparation_same_town"])
    flows = publish_scheme(refs, linkage=link, areas=area).flows.set_index("origin")
    assert bool(flows.loc["5", "site_in_origin_town"]) and not bool(flows.loc["Stoke", "site_in_origin_town"])


def test_referrals_and_task_sites_outside_the_study_area_are_counted_and_not_used():
    refs, tasks, area = _norfolk_scheme()
    r = link_referrals(refs, tasks=tasks, study_area=area, incidents=_norfolk_incidents())
    t = r.table.set_index("referral_id")
    assert bool(t.loc["sea", "location_outside_area"]) and not bool(t.loc["sea", "has_location"])
    assert t["location_outside_area"].sum() == 1
    # the note counts them and names no referral id (notes reach the app's captions and the console)
    said = next(n for n in r.notes if "location outside the study area" in n)
    assert said.startswith("1 referral(s)") and "sea" not in said.split("(")[0] and "'sea'" not in said
    assert t.loc["d", "task_status"] == "task site outside study area" and not bool(t.loc["d", "task_found"])
    assert t.loc["e", "task_status"] == "task not found"
    s = r.summary
    counts = (s["outside_study_area"], s["task_sites_outside_area"], s["referrals_to_task_site_outside_area"],
              s["task_not_found"])
    assert "task_site_outside_area" not in s  # renamed: it counts referrals, not sites
    assert counts == (1, 1, 1, 1)
    assert s["with_location"] == 5 and s["with_task_site"] == 3  # a, b, c (the sea's point is not used)
    assert any("outside the study area" in n and "sea" in n for n in r.notes)
    assert any("FAR" in n and "outside the study area" in n for n in r.notes)
    lines = referral_task_lines(r, snap_m=None)
    assert len(lines) == 3 and shapely.get_coordinates(lines.geometry.values)[:, 0].max() < 660000
    # 1 of 6 referral locations and 1 of 3 task sites outside: no mismatch warning (that needs more than half)
    assert s["task_sites"] == 3 and r.mismatch is None


def test_files_of_another_force_are_warned_about():
    """Cleveland's referrals and sites with Durham's incidents: most outside the study area -> a warning naming the
    likely cause; exactly half is not "most"; the referral share is a percentage, never a count of people."""
    refs, tasks, area = _norfolk_scheme()
    elsewhere = area.set_geometry([shapely.box(612000, 298000, 640000, 318000)], crs=27700)  # Norwich only, no Yarmouth
    r = link_referrals(refs, tasks=tasks, study_area=elsewhere, incidents=_norfolk_incidents())
    # outside: sea, b, d (3 of 6: half, not most); sites N2 and FAR (2 of 3: most)
    assert (r.summary["outside_study_area"], r.summary["with_location"], r.summary["task_sites_outside_area"]) == (3, 3, 2)
    assert r.mismatch.startswith("2 of the 3 task sites lie outside the incidents' study area")
    assert "another force or area than the incident files" in r.mismatch
    assert study_area_mismatch({"with_location": 2, "outside_study_area": 3, "task_sites": 0}) == (
        "More than half of the referrals' locations (60%) lie outside the incidents' study area: the referral or task "
        "files are likely of another force or area than the incident files. Check that all files cover the same force "
        "area; until then the figures by place (referrals from hotspot areas, local reparation, flows, distances) mean nothing.")
    assert study_area_mismatch({"with_location": 3, "outside_study_area": 3, "task_sites": 4,
                                "task_sites_outside_area": 2}) is None
    both = study_area_mismatch({"with_location": 0, "outside_study_area": 7, "task_sites": 9, "task_sites_outside_area": 5})
    assert both.startswith("More than half of the referrals' locations (100%) and 5 of the 9 task sites lie outside")
    assert study_area_mismatch({}) is None


def test_referrals_dated_outside_the_incident_months_are_reported():
    refs, tasks, area = _norfolk_scheme()
    r = link_referrals(refs, tasks=tasks, study_area=area, months=("2025-01", "2025-12"))
    assert r.summary["dated_outside_months"] == 1
    note = next(n for n in r.notes if "dated outside" in n)
    assert note.startswith("1 of 6 referral(s)") and "2023" in note and "2025" in note
    assert link_referrals(refs, tasks=tasks, months=("2023-01", "2025-12")).summary["dated_outside_months"] == 0


def test_a_task_id_matching_a_site_only_when_case_is_ignored_is_noted_not_linked():
    rows = [(r[0], r[1], r[2], "t2" if r[0] == "r6" else r[3]) for r in REFS]
    r = link_referrals(_refs(rows), areas=_areas(), tasks=_tasks(), towns=_towns())
    assert r.table.set_index("referral_id").loc["r6", "task_status"] == "task not found"
    told = [n for n in r.notes if "only when case is ignored" in n]
    assert len(told) == 1 and told[0].startswith("1 referral(s)") and "'t2' (site 'T2')" in told[0]
