"""The study area when no boundary is given: the footprint of the incidents themselves.

police.uk files carry a few incidents geocoded far from the force (Leicestershire's 2025 ASB:
two in London, one in County Durham), and the force outline is rarely at hand. The bounding box
of all points then makes a huge, mostly empty grid. :func:`data_footprint` derives a study area
from where the incidents are, robust to such strays, and says what it left out.

The rule (a morphological *closing* of the points, i.e. a generalised concave hull)
--------------------------------------------------------------------------------------
1. Every incident is widened to a disc of radius ``gap_m / 2`` (5 km by default); overlapping
   discs merge. Each merged piece is a *group*: incidents linked by chains of gaps of at most
   ``gap_m`` (for speed, incidents are first counted on squares of ``gap_m / 10`` and the discs
   drawn around the squares on the edge of occupied ground).
2. Groups holding fewer than ``min_share`` of the incidents (1 %) or fewer than ``min_count``
   (5) are *outlying* and left out, unless they would hold more than :data:`MAX_LEFT_OUT` (5 %)
   of the incidents together: then the larger of them are kept, so the largest group always is
   (a force spread along the railways is not a handful of strays). Strays geocoded in another force's area are such groups.
3. The kept groups, their holes filled, are shrunk back by about ``gap_m / 2 - margin_m``: what is left
   is the area within reach of the incidents with a ``margin_m`` (1 km) margin around each kept
   incident, without the bays and holes that only a lack of incidents made. Holes are filled
   again (a town's park is still in the study area).

Every kept incident lies at least ``margin_m`` inside the area (the shrinking is reduced by what
the squares, the polygonal discs and a final simplification of :data:`SIMPLIFY_M` could take),
so with cells of up to 500 m each kept incident's cell centre lies inside and it is counted. Incidents left
out are counted in :attr:`Footprint.n_outside` and announced, never dropped silently.

The margin is there for counting, not for comparing: once the grid is built, the analysis
(:func:`grid_within_reach`, called by :func:`hotspots.pipeline.hotspot_stage` and the stability
sweep) leaves out the margin's cells that no incident reaches, by the same closing done on the
grid's own cells (:func:`cells_within_reach`). Left in, that empty ground lowered the study area's
mean: random incidents over a square then looked hot inside and cold along the rim, and the
analysis found hotspot areas on every such map.

On Derbyshire's 2025 ASB (15,987 incidents) the footprint covers 2,700 km² against the
force's 2,630 km², overlapping it with an intersection-over-union of 0.84, and holds every
incident but one stray.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from ._errors import CRSError, ParameterError
from .grid import points_xy
from .style import share_text

__all__ = [
    "Footprint",
    "data_footprint",
    "footprint_gap",
    "cells_within_reach",
    "grid_within_reach",
    "point_squares",
    "square_groups",
    "SquareGroups",
    "FOOTPRINT_SOURCE",
    "GAP_M",
    "MARGIN_M",
    "MIN_SHARE",
    "MIN_COUNT",
    "MAX_LEFT_OUT",
]

#: Largest gap between incidents of one group, metres.
GAP_M = 10_000.0
#: Margin kept around every incident of the kept groups, metres.
MARGIN_M = 1_000.0
#: Smallest share of all incidents a group needs to be kept (0-1).
MIN_SHARE = 0.01
#: Largest share of all incidents the outlying groups may hold together (0-1); beyond it the
#: larger of them are kept too.
MAX_LEFT_OUT = 0.05
#: Smallest number of incidents a group needs to be kept.
MIN_COUNT = 5
#: An outlying group is named after the GeoNames place it lies most within (:func:`hotspots.places.town_of`) when
#: that place's centre is within this many metres of the group's (:attr:`Footprint.left_out_near`); at most
#: :data:`OUTLYING_NAMED` groups, the largest, are named.
OUTLYING_NEAR_M = 10_000.0
OUTLYING_NAMED = 3
#: Incidents are counted on squares of this share of ``gap_m`` (1 km by default) before the discs
#: are drawn (speed); the shrinking step is reduced to make up for it, so the margin holds.
SNAP_SHARE = 0.1
#: ``attrs["source"]`` of a footprint's GeoDataFrame (:meth:`Footprint.to_geodataframe`).
FOOTPRINT_SOURCE = "footprint of the incidents"
#: Tolerance of the final simplification, metres.
SIMPLIFY_M = 100.0
_QUAD_SEGS = 4


@dataclass(frozen=True, eq=False)
class Footprint:
    """A study area derived from the incidents, and what it left out.

    Attributes
    ----------
    geometry : shapely Polygon or MultiPolygon
        The study area, in ``crs`` (metres).
    crs : pyproj.CRS
    inside : ndarray of bool, shape (n,)
        For each input point, whether it lies in the study area.
    groups_kept, groups_left_out : int
        Groups of incidents (chains with gaps of at most ``gap_m``) kept and left out.
    pieces_left_out : int
        Pieces of kept groups holding fewer than ``min_count`` incidents, cut off when the groups
        were shrunk back and left out like outlying groups (:func:`_drop_small_pieces`).
    left_out_near : tuple of (int, str)
        (incidents, place) of the largest outlying groups with a place near them (:data:`OUTLYING_NEAR_M`):
        Devon and Cornwall's 7 incidents on the Isles of Scilly were left out unnamed.
    gap_m, margin_m, min_share : float
    min_count : int
        The rule's parameters.
    """

    geometry: BaseGeometry
    crs: pyproj.CRS
    inside: np.ndarray = field(repr=False)
    groups_kept: int
    groups_left_out: int
    pieces_left_out: int = 0
    gap_m: float = GAP_M
    margin_m: float = MARGIN_M
    min_share: float = MIN_SHARE
    min_count: int = MIN_COUNT
    network: str = ""
    left_out_near: tuple[tuple[int, str], ...] = ()

    @property
    def n_incidents(self) -> int:
        return int(len(self.inside))

    @property
    def n_inside(self) -> int:
        return int(self.inside.sum())

    @property
    def n_outside(self) -> int:
        """Incidents outside the study area (left out of the cell statistics)."""
        return self.n_incidents - self.n_inside

    @property
    def share_inside(self) -> float:
        """Share of the incidents inside the study area (0-1)."""
        return self.n_inside / self.n_incidents if self.n_incidents else 0.0

    @property
    def area_km2(self) -> float:
        return float(self.geometry.area) / 1e6

    def to_geodataframe(self, name: str = FOOTPRINT_SOURCE) -> gpd.GeoDataFrame:
        """One row (``name``, ``geometry``) in :attr:`crs`, with ``attrs["source"]`` set to
        :data:`FOOTPRINT_SOURCE`, ``attrs["footprint_gap_m"]`` to :attr:`gap_m` (read by
        :func:`footprint_gap`) and ``attrs["left_out_near"]`` to the places of :attr:`left_out_near`."""
        gdf = gpd.GeoDataFrame({"name": [name]}, geometry=[self.geometry], crs=self.crs)
        gdf.attrs["source"] = FOOTPRINT_SOURCE
        gdf.attrs["footprint_gap_m"] = float(self.gap_m)
        gdf.attrs["left_out_near"] = [place for _, place in self.left_out_near]  # named in the analysis's caption
        return gdf

    def describe(self) -> str:
        """The announcement: what the study area is and what it left out (for a :attr:`network` force,
        why nothing was: no boundary file is advised, as none exists)."""
        if self.network:
            return (
                f"study area: the footprint of the incidents ({self.area_km2:,.0f} km²: within {self.gap_m / 2000:g} km of "
                f"incidents, with a {self.margin_m / 1000:g} km margin), holding {self.n_inside:,} of {self.n_incidents:,} "
                f"incidents ({share_text(self.share_inside)}); {self.network} polices a network (railways and stations), not an "
                "area, so no outlying group of incidents is a stray: every group is kept, however small or far from the "
                "rest (a boundary file can still choose a part of the network to study)"
            )
        text = (
            f"study area: the footprint of the incidents ({self.area_km2:,.0f} km²: within "
            f"{self.gap_m / 2000:g} km of other incidents, generalised, with a {self.margin_m / 1000:g} km margin), "
            f"holding {self.n_inside:,} of {self.n_incidents:,} incidents ({share_text(self.share_inside)})"
        )
        if self.n_outside:
            where = []
            if self.groups_left_out:
                near = "; ".join(f"{n:,} near {place}" for n, place in self.left_out_near)
                where.append(f"{self.groups_left_out:,} outlying group(s) more than {self.gap_m / 1000:g} km from the rest"
                             + (f" ({near})" if near else ""))
            if self.pieces_left_out:
                where.append(
                    f"{self.pieces_left_out:,} stray piece(s) of under {self.min_count} incidents linked to the rest only "
                    f"across gaps of nearly {self.gap_m / 1000:g} km"
                )
            text += (
                f"; left out {self.n_outside:,} incident(s) ({share_text(1 - self.share_inside)}) in "
                f"{' and '.join(where) or 'no group'} "
                "(counted, not in any cell)"
            )
        return text + "; give a boundary file to use the real force area"

    def record(self) -> dict[str, Any]:
        """Facts for the parameters sidecar."""
        return {
            "source": "footprint of the incidents (hotspots.footprint.data_footprint)",
            "area_km2": round(self.area_km2, 1),
            "incidents": self.n_incidents,
            "incidents_inside": self.n_inside,
            "incidents_outside": self.n_outside,
            "share_of_incidents_inside": round(self.share_inside, 4),
            "groups_kept": self.groups_kept,
            "groups_left_out": self.groups_left_out,
            "pieces_left_out": self.pieces_left_out,
            "gap_m": self.gap_m,
            "margin_m": self.margin_m,
            "min_share": self.min_share,
            "min_count": self.min_count,
            **({"network_force": self.network} if self.network else {}),
        }


def _drop_small_pieces(area: BaseGeometry, xy: np.ndarray, min_count: int, room: float) -> tuple[BaseGeometry, int]:
    """``area`` without its pieces holding fewer than ``min_count`` incidents, and how many went.

    A kept group can fall apart when it is shrunk back: an incident linked to the rest only across a
    gap of nearly ``gap_m`` keeps a disc of its own (Durham's 2025 ASB: two single incidents in
    Middlesbrough and Redcar, each an island of 12 km² in the study area). Such a piece is a stray like
    an outlying group. Pieces go smallest first while the incidents they hold fit in ``room`` (what
    :data:`MAX_LEFT_OUT` leaves after the outlying groups); the piece holding most incidents always stays.
    """
    pieces = shapely.get_parts(area)
    if len(pieces) < 2:
        return area, 0
    held = np.array([int(shapely.contains_xy(p, xy[:, 0], xy[:, 1]).sum()) for p in pieces])
    drop = np.zeros(len(pieces), dtype=bool)
    used = 0.0
    for i in np.argsort(held, kind="stable"):
        if held[i] >= min_count or used + held[i] > room or i == int(np.argmax(held)):
            break
        drop[i] = True
        used += held[i]
    if not drop.any():
        return area, 0
    return shapely.union_all(pieces[~drop]), int(drop.sum())


def _fill_holes(geom: BaseGeometry) -> BaseGeometry:
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3,))]
    if len(parts) == 0:
        return shapely.Polygon()
    return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts)))


def data_footprint(
    points: Any,
    *,
    crs: Any = None,
    gap_m: float = GAP_M,
    margin_m: float = MARGIN_M,
    min_share: float = MIN_SHARE,
    min_count: int = MIN_COUNT,
    network: str = "",
) -> Footprint:
    """The study area where the incidents are, leaving out outlying strays (see the module).

    Parameters
    ----------
    points : GeoDataFrame, GeoSeries or array of shape (n, 2)
        Incident points in a projected CRS (metres).
    crs : optional
        CRS of an array of points; a GeoDataFrame's own CRS is used (and must be projected).
    gap_m : float
        Largest gap between incidents of one group, metres (default 10 km).
    margin_m : float
        Margin around every kept incident, metres (default 1 km); must be less than ``gap_m / 2``.
    min_share : float
        Groups with less than this share of the incidents are left out (default 0.01).
    min_count : int
        Groups with fewer incidents are left out (default 5).
    network : str
        The name of a force whose ground is a network, not an area
        (:data:`hotspots.forces.NETWORK_FORCES`: British Transport Police), or ``""``. For such a
        force no group is outlying (``min_share`` and ``min_count`` are not applied: every incident
        is kept) and :meth:`Footprint.describe` says why.

    Returns
    -------
    Footprint

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> town = rng.normal([450_000, 300_000], 2_000, size=(500, 2))
    >>> fp = data_footprint(np.vstack([town, [[530_000, 180_000]]]), crs=27700)
    >>> fp.n_outside, fp.groups_left_out
    (1, 1)
    """
    for name, v in (("gap_m", gap_m), ("margin_m", margin_m)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ParameterError(f"`{name}` must be a positive number of metres; got {v!r}.")
    if not (isinstance(min_share, (int, float)) and 0 <= min_share < 1):
        raise ParameterError(f"`min_share` must be in [0, 1); got {min_share!r}.")
    if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
        raise ParameterError(f"`min_count` must be a whole number >= 1; got {min_count!r}.")
    src = getattr(points, "crs", None)
    if src is None and isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise CRSError("`points` have no CRS; set it (e.g. `.set_crs(27700)`).")
    out_crs = pyproj.CRS(src) if src is not None else (pyproj.CRS.from_user_input(crs) if crs is not None else None)
    if out_crs is None:
        raise CRSError("give `crs` for an array of points (e.g. `crs=27700`).")
    if out_crs.is_geographic:
        raise CRSError(f"`points` are in {out_crs.name} (degrees); convert them to metres first, e.g. `.to_crs(27700)`.")
    xy = points_xy(points, out_crs, name="points")
    if len(xy) == 0:
        raise ParameterError("`points` is empty: there is no footprint to derive. Load some incidents first.")
    if network:  # a network force's incidents far from the rest are its own stations, not strays
        min_share, min_count = 0.0, 1

    radius = gap_m / 2.0
    snap = gap_m * SNAP_SHARE
    chord = radius * (1.0 - np.cos(np.pi / (4 * _QUAD_SEGS)))
    # Shrink back by the radius less the margin, less what the snapping, the polygonal discs
    # (chord error of each arc, in the union and again in the shrinking) and the simplification
    # could take from the margin: every kept incident keeps at least ``margin_m``.
    shrink = radius - margin_m - snap * np.sqrt(0.5) - 2.0 * chord - SIMPLIFY_M
    if shrink <= 0:
        raise ParameterError(
            f"`margin_m` ({margin_m:g}) is too large for `gap_m` ({gap_m:g}): it must be less than "
            f"{radius - snap * np.sqrt(0.5) - 2.0 * chord - SIMPLIFY_M:,.0f} m."
        )
    squares, counts = point_squares(xy, gap_m)
    found = square_groups(squares, counts, gap_m=gap_m, min_share=min_share, min_count=min_count)
    groups, keep, owner, centres = found.groups, found.keep, found.owner, found.centres
    area = _fill_holes(shapely.union_all(groups[keep]))
    area = area.buffer(-shrink, quad_segs=_QUAD_SEGS)
    area = _fill_holes(area).simplify(SIMPLIFY_M)
    left_out = float(found.counts[found.outlying].sum())  # incidents in the outlying groups
    area, pieces_left_out = _drop_small_pieces(area, xy, min_count, MAX_LEFT_OUT * len(xy) - left_out)
    if area.is_empty:  # cannot happen with a positive shrink margin; never return nothing
        area = shapely.union_all(shapely.buffer(shapely.points(centres[keep[owner]]), margin_m + snap, quad_segs=_QUAD_SEGS))
    shapely.prepare(area)
    inside = shapely.contains_xy(area, xy[:, 0], xy[:, 1])
    return Footprint(
        geometry=area,
        crs=out_crs,
        inside=inside,
        groups_kept=int(keep.sum()),
        groups_left_out=int((~keep).sum()),
        pieces_left_out=pieces_left_out,
        gap_m=float(gap_m),
        margin_m=float(margin_m),
        min_share=float(min_share),
        min_count=int(min_count),
        network=str(network),
        left_out_near=outlying_places(found, out_crs),
    )


def outlying_places(found: SquareGroups, crs: Any) -> tuple[tuple[int, str], ...]:
    """(incidents, place) of the largest outlying groups of ``found`` (at most :data:`OUTLYING_NAMED`), each named
    after the GeoNames place (:func:`hotspots.gazetteer.places`) its incident-weighted centre lies most within
    (:func:`hotspots.places.town_of`) when that place is within :data:`OUTLYING_NEAR_M`; ``()`` without
    the gazetteer."""
    from ._errors import InputError
    from .gazetteer import places
    from .places import town_of

    out_groups = np.flatnonzero(~found.keep)
    if len(out_groups) == 0:
        return ()
    n = np.bincount(found.owner, weights=found.counts, minlength=len(found.keep))
    sx = np.bincount(found.owner, weights=found.counts * found.centres[:, 0], minlength=len(found.keep))
    sy = np.bincount(found.owner, weights=found.counts * found.centres[:, 1], minlength=len(found.keep))
    largest = out_groups[np.argsort(-n[out_groups], kind="stable")][:OUTLYING_NAMED]
    xy = np.column_stack([sx[largest] / n[largest], sy[largest] / n[largest]])
    try:
        towns = places(crs)
    except InputError:  # no gazetteer installed: the groups are counted, not named
        return ()
    names, tx, ty = town_of(xy, towns), towns.geometry.x.to_numpy(), towns.geometry.y.to_numpy()
    out = []
    for k, name in enumerate(names):
        same = (towns["name"] == name).to_numpy()  # (a name GeoNames gives several places: the nearest of them)
        if name is not None and np.hypot(tx[same] - xy[k, 0], ty[same] - xy[k, 1]).min() <= OUTLYING_NEAR_M:
            out.append((int(round(n[largest[k]])), str(name)))
    return tuple(out)


def point_squares(xy: np.ndarray, gap_m: float = GAP_M) -> tuple[np.ndarray, np.ndarray]:
    """The squares of side ``gap_m`` x :data:`SNAP_SHARE` (1 km by default) holding points, and
    how many each holds: what :func:`square_groups` groups.

    Returns
    -------
    squares : ndarray of int64, shape (k, 2)
        ``floor(x / side), floor(y / side)`` of each occupied square, sorted.
    counts : ndarray of int64, shape (k,)
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    ij = np.floor(xy / (gap_m * SNAP_SHARE)).astype(np.int64)
    squares, counts = np.unique(ij, axis=0, return_counts=True)
    return squares.reshape(-1, 2), counts.astype(np.int64)


