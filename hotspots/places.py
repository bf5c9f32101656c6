"""Place names for hotspot areas, for any force, offline.

A hotspot area is named from what police.uk already gives and from GeoNames:

* its **streets**: police.uk's ``Location`` (``"On or near Granby Street"``) of the incidents
  in the area, most frequent first. police.uk also uses a few generic map-point names
  (``"On or near Supermarket"``, ``"Parking Area"``, ...; :data:`GENERIC_LOCATIONS`): they are
  listed, but a real street name is preferred for the label;
* its **districts**: the local authority district of each incident's LSOA (``LSOA name``
  ``"Leicester 012A"`` -> ``"Leicester"``), most frequent first;
* its **town**: the place of a gazetteer (GeoNames for real data, :func:`hotspots.gazetteer.places_in`;
  the demo's Derbyshire towns for the demo) that the label street's busiest point lies most within, judging
  each place's reach by its population, or the nearest place of at least
  :data:`TOWN_NEAR_MIN_POPULATION` people whose reach covers it (:func:`town_of`); of the area's own district when
  the data give districts and one of its towns lies near enough (:func:`towns_districts`: a city
  across a river or a district border can out-reach the town next door; Merseyside 2025's
  Wirral area by Wallasey was "Liverpool"). An area beyond every place's reach is named after its district
  (:data:`TOWN_MAX_REACH`): a town the gazetteer lacks (Sutton-on-Sea, Wymondham) is not replaced by one 4 km off.

The label is ``"Granby Street, Leicester"``: the top real street among the incidents of the area's top district
(the ``district`` column) and the town (or the district when no gazetteer is given, or the street alone).
:func:`area_places` gives every part as columns for tables and popups.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import CRSError, ParameterError

__all__ = [
    "DEMO_ID_PREFIX",
    "GENERIC_LOCATIONS",
    "area_places",
    "areas_near",
    "is_demo_data",
    "label_towns",
    "name_hotspot_areas",
    "supported_by",
    "district_names",
    "is_generic_location",
    "street_names",
    "town_of",
    "towns_at",
    "towns_districts",
    "PLACE_COLUMNS",
]

#: police.uk map-point names that are kinds of place, not streets.
GENERIC_LOCATIONS = frozenset(
    {
        "Airport/Airfield",
        "Bus/Coach Station",
        "Conference/Exhibition Centre",
        "Further/Higher Educational Building",
        "Hospital",
        "Nightclub",
        "Park/Open Space",
        "Parking Area",
        "Petrol Station",
        "Police Station",
        "Prison",
        "Shopping Area",
        "Sports/Recreation Area",
        "Supermarket",
        "Theatre/Concert Hall",
        "Theme/Adventure Park",
    }
)
_GENERIC_KEYS = frozenset(g.lower() for g in GENERIC_LOCATIONS)

#: Incident ids of the synthetic demo data start with this (:mod:`hotspots.demo`).
DEMO_ID_PREFIX = "demo-"

#: Columns of :func:`area_places`.
PLACE_COLUMNS = ("area_id", "label", "town", "district", "streets", "districts", "top_street")

_ON_OR_NEAR = re.compile(r"^\s*on or near\s*", re.IGNORECASE)
_LSOA_SUFFIX = re.compile(r"\s+\d{3}[A-Z]\s*$")
# police.uk title-cases names letter by letter after an apostrophe: "King'S Road".
_APOSTROPHE_S = re.compile(r"'S\b")
#: A place of population P reaches about TOWN_REACH_M * sqrt(P) metres from its centre
#: (a town at about 4,000 people per km²: Leicester ~6 km, Loughborough ~2.4 km, a village ~250 m).
TOWN_REACH_M = 10.0
#: A hotspot area further than this many reaches (distance / ``TOWN_REACH_M * sqrt(P)``) from every town is in none
#: of them (:func:`area_places`): it is named after its district (LSOA name), not the least far town. Norfolk 2025's
#: area in Wymondham (a town GeoNames' extract lacks) was "Enfield Row, Norwich" at 3.1 of Norwich's reaches; of 341
#: areas of 18 forces the others named beyond 2.5 reaches were as far off (Redditch for a street in Bromsgrove district
#: at 3.7, Sheerness for one elsewhere on Sheppey at 3.4), and the nearest below lay at 2.25 (Catterick Garrison).
#: Points (task sites, referrals: :func:`towns_at`) keep the reach rule alone, unless inside a named area.
TOWN_MAX_REACH = 2.5
#: A place of at least this many people whose reach covers a point and whose centre is nearer than the town by reach
#: takes the point (:func:`town_of`): GeoNames gives Birkenhead 325,264 people (its urban area; reach 5.7 km), which
#: out-reached Wallasey (58,794) 2.3 km from Merseyside 2025's "Mason Street" in New Brighton, 5.1 km from Birkenhead.
#: Smaller places (a suburb's village, Basford by Newcastle-under-Lyme) still need the smaller distance / reach.
TOWN_NEAR_MIN_POPULATION = 5_000


def street_names(locations: Any) -> pd.Series:
    """Street (or map-point) names from police.uk ``Location`` values.

    ``"On or near Granby Street"`` -> ``"Granby Street"``; empty names (``"On or near "``,
    Northern Ireland has many) -> missing; ``"King'S Road"`` -> ``"King's Road"``.

    Examples
    --------
    >>> street_names(["On or near King'S Road", "On or near ", None]).tolist()
    ["King's Road", <NA>, <NA>]
    """
    return _per_distinct(locations, _clean_streets)


def _clean_streets(s: pd.Series) -> pd.Series:
    s = s.str.replace(_ON_OR_NEAR, "", regex=True).str.strip()
    s = s.str.replace(_APOSTROPHE_S, "'s", regex=True)
    return s.where(s.str.len() > 0, other=pd.NA)


def _clean_districts(s: pd.Series) -> pd.Series:
    s = s.str.strip().str.replace(_LSOA_SUFFIX, "", regex=True).str.strip()
    return s.where(s.str.len() > 0, other=pd.NA)


def _per_distinct(values: Any, clean: Any) -> pd.Series:
    """``clean`` (a function of a string Series) applied to the distinct values only, then spread
    back: police.uk repeats its locations and LSOA names (a force-year of 94,000 incidents has
    about 9,000 distinct locations), so the regular expressions run ten times less often."""
    s = pd.Series(values, dtype="object")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    cleaned = clean(pd.Series(uniques, dtype="object").astype("string"))
    out = pd.Series(pd.array([pd.NA] * len(s), dtype="string"), index=s.index)
    known = codes >= 0
    out[known] = cleaned.to_numpy()[codes[known]]
    return out


def is_generic_location(names: Any) -> np.ndarray:
    """True for police.uk's generic map-point names (:data:`GENERIC_LOCATIONS`), any case."""
    s = pd.Series(names, dtype="object").astype("string").str.lower()
    return s.isin(_GENERIC_KEYS).fillna(False).to_numpy(dtype=bool)


