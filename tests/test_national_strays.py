"""Tests for hotspots/national_strays.py: each force's stray points, by the footprint's rule."""

from __future__ import annotations

import numpy as np

from hotspots.footprint import data_footprint
from hotspots.national_strays import STRAY_REASON, find_strays, square_keys


def town(centre, n, seed):
    return np.random.default_rng(seed).normal(centre, 2_000, size=(n, 2))


def test_a_point_far_from_its_force_is_a_stray_even_beside_another_force():
    durham = np.vstack([town((420_000, 540_000), 400, 0), [[568_291.0, 130_515.0], [450_500.0, 300_200.0]]])
    other = town((450_000, 300_000), 300, 1)  # another force's town around Durham's second stray
    x = np.concatenate([durham[:, 0], other[:, 0]])
    y = np.concatenate([durham[:, 1], other[:, 1]])
    forces = np.array(["durham"] * len(durham) + ["derbyshire"] * len(other), dtype=object)
    found = find_strays([(x[:300], y[:300], forces[:300]), (x[300:], y[300:], forces[300:])])  # two chunks
    assert found.points == {"durham": 2} and found.total == 2
    gone = found.mask(x, y, forces)
    assert list(np.flatnonzero(gone)) == [400, 401]
    assert "Durham Constabulary 2" in found.note() and "`--keep-strays`" in found.note()
    rec = found.record()
    assert rec["points_left_out"] == 2 and rec["by_force"] == {"durham": 2}
    # without forces the second stray sits in the other force's town: one group, not a stray
    together = find_strays([(x, y, None)])
    assert together.total == 1 and list(np.flatnonzero(together.mask(x, y, None))) == [400]


def test_the_same_rule_as_the_footprint_of_analyse():
    rng = np.random.default_rng(5)
    pts = np.vstack([town((430_000, 350_000), 600, 2), town((445_000, 352_000), 200, 3),  # 15 km apart: two kept groups
                     rng.uniform((300_000, 200_000), (320_000, 210_000), (3, 2)),  # a small far group: strays
                     [[500_000.0, 500_000.0]]])
    fp = data_footprint(pts, crs=27700)
    found = find_strays([(pts[:, 0], pts[:, 1], None)])
    assert found.total == fp.n_outside == 4
    assert np.array_equal(found.mask(pts[:, 0], pts[:, 1], None), ~fp.inside)


def test_no_strays_and_the_square_keys():
    pts = town((400_000, 300_000), 200, 4)
    found = find_strays([(pts[:, 0], pts[:, 1], np.array(["kent"] * 200))])
    assert found.total == 0 and found.note() is None and not found.mask(pts[:, 0], pts[:, 1], None).any()
    k = square_keys(np.array([999.9, 1000.0, -0.1]), np.array([0.0, 0.0, 0.0]))
    assert k[0] != k[1] and k[2] != k[0]  # squares of 1 km, floor rule
    assert STRAY_REASON.startswith("stray")
