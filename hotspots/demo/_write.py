"""write_demo: the demo data as CSV/JSON/Markdown files, byte-for-byte deterministic."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from .._errors import ParameterError
from ..grid import BNG
from ._generate import DemoData, generate_demo
from ._model import (
    INCIDENT_FILE_COLUMNS,
    REFERRAL_FILE_COLUMNS,
    TASK_FILE_COLUMNS,
)

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


def _coordinate_texts(points: Any, to_wgs: pyproj.Transformer) -> dict[str, list[str]]:
    """The ``easting``/``northing`` (whole metres) and ``longitude``/``latitude`` (6 decimals)
    columns of a written file, from points in British National Grid."""
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    lon, lat = to_wgs.transform(x, y)
    return {"easting": _fmt_int(x), "northing": _fmt_int(y), "longitude": _fmt6(lon), "latitude": _fmt6(lat)}


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
    paths = {
        "incidents": out / "incidents.csv",
        "referrals": out / "referrals.csv",
        "tasks": out / "tasks.csv",
        "ground_truth": out / "ground_truth.json",
        "readme": out / "README.md",
    }
    cols: dict[str, list[str]] = {
        "incident_id": inc["incident_id"].tolist(),
        "month": np.datetime_as_string(inc["month"].to_numpy(dtype="M8[M]")).tolist(),
        "occurred": _iso(inc["occurred"]),
        "category": inc["category"].tolist(),
        "location": inc["location"].tolist(),
        **_coordinate_texts(inc, to_wgs),
    }
    _write_csv(paths["incidents"], INCIDENT_FILE_COLUMNS, [cols[c] for c in INCIDENT_FILE_COLUMNS])

    ref = data.referrals
    cols = _coordinate_texts(ref, to_wgs)
    for c in REFERRAL_FILE_COLUMNS:
        if c in cols:
            continue
        if c in ("referred_at", "contacted_at", "task_booked_at"):
            cols[c] = _iso(ref[c])
        elif c in ("reoffended", "victim_satisfied", "first_time_entrant"):
            cols[c] = _boolstr(ref[c])
        elif c == "task_id":
            cols[c] = ["" if pd.isna(v) else str(v) for v in ref[c].tolist()]
        else:
            cols[c] = [str(v) for v in ref[c].tolist()]
    _write_csv(paths["referrals"], REFERRAL_FILE_COLUMNS, [cols[c] for c in REFERRAL_FILE_COLUMNS])

    tk = data.tasks
    cols = {c: tk[c].tolist() for c in ("task_id", "kind", "site_name", "town")} | _coordinate_texts(tk, to_wgs)
    _write_csv(paths["tasks"], TASK_FILE_COLUMNS, [cols[c] for c in TASK_FILE_COLUMNS])

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
        '`occurred` (local time, ISO 8601), `category`, `location` ("On or near ..."), `longitude`, `latitude` '
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
        f"{p['effect'] * 100:.0f} % within its radius (2 sd; the Gaussian's tail beyond it is unchanged), "
        f"ramping in over {p['ramp_days']} days; {p['displacement'] * 100:.0f} % of the "
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