def district_names(lsoa_names: Any) -> pd.Series:
    """Local authority districts from police.uk ``LSOA name`` values.

    Examples
    --------
    >>> district_names(["Leicester 012A", "North West Leicestershire 004C", ""]).tolist()
    ['Leicester', 'North West Leicestershire', <NA>]
    """
    return _per_distinct(lsoa_names, _clean_districts)


def town_of(xy: Any, towns: gpd.GeoDataFrame) -> np.ndarray:
    """The town each point lies most within, judging each town's reach by its population.

    A town of population P is taken to reach ``TOWN_REACH_M * sqrt(P)`` metres from its centre;
    each point gets the town with the smallest distance / reach, unless a place of at least
    :data:`TOWN_NEAR_MIN_POPULATION` people whose reach also covers the point lies nearer: then the
    nearest such place (the one a local would name; GeoNames' populations of some towns are their
    whole urban area's). A point in a city's suburb is the city's, not a nearby village's; a point
    in a village is the village's. Towns without a population (or a population of 0, as GeoNames
    gives a few) count as 500 people.

    Parameters
    ----------
    xy : ndarray of shape (n, 2)
        Points, in the towns' CRS (metres).
    towns : GeoDataFrame
        Town-centre points with ``name`` and ``population`` (e.g. :func:`hotspots.gazetteer.places_in`).

    Returns
    -------
    ndarray of object
        Town names; None where ``towns`` is empty.
    """
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(towns) == 0 or len(pts) == 0:
        return np.array([None] * len(pts), dtype=object)
    best, _ = _nearest_by_reach(pts, towns)
    return towns["name"].astype(str).to_numpy(dtype=object)[best]