@dataclass(frozen=True, eq=False)
class SquareGroups:
    """Occupied squares grouped by the footprint's rule (:func:`square_groups`).

    Attributes
    ----------
    centres : ndarray, shape (k, 2)
        Square centres, metres (row-major order of the squares' block).
    counts : ndarray, shape (k,)
        Points per square.
    owner : ndarray of int, shape (k,)
        The group of each square.
    groups : ndarray of shapely Polygons, or None
        The groups' merged discs (None when grouped without polygons).
    keep : ndarray of bool, one per group
        False for outlying groups.
    """

    centres: np.ndarray
    counts: np.ndarray
    owner: np.ndarray
    groups: np.ndarray | None
    keep: np.ndarray

    @property
    def outlying(self) -> np.ndarray:
        """For each square, whether its group is outlying (left out)."""
        return ~self.keep[self.owner]


def square_groups(
    squares: np.ndarray,
    counts: np.ndarray,
    *,
    gap_m: float = GAP_M,
    min_share: float = MIN_SHARE,
    min_count: int = MIN_COUNT,
    polygons: bool = True,
) -> SquareGroups:
    """Steps 1 and 2 of the footprint's rule (see the module) on points counted per square
    (:func:`point_squares`): the groups of squares linked by gaps of at most ``gap_m``, and which
    groups are outlying (fewer than ``min_share`` of the points or fewer than ``min_count``,
    together at most :data:`MAX_LEFT_OUT` of them). :func:`data_footprint` and the national run's
    strays (:mod:`hotspots.national_strays`) both use it: one rule.

    Parameters
    ----------
    squares : ndarray of int, shape (k, 2)
        Square indices ``floor(xy / (gap_m x SNAP_SHARE))``, each once.
    counts : ndarray, shape (k,)
        Points per square (> 0).
    polygons : bool
        True (default, :func:`data_footprint`, which needs the groups' outlines): each group's
        discs are merged as polygons. False (the national run's strays: only which squares are
        outlying): no outlines (``groups`` is None), much faster on scattered points. The groups
        are the same either way (:func:`_linked_squares`: squares whose centres lie at most
        ``gap_m`` apart, chained).
    """
    radius = gap_m / 2.0
    snap = gap_m * SNAP_SHARE
    squares = np.asarray(squares, dtype=np.int64).reshape(-1, 2)
    origin = squares.min(axis=0)
    ij = squares - origin
    shape = tuple(int(v) + 1 for v in ij.max(axis=0))
    dense = np.zeros(shape, dtype=np.float64)
    dense[ij[:, 0], ij[:, 1]] = np.asarray(counts, dtype=np.float64)
    # A disc of radius ``gap_m / 2`` around each occupied square's centre. A square whose 8
    # neighbours are all occupied adds nothing to the union of its neighbours' discs
    # (snap < 1.8 x radius), so only edge squares are drawn.
    occupied = dense > 0
    edge = occupied & ~ndimage.binary_erosion(occupied, structure=np.ones((3, 3), bool), border_value=0)
    cells = np.argwhere(occupied)
    centres = (cells + origin + 0.5) * snap
    weight = dense[occupied]
    owner, n_groups = _linked_squares(occupied, edge, gap_m / snap)
    if not polygons:
        keep = _kept_groups(np.bincount(owner, weights=weight, minlength=n_groups), float(weight.sum()), min_share, min_count)
        return SquareGroups(centres, weight, owner, None, keep)
    # each group's outline: the union of its edge squares' discs (the groups linked above; discs of two
    # groups never overlap, as the polygonal discs lie inside the circles the link distance measures)
    e = np.argwhere(edge)
    e_owner = owner[np.searchsorted(_flat(cells, shape), _flat(e, shape))]
    discs = shapely.buffer(shapely.points((e + origin + 0.5) * snap), radius, quad_segs=_QUAD_SEGS)
    groups = np.array([shapely.union_all(discs[e_owner == g]) for g in range(n_groups)], dtype=object)
    per_group = np.bincount(owner, weights=weight, minlength=len(groups))
    keep = _kept_groups(per_group, float(weight.sum()), min_share, min_count)
    return SquareGroups(centres, weight, owner, groups, keep)


