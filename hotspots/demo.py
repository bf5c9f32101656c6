"""Deterministic synthetic demo data for Derbyshire: ASB incidents, scheme referrals, task sites.

Nothing here is real data. :func:`generate_demo` builds, from one seed, a force-sized set of
anti-social behaviour (ASB) incidents around the towns of :mod:`hotspots.gazetteer`, with
town-centre and estate hotspots, seasonality and a long-term trend; a *planted* scheme effect on a
documented subset of hotspots (a fall from the scheme start, with a little displacement into a
ring around each treated hotspot); referrals into an immediate-justice scheme with the outcome
figures the force reports; and reparative task sites. The ground truth (which hotspots were
treated, by how much, their buffers, the expected counts) comes with the data so that tests can
check that an analysis recovers it. :func:`write_demo` writes it all to a folder.

Determinism: the same arguments give byte-for-byte identical files. Every random draw comes from
``numpy.random.default_rng(seed)`` (split into independent streams per stage); nothing depends on
the current date, dict/set iteration of unordered data, or the machine (beyond the installed
numpy/pyproj versions).

Model (all distances in metres, EPSG:27700)
--------------------------------------------
Incidents are the sum of independent Poisson processes ("components"), each with a daily rate
``rate × S(day) [× treatment]`` and a spatial kernel:

* **hotspots** (:data:`HOTSPOTS`): a town centre (Gaussian, sd 180–250 m) and 0–4 estates
  (sd 280–350 m, 1.2–3 km from the centre) per town;
* **town diffuse**: a wide Gaussian around each town centre, sd ``clip(1500 (pop/20000)^0.3,
  1500, 3000)``, rate proportional to population;
* **rural background**: uniform over the study area;
* **displacement** (treated hotspots only): uniform in a ring ``[radius, radius + 400 m]``
  around the hotspot centre, rate ``displacement × removed``.

``S(day)`` = seasonal cycle (peak mid-July, amplitude 25 %) × (1 + Halloween and bonfire-night
spikes) × day-of-week profile (Friday/Saturday high) × trend (``trend_per_year``, compounded,
1 at the middle of the period). The treatment multiplies a treated hotspot's rate by
``1 - effect × ramp``, the ramp rising linearly from 0 at the scheme start to 1 after
``ramp_days``. Points are resampled until they fall inside the study area, then snapped to a
fixed lattice of "map points" (50 m spacing with a deterministic jitter), as police.uk moves each
crime to an anonymous map point; many incidents therefore share exact coordinates.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ._errors import ParameterError
from .gazetteer import default_study_area, towns
from .grid import BNG
from .privacy import pseudonymise
from .schema import (
    AGE_GROUPS,
    ASB_CATEGORY,
    REFERRAL_COLUMNS,
    ROUTES,
    SCHEME_START,
)

__all__ = [
    "DemoData",
    "Hotspot",
    "generate_demo",
    "write_demo",
    "HOTSPOTS",
    "DEFAULT_TREATED",
    "DEMO_SALT",
    "FOLLOW_UP_MONTHS",
    "INCIDENT_FILE_COLUMNS",
    "REFERRAL_FILE_COLUMNS",
    "TASK_FILE_COLUMNS",
]

#: Salt used to pseudonymise the synthetic person numbers (public: the people are not real).
DEMO_SALT = "hotspots-demo-data-salt-not-secret"
#: Re-offending is recorded within this many calendar months of the referral.
FOLLOW_UP_MONTHS = 6

#: Columns of the written ``incidents.csv``.
INCIDENT_FILE_COLUMNS = (
    "incident_id", "month", "occurred", "category", "location",
    "longitude", "latitude", "easting", "northing",
)
#: Columns of the written ``referrals.csv`` (the canonical columns, location as coordinates).
REFERRAL_FILE_COLUMNS = tuple(c for c in REFERRAL_COLUMNS if c != "geometry") + (
    "easting", "northing", "longitude", "latitude",
)
#: Columns of the written ``tasks.csv``.
TASK_FILE_COLUMNS = ("task_id", "kind", "site_name", "town", "easting", "northing", "longitude", "latitude")


@dataclass(frozen=True)
class Hotspot:
    """One planted hotspot of the demo model.

    Attributes
    ----------
    id : str
        Stable identifier, e.g. ``"derby-centre"``.
    town : str
        Gazetteer town it belongs to.
    kind : str
        ``"centre"`` or ``"estate"``.
    dx, dy : float
        Offset of the hotspot centre from the town centre, metres (east, north).
    sd : float
        Standard deviation of the Gaussian kernel, metres.
    rate : float
        Incidents per month at the reference level (seasonal mean, middle of the period).
    """

    id: str
    town: str
    kind: str
    dx: float
    dy: float
    sd: float
    rate: float


def _h(town: str, kind: str, suffix: str, dx: float, dy: float, sd: float, rate: float) -> Hotspot:
    slug = town.lower().replace(" ", "-")
    hid = f"{slug}-centre" if kind == "centre" else f"{slug}-estate-{suffix}"
    return Hotspot(hid, town, kind, dx, dy, sd, rate)


#: The planted hotspots. Estates are placed at generic compass offsets and carry no real
#: neighbourhood names. Spacing keeps every hotspot's core outside any treated hotspot's buffer.
HOTSPOTS: tuple[Hotspot, ...] = (
    _h("Derby", "centre", "", 0, 0, 250, 110),
    _h("Derby", "estate", "sw", -700, -1900, 350, 60),
    _h("Derby", "estate", "ne", 2200, 1100, 350, 45),
    _h("Derby", "estate", "se", 2300, -2000, 350, 38),
    _h("Derby", "estate", "w", -2900, 900, 350, 34),
    _h("Chesterfield", "centre", "", 0, 0, 250, 70),
    _h("Chesterfield", "estate", "s", -300, -2100, 300, 45),
    _h("Chesterfield", "estate", "w", -2500, 800, 300, 28),
    _h("Chesterfield", "estate", "n", 500, 2600, 300, 22),
    _h("Ilkeston", "centre", "", 0, 0, 220, 50),
    _h("Ilkeston", "estate", "n", 200, 1800, 300, 25),
    _h("Long Eaton", "centre", "", 0, 0, 220, 35),
    _h("Long Eaton", "estate", "sw", -1600, -900, 300, 18),
    _h("Swadlincote", "centre", "", 0, 0, 220, 45),
    _h("Swadlincote", "estate", "sw", -1500, -1300, 300, 20),
    _h("Swadlincote", "estate", "nw", -1200, 1100, 280, 15),
    _h("Buxton", "centre", "", 0, 0, 220, 45),
    _h("Buxton", "estate", "s", 400, -2100, 300, 12),
    _h("Glossop", "centre", "", 0, 0, 220, 26),
    _h("Glossop", "estate", "w", -2700, -100, 300, 20),
    _h("Ripley", "centre", "", 0, 0, 200, 20),
    _h("Ripley", "estate", "e", 1400, 300, 280, 10),
    _h("Heanor", "centre", "", 0, 0, 200, 20),
    _h("Heanor", "estate", "n", -200, 1500, 280, 12),
    _h("Alfreton", "centre", "", 0, 0, 200, 22),
    _h("Alfreton", "estate", "ne", 1200, 700, 280, 14),
    _h("Dronfield", "centre", "", 0, 0, 200, 10),
    _h("Dronfield", "estate", "w", -1300, 200, 280, 10),
    _h("Staveley", "centre", "", 0, 0, 200, 14),
    _h("Staveley", "estate", "s", -300, -1800, 280, 14),
    _h("Matlock", "centre", "", 0, 0, 200, 14),
    _h("Belper", "centre", "", 0, 0, 200, 16),
    _h("Bolsover", "centre", "", 0, 0, 200, 12),
    _h("Shirebrook", "centre", "", 0, 0, 200, 40),
    _h("Ashbourne", "centre", "", 0, 0, 180, 8),
    _h("Clay Cross", "centre", "", 0, 0, 200, 12),
    _h("Eckington", "centre", "", 0, 0, 180, 8),
    _h("Killamarsh", "centre", "", 0, 0, 180, 7),
    _h("Sandiacre", "centre", "", 0, 0, 180, 6),
    _h("New Mills", "centre", "", 0, 0, 180, 8),
    _h("South Normanton", "centre", "", 0, 0, 180, 8),
    _h("Chapel-en-le-Frith", "centre", "", 0, 0, 180, 6),
    _h("Hilton", "centre", "", 0, 0, 180, 5),
    _h("Brimington", "centre", "", 0, 0, 180, 7),
)

#: Hotspots treated by default (each with about 40+ incidents a month inside its radius before the scheme).
DEFAULT_TREATED: tuple[str, ...] = (
    "derby-centre",
    "derby-estate-sw",
    "chesterfield-centre",
    "chesterfield-estate-s",
    "ilkeston-centre",
    "swadlincote-centre",
    "buxton-centre",
    "shirebrook-centre",
)

# Town diffuse rate: incidents per month per 1,000 residents; rural background per month.
_DIFFUSE_PER_1000 = 1.50
_RURAL_PER_MONTH = 130.0
_SEASON_AMPLITUDE = 0.28
_SEASON_PEAK_DOY = 196  # mid-July (0 = 1 January)
# Day-of-week multipliers, Monday..Sunday (normalised to mean 1 below).
_WEEKDAY = np.array([0.90, 0.88, 0.92, 0.97, 1.12, 1.25, 0.96])
# Hour-of-day weights 00..23: evening-heavy, low before dawn.
_HOURS = np.array([3.0, 2.2, 1.6, 1.1, 0.8, 0.7, 0.9, 1.3, 1.8, 2.2, 2.6, 3.0,
                   3.4, 3.6, 3.9, 4.6, 5.3, 6.0, 6.6, 7.0, 7.0, 6.6, 5.6, 4.3])
_LATTICE_M = 50.0
_JITTER_M = 24.0
_BUFFER_WIDTH_M = 400.0

# police.uk-style "On or near ..." labels, picked per map point.
_STREETS = (
    "High Street", "Market Place", "Station Road", "Church Street", "Park Road", "Queen Street",
    "King Street", "Victoria Road", "Mill Lane", "The Green", "Chapel Street", "Bridge Street",
    "School Lane", "New Road", "Green Lane", "Albert Street", "Main Road", "Church Lane",
    "North Street", "South Street", "Derby Road", "Chesterfield Road", "Nottingham Road",
    "Manor Road", "Springfield Road", "Hall Lane", "Supermarket", "Parking Area",
    "Shopping Area", "Sports/Recreation Area", "Petrol Station", "Further/Higher Educational Building",
)

# Reparative task sites: (anchor = hotspot id or town, kind, site name). Generic names only.
_TASK_SITES: tuple[tuple[str, str, str], ...] = (
    ("derby-estate-w", "allotment", "Derby West Community Allotments"),
    ("derby-centre", "food bank", "Derby City Food Bank"),
    ("derby-estate-sw", "charity shop", "Derby Charity Shop (Hospice)"),
    ("derby-centre", "litter picking", "Derby Riverside Litter Pick"),
    ("derby-estate-ne", "workshop", "Derby East Community Workshop"),
    ("derby-estate-se", "bird and bat boxes", "Derby South Bird and Bat Box Project"),
    ("chesterfield-centre", "food bank", "Chesterfield Food Bank"),
    ("chesterfield-estate-s", "allotment", "Chesterfield Community Allotments"),
    ("chesterfield-estate-w", "litter picking", "Chesterfield Canal Litter Pick"),
    ("chesterfield-estate-n", "workshop", "Chesterfield Community Workshop"),
    ("Ilkeston", "charity shop", "Ilkeston Charity Shop (Hospice)"),
    ("ilkeston-estate-n", "litter picking", "Ilkeston Park Litter Pick"),
    ("Long Eaton", "food bank", "Long Eaton Food Bank"),
    ("long-eaton-estate-sw", "allotment", "Long Eaton Community Allotments"),
    ("Swadlincote", "food bank", "Swadlincote Food Bank"),
    ("swadlincote-estate-sw", "litter picking", "Swadlincote Woodland Litter Pick"),
    ("Buxton", "food bank", "Buxton Food Bank"),
    ("buxton-estate-s", "litter picking", "Buxton Park Litter Pick"),
    ("Glossop", "charity shop", "Glossop Charity Shop (Children's Charity)"),
    ("glossop-estate-w", "allotment", "Glossop Community Allotments"),
    ("Matlock", "litter picking", "Matlock Riverside Litter Pick"),
    ("Ripley", "village hall", "Ripley Community Hall"),
    ("Heanor", "charity shop", "Heanor Charity Shop (Animal Rescue)"),
    ("Alfreton", "food bank", "Alfreton Food Bank"),
    ("Belper", "allotment", "Belper Community Allotments"),
    ("Dronfield", "workshop", "Dronfield Community Workshop"),
    ("Staveley", "allotment", "Staveley Community Allotments"),
    ("Bolsover", "village hall", "Bolsover Community Hall"),
    ("Shirebrook", "workshop", "Shirebrook Community Workshop"),
    ("Ashbourne", "charity shop", "Ashbourne Charity Shop (Hospice)"),
    ("Clay Cross", "litter picking", "Clay Cross Park Litter Pick"),
    ("Eckington", "village hall", "Eckington Village Hall"),
    ("Killamarsh", "bird and bat boxes", "Killamarsh Bird and Bat Box Project"),
    ("Sandiacre", "allotment", "Sandiacre Community Allotments"),
    ("New Mills", "litter picking", "New Mills Riverside Litter Pick"),
    ("South Normanton", "village hall", "South Normanton Village Hall"),
    ("Chapel-en-le-Frith", "bird and bat boxes", "Chapel-en-le-Frith Bird and Bat Box Project"),
    ("Bakewell", "litter picking", "Bakewell Riverside Litter Pick"),
    ("Wirksworth", "bird and bat boxes", "Wirksworth Bird and Bat Box Project"),
    ("Melbourne", "village hall", "Melbourne Village Hall"),
)

# Referral model.
_REFERRAL_PLATEAU_PER_MONTH = 138.0
_REFERRAL_RAMP_DAYS = 458  # start level to plateau (July 2023 -> October 2024 by default)
_REFERRAL_START_LEVEL = 0.28
_REFERRAL_WEEKDAY = np.array([1.12, 1.10, 1.08, 1.06, 1.04, 0.82, 0.70])
_REFERRAL_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0.5, 2.0, 3.0, 3.2, 3.2,
                            3.0, 3.0, 3.0, 3.2, 3.4, 3.2, 2.8, 2.4, 2.0, 1.4, 0.8, 0.3])
_HOTSPOT_SHARE = 0.75  # referrals located around hotspots (rest: town diffuse)
_TREATED_REFERRAL_WEIGHT = 3.0
_YOUTH_SHARE = 0.35
_REPEAT_PROB = 0.105  # chance a referral belongs to someone referred before
_OFFENCE_P = {
    "youth": {"anti-social behaviour": 0.38, "criminal damage": 0.20, "public order": 0.12, "shop theft": 0.12,
              "harassment": 0.08, "cannabis possession": 0.08, "drunk and disorderly": 0.02},
    "adult": {"anti-social behaviour": 0.24, "public order": 0.17, "shop theft": 0.18, "criminal damage": 0.12,
              "cannabis possession": 0.11, "harassment": 0.08, "drunk and disorderly": 0.10},
}
_ROUTE_P = {
    "youth": {"community resolution": 0.50, "acceptable behaviour contract": 0.20, "asb warning letter": 0.15,
              "conditional caution": 0.10, "voluntary control order": 0.05},
    "adult": {"community resolution": 0.55, "conditional caution": 0.20, "asb warning letter": 0.10,
              "acceptable behaviour contract": 0.08, "voluntary control order": 0.07},
}
_VOLUNTARY_ROUTES = ("asb warning letter", "acceptable behaviour contract", "voluntary control order")
_VICTIM_OFFENCES = ("anti-social behaviour", "harassment", "criminal damage", "shop theft", "public order")
_IN_PROGRESS_DAYS = 21
_COMPLETED_SHARE = 0.78  # of referrals old enough to be finished
_REFUSED_SHARE = 0.14
_REOFFENDED_SHARE = 0.21  # of referrals with a full follow-up window
_VICTIM_RESPONSE_SHARE = 0.40  # of all referrals: a victim who answered the survey
_VICTIM_UNSATISFIED_SHARE = 0.005
_FTE_SHARE = 0.40
_CONTACT_48H_P = 0.91
_BOOK_FAST_P = 0.93
_LOCAL_TASK_P = 0.89
_LOCAL_TASK_M = 2000.0


# --------------------------------------------------------------------------------------------
# Result type
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DemoData:
    """Synthetic demo data and the truth behind it.

    Attributes
    ----------
    incidents : GeoDataFrame
        One row per ASB incident, EPSG:27700: ``incident_id``, ``month`` (first of the month,
        ``datetime64[ns]``, as the loaders give it; "YYYY-MM" in the CSV), ``occurred`` (naive
        local ``datetime64[ns]``), ``category``, ``location`` ("On or near ..."), ``geometry``.
    referrals : GeoDataFrame
        One row per referral, EPSG:27700, the columns of :data:`hotspots.schema.REFERRAL_COLUMNS`.
    tasks : GeoDataFrame
        One row per reparative task site, EPSG:27700: ``task_id``, ``kind``, ``site_name``,
        ``town``, ``geometry``.
    ground_truth : dict
        What was planted (the content of ``ground_truth.json``): parameters, periods, one record
        per hotspot (centre, sd, radius, treated, effect, buffer radii, expected monthly counts),
        expected monthly totals and the referral model's targets.
    params : dict
        The arguments that produced the data.
    """

    incidents: gpd.GeoDataFrame
    referrals: gpd.GeoDataFrame
    tasks: gpd.GeoDataFrame
    ground_truth: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)

    def hotspot_areas(self, *, treated_only: bool = False) -> gpd.GeoDataFrame:
        """The planted hotspots as circles of their ``radius_m`` (2 sd), EPSG:27700.

        Columns ``hotspot_id``, ``town``, ``kind``, ``treated``, ``radius_m``, ``buffer_inner_m``,
        ``buffer_outer_m``, ``geometry``.
        """
        recs = [h for h in self.ground_truth["hotspots"] if h["treated"] or not treated_only]
        pts = shapely.points([h["easting"] for h in recs], [h["northing"] for h in recs])
        radius = np.array([h["radius_m"] for h in recs], dtype=float)
        return gpd.GeoDataFrame(
            {
                "hotspot_id": [h["id"] for h in recs],
                "town": [h["town"] for h in recs],
                "kind": [h["kind"] for h in recs],
                "treated": np.array([h["treated"] for h in recs], dtype=bool),
                "radius_m": radius,
                "buffer_inner_m": np.array([h["buffer_inner_m"] for h in recs], dtype=float),
                "buffer_outer_m": np.array([h["buffer_outer_m"] for h in recs], dtype=float),
            },
            geometry=shapely.buffer(pts, radius, quad_segs=16),
            crs=BNG,
        )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _month(value: Any, name: str) -> np.datetime64:
    try:
        m = np.datetime64(str(value), "M")
        ok = len(str(value)) == 7
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ParameterError(f"`{name}` must be a month written 'YYYY-MM' (e.g. '2022-01'); got {value!r}.")
    return m


def _day(value: Any, name: str) -> np.datetime64:
    try:
        d = np.datetime64(str(value), "D")
        ok = len(str(value)) == 10
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ParameterError(f"`{name}` must be a date written 'YYYY-MM-DD' (e.g. '2023-07-01'); got {value!r}.")
    return d


def _number(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"`{name}` must be a number; got {type(value).__name__} {value!r}.")
    v = float(value)
    bad = not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi)
    if bad:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        raise ParameterError(f"`{name}` must lie in {lb}{lo:g}, {hi:g}{rb}; got {value!r}.")
    return v


def _validate(seed: Any, start: Any, end: Any, scheme_start: Any, effect: Any, displacement: Any,
              ramp_days: Any, trend_per_year: Any, volume_scale: Any, referral_scale: Any,
              treated: Iterable[str] | None) -> dict[str, Any]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ParameterError(f"`seed` must be a non-negative integer; got {seed!r}.")
    m0, m1 = _month(start, "start"), _month(end, "end")
    if m1 < m0:
        raise ParameterError(f"`end` ({end}) is before `start` ({start}); give `start` <= `end`.")
    s = _day(scheme_start, "scheme_start")
    first, data_end = m0.astype("M8[D]"), (m1 + 1).astype("M8[D]")
    if not (first < s < data_end):
        raise ParameterError(
            f"`scheme_start` ({scheme_start}) must fall inside the data period {start}..{end}; "
            "move it or widen `start`/`end`."
        )
    if isinstance(ramp_days, bool) or not isinstance(ramp_days, (int, np.integer)) or not 0 <= int(ramp_days) <= 365:
        raise ParameterError(f"`ramp_days` must be an integer number of days in [0, 365]; got {ramp_days!r}.")
    names = [h.id for h in HOTSPOTS]
    if treated is None:
        treated_ids = list(DEFAULT_TREATED)
    else:
        if isinstance(treated, str):
            raise ParameterError("`treated` must be a list of hotspot ids, not one string; e.g. `treated=['derby-centre']`.")
        treated_ids = [str(t) for t in treated]
        unknown = [t for t in treated_ids if t not in names]
        if unknown:
            raise ParameterError(f"`treated` has unknown hotspot id(s) {unknown}; choose from `hotspots.demo.HOTSPOTS` (e.g. 'derby-centre').")
        if len(set(treated_ids)) != len(treated_ids):
            raise ParameterError("`treated` lists a hotspot twice; give each id once.")
    return {
        "seed": int(seed),
        "start": str(m0),
        "end": str(m1),
        "scheme_start": str(s),
        "effect": _number(effect, "effect", 0.0, 1.0, hi_open=True),
        "displacement": _number(displacement, "displacement", 0.0, 1.0),
        "ramp_days": int(ramp_days),
        "trend_per_year": _number(trend_per_year, "trend_per_year", -0.5, 0.5),
        "volume_scale": _number(volume_scale, "volume_scale", 0.0, 20.0, lo_open=True),
        "referral_scale": _number(referral_scale, "referral_scale", 0.0, 20.0, lo_open=True),
        "treated": [t for t in names if t in treated_ids],  # model order, not caller order
    }


# --------------------------------------------------------------------------------------------
# Helpers: time profile, spatial sampling, map-point snapping
# --------------------------------------------------------------------------------------------


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (days.astype("int64") + 3) % 7


def _days_from(days: np.ndarray, month: int, dom: int) -> np.ndarray:
    """Days from ``days`` to the same year's ``month``/``dom``."""
    years = days.astype("M8[Y]")
    target = (years.astype("M8[M]") + (month - 1)).astype("M8[D]") + (dom - 1)
    return (days - target).astype("int64").astype(float)