def _nearest_by_reach(pts: np.ndarray, towns: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the position of the town with the smallest distance / reach, and that ratio."""
    tx, ty = towns.geometry.x.to_numpy(), towns.geometry.y.to_numpy()
    pop = (
        pd.to_numeric(towns["population"], errors="coerce").to_numpy(dtype=float)
        if "population" in towns
        else np.full(len(towns), 500.0)
    )
    pop = np.where(np.isfinite(pop) & (pop > 0), pop, 500.0)
    reach = TOWN_REACH_M * np.sqrt(pop)
    sizeable = pop >= TOWN_NEAR_MIN_POPULATION
    best = np.empty(len(pts), dtype=np.int64)
    ratio = np.empty(len(pts))
    for i0 in range(0, len(pts), 2000):  # (points x towns) in blocks: flat memory for any size
        p = pts[i0 : i0 + 2000]
        rows = np.arange(len(p))
        d = np.hypot(p[:, :1] - tx[None, :], p[:, 1:] - ty[None, :])
        r = d / reach[None, :]
        b = np.argmin(r, axis=1)
        # a nearer place of reasonable size whose reach also covers the point wins over a bigger one
        d_cover = np.where((r <= 1.0) & sizeable[None, :], d, np.inf)
        near = np.argmin(d_cover, axis=1)
        b = np.where(d_cover[rows, near] < d[rows, b], near, b)
        best[i0 : i0 + 2000] = b
        ratio[i0 : i0 + 2000] = r[rows, b]
    return best, ratio


def _tops(
    owner: np.ndarray, values: pd.Series, n_areas: int, k: int, *, prefer_streets: bool = False
) -> list[tuple[list[tuple[str, int]], str | None]]:
    """Per area (``owner`` of each value, 0..n_areas-1): the k most frequent values with counts,
    and the best label: the most frequent one, or with ``prefer_streets`` the most frequent that
    is not a generic map-point name (ties: by name). One grouped count for all areas."""
    out: list[tuple[list[tuple[str, int]], str | None]] = [([], None)] * n_areas
    v = pd.Series(values.to_numpy(dtype=object), dtype="object")
    keep = v.notna().to_numpy()
    if not keep.any():
        return out
    counts = pd.DataFrame({"a": owner[keep], "v": v[keep].astype(str).to_numpy()}).value_counts(sort=False)
    c = counts.reset_index(name="n").sort_values(["a", "n", "v"], ascending=[True, False, True], kind="stable")
    a, names, n = c["a"].to_numpy(), c["v"].to_numpy(dtype=object), c["n"].to_numpy()
    real = ~is_generic_location(names) if prefer_streets else np.ones(len(names), dtype=bool)
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
    for s0, s1 in zip(starts, [*starts[1:], len(a)]):
        e = min(s0 + k, s1)  # an area with fewer than k values must not list the next area's
        top = [(str(x), int(y)) for x, y in zip(names[s0:e], n[s0:e])]
        ok = np.flatnonzero(real[s0:s1])
        best = str(names[s0 + ok[0]]) if len(ok) else str(names[s0])
        out[int(a[s0])] = (top, best)
    return out


def _label_streets_in_top_district(owner: np.ndarray, streets: pd.Series, districts: pd.Series, street_tops: list,
                                   district_tops: list) -> list:
    """``street_tops`` with each area's label street taken among the incidents of its top district (the
    ``district`` column), so that the label's street and town lie where most of the area's incidents are: Merseyside
    2025's "Princess Drive, Liverpool" had 59 incidents in Liverpool and 125 in Knowsley. A top district holding
    generic map-point names only keeps the area's own best street; ``streets`` (the listed top streets) is unchanged."""
    d = districts.astype(object).fillna("").astype(str).to_numpy()
    top = np.array([t or "" for _, t in district_tops] + [""], dtype=object)[owner]
    in_top = (d == top) & (d != "")
    if not in_top.any():
        return street_tops
    own = _tops(owner[in_top], streets[in_top].reset_index(drop=True), len(street_tops), 1, prefer_streets=True)
    out = list(street_tops)
    for k, (_, best) in enumerate(own):
        overall_real = out[k][1] is not None and not is_generic_location([out[k][1]])[0]
        if best is not None and (not is_generic_location([best])[0] or not overall_real):
            out[k] = (out[k][0], best)
    return out


def _anchor(xy: np.ndarray) -> np.ndarray | None:
    """Where a set of incidents is: their most frequent location (police.uk snaps incidents to
    map points, so a street's busiest point), else the incident nearest their coordinate-wise
    median (ties: the first in sorted order); None for no incidents."""
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return None
    uniq, counts = np.unique(xy, axis=0, return_counts=True)
    if counts.max() > 1:
        return uniq[int(np.argmax(counts))]
    return uniq[int(np.argmin(np.hypot(*(uniq - np.median(uniq, axis=0)).T)))]


def _fmt(items: list[tuple[str, int]], total: int, points: dict[str, int] | None = None) -> str:
    """``"Granby Street (120); Parking Area (57 at 9 map points)"``: a generic name counted over
    several map points is several places (Bournemouth's "Parking Area (374)" was 32 car parks)."""
    points = points or {}

    def one(name: str, n: int) -> str:
        p = points.get(name, 1)
        return f"{name} ({n:,} at {p:,} map points)" if p > 1 else f"{name} ({n:,})"

    return "; ".join(one(name, n) for name, n in items) if total else ""


