"""Emerging hot spots: the ArcGIS category rules on hand-made series, the space-time cube, space-time
Gi* against esda and the textbook formula, per-slice Gi* against gi_star, planted patterns, errors."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from hotspots._errors import ParameterError, SchemaError
from hotspots.dispersion import estimate_kappa
from hotspots.emerging import (
    CATEGORY_CODES,
    CATEGORY_LABELS,
    PATTERNS,
    EmergingResult,
    classify_emerging,
    emerging_hotspots,
)
from hotspots.gi_inference import BackgroundFit, background_fit, count_test_tails
from hotspots.gistar import gi_star
from hotspots.grid import Grid, GridValues
from hotspots.trend import mann_kendall_many, moving_sum_variance_factor


# =============================================================================== the classifier
def _label(z, sig, **kw) -> str:
    return CATEGORY_LABELS[int(classify_emerging(np.asarray(z, float), np.asarray(sig, bool), **kw)[0])]


T12 = 12
ALL = [True] * T12
NONE = [False] * T12


def _only(steps, T=T12):
    s = [False] * T
    for k in steps:
        s[k] = True
    return s


# (name, z series, significance series, expected hot label). Each case is built to meet exactly
# one documented rule; the cold twin (z negated) must give the same pattern as a cold spot.
CASES = [
    ("no pattern", [0.5, -0.3] * 6, NONE, "no pattern detected"),
    ("new: hot only in the final step", [0.2] * 11 + [3.0], _only([11]), "new hot spot"),
    ("consecutive: final run of 3, nothing before", [0.1] * 9 + [2.5, 2.8, 3.1], _only([9, 10, 11]), "consecutive hot spot"),
    ("consecutive: run of exactly 2", [0.1] * 10 + [2.5, 2.8], _only([10, 11]), "consecutive hot spot"),
    ("intensifying: always hot, z rising", list(np.linspace(2.0, 8.0, T12)), ALL, "intensifying hot spot"),
    ("persistent: always hot, no trend", [3.0, 4.0] * 6, ALL, "persistent hot spot"),
    ("diminishing: always hot, z falling", list(np.linspace(8.0, 2.0, T12)), ALL, "diminishing hot spot"),
    ("sporadic: on and off, hot at the end, never cold", [2.5 if k in (2, 5, 11) else 0.4 for k in range(T12)],
     _only([2, 5, 11]), "sporadic hot spot"),
    ("sporadic: a run at the end after an earlier hot bin", [2.5 if k in (3, 10, 11) else 0.4 for k in range(T12)],
     _only([3, 10, 11]), "sporadic hot spot"),
    ("oscillating: cold before, hot at the end", [-2.5 if k == 3 else (2.5 if k in (7, 11) else 0.3) for k in range(T12)],
     _only([3, 7, 11]), "oscillating hot spot"),
    ("historical: hot 11 of 12 steps, not in the final one", [3.0] * 11 + [0.5], _only(range(11)), "historical hot spot"),
]


@pytest.mark.parametrize("name, z, sig, expected", CASES, ids=[c[0] for c in CASES])
def test_each_category_on_a_hand_made_series(name, z, sig, expected):
    assert _label(z, sig) == expected


@pytest.mark.parametrize("name, z, sig, expected", CASES, ids=[c[0] for c in CASES])
def test_cold_twin_of_each_category(name, z, sig, expected):
    # negating z turns hot bins into cold bins and an upward z-trend into a downward one:
    # intensifying cold spots get more negative, diminishing cold spots less negative.
    twin = expected.replace("hot spot", "cold spot")
    assert _label(-np.asarray(z), sig) == twin


def test_intensifying_needs_a_significant_trend_and_the_final_step():
    z = list(np.linspace(2.0, 8.0, T12))
    # the trend test itself: Mann-Kendall on 12 rising values is significant
    assert mann_kendall_many([z]).trend[0] == "up"
    # hot in 11 of 12 steps (>= 90 %) but not the final one: historical, whatever the trend
    assert _label(z, _only(range(11))) == "historical hot spot"


def test_ninety_percent_boundary():
    T = 20
    flat = [3.0, 4.0] * 10
    # 18 of 20 hot (exactly 90 %) including the final step: persistent
    assert _label(flat, _only([k for k in range(T) if k not in (4, 9)], T)) == "persistent hot spot"
    # 17 of 20 (85 %), hot at the end, hot before with gaps, never cold: sporadic
    assert _label(flat, _only([k for k in range(T) if k not in (4, 9, 13)], T)) == "sporadic hot spot"
    # 17 of 20 ending in a run preceded by a gap: sporadic, not consecutive (hot before the run)
    assert _label(flat, _only(list(range(0, 5)) + list(range(8, 20)), T)) == "sporadic hot spot"


def test_documented_tie_breaks():
    # cold earlier, hot only in the final step: both "new" and "oscillating" fit the text; oscillating
    z = [-2.5 if k == 4 else (3.0 if k == 11 else 0.2) for k in range(T12)]
    assert _label(z, _only([4, 11])) == "oscillating hot spot"
    # a final run of hot bins after an earlier cold bin: oscillating, not consecutive
    z = [-2.5 if k == 2 else (3.0 if k >= 9 else 0.2) for k in range(T12)]
    assert _label(z, _only([2, 9, 10, 11])) == "oscillating hot spot"
    # hot >= 90 % before, cold in the final step: judged on the cold side (oscillating cold spot)
    z = [3.0] * 11 + [-2.5]
    assert _label(z, ALL) == "oscillating cold spot"
    # z positive but not significant never makes a hot bin
    assert _label([5.0] * T12, NONE) == "no pattern detected"


def test_precomputed_trend_is_used():
    z = np.array([[3.0, 4.0] * 6])
    sig = np.ones_like(z, dtype=bool)
    down = mann_kendall_many(np.array([np.linspace(9, 1, T12)]))
    assert down.trend[0] == "down"
    assert CATEGORY_LABELS[int(classify_emerging(z, sig, trend=down)[0])] == "diminishing hot spot"


def test_codes_follow_arcgis_category_field():
    assert [CATEGORY_CODES[f"{p} hot spot"] for p in PATTERNS] == list(range(1, 9))
    assert [CATEGORY_CODES[f"{p} cold spot"] for p in PATTERNS] == list(range(-1, -9, -1))
    assert CATEGORY_CODES["no pattern detected"] == 0
    assert len(CATEGORY_LABELS) == 17


def _rules_hold(code: int, z: np.ndarray, sig: np.ndarray, trend: str) -> bool:
    """The documented definition of a category, written out per series (independent of the
    vectorised classifier)."""
    T = len(z)
    if code == 0:
        return True
    sign = 1 if code > 0 else -1
    a = sig & (sign * z > 0)
    b = sig & (sign * z < 0)
    share = a.sum() / T
    toward = "up" if sign > 0 else "down"
    away = "down" if sign > 0 else "up"
    name = PATTERNS[abs(code) - 1]
    if name == "historical":
        return not a[-1] and share >= 0.9
    if not a[-1]:
        return False
    run = 0
    while run < T and a[T - 1 - run]:
        run += 1
    before = a[: T - run].any()
    return {
        "new": a.sum() == 1 and not b.any(),
        "consecutive": run >= 2 and not before and share < 0.9 and not b.any(),
        "intensifying": share >= 0.9 and trend == toward,
        "persistent": share >= 0.9 and trend not in (toward, away),
        "diminishing": share >= 0.9 and trend == away,
        "sporadic": share < 0.9 and before and not b.any(),
        "oscillating": share < 0.9 and b.any(),
    }[name]


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 24).flatmap(lambda T: st.tuples(
    st.lists(st.sampled_from([-3.0, -2.0, -0.5, 0.5, 2.0, 3.0, 5.0]), min_size=T, max_size=T),
    st.lists(st.booleans(), min_size=T, max_size=T),
)))
def test_every_classification_meets_its_definition(series):
    z, sig = np.array(series[0]), np.array(series[1])
    code = int(classify_emerging(z, sig)[0])
    trend = mann_kendall_many(z[None, :]).trend[0]
    assert _rules_hold(code, z, sig, trend)
    # and "no pattern" only when no category's definition applies
    if code == 0:
        assert not any(_rules_hold(c, z, sig, trend) for c in CATEGORY_LABELS if c != 0)


def test_vectorised_equals_one_at_a_time():
    rng = np.random.default_rng(3)
    t = np.arange(15)
    z = rng.normal(0, 3, (400, 1)) + rng.normal(0, 0.4, (400, 1)) * (t - 7) + rng.normal(0, 1.5, (400, 15))
    sig = np.abs(z) > 1.96
    batch = classify_emerging(z, sig)
    one = np.array([classify_emerging(z[i], sig[i])[0] for i in range(len(z))])
    np.testing.assert_array_equal(batch, one)
    assert len(set(batch.tolist())) >= 6


def test_classifier_input_errors():
    with pytest.raises(ParameterError, match="`significant`"):
        classify_emerging(np.zeros((3, 5)), np.zeros((3, 4), dtype=bool))
    with pytest.raises(ParameterError, match="booleans"):
        classify_emerging(np.zeros((3, 5)), np.zeros((3, 5)))
    with pytest.raises(ParameterError, match="at least 2"):
        classify_emerging(np.zeros((3, 1)), np.zeros((3, 1), dtype=bool))


# =============================================================================== synthetic cubes
def _grid(nr=12, nc=12, cs=100.0, mask=None) -> Grid:
    g = Grid.from_bounds((0, 0, nc * cs - 1, nr * cs - 1), cs)
    assert g.shape == (nr, nc)
    return g.with_mask(mask) if mask is not None else g


def _incidents(grid: Grid, counts: np.ndarray, first_month: str = "2022-01", *, dated: str = "month") -> gpd.GeoDataFrame:
    """Points at cell centres from a (T, n_rows, n_cols) count cube, one month per step."""
    T = counts.shape[0]
    tt, rr, cc = np.nonzero(counts)
    reps = counts[tt, rr, cc].astype(int)
    tt, rr, cc = np.repeat(tt, reps), np.repeat(rr, reps), np.repeat(cc, reps)
    months = pd.period_range(first_month, periods=T, freq="M").to_timestamp()
    x = grid.x_centres[cc]
    y = grid.y_centres[rr]
    month = months[tt]
    df = {"incident_id": [f"i{k}" for k in range(len(tt))]}
    if dated == "month":
        df["month"] = month
    else:
        df["occurred"] = month + pd.Timedelta(days=14, hours=20)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=27700)


def _random_cube(T=8, nr=7, nc=6, lam=2.0, seed=1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.poisson(lam, size=(T, nr, nc))
    c[:, 2:4, 2:4] += rng.poisson(4, size=(T, 2, 2))
    return c


def test_cube_counts_and_time_steps():
    g = _grid(5, 5)
    cube = _random_cube(T=12, nr=5, nc=5)
    inc = _incidents(g, cube)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = emerging_hotspots(inc, g, distance=150)
    np.testing.assert_array_equal(res.counts, cube)
    assert list(res.time_steps["label"]) == [f"2022-{m:02d}" for m in range(1, 13)]
    assert res.time_steps["incidents"].tolist() == cube.reshape(12, -1).sum(1).tolist()
    assert res.time_steps["end"].iloc[1] == pd.Timestamp("2022-02-28")
    assert res.params["n_time_steps"] == 12 and res.params["incidents"]["incidents_counted"] == cube.sum()


def test_quarters_aligned_to_the_end_and_leftover_months_noted():
    g = _grid(5, 5)
    cube = _random_cube(T=14, nr=5, nc=5)  # Jan 2022 .. Feb 2023
    inc = _incidents(g, cube)
    with pytest.warns(UserWarning, match="time steps"):
        res = emerging_hotspots(inc, g, time_step="quarter", distance=150)
    # 14 months -> 4 quarters ending Feb 2023; Jan-Feb 2022 left out
    want = ["2022-03 – 2022-05", "2022-06 – 2022-08", "2022-09 – 2022-11", "2022-12 – 2023-02"]
    assert res.time_steps["label"].tolist() == want
    expected = cube[2:].reshape(4, 3, 5, 5).sum(axis=1)
    np.testing.assert_array_equal(res.counts, expected)
    assert any("left out" in n for n in res.notes)
    assert res.params["months_left_out"] == 2
    assert res.params["incidents"]["incidents_outside_period"] == cube[:2].sum()


def test_a_month_missing_from_the_data_is_named_not_read_as_a_quiet_month():
    g = _grid(5, 5)
    cube = _random_cube(T=12, nr=5, nc=5)  # about 70 incidents a month
    cube[6] = 0  # July 2022's file missing
    with pytest.warns(UserWarning, match="no data for Jul 2022"):
        res = emerging_hotspots(_incidents(g, cube), g, distance=150)
    assert res.params["missing_months"] == ["2022-07"]
    assert any("no data for Jul 2022" in n for n in res.notes)
    # its time step is left out: the cube holds the eleven months with data, in order
    assert res.params["steps_left_out"] == ["2022-07"] and res.n_steps == 11
    assert "2022-07" not in res.time_steps["label"].tolist() and res.time_steps["step"].tolist() == list(range(11))
    np.testing.assert_array_equal(res.counts, np.delete(cube, 6, axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = emerging_hotspots(_incidents(g, _random_cube(T=12, nr=5, nc=5)), g, distance=150)
    assert whole.params["missing_months"] == []
    assert whole.params["incomplete_months"] == []


def test_a_month_published_in_part_is_named_in_a_warning():
    g = _grid(5, 5)
    cube = _random_cube(T=12, nr=5, nc=5)  # about 70 incidents a month
    cube[6] = np.random.default_rng(2).binomial(cube[6], 0.12)  # July 2022 published in part
    with pytest.warns(UserWarning, match="Jul 2022 holds under half"):
        res = emerging_hotspots(_incidents(g, cube), g, distance=150)
    assert res.params["incomplete_months"] == ["2022-07"] and res.params["missing_months"] == []
    assert res.params["steps_left_out"] == ["2022-07"] and res.n_steps == 11
    n = res.params["incidents"]
    assert n["incidents_in_steps_left_out"] == cube[6].sum() and n["incidents_counted"] == cube.sum() - cube[6].sum()
    # quarterly steps: the quarter holding July is left out whole
    with pytest.warns(UserWarning, match="2022-07 – 2022-09 left out"):
        q = emerging_hotspots(_incidents(g, cube), g, distance=150, time_step="quarter")
    assert q.time_steps["label"].tolist() == ["2022-01 – 2022-03", "2022-04 – 2022-06", "2022-10 – 2022-12"]


def test_start_end_and_occurred_dates_give_the_same_cube():
    g = _grid(5, 5)
    cube = _random_cube(T=12, nr=5, nc=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = emerging_hotspots(_incidents(g, cube), g, distance=150, start="2022-03", end="2022-10")
        b = emerging_hotspots(_incidents(g, cube, dated="occurred"), g, distance=150, start="2022-03-15", end="2022-10-31")
    np.testing.assert_array_equal(a.counts, cube[2:10])
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_allclose(a.z, b.z)


def test_incidents_outside_the_study_area_are_not_counted():
    mask = np.ones((5, 5), dtype=bool)
    mask[0, :] = False
    g = _grid(5, 5, mask=mask)
    cube = _random_cube(T=10, nr=5, nc=5)
    res = emerging_hotspots(_incidents(g, cube), g, distance=150)
    assert res.counts[:, 0, :].sum() == 0
    assert res.params["incidents"]["incidents_outside_area"] == cube[:, 0, :].sum()
    assert np.isnan(res.z[:, 0, :]).all() and np.isfinite(res.z[:, 1:, :]).all()
    assert (res.labels[0] == "outside").all()


# =============================================================================== Gi* against references
def _space_time_neighbours(g: Grid, T: int, distance: float, k: int) -> dict[int, list[int]]:
    """Bin (t, cell) -> other bins within ``distance`` at steps t-k..t (ArcGIS's backward window)."""
    xy = g.centres(active_only=True)
    n = len(xy)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    near = [np.flatnonzero(d[i] <= distance * (1 + 1e-9)) for i in range(n)]
    nb: dict[int, list[int]] = {}
    for t in range(T):
        for i in range(n):
            ids = [u * n + j for u in range(max(0, t - k), t + 1) for j in near[i] if not (u == t and j == i)]
            nb[t * n + i] = ids
    return nb


@pytest.mark.parametrize("k, masked", [(1, False), (2, True), (1, True)])
def test_space_time_gi_star_equals_esda_and_the_textbook_formula(k, masked):
    from esda.getisord import G_Local
    from libpysal.weights import W

    nr, nc, T = 7, 6, 8
    mask = None
    if masked:
        mask = np.ones((nr, nc), dtype=bool)
        mask[0, :3] = False
        mask[5, 5] = False
    g = _grid(nr, nc, mask=mask)
    cube = _random_cube(T=T, nr=nr, nc=nc, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = emerging_hotspots(_incidents(g, cube), g, distance=150, time_window=k, inference="normal")
        counted = emerging_hotspots(_incidents(g, cube), g, distance=150, time_window=k)
    act = g.active
    y = np.concatenate([cube[t][act] for t in range(T)]).astype(float)
    nb = _space_time_neighbours(g, T, 150, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = W(nb, silence_warnings=True)
        e = G_Local(y, w, transform="B", star=True, permutations=0)
    ours = np.concatenate([res.z[t][act] for t in range(T)])
    np.testing.assert_allclose(ours, e.Zs, atol=1e-9)
    # textbook: (sum_j w_ij y_j - ybar W_i) / (s sqrt((n W_i - W_i^2) / (n - 1))), self included
    n = len(y)
    Wi = np.array([len(nb[b]) + 1 for b in range(n)], dtype=float)
    Si = np.array([y[nb[b]].sum() + y[b] for b in range(n)])
    zt = (Si - y.mean() * Wi) / (y.std() * np.sqrt((n * Wi - Wi**2) / (n - 1)))
    np.testing.assert_allclose(ours, zt, atol=1e-9)
    np.testing.assert_allclose(np.concatenate([res.p[t][act] for t in range(T)]), 2 * stats.norm.sf(np.abs(zt)), atol=1e-12)
    assert "space-time" in res.params["method"] and res.params["global_window"] == "entire cube"
    # the default judges each bin by the exact count test of its neighbourhood sum, the bins of
    # the cube being the cells (sums built here from esda's neighbour lists, not our stencils)
    np.testing.assert_allclose(np.concatenate([counted.z[t][act] for t in range(T)]), zt, atol=1e-9)
    # the background: cells' rates drawn once (kappa_s, from the cells' totals) and varying from
    # month to month (kappa_t); a window of j steps sums j months of each cell (`shared`)
    S2 = np.array([(y[nb[b]] ** 2).sum() + y[b] ** 2 for b in range(n)])
    steps = np.repeat(np.minimum(np.arange(T), k) + 1, int(act.sum()))
    per_cell = y.reshape(T, -1)
    spatial = background_fit(per_cell.sum(axis=0))
    kappa_t, _ = estimate_kappa(per_cell.T, np.ones(T, dtype=int), np.ones(T), per_cell.sum(axis=1))
    bg = counted.params["background"]
    assert bg["kappa_cells"] == spatial.kappa and bg["kappa_month_to_month"] == kappa_t
    p_ref, side = np.ones(n), np.zeros(n)
    for j in np.unique(steps):
        on = steps == j
        fit = BackgroundFit(spatial.mean / T, spatial.kappa + kappa_t * (1 + spatial.kappa) / j, spatial.censored_at,
                            spatial.n_censored, spatial.n_cells)
        tails = count_test_tails(y, Wi[on], Si[on], S2[on], background=fit, shared=int(j))
        p_ref[on] = np.minimum(1, 2 * np.minimum(tails.p_upper, tails.p_lower))
        side[on] = np.sign(tails.p_lower - tails.p_upper)
    np.testing.assert_allclose(np.concatenate([counted.p[t][act] for t in range(T)]), p_ref, atol=1e-12)
    hot = np.concatenate([counted.hot_cold[t][act] for t in range(T)])
    assert set(np.unique(hot[hot != 0] - side[hot != 0]).tolist()) <= {0}
    assert counted.params["inference"] == "count" and bg["n_cells"] == int(act.sum())


def test_per_slice_gi_star_is_gi_star_on_each_step():
    g = _grid(8, 8)
    cube = _random_cube(T=10, nr=8, nc=8, seed=5)
    res = emerging_hotspots(_incidents(g, cube), g, distance=150, time_window=0)
    assert res.params["fdr"].endswith("each time step")
    for t in range(10):
        gs = gi_star(GridValues(cube[t].astype(float), g, "count"), 150, fdr=True)
        np.testing.assert_allclose(res.z[t], gs.z, atol=1e-12)
        # gi_star's own decision p-value: the exact count test for counts (not the normal p)
        assert res.params["inference"] == gs.params["inference"] == "count"
        np.testing.assert_allclose(res.p[t], gs.p_exact, atol=1e-12)
        np.testing.assert_allclose(res.p_adjusted[t], gs.p_adjusted, atol=1e-12)
        np.testing.assert_array_equal(res.hot_cold[t] > 0, gs.hot)
        np.testing.assert_array_equal(res.hot_cold[t] < 0, gs.cold)


def test_fdr_over_the_cube_matches_scipy():
    g = _grid(8, 8)
    cube = _random_cube(T=10, nr=8, nc=8, seed=9)
    res = emerging_hotspots(_incidents(g, cube), g, distance=150, time_window=1)
    # one step-up per side (hot z > 0, cold z < 0), each over every bin: scipy's BH with the other
    # side's p-values at 1
    for side in (1, -1):
        on = (np.sign(res.z) == side).ravel()
        q = stats.false_discovery_control(np.where(on, res.p.ravel(), 1.0), method="bh")
        np.testing.assert_allclose(res.p_adjusted.ravel()[on], q[on], atol=1e-12)
    np.testing.assert_array_equal(res.hot_cold != 0, res.p_adjusted <= 0.05)
    off = emerging_hotspots(_incidents(g, cube), g, distance=150, time_window=1, fdr=False)
    assert off.p_adjusted is None
    np.testing.assert_array_equal(off.hot_cold != 0, off.p <= 0.05)
    assert (off.hot_cold != 0).sum() >= (res.hot_cold != 0).sum()


def test_trends_are_mann_kendall_of_each_cells_series():
    g = _grid(6, 6)
    cube = _random_cube(T=12, nr=6, nc=6, seed=11)
    res = emerging_hotspots(_incidents(g, cube), g, distance=150)
    # time_window 1: neighbouring bins share a step, so Var(S) carries the Hamed-Rao factor; the
    # first step's window holds one step only, so the trend runs on steps 2..12 (11 values)
    vf = moving_sum_variance_factor(11, 1)
    assert vf > 1.2 and "Hamed-Rao" in res.params["trend_test"] and "from step 2 of 12" in res.params["trend_test"]
    mk = mann_kendall_many(res.z.reshape(12, -1).T[:, 1:], variance_factor=vf)
    np.testing.assert_allclose(res.trend_z.ravel(), mk.z, atol=1e-12)
    np.testing.assert_allclose(res.trend_p.ravel(), mk.p, atol=1e-12)
    # the counts' trend against scipy's Kendall tau (asymptotic, no continuity correction) sign
    tau = [stats.kendalltau(np.arange(12), cube[:, 2, 3]).statistic]
    assert np.sign(res.count_trend_z[2, 3]) == np.sign(tau[0]) or tau[0] == 0
    # categories are the classifier applied to the cube's series
    codes = classify_emerging(res.z.reshape(12, -1).T, (res.hot_cold != 0).reshape(12, -1).T, trend=mk)
    np.testing.assert_array_equal(res.categories.ravel(), codes)


def test_a_steady_hot_cell_gets_no_trend_from_the_first_steps_short_window():
    """Every cell the same count every month, one cell 10 and the others 1: nothing trends. The
    first step's window holds one month (W = 9 cells x 1 step, the later ones 9 x 2), so by the
    formula its z is 0.5 sqrt(18 x 282 / (9 x 291)) = 0.696 of the others' (n = 300 bins); the trend
    ran over it too and read every hot cell as rising (S = 11: the first step below the 11 others);
    now it runs on the full-window steps 2..12, all equal: S = 0 with every value tied, so no trend
    z (NaN, as for any constant series) and no trend."""
    g = _grid(5, 5)
    cube = np.ones((12, 5, 5), dtype=int)
    cube[:, 2, 2] = 10
    res = emerging_hotspots(_incidents(g, cube), g, distance=150)
    hot = res.z[:, 2, 2]
    assert hot[1] > 0 and hot[0] / hot[1] == pytest.approx(0.5 * np.sqrt(18 * 282 / (9 * 291)), rel=1e-12)
    np.testing.assert_allclose(hot[1:], hot[1], rtol=1e-12)  # steady from the first full window on
    assert np.isnan(res.trend_z[g.active]).all() and np.isnan(res.trend_p[g.active]).all()
    assert (res.trend[g.active] == "none").all() and not np.isin(res.categories, (3, 5, -3, -5)).any()
    # the old test (every step, short window included) saw a rise in every hot cell
    old = mann_kendall_many(res.z[:, g.active].T, variance_factor=moving_sum_variance_factor(12, 1))
    assert old.S[2 * 5 + 2] == 11 and (old.z[res.z[1, g.active] > 0] > 0).all()  # cell (2, 2): 13th of 25


def test_reversing_the_months_reverses_every_trend():
    """Steady Poisson hotspots with noise, 24 months: the cube with its months in reverse order has
    the same full-window sums in reverse order, so each cell's trend z is exactly the negative of
    the original's (before: correlation -0.4 on Gwent's real months, since the short first window
    sat at the start of one series and at the end of the other)."""
    rng = np.random.default_rng(31)
    g = _grid(24, 24)
    cube, centres = _hotspot_cube(rng, 0.0, years=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fwd = emerging_hotspots(_incidents(g, cube), g, distance=150)
        rev = emerging_hotspots(_incidents(g, cube[::-1].copy()), g, distance=150)
    act = g.active
    assert np.abs(fwd.trend_z[act]).max() > 1.0  # the noise gives trends to reverse
    np.testing.assert_allclose(rev.trend_z[act], -fwd.trend_z[act], atol=1e-9)
    np.testing.assert_allclose(rev.count_trend_z[act], -fwd.count_trend_z[act], atol=1e-9)
    up = {"up": "down", "down": "up", "none": "none"}
    assert [up[t] for t in fwd.trend[act]] == list(rev.trend[act])


@pytest.mark.slow
@pytest.mark.realdata
def test_shuffled_months_of_real_asb_give_as_many_falling_as_rising_hot_spots(police_uk_dir):
    """Gwent's 2025 ASB, each incident given a random month weighted by the month's days (nothing
    trends): the tester found 248 intensifying against 0 diminishing hot spot cells in 24 draws
    (the short first window); now both directions and under 6.5 % of the persistent,
    intensifying and diminishing cells together."""
    from hotspots.io import load_police_uk
    from hotspots.pipeline import emerging_stage, hotspot_stage, prepare_inputs

    files = sorted((police_uk_dir / "national_2025_gz").glob("2025-*/2025-*-gwent-street.csv.gz"))
    if len(files) != 12:
        pytest.skip("Gwent's twelve 2025 files not found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prep = prepare_inputs(load_police_uk(files, categories="asb").data)
        stage = hotspot_stage(prep.incidents, prep.settings, prep.study_area)
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    days = np.asarray(months.days_in_month, float)
    rng = np.random.default_rng(2026)
    found = np.zeros(3, dtype=np.int64)  # intensifying, persistent, diminishing
    for _ in range(16):
        moved = months[rng.choice(12, size=len(prep.incidents), p=days / days.sum())]
        res, _ = emerging_stage(prep.incidents.assign(month=moved.to_numpy(), occurred=pd.NaT), stage, prep.settings)
        found += np.bincount(res.categories[res.grid.active].astype(np.int64).clip(0, 8), minlength=9)[3:6]
    print(f"\n[emerging, Gwent shuffled x 16] intensifying {found[0]}, persistent {found[1]}, diminishing {found[2]}")
    assert found[1] > 500
    assert (found[0] + found[2]) / found.sum() <= 0.065
    assert found[2] > 0 and found[0] <= 4 * found[2] + 10


# =============================================================================== planted patterns
@pytest.fixture(scope="module")
def planted():
    """24 months on a 30 x 30 grid of 100 m cells, Poisson(0.3) background, and four planted
    3 x 3 blocks: steady (persistent), fading (diminishing), rising (intensifying) and one that
    appears in the last four months only (consecutive)."""
    rng = np.random.default_rng(2024)
    T, n = 24, 30
    lam = np.full((T, n, n), 0.3)
    t = np.arange(T)[:, None, None]
    lam[:, 3:6, 3:6] += 6.0
    lam[:, 3:6, 20:23] += np.linspace(9.0, 1.5, T)[:, None, None]
    lam[:, 20:23, 3:6] += np.linspace(1.5, 9.0, T)[:, None, None]
    lam[:, 20:23, 20:23] += np.where(t >= T - 4, 8.0, 0.0)
    cube = rng.poisson(lam)
    g = _grid(n, n)
    return g, cube, emerging_hotspots(_incidents(g, cube), g, distance=150)


def test_planted_patterns_are_recovered(planted):
    _, _, res = planted
    centre = lambda r, c: res.labels[r + 1, c + 1]  # noqa: E731
    assert centre(3, 3) == "persistent hot spot"
    assert centre(3, 20) == "diminishing hot spot"
    assert centre(20, 3) == "intensifying hot spot"
    assert centre(20, 20) == "consecutive hot spot"
    # far from every block, the background has no pattern
    assert (res.labels[12:17, 12:17] == "no pattern detected").all()


def test_result_tables(planted):
    g, cube, res = planted
    assert isinstance(res, EmergingResult)
    s = res.summary()
    assert s["cells"].sum() == g.n_cells and len(s) == 17
    assert s.loc[s.category == "persistent hot spot", "cells"].iloc[0] >= 1
    gdf = res.to_geodataframe()
    assert list(gdf.columns) == ["row", "col", "category", "category_code", "trend_z", "trend_p", "trend", "count_trend_z",
                                 "count_trend_p", "n_hot", "n_cold", "hot_final", "cold_final", "count", "geometry"]
    assert len(gdf) == g.n_cells and gdf.crs.to_epsg() == 27700
    assert gdf["count"].sum() == cube.sum()
    only = res.to_geodataframe(only_patterns=True)
    assert (only["category"] != "no pattern detected").all() and len(only) < len(gdf)
    ser = res.series(4, 4)
    assert ser["count"].tolist() == cube[:, 4, 4].tolist() and len(ser) == 24
    assert (ser["hot_cold"] == 1).mean() >= 0.9
    with pytest.raises(ParameterError, match="row 99"):
        res.series(99, 0)


def test_params_record_every_choice(planted):
    _, _, res = planted
    p = res.params
    keys = ("method", "time_step_months", "n_time_steps", "time_window", "global_window", "distance_m", "alpha", "fdr", "seed")
    for key in keys:
        assert key in p
    assert p["n_bins"] == 24 * 900 and p["distance_m"] == 150


def test_automatic_distance_is_announced():
    g = _grid(10, 10)
    cube = _random_cube(T=10, nr=10, nc=10, seed=4)
    res = emerging_hotspots(_incidents(g, cube), g)
    assert res.params["distance_rule"] in ("moran_peak", "fallback_sqrt2")
    assert any("distance band set to" in n for n in res.notes)


def test_input_not_mutated():
    g = _grid(5, 5)
    inc = _incidents(g, _random_cube(T=10, nr=5, nc=5))
    before = inc.copy()
    emerging_hotspots(inc, g, distance=150)
    pd.testing.assert_frame_equal(pd.DataFrame(inc.drop(columns="geometry")), pd.DataFrame(before.drop(columns="geometry")))
    assert inc.geometry.equals(before.geometry)


# =============================================================================== check inputs
def test_fewer_than_ten_steps_warns():
    g = _grid(5, 5)
    inc = _incidents(g, _random_cube(T=6, nr=5, nc=5))
    with pytest.warns(UserWarning, match="Mann–Kendall"):
        res = emerging_hotspots(inc, g, distance=150)
    assert any("time steps" in n for n in res.notes)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"time_window": -1}, "time_window"),
        ({"time_window": 10}, "shorter than the cube"),
        ({"time_window": True}, "time_window"),
        ({"alpha": 1.5}, "alpha"),
        ({"fdr": "cells"}, "fdr"),
        ({"time_step": "week"}, "time_step"),
        ({"time_step": 0}, "time_step"),
        ({"distance": 50}, "shorter than the cell size"),
        ({"start": "2022-06", "end": "2022-01"}, "before `start`"),
        ({"start": "not a month"}, "start"),
        ({"end": "2022-01"}, "at least 2"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments(kwargs, match):
    g = _grid(5, 5)
    inc = _incidents(g, _random_cube(T=10, nr=5, nc=5))
    kwargs = {"distance": 150, **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ParameterError, match=match):
            emerging_hotspots(inc, g, **kwargs)


def test_bad_inputs():
    g = _grid(5, 5)
    inc = _incidents(g, _random_cube(T=10, nr=5, nc=5))
    with pytest.raises(ParameterError, match="Grid"):
        emerging_hotspots(inc, "grid")
    with pytest.raises(SchemaError, match="occurred"):
        emerging_hotspots(inc.drop(columns="month"), g, distance=150)
    with pytest.raises(ParameterError, match="GeoDataFrame"):
        emerging_hotspots([1, 2, 3], g, distance=150)
    undated = inc.assign(month=pd.NaT)
    with pytest.raises(ParameterError, match="no incident has a usable date"):
        emerging_hotspots(undated, g, distance=150)


def test_constant_cube_has_no_pattern():
    g = _grid(5, 5)
    inc = _incidents(g, np.ones((10, 5, 5), dtype=int))
    res = emerging_hotspots(inc, g, distance=150)
    assert (res.z == 0).all() and (res.categories == 0).all()
    assert any("do not vary" in n for n in res.notes)


# =============================================================================== year-to-year variation
def _hotspot_cube(rng, sd_year, years=3, growth=None, n=24):
    """A ``n`` x ``n`` grid of 100 m cells, Poisson(0.3) background and 16 hotspots of 3 x 3 cells
    (10-40 incidents a cell a month) whose rates vary by a log-normal factor (sd ``sd_year``) from
    year to year; with ``growth``, the first 8 grow by that factor over the whole period."""
    T = 12 * years
    lam = np.full((T, n, n), 0.3)
    centres = [(r, c) for r in range(2, n - 2, 6) for c in range(2, n - 2, 6)]
    t = np.arange(T)
    for h, (r, c) in enumerate(centres):
        level = rng.uniform(10, 40) * np.exp(rng.normal(0, sd_year, years))[t // 12]
        if growth is not None and h < 8:
            level = level * np.exp(np.log(1 + growth) * t / (T - 1))
        lam[:, r - 1 : r + 2, c - 1 : c + 2] += level[:, None, None]
    return rng.poisson(lam), centres


def test_year_to_year_variation_is_not_called_a_trend():
    """Hotspots whose rates vary 12 % from year to year, nothing trending: the test with the
    time-window correction alone calls trends in a third of their cells, ours at about alpha, and the
    variation is estimated and announced."""
    rng = np.random.default_rng(12)
    g = _grid(24, 24)
    ours, plain, sds = [], [], []
    for _ in range(6):
        cube, centres = _hotspot_cube(rng, 0.12)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = emerging_hotspots(_incidents(g, cube), g, distance=150)
        rr = np.array([r for r, _ in centres])
        cc = np.array([c for _, c in centres])
        ours.append((res.trend[rr, cc] != "none").mean())
        mk = mann_kendall_many(res.z[:, rr, cc].T, slope=False, variance_factor=moving_sum_variance_factor(36, 1))
        plain.append((mk.trend != "none").mean())
        sds.append(res.params["year_to_year_variation"]["relative_sd"])
    print(f"\n[emerging, 12 % year-to-year] plain {np.mean(plain):.3f}, ours {np.mean(ours):.3f}, sd {np.median(sds):.3f}")
    assert np.mean(plain) > 0.2 and np.mean(ours) <= 0.1, (np.mean(plain), np.mean(ours))
    assert 0.06 < np.median(sds) < 0.2
    assert any("vary from year to year" in n for n in res.notes)
    assert "year-to-year variation" in res.params["trend_test"]


def test_real_trends_are_still_found_beside_year_to_year_variation():
    """Half the hotspots doubling over three years, all varying 12 % from year to year: most of
    the growing ones are still found, few of the others."""
    rng = np.random.default_rng(13)
    g = _grid(24, 24)
    up, flat = [], []
    for _ in range(4):
        cube, centres = _hotspot_cube(rng, 0.12, growth=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = emerging_hotspots(_incidents(g, cube), g, distance=150)
        tr = np.array([res.trend[r, c] for r, c in centres])
        up.append((tr[:8] == "up").mean())
        flat.append((tr[8:] != "none").mean())
    print(f"\n[emerging, doubling] found {np.mean(up):.3f}, others {np.mean(flat):.3f}")
    assert np.mean(up) >= 0.5 and np.mean(flat) <= 0.15, (np.mean(up), np.mean(flat))


def test_sparse_random_cubes_get_no_categories_by_default():
    """Monthly counts per cell are sparse: judged by the normal p of their z (ArcGIS), random
    cubes get "sporadic" and "new" hot spots; the default count test holds its level."""
    g = _grid(40, 40, cs=250.0)
    normal_patterns = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        cube = rng.poisson(25 / 1600, size=(36, 40, 40))  # 300 incidents a year over 100 km²
        inc = _incidents(g, cube)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counted = emerging_hotspots(inc, g, distance=400)
            normal = emerging_hotspots(inc, g, distance=400, inference="normal")
        assert counted.params["inference"] == "count"
        assert (counted.hot_cold == 0).all() and (counted.categories == 0).all()
        normal_patterns += int((normal.categories != 0).sum())
    assert normal_patterns > 0


def test_count_inference_still_finds_a_steady_hot_spot():
    g = _grid(20, 20, cs=250.0)
    rng = np.random.default_rng(3)
    cube = rng.poisson(0.05, size=(24, 20, 20))
    cube[:, 9:11, 9:11] += rng.poisson(3, size=(24, 2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = emerging_hotspots(_incidents(g, cube), g, distance=400)
    assert (res.labels[9:11, 9:11] == "persistent hot spot").all()
    assert (res.labels[:5, :5] == "no pattern detected").all()


def test_inference_option_is_checked():
    g = _grid(5, 5)
    with pytest.raises(ParameterError, match="inference"):
        emerging_hotspots(_incidents(g, _random_cube(T=12, nr=5, nc=5)), g, distance=150, inference="permutation")


def test_a_steady_uneven_background_gets_no_categories():
    """Each cell's rate drawn once (kappa 30: a few busy cells, many empty ones) and kept every
    month: no clustering, so no hot spot. Judged by the normal p, its busy cells become hot spots."""
    g = _grid(40, 40, cs=250.0)
    normal_patterns = 0
    for seed in range(3):
        rng = np.random.default_rng(10 + seed)
        rate = rng.gamma(1 / 30, 30 * 250 / 1600, (40, 40))  # 3,000 incidents a year over 100 km²
        inc = _incidents(g, rng.poisson(np.broadcast_to(rate, (36, 40, 40))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            counted = emerging_hotspots(inc, g, distance=400)
            normal = emerging_hotspots(inc, g, distance=400, inference="normal")
        assert counted.params["background"]["kappa_cells"] > 5
        assert (counted.categories == 0).all()
        normal_patterns += int((normal.categories != 0).sum())
    assert normal_patterns > 0


def test_a_cube_too_sparse_for_any_hot_bin_says_so():
    g = _grid(6, 6)
    cube = np.zeros((12, 6, 6), dtype=int)
    cube[3, 2, 2] = 1  # one incident: even a corner window at the first step (4 of the 432 bins)
    with warnings.catch_warnings():  # holds it by chance with p = 2 x 4 / 432 > alpha 0.01
        warnings.simplefilter("ignore")
        res = emerging_hotspots(_incidents(g, cube), g, distance=150, start="2022-01", end="2022-12", alpha=0.01)
    assert res.params["background"]["kappa_cells"] == 0 and res.params["background"]["kappa_month_to_month"] == 0
    assert (res.hot_cold == 0).all()
    assert any("no bin can be a significant hot spot" in n for n in res.notes)
    const = emerging_hotspots(_incidents(g, np.ones((12, 6, 6), dtype=int)), g, distance=150)
    assert not any("no bin can be" in n for n in const.notes) and any("do not vary" in n for n in const.notes)


def test_a_missing_month_keeps_the_year_to_year_estimate_on_calendar_years():
    """A monthly file missing (month 18 of 36): its step is left out and the other steps keep
    their calendar years, so the year-to-year variation comes from three years as with every
    month loaded. Counted back as consecutive steps, the first year fell to a part block and the
    next reached a month into it."""
    rng = np.random.default_rng(31)
    g = _grid(24, 24)
    full, gap = [], []
    for _ in range(4):
        cube, _ = _hotspot_cube(rng, 0.15)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = emerging_hotspots(_incidents(g, cube), g, distance=150)
            holed = cube.copy()
            holed[17] = 0
            b = emerging_hotspots(_incidents(g, holed), g, distance=150)
        assert b.n_steps == 35 and "2023-06" in b.params["missing_months"]
        full.append(a.params["year_to_year_variation"]["relative_sd"])
        gap.append(b.params["year_to_year_variation"]["relative_sd"])
    full, gap = np.array(full), np.array(gap)
    print(f"\n[emerging, a month missing] sd all months {np.round(full, 3)}, one missing {np.round(gap, 3)}")
    np.testing.assert_allclose(gap, full, rtol=0.12)


def test_few_steps_warning_counts_the_trend_steps_whose_window_is_full():
    g = _grid(5, 5)
    inc = _incidents(g, _random_cube(T=10, nr=5, nc=5))
    # time window 1: the trend runs on steps 2..10 (9 steps), fewer than 10, so it warns and says so
    with pytest.warns(UserWarning, match=r"only 9 time steps whose 2-step window is full \(of 10\)"):
        res = emerging_hotspots(inc, g, distance=150, time_window=1)
    assert any("only 9 time steps" in n for n in res.notes)
    # window 0: all 10 steps carry the trend, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", message="(?!only)")
        emerging_hotspots(inc, g, distance=150, time_window=0)
