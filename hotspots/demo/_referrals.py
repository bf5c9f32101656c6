"""Referrals into the scheme: people, offences, routes, outcomes, times, task links."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..grid import BNG
from ..privacy import pseudonymise
from ..schema import AGE_GROUPS
from ._model import (
    BOOK_FAST_P,
    COMPLETED_SHARE,
    CONTACT_48H_P,
    DEMO_SALT,
    FOLLOW_UP_MONTHS,
    FTE_SHARE,
    HOTSPOT_SHARE,
    IN_PROGRESS_DAYS,
    LOCAL_TASK_M,
    LOCAL_TASK_P,
    OFFENCE_P,
    REFERRAL_HOURS,
    REFERRAL_PLATEAU_PER_MONTH,
    REFERRAL_RAMP_DAYS,
    REFERRAL_START_LEVEL,
    REFERRAL_WEEKDAY,
    REFUSED_SHARE,
    REOFFENDED_SHARE,
    REPEAT_PROB,
    ROUTE_P,
    TREATED_REFERRAL_WEIGHT,
    VICTIM_OFFENCES,
    VICTIM_RESPONSE_SHARE,
    VICTIM_UNSATISFIED_SHARE,
    VOLUNTARY_ROUTES,
    YOUTH_SHARE,
    gauss,
    office_hours,
    sample_inside,
    skip_dst_gap,
    town_sd,
    weekday_factor,
)


def generate_referrals(
    rng: np.random.Generator,
    p: dict[str, Any],
    area,
    hs_records,
    town_xy,
    town_pop,
    tasks: gpd.GeoDataFrame,
    sched: np.datetime64,
    data_end: np.datetime64,
):
    """Referrals into the scheme (person-level, pseudonymised)."""
    days = np.arange(sched, data_end, dtype="M8[D]")
    since = (days - sched).astype("int64").astype(float)
    level = np.minimum(1.0, REFERRAL_START_LEVEL + (1.0 - REFERRAL_START_LEVEL) * since / REFERRAL_RAMP_DAYS)
    wd = REFERRAL_WEEKDAY / REFERRAL_WEEKDAY.mean()
    lam = REFERRAL_PLATEAU_PER_MONTH * p["referral_scale"] * (12.0 / 365.25) * level * wd[weekday_factor(days)]
    per_day = rng.poisson(lam)
    di = np.repeat(np.arange(days.size), per_day)
    n = di.size
    hour = rng.choice(24, size=n, p=REFERRAL_HOURS / REFERRAL_HOURS.sum())
    minute = rng.integers(0, 60, size=n)
    referred = days[di].astype("M8[m]") + (hour * 60 + minute).astype("timedelta64[m]")
    referred = np.sort(skip_dst_gap(referred))

    # Where the behaviour happened: around hotspots (treated ones weighted up) or town diffuse.
    hs_w = np.array([h.rate * (TREATED_REFERRAL_WEIGHT if is_t else 1.0) for h, _, _, is_t, *_ in hs_records])
    town_names = list(town_xy)
    tw_w = np.array([town_pop[t] for t in town_names])
    from_hotspot = rng.random(n) < HOTSPOT_SHARE
    which_h = rng.choice(len(hs_records), size=n, p=hs_w / hs_w.sum())
    which_t = rng.choice(len(town_names), size=n, p=tw_w / tw_w.sum())
    rx = np.empty(n)
    ry = np.empty(n)
    for k in range(len(hs_records)):
        sel = np.flatnonzero(from_hotspot & (which_h == k))
        if sel.size:
            h, cx, cy = hs_records[k][:3]
            rx[sel], ry[sel], _ = sample_inside(rng, sel.size, gauss(cx, cy, h.sd), area, snap=False)
    for k, name in enumerate(town_names):
        sel = np.flatnonzero(~from_hotspot & (which_t == k))
        if sel.size:
            tx, ty = town_xy[name]
            rx[sel], ry[sel], _ = sample_inside(rng, sel.size, gauss(tx, ty, town_sd(town_pop[name])), area, snap=False)

    # People: most referred once; about 10 % come back (same area, 2 weeks to a year later).
    person = np.empty(n, dtype=np.int64)
    last_t: list[np.datetime64] = []
    last_xy: list[tuple[float, float]] = []
    n_refs: list[int] = []
    youth_p = rng.random(n) < YOUTH_SHARE  # drawn per referral, used when a person is new
    repeat_draw = rng.random(n)
    pick_draw = rng.random(n)
    age = np.empty(n, dtype=object)
    person_age: list[str] = []
    two_weeks = np.timedelta64(14, "D")
    one_year = np.timedelta64(365, "D")
    for i in range(n):
        chosen = -1
        if repeat_draw[i] < REPEAT_PROB and last_t:
            lt = np.array(last_t)
            lxy = np.array(last_xy)
            gap = referred[i] - lt
            d2 = (lxy[:, 0] - rx[i]) ** 2 + (lxy[:, 1] - ry[i]) ** 2
            ok = np.flatnonzero((gap >= two_weeks) & (gap <= one_year) & (d2 <= 3000.0**2) & (np.array(n_refs) < 3))
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
        ol = list(OFFENCE_P[grp])
        op = np.cumsum([OFFENCE_P[grp][o] for o in ol])
        offence[sel] = np.array(ol, dtype=object)[np.minimum(np.searchsorted(op / op[-1], u1[sel], side="right"), len(ol) - 1)]
        rl = list(ROUTE_P[grp])
        rp = np.cumsum([ROUTE_P[grp][r] for r in rl])
        route[sel] = np.array(rl, dtype=object)[np.minimum(np.searchsorted(rp / rp[-1], u2[sel], side="right"), len(rl) - 1)]

    # Outcomes: in progress when recent; otherwise exact shares (refusals likelier on voluntary routes).
    age_days = (data_end.astype("M8[m]") - referred).astype("int64") / (60 * 24)
    outcome = np.full(n, "in progress", dtype=object)
    old = np.flatnonzero(age_days >= IN_PROGRESS_DAYS)
    n_old = old.size
    k_ref = int(round(REFUSED_SHARE * n_old))
    k_comp = int(round(COMPLETED_SHARE * n_old))
    w_ref = np.where(np.isin(route[old], VOLUNTARY_ROUTES), 2.0, 1.0)
    refused = rng.choice(old, size=k_ref, replace=False, p=w_ref / w_ref.sum()) if k_ref else np.empty(0, dtype=np.int64)
    rest = np.setdiff1d(old, refused)
    completed = rng.permutation(rest)[:k_comp]
    outcome[old] = "withdrawn"
    outcome[refused] = "refused"
    outcome[completed] = "completed"

    # Contact and booking (hours after referral).
    fast = rng.random(n) < CONTACT_48H_P
    c_fast = np.minimum(rng.gamma(1.6, 9.0, n), 47.0 * rng.random(n) + 0.5)
    c_slow = 48.0 + np.minimum(rng.exponential(60.0, n), 24.0 * 12)  # at most 14 days
    contact_h = np.where(fast, c_fast, c_slow)
    never = (outcome == "withdrawn") & (rng.random(n) < 0.30)
    b_fast = rng.random(n) < BOOK_FAST_P
    book_gap = np.where(b_fast, rng.gamma(1.5, 5.0, n), 48.0 + np.minimum(rng.exponential(72.0, n), 24.0 * 4))
    # Both delays are capped (14 + 6 days < the 21-day in-progress window), so every finished
    # referral was contacted and booked before the data end.
    # Calls happen in office hours; a child generator keeps every later random draw unchanged.
    office = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    contacted = skip_dst_gap(office_hours(referred + np.round(contact_h * 60).astype("timedelta64[m]"), office))
    booked = skip_dst_gap(office_hours(contacted + np.round(book_gap * 60).astype("timedelta64[m]"), office))
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
        near = np.flatnonzero(d <= LOCAL_TASK_M)
        if local_draw[i] < LOCAL_TASK_P:
            cand = near if near.size else np.array([int(np.argmin(d))])
            w = 1.0 / (d[cand] + 300.0)
        else:
            cand = np.flatnonzero((d > LOCAL_TASK_M) & (d <= 25000.0))
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
                referred[prev] - referred[prev].astype("M8[M]").astype("M8[m]")
            )
            if referred[i] <= window_end:
                forced[prev] = True
        last_by_person[int(person[i])] = i
    k_re = int(round(REOFFENDED_SHARE * eligible.size))
    f_el = eligible[forced[eligible]]
    others = eligible[~forced[eligible]]
    k_more = max(0, k_re - f_el.size)
    w_re = np.where(outcome[others] == "completed", 1.0, 2.0) * np.where(age[others] == "youth", 1.2, 1.0)
    extra = (
        rng.choice(others, size=min(k_more, others.size), replace=False, p=w_re / w_re.sum())
        if k_more and others.size
        else np.empty(0, dtype=np.int64)
    )
    reoff[eligible] = False
    reoff[f_el] = True
    reoff[extra] = True

    # Victim satisfaction: only completed referrals with a victim who answered; nearly all satisfied.
    vict = np.flatnonzero((outcome == "completed") & np.isin(offence, VICTIM_OFFENCES))
    k_v = min(vict.size, int(round(VICTIM_RESPONSE_SHARE * n)))
    resp = np.sort(rng.choice(vict, size=k_v, replace=False)) if k_v else np.empty(0, dtype=np.int64)
    sat = np.full(n, None, dtype=object)
    sat[resp] = True
    k_un = int(round(VICTIM_UNSATISFIED_SHARE * k_v))
    if k_un:
        sat[rng.choice(resp, size=k_un, replace=False)] = False

    # First-time entrants: only a person's first referral can be one.
    fte = np.zeros(n, dtype=bool)
    firsts = np.flatnonzero(is_first)
    k_f = min(firsts.size, int(round(FTE_SHARE * n)))
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
        "monthly_plateau": REFERRAL_PLATEAU_PER_MONTH * p["referral_scale"],
        "ramp_from_level": REFERRAL_START_LEVEL,
        "ramp_days": REFERRAL_RAMP_DAYS,
        "hotspot_share": HOTSPOT_SHARE,
        "treated_weight": TREATED_REFERRAL_WEIGHT,
        "youth_share": YOUTH_SHARE,
        "repeat_probability": REPEAT_PROB,
        "in_progress_days": IN_PROGRESS_DAYS,
        "completed_share_of_finished": COMPLETED_SHARE,
        "refused_share_of_finished": REFUSED_SHARE,
        "withdrawn_share_of_finished": round(1.0 - COMPLETED_SHARE - REFUSED_SHARE, 6),
        "follow_up_months": FOLLOW_UP_MONTHS,
        "reoffended_known_if_referred_before": str(cutoff.astype("M8[D]")),
        "reoffended_share": REOFFENDED_SHARE,
        "victim_response_share": VICTIM_RESPONSE_SHARE,
        "victim_unsatisfied_share": VICTIM_UNSATISFIED_SHARE,
        "first_time_entrant_share": FTE_SHARE,
        "contact_within_48h_probability": CONTACT_48H_P,
        "booking_fast_probability": BOOK_FAST_P,
        "local_task_probability": LOCAL_TASK_P,
        "local_task_distance_m": LOCAL_TASK_M,
        "person_ref_salt": DEMO_SALT,
    }
    return referrals, truth