def _map_points(owner: np.ndarray, streets: pd.Series, xy: np.ndarray) -> dict[tuple[int, str], int]:
    """How many distinct map points (coordinates) carry each generic name in each area:
    ``{(area position, name): points}``, one grouped count for all areas (a loop per area took
    16 s for the demo's 643 point clusters)."""
    names = streets.astype(object).fillna("").to_numpy()  # a missing street (pd.NA) is no name, not an error
    uniq = pd.unique(names)
    generic = {u for u, g in zip(uniq, is_generic_location(uniq)) if g and u}
    sel = np.fromiter((n in generic for n in names), dtype=bool, count=len(names))
    if not sel.any():
        return {}
    d = pd.DataFrame({"a": owner[sel], "n": names[sel], "x": xy[sel, 0], "y": xy[sel, 1]}).drop_duplicates()
    return {(int(a), str(n)): int(c) for (a, n), c in d.groupby(["a", "n"]).size().items()}


def area_places(
    areas: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    *,
    towns: gpd.GeoDataFrame | None = None,
    top: int = 3,
    id_column: str = "area_id",
) -> pd.DataFrame:
    """Place names of each hotspot area: label, town, district, top streets and districts.

    Parameters
    ----------
    areas : GeoDataFrame
        Hotspot areas (polygons) with ``id_column``; with ``count`` (incidents), an area of fewer than
        :data:`NEIGHBOURS_HOT_INCIDENTS` is labelled ``"Stowmarket (hot by its neighbours)"``.
    incidents : GeoDataFrame
        The incidents, in the areas' CRS, optionally with ``location`` (police.uk's
        "On or near ...") and ``lsoa_name`` (``"Leicester 012A"``) columns.
    towns : GeoDataFrame, optional
        Gazetteer places (``name``, ``population``, Point geometry) to name each area's town:
        :func:`hotspots.gazetteer.places_in` of the study area for real data. None: no town.
    top : int
        How many streets and districts to list.
    id_column : str

    Returns
    -------
    DataFrame
        One row per area, in the order of ``areas``, with :data:`PLACE_COLUMNS`:
        ``label`` (``"Granby Street, Leicester"``; falls back to the district, then the street,
        then ``"area N"``), ``town``, ``district`` (the most frequent), ``top_street`` (the most
        frequent real street among the incidents of that district, else the most frequent name), ``streets`` and
        ``districts``
        (``"Granby Street (120); Market Place (57)"``, incidents in the area).

    Examples
    --------
    >>> import shapely
    >>> a = gpd.GeoDataFrame({"area_id": [1]}, geometry=[shapely.box(0, 0, 100, 100)], crs=27700)
    >>> inc = gpd.GeoDataFrame({"location": ["On or near Parking Area", "On or near High Street"] * 2,
    ...                         "lsoa_name": ["Melton 001A"] * 4},
    ...                        geometry=gpd.points_from_xy([10, 20, 30, 40], [5] * 4), crs=27700)
    >>> area_places(a, inc).loc[0, "label"]
    'High Street, Melton'
    """
    if not isinstance(areas, gpd.GeoDataFrame) or not isinstance(incidents, gpd.GeoDataFrame):
        raise ParameterError("`areas` and `incidents` must be GeoDataFrames.")
    if id_column not in areas.columns:
        raise ParameterError(f"`areas` has no `{id_column}` column; pass `id_column=` naming the area id.")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ParameterError(f"`top` must be a whole number >= 1; got {top!r}.")
    if len(areas) == 0:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "area_id" else "object") for c in PLACE_COLUMNS}).rename(
            columns={"area_id": id_column}
        )
    if areas.crs is not None and incidents.crs is not None and not areas.crs.equals(incidents.crs):
        raise CRSError(
            f"`areas` ({areas.crs.name}) and `incidents` ({incidents.crs.name}) are in different CRSs; "
            "convert one with `.to_crs`."
        )
    ids = areas[id_column].to_numpy()
    owner = np.full(len(incidents), -1, dtype=np.int64)
    if len(incidents):
        tree = shapely.STRtree(areas.geometry.values)
        pi, ai = tree.query(incidents.geometry.values, predicate="intersects")
        owner[pi[::-1]] = ai[::-1]  # a point on a shared edge goes to the first area
    inside = np.flatnonzero(owner >= 0)  # names are cleaned only for the incidents in an area
    owner = owner[inside]
    streets = (
        street_names(incidents["location"].iloc[inside])
        if "location" in incidents.columns
        else pd.Series([pd.NA] * len(inside), dtype="string")
    )
    districts = (
        district_names(incidents["lsoa_name"].iloc[inside])
        if "lsoa_name" in incidents.columns
        else pd.Series([pd.NA] * len(inside), dtype="string")
    )
    streets, districts = streets.reset_index(drop=True), districts.reset_index(drop=True)
    town = [None] * len(areas)
    street_tops = _tops(owner, streets, len(areas), top, prefer_streets=True)
    district_tops = _tops(owner, districts, len(areas), top)
    street_tops = _label_streets_in_top_district(owner, streets, districts, street_tops, district_tops)
    if towns is not None and len(towns):
        if towns.crs is not None and areas.crs is not None and not towns.crs.equals(areas.crs):
            towns = towns.to_crs(areas.crs)
        rp = areas.geometry.representative_point()
        xy = np.column_stack([rp.x.to_numpy(), rp.y.to_numpy()])
        # The town of where the label's street is (or the area's incidents are), not of a point
        # inside the polygon: a large area's interior point lay in Hove for its "New Road" in
        # Brighton (Sussex 2025, 1 km cells), in New Basford for Nottingham's South Parade.
        pts = shapely.get_coordinates(incidents.geometry.values[inside]) if len(inside) else np.empty((0, 2))
        codes, uniques = pd.factorize(streets.astype(object), use_na_sentinel=True)
        code_of = {str(u): i for i, u in enumerate(uniques)}
        # the district of where the label's street is: an area across a river takes the town of
        # its street's bank (Northumbria's "Railway Terrace" is North Shields' though most of its
        # area's incidents are in South Tyneside)
        label_district = [d for _, d in district_tops]
        dist_values = districts.astype(object).to_numpy()
        for k in range(len(areas)):
            mine = owner == k
            best = street_tops[k][1]
            on_street = mine & (codes == code_of[best]) if best in code_of else mine
            where_street = on_street if on_street.any() else mine
            anchor = _anchor(pts[where_street])
            if anchor is not None:
                xy[k] = anchor
            own = pd.Series(dist_values[where_street]).dropna()
            if len(own):
                counts = own.value_counts()
                label_district[k] = sorted(counts.index[counts == counts.max()])[0]
        # The town by reach, or one of the street's own district when there is one (without
        # ``lsoa_name`` no town has a district): a city across a river or a district border can
        # out-reach the town next door (Liverpool over Wallasey).
        # An area beyond every town's reach is in none of them (:data:`TOWN_MAX_REACH`): its district names it.
        town = _town_in_district(xy, towns, towns_districts(towns, incidents), label_district, TOWN_MAX_REACH)
    rows = []
    own_counts = pd.to_numeric(areas["count"], errors="coerce").to_numpy(dtype=float) if "count" in areas.columns else None
    points = _map_points(owner, streets, shapely.get_coordinates(incidents.geometry.values[inside]))
    per_area = np.bincount(owner, minlength=len(areas))
    for k in range(len(areas)):
        n = int(per_area[k])
        (st_top, st_best), (di_top, di_best) = street_tops[k], district_tops[k]
        where = town[k] or di_best
        if st_best and where and st_best.casefold() != where.casefold():
            label = f"{st_best}, {where}"
        elif st_best and where:  # "On or near Malton" in Malton: "Malton", not "Malton, Malton"
            label = where
        else:
            label = where or st_best or f"area {ids[k]}"
        if own_counts is not None and own_counts[k] < NEIGHBOURS_HOT_INCIDENTS:  # no street of its own to name
            label = f"{where or f'area {ids[k]}'} ({NEIGHBOURS_HOT_WORDS})"
        rows.append(
            {
                id_column: ids[k],
                "label": label,
                "town": town[k],
                "district": di_best,
                "streets": _fmt(st_top, n, {name: points.get((k, name), 1) for name, _ in st_top}),
                "districts": _fmt(di_top, n),
                "top_street": st_best,
            }
        )
    return pd.DataFrame(rows, columns=[id_column, *PLACE_COLUMNS[1:]])


