"""Tests for hotspots.demo: determinism, realism targets, schema, planted effect.

Targets come from the brief (issue 3 / DESIGN.md section 1), not from the generator's own
numbers: ~2,200-2,600 ASB incidents a month, >= 720 referrals since October 2024, 78 % completed,
79 % not re-offended, ~90 % contacted within 48 h. Tolerances are stated next to each check.
Planted effects are measured from the generated incidents, not read back from the ground truth.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from scipy import stats

from hotspots._errors import ParameterError
from hotspots.demo import (
    DEFAULT_TREATED,
    HOTSPOTS,
    INCIDENT_FILE_COLUMNS,
    REFERRAL_FILE_COLUMNS,
    TASK_FILE_COLUMNS,
    DemoData,
    generate_demo,
    write_demo,
)
from hotspots.gazetteer import default_study_area, towns
from hotspots.privacy import PERSON_REF_PATTERN, identifying_columns
from hotspots.schema import (
    AGE_GROUPS,
    ASB_CATEGORY,
    OFFENCES,
    OUTCOMES,
    REFERRAL_COLUMNS,
    ROUTES,
    TASK_KINDS,
)

DATA_END = pd.Timestamp("2025-04-01")
FILES = ("incidents.csv", "referrals.csv", "tasks.csv", "ground_truth.json", "README.md")


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(0)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    return write_demo(tmp_path_factory.mktemp("demo_seed0"), seed=0)


@pytest.fixture(scope="module")
def area():
    geom = default_study_area().geometry.iloc[0]
    shapely.prepare(geom)
    return geom


def _months(inc) -> pd.Series:
    """Incident months as "YYYY-MM" strings."""
    return inc["month"].dt.strftime("%Y-%m")


def _xy(gdf) -> tuple[np.ndarray, np.ndarray]:
    return gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()


# ---- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(written, tmp_path):
    again = write_demo(tmp_path / "again", seed=0)
    assert set(written) == set(again) == {"incidents", "referrals", "tasks", "ground_truth", "readme"}
    for key in written:
        assert written[key].read_bytes() == again[key].read_bytes(), key


def test_different_seed_gives_different_bytes(written, tmp_path):
    other = write_demo(tmp_path / "other", seed=1)
    for key in ("incidents", "referrals", "ground_truth"):
        assert written[key].read_bytes() != other[key].read_bytes(), key


def test_written_files_and_names(written):
    assert sorted(p.name for p in written.values()) == sorted(FILES)
    for p in written.values():
        assert p.is_file() and p.stat().st_size > 0


# ---- incidents: volume, time profile, places ----------------------------------------------


def test_monthly_volume_near_a_real_force(demo):
    m = demo.incidents.groupby(_months(demo.incidents)).size()
    months = pd.period_range("2022-01", "2025-03", freq="M").strftime("%Y-%m").tolist()
    assert m.index.tolist() == months
    # Stated tolerance: every month 1,400-3,600; the average 2,200-2,600 a month.
    assert m.min() >= 1400 and m.max() <= 3600
    assert 2200 <= m.mean() <= 2600


def test_seasonality_summer_peak_winter_low(demo):
    m = demo.incidents.groupby(_months(demo.incidents)).size()
    mm = m.index.str[5:]
    summer = m[mm.isin(["06", "07", "08"])].mean()
    winter = m[mm.isin(["12", "01", "02"])].mean()
    assert 1.15 <= summer / m.mean() <= 1.35  # about +25 %
    assert winter / m.mean() <= 0.85
    assert summer > 1.4 * winter


def test_halloween_and_bonfire_night_spikes(demo):
    occ = demo.incidents["occurred"]
    daily = occ.dt.normalize().value_counts()
    for year in (2022, 2023, 2024):
        october = daily[(daily.index >= f"{year}-10-01") & (daily.index <= f"{year}-10-25")]
        base = october.median()
        assert daily[pd.Timestamp(f"{year}-10-31")] > 1.5 * base
        assert daily[pd.Timestamp(f"{year}-11-05")] > 1.5 * base


def test_evening_and_weekend_heavy(demo):
    occ = demo.incidents["occurred"]
    hour = occ.dt.hour
    assert (hour >= 18).mean() > 2 * ((hour >= 6) & (hour < 12)).mean()
    dow = occ.dt.day_of_week.value_counts()
    assert dow[5] > 1.2 * dow[1]  # Saturday vs Tuesday


def test_long_term_trend_is_down(demo):
    m = demo.incidents.groupby(_months(demo.incidents)).size()
    y2022 = m[m.index.str.startswith("2022")].sum()
    # Untreated areas only, so the planted scheme effect does not count as trend.
    inc = demo.incidents
    x, y = _xy(inc)
    near_treated = np.zeros(len(inc), dtype=bool)
    for h in demo.ground_truth["hotspots"]:
        if h["treated"]:
            near_treated |= np.hypot(x - h["easting"], y - h["northing"]) <= h["buffer_outer_m"]
    un = _months(inc)[~near_treated]
    a = (un.str.startswith("2022")).sum()
    b = (un.str.startswith("2024")).sum()
    assert 0.90 < b / a < 0.99  # -3 % a year over two years is 0.94
    assert y2022 > 0


def test_incident_columns_and_values(demo):
    inc = demo.incidents
    assert list(inc.columns) == ["incident_id", "month", "occurred", "category", "location", "geometry"]
    assert inc.crs.to_epsg() == 27700
    assert inc["incident_id"].is_unique
    assert (inc["category"] == ASB_CATEGORY).all()
    assert inc["location"].str.startswith("On or near ").all()
    assert (inc["occurred"].dt.to_period("M").dt.to_timestamp() == inc["month"]).all()
    assert inc["month"].dtype == "datetime64[ns]" and inc["occurred"].dtype == "datetime64[ns]"
    assert inc["occurred"].is_monotonic_increasing
    assert inc["occurred"].min() >= pd.Timestamp("2022-01-01")
    assert inc["occurred"].max() < DATA_END


def test_no_nonexistent_local_times(demo, written):
    # 01:00-01:59 on the last Sunday of March does not exist in UK local time.
    for ts in (demo.incidents["occurred"], demo.referrals["referred_at"], demo.referrals["contacted_at"].dropna(),
               demo.referrals["task_booked_at"].dropna()):
        last_sunday = ts.dt.month.eq(3) & ts.dt.day_of_week.eq(6) & (ts.dt.day > 24)
        assert not (last_sunday & ts.dt.hour.eq(1)).any()


def test_every_point_inside_the_study_area(demo, area):
    for gdf in (demo.incidents, demo.referrals, demo.tasks):
        x, y = _xy(gdf)
        assert shapely.contains_xy(area, x, y).all()


def test_points_are_snapped_to_shared_map_points(demo):
    x, y = _xy(demo.incidents)
    assert np.array_equal(x, np.round(x)) and np.array_equal(y, np.round(y))
    counts = pd.Series(list(zip(x, y))).value_counts()
    shared = counts[counts > 1].sum() / len(x)
    # Many incidents share a map point, but not all (mild snapping). Real police.uk ASB: 82 % for a
    # year of Derbyshire or Leicestershire; the demo's 39 months at micro-places: 89 %.
    assert 0.2 < shared < 0.95


def test_incidents_concentrate_around_towns(demo):
    t = towns()
    x, y = _xy(demo.incidents)
    d = np.min(np.hypot(x[:, None] - t.geometry.x.to_numpy()[None, :], y[:, None] - t.geometry.y.to_numpy()[None, :]), axis=1)
    assert (d <= 5000).mean() > 0.85


# ---- written files ----------------------------------------------------------------------


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_incidents_csv_format(written, demo):
    header, rows = _read_csv(written["incidents"])
    assert tuple(header) == INCIDENT_FILE_COLUMNS
    assert len(rows) == len(demo.incidents)
    num6 = re.compile(r"^-?\d+\.\d{6}$")
    for r in rows[:2000]:
        assert re.fullmatch(r"\d{4}-\d{2}", r[1])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", r[2])
        assert num6.match(r[5]) and num6.match(r[6])
        assert re.fullmatch(r"\d{6}", r[7]) and re.fullmatch(r"\d{6}", r[8])
    df = pd.read_csv(written["incidents"])
    back = pyproj.Transformer.from_crs(4326, 27700, always_xy=True)
    e, n = back.transform(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    # 6 decimal places of a degree are about 0.1 m; coordinates agree to under 1 m.
    assert np.abs(e - df["easting"]).max() < 1.0 and np.abs(n - df["northing"]).max() < 1.0


def test_referrals_csv_columns_and_privacy(written):
    header, rows = _read_csv(written["referrals"])
    assert tuple(header) == REFERRAL_FILE_COLUMNS
    assert set(header) == (set(REFERRAL_COLUMNS) - {"geometry"}) | {"easting", "northing", "longitude", "latitude"}
    for name in ("incidents", "referrals", "tasks"):
        h, _ = _read_csv(written[name])
        assert identifying_columns(h) == {}, name
    refs = {r[header.index("person_ref")] for r in rows}
    assert all(PERSON_REF_PATTERN.match(p) for p in refs)
    for r in rows:
        for c in ("reoffended", "victim_satisfied"):
            assert r[header.index(c)] in ("True", "False", "")
        assert r[header.index("first_time_entrant")] in ("True", "False")


def test_tasks_csv_columns(written):
    header, rows = _read_csv(written["tasks"])
    assert tuple(header) == TASK_FILE_COLUMNS
    assert 35 <= len(rows) <= 45


def test_ground_truth_json_round_trips(written, demo):
    gt = json.loads(written["ground_truth"].read_text(encoding="utf-8"))
    assert gt == json.loads(json.dumps(demo.ground_truth))
    assert gt["scheme_start"] == "2023-07-01"
    assert gt["seed"] == 0
    assert sorted(gt["treated"]) == sorted(DEFAULT_TREATED)
    keys = {"id", "town", "kind", "easting", "northing", "sd_m", "radius_m", "treated", "effect",
            "buffer_inner_m", "buffer_outer_m", "expected_monthly_before", "expected_monthly_after"}
    for h in gt["hotspots"]:
        assert keys <= set(h)
        assert h["kind"] in ("centre", "estate")
        assert (h["effect"] == 0.3) == h["treated"]


def test_readme_describes_the_files(written):
    text = written["readme"].read_text(encoding="utf-8")
    assert "Not real data" in text
    for name in FILES[:-1]:
        assert name in text
    for hid in DEFAULT_TREATED:
        assert hid in text


# ---- referrals ----------------------------------------------------------------------------


def test_referral_columns_and_enums(demo):
    r = demo.referrals
    assert list(r.columns) == list(REFERRAL_COLUMNS)
    assert r.crs.to_epsg() == 27700
    assert r["referral_id"].is_unique
    assert set(r["offence"]) == set(OFFENCES)
    assert set(r["route"]) == set(ROUTES)
    assert set(r["age_group"]) == set(AGE_GROUPS)
    assert set(r["outcome"]) == set(OUTCOMES)
    assert r["person_ref"].map(lambda p: bool(PERSON_REF_PATTERN.match(p))).all()
    assert identifying_columns(r.columns) == {}


def test_referral_volumes(demo):
    r = demo.referrals
    assert r["referred_at"].min() >= pd.Timestamp("2023-07-01")
    assert r["referred_at"].max() < DATA_END
    since_oct = (r["referred_at"] >= "2024-10-01").sum()
    assert since_oct >= 720
    assert 750 <= since_oct <= 950  # aim 800-900
    assert 1500 <= len(r) <= 2500
    per_month = r["referred_at"].dt.to_period("M").value_counts().sort_index()
    assert per_month.iloc[:3].mean() < 0.6 * per_month.iloc[-6:].mean()  # ramping up


def test_completion_rate(demo):
    r = demo.referrals
    old = r[r["referred_at"] < DATA_END - pd.Timedelta(days=21)]
    assert abs((old["outcome"] == "completed").mean() - 0.78) <= 0.03
    finished = r[r["outcome"] != "in progress"]
    assert abs((finished["outcome"] == "completed").mean() - 0.78) <= 0.03
    assert 0.10 <= (finished["outcome"] == "refused").mean() <= 0.18
    assert 0.02 <= (finished["outcome"] == "withdrawn").mean() <= 0.12
    # In progress = exactly the recent referrals.
    recent = r["referred_at"] >= DATA_END - pd.Timedelta(days=21)
    assert ((r["outcome"] == "in progress") == recent).all()


def test_not_reoffended_rate_and_follow_up_window(demo):
    r = demo.referrals
    known = r["reoffended"].notna()
    cutoff = pd.Timestamp("2024-10-01")  # six months before the data end
    assert (known == (r["referred_at"] < cutoff)).all()
    not_re = 1.0 - r.loc[known, "reoffended"].astype(bool).mean()
    assert abs(not_re - 0.79) <= 0.03


def test_re_referral_within_six_months_counts_as_reoffending(demo):
    r = demo.referrals.sort_values("referred_at")
    n_checked = 0
    for _, g in r.groupby("person_ref"):
        if len(g) < 2:
            continue
        times = g["referred_at"].tolist()
        for k in range(len(g) - 1):
            if times[k + 1] <= times[k] + pd.DateOffset(months=6) and pd.notna(g["reoffended"].iloc[k]):
                assert bool(g["reoffended"].iloc[k])
                n_checked += 1
    assert n_checked > 20


def test_contact_and_booking_times(demo):
    r = demo.referrals
    c = r.dropna(subset=["contacted_at"])
    hours = (c["contacted_at"] - c["referred_at"]).dt.total_seconds() / 3600
    assert (hours >= 0).all()
    assert abs((hours <= 48).mean() - 0.90) <= 0.03  # ~90 % within 48 h
    assert hours.max() > 96  # a long tail
    b = r.dropna(subset=["task_booked_at"])
    assert (b["task_booked_at"] >= b["contacted_at"]).all()
    hb = (b["task_booked_at"] - b["referred_at"]).dt.total_seconds() / 3600
    assert (hb <= 48).mean() >= 0.75  # mostly within 48 h of the referral
    assert (r.loc[r["outcome"] == "completed", "task_booked_at"].notna()).all()
    assert r.loc[r["outcome"].isin(["refused", "withdrawn"]), "task_booked_at"].isna().all()
    assert (r["contacted_at"].dropna() < DATA_END).all() and (b["task_booked_at"] < DATA_END).all()


def test_victims_youth_first_time_entrants_repeats(demo):
    r = demo.referrals
    vs = r["victim_satisfied"]
    assert 0.55 <= vs.isna().mean() <= 0.65
    assert vs.dropna().astype(bool).mean() >= 0.98
    assert 0.30 <= (r["age_group"] == "youth").mean() <= 0.40
    assert abs(r["first_time_entrant"].mean() - 0.40) <= 0.03
    per_person = r["person_ref"].value_counts()
    assert 0.06 <= (per_person > 1).mean() <= 0.14  # ~10 % of people come back
    # Only a person's first referral can make them a first-time entrant.
    first = r.sort_values("referred_at").groupby("person_ref").head(1).index
    later = r.index.difference(first)
    assert not r.loc[later, "first_time_entrant"].any()
    # A person keeps one age group.
    assert (r.groupby("person_ref")["age_group"].nunique() == 1).all()


def test_referrals_come_mostly_from_hotspots(demo):
    r = demo.referrals
    x, y = _xy(r)
    near = np.zeros(len(r), dtype=bool)
    for h in demo.ground_truth["hotspots"]:
        near |= np.hypot(x - h["easting"], y - h["northing"]) <= h["radius_m"]
    assert 0.55 <= near.mean() <= 0.85


def test_tasks_linked_and_mostly_local(demo):
    r, t = demo.referrals, demo.tasks
    assert r.loc[r["outcome"].isin(["refused", "withdrawn"]), "task_id"].isna().all()
    assert r.loc[r["outcome"] == "completed", "task_id"].notna().all()
    linked = r.dropna(subset=["task_id"])
    assert set(linked["task_id"]) <= set(t["task_id"])
    site = t.set_index("task_id").loc[linked["task_id"]]
    d = np.hypot(linked.geometry.x.to_numpy() - site.geometry.x.to_numpy(),
                 linked.geometry.y.to_numpy() - site.geometry.y.to_numpy())
    assert 0.72 <= (d <= 2000).mean() <= 0.88  # ~80 % within 2 km of the harm
    assert (d > 5000).mean() > 0.02  # the rest further afield


def test_task_sites(demo):
    t = demo.tasks
    assert list(t.columns) == ["task_id", "kind", "site_name", "town", "geometry"]
    assert t["task_id"].is_unique and t["site_name"].is_unique
    assert set(t["kind"]) == set(TASK_KINDS)
    gaz = towns().set_index("name")
    assert set(t["town"]) <= set(gaz.index)
    for _, row in t.iterrows():
        assert row["site_name"].startswith(row["town"])
        assert row.geometry.distance(gaz.loc[row["town"], "geometry"]) < 5000


# ---- planted effect, measured from the incidents -------------------------------------------


def _before_after(inc, cx, cy, r_in, r_out, split="2023-07"):
    x, y = _xy(inc)
    d = np.hypot(x - cx, y - cy)
    sel = (d > r_in) & (d <= r_out)
    m = _months(inc).to_numpy()
    y0 = str(int(split[:4]) - 1) + split[4:]
    y1 = str(int(split[:4]) + 1) + split[4:]
    before = int((sel & (m >= y0) & (m < split)).sum())
    after = int((sel & (m >= split) & (m < y1)).sum())
    return before, after


def test_treated_hotspots_fall_and_untreated_do_not(demo):
    inc = demo.incidents
    n_sig_untreated = 0
    n_untreated = 0
    for h in demo.ground_truth["hotspots"]:
        b, a = _before_after(inc, h["easting"], h["northing"], -1.0, h["radius_m"])
        p = stats.binomtest(a, a + b, 0.5).pvalue  # exact conditional test, equal periods
        if h["treated"]:
            assert b / 12 >= 30, h["id"]  # at least ~30 incidents a month before
            assert 0.55 < a / b < 0.85, (h["id"], b, a)  # 30 % planted, ramped, plus background
            assert p < 0.01 and a < b, h["id"]
        else:
            n_untreated += 1
            n_sig_untreated += p < 0.05
            assert 0.6 < a / b < 1.5 if b >= 20 else True, (h["id"], b, a)
    assert n_untreated == len(HOTSPOTS) - len(DEFAULT_TREATED)
    assert n_sig_untreated <= 5  # about the 5 % false-alarm rate on 36 hotspots


def test_no_planted_change_a_year_earlier(demo):
    # Placebo: January-June 2022 vs January-June 2023, all before the scheme start.
    inc = demo.incidents
    x, y = _xy(inc)
    m = _months(inc).to_numpy()
    n_sig = 0
    for h in demo.ground_truth["hotspots"]:
        sel = np.hypot(x - h["easting"], y - h["northing"]) <= h["radius_m"]
        b = int((sel & (m >= "2022-01") & (m <= "2022-06")).sum())
        a = int((sel & (m >= "2023-01") & (m <= "2023-06")).sum())
        n_sig += stats.binomtest(a, a + b, 0.5).pvalue < 0.05
    assert n_sig <= 5


def test_treatment_applies_to_the_core_and_displacement_lands_in_the_ring(demo):
    # The planted fall is in each treated hotspot's core (within its radius); the Gaussian's tail in
    # the ring [radius, radius + 400 m] keeps its rate and gains the displaced incidents
    # (10 % of those removed), so the ring rises while the core falls.
    inc = demo.incidents
    core_b = core_a = ring_b = ring_a = 0
    for h in (h for h in demo.ground_truth["hotspots"] if h["treated"]):
        b, a = _before_after(inc, h["easting"], h["northing"], -1.0, h["radius_m"])
        core_b, core_a = core_b + b, core_a + a
        b, a = _before_after(inc, h["easting"], h["northing"], h["buffer_inner_m"], h["buffer_outer_m"])
        ring_b, ring_a = ring_b + b, ring_a + a
    assert 0.6 < core_a / core_b < 0.8  # 30 % planted, ramped in over two months, 3 %/year trend
    # expected about 0.97 (trend) + 0.10 (displaced); seed 0: 1.13 (1,289 -> 1,453)
    assert ring_a / ring_b > 1.0
    assert stats.binomtest(ring_a, ring_a + ring_b, 0.5).pvalue < 0.05


def test_no_displacement_leaves_the_ring_flat():
    # Pooled over four seeds: one seed's ring (about 1,300 incidents a year, at a few heavy
    # micro-places) has a ratio sd of about 0.04, so seed 0 alone (0.90) sits at the edge by chance.
    ring_b = ring_a = 0
    for seed in range(4):
        d = generate_demo(seed, displacement=0.0)
        for h in (h for h in d.ground_truth["hotspots"] if h["treated"]):
            b, a = _before_after(d.incidents, h["easting"], h["northing"], h["buffer_inner_m"], h["buffer_outer_m"])
            ring_b, ring_a = ring_b + b, ring_a + a
    # the ring does not fall with the treated core (the tail keeps its rate): about 0.97 (trend);
    # seeds 0-3: 0.94 (5,450 -> 5,142)
    assert 0.9 < ring_a / ring_b < 1.05


def test_treated_buffers_do_not_touch_other_hotspots(demo):
    hs = demo.ground_truth["hotspots"]
    for t in (h for h in hs if h["treated"]):
        for o in hs:
            if o["id"] == t["id"]:
                continue
            d = np.hypot(t["easting"] - o["easting"], t["northing"] - o["northing"])
            assert d > t["buffer_outer_m"] + o["radius_m"], (t["id"], o["id"])


def test_no_effect_means_no_fall():
    d = generate_demo(3, effect=0.0, displacement=0.0)
    h = next(h for h in d.ground_truth["hotspots"] if h["id"] == "derby-centre")
    b, a = _before_after(d.incidents, h["easting"], h["northing"], -1.0, h["radius_m"])
    assert 0.88 < a / b < 1.08


def test_full_displacement_raises_the_buffer():
    d = generate_demo(0, effect=0.5, displacement=1.0, treated=["derby-centre"])
    h = next(h for h in d.ground_truth["hotspots"] if h["id"] == "derby-centre")
    b, a = _before_after(d.incidents, h["easting"], h["northing"], h["buffer_inner_m"], h["buffer_outer_m"])
    assert a > 1.2 * b
    assert d.ground_truth["treated"] == ["derby-centre"]
    assert sum(x["treated"] for x in d.ground_truth["hotspots"]) == 1


def test_hotspot_areas(demo):
    areas = demo.hotspot_areas()
    assert len(areas) == len(HOTSPOTS)
    assert areas.crs.to_epsg() == 27700
    t = demo.hotspot_areas(treated_only=True)
    assert sorted(t["hotspot_id"]) == sorted(DEFAULT_TREATED)
    # Circle areas are pi r^2 to within the polygon approximation.
    assert np.allclose(t.area, np.pi * t["radius_m"] ** 2, rtol=0.01)


def test_params_are_recorded(demo):
    assert demo.params["seed"] == 0
    assert demo.params["effect"] == 0.30
    assert demo.params["scheme_start"] == "2023-07-01"
    assert demo.ground_truth["params"]["treated"] == demo.params["treated"]


# ---- check inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"start": "2022-13"}, "start"),
        ({"end": "March 2025"}, "end"),
        ({"start": "2025-01", "end": "2024-01"}, "end"),
        ({"scheme_start": "2030-01-01"}, "scheme_start"),
        ({"scheme_start": "2023-07"}, "scheme_start"),
        ({"effect": 1.5}, "effect"),
        ({"effect": "big"}, "effect"),
        ({"displacement": -0.1}, "displacement"),
        ({"ramp_days": 400}, "ramp_days"),
        ({"volume_scale": 0}, "volume_scale"),
        ({"referral_scale": float("nan")}, "referral_scale"),
        ({"treated": ["nowhere-centre"]}, "treated"),
        ({"treated": "derby-centre"}, "treated"),
        ({"treated": ["derby-centre", "derby-centre"]}, "treated"),
    ],
)
def test_bad_arguments_raise_parameter_error(kwargs, word):
    kwargs = dict(kwargs)
    seed = kwargs.pop("seed", 0)
    with pytest.raises(ParameterError, match=f"`{word}`"):
        generate_demo(seed, **kwargs)


def test_write_demo_refuses_a_file_as_folder(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(ParameterError, match="out_dir"):
        write_demo(f, seed=0, end="2022-03", scheme_start="2022-02-01")


def test_short_custom_period(tmp_path):
    paths = write_demo(tmp_path / "short", seed=5, start="2024-01", end="2024-06", scheme_start="2024-03-01",
                       volume_scale=0.1, referral_scale=0.5)
    inc = pd.read_csv(paths["incidents"])
    assert inc["month"].min() == "2024-01" and inc["month"].max() == "2024-06"
    ref = pd.read_csv(paths["referrals"])
    assert ref["referred_at"].min() >= "2024-03-01"
    gt = json.loads(paths["ground_truth"].read_text())
    # The 12-month periods are not covered by a six-month run: expectations are null.
    assert all(h["expected_monthly_before"] is None for h in gt["hotspots"])


def test_written_files_load_cleanly_with_the_loaders(written, demo):
    from hotspots.io import load_incidents, load_referrals, load_tasks

    area = default_study_area()
    for key, loader, n in (
        ("incidents", load_incidents, len(demo.incidents)),
        ("referrals", load_referrals, len(demo.referrals)),
        ("tasks", load_tasks, len(demo.tasks)),
    ):
        loaded = loader(written[key], study_area=area)
        assert loaded.report.rows_read == n, key
        assert loaded.report.rows_kept == n and loaded.report.dropped == {}, (key, loaded.report.dropped)
    inc = load_incidents(written["incidents"]).data
    assert (inc["incident_id"].to_numpy() == demo.incidents["incident_id"].to_numpy()).all()
    assert (inc["month"].to_numpy() == demo.incidents["month"].to_numpy()).all()
    ref = load_referrals(written["referrals"]).data
    for col in ("outcome", "offence", "route", "age_group"):
        assert (ref[col].to_numpy() == demo.referrals[col].to_numpy()).all(), col
    assert ref["reoffended"].isna().sum() == demo.referrals["reoffended"].isna().sum()


def test_contact_and_booking_happen_in_office_hours(demo):
    # Caseworkers phone between 08:00 and 20:00 (plus up to 3 h of queue after opening);
    # a referral made late at night is contacted the next morning, never at 03:00.
    r = demo.referrals
    for col in ("contacted_at", "task_booked_at"):
        t = r[col].dropna()
        assert len(t) > 1000
        assert t.dt.hour.between(8, 19).all(), col
        assert (t >= r.loc[t.index, "referred_at"]).all(), col
