"""Model constants and helpers of the demo data: hotspots, task sites, referral targets, time
profile, spatial sampling and map-point snapping, argument validation."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .. import validation
from .._errors import ParameterError
from ..schema import REFERRAL_COLUMNS

#: Salt used to pseudonymise the synthetic person numbers (public: the people are not real).
DEMO_SALT = "hotspots-demo-data-salt-not-secret"
#: Re-offending is recorded within this many calendar months of the referral.
FOLLOW_UP_MONTHS = 6

#: Columns of the written ``incidents.csv``.
INCIDENT_FILE_COLUMNS = (
    "incident_id",
    "month",
    "occurred",
    "category",
    "location",
    "longitude",
    "latitude",
    "easting",
    "northing",
)
#: Columns of the written ``referrals.csv`` (the canonical columns, location as coordinates).
REFERRAL_FILE_COLUMNS = tuple(c for c in REFERRAL_COLUMNS if c != "geometry") + (
    "easting",
    "northing",
    "longitude",
    "latitude",
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
DIFFUSE_PER_1000 = 1.50
RURAL_PER_MONTH = 130.0
# Micro-places ("law of crime concentration": real ASB piles up at a few street-level places, not
# in smooth town-wide blobs). A town's diffuse incidents happen at its micro-places, one per
# MICRO_RESIDENTS residents, placed by the town's Gaussian and snapped to the map-point lattice;
# each has a gamma-distributed weight (shape MICRO_SHAPE: a few places take most incidents), and an
# incident lands near its place (Gaussian jitter MICRO_JITTER_M, then snapped). The rural
# background is the same over the whole study area, RURAL_PLACES places.
MICRO_RESIDENTS = 300.0
MICRO_SHAPE = 0.3
MICRO_JITTER_M = 20.0
RURAL_PLACES = 2000
SEASON_AMPLITUDE = 0.28
_SEASON_PEAK_DOY = 196  # mid-July (0 = 1 January)
# Day-of-week multipliers, Monday..Sunday (normalised to mean 1 below).
_WEEKDAY = np.array([0.90, 0.88, 0.92, 0.97, 1.12, 1.25, 0.96])
# Hour-of-day weights 00..23: evening-heavy, low before dawn.
HOURS = np.array(
    [3.0, 2.2, 1.6, 1.1, 0.8, 0.7, 0.9, 1.3, 1.8, 2.2, 2.6, 3.0, 3.4, 3.6, 3.9, 4.6, 5.3, 6.0, 6.6, 7.0, 7.0, 6.6, 5.6, 4.3]
)
LATTICE_M = 50.0
JITTER_M = 24.0
BUFFER_WIDTH_M = 400.0

# police.uk-style "On or near ..." labels, picked per map point.
STREETS = (
    "High Street",
    "Market Place",
    "Station Road",
    "Church Street",
    "Park Road",
    "Queen Street",
    "King Street",
    "Victoria Road",
    "Mill Lane",
    "The Green",
    "Chapel Street",
    "Bridge Street",
    "School Lane",
    "New Road",
    "Green Lane",
    "Albert Street",
    "Main Road",
    "Church Lane",
    "North Street",
    "South Street",
    "Derby Road",
    "Chesterfield Road",
    "Nottingham Road",
    "Manor Road",
    "Springfield Road",
    "Hall Lane",
    "Supermarket",
    "Parking Area",
    "Shopping Area",
    "Sports/Recreation Area",
    "Petrol Station",
    "Further/Higher Educational Building",
)

# Reparative task sites: (anchor = hotspot id or town, kind, site name). Generic names only.
TASK_SITES: tuple[tuple[str, str, str], ...] = (
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
REFERRAL_PLATEAU_PER_MONTH = 138.0
REFERRAL_RAMP_DAYS = 458  # start level to plateau (July 2023 -> October 2024 by default)
REFERRAL_START_LEVEL = 0.28
REFERRAL_WEEKDAY = np.array([1.12, 1.10, 1.08, 1.06, 1.04, 0.82, 0.70])
REFERRAL_HOURS = np.array(
    [0, 0, 0, 0, 0, 0, 0, 0.5, 2.0, 3.0, 3.2, 3.2, 3.0, 3.0, 3.0, 3.2, 3.4, 3.2, 2.8, 2.4, 2.0, 1.4, 0.8, 0.3]
)
HOTSPOT_SHARE = 0.75  # referrals located around hotspots (rest: town diffuse)
TREATED_REFERRAL_WEIGHT = 3.0
YOUTH_SHARE = 0.35
REPEAT_PROB = 0.105  # chance a referral belongs to someone referred before
OFFENCE_P = {
    "youth": {
        "anti-social behaviour": 0.38,
        "criminal damage": 0.20,
        "public order": 0.12,
        "shop theft": 0.12,
        "harassment": 0.08,
        "cannabis possession": 0.08,
        "drunk and disorderly": 0.02,
    },
    "adult": {
        "anti-social behaviour": 0.24,
        "public order": 0.17,
        "shop theft": 0.18,
        "criminal damage": 0.12,
        "cannabis possession": 0.11,
        "harassment": 0.08,
        "drunk and disorderly": 0.10,
    },
}
ROUTE_P = {
    "youth": {
        "community resolution": 0.50,
        "acceptable behaviour contract": 0.20,
        "asb warning letter": 0.15,
        "conditional caution": 0.10,
        "voluntary control order": 0.05,
    },
    "adult": {
        "community resolution": 0.55,
        "conditional caution": 0.20,
        "asb warning letter": 0.10,
        "acceptable behaviour contract": 0.08,
        "voluntary control order": 0.07,
    },
}
VOLUNTARY_ROUTES = ("asb warning letter", "acceptable behaviour contract", "voluntary control order")
VICTIM_OFFENCES = ("anti-social behaviour", "harassment", "criminal damage", "shop theft", "public order")
IN_PROGRESS_DAYS = 21
COMPLETED_SHARE = 0.78  # of referrals old enough to be finished
REFUSED_SHARE = 0.14
REOFFENDED_SHARE = 0.21  # of referrals with a full follow-up window
VICTIM_RESPONSE_SHARE = 0.40  # of all referrals: a victim who answered the survey
VICTIM_UNSATISFIED_SHARE = 0.005
FTE_SHARE = 0.40
CONTACT_48H_P = 0.935  # drawn; office hours push ~2.5 points past 48 h, realised ~90 %
BOOK_FAST_P = 0.93
LOCAL_TASK_P = 0.89
LOCAL_TASK_M = 2000.0


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _month(value: Any, name: str) -> np.datetime64:
    return np.datetime64(validation.month(value, name), "M")


def _day(value: Any, name: str) -> np.datetime64:
    return np.datetime64(validation.date(value, name), "D")


def _number(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> float:
    return validation.number(value, name, low=lo, high=hi, low_open=lo_open, high_open=hi_open)


def validate(
    seed: Any,
    start: Any,
    end: Any,
    scheme_start: Any,
    effect: Any,
    displacement: Any,
    ramp_days: Any,
    trend_per_year: Any,
    volume_scale: Any,
    referral_scale: Any,
    treated: Iterable[str] | None,
) -> dict[str, Any]:
    validation.seed(seed, optional=False)
    m0, m1 = _month(start, "start"), _month(end, "end")
    if m1 < m0:
        raise ParameterError(f"`end` ({end}) is before `start` ({start}); give `start` <= `end`.")
    s = _day(scheme_start, "scheme_start")
    first, data_end = m0.astype("M8[D]"), (m1 + 1).astype("M8[D]")
    if not (first < s < data_end):
        raise ParameterError(
            f"`scheme_start` ({scheme_start}) must fall inside the data period {start}..{end}; move it or widen `start`/`end`."
        )
    validation.whole(ramp_days, "ramp_days", low=0, high=365, unit="days")
    names = [h.id for h in HOTSPOTS]
    if treated is None:
        treated_ids = list(DEFAULT_TREATED)
    else:
        if isinstance(treated, str):
            raise ParameterError("`treated` must be a list of hotspot ids, not one string; e.g. `treated=['derby-centre']`.")
        treated_ids = [str(t) for t in treated]
        unknown = [t for t in treated_ids if t not in names]
        if unknown:
            raise ParameterError(
                f"`treated` has unknown hotspot id(s) {unknown}; choose from `hotspots.demo.HOTSPOTS` (e.g. 'derby-centre')."
            )
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


def weekday_factor(days: np.ndarray) -> np.ndarray:
    """Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday)."""
    return (days.astype("int64") + 3) % 7


def _days_from(days: np.ndarray, month: int, dom: int) -> np.ndarray:
    """Days from ``days`` to the same year's ``month``/``dom``."""
    years = days.astype("M8[Y]")
    target = (years.astype("M8[M]") + (month - 1)).astype("M8[D]") + (dom - 1)
    return (days - target).astype("int64").astype(float)