#: A hotspot area holding fewer incidents than this (its ``count``) is hot by the incidents around it: its label is its
#: town marked :data:`NEIGHBOURS_HOT_WORDS`, not a street of one or two incidents ("Station Road West, Stowmarket":
#: 3 incidents, each of its streets 1). Counts below 5 are also those the scheme's publication protects.
NEIGHBOURS_HOT_INCIDENTS = 5
NEIGHBOURS_HOT_WORDS = "hot by its neighbours"

#: An area whose nearest town by reach lies in another district takes the nearest town of its own
#: district when it lies within this many times that town's reach (:func:`town_of`): Wallasey, not
#: Liverpool across the Mersey; but not a village 7 km off for a suburb the gazetteer lacks. The same limit as
#: :data:`TOWN_MAX_REACH`: Durham and Cleveland 2025's "Trunk Road" (Redcar and Cleveland, 292 of 292 incidents) lay
#: 1.9 km from Eston (7,005 people: 2.3 reaches) and was named after Middlesbrough, 4.5 km off in another district.
TOWN_DISTRICT_MAX_REACH = TOWN_MAX_REACH


def _town_in_district(xy: np.ndarray, towns: gpd.GeoDataFrame, town_district: np.ndarray, area_district: list,
                      max_reach: float = np.inf) -> list:
    """Per area (point ``xy``, top district ``area_district``): the town by reach, or the nearest
    town of the area's own district (:data:`TOWN_DISTRICT_MAX_REACH`); None beyond ``max_reach`` reaches of the town
    by reach (hotspot areas: :data:`TOWN_MAX_REACH`)."""
    names = towns["name"].astype(str).to_numpy(dtype=object)
    best, ratio = _nearest_by_reach(xy, towns)
    out = [n if r <= max_reach else None for n, r in zip(names[best], ratio)]  # beyond every town's reach: none
    for k, want in enumerate(area_district):
        same = np.flatnonzero(town_district == want) if want is not None else np.array([], dtype=np.int64)
        if len(same) == 0 or town_district[best[k]] == want:
            continue
        i, r = _nearest_by_reach(xy[k : k + 1], towns.iloc[same])
        if r[0] <= TOWN_DISTRICT_MAX_REACH:
            out[k] = names[same[i[0]]]
    return out


