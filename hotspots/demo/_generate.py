"""generate_demo and DemoData: the incident model and the ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..gazetteer import default_study_area, towns
from ..grid import BNG
from ..schema import ASB_CATEGORY, SCHEME_START
from ._model import (
    BUFFER_WIDTH_M,
    DIFFUSE_PER_1000,
    HOTSPOTS,
    HOURS,
    JITTER_M,
    LATTICE_M,
    MICRO_JITTER_M,
    MICRO_RESIDENTS,
    MICRO_SHAPE,
    RURAL_PER_MONTH,
    RURAL_PLACES,
    SEASON_AMPLITUDE,
    STREETS,
    TASK_SITES,
    core_share,
    daily_profile,
    gauss,
    gauss_part,
    micro_places,
    micro_sampler,
    ring_sampler,
    sample_inside,
    skip_dst_gap,
    town_sd,
    uniform_sampler,
    validate,
)
from ._referrals import generate_referrals

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
        Planted fall in each treated hotspot's rate once fully in force, a fraction in [0, 1). It
        applies to the hotspot's core, the part of its Gaussian within its radius (2 sd); the
        tail beyond the radius is unchanged.
    displacement : float
        Fraction of the incidents removed from the core that reappear in the ring
        ``[radius, radius + 400 m]`` around the treated hotspot (0 = none, 1 = all). A Weighted
        Displacement Quotient with the hotspot circle as target and that ring as buffer is then
        about ``-displacement`` in expectation.
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
    p = validate(
        seed, start, end, scheme_start, effect, displacement, ramp_days, trend_per_year, volume_scale, referral_scale, treated
    )
    root = np.random.default_rng(p["seed"])
    rng_inc, rng_ref, rng_task, rng_place = root.spawn(4)

    area_gdf = default_study_area()
    area = shapely.union_all(area_gdf.geometry.values)
    shapely.prepare(area)
    tw = towns()
    town_xy = {n: (float(g.x), float(g.y)) for n, g in zip(tw["name"], tw.geometry)}
    town_pop = dict(zip(tw["name"], tw["population"].astype(float)))

    first = np.datetime64(p["start"], "M").astype("M8[D]")
    data_end = (np.datetime64(p["end"], "M") + 1).astype("M8[D]")
    days = np.arange(first, data_end, dtype="M8[D]")
    s_day = daily_profile(days, p["trend_per_year"])
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
        radius = 2.0 * h.sd
        if is_t:
            # The scheme works where it is delivered: the fall applies to the hotspot's core (within
            # its radius), not to the Gaussian's tail, which lies in the displacement ring; removed
            # incidents partly reappear in the ring.
            share = core_share(h.sd, radius)
            removed = base * share * p["effect"] * ramp
            core = base * share - removed
            tail = base * (1.0 - share)
            lam = core + tail
            comps.append(
                {
                    "kind": "hotspot",
                    "id": h.id,
                    "town": h.town,
                    "lam": core,
                    "draw": gauss_part(cx, cy, h.sd, radius, inside=True),
                }
            )
            comps.append(
                {
                    "kind": "hotspot_tail",
                    "id": h.id,
                    "town": h.town,
                    "lam": tail,
                    "draw": gauss_part(cx, cy, h.sd, radius, inside=False),
                }
            )
        else:
            lam = base
            comps.append({"kind": "hotspot", "id": h.id, "town": h.town, "lam": lam, "draw": gauss(cx, cy, h.sd)})
        hs_records.append((h, cx, cy, is_t, radius, base, lam))
        if is_t and p["displacement"] > 0:
            lam_d = p["displacement"] * removed
            comps.append(
                {
                    "kind": "displacement",
                    "id": h.id,
                    "town": h.town,
                    "lam": lam_d,
                    "draw": ring_sampler(cx, cy, radius, radius + BUFFER_WIDTH_M),
                }
            )
    # Diffuse and rural incidents happen at micro-places fixed for the seed (their own stream, so
    # the layout does not depend on the period or the rates).
    for name in tw["name"]:
        tx, ty = town_xy[name]
        n_places = max(1, round(town_pop[name] / MICRO_RESIDENTS))
        places = micro_places(rng_place, n_places, gauss(tx, ty, town_sd(town_pop[name])), area)
        lam = DIFFUSE_PER_1000 * town_pop[name] / 1000.0 * p["volume_scale"] * per_day * s_day
        comps.append(
            {
                "kind": "diffuse",
                "id": f"diffuse-{name}",
                "town": name,
                "lam": lam,
                "draw": micro_sampler(*places),
            }
        )
    comps.append(
        {
            "kind": "rural",
            "id": "rural",
            "town": "",
            "lam": RURAL_PER_MONTH * p["volume_scale"] * per_day * s_day,
            "draw": micro_sampler(*micro_places(rng_place, RURAL_PLACES, uniform_sampler(area.bounds), area)),
        }
    )

    # ---- incidents ----------------------------------------------------------------------
    lam_all = np.vstack([c["lam"] for c in comps])
    counts = rng_inc.poisson(lam_all)
    xs, ys, hs, dayidx = [], [], [], []
    for ci, c in enumerate(comps):
        n = int(counts[ci].sum())
        if n == 0:
            continue
        x, y, hsh = sample_inside(rng_inc, n, c["draw"], area, snap=True)
        xs.append(x)
        ys.append(y)
        hs.append(hsh)
        dayidx.append(np.repeat(np.arange(days.size), counts[ci]))
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    hsh = np.concatenate(hs)
    di = np.concatenate(dayidx)
    n_inc = x.size
    hour = rng_inc.choice(24, size=n_inc, p=HOURS / HOURS.sum())
    minute = rng_inc.integers(0, 60, size=n_inc)
    occurred = skip_dst_gap(days[di].astype("M8[m]") + (hour * 60 + minute).astype("timedelta64[m]"))
    order = np.lexsort((np.arange(n_inc), occurred.astype("int64")))
    x, y, hsh, occurred = x[order], y[order], hsh[order], occurred[order]
    streets = np.array(STREETS, dtype=object)
    location = np.char.add("On or near ", streets[(hsh >> np.uint64(40)) % np.uint64(len(STREETS))].astype(str))
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
    for k, (anchor, kind, name) in enumerate(TASK_SITES, start=1):
        ax, ay = hs_xy[anchor] if anchor in hs_xy else town_xy[anchor]
        town = hs_town.get(anchor, anchor)
        tx, ty, _ = sample_inside(rng_task, 1, ring_sampler(ax, ay, 200.0, 900.0), area, snap=False)
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
    referrals, ref_truth = generate_referrals(rng_ref, p, area, hs_records, town_xy, town_pop, tasks, sched, data_end)

    # ---- ground truth -------------------------------------------------------------------
    truth = _ground_truth(p, days, sched, hs_records, comps, lam_all, ref_truth, data_end, area_gdf)
    params = dict(p)
    return DemoData(incidents=incidents, referrals=referrals, tasks=tasks, ground_truth=truth, params=params)


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
    for h, cx, cy, is_t, radius, _base, lam in hs_records:
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
            "effect_within_m": float(radius) if is_t else None,
            "buffer_inner_m": float(radius),
            "buffer_outer_m": float(radius + BUFFER_WIDTH_M),
            "base_monthly_rate": round(h.rate * p["volume_scale"], 3),
            "expected_monthly_before": _period_mean(lam, days, before0, sched),
            "expected_monthly_after": _period_mean(lam, days, sched, after1),
            "expected_displaced_monthly_after": (_period_mean(disp[h.id], days, sched, after1) if h.id in disp else 0.0),
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
            "diffuse_per_1000_residents_per_month": DIFFUSE_PER_1000,
            "micro_places": f"town diffuse and rural incidents happen at micro-places (one per {MICRO_RESIDENTS:,.0f} "
            f"residents, placed by the town's Gaussian; {RURAL_PLACES:,} uniform over the study area) with gamma "
            f"weights (shape {MICRO_SHAPE}, mean 1), each incident {MICRO_JITTER_M:.0f} m (sd) from its place, then snapped",
            "rural_background_per_month": RURAL_PER_MONTH * p["volume_scale"],
            "season_amplitude": SEASON_AMPLITUDE,
            "season_peak": "mid-July",
            "special_days": ["Halloween (31 Oct)", "Bonfire night (5 Nov)"],
            "buffer_width_m": BUFFER_WIDTH_M,
            "map_point_lattice_m": LATTICE_M,
            "map_point_jitter_m": JITTER_M,
            "hotspot_radius": "2 x sd_m",
            "treatment": "a treated hotspot's rate falls by `effect` (ramped in) within its radius only "
            "(the core of its Gaussian); the tail beyond the radius is unchanged",
            "displacement": "`displacement` x the incidents removed from the core reappear uniformly in the "
            "ring [radius, radius + buffer_width_m]",
            "study_area": "geo/study_area.geojson (hand-drawn, approximate)",
        },
        "hotspots": recs,
        "treated": list(p["treated"]),
        "expected_monthly_total": monthly,
        "referrals": ref_truth,
    }