def daily_profile(days: np.ndarray, trend_per_year: float) -> np.ndarray:
    """Unitless daily multiplier S(day): season x special days x weekday x trend."""
    doy = (days - days.astype("M8[Y]").astype("M8[D]")).astype("int64").astype(float)
    season = 1.0 + SEASON_AMPLITUDE * np.cos(2.0 * np.pi * (doy - _SEASON_PEAK_DOY) / 365.25)
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
    return season * (1.0 + special) * wd[weekday_factor(days)] * trend


def skip_dst_gap(t: np.ndarray) -> np.ndarray:
    """Move naive UK local times that do not exist (01:00-01:59 on the last Sunday of March,
    when clocks go forward) one hour later, so that every timestamp is a valid local time."""
    t = np.asarray(t, dtype="M8[m]")
    day = t.astype("M8[D]")
    march31 = (day.astype("M8[Y]").astype("M8[M]") + 2).astype("M8[D]") + 30
    last_sunday = march31 - (weekday_factor(march31) + 1) % 7
    minute_of_day = (t - day.astype("M8[m]")).astype("int64")
    gap = (day == last_sunday) & (minute_of_day >= 60) & (minute_of_day < 120)
    return np.where(gap, t + np.timedelta64(60, "m"), t)


#: The scheme's caseworkers phone and book between these local hours.
OFFICE_OPEN_H, OFFICE_CLOSE_H = 8, 20