def towns_at(
    xy: Any, towns: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None = None, *, areas: gpd.GeoDataFrame | None = None
) -> np.ndarray:
    """The town of each point by the rule that names hotspot areas: the one rule for every point.

    Task sites, referral locations (``harm_town``, ``task_town`` of
    :func:`hotspots.linkage.link_referrals`) and the flows between them take their town from
    here, as hotspot areas do in :func:`area_places`: the town the point lies most within by
    reach (:func:`town_of`), or the nearest town of the point's own local authority district
    within :data:`TOWN_DISTRICT_MAX_REACH` reaches. A point's district is the most frequent
    district among the incidents nearest it (:func:`towns_districts`' rule, applied to the point):
    a site on Newcastle-under-Lyme's High Street is Newcastle's, not that of a Stoke-on-Trent
    neighbourhood whose centre lies a little nearer. Without incidents (or ``lsoa_name``) the
    district step is left out. A point inside one of ``areas`` takes that area's ``town`` (the
    first area on a shared edge): the name the area is published under. The reach rule's border
    between two towns can run through an area, whose town is judged at its street's busiest
    point; Cleveland's task site at Thornaby Riverside, inside "Redcar Road, Thornaby-on-Tees",
    read Stockton-on-Tees 200 m from that street's point.

    Parameters
    ----------
    xy : ndarray of shape (n, 2)
        Points in the towns' CRS (metres); NaN rows get None.
    towns : GeoDataFrame
        Town-centre points with ``name`` (and ``population``; without it every town counts as
        500 people, which makes the rule the nearest town).
    incidents : GeoDataFrame, optional
        The analysed incidents in the towns' CRS, with ``lsoa_name`` for the district step.
    areas : GeoDataFrame, optional
        Hotspot areas in the towns' CRS with their ``town`` (:func:`area_places`' column).

    Returns
    -------
    ndarray of object
        Town names; None for NaN points or when ``towns`` is empty.
    """
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    out = np.full(len(pts), None, dtype=object)
    ok = np.isfinite(pts).all(axis=1)
    if towns is None or len(towns) == 0 or not ok.any():
        return out
    p = pts[ok]
    if incidents is None or len(incidents) == 0 or "lsoa_name" not in incidents.columns:
        named = np.asarray(town_of(p, towns), dtype=object)
    else:
        centres = gpd.GeoDataFrame(geometry=gpd.points_from_xy(p[:, 0], p[:, 1]), crs=towns.crs)
        own = towns_districts(centres, incidents)
        named = np.asarray(_town_in_district(p, towns, towns_districts(towns, incidents), list(own)), dtype=object)
    if areas is not None and len(areas):
        if "town" not in areas.columns:
            raise ParameterError("`areas` has no `town` column; name them with `area_places` first.")
        area_town = areas["town"].to_numpy(dtype=object)
        pi, ai = shapely.STRtree(areas.geometry.values).query(shapely.points(p), predicate="intersects")
        first = np.full(len(p), -1, dtype=np.int64)
        first[pi[::-1]] = ai[::-1]  # a point on a shared edge goes to the first area, as in area_places
        hit = np.flatnonzero(first >= 0)
        keep = np.array([area_town[first[i]] is not None and not pd.isna(area_town[first[i]]) for i in hit], dtype=bool)
        named[hit[keep]] = area_town[first[hit[keep]]]
    out[ok] = named
    return out


#: A town's district is the most frequent among this many incidents nearest its centre ...
TOWN_DISTRICT_INCIDENTS = 25
#: ... within this distance, metres (:func:`towns_districts`), ...
TOWN_DISTRICT_RADIUS_M = 1_000.0
#: ... when at least this many are: a town over the force's border, with only the edge of the
#: force's data within reach, has no district of this force's.
TOWN_DISTRICT_MIN_INCIDENTS = 10


