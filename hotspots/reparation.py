"""Local reparation: the one rule for whether a referral's reparation happened near the harm.

Reparation is local when the task site lies within ``near_m`` metres (straight line, EPSG:27700)
of where the harm happened, or in the same town **and** within :data:`SAME_TOWN_MAX_M` metres
(a large town's far edge is not the community harmed). It is measured over referrals whose
reparation was **completed** at a linked task site (a site booked but never worked at repaired
nothing); when the referrals record no outcome at all, over those booked at a site, and the rule
says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DISTANCE_STEP_M", "SAME_TOWN_MAX_M", "ReparationFlags", "local_rule_text", "reparation_flags", "rounded_distance"]

#: The farthest a task site in the harm's town may lie and still count as local, metres.
SAME_TOWN_MAX_M = 5000.0
#: Published harm-to-task distances (medians) are rounded to this many metres (the default referral square's side):
#: one referral more or less then moves a median by a step or not at all, not by its own distance.
DISTANCE_STEP_M = 250.0


def rounded_distance(metres: float) -> float:
    """A distance as published: to the nearest :data:`DISTANCE_STEP_M` metres (NaN stays NaN).

    Examples
    --------
    >>> rounded_distance(1_830.0), rounded_distance(120.0)
    (1750.0, 0.0)
    """
    return float(np.round(float(metres) / DISTANCE_STEP_M) * DISTANCE_STEP_M)


def local_rule_text(near_m: float, *, completed: bool = True) -> str:
    """The local-reparation rule in words, for every caption, summary line and table note.

    Examples
    --------
    >>> local_rule_text(2000)
    'of completed reparations: task site within 2,000 m of the harm, or in the same town and within 5,000 m'
    """
    base = "completed reparations" if completed else "reparations booked at a task site (no outcome recorded)"
    return (f"of {base}: task site within {float(near_m):,.0f} m of the harm, or in the same town and within "
            f"{SAME_TOWN_MAX_M:,.0f} m")


@dataclass(frozen=True)
class ReparationFlags:
    """Per-referral masks of :func:`reparation_flags` (all False where not ``done``)."""

    done: np.ndarray
    within: np.ndarray
    same: np.ndarray
    local: np.ndarray
    completed_base: bool


def reparation_flags(known: np.ndarray, dist_m: np.ndarray, harm_town: np.ndarray, task_town: np.ndarray,
                     outcome: pd.Series | None, near_m: float) -> ReparationFlags:
    """Which referrals count in the local-reparation measures (``done``) and which of those are local.

    Parameters
    ----------
    known : bool array
        Linked to a task site and located (a distance exists).
    dist_m : float array
        Harm-to-site distance, metres.
    harm_town, task_town : object arrays
        Town names (None where unknown).
    outcome : Series or None
        Canonical outcomes (``"completed"``, ...); None or all missing: no outcome recorded, so the
        base is every referral booked at a site (:attr:`ReparationFlags.completed_base` False).
    near_m : float
        Distance within which a site is local whatever the town, metres.
    """
    known = np.asarray(known, dtype=bool)
    recorded = outcome is not None and bool(pd.Series(outcome).notna().any())
    done = known & (pd.Series(outcome).astype(object).eq("completed").to_numpy(dtype=bool) if recorded else True)
    dist = np.asarray(dist_m, dtype=float)
    with np.errstate(invalid="ignore"):
        within = done & (dist <= float(near_m))
        same_town = np.array([a is not None and a == b for a, b in zip(harm_town, task_town)], dtype=bool)
        same = done & same_town & (dist <= SAME_TOWN_MAX_M)
    return ReparationFlags(done, within, same, within | same, recorded)
