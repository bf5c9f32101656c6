"""Hotspot areas: significant Gi* cells merged by adjacency into numbered polygons.

Adjacent significant hot cells (sharing an edge, or also a corner with ``connectivity=8``) form
one *area*. Areas are numbered in a stable order for the same input:

* hot areas: most incidents first, then most cells, then the north-west-most cell (smallest row,
  then smallest column) first;
* cold areas: most cells first, then fewest incidents, then the north-west-most cell.

``area_id`` runs 1, 2, 3, ... in that order; ``rank`` is the position by incidents (hot) or cells
(cold) with ties sharing the better rank.

Separate peaks
--------------
Gi* marks every cell whose *neighbourhood* is busy, so a strong hotspot is ringed by hot cells
that hold few incidents of their own, and two hotspots up to about twice the distance band
apart join into one area through their rings (on simulated maps with 20 hotspots in 20 km,
23 % of the areas held two or more; 5 % after the division). One area then mixes places that change independently: a
fall at one is diluted by the other, and a patrol plan gets one large polygon. By default
(``split_peaks=True``) a hot area whose own counts hold two or more *separate peaks* is divided
between them, the way a watershed divides a landscape:

* counts are put on a variance-stabilised scale, ``f = 2 sqrt(count)`` (Anscombe: Poisson noise
  has standard deviation about 1 on it at any level);
* a peak is a group of cells that rises more than :data:`PEAK_PROMINENCE` (6, i.e. ``sqrt`` of
  the count 3 higher) above the highest pass (saddle) leading from it to a higher peak inside
  the area (the *extended maxima* of ``f``: regional maxima of its h-dome reconstruction,
  ``skimage.morphology.reconstruction``). For two cells with the same rate, that difference
  has a standard deviation of about 1.4, so a peak of 10 incidents beside an empty cell, or 66
  beside 25, counts (9 and 64 do not: the rise must exceed 6); chance ups and downs of a busy
  plateau do not;
* each cell of the area goes to the peak it drains to (``skimage.segmentation.watershed`` of
  ``-f`` from the peaks, within the area);
* no piece may be smaller than one Gi* neighbourhood (the cells within the distance band,
  :func:`neighbourhood_cells`): Gi* cannot resolve finer structure, and at small cell sizes
  single busy buildings would otherwise become areas of their own. A smaller piece's peak is
  dropped and its cells drain to the neighbouring peaks.

Every piece is still made of significant Gi* cells; only the boundaries between hotspots are
drawn. Only hot areas of whole-number counts are split; cold areas and surfaces that are not
counts are not. ``params["split_peaks"]`` says how many areas were divided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from ._errors import ParameterError
from .gistar import CONFIDENCE_LEVELS, GiStarResult
from .neighbours import disc_stencil, neighbour_sum
from .validation import counted

__all__ = [
    "HotspotAreas", "hotspot_areas", "label_areas", "neighbourhood_cells", "busy_ground", "BACKGROUND_BANDS", "quiet_patches",
    "small_areas_note", "km2_rounded",
    "AREA_COLUMNS", "PEAK_PROMINENCE",
    "SMALL_AREA_INCIDENTS", "one_point_areas_note", "broad_areas_note",
    "BROAD_AREAS_SHARE", "ONE_POINT_SHARE", "area_polygons", "as_multipolygons",
]

#: How far (on the ``2 sqrt(count)`` scale) a peak must rise (strictly) above the pass to a higher peak to
#: be a hotspot of its own (module docs, "Separate peaks").
PEAK_PROMINENCE = 6.0

#: A hot area holding fewer incidents than this in its own cells is named in a note
#: (:func:`small_areas_note`): it is hot because of the incidents around it.
SMALL_AREA_INCIDENTS = 10

#: Hot areas holding more than this share of all incidents together are said to be broad
#: (:func:`broad_areas_note`): North Yorkshire 2025's ASB at the automatic 1,750 m band, 85 % in
#: 27 areas (York one area of 38.75 km²); Bedfordshire, Humberside, Cheshire 29-38 %.
BROAD_AREAS_SHARE = 0.6

#: A hot area (of at least :data:`SMALL_AREA_INCIDENTS` incidents) holding at least this share of
#: its incidents at one location is named in a note (:func:`one_point_areas_note`).
ONE_POINT_SHARE = 0.5

#: Columns of :attr:`HotspotAreas.areas`, in order.
AREA_COLUMNS = (
    "area_id",
    "rank",
    "n_cells",
    "count",
    "neighbourhood_count",
    "share_of_incidents",
    "area_km2",
    "density_per_km2",
    "max_z",
    "mean_z",
    "peak_bin",
    "peak_confidence",
    "geometry",
)


@dataclass(frozen=True, eq=False)
class HotspotAreas:
    """Numbered hot (or cold) spot areas.

    Attributes
    ----------
    areas : GeoDataFrame
        One row per area, columns :data:`AREA_COLUMNS` (``count`` = incidents in the area's
        cells, ``neighbourhood_count`` = incidents in the cells within the Gi* distance band of
        any of its cells, its own included: what its cells' Gi* sums were made of (a cell is hot
        when its neighbourhood is busy, so a small area on the edge of a busy place can hold few
        incidents of its own), ``share_of_incidents`` of all incidents in the study area, ``max_z``/``mean_z`` of
        the Gi* z-scores (for cold areas ``max_z`` is the most negative), ``peak_bin`` the
        strongest Gi* bin, ``peak_confidence`` e.g. ``"99%"``; geometry = the dissolved cells, in
        the grid's CRS).
    labels : ndarray of int32, grid shape
        ``area_id`` of each cell, 0 for cells in no area (and outside the study area).
    grid : Grid
    params : dict
        ``kind``, ``min_confidence``, ``rule`` (how cells were chosen), ``connectivity``,
        ``n_areas`` and the Gi* parameters (``gi_star``).
    """

    areas: gpd.GeoDataFrame
    labels: np.ndarray = field(repr=False)
    grid: Any = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_areas(self) -> int:
        return int(len(self.areas))

    @property
    def how(self) -> str:
        """How the areas were drawn, for captions (e.g. ``"touching Gi* hot cells significant at
        alpha 0.05 (95% confidence), 2 groups divided at separate peaks"``: one level of brackets)."""
        rule = str(self.params.get("rule", ""))
        text = f"touching Gi* hot {rule}" if rule.startswith("cells ") else f"touching Gi* hot cells ({rule})"
        divided = int(self.params.get("split_peaks", {}).get("areas_divided", 0))
        if divided:
            text += f", {divided} group{'s' if divided > 1 else ''} divided at separate peaks of incidents"
        return text

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The areas table (a copy)."""
        return self.areas.copy()


def _parse_confidence(min_confidence: Any) -> tuple[float, int]:
    levels = {c: mag for c, mag in CONFIDENCE_LEVELS}
    val = min_confidence
    if isinstance(val, str):
        s = val.strip().lower().replace("hot", "").replace("cold", "").replace("%", "").strip()
        try:
            val = float(s)
        except ValueError:
            val = None
    try:
        v = float(val)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = float("nan")
    if v > 1:
        v = v / 100.0
    for c, mag in levels.items():
        if abs(v - c) < 1e-9:
            return c, mag
    raise ParameterError(
        f"`min_confidence` must be 0.90, 0.95 or 0.99 (or '90%', 'hot 95%', 99, ...); got {min_confidence!r}."
    )


def hotspot_areas(
    gi: GiStarResult,
    *,
    min_confidence: float | str | None = None,
    connectivity: int = 8,
    kind: str = "hot",
    split_peaks: bool = True,
    within: np.ndarray | None = None,
) -> HotspotAreas:
    """Merge adjacent significant Gi* cells into numbered areas.

    Parameters
    ----------
    gi : GiStarResult
        From :func:`~hotspots.gi_star`.
    min_confidence : float, str or None
        ``None`` (default): the cells that are significant hot (cold) spots at the Gi* result's
        own ``alpha`` (``gi.hot`` / ``gi.cold``), so that areas, classes and captions share one
        level (``alpha = 0.05``: 95 % confidence). Otherwise cells at this confidence or stronger:
        0.90, 0.95 or 0.99 (``"hot 95%"``, ``"95%"`` and ``95`` are accepted too). With FDR, this is
        the BH-adjusted level (see :mod:`hotspots.gistar`).
    connectivity : {8, 4}
        8: cells touching at an edge or a corner are one area; 4: only edges.
    kind : {"hot", "cold"}
        Hot spots (default) or cold spots.
    split_peaks : bool
        Divide a hot area that holds separate peaks of incidents between them (module docs,
        "Separate peaks"; default True). False: every group of touching cells is one area.
    within : ndarray of bool, grid shape, optional
        Only these cells may be in an area (e.g. :func:`busy_ground`: cold spots amid busy
        ground, not on empty ground); None (default): every significant cell.

    Returns
    -------
    HotspotAreas
        Possibly with no areas (an empty table, all labels 0).
    """
    if not isinstance(gi, GiStarResult):
        raise ParameterError(f"`gi` must be the result of `gi_star(...)`; got {type(gi).__name__}.")
    if min_confidence is None:
        conf, mag = 1.0 - float(gi.params["alpha"]), None
        rule = f"cells significant at alpha {float(gi.params['alpha']):g} ({conf:.0%} confidence)"
    else:
        conf, mag = _parse_confidence(min_confidence)
        rule = f"cells at {conf:.0%} confidence or more"
    if connectivity not in (4, 8) or isinstance(connectivity, bool):
        raise ParameterError(f"`connectivity` must be 8 (edges and corners) or 4 (edges only); got {connectivity!r}.")
    if kind not in ("hot", "cold"):
        raise ParameterError(f"`kind` must be 'hot' or 'cold'; got {kind!r}.")
    grid = gi.grid
    if mag is None:
        sel = (gi.hot if kind == "hot" else gi.cold).copy()
    else:
        sel = (gi.bins >= mag) if kind == "hot" else (gi.bins <= -mag)
    sel &= grid.active
    if within is not None:
        within = np.asarray(within, dtype=bool)
        if within.shape != grid.shape:
            raise ParameterError(f"`within` must be a boolean array of the grid's shape {grid.shape}; got {within.shape}.")
        sel &= within
    if not isinstance(split_peaks, (bool, np.bool_)):
        raise ParameterError(f"`split_peaks` must be True or False; got {split_peaks!r}.")
    counts = np.where(grid.active, np.nan_to_num(gi.counts.values), 0.0)
    min_cells = neighbourhood_cells(gi)
    raw, n_lab, n_split = label_areas(
        sel, counts, connectivity=connectivity, split_peaks=split_peaks and kind == "hot", min_cells=min_cells
    )
    raw, n_lab, n_empty = _drop_empty(raw, n_lab, counts) if kind == "hot" else (raw, n_lab, 0)
    total = float(counts[grid.active].sum())
    flat = raw.ravel()
    idx = np.flatnonzero(flat)
    labs = flat[idx]
    n_cells = np.bincount(labs, minlength=n_lab + 1)[1:]
    cnt = np.bincount(labs, weights=counts.ravel()[idx], minlength=n_lab + 1)[1:].astype(float)  # float with no area too
    zf = gi.z.ravel()[idx]
    zsum = np.bincount(labs, weights=zf, minlength=n_lab + 1)[1:]
    first = np.full(n_lab, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, labs - 1, idx)  # row-major index of the north-west-most cell
    ext = np.full(n_lab, -np.inf if kind == "hot" else np.inf)
    peak = np.zeros(n_lab, dtype=np.int64)
    bf = gi.bins.ravel()[idx].astype(np.int64)
    if kind == "hot":
        np.maximum.at(ext, labs - 1, zf)
        np.maximum.at(peak, labs - 1, bf)
        order = np.lexsort((first, -n_cells, -cnt))
        rank_key = -cnt
    else:
        np.minimum.at(ext, labs - 1, zf)
        np.minimum.at(peak, labs - 1, bf)
        order = np.lexsort((first, cnt, -n_cells))
        rank_key = -n_cells.astype(float)
    new_id = np.zeros(n_lab + 1, dtype=np.int32)
    new_id[order + 1] = np.arange(1, n_lab + 1, dtype=np.int32)
    labels = new_id[raw].astype(np.int32)

    # rank with ties sharing the better (smaller) rank
    rk = rank_key[order]
    ranks = np.empty(n_lab, dtype=np.int64)
    for i in range(n_lab):
        ranks[i] = i + 1 if i == 0 or rk[i] != rk[i - 1] else ranks[i - 1]

    near = _neighbourhood_counts(labels, n_lab, counts, gi)
    geoms = area_polygons(labels, n_lab, grid) if n_lab else []
    cell_area = grid.cell_area_km2
    conf_label = {3: "99%", 2: "95%", 1: "90%"}
    nc = n_cells[order]
    areas = gpd.GeoDataFrame(
        {
            "area_id": np.arange(1, n_lab + 1, dtype=np.int64),
            "rank": ranks,
            "n_cells": nc.astype(np.int64),
            "count": cnt[order],
            "neighbourhood_count": near,
            "share_of_incidents": cnt[order] / total if total > 0 else np.zeros(n_lab),
            "area_km2": km2_rounded(nc * cell_area, cell_area),  # 2.8, not 2.8000000000000007, in every file
            "density_per_km2": cnt[order] / (nc * cell_area) if n_lab else np.zeros(0),
            "max_z": ext[order],
            "mean_z": zsum[order] / np.maximum(nc, 1),
            "peak_bin": peak[order],
            "peak_confidence": np.array([conf_label.get(abs(int(b)), f"{conf:.0%}") for b in peak[order]], dtype=object),
        },
        geometry=gpd.GeoSeries(geoms, crs=grid.crs) if geoms else gpd.GeoSeries([], crs=grid.crs),
        crs=grid.crs,
    )
    params = {
        "kind": kind,
        "min_confidence": conf,
        "rule": rule,
        "connectivity": connectivity,
        "n_areas": int(n_lab),
        "empty_groups_dropped": int(n_empty),
        "split_peaks": {
            "on": bool(split_peaks and kind == "hot"), "prominence": PEAK_PROMINENCE, "areas_divided": int(n_split),
            "min_piece_cells": min_cells,
            "rule": "areas holding separate peaks of incidents (2 sqrt(count) rising more than "
            f"{PEAK_PROMINENCE:g} above the pass between them) divided between the peaks by watershed, "
            f"no piece smaller than one Gi* neighbourhood ({min_cells} cells)",
        },
        "gi_star": dict(gi.params),
    }
    return HotspotAreas(areas=areas, labels=labels, grid=grid, params=params)


def _drop_empty(raw: np.ndarray, n_lab: int, counts: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Labels ``1..n_lab`` without the groups whose cells hold no incident, renumbered without gaps,
    the number of groups kept and of groups dropped.

    A hot area must hold at least one incident: Gi* marks a cell whose neighbourhood is busy, so at
    small cell sizes empty cells between busy ones make groups of their own (Kent 2025 at 50 m: 22 of
    85 areas held no incident, all tied at the last rank, each named after a bare town). Their
    cells stay significant Gi* cells; they only belong to no area (``params["empty_groups_dropped"]``,
    said by :func:`small_areas_note`).
    """
    if not n_lab:
        return raw, 0, 0
    own = np.bincount(raw.ravel(), weights=counts.ravel(), minlength=n_lab + 1)[1:]
    empty = own <= 0
    if not empty.any():
        return raw, n_lab, 0
    kept = n_lab - int(empty.sum())
    renumber = np.zeros(n_lab + 1, dtype=raw.dtype)
    renumber[1:][~empty] = np.arange(1, kept + 1, dtype=raw.dtype)
    return renumber[raw], kept, int(empty.sum())


def _neighbourhood_counts(labels: np.ndarray, n_lab: int, counts: np.ndarray, gi: GiStarResult) -> np.ndarray:
    """Incidents in the cells within the Gi* distance band of each area's cells (its own
    included), for areas ``1..n_lab`` of ``labels``; ``counts`` is 0 outside the study area.

    Every (area, cell within reach) pair is listed once from the areas' cells and the band's
    offsets, so the cost is the areas' cells times the band's, whatever the grid's size."""
    out = np.zeros(n_lab)
    if not n_lab:
        return out
    offsets = disc_stencil(float(gi.params["distance_m"]), gi.grid.cell_size, shape=labels.shape).offsets
    dr, dc = offsets[:, 0], offsets[:, 1]
    nr, nc = labels.shape
    rr, cc = np.nonzero(labels)
    lab = labels[rr, cc].astype(np.int64)
    R, C = rr[:, None] + dr[None, :], cc[:, None] + dc[None, :]
    ok = (R >= 0) & (R < nr) & (C >= 0) & (C < nc)
    key = np.unique((lab[:, None] * (nr * nc) + R * nc + C)[ok])
    return np.bincount(key // (nr * nc) - 1, weights=counts.ravel()[key % (nr * nc)], minlength=n_lab)[:n_lab]


def small_areas_note(areas: HotspotAreas) -> str:
    """A note naming the hot areas holding fewer than :data:`SMALL_AREA_INCIDENTS` incidents in
    their own cells, with the incidents around them that made them hot; ``""`` when there are none.

    Gi* marks a cell whose neighbourhood is busy: between two busy places, or beside one that is
    not significant on its own, a cell with an incident or two can be hot, and make an area of
    its own (in the national 2025 set, 18 of 643 areas hold fewer than 10 incidents; Suffolk's area
    13 is one 500 m cell with 1, its neighbourhood 41). Groups of hot cells without any incident are
    no area at all (:func:`hotspot_areas`); the note says how many were left out.
    """
    a = areas.areas
    if areas.params.get("kind") != "hot":
        return ""
    dist = float(areas.params.get("gi_star", {}).get("distance_m", float("nan")))
    dropped = int(areas.params.get("empty_groups_dropped", 0))
    many = dropped > 1
    empty = (
        f"{dropped:,} group{'s' if many else ''} of significant hot cells without a single incident of "
        f"{'their' if many else 'its'} own {'are not hotspot areas' if many else 'is not a hotspot area'} (hot only "
        f"because of the incidents within {dist:,.0f} m; common at small cell sizes)"
        if dropped else ""
    )
    listed = len(a) and "neighbourhood_count" in a.columns
    small = a[a["count"] < SMALL_AREA_INCIDENTS].sort_values("area_id") if listed else a[:0]
    if not len(small):
        return empty
    return "; ".join(t for t in (_small_text(small, dist), empty) if t)


def _small_text(small: Any, dist: float) -> str:
    """The sentence of :func:`small_areas_note` for the listed ``small`` areas."""

    def listed(values: Any) -> str:
        v = [f"{int(round(float(x))):,}" for x in values]
        return v[0] if len(v) == 1 else ", ".join(v[:-1]) + " and " + v[-1]

    if len(small) == 1:
        n = int(round(float(small["count"].iloc[0])))
        own = "no incident" if n == 0 else f"only {n} incident{'' if n == 1 else 's'}"
        return (
            f"hotspot area {int(small['area_id'].iloc[0])} holds {own} in its own cells: "
            f"it is hot because of the {counted(round(float(small['neighbourhood_count'].iloc[0])), 'incident')} within "
            f"{dist:,.0f} m of it"
        )
    return (
        f"hotspot areas {listed(small['area_id'])} hold only {listed(small['count'])} incidents in their own cells: they "
        f"are hot because of the {listed(small['neighbourhood_count'])} incidents within {dist:,.0f} m of them"
    )


def one_point_areas_note(areas: HotspotAreas, xy: np.ndarray, locations: Any = None) -> str:
    """A note naming the hot areas that hold at least half of their incidents at one location (one pair of
    coordinates); ``""`` when there are none.

    police.uk moves every incident to the nearest of its anonymous map points (a street's centre,
    a car park, a station, a shopping centre), so a hotspot area can be a single point: one place,
    or where a force puts reports without a precise location (in the national 2025 ASB set, 13 of
    the 625 areas of 10 incidents or more hold at least half of them at one point; Essex's area
    at Stansted airport's car park holds 171 of its 172 there; Lancashire's headquarters at Hutton
    gathers 193 ASB incidents a year at "On or near Police Station", not enough there to make a
    hotspot area of its own). The area is still hot; the
    note tells a reader that patrolling "the area" means one point, and that the point's
    incidents may not have happened there. (For violence in 2025 the sweep found areas at "On or near
    Prison", "On or near Hospital" and Northern Ireland's Gransha Park: one place indeed.)

    Parameters
    ----------
    areas : HotspotAreas
    xy : ndarray, shape (n, 2)
        The incidents the areas were computed from, in the grid's CRS (metres).
    locations : sequence of str, optional
        Each incident's location text (police.uk's ``Location``, e.g. ``"On or near Parking
        Area"``), named in the note; a point without one (police.uk's bare ``"On or near "``,
        or no ``locations``) is named by its coordinates in the grid's CRS.
    """
    a = areas.areas
    if areas.params.get("kind") != "hot" or not len(a) or len(xy) == 0:
        return ""
    xy = np.asarray(xy, dtype=float)
    rows, cols, on = areas.grid.cell_of(xy)
    label = np.where(on, areas.labels[rows, cols], 0)
    inside = np.flatnonzero(label > 0)
    if not inside.size:
        return ""
    per_area = np.bincount(label[inside], minlength=int(label.max()) + 1)
    # incidents per (area, location): rows of (area, x, y), exact coordinates (police.uk's points repeat exactly)
    keys, first, n_at = np.unique(
        np.column_stack([label[inside], xy[inside]]), axis=0, return_index=True, return_counts=True
    )
    order = np.lexsort((-n_at, keys[:, 0]))  # per area, the busiest location first
    keys, first, n_at = keys[order], first[order], n_at[order]
    top = np.r_[True, keys[1:, 0] != keys[:-1, 0]]
    texts = np.asarray(locations, dtype=object) if locations is not None else None
    gcrs = getattr(areas.grid, "crs", None)
    crs = "" if gcrs is None else f", {'EPSG:' + str(gcrs.to_epsg()) if gcrs.to_epsg() else gcrs.name} metres"
    found = []
    for k, i, n in zip(keys[top], first[top], n_at[top]):
        aid = int(k[0])
        total = int(per_area[aid])
        if total >= SMALL_AREA_INCIDENTS and n >= ONE_POINT_SHARE * total:
            text = str(texts[inside[i]] or "").strip() if texts is not None else ""
            if text.lower() in ("", "nan", "none", "on or near"):  # no street name: the point is named by where it is
                x, y = xy[inside[i]]
                name = f" at one point with no location name (x {x:,.0f}, y {y:,.0f}{crs})"
            else:
                name = f' at "{text}"'
            found.append((aid, int(n), total, name))
    if not found:
        return ""
    where = "; ".join(f"area {aid}, {n:,} of its {total:,}{name}" for aid, n, total, name in found)
    one = len(found) == 1
    return (
        # "holds most of its incidents at one location: area 19, 10 of its 20" (Dyfed-Powys): the rule is half or more
        f"{'a hotspot area holds' if one else f'{len(found)} hotspot areas hold'} at least half of {'its' if one else 'their'} "
        f"incidents at one location: {where}. {'Such an area' if one else 'Each'} may be one place (a car park, a "
        "station, a hospital, a prison) or where reports without a precise location are put (police.uk moves each "
        "incident to the nearest of its anonymous map points): check it before patrolling the area around it"
    )


#: The background of :func:`busy_ground`: incidents within this many Gi* distance bands of a cell.
BACKGROUND_BANDS = 3.0


def busy_ground(gi: GiStarResult, bands: float = BACKGROUND_BANDS) -> np.ndarray:
    """Cells with a background of incidents: those holding, within ``bands`` Gi* distance bands
    (2,250 m at 750 m), at least the study area's average number of incidents for such a disc.

    A cold spot there (a significantly quiet neighbourhood) is a quiet patch amid busy ground,
    such as a park in a town, that an analyst can use. A cold spot elsewhere is empty ground
    (fields, moorland, water inside the study area): fewer incidents than the average because
    little happens anywhere near; the national run's cold areas are drawn only from busy ground.

    Returns
    -------
    ndarray of bool, grid shape

    Examples
    --------
    >>> from hotspots.grid import Grid, count
    >>> from hotspots.gistar import gi_star
    >>> g = Grid.from_bounds((0, 0, 1900, 900), 100)  # 10 x 20 cells; 40 incidents in the west
    >>> gi = gi_star(count(np.array([[150.0 + 100 * (i % 4), 450.0] for i in range(40)]), g), 100)
    >>> busy = busy_ground(gi)  # within 300 m
    >>> bool(busy[4, 1]), bool(busy[4, 15])
    (True, False)
    """
    grid = gi.grid
    counts = np.where(grid.active, np.nan_to_num(gi.counts.values), 0.0)
    st = disc_stencil(float(bands) * float(gi.params["distance_m"]), grid.cell_size, shape=grid.shape)
    around = neighbour_sum(counts, st)
    act = np.asarray(grid.active, dtype=bool)
    if not act.any():
        return np.zeros(grid.shape, dtype=bool)
    return act & (around >= float(around[act].mean()))


def quiet_patches(cold: np.ndarray, busy: np.ndarray) -> np.ndarray:
    """The groups of touching ``cold`` cells on ``busy`` ground (:func:`busy_ground`) that busy
    ground surrounds: every cell touching a group (edges and corners) is busy. A park in a town is
    one; the fields at a town's edge, busy within reach of the town but open to sparse ground on
    their other side, are not.

    Parameters
    ----------
    cold, busy : ndarray of bool, grid shape

    Returns
    -------
    ndarray of bool, grid shape
        The cells of the groups kept.

    Examples
    --------
    >>> busy = np.zeros((5, 6), bool); busy[:, :4] = True
    >>> cold = np.zeros((5, 6), bool); cold[2, 1] = True; cold[2, 3] = True
    >>> quiet_patches(cold, busy).astype(int)[2].tolist()  # the second touches sparse ground to its east
    [0, 1, 0, 0, 0, 0]
    """
    cold = np.asarray(cold, dtype=bool)
    busy = np.asarray(busy, dtype=bool)
    cand = cold & busy
    lab, n = ndimage.label(cand, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return cand
    open_ = np.pad(~busy, 1, constant_values=True)  # beyond the grid's edge: not busy
    drop = np.zeros(n + 1, dtype=bool)
    rows, cols = lab.shape
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:  # a group's cell whose neighbour at (dr, dc) is not busy
                nb = open_[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
                drop[lab[nb & (lab > 0)]] = True
    drop[0] = True
    return ~drop[lab]


def neighbourhood_cells(gi: GiStarResult) -> int:
    """Cells in one Gi* neighbourhood of ``gi`` (the disc of its distance band, the cell itself
    included): the smallest piece :func:`hotspot_areas` divides an area into."""
    return int(disc_stencil(float(gi.params["distance_m"]), gi.grid.cell_size).size)


def label_areas(
    cells: np.ndarray, counts: np.ndarray, *, connectivity: int = 8, split_peaks: bool = True, min_cells: int = 1
) -> tuple[np.ndarray, int, int]:
    """Label groups of touching ``cells``, divided at separate peaks of ``counts`` (module docs).

    The labelling step of :func:`hotspot_areas`, for callers that need only how many areas
    there are and which cell is in which (e.g. the stability sweep), not their table.

    Parameters
    ----------
    cells : ndarray of bool, grid shape
        The selected (e.g. significant hot) cells.
    counts : ndarray of float, grid shape
        Incidents per cell (0 outside the study area). Areas are divided only when these are
        whole non-negative numbers.
    connectivity : {8, 4}
    split_peaks : bool
    min_cells : int
        Smallest piece a division may leave, in cells (:func:`hotspot_areas` uses the Gi*
        neighbourhood's number of cells: finer pieces than that are below the analysis' scale).

    Returns
    -------
    (labels, n_areas, n_divided) : (ndarray of int, int, int)
        Labels 1..n_areas in no particular order (0: no area), and how many groups of touching
        cells were divided.
    """
    structure = np.ones((3, 3), dtype=bool) if connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    raw, n_lab = ndimage.label(cells, structure=structure)
    if split_peaks and n_lab and bool(np.all(counts >= 0)) and bool(np.all(counts == np.round(counts))):
        return _split_at_peaks(raw, n_lab, counts, connectivity, int(min_cells))
    return raw, int(n_lab), 0


def _split_at_peaks(
    raw: np.ndarray, n_lab: int, counts: np.ndarray, connectivity: int, min_cells: int
) -> tuple[np.ndarray, int, int]:
    """Divide the labelled areas of ``raw`` that hold separate peaks of ``counts`` (module docs).

    Returns the new labels (the first piece keeps the area's label, further pieces get new ones
    after ``n_lab``), the new number of labels and how many areas were divided.
    """
    from skimage.morphology import local_maxima, reconstruction
    from skimage.segmentation import watershed

    f = 2.0 * np.sqrt(counts)
    structure = np.ones((3, 3), dtype=bool) if connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    out = raw.copy()
    nxt = n_lab
    divided = 0
    sizes = np.bincount(raw.ravel(), minlength=n_lab + 1)
    # two peaks each rise more than the prominence above their pass (f >= 0), so an area with
    # fewer than two such cells cannot be divided: skip it without the per-area image work
    high = np.bincount(raw.ravel(), weights=(f > PEAK_PROMINENCE).ravel(), minlength=n_lab + 1)
    for lab, box in enumerate(ndimage.find_objects(raw), start=1):
        if box is None or sizes[lab] < max(3, 2 * min_cells) or high[lab] < 2:
            continue
        inside = raw[box] == lab
        fa = np.where(inside, f[box], -1.0)
        # extended maxima: the regional maxima of the h-dome reconstruction, so that peaks closer
        # than the prominence to each other (ties at the top included) are one peak.
        # (skimage's ``h_maxima`` keeps every cell within ``h`` of the top instead: two equal
        # cells on a flat busy block would count as two peaks.)
        domes = reconstruction(fa - PEAK_PROMINENCE, fa, method="dilation")
        top = local_maxima(domes, connectivity=2 if connectivity == 8 else 1, allow_borders=True) & inside
        peaks, n_peaks = ndimage.label(top, structure=structure)
        basin = None
        while n_peaks >= 2:
            basin = watershed(-fa, peaks, mask=inside, connectivity=2 if connectivity == 8 else 1)
            small = np.bincount(basin[inside], minlength=n_peaks + 1)[1:] < min_cells
            if not small.any():
                break
            # a piece smaller than one Gi* neighbourhood is finer than the analysis can resolve:
            # its peak is dropped and its cells drain to the others
            keep = np.r_[0, np.cumsum(~small) * ~small]
            peaks, n_peaks = keep[peaks], int((~small).sum())
        if n_peaks < 2 or basin is None:
            continue
        divided += 1
        piece = out[box]  # a view: writes go to ``out``
        for j in range(2, n_peaks + 1):
            nxt += 1
            piece[inside & (basin == j)] = nxt
    return out, nxt, divided


def km2_rounded(km2: Any, cell_km2: float) -> np.ndarray:
    """Areas in km² rounded to 3 decimals, or to as many more as one cell's area needs to stay exact
    (10 m cells: 0.0001 km²), so sums of cells lose their float noise and no small area rounds to 0.

    >>> km2_rounded([11 * 0.25 + 0.05], 0.05).tolist(), km2_rounded([3 * 0.0001], 0.0001).tolist()
    ([2.8], [0.0003])
    """
    decimals = next((d for d in range(3, 12) if abs(round(float(cell_km2), d) - float(cell_km2)) < 1e-12), 12)
    return np.round(np.asarray(km2, dtype=float), decimals)


def area_polygons(labels: np.ndarray, n_areas: int, grid: Any) -> list[Any]:
    """The dissolved cells of areas ``1..n_areas`` of ``labels`` (grid shape, 0 = no area), one geometry each.

    The cells' union, traced along the cell edges by GDAL's polygonize (``rasterio.features.shapes``,
    one polygon per edge-connected piece, with its holes) and the pieces of an area that touch only
    at corners gathered into one MultiPolygon; ``simplify(0)`` drops the vertices on straight runs.
    The same geometry as the coverage union of the cells' squares (equal after
    ``shapely.normalize``), in time linear in the grid: 0.3 s for 2 million cells instead of 10 s.
    """
    from affine import Affine
    from rasterio import features

    s = grid.cell_size
    transform = Affine(s, 0.0, grid.xmin, 0.0, -s, grid.ymax)
    lab = np.ascontiguousarray(labels, dtype=np.int32)
    # The pieces' rings gathered into one coordinate array and built in one call (GeoArrow's
    # ragged layout), not one shapely object per ring.
    rings: list[Any] = []
    ring_ends = [0]
    piece_ends = [0]
    values = []
    for geom, value in features.shapes(lab, mask=lab > 0, connectivity=4, transform=transform):
        for ring in geom["coordinates"]:
            rings.extend(ring)
            ring_ends.append(len(rings))
        piece_ends.append(len(ring_ends) - 1)
        values.append(int(value))
    pieces = shapely.from_ragged_array(shapely.GeometryType.POLYGON, np.asarray(rings, dtype=np.float64).reshape(-1, 2),
                                       (np.asarray(ring_ends, dtype=np.int64), np.asarray(piece_ends, dtype=np.int64)))
    area = np.asarray(values, dtype=np.int64) - 1
    order = np.argsort(area, kind="stable")
    ends = np.searchsorted(area[order], np.arange(1, n_areas + 1))
    out = np.empty(n_areas, dtype=object)
    start = 0
    for a in range(n_areas):
        got = pieces[order[start : ends[a]]]
        out[a] = got[0] if len(got) == 1 else shapely.coverage_union_all(got)
        start = ends[a]
    return list(shapely.simplify(out, 0.0))


def as_multipolygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with its Polygon rows as one-part MultiPolygons (other geometries untouched).

    Layers of areas, any of which may be in pieces, are written as MultiPolygon always, so that a
    layer's geometry type does not depend on whether this run split an area: a GeoPackage would
    promote a mixed layer and a GeoJSON would not, and a QGIS/ArcGIS model built on one run's layer
    must read the next.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    single = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    if not single.any():
        return gdf
    geoms = geoms.copy()
    geoms[single] = shapely.multipolygons(geoms[single][:, None])
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out


def broad_areas_note(areas: HotspotAreas) -> str:
    """A note when the hot areas together hold more than :data:`BROAD_AREAS_SHARE` of the
    incidents; ``""`` otherwise.

    Where incidents sit in towns separated by quiet country (a rural force), Gi* at a town-scale
    distance band marks each town whole: true, but not what a patrol plan needs. The note gives
    the share, the areas' size against the study area's, and the band that draws tighter areas
    (the 8 surrounding cells, :func:`hotspots.neighbours.fallback_distance`).
    """
    a = areas.areas
    if areas.params.get("kind") != "hot" or not len(a) or "share_of_incidents" not in a.columns:
        return ""
    share = float(a["share_of_incidents"].sum())
    if not share > BROAD_AREAS_SHARE:
        return ""
    from .neighbours import fallback_distance

    grid = areas.grid
    km2 = float(a["area_km2"].sum())
    # the denominator said: the cells taking part (Devon and Cornwall: 2.1% of 9,173 km², while the study area's
    # polygon, said elsewhere, is 10,646 km²; "of the study area" read as 1.8% of that)
    study_km2 = float(grid.n_cells) * grid.cell_area_km2
    dist = float(areas.params.get("gi_star", {}).get("distance_m", float("nan")))
    tight = fallback_distance(grid.cell_size)
    band = f"at a {dist:,.0f} m distance band " if np.isfinite(dist) else ""
    shorter = (
        f"; a shorter distance band (e.g. {tight:,.0f} m, the 8 surrounding cells) draws tighter areas around the busiest "
        "streets, and a study area of one town ranks places within it"
        if np.isfinite(dist) and dist > tight * 1.01 else "; a study area of one town ranks places within it"
    )
    return (
        f"{'the hotspot area holds' if len(a) == 1 else f'the {len(a):,} hotspot areas hold'} {share:.0%} of the incidents "
        f"in {km2:,.{1 if km2 >= 1 else 2}f} km² "
        f"({km2 / study_km2:.1%} of the {study_km2:,.{0 if study_km2 >= 10 else 2}f} km² of cells analysed): "
        f"{band}Gi* marks the busy places against the quiet country around "
        f"them, whole towns at once{shorter}"
    )
