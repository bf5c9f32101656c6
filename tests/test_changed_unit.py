"""Tests of hotspots.changed_unit: one place that changed far beyond the others' scatter."""

from __future__ import annotations

import numpy as np

from hotspots.dispersion import estimate_tau2


def test_one_area_that_really_changed_is_found_and_left_out_of_tau2():
    from hotspots.changed_unit import single_changed_unit

    # Hertfordshire 2025, Jan-Jun vs Jul-Dec: one area 99 -> 234 beside eleven within a few percent
    b = np.array([616, 468, 292, 318, 225, 198, 99, 120, 21, 15, 7, 8])
    a = np.array([582, 489, 302, 270, 257, 153, 234, 133, 18, 16, 19, 14])
    phi = np.array([2.73, 2.39, 1.86, 1.85, 1.70, 1.51, 1.48, 1.37, 1.06, 1.04, 1.04, 1.03])
    hit = single_changed_unit(b, a, 181.0, 184.0, phi)
    assert hit is not None and hit.index == 6 and hit.z > 5 and hit.p_value < 0.005
    with_it, _ = estimate_tau2(b, a, 181.0, 184.0, phi, variance="expected")
    keep = np.arange(b.size) != 6
    without, _ = estimate_tau2(b[keep], a[keep], 181.0, 184.0, phi[keep], variance="expected")
    assert with_it > 0.05 and without < 0.005  # the one place was all of the "variation"
    # the same area moved back in line with the others: nothing is left out
    a2 = a.copy()
    a2[6] = 104
    assert single_changed_unit(b, a2, 181.0, 184.0, phi) is None


def test_a_changed_unit_is_rarely_found_among_places_that_vary_normally():
    from hotspots.changed_unit import SINGLE_CHANGE_ALPHA, single_changed_unit

    # places varying normally between periods (tau2 0.03), overdispersed counts, no change: a unit is
    # left out of tau2 in about SINGLE_CHANGE_ALPHA of data sets (0.5 %; 300 draws: at most 2 %)
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(300):
        k = 30
        mean = np.exp(rng.normal(np.log(80), 1.0, k)) + 10
        phi = rng.uniform(1.0, 2.5, k)
        d = rng.normal(0.0, np.sqrt(0.03), k)

        def draw(mu, phi=phi):
            return rng.poisson(mu * rng.gamma(mu / (phi - 1 + 1e-9), (phi - 1 + 1e-9) / mu))

        hits += single_changed_unit(draw(mean), draw(mean * np.exp(d)), 1.0, 1.0, phi) is not None
    assert SINGLE_CHANGE_ALPHA == 0.005 and hits <= 6