def towns_districts(towns: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame) -> np.ndarray:
    """Each town's local authority district, read from the data: the most frequent district
    (:func:`district_names` of ``lsoa_name``) among the :data:`TOWN_DISTRICT_INCIDENTS` incidents
    nearest its centre within :data:`TOWN_DISTRICT_RADIUS_M` (ties: by name); None for a town with
    fewer than :data:`TOWN_DISTRICT_MIN_INCIDENTS` of them (a town across the force's border), or
    incidents without ``lsoa_name``. Towns and incidents in one CRS (metres)."""
    out = np.full(len(towns), None, dtype=object)
    if len(towns) == 0 or len(incidents) == 0 or "lsoa_name" not in incidents.columns:
        return out
    from scipy.spatial import cKDTree

    xy = shapely.get_coordinates(incidents.geometry.values)
    k = min(TOWN_DISTRICT_INCIDENTS, len(xy))
    centres = np.column_stack([towns.geometry.x.to_numpy(), towns.geometry.y.to_numpy()])
    dist, idx = cKDTree(xy).query(centres, k=k, distance_upper_bound=TOWN_DISTRICT_RADIUS_M)
    dist, idx = dist.reshape(len(towns), k), idx.reshape(len(towns), k)
    near = np.isfinite(dist)
    if not near.any():
        return out
    names = district_names(incidents["lsoa_name"].iloc[np.unique(idx[near])])
    lookup = dict(zip(np.unique(idx[near]).tolist(), names.to_numpy(dtype=object).tolist()))
    for t in range(len(towns)):
        vals = [lookup[i] for i in idx[t][near[t]].tolist() if lookup[i] is not None and not pd.isna(lookup[i])]
        if len(vals) >= TOWN_DISTRICT_MIN_INCIDENTS:
            counts = pd.Series(vals).value_counts()
            out[t] = sorted(counts.index[counts == counts.max()])[0]
    return out


def is_demo_data(incidents: Any) -> bool:
    """True when every incident id starts with :data:`DEMO_ID_PREFIX` (the synthetic demo data)."""
    if not isinstance(incidents, pd.DataFrame) or len(incidents) == 0 or "incident_id" not in incidents.columns:
        return False
    return bool(incidents["incident_id"].astype(str).str.startswith(DEMO_ID_PREFIX).all())


def label_towns(
    area: Any = None, incidents: Any = None, *, demo: bool | None = None, margin_m: float = 2_000.0
) -> tuple[gpd.GeoDataFrame, str]:
    """The towns to name hotspot areas and to label maps with, and their attribution.

    One rule for every output: the synthetic demo is labelled with its own 38 Derbyshire towns
    (:func:`hotspots.gazetteer.towns`, from which it was generated); any real data with the
    GeoNames places (:func:`hotspots.gazetteer.places_in`) inside the study area and ``margin_m``
    around it that the incidents show to be the data's own (:func:`supported_by`), so that no
    force is labelled with another's towns.

    Parameters
    ----------
    area : GeoDataFrame, optional
        The study area. Without one, the box holding 98 % of the incidents on each axis
        (:func:`hotspots.grid.incident_extent`).
    incidents : GeoDataFrame, optional
        Needed without ``area``, and to tell the demo apart when ``demo`` is None.
    demo : bool, optional
        Force the choice (default: :func:`is_demo_data` of ``incidents``).
    margin_m : float
        Places this close outside the area count too (a town on the border).

    Returns
    -------
    towns : GeoDataFrame
        ``name``, ``population`` and Point ``geometry`` in the area's (or incidents') CRS,
        largest first.
    attribution : str
        :data:`hotspots.gazetteer.GEONAMES_ATTRIBUTION`, or "" for the demo's towns.
    """
    from . import gazetteer
    from .grid import incident_extent

    if demo is None:
        demo = is_demo_data(incidents)
    crs = getattr(area, "crs", None) or getattr(incidents, "crs", None)
    if crs is None:
        raise ParameterError("give a study area or incidents with a CRS to choose the towns from.")
    if demo:
        t = gazetteer.towns().to_crs(crs)
        return t.sort_values(["population", "name"], ascending=[False, True], kind="stable").reset_index(drop=True), ""
    has_points = incidents is not None and len(incidents) > 0
    if area is None:
        if not has_points:
            raise ParameterError("give a study area or some incidents to choose the towns from.")
        area = shapely.box(*incident_extent(shapely.get_coordinates(incidents.geometry.values)))
    towns = gazetteer.places_in(area, crs=crs, margin_m=margin_m)
    if has_points:
        towns = towns[supported_by(towns, incidents.to_crs(crs) if incidents.crs is not None else incidents)]
    return towns.reset_index(drop=True), gazetteer.GEONAMES_ATTRIBUTION


