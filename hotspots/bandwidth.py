"""Automatic kernel density bandwidths: the rules of ArcGIS and sfhotspot, and kernel conversions.

Both rules give a **search radius** in metres: the distance at which the quartic kernel reaches 0
(ArcGIS Kernel Density and sfhotspot both use the value so). :func:`auto_bandwidth` turns it into
the bandwidth of the kernel in use:

* ``quartic``, ``epanechnikov``: the radius itself (the support radius of both kernels, as
  sfhotspot, which offers both, does);
* ``gaussian``: a **standard deviation**, ``radius / sqrt(8)`` (:func:`gaussian_sd_from_radius`):
  the quartic kernel of radius ``R`` has standard deviation ``R / sqrt(8)`` along each axis
  (``E[r²] = R² / 4`` over the plane, half of it per axis), so the Gaussian of that standard
  deviation spreads each incident as far as the quartic the rule was made for. Using the radius
  itself as the standard deviation (as hotspots did before) smooths about 2.8 times too widely
  (and 4 times by MASS's convention, where ``bandwidth.nrd`` is 4 standard deviations).

:data:`DEFAULT_BANDWIDTH_RULE` is the one default of the library, the command line and the app.
"""

from __future__ import annotations

import math

import numpy as np

from ._errors import ParameterError
from .validation import setting

__all__ = [
    "BANDWIDTH_RULES",
    "DEFAULT_BANDWIDTH_RULE",
    "bandwidth_sfhotspot",
    "bandwidth_arcgis",
    "gaussian_sd_from_radius",
    "auto_bandwidth",
    "study_area_parts",
    "MIN_PART_SHARE",
]

#: Automatic bandwidth rules accepted by :func:`hotspots.density.kde`.
BANDWIDTH_RULES = ("arcgis", "sfhotspot")
#: The automatic rule used when none is given, everywhere (library, command line, app): ArcGIS
#: Kernel Density's default search radius, which analysts compare our maps with.
DEFAULT_BANDWIDTH_RULE = "arcgis"
#: A study area's separate part counts as a part of its own for the automatic bandwidth
#: (:func:`study_area_parts`) when it holds at least this share of the points (smaller pieces,
#: e.g. a few incidents on an island, do not make a force's area "in parts").
MIN_PART_SHARE = 0.05


def study_area_parts(active: np.ndarray, rows: np.ndarray, cols: np.ndarray, on: np.ndarray) -> np.ndarray | None:
    """Which separate part of the study area each point lies in, when the area is in parts.

    The parts are the groups of study-area cells touching each other (edges or corners). The
    spread of the incidents across the gaps between distant parts (two towns 80 km apart) says
    nothing about how far an incident's influence reaches, so the automatic rules take the spread
    within each part (``groups`` of :func:`bandwidth_arcgis`, :func:`bandwidth_sfhotspot`).

    Parameters
    ----------
    active : ndarray of bool
        The grid's study-area cells.
    rows, cols : ndarray of int
        Each point's cell (:meth:`hotspots.grid.Grid.cell_of`).
    on : ndarray of bool
        Whether each point falls in a study-area cell.

    Returns
    -------
    ndarray of int or None
        A part label per point (0 for points in no cell), or None when fewer than two parts hold
        :data:`MIN_PART_SHARE` of the points each (the area is one piece for the rule).

    >>> a = np.zeros((1, 9), bool); a[0, :3] = a[0, 6:] = True
    >>> study_area_parts(a, np.zeros(4, int), np.array([0, 1, 7, 8]), np.ones(4, bool)).tolist()
    [1, 1, 2, 2]
    """
    from scipy import ndimage

    labels, n = ndimage.label(np.asarray(active, dtype=bool), structure=np.ones((3, 3), dtype=int))
    if n < 2 or len(rows) == 0:
        return None
    on = np.asarray(on, dtype=bool)
    out = np.zeros(len(rows), dtype=np.int64)
    out[on] = labels[np.asarray(rows)[on].astype(int), np.asarray(cols)[on].astype(int)]
    counts = np.bincount(out[out > 0], minlength=n + 1)
    if int((counts >= MIN_PART_SHARE * len(out)).sum()) < 2:
        return None
    return out