def office_hours(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move times outside office hours (08:00-20:00) to the next opening, plus 0-3 hours.

    Contact and booking are phone calls by caseworkers: a referral made at 23:00 is contacted the
    next morning, not at 03:00.
    """
    t = np.asarray(t, dtype="M8[m]")
    day = t.astype("M8[D]")
    minute = (t - day.astype("M8[m]")).astype("int64")
    early = minute < OFFICE_OPEN_H * 60
    late = minute >= OFFICE_CLOSE_H * 60
    opening = day.astype("M8[m]") + np.timedelta64(OFFICE_OPEN_H * 60, "m")
    nxt = np.where(late, opening + np.timedelta64(24 * 60, "m"), opening)
    jitter = np.round(rng.gamma(1.5, 40.0, t.shape)).clip(0, 180).astype("timedelta64[m]")
    return np.where(early | late, nxt + jitter, t)


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
    i = np.round(x / LATTICE_M).astype(np.int64)
    j = np.round(y / LATTICE_M).astype(np.int64)
    h = _mix(i, j)
    jx = ((h & np.uint64(0xFFFF)).astype(float) / 65535.0 - 0.5) * JITTER_M
    jy = (((h >> np.uint64(16)) & np.uint64(0xFFFF)).astype(float) / 65535.0 - 0.5) * JITTER_M
    return np.round(i * LATTICE_M + jx), np.round(j * LATTICE_M + jy), h


def sample_inside(rng: np.random.Generator, n: int, draw, area, *, snap: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def gauss(cx: float, cy: float, sd: float):
    return lambda rng, k: (cx + sd * rng.standard_normal(k), cy + sd * rng.standard_normal(k))


def gauss_part(cx: float, cy: float, sd: float, radius: float, *, inside: bool):
    """The part of a circular Gaussian (``sd``) inside (``inside=True``) or outside a circle of
    ``radius`` around its centre, sampled exactly: the distance from the centre of a 2-D Gaussian
    is Rayleigh, ``r = sd * sqrt(-2 ln U)``, so ``r <= radius`` exactly when
    ``U >= exp(-radius² / (2 sd²))``."""
    u0 = math.exp(-0.5 * (radius / sd) ** 2)

    def draw(rng: np.random.Generator, k: int):
        u = rng.uniform(u0, 1.0, k) if inside else u0 * (1.0 - rng.uniform(0.0, 1.0, k))  # (0, u0]
        r = sd * np.sqrt(-2.0 * np.log(u))
        a = rng.uniform(0.0, 2.0 * np.pi, k)
        return cx + r * np.cos(a), cy + r * np.sin(a)

    return draw


def core_share(sd: float, radius: float) -> float:
    """Share of a circular Gaussian's mass within ``radius`` of its centre."""
    return 1.0 - math.exp(-0.5 * (radius / sd) ** 2)


def ring_sampler(cx: float, cy: float, r0: float, r1: float):
    def draw(rng: np.random.Generator, k: int):
        r = np.sqrt(rng.uniform(r0 * r0, r1 * r1, k))
        a = rng.uniform(0.0, 2.0 * np.pi, k)
        return cx + r * np.cos(a), cy + r * np.sin(a)

    return draw


def uniform_sampler(bounds: Sequence[float]):
    xmin, ymin, xmax, ymax = bounds
    return lambda rng, k: (rng.uniform(xmin, xmax, k), rng.uniform(ymin, ymax, k))


def micro_places(
    rng: np.random.Generator, n: int, draw, area, shape: float = MICRO_SHAPE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` micro-places: map points (snapped lattice nodes inside ``area``) placed by ``draw``,
    and their weights, gamma with ``shape`` and mean 1 (unitless), summed over places that share
    a node. Returns x, y (metres) and the weights."""
    x, y, _ = sample_inside(rng, n, draw, area, snap=True)
    w = rng.gamma(shape, 1.0 / shape, n)
    xy, inv = np.unique(np.stack([x, y], axis=1), axis=0, return_inverse=True)
    return xy[:, 0], xy[:, 1], np.bincount(inv.ravel(), weights=w)


def micro_sampler(x: np.ndarray, y: np.ndarray, w: np.ndarray, jitter: float = MICRO_JITTER_M):
    """Draw a micro-place with probability proportional to its weight ``w``, then a Gaussian
    offset of sd ``jitter`` metres (the caller snaps to the map-point lattice)."""
    cum = np.cumsum(w)

    def draw(rng: np.random.Generator, k: int):
        i = np.minimum(np.searchsorted(cum, rng.uniform(0.0, cum[-1], k), side="right"), cum.size - 1)
        return x[i] + jitter * rng.standard_normal(k), y[i] + jitter * rng.standard_normal(k)

    return draw


def town_sd(pop: float) -> float:
    return float(np.clip(1500.0 * (pop / 20000.0) ** 0.3, 1500.0, 3000.0))
