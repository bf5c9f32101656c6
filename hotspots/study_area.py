"""The study area: which polygon an analysis covers, one rule for the app and the CLI.

A boundary the user gave always wins (its holes filled when the data cover them, see
:func:`fill_holes`); without one, the built-in outline when most incidents fall inside it, else
the incidents' own footprint (:func:`hotspots.footprint.data_footprint`). Each choice comes with
the sentence that announces it and the facts for the parameters sidecar. Re-exported by
:mod:`hotspots.pipeline`, whose :func:`~hotspots.pipeline.prepare_inputs` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ._errors import InputError, ParameterError
from .grid import BNG
from .validation import counted, setting

__all__ = [
    "AUTO_AREA_SHARE",
    "HOLE_FILL_DENSITY_SHARE",
    "LOW_SHARE_INSIDE",
    "StudyAreaChoice",
    "automatic_study_area",
    "choose_study_area",
    "fill_holes",
]

#: Share of incidents that must fall inside the built-in (Derbyshire) outline for
#: :func:`automatic_study_area` to use it when no boundary is given.
AUTO_AREA_SHARE = 0.9
#: Below this share of the incidents inside a given boundary (but above none, which is an error), the
#: study area's note carries a warning: a boundary that holds almost none of the data is more often the
#: wrong file than a deliberate choice, yet a town-centre study area in a force's files can be one.
LOW_SHARE_INSIDE = 0.01
#: A hole of a given boundary is filled when its incidents per km² reach this share of the rest
#: of the area's (:func:`fill_holes`); emptier holes are kept (the data do not cover them).
HOLE_FILL_DENSITY_SHARE = 0.1


@dataclass(frozen=True, eq=False)
class StudyAreaChoice:
    """The study area chosen for the analysis, and the announcement.

    Attributes
    ----------
    area : GeoDataFrame or None
        Polygons (any CRS); None = no study area (the grid covers the incidents' extent).
    source : {"given", "built-in", "footprint", "none"}
    note : str
    record : dict
        Facts for the parameters sidecar (source, share of incidents inside, holes filled).
    """

    area: gpd.GeoDataFrame | None
    source: str
    note: str
    record: dict[str, Any] = field(default_factory=dict)


#: A boundary over this many times the area of the box around the incidents is noted (:func:`oversized_area_note`).
OVERSIZE_FACTOR = 5.0


def oversized_area_note(geom: Any, xy: Any) -> str:
    """``"; the boundary covers 172,000 km² (469 km across), 98 times the 1,754 km² box around the incidents: ..."``
    when the study area ``geom`` is over :data:`OVERSIZE_FACTOR` times the box around the incidents ``xy``
    (metres, the same CRS; the box of their 0.5-99.5 % quantiles, so that a few strays do not stretch it), else
    ``""``. A boundary of the wrong region (or read in the wrong CRS) gives a huge, empty grid with no other word
    (697,848 cells around 1,754 km² of data).

    >>> oversized_area_note(shapely.box(0, 0, 100_000, 100_000), np.array([[0, 0], [10_000, 10_000]]))[:60]
    '; the boundary covers 10,000 km² (100 km across), 102 times '
    >>> oversized_area_note(shapely.box(0, 0, 20_000, 20_000), np.array([[0, 0], [10_000, 10_000]]))
    ''
    """
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 2 or geom is None or geom.is_empty:
        return ""
    lo, hi = np.quantile(pts, [0.005, 0.995], axis=0)  # not stretched by a few strays far away (Gwent's, in London)
    span = np.maximum(hi - lo, 100.0)  # a line of points: a 100 m strip
    box = float(span[0] * span[1]) / 1e6
    covers = float(geom.area) / 1e6
    if covers <= OVERSIZE_FACTOR * box:
        return ""
    x0, y0, x1, y1 = geom.bounds
    across = max(x1 - x0, y1 - y0) / 1000.0
    return (f"; the boundary covers {covers:,.0f} km² ({across:,.0f} km across), {covers / box:,.0f} times the "
            f"{box:,.0f} km² box around the incidents: most of its cells hold none and the grid is large and slow; check "
            "it is the boundary meant (and read in the right CRS)")


def _share_inside(incidents: gpd.GeoDataFrame, geom: Any) -> float:
    if len(incidents) == 0:
        return 0.0
    xy = shapely.get_coordinates(incidents.geometry.values)
    return float(np.mean(shapely.contains_xy(geom, xy[:, 0], xy[:, 1])))


def _where(geoms: np.ndarray, crs: Any, *, points: bool = False) -> str:
    """Where ``geoms`` lie, for a message: the longitude and latitude of the centre of their bounds
    (a boundary), or of the median of their coordinates (``points``: incidents).

    The median for incidents: a few strays far away (police.uk's files hold some incidents recorded
    across the country) moved the centre of the bounds of Durham's incidents to longitude -0.88,
    latitude 53.03, in Nottinghamshire, and Gwent's to Cheshire.
    """
    if points:
        xy = shapely.get_coordinates(geoms)
        x, y = float(np.median(xy[:, 0])), float(np.median(xy[:, 1]))
    else:
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        x, y = (x0 + x1) / 2, (y0 + y1) / 2
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    return f"longitude {lon:.2f}, latitude {lat:.2f}"


def _hole_count(geoms: np.ndarray) -> int:
    """Interior rings (holes) of the polygons among ``geoms`` (the parts of multi-polygons included)."""
    parts = shapely.get_parts(geoms)
    return int(shapely.get_num_interior_rings(parts[shapely.get_type_id(parts) == 3]).sum())


def fill_holes(area: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None = None) -> tuple[gpd.GeoDataFrame, int]:
    """The area with the interior rings (holes) of its polygons removed, and how many were.

    A county boundary often has a hole where a unitary city lies (Derbyshire county around
    Derby): the city is still in the force area, and its incidents are in the force's files.

    Parameters
    ----------
    area : GeoDataFrame
    incidents : GeoDataFrame, optional
        When given, only holes that hold incidents at no less than :data:`HOLE_FILL_DENSITY_SHARE`
        of the density in the rest of the area are filled. A hole the data do not cover (another
        force's or authority's ground, a reservoir) filled would be a large empty patch: it lowers
        the study area's mean, its rim looks cold, and the cold cells loosen the false discovery
        rate's threshold for hot ones (random incidents over Derbyshire county with Derby's hole
        filled: hotspot areas on 39 of 40 maps of 30,000 incidents; with the hole kept, none).

    Returns
    -------
    area : GeoDataFrame
    filled : int
        Holes filled.
    """
    geoms = np.asarray(area.geometry.values)
    parts, index = shapely.get_parts(geoms, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), (3,))
    if _hole_count(geoms) == 0:
        return area, 0
    keep_rings: list[list[bool] | None] = [None] * len(parts)  # per part, which holes stay (None: fill them all)
    if incidents is not None and len(incidents):
        # measured in the incidents' CRS (metres) when both are known; the rule compares densities,
        # so only the ratio of areas matters: n_hole / area_hole >= share * n_rest / area_rest
        same = area.crs is None or incidents.crs is None or pyproj.CRS(area.crs).equals(pyproj.CRS(incidents.crs))
        m_parts = parts if same else shapely.get_parts(np.asarray(area.to_crs(incidents.crs).geometry.values))
        xy = shapely.get_coordinates(incidents.geometry.values)
        whole = shapely.union_all(m_parts[polygonal])
        n_rest = float(shapely.contains_xy(whole, xy[:, 0], xy[:, 1]).sum())
        a_rest = float(shapely.area(whole))
        for j in np.flatnonzero(polygonal):
            keep_ring = []
            for ring in m_parts[j].interiors:
                hole = shapely.Polygon(ring)
                n = float(shapely.contains_xy(hole, xy[:, 0], xy[:, 1]).sum())
                keep_ring.append(not (n > 0 and n * a_rest >= HOLE_FILL_DENSITY_SHARE * n_rest * hole.area))
            keep_rings[j] = keep_ring
    filled = np.empty(len(geoms), dtype=object)
    n_filled = 0
    for i in range(len(geoms)):
        polys = []
        for j in np.flatnonzero((index == i) & polygonal):
            poly = parts[j]
            rings = list(poly.interiors)
            kept = [] if keep_rings[j] is None else [r for r, k in zip(rings, keep_rings[j]) if k]
            n_filled += len(rings) - len(kept)
            polys.append(shapely.Polygon(poly.exterior, kept))
        filled[i] = polys[0] if len(polys) == 1 else shapely.union_all(polys)
    if n_filled == 0:
        return area, 0
    out = area.copy()
    out = out.set_geometry(gpd.GeoSeries(filled, crs=area.crs, index=area.index))
    return out, n_filled


def automatic_study_area(incidents: gpd.GeoDataFrame) -> StudyAreaChoice:
    """The study area when the user gives none.

    The built-in Derbyshire outline (:func:`hotspots.gazetteer.default_study_area`) when at
    least :data:`AUTO_AREA_SHARE` of the incidents fall inside it (the demo, and Derbyshire's own
    files); for any other data, the footprint of the incidents (:func:`hotspots.footprint.data_footprint`:
    where they are, generalised, with a 1 km margin, leaving out outlying strays, which are
    counted and announced). For a force whose ground is a network, not an area
    (:func:`hotspots.forces.network_force`: British Transport Police), no incident is a stray: the
    footprint keeps every one, and says why. This is the one place to change the rule.
    """
    from .footprint import data_footprint
    from .forces import network_force
    from .gazetteer import default_study_area

    area = default_study_area()
    share = _share_inside(incidents, shapely.union_all(area.to_crs(incidents.crs or BNG).geometry.values))
    if share >= AUTO_AREA_SHARE:
        return StudyAreaChoice(
            area,
            "built-in",
            f"study area: the built-in Derbyshire outline ({share:.1%} of incidents inside; "
            "give a boundary, or choose none, to change it)",
            {"source": "built-in Derbyshire force-area outline (approximate)", "share_of_incidents_inside": round(share, 4)},
        )
    network = network_force(incidents)
    fp = data_footprint(incidents, network=network.name if network is not None else "")
    return StudyAreaChoice(fp.to_geodataframe(), "footprint", fp.describe(), fp.record())


def _check_share(incidents: gpd.GeoDataFrame, area: gpd.GeoDataFrame, name: str, share: float) -> str:
    """The one rule for a study area the user chose (a boundary, or the built-in outline): none of the
    incidents inside is refused; fewer than :data:`LOW_SHARE_INSIDE` of them inside is a warning, returned
    to be added to the note (``""`` otherwise).

    Raises
    ------
    InputError
        No incident lies in ``area``: naming where the incidents and the area lie.
    """
    if len(incidents) and share == 0:
        crs = incidents.crs or BNG
        geom = shapely.union_all(area.to_crs(crs).geometry.values)
        raise InputError(
            f"none of the {len(incidents):,} incidents lie in the study area ({name}): wrong boundary, or another "
            f"force's files? The incidents lie around {_where(incidents.geometry.values, crs, points=True)}, the boundary "
            f"around {_where(np.asarray([geom]), crs)}. Give the boundary of the area the files cover (e.g. from `hotspots "
            "fetch boundary --force NAME`), or none: the footprint of the incidents is then used."
        )
    if 0 < share < LOW_SHARE_INSIDE:
        return (
            f"; warning: only {round(share * len(incidents)):,} of {len(incidents):,} incidents ({share:.2%}) lie inside it, "
            "so nearly all the data take no part: check that it is the right boundary for these files"
        )
    return ""


def choose_study_area(
    incidents: gpd.GeoDataFrame,
    boundary: gpd.GeoDataFrame | str | None = None,
    *,
    keep_holes: bool = False,
) -> StudyAreaChoice:
    """The study area: one rule for the app and the CLI.

    Parameters
    ----------
    incidents : GeoDataFrame
        The incidents to be analysed (for the shares announced).
    boundary : GeoDataFrame, "builtin", "none" or None
        A boundary the user gave (always wins); ``"builtin"`` (or ``"default"``) for the
        built-in outline; ``"none"`` for no study area; None for :func:`automatic_study_area`.
    keep_holes : bool
        Keep the holes of a given boundary (their cells then take no part). By default they are
        filled (:func:`fill_holes`) and the note says how many incidents that brings in.

    Returns
    -------
    StudyAreaChoice

    Raises
    ------
    InputError
        A given boundary, or the built-in outline asked for, that holds none of the incidents (the
        wrong boundary or the wrong force's files). One that holds fewer than
        :data:`LOW_SHARE_INSIDE` of them is accepted with a warning in the note (a town centre in a
        force's files may be meant).
    """
    if not isinstance(keep_holes, bool):
        raise ParameterError(f"`keep_holes` must be True or False; got {keep_holes!r}.")
    if boundary is None:
        return automatic_study_area(incidents)
    if isinstance(boundary, str):
        key = boundary.strip().lower()
        if key == "none":
            return StudyAreaChoice(
                None, "none", "study area: none (as asked); the grid covers the incidents' extent", {"source": "none"}
            )
        if key in ("builtin", "built-in", "default"):
            from .gazetteer import default_study_area

            builtin = default_study_area()
            name = "the built-in Derbyshire outline"
            share = _share_inside(incidents, shapely.union_all(builtin.to_crs(incidents.crs or BNG).geometry.values))
            return StudyAreaChoice(
                builtin,
                "built-in",
                f"study area: {name} (as asked; {share:.1%} of incidents inside)" + _check_share(incidents, builtin, name, share),
                {"source": "built-in Derbyshire force-area outline (approximate)", "share_of_incidents_inside": round(share, 4)},
            )
        raise ParameterError(f"`boundary` must be a GeoDataFrame, 'builtin', 'none' or None; got {boundary!r}.")
    if not isinstance(boundary, gpd.GeoDataFrame) or len(boundary) == 0:
        raise ParameterError("`boundary` must be a GeoDataFrame with at least one polygon (e.g. from `load_boundary`).")
    crs = incidents.crs or BNG
    name = str(boundary.attrs.get("source") or "the given boundary")
    record: dict[str, Any] = {"source": name, "features": int(len(boundary))}
    original = shapely.union_all(boundary.to_crs(crs).geometry.values)
    area, holes = (boundary, 0) if keep_holes else fill_holes(boundary, incidents)
    geom = original if keep_holes else shapely.union_all(area.to_crs(crs).geometry.values)
    share = _share_inside(incidents, geom)
    note = f"study area: {name} ({len(boundary):,} feature(s), {share:.1%} of incidents inside)"
    note += _check_share(incidents, area, name, share)
    # a file without a CRS was read in the one its coordinates fit (io.boundary): said with the area, everywhere
    note += "".join(f"; {n}" for n in boundary.attrs.get("notes", []) if "CRS" in str(n))
    note += oversized_area_note(geom, shapely.get_coordinates(incidents.geometry.values))
    if holes:
        gained = round((share - _share_inside(incidents, original)) * len(incidents))
        keep = setting("keep_holes", app="Keep the boundary's holes")
        note += f"; its {holes:,} hole(s) filled, bringing in {counted(gained, 'incident')} (to leave them out: {keep})"
        record.update(holes_filled=holes, incidents_in_holes=int(gained))
    if keep_holes:
        n_holes = int(shapely.get_num_interior_rings(shapely.get_parts(original)).sum())
        if n_holes:
            note += f"; its {n_holes:,} hole(s) kept (incidents there take no part)"
            record.update(holes_kept=n_holes)
    elif (empty := _hole_count(np.asarray(boundary.geometry.values)) - holes) > 0:  # counted as fill_holes counts
        note += (
            f"; {empty:,} hole(s) kept: they hold fewer than {HOLE_FILL_DENSITY_SHARE:.0%} of the area's incidents "
            "per km², so the data do not cover them (filled, they would be an empty patch that makes the rest look hot)"
        )
        record.update(holes_kept=empty)
    record["share_of_incidents_inside"] = round(share, 4)
    area = area.copy()
    area.attrs.update(boundary.attrs)
    return StudyAreaChoice(area, "given", note, record)