def _flat(ij: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Row-major index of each ``(i, j)`` (ascending for :func:`numpy.argwhere`'s order)."""
    return np.asarray(ij[:, 0], dtype=np.int64) * int(shape[1]) + np.asarray(ij[:, 1], dtype=np.int64)


def _linked_squares(occupied: np.ndarray, edge: np.ndarray, link: float) -> tuple[np.ndarray, int]:
    """The group of each occupied square (in :func:`numpy.argwhere` order) and the number of groups: squares
    linked by chains of centres at most ``link`` squares apart (discs of radius ``link / 2`` that overlap).

    The one grouping of :func:`square_groups`, with and without polygons: touching squares (8 neighbours) are
    linked at once, then groups whose edge squares lie within ``link`` of each other are merged (the closest
    squares of two groups are edge squares). ``analyse``'s study area and the national run's strays once
    grouped differently (Gwent's 2025 ASB: 18 strays in 2 groups by polygons, 15 in 1 on a raster of discs).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    lab, n = ndimage.label(occupied, structure=np.ones((3, 3), bool))
    e = np.argwhere(edge)
    pairs = cKDTree(e).query_pairs(float(link), output_type="ndarray") if len(e) > 1 else np.empty((0, 2), dtype=np.int64)
    a = lab[e[pairs[:, 0], 0], e[pairs[:, 0], 1]] - 1
    b = lab[e[pairs[:, 1], 0], e[pairs[:, 1], 1]] - 1
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_groups, comp = connected_components(graph, directed=False)
    return comp[lab[occupied] - 1].astype(np.int64), int(n_groups)


def _kept_groups(per_group: np.ndarray, n: float, min_share: float, min_count: int) -> np.ndarray:
    """Which groups (points in each) are kept: step 2 of the rule."""
    keep = per_group >= max(min_share * n, float(min_count))
    # Strays are few: outlying groups may hold at most MAX_LEFT_OUT of the incidents together
    # (smallest first). A force whose incidents lie in many small groups (British Transport
    # Police along the railways) keeps the larger of them instead of losing a quarter.
    order = np.argsort(per_group, kind="stable")
    dropped = np.cumsum(np.where(keep[order], 0.0, per_group[order]))
    keep[order[(~keep[order]) & (dropped > MAX_LEFT_OUT * n)]] = True  # the largest group is always among them
    return keep


def footprint_gap(study_area: Any) -> float | None:
    """``gap_m`` of a study area made by :meth:`Footprint.to_geodataframe`; None for any other
    (a boundary the user gave, the built-in outline, no study area)."""
    attrs = getattr(study_area, "attrs", None) or {}
    if attrs.get("source") != FOOTPRINT_SOURCE or "footprint_gap_m" not in attrs:
        return None
    return float(attrs["footprint_gap_m"])


def cells_within_reach(occupied: np.ndarray, active: np.ndarray, cell_size: float, gap_m: float = GAP_M) -> np.ndarray:
    """The cells of a footprint's grid that lie within the incidents' reach, at the grid's resolution.

    The footprint polygon keeps a ``margin_m`` (1 km) margin around every incident so that each
    incident's cell centre lies inside it whatever the cell size. Those margin cells hold no
    incident by construction: left in, they lower the study area's mean, so that a map of
    incidents placed at random over a square looks hotter than the study area inside and cold
    along its rim (through ``prepare_inputs`` a 20 km square of 3,000 random incidents gave
    hotspot areas on every map). Here the same rule as the polygon's — a morphological closing
    with a disc of radius ``gap_m / 2`` — is applied to the cells holding an incident, without a
    margin: the result holds every cell with an incident (a closing never removes any), the ground
    between them up to ``gap_m`` apart and enclosed holes, and nothing beyond the outermost
    incidents' cells.

    Parameters
    ----------
    occupied : ndarray of bool, shape (rows, cols)
        Cells holding at least one incident.
    active : ndarray of bool, shape (rows, cols)
        The grid's mask (cells whose centre lies in the footprint polygon).
    cell_size : float
        Metres.
    gap_m : float
        The footprint's largest gap between incidents of one group, metres.

    Returns
    -------
    ndarray of bool, shape (rows, cols)
        ``active`` cells within reach; every occupied active cell is among them.

    Examples
    --------
    Incidents in a ring of 8 cells (100 m) with an empty cell in the middle, on a footprint whose
    margin adds two rings of empty cells around them: the middle cell stays, the margin goes.

    >>> occ = np.zeros((7, 7), bool); occ[2:5, 2:5] = True; occ[3, 3] = False
    >>> reach = cells_within_reach(occ, np.ones((7, 7), bool), 100.0, 1_000.0)
    >>> int(reach.sum()), bool(reach[3, 3]), bool(reach[1, 1])
    (9, True, False)
    """
    occupied = np.asarray(occupied, dtype=bool) & np.asarray(active, dtype=bool)
    if not occupied.any():
        return np.zeros(occupied.shape, dtype=bool)
    radius = gap_m / 2.0 / float(cell_size)  # in cells
    pad = int(np.ceil(radius)) + 1
    occ = np.pad(occupied, pad)
    # closing = dilation then erosion by the same disc, both by exact Euclidean distance transforms
    near = ndimage.distance_transform_edt(~occ) <= radius
    closed = ndimage.distance_transform_edt(near) > radius
    closed = ndimage.binary_fill_holes(closed)[pad:-pad, pad:-pad]
    return (closed | occupied) & np.asarray(active, dtype=bool)


def grid_within_reach(grid: Any, xy: np.ndarray, study_area: Any) -> Any:
    """``grid`` without its footprint margin's cells beyond the incidents' reach
    (:func:`cells_within_reach`, a note says how many) when ``study_area`` is the incidents'
    footprint (:func:`footprint_gap`); ``grid`` unchanged otherwise.

    Parameters
    ----------
    grid : Grid
        Masked to ``study_area``.
    xy : ndarray, shape (n, 2)
        The incidents the grid is for, in its CRS (metres).
    study_area : GeoDataFrame or None
    """
    gap = footprint_gap(study_area)
    if gap is None or grid.mask is None:
        return grid
    r, c, on = grid.cell_of(np.asarray(xy, dtype=float).reshape(-1, 2))
    occupied = np.zeros(grid.shape, dtype=bool)
    occupied[r[on].astype(np.int64), c[on].astype(np.int64)] = True
    active = grid.active
    reach = cells_within_reach(occupied, active, grid.cell_size, gap)
    dropped = int(active.sum() - reach.sum())
    if dropped == 0 or not reach.any():
        return grid
    note = (
        f"{dropped:,} cells of the footprint's margin lie beyond the incidents' reach and take no part "
        "(left in, that empty ground would lower the study area's mean and make the rest look hot)"
    )
    return dataclasses.replace(grid, mask=reach, notes=grid.notes + (note,))
