"""No personal identifiers in any export; person-level counts suppressed everywhere.

Scans every column name and every value of every GeoPackage layer, GeoJSON file, CSV table and
JSON sidecar (and every text drawn on the briefing images) written by ``hotspots analyse`` and
by the export functions, for: pseudonymous person references (``p_`` + 16 hex digits), referral
ids, exact referral timestamps, exact referral locations, identifier-like column names, and
person counts from 1 to 4.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from hotspots import analyse
from hotspots.cli import main
from hotspots.export import briefing_map, export_gis
from hotspots.gazetteer import default_study_area
from hotspots.io import load_any
from hotspots.kpis import scheme_kpis
from hotspots.linkage import link_referrals
from hotspots.privacy import PERSON_REF_PATTERN, SUPPRESSION_THRESHOLD, identifying_columns

PERSON_REF_ANYWHERE = re.compile(PERSON_REF_PATTERN.pattern.strip("^$"))
#: Columns that must never be exported: identifiers and exact times of referrals.
BANNED_COLUMNS = {"person_ref", "referral_id", "referred_at", "contacted_at", "task_booked_at"}
#: Exported columns that count people (display versions: ints, "<5" or "c").
PERSON_COUNT_COLUMNS = {
    "referrals", "completed", "refused", "withdrawn", "in_progress", "outcome_not_recorded", "concluded",
    "followup_eligible", "not_reoffended", "victim_responses", "victims_satisfied", "contacted_48h", "contacted_booked_48h",
    "first_time_entrant_recorded", "first_time_entrants", "with_task_site", "reparation_completed", "reparation_local",
    "within_near", "same_town",
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HOTSPOTS_OFFLINE", "1")


@pytest.fixture(scope="module")
def loaded(demo_files):
    inc = load_any(demo_files["incidents"])
    ref = load_any(demo_files["referrals"], kind="referrals")
    tasks = load_any(demo_files["tasks"], kind="tasks")
    an = analyse(inc.data, study_area=default_study_area(), referrals=ref.data, tasks=tasks.data)
    return an, inc, ref, tasks


@pytest.fixture(scope="module")
def cli_results(demo_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    import os

    os.environ["HOTSPOTS_OFFLINE"] = "1"
    code = main([
        "analyse", str(demo_files["incidents"]), "--referrals", str(demo_files["referrals"]),
        "--tasks", str(demo_files["tasks"]), "--out", str(out), "--dpi", "40", "--pdf",
    ])
    assert code == 0
    return out


# ----------------------------------------------------------------------------- scanning
def _json_walk(obj, keys: list, values: list) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            keys.append(str(k))
            _json_walk(v, keys, values)
    elif isinstance(obj, list):
        for v in obj:
            _json_walk(v, keys, values)
    else:
        values.append(obj)


def scan_folder(folder: Path) -> tuple[set[str], list, dict[str, pd.DataFrame], str]:
    """Every column name, every value, every table (by file/layer) and all raw text under ``folder``."""
    columns: set[str] = set()
    values: list = []
    tables: dict[str, pd.DataFrame] = {}
    raw: list[str] = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".gpkg":
            for name, _ in pyogrio.list_layers(path):
                df = pyogrio.read_dataframe(path, layer=name)
                tables[f"{path.name}:{name}"] = df
        elif path.suffix == ".geojson":
            text = path.read_text(encoding="utf-8")
            raw.append(text)
            doc = json.loads(text)
            props = pd.DataFrame([f["properties"] for f in doc["features"]])
            tables[str(path.relative_to(folder))] = props
        elif path.suffix == ".csv":
            text = path.read_text(encoding="utf-8")
            raw.append(text)
            tables[str(path.relative_to(folder))] = pd.read_csv(path, dtype=str, keep_default_na=False)
        elif path.suffix == ".json":
            text = path.read_text(encoding="utf-8")
            raw.append(text)
            keys: list = []
            _json_walk(json.loads(text), keys, values)
            columns.update(keys)
        elif path.suffix in (".png", ".pdf"):
            raw.append(path.read_bytes().decode("latin-1"))  # metadata and any uncompressed text
    for df in tables.values():
        columns.update(str(c) for c in df.columns)
        for c in df.columns:
            if c != "geometry":
                values.extend(df[c].tolist())
    return columns, values, tables, "\n".join(raw)


def referral_strings(referrals: pd.DataFrame) -> tuple[set[str], set[str]]:
    """Referral ids and exact referral timestamps (to the minute, space or T separated)."""
    ids = set(referrals["referral_id"].astype(str))
    stamps: set[str] = set()
    for col in ("referred_at", "contacted_at", "task_booked_at"):
        ts = pd.to_datetime(referrals[col]).dropna()
        stamps |= set(ts.dt.strftime("%Y-%m-%d %H:%M")) | set(ts.dt.strftime("%Y-%m-%dT%H:%M"))
    return ids, stamps


def assert_no_identifiers(columns, values, raw: str, referrals: pd.DataFrame) -> None:
    assert identifying_columns(columns) == {}
    assert not (set(columns) & BANNED_COLUMNS)
    assert not [c for c in columns if "person" in c.lower()]
    ids, stamps = referral_strings(referrals)
    texts = "\n".join(str(v) for v in values if v is not None)
    everything = texts + "\n" + raw
    assert not PERSON_REF_ANYWHERE.search(everything)
    # Referral ids as whole tokens, and anything shaped like a date-time to the minute.
    tokens = set(re.split(r"[\s,;:\"'{}\[\]()=]+", everything))
    assert not (tokens & ids)
    assert not (set(re.findall(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", everything)) & stamps)


def assert_person_counts_suppressed(tables: dict[str, pd.DataFrame], threshold: int = SUPPRESSION_THRESHOLD) -> int:
    """Every person count shown is 0, >= threshold, "<threshold", "c" or "x". Returns cells checked."""
    checked = 0
    for name, df in tables.items():
        for c in df.columns:
            if c not in PERSON_COUNT_COLUMNS:
                continue
            for v in df[c].tolist():
                if v is None or (isinstance(v, float) and np.isnan(v)) or v in ("", f"<{threshold}", "c", "x"):
                    continue
                n = float(v)
                assert n == int(n) and (n == 0 or n >= threshold), f"{name}.{c} shows {v!r}"
                checked += 1
        if "referrals_shown" in df.columns:
            for v in df["referrals_shown"]:
                assert v in (f"<{threshold}", "c", "x", "0") or int(v) >= threshold, f"{name}.referrals_shown {v!r}"
    return checked


# ----------------------------------------------------------------------------- tests
def test_cli_results_hold_no_identifiers(cli_results, loaded):
    _, _, ref, _ = loaded
    columns, values, tables, raw = scan_folder(cli_results)
    assert any(k.endswith(":referral_origins") for k in tables)  # the scan saw the person-derived layers
    assert any("kpis" in k for k in tables)
    assert_no_identifiers(columns, values, raw, ref.data)
    assert assert_person_counts_suppressed(tables) > 50


def test_referral_locations_are_only_exported_snapped(cli_results, loaded):
    an, _, ref, _ = loaded
    gpkg = cli_results / "hotspots.gpkg"
    snap = json.loads((cli_results / "parameters.json").read_text())["privacy"]["referral_origins_square_m"]
    origins = gpd.read_file(gpkg, layer="referral_origins")
    xy = shapely.get_coordinates(origins.geometry.values)
    assert np.all(np.mod(xy, snap) == 0)  # square corners on the snap lattice
    lines = gpd.read_file(gpkg, layer="referral_task_lines")
    starts = {tuple(shapely.get_coordinates(g)[0]) for g in lines.geometry}
    # flows start at a hotspot area's label point or at a town centre, never at a referral
    from hotspots.gazetteer import towns

    area_pts = {(p.x, p.y) for p in an.areas.areas.geometry.representative_point()}
    town_pts = {(p.x, p.y) for p in towns().to_crs(27700).geometry}
    assert starts <= area_pts | town_pts
    # No exported vertex of any layer is an exact referral location (except by lattice chance).
    exact = {tuple(p) for p in shapely.get_coordinates(ref.data.geometry.values)}
    on_lattice = {p for p in exact if p[0] % (snap / 2) == 0 and p[1] % (snap / 2) == 0}
    for name, geom in pyogrio.list_layers(gpkg):
        if name in ("task_sites",) or geom is None:  # task sites are public; tables have no vertices
            continue
        g = gpd.read_file(gpkg, layer=name)
        verts = {tuple(p) for p in shapely.get_coordinates(g.geometry.values)}
        assert not ((verts & exact) - on_lattice), name
    # No exported column holds the referral-level fields either.
    for c in ("offence", "route", "age_group", "outcome", "reoffended", "victim_satisfied", "first_time_entrant"):
        assert c not in origins.columns and c not in lines.columns


def test_library_exports_and_image_texts_hold_no_identifiers(loaded, tmp_path):
    an, inc, ref, tasks = loaded
    export_gis(an, tmp_path, inputs={"incidents": inc, "referrals": ref, "tasks": tasks})
    texts: list[str] = []
    for layer in ("density", "gistar", "scheme", "areas"):
        texts += briefing_map(an, tmp_path / "maps" / f"{layer}.png", layer=layer, dpi=40).texts
    columns, values, tables, raw = scan_folder(tmp_path)
    assert_no_identifiers(columns, values + texts, raw + "\n".join(texts), ref.data)
    assert_person_counts_suppressed(tables)
    side = json.loads((tmp_path / "parameters.json").read_text())
    assert set(side["inputs"]["referrals"]["report"]) == {"source", "rows_read", "rows_kept", "rows_dropped", "dropped"}


def test_small_counts_are_suppressed_in_every_export(loaded, tmp_path):
    """A scheme with 3 and 2 referrals from two hotspots: no file or image shows 3 or 2."""
    an, _, ref, tasks = loaded
    t = an.linkage.table
    sel = np.r_[
        np.nonzero((t["hotspot"] == "1").to_numpy())[0][:3],
        np.nonzero((t["hotspot"] == "2").to_numpy())[0][:2],
        np.nonzero((t["hotspot"] == "outside hotspots").to_numpy())[0][:30],
    ]
    sub = ref.data.iloc[np.sort(sel)]
    link = link_referrals(sub, areas=an.areas.areas, tasks=tasks.data, near_m=an.settings.near_m)
    small = dataclasses.replace(an, referrals=sub, linkage=link, kpis=scheme_kpis(sub))
    m = export_gis(small, tmp_path, formats=("gpkg", "csv"))
    # Shown as "<5", or withheld ("x") when the other published figures would give them away
    # (which of the two depends on how many hotspot areas there are): never 3 or 2.
    hidden = {"<5", "x"}
    areas = gpd.read_file(m.gpkg, layer="hotspot_areas").set_index("area_id")
    assert areas.loc[1, "referrals"] in hidden and areas.loc[2, "referrals"] in hidden
    # the number to style by is empty where the text hides the count, and the shown count elsewhere
    assert areas.loc[[1, 2], "referrals_count"].isna().all()
    shown = areas["referrals"].str.isdigit()
    assert shown.any() and (areas.loc[shown, "referrals_count"] == areas.loc[shown, "referrals"].astype(int)).all()
    csv_areas = pd.read_csv(m.files["csv:hotspot_areas"], dtype=str).set_index("area_id")
    assert csv_areas.loc["1", "referrals"] == areas.loc[1, "referrals"] and csv_areas.loc["2", "referrals"] in hidden
    _, _, tables, _ = scan_folder(tmp_path)
    assert assert_person_counts_suppressed(tables) > 0
    img = briefing_map(small, tmp_path / "s.png", layer="scheme", dpi=40)
    assert areas.loc[1, "referrals"] in img.texts  # the image shows the files' marker
    ids, stamps = referral_strings(sub)
    assert not (set(img.texts) & ids)


def test_the_scan_catches_planted_identifiers(loaded, tmp_path):
    """The checks above would fail on a leak: plant each kind of leak and see it caught."""
    _, _, ref, _ = loaded
    r = ref.data.iloc[0]
    leaks = [
        pd.DataFrame({"x": [r["person_ref"]]}),
        pd.DataFrame({"note": [f"see {r['referral_id']} please"]}),
        pd.DataFrame({"when": [pd.Timestamp(r["referred_at"]).strftime("%Y-%m-%dT%H:%M:%S")]}),
        pd.DataFrame({"Surname": ["x"]}),
        pd.DataFrame({"referred_at": ["2024-01"]}),
    ]
    for k, df in enumerate(leaks):
        folder = tmp_path / str(k)
        folder.mkdir()
        df.to_csv(folder / "t.csv", index=False)
        columns, values, _, raw = scan_folder(folder)
        with pytest.raises(AssertionError):
            assert_no_identifiers(columns, values, raw, ref.data)
    with pytest.raises(AssertionError):
        assert_person_counts_suppressed({"t": pd.DataFrame({"referrals": ["12", "3"]})})
    with pytest.raises(AssertionError):
        assert_person_counts_suppressed({"t": pd.DataFrame({"referrals_shown": ["2"]})})