def _within_groups(xy: np.ndarray, groups: np.ndarray | None, weights: np.ndarray | None = None) -> np.ndarray:
    """Each point's offset from its own group's (weighted) mean centre: the spread within groups."""
    if groups is None:
        return xy
    g = np.unique(np.asarray(groups), return_inverse=True)[1]
    w = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float)
    tw = np.bincount(g, weights=w)
    cx = np.bincount(g, weights=w * xy[:, 0]) / np.where(tw > 0, tw, 1.0)
    cy = np.bincount(g, weights=w * xy[:, 1]) / np.where(tw > 0, tw, 1.0)
    return xy - np.column_stack([cx[g], cy[g]])

def bandwidth_sfhotspot(xy: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Bandwidth by sfhotspot's rule of thumb, averaged over x and y (metres).

    For each axis, ``MASS::bandwidth.nrd``: ``4 × 1.06 × min(sd, IQR / 1.34) × n^(-1/5)`` with the
    sample standard deviation (n − 1) and R's default (type 7, linear) quartiles; the result is
    the **mean of the x and y values**. sfhotspot's ``bandwidth_nrd_sf`` means to do this but calls
    ``mean(bw_x, bw_y)``, which in R returns ``bw_x`` (the second argument is ``trim``), so
    sfhotspot in effect uses the x axis only. Weights are ignored, as in sfhotspot. With ``groups``
    (a label per point: the separate parts of the study area, :func:`study_area_parts`) each point's
    coordinates are taken from its group's mean centre: the spread within the parts.

    Raises
    ------
    ParameterError
        Fewer than 2 points, or a rule value of 0 (e.g. more than half the points on one spot).
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2:
        raise ParameterError(
            f"the automatic bandwidth needs at least 2 points; got {n}. Give the bandwidth: {_give()}."
        )
    xy = _within_groups(xy, groups)
    vals = []
    for axis in (0, 1):
        x = xy[:, axis]
        q1, q3 = np.quantile(x, [0.25, 0.75])
        sd = float(np.std(x, ddof=1))
        vals.append(4.0 * 1.06 * min(sd, (q3 - q1) / 1.34) * n ** (-0.2))
    bw = float(np.mean(vals))
    if not (bw > 0):
        raise ParameterError(
            "the automatic bandwidth (sfhotspot's rule) came out as 0 m because most points share the "
            f"same x or y coordinates (the interquartile range is 0). Give the bandwidth: {_give()}."
        )
    return bw


def _weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    cw = np.cumsum(ws)
    half = cw[-1] / 2.0
    i = int(np.searchsorted(cw, half, side="left"))
    # Exactly half the weight at or below xs[i]: average with the next value, as np.median does.
    if i + 1 < len(xs) and np.isclose(cw[i], half, rtol=1e-12, atol=0.0):
        return float((xs[i] + xs[i + 1]) / 2.0)
    return float(xs[i])


def bandwidth_arcgis(xy: np.ndarray, weights: np.ndarray | None = None, groups: np.ndarray | None = None) -> float:
    """Bandwidth by ArcGIS Kernel Density's default search-radius rule (metres).

    ``0.9 × min(SD, sqrt(1 / ln 2) × Dm) × n^(-0.2)``, where SD is the (weighted) standard
    distance ``sqrt(Σw·((x − x̄)² + (y − ȳ)²) / Σw)`` about the (weighted) mean centre, Dm the
    (weighted) median of the distances to that centre, and n the number of points, or the sum of
    the weights when weights are given (ArcGIS's population field). With ``groups`` (a label per
    point: the separate parts of the study area, :func:`study_area_parts`) the centre is each
    point's own group's: SD and Dm measure the spread within the parts, not across the gaps between
    them (two towns 80 km apart gave 4,860 m, the spread of the pair, not of either town).

    >>> xy = np.array([[0.0, 0], [100, 0], [80_000, 0], [80_100, 0]])
    >>> round(bandwidth_arcgis(xy[:2]) / 2 ** -0.2, 6) == round(bandwidth_arcgis(xy, groups=[1, 1, 2, 2]) / 4 ** -0.2, 6)
    True

    Raises
    ------
    ParameterError
        Fewer than 2 points, zero total weight, or all points on one spot.
    """
    xy = np.asarray(xy, dtype=float)
    if len(xy) < 2:
        raise ParameterError(
            f"the automatic bandwidth needs at least 2 points; got {len(xy)}. Give the bandwidth: {_give()}."
        )
    if groups is not None:  # the offsets from each part's own centre, about a centre of 0
        xy = _within_groups(xy, groups, weights)
    if weights is None:
        # Unit weights: the same sums without multiplying by 1, and the weighted median is the
        # plain median (identical numbers, without sorting).
        tw = float(len(xy))
        centre = xy.sum(axis=0) / tw
        d2 = ((xy - centre) ** 2).sum(axis=1)
        sd = math.sqrt(float(d2.sum()) / tw)
        dm = float(np.median(np.sqrt(d2)))
    else:
        w = np.asarray(weights, dtype=float)
        tw = float(w.sum())
        if not tw > 0:
            raise ParameterError("the automatic bandwidth needs a positive total weight; all `weights` are 0.")
        centre = (w[:, None] * xy).sum(axis=0) / tw
        d2 = ((xy - centre) ** 2).sum(axis=1)
        sd = math.sqrt(float((w * d2).sum()) / tw)
        dm = _weighted_median(np.sqrt(d2), w)
    n = tw if weights is not None else float(len(xy))
    bw = 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * dm) * n ** (-0.2)
    if not (bw > 0):
        raise ParameterError(
            "the automatic bandwidth (ArcGIS's rule) came out as 0 m because most points share one "
            f"location. Give the bandwidth: {_give()}."
        )
    return bw


