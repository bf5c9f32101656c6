"""Stray points of a national run: incidents far from all the other incidents of their force.

police.uk files carry a few incidents geocoded far from their force (a Durham ASB row of June 2025
"On or near Vineyard Lane" at E 568291 N 130515, in the south of England). On a national run over
``--extent data`` one such point stretched the grid of Cleveland and Durham to 2,099 x 824 cells
(4 % of them in the study area) and three quarters of the overview was empty ground; on the
England-and-Wales grid it added a lone patch to the study area and stretched the overview's view.

The rule is the one ``analyse``'s study area uses for outlying groups
(:func:`hotspots.footprint.square_groups`, steps 1 and 2 of :mod:`hotspots.footprint`): each
force's points are counted on squares of 1 km, grouped by chains of gaps of at most 10 km
(``polygons=False``: the footprint's groups, without drawing their outlines), and the groups holding fewer than 1 % or
fewer than 5 of the force's points (together at most 5 % of them) are strays. Measured: 4 x 10^6
scattered points of 4 forces, 4 s to find (on 2 shared cores), 1.9 s to mask a chunk. Points
without a force (a Parquet file without a ``force`` column) form one
group. :func:`find_strays` reads the points once (x, y and force: one more pass over the file);
:func:`hotspots.national_inputs.iter_points` then leaves the strays out as it streams, counted
under :data:`STRAY_REASON`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .footprint import GAP_M, MIN_COUNT, MIN_SHARE, SNAP_SHARE, square_groups

__all__ = ["Strays", "find_strays", "square_keys", "STRAY_REASON"]

#: The reason strays are counted under among the rows dropped.
STRAY_REASON = "stray: more than 10 km from its force's other incidents"

_OFF = 2**30


def square_keys(x: np.ndarray, y: np.ndarray, gap_m: float = GAP_M) -> np.ndarray:
    """One int64 key per point: the 1 km square (:func:`hotspots.footprint.point_squares`'s) it lies in."""
    side = gap_m * SNAP_SHARE
    sx = np.floor(np.asarray(x, dtype=np.float64) / side).astype(np.int64) + _OFF
    sy = np.floor(np.asarray(y, dtype=np.float64) / side).astype(np.int64) + _OFF
    return (sx << 31) | sy


def _squares(keys: np.ndarray) -> np.ndarray:
    return np.column_stack([(keys >> 31) - _OFF, (keys & (2**31 - 1)) - _OFF])


@dataclass(frozen=True)
class Strays:
    """The strays :func:`find_strays` found.

    Attributes
    ----------
    squares : dict of str to ndarray of int64
        Per force (``""``: points without a force), the sorted keys (:func:`square_keys`) of the
        squares whose points are strays.
    points : dict of str to int
        Stray points per force.
    gap_m : float
        The rule's largest gap within a group, metres.
    """

    squares: dict[str, np.ndarray] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)
    gap_m: float = GAP_M

    @property
    def total(self) -> int:
        return int(sum(self.points.values()))

    def mask(self, x: np.ndarray, y: np.ndarray, forces: Any) -> np.ndarray:
        """For each point (x, y metres; ``forces`` its force: an array or Categorical, or None for all
        without one), whether it is a stray."""
        out = np.zeros(len(x), dtype=bool)
        for force, keys in self.squares.items():
            if forces is None:
                rows = np.arange(len(x)) if force == "" else np.zeros(0, dtype=np.int64)
            else:
                rows = np.flatnonzero(np.asarray(forces == force))
            if len(rows):
                out[rows] = np.isin(square_keys(x[rows], y[rows], self.gap_m), keys)
        return out

    def note(self) -> str | None:
        """The announcement (None when there are none)."""
        if not self.total:
            return None
        from .forces import FORCES

        by = ", ".join(f"{FORCES.get(force, force) or 'points without a force'} {n:,}"
                       for force, n in sorted(self.points.items()) if n)
        return (
            f"{self.total:,} stray point(s) left out ({by}): more than {self.gap_m / 1000:g} km from the rest of their "
            f"force's incidents, in groups of fewer than {MIN_COUNT} or {MIN_SHARE:.0%} of them (the groups of analyse's "
            "study area, which may leave out a few more: pieces of under 5 incidents its outline cuts off across gaps of "
            "nearly that distance); they are left out of the extent, the counts, the density and Gi* (`--keep-strays` "
            "keeps them)"
        )

    def record(self) -> dict[str, Any]:
        """Facts for ``parameters.json``."""
        return {"points_left_out": self.total, "by_force": {k: v for k, v in sorted(self.points.items()) if v},
                "rule": "hotspots.footprint.square_groups per force: groups of 1 km squares linked by gaps of at most "
                        f"{self.gap_m:g} m holding fewer than {MIN_COUNT} or {MIN_SHARE:.0%} of the force's points",
                "gap_m": self.gap_m}


def find_strays(chunks: Iterable[tuple[np.ndarray, np.ndarray, Any]], *, gap_m: float = GAP_M) -> Strays:
    """Each force's stray points (see the module), from chunks of ``(x, y, forces)``.

    Parameters
    ----------
    chunks : iterable of (x, y, forces)
        British National Grid metres; ``forces`` an array of force names per point, or None
        (the chunk's points have no force: one group).
    gap_m : float
        The footprint rule's gap, metres (10 km).

    Returns
    -------
    Strays

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> town = rng.normal([450_000, 530_000], 2_000, size=(500, 2))
    >>> xy = np.vstack([town, [[568_291, 130_515]]])
    >>> found = find_strays([(xy[:, 0], xy[:, 1], np.array(["durham"] * 501))])
    >>> found.points, int(found.mask(xy[:, 0], xy[:, 1], np.array(["durham"] * 501)).sum())
    ({'durham': 1}, 1)
    """
    acc: dict[str, list[np.ndarray]] = {}
    for x, y, forces in chunks:
        if not len(x):
            continue
        keys = square_keys(x, y, gap_m)
        if forces is None:
            acc.setdefault("", []).append(keys)
            continue
        import pandas as pd

        if isinstance(forces, pd.Categorical):  # iter_points' forces: codes, no string per point
            codes, names = np.asarray(forces.codes), list(forces.categories)
        else:
            codes, names = pd.factorize(np.asarray(forces, dtype=object))
        for k, force in enumerate(names):
            acc.setdefault(str(force), []).append(keys[codes == k])
    squares: dict[str, np.ndarray] = {}
    points: dict[str, int] = {}
    for force, parts in acc.items():
        uniq, counts = np.unique(np.concatenate(parts), return_counts=True)
        found = square_groups(_squares(uniq), counts, gap_m=gap_m, polygons=False)
        if not found.outlying.any():
            continue
        # square_groups keeps the squares in (sx, sy) order (row-major over their block): the sorted keys' order
        stray = uniq[found.outlying]
        squares[force] = np.sort(stray)
        points[force] = int(counts[found.outlying].sum())
    return Strays(squares, points, float(gap_m))
