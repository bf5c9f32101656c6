"""Space-time Gi* of emerging hot spots (hotspots.emerging_gi): the study-area, step-by-step and
distinct-window computation gives the straightforward whole-cube computation's numbers exactly,
on small random cubes with ties, empty cells, masked cells and windows of 1 and 2 steps."""

from __future__ import annotations

import numpy as np
import pytest

from hotspots.dispersion import estimate_kappa
from hotspots.emerging_gi import space_time_count_p, space_time_z, steps_in_window, window_sums
from hotspots.gi_inference import BackgroundFit, background_fit, count_test_tails
from hotspots.neighbours import disc_stencil, neighbour_count, neighbour_sum


# =============================================================================== the reference
def _ref_window_sums(per_step: np.ndarray, k: int) -> np.ndarray:
    return np.stack([per_step[max(0, t - k) : t + 1].sum(axis=0) for t in range(per_step.shape[0])])


def _ref_z(Y, active, stencil, k):
    """The whole-cube computation, every bin of the bounding box at once."""
    T = Y.shape[0]
    s_space = np.stack([neighbour_sum(Y[t], stencil) for t in range(T)])
    w_space = neighbour_count(active, stencil).astype(np.float64)
    S = _ref_window_sums(s_space, k)
    W = w_space[None, :, :] * (np.minimum(np.arange(T), k) + 1)[:, None, None]
    vals = Y[:, active]
    n = int(active.sum()) * T
    mean, sd = float(vals.mean()), float(vals.std())
    denom = sd * np.sqrt(np.maximum((n * W - W * W) / (n - 1), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, (S - mean * W) / np.where(denom > 0, denom, 1.0), 0.0)
    z[:, ~active] = np.nan
    return z, s_space, S, W, sd


def _ref_count_p(Y, active, stencil, k):
    """Every bin's window handed to the count test, the whole cube at once."""
    T = Y.shape[0]
    _, _, S, W, sd = _ref_z(Y, active, stencil, k)
    s2 = _ref_window_sums(np.stack([neighbour_sum(Y[t] * Y[t], stencil) for t in range(T)]), k)
    values = Y[:, active]
    spatial = background_fit(values.sum(axis=0))
    kappa_t, _ = estimate_kappa(values.T, np.ones(T, dtype=np.int64), np.ones(T), values.sum(axis=1))
    kappa_t = kappa_t if kappa_t > 1e-9 else 0.0
    p = np.full(Y.shape, np.nan)
    side = np.zeros(Y.shape, dtype=np.int8)
    if not sd > 0:
        p[:, active] = 1.0
        return p, side, 1.0, kappa_t
    n_steps = np.minimum(np.arange(T), k) + 1
    p_min = 1.0
    for j in np.unique(n_steps):
        ts = np.flatnonzero(n_steps == j)
        fit = BackgroundFit(spatial.mean / T, spatial.kappa + kappa_t * (1.0 + spatial.kappa) / j, spatial.censored_at,
                            spatial.n_censored, spatial.n_cells)
        tails = count_test_tails(values.ravel(), W[ts][:, active].ravel(), S[ts][:, active].ravel(),
                                 s2[ts][:, active].ravel(), background=fit, shared=int(j))
        sub_p = np.minimum(1.0, 2.0 * np.minimum(tails.p_upper, tails.p_lower)).reshape(ts.size, -1)
        sub_side = np.sign(tails.p_lower - tails.p_upper).astype(np.int8).reshape(ts.size, -1)
        for q, t in enumerate(ts):
            p[t][active] = sub_p[q]
            side[t][active] = sub_side[q]
        p_min = min(p_min, tails.p_min)
    return p, side, p_min, kappa_t


def _cube(seed: int, T: int = 9, shape=(8, 7), masked: bool = True, sparse: bool = False):
    rng = np.random.default_rng(seed)
    lam = rng.choice([0.05, 0.3]) if sparse else rng.choice([0.5, 2.0])
    Y = rng.poisson(lam, size=(T, *shape)).astype(np.float64)
    Y[:, 1:3, 1:3] += rng.poisson(3.0, size=(T, 2, 2))  # a busy patch: sums, squares and ties of all sizes
    Y[:, :, -1] = 0.0  # a column that never sees an incident
    if seed == 5:
        Y[0] = 0.0  # a first step without incidents: its windows (one step long) are all empty
    active = np.ones(shape, dtype=bool)
    if masked:
        active &= rng.random(shape) > 0.25
        active[0, 0] = active[1, 1] = True
    return np.where(active[None], Y, 0.0), active


# =============================================================================== the tests
def test_window_sums_add_this_step_and_the_k_before_in_place():
    a = np.arange(1.0, 6.0)[:, None] * np.array([[1.0, 10.0]])
    out = window_sums(a, 2)
    assert out is a
    np.testing.assert_array_equal(out[:, 0], [1, 3, 6, 9, 12])
    np.testing.assert_array_equal(out[:, 1], [10, 30, 60, 90, 120])
    np.testing.assert_array_equal(window_sums(np.ones((3, 1)), 5)[:, 0], [1, 2, 3])
    np.testing.assert_array_equal(steps_in_window(5, 2), [1, 2, 3, 3, 3])


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("seed", range(6))
def test_z_and_count_p_equal_the_whole_cube_computation(k, seed):
    Y, active = _cube(seed, masked=seed % 2 == 0, sparse=seed >= 3)
    stencil = disc_stencil(150.0, 100.0, shape=active.shape)
    z, info = space_time_z(Y, active, stencil, k)
    z_ref, s_ref, S_ref, _, _ = _ref_z(Y, active, stencil, k)
    np.testing.assert_array_equal(z, z_ref)  # NaN outside the study area in both
    np.testing.assert_array_equal(info["neighbourhood_sums"], s_ref[:, active])
    np.testing.assert_array_equal(info["window_sums"], S_ref[:, active])
    p, side, p_min, background = space_time_count_p(Y, active, stencil, k, info)
    p_ref, side_ref, p_min_ref, kappa_t = _ref_count_p(Y, active, stencil, k)
    np.testing.assert_array_equal(p, p_ref)
    np.testing.assert_array_equal(side, side_ref)
    assert p_min == p_min_ref
    assert background["kappa_month_to_month"] == kappa_t
    assert np.isnan(p[:, ~active]).all() and (side[:, ~active] == 0).all()
    assert (side[:, active] != 0).any()  # the busy patch is judged, not all ties


def test_a_cube_without_variation_gets_p_one_everywhere():
    Y, active = _cube(0)
    Y = np.where(active[None], 1.0, 0.0)
    stencil = disc_stencil(150.0, 100.0, shape=active.shape)
    z, info = space_time_z(Y, active, stencil, 1)
    assert info["zero_variance"] and (z[:, active] == 0).all()
    p, side, p_min, _ = space_time_count_p(Y, active, stencil, 1, info)
    assert (p[:, active] == 1.0).all() and p_min == 1.0 and (side == 0).all()


def test_an_empty_cell_never_reached_by_an_incident_shares_its_sizes_p():
    # every window with no incident is told by its size: cells of one size share one p per window length
    Y, active = _cube(4, sparse=True)
    stencil = disc_stencil(150.0, 100.0, shape=active.shape)
    z, info = space_time_z(Y, active, stencil, 1)
    p, _, _, _ = space_time_count_p(Y, active, stencil, 1, info)
    w = info["cell_sizes"]
    empty = info["window_sums"] == 0
    pa = p[:, active]
    for t in (0, 5):
        for size in np.unique(w[empty[t]]):
            assert np.unique(pa[t][empty[t] & (w == size)]).size == 1


def test_a_study_area_of_one_cell_keeps_its_per_step_neighbourhood_sums():
    # one study-area cell: its (T, 1) per-step sums are C-contiguous already, and the window sums
    # (made in place) must not overwrite them (the trend's level variance reads them per step)
    Y = np.zeros((5, 3, 3))
    Y[:, 1, 1] = [1.0, 3.0, 0.0, 2.0, 4.0]
    active = np.zeros((3, 3), dtype=bool)
    active[1, 1] = True
    z, info = space_time_z(Y, active, disc_stencil(100.0, 100.0, shape=active.shape), 1)
    np.testing.assert_array_equal(info["neighbourhood_sums"][:, 0], [1.0, 3.0, 0.0, 2.0, 4.0])
    np.testing.assert_array_equal(info["window_sums"][:, 0], [1.0, 4.0, 3.0, 2.0, 6.0])
    z_ref, *_ = _ref_z(Y, active, disc_stencil(100.0, 100.0, shape=active.shape), 1)
    np.testing.assert_array_equal(z, z_ref)