def _daily_profile(days: np.ndarray, trend_per_year: float) -> np.ndarray:
    """Unitless daily multiplier S(day): season x special days x weekday x trend."""
    doy = (days - days.astype("M8[Y]").astype("M8[D]")).astype("int64").astype(float)
    season = 1.0 + _SEASON_AMPLITUDE * np.cos(2.0 * np.pi * (doy - _SEASON_PEAK_DOY) / 365.25)
    d_hal = _days_from(days, 10, 31)
    d_bon = _days_from(days, 11, 5)
    special = (
        0.9 * np.exp(-0.5 * (d_hal / 1.2) ** 2)
        + 1.1 * np.exp(-0.5 * (d_bon / 1.0) ** 2)
        + 0.25 * ((d_hal >= -4) & (d_bon <= 2))  # the fortnight of "mischief" around both
    )
    wd = _WEEKDAY / _WEEKDAY.mean()
    mid = days[0] + (days[-1] - days[0]) // 2
    years_from_mid = (days - mid).astype("int64") / 365.25
    trend = (1.0 + trend_per_year) ** years_from_mid
    return season * (1.0 + special) * wd[_weekday(days)] * trend


def _skip_dst_gap(t: np.ndarray) -> np.ndarray:
    """Move naive UK local times that do not exist (01:00-01:59 on the last Sunday of March,
    when clocks go forward) one hour later, so that every timestamp is a valid local time."""
    t = np.asarray(t, dtype="M8[m]")
    day = t.astype("M8[D]")
    march31 = (day.astype("M8[Y]").astype("M8[M]") + 2).astype("M8[D]") + 30
    last_sunday = march31 - (_weekday(march31) + 1) % 7
    minute_of_day = (t - day.astype("M8[m]")).astype("int64")
    gap = (day == last_sunday) & (minute_of_day >= 60) & (minute_of_day < 120)
    return np.where(gap, t + np.timedelta64(60, "m"), t)