def gaussian_sd_from_radius(radius: float) -> float:
    """The Gaussian standard deviation (metres) that smooths as much as a quartic kernel of ``radius``.

    ``radius / sqrt(8)``: the quartic kernel ``3 / (π R²) · (1 − r²/R²)²`` has ``E[r²] = R² / 4``,
    so a standard deviation of ``R / sqrt(8)`` along each axis; a Gaussian with that standard
    deviation has the same second moments.
    """
    return float(radius) / math.sqrt(8.0)


def auto_bandwidth(
    xy: np.ndarray, weights: np.ndarray | None, *, rule: str, kernel: str, adjust: float = 1.0,
    groups: np.ndarray | None = None,
) -> tuple[float, str]:
    """The automatic bandwidth of ``kernel`` by ``rule`` (metres), and a sentence saying how it was chosen.

    Parameters
    ----------
    xy : (n, 2) array
        Points (metres).
    weights : array or None
        Used by the ArcGIS rule only (as its population field); sfhotspot's ignores weights.
    rule : {"arcgis", "sfhotspot"}
    kernel : {"quartic", "epanechnikov", "gaussian"}
        The rule's search radius is the support radius of the polynomial kernels and becomes a
        standard deviation by :func:`gaussian_sd_from_radius` for the Gaussian.
    adjust : float
        Multiplier of the result (as sfhotspot's ``bandwidth_adjust``).
    groups : array of int, optional
        The separate part of the study area each point lies in (:func:`study_area_parts`): the
        rule then takes the points' spread within the parts, and the sentence says so.
    """
    if rule not in BANDWIDTH_RULES:
        raise ParameterError(f"`bandwidth_rule` must be one of {', '.join(map(repr, BANDWIDTH_RULES))}; got {rule!r}.")
    if rule == "sfhotspot":
        radius = bandwidth_sfhotspot(xy, groups)
        how = "sfhotspot's rule (MASS::bandwidth.nrd, mean of the x and y values)"
    else:
        radius = bandwidth_arcgis(xy, weights, groups)
        how = "ArcGIS Kernel Density's default search-radius rule"
    if groups is not None:
        k = len(np.unique(np.asarray(groups)[np.asarray(groups) > 0]))
        how += f" on the incidents' spread within each of the study area's {k} separate parts (not across the gaps between them)"
    radius *= adjust
    adj = f" × bandwidth_adjust {adjust:g}" if adjust != 1.0 else ""
    if kernel == "gaussian":
        h = gaussian_sd_from_radius(radius)
        return h, (f"bandwidth set to {h:,.0f} m (Gaussian standard deviation) automatically: the search radius "
                   f"{radius:,.0f} m by {how}{adj}, divided by √8 so the Gaussian spreads as far as that quartic kernel.")
    return radius, f"bandwidth set to {radius:,.0f} m automatically by {how}{adj}."


def _give() -> str:
    """The setting that gives the bandwidth, as the caller writes it (``--bandwidth 500`` on the
    command line, ``bandwidth=500`` in Python), in metres."""
    return f"{setting('bandwidth', 500)} (metres; 500 is an example)"
