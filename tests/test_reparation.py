"""hotspots.reparation: the local-reparation rule (completed reparations; same town limited by distance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hotspots.reparation import DISTANCE_STEP_M, SAME_TOWN_MAX_M, local_rule_text, reparation_flags, rounded_distance


def test_local_counts_completed_reparations_only_and_same_town_within_the_cap():
    # 0: completed, 1.5 km, other town -> local (near); 1: refused, 0.5 km -> not counted at all;
    # 2: completed, same town, 4 km -> local; 3: completed, same town, 10 km -> not local (a far edge of the town);
    # 4: in progress, same town, 1 km -> not counted; 5: not linked -> not counted
    known = np.array([True, True, True, True, True, False])
    dist = np.array([1500.0, 500.0, 4000.0, 10_000.0, 1000.0, np.nan])
    harm = np.array(["A", "A", "B", "B", "C", "C"], dtype=object)
    task = np.array(["Z", "A", "B", "B", "C", None], dtype=object)
    outcome = pd.Series(["completed", "refused", "completed", "completed", "in progress", "completed"])
    f = reparation_flags(known, dist, harm, task, outcome, 2000)
    assert f.done.tolist() == [True, False, True, True, False, False]
    assert f.local.tolist() == [True, False, True, False, False, False]
    assert f.within.tolist() == [True, False, False, False, False, False]
    assert f.same.tolist() == [False, False, True, False, False, False] and f.completed_base
    assert SAME_TOWN_MAX_M == 5000.0


def test_without_any_outcome_the_base_is_every_referral_booked_at_a_site_and_the_rule_says_so():
    known = np.array([True, True])
    f = reparation_flags(known, np.array([100.0, 9000.0]), np.array(["A", "A"], dtype=object),
                         np.array(["A", "A"], dtype=object), pd.Series([None, None], dtype=object), 2000)
    assert f.done.tolist() == [True, True] and f.local.tolist() == [True, False] and not f.completed_base
    assert local_rule_text(2000, completed=False).startswith("of reparations booked at a task site (no outcome recorded)")
    assert local_rule_text(2000) == ("of completed reparations: task site within 2,000 m of the harm, or in the same town "
                                     "and within 5,000 m")


def test_published_distances_are_rounded_to_the_step():
    assert DISTANCE_STEP_M == 250.0
    assert [rounded_distance(v) for v in (1830.0, 1874.0, 1876.0)] == [1750.0, 1750.0, 2000.0]
    assert np.isnan(rounded_distance(float("nan")))
