"""Distance-band stencils, neighbour sums, global Moran's I and the automatic distance band."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from hotspots._errors import ParameterError
from hotspots.grid import Grid, GridValues
from hotspots.neighbours import auto_distance, disc_stencil, morans_i, neighbour_count, neighbour_sum


def _brute_offsets(distance: float, cs: float) -> set[tuple[int, int]]:
    r = int(distance // cs) + 1
    return {
        (dr, dc)
        for dr in range(-r, r + 1)
        for dc in range(-r, r + 1)
        if math.hypot(dr * cs, dc * cs) <= distance * (1 + 1e-9)
    }


# ------------------------------------------------------------------ check inputs
@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "far"])
def test_disc_stencil_rejects_bad_distance(bad):
    with pytest.raises(ParameterError, match="`distance`"):
        disc_stencil(bad, 100)


def test_morans_i_rejects_bad_transform_and_tiny_grid():
    g = Grid.from_bounds((0, 0, 499, 499), 100)
    gv = GridValues(np.arange(25, dtype=float).reshape(5, 5), g, "count")
    with pytest.raises(ParameterError, match="`transform`"):
        morans_i(gv, 100, transform="x")
    tiny = Grid.from_bounds((0, 0, 199, 99), 100)
    with pytest.raises(ParameterError, match="at least 4 cells"):
        morans_i(GridValues(np.array([[1.0, 2.0]]), tiny, "count"), 100)


def test_nan_inside_area_is_named():
    g = Grid.from_bounds((0, 0, 499, 499), 100)
    v = np.ones(g.shape)
    v[2, 3] = np.nan
    with pytest.raises(ParameterError, match="row 2, col 3"):
        morans_i(GridValues(v, g, "count"), 100)


# ------------------------------------------------------------------ check outputs
@pytest.mark.parametrize(
    "mult, size",
    [(0.99, 1), (1.0, 5), (math.sqrt(2), 9), (1.5, 9), (2.0, 13), (math.sqrt(5), 21), (5.0, 81)],
)
def test_stencil_sizes_by_hand(mult, size):
    # 1 cell: the 4 edge neighbours; sqrt(2): all 8; 2: + the 4 at distance 2; sqrt(5): + 8 knights.
    st_ = disc_stencil(mult * 200, 200)
    assert st_.size == size
    assert {tuple(o) for o in st_.offsets} == _brute_offsets(mult * 200, 200)


def test_stencil_includes_exact_band_distance():
    # (3, 4) cells at 200 m are exactly 1000 m away: inside a 1000 m band.
    offs = {tuple(o) for o in disc_stencil(1000, 200).offsets}
    assert (3, 4) in offs and (4, 3) in offs and (0, 5) in offs
    assert (1, 5) not in offs


@pytest.mark.parametrize("cs", [500.0, 250.0, 30.0])
def test_band_typed_as_shown_reaches_the_cells_of_the_band_shown(cs):
    # The 8 surrounding cells lie cs x sqrt(2) away (707.1 m at 500 m), shown rounded ("707 m"):
    # typed back as a whole number of metres, the band reaches the same 9 cells, not only the 5 edge ones.
    shown = round(cs * math.sqrt(2))
    assert disc_stencil(shown, cs).size == disc_stencil(cs * math.sqrt(2), cs).size == 9
    assert disc_stencil(cs * math.sqrt(2) - 0.6, cs).size == 5  # more than half a metre short: the edge cells only
    assert disc_stencil(round(cs * math.sqrt(5)), cs).size == 21  # the knights' moves, 1,118.03 m at 500 m


def test_stencil_clipped_to_grid_shape():
    st_ = disc_stencil(10_000, 100, shape=(3, 4))
    assert st_.radius == 2
    assert int(st_.half_widths.max()) == 3
    fp = st_.to_array()
    assert fp.shape == (5, 7) and fp.all()


@settings(max_examples=40, deadline=None)
@given(
    nr=st.integers(1, 25),
    nc=st.integers(1, 25),
    mult=st.floats(1.0, 9.0),
    seed=st.integers(0, 10_000),
)
def test_neighbour_sum_equals_scipy_correlate(nr, nc, mult, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((nr, nc))
    st_ = disc_stencil(mult * 50, 50, shape=(nr, nc))
    ref = ndimage.correlate(a, st_.to_array().astype(float), mode="constant", cval=0.0)
    np.testing.assert_allclose(neighbour_sum(a, st_), ref, rtol=0, atol=1e-12)


def test_neighbour_sum_of_counts_is_exact():
    rng = np.random.default_rng(1)
    a = rng.poisson(3.0, size=(60, 45)).astype(float)
    st_ = disc_stencil(730, 100)
    ref = ndimage.correlate(a, st_.to_array().astype(float), mode="constant")
    assert np.array_equal(neighbour_sum(a, st_), ref)
    cnt = neighbour_count(np.ones((60, 45), bool), st_)
    assert cnt.dtype == np.int64
    assert cnt[30, 22] == st_.size  # interior: the whole stencil
    assert cnt[0, 0] < st_.size  # corner: clipped


def _esda_moran(values: GridValues, distance: float, transform: str):
    import esda
    from libpysal.weights import DistanceBand

    g = values.grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(g.centres(active_only=True), threshold=distance * (1 + 1e-9), binary=True, silence_warnings=True)
        return esda.Moran(values.values[g.active], w, transformation=transform, permutations=0)


@pytest.mark.parametrize("transform", ["r", "b"])
@pytest.mark.parametrize("mult", [1.0, 1.5, 2.5, 4.2])
def test_morans_i_equals_esda(transform, mult):
    rng = np.random.default_rng(7)
    g = Grid.from_bounds((0, 0, 2999, 1999), 100)
    mask = np.ones(g.shape, bool)
    mask[:4, :6] = False
    mask[12:14, 3:25] = False
    g = g.with_mask(mask)
    v = ndimage.uniform_filter(rng.poisson(2.0, g.shape).astype(float), 3)
    v[~mask] = np.nan
    gv = GridValues(v, g, "count")
    ours = morans_i(gv, mult * 100, transform=transform)
    ref = _esda_moran(gv, mult * 100, transform)
    assert ours.I == pytest.approx(ref.I, abs=1e-12)
    assert ours.z_norm == pytest.approx(ref.z_norm, abs=1e-9)
    assert ours.z_rand == pytest.approx(ref.z_rand, abs=1e-9)
    assert ours.p_rand == pytest.approx(ref.p_rand, abs=1e-12)


def test_morans_i_constant_values_is_nan():
    g = Grid.from_bounds((0, 0, 999, 999), 100)
    res = morans_i(GridValues(np.full(g.shape, 3.0), g, "count"), 150)
    assert math.isnan(res.I) and math.isnan(res.z_rand)


def test_auto_distance_finds_peak_on_clustered_surface():
    rng = np.random.default_rng(3)
    g = Grid.from_bounds((0, 0, 5999, 5999), 100)
    v = ndimage.gaussian_filter(rng.poisson(1.0, g.shape).astype(float), 1.0)
    choice = auto_distance(GridValues(v, g, "count"))
    assert choice.rule == "moran_peak"
    t = choice.table
    i = int(np.flatnonzero(t["peak"].to_numpy())[0])
    assert t["distance_m"].iloc[i] == choice.distance
    assert t["z"].iloc[i] >= 1.96
    assert t["z"].iloc[i] > t["z"].iloc[i - 1] and t["z"].iloc[i] >= t["z"].iloc[i + 1]
    # No earlier band is a significant peak.
    z = t["z"].to_numpy()
    assert not any(z[j] >= 1.96 and z[j] > z[j - 1] and z[j] >= z[j + 1] for j in range(1, i))
    assert "Moran" in choice.message and f"{choice.distance:,.0f} m" in choice.message
    # The sweep's z at the chosen band is esda's Moran z under randomisation.
    ref = _esda_moran(GridValues(v, g, "count"), choice.distance, "r")
    assert t["z"].iloc[i] == pytest.approx(ref.z_rand, abs=1e-9)


def test_auto_distance_falls_back_without_structure():
    g = Grid.from_bounds((0, 0, 1999, 1999), 100)
    flat = GridValues(np.zeros(g.shape), g, "count")
    choice = auto_distance(flat)
    assert choice.rule == "fallback_sqrt2"
    assert choice.distance == pytest.approx(100 * math.sqrt(2))
    assert "sfhotspot" in choice.message
    # A 2 x 2 grid has too few cells for a sweep: also the fallback.
    tiny = Grid.from_bounds((0, 0, 199, 199), 100)
    assert auto_distance(GridValues(np.array([[1.0, 0.0], [0.0, 2.0]]), tiny, "count")).rule == "fallback_sqrt2"


def test_auto_distance_never_exceeds_the_metre_cap():
    # Smooth, large-scale structure peaks late; the cap keeps the band at neighbourhood scale.
    rng = np.random.default_rng(3)
    g = Grid.from_bounds((0, 0, 29999, 29999), 500)
    v = ndimage.gaussian_filter(rng.poisson(1.0, g.shape).astype(float), 4.0)
    uncapped = auto_distance(GridValues(v, g, "count"), max_distance_m=1e9, max_cells=15)
    capped = auto_distance(GridValues(v, g, "count"), max_distance_m=1500, max_cells=15)
    assert uncapped.distance > 1500
    assert capped.table["distance_m"].max() <= 1500
    assert capped.distance <= 1500
    with pytest.raises(ParameterError):
        auto_distance(GridValues(v, g, "count"), max_distance_m=0)


def test_auto_distance_is_at_most_three_cells_by_default():
    # the same late-peaking surface: by default the band stays within 3 cells (MAX_AUTO_BAND_CELLS),
    # a peak within them or sfhotspot's 8 surrounding cells
    from hotspots.neighbours import MAX_AUTO_BAND_CELLS

    rng = np.random.default_rng(3)
    g = Grid.from_bounds((0, 0, 29999, 29999), 500)
    v = ndimage.gaussian_filter(rng.poisson(1.0, g.shape).astype(float), 4.0)
    wide = auto_distance(GridValues(v, g, "count"), max_cells=15, max_distance_m=1e9)
    assert wide.distance > 3 * 500
    choice = auto_distance(GridValues(v, g, "count"))
    assert choice.distance <= 3 * 500
    assert choice.table["distance_cells"].max() == pytest.approx(MAX_AUTO_BAND_CELLS)
    # compact blobs two cells across still find their peak inside the cap
    v2 = ndimage.gaussian_filter(rng.poisson(1.0, g.shape).astype(float), 1.0)
    near = auto_distance(GridValues(v2, g, "count"))
    assert near.rule == "moran_peak" and near.distance <= 3 * 500