def _mix(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """A fixed 64-bit hash of lattice node indices (splitmix-style)."""
    with np.errstate(over="ignore"):
        h = i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ j.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(29)
    return h


def _snap(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Snap to the fixed map-point lattice; returns x, y (whole metres) and the node hash."""
    i = np.round(x / _LATTICE_M).astype(np.int64)
    j = np.round(y / _LATTICE_M).astype(np.int64)
    h = _mix(i, j)
    jx = ((h & np.uint64(0xFFFF)).astype(float) / 65535.0 - 0.5) * _JITTER_M
    jy = (((h >> np.uint64(16)) & np.uint64(0xFFFF)).astype(float) / 65535.0 - 0.5) * _JITTER_M
    return np.round(i * _LATTICE_M + jx), np.round(j * _LATTICE_M + jy), h


def _sample_inside(rng: np.random.Generator, n: int, draw, area, *, snap: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` points from ``draw(rng, k) -> (x, y)``, redrawn until inside ``area`` (after snapping)."""
    x = np.empty(n)
    y = np.empty(n)
    hsh = np.zeros(n, dtype=np.uint64)
    todo = np.arange(n)
    for _ in range(1000):
        if todo.size == 0:
            break
        xs, ys = draw(rng, todo.size)
        if snap:
            xs, ys, hs = _snap(xs, ys)
        else:
            xs, ys, hs = np.round(xs), np.round(ys), np.zeros(todo.size, dtype=np.uint64)
        ok = shapely.contains_xy(area, xs, ys)
        x[todo[ok]], y[todo[ok]], hsh[todo[ok]] = xs[ok], ys[ok], hs[ok]
        todo = todo[~ok]
    if todo.size:  # pragma: no cover - every kernel has most of its mass inside the area
        raise ParameterError("could not place demo points inside the study area; check the geography files.")
    return x, y, hsh


def _gauss(cx: float, cy: float, sd: float):
    return lambda rng, k: (cx + sd * rng.standard_normal(k), cy + sd * rng.standard_normal(k))


def _ring(cx: float, cy: float, r0: float, r1: float):
    def draw(rng: np.random.Generator, k: int):
        r = np.sqrt(rng.uniform(r0 * r0, r1 * r1, k))
        a = rng.uniform(0.0, 2.0 * np.pi, k)
        return cx + r * np.cos(a), cy + r * np.sin(a)
    return draw


def _uniform(bounds: Sequence[float]):
    xmin, ymin, xmax, ymax = bounds
    return lambda rng, k: (rng.uniform(xmin, xmax, k), rng.uniform(ymin, ymax, k))


def _town_sd(pop: float) -> float:
    return float(np.clip(1500.0 * (pop / 20000.0) ** 0.3, 1500.0, 3000.0))


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def generate_demo(
    seed: int = 0,
    *,
    start: str = "2022-01",
    end: str = "2025-03",
    scheme_start: str = SCHEME_START,
    effect: float = 0.30,
    displacement: float = 0.10,
    ramp_days: int = 61,
    trend_per_year: float = -0.03,
    volume_scale: float = 1.0,
    referral_scale: float = 1.0,
    treated: Sequence[str] | None = None,
) -> DemoData:
    """Generate the synthetic Derbyshire demo data.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments give identical data.
    start, end : str
        First and last month of incidents, "YYYY-MM" (inclusive). The data end is the first day
        after ``end``.
    scheme_start : str
        Date the scheme starts ("YYYY-MM-DD"); referrals run from here to the data end.
    effect : float
        Planted fall in each treated hotspot's rate once fully in force, a fraction in [0, 1).
    displacement : float
        Fraction of the removed incidents that reappear in the ring ``[radius, radius + 400 m]``
        around the treated hotspot (0 = none, 1 = all).
    ramp_days : int
        Days over which the effect ramps in linearly from the scheme start.
    trend_per_year : float
        Long-term trend of every component, compounded per year (``-0.03`` = 3 % a year down).
    volume_scale : float
        Multiplies every incident rate (1 gives about 2,400 incidents a month force-wide).
    referral_scale : float
        Multiplies the referral rate (1 gives about 2,200 referrals from July 2023 to March 2025).
    treated : sequence of str, optional
        Ids of the treated hotspots (see :data:`HOTSPOTS`); default :data:`DEFAULT_TREATED`.

    Returns
    -------
    DemoData

    Raises
    ------
    ParameterError
        For an argument out of range or malformed, naming it.
    """
    p = _validate(seed, start, end, scheme_start, effect, displacement, ramp_days, trend_per_year,
                  volume_scale, referral_scale, treated)
    root = np.random.default_rng(p["seed"])
    rng_inc, rng_ref, rng_task = root.spawn(3)

    area_gdf = default_study_area()
    area = shapely.union_all(area_gdf.geometry.values)
    shapely.prepare(area)
    tw = towns()
    town_xy = {n: (float(g.x), float(g.y)) for n, g in zip(tw["name"], tw.geometry)}
    town_pop = dict(zip(tw["name"], tw["population"].astype(float)))

    first = np.datetime64(p["start"], "M").astype("M8[D]")
    data_end = (np.datetime64(p["end"], "M") + 1).astype("M8[D]")
    days = np.arange(first, data_end, dtype="M8[D]")
    s_day = _daily_profile(days, p["trend_per_year"])
    per_day = 12.0 / 365.25  # monthly rate -> daily rate
    sched = np.datetime64(p["scheme_start"], "D")
    since = (days - sched).astype("int64").astype(float)
    ramp = np.clip(since / max(p["ramp_days"], 1), 0.0, 1.0) if p["ramp_days"] else (since >= 0).astype(float)
    ramp = np.where(since < 0, 0.0, ramp)

    # ---- components ---------------------------------------------------------------------
    comps: list[dict[str, Any]] = []
    hs_records = []
    treated_set = set(p["treated"])
    for h in HOTSPOTS:
        tx, ty = town_xy[h.town]
        cx, cy = round(tx + h.dx), round(ty + h.dy)
        is_t = h.id in treated_set
        base = h.rate * p["volume_scale"] * per_day * s_day
        lam = base * (1.0 - p["effect"] * ramp) if is_t else base
        radius = 2.0 * h.sd
        comps.append({"kind": "hotspot", "id": h.id, "town": h.town, "lam": lam, "draw": _gauss(cx, cy, h.sd)})
        hs_records.append((h, cx, cy, is_t, radius, base, lam))
        if is_t and p["displacement"] > 0:
            lam_d = p["displacement"] * (base - lam)
            comps.append({"kind": "displacement", "id": h.id, "town": h.town, "lam": lam_d,
                          "draw": _ring(cx, cy, radius, radius + _BUFFER_WIDTH_M)})
    for name in tw["name"]:
        tx, ty = town_xy[name]
        lam = _DIFFUSE_PER_1000 * town_pop[name] / 1000.0 * p["volume_scale"] * per_day * s_day
        comps.append({"kind": "diffuse", "id": f"diffuse-{name}", "town": name, "lam": lam,
                      "draw": _gauss(tx, ty, _town_sd(town_pop[name]))})
    comps.append({"kind": "rural", "id": "rural", "town": "", "lam": _RURAL_PER_MONTH * p["volume_scale"] * per_day * s_day,
                  "draw": _uniform(area.bounds)})

    # ---- incidents ----------------------------------------------------------------------
    lam_all = np.vstack([c["lam"] for c in comps])
    counts = rng_inc.poisson(lam_all)
    xs, ys, hs, dayidx = [], [], [], []
    for ci, c in enumerate(comps):
        n = int(counts[ci].sum())
        if n == 0:
            continue
        x, y, hsh = _sample_inside(rng_inc, n, c["draw"], area, snap=True)
        xs.append(x)
        ys.append(y)
        hs.append(hsh)
        dayidx.append(np.repeat(np.arange(days.size), counts[ci]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    hsh = np.concatenate(hs)
    di = np.concatenate(dayidx)
    n_inc = x.size
    hour = rng_inc.choice(24, size=n_inc, p=_HOURS / _HOURS.sum())
    minute = rng_inc.integers(0, 60, size=n_inc)
    occurred = _skip_dst_gap(days[di].astype("M8[m]") + (hour * 60 + minute).astype("timedelta64[m]"))
    order = np.lexsort((np.arange(n_inc), occurred.astype("int64")))
    x, y, hsh, occurred = x[order], y[order], hsh[order], occurred[order]
    streets = np.array(_STREETS, dtype=object)
    location = np.char.add("On or near ", streets[(hsh >> np.uint64(40)) % np.uint64(len(_STREETS))].astype(str))
    incidents = gpd.GeoDataFrame(
        {
            "incident_id": [f"demo-asb-{k:06d}" for k in range(1, n_inc + 1)],
            "month": pd.Series(occurred.astype("M8[M]").astype("M8[ns]")),
            "occurred": pd.Series(occurred.astype("M8[ns]")),
            "category": ASB_CATEGORY,
            "location": location,
        },
        geometry=shapely.points(x, y),
        crs=BNG,
    )

    # ---- task sites ---------------------------------------------------------------------
    hs_xy = {h.id: (cx, cy) for h, cx, cy, *_ in hs_records}
    hs_town = {h.id: h.town for h in HOTSPOTS}
    t_rows = []
    for k, (anchor, kind, name) in enumerate(_TASK_SITES, start=1):
        ax, ay = hs_xy[anchor] if anchor in hs_xy else town_xy[anchor]
        town = hs_town.get(anchor, anchor)
        tx, ty, _ = _sample_inside(rng_task, 1, _ring(ax, ay, 200.0, 900.0), area, snap=False)
        t_rows.append((f"T{k:02d}", kind, name, town, float(tx[0]), float(ty[0])))
    tasks = gpd.GeoDataFrame(
        {
            "task_id": [r[0] for r in t_rows],
            "kind": [r[1] for r in t_rows],
            "site_name": [r[2] for r in t_rows],
            "town": [r[3] for r in t_rows],
        },
        geometry=shapely.points([r[4] for r in t_rows], [r[5] for r in t_rows]),
        crs=BNG,
    )

    # ---- referrals ----------------------------------------------------------------------
    referrals, ref_truth = _referrals(rng_ref, p, area, hs_records, town_xy, town_pop, tasks, sched, data_end)

    # ---- ground truth -------------------------------------------------------------------
    truth = _ground_truth(p, days, sched, hs_records, comps, lam_all, ref_truth, data_end, area_gdf)
    params = dict(p)
    return DemoData(incidents=incidents, referrals=referrals, tasks=tasks, ground_truth=truth, params=params)


def _referrals(rng: np.random.Generator, p: dict[str, Any], area, hs_records, town_xy, town_pop,
               tasks: gpd.GeoDataFrame, sched: np.datetime64, data_end: np.datetime64):
    """Referrals into the scheme (person-level, pseudonymised)."""
    days = np.arange(sched, data_end, dtype="M8[D]")
    since = (days - sched).astype("int64").astype(float)
    level = np.minimum(1.0, _REFERRAL_START_LEVEL + (1.0 - _REFERRAL_START_LEVEL) * since / _REFERRAL_RAMP_DAYS)
    wd = _REFERRAL_WEEKDAY / _REFERRAL_WEEKDAY.mean()
    lam = _REFERRAL_PLATEAU_PER_MONTH * p["referral_scale"] * (12.0 / 365.25) * level * wd[_weekday(days)]
    per_day = rng.poisson(lam)
    di = np.repeat(np.arange(days.size), per_day)
    n = di.size
    hour = rng.choice(24, size=n, p=_REFERRAL_HOURS / _REFERRAL_HOURS.sum())
    minute = rng.integers(0, 60, size=n)
    referred = days[di].astype("M8[m]") + (hour * 60 + minute).astype("timedelta64[m]")
    referred = np.sort(_skip_dst_gap(referred))

    # Where the behaviour happened: around hotspots (treated ones weighted up) or town diffuse.
    hs_w = np.array([h.rate * (_TREATED_REFERRAL_WEIGHT if is_t else 1.0) for h, _, _, is_t, *_ in hs_records])
    town_names = list(town_xy)
    tw_w = np.array([town_pop[t] for t in town_names])
    from_hotspot = rng.random(n) < _HOTSPOT_SHARE
    which_h = rng.choice(len(hs_records), size=n, p=hs_w / hs_w.sum())
    which_t = rng.choice(len(town_names), size=n, p=tw_w / tw_w.sum())
    rx = np.empty(n)
    ry = np.empty(n)
    for k in range(len(hs_records)):
        sel = np.flatnonzero(from_hotspot & (which_h == k))
        if sel.size:
            h, cx, cy = hs_records[k][:3]
            rx[sel], ry[sel], _ = _sample_inside(rng, sel.size, _gauss(cx, cy, h.sd), area, snap=False)
    for k, name in enumerate(town_names):
        sel = np.flatnonzero(~from_hotspot & (which_t == k))
        if sel.size:
            tx, ty = town_xy[name]
            rx[sel], ry[sel], _ = _sample_inside(rng, sel.size, _gauss(tx, ty, _town_sd(town_pop[name])), area, snap=False)

    # People: most referred once; about 10 % come back (same area, 2 weeks to a year later).
    person = np.empty(n, dtype=np.int64)
    last_t: list[np.datetime64] = []
    last_xy: list[tuple[float, float]] = []
    n_refs: list[int] = []
    youth_p = rng.random(n) < _YOUTH_SHARE  # drawn per referral, used when a person is new
    repeat_draw = rng.random(n)
    pick_draw = rng.random(n)
    age = np.empty(n, dtype=object)
    person_age: list[str] = []
    two_weeks = np.timedelta64(14, "D")
    one_year = np.timedelta64(365, "D")
    for i in range(n):
        chosen = -1
        if repeat_draw[i] < _REPEAT_PROB and last_t:
            lt = np.array(last_t)
            lxy = np.array(last_xy)
            gap = referred[i] - lt
            d2 = (lxy[:, 0] - rx[i]) ** 2 + (lxy[:, 1] - ry[i]) ** 2
            ok = np.flatnonzero((gap >= two_weeks) & (gap <= one_year) & (d2 <= 3000.0 ** 2) & (np.array(n_refs) < 3))
            if ok.size:
                chosen = int(ok[min(int(pick_draw[i] * ok.size), ok.size - 1)])
        if chosen < 0:
            chosen = len(last_t)
            last_t.append(referred[i])
            last_xy.append((rx[i], ry[i]))
            n_refs.append(1)
            person_age.append("youth" if youth_p[i] else "adult")
        else:
            last_t[chosen] = referred[i]
            last_xy[chosen] = (rx[i], ry[i])
            n_refs[chosen] += 1
        person[i] = chosen
        age[i] = person_age[chosen]
    is_first = np.ones(n, dtype=bool)
    seen: set[int] = set()
    for i in range(n):
        if int(person[i]) in seen:
            is_first[i] = False
        seen.add(int(person[i]))
    person_ref = np.array([pseudonymise(f"demo-person-{k + 1:06d}", DEMO_SALT) for k in person], dtype=object)

    # Offence and route depend on age group.
    offence = np.empty(n, dtype=object)
    route = np.empty(n, dtype=object)
    u1, u2 = rng.random(n), rng.random(n)
    for grp in AGE_GROUPS:
        sel = age == grp
        ol = list(_OFFENCE_P[grp])
        op = np.cumsum([_OFFENCE_P[grp][o] for o in ol])
        offence[sel] = np.array(ol, dtype=object)[np.minimum(np.searchsorted(op / op[-1], u1[sel], side="right"), len(ol) - 1)]
        rl = list(_ROUTE_P[grp])
        rp = np.cumsum([_ROUTE_P[grp][r] for r in rl])
        route[sel] = np.array(rl, dtype=object)[np.minimum(np.searchsorted(rp / rp[-1], u2[sel], side="right"), len(rl) - 1)]

    # Outcomes: in progress when recent; otherwise exact shares (refusals likelier on voluntary routes).
    age_days = (data_end.astype("M8[m]") - referred).astype("int64") / (60 * 24)
    outcome = np.full(n, "in progress", dtype=object)
    old = np.flatnonzero(age_days >= _IN_PROGRESS_DAYS)
    n_old = old.size
    k_ref = int(round(_REFUSED_SHARE * n_old))
    k_comp = int(round(_COMPLETED_SHARE * n_old))
    w_ref = np.where(np.isin(route[old], _VOLUNTARY_ROUTES), 2.0, 1.0)
    refused = rng.choice(old, size=k_ref, replace=False, p=w_ref / w_ref.sum()) if k_ref else np.empty(0, dtype=np.int64)
    rest = np.setdiff1d(old, refused)
    completed = rng.permutation(rest)[:k_comp]
    outcome[old] = "withdrawn"
    outcome[refused] = "refused"
    outcome[completed] = "completed"

    # Contact and booking (hours after referral).
    fast = rng.random(n) < _CONTACT_48H_P
    c_fast = np.minimum(rng.gamma(1.6, 9.0, n), 47.0 * rng.random(n) + 0.5)
    c_slow = 48.0 + np.minimum(rng.exponential(60.0, n), 24.0 * 12)  # at most 14 days
    contact_h = np.where(fast, c_fast, c_slow)
    never = (outcome == "withdrawn") & (rng.random(n) < 0.30)
    b_fast = rng.random(n) < _BOOK_FAST_P
    book_gap = np.where(b_fast, rng.gamma(1.5, 5.0, n), 48.0 + np.minimum(rng.exponential(72.0, n), 24.0 * 4))
    # Both delays are capped (14 + 6 days < the 21-day in-progress window), so every finished
    # referral was contacted and booked before the data end.
    contacted = _skip_dst_gap(referred + np.round(contact_h * 60).astype("timedelta64[m]"))
    booked = _skip_dst_gap(contacted + np.round(book_gap * 60).astype("timedelta64[m]"))
    end_m = data_end.astype("M8[m]")
    has_contact = ~never & (contacted < end_m)
    has_booking = has_contact & np.isin(outcome, ("completed", "in progress")) & (booked < end_m)

    # Task site: usually local (within 2 km of the harm), sometimes further afield.
    txy = np.column_stack([tasks.geometry.x.to_numpy(), tasks.geometry.y.to_numpy()])
    t_ids = tasks["task_id"].to_numpy(dtype=object)
    local_draw = rng.random(n)
    pick = rng.random(n)
    task_id = np.full(n, None, dtype=object)
    for i in np.flatnonzero(has_booking):
        d = np.hypot(txy[:, 0] - rx[i], txy[:, 1] - ry[i])
        near = np.flatnonzero(d <= _LOCAL_TASK_M)
        if local_draw[i] < _LOCAL_TASK_P:
            cand = near if near.size else np.array([int(np.argmin(d))])
            w = 1.0 / (d[cand] + 300.0)
        else:
            cand = np.flatnonzero((d > _LOCAL_TASK_M) & (d <= 25000.0))
            if cand.size == 0:
                cand = np.array([int(np.argmin(d))])
            w = 1.0 / (d[cand] + 1000.0)
        cw = np.cumsum(w / w.sum())
        task_id[i] = t_ids[cand[min(int(np.searchsorted(cw, pick[i], side="right")), cand.size - 1)]]

    # Re-offending within the follow-up window (only for referrals old enough to have one):
    # a re-referral within the window counts; the rest are drawn to hit the target share.
    cutoff = (data_end.astype("M8[M]") - FOLLOW_UP_MONTHS).astype("M8[D]").astype("M8[m]")
    eligible = np.flatnonzero(referred < cutoff)
    reoff = np.full(n, None, dtype=object)
    forced = np.zeros(n, dtype=bool)
    last_by_person: dict[int, int] = {}
    for i in range(n):  # referrals are in time order
        prev = last_by_person.get(int(person[i]))
        if prev is not None:
            window_end = (referred[prev].astype("M8[M]") + FOLLOW_UP_MONTHS).astype("M8[m]") + (
                referred[prev] - referred[prev].astype("M8[M]").astype("M8[m]"))
            if referred[i] <= window_end:
                forced[prev] = True
        last_by_person[int(person[i])] = i
    k_re = int(round(_REOFFENDED_SHARE * eligible.size))
    f_el = eligible[forced[eligible]]
    others = eligible[~forced[eligible]]
    k_more = max(0, k_re - f_el.size)
    w_re = np.where(outcome[others] == "completed", 1.0, 2.0) * np.where(age[others] == "youth", 1.2, 1.0)
    extra = rng.choice(others, size=min(k_more, others.size), replace=False, p=w_re / w_re.sum()) if k_more and others.size else np.empty(0, dtype=np.int64)
    reoff[eligible] = False
    reoff[f_el] = True
    reoff[extra] = True

    # Victim satisfaction: only completed referrals with a victim who answered; nearly all satisfied.
    vict = np.flatnonzero((outcome == "completed") & np.isin(offence, _VICTIM_OFFENCES))
    k_v = min(vict.size, int(round(_VICTIM_RESPONSE_SHARE * n)))
    resp = np.sort(rng.choice(vict, size=k_v, replace=False)) if k_v else np.empty(0, dtype=np.int64)
    sat = np.full(n, None, dtype=object)
    sat[resp] = True
    k_un = int(round(_VICTIM_UNSATISFIED_SHARE * k_v))
    if k_un:
        sat[rng.choice(resp, size=k_un, replace=False)] = False

    # First-time entrants: only a person's first referral can be one.
    fte = np.zeros(n, dtype=bool)
    firsts = np.flatnonzero(is_first)
    k_f = min(firsts.size, int(round(_FTE_SHARE * n)))
    w_f = np.where(age[firsts] == "youth", 1.5, 1.0)
    if k_f:
        fte[rng.choice(firsts, size=k_f, replace=False, p=w_f / w_f.sum())] = True

    def _dt(values: np.ndarray, mask: np.ndarray) -> pd.Series:
        out = values.astype("M8[ns]").copy()
        out[~mask] = np.datetime64("NaT")
        return pd.Series(out)

    referrals = gpd.GeoDataFrame(
        {
            "referral_id": [f"IJ-{k:05d}" for k in range(1, n + 1)],
            "person_ref": person_ref,
            "referred_at": pd.Series(referred.astype("M8[ns]")),
            "offence": offence,
            "route": route,
            "age_group": age,
            "contacted_at": _dt(contacted, has_contact),
            "task_booked_at": _dt(booked, has_booking),
            "outcome": outcome,
            "task_id": pd.Series(task_id, dtype="str"),
            "reoffended": pd.array(reoff, dtype="boolean"),
            "victim_satisfied": pd.array(sat, dtype="boolean"),
            "first_time_entrant": fte,
        },
        geometry=shapely.points(rx, ry),
        crs=BNG,
    )
    for col in ("offence", "route", "age_group", "outcome"):
        referrals[col] = referrals[col].astype("str")
    truth = {
        "period": [str(sched), str(data_end - 1)],
        "monthly_plateau": _REFERRAL_PLATEAU_PER_MONTH * p["referral_scale"],
        "ramp_from_level": _REFERRAL_START_LEVEL,
        "ramp_days": _REFERRAL_RAMP_DAYS,
        "hotspot_share": _HOTSPOT_SHARE,
        "treated_weight": _TREATED_REFERRAL_WEIGHT,
        "youth_share": _YOUTH_SHARE,
        "repeat_probability": _REPEAT_PROB,
        "in_progress_days": _IN_PROGRESS_DAYS,
        "completed_share_of_finished": _COMPLETED_SHARE,
        "refused_share_of_finished": _REFUSED_SHARE,
        "withdrawn_share_of_finished": round(1.0 - _COMPLETED_SHARE - _REFUSED_SHARE, 6),
        "follow_up_months": FOLLOW_UP_MONTHS,
        "reoffended_known_if_referred_before": str(cutoff.astype("M8[D]")),
        "reoffended_share": _REOFFENDED_SHARE,
        "victim_response_share": _VICTIM_RESPONSE_SHARE,
        "victim_unsatisfied_share": _VICTIM_UNSATISFIED_SHARE,
        "first_time_entrant_share": _FTE_SHARE,
        "contact_within_48h_probability": _CONTACT_48H_P,
        "booking_fast_probability": _BOOK_FAST_P,
        "local_task_probability": _LOCAL_TASK_P,
        "local_task_distance_m": _LOCAL_TASK_M,
        "person_ref_salt": DEMO_SALT,
    }
    return referrals, truth


def _period_mean(lam: np.ndarray, days: np.ndarray, a: np.datetime64, b: np.datetime64) -> float | None:
    sel = (days >= a) & (days < b)
    months = (b.astype("M8[M]") - a.astype("M8[M]")).astype("int64")
    if not sel.any() or days[0] > a or days[-1] < b - 1:
        return None
    return round(float(lam[sel].sum()) / months, 3)


def _ground_truth(p, days, sched, hs_records, comps, lam_all, ref_truth, data_end, area_gdf) -> dict[str, Any]:
    before0 = (sched.astype("M8[M]") - 12).astype("M8[D]")
    after1 = (sched.astype("M8[M]") + 12).astype("M8[D]")
    to_wgs = pyproj.Transformer.from_crs(BNG, 4326, always_xy=True)
    disp = {c["id"]: c["lam"] for c in comps if c["kind"] == "displacement"}
    recs = []
    for h, cx, cy, is_t, radius, base, lam in hs_records:
        lon, lat = to_wgs.transform(cx, cy)
        rec = {
            "id": h.id,
            "town": h.town,
            "kind": h.kind,
            "easting": int(cx),
            "northing": int(cy),
            "longitude": round(float(lon), 6),
            "latitude": round(float(lat), 6),
            "sd_m": float(h.sd),
            "radius_m": float(radius),
            "treated": bool(is_t),
            "effect": p["effect"] if is_t else 0.0,
            "buffer_inner_m": float(radius),
            "buffer_outer_m": float(radius + _BUFFER_WIDTH_M),
            "base_monthly_rate": round(h.rate * p["volume_scale"], 3),
            "expected_monthly_before": _period_mean(lam, days, before0, sched),
            "expected_monthly_after": _period_mean(lam, days, sched, after1),
            "expected_displaced_monthly_after": (
                _period_mean(disp[h.id], days, sched, after1) if h.id in disp else 0.0
            ),
        }
        recs.append(rec)
    months = days.astype("M8[M]")
    um = np.unique(months)
    tot = lam_all.sum(axis=0)
    monthly = {str(m): round(float(tot[months == m].sum()), 1) for m in um}
    return {
        "generator": "hotspots.demo.generate_demo",
        "seed": p["seed"],
        "params": {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in p.items()},
        "crs": "EPSG:27700",
        "data_period": [str(days[0]), str(data_end - 1)],
        "scheme_start": str(sched),
        "periods": {
            "before": [str(before0), str(sched - 1)],
            "after": [str(sched), str(after1 - 1)],
            "note": "expected_monthly_before/after are the hotspot component's own expected mean "
                    "monthly counts over these 12-month periods (excluding diffuse background "
                    "and displacement); null when the data do not cover the period.",
        },
        "model": {
            "diffuse_per_1000_residents_per_month": _DIFFUSE_PER_1000,
            "rural_background_per_month": _RURAL_PER_MONTH * p["volume_scale"],
            "season_amplitude": _SEASON_AMPLITUDE,
            "season_peak": "mid-July",
            "special_days": ["Halloween (31 Oct)", "Bonfire night (5 Nov)"],
            "buffer_width_m": _BUFFER_WIDTH_M,
            "map_point_lattice_m": _LATTICE_M,
            "map_point_jitter_m": _JITTER_M,
            "hotspot_radius": "2 x sd_m",
            "study_area": "geo/study_area.geojson (hand-drawn, approximate)",
        },
        "hotspots": recs,
        "treated": list(p["treated"]),
        "expected_monthly_total": monthly,
        "referrals": ref_truth,
    }


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _fmt6(a: np.ndarray) -> list[str]:
    return [f"{v:.6f}" for v in a]


def _fmt_int(a: np.ndarray) -> list[str]:
    return [str(int(v)) for v in a]


def _iso(values: pd.Series) -> list[str]:
    arr = values.to_numpy(dtype="datetime64[s]")
    out = np.datetime_as_string(arr, unit="s").astype(object)
    out[np.isnat(arr)] = ""
    return out.tolist()


def _boolstr(values: pd.Series) -> list[str]:
    return ["" if v is pd.NA or v is None else ("True" if bool(v) else "False") for v in values.tolist()]


def _write_csv(path: Path, header: Sequence[str], columns: Sequence[Sequence[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(zip(*columns))


def write_demo(out_dir: str | Path, seed: int = 0, **kwargs: Any) -> dict[str, Path]:
    """Generate the demo data and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write to (created if missing; existing files of the same names are replaced).
    seed : int
        Seed (see :func:`generate_demo`).
    **kwargs
        Any keyword argument of :func:`generate_demo` (``start``, ``end``, ``effect``, ...).

    Returns
    -------
    dict of str to Path
        ``{"incidents", "referrals", "tasks", "ground_truth", "readme"}`` -> the written files:
        ``incidents.csv``, ``referrals.csv``, ``tasks.csv``, ``ground_truth.json``, ``README.md``.
        The same arguments always give byte-for-byte identical files.
    """
    data = generate_demo(seed, **kwargs)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"`out_dir` {out} exists and is not a folder; give a folder path.")
    out.mkdir(parents=True, exist_ok=True)
    to_wgs = pyproj.Transformer.from_crs(BNG, 4326, always_xy=True)

    inc = data.incidents
    ix, iy = inc.geometry.x.to_numpy(), inc.geometry.y.to_numpy()
    ilon, ilat = to_wgs.transform(ix, iy)
    paths = {
        "incidents": out / "incidents.csv",
        "referrals": out / "referrals.csv",
        "tasks": out / "tasks.csv",
        "ground_truth": out / "ground_truth.json",
        "readme": out / "README.md",
    }
    _write_csv(paths["incidents"], INCIDENT_FILE_COLUMNS, [
        inc["incident_id"].tolist(), np.datetime_as_string(inc["month"].to_numpy(dtype="M8[M]")).tolist(), _iso(inc["occurred"]), inc["category"].tolist(),
        inc["location"].tolist(), _fmt6(ilon), _fmt6(ilat), _fmt_int(ix), _fmt_int(iy),
    ])

    ref = data.referrals
    rx, ry = ref.geometry.x.to_numpy(), ref.geometry.y.to_numpy()
    rlon, rlat = to_wgs.transform(rx, ry)
    cols: dict[str, list[str]] = {}
    for c in REFERRAL_FILE_COLUMNS:
        if c in ("referred_at", "contacted_at", "task_booked_at"):
            cols[c] = _iso(ref[c])
        elif c in ("reoffended", "victim_satisfied", "first_time_entrant"):
            cols[c] = _boolstr(ref[c])
        elif c == "task_id":
            cols[c] = ["" if pd.isna(v) else str(v) for v in ref[c].tolist()]
        elif c == "easting":
            cols[c] = _fmt_int(rx)
        elif c == "northing":
            cols[c] = _fmt_int(ry)
        elif c == "longitude":
            cols[c] = _fmt6(rlon)
        elif c == "latitude":
            cols[c] = _fmt6(rlat)
        else:
            cols[c] = [str(v) for v in ref[c].tolist()]
    _write_csv(paths["referrals"], REFERRAL_FILE_COLUMNS, [cols[c] for c in REFERRAL_FILE_COLUMNS])

    tk = data.tasks
    tx, ty = tk.geometry.x.to_numpy(), tk.geometry.y.to_numpy()
    tlon, tlat = to_wgs.transform(tx, ty)
    _write_csv(paths["tasks"], TASK_FILE_COLUMNS, [
        tk["task_id"].tolist(), tk["kind"].tolist(), tk["site_name"].tolist(), tk["town"].tolist(),
        _fmt_int(tx), _fmt_int(ty), _fmt6(tlon), _fmt6(tlat),
    ])

    with open(paths["ground_truth"], "w", encoding="utf-8", newline="\n") as f:
        json.dump(data.ground_truth, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(paths["readme"], "w", encoding="utf-8", newline="\n") as f:
        f.write(_readme(data))
    return paths


def _readme(data: DemoData) -> str:
    gt = data.ground_truth
    p = data.params
    inc = data.incidents
    ref = data.referrals
    n_months = len(gt["expected_monthly_total"])
    treated = [h for h in gt["hotspots"] if h["treated"]]
    lines = [
        "# Synthetic demo data (Derbyshire)",
        "",
        "**Not real data.** Generated by `hotspots.demo.generate_demo` "
        f"(seed {p['seed']}); the same seed and arguments give byte-for-byte identical files.",
        "Towns are real Derbyshire towns; hotspots, incidents, people and task sites are invented.",
        "Site names are generic; estates carry compass labels, not real neighbourhood names.",
        "",
        "## Files",
        "",
        "| file | rows | content |",
        "|---|---|---|",
        f"| `incidents.csv` | {len(inc):,} | ASB incidents {p['start']} to {p['end']}: `incident_id`, `month` (YYYY-MM), "
        "`occurred` (local time, ISO 8601), `category`, `location` (\"On or near ...\"), `longitude`, `latitude` "
        "(WGS84, 6 dp), `easting`, `northing` (British National Grid, whole metres) |",
        f"| `referrals.csv` | {len(ref):,} | Referrals into the immediate-justice scheme from {p['scheme_start']}: "
        "the canonical referral columns (`referral_id`, `person_ref`, `referred_at`, `offence`, `route`, `age_group`, "
        "`contacted_at`, `task_booked_at`, `outcome`, `task_id`, `reoffended`, `victim_satisfied`, "
        "`first_time_entrant`) and the location as `easting`, `northing`, `longitude`, `latitude`. Empty cells are "
        "missing values |",
        f"| `tasks.csv` | {len(data.tasks)} | Reparative task sites: `task_id`, `kind`, `site_name`, `town`, coordinates |",
        "| `ground_truth.json` | | What was planted: parameters, treated hotspots, effect, buffers, expected counts |",
        "",
        "## How the incidents were generated",
        "",
        f"Incidents are independent Poisson processes, day by day, over {n_months} months:",
        f"{len(gt['hotspots'])} hotspots (a Gaussian town-centre hotspot, sd 180-250 m, and 0-4 estate hotspots, "
        "sd 280-350 m, per town), a wide diffuse component around every gazetteer town (sd 1.5-3 km by population), "
        "and a thin rural background over the study area (`geo/study_area.geojson`). Every rate follows a seasonal "
        "cycle (summer peak about +25 %, winter low), spikes at Halloween and bonfire night, a day-of-week profile "
        f"(Friday and Saturday high) and a trend of {p['trend_per_year'] * 100:+.1f} % a year. Times of day are "
        "evening-heavy. Points outside the study area are redrawn; points are snapped to a fixed lattice of "
        "anonymous map points (50 m, jittered), as police.uk does, so incidents often share coordinates.",
        "",
        f"**Scheme effect.** From {p['scheme_start']} the rate of each treated hotspot falls by "
        f"{p['effect'] * 100:.0f} %, ramping in over {p['ramp_days']} days; {p['displacement'] * 100:.0f} % of the "
        "removed incidents reappear uniformly in a ring from the hotspot radius (2 sd) to 400 m beyond it. "
        "Untreated hotspots have no planted change beyond season and trend.",
        "",
        "| treated hotspot | town | kind | radius (m) | expected / month before | after |",
        "|---|---|---|---|---|---|",
    ]
    for h in treated:
        lines.append(
            f"| `{h['id']}` | {h['town']} | {h['kind']} | {h['radius_m']:.0f} | "
            f"{h['expected_monthly_before'] if h['expected_monthly_before'] is not None else '-'} | "
            f"{h['expected_monthly_after'] if h['expected_monthly_after'] is not None else '-'} |"
        )
    r = gt["referrals"]
    lines += [
        "",
        "(Expected counts are the hotspot's own component over the 12 months before and after the scheme start; "
        "counts inside the radius also include some diffuse background.)",
        "",
        "## How the referrals were generated",
        "",
        f"Referrals run from {r['period'][0]} to {r['period'][1]}, rising from {r['ramp_from_level'] * 100:.0f} % of "
        f"the plateau ({r['monthly_plateau']:.0f} a month) to the plateau over {r['ramp_days']} days. "
        f"{r['hotspot_share'] * 100:.0f} % are located around hotspots (treated hotspots weighted x{r['treated_weight']:g}), "
        "the rest around towns. About 35 % are youths; about 10 % of people are referred more than once (same area, "
        "two weeks to a year apart). Offence and route mixes depend on age group.",
        "",
        f"- `outcome`: `in progress` for referrals made in the last {r['in_progress_days']} days; otherwise exactly "
        f"{r['completed_share_of_finished'] * 100:.0f} % completed, {r['refused_share_of_finished'] * 100:.0f} % refused "
        f"(likelier on voluntary routes), the rest withdrawn.",
        f"- `contacted_at`: about {r['contact_within_48h_probability'] * 100:.0f} % within 48 hours, a long tail beyond; "
        "some withdrawn referrals were never contacted. `task_booked_at` follows contact, mostly within hours; empty "
        "for refused and withdrawn referrals (and for recent ones not yet booked).",
        f"- `task_id`: the booked task site, within {r['local_task_distance_m'] / 1000:g} km of the harm for most "
        "referrals; empty when no task was booked.",
        f"- `reoffended`: within a {r['follow_up_months']}-month follow-up window, so filled only for referrals made "
        f"before {r['reoffended_known_if_referred_before']}; {r['reoffended_share'] * 100:.0f} % True (a re-referral "
        "within the window always counts).",
        "- `victim_satisfied`: empty where there was no victim or no response; almost all responding victims satisfied.",
        f"- `first_time_entrant`: {r['first_time_entrant_share'] * 100:.0f} % of referrals (only a person's first).",
        "- `person_ref`: `hotspots.privacy.pseudonymise` of a synthetic person number with a fixed, public demo salt.",
        "",
        "Licence: the generated data may be used freely. Coordinates of towns are approximate.",
        "",
    ]
    return "\n".join(lines)