#: A place is named only where the data hold at least this share of the incidents its population
#: would have at the data's average rate (:func:`supported_by`).
MIN_SUPPORT = 0.1


def supported_by(towns: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, *, min_support: float = MIN_SUPPORT) -> np.ndarray:
    """Which places the incidents show to lie in the data's area (a force's own towns).

    A study area drawn from the data, or a boundary, also takes in towns just across the border
    (Long Eaton, in Derbyshire, lies within a kilometre of Leicestershire). A place counts when
    the incidents within its reach (``TOWN_REACH_M * sqrt(population)``, at least 500 m) number
    at least ``min_support`` times what its population would have at the data's average rate
    (all incidents over the population of all candidate places): a town policed by another force
    has almost none of this force's incidents around its centre. Places without a population
    count as 500 people.

    Returns
    -------
    ndarray of bool, one per place.
    """
    n = len(towns)
    if n == 0 or len(incidents) == 0:
        return np.zeros(n, dtype=bool)
    pop = np.full(n, 500.0)
    if "population" in towns:
        pop = pd.to_numeric(towns["population"], errors="coerce").to_numpy(dtype=float)
    pop = np.where(np.isfinite(pop) & (pop > 0), pop, 500.0)
    reach = np.maximum(TOWN_REACH_M * np.sqrt(pop), 500.0)
    xy = shapely.get_coordinates(incidents.geometry.values)
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    centres = np.column_stack([towns.geometry.x.to_numpy(), towns.geometry.y.to_numpy()])
    near = np.array([len(ix) for ix in tree.query_ball_point(centres, reach)], dtype=float)
    rate = len(xy) / pop.sum()
    return near >= min_support * rate * pop


def name_hotspot_areas(areas: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, study_area: Any = None) -> pd.DataFrame:
    """:func:`area_places` with the towns of :func:`label_towns`: the one call every output uses.

    Parameters
    ----------
    areas : GeoDataFrame
        Hotspot areas with ``area_id``.
    incidents : GeoDataFrame
        The analysed incidents (converted to the areas' CRS when needed).
    study_area : GeoDataFrame, optional
        Where to take towns from; default: around the areas.
    """
    if incidents is not None and incidents.crs is not None and areas.crs is not None and not incidents.crs.equals(areas.crs):
        incidents = incidents.to_crs(areas.crs)
    if incidents is None:
        incidents = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=areas.crs))
    if len(areas) == 0:
        return area_places(areas, incidents)
    where = study_area
    if where is None or len(where) == 0:
        where = gpd.GeoDataFrame(geometry=areas.geometry.values, crs=areas.crs)
    towns, _ = label_towns(where, incidents, demo=is_demo_data(incidents))
    return area_places(areas, incidents, towns=towns)


def areas_near(labels: np.ndarray, counts: np.ndarray, grid: Any, *, towns: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """Per numbered area, the place its busiest cell lies most within (:func:`town_of`).

    For outputs whose incidents keep no street or LSOA names (the national run streams
    coordinates only): an analyst opening the layer still reads "near Blackpool". The busiest
    cell, not the polygon's centre, so a long area is named where its incidents are.

    Parameters
    ----------
    labels : ndarray of int, grid shape
        Area number of each cell (1..n), 0 outside every area (:attr:`hotspots.areas.HotspotAreas.labels`).
    counts : ndarray of float, grid shape
        Incidents per cell (NaN allowed: taken as 0).
    grid : Grid
        Gives the cell centres and the CRS (metres).
    towns : GeoDataFrame, optional
        Places with ``name`` and ``population``; default every GeoNames place of at least 500
        people in the United Kingdom (:func:`hotspots.gazetteer.places`).

    Returns
    -------
    ndarray of object, length = the largest label
        Place names in area order (area 1 first); None for an area with no cells or when no places
        are given.
    """
    lab = np.asarray(labels).ravel()
    n = int(lab.max()) if lab.size else 0
    if n == 0:
        return np.array([], dtype=object)
    c = np.nan_to_num(np.asarray(counts, dtype=float).ravel(), nan=0.0)
    idx = np.flatnonzero(lab > 0)
    # the busiest cell per area: sort by (area, count) and take each area's last
    order = np.lexsort((c[idx], lab[idx]))
    srt = idx[order]
    last = np.r_[lab[srt][1:] != lab[srt][:-1], True]
    best = srt[last]
    out = np.array([None] * n, dtype=object)
    if towns is None:
        from .gazetteer import places

        towns = places(grid.crs)
    else:
        towns = towns.to_crs(grid.crs)
    if len(towns) == 0:
        return out
    xy = grid.centres()[best]
    out[lab[best] - 1] = town_of(xy, towns)
    return out
